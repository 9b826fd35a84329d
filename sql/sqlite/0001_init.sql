-- Accounts, sessions, agencies, environments, bots, memberships, grants and the audit log.
-- Times are Unix milliseconds. Ids are opaque text. Emails are stored normalised (trimmed,
-- lower case) so the unique index compares them case-insensitively.

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    first_name TEXT NOT NULL DEFAULT '',
    last_name TEXT NOT NULL DEFAULT '',
    password_hash TEXT,
    is_platform_admin INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    created_at BIGINT NOT NULL,
    last_active_at BIGINT
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE agencies (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT REFERENCES users(id) ON DELETE SET NULL
);
CREATE INDEX agencies_created ON agencies(created_at, id);

CREATE TABLE environments (
    id TEXT PRIMARY KEY,
    agency_id TEXT NOT NULL REFERENCES agencies(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX environments_agency ON environments(agency_id, created_at, id);

CREATE TABLE bots (
    id TEXT PRIMARY KEY,
    agency_id TEXT NOT NULL REFERENCES agencies(id) ON DELETE CASCADE,
    environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX bots_environment ON bots(environment_id, created_at, id);

-- A member of an agency: anyone holding at least one grant in it.
CREATE TABLE memberships (
    agency_id TEXT NOT NULL REFERENCES agencies(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    shortcode TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (agency_id, user_id)
);
CREATE UNIQUE INDEX memberships_shortcode ON memberships(agency_id, shortcode);
CREATE INDEX memberships_user ON memberships(user_id);

-- One grant per user and scope. scope_id is the agency, environment or bot id;
-- roles and extra_permissions are comma-separated catalogue names.
CREATE TABLE grants (
    id TEXT PRIMARY KEY,
    agency_id TEXT NOT NULL REFERENCES agencies(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    environment_id TEXT REFERENCES environments(id) ON DELETE CASCADE,
    bot_id TEXT REFERENCES bots(id) ON DELETE CASCADE,
    scope_id TEXT NOT NULL,
    roles TEXT NOT NULL DEFAULT '',
    extra_permissions TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    UNIQUE (user_id, scope_id)
);
CREATE INDEX grants_agency ON grants(agency_id, user_id);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at BIGINT NOT NULL,
    agency_id TEXT,
    actor_id TEXT,
    impersonator_id TEXT,
    action TEXT NOT NULL,
    subject_user_id TEXT,
    scope_type TEXT,
    scope_id TEXT,
    source_ip TEXT,
    user_agent TEXT,
    request_id TEXT,
    details TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_agency ON audit_log(agency_id, id);
CREATE INDEX audit_actor ON audit_log(actor_id, id);
CREATE INDEX audit_subject ON audit_log(subject_user_id, id);
