// Fault injection (SECURITY 22, 28, 34, 35): store calls that fail as a busy, broken or full
// database would, through the test build's injection hook (USHER_FAULT_FILE, see
// src/store/store_fault.h), and an SMTP server that is down for a while. Writes answer 503 and
// leave nothing half-done; the decision path denies and never grants; mail waits and is then
// delivered. The release build ignores the hook entirely.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { databaseOf, repoRoot, request, runUsher, tempDir } from './lib/harness.mjs';
import { startSmtp } from './lib/smtp.mjs';
import { ADMIN_EMAIL, PASSWORD, startWorld } from './lib/world.mjs';

// The statement that re-reads one user's grants into the decision index, and only it.
const INDEX_REFRESH = 'sql=FROM grants g LEFT JOIN bots b ON b.id = g.bot_id WHERE g.user_id';

describe('store faults', () => {
  const faultFile = path.join(tempDir(), 'faults');
  let w;
  let supported = false;
  let admin;
  const fx = {};
  const q = (v) => `'${String(v).replace(/'/g, "''")}'`;
  const count = (text) => Number(w.sql(text).trim());
  let injected = 0;

  // Replaces the rules at once (a new file, so the server sees the change on its next call).
  function faults(rules) {
    const tmp = `${faultFile}.new`;
    writeFileSync(tmp, rules);
    renameSync(tmp, faultFile);
  }
  const as = (token) => (method, urlPath, body) => w.usher.api(method, urlPath, { token, body });
  const check = (userId, permission, environmentId) =>
    as(admin)('POST', '/api/v1/check', { user_id: userId, permission, environment_id: environmentId });

  before(async () => {
    writeFileSync(faultFile, '');
    w = await startWorld({ env: { USHER_FAULT_FILE: faultFile, USHER_THREADS: 4 } });
    supported = w.usher.findLogs('store.fault_rules').length > 0;
    admin = await w.signIn(ADMIN_EMAIL);
    fx.A = await w.agencyNew(admin, 'Faulty');
    fx.E1 = await w.environmentNew(admin, fx.A.id, 'Faulty – production');
    fx.member = w.addUser('member@faulty.example');
    w.grant(fx.member, fx.A.id, { environmentId: fx.E1.id, roles: 'agent' });
    // Rows written behind the server's back reach the index through a change it makes.
    const put = await as(admin)('PUT', `/api/v1/agencies/${fx.A.id}/users/${fx.member}/grants`, {
      grants: [{ environment_id: fx.E1.id, roles: ['agent'] }],
    });
    assert.equal(put.status, 200, put.text);
  });

  after(async () => {
    if (!w) return;
    faults('');
    injected = w.usher.findLogs('store.fault').length;
    console.log(`# faults injected: ${injected}`);
    assert.equal(await w.stop(), 0);
  });

  it('answers 503 to writes whose store calls fail, and leaves nothing half-done', async (t) => {
    if (!supported) return t.skip('this binary has no fault injection (USHER_FAULTS)');
    faults('ioerr:0.08:write,full:0.04:write,busy:0.1:commit,ioerr:0.03:begin');
    const invites = [];
    const envs = [];
    const puts = [];
    for (let i = 0; i < 60; i++) {
      if (i % 3 === 0) {
        const email = `fault-${i}@faulty.example`;
        const res = await w.invite(admin, fx.A.id, {
          email, grants: [{ environment_id: fx.E1.id, roles: ['analyst'] }],
        });
        invites.push({ email, status: res.status, id: res.json?.id });
      } else if (i % 3 === 1) {
        const name = `Faulty – ${i}`;
        const res = await as(admin)('POST', `/api/v1/agencies/${fx.A.id}/environments`, { name });
        envs.push({ name, status: res.status, id: res.json?.id });
      } else {
        const roles = i % 2 ? ['operator'] : ['producer'];
        const res = await as(admin)('PUT', `/api/v1/agencies/${fx.A.id}/users/${fx.member}/grants`, {
          grants: [{ environment_id: fx.E1.id, roles }],
        });
        puts.push({ roles, status: res.status });
      }
    }
    faults('');
    const all = [...invites, ...envs, ...puts];
    for (const r of all) assert.ok(r.status < 300 || r.status === 503, `status ${r.status}`);
    assert.ok(all.some((r) => r.status === 503), 'no write failed: the faults did not reach the store');
    assert.ok(all.some((r) => r.status < 300), 'no write succeeded');

    for (const r of invites) {
      const rows = count(`SELECT COUNT(*) FROM invitations WHERE email = ${q(r.email)}`);
      const mail = count(`SELECT COUNT(*) FROM mail_outbox WHERE recipient = ${q(r.email)}`);
      const audit = count(`SELECT COUNT(*) FROM audit_log WHERE action = 'invitation.created'
                           AND id IN (SELECT entry_id FROM audit_personal WHERE email = ${q(r.email)})`);
      const want = r.status < 300 ? 1 : 0;
      assert.deepEqual([rows, mail, audit], [want, want, want], `invitation to ${r.email} (${r.status})`);
    }
    for (const r of envs) {
      const rows = count(`SELECT COUNT(*) FROM environments WHERE name = ${q(r.name)}`);
      const want = r.status < 300 ? 1 : 0;
      assert.equal(rows, want, `environment ${r.name} (${r.status})`);
      if (r.id) {
        assert.equal(count(`SELECT COUNT(*) FROM audit_log WHERE action = 'environment.created'
                            AND scope_id = ${q(r.id)}`), 1);
      }
    }
    // The member holds what the last acknowledged change gave, with one audit row per change.
    const last = puts.filter((r) => r.status < 300).at(-1);
    if (last) {
      assert.equal(w.sql(`SELECT roles FROM grants WHERE user_id = ${q(fx.member)}`).trim(), last.roles.join(','));
    }
    assert.equal(
      count(`SELECT COUNT(*) FROM audit_log WHERE action = 'member.grants_replaced'
             AND subject_user_id = ${q(fx.member)}`),
      1 + puts.filter((r) => r.status < 300).length,
    );
    const verify = await runUsher(['audit', 'verify', '--data-dir', w.usher.dataDir]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  });

  it('fails each write of every kind of change in turn, and each failure leaves the database as it was', async (t) => {
    if (!supported) return t.skip('this binary has no fault injection (USHER_FAULTS)');
    // A session (and its person's last activity) is touched at most once a minute, a write of
    // its own: the sweep signs in afresh whenever its session is half a minute old, before it
    // takes the state to compare, so no touch falls inside a comparison however slowly the
    // machine runs one kind of change.
    let token = await w.signIn(ADMIN_EMAIL);
    let signedAt = Date.now();
    const freshSession = async () => {
      if (Date.now() - signedAt < 30000) return;
      token = await w.signIn(ADMIN_EMAIL);
      signedAt = Date.now();
    };
    const as2 = (...args) => as(token)(...args);
    const pending = () => count(`SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NULL AND dropped_at IS NULL`);
    let failures = 0;
    // Runs op with its 1st, 2nd, ... write failing (then its BEGIN and its COMMIT) until it
    // succeeds; every failed attempt must answer 503 and leave the database unchanged.
    async function sweep(name, op) {
      for (const rule of ['ioerr:@1:begin', 'busy:@1:commit']) {
        // The mail sender must not deliver the previous step's email during the comparison.
        for (let i = 0; i < 200 && pending() > 0; i++) await sleep(10);
        await freshSession();
        const before = w.snapshot();
        faults(rule);
        const res = await op();
        faults('');
        assert.equal(res.status, 503, `${name} under ${rule}: ${res.status} ${res.text}`);
        assert.equal(w.snapshot(), before, `${name} under ${rule} left a change`);
        failures++;
      }
      for (let k = 1; k <= 60; k++) {
        for (let i = 0; i < 200 && pending() > 0; i++) await sleep(10);
        await freshSession();
        const before = w.snapshot();
        faults(`${k % 2 ? 'ioerr' : 'full'}:@${k}:write`);
        const res = await op();
        faults('');
        if (res.status < 300) return res;
        assert.equal(res.status, 503, `${name} with write ${k} failing: ${res.status} ${res.text}`);
        assert.equal(w.snapshot(), before, `${name}: write ${k} failed and left a change`);
        failures++;
      }
      throw new Error(`${name} never succeeded`);
    }
    const agency = await sweep('agency create', () => as2('POST', '/api/v1/agencies', { name: 'Swept' }));
    const A = agency.json.id;
    const env = await sweep('environment create', () =>
      as2('POST', `/api/v1/agencies/${A}/environments`, { name: 'Swept – production' }));
    const E = env.json.id;
    const invite = await sweep('invitation create', () =>
      w.invite(token, A, { email: 'swept@faulty.example', grants: [{ environment_id: E, roles: ['agent'] }] }));
    const link = new URL(invite.json.url).hash.slice('#token='.length);
    const accepted = await sweep('invitation accept', () =>
      w.acceptNew(link, PASSWORD, { first_name: 'Swept', last_name: 'Member' }));
    const member = accepted.json.user.id;
    await sweep('grants replace', () =>
      as2('PUT', `/api/v1/agencies/${A}/users/${member}/grants`, { grants: [{ environment_id: E, roles: ['analyst'] }] }));
    await sweep('custom role create', () =>
      as2('POST', `/api/v1/agencies/${A}/roles`, { name: 'Swept role', permissions: ['bot.read'] }));
    await sweep('API token create', () => as2('POST', `/api/v1/agencies/${A}/tokens`, { name: 'swept' }));
    const other = await w.invite(token, A, {
      email: 'revoked@faulty.example', grants: [{ environment_id: E, roles: ['agent'] }], send_email: false,
    });
    await sweep('invitation revoke', () => as2('DELETE', `/api/v1/invitations/${other.json.id}`));
    await sweep('member remove', () => as2('DELETE', `/api/v1/agencies/${A}/users/${member}`));
    await sweep('agency rename, suspension and second-factor policy', () =>
      as2('PATCH', `/api/v1/agencies/${A}`, { name: 'Swept again', status: 'suspended', require_second_factor: true }));
    console.log(`# write sweep: ${failures} failed attempts, each answered 503 with nothing changed`);
    assert.ok(failures > 40, `only ${failures} failure points`);
    const verify = await runUsher(['audit', 'verify', '--data-dir', w.usher.dataDir]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  });

  it("leaves an agency's name as it was when its second-factor setting cannot be written", async (t) => {
    if (!supported) return t.skip('this binary has no fault injection (USHER_FAULTS)');
    faults('ioerr:1:sql=UPDATE agencies SET require_second_factor');
    const res = await as(admin)('PATCH', `/api/v1/agencies/${fx.A.id}`, { name: 'Faulty renamed', require_second_factor: true });
    faults('');
    assert.equal(res.status, 503, res.text);
    const after = w.sql(`SELECT name, require_second_factor FROM agencies WHERE id = ${q(fx.A.id)}`).trim();
    assert.equal(after, 'Faulty|0');
    assert.equal(count(`SELECT COUNT(*) FROM audit_log WHERE action = 'agency.renamed' AND scope_id = ${q(fx.A.id)}`), 0);
  });

  it('answers 503 while the disk is full, reads still work, and writes work again after', async (t) => {
    if (!supported) return t.skip('this binary has no fault injection (USHER_FAULTS)');
    faults('full:1:write');
    const inv = await w.invite(admin, fx.A.id, {
      email: 'full@faulty.example', grants: [{ environment_id: fx.E1.id, roles: ['agent'] }],
    });
    assert.equal(inv.status, 503, inv.text);
    assert.equal(inv.json.code, 'unavailable');
    const agency = await as(admin)('POST', '/api/v1/agencies', { name: 'Full disk' });
    assert.equal(agency.status, 503);
    const list = await as(admin)('GET', `/api/v1/agencies/${fx.A.id}/environments`);
    assert.equal(list.status, 200);
    const signIn = await w.usher.api('POST', '/api/v1/sessions', { body: { email: ADMIN_EMAIL, password: PASSWORD } });
    assert.equal(signIn.status, 503, 'a session that cannot be stored is not handed out');
    faults('');
    assert.equal(count(`SELECT COUNT(*) FROM invitations WHERE email = 'full@faulty.example'`), 0);
    assert.equal(count(`SELECT COUNT(*) FROM agencies WHERE name = 'Full disk'`), 0);
    const again = await w.invite(admin, fx.A.id, {
      email: 'full@faulty.example', grants: [{ environment_id: fx.E1.id, roles: ['agent'] }],
    });
    assert.equal(again.status, 201, again.text);
  });

  it('denies, never grants, while the decision path cannot read the store', async (t) => {
    if (!supported) return t.skip('this binary has no fault injection (USHER_FAULTS)');
    const truth = {};
    for (const p of ['inbox.reply', 'analytics.read', 'users.manage', 'bot.read']) {
      truth[p] = (await check(fx.member, p, fx.E1.id)).json.allowed;
    }
    faults('ioerr:1:read');
    for (const p of Object.keys(truth)) {
      const res = await check(fx.member, p, fx.E1.id);
      assert.equal(res.status, 503, `${p}: ${res.text}`);
      assert.notEqual(res.json?.allowed, true);
    }
    faults('ioerr:0.25:read,busy:0.1:read');
    let answered = 0;
    for (let i = 0; i < 40; i++) {
      const p = Object.keys(truth)[i % 4];
      const res = await check(fx.member, p, fx.E1.id);
      assert.ok(res.status === 200 || res.status === 503, `${res.status} ${res.text}`);
      if (res.status === 200) {
        answered++;
        assert.equal(res.json.allowed, truth[p], `${p} under read faults`);
      }
    }
    faults('');
    assert.ok(answered > 0 && answered < 40, `answered ${answered} of 40`);
  });

  it('forgets a member whose index refresh fails, so every check denies until it succeeds', async (t) => {
    if (!supported) return t.skip('this binary has no fault injection (USHER_FAULTS)');
    const put = (roles) => as(admin)('PUT', `/api/v1/agencies/${fx.A.id}/users/${fx.member}/grants`, {
      grants: [{ environment_id: fx.E1.id, roles }],
    });
    assert.equal((await put(['agent'])).status, 200);
    assert.equal((await check(fx.member, 'inbox.reply', fx.E1.id)).json.allowed, true);
    faults(`ioerr:1:${INDEX_REFRESH}`);
    const changed = await put(['analyst']);
    assert.equal(changed.status, 200, 'the change committed; only the index refresh failed');
    assert.ok(w.usher.findLogs('authz.refresh_failed').length > 0);
    for (const p of ['inbox.reply', 'analytics.read', 'bot.read']) {
      const res = await check(fx.member, p, fx.E1.id);
      assert.equal(res.status, 200);
      assert.equal(res.json.allowed, false, `${p} while the member's grants cannot be read`);
    }
    // The change feed brings the member back once the store answers again.
    faults('');
    let allowed = false;
    for (let i = 0; i < 100 && !allowed; i++) {
      allowed = (await check(fx.member, 'analytics.read', fx.E1.id)).json.allowed;
      if (!allowed) await sleep(20);
    }
    assert.equal(allowed, true);
    assert.equal((await check(fx.member, 'inbox.reply', fx.E1.id)).json.allowed, false);
  });

  it('answers route checks with 503, never with the data, when grants cannot be read', async (t) => {
    if (!supported) return t.skip('this binary has no fault injection (USHER_FAULTS)');
    const owner = w.addUser('owner@faulty.example');
    w.grant(owner, fx.A.id, { roles: 'owner' });
    const token = await w.signIn('owner@faulty.example');
    assert.equal((await as(token)('GET', `/api/v1/agencies/${fx.A.id}/users`)).status, 200);
    faults('ioerr:1:sql=FROM grants');
    const res = await as(token)('GET', `/api/v1/agencies/${fx.A.id}/users`);
    faults('');
    assert.equal(res.status, 503, res.text);
    assert.equal(res.json.code, 'unavailable');
  });
});

describe('SMTP down for a while', () => {
  it('keeps the email in the outbox and delivers it once the server is back', async () => {
    const smtp = await startSmtp();
    const port = smtp.port;
    const w = await startWorld({ env: { USHER_SMTP_URL: smtp.url } });
    try {
      await w.smtp.close();
      await smtp.close();
      const admin = await w.signIn(ADMIN_EMAIL);
      const A = await w.agencyNew(admin, 'Offline mail');
      const E = await w.environmentNew(admin, A.id, 'Offline mail – production');
      const res = await w.invite(admin, A.id, {
        email: 'later@offline.example', grants: [{ environment_id: E.id, roles: ['agent'] }],
      });
      assert.equal(res.status, 201, 'the invitation does not wait for the mail server');
      await w.usher.waitForLog('mail.retry', () => true, 15000);
      assert.equal(Number(w.sql(`SELECT COUNT(*) FROM mail_outbox WHERE recipient = 'later@offline.example' AND sent_at IS NULL`).trim()), 1);
      const back = await startSmtp({ port });
      try {
        const message = await back.waitFor('later@offline.example', 1, 30000);
        assert.match(message.parsed.text, /#token=/);
        // The row is marked sent just after the server took the message.
        const sent = () => Number(w.sql(`SELECT COUNT(*) FROM mail_outbox
                                         WHERE recipient = 'later@offline.example' AND sent_at IS NOT NULL`).trim());
        for (let i = 0; i < 100 && sent() === 0; i++) await sleep(20);
        assert.equal(sent(), 1);
      } finally {
        await back.close();
      }
    } finally {
      assert.equal(await w.usher.stop(), 0);
    }
  });
});

describe('release build', () => {
  it('ignores the fault settings entirely', async (t) => {
    const release = path.join(repoRoot, 'build/usher');
    if (!existsSync(release)) return t.skip('build/usher is not built');
    // The harness runs $USHER_BIN; this one runs the release binary by hand.
    const u = await startUsherWith(release, { USHER_FAULT_STORE: 'ioerr:1' });
    try {
      assert.equal(u.findLogs('store.fault_rules').length, 0);
      const health = await u.api('GET', '/readyz');
      assert.equal(health.status, 200);
    } finally {
      assert.equal(await u.stop(), 0);
    }
  });
});

// Starts bin serving on a fresh data directory (and its database: see the harness) with only
// PATH and env in its environment.
async function startUsherWith(bin, env) {
  const dir = tempDir();
  const database = databaseOf(dir);
  const args = ['serve', '--listen', '127.0.0.1:0', '--data-dir', dir];
  if (database !== '') args.push('--database', database);
  const child = spawn(bin, args, {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const logs = [];
  let buf = '';
  const listening = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no serve.listening')), 30000);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const l = JSON.parse(line);
          logs.push(l);
          if (l.event === 'serve.listening') {
            clearTimeout(timer);
            resolve(l);
          }
        } catch {
          /* not a log line */
        }
      }
    });
  });
  const l = await listening;
  return {
    findLogs: (event) => logs.filter((x) => x.event === event),
    api: (method, urlPath, opts) => request('127.0.0.1', l.port, method, urlPath, opts),
    stop: () => new Promise((resolve) => {
      child.on('close', (code) => resolve(code));
      child.kill('SIGTERM');
    }),
  };
}
