// "View as" through the real binary (docs/rules.md, Impersonation; docs/SECURITY.md 24-27): who may start it, what the
// session sees and refuses, how it ends, and the sequences that went wrong elsewhere
// (GitLab #196028, #20388): impersonating again from inside, losing the right midway, and the
// target trying to see or end the session.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { assertProblem, startWorld } from './lib/world.mjs';

describe('impersonation', () => {
  let w;
  const fx = {};
  const ids = {};

  async function auditActions(agencyId) {
    const rows = w.sql(`SELECT action, actor_id, impersonator_id, subject_user_id, details
                        FROM audit_log WHERE agency_id = '${agencyId}' ORDER BY id`);
    return rows.trim().split('\n').filter(Boolean).map((line) => {
      const [action, actor, impersonator, subject, details] = line.split('|');
      return { action, actor, impersonator, subject, details };
    });
  }

  before(async () => {
    w = await startWorld();
    const admin = await w.signIn('provider@studio.example');
    fx.admin = admin;
    fx.A = await w.agencyNew(admin, 'Acme');
    fx.B = await w.agencyNew(admin, 'Globex');
    fx.E1 = await w.environmentNew(admin, fx.A.id, 'Acme – production');
    fx.E2 = await w.environmentNew(admin, fx.A.id, 'Acme – staging');
    ids.manager = w.addUser('manager@acme.example');
    ids.operator = w.addUser('operator@acme.example');
    ids.developer = w.addUser('developer@acme.example');
    ids.orgmgr = w.addUser('orgmgr@acme.example');
    ids.stranger = w.addUser('stranger@globex.example');
    w.grant(ids.manager, fx.A.id, { environmentId: fx.E1.id, roles: 'environment_manager,operator' });
    w.grant(ids.operator, fx.A.id, { environmentId: fx.E1.id, roles: 'operator' });
    w.grant(ids.developer, fx.A.id, { environmentId: fx.E1.id, roles: 'developer' });
    w.grant(ids.orgmgr, fx.A.id, { roles: 'organisation_manager' });
    w.grant(ids.stranger, fx.B.id, { roles: 'owner' });
  });

  after(async () => {
    assert.equal(await w.stop(), 0);
  });

  it('lets an environment manager view as an operator, read-only, attributed to both', async () => {
    const managerToken = await w.signIn('manager@acme.example');
    const start = await w.as(managerToken)('POST', '/api/v1/impersonation', {
      user_id: ids.operator, agency_id: fx.A.id, reason: 'ticket 4711',
    });
    assert.equal(start.status, 201, start.text);
    w.secrets.add(start.json.token);
    assert.equal(start.json.user.id, ids.operator);
    assert.equal(start.json.impersonator.id, ids.manager);
    assert.notEqual(start.json.token, managerToken);
    const minutes = (Date.parse(start.json.expires_at) - Date.now()) / 60000;
    assert.ok(minutes <= 30 && minutes > 28, `at most 30 minutes, got ${minutes}`);
    assert.match(start.headers['set-cookie'][0], /HttpOnly/);

    const view = w.as(start.json.token);
    const me = await view('GET', '/api/v1/me');
    assert.equal(me.status, 200, me.text);
    assert.equal(me.json.user.id, ids.operator);
    assert.equal(me.json.impersonator.id, ids.manager);
    assert.equal(me.json.impersonation.agency_id, fx.A.id);
    assert.deepEqual(me.json.agencies.map((a) => a.id), [fx.A.id]);
    // What the operator sees: the agency and E1, not E2.
    assert.equal((await view('GET', `/api/v1/agencies/${fx.A.id}`)).status, 200);
    const envs = await view('GET', `/api/v1/agencies/${fx.A.id}/environments`);
    assert.deepEqual(envs.json.items.map((e) => e.id), [fx.E1.id]);
    assert.equal((await view('GET', `/api/v1/agencies/${fx.B.id}`)).status, 404);
    // Every write is refused, whatever it is.
    assertProblem(await view('POST', `/api/v1/environments/${fx.E1.id}/bots`, { name: 'x' }),
      403, 'impersonation_read_only');
    assertProblem(await view('POST', `/api/v1/agencies/${fx.A.id}/invitations`, {
      email: 'new@acme.example', grants: [{ environment_id: fx.E1.id, roles: ['agent'] }],
    }), 403, 'impersonation_read_only');
    // The manager's own session ended when the view began.
    assertProblem(await w.as(managerToken)('GET', '/api/v1/me'), 401, 'unauthenticated');

    const end = await view('DELETE', '/api/v1/impersonation');
    assert.equal(end.status, 200, end.text);
    w.secrets.add(end.json.token);
    assert.equal(end.json.user.id, ids.manager);
    assert.notEqual(end.json.token, managerToken);
    assertProblem(await view('GET', '/api/v1/me'), 401, 'unauthenticated');
    const back = await w.as(end.json.token)('GET', '/api/v1/me');
    assert.equal(back.json.user.id, ids.manager);
    assert.equal(back.json.impersonator, undefined);

    const rows = await auditActions(fx.A.id);
    const started = rows.find((r) => r.action === 'impersonation.started');
    assert.deepEqual([started.actor, started.impersonator, started.subject],
      [ids.manager, ids.manager, ids.operator]);
    assert.match(started.details, /ticket 4711/);
    const requests = rows.filter((r) => r.action === 'impersonation.request');
    assert.ok(requests.length >= 6, `every request is recorded (${requests.length})`);
    for (const r of requests) assert.deepEqual([r.actor, r.impersonator], [ids.operator, ids.manager]);
    const ended = rows.find((r) => r.action === 'impersonation.ended');
    assert.deepEqual([ended.actor, ended.impersonator, ended.subject],
      [ids.manager, ids.manager, ids.operator]);
  });

  it('refuses targets whose authority the impersonator does not hold', async () => {
    let manager = w.as(await w.signIn('manager@acme.example'));
    // A developer's bot.develop is work, not authority: the environment manager may look, as
    // they may grant it (rule 4).
    const dev = await manager('POST', '/api/v1/impersonation',
      { user_id: ids.developer, agency_id: fx.A.id });
    assert.equal(dev.status, 201, dev.text);
    w.secrets.add(dev.json.token);
    const back = await w.as(dev.json.token)('DELETE', '/api/v1/impersonation');
    assert.equal(back.status, 200, back.text);
    w.secrets.add(back.json.token);
    manager = w.as(back.json.token);
    // An agency-level organisation manager holds environments.create, which an environment
    // manager does not.
    assertProblem(await manager('POST', '/api/v1/impersonation',
      { user_id: ids.orgmgr, agency_id: fx.A.id }), 403, 'impersonation_forbidden');
    // A platform admin, never; oneself, never.
    const adminId = w.sql("SELECT id FROM users WHERE is_platform_admin = 1").trim();
    assert.notEqual((await manager('POST', '/api/v1/impersonation',
      { user_id: adminId, agency_id: fx.A.id })).status, 201);
    assertProblem(await manager('POST', '/api/v1/impersonation',
      { user_id: ids.manager, agency_id: fx.A.id }), 403, 'impersonation_forbidden');
    // Someone of another agency is not even there.
    assertProblem(await manager('POST', '/api/v1/impersonation',
      { user_id: ids.stranger, agency_id: fx.B.id }), 404, 'not_found');
    assertProblem(await manager('POST', '/api/v1/impersonation',
      { user_id: ids.stranger, agency_id: fx.A.id }), 404, 'not_found');
    // Without users.manage nobody is impersonated.
    const operator = w.as(await w.signIn('operator@acme.example'));
    assertProblem(await operator('POST', '/api/v1/impersonation',
      { user_id: ids.developer, agency_id: fx.A.id }), 403, 'impersonation_forbidden');
    // Unknown fields and missing ones.
    assertProblem(await manager('POST', '/api/v1/impersonation',
      { user_id: ids.operator, agency_id: fx.A.id, read_only: false }), 400, 'invalid_input', 'read_only');
    assertProblem(await manager('POST', '/api/v1/impersonation', { user_id: ids.operator }),
      400, 'invalid_input', 'agency_id');
  });

  it('GitLab #196028: no nesting, and the target can neither see nor end the view', async () => {
    const manager = w.as(await w.signIn('manager@acme.example'));
    const start = await manager('POST', '/api/v1/impersonation',
      { user_id: ids.operator, agency_id: fx.A.id });
    assert.equal(start.status, 201, start.text);
    const view = w.as(start.json.token);
    assertProblem(await view('POST', '/api/v1/impersonation',
      { user_id: ids.operator, agency_id: fx.A.id }), 409, 'impersonation_nested');
    // The operator's own session is a different one: it sees no impersonator and cannot end
    // the manager's view.
    const operator = w.as(await w.signIn('operator@acme.example'));
    const me = await operator('GET', '/api/v1/me');
    assert.equal(me.json.impersonator, undefined);
    assertProblem(await operator('DELETE', '/api/v1/impersonation'), 409, 'not_impersonating');
    assert.equal((await view('GET', '/api/v1/me')).status, 200);
    assert.equal((await view('DELETE', '/api/v1/impersonation')).status, 200);
  });

  it('GitLab #20388: ends at once when the impersonator loses the right', async () => {
    const manager = w.as(await w.signIn('manager@acme.example'));
    const start = await manager('POST', '/api/v1/impersonation',
      { user_id: ids.operator, agency_id: fx.A.id });
    assert.equal(start.status, 201, start.text);
    const view = w.as(start.json.token);
    assert.equal((await view('GET', '/api/v1/me')).status, 200);
    // The manager is demoted to operator while viewing.
    w.sql(`UPDATE grants SET roles = 'operator' WHERE user_id = '${ids.manager}'`);
    assertProblem(await view('GET', '/api/v1/me'), 401, 'impersonation_ended');
    assertProblem(await view('GET', '/api/v1/me'), 401, 'unauthenticated');
    const rows = await auditActions(fx.A.id);
    const ended = rows.filter((r) => r.action === 'impersonation.ended').pop();
    assert.match(ended.details, /right_lost/);
    w.sql(`UPDATE grants SET roles = 'environment_manager,operator' WHERE user_id = '${ids.manager}'`);

    // Removed from the agency altogether: the same.
    const again = await w.as(await w.signIn('manager@acme.example'))('POST', '/api/v1/impersonation',
      { user_id: ids.operator, agency_id: fx.A.id });
    assert.equal(again.status, 201, again.text);
    w.removeMember(ids.manager, fx.A.id);
    assertProblem(await w.as(again.json.token)('GET', `/api/v1/agencies/${fx.A.id}`), 401,
      'impersonation_ended');
    w.grant(ids.manager, fx.A.id, { environmentId: fx.E1.id, roles: 'environment_manager,operator' });
  });

  it('refuses a disabled target', async () => {
    w.sql(`UPDATE users SET status = 'disabled' WHERE id = '${ids.operator}'`);
    const manager = w.as(await w.signIn('manager@acme.example'));
    assertProblem(await manager('POST', '/api/v1/impersonation',
      { user_id: ids.operator, agency_id: fx.A.id }), 403, 'impersonation_forbidden');
    w.sql(`UPDATE users SET status = 'active' WHERE id = '${ids.operator}'`);
  });

  it('keeps every secret out of the log', () => {
    const log = w.logText();
    for (const secret of w.secrets) assert.ok(!log.includes(secret), 'a secret reached the log');
  });
});
