// The deployment test: three `usher serve` instances on one PostgreSQL database, sharing one
// server secret, behind nginx (round robin, no stickiness), delivering to one real SMTP server.
// A mixed workload goes through nginx (sign-ins, invitations created, emailed and accepted,
// grant changes, member removals, checks) while instances are killed with SIGKILL and
// restarted. Afterwards it proves that
//   - every change answered 2xx survived and every change refused left nothing; a change whose
//     answer the kill cut off (nginx's own 502/504) may or may not have happened, and the check
//     then follows what the database says;
//   - nothing was applied twice (one invitation per create, one membership and one accepted
//     row per accept, grant-change rows between the acknowledged and the attempted count);
//   - every instance answers the checks of every member as the database says;
//   - every invitation email was delivered, copies of one only under one Message-ID;
//   - `usher audit verify --database ...` passes and no secret reached the audit table or a log;
//   - a revocation made through one instance (grant removed, member removed, API token
//     revoked, session ended, account disabled) denies through every instance within 100 ms, measured by polling
//     each instance directly from the moment the change was acknowledged.
//
//   node tests/cluster/deploy.mjs [--seconds N] [--kills N] [--workers N] [--probes N]
//                                  [--seed N] [--quiet]
//
// Needs USHER_TEST_PG_URL (the admin URL of a throwaway cluster, scripts/pg_cluster.sh; the
// test makes and drops a database of its own) and nginx (Debian's package). USHER_BIN names the
// binary (default build/usher). Prints one summary line beginning "cluster:" and exits 0 when
// every check held, 1 otherwise; without USHER_TEST_PG_URL it prints "cluster: skipped (...)"
// and exits 77.
import { linkIn, startSmtp, tokenOf } from '../api/lib/smtp.mjs';
import { canaryFindings, runUsher } from '../api/lib/harness.mjs';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  auditCanary, createDatabase, freePort, keepAliveClient, pgMissing, pollUntil, startInstances,
  startNginx, summarize,
} from './cluster.mjs';

const args = process.argv.slice(2);
function option(name, fallback) {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? Number(args[i + 1]) : fallback;
}
const SECONDS = option('seconds', 25);
const KILLS = option('kills', 1);
const WORKERS = option('workers', 6);
const PROBES = option('probes', 5); // revocations measured per kind
const INSTANCES = 3;
const LIMIT_MS = 100; // a revocation must deny everywhere within this
const QUIET = args.includes('--quiet');
let seed = option('seed', Date.now() % 1000000);
const SEED = seed;

const skip = pgMissing();
if (skip) {
  console.log(`cluster: skipped (${skip})`);
  process.exit(77);
}

function random() {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
}
const pick = (list) => list[Math.floor(random() * list.length)];
const t0 = Date.now();
const say = (...m) => {
  if (!QUIET) console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s]`, ...m);
};

const ADMIN_EMAIL = 'cluster-admin@cluster.example';
const PASSWORD = 'cluster-test-password-5e2b';
const ROLE_SETS = [['agent'], ['analyst'], ['producer'], ['agent', 'analyst'], ['operator']];
const THINK_MS = 40;
// Invitations are limited to 100 per inviter and 500 per agency an hour: enough owners for the
// run, four to an agency.
const OWNERS = Math.max(2, Math.ceil((SECONDS * 40) / 80));
const OWNERS_PER_AGENCY = 4;
const AGENCIES = Math.ceil(OWNERS / OWNERS_PER_AGENCY);

const figures = {
  acknowledged: 0, refused: 0, cut: 0, refusedBy: {}, signIns: 0, checks: 0, kills: 0,
  checked: 0, lost: 0, doubled: 0, emails: 0, duplicateEmails: 0,
};
const failures = [];
function fail(message) {
  failures.push(message);
  console.error(`cluster: FAIL ${message}`);
}

// --- the cluster ------------------------------------------------------------------------------
const db = await createDatabase();
const smtp = await startSmtp();
const nginxPort = await freePort();
const env = {
  USHER_ADMIN_EMAIL: ADMIN_EMAIL,
  USHER_ADMIN_PASSWORD: PASSWORD,
  USHER_SMTP_URL: smtp.url,
  USHER_SMTP_FROM: 'cluster@cluster.example',
  USHER_PUBLIC_URL: `http://127.0.0.1:${nginxPort}`,
  USHER_THREADS: 4,
  // Every request arrives from nginx's address.
  USHER_MAX_CONNECTIONS_PER_ADDRESS: 0,
};
const instances = await startInstances(INSTANCES, { databaseUrl: db.url, env });
const nginx = await startNginx(instances.map((i) => i.port), { port: nginxPort });
say(`cluster: ${INSTANCES} instances on ports ${instances.map((i) => i.port).join(', ')}, nginx on ${nginx.port}, database ${db.name}`);

