// Strict query strings, dry runs of grant changes, and end-dated grants, through the real
// binary: every route refuses a query parameter it does not read; `?dry_run=1` on creating an
// invitation and on replacing a member's grants answers what would change and changes nothing
// (database, outbox, audit log, decisions); a grant's expires_at ends it at that second with no
// job having run, and the lapse job removes it, audits it and warns three days ahead, once.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { runUsher } from './lib/harness.mjs';
import { ADMIN_EMAIL, assertProblem, startWorld } from './lib/world.mjs';

const sorted = (list) => [...list].sort();

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
    w = await startWorld({ env: { USHER_GRANT_LAPSE_INTERVAL_SECONDS: '1' } });
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
      const listed = await runUsher(['routes']);
      assert.equal(listed.code, 0);
      const routes = listed.stdout.trim().split('\n').map((l) => l.split(' '));
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
    });
  });
});
