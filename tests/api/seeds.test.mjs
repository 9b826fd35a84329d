// Three invitation stories as studios tell them to their customers (docs/rules.md,
// Invitations), played through the real binary with real email: every link is read from a
// message the SMTP server received.
//   - the service provider invites a customer's first environment manager, who invites a
//     colleague, copies a link and revokes a pending invitation (the trashcan);
//   - an existing account joins a second agency without new credentials, from the console;
//     re-inviting a removed user; one pending invitation per address; declining;
//   - first name, last name and shortcode travel from the invitation to the member; no
//     password is ever emailed.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { ADMIN_EMAIL, PASSWORD, assertProblem, startWorld } from './lib/world.mjs';

describe('invitation stories', () => {
  let w;
  let anon;
  let admin;

  const count = (text) => Number(w.sql(text).trim());
  const lookup = (token) => anon('POST', '/api/v1/invitations/lookup', { token });

  before(async () => {
    w = await startWorld();
    anon = w.as(undefined);
    admin = await w.signIn(ADMIN_EMAIL);
  });

  after(async () => {
    const log = w.logText();
    for (const secret of w.secrets) assert.ok(!log.includes(secret), 'a secret reached the server log');
    assert.equal(await w.stop(), 0);
  });

  it('the provider invites the first environment manager, who invites a colleague', async () => {
    // The service provider sets the customer up.
    const agency = await w.agencyNew(admin, 'Acme Support');
    const env = await w.environmentNew(admin, agency.id, 'Acme – production');
    const first = await w.invite(admin, agency.id, {
      email: 'erin@acme-customer.example',
      grants: [{ environment_id: env.id, roles: ['environment_manager', 'operator'] }],
    });
    assert.equal(first.status, 201, first.text);
    const mail1 = await w.mailLink('erin@acme-customer.example');
    for (const body of [mail1.message.parsed.text, mail1.message.parsed.html]) {
      assert.ok(body.includes('Acme – production'), 'the email names the environment');
      assert.match(body, /Operator, Environment manager/, 'the roles are named in words');
      assert.doesNotMatch(body, /environment_manager/);
      assert.ok(body.includes(ADMIN_EMAIL), 'the email names who invites');
    }

    // The manager follows the emailed link and sets a password.
    const facts = await lookup(mail1.token);
    assert.equal(facts.status, 200, facts.text);
    assert.equal(facts.json.agency.name, 'Acme Support');
    assert.equal(facts.json.account_exists, false);
    const acc = await w.acceptNew(mail1.token, 'erin-chooses-this-one', { first_name: 'Erin', last_name: 'Ops' });
    w.secrets.add('erin-chooses-this-one');
    assert.equal(acc.status, 201, acc.text);
    const erin = await w.signIn('erin@acme-customer.example', 'erin-chooses-this-one');
    const asErin = w.as(erin);
    const me = await asErin('GET', '/api/v1/me');
    assert.deepEqual(me.json.agencies.map((a) => [a.id, a.grants]), [
      [agency.id, [{ environment_id: env.id, roles: ['operator', 'environment_manager'], extra_permissions: [] }]],
    ]);

    // She invites a colleague to the same environment as an operator.
    const colleague = await w.invite(erin, agency.id, {
      email: 'carl@acme-customer.example',
      grants: [{ environment_id: env.id, roles: ['operator'] }],
    });
    assert.equal(colleague.status, 201, colleague.text);
    assert.equal(colleague.json.invited_by.name, 'Erin Ops');
    const mail2 = await w.mailLink('carl@acme-customer.example');
    assert.match(mail2.message.parsed.text, /Erin Ops invited you/);

    // The clipboard icon: the link again, unchanged, for another channel.
    const copy = await asErin('GET', `/api/v1/invitations/${colleague.json.id}/link`);
    assert.equal(copy.status, 200, copy.text);
    assert.equal(copy.json.url, mail2.url);
    assert.equal((await asErin('GET', `/api/v1/invitations/${colleague.json.id}/link`)).json.url, mail2.url);

    // The trashcan on a pending row.
    const third = await w.invite(erin, agency.id, {
      email: 'tess@acme-customer.example',
      grants: [{ environment_id: env.id, roles: ['agent'] }],
    });
    assert.equal(third.status, 201, third.text);
    const mail3 = await w.mailLink('tess@acme-customer.example');
    const pending = await asErin('GET', `/api/v1/agencies/${agency.id}/invitations?status=pending`);
    assert.deepEqual(pending.json.items.map((i) => i.email).sort(),
      ['carl@acme-customer.example', 'tess@acme-customer.example']);
    assert.equal((await asErin('DELETE', `/api/v1/invitations/${third.json.id}`)).status, 204);
    assertProblem(await w.acceptNew(mail3.token), 409, 'invitation_not_pending');
    assert.equal(count(`SELECT COUNT(*) FROM users WHERE email = 'tess@acme-customer.example'`), 0);
    const revoked = await asErin('GET', `/api/v1/agencies/${agency.id}/invitations?status=revoked`);
    assert.deepEqual(revoked.json.items.map((i) => i.id), [third.json.id]);

    // The colleague joins through the emailed link and works as an operator there.
    const carl = await w.acceptNew(mail2.token);
    assert.equal(carl.status, 201, carl.text);
    const carlMe = await w.as(carl.json.token)('GET', '/api/v1/me');
    assert.deepEqual(carlMe.json.agencies[0].grants, [{ environment_id: env.id, roles: ['operator'], extra_permissions: [] }]);
    const accepted = await w.as(admin)('GET', `/api/v1/agencies/${agency.id}/invitations?status=accepted`);
    assert.deepEqual(accepted.json.items.map((i) => i.email).sort(),
      ['carl@acme-customer.example', 'erin@acme-customer.example']);
  });

  it('an existing account joins a second agency from the console without new credentials', async () => {
    const first = await w.agencyNew(admin, 'First Co');
    const second = await w.agencyNew(admin, 'Second Co');
    const env2 = await w.environmentNew(admin, second.id, 'Second – live');
    const uId = w.addUser('uma@people.example');
    w.grant(uId, first.id, { roles: 'analyst' });
    const uma = await w.signIn('uma@people.example');
    const asUma = w.as(uma);

    const inv = await w.invite(admin, second.id, {
      email: 'UMA@people.example',
      grants: [{ environment_id: env2.id, roles: ['producer'] }],
    });
    assert.equal(inv.status, 201, inv.text);
    const mail = await w.mailLink('uma@people.example');
    const text = mail.message.parsed.text;
    assert.match(text, /already have an account/, 'the email says to sign in');
    assert.match(text, /no new password is needed/);
    assert.doesNotMatch(text, /choose your password/);
    const facts = await lookup(mail.token);
    assert.equal(facts.json.account_exists, true);
    // Following the link signed out cannot make a second account.
    assertProblem(await w.acceptNew(mail.token, 'a-second-password'), 409, 'account_exists');
    assert.equal(count(`SELECT COUNT(*) FROM users WHERE email = 'uma@people.example'`), 1);

    // The console shows the pending invitation; accepting there needs no token.
    const me = await asUma('GET', '/api/v1/me');
    assert.deepEqual(me.json.pending_invitations.map((p) => [p.id, p.agency.name, p.status]),
      [[inv.json.id, 'Second Co', 'pending']]);
    assert.ok(!('url' in me.json.pending_invitations[0]), 'the console list carries no link');
    const ok = await asUma('POST', `/api/v1/me/invitations/${inv.json.id}/accept`);
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.user.id, uId);
    assert.equal(ok.json.invitation.status, 'accepted');
    assert.ok(!('token' in ok.json), 'no new session for an existing account');
    const after = await asUma('GET', '/api/v1/me');
    assert.deepEqual(after.json.agencies.map((a) => a.name).sort(), ['First Co', 'Second Co']);
    assert.deepEqual(after.json.pending_invitations, []);
    await w.signIn('uma@people.example', PASSWORD); // the old password still works
    assertProblem(await w.acceptNew(mail.token), 409, 'invitation_not_pending');

    // A member is not invited again.
    const again = await w.invite(admin, second.id, { email: 'uma@people.example', grants: [{ roles: ['agent'] }] });
    assertProblem(again, 409, 'already_member', 'email');

    // Removed users can be re-invited at any time.
    w.removeMember(uId, second.id);
    const re = await w.invite(admin, second.id, {
      email: 'uma@people.example',
      grants: [{ environment_id: env2.id, roles: ['analyst'] }],
    });
    assert.equal(re.status, 201, re.text);
    // One pending invitation per address and agency, until it is revoked.
    const dup = await w.invite(admin, second.id, { email: 'uma@people.example', grants: [{ roles: ['agent'] }] });
    assertProblem(dup, 409, 'conflict', 'email');
    assert.equal((await w.as(admin)('DELETE', `/api/v1/invitations/${re.json.id}`)).status, 204);
    const re2 = await w.invite(admin, second.id, {
      email: 'uma@people.example',
      grants: [{ environment_id: env2.id, roles: ['agent'] }],
    });
    assert.equal(re2.status, 201, re2.text);
    await w.mailLink('uma@people.example', 2);

    // Declining from the control panel.
    const listed = await asUma('GET', '/api/v1/me');
    assert.deepEqual(listed.json.pending_invitations.map((p) => p.id), [re2.json.id]);
    const no = await asUma('POST', `/api/v1/me/invitations/${re2.json.id}/decline`);
    assert.equal(no.status, 204, no.text);
    assert.deepEqual((await asUma('GET', '/api/v1/me')).json.pending_invitations, []);
    assertProblem(await asUma('POST', `/api/v1/me/invitations/${re2.json.id}/accept`), 409, 'invitation_not_pending');
    const shown = await w.as(admin)('GET', `/api/v1/invitations/${re2.json.id}`);
    assert.equal(shown.json.status, 'declined');
    assert.equal(count(`SELECT COUNT(*) FROM memberships WHERE agency_id = '${second.id}' AND user_id = '${uId}'`), 0);
  });

  it('names and shortcode reach the member, and the email holds no password', async () => {
    const agency = await w.agencyNew(admin, 'Audite Cloud');
    const env = await w.environmentNew(admin, agency.id, 'Audite – inbox');
    const ownerId = w.addUser('olga@audite.example');
    w.grant(ownerId, agency.id, { roles: 'owner' });
    w.sql(`UPDATE memberships SET shortcode = 'OLGA' WHERE user_id = '${ownerId}'`);
    const olga = await w.signIn('olga@audite.example');

    const bad = await w.invite(olga, agency.id, {
      email: 'giulia@audite.example', shortcode: 'not a code!', grants: [{ roles: ['agent'] }],
    });
    assertProblem(bad, 400, 'invalid_input', 'shortcode');
    const taken = await w.invite(olga, agency.id, {
      email: 'giulia@audite.example', shortcode: 'OLGA', grants: [{ roles: ['agent'] }],
    });
    assertProblem(taken, 409, 'shortcode_taken', 'shortcode');

    const inv = await w.invite(olga, agency.id, {
      email: 'giulia@audite.example',
      first_name: 'Giulia',
      last_name: 'Verdi',
      shortcode: 'GV01',
      grants: [{ environment_id: env.id, roles: ['agent'] }],
    });
    assert.equal(inv.status, 201, inv.text);
    assert.equal(inv.json.first_name, 'Giulia');
    assert.equal(inv.json.last_name, 'Verdi');
    assert.equal(inv.json.shortcode, 'GV01');
    // A pending invitation holds its shortcode too.
    const clash = await w.invite(olga, agency.id, {
      email: 'other@audite.example', shortcode: 'GV01', grants: [{ roles: ['agent'] }],
    });
    assertProblem(clash, 409, 'shortcode_taken', 'shortcode');

    const { message, token } = await w.mailLink('giulia@audite.example');
    const { text, html } = message.parsed;
    assert.match(text, /^Hello Giulia,/);
    assert.match(text, /choose your password/);
    for (const body of [text, html]) {
      assert.doesNotMatch(body, /password\s*[:=]/i, 'no password is given out');
      assert.ok(!body.includes(PASSWORD));
    }
    // The emailed link is the only first-access step: no account exists before it is used.
    assert.equal(count(`SELECT COUNT(*) FROM users WHERE email = 'giulia@audite.example'`), 0);

    // The accept form may send its name fields empty: the invitation's names stay.
    const acc = await w.acceptNew(token, 'giulia-own-password', { first_name: '', last_name: '  ' });
    w.secrets.add('giulia-own-password');
    assert.equal(acc.status, 201, acc.text);
    assert.equal(acc.json.user.first_name, 'Giulia');
    assert.equal(acc.json.user.last_name, 'Verdi');
    const giulia = await w.signIn('giulia@audite.example', 'giulia-own-password');
    const me = await w.as(giulia)('GET', '/api/v1/me');
    assert.equal(me.json.user.first_name, 'Giulia');
    assert.equal(me.json.user.last_name, 'Verdi');
    assert.deepEqual(me.json.agencies.map((a) => [a.name, a.shortcode]), [['Audite Cloud', 'GV01']]);
    // Now a member holds it.
    const later = await w.invite(olga, agency.id, {
      email: 'other@audite.example', shortcode: 'GV01', grants: [{ roles: ['agent'] }],
    });
    assertProblem(later, 409, 'shortcode_taken', 'shortcode');

    // Names given at accept win over the invitation's.
    const inv2 = await w.invite(olga, agency.id, {
      email: 'pietro@audite.example', first_name: 'Piero', shortcode: 'PR02', send_email: false,
      grants: [{ environment_id: env.id, roles: ['agent'] }],
    });
    const url2 = inv2.json.url;
    const acc2 = await w.acceptNew(url2.slice(url2.indexOf('#token=') + 7), PASSWORD, { first_name: 'Pietro', last_name: 'Rossi' });
    assert.equal(acc2.status, 201, acc2.text);
    assert.equal(acc2.json.user.first_name, 'Pietro');
    assert.equal(acc2.json.user.last_name, 'Rossi');
  });
});
