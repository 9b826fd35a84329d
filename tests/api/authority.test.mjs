// Authority, not work, through the real binary: who may grant, change, remove, rename, view as
// and manage invitations for whom. Permissions are authority (users.invite, users.manage,
// audit.read, environment.manage, environments.create, agency.manage, bot.delegate) or work
// (everything else). A manager grants any work permission where they manage people, an authority
// permission only where they hold it; acting on a member takes every authority permission the
// member holds there; nobody changes their own grants; only an owner makes or touches an owner.
//
// The first part plays the studio's help page on inviting users end to end, with real email: the
// provider invites a customer's first environment manager, who brings in the colleagues of the
// environment and nothing beyond it. The second reproduces, one by one, the holes an outside
// review found, each as the attack it was and now refused, with a control that the legitimate
// request still works, and the same hole on the bot managers route. The last part runs the races
// and replays around those requests.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { tokenOf } from './lib/smtp.mjs';
import { ADMIN_EMAIL, startWorld } from './lib/world.mjs';

// The built-in roles' permissions, as the help page and the catalogue describe them.
const AGENT = ['inbox.reply', 'inbox.notify', 'bot.read'];
const ROLE_PERMS = {
  agent: AGENT,
  operator: [...AGENT, 'inbox.start', 'inbox.closed', 'crm.read', 'crm.write'],
  content_manager: ['cms.read', 'cms.write', 'bot.read'],
  analyst: ['analytics.read', 'crm.read', 'bot.read'],
  producer: ['crm.read', 'crm.write', 'cms.read', 'cms.write', 'analytics.read', 'settings.read',
    'settings.write', 'bot.read'],
  developer: ['bot.read', 'bot.develop', 'settings.read'],
  environment_manager: ['users.read', 'users.invite', 'users.manage', 'audit.read',
    'environment.manage', 'bot.read', 'bot.delegate'],
};
const AUTHORITY = ['users.invite', 'users.manage', 'audit.read', 'environment.manage',
  'environments.create', 'agency.manage', 'bot.delegate'];

const sorted = (xs) => [...xs].sort();
const union = (...roles) => sorted(new Set(roles.flatMap((r) => ROLE_PERMS[r])));

