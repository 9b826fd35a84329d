// Sign-in with an agency's own OpenID provider, against a real one (oidc-provider, started by
// lib/oidc_provider.mjs): connections and their secrets, discovery by domain, the code flow with
// state, nonce and PKCE bound to the browser, invitations accepted through the provider,
// accounts linked and unlinked, "SSO required", the provider's sign-out, erasure, and a
// provider that is down.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { rememberSecret, runUsher } from './lib/harness.mjs';
import { startProvider } from './lib/oidc_provider.mjs';
import { ADMIN_EMAIL, assertProblem, PASSWORD, startWorld } from './lib/world.mjs';

const LOOPBACK = { USHER_OIDC_ALLOW_INSECURE_LOOPBACK: '1' };

describe('OpenID Connect sign-in per agency', () => {
  let w, idp, admin, A, B, conn, connB;
  const count = (text) => Number(w.sql(text).trim());

  // The cookies a Set-Cookie list sets, as name -> value.
  const cookiesOf = (res) => {
    const out = {};
    for (const c of [].concat(res.headers['set-cookie'] || [])) {
      const m = /^([^=]+)=([^;]*)/.exec(c);
      if (m) out[m[1]] = m[2];
    }
    return out;
  };
  const binding = (res) => Object.entries(cookiesOf(res)).find(([k]) => /usher_oidc$/.test(k));
  const sessionOf = (res) => Object.entries(cookiesOf(res)).find(([k, v]) => /usher_session$/.test(k) && v)?.[1];
  const reasonOf = (res) => {
    assert.equal(res.status, 302, res.text);
    const m = /^\/sign-in\/problem\?reason=([a-z_]+)$/.exec(res.headers.location);
    return m ? m[1] : `(went to ${res.headers.location})`;
  };

  // GET /oidc/start as a browser (headers: a session for link=1): the provider's URL and the
  // browser's binding cookie.
  async function start(query, headers = {}) {
    const res = await w.usher.api('GET', `/api/v1/oidc/start?${new URLSearchParams(query)}`, { headers });
    assert.equal(res.status, 302, res.text);
    const cookie = binding(res);
    return { res, location: res.headers.location, cookie: cookie ? `${cookie[0]}=${cookie[1]}` : '' };
  }

  // The callback as the browser holding cookie calls it.
  const callback = (url, cookie) => {
    const u = new URL(url);
    return w.usher.api('GET', u.pathname + u.search, { headers: cookie ? { Cookie: cookie } : {} });
  };

  // A whole sign-in: start, the provider's pages as login, the callback. Resolves the callback's
  // answer and its URL.
  async function flow(query, login, headers = {}) {
    const s = await start(query, headers);
    assert.ok(s.location.startsWith(idp.issuer), `start went to ${s.location}`);
    const back = await idp.signIn(s.location, login);
    const res = await callback(back, s.cookie);
    const token = sessionOf(res);
    if (token) rememberSecret(token);
    return { res, back, cookie: s.cookie, start: s, token };
  }

  const meWith = (token) => w.usher.api('GET', '/api/v1/me', { token });

  before(async () => {
    w = await startWorld({ env: LOOPBACK });
    const cb = `${w.usher.url}/api/v1/oidc/callback`;
    idp = await startProvider({ redirectUri: cb, postLogoutRedirectUri: `${w.usher.url}/signed-out` });
    for (const c of Object.values(idp.clients)) rememberSecret(c.client_secret);
    admin = await w.signIn(ADMIN_EMAIL);
    A = await w.agencyNew(admin, 'Acme');
    B = await w.agencyNew(admin, 'Beta');
  });

  after(async () => {
    await idp?.close();
    await w?.stop();
  });

  describe('connections', () => {
    it('creates, reads, lists and changes a connection and never shows its secret', async () => {
      const res = await w.as(admin)('POST', `/api/v1/agencies/${A.id}/oidc-connections`, {
        name: 'Acme login', issuer: idp.issuer, client_id: idp.clients.rs256.client_id,
        client_secret: idp.clients.rs256.client_secret, domains: ['Acme.test'],
      });
      assert.equal(res.status, 201, res.text);
      conn = res.json;
      assert.match(conn.id, /^oic_/);
      assert.equal(conn.agency_id, A.id);
      assert.deepEqual(conn.domains, ['acme.test']);
      assert.deepEqual(conn.algorithms, ['RS256', 'PS256', 'ES256']);
      assert.equal(conn.required, false);
      assert.equal(conn.redirect_uri, `${w.usher.url}/api/v1/oidc/callback`);
      assert.ok(!res.text.includes(idp.clients.rs256.client_secret));
      assert.ok(!('client_secret' in conn));

      const one = await w.as(admin)('GET', `/api/v1/agencies/${A.id}/oidc-connections/${conn.id}`);
      assert.equal(one.status, 200);
      assert.equal(one.json.name, 'Acme login');
      const list = await w.as(admin)('GET', `/api/v1/agencies/${A.id}/oidc-connections`);
      assert.deepEqual(list.json.items.map((c) => c.id), [conn.id]);
      assert.ok(!list.text.includes(idp.clients.rs256.client_secret));
      const patched = await w.as(admin)('PATCH', `/api/v1/agencies/${A.id}/oidc-connections/${conn.id}`, { name: 'Acme SSO' });
      assert.equal(patched.status, 200, patched.text);
      assert.equal(patched.json.name, 'Acme SSO');
      const agency = await w.as(admin)('GET', `/api/v1/agencies/${A.id}`);
      assert.deepEqual(agency.json.sign_in_connections, [{ id: conn.id, name: 'Acme SSO' }]);

      // Sealed in the database; the audit rows name the change, not the secret.
      const stored = w.sql(`SELECT client_secret_sealed FROM oidc_connections WHERE id = '${conn.id}'`);
      assert.match(stored.trim(), /^v1\./);
      assert.ok(!stored.includes(idp.clients.rs256.client_secret));
      assert.equal(count(`SELECT COUNT(*) FROM audit_log WHERE action = 'oidc_connection.created'`), 1);
      assert.equal(count(`SELECT COUNT(*) FROM audit_log WHERE action = 'oidc_connection.updated'`), 1);
    });

    it('refuses a domain another connection claims, in any agency, with 409 domain_claimed', async () => {
      const res = await w.as(admin)('POST', `/api/v1/agencies/${B.id}/oidc-connections`, {
        name: 'Grab', issuer: idp.issuer, client_id: 'x', client_secret: 'y', domains: ['beta.test', 'ACME.test'],
      });
      assertProblem(res, 409, 'domain_claimed', 'domains');
      assert.equal(count(`SELECT COUNT(*) FROM oidc_connections WHERE agency_id = '${B.id}'`), 0);
    });

    it('refuses an issuer that is not https, and http to loopback without the setting', async () => {
      const remote = await w.as(admin)('POST', `/api/v1/agencies/${B.id}/oidc-connections`, {
        name: 'Plain', issuer: 'http://idp.example', client_id: 'x', client_secret: 'y', domains: ['plain.test'],
      });
      assertProblem(remote, 400, 'insecure_issuer', 'issuer');
      const strict = await startWorld();
      try {
        const t = await strict.signIn(ADMIN_EMAIL);
        const ag = await strict.agencyNew(t, 'Strict');
        const res = await strict.as(t)('POST', `/api/v1/agencies/${ag.id}/oidc-connections`, {
          name: 'Local', issuer: idp.issuer, client_id: 'x', client_secret: 'y', domains: ['local.test'],
        });
        assertProblem(res, 400, 'insecure_issuer', 'issuer');
      } finally {
        await strict.stop();
      }
    });

    it('refuses none and HS256 among the algorithms', async () => {
      for (const alg of ['none', 'HS256']) {
        const res = await w.as(admin)('PATCH', `/api/v1/agencies/${A.id}/oidc-connections/${conn.id}`, { algorithms: ['RS256', alg] });
        assert.equal(res.status, 400, res.text);
        assert.equal(res.json.field, 'algorithms');
      }
    });

    it('tests a connection: the provider\'s endpoints, keys and algorithms', async () => {
      const res = await w.as(admin)('POST', `/api/v1/agencies/${A.id}/oidc-connections/${conn.id}/test`);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.ok, true, res.text);
      assert.deepEqual(res.json.problems, []);
      assert.equal(res.json.issuer, idp.issuer);
      assert.ok(res.json.authorization_endpoint.startsWith(idp.issuer));
      assert.ok(res.json.token_endpoint.startsWith(idp.issuer));
      assert.ok(res.json.end_session_endpoint.startsWith(idp.issuer));
      assert.equal(res.json.keys, 2);
      assert.ok(res.json.algorithms.includes('RS256') && res.json.algorithms.includes('ES256'));
    });

    it('lets only agency managers see or change connections', async () => {
      const id = w.addUser('viewer@acme.test');
      w.grant(id, A.id, { roles: 'analyst' });
      const t = await w.signIn('viewer@acme.test');
      assert.equal((await w.as(t)('GET', `/api/v1/agencies/${A.id}/oidc-connections`)).status, 403);
      assert.equal((await w.as(t)('DELETE', `/api/v1/agencies/${A.id}/oidc-connections/${conn.id}`)).status, 403);
      assert.equal((await w.as(t)('GET', `/api/v1/agencies/${B.id}/oidc-connections`)).status, 404);
    });
  });

  describe('sign-in', () => {
    it('discovers the sign-in method from the email domain alone', async () => {
      const oidc = await w.usher.api('POST', '/api/v1/sign-in/discover', { body: { email: 'Someone@ACME.test' } });
      assert.equal(oidc.status, 200, oidc.text);
      assert.deepEqual(oidc.json, {
        method: 'oidc', connection_id: conn.id, connection_name: 'Acme SSO',
        start_url: `/api/v1/oidc/start?connection_id=${conn.id}`,
      });
      const pw = await w.usher.api('POST', '/api/v1/sign-in/discover', { body: { email: 'someone@elsewhere.test' } });
      assert.deepEqual(pw.json, { method: 'password' });
    });

    it('starts the code flow with state, nonce and S256 PKCE, and binds it to the browser', async () => {
      const s = await start({ connection_id: conn.id });
      const u = new URL(s.location);
      assert.equal(u.searchParams.get('response_type'), 'code');
      assert.equal(u.searchParams.get('client_id'), idp.clients.rs256.client_id);
      assert.equal(u.searchParams.get('redirect_uri'), `${w.usher.url}/api/v1/oidc/callback`);
      assert.equal(u.searchParams.get('scope'), 'openid email profile');
      assert.equal(u.searchParams.get('code_challenge_method'), 'S256');
      for (const p of ['state', 'nonce', 'code_challenge']) assert.match(u.searchParams.get(p), /^[A-Za-z0-9_-]{43}$/);
      const set = [].concat(s.res.headers['set-cookie']).find((c) => /usher_oidc=/.test(c));
      assert.match(set, /HttpOnly/);
      assert.match(set, /SameSite=Lax/);
      assert.match(set, /Path=\//);
      assert.match(set, /Max-Age=600/);
      const state = u.searchParams.get('state');
      assert.equal(count(`SELECT COUNT(*) FROM oidc_states WHERE state_hash = '${state}'`), 0, 'only a keyed hash is kept');
    });

    it('refuses return_to values that leave the console', async () => {
      for (const bad of ['//evil.example/', 'https://evil.example/', '/\\evil.example', '\\evil', 'evil', '/\tx']) {
        const res = await w.usher.api('GET', `/api/v1/oidc/start?${new URLSearchParams({ connection_id: conn.id, return_to: bad })}`);
        assert.equal(reasonOf(res), 'return_to_invalid', bad);
        assert.equal(binding(res), undefined, 'no sign-in was started');
      }
    });

    it('sends every start it refuses to the problem page, never an API error', async () => {
      const cases = [
        [`connection_id=oic_${'0'.repeat(20)}`, 'connection_not_found'],
        ['', 'connection_not_found'],
        [`connection_id=${conn.id}&connection_id=${conn.id}`, 'request_invalid'],
        [`connection_id=${conn.id}&colour=blue`, 'request_invalid'],
        [`connection_id=${conn.id}&return_to=${'/x'.repeat(300)}`, 'return_to_invalid'],
        [`connection_id=${conn.id}&link=1`, 'sign_in_required'],
      ];
      for (const [query, reason] of cases) {
        const from = w.usher.logs.length;
        const res = await w.usher.api('GET', `/api/v1/oidc/start?${query}`);
        assert.equal(reasonOf(res), reason, query);
        assert.doesNotMatch(String(res.headers['content-type'] || ''), /json/, `${query}: no API error body`);
        assert.equal(binding(res), undefined, `${query}: no sign-in was started`);
        const logged = await w.usher.waitForLog('oidc.start_refused',
          (l) => w.usher.logs.indexOf(l) >= from && JSON.stringify(l).includes(`"reason":"${reason}"`), 3000).catch(() => null);
        assert.ok(logged, `${query}: the refusal is logged; ${JSON.stringify(w.usher.logs.slice(from))}`);
      }
    });

    it('signs a new person in through an oauth invitation with the invited roles', async () => {
      const inv = await w.invite(admin, A.id, {
        email: 'newbie@acme.test', sign_in: 'oauth', grants: [{ roles: ['analyst'] }],
      });
      assert.equal(inv.status, 201, inv.text);
      assert.equal(inv.json.sign_in, 'oauth');
      const { token } = await w.mailLink('newbie@acme.test');
      const landing = await w.usher.api('POST', '/api/v1/invitations/lookup', { body: { token } });
      assert.equal(landing.json.sign_in, 'oauth');
      assert.equal(landing.json.connection_id, conn.id);
      assert.equal(landing.json.connection_name, 'Acme SSO');
      assertProblem(await w.acceptNew(token), 400, 'sign_in_oauth_required');

      // The provider does not vouch for the address: the invitation does.
      idp.accounts.set('sub-newbie', { email: 'newbie@acme.test', email_verified: false, given_name: 'Nina', family_name: 'New' });
      const { res, token: session } = await flow({ connection_id: conn.id, invitation: token, return_to: '/agencies' }, 'sub-newbie');
      assert.equal(res.status, 302, res.text);
      assert.equal(res.headers.location, '/agencies');
      assert.ok(session, 'a session cookie is set');
      const me = await meWith(session);
      assert.equal(me.status, 200, me.text);
      assert.equal(me.json.sign_in_method, 'oidc');
      assert.equal(me.json.has_password, false);
      assert.equal(me.json.user.first_name, 'Nina');
      assert.equal(me.json.identities.length, 1);
      assert.equal(me.json.identities[0].connection_id, conn.id);
      assert.equal(me.json.identities[0].issuer, idp.issuer);
      const agency = me.json.agencies.find((a) => a.id === A.id);
      assert.deepEqual(agency.grants, [{ roles: ['analyst'], extra_permissions: [] }]);
      assert.equal(w.sql(`SELECT status FROM invitations WHERE id = '${inv.json.id}'`).trim(), 'accepted');
      const members = await w.as(admin)('GET', `/api/v1/agencies/${A.id}/users`);
      const row = members.json.items.find((m) => m.email === 'newbie@acme.test');
      assert.deepEqual(row.sign_in_methods, ['oidc']);
      const created = w.sql(`SELECT details FROM audit_log WHERE action = 'session.created' ORDER BY id DESC LIMIT 1`);
      assert.match(created, /"method":"oidc"/);
      assert.match(created, new RegExp(conn.id));
    });

    it('lets a second agency invite the same person with a password: no new credentials', async () => {
      const inv = await w.invite(admin, B.id, { email: 'newbie@acme.test', grants: [{ roles: ['analyst'] }] });
      assert.equal(inv.status, 201, inv.text);
      const { token: session } = await flow({ connection_id: conn.id }, 'sub-newbie');
      const accepted = await w.usher.api('POST', `/api/v1/me/invitations/${inv.json.id}/accept`, { token: session, body: {} });
      assert.equal(accepted.status, 200, accepted.text);
      const me = await meWith(session);
      assert.ok(me.json.agencies.some((a) => a.id === B.id));
      assert.equal(me.json.has_password, false);
    });

    it('links an existing password account only for a verified address in a claimed domain', async () => {
      const pat = w.addUser('pat@acme.test');
      w.grant(pat, A.id, { roles: 'analyst' });
      idp.accounts.set('sub-pat', { email: 'pat@acme.test', email_verified: true });
      const ok = await flow({ connection_id: conn.id }, 'sub-pat');
      assert.equal(ok.res.headers.location, '/');
      assert.ok(ok.token);
      assert.equal(count(`SELECT COUNT(*) FROM identities WHERE user_id = '${pat}' AND subject = 'sub-pat'`), 1);
      assert.equal(count(`SELECT COUNT(*) FROM audit_log WHERE action = 'identity.linked' AND subject_user_id = '${pat}'`), 1);

      w.addUser('una@acme.test');
      idp.accounts.set('sub-una', { email: 'una@acme.test', email_verified: false });
      const unverified = await flow({ connection_id: conn.id }, 'sub-una');
      assert.equal(reasonOf(unverified.res), 'email_unverified');
      assert.equal(sessionOf(unverified.res), undefined);

      w.addUser('olly@elsewhere.test');
      idp.accounts.set('sub-olly', { email: 'olly@elsewhere.test', email_verified: true });
      assert.equal(reasonOf((await flow({ connection_id: conn.id }, 'sub-olly')).res), 'domain_not_claimed');

      idp.accounts.set('sub-nobody', { email: 'nobody@acme.test', email_verified: true });
      assert.equal(reasonOf((await flow({ connection_id: conn.id }, 'sub-nobody')).res), 'no_account');
      assert.equal(count(`SELECT COUNT(*) FROM identities WHERE subject IN ('sub-una', 'sub-olly', 'sub-nobody')`), 0);
      const failed = w.sql(`SELECT details FROM audit_log WHERE action = 'user.sign_in_failed'`);
      for (const r of ['email_unverified', 'domain_not_claimed', 'no_account']) assert.match(failed, new RegExp(`"reason":"${r}"`));
    });

    it('names in the agency\'s log only its own members whose company sign-in was refused', async () => {
      // The entries of A's log for refused sign-ins, newest first, as A's owner would read them.
      const refusals = async () => {
        const res = await w.as(admin)('GET', `/api/v1/agencies/${A.id}/audit?action=user.sign_in_failed&limit=200`);
        assert.equal(res.status, 200, res.text);
        return res;
      };
      const seen = (await refusals()).json.items.length;
      // Vera belongs to B only; her address is in the domain A's connection claims.
      const vera = w.addUser('vera@acme.test');
      w.grant(vera, B.id, { roles: 'analyst' });
      idp.accounts.set('sub-vera', { email: 'vera@acme.test', email_verified: true });
      assert.equal(reasonOf((await flow({ connection_id: conn.id }, 'sub-vera')).res), 'account_exists_sign_in_first');
      // The same, from a browser that carries her own session: she is not named as the actor either.
      const veraPw = await w.signIn('vera@acme.test');
      const s = await start({ connection_id: conn.id });
      const back = new URL(await idp.signIn(s.location, 'sub-vera'));
      const withSession = await w.usher.api('GET', back.pathname + back.search,
        { headers: { Cookie: s.cookie, Authorization: `Bearer ${veraPw}` } });
      assert.equal(reasonOf(withSession), 'account_exists_sign_in_first');

      const after = await refusals();
      const fresh = after.json.items.slice(0, after.json.items.length - seen);
      assert.equal(fresh.length, 2, after.text);
      for (const e of fresh) {
        assert.equal(e.details.reason, 'account_exists_sign_in_first');
        assert.equal(e.details.email_domain, 'acme.test', 'the domain may stay');
        assert.equal(e.subject_user_id, null);
        assert.equal(e.actor_id, null);
      }
      // Nothing in A's log, listed or exported, leads to her: not her id, not her address.
      const exported = await w.as(admin)('GET', `/api/v1/agencies/${A.id}/audit/export?format=csv`);
      assert.equal(exported.status, 200, exported.text);
      for (const text of [after.text, exported.text]) {
        for (const trace of [vera, 'vera@acme.test']) assert.ok(!text.includes(trace), `${trace} in A's log`);
      }
      assert.equal(count(`SELECT COUNT(*) FROM audit_log WHERE agency_id = '${A.id}' AND (subject_user_id = '${vera}' OR actor_id = '${vera}')`), 0);

      // Mia is A's member: her refusal names her in A's log, as subject and as the actor.
      const mia = w.addUser('mia@acme.test');
      w.grant(mia, A.id, { roles: 'analyst' });
      idp.accounts.set('sub-mia', { email: 'mia@acme.test', email_verified: false });
      const miaPw = await w.signIn('mia@acme.test');
      const m = await start({ connection_id: conn.id });
      const miaBack = new URL(await idp.signIn(m.location, 'sub-mia'));
      const refused = await w.usher.api('GET', miaBack.pathname + miaBack.search,
        { headers: { Cookie: m.cookie, Authorization: `Bearer ${miaPw}` } });
      assert.equal(reasonOf(refused), 'email_unverified');
      const [hers] = (await refusals()).json.items;
      assert.equal(hers.details.reason, 'email_unverified');
      assert.equal(hers.subject_user_id, mia);
      assert.equal(hers.subject_email, 'mia@acme.test');
      assert.equal(hers.actor_id, mia);
    });

    it('refuses a replayed state, a replayed code and a state from another browser', async () => {
      const first = await flow({ connection_id: conn.id }, 'sub-pat');
      assert.ok(first.token);
      assert.equal(reasonOf(await callback(first.back, first.cookie)), 'state_invalid');

      // The used code with a fresh state of the same browser: the provider refuses it.
      const again = await start({ connection_id: conn.id });
      const state = new URL(again.location).searchParams.get('state');
      const replay = new URL(first.back);
      replay.searchParams.set('state', state);
      assert.equal(reasonOf(await callback(replay.href, again.cookie)), 'idp_error');

      // Another browser: no cookie, or the cookie of its own sign-in.
      const s = await start({ connection_id: conn.id });
      const back = await idp.signIn(s.location, 'sub-pat');
      const other = await start({ connection_id: conn.id });
      assert.equal(reasonOf(await callback(back, '')), 'state_invalid');
      assert.equal(reasonOf(await callback(back, other.cookie)), 'state_invalid');
      const mine = await callback(back, s.cookie);
      assert.equal(mine.headers.location, '/', 'the right browser still finishes');
      assert.ok(sessionOf(mine));
    });

    it('audits the failures of states usher issued, and only logs a state it never issued', async () => {
      const audited = () => count(`SELECT COUNT(*) FROM audit_log WHERE action = 'user.sign_in_failed'`);
      const before = audited();
      const logged = w.usher.findLogs('oidc.sign_in_failed').length;
      const s = await start({ connection_id: conn.id });
      for (const q of ['state=junk&code=x', 'code=x', `state=${'j'.repeat(200)}&code=x`, 'state=junk&error=access_denied']) {
        assert.equal(reasonOf(await w.usher.api('GET', `/api/v1/oidc/callback?${q}`, { headers: { Cookie: s.cookie } })), 'state_invalid');
        assert.equal(reasonOf(await w.usher.api('GET', `/api/v1/oidc/callback?${q}`)), 'state_invalid');
      }
      assert.equal(audited(), before, 'no audit row for a state usher never issued');
      const junk = (l) => l.reason === 'state_invalid' && !l.connection_id;
      await w.usher.waitForLog('oidc.sign_in_failed', junk);
      for (let i = 0; i < 30 && w.usher.findLogs('oidc.sign_in_failed').slice(logged).filter(junk).length < 8; i++) await sleep(100);
      assert.equal(w.usher.findLogs('oidc.sign_in_failed').slice(logged).filter(junk).length, 8, 'each one is logged');
      // A state usher issued, brought back by another browser (with its own binding cookie):
      // audited. The right browser still finishes.
      const back = await idp.signIn(s.location, 'sub-pat');
      const other = await start({ connection_id: conn.id });
      assert.equal(reasonOf(await callback(back, other.cookie)), 'state_invalid');
      assert.equal(audited(), before + 1);
      const row = w.sql(`SELECT details FROM audit_log WHERE action = 'user.sign_in_failed' ORDER BY id DESC LIMIT 1`);
      assert.match(row, /"reason":"state_invalid"/);
      assert.match(row, new RegExp(conn.id));
      assert.ok(sessionOf(await callback(back, s.cookie)));
    });

    it('sends the provider\'s error, a refused algorithm and a disabled account to the problem page', async () => {
      const s = await start({ connection_id: conn.id });
      const state = new URL(s.location).searchParams.get('state');
      const denied = await w.usher.api('GET', `/api/v1/oidc/callback?error=access_denied&state=${state}`, { headers: { Cookie: s.cookie } });
      assert.equal(reasonOf(denied), 'idp_error');
      const twice = await w.usher.api('GET', `/api/v1/oidc/callback?state=a&state=b&code=c`, { headers: { Cookie: s.cookie } });
      assert.equal(reasonOf(twice), 'state_invalid');

      // The provider signs with RS256; a connection narrowed to ES256 refuses its tokens.
      const narrowed = await w.as(admin)('PATCH', `/api/v1/agencies/${A.id}/oidc-connections/${conn.id}`, { algorithms: ['ES256'] });
      assert.equal(narrowed.status, 200, narrowed.text);
      try {
        const refused = await flow({ connection_id: conn.id }, 'sub-pat');
        assert.equal(reasonOf(refused.res), 'token_invalid');
        assert.ok(w.usher.findLogs('oidc.sign_in_failed').some((l) => l.cause === 'id_token_alg_refused'));
      } finally {
        await w.as(admin)('PATCH', `/api/v1/agencies/${A.id}/oidc-connections/${conn.id}`, { algorithms: ['RS256', 'PS256', 'ES256'] });
      }

      const dora = w.addUser('dora@acme.test');
      w.grant(dora, A.id, { roles: 'analyst' });
      idp.accounts.set('sub-dora', { email: 'dora@acme.test', email_verified: true });
      assert.ok((await flow({ connection_id: conn.id }, 'sub-dora')).token);
      w.sql(`UPDATE users SET status = 'disabled' WHERE id = '${dora}'`);
      assert.equal(reasonOf((await flow({ connection_id: conn.id }, 'sub-dora')).res), 'account_disabled');
    });

    it('refuses an invitation naming another subject than the provider\'s', async () => {
      const inv = await w.invite(admin, A.id, {
        email: 'sam@acme.test', sign_in: 'oauth', oauth_subject: 'sub-sam', grants: [{ roles: ['analyst'] }],
      });
      assert.equal(inv.status, 201, inv.text);
      assert.equal(inv.json.oauth_subject, 'sub-sam');
      const token = new URL(inv.json.url).hash.replace('#token=', '');
      idp.accounts.set('sub-notsam', { email: 'sam@acme.test', email_verified: true });
      const wrong = await flow({ connection_id: conn.id, invitation: token }, 'sub-notsam');
      assert.equal(reasonOf(wrong.res), 'invitation_subject_mismatch');
      assert.equal(w.sql(`SELECT status FROM invitations WHERE id = '${inv.json.id}'`).trim(), 'pending');
      const right = await flow({ connection_id: conn.id, invitation: token }, 'sub-sam');
      assert.equal(right.res.headers.location, '/');
      assert.ok(right.token);
    });

    it('refuses an oauth invitation where the agency has no connection', async () => {
      const C = await w.agencyNew(admin, 'Gamma');
      const res = await w.invite(admin, C.id, { email: 'g@gamma.test', sign_in: 'oauth', grants: [{ roles: ['analyst'] }] });
      assertProblem(res, 400, 'sign_in_unavailable', 'sign_in');
    });

    it('signs in with an ES256-signed ID token', async () => {
      const res = await w.as(admin)('POST', `/api/v1/agencies/${B.id}/oidc-connections`, {
        name: 'Beta login', issuer: idp.issuer, client_id: idp.clients.es256.client_id,
        client_secret: idp.clients.es256.client_secret, domains: ['beta.test'], algorithms: ['ES256'],
      });
      assert.equal(res.status, 201, res.text);
      connB = res.json;
      const inv = await w.invite(admin, B.id, { email: 'bea@beta.test', sign_in: 'oauth', grants: [{ roles: ['analyst'] }] });
      const token = new URL(inv.json.url).hash.replace('#token=', '');
      idp.accounts.set('sub-bea', { email: 'bea@beta.test' });
      const done = await flow({ connection_id: connB.id, invitation: token }, 'sub-bea');
      assert.ok(done.token, done.res.headers.location);
    });
  });

  describe('accounts', () => {
    it('blocks a member\'s password session from an agency that requires SSO, not a platform admin', async () => {
      const req = await w.as(admin)('PATCH', `/api/v1/agencies/${A.id}/oidc-connections/${conn.id}`, { required: true });
      assert.equal(req.status, 200, req.text);
      try {
        const pw = await w.signIn('pat@acme.test');
        assertProblem(await w.as(pw)('GET', `/api/v1/agencies/${A.id}`), 403, 'sso_required');
        assertProblem(await w.as(pw)('GET', `/api/v1/agencies/${A.id}/users`), 403, 'sso_required');
        const me = await meWith(pw);
        const entry = me.json.agencies.find((a) => a.id === A.id);
        assert.equal(entry.sso_required, true);
        assert.deepEqual(entry.grants, []);
        assert.equal((await w.as(admin)('GET', `/api/v1/agencies/${A.id}`)).status, 200);
        const sso = await flow({ connection_id: conn.id }, 'sub-pat');
        assert.equal((await w.as(sso.token)('GET', `/api/v1/agencies/${A.id}`)).status, 200);
        assert.equal((await meWith(sso.token)).json.agencies.find((a) => a.id === A.id).sso_required, false);
      } finally {
        await w.as(admin)('PATCH', `/api/v1/agencies/${A.id}/oidc-connections/${conn.id}`, { required: false });
      }
    });

    it('sign-out of a provider session answers the provider\'s end_session_url', async () => {
      const sso = await flow({ connection_id: conn.id }, 'sub-pat');
      const out = await w.as(sso.token)('DELETE', '/api/v1/sessions/current');
      assert.equal(out.status, 200, out.text);
      const u = new URL(out.json.end_session_url);
      assert.equal(u.origin, idp.issuer);
      assert.ok(u.searchParams.get('id_token_hint'));
      assert.equal(u.searchParams.get('post_logout_redirect_uri'), `${w.usher.url}/signed-out`);
      assert.ok(u.searchParams.get('state'));
      assert.equal((await meWith(sso.token)).status, 401);
      const pw = await w.signIn('pat@acme.test');
      assert.equal((await w.as(pw)('DELETE', '/api/v1/sessions/current')).status, 204);
    });

    it('links and unlinks a sign-in from a signed-in session, keeping the last way in', async () => {
      const anonymous = await w.usher.api('GET', `/api/v1/oidc/start?connection_id=${conn.id}&link=1`);
      assert.equal(reasonOf(anonymous), 'sign_in_required');
      const lee = w.addUser('lee@elsewhere.test');
      const pw = await w.signIn('lee@elsewhere.test');
      idp.accounts.set('sub-lee', { email: 'lee@private.test', email_verified: false });
      const linked = await flow({ connection_id: conn.id, link: '1' }, 'sub-lee', { Authorization: `Bearer ${pw}` });
      assert.equal(linked.res.headers.location, '/account');
      assert.equal(sessionOf(linked.res), undefined, 'linking starts no session');
      const me = await meWith(pw);
      assert.equal(me.json.identities.length, 1);
      assert.equal(me.json.has_password, true);

      // The identity of another account is not taken over.
      const conflict = await flow({ connection_id: conn.id, link: '1' }, 'sub-pat', { Authorization: `Bearer ${pw}` });
      assert.equal(reasonOf(conflict.res), 'link_conflict');

      const unlink = await w.as(pw)('DELETE', `/api/v1/me/identities/${me.json.identities[0].id}`);
      assert.equal(unlink.status, 204, unlink.text);
      assert.equal(count(`SELECT COUNT(*) FROM identities WHERE user_id = '${lee}'`), 0);
      assert.equal(count(`SELECT COUNT(*) FROM audit_log WHERE action = 'identity.unlinked' AND subject_user_id = '${lee}'`), 1);

      const newbie = await flow({ connection_id: conn.id }, 'sub-newbie');
      const mine = (await meWith(newbie.token)).json.identities;
      assertProblem(await w.as(newbie.token)('DELETE', `/api/v1/me/identities/${mine[0].id}`), 409, 'last_sign_in_method');
    });

    it('does not turn on usher\'s two-step verification for an account without a password', async () => {
      const newbie = await flow({ connection_id: conn.id }, 'sub-newbie');
      const me = await meWith(newbie.token);
      assert.equal(me.json.has_password, false);
      assert.equal(me.json.second_factor, false);
      const from = count(`SELECT COUNT(*) FROM audit_log WHERE subject_user_id = '${me.json.user.id}'`);
      const res = await w.as(newbie.token)('POST', '/api/v1/me/totp', { current_password: 'anything-at-all-1' });
      assertProblem(res, 409, 'second_factor_needs_password');
      assert.equal(count(`SELECT COUNT(*) FROM second_factors WHERE user_id = '${me.json.user.id}'`), 0);
      assert.equal(count(`SELECT COUNT(*) FROM audit_log WHERE subject_user_id = '${me.json.user.id}'`), from,
        'not counted as a failed password either');
      // With a password (here set by the operator), the same account may turn it on.
      w.sql(`UPDATE users SET password_hash = (SELECT password_hash FROM users WHERE email = '${ADMIN_EMAIL}') WHERE id = '${me.json.user.id}'`);
      const ok = await w.as(newbie.token)('POST', '/api/v1/me/totp', { current_password: PASSWORD });
      assert.equal(ok.status, 200, ok.text);
      w.sql(`DELETE FROM second_factors WHERE user_id = '${me.json.user.id}'`);
      w.sql(`UPDATE users SET password_hash = NULL WHERE id = '${me.json.user.id}'`);
    });

    it('links an account that is also another agency\'s only from its own session, by the account page or an invitation', async () => {
      // Quinn's address is in the domain A's connection claims, but Quinn belongs to B: A's
      // provider does not speak for Quinn's account on its own.
      const quinn = w.addUser('quinn@acme.test');
      w.grant(quinn, B.id, { roles: 'analyst' });
      idp.accounts.set('sub-quinn', { email: 'quinn@acme.test', email_verified: true });
      const linkedToQuinn = () => count(`SELECT COUNT(*) FROM identities WHERE user_id = '${quinn}'`);
      const plain = await flow({ connection_id: conn.id }, 'sub-quinn');
      assert.equal(reasonOf(plain.res), 'account_exists_sign_in_first');
      assert.equal(sessionOf(plain.res), undefined);
      assert.equal(linkedToQuinn(), 0);

      // An oauth invitation of A to the address: its token alone links nothing, and neither
      // does another account's session.
      const inv = await w.invite(admin, A.id, { email: 'quinn@acme.test', sign_in: 'oauth', send_email: false, grants: [{ roles: ['analyst'] }] });
      assert.equal(inv.status, 201, inv.text);
      const token = new URL(inv.json.url).hash.replace('#token=', '');
      const anonymous = await flow({ connection_id: conn.id, invitation: token }, 'sub-quinn');
      assert.equal(reasonOf(anonymous.res), 'account_exists_sign_in_first');
      w.addUser('rex@elsewhere.test');
      const rex = await w.signIn('rex@elsewhere.test');
      const other = await flow({ connection_id: conn.id, invitation: token }, 'sub-quinn', { Authorization: `Bearer ${rex}` });
      assert.equal(reasonOf(other.res), 'account_exists_sign_in_first');
      assert.equal(linkedToQuinn(), 0);
      assert.equal(w.sql(`SELECT status FROM invitations WHERE id = '${inv.json.id}'`).trim(), 'pending');

      // Started in Quinn's own session: linked and accepted.
      const pw = await w.signIn('quinn@acme.test');
      const accepted = await flow({ connection_id: conn.id, invitation: token }, 'sub-quinn', { Authorization: `Bearer ${pw}` });
      assert.equal(accepted.res.headers.location, '/', accepted.res.headers.location);
      assert.ok(accepted.token);
      const me = await meWith(accepted.token);
      assert.equal(me.json.user.email, 'quinn@acme.test');
      assert.equal(me.json.sign_in_method, 'oidc');
      assert.deepEqual(me.json.agencies.map((a) => a.id).sort(), [A.id, B.id].sort());
      assert.equal(linkedToQuinn(), 1);
      assert.equal(w.sql(`SELECT status FROM invitations WHERE id = '${inv.json.id}'`).trim(), 'accepted');
      // From now on the provider signs Quinn in by the linked identity.
      const again = await flow({ connection_id: conn.id }, 'sub-quinn');
      assert.equal(again.res.headers.location, '/');
      assert.equal((await meWith(again.token)).json.user.email, 'quinn@acme.test');

      // Through the account page instead: Tess of B links from her own session.
      const tess = w.addUser('tess@acme.test');
      w.grant(tess, B.id, { roles: 'analyst' });
      idp.accounts.set('sub-tess', { email: 'tess@acme.test', email_verified: true });
      assert.equal(reasonOf((await flow({ connection_id: conn.id }, 'sub-tess')).res), 'account_exists_sign_in_first');
      const tessPw = await w.signIn('tess@acme.test');
      const link = await flow({ connection_id: conn.id, link: '1' }, 'sub-tess', { Authorization: `Bearer ${tessPw}` });
      assert.equal(link.res.headers.location, '/account');
      assert.equal(count(`SELECT COUNT(*) FROM identities WHERE user_id = '${tess}'`), 1);
      const signedIn = await flow({ connection_id: conn.id }, 'sub-tess');
      assert.equal((await meWith(signedIn.token)).json.user.email, 'tess@acme.test');
    });

    it('lets an account without a password delete itself only right after a company sign-in', async () => {
      const inv = await w.invite(admin, A.id, { email: 'dana@acme.test', sign_in: 'oauth', send_email: false, grants: [{ roles: ['analyst'] }] });
      assert.equal(inv.status, 201, inv.text);
      idp.accounts.set('sub-dana', { email: 'dana@acme.test', email_verified: true, given_name: 'Dana' });
      const first = await flow({ connection_id: conn.id, invitation: new URL(inv.json.url).hash.replace('#token=', '') }, 'sub-dana');
      assert.ok(first.token, first.res.headers.location);
      const me = (await meWith(first.token)).json;
      const dana = me.user.id;
      assert.equal(me.has_password, false);
      const until = Date.parse(me.recent_sign_in_until);
      assert.ok(Math.abs(until - (Date.now() + 10 * 60e3)) < 60e3, me.recent_sign_in_until);
      const failures = (reason) => count(`SELECT COUNT(*) FROM audit_log WHERE action = 'user.erase_failed' AND subject_user_id = '${dana}' AND details LIKE '%"reason":"${reason}"%'`);
      const exists = () => count(`SELECT COUNT(*) FROM users WHERE id = '${dana}'`);

      // Eleven minutes after that sign-in, it no longer stands as proof.
      w.sql(`UPDATE sessions SET created_at = created_at - ${11 * 60e3} WHERE user_id = '${dana}'`);
      const stale = await w.as(first.token)('DELETE', '/api/v1/me', {});
      assertProblem(stale, 403, 'recent_sign_in_required');
      assert.match(stale.json.detail, /sign in again/);
      assert.equal(failures('sign_in_not_recent'), 1);
      assert.ok(Date.parse((await meWith(first.token)).json.recent_sign_in_until) < Date.now());
      // A password is refused: the account has none.
      assertProblem(await w.as(first.token)('DELETE', '/api/v1/me', { current_password: 'a-guess-at-a-password' }), 403, 'invalid_credentials', 'current_password');
      assert.equal(failures('no_password'), 1);

      // A view-as session of the account is refused, whatever its age.
      const viewer = await w.signIn(ADMIN_EMAIL);
      const view = await w.as(viewer)('POST', '/api/v1/impersonation', { user_id: dana, agency_id: A.id, reason: 'ticket 7' });
      assert.equal(view.status, 201, view.text);
      rememberSecret(view.json.token);
      assert.equal((await meWith(view.json.token)).json.recent_sign_in_until, null);
      assert.equal((await w.as(view.json.token)('DELETE', '/api/v1/me', {})).status, 403);
      assert.ok((await w.as(view.json.token)('DELETE', '/api/v1/impersonation')).status < 300);

      // An account with a password keeps needing it, even right after a company sign-in, and
      // its password session is no proof either.
      const patSso = await flow({ connection_id: conn.id }, 'sub-pat');
      assert.ok((await meWith(patSso.token)).json.recent_sign_in_until);
      assertProblem(await w.as(patSso.token)('DELETE', '/api/v1/me', {}), 400, 'invalid_input', 'current_password');
      const patPw = await w.signIn('pat@acme.test');
      assert.equal((await meWith(patPw)).json.recent_sign_in_until, null);
      assertProblem(await w.as(patPw)('DELETE', '/api/v1/me', {}), 400, 'invalid_input', 'current_password');
      assert.equal(count(`SELECT COUNT(*) FROM users WHERE email = 'pat@acme.test'`), 1);
      assert.equal(exists(), 1);

      // Signed in again through the company login: deleted, with the audit of any erasure.
      const again = await flow({ connection_id: conn.id }, 'sub-dana');
      const gone = await w.as(again.token)('DELETE', '/api/v1/me', {});
      assert.equal(gone.status, 204, gone.text);
      assert.equal(exists(), 0);
      assert.equal(count(`SELECT COUNT(*) FROM identities WHERE user_id = '${dana}' OR subject = 'sub-dana'`), 0);
      assert.equal(count(`SELECT COUNT(*) FROM sessions WHERE user_id = '${dana}'`), 0);
      assert.equal((await meWith(first.token)).status, 401);
      const erased = w.sql(`SELECT actor_id, details FROM audit_log WHERE action = 'user.erased' AND subject_user_id = '${dana}'`).trim();
      assert.match(erased, new RegExp(`^${dana}\\|\\{"via":"self_service","proof":"recent_company_sign_in"`));
      assert.equal(count(`SELECT COUNT(*) FROM audit_log WHERE action = 'member.removed' AND subject_user_id = '${dana}'`), 1);
      assert.equal(w.snapshot().toLowerCase().includes('dana@acme.test'), false, 'the address is gone');
      const verified = await runUsher(['audit', 'verify', '--data-dir', w.usher.dataDir]);
      assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    });

    it('erasing a person removes their identities', async () => {
      const id = w.sql(`SELECT id FROM users WHERE email = 'bea@beta.test'`).trim();
      assert.equal(count(`SELECT COUNT(*) FROM identities WHERE user_id = '${id}'`), 1);
      const res = await w.as(admin)('DELETE', `/api/v1/users/${id}`, { confirm: 'bea@beta.test' });
      assert.ok(res.status === 200 || res.status === 204, res.text);
      assert.equal(count(`SELECT COUNT(*) FROM identities WHERE user_id = '${id}' OR subject = 'sub-bea'`), 0);
    });

    it('deleting a connection keeps the identities made through it', async () => {
      const before = count(`SELECT COUNT(*) FROM identities WHERE connection_id = '${connB.id}'`);
      const res = await w.as(admin)('DELETE', `/api/v1/agencies/${B.id}/oidc-connections/${connB.id}`);
      assert.equal(res.status, 204);
      assert.equal(count(`SELECT COUNT(*) FROM oidc_connections WHERE id = '${connB.id}'`), 0);
      assert.equal(count(`SELECT COUNT(*) FROM identities WHERE connection_id = '${connB.id}'`), 0);
      assert.equal(before, 0, 'the only identity through it was erased above');
      assert.equal(count(`SELECT COUNT(*) FROM audit_log WHERE action = 'oidc_connection.deleted'`), 1);
    });
  });

  describe('a provider that is down', () => {
    it('answers idp_unreachable quickly, at the start and at the callback', async () => {
      const down = await startProvider({ redirectUri: `${w.usher.url}/api/v1/oidc/callback`, postLogoutRedirectUri: `${w.usher.url}/signed-out` });
      rememberSecret(down.clients.rs256.client_secret);
      const res = await w.as(admin)('POST', `/api/v1/agencies/${B.id}/oidc-connections`, {
        name: 'Flaky', issuer: down.issuer, client_id: down.clients.rs256.client_id,
        client_secret: down.clients.rs256.client_secret, domains: ['flaky.test'],
      });
      assert.equal(res.status, 201, res.text);
      const flaky = res.json;
      down.accounts.set('sub-f', { email: 'f@flaky.test', email_verified: true });
      const s = await start({ connection_id: flaky.id });
      const back = await down.signIn(s.location, 'sub-f');
      await down.close();
      let t0 = Date.now();
      assert.equal(reasonOf(await callback(back, s.cookie)), 'idp_unreachable');
      assert.ok(Date.now() - t0 < 3000, `callback took ${Date.now() - t0} ms`);

      // A new connection never fetched: the start cannot reach the provider either.
      const gone = await w.as(admin)('POST', `/api/v1/agencies/${B.id}/oidc-connections`, {
        name: 'Gone', issuer: down.issuer, client_id: 'c', client_secret: 'gone-secret', domains: ['gone.test'],
      });
      t0 = Date.now();
      const started = await w.usher.api('GET', `/api/v1/oidc/start?connection_id=${gone.json.id}`);
      assert.equal(reasonOf(started), 'idp_unreachable');
      assert.ok(Date.now() - t0 < 3000, `start took ${Date.now() - t0} ms`);
    });
  });
});
