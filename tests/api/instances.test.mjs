// Several usher instances on one database, as behind a load balancer, through the real binary:
// the sign-in throttle and the invitation send limits hold for the whole deployment (two
// servers on one PostgreSQL database, and two on one SQLite file), and three servers on one
// PostgreSQL database deliver every queued invitation email exactly once per Message-ID while
// one of them is killed mid-run and started again; a place deleted on one server leaves the
// other's decision index as a fresh start would build it; and a server's re-read of a user it
// changed, held up until another server changed that user again, never undoes the newer change. The instances share the server
// secret, as a deployment must (sessions, links and throttle keys derive from it).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

import { rememberSecret, request, startUsher, tempDir } from './lib/harness.mjs';
import { startSmtp, tokenOf } from './lib/smtp.mjs';

const ADMIN_EMAIL = 'owner@instances.example';
const PASSWORD = 'canary-instances-password-7e31';
const WRONG = 'canary-instances-wrong-guess-2c9a';
const LIMIT_PER_ADDRESS = 10; // untrusted failures per account from one address
const LIMIT_PER_RECIPIENT = 5; // invitation emails to one address per hour

const PG_URL = process.env.USHER_TEST_PG_URL;
const PG_SKIP = PG_URL ? false : 'USHER_TEST_PG_URL is not set: no PostgreSQL server to share';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function assertProblem(res, status, code) {
  assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status}: ${res.text}`);
  assert.equal(res.json?.code, code, `code of ${res.text}`);
}

// A new database of its own on the PostgreSQL server: {url, drop}.
function pgDatabase() {
  const name = `usher_${randomBytes(6).toString('hex')}`;
  execFileSync('psql', [PG_URL, '-qAt', '-c', `CREATE DATABASE ${name}`]);
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => execFileSync('psql', [PG_URL, '-qAt', '-c', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]),
  };
}

// A SQLite file that several servers open with --database sqlite:PATH: {url, drop}.
function sqliteDatabase() {
  return { url: `sqlite:${path.join(tempDir(), 'shared.db')}`, drop: () => {} };
}

// Starts a server on database; with first, in a new data directory holding first's secret (or
// in dataDir, the directory of a server that stopped).
function startInstance(database, env, { first, dataDir } = {}) {
  let dir = dataDir;
  if (!dir && first) {
    dir = tempDir();
    copyFileSync(path.join(first.dataDir, 'secret'), path.join(dir, 'secret'));
    chmodSync(path.join(dir, 'secret'), 0o600);
  }
  return startUsher({ env, args: ['--database', database.url], dataDir: dir });
}

async function startInstances(n, database, env) {
  const first = await startInstance(database, env);
  const servers = [first];
  for (let i = 1; i < n; i++) servers.push(await startInstance(database, env, { first }));
  return servers;
}

// POST /api/v1/sessions to server from a chosen loopback address.
function signIn(server, { email, password, from }) {
  return request('127.0.0.1', server.port, 'POST', '/api/v1/sessions', {
    body: { email, password }, localAddress: from,
  });
}

async function adminToken(server, from) {
  const res = await signIn(server, { email: ADMIN_EMAIL, password: PASSWORD, from });
  assert.equal(res.status, 201, res.text);
  return res.json.token;
}

async function invite(server, token, agencyId, email) {
  const res = await server.api('POST', `/api/v1/agencies/${agencyId}/invitations`, {
    token, body: { email, grants: [{ roles: ['agent'] }] },
  });
  if (res.json?.url) rememberSecret(tokenOf(res.json.url));
  return res;
}

// The limits of one deployment of two servers on database.
async function sharedLimits(t, database, label) {
  const env = { USHER_ADMIN_EMAIL: ADMIN_EMAIL, USHER_ADMIN_PASSWORD: PASSWORD, USHER_THREADS: '32' };
  const [a, b] = await startInstances(2, database, env);
  try {
    await t.test('refuses failing sign-ins spread over both servers at the shared limit', async () => {
      const email = `ghost-${label}@instances.example`;
      const statuses = [];
      for (let i = 0; i < LIMIT_PER_ADDRESS; i++) {
        statuses.push((await signIn(i % 2 ? b : a, { email, password: WRONG, from: '127.0.0.21' })).status);
      }
      assert.deepEqual(statuses, Array(LIMIT_PER_ADDRESS).fill(401));
      // Each server saw five: limits kept per process would let both go on.
      const onA = await signIn(a, { email, password: WRONG, from: '127.0.0.21' });
      assertProblem(onA, 429, 'rate_limited');
      assert.ok(Number(onA.headers['retry-after']) > 60, `Retry-After ${onA.headers['retry-after']}`);
      assertProblem(await signIn(b, { email, password: WRONG, from: '127.0.0.21' }), 429, 'rate_limited');
    });

    await t.test('lets no more concurrent attempts through both servers than the shared limit', async () => {
      const email = `rush-${label}@instances.example`;
      const all = await Promise.all(Array.from({ length: 24 }, (_, i) =>
        signIn(i % 2 ? b : a, { email, password: WRONG, from: '127.0.0.22' })));
      const statuses = all.map((r) => r.status);
      assert.equal(statuses.filter((s) => s === 401).length, LIMIT_PER_ADDRESS, statuses.join(','));
      assert.equal(statuses.filter((s) => s === 429).length, 24 - LIMIT_PER_ADDRESS, statuses.join(','));
    });

    await t.test('refuses invitation emails to one address past the send limit on either server', async () => {
      const token = await adminToken(a, '127.0.0.23');
      const agency = await b.api('POST', '/api/v1/agencies', { token, body: { name: `Shared ${label}` } });
      assert.equal(agency.status, 201, agency.text);
      const email = `flood-${label}@customer.example`;
      for (let i = 0; i < LIMIT_PER_RECIPIENT; i++) {
        const here = i % 2 ? b : a;
        const there = i % 2 ? a : b;
        const res = await invite(here, token, agency.json.id, email);
        assert.equal(res.status, 201, res.text);
        assert.equal((await there.api('DELETE', `/api/v1/invitations/${res.json.id}`, { token })).status, 204);
      }
      // Each server sent two or three: limits kept per process would let both send more.
      assertProblem(await invite(a, token, agency.json.id, email), 429, 'rate_limited');
      assertProblem(await invite(b, token, agency.json.id, email), 429, 'rate_limited');
    });
  } finally {
    assert.equal(await a.stop(), 0);
    assert.equal(await b.stop(), 0);
  }
}

describe('two servers on one database share the sign-in and invitation limits', () => {
  it('on one PostgreSQL database', { skip: PG_SKIP }, async (t) => {
    const db = pgDatabase();
    try {
      await sharedLimits(t, db, 'pg');
    } finally {
      db.drop();
    }
  });

  it('on one SQLite file', async (t) => {
    await sharedLimits(t, sqliteDatabase(), 'sqlite');
  });
});

describe('three servers on one PostgreSQL database send each invitation email once', () => {
  it('delivers every email, once per Message-ID, while one server is killed mid-run and restarted', { skip: PG_SKIP }, async (t) => {
    const INVITATIONS = 90;
    const db = pgDatabase();
    // A slow mail server: each delivery takes a while, so the kill lands in the middle of one.
    const smtp = await startSmtp({ delayMs: 150 });
    const env = {
      USHER_ADMIN_EMAIL: ADMIN_EMAIL, USHER_ADMIN_PASSWORD: PASSWORD, USHER_THREADS: '8',
      USHER_SMTP_URL: smtp.url, USHER_SMTP_FROM: 'studio@instances.example',
    };
    const servers = await startInstances(3, db, env);
    try {
      const token = await adminToken(servers[0], '127.0.0.31');
      const agency = await servers[1].api('POST', '/api/v1/agencies', { token, body: { name: 'Mail Agency' } });
      assert.equal(agency.status, 201, agency.text);
      const recipients = Array.from({ length: INVITATIONS }, (_, i) => `mail${i}@customer.example`);
      const created = await Promise.all(recipients.map((email, i) => invite(servers[i % 3], token, agency.json.id, email)));
      for (const res of created) assert.equal(res.status, 201, res.text);

      // Kill the second server in the middle of the run, then start it again on its directory.
      while (smtp.messages.length < 20) await sleep(10);
      const victim = servers[1];
      assert.equal(await victim.kill(), 137);
      const atKill = smtp.messages.length;
      assert.ok(atKill < INVITATIONS, `the kill came after every email (${atKill}) had arrived`);
      servers[1] = await startInstance(db, env, { dataDir: victim.dataDir });

      // Well before the claims' two-minute lease: the restarted server lets go of the dead
      // process's claim when it starts.
      const deadline = Date.now() + 60000;
      const missing = () => recipients.filter((r) => smtp.to(r).length === 0);
      while (missing().length > 0 && Date.now() < deadline) await sleep(50);
      assert.deepEqual(missing(), [], 'every invitation email arrived');
      await sleep(1000); // nothing more comes

      // One Message-ID per invitation, and every copy of an email carries its Message-ID.
      const ids = new Map();
      for (const r of recipients) {
        const seen = new Set(smtp.to(r).map((m) => m.parsed.messageId));
        assert.equal(seen.size, 1, `${r} got ${seen.size} different Message-IDs`);
        const [id] = seen;
        assert.match(id, /^<msg_[A-Za-z0-9_-]+@[^>]+>$/);
        assert.ok(!ids.has(id), `${id} went to two recipients`);
        ids.set(id, r);
      }
      const duplicates = smtp.messages.length - INVITATIONS;
      t.diagnostic(`duplicates seen: ${duplicates} of ${smtp.messages.length} messages (${atKill} before the kill)`);
      // A sender has one message in flight at a time: only that one may go twice.
      assert.ok(duplicates <= 1, `${duplicates} duplicates; only the killed server's message in flight may repeat`);
    } finally {
      for (const s of servers) await s.stop();
      await smtp.close();
      db.drop();
    }
  });
});

