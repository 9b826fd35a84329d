-- Changes of a person's email address, confirmed from the new address.
--
-- A request writes one row and emails a link to the new address; the email changes only when
-- that link comes back. A link's token is never stored: it is derived as HMAC(server secret,
-- "email_change:" id ":" token_nonce) when the email is sent, and token_hash
-- (HMAC(server secret, token)) finds the row when it comes back. An account has at most one
-- pending change: a newer request voids the older one in the same transaction, and the
-- partial unique index refuses a second. Rows older than a week are deleted hourly, with
-- those of password_resets.
CREATE TABLE email_changes (
    id TEXT COLLATE "C" PRIMARY KEY,
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    new_email TEXT COLLATE "C" NOT NULL,
    status TEXT COLLATE "C" NOT NULL CHECK (status IN ('pending', 'used', 'voided', 'cancelled')),
    token_nonce TEXT COLLATE "C" NOT NULL,
    token_hash TEXT COLLATE "C" NOT NULL UNIQUE,
    source_ip TEXT COLLATE "C",
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX email_changes_user ON email_changes(user_id, created_at);
CREATE UNIQUE INDEX email_changes_one_pending ON email_changes(user_id) WHERE status = 'pending';
CREATE INDEX email_changes_created ON email_changes(created_at);
CREATE INDEX password_resets_created ON password_resets(created_at);
