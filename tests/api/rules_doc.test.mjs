// docs/rules.md against the running binary and the code: its permission and role tables must be
// the catalogue the server serves (GET /api/v1/permissions and /api/v1/roles, built from
// src/policy/catalogue.c).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { repoRoot, startUsher } from './lib/harness.mjs';

const ADMIN_EMAIL = 'rules@studio.example';
const PASSWORD = 'canary-password-rules-4e2a';
const rules = readFileSync(path.join(repoRoot, 'docs/rules.md'), 'utf8');

// The rows of the markdown table that follows the heading with this anchor, as arrays of cells.
function tableAfter(anchor) {
  const start = rules.indexOf(`<a id="${anchor}"></a>`);
  assert.ok(start >= 0, `docs/rules.md has the anchor ${anchor}`);
  const lines = rules.slice(start).split('\n');
  const first = lines.findIndex((l) => l.startsWith('|'));
  const rows = [];
  for (const line of lines.slice(first)) {
    if (!line.startsWith('|')) break;
    rows.push(line.split('|').slice(1, -1).map((c) => c.trim()));
  }
  return rows.slice(2); // the header and the separator
}

// `a`, `b` → ['a', 'b']
const names = (cell) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]);

describe('docs/rules.md', () => {
  let usher;
  let token;

  before(async () => {
    usher = await startUsher({ env: { USHER_ADMIN_EMAIL: ADMIN_EMAIL, USHER_ADMIN_PASSWORD: PASSWORD } });
    const res = await usher.api('POST', '/api/v1/sessions', { body: { email: ADMIN_EMAIL, password: PASSWORD } });
    assert.equal(res.status, 201, res.text);
    token = res.json.token;
  });

  after(async () => {
    assert.equal(await usher.stop(), 0);
  });

  it('lists exactly the catalogue permissions, each with its kind and description', async () => {
    const res = await usher.api('GET', '/api/v1/permissions', { token });
    assert.equal(res.status, 200, res.text);
    const rows = tableAfter('permissions');
    assert.deepEqual(rows.map((r) => names(r[0])[0]), res.json.items.map((p) => p.name),
      'the same permissions in the same order');
    for (const [i, p] of res.json.items.entries()) {
      assert.ok(['authority', 'work'].includes(rows[i][1]), `${p.name} is authority or work`);
      assert.equal(rows[i][2], p.description, `the description of ${p.name}`);
    }
  });

  it('names as authority exactly the permissions of rule 4', () => {
    const rule4 = rules.slice(rules.indexOf('<a id="rule-4"></a>'), rules.indexOf('<a id="rule-5"></a>'));
    const authority = tableAfter('permissions').filter((r) => r[1] === 'authority').map((r) => names(r[0])[0]);
    assert.deepEqual(authority.sort(), ['agency.manage', 'audit.read', 'bot.delegate', 'environment.manage',
      'environments.create', 'users.invite', 'users.manage']);
    for (const p of ['users.invite', 'users.manage', 'bot.delegate']) assert.ok(rule4.includes(`\`${p}\``), p);
  });

  it('lists exactly the built-in roles with their scopes, permissions and purpose', async () => {
    const [roles, perms] = await Promise.all([
      usher.api('GET', '/api/v1/roles', { token }),
      usher.api('GET', '/api/v1/permissions', { token }),
    ]);
    assert.equal(roles.status, 200, roles.text);
    const every = perms.json.items.map((p) => p.name);
    const rows = tableAfter('roles');
    assert.deepEqual(rows.map((r) => names(r[0])[0]), roles.json.items.map((r) => r.name),
      'the same roles in the same order');
    for (const [i, role] of roles.json.items.entries()) {
      const [, scopes, permissions, purpose] = rows[i];
      assert.deepEqual(scopes.split(', '), role.scopes, `the scopes of ${role.name}`);
      const documented = permissions === 'every permission' ? every : names(permissions);
      assert.deepEqual([...documented].sort(), [...role.permissions].sort(), `the permissions of ${role.name}`);
      assert.equal(purpose, role.description, `the purpose of ${role.name}`);
    }
  });
});
