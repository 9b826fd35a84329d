// Strict query strings, dry runs of grant changes, and end-dated grants, through the real
// binary: every route refuses a query parameter it does not read; `?dry_run=1` on creating an
// invitation and on replacing a member's grants answers what would change and changes nothing
// (database, outbox, audit log, decisions); a grant's expires_at ends it at that second with no
// job having run, and the lapse job removes it, audits it and warns three days ahead, once.
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { databaseOf, runUsher, startUsher, tempDir } from './lib/harness.mjs';
import { ADMIN_EMAIL, assertProblem, startWorld } from './lib/world.mjs';

const sorted = (list) => [...list].sort();

// Another usher on the database of world w, with its secret, sending through w's SMTP server.
function startUsherOn(w, env = {}) {
  const dir = tempDir();
  copyFileSync(path.join(w.usher.dataDir, 'secret'), path.join(dir, 'secret'));
  chmodSync(path.join(dir, 'secret'), 0o600);
  const pg = databaseOf(w.usher.dataDir); // '' on SQLite: the file in w's data dir
  return startUsher({
    env: { USHER_SMTP_URL: w.smtp.url, USHER_SMTP_FROM: 'studio@studio.example', ...env },
    ...(pg ? { database: pg } : { args: ['--database', `sqlite:${path.join(w.usher.dataDir, 'usher.db')}`] }),
    dataDir: dir,
  });
}

