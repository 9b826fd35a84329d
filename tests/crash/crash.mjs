// The crash test (SECURITY 34, 35): drives concurrent invitation creates, accepts, grant changes
// and member removals against the real binary delivering to a real SMTP server, kills it with
// SIGKILL at a random moment, restarts it on the same data directory (and, with
// USHER_TEST_DB=postgres, the same PostgreSQL database), and proves after every restart that
//   - every change answered 2xx survived, and every change answered otherwise left nothing;
//   - nothing was applied twice (one invitation per create, one membership per accept);
//   - the audit log matches the state (one invitation.created per invitation, one
//     invitation.accepted per accepted invitation, a grant change row per applied change) and
//     `usher audit verify` passes;
// and at the end that every invitation email was delivered at least once with a stable
// Message-ID. A change whose answer was cut off by the kill may or may not have happened; the
// check accepts either outcome and then follows what the database says.
//
//   node tests/crash/crash.mjs [--cycles N] [--workers N] [--seed N] [--quiet]
//
// USHER_BIN names the binary (default build/usher). The database is SQLite in the data
// directory, or with USHER_TEST_DB=postgres and USHER_TEST_PG_URL a fresh database on that
// PostgreSQL cluster (see tests/api/lib/harness.mjs). Exits 0 when every check held; prints one
// summary line beginning "crash:" with the figures either way.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

import { canaryFindings, rowsIn, runUsher, startUsher, tempDir } from '../api/lib/harness.mjs';
import { linkIn, startSmtp, tokenOf } from '../api/lib/smtp.mjs';

const args = process.argv.slice(2);
function option(name, fallback) {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? Number(args[i + 1]) : fallback;
}
const CYCLES = option('cycles', 5);
const WORKERS = option('workers', 8);
const QUIET = args.includes('--quiet');
let seed = option('seed', Date.now() % 1000000);
const SEED = seed;

