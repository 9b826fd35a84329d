// Accounts, sign-in, sessions and request authentication through the real binary: the
// bootstrap admin, POST/DELETE /api/v1/sessions, GET /api/v1/me, Bearer tokens and the
// session cookie with its CSRF token, answers that do not reveal whether an email exists,
// throttling, timeouts, `usher admin-create`, what lands in the database and what never
// lands in the log.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import { runUsher, startUsher, tempDir } from './lib/harness.mjs';

const ADMIN_EMAIL = 'root@example.com';
const ADMIN_PASSWORD = 'canary-admin-password-7f3e';
const WRONG_PASSWORD = 'canary-wrong-password-91ab';
const SESSION_PATH = '/api/v1/sessions';

// Every secret a test handles, so the log can be searched for them at the end.
const secrets = new Set([ADMIN_PASSWORD, WRONG_PASSWORD]);

function assertProblem(res, status, code, field) {
  assert.equal(res.status, status, `status of ${res.text}`);
  assert.match(res.headers['content-type'] || '', /^application\/problem\+json/);
  assert.equal(res.json.code, code, `code of ${res.text}`);
  if (field !== undefined) assert.equal(res.json.field, field, `field of ${res.text}`);
}

// The cookie pair "name=value" and its attributes from one Set-Cookie header.
function parseSetCookie(header) {
  const [pair, ...attrs] = header.split(';').map((s) => s.trim());
  const eq = pair.indexOf('=');
  return { name: pair.slice(0, eq), value: pair.slice(eq + 1), attrs };
}

// The session cookie a sign-in sets (the device cookie beside it is tested in lockout.test.mjs).
function setCookieOf(res) {
  const all = (res.headers['set-cookie'] || []).map(parseSetCookie);
  const sessions = all.filter((c) => /usher_session$/.test(c.name));
  assert.equal(sessions.length, 1, 'one session cookie');
  return sessions[0];
}

async function signIn(usher, email, password, opts = {}) {
  const res = await usher.api('POST', SESSION_PATH, { body: { email, password }, ...opts });
  if (res.json && res.json.token) secrets.add(res.json.token);
  return res;
}