const front = keepAliveClient(nginx.host, nginx.port, WORKERS + 2);
const direct = instances.map((i) => keepAliveClient('127.0.0.1', i.port, 1));
const call = (token, method, urlPath, body) => front.call(method, urlPath, { token, body });

async function expect(res, status, what) {
  if (res.status !== status) throw new Error(`${what}: ${res.status} ${res.text}`);
  return res.json;
}
async function signIn(email) {
  const res = await call(undefined, 'POST', '/api/v1/sessions', { email, password: PASSWORD });
  if (res.status !== 200 && res.status !== 201) throw new Error(`sign-in ${email}: ${res.status} ${res.text}`);
  return res.json.token;
}

// One request through nginx; {status: null} when the request failed on the way. An answer
// that is not usher's (nginx's 502 or 504 page: the instance died with the request) is "cut".
async function attempt(fn) {
  try {
    return await fn();
  } catch {
    return { status: null };
  }
}
function outcome(res) {
  if (res.status === null) return 'cut';
  if (res.status >= 500 && !/json/.test(res.headers['content-type'] || '')) return 'cut';
  return res.status < 300 ? 'ok' : 'refused';
}
function count(kind, res) {
  if (kind === 'ok') figures.acknowledged++;
  else if (kind === 'cut') figures.cut++;
  else {
    figures.refused++;
    figures.refusedBy[res.status] = (figures.refusedBy[res.status] || 0) + 1;
  }
}

// --- the people -------------------------------------------------------------------------------
const adminToken = await signIn(ADMIN_EMAIL);
const agencies = [];
const owners = [];
for (let i = 0; i < AGENCIES; i++) {
  const agency = await expect(await call(adminToken, 'POST', '/api/v1/agencies', { name: `Cluster ${i}` }), 201, 'agency');
  agency.environments = [];
  for (const name of ['production', 'staging']) {
    const e = await expect(await call(adminToken, 'POST', `/api/v1/agencies/${agency.id}/environments`, { name }), 201, 'environment');
    agency.environments.push(e.id);
  }
  agencies.push(agency);
  for (let k = 0; k < OWNERS_PER_AGENCY && owners.length < OWNERS; k++) {
    const email = `cluster-owner-${i}-${k}@cluster.example`;
    const inv = await expect(await call(adminToken, 'POST', `/api/v1/agencies/${agency.id}/invitations`, {
      email, grants: [{ roles: ['owner'] }], send_email: false,
    }), 201, 'owner invitation');
    const acc = await call(undefined, 'POST', '/api/v1/invitations/accept', {
      token: tokenOf(inv.url), password: PASSWORD, first_name: 'Owner', last_name: `${i}-${k}`,
    });
    if (acc.status >= 300) throw new Error(`owner accept: ${acc.status} ${acc.text}`);
    owners.push({ agency: agency.id, id: acc.json.user.id, email, token: await signIn(email) });
  }
}
say(`cluster: seed ${SEED}, ${SECONDS}s of load, ${KILLS} kills, ${WORKERS} workers, ${AGENCIES} agencies, ${owners.length} owners`);

