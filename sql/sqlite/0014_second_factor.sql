-- The second factor (TOTP, RFC 6238), its recovery codes, the tokens of two-step sign-ins and
-- the agency policy that requires one.
--
-- second_factors holds one row per account that started or finished enrolling. secret_box is
-- the TOTP secret sealed with XChaCha20-Poly1305 under a key derived from the server secret
-- (the account id is the associated data), as hex of nonce then ciphertext: the database never
-- holds the secret itself. enabled_at is NULL until the first code confirms the enrolment.
-- last_step is the newest 30-second time step whose code was accepted: a code is taken only
-- for a later step, by a conditional UPDATE, so a code works once even when sent twice at once.
CREATE TABLE second_factors (
    user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secret_box TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    enabled_at BIGINT,
    last_step BIGINT NOT NULL
);

-- Single-use recovery codes: only a keyed hash of each (bound to the account) is kept.
CREATE TABLE recovery_codes (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

-- The first step of a two-step sign-in: a random token (only its keyed hash is kept) that
-- stands for "the password was right" for a few minutes, for one account and one purpose.
-- A wrong code adds to failures; a token used, expired or failed too often is deleted.
CREATE TABLE mfa_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose TEXT NOT NULL CHECK (purpose IN ('sign_in')),
    via TEXT NOT NULL,
    failures INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX mfa_tokens_expires ON mfa_tokens(expires_at);
CREATE INDEX mfa_tokens_user ON mfa_tokens(user_id);

ALTER TABLE agencies ADD COLUMN require_second_factor INTEGER NOT NULL DEFAULT 0;
