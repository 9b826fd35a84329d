// POST /check and /check/batch read their usual bodies (flat objects of plain strings) without
// jansson and write their answers as text. These tests hold that path to the full parser's:
// the same question written in every way JSON allows gets the same answer, every body the
// fast reader leaves alone still gets the full parser's answer or error, and batches mixing
// both read every question.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { runUsher, sqlIn, startUsher, tempDir } from './lib/harness.mjs';

function assertProblem(res, status, code, field) {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.text}`);
  assert.match(res.headers['content-type'] || '', /^application\/problem\+json/);
  assert.equal(res.json.code, code, `code of ${res.text}`);
  if (field !== undefined) assert.equal(res.json.field, field, `field of ${res.text}`);
}

describe('check bodies read without jansson', () => {
  let usher;
  let token;
  const post = (urlPath, raw, headers = {}) =>
    usher.api('POST', urlPath, { raw, token, headers: { 'Content-Type': 'application/json', ...headers } });

  before(async () => {
    const dir = tempDir();
    const migrated = await runUsher(['migrate', '--data-dir', dir]);
    assert.equal(migrated.code, 0, migrated.stderr);
    // ann: operator at agency ag_1, lowered to analyst in env_1, bot manager of bot_1.
    sqlIn(dir, `
      INSERT INTO users (id, email, created_at) VALUES ('usr_ann', 'ann@bodies.example', 1);
      INSERT INTO agencies (id, name, created_at) VALUES ('ag_1', 'One', 1);
      INSERT INTO environments (id, agency_id, name, created_at) VALUES ('env_1', 'ag_1', 'e', 1),
        ('env_2', 'ag_1', 'f', 1);
      INSERT INTO bots (id, agency_id, environment_id, name, created_at)
        VALUES ('bot_1', 'ag_1', 'env_1', 'b', 1);
      INSERT INTO memberships (agency_id, user_id, created_at) VALUES ('ag_1', 'usr_ann', 1);
      INSERT INTO grants (id, agency_id, user_id, environment_id, bot_id, scope_id, roles, created_at)
        VALUES ('g1', 'ag_1', 'usr_ann', NULL, NULL, 'ag_1', 'operator', 1),
               ('g2', 'ag_1', 'usr_ann', 'env_1', NULL, 'env_1', 'analyst', 1),
               ('g3', 'ag_1', 'usr_ann', NULL, 'bot_1', 'bot_1', 'bot_manager', 1);`);
    const made = await runUsher(['token-create', '--name', 'bodies', '--data-dir', dir]);
    assert.equal(made.code, 0, made.stderr);
    token = made.stdout.trim();
    usher = await startUsher({ dataDir: dir });
  });

  after(async () => {
    if (usher) assert.equal(await usher.stop(), 0);
  });

  // One question, written the plain way and in other ways JSON allows.
  const questions = [
    { user_id: 'usr_ann', permission: 'crm.write', agency_id: 'ag_1' },
    { user_id: 'usr_ann', permission: 'crm.write', environment_id: 'env_1' },
    { user_id: 'usr_ann', permission: 'analytics.read', environment_id: 'env_1' },
    { user_id: 'usr_ann', permission: 'crm.write', environment_id: 'env_2' },
    { user_id: 'usr_ann', permission: 'bot.develop', bot_id: 'bot_1' },
    { user_id: 'usr_ann', permission: 'no.such', environment_id: 'env_1' },
    { user_id: 'usr_nobody', permission: 'crm.read', agency_id: 'ag_1' },
    { user_id: 'usr_ann', permission: 'crm.read', environment_id: 'env_unknown' },
  ];
  const escaped = (s) => [...s].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
  function spellings(q) {
    const entries = Object.entries(q);
    return [
      JSON.stringify(q),
      ' \n\t{ ' + entries.map(([k, v]) => `"${k}" :\r\n "${v}"`).join(' ,\n ') + ' } \n',
      JSON.stringify(Object.fromEntries([...entries].reverse())),
      '{' + entries.map(([k, v]) => `"${escaped(k)}":"${v}"`).join(',') + '}',
      '{' + entries.map(([k, v]) => `"${k}":"${escaped(v)}"`).join(',') + '}',
      JSON.stringify({ ...q, ...(q.bot_id ? { agency_id: null } : { bot_id: null }) }),
    ];
  }

  it('answers a question the same however it is written', async () => {
    for (const explain of ['', '?explain=1']) {
      for (const q of questions) {
        const answers = [];
        for (const body of spellings(q)) {
          const res = await post(`/api/v1/check${explain}`, body);
          assert.equal(res.status, 200, `${body}: ${res.text}`);
          assert.match(res.headers['content-type'], /^application\/json/);
          answers.push(res.text);
        }
        assert.equal(new Set(answers).size, 1, `one answer for ${JSON.stringify(q)}: ${answers}`);
      }
    }
  });

  it('writes the answers the full parser wrote', async () => {
    const plain = await post('/api/v1/check', JSON.stringify(questions[1]));
    assert.equal(plain.text, '{"allowed":false}');
    const explained = await post('/api/v1/check?explain=1', JSON.stringify(questions[2]));
    assert.equal(explained.text, '{"allowed":true,"source":"environment","roles":["analyst"]}');
    const bot = await post('/api/v1/check?explain=1', JSON.stringify(questions[4]));
    assert.equal(bot.text, '{"allowed":true,"source":"bot","roles":["analyst","bot_manager"]}');
    const none = await post('/api/v1/check?explain=1', JSON.stringify(questions[6]));
    assert.equal(none.text, '{"allowed":false,"source":"none","roles":[]}');
  });

  it('gives the full parser\'s errors for bodies the fast reader leaves alone', async () => {
    const q = JSON.stringify(questions[0]).slice(1, -1);
    assertProblem(await post('/api/v1/check', `{${q},"user_id":"usr_ann"}`), 400, 'invalid_input');
    assertProblem(await post('/api/v1/check', `{${q},"extra":"x"}`), 400, 'invalid_input', 'extra');
    assertProblem(await post('/api/v1/check', `{${q},"bot_id":"bot_1"}`), 400, 'invalid_input', 'agency_id');
    assertProblem(await post('/api/v1/check', '{"user_id":"usr_ann","permission":"crm.read"}'), 400,
      'invalid_input', 'environment_id');
    assertProblem(await post('/api/v1/check', `{${q.replace('"usr_ann"', '""')}}`), 400,
      'invalid_input', 'user_id');
    assertProblem(await post('/api/v1/check', `{${q.replace('"usr_ann"', '7')}}`), 400,
      'invalid_input', 'user_id');
    assertProblem(await post('/api/v1/check', `{${q.replace('"usr_ann"', `"${'u'.repeat(129)}"`)}}`),
      400, 'invalid_input', 'user_id');
    assertProblem(await post('/api/v1/check', `{${q}} trailing`), 400, 'invalid_input');
    assertProblem(await post('/api/v1/check', `{${q}`), 400, 'invalid_input');
    assertProblem(await post('/api/v1/check', JSON.stringify(questions[0]), { 'Content-Type': 'text/plain' }),
      400, 'invalid_input');
    assertProblem(await post('/api/v1/check?explain=maybe', JSON.stringify(questions[0])), 400,
      'invalid_input', 'explain');
  });

  it('reads a batch whose questions are written either way', async () => {
    const singles = [];
    for (const q of questions) singles.push((await post('/api/v1/check', JSON.stringify(q))).json.allowed);
    const plain = `{"checks":[${questions.map((q) => JSON.stringify(q)).join(',')}]}`;
    const mixed = ` { "checks" : [ ${questions.map((q, i) => spellings(q)[i % 6]).join(' , ')} ] } `;
    for (const body of [plain, mixed]) {
      const res = await post('/api/v1/check/batch', body);
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json.results.map((r) => r.allowed), singles);
    }
    const explained = await post('/api/v1/check/batch?explain=1', `{"checks":[${JSON.stringify(questions[2])}]}`);
    assert.equal(explained.text, '{"results":[{"allowed":true,"source":"environment","roles":["analyst"]}]}');
  });

  it('gives the full parser\'s errors for batches it leaves alone', async () => {
    const q = JSON.stringify(questions[0]);
    assertProblem(await post('/api/v1/check/batch', '{"checks":[]}'), 400, 'invalid_input', 'checks');
    assertProblem(await post('/api/v1/check/batch', `{"checks":[${q}],"more":1}`), 400, 'invalid_input', 'more');
    assertProblem(await post('/api/v1/check/batch', `{"checks":[${q},{"user_id":"usr_ann"}]}`), 400,
      'invalid_input', 'checks[1].permission');
    assertProblem(await post('/api/v1/check/batch', `{"checks":[${q},7]}`), 400, 'invalid_input', 'checks[1]');
    const many = `{"checks":[${Array(1001).fill(q).join(',')}]}`;
    assertProblem(await post('/api/v1/check/batch', many), 400, 'invalid_input', 'checks');
    const most = await post('/api/v1/check/batch', `{"checks":[${Array(1000).fill(q).join(',')}]}`);
    assert.equal(most.status, 200, most.text);
    assert.equal(most.json.results.length, 1000);
  });
});
