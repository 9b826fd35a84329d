// Agencies, environments, bots and the role catalogue through the real binary: creation,
// listing with pagination, name validation, strict bodies, tenancy (404 outside one's agencies,
// 403 inside without the permission) and the contents of /roles and /permissions.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { runUsher, startUsher, tempDir } from './lib/harness.mjs';

const ADMIN_EMAIL = 'provider@example.com';
const PASSWORD = 'correct horse battery staple';

const PERMISSIONS = [
  'inbox.reply', 'inbox.notify', 'inbox.start', 'inbox.closed', 'crm.read', 'crm.write',
  'cms.read', 'cms.write', 'analytics.read', 'settings.read', 'settings.write', 'bot.read',
  'bot.develop', 'bot.delegate', 'users.read', 'users.invite', 'users.manage', 'audit.read',
  'environment.manage', 'environments.create', 'agency.manage',
];

const ROLES = {
  agent: { scopes: ['agency', 'environment'], permissions: ['inbox.reply', 'inbox.notify', 'bot.read'] },
  operator: {
    scopes: ['agency', 'environment'],
    permissions: ['inbox.reply', 'inbox.notify', 'inbox.start', 'inbox.closed', 'crm.read', 'crm.write', 'bot.read'],
  },
  content_manager: { scopes: ['agency', 'environment'], permissions: ['cms.read', 'cms.write', 'bot.read'] },
  analyst: { scopes: ['agency', 'environment'], permissions: ['crm.read', 'analytics.read', 'bot.read'] },
  producer: {
    scopes: ['agency', 'environment'],
    permissions: ['crm.read', 'crm.write', 'cms.read', 'cms.write', 'analytics.read', 'settings.read', 'settings.write', 'bot.read'],
  },
  developer: { scopes: ['agency', 'environment'], permissions: ['settings.read', 'bot.read', 'bot.develop'] },
  environment_manager: {
    scopes: ['agency', 'environment'],
    permissions: ['bot.read', 'bot.delegate', 'users.read', 'users.invite', 'users.manage', 'audit.read', 'environment.manage'],
  },
  organisation_manager: {
    scopes: ['agency'],
    permissions: ['bot.read', 'bot.delegate', 'users.read', 'users.invite', 'users.manage', 'audit.read', 'environment.manage', 'environments.create'],
  },
  owner: { scopes: ['agency'], permissions: PERMISSIONS },
  bot_manager: { scopes: ['bot'], permissions: ['settings.read', 'bot.read', 'bot.develop'] },
};

