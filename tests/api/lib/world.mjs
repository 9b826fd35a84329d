// A running usher with a platform admin, a real SMTP server it delivers to, and the steps the
// invitation tests repeat: SQL on the server's database (SQLite or PostgreSQL), signing in, creating agencies and
// environments, inviting and reading the invitation email.
import assert from 'node:assert/strict';
import path from 'node:path';

import { startUsher } from './harness.mjs';
import { linkIn, startSmtp, tokenOf } from './smtp.mjs';

export const ADMIN_EMAIL = 'provider@studio.example';
export const PASSWORD = 'canary-password-invite-5c1d';

export function assertProblem(res, status, code, field) {
  assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status}: ${res.text}`);
  assert.match(res.headers['content-type'] || '', /^application\/problem\+json/);
  assert.equal(res.json.code, code, `code of ${res.text}`);
  if (field !== undefined) assert.equal(res.json.field, field, `field of ${res.text}`);
}

export async function startWorld({ env = {} } = {}) {
  const smtp = await startSmtp();
  const usher = await startUsher({
    env: {
      USHER_ADMIN_EMAIL: ADMIN_EMAIL,
      USHER_ADMIN_PASSWORD: PASSWORD,
      USHER_SMTP_URL: smtp.url,
      USHER_SMTP_FROM: 'studio@studio.example',
      ...env,
    },
  });
  // Every session token, link token and password a test sees, for the log canary.
  const secrets = new Set([PASSWORD]);

  // Runs SQL on the server's database with foreign keys enforced (so deletes cascade as they
  // would in the server), while the server runs; the harness's sqlIn says what it returns.
  // The SQLite file of the server (on SQLite runs; PostgreSQL runs use usher.databaseUrl).
  const db = path.join(usher.dataDir, 'usher.db');
  const sql = (text) => usher.sql(text);
  // Every table's rows, to compare before and after (see the harness's snapshotOf).
  const snapshot = () => usher.snapshot();

  // A user who signs in with PASSWORD (the admin's hash is copied: no slow hash here).
  function addUser(email, key = email.replace(/[^a-z0-9]/gi, '_')) {
    const id = `usr_t_${key}`;
    sql(`INSERT INTO users (id, email, password_hash, created_at)
         SELECT '${id}', '${email}', password_hash, 1 FROM users WHERE email = '${ADMIN_EMAIL}'`);
    return id;
  }

  // Gives userId a grant in agencyId (a membership too), written straight into the tables.
  function grant(userId, agencyId, { environmentId = null, roles = '' } = {}) {
    const scope = environmentId || agencyId;
    const q = (v) => (v === null ? 'NULL' : `'${v}'`);
    sql(`INSERT INTO memberships (agency_id, user_id, created_at)
           VALUES ('${agencyId}', '${userId}', 1) ON CONFLICT DO NOTHING;
         INSERT INTO grants (id, agency_id, user_id, environment_id, bot_id, scope_id, roles,
                             extra_permissions, created_at)
           VALUES ('grt_${userId}_${scope}', '${agencyId}', '${userId}', ${q(environmentId)},
                   NULL, '${scope}', '${roles}', '', 1);`);
  }

  // Removes userId from agencyId: the membership and every grant there.
  function removeMember(userId, agencyId) {
    sql(`DELETE FROM grants WHERE agency_id = '${agencyId}' AND user_id = '${userId}';
         DELETE FROM memberships WHERE agency_id = '${agencyId}' AND user_id = '${userId}';`);
  }

  async function signIn(email, password = PASSWORD) {
    const res = await usher.api('POST', '/api/v1/sessions', { body: { email, password } });
    assert.ok(res.status === 200 || res.status === 201, `sign-in as ${email}: ${res.status} ${res.json?.code}`);
    secrets.add(res.json.token);
    return res.json.token;
  }

  // A function calling the API as the holder of token (anonymous when token is undefined).
  const as = (token) => (method, urlPath, body) => usher.api(method, urlPath, { token, body });

  async function created(res, what) {
    assert.equal(res.status, 201, `${what}: ${res.text}`);
    return res.json;
  }

  const agencyNew = (token, name) =>
    as(token)('POST', '/api/v1/agencies', { name }).then((r) => created(r, `agency ${name}`));
  const environmentNew = (token, agencyId, name) =>
    as(token)('POST', `/api/v1/agencies/${agencyId}/environments`, { name }).then((r) =>
      created(r, `environment ${name}`));

  // POST /agencies/{id}/invitations; resolves the raw answer (the url's token is remembered).
  async function invite(token, agencyId, body) {
    const res = await as(token)('POST', `/api/v1/agencies/${agencyId}/invitations`, body);
    if (res.json?.url) secrets.add(tokenOf(res.json.url));
    return res;
  }

  // Waits for the n-th message to email and returns {message, url, token} read from it.
  async function mailLink(email, n = 1) {
    const message = await smtp.waitFor(email, n);
    const url = linkIn(message.parsed);
    const token = tokenOf(url);
    secrets.add(token);
    return { message, url, token };
  }

  // Accepts anonymously as a new user; resolves the raw answer (its session is remembered).
  async function acceptNew(token, password = PASSWORD, extra = {}) {
    const res = await usher.api('POST', '/api/v1/invitations/accept', { body: { token, password, ...extra } });
    if (res.json?.token) secrets.add(res.json.token);
    return res;
  }

  // The log lines and stderr of the server as one string.
  const logText = () => usher.logs.map((l) => JSON.stringify(l)).join('\n') + usher.stderr.join('\n');

  async function stop() {
    const code = await usher.stop();
    await smtp.close();
    return code;
  }

  return {
    usher, smtp, db, sql, snapshot, addUser, grant, removeMember, signIn, as, agencyNew, environmentNew,
    invite, mailLink, acceptNew, secrets, logText, stop,
  };
}
