-- An agency is active or suspended. A suspended agency keeps everything it holds, but every
-- check about it is denied, its API tokens are refused and its members' sessions cannot reach
-- it; resuming it gives everything back as it was. Only a suspended agency may be deleted.
ALTER TABLE agencies ADD COLUMN status TEXT NOT NULL DEFAULT 'active'
    CHECK (status IN ('active', 'suspended'));
