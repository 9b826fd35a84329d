// Writes the hand-made seed inputs of every fuzz target into tests/fuzz/corpus/<target>/ as
// seed-<name> files. The fuzzer grows each corpus from these; `make fuzz-merge` folds what it
// found back in. Run: node tests/fuzz/seeds.mjs
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const NUL = '\u0000';

const AGENCY = 'agy_fuzzAgencyA00000000000';
const OTHER = 'agy_fuzzAgencyB00000000000';
const ENV = 'env_fuzzEnvA1000000000000';
const ENV2 = 'env_fuzzEnvA2000000000000';
const ENVB = 'env_fuzzEnvB1000000000000';
const BOT = 'bot_fuzzBotA1000000000000';
const INVITE = 'inv_fuzzInviteA0000000000';
const ROLE = 'reviewer';
const OWNER = 'usr_fuzzOwner0000000000000';
const AGENT = 'usr_fuzzAgent0000000000000';

function write(target, name, content) {
  const dir = path.join(here, 'corpus', target);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `seed-${name}`), content);
}


const ISSUER = 'https://idp.example.org';
const IDP_NOW = 1800000000;
const claims = (extra) =>
  JSON.stringify({
    iss: ISSUER,
    sub: '248289761001',
    aud: 'usher-client',
    nonce: 'n-0S6_WzA2Mj',
    iat: IDP_NOW - 10,
    exp: IDP_NOW + 300,
    email: 'ana@example.org',
    email_verified: true,
    ...extra,
  });
const b64url = (s) => Buffer.from(s).toString('base64url');
const discovery = (extra) =>
  JSON.stringify({
    issuer: ISSUER,
    authorization_endpoint: `${ISSUER}/authorize`,
    token_endpoint: `${ISSUER}/token`,
    jwks_uri: `${ISSUER}/jwks`,
    id_token_signing_alg_values_supported: ['RS256', 'ES256'],
    ...extra,
  });
const RSA_N = b64url(Buffer.alloc(256, 0xc3));
const EC_X = b64url(Buffer.alloc(32, 1));
const EC_Y = b64url(Buffer.alloc(32, 2));