// --- the ledger (as in tests/crash/crash.mjs) -------------------------------------------------
const invitations = new Map(); // email -> {agency, inviter, grants, state, id, mail, url}
const members = new Map(); // userId -> {agency, email, grants, cutGrants, removed, acknowledgedChanges, cutChanges}
const busy = new Set();
let emailSeq = 0;
const grantsFor = (agency, roles) => [{ environment_id: pick(agency.environments), roles }];
const grantKey = (list) =>
  list.map((g) => `${g.environment_id || g.bot_id || 'agency'}:${[...g.roles].sort().join(',')}`).sort().join('|');
const ownerOf = (agencyId) => owners.find((o) => o.agency === agencyId);

async function opCreate() {
  const agency = pick(agencies);
  const inviter = pick(owners.filter((o) => o.agency === agency.id));
  const email = `cluster-${SEED}-${++emailSeq}@cluster.example`;
  const grants = grantsFor(agency, pick(ROLE_SETS));
  const mail = random() < 1 / 3;
  const entry = { agency: agency.id, inviter: inviter.id, grants, state: 'cut', id: null, mail, url: null };
  invitations.set(email, entry);
  const res = await attempt(() =>
    call(inviter.token, 'POST', `/api/v1/agencies/${agency.id}/invitations`, { email, grants, send_email: mail }));
  const kind = outcome(res);
  count(kind, res);
  entry.state = kind === 'ok' ? 'created' : kind;
  if (kind === 'ok') {
    entry.id = res.json.id;
    entry.url = res.json.url;
  }
}

async function opAccept() {
  const ready = [...invitations.entries()].filter(
    ([email, e]) => (e.state === 'created' || e.state === 'pending') && !busy.has(email) &&
      (e.mail ? smtp.to(email).length > 0 : e.url !== null));
  if (ready.length === 0) return;
  const [email, entry] = pick(ready);
  busy.add(email);
  const token = tokenOf(entry.mail ? linkIn(smtp.to(email)[0].parsed) : entry.url);
  const res = await attempt(() =>
    call(undefined, 'POST', '/api/v1/invitations/accept', { token, password: PASSWORD, first_name: 'Cluster', last_name: 'Tester' }));
  const kind = outcome(res);
  count(kind, res);
  if (kind === 'ok') {
    entry.state = 'accepted';
    members.set(res.json.user.id, {
      agency: entry.agency, email, grants: entry.grants, cutGrants: null, removed: false,
      acknowledgedChanges: 0, cutChanges: 0,
    });
  } else if (kind === 'cut') {
    entry.state = 'accept-cut';
  }
  busy.delete(email);
}

async function opGrants() {
  const ready = [...members.entries()].filter(([id, m]) => !m.removed && !busy.has(id));
  if (ready.length === 0) return;
  const [id, m] = pick(ready);
  busy.add(id);
  const agency = agencies.find((a) => a.id === m.agency);
  const grants = grantsFor(agency, pick(ROLE_SETS));
  const res = await attempt(() => call(ownerOf(m.agency).token, 'PUT', `/api/v1/agencies/${m.agency}/users/${id}/grants`, { grants }));
  const kind = outcome(res);
  count(kind, res);
  if (kind === 'ok') {
    m.grants = grants;
    m.acknowledgedChanges++;
  } else if (kind === 'cut') {
    m.cutGrants = grants;
    m.cutChanges++;
  }
  busy.delete(id);
}

async function opRemove() {
  const ready = [...members.entries()].filter(([id, m]) => !m.removed && !busy.has(id));
  if (ready.length < 4) return;
  const [id, m] = pick(ready);
  busy.add(id);
  const res = await attempt(() => call(ownerOf(m.agency).token, 'DELETE', `/api/v1/agencies/${m.agency}/users/${id}`));
  const kind = outcome(res);
  count(kind, res);
  if (kind === 'ok') m.removed = true;
  else if (kind === 'cut') m.removed = 'cut';
  busy.delete(id);
}

