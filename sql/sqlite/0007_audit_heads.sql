-- Unforgeable chain heads and a registry of chains. Each head gains its place among the chains
-- (ordinal, and the name of the chain created just before it, so a deleted chain can be named),
-- its entry count, the log-wide entry count after its last write (seq) and a MAC under a key
-- derived from the server secret. audit_registry is one row: how many chains and entries the
-- log has, the newest chain, and its own MAC. Someone who can write to the database but has no
-- secret can then neither move a head back after deleting entries nor delete a whole chain.
-- The migration leaves the registry 'unsealed'; usher computes the MACs of existing heads and
-- of the registry in the same transaction, right after this script, with the server secret
-- (see docs/internals/audit.md).
ALTER TABLE audit_chain_heads ADD COLUMN ordinal BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit_chain_heads ADD COLUMN prev_chain TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_chain_heads ADD COLUMN entries BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit_chain_heads ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit_chain_heads ADD COLUMN mac TEXT NOT NULL DEFAULT '';

CREATE TABLE audit_registry (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    chains BIGINT NOT NULL,
    entries BIGINT NOT NULL,
    last_chain TEXT NOT NULL,
    mac TEXT NOT NULL
);
INSERT INTO audit_registry (id, chains, entries, last_chain, mac) VALUES (1, 0, 0, '', 'unsealed');
CREATE INDEX audit_action ON audit_log(chain, action, id);
