-- Self-service session management: each session gets a public id (shown to its owner and used
-- to end it; never the token or its hash), and the address and user agent it was started from.
-- Sessions from before this migration get a random public id and no address or agent.
ALTER TABLE sessions ADD COLUMN public_id TEXT COLLATE "C";
ALTER TABLE sessions ADD COLUMN source_ip TEXT COLLATE "C";
ALTER TABLE sessions ADD COLUMN user_agent TEXT COLLATE "C";
UPDATE sessions SET public_id = 'ses_' || md5(random()::text || token_hash) WHERE public_id IS NULL;
CREATE UNIQUE INDEX sessions_public_id ON sessions(public_id);