const seeds = {
  oidc_discovery: {
    minimal: discovery({}),
    full: discovery({
      end_session_endpoint: `${ISSUER}/logout`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt'],
    }),
    other_issuer: discovery({ issuer: `${ISSUER}/` }),
    http_endpoint: discovery({ token_endpoint: 'http://127.0.0.1:8080/token' }),
    userinfo_url: discovery({ jwks_uri: 'https://a@idp.example.org/jwks' }),
    hs_only: discovery({ id_token_signing_alg_values_supported: ['HS256', 'none'] }),
    url: 'https://idp.example.org:8443/realms/a',
    loopback_url: 'http://[::1]:9000/x',
  },
  oidc_jwks: {
    rsa: JSON.stringify({ keys: [{ kty: 'RSA', kid: 'rs', alg: 'RS256', use: 'sig', n: RSA_N, e: 'AQAB' }] }),
    ec: JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', kid: 'es', x: EC_X, y: EC_Y }] }),
    mixed: JSON.stringify({
      keys: [
        { kty: 'oct', k: 'c2VjcmV0' },
        { kty: 'RSA', n: RSA_N, e: 'AQAB', use: 'enc' },
        { kty: 'RSA', n: RSA_N, e: 'AQAB', d: 'AQAB', kid: 'priv' },
        { kty: 'EC', crv: 'P-384', x: EC_X, y: EC_Y },
        { kty: 'EC', crv: 'P-256', x: EC_X, y: EC_Y, alg: 'RS256' },
        { kty: 'RSA', n: RSA_N, e: 'AQAB', key_ops: ['verify'], alg: 'PS256', kid: 7 },
      ],
    }),
    empty: '{"keys":[]}',
    not_array: '{"keys":{}}',
  },
  oidc_id_token: {
    es256: `{"alg":"ES256","kid":"es"}${NUL}${claims({})}${NUL}x.y.z`,
    rs256_no_kid: `{"alg":"RS256"}${NUL}${claims({ name: 'Ana', given_name: 'Ana' })}${NUL}`,
    aud_array: `{"alg":"ES256"}${NUL}${claims({ aud: ['usher-client', 'other'], azp: 'usher-client' })}${NUL}`,
    expired: `{"alg":"ES256","kid":"es"}${NUL}${claims({ exp: IDP_NOW - 1000 })}${NUL}`,
    wrong_nonce: `{"alg":"ES256","kid":"es"}${NUL}${claims({ nonce: 'other' })}${NUL}`,
    none: `{"alg":"none"}${NUL}${claims({})}${NUL}${b64url('{"alg":"none"}')}.${b64url(claims({}))}.`,
    hs256: `{"alg":"HS256","kid":"rs"}${NUL}${claims({})}${NUL}${b64url('{"alg":"HS256"}')}.${b64url(claims({}))}.AAAA`,
    kid_mismatch: `{"alg":"RS256","kid":"es"}${NUL}${claims({})}${NUL}`,
  },
  oidc_callback_query: {
    code: 'code=SplxlOBeZQQYbYS6WxSbIA&state=af0ifjsldkj',
    error: 'error=access_denied&error_description=User+said%20no&state=s1',
    duplicate: 'code=a&state=b&code=c',
    bad_escape: 'code=a%2&state=%zz',
    control: 'code=a%0Ab&state=b',
    empty: '',
    extras: 'session_state=x&iss=https%3A%2F%2Fidp.example.org&code=c&state=s',
  },
  json_body: {
    object: '{"name":"Acme","email":"a@b.co"}',
    nested: '{"grants":[{"roles":["agent"],"environment_id":"env_x"}],"token":null}',
    duplicate: '{"name":"a","name":"b"}',
    deep: '{"a":'.repeat(20) + '1' + '}'.repeat(20),
    scalar: '"just a string"',
    numbers: '{"roles":-5,"token":1000,"email":1e400,"name":true}',
    unicode: '{"name":"\\u00e9\\ud83d\\ude00","email":"\\u0000"}',
    unknown: '{"is_admin":true,"agency_id":"agy_1"}',
    trailing: '{"name":"x"} {"name":"y"}',
  },
  text: {
    email: 'Someone@Example.COM',
    spaced: '  a.b@c.d  ',
    list: 'a@b.co,c@d.co',
    angle: 'Name <a@b.co>',
    twoat: 'a@b@c.co',
    dots: 'a..b@c.co',
    long: 'x'.repeat(64) + '@' + 'y'.repeat(185) + '.co',
    utf8: 'jos\u00e9@exa\u00f1ple.com',
    control: 'Acme\u0007Corp',
    c1: 'Acme\u0085Corp',
    overlong: Buffer.from([0xc0, 0xaf, 0x41]),
    surrogate: Buffer.from([0xed, 0xa0, 0x80]),
    nul: Buffer.from('a@b.co\u0000x@y.co'),
    name: '  Production 2  ',
    linesep: 'Jean\u2028Luc',
    nel: 'ali\u0085ce@example.com',
    zwsp: 'o\u200bwner',
    rlo: 'Invoice \u202egpj.exe',
    bom: '\ufeffalice@example.com',
    shy: 'Jean\u00adLuc',
    tag: 'Acme\u{e0041}\u{e007f}',
    nonchar: 'Acme\ufffe',
    nbsp: 'alice\u00a0@example.com',
    cyrillic: '\u043ewner',
    shortcode: ' JD-42_x ',
  },
  csv: {
    template: 'email,first_name,last_name,shortcode,environment,roles\r\nolaf.berg@example.com,Olaf,Berg,OB,Production,Agent;Operator\r\n',
    quoted: '"Berg, Jr.","O""Brien","two\r\nlines"\nnext,,\r\n',
    blank: 'a\r\n\r\n\rb',
    unclosed: 'a,"never closed\r\n',
    early: '"closed"early,x\n',
    inner: 'Ol"af,x\n',
    empty_quotes: '"","""",\n',
  },
  cursor: {
    empty: `${NUL}${NUL}${NUL}`,
    limit: `50${NUL}${NUL}name${NUL}`,
    biglimit: `201${NUL}${NUL}-created${NUL}`,
    zeros: `007${NUL}${NUL}-last_active${NUL}`,
    junk: `1${NUL}not-a-cursor${NUL}sideways${NUL}%%%`,
    b64: `10${NUL}MTcwMDAwMDAwMDAwMDphZ3lfMQ${NUL}name${NUL}bmFtZQ`,
  },
  check: {
    one: `{"user_id":"usr_me","permission":"bot.read","environment_id":"${ENV}"}`,
    agency: `{"user_id":"usr_x","permission":"users.invite","agency_id":"${AGENCY}"}`,
    two: `{"user_id":"usr_me","permission":"bot.read","bot_id":"b","agency_id":"a"}`,
    none: '{"user_id":"usr_me","permission":"bot.read"}',
    batch: `{"checks":[{"user_id":"usr_me","permission":"bot.read","bot_id":"${BOT}"},{"user_id":"usr_other","permission":"x","environment_id":"e"}]}`,
    batchbad: '{"checks":[1,"a",null,{}]}',
    extra: '{"user_id":"usr_me","permission":"bot.read","bot_id":"b","is_admin":true}',
  },
  roles: {
    ok: '{"name":"Reviewer","permissions":["bot.read","users.read"]}',
    withid: '{"id":"night_shift","name":"Night shift","permissions":["inbox.reply"]}',
    builtin: '{"name":"Owner","permissions":["bot.read"]}',
    builtinid: '{"id":"owner","name":"Boss","permissions":["bot.read"]}',
    words: '{"name":"Content Manager","permissions":["cms.read"]}',
    cyrillic: '{"id":"\\u043ewner","name":"\\u043ewner","permissions":["bot.read"]}',
    invisible: '{"id":"owner\\u200b","name":"Night\\u2028shift","permissions":["bot.read"]}',
    idlike: '{"name":"CRL_abc","permissions":["bot.read","bot.read"]}',
    unknown: '{"name":"x","permissions":["nope",1,null]}',
    empty: '{"name":"  ","permissions":[]}',
  },
  grants: {
    agency: '{"grants":[{"roles":["agent"]}]}',
    env: `{"grants":[{"environment_id":"${ENV}","roles":["producer"],"extra_permissions":["bot.read"]}]}`,
    bot: `{"grants":[{"bot_id":"${BOT}","roles":["bot_manager"]}]}`,
    custom: `{"grants":[{"roles":["${ROLE}","Reviewer"]}]}`,
    lookalike: '{"grants":[{"roles":["\\u043ewner","owner\\u200b","agent"]}]}',
    foreign: `{"grants":[{"environment_id":"${ENVB}","roles":["agent"]}]}`,
    both: `{"grants":[{"environment_id":"${ENV}","bot_id":"${BOT}","roles":["agent"]}]}`,
    dup: `{"grants":[{"environment_id":"${ENV}","roles":["agent"]},{"environment_id":"${ENV}","roles":[]}]}`,
    emptyenv: `{"grants":[{"environment_id":"${ENV2}","roles":[]}],"allow_empty":true}`,
    scope: `{"grants":[{"bot_id":"${BOT}","roles":["owner"]}]}`,
    junk: '{"grants":[{"roles":"agent"},7,{"is_admin":true}]}',
    none: '{"grants":[],"allow_empty":true}',
  },
  auth_header: {
    bearer: `Bearer fuzz-session-admin-000000000000000000000000${NUL}x`,
    lower: `bearer   fuzz-session-owner-000000000000000000000000${NUL}`,
    apitoken: `Bearer usk_abcdef${NUL}`,
    basic: `Basic dXNlcjpwYXNz${NUL}`,
    padded: `Bearer abc==${NUL}`,
    badchar: `Bearer a b${NUL}`,
    cookie: `fuzz-session-agent-000000000000000000000000${NUL}`,
    long: `Bearer ${'a'.repeat(600)}${NUL}`,
  },
  invitation_link: {
    plain: `${INVITE}${NUL}fuzznonce${NUL}x`,
    empty: `${NUL}${NUL}`,
    long: `inv_${'z'.repeat(300)}${NUL}${'n'.repeat(200)}${NUL}${'t'.repeat(129)}`,
    odd: `inv_#frag?x=1${NUL}../..${NUL}AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`,
  },
  mail_render: {
    plain: `usher@localhost${NUL}a@b.co${NUL}You are invited${NUL}<msg_1@localhost>${NUL}Hello\nOpen {{link}}\n${NUL}<p>Hello</p>`,
    utf8: `usher@localhost${NUL}a@b.co${NUL}Invitation \u00e0 Acm\u00e9 \ud83d\ude00 ${'\u00e9'.repeat(40)}${NUL}<m@x>${NUL}${'long line '.repeat(30)}${NUL}=3D --=_usher_ x`,
    inject: `usher@localhost${NUL}a@b.co\r\nBcc: evil@x.co${NUL}s${NUL}<m@x>${NUL}t${NUL}h`,
    continuation: Buffer.concat([Buffer.from(`f${NUL}t${NUL}`), Buffer.alloc(60, 0x80), Buffer.from(`${NUL}<m>${NUL}x${NUL}y`)]),
    trailing: `f${NUL}t${NUL}s${NUL}<m>${NUL}line with trailing space \nand tab\t\n\r\n${NUL}`,
  },
  router: {
    health: `GET${NUL}/healthz`,
    agency: `GET${NUL}/api/v1/agencies/${AGENCY}`,
    params: `PUT${NUL}/api/v1/agencies/${AGENCY}/users/${OWNER}/grants`,
    head: `HEAD${NUL}/api/v1/agencies`,
    wrong: `PATCH${NUL}/api/v1/agencies`,
    empty: `GET${NUL}/api/v1/agencies//environments`,
    deep: `DELETE${NUL}/api/v1/agencies/a/roles/b/c`,
  },
  config: {
    file: '[usher]\nlisten = 127.0.0.1:9000\ndata_dir = /tmp/x\nthreads = 4\n',
    top: 'listen=0.0.0.0:80\nmax_body_bytes=2048\nlog_level=debug\n',
    bad: '[other]\nlisten = x\n',
    range: 'threads = 9999\n',
    unknown: 'admin_password = secret\n',
    session: 'session_idle_seconds = 100\nsession_absolute_seconds = 10\n',
    syntax: '[usher\n=\n;comment\n# another\nlisten',
    urls: 'public_url = ftp://x\nsmtp_url = smtp://u:p@h:25\ndatabase_url = postgres://h/db\n',
  },
};