// A response for assertion messages, with link tokens, session and API tokens blanked: a failing
// test prints no secret.
function shown(res) {
  const text = String(res.text)
    .replace(/#token=[A-Za-z0-9_-]+/g, '#token=(hidden)')
    .replace(/"(token|csrf_token|secret)"\s*:\s*"[^"]*"/g, '"$1":"(hidden)"');
  return `${res.status} ${text}`;
}

// The answer is a problem document with this status, code and (when given) field.
function problem(res, status, code, field) {
  assert.equal(res.status, status, `expected ${status} ${code}, got ${shown(res)}`);
  assert.match(res.headers['content-type'] || '', /^application\/problem\+json/);
  assert.equal(res.json.code, code, `code of ${shown(res)}`);
  if (field !== undefined) assert.equal(res.json.field, field, `field of ${shown(res)}`);
}

describe('authority, not work: who may grant and act on whom', () => {
  let w;
  const tok = {};
  const ids = {};
  const fx = {};

  const count = (text) => Number(w.sql(text).trim());
  // An invitation's state as an object, or null when there is no such invitation.
  const invitationState = (id) => {
    const out = w.sql(`SELECT status, substr(token_hash, 1, 12), generation, send_count, last_sent_at, expires_at
        FROM invitations WHERE id = '${id}'`).trim();
    if (!out) return null;
    const [status, prefix, ...numbers] = out.split('|');
    const [generation, sendCount, lastSentAt, expiresAt] = numbers.map((v) => (v === '' ? null : Number(v)));
    return {
      status, token_hash_prefix: prefix, generation, send_count: sendCount, last_sent_at: lastSentAt,
      expires_at: expiresAt,
    };
  };
  const invitationsTo = (email) => count(`SELECT COUNT(*) FROM invitations WHERE email = '${email}'`);
  const outboxTo = (email) => count(`SELECT COUNT(*) FROM mail_outbox WHERE recipient = '${email}'`);
  // A member's grants in an agency as "scope:roles:extras", sorted.
  const grantsOf = (agencyId, userId) => w.sql(`SELECT scope_id || ':' || roles || ':' || extra_permissions
      FROM grants WHERE agency_id = '${agencyId}' AND user_id = '${userId}' ORDER BY scope_id`)
    .split('\n').filter(Boolean);
  const lookup = (token) => w.as(undefined)('POST', '/api/v1/invitations/lookup', { token });

  // The decision the studio's services get, asked with an API token of the agency.
  async function allowed(userId, permission, scope) {
    const res = await w.as(fx.apiToken)('POST', '/api/v1/check', { user_id: userId, permission, ...scope });
    assert.equal(res.status, 200, shown(res));
    return res.json.allowed;
  }

  // What a user holds at a scope, as the platform admin sees it.
  async function effective(userId, query) {
    const res = await w.as(tok.admin)('GET', `/api/v1/users/${userId}/effective?${query}`);
    assert.equal(res.status, 200, shown(res));
    return res.json;
  }

  // A person invited by the platform admin into agencyId who accepts through the link (a new
  // account with PASSWORD); their id and session are kept under key.
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

  before(async () => {
    w = await startWorld({ env: { USHER_THREADS: 8 } });
    tok.admin = await w.signIn(ADMIN_EMAIL);
    ids.admin = (await w.as(tok.admin)('GET', '/api/v1/me')).json.user.id;
    fx.A = await w.agencyNew(tok.admin, 'Acme');
    fx.B = await w.agencyNew(tok.admin, 'Globex');
    fx.E1 = await w.environmentNew(tok.admin, fx.A.id, 'Acme – production');
    fx.E2 = await w.environmentNew(tok.admin, fx.A.id, 'Acme – staging');
    fx.EB = await w.environmentNew(tok.admin, fx.B.id, 'Globex – production');
    const bot = async (envId, name) => {
      const res = await w.as(tok.admin)('POST', `/api/v1/environments/${envId}/bots`, { name });
      assert.equal(res.status, 201, shown(res));
      return res.json;
    };
    fx.B1 = await bot(fx.E1.id, 'Support bot');
    fx.B2 = await bot(fx.E2.id, 'Staging bot');
    const A = fx.A.id;
    const E1 = fx.E1.id;
    const E2 = fx.E2.id;
    await person('owner', A, [{ roles: ['owner'] }], { first: 'Olga', last: 'Owner' });
    await person('org', A, [{ roles: ['organisation_manager'] }], { first: 'Oscar', last: 'Organiser' });
    await person('em', A, [{ environment_id: E1, roles: ['environment_manager'] }], { first: 'Emma', last: 'Envman' });
    await person('em2', A, [{ environment_id: E1, roles: ['environment_manager'] }], { first: 'Eli', last: 'Envman' });
    // An environment manager made of extra permissions, without bot.delegate.
    await person('lim', A, [{
      environment_id: E1, roles: [],
      extra_permissions: ['users.read', 'users.invite', 'users.manage', 'audit.read', 'environment.manage', 'bot.read'],
    }], { first: 'Lin', last: 'Limited' });
    // An environment manager who may also create environments, which the others may not.
    await person('topper', A, [{
      environment_id: E1, roles: ['environment_manager'], extra_permissions: ['environments.create'],
    }], { first: 'Tom', last: 'Topper' });
    await person('prod', A, [{ environment_id: E1, roles: ['producer'] }], { first: 'Pat', last: 'Producer' });
    await person('rita', A, [{ environment_id: E1, roles: ['analyst'] }], { first: 'Rita', last: 'Analyst' });
    await person('both', A, [{ environment_id: E1, roles: ['producer'] }, { environment_id: E2, roles: ['producer'] }]);
    await person('duo', A, [{ environment_id: E1, roles: ['producer'] }, { environment_id: E2, roles: ['analyst'] }]);
    await person('agent', A, [{ environment_id: E1, roles: ['agent'] }], { first: 'Alan', last: 'Agent' });
    await person('racer', A, [{ environment_id: E1, roles: ['producer'] }]);
    await person('sam', A, [{ environment_id: E1, roles: ['producer'] }], { first: 'Sam', last: 'Shared' });
    await person('globex', fx.B.id, [{ roles: ['owner'] }], { first: 'Gus', last: 'Globex' });
    // Sam works for Globex too, with the same account.
    const toB = await w.invite(tok.admin, fx.B.id, { email: 'sam@acme.example', grants: [{ roles: ['agent'] }], send_email: false });
    assert.equal(toB.status, 201, shown(toB));
    const joined = await w.as(tok.sam)('POST', '/api/v1/invitations/accept', { token: tokenOf(toB.json.url) });
    assert.equal(joined.status, 200, shown(joined));

    const apiToken = await w.as(tok.owner)('POST', `/api/v1/agencies/${A}/tokens`, { name: 'checks' });
    assert.equal(apiToken.status, 201, shown(apiToken));
    fx.apiToken = apiToken.json.token;
    w.secrets.add(fx.apiToken);
    // Two custom roles: one whose only authority an environment manager holds, one with an
    // authority they do not.
    const role = async (name, permissions) => {
      const res = await w.as(tok.owner)('POST', `/api/v1/agencies/${A}/roles`, { name, permissions });
      assert.equal(res.status, 201, shown(res));
      return res.json;
    };
    fx.inboxLead = await role('Inbox lead', ['inbox.reply', 'inbox.start', 'users.invite']);
    fx.agencyHelper = await role('Agency helper', ['cms.read', 'agency.manage']);
  });

  after(async () => {
    // No link token, session token, API token or password in the server log.
    const log = w.logText();
    for (const secret of w.secrets) assert.ok(!log.includes(secret), 'a secret reached the server log');
    assert.equal(await w.stop(), 0);
  });

  describe('the help page on inviting users, end to end', () => {
    it('lets the first environment manager, invited by email, bring in content manager, analyst, producer and developer colleagues and nothing beyond their environment', async () => {
      // The service provider sets the customer up and invites their first environment manager,
      // who will also man the live chat (Operator).
      const agency = await w.agencyNew(tok.admin, 'Harbour Foods');
      const env = await w.environmentNew(tok.admin, agency.id, 'Harbour – website');
      const other = await w.environmentNew(tok.admin, agency.id, 'Harbour – intranet');
      const first = await w.invite(tok.admin, agency.id, {
        email: 'erin@harbour.example',
        first_name: 'Erin',
        last_name: 'Ops',
        grants: [{ environment_id: env.id, roles: ['environment_manager', 'operator'] }],
      });
      assert.equal(first.status, 201, shown(first));
      const mail = await w.mailLink('erin@harbour.example');
      assert.equal(mail.url, first.json.url, 'the emailed link is the invitation link');
      const erinPassword = 'erin-sets-her-own-1';
      w.secrets.add(erinPassword);
      const acc = await w.acceptNew(mail.token, erinPassword);
      assert.equal(acc.status, 201, shown(acc));
      const erinId = acc.json.user.id;
      const erin = await w.signIn('erin@harbour.example', erinPassword);
      const asErin = w.as(erin);
      let eff = await effective(erinId, `environment_id=${env.id}`);
      assert.deepEqual(sorted(eff.roles), ['environment_manager', 'operator']);
      assert.deepEqual(sorted(eff.permissions), union('environment_manager', 'operator'));
      assert.deepEqual((await effective(erinId, `environment_id=${other.id}`)).permissions, []);
      assert.deepEqual((await effective(erinId, `agency_id=${agency.id}`)).permissions, []);

      // She invites her colleagues into her environment; each joins through the emailed link.
      const colleagues = [
        { email: 'cora@harbour.example', roles: ['content_manager', 'analyst'] },
        { email: 'pete@harbour.example', roles: ['producer'] },
        { email: 'dev@harbour.example', roles: ['developer'] },
      ];
      for (const c of colleagues) {
        const inv = await w.invite(erin, agency.id, { email: c.email, grants: [{ environment_id: env.id, roles: c.roles }] });
        assert.equal(inv.status, 201, `${c.email}: ${shown(inv)}`);
        assert.equal(inv.json.invited_by.id, erinId);
        const link = await w.mailLink(c.email);
        assert.equal(link.url, inv.json.url);
        const joined = await w.acceptNew(link.token);
        assert.equal(joined.status, 201, `${c.email}: ${shown(joined)}`);
        const id = joined.json.user.id;
        eff = await effective(id, `environment_id=${env.id}`);
        assert.deepEqual(sorted(eff.roles), sorted(c.roles), c.email);
        assert.deepEqual(sorted(eff.permissions), union(...c.roles), c.email);
        assert.equal(eff.source, 'environment');
        assert.deepEqual((await effective(id, `environment_id=${other.id}`)).permissions, [], `${c.email} elsewhere`);
        assert.deepEqual((await effective(id, `agency_id=${agency.id}`)).permissions, [], `${c.email} agency-wide`);
      }
      // An environment manager may appoint another one in the same environment.
      const peer = await w.invite(erin, agency.id, {
        email: 'ella@harbour.example', send_email: false,
        grants: [{ environment_id: env.id, roles: ['environment_manager'] }],
      });
      assert.equal(peer.status, 201, shown(peer));

      // What lies beyond her environment is refused, naming the grant that goes too far.
      const refused = async (grants, field, why) => {
        const res = await w.invite(erin, agency.id, { email: 'olive@harbour.example', grants });
        problem(res, 403, 'grant_ceiling', field);
        assert.match(res.json.detail, why);
      };
      await refused([{ roles: ['organisation_manager'] }], 'grants[0]', /users\.invite in this agency/);
      await refused([{ roles: ['operator'] }], 'grants[0]', /users\.invite in this agency/);
      await refused([{ environment_id: env.id, roles: ['producer'] }, { environment_id: other.id, roles: ['operator'] }],
        'grants[1]', /users\.invite in this environment/);
      await refused([{ environment_id: env.id, roles: ['operator'], extra_permissions: ['environments.create'] }],
        'grants[0]', /environments\.create/);
      await refused([{ roles: ['owner'] }], 'grants[0]', /./);
      // The organisation manager role exists for the whole agency only.
      problem(await w.invite(erin, agency.id, {
        email: 'olive@harbour.example', grants: [{ environment_id: env.id, roles: ['organisation_manager'] }],
      }), 400, 'role_scope');
      assert.equal(invitationsTo('olive@harbour.example'), 0);
      assert.equal(outboxTo('olive@harbour.example'), 0);

      // Her own grants are not hers to change, nor to add to by inviting herself.
      problem(await asErin('PUT', `/api/v1/agencies/${agency.id}/users/${erinId}/grants`, {
        grants: [{ environment_id: env.id, roles: ['environment_manager', 'operator', 'producer'] }],
      }), 403, 'own_grants');
      problem(await asErin('DELETE', `/api/v1/environments/${env.id}/users/${erinId}`), 403, 'own_grants');
      for (const email of ['erin@harbour.example', ' Erin@Harbour.EXAMPLE ']) {
        problem(await w.invite(erin, agency.id, {
          email, grants: [{ environment_id: env.id, roles: ['producer'] }],
        }), 403, 'own_grants', 'email');
      }
      problem(await w.invite(erin, agency.id, {
        email: 'erin@harbour.example', grants: [{ environment_id: other.id, roles: ['producer'] }],
      }), 403, 'grant_ceiling', 'grants[0]');
      assert.deepEqual(grantsOf(agency.id, erinId), [`${env.id}:operator,environment_manager:`]);
      eff = await effective(erinId, `environment_id=${env.id}`);
      assert.deepEqual(sorted(eff.permissions), union('environment_manager', 'operator'));
      assert.equal(count(`SELECT COUNT(*) FROM audit_log WHERE agency_id = '${agency.id}'
                          AND action = 'member.grants_replaced'`), 0);
    });
  });

  describe('the holes, each reproduced as the attack and now refused', () => {
    it('keeps an organisation manager in the environment when an environment manager tries to remove them', async () => {
      const E1 = fx.E1.id;
      const A = fx.A.id;
      assert.equal(await allowed(ids.org, 'users.manage', { environment_id: E1 }), true);
      const em = w.as(tok.em);
      problem(await em('DELETE', `/api/v1/environments/${E1}/users/${ids.org}`), 403, 'forbidden');
      problem(await em('DELETE', `/api/v1/agencies/${A}/users/${ids.org}`), 403, 'forbidden');
      problem(await em('PUT', `/api/v1/agencies/${A}/users/${ids.org}/grants`, {
        grants: [{ roles: ['agent'] }],
      }), 403, 'forbidden');
      problem(await em('PATCH', `/api/v1/agencies/${A}/users/${ids.org}`, { shortcode: 'OSC' }), 403, 'forbidden');
      // Nothing changed: the next check still allows them there, and no removal is on record.
      assert.equal(await allowed(ids.org, 'users.manage', { environment_id: E1 }), true);
      assert.equal(await allowed(ids.org, 'environments.create', { agency_id: A }), true);
      assert.deepEqual(grantsOf(A, ids.org), [`${A}:organisation_manager:`]);
      assert.equal(count(`SELECT COUNT(*) FROM audit_log WHERE subject_user_id = '${ids.org}'
                          AND action LIKE 'member.%'`), 0);
      // Nor someone of the same environment who holds an authority the manager lacks.
      problem(await em('DELETE', `/api/v1/environments/${E1}/users/${ids.topper}`), 403, 'forbidden');
      problem(await em('PUT', `/api/v1/agencies/${A}/users/${ids.topper}/grants`, {
        grants: [{ environment_id: E1, roles: ['environment_manager'] }],
      }), 403, 'forbidden');
      assert.deepEqual(grantsOf(A, ids.topper), [`${E1}:environment_manager:environments.create`]);
      assert.equal(await allowed(ids.topper, 'environments.create', { environment_id: E1 }), true);
      // Nor the owner, by an organisation manager.
      const org = w.as(tok.org);
      problem(await org('DELETE', `/api/v1/agencies/${A}/users/${ids.owner}`), 403, 'forbidden');
      problem(await org('DELETE', `/api/v1/environments/${E1}/users/${ids.owner}`), 403, 'forbidden');
      problem(await org('PUT', `/api/v1/agencies/${A}/users/${ids.owner}/grants`, {
        grants: [{ roles: ['owner'] }],
      }), 403, 'forbidden');
      assert.deepEqual(grantsOf(A, ids.owner), [`${A}:owner:`]);

      // A member who works in another environment too: their grants are not the manager's to
      // rewrite, nor their membership to end; their access here is.
      problem(await em('PUT', `/api/v1/agencies/${A}/users/${ids.duo}/grants`, {
        grants: [{ environment_id: E1, roles: ['analyst'] }],
      }), 403, 'forbidden');
      problem(await em('DELETE', `/api/v1/agencies/${A}/users/${ids.duo}`), 403, 'forbidden');
      assert.deepEqual(grantsOf(A, ids.duo), [`${E1}:producer:`, `${fx.E2.id}:analyst:`].sort());
      assert.equal(await allowed(ids.duo, 'analytics.read', { environment_id: fx.E2.id }), true);

      // The same manager does remove someone whose authority they hold: the next check sees it.
      assert.equal(await allowed(ids.rita, 'analytics.read', { environment_id: E1 }), true);
      assert.equal((await em('DELETE', `/api/v1/environments/${E1}/users/${ids.rita}`)).status, 204);
      assert.equal(await allowed(ids.rita, 'analytics.read', { environment_id: E1 }), false);
      assert.equal((await em('DELETE', `/api/v1/environments/${E1}/users/${ids.duo}`)).status, 204);
      assert.equal(await allowed(ids.duo, 'cms.read', { environment_id: E1 }), false);
      assert.equal(await allowed(ids.duo, 'analytics.read', { environment_id: fx.E2.id }), true, 'E2 untouched');
      // And changes the grants of a producer within the environment, up to environment manager.
      const put = await em('PUT', `/api/v1/agencies/${A}/users/${ids.racer}/grants`, {
        grants: [{ environment_id: E1, roles: ['producer', 'environment_manager'] }],
      });
      assert.equal(put.status, 200, shown(put));
      assert.equal(await allowed(ids.racer, 'users.invite', { environment_id: E1 }), true);
      problem(await em('PUT', `/api/v1/agencies/${A}/users/${ids.racer}/grants`, {
        grants: [{ environment_id: E1, roles: ['producer'], extra_permissions: ['environments.create'] }],
      }), 403, 'grant_ceiling', 'grants[0]');
      problem(await em('PUT', `/api/v1/agencies/${A}/users/${ids.racer}/grants`, {
        grants: [{ environment_id: E1, roles: ['producer'] }, { environment_id: fx.E2.id, roles: ['producer'] }],
      }), 403, 'grant_ceiling', 'grants[1]');
      const back = await em('PUT', `/api/v1/agencies/${A}/users/${ids.racer}/grants`, {
        grants: [{ environment_id: E1, roles: ['producer'] }],
      });
      assert.equal(back.status, 200, shown(back));
      assert.equal(await allowed(ids.racer, 'users.invite', { environment_id: E1 }), false);
    });

    it('refuses copying the link of, resending and revoking an invitation that grants more than the manager may, and leaves it working for its invitee', async () => {
      const A = fx.A.id;
      const E1 = fx.E1.id;
      const owner = w.as(tok.owner);
      // Producer in E1, plus what an environment manager lacks: an agency-wide grant; the
      // environments.create authority; a bot manager on a bot (for a manager without bot.delegate).
      const wide = await w.invite(tok.owner, A, {
        email: 'wide@customer.example',
        grants: [{ environment_id: E1, roles: ['producer'] }, { roles: ['analyst'] }],
      });
      assert.equal(wide.status, 201, shown(wide));
      const creator = await w.invite(tok.owner, A, {
        email: 'creator@customer.example',
        grants: [{ environment_id: E1, roles: ['producer', 'environment_manager'], extra_permissions: ['environments.create'] }],
      });
      assert.equal(creator.status, 201, shown(creator));
      const botInv = await owner('POST', `/api/v1/bots/${fx.B1.id}/managers`, { email: 'botty@freelance.example' });
      assert.equal(botInv.status, 201, shown(botInv));
      w.secrets.add(tokenOf(botInv.json.url));
      const idOf = {
        'wide@customer.example': wide.json.id,
        'creator@customer.example': creator.json.id,
        'botty@freelance.example': botInv.json.id,
      };
      const mails = {};
      for (const email of ['wide@customer.example', 'creator@customer.example', 'botty@freelance.example']) {
        mails[email] = await w.mailLink(email);
      }

      const cases = [
        [tok.em, wide.json, 'wide@customer.example'],
        [tok.em, creator.json, 'creator@customer.example'],
        [tok.lim, wide.json, 'wide@customer.example'],
        [tok.lim, creator.json, 'creator@customer.example'],
        [tok.lim, botInv.json, 'botty@freelance.example'],
      ];
      const states = {};
      for (const [, inv] of cases) states[inv.id] = invitationState(inv.id);
      for (const [token, inv, email] of cases) {
        const as = w.as(token);
        problem(await as('GET', `/api/v1/invitations/${inv.id}/link`), 403, 'forbidden');
        problem(await as('GET', `/api/v1/invitations/${inv.id}`), 403, 'forbidden');
        problem(await as('POST', `/api/v1/invitations/${inv.id}/resend`), 403, 'forbidden');
        problem(await as('DELETE', `/api/v1/invitations/${inv.id}`), 403, 'forbidden');
        assert.deepEqual(invitationState(inv.id), states[inv.id], `${email}: the invitation is as it was`);
        assert.equal(w.smtp.to(email).length, 1, `${email}: no second email`);
      }
      // The listing shows a manager only the invitations they could have made.
      const listed = async (token) => {
        const res = await w.as(token)('GET', `/api/v1/agencies/${A}/invitations?status=pending&limit=100`);
        assert.equal(res.status, 200, shown(res));
        return res.json.items.map((i) => i.id);
      };
      const emSees = await listed(tok.em);
      const limSees = await listed(tok.lim);
      for (const id of [wide.json.id, creator.json.id]) {
        assert.ok(!emSees.includes(id) && !limSees.includes(id), 'a listing hides what one may not manage');
      }
      assert.ok(!limSees.includes(botInv.json.id), 'without bot.delegate the bot invitation is hidden');
      // bot.delegate, which an environment manager holds on the bots of their environment, is
      // what the bot invitation takes.
      assert.ok(emSees.includes(botInv.json.id));
      const emCopy = await w.as(tok.em)('GET', `/api/v1/invitations/${botInv.json.id}/link`);
      assert.equal(emCopy.status, 200, shown(emCopy));
      assert.equal(emCopy.json.url, mails['botty@freelance.example'].url);

      // The owner's invitations still work for the people invited, through the emailed links.
      for (const email of ['wide@customer.example', 'creator@customer.example', 'botty@freelance.example']) {
        const { token, url } = mails[email];
        const facts = await lookup(token);
        assert.equal(facts.status, 200, shown(facts));
        assert.equal(facts.json.status, 'pending');
        const copy = await owner('GET', `/api/v1/invitations/${idOf[email]}/link`);
        assert.equal(copy.json.url, url, `${email}: the link is unchanged`);
        const acc = await w.acceptNew(token);
        assert.equal(acc.status, 201, `${email}: ${shown(acc)}`);
      }
      const wideId = w.sql(`SELECT id FROM users WHERE email = 'wide@customer.example'`).trim();
      assert.equal(await allowed(wideId, 'analytics.read', { agency_id: A }), true);

      // An invitation the manager could have made themselves is theirs to manage, whoever made it.
      const fair = await w.invite(tok.owner, A, {
        email: 'fair@customer.example', send_email: false,
        grants: [{ environment_id: E1, roles: ['producer'] }],
      });
      assert.equal(fair.status, 201, shown(fair));
      const em = w.as(tok.em);
      assert.ok((await listed(tok.em)).includes(fair.json.id));
      const copied = await em('GET', `/api/v1/invitations/${fair.json.id}/link`);
      assert.equal(copied.status, 200, shown(copied));
      assert.equal(copied.json.url, fair.json.url);
      const resent = await em('POST', `/api/v1/invitations/${fair.json.id}/resend`);
      assert.equal(resent.status, 200, shown(resent));
      w.secrets.add(tokenOf(resent.json.url));
      const fairMail = await w.mailLink('fair@customer.example');
      assert.equal(fairMail.url, resent.json.url, 'the resent email holds the new link');
      problem(await lookup(tokenOf(fair.json.url)), 404, 'invitation_not_found');
      assert.equal((await em('DELETE', `/api/v1/invitations/${fair.json.id}`)).status, 204);
      assert.equal(invitationState(fair.json.id).status, 'revoked');
      problem(await w.acceptNew(fairMail.token), 409, 'invitation_not_pending');
      assert.equal(count(`SELECT COUNT(*) FROM users WHERE email = 'fair@customer.example'`), 0);
    });

    it('refuses a manager renaming a member, who also works elsewhere, and lets the person and a platform admin do it', async () => {
      const A = fx.A.id;
      const url = `/api/v1/agencies/${A}/users/${ids.sam}`;
      const inB = async () => {
        const res = await w.as(tok.globex)('GET', `/api/v1/agencies/${fx.B.id}/users/${ids.sam}`);
        assert.equal(res.status, 200, shown(res));
        return [res.json.first_name, res.json.last_name];
      };
      const own = async () => {
        const me = await w.as(tok.sam)('GET', '/api/v1/me');
        assert.equal(me.status, 200, shown(me));
        return [me.json.user.first_name, me.json.user.last_name];
      };
      assert.deepEqual(await inB(), ['Sam', 'Shared']);
      for (const who of ['owner', 'org', 'em']) {
        problem(await w.as(tok[who])('PATCH', url, { first_name: 'Hijacked' }), 403, 'names_belong_to_person');
        problem(await w.as(tok[who])('PATCH', url, { last_name: 'Renamed', shortcode: 'SAM' }), 403, 'names_belong_to_person');
      }
      assert.deepEqual(await inB(), ['Sam', 'Shared']);
      assert.deepEqual(await own(), ['Sam', 'Shared']);
      assert.equal(count(`SELECT COUNT(*) FROM audit_log WHERE subject_user_id = '${ids.sam}' AND action = 'member.updated'`), 0);

      // The shortcode is the agency's: its manager sets it, and only in this agency.
      const code = await w.as(tok.owner)('PATCH', url, { shortcode: 'SAM-A' });
      assert.equal(code.status, 200, shown(code));
      assert.equal(code.json.shortcode, 'SAM-A');
      const me = await w.as(tok.sam)('GET', '/api/v1/me');
      const codes = Object.fromEntries(me.json.agencies.map((a) => [a.id, a.shortcode]));
      assert.deepEqual(codes, { [A]: 'SAM-A', [fx.B.id]: null });

      // The person renames themselves through the same route, and a platform admin may.
      const self = await w.as(tok.sam)('PATCH', url, { first_name: 'Samantha' });
      assert.equal(self.status, 200, shown(self));
      assert.deepEqual(await inB(), ['Samantha', 'Shared']);
      const admin = await w.as(tok.admin)('PATCH', url, { last_name: 'Shared-Smith' });
      assert.equal(admin.status, 200, shown(admin));
      assert.deepEqual(await own(), ['Samantha', 'Shared-Smith']);

      // Nor does an invitation rename someone who already has an account: its names are for
      // a new person only.
      const botInv = await w.as(tok.em)('POST', `/api/v1/bots/${fx.B1.id}/managers`, {
        email: 'sam@acme.example', first_name: 'Hijacked', last_name: 'ByInvite', send_email: false,
      });
      assert.equal(botInv.status, 201, shown(botInv));
      w.secrets.add(tokenOf(botInv.json.url));
      const joined = await w.as(tok.sam)('POST', '/api/v1/invitations/accept', { token: tokenOf(botInv.json.url) });
      assert.equal(joined.status, 200, shown(joined));
      assert.deepEqual(await own(), ['Samantha', 'Shared-Smith']);
      assert.deepEqual(await inB(), ['Samantha', 'Shared-Smith']);
    });

    it('refuses an invitation whose grant gives nothing, and sends no email', async () => {
      const A = fx.A.id;
      const E1 = fx.E1.id;
      for (const [token, grants] of [
        [tok.em, [{ environment_id: E1, roles: [] }]],
        [tok.em, [{ environment_id: E1, roles: [], extra_permissions: [] }]],
        [tok.owner, [{ environment_id: E1, roles: [] }]],
        [tok.admin, [{ environment_id: fx.E2.id, roles: [] }]],
        [tok.owner, [{ environment_id: E1, roles: ['agent'] }, { environment_id: fx.E2.id, roles: [] }]],
      ]) {
        problem(await w.invite(token, A, { email: 'nobody@customer.example', grants }), 400, 'empty_grant', 'grants');
      }
      assert.equal(invitationsTo('nobody@customer.example'), 0);
      assert.equal(outboxTo('nobody@customer.example'), 0);
      await sleep(300);
      assert.equal(w.smtp.to('nobody@customer.example').length, 0);
    });

    it('lets an environment manager view as a producer of their environment but not as an organisation manager, an owner, a platform admin, someone with more authority or someone with access elsewhere', async () => {
      const A = fx.A.id;
      const start = (token, userId) => w.as(token)('POST', '/api/v1/impersonation', { user_id: userId, agency_id: A });
      const emToken = await w.signIn('em@acme.example');
      for (const target of [ids.org, ids.owner, ids.both, ids.admin, ids.topper]) {
        problem(await start(emToken, target), 403, 'impersonation_forbidden');
      }
      // An organisation manager holds every authority of the environment manager but not the
      // owner's.
      const orgToken = await w.signIn('org@acme.example');
      problem(await start(orgToken, ids.owner), 403, 'impersonation_forbidden');
      assert.equal(count(`SELECT COUNT(*) FROM audit_log WHERE action = 'impersonation.started'`), 0);
      // The refused attempts left the manager signed in.
      assert.equal((await w.as(emToken)('GET', '/api/v1/me')).status, 200);

      const view = await start(emToken, ids.prod);
      assert.equal(view.status, 201, shown(view));
      w.secrets.add(view.json.token);
      assert.equal(view.json.user.id, ids.prod);
      assert.equal(view.json.impersonator.id, ids.em);
      const back = await w.as(view.json.token)('DELETE', '/api/v1/impersonation');
      assert.equal(back.status, 200, shown(back));
      w.secrets.add(back.json.token);
      tok.em = back.json.token;
      // Whoever manages people in every environment the target works in may view as them.
      const org = await start(orgToken, ids.both);
      assert.equal(org.status, 201, shown(org));
      w.secrets.add(org.json.token);
      const orgBack = await w.as(org.json.token)('DELETE', '/api/v1/impersonation');
      assert.equal(orgBack.status, 200, shown(orgBack));
      tok.org = orgBack.json.token;
      w.secrets.add(tok.org);
    });

    it('answers 404 to another agency\'s ids and shows a member without authority nothing they may grant', async () => {
      const A = fx.A.id;
      const E1 = fx.E1.id;
      const pending = await w.invite(tok.owner, A, {
        email: 'probe@customer.example', send_email: false, grants: [{ environment_id: E1, roles: ['agent'] }],
      });
      assert.equal(pending.status, 201, shown(pending));
      const before = invitationState(pending.json.id);
      const globex = w.as(tok.globex);
      problem(await globex('GET', `/api/v1/agencies/${A}/grantable?environment_id=${E1}`), 404, 'not_found');
      problem(await globex('GET', `/api/v1/agencies/${A}/grantable`), 404, 'not_found');
      problem(await globex('GET', `/api/v1/agencies/${fx.B.id}/grantable?environment_id=${E1}`), 400, 'unknown_scope', 'environment_id');
      problem(await globex('GET', `/api/v1/agencies/${fx.B.id}/grantable?bot_id=${fx.B1.id}`), 400, 'unknown_scope', 'bot_id');
      problem(await globex('DELETE', `/api/v1/environments/${E1}/users/${ids.prod}`), 404, 'not_found');
      problem(await globex('DELETE', `/api/v1/agencies/${A}/users/${ids.prod}`), 404, 'not_found');
      problem(await globex('DELETE', `/api/v1/agencies/${fx.B.id}/users/${ids.prod}`), 404, 'not_found');
      problem(await globex('GET', `/api/v1/invitations/${pending.json.id}/link`), 404, 'not_found');
      problem(await globex('POST', `/api/v1/invitations/${pending.json.id}/resend`), 404, 'not_found');
      problem(await globex('DELETE', `/api/v1/invitations/${pending.json.id}`), 404, 'not_found');
      problem(await w.as(tok.em)('GET', `/api/v1/agencies/${fx.B.id}/grantable`), 404, 'not_found');
      problem(await w.as(tok.em)('DELETE', `/api/v1/environments/${fx.EB.id}/users/${ids.globex}`), 404, 'not_found');
      assert.deepEqual(invitationState(pending.json.id), before);
      assert.equal(await allowed(ids.prod, 'cms.write', { environment_id: E1 }), true);

      // An agent may ask, and is told every role and permission is out of reach, with a reason.
      for (const query of [`environment_id=${E1}`, '', `bot_id=${fx.B1.id}`]) {
        const res = await w.as(tok.agent)('GET', `/api/v1/agencies/${A}/grantable?${query}`);
        assert.equal(res.status, 200, shown(res));
        assert.ok(res.json.roles.length >= 10);
        for (const item of [...res.json.roles, ...res.json.extra_permissions]) {
          assert.equal(item.grantable, false, `${query} ${item.id || item.name}`);
          assert.equal(typeof item.reason, 'string');
          assert.ok(item.reason.length > 0);
        }
      }
      problem(await w.invite(tok.agent, A, {
        email: 'friend@customer.example', grants: [{ environment_id: E1, roles: ['agent'] }],
      }), 403, 'grant_ceiling', 'grants[0]');
    });

    it('offers an environment manager exactly the roles and permissions of their environment, and POST invitations accepts exactly what grantable offers', async () => {
      const A = fx.A.id;
      const E1 = fx.E1.id;
      const E2 = fx.E2.id;
      const em = w.as(tok.em);
      const ask = async (token, query) => {
        const res = await w.as(token)('GET', `/api/v1/agencies/${A}/grantable?${query}`);
        assert.equal(res.status, 200, shown(res));
        return res.json;
      };
      const byId = (answer) => Object.fromEntries(answer.roles.map((r) => [r.id, r]));
      const perms = (answer) => Object.fromEntries(answer.extra_permissions.map((p) => [p.name, p]));

      const here = await ask(tok.em, `environment_id=${E1}&for=invite`);
      assert.deepEqual(here.scope, { type: 'environment', id: E1 });
      assert.equal(here.needs, 'users.invite');
      const roles = byId(here);
      for (const r of ['agent', 'operator', 'content_manager', 'analyst', 'producer', 'developer', 'environment_manager']) {
        assert.equal(roles[r].grantable, true, r);
        assert.equal(roles[r].reason, null, r);
        assert.equal(roles[r].built_in, true);
      }
      for (const r of ['organisation_manager', 'owner']) {
        assert.equal(roles[r].grantable, false, r);
        assert.ok(roles[r].reason.length > 0, r);
      }
      assert.equal(roles.bot_manager.grantable, false);
      assert.match(roles.bot_manager.reason, /single bot/);
      assert.equal(roles[fx.inboxLead.id].grantable, true);
      assert.equal(roles[fx.inboxLead.id].built_in, false);
      assert.equal(roles[fx.agencyHelper.id].grantable, false);
      assert.match(roles[fx.agencyHelper.id].reason, /agency\.manage/);
      const extras = perms(here);
      assert.equal(here.extra_permissions.length, 21);
      for (const p of here.extra_permissions) {
        assert.equal(p.kind, AUTHORITY.includes(p.name) ? 'authority' : 'work', p.name);
        assert.equal(typeof p.description, 'string');
        // Every work permission comes with managing people here; an authority only if held.
        const expected = !AUTHORITY.includes(p.name) || ROLE_PERMS.environment_manager.includes(p.name);
        assert.equal(p.grantable, expected, p.name);
      }
      assert.equal(extras['environments.create'].grantable, false);
      assert.match(extras['environments.create'].reason, /environments\.create/);
      assert.equal(extras['cms.write'].grantable, true);

      const manage = await ask(tok.em, `environment_id=${E1}&for=manage`);
      assert.equal(manage.needs, 'users.manage');
      assert.deepEqual(manage.roles.map((r) => [r.id, r.grantable]), here.roles.map((r) => [r.id, r.grantable]));
      problem(await em('GET', `/api/v1/agencies/${A}/grantable?environment_id=${E1}&for=everything`), 400, 'invalid_input', 'for');

      // Elsewhere, nothing.
      for (const query of [`environment_id=${E2}`, '', `bot_id=${fx.B2.id}`]) {
        const there = await ask(tok.em, query);
        for (const item of [...there.roles, ...there.extra_permissions]) {
          assert.equal(item.grantable, false, `${query || 'agency'}: ${item.id || item.name}`);
          assert.ok(item.reason.length > 0);
        }
      }
      // On a bot of the environment: bot managers, by bot.delegate.
      const onBot = await ask(tok.em, `bot_id=${fx.B1.id}`);
      assert.equal(onBot.needs, 'bot.delegate');
      assert.deepEqual(onBot.roles.filter((r) => r.grantable).map((r) => r.id), ['bot_manager']);
      // An organisation manager may make organisation managers, but only an owner makes owners.
      const orgRoles = byId(await ask(tok.org, ''));
      assert.equal(orgRoles.organisation_manager.grantable, true);
      assert.equal(orgRoles.owner.grantable, false);
      assert.match(orgRoles.owner.reason, /owner/);
      assert.equal(byId(await ask(tok.owner, '')).owner.grantable, true);

      // What grantable says is exactly what POST invitations does, role by role and permission by
      // permission, at every kind of scope.
      const catalogue = await w.as(tok.owner)('GET', `/api/v1/agencies/${A}/roles`);
      assert.equal(catalogue.status, 200, shown(catalogue));
      const scopesOf = Object.fromEntries(catalogue.json.items.map((r) => [r.id || r.name, r.scopes]));
      let n = 0;
      const places = [
        [tok.em, 'em', `environment_id=${E1}`, { environment_id: E1 }, 'environment'],
        [tok.em, 'em', `environment_id=${E2}`, { environment_id: E2 }, 'environment'],
        [tok.em, 'em', '', {}, 'agency'],
        [tok.em, 'em', `bot_id=${fx.B1.id}`, { bot_id: fx.B1.id }, 'bot'],
        [tok.lim, 'lim', `bot_id=${fx.B1.id}`, { bot_id: fx.B1.id }, 'bot'],
        [tok.org, 'org', '', {}, 'agency'],
      ];
      for (const [token, who, query, place, scopeType] of places) {
        const answer = await ask(token, query);
        for (const r of answer.roles) {
          const email = `loop${++n}@grantable.example`;
          const res = await w.invite(token, A, { email, send_email: false, grants: [{ ...place, roles: [r.id] }] });
          const what = `${who} ${scopeType} ${query} role ${r.id}: ${shown(res)}`;
          if (r.grantable) assert.equal(res.status, 201, what);
          else if (scopesOf[r.id].includes(scopeType)) problem(res, 403, 'grant_ceiling', 'grants[0]');
          else problem(res, 400, 'role_scope', 'grants[0].roles[0]');
          if (!r.grantable) assert.equal(invitationsTo(email), 0, what);
        }
        for (const p of answer.extra_permissions) {
          const email = `loop${++n}@grantable.example`;
          const res = await w.invite(token, A, {
            email, send_email: false, grants: [{ ...place, roles: [], extra_permissions: [p.name] }],
          });
          const what = `${who} ${scopeType} ${query} permission ${p.name}: ${shown(res)}`;
          if (p.grantable) assert.equal(res.status, 201, what);
          else problem(res, 403, 'grant_ceiling', 'grants[0]');
        }
      }

      // And for=manage is exactly what PUT grants does to a member of the environment.
      const put = (grant) => em('PUT', `/api/v1/agencies/${A}/users/${ids.racer}/grants`, { grants: [grant] });
      for (const r of manage.roles) {
        const res = await put({ environment_id: E1, roles: [r.id] });
        const what = `manage role ${r.id}: ${shown(res)}`;
        if (r.grantable) assert.equal(res.status, 200, what);
        else if (scopesOf[r.id].includes('environment')) problem(res, 403, 'grant_ceiling', 'grants[0]');
        else problem(res, 400, 'role_scope', 'grants[0].roles[0]');
      }
      for (const p of manage.extra_permissions) {
        const res = await put({ environment_id: E1, roles: [], extra_permissions: [p.name] });
        const what = `manage permission ${p.name}: ${shown(res)}`;
        if (p.grantable) assert.equal(res.status, 200, what);
        else problem(res, 403, 'grant_ceiling', 'grants[0]');
      }
      assert.equal((await put({ environment_id: E1, roles: ['producer'] })).status, 200);
      assert.deepEqual(grantsOf(A, ids.racer), [`${E1}:producer:`]);
    });
  });

  describe('the same hole on the bot managers route', () => {
    it('keeps an organisation manager\'s and an owner\'s bot grants from an environment manager who delegates the bot', async () => {
      const A = fx.A.id;
      const B1 = fx.B1.id;
      // The owner and the organisation manager also manage the support bot, at the
      // environment manager's invitation (bot managers are invited even when already members).
      for (const key of ['org', 'owner']) {
        const inv = await w.as(tok.em)('POST', `/api/v1/bots/${B1}/managers`, { email: `${key}@acme.example`, send_email: false });
        assert.equal(inv.status, 201, shown(inv));
        w.secrets.add(tokenOf(inv.json.url));
        const acc = await w.as(tok[key])('POST', '/api/v1/invitations/accept', { token: tokenOf(inv.json.url) });
        assert.equal(acc.status, 200, shown(acc));
      }
      assert.equal(await allowed(ids.org, 'bot.develop', { bot_id: B1 }), true);
      problem(await w.as(tok.em)('POST', `/api/v1/bots/${B1}/managers`, { email: 'EM@acme.example', send_email: false }),
        403, 'own_grants', 'email');
      // Acting on a member takes every authority they hold there; an owner only by an owner.
      const em = w.as(tok.em);
      problem(await em('DELETE', `/api/v1/bots/${B1}/managers/${ids.org}`), 403, 'forbidden');
      problem(await em('DELETE', `/api/v1/bots/${B1}/managers/${ids.owner}`), 403, 'forbidden');
      assert.equal(await allowed(ids.org, 'bot.develop', { bot_id: B1 }), true, 'the organisation manager keeps the bot');
      assert.deepEqual(grantsOf(A, ids.org), [`${A}:organisation_manager:`, `${B1}:bot_manager:`].sort());
      assert.deepEqual(grantsOf(A, ids.owner), [`${A}:owner:`, `${B1}:bot_manager:`].sort());
      // Without bot.delegate, nobody's bot grant is one's to remove.
      const botty = w.sql(`SELECT id FROM users WHERE email = 'botty@freelance.example'`).trim();
      problem(await w.as(tok.lim)('DELETE', `/api/v1/bots/${B1}/managers/${botty}`), 403, 'forbidden');
      // A plain bot manager is the environment manager's to remove, and the owner removes the
      // organisation manager's bot grant.
      assert.equal(await allowed(botty, 'bot.develop', { bot_id: B1 }), true);
      assert.equal((await em('DELETE', `/api/v1/bots/${B1}/managers/${botty}`)).status, 204);
      assert.equal(await allowed(botty, 'bot.develop', { bot_id: B1 }), false);
      assert.equal((await w.as(tok.owner)('DELETE', `/api/v1/bots/${B1}/managers/${ids.org}`)).status, 204);
      assert.equal(await allowed(ids.org, 'bot.develop', { bot_id: B1 }), false);
    });
  });

  describe('races and replays', () => {
    it('leaves one consistent result, matched by the audit rows, when two managers replace one member\'s grants at once', async () => {
      const A = fx.A.id;
      const E1 = fx.E1.id;
      const url = `/api/v1/agencies/${A}/users/${ids.racer}/grants`;
      // The grant-change audit rows of the racer, oldest first, as {actor, details}.
      const mine = () => w.sql(`SELECT actor_id || '|' || details FROM audit_log
          WHERE subject_user_id = '${ids.racer}' AND action = 'member.grants_replaced' ORDER BY id`)
        .split('\n').filter(Boolean).map((line) => {
          const bar = line.indexOf('|');
          return { actor: line.slice(0, bar), details: JSON.parse(line.slice(bar + 1)) };
        });
      const already = mine().length;
      const choices = [['analyst'], ['content_manager']];
      let ok = 0;
      for (let round = 0; round < 8; round++) {
        const answers = await Promise.all([
          w.as(tok.em)('PUT', url, { grants: [{ environment_id: E1, roles: choices[0] }] }),
          w.as(tok.em2)('PUT', url, { grants: [{ environment_id: E1, roles: choices[1] }] }),
        ]);
        for (const res of answers) {
          assert.ok(res.status === 200 || res.status === 503, shown(res));
          ok += res.status === 200;
        }
      }
      assert.ok(ok >= 8, `at least one change per round went through (${ok})`);
      const rows = mine().slice(already);
      assert.equal(rows.length, ok, 'one audit row per change that answered 200');
      for (const r of rows) assert.ok([ids.em, ids.em2].includes(r.actor));
      // Each change starts from what the one before it left: no update was lost.
      for (let i = 1; i < rows.length; i++) {
        assert.deepEqual(rows[i].details.previous, rows[i - 1].details.grants, `row ${i}`);
      }
      const last = rows[rows.length - 1].details.grants;
      assert.equal(last.length, 1);
      assert.deepEqual(grantsOf(A, ids.racer), [`${E1}:${last[0].roles.join(',')}:`]);
      const isContent = last[0].roles.includes('content_manager');
      assert.equal(await allowed(ids.racer, 'cms.write', { environment_id: E1 }), isContent);
      assert.equal(await allowed(ids.racer, 'analytics.read', { environment_id: E1 }), !isContent);
    });

    it('lets a manager whose authority is taken away at the same moment act before it goes or not at all', async () => {
      const A = fx.A.id;
      const E1 = fx.E1.id;
      const owner = w.as(tok.owner);
      const emGrants = (roles) => owner('PUT', `/api/v1/agencies/${A}/users/${ids.em}/grants`, {
        grants: [{ environment_id: E1, roles }],
      });
      const auditId = (action, subject) => Number(w.sql(`SELECT COALESCE(MAX(id), 0) FROM audit_log
          WHERE action = '${action}' AND subject_user_id = '${subject}'`).trim());
      const outcomes = new Set();
      for (let round = 0; round < 6; round++) {
        const victim = await person(`victim${round}`, A, [{ environment_id: E1, roles: ['producer'] }]);
        const [demote, remove] = await Promise.all([
          emGrants(['producer']),
          w.as(tok.em)('DELETE', `/api/v1/environments/${E1}/users/${victim}`),
        ]);
        assert.equal(demote.status, 200, shown(demote));
        const demotedAt = auditId('member.grants_replaced', ids.em);
        const removedAt = auditId('member.removed_from_environment', victim);
        if (remove.status === 204) {
          outcomes.add('before');
          assert.ok(removedAt > 0 && removedAt < demotedAt, 'the removal is recorded before the demotion');
          assert.equal(await allowed(victim, 'cms.read', { environment_id: E1 }), false);
        } else {
          outcomes.add('refused');
          assert.ok(remove.status === 403 || remove.status === 503, shown(remove));
          assert.equal(removedAt, 0, 'no removal is recorded');
          assert.equal(await allowed(victim, 'cms.read', { environment_id: E1 }), true);
          assert.deepEqual(grantsOf(A, victim), [`${E1}:producer:`]);
        }
        // Demoted, the manager removes nobody.
        const late = await w.as(tok.em)('DELETE', `/api/v1/environments/${E1}/users/${ids.prod}`);
        problem(late, 403, 'forbidden');
        assert.equal((await emGrants(['environment_manager'])).status, 200);
      }
      assert.ok(outcomes.size >= 1);
      assert.equal(await allowed(ids.prod, 'cms.write', { environment_id: E1 }), true);
    });

    it('refuses a revoked link replayed, a link replaced by a resend, and lets a revoke racing an accept win only one way', async () => {
      const A = fx.A.id;
      const E1 = fx.E1.id;
      const owner = w.as(tok.owner);
      const inv = await w.invite(tok.owner, A, { email: 'replay@customer.example', grants: [{ environment_id: E1, roles: ['agent'] }] });
      assert.equal(inv.status, 201, shown(inv));
      const { token } = await w.mailLink('replay@customer.example');
      assert.equal((await owner('DELETE', `/api/v1/invitations/${inv.json.id}`)).status, 204);
      for (let i = 0; i < 3; i++) problem(await w.acceptNew(token), 409, 'invitation_not_pending');
      problem(await w.as(undefined)('POST', '/api/v1/invitations/decline', { token }), 409, 'invitation_not_pending');
      assert.equal((await lookup(token)).json.status, 'revoked');
      problem(await owner('GET', `/api/v1/invitations/${inv.json.id}/link`), 409, 'invitation_not_pending');
      problem(await owner('POST', `/api/v1/invitations/${inv.json.id}/resend`), 409, 'invitation_not_pending');
      assert.equal(count(`SELECT COUNT(*) FROM users WHERE email = 'replay@customer.example'`), 0);

      // A link replaced by a resend is dead; the new one works once.
      const again = await w.invite(tok.owner, A, { email: 'rotate@customer.example', send_email: false, grants: [{ environment_id: E1, roles: ['agent'] }] });
      assert.equal(again.status, 201, shown(again));
      const resent = await owner('POST', `/api/v1/invitations/${again.json.id}/resend`);
      assert.equal(resent.status, 200, shown(resent));
      w.secrets.add(tokenOf(resent.json.url));
      problem(await w.acceptNew(tokenOf(again.json.url)), 404, 'invitation_not_found');
      const fresh = (await w.mailLink('rotate@customer.example')).token;
      assert.equal((await w.acceptNew(fresh)).status, 201);
      problem(await w.acceptNew(fresh), 409, 'invitation_not_pending');

      // A revoke and an accept of one invitation at once: one wins, the state says which.
      for (let round = 0; round < 4; round++) {
        const email = `race${round}@customer.example`;
        const r = await w.invite(tok.em, A, { email, send_email: false, grants: [{ environment_id: E1, roles: ['operator'] }] });
        assert.equal(r.status, 201, shown(r));
        const [revoke, acceptRes] = await Promise.all([
          w.as(tok.em)('DELETE', `/api/v1/invitations/${r.json.id}`),
          w.acceptNew(tokenOf(r.json.url)),
        ]);
        const status = invitationState(r.json.id).status;
        const users = count(`SELECT COUNT(*) FROM users WHERE email = '${email}'`);
        if (acceptRes.status === 201) {
          assert.equal(status, 'accepted');
          assert.equal(users, 1);
          assert.ok(revoke.status === 409 || revoke.status === 503, `revoke after accept: ${revoke.status}`);
        } else {
          assert.ok([409, 503].includes(acceptRes.status), `accept: ${shown(acceptRes)}`);
          assert.equal(users, 0);
          assert.equal(status, revoke.status === 204 ? 'revoked' : 'pending');
        }
        assert.ok(!(acceptRes.status === 201 && revoke.status === 204), 'not both');
      }
    });
  });
});