function withoutRequestId(body) {
  const copy = { ...body };
  delete copy.request_id;
  return copy;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

// Nothing secret may reach the log: passwords, tokens, cookies.
function assertNoSecretsLogged(usher) {
  const text = usher.logs.map((l) => JSON.stringify(l)).join('\n') + usher.stderr.join('\n');
  for (const s of secrets) assert.ok(!text.includes(s), 'a secret appeared in the log');
}

describe('sessions with the bootstrap admin', () => {
  let usher;
  before(async () => {
    usher = await startUsher({
      env: { USHER_ADMIN_EMAIL: ' Root@Example.com ', USHER_ADMIN_PASSWORD: ADMIN_PASSWORD },
    });
  });
  after(async () => {
    if (!usher) return;
    assertNoSecretsLogged(usher);
    assert.equal(await usher.stop(), 0);
  });

  it('creates the admin at start and logs it without the password', async () => {
    const line = usher.findLogs('account.admin_bootstrapped')[0];
    assert.ok(line, 'account.admin_bootstrapped is logged');
    assert.equal(line.email, ADMIN_EMAIL);
    assert.match(line.user_id, /^usr_/);
  });

  it('signs in and answers 201 with token, csrf_token, expires_at and the user', async () => {
    const res = await signIn(usher, 'ROOT@example.com', ADMIN_PASSWORD);
    assert.equal(res.status, 201, res.text);
    assert.match(res.json.token, /^[A-Za-z0-9_-]{43}$/);
    assert.match(res.json.csrf_token, /^[0-9a-f]{64}$/);
    assert.match(res.json.expires_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const expires = Date.parse(res.json.expires_at);
    assert.ok(Math.abs(expires - (Date.now() + 86400 * 1000)) < 60 * 1000, 'absolute timeout is 24 h');
    const u = res.json.user;
    assert.deepEqual(Object.keys(u).sort(), [
      'created_at', 'email', 'first_name', 'id', 'last_active_at', 'last_name', 'status',
    ]);
    assert.equal(u.email, ADMIN_EMAIL);
    assert.equal(u.status, 'active');
    assert.match(u.id, /^usr_/);
    assert.ok(Date.parse(u.created_at) > 0);
    assert.ok(Date.parse(u.last_active_at) > 0);
    assert.equal(res.headers['cache-control'], 'no-store');
  });

  it('sets an HttpOnly, Secure, SameSite=Lax __Host- cookie carrying the token', async () => {
    const res = await signIn(usher, ADMIN_EMAIL, ADMIN_PASSWORD);
    assert.equal(res.status, 201);
    const c = setCookieOf(res);
    assert.equal(c.name, '__Host-usher_session');
    assert.equal(c.value, res.json.token);
    assert.ok(c.attrs.includes('Path=/'));
    assert.ok(c.attrs.includes('HttpOnly'));
    assert.ok(c.attrs.includes('Secure'));
    assert.ok(c.attrs.includes('SameSite=Lax'));
    assert.ok(c.attrs.includes('Max-Age=86400'));
    assert.ok(!c.attrs.some((a) => a.startsWith('Domain')), '__Host- cookies have no Domain');
  });

  it('makes a new token at every sign-in', async () => {
    const a = await signIn(usher, ADMIN_EMAIL, ADMIN_PASSWORD);
    const b = await signIn(usher, ADMIN_EMAIL, ADMIN_PASSWORD);
    assert.notEqual(a.json.token, b.json.token);
    assert.notEqual(a.json.csrf_token, b.json.csrf_token);
  });

  it('serves GET /me to a Bearer token', async () => {
    const { json } = await signIn(usher, ADMIN_EMAIL, ADMIN_PASSWORD);
    const res = await usher.api('GET', '/api/v1/me', { token: json.token });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.equal(res.json.user.email, ADMIN_EMAIL);
    assert.equal(res.json.user.id, json.user.id);
    assert.equal(res.json.is_platform_admin, true);
    assert.deepEqual(res.json.agencies, []);
    assert.deepEqual(res.json.pending_invitations, []);
    assert.equal(res.json.csrf_token, undefined, 'a Bearer client needs no CSRF token');
  });

  it('serves GET /me to the session cookie without a CSRF token, and hands the token back', async () => {
    const { json } = await signIn(usher, ADMIN_EMAIL, ADMIN_PASSWORD);
    const res = await usher.api('GET', '/api/v1/me', {
      headers: { Cookie: `__Host-usher_session=${json.token}` },
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.user.email, ADMIN_EMAIL);
    assert.equal(res.json.csrf_token, json.csrf_token);
  });

  it('answers GET /me without credentials with 401 unauthenticated', async () => {
    assertProblem(await usher.api('GET', '/api/v1/me'), 401, 'unauthenticated');
  });

  it('treats a forged or malformed token as no sign-in at all', async () => {
    const forged = randomBytes(32).toString('base64url');
    assertProblem(await usher.api('GET', '/api/v1/me', { token: forged }), 401, 'unauthenticated');
    assertProblem(
      await usher.api('GET', '/api/v1/me', { headers: { Cookie: `__Host-usher_session=${forged}` } }),
      401,
      'unauthenticated',
    );
    // A public route still works for a caller with a stale token.
    assert.equal((await usher.api('GET', '/healthz', { token: forged })).status, 200);
    for (const value of ['Basic cm9vdDpwdw==', 'Bearer', 'Bearer ', 'Bearer a b', 'Bearer <x>', 'token']) {
      const res = await usher.api('GET', '/api/v1/me', { headers: { Authorization: value } });
      assertProblem(res, 401, 'unauthenticated');
    }
  });

  it('gives the same status and body for a wrong password and an unknown email, in similar time', async () => {
    const wrong = [];
    const unknown = [];
    let wrongBody;
    let unknownBody;
    for (let i = 0; i < 4; i++) {
      let t = process.hrtime.bigint();
      const a = await signIn(usher, ADMIN_EMAIL, WRONG_PASSWORD);
      wrong.push(Number(process.hrtime.bigint() - t));
      t = process.hrtime.bigint();
      const b = await signIn(usher, `nobody${i}@example.com`, WRONG_PASSWORD);
      unknown.push(Number(process.hrtime.bigint() - t));
      assertProblem(a, 401, 'invalid_credentials');
      assertProblem(b, 401, 'invalid_credentials');
      assert.equal(a.headers['content-type'], b.headers['content-type']);
      wrongBody = withoutRequestId(a.json);
      unknownBody = withoutRequestId(b.json);
      assert.deepEqual(wrongBody, unknownBody);
      assert.notEqual(a.json.request_id, b.json.request_id);
    }
    assert.equal(wrongBody.field, undefined);
    const ratio = median(wrong) / median(unknown);
    assert.ok(ratio > 1 / 3 && ratio < 3, `wrong password ${median(wrong)} ns vs unknown email ${median(unknown)} ns`);
    // The admin can still sign in: four failures are well under the limit.
    assert.equal((await signIn(usher, ADMIN_EMAIL, ADMIN_PASSWORD)).status, 201);
  });

  it('refuses malformed bodies with 400 naming the field', async () => {
    const post = (opts) => usher.api('POST', SESSION_PATH, opts);
    assertProblem(await post({ raw: '{"email": "a@example.com",', headers: { 'Content-Type': 'application/json' } }), 400, 'invalid_input');
    assertProblem(await post({ raw: '', headers: { 'Content-Type': 'application/json' } }), 400, 'invalid_input');
    assertProblem(await post({ body: ['email', 'password'] }), 400, 'invalid_input');
    assertProblem(await post({ raw: 'email=a&password=b', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } }), 400, 'invalid_input');
    assertProblem(await post({ body: { email: 5, password: ADMIN_PASSWORD } }), 400, 'invalid_input', 'email');
    assertProblem(await post({ body: { email: [ADMIN_EMAIL], password: ADMIN_PASSWORD } }), 400, 'invalid_input', 'email');
    assertProblem(await post({ body: { email: ADMIN_EMAIL, password: true } }), 400, 'invalid_input', 'password');
    assertProblem(await post({ body: { email: ADMIN_EMAIL, password: null } }), 400, 'invalid_input', 'password');
    assertProblem(await post({ body: { password: ADMIN_PASSWORD } }), 400, 'invalid_input', 'email');
    assertProblem(await post({ body: { email: ADMIN_EMAIL } }), 400, 'invalid_input', 'password');
    assertProblem(await post({ body: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD, role: 'owner' } }), 400, 'invalid_input', 'role');
    assertProblem(await post({ body: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD, is_admin: true } }), 400, 'invalid_input', 'is_admin');
    assertProblem(await post({ raw: `{"email":"${ADMIN_EMAIL}","email":"x@example.com","password":"${ADMIN_PASSWORD}"}`, headers: { 'Content-Type': 'application/json' } }), 400, 'invalid_input');
    assertProblem(await post({ body: { email: 'not-an-address', password: ADMIN_PASSWORD } }), 400, 'invalid_input', 'email');
    assertProblem(await post({ body: { email: `${ADMIN_EMAIL}, x@example.com`, password: ADMIN_PASSWORD } }), 400, 'invalid_input', 'email');
  });

  it('refuses passwords shorter than 8 or longer than 1024 bytes', async () => {
    const post = (password) => usher.api('POST', SESSION_PATH, { body: { email: ADMIN_EMAIL, password } });
    assertProblem(await post('1234567'), 400, 'invalid_input', 'password');
    assertProblem(await post(''), 400, 'invalid_input', 'password');
    assertProblem(await post('x'.repeat(1025)), 400, 'invalid_input', 'password');
    assertProblem(await post('é'.repeat(513)), 400, 'invalid_input', 'password'); // 1026 bytes
    // The bounds themselves are accepted input (and simply wrong here).
    assertProblem(await post('12345678'), 401, 'invalid_credentials');
    assertProblem(await post('x'.repeat(1024)), 401, 'invalid_credentials');
  });

  it('signs out a Bearer session on the server', async () => {
    const { json } = await signIn(usher, ADMIN_EMAIL, ADMIN_PASSWORD);
    assert.equal((await usher.api('GET', '/api/v1/me', { token: json.token })).status, 200);
    const res = await usher.api('DELETE', '/api/v1/sessions/current', { token: json.token });
    assert.equal(res.status, 204, res.text);
    const c = setCookieOf(res);
    assert.equal(c.name, '__Host-usher_session');
    assert.equal(c.value, '');
    assert.ok(c.attrs.includes('Max-Age=0'));
    assertProblem(await usher.api('GET', '/api/v1/me', { token: json.token }), 401, 'unauthenticated');
    assertProblem(await usher.api('DELETE', '/api/v1/sessions/current', { token: json.token }), 401, 'unauthenticated');
  });

  it('requires X-CSRF-Token on a cookie-authenticated DELETE', async () => {
    const { json } = await signIn(usher, ADMIN_EMAIL, ADMIN_PASSWORD);
    const other = await signIn(usher, ADMIN_EMAIL, ADMIN_PASSWORD);
    const cookie = `__Host-usher_session=${json.token}`;
    const del = (headers) => usher.api('DELETE', '/api/v1/sessions/current', { headers: { Cookie: cookie, ...headers } });
    assertProblem(await del({}), 403, 'csrf_failed');
    assertProblem(await del({ 'X-CSRF-Token': 'f'.repeat(64) }), 403, 'csrf_failed');
    assertProblem(await del({ 'X-CSRF-Token': other.json.csrf_token }), 403, 'csrf_failed');
    assertProblem(await del({ 'X-CSRF-Token': '' }), 403, 'csrf_failed');
    // Refused requests changed nothing.
    assert.equal((await usher.api('GET', '/api/v1/me', { headers: { Cookie: cookie } })).status, 200);
    const res = await del({ 'X-CSRF-Token': json.csrf_token });
    assert.equal(res.status, 204, res.text);
    assertProblem(await usher.api('GET', '/api/v1/me', { headers: { Cookie: cookie } }), 401, 'unauthenticated');
    // The other session is untouched.
    assert.equal((await usher.api('GET', '/api/v1/me', { token: other.json.token })).status, 200);
  });

  it('ends the session a browser carried when it signs in again', async () => {
    const first = await signIn(usher, ADMIN_EMAIL, ADMIN_PASSWORD);
    const cookie = `__Host-usher_session=${first.json.token}`;
    const second = await signIn(usher, ADMIN_EMAIL, ADMIN_PASSWORD, {
      headers: { Cookie: cookie, 'X-CSRF-Token': first.json.csrf_token },
    });
    assert.equal(second.status, 201, second.text);
    assert.notEqual(second.json.token, first.json.token);
    assertProblem(await usher.api('GET', '/api/v1/me', { token: first.json.token }), 401, 'unauthenticated');
    assert.equal((await usher.api('GET', '/api/v1/me', { token: second.json.token })).status, 200);
  });

  it('stores an argon2id hash with m=19 MiB, t=2, p=1 and no token in the database', async () => {
    const hash = usher.sql(`SELECT password_hash FROM users WHERE email = '${ADMIN_EMAIL}'`).trim();
    assert.ok(hash.startsWith('$argon2id$v=19$m=19456,t=2,p=1$'), hash);
    const dump = usher.snapshot();
    for (const s of secrets) assert.ok(!dump.includes(s), 'a password or token is in the database');
    assert.match(usher.sql('SELECT COUNT(*) FROM sessions').trim(), /^[1-9]\d*$/);
  });

  it('records sign-ins, failures and sign-outs in the audit log at platform level', async () => {
    // Addresses sit in the entries' personal rows (audit_personal), apart from their details.
    const rows = usher.sql(`SELECT action || '|' || COALESCE(agency_id, '-') || '|' || details || '|' ||
                              COALESCE((SELECT data FROM audit_personal p WHERE p.entry_id = audit_log.id), '')
                            FROM audit_log`)
      .trim()
      .split('\n');
    const actions = new Set(rows.map((r) => r.split('|')[0]));
    for (const a of ['user.created', 'session.created', 'session.failed', 'session.ended']) {
      assert.ok(actions.has(a), `${a} is audited`);
    }
    assert.ok(rows.every((r) => r.split('|')[1] === '-'), 'platform events have no agency');
    assert.ok(rows.some((r) => r.startsWith('session.failed|-|') && r.includes('nobody0@example.com')));
    assert.ok(!rows.some((r) => r.includes('canary')), 'no password in the audit log');
  });

  it('counts password hashes in /metrics', async () => {
    const res = await usher.api('GET', '/metrics');
    const line = res.text.split('\n').find((l) => l.startsWith('usher_password_hashes_total '));
    assert.ok(Number(line.split(' ')[1]) > 10);
  });
});

