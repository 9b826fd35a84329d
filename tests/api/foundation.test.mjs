// The foundation through the real binary: health and metrics endpoints, error answers,
// security headers, logging, graceful stop, settings precedence and the command line.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { repoRoot, runUsher, startUsher, tempDir, testDb } from './lib/harness.mjs';

// The value of the sample `name{labels}` in a Prometheus text exposition, or 0 when absent.
function sample(text, name, labels = '') {
  const key = labels ? `${name}{${labels}} ` : `${name} `;
  const line = text.split('\n').find((l) => l.startsWith(key));
  return line ? Number(line.slice(key.length)) : 0;
}

function assertCommonHeaders(res) {
  assert.match(res.headers['x-request-id'] || '', /^[0-9a-f]{16}$/);
  assert.equal(res.headers['cache-control'], 'no-store');
  assert.equal(res.headers['x-content-type-options'], 'nosniff');
}

function assertProblem(res, status, code) {
  assert.equal(res.status, status);
  assert.match(res.headers['content-type'] || '', /^application\/problem\+json/);
  assert.ok(res.json, `a JSON body, got ${res.text}`);
  assert.equal(res.json.status, status);
  assert.equal(res.json.code, code);
  assert.equal(typeof res.json.detail, 'string');
  assert.equal(res.json.request_id, res.headers['x-request-id']);
}

