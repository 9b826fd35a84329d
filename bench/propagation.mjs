// How long a change made through one usher instance takes to show on another: two instances
// (A and B) of one binary on one PostgreSQL database, sharing one server secret. Each change is
// made through A and timed from the moment A's answer arrived until B answers differently,
// polling B with a keep-alive connection every --poll-ms milliseconds:
//   - grant / revoke: a member's role grant in an environment moved in and out of it
//     (B's POST /api/v1/check flips between allowed and denied);
//   - member removed: B's check for the removed member denies;
//   - API token revoked: a request on B with the token is answered 401 (the token in constant
//     use on B until then, as a service uses it);
//   - session ended: a sign-out through A, then a request on B with the session is answered 401;
//   - account disabled: a platform admin disables the member through A, B's check denies (the
//     account is made active again, untimed, before the next one).
// Whatever way B learns of changes (the change feed polled by the index sync, or a
// notification), this measures what is there. Each change waits a random 0-100 ms after the
// previous one was seen, so it lands at any moment of B's own cycles (a change made right after
// B saw the last one would always land just after B's poll of the feed). Prints a Markdown
// table: count, median, p99, max.
//
//   node bench/propagation.mjs [--changes N] [--poll-ms N] [--quiet]
//
// Needs USHER_TEST_PG_URL (a throwaway cluster's admin URL; `make bench-propagation` starts
// one through scripts/with_pg.sh). USHER_BIN names the binary (default build/usher).
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

import { tokenOf } from '../tests/api/lib/smtp.mjs';
import { usherBin } from '../tests/api/lib/harness.mjs';
import {
  createDatabase, keepAliveClient, pgMissing, startInstances, summarize,
} from '../tests/cluster/cluster.mjs';

const args = process.argv.slice(2);
function option(name, fallback) {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? Number(args[i + 1]) : fallback;
}
const CHANGES = option('changes', 1000);
const POLL_MS = option('poll-ms', 1);
const LIMIT_MS = 5000; // a change not seen on B within this is reported as missed
const QUIET = args.includes('--quiet');
const say = (...m) => {
  if (!QUIET) console.error(...m);
};

const skip = pgMissing();
if (skip) {
  console.error(`propagation: cannot run: ${skip}`);
  process.exit(2);
}

// Half the changes are grants and revocations, an eighth each token revocations, disabled
// accounts, member removals and sign-outs (the last two need a password hash each to set up).
const PLAN = {
  grant: Math.ceil(CHANGES / 4),
  revoke: Math.ceil(CHANGES / 4),
  token: Math.ceil(CHANGES / 8),
  disabled: Math.ceil(CHANGES / 8),
  member: Math.ceil(CHANGES / 8),
  session: Math.ceil(CHANGES / 8),
};

const ADMIN_EMAIL = 'propagation@bench.example';
const PASSWORD = 'propagation-bench-password-41c7';

const db = await createDatabase();
const [instA, instB] = await startInstances(2, {
  databaseUrl: db.url,
  env: { USHER_ADMIN_EMAIL: ADMIN_EMAIL, USHER_ADMIN_PASSWORD: PASSWORD },
});
const A = keepAliveClient('127.0.0.1', instA.port, 1);
const B = keepAliveClient('127.0.0.1', instB.port, 1);

async function ok(res, what) {
  if (res.status < 200 || res.status >= 300) throw new Error(`${what}: ${res.status} ${res.text}`);
  return res.json;
}
const signIn = async (email) =>
  (await ok(await A.call('POST', '/api/v1/sessions', { body: { email, password: PASSWORD } }), `sign-in ${email}`)).token;

const admin = await signIn(ADMIN_EMAIL);
const agency = await ok(await A.call('POST', '/api/v1/agencies', { token: admin, body: { name: 'Propagation' } }), 'agency');
const production = await ok(await A.call('POST', `/api/v1/agencies/${agency.id}/environments`, {
  token: admin, body: { name: 'production' },
}), 'environment');
const staging = await ok(await A.call('POST', `/api/v1/agencies/${agency.id}/environments`, {
  token: admin, body: { name: 'staging' },
}), 'environment');

let seq = 0;
// A new member with role agent in production; resolves {id, email, session}.
async function newMember() {
  const email = `member-${++seq}@bench.example`;
  const inv = await ok(await A.call('POST', `/api/v1/agencies/${agency.id}/invitations`, {
    token: admin, body: { email, grants: [{ environment_id: production.id, roles: ['agent'] }], send_email: false },
  }), 'invitation');
  const acc = await ok(await A.call('POST', '/api/v1/invitations/accept', {
    body: { token: tokenOf(inv.url), password: PASSWORD, first_name: 'Bench', last_name: `${seq}` },
  }), 'accept');
  return { id: acc.user.id, email, session: acc.token };
}

// B's answer to "may userId reply in production?".
const allowedOnB = async (userId) => {
  const r = await B.call('POST', '/api/v1/check', {
    token: admin, body: { user_id: userId, permission: 'inbox.reply', environment_id: production.id },
  });
  if (r.status !== 200) throw new Error(`check on B: ${r.status} ${r.text}`);
  return r.json.allowed;
};

// Polls probe on B until it returns true; the milliseconds from since to that answer, or null.
const polls = [];
async function until(probe, since) {
  for (;;) {
    const t = performance.now();
    const seen = await probe();
    polls.push(performance.now() - t);
    if (seen) return performance.now() - since;
    if (performance.now() - since > LIMIT_MS) return null;
    if (POLL_MS > 0) await sleep(POLL_MS);
  }
}

