// The decision API, API tokens and the audit log through the real binary: the inheritance
// matrix (tests/unit/policy/inheritance_matrix.csv) asked row by row through POST /check, batches,
// explanations, who may ask what, agency-token scoping and revocation, effective permissions,
// notification recipients (rule 3 in docs/rules.md), the audit log's filters and pages, and malformed
// bodies. Grants are written into the database and the server restarted, so the decision index
// loads them the way it does on every start.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { repoRoot, runUsher, startUsher } from './lib/harness.mjs';

const ADMIN_EMAIL = 'provider@example.com';
const PASSWORD = 'canary-decisions-password-5c1d';
const MATRIX_PATH = path.join(repoRoot, 'tests/unit/policy/inheritance_matrix.csv');

// Every secret the tests handle; none may appear in the server's log.
const secrets = new Set([PASSWORD]);

function assertProblem(res, status, code, field) {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.text}`);
  assert.match(res.headers['content-type'] || '', /^application\/problem\+json/);
  assert.equal(res.json.code, code, `code of ${res.text}`);
  if (field !== undefined) assert.equal(res.json.field, field, `field of ${res.text}`);
}

// The matrix: comment lines start with '#', the first other line is the header.
function readMatrix() {
  const lines = readFileSync(MATRIX_PATH, 'utf8').split('\n');
  let header = null;
  const rows = [];
  lines.forEach((text, i) => {
    const line = text.replace(/\r$/, '');
    if (line === '' || line.startsWith('#')) return;
    const cells = line.split(',');
    if (!header) {
      header = cells;
      return;
    }
    assert.equal(cells.length, header.length, `${MATRIX_PATH}:${i + 1} has ${cells.length} cells`);
    const row = { line: i + 1 };
    header.forEach((name, k) => (row[name] = cells[k]));
    rows.push(row);
  });
  for (const column of ['case', 'agency_grant', 'environment_grant', 'bot_grant', 'scope', 'permission', 'allowed', 'source', 'roles']) {
    assert.ok(header.includes(column), `the matrix has a ${column} column`);
  }
  return rows;
}

// A grant cell: "-" (no grant) or ROLES/EXTRAS, each a "+"-joined list that may be empty.
function parseGrant(cell) {
  if (cell === '-') return null;
  const slash = cell.indexOf('/');
  assert.ok(slash >= 0, `grant cell ${cell}`);
  const list = (s) => (s === '' ? [] : s.split('+'));
  return { roles: list(cell.slice(0, slash)), extra: list(cell.slice(slash + 1)) };
}

const q = (v) => (v === null || v === undefined ? 'NULL' : `'${String(v).replace(/'/g, "''")}'`);