describe('the idle timeout, with USHER_COOKIE_SECURE=off', () => {
  let usher;
  before(async () => {
    usher = await startUsher({
      env: {
        USHER_ADMIN_EMAIL: ADMIN_EMAIL,
        USHER_ADMIN_PASSWORD: ADMIN_PASSWORD,
        USHER_SESSION_IDLE_SECONDS: '1',
        USHER_COOKIE_SECURE: 'off',
      },
    });
  });
  after(async () => {
    if (!usher) return;
    assertNoSecretsLogged(usher);
    assert.equal(await usher.stop(), 0);
  });

  it('ends a session left unused longer than USHER_SESSION_IDLE_SECONDS', async () => {
    const { json } = await signIn(usher, ADMIN_EMAIL, ADMIN_PASSWORD);
    assert.equal((await usher.api('GET', '/api/v1/me', { token: json.token })).status, 200);
    await new Promise((r) => setTimeout(r, 2500));
    assertProblem(await usher.api('GET', '/api/v1/me', { token: json.token }), 401, 'unauthenticated');
    // The ended session's row is gone, not just ignored.
    assert.equal(usher.sql('SELECT COUNT(*) FROM sessions').trim(), '0');
  });

  it('names the cookie without the __Host- prefix and without Secure', async () => {
    const res = await signIn(usher, ADMIN_EMAIL, ADMIN_PASSWORD);
    const c = setCookieOf(res);
    assert.equal(c.name, 'usher_session');
    assert.ok(!c.attrs.includes('Secure'));
    assert.ok(c.attrs.includes('HttpOnly') && c.attrs.includes('SameSite=Lax'));
    const me = await usher.api('GET', '/api/v1/me', { headers: { Cookie: `usher_session=${res.json.token}` } });
    assert.equal(me.status, 200);
    // The other name is not read.
    const other = await usher.api('GET', '/api/v1/me', { headers: { Cookie: `__Host-usher_session=${res.json.token}` } });
    assertProblem(other, 401, 'unauthenticated');
  });
});

