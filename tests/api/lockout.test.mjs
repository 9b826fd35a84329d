// Strangers cannot lock a person out (SECURITY 38, 13), through the real binary: the device
// cookie a sign-in sets, a device that signs in while strangers' failures have shut the
// account to everyone else, a device locked only by its own failures, concurrent failures that
// never run more password hashes than the limit, the platform admin, and cookies that are
// forged or belong to another account. Each test guesses from its own loopback addresses
// (127.0.0.0/8 all reaches the server), so the per-address windows of one test do not leak
// into the next.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { request, startUsher } from './lib/harness.mjs';

const ADMIN_EMAIL = 'owner@lockout.example';
const PASSWORD = 'canary-lockout-password-4d2a';
const WRONG = 'canary-lockout-wrong-guess-0b7e';
const LIMIT_PER_ADDRESS = 10; // untrusted failures per account from one address
const LIMIT_PER_ACCOUNT = 20; // untrusted failures per account from every address
const LIMIT_PER_DEVICE = 10;
const DEVICE_VALUE = /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/;

function assertProblem(res, status, code) {
  assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status}: ${res.text}`);
  assert.match(res.headers['content-type'] || '', /^application\/problem\+json/);
  assert.equal(res.json.code, code, `code of ${res.text}`);
}

function parseSetCookie(header) {
  const [pair, ...attrs] = header.split(';').map((s) => s.trim());
  const eq = pair.indexOf('=');
  return { name: pair.slice(0, eq), value: pair.slice(eq + 1), attrs };
}

// POST /api/v1/sessions from a chosen loopback address, with an optional Cookie header.
function signIn(usher, { email, password, from = '127.0.0.1', cookie }) {
  // The harness remembers every token and cookie it sees: they must stay out of the server's
  // log and audit rows.
  return request('127.0.0.1', usher.port, 'POST', '/api/v1/sessions', {
    body: { email, password }, headers: cookie ? { Cookie: cookie } : {}, localAddress: from,
  });
}

// The device cookie a successful sign-in set, as "name=value" for a Cookie header.
function deviceCookieOf(res, name = '__Host-usher_device') {
  assert.equal(res.status, 201, res.text);
  const c = (res.headers['set-cookie'] || []).map(parseSetCookie).find((x) => x.name === name);
  assert.ok(c, `no ${name} cookie in ${JSON.stringify(res.headers['set-cookie'])}`);
  assert.match(c.value, DEVICE_VALUE);
  return `${c.name}=${c.value}`;
}

async function passwordHashes(usher) {
  const res = await usher.api('GET', '/metrics');
  const line = res.text.split('\n').find((l) => l.startsWith('usher_password_hashes_total '));
  return Number(line.split(' ')[1]);
}

// Wrong guesses one after another; resolves with their statuses.
async function guess(usher, email, from, times, cookie) {
  const statuses = [];
  for (let i = 0; i < times; i++) statuses.push((await signIn(usher, { email, password: WRONG, from, cookie })).status);
  return statuses;
}

// Enough strangers' failures, from the person's own address and from another one, to shut
// every client without a device cookie out of the account.
async function lockUntrusted(usher, email, here, elsewhere) {
  const near = await guess(usher, email, here, LIMIT_PER_ADDRESS);
  const far = await guess(usher, email, elsewhere, LIMIT_PER_ACCOUNT - LIMIT_PER_ADDRESS);
  assert.deepEqual([...near, ...far], Array(LIMIT_PER_ACCOUNT).fill(401));
}

describe('a stranger cannot lock a person out (SECURITY 38)', () => {
  let usher;
  function addUser(email) {
    // The admin's hash is copied: the same password, without a slow hash here.
    usher.sql(`INSERT INTO users (id, email, password_hash, created_at)
       SELECT 'usr_t_${email.replace(/[^a-z0-9]/g, '_')}', '${email}', password_hash, 1
       FROM users WHERE email = '${ADMIN_EMAIL}'`);
  }

  before(async () => {
    usher = await startUsher({
      // A thread per concurrent sign-in, so the concurrency test really is concurrent.
      env: { USHER_ADMIN_EMAIL: ADMIN_EMAIL, USHER_ADMIN_PASSWORD: PASSWORD, USHER_THREADS: '48' },
    });
    for (const name of ['ann', 'ben', 'cat', 'dora', 'eve', 'finn']) addUser(`${name}@lockout.example`);
  });
  after(async () => {
    if (usher) assert.equal(await usher.stop(), 0);
  });

  it('sets a long-lived HttpOnly, Secure, SameSite=Strict __Host- device cookie at sign-in', async () => {
    const res = await signIn(usher, { email: 'finn@lockout.example', password: PASSWORD, from: '127.0.0.30' });
    assert.equal(res.status, 201, res.text);
    const all = (res.headers['set-cookie'] || []).map(parseSetCookie);
    assert.deepEqual(all.map((c) => c.name), ['__Host-usher_session', '__Host-usher_device']);
    const device = all[1];
    assert.match(device.value, DEVICE_VALUE);
    for (const attr of ['Path=/', 'HttpOnly', 'Secure', 'SameSite=Strict', 'Max-Age=31536000']) {
      assert.ok(device.attrs.includes(attr), `${attr} in ${device.attrs.join('; ')}`);
    }
    assert.ok(!device.attrs.some((a) => a.startsWith('Domain')), '__Host- cookies have no Domain');
    // A new one at every sign-in, and not the session token.
    const again = await signIn(usher, { email: 'finn@lockout.example', password: PASSWORD, from: '127.0.0.30' });
    assert.notEqual(deviceCookieOf(again), `${device.name}=${device.value}`);
    assert.ok(!device.value.includes(res.json.token));
  });

  it('lets a person sign in from their device while a stranger at the same address is locked out (SECURITY 38)', async () => {
    const email = 'ann@lockout.example';
    const device = deviceCookieOf(await signIn(usher, { email, password: PASSWORD, from: '127.0.0.2' }));
    // The stranger guesses from the same address, without the cookie: ten failures, then 429s.
    const statuses = await guess(usher, email, '127.0.0.2', 12);
    assert.deepEqual(statuses, [...Array(LIMIT_PER_ADDRESS).fill(401), 429, 429]);
    const refused = await signIn(usher, { email, password: WRONG, from: '127.0.0.2' });
    assertProblem(refused, 429, 'rate_limited');
    assert.ok(Number(refused.headers['retry-after']) > 0);
    // A client without the cookie is locked out even with the right password...
    assertProblem(await signIn(usher, { email, password: PASSWORD, from: '127.0.0.2' }), 429, 'rate_limited');
    // ...while the person's device signs in at once, and gets a fresh cookie.
    const res = await signIn(usher, { email, password: PASSWORD, from: '127.0.0.2', cookie: device });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.json.user.email, email);
    const renewed = deviceCookieOf(res);
    assert.notEqual(renewed, device);

    // Strangers elsewhere shut every client without a cookie out of the account...
    assert.deepEqual(await guess(usher, email, '127.0.0.3', LIMIT_PER_ACCOUNT - LIMIT_PER_ADDRESS), Array(10).fill(401));
    assertProblem(await signIn(usher, { email, password: PASSWORD, from: '127.0.0.4' }), 429, 'rate_limited');
    // ...and still not the device, with the old cookie or the new one.
    for (const cookie of [device, renewed]) {
      const again = await signIn(usher, { email, password: PASSWORD, from: '127.0.0.2', cookie });
      assert.equal(again.status, 201, again.text);
    }
    // The cookie travels with the device, not the address.
    assert.equal((await signIn(usher, { email, password: PASSWORD, from: '127.0.0.4', cookie: renewed })).status, 201);
  });

  it("locks a device only after its own failures, which never count against the person's other clients", async () => {
    const email = 'ben@lockout.example';
    const device = deviceCookieOf(await signIn(usher, { email, password: PASSWORD, from: '127.0.0.5' }));
    assert.deepEqual(await guess(usher, email, '127.0.0.5', LIMIT_PER_DEVICE, device), Array(LIMIT_PER_DEVICE).fill(401));
    assertProblem(await signIn(usher, { email, password: PASSWORD, from: '127.0.0.5', cookie: device }), 429, 'rate_limited');
    // The same address without the cookie has had no failure.
    const other = await signIn(usher, { email, password: PASSWORD, from: '127.0.0.5' });
    assert.equal(other.status, 201, other.text);
    // A success on a device resets its count: nine failures, a success, nine again.
    const second = deviceCookieOf(other);
    assert.deepEqual(await guess(usher, email, '127.0.0.5', LIMIT_PER_DEVICE - 1, second), Array(LIMIT_PER_DEVICE - 1).fill(401));
    assert.equal((await signIn(usher, { email, password: PASSWORD, from: '127.0.0.5', cookie: second })).status, 201);
    assert.deepEqual(await guess(usher, email, '127.0.0.5', LIMIT_PER_DEVICE - 1, second), Array(LIMIT_PER_DEVICE - 1).fill(401));
    assert.equal((await signIn(usher, { email, password: PASSWORD, from: '127.0.0.5', cookie: second })).status, 201);
  });

  it('runs at most ten password hashes for forty concurrent wrong guesses (SECURITY 38)', async () => {
    const email = 'cat@lockout.example';
    const device = deviceCookieOf(await signIn(usher, { email, password: PASSWORD, from: '127.0.0.6' }));
    for (const cookie of [undefined, device]) {
      const before = await passwordHashes(usher);
      const answers = await Promise.all(Array.from({ length: 40 }, () =>
        signIn(usher, { email, password: WRONG, from: '127.0.0.6', cookie })));
      const ran = (await passwordHashes(usher)) - before;
      const by = {};
      for (const r of answers) by[r.status] = (by[r.status] || 0) + 1;
      const label = cookie ? 'from the device' : 'without a cookie';
      assert.ok(ran >= 1 && ran <= LIMIT_PER_ADDRESS, `${ran} password hashes ${label}: ${JSON.stringify(by)}`);
      assert.equal(by[401], ran, `one hash per failure ${label}: ${JSON.stringify(by)}`);
      assert.equal(by[401] + by[429], 40, `answers ${label}: ${JSON.stringify(by)}`);
      for (const r of answers.filter((a) => a.status === 429)) {
        assert.equal(r.json.code, 'rate_limited');
        assert.ok(Number(r.headers['retry-after']) >= 1);
      }
    }
  });

  it('keeps the platform admin able to sign in from their device (SECURITY 38)', async () => {
    const device = deviceCookieOf(await signIn(usher, { email: ADMIN_EMAIL, password: PASSWORD, from: '127.0.0.7' }));
    await lockUntrusted(usher, ADMIN_EMAIL, '127.0.0.7', '127.0.0.8');
    assertProblem(await signIn(usher, { email: ADMIN_EMAIL, password: PASSWORD, from: '127.0.0.9' }), 429, 'rate_limited');
    const res = await signIn(usher, { email: ADMIN_EMAIL, password: PASSWORD, from: '127.0.0.7', cookie: device });
    assert.equal(res.status, 201, res.text);
    const me = await usher.api('GET', '/api/v1/me', { token: res.json.token });
    assert.equal(me.status, 200);
    assert.equal(me.json.user.email, ADMIN_EMAIL);
    assert.equal(me.json.is_platform_admin, true);
  });

  it('gives no help to a forged device cookie or one issued for another account (SECURITY 38)', async () => {
    const dora = deviceCookieOf(await signIn(usher, { email: 'dora@lockout.example', password: PASSWORD, from: '127.0.0.10' }));
    const eve = deviceCookieOf(await signIn(usher, { email: 'eve@lockout.example', password: PASSWORD, from: '127.0.0.10' }));
    await lockUntrusted(usher, 'dora@lockout.example', '127.0.0.10', '127.0.0.11');
    const [name, value] = dora.split('=');
    const [nonce, mac] = value.split('.');
    const flipped = `${mac.slice(0, 5)}${mac[5] === 'A' ? 'B' : 'A'}${mac.slice(6)}`;
    const eveMac = eve.split('=')[1].split('.')[1];
    const eveNonce = eve.split('=')[1].split('.')[0];
    const bad = {
      "another account's cookie": eve,
      'a forged MAC': `${name}=${nonce}.${flipped}`,
      "the nonce with another account's MAC": `${name}=${nonce}.${eveMac}`,
      "another account's nonce with this MAC": `${name}=${eveNonce}.${mac}`,
      'the value under another name': `usher_device=${value}`,
      'a truncated value': `${name}=${value.slice(0, -1)}`,
    };
    for (const [what, cookie] of Object.entries(bad)) {
      const res = await signIn(usher, { email: 'dora@lockout.example', password: PASSWORD, from: '127.0.0.10', cookie });
      assert.equal(res.status, 429, `${what}: ${res.status} ${res.text}`);
    }
    // Eve's own cookie is good for Eve, and Dora's for Dora.
    assert.equal((await signIn(usher, { email: 'eve@lockout.example', password: PASSWORD, from: '127.0.0.10', cookie: eve })).status, 201);
    assert.equal((await signIn(usher, { email: 'dora@lockout.example', password: PASSWORD, from: '127.0.0.10', cookie: dora })).status, 201);
  });

  it('answers an unknown email like a wrong password, whatever cookie comes with it (SECURITY 12)', async () => {
    const device = deviceCookieOf(await signIn(usher, { email: 'finn@lockout.example', password: PASSWORD, from: '127.0.0.12' }));
    const wrong = await signIn(usher, { email: 'finn@lockout.example', password: WRONG, from: '127.0.0.12', cookie: device });
    const unknown = await signIn(usher, { email: 'nobody@lockout.example', password: WRONG, from: '127.0.0.12', cookie: device });
    for (const res of [wrong, unknown]) assertProblem(res, 401, 'invalid_credentials');
    const strip = ({ request_id: _, ...rest }) => rest;
    assert.deepEqual(strip(unknown.json), strip(wrong.json));
    assert.equal(unknown.headers['set-cookie'], undefined);
    assert.equal(wrong.headers['set-cookie'], undefined);
  });
});

describe('the device cookie over plain HTTP (USHER_COOKIE_SECURE=off)', () => {
  let usher;
  before(async () => {
    usher = await startUsher({
      env: { USHER_ADMIN_EMAIL: ADMIN_EMAIL, USHER_ADMIN_PASSWORD: PASSWORD, USHER_COOKIE_SECURE: 'off' },
    });
  });
  after(async () => {
    if (usher) assert.equal(await usher.stop(), 0);
  });

  it('names it usher_device without Secure, and reads it under that name only', async () => {
    const res = await signIn(usher, { email: ADMIN_EMAIL, password: PASSWORD, from: '127.0.0.20' });
    const device = deviceCookieOf(res, 'usher_device');
    const attrs = parseSetCookie(res.headers['set-cookie'].find((c) => c.startsWith('usher_device='))).attrs;
    assert.ok(!attrs.includes('Secure'));
    assert.ok(attrs.includes('HttpOnly') && attrs.includes('SameSite=Strict'));
    await lockUntrusted(usher, ADMIN_EMAIL, '127.0.0.20', '127.0.0.21');
    const value = device.split('=')[1];
    assertProblem(await signIn(usher, { email: ADMIN_EMAIL, password: PASSWORD, from: '127.0.0.20', cookie: `__Host-usher_device=${value}` }), 429, 'rate_limited');
    assert.equal((await signIn(usher, { email: ADMIN_EMAIL, password: PASSWORD, from: '127.0.0.20', cookie: device })).status, 201);
  });
});
