// The users overview and member management through the real binary (docs/rules.md, Acting on
// a member; Names): listing with search, filters, sorts and cursors; one member with inherited and
// overridden access; names and shortcodes; replacing grants within the ceiling; removal from an
// environment and from the agency, each seen by the very next POST /check; owners; other
// agencies' objects; strict input.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { startUsher } from './lib/harness.mjs';
import { CYRILLIC_OWNER, INVISIBLE, invisibleDetail } from './lib/lookalikes.mjs';

const ADMIN_EMAIL = 'provider@example.com';
const PASSWORD = 'correct horse battery staple';
const BULK = 30;

function assertProblem(res, status, code, field) {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.text}`);
  assert.match(res.headers['content-type'] || '', /^application\/problem\+json/);
  if (code !== undefined) assert.equal(res.json.code, code, res.text);
  if (field !== undefined) assert.equal(res.json.field, field, res.text);
}

const ids = (items) => items.map((i) => i.id);

// Personal values of an audit entry without the names recorded for its people (actor_email,
// subject_first_name, ...), which every entry carries.
const ownValues = (text) => Object.fromEntries(Object.entries(JSON.parse(text))
  .filter(([k]) => !/^(actor|subject|impersonator)_/.test(k)));

describe('users overview and member management', () => {
  let usher;
  const tokens = {};
  const fx = {};

  const sql = (text) => usher.sql(text);

  const q = (v) => (v === null || v === undefined ? 'NULL' : `'${String(v).replaceAll("'", "''")}'`);

  // Every person the tests need comes from here. The named people are invited by the platform
  // admin and accept through the link, as in production. The thirty bulk members (and one
  // pending invitation to an existing member, which the API refuses to create) are written
  // straight into the server's database while it runs, as rows the service itself writes;
  // bulk users have no password.
  const seed = {
    async person(key, agencyId, grants, { first = '', last = '', email = `${key}@acme.example` } = {}) {
      const inv = await as('admin')('POST', `/api/v1/agencies/${agencyId}/invitations`, {
        email, first_name: first, last_name: last, grants, send_email: false,
      });
      assert.equal(inv.status, 201, inv.text);
      const token = new URL(inv.json.url).hash.replace(/^#token=/, '');
      const acc = await usher.api('POST', '/api/v1/invitations/accept', { body: { token, password: PASSWORD } });
      assert.equal(acc.status, 201, `accepting as ${email}: ${acc.status} ${acc.json?.code}`);
      tokens[key] = acc.json.token;
      return acc.json.user.id;
    },
    bulkMember(key, agencyId, { email, first, last, createdAt, activeAt, shortcode, environmentId = null, roles }) {
      const id = `usr_test_${key}`;
      const scope = environmentId || agencyId;
      sql(`INSERT INTO users (id, email, first_name, last_name, created_at, last_active_at)
             VALUES (${q(id)}, ${q(email)}, ${q(first)}, ${q(last)}, 1, ${q(activeAt)});
           INSERT INTO memberships (agency_id, user_id, shortcode, created_at)
             VALUES (${q(agencyId)}, ${q(id)}, ${q(shortcode)}, ${createdAt});
           INSERT INTO grants (id, agency_id, user_id, environment_id, scope_id, roles, created_at)
             VALUES ('grt_${id}', ${q(agencyId)}, ${q(id)}, ${q(environmentId)}, ${q(scope)}, ${q(roles)}, 1);`);
      return id;
    },
    invitationRow(id, agencyId, { email, grants }) {
      const now = Date.now();
      sql(`INSERT INTO invitations (id, agency_id, email, grants, token_nonce, token_hash, created_at,
                                    expires_in_seconds, expires_at)
           VALUES (${q(id)}, ${q(agencyId)}, ${q(email)}, ${q(JSON.stringify(grants))}, 'nonce', 'hash_${id}',
                   ${now}, 3600, ${now + 3600000})`);
    },
  };

  async function signIn(email) {
    const res = await usher.api('POST', '/api/v1/sessions', { body: { email, password: PASSWORD } });
    assert.ok(res.status === 200 || res.status === 201, `sign-in as ${email}: ${res.status} ${res.json?.code}`);
    return res.json.token;
  }

  const as = (who) => (method, urlPath, body) => usher.api(method, urlPath, { token: tokens[who], body });
  const users = (agency = fx.A.id) => `/api/v1/agencies/${agency}/users`;

  // The decision the studio's services get from POST /check (the platform admin may ask).
  async function allowed(userId, permission, scope) {
    const res = await as('admin')('POST', '/api/v1/check', { user_id: userId, permission, ...scope });
    assert.equal(res.status, 200, res.text);
    return res.json.allowed;
  }

  // Every page of a listing of agency (A by default), following next_cursor.
  async function listAll(who, query = '', agency = fx.A.id) {
    const seen = [];
    let cursor = null;
    for (let guard = 0; guard < 100; guard++) {
      const sep = query ? '&' : '';
      const res = await as(who)('GET', `${users(agency)}?${query}${cursor ? `${sep}cursor=${encodeURIComponent(cursor)}` : ''}`);
      assert.equal(res.status, 200, res.text);
      seen.push(...res.json.items);
      if (!res.json.next_cursor) return seen;
      cursor = res.json.next_cursor;
    }
    throw new Error('paging did not end');
  }

  before(async () => {
    // The lapse job runs at start and then hourly, so grants that end during the tests keep their
    // rows: what the lists show of them comes from the reads alone.
    usher = await startUsher({ env: {
      USHER_ADMIN_EMAIL: ADMIN_EMAIL, USHER_ADMIN_PASSWORD: PASSWORD, USHER_GRANT_LAPSE_INTERVAL_SECONDS: '3600',
    } });
    tokens.admin = await signIn(ADMIN_EMAIL);
    const make = async (urlPath, name) => {
      const res = await as('admin')('POST', urlPath, { name });
      assert.equal(res.status, 201, res.text);
      return res.json;
    };
    fx.A = await make('/api/v1/agencies', 'Acme');
    fx.B = await make('/api/v1/agencies', 'Globex');
    fx.E1 = await make(`/api/v1/agencies/${fx.A.id}/environments`, 'Acme – production');
    fx.E2 = await make(`/api/v1/agencies/${fx.A.id}/environments`, 'Acme – staging');
    fx.EB = await make(`/api/v1/agencies/${fx.B.id}/environments`, 'Globex – production');
    fx.B1 = await make(`/api/v1/environments/${fx.E1.id}/bots`, 'Support bot');

    const A = fx.A.id;
    const E1 = fx.E1.id;
    const E2 = fx.E2.id;
    fx.owner = await seed.person('owner', A, [{ roles: ['owner'] }], { first: 'Olga', last: 'Owner' });
    fx.org = await seed.person('org', A, [{ roles: ['organisation_manager'] }], { first: 'Oscar', last: 'Organiser' });
    fx.em1 = await seed.person('em1', A, [{ environment_id: E1, roles: ['environment_manager'] }], { first: 'Emma', last: 'Envman' });
    fx.agent = await seed.person('agent', A, [{ roles: ['agent'] }], { first: 'Alan', last: 'Agent' });
    fx.prod = await seed.person('prod', A, [{ environment_id: E2, roles: ['producer'] }], { first: 'Pat', last: 'Producer' });
    fx.e1only = await seed.person('e1only', A, [{ environment_id: E1, roles: ['agent'] }], { first: 'Ian', last: 'Only' });
    fx.botmgr = await seed.person('botmgr', A, [{ bot_id: fx.B1.id, roles: ['bot_manager'] }], { first: 'Bea', last: 'Botman' });
    fx.leaver = await seed.person('leaver', A, [{ roles: ['analyst'] }], { first: 'Lee', last: 'Leaver' });
    fx.globex = await seed.person('globex', fx.B.id, [{ roles: ['owner'] }], { first: 'Gus', last: 'Globex', email: 'owner@globex.example' });
    // Thirty more members: names that collide, one creation time for every five, some active.
    fx.bulk = [];
    const firsts = ['Zoe', 'yann', 'Xia', 'Will', 'vera'];
    for (let i = 0; i < BULK; i++) {
      const n = String(i).padStart(2, '0');
      fx.bulk.push(seed.bulkMember(`bulk${n}`, A, {
        email: `bulk${n}@bulk.example`, first: firsts[i % 5], last: 'Bulk', createdAt: 100 + Math.floor(i / 5),
        activeAt: i % 3 === 0 ? null : 1000 + (i % 4), shortcode: `BULK-${n}`,
        environmentId: i % 2 === 0 ? null : E1, roles: i % 2 === 0 ? 'analyst' : 'content_manager',
      }));
    }
    // Penny stays invited: a pending invitation with a grant on E2.
    const penny = await as('admin')('POST', `/api/v1/agencies/${A}/invitations`, {
      email: 'penny@acme.example', first_name: 'Penny', last_name: 'Pending', send_email: false,
      grants: [{ environment_id: E2, roles: ['agent'] }],
    });
    assert.equal(penny.status, 201, penny.text);
    fx.penny = penny.json.id;
  });

  after(async () => {
    assert.equal(await usher.stop(), 0);
  });

  describe('GET /agencies/{id}/users', () => {
    it('lists members and invited people, one row each, by name', async () => {
      const res = await as('owner')('GET', `${users()}?limit=200`);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.next_cursor, null);
      const items = res.json.items;
      assert.equal(items.length, 8 + BULK + 1);
      assert.equal(new Set(ids(items)).size, items.length);
      const names = items.map((i) => `${i.first_name} ${i.last_name}`.toLowerCase());
      assert.deepEqual(names, [...names].sort());
      const agent = items.find((i) => i.id === fx.agent);
      assert.deepEqual(Object.keys(agent).sort(), [
        'created_at', 'email', 'environments', 'first_name', 'grants', 'id', 'last_active_at', 'last_name',
        'second_factor', 'shortcode', 'sign_in_methods', 'status',
      ]);
      assert.equal(agent.second_factor, false);
      assert.deepEqual(agent.sign_in_methods, ['password']);
      assert.equal(agent.status, 'active');
      assert.equal(agent.email, 'agent@acme.example');
      assert.deepEqual(agent.grants, [{ roles: ['agent'], extra_permissions: [] }]);
      assert.deepEqual(agent.environments, [{ id: fx.E1.id, name: fx.E1.name }, { id: fx.E2.id, name: fx.E2.name }]);
      assert.ok(!Number.isNaN(Date.parse(agent.created_at)));
      const penny = items.find((i) => i.id === fx.penny);
      assert.equal(penny.status, 'invited');
      assert.equal(penny.invitation_id, fx.penny);
      assert.equal(penny.last_active_at, null);
      assert.deepEqual(penny.grants, [{ environment_id: fx.E2.id, roles: ['agent'], extra_permissions: [] }]);
      assert.deepEqual(penny.environments, [{ id: fx.E2.id, name: fx.E2.name }]);
      const bot = items.find((i) => i.id === fx.botmgr);
      assert.deepEqual(bot.grants, [{ bot_id: fx.B1.id, roles: ['bot_manager'], extra_permissions: [] }]);
      assert.deepEqual(bot.environments.map((e) => e.id), [fx.E1.id]);
      assert.equal(items.find((i) => i.id === fx.bulk[3]).shortcode, 'BULK-03');
      // Signing in counts as activity; never being active is null.
      assert.ok(!Number.isNaN(Date.parse(items.find((i) => i.id === fx.owner).last_active_at)));
      assert.equal(items.find((i) => i.id === fx.bulk[0]).last_active_at, null);
      assert.ok(!ids(items).includes(fx.globex));
    });

    for (const sort of ['name', '-name', 'created', '-created', 'last_active', '-last_active']) {
      it(`pages through sort=${sort} with cursors, without repeats or gaps`, async () => {
        // As the platform admin, whose own activity is not part of the list.
        const whole = (await as('admin')('GET', `${users()}?limit=200&sort=${sort}`)).json.items;
        for (const limit of [1, 7, 13]) {
          const paged = await listAll('admin', `sort=${sort}&limit=${limit}`);
          assert.deepEqual(ids(paged), ids(whole), `limit ${limit}`);
        }
        const key = {
          name: (i) => `${i.first_name} ${i.last_name}`.trim().toLowerCase() || i.email,
          created: (i) => Date.parse(i.created_at),
          last_active: (i) => (i.last_active_at ? Date.parse(i.last_active_at) : 0),
        }[sort.replace('-', '')];
        const keys = whole.map(key);
        const expected = [...keys].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
        if (sort.startsWith('-')) expected.reverse();
        assert.deepEqual(keys, expected);
      });
    }

    it('orders and pages accented, mixed-case and punctuated names byte by byte, members and invited alike', async () => {
      // Names a linguistic collation orders otherwise ("Émile" between "eve" and "Fred"): the
      // order must be the same on every database, and no page may skip or repeat anyone.
      const agency = (await as('admin')('POST', '/api/v1/agencies', { name: 'Accents' })).json.id;
      const people = [['Émile', 'Zola'], ['Zed', 'Zulu'], ['eve', 'Adams'], ['Ève', 'B'], ['Ab', 'c'],
        ['Abb', 'x'], ['Fred', 'F'], ['_under', 'Score'], ['ünal', 'U'], ['a-b', 'Hyphen']];
      for (const [i, [first, last]] of people.entries()) {
        const email = `accent${i}@accents.example`;
        if (i % 2 === 0) {
          await seed.person(`accent${i}`, agency, [{ roles: ['agent'] }], { first, last, email });
        } else {
          const inv = await as('admin')('POST', `/api/v1/agencies/${agency}/invitations`, {
            email, first_name: first, last_name: last, send_email: false, grants: [{ roles: ['agent'] }],
          });
          assert.equal(inv.status, 201, inv.text);
        }
      }
      // The sort key: the name with ASCII letters lower-cased, compared by code point.
      const key = (i) => `${i.first_name} ${i.last_name}`.trim().replace(/[A-Z]/g, (c) => c.toLowerCase());
      for (const sort of ['name', '-name']) {
        const whole = (await as('admin')('GET', `${users(agency)}?limit=200&sort=${sort}`)).json.items;
        assert.equal(whole.length, people.length);
        const keys = whole.map(key);
        const expected = [...keys].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
        if (sort.startsWith('-')) expected.reverse();
        assert.deepEqual(keys, expected);
        for (const limit of [1, 2, 3]) {
          const paged = await listAll('admin', `sort=${sort}&limit=${limit}`, agency);
          assert.deepEqual(ids(paged), ids(whole), `sort=${sort}, limit ${limit}`);
        }
      }
      // A search lower-cases ASCII letters only, the same on every database.
      assert.deepEqual((await listAll('admin', `q=${encodeURIComponent('ÈVE')}`, agency)).map(key), ['Ève b']);
    });

    it('searches first name, last name and email, ignoring case', async () => {
      assert.deepEqual(ids(await listAll('owner', 'q=ALAN')), [fx.agent]);
      assert.deepEqual(ids(await listAll('owner', 'q=alan%20ag')), [fx.agent]);
      assert.deepEqual(ids(await listAll('owner', 'q=envMAN')), [fx.em1]);
      assert.deepEqual(ids(await listAll('owner', 'q=bulk07%40bulk')), [fx.bulk[7]]);
      assert.deepEqual(ids(await listAll('owner', 'q=PENDING')), [fx.penny]);
      assert.equal((await listAll('owner', 'q=yann&limit=2')).length, BULK / 5);
      assert.deepEqual(await listAll('owner', 'q=%25'), []);
    });

    it('filters by environment, role and shortcode', async () => {
      const e1 = await listAll('owner', `environment_id=${fx.E1.id}&limit=9`);
      for (const item of e1) assert.ok(item.environments.some((e) => e.id === fx.E1.id), item.id);
      const e1ids = ids(e1);
      for (const id of [fx.owner, fx.org, fx.em1, fx.agent, fx.e1only, fx.botmgr, ...fx.bulk]) assert.ok(e1ids.includes(id), id);
      assert.ok(!e1ids.includes(fx.prod));
      assert.ok(!e1ids.includes(fx.penny));
      const e2 = ids(await listAll('owner', `environment_id=${fx.E2.id}`));
      assert.ok(e2.includes(fx.prod) && e2.includes(fx.penny) && e2.includes(fx.agent));
      assert.ok(!e2.includes(fx.e1only) && !e2.includes(fx.botmgr) && !e2.includes(fx.bulk[1]));

      const analysts = await listAll('owner', 'role=analyst&limit=4');
      assert.equal(analysts.length, BULK / 2 + 1);
      for (const item of analysts) assert.ok(item.grants.some((g) => g.roles.includes('analyst')), item.id);
      assert.deepEqual(ids(await listAll('owner', 'role=bot_manager')), [fx.botmgr]);
      assert.deepEqual(ids(await listAll('owner', 'role=agent')).sort(), [fx.agent, fx.e1only, fx.penny].sort());
      assert.deepEqual(ids(await listAll('owner', 'shortcode=BULK-03')), [fx.bulk[3]]);
      assert.deepEqual(await listAll('owner', 'shortcode=bulk-03'), []);
      assert.deepEqual(ids(await listAll('owner', `role=content_manager&environment_id=${fx.E1.id}&q=xia`)), [fx.bulk[7], fx.bulk[17], fx.bulk[27]]);
    });

    it('shows an environment manager only the people of their environment', async () => {
      const items = await listAll('em1', 'limit=10');
      const seen = ids(items);
      assert.ok(seen.includes(fx.e1only) && seen.includes(fx.agent) && seen.includes(fx.botmgr));
      assert.ok(!seen.includes(fx.prod));
      assert.ok(!seen.includes(fx.penny));
      for (const item of items) {
        assert.deepEqual(item.environments.map((e) => e.id), [fx.E1.id], item.id);
        for (const g of item.grants) assert.ok(!g.environment_id || g.environment_id === fx.E1.id, item.id);
      }
      assertProblem(await as('em1')('GET', `${users()}?environment_id=${fx.E2.id}`), 403, 'forbidden');
      assertProblem(await as('agent')('GET', users()), 403, 'forbidden');
    });

    const bad = [
      ['sort=bogus', 'sort'], ['sort=-', 'sort'], ['limit=0', 'limit'], ['limit=201', 'limit'], ['limit=ten', 'limit'],
      ['cursor=not-a-cursor', 'cursor'], ['shortcode=a%20b', 'shortcode'],
      [`q=${'x'.repeat(201)}`, 'q'],
    ];
    for (const [query, field] of bad) {
      it(`refuses ${query.slice(0, 30)} naming ${field}`, async () => {
        assertProblem(await as('owner')('GET', `${users()}?${query}`), 400, 'invalid_input', field);
      });
    }

    it('refuses an unknown role, a cursor of another sort and an environment of another agency', async () => {
      assertProblem(await as('owner')('GET', `${users()}?role=wizard`), 400, 'unknown_role', 'role');
      const first = await as('owner')('GET', `${users()}?limit=2&sort=created`);
      assertProblem(await as('owner')('GET', `${users()}?limit=2&sort=name&cursor=${first.json.next_cursor}`),
        400, 'invalid_input', 'cursor');
      assertProblem(await as('owner')('GET', `${users()}?environment_id=${fx.EB.id}`), 400, 'unknown_scope', 'environment_id');
    });
  });

  // The status filter runs on the server, so a filtered page is as full as the limit allows and
  // the cursor reaches every match: an agency whose members and invitations alternate by name.
  describe('GET /agencies/{id}/users?status=', () => {
    const st = {};
    const N = 7;
    const pad = (i) => String(i).padStart(2, '0');
    // An invitation row as the service stores it; status and end chosen by the test.
    function invitationAt(id, agencyId, { email, grants, status = 'pending', expiresAt, createdAt }) {
      sql(`INSERT INTO invitations (id, agency_id, email, first_name, grants, status, token_nonce, token_hash,
                                    created_at, expires_in_seconds, expires_at)
           VALUES (${q(id)}, ${q(agencyId)}, ${q(email)}, ${q(email.slice(0, 3).toUpperCase())},
                   ${q(JSON.stringify(grants))}, ${q(status)}, 'nonce', 'hash_${id}', ${createdAt}, 3600, ${expiresAt})`);
      return id;
    }
    // Every page of a listing with its size, following next_cursor.
    async function pages(query, agency = st.S) {
      const out = [];
      let cursor = null;
      for (let guard = 0; guard < 100; guard++) {
        const res = await as('admin')('GET', `${users(agency)}?${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        assert.equal(res.status, 200, res.text);
        out.push(res.json.items);
        if (!res.json.next_cursor) return out;
        cursor = res.json.next_cursor;
      }
      throw new Error('paging did not end');
    }
    // Pages of query at limit: each but the last full, none empty, together exactly expected.
    async function assertPaged(query, limit, expected) {
      const got = await pages([query, `limit=${limit}`].filter(Boolean).join('&'));
      for (const [i, page] of got.slice(0, -1).entries()) assert.equal(page.length, limit, `${query}: page ${i + 1} is short`);
      if (expected.length) assert.ok(got.at(-1).length > 0, `${query}: an empty last page`);
      const all = got.flat();
      assert.equal(new Set(ids(all)).size, all.length, `${query}: a row repeats`);
      assert.deepEqual(ids(all).sort(), [...expected].sort(), query);
      return all;
    }

    before(async () => {
      st.S = (await as('admin')('POST', '/api/v1/agencies', { name: 'Statuses' })).json.id;
      st.E = (await as('admin')('POST', `/api/v1/agencies/${st.S}/environments`, { name: 'Statuses – live' })).json.id;
      st.E2 = (await as('admin')('POST', `/api/v1/agencies/${st.S}/environments`, { name: 'Statuses – test' })).json.id;
      const now = Date.now();
      st.members = [];
      st.pending = [];
      st.expired = [];
      st.revoked = [];
      // Names p00, p01, ... alternate: even ones members, odd ones pending invitations; the
      // ended invitations take names in between, and none of the three kinds is listed by default.
      for (let i = 0; i < 2 * N; i++) {
        const email = `p${pad(i)}@st.example`;
        if (i % 2 === 0) {
          st.members.push(seed.bulkMember(`st${pad(i)}`, st.S, {
            email, first: `P${pad(i)}`, last: 'Member', createdAt: 500 + i, activeAt: null, shortcode: `ST-${pad(i)}`,
            environmentId: i % 4 === 0 ? st.E : st.E2, roles: i % 4 === 0 ? 'agent' : 'analyst',
          }));
        } else {
          st.pending.push(invitationAt(`inv_st_p${pad(i)}`, st.S, {
            email, createdAt: now - 1000 + i, expiresAt: now + 3600e3,
            grants: [i % 4 === 1 ? { environment_id: st.E, roles: ['agent'] } : { environment_id: st.E2, roles: ['analyst'] }],
          }));
        }
      }
      for (let i = 0; i < 4; i++) {
        const grants = [{ environment_id: st.E, roles: ['agent'] }];
        // Two marked expired, two still pending past their end (the list judges them by the time).
        st.expired.push(invitationAt(`inv_st_x${i}`, st.S, {
          email: `p${pad(2 * i)}x@st.example`, grants, createdAt: now - 5000 + i,
          status: i < 2 ? 'expired' : 'pending', expiresAt: now - 1000,
        }));
        st.revoked.push(invitationAt(`inv_st_r${i}`, st.S, {
          email: `p${pad(2 * i + 1)}r@st.example`, grants, createdAt: now - 4000 + i, status: 'revoked', expiresAt: now + 3600e3,
        }));
      }
    });

    it('lists only members with status=active, in full pages, the cursor walking all', async () => {
      for (const limit of [1, 2, 3]) {
        const all = await assertPaged('status=active', limit, st.members);
        for (const m of all) {
          assert.equal(m.status, 'active', m.id);
          assert.equal(m.invitation_id, undefined, m.id);
        }
      }
      // Without a status, members and pending invitations, as before.
      await assertPaged('', 3, [...st.members, ...st.pending]);
    });

    it('lists only pending invitations with status=invited, in full pages, in every order', async () => {
      for (const sort of ['name', '-name', 'created', '-created', 'last_active', '-last_active']) {
        const all = await assertPaged(`status=invited&sort=${sort}`, 3, st.pending);
        for (const m of all) {
          assert.equal(m.status, 'invited', m.id);
          assert.equal(m.invitation_id, m.id);
        }
        const whole = (await as('admin')('GET', `${users(st.S)}?status=invited&sort=${sort}&limit=200`)).json.items;
        assert.deepEqual(ids(all), ids(whole), `sort=${sort}: pages keep the order`);
      }
    });

    it('lists expired and revoked invitations with status=expired and status=revoked', async () => {
      const expired = await assertPaged('status=expired', 3, st.expired);
      for (const m of expired) assert.equal(m.status, 'expired', m.id);
      assert.deepEqual(expired.find((m) => m.id === st.expired[0]).environments.map((e) => e.id), [st.E]);
      const revoked = await assertPaged('status=revoked', 3, st.revoked);
      for (const m of revoked) {
        assert.equal(m.status, 'revoked', m.id);
        assert.equal(m.invitation_id, m.id);
      }
    });

    it('combines with search, environment, role and shortcode', async () => {
      // Members p00, p04, p08, p12 are agents in E; invitations p01, p05, p09, p13 too; the
      // others are analysts in E2.
      const membersInE = st.members.filter((_, k) => (2 * k) % 4 === 0);
      const pendingInE = st.pending.filter((_, k) => (2 * k + 1) % 4 === 1);
      assert.equal(membersInE.length, 4);
      assert.equal(pendingInE.length, 4);
      await assertPaged(`status=active&environment_id=${st.E}`, 3, membersInE);
      await assertPaged(`status=invited&environment_id=${st.E}`, 3, pendingInE);
      await assertPaged('status=active&role=analyst', 2, st.members.filter((m) => !membersInE.includes(m)));
      await assertPaged('status=invited&role=agent', 3, pendingInE);
      await assertPaged(`status=expired&environment_id=${st.E}&role=agent`, 3, st.expired);
      await assertPaged('status=revoked&role=analyst', 3, []);
      await assertPaged('status=active&q=p0', 2, st.members.slice(0, 5));
      await assertPaged('status=invited&q=p0', 2, st.pending.slice(0, 5));
      await assertPaged('status=expired&q=p00x', 2, [st.expired[0]]);
      await assertPaged('status=active&shortcode=ST-04', 2, [st.members[2]]);
      await assertPaged('status=invited&shortcode=ST-04', 2, []);
    });

    for (const value of ['bogus', 'Active', 'pending', 'all']) {
      it(`refuses status=${value} naming status`, async () => {
        assertProblem(await as('admin')('GET', `${users(st.S)}?status=${value}`), 400, 'invalid_input', 'status');
      });
    }
  });

  describe('invited people', () => {
    it('are listed as invited until they accept, then as the member, with one row throughout', async () => {
      const inv = await as('admin')('POST', `/api/v1/agencies/${fx.A.id}/invitations`, {
        email: 'nina@acme.example', first_name: 'Nina', last_name: 'New', shortcode: 'NINA', send_email: false,
        grants: [{ environment_id: fx.E1.id, roles: ['agent'] }],
      });
      assert.equal(inv.status, 201, inv.text);
      const invited = await listAll('owner', 'q=nina');
      assert.equal(invited.length, 1);
      assert.equal(invited[0].id, inv.json.id);
      assert.equal(invited[0].status, 'invited');
      assert.equal(invited[0].shortcode, 'NINA');
      assert.equal(invited[0].email, 'nina@acme.example');
      // The invitation keeps the shortcode for Nina.
      assertProblem(await as('org')('PATCH', `${users()}/${fx.e1only}`, { shortcode: 'NINA' }), 409, 'shortcode_taken', 'shortcode');
      // An environment manager of E1 sees her too; the detail route knows members only.
      assert.ok(ids(await listAll('em1', 'q=nina')).includes(inv.json.id));
      assertProblem(await as('owner')('GET', `${users()}/${inv.json.id}`), 404, 'not_found');

      const token = new URL(inv.json.url).hash.replace(/^#token=/, '');
      const acc = await usher.api('POST', '/api/v1/invitations/accept', { body: { token, password: PASSWORD } });
      assert.equal(acc.status, 201, acc.text);
      const member = await listAll('owner', 'q=nina');
      assert.equal(member.length, 1);
      assert.equal(member[0].id, acc.json.user.id);
      assert.equal(member[0].status, 'active');
      assert.equal(member[0].shortcode, 'NINA');
      assert.equal(member[0].invitation_id, undefined);
      assert.deepEqual(member[0].grants, [{ environment_id: fx.E1.id, roles: ['agent'], extra_permissions: [] }]);
    });
  });

  describe('GET /agencies/{id}/users/{user_id}', () => {
    it('shows per environment whether access is inherited, overridden or none', async () => {
      const res = await as('owner')('PUT', `${users()}/${fx.leaver}/grants`, {
        grants: [{ roles: ['analyst'] }, { environment_id: fx.E2.id, roles: ['environment_manager'] }],
      });
      assert.equal(res.status, 200, res.text);
      const got = await as('owner')('GET', `${users()}/${fx.leaver}`);
      assert.equal(got.status, 200, got.text);
      const byEnv = Object.fromEntries(got.json.access.map((a) => [a.environment_id, a]));
      assert.equal(byEnv[fx.E1.id].access, 'inherited');
      assert.deepEqual(byEnv[fx.E1.id].roles, ['analyst']);
      assert.ok(byEnv[fx.E1.id].permissions.includes('analytics.read'));
      assert.equal(byEnv[fx.E2.id].access, 'overridden');
      assert.deepEqual(byEnv[fx.E2.id].roles, ['environment_manager']);
      assert.ok(!byEnv[fx.E2.id].permissions.includes('analytics.read'));
      assert.equal(byEnv[fx.E2.id].name, fx.E2.name);
      const prod = await as('owner')('GET', `${users()}/${fx.prod}`);
      const prodE1 = prod.json.access.find((a) => a.environment_id === fx.E1.id);
      assert.equal(prodE1.access, 'none');
      assert.equal(prodE1.removed, false);
      assert.deepEqual(prodE1.permissions, []);
    });

    it('answers 404 for people the caller cannot see', async () => {
      assertProblem(await as('em1')('GET', `${users()}/${fx.prod}`), 404, 'not_found');
      assertProblem(await as('owner')('GET', `${users()}/usr_nobody`), 404, 'not_found');
      const visible = await as('em1')('GET', `${users()}/${fx.agent}`);
      assert.equal(visible.status, 200);
      assert.deepEqual(visible.json.access.map((a) => a.environment_id), [fx.E1.id]);
    });
  });

  describe('PATCH /agencies/{id}/users/{user_id}', () => {
    it('edits trimmed names (the person\'s own) and the shortcode (the agency\'s), and records it', async () => {
      // A manager sets the shortcode; names belong to the person.
      assertProblem(await as('org')('PATCH', `${users()}/${fx.e1only}`, { first_name: 'Iain' }), 403, 'names_belong_to_person');
      const code = await as('org')('PATCH', `${users()}/${fx.e1only}`, { shortcode: 'IAN_1' });
      assert.equal(code.status, 200, code.text);
      const res = await as('e1only')('PATCH', `${users()}/${fx.e1only}`, { first_name: '  Iain ', last_name: 'Only' });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.first_name, 'Iain');
      assert.equal(res.json.shortcode, 'IAN_1');
      // Names sit in the entry's personal row (audit_personal), apart from its details.
      const rows = sql(`SELECT details, (SELECT data FROM audit_personal p WHERE p.entry_id = audit_log.id)
                        FROM audit_log WHERE action = 'member.updated' AND subject_user_id = '${fx.e1only}' ORDER BY id`)
        .trim().split('\n').map((r) => r.split('|')).map(([d, p]) => ({ ...JSON.parse(d), ...(p ? ownValues(p) : {}) }));
      assert.deepEqual(rows, [{ shortcode: 'IAN_1' }, { first_name: 'Iain' }]);
      const listed = await listAll('owner', 'shortcode=IAN_1');
      assert.deepEqual(ids(listed), [fx.e1only]);
    });

    it('keeps shortcodes unique within the agency', async () => {
      assertProblem(await as('org')('PATCH', `${users()}/${fx.agent}`, { shortcode: 'BULK-05' }), 409, 'shortcode_taken', 'shortcode');
      const other = await as('org')('PATCH', `${users()}/${fx.agent}`, { shortcode: 'bulk-05' });
      assert.equal(other.status, 200, other.text);
      const cleared = await as('org')('PATCH', `${users()}/${fx.agent}`, { shortcode: null });
      assert.equal(cleared.status, 200);
      assert.equal(cleared.json.shortcode, null);
      // Another agency may use the same code.
      sql(`UPDATE memberships SET shortcode = 'BULK-05' WHERE user_id = '${fx.globex}'`);
      assert.equal((await as('globex')('GET', `/api/v1/agencies/${fx.B.id}/users?shortcode=BULK-05`)).json.items.length, 1);
    });

    for (const [label, body, field] of [
      ['an unknown field', { first_name: 'A', role: 'owner' }, 'role'],
      ['an email change', { email: 'new@acme.example' }, 'email'],
      ['a number as a name', { first_name: 5 }, 'first_name'],
      ['null as a name', { last_name: null }, 'last_name'],
      ['a name of 201 characters', { first_name: 'é'.repeat(201) }, 'first_name'],
      ['an empty shortcode', { shortcode: '' }, 'shortcode'],
      ['a shortcode with a space', { shortcode: 'A B' }, 'shortcode'],
      ['a shortcode of 33 characters', { shortcode: 'x'.repeat(33) }, 'shortcode'],
      ['a number as shortcode', { shortcode: 12 }, 'shortcode'],
    ]) {
      it(`refuses ${label}`, async () => {
        // Names are checked as the person edits them, the shortcode as a manager does.
        const who = field === 'shortcode' || field === 'role' || field === 'email' ? 'org' : 'e1only';
        const target = who === 'org' ? fx.agent : fx.e1only;
        assertProblem(await as(who)('PATCH', `${users()}/${target}`, body), 400, 'invalid_input', field);
      });
    }

    it('needs authority over the member at their scopes', async () => {
      assertProblem(await as('agent')('PATCH', `${users()}/${fx.e1only}`, { shortcode: 'X1' }), 403, 'forbidden');
      assertProblem(await as('em1')('PATCH', `${users()}/${fx.agent}`, { shortcode: 'X1' }), 403, 'forbidden');
      assertProblem(await as('org')('PATCH', `${users()}/${fx.owner}`, { shortcode: 'X1' }), 403, 'forbidden');
      // Names are nobody's but the person's (and a platform admin's).
      assertProblem(await as('em1')('PATCH', `${users()}/${fx.e1only}`, { last_name: 'Onley' }), 403, 'names_belong_to_person');
      const ok = await as('em1')('PATCH', `${users()}/${fx.e1only}`, { shortcode: 'ONLEY' });
      assert.equal(ok.status, 200, ok.text);
      const fixed = await as('admin')('PATCH', `${users()}/${fx.agent}`, { last_name: 'Agent' });
      assert.equal(fixed.status, 200, fixed.text);
      assert.equal(sql(`SELECT first_name, last_name FROM users WHERE id = '${fx.agent}'`).trim(), 'Alan|Agent');
    });
  });

  describe('look-alike and invisible characters (SECURITY 43)', () => {
    const count = (text) => Number(sql(text).trim());

    for (const c of INVISIBLE) {
      it(`refuses ${c.code} (${c.what}) in the email, names and shortcode of an invitation`, async () => {
        const before = count(`SELECT COUNT(*) FROM invitations WHERE agency_id = '${fx.A.id}'`);
        const good = { email: 'lookalike@acme.example', first_name: 'Jean', last_name: 'Luc', shortcode: 'JL-1', send_email: false, grants: [{ roles: ['agent'] }] };
        for (const [field, value] of [
          ['email', `look${c.char}alike@acme.example`],
          ['email', `lookalike@acme${c.char}.example`],
          ['first_name', `Je${c.char}an`],
          ['last_name', `Luc${c.char}`],
          ['shortcode', `JL${c.char}1`],
        ]) {
          const res = await as('owner')('POST', `/api/v1/agencies/${fx.A.id}/invitations`, { ...good, [field]: value });
          assertProblem(res, 400, 'invalid_input', field);
          assert.equal(res.json.detail, invisibleDetail(field, c));
        }
        assert.equal(count(`SELECT COUNT(*) FROM invitations WHERE agency_id = '${fx.A.id}'`), before);
      });

      it(`refuses ${c.code} (${c.what}) in a member's names and shortcode, changing nothing`, async () => {
        for (const [field, value] of [['first_name', `Al${c.char}an`], ['last_name', `${c.char}Agent`], ['shortcode', `AG${c.char}`]]) {
          // Names are the person's to change, the shortcode a manager's.
          const who = field === 'shortcode' ? 'org' : 'leaver';
          const res = await as(who)('PATCH', `${users()}/${fx.leaver}`, { [field]: value });
          assertProblem(res, 400, 'invalid_input', field);
          assert.equal(res.json.detail, invisibleDetail(field, c));
        }
        assert.equal(sql(`SELECT first_name || '|' || last_name FROM users WHERE id = '${fx.leaver}'`).trim(), 'Lee|Leaver');
        assert.equal(sql(`SELECT COALESCE(shortcode, 'none') FROM memberships WHERE user_id = '${fx.leaver}'`).trim(), 'none');
      });

      it(`refuses ${c.code} (${c.what}) in agency, environment and bot names`, async () => {
        for (const [urlPath, table] of [
          ['/api/v1/agencies', 'agencies'],
          [`/api/v1/agencies/${fx.A.id}/environments`, 'environments'],
          [`/api/v1/environments/${fx.E1.id}/bots`, 'bots'],
        ]) {
          const name = `Acme${c.char} support`;
          const res = await as('admin')('POST', urlPath, { name });
          assertProblem(res, 400, 'invalid_input', 'name');
          assert.equal(res.json.detail, invisibleDetail('name', c));
          assert.equal(count(`SELECT COUNT(*) FROM ${table} WHERE name LIKE 'Acme%support'`), 0);
        }
      });
    }

    it('refuses invisible characters in the names given when accepting, creating no account', async () => {
      const inv = await as('owner')('POST', `/api/v1/agencies/${fx.A.id}/invitations`, {
        email: 'accept.lookalike@acme.example', send_email: false, grants: [{ roles: ['agent'] }],
      });
      assert.equal(inv.status, 201, inv.text);
      const token = new URL(inv.json.url).hash.replace(/^#token=/, '');
      for (const c of INVISIBLE) {
        for (const field of ['first_name', 'last_name']) {
          const res = await usher.api('POST', '/api/v1/invitations/accept', {
            body: { token, password: PASSWORD, [field]: `Ann${c.char}a` },
          });
          assertProblem(res, 400, 'invalid_input', field);
        }
      }
      assert.equal(count("SELECT COUNT(*) FROM users WHERE email = 'accept.lookalike@acme.example'"), 0);
      assert.equal(sql(`SELECT status FROM invitations WHERE id = '${inv.json.id}'`).trim(), 'pending');
    });

    it('keeps the names people have: accents, other scripts, apostrophes and hyphens', async () => {
      for (const [first, last] of [["Seán", "O'Brien"], ['Jean-Luc', 'Picard-Żółć'], ['山田', '太郎'], ['Анна', 'Каренина']]) {
        const res = await as('leaver')('PATCH', `${users()}/${fx.leaver}`, { first_name: first, last_name: last });
        assert.equal(res.status, 200, res.text);
        assert.equal(res.json.first_name, first);
        assert.equal(res.json.last_name, last);
      }
      const back = await as('leaver')('PATCH', `${users()}/${fx.leaver}`, { first_name: 'Lee', last_name: 'Leaver' });
      assert.equal(back.status, 200, back.text);
    });

    it('refuses a look-alike of a role id in grants, naming the item', async () => {
      const grantsBefore = sql(`SELECT scope_id, roles FROM grants WHERE user_id = '${fx.leaver}' ORDER BY scope_id`);
      for (const role of [CYRILLIC_OWNER, 'owner\u200b', 'Owner', ' agent']) {
        assertProblem(await as('owner')('PUT', `${users()}/${fx.leaver}/grants`, { grants: [{ roles: ['analyst', role] }] }),
          400, undefined, 'grants[0].roles[1]');
      }
      const res = await as('owner')('PUT', `${users()}/${fx.leaver}/grants`, { grants: [{ roles: ['owner\u202e'] }] });
      assert.equal(res.json.detail, 'grants[0].roles[0] must not contain invisible or control characters (U+202E)');
      assert.equal(sql(`SELECT scope_id, roles FROM grants WHERE user_id = '${fx.leaver}' ORDER BY scope_id`), grantsBefore);
    });
  });

  describe('PUT /agencies/{id}/users/{user_id}/grants', () => {
    it('replaces every grant of the member in the agency', async () => {
      const res = await as('org')('PUT', `${users()}/${fx.bulk[0]}/grants`, {
        grants: [{ environment_id: fx.E1.id, roles: ['environment_manager'] }, { environment_id: fx.E2.id, roles: ['environment_manager'], extra_permissions: ['environments.create'] }],
      });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json.grants, [
        { environment_id: fx.E1.id, roles: ['environment_manager'], extra_permissions: [] },
        { environment_id: fx.E2.id, roles: ['environment_manager'], extra_permissions: ['environments.create'] },
      ]);
      assert.equal(sql(`SELECT count(*) FROM grants WHERE user_id = '${fx.bulk[0]}'`).trim(), '2');
      // The very next check sees the new grants.
      assert.equal(await allowed(fx.bulk[0], 'users.manage', { environment_id: fx.E1.id }), true);
      assert.equal(await allowed(fx.bulk[0], 'environments.create', { environment_id: fx.E2.id }), true);
      assert.equal(await allowed(fx.bulk[0], 'analytics.read', { environment_id: fx.E2.id }), false);
      assert.equal(await allowed(fx.bulk[0], 'analytics.read', { agency_id: fx.A.id }), false);
      const audit = sql(`SELECT count(*) FROM audit_log WHERE action = 'member.grants_replaced' AND subject_user_id = '${fx.bulk[0]}'`);
      assert.equal(audit.trim(), '1');
    });

    it('keeps an environment manager to their environment and their own permissions', async () => {
      const put = (target, grants) => as('em1')('PUT', `${users()}/${target}/grants`, { grants });
      assertProblem(await put(fx.e1only, [{ roles: ['organisation_manager'] }]), 403, 'grant_ceiling', 'grants[0]');
      assertProblem(await put(fx.e1only, [{ roles: ['agent'] }]), 403, 'grant_ceiling', 'grants[0]');
      assertProblem(await put(fx.e1only, [{ environment_id: fx.E2.id, roles: ['environment_manager'] }]), 403, 'grant_ceiling', 'grants[0]');
      assertProblem(await put(fx.e1only, [{ environment_id: fx.E1.id, roles: ['producer'], extra_permissions: ['environments.create'] }]), 403, 'grant_ceiling', 'grants[0]');
      // Cannot strip what sits at a scope they do not manage (the agent's agency grant).
      assertProblem(await put(fx.agent, [{ environment_id: fx.E1.id, roles: ['environment_manager'] }]), 403, 'forbidden');
      assert.equal(sql(`SELECT roles FROM grants WHERE user_id = '${fx.agent}'`).trim(), 'agent');
      const ok = await put(fx.e1only, [{ environment_id: fx.E1.id, roles: ['environment_manager'] }]);
      assert.equal(ok.status, 200, ok.text);
      assert.deepEqual(ok.json.grants, [{ environment_id: fx.E1.id, roles: ['environment_manager'], extra_permissions: [] }]);
    });

    for (const [label, body, field, code = 'invalid_input'] of [
      ['an empty list', { grants: [] }, 'grants'],
      ['a missing list', {}, 'grants'],
      ['a list that is not an array', { grants: { roles: ['agent'] } }, 'grants'],
      ['an unknown role', { grants: [{ roles: ['wizard'] }] }, 'grants[0].roles[0]', 'unknown_role'],
      ['an unknown field in a grant', { grants: [{ roles: ['agent'], is_admin: true }] }, 'grants[0].is_admin'],
      ['an unknown field in the body', { grants: [{ roles: ['agent'] }], user_id: 'usr_test_agent' }, 'user_id'],
      ['a foreign environment', () => ({ grants: [{ environment_id: fx.EB.id, roles: ['agent'] }] }), 'grants[0].environment_id', 'unknown_scope'],
    ]) {
      it(`refuses ${label}`, async () => {
        const payload = typeof body === 'function' ? body() : body;
        assertProblem(await as('owner')('PUT', `${users()}/${fx.bulk[2]}/grants`, payload), 400, code, field);
      });
    }
  });

  describe('DELETE /environments/{id}/users/{user_id}', () => {
    it('removes the member from one environment although the agency grant would ripple down', async () => {
      assert.equal((await as('agent')('GET', `/api/v1/environments/${fx.E1.id}`)).status, 200);
      assert.equal(await allowed(fx.agent, 'inbox.reply', { environment_id: fx.E1.id }), true);
      const res = await as('em1')('DELETE', `/api/v1/environments/${fx.E1.id}/users/${fx.agent}`);
      assert.equal(res.status, 204, res.text);
      const got = await as('owner')('GET', `${users()}/${fx.agent}`);
      const e1 = got.json.access.find((a) => a.environment_id === fx.E1.id);
      assert.equal(e1.access, 'none');
      assert.equal(e1.removed, true);
      assert.equal(got.json.access.find((a) => a.environment_id === fx.E2.id).access, 'inherited');
      assert.deepEqual(got.json.environments.map((e) => e.id), [fx.E2.id]);
      // The very next check and the agent's own requests see it at once.
      assert.equal(await allowed(fx.agent, 'inbox.reply', { environment_id: fx.E1.id }), false);
      assert.equal(await allowed(fx.agent, 'inbox.reply', { environment_id: fx.E2.id }), true);
      assert.equal(await allowed(fx.agent, 'inbox.reply', { agency_id: fx.A.id }), true);
      assertProblem(await as('agent')('GET', `/api/v1/environments/${fx.E1.id}`), 403, 'forbidden');
      assert.equal((await as('agent')('GET', `/api/v1/environments/${fx.E2.id}`)).status, 200);
      assert.ok(!ids(await listAll('owner', `environment_id=${fx.E1.id}&limit=200`)).includes(fx.agent));
      // The environment manager no longer sees the agent at all.
      assertProblem(await as('em1')('GET', `${users()}/${fx.agent}`), 404, 'not_found');
      const audit = sql(`SELECT scope_type, scope_id FROM audit_log WHERE action = 'member.removed_from_environment' AND subject_user_id = '${fx.agent}'`);
      assert.equal(audit.trim(), `environment|${fx.E1.id}`);
    });

    it('takes bot grants in the environment too', async () => {
      assert.equal(await allowed(fx.botmgr, 'bot.develop', { bot_id: fx.B1.id }), true);
      const res = await as('owner')('DELETE', `/api/v1/environments/${fx.E1.id}/users/${fx.botmgr}`);
      assert.equal(res.status, 204, res.text);
      assert.equal(sql(`SELECT count(*) FROM grants WHERE user_id = '${fx.botmgr}' AND bot_id IS NOT NULL`).trim(), '0');
      assert.equal(await allowed(fx.botmgr, 'bot.develop', { bot_id: fx.B1.id }), false);
      const bot = await as('admin')('GET', `/api/v1/bots/${fx.B1.id}`);
      assert.equal(bot.json.shared, false);
    });

    it('needs users.manage in that environment', async () => {
      assertProblem(await as('em1')('DELETE', `/api/v1/environments/${fx.E2.id}/users/${fx.e1only}`), 403, 'forbidden');
      assertProblem(await as('prod')('DELETE', `/api/v1/environments/${fx.E2.id}/users/${fx.leaver}`), 403, 'forbidden');
      assert.equal(sql(`SELECT count(*) FROM grants WHERE user_id = '${fx.e1only}'`).trim(), '1');
    });
  });

  describe('other agencies', () => {
    it('answers 404 on every endpoint, with no side effect', async () => {
      const before = sql('SELECT user_id, scope_id, roles FROM grants ORDER BY id') + sql('SELECT id, first_name FROM users ORDER BY id');
      const probes = [
        ['globex', 'GET', users(), undefined],
        ['globex', 'GET', `${users()}/${fx.agent}`, undefined],
        ['globex', 'PATCH', `${users()}/${fx.agent}`, { first_name: 'Pwned' }],
        ['globex', 'PUT', `${users()}/${fx.agent}/grants`, { grants: [{ roles: ['owner'] }] }],
        ['globex', 'DELETE', `${users()}/${fx.agent}`, undefined],
        ['globex', 'DELETE', `/api/v1/environments/${fx.E2.id}/users/${fx.agent}`, undefined],
        ['owner', 'GET', `${users()}/${fx.globex}`, undefined],
        ['owner', 'PATCH', `${users()}/${fx.globex}`, { first_name: 'Pwned' }],
        ['owner', 'PUT', `${users()}/${fx.globex}/grants`, { grants: [{ roles: ['agent'] }] }],
        ['owner', 'DELETE', `${users()}/${fx.globex}`, undefined],
        ['owner', 'GET', `${users(fx.B.id)}/${fx.globex}`, undefined],
        ['owner', 'GET', users(fx.B.id), undefined],
        ['owner', 'DELETE', `/api/v1/environments/${fx.EB.id}/users/${fx.globex}`, undefined],
        ['owner', 'DELETE', `/api/v1/environments/${fx.E1.id}/users/${fx.globex}`, undefined],
        ['owner', 'DELETE', `/api/v1/environments/env_unknown/users/${fx.agent}`, undefined],
      ];
      for (const [who, method, url, body] of probes) {
        assertProblem(await as(who)(method, url, body), 404, 'not_found');
      }
      const afterwards = sql('SELECT user_id, scope_id, roles FROM grants ORDER BY id') + sql('SELECT id, first_name FROM users ORDER BY id');
      assert.equal(afterwards, before);
    });
  });

  describe('DELETE /agencies/{id}/users/{user_id}', () => {
    it('never removes or demotes the last owner', async () => {
      assertProblem(await as('owner')('DELETE', `${users()}/${fx.owner}`), 409, 'last_owner');
      assertProblem(await as('admin')('DELETE', `${users()}/${fx.owner}`), 409, 'last_owner');
      assertProblem(await as('owner')('PUT', `${users()}/${fx.owner}/grants`, { grants: [{ roles: ['agent'] }] }), 403, 'own_grants');
      assertProblem(await as('admin')('PUT', `${users()}/${fx.owner}/grants`, { grants: [{ roles: ['agent'] }] }), 409, 'last_owner');
      assertProblem(await as('org')('DELETE', `${users()}/${fx.owner}`), 403, 'forbidden');
      assert.equal((await as('owner')('GET', `/api/v1/agencies/${fx.A.id}`)).status, 200);
    });

    it('removes a member: their grants and pending invitations go, and they lose the agency', async () => {
      seed.invitationRow('inv_test_agent', fx.A.id, { email: 'agent@acme.example', grants: [{ roles: ['operator'] }] });
      assert.equal((await as('agent')('GET', `/api/v1/agencies/${fx.A.id}`)).status, 200);
      const res = await as('org')('DELETE', `${users()}/${fx.agent}`);
      assert.equal(res.status, 204, res.text);
      assert.equal(await allowed(fx.agent, 'inbox.reply', { environment_id: fx.E2.id }), false);
      assert.equal(await allowed(fx.agent, 'bot.read', { agency_id: fx.A.id }), false);
      assertProblem(await as('agent')('GET', `/api/v1/agencies/${fx.A.id}`), 404, 'not_found');
      assertProblem(await as('agent')('GET', `/api/v1/environments/${fx.E2.id}`), 404, 'not_found');
      assertProblem(await as('owner')('GET', `${users()}/${fx.agent}`), 404, 'not_found');
      assert.equal(sql(`SELECT count(*) FROM grants WHERE user_id = '${fx.agent}'`).trim(), '0');
      assert.equal(sql("SELECT status FROM invitations WHERE id = 'inv_test_agent'").trim(), 'revoked');
      assert.ok(!ids(await listAll('owner', 'limit=200')).includes('inv_test_agent'));
      const audit = sql(`SELECT count(*) FROM audit_log WHERE action = 'member.removed' AND subject_user_id = '${fx.agent}'`);
      assert.equal(audit.trim(), '1');
      assertProblem(await as('org')('DELETE', `${users()}/${fx.agent}`), 404, 'not_found');
    });

    it('lets anyone leave, and a second owner lets the first go', async () => {
      assertProblem(await as('prod')('DELETE', `${users()}/${fx.leaver}`), 403, 'forbidden');
      const left = await as('leaver')('DELETE', `${users()}/${fx.leaver}`);
      assert.equal(left.status, 204, left.text);
      assertProblem(await as('leaver')('GET', `/api/v1/agencies/${fx.A.id}`), 404, 'not_found');
      const promoted = await as('owner')('PUT', `${users()}/${fx.org}/grants`, { grants: [{ roles: ['owner'] }] });
      assert.equal(promoted.status, 200, promoted.text);
      const gone = await as('owner')('DELETE', `${users()}/${fx.owner}`);
      assert.equal(gone.status, 204, gone.text);
      assertProblem(await as('org')('DELETE', `${users()}/${fx.org}`), 409, 'last_owner');
    });
  });

  // A grant that has ended counts for nothing from that second on, everywhere: the rows wait for
  // the lapse job (an hour away here), yet no filter, list, column or count may see them.
  describe('grants that end, before the lapse job removes them', () => {
    const lx = {};
    const agencyUsers = () => users(lx.L);
    const grantsOf = async (id) => {
      const res = await as('admin')('GET', `${agencyUsers()}/${id}`);
      assert.equal(res.status, 200, res.text);
      return res.json;
    };
    const listed = async (query) => ids(await listAll('admin', query, lx.L));

    before(async () => {
      const make = async (urlPath, body) => {
        const res = await as('admin')('POST', urlPath, body);
        assert.equal(res.status, 201, res.text);
        return res.json.id;
      };
      lx.L = await make('/api/v1/agencies', { name: 'Lapses' });
      lx.E1 = await make(`/api/v1/agencies/${lx.L}/environments`, { name: 'Lapses – one' });
      lx.E2 = await make(`/api/v1/agencies/${lx.L}/environments`, { name: 'Lapses – two' });
      lx.bot = await make(`/api/v1/environments/${lx.E1}/bots`, { name: 'Lapse bot' });
      lx.role = await make(`/api/v1/agencies/${lx.L}/roles`, { name: 'Season help', permissions: ['cms.read'] });
      lx.owner = await seed.person('lowner', lx.L, [{ roles: ['owner'] }], { first: 'Lou', last: 'Owner', email: 'owner@lapses.example' });
      lx.p = await seed.person('lp', lx.L, [{ environment_id: lx.E2, roles: ['agent'] }], { first: 'Pia', last: 'Temp', email: 'pia@lapses.example' });
      lx.q = await seed.person('lq', lx.L, [{ roles: ['agent'] }], { first: 'Quinn', last: 'Temp', email: 'quinn@lapses.example' });
      lx.r = await seed.person('lr', lx.L, [{ environment_id: lx.E2, roles: ['agent'] }], { first: 'Rae', last: 'Temp', email: 'rae@lapses.example' });
    });

    it('leaves the ended grant out of filters, rows, details, /me, bot managers and role use', async () => {
      // Room for a loaded machine to make every change and look once before the end.
      const until = new Date(Date.now() + 3000);
      const put = async (id, grants) => {
        const res = await as('admin')('PUT', `${agencyUsers()}/${id}/grants`, { grants });
        assert.equal(res.status, 200, res.text);
      };
      const end = until.toISOString();
      // Pia: analyst and the custom role in E1 until the end, agent in E2 for good.
      await put(lx.p, [{ environment_id: lx.E1, roles: ['analyst', lx.role], expires_at: end },
        { environment_id: lx.E2, roles: ['agent'] }]);
      // Quinn: agent agency-wide for good, overridden in E1 by content_manager until the end.
      await put(lx.q, [{ roles: ['agent'] }, { environment_id: lx.E1, roles: ['content_manager'], expires_at: end }]);
      // Rae: the bot's manager until the end, agent in E2 for good.
      await put(lx.r, [{ bot_id: lx.bot, roles: ['bot_manager'], expires_at: end }, { environment_id: lx.E2, roles: ['agent'] }]);

      const before = {
        e1: await listed(`environment_id=${lx.E1}`),
        analyst: await listed('role=analyst'),
        custom: await listed(`role=${lx.role}`),
        contentManager: await listed('role=content_manager'),
        botManager: await listed('role=bot_manager'),
        managers: (await as('admin')('GET', `/api/v1/bots/${lx.bot}/managers`)).json,
        bot: (await as('admin')('GET', `/api/v1/bots/${lx.bot}`)).json,
        roleDelete: await as('admin')('DELETE', `/api/v1/agencies/${lx.L}/roles/${lx.role}`),
        removal: (await as('admin')('GET', `/api/v1/environments/${lx.E1}/deletion-preview`)).json,
      };
      assert.ok(Date.now() < until.getTime(), 'the machine was too slow to look before the end');
      assert.deepEqual(before.e1.sort(), [lx.owner, lx.p, lx.q, lx.r].sort());
      assert.deepEqual(before.analyst, [lx.p]);
      assert.deepEqual(before.custom, [lx.p]);
      assert.deepEqual(before.contentManager, [lx.q]);
      assert.deepEqual(before.botManager, [lx.r]);
      assert.deepEqual(before.managers.items.map((m) => m.user_id), [lx.r]);
      assert.equal(before.managers.shared, true);
      assert.equal(before.bot.shared, true);
      assertProblem(before.roleDelete, 409, 'role_in_use');
      assert.deepEqual(before.removal, { grants_removed: 3, invitations_revoked: 0, people_affected: 3, memberships_ended: 0 });

      await new Promise((r) => setTimeout(r, until.getTime() - Date.now() + 200));
      const rows = `SELECT COUNT(*) FROM grants WHERE agency_id = '${lx.L}' AND expires_at IS NOT NULL`;
      assert.equal(sql(rows).trim(), '3', 'the rows are still there: the lapse job has not run');
      assert.equal(await allowed(lx.p, 'analytics.read', { environment_id: lx.E1 }), false);

      // Filters: the environment and role filters no longer find the ended grants. Quinn stays in
      // E1 through the agency grant, which applies there again.
      assert.deepEqual((await listed(`environment_id=${lx.E1}`)).sort(), [lx.owner, lx.q].sort());
      assert.deepEqual((await listed(`environment_id=${lx.E2}`)).sort(), [lx.owner, lx.q, lx.p, lx.r].sort());
      assert.deepEqual(await listed('role=analyst'), []);
      assert.deepEqual(await listed(`role=${lx.role}`), []);
      assert.deepEqual(await listed('role=content_manager'), []);
      assert.deepEqual(await listed('role=bot_manager'), []);
      assert.deepEqual((await listed('role=agent')).sort(), [lx.p, lx.q, lx.r].sort());

      // Rows and details agree with the filters: the grants and environments columns.
      const all = await listAll('admin', 'limit=2', lx.L);
      const row = (id) => all.find((m) => m.id === id);
      assert.deepEqual(row(lx.p).grants, [{ environment_id: lx.E2, roles: ['agent'], extra_permissions: [] }]);
      assert.deepEqual(row(lx.p).environments.map((e) => e.id), [lx.E2]);
      assert.deepEqual(row(lx.q).grants, [{ roles: ['agent'], extra_permissions: [] }]);
      assert.deepEqual(row(lx.r).grants, [{ environment_id: lx.E2, roles: ['agent'], extra_permissions: [] }]);
      assert.deepEqual(row(lx.r).environments.map((e) => e.id), [lx.E2]);
      const p = await grantsOf(lx.p);
      assert.deepEqual(p.grants.map((g) => g.environment_id), [lx.E2]);
      assert.equal(p.access.find((e) => e.environment_id === lx.E1).access, 'none');
      const q1 = (await grantsOf(lx.q)).access.find((e) => e.environment_id === lx.E1);
      assert.equal(q1.access, 'inherited');
      assert.deepEqual(q1.roles, ['agent']);
      assert.equal(q1.expires_at, undefined);
      assert.deepEqual((await grantsOf(lx.r)).grants.map((g) => g.bot_id || g.environment_id), [lx.E2]);

      // The person's own view, the bot's managers and shared flag, and the custom role's use.
      const me = await as('lp')('GET', '/api/v1/me');
      assert.deepEqual(me.json.agencies.find((a) => a.id === lx.L).grants.map((g) => g.environment_id), [lx.E2]);
      const managers = (await as('admin')('GET', `/api/v1/bots/${lx.bot}/managers`)).json;
      assert.deepEqual(managers.items, []);
      assert.equal(managers.shared, false);
      assert.equal((await as('admin')('GET', `/api/v1/bots/${lx.bot}`)).json.shared, false);
      assert.equal((await as('admin')('GET', `/api/v1/environments/${lx.E1}/bots`)).json.items[0].shared, false);
      assert.equal((await as('admin')('DELETE', `/api/v1/agencies/${lx.L}/roles/${lx.role}`)).status, 204);
      // Deleting E1 now takes the three ended rows, but nobody loses any access with them.
      const removal = await as('admin')('GET', `/api/v1/environments/${lx.E1}/deletion-preview`);
      assert.equal(removal.status, 200, removal.text);
      assert.deepEqual(removal.json, { grants_removed: 3, invitations_revoked: 0, people_affected: 0, memberships_ended: 0 });
      assert.equal(sql(rows).trim(), '3');
    });
  });

  describe('last activity', () => {
    it('is written at sign-in and at most once a minute afterwards', async () => {
      const read = () => sql(`SELECT last_active_at FROM users WHERE id = '${fx.e1only}'`).trim();
      const signedIn = read();
      assert.match(signedIn, /^\d+$/);
      // The first request may record activity when the sign-in is over a minute old.
      await as('e1only')('GET', `/api/v1/agencies/${fx.A.id}`);
      const first = read();
      assert.ok(Number(first) >= Number(signedIn));
      await as('e1only')('GET', `/api/v1/agencies/${fx.A.id}`);
      await as('e1only')('GET', `/api/v1/agencies/${fx.A.id}/environments`);
      assert.equal(read(), first);
    });
  });
});
