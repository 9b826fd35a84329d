// A hostile OpenID provider for black-box tests of usher's relying party: a real HTTP server on
// 127.0.0.1 at a port chosen at run time, serving discovery, its key set, an authorization
// endpoint that approves at once (as a real IdP does once its user has signed in), a token
// endpoint and an end-session endpoint. Every answer can be replaced per test, every request is
// counted, and the ID tokens it hands out are signed with jose, or forged, as the case demands.
//
// By default it behaves like a strict, honest IdP: it checks usher's authorization request
// (response_type, scope, state, nonce, S256 challenge), and at the token endpoint the client's
// credentials, the redirect_uri, the PKCE verifier and that a code is used once; whatever usher
// got wrong is listed in idp.problems and answered with an OAuth error.
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

import * as jose from 'jose';

const b64url = (buf) => Buffer.from(buf).toString('base64url');
const json64 = (value) => b64url(JSON.stringify(value));

// A new signing key pair for alg (RS256, PS256, ES256, ...) with its public JWK: kty, its
// public members, kid, use "sig" and, unless publishAlg is false, alg.
export async function makeKey(alg, { kid = `${alg.toLowerCase()}-${randomBytes(6).toString('hex')}`, publishAlg = true } = {}) {
  const { publicKey, privateKey } = await jose.generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await jose.exportJWK(publicKey)), kid, use: 'sig' };
  if (publishAlg) jwk.alg = alg;
  return { alg, kid, publicKey, privateKey, jwk };
}

// Signs payload as a compact JWS with key. header members are added to {alg, typ, kid};
// kid: null leaves kid out; alg picks another JWS algorithm for the same key (e.g. PS256 with
// an RS256 key pair).
export async function signToken(payload, key, { alg = key.alg, kid = key.kid, header = {} } = {}) {
  const h = { alg, typ: 'JWT', ...header };
  if (kid !== null && kid !== undefined) h.kid = kid;
  return new jose.SignJWT(payload).setProtectedHeader(h).sign(key.privateKey);
}

// A token whose header and payload are these objects and whose signature part is sig as given
// (already base64url): for alg "none" and other forgeries no library will sign.
export function rawToken(header, payload, sig = '') {
  return `${json64(header)}.${json64(payload)}.${sig}`;
}

// HS256 over header.payload keyed by secret (bytes or text): the "public key as HMAC secret"
// forgery. header gets alg HS256 and typ JWT unless it says otherwise.
export async function hmacToken(payload, secret, header = {}) {
  const bytes = typeof secret === 'string' ? new TextEncoder().encode(secret) : new Uint8Array(secret);
  return new jose.SignJWT(payload).setProtectedHeader({ alg: 'HS256', typ: 'JWT', ...header }).sign(bytes);
}

// token with one bit of its signature flipped (the header and payload unchanged).
export function tamperSignature(token) {
  const [h, p, s] = token.split('.');
  const sig = Buffer.from(s, 'base64url');
  sig[sig.length >> 1] ^= 0x01;
  return `${h}.${p}.${b64url(sig)}`;
}

// The JWK of a key's private half (d, p, q, ... included), as a careless IdP might publish it.
export async function privateJwk(key) {
  return { ...(await jose.exportJWK(key.privateKey)), kid: key.kid, alg: key.alg, use: 'sig' };
}

