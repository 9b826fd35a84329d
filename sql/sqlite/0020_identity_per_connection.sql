-- Identities belong to the connection they were linked through (docs/internals/oidc.md,
-- "Identities"). Two agencies may hold connections to the same provider (one issuer, each
-- agency its own client): a person linked through agency A's connection must not be signed in
-- through agency B's, so (issuer, subject) is no longer unique on the platform; (connection,
-- issuer, subject) is. The issuer stays recorded: an identity matches only while it equals its
-- connection's issuer, so one recorded before the connection's issuer was changed signs nobody
-- in. Rows whose connection was deleted keep connection_id NULL and never match either.
-- SQLite cannot drop a table constraint, so the table is rebuilt; nothing references it.
CREATE TABLE identities_0020 (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    connection_id TEXT REFERENCES oidc_connections(id) ON DELETE SET NULL,
    email TEXT,
    created_at BIGINT NOT NULL
);
INSERT INTO identities_0020 (id, user_id, issuer, subject, connection_id, email, created_at)
    SELECT id, user_id, issuer, subject, connection_id, email, created_at FROM identities;
DROP TABLE identities;
ALTER TABLE identities_0020 RENAME TO identities;
CREATE UNIQUE INDEX identities_connection_subject ON identities(connection_id, issuer, subject);
CREATE INDEX identities_user ON identities(user_id, created_at);
CREATE INDEX identities_connection ON identities(connection_id);
