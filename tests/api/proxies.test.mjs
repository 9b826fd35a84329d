// The client's address behind a trusted load balancer, through the real binary: with
// USHER_TRUSTED_PROXIES naming the peer, X-Forwarded-For names the client for the sign-in
// throttle's per-address windows (SECURITY 13, 38), the request log and the audit rows; a
// client's own entries left of the proxy's cannot move it; a peer not in the list, or a
// server without the setting, is judged by its TCP address whatever the header says; and a
// bad list stops the server with exit status 2.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';

import { request, runUsher, startUsher, tempDir } from './lib/harness.mjs';

const ADMIN_EMAIL = 'owner@proxies.example';
const PASSWORD = 'canary-proxies-password-61c9';
const WRONG = 'canary-proxies-wrong-guess-3e0b';
const LIMIT_PER_ACCOUNT_ADDRESS = 10; // untrusted failures per account from one address
const LIMIT_PER_ADDRESS = 50; // untrusted failures from one address, across accounts

// POST /api/v1/sessions from a loopback address, with X-Forwarded-For when xff is given (an
// array sends one header line per element). Resolves {status, headers, json, requestId}.
function signIn(usher, { email, password = WRONG, from = '127.0.0.1', xff }) {
  const headers = xff === undefined ? {} : { 'X-Forwarded-For': xff };
  return request('127.0.0.1', usher.port, 'POST', '/api/v1/sessions', {
    body: { email, password }, headers, localAddress: from,
  }).then((res) => ({ ...res, requestId: res.headers['x-request-id'] }));
}

// GET /healthz with the given X-Forwarded-For, from a loopback address; resolves the log line
// of that request.
function probe(usher, xff, from = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const headers = xff === undefined ? {} : { 'X-Forwarded-For': xff };
    const req = http.request({
      host: '127.0.0.1', port: usher.port, path: '/healthz', method: 'GET', localAddress: from, headers, agent: false,
    }, (res) => {
      res.resume();
      res.on('end', () => {
        const id = res.headers['x-request-id'];
        usher.waitForLog('http.request', (l) => l.request_id === id, 5000).then(resolve, reject);
      });
    });
    req.on('error', reject);
    req.end();
  });
}

async function statusesOf(usher, attempts) {
  const statuses = [];
  for (const a of attempts) statuses.push((await signIn(usher, a)).status);
  return statuses;
}

function auditSources(usher, action) {
  const out = usher.sql(`SELECT DISTINCT source_ip FROM audit_log WHERE action = '${action}' ORDER BY 1`);
  return out.split('\n').filter((l) => l.length > 0);
}