describe('a running server', () => {
  let usher;
  before(async () => {
    usher = await startUsher({ env: { USHER_MAX_BODY_BYTES: '1024' } });
  });
  after(async () => {
    assert.equal(await usher.stop(), 0);
  });

  it('answers /healthz with 200', async () => {
    const res = await usher.api('GET', '/healthz');
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'], /^application\/json/);
    assert.deepEqual(res.json, { status: 'ok' });
  });

  it('answers /readyz with 200 and names the database', async () => {
    const res = await usher.api('GET', '/readyz');
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { status: 'ready', database: testDb });
  });

  it('answers HEAD like GET, without a body', async () => {
    const res = await usher.api('HEAD', '/healthz');
    assert.equal(res.status, 200);
    assert.equal(res.text, '');
  });

  it('exposes the metric families in the Prometheus text format', async () => {
    const res = await usher.api('GET', '/metrics');
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/);
    for (const [family, type] of [
      ['usher_http_requests_total', 'counter'],
      ['usher_http_request_duration_seconds', 'histogram'],
      ['usher_http_errors_total', 'counter'],
      ['usher_password_hashes_total', 'counter'],
      ['usher_http_connections', 'gauge'],
      ['usher_authz_index_users', 'gauge'],
      ['usher_authz_index_grants', 'gauge'],
      ['usher_authz_index_places', 'gauge'],
      ['usher_authz_index_custom_roles', 'gauge'],
      ['usher_authz_index_bytes', 'gauge'],
    ]) {
      assert.ok(res.text.includes(`# TYPE ${family} ${type}\n`), `${family} is a ${type}`);
      assert.ok(res.text.includes(`# HELP ${family} `), `${family} has help`);
    }
  });

  it('counts requests by route, method and status, and errors by code', async () => {
    const before = (await usher.api('GET', '/metrics')).text;
    for (let i = 0; i < 3; i++) assert.equal((await usher.api('GET', '/healthz')).status, 200);
    assert.equal((await usher.api('GET', '/api/v1/no/such/path')).status, 404);
    assert.equal((await usher.api('DELETE', '/readyz')).status, 405);
    const now = (await usher.api('GET', '/metrics')).text;

    const delta = (name, labels) => sample(now, name, labels) - sample(before, name, labels);
    assert.equal(delta('usher_http_requests_total', 'route="/healthz",method="GET",status="200"'), 3);
    assert.equal(delta('usher_http_requests_total', 'route="unmatched",method="GET",status="404"'), 1);
    assert.equal(delta('usher_http_requests_total', 'route="unmatched",method="DELETE",status="405"'), 1);
    assert.equal(delta('usher_http_errors_total', 'code="not_found"'), 1);
    assert.equal(delta('usher_http_errors_total', 'code="method_not_allowed"'), 1);
    assert.equal(delta('usher_http_request_duration_seconds_count', 'route="/healthz"'), 3);
    assert.equal(delta('usher_http_request_duration_seconds_bucket', 'route="/healthz",le="+Inf"'), 3);
    assert.ok(sample(now, 'usher_http_request_duration_seconds_sum', 'route="/healthz"') > 0);
    // Histogram buckets are cumulative.
    const buckets = now
      .split('\n')
      .filter((l) => l.startsWith('usher_http_request_duration_seconds_bucket{route="/healthz"'))
      .map((l) => Number(l.split(' ')[1]));
    assert.ok(buckets.length > 2);
    for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i] >= buckets[i - 1]);
    assert.ok(sample(now, 'usher_http_connections') >= 0);
  });

  it('counts an unknown method as "other" and keeps the exposition parseable', async () => {
    // A quote in the method must not reach a label; node refuses to send one, so use a socket.
    const raw = await new Promise((resolve, reject) => {
      const sock = net.connect(usher.port, '127.0.0.1', () => {
        sock.end('BR"EW /healthz HTTP/1.1\r\nHost: usher\r\nConnection: close\r\n\r\n');
      });
      let text = '';
      sock.setEncoding('utf8');
      sock.on('data', (c) => (text += c));
      sock.on('end', () => resolve(text));
      sock.on('error', reject);
    });
    assert.match(raw, /^HTTP\/1\.1 [45]\d\d /);
    for (let i = 0; i < 3; i++) await usher.api(`FOOBAR${i}`, '/healthz');
    const text = (await usher.api('GET', '/metrics')).text;
    assert.ok(!/method="(BR|FOOBAR)/.test(text), 'no client method text in a label');
    assert.ok(sample(text, 'usher_http_requests_total', 'route="unmatched",method="other",status="405"') >= 3);
    const sampleLine = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*")*\})? [-+0-9.eE]+(Inf)?$/;
    for (const line of text.split('\n')) {
      if (line === '' || line.startsWith('# ')) continue;
      assert.match(line, sampleLine);
    }
  });

  it('answers an unknown path with 404 problem+json', async () => {
    const res = await usher.api('GET', '/api/v1/nothing-here');
    assertProblem(res, 404, 'not_found');
  });

  it('answers a known path with a wrong method with 405 and Allow', async () => {
    const res = await usher.api('POST', '/healthz', { body: {} });
    assertProblem(res, 405, 'method_not_allowed');
    assert.equal(res.headers.allow, 'GET, HEAD');
  });

  it('answers a body over USHER_MAX_BODY_BYTES with 413 payload_too_large', async () => {
    const res = await usher.api('POST', '/healthz', { raw: 'x'.repeat(1025) });
    assertProblem(res, 413, 'payload_too_large');
  });

  it('answers a chunked body over the limit with 413 too', async () => {
    const res = await usher.api('POST', '/healthz', {
      raw: 'y'.repeat(4000),
      headers: { 'Transfer-Encoding': 'chunked', 'Content-Length': undefined },
    });
    assertProblem(res, 413, 'payload_too_large');
  });

  it('accepts a body of exactly the limit', async () => {
    const res = await usher.api('POST', '/no/such/path', { raw: 'z'.repeat(1024) });
    assertProblem(res, 404, 'not_found');
  });

  it('sets X-Request-Id, Cache-Control: no-store and nosniff on every answer', async () => {
    const answers = [
      await usher.api('GET', '/healthz'),
      await usher.api('GET', '/readyz'),
      await usher.api('GET', '/metrics'),
      await usher.api('GET', '/api/v1/missing'),
      await usher.api('PUT', '/metrics', { body: {} }),
      await usher.api('POST', '/healthz', { raw: 'x'.repeat(5000) }),
    ];
    for (const res of answers) assertCommonHeaders(res);
    const ids = new Set(answers.map((r) => r.headers['x-request-id']));
    assert.equal(ids.size, answers.length, 'request ids are unique');
  });

  it('logs the port it actually bound when asked for port 0', async () => {
    const line = usher.findLogs('serve.listening')[0];
    assert.equal(line.listen, '127.0.0.1:0');
    assert.ok(Number.isInteger(line.port) && line.port > 0 && line.port < 65536);
    assert.equal(line.public_url, `http://127.0.0.1:${line.port}`);
    const res = await usher.api('GET', '/healthz');
    assert.equal(res.status, 200);
  });

  it('logs JSON lines with ts, level and event, and one line per request with its id', async () => {
    const res = await usher.api('GET', '/healthz');
    const id = res.headers['x-request-id'];
    const line = await usher.waitForLog('http.request', (l) => l.request_id === id, 5000);
    assert.equal(line.method, 'GET');
    assert.equal(line.route, '/healthz');
    assert.equal(line.status, 200);
    assert.equal(typeof line.duration_ms, 'number');
    assert.equal(usher.findLogs('http.request', (l) => l.request_id === id).length, 1);
    assert.deepEqual(usher.stderr, [], 'every line on standard error is JSON');
    for (const l of usher.logs) {
      assert.match(l.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.ok(['debug', 'info', 'warn', 'error'].includes(l.level), `level ${l.level}`);
      assert.equal(typeof l.event, 'string');
    }
  });

  it('logs a failed request with its error code', async () => {
    const res = await usher.api('GET', '/api/v1/missing-too');
    const id = res.headers['x-request-id'];
    const line = await usher.waitForLog('http.request', (l) => l.request_id === id, 5000);
    assert.equal(line.status, 404);
    assert.equal(line.error, 'not_found');
    assert.equal(line.route, 'unmatched');
  });
});