// A member signs in through nginx and uses the session at once: nginx sends the second request
// to another instance than the first most of the time.
async function opSignIn() {
  const ready = [...members.entries()].filter(([id]) => !busy.has(id));
  if (ready.length === 0) return;
  const [id, m] = pick(ready);
  busy.add(id);
  const res = await attempt(() => call(undefined, 'POST', '/api/v1/sessions', { email: m.email, password: PASSWORD }));
  if (res.status === 200 || res.status === 201) {
    figures.signIns++;
    const me = await attempt(() => call(res.json.token, 'GET', '/api/v1/me'));
    if (outcome(me) === 'refused') fail(`a session made at sign-in was refused by the next request: ${me.status} ${me.text}`);
    else if (outcome(me) === 'ok' && me.json.id !== id && me.json.user?.id !== id) fail(`the session of ${id} answered as someone else`);
  }
  busy.delete(id);
}

async function opCheck() {
  const ready = [...members.entries()].filter(([, m]) => !m.removed);
  if (ready.length === 0) return;
  const [id, m] = pick(ready);
  const res = await attempt(() =>
    call(adminToken, 'POST', '/api/v1/check', {
      user_id: id, permission: 'bot.read', environment_id: m.grants[0].environment_id,
    }));
  if (res.status === 200) figures.checks++;
}

let stopping = false;
async function worker() {
  while (!stopping) {
    const r = random();
    if (r < 0.2) await opCreate();
    else if (r < 0.45) await opAccept();
    else if (r < 0.7) await opGrants();
    else if (r < 0.75) await opRemove();
    else if (r < 0.8) await opSignIn();
    else await opCheck();
    await sleep(THINK_MS * (0.5 + random()));
  }
}

// Kills instance after instance with SIGKILL at spread-out moments and restarts each on its
// port and data directory after a pause, while the load runs.
async function killer() {
  for (let k = 0; k < KILLS; k++) {
    const at = ((k + 0.3 + 0.4 * random()) * SECONDS * 1000) / KILLS;
    const wait = at - (Date.now() - loadStart);
    if (wait > 0) await sleep(wait);
    const victim = instances[k % INSTANCES];
    await victim.kill();
    figures.kills++;
    for (const l of victim.sanitizerReports()) fail(`${victim.name}: sanitizer report: ${l}`);
    const leaked = canaryFindings(victim.usher.logs.map((l) => JSON.stringify(l)).join('\n') + victim.usher.stderr.join('\n'));
    if (leaked.length > 0) fail(`${victim.name}: ${leaked.length} secret(s) in the server log`);
    say(`cluster: killed ${victim.name} (${figures.acknowledged} acknowledged, ${figures.cut} cut so far)`);
    await sleep(300 + 700 * random());
    await victim.start();
    say(`cluster: ${victim.name} is back`);
  }
}

const loadStart = Date.now();
const load = Promise.all(Array.from({ length: WORKERS }, () => worker()));
const kills = killer();
await sleep(SECONDS * 1000);
await kills;
stopping = true;
await load;
say(`cluster: load done: ${figures.acknowledged} acknowledged, ${figures.refused} refused, ${figures.cut} cut`);

