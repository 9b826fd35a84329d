// A trustworthy audit trail through the real binary (issue: impersonation and audit): the
// per-user trail, privacy of addresses and user agents, streamed CSV and NDJSON exports, no
// route that alters entries, tamper evidence with `usher audit verify`, and the secret canary.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { canaryFindings, runUsher } from './lib/harness.mjs';
import { assertProblem, startWorld } from './lib/world.mjs';

describe('audit trail', () => {
  let w;
  const fx = {};
  const ids = {};
  const tokens = {};

  before(async () => {
    w = await startWorld();
    tokens.admin = await w.signIn('provider@studio.example');
    fx.A = await w.agencyNew(tokens.admin, 'Acme');
    fx.B = await w.agencyNew(tokens.admin, 'Globex');
    fx.E1 = await w.environmentNew(tokens.admin, fx.A.id, 'Acme – production');
    ids.owner = w.addUser('owner@acme.example');
    ids.manager = w.addUser('manager@acme.example');
    ids.operator = w.addUser('operator@acme.example');
    w.grant(ids.owner, fx.A.id, { roles: 'owner' });
    w.grant(ids.manager, fx.A.id, { roles: 'environment_manager,operator' });
    w.grant(ids.operator, fx.A.id, { environmentId: fx.E1.id, roles: 'operator' });
    tokens.owner = await w.signIn('owner@acme.example');
    tokens.manager = await w.signIn('manager@acme.example');
    // Some history: the manager invites, and views as the operator for two requests.
    const inv = await w.invite(tokens.manager, fx.A.id, {
      email: 'new@acme.example', send_email: false,
      grants: [{ environment_id: fx.E1.id, roles: ['agent'] }],
    });
    assert.equal(inv.status, 201, inv.text);
    fx.invitation = inv.json.id;
    const view = await w.usher.api('POST', '/api/v1/impersonation', {
      token: tokens.manager, body: { user_id: ids.operator, agency_id: fx.A.id },
      headers: { 'User-Agent': '=HYPERLINK("http://evil.example")' },
    });
    assert.equal(view.status, 201, view.text);
    await w.as(view.json.token)('GET', `/api/v1/agencies/${fx.A.id}`);
    const back = await w.as(view.json.token)('DELETE', '/api/v1/impersonation');
    assert.equal(back.status, 200, back.text);
    tokens.manager = back.json.token;
  });

  after(async () => {
    assert.equal(await w.stop(), 0);
  });

  const list = (token, query = '') => w.as(token)('GET', `/api/v1/agencies/${fx.A.id}/audit${query}`);

  it('gives one user\'s trail: what they did, what was done to them, and what they did as someone else', async () => {
    const mine = await list(tokens.owner, `?user_id=${ids.manager}&limit=200`);
    assert.equal(mine.status, 200, mine.text);
    const actions = mine.json.items.map((e) => e.action);
    assert.ok(actions.includes('invitation.created'));
    assert.ok(actions.includes('impersonation.started'));
    assert.ok(actions.includes('impersonation.request'), 'requests made while viewing as someone');
    assert.ok(actions.includes('impersonation.ended'));
    for (const e of mine.json.items) {
      assert.ok([e.actor_id, e.subject_user_id, e.impersonator_id].includes(ids.manager));
    }
    const theirs = await list(tokens.owner, `?user_id=${ids.operator}&limit=200`);
    const seen = theirs.json.items.filter((e) => e.action === 'impersonation.request');
    assert.ok(seen.length >= 1);
    for (const e of seen) {
      assert.equal(e.actor_id, ids.operator);
      assert.equal(e.impersonator_id, ids.manager);
    }
  });

  it('shows addresses and user agents to agency managers only', async () => {
    const forOwner = await list(tokens.owner, '?action=impersonation.started');
    assert.equal(forOwner.json.items[0].source_ip, '127.0.0.1');
    assert.match(forOwner.json.items[0].user_agent, /HYPERLINK/);
    const forManager = await list(tokens.manager, '?action=impersonation.started');
    assert.equal(forManager.status, 200, forManager.text);
    assert.equal(forManager.json.items[0].source_ip, 'redacted');
    assert.equal(forManager.json.items[0].user_agent, 'redacted');
    // Without audit.read there is no log at all; another agency's log is not there.
    const operator = await w.signIn('operator@acme.example');
    assertProblem(await list(operator), 403, 'forbidden');
    assertProblem(await w.as(tokens.owner)('GET', `/api/v1/agencies/${fx.B.id}/audit`), 404, 'not_found');
  });

  it('exports every entry as streamed NDJSON and CSV, with the same privacy', async () => {
    const all = await list(tokens.owner, '?limit=200');
    const nd = await w.as(tokens.owner)('GET', `/api/v1/agencies/${fx.A.id}/audit/export?format=ndjson`);
    assert.equal(nd.status, 200, nd.text);
    assert.match(nd.headers['content-type'], /application\/x-ndjson/);
    assert.match(nd.headers['content-disposition'], /attachment; filename="audit-.*\.ndjson"/);
    assert.equal(nd.headers['transfer-encoding'], 'chunked');
    const rows = nd.text.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(rows.map((r) => r.id), all.json.items.map((e) => e.id));
    const csv = await w.as(tokens.owner)('GET',
      `/api/v1/agencies/${fx.A.id}/audit/export?format=csv&action=impersonation.*`);
    assert.equal(csv.status, 200, csv.text);
    assert.match(csv.headers['content-type'], /text\/csv/);
    const lines = csv.text.trim().split('\r\n');
    assert.equal(lines[0], 'id,at,actor_id,impersonator_id,action,subject_user_id,scope_type,scope_id,source_ip,user_agent,request_id,details');
    assert.ok(lines.length > 2);
    for (const line of lines.slice(1)) assert.match(line, /"impersonation\./);
    // A user agent that looks like a formula is defused for spreadsheets.
    assert.match(csv.text, /"'=HYPERLINK\(""http:\/\/evil\.example""\)"/);
    const redacted = await w.as(tokens.manager)('GET', `/api/v1/agencies/${fx.A.id}/audit/export?format=csv`);
    assert.ok(!redacted.text.includes('127.0.0.1'));
    assert.match(redacted.text, /"redacted"/);
    assertProblem(await w.as(tokens.owner)('GET', `/api/v1/agencies/${fx.A.id}/audit/export?format=xml`),
      400, 'invalid_input', 'format');
    assertProblem(await w.as(tokens.owner)('GET', `/api/v1/agencies/${fx.B.id}/audit/export?format=csv`),
      404, 'not_found');
  });

  it('has no route that alters or deletes an entry', async () => {
    for (const method of ['PUT', 'PATCH', 'DELETE', 'POST']) {
      const res = await w.as(tokens.admin)(method, `/api/v1/agencies/${fx.A.id}/audit`, {});
      assert.equal(res.status, 405, `${method}: ${res.text}`);
    }
  });

  it('makes tampering evident: usher audit verify names the altered entry', async () => {
    const ok = await runUsher(['audit', 'verify', '--data-dir', w.usher.dataDir]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /audit log intact: \d+ entries in \d+ chains/);
    const id = w.sql(`SELECT id FROM audit_log WHERE action = 'invitation.created' AND agency_id = '${fx.A.id}'`).trim();
    w.sql(`UPDATE audit_log SET details = '{"email":"someone-else@acme.example"}' WHERE id = ${id}`);
    const bad = await runUsher(['audit', 'verify', '--data-dir', w.usher.dataDir]);
    assert.equal(bad.code, 1, bad.stdout + bad.stderr);
    assert.match(bad.stdout, new RegExp(`chain agency:${fx.A.id}, entry ${id}: .*altered`));
  });

  it('the canary sees a secret when one is there', async () => {
    // The harness remembers every token it handled; a log line holding one would fail the
    // stop() of its server. Prove the check can fire.
    assert.ok(canaryFindings(`{"leak":"${tokens.owner}"}`).length > 0);
    assert.equal(canaryFindings('{"nothing":"here"}').length, 0);
  });
});

// The log as people read it: names recorded when each entry was written (kept through a
// removal and a change of name, gone with an erasure), places by name, a person search, kinds
// of action, a time range, and a "view as" session's requests grouped under its start.
describe('audit log in words', () => {
  let w;
  const fx = {};
  const ids = {};
  const tok = {};

  const named = (id, first, last) =>
    w.sql(`UPDATE users SET first_name = '${first}', last_name = '${last}' WHERE id = '${id}'`);

  before(async () => {
    w = await startWorld();
    tok.admin = await w.signIn('provider@studio.example');
    fx.A = await w.agencyNew(tok.admin, 'Acme');
    fx.E1 = await w.environmentNew(tok.admin, fx.A.id, 'Acme – production');
    ids.mia = w.addUser('mia@acme.example');
    ids.olaf = w.addUser('olaf@acme.example');
    ids.piet = w.addUser('piet@acme.example');
    named(ids.mia, 'Mia', 'Jansen');
    named(ids.olaf, 'Olaf', 'Berg');
    named(ids.piet, 'Piet', 'Smit');
    w.grant(ids.mia, fx.A.id, { roles: 'owner' });
    w.grant(ids.olaf, fx.A.id, { environmentId: fx.E1.id, roles: 'operator' });
    w.grant(ids.piet, fx.A.id, { environmentId: fx.E1.id, roles: 'operator' });
    tok.mia = await w.signIn('mia@acme.example');
    const users = `/api/v1/agencies/${fx.A.id}/users`;
    // Mia gives Olaf a shortcode, invites someone, and views the studio as Piet.
    const patched = await w.as(tok.mia)('PATCH', `${users}/${ids.olaf}`, { shortcode: 'OB' });
    assert.equal(patched.status, 200, patched.text);
    const inv = await w.invite(tok.mia, fx.A.id, {
      email: 'new@acme.example', send_email: false,
      grants: [{ environment_id: fx.E1.id, roles: ['agent'] }],
    });
    assert.equal(inv.status, 201, inv.text);
    const view = await w.usher.api('POST', '/api/v1/impersonation', {
      token: tok.mia, body: { user_id: ids.piet, agency_id: fx.A.id },
    });
    assert.equal(view.status, 201, view.text);
    const agency = `/api/v1/agencies/${fx.A.id}`;
    for (const p of [agency, '/api/v1/me', `${agency}/environments`]) {
      assert.equal((await w.as(view.json.token)('GET', p)).status, 200, p);
    }
    const back = await w.as(view.json.token)('DELETE', '/api/v1/impersonation');
    assert.equal(back.status, 200, back.text);
    tok.mia = back.json.token;
    // Then Olaf changes his name and leaves; Mia marries and changes hers.
    named(ids.olaf, 'Olaf', 'Nieuwland');
    const removed = await w.as(tok.mia)('DELETE', `${users}/${ids.olaf}`);
    assert.equal(removed.status, 204, removed.text);
    named(ids.mia, 'Mia', 'de Vries');
  });

  after(async () => {
    assert.equal(await w.stop(), 0);
  });

  const get = (query) => w.as(tok.admin)('GET', `/api/v1/agencies/${fx.A.id}/audit${query}`);
  const list = async (query = '') => {
    const res = await get(query);
    assert.equal(res.status, 200, res.text);
    return res.json;
  };
  const one = (page, action) => {
    const found = page.items.filter((e) => e.action === action);
    assert.equal(found.length, 1, `one ${action} in ${page.items.map((e) => e.action)}`);
    return found[0];
  };

  it('names each entry\'s people as they were then, through a removal and a new name', async () => {
    const page = await list('?limit=200');
    const updated = one(page, 'member.updated');
    assert.equal(updated.actor_name, 'Mia Jansen');
    assert.equal(updated.actor_email, 'mia@acme.example');
    assert.equal(updated.subject_name, 'Olaf Berg', 'the name Olaf had then, though he left since');
    assert.equal(updated.subject_email, 'olaf@acme.example');
    assert.equal(updated.subject_deleted, false);
    // The recorded names are the entry's people, not part of its details.
    assert.deepEqual(Object.keys(updated.details).filter((k) => /^(actor|subject)_/.test(k)), []);
    const removed = one(page, 'member.removed');
    assert.equal(removed.actor_name, 'Mia Jansen');
    assert.equal(removed.subject_name, 'Olaf Nieuwland');
    // Names are in the personal rows only, never in the hashed details.
    assert.equal(w.sql("SELECT COUNT(*) FROM audit_log WHERE details LIKE '%Jansen%'").trim(), '0');
    const kept = w.sql("SELECT COUNT(*) FROM audit_personal WHERE data LIKE '%Jansen%'");
    assert.ok(Number(kept.trim()) >= 3);
    // Places by name: the environment and the agency.
    const invited = one(page, 'invitation.created');
    assert.equal(invited.actor_name, 'Mia Jansen');
    const created = one(page, 'environment.created');
    assert.equal(created.scope.name, 'Acme – production');
    assert.equal(one(page, 'agency.created').scope.name, 'Acme');
  });

  it('finds a person by name or address, former members and old names included', async () => {
    const byOldName = await list('?q=olaf%20berg&limit=200');
    assert.deepEqual(byOldName.items.map((e) => e.action), ['member.updated']);
    const byAddress = await list('?q=OLAF@acme&limit=200');
    assert.deepEqual(byAddress.items.map((e) => e.action).sort(),
      ['member.removed', 'member.updated']);
    const mia = await list('?q=jansen&limit=200');
    assert.ok(mia.items.length >= 4);
    const names = (e) => [e.actor_name, e.subject_name, e.impersonator_name];
    assert.ok(mia.items.every((e) => names(e).includes('Mia Jansen')));
    // Her new name finds her entries too, through her account as it is now.
    const now = await list('?q=vries&limit=200');
    assert.deepEqual(now.items.map((e) => e.id), mia.items.map((e) => e.id));
    assert.equal((await list('?q=nobody-like-this')).items.length, 0);
    // A search word is text, not a pattern.
    assert.equal((await list('?q=%25')).items.length, 0);
    assertProblem(await get('?q=a%20b%20c%20d%20e'), 400, 'invalid_input', 'q');
  });

  it('matches values only: key names and the punctuation of the record find nothing', async () => {
    // Every entry of this world has a personal row with actor_email, actor_first_name, ...
    const all = (await list('?limit=200')).items;
    assert.ok(all.length >= 8);
    for (const word of ['email', 'first_name', 'last', 'name', 'actor', 'subject', '{', '"',
      ':', ',', '":"', '}']) {
      const found = (await list(`?q=${encodeURIComponent(word)}&limit=200`)).items;
      assert.deepEqual(found.map((e) => e.action), [], `"${word}" finds nothing`);
    }
    // Wildcards are literal: "_" and "%" in a word are those characters, not any.
    assert.equal((await list('?q=j_nsen&limit=200')).items.length, 0);
    assert.equal((await list('?q=j%25sen&limit=200')).items.length, 0);
    assert.equal((await list('?q=_&limit=200')).items.length, 0);
    // The values themselves, a name and an address, in any case, find their entries.
    const byName = await list('?q=PIET%20smit&limit=200');
    assert.deepEqual(byName.items.map((e) => e.action).filter((a) => !a.startsWith('impersonation')),
      []);
    assert.ok(byName.items.some((e) => e.action === 'impersonation.started'));
    const byAddress = (await list('?q=piet@acme.example&limit=200')).items;
    assert.deepEqual(byAddress.map((e) => e.id), byName.items.map((e) => e.id));
    // The search column holds values, lower-cased, and no key.
    const keys = w.sql("SELECT COUNT(*) FROM audit_personal WHERE search LIKE '%email%' "
      + "OR search LIKE '%{%' OR search <> lower(search)");
    assert.equal(keys.trim(), '0');
  });

  it('filters by kinds of action and by time range', async () => {
    const kinds = await list('?action=invitation.created,member.*&limit=200');
    assert.deepEqual(kinds.items.map((e) => e.action).sort(),
      ['invitation.created', 'member.removed', 'member.updated']);
    assertProblem(await get('?action=member.*,'), 400, 'invalid_input', 'action');
    const all = (await list('?limit=200')).items;
    const times = [...new Set(all.map((e) => Date.parse(e.at)))].sort((a, b) => a - b);
    assert.ok(times.length >= 3, 'entries at three times at least');
    const mid = new Date(times[Math.floor(times.length / 2)]).toISOString();
    const since = (await list(`?since=${mid}&limit=200`)).items;
    const until = (await list(`?until=${mid}&limit=200`)).items;
    assert.ok(since.length > 0 && until.length > 0);
    assert.ok(since.every((e) => Date.parse(e.at) >= Date.parse(mid)));
    assert.ok(until.every((e) => Date.parse(e.at) < Date.parse(mid)));
    assert.equal(since.length + until.length, all.length);
    // Offsets are honoured: the same instant written in another zone.
    const shifted = new Date(Date.parse(mid) + 3600e3).toISOString().replace('Z', '+01:00');
    const sinceShifted = await list(`?since=${encodeURIComponent(shifted)}&limit=200`);
    assert.equal(sinceShifted.items.length, since.length);
    const both = (await list(`?since=${mid}&until=${mid}`)).items;
    assert.equal(both.length, 0);
    for (const bad of ['yesterday', '2026-02-30T00:00:00Z', '2026-01-01T00:00:00']) {
      assertProblem(await w.as(tok.admin)('GET', `/api/v1/agencies/${fx.A.id}/audit?since=${bad}`),
        400, 'invalid_input', 'since');
    }
  });

  it('groups the requests of a view-as session under its start, page after page', async () => {
    const flat = (await list('?limit=200')).items;
    const requests = flat.filter((e) => e.action === 'impersonation.request');
    assert.ok(requests.length >= 3);
    const grouped = (await list('?group=impersonation&limit=200')).items;
    assert.ok(!grouped.some((e) => e.action === 'impersonation.request'));
    assert.equal(grouped.length, flat.length - requests.length);
    const started = one({ items: grouped }, 'impersonation.started');
    assert.equal(started.actor_name, 'Mia Jansen');
    assert.equal(started.subject_name, 'Piet Smit');
    assert.equal(started.requests.count, requests.length);
    assert.deepEqual(started.requests.items.map((r) => r.id), requests.map((e) => e.id).reverse());
    assert.ok(started.requests.items.some((r) => r.method === 'GET' && r.route === '/api/v1/me'));
    // The request rows name Piet as the one acting and Mia as the one viewing.
    assert.equal(requests[0].actor_name, 'Piet Smit');
    assert.equal(requests[0].impersonator_name, 'Mia Jansen');
    // Cursors still walk the grouped list, two entries a page.
    const walked = [];
    let cursor = null;
    do {
      const after = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
      const page = await list(`?group=impersonation&limit=2${after}`);
      walked.push(...page.items.map((e) => e.id));
      cursor = page.next_cursor;
    } while (cursor);
    assert.deepEqual(walked, grouped.map((e) => e.id));
    assertProblem(await w.as(tok.admin)('GET', `/api/v1/agencies/${fx.A.id}/audit?group=all`),
      400, 'invalid_input', 'group');
  });

  it('shows an erased person as deleted, with no name left; the log still verifies', async () => {
    const erased = await w.as(tok.admin)('DELETE', `/api/v1/users/${ids.olaf}`,
      { confirm: 'olaf@acme.example' });
    assert.equal(erased.status, 204, erased.text);
    const page = await list('?limit=200');
    const updated = one(page, 'member.updated');
    assert.equal(updated.subject_deleted, true);
    assert.equal(updated.subject_name, null);
    assert.equal(updated.subject_email, null);
    // Mia's name went with that entry's personal row; her account gives it now.
    assert.equal(updated.actor_name, 'Mia de Vries');
    assert.ok(!JSON.stringify(page).includes('Berg') && !JSON.stringify(page).includes('olaf@'));
    assert.equal((await list('?q=olaf')).items.length, 0);
    // Neither of his old names nor his address is left to search.
    for (const word of ['berg', 'nieuwland', 'olaf@acme.example']) {
      assert.equal((await list(`?q=${encodeURIComponent(word)}`)).items.length, 0, word);
    }
    assert.equal(w.sql("SELECT COUNT(*) FROM audit_personal WHERE search LIKE '%olaf%'").trim(),
      '0');
    const ok = await runUsher(['audit', 'verify', '--data-dir', w.usher.dataDir]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /audit log intact/);
  });

  it('groups two view-as sessions of the same two people, held at once, each apart', async () => {
    // Mia signs in from two browsers and views as Piet from both at the same time.
    const browsers = [await w.signIn('mia@acme.example'), await w.signIn('mia@acme.example')];
    const views = [];
    for (const token of browsers) {
      const view = await w.usher.api('POST', '/api/v1/impersonation', {
        token, body: { user_id: ids.piet, agency_id: fx.A.id },
      });
      assert.equal(view.status, 201, view.text);
      views.push(view.json.token);
    }
    const agency = `/api/v1/agencies/${fx.A.id}`;
    // Interleaved: the first looks at /me only, the second at the agency and its environments.
    const steps = [[0, '/api/v1/me'], [1, agency], [0, '/api/v1/me'], [1, `${agency}/environments`],
      [0, '/api/v1/me']];
    for (const [i, path] of steps) {
      assert.equal((await w.as(views[i])('GET', path)).status, 200, path);
    }
    assert.equal((await w.as(views[1])('DELETE', '/api/v1/impersonation')).status, 200);
    assert.equal((await w.as(views[0])('GET', '/api/v1/me')).status, 200);
    assert.equal((await w.as(views[0])('DELETE', '/api/v1/impersonation')).status, 200);

    const grouped = (await list('?group=impersonation&action=impersonation.*&limit=200')).items;
    const starts = grouped.filter((e) => e.action === 'impersonation.started');
    assert.equal(starts.length, 3, 'the session of the setup and these two');
    const [second, first] = starts; // newest first
    const routes = (e) => e.requests.items.map((r) => `${r.method} ${r.route}`);
    assert.deepEqual(routes(first), ['GET /api/v1/me', 'GET /api/v1/me', 'GET /api/v1/me',
      'GET /api/v1/me', 'DELETE /api/v1/impersonation']);
    assert.deepEqual(routes(second), ['GET /api/v1/agencies/{id}',
      'GET /api/v1/agencies/{id}/environments', 'DELETE /api/v1/impersonation']);
    assert.equal(first.requests.count, 5);
    assert.equal(second.requests.count, 3);
    // Each start, end and request names its session; the details carry it under the hash.
    assert.equal(typeof first.details.session_id, 'string');
    assert.notEqual(first.details.session_id, second.details.session_id);
    const ends = grouped.filter((e) => e.action === 'impersonation.ended').slice(0, 2);
    assert.deepEqual(ends.map((e) => e.details.session_id),
      [first.details.session_id, second.details.session_id]);
    const ok = await runUsher(['audit', 'verify', '--data-dir', w.usher.dataDir]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  });

  it('still groups a view-as session recorded before sessions were named, by its time', async () => {
    const before = (await list('?group=impersonation&action=impersonation.*&limit=200')).items;
    const oldest = before.filter((e) => e.action === 'impersonation.started').at(-1);
    const ids = oldest.requests.items.map((r) => r.id);
    assert.equal(ids.length, 4);
    // Entries written before migration 0021 carry no session: their column is empty.
    w.sql('UPDATE audit_log SET view_session = NULL WHERE id <= '
      + `${Math.max(...ids.map(Number)) + 1}`);
    const after = (await list('?group=impersonation&action=impersonation.*&limit=200')).items;
    const same = after.find((e) => e.id === oldest.id);
    assert.deepEqual(same.requests.items.map((r) => r.id), ids);
  });
});
