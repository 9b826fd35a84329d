// usher's OpenID Connect relying party against a hostile provider (docs/SECURITY.md 18 and
// 42; docs/internals/oidc.md), through the real binary, in the manner of the OpenID
// Foundation's relying-party conformance cases. Each case makes its own provider
// (lib/hostile_idp.mjs) and its own connection, then drives a browser's sign-in: GET
// /oidc/start with a cookie jar, the provider's /authorize (which approves at once), back to
// /oidc/callback. A refused case must end on /sign-in/problem?reason=… with the right reason,
// with the precise check named in the log and no session cookie; the token in each refused
// case is otherwise good and names a person who can sign in, so that removing the check it
// covers would let the sign-in through. Covered: every ID token claim, algorithms and
// signatures (none, HMAC keyed with the public key, altered signatures, key choice with and
// without kid, private and symmetric keys), key rotation and the refetch limit, discovery
// (issuer, redirects), internal addresses, state and code replays, a provider that errs, is
// down, stalls or answers too much, and whom a provider may speak for (verified addresses in
// claimed domains, issuer + subject, no account outside the connection's agency).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { rememberSecret, request } from './lib/harness.mjs';
import { tokenOf } from './lib/smtp.mjs';
import {
  hmacToken, makeKey, privateJwk, publicPem, rawToken, startHostileIdp, tamperSignature,
} from './lib/hostile_idp.mjs';
import { ADMIN_EMAIL, startWorld } from './lib/world.mjs';

const SESSION_COOKIE = /^(__Host-)?usher_session$/;

// The name=value pairs of a response's Set-Cookie headers (a value may be empty: a deletion).
function setCookies(res) {
  return [].concat(res.headers['set-cookie'] || []).map((line) => {
    const m = /^([^=]+)=([^;]*)/.exec(line);
    return { name: m[1].trim(), value: m[2], line };
  });
}

// A browser's cookie jar for usher's origin.
function jarTake(jar, res) {
  for (const c of setCookies(res)) {
    if (c.value === '' || /max-age=0/i.test(c.line)) jar.delete(c.name);
    else jar.set(c.name, c.value);
  }
}
const jarHeader = (jar) => (jar.size ? { Cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } : {});