describe('decisions, API tokens and the audit log', () => {
  let usher;
  const fx = {}; // agencies, environments and bots by matrix name
  const ids = {}; // user ids by key
  const tokens = {}; // session tokens by key
  const matrix = readMatrix();
  const sqlScript = [];

  const sql = (text) => usher.sql(text);

  // A user with the admin's password hash, so sign-in works without another slow hash.
  function addUser(key, { status = 'active', first = 'First', last = key, createdAt = 1 } = {}) {
    const id = `usr_dec_${key}`;
    sqlScript.push(`INSERT INTO users (id, email, first_name, last_name, password_hash, status, created_at)
      SELECT '${id}', '${key}@decisions.example', ${q(first)}, ${q(last)}, password_hash, '${status}', ${createdAt}
      FROM users WHERE email = '${ADMIN_EMAIL}';`);
    ids[key] = id;
    return id;
  }

  function addGrant(userId, agencyId, { environmentId = null, botId = null, roles = [], extra = [] }) {
    const scope = botId || environmentId || agencyId;
    sqlScript.push(`INSERT INTO memberships (agency_id, user_id, created_at)
        VALUES ('${agencyId}', '${userId}', 1) ON CONFLICT DO NOTHING;
      INSERT INTO grants (id, agency_id, user_id, environment_id, bot_id, scope_id, roles,
                          extra_permissions, created_at)
        VALUES ('grt_${userId}_${scope}', '${agencyId}', '${userId}', ${q(environmentId)},
                ${q(botId)}, '${scope}', ${q(roles.join(','))}, ${q(extra.join(','))}, 1);`);
  }

  async function signIn(email) {
    const res = await usher.api('POST', '/api/v1/sessions', { body: { email, password: PASSWORD } });
    assert.ok(res.status === 200 || res.status === 201, `sign-in as ${email}: ${res.status} ${res.json?.code}`);
    secrets.add(res.json.token);
    return res.json.token;
  }

  const as = (token) => (method, urlPath, body) => usher.api(method, urlPath, { token, body });
  const admin = (method, urlPath, body) => as(tokens.admin)(method, urlPath, body);

  function scopeOf(name) {
    switch (name) {
      case 'agency': return { agency_id: fx.A.id };
      case 'A2': return { agency_id: fx.A2.id };
      case 'E1': return { environment_id: fx.E1.id };
      case 'E2': return { environment_id: fx.E2.id };
      case 'E9': return { environment_id: 'env_unknown' };
      case 'B1': return { bot_id: fx.B1.id };
      case 'B2': return { bot_id: fx.B2.id };
      case 'B3': return { bot_id: fx.B3.id };
      case 'B9': return { bot_id: 'bot_unknown' };
      default: throw new Error(`unknown matrix scope ${name}`);
    }
  }

  async function restart() {
    assert.equal(await usher.stop(), 0);
    usher = await startUsher({
      dataDir: usher.dataDir,
      env: { USHER_ADMIN_EMAIL: ADMIN_EMAIL, USHER_ADMIN_PASSWORD: PASSWORD },
    });
  }

  before(async () => {
    usher = await startUsher({ env: { USHER_ADMIN_EMAIL: ADMIN_EMAIL, USHER_ADMIN_PASSWORD: PASSWORD } });
    tokens.admin = await signIn(ADMIN_EMAIL);
    ids.admin = (await admin('GET', '/api/v1/me')).json.user.id;
    const make = async (urlPath, name) => {
      const res = await admin('POST', urlPath, { name });
      assert.equal(res.status, 201, res.text);
      return res.json;
    };
    // The matrix fixture: A with E1 (B1, B2) and E2 (B3); another agency A2. E3 is for the
    // notification tests, away from the matrix users' grants.
    fx.A = await make('/api/v1/agencies', 'Acme');
    fx.A2 = await make('/api/v1/agencies', 'Globex');
    fx.E1 = await make(`/api/v1/agencies/${fx.A.id}/environments`, 'E1');
    fx.E2 = await make(`/api/v1/agencies/${fx.A.id}/environments`, 'E2');
    fx.E3 = await make(`/api/v1/agencies/${fx.A.id}/environments`, 'E3');
    fx.EX = await make(`/api/v1/agencies/${fx.A2.id}/environments`, 'Globex prod');
    fx.B1 = await make(`/api/v1/environments/${fx.E1.id}/bots`, 'B1');
    fx.B2 = await make(`/api/v1/environments/${fx.E1.id}/bots`, 'B2');
    fx.B3 = await make(`/api/v1/environments/${fx.E2.id}/bots`, 'B3');

    // One fresh user per matrix row, with that row's grants.
    matrix.forEach((row, i) => {
      const id = addUser(`m${i}`);
      row.user_id = id;
      const agencyGrant = parseGrant(row.agency_grant);
      const envGrant = parseGrant(row.environment_grant);
      const botGrant = parseGrant(row.bot_grant);
      if (agencyGrant) addGrant(id, fx.A.id, agencyGrant);
      if (envGrant) addGrant(id, fx.A.id, { environmentId: fx.E1.id, ...envGrant });
      if (botGrant) addGrant(id, fx.A.id, { botId: fx.B1.id, ...botGrant });
    });

    // People for the other tests.
    addGrant(addUser('owner'), fx.A.id, { roles: ['owner'] });
    addGrant(addUser('org'), fx.A.id, { roles: ['organisation_manager'] });
    addGrant(addUser('plain'), fx.A.id, { roles: ['agent'] });
    addGrant(addUser('globex'), fx.A2.id, { roles: ['owner'] });
    // effective: agent at A, operator override on E1, bot_manager on B3.
    const layered = addUser('layered');
    addGrant(layered, fx.A.id, { roles: ['agent'] });
    addGrant(layered, fx.A.id, { environmentId: fx.E1.id, roles: ['operator'] });
    addGrant(layered, fx.A.id, { botId: fx.B3.id, roles: ['bot_manager'] });
    // users.read on E3 only.
    addGrant(addUser('e3manager'), fx.A.id, { environmentId: fx.E3.id, roles: ['environment_manager'] });
    // Notification recipients of E3 (rule 3), created in this order.
    addGrant(addUser('e3agent', { createdAt: 10, first: 'Ada', last: 'Agent' }), fx.A.id,
      { environmentId: fx.E3.id, roles: ['agent'] });
    addGrant(addUser('e3operator', { createdAt: 11, first: 'Otto', last: 'Operator' }), fx.A.id,
      { environmentId: fx.E3.id, roles: ['analyst', 'operator'] });
    addGrant(addUser('e3agencyop', { createdAt: 12 }), fx.A.id, { roles: ['operator'] });
    addGrant(addUser('e3disabled', { createdAt: 13, status: 'disabled' }), fx.A.id,
      { environmentId: fx.E3.id, roles: ['agent'] });
    addGrant(addUser('e3dev', { createdAt: 14 }), fx.A.id, { environmentId: fx.E3.id, roles: ['developer'] });
    addGrant(addUser('e3botagent', { createdAt: 15 }), fx.A.id, { botId: fx.B1.id, roles: ['agent'] });
    addGrant(addUser('e3notify', { createdAt: 16 }), fx.A.id,
      { environmentId: fx.E3.id, roles: [], extra: ['inbox.notify', 'inbox.reply'] });
    sql(sqlScript.join('\n'));
    // The decision index loads grants at start.
    await restart();
    for (const key of ['owner', 'org', 'plain', 'globex', 'e3manager']) {
      tokens[key] = await signIn(`${key}@decisions.example`);
    }
  });

  after(async () => {
    if (!usher) return;
    const code = await usher.stop();
    // No secret (password, session token, API token) reaches the log.
    const log = JSON.stringify(usher.logs) + usher.stderr.join('\n');
    for (const secret of secrets) assert.ok(!log.includes(secret), 'a secret appeared in the log');
    assert.equal(code, 0);
  });

  describe('the inheritance matrix through POST /check', () => {
    it(`answers all ${matrix.length} rows as the matrix says`, async () => {
      assert.ok(matrix.length > 50, 'the matrix was read');
      const failures = [];
      for (const row of matrix) {
        const body = { user_id: row.user_id, permission: row.permission, ...scopeOf(row.scope) };
        const res = await admin('POST', '/api/v1/check?explain=1', body);
        const where = `row "${row.case}" (${path.basename(MATRIX_PATH)}:${row.line})`;
        if (res.status !== 200) {
          failures.push(`${where}: status ${res.status} ${res.text}`);
          continue;
        }
        const expected = {
          allowed: row.allowed === 'true',
          source: row.source,
          roles: row.roles === '-' ? [] : row.roles.split('+'),
        };
        try {
          assert.deepEqual(res.json, expected);
        } catch {
          failures.push(`${where}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(res.json)}`);
        }
      }
      assert.deepEqual(failures, []);
    });

    it('gives the same answers through a platform token and in one batch', async () => {
      const r = await runUsher(['token-create', '--name', 'matrix', '--data-dir', usher.dataDir]);
      assert.equal(r.code, 0, r.stderr);
      const secret = r.stdout.trim();
      secrets.add(secret);
      assert.match(secret, /^usk_[A-Za-z0-9_-]{43}$/);
      assert.ok(!r.stderr.includes(secret));
      const checks = matrix.map((row) => ({ user_id: row.user_id, permission: row.permission, ...scopeOf(row.scope) }));
      const res = await usher.api('POST', '/api/v1/check/batch', { token: secret, body: { checks } });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.results.length, matrix.length);
      res.json.results.forEach((result, i) => {
        const row = matrix[i];
        assert.deepEqual(result, { allowed: row.allowed === 'true' },
          `row "${row.case}" (${path.basename(MATRIX_PATH)}:${row.line})`);
      });
    });
  });

  describe('POST /api/v1/check', () => {
    it('answers only {allowed} without explain', async () => {
      const res = await admin('POST', '/api/v1/check',
        { user_id: ids.owner, permission: 'agency.manage', agency_id: fx.A.id });
      assert.equal(res.status, 200);
      assert.deepEqual(res.json, { allowed: true });
      const denied = await admin('POST', '/api/v1/check?explain=0',
        { user_id: ids.plain, permission: 'agency.manage', agency_id: fx.A.id });
      assert.deepEqual(denied.json, { allowed: false });
    });

    it('explains a platform admin and unknowns', async () => {
      let res = await admin('POST', '/api/v1/check?explain=true',
        { user_id: ids.admin, permission: 'agency.manage', environment_id: fx.EX.id });
      assert.deepEqual(res.json, { allowed: true, source: 'platform_admin', roles: [] });
      res = await admin('POST', '/api/v1/check?explain=1',
        { user_id: 'usr_nobody', permission: 'bot.read', agency_id: fx.A.id });
      assert.deepEqual(res.json, { allowed: false, source: 'none', roles: [] });
      res = await admin('POST', '/api/v1/check?explain=1',
        { user_id: ids.e3disabled, permission: 'inbox.reply', environment_id: fx.E3.id });
      assert.deepEqual(res.json, { allowed: false, source: 'none', roles: [] });
      assertProblem(await admin('POST', '/api/v1/check?explain=maybe',
        { user_id: ids.owner, permission: 'bot.read', agency_id: fx.A.id }), 400, 'invalid_input', 'explain');
    });

    it('lets a signed-in user ask about themselves only', async () => {
      const plain = as(tokens.plain);
      const mine = await plain('POST', '/api/v1/check?explain=1',
        { user_id: ids.plain, permission: 'inbox.reply', environment_id: fx.E2.id });
      assert.equal(mine.status, 200);
      assert.deepEqual(mine.json, { allowed: true, source: 'agency', roles: ['agent'] });
      assertProblem(await plain('POST', '/api/v1/check',
        { user_id: ids.owner, permission: 'inbox.reply', agency_id: fx.A.id }), 403, 'forbidden', 'user_id');
      assertProblem(await plain('POST', '/api/v1/check/batch', {
        checks: [
          { user_id: ids.plain, permission: 'inbox.reply', agency_id: fx.A.id },
          { user_id: ids.owner, permission: 'inbox.reply', agency_id: fx.A.id },
        ],
      }), 403, 'forbidden', 'checks[1].user_id');
      // Even an owner of the agency asks only about themselves.
      assertProblem(await as(tokens.owner)('POST', '/api/v1/check',
        { user_id: ids.plain, permission: 'inbox.reply', agency_id: fx.A.id }), 403, 'forbidden', 'user_id');
    });

    it('needs a caller', async () => {
      const res = await usher.api('POST', '/api/v1/check',
        { body: { user_id: ids.owner, permission: 'bot.read', agency_id: fx.A.id } });
      assertProblem(res, 401, 'unauthenticated');
    });

    const valid = () => ({ user_id: 'usr_x', permission: 'bot.read', environment_id: 'env_x' });
    for (const [label, change, field] of [
      ['a missing user_id', (b) => delete b.user_id, 'user_id'],
      ['a numeric user_id', (b) => (b.user_id = 42), 'user_id'],
      ['an empty user_id', (b) => (b.user_id = ''), 'user_id'],
      ['a user_id list', (b) => (b.user_id = ['usr_x']), 'user_id'],
      ['a missing permission', (b) => delete b.permission, 'permission'],
      ['an object permission', (b) => (b.permission = { name: 'bot.read' }), 'permission'],
      ['no scope', (b) => delete b.environment_id, 'environment_id'],
      ['two scopes', (b) => (b.bot_id = 'bot_x'), 'bot_id'],
      ['a numeric scope', (b) => (b.environment_id = 1), 'environment_id'],
      ['an unknown field', (b) => (b.role = 'owner'), 'role'],
      ['an is_admin field', (b) => (b.is_admin = true), 'is_admin'],
      ['a 129-byte user_id', (b) => (b.user_id = 'u'.repeat(129)), 'user_id'],
    ]) {
      it(`refuses ${label}`, async () => {
        const body = valid();
        change(body);
        assertProblem(await admin('POST', '/api/v1/check', body), 400, 'invalid_input', field);
      });
    }

    it('refuses bodies that are not one JSON object', async () => {
      for (const raw of ['', '[]', '"x"', '{"user_id":', '{"user_id":"a","user_id":"b"}']) {
        const res = await usher.api('POST', '/api/v1/check',
          { token: tokens.admin, raw, headers: { 'Content-Type': 'application/json' } });
        assertProblem(res, 400, 'invalid_input');
      }
    });
  });

  describe('POST /api/v1/check/batch', () => {
    it('answers 1000 questions in order', async () => {
      const questions = [
        [{ user_id: ids.owner, permission: 'agency.manage', agency_id: fx.A.id }, true],
        [{ user_id: ids.plain, permission: 'agency.manage', agency_id: fx.A.id }, false],
        [{ user_id: ids.layered, permission: 'inbox.start', environment_id: fx.E1.id }, true],
        [{ user_id: ids.layered, permission: 'inbox.start', environment_id: fx.E2.id }, false],
        [{ user_id: ids.layered, permission: 'bot.develop', bot_id: fx.B3.id }, true],
        [{ user_id: ids.globex, permission: 'bot.read', agency_id: fx.A.id }, false],
        [{ user_id: ids.globex, permission: 'bot.read', environment_id: fx.EX.id }, true],
      ];
      const checks = [];
      const expected = [];
      for (let i = 0; i < 1000; i++) {
        const [question, allowed] = questions[(i * 5) % questions.length];
        checks.push(question);
        expected.push({ allowed });
      }
      const res = await admin('POST', '/api/v1/check/batch', { checks });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json, { results: expected });
      const explained = await admin('POST', '/api/v1/check/batch?explain=1',
        { checks: [questions[2][0], questions[3][0]] });
      assert.equal(explained.status, 200);
      assert.deepEqual(explained.json.results, [
        { allowed: true, source: 'environment', roles: ['operator'] },
        { allowed: false, source: 'none', roles: ['agent'] },
      ]);
    });

    it('refuses 1001 questions, none and a malformed batch', async () => {
      const one = { user_id: ids.owner, permission: 'bot.read', agency_id: fx.A.id };
      assertProblem(await admin('POST', '/api/v1/check/batch', { checks: Array(1001).fill(one) }),
        400, 'invalid_input', 'checks');
      assertProblem(await admin('POST', '/api/v1/check/batch', { checks: [] }), 400, 'invalid_input', 'checks');
      assertProblem(await admin('POST', '/api/v1/check/batch', {}), 400, 'invalid_input', 'checks');
      assertProblem(await admin('POST', '/api/v1/check/batch', { checks: one }), 400, 'invalid_input', 'checks');
      assertProblem(await admin('POST', '/api/v1/check/batch', { checks: [one], explain: true }),
        400, 'invalid_input', 'explain');
      assertProblem(await admin('POST', '/api/v1/check/batch', { checks: [one, one, one, { ...one, permission: 7 }] }),
        400, 'invalid_input', 'checks[3].permission');
      assertProblem(await admin('POST', '/api/v1/check/batch', { checks: [one, 'owner'] }),
        400, 'invalid_input', 'checks[1]');
      assertProblem(await admin('POST', '/api/v1/check/batch', { checks: [{ ...one, environment_id: fx.E1.id }] }),
        400, 'invalid_input', 'checks[0].agency_id');
      assertProblem(await admin('POST', '/api/v1/check/batch', { checks: [{ ...one, grants: [] }] }),
        400, 'invalid_input', 'checks[0].grants');
    });
  });

  describe('API tokens', () => {
    let agencyToken; // {id, token} of agency A

    before(async () => {
      const res = await as(tokens.owner)('POST', `/api/v1/agencies/${fx.A.id}/tokens`, { name: '  inbox service ' });
      assert.equal(res.status, 201, res.text);
      secrets.add(res.json.token);
      agencyToken = res.json;
    });

    it('shows the secret once, in the create answer', async () => {
      assert.match(agencyToken.token, /^usk_[A-Za-z0-9_-]{43}$/);
      assert.equal(agencyToken.name, 'inbox service');
      assert.equal(agencyToken.agency_id, fx.A.id);
      assert.equal(agencyToken.created_by, ids.owner);
      assert.equal(agencyToken.revoked_at, null);
      const list = await as(tokens.owner)('GET', `/api/v1/agencies/${fx.A.id}/tokens`);
      assert.equal(list.status, 200);
      const mine = list.json.items.find((t) => t.id === agencyToken.id);
      assert.ok(mine);
      assert.ok(!('token' in mine));
      assert.ok(!list.text.includes(agencyToken.token));
      // The database holds a hash, never the secret.
      assert.equal(sql(`SELECT COUNT(*) FROM api_tokens WHERE token_hash = '${agencyToken.token}'`).trim(), '0');
      assert.equal(sql(`SELECT length(token_hash) FROM api_tokens WHERE id = '${agencyToken.id}'`).trim(), '64');
      const audit = sql(`SELECT action || ' ' || details FROM audit_log WHERE action LIKE 'token.%'`);
      assert.match(audit, /token\.created/);
      assert.ok(!audit.includes(agencyToken.token));
    });

    it('answers about its own agency and as unknown about others', async () => {
      const svc = as(agencyToken.token);
      let res = await svc('POST', '/api/v1/check?explain=1',
        { user_id: ids.layered, permission: 'inbox.start', environment_id: fx.E1.id });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json, { allowed: true, source: 'environment', roles: ['operator'] });
      // globex's owner may do everything in A2, but this token cannot see A2.
      for (const scope of [{ agency_id: fx.A2.id }, { environment_id: fx.EX.id }]) {
        res = await svc('POST', '/api/v1/check?explain=1', { user_id: ids.globex, permission: 'bot.read', ...scope });
        assert.equal(res.status, 200);
        assert.deepEqual(res.json, { allowed: false, source: 'none', roles: [] });
      }
      res = await svc('POST', '/api/v1/check/batch', {
        checks: [
          { user_id: ids.globex, permission: 'bot.read', environment_id: fx.EX.id },
          { user_id: ids.owner, permission: 'bot.read', environment_id: fx.E2.id },
        ],
      });
      assert.deepEqual(res.json, { results: [{ allowed: false }, { allowed: true }] });
      // The platform admin is a platform admin only where the token may look.
      res = await svc('POST', '/api/v1/check', { user_id: ids.admin, permission: 'bot.read', agency_id: fx.A2.id });
      assert.deepEqual(res.json, { allowed: false });
      assert.equal((await svc('GET', `/api/v1/users/${ids.globex}/effective?agency_id=${fx.A2.id}`)).status, 404);
      assert.equal((await svc('GET', `/api/v1/environments/${fx.EX.id}/notification-recipients`)).status, 404);
    });

    it('may call only the decision endpoints', async () => {
      const svc = as(agencyToken.token);
      for (const [method, urlPath, body] of [
        ['GET', '/api/v1/agencies'],
        ['GET', `/api/v1/agencies/${fx.A.id}`],
        ['GET', '/api/v1/me'],
        ['POST', '/api/v1/agencies', { name: 'Sneaky' }],
        ['GET', `/api/v1/agencies/${fx.A.id}/tokens`],
        ['POST', `/api/v1/agencies/${fx.A.id}/tokens`, { name: 'child' }],
        ['GET', `/api/v1/agencies/${fx.A.id}/audit`],
        ['DELETE', '/api/v1/sessions/current'],
      ]) {
        assertProblem(await svc(method, urlPath, body), 403, 'forbidden');
      }
      assert.equal(sql(`SELECT COUNT(*) FROM agencies WHERE name = 'Sneaky'`).trim(), '0');
    });

    it('records its last use and names it in the request log', async () => {
      const used = sql(`SELECT COUNT(*) FROM api_tokens WHERE id = '${agencyToken.id}' AND last_used_at IS NOT NULL`).trim();
      assert.equal(used, '1');
      const lines = usher.findLogs('http.request', (l) => l.token_id === agencyToken.id);
      assert.ok(lines.some((l) => l.route === '/api/v1/check' && l.status === 200));
      assert.ok(lines.every((l) => l.user_id === null || l.user_id === undefined));
    });

    it('needs agency.manage to be created, listed or revoked', async () => {
      const org = as(tokens.org);
      assertProblem(await org('POST', `/api/v1/agencies/${fx.A.id}/tokens`, { name: 'x' }), 403, 'forbidden');
      assertProblem(await org('GET', `/api/v1/agencies/${fx.A.id}/tokens`), 403, 'forbidden');
      assertProblem(await org('DELETE', `/api/v1/agencies/${fx.A.id}/tokens/${agencyToken.id}`), 403, 'forbidden');
      const globex = as(tokens.globex);
      assertProblem(await globex('POST', `/api/v1/agencies/${fx.A.id}/tokens`, { name: 'x' }), 404, 'not_found');
      assertProblem(await globex('GET', `/api/v1/agencies/${fx.A.id}/tokens`), 404, 'not_found');
      assertProblem(await globex('DELETE', `/api/v1/agencies/${fx.A.id}/tokens/${agencyToken.id}`), 404, 'not_found');
      // A2's owner cannot reach A's token through their own agency either.
      assertProblem(await globex('DELETE', `/api/v1/agencies/${fx.A2.id}/tokens/${agencyToken.id}`), 404, 'not_found');
      // Platform tokens are for platform admins.
      assertProblem(await as(tokens.owner)('POST', '/api/v1/tokens', { name: 'x' }), 403, 'forbidden');
      assertProblem(await as(tokens.owner)('GET', '/api/v1/tokens'), 403, 'forbidden');
    });

    for (const [label, body, field] of [
      ['no name', {}, 'name'],
      ['an empty name', { name: '  ' }, 'name'],
      ['a 201-character name', { name: 'x'.repeat(201) }, 'name'],
      ['a numeric name', { name: 5 }, 'name'],
      ['an agency_id field', { name: 'x', agency_id: 'agy_x' }, 'agency_id'],
      ['a token field', { name: 'x', token: 'usk_mine' }, 'token'],
    ]) {
      it(`refuses a token with ${label}`, async () => {
        assertProblem(await admin('POST', `/api/v1/agencies/${fx.A.id}/tokens`, body), 400, 'invalid_input', field);
      });
    }

    it('lets platform admins make platform tokens that see every agency', async () => {
      const res = await admin('POST', '/api/v1/tokens', { name: 'platform service' });
      assert.equal(res.status, 201, res.text);
      secrets.add(res.json.token);
      assert.equal(res.json.agency_id, null);
      const svc = as(res.json.token);
      const check = await svc('POST', '/api/v1/check',
        { user_id: ids.globex, permission: 'bot.read', environment_id: fx.EX.id });
      assert.deepEqual(check.json, { allowed: true });
      const eff = await svc('GET', `/api/v1/users/${ids.globex}/effective?agency_id=${fx.A2.id}`);
      assert.equal(eff.status, 200, eff.text);
      const list = await admin('GET', '/api/v1/tokens');
      assert.ok(list.json.items.some((t) => t.id === res.json.id));
      assert.ok(!list.json.items.some((t) => t.id === agencyToken.id));
      assert.equal((await admin('DELETE', `/api/v1/tokens/${res.json.id}`)).status, 204);
      assertProblem(await svc('POST', '/api/v1/check',
        { user_id: ids.globex, permission: 'bot.read', environment_id: fx.EX.id }), 401, 'unauthenticated');
    });

    it('stops working on the very next request after revocation', async () => {
      const made = await as(tokens.owner)('POST', `/api/v1/agencies/${fx.A.id}/tokens`, { name: 'short-lived' });
      assert.equal(made.status, 201);
      secrets.add(made.json.token);
      const svc = as(made.json.token);
      const body = { user_id: ids.owner, permission: 'bot.read', agency_id: fx.A.id };
      assert.equal((await svc('POST', '/api/v1/check', body)).status, 200);
      const del = await as(tokens.owner)('DELETE', `/api/v1/agencies/${fx.A.id}/tokens/${made.json.id}`);
      assert.equal(del.status, 204);
      assertProblem(await svc('POST', '/api/v1/check', body), 401, 'unauthenticated');
      assertProblem(await svc('POST', '/api/v1/check/batch', { checks: [body] }), 401, 'unauthenticated');
      // Revoking again changes nothing; the list shows when it was revoked.
      assert.equal((await as(tokens.owner)('DELETE', `/api/v1/agencies/${fx.A.id}/tokens/${made.json.id}`)).status, 204);
      const list = await as(tokens.owner)('GET', `/api/v1/agencies/${fx.A.id}/tokens`);
      const row = list.json.items.find((t) => t.id === made.json.id);
      assert.ok(!Number.isNaN(Date.parse(row.revoked_at)));
      assert.equal(sql(`SELECT COUNT(*) FROM audit_log WHERE action = 'token.revoked' AND details LIKE '%${made.json.id}%'`).trim(), '1');
      // The other token still works.
      assert.equal((await as(agencyToken.token)('POST', '/api/v1/check', body)).status, 200);
      // Unknown and malformed API tokens are anonymous.
      assertProblem(await usher.api('POST', '/api/v1/check', { token: `usk_${'A'.repeat(43)}`, body }), 401, 'unauthenticated');
      assertProblem(await usher.api('POST', '/api/v1/check', { token: 'usk_short', body }), 401, 'unauthenticated');
      assertProblem(await admin('DELETE', `/api/v1/agencies/${fx.A.id}/tokens/tok_unknown`), 404, 'not_found');
    });

    it('pages the token list', async () => {
      for (let i = 0; i < 3; i++) {
        const res = await admin('POST', `/api/v1/agencies/${fx.A2.id}/tokens`, { name: `page ${i}` });
        assert.equal(res.status, 201);
        secrets.add(res.json.token);
      }
      const names = [];
      let cursor = null;
      do {
        const res = await admin('GET', `/api/v1/agencies/${fx.A2.id}/tokens?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        assert.equal(res.status, 200);
        assert.ok(res.json.items.length <= 2);
        names.push(...res.json.items.map((t) => t.name));
        cursor = res.json.next_cursor;
      } while (cursor);
      // Tokens made in the same millisecond list in id order, so only the set is certain.
      assert.deepEqual([...names].sort(), ['page 0', 'page 1', 'page 2']);
    });
  });

  describe('GET /api/v1/users/{id}/effective', () => {
    it('shows where access comes from', async () => {
      const get = async (query) => {
        const res = await admin('GET', `/api/v1/users/${ids.layered}/effective?${query}`);
        assert.equal(res.status, 200, res.text);
        return res.json;
      };
      assert.deepEqual(await get(`environment_id=${fx.E1.id}`), {
        user_id: ids.layered,
        scope: { type: 'environment', id: fx.E1.id },
        roles: ['operator'],
        permissions: ['inbox.reply', 'inbox.notify', 'inbox.start', 'inbox.closed', 'crm.read', 'crm.write', 'bot.read'],
        source: 'environment',
        inherited: false,
      });
      assert.deepEqual(await get(`environment_id=${fx.E2.id}`), {
        user_id: ids.layered,
        scope: { type: 'environment', id: fx.E2.id },
        roles: ['agent'],
        permissions: ['inbox.reply', 'inbox.notify', 'bot.read'],
        source: 'agency',
        inherited: true,
      });
      const bot = await get(`bot_id=${fx.B3.id}`);
      assert.deepEqual(bot.roles, ['agent', 'bot_manager']);
      assert.deepEqual(bot.permissions, ['inbox.reply', 'inbox.notify', 'settings.read', 'bot.read', 'bot.develop']);
      assert.equal(bot.source, 'bot');
      assert.equal(bot.inherited, true);
      const agency = await get(`agency_id=${fx.A.id}`);
      assert.deepEqual(agency.roles, ['agent']);
      assert.equal(agency.source, 'agency');
      assert.equal(agency.inherited, false);
      const none = await admin('GET', `/api/v1/users/${ids.e3dev}/effective?environment_id=${fx.E1.id}`);
      assert.equal(none.status, 200);
      assert.deepEqual(none.json.roles, []);
      assert.deepEqual(none.json.permissions, []);
      assert.equal(none.json.source, 'none');
      assert.equal(none.json.inherited, false);
      const root = await admin('GET', `/api/v1/users/${ids.admin}/effective?agency_id=${fx.A2.id}`);
      assert.equal(root.json.source, 'platform_admin');
      assert.equal(root.json.permissions.length, 21);
    });

    it('is for the user, platform admins, tokens of the agency and holders of users.read', async () => {
      const url = (user, query) => `/api/v1/users/${user}/effective?${query}`;
      assert.equal((await as(tokens.plain)('GET', url(ids.plain, `environment_id=${fx.E2.id}`))).status, 200);
      assertProblem(await as(tokens.plain)('GET', url(ids.owner, `agency_id=${fx.A.id}`)), 403, 'forbidden');
      assertProblem(await as(tokens.plain)('GET', url(ids.plain, `agency_id=${fx.A2.id}`)), 404, 'not_found');
      // users.read on E3 only.
      const manager = as(tokens.e3manager);
      assert.equal((await manager('GET', url(ids.plain, `environment_id=${fx.E3.id}`))).status, 200);
      assertProblem(await manager('GET', url(ids.plain, `environment_id=${fx.E1.id}`)), 403, 'forbidden');
      assertProblem(await manager('GET', url(ids.globex, `environment_id=${fx.E3.id}`)), 404, 'not_found');
      assertProblem(await as(tokens.globex)('GET', url(ids.plain, `agency_id=${fx.A.id}`)), 404, 'not_found');
      assert.equal((await as(tokens.owner)('GET', url(ids.plain, `bot_id=${fx.B1.id}`))).status, 200);
      assertProblem(await admin('GET', url('usr_nobody', `agency_id=${fx.A.id}`)), 404, 'not_found');
      assertProblem(await admin('GET', url(ids.plain, 'environment_id=env_unknown')), 404, 'not_found');
    });

    for (const [label, query, field] of [
      ['no scope', '', 'environment_id'],
      ['two scopes', 'environment_id=a&bot_id=b', 'bot_id'],
      ['an empty scope', 'agency_id=', 'agency_id'],
    ]) {
      it(`refuses ${label}`, async () => {
        assertProblem(await admin('GET', `/api/v1/users/${ids.plain}/effective?${query}`), 400, 'invalid_input', field);
      });
    }
  });

  describe('GET /api/v1/environments/{id}/notification-recipients', () => {
    const url = () => `/api/v1/environments/${fx.E3.id}/notification-recipients`;

    it('lists the active users whose own grant there holds agent or operator', async () => {
      const res = await admin('GET', url());
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json, {
        items: [
          { id: ids.e3agent, email: 'e3agent@decisions.example', first_name: 'Ada', last_name: 'Agent' },
          { id: ids.e3operator, email: 'e3operator@decisions.example', first_name: 'Otto', last_name: 'Operator' },
        ],
        next_cursor: null,
      });
      // Not: the agency-level operator, the disabled agent, the developer, the bot-level agent,
      // the holder of inbox.notify as an extra permission.
      const first = await admin('GET', `${url()}?limit=1`);
      assert.deepEqual(first.json.items.map((u) => u.id), [ids.e3agent]);
      const second = await admin('GET', `${url()}?limit=1&cursor=${first.json.next_cursor}`);
      assert.deepEqual(second.json.items.map((u) => u.id), [ids.e3operator]);
    });

    it('leaves out agency-level agents and operators everywhere', async () => {
      // E2 has no environment-level agents; the agency-level ones of A do not count.
      const res = await admin('GET', `/api/v1/environments/${fx.E2.id}/notification-recipients`);
      assert.deepEqual(res.json.items, []);
    });

    it('is for platform admins, tokens of the agency and holders of users.read there', async () => {
      assert.equal((await as(tokens.e3manager)('GET', url())).status, 200);
      assertProblem(await as(tokens.plain)('GET', url()), 403, 'forbidden');
      assertProblem(await as(tokens.globex)('GET', url()), 404, 'not_found');
      assertProblem(await admin('GET', '/api/v1/environments/env_unknown/notification-recipients'), 404, 'not_found');
      const made = await as(tokens.owner)('POST', `/api/v1/agencies/${fx.A.id}/tokens`, { name: 'notifier' });
      secrets.add(made.json.token);
      const res = await as(made.json.token)('GET', url());
      assert.equal(res.status, 200);
      assert.equal(res.json.items.length, 2);
      assertProblem(await admin('GET', `${url()}?limit=0`), 400, 'invalid_input', 'limit');
    });
  });

  describe('GET /api/v1/agencies/{id}/audit', () => {
    before(async () => {
      // Changes by two people in A2: the admin and globex's owner.
      for (const name of ['audit one', 'audit two']) {
        const res = await as(tokens.globex)('POST', `/api/v1/agencies/${fx.A2.id}/tokens`, { name });
        assert.equal(res.status, 201, res.text);
        secrets.add(res.json.token);
        assert.equal((await as(tokens.globex)('DELETE', `/api/v1/agencies/${fx.A2.id}/tokens/${res.json.id}`)).status, 204);
      }
      assert.equal((await admin('POST', `/api/v1/agencies/${fx.A2.id}/environments`, { name: 'Globex staging' })).status, 201);
    });

    const list = (token, query = '') => as(token)('GET', `/api/v1/agencies/${fx.A2.id}/audit${query}`);

    it('lists the agency entries newest first', async () => {
      const res = await list(tokens.globex);
      assert.equal(res.status, 200, res.text);
      const items = res.json.items;
      assert.ok(items.length >= 8);
      const numeric = items.map((e) => Number(e.id));
      assert.deepEqual(numeric, [...numeric].sort((x, y) => y - x));
      assert.equal(items[0].action, 'environment.created');
      assert.deepEqual(Object.keys(items[0]).sort(), ['action', 'actor_deleted', 'actor_email', 'actor_id',
        'actor_name', 'at', 'details', 'id', 'impersonator_deleted', 'impersonator_email', 'impersonator_id',
        'impersonator_name', 'scope', 'source_ip', 'subject_deleted', 'subject_email', 'subject_name',
        'subject_user_id', 'user_agent']);
      assert.equal(items[0].actor_id, ids.admin);
      assert.equal(items[0].scope.type, 'environment');
      assert.deepEqual(items[0].details, { name: 'Globex staging' });
      assert.ok(!Number.isNaN(Date.parse(items[0].at)));
      assert.ok(items.every((e) => e.action !== 'session.created'), 'no platform-level rows');
      assert.ok(!res.text.includes('usk_'));
      const agencyCreated = items.find((e) => e.action === 'agency.created');
      assert.deepEqual(agencyCreated.scope, { type: 'agency', id: fx.A2.id, name: 'Globex' });
    });

    it('filters by action, exactly or by prefix', async () => {
      let res = await list(tokens.globex, '?action=token.revoked');
      assert.ok(res.json.items.length >= 2);
      assert.ok(res.json.items.every((e) => e.action === 'token.revoked'));
      res = await list(tokens.globex, '?action=token.*');
      const actions = new Set(res.json.items.map((e) => e.action));
      assert.deepEqual([...actions].sort(), ['token.created', 'token.revoked']);
      res = await list(tokens.globex, '?action=token*');
      assert.ok(res.json.items.length > 0);
      res = await list(tokens.globex, '?action=token');
      assert.deepEqual(res.json.items, []);
      res = await list(tokens.globex, '?action=environment.created');
      assert.ok(res.json.items.some((e) => e.details.name === 'Globex staging'));
    });

    it('filters by user, as actor or subject', async () => {
      const res = await list(tokens.globex, `?user_id=${ids.globex}`);
      assert.ok(res.json.items.length >= 4);
      assert.ok(res.json.items.every((e) => e.actor_id === ids.globex || e.subject_user_id === ids.globex));
      const byAdmin = await list(tokens.globex, `?user_id=${ids.admin}&action=environment.*`);
      assert.ok(byAdmin.json.items.length >= 2);
      assert.ok(byAdmin.json.items.every((e) => e.actor_id === ids.admin));
      assert.deepEqual((await list(tokens.globex, '?user_id=usr_nobody')).json.items, []);
    });

    it('pages with limit and cursor', async () => {
      const all = (await list(tokens.globex, '?limit=200')).json.items.map((e) => e.id);
      const paged = [];
      let cursor = null;
      let pages = 0;
      do {
        const res = await list(tokens.globex, `?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
        assert.equal(res.status, 200, res.text);
        assert.ok(res.json.items.length <= 3);
        paged.push(...res.json.items.map((e) => e.id));
        cursor = res.json.next_cursor;
        pages++;
      } while (cursor && pages < 100);
      assert.deepEqual(paged, all);
      assert.ok(pages >= 3);
    });

    it('needs audit.read in the agency; other agencies are not found', async () => {
      assert.equal((await list(tokens.admin)).status, 200);
      assertProblem(await as(tokens.owner)('GET', `/api/v1/agencies/${fx.A2.id}/audit`), 404, 'not_found');
      assert.equal((await as(tokens.org)('GET', `/api/v1/agencies/${fx.A.id}/audit`)).status, 200);
      assertProblem(await as(tokens.plain)('GET', `/api/v1/agencies/${fx.A.id}/audit`), 403, 'forbidden');
      assertProblem(await admin('GET', '/api/v1/agencies/agy_unknown/audit'), 404, 'not_found');
      assertProblem(await usher.api('GET', `/api/v1/agencies/${fx.A2.id}/audit`), 401, 'unauthenticated');
    });

    it('cannot be changed through the API', async () => {
      for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
        const res = await admin(method, `/api/v1/agencies/${fx.A2.id}/audit`, {});
        assert.equal(res.status, 405, `${method}: ${res.text}`);
      }
    });

    for (const [label, query, field] of [
      ['a malformed action', '?action=Token%20created', 'action'],
      ['a star inside the action', '?action=to*ken', 'action'],
      ['a zero limit', '?limit=0', 'limit'],
      ['a limit above 200', '?limit=201', 'limit'],
      ['a garbage cursor', '?cursor=not-a-cursor!', 'cursor'],
      ['a cursor of another list', '?cursor=MTIzLmFneV94', 'cursor'],
    ]) {
      it(`refuses ${label}`, async () => {
        assertProblem(await list(tokens.globex, query), 400, 'invalid_input', field);
      });
    }
  });
});