// A small deterministic generator, so a failing run can be repeated with --seed.
function random() {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
}
const pick = (list) => list[Math.floor(random() * list.length)];
const t0 = Date.now();
const say = (...m) => {
  if (!QUIET) console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s]`, ...m);
};

const ADMIN_EMAIL = 'crash-admin@crash.example';
const PASSWORD = 'crash-test-password-7f3a';
const ROLE_SETS = [['agent'], ['analyst'], ['producer'], ['agent', 'analyst'], ['operator']];
// Each worker pauses THINK_MS between changes, so the SMTP server keeps up with the emails.
// Invitation sends are limited per inviter (100) and agency (500) and hour: the load spreads
// over enough owners and agencies for the run's length.
const THINK_MS = 40;
const CREATES_PER_CYCLE = Math.ceil(WORKERS * 1.2 * (1000 / (THINK_MS + 15)) * 0.2);
const OWNERS_PER_AGENCY = 4;
const OWNERS = Math.max(2, Math.ceil((CYCLES * CREATES_PER_CYCLE) / 90));
const AGENCIES = Math.ceil(OWNERS / OWNERS_PER_AGENCY);

const figures = {
  cycles: 0,
  acknowledged: 0, // changes answered 2xx
  refused: 0, // changes answered with an error (must have left nothing)
  refusedBy: {}, // status: count
  cut: 0, // changes whose answer the kill cut off
  checked: 0, // facts checked after restarts
  lost: 0,
  doubled: 0,
  emails: 0,
};
const failures = [];
function fail(message) {
  failures.push(message);
  console.error(`crash: FAIL ${message}`);
}

const dataDir = tempDir('usher-crash-');
const smtp = await startSmtp();
const env = {
  USHER_ADMIN_EMAIL: ADMIN_EMAIL,
  USHER_ADMIN_PASSWORD: PASSWORD,
  USHER_SMTP_URL: smtp.url,
  USHER_SMTP_FROM: 'crash@crash.example',
  USHER_THREADS: 4,
};

// Reads the database while usher runs, as objects. Asynchronous, so the SMTP server in this
// process keeps taking mail meanwhile.
const rows = (text) => rowsIn(dataDir, text, { timeoutMs: 120000 });

let usher = null;
async function start() {
  usher = await startUsher({ env, dataDir, timeoutMs: 60000 });
  const bad = usher.stderr.find((l) => /Sanitizer|runtime error/.test(l));
  if (bad) fail(`sanitizer report at start: ${bad}`);
}
const call = (token, method, urlPath, body) =>
  usher.api(method, urlPath, { token, body, headers: { Connection: 'close' } });

async function signIn(email) {
  const res = await call(undefined, 'POST', '/api/v1/sessions', { email, password: PASSWORD });
  assert.ok(res.status === 200 || res.status === 201, `sign-in ${email}: ${res.status} ${res.text}`);
  return res.json.token;
}

// --- the ledger ------------------------------------------------------------------------------
// invitations: email -> {agency, inviter, grants, state}
//   state: 'created' (2xx), 'refused' (error answer), 'cut' (no answer); later 'pending',
//   'accepted' or 'absent' once a restart showed what happened.
// members: userId -> {agency, email, invitationId, grants (expected), cutGrants (or null),
//   removed: false | true | 'cut', grantChanges: {acknowledged, cut}}
const invitations = new Map();
const members = new Map();
const busy = new Set(); // emails and user ids an operation is working on
let emailSeq = 0;

const grantsFor = (agency, roles) => [{ environment_id: pick(agency.environments), roles }];
const grantKey = (list) =>
  list
    .map((g) => `${g.environment_id || g.bot_id || 'agency'}:${[...g.roles].sort().join(',')}`)
    .sort()
    .join('|');

// One request; {status} or {status: null} when the kill cut it off.
async function attempt(fn) {
  try {
    return await fn();
  } catch {
    return { status: null };
  }
}
const outcome = (res) => (res.status === null ? 'cut' : res.status < 300 ? 'ok' : 'refused');
function count(kind, res) {
  if (kind === 'refused') figures.refusedBy[res.status] = (figures.refusedBy[res.status] || 0) + 1;
  if (kind === 'ok') figures.acknowledged++;
  else if (kind === 'refused') figures.refused++;
  else figures.cut++;
}

async function opCreate(owners, agencies) {
  const agency = pick(agencies);
  const inviter = pick(owners.filter((o) => o.agency === agency.id));
  const email = `crash-${SEED}-${++emailSeq}@crash.example`;
  const grants = grantsFor(agency, pick(ROLE_SETS));
  // A third of the invitations are emailed (and accepted from the email); the others are
  // accepted with the link from the create answer, which keeps the SMTP server's pace.
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
  // Only invitations whose email has arrived: the link comes from the message, as for people.
  const ready = [...invitations.entries()].filter(
    ([email, e]) => (e.state === 'created' || e.state === 'pending') && !busy.has(email) &&
      (e.mail ? smtp.to(email).length > 0 : e.url !== null));
  if (ready.length === 0) return;
  const [email, entry] = pick(ready);
  busy.add(email);
  const token = tokenOf(entry.mail ? linkIn(smtp.to(email)[0].parsed) : entry.url);
  const res = await attempt(() =>
    call(undefined, 'POST', '/api/v1/invitations/accept', {
      token, password: PASSWORD, first_name: 'Crash', last_name: 'Tester',
    }));
  const kind = outcome(res);
  count(kind, res);
  if (kind === 'ok') {
    entry.state = 'accepted';
    members.set(res.json.user.id, {
      agency: entry.agency, email, invitationId: entry.id, grants: entry.grants, cutGrants: null,
      removed: false, acknowledgedChanges: 0, cutChanges: 0,
    });
  } else if (kind === 'cut') {
    entry.state = 'accept-cut';
  }
  busy.delete(email);
}

async function opGrants(agencies, owners) {
  const ready = [...members.entries()].filter(([id, m]) => !m.removed && !busy.has(id));
  if (ready.length === 0) return;
  const [id, m] = pick(ready);
  busy.add(id);
  const agency = agencies.find((a) => a.id === m.agency);
  const owner = owners.find((o) => o.agency === m.agency);
  const grants = grantsFor(agency, pick(ROLE_SETS));
  const res = await attempt(() =>
    call(owner.token, 'PUT', `/api/v1/agencies/${m.agency}/users/${id}/grants`, { grants }));
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

async function opRemove(owners) {
  const ready = [...members.entries()].filter(([id, m]) => !m.removed && !busy.has(id));
  if (ready.length < 4) return; // keep some members for grant changes
  const [id, m] = pick(ready);
  busy.add(id);
  const owner = owners.find((o) => o.agency === m.agency);
  const res = await attempt(() => call(owner.token, 'DELETE', `/api/v1/agencies/${m.agency}/users/${id}`));
  const kind = outcome(res);
  count(kind, res);
  if (kind === 'ok') m.removed = true;
  else if (kind === 'cut') m.removed = 'cut';
  busy.delete(id);
}

async function opCheck(owners) {
  const ready = [...members.entries()].filter(([, m]) => !m.removed);
  if (ready.length === 0) return;
  const [id, m] = pick(ready);
  const owner = owners.find((o) => o.agency === m.agency);
  await attempt(() =>
    call(owner.token, 'POST', '/api/v1/check', {
      user_id: id, permission: 'bot.read', environment_id: m.grants[0].environment_id,
    }));
}

// SIGKILL; resolves once the process is gone.
function sigkill(u) {
  return new Promise((resolve) => {
    if (u.process.exitCode !== null || u.process.signalCode !== null) return resolve(137);
    u.process.once('close', () => resolve(137));
    u.process.kill('SIGKILL');
  });
}

let stopping = false;
async function worker(owners, agencies) {
  while (!stopping) {
    const r = random();
    if (r < 0.2) await opCreate(owners, agencies);
    else if (r < 0.5) await opAccept();
    else if (r < 0.8) await opGrants(agencies, owners);
    else if (r < 0.85) await opRemove(owners);
    else await opCheck(owners);
    await sleep(THINK_MS * (0.5 + random()));
  }
}

// --- the checks after a restart ---------------------------------------------------------------
async function verify(cycle) {
  const invRows = new Map();
  for (const r of await rows(`SELECT id, email, agency_id, status FROM invitations WHERE email LIKE 'crash-${SEED}-%'`)) {
    if (invRows.has(r.email)) {
      fail(`cycle ${cycle}: two invitations for ${r.email}`);
      figures.doubled++;
    }
    invRows.set(r.email, r);
  }
  // Audit rows per action and invitation, and per action and subject.
  const audit = new Map();
  for (const r of await rows(`SELECT action, details FROM audit_log WHERE action LIKE 'invitation.%'`)) {
    const key = `${r.action}|${JSON.parse(r.details).invitation_id ?? ''}|`;
    audit.set(key, (audit.get(key) ?? 0) + 1);
  }
  for (const r of await rows(`SELECT action, subject_user_id AS subject, COUNT(*) AS n FROM audit_log
                         WHERE action LIKE 'member.%' GROUP BY action, subject`)) {
    audit.set(`${r.action}||${r.subject ?? ''}`, r.n);
  }
  const auditCount = (action, inv = '', subject = '') => audit.get(`${action}|${inv}|${subject}`) ?? 0;
  // Users, memberships and grants of the run, read once.
  const userByEmail = new Map();
  for (const r of await rows(`SELECT id, email FROM users WHERE email LIKE 'crash-${SEED}-%'`)) userByEmail.set(r.email, r.id);
  const memberCount = new Map();
  for (const r of await rows('SELECT agency_id, user_id, COUNT(*) AS n FROM memberships GROUP BY agency_id, user_id')) {
    memberCount.set(`${r.agency_id}|${r.user_id}`, r.n);
  }
  const grantRows = new Map();
  for (const r of await rows('SELECT agency_id, user_id, COALESCE(environment_id, bot_id) AS scope, roles FROM grants')) {
    const key = `${r.agency_id}|${r.user_id}`;
    if (!grantRows.has(key)) grantRows.set(key, []);
    grantRows.get(key).push(r);
  }

  for (const [email, e] of invitations) {
    const row = invRows.get(email);
    figures.checked++;
    if (e.state === 'created' || e.state === 'pending' || e.state === 'accepted' || e.state === 'accept-cut') {
      if (!row || (e.id && row.id !== e.id)) {
        fail(`cycle ${cycle}: acknowledged invitation to ${email} is missing`);
        figures.lost++;
        continue;
      }
    } else if (e.state === 'refused' || e.state === 'absent') {
      if (row) fail(`cycle ${cycle}: refused invitation to ${email} exists`);
      continue;
    } else if (e.state === 'cut') {
      // Cut off: either way, and from now on what the database says.
      e.state = row ? 'pending' : 'absent';
      if (row) e.id = row.id;
      if (!row) continue;
    }
    if (auditCount('invitation.created', row.id) !== 1)
      fail(`cycle ${cycle}: invitation ${row.id} has ${auditCount('invitation.created', row.id)} created rows`);
    if (e.state === 'accepted' && row.status !== 'accepted') {
      fail(`cycle ${cycle}: acknowledged accept of ${email} is lost (status ${row.status})`);
      figures.lost++;
    }
    if ((e.state === 'created' || e.state === 'pending') && row.status !== 'pending')
      fail(`cycle ${cycle}: ${email} is ${row.status} though no accept was sent`);
    if (e.state === 'accept-cut') {
      e.state = row.status === 'accepted' ? 'accepted' : 'pending';
      if (row.status === 'accepted') {
        members.set(userByEmail.get(email), {
          agency: e.agency, email, invitationId: row.id, grants: e.grants, cutGrants: null,
          removed: false, acknowledgedChanges: 0, cutChanges: 0,
        });
      }
    }
    const accepted = auditCount('invitation.accepted', row.id);
    if (accepted !== (row.status === 'accepted' ? 1 : 0)) {
      fail(`cycle ${cycle}: invitation ${row.id} (${row.status}) has ${accepted} accepted rows`);
      if (accepted > 1) figures.doubled++;
    }
  }

  for (const [id, m] of members) {
    figures.checked++;
    const member = memberCount.get(`${m.agency}|${id}`) ?? 0;
    const grants = grantRows.get(`${m.agency}|${id}`) ?? [];
    const removedRows = auditCount('member.removed', '', id);
    if (m.removed === 'cut') m.removed = member === 0;
    if (m.removed) {
      if (member !== 0 || grants.length !== 0) {
        fail(`cycle ${cycle}: acknowledged removal of ${id} is lost`);
        figures.lost++;
      }
      if (removedRows !== 1) fail(`cycle ${cycle}: removal of ${id} has ${removedRows} audit rows`);
      continue;
    }
    if (member !== 1) {
      fail(`cycle ${cycle}: member ${id} has ${member} memberships`);
      if (member === 0) figures.lost++;
      else figures.doubled++;
      continue;
    }
    const got = grants.map((g) => `${g.scope}:${g.roles.split(',').filter(Boolean).sort().join(',')}`).sort().join('|');
    const expected = grantKey(m.grants);
    if (got === expected) {
      m.cutGrants = null;
    } else if (m.cutGrants && got === grantKey(m.cutGrants)) {
      m.grants = m.cutGrants;
      m.cutGrants = null;
      m.acknowledgedChanges++;
      m.cutChanges--;
    } else {
      fail(`cycle ${cycle}: member ${id} holds ${got}, expected ${expected}`);
      figures.lost++;
    }
    const changes = auditCount('member.grants_replaced', '', id);
    if (changes < m.acknowledgedChanges || changes > m.acknowledgedChanges + m.cutChanges)
      fail(`cycle ${cycle}: member ${id} has ${changes} grant-change rows for ${m.acknowledgedChanges} applied (+${m.cutChanges} cut)`);
    m.acknowledgedChanges = changes;
    m.cutChanges = 0;
  }
}

async function auditVerify(when) {
  const res = await runUsher(['audit', 'verify', '--data-dir', dataDir], { timeoutMs: 120000 });
  figures.checked++;
  if (res.code !== 0) fail(`${when}: usher audit verify exited ${res.code}: ${res.stdout}${res.stderr}`);
}

// --- the run --------------------------------------------------------------------------------
const started = Date.now();
await start();
const adminToken = await signIn(ADMIN_EMAIL);
const agencies = [];
const owners = [];
for (let i = 0; i < AGENCIES; i++) {
  const agency = (await call(adminToken, 'POST', '/api/v1/agencies', { name: `Crash ${i}` })).json;
  agency.environments = [];
  for (const name of ['production', 'staging']) {
    const env = await call(adminToken, 'POST', `/api/v1/agencies/${agency.id}/environments`, { name });
    agency.environments.push(env.json.id);
  }
  agencies.push(agency);
  for (let k = 0; k < OWNERS_PER_AGENCY && owners.length < OWNERS; k++) {
    const email = `crash-owner-${i}-${k}@crash.example`;
    const inv = await call(adminToken, 'POST', `/api/v1/agencies/${agency.id}/invitations`, {
      email, grants: [{ roles: ['owner'] }], send_email: false,
    });
    assert.equal(inv.status, 201, inv.text);
    const acc = await call(undefined, 'POST', '/api/v1/invitations/accept', {
      token: tokenOf(inv.json.url), password: PASSWORD, first_name: 'Owner', last_name: `${i}-${k}`,
    });
    assert.ok(acc.status < 300, acc.text);
    owners.push({ agency: agency.id, id: acc.json.user.id, token: await signIn(email) });
  }
}
say(`crash: seed ${SEED}, ${CYCLES} cycles, ${WORKERS} workers, ${AGENCIES} agencies, ${owners.length} inviters`);

for (let cycle = 1; cycle <= CYCLES; cycle++) {
  const killAfter = 300 + Math.floor(random() * 1700);
  stopping = false;
  const load = Promise.all(Array.from({ length: WORKERS }, () => worker(owners, agencies)));
  await sleep(killAfter);
  // No new request starts; those in flight meet the kill.
  stopping = true;
  const last = cycle === CYCLES;
  // The last cycle ends with a clean stop, so a sanitizer report at exit is seen too.
  // (The harness's secret canary reads the whole audit table at every stop; once, at the
  // end, covers every cycle's rows, so the kills go straight to the process.)
  const code = last ? await usher.stop() : await sigkill(usher);
  if (last && code !== 0) fail(`usher exited ${code} on SIGTERM`);
  const leaked = canaryFindings(usher.logs.map((l) => JSON.stringify(l)).join('\n') + usher.stderr.join('\n'));
  if (leaked.length > 0) fail(`cycle ${cycle}: ${leaked.length} secret(s) in the server log`);
  const bad = usher.stderr.find((l) => /Sanitizer|runtime error/.test(l));
  if (bad) fail(`cycle ${cycle}: sanitizer report: ${bad}`);
  await load;
  await start();
  await verify(cycle);
  figures.cycles++;
  say(`crash: cycle ${cycle}: killed after ${killAfter} ms; ${figures.acknowledged} acknowledged, ${figures.cut} cut, ${failures.length} failures`);
  if (cycle % 10 === 0) await auditVerify(`cycle ${cycle}`);
}

// Every invitation still pending (or accepted) had its email delivered at least once, each
// address's copies sharing one Message-ID.
// The backlog drains at the SMTP server's pace: wait while mail keeps arriving.
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
    const row = await rows(`SELECT attempts, sent_at, dropped_at, claimed_by, claimed_until, last_error
                      FROM mail_outbox WHERE recipient = '${email}'`);
    fail(`no email reached ${email}: outbox ${JSON.stringify(row)}`);
    figures.lost++;
    continue;
  }
  figures.emails++;
  const ids = new Set(got.map((m) => m.parsed.messageId));
  if (ids.size !== 1) fail(`${email} got ${got.length} emails with ${ids.size} Message-IDs`);
}
const code = await usher.stop();
if (code !== 0) fail(`usher exited ${code} on the final SIGTERM`);
await auditVerify('the end');
await smtp.close();

const seconds = Math.round((Date.now() - started) / 1000);
console.log(
  `crash: ${figures.cycles} cycles in ${seconds}s (seed ${SEED}): ${figures.acknowledged} changes acknowledged, ` +
  `${figures.refused} refused, ${figures.cut} cut off by the kill; ${figures.checked} facts checked; ` +
  `${figures.lost} lost, ${figures.doubled} applied twice; ${figures.emails} invitation emails delivered; ` +
  `${failures.length} failures`,
);
say(`crash: refused answers by status: ${JSON.stringify(figures.refusedBy)}`);
process.exit(failures.length === 0 ? 0 : 1);
