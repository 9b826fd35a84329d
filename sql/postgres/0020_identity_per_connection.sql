-- Identities belong to the connection they were linked through (docs/internals/oidc.md,
-- "Identities"). Two agencies may hold connections to the same provider (one issuer, each
-- agency its own client): a person linked through agency A's connection must not be signed in
-- through agency B's, so (issuer, subject) is no longer unique on the platform; (connection,
-- issuer, subject) is. The issuer stays recorded: an identity matches only while it equals its
-- connection's issuer, so one recorded before the connection's issuer was changed signs nobody
-- in. Rows whose connection was deleted keep connection_id NULL and never match either.
ALTER TABLE identities DROP CONSTRAINT identities_issuer_subject_key;
CREATE UNIQUE INDEX identities_connection_subject ON identities(connection_id, issuer, subject);