const crlf = (lines) => lines.join('\r\n');
// The placeholders the http_request target replaces, with the length of what replaces them, so
// a seed's Content-Length matches the body the server sees.
const expanded = { '@ADMIN_CSRF@': 64, '@OWNER_CSRF@': 64, '@AGENT_CSRF@': 64, '@ADMIN@': 43, '@OWNER@': 43, '@AGENT@': 43, '@INVITE@': 43 };
function sentLength(body) {
  let n = Buffer.byteLength(body);
  for (const [name, len] of Object.entries(expanded)) n += body.split(name).length - 1 === 0 ? 0 : (body.split(name).length - 1) * (len - name.length);
  return n;
}
function req(method, target, { token, cookie, csrf, body, headers = [] } = {}) {
  const h = [`${method} ${target} HTTP/1.1`, 'Host: 127.0.0.1', ...headers];
  if (token) h.push(`Authorization: Bearer ${token}`);
  if (cookie) h.push(`Cookie: __Host-usher_session=${cookie}`);
  if (csrf) h.push(`X-CSRF-Token: ${csrf}`);
  if (body !== undefined) {
    h.push('Content-Type: application/json');
    h.push(`Content-Length: ${sentLength(body)}`);
  }
  return crlf(h) + '\r\n\r\n' + (body ?? '');
}
const admin = { token: '@ADMIN@' };
const owner = { cookie: '@OWNER@', csrf: '@OWNER_CSRF@' };
const agent = { token: '@AGENT@' };
seeds.http_request = {
  health: req('GET', '/healthz'),
  metrics: req('GET', '/metrics'),
  me: req('GET', '/api/v1/me', admin),
  agencies: req('GET', '/api/v1/agencies?limit=2&cursor=abc', admin),
  agency_create: req('POST', '/api/v1/agencies', { ...admin, body: '{"name":"Fuzz Co"}' }),
  env_create: req('POST', `/api/v1/agencies/${AGENCY}/environments`, { ...owner, body: '{"name":"Staging"}' }),
  env_list: req('GET', `/api/v1/agencies/${AGENCY}/environments`, owner),
  bot_create: req('POST', `/api/v1/environments/${ENV}/bots`, { ...owner, body: '{"name":"Greeter"}' }),
  bot_get: req('GET', `/api/v1/bots/${BOT}`, agent),
  foreign: req('GET', `/api/v1/agencies/${OTHER}`, owner),
  roles: req('GET', '/api/v1/roles'),
  custom_role: req('POST', `/api/v1/agencies/${AGENCY}/roles`, { ...owner, body: '{"name":"Auditor","permissions":["audit.read"]}' }),
  role_patch: req('PATCH', `/api/v1/agencies/${AGENCY}/roles/${ROLE}`, { ...owner, body: '{"permissions":["bot.read","users.read"]}' }),
  invite: req('POST', `/api/v1/agencies/${AGENCY}/invitations`, { ...owner, body: `{"email":"x@fuzz.test","first_name":"X","grants":[{"environment_id":"${ENV}","roles":["agent"]}],"expires_in_seconds":3600,"send_email":false}` }),
  invite_list: req('GET', `/api/v1/agencies/${AGENCY}/invitations?status=pending`, owner),
  invite_get: req('GET', `/api/v1/invitations/${INVITE}`, owner),
  invite_link: req('GET', `/api/v1/invitations/${INVITE}/link`, owner),
  lookup: req('POST', '/api/v1/invitations/lookup', { body: '{"token":"@INVITE@"}' }),
  decline: req('POST', '/api/v1/invitations/decline', { body: '{"token":"not-a-token"}' }),
  accept_array: req('POST', '/api/v1/invitations/accept', { body: '{"token":["@INVITE@"],"email":["a@b.co","c@d.co"]}' }),
  check: req('POST', '/api/v1/check', { ...admin, body: `{"user_id":"${AGENT}","permission":"bot.read","bot_id":"${BOT}"}` }),
  batch: req('POST', '/api/v1/check/batch', { ...agent, body: `{"checks":[{"user_id":"${AGENT}","permission":"bot.read","environment_id":"${ENV}"}]}` }),
  effective: req('GET', `/api/v1/users/${AGENT}/effective?environment_id=${ENV}`, owner),
  users: req('GET', `/api/v1/agencies/${AGENCY}/users?sort=-name&search=fu&limit=1`, owner),
  member: req('GET', `/api/v1/agencies/${AGENCY}/users/${AGENT}`, owner),
  grants_put: req('PUT', `/api/v1/agencies/${AGENCY}/users/${AGENT}/grants`, { ...owner, body: `{"grants":[{"environment_id":"${ENV2}","roles":["analyst"]}]}` }),
  member_patch: req('PATCH', `/api/v1/agencies/${AGENCY}/users/${AGENT}`, { ...owner, body: '{"shortcode":"AG1","first_name":"Al"}' }),
  audit: req('GET', `/api/v1/agencies/${AGENCY}/audit?action=invitation.created&limit=5`, owner),
  export: req('GET', `/api/v1/agencies/${AGENCY}/audit/export?format=csv`, owner),
  token_create: req('POST', `/api/v1/agencies/${AGENCY}/tokens`, { ...owner, body: '{"name":"ci"}' }),
  managers: req('GET', `/api/v1/bots/${BOT}/managers`, owner),
  recipients: req('GET', `/api/v1/environments/${ENV}/notification-recipients?permission=bot.read`, owner),
  impersonate: req('POST', '/api/v1/impersonation', { ...admin, body: `{"user_id":"${AGENT}","agency_id":"${AGENCY}","reason":"support"}` }),
  csrf_missing: req('DELETE', `/api/v1/invitations/${INVITE}`, { cookie: '@OWNER@' }),
  method: req('PATCH', '/api/v1/agencies'),
  bad_auth: req('GET', '/api/v1/me', { headers: ['Authorization: Basic Zm9vOmJhcg=='] }),
  cookies: req('GET', '/api/v1/me', { headers: ['Cookie: a=b; __Host-usher_session=@AGENT@; __Host-usher_session=x'] }),
  big_length: req('POST', '/api/v1/agencies', { ...admin, headers: ['Content-Length: 99999999999'] }) ,
  chunked: crlf(['POST /api/v1/agencies HTTP/1.1', 'Host: x', 'Authorization: Bearer @ADMIN@', 'Content-Type: application/json', 'Transfer-Encoding: chunked']) + '\r\n\r\n5\r\n{"nam\r\n9\r\ne":"Zed"}\r\n0\r\n\r\n',
  pipelined: req('GET', '/healthz', { headers: ['Connection: keep-alive'] }) + req('GET', '/api/v1/me', agent),
  query: req('GET', `/api/v1/agencies/${AGENCY}/users?limit=1&limit=2&sort=%00`, owner),
  http10: 'GET /healthz HTTP/1.0\r\n\r\n',
  console: req('GET', '/agencies/x/users'),
  asset: req('HEAD', '/index.html'),
  traversal: req('GET', '/assets/../../etc/passwd'),
  garbage: 'BREW /pot HTTP/9.9\r\nX: \x01\x02\r\n\r\n',
};

