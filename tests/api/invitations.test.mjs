// Invitations (docs/rules.md, Invitations; docs/SECURITY.md 1–10, 20) through the real binary delivering to a real SMTP
// server: the email and the link read from it, single use under 50 concurrent accepts,
// expiry, the signed-in email check, the token's absence, resend versus copy link, revocation
// and its cascades, the grant ceiling, send limits, one scalar recipient, and probes from
// another agency that must find nothing and change nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { readableUtc } from './lib/dates.mjs';
import { linkIn, tokenOf } from './lib/smtp.mjs';
import { ADMIN_EMAIL, PASSWORD, assertProblem, startWorld } from './lib/world.mjs';

describe('invitations', () => {
  let w;
  let anon;
  const tok = {};
  const fx = {};
  const ids = {};

  // Rows of one query's first column, as strings.
  const column = (text) => w.sql(text).split('\n').filter((l) => l.length > 0);
  const count = (text) => Number(w.sql(text).trim());
  const outboxTo = (email) => count(`SELECT COUNT(*) FROM mail_outbox WHERE recipient = '${email}'`);
  const usersWith = (email) => count(`SELECT COUNT(*) FROM users WHERE email = '${email}'`);
  const memberships = (agencyId, email) =>
    count(`SELECT COUNT(*) FROM memberships m JOIN users u ON u.id = m.user_id
           WHERE m.agency_id = '${agencyId}' AND u.email = '${email}'`);
  const statusOf = (id) => w.sql(`SELECT status FROM invitations WHERE id = '${id}'`).trim();
  const grantsOf = (agencyId, email) =>
    column(`SELECT g.scope_id || ':' || g.roles || ':' || g.extra_permissions FROM grants g
            JOIN users u ON u.id = g.user_id WHERE g.agency_id = '${agencyId}'
            AND u.email = '${email}' ORDER BY g.scope_id`);
  const lookup = (token) => anon('POST', '/api/v1/invitations/lookup', { token });
  const accept = (body, token) => w.as(token)('POST', '/api/v1/invitations/accept', body);

  before(async () => {
    // Enough HTTP threads that the concurrent accepts below really run side by side.
    w = await startWorld({ env: { USHER_THREADS: 8 } });
    anon = w.as(undefined);
    tok.admin = await w.signIn(ADMIN_EMAIL);
    fx.A = await w.agencyNew(tok.admin, 'Acme');
    fx.B = await w.agencyNew(tok.admin, 'Globex');
    fx.E1 = await w.environmentNew(tok.admin, fx.A.id, 'Acme – production');
    fx.E2 = await w.environmentNew(tok.admin, fx.A.id, 'Acme – staging');
    fx.EB = await w.environmentNew(tok.admin, fx.B.id, 'Globex – production');

    ids.owner = w.addUser('owner@acme.example');
    ids.mgr = w.addUser('mia@acme.example');
    ids.plain = w.addUser('olly@acme.example');
    ids.globex = w.addUser('owner@globex.example');
    ids.bob = w.addUser('bob@elsewhere.example');
    w.sql(`UPDATE users SET first_name = 'Mia', last_name = 'Manager' WHERE id = '${ids.mgr}'`);
    w.grant(ids.owner, fx.A.id, { roles: 'owner' });
    w.grant(ids.mgr, fx.A.id, { environmentId: fx.E1.id, roles: 'environment_manager,operator' });
    w.grant(ids.plain, fx.A.id, { environmentId: fx.E1.id, roles: 'operator' });
    w.grant(ids.globex, fx.B.id, { roles: 'owner' });
    tok.owner = await w.signIn('owner@acme.example');
    tok.mgr = await w.signIn('mia@acme.example');
    tok.plain = await w.signIn('olly@acme.example');
    tok.globex = await w.signIn('owner@globex.example');
    tok.bob = await w.signIn('bob@elsewhere.example');
  });

  after(async () => {
    // SECURITY 1 and 29 over the whole file: no link token, session token or password in the
    // server's log, and no link token in the database.
    const log = w.logText();
    const dump = w.snapshot();
    for (const secret of w.secrets) {
      assert.ok(!log.includes(secret), 'a secret reached the server log');
    }
    for (const secret of w.secrets) {
      if (secret !== PASSWORD) assert.ok(!dump.includes(secret), 'a token is stored in the database');
    }
    assert.equal(await w.stop(), 0);
  });

  it('delivers the invitation email over SMTP and the link read from it signs the new user up', async () => {
    const before = Date.now();
    const res = await w.invite(tok.mgr, fx.A.id, {
      email: ' Nora.New@Customer.Example ',
      first_name: 'Nora',
      grants: [{ environment_id: fx.E1.id, roles: ['operator'] }],
    });
    assert.equal(res.status, 201, res.text);
    const inv = res.json;
    assert.equal(inv.email, 'nora.new@customer.example');
    assert.equal(inv.status, 'pending');
    assert.equal(res.headers.location, `/api/v1/invitations/${inv.id}`);
    assert.deepEqual(inv.grants, [{ environment_id: fx.E1.id, roles: ['operator'], extra_permissions: [] }]);
    const expiresAt = Date.parse(inv.expires_at);
    assert.ok(Math.abs(expiresAt - before - 7 * 86400e3) < 60e3, 'the default expiry is 7 days');
    assert.match(inv.url, new RegExp(`^${w.usher.url}/invitations/accept#token=[A-Za-z0-9_-]{43,}$`));

    const { message, url, token } = await w.mailLink('nora.new@customer.example');
    assert.equal(message.from, 'studio@studio.example');
    assert.deepEqual(message.to, ['nora.new@customer.example']);
    assert.equal(url, inv.url, 'the emailed link is the link of the invitation');
    assert.ok(Buffer.from(token, 'base64url').length >= 16, 'the token carries at least 128 bits');
    const mail = message.parsed;
    const outboxId = w.sql(`SELECT id FROM mail_outbox WHERE recipient = 'nora.new@customer.example'`).trim();
    assert.equal(mail.messageId, `<${outboxId}@127.0.0.1>`, 'the Message-ID is the outbox row');
    assert.match(mail.subject, /Mia Manager/);
    assert.match(mail.subject, /Acme/);
    for (const [part, body] of [['text', mail.text], ['html', mail.html]]) {
      assert.match(body, /Mia Manager/, `the ${part} part names the inviter`);
      assert.match(body, /Acme/, `the ${part} part names the agency`);
      assert.ok(body.includes('Acme – production'), `the ${part} part names the environment`);
      assert.ok(body.includes('Acme – production: Operator'), `the ${part} part names the role in words`);
      assert.ok(body.includes(`expires on ${readableUtc(inv.expires_at)}`), `the ${part} part gives the expiry`);
      assert.ok(body.includes(url), `the ${part} part holds the link`);
      assert.ok(!body.includes(PASSWORD), `the ${part} part holds no password`);
    }
    assert.ok(mail.html.includes(`href="${url}"`));
    assert.ok(!/password\s*:/i.test(mail.text), 'no password is emailed');

    // The landing page reads the fragment and looks the link up.
    const facts = await lookup(token);
    assert.equal(facts.status, 200, facts.text);
    assert.equal(facts.json.agency.name, 'Acme');
    assert.equal(facts.json.inviter.name, 'Mia Manager');
    assert.equal(facts.json.email, 'nora.new@customer.example');
    assert.equal(facts.json.status, 'pending');
    assert.equal(facts.json.account_exists, false);
    assert.equal(facts.json.expires_at, inv.expires_at);

    const acc = await w.acceptNew(token, 'nora-picks-a-password');
    w.secrets.add('nora-picks-a-password');
    assert.equal(acc.status, 201, acc.text);
    assert.equal(acc.json.user.email, 'nora.new@customer.example');
    assert.equal(acc.json.user.first_name, 'Nora');
    assert.equal(acc.json.invitation.status, 'accepted');
    assert.ok(acc.json.token && acc.json.csrf_token, 'accepting as a new user starts a session');
    const me = await w.as(acc.json.token)('GET', '/api/v1/me');
    assert.equal(me.status, 200);
    assert.deepEqual(me.json.agencies.map((a) => a.id), [fx.A.id]);
    assert.deepEqual(me.json.agencies[0].grants, [{ environment_id: fx.E1.id, roles: ['operator'], extra_permissions: [] }]);
    assert.deepEqual(me.json.pending_invitations, []);

    // The new user signs in with the password they set.
    const session = await w.signIn('nora.new@customer.example', 'nora-picks-a-password');
    assert.ok(session);
    assert.equal((await lookup(token)).json.status, 'accepted');
    assertProblem(await w.acceptNew(token, 'another-password-1'), 409, 'invitation_not_pending');
    assert.equal(usersWith('nora.new@customer.example'), 1);
  });

  it('sends a refused invitation email again with the same Message-ID and a working link', async () => {
    w.smtp.refuseNext(1);
    const res = await w.invite(tok.owner, fx.A.id, {
      email: 'retry@customer.example', grants: [{ environment_id: fx.E2.id, roles: ['analyst'] }],
    });
    assert.equal(res.status, 201, res.text);
    await w.usher.waitForLog('mail.retry');
    const first = w.smtp.rejected.find((m) => m.parsed.to.text === 'retry@customer.example');
    assert.ok(first, 'the first attempt reached the SMTP server');
    const { message, url } = await w.mailLink('retry@customer.example');
    assert.equal(message.parsed.messageId, first.parsed.messageId, 'the retry keeps the Message-ID');
    assert.equal(linkIn(first.parsed), url, 'and the link');
    assert.equal(url, res.json.url);
    assert.equal((await lookup(tokenOf(url))).json.status, 'pending');
  });

  it('keeps the token out of the database and the log (SECURITY 1)', async () => {
    const res = await w.invite(tok.owner, fx.A.id, {
      email: 'dora@customer.example',
      grants: [{ roles: ['analyst'] }],
    });
    assert.equal(res.status, 201, res.text);
    const { token } = await w.mailLink('dora@customer.example');
    const copy = await w.as(tok.owner)('GET', `/api/v1/invitations/${res.json.id}/link`);
    assert.equal(copy.json.url, res.json.url);
    assert.equal((await lookup(token)).status, 200);
    const dump = w.snapshot();
    assert.ok(dump.includes(res.json.id), 'the dump holds the invitation');
    assert.ok(!dump.includes(token), 'the database holds no token');
    assert.ok(!w.logText().includes(token), 'the log holds no token');
  });

  it('lets exactly one of 50 concurrent accepts of one link succeed (SECURITY 2)', async () => {
    const res = await w.invite(tok.owner, fx.A.id, {
      email: 'race@customer.example',
      send_email: false,
      grants: [{ environment_id: fx.E2.id, roles: ['agent'] }],
    });
    assert.equal(res.status, 201, res.text);
    const token = tokenOf(res.json.url);
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => w.acceptNew(token, `contender-${i}-takes-the-link`)),
    );
    const statuses = answers.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 201).length, 1, `statuses: ${statuses}`);
    for (const r of answers.filter((x) => x.status !== 201)) {
      assert.ok(r.status === 409 || r.status === 503, `a losing accept answers 409 or 503, got ${r.status}`);
      if (r.status === 409) assert.ok(['invitation_not_pending', 'account_exists'].includes(r.json.code), r.json.code);
    }
    assert.equal(usersWith('race@customer.example'), 1);
    assert.equal(memberships(fx.A.id, 'race@customer.example'), 1);
    assert.deepEqual(grantsOf(fx.A.id, 'race@customer.example'), [`${fx.E2.id}:agent:`]);
    assert.equal(count(`SELECT COUNT(*) FROM audit_log WHERE action = 'invitation.accepted' AND details LIKE '%${res.json.id}%'`), 1);

    // The same race for a signed-in user, by token and from the console at once.
    const inv = await w.invite(tok.owner, fx.A.id, {
      email: 'bob@elsewhere.example',
      send_email: false,
      grants: [{ environment_id: fx.E2.id, roles: ['analyst'] }],
    });
    assert.equal(inv.status, 201, inv.text);
    const bobToken = tokenOf(inv.json.url);
    const bob = w.as(tok.bob);
    const answers2 = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        i % 2 ? bob('POST', '/api/v1/invitations/accept', { token: bobToken })
          : bob('POST', `/api/v1/me/invitations/${inv.json.id}/accept`)),
    );
    const statuses2 = answers2.map((r) => r.status);
    assert.equal(statuses2.filter((s) => s === 200).length, 1, `statuses: ${statuses2}`);
    for (const r of answers2.filter((x) => x.status !== 200)) assertProblem(r, 409, 'invitation_not_pending');
    assert.equal(memberships(fx.A.id, 'bob@elsewhere.example'), 1);
    assert.deepEqual(grantsOf(fx.A.id, 'bob@elsewhere.example'), [`${fx.E2.id}:analyst:`]);
  });

  it('refuses an expired link and an expiry above 30 days (SECURITY 3)', async () => {
    const res = await w.invite(tok.owner, fx.A.id, {
      email: 'late@customer.example',
      expires_in_seconds: 1,
      send_email: false,
      grants: [{ roles: ['agent'] }],
    });
    assert.equal(res.status, 201, res.text);
    const token = tokenOf(res.json.url);
    assert.ok(Date.parse(res.json.expires_at) - Date.parse(res.json.created_at) <= 1000);
    const short = (email) => w.invite(tok.owner, fx.A.id, {
      email, expires_in_seconds: 1, send_email: false, grants: [{ roles: ['agent'] }],
    });
    const late2 = await short('late2@customer.example');
    const late3 = await short('late3@customer.example');
    const late4 = await short('late4@customer.example');
    await sleep(1300);
    const r = await w.acceptNew(token, 'too-late-password');
    assertProblem(r, 410, 'invitation_expired');
    assert.equal(usersWith('late@customer.example'), 0, 'no account');
    assert.equal((await lookup(token)).json.status, 'expired');
    assertProblem(await anon('POST', '/api/v1/invitations/decline', { token }), 410, 'invitation_expired');
    assertProblem(await w.as(tok.owner)('GET', `/api/v1/invitations/${res.json.id}/link`), 410, 'invitation_expired');

    // Resend restarts the expiry of an expired invitation, whether or not a listing already
    // recorded it as expired.
    const owner = w.as(tok.owner);
    // (A longer validity for the next period, so the resent email cannot expire in the outbox.)
    w.sql(`UPDATE invitations SET expires_in_seconds = 3600 WHERE id IN ('${late2.json.id}', '${late3.json.id}')`);
    assertProblem(await owner('DELETE', `/api/v1/invitations/${res.json.id}`), 410, 'invitation_expired');
    const resent2 = await owner('POST', `/api/v1/invitations/${late2.json.id}/resend`);
    assert.equal(resent2.status, 200, resent2.text);
    const listed = await owner('GET', `/api/v1/agencies/${fx.A.id}/invitations?status=expired`);
    const expiredIds = listed.json.items.map((i) => i.id);
    assert.ok(expiredIds.includes(late3.json.id) && !expiredIds.includes(late2.json.id));
    // Once recorded, the expiry is still reported as such, not as some other final state.
    assert.equal(statusOf(res.json.id), 'expired');
    assertProblem(await w.acceptNew(token, 'too-late-password'), 410, 'invitation_expired');
    assertProblem(await anon('POST', '/api/v1/invitations/decline', { token }), 410, 'invitation_expired');
    assertProblem(await owner('GET', `/api/v1/invitations/${res.json.id}/link`), 410, 'invitation_expired');
    assert.equal((await lookup(token)).json.status, 'expired');
    const resent3 = await owner('POST', `/api/v1/invitations/${late3.json.id}/resend`);
    assert.equal(resent3.status, 200, resent3.text);
    assert.equal(statusOf(late3.json.id), 'pending');
    for (const [r, email] of [[resent2, 'late2@customer.example'], [resent3, 'late3@customer.example']]) {
      w.secrets.add(tokenOf(r.json.url));
      assert.equal((await w.mailLink(email)).url, r.json.url);
    }
    // An expired invitation whose address was invited again stays expired.
    const fresh4 = await w.invite(tok.owner, fx.A.id, { email: 'late4@customer.example', send_email: false, grants: [{ roles: ['agent'] }] });
    assert.equal(fresh4.status, 201, fresh4.text);
    assertProblem(await owner('POST', `/api/v1/invitations/${late4.json.id}/resend`), 409, 'conflict', 'email');
    assert.equal(statusOf(late4.json.id), 'expired');
    assertProblem(await owner('DELETE', `/api/v1/invitations/${late4.json.id}`), 410, 'invitation_expired');
    assert.equal(outboxTo('late4@customer.example'), 0);

    for (const bad of [2592001, 0, -5, 1.5, '3600', true]) {
      const out = await w.invite(tok.owner, fx.A.id, {
        email: 'cap@customer.example', expires_in_seconds: bad, grants: [{ roles: ['agent'] }],
      });
      assertProblem(out, 400, 'invalid_input', 'expires_in_seconds');
    }
    assert.equal(outboxTo('cap@customer.example'), 0);
    const max = await w.invite(tok.owner, fx.A.id, {
      email: 'cap@customer.example', expires_in_seconds: 2592000, send_email: false, grants: [{ roles: ['agent'] }],
    });
    assert.equal(max.status, 201, max.text);
    assert.equal(Date.parse(max.json.expires_at) - Date.parse(max.json.created_at), 2592000e3);
  });

  it('refuses a signed-in user whose email is not the invited one (SECURITY 4)', async () => {
    const res = await w.invite(tok.owner, fx.A.id, {
      email: 'alice@customer.example',
      send_email: false,
      grants: [{ environment_id: fx.E1.id, roles: ['content_manager'] }],
    });
    assert.equal(res.status, 201, res.text);
    const token = tokenOf(res.json.url);
    const r = await accept({ token }, tok.bob);
    assertProblem(r, 403, 'email_mismatch');
    // A password in the body does not turn it into a sign-up for someone else.
    assertProblem(await accept({ token, password: 'bob-wants-in-1' }, tok.bob), 403, 'email_mismatch');
    assertProblem(await w.as(tok.bob)('POST', `/api/v1/me/invitations/${res.json.id}/accept`), 404, 'not_found');
    assertProblem(await w.as(tok.bob)('POST', `/api/v1/me/invitations/${res.json.id}/decline`), 404, 'not_found');
    // Nor may B decline it as B: the decision would be recorded as B's.
    assertProblem(await w.as(tok.bob)('POST', '/api/v1/invitations/decline', { token }), 403, 'email_mismatch');
    assert.deepEqual(grantsOf(fx.A.id, 'bob@elsewhere.example').filter((g) => g.startsWith(fx.E1.id)), []);
    assert.equal(statusOf(res.json.id), 'pending');
    assert.equal(count(`SELECT COUNT(*) FROM audit_log WHERE details LIKE '%${res.json.id}%'`), 1, 'only the creation is audited');
    const me = await w.as(tok.bob)('GET', '/api/v1/me');
    assert.ok(!me.json.pending_invitations.some((p) => p.id === res.json.id));
    // The invited person still can.
    const ok = await w.acceptNew(token);
    assert.equal(ok.status, 201, ok.text);
    assert.deepEqual(grantsOf(fx.A.id, 'alice@customer.example'), [`${fx.E1.id}:content_manager:`]);
  });

  it('activates no account without a token (SECURITY 5)', async () => {
    const res = await w.invite(tok.owner, fx.A.id, {
      email: 'notoken@customer.example', send_email: false, grants: [{ roles: ['agent'] }],
    });
    assert.equal(res.status, 201, res.text);
    const bodies = [
      { password: PASSWORD },
      { token: '', password: PASSWORD },
      { token: null, password: PASSWORD },
      { token: 0, password: PASSWORD },
      { token: [], password: PASSWORD },
      { token: {}, password: PASSWORD },
      { token: 'x'.repeat(300), password: PASSWORD },
    ];
    for (const body of bodies) {
      for (const path of ['/api/v1/invitations/accept', '/api/v1/invitations/decline', '/api/v1/invitations/lookup']) {
        const send = path.endsWith('accept') ? body : { ...body, password: undefined };
        const r = await anon('POST', path, send);
        assert.ok(r.status >= 400 && r.status < 500, `${path} ${JSON.stringify(body).slice(0, 40)}: ${r.status}`);
      }
    }
    for (const raw of ['', '{}', 'null', '[]', '{"token":']) {
      const r = await w.usher.api('POST', '/api/v1/invitations/accept', {
        raw, headers: { 'Content-Type': 'application/json' },
      });
      assert.ok(r.status >= 400 && r.status < 500, `raw ${raw}: ${r.status}`);
    }
    assertProblem(await w.acceptNew('A'.repeat(43)), 404, 'invitation_not_found');
    assert.equal(usersWith('notoken@customer.example'), 0);
    assert.equal(statusOf(res.json.id), 'pending');
  });

  it('rotates the link on resend while copy link keeps it (SECURITY 6)', async () => {
    const res = await w.invite(tok.owner, fx.A.id, {
      email: 'rot@customer.example', send_email: false, grants: [{ roles: ['developer'] }],
    });
    assert.equal(res.status, 201, res.text);
    const id = res.json.id;
    const owner = w.as(tok.owner);
    const c1 = await owner('GET', `/api/v1/invitations/${id}/link`);
    const c2 = await owner('GET', `/api/v1/invitations/${id}/link`);
    assert.equal(c1.status, 200, c1.text);
    assert.equal(c1.json.url, res.json.url, 'copy link shows the current link');
    assert.equal(c2.json.url, res.json.url, 'copy link does not rotate');
    assert.equal((await lookup(tokenOf(c2.json.url))).status, 200);
    assert.equal(outboxTo('rot@customer.example'), 0, 'send_email false sends nothing');

    const rs = await owner('POST', `/api/v1/invitations/${id}/resend`);
    assert.equal(rs.status, 200, rs.text);
    w.secrets.add(tokenOf(rs.json.url));
    assert.notEqual(rs.json.url, res.json.url);
    const { url } = await w.mailLink('rot@customer.example');
    assert.equal(url, rs.json.url, 'the resent email carries the new link');
    assertProblem(await lookup(tokenOf(res.json.url)), 404, 'invitation_not_found');
    assertProblem(await w.acceptNew(tokenOf(res.json.url)), 404, 'invitation_not_found');
    assert.equal(usersWith('rot@customer.example'), 0);
    const c3 = await owner('GET', `/api/v1/invitations/${id}/link`);
    assert.equal(c3.json.url, rs.json.url);
    const shown = await owner('GET', `/api/v1/invitations/${id}`);
    assert.equal(shown.json.id, id, 'resend keeps the id');
    assert.equal(shown.json.send_count, 1);

    // A second resend within a minute is refused and sends nothing.
    const again = await owner('POST', `/api/v1/invitations/${id}/resend`);
    assertProblem(again, 429, 'rate_limited');
    const wait = Number(again.headers['retry-after']);
    assert.ok(wait >= 1 && wait <= 60, `Retry-After ${again.headers['retry-after']}`);
    assert.equal(outboxTo('rot@customer.example'), 1);
    assert.equal((await owner('GET', `/api/v1/invitations/${id}/link`)).json.url, rs.json.url);
    const ok = await w.acceptNew(tokenOf(rs.json.url));
    assert.equal(ok.status, 201, ok.text);
  });

  it('revokes at once and refuses links whose scope or inviter is gone (SECURITY 7)', async () => {
    const owner = w.as(tok.owner);
    const res = await w.invite(tok.owner, fx.A.id, {
      email: 'rev@customer.example', send_email: false, grants: [{ roles: ['agent'] }],
    });
    const token = tokenOf(res.json.url);
    const del = await owner('DELETE', `/api/v1/invitations/${res.json.id}`);
    assert.equal(del.status, 204, del.text);
    assertProblem(await w.acceptNew(token), 409, 'invitation_not_pending');
    assertProblem(await anon('POST', '/api/v1/invitations/decline', { token }), 409, 'invitation_not_pending');
    assert.equal((await lookup(token)).json.status, 'revoked');
    assertProblem(await owner('DELETE', `/api/v1/invitations/${res.json.id}`), 409, 'invitation_not_pending');
    assertProblem(await owner('GET', `/api/v1/invitations/${res.json.id}/link`), 409, 'invitation_not_pending');
    assertProblem(await owner('POST', `/api/v1/invitations/${res.json.id}/resend`), 409, 'invitation_not_pending');
    assert.equal(usersWith('rev@customer.example'), 0);

    // The environment of the invitation is deleted while it is pending.
    const E3 = await w.environmentNew(tok.admin, fx.A.id, 'Acme – doomed');
    const gone = await w.invite(tok.owner, fx.A.id, {
      email: 'gone@customer.example', send_email: false, grants: [{ environment_id: E3.id, roles: ['operator'] }],
    });
    assert.equal(gone.status, 201, gone.text);
    w.sql(`DELETE FROM environments WHERE id = '${E3.id}'`);
    assertProblem(await w.acceptNew(tokenOf(gone.json.url)), 403, 'invitation_invalid');
    assert.equal(usersWith('gone@customer.example'), 0);
    assert.equal(statusOf(gone.json.id), 'pending');

    // The agency is deleted: the link finds nothing.
    const doomed = await w.agencyNew(tok.admin, 'Doomed Ltd');
    const dz = await w.invite(tok.admin, doomed.id, {
      email: 'dz@customer.example', send_email: false, grants: [{ roles: ['agent'] }],
    });
    w.sql(`DELETE FROM agencies WHERE id = '${doomed.id}'`);
    assertProblem(await w.acceptNew(tokenOf(dz.json.url)), 404, 'invitation_not_found');
    assert.equal(usersWith('dz@customer.example'), 0);

    // The inviter is removed from the agency before the invitee accepts.
    const leaverId = w.addUser('leaver@acme.example');
    w.grant(leaverId, fx.A.id, { environmentId: fx.E1.id, roles: 'environment_manager,operator' });
    const leaver = await w.signIn('leaver@acme.example');
    const byLeaver = await w.invite(leaver, fx.A.id, {
      email: 'orphan@customer.example', send_email: false, grants: [{ environment_id: fx.E1.id, roles: ['operator'] }],
    });
    assert.equal(byLeaver.status, 201, byLeaver.text);
    const byLeaver2 = await w.invite(leaver, fx.A.id, {
      email: 'olly@acme.example', send_email: false, grants: [{ environment_id: fx.E1.id, roles: ['agent'] }],
    });
    assertProblem(byLeaver2, 409, 'already_member', 'email');
    const byLeaver3 = await w.invite(leaver, fx.A.id, {
      email: 'demoted@customer.example', send_email: false, grants: [{ environment_id: fx.E1.id, roles: ['operator'] }],
    });
    assert.equal(byLeaver3.status, 201, byLeaver3.text);
    // First the inviter is demoted to operator (no users.invite any more), then removed.
    w.sql(`UPDATE grants SET roles = 'operator' WHERE user_id = '${leaverId}'`);
    assertProblem(await w.acceptNew(tokenOf(byLeaver3.json.url)), 403, 'invitation_invalid');
    assert.equal(usersWith('demoted@customer.example'), 0);
    w.removeMember(leaverId, fx.A.id);
    assertProblem(await w.acceptNew(tokenOf(byLeaver.json.url)), 403, 'invitation_invalid');
    assert.equal(usersWith('orphan@customer.example'), 0);
    assert.equal(statusOf(byLeaver.json.id), 'pending');
    // The invitation is still there for the agency's other managers to revoke.
    assert.equal((await owner('DELETE', `/api/v1/invitations/${byLeaver.json.id}`)).status, 204);
  });

  it('keeps every grant within what the inviter holds and takes roles only from the invitation (SECURITY 8)', async () => {
    const mgr = (body) => w.invite(tok.mgr, fx.A.id, { email: 'ceil@customer.example', send_email: true, ...body });
    const refused = [
      [{ roles: ['organisation_manager'] }, 'grants[0]'],
      [{ roles: ['operator'] }, 'grants[0]'],
      [{ environment_id: fx.E2.id, roles: ['operator'] }, 'grants[0]'],
      [{ environment_id: fx.E1.id, roles: ['operator'], extra_permissions: ['environments.create'] }, 'grants[0]'],
      [{ environment_id: fx.E1.id, roles: ['agent'], extra_permissions: ['agency.manage'] }, 'grants[0]'],
    ];
    for (const [grant] of refused) {
      const r = await mgr({ grants: [grant] });
      assertProblem(r, 403, 'grant_ceiling');
      assert.match(r.json.field || '', /^grants\[0\]/);
    }
    // One allowed grant does not carry a refused one.
    assertProblem(
      await mgr({ grants: [{ environment_id: fx.E1.id, roles: ['operator'] }, { environment_id: fx.E2.id, roles: ['agent'] }] }),
      403, 'grant_ceiling');
    // A member without users.invite invites nobody.
    assertProblem(await w.invite(tok.plain, fx.A.id, {
      email: 'ceil@customer.example', grants: [{ environment_id: fx.E1.id, roles: ['agent'] }],
    }), 403, 'grant_ceiling');
    assert.equal(outboxTo('ceil@customer.example'), 0, 'no email for a refused invitation');
    assert.equal(count(`SELECT COUNT(*) FROM invitations WHERE email = 'ceil@customer.example'`), 0);

    const ok = await mgr({ grants: [{ environment_id: fx.E1.id, roles: ['environment_manager', 'operator'] }] });
    assert.equal(ok.status, 201, ok.text);
    const { token } = await w.mailLink('ceil@customer.example');
    // Fields beyond token, password and names are refused, whatever they ask for.
    for (const extra of [
      { roles: ['owner'] },
      { grants: [{ roles: ['owner'] }] },
      { email: 'other@customer.example' },
      { agency_id: fx.B.id },
      { is_admin: true },
      { role: 'owner' },
    ]) {
      assertProblem(await w.acceptNew(token, PASSWORD, extra), 400, 'invalid_input');
    }
    assert.equal(usersWith('ceil@customer.example'), 0);
    assert.equal(usersWith('other@customer.example'), 0);
    const acc = await w.acceptNew(token);
    assert.equal(acc.status, 201, acc.text);
    assert.equal(acc.json.user.email, 'ceil@customer.example');
    assert.deepEqual(grantsOf(fx.A.id, 'ceil@customer.example'), [`${fx.E1.id}:operator,environment_manager:`]);
    assert.equal(memberships(fx.B.id, 'ceil@customer.example'), 0);
  });

  it('stops emails to one address past the send limit with 429 and no outbox row (SECURITY 9)', async () => {
    const email = 'flood@customer.example';
    const owner = w.as(tok.owner);
    for (let i = 0; i < 5; i++) {
      const r = await w.invite(tok.owner, fx.A.id, { email, grants: [{ roles: ['agent'] }] });
      assert.equal(r.status, 201, r.text);
      await w.mailLink(email, i + 1);
      assert.equal((await owner('DELETE', `/api/v1/invitations/${r.json.id}`)).status, 204);
    }
    // Another agency's invitation to the same address counts too.
    const r6 = await w.invite(tok.globex, fx.B.id, { email, grants: [{ roles: ['agent'] }] });
    assertProblem(r6, 429, 'rate_limited');
    assert.ok(Number(r6.headers['retry-after']) > 0, 'Retry-After is set');
    const r7 = await w.invite(tok.owner, fx.A.id, { email, grants: [{ roles: ['agent'] }] });
    assertProblem(r7, 429, 'rate_limited');
    assert.equal(outboxTo(email), 5, 'no outbox row past the limit');
    assert.equal(count(`SELECT COUNT(*) FROM invitations WHERE email = '${email}' AND status = 'pending'`), 0);

    // Resend counts against the same limit.
    const quiet = await w.invite(tok.owner, fx.A.id, { email, send_email: false, grants: [{ roles: ['agent'] }] });
    assert.equal(quiet.status, 201, quiet.text);
    assertProblem(await owner('POST', `/api/v1/invitations/${quiet.json.id}/resend`), 429, 'rate_limited');
    assert.equal(outboxTo(email), 5);

    // Per inviter and per agency: past sends are simulated by audit rows of the last hour, on a
    // chain of their own so the agencies' audit chains stay intact.
    const simulate = (n, agencyId, actorId) => w.sql(`
      WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${n})
      INSERT INTO audit_log (at, agency_id, actor_id, action, details, chain)
      SELECT ${Date.now()}, '${agencyId}', ${actorId ? `'${actorId}'` : 'NULL'},
             'invitation.created', '{}', 'simulated' FROM n`);
    simulate(100, fx.B.id, ids.globex);
    const r8 = await w.invite(tok.globex, fx.B.id, { email: 'fresh@globex.example', grants: [{ roles: ['agent'] }] });
    assertProblem(r8, 429, 'rate_limited');
    assert.equal(outboxTo('fresh@globex.example'), 0);
    const busy = await w.agencyNew(tok.admin, 'Busy Agency');
    const r9 = await w.invite(tok.admin, busy.id, { email: 'fresh@busy.example', send_email: false, grants: [{ roles: ['agent'] }] });
    assert.equal(r9.status, 201, r9.text);
    simulate(500, busy.id, null);
    const r10 = await w.invite(tok.admin, busy.id, { email: 'fresh2@busy.example', grants: [{ roles: ['agent'] }] });
    assertProblem(r10, 429, 'rate_limited');
    assertProblem(await w.as(tok.admin)('POST', `/api/v1/invitations/${r9.json.id}/resend`), 429, 'rate_limited');
    assert.equal(outboxTo('fresh@busy.example') + outboxTo('fresh2@busy.example'), 0);
    await sleep(300);
    assert.equal(w.smtp.to(email).length, 5, 'the SMTP server got no sixth message');
    assert.equal(w.smtp.to('fresh@globex.example').length, 0);
  });

  it('takes exactly one scalar recipient (SECURITY 10)', async () => {
    const grants = [{ roles: ['agent'] }];
    const bodies = [
      { email: ['x1@customer.example'], grants },
      { email: ['x1@customer.example', 'x2@customer.example'], grants },
      { email: 'x1@customer.example,x2@customer.example', grants },
      { email: 'x1@customer.example; x2@customer.example', grants },
      { email: 'x1@customer.example x2@customer.example', grants },
      { email: 'Someone <x1@customer.example>', grants },
      { email: { address: 'x1@customer.example' }, grants },
      { email: 'x1@customer.example\r\nBcc: x2@customer.example', grants },
    ];
    for (const body of bodies) {
      assertProblem(await w.invite(tok.owner, fx.A.id, body), 400, 'invalid_input', 'email');
    }
    const twice = '{"email":"x1@customer.example","email":"x2@customer.example","grants":[{"roles":["agent"]}]}';
    const r = await w.usher.api('POST', `/api/v1/agencies/${fx.A.id}/invitations`, {
      raw: twice, token: tok.owner, headers: { 'Content-Type': 'application/json' },
    });
    assertProblem(r, 400, 'invalid_input');
    for (const e of ['x1@customer.example', 'x2@customer.example']) assert.equal(outboxTo(e), 0);
    assert.equal(count(`SELECT COUNT(*) FROM invitations WHERE email LIKE 'x%@customer.example%'`), 0);
    assert.equal(count(`SELECT COUNT(*) FROM mail_outbox WHERE recipient LIKE '%x1@%' OR recipient LIKE '%x2@%'`), 0);
  });

  it('lists, shows and declines invitations', async () => {
    const owner = w.as(tok.owner);
    const a = await w.invite(tok.owner, fx.A.id, { email: 'list1@customer.example', send_email: false, grants: [{ roles: ['agent'] }] });
    const b = await w.invite(tok.mgr, fx.A.id, {
      email: 'list2@customer.example', send_email: false, grants: [{ environment_id: fx.E1.id, roles: ['agent'] }],
    });
    assert.equal(a.status, 201);
    assert.equal(b.status, 201);
    const pending = await owner('GET', `/api/v1/agencies/${fx.A.id}/invitations?status=pending`);
    assert.equal(pending.status, 200, pending.text);
    const pendingIds = pending.json.items.map((i) => i.id);
    assert.ok(pendingIds.includes(a.json.id) && pendingIds.includes(b.json.id));
    assert.ok(pending.json.items.every((i) => i.status === 'pending' && !('url' in i)));
    // An environment manager sees the invitations of their environment only.
    const mine = await w.as(tok.mgr)('GET', `/api/v1/agencies/${fx.A.id}/invitations?status=pending`);
    assert.ok(mine.json.items.some((i) => i.id === b.json.id));
    assert.ok(!mine.json.items.some((i) => i.id === a.json.id));
    assertProblem(await w.as(tok.mgr)('GET', `/api/v1/invitations/${a.json.id}`), 403, 'forbidden');
    assertProblem(await owner('GET', `/api/v1/agencies/${fx.A.id}/invitations?status=bogus`), 400, 'invalid_input', 'status');
    const page = await owner('GET', `/api/v1/agencies/${fx.A.id}/invitations?limit=1`);
    assert.equal(page.json.items.length, 1);
    assert.ok(page.json.next_cursor);
    const next = await owner('GET', `/api/v1/agencies/${fx.A.id}/invitations?limit=1&cursor=${encodeURIComponent(page.json.next_cursor)}`);
    assert.equal(next.json.items.length, 1);
    assert.notEqual(next.json.items[0].id, page.json.items[0].id);

    const token = tokenOf(b.json.url);
    const d = await anon('POST', '/api/v1/invitations/decline', { token });
    assert.equal(d.status, 204, d.text);
    assertProblem(await w.acceptNew(token), 409, 'invitation_not_pending');
    const shown = await owner('GET', `/api/v1/invitations/${b.json.id}`);
    assert.equal(shown.json.status, 'declined');
    const declined = await owner('GET', `/api/v1/agencies/${fx.A.id}/invitations?status=declined`);
    assert.deepEqual(declined.json.items.map((i) => i.id), [b.json.id]);
    assert.equal(usersWith('list2@customer.example'), 0);
    const audit = column(`SELECT action FROM audit_log WHERE details LIKE '%${b.json.id}%' ORDER BY id`);
    assert.deepEqual(audit, ['invitation.created', 'invitation.declined']);
  });

  it('finds nothing and changes nothing for a manager of another agency (SECURITY 20)', async () => {
    const res = await w.invite(tok.owner, fx.A.id, {
      email: 'probe@customer.example', grants: [{ environment_id: fx.E1.id, roles: ['agent'] }],
    });
    assert.equal(res.status, 201, res.text);
    await w.mailLink('probe@customer.example');
    const id = res.json.id;
    const snapshot = () => w.sql(`SELECT * FROM invitations WHERE id = '${id}'`);
    const before = snapshot();
    const outboxBefore = count('SELECT COUNT(*) FROM mail_outbox');
    const auditBefore = count('SELECT COUNT(*) FROM audit_log');
    const globex = w.as(tok.globex);
    const probes = [
      ['GET', `/api/v1/invitations/${id}`],
      ['GET', `/api/v1/invitations/${id}/link`],
      ['POST', `/api/v1/invitations/${id}/resend`],
      ['DELETE', `/api/v1/invitations/${id}`],
      ['POST', `/api/v1/me/invitations/${id}/accept`],
      ['POST', `/api/v1/me/invitations/${id}/decline`],
      ['GET', `/api/v1/agencies/${fx.A.id}/invitations`],
      ['GET', `/api/v1/agencies/${fx.A.id}/invitations?status=pending`],
      ['POST', `/api/v1/agencies/${fx.A.id}/invitations`, { email: 'x9@customer.example', grants: [{ roles: ['agent'] }] }],
      ['POST', `/api/v1/agencies/${fx.A.id}/invitations`, { email: 'x9@customer.example', grants: [{ environment_id: fx.E1.id, roles: ['agent'] }] }],
    ];
    for (const [method, path, body] of probes) {
      const r = await globex(method, path, body);
      assert.equal(r.status, 404, `${method} ${path}: ${r.status} ${r.text}`);
      assert.equal(r.json.code, 'not_found', `${method} ${path}`);
    }
    // Globex's own agency cannot be used to reach Acme's environment either.
    const cross = await w.invite(tok.globex, fx.B.id, {
      email: 'x9@customer.example', grants: [{ environment_id: fx.E1.id, roles: ['agent'] }],
    });
    assert.ok(cross.status === 400 || cross.status === 404, `${cross.status} ${cross.text}`);
    assert.equal(snapshot(), before, 'the invitation is unchanged');
    assert.equal(count('SELECT COUNT(*) FROM mail_outbox'), outboxBefore, 'no email');
    assert.equal(count('SELECT COUNT(*) FROM audit_log'), auditBefore, 'no audit row');
    assert.equal(count(`SELECT COUNT(*) FROM invitations WHERE email = 'x9@customer.example'`), 0);
    // The unknown id answers the same way.
    assertProblem(await globex('GET', '/api/v1/invitations/inv_doesnotexist'), 404, 'not_found');
  });
});

