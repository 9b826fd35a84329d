// Per-bot delegation (docs/rules.md, Invitations): the bot's owner invites managers by email from the bot's
// Options tab, each invitee registers with the invited address through the link (or, already
// having an account, accepts from the control panel), the bot then shows the Shared badge,
// and removing the last manager clears it. Through the real binary.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { startUsher } from './lib/harness.mjs';

const ADMIN_EMAIL = 'provider@example.com';
const PASSWORD = 'correct horse battery staple';

function tokenOf(url) {
  const m = /#token=([A-Za-z0-9_-]+)$/.exec(url);
  assert.ok(m, 'the link carries the token in its fragment');
  return m[1];
}

describe('bot managers', () => {
  let usher;
  const fx = {};
  const tokens = {};
  const as = (who) => (method, urlPath, body) =>
    usher.api(method, urlPath, { token: tokens[who], body });

  async function signIn(email, password = PASSWORD) {
    const res = await usher.api('POST', '/api/v1/sessions', { body: { email, password } });
    assert.equal(res.status, 201, `sign-in as ${email}: ${res.status} ${res.json?.code}`);
    return res.json.token;
  }

  // Invites email with grants as `who` and accepts as a new user; returns the new token.
  async function onboard(who, agencyId, email, grants) {
    const inv = await as(who)('POST', `/api/v1/agencies/${agencyId}/invitations`, {
      email, grants, send_email: false,
    });
    assert.equal(inv.status, 201, inv.text);
    const acc = await usher.api('POST', '/api/v1/invitations/accept', {
      body: { token: tokenOf(inv.json.url), password: PASSWORD },
    });
    assert.equal(acc.status, 201, acc.text);
    return acc.json.token;
  }

  const botShared = async (who, envId, botId) => {
    const res = await as(who)('GET', `/api/v1/environments/${envId}/bots`);
    assert.equal(res.status, 200, res.text);
    return res.json.items.find((b) => b.id === botId).shared;
  };

  before(async () => {
    usher = await startUsher({
      env: { USHER_ADMIN_EMAIL: ADMIN_EMAIL, USHER_ADMIN_PASSWORD: PASSWORD },
    });
    tokens.admin = await signIn(ADMIN_EMAIL);
    const admin = as('admin');
    const make = async (urlPath, name) => {
      const res = await admin('POST', urlPath, { name });
      assert.equal(res.status, 201, res.text);
      return res.json;
    };
    fx.A = await make('/api/v1/agencies', 'Acme');
    fx.B = await make('/api/v1/agencies', 'Globex');
    fx.E1 = await make(`/api/v1/agencies/${fx.A.id}/environments`, 'Acme – production');
    fx.EB = await make(`/api/v1/agencies/${fx.B.id}/environments`, 'Globex – production');
    fx.bot = await make(`/api/v1/environments/${fx.E1.id}/bots`, 'Support bot');
    fx.other = await make(`/api/v1/environments/${fx.E1.id}/bots`, 'Sales bot');
    fx.botB = await make(`/api/v1/environments/${fx.EB.id}/bots`, 'Globex bot');
    tokens.owner = await onboard('admin', fx.A.id, 'owner@acme.example', [
      { environment_id: fx.E1.id, roles: ['environment_manager', 'developer'] },
    ]);
    tokens.operator = await onboard('admin', fx.A.id, 'operator@acme.example', [
      { environment_id: fx.E1.id, roles: ['operator'] },
    ]);
    tokens.globex = await onboard('admin', fx.B.id, 'owner@globex.example', [
      { roles: ['owner'] },
    ]);
  });

  after(async () => {
    assert.equal(await usher.stop(), 0);
  });

  it('invites a manager who registers with the invited address and makes the bot shared', async () => {
    const owner = as('owner');
    assert.equal(await botShared('owner', fx.E1.id, fx.bot.id), false);
    const inv = await owner('POST', `/api/v1/bots/${fx.bot.id}/managers`, {
      email: 'Helper@Partner.example', send_email: false,
    });
    assert.equal(inv.status, 201, inv.text);
    assert.deepEqual(inv.json.grants, [
      { bot_id: fx.bot.id, roles: ['bot_manager'], extra_permissions: [] },
    ]);
    // Pending: listed as invited, the badge not shown yet.
    let list = await owner('GET', `/api/v1/bots/${fx.bot.id}/managers`);
    assert.equal(list.status, 200, list.text);
    assert.deepEqual(list.json.items, []);
    assert.equal(list.json.pending_invitations.length, 1);
    assert.equal(list.json.pending_invitations[0].email, 'helper@partner.example');
    assert.equal(await botShared('owner', fx.E1.id, fx.bot.id), false);

    // Registering with another address is impossible: the account takes the invited email.
    const acc = await usher.api('POST', '/api/v1/invitations/accept', {
      body: { token: tokenOf(inv.json.url), password: PASSWORD, first_name: 'Hal' },
    });
    assert.equal(acc.status, 201, acc.text);
    assert.equal(acc.json.user.email, 'helper@partner.example');
    tokens.helper = acc.json.token;

    list = await owner('GET', `/api/v1/bots/${fx.bot.id}/managers`);
    assert.deepEqual(list.json.items.map((m) => m.email), ['helper@partner.example']);
    assert.equal(list.json.shared, true);
    assert.equal(await botShared('owner', fx.E1.id, fx.bot.id), true);
    assert.equal(await botShared('owner', fx.E1.id, fx.other.id), false);

    // The manager sees and develops that bot only.
    const helper = as('helper');
    const bots = await helper('GET', `/api/v1/environments/${fx.E1.id}/bots`);
    assert.equal(bots.status, 200, bots.text);
    assert.deepEqual(bots.json.items.map((b) => b.id), [fx.bot.id]);
    assert.equal((await helper('GET', `/api/v1/bots/${fx.other.id}`)).status, 403);
  });

  it('lets an existing member accept a bot invitation from the control panel', async () => {
    const inv = await as('owner')('POST', `/api/v1/bots/${fx.bot.id}/managers`, {
      email: 'operator@acme.example', send_email: false,
    });
    assert.equal(inv.status, 201, inv.text);
    const me = await as('operator')('GET', '/api/v1/me');
    const pending = me.json.pending_invitations.map((p) => p.id);
    assert.deepEqual(pending, [inv.json.id]);
    const acc = await as('operator')('POST', `/api/v1/me/invitations/${inv.json.id}/accept`);
    assert.equal(acc.status, 200, acc.text);
    const list = await as('owner')('GET', `/api/v1/bots/${fx.bot.id}/managers`);
    assert.deepEqual(list.json.items.map((m) => m.email).sort(), [
      'helper@partner.example', 'operator@acme.example',
    ]);
    // The operator's environment role is untouched by the bot grant.
    const me2 = await as('operator')('GET', '/api/v1/me');
    const grants = me2.json.agencies.find((a) => a.id === fx.A.id).grants;
    assert.equal(grants.length, 2);
  });

  it('removes managers; the last removal clears the Shared badge and ends bot-only access', async () => {
    const owner = as('owner');
    const list = await owner('GET', `/api/v1/bots/${fx.bot.id}/managers`);
    for (const m of list.json.items) {
      const del = await owner('DELETE', `/api/v1/bots/${fx.bot.id}/managers/${m.user_id}`);
      assert.equal(del.status, 204, del.text);
    }
    assert.equal(await botShared('owner', fx.E1.id, fx.bot.id), false);
    // The external manager had nothing else in the agency: the agency is gone for them.
    assert.equal((await as('helper')('GET', `/api/v1/agencies/${fx.A.id}`)).status, 404);
    // The operator keeps their environment access.
    assert.equal((await as('operator')('GET', `/api/v1/agencies/${fx.A.id}`)).status, 200);
    const again = await owner('DELETE', `/api/v1/bots/${fx.bot.id}/managers/${list.json.items[0].user_id}`);
    assert.equal(again.status, 404);
  });

  it('refuses delegation to those without bot.delegate and hides other agencies', async () => {
    const res = await as('operator')('POST', `/api/v1/bots/${fx.bot.id}/managers`, {
      email: 'x@partner.example',
    });
    assert.equal(res.status, 403, res.text);
    for (const [method, path, body] of [
      ['POST', `/api/v1/bots/${fx.botB.id}/managers`, { email: 'y@partner.example' }],
      ['GET', `/api/v1/bots/${fx.botB.id}/managers`],
      ['DELETE', `/api/v1/bots/${fx.botB.id}/managers/usr_nobody`],
      ['GET', '/api/v1/bots/bot_does_not_exist/managers'],
    ]) {
      const r = await as('owner')(method, path, body);
      assert.equal(r.status, 404, `${method} ${path}: ${r.text}`);
    }
  });

  it('validates the body: one address, no role choice', async () => {
    const owner = as('owner');
    const bad = [
      [{ email: ['a@x.example'] }, 'email'],
      [{ email: 'a@x.example,b@x.example' }, 'email'],
      [{ email: 'a@x.example', roles: ['owner'] }, 'roles'],
      [{ email: 'a@x.example', grants: [] }, 'grants'],
      [{}, 'email'],
    ];
    for (const [body, field] of bad) {
      const res = await owner('POST', `/api/v1/bots/${fx.bot.id}/managers`, body);
      assert.equal(res.status, 400, `${JSON.stringify(body)}: ${res.text}`);
      assert.equal(res.json.field, field);
    }
  });
});