// Runs SQL text on database (a user or a membership written behind the servers' backs).
function sqlOn(database, text) {
  if (database.url.startsWith('sqlite:')) {
    return execFileSync('sqlite3', ['-cmd', '.timeout 5000', database.url.slice('sqlite:'.length), text],
      { encoding: 'utf8' });
  }
  return execFileSync('psql', [database.url, '-qAt', '-c', text], { encoding: 'utf8' });
}

// The decision index's gauges of a server: users, grants, places by kind and custom roles.
async function indexFigures(server) {
  const res = await server.api('GET', '/metrics');
  assert.equal(res.status, 200, res.text);
  const figures = {};
  for (const line of res.text.split('\n')) {
    const m = /^(usher_authz_index_(?!bytes)[a-z_]+(?:\{[^}]*\})?) (\d+)$/.exec(line);
    if (m) figures[m[1]] = Number(m[2]);
  }
  assert.ok(Object.keys(figures).length >= 6, `index gauges in ${res.text.slice(-800)}`);
  return figures;
}

// Polls fn until it returns true, for up to fifteen seconds (the machine may be loaded).
async function eventually(fn, what) {
  const until = Date.now() + 15000;
  for (;;) {
    if (await fn()) return;
    assert.ok(Date.now() < until, `never came true: ${what}`);
    await sleep(25);
  }
}

