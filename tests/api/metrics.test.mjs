// Where /metrics is served: on the main listener by default, and with USHER_METRICS_LISTEN on a
// listener of its own (its bound port in the serve.metrics_listening log line), the main
// listener then answering 404 for it while its other routes and the console stay as they were.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { request, runUsher, startUsher, tempDir } from './lib/harness.mjs';

describe('metrics on a listener of their own', () => {
  let usher;
  let metrics; // (method, path) against the metrics listener

  before(async () => {
    usher = await startUsher({ env: { USHER_METRICS_LISTEN: '127.0.0.1:0' } });
    const line = usher.findLogs('serve.metrics_listening')[0];
    assert.ok(line, 'the metrics listener logs its address');
    assert.equal(line.listen, '127.0.0.1:0');
    assert.ok(Number.isInteger(line.port) && line.port > 0, `a bound port, got ${line.port}`);
    assert.notEqual(line.port, usher.port);
    metrics = (method, path) => request('127.0.0.1', line.port, method, path);
  });

  after(async () => {
    assert.equal(await usher.stop(), 0);
  });

  it('answers /metrics on the metrics port with the request counters', async () => {
    assert.equal((await usher.api('GET', '/healthz')).status, 200);
    const res = await metrics('GET', '/metrics');
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/);
    assert.match(res.text, /^usher_http_requests_total\{route="\/healthz",method="GET",status="200"\} \d+$/m);
    assert.match(res.text, /^usher_password_hashes_total \d+$/m);
    assert.match(res.text, /^usher_http_connections \d+$/m);
    assert.equal((await metrics('GET', '/healthz')).status, 200);
  });

  it('answers /metrics on the main port with 404, not with the console', async () => {
    for (const method of ['GET', 'HEAD']) {
      const res = await usher.api(method, '/metrics');
      assert.equal(res.status, 404, `${method} /metrics`);
      assert.doesNotMatch(res.text, /usher_http_requests_total/);
    }
    assert.equal((await usher.api('GET', '/metrics')).json.code, 'not_found');
    // Everything else is where it was.
    assert.equal((await usher.api('GET', '/readyz')).status, 200);
    assert.equal((await usher.api('POST', '/api/v1/sessions', { body: {} })).status, 400);
  });

  it('serves nothing else on the metrics port', async () => {
    for (const path of ['/readyz', '/api/v1/me', '/', '/invitations/accept']) {
      assert.equal((await metrics('GET', path)).status, 404, path);
    }
    assert.equal((await metrics('POST', '/metrics')).status, 405);
  });

  it('counts the refused /metrics on the main listener as a 404', async () => {
    const res = await metrics('GET', '/metrics');
    assert.match(res.text, /^usher_http_requests_total\{route="\/metrics",method="GET",status="404"\} [1-9]\d*$/m);
    assert.match(res.text, /^usher_http_requests_total\{route="\/metrics",method="GET",status="200"\} [1-9]\d*$/m);
  });
});

describe('metrics without USHER_METRICS_LISTEN', () => {
  it('serves /metrics on the main listener and logs no metrics listener', async () => {
    const usher = await startUsher();
    try {
      const res = await usher.api('GET', '/metrics');
      assert.equal(res.status, 200);
      assert.match(res.text, /usher_http_requests_total/);
      assert.equal(usher.findLogs('serve.metrics_listening').length, 0);
    } finally {
      assert.equal(await usher.stop(), 0);
    }
  });

  it('refuses a malformed address, or the API\'s own fixed port, before serving', async () => {
    let r = await runUsher(['serve', '--data-dir', tempDir(), '--metrics-listen', '9100']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /metrics_listen must be host:port/);
    r = await runUsher(['serve', '--data-dir', tempDir(), '--listen', '127.0.0.1:18080', '--metrics-listen', '127.0.0.1:18080']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /metrics_listen must differ from listen/);
  });
});
