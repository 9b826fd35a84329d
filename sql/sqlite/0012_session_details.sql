-- Self-service session management: each session gets a public id (shown to its owner and used
-- to end it; never the token or its hash), and the address and user agent it was started from.
-- Sessions from before this migration get a random public id and no address or agent.
ALTER TABLE sessions ADD COLUMN public_id TEXT;
ALTER TABLE sessions ADD COLUMN source_ip TEXT;
ALTER TABLE sessions ADD COLUMN user_agent TEXT;
UPDATE sessions SET public_id = 'ses_' || lower(hex(randomblob(16))) WHERE public_id IS NULL;
CREATE UNIQUE INDEX sessions_public_id ON sessions(public_id);
