-- The mail outbox: a row is written in the same transaction as the change that sends it, and
-- a sender thread delivers it at least once. A message that carries a secret link stores only
-- a placeholder and the reference (kind, ref_id, generation) from which the sender derives the
-- link with the server secret at send time, so the database alone yields no working link.
CREATE TABLE mail_outbox (
    id TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT NOT NULL,
    link_kind TEXT,
    link_ref TEXT,
    link_generation BIGINT NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claimed_by TEXT,
    claimed_until BIGINT,
    sent_at BIGINT,
    dropped_at BIGINT,
    last_error TEXT
);
CREATE INDEX mail_outbox_due ON mail_outbox(sent_at, dropped_at, next_attempt_at);