// --- the state in the database ----------------------------------------------------------------
async function verify() {
  const like = `cluster-${SEED}-%`;
  const invRows = new Map();
  for (const r of await db.rows(`SELECT id, email, status FROM invitations WHERE email LIKE '${like}'`)) {
    if (invRows.has(r.email)) {
      fail(`two invitations for ${r.email}`);
      figures.doubled++;
    }
    invRows.set(r.email, r);
  }
  const audit = new Map();
  for (const r of await db.rows(`SELECT action, details::json->>'invitation_id' AS inv, COUNT(*) AS n
                                  FROM audit_log WHERE action LIKE 'invitation.%' GROUP BY 1, 2`)) {
    audit.set(`${r.action}|${r.inv ?? ''}|`, Number(r.n));
  }
  for (const r of await db.rows(`SELECT action, subject_user_id AS subject, COUNT(*) AS n FROM audit_log
                                  WHERE action LIKE 'member.%' GROUP BY 1, 2`)) {
    audit.set(`${r.action}||${r.subject ?? ''}`, Number(r.n));
  }
  const auditCount = (action, inv = '', subject = '') => audit.get(`${action}|${inv}|${subject}`) ?? 0;
  const userByEmail = new Map();
  for (const r of await db.rows(`SELECT id, email FROM users WHERE email LIKE '${like}'`)) userByEmail.set(r.email, r.id);
  const memberCount = new Map();
  for (const r of await db.rows('SELECT agency_id, user_id, COUNT(*) AS n FROM memberships GROUP BY 1, 2')) {
    memberCount.set(`${r.agency_id}|${r.user_id}`, Number(r.n));
  }
  const grantRows = new Map();
  for (const r of await db.rows('SELECT agency_id, user_id, COALESCE(environment_id, bot_id) AS scope, roles FROM grants')) {
    const key = `${r.agency_id}|${r.user_id}`;
    if (!grantRows.has(key)) grantRows.set(key, []);
    grantRows.get(key).push(r);
  }

  for (const [email, e] of invitations) {
    const row = invRows.get(email);
    figures.checked++;
    if (['created', 'pending', 'accepted', 'accept-cut'].includes(e.state)) {
      if (!row || (e.id && row.id !== e.id)) {
        fail(`acknowledged invitation to ${email} is missing`);
        figures.lost++;
        continue;
      }
    } else if (e.state === 'refused') {
      if (row) fail(`refused invitation to ${email} exists`);
      continue;
    } else if (e.state === 'cut') {
      e.state = row ? 'pending' : 'absent';
      if (!row) continue;
      e.id = row.id;
    }
    if (auditCount('invitation.created', row.id) !== 1) {
      fail(`invitation ${row.id} has ${auditCount('invitation.created', row.id)} created rows`);
      figures.doubled++;
    }
    if (e.state === 'accepted' && row.status !== 'accepted') {
      fail(`acknowledged accept of ${email} is lost (status ${row.status})`);
      figures.lost++;
    }
    if (e.state === 'pending' && row.status !== 'pending') fail(`${email} is ${row.status} though no accept was sent`);
    if (e.state === 'created' && row.status !== 'pending') fail(`${email} is ${row.status} though no accept was sent`);
    if (e.state === 'accept-cut') {
      e.state = row.status === 'accepted' ? 'accepted' : 'pending';
      if (row.status === 'accepted') {
        members.set(userByEmail.get(email), {
          agency: e.agency, email, grants: e.grants, cutGrants: null, removed: false,
          acknowledgedChanges: 0, cutChanges: 0,
        });
      }
    }
    const accepted = auditCount('invitation.accepted', row.id);
    if (accepted !== (row.status === 'accepted' ? 1 : 0)) {
      fail(`invitation ${row.id} (${row.status}) has ${accepted} accepted rows`);
      if (accepted > 1) figures.doubled++;
    }
  }

  for (const [id, m] of members) {
    figures.checked++;
    const member = memberCount.get(`${m.agency}|${id}`) ?? 0;
    const grants = grantRows.get(`${m.agency}|${id}`) ?? [];
    if (m.removed === 'cut') m.removed = member === 0;
    if (m.removed) {
      if (member !== 0 || grants.length !== 0) {
        fail(`acknowledged removal of ${id} is lost`);
        figures.lost++;
      }
      const removedRows = auditCount('member.removed', '', id);
      if (removedRows !== 1) {
        fail(`removal of ${id} has ${removedRows} audit rows`);
        if (removedRows > 1) figures.doubled++;
      }
      continue;
    }
    if (member !== 1) {
      fail(`member ${id} has ${member} memberships`);
      figures.lost++;
      continue;
    }
    const got = grants.map((g) => `${g.scope}:${g.roles.split(',').filter(Boolean).sort().join(',')}`).sort().join('|');
    if (got !== grantKey(m.grants)) {
      if (m.cutGrants && got === grantKey(m.cutGrants)) {
        m.grants = m.cutGrants;
        m.acknowledgedChanges++;
        m.cutChanges--;
      } else {
        fail(`member ${id} holds ${got}, expected ${grantKey(m.grants)}`);
        figures.lost++;
      }
    }
    m.cutGrants = null;
    const changes = auditCount('member.grants_replaced', '', id);
    if (changes < m.acknowledgedChanges || changes > m.acknowledgedChanges + m.cutChanges) {
      fail(`member ${id} has ${changes} grant-change rows for ${m.acknowledgedChanges} applied (+${m.cutChanges} cut)`);
      if (changes > m.acknowledgedChanges + m.cutChanges) figures.doubled++;
    }
  }
}
await verify();

