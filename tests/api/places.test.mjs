// Places that live and die, through the real binary: renaming agencies, environments and bots
// (validation, authority, audit), deleting an environment or a bot with what is scoped to it
// (the preview's counts equal the deletion's; grants go, pending invitations are revoked, /check
// denies at once), suspending and resuming an agency (checks, API tokens and members' sessions
// refused, platform admins still in, everything back on resume), deleting a suspended agency
// (typed confirmation; the audit log still verifies), another agency's ids (404), and the same
// changes reaching a second server on the same database through the change feed.
// Grants are written into the database and the server restarted, so the decision index loads
// them the way it does on every start.
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { runUsher, startUsher, tempDir } from './lib/harness.mjs';

const ADMIN_EMAIL = 'provider@example.com';
const PASSWORD = 'canary-places-password-7e2a';

function assertProblem(res, status, code, field) {
  assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status}: ${res.text}`);
  assert.match(res.headers['content-type'] || '', /^application\/problem\+json/);
  assert.equal(res.json.code, code, `code of ${res.text}`);
  if (field !== undefined) assert.equal(res.json.field, field, `field of ${res.text}`);
}

describe('places that live and die', () => {
  let usher;
  const tokens = {};
  const ids = {};
  const fx = {};
  const secrets = new Set([PASSWORD]);
  const sql = (text) => usher.sql(text);
  const env = { USHER_ADMIN_EMAIL: ADMIN_EMAIL, USHER_ADMIN_PASSWORD: PASSWORD };

  function addUser(key) {
    const id = `usr_places_${key}`;
    sql(`INSERT INTO users (id, email, password_hash, created_at)
         SELECT '${id}', '${key}@places.example', password_hash, 1 FROM users WHERE email = '${ADMIN_EMAIL}'`);
    ids[key] = id;
    return id;
  }

  function grant(userId, agencyId, { environmentId = null, botId = null, roles = '' }) {
    const scope = botId || environmentId || agencyId;
    const q = (v) => (v === null ? 'NULL' : `'${v}'`);
    sql(`INSERT INTO memberships (agency_id, user_id, created_at)
           VALUES ('${agencyId}', '${userId}', 1) ON CONFLICT DO NOTHING;
         INSERT INTO grants (id, agency_id, user_id, environment_id, bot_id, scope_id, roles,
                             extra_permissions, created_at)
           VALUES ('grt_${userId}_${scope}', '${agencyId}', '${userId}', ${q(environmentId)},
                   ${q(botId)}, '${scope}', '${roles}', '', 1);`);
  }

  async function signIn(key) {
    const email = key === 'admin' ? ADMIN_EMAIL : `${key}@places.example`;
    const res = await usher.api('POST', '/api/v1/sessions', { body: { email, password: PASSWORD } });
    assert.ok(res.status === 200 || res.status === 201, `sign-in as ${email}: ${res.status}`);
    secrets.add(res.json.token);
    tokens[key] = res.json.token;
  }

  const as = (key) => (method, urlPath, body) => usher.api(method, urlPath, { token: tokens[key], body });
  const admin = (method, urlPath, body) => as('admin')(method, urlPath, body);

  async function make(urlPath, name) {
    const res = await admin('POST', urlPath, { name });
    assert.equal(res.status, 201, res.text);
    return res.json;
  }

  // Asks /check as the platform admin (explained); returns the answer.
  async function check(userKey, permission, scope) {
    const res = await admin('POST', '/api/v1/check?explain=1', { user_id: ids[userKey], permission, ...scope });
    assert.equal(res.status, 200, res.text);
    return res.json;
  }

  async function invite(agencyId, email, grants) {
    const res = await admin('POST', `/api/v1/agencies/${agencyId}/invitations`, { email, send_email: false, grants });
    assert.equal(res.status, 201, res.text);
    return res.json.id ?? res.json.invitation?.id;
  }

  const count = (text) => Number(sql(text).trim());
  const statusOf = (invitationId) => sql(`SELECT status FROM invitations WHERE id = '${invitationId}'`).trim();

  before(async () => {
    usher = await startUsher({ env });
    await signIn('admin');
    ids.admin = (await admin('GET', '/api/v1/me')).json.user.id;
    fx.A = await make('/api/v1/agencies', 'Acme');
    fx.G = await make('/api/v1/agencies', 'Globex');
    fx.E1 = await make(`/api/v1/agencies/${fx.A.id}/environments`, 'Production');
    fx.E2 = await make(`/api/v1/agencies/${fx.A.id}/environments`, 'Staging');
    fx.E3 = await make(`/api/v1/agencies/${fx.A.id}/environments`, 'Sandbox');
    fx.EG = await make(`/api/v1/agencies/${fx.G.id}/environments`, 'Globex prod');
    fx.B1 = await make(`/api/v1/environments/${fx.E1.id}/bots`, 'Support');
    fx.B2 = await make(`/api/v1/environments/${fx.E1.id}/bots`, 'Sales');
    fx.B3 = await make(`/api/v1/environments/${fx.E2.id}/bots`, 'Staging bot');
    fx.B4 = await make(`/api/v1/environments/${fx.E2.id}/bots`, 'Second staging bot');

    grant(addUser('owner'), fx.A.id, { roles: 'owner' });
    grant(addUser('org'), fx.A.id, { roles: 'organisation_manager' });
    grant(addUser('agent'), fx.A.id, { roles: 'agent' });
    // The developer works in E1 and E2; the E1 agent and the B1 manager hold nothing else.
    grant(addUser('dev'), fx.A.id, { environmentId: fx.E1.id, roles: 'developer' });
    grant(ids.dev, fx.A.id, { environmentId: fx.E2.id, roles: 'developer' });
    grant(addUser('e1agent'), fx.A.id, { environmentId: fx.E1.id, roles: 'agent' });
    grant(addUser('b1mgr'), fx.A.id, { environmentId: fx.E1.id, botId: fx.B1.id, roles: 'bot_manager' });
    grant(addUser('b3mgr'), fx.A.id, { environmentId: fx.E2.id, botId: fx.B3.id, roles: 'bot_manager' });
    grant(ids.b3mgr, fx.A.id, { environmentId: fx.E3.id, roles: 'agent' });
    grant(addUser('e3mgr'), fx.A.id, { environmentId: fx.E3.id, roles: 'environment_manager' });
    grant(addUser('globex'), fx.G.id, { roles: 'owner' });
    // The decision index loads grants at start.
    assert.equal(await usher.stop(), 0);
    usher = await startUsher({ dataDir: usher.dataDir, env });
    for (const key of ['admin', 'owner', 'org', 'agent', 'dev', 'e1agent', 'e3mgr', 'globex']) await signIn(key);

    // Pending invitations: two name E1 (the environment, one of its bots), one names E2's B3,
    // one names only E3.
    fx.invE1 = await invite(fx.A.id, 'in-e1@places.example', [{ environment_id: fx.E1.id, roles: ['agent'] }]);
    fx.invB2 = await invite(fx.A.id, 'in-b2@places.example', [{ bot_id: fx.B2.id, roles: ['bot_manager'] }]);
    fx.invB3 = await invite(fx.A.id, 'in-b3@places.example',
      [{ environment_id: fx.E3.id, roles: ['agent'] }, { bot_id: fx.B3.id, roles: ['bot_manager'] }]);
    fx.invE3 = await invite(fx.A.id, 'in-e3@places.example', [{ environment_id: fx.E3.id, roles: ['agent'] }]);
  });

  after(async () => {
    if (!usher) return;
    const code = await usher.stop();
    const log = JSON.stringify(usher.logs) + usher.stderr.join('\n');
    for (const secret of secrets) assert.ok(!log.includes(secret), 'a secret appeared in the log');
    assert.equal(code, 0);
  });

  describe('renaming', () => {
    it('renames an agency for holders of agency.manage, audited with both names', async () => {
      const res = await as('owner')('PATCH', `/api/v1/agencies/${fx.A.id}`, { name: '  Acme Corp ' });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.name, 'Acme Corp');
      assert.equal(res.json.status, 'active');
      assert.equal((await admin('GET', `/api/v1/agencies/${fx.A.id}`)).json.name, 'Acme Corp');
      const row = sql(`SELECT details FROM audit_log WHERE action = 'agency.renamed' AND scope_id = '${fx.A.id}'`);
      assert.deepEqual(JSON.parse(row.trim()), { old_name: 'Acme', name: 'Acme Corp' });
      const back = await admin('PATCH', `/api/v1/agencies/${fx.A.id}`, { name: 'Acme' });
      assert.equal(back.status, 200, back.text);
      assert.equal(back.json.name, 'Acme');
    });

    it('refuses an agency rename to an organisation manager and an invalid name', async () => {
      assertProblem(await as('org')('PATCH', `/api/v1/agencies/${fx.A.id}`, { name: 'Mine' }), 403, 'forbidden');
      for (const name of ['', '   ', 'x'.repeat(201), 'Ac\nme', 42, null]) {
        const res = await admin('PATCH', `/api/v1/agencies/${fx.A.id}`, { name });
        if (name === null) assertProblem(res, 400, 'invalid_input');
        else assertProblem(res, 400, 'invalid_input', 'name');
      }
      assertProblem(await admin('PATCH', `/api/v1/agencies/${fx.A.id}`, { status: 'closed' }), 400, 'invalid_input', 'status');
      assertProblem(await admin('PATCH', `/api/v1/agencies/${fx.A.id}`, { nickname: 'x' }), 400, 'invalid_input', 'nickname');
      assertProblem(await admin('PATCH', `/api/v1/agencies/${fx.A.id}`, {}), 400, 'invalid_input');
      assert.equal((await admin('GET', `/api/v1/agencies/${fx.A.id}`)).json.name, 'Acme');
    });

    it('keeps require_second_factor working beside the new fields', async () => {
      // Set by a platform admin: members without a second factor could not use their sessions
      // while it is on.
      const on = await admin('PATCH', `/api/v1/agencies/${fx.A.id}`, { require_second_factor: true, name: 'Acme' });
      assert.equal(on.status, 200, on.text);
      assert.equal(on.json.require_second_factor, true);
      assertProblem(await as('owner')('GET', `/api/v1/agencies/${fx.A.id}`), 403, 'second_factor_required');
      const off = await admin('PATCH', `/api/v1/agencies/${fx.A.id}`, { require_second_factor: false });
      assert.equal(off.status, 200, off.text);
      assert.equal(off.json.require_second_factor, false);
    });

    it('applies a name, a status and the second-factor setting all together or not at all', async () => {
      const before = sql(`SELECT name, status, require_second_factor FROM agencies WHERE id = '${fx.A.id}'`);
      // The owner may rename and set the policy, but not suspend: nothing of it happens.
      const refused = await as('owner')('PATCH', `/api/v1/agencies/${fx.A.id}`,
        { name: 'Acme half-done', require_second_factor: true, status: 'suspended' });
      assertProblem(refused, 403, 'forbidden');
      assert.equal(sql(`SELECT name, status, require_second_factor FROM agencies WHERE id = '${fx.A.id}'`), before);
      assert.equal(count(`SELECT COUNT(*) FROM audit_log WHERE scope_id = '${fx.A.id}' AND details LIKE '%half-done%'`), 0);
      // All three from a platform admin (on Globex, whose audit rows no later test counts):
      // one transaction, one row each.
      const state = () => sql(`SELECT name, status, require_second_factor FROM agencies WHERE id = '${fx.G.id}'`);
      const was = state();
      const all = await admin('PATCH', `/api/v1/agencies/${fx.G.id}`,
        { name: 'Globex whole', require_second_factor: true, status: 'suspended' });
      assert.equal(all.status, 200, all.text);
      assert.deepEqual([all.json.name, all.json.status, all.json.require_second_factor], ['Globex whole', 'suspended', true]);
      const back = await admin('PATCH', `/api/v1/agencies/${fx.G.id}`,
        { name: 'Globex', require_second_factor: false, status: 'active' });
      assert.equal(back.status, 200, back.text);
      assert.equal(state(), was);
      const actions = sql(`SELECT action FROM audit_log WHERE scope_id = '${fx.G.id}'
        AND action IN ('agency.renamed', 'agency.suspended', 'agency.resumed', 'agency.updated')`);
      assert.deepEqual(actions.trim().split('\n').sort(),
        ['agency.renamed', 'agency.renamed', 'agency.resumed', 'agency.suspended', 'agency.updated', 'agency.updated']);
    });

    it('renames an environment for those who may create or manage it, not for a developer', async () => {
      const res = await as('org')('PATCH', `/api/v1/environments/${fx.E3.id}`, { name: 'Sandbox 2' });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.name, 'Sandbox 2');
      assert.equal(res.json.agency_id, fx.A.id);
      const byManager = await as('e3mgr')('PATCH', `/api/v1/environments/${fx.E3.id}`, { name: 'Sandbox' });
      assert.equal(byManager.status, 200, byManager.text);
      assertProblem(await as('dev')('PATCH', `/api/v1/environments/${fx.E1.id}`, { name: 'Mine' }), 403, 'forbidden');
      assertProblem(await as('org')('PATCH', `/api/v1/environments/${fx.E3.id}`, { name: '' }), 400, 'invalid_input', 'name');
      assertProblem(await as('org')('PATCH', `/api/v1/environments/${fx.E3.id}`, { name: 'x', id: 'y' }), 400, 'invalid_input', 'id');
      const rows = sql(`SELECT details FROM audit_log WHERE action = 'environment.renamed' AND scope_id = '${fx.E3.id}' ORDER BY id`)
        .trim().split('\n').map((l) => JSON.parse(l));
      assert.deepEqual(rows, [{ old_name: 'Sandbox', name: 'Sandbox 2' }, { old_name: 'Sandbox 2', name: 'Sandbox' }]);
    });

    it('renames a bot for holders of bot.develop in its environment, not for an agent', async () => {
      const res = await as('dev')('PATCH', `/api/v1/bots/${fx.B4.id}`, { name: 'Renamed bot' });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.name, 'Renamed bot');
      assert.equal(res.json.environment_id, fx.E2.id);
      assert.equal((await admin('GET', `/api/v1/bots/${fx.B4.id}`)).json.name, 'Renamed bot');
      assertProblem(await as('agent')('PATCH', `/api/v1/bots/${fx.B4.id}`, { name: 'Mine' }), 403, 'forbidden');
      assertProblem(await as('dev')('PATCH', `/api/v1/bots/${fx.B4.id}`, { name: '\u0001' }), 400, 'invalid_input', 'name');
      const row = sql(`SELECT details FROM audit_log WHERE action = 'bot.renamed' AND scope_id = '${fx.B4.id}'`);
      assert.deepEqual(JSON.parse(row.trim()), { old_name: 'Second staging bot', name: 'Renamed bot' });
    });
  });

  describe("another agency's places", () => {
    it('answers 404 to every change of them', async () => {
      const g = as('globex');
      assertProblem(await g('PATCH', `/api/v1/agencies/${fx.A.id}`, { name: 'Mine' }), 404, 'not_found');
      assertProblem(await g('PATCH', `/api/v1/agencies/${fx.A.id}`, { status: 'suspended' }), 404, 'not_found');
      assertProblem(await g('DELETE', `/api/v1/agencies/${fx.A.id}`, { confirm: 'Acme' }), 404, 'not_found');
      assertProblem(await g('PATCH', `/api/v1/environments/${fx.E2.id}`, { name: 'Mine' }), 404, 'not_found');
      assertProblem(await g('DELETE', `/api/v1/environments/${fx.E2.id}`), 404, 'not_found');
      assertProblem(await g('GET', `/api/v1/environments/${fx.E2.id}/deletion-preview`), 404, 'not_found');
      assertProblem(await g('PATCH', `/api/v1/bots/${fx.B3.id}`, { name: 'Mine' }), 404, 'not_found');
      assertProblem(await g('DELETE', `/api/v1/bots/${fx.B3.id}`), 404, 'not_found');
      assertProblem(await g('GET', `/api/v1/bots/${fx.B3.id}/deletion-preview`), 404, 'not_found');
      assertProblem(await admin('DELETE', '/api/v1/environments/env_unknown'), 404, 'not_found');
      assertProblem(await admin('DELETE', '/api/v1/bots/bot_unknown'), 404, 'not_found');
      assert.equal((await admin('GET', `/api/v1/environments/${fx.E2.id}`)).status, 200);
    });
  });

  describe('deleting an environment', () => {
    it('is refused to a developer, and its preview too', async () => {
      assertProblem(await as('dev')('GET', `/api/v1/environments/${fx.E1.id}/deletion-preview`), 403, 'forbidden');
      assertProblem(await as('dev')('DELETE', `/api/v1/environments/${fx.E1.id}`), 403, 'forbidden');
      assert.equal((await admin('GET', `/api/v1/environments/${fx.E1.id}`)).status, 200);
    });

    it('takes exactly what its preview said, and /check denies at once', async () => {
      assert.equal((await check('e1agent', 'inbox.reply', { environment_id: fx.E1.id })).allowed, true);
      assert.equal((await check('b1mgr', 'bot.read', { bot_id: fx.B1.id })).allowed, true);
      assert.equal((await check('dev', 'bot.develop', { bot_id: fx.B2.id })).allowed, true);
      const preview = await as('org')('GET', `/api/v1/environments/${fx.E1.id}/deletion-preview`);
      assert.equal(preview.status, 200, preview.text);
      // dev's, e1agent's and b1mgr's grants; invitations naming E1 and B2; three people, of
      // whom e1agent and b1mgr hold nothing else in the agency.
      assert.deepEqual(preview.json, { grants_removed: 3, invitations_revoked: 2, people_affected: 3, memberships_ended: 2 });
      assert.equal(count(`SELECT COUNT(*) FROM grants WHERE scope_id IN ('${fx.E1.id}', '${fx.B1.id}')`), 3);

      const res = await as('org')('DELETE', `/api/v1/environments/${fx.E1.id}`);
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json, preview.json);

      for (const [who, perm, scope] of [
        ['e1agent', 'inbox.reply', { environment_id: fx.E1.id }],
        ['b1mgr', 'bot.read', { bot_id: fx.B1.id }],
        ['dev', 'bot.develop', { bot_id: fx.B2.id }],
        ['agent', 'inbox.reply', { environment_id: fx.E1.id }],
      ]) {
        assert.equal((await check(who, perm, scope)).allowed, false, `${who} ${perm} still allowed`);
      }
      // What lies elsewhere stays.
      assert.equal((await check('agent', 'inbox.reply', { environment_id: fx.E2.id })).allowed, true);
      assert.equal((await check('dev', 'bot.develop', { environment_id: fx.E2.id })).allowed, true);

      assertProblem(await admin('GET', `/api/v1/environments/${fx.E1.id}`), 404, 'not_found');
      assertProblem(await admin('GET', `/api/v1/bots/${fx.B1.id}`), 404, 'not_found');
      assert.equal(count(`SELECT COUNT(*) FROM grants WHERE scope_id IN ('${fx.E1.id}', '${fx.B1.id}', '${fx.B2.id}')`), 0);
      assert.equal(statusOf(fx.invE1), 'revoked');
      assert.equal(statusOf(fx.invB2), 'revoked');
      assert.equal(statusOf(fx.invB3), 'pending');
      assert.equal(statusOf(fx.invE3), 'pending');
      // A member left with no grant is no longer a member; the developer still is.
      assert.equal(count(`SELECT COUNT(*) FROM memberships WHERE user_id IN ('${ids.e1agent}', '${ids.b1mgr}')`), 0);
      assert.equal(count(`SELECT COUNT(*) FROM memberships WHERE user_id = '${ids.dev}'`), 1);
      assertProblem(await as('e1agent')('GET', `/api/v1/agencies/${fx.A.id}`), 404, 'not_found');

      const row = sql(`SELECT agency_id || '|' || scope_type || '|' || details FROM audit_log WHERE action = 'environment.deleted' AND scope_id = '${fx.E1.id}'`).trim();
      const [agency, scopeType, details] = row.split('|');
      assert.equal(agency, fx.A.id);
      assert.equal(scopeType, 'environment');
      assert.deepEqual(JSON.parse(details), {
        name: 'Production', grants_removed: 3, invitations_revoked: 2, people_affected: 3,
        memberships_ended: 2, bots_removed: 2,
      });
    });
  });

  describe('deleting a bot', () => {
    it('is refused without bot.develop in its environment', async () => {
      assertProblem(await as('agent')('DELETE', `/api/v1/bots/${fx.B3.id}`), 403, 'forbidden');
      assertProblem(await as('agent')('GET', `/api/v1/bots/${fx.B3.id}/deletion-preview`), 403, 'forbidden');
    });

    it('takes its grants and revokes invitations naming it, as previewed', async () => {
      assert.equal((await check('b3mgr', 'bot.read', { bot_id: fx.B3.id })).allowed, true);
      const preview = await as('dev')('GET', `/api/v1/bots/${fx.B3.id}/deletion-preview`);
      assert.equal(preview.status, 200, preview.text);
      // b3mgr is an agent in E3 too: no membership ends.
      assert.deepEqual(preview.json, { grants_removed: 1, invitations_revoked: 1, people_affected: 1, memberships_ended: 0 });
      const res = await as('dev')('DELETE', `/api/v1/bots/${fx.B3.id}`);
      assert.equal(res.status, 200, res.text);
      // b3mgr keeps an E3 grant, so stays a member.
      assert.deepEqual(res.json, preview.json);
      assert.equal((await check('b3mgr', 'bot.read', { bot_id: fx.B3.id })).allowed, false);
      assert.equal((await check('b3mgr', 'inbox.reply', { environment_id: fx.E3.id })).allowed, true);
      assert.equal(count(`SELECT COUNT(*) FROM grants WHERE scope_id = '${fx.B3.id}'`), 0);
      assert.equal(statusOf(fx.invB3), 'revoked');
      assert.equal(statusOf(fx.invE3), 'pending');
      assertProblem(await admin('GET', `/api/v1/bots/${fx.B3.id}`), 404, 'not_found');
      const details = JSON.parse(sql(`SELECT details FROM audit_log WHERE action = 'bot.deleted' AND scope_id = '${fx.B3.id}'`).trim());
      assert.deepEqual(details, {
        name: 'Staging bot', grants_removed: 1, invitations_revoked: 1, people_affected: 1,
        memberships_ended: 0, environment_id: fx.E2.id,
      });
    });
  });

  describe('suspending and resuming an agency', () => {
    let apiToken;

    before(async () => {
      const res = await as('owner')('POST', `/api/v1/agencies/${fx.A.id}/tokens`, { name: 'inbox service' });
      assert.equal(res.status, 201, res.text);
      secrets.add(res.json.token);
      apiToken = res.json.token;
    });

    const tokenCheck = () => usher.api('POST', '/api/v1/check', {
      token: apiToken, body: { user_id: ids.agent, permission: 'inbox.reply', environment_id: fx.E2.id },
    });

    it('is for platform admins only', async () => {
      assertProblem(await as('owner')('PATCH', `/api/v1/agencies/${fx.A.id}`, { status: 'suspended' }), 403, 'forbidden');
      assert.equal((await admin('GET', `/api/v1/agencies/${fx.A.id}`)).json.status, 'active');
    });

    it('denies every check, refuses the API token and closes the agency to its members', async () => {
      assert.equal((await tokenCheck()).json.allowed, true);
      assert.equal((await as('owner')('GET', `/api/v1/agencies/${fx.A.id}`)).status, 200);
      const res = await admin('PATCH', `/api/v1/agencies/${fx.A.id}`, { status: 'suspended' });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.status, 'suspended');

      const denied = await check('agent', 'inbox.reply', { environment_id: fx.E2.id });
      assert.equal(denied.allowed, false);
      assert.equal(denied.reason, 'agency_suspended');
      assert.equal((await check('owner', 'agency.manage', { agency_id: fx.A.id })).allowed, false);
      assert.equal((await check('dev', 'bot.develop', { bot_id: fx.B4.id })).allowed, false);
      assert.equal((await check('admin', 'bot.read', { environment_id: fx.E2.id })).allowed, false);
      // The member asking about themselves is denied too.
      const own = await as('agent')('POST', '/api/v1/check', { user_id: ids.agent, permission: 'inbox.reply', agency_id: fx.A.id });
      assert.equal(own.status, 200, own.text);
      assert.equal(own.json.allowed, false);
      // Another agency is untouched.
      assert.equal((await check('globex', 'inbox.reply', { environment_id: fx.EG.id })).allowed, true);

      assert.equal((await tokenCheck()).status, 401);
      assertProblem(await as('owner')('GET', `/api/v1/agencies/${fx.A.id}`), 403, 'agency_suspended');
      assertProblem(await as('owner')('GET', `/api/v1/agencies/${fx.A.id}/users`), 403, 'agency_suspended');
      assertProblem(await as('org')('PATCH', `/api/v1/environments/${fx.E3.id}`, { name: 'x' }), 403, 'agency_suspended');
      assertProblem(await as('owner')('POST', `/api/v1/agencies/${fx.A.id}/environments`, { name: 'x' }), 403, 'agency_suspended');
      // Members still see it listed, with its status.
      const listed = (await as('owner')('GET', '/api/v1/agencies')).json.items.find((a) => a.id === fx.A.id);
      assert.equal(listed.status, 'suspended');
      // Platform admins still read it and its audit log; nothing was deleted.
      assert.equal((await admin('GET', `/api/v1/agencies/${fx.A.id}`)).json.status, 'suspended');
      const audit = await admin('GET', `/api/v1/agencies/${fx.A.id}/audit`);
      assert.equal(audit.status, 200, audit.text);
      assert.ok(audit.json.items.some((e) => e.action === 'agency.suspended'));
      assert.ok(count(`SELECT COUNT(*) FROM grants WHERE agency_id = '${fx.A.id}'`) > 0);
    });

    it('gives everything back on resume', async () => {
      const res = await admin('PATCH', `/api/v1/agencies/${fx.A.id}`, { status: 'active' });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.status, 'active');
      const allowed = await check('agent', 'inbox.reply', { environment_id: fx.E2.id });
      assert.equal(allowed.allowed, true);
      assert.equal(allowed.reason, undefined);
      assert.equal((await check('dev', 'bot.develop', { bot_id: fx.B4.id })).allowed, true);
      assert.equal((await check('owner', 'agency.manage', { agency_id: fx.A.id })).allowed, true);
      const tok = await tokenCheck();
      assert.equal(tok.status, 200, tok.text);
      assert.equal(tok.json.allowed, true);
      assert.equal((await as('owner')('GET', `/api/v1/agencies/${fx.A.id}`)).status, 200);
      const actions = sql(`SELECT action FROM audit_log WHERE scope_id = '${fx.A.id}' AND action IN ('agency.suspended', 'agency.resumed') ORDER BY id`);
      assert.deepEqual(actions.trim().split('\n'), ['agency.suspended', 'agency.resumed']);
    });
  });

  describe('deleting an agency', () => {
    it('needs a platform admin, a suspended agency and its exact name', async () => {
      assertProblem(await admin('DELETE', `/api/v1/agencies/${fx.A.id}`, { confirm: 'Acme' }), 409, 'agency_not_suspended');
      assertProblem(await as('owner')('DELETE', `/api/v1/agencies/${fx.A.id}`, { confirm: 'Acme' }), 403, 'forbidden');
      assert.equal((await admin('PATCH', `/api/v1/agencies/${fx.A.id}`, { status: 'suspended' })).status, 200);
      assertProblem(await admin('DELETE', `/api/v1/agencies/${fx.A.id}`, { confirm: 'acme' }), 400, 'confirm_mismatch', 'confirm');
      assertProblem(await admin('DELETE', `/api/v1/agencies/${fx.A.id}`, { confirm: 'Acme ' }), 400, 'confirm_mismatch', 'confirm');
      assertProblem(await admin('DELETE', `/api/v1/agencies/${fx.A.id}`, {}), 400, 'invalid_input', 'confirm');
      assert.equal((await admin('GET', `/api/v1/agencies/${fx.A.id}`)).status, 200);
    });

    it('deletes everything under it, keeps its audit chain, and the log still verifies', async () => {
      const chainBefore = count(`SELECT COUNT(*) FROM audit_log WHERE agency_id = '${fx.A.id}'`);
      assert.ok(chainBefore > 0);
      const res = await admin('DELETE', `/api/v1/agencies/${fx.A.id}`, { confirm: 'Acme' });
      assert.equal(res.status, 200, res.text);
      assertProblem(await admin('GET', `/api/v1/agencies/${fx.A.id}`), 404, 'not_found');
      assertProblem(await admin('GET', `/api/v1/environments/${fx.E2.id}`), 404, 'not_found');
      assertProblem(await as('owner')('GET', `/api/v1/agencies/${fx.A.id}`), 404, 'not_found');
      assert.equal((await check('agent', 'inbox.reply', { environment_id: fx.E2.id })).allowed, false);
      assert.equal((await check('admin', 'bot.read', { bot_id: fx.B4.id })).allowed, false);
      assert.equal((await check('globex', 'inbox.reply', { environment_id: fx.EG.id })).allowed, true);
      for (const table of ['environments', 'bots', 'memberships', 'grants', 'invitations', 'api_tokens']) {
        assert.equal(count(`SELECT COUNT(*) FROM ${table} WHERE agency_id = '${fx.A.id}'`), 0, table);
      }
      assert.equal(count(`SELECT COUNT(*) FROM audit_log WHERE agency_id = '${fx.A.id}'`), chainBefore);
      const row = sql(`SELECT coalesce(agency_id, '-') || '|' || chain || '|' || details FROM audit_log WHERE action = 'agency.deleted' AND scope_id = '${fx.A.id}'`).trim();
      const [agency, chain, details] = row.split('|');
      assert.equal(agency, '-');
      assert.equal(chain, 'platform');
      assert.equal(JSON.parse(details).name, 'Acme');

      assert.equal(await usher.stop(), 0);
      const verified = await runUsher(['audit', 'verify', '--data-dir', usher.dataDir]);
      assert.equal(verified.code, 0, verified.stdout + verified.stderr);
      usher = await startUsher({ dataDir: usher.dataDir, env });
      await signIn('admin');
      // A fresh load agrees: the agency is gone, the other one answers.
      assert.equal((await check('agent', 'inbox.reply', { environment_id: fx.E2.id })).allowed, false);
      assert.equal((await check('globex', 'inbox.reply', { environment_id: fx.EG.id })).allowed, true);
    });
  });
});

describe('places changed on one server, seen by another on the same database', () => {
  const servers = [];
  const secrets = new Set([PASSWORD]);
  const env = { USHER_ADMIN_EMAIL: ADMIN_EMAIL, USHER_ADMIN_PASSWORD: PASSWORD };

  after(async () => {
    for (const s of servers) {
      const code = await s.stop();
      const log = JSON.stringify(s.logs) + s.stderr.join('\n');
      for (const secret of secrets) assert.ok(!log.includes(secret), 'a secret appeared in the log');
      assert.equal(code, 0);
    }
  });

  // Polls fn until it returns true, for up to two seconds (the feed is read every 50 ms).
  async function eventually(fn, what) {
    const until = Date.now() + 2000;
    for (;;) {
      if (await fn()) return;
      assert.ok(Date.now() < until, `not seen on the other server: ${what}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  it('denies deleted environments and bots and a suspended agency there too', async () => {
    // Both servers share one database and the server secret, as a deployment must.
    const database = `sqlite:${path.join(tempDir(), 'shared.db')}`;
    const one = await startUsher({ env, args: ['--database', database] });
    servers.push(one);
    const dir = tempDir();
    copyFileSync(path.join(one.dataDir, 'secret'), path.join(dir, 'secret'));
    chmodSync(path.join(dir, 'secret'), 0o600);
    const two = await startUsher({ env, args: ['--database', database], dataDir: dir });
    servers.push(two);

    const signed = await one.api('POST', '/api/v1/sessions', { body: { email: ADMIN_EMAIL, password: PASSWORD } });
    assert.equal(signed.status, 201, signed.text);
    const token = signed.json.token;
    secrets.add(token);
    const on = (server) => (method, urlPath, body) => server.api(method, urlPath, { token, body });
    const adminId = (await on(one)('GET', '/api/v1/me')).json.user.id;
    const made = async (urlPath, name) => {
      const res = await on(one)('POST', urlPath, { name });
      assert.equal(res.status, 201, res.text);
      return res.json;
    };
    const agency = await made('/api/v1/agencies', 'Initech');
    const kept = await made(`/api/v1/agencies/${agency.id}/environments`, 'Kept');
    const doomed = await made(`/api/v1/agencies/${agency.id}/environments`, 'Doomed');
    const doomedBot = await made(`/api/v1/environments/${doomed.id}/bots`, 'In doomed');
    const bot = await made(`/api/v1/environments/${kept.id}/bots`, 'Kept bot');
    const tok = await on(one)('POST', `/api/v1/agencies/${agency.id}/tokens`, { name: 'service' });
    assert.equal(tok.status, 201, tok.text);
    secrets.add(tok.json.token);

    // A platform admin is allowed everything on a place the index knows.
    const allowedOnTwo = async (scope) => {
      const res = await on(two)('POST', '/api/v1/check?explain=1', { user_id: adminId, permission: 'bot.read', ...scope });
      assert.equal(res.status, 200, res.text);
      return res.json;
    };
    const tokenOnTwo = () => two.api('POST', '/api/v1/check', {
      token: tok.json.token, body: { user_id: adminId, permission: 'bot.read', environment_id: kept.id },
    });
    await eventually(async () => (await allowedOnTwo({ bot_id: doomedBot.id })).allowed, 'the new bot');
    await eventually(async () => (await allowedOnTwo({ bot_id: bot.id })).allowed, 'the kept bot');

    assert.equal((await on(one)('DELETE', `/api/v1/environments/${doomed.id}`)).status, 200);
    await eventually(async () => !(await allowedOnTwo({ environment_id: doomed.id })).allowed, 'the deleted environment');
    // Its bot goes with it, though the feed names only the environment.
    assert.equal((await allowedOnTwo({ bot_id: doomedBot.id })).allowed, false);
    assert.equal((await allowedOnTwo({ environment_id: kept.id })).allowed, true);

    assert.equal((await on(one)('DELETE', `/api/v1/bots/${bot.id}`)).status, 200);
    await eventually(async () => !(await allowedOnTwo({ bot_id: bot.id })).allowed, 'the deleted bot');

    assert.equal((await tokenOnTwo()).status, 200);
    assert.equal((await on(one)('PATCH', `/api/v1/agencies/${agency.id}`, { status: 'suspended' })).status, 200);
    await eventually(async () => (await allowedOnTwo({ environment_id: kept.id })).reason === 'agency_suspended', 'the suspension');
    assert.equal((await tokenOnTwo()).status, 401);
    assert.equal((await on(one)('PATCH', `/api/v1/agencies/${agency.id}`, { status: 'active' })).status, 200);
    await eventually(async () => (await allowedOnTwo({ environment_id: kept.id })).allowed, 'the resumption');
    assert.equal((await tokenOnTwo()).status, 200);

    assert.equal((await on(one)('PATCH', `/api/v1/agencies/${agency.id}`, { status: 'suspended' })).status, 200);
    const gone = await on(one)('DELETE', `/api/v1/agencies/${agency.id}`, { confirm: 'Initech' });
    assert.equal(gone.status, 200, gone.text);
    await eventually(async () => {
      const res = await allowedOnTwo({ environment_id: kept.id });
      return !res.allowed && res.reason === undefined;
    }, 'the deleted agency');
    assert.equal((await tokenOnTwo()).status, 401);
  });
});
