// Erasing an account (docs/rules.md, Accounts; docs/internals/audit.md, Erasure): a person
// deletes their own with their password, a platform admin erases someone's by typing their
// address. The account, its sessions, grants and memberships, the invitations, password-reset
// requests and messages of its address go at once, decisions deny at once, the audit log keeps
// only the pseudonymous id (marked deleted) and `usher audit verify` still says intact; while
// someone who edits or deletes a personal-data row behind usher's back is caught.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { copyData, runUsher, sqlIn } from './lib/harness.mjs';
import { tokenOf } from './lib/smtp.mjs';
import { ADMIN_EMAIL, PASSWORD, assertProblem, startWorld } from './lib/world.mjs';

const shown = (res) => `${res.status} ${res.text}`;
const verify = (dir) => runUsher(['audit', 'verify', '--data-dir', dir]);

describe('erasing an account', () => {
  let w;
  const tok = {};
  const ids = {};
  const fx = {};

  const count = (text) => Number(w.sql(text).trim());

  // A person invited into agencyId with grants who accepts through the link.
  async function person(key, agencyId, grants, { first = '', last = '' } = {}) {
    const email = `${key}@acme.example`;
    const inv = await w.invite(tok.admin, agencyId, { email, first_name: first, last_name: last, grants, send_email: false });
    assert.equal(inv.status, 201, shown(inv));
    const acc = await w.acceptNew(tokenOf(inv.json.url));
    assert.equal(acc.status, 201, shown(acc));
    ids[key] = acc.json.user.id;
    tok[key] = acc.json.token;
    return ids[key];
  }

  async function allowed(userId) {
    const res = await w.as(fx.apiToken)('POST', '/api/v1/check', {
      user_id: userId, permission: 'inbox.reply', environment_id: fx.E1.id,
    });
    assert.equal(res.status, 200, shown(res));
    return res.json.allowed;
  }

  // Every entry of an agency's audit log as the admin reads it, page after page, and the raw
  // text of every page and of the NDJSON and CSV exports.
  async function auditOf(agencyId) {
    const items = [];
    let raw = '';
    let cursor = null;
    do {
      const qs = new URLSearchParams({ limit: '200' });
      if (cursor) qs.set('cursor', cursor);
      const res = await w.as(tok.admin)('GET', `/api/v1/agencies/${agencyId}/audit?${qs}`);
      assert.equal(res.status, 200, shown(res));
      raw += res.text;
      items.push(...res.json.items);
      cursor = res.json.next_cursor ?? null;
    } while (cursor);
    for (const format of ['ndjson', 'csv']) {
      const res = await w.as(tok.admin)('GET', `/api/v1/agencies/${agencyId}/audit/export?format=${format}`);
      assert.equal(res.status, 200, shown(res));
      raw += res.text;
    }
    return { items, raw };
  }

  const deleteMe = (token, body) => w.as(token)('DELETE', '/api/v1/me', body);
  const erase = (token, userId, confirm) => w.as(token)('DELETE', `/api/v1/users/${userId}`, { confirm });
  const signInRaw = (email, password = PASSWORD) =>
    w.usher.api('POST', '/api/v1/sessions', { body: { email, password } });

  before(async () => {
    w = await startWorld();
    tok.admin = await w.signIn(ADMIN_EMAIL);
    ids.admin = (await w.as(tok.admin)('GET', '/api/v1/me')).json.user.id;
    fx.A = await w.agencyNew(tok.admin, 'Acme');
    fx.B = await w.agencyNew(tok.admin, 'Globex');
    fx.C = await w.agencyNew(tok.admin, 'Initech');
    fx.E1 = await w.environmentNew(tok.admin, fx.A.id, 'Acme – production');
    await person('olga', fx.A.id, [{ roles: ['owner'] }], { first: 'Olga', last: 'Ownerhouse' });
    await person('erin', fx.A.id, [{ environment_id: fx.E1.id, roles: ['agent'] }],
      { first: 'Erinna', last: 'Quillfeather' });
    await person('pete', fx.A.id, [{ environment_id: fx.E1.id, roles: ['agent'] }],
      { first: 'Peregrin', last: 'Tookbottom' });
    // Erin belongs to Globex too, and has a pending invitation into Initech (emailed).
    const inv = await w.invite(tok.admin, fx.B.id, { email: 'erin@acme.example', grants: [{ roles: ['analyst'] }], send_email: false });
    assert.equal(inv.status, 201, shown(inv));
    const joined = await w.as(tok.erin)('POST', '/api/v1/invitations/accept', { token: tokenOf(inv.json.url) });
    assert.equal(joined.status, 200, shown(joined));
    const pending = await w.invite(tok.admin, fx.C.id, { email: 'erin@acme.example', grants: [{ roles: ['analyst'] }], send_email: true });
    assert.equal(pending.status, 201, shown(pending));
    // Her names changed once, a sign-in failed, and she asked for a password reset (emailed).
    const named = await w.as(tok.erin)('PATCH', '/api/v1/me', { first_name: 'Erinnah' });
    assert.equal(named.status, 200, shown(named));
    assert.equal((await signInRaw('erin@acme.example', 'not-her-password-at-all')).status, 401);
    const reset = await w.usher.api('POST', '/api/v1/password-resets', { body: { email: 'erin@acme.example' } });
    assert.equal(reset.status, 202, shown(reset));
    const made = await w.as(tok.admin)('POST', '/api/v1/tokens', { name: 'checks' });
    assert.equal(made.status, 201, shown(made));
    fx.apiToken = made.json.token;
    w.secrets.add(fx.apiToken);
  });

  after(async () => {
    assert.equal(await w.stop(), 0);
  });

  it('keeps email addresses and names out of the entries themselves, and shows them merged back', async () => {
    // Stored details hold no address or name; the personal rows do.
    assert.equal(count(`SELECT COUNT(*) FROM audit_log WHERE details LIKE '%erin@acme.example%' OR details LIKE '%Erinna%'`), 0);
    assert.ok(count(`SELECT COUNT(*) FROM audit_personal WHERE email = 'erin@acme.example'`) >= 3);
    assert.equal(count('SELECT COUNT(*) FROM audit_log WHERE format <> 2'), 0);
    const { items } = await auditOf(fx.A.id);
    const created = items.find((e) => e.action === 'invitation.created' && e.details.email === 'erin@acme.example');
    assert.ok(created, 'the invitation entry shows the address it concerns');
    assert.equal(created.actor_deleted, false);
    const ok = await verify(w.usher.dataDir);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  });

  it('refuses a wrong password, an API token and a view-as session, and counts a wrong password as a failed sign-in', async () => {
    assertProblem(await deleteMe(tok.erin, { current_password: 'wrong-password-for-erin' }), 403, 'invalid_credentials', 'current_password');
    assertProblem(await deleteMe(tok.erin, {}), 400, 'invalid_input', 'current_password');
    assertProblem(await deleteMe(tok.erin, { current_password: PASSWORD, extra: 1 }), 400, 'invalid_input');
    assert.equal((await deleteMe(fx.apiToken, { current_password: PASSWORD })).status, 403);
    const view = await w.as(tok.admin)('POST', '/api/v1/impersonation', {
      user_id: ids.erin, agency_id: fx.A.id, reason: 'ticket 12',
    });
    assert.equal(view.status, 201, shown(view));
    w.secrets.add(view.json.token);
    assert.equal((await deleteMe(view.json.token, { current_password: PASSWORD })).status, 403);
    assert.ok((await w.as(view.json.token)('DELETE', '/api/v1/impersonation')).status < 300);
    tok.admin = await w.signIn(ADMIN_EMAIL);
    assert.equal(count(`SELECT COUNT(*) FROM users WHERE id = '${ids.erin}'`), 1);
    assert.equal(count(`SELECT COUNT(*) FROM audit_log WHERE action = 'user.erase_failed' AND subject_user_id = '${ids.erin}'`), 1);
    assert.equal(count(`SELECT COUNT(*) FROM throttle_events`) > 0, true, 'the failure was counted');
  });

  it('refuses the only owner of an agency, naming the agency, for the person and for an admin', async () => {
    const self = await deleteMe(tok.olga, { current_password: PASSWORD });
    assertProblem(self, 409, 'last_owner');
    assert.match(self.json.detail, new RegExp(fx.A.id));
    const byAdmin = await erase(tok.admin, ids.olga, 'olga@acme.example');
    assertProblem(byAdmin, 409, 'last_owner');
    assert.match(byAdmin.json.detail, new RegExp(fx.A.id));
    assert.equal(count(`SELECT COUNT(*) FROM users WHERE id = '${ids.olga}'`), 1);
  });

  it("deletes one's own account: sign-in fails, decisions deny at once, every trace of the address goes, and the log still verifies", async () => {
    assert.equal(await allowed(ids.erin), true);
    assert.ok(count(`SELECT COUNT(*) FROM mail_outbox WHERE recipient = 'erin@acme.example'`) >= 2);
    assert.ok(count(`SELECT COUNT(*) FROM password_resets WHERE email = 'erin@acme.example'`) >= 1);
    const res = await deleteMe(tok.erin, { current_password: PASSWORD });
    assert.equal(res.status, 204, shown(res));
    // Nothing in the whole database holds her address or names (before anyone types her address
    // again: a later failed sign-in with it is recorded like any unknown address's).
    const dump = w.snapshot();
    for (const secret of ['erin@acme.example', 'Erinna', 'Erinnah', 'Quillfeather']) {
      assert.ok(!dump.toLowerCase().includes(secret.toLowerCase()), `${secret} in the database: ${dump.split('\n').filter((l) => l.toLowerCase().includes(secret.toLowerCase())).join('\n')}`);
    }
    // Others keep theirs.
    assert.ok(dump.includes('pete@acme.example'));
    assert.equal(await allowed(ids.erin), false, 'the decision index forgot her at once');
    assert.equal((await w.as(tok.erin)('GET', '/api/v1/me')).status, 401);
    assertProblem(await signInRaw('erin@acme.example'), 401, 'invalid_credentials');
    for (const table of ['users WHERE id', 'sessions WHERE user_id', 'grants WHERE user_id', 'memberships WHERE user_id']) {
      assert.equal(count(`SELECT COUNT(*) FROM ${table} = '${ids.erin}'`), 0, table);
    }
    assert.equal(count(`SELECT COUNT(*) FROM invitations WHERE email = 'erin@acme.example'`), 0);
    assert.equal(count(`SELECT COUNT(*) FROM password_resets WHERE email = 'erin@acme.example'`), 0);
    assert.equal(count(`SELECT COUNT(*) FROM mail_outbox WHERE recipient = 'erin@acme.example'`), 0);

    const ok = await verify(w.usher.dataDir);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /audit log intact: \d+ entries in \d+ chains/);

    // Her entries remain, under her pseudonymous id, marked deleted; no address or name shows.
    const platform = w.sql(`SELECT actor_id, subject_user_id, details FROM audit_log WHERE action = 'user.erased'`).trim();
    assert.equal(platform, `${ids.erin}|${ids.erin}|{"via":"self_service","proof":"password","agencies":2,"grants":2,"invitations":3,"password_resets":1,"messages":2,"audit_personal_rows":${platform.match(/"audit_personal_rows":(\d+)/)[1]}}`);
    for (const agency of [fx.A, fx.B, fx.C]) {
      const { items, raw } = await auditOf(agency.id);
      for (const secret of ['erin@acme.example', 'Erinna', 'Erinnah', 'Quillfeather']) {
        assert.ok(!raw.includes(secret), `${secret} in the audit log of ${agency.name}`);
      }
      const hers = items.filter((e) => e.subject_user_id === ids.erin);
      if (agency !== fx.C) {
        assert.ok(hers.length > 0, `her entries in ${agency.name} remain`);
        assert.ok(hers.every((e) => e.subject_deleted === true), 'shown as a deleted user');
        assert.ok(items.some((e) => e.action === 'member.removed' && e.subject_user_id === ids.erin && e.details.reason === 'account_erased'));
      }
      assert.ok(items.filter((e) => e.actor_id === ids.erin).every((e) => e.actor_deleted === true));
      assert.ok(items.filter((e) => e.actor_id === ids.admin).every((e) => e.actor_deleted === false));
    }
    assert.equal(await allowed(ids.pete), true);
  });

  it('lets only a platform admin erase an account, with its address typed as confirmation', async () => {
    assert.equal((await erase(undefined, ids.pete, 'pete@acme.example')).status, 401);
    assertProblem(await erase(tok.olga, ids.pete, 'pete@acme.example'), 403, 'forbidden');
    assertProblem(await erase(tok.pete, ids.pete, 'pete@acme.example'), 403, 'forbidden');
    assertProblem(await erase(fx.apiToken, ids.pete, 'pete@acme.example'), 403, 'forbidden');
    assertProblem(await erase(tok.admin, ids.pete, 'olga@acme.example'), 400, 'confirm_mismatch', 'confirm');
    assertProblem(await w.as(tok.admin)('DELETE', `/api/v1/users/${ids.pete}`, {}), 400, 'invalid_input', 'confirm');
    assertProblem(await erase(tok.admin, 'usr_none', 'x@y.example'), 404, 'not_found');
    assertProblem(await erase(tok.admin, ids.admin, ADMIN_EMAIL), 409, 'cannot_erase_self');
    assert.equal(await allowed(ids.pete), true);
    const res = await erase(tok.admin, ids.pete, '  Pete@ACME.example ');
    assert.equal(res.status, 204, shown(res));
    assert.equal(await allowed(ids.pete), false);
    assert.equal((await w.as(tok.pete)('GET', '/api/v1/me')).status, 401);
    assertProblem(await signInRaw('pete@acme.example'), 401, 'invalid_credentials');
    assert.equal(w.sql(`SELECT actor_id, subject_user_id FROM audit_log WHERE action = 'user.erased' AND subject_user_id = '${ids.pete}'`).trim(),
      `${ids.admin}|${ids.pete}`);
    const byAdmin = JSON.parse(w.sql(`SELECT details FROM audit_log WHERE action = 'user.erased' AND subject_user_id = '${ids.pete}'`).trim());
    assert.equal(byAdmin.via, 'platform_admin');
    assert.equal(byAdmin.proof, 'platform_admin', 'the entry says what allowed the erasure');
    const { raw } = await auditOf(fx.A.id);
    assert.ok(!raw.includes('pete@acme.example') && !raw.includes('Peregrin') && !raw.includes('Tookbottom'));
    assert.ok(raw.includes('olga@acme.example'), 'other people keep their details');
    const ok = await verify(w.usher.dataDir);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  });

  it('clears the session cookie of a browser that deleted its account, which needs the CSRF token', async () => {
    const email = 'cookie@acme.example';
    w.addUser(email);
    const signIn = await signInRaw(email);
    assert.equal(signIn.status, 201, shown(signIn));
    w.secrets.add(signIn.json.token);
    const cookie = signIn.headers['set-cookie'].map((c) => c.split(';')[0]).join('; ');
    const noCsrf = await w.usher.api('DELETE', '/api/v1/me', { headers: { Cookie: cookie }, body: { current_password: PASSWORD } });
    assertProblem(noCsrf, 403, 'csrf_failed');
    const headers = { Cookie: cookie, 'X-CSRF-Token': signIn.json.csrf_token };
    const out = await w.usher.api('DELETE', '/api/v1/me', { headers, body: { current_password: PASSWORD } });
    assert.equal(out.status, 204, out.text);
    assert.ok((out.headers['set-cookie'] || []).some((c) => /usher_session=;.*Max-Age=0/.test(c)),
      'the session cookie is removed');
    assert.equal((await w.usher.api('GET', '/api/v1/me', { headers })).status, 401);
    assert.equal(count(`SELECT COUNT(*) FROM users WHERE email = '${email}'`), 0);
  });

  it('keeps the last platform admin', async () => {
    assertProblem(await deleteMe(tok.admin, { current_password: PASSWORD }), 409, 'last_platform_admin');
    assert.equal((await w.as(tok.admin)('GET', '/api/v1/me')).status, 200);
  });

  it('fails verification when a personal row was edited, deleted, or blanked without the erasure mark', async () => {
    const entry = w.sql(`SELECT entry_id FROM audit_personal WHERE email = 'olga@acme.example' ORDER BY entry_id LIMIT 1`).trim();
    assert.ok(entry);
    const chain = w.sql(`SELECT chain FROM audit_log WHERE id = ${entry}`).trim();
    const cases = [
      [`UPDATE audit_personal SET data = replace(data, 'olga@', 'eve@') WHERE entry_id = ${entry}`,
        'its personal data does not match its digest'],
      [`DELETE FROM audit_personal WHERE entry_id = ${entry}`,
        'its personal-data row was deleted without being marked erased'],
      [`UPDATE audit_personal SET data = NULL, email = NULL WHERE entry_id = ${entry}`,
        'its personal data was removed without being marked erased'],
      [`UPDATE audit_log SET details = replace(details, '}', ',"email":"eve@acme.example"}') WHERE id = ${entry}`,
        'its hash does not match its contents'],
    ];
    for (const [change, why] of cases) {
      const dir = copyData(w.usher.dataDir);
      sqlIn(dir, change);
      const bad = await verify(dir);
      assert.equal(bad.code, 1, `${change}: ${bad.stdout}${bad.stderr}`);
      assert.match(bad.stdout, new RegExp(`^audit log broken: chain ${chain}, entry ${entry}: ${why}`, 'm'));
    }
    // Marking the row erased, as usher does, keeps the log intact.
    const dir = copyData(w.usher.dataDir);
    sqlIn(dir, `UPDATE audit_personal SET data = NULL, email = NULL, erased_at = 1 WHERE entry_id = ${entry}`);
    const ok = await verify(dir);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  });
});