// Deletes an environment, then its suspended agency, on one server, and checks that the other
// ends each time exactly where a server started afresh on the database begins.
async function deletionsFollowed(t, database, label) {
  const env = { USHER_ADMIN_EMAIL: ADMIN_EMAIL, USHER_ADMIN_PASSWORD: PASSWORD };
  const [a, b] = await startInstances(2, database, env);
  const fresh = async () => {
    const c = await startInstance(database, env, { first: a });
    try {
      return await indexFigures(c);
    } finally {
      assert.equal(await c.stop(), 0);
    }
  };
  try {
    const token = await adminToken(a, '127.0.0.41');
    const as = (server) => (method, urlPath, body) => server.api(method, urlPath, { token, body });
    const made = async (urlPath, name) => {
      const res = await as(a)('POST', urlPath, { name });
      assert.equal(res.status, 201, res.text);
      return res.json;
    };
    const agency = await made('/api/v1/agencies', `Doomed ${label}`);
    const doomed = await made(`/api/v1/agencies/${agency.id}/environments`, 'Doomed');
    const kept = await made(`/api/v1/agencies/${agency.id}/environments`, 'Kept');
    const doomedBot = await made(`/api/v1/environments/${doomed.id}/bots`, 'In doomed');
    const role = await as(a)('POST', `/api/v1/agencies/${agency.id}/roles`,
      { id: 'reviewer', name: 'Reviewer', permissions: ['analytics.read'] });
    assert.equal(role.status, 201, role.text);
    // gone holds grants only in the doomed environment and on its bot; both holds one there and
    // one in the kept environment.
    const people = { gone: [{ environment_id: doomed.id, roles: ['agent'] }, { bot_id: doomedBot.id, roles: ['bot_manager'] }],
      both: [{ environment_id: doomed.id, roles: ['developer'] }, { environment_id: kept.id, roles: ['agent'] }] };
    const ids = {};
    for (const [key, grants] of Object.entries(people)) {
      ids[key] = `usr_inst_${label}_${key}`;
      sqlOn(database, `INSERT INTO users (id, email, password_hash, created_at)
        SELECT '${ids[key]}', '${key}-${label}@instances.example', password_hash, 1 FROM users WHERE email = '${ADMIN_EMAIL}';
        INSERT INTO memberships (agency_id, user_id, created_at) VALUES ('${agency.id}', '${ids[key]}', 1);`);
      const put = await as(a)('PUT', `/api/v1/agencies/${agency.id}/users/${ids[key]}/grants`, { grants });
      assert.equal(put.status, 200, put.text);
    }
    // The agency requires a second factor, which neither has: each is held to enrolling.
    const policy = await as(a)('PATCH', `/api/v1/agencies/${agency.id}`, { require_second_factor: true });
    assert.equal(policy.status, 200, policy.text);
    const goneToken = (await signIn(a, { email: `gone-${label}@instances.example`, password: PASSWORD, from: '127.0.0.42' })).json.token;
    rememberSecret(goneToken);
    const heldBack = async (server) =>
      (await server.api('GET', '/api/v1/agencies', { token: goneToken })).json?.code === 'second_factor_required';
    await eventually(async () => JSON.stringify(await indexFigures(b)) === JSON.stringify(await indexFigures(a)), 'the second server caught up');
    assert.equal(await heldBack(a), true);
    // The index figures count places, not their policy: b may read the policy's row a poll later.
    await eventually(() => heldBack(b), 'gone held back on the second server');

    await t.test('a deleted environment leaves the other server as a fresh start would', async () => {
      const del = await as(a)('DELETE', `/api/v1/environments/${doomed.id}`);
      assert.equal(del.status, 200, del.text);
      assert.equal(del.json.memberships_ended, 1, del.text);
      // gone is in no agency any more: nothing holds them back, on either server.
      assert.equal(await heldBack(a), false);
      await eventually(async () => !(await heldBack(b)), 'gone let go on the second server');
      const onA = await indexFigures(a);
      await eventually(async () => JSON.stringify(await indexFigures(b)) === JSON.stringify(onA), 'the same index on both');
      assert.deepEqual(await fresh(), onA);
    });

    await t.test('a deleted agency leaves the other server as a fresh start would', async () => {
      assert.equal((await as(a)('PATCH', `/api/v1/agencies/${agency.id}`, { status: 'suspended' })).status, 200);
      const del = await as(a)('DELETE', `/api/v1/agencies/${agency.id}`, { confirm: agency.name });
      assert.equal(del.status, 200, del.text);
      const onA = await indexFigures(a);
      await eventually(async () => JSON.stringify(await indexFigures(b)) === JSON.stringify(onA), 'the same index on both');
      assert.deepEqual(await fresh(), onA);
    });
  } finally {
    assert.equal(await a.stop(), 0);
    assert.equal(await b.stop(), 0);
  }
}

