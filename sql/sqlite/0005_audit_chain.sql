-- A hash chain over the audit log: one chain per agency ("agency:<id>") and one for
-- platform-level entries ("platform"). Each entry stores the previous entry's hash and its own
-- HMAC (under the server secret) over its fields and that previous hash, so an edited, removed
-- or inserted entry breaks the chain at that point. audit_chain_heads holds each chain's last
-- entry; writers update it in the entry's own transaction.
ALTER TABLE audit_log ADD COLUMN chain TEXT NOT NULL DEFAULT 'platform';
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN hash TEXT NOT NULL DEFAULT '';
CREATE INDEX audit_chain ON audit_log(chain, id);

CREATE TABLE audit_chain_heads (
    chain TEXT PRIMARY KEY,
    last_id BIGINT NOT NULL,
    last_hash TEXT NOT NULL
);
