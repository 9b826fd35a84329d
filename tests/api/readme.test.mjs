// The README's five-minute tour, run as written: every shell block of the "A five-minute
// tour" section (except the one that starts the server with `make run`) runs in one bash
// script against a server started the same way, with the tour's address replaced by the test
// server's. A step that fails, or an answer the tour does not expect, fails the test.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { repoRoot, startUsher, tempDir } from './lib/harness.mjs';

function tourBlocks() {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const start = readme.indexOf('## A five-minute tour');
  assert.ok(start >= 0, 'README has a tour');
  const end = readme.indexOf('\n## ', start + 5);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
}

describe('the README tour', () => {
  let usher;
  const blocks = tourBlocks();

  before(async () => {
    const first = blocks[0];
    const email = /USHER_ADMIN_EMAIL=(\S+)/.exec(first)[1];
    const password = /USHER_ADMIN_PASSWORD='([^']+)'/.exec(first)[1];
    usher = await startUsher({
      env: { USHER_ADMIN_EMAIL: email, USHER_ADMIN_PASSWORD: password },
    });
  });

  after(async () => {
    assert.equal(await usher.stop(), 0);
  });

  it('runs every step as written', () => {
    assert.match(blocks[0], /make run/);
    const steps = blocks.slice(1).join('\n').replaceAll('http://127.0.0.1:8080', usher.url);
    const script = `set -euo pipefail\n${steps}`;
    const run = spawnSync('bash', ['-c', script], { encoding: 'utf8', cwd: usher.dataDir });
    assert.equal(run.status, 0, `tour failed:\n${run.stderr}\n${run.stdout.slice(-2000)}`);
    const out = run.stdout;
    // A few answers the tour promises.
    assert.match(out, /"name": "Support bot"/);
    assert.match(out, /"status": "pending"/);
    assert.match(out, /"account_exists": false/);
    assert.match(out, /"environment_manager"/);
    assert.match(out, /"code":"invalid_input"/);
    assert.match(out, /usher_http_requests_total/);
    assert.match(out.trim(), /204$/);
  });
});

// The README's "Several instances on one PostgreSQL" section, run as written on the throwaway
// cluster of scripts/test.sh: its role, database, port, binary and listen ports are replaced by
// the test's own, and a wait for both instances to be ready joins the two blocks.
function clusterBlocks() {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const start = readme.indexOf('## Several instances on one PostgreSQL');
  assert.ok(start >= 0, 'README has the several-instances section');
  const end = readme.indexOf('\n## ', start + 5);
  return [...readme.slice(start, end).matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const PG = process.env.USHER_TEST_PG_URL;

describe('the README on several instances', { skip: PG ? false : 'USHER_TEST_PG_URL is not set' }, () => {
  const name = `usher_readme_${process.pid}`;

  after(() => {
    spawnSync('psql', ['-X', '-q', PG, '-c', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`, '-c', `DROP ROLE IF EXISTS ${name}`]);
  });

  it('starts two instances on one database, and a change made through one is enforced by the other', async () => {
    const [setup, steps] = clusterBlocks();
    const pg = new URL(PG);
    const ports = [await freePort(), await freePort()];
    const bin = process.env.USHER_BIN ? path.resolve(process.env.USHER_BIN) : path.join(repoRoot, 'build/usher');
    const swap = (text) => text
      .replaceAll('sudo -u postgres psql', `psql -X "${PG}"`)
      .replaceAll(/\busher\b(?=[ :'"/]|$)/gm, (m, at, all) => (all.slice(at - 6, at) === 'build/' ? m : name))
      .replaceAll('127.0.0.1:5432', `${pg.hostname}:${pg.port}`)
      .replaceAll('build/usher', bin)
      .replaceAll('8081', String(ports[0]))
      .replaceAll('8082', String(ports[1]));
    const ready = ports.map((p) => `for _ in $(seq 300); do curl -sf http://127.0.0.1:${p}/readyz >/dev/null && break; sleep 0.1; done`).join('\n');
    // The promise is "within 100 ms": the revocation is given that long before the last step.
    const bounded = swap(steps).replace(/(curl -s -X DELETE[^\n]*\n)/, '$1sleep 0.1\n');
    assert.notEqual(bounded, swap(steps), 'the README revokes the token');
    const script = `set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null; wait' EXIT\n${swap(setup)}\n${ready}\n${bounded}`;
    const run = spawnSync('bash', ['-c', script], { encoding: 'utf8', cwd: tempDir() });
    assert.equal(run.status, 0, `steps failed:\n${run.stderr.slice(-3000)}\n${run.stdout.slice(-2000)}`);
    const lines = run.stdout.trim().split('\n');
    assert.ok(lines.includes('{"allowed":true}'), `the second instance did not allow:\n${run.stdout}`);
    assert.equal(lines.at(-1), '401', 'the revoked token still works on the second instance');
  });
});