// The PEM (SubjectPublicKeyInfo) text of a key's public half.
export function publicPem(key) {
  return jose.exportSPKI(key.publicKey);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res, status, value, headers = {}) {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

// Starts a provider. Options: keys (signing keys from makeKey; default one RS256 key), clientId
// and clientSecret (what usher must authenticate with), port (0: any free one).
// Resolves the provider object:
//   issuer, base          'http://127.0.0.1:<port>' (the issuer has no path and no slash)
//   keys                  the keys the JWKS publishes and keys[0] signs with (replaceable)
//   person                {sub, email, email_verified} put in the default claims
//   counts                requests per path ('/jwks', '/token', ...)
//   requests              [{method, path, query, headers, body}] of every request
//   problems              what the IdP found wrong in usher's requests
//   grants                code -> the authorization request it was issued for
//   discovery()           the discovery document it serves (patch with discoveryPatch)
//   claims(grant)         the claims of an honest ID token for this grant
//   idToken(grant)        async: the ID token /token hands out (replace per test)
//   handlers[path]        async (req, res, ctx) replacing an endpoint; ctx = {body, query}
//   codeFor(params)       the code /authorize issues (replace to hand out the same code twice)
//   reuseCodes            when true, a code is honoured more than once
//   sign(payload, key, o) signToken bound to this provider's keys[0] by default
//   stop()                stops listening (connections then are refused)
//   restart()             listens again on the same port (after stop, or in one go)
export async function startHostileIdp({ keys, clientId = 'usher-client', clientSecret = 'client-secret', port = 0 } = {}) {
  const idp = {
    clientId,
    clientSecret,
    keys: keys || [await makeKey('RS256')],
    person: { sub: 'subject-1', email: 'someone@example.test', email_verified: true },
    counts: {},
    requests: [],
    problems: [],
    grants: new Map(),
    handlers: {},
    discoveryPatch: {},
    reuseCodes: false,
    cacheControl: 'max-age=3600',
  };

  idp.discovery = () => ({
    issuer: idp.issuer,
    authorization_endpoint: `${idp.base}/authorize`,
    token_endpoint: `${idp.base}/token`,
    jwks_uri: `${idp.base}/jwks`,
    end_session_endpoint: `${idp.base}/end_session`,
    response_types_supported: ['code'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256', 'PS256', 'ES256'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    scopes_supported: ['openid', 'email', 'profile'],
    code_challenge_methods_supported: ['S256'],
    claims_supported: ['sub', 'email', 'email_verified', 'name'],
    ...idp.discoveryPatch,
  });

  idp.jwks = () => ({ keys: idp.keys.map((k) => k.jwk) });

  idp.claims = (grant) => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: idp.issuer, aud: idp.clientId, sub: idp.person.sub, iat: now, exp: now + 300, name: 'Ada Lovelace' };
    if (grant?.nonce !== undefined) claims.nonce = grant.nonce;
    if (idp.person.email !== undefined) claims.email = idp.person.email;
    if (idp.person.email_verified !== undefined) claims.email_verified = idp.person.email_verified;
    return claims;
  };

  idp.sign = (payload, key = idp.keys[0], opts = {}) => signToken(payload, key, opts);
  idp.idToken = (grant) => idp.sign(idp.claims(grant));
  idp.codeFor = () => b64url(randomBytes(24));

  // The answer of the token endpoint for a grant that passed every check.
  idp.tokenAnswer = async (res, grant) => {
    const idToken = await idp.idToken(grant);
    idp.issued.push(idToken);
    sendJson(res, 200, { access_token: b64url(randomBytes(24)), token_type: 'Bearer', expires_in: 300, id_token: idToken },
      { 'Cache-Control': 'no-store' });
  };
  // Every ID token handed out, in order.
  idp.issued = [];

  function problem(text) {
    idp.problems.push(text);
  }

  async function authorize(req, res, ctx) {
    const q = ctx.query;
    const want = (name, test, why) => {
      if (!test(q.get(name))) problem(`authorize: ${name} ${why}`);
    };
    want('response_type', (v) => v === 'code', 'is not "code"');
    want('client_id', (v) => v === idp.clientId, 'is not the client id');
    want('scope', (v) => typeof v === 'string' && v.split(' ').includes('openid'), 'lacks openid');
    want('state', (v) => typeof v === 'string' && v.length >= 32, 'is missing or short');
    want('nonce', (v) => typeof v === 'string' && v.length >= 32, 'is missing or short');
    want('code_challenge', (v) => typeof v === 'string' && /^[A-Za-z0-9_-]{43}$/.test(v), 'is not an S256 challenge');
    want('code_challenge_method', (v) => v === 'S256', 'is not S256');
    const redirectUri = q.get('redirect_uri');
    if (!redirectUri) {
      problem('authorize: no redirect_uri');
      sendJson(res, 400, { error: 'invalid_request' });
      return;
    }
    const grant = {
      state: q.get('state'),
      nonce: q.get('nonce'),
      redirect_uri: redirectUri,
      code_challenge: q.get('code_challenge'),
      scope: q.get('scope'),
      used: 0,
    };
    const code = idp.codeFor(grant);
    grant.code = code;
    idp.grants.set(code, grant);
    const back = new URL(redirectUri);
    back.searchParams.set('code', code);
    if (grant.state !== null) back.searchParams.set('state', grant.state);
    res.writeHead(302, { Location: back.toString(), 'Content-Length': 0 });
    res.end();
  }

  // The client's credentials from HTTP Basic (each part form-urlencoded, RFC 6749 2.3.1) or
  // from the form.
  function clientOf(req, form) {
    const auth = req.headers.authorization || '';
    const m = /^Basic ([A-Za-z0-9+/=]+)$/.exec(auth);
    if (m) {
      const text = Buffer.from(m[1], 'base64').toString('utf8');
      const colon = text.indexOf(':');
      const dec = (s) => decodeURIComponent(s.replace(/\+/g, ' '));
      return { id: dec(text.slice(0, colon)), secret: dec(text.slice(colon + 1)) };
    }
    return { id: form.get('client_id'), secret: form.get('client_secret') };
  }

  async function token(req, res, ctx) {
    const form = new URLSearchParams(ctx.body);
    const client = clientOf(req, form);
    if (client.id !== idp.clientId || client.secret !== idp.clientSecret) {
      problem('token: wrong client credentials');
      sendJson(res, 401, { error: 'invalid_client' });
      return;
    }
    if (form.get('grant_type') !== 'authorization_code') {
      problem('token: grant_type is not authorization_code');
      sendJson(res, 400, { error: 'unsupported_grant_type' });
      return;
    }
    const grant = idp.grants.get(form.get('code'));
    if (!grant) {
      problem('token: unknown code');
      sendJson(res, 400, { error: 'invalid_grant' });
      return;
    }
    if (grant.used > 0 && !idp.reuseCodes) {
      problem('token: code used twice');
      sendJson(res, 400, { error: 'invalid_grant' });
      return;
    }
    if (form.get('redirect_uri') !== grant.redirect_uri) {
      problem('token: redirect_uri differs from the authorization request');
      sendJson(res, 400, { error: 'invalid_grant' });
      return;
    }
    const verifier = form.get('code_verifier') || '';
    if (b64url(createHash('sha256').update(verifier).digest()) !== grant.code_challenge) {
      problem('token: code_verifier does not match the challenge');
      sendJson(res, 400, { error: 'invalid_grant' });
      return;
    }
    grant.used += 1;
    await idp.tokenAnswer(res, grant);
  }

  const routes = {
    '/.well-known/openid-configuration': async (req, res) =>
      sendJson(res, 200, idp.discovery(), { 'Cache-Control': idp.cacheControl }),
    '/jwks': async (req, res) => sendJson(res, 200, idp.jwks(), { 'Cache-Control': idp.cacheControl }),
    '/authorize': authorize,
    '/token': token,
    '/end_session': async (req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><title>Signed out</title><p>Signed out.</p>');
    },
  };

  async function handle(req, res) {
    const url = new URL(req.url, idp.base);
    const body = await readBody(req);
    const ctx = { body, query: url.searchParams };
    idp.counts[url.pathname] = (idp.counts[url.pathname] || 0) + 1;
    idp.requests.push({ method: req.method, path: url.pathname, query: url.search, headers: req.headers, body });
    const handler = idp.handlers[url.pathname] || routes[url.pathname];
    if (!handler) {
      sendJson(res, 404, { error: 'not_found' });
      return;
    }
    try {
      await handler(req, res, ctx);
    } catch (e) {
      problem(`${url.pathname}: handler threw ${e.message}`);
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error' });
      else res.destroy();
    }
  }

  let server = null;
  const sockets = new Set();

  function listen(at) {
    return new Promise((resolve, reject) => {
      const s = http.createServer((req, res) => {
        handle(req, res).catch(() => res.destroy());
      });
      s.on('connection', (sock) => {
        sockets.add(sock);
        sock.on('close', () => sockets.delete(sock));
      });
      s.once('error', reject);
      s.listen(at, '127.0.0.1', () => {
        server = s;
        resolve(s.address().port);
      });
    });
  }

  idp.port = await listen(port);
  idp.base = `http://127.0.0.1:${idp.port}`;
  idp.issuer = idp.base;

  idp.stop = async () => {
    if (!server) return;
    const s = server;
    server = null;
    const closed = new Promise((resolve) => s.close(resolve));
    for (const sock of sockets) sock.destroy();
    await closed;
  };
  // Stops (if running) and listens again on the same port, as an IdP that restarts.
  idp.restart = async () => {
    await idp.stop();
    for (let i = 0; ; i++) {
      try {
        await listen(idp.port);
        return;
      } catch (e) {
        if (e.code !== 'EADDRINUSE' || i >= 50) throw e;
        await sleep(100);
      }
    }
  };
  idp.close = idp.stop;
  return idp;
}
