-- Sign-in throttle windows, shared by every instance on the database. A row is one failed
-- sign-in in one window (hold_id NULL, at = when it failed) or one attempt in flight
-- (hold_id = its reservation, at = when it was reserved, hold_until = the end of its lease: a
-- reservation left by a crashed process stops counting then). kind is the window: 0 the
-- account, 1 the account from an address, 2 the address, 3 a device. hash is a keyed hash
-- (hex) under a key derived from the server secret, so the table holds no email, address or
-- cookie. Rows older than the window are pruned. id only gives each row a key (to be copied by
-- usher migrate-data).
CREATE TABLE throttle_events (
    id INTEGER PRIMARY KEY,
    kind INTEGER NOT NULL,
    hash TEXT NOT NULL,
    at BIGINT NOT NULL,
    hold_id TEXT,
    hold_until BIGINT
);
CREATE INDEX throttle_events_window ON throttle_events(kind, hash, at);
CREATE INDEX throttle_events_hold ON throttle_events(hold_id);
CREATE INDEX throttle_events_at ON throttle_events(at);
