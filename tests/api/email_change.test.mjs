// Changing one's email address through the real binary (docs/rules.md, Your own account): the
// signed-in person proves their password and names a new address; a single-use link goes to the
// new address and a notice to the old one (both read here from a real SMTP server); the link,
// opened without any session, changes the address, ends every session and tells the old
// address. Also: a platform admin emails someone a password reset link. No token reaches the
// log or the audit trail.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { startUsher } from './lib/harness.mjs';
import { assertProblem, PASSWORD, startWorld } from './lib/world.mjs';

const WRONG_PASSWORD = 'canary-wrong-email-change-61fd';
const NEW_PASSWORD = 'canary-admin-sent-reset-3c8e-orchard';
const PAIR_LIMIT = 10; // untrusted failures per account from one address (app/throttle.h)
const PER_ACCOUNT = 5; // email changes per account per hour (app/email_change.h)
const RESET_PER_ACCOUNT = 5; // reset emails per account per hour (app/password_reset.h)

// Personal values of an audit entry without the names recorded for its people (actor_email,
// subject_first_name, ...), which every entry carries.
const ownValues = (text) => Object.fromEntries(Object.entries(JSON.parse(text))
  .filter(([k]) => !/^(actor|subject|impersonator)_/.test(k)));

describe('email change', () => {
  let w;
  let admin;

  const me = (token) => w.as(token)('GET', '/api/v1/me');
  const ask = (token, email, password = PASSWORD) =>
    w.as(token)('POST', '/api/v1/me/email', { email, current_password: password });
  const confirm = (token) => w.usher.api('POST', '/api/v1/email-changes/confirm', { body: { token } });
  const signInRaw = (email, password = PASSWORD) =>
    w.usher.api('POST', '/api/v1/sessions', { body: { email, password } });
  const mailsTo = (email, subject) => w.smtp.to(email).filter((m) => m.parsed.subject === subject);
  const CONFIRM_SUBJECT = 'Confirm your new email address';
  const ASKED_SUBJECT = 'A change of your email address was requested';
  const DONE_SUBJECT = 'Your email address was changed';

  // The n-th message with subject to email, waiting for it.
  async function mailWith(email, subject, n = 1) {
    for (let i = 0; i < 300; i++) {
      const got = mailsTo(email, subject);
      if (got.length >= n) return got[n - 1];
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no message ${n} "${subject}" to ${email}`);
  }

  // The confirmation link of the n-th request to newEmail: {url, token}.
  async function confirmLink(newEmail, n = 1) {
    const message = await mailWith(newEmail, CONFIRM_SUBJECT, n);
    const m = /https?:\/\/[^\s<>"]+#token=([A-Za-z0-9_-]+)/.exec(message.parsed.text);
    assert.ok(m, message.parsed.text);
    w.secrets.add(m[1]);
    return { message, url: m[0], token: m[1] };
  }

  // Waits until the outbox has nothing left to send, so "no email" is a settled fact.
  async function outboxSettled() {
    for (let i = 0; i < 200; i++) {
      const left = w.sql('SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NULL AND dropped_at IS NULL').trim();
      if (left === '0') return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('the outbox never emptied');
  }

  function auditRows(action, subject) {
    // Addresses and names are kept in the entry's personal row (audit_personal), not in details.
    const rows = w.sql(`SELECT actor_id, details,
                          (SELECT data FROM audit_personal p WHERE p.entry_id = audit_log.id)
                        FROM audit_log
                        WHERE action = '${action}' AND subject_user_id = '${subject}' ORDER BY id`);
    return rows.trim().split('\n').filter(Boolean).map((line) => {
      const [actor, details, personal] = line.split('|');
      return { actor, details: { ...JSON.parse(details), ...(personal ? ownValues(personal) : {}) } };
    });
  }

  before(async () => {
    w = await startWorld();
    w.secrets.add(WRONG_PASSWORD);
    w.secrets.add(NEW_PASSWORD);
    admin = await w.signIn('provider@studio.example');
  });

  after(async () => {
    if (!w) return;
    const log = w.logText();
    for (const s of w.secrets) assert.ok(!log.includes(s), 'a secret appeared in the log');
    const audit = w.sql('SELECT details FROM audit_log');
    for (const s of w.secrets) assert.ok(!audit.includes(s), 'a secret appeared in the audit trail');
    assert.equal(await w.stop(), 0);
  });

  it('emails a link to the new address and a notice to the old one, then changes the address from the link', async () => {
    const old = 'nina.old@acme.example';
    const neu = 'nina.new@elsewhere.example';
    const id = w.addUser(old);
    const s1 = await w.signIn(old);
    const s2 = await w.signIn(old);
    const res = await ask(s1, ` ${neu.toUpperCase()} `);
    assert.equal(res.status, 202, res.text);
    assert.deepEqual(res.json, { pending_email: neu });
    assert.equal((await me(s1)).json.pending_email, neu);
    // Nothing has changed yet: the old address still signs in.
    assert.equal(w.sql(`SELECT email FROM users WHERE id = '${id}'`).trim(), old);

    const { message, url, token } = await confirmLink(neu);
    assert.match(url, /\/email-change#token=[A-Za-z0-9_-]{20,}$/);
    assert.match(message.parsed.text, /expires in 24 hours/);
    assert.match(message.parsed.html, /email-change#token=/);
    // The new address may be mistyped: its email does not name the account.
    assert.ok(!message.parsed.text.includes(old) && !message.parsed.html.includes(old));
    const notice = await mailWith(old, ASKED_SUBJECT);
    assert.match(notice.parsed.text, /n…@e….example/);
    assert.ok(!notice.parsed.text.includes(neu), 'the notice names the new address in full');
    assert.ok(!notice.parsed.html.includes(neu), 'the notice names the new address in full');
    assert.match(notice.parsed.text, /127\.0\.0\.1/);
    assert.match(notice.parsed.text, /change your password/);
    // The database keeps no working token, the outbox no working link.
    assert.equal(w.sql(`SELECT COUNT(*) FROM email_changes WHERE token_hash = '${token}' OR token_nonce = '${token}'`).trim(), '0');
    assert.ok(!w.sql('SELECT body_text, body_html FROM mail_outbox').includes(token), 'the outbox holds the link');
    const asked = auditRows('email.change_requested', id);
    assert.equal(asked.length, 1);
    assert.equal(asked[0].actor, id);
    assert.equal(asked[0].details.new_email, neu);

    // Confirmed without any session, as from another browser.
    const done = await confirm(token);
    assert.equal(done.status, 200, done.text);
    assert.equal(done.json.user.id, id);
    assert.equal(done.json.user.email, neu);
    assert.equal(done.json.token, undefined, 'confirming signs nobody in');
    assert.equal(done.headers['set-cookie'], undefined);
    assert.equal((await me(s1)).status, 401);
    assert.equal((await me(s2)).status, 401);
    assert.equal(w.sql(`SELECT COUNT(*) FROM sessions WHERE user_id = '${id}'`).trim(), '0');

    // The new address signs in, the old one no longer does.
    assertProblem(await signInRaw(old), 401, 'invalid_credentials');
    const fresh = await w.signIn(neu);
    const after = await me(fresh);
    assert.equal(after.json.user.email, neu);
    assert.equal(after.json.pending_email, null);

    // The old address is told it happened.
    const told = await mailWith(old, DONE_SUBJECT);
    assert.match(told.parsed.text, /n…@e….example/);
    assert.ok(!told.parsed.text.includes(neu));
    const changed = auditRows('email.changed', id);
    assert.equal(changed.length, 1);
    assert.deepEqual([changed[0].details.old_email, changed[0].details.new_email, changed[0].details.sessions_ended],
      [old, neu, 2]);

    // The link works once, and a used link answers as an unknown one.
    const again = await confirm(token);
    assertProblem(again, 400, 'invalid_token', 'token');
    const unknown = await confirm('A'.repeat(43));
    assertProblem(unknown, 400, 'invalid_token', 'token');
    assert.equal(again.json.detail, unknown.json.detail);
  });

  it('refuses an expired link like an unknown one, and links last 24 hours', async () => {
    const old = 'late.change@acme.example';
    const neu = 'late.change@elsewhere.example';
    const id = w.addUser(old);
    const s = await w.signIn(old);
    assert.equal((await ask(s, neu)).status, 202);
    const { token } = await confirmLink(neu);
    const span = w.sql(`SELECT expires_at - created_at FROM email_changes WHERE user_id = '${id}'`).trim();
    assert.equal(span, String(24 * 60 * 60 * 1000));
    // A day passes: the row's expiry moves into the past.
    w.sql(`UPDATE email_changes SET expires_at = created_at - 1 WHERE user_id = '${id}'`);
    const expired = await confirm(token);
    assertProblem(expired, 400, 'invalid_token', 'token');
    assert.equal(expired.json.detail, (await confirm('B'.repeat(43))).json.detail);
    assert.equal(w.sql(`SELECT email FROM users WHERE id = '${id}'`).trim(), old);
    assert.equal((await me(s)).json.pending_email, null, 'an expired change is not pending');
  });

  it('voids an older link when a newer change is asked for', async () => {
    const old = 'twice.change@acme.example';
    const id = w.addUser(old);
    const s = await w.signIn(old);
    assert.equal((await ask(s, 'first.choice@elsewhere.example')).status, 202);
    const first = await confirmLink('first.choice@elsewhere.example');
    assert.equal((await ask(s, 'second.choice@elsewhere.example')).status, 202);
    const second = await confirmLink('second.choice@elsewhere.example');
    assert.equal((await me(s)).json.pending_email, 'second.choice@elsewhere.example');
    assertProblem(await confirm(first.token), 400, 'invalid_token', 'token');
    assert.equal(w.sql(`SELECT COUNT(*) FROM email_changes WHERE user_id = '${id}' AND status = 'pending'`).trim(), '1');
    const done = await confirm(second.token);
    assert.equal(done.status, 200, done.text);
    assert.equal(done.json.user.email, 'second.choice@elsewhere.example');
  });

  it('refuses an address another account has, when asked and when confirmed', async () => {
    const old = 'taken.change@acme.example';
    const id = w.addUser(old);
    w.addUser('already.here@acme.example');
    const s = await w.signIn(old);
    assertProblem(await ask(s, 'Already.Here@acme.example'), 409, 'email_taken', 'email');
    assert.equal(w.sql(`SELECT COUNT(*) FROM email_changes WHERE user_id = '${id}'`).trim(), '0');

    // Free when asked, taken by the time the link comes back.
    assert.equal((await ask(s, 'grabbed@acme.example')).status, 202);
    const { token } = await confirmLink('grabbed@acme.example');
    w.addUser('grabbed@acme.example');
    assertProblem(await confirm(token), 409, 'email_taken', 'email');
    assert.equal(w.sql(`SELECT email FROM users WHERE id = '${id}'`).trim(), old);
    assert.equal((await me(s)).status, 200, 'a refused confirmation ends no session');
  });

  it('lets only one of two accounts confirming the same address at once have it', async () => {
    const wanted = 'contested@elsewhere.example';
    const a = w.addUser('racer.a@acme.example');
    const b = w.addUser('racer.b@acme.example');
    assert.equal((await ask(await w.signIn('racer.a@acme.example'), wanted)).status, 202);
    const la = await confirmLink(wanted, 1);
    assert.equal((await ask(await w.signIn('racer.b@acme.example'), wanted)).status, 202);
    const lb = await confirmLink(wanted, 2);
    const answers = await Promise.all([confirm(la.token), confirm(lb.token)]);
    assert.deepEqual(answers.map((r) => r.status).sort(), [200, 409], answers.map((r) => r.text).join(' '));
    const loser = answers.find((r) => r.status === 409);
    assertProblem(loser, 409, 'email_taken', 'email');
    assert.equal(w.sql(`SELECT COUNT(*) FROM users WHERE email = '${wanted}'`).trim(), '1');
    const winner = answers.find((r) => r.status === 200).json.user.id;
    assert.ok([a, b].includes(winner));
  });

  it('refuses the current address, an invalid one and unknown fields', async () => {
    const old = 'same.change@acme.example';
    w.addUser(old);
    const s = await w.signIn(old);
    assertProblem(await ask(s, ' SAME.change@acme.example'), 400, 'same_email', 'email');
    assertProblem(await ask(s, 'not an address'), 400, 'invalid_input', 'email');
    assertProblem(await ask(s, 'a@b.example, c@d.example'), 400, 'invalid_input', 'email');
    const extra = await w.as(s)('POST', '/api/v1/me/email',
      { email: 'x@elsewhere.example', current_password: PASSWORD, status: 'active' });
    assert.equal(extra.status, 400, extra.text);
  });

  it('refuses a wrong current password, counting it against the sign-in throttle', async () => {
    const old = 'guessed.change@acme.example';
    const id = w.addUser(old);
    const s = await w.signIn(old);
    for (let i = 0; i < PAIR_LIMIT; i++)
      assertProblem(await ask(s, 'thief@elsewhere.example', WRONG_PASSWORD), 403, 'invalid_credentials', 'current_password');
    const limited = await ask(s, 'thief@elsewhere.example', PASSWORD);
    assertProblem(limited, 429, 'rate_limited');
    assert.ok(Number(limited.headers['retry-after']) >= 1);
    // The same throttle holds sign-in to the account from this address.
    assert.equal((await signInRaw(old)).status, 429);
    assert.equal(auditRows('email.change_failed', id).length, PAIR_LIMIT);
    assert.equal(w.sql(`SELECT COUNT(*) FROM email_changes WHERE user_id = '${id}'`).trim(), '0');
    await outboxSettled();
    assert.equal(w.smtp.to('thief@elsewhere.example').length, 0);
  });

  it('limits the requests of one account per hour', async () => {
    const old = 'restless@acme.example';
    const id = w.addUser(old);
    const s = await w.signIn(old);
    for (let i = 0; i < PER_ACCOUNT; i++)
      assert.equal((await ask(s, `restless.${i}@elsewhere.example`)).status, 202);
    const refused = await ask(s, 'restless.last@elsewhere.example');
    assertProblem(refused, 429, 'rate_limited');
    assert.ok(Number(refused.headers['retry-after']) > 0);
    assert.equal(w.sql(`SELECT COUNT(*) FROM email_changes WHERE user_id = '${id}'`).trim(), String(PER_ACCOUNT));
    assert.equal((await me(s)).json.pending_email, `restless.${PER_ACCOUNT - 1}@elsewhere.example`);
  });

  it('cancels a pending change, and a password change voids one', async () => {
    const old = 'wavering@acme.example';
    const id = w.addUser(old);
    const s = await w.signIn(old);
    assert.equal((await ask(s, 'maybe@elsewhere.example')).status, 202);
    const { token } = await confirmLink('maybe@elsewhere.example');
    assert.equal((await w.as(s)('DELETE', '/api/v1/me/email')).status, 204);
    assert.equal((await me(s)).json.pending_email, null);
    assertProblem(await confirm(token), 400, 'invalid_token', 'token');
    assertProblem(await w.as(s)('DELETE', '/api/v1/me/email'), 404, 'not_found');
    assert.equal(auditRows('email.change_cancelled', id).length, 1);

    // Someone with the password asks for a change; the owner changes the password.
    assert.equal((await ask(s, 'intruder@elsewhere.example')).status, 202);
    const second = await confirmLink('intruder@elsewhere.example');
    const changed = await w.as(s)('POST', '/api/v1/me/password',
      { current_password: PASSWORD, new_password: 'canary-owner-new-password-7a1f-meadow' });
    w.secrets.add('canary-owner-new-password-7a1f-meadow');
    assert.equal(changed.status, 204, changed.text);
    assertProblem(await confirm(second.token), 400, 'invalid_token', 'token');
    assert.equal(w.sql(`SELECT email FROM users WHERE id = '${id}'`).trim(), old);
  });

  it('refuses a view-as session and an API token', async () => {
    const agency = await w.agencyNew(admin, 'Email Change Co');
    const memberId = w.addUser('viewed.change@acme.example');
    w.grant(memberId, agency.id, { roles: 'agent' });
    const member = await w.signIn('viewed.change@acme.example');
    const start = await w.as(await w.signIn('provider@studio.example'))('POST', '/api/v1/impersonation', {
      user_id: memberId, agency_id: agency.id, reason: 'support ticket',
    });
    assert.equal(start.status, 201, start.text);
    w.secrets.add(start.json.token);
    const view = start.json.token;
    assertProblem(await ask(view, 'hijack@elsewhere.example'), 403, 'impersonation_read_only');
    assertProblem(await w.as(view)('DELETE', '/api/v1/me/email'), 403, 'impersonation_read_only');
    const seen = await me(view);
    assert.equal(seen.status, 200);
    assert.equal(seen.json.pending_email, null);

    const tok = await w.as(admin)('POST', `/api/v1/agencies/${agency.id}/tokens`, { name: 'inbox' });
    assert.equal(tok.status, 201, tok.text);
    w.secrets.add(tok.json.token);
    assertProblem(await ask(tok.json.token, 'robot@elsewhere.example'), 403, 'forbidden');
    assertProblem(await w.as(tok.json.token)('DELETE', '/api/v1/me/email'), 403, 'forbidden');
    assert.equal(w.sql(`SELECT COUNT(*) FROM email_changes WHERE user_id = '${memberId}'`).trim(), '0');
    assert.equal((await me(member)).json.pending_email, null);
  });

  it('refuses a link whose account was disabled meanwhile', async () => {
    const old = 'disabled.change@acme.example';
    const id = w.addUser(old);
    const s = await w.signIn(old);
    assert.equal((await ask(s, 'disabled.new@elsewhere.example')).status, 202);
    const { token } = await confirmLink('disabled.new@elsewhere.example');
    assert.equal((await w.as(admin)('PATCH', `/api/v1/users/${id}`, { status: 'disabled' })).status, 200);
    assertProblem(await confirm(token), 400, 'invalid_token', 'token');
    assert.equal(w.sql(`SELECT email FROM users WHERE id = '${id}'`).trim(), old);
  });

  describe('a reset link sent by a platform admin', () => {
    it('emails the person a link that sets a new password; the admin never sees it', async () => {
      const email = 'locked.out@acme.example';
      const id = w.addUser(email);
      const res = await w.as(admin)('POST', `/api/v1/users/${id}/password-reset`);
      assert.equal(res.status, 202, res.text);
      assert.ok(!/token/i.test(JSON.stringify(res.json)), res.text);
      const { message, token } = await w.mailLink(email);
      assert.equal(message.parsed.subject, 'Reset your password');
      assert.match(message.parsed.text, /A platform administrator sent you a link/);
      const rows = auditRows('user.password_reset_requested', id);
      assert.equal(rows.length, 1);
      assert.equal(rows[0].actor, w.sql("SELECT id FROM users WHERE email = 'provider@studio.example'").trim());
      assert.equal(rows[0].details.via, 'platform_admin');
      const done = await w.usher.api('POST', '/api/v1/password-resets/confirm',
        { body: { token, password: NEW_PASSWORD } });
      if (done.json?.token) w.secrets.add(done.json.token);
      assert.equal(done.status, 201, done.text);
      assert.equal((await signInRaw(email, NEW_PASSWORD)).status, 201);
    });

    it('is for platform admins only, for active accounts, within the per-account limit', async () => {
      const email = 'reset.by.admin@acme.example';
      const id = w.addUser(email);
      const someone = await w.signIn(email);
      assertProblem(await w.as(someone)('POST', `/api/v1/users/${id}/password-reset`), 403, 'forbidden');
      assertProblem(await w.as(admin)('POST', '/api/v1/users/usr_nobody/password-reset'), 404, 'not_found');
      assertProblem(await w.as(admin)('POST', `/api/v1/users/${id}/password-reset`, { extra: 1 }), 400, 'invalid_input');
      for (let i = 0; i < RESET_PER_ACCOUNT; i++) {
        assert.equal((await w.as(admin)('POST', `/api/v1/users/${id}/password-reset`)).status, 202);
        await w.smtp.waitFor(email, i + 1);
      }
      const limited = await w.as(admin)('POST', `/api/v1/users/${id}/password-reset`);
      assertProblem(limited, 429, 'rate_limited');
      // The person's own request within the limit is refused too (silently, as always).
      assert.equal((await w.usher.api('POST', '/api/v1/password-resets', { body: { email } })).status, 202);
      await outboxSettled();
      assert.equal(w.smtp.to(email).length, RESET_PER_ACCOUNT);

      const off = w.addUser('disabled.reset@acme.example');
      assert.equal((await w.as(admin)('PATCH', `/api/v1/users/${off}`, { status: 'disabled' })).status, 200);
      assertProblem(await w.as(admin)('POST', `/api/v1/users/${off}/password-reset`), 409, 'account_disabled');
      await outboxSettled();
      assert.equal(w.smtp.to('disabled.reset@acme.example').length, 0);
    });
  });
});

// The hourly housekeeping also runs when the server starts: rows written straight into the
// database with old and recent dates show which go.
describe('purge of old email-change and password-reset rows', () => {
  it('deletes rows older than a week when the server starts and keeps newer ones', async () => {
    const env = { USHER_ADMIN_EMAIL: 'purge@studio.example', USHER_ADMIN_PASSWORD: PASSWORD };
    let usher = await startUsher({ env });
    try {
      const id = usher.sql("SELECT id FROM users WHERE email = 'purge@studio.example'").trim();
      const day = 24 * 60 * 60 * 1000;
      const now = Date.now();
      const rows = [['old', now - 8 * day], ['recent', now - 6 * day], ['new', now]];
      for (const [key, at] of rows) {
        usher.sql(`INSERT INTO password_resets (id, email, user_id, status, token_nonce, token_hash, created_at, expires_at)
                   VALUES ('pwr_${key}', 'purge@studio.example', '${id}', 'used', 'n', 'h_pwr_${key}', ${at}, ${at});
                   INSERT INTO email_changes (id, user_id, new_email, status, token_nonce, token_hash, created_at, expires_at)
                   VALUES ('emc_${key}', '${id}', 'purge@elsewhere.example', 'voided', 'n', 'h_emc_${key}', ${at}, ${at});`);
      }
      assert.equal(await usher.stop(), 0);
      usher = await startUsher({ dataDir: usher.dataDir, env });
      // The purge logs how many rows it deleted once it has committed.
      for (let i = 0; i < 200 && usher.findLogs('account.links_purged').length === 0; i++)
        await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(usher.findLogs('account.links_purged').map((l) => l.deleted), [2]);
      const left = usher.sql('SELECT id FROM password_resets UNION ALL SELECT id FROM email_changes ORDER BY 1').trim();
      assert.deepEqual(left.split('\n'), ['emc_new', 'emc_recent', 'pwr_new', 'pwr_recent']);
    } finally {
      assert.equal(await usher.stop(), 0);
    }
  });
});