describe('a place deleted on one server, followed by another on the same database', () => {
  it('on one PostgreSQL database', { skip: PG_SKIP }, async (t) => {
    const db = pgDatabase();
    try {
      await deletionsFollowed(t, db, 'pg');
    } finally {
      db.drop();
    }
  });

  it('on one SQLite file', async (t) => {
    await deletionsFollowed(t, sqliteDatabase(), 'sqlite');
  });
});

// A change on server a whose re-read of what it changed is held up (the test build's slow fault:
// the read has its rows, then waits two seconds) while server b changes the same thing again, and
// a's change feed brings b's change meanwhile. Installing the older read last would leave a
// granting what b took away, until the next change there. Four kinds of re-read: a user's
// grants, an agency's custom roles, an agency's status, and a place just created.
// (The rules' text is split at commas: no pattern holds one.)
const HELD = {
  grants: {
    sql: 'WHERE g.user_id = $1',
    // a gives the user analyst, b takes it back.
    give: (x) => x.put(x.a, { grants: [{ environment_id: x.place.id, roles: ['analyst'] }] }, x.grantsPath),
    takeBack: (x) => x.put(x.b, { grants: [{ environment_id: x.place.id, roles: ['agent'] }] }, x.grantsPath),
    setUp: async (x) => x.put(x.a, { grants: [{ environment_id: x.place.id, roles: ['agent'] }] }, x.grantsPath),
  },
  roles: {
    sql: 'permissions FROM custom_roles WHERE agency_id = $1',
    // The user holds a custom role; a adds analytics.read to it, b takes it out.
    give: (x) => x.patch(x.a, x.rolePath, { permissions: ['cms.read', 'analytics.read'] }),
    takeBack: (x) => x.patch(x.b, x.rolePath, { permissions: ['cms.read'] }),
    setUp: async (x) => {
      const role = await x.as(x.a)('POST', `/api/v1/agencies/${x.agency.id}/roles`, { id: 'reviewer', name: 'Reviewer', permissions: ['cms.read'] });
      assert.equal(role.status, 201, role.text);
      x.rolePath = `/api/v1/agencies/${x.agency.id}/roles/reviewer`;
      await x.put(x.a, { grants: [{ environment_id: x.place.id, roles: ['reviewer'] }] }, x.grantsPath);
    },
  },
  status: {
    sql: 'status FROM agencies WHERE id = $1',
    // The user is an analyst in a suspended agency; a resumes it, b suspends it again.
    give: (x) => x.patch(x.a, `/api/v1/agencies/${x.agency.id}`, { status: 'active' }),
    takeBack: (x) => x.patch(x.b, `/api/v1/agencies/${x.agency.id}`, { status: 'suspended' }),
    setUp: async (x) => {
      await x.put(x.a, { grants: [{ environment_id: x.place.id, roles: ['analyst'] }] }, x.grantsPath);
      await x.patch(x.a, `/api/v1/agencies/${x.agency.id}`, { status: 'suspended' });
    },
  },
  creation: {
    sql: 'agency_id FROM environments WHERE id = $1',
    // The user is an analyst of the whole agency; a creates an environment, b deletes it.
    setUp: async (x) => {
      await x.put(x.a, { grants: [{ roles: ['analyst'] }] }, x.grantsPath);
      x.probe = 'env_none_yet';
    },
    give: async (x) => {
      x.made = `Held new ${(x.round = (x.round || 0) + 1)}`;
      const res = await x.as(x.a)('POST', `/api/v1/agencies/${x.agency.id}/environments`, { name: x.made });
      assert.equal(res.status, 201, res.text);
    },
    takeBack: async (x) => {
      x.probe = sqlOn(x.database, `SELECT id FROM environments WHERE name = '${x.made}'`).trim();
      assert.match(x.probe, /^env_/);
      const res = await x.as(x.b)('DELETE', `/api/v1/environments/${x.probe}`);
      assert.equal(res.status, 200, res.text);
    },
  },
};