describe('the OpenID Connect relying party against a hostile provider', () => {
  let w;
  let admin;
  let n = 0;

  before(async () => {
    w = await startWorld({ env: { USHER_OIDC_ALLOW_INSECURE_LOOPBACK: '1', USHER_THREADS: 8 } });
    admin = await w.signIn(ADMIN_EMAIL);
  });

  after(async () => {
    // The harness's canary: no ID token, code, client secret or session reached the log.
    if (w) await w.stop();
  });

  const idps = [];
  after(async () => {
    for (const idp of idps) await idp.stop();
  });

  // A provider, an agency with a connection to it claiming a fresh domain, and a member of the
  // agency with an address in that domain whom the provider vouches for (verified email), so
  // that an honest token signs them in. opts: keys, algorithms (the connection's), idp (an
  // existing provider).
  async function setup({ keys, algorithms, idp } = {}) {
    n += 1;
    const domain = `t${n}-${randomBytes(3).toString('hex')}.example`;
    const email = `ada@${domain}`;
    const clientSecret = `secret-${randomBytes(16).toString('hex')}`;
    rememberSecret(clientSecret);
    const provider = idp || (await startHostileIdp({ keys, clientId: `usher-${n}`, clientSecret }));
    if (!idp) idps.push(provider);
    provider.person = { sub: `subject-${n}-${randomBytes(4).toString('hex')}`, email, email_verified: true };
    const agency = await w.agencyNew(admin, `Agency ${n}`);
    const userId = w.addUser(email);
    w.grant(userId, agency.id);
    const body = {
      name: `Provider ${n}`,
      issuer: provider.issuer,
      client_id: provider.clientId,
      client_secret: provider.clientSecret,
      domains: [domain],
    };
    if (algorithms) body.algorithms = algorithms;
    const res = await w.as(admin)('POST', `/api/v1/agencies/${agency.id}/oidc-connections`, body);
    assert.equal(res.status, 201, `connection: ${res.text}`);
    assert.equal(JSON.stringify(res.json).includes(clientSecret), false, 'the secret is never answered');
    // Each case's browser comes from its own loopback address, so that what one case's
    // failures count (the sign-in throttle) does not reach the next.
    const conn = { ...res.json, browserAddress: `127.0.${Math.floor(n / 200) + 1}.${(n % 200) + 2}` };
    return { idp: provider, conn, email, agency, userId };
  }

  // Remembers every ID token and code the provider hands out, for the log canary.
  function canary(idp) {
    for (const t of idp.issued) rememberSecret(t);
    for (const code of idp.grants.keys()) rememberSecret(code);
  }

  // One browser sign-in through conn. Returns every step's answer, the callback's target,
  // the reason of a problem page, the session cookie set (if any) and the time the callback
  // took. opts.jar: an existing cookie jar; opts.beforeCallback(r): a hook run between the
  // provider's answer and the callback (it may change r.callbackPath); opts.noCallback: stop
  // there, as a browser whose redirect was intercepted.
  async function attempt(conn, { jar = new Map(), beforeCallback, noCallback = false, query = '', headers = {} } = {}) {
    const r = { jar, logFrom: w.usher.logs.length, browserAddress: conn.browserAddress };
    r.start = await w.usher.api('GET', `/api/v1/oidc/start?connection_id=${encodeURIComponent(conn.id)}${query}`,
      { headers: { ...jarHeader(jar), ...headers }, localAddress: conn.browserAddress });
    jarTake(jar, r.start);
    r.startCookies = new Map(jar);
    const done = (target) => {
      r.target = target;
      if (target) {
        const u = new URL(target, w.usher.url);
        r.targetPath = u.pathname;
        r.reason = u.pathname === '/sign-in/problem' ? u.searchParams.get('reason') : null;
      }
      return r;
    };
    if (r.start.status !== 302) return done(null);
    const toIdp = new URL(r.start.headers.location, w.usher.url);
    if (toIdp.origin === new URL(w.usher.url).origin) return done(r.start.headers.location);
    r.authorizeUrl = toIdp;
    r.authorize = await request(toIdp.hostname, Number(toIdp.port), 'GET', toIdp.pathname + toIdp.search);
    if (r.authorize.status !== 302) return done(null);
    const back = new URL(r.authorize.headers.location);
    assert.equal(back.origin, new URL(w.usher.url).origin, 'the provider sends the browser back to usher');
    assert.equal(back.pathname, '/api/v1/oidc/callback');
    r.callbackPath = back.pathname + back.search;
    if (beforeCallback) await beforeCallback(r);
    if (noCallback) return r;
    return callback(r, r.callbackPath, jar);
  }

  // The browser's GET of the callback (again, for a replay) with jar's cookies.
  async function callback(r, callbackPath, jar) {
    const t0 = Date.now();
    r.callback = await w.usher.api('GET', callbackPath, { headers: jarHeader(jar), localAddress: r.browserAddress });
    r.callbackMs = Date.now() - t0;
    jarTake(jar, r.callback);
    r.session = setCookies(r.callback).find((c) => SESSION_COOKIE.test(c.name) && c.value !== '') || null;
    if (r.session) w.secrets.add(r.session.value);
    assert.equal(r.callback.status, 302, `callback: ${r.callback.status} ${r.callback.text}`);
    const u = new URL(r.callback.headers.location, w.usher.url);
    r.target = r.callback.headers.location;
    r.targetPath = u.pathname;
    r.reason = u.pathname === '/sign-in/problem' ? u.searchParams.get('reason') : null;
    return r;
  }

  // A browser's GET of a callback URL seen before (a replay, or another browser's).
  const callbackAgain = (fx, callbackPath, jar) =>
    callback({ logFrom: w.usher.logs.length, browserAddress: fx.conn.browserAddress }, callbackPath, jar);

  // Waits (up to 3 s) for a log line, written since the attempt began, that names problem.
  async function assertLogged(r, problem) {
    for (let i = 0; i < 30; i++) {
      if (w.usher.logs.slice(r.logFrom).some((l) => JSON.stringify(l).includes(problem))) return;
      await sleep(100);
    }
    const seen = w.usher.logs.slice(r.logFrom).filter((l) => /oidc/.test(JSON.stringify(l)));
    assert.fail(`no log line names ${problem}; oidc lines: ${JSON.stringify(seen)}`);
  }

  // The attempt ended on the problem page for reason, set no session, and logged problem.
  async function assertRefused(r, reason, problem) {
    assert.equal(r.targetPath, '/sign-in/problem', `refused, but went to ${r.target} (start ${r.start?.status} ${r.start?.text})`);
    assert.equal(r.reason, reason);
    assert.equal(r.session ?? null, null, 'no session cookie');
    if (problem) await assertLogged(r, problem);
  }

  // The attempt ended on "/" with a session cookie that GET /me accepts as email's, made
  // through OpenID Connect.
  async function assertSignedIn(r, email, idp) {
    assert.equal(r.reason, null, `refused with ${r.reason}; provider problems: ${JSON.stringify(idp?.problems)}`);
    assert.equal(r.targetPath, '/');
    assert.ok(r.session, 'a session cookie');
    const me = await w.usher.api('GET', '/api/v1/me', { headers: { Cookie: `${r.session.name}=${r.session.value}` } });
    assert.equal(me.status, 200, me.text);
    assert.equal(me.json.user.email, email);
    assert.equal(me.json.sign_in_method, 'oidc');
    if (idp) assert.deepEqual(idp.problems, [], 'the provider found nothing wrong in usher\'s requests');
  }

  // Runs one attempt whose ID token is made by make(grant, idp) and returns it.
  async function withToken(fx, make, opts) {
    fx.idp.idToken = (grant) => make(grant, fx.idp);
    const r = await attempt(fx.conn, opts);
    canary(fx.idp);
    return r;
  }

  // ---- the honest provider ---------------------------------------------------------------

  for (const alg of ['RS256', 'PS256', 'ES256']) {
    it(`signs in with a good ${alg} ID token`, async () => {
      const key = await makeKey(alg);
      const fx = await setup({ keys: [key] });
      const r = await withToken(fx, (grant, idp) => idp.sign(idp.claims(grant), key));
      await assertSignedIn(r, fx.email, fx.idp);
      assert.equal(r.authorizeUrl.searchParams.get('scope'), 'openid email profile');
      assert.equal(fx.idp.counts['/token'], 1);
    });
  }

  it('reports an honest provider as usable in the connection test', async () => {
    const fx = await setup({ keys: [await makeKey('RS256'), await makeKey('ES256')] });
    const res = await w.as(admin)('POST', `/api/v1/agencies/${fx.agency.id}/oidc-connections/${fx.conn.id}/test`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.ok, true, res.text);
    assert.deepEqual(res.json.problems, []);
    assert.equal(res.json.issuer, fx.idp.issuer);
    assert.equal(res.json.token_endpoint, `${fx.idp.base}/token`);
    assert.equal(res.json.keys, 2);
  });

  // ---- claims ------------------------------------------------------------------------------

  it('refuses an ID token from another issuer (wrong iss, and a trailing slash)', async () => {
    const fx = await setup();
    for (const iss of ['http://127.0.0.1:1/elsewhere', `${fx.idp.issuer}/`]) {
      const r = await withToken(fx, (grant, idp) => idp.sign({ ...idp.claims(grant), iss }));
      await assertRefused(r, 'token_invalid', 'id_token_wrong_issuer');
    }
  });

  it('refuses an ID token for another client (wrong aud, as a string and as an array)', async () => {
    const fx = await setup();
    for (const aud of ['another-client', ['another-client', 'a-third-client']]) {
      const r = await withToken(fx, (grant, idp) => idp.sign({ ...idp.claims(grant), aud, azp: 'another-client' }));
      await assertRefused(r, 'token_invalid', 'id_token_wrong_audience');
    }
  });

  it('refuses several audiences without azp', async () => {
    const fx = await setup();
    const r = await withToken(fx, (grant, idp) => idp.sign({ ...idp.claims(grant), aud: [idp.clientId, 'another-client'] }));
    await assertRefused(r, 'token_invalid', 'id_token_azp_missing');
  });

  it('refuses several audiences whose azp is another client', async () => {
    const fx = await setup();
    const r = await withToken(fx, (grant, idp) =>
      idp.sign({ ...idp.claims(grant), aud: [idp.clientId, 'another-client'], azp: 'another-client' }));
    await assertRefused(r, 'token_invalid', 'id_token_wrong_azp');
    // The same token with azp naming usher's client is good.
    const ok = await withToken(fx, (grant, idp) =>
      idp.sign({ ...idp.claims(grant), aud: [idp.clientId, 'another-client'], azp: idp.clientId }));
    await assertSignedIn(ok, fx.email, fx.idp);
  });

  it('refuses an ID token without sub', async () => {
    const fx = await setup();
    const r = await withToken(fx, (grant, idp) => {
      const claims = idp.claims(grant);
      delete claims.sub;
      return idp.sign(claims);
    });
    await assertRefused(r, 'token_invalid', 'id_token_sub_missing');
  });

  it('refuses an ID token without nonce', async () => {
    const fx = await setup();
    const r = await withToken(fx, (grant, idp) => {
      const claims = idp.claims(grant);
      delete claims.nonce;
      return idp.sign(claims);
    });
    await assertRefused(r, 'token_invalid', 'id_token_nonce_missing');
  });

  it('refuses an ID token with another nonce', async () => {
    const fx = await setup();
    const r = await withToken(fx, (grant, idp) =>
      idp.sign({ ...idp.claims(grant), nonce: randomBytes(32).toString('base64url') }));
    await assertRefused(r, 'token_invalid', 'id_token_wrong_nonce');
  });

  it('refuses an expired ID token (ten minutes past exp, beyond the two minutes of skew)', async () => {
    const fx = await setup();
    const now = Math.floor(Date.now() / 1000);
    const r = await withToken(fx, (grant, idp) => idp.sign({ ...idp.claims(grant), iat: now - 900, exp: now - 600 }));
    await assertRefused(r, 'token_invalid', 'id_token_expired');
  });

  it('refuses an ID token issued an hour in the future', async () => {
    const fx = await setup();
    const now = Math.floor(Date.now() / 1000);
    const r = await withToken(fx, (grant, idp) => idp.sign({ ...idp.claims(grant), iat: now + 3600, exp: now + 7200 }));
    await assertRefused(r, 'token_invalid', 'id_token_issued_in_future');
  });

  it('refuses an ID token past 16 KiB', async () => {
    const fx = await setup();
    const r = await withToken(fx, (grant, idp) => idp.sign({ ...idp.claims(grant), padding: 'p'.repeat(20 * 1024) }));
    await assertRefused(r, 'token_invalid', 'id_token_too_large');
    const ok = await withToken(fx, (grant, idp) => idp.sign({ ...idp.claims(grant), padding: 'p'.repeat(8 * 1024) }));
    await assertSignedIn(ok, fx.email, fx.idp);
  });

  // ---- whom a provider may speak for -------------------------------------------------------

  const identitiesOf = (userId) => Number(w.sql(`SELECT COUNT(*) FROM identities WHERE user_id = '${userId}'`).trim());
  const good = (grant, idp) => idp.sign(idp.claims(grant));

  it('trusts an address only when the provider says it is verified, with the JSON value true', async () => {
    const fx = await setup();
    for (const verified of [false, 'true', undefined]) {
      fx.idp.person.email_verified = verified;
      const r = await withToken(fx, good);
      await assertRefused(r, 'email_unverified');
    }
    assert.equal(identitiesOf(fx.userId), 0, 'no identity linked');
    fx.idp.person.email_verified = true;
    await assertSignedIn(await withToken(fx, good), fx.email, fx.idp);
  });

  it('never links an address outside the domains the connection claims', async () => {
    const a = await setup();
    const b = await setup();
    const loose = `bob@unclaimed-${randomBytes(3).toString('hex')}.example`;
    const looseId = w.addUser(loose);
    w.grant(looseId, a.agency.id);
    for (const email of [b.email, loose]) {
      a.idp.person = { sub: `subject-${randomBytes(6).toString('hex')}`, email, email_verified: true };
      const r = await withToken(a, good);
      await assertRefused(r, 'domain_not_claimed');
    }
    assert.equal(identitiesOf(b.userId), 0);
    assert.equal(identitiesOf(looseId), 0);
  });

  it('keys people on issuer and subject: the same sub from another provider is someone else', async () => {
    const a = await setup();
    await assertSignedIn(await withToken(a, good), a.email, a.idp);
    const b = await setup();
    // B's provider names A's person's subject and no address.
    b.idp.person = { sub: a.idp.person.sub };
    const r = await withToken(b, good);
    await assertRefused(r, 'no_account');
  });

  it('scopes an identity to the connection that linked it: another agency\'s connection to the same provider does not sign its person in', async () => {
    // Agency A's connection links Ada (a verified address in A's domain) on her first sign-in.
    const a = await setup();
    await assertSignedIn(await withToken(a, good), a.email, a.idp);
    assert.equal(identitiesOf(a.userId), 1);
    // Agency B holds its own connection, with its own client, at the same provider (issuer).
    n += 1;
    const B = await w.agencyNew(admin, `Agency B ${n}`);
    const clientA = { id: a.idp.clientId, secret: a.idp.clientSecret };
    const clientB = { id: `usher-b-${n}`, secret: `secret-${randomBytes(16).toString('hex')}` };
    rememberSecret(clientB.secret);
    const made = await w.as(admin)('POST', `/api/v1/agencies/${B.id}/oidc-connections`, {
      name: `B at the same provider ${n}`, issuer: a.idp.issuer, client_id: clientB.id,
      client_secret: clientB.secret, domains: [`b${n}-${randomBytes(3).toString('hex')}.example`],
    });
    assert.equal(made.status, 201, made.text);
    const b = { idp: a.idp, conn: { ...made.json, browserAddress: `127.0.8.${(n % 200) + 2}` } };
    const asClient = (client) => {
      a.idp.clientId = client.id;
      a.idp.clientSecret = client.secret;
    };
    const audited = (reason) => Number(w.sql(`SELECT COUNT(*) FROM audit_log WHERE action = 'user.sign_in_failed' AND agency_id = '${B.id}' AND details LIKE '%"reason":"${reason}"%' AND details LIKE '%${b.conn.id}%'`).trim());
    try {
      // Ada consents to B's client at the provider: B's connection must not sign her in.
      asClient(clientB);
      const refused = await withToken(b, good);
      await assertRefused(refused, 'identity_not_linked_here');
      assert.equal(audited('identity_not_linked_here'), 1, 'the refusal is in B\'s audit log');
      assert.equal(identitiesOf(a.userId), 1, 'nothing linked through B');

      // From her own signed-in session, Ada links the same provider account through B.
      const pw = await w.signIn(a.email);
      const link = await withToken(b, good, { query: '&link=1', headers: { Authorization: `Bearer ${pw}` } });
      assert.equal(link.reason, null, `link refused: ${link.reason}`);
      assert.equal(link.targetPath, '/account');
      assert.equal(identitiesOf(a.userId), 2);
      await assertSignedIn(await withToken(b, good), a.email, a.idp);

      // Unlinking A's identity leaves B's: B still signs her in, A no longer does.
      const me = await w.usher.api('GET', '/api/v1/me', { token: pw });
      const idA = me.json.identities.find((i) => i.connection_id === a.conn.id);
      assert.ok(idA && me.json.identities.some((i) => i.connection_id === b.conn.id), JSON.stringify(me.json.identities));
      const unlink = await w.usher.api('DELETE', `/api/v1/me/identities/${idA.id}`, { token: pw });
      assert.equal(unlink.status, 204, unlink.text);
      assert.equal(identitiesOf(a.userId), 1);
      await assertSignedIn(await withToken(b, good), a.email, a.idp);
      asClient(clientA);
      // (Unverified, so that A's connection cannot link her address again on its own.)
      a.idp.person.email_verified = false;
      await assertRefused(await withToken(a, good), 'identity_not_linked_here');
    } finally {
      asClient(clientA);
      a.idp.person.email_verified = true;
    }
  });

  it('stops using an identity while its connection names another issuer, and uses it again once moved back', async () => {
    const a = await setup();
    await assertSignedIn(await withToken(a, good), a.email, a.idp);
    // The agency points its connection at another provider, with the same client.
    const other = await startHostileIdp({ clientId: a.idp.clientId, clientSecret: a.idp.clientSecret });
    idps.push(other);
    other.person = { ...a.idp.person, email_verified: false };
    const moved = await w.as(admin)('PATCH', `/api/v1/agencies/${a.agency.id}/oidc-connections/${a.conn.id}`, { issuer: other.issuer });
    assert.equal(moved.status, 200, moved.text);
    const fx = { idp: other, conn: a.conn };
    // The same subject at the new issuer is not the identity recorded under the old one.
    await assertRefused(await withToken(fx, good), 'email_unverified');
    const pw = await w.signIn(a.email);
    const me = await w.usher.api('GET', '/api/v1/me', { token: pw });
    assert.equal(me.json.identities.length, 1);
    assert.equal(me.json.identities[0].issuer, a.idp.issuer);
    assert.equal(me.json.identities[0].usable, false);
    // Moved back, the identity signs her in again.
    const back = await w.as(admin)('PATCH', `/api/v1/agencies/${a.agency.id}/oidc-connections/${a.conn.id}`, { issuer: a.idp.issuer });
    assert.equal(back.status, 200, back.text);
    a.idp.person.email_verified = false;
    await assertSignedIn(await withToken(a, good), a.email, a.idp);
    assert.equal((await w.usher.api('GET', '/api/v1/me', { token: pw })).json.identities[0].usable, true);
  });

  it('lands on the problem page, not an API error, when the store fails at the callback', async () => {
    const fx = await setup();
    const r = await attempt(fx.conn, {
      noCallback: true,
    });
    canary(fx.idp);
    w.sql('ALTER TABLE identities RENAME TO identities_away');
    try {
      const done = await callbackAgain(fx, r.callbackPath, r.jar);
      await assertRefused(done, 'server_error', 'oidc.callback_failed');
    } finally {
      w.sql('ALTER TABLE identities_away RENAME TO identities');
    }
  });

  it('does not let an agency\'s connection take over accounts outside the agency by claiming their domain', async () => {
    // Mallory owns agency X (no platform role) and points a connection at her own provider,
    // claiming the domain of the platform admin and of a member of agency Y.
    n += 1;
    const mallory = `mallory@x${n}-${randomBytes(3).toString('hex')}.example`;
    const X = await w.agencyNew(admin, `Agency X ${n}`);
    w.grant(w.addUser(mallory), X.id, { roles: 'owner' });
    const malloryToken = await w.signIn(mallory);
    const Y = await w.agencyNew(admin, `Agency Y ${n}`);
    const victimDomain = `y${n}-${randomBytes(3).toString('hex')}.example`;
    const victim = `vera@${victimDomain}`;
    const victimId = w.addUser(victim);
    w.grant(victimId, Y.id, { roles: 'owner' });
    const adminId = w.sql(`SELECT id FROM users WHERE email = '${ADMIN_EMAIL}'`).trim();

    const clientSecret = `secret-${randomBytes(16).toString('hex')}`;
    rememberSecret(clientSecret);
    const idp = await startHostileIdp({ clientId: `mallory-${n}`, clientSecret });
    idps.push(idp);
    const made = await w.as(malloryToken)('POST', `/api/v1/agencies/${X.id}/oidc-connections`, {
      name: 'Mallory', issuer: idp.issuer, client_id: idp.clientId, client_secret: clientSecret,
      domains: [ADMIN_EMAIL.split('@')[1], victimDomain],
    });
    if (made.status !== 201) {
      // Refusing the claim itself is a defence too.
      assert.ok(made.status >= 400 && made.status < 500, made.text);
      return;
    }
    const conn = { ...made.json, browserAddress: '127.0.9.9' };
    const takenOver = [];
    for (const [email, userId, who] of [[ADMIN_EMAIL, adminId, 'the platform admin'], [victim, victimId, 'an owner of agency Y']]) {
      idp.person = { sub: `mallory-as-${randomBytes(6).toString('hex')}`, email, email_verified: true };
      idp.idToken = (grant) => good(grant, idp);
      const r = await attempt(conn);
      canary(idp);
      if (r.session) {
        const me = await w.usher.api('GET', '/api/v1/me', { headers: { Cookie: `${r.session.name}=${r.session.value}` } });
        takenOver.push(`${who} (${me.json?.user?.email})`);
      }
      if (identitiesOf(userId) > 0 && !r.session) takenOver.push(`${who} (identity linked)`);
      if (!r.session) {
        assert.equal(r.targetPath, '/sign-in/problem', `refused as ${email}`);
        // The page tells the owner of the account how to link it: from their own session.
        assert.equal(r.reason, 'account_exists_sign_in_first', `refused as ${email}`);
      }
    }
    assert.deepEqual(takenOver, [], `Mallory's provider signed her in as ${takenOver.join(' and ')}`);
  });

  it('does not let an inviter take over an existing account through an oauth invitation to its address', async () => {
    // Mallory owns agency X, whose connection is her own provider (claiming only her domain).
    // She invites addresses that already have accounts, keeps the links (no email sent) and
    // brings them back through her provider, which names whatever subject she likes.
    n += 1;
    const domain = `x${n}-${randomBytes(3).toString('hex')}.example`;
    const mallory = `mallory@${domain}`;
    const X = await w.agencyNew(admin, `Agency X ${n}`);
    w.grant(w.addUser(mallory), X.id, { roles: 'owner' });
    const malloryToken = await w.signIn(mallory);
    const Y = await w.agencyNew(admin, `Agency Y ${n}`);
    const victim = `vera@y${n}-${randomBytes(3).toString('hex')}.example`;
    const victimId = w.addUser(victim);
    w.grant(victimId, Y.id, { roles: 'owner' });
    const adminId = w.sql(`SELECT id FROM users WHERE email = '${ADMIN_EMAIL}'`).trim();

    const clientSecret = `secret-${randomBytes(16).toString('hex')}`;
    rememberSecret(clientSecret);
    const idp = await startHostileIdp({ clientId: `mallory-${n}`, clientSecret });
    idps.push(idp);
    const made = await w.as(malloryToken)('POST', `/api/v1/agencies/${X.id}/oidc-connections`, {
      name: 'Mallory', issuer: idp.issuer, client_id: idp.clientId, client_secret: clientSecret, domains: [domain],
    });
    assert.equal(made.status, 201, made.text);
    const conn = { ...made.json, browserAddress: '127.0.9.10' };
    const takenOver = [];
    for (const [email, userId, who] of [[ADMIN_EMAIL, adminId, 'the platform admin'], [victim, victimId, 'an owner of agency Y']]) {
      const inv = await w.invite(malloryToken, X.id, { email, sign_in: 'oauth', send_email: false, grants: [{ roles: ['analyst'] }] });
      if (inv.status !== 201) continue; // refusing the invitation is a defence too
      const token = tokenOf(inv.json.url);
      idp.person = { sub: `mallory-as-${randomBytes(6).toString('hex')}`, email: mallory, email_verified: true };
      idp.idToken = (grant) => good(grant, idp);
      const r = await attempt(conn, { query: `&invitation=${encodeURIComponent(token)}` });
      canary(idp);
      if (r.session) {
        const me = await w.usher.api('GET', '/api/v1/me', { headers: { Cookie: `${r.session.name}=${r.session.value}` } });
        takenOver.push(`${who} (${me.json?.user?.email})`);
      } else if (identitiesOf(userId) > 0) {
        takenOver.push(`${who} (identity linked)`);
      } else {
        assert.equal(r.reason, 'account_exists_sign_in_first', `refused for ${email}`);
      }
    }
    assert.deepEqual(takenOver, [], `Mallory's invitations signed her in as ${takenOver.join(' and ')}`);
  });

  // ---- algorithms and signatures -----------------------------------------------------------

  it('refuses alg none, with an empty signature and with one', async () => {
    const fx = await setup();
    const empty = await withToken(fx, (grant, idp) =>
      rawToken({ alg: 'none', typ: 'JWT', kid: idp.keys[0].kid }, idp.claims(grant), ''));
    await assertRefused(empty, 'token_invalid');
    const signed = await withToken(fx, async (grant, idp) => {
      const good = await idp.sign(idp.claims(grant));
      return rawToken({ alg: 'none', typ: 'JWT', kid: idp.keys[0].kid }, idp.claims(grant), good.split('.')[2]);
    });
    await assertRefused(signed, 'token_invalid', 'id_token_alg_refused');
  });

  // The RSA key is published without alg, the case where a verifier that trusts the token's
  // alg would use the key's bytes as an HMAC secret.
  it('refuses HS256 keyed with the RSA public key as PEM text', async () => {
    const fx = await setup({ keys: [await makeKey('RS256', { publishAlg: false })] });
    const pem = await publicPem(fx.idp.keys[0]);
    for (const kid of [fx.idp.keys[0].kid, undefined]) {
      const r = await withToken(fx, (grant, idp) => hmacToken(idp.claims(grant), pem, kid ? { kid } : {}));
      await assertRefused(r, 'token_invalid', 'id_token_alg_refused');
    }
  });

  it('refuses HS256 keyed with the RSA public key as the bytes of its JWK', async () => {
    const fx = await setup({ keys: [await makeKey('RS256', { publishAlg: false })] });
    const jwkText = JSON.stringify(fx.idp.jwks().keys[0]);
    for (const secret of [jwkText, JSON.stringify(fx.idp.jwks()), Buffer.from(fx.idp.keys[0].jwk.n, 'base64url')]) {
      const r = await withToken(fx, (grant, idp) => hmacToken(idp.claims(grant), secret, { kid: idp.keys[0].kid }));
      await assertRefused(r, 'token_invalid', 'id_token_alg_refused');
    }
  });

  it('refuses an algorithm outside the connection\'s list, though the provider publishes its key', async () => {
    const rs = await makeKey('RS256');
    // Without alg in the key set, only the verifier's allow-list stands in the way.
    const es = await makeKey('ES256', { publishAlg: false });
    const fx = await setup({ keys: [rs, es], algorithms: ['RS256'] });
    const r = await withToken(fx, (grant, idp) => idp.sign(idp.claims(grant), es));
    await assertRefused(r, 'token_invalid');
    const ok = await withToken(fx, (grant, idp) => idp.sign(idp.claims(grant), rs));
    await assertSignedIn(ok, fx.email, fx.idp);
  });

  it('refuses an RS256 token whose signature is altered or made by another key under the published kid', async () => {
    const fx = await setup();
    const flipped = await withToken(fx, async (grant, idp) => tamperSignature(await idp.sign(idp.claims(grant))));
    await assertRefused(flipped, 'token_invalid', 'id_token_bad_signature');
    const stranger = await makeKey('RS256', { kid: fx.idp.keys[0].kid });
    const forged = await withToken(fx, (grant, idp) => idp.sign(idp.claims(grant), stranger));
    await assertRefused(forged, 'token_invalid', 'id_token_bad_signature');
  });

  it('refuses an ES256 token whose signature is altered or made by another key under the published kid', async () => {
    const es = await makeKey('ES256');
    const fx = await setup({ keys: [es] });
    const flipped = await withToken(fx, async (grant, idp) => tamperSignature(await idp.sign(idp.claims(grant), es)));
    await assertRefused(flipped, 'token_invalid', 'id_token_bad_signature');
    const stranger = await makeKey('ES256', { kid: es.kid });
    const forged = await withToken(fx, (grant, idp) => idp.sign(idp.claims(grant), stranger));
    await assertRefused(forged, 'token_invalid', 'id_token_bad_signature');
  });

  it('trusts no key published with its private half, and no symmetric key', async () => {
    const leaky = await makeKey('RS256');
    const fx = await setup({ keys: [leaky] });
    // The set holds the private JWK (d, p, q, ...) instead of the public one.
    leaky.jwk = await privateJwk(leaky);
    assert.ok(leaky.jwk.d);
    const r = await withToken(fx, good);
    await assertRefused(r, 'token_invalid', 'oidc_jwks_empty');

    const secret = randomBytes(32);
    const sym = await setup();
    sym.idp.keys[0].jwk = { kty: 'oct', k: secret.toString('base64url'), kid: 'shared', alg: 'HS256', use: 'sig' };
    const h = await withToken(sym, (grant, idp) => hmacToken(idp.claims(grant), secret, { kid: 'shared' }));
    await assertRefused(h, 'token_invalid');
  });

  it('accepts a token without kid when the provider publishes one key', async () => {
    const fx = await setup();
    const r = await withToken(fx, (grant, idp) => idp.sign(idp.claims(grant), idp.keys[0], { kid: null }));
    await assertSignedIn(r, fx.email, fx.idp);
  });

  it('without kid tries each published key of the right type; refuses a key it does not publish', async () => {
    // docs/internals/oidc.md, "Which key": every suitable key is tried, the first that
    // verifies wins; refusing would break providers that omit kid during a rotation.
    const a = await makeKey('RS256');
    const b = await makeKey('RS256');
    const e = await makeKey('ES256');
    const fx = await setup({ keys: [a, b, e] });
    const unpublished = await makeKey('RS256');
    const stranger = await withToken(fx, (grant, idp) => idp.sign(idp.claims(grant), unpublished, { kid: null }));
    await assertRefused(stranger, 'token_invalid');
    // kid names a published key, but another published key signed: that key and no other.
    const crossed = await withToken(fx, (grant, idp) => idp.sign(idp.claims(grant), b, { kid: a.kid }));
    await assertRefused(crossed, 'token_invalid', 'id_token_bad_signature');
    const second = await withToken(fx, (grant, idp) => idp.sign(idp.claims(grant), b, { kid: null }));
    await assertSignedIn(second, fx.email, fx.idp);
    const ec = await withToken(fx, (grant, idp) => idp.sign(idp.claims(grant), e, { kid: null }));
    await assertSignedIn(ec, fx.email, fx.idp);
  });

  // ---- keys: rotation and the refetch limit -------------------------------------------------

  it('limits a flood of tokens with unknown kids to one key-set fetch a minute', async () => {
    const fx = await setup();
    const good = await withToken(fx, (grant, idp) => idp.sign(idp.claims(grant)));
    await assertSignedIn(good, fx.email, fx.idp);
    const fetched = fx.idp.counts['/jwks'];
    assert.equal(fetched, 1);
    const t0 = Date.now();
    fx.idp.idToken = (grant) => fx.idp.sign(fx.idp.claims(grant), fx.idp.keys[0], { kid: `made-up-${randomBytes(8).toString('hex')}` });
    const flood = await Promise.all(Array.from({ length: 24 }, () => attempt(fx.conn)));
    canary(fx.idp);
    const minutes = Math.ceil((Date.now() - t0) / 60000);
    for (const r of flood) await assertRefused(r, 'token_invalid');
    await assertLogged(flood[0], 'id_token_unknown_kid');
    assert.ok(fx.idp.counts['/jwks'] - fetched <= minutes,
      `${fx.idp.counts['/jwks'] - fetched} refetches for 24 unknown kids in ${minutes} minute(s)`);
    // The set usher holds is still the good one.
    const after = await withToken(fx, (grant, idp) => idp.sign(idp.claims(grant)));
    await assertSignedIn(after, fx.email, fx.idp);
  });

  it('picks up a provider that restarted with a new key and kid, without restarting usher', { timeout: 180000 }, async () => {
    const old = await makeKey('RS256');
    const fx = await setup({ keys: [old] });
    const first = await withToken(fx, (grant, idp) => idp.sign(idp.claims(grant)));
    await assertSignedIn(first, fx.email, fx.idp);
    const fetchedAt = Date.now();
    assert.equal(fx.idp.counts['/jwks'], 1);

    const next = await makeKey('RS256');
    await fx.idp.stop();
    fx.idp.keys = [next];
    await fx.idp.restart();
    // Within the minute after the last fetch, the unknown kid is refused without a fetch.
    const early = await withToken(fx, (grant, idp) => idp.sign(idp.claims(grant)));
    await assertRefused(early, 'token_invalid', 'id_token_unknown_kid');
    assert.equal(fx.idp.counts['/jwks'], 1);

    await sleep(Math.max(0, fetchedAt + 62000 - Date.now()));
    const later = await withToken(fx, (grant, idp) => idp.sign(idp.claims(grant)));
    await assertSignedIn(later, fx.email, fx.idp);
    assert.equal(fx.idp.counts['/jwks'], 2, 'one more fetch');
    // The old key is gone from the set usher now holds.
    const stale = await withToken(fx, (grant, idp) => idp.sign(idp.claims(grant), old));
    await assertRefused(stale, 'token_invalid', 'id_token_unknown_kid');
    assert.equal(fx.idp.counts['/jwks'], 2);
  });

  // ---- discovery -------------------------------------------------------------------------

  it('refuses a provider whose discovery names another issuer: the test reports it, sign-in is refused', async () => {
    const fx = await setup();
    fx.idp.discoveryPatch = { issuer: `${fx.idp.issuer}/` };
    const res = await w.as(admin)('POST', `/api/v1/agencies/${fx.agency.id}/oidc-connections/${fx.conn.id}/test`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.ok, false);
    assert.match(res.json.problems.join(' '), /issuer/i);
    const r = await withToken(fx, (grant, idp) => idp.sign(idp.claims(grant)));
    assert.equal(r.session ?? null, null, 'no session');
    assert.equal(fx.idp.counts['/authorize'] ?? 0, 0, 'the browser is not sent to the provider');
    assert.equal(fx.idp.counts['/token'] ?? 0, 0);
    await assertRefused(r, 'idp_unreachable', 'oidc_issuer_mismatch');
  });

  it('does not follow a provider that redirects its discovery document elsewhere', async () => {
    const fx = await setup();
    // The other server would serve a usable document for this issuer, pointing at fx.idp.
    const other = await startHostileIdp({ clientId: fx.idp.clientId, clientSecret: fx.idp.clientSecret });
    idps.push(other);
    other.discovery = () => fx.idp.discovery();
    fx.idp.handlers['/.well-known/openid-configuration'] = async (req, res) => {
      res.writeHead(302, { Location: `${other.base}/.well-known/openid-configuration`, 'Content-Length': 0 });
      res.end();
    };
    const test = await w.as(admin)('POST', `/api/v1/agencies/${fx.agency.id}/oidc-connections/${fx.conn.id}/test`);
    assert.equal(test.status, 200, test.text);
    assert.equal(test.json.ok, false);
    const r = await withToken(fx, (grant, idp) => idp.sign(idp.claims(grant)));
    assert.equal(r.session ?? null, null, 'no session');
    assert.deepEqual(other.counts, {}, 'the redirect was not followed');
    assert.equal(fx.idp.counts['/authorize'] ?? 0, 0);
    await assertRefused(r, 'idp_unreachable', 'oidc_http_redirect');
  });

  it('does not follow a token endpoint that redirects elsewhere', async () => {
    const fx = await setup();
    const other = await startHostileIdp({ clientId: fx.idp.clientId, clientSecret: fx.idp.clientSecret });
    idps.push(other);
    other.grants = fx.idp.grants;
    other.idToken = (grant) => fx.idp.sign(fx.idp.claims(grant));
    fx.idp.handlers['/token'] = async (req, res) => {
      res.writeHead(307, { Location: `${other.base}/token`, 'Content-Length': 0 });
      res.end();
    };
    const r = await attempt(fx.conn);
    await assertRefused(r, 'idp_unreachable', 'oidc_http_redirect');
    assert.deepEqual(other.counts, {}, 'the redirect was not followed');
  });

  it('never fetches an internal address a provider names: cloud metadata, private networks', async () => {
    // Discovery (on loopback, allowed in tests) steers usher's token and key requests inward.
    for (const patch of [
      { token_endpoint: 'https://169.254.169.254/latest/meta-data/iam/security-credentials' },
      { token_endpoint: 'https://10.0.0.5/token' },
      { jwks_uri: 'https://192.168.1.1/jwks' },
    ]) {
      const fx = await setup();
      fx.idp.discoveryPatch = patch;
      const t0 = Date.now();
      const r = await withToken(fx, (grant, idp) => idp.sign(idp.claims(grant)));
      assert.equal(r.session ?? null, null, `no session with ${JSON.stringify(patch)}`);
      await assertRefused(r, 'idp_unreachable', 'oidc_address_refused');
      assert.ok(Date.now() - t0 < 4000, 'refused before any connection attempt');
    }
  });

  it('never fetches from an issuer at an internal address', async () => {
    const fx = await setup();
    const patch = await w.as(admin)('PATCH', `/api/v1/agencies/${fx.agency.id}/oidc-connections/${fx.conn.id}`,
      { issuer: 'https://169.254.169.254' });
    assert.equal(patch.status, 200, patch.text);
    const test = await w.as(admin)('POST', `/api/v1/agencies/${fx.agency.id}/oidc-connections/${fx.conn.id}/test`);
    assert.equal(test.status, 200, test.text);
    assert.equal(test.json.ok, false);
    assert.ok(test.json.problems.length > 0);
    const r = await attempt(fx.conn);
    assert.equal(r.authorize, undefined, 'not sent to a provider');
    await assertRefused(r, 'idp_unreachable', 'oidc_address_refused');
  });

  // ---- errors from the provider ------------------------------------------------------------

  it('answers idp_error when the provider refuses at /authorize, and logs none of its free text', async () => {
    const fx = await setup();
    const description = `canary-description-${randomBytes(8).toString('hex')}`;
    rememberSecret(description);
    fx.idp.handlers['/authorize'] = async (req, res, ctx) => {
      const back = new URL(ctx.query.get('redirect_uri'));
      back.searchParams.set('error', 'access_denied');
      back.searchParams.set('error_description', description);
      back.searchParams.set('state', ctx.query.get('state'));
      res.writeHead(302, { Location: back.toString(), 'Content-Length': 0 });
      res.end();
    };
    const r = await attempt(fx.conn);
    await assertRefused(r, 'idp_error', 'access_denied');
    assert.equal(fx.idp.counts['/token'] ?? 0, 0);
    assert.equal(w.logText().includes(description), false, 'the description is not logged');
  });

  it('answers idp_error when the token endpoint refuses the code, and logs none of its free text', async () => {
    const fx = await setup();
    const description = `canary-description-${randomBytes(8).toString('hex')}`;
    rememberSecret(description);
    fx.idp.handlers['/token'] = async (req, res) => {
      const body = JSON.stringify({ error: 'invalid_grant', error_description: description });
      res.writeHead(400, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    };
    const r = await attempt(fx.conn);
    canary(fx.idp);
    await assertRefused(r, 'idp_error', 'oidc_token_error');
    assert.equal(w.logText().includes(description), false, 'the description is not logged');
  });

  // ---- state and replays -------------------------------------------------------------------

  it('refuses a replayed state: the same callback twice signs in once', async () => {
    const fx = await setup();
    const r = await withToken(fx, (grant, idp) => idp.sign(idp.claims(grant)));
    await assertSignedIn(r, fx.email, fx.idp);
    const tokens = fx.idp.counts['/token'];
    // The browser (or whoever copied the URL and the binding cookie) comes back again.
    const again = await callbackAgain(fx, r.callbackPath, new Map(r.startCookies));
    await assertRefused(again, 'state_invalid');
    assert.equal(fx.idp.counts['/token'], tokens, 'usher did not redeem the code again');
  });

  it('takes a state once when its callback arrives ten times at once, even from a provider that honours a code twice', async () => {
    const fx = await setup();
    fx.idp.reuseCodes = true;
    const a = await attempt(fx.conn, { noCallback: true });
    const answers = await Promise.all(Array.from({ length: 10 }, () => callbackAgain(fx, a.callbackPath, new Map(a.jar))));
    canary(fx.idp);
    const sessions = answers.filter((r) => r.session);
    assert.equal(sessions.length, 1, `sessions: ${sessions.length}; reasons: ${answers.map((r) => r.reason)}`);
    for (const r of answers.filter((x) => !x.session)) assert.equal(r.reason, 'state_invalid');
    assert.equal(fx.idp.counts['/token'], 1, 'the code was redeemed once');
  });

  it('refuses a state brought back by another browser, with no binding cookie or its own', async () => {
    const fx = await setup();
    // Browser A starts and the provider approves; its redirect back is taken elsewhere.
    const a = await attempt(fx.conn, { noCallback: true });
    canary(fx.idp);
    const bare = await callbackAgain(fx, a.callbackPath, new Map());
    await assertRefused(bare, 'state_invalid');
    // Browser B holds a binding cookie of its own sign-in, not of A's state. (The answer
    // clears the binding cookie, so B's own redirect below goes with a copy taken before.)
    const b = await attempt(fx.conn, { noCallback: true });
    canary(fx.idp);
    const crossed = await callbackAgain(fx, a.callbackPath, new Map(b.jar));
    await assertRefused(crossed, 'state_invalid');
    assert.equal(fx.idp.counts['/token'] ?? 0, 0, 'no code was redeemed for another browser');
    // B's own redirect, in B, signs in.
    const own = await callbackAgain(fx, b.callbackPath, b.jar);
    await assertSignedIn(own, fx.email, fx.idp);
  });

  it('refuses a replayed code: an ID token the provider answers twice signs in once', async () => {
    const fx = await setup();
    const first = await withToken(fx, (grant, idp) => idp.sign(idp.claims(grant)));
    await assertSignedIn(first, fx.email, fx.idp);
    const firstCode = new URL(first.callbackPath, w.usher.url).searchParams.get('code');
    const replayed = fx.idp.issued[0];
    // A lax provider that redeems a code twice and hands out the same token again.
    fx.idp.handlers['/token'] = async (req, res, ctx) => {
      const form = new URLSearchParams(ctx.body);
      fx.idp.replayedVerifier = form.get('code_verifier');
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ access_token: 'at', token_type: 'Bearer', id_token: replayed }));
    };
    // A new sign-in in the same browser whose callback carries the first code.
    const second = await attempt(fx.conn, {
      beforeCallback: async (x) => {
        const u = new URL(x.callbackPath, w.usher.url);
        u.searchParams.set('code', firstCode);
        x.callbackPath = u.pathname + u.search;
      },
    });
    await assertRefused(second, 'token_invalid', 'id_token_wrong_nonce');
    const firstVerifier = new URLSearchParams(fx.idp.requests.find((q) => q.path === '/token').body).get('code_verifier');
    assert.notEqual(fx.idp.replayedVerifier, firstVerifier, 'each sign-in has its own PKCE verifier');
    // And the token replayed through an honest-looking new code is refused the same way.
    fx.idp.handlers['/token'] = undefined;
    const third = await withToken(fx, () => replayed);
    await assertRefused(third, 'token_invalid', 'id_token_wrong_nonce');
  });

  // ---- a provider that is down, slow or too talkative --------------------------------------

  it('answers idp_unreachable at once when the provider is down at the callback', async () => {
    const fx = await setup();
    const r = await attempt(fx.conn, { beforeCallback: () => fx.idp.stop() });
    canary(fx.idp);
    await assertRefused(r, 'idp_unreachable', 'oidc_http_failed');
    assert.ok(r.callbackMs < 4000, `answered in ${r.callbackMs} ms`);
  });

  it('does not send the browser anywhere when the provider is down at the start', async () => {
    const fx = await setup();
    await fx.idp.stop();
    const t0 = Date.now();
    const r = await attempt(fx.conn);
    assert.ok(Date.now() - t0 < 4000, `answered in ${Date.now() - t0} ms`);
    assert.equal(r.authorize, undefined, 'not sent to a provider');
    await assertRefused(r, 'idp_unreachable', 'oidc_http_failed');
  });

  it('answers idp_unreachable within usher\'s timeout when the token endpoint stalls', { timeout: 60000 }, async () => {
    const fx = await setup();
    // The answer, a good one, would come after 12 s: only usher's 5 s timeout refuses it.
    fx.idp.handlers['/token'] = async (req, res, ctx) => {
      await sleep(12000);
      if (res.destroyed || req.socket.destroyed) return;
      const form = new URLSearchParams(ctx.body);
      const grant = fx.idp.grants.get(form.get('code'));
      await fx.idp.tokenAnswer(res, grant);
    };
    const r = await attempt(fx.conn);
    canary(fx.idp);
    await assertRefused(r, 'idp_unreachable', 'oidc_http_failed');
    assert.ok(r.callbackMs < 10000, `answered in ${r.callbackMs} ms`);
    assert.ok(r.callbackMs >= 4000, `gave up after only ${r.callbackMs} ms`);
  });

  it('answers idp_unreachable within usher\'s timeout when discovery or the key set stalls', { timeout: 60000 }, async () => {
    // Each stalled answer would be a good one after 12 s.
    const stall = (route) => async (req, res, ctx) => {
      await sleep(12000);
      if (!res.destroyed && !req.socket.destroyed) await route(req, res, ctx);
    };
    const slowStart = await setup();
    const discovery = async (req, res) => {
      const body = JSON.stringify(slowStart.idp.discovery());
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    };
    slowStart.idp.handlers['/.well-known/openid-configuration'] = stall(discovery);
    let t0 = Date.now();
    const r = await attempt(slowStart.conn);
    const startMs = Date.now() - t0;
    await assertRefused(r, 'idp_unreachable', 'oidc_http_failed');
    assert.ok(startMs < 10000 && startMs >= 4000, `the start answered in ${startMs} ms`);

    const slowKeys = await setup();
    const jwks = async (req, res) => {
      const body = JSON.stringify(slowKeys.idp.jwks());
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    };
    slowKeys.idp.handlers['/jwks'] = stall(jwks);
    t0 = Date.now();
    const k = await withToken(slowKeys, (grant, idp) => idp.sign(idp.claims(grant)));
    await assertRefused(k, 'idp_unreachable', 'oidc_http_failed');
    assert.ok(k.callbackMs < 10000 && k.callbackMs >= 4000, `the callback answered in ${k.callbackMs} ms`);
  });

  it('refuses a token answer past 256 KiB, announced or streamed', { timeout: 60000 }, async () => {
    const fx = await setup();
    const pad = 'x'.repeat(1024 * 1024);
    // Announced: Content-Length says 1 MiB and more; the id_token in it is good.
    fx.idp.tokenAnswer = async (res, grant) => {
      const idToken = await fx.idp.sign(fx.idp.claims(grant));
      fx.idp.issued.push(idToken);
      const body = JSON.stringify({ id_token: idToken, access_token: 'at', token_type: 'Bearer', padding: pad });
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    };
    const announced = await attempt(fx.conn);
    canary(fx.idp);
    await assertRefused(announced, 'idp_unreachable', 'oidc_http_too_large');
    // Streamed: no length, 4 MiB in chunks, then the end of a good answer.
    fx.idp.tokenAnswer = async (res, grant) => {
      const idToken = await fx.idp.sign(fx.idp.claims(grant));
      fx.idp.issued.push(idToken);
      let gone = false;
      res.on('close', () => {
        gone = true;
      });
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write(`{"id_token":"${idToken}","token_type":"Bearer","padding":"`);
      for (let i = 0; i < 4 && !gone; i++) {
        if (!res.write(pad)) {
          await new Promise((resolve) => {
            res.once('drain', resolve);
            res.once('close', resolve);
          });
        }
      }
      if (!gone) res.end('"}');
    };
    const streamed = await attempt(fx.conn);
    canary(fx.idp);
    await assertRefused(streamed, 'idp_unreachable', 'oidc_http_too_large');
    assert.ok(streamed.callbackMs < 8000, `answered in ${streamed.callbackMs} ms`);
  });
});
