// Two-step verification (TOTP) through the real binary and a real SMTP server: enrolling with
// the password, turning it on with a first code (ten recovery codes shown once), the two-step
// sign-in (no session after the password alone), a code accepted once and only within one
// step of drift, recovery codes used once, the two-step token's single use and expiry, wrong
// codes throttled with the passwords, a password reset that still asks for the code, turning
// it off, a platform admin's reset, and the agency policy that holds sessions back until the
// person enrols. Codes are computed here from the secret (RFC 6238 with node's crypto).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import { rememberSecret, request } from './lib/harness.mjs';
import { ADMIN_EMAIL, assertProblem, PASSWORD, startWorld } from './lib/world.mjs';

const STEP_MS = 30000;
const CODE_SHAPE = /^[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{2}$/;

// RFC 4648 base32 (no padding) to bytes.
function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of text.replace(/=+$/, '').toUpperCase()) {
    const i = alphabet.indexOf(ch);
    assert.ok(i >= 0, 'base32 secret');
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

// RFC 6238 / RFC 4226: HMAC-SHA-1 of the step counter, dynamic truncation, six digits.
function totp(secret, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = crypto.createHmac('sha1', base32Decode(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  const bin = ((mac[offset] & 0x7f) << 24) | (mac[offset + 1] << 16) | (mac[offset + 2] << 8) | mac[offset + 3];
  return String(bin % 1000000).padStart(6, '0');
}

// The current time step, away from its edges, so that "one step off" means the same here and
// in the server while a test runs (a few seconds).
async function steadyStep() {
  for (;;) {
    const into = Date.now() % STEP_MS;
    if (into > 2000 && into < STEP_MS - 8000) return Math.floor(Date.now() / STEP_MS);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

describe('two-step verification', () => {
  let w;
  let admin;
  let nextAddress = 10;

  const me = (token) => w.as(token)('GET', '/api/v1/me');
  const enrol = (token, password = PASSWORD) => w.as(token)('POST', '/api/v1/me/totp', { current_password: password });
  const confirm = (token, code) => w.as(token)('POST', '/api/v1/me/totp/confirm', { code });
  const mails = (email, subject) => w.smtp.to(email).filter((m) => m.parsed.subject === subject);

  // Requests from a loopback address of the test's own, so that its throttle windows stay its own.
  const from = () => `127.0.0.${nextAddress++}`;
  const post = (path, body, localAddress = '127.0.0.1') =>
    request('127.0.0.1', w.usher.port, 'POST', path, { body, localAddress });
  const passwordStep = (email, password = PASSWORD, address) => post('/api/v1/sessions', { email, password }, address);
  async function mfaToken(email, address) {
    const res = await passwordStep(email, PASSWORD, address);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.mfa_required, true);
    rememberSecret(res.json.mfa_token);
    w.secrets.add(res.json.mfa_token);
    return res.json.mfa_token;
  }
  const secondStep = (body, address) => post('/api/v1/sessions/mfa', body, address);

  // A new account with two-step verification on; the enrolment is confirmed with the code of
  // the step before the current one (one step of drift), so that step is the last one taken.
  async function personWithFactor(key) {
    const email = `${key}@acme.example`;
    const id = w.addUser(email);
    const token = await w.signIn(email);
    const e = await enrol(token);
    assert.equal(e.status, 200, e.text);
    const step = await steadyStep();
    const c = await confirm(token, totp(e.json.secret, step - 1));
    assert.equal(c.status, 200, c.text);
    for (const code of c.json.recovery_codes) {
      rememberSecret(code);
      w.secrets.add(code);
    }
    return { email, id, token, secret: e.json.secret, codes: c.json.recovery_codes, step };
  }

  before(async () => {
    w = await startWorld();
    admin = await w.signIn(ADMIN_EMAIL);
  });

  after(async () => {
    if (!w) return;
    const log = w.logText();
    for (const s of w.secrets) assert.ok(!log.includes(s), 'a secret appeared in the log');
    const audit = w.sql('SELECT details FROM audit_log');
    for (const s of w.secrets) assert.ok(!audit.includes(s), 'a secret appeared in the audit trail');
    assert.equal(await w.stop(), 0);
  });

  it('enrols with the password and shows the secret once, as a URL and a QR code, sealed at rest', async () => {
    const email = 'enrol+one@acme.example';
    const id = w.addUser(email, 'enrol_one');
    const token = await w.signIn(email);

    // A wrong password answers exactly as a password change's wrong password.
    const wrong = await enrol(token, 'canary-not-the-password-1');
    const change = await w.as(token)('POST', '/api/v1/me/password', {
      current_password: 'canary-not-the-password-1', new_password: 'canary-new-password-q8z-tulip',
    });
    assertProblem(wrong, 403, 'invalid_credentials', 'current_password');
    assert.equal(wrong.json.detail, change.json.detail);
    assert.equal(w.sql(`SELECT COUNT(*) FROM second_factors WHERE user_id = '${id}'`).trim(), '0');

    const res = await enrol(token);
    assert.equal(res.status, 200, res.text);
    const { secret, otpauth_url: url, qr_svg: svg } = res.json;
    assert.match(secret, /^[A-Z2-7]{32}$/); // 160 bits
    assert.equal(url, `otpauth://totp/usher:enrol%2Bone%40acme.example?secret=${secret}` +
      '&issuer=usher&algorithm=SHA1&digits=6&period=30');
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox="0 0 (\d+) \1"/);
    assert.equal((svg.match(/<path /g) || []).length, 1);
    assert.ok(!/href|<image|<script|url\(/i.test(svg), 'the SVG refers to nothing outside itself');
    assert.ok(svg.endsWith('</svg>'));
    // The side is a QR version's (21 + 4k modules) plus a quiet zone of four on each side.
    const side = Number(/viewBox="0 0 (\d+)/.exec(svg)[1]);
    assert.equal((side - 8 - 21) % 4, 0);

    // Not on until confirmed; the database holds the secret sealed, not as it was shown.
    assert.equal((await me(token)).json.second_factor, false);
    const box = w.sql(`SELECT secret_box FROM second_factors WHERE user_id = '${id}'`).trim();
    const raw = base32Decode(secret);
    assert.ok(box.length > 0 && !box.includes(secret) && !box.toLowerCase().includes(raw.toString('hex')));

    // Restarting makes a new secret; the first one's codes no longer confirm.
    const again = await enrol(token);
    assert.equal(again.status, 200);
    assert.notEqual(again.json.secret, secret);
    const step = await steadyStep();
    assertProblem(await confirm(token, totp(secret, step)), 400, 'invalid_code', 'code');
    assert.equal((await confirm(token, totp(again.json.secret, step))).status, 200);
  });

  it('turns on with a first code, answers ten recovery codes once and emails the person', async () => {
    const p = await personWithFactor('confirm');
    assert.equal(p.codes.length, 10);
    assert.equal(new Set(p.codes).size, 10);
    for (const code of p.codes) assert.match(code, CODE_SHAPE);
    // Kept only as keyed hashes.
    const stored = w.sql(`SELECT code_hash FROM recovery_codes WHERE user_id = '${p.id}'`);
    assert.equal(stored.trim().split('\n').length, 10);
    for (const code of p.codes) {
      assert.ok(!stored.includes(code) && !stored.includes(code.replaceAll('-', '')));
    }
    const body = await me(p.token);
    assert.equal(body.json.second_factor, true);
    assert.equal(body.json.second_factor_required, false);
    // Already on: neither a new enrolment nor a second confirmation.
    assertProblem(await enrol(p.token), 409, 'second_factor_on');
    assertProblem(await confirm(p.token, totp(p.secret, p.step)), 409, 'second_factor_on');
    const audit = w.sql(`SELECT action FROM audit_log WHERE subject_user_id = '${p.id}' AND action LIKE 'second_factor.%'`);
    assert.equal(audit.trim(), 'second_factor.enabled');

    const message = await w.smtp.waitFor(p.email, 1);
    assert.equal(message.parsed.subject, 'Two-step verification turned on');
    assert.match(message.parsed.text, /Two-step verification of your account confirm@acme\.example was turned on at \d{4}-\d\d-\d\dT[\d:.]+Z \(UTC\) from the address 127\.0\.0\.1/);
    assert.match(message.parsed.text, /If it was not you/);
    assert.match(message.parsed.html, /<strong>confirm@acme\.example<\/strong> was turned on/);
    for (const code of p.codes) assert.ok(!message.raw.toString().includes(code));
  });

  it('signs in in two steps: the password alone makes no session, the code does', async () => {
    const p = await personWithFactor('twostep');
    const plain = 'plain@acme.example';
    w.addUser(plain);

    // A wrong password answers as it does for an account without a second factor.
    const wrongOn = await passwordStep(p.email, 'canary-wrong-password-x1');
    const wrongOff = await passwordStep(plain, 'canary-wrong-password-x1');
    assertProblem(wrongOn, 401, 'invalid_credentials');
    assert.equal(wrongOn.text.replace(/"[a-z_]*request_id":"[^"]*"/, ''), wrongOff.text.replace(/"[a-z_]*request_id":"[^"]*"/, ''));
    assert.equal(wrongOn.headers['set-cookie'], undefined);

    const first = await passwordStep(p.email);
    assert.equal(first.status, 200, first.text);
    assert.deepEqual(Object.keys(first.json).sort(), ['expires_at', 'mfa_required', 'mfa_token']);
    assert.equal(first.json.mfa_required, true);
    assert.equal(first.headers['set-cookie'], undefined, 'no session and no device cookie yet');
    w.secrets.add(first.json.mfa_token);
    const ttl = Date.parse(first.json.expires_at) - Date.now();
    assert.ok(ttl > 4 * 60000 && ttl <= 5 * 60000, `expires in ${ttl} ms`);
    assert.equal(w.sql(`SELECT COUNT(*) FROM sessions WHERE user_id = '${p.id}'`).trim(), '1');
    // The token is not a session.
    assert.equal((await me(first.json.mfa_token)).status, 401);

    const step = await steadyStep();
    const second = await secondStep({ mfa_token: first.json.mfa_token, code: totp(p.secret, step) });
    assert.equal(second.status, 201, second.text);
    w.secrets.add(second.json.token);
    assert.ok(second.json.token && second.json.csrf_token);
    assert.equal(second.json.user.id, p.id);
    const cookies = [].concat(second.headers['set-cookie']).join('\n');
    assert.match(cookies, /usher_session=/);
    assert.match(cookies, /usher_device=/);
    assert.equal((await me(second.json.token)).status, 200);
    const created = w.sql(`SELECT details FROM audit_log WHERE subject_user_id = '${p.id}' AND action = 'session.created' ORDER BY id DESC LIMIT 1`);
    assert.deepEqual(JSON.parse(created), { method: 'password', second_factor: 'totp' });
  });

  it('accepts a code once, and only within one step of drift', async () => {
    const p = await personWithFactor('drift'); // confirmed with the code of step - 1
    const step = p.step;
    const token = await mfaToken(p.email);
    // Two steps away either way: refused; the same step as the confirmation: a replay.
    assertProblem(await secondStep({ mfa_token: token, code: totp(p.secret, step + 2) }), 401, 'invalid_code', 'code');
    assertProblem(await secondStep({ mfa_token: token, code: totp(p.secret, step - 2) }), 401, 'invalid_code', 'code');
    assertProblem(await secondStep({ mfa_token: token, code: totp(p.secret, step - 1) }), 401, 'invalid_code', 'code');
    assertProblem(await secondStep({ mfa_token: token, code: 'abcdef' }), 401, 'invalid_code', 'code');
    // One step ahead: accepted (the token survived four wrong codes).
    const ok = await secondStep({ mfa_token: token, code: totp(p.secret, step + 1) });
    assert.equal(ok.status, 201, ok.text);
    w.secrets.add(ok.json.token);
    // The same code again, and an older step now, are refused on a fresh token.
    const again = await mfaToken(p.email);
    assertProblem(await secondStep({ mfa_token: again, code: totp(p.secret, step + 1) }), 401, 'invalid_code');
    assertProblem(await secondStep({ mfa_token: again, code: totp(p.secret, step) }), 401, 'invalid_code');
    assert.equal(w.sql(`SELECT last_step FROM second_factors WHERE user_id = '${p.id}'`).trim(), String(step + 1));
  });

  it('takes a code once when it is sent twice at the same moment', async () => {
    const p = await personWithFactor('race');
    const [a, b] = [await mfaToken(p.email), await mfaToken(p.email)];
    const code = totp(p.secret, p.step);
    const answers = await Promise.all([secondStep({ mfa_token: a, code }), secondStep({ mfa_token: b, code })]);
    const statuses = answers.map((r) => r.status).sort();
    assert.deepEqual(statuses, [201, 401], answers.map((r) => r.text).join(' | '));
    for (const r of answers) if (r.json?.token) w.secrets.add(r.json.token);
  });

  it('signs in once with each recovery code, in any case and with or without dashes', async () => {
    const p = await personWithFactor('recovery');
    const [code] = p.codes;
    const typed = code.toUpperCase().replaceAll('-', ' ');
    const ok = await secondStep({ mfa_token: await mfaToken(p.email), recovery_code: typed });
    assert.equal(ok.status, 201, ok.text);
    w.secrets.add(ok.json.token);
    const created = w.sql(`SELECT details FROM audit_log WHERE subject_user_id = '${p.id}' AND action = 'session.created' ORDER BY id DESC LIMIT 1`);
    assert.deepEqual(JSON.parse(created), { method: 'password', second_factor: 'recovery_code' });
    assert.equal(w.sql(`SELECT COUNT(*) FROM recovery_codes WHERE user_id = '${p.id}' AND used_at IS NULL`).trim(), '9');
    // Used once: gone.
    assertProblem(await secondStep({ mfa_token: await mfaToken(p.email), recovery_code: code }), 401, 'invalid_code', 'recovery_code');
    // Not someone else's.
    const other = await personWithFactor('recovery_other');
    assertProblem(await secondStep({ mfa_token: await mfaToken(other.email), recovery_code: p.codes[1] }), 401, 'invalid_code', 'recovery_code');
    // Exactly one of code and recovery_code; nothing else.
    const t = await mfaToken(p.email);
    assertProblem(await secondStep({ mfa_token: t }), 400, 'invalid_input');
    assertProblem(await secondStep({ mfa_token: t, code: '123456', recovery_code: p.codes[2] }), 400, 'invalid_input');
    assertProblem(await secondStep({ mfa_token: t, code: '123456', password: PASSWORD }), 400, 'invalid_input');
  });

  it('uses a two-step token once, for five minutes, and drops it after five wrong codes', async () => {
    const p = await personWithFactor('tokens');
    const step = p.step;
    // Used once.
    const used = await mfaToken(p.email);
    assert.equal((await secondStep({ mfa_token: used, code: totp(p.secret, step) })).status, 201);
    assertProblem(await secondStep({ mfa_token: used, code: totp(p.secret, step + 1) }), 401, 'mfa_token_invalid');
    // Expired (its row says so; the server's clock is not moved).
    const old = await mfaToken(p.email);
    const span = w.sql(`SELECT expires_at - created_at FROM mfa_tokens WHERE user_id = '${p.id}'`).trim();
    assert.equal(span, String(5 * 60 * 1000));
    w.sql(`UPDATE mfa_tokens SET expires_at = created_at - 1 WHERE user_id = '${p.id}'`);
    assertProblem(await secondStep({ mfa_token: old, code: totp(p.secret, step + 1) }), 401, 'mfa_token_invalid');
    // Expired tokens are purged by the next first step.
    await mfaToken(p.email);
    assert.equal(w.sql(`SELECT COUNT(*) FROM mfa_tokens WHERE user_id = '${p.id}' AND expires_at <= created_at`).trim(), '0');
    // A session token, an unknown token: the same answer.
    assertProblem(await secondStep({ mfa_token: p.token, code: totp(p.secret, step + 1) }), 401, 'mfa_token_invalid');
    // Five wrong codes and the token is gone, even for the right code.
    const address = from();
    const tired = await mfaToken(p.email, address);
    for (let i = 0; i < 5; i++) {
      assertProblem(await secondStep({ mfa_token: tired, code: '000000' === totp(p.secret, step) ? '111111' : '000000' }, address), 401, 'invalid_code');
    }
    assertProblem(await secondStep({ mfa_token: tired, code: totp(p.secret, step + 1) }, address), 401, 'mfa_token_invalid');
    const failed = w.sql(`SELECT COUNT(*) FROM audit_log WHERE subject_user_id = '${p.id}' AND action = 'session.failed' AND details LIKE '%wrong_code%'`).trim();
    assert.ok(Number(failed) >= 5, failed);
  });

  it('throttles wrong codes with the passwords: both steps answer 429 past the limit', async () => {
    const p = await personWithFactor('throttle');
    const address = from();
    const wrong = totp(p.secret, p.step) === '000000' ? '111111' : '000000';
    // Ten failures per account from one address: two tokens' worth of wrong codes.
    for (let t = 0; t < 2; t++) {
      const token = await mfaToken(p.email, address);
      for (let i = 0; i < 5; i++) assertProblem(await secondStep({ mfa_token: token, code: wrong }, address), 401, 'invalid_code');
    }
    const limitedPassword = await passwordStep(p.email, PASSWORD, address);
    assertProblem(limitedPassword, 429, 'rate_limited');
    assert.ok(Number(limitedPassword.headers['retry-after']) >= 1);
    // A token got elsewhere cannot be used from here either, not even with the right code.
    const token = await mfaToken(p.email, from());
    const limitedCode = await secondStep({ mfa_token: token, code: totp(p.secret, p.step) }, address);
    assertProblem(limitedCode, 429, 'rate_limited');
    assert.ok(Number(limitedCode.headers['retry-after']) >= 1);
    // A right password does not clear the count of wrong codes: only a finished sign-in does.
    const ok = await secondStep({ mfa_token: token, code: totp(p.secret, p.step) }, from());
    assert.equal(ok.status, 201, ok.text);
    w.secrets.add(ok.json.token);
  });

  it('asks for the code after a password reset too', async () => {
    const p = await personWithFactor('reset');
    assert.equal((await w.usher.api('POST', '/api/v1/password-resets', { body: { email: p.email } })).status, 202);
    const { token } = await w.mailLink(p.email, 2); // the first email said "turned on"
    const newPassword = 'canary-reset-with-factor-77e1-heron';
    w.secrets.add(newPassword);
    rememberSecret(newPassword);
    const res = await w.usher.api('POST', '/api/v1/password-resets/confirm', { body: { token, password: newPassword } });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.mfa_required, true);
    assert.equal(res.json.token, undefined);
    assert.equal(res.headers['set-cookie'], undefined);
    w.secrets.add(res.json.mfa_token);
    // The password changed and every session ended, but no new one started.
    assert.equal((await me(p.token)).status, 401);
    assert.equal(w.sql(`SELECT COUNT(*) FROM sessions WHERE user_id = '${p.id}'`).trim(), '0');
    const done = await secondStep({ mfa_token: res.json.mfa_token, code: totp(p.secret, p.step) });
    assert.equal(done.status, 201, done.text);
    w.secrets.add(done.json.token);
    assert.equal((await me(done.json.token)).json.user.id, p.id);
  });

  it('replaces the recovery codes with the password and a code; the old ones stop working', async () => {
    const p = await personWithFactor('newcodes');
    const replace = (body) => w.as(p.token)('POST', '/api/v1/me/totp/recovery-codes', body);
    assertProblem(await replace({ current_password: 'canary-wrong-password-x3', code: totp(p.secret, p.step) }), 403, 'invalid_credentials', 'current_password');
    // The confirmation's step again: a replay.
    assertProblem(await replace({ current_password: PASSWORD, code: totp(p.secret, p.step - 1) }), 400, 'invalid_code', 'code');
    const res = await replace({ current_password: PASSWORD, code: totp(p.secret, p.step) });
    assert.equal(res.status, 200, res.text);
    const fresh = res.json.recovery_codes;
    for (const code of fresh) w.secrets.add(code);
    assert.equal(fresh.length, 10);
    for (const code of fresh) assert.match(code, CODE_SHAPE);
    assert.ok(!fresh.some((c) => p.codes.includes(c)));
    assertProblem(await secondStep({ mfa_token: await mfaToken(p.email), recovery_code: p.codes[0] }), 401, 'invalid_code', 'recovery_code');
    const ok = await secondStep({ mfa_token: await mfaToken(p.email), recovery_code: fresh[0] });
    assert.equal(ok.status, 201, ok.text);
    w.secrets.add(ok.json.token);
    assert.ok(w.sql(`SELECT action FROM audit_log WHERE subject_user_id = '${p.id}'`).includes('second_factor.recovery_codes_replaced'));
  });

  it('turns off with the password and a code or a recovery code, and says so by email', async () => {
    const p = await personWithFactor('disable');
    const off = (body) => w.as(p.token)('DELETE', '/api/v1/me/totp', body);
    assertProblem(await off({ current_password: 'canary-wrong-password-x2', code: totp(p.secret, p.step) }), 403, 'invalid_credentials', 'current_password');
    assertProblem(await off({ current_password: PASSWORD, code: totp(p.secret, p.step - 1) }), 400, 'invalid_code', 'code');
    assertProblem(await off({ current_password: PASSWORD, recovery_code: 'aaaa-bbbb-cc' }), 400, 'invalid_code', 'recovery_code');
    assertProblem(await off({ current_password: PASSWORD }), 400, 'invalid_input');
    assert.equal((await me(p.token)).json.second_factor, true);
    const res = await off({ current_password: PASSWORD, recovery_code: p.codes[0] });
    assert.equal(res.status, 204, res.text);
    assert.equal((await me(p.token)).json.second_factor, false);
    assert.equal(w.sql(`SELECT COUNT(*) FROM recovery_codes WHERE user_id = '${p.id}'`).trim(), '0');
    assert.equal(w.sql(`SELECT COUNT(*) FROM second_factors WHERE user_id = '${p.id}'`).trim(), '0');
    assertProblem(await off({ current_password: PASSWORD, code: totp(p.secret, p.step) }), 409, 'second_factor_off');
    // The password alone signs in again.
    assert.equal((await passwordStep(p.email)).status, 201);
    const message = await w.smtp.waitFor(p.email, 2);
    assert.equal(message.parsed.subject, 'Two-step verification turned off');
    assert.match(message.parsed.text, /was turned off at .* \(UTC\) from the address 127\.0\.0\.1/);
    assert.match(message.parsed.text, /If it was not you/);
    assert.ok(w.sql(`SELECT action FROM audit_log WHERE subject_user_id = '${p.id}'`).includes('second_factor.disabled'));
  });

  it('deletes an account with the factor on only with the password and a current code or a recovery code', async () => {
    const p = await personWithFactor('erase');
    const erase = (body) => w.as(p.token)('DELETE', '/api/v1/me', body);
    const present = () => Number(w.sql(`SELECT COUNT(*) FROM users WHERE id = '${p.id}'`).trim());
    assertProblem(await erase({ current_password: PASSWORD }), 400, 'invalid_input', 'code');
    assertProblem(await erase({ current_password: PASSWORD, code: totp(p.secret, p.step - 1) }), 400, 'invalid_code', 'code');
    assertProblem(await erase({ current_password: PASSWORD, recovery_code: 'aaaa-bbbb-cc' }), 400, 'invalid_code', 'recovery_code');
    assertProblem(await erase({ current_password: 'canary-wrong-password-x3', code: totp(p.secret, p.step) }), 403, 'invalid_credentials', 'current_password');
    assert.equal(present(), 1, 'still there');
    const failed = w.sql(`SELECT details FROM audit_log WHERE action = 'user.erase_failed' AND subject_user_id = '${p.id}'`);
    assert.equal(failed.split('\n').filter((l) => l.includes('wrong_code')).length, 2, failed);
    const code = totp(p.secret, await steadyStep());
    const res = await erase({ current_password: PASSWORD, code });
    assert.equal(res.status, 204, res.text);
    assert.equal(present(), 0);
    // The platform log says which proof allowed it, and holds neither the code nor the password.
    const erased = (id) => w.sql(`SELECT details FROM audit_log WHERE action = 'user.erased' AND subject_user_id = '${id}'`).trim();
    assert.equal(JSON.parse(erased(p.id)).proof, 'totp');
    assert.ok(!erased(p.id).includes(code) && !erased(p.id).includes(PASSWORD), erased(p.id));

    const q = await personWithFactor('erase-recovery');
    const gone = await w.as(q.token)('DELETE', '/api/v1/me', { current_password: PASSWORD, recovery_code: q.codes[3] });
    assert.equal(gone.status, 204, gone.text);
    assert.equal(Number(w.sql(`SELECT COUNT(*) FROM users WHERE id = '${q.id}'`).trim()), 0);
    assert.equal(JSON.parse(erased(q.id)).proof, 'recovery_code');
    assert.ok(!erased(q.id).toLowerCase().includes(q.codes[3].toLowerCase()), erased(q.id));
  });

  it('lets a platform admin reset a lost factor, and nobody else', async () => {
    const p = await personWithFactor('lost');
    const other = await personWithFactor('nosy');
    // Another person's session reaches only its own factor.
    assertProblem(await w.as(other.token)('DELETE', `/api/v1/users/${p.id}/totp`), 403, 'forbidden');
    assert.equal((await w.as(other.token)('DELETE', '/api/v1/me/totp', { current_password: PASSWORD, code: totp(other.secret, other.step) })).status, 204);
    assert.equal((await me(p.token)).json.second_factor, true);
    // Listed with the factor on, for platform admins.
    const listed = await w.as(admin)('GET', `/api/v1/users?q=lost%40acme`);
    assert.equal(listed.status, 200, listed.text);
    assert.equal(listed.json.items[0].second_factor, true);

    assert.equal((await w.as(admin)('DELETE', `/api/v1/users/${p.id}/totp`)).status, 204);
    assertProblem(await w.as(admin)('DELETE', `/api/v1/users/${p.id}/totp`), 409, 'second_factor_off');
    assertProblem(await w.as(admin)('DELETE', '/api/v1/users/usr_nosuchuser/totp'), 404, 'not_found');
    assert.equal((await me(p.token)).json.second_factor, false);
    assert.equal(w.sql(`SELECT COUNT(*) FROM recovery_codes WHERE user_id = '${p.id}'`).trim(), '0');
    assert.equal((await w.as(admin)('GET', `/api/v1/users?q=lost%40acme`)).json.items[0].second_factor, false);
    assert.equal((await passwordStep(p.email)).status, 201);
    const message = await w.smtp.waitFor(p.email, 2);
    assert.equal(message.parsed.subject, 'Two-step verification reset by an administrator');
    assert.match(message.parsed.text, /was reset by a platform administrator/);
    assert.ok(w.sql(`SELECT action FROM audit_log WHERE subject_user_id = '${p.id}'`).includes('second_factor.reset'));
  });

  it('holds the sessions of an agency that requires it back until the person enrols', async () => {
    const agency = await w.agencyNew(admin, 'Strict agency');
    assert.equal(agency.require_second_factor, false);
    // An owner and a member, invited and accepted as in production.
    const people = {};
    for (const [key, roles] of [['owner', ['owner']], ['member', ['agent']]]) {
      const email = `strict-${key}@acme.example`;
      const inv = await w.invite(admin, agency.id, { email, grants: [{ roles }], send_email: false });
      assert.equal(inv.status, 201, inv.text);
      const acc = await w.acceptNew(new URL(inv.json.url).hash.replace(/^#token=/, ''));
      assert.equal(acc.status, 201, acc.text);
      people[key] = { email, id: acc.json.user.id, token: acc.json.token };
    }
    const { owner, member } = people;
    // Only holders of agency.manage set the policy.
    assertProblem(await w.as(member.token)('PATCH', `/api/v1/agencies/${agency.id}`, { require_second_factor: true }), 403, 'forbidden');
    assertProblem(await w.as(owner.token)('PATCH', `/api/v1/agencies/${agency.id}`, { require_second_factor: 'yes' }), 400, 'invalid_input');
    assertProblem(await w.as(owner.token)('PATCH', `/api/v1/agencies/${agency.id}`, { nickname: 'x' }), 400, 'invalid_input', 'nickname');
    const set = await w.as(owner.token)('PATCH', `/api/v1/agencies/${agency.id}`, { require_second_factor: true });
    assert.equal(set.status, 200, set.text);
    assert.equal(set.json.require_second_factor, true);
    const audit = w.sql(`SELECT details FROM audit_log WHERE agency_id = '${agency.id}' AND action = 'agency.updated'`);
    assert.deepEqual(JSON.parse(audit), { require_second_factor: true });

    // The member's session (and the owner's) can now only read /me, enrol and sign out.
    const body = await me(member.token);
    assert.equal(body.status, 200);
    assert.equal(body.json.second_factor_required, true);
    assert.equal(body.json.second_factor, false);
    assertProblem(await w.as(member.token)('GET', `/api/v1/agencies/${agency.id}`), 403, 'second_factor_required');
    assertProblem(await w.as(member.token)('GET', '/api/v1/me/sessions'), 403, 'second_factor_required');
    assertProblem(await w.as(member.token)('PATCH', '/api/v1/me', { first_name: 'M' }), 403, 'second_factor_required');
    assertProblem(await w.as(owner.token)('GET', `/api/v1/agencies/${agency.id}/users`), 403, 'second_factor_required');
    // A new sign-in with the password is held back the same way.
    const fresh = await passwordStep(member.email);
    assert.equal(fresh.status, 201, fresh.text);
    w.secrets.add(fresh.json.token);
    assertProblem(await w.as(fresh.json.token)('GET', '/api/v1/agencies'), 403, 'second_factor_required');
    // The platform admin is not a member here: not concerned.
    assert.equal((await w.as(admin)('GET', `/api/v1/agencies/${agency.id}/users`)).status, 200);

    // The owner enrols and is free again; the members list shows who has a factor.
    const e = await enrol(owner.token);
    assert.equal(e.status, 200, e.text);
    const c = await confirm(owner.token, totp(e.json.secret, await steadyStep()));
    assert.equal(c.status, 200, c.text);
    for (const code of c.json.recovery_codes) w.secrets.add(code);
    assert.equal((await me(owner.token)).json.second_factor_required, false);
    const members = await w.as(owner.token)('GET', `/api/v1/agencies/${agency.id}/users`);
    assert.equal(members.status, 200, members.text);
    const byId = Object.fromEntries(members.json.items.map((m) => [m.id, m.second_factor]));
    assert.deepEqual(byId, { [owner.id]: true, [member.id]: false });
    // The member signs out; a platform admin who joins the agency is held back too.
    assert.equal((await w.as(fresh.json.token)('DELETE', '/api/v1/sessions/current')).status, 204);
    const inv = await w.invite(owner.token, agency.id, { email: ADMIN_EMAIL, grants: [{ roles: ['analyst'] }], send_email: false });
    assert.equal(inv.status, 201, inv.text);
    const joined = await w.as(admin)('POST', `/api/v1/me/invitations/${inv.json.id}/accept`, {});
    assert.ok(joined.status === 200 || joined.status === 201, joined.text);
    assertProblem(await w.as(admin)('GET', '/api/v1/users'), 403, 'second_factor_required');
    assert.equal((await me(admin)).json.second_factor_required, true);
    // Lifting the policy frees the member.
    assert.equal((await w.as(owner.token)('PATCH', `/api/v1/agencies/${agency.id}`, { require_second_factor: false })).status, 200);
    assert.equal((await w.as(member.token)('GET', '/api/v1/me/sessions')).status, 200);
    assert.equal((await me(member.token)).json.second_factor_required, false);
    assert.equal((await w.as(admin)('GET', '/api/v1/users')).status, 200);
  });

  it('refuses API tokens, unknown fields and a missing enrolment', async () => {
    const email = 'fields@acme.example';
    w.addUser(email);
    const token = await w.signIn(email);
    assertProblem(await confirm(token, '123456'), 409, 'no_enrolment');
    assertProblem(await w.as(token)('POST', '/api/v1/me/totp', { current_password: PASSWORD, extra: 1 }), 400, 'invalid_input');
    assertProblem(await w.as(token)('DELETE', '/api/v1/me/totp', { current_password: PASSWORD, code: '123456' }), 409, 'second_factor_off');
    const agency = await w.agencyNew(admin, 'Token agency');
    const tok = await w.as(admin)('POST', `/api/v1/agencies/${agency.id}/tokens`, { name: 'inbox' });
    assert.equal(tok.status, 201, tok.text);
    w.secrets.add(tok.json.token);
    assertProblem(await w.as(tok.json.token)('POST', '/api/v1/me/totp', { current_password: PASSWORD }), 403, 'forbidden');
    assert.equal((await w.as()('POST', '/api/v1/me/totp', { current_password: PASSWORD })).status, 401);
  });
});