function assertProblem(res, status, code, field) {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.text}`);
  assert.match(res.headers['content-type'] || '', /^application\/problem\+json/);
  assert.equal(res.json.code, code);
  if (field !== undefined) assert.equal(res.json.field, field);
}

const sorted = (list) => [...list].sort();
const ids = (items) => items.map((i) => i.id);

describe('agencies, environments and bots', () => {
  let usher;
  const tokens = {};
  // Agency A ("Acme") holds E1 (bots B1, B2) and E2; agency B ("Globex") holds EB (bot BB).
  const fx = {};

  // Runs SQL on the server's database while it runs. Members and their grants are written
  // straight into the memberships and grants tables.
  const sql = (text) => usher.sql(text);

  // A user with the admin's password hash (so sign-in works without another slow hash).
  function addUser(key, email) {
    const id = `usr_test_${key}`;
    sql(`INSERT INTO users (id, email, password_hash, created_at)
         SELECT '${id}', '${email}', password_hash, 1 FROM users WHERE email = '${ADMIN_EMAIL}'`);
    return id;
  }

  function grant(userId, agencyId, { environmentId = null, botId = null, roles = '', extra = '' }) {
    const scope = botId || environmentId || agencyId;
    const q = (v) => (v === null ? 'NULL' : `'${v}'`);
    sql(`INSERT INTO memberships (agency_id, user_id, created_at)
           VALUES ('${agencyId}', '${userId}', 1) ON CONFLICT DO NOTHING;
         INSERT INTO grants (id, agency_id, user_id, environment_id, bot_id, scope_id, roles,
                             extra_permissions, created_at)
           VALUES ('grt_${userId}_${scope}', '${agencyId}', '${userId}', ${q(environmentId)},
                   ${q(botId)}, '${scope}', '${roles}', '${extra}', 1);`);
  }

  async function signIn(email) {
    const res = await usher.api('POST', '/api/v1/sessions', { body: { email, password: PASSWORD } });
    // Only the status and problem code are reported: the body holds a session token.
    assert.ok(res.status === 200 || res.status === 201, `sign-in as ${email}: ${res.status} ${res.json?.code}`);
    return res.json.token;
  }

  const as = (who) => (method, urlPath, body) =>
    usher.api(method, urlPath, { token: tokens[who], body });

  before(async () => {
    usher = await startUsher({
      env: { USHER_ADMIN_EMAIL: ADMIN_EMAIL, USHER_ADMIN_PASSWORD: PASSWORD },
    });
    tokens.admin = await signIn(ADMIN_EMAIL);
    const admin = as('admin');
    const make = async (urlPath, name) => {
      const res = await admin('POST', urlPath, { name });
      assert.equal(res.status, 201, res.text);
      return res.json;
    };
    fx.A = await make('/api/v1/agencies', 'Acme');
    fx.B = await make('/api/v1/agencies', 'Globex');
    fx.E1 = await make(`/api/v1/agencies/${fx.A.id}/environments`, 'Acme – production');
    fx.E2 = await make(`/api/v1/agencies/${fx.A.id}/environments`, 'Acme – staging');
    fx.EB = await make(`/api/v1/agencies/${fx.B.id}/environments`, 'Globex – production');
    fx.B1 = await make(`/api/v1/environments/${fx.E1.id}/bots`, 'Support bot');
    fx.B2 = await make(`/api/v1/environments/${fx.E1.id}/bots`, 'Sales bot');
    fx.BB = await make(`/api/v1/environments/${fx.EB.id}/bots`, 'Globex bot');

    const owner = addUser('owner', 'owner@acme.example');
    const dev = addUser('dev', 'dev@acme.example');
    const botmgr = addUser('botmgr', 'botmgr@acme.example');
    const nothing = addUser('nothing', 'nothing@acme.example');
    const globex = addUser('globex', 'owner@globex.example');
    grant(owner, fx.A.id, { roles: 'owner' });
    grant(dev, fx.A.id, { environmentId: fx.E1.id, roles: 'developer' });
    grant(botmgr, fx.A.id, { environmentId: fx.E1.id, botId: fx.B1.id, roles: 'bot_manager' });
    sql(`INSERT INTO memberships (agency_id, user_id, created_at) VALUES ('${fx.A.id}', '${nothing}', 1)`);
    grant(globex, fx.B.id, { roles: 'owner' });
    tokens.owner = await signIn('owner@acme.example');
    tokens.dev = await signIn('dev@acme.example');
    tokens.botmgr = await signIn('botmgr@acme.example');
    tokens.nothing = await signIn('nothing@acme.example');
    tokens.globex = await signIn('owner@globex.example');
  });

  after(async () => {
    assert.equal(await usher.stop(), 0);
  });

  describe('POST /api/v1/agencies', () => {
    it('creates an agency with a trimmed name', async () => {
      const res = await as('admin')('POST', '/api/v1/agencies', { name: '  Initech \t' });
      assert.equal(res.status, 201);
      assert.deepEqual(Object.keys(res.json).sort(), ['created_at', 'id', 'name', 'require_second_factor', 'status']);
      assert.equal(res.json.require_second_factor, false);
      assert.equal(res.json.name, 'Initech');
      assert.equal(typeof res.json.id, 'string');
      assert.ok(!Number.isNaN(Date.parse(res.json.created_at)));
      assert.equal(res.headers.location, `/api/v1/agencies/${res.json.id}`);
      const got = await as('admin')('GET', `/api/v1/agencies/${res.json.id}`);
      assert.equal(got.status, 200);
      // Reading one agency also names its sign-in connections (none here).
      assert.deepEqual(got.json, { ...res.json, sign_in_connections: [] });
    });

    it('writes an agency.created audit row with its scope', async () => {
      const res = await as('admin')('POST', '/api/v1/agencies', { name: 'Audited' });
      assert.equal(res.status, 201);
      const row = sql(`SELECT agency_id, CASE WHEN actor_id IS NOT NULL THEN 1 ELSE 0 END, scope_type, scope_id, details
                       FROM audit_log WHERE action = 'agency.created' AND scope_id = '${res.json.id}'`);
      assert.equal(row.trim(), `${res.json.id}|1|agency|${res.json.id}|{"name":"Audited"}`);
    });

    it('accepts 200 characters and refuses 201', async () => {
      const ok = await as('admin')('POST', '/api/v1/agencies', { name: 'é'.repeat(200) });
      assert.equal(ok.status, 201);
      assert.equal(ok.json.name, 'é'.repeat(200));
      assertProblem(await as('admin')('POST', '/api/v1/agencies', { name: 'x'.repeat(201) }),
        400, 'invalid_input', 'name');
    });

    for (const [label, name] of [
      ['empty', ''], ['blank', '   '], ['a control character', 'Ac\u0001me'],
      ['a newline inside', 'Ac\nme'], ['DEL', 'Acme\u007f'],
    ]) {
      it(`refuses a name that is ${label}`, async () => {
        assertProblem(await as('admin')('POST', '/api/v1/agencies', { name }), 400, 'invalid_input', 'name');
      });
    }

    for (const [label, name] of [['a number', 42], ['null', null], ['an array', ['Acme']], ['an object', { x: 1 }], ['a boolean', true]]) {
      it(`refuses a name that is ${label}`, async () => {
        assertProblem(await as('admin')('POST', '/api/v1/agencies', { name }), 400, 'invalid_input', 'name');
      });
    }

    it('refuses a missing name', async () => {
      assertProblem(await as('admin')('POST', '/api/v1/agencies', {}), 400, 'invalid_input', 'name');
    });

    for (const field of ['is_admin', 'agency_id', 'id', 'created_by']) {
      it(`refuses the unknown field ${field}`, async () => {
        const res = await as('admin')('POST', '/api/v1/agencies', { name: 'Acme', [field]: 'x' });
        assertProblem(res, 400, 'invalid_input', field);
      });
    }

    it('refuses a body that is not a JSON object', async () => {
      for (const raw of ['', '[]', '"Acme"', '{"name":']) {
        const res = await usher.api('POST', '/api/v1/agencies', {
          token: tokens.admin, raw, headers: { 'Content-Type': 'application/json' },
        });
        assertProblem(res, 400, 'invalid_input');
      }
    });

    it('is forbidden to everyone but platform admins', async () => {
      for (const who of ['owner', 'dev', 'nothing', 'globex']) {
        assertProblem(await as(who)('POST', '/api/v1/agencies', { name: 'Mine' }), 403, 'forbidden');
      }
      const count = sql("SELECT COUNT(*) FROM agencies WHERE name = 'Mine'");
      assert.equal(count.trim(), '0');
    });

    it('needs a signed-in caller', async () => {
      assertProblem(await usher.api('POST', '/api/v1/agencies', { body: { name: 'Anon' } }), 401, 'unauthenticated');
      assertProblem(await usher.api('GET', '/api/v1/agencies'), 401, 'unauthenticated');
    });
  });

  describe('GET /api/v1/agencies', () => {
    it('pages through every agency for a platform admin, oldest first', async () => {
      for (let i = 0; i < 5; i++) {
        assert.equal((await as('admin')('POST', '/api/v1/agencies', { name: `Paged ${i}` })).status, 201);
      }
      const full = await as('admin')('GET', '/api/v1/agencies?limit=200');
      assert.equal(full.status, 200);
      assert.equal(full.json.next_cursor, null);
      assert.ok(full.json.items.length >= 7);
      const seen = [];
      let cursor = null;
      for (let page = 0; page < 100; page++) {
        const q = cursor ? `?limit=2&cursor=${encodeURIComponent(cursor)}` : '?limit=2';
        const res = await as('admin')('GET', `/api/v1/agencies${q}`);
        assert.equal(res.status, 200);
        assert.ok(res.json.items.length <= 2);
        seen.push(...res.json.items);
        cursor = res.json.next_cursor;
        if (cursor === null) break;
        assert.equal(res.json.items.length, 2);
        assert.match(cursor, /^[A-Za-z0-9_-]+$/);
      }
      assert.deepEqual(ids(seen), ids(full.json.items));
      assert.equal(new Set(ids(seen)).size, seen.length);
      const times = seen.map((a) => Date.parse(a.created_at));
      assert.deepEqual(times, [...times].sort((x, y) => x - y));
      assert.deepEqual(seen.slice(0, 2).map((a) => a.name), ['Acme', 'Globex']);
    });

    it('defaults to 50 items', async () => {
      for (let i = 0; i < 50; i++) {
        assert.equal((await as('admin')('POST', '/api/v1/agencies', { name: `Bulk ${i}` })).status, 201);
      }
      const res = await as('admin')('GET', '/api/v1/agencies');
      assert.equal(res.status, 200);
      assert.equal(res.json.items.length, 50);
      assert.equal(typeof res.json.next_cursor, 'string');
    });

    it('shows members only their own agencies', async () => {
      const owner = await as('owner')('GET', '/api/v1/agencies');
      assert.equal(owner.status, 200);
      assert.deepEqual(owner.json, { items: [fx.A], next_cursor: null });
      const nothing = await as('nothing')('GET', '/api/v1/agencies');
      assert.deepEqual(ids(nothing.json.items), [fx.A.id]);
      const globex = await as('globex')('GET', '/api/v1/agencies');
      assert.deepEqual(ids(globex.json.items), [fx.B.id]);
    });

    for (const limit of ['0', '201', '-1', 'ten', '', '1.5']) {
      it(`refuses limit=${limit}`, async () => {
        assertProblem(await as('admin')('GET', `/api/v1/agencies?limit=${limit}`), 400, 'invalid_input', 'limit');
      });
    }

    it('refuses a cursor it did not make', async () => {
      for (const cursor of ['garbage!', 'MTIz', Buffer.from('123.a b').toString('base64url'), 'x'.repeat(500)]) {
        const res = await as('admin')('GET', `/api/v1/agencies?cursor=${encodeURIComponent(cursor)}`);
        assertProblem(res, 400, 'invalid_input', 'cursor');
      }
    });
  });

  describe('GET /api/v1/agencies/{id}', () => {
    it('answers a member and a platform admin', async () => {
      for (const who of ['admin', 'owner', 'dev', 'botmgr', 'nothing']) {
        const res = await as(who)('GET', `/api/v1/agencies/${fx.A.id}`);
        assert.equal(res.status, 200, who);
        assert.deepEqual(res.json, { ...fx.A, sign_in_connections: [] });
      }
    });

    it('answers 404, never 403, for an agency the caller is not a member of', async () => {
      const foreign = await as('globex')('GET', `/api/v1/agencies/${fx.A.id}`);
      assertProblem(foreign, 404, 'not_found');
      const unknown = await as('globex')('GET', '/api/v1/agencies/agy_does_not_exist');
      assertProblem(unknown, 404, 'not_found');
      assert.equal(foreign.json.detail, unknown.json.detail);
      assertProblem(await as('owner')('GET', `/api/v1/agencies/${fx.B.id}`), 404, 'not_found');
    });
  });

  describe('environments', () => {
    it('are created by holders of environments.create and by platform admins', async () => {
      const res = await as('owner')('POST', `/api/v1/agencies/${fx.A.id}/environments`, { name: ' Acme – test ' });
      assert.equal(res.status, 201);
      assert.equal(res.json.name, 'Acme – test');
      assert.equal(res.json.agency_id, fx.A.id);
      assert.deepEqual(Object.keys(res.json).sort(), ['agency_id', 'created_at', 'id', 'name']);
      assert.equal(res.headers.location, `/api/v1/environments/${res.json.id}`);
      const row = sql(`SELECT agency_id, scope_type, scope_id FROM audit_log
                       WHERE action = 'environment.created' AND scope_id = '${res.json.id}'`);
      assert.equal(row.trim(), `${fx.A.id}|environment|${res.json.id}`);
    });

    it('are forbidden to members without environments.create', async () => {
      for (const who of ['dev', 'botmgr', 'nothing']) {
        const res = await as(who)('POST', `/api/v1/agencies/${fx.A.id}/environments`, { name: 'Nope' });
        assertProblem(res, 403, 'forbidden');
      }
    });

    it('are not found in a foreign or unknown agency', async () => {
      assertProblem(await as('globex')('POST', `/api/v1/agencies/${fx.A.id}/environments`, { name: 'X' }), 404, 'not_found');
      assertProblem(await as('admin')('POST', '/api/v1/agencies/agy_nope/environments', { name: 'X' }), 404, 'not_found');
      assertProblem(await as('globex')('GET', `/api/v1/agencies/${fx.A.id}/environments`), 404, 'not_found');
      assertProblem(await as('admin')('GET', '/api/v1/agencies/agy_nope/environments'), 404, 'not_found');
    });

    it('validate the body', async () => {
      const post = (body) => as('owner')('POST', `/api/v1/agencies/${fx.A.id}/environments`, body);
      assertProblem(await post({ name: '' }), 400, 'invalid_input', 'name');
      assertProblem(await post({ name: 'y'.repeat(201) }), 400, 'invalid_input', 'name');
      assertProblem(await post({ name: 'a\u001fb' }), 400, 'invalid_input', 'name');
      // The JSON parser refuses an escaped NUL before any field is read.
      assertProblem(await post({ name: 'a\u0000b' }), 400, 'invalid_input');
      assertProblem(await post({ name: 7 }), 400, 'invalid_input', 'name');
      assertProblem(await post({ name: 'Ok', agency_id: fx.B.id }), 400, 'invalid_input', 'agency_id');
    });

    it('are listed by where the caller has access', async () => {
      const all = await as('admin')('GET', `/api/v1/agencies/${fx.A.id}/environments`);
      assert.equal(all.status, 200);
      assert.deepEqual(all.json.items.slice(0, 2), [fx.E1, fx.E2]);
      const owner = await as('owner')('GET', `/api/v1/agencies/${fx.A.id}/environments`);
      assert.deepEqual(owner.json, all.json);
      const dev = await as('dev')('GET', `/api/v1/agencies/${fx.A.id}/environments`);
      assert.deepEqual(dev.json, { items: [fx.E1], next_cursor: null });
      const botmgr = await as('botmgr')('GET', `/api/v1/agencies/${fx.A.id}/environments`);
      assert.deepEqual(ids(botmgr.json.items), [fx.E1.id]);
      const nothing = await as('nothing')('GET', `/api/v1/agencies/${fx.A.id}/environments`);
      assert.deepEqual(nothing.json, { items: [], next_cursor: null });
    });

    it('are paginated', async () => {
      const first = await as('owner')('GET', `/api/v1/agencies/${fx.A.id}/environments?limit=1`);
      assert.deepEqual(first.json.items, [fx.E1]);
      assert.equal(typeof first.json.next_cursor, 'string');
      const second = await as('owner')('GET',
        `/api/v1/agencies/${fx.A.id}/environments?limit=1&cursor=${first.json.next_cursor}`);
      assert.deepEqual(second.json.items, [fx.E2]);
      assertProblem(await as('owner')('GET', `/api/v1/agencies/${fx.A.id}/environments?limit=500`),
        400, 'invalid_input', 'limit');
      assertProblem(await as('owner')('GET', `/api/v1/agencies/${fx.A.id}/environments?cursor=%25%25`),
        400, 'invalid_input', 'cursor');
    });

    it('are read one by one: 403 inside the agency without access, 404 outside', async () => {
      const dev = await as('dev')('GET', `/api/v1/environments/${fx.E1.id}`);
      assert.equal(dev.status, 200);
      assert.deepEqual(dev.json, fx.E1);
      assertProblem(await as('dev')('GET', `/api/v1/environments/${fx.E2.id}`), 403, 'forbidden');
      assertProblem(await as('nothing')('GET', `/api/v1/environments/${fx.E1.id}`), 403, 'forbidden');
      assertProblem(await as('globex')('GET', `/api/v1/environments/${fx.E1.id}`), 404, 'not_found');
      assertProblem(await as('admin')('GET', '/api/v1/environments/env_nope'), 404, 'not_found');
      assert.equal((await as('admin')('GET', `/api/v1/environments/${fx.EB.id}`)).status, 200);
    });
  });

  describe('bots', () => {
    it('are created by holders of bot.develop in the environment', async () => {
      const res = await as('dev')('POST', `/api/v1/environments/${fx.E1.id}/bots`, { name: '  FAQ bot ' });
      assert.equal(res.status, 201);
      assert.deepEqual(Object.keys(res.json).sort(),
        ['agency_id', 'created_at', 'environment_id', 'id', 'name', 'shared']);
      assert.equal(res.json.name, 'FAQ bot');
      assert.equal(res.json.shared, false);
      assert.equal(res.json.environment_id, fx.E1.id);
      assert.equal(res.json.agency_id, fx.A.id);
      assert.equal(res.headers.location, `/api/v1/bots/${res.json.id}`);
      const row = sql(`SELECT agency_id, scope_type, scope_id FROM audit_log
                       WHERE action = 'bot.created' AND scope_id = '${res.json.id}'`);
      assert.equal(row.trim(), `${fx.A.id}|bot|${res.json.id}`);
    });

    it('are forbidden to create without bot.develop in the environment', async () => {
      assertProblem(await as('dev')('POST', `/api/v1/environments/${fx.E2.id}/bots`, { name: 'X' }), 403, 'forbidden');
      // bot_manager holds bot.develop on its one bot, not in the environment.
      assertProblem(await as('botmgr')('POST', `/api/v1/environments/${fx.E1.id}/bots`, { name: 'X' }), 403, 'forbidden');
      assertProblem(await as('nothing')('POST', `/api/v1/environments/${fx.E1.id}/bots`, { name: 'X' }), 403, 'forbidden');
    });

    it('are not found in a foreign or unknown environment', async () => {
      assertProblem(await as('globex')('POST', `/api/v1/environments/${fx.E1.id}/bots`, { name: 'X' }), 404, 'not_found');
      assertProblem(await as('admin')('POST', '/api/v1/environments/env_nope/bots', { name: 'X' }), 404, 'not_found');
      assertProblem(await as('globex')('GET', `/api/v1/environments/${fx.E1.id}/bots`), 404, 'not_found');
      assertProblem(await as('admin')('GET', '/api/v1/environments/env_nope/bots'), 404, 'not_found');
    });

    it('validate the body', async () => {
      const post = (body) => as('owner')('POST', `/api/v1/environments/${fx.E1.id}/bots`, body);
      assertProblem(await post({ name: '\t ' }), 400, 'invalid_input', 'name');
      assertProblem(await post({ name: 'z'.repeat(201) }), 400, 'invalid_input', 'name');
      assertProblem(await post({ name: ['a'] }), 400, 'invalid_input', 'name');
      assertProblem(await post({ name: 'Ok', shared: true }), 400, 'invalid_input', 'shared');
    });

    it('are listed with the shared badge; a bot manager sees just their bots', async () => {
      const owner = await as('owner')('GET', `/api/v1/environments/${fx.E1.id}/bots`);
      assert.equal(owner.status, 200);
      const byId = Object.fromEntries(owner.json.items.map((b) => [b.id, b]));
      assert.equal(byId[fx.B1.id].shared, true);
      assert.equal(byId[fx.B2.id].shared, false);
      assert.deepEqual(ids(owner.json.items).slice(0, 2), [fx.B1.id, fx.B2.id]);
      const botmgr = await as('botmgr')('GET', `/api/v1/environments/${fx.E1.id}/bots`);
      assert.equal(botmgr.status, 200);
      assert.deepEqual(botmgr.json, { items: [{ ...fx.B1, shared: true }], next_cursor: null });
      assertProblem(await as('botmgr')('GET', `/api/v1/environments/${fx.E2.id}/bots`), 403, 'forbidden');
      assertProblem(await as('nothing')('GET', `/api/v1/environments/${fx.E1.id}/bots`), 403, 'forbidden');
    });

    it('are paginated', async () => {
      const first = await as('owner')('GET', `/api/v1/environments/${fx.E1.id}/bots?limit=1`);
      assert.deepEqual(ids(first.json.items), [fx.B1.id]);
      const second = await as('owner')('GET',
        `/api/v1/environments/${fx.E1.id}/bots?limit=1&cursor=${first.json.next_cursor}`);
      assert.deepEqual(ids(second.json.items), [fx.B2.id]);
      assertProblem(await as('owner')('GET', `/api/v1/environments/${fx.E1.id}/bots?limit=0`),
        400, 'invalid_input', 'limit');
    });

    it('are read one by one with bot.read on the bot', async () => {
      const mine = await as('botmgr')('GET', `/api/v1/bots/${fx.B1.id}`);
      assert.equal(mine.status, 200);
      assert.deepEqual(mine.json, { ...fx.B1, shared: true });
      assertProblem(await as('botmgr')('GET', `/api/v1/bots/${fx.B2.id}`), 403, 'forbidden');
      assert.equal((await as('dev')('GET', `/api/v1/bots/${fx.B2.id}`)).status, 200);
      assertProblem(await as('globex')('GET', `/api/v1/bots/${fx.B1.id}`), 404, 'not_found');
      assertProblem(await as('owner')('GET', `/api/v1/bots/${fx.BB.id}`), 404, 'not_found');
      assertProblem(await as('admin')('GET', '/api/v1/bots/bot_nope'), 404, 'not_found');
    });
  });

  describe('the catalogue', () => {
    it('lists the built-in roles with scopes and permissions', async () => {
      const res = await as('nothing')('GET', '/api/v1/roles');
      assert.equal(res.status, 200);
      assert.equal(res.json.next_cursor, null);
      assert.deepEqual(res.json.items.map((r) => r.name), Object.keys(ROLES));
      for (const role of res.json.items) {
        const want = ROLES[role.name];
        assert.deepEqual(role.scopes, want.scopes, role.name);
        assert.deepEqual(sorted(role.permissions), sorted(want.permissions), role.name);
        assert.equal(role.built_in, true);
        assert.ok(role.description.length > 0);
      }
    });

    it('lists every permission with a description and its kind', async () => {
      const res = await as('dev')('GET', '/api/v1/permissions');
      assert.equal(res.status, 200);
      assert.deepEqual(res.json.items.map((p) => p.name), PERMISSIONS);
      for (const p of res.json.items) {
        assert.deepEqual(Object.keys(p).sort(), ['description', 'kind', 'name']);
        assert.ok(p.description.length > 0);
      }
      // Authority permissions change who may do what (rule 4 in docs/rules.md).
      assert.deepEqual(res.json.items.filter((p) => p.kind === 'authority').map((p) => p.name).sort(), [
        'agency.manage', 'audit.read', 'bot.delegate', 'environment.manage', 'environments.create',
        'users.invite', 'users.manage']);
      assert.ok(res.json.items.every((p) => p.kind === 'authority' || p.kind === 'work'));
    });

    it("lists an agency's roles for its members only", async () => {
      const global = await as('owner')('GET', '/api/v1/roles');
      const agency = await as('owner')('GET', `/api/v1/agencies/${fx.A.id}/roles`);
      assert.equal(agency.status, 200);
      assert.deepEqual(agency.json, global.json);
      assert.equal((await as('admin')('GET', `/api/v1/agencies/${fx.A.id}/roles`)).status, 200);
      assertProblem(await as('globex')('GET', `/api/v1/agencies/${fx.A.id}/roles`), 404, 'not_found');
      assertProblem(await as('owner')('GET', '/api/v1/agencies/agy_nope/roles'), 404, 'not_found');
    });

    it('needs a signed-in caller', async () => {
      assertProblem(await usher.api('GET', '/api/v1/roles'), 401, 'unauthenticated');
      assertProblem(await usher.api('GET', '/api/v1/permissions'), 401, 'unauthenticated');
    });
  });

  describe('usher agency-create', () => {
    it('creates an agency in the same database and prints its id', async () => {
      const out = await runUsher(['agency-create', '--name', '  From the shell ', '--data-dir', usher.dataDir]);
      assert.equal(out.code, 0, out.stderr);
      const id = out.stdout.trim();
      assert.match(id, /^[A-Za-z0-9_-]+$/);
      const res = await as('admin')('GET', `/api/v1/agencies/${id}`);
      assert.equal(res.status, 200);
      assert.equal(res.json.name, 'From the shell');
    });
  });
});

describe('usher agency-create on its own', () => {
  it('explains itself with --help', async () => {
    const out = await runUsher(['agency-create', '--help']);
    assert.equal(out.code, 0);
    assert.match(out.stdout, /Usage: usher agency-create --name NAME/);
  });

  it('refuses a missing or invalid name with exit status 2', async () => {
    const dir = tempDir();
    const missing = await runUsher(['agency-create', '--data-dir', dir]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--name is required/);
    const empty = await runUsher(['agency-create', '--name', ' ', '--data-dir', dir]);
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /name must not be empty/);
  });

  it('is listed by usher --help', async () => {
    const out = await runUsher(['--help']);
    assert.equal(out.code, 0);
    assert.match(out.stdout, /agency-create/);
  });
});
