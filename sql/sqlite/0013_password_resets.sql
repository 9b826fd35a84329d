-- Password reset requests ("forgot password").
--
-- Every request writes one row, whether or not the address has an account (user_id NULL) and
-- whether or not it was throttled (status 'throttled'), so both answers cost the same work and
-- the send limits are counted here, across every process on the database. A link's token is
-- never stored: it is derived as HMAC(server secret, "password_reset:" id ":" token_nonce) when
-- the email is sent, and token_hash (HMAC(server secret, token)) finds the row when it comes back.
CREATE TABLE password_resets (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('pending', 'used', 'voided', 'throttled')),
    token_nonce TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    source_ip TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX password_resets_email ON password_resets(email, created_at);
CREATE INDEX password_resets_user ON password_resets(user_id, created_at);