describe('invitation links and email under a public URL', () => {
  let w;
  before(async () => {
    w = await startWorld({ env: { USHER_PUBLIC_URL: 'https://studio.example/console/' } });
  });
  after(async () => {
    assert.equal(await w.stop(), 0);
  });

  it('builds the link on the public URL and escapes names in the HTML part', async () => {
    const admin = await w.signIn(ADMIN_EMAIL);
    const agency = await w.agencyNew(admin, 'Smith & <Jones> – Zoë');
    w.sql(`UPDATE users SET first_name = '<img src=x>', last_name = 'O''Neil' WHERE email = '${ADMIN_EMAIL}'`);
    const res = await w.invite(admin, agency.id, { email: 'esc@customer.example', grants: [{ roles: ['agent'] }] });
    assert.equal(res.status, 201, res.text);
    assert.match(res.json.url, /^https:\/\/studio\.example\/console\/invitations\/accept#token=[A-Za-z0-9_-]{43,}$/);
    const { message, url, token } = await w.mailLink('esc@customer.example');
    assert.equal(url, res.json.url);
    assert.match(message.parsed.messageId, /^<msg_[A-Za-z0-9_-]+@studio\.example>$/);
    assert.equal(message.parsed.subject, "<img src=x> O'Neil invited you to Smith & <Jones> – Zoë");
    const { html, text } = message.parsed;
    assert.ok(text.includes("<img src=x> O'Neil invited you"), 'the text part is plain');
    assert.ok(!html.includes('<img'), 'no markup from a name reaches the HTML part');
    assert.ok(!html.includes('<Jones>'));
    assert.ok(html.includes('&lt;img src=x&gt;'));
    assert.ok(html.includes('Smith &amp; &lt;Jones&gt; – Zoë'));
    const facts = await w.as(undefined)('POST', '/api/v1/invitations/lookup', { token });
    assert.equal(facts.json.agency.name, 'Smith & <Jones> – Zoë');
  });
});
