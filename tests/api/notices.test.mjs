// Two instances on one PostgreSQL database: a change committed through one is enforced by the
// other because every write transaction notifies and each instance listens, and an instance
// that lost its listening connection denies every check and answers /readyz with 503 until it
// listens again and has read the change feed to its end. Needs USHER_TEST_PG_URL (the
// throwaway cluster of scripts/test.sh); skipped without it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { startUsher, tempDir } from './lib/harness.mjs';

const PG = process.env.USHER_TEST_PG_URL;
const ADMIN_EMAIL = 'admin@notices.example';
const PASSWORD = 'canary-password-notices-91ab';

function psql(url, text) {
  return execFileSync('psql', ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', url, '-c', text], {
    encoding: 'utf8',
  }).trim();
}

// The same URL naming another database.
function withDatabase(url, name) {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

// Polls fn every millisecond or so until it returns true; resolves the milliseconds it took,
// or rejects after limitMs.
async function until(fn, limitMs, what) {
  const start = performance.now();
  for (;;) {
    if (await fn()) return performance.now() - start;
    if (performance.now() - start > limitMs) throw new Error(`${what}: not within ${limitMs} ms`);
    await sleep(1);
  }
}

describe('change notices between instances on PostgreSQL', { skip: PG ? false : 'USHER_TEST_PG_URL is not set' }, () => {
  const db = `usher_notices_${process.pid}`;
  let url;
  let a;
  let b;
  let adminToken;
  let agency;

  const check = (server, token, environmentId) =>
    server.api('POST', '/api/v1/check', {
      token,
      body: { user_id: agency.adminId, permission: 'inbox.reply', environment_id: environmentId },
    });

  before(async () => {
    psql(PG, `CREATE DATABASE ${db}`);
    url = withDatabase(PG, db);
    const env = { USHER_ADMIN_EMAIL: ADMIN_EMAIL, USHER_ADMIN_PASSWORD: PASSWORD };
    a = await startUsher({ env, args: ['--database', url] });
    // Instances of one deployment share the server secret.
    const dirB = tempDir();
    copyFileSync(path.join(a.dataDir, 'secret'), path.join(dirB, 'secret'));
    b = await startUsher({ dataDir: dirB, args: ['--database', url] });
    const signIn = await a.api('POST', '/api/v1/sessions', { body: { email: ADMIN_EMAIL, password: PASSWORD } });
    assert.equal(signIn.status, 201, signIn.text);
    adminToken = signIn.json.token;
    const me = await a.api('GET', '/api/v1/me', { token: adminToken });
    const made = await a.api('POST', '/api/v1/agencies', { token: adminToken, body: { name: 'Notices' } });
    assert.equal(made.status, 201, made.text);
    agency = { id: made.json.id, adminId: me.json.user.id };
  });

  after(async () => {
    await a?.stop();
    await b?.stop();
    if (PG) psql(PG, `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  });

  it('shows the listening connection in pg_stat_activity, one per instance', () => {
    const n = psql(url, `SELECT count(*) FROM pg_stat_activity WHERE datname = '${db}' AND application_name = 'usher_listener'`);
    assert.equal(n, '2');
  });

  it('enforces a new place and a revoked API token made through one instance on the other', async () => {
    const made = await a.api('POST', '/api/v1/tokens', { token: adminToken, body: { name: 'svc' } });
    assert.equal(made.status, 201, made.text);
    const service = made.json.token;
    const times = [];
    for (let i = 0; i < 5; i++) {
      const env = await a.api('POST', `/api/v1/agencies/${agency.id}/environments`, {
        token: adminToken, body: { name: `Env ${i}` },
      });
      assert.equal(env.status, 201, env.text);
      times.push(await until(async () => (await check(b, service, env.json.id)).json?.allowed === true, 2000, 'new environment on B'));
    }
    const revoked = await a.api('DELETE', `/api/v1/tokens/${made.json.id}`, { token: adminToken });
    assert.equal(revoked.status, 204, revoked.text);
    times.push(await until(async () => (await check(b, service, 'env_none')).status === 401, 2000, 'revoked token on B'));
    process.stdout.write(`# propagation to the other instance (ms): ${times.map((t) => t.toFixed(1)).join(', ')}\n`);
  });

  it('denies checks and is not ready while it cannot listen, and catches up before answering again', async () => {
    const made = await a.api('POST', '/api/v1/tokens', { token: adminToken, body: { name: 'svc2' } });
    const service = made.json.token;
    const first = await a.api('POST', `/api/v1/agencies/${agency.id}/environments`, { token: adminToken, body: { name: 'Before' } });
    await until(async () => (await check(b, service, first.json.id)).json?.allowed === true, 2000, 'B answers');
    assert.equal((await b.api('GET', '/readyz')).status, 200);

    // No new connection to the database is possible, and B's listener is cut: B cannot know
    // what it misses. A keeps its pooled connections and goes on writing.
    psql(PG, `ALTER DATABASE ${db} ALLOW_CONNECTIONS false`);
    try {
      psql(PG, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                WHERE datname = '${db}' AND application_name = 'usher_listener'`);
      await until(async () => (await b.api('GET', '/readyz')).status === 503, 3000, 'B not ready');
      const ready = await b.api('GET', '/readyz');
      assert.equal(ready.json.code, 'not_ready');
      const denied = await check(b, service, first.json.id);
      assert.equal(denied.status, 200);
      assert.equal(denied.json.allowed, false, 'a check was answered from an index that may be stale');
      // A's listener was cut too, but its pooled connections stay: writes go on through it.
      const during = await a.api('POST', `/api/v1/agencies/${agency.id}/environments`, { token: adminToken, body: { name: 'During' } });
      assert.equal(during.status, 201, during.text);
      await sleep(300);
      assert.equal((await check(b, service, first.json.id)).json.allowed, false);
      assert.equal((await b.api('GET', '/readyz')).status, 503);
      psql(PG, `ALTER DATABASE ${db} ALLOW_CONNECTIONS true`);
      // Back: B listens again, reads what it missed, and answers, the change made meanwhile
      // included.
      await until(async () => (await b.api('GET', '/readyz')).status === 200, 5000, 'B ready again');
      assert.equal((await check(b, service, during.json.id)).json.allowed, true);
      assert.equal((await check(b, service, first.json.id)).json.allowed, true);
      assert.ok(b.findLogs('authz.sync_listen_lost').length >= 1);
    } finally {
      psql(PG, `ALTER DATABASE ${db} ALLOW_CONNECTIONS true`);
    }
  });
});