describe('sign-in throttling', () => {
  let usher;
  before(async () => {
    usher = await startUsher({
      env: { USHER_ADMIN_EMAIL: ADMIN_EMAIL, USHER_ADMIN_PASSWORD: ADMIN_PASSWORD },
    });
  });
  after(async () => {
    if (!usher) return;
    assertNoSecretsLogged(usher);
    assert.equal(await usher.stop(), 0);
  });

  it('answers 429 with Retry-After after ten failures for one account, even to the right password', async () => {
    for (let i = 0; i < 10; i++) {
      assertProblem(await signIn(usher, ADMIN_EMAIL, WRONG_PASSWORD), 401, 'invalid_credentials');
    }
    for (const password of [WRONG_PASSWORD, ADMIN_PASSWORD]) {
      const res = await signIn(usher, ADMIN_EMAIL, password);
      assertProblem(res, 429, 'rate_limited');
      const retry = Number(res.headers['retry-after']);
      assert.ok(Number.isInteger(retry) && retry > 0 && retry <= 900, `Retry-After ${res.headers['retry-after']}`);
    }
  });

  it('throttles an unknown email the same way, so the limit reveals nothing', async () => {
    for (let i = 0; i < 10; i++) {
      assertProblem(await signIn(usher, 'ghost@example.com', WRONG_PASSWORD), 401, 'invalid_credentials');
    }
    assertProblem(await signIn(usher, 'ghost@example.com', WRONG_PASSWORD), 429, 'rate_limited');
  });

  it('throttles an address after fifty failures across accounts', async () => {
    // Twenty failures so far from this address; thirty more on fresh accounts reach fifty.
    for (let i = 0; i < 30; i++) {
      assertProblem(await signIn(usher, `spray${i}@example.com`, WRONG_PASSWORD), 401, 'invalid_credentials');
    }
    const res = await signIn(usher, 'fresh@example.com', WRONG_PASSWORD);
    assertProblem(res, 429, 'rate_limited');
    assert.ok(Number(res.headers['retry-after']) > 0);
    const line = usher.findLogs('account.sign_in_throttled').at(-1);
    assert.ok(line, 'throttling is logged');
  });
});

