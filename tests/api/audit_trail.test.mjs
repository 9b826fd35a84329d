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
