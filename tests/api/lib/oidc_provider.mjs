// A real OpenID provider for the sign-in tests: the npm package oidc-provider on 127.0.0.1 at a
// port chosen at start, with an RSA and a P-256 key made at start, clients registered with
// usher's redirect_uri (one signing ID tokens with RS256, one with ES256), and its development
// interactions, which log anyone in whose login is the subject. `signIn` drives those pages
// headlessly with fetch and a cookie jar: the authorization URL, the login form, the consent
// form, then the redirect back to usher's callback, which it returns without following.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';

import Provider from 'oidc-provider';

function privateJwk(keyPair, kid, alg) {
  return { ...keyPair.privateKey.export({ format: 'jwk' }), kid, alg, use: 'sig' };
}

// Starts a provider. redirectUri is usher's callback; accounts maps a login (the subject) to
// its claims ({email, email_verified, given_name, family_name}); an unknown login gets none.
export async function startProvider({ redirectUri, postLogoutRedirectUri }) {
  const server = http.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const accounts = new Map();
  const clients = {
    rs256: { client_id: `rs-${randomBytes(4).toString('hex')}`, client_secret: randomBytes(24).toString('base64url') },
    es256: { client_id: `es-${randomBytes(4).toString('hex')}`, client_secret: randomBytes(24).toString('base64url') },
  };
  const provider = new Provider(issuer, {
    clients: [
      { ...clients.rs256, id_token_signed_response_alg: 'RS256' },
      { ...clients.es256, id_token_signed_response_alg: 'ES256' },
    ].map((c) => ({
      ...c,
      redirect_uris: [redirectUri],
      post_logout_redirect_uris: [postLogoutRedirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    jwks: { keys: [privateJwk(rsa, 'rsa-1', 'RS256'), privateJwk(ec, 'ec-1', 'ES256')] },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['given_name', 'family_name'] },
    // The claims go in the ID token itself: usher reads nothing from the userinfo endpoint.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
    async findAccount(ctx, sub) {
      return { accountId: sub, claims: async () => ({ sub, ...(accounts.get(sub) || {}) }) };
    },
  });
  // Its warnings about development settings are expected here.
  provider.on('server_error', (ctx, err) => process.stderr.write(`oidc-provider: ${err.stack}\n`));
  server.on('request', provider.callback());

  // Follows the provider's pages for login (the subject) from authorizationUrl until the
  // redirect leaves the provider; returns that Location (usher's callback URL).
  async function signIn(authorizationUrl, login) {
    const jar = new Map();
    const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const keep = (res) => {
      for (const c of res.headers.getSetCookie()) {
        const [pair] = c.split(';');
        const at = pair.indexOf('=');
        jar.set(pair.slice(0, at), pair.slice(at + 1));
      }
    };
    let url = authorizationUrl;
    let method = 'GET';
    let body;
    for (let step = 0; step < 12; step++) {
      const res = await fetch(url, {
        method,
        body,
        redirect: 'manual',
        headers: { cookie: cookieHeader(), ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      });
      keep(res);
      if (res.status >= 300 && res.status < 400) {
        const next = new URL(res.headers.get('location'), url).href;
        if (!next.startsWith(issuer)) return next;
        url = next;
        method = 'GET';
        body = undefined;
        continue;
      }
      const html = await res.text();
      const action = /<form[^>]*action="([^"]+)"/.exec(html);
      if (!action) throw new Error(`provider page without a form (${res.status}): ${html.slice(0, 300)}`);
      const prompt = /name="prompt" value="([^"]+)"/.exec(html)?.[1];
      const form = new URLSearchParams({ prompt });
      if (prompt === 'login') {
        form.set('login', login);
        form.set('password', 'any');
      }
      url = new URL(action[1].replace(/&amp;/g, '&'), url).href;
      method = 'POST';
      body = form.toString();
    }
    throw new Error('the provider did not send the browser back');
  }

  return {
    issuer,
    port,
    clients,
    accounts,
    signIn,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}
