// The names of an invitation's places: an invitation answers "places" with the name of each
// environment and bot its grants point at (for the invited person, who cannot read them yet),
// on the managers' routes, GET /me's pending invitations and the public lookup by token, while
// each grant keeps the shape a client sends; a place deleted since is left out.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { ADMIN_EMAIL, startWorld } from './lib/world.mjs';

describe('the places of an invitation', () => {
  let w;
  const tok = {};
  const fx = {};

  before(async () => {
    w = await startWorld();
    tok.admin = await w.signIn(ADMIN_EMAIL);
    fx.A = await w.agencyNew(tok.admin, 'Acme');
    fx.E1 = await w.environmentNew(tok.admin, fx.A.id, 'Acme – production');
    fx.E2 = await w.environmentNew(tok.admin, fx.A.id, 'Acme – staging');
    const bots = `/api/v1/environments/${fx.E1.id}/bots`;
    const bot = await w.as(tok.admin)('POST', bots, { name: 'Support bot' });
    assert.equal(bot.status, 201, bot.text);
    fx.bot = bot.json;
    fx.olaf = w.addUser('olaf@elsewhere.example');
    tok.olaf = await w.signIn('olaf@elsewhere.example');
  });

  after(async () => {
    await w?.stop();
  });

  const expected = () => ({
    environments: { [fx.E1.id]: 'Acme – production', [fx.E2.id]: 'Acme – staging' },
    bots: { [fx.bot.id]: { name: 'Support bot', environment_id: fx.E1.id } },
  });

  it('names each place for managers, in the invitee\'s /me and in the lookup', async () => {
    const res = await w.as(tok.admin)('POST', `/api/v1/agencies/${fx.A.id}/invitations`, {
      email: 'olaf@elsewhere.example',
      grants: [
        { environment_id: fx.E2.id, roles: ['agent'] },
        { bot_id: fx.bot.id, roles: ['bot_manager'] },
        { roles: ['analyst'] },
      ],
    });
    assert.equal(res.status, 201, res.text);
    fx.inv = res.json;
    assert.deepEqual(res.json.places, expected());
    // The grants keep their own shape: no name creeps into them.
    assert.deepEqual(res.json.grants, [
      { environment_id: fx.E2.id, roles: ['agent'], extra_permissions: [] },
      { bot_id: fx.bot.id, roles: ['bot_manager'], extra_permissions: [] },
      { roles: ['analyst'], extra_permissions: [] },
    ]);

    const one = await w.as(tok.admin)('GET', `/api/v1/invitations/${fx.inv.id}`);
    assert.deepEqual(one.json.places, expected());
    const pending = `/api/v1/agencies/${fx.A.id}/invitations?status=pending`;
    const list = await w.as(tok.admin)('GET', pending);
    assert.deepEqual(list.json.items.find((i) => i.id === fx.inv.id).places, expected());

    // Olaf cannot read Acme's places, yet his pending invitation names them.
    const env = await w.as(tok.olaf)('GET', `/api/v1/environments/${fx.E2.id}`);
    assert.ok(env.status === 403 || env.status === 404, `${env.status}`);
    const me = await w.as(tok.olaf)('GET', '/api/v1/me');
    const mine = me.json.pending_invitations.find((i) => i.id === fx.inv.id);
    assert.deepEqual(mine.places, expected());

    const { token } = await w.mailLink('olaf@elsewhere.example');
    const lookup = await w.as(undefined)('POST', '/api/v1/invitations/lookup', { token });
    assert.equal(lookup.status, 200, lookup.text);
    assert.deepEqual(lookup.json.places, expected());
    assert.equal(lookup.json.grants.length, 3);
    for (const g of lookup.json.grants) {
      assert.deepEqual(Object.keys(g).filter((k) => k.endsWith('_name')), []);
    }
  });

  it('leaves out a place deleted since', async () => {
    const del = await w.as(tok.admin)('DELETE', `/api/v1/bots/${fx.bot.id}`);
    assert.ok(del.status < 300, del.text);
    const inv = await w.as(tok.admin)('POST', `/api/v1/agencies/${fx.A.id}/invitations`, {
      email: 'nora@elsewhere.example',
      grants: [{ environment_id: fx.E1.id, roles: ['agent'] }],
    });
    assert.equal(inv.status, 201, inv.text);
    const places = { environments: { [fx.E1.id]: 'Acme – production' }, bots: {} };
    assert.deepEqual(inv.json.places, places);
  });
});
