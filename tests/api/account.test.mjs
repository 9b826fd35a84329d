// Account self-service through the real binary (docs/rules.md, Your own account): a person
// changes their names (PATCH /api/v1/me) and password (POST /api/v1/me/password), lists their
// live sessions and ends one (GET/DELETE /api/v1/me/sessions). A password change proves the
// current password under the sign-in throttle, ends every other session, and is announced by
// an email read here from a real SMTP server. None of it works while viewing as someone or
// with an API token.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { INVISIBLE } from './lib/lookalikes.mjs';
import { assertProblem, PASSWORD, startWorld } from './lib/world.mjs';

const NEW_PASSWORD = 'canary-new-password-b7e2-quiet-harbour';
const WRONG_PASSWORD = 'canary-wrong-current-4d19';
const PAIR_LIMIT = 10; // untrusted failures per account from one address (app/throttle.h)

// Personal values of an audit entry without the names recorded for its people (actor_email,
// subject_first_name, ...), which every entry carries.
const ownValues = (text) => Object.fromEntries(Object.entries(JSON.parse(text))
  .filter(([k]) => !/^(actor|subject|impersonator)_/.test(k)));

describe('account self-service', () => {
  let w;
  const fx = {};

  // The audit rows with action for subject, oldest first, as {actor, impersonator, details}.
  function auditRows(action, subject) {
    // Names and addresses are kept in the entry's personal row (audit_personal), not in details.
    const rows = w.sql(`SELECT actor_id, impersonator_id, source_ip, details,
                          (SELECT data FROM audit_personal p WHERE p.entry_id = audit_log.id)
                        FROM audit_log
                        WHERE action = '${action}' AND subject_user_id = '${subject}' ORDER BY id`);
    return rows.trim().split('\n').filter(Boolean).map((line) => {
      const [actor, impersonator, ip, details, personal] = line.split('|');
      return { actor, impersonator, ip, details: { ...JSON.parse(details), ...(personal ? ownValues(personal) : {}) } };
    });
  }

  // A session with a User-Agent of its own: resolves its token.
  async function signInWith(email, password, agent) {
    const res = await w.usher.api('POST', '/api/v1/sessions', {
      body: { email, password },
      headers: { 'User-Agent': agent },
    });
    assert.equal(res.status, 201, `sign-in as ${email}: ${res.text}`);
    w.secrets.add(res.json.token);
    return res.json.token;
  }

  const me = (token) => w.as(token)('GET', '/api/v1/me');

  before(async () => {
    w = await startWorld();
    w.secrets.add(NEW_PASSWORD);
    w.secrets.add(WRONG_PASSWORD);
    fx.admin = await w.signIn('provider@studio.example');
    fx.A = await w.agencyNew(fx.admin, 'Acme');
  });

  after(async () => {
    if (!w) return;
    const log = w.logText();
    for (const s of w.secrets) assert.ok(!log.includes(s), 'a secret appeared in the log');
    assert.equal(await w.stop(), 0);
  });

  describe('names (PATCH /api/v1/me)', () => {
    it('changes the caller’s own names, with an audit row naming what changed', async () => {
      const id = w.addUser('naming@acme.example');
      const token = await w.signIn('naming@acme.example');
      const res = await w.as(token)('PATCH', '/api/v1/me', { first_name: '  Zoë ', last_name: 'Ångström' });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.user.id, id);
      assert.equal(res.json.user.first_name, 'Zoë');
      assert.equal(res.json.user.last_name, 'Ångström');
      const back = await me(token);
      assert.equal(back.json.user.first_name, 'Zoë');
      assert.equal(w.sql(`SELECT first_name, last_name FROM users WHERE id = '${id}'`).trim(), 'Zoë|Ångström');
      const rows = auditRows('user.updated', id);
      assert.equal(rows.length, 1);
      assert.equal(rows[0].actor, id);
      assert.deepEqual(rows[0].details, { first_name: 'Zoë', last_name: 'Ångström' });

      // Only the given name changes; the same value again writes nothing.
      const one = await w.as(token)('PATCH', '/api/v1/me', { last_name: 'Curie' });
      assert.equal(one.status, 200, one.text);
      assert.equal(w.sql(`SELECT first_name, last_name FROM users WHERE id = '${id}'`).trim(), 'Zoë|Curie');
      assert.deepEqual(auditRows('user.updated', id)[1].details, { last_name: 'Curie' });
      const same = await w.as(token)('PATCH', '/api/v1/me', { last_name: 'Curie' });
      assert.equal(same.status, 200, same.text);
      assert.equal(auditRows('user.updated', id).length, 2);

      // An empty name clears it.
      const cleared = await w.as(token)('PATCH', '/api/v1/me', { first_name: '' });
      assert.equal(cleared.status, 200, cleared.text);
      assert.equal(w.sql(`SELECT first_name FROM users WHERE id = '${id}'`).trim(), '');
    });

    for (const [label, body, field] of [
      ['an unknown field', { first_name: 'A', email: 'new@acme.example' }, 'email'],
      ['a number as a name', { first_name: 5 }, 'first_name'],
      ['null as a name', { last_name: null }, 'last_name'],
      ['a name of 201 characters', { first_name: 'é'.repeat(201) }, 'first_name'],
      ['a zero width space in a name', { last_name: `Cu${INVISIBLE[3].char}rie` }, 'last_name'],
      ['a right-to-left override in a name', { first_name: `${INVISIBLE[9].char}Eve` }, 'first_name'],
    ]) {
      it(`refuses ${label}, changing nothing`, async () => {
        const key = label.replace(/[^a-z0-9]/gi, '_');
        const id = w.addUser(`${key}@acme.example`);
        w.sql(`UPDATE users SET first_name = 'Keep', last_name = 'Me' WHERE id = '${id}'`);
        const token = await w.signIn(`${key}@acme.example`);
        assertProblem(await w.as(token)('PATCH', '/api/v1/me', body), 400, 'invalid_input', field);
        assert.equal(w.sql(`SELECT first_name, last_name FROM users WHERE id = '${id}'`).trim(), 'Keep|Me');
        assert.equal(auditRows('user.updated', id).length, 0);
      });
    }
  });

  describe('password (POST /api/v1/me/password)', () => {
    it('replaces the hash, ends every other session, keeps this one, and emails the owner', async () => {
      const email = 'changer@acme.example';
      const id = w.addUser(email);
      w.sql(`UPDATE users SET first_name = 'Chris' WHERE id = '${id}'`);
      const keep = await signInWith(email, PASSWORD, 'KeepBrowser/1.0');
      const other1 = await signInWith(email, PASSWORD, 'OtherBrowser/2.0');
      const other2 = await signInWith(email, PASSWORD, 'ThirdBrowser/3.0');
      const oldHash = w.sql(`SELECT password_hash FROM users WHERE id = '${id}'`).trim();
      const before = Date.now();

      const res = await w.usher.api('POST', '/api/v1/me/password', {
        token: keep,
        body: { current_password: PASSWORD, new_password: NEW_PASSWORD },
        headers: { 'User-Agent': 'KeepBrowser/1.0' },
      });
      assert.equal(res.status, 204, res.text);

      // The current session lives on; the others are gone, from the API and the table.
      assert.equal((await me(keep)).status, 200);
      assertProblem(await me(other1), 401, 'unauthenticated');
      assertProblem(await me(other2), 401, 'unauthenticated');
      assert.equal(w.sql(`SELECT COUNT(*) FROM sessions WHERE user_id = '${id}'`).trim(), '1');

      // The new password signs in, the old one no longer does.
      const newHash = w.sql(`SELECT password_hash FROM users WHERE id = '${id}'`).trim();
      assert.notEqual(newHash, oldHash);
      assert.match(newHash, /^\$argon2id\$/);
      assert.ok(!newHash.includes(NEW_PASSWORD));
      assertProblem(await w.usher.api('POST', '/api/v1/sessions', { body: { email, password: PASSWORD } }),
        401, 'invalid_credentials');
      const fresh = await signInWith(email, NEW_PASSWORD, 'Fresh/1');
      assert.equal((await me(fresh)).status, 200);

      // Audited, without the passwords.
      const rows = auditRows('user.password_changed', id);
      assert.equal(rows.length, 1);
      assert.equal(rows[0].actor, id);
      assert.equal(rows[0].details.sessions_ended, 2);
      const audit = w.sql(`SELECT details FROM audit_log WHERE subject_user_id = '${id}'`);
      assert.ok(!audit.includes(NEW_PASSWORD) && !audit.includes(PASSWORD));

      // The email: when, from which address and browser, and what to do if it was not them.
      const mail = await w.smtp.waitFor(email, 1);
      const { parsed } = mail;
      assert.equal(parsed.subject, 'Your password was changed');
      assert.ok(parsed.html, 'an HTML part');
      for (const part of [parsed.text, parsed.html]) {
        assert.match(part, /Chris/);
        assert.match(part, /127\.0\.0\.1/);
        assert.match(part, /KeepBrowser\/1\.0/);
        assert.match(part, /If it was not you/);
        assert.match(part, /platform administrator/);
        assert.ok(!part.includes(NEW_PASSWORD) && !part.includes(PASSWORD));
      }
      const stamp = /at (\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d)?)/.exec(parsed.text);
      assert.ok(stamp, `a time in ${parsed.text}`);
      const at = Date.parse(`${stamp[1].replace(' ', 'T')}${stamp[1].length === 16 ? ':00' : ''}Z`);
      assert.ok(Math.abs(at - before) < 120000, `the change's time, got ${stamp[1]}`);
      assert.equal(w.smtp.to(email).length, 1);
    });

    it('refuses a weak new password, changing nothing', async () => {
      const email = 'weakling@acme.example';
      const id = w.addUser(email);
      const other = await signInWith(email, PASSWORD, 'Other/1');
      const token = await signInWith(email, PASSWORD, 'Mine/1');
      const hash = w.sql(`SELECT password_hash FROM users WHERE id = '${id}'`).trim();
      for (const weak of ['password1234', 'weakling@acme.example', 'aaaaaaaaaaaaaaaa']) {
        assertProblem(await w.as(token)('POST', '/api/v1/me/password', { current_password: PASSWORD, new_password: weak }),
          400, 'weak_password', 'new_password');
      }
      assertProblem(await w.as(token)('POST', '/api/v1/me/password', { current_password: PASSWORD, new_password: 'short' }),
        400, 'invalid_input', 'new_password');
      assert.equal(w.sql(`SELECT password_hash FROM users WHERE id = '${id}'`).trim(), hash);
      assert.equal((await me(other)).status, 200, 'the other session lives on');
      assert.equal(auditRows('user.password_changed', id).length, 0);
      assert.equal(w.smtp.to(email).length, 0);
    });

    it('refuses unknown fields and missing ones', async () => {
      const id = w.addUser('fields@acme.example');
      const token = await w.signIn('fields@acme.example');
      assertProblem(await w.as(token)('POST', '/api/v1/me/password',
        { current_password: PASSWORD, new_password: NEW_PASSWORD, email: 'x@acme.example' }), 400, 'invalid_input', 'email');
      assertProblem(await w.as(token)('POST', '/api/v1/me/password', { new_password: NEW_PASSWORD }),
        400, 'invalid_input', 'current_password');
      assertProblem(await w.as(token)('POST', '/api/v1/me/password', { current_password: PASSWORD }),
        400, 'invalid_input', 'new_password');
      assert.equal(auditRows('user.password_changed', id).length, 0);
    });

    it('refuses a wrong current password, counted by the sign-in throttle', async () => {
      const email = 'guesser@acme.example';
      const id = w.addUser(email);
      const token = await w.signIn(email);
      const other = await signInWith(email, PASSWORD, 'Other/1');
      const hash = w.sql(`SELECT password_hash FROM users WHERE id = '${id}'`).trim();
      for (let i = 0; i < PAIR_LIMIT; i++) {
        const res = await w.as(token)('POST', '/api/v1/me/password', { current_password: WRONG_PASSWORD, new_password: NEW_PASSWORD });
        assertProblem(res, 403, 'invalid_credentials', 'current_password');
      }
      // The next try is refused before any hashing, even with the right password.
      const limited = await w.as(token)('POST', '/api/v1/me/password', { current_password: PASSWORD, new_password: NEW_PASSWORD });
      assertProblem(limited, 429, 'rate_limited');
      assert.ok(Number(limited.headers['retry-after']) >= 1);
      // And so is a sign-in to the account from this address: they share the throttle.
      assertProblem(await w.usher.api('POST', '/api/v1/sessions', { body: { email, password: PASSWORD } }), 429, 'rate_limited');

      assert.equal(w.sql(`SELECT password_hash FROM users WHERE id = '${id}'`).trim(), hash);
      assert.equal((await me(token)).status, 200, 'a wrong guess does not end the session');
      assert.equal((await me(other)).status, 200);
      const failed = auditRows('user.password_change_failed', id);
      assert.equal(failed.length, PAIR_LIMIT);
      assert.equal(failed[0].details.reason, 'wrong_password');
      assert.equal(failed[0].ip, '127.0.0.1');
      assert.equal(auditRows('user.password_changed', id).length, 0);
      assert.equal(w.smtp.to(email).length, 0);
    });
  });

  describe('sessions (GET/DELETE /api/v1/me/sessions)', () => {
    it('lists the live sessions with a public id, address and agent, marking the current one', async () => {
      const email = 'lister@acme.example';
      const id = w.addUser(email);
      const mine = await signInWith(email, PASSWORD, 'ListerPhone/9.1');
      const laptop = await signInWith(email, PASSWORD, 'ListerLaptop/4.2');
      const res = await w.as(mine)('GET', '/api/v1/me/sessions');
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.items.length, 2);
      const current = res.json.items.filter((s) => s.current);
      assert.equal(current.length, 1);
      assert.equal(current[0].user_agent, 'ListerPhone/9.1');
      const otherItem = res.json.items.find((s) => !s.current);
      assert.equal(otherItem.user_agent, 'ListerLaptop/4.2');
      const hashes = w.sql(`SELECT token_hash FROM sessions WHERE user_id = '${id}'`).trim().split('\n');
      for (const s of res.json.items) {
        assert.match(s.id, /^ses_/);
        assert.equal(s.address, '127.0.0.1');
        assert.ok(!Number.isNaN(Date.parse(s.created_at)));
        assert.ok(!Number.isNaN(Date.parse(s.last_used_at)));
        // Neither token nor its hash ever shows.
        for (const secret of [mine, laptop, ...hashes]) assert.ok(!res.text.includes(secret));
      }
      // The other session sees itself as current.
      const seen = await w.as(laptop)('GET', '/api/v1/me/sessions');
      assert.equal(seen.json.items.find((s) => s.current).id, otherItem.id);
    });

    it('keeps a long or odd user agent bounded and printable', async () => {
      const email = 'agent@acme.example';
      w.addUser(email);
      const token = await signInWith(email, PASSWORD, `Odd\u00e9Agent/${'x'.repeat(600)}`);
      const res = await w.as(token)('GET', '/api/v1/me/sessions');
      const ua = res.json.items[0].user_agent;
      assert.ok(ua.length <= 256, `length ${ua.length}`);
      assert.ok(ua.startsWith('Odd'));
      assert.match(ua, /^[\x20-\x7e]+$/);
    });

    it('ends another of the caller’s sessions, audited, and the current one like a sign-out', async () => {
      const email = 'ender@acme.example';
      const id = w.addUser(email);
      const mine = await signInWith(email, PASSWORD, 'Mine/1');
      const stolen = await signInWith(email, PASSWORD, 'Stolen/1');
      const list = await w.as(mine)('GET', '/api/v1/me/sessions');
      const target = list.json.items.find((s) => !s.current);
      const self = list.json.items.find((s) => s.current);
      const end = await w.as(mine)('DELETE', `/api/v1/me/sessions/${target.id}`);
      assert.equal(end.status, 204, end.text);
      assertProblem(await me(stolen), 401, 'unauthenticated');
      assert.equal((await me(mine)).status, 200);
      const after1 = await w.as(mine)('GET', '/api/v1/me/sessions');
      assert.deepEqual(after1.json.items.map((s) => s.id), [self.id]);
      // Ending it again: it is gone.
      assertProblem(await w.as(mine)('DELETE', `/api/v1/me/sessions/${target.id}`), 404, 'not_found');
      const rows = auditRows('session.ended', id);
      assert.equal(rows.length, 1);
      assert.equal(rows[0].details.reason, 'ended_by_owner');
      assert.equal(rows[0].details.session_id, target.id);

      const out = await w.as(mine)('DELETE', `/api/v1/me/sessions/${self.id}`);
      assert.equal(out.status, 204, out.text);
      assertProblem(await me(mine), 401, 'unauthenticated');
      assert.equal(w.sql(`SELECT COUNT(*) FROM sessions WHERE user_id = '${id}'`).trim(), '0');
      assert.equal(auditRows('session.ended', id)[1].details.reason, 'sign_out');
    });

    it('clears the cookie when the current cookie session ends', async () => {
      const email = 'cookie@acme.example';
      w.addUser(email);
      const signIn = await w.usher.api('POST', '/api/v1/sessions', { body: { email, password: PASSWORD } });
      assert.equal(signIn.status, 201);
      w.secrets.add(signIn.json.token);
      const cookie = signIn.headers['set-cookie'].map((c) => c.split(';')[0]).join('; ');
      const headers = { Cookie: cookie, 'X-CSRF-Token': signIn.json.csrf_token };
      const list = await w.usher.api('GET', '/api/v1/me/sessions', { headers });
      const self = list.json.items.find((s) => s.current);
      const out = await w.usher.api('DELETE', `/api/v1/me/sessions/${self.id}`, { headers });
      assert.equal(out.status, 204, out.text);
      assert.ok((out.headers['set-cookie'] || []).some((c) => /usher_session=;.*Max-Age=0/.test(c)),
        'the session cookie is removed');
    });

    it('answers 404 for another person’s session, which lives on', async () => {
      w.addUser('alice@acme.example');
      w.addUser('bob@acme.example');
      const alice = await w.signIn('alice@acme.example');
      const bob = await w.signIn('bob@acme.example');
      const bobs = (await w.as(bob)('GET', '/api/v1/me/sessions')).json.items;
      assert.equal(bobs.length, 1);
      assertProblem(await w.as(alice)('DELETE', `/api/v1/me/sessions/${bobs[0].id}`), 404, 'not_found');
      assertProblem(await w.as(alice)('DELETE', '/api/v1/me/sessions/ses_nosuchsession'), 404, 'not_found');
      assert.equal((await me(bob)).status, 200);
      const alices = (await w.as(alice)('GET', '/api/v1/me/sessions')).json.items;
      assert.ok(!alices.some((s) => s.id === bobs[0].id));
    });
  });

  describe('refused while viewing as someone or with an API token', () => {
    let view; // the admin viewing as the member
    let member;
    let memberId;
    let apiToken;

    before(async () => {
      memberId = w.addUser('viewed@acme.example');
      w.grant(memberId, fx.A.id, { roles: 'agent' });
      member = await w.signIn('viewed@acme.example');
      const tok = await w.as(fx.admin)('POST', `/api/v1/agencies/${fx.A.id}/tokens`, { name: 'inbox' });
      assert.equal(tok.status, 201, tok.text);
      w.secrets.add(tok.json.token);
      apiToken = tok.json.token;
      // Starting to view as someone ends the session it starts from: the admin signs in anew.
      const start = await w.as(await w.signIn('provider@studio.example'))('POST', '/api/v1/impersonation', {
        user_id: memberId, agency_id: fx.A.id, reason: 'support ticket',
      });
      assert.equal(start.status, 201, start.text);
      w.secrets.add(start.json.token);
      view = start.json.token;
    });

    it('refuses every self-service call of a view-as session', async () => {
      const sessionId = (await w.as(member)('GET', '/api/v1/me/sessions')).json.items[0].id;
      const as = w.as(view);
      assertProblem(await as('PATCH', '/api/v1/me', { first_name: 'Hijacked' }), 403, 'impersonation_read_only');
      assertProblem(await as('POST', '/api/v1/me/password', { current_password: PASSWORD, new_password: NEW_PASSWORD }),
        403, 'impersonation_read_only');
      assertProblem(await as('GET', '/api/v1/me/sessions'), 403, 'impersonation_read_only');
      assertProblem(await as('DELETE', `/api/v1/me/sessions/${sessionId}`), 403, 'impersonation_read_only');
      assert.equal(w.sql(`SELECT first_name FROM users WHERE id = '${memberId}'`).trim(), '');
      assert.equal((await me(member)).status, 200, 'the member’s own session lives on');
      assert.equal(auditRows('user.password_changed', memberId).length, 0);
    });

    it('does not list a view-as session among the person’s own', async () => {
      const items = (await w.as(member)('GET', '/api/v1/me/sessions')).json.items;
      assert.equal(items.length, 1);
      assert.equal(items[0].current, true);
    });

    it('refuses every self-service call made with an API token', async () => {
      const as = w.as(apiToken);
      assertProblem(await as('PATCH', '/api/v1/me', { first_name: 'Robot' }), 403, 'forbidden');
      assertProblem(await as('POST', '/api/v1/me/password', { current_password: PASSWORD, new_password: NEW_PASSWORD }),
        403, 'forbidden');
      assertProblem(await as('GET', '/api/v1/me/sessions'), 403, 'forbidden');
      assertProblem(await as('DELETE', '/api/v1/me/sessions/ses_x'), 403, 'forbidden');
    });

    it('refuses anonymous callers', async () => {
      const as = w.as(undefined);
      assertProblem(await as('PATCH', '/api/v1/me', { first_name: 'Anon' }), 401, 'unauthenticated');
      assertProblem(await as('POST', '/api/v1/me/password', { current_password: PASSWORD, new_password: NEW_PASSWORD }),
        401, 'unauthenticated');
      assertProblem(await as('GET', '/api/v1/me/sessions'), 401, 'unauthenticated');
    });
  });
});