describe('connection limits', () => {
  function connect(port) {
    return new Promise((resolve, reject) => {
      const sock = net.connect(port, '127.0.0.1', () => resolve(sock));
      sock.once('error', reject);
    });
  }

  it('closes a connection that stalls mid-request after the idle timeout', async () => {
    const usher = await startUsher({ env: { USHER_CONNECTION_TIMEOUT_SECONDS: '1' } });
    try {
      const sock = await connect(usher.port);
      const closed = new Promise((resolve) => sock.on('close', resolve));
      const started = Date.now();
      sock.write('GET /healthz HTTP/1.1\r\nHost: usher\r\n'); // the headers never end
      await closed;
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 500 && elapsed < 5000, `closed after ${elapsed} ms`);
    } finally {
      assert.equal(await usher.stop(), 0);
    }
  });

  it('holds connections past USHER_MAX_CONNECTIONS until a slot frees', async () => {
    const usher = await startUsher({
      env: { USHER_MAX_CONNECTIONS: '2', USHER_CONNECTION_TIMEOUT_SECONDS: '1' },
      args: ['--threads', '1'],
    });
    try {
      const idle = [await connect(usher.port), await connect(usher.port)];
      for (const sock of idle) sock.on('error', () => {});
      await new Promise((r) => setTimeout(r, 100));
      const started = Date.now();
      const res = await usher.api('GET', '/healthz');
      const elapsed = Date.now() - started;
      assert.equal(res.status, 200);
      assert.ok(elapsed >= 500, `answered after ${elapsed} ms, before an idle slot timed out`);
      for (const sock of idle) sock.destroy();
    } finally {
      assert.equal(await usher.stop(), 0);
    }
  });
});