describe('usher admin-create', () => {
  const dataDir = tempDir();
  const password = 'canary-cli-password-c0ffee';
  secrets.add(password);

  it('prints its usage with --help', async () => {
    const r = await runUsher(['admin-create', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /--email/);
    assert.match(r.stdout, /standard input/);
  });

  it('creates a platform admin with the password from standard input', async () => {
    const r = await runUsher(
      ['admin-create', '--email', 'Ops@Example.com', '--first-name', 'Olga', '--last-name=Berg', '--data-dir', dataDir],
      { input: `${password}\n` },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /ops@example\.com/);
    assert.ok(!r.stdout.includes(password) && !r.stderr.includes(password));
  });

  it('refuses an email that already has an account', async () => {
    const r = await runUsher(['admin-create', '--email', 'ops@example.com', '--data-dir', dataDir], {
      input: `${password}\n`,
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /already exists/);
  });

  it('refuses a missing email, a short password and an empty input', async () => {
    let r = await runUsher(['admin-create', '--data-dir', dataDir], { input: `${password}\n` });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--email/);
    r = await runUsher(['admin-create', '--email', 'short@example.com', '--data-dir', dataDir], { input: 'short\n' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /password/);
    assert.ok(!r.stderr.includes('short\n'));
    r = await runUsher(['admin-create', '--email', 'empty@example.com', '--data-dir', dataDir], { input: '' });
    assert.equal(r.code, 2);
    r = await runUsher(['admin-create', '--email', 'long@example.com', '--data-dir', dataDir], { input: `${'x'.repeat(1025)}\n` });
    assert.equal(r.code, 2);
    r = await runUsher(['admin-create', '--email', 'bad', '--data-dir', dataDir], { input: `${password}\n` });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /email/);
  });

  it('lets that admin sign in, and no bootstrap happens once an admin exists', async () => {
    const usher = await startUsher({
      dataDir,
      env: { USHER_ADMIN_EMAIL: 'late@example.com', USHER_ADMIN_PASSWORD: 'late-bootstrap-pass' },
    });
    secrets.add('late-bootstrap-pass');
    try {
      const res = await signIn(usher, 'ops@example.com', password);
      assert.equal(res.status, 201, res.text);
      const me = await usher.api('GET', '/api/v1/me', { token: res.json.token });
      assert.equal(me.json.is_platform_admin, true);
      assert.equal(me.json.user.first_name, 'Olga');
      assert.equal(me.json.user.last_name, 'Berg');
      assertProblem(await signIn(usher, 'late@example.com', 'late-bootstrap-pass'), 401, 'invalid_credentials');
      assert.equal(usher.findLogs('account.admin_bootstrapped').length, 0);
      assertNoSecretsLogged(usher);
    } finally {
      assert.equal(await usher.stop(), 0);
    }
  });
});

describe('the bootstrap settings', () => {
  it('refuse to start with an unusable admin password, without echoing it', async () => {
    const r = await runUsher(['serve', '--listen', '127.0.0.1:0', '--data-dir', tempDir()], {
      env: { USHER_ADMIN_EMAIL: ADMIN_EMAIL, USHER_ADMIN_PASSWORD: 'tiny-pw' },
    });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /USHER_ADMIN_PASSWORD/);
    assert.ok(!r.stderr.includes('tiny-pw'));
  });
});
