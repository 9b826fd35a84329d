// Promises that hold for every route at once, checked over the whole route table as
// `usher routes` prints it, so a route added later is covered without a new test:
// deny by default (SECURITY 19), the CSRF token on every unsafe cookie request and no state
// change by GET (SECURITY 15); and the end of a disabled user's access (SECURITY 17).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { runUsher } from './lib/harness.mjs';
import { ADMIN_EMAIL, PASSWORD, startWorld } from './lib/world.mjs';

// The routes anyone may call. A new public route fails the first test until it is added here.
const PUBLIC = new Set([
  'GET /healthz',
  'GET /readyz',
  'GET /metrics',
  'POST /api/v1/sessions',
  'POST /api/v1/invitations/lookup',
  'POST /api/v1/invitations/accept',
  'POST /api/v1/invitations/decline',
  'POST /api/v1/password-resets',
  'POST /api/v1/password-resets/confirm',
  'POST /api/v1/email-changes/confirm',
  'POST /api/v1/sessions/mfa',
  'POST /api/v1/sign-in/discover',
  'GET /api/v1/oidc/start',
  'GET /api/v1/oidc/callback',
]);

describe('every route', () => {
  let w;
  let routes;
  let admin;
  const fx = {};

  // The pattern with every {param} filled from fx (or a made-up id).
  const fill = (pattern) =>
    pattern.replace(/\{([a-z_]+)\}/g, (_, name) => {
      if (pattern.startsWith('/api/v1/agencies/') && name === 'id') return fx.agency;
      if (pattern.startsWith('/api/v1/environments/') && name === 'id') return fx.environment;
      if (pattern.startsWith('/api/v1/bots/') && name === 'id') return fx.bot;
      if (pattern.startsWith('/api/v1/invitations/') && name === 'id') return fx.invitation;
      if (pattern.startsWith('/api/v1/users/') && name === 'id') return fx.member;
      if (name === 'user_id') return fx.member;
      return `${name}_none`;
    });

  before(async () => {
    w = await startWorld();
    const listed = await runUsher(['routes', '--access']);
    assert.equal(listed.code, 0);
    routes = listed.stdout.trim().split('\n').map((line) => {
      const [method, pattern, access] = line.split(' ');
      return { method, pattern, access };
    });
    admin = await w.signIn(ADMIN_EMAIL);
    const as = w.as(admin);
    fx.agency = (await w.agencyNew(admin, 'Every route')).id;
    fx.environment = (await w.environmentNew(admin, fx.agency, 'Every route – production')).id;
    fx.bot = (await as('POST', `/api/v1/environments/${fx.environment}/bots`, { name: 'Routebot' })).json.id;
    fx.member = w.addUser('member@routes.example');
    w.grant(fx.member, fx.agency, { environmentId: fx.environment, roles: 'agent' });
    const inv = await w.invite(admin, fx.agency, {
      email: 'invited@routes.example', grants: [{ environment_id: fx.environment, roles: ['agent'] }],
      send_email: false, // no mail sender writing to the database while the GETs run
    });
    fx.invitation = inv.json.id;
  });

  after(async () => {
    assert.equal(await w.stop(), 0);
  });

  it('denies every route but the known public ones to an anonymous caller (SECURITY 19)', async () => {
    assert.ok(routes.length > 40, `only ${routes.length} routes listed`);
    for (const r of routes) {
      const key = `${r.method} ${r.pattern}`;
      assert.equal(r.access === 'public', PUBLIC.has(key), `${key} is listed as ${r.access}`);
      if (PUBLIC.has(key)) continue;
      const res = await w.usher.api(r.method, fill(r.pattern), { body: r.method === 'GET' || r.method === 'DELETE' ? undefined : {} });
      assert.equal(res.status, 401, `${key} answered ${res.status} to nobody`);
      assert.equal(res.json.code, 'unauthenticated');
    }
  });

  it('refuses every unsafe cookie request without its CSRF token, before anything changes (SECURITY 15)', async () => {
    const signIn = await w.usher.api('POST', '/api/v1/sessions', { body: { email: ADMIN_EMAIL, password: PASSWORD } });
    const cookie = /^([^;]+)/.exec([].concat(signIn.headers['set-cookie'])[0])[1];
    const before = w.sql('SELECT COUNT(*) FROM audit_log').trim();
    let unsafe = 0;
    for (const r of routes) {
      if (r.method === 'GET' || r.access === 'public') continue;
      unsafe++;
      const res = await w.usher.api(r.method, fill(r.pattern), { body: {}, headers: { Cookie: cookie } });
      assert.equal(res.status, 403, `${r.method} ${r.pattern} answered ${res.status}`);
      assert.equal(res.json.code, 'csrf_failed', `${r.method} ${r.pattern}`);
    }
    assert.ok(unsafe > 20);
    assert.equal(w.sql('SELECT COUNT(*) FROM audit_log').trim(), before, 'a refused request left an audit row');
  });

  it("ends a disabled user's session and member access on the very next request (SECURITY 17)", async () => {
    const id = w.addUser('leaving@routes.example');
    w.grant(id, fx.agency, { environmentId: fx.environment, roles: 'agent' });
    const token = await w.signIn('leaving@routes.example');
    assert.equal((await w.as(token)('GET', '/api/v1/me')).status, 200);
    assert.equal((await w.as(token)('GET', `/api/v1/environments/${fx.environment}`)).status, 200);
    w.sql(`UPDATE users SET status = 'disabled' WHERE id = '${id}'`);
    assert.equal((await w.as(token)('GET', '/api/v1/me')).status, 401);
    assert.equal((await w.as(token)('GET', `/api/v1/environments/${fx.environment}`)).status, 401);
  });

  it('changes nothing through GET or HEAD on any route (SECURITY 15)', async () => {
    const dump = () => w.snapshot();
    // A first request may record the session's use (at most once a minute): get it done.
    await w.as(admin)('GET', '/api/v1/me');
    const before = dump();
    let reads = 0;
    for (const r of routes) {
      if (r.method !== 'GET') continue;
      for (const method of ['GET', 'HEAD']) {
        // A list reads ?limit; a route that reads no such parameter refuses it, so it is asked
        // again without, and the handler runs either way.
        let res = await w.usher.api(method, `${fill(r.pattern)}?limit=5`, { token: admin });
        if (res.status === 400 && (method === 'HEAD' || res.json?.code === 'unknown_parameter')) {
          res = await w.usher.api(method, fill(r.pattern), { token: admin });
        }
        assert.ok(res.status < 500, `${method} ${r.pattern}: ${res.status}`);
        reads++;
      }
    }
    assert.ok(reads > 40);
    assert.equal(dump(), before, 'a GET changed the database');
  });
});
