-- One row: an HMAC of a fixed text under the server secret, written by the first usher process
-- that opens the database. Every later start compares its own, so an instance started with
-- another secret file (a new data directory beside a shared database) refuses to start rather
-- than failing every API token, link and audit MAC the other instances made.
CREATE TABLE secret_check (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    mac TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