// Every instance answers every member's check as the database says: allowed in the
// environment of their grant, denied after a removal. The index of an instance that was killed
// and restarted must have caught up.
async function instancesAgree() {
  await sleep(200);
  const list = [...members.entries()];
  for (const [n, inst] of instances.entries()) {
    let wrong = 0;
    for (const [id, m] of list) {
      const res = await direct[n].call('POST', '/api/v1/check', {
        token: adminToken,
        body: { user_id: id, permission: 'bot.read', environment_id: m.grants[0].environment_id },
      });
      figures.checked++;
      const want = !m.removed;
      if (res.status !== 200 || res.json.allowed !== want) wrong++;
    }
    if (wrong > 0) fail(`${inst.name} answered ${wrong} of ${list.length} member checks unlike the database`);
  }
}
await instancesAgree();

// --- revocations: each made through one instance, watched on every instance directly ----------
// Latencies (ms) on the instances that did not make the change, and on the one that did.
const revocation = { grant: [], member: [], token: [], session: [], disabled: [] };
const ownInstance = [];
let slow = 0;

// Polls every instance at once until deny(res) holds on each; records each instance's delay.
async function watch(kind, probe, since, writer) {
  const delays = await Promise.all(
    direct.map((client, n) => pollUntil(async () => probe(client, n), since, { limitMs: 2000, pauseMs: 1 })));
  for (const [n, d] of delays.entries()) {
    if (d === null) {
      fail(`${kind} revocation: ${instances[n].name} still allowed after 2 s`);
      continue;
    }
    if (direct[n] === writer) ownInstance.push(d);
    else revocation[kind].push(d);
    if (d > LIMIT_MS) {
      slow++;
      fail(`${kind} revocation: ${instances[n].name} denied only after ${d.toFixed(1)} ms`);
    }
  }
}
// Waits until every instance allows (so the revocation is measured from a warm, agreeing state).
async function allowedEverywhere(what, probe) {
  for (const [n, client] of direct.entries()) {
    const ok = await pollUntil(async () => probe(client, n), performance.now(), { limitMs: 3000, pauseMs: 5 });
    if (ok === null) throw new Error(`${what}: ${instances[n].name} never allowed it`);
  }
}

// A fresh member of agency with role agent in its production environment, signed in.
async function freshMember(agency, owner, tag) {
  const email = `cluster-probe-${SEED}-${tag}@cluster.example`;
  const inv = await expect(await call(owner.token, 'POST', `/api/v1/agencies/${agency.id}/invitations`, {
    email, grants: [{ environment_id: agency.environments[0], roles: ['agent'] }], send_email: false,
  }), 201, 'probe invitation');
  const acc = await call(undefined, 'POST', '/api/v1/invitations/accept', {
    token: tokenOf(inv.url), password: PASSWORD, first_name: 'Probe', last_name: tag,
  });
  if (acc.status >= 300) throw new Error(`probe accept: ${acc.status} ${acc.text}`);
  return { id: acc.json.user.id, email, token: acc.json.token };
}

