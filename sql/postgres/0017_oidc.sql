-- Sign-in with an agency's own OpenID Connect provider (docs/internals/oidc.md).
--
-- oidc_connections: one identity provider of an agency. The client secret is sealed with a key
-- derived from the server secret (bound to the connection id): the database never holds it in
-- clear. algorithms is the comma-separated allow-list of ID token signing algorithms.
-- required = 1 makes the agency's members sign in through it (platform admins excepted).
CREATE TABLE oidc_connections (
    id TEXT COLLATE "C" PRIMARY KEY,
    agency_id TEXT COLLATE "C" NOT NULL REFERENCES agencies(id) ON DELETE CASCADE,
    name TEXT COLLATE "C" NOT NULL,
    issuer TEXT COLLATE "C" NOT NULL,
    client_id TEXT COLLATE "C" NOT NULL,
    client_secret_sealed TEXT COLLATE "C" NOT NULL,
    algorithms TEXT COLLATE "C" NOT NULL,
    required INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX oidc_connections_agency ON oidc_connections(agency_id, created_at, id);

-- The email domains a connection claims: a domain belongs to one connection on the whole
-- platform, so the sign-in form can pick the provider from an address alone.
CREATE TABLE oidc_domains (
    domain TEXT COLLATE "C" PRIMARY KEY,
    connection_id TEXT COLLATE "C" NOT NULL REFERENCES oidc_connections(id) ON DELETE CASCADE
);
CREATE INDEX oidc_domains_connection ON oidc_domains(connection_id);

-- A person's accounts at identity providers: (issuer, subject) names one account at one
-- provider and belongs to one usher account. Deleting a connection keeps its identities
-- (connection_id becomes NULL); erasing a person deletes theirs.
CREATE TABLE identities (
    id TEXT COLLATE "C" PRIMARY KEY,
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    issuer TEXT COLLATE "C" NOT NULL,
    subject TEXT COLLATE "C" NOT NULL,
    connection_id TEXT COLLATE "C" REFERENCES oidc_connections(id) ON DELETE SET NULL,
    email TEXT COLLATE "C",
    created_at BIGINT NOT NULL,
    UNIQUE (issuer, subject)
);
CREATE INDEX identities_user ON identities(user_id, created_at);
CREATE INDEX identities_connection ON identities(connection_id);

-- One sign-in under way: the keyed hash of the state sent to the provider, the keyed hash of
-- the random value in the browser's cookie (the state works only in the browser that started
-- it), the nonce, the PKCE verifier sealed under the server secret, what the sign-in is for,
-- and where to go after. Single use: used_at is set by a conditional UPDATE. Ten minutes.
CREATE TABLE oidc_states (
    state_hash TEXT COLLATE "C" PRIMARY KEY,
    browser_hash TEXT COLLATE "C" NOT NULL,
    nonce TEXT COLLATE "C" NOT NULL,
    code_verifier_sealed TEXT COLLATE "C" NOT NULL,
    connection_id TEXT COLLATE "C" NOT NULL REFERENCES oidc_connections(id) ON DELETE CASCADE,
    purpose TEXT COLLATE "C" NOT NULL CHECK (purpose IN ('sign_in', 'link', 'invitation')),
    invitation_id TEXT COLLATE "C" REFERENCES invitations(id) ON DELETE CASCADE,
    link_user_id TEXT COLLATE "C" REFERENCES users(id) ON DELETE CASCADE,
    return_to TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX oidc_states_expires ON oidc_states(expires_at);

-- How a session was made: 'password' or 'oidc' through connection_id, with the ID token sealed
-- for the provider's sign-out (id_token_hint).
ALTER TABLE sessions ADD COLUMN method TEXT COLLATE "C" NOT NULL DEFAULT 'password';
ALTER TABLE sessions ADD COLUMN connection_id TEXT COLLATE "C";
ALTER TABLE sessions ADD COLUMN id_token_sealed TEXT COLLATE "C";