describe('stopping', () => {
  it('finishes a request in flight on SIGTERM and exits 0', async () => {
    const usher = await startUsher();
    const sock = net.connect(usher.port, '127.0.0.1');
    await new Promise((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    let answer = '';
    sock.setEncoding('utf8');
    sock.on('data', (c) => (answer += c));
    const closed = new Promise((resolve) => sock.on('close', resolve));
    // Headers and half the body: the server has started the request and waits for the rest.
    sock.write('POST /in-flight HTTP/1.1\r\nHost: usher\r\nContent-Type: application/json\r\n' +
      'Content-Length: 10\r\nConnection: close\r\n\r\n{"a":');
    await new Promise((r) => setTimeout(r, 300));
    usher.process.kill('SIGTERM');
    await usher.waitForLog('serve.stopping', undefined, 5000);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(usher.process.exitCode, null, 'still running while the request is in flight');
    sock.write('"12"}');
    await closed;
    assert.match(answer, /^HTTP\/1\.1 404 /);
    assert.match(answer, /"code":"not_found"/);
    assert.equal(await usher.stop(), 0);
    assert.equal(usher.findLogs('serve.stopped').length, 1);
  });

  it('exits 0 on SIGINT as well', async () => {
    const usher = await startUsher();
    usher.process.kill('SIGINT');
    assert.equal(await usher.stop(), 0);
    assert.equal(usher.findLogs('serve.stopping')[0].signal, 'SIGINT');
  });
});

describe('settings', () => {
  // Loopback is 127.0.0.0/8, so three hosts on port 0 tell the three sources apart.
  function configFile(lines) {
    const file = path.join(tempDir(), 'usher.ini');
    writeFileSync(file, `[usher]\n${lines.join('\n')}\n`);
    return file;
  }

  it('takes the flag over the variable over the config file over the default', async () => {
    const file = configFile(['listen = 127.0.0.2:0', 'threads = 3']);
    const cases = [
      { env: { USHER_CONFIG: file, USHER_LISTEN: '127.0.0.3:0', USHER_THREADS: '4' },
        args: ['--listen', '127.0.0.4:0', '--threads', '5'], listen: '127.0.0.4:0', threads: 5 },
      { env: { USHER_CONFIG: file, USHER_LISTEN: '127.0.0.3:0', USHER_THREADS: '4' },
        args: [], listen: '127.0.0.3:0', threads: 4 },
      { env: { USHER_CONFIG: file }, args: [], listen: '127.0.0.2:0', threads: 3 },
      { env: {}, args: ['--listen', '127.0.0.1:0'], listen: '127.0.0.1:0',
        threads: os.cpus().length },
    ];
    for (const c of cases) {
      const usher = await startUsher({ env: c.env, args: c.args, listen: null });
      try {
        const line = usher.findLogs('serve.listening')[0];
        assert.equal(line.listen, c.listen);
        assert.equal(line.threads, c.threads);
        assert.equal((await usher.api('GET', '/healthz')).status, 200);
      } finally {
        assert.equal(await usher.stop(), 0);
      }
    }
  });

  it('reads --config=FILE and --flag=value forms', async () => {
    const file = configFile(['listen = 127.0.0.5:0']);
    const usher = await startUsher({ args: [`--config=${file}`, '--threads=2'], listen: null });
    try {
      const line = usher.findLogs('serve.listening')[0];
      assert.equal(line.listen, '127.0.0.5:0');
      assert.equal(line.threads, 2);
    } finally {
      assert.equal(await usher.stop(), 0);
    }
  });

  it('shows the default listen address in serve --help', async () => {
    const r = await runUsher(['serve', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /--listen\s+USHER_LISTEN\s+default "127\.0\.0\.1:8080"/);
  });

  it('refuses an unknown flag with exit 2 and a message', async () => {
    const r = await runUsher(['serve', '--bogus', '--data-dir', tempDir()]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown option --bogus/);
  });

  it('fails at start with exit 1 when the PostgreSQL server cannot be reached, without the password', async () => {
    for (const cmd of ['serve', 'migrate']) {
      const r = await runUsher([cmd, '--data-dir', tempDir(), '--database', 'postgres://u:pw-canary-7f3a@127.0.0.1:1/usher']);
      assert.equal(r.code, 1, cmd);
      assert.match(r.stderr, /cannot connect to PostgreSQL/, cmd);
      assert.doesNotMatch(r.stderr, /pw-canary-7f3a/, cmd);
    }
  });

  it('refuses a bad value in a variable with exit 2', async () => {
    const r = await runUsher(['serve', '--data-dir', tempDir()], { env: { USHER_THREADS: 'abc' } });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /threads/);
    assert.match(r.stderr, /USHER_THREADS/);
  });

  it('refuses a bad value in a flag and in the config file with exit 2', async () => {
    let r = await runUsher(['serve', '--data-dir', tempDir(), '--threads', '-1']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /threads/);
    r = await runUsher(['serve', '--data-dir', tempDir(), '--config', configFile(['nonsense = 1'])]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown config key nonsense/);
    r = await runUsher(['serve', '--data-dir', tempDir(), '--config', path.join(tempDir(), 'absent.ini')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /cannot read/);
  });

  it('refuses a flag without its value with exit 2', async () => {
    const r = await runUsher(['serve', '--listen']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--listen needs a value/);
  });
});

describe('the command line', () => {
  it('prints the commands for usher --help and exits 0', async () => {
    const r = await runUsher(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Usage: usher <command>/);
    for (const cmd of ['serve', 'migrate', 'version']) assert.match(r.stdout, new RegExp(`^  ${cmd} `, 'm'));
  });

  it('prints usage and exits 2 without a command or with an unknown one', async () => {
    let r = await runUsher([]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Usage: usher/);
    r = await runUsher(['frobnicate']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command "frobnicate"/);
  });

  it('prints the version', async () => {
    const r = await runUsher(['version']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^usher \d+\.\d+\.\d+\n/);
    assert.match(r.stdout, /sqlite \d/);
  });

  it('applies migrations once, then says 0', async () => {
    const dir = tempDir();
    let r = await runUsher(['migrate', '--data-dir', dir]);
    assert.equal(r.code, 0, r.stderr);
    const first = Number((r.stdout.match(/(\d+) migration\(s\) applied/) || [])[1]);
    assert.ok(first >= 1, r.stdout);
    r = await runUsher(['migrate', '--data-dir', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^0 migration\(s\) applied$/m);
  });

  it('answers <command> --help with exit 0 for every listed command', async () => {
    const help = await runUsher(['--help']);
    const commands = [...help.stdout.matchAll(/^ {2}([a-z][a-z-]*) /gm)].map((m) => m[1]);
    assert.ok(commands.length >= 3, help.stdout);
    for (const cmd of commands) {
      const r = await runUsher([cmd, '--help'], { input: '' });
      assert.equal(r.code, 0, `${cmd} --help: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`Usage: usher ${cmd}`), `${cmd} --help prints its usage`);
    }
  });

  it('documents every setting of serve --help in docs/settings.md', async () => {
    const r = await runUsher(['serve', '--help']);
    assert.equal(r.code, 0);
    const doc = readFileSync(path.join(repoRoot, 'docs/settings.md'), 'utf8');
    const rows = doc.split('\n').filter((l) => l.startsWith('|'));
    const settings = [...r.stdout.matchAll(/^ {2}(--[a-z-]+)?\s+(USHER_[A-Z_]+)\s+default "(.*)"$/gm)];
    assert.ok(settings.length >= 10, r.stdout);
    for (const [, flag, variable, def] of settings) {
      const row = rows.find((l) => l.includes(`\`${variable}\``));
      assert.ok(row, `docs/settings.md has a row for ${variable}`);
      if (flag) assert.ok(row.includes(`\`${flag}\``), `the ${variable} row names ${flag}`);
      assert.ok(row.includes(def === '' ? '(empty)' : `\`${def}\``), `the ${variable} row gives the default ${def || '(empty)'}`);
    }
    // And nothing documented that the binary does not know.
    const known = new Set(settings.map((s) => s[2]));
    for (const m of doc.matchAll(/^\|[^|]*\|\s*`(USHER_[A-Z_]+)`/gm)) {
      assert.ok(known.has(m[1]), `${m[1]} in docs/settings.md is a real setting`);
    }
  });
});

describe('one database, one secret', () => {
  it('refuses to start with a secret other than the one the database was first used with', async () => {
    const db = path.join(tempDir(), 'shared.db');
    const first = await startUsher({ args: ['--database', `sqlite:${db}`] });
    // A second data directory makes a new secret of its own.
    for (const cmd of [['serve', '--listen', '127.0.0.1:0'], ['migrate']]) {
      const r = await runUsher([...cmd, '--data-dir', tempDir(), '--database', `sqlite:${db}`]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /server secret .* is not the one this database was first used with/);
    }
    // With a copy of the first one's secret it starts.
    const dir = tempDir();
    writeFileSync(path.join(dir, 'secret'), readFileSync(path.join(first.dataDir, 'secret')), { mode: 0o600 });
    const second = await startUsher({ dataDir: dir, args: ['--database', `sqlite:${db}`] });
    assert.equal((await second.api('GET', '/readyz')).status, 200);
    assert.equal(await second.stop(), 0);
    assert.equal(await first.stop(), 0);
  });
});