const checkBody = (agency, userId) => ({ user_id: userId, permission: 'inbox.reply', environment_id: agency.environments[0] });
for (let p = 0; p < PROBES; p++) {
  const agency = agencies[p % agencies.length];
  const owner = ownerOf(agency.id);
  const via = (k) => direct[(p + k) % INSTANCES]; // the instance that makes the change
  const allowedCheck = (userId, want) => async (client) => {
    const r = await client.call('POST', '/api/v1/check', { token: adminToken, body: checkBody(agency, userId) });
    return r.status === 200 && r.json.allowed === want;
  };

  // A grant removed: the member's grant moves from production to staging.
  const g = await freshMember(agency, owner, `g${p}`);
  await allowedEverywhere('grant', allowedCheck(g.id, true));
  let res = await via(0).call('PUT', `/api/v1/agencies/${agency.id}/users/${g.id}/grants`, {
    token: owner.token, body: { grants: [{ environment_id: agency.environments[1], roles: ['agent'] }] },
  });
  let since = res.at;
  await expect(res, 200, 'grant change');
  await watch('grant', allowedCheck(g.id, false), since, via(0));

  // A member removed.
  const m = await freshMember(agency, owner, `m${p}`);
  await allowedEverywhere('member', allowedCheck(m.id, true));
  res = await via(1).call('DELETE', `/api/v1/agencies/${agency.id}/users/${m.id}`, { token: owner.token });
  since = res.at;
  if (res.status !== 204 && res.status !== 200) throw new Error(`member removal: ${res.status} ${res.text}`);
  await watch('member', allowedCheck(m.id, false), since, via(1));

  // An API token revoked: every instance has just resolved it (and may have it cached).
  const tok = await expect(await call(owner.token, 'POST', `/api/v1/agencies/${agency.id}/tokens`, { name: `probe ${p}` }), 201, 'token');
  const tokenWorks = (want) => async (client) => {
    const r = await client.call('POST', '/api/v1/check', { token: tok.token, body: checkBody(agency, owner.id) });
    return want ? r.status === 200 : r.status === 401;
  };
  await allowedEverywhere('token', tokenWorks(true));
  res = await via(2).call('DELETE', `/api/v1/agencies/${agency.id}/tokens/${tok.id}`, { token: owner.token });
  since = res.at;
  if (res.status !== 204 && res.status !== 200) throw new Error(`token revocation: ${res.status} ${res.text}`);
  await watch('token', tokenWorks(false), since, via(2));

  // A session ended (sign-out through one instance).
  const session = await signIn(g.email);
  const sessionWorks = (want) => async (client) => {
    const r = await client.call('GET', '/api/v1/me', { token: session });
    return want ? r.status === 200 : r.status === 401;
  };
  await allowedEverywhere('session', sessionWorks(true));
  res = await via(0).call('DELETE', '/api/v1/sessions/current', { token: session });
  since = res.at;
  if (res.status !== 204 && res.status !== 200) throw new Error(`sign-out: ${res.status} ${res.text}`);
  await watch('session', sessionWorks(false), since, via(0));

  // An account disabled by the platform admin: the member holds agent in staging now.
  const stagingCheck = (want) => async (client) => {
    const r = await client.call('POST', '/api/v1/check', {
      token: adminToken, body: { ...checkBody(agency, g.id), environment_id: agency.environments[1] },
    });
    return r.status === 200 && r.json.allowed === want;
  };
  await allowedEverywhere('disabled', stagingCheck(true));
  res = await via(1).call('PATCH', `/api/v1/users/${g.id}`, { token: adminToken, body: { status: 'disabled' } });
  since = res.at;
  await expect(res, 200, 'account disabled');
  await watch('disabled', stagingCheck(false), since, via(1));
}
const rev = Object.fromEntries(Object.entries(revocation).map(([k, v]) => [k, summarize(v)]));
say(`cluster: revocations (ms, every instance): ${Object.entries(rev).map(([k, s]) =>
  `${k} median ${s.median?.toFixed(1)} max ${s.max?.toFixed(1)} (${s.count})`).join('; ')}; on the instance that made it: max ${summarize(ownInstance).max?.toFixed(1)}`);

