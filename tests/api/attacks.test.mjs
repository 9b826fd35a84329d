// The everyday-admin features attacked from outside, through the real binary: places renamed,
// deleted, suspended and resumed by the wrong people or with the wrong confirmation, and in
// races; end-dated grants at their edges and a manager trying to outlast their own end; dry runs
// that must change nothing; hostile bulk CSV files; audit filters and users-list filters
// pointed at another agency; query strings that try to slip past the strict parameter check.
// Each title says what must hold. Grants are written into the database and the server
// restarted, so the decision index loads them the way it does on every start.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { startUsher } from './lib/harness.mjs';
import { startSmtp } from './lib/smtp.mjs';
import { ADMIN_EMAIL, PASSWORD, assertProblem } from './lib/world.mjs';

const DAY = 24 * 3600 * 1000;

// A server with a platform admin and an SMTP server, that a test may restart on its data.
async function startServer() {
  const smtp = await startSmtp();
  const env = { USHER_ADMIN_EMAIL: ADMIN_EMAIL, USHER_ADMIN_PASSWORD: PASSWORD, USHER_SMTP_URL: smtp.url,
    USHER_SMTP_FROM: 'studio@studio.example' };
  const w = { smtp, usher: await startUsher({ env }), secrets: new Set([PASSWORD]) };
  w.sql = (text) => w.usher.sql(text);
  w.snapshot = () => w.usher.snapshot();
  w.restart = async () => {
    assert.equal(await w.usher.stop(), 0);
    w.usher = await startUsher({ dataDir: w.usher.dataDir, env });
  };
  w.addUser = (email, key) => {
    const id = `usr_t_${key}`;
    w.sql(`INSERT INTO users (id, email, password_hash, created_at)
           SELECT '${id}', '${email}', password_hash, 1 FROM users WHERE email = '${ADMIN_EMAIL}'`);
    return id;
  };
  w.signIn = async (email) => {
    const res = await w.usher.api('POST', '/api/v1/sessions', { body: { email, password: PASSWORD } });
    assert.equal(res.status, 201, `sign-in as ${email}: ${res.text}`);
    w.secrets.add(res.json.token);
    return res.json.token;
  };
  w.invite = async (token, agencyId, body) => {
    const res = await w.usher.api('POST', `/api/v1/agencies/${agencyId}/invitations`, { token, body });
    if (res.json?.url) w.secrets.add(new URL(res.json.url).hash.replace(/^#token=/, ''));
    return res;
  };
  w.acceptNew = async (token) => {
    const res = await w.usher.api('POST', '/api/v1/invitations/accept', { body: { token, password: PASSWORD } });
    if (res.json?.token) w.secrets.add(res.json.token);
    return res;
  };
  w.stop = async () => {
    const code = await w.usher.stop();
    await smtp.close();
    const log = JSON.stringify(w.usher.logs) + w.usher.stderr.join('\n');
    for (const secret of w.secrets) assert.ok(!log.includes(secret), 'a secret appeared in the log');
    return code;
  };
  return w;
}

describe('attacks on the everyday-admin features', () => {
  let w;
  const tokens = {};
  const ids = {};
  const fx = {};

  const sql = (text) => w.sql(text);
  const count = (text) => Number(sql(text).trim());
  const as = (key) => (method, urlPath, body) => w.usher.api(method, urlPath, { token: tokens[key], body });
  const admin = (method, urlPath, body) => as('admin')(method, urlPath, body);
  const iso = (ms) => new Date(ms).toISOString();

  function addUser(key) {
    ids[key] = w.addUser(`${key}@attacks.example`, `atk_${key}`);
    return ids[key];
  }

  // A grant written straight into the tables (with an end when until is given).
  function grant(userId, agencyId, { environmentId = null, botId = null, roles = '', until = null }) {
    const scope = botId || environmentId || agencyId;
    const q = (v) => (v === null ? 'NULL' : `'${v}'`);
    sql(`INSERT INTO memberships (agency_id, user_id, created_at)
           VALUES ('${agencyId}', '${userId}', 1) ON CONFLICT DO NOTHING;
         INSERT INTO grants (id, agency_id, user_id, environment_id, bot_id, scope_id, roles,
                             extra_permissions, created_at, expires_at)
           VALUES ('grt_${userId}_${scope}', '${agencyId}', '${userId}', ${q(environmentId)},
                   ${q(botId)}, '${scope}', '${roles}', '', 1, ${until === null ? 'NULL' : until});`);
  }

  async function signIn(key) {
    tokens[key] = await w.signIn(key === 'admin' ? ADMIN_EMAIL : `${key}@attacks.example`);
  }

  async function made(urlPath, name) {
    const res = await admin('POST', urlPath, { name });
    assert.equal(res.status, 201, res.text);
    return res.json;
  }

  async function check(userKey, permission, scope) {
    const res = await admin('POST', '/api/v1/check', { user_id: ids[userKey], permission, ...scope });
    assert.equal(res.status, 200, res.text);
    return res.json.allowed;
  }

  before(async () => {
    w = await startServer();
    await signIn('admin');
    ids.admin = (await admin('GET', '/api/v1/me')).json.user.id;
    fx.A = await made('/api/v1/agencies', 'Acme');
    fx.G = await made('/api/v1/agencies', 'Globex');
    fx.E1 = await made(`/api/v1/agencies/${fx.A.id}/environments`, 'Production');
    fx.E2 = await made(`/api/v1/agencies/${fx.A.id}/environments`, 'Staging');
    fx.EG = await made(`/api/v1/agencies/${fx.G.id}/environments`, 'Globex prod');
    fx.B1 = await made(`/api/v1/environments/${fx.E1.id}/bots`, 'Support');
    fx.BG = await made(`/api/v1/environments/${fx.EG.id}/bots`, 'Globex bot');

    grant(addUser('owner'), fx.A.id, { roles: 'owner' });
    grant(addUser('envmgr'), fx.A.id, { environmentId: fx.E1.id, roles: 'environment_manager' });
    grant(addUser('botmgr'), fx.A.id, { environmentId: fx.E1.id, botId: fx.B1.id, roles: 'bot_manager' });
    grant(addUser('agent'), fx.A.id, { environmentId: fx.E1.id, roles: 'agent' });
    grant(addUser('peer'), fx.A.id, { environmentId: fx.E2.id, roles: 'agent' });
    // A contractor managing Staging until three days from now.
    fx.tempUntil = Date.now() + 3 * DAY;
    grant(addUser('temp'), fx.A.id, { environmentId: fx.E2.id, roles: 'environment_manager', until: fx.tempUntil });
    grant(addUser('gowner'), fx.G.id, { roles: 'owner' });
    grant(addUser('gagent'), fx.G.id, { environmentId: fx.EG.id, roles: 'agent' });
    // The decision index loads grants at start.
    await w.restart();
    for (const key of ['admin', 'owner', 'envmgr', 'botmgr', 'agent', 'temp', 'gowner']) await signIn(key);
  });

  after(async () => {
    if (w) assert.equal(await w.stop(), 0);
  });

  describe('places', () => {
    it('refuses renames and deletions to lesser roles and changes nothing', async () => {
      const before = w.snapshot();
      assertProblem(await as('envmgr')('PATCH', `/api/v1/agencies/${fx.A.id}`, { name: 'Mine' }), 403, 'forbidden');
      assertProblem(await as('envmgr')('DELETE', `/api/v1/environments/${fx.E1.id}`), 403, 'forbidden');
      assertProblem(await as('botmgr')('DELETE', `/api/v1/environments/${fx.E1.id}`), 403, 'forbidden');
      assertProblem(await as('botmgr')('PATCH', `/api/v1/environments/${fx.E1.id}`, { name: 'Mine' }), 403, 'forbidden');
      assertProblem(await as('botmgr')('PATCH', `/api/v1/agencies/${fx.A.id}`, { name: 'Mine' }), 403, 'forbidden');
      assertProblem(await as('agent')('DELETE', `/api/v1/bots/${fx.B1.id}`), 403, 'forbidden');
      assertProblem(await as('agent')('PATCH', `/api/v1/bots/${fx.B1.id}`, { name: 'Mine' }), 403, 'forbidden');
      assertProblem(await as('owner')('PATCH', `/api/v1/agencies/${fx.A.id}`, { status: 'suspended' }), 403, 'forbidden');
      assert.equal(w.snapshot(), before);
    });

    it("answers 404 to every place of another agency, whatever the owner's role there", async () => {
      const g = as('gowner');
      const before = w.snapshot();
      assertProblem(await g('PATCH', `/api/v1/environments/${fx.E1.id}`, { name: 'Mine' }), 404, 'not_found');
      assertProblem(await g('DELETE', `/api/v1/environments/${fx.E1.id}`), 404, 'not_found');
      assertProblem(await g('DELETE', `/api/v1/bots/${fx.B1.id}`), 404, 'not_found');
      assertProblem(await g('GET', `/api/v1/bots/${fx.B1.id}/deletion-preview`), 404, 'not_found');
      assertProblem(await g('DELETE', `/api/v1/agencies/${fx.A.id}`, { confirm: 'Acme' }), 404, 'not_found');
      // The A owner, the other way round, on Globex's bot.
      assertProblem(await as('owner')('DELETE', `/api/v1/bots/${fx.BG.id}`), 404, 'not_found');
      assert.equal(w.snapshot(), before);
    });

    it("keeps a suspended agency closed to its owner: no resume, no deletion, no change", async () => {
      const Z = await made('/api/v1/agencies', 'Zeta Ltd');
      grant(addUser('zowner'), Z.id, { roles: 'owner' });
      await signIn('zowner');
      assert.equal((await admin('PATCH', `/api/v1/agencies/${Z.id}`, { status: 'suspended' })).status, 200);
      const before = w.snapshot();
      const z = as('zowner');
      assertProblem(await z('PATCH', `/api/v1/agencies/${Z.id}`, { status: 'active' }), 403, 'agency_suspended');
      assertProblem(await z('PATCH', `/api/v1/agencies/${Z.id}`, { name: 'Zeta again' }), 403, 'agency_suspended');
      assertProblem(await z('DELETE', `/api/v1/agencies/${Z.id}`, { confirm: 'Zeta Ltd' }), 403, 'agency_suspended');
      assert.equal(w.snapshot(), before);
      assert.equal((await admin('GET', `/api/v1/agencies/${Z.id}`)).json.status, 'suspended');
    });

    it('deletes an agency only on its exact name: case, spaces, look-alikes and wrong types refused', async () => {
      const Y = await made('/api/v1/agencies', 'Ypsilon');
      assert.equal((await admin('PATCH', `/api/v1/agencies/${Y.id}`, { status: 'suspended' })).status, 200);
      const before = w.snapshot();
      for (const confirm of ['ypsilon', 'YPSILON', ' Ypsilon', 'Ypsilon\u200b', '\u03a5psilon', 'Ypsilo']) {
        assertProblem(await admin('DELETE', `/api/v1/agencies/${Y.id}`, { confirm }), 400, 'confirm_mismatch', 'confirm');
      }
      for (const confirm of [null, 42, ['Ypsilon'], { name: 'Ypsilon' }]) {
        assertProblem(await admin('DELETE', `/api/v1/agencies/${Y.id}`, { confirm }), 400, 'invalid_input', 'confirm');
      }
      assertProblem(await admin('DELETE', `/api/v1/agencies/${Y.id}`, { confirm: 'Ypsilon\u0000' }), 400, 'invalid_input');
      assertProblem(await admin('DELETE', `/api/v1/agencies/${Y.id}`, { confirm: 'Ypsilon', force: true }), 400, 'invalid_input', 'force');
      assertProblem(await admin('DELETE', `/api/v1/agencies/${Y.id}?confirm=Ypsilon`), 400, 'unknown_parameter', 'confirm');
      assert.equal(w.snapshot(), before);
      const gone = await admin('DELETE', `/api/v1/agencies/${Y.id}`, { confirm: 'Ypsilon' });
      assert.equal(gone.status, 200, gone.text);
    });

    it("refuses a suspended agency's API tokens on every decision endpoint, and another agency's token learns nothing", async () => {
      const X = await made('/api/v1/agencies', 'Xi');
      const XE = await made(`/api/v1/agencies/${X.id}/environments`, 'Xi prod');
      grant(addUser('xagent'), X.id, { environmentId: XE.id, roles: 'agent' });
      // Granted in the database: a grants change through the API brings the user into the
      // index, as a restart would.
      const tok = await admin('POST', `/api/v1/agencies/${X.id}/tokens`, { name: 'xi service' });
      assert.equal(tok.status, 201, tok.text);
      w.secrets.add(tok.json.token);
      const gtok = await admin('POST', `/api/v1/agencies/${fx.G.id}/tokens`, { name: 'globex service' });
      assert.equal(gtok.status, 201, gtok.text);
      w.secrets.add(gtok.json.token);
      const single = (token, body) => w.usher.api('POST', '/api/v1/check', { token, body });
      const batch = (token, checks) => w.usher.api('POST', '/api/v1/check/batch', { token, body: { checks } });
      const q = { user_id: ids.agent, permission: 'inbox.reply', environment_id: fx.E1.id };
      // Globex's token asks about Acme's people: never allowed.
      const cross = await single(gtok.json.token, q);
      assert.ok(cross.status === 404 || (cross.status === 200 && cross.json.allowed === false), cross.text);
      const crossBatch = await batch(gtok.json.token, [q]);
      assert.ok(crossBatch.status === 404 || crossBatch.status === 400 ||
        (crossBatch.status === 200 && crossBatch.json.results.every((r) => r.allowed === false)), crossBatch.text);

      assert.equal((await single(tok.json.token, { user_id: ids.admin, permission: 'bot.read', environment_id: XE.id })).status, 200);
      assert.equal((await admin('PATCH', `/api/v1/agencies/${X.id}`, { status: 'suspended' })).status, 200);
      assert.equal((await single(tok.json.token, { user_id: ids.admin, permission: 'bot.read', environment_id: XE.id })).status, 401);
      assert.equal((await batch(tok.json.token, [{ user_id: ids.admin, permission: 'bot.read', environment_id: XE.id }])).status, 401);
      assert.equal((await w.usher.api('GET', `/api/v1/users/${ids.admin}/effective?environment_id=${XE.id}`, { token: tok.json.token })).status, 401);
    });

    it('takes nobody into a suspended agency through a pending invitation, and keeps the link for the resume', async () => {
      const S = await made('/api/v1/agencies', 'Sigma');
      const SE = await made(`/api/v1/agencies/${S.id}/environments`, 'Sigma prod');
      const inv = await w.invite(tokens.admin, S.id, { email: 'sigma.new@attacks.example', send_email: false,
        grants: [{ environment_id: SE.id, roles: ['agent'] }] });
      assert.equal(inv.status, 201, inv.text);
      const link = new URL(inv.json.url).hash.replace(/^#token=/, '');
      assert.equal((await admin('PATCH', `/api/v1/agencies/${S.id}`, { status: 'suspended' })).status, 200);
      const before = w.snapshot();
      assertProblem(await w.acceptNew(link), 403, 'agency_suspended');
      assert.equal(w.snapshot(), before);
      assert.equal(count("SELECT COUNT(*) FROM users WHERE email = 'sigma.new@attacks.example'"), 0);
      assert.equal((await admin('PATCH', `/api/v1/agencies/${S.id}`, { status: 'active' })).status, 200);
      const acc = await w.acceptNew(link);
      assert.equal(acc.status, 201, acc.text);
    });

    it('changes no place from a view-as session, even viewing as the owner', async () => {
      const start = await admin('POST', '/api/v1/impersonation', { user_id: ids.owner, agency_id: fx.A.id, reason: 'attack test' });
      assert.equal(start.status, 201, start.text);
      w.secrets.add(start.json.token);
      const v = (method, urlPath, body) => w.usher.api(method, urlPath, { token: start.json.token, body });
      const places = () => sql(`SELECT name, status FROM agencies ORDER BY id; SELECT id, name FROM environments ORDER BY id;
        SELECT id, name FROM bots ORDER BY id; SELECT COUNT(*) FROM grants;`);
      const before = places();
      assertProblem(await v('PATCH', `/api/v1/agencies/${fx.A.id}`, { name: 'Viewed' }), 403, 'impersonation_read_only');
      assertProblem(await v('PATCH', `/api/v1/environments/${fx.E1.id}`, { name: 'Viewed' }), 403, 'impersonation_read_only');
      assertProblem(await v('DELETE', `/api/v1/environments/${fx.E2.id}`), 403, 'impersonation_read_only');
      assertProblem(await v('DELETE', `/api/v1/bots/${fx.B1.id}`), 403, 'impersonation_read_only');
      assertProblem(await v('PUT', `/api/v1/agencies/${fx.A.id}/users/${ids.peer}/grants`,
        { grants: [{ environment_id: fx.E2.id, roles: ['operator'] }] }), 403, 'impersonation_read_only');
      assert.equal(places(), before);
      assert.equal((await v('DELETE', '/api/v1/impersonation')).status < 300, true);
      // The session is renewed at the start and the end of a view-as session.
      await signIn('admin');
    });

    it('lets exactly one of two simultaneous deletions of a place win, with no 500 and nothing left', async () => {
      const E = await made(`/api/v1/agencies/${fx.A.id}/environments`, 'Twice');
      const B = await made(`/api/v1/environments/${E.id}/bots`, 'Twice bot');
      const answers = await Promise.all([
        admin('DELETE', `/api/v1/environments/${E.id}`), admin('DELETE', `/api/v1/environments/${E.id}`),
        admin('DELETE', `/api/v1/bots/${B.id}`),
      ]);
      const envAnswers = answers.slice(0, 2).map((r) => r.status).sort();
      assert.deepEqual(envAnswers, [200, 404], answers.map((r) => r.text).join('\n'));
      assert.ok([200, 404].includes(answers[2].status), answers[2].text);
      assert.equal(count(`SELECT COUNT(*) FROM environments WHERE id = '${E.id}'`), 0);
      assert.equal(count(`SELECT COUNT(*) FROM bots WHERE id = '${B.id}'`), 0);
      assert.equal(count(`SELECT COUNT(*) FROM audit_log WHERE action = 'environment.deleted' AND scope_id = '${E.id}'`), 1);
      // The agency deletion race: two confirmed deletions of one suspended agency.
      const V = await made('/api/v1/agencies', 'Vee');
      assert.equal((await admin('PATCH', `/api/v1/agencies/${V.id}`, { status: 'suspended' })).status, 200);
      const both = await Promise.all([1, 2].map(() => admin('DELETE', `/api/v1/agencies/${V.id}`, { confirm: 'Vee' })));
      assert.deepEqual(both.map((r) => r.status).sort(), [200, 404], both.map((r) => r.text).join('\n'));
      assert.equal(count(`SELECT COUNT(*) FROM audit_log WHERE action = 'agency.deleted' AND scope_id = '${V.id}'`), 1);
    });

    it('leaves no grant, membership or pending invitation on a place deleted while grants are written and invitations accepted', async () => {
      for (let round = 0; round < 3; round++) {
        const E = await made(`/api/v1/agencies/${fx.A.id}/environments`, `Racing ${round}`);
        const inv = await w.invite(tokens.admin, fx.A.id, {
          email: `racer${round}@attacks.example`, send_email: false, grants: [{ environment_id: E.id, roles: ['agent'] }],
        });
        assert.equal(inv.status, 201, inv.text);
        const link = new URL(inv.json.url).hash.replace(/^#token=/, '');
        const [put, del, acc] = await Promise.all([
          admin('PUT', `/api/v1/agencies/${fx.A.id}/users/${ids.peer}/grants`,
            { grants: [{ environment_id: fx.E2.id, roles: ['agent'] }, { environment_id: E.id, roles: ['operator'] }] }),
          admin('DELETE', `/api/v1/environments/${E.id}`),
          w.acceptNew(link),
        ]);
        for (const r of [put, del, acc]) assert.ok(r.status < 500, `${r.status} ${r.text}`);
        assert.equal(del.status, 200, del.text);
        assert.equal(count(`SELECT COUNT(*) FROM grants WHERE environment_id = '${E.id}' OR scope_id = '${E.id}'`), 0);
        assert.equal(count(`SELECT COUNT(*) FROM invitations WHERE id = '${inv.json.id}' AND status = 'pending'`), 0);
        assert.equal(await check('peer', 'inbox.start', { environment_id: E.id }), false);
        if (acc.status === 201) {
          // Accepted before the deletion: the new member holds nothing in the agency and is no
          // member of it.
          const uid = acc.json.user.id;
          assert.equal(count(`SELECT COUNT(*) FROM grants WHERE user_id = '${uid}'`), 0);
          assert.equal(count(`SELECT COUNT(*) FROM memberships WHERE user_id = '${uid}'`), 0);
        }
        // The peer keeps Staging whatever happened.
        assert.equal(await check('peer', 'inbox.reply', { environment_id: fx.E2.id }), true);
      }
    });
  });

  describe('end-dated grants', () => {
    const grantsUrl = (userId) => `/api/v1/agencies/${fx.A.id}/users/${userId}/grants`;

    it('refuses past, far, malformed and non-UTC ends and an end on an owner, changing nothing', async () => {
      const before = w.snapshot();
      const bad = ['2020-01-01T00:00:00Z', iso(Date.now() - 1), iso(Date.now() + 6 * 366 * DAY), '9999-12-31T23:59:59Z',
        'tomorrow', '2027-01-31', '2027-01-31T17:00:00', '2027-02-30T00:00:00Z', '2027-01-31T17:00:00+02:00',
        '2027-01-31T17:00:00-00:00', '2027-01-31T24:00:00Z', '2027-01-31T17:00:60Z', '2027-01-31T17:00:00.Z',
        '2027-01-31T17:00:00Z ', ' 2027-01-31T17:00:00Z', '+2027-01-31T17:00:00Z', '2027-01-31T17:00:00Zjunk', 1800000000000, true, {}];
      for (const expires_at of bad) {
        const res = await admin('PUT', grantsUrl(ids.peer), { grants: [{ environment_id: fx.E2.id, roles: ['agent'], expires_at }] });
        assert.equal(res.status, 400, `${JSON.stringify(expires_at)}: ${res.text}`);
        assert.equal(res.json.field, 'grants[0].expires_at', JSON.stringify(expires_at));
      }
      const owner = await admin('PUT', grantsUrl(ids.peer), { grants: [{ roles: ['owner'], expires_at: iso(Date.now() + DAY) }] });
      assertProblem(owner, 400, 'owner_expiry');
      const invite = await w.invite(tokens.admin, fx.A.id, { email: 'owner-for-a-day@attacks.example', send_email: false,
        grants: [{ roles: ['owner'], expires_at: iso(Date.now() + DAY) }] });
      assertProblem(invite, 400, 'owner_expiry');
      assert.equal(w.snapshot(), before);
    });

    it('answers back exactly the instant it stores, to the millisecond', async () => {
      const at = Math.floor((Date.now() + 10 * DAY) / 1000) * 1000 + 123;
      const given = new Date(at).toISOString().replace('.123Z', '.1239999z');
      const res = await admin('PUT', grantsUrl(ids.peer), { grants: [{ environment_id: fx.E2.id, roles: ['agent'], expires_at: given }] });
      assert.equal(res.status, 200, res.text);
      assert.equal(count(`SELECT expires_at FROM grants WHERE user_id = '${ids.peer}' AND scope_id = '${fx.E2.id}'`), at);
      const detail = await admin('GET', `/api/v1/agencies/${fx.A.id}/users/${ids.peer}`);
      assert.equal(detail.json.grants.find((g) => g.environment_id === fx.E2.id).expires_at, iso(at));
      const back = await admin('PUT', grantsUrl(ids.peer), { grants: [{ environment_id: fx.E2.id, roles: ['agent'] }] });
      assert.equal(back.status, 200, back.text);
    });

    it('does not let a manager whose access ends extend it, by their own grants or by inviting a second address', async () => {
      const t = as('temp');
      const before = w.snapshot();
      // Their own grants: never, with or without an end.
      for (const expires_at of [undefined, iso(fx.tempUntil + 365 * DAY)]) {
        assertProblem(await t('PUT', grantsUrl(ids.temp), { grants: [{ environment_id: fx.E2.id, roles: ['environment_manager'], expires_at }] }), 403, 'own_grants');
      }
      // A second address of theirs (or anyone): nothing they give may outlast their own right
      // to give it.
      for (const grants of [
        [{ environment_id: fx.E2.id, roles: ['environment_manager'] }],
        [{ environment_id: fx.E2.id, roles: ['agent'] }],
        [{ environment_id: fx.E2.id, roles: ['agent'], expires_at: iso(fx.tempUntil + DAY) }],
      ]) {
        const res = await t('POST', `/api/v1/agencies/${fx.A.id}/invitations`, { email: 'temp.private@attacks.example', send_email: false, grants });
        assertProblem(res, 403, 'grant_ceiling', 'grants[0]');
        const dry = await t('POST', `/api/v1/agencies/${fx.A.id}/invitations?dry_run=1`, { email: 'temp.private@attacks.example', send_email: false, grants });
        assertProblem(dry, 403, 'grant_ceiling', 'grants[0]');
        assertProblem(await t('PUT', grantsUrl(ids.peer), { grants }), 403, 'grant_ceiling', 'grants[0]');
      }
      // A file: a row asking past their end is refused by row and column and the file sends
      // nothing; a row without an end of its own gets theirs, and a default end asked of the
      // whole file is held to it too.
      const csv = `email,roles,environment,expires_at\r\ntemp.private@attacks.example,agent,Staging,${iso(fx.tempUntil + DAY)}\r\n` +
        'temp.other@attacks.example,agent,Staging,\r\n';
      const bulk = (query) => w.usher.api('POST', `/api/v1/agencies/${fx.A.id}/invitations/bulk${query}`,
        { token: tokens.temp, raw: csv, headers: { 'Content-Type': 'text/csv' } });
      const refused = await bulk('');
      assertProblem(refused, 400, 'invalid_rows');
      assert.deepEqual(refused.json.problems.map((p) => [p.row, p.column]), [[2, 'expires_at']]);
      assert.match(refused.json.problems[0].message, /give an end no later than that/);
      assert.equal(Date.parse(refused.json.rows[1].expires_at), fx.tempUntil);
      const lifted = await bulk(`?validate_only=1&expires_at=${encodeURIComponent(iso(fx.tempUntil + 365 * DAY))}`);
      assert.equal(lifted.status, 400, lifted.text);
      assert.equal(Date.parse(lifted.json.rows[1].expires_at), fx.tempUntil);
      assert.equal(count("SELECT COUNT(*) FROM invitations WHERE email LIKE 'temp.%@attacks.example'"), 0);
      assert.equal(w.snapshot(), before);
      // Within their own end, they give as before.
      const within = await t('POST', `/api/v1/agencies/${fx.A.id}/invitations`, { email: 'short.help@attacks.example', send_email: false,
        grants: [{ environment_id: fx.E2.id, roles: ['agent'], expires_at: iso(fx.tempUntil - DAY) }] });
      assert.equal(within.status, 201, within.text);
      const same = await t('POST', `/api/v1/agencies/${fx.A.id}/invitations`, { email: 'short.help2@attacks.example', send_email: false,
        grants: [{ environment_id: fx.E2.id, roles: ['agent'], expires_at: iso(fx.tempUntil) }] });
      assert.equal(same.status, 201, same.text);
    });

    it('allows up to the millisecond before expires_at and denies from it, on the check endpoint', async () => {
      const until = Date.now() + 1500;
      const put = await admin('PUT', grantsUrl(ids.peer), { grants: [{ environment_id: fx.E2.id, roles: ['agent'], expires_at: iso(until) }] });
      assert.equal(put.status, 200, put.text);
      const q = { user_id: ids.peer, permission: 'inbox.reply', environment_id: fx.E2.id };
      let sawAllowed = false;
      let sawDenied = false;
      while (Date.now() < until + 300) {
        const sent = Date.now();
        const res = await admin('POST', '/api/v1/check', q);
        const received = Date.now();
        assert.equal(res.status, 200, res.text);
        if (res.json.allowed) {
          sawAllowed = true;
          assert.ok(sent < until, `allowed on a request sent ${sent - until} ms after the end`);
        } else {
          sawDenied = true;
          assert.ok(received >= until, `denied ${until - received} ms before the end`);
        }
      }
      assert.ok(sawAllowed && sawDenied);
      const back = await admin('PUT', grantsUrl(ids.peer), { grants: [{ environment_id: fx.E2.id, roles: ['agent'] }] });
      assert.equal(back.status, 200, back.text);
    });
  });

  describe('dry runs', () => {
    const grantsUrl = `/api/v1/agencies/${'{A}'}/users/{U}/grants`;
    const url = (userId) => grantsUrl.replace('{A}', fx.A.id).replace('{U}', userId);

    it('changes nothing on any refusal path, and a bare or repeated dry_run never applies the change', async () => {
      const body = { grants: [{ environment_id: fx.E2.id, roles: ['operator'] }] };
      const before = w.snapshot();
      const outbox = count('SELECT COUNT(*) FROM mail_outbox');
      for (const q of ['?dry_run', '?dry_run=', '?dry_run=0', '?dry_run=1&dry_run=1', '?dry_run=1&dry_run=0', '?DRY_RUN=1',
        '?dry_run&dry_run=1', '?dry_run=1&dry_run']) {
        const res = await admin('PUT', `${url(ids.peer)}${q}`, body);
        assert.equal(res.status, 400, `${q}: ${res.status} ${res.text}`);
      }
      // Refused by the rules, dry or not.
      assertProblem(await as('envmgr')('PUT', `${url(ids.peer)}?dry_run=1`, body), 404, 'not_found');
      assertProblem(await as('temp')('PUT', `${url(ids.temp)}?dry_run=1`, body), 403, 'own_grants');
      for (const q of ['?dry_run', '?dry_run=0', '?dry_run=1&dry_run=1']) {
        const res = await admin('POST', `/api/v1/agencies/${fx.A.id}/invitations${q}`,
          { email: 'dry.guest@attacks.example', grants: [{ environment_id: fx.E2.id, roles: ['agent'] }] });
        assert.equal(res.status, 400, `${q}: ${res.status} ${res.text}`);
      }
      const dry = await admin('POST', `/api/v1/agencies/${fx.A.id}/invitations?dry_run=true`,
        { email: 'dry.guest@attacks.example', grants: [{ environment_id: fx.E2.id, roles: ['agent'] }] });
      assert.equal(dry.status, 200, dry.text);
      // A value cut short by an encoded NUL is still a dry run, never the change.
      for (const q of ['?dry_run=1', '?dry_run=1%00', '?dry_run=%31%00junk']) {
        const dryGrants = await admin('PUT', `${url(ids.peer)}${q}`, body);
        assert.equal(dryGrants.status, 200, dryGrants.text);
        assert.equal(dryGrants.json.dry_run, true);
      }
      assert.equal(w.snapshot(), before, 'a dry run or a refused request changed the database');
      assert.equal(count('SELECT COUNT(*) FROM mail_outbox'), outbox);
      assert.equal(await check('peer', 'inbox.start', { environment_id: fx.E2.id }), false);
    });
  });

  describe('bulk CSV', () => {
    const post = (key, csv, query = '?validate_only=1') => w.usher.api('POST', `/api/v1/agencies/${fx.A.id}/invitations/bulk${query}`,
      { token: tokens[key], raw: csv, headers: { 'Content-Type': 'text/csv' } });

    it('reads a BOM and CRLF, and never splits one quoted cell into two people', async () => {
      const bom = '\ufeffemail,first_name,last_name,environment,roles\r\nbom.one@attacks.example,Bo,One,Production,agent\r\n';
      const ok = await post('admin', bom);
      assert.equal(ok.status, 200, ok.text);
      assert.equal(ok.json.row_count, 1);
      assert.deepEqual(ok.json.problems ?? [], []);
      const split = 'email,first_name,environment,roles\r\n"first.person@attacks.example\r\nsecond.person@attacks.example",Eve,Production,agent\r\n';
      const res = await post('admin', split, '');
      assert.ok(res.status === 400 || res.status === 422 || (res.status === 200 && res.json.sent === 0), res.text);
      assert.equal(count("SELECT COUNT(*) FROM invitations WHERE email LIKE '%person@attacks.example%'"), 0);
    });

    it('refuses a cell a spreadsheet would run, or defuses it in every export', async () => {
      const csv = 'email,first_name,last_name,environment,roles\r\n' +
        'formula.one@attacks.example,"=HYPERLINK(""http://evil.example"",""x"")",@SUM(A1),Production,agent\r\n' +
        'formula.two@attacks.example,+cmd,"-2+3",Production,agent\r\n';
      const res = await post('admin', csv, '');
      assert.ok(res.status < 500, res.text);
      const exp = await admin('GET', `/api/v1/agencies/${fx.A.id}/audit/export?format=csv`);
      assert.equal(exp.status, 200, exp.text);
      // Every cell is quoted; no cell's content starts with a formula character.
      for (const cell of exp.text.match(/"(?:[^"]|"")*"/g) || []) {
        assert.doesNotMatch(cell.slice(1), /^[=+\-@\t\r]/, cell);
      }
    });

    it("names another agency's environment as unknown, never sending to it", async () => {
      const csv = 'email,environment,roles\r\ncross.agency@attacks.example,Globex prod,agent\r\n';
      const res = await post('admin', csv, '');
      assert.ok(res.status === 400 || res.status === 422 || (res.status === 200 && res.json.sent === 0), res.text);
      assert.equal(count("SELECT COUNT(*) FROM invitations WHERE email = 'cross.agency@attacks.example'"), 0);
      const checked = await post('admin', csv);
      assertProblem(checked, 400, 'invalid_rows');
      assert.ok(checked.json.problems.some((p) => p.row === 2 && /environment/.test(p.column)), checked.text);
    });

    it('sends one invitation for a person listed twice, and refuses NUL bytes and broken quoting without a 500', async () => {
      const dup = 'email,environment,roles\r\ntwice@attacks.example,Production,agent\r\nTWICE@attacks.example,Production,agent\r\n';
      const res = await post('admin', dup, '?send=valid');
      assert.ok(res.status < 500, res.text);
      assert.ok(count("SELECT COUNT(*) FROM invitations WHERE lower(email) = 'twice@attacks.example'") <= 1);
      for (const csv of ['email,environment,roles\r\nnul\u0000@attacks.example,Production,agent\r\n',
        'email,environment,roles\r\n"open@attacks.example,Production,agent\r\n', '\r\n\r\n', ',,,\r\n', '"']) {
        const r = await post('admin', csv);
        assert.ok(r.status === 200 || r.status === 400 || r.status === 422, `${JSON.stringify(csv)}: ${r.status} ${r.text}`);
      }
    });
  });

  describe('audit log filters', () => {
    const audit = (key, query) => as(key)('GET', `/api/v1/agencies/${fx.A.id}/audit${query}`);

    it("answers 404 to another agency's owner whatever the filter", async () => {
      for (const query of ['', '?q=Acme', '?since=2000-01-01T00:00:00Z', '?action=agency.renamed', '?group=1', `?user_id=${ids.owner}`]) {
        const res = await audit('gowner', query);
        assert.equal(res.status === 404 || res.status === 400, true, `${query}: ${res.status} ${res.text}`);
        assert.notEqual(res.status, 200);
      }
    });

    it("finds nothing of another agency's people or places through q, and reads % _ \\ as themselves", async () => {
      // Globex's activity: a renamed environment only Globex can see.
      assert.equal((await admin('PATCH', `/api/v1/environments/${fx.EG.id}`, { name: 'Globex secret project' })).status, 200);
      const ownerAudit = await audit('owner', '?q=secret');
      assert.equal(ownerAudit.status, 200, ownerAudit.text);
      assert.deepEqual(ownerAudit.json.items, []);
      assert.deepEqual((await audit('owner', '?q=gowner')).json.items, []);
      const all = (await audit('owner', '?limit=100')).json.items.length;
      assert.ok(all > 0);
      for (const q of ['%25', '%5C', '%25%25', '%5C%25', '%25_%25']) {
        const res = await audit('owner', `?q=${q}`);
        assert.equal(res.status, 200, `${q}: ${res.text}`);
        assert.equal(res.json.items.length, 0, `q=${decodeURIComponent(q)} matched ${res.json.items.length} entries`);
      }
      for (const q of ["'", "' OR 1=1 --", '")', '\\']) {
        const res = await audit('owner', `?q=${encodeURIComponent(q)}`);
        assert.equal(res.status, 200, `${q}: ${res.text}`);
        assert.deepEqual(res.json.items, []);
      }
    });
    // The search reads the recorded personal values as their JSON text, so a word that is
    // part of its keys or punctuation ("_", "first", "name", '"') finds every entry that
    // recorded anyone. Kept here until the audit search matches values only.
    it('finds nobody by the words of the recorded values\' keys', async () => {
      for (const q of ['_', 'first_name', 'name', '%22']) {
        const res = await audit('owner', `?q=${q}`);
        assert.equal(res.status, 200, `${q}: ${res.text}`);
        assert.equal(res.json.items.length, 0, `q=${decodeURIComponent(q)} matched ${res.json.items.length} entries`);
      }
    });
  });

  describe('strict query parameters', () => {
    it('refuses empty, repeated, encoded and valueless names as the route would not read them', async () => {
      const base = `/api/v1/agencies/${fx.A.id}/users`;
      for (const query of ['?=1', '?&=1', '?limit=5&limit=5', '?li%6Dit=5&limit=5', '?limit', '?&limit', '?q',
        '?limit%00x=5', '?q=a&q=b', '?status=active&status=invited']) {
        const res = await admin('GET', `${base}${query}`);
        assert.equal(res.status, 400, `${query}: ${res.status} ${res.text}`);
      }
      // Encoded, a name the route reads is that name.
      assert.equal((await admin('GET', `${base}?%71=peer`)).json.items.length, 1);
      const encoded = await admin('GET', `${base}?li%6Dit=1`);
      assert.equal(encoded.status, 200, encoded.text);
      assert.equal(encoded.json.items.length, 1);
    });

    it('reads empty pairs as nothing, wherever they stand, as URLSearchParams does', async () => {
      const base = `/api/v1/agencies/${fx.A.id}/users`;
      const all = await admin('GET', base);
      assert.equal(all.status, 200, all.text);
      assert.ok(all.json.items.length > 1, 'the list has more than one person to limit');
      for (const query of ['?&limit=1', '?limit=1&', '?limit=1&&', '?&&limit=1&&']) {
        assert.deepEqual([...new URLSearchParams(query).keys()], ['limit'], query);
        const res = await admin('GET', `${base}${query}`);
        assert.equal(res.status, 200, `${query}: ${res.status} ${res.text}`);
        assert.equal(res.json.items.length, 1, `${query} keeps its limit`);
      }
      for (const query of ['?&', '?&&']) {
        const res = await admin('GET', `${base}${query}`);
        assert.equal(res.status, 200, `${query}: ${res.status} ${res.text}`);
        assert.deepEqual(res.json.items.map((i) => i.id), all.json.items.map((i) => i.id), query);
      }
    });
  });

  describe('users list filters', () => {
    it("refuses another agency's environment as a filter, with every status", async () => {
      for (const status of ['', '&status=active', '&status=invited', '&status=expired', '&status=revoked']) {
        const res = await as('owner')('GET', `/api/v1/agencies/${fx.A.id}/users?environment_id=${fx.EG.id}${status}`);
        assert.ok(res.status === 400 || res.status === 404, `${status}: ${res.status} ${res.text}`);
      }
    });

    it("shows an environment manager nobody of another environment through the environment or role filters", async () => {
      const res = await as('envmgr')('GET', `/api/v1/agencies/${fx.A.id}/users?environment_id=${fx.E2.id}`);
      if (res.status === 200) {
        assert.ok(!res.json.items.some((i) => i.id === ids.peer || i.id === ids.temp), res.text);
      } else {
        assert.ok(res.status === 403 || res.status === 404 || res.status === 400, res.text);
      }
      const byRole = await as('envmgr')('GET', `/api/v1/agencies/${fx.A.id}/users?role=environment_manager`);
      assert.equal(byRole.status, 200, byRole.text);
      assert.ok(!byRole.json.items.some((i) => i.id === ids.temp), byRole.text);
    });
  });
});
