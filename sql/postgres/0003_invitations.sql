-- Invitations, custom roles and API tokens.
--
-- An invitation's link token is never stored: it is derived as HMAC(server secret,
-- id ":" token_nonce), and token_hash (HMAC(server secret, token)) finds the row when a link is
-- presented. Resend draws a new nonce, so every older link stops working; copy link derives the
-- current one again. grants is a JSON array of {environment_id | bot_id, roles, extra_permissions}.
CREATE TABLE invitations (
    id TEXT PRIMARY KEY,
    agency_id TEXT NOT NULL REFERENCES agencies(id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    first_name TEXT,
    last_name TEXT,
    shortcode TEXT,
    grants TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'accepted', 'declined', 'revoked', 'expired')),
    token_nonce TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    generation INTEGER NOT NULL DEFAULT 1,
    sign_in TEXT NOT NULL DEFAULT 'password' CHECK (sign_in IN ('password', 'oauth')),
    -- The permission the inviter used (users.invite, or bot.delegate for bot managers); it is
    -- checked again at accept, so an inviter who lost it cannot bring anyone in.
    authority TEXT NOT NULL DEFAULT 'users.invite',
    oauth_subject TEXT,
    created_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    expires_in_seconds BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    last_sent_at BIGINT,
    send_count INTEGER NOT NULL DEFAULT 0,
    decided_at BIGINT,
    decided_by TEXT REFERENCES users(id) ON DELETE SET NULL
);
-- At most one pending invitation per address and agency.
CREATE UNIQUE INDEX invitations_one_pending ON invitations(agency_id, email) WHERE status = 'pending';
CREATE INDEX invitations_agency ON invitations(agency_id, created_at, id);
CREATE INDEX invitations_email ON invitations(email, status);

CREATE TABLE custom_roles (
    id TEXT PRIMARY KEY,
    agency_id TEXT NOT NULL REFERENCES agencies(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    permissions TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    UNIQUE (agency_id, name)
);

-- Service tokens for the check API: agency-scoped, or platform-wide when agency_id is NULL.
CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    agency_id TEXT REFERENCES agencies(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX api_tokens_agency ON api_tokens(agency_id, created_at, id);