const results = { grant: [], revoke: [], token: [], disabled: [], member: [], session: [] };
const jitter = () => sleep(Math.random() * 100);
let missed = 0;
function record(kind, ms) {
  if (ms === null) {
    missed++;
    console.error(`propagation: a ${kind} change was not seen on B within ${LIMIT_MS} ms`);
  } else {
    results[kind].push(ms);
  }
}

// Grants and revocations, alternating, on one member.
const g = await newMember();
if ((await until(() => allowedOnB(g.id), performance.now())) === null) throw new Error('B never saw the member');
for (let i = 0; i < PLAN.grant + PLAN.revoke; i++) {
  const granting = i % 2 === 1; // the member starts with the grant: first revoke it
  await jitter();
  const res = await A.call('PUT', `/api/v1/agencies/${agency.id}/users/${g.id}/grants`, {
    token: admin,
    body: { grants: [{ environment_id: granting ? production.id : staging.id, roles: ['agent'] }] },
  });
  await ok(res, 'grant change');
  record(granting ? 'grant' : 'revoke', await until(async () => (await allowedOnB(g.id)) === granting, res.at));
}
say(`propagation: ${PLAN.grant + PLAN.revoke} grant changes done`);

// API tokens revoked while in use on B.
for (let i = 0; i < PLAN.token; i++) {
  const tok = await ok(await A.call('POST', `/api/v1/agencies/${agency.id}/tokens`, { token: admin, body: { name: `t${i}` } }), 'token');
  const use = () => B.call('POST', '/api/v1/check', {
    token: tok.token, body: { user_id: g.id, permission: 'inbox.reply', environment_id: production.id },
  });
  if ((await until(async () => (await use()).status === 200, performance.now())) === null) throw new Error('B never took the token');
  // In use for a while before the revocation, so B's cached copy of the token is of any age.
  const inUse = performance.now() + 60 + Math.random() * 100;
  while (performance.now() < inUse) {
    await use();
    await sleep(POLL_MS);
  }
  const res = await A.call('DELETE', `/api/v1/agencies/${agency.id}/tokens/${tok.id}`, { token: admin });
  await ok(res, 'token revocation');
  record('token', await until(async () => (await use()).status === 401, res.at));
}
say(`propagation: ${PLAN.token} token revocations done`);

// Accounts disabled by the platform admin, and made active again before the next one.
for (let i = 0; i < PLAN.disabled; i++) {
  await jitter();
  const res = await A.call('PATCH', `/api/v1/users/${g.id}`, { token: admin, body: { status: 'disabled' } });
  await ok(res, 'account disabled');
  record('disabled', await until(async () => !(await allowedOnB(g.id)), res.at));
  await ok(await A.call('PATCH', `/api/v1/users/${g.id}`, { token: admin, body: { status: 'active' } }), 'account active');
  if ((await until(() => allowedOnB(g.id), performance.now())) === null) throw new Error('B never saw the account active');
}
say(`propagation: ${PLAN.disabled} disabled accounts done`);

// Members removed.
for (let i = 0; i < PLAN.member; i++) {
  const m = await newMember();
  if ((await until(() => allowedOnB(m.id), performance.now())) === null) throw new Error('B never saw the member');
  await jitter();
  const res = await A.call('DELETE', `/api/v1/agencies/${agency.id}/users/${m.id}`, { token: admin });
  await ok(res, 'member removal');
  record('member', await until(async () => !(await allowedOnB(m.id)), res.at));
}
say(`propagation: ${PLAN.member} member removals done`);

// Sessions ended through A.
for (let i = 0; i < PLAN.session; i++) {
  const session = await signIn(g.email);
  const me = () => B.call('GET', '/api/v1/me', { token: session });
  if ((await until(async () => (await me()).status === 200, performance.now())) === null) throw new Error('B never took the session');
  await jitter();
  const res = await A.call('DELETE', '/api/v1/sessions/current', { token: session });
  await ok(res, 'sign-out');
  record('session', await until(async () => (await me()).status === 401, res.at));
}
say(`propagation: ${PLAN.session} sign-outs done`);

A.close();
B.close();
const codes = [await instA.stop(), await instB.stop()];
await db.drop();

// --- the table ------------------------------------------------------------------------------
let version = '';
try {
  version = execFileSync(usherBin, ['version'], { encoding: 'utf8' }).split('\n')[0].trim();
} catch {
  version = 'usher';
}
const rows = [
  ['grant (role granted, B allows)', results.grant],
  ['grant revoked (B denies)', results.revoke],
  ['member removed (B denies)', results.member],
  ['API token revoked (B answers 401)', results.token],
  ['account disabled (B denies)', results.disabled],
  ['session ended (B answers 401)', results.session],
];
const f = (v) => (v === null ? '–' : v.toFixed(1));
const all = summarize(Object.values(results).flat());
const poll = summarize(polls);
console.log(`Propagation from instance A to instance B: ${version} (${usherBin}), PostgreSQL on 127.0.0.1, ` +
  `B polled every ${POLL_MS} ms over keep-alive (one poll: median ${f(poll.median)} ms). ` +
  'Milliseconds from the moment A answered the change until B answered differently.\n');
console.log('| change | count | median ms | p99 ms | max ms |');
console.log('|---|---:|---:|---:|---:|');
for (const [name, values] of rows) {
  const s = summarize(values);
  console.log(`| ${name} | ${s.count} | ${f(s.median)} | ${f(s.p99)} | ${f(s.max)} |`);
}
console.log(`| all | ${all.count} | ${f(all.median)} | ${f(all.p99)} | ${f(all.max)} |`);
if (missed > 0) console.log(`\n${missed} change(s) were not seen on B within ${LIMIT_MS} ms.`);
process.exit(missed === 0 && codes.every((c) => c === 0) ? 0 : 1);
