-- "View as": an impersonation session belongs to the impersonated user and names the person
-- who started it, the one agency it is limited to, and the reason given.
ALTER TABLE sessions ADD COLUMN impersonator_id TEXT REFERENCES users(id) ON DELETE CASCADE;
ALTER TABLE sessions ADD COLUMN impersonation_agency_id TEXT REFERENCES agencies(id) ON DELETE CASCADE;
ALTER TABLE sessions ADD COLUMN impersonation_reason TEXT;
CREATE INDEX sessions_impersonator ON sessions(impersonator_id);