// --- emails -------------------------------------------------------------------------------------
const expectMail = () =>
  [...invitations.entries()].filter(([, e]) => e.mail && ['created', 'pending', 'accepted'].includes(e.state));
const missing = () => expectMail().some(([email]) => smtp.to(email).length === 0);
let seen = smtp.messages.length;
let lastArrival = Date.now();
while (missing() && Date.now() - lastArrival < 60000) {
  await sleep(200);
  if (smtp.messages.length > seen) {
    seen = smtp.messages.length;
    lastArrival = Date.now();
  }
}
for (const [email] of expectMail()) {
  const got = smtp.to(email);
  figures.checked++;
  if (got.length === 0) {
    const row = await db.rows(`SELECT attempts, sent_at, dropped_at, claimed_by, claimed_until, last_error
                                 FROM mail_outbox WHERE recipient = '${email}'`);
    fail(`no email reached ${email}: outbox ${JSON.stringify(row)}`);
    figures.lost++;
    continue;
  }
  figures.emails++;
  const ids = new Set(got.map((msg) => msg.parsed.messageId));
  if (ids.size !== 1) fail(`${email} got ${got.length} emails with ${ids.size} Message-IDs`);
  figures.duplicateEmails += got.length - 1;
}

// --- the end ----------------------------------------------------------------------------------
front.close();
for (const c of direct) c.close();
await nginx.stop();
for (const inst of instances) {
  const code = await inst.stop().catch((e) => {
    fail(`${inst.name}: ${e.message}`);
    return -1;
  });
  if (code !== 0) fail(`${inst.name} exited ${code} on SIGTERM`);
  for (const l of inst.sanitizerReports()) fail(`${inst.name}: sanitizer report: ${l}`);
}
const verified = await runUsher(['audit', 'verify', '--database', db.url, '--data-dir', instances[0].dataDir], { timeoutMs: 120000 });
figures.checked++;
if (verified.code !== 0) fail(`usher audit verify exited ${verified.code}: ${verified.stdout}${verified.stderr}`);
const inAudit = await auditCanary(db);
if (inAudit > 0) fail(`${inAudit} secret(s) in the audit table`);
await smtp.close();
await db.drop();

const seconds = Math.round((Date.now() - t0) / 1000);
const fmt = (s) => (s.count ? `median ${s.median.toFixed(1)} ms, max ${s.max.toFixed(1)} ms` : 'none');
console.log(
  `cluster: ${INSTANCES} instances behind nginx, ${seconds}s (seed ${SEED}), ${figures.kills} kills: ` +
  `${figures.acknowledged} changes acknowledged, ${figures.refused} refused, ${figures.cut} cut off; ` +
  `${figures.signIns} sign-ins, ${figures.checks} checks; ${figures.checked} facts checked; ` +
  `${figures.lost} lost, ${figures.doubled} applied twice; ${figures.emails} invitation emails delivered, ` +
  `${figures.duplicateEmails} duplicates (same Message-ID); revocation denied everywhere: ` +
  `grant ${fmt(rev.grant)}, member ${fmt(rev.member)}, token ${fmt(rev.token)}, session ${fmt(rev.session)}, account disabled ${fmt(rev.disabled)} ` +
  `(other instances), ${fmt(summarize(ownInstance))} on the instance that made it; ` +
  `${slow} over ${LIMIT_MS} ms; audit verify ${verified.code === 0 ? 'ok' : 'FAILED'}; ${failures.length} failures`,
);
say(`cluster: refused answers by status: ${JSON.stringify(figures.refusedBy)}`);
process.exit(failures.length === 0 ? 0 : 1);