async function staleReadHeld(t, database, label) {
  const faultFile = path.join(tempDir(), 'faults');
  writeFileSync(faultFile, '');
  const env = { USHER_ADMIN_EMAIL: ADMIN_EMAIL, USHER_ADMIN_PASSWORD: PASSWORD };
  const a = await startInstance(database, { ...env, USHER_FAULT_FILE: faultFile });
  const b = await startInstance(database, env, { first: a });
  try {
    if (a.findLogs('store.fault_rules').length === 0) {
      t.skip('this build cannot inject faults');
      return;
    }
    const token = await adminToken(a, '127.0.0.51');
    const as = (server) => (method, urlPath, body) => server.api(method, urlPath, { token, body });
    const sent = (method) => async (server, urlPath, body) => {
      const res = await as(server)(method, urlPath, body);
      assert.equal(res.status, 200, res.text);
    };
    let rules = 0;
    for (const [kind, scenario] of Object.entries(HELD)) {
      await t.test(`a held-up re-read of ${kind}`, async () => {
        const made = async (urlPath, name) => {
          const res = await as(a)('POST', urlPath, { name });
          assert.equal(res.status, 201, res.text);
          return res.json;
        };
        const x = { a, b, as, database, patch: sent('PATCH') };
        x.put = (server, body, urlPath) => sent('PUT')(server, urlPath, body);
        x.agency = await made('/api/v1/agencies', `Held ${kind} ${label}`);
        x.place = await made(`/api/v1/agencies/${x.agency.id}/environments`, 'Held');
        const user = `usr_held_${kind}_${label}`;
        sqlOn(database, `INSERT INTO users (id, email, password_hash, created_at)
          SELECT '${user}', 'held-${kind}-${label}@instances.example', password_hash, 1 FROM users WHERE email = '${ADMIN_EMAIL}';
          INSERT INTO memberships (agency_id, user_id, created_at) VALUES ('${x.agency.id}', '${user}', 1);`);
        x.grantsPath = `/api/v1/agencies/${x.agency.id}/users/${user}/grants`;
        const analyst = async (server) => {
          const res = await as(server)('POST', '/api/v1/check', { user_id: user, permission: 'analytics.read', environment_id: x.probe ?? x.place.id });
          assert.equal(res.status, 200, res.text);
          return res.json.allowed;
        };
        await scenario.setUp(x);
        await eventually(async () => (await analyst(b)) === false && (await analyst(a)) === false, 'both servers deny to begin with');

        // The next such read on a waits two seconds after reading. Whichever of a's threads reads
        // first is held: the request's own re-read after its commit (the case this is about: the
        // answer then takes two seconds) or the change feed's. Either way a must end agreeing with
        // b; the scenario is tried until the request's re-read was the one held.
        let held = 0;
        for (let attempt = 1; attempt <= 5 && held === 0; attempt++) {
          const faults = a.findLogs('store.fault').length;
          rules++;
          writeFileSync(faultFile, `slow:@1:sql=${scenario.sql}${' '.repeat(rules)}`);
          const started = Date.now();
          const change = scenario.give(x).then(() => Date.now() - started);
          await sleep(400);
          await scenario.takeBack(x);
          const took = await change;
          writeFileSync(faultFile, '');
          assert.equal(a.findLogs('store.fault').length, faults + 1, 'one read was held up');
          if (took >= 1800) held = attempt;
          await eventually(async () => (await analyst(b)) === false, 'b took analytics.read away');
          // Past the held read and the feed's next poll: a agrees with b and with the database.
          await sleep(2500);
          assert.equal(await analyst(a), false, `attempt ${attempt}: the older read, installed last, undid the newer change`);
          assert.equal(await analyst(b), false);
        }
        t.diagnostic(`${kind}: the request's own re-read was held at attempt ${held}`);
        assert.ok(held > 0, "the request's own re-read was never the one held");
      });
    }
  } finally {
    assert.equal(await a.stop(), 0);
    assert.equal(await b.stop(), 0);
  }
}

describe('a held-up re-read on one server never undoes a newer change made on another', () => {
  it('on one PostgreSQL database', { skip: PG_SKIP }, async (t) => {
    const db = pgDatabase();
    try {
      await staleReadHeld(t, db, 'pg');
    } finally {
      db.drop();
    }
  });

  it('on one SQLite file', async (t) => {
    await staleReadHeld(t, sqliteDatabase(), 'sqlite');
  });
});