describe('strict query parameters, dry runs and end-dated grants', () => {
  let w;
  let admin;
  let as;
  const fx = {};
  const perms = {}; // role name -> its permissions, from GET /api/v1/roles

  const count = (table, where = '') => Number(w.sql(`SELECT COUNT(*) FROM ${table} ${where}`).trim());
  const grantsUrl = (userId) => `/api/v1/agencies/${fx.agency}/users/${userId}/grants`;
  async function allowed(userId, permission, environmentId) {
    const res = await as('POST', '/api/v1/check', { user_id: userId, permission, environment_id: environmentId });
    assert.equal(res.status, 200, res.text);
    return res.json.allowed;
  }
  async function recipients(environmentId) {
    const res = await as('GET', `/api/v1/environments/${environmentId}/notification-recipients`);
    assert.equal(res.status, 200, res.text);
    return res.json.items.map((i) => i.id);
  }
  async function effective(userId, environmentId) {
    const res = await as('GET', `/api/v1/users/${userId}/effective?environment_id=${environmentId}`);
    assert.equal(res.status, 200, res.text);
    return res.json.permissions;
  }

  before(async () => {
    // The lapse job keeps its default period here (a minute after the first run at start), so
    // what these tests see of expiries comes from the decision path alone.
    w = await startWorld();
    admin = await w.signIn(ADMIN_EMAIL);
    as = w.as(admin);
    fx.agency = (await w.agencyNew(admin, 'Extra grants')).id;
    fx.env1 = (await w.environmentNew(admin, fx.agency, 'Extra – production')).id;
    fx.env2 = (await w.environmentNew(admin, fx.agency, 'Extra – staging')).id;
    // Invited and accepted, as in production: the decision index learns of them at once.
    const inv = await w.invite(admin, fx.agency, { email: 'member@extra.example', grants: [{ environment_id: fx.env1, roles: ['agent'] }], send_email: false });
    assert.equal(inv.status, 201, inv.text);
    const acc = await w.acceptNew(new URL(inv.json.url).hash.replace(/^#token=/, ''));
    assert.equal(acc.status, 201, acc.text);
    fx.member = acc.json.user.id;
    fx.memberToken = acc.json.token;
    const roles = await as('GET', '/api/v1/roles');
    for (const r of roles.json.items) perms[r.name] = r.permissions;
    // A first request may record the session's use (at most once a minute): get it done.
    await as('GET', '/api/v1/me');
  });

  after(async () => {
    assert.equal(await w.stop(), 0);
  });

  describe('query parameters', () => {
    it('refuses an unknown query parameter on every route, naming it, before anything runs', async () => {
      // Every route but those that take any parameter (`*`: a provider's redirect to the callback).
      const listed = await runUsher(['routes', '--query']);
      assert.equal(listed.code, 0);
      const routes = listed.stdout.trim().split('\n').map((l) => l.split(' ')).filter((r) => r[2] !== '*');
      assert.ok(routes.length > 40);
      const before = w.snapshot();
      for (const [method, pattern] of routes) {
        const path = pattern.replace(/\{[a-z_]+\}/g, (m) => (m === '{user_id}' ? fx.member : fx.agency));
        const res = await w.usher.api(method, `${path}?surprise=1`, { token: admin, body: method === 'GET' || method === 'DELETE' ? undefined : {} });
        assertProblem(res, 400, 'unknown_parameter', 'surprise');
        assert.match(res.json.detail, /surprise/);
      }
      assert.equal(w.snapshot(), before, 'a refused request changed the database');
    });

    it('keeps the parameters a route reads, and refuses one given twice', async () => {
      const list = await as('GET', `/api/v1/agencies/${fx.agency}/users?q=member&limit=5&sort=name`);
      assert.equal(list.status, 200, list.text);
      assert.deepEqual(list.json.items.map((i) => i.id), [fx.member]);
      assertProblem(await as('GET', `/api/v1/agencies/${fx.agency}/users?q=member&qq=1`), 400, 'unknown_parameter', 'qq');
      assertProblem(await as('GET', `/api/v1/agencies?limit=5&limit=6`), 400, 'invalid_input', 'limit');
      assertProblem(await as('GET', `/api/v1/agencies?offset=5`), 400, 'unknown_parameter', 'offset');
      assert.equal((await as('GET', `/api/v1/agencies?limit=1`)).status, 200);
      // dry_run is read by only two routes.
      assertProblem(await as('PATCH', `/api/v1/agencies/${fx.agency}?dry_run=1`, { name: 'Renamed' }), 400, 'unknown_parameter', 'dry_run');
      assert.equal((await as('GET', `/api/v1/agencies/${fx.agency}`)).json.name, 'Extra grants');
    });

    it('accepts dry_run only as 1 or true', async () => {
      const body = { grants: [{ environment_id: fx.env1, roles: ['analyst'] }] };
      for (const v of ['yes', '0', 'false', '', 'TRUE']) {
        assertProblem(await as('PUT', `${grantsUrl(fx.member)}?dry_run=${v}`, body), 400, 'invalid_input', 'dry_run');
      }
      assertProblem(await as('PUT', `${grantsUrl(fx.member)}?dryrun=1`, body), 400, 'unknown_parameter', 'dryrun');
      assertProblem(await as('PUT', `${grantsUrl(fx.member)}?dry_run=1&dry_run=1`, body), 400, 'invalid_input', 'dry_run');
      assert.equal((await as('PUT', `${grantsUrl(fx.member)}?dry_run=true`, body)).status, 200);
      assert.deepEqual(await recipients(fx.env1), [fx.member], 'a dry run changed the grants');
    });
  });

  describe('dry runs', () => {
    it('previews a grants replacement: gained and lost per scope, recipients, and changes nothing', async () => {
      const next = { grants: [{ environment_id: fx.env1, roles: ['analyst'] }, { environment_id: fx.env2, roles: ['operator'] }] };
      const before = {
        snapshot: w.snapshot(),
        grants: count('grants'), audit: count('audit_log'), outbox: count('mail_outbox'),
        check1: await allowed(fx.member, 'inbox.reply', fx.env1),
        check2: await allowed(fx.member, 'inbox.reply', fx.env2),
      };
      assert.equal(before.check1, true);
      assert.equal(before.check2, false);
      const res = await as('PUT', `${grantsUrl(fx.member)}?dry_run=1`, next);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.dry_run, true);
      const byScope = Object.fromEntries(res.json.changes.map((c) => [c.scope_id, c]));
      assert.deepEqual(Object.keys(byScope).sort(), [fx.env1, fx.env2].sort());
      const e1 = byScope[fx.env1];
      assert.equal(e1.scope_type, 'environment');
      assert.equal(e1.scope_name, 'Extra – production');
      assert.deepEqual(sorted(e1.gained), sorted(perms.analyst.filter((p) => !perms.agent.includes(p))));
      assert.deepEqual(sorted(e1.lost), sorted(perms.agent.filter((p) => !perms.analyst.includes(p))));
      assert.ok(e1.lost.includes('inbox.reply'));
      assert.deepEqual(sorted(byScope[fx.env2].gained), sorted(perms.operator));
      assert.deepEqual(byScope[fx.env2].lost, []);
      const rcpt = res.json.notification_recipients;
      assert.deepEqual(rcpt.added.map((r) => [r.user_id, r.email, r.environment_id]), [[fx.member, 'member@extra.example', fx.env2]]);
      assert.deepEqual(rcpt.removed.map((r) => [r.user_id, r.environment_id, r.environment_name]), [[fx.member, fx.env1, 'Extra – production']]);

      // Nothing changed: no row, no audit entry, no email, the same decisions and recipients.
      assert.equal(count('grants'), before.grants);
      assert.equal(count('audit_log'), before.audit);
      assert.equal(count('mail_outbox'), before.outbox);
      assert.equal(w.snapshot(), before.snapshot, 'the dry run changed the database');
      assert.equal(await allowed(fx.member, 'inbox.reply', fx.env1), true);
      assert.equal(await allowed(fx.member, 'inbox.reply', fx.env2), false);
      assert.deepEqual(await recipients(fx.env1), [fx.member]);
      assert.deepEqual(await recipients(fx.env2), []);

      // The real call then does what the preview said.
      const eff1 = await effective(fx.member, fx.env1);
      const eff2 = await effective(fx.member, fx.env2);
      const real = await as('PUT', grantsUrl(fx.member), next);
      assert.equal(real.status, 200, real.text);
      assert.equal(count('audit_log', "WHERE action = 'member.grants_replaced'"), 1);
      const now1 = await effective(fx.member, fx.env1);
      const now2 = await effective(fx.member, fx.env2);
      assert.deepEqual(sorted(now1.filter((p) => !eff1.includes(p))), sorted(e1.gained));
      assert.deepEqual(sorted(eff1.filter((p) => !now1.includes(p))), sorted(e1.lost));
      assert.deepEqual(sorted(now2.filter((p) => !eff2.includes(p))), sorted(byScope[fx.env2].gained));
      assert.deepEqual(await recipients(fx.env1), []);
      assert.deepEqual(await recipients(fx.env2), [fx.member]);
      assert.equal(await allowed(fx.member, 'inbox.reply', fx.env2), true);
    });

    it('runs every check of the real call: a dry run is refused exactly as the change would be', async () => {
      const mgr = w.addUser('envmanager@extra.example');
      w.grant(mgr, fx.agency, { environmentId: fx.env1, roles: 'environment_manager' });
      const mgrToken = await w.signIn('envmanager@extra.example');
      await w.as(mgrToken)('GET', '/api/v1/me');
      const cases = [
        [admin, fx.member, { grants: [{ environment_id: fx.env1, roles: ['wizard'] }] }, 400, 'unknown_role', 'grants[0].roles[0]'],
        [admin, fx.member, { grants: [] }, 400, 'invalid_input', 'grants'],
        [admin, fx.member, { grants: [{ roles: ['agent'] }], extra: 1 }, 400, 'invalid_input', 'extra'],
        // No authority at env2, where the member holds a grant.
        [mgrToken, fx.member, { grants: [{ environment_id: fx.env1, roles: ['agent'] }] }, 403, 'forbidden', undefined],
        [mgrToken, mgr, { grants: [{ environment_id: fx.env1, roles: ['agent'] }] }, 403, 'own_grants', undefined],
      ];
      const snap = w.snapshot();
      for (const [token, userId, body, status, code, field] of cases) {
        const dry = await w.as(token)('PUT', `${grantsUrl(userId)}?dry_run=1`, body);
        assertProblem(dry, status, code, field);
        const real = await w.as(token)('PUT', grantsUrl(userId), body);
        assertProblem(real, status, code, field);
        assert.equal(dry.json.detail, real.json.detail);
      }
      assert.equal(w.snapshot(), snap);
      w.removeMember(mgr, fx.agency);
    });

    it('previews an invitation without creating it, sending it or auditing it', async () => {
      const grants = [{ environment_id: fx.env1, roles: ['agent'] }, { environment_id: fx.env2, roles: ['analyst'] }];
      // A dry run meets the same conflict the real call would: a pending invitation exists.
      const pending = await w.invite(admin, fx.agency, { email: 'pending@extra.example', grants, send_email: false });
      assert.equal(pending.status, 201, pending.text);
      assertProblem(await as('POST', `/api/v1/agencies/${fx.agency}/invitations?dry_run=1`, { email: 'pending@extra.example', grants }),
        409, 'conflict', 'email');

      const body = { email: 'second@extra.example', grants };
      const snap = { snapshot: w.snapshot(), invitations: count('invitations'), created: count('audit_log', "WHERE action = 'invitation.created'") };
      const preview = await as('POST', `/api/v1/agencies/${fx.agency}/invitations?dry_run=1`, body);
      assert.equal(preview.status, 200, preview.text);
      assert.equal(preview.json.dry_run, true);
      const byScope = Object.fromEntries(preview.json.changes.map((c) => [c.scope_id, c]));
      assert.deepEqual(Object.keys(byScope).sort(), [fx.env1, fx.env2].sort());
      assert.deepEqual(sorted(byScope[fx.env1].gained), sorted(perms.agent));
      assert.deepEqual(sorted(byScope[fx.env2].gained), sorted(perms.analyst));
      assert.deepEqual(byScope[fx.env1].lost, []);
      assert.deepEqual(preview.json.notification_recipients.added.map((r) => [r.email, r.environment_id]), [['second@extra.example', fx.env1]]);
      assert.equal(preview.json.notification_recipients.added[0].user_id, undefined);
      assert.deepEqual(preview.json.notification_recipients.removed, []);
      assert.equal(count('invitations'), snap.invitations);
      assert.equal(count('mail_outbox', "WHERE recipient = 'second@extra.example'"), 0);
      assert.equal(w.snapshot(), snap.snapshot, 'the invitation dry run changed the database');

      // Bad input is refused in a dry run as in the real call.
      assertProblem(await as('POST', `/api/v1/agencies/${fx.agency}/invitations?dry_run=1`, { ...body, grants: [{ environment_id: fx.env1, roles: [] }] }), 400, 'empty_grant');
      assertProblem(await as('POST', `/api/v1/agencies/${fx.agency}/invitations?dry_run=maybe`, body), 400, 'invalid_input', 'dry_run');
      assert.equal(w.snapshot(), snap.snapshot);

      const real = await w.invite(admin, fx.agency, body);
      assert.equal(real.status, 201, real.text);
      assert.equal(count('mail_outbox', "WHERE recipient = 'second@extra.example'"), 1);
      assert.equal(count('audit_log', "WHERE action = 'invitation.created'"), snap.created + 1);
      // The sender marks the row once it is delivered: let that happen before the next
      // comparison of snapshots.
      await w.smtp.waitFor('second@extra.example');
      for (let i = 0; i < 200 && count('mail_outbox', 'WHERE sent_at IS NULL AND dropped_at IS NULL') > 0; i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(count('mail_outbox', 'WHERE sent_at IS NULL AND dropped_at IS NULL'), 0);
    });

  describe('end-dated grants', () => {
    const inDays = (days) => new Date(Date.now() + days * 86400e3).toISOString();

    it('accepts expires_at on every grant object and answers it back', async () => {
      const until = inDays(10);
      const put = await as('PUT', grantsUrl(fx.member), { grants: [
        { environment_id: fx.env1, roles: ['agent'], expires_at: until },
        { environment_id: fx.env2, roles: ['operator'] },
      ] });
      assert.equal(put.status, 200, put.text);
      const byEnv = Object.fromEntries(put.json.grants.map((g) => [g.environment_id, g]));
      assert.equal(byEnv[fx.env1].expires_at, until);
      assert.equal(byEnv[fx.env2].expires_at, undefined);
      assert.equal(put.json.access.find((e) => e.environment_id === fx.env1).expires_at, until);
      assert.equal(w.sql(`SELECT granted_by FROM grants WHERE user_id = '${fx.member}' AND scope_id = '${fx.env1}'`).trim(),
        w.sql(`SELECT id FROM users WHERE email = '${ADMIN_EMAIL}'`).trim());
      const list = await as('GET', `/api/v1/agencies/${fx.agency}/users?q=member@extra`);
      assert.equal(list.json.items[0].grants.find((g) => g.environment_id === fx.env1).expires_at, until);
      const me = await w.as(fx.memberToken)('GET', '/api/v1/me');
      const mine = me.json.agencies.find((a) => a.id === fx.agency).grants;
      assert.equal(mine.find((g) => g.environment_id === fx.env1).expires_at, until);
      assert.equal(mine.find((g) => g.environment_id === fx.env2).expires_at, undefined);
      const eff1 = await as('GET', `/api/v1/users/${fx.member}/effective?environment_id=${fx.env1}`);
      assert.equal(eff1.json.expires_at, until);
      const eff2 = await as('GET', `/api/v1/users/${fx.member}/effective?environment_id=${fx.env2}`);
      assert.equal(eff2.json.expires_at, undefined);
      // A dry run carries it too, and changes nothing.
      const snap = w.snapshot();
      const dry = await as('PUT', `${grantsUrl(fx.member)}?dry_run=1`, { grants: [{ environment_id: fx.env1, roles: ['agent'], expires_at: inDays(20) }] });
      assert.equal(dry.status, 200, dry.text);
      assert.equal(w.snapshot(), snap);
    });

    it('refuses an expiry that is not RFC 3339 UTC, not in the future, too far, or on an owner', async () => {
      const put = (expires_at, roles = ['agent']) => as('PUT', grantsUrl(fx.member), { grants: [{ environment_id: fx.env1, roles, expires_at }] });
      assertProblem(await put(new Date(Date.now() - 60e3).toISOString()), 400, 'expiry_in_past', 'grants[0].expires_at');
      assertProblem(await put('tomorrow'), 400, 'invalid_input', 'grants[0].expires_at');
      assertProblem(await put(1893456000000), 400, 'invalid_input', 'grants[0].expires_at');
      assertProblem(await put('2031-02-30T10:00:00Z'), 400, 'invalid_input', 'grants[0].expires_at');
      assertProblem(await put(inDays(10).replace('Z', '+02:00')), 400, 'invalid_input', 'grants[0].expires_at');
      assertProblem(await put(inDays(6 * 365)), 400, 'invalid_input', 'grants[0].expires_at');
      assertProblem(await as('PUT', grantsUrl(fx.member), { grants: [{ roles: ['owner'], expires_at: inDays(3) }] }), 400, 'owner_expiry', 'grants[0].expires_at');
      assert.equal((await put(inDays(4.9 * 365))).status, 200);
      assert.equal((await put(inDays(10).replace(/\.\d+Z$/, '+00:00'))).status, 200);
      assertProblem(await as('POST', `/api/v1/agencies/${fx.agency}/invitations`, {
        email: 'late@extra.example', grants: [{ environment_id: fx.env1, roles: ['agent'], expires_at: '2001-01-01T00:00:00Z' }],
      }), 400, 'expiry_in_past', 'grants[0].expires_at');
    });

    it("carries an invitation grant's expiry into the grant it creates, set by the inviter", async () => {
      const until = inDays(30);
      const inv = await w.invite(admin, fx.agency, { email: 'temp@extra.example', send_email: false,
        grants: [{ environment_id: fx.env2, roles: ['analyst'], expires_at: until }] });
      assert.equal(inv.status, 201, inv.text);
      assert.equal(inv.json.grants[0].expires_at, until);
      const acc = await w.acceptNew(new URL(inv.json.url).hash.replace(/^#token=/, ''));
      assert.equal(acc.status, 201, acc.text);
      const detail = await as('GET', `/api/v1/agencies/${fx.agency}/users/${acc.json.user.id}`);
      assert.equal(detail.json.grants[0].expires_at, until);
      assert.equal(w.sql(`SELECT expires_at FROM grants WHERE user_id = '${acc.json.user.id}'`).trim(), String(Date.parse(until)));
      assert.equal(w.sql(`SELECT granted_by FROM grants WHERE user_id = '${acc.json.user.id}'`).trim(),
        w.sql(`SELECT id FROM users WHERE email = '${ADMIN_EMAIL}'`).trim());
    });

    it('denies from expires_at on, with no job having run', async () => {
      const until = new Date(Date.now() + 4000); // room for a loaded machine before it ends
      const put = await as('PUT', grantsUrl(fx.member), { grants: [
        { environment_id: fx.env1, roles: ['agent'], expires_at: until.toISOString() },
        { environment_id: fx.env2, roles: ['analyst'] },
      ] });
      assert.equal(put.status, 200, put.text);
      assert.equal(await allowed(fx.member, 'inbox.reply', fx.env1), true);
      assert.deepEqual(await recipients(fx.env1), [fx.member]);
      await new Promise((r) => setTimeout(r, until.getTime() - Date.now() + 100));
      assert.equal(await allowed(fx.member, 'inbox.reply', fx.env1), false);
      assert.deepEqual(await effective(fx.member, fx.env1), []);
      assert.deepEqual(await recipients(fx.env1), []);
      assert.equal(await allowed(fx.member, 'analytics.read', fx.env2), true, 'the grant without an end still counts');
      const me = await w.as(fx.memberToken)('GET', '/api/v1/me');
      assert.deepEqual(me.json.agencies.find((a) => a.id === fx.agency).grants.map((g) => g.environment_id), [fx.env2]);
      // The row is still there and nothing was audited: the lapse job has not run.
      assert.equal(count('grants', `WHERE user_id = '${fx.member}' AND scope_id = '${fx.env1}'`), 1);
      assert.equal(count('audit_log', "WHERE action = 'grant.lapsed'"), 0);
    });
  });

  describe('the grant ceiling in time', () => {
    const DAY = 86400e3;
    const iso = (ms) => new Date(ms).toISOString();
    // Ends with milliseconds of their own, so an answer rounded to the second would show.
    const soon = Math.floor((Date.now() + 10 * DAY) / 1000) * 1000 + 250;
    const later = soon + 30 * DAY;
    const people = {};
    const grantable = (token, query) => w.as(token)('GET', `/api/v1/agencies/${fx.agency}/grantable?${query}`);
    async function member(email, grants) {
      const inv = await w.invite(admin, fx.agency, { email, send_email: false, grants });
      assert.equal(inv.status, 201, inv.text);
      const acc = await w.acceptNew(new URL(inv.json.url).hash.replace(/^#token=/, ''));
      assert.equal(acc.status, 201, acc.text);
      return { id: acc.json.user.id, token: acc.json.token };
    }

    before(async () => {
      // A manager of production until `soon` and of staging until `later`: their latest end is
      // not the one that applies in production.
      people.lead = await member('lead@extra.example', [
        { environment_id: fx.env1, roles: ['environment_manager'], expires_at: iso(soon) },
        { environment_id: fx.env2, roles: ['environment_manager'], expires_at: iso(later) },
      ]);
      people.steady = await member('steady@extra.example', [{ environment_id: fx.env1, roles: ['environment_manager'] }]);
      people.helper = await member('helper@extra.example', [{ environment_id: fx.env1, roles: ['analyst'] }]);
      fx.bot = (await as('POST', `/api/v1/environments/${fx.env1}/bots`, { name: 'Ceiling bot' })).json.id;
      assert.ok(fx.bot);
    });

    it('answers until: the end of the right to give at the scope, null when it does not end and for admins', async () => {
      for (const purpose of ['invite', 'manage']) {
        const prod = await grantable(people.lead.token, `environment_id=${fx.env1}&for=${purpose}`);
        assert.equal(prod.status, 200, prod.text);
        assert.equal(prod.json.until, iso(soon));
        const agent = prod.json.roles.find((r) => r.id === 'agent');
        assert.equal(agent.grantable, true);
        assert.equal(agent.until, iso(soon));
        assert.equal(prod.json.roles.find((r) => r.id === 'owner').until, null, 'not grantable: no end to name');
        assert.equal(prod.json.extra_permissions.find((p) => p.name === 'inbox.reply').until, iso(soon));
        const staging = await grantable(people.lead.token, `environment_id=${fx.env2}&for=${purpose}`);
        assert.equal(staging.json.until, iso(later));
        const steady = await grantable(people.steady.token, `environment_id=${fx.env1}&for=${purpose}`);
        assert.equal(steady.json.until, null);
        assert.equal(steady.json.roles.find((r) => r.id === 'agent').until, null);
        const mine = await as('GET', `/api/v1/agencies/${fx.agency}/grantable?environment_id=${fx.env1}&for=${purpose}`);
        assert.equal(mine.json.until, null);
        assert.ok(mine.json.roles.every((r) => r.until === null));
      }
      const bot = await grantable(people.lead.token, `bot_id=${fx.bot}`);
      assert.equal(bot.json.needs, 'bot.delegate');
      assert.equal(bot.json.until, iso(soon));
      // Where one may not give at all there is no end to name.
      const none = await grantable(people.helper.token, `environment_id=${fx.env1}`);
      assert.equal(none.json.until, null);
      assert.ok(none.json.roles.every((r) => !r.grantable && r.until === null));
    });

    it('enforces exactly that end: a grant ending at until is accepted, a millisecond later refused naming it', async () => {
      const t = w.as(people.lead.token);
      const until = Date.parse((await grantable(people.lead.token, `environment_id=${fx.env1}`)).json.until);
      const body = (email, at) => ({ email, send_email: false, grants: [{ environment_id: fx.env1, roles: ['agent'], expires_at: iso(at) }] });
      const late = await t('POST', `/api/v1/agencies/${fx.agency}/invitations`, body('late.help@extra.example', until + 1));
      assertProblem(late, 403, 'grant_ceiling', 'grants[0]');
      // The refusal names the end that applies here, not the lead's latest one (staging's).
      assert.match(late.json.detail, new RegExp(iso(soon).replace(/\./g, '\\.')));
      assert.doesNotMatch(late.json.detail, new RegExp(iso(later).replace(/\./g, '\\.')));
      const never = await t('POST', `/api/v1/agencies/${fx.agency}/invitations`, { ...body('late.help@extra.example', until), grants: [{ environment_id: fx.env1, roles: ['agent'] }] });
      assertProblem(never, 403, 'grant_ceiling', 'grants[0]');
      const ok = await t('POST', `/api/v1/agencies/${fx.agency}/invitations`, body('late.help@extra.example', until));
      assert.equal(ok.status, 201, ok.text);
      assert.equal(ok.json.grants[0].expires_at, iso(until));
      // Changing grants: the same end, asked for users.manage.
      const manageUntil = Date.parse((await grantable(people.lead.token, `environment_id=${fx.env1}&for=manage`)).json.until);
      const put = (at) => t('PUT', grantsUrl(people.helper.id), { grants: [{ environment_id: fx.env1, roles: ['analyst'], expires_at: iso(at) }] });
      assertProblem(await put(manageUntil + 1), 403, 'grant_ceiling', 'grants[0]');
      assert.equal((await put(manageUntil)).status, 200);
      // In staging the lead's own end is later, and it holds there.
      const staging = (at) => t('POST', `/api/v1/agencies/${fx.agency}/invitations`, { email: 'staging.help@extra.example', send_email: false,
        grants: [{ environment_id: fx.env2, roles: ['agent'], expires_at: iso(at) }] });
      assertProblem(await staging(later + 1), 403, 'grant_ceiling', 'grants[0]');
      assert.equal((await staging(later)).status, 201);
    });

    it('holds a bot manager invitation and a bulk file to the same end, and lets them carry it', async () => {
      const t = w.as(people.lead.token);
      const until = (await grantable(people.lead.token, `bot_id=${fx.bot}`)).json.until;
      const managers = `/api/v1/bots/${fx.bot}/managers`;
      assertProblem(await t('POST', managers, { email: 'bots@extra.example', send_email: false }), 403, 'grant_ceiling', 'expires_at');
      const past = await t('POST', managers, { email: 'bots@extra.example', send_email: false, expires_at: iso(Date.parse(until) + 1) });
      assertProblem(past, 403, 'grant_ceiling', 'expires_at');
      assert.match(past.json.detail, /^expires_at: it would outlast your own access here/);
      const bot = await t('POST', managers, { email: 'bots@extra.example', send_email: false, expires_at: until });
      assert.equal(bot.status, 201, bot.text);
      assert.equal(bot.json.grants[0].expires_at, until);
      assert.equal(bot.json.grants[0].bot_id, fx.bot);
      // The admin's bot invitations need no end.
      const adminBot = await as('POST', managers, { email: 'bots2@extra.example', send_email: false });
      assert.equal(adminBot.status, 201, adminBot.text);
      assert.equal(adminBot.json.grants[0].expires_at, undefined);

      const prodUntil = (await grantable(people.lead.token, `environment_id=${fx.env1}`)).json.until;
      const csv = 'email,environment,roles\r\nbulk.one@extra.example,Extra – production,Agent\r\n';
      const bulk = (query) => w.usher.api('POST', `/api/v1/agencies/${fx.agency}/invitations/bulk${query}`,
        { token: people.lead.token, raw: csv, headers: { 'Content-Type': 'text/csv' } });
      // A row without an end of its own ends with the lead's right to give it; so does the
      // request's default when it would outlast it. A row asking for more is refused.
      const plain = await bulk('?validate_only=1');
      assert.equal(plain.status, 200, plain.text);
      assert.equal(plain.json.rows[0].expires_at, prodUntil);
      const tooLate = await bulk(`?validate_only=1&expires_at=${encodeURIComponent(iso(Date.parse(prodUntil) + 1))}`);
      assert.equal(tooLate.status, 200, tooLate.text);
      assert.equal(tooLate.json.rows[0].expires_at, prodUntil);
      const asking = await w.usher.api('POST', `/api/v1/agencies/${fx.agency}/invitations/bulk?validate_only=1`, {
        token: people.lead.token,
        raw: `email,environment,roles,expires_at\r\nbulk.one@extra.example,Extra – production,Agent,${iso(Date.parse(prodUntil) + 1)}\r\n`,
        headers: { 'Content-Type': 'text/csv' },
      });
      assertProblem(asking, 400, 'invalid_rows');
      assert.deepEqual(asking.json.problems.map((p) => `${p.row}:${p.column}`), ['2:expires_at']);
      assert.match(asking.json.problems[0].message, /ends on .* UTC: give an end no later than that/);
      assertProblem(await bulk('?validate_only=1&expires_at=soon'), 400, 'invalid_input', 'expires_at');
      const sent = await bulk('');
      assert.equal(sent.status, 200, sent.text);
      assert.equal(sent.json.created, 1);
      const pending = await as('GET', `/api/v1/agencies/${fx.agency}/invitations?status=pending`);
      const made = pending.json.items.find((i) => i.email === 'bulk.one@extra.example');
      assert.equal(made.grants[0].expires_at, prodUntil);
    });
  });
  });
});

// The lapse job, with its period shortened by its setting so a test can wait for it. Several
// instances may run it at once: a second usher on the same database runs it too.
describe('the lapse job', () => {
  let w;
  let admin;
  let as;
  let second;
  const fx = {};
  const count = (table, where = '') => Number(w.sql(`SELECT COUNT(*) FROM ${table} ${where}`).trim());
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  async function until(what, fn, ms = 15000) {
    const end = Date.now() + ms;
    for (;;) {
      if (await fn()) return;
      if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
      await sleep(100);
    }
  }
  async function allowed(userId, permission, environmentId) {
    const res = await as('POST', '/api/v1/check', { user_id: userId, permission, environment_id: environmentId });
    assert.equal(res.status, 200, res.text);
    return res.json.allowed;
  }

  before(async () => {
    w = await startWorld({ env: { USHER_GRANT_LAPSE_INTERVAL_SECONDS: '1' } });
    admin = await w.signIn(ADMIN_EMAIL);
    as = w.as(admin);
    fx.agency = (await w.agencyNew(admin, 'Lapsing')).id;
    fx.env1 = (await w.environmentNew(admin, fx.agency, 'Lapsing – live')).id;
    fx.env2 = (await w.environmentNew(admin, fx.agency, 'Lapsing – test')).id;
    fx.granter = w.addUser('granter@lapse.example');
    w.grant(fx.granter, fx.agency, { roles: 'organisation_manager' });
    fx.granterToken = await w.signIn('granter@lapse.example');
    const inv = await w.invite(admin, fx.agency, { email: 'holder@lapse.example', first_name: 'Hol', grants: [{ environment_id: fx.env2, roles: ['analyst'] }], send_email: false });
    assert.equal(inv.status, 201, inv.text);
    const acc = await w.acceptNew(new URL(inv.json.url).hash.replace(/^#token=/, ''));
    assert.equal(acc.status, 201, acc.text);
    fx.holder = acc.json.user.id;
    // The granter sets a grant ending in ten days, next to one without an end.
    const put = await w.as(fx.granterToken)('PUT', `/api/v1/agencies/${fx.agency}/users/${fx.holder}/grants`, { grants: [
      { environment_id: fx.env1, roles: ['agent'], expires_at: new Date(Date.now() + 10 * 86400e3).toISOString() },
      { environment_id: fx.env2, roles: ['analyst'] },
    ] });
    assert.equal(put.status, 200, put.text);
    // A second instance on the same database runs the job as well.
    second = await startUsherOn(w, { USHER_GRANT_LAPSE_INTERVAL_SECONDS: '1' });
  });

  after(async () => {
    if (second) assert.equal(await second.stop(), 0);
    assert.equal(await w.stop(), 0);
  });

  it('emails the holder and the granter three days before, once, whatever the instances', async () => {
    const where = `WHERE user_id = '${fx.holder}' AND scope_id = '${fx.env1}'`;
    assert.equal(w.sql(`SELECT granted_by FROM grants ${where}`).trim(), fx.granter);
    await sleep(1500);
    assert.equal(count('mail_outbox', "WHERE recipient = 'holder@lapse.example'"), 0, 'ten days ahead: no notice yet');
    w.sql(`UPDATE grants SET expires_at = ${Date.now() + 3 * 86400e3 - 60e3} ${where}`);
    const toHolder = await w.smtp.waitFor('holder@lapse.example');
    const toGranter = await w.smtp.waitFor('granter@lapse.example');
    assert.equal(toHolder.parsed.subject, 'Your access ends in three days');
    assert.match(toHolder.parsed.text, /the environment Lapsing – live in the agency Lapsing ends on \d{4}-\d\d-\d\dT/);
    assert.match(toHolder.parsed.text, /granter@lapse\.example/);
    assert.equal(toGranter.parsed.subject, 'Access you gave ends in three days');
    assert.match(toGranter.parsed.text, /Hol \(holder@lapse\.example\)/);
    assert.notEqual(w.sql(`SELECT notice_sent_at FROM grants ${where}`).trim(), '');
    await sleep(2500); // two more runs of each instance
    assert.equal(count('mail_outbox', "WHERE recipient = 'holder@lapse.example'"), 1);
    assert.equal(count('mail_outbox', "WHERE recipient = 'granter@lapse.example'"), 1);
    // The grant still counts until it ends.
    assert.equal(await allowed(fx.holder, 'inbox.reply', fx.env1), true);
  });

  it('removes a lapsed grant with one grant.lapsed entry, and lists stop showing it', async () => {
    const where = `WHERE user_id = '${fx.holder}' AND scope_id = '${fx.env1}'`;
    // Moved into the past behind the index's back: only the job can make the change seen.
    w.sql(`UPDATE grants SET expires_at = ${Date.now() - 1000} ${where}`);
    await until('the grant to lapse', () => count('audit_log', "WHERE action = 'grant.lapsed'") === 1);
    assert.equal(count('grants', where), 0);
    const entry = w.sql(`SELECT subject_user_id, scope_type, scope_id, actor_id FROM audit_log WHERE action = 'grant.lapsed'`).trim();
    assert.equal(entry, `${fx.holder}|environment|${fx.env1}|`);
    // Either instance may have run the job; the other hears of it through the change feed
    // within moments (its index never saw the moved expiry, so only the removal tells it).
    await until('both instances to deny', async () => !(await allowed(fx.holder, 'inbox.reply', fx.env1)), 2000);
    assert.equal(await allowed(fx.holder, 'analytics.read', fx.env2), true);
    const detail = await as('GET', `/api/v1/agencies/${fx.agency}/users/${fx.holder}`);
    assert.equal(detail.status, 200, detail.text);
    assert.deepEqual(detail.json.grants.map((g) => g.environment_id), [fx.env2]);
    const audit = await as('GET', `/api/v1/agencies/${fx.agency}/audit?action=grant.lapsed`);
    assert.equal(audit.json.items.length, 1);
    assert.deepEqual(audit.json.items[0].details.grants, [{ environment_id: fx.env1, roles: ['agent'], extra_permissions: [] }]);
    await sleep(2500);
    assert.equal(count('audit_log', "WHERE action = 'grant.lapsed'"), 1, 'lapsed once, whatever the instances');
    // The second instance heard of it through the change feed.
    const res = await second.api('POST', '/api/v1/check', { token: admin, body: { user_id: fx.holder, permission: 'inbox.reply', environment_id: fx.env1 } });
    assert.equal(res.json.allowed, false);
  });

  it("takes the membership with the person's last grant", async () => {
    w.sql(`UPDATE grants SET expires_at = ${Date.now() - 1000} WHERE user_id = '${fx.holder}'`);
    await until('the last grant to lapse', () => count('audit_log', "WHERE action = 'grant.lapsed'") === 2);
    assert.equal(count('memberships', `WHERE user_id = '${fx.holder}' AND agency_id = '${fx.agency}'`), 0);
    assertProblem(await as('GET', `/api/v1/agencies/${fx.agency}/users/${fx.holder}`), 404, 'not_found');
    await until('both instances to deny', async () => !(await allowed(fx.holder, 'analytics.read', fx.env2)), 2000);
  });
});
