-- Personal data out of the audit chain, so an account can be erased without breaking it.
--
-- Entries of format 2 keep email addresses and names out of details: they go into
-- audit_personal, one row per entry that has any, and the entry's hash covers personal_digest
-- (a BLAKE2b of that row's data keyed by a key derived from the server secret) instead. Erasing
-- a person blanks data and email and sets erased_at; the chain still verifies. Entries written
-- before this migration are format 1 (personal data inside their hash) until usher converts
-- them at its next start.
ALTER TABLE audit_log ADD COLUMN format INTEGER NOT NULL DEFAULT 1;
ALTER TABLE audit_log ADD COLUMN personal_digest TEXT;
-- Finds the entries still to convert at each start without reading the whole log.
CREATE INDEX audit_log_format1 ON audit_log(id) WHERE format = 1;

CREATE TABLE audit_personal (
    entry_id INTEGER PRIMARY KEY REFERENCES audit_log(id) ON DELETE CASCADE,
    email TEXT,
    data TEXT,
    erased_at BIGINT
);
CREATE INDEX audit_personal_email ON audit_personal(email);
