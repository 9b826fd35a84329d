// Password recovery through the real binary (docs/rules.md, Forgotten passwords): a request
// answers 202 alike for every address, an active account gets an email (read here from a real
// SMTP server) with a single-use link that expires, a newer request voids older links, the
// sends are limited per address, and using a link sets the password, ends every session of the
// account and signs the person in. No token reaches the log or the audit trail.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { assertProblem, PASSWORD, startWorld } from './lib/world.mjs';

const NEW_PASSWORD = 'canary-reset-password-9f3a-amber-lantern';
const PER_ADDRESS = 3; // emails per address per hour (app/password_reset.h)

describe('password recovery', () => {
  let w;

  const request = (email) => w.usher.api('POST', '/api/v1/password-resets', { body: { email } });
  const confirm = async (token, password) => {
    const res = await w.usher.api('POST', '/api/v1/password-resets/confirm', { body: { token, password } });
    if (res.json?.token) w.secrets.add(res.json.token);
    return res;
  };
  const me = (token) => w.as(token)('GET', '/api/v1/me');
  const resetMails = (email) => w.smtp.to(email).filter((m) => m.parsed.subject === 'Reset your password');

  // Waits until the outbox has nothing left to send, so "no email" is a settled fact.
  async function outboxSettled() {
    for (let i = 0; i < 200; i++) {
      const left = w.sql("SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NULL AND dropped_at IS NULL").trim();
      if (left === '0') return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('the outbox never emptied');
  }

  before(async () => {
    w = await startWorld();
    w.secrets.add(NEW_PASSWORD);
  });

  after(async () => {
    if (!w) return;
    const log = w.logText();
    for (const s of w.secrets) assert.ok(!log.includes(s), 'a secret appeared in the log');
    const audit = w.sql('SELECT details FROM audit_log');
    for (const s of w.secrets) assert.ok(!audit.includes(s), 'a secret appeared in the audit trail');
    assert.equal(await w.stop(), 0);
  });

  it('answers the same for a known and an unknown address, and emails only the account', async () => {
    const known = 'known@acme.example';
    w.addUser(known);
    const unknown = 'nobody@acme.example';
    const a = await request(known);
    const b = await request(unknown);
    assert.equal(a.status, 202, a.text);
    assert.equal(b.status, 202, b.text);
    assert.equal(a.text, b.text);
    assert.deepEqual(Object.keys(a.headers).filter((h) => h !== 'date' && !h.startsWith('x-request')).sort(),
      Object.keys(b.headers).filter((h) => h !== 'date' && !h.startsWith('x-request')).sort());
    const { message, url } = await w.mailLink(known);
    assert.equal(message.parsed.subject, 'Reset your password');
    assert.match(url, /\/password-reset#token=[A-Za-z0-9_-]{20,}$/);
    assert.match(message.parsed.html, /password-reset#token=/);
    await outboxSettled();
    assert.equal(w.smtp.to(unknown).length, 0);
    // Both requests wrote a row and an audit row; the unknown one is for no account.
    assert.equal(w.sql(`SELECT COUNT(*) FROM password_resets WHERE email = '${unknown}' AND user_id IS NULL`).trim(), '1');
    // The address sits in the entry's personal row (audit_personal), apart from its details.
    const rows = w.sql(`SELECT details, (SELECT data FROM audit_personal p WHERE p.entry_id = audit_log.id)
                        FROM audit_log WHERE action = 'user.password_reset_requested' ORDER BY id`)
      .trim().split('\n').map((l) => l.split('|')).map(([d, p]) => ({ ...JSON.parse(d), ...(p ? JSON.parse(p) : {}) }));
    assert.deepEqual(rows.map((r) => [r.email, r.outcome]), [[known, 'sent'], [unknown, 'no_active_account']]);
    // The database keeps no working token: only its keyed hash.
    const token = url.split('#token=')[1];
    assert.equal(w.sql(`SELECT COUNT(*) FROM password_resets WHERE token_hash = '${token}' OR token_nonce = '${token}'`).trim(), '0');
    assert.ok(!w.sql('SELECT body_text, body_html FROM mail_outbox').includes(token), 'the outbox holds the link');
  });

  it('sets the password once, ends every session, signs the person in and tells them', async () => {
    const email = 'forgetful@acme.example';
    const id = w.addUser(email);
    const s1 = await w.signIn(email);
    const s2 = await w.signIn(email);
    assert.equal((await me(s1)).status, 200);
    assert.equal((await request(email)).status, 202);
    const { token } = await w.mailLink(email);

    const res = await confirm(token, NEW_PASSWORD);
    assert.equal(res.status, 201, res.text);
    assert.ok(res.json.token && res.json.csrf_token, res.text);
    assert.equal(res.json.user.id, id);
    assert.match(String(res.headers['set-cookie']), /HttpOnly/);
    assert.equal((await me(res.json.token)).status, 200);
    assert.equal((await me(s1)).status, 401);
    assert.equal((await me(s2)).status, 401);
    assert.equal(w.sql(`SELECT COUNT(*) FROM sessions WHERE user_id = '${id}'`).trim(), '1');

    // The new password signs in, the old one no longer does.
    assertProblem(await w.usher.api('POST', '/api/v1/sessions', { body: { email, password: PASSWORD } }),
      401, 'invalid_credentials');
    assert.equal((await w.usher.api('POST', '/api/v1/sessions', { body: { email, password: NEW_PASSWORD } })).status, 201);

    // The link works once.
    assertProblem(await confirm(token, 'canary-another-password-71c2-violet'), 410, 'password_reset_expired', 'token');

    const changed = await w.smtp.waitFor(email, 2);
    assert.equal(changed.parsed.subject, 'Your password was changed');
    const audit = w.sql(`SELECT details FROM audit_log WHERE action = 'user.password_changed' AND subject_user_id = '${id}'`).trim();
    const details = JSON.parse(audit);
    assert.equal(details.via, 'password_reset');
    assert.equal(details.sessions_ended, 2);
  });

  it('voids an older link when a newer one is asked for', async () => {
    const email = 'twice@acme.example';
    w.addUser(email);
    assert.equal((await request(email)).status, 202);
    const first = await w.mailLink(email, 1);
    assert.equal((await request(email)).status, 202);
    const second = await w.mailLink(email, 2);
    assert.notEqual(first.token, second.token);
    assertProblem(await confirm(first.token, NEW_PASSWORD), 410, 'password_reset_expired', 'token');
    assert.equal((await confirm(second.token, NEW_PASSWORD)).status, 201);
  });

  it('refuses an expired or unknown link alike', async () => {
    const email = 'late@acme.example';
    const id = w.addUser(email);
    assert.equal((await request(email)).status, 202);
    const { token } = await w.mailLink(email);
    // Thirty minutes pass: the row's expiry moves into the past.
    w.sql(`UPDATE password_resets SET expires_at = created_at - 1 WHERE user_id = '${id}'`);
    const expired = await confirm(token, NEW_PASSWORD);
    assertProblem(expired, 410, 'password_reset_expired', 'token');
    const unknown = await confirm('A'.repeat(43), NEW_PASSWORD);
    assertProblem(unknown, 410, 'password_reset_expired', 'token');
    assert.equal(expired.json.detail, unknown.json.detail);
    assert.equal(w.sql(`SELECT status FROM password_resets WHERE user_id = '${id}'`).trim(), 'pending');
    // The link expires after thirty minutes.
    const span = w.sql('SELECT expires_at - created_at FROM password_resets WHERE user_id IS NULL LIMIT 1').trim();
    assert.equal(span, String(30 * 60 * 1000));
  });

  it('refuses a weak password and keeps the link usable', async () => {
    const email = 'weak.reset@acme.example';
    const id = w.addUser(email);
    const before = w.sql(`SELECT password_hash FROM users WHERE id = '${id}'`).trim();
    assert.equal((await request(email)).status, 202);
    const { token } = await w.mailLink(email);
    assertProblem(await confirm(token, 'password1234'), 400, 'weak_password', 'password');
    assert.equal(w.sql(`SELECT password_hash FROM users WHERE id = '${id}'`).trim(), before);
    assert.equal((await confirm(token, NEW_PASSWORD)).status, 201);
  });

  it('answers 202 but sends nothing past the per-address limit', async () => {
    const email = 'flooded@acme.example';
    w.addUser(email);
    // Each email is waited for: a newer request voids the older link, and its unsent email with it.
    const answers = [];
    for (let i = 0; i < PER_ADDRESS; i++) {
      answers.push(await request(email));
      await w.smtp.waitFor(email, i + 1);
    }
    for (let i = 0; i < 2; i++) answers.push(await request(email));
    for (const a of answers) {
      assert.equal(a.status, 202, a.text);
      assert.equal(a.text, answers[0].text);
    }
    await outboxSettled();
    assert.equal(resetMails(email).length, PER_ADDRESS);
    assert.equal(w.sql(`SELECT COUNT(*) FROM password_resets WHERE email = '${email}' AND status = 'throttled'`).trim(), '2');
    // Only the newest link sent works; the throttled requests voided nothing.
    const last = await w.mailLink(email, PER_ADDRESS);
    assert.equal((await confirm(last.token, NEW_PASSWORD)).status, 201);
  });

  it('refuses a request without an address', async () => {
    assertProblem(await request('not an address'), 400, 'invalid_input', 'email');
  });
});