// The authority target reads bytes, not text: for the caller and then the member, four grants
// (agency, E1, E2, bot B1 in E1), each a presence byte, a two-byte role mask and a four-byte
// extra-permission mask (big-endian); then one byte that picks the requested grant's scope (low
// two bits), users.manage over users.invite (0x40) and a platform admin caller (0x80); then the
// requested grant's role and extra masks.
const ROLE_BIT = Object.fromEntries(['agent', 'operator', 'content_manager', 'analyst', 'producer', 'developer',
  'environment_manager', 'organisation_manager', 'owner', 'bot_manager'].map((r, i) => [r, 1 << i]));
const ENVIRONMENTS_CREATE = 1 << 19;
const CMS_WRITE = 1 << 7;
function grantBytes(roles = null, extra = 0) {
  const b = Buffer.alloc(7);
  if (roles === null) return b;
  b[0] = 1;
  b.writeUInt16BE(roles, 1);
  b.writeUInt32BE(extra >>> 0, 3);
  return b;
}
function authority({ caller = [], member = [], pick = 0, roles = 0, extra = 0 }) {
  const four = (list) => [0, 1, 2, 3].map((i) => grantBytes(...(list[i] || [null])));
  const tail = Buffer.alloc(7);
  tail[0] = pick;
  tail.writeUInt16BE(roles, 1);
  tail.writeUInt32BE(extra >>> 0, 3);
  return Buffer.concat([...four(caller), ...four(member), tail]);
}
seeds.authority = {
  // An environment manager (with Operator) on E1 invites a producer into E1 (rule 4) ...
  envmgr_producer: authority({ caller: [null, [ROLE_BIT.environment_manager | ROLE_BIT.operator]], pick: 1, roles: ROLE_BIT.producer }),
  // ... but not an organisation manager's authority, not at agency scope, not in E2.
  envmgr_create: authority({ caller: [null, [ROLE_BIT.environment_manager]], pick: 1, roles: ROLE_BIT.agent, extra: ENVIRONMENTS_CREATE }),
  envmgr_agency: authority({ caller: [null, [ROLE_BIT.environment_manager]], pick: 0, roles: ROLE_BIT.agent }),
  envmgr_other_env: authority({ caller: [null, [ROLE_BIT.environment_manager]], pick: 2, roles: ROLE_BIT.content_manager, extra: CMS_WRITE }),
  org_owner: authority({ caller: [[ROLE_BIT.organisation_manager]], member: [[ROLE_BIT.owner]], pick: 0x40, roles: ROLE_BIT.owner }),
  owner_owner: authority({ caller: [[ROLE_BIT.owner]], member: [[ROLE_BIT.owner]], pick: 0x40, roles: ROLE_BIT.owner }),
  bot_delegate: authority({ caller: [null, [ROLE_BIT.environment_manager]], member: [null, null, null, [ROLE_BIT.bot_manager]], pick: 3, roles: ROLE_BIT.bot_manager }),
  admin: authority({ member: [[ROLE_BIT.owner]], pick: 0x80 | 0x40, roles: ROLE_BIT.owner }),
  override_lowers: authority({ caller: [[ROLE_BIT.organisation_manager], [ROLE_BIT.agent]], member: [[ROLE_BIT.agent]], pick: 0x41, roles: ROLE_BIT.operator }),
};

let count = 0;
for (const [target, inputs] of Object.entries(seeds)) {
  for (const [name, content] of Object.entries(inputs)) {
    write(target, name, content);
    count++;
  }
}
console.log(`wrote ${count} seeds for ${Object.keys(seeds).length} targets`);