describe('behind a trusted proxy (USHER_TRUSTED_PROXIES=127.0.0.1)', () => {
  let usher;
  before(async () => {
    usher = await startUsher({
      env: { USHER_ADMIN_EMAIL: ADMIN_EMAIL, USHER_ADMIN_PASSWORD: PASSWORD, USHER_TRUSTED_PROXIES: '127.0.0.1' },
    });
  });
  after(async () => {
    if (usher) assert.equal(await usher.stop(), 0);
  });

  it('throttles one account per forwarded client: one client\'s window fills, another client\'s is untouched (SECURITY 38)', async () => {
    const email = 'ann@proxies.example';
    const first = await statusesOf(usher, Array(LIMIT_PER_ACCOUNT_ADDRESS + 1).fill({ email, xff: '198.51.100.10' }));
    assert.deepEqual(first, [...Array(LIMIT_PER_ACCOUNT_ADDRESS).fill(401), 429]);
    // Another client behind the same proxy has had no failure on this account.
    const other = await signIn(usher, { email, xff: '198.51.100.20' });
    assert.equal(other.status, 401, other.text);
    // The throttled attempt is logged with the client's address.
    const throttled = usher.findLogs('account.sign_in_throttled');
    assert.ok(throttled.length >= 1);
    assert.ok(throttled.every((l) => l.remote === '198.51.100.10'), JSON.stringify(throttled));
  });

  it('fills the per-address window across accounts for one forwarded client only (SECURITY 13)', async () => {
    const spray = [];
    for (let i = 0; i < LIMIT_PER_ADDRESS; i++) spray.push({ email: `spray${i}@proxies.example`, xff: '203.0.113.50' });
    assert.deepEqual(await statusesOf(usher, spray), Array(LIMIT_PER_ADDRESS).fill(401));
    const more = await signIn(usher, { email: 'spray-next@proxies.example', xff: '203.0.113.50' });
    assert.equal(more.status, 429, more.text);
    assert.equal(more.json.code, 'rate_limited');
    // The same new account from another client, and the admin's own sign-in, go through.
    const other = await signIn(usher, { email: 'spray-next@proxies.example', xff: '203.0.113.51' });
    assert.equal(other.status, 401, other.text);
    const admin = await signIn(usher, { email: ADMIN_EMAIL, password: PASSWORD, xff: '203.0.113.52' });
    assert.equal(admin.status, 201, admin.text);
  });

  it('logs the forwarded client as remote and the proxy as peer, and audits the client', async () => {
    const line = await probe(usher, '192.0.2.44');
    assert.equal(line.remote, '192.0.2.44');
    assert.equal(line.peer, '127.0.0.1');
    const v6 = await probe(usher, '2001:DB8:0::9');
    assert.equal(v6.remote, '2001:db8::9');
    // The sign-ins above were audited with their clients' addresses, never the proxy's.
    const failed = auditSources(usher, 'session.failed');
    assert.ok(failed.includes('198.51.100.10') && failed.includes('203.0.113.50'), failed.join(','));
    assert.ok(!failed.includes('127.0.0.1'), failed.join(','));
    assert.deepEqual(auditSources(usher, 'session.created'), ['203.0.113.52']);
  });

  it('takes the rightmost untrusted entry of a chain the client extended ("evil, real")', async () => {
    assert.equal((await probe(usher, '203.0.113.66, 198.51.100.77')).remote, '198.51.100.77');
    // Trusted hops at the right are skipped; several header lines are one list.
    assert.equal((await probe(usher, '203.0.113.66, 198.51.100.78, 127.0.0.1')).remote, '198.51.100.78');
    assert.equal((await probe(usher, ['203.0.113.66', '198.51.100.79'])).remote, '198.51.100.79');
    // The client's entry left of a bad one is never believed; the peer stands.
    const bad = await probe(usher, '203.0.113.66, not-an-address');
    assert.equal(bad.remote, '127.0.0.1');
    assert.equal(bad.peer, undefined);
    assert.equal((await probe(usher, '')).remote, '127.0.0.1');
    assert.equal((await probe(usher, undefined)).remote, '127.0.0.1');
  });

  it('ignores X-Forwarded-For from a peer that is not trusted', async () => {
    const line = await probe(usher, '198.51.100.90', '127.0.0.2');
    assert.equal(line.remote, '127.0.0.2');
    assert.equal(line.peer, undefined);
    // A different forged client on every guess still fills the peer's own window.
    const attempts = [];
    for (let i = 0; i <= LIMIT_PER_ACCOUNT_ADDRESS; i++) {
      attempts.push({ email: 'ben@proxies.example', from: '127.0.0.2', xff: `198.51.100.${100 + i}` });
    }
    assert.deepEqual(await statusesOf(usher, attempts), [...Array(LIMIT_PER_ACCOUNT_ADDRESS).fill(401), 429]);
  });
});

describe('without trusted proxies (the default)', () => {
  let usher;
  before(async () => {
    usher = await startUsher({ env: { USHER_ADMIN_EMAIL: ADMIN_EMAIL, USHER_ADMIN_PASSWORD: PASSWORD } });
  });
  after(async () => {
    if (usher) assert.equal(await usher.stop(), 0);
  });

  it('ignores X-Forwarded-For: the log shows 127.0.0.1 and the throttle counts every forwarded client as one address', async () => {
    const line = await probe(usher, '198.51.100.10');
    assert.equal(line.remote, '127.0.0.1');
    assert.equal(line.peer, undefined);
    const attempts = [];
    for (let i = 0; i <= LIMIT_PER_ACCOUNT_ADDRESS; i++) {
      attempts.push({ email: 'ann@proxies.example', xff: `198.51.100.${10 + i}` });
    }
    assert.deepEqual(await statusesOf(usher, attempts), [...Array(LIMIT_PER_ACCOUNT_ADDRESS).fill(401), 429]);
    assert.deepEqual(auditSources(usher, 'session.failed'), ['127.0.0.1']);
  });
});

describe('a bad trusted_proxies value', () => {
  for (const [how, env, args] of [
    ['variable', { USHER_TRUSTED_PROXIES: '10.0.0.0/33' }, []],
    ['flag', {}, ['--trusted-proxies', '127.0.0.1,proxy.example']],
    ['variable with host bits set', { USHER_TRUSTED_PROXIES: '10.0.0.1/8' }, []],
  ]) {
    it(`stops usher serve with exit status 2 naming the setting (${how})`, async () => {
      const r = await runUsher(['serve', '--listen', '127.0.0.1:0', '--data-dir', tempDir(), ...args], { env });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /^usher serve: trusted_proxies entry "[^"]+" /m);
    });
  }

  it('is listed by usher serve --help', async () => {
    const r = await runUsher(['serve', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /--trusted-proxies\s+USHER_TRUSTED_PROXIES/);
  });
});
