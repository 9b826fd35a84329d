// The README's five-minute tour, run as written: every shell block of the "A five-minute
// tour" section (except the one that starts the server with `make run`) runs in one bash
// script against a server started the same way, with the tour's address replaced by the test
// server's. A step that fails, or an answer the tour does not expect, fails the test.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { repoRoot, startUsher } from './lib/harness.mjs';

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
