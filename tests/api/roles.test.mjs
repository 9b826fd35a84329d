// Custom roles of an agency through the real binary: define, list, rename, change and delete
// them; ids (lowercase ASCII identifiers, given or made from the name), display names and
// permissions are validated, look-alike and invisible characters included; grants refer to
// custom roles by id only; the grant ceiling applies to defining roles; a role held by a member
// or offered by a pending invitation cannot be deleted; a change of permissions takes effect on
// the very next request; other agencies see nothing (404).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { startUsher } from './lib/harness.mjs';
import { CYRILLIC_OWNER, INVISIBLE, invisibleDetail } from './lib/lookalikes.mjs';

const ADMIN_EMAIL = 'provider@example.com';
const PASSWORD = 'correct horse battery staple';
const BUILT_IN = [
  'agent', 'operator', 'content_manager', 'analyst', 'producer', 'developer',
  'environment_manager', 'organisation_manager', 'owner', 'bot_manager',
];

function assertProblem(res, status, code, field) {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.text}`);
  assert.match(res.headers['content-type'] || '', /^application\/problem\+json/);
  assert.equal(res.json.code, code, res.text);
  if (field !== undefined) assert.equal(res.json.field, field, res.text);
}

describe('custom roles', () => {
  let usher;
  const tokens = {};
  const users = {};
  const emails = {};
  const fx = {};

  // Members and grants are written straight into the tables while the server runs; the roles
  // themselves only ever go through the API.
  const sql = (text) => usher.sql(text);

  function addUser(key, email) {
    const id = `usr_test_${key}`;
    sql(`INSERT INTO users (id, email, password_hash, created_at)
         SELECT '${id}', '${email}', password_hash, 1 FROM users WHERE email = '${ADMIN_EMAIL}'`);
    users[key] = id;
    emails[key] = email;
    return id;
  }

  function grant(userId, agencyId, { environmentId = null, roles = '', extra = '' }) {
    const scope = environmentId || agencyId;
    const q = (v) => (v === null ? 'NULL' : `'${v}'`);
    sql(`INSERT INTO memberships (agency_id, user_id, created_at)
           VALUES ('${agencyId}', '${userId}', 1) ON CONFLICT DO NOTHING;
         INSERT INTO grants (id, agency_id, user_id, environment_id, bot_id, scope_id,
                             roles, extra_permissions, created_at)
           VALUES ('grt_${userId}_${scope}', '${agencyId}', '${userId}', ${q(environmentId)},
                   NULL, '${scope}', '${roles}', '${extra}', 1)
           ON CONFLICT (id) DO UPDATE SET roles = excluded.roles,
                                          extra_permissions = excluded.extra_permissions;`);
  }

  async function signIn(email) {
    const res = await usher.api('POST', '/api/v1/sessions', { body: { email, password: PASSWORD } });
    assert.equal(res.status, 201, `sign-in as ${email}: ${res.status} ${res.json?.code}`);
    return res.json.token;
  }

  const as = (who) => (method, urlPath, body) => usher.api(method, urlPath, { token: tokens[who], body });
  const rolesPath = (agency) => `/api/v1/agencies/${agency}/roles`;

  async function create(who, agency, body) {
    const res = await as(who)('POST', rolesPath(agency), body);
    assert.equal(res.status, 201, res.text);
    return res.json;
  }

  async function customRoles(who, agency) {
    const res = await as(who)('GET', rolesPath(agency));
    assert.equal(res.status, 200, res.text);
    return res.json.items.filter((r) => !r.built_in);
  }

  before(async () => {
    usher = await startUsher({ env: { USHER_ADMIN_EMAIL: ADMIN_EMAIL, USHER_ADMIN_PASSWORD: PASSWORD } });
    tokens.admin = await signIn(ADMIN_EMAIL);
    const make = async (urlPath, name) => {
      const res = await as('admin')('POST', urlPath, { name });
      assert.equal(res.status, 201, res.text);
      return res.json;
    };
    fx.A = await make('/api/v1/agencies', 'Acme');
    fx.B = await make('/api/v1/agencies', 'Globex');
    fx.E1 = await make(`/api/v1/agencies/${fx.A.id}/environments`, 'Acme – production');

    grant(addUser('owner', 'owner@acme.example'), fx.A.id, { roles: 'owner' });
    // Holds agency.manage, but of the rest only what an agent holds.
    grant(addUser('mgr', 'mgr@acme.example'), fx.A.id, { roles: 'agent', extra: 'agency.manage' });
    grant(addUser('orgmgr', 'orgmgr@acme.example'), fx.A.id, { roles: 'organisation_manager' });
    grant(addUser('agent', 'agent@acme.example'), fx.A.id, { roles: 'agent' });
    grant(addUser('envmgr', 'envmgr@acme.example'), fx.A.id, { environmentId: fx.E1.id, roles: 'owner,agent' });
    addUser('holder', 'holder@acme.example');
    grant(addUser('globex', 'owner@globex.example'), fx.B.id, { roles: 'owner' });
    for (const key of Object.keys(users)) tokens[key] = await signIn(emails[key]);
  });

  after(async () => {
    assert.equal(await usher.stop(), 0);
  });

  describe('POST /api/v1/agencies/{id}/roles', () => {
    it('defines a role and lists it after the built-in roles', async () => {
      const res = await as('owner')('POST', rolesPath(fx.A.id), {
        name: '  Night shift ',
        permissions: ['inbox.reply', 'bot.read', 'crm.read', 'inbox.reply'],
      });
      assert.equal(res.status, 201, res.text);
      assert.deepEqual(Object.keys(res.json).sort(),
        ['built_in', 'created_at', 'id', 'name', 'permissions', 'scopes']);
      assert.equal(res.json.id, 'night_shift', 'the id is made from the name');
      assert.equal(res.json.name, 'Night shift');
      assert.equal(res.json.built_in, false);
      assert.deepEqual(res.json.scopes, ['agency', 'environment']);
      // Catalogue order, each once.
      assert.deepEqual(res.json.permissions, ['inbox.reply', 'crm.read', 'bot.read']);
      assert.ok(!Number.isNaN(Date.parse(res.json.created_at)));
      assert.equal(res.headers.location, `/api/v1/agencies/${fx.A.id}/roles/${res.json.id}`);

      const list = await as('agent')('GET', rolesPath(fx.A.id));
      assert.equal(list.status, 200);
      assert.equal(list.json.next_cursor, null);
      assert.deepEqual(list.json.items.slice(0, BUILT_IN.length).map((r) => r.name), BUILT_IN);
      assert.ok(list.json.items.slice(0, BUILT_IN.length).every((r) => r.built_in === true));
      const mine = list.json.items.find((r) => r.id === res.json.id);
      assert.deepEqual(mine, res.json);
    });

    it('writes a role.created audit row in the agency', async () => {
      const role = await create('owner', fx.A.id, { name: 'Audited', permissions: ['cms.read'] });
      const row = sql(`SELECT agency_id, actor_id, scope_type, scope_id, details FROM audit_log
                       WHERE action = 'role.created' AND details LIKE '%${role.id}%'`);
      assert.equal(row.trim(), `${fx.A.id}|${users.owner}|agency|${fx.A.id}|` +
        JSON.stringify({ role_id: role.id, name: 'Audited', permissions: ['cms.read'] }));
    });

    it('refuses a second role of the same id, or of the same name in any case, in the agency but not in another one', async () => {
      const first = await create('owner', fx.A.id, { name: 'Weekend', permissions: ['inbox.reply'] });
      assert.equal(first.id, 'weekend');
      assertProblem(await as('owner')('POST', rolesPath(fx.A.id), { name: ' WEEKEND ', id: 'weekend_2', permissions: ['cms.read'] }),
        409, 'conflict', 'name');
      assertProblem(await as('owner')('POST', rolesPath(fx.A.id), { name: 'Saturday', id: 'weekend', permissions: ['cms.read'] }),
        409, 'conflict', 'id');
      // The id made from a new name can be taken too: then it must be chosen.
      assertProblem(await as('owner')('POST', rolesPath(fx.A.id), { name: 'Weekend!', permissions: ['cms.read'] }),
        409, 'conflict', 'id');
      const other = await create('globex', fx.B.id, { name: 'Weekend', permissions: ['cms.read'] });
      assert.equal(other.name, 'Weekend');
      assert.equal(other.id, 'weekend', 'ids are unique per agency only');
      assert.equal((await customRoles('owner', fx.A.id)).filter((r) => r.id === 'weekend').length, 1);
      assert.deepEqual((await customRoles('globex', fx.B.id)).find((r) => r.id === 'weekend').permissions, ['cms.read']);
    });

    for (const name of ['owner', 'Owner', 'AGENT', ' bot_manager ', 'Content manager', 'environment-manager', 'BOT MANAGER']) {
      it(`refuses the name ${JSON.stringify(name)}, which reads as a built-in role`, async () => {
        assertProblem(await as('owner')('POST', rolesPath(fx.A.id), { name, id: 'lookalike', permissions: ['cms.read'] }),
          400, 'invalid_input', 'name');
      });
    }

    it('takes a chosen id, checked as given', async () => {
      const role = await create('owner', fx.A.id, { id: 'late_2', name: 'Late shift (2nd line)', permissions: ['cms.read'] });
      assert.equal(role.id, 'late_2');
      assert.equal(role.name, 'Late shift (2nd line)');
      assert.equal(sql(`SELECT name FROM custom_roles WHERE agency_id = '${fx.A.id}' AND id = 'late_2'`).trim(), role.name);
      for (const id of ['Late', 'late shift', 'late-shift', '2nd', 'l', '_late', 'x'.repeat(41), 'owner', 'operator', '', 7]) {
        assertProblem(await as('owner')('POST', rolesPath(fx.A.id), { id, name: 'Any', permissions: ['cms.read'] }),
          400, 'invalid_input', 'id');
      }
      assert.equal((await create('owner', fx.A.id, { id: 'x'.repeat(40), name: 'Forty', permissions: ['cms.read'] })).id, 'x'.repeat(40));
    });

    it('asks for an id when the name does not make one', async () => {
      for (const name of ['Ночная смена', 'Café', '24/7', '!!']) {
        const res = await as('owner')('POST', rolesPath(fx.A.id), { name, permissions: ['cms.read'] });
        assertProblem(res, 400, 'invalid_input', 'id');
        assert.match(res.json.detail, /^id is required/);
      }
      const night = await create('owner', fx.A.id, { id: 'nochnaya', name: 'Ночная смена', permissions: ['cms.read'] });
      assert.equal(night.name, 'Ночная смена');
    });

    it('accepts 64 characters and refuses 65, empty, blank and control characters', async () => {
      const ok = await create('owner', fx.A.id, { id: 'accents', name: 'é'.repeat(64), permissions: ['cms.read'] });
      assert.equal(ok.name, 'é'.repeat(64));
      for (const name of ['x'.repeat(65), '', '   ', 'Night\nshift', 42, null]) {
        assertProblem(await as('owner')('POST', rolesPath(fx.A.id), { name, permissions: ['cms.read'] }),
          400, 'invalid_input', 'name');
      }
      assertProblem(await as('owner')('POST', rolesPath(fx.A.id), { permissions: ['cms.read'] }),
        400, 'invalid_input', 'name');
    });

    it('refuses permissions outside the catalogue, naming the item', async () => {
      assertProblem(await as('owner')('POST', rolesPath(fx.A.id), { name: 'Bad', permissions: ['cms.read', 'cms.delete'] }),
        400, 'unknown_permission', 'permissions[1]');
      assertProblem(await as('owner')('POST', rolesPath(fx.A.id), { name: 'Bad', permissions: ['owner'] }),
        400, 'unknown_permission', 'permissions[0]');
      assertProblem(await as('owner')('POST', rolesPath(fx.A.id), { name: 'Bad', permissions: ['cms.read', 7] }),
        400, 'invalid_input', 'permissions[1]');
      for (const permissions of [[], 'cms.read', { 0: 'cms.read' }, null, undefined]) {
        assertProblem(await as('owner')('POST', rolesPath(fx.A.id), { name: 'Bad', permissions }),
          400, 'invalid_input', 'permissions');
      }
      assert.equal((await customRoles('owner', fx.A.id)).filter((r) => r.name === 'Bad').length, 0);
    });

    for (const field of ['agency_id', 'built_in', 'scopes', 'created_at']) {
      it(`refuses the unknown field ${field}`, async () => {
        assertProblem(await as('owner')('POST', rolesPath(fx.A.id), { name: 'Extra', permissions: ['cms.read'], [field]: 'x' }),
          400, 'invalid_input', field);
      });
    }

    it('needs agency.manage at agency scope', async () => {
      // organisation_manager lacks agency.manage; envmgr holds owner on one environment only.
      for (const who of ['agent', 'orgmgr', 'envmgr']) {
        assertProblem(await as(who)('POST', rolesPath(fx.A.id), { name: `By ${who}`, permissions: ['inbox.reply'] }),
          403, 'forbidden');
      }
      assert.equal(sql("SELECT COUNT(*) FROM custom_roles WHERE name LIKE 'By %'").trim(), '0');
    });

    it('keeps a manager within the permissions they hold', async () => {
      const ok = await create('mgr', fx.A.id, { name: 'Agent-like', permissions: ['inbox.reply', 'agency.manage'] });
      assert.deepEqual(ok.permissions, ['inbox.reply', 'agency.manage']);
      assertProblem(await as('mgr')('POST', rolesPath(fx.A.id), { name: 'Above', permissions: ['inbox.reply', 'crm.read'] }),
        403, 'grant_ceiling', 'permissions[1]');
      // Platform admins are above the ceiling.
      const admin = await create('admin', fx.A.id, { name: 'By admin', permissions: ['crm.write'] });
      assert.deepEqual(admin.permissions, ['crm.write']);
      sql(`DELETE FROM custom_roles WHERE id = '${admin.id}'`);
    });

    it('answers 404 in an agency the caller is not a member of', async () => {
      assertProblem(await as('globex')('POST', rolesPath(fx.A.id), { name: 'Intruder', permissions: ['cms.read'] }),
        404, 'not_found');
      assertProblem(await as('globex')('GET', rolesPath(fx.A.id)), 404, 'not_found');
      assertProblem(await as('owner')('POST', rolesPath('agy_nope'), { name: 'Nowhere', permissions: ['cms.read'] }),
        404, 'not_found');
      assert.equal(sql("SELECT COUNT(*) FROM custom_roles WHERE name IN ('Intruder', 'Nowhere')").trim(), '0');
    });

    it('needs a signed-in caller', async () => {
      assertProblem(await usher.api('POST', rolesPath(fx.A.id), { body: { name: 'Anon', permissions: ['cms.read'] } }),
        401, 'unauthenticated');
      assertProblem(await usher.api('GET', rolesPath(fx.A.id)), 401, 'unauthenticated');
    });
  });

  describe('look-alike and invisible characters (SECURITY 43)', () => {
    for (const c of INVISIBLE) {
      it(`refuses ${c.code} (${c.what}) in a role's id and name, on creation and rename`, async () => {
        let res = await as('owner')('POST', rolesPath(fx.A.id), { name: `Night${c.char} shift`, id: 'night_lookalike', permissions: ['cms.read'] });
        assertProblem(res, 400, 'invalid_input', 'name');
        assert.equal(res.json.detail, invisibleDetail('name', c));
        res = await as('owner')('POST', rolesPath(fx.A.id), { name: 'Night look-alike', id: `night${c.char}`, permissions: ['cms.read'] });
        assertProblem(res, 400, 'invalid_input', 'id');
        assert.equal(res.json.detail, invisibleDetail('id', c));
        res = await as('owner')('POST', rolesPath(fx.A.id), { name: `${c.char}Owner`, permissions: ['cms.read'] });
        assertProblem(res, 400, 'invalid_input', 'name');
        const role = await create('owner', fx.A.id, { name: `Visible ${c.code}`, permissions: ['cms.read'] });
        res = await as('owner')('PATCH', `${rolesPath(fx.A.id)}/${role.id}`, { name: `Visible${c.char}` });
        assertProblem(res, 400, 'invalid_input', 'name');
        assert.equal((await customRoles('owner', fx.A.id)).find((r) => r.id === role.id).name, `Visible ${c.code}`);
        assert.equal((await as('owner')('DELETE', `${rolesPath(fx.A.id)}/${role.id}`)).status, 204);
      });
    }

    it('refuses a Cyrillic "оwner" as an id, and never takes it for the built-in owner', async () => {
      const res = await as('owner')('POST', rolesPath(fx.A.id), { id: CYRILLIC_OWNER, name: 'Boss', permissions: ['cms.read'] });
      assertProblem(res, 400, 'invalid_input', 'id');
      // Without an id, the name does not make one either: it is not ASCII.
      assertProblem(await as('owner')('POST', rolesPath(fx.A.id), { name: CYRILLIC_OWNER, permissions: ['cms.read'] }),
        400, 'invalid_input', 'id');
      assert.equal(sql(`SELECT COUNT(*) FROM custom_roles WHERE name = 'Boss'`).trim(), '0');
    });

    it('takes "оwner" with a Cyrillic о as a display name only: grants refer to the ASCII id', async () => {
      // Display names may be in any script; what a grant names is the id.
      const role = await create('owner', fx.A.id, { id: 'owner_lookalike', name: CYRILLIC_OWNER, permissions: ['cms.read'] });
      assert.equal(role.name, CYRILLIC_OWNER);
      assert.equal(role.id, 'owner_lookalike');
      const url = `/api/v1/agencies/${fx.A.id}/users/${users.holder}/grants`;
      grant(users.holder, fx.A.id, { roles: 'agent' });
      // The look-alike is no role at all, and the display name is not a reference.
      let res = await as('owner')('PUT', url, { grants: [{ roles: [CYRILLIC_OWNER] }] });
      assertProblem(res, 400, 'unknown_role', 'grants[0].roles[0]');
      assert.match(res.json.detail, /custom role; grants refer to it by its id owner_lookalike$/);
      res = await as('owner')('POST', `/api/v1/agencies/${fx.A.id}/invitations`, {
        email: 'lookalike@acme.example', send_email: false, grants: [{ roles: ['agent', CYRILLIC_OWNER] }],
      });
      assertProblem(res, 400, 'unknown_role', 'grants[0].roles[1]');
      assert.equal(sql(`SELECT roles FROM grants WHERE user_id = '${users.holder}'`).trim(), 'agent');
      // By its id it is granted, and gives what the role gives: not what owner gives.
      res = await as('owner')('PUT', url, { grants: [{ roles: ['owner_lookalike'] }] });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json.grants[0].roles, ['owner_lookalike']);
      assert.equal(sql(`SELECT roles FROM grants WHERE user_id = '${users.holder}'`).trim(), 'owner_lookalike');
      const check = await as('admin')('POST', '/api/v1/check', { user_id: users.holder, permission: 'agency.manage', agency_id: fx.A.id });
      assert.equal(check.json.allowed, false);
      const read = await as('admin')('POST', '/api/v1/check', { user_id: users.holder, permission: 'cms.read', agency_id: fx.A.id });
      assert.equal(read.json.allowed, true);
      sql(`DELETE FROM grants WHERE user_id = '${users.holder}'`);
      sql(`DELETE FROM memberships WHERE user_id = '${users.holder}'`);
    });
  });

  describe('PATCH /api/v1/agencies/{id}/roles/{role_id}', () => {
    it('renames a role, keeping its id and every grant that holds it', async () => {
      const role = await create('owner', fx.A.id, { name: 'Creators', permissions: ['environments.create'] });
      grant(users.holder, fx.A.id, { roles: role.id });
      const res = await as('owner')('PATCH', `${rolesPath(fx.A.id)}/${role.id}`, { name: 'Builders' });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json, { ...role, name: 'Builders' });
      assert.equal(sql(`SELECT roles FROM grants WHERE user_id = '${users.holder}'`).trim(), role.id);
      // The holder still gets what the role gives.
      const env = await as('holder')('POST', `/api/v1/agencies/${fx.A.id}/environments`, { name: 'Made by a holder' });
      assert.equal(env.status, 201, env.text);
      const audit = sql(`SELECT details FROM audit_log WHERE action = 'role.updated' AND details LIKE '%${role.id}%'`);
      assert.deepEqual(JSON.parse(audit.trim()), {
        role_id: role.id, name: 'Builders', permissions: ['environments.create'], previous_name: 'Creators',
      });
      sql(`DELETE FROM grants WHERE user_id = '${users.holder}'`);
    });

    it('changes permissions with effect on the very next request', async () => {
      const role = await create('owner', fx.A.id, { name: 'Toggled', permissions: ['bot.read'] });
      grant(users.holder, fx.A.id, { roles: role.id });
      const envPath = `/api/v1/agencies/${fx.A.id}/environments`;
      assertProblem(await as('holder')('POST', envPath, { name: 'Not yet' }), 403, 'forbidden');

      let res = await as('owner')('PATCH', `${rolesPath(fx.A.id)}/${role.id}`, { permissions: ['environments.create', 'bot.read'] });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json.permissions, ['bot.read', 'environments.create']);
      assert.equal((await as('holder')('POST', envPath, { name: 'Now' })).status, 201);

      res = await as('owner')('PATCH', `${rolesPath(fx.A.id)}/${role.id}`, { permissions: ['bot.read'] });
      assert.equal(res.status, 200, res.text);
      assertProblem(await as('holder')('POST', envPath, { name: 'No more' }), 403, 'forbidden');
      const listed = (await customRoles('holder', fx.A.id)).find((r) => r.id === role.id);
      assert.deepEqual(listed.permissions, ['bot.read']);
      sql(`DELETE FROM grants WHERE user_id = '${users.holder}'`);
    });

    it('validates like creation', async () => {
      const role = await create('owner', fx.A.id, { name: 'Patched', permissions: ['cms.read'] });
      await create('owner', fx.A.id, { name: 'Taken', permissions: ['cms.read'] });
      const url = `${rolesPath(fx.A.id)}/${role.id}`;
      assertProblem(await as('owner')('PATCH', url, { name: 'Taken' }), 409, 'conflict', 'name');
      assertProblem(await as('owner')('PATCH', url, { name: 'operator' }), 400, 'invalid_input', 'name');
      assertProblem(await as('owner')('PATCH', url, { name: '' }), 400, 'invalid_input', 'name');
      assertProblem(await as('owner')('PATCH', url, { permissions: ['cms.read', 'nope'] }), 400, 'unknown_permission', 'permissions[1]');
      assertProblem(await as('owner')('PATCH', url, { permissions: [] }), 400, 'invalid_input', 'permissions');
      assertProblem(await as('owner')('PATCH', url, { name: 'TAKEN' }), 409, 'conflict', 'name');
      assertProblem(await as('owner')('PATCH', url, { agency_id: fx.B.id }), 400, 'invalid_input', 'agency_id');
      // The id is fixed for the role's life.
      assertProblem(await as('owner')('PATCH', url, { id: 'renamed' }), 400, 'invalid_input', 'id');
      assertProblem(await as('owner')('PATCH', url, {}), 400, 'invalid_input');
      const same = await as('owner')('PATCH', url, { name: 'Patched', permissions: ['cms.read'] });
      assert.equal(same.status, 200);
      assert.deepEqual(same.json, role);
      assert.equal(sql(`SELECT COUNT(*) FROM audit_log WHERE action = 'role.updated' AND details LIKE '%${role.id}%'`).trim(), '0');
    });

    it('applies the ceiling to added permissions only', async () => {
      const role = await create('owner', fx.A.id, { name: 'Wide', permissions: ['inbox.reply', 'crm.write'] });
      const url = `${rolesPath(fx.A.id)}/${role.id}`;
      assertProblem(await as('mgr')('PATCH', url, { permissions: ['inbox.reply', 'crm.write', 'cms.write'] }),
        403, 'grant_ceiling', 'permissions[2]');
      // Taking crm.write away grants nothing, so a manager without it may.
      const res = await as('mgr')('PATCH', url, { permissions: ['inbox.reply'] });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json.permissions, ['inbox.reply']);
      assertProblem(await as('agent')('PATCH', url, { name: 'By an agent' }), 403, 'forbidden');
    });

    it('answers 404 for unknown roles, roles of another agency and foreign callers', async () => {
      const theirs = await create('globex', fx.B.id, { name: 'Theirs', permissions: ['cms.read'] });
      const ours = await create('owner', fx.A.id, { name: 'Ours', permissions: ['cms.read'] });
      assertProblem(await as('owner')('PATCH', `${rolesPath(fx.A.id)}/nope`, { name: 'X' }), 404, 'not_found');
      assertProblem(await as('owner')('PATCH', `${rolesPath(fx.A.id)}/${theirs.id}`, { name: 'Stolen' }), 404, 'not_found');
      assertProblem(await as('owner')('PATCH', `${rolesPath(fx.B.id)}/${theirs.id}`, { name: 'Stolen' }), 404, 'not_found');
      assertProblem(await as('globex')('PATCH', `${rolesPath(fx.A.id)}/${ours.id}`, { name: 'Stolen' }), 404, 'not_found');
      assertProblem(await as('globex')('PATCH', `${rolesPath(fx.B.id)}/${ours.id}`, { name: 'Stolen' }), 404, 'not_found');
      assert.equal(sql("SELECT COUNT(*) FROM custom_roles WHERE name = 'Stolen'").trim(), '0');
      // The same id in two agencies: each agency reaches only its own.
      const mine = await create('owner', fx.A.id, { name: 'Theirs', permissions: ['cms.write'] });
      assert.equal(mine.id, theirs.id);
      assert.equal((await as('owner')('PATCH', `${rolesPath(fx.A.id)}/${mine.id}`, { name: 'Mine' })).status, 200);
      assert.equal((await customRoles('globex', fx.B.id)).find((r) => r.id === theirs.id).name, 'Theirs');
      assert.deepEqual((await customRoles('globex', fx.B.id)).find((r) => r.id === theirs.id).permissions, ['cms.read']);
    });
  });

  describe('DELETE /api/v1/agencies/{id}/roles/{role_id}', () => {
    it('deletes an unused role', async () => {
      const role = await create('owner', fx.A.id, { name: 'Short-lived', permissions: ['analytics.read'] });
      const res = await as('owner')('DELETE', `${rolesPath(fx.A.id)}/${role.id}`);
      assert.equal(res.status, 204, res.text);
      assert.equal(res.text, '');
      assert.ok(!(await customRoles('owner', fx.A.id)).some((r) => r.id === role.id));
      assert.equal(sql(`SELECT COUNT(*) FROM audit_log WHERE action = 'role.deleted' AND details LIKE '%${role.id}%'`).trim(), '1');
      assertProblem(await as('owner')('DELETE', `${rolesPath(fx.A.id)}/${role.id}`), 404, 'not_found');
    });

    it('refuses while a member holds the role, at agency or environment scope', async () => {
      const role = await create('owner', fx.A.id, { name: 'Held', permissions: ['cms.read'] });
      const url = `${rolesPath(fx.A.id)}/${role.id}`;
      grant(users.holder, fx.A.id, { environmentId: fx.E1.id, roles: `agent,${role.id}` });
      assertProblem(await as('owner')('DELETE', url), 409, 'role_in_use');
      sql(`DELETE FROM grants WHERE user_id = '${users.holder}'`);
      grant(users.holder, fx.A.id, { roles: role.id });
      assertProblem(await as('owner')('DELETE', url), 409, 'role_in_use');
      sql(`DELETE FROM grants WHERE user_id = '${users.holder}'`);
      assert.equal((await as('owner')('DELETE', url)).status, 204);
      assert.equal(sql(`SELECT COUNT(*) FROM audit_log WHERE action = 'role.deleted' AND details LIKE '%${role.id}%'`).trim(), '1');
    });

    it('is not fooled by an id that only starts like the role', async () => {
      const role = await create('owner', fx.A.id, { name: 'Prefix', permissions: ['cms.read'] });
      grant(users.holder, fx.A.id, { roles: `${role.id}x,agent` });
      assert.equal((await as('owner')('DELETE', `${rolesPath(fx.A.id)}/${role.id}`)).status, 204);
      sql(`DELETE FROM grants WHERE user_id = '${users.holder}'`);
    });

    it('refuses while a pending invitation would grant the role, until it is revoked', async () => {
      const role = await create('owner', fx.A.id, { name: 'Offered', permissions: ['cms.read'] });
      const inv = await as('owner')('POST', `/api/v1/agencies/${fx.A.id}/invitations`, {
        email: 'offered@acme.example', send_email: false,
        grants: [{ environment_id: fx.E1.id, roles: [role.id] }],
      });
      assert.equal(inv.status, 201, inv.text);
      assert.deepEqual(inv.json.grants[0].roles, ['offered']);
      const url = `${rolesPath(fx.A.id)}/${role.id}`;
      assertProblem(await as('owner')('DELETE', url), 409, 'role_in_use');
      // A rename leaves the pending invitation as it was: it holds the id, not the name.
      assert.equal((await as('owner')('PATCH', url, { name: 'Offered later' })).status, 200);
      const shown = await as('owner')('GET', `/api/v1/invitations/${inv.json.id}`);
      assert.deepEqual(shown.json.grants[0].roles, ['offered']);
      assert.equal((await as('owner')('DELETE', `/api/v1/invitations/${inv.json.id}`)).status, 204);
      assert.equal((await as('owner')('DELETE', url)).status, 204);
    });

    it('refuses while a member who accepted an invitation holds the role', async () => {
      const role = await create('owner', fx.A.id, { name: 'Accepted', permissions: ['environments.create'] });
      const inv = await as('owner')('POST', `/api/v1/agencies/${fx.A.id}/invitations`, {
        email: 'accepted@acme.example', send_email: false, grants: [{ roles: [role.id] }],
      });
      assert.equal(inv.status, 201, inv.text);
      const token = new URL(inv.json.url).hash.replace(/^#token=/, '');
      const acc = await usher.api('POST', '/api/v1/invitations/accept', { body: { token, password: PASSWORD } });
      assert.equal(acc.status, 201, `accept: ${acc.status} ${acc.json?.code}`);
      // The new member holds what the role gives.
      const env = await usher.api('POST', `/api/v1/agencies/${fx.A.id}/environments`, {
        token: acc.json.token, body: { name: 'Made by an invitee' },
      });
      assert.equal(env.status, 201, env.text);
      assertProblem(await as('owner')('DELETE', `${rolesPath(fx.A.id)}/${role.id}`), 409, 'role_in_use');
      assert.ok((await customRoles('owner', fx.A.id)).some((r) => r.id === role.id));
    });

    it('looks only at the agency of the role', async () => {
      const role = await create('owner', fx.A.id, { name: 'Local', permissions: ['cms.read'] });
      // A row of another agency naming the id (which no grant of ours would) does not count.
      grant(users.globex, fx.B.id, { roles: role.id });
      assert.equal((await as('owner')('DELETE', `${rolesPath(fx.A.id)}/${role.id}`)).status, 204);
      grant(users.globex, fx.B.id, { roles: 'owner' });
    });

    it('needs agency.manage and answers 404 outside the agency', async () => {
      const role = await create('owner', fx.A.id, { name: 'Guarded', permissions: ['cms.read'] });
      const url = `${rolesPath(fx.A.id)}/${role.id}`;
      for (const who of ['agent', 'orgmgr', 'envmgr']) {
        assertProblem(await as(who)('DELETE', url), 403, 'forbidden');
      }
      assertProblem(await as('globex')('DELETE', url), 404, 'not_found');
      assertProblem(await as('globex')('DELETE', `${rolesPath(fx.B.id)}/${role.id}`), 404, 'not_found');
      assertProblem(await usher.api('DELETE', url), 401, 'unauthenticated');
      assert.ok((await customRoles('owner', fx.A.id)).some((r) => r.id === role.id));
      assert.equal((await as('mgr')('DELETE', url)).status, 204);
    });
  });
});
