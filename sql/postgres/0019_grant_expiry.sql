-- End-dated grants. expires_at (ms since the epoch, NULL for none) is the first moment the
-- grant no longer counts: decisions deny from then on, and the lapse job removes the row and
-- audits grant.lapsed. granted_by is the person who last set the grant (NULL when unknown or
-- erased), to whom, with the holder, the three-day notice goes; notice_sent_at records that
-- the notice was queued, so it goes out once whatever the number of instances.
ALTER TABLE grants ADD COLUMN expires_at BIGINT;
ALTER TABLE grants ADD COLUMN granted_by TEXT COLLATE "C" REFERENCES users(id) ON DELETE SET NULL;
ALTER TABLE grants ADD COLUMN notice_sent_at BIGINT;
CREATE INDEX grants_expiry ON grants(expires_at) WHERE expires_at IS NOT NULL;
