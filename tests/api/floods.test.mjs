// Floods and slow clients (SECURITY 31, 36): a client trickling its headers or its body is cut
// off at the request deadline, a request being answered is not; connections past the per-address
// limit are refused for that address only; oversized headers are refused; and 200 concurrent
// sign-ins keep to the hashing pool's bound (503 beyond the queue, memory bounded). The body cap
// and the global connection limit are in foundation.test.mjs.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { startUsher } from './lib/harness.mjs';
import { ADMIN_EMAIL, PASSWORD, startWorld } from './lib/world.mjs';

function connect(port, localAddress = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host: '127.0.0.1', localAddress }, () => resolve(sock));
    sock.once('error', reject);
  });
}

// One GET from localAddress; resolves the status, or 'closed' when the server hung up without
// an answer.
function getFrom(port, localAddress, urlPath = '/healthz') {
  return new Promise((resolve) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: urlPath, localAddress, agent: false },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      },
    );
    req.on('error', () => resolve('closed'));
    req.end();
  });
}

// Writes pieces one by one, waiting gapMs between them; resolves how long the server kept the
// connection open (or Infinity when it outlasted every piece and then some).
async function trickle(port, pieces, gapMs) {
  const sock = await connect(port);
  sock.on('error', () => {});
  let closedAt = null;
  sock.on('close', () => {
    closedAt = Date.now();
  });
  const started = Date.now();
  for (const piece of pieces) {
    if (closedAt) break;
    sock.write(piece);
    await sleep(gapMs);
  }
  const limit = Date.now() + 3000;
  while (!closedAt && Date.now() < limit) await sleep(20);
  sock.destroy();
  return closedAt ? closedAt - started : Infinity;
}

// One JSON POST from localAddress; resolves {status, headers, json} or {status: 'closed'}.
function postFrom(port, localAddress, urlPath, body) {
  const payload = JSON.stringify(body);
  return new Promise((resolve) => {
    const req = http.request({
      host: '127.0.0.1', port, path: urlPath, method: 'POST', localAddress, agent: false,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json = null;
        try {
          json = JSON.parse(text);
        } catch {
          json = null;
        }
        resolve({ status: res.statusCode, headers: res.headers, json });
      });
    });
    req.on('error', () => resolve({ status: 'closed' }));
    req.end(payload);
  });
}

const rssKiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);

describe('slow clients', () => {
  it('closes a connection that trickles its headers past the request deadline', async () => {
    const usher = await startUsher({
      env: { USHER_REQUEST_TIMEOUT_SECONDS: '2', USHER_CONNECTION_TIMEOUT_SECONDS: '30' },
    });
    try {
      // One header byte every 300 ms: never idle for long, never finished.
      const header = 'GET /healthz HTTP/1.1\r\nHost: usher\r\nX-Slow: ' + 'a'.repeat(40);
      const held = await trickle(usher.port, header.split(''), 300);
      assert.ok(held >= 1500 && held < 4500, `held ${held} ms`);
      assert.ok(usher.findLogs('http.request_timeout').length >= 1);
      assert.equal((await usher.api('GET', '/healthz')).status, 200);
    } finally {
      assert.equal(await usher.stop(), 0);
    }
  });

  it('closes a connection that trickles its body past the request deadline', async () => {
    const usher = await startUsher({
      env: { USHER_REQUEST_TIMEOUT_SECONDS: '2', USHER_CONNECTION_TIMEOUT_SECONDS: '30' },
    });
    try {
      const head = 'POST /api/v1/sessions HTTP/1.1\r\nHost: usher\r\nContent-Type: application/json\r\n' +
        'Content-Length: 200\r\n\r\n';
      const held = await trickle(usher.port, [head, ...'{"email":"slow@example.com","pass'.split('')], 300);
      assert.ok(held >= 1500 && held < 4500, `held ${held} ms`);
    } finally {
      assert.equal(await usher.stop(), 0);
    }
  });

  it('does not cut off a request while it is being answered', async () => {
    // One hashing slot: a hundred sign-ins queue behind each other in the hashing pool for
    // longer than the deadline, each already being answered on a thread of its own. (A request
    // still waiting for a busy thread is another case: see docs/internals/http.md.)
    const w = await startWorld({
      env: {
        USHER_REQUEST_TIMEOUT_SECONDS: '1', USHER_HASH_WORKERS: '1', USHER_HASH_QUEUE: '100',
        USHER_THREADS: '128',
      },
    });
    try {
      // A hundred people, each from their own address: one client's concurrent sign-ins are
      // held to the throttle's limit before they reach the pool (SECURITY 38).
      const emails = Array.from({ length: 100 }, (_, i) => `queued${i}@flood.example`);
      emails.forEach((email, i) => w.addUser(email, `queued${i}`));
      const started = Date.now();
      const answers = await Promise.all(emails.map((email, i) =>
        postFrom(w.usher.port, `127.0.1.${10 + i}`, '/api/v1/sessions', { email, password: PASSWORD })));
      const elapsed = Date.now() - started;
      for (const res of answers) assert.equal(res.status, 201, JSON.stringify(res.json));
      assert.ok(elapsed > 1000, `the queue took ${elapsed} ms, not longer than the deadline`);
    } finally {
      assert.equal(await w.stop(), 0);
    }
  });
});

describe('connection limits per address', () => {
  it('refuses connections past the limit from one address, not from another', async () => {
    const usher = await startUsher({
      env: { USHER_MAX_CONNECTIONS_PER_ADDRESS: '4', USHER_CONNECTION_TIMEOUT_SECONDS: '30' },
    });
    try {
      const idle = [];
      for (let i = 0; i < 4; i++) {
        const sock = await connect(usher.port, '127.0.0.1');
        sock.on('error', () => {});
        idle.push(sock);
      }
      await sleep(100);
      assert.equal(await getFrom(usher.port, '127.0.0.1'), 'closed', 'a fifth connection from one address');
      assert.equal(await getFrom(usher.port, '127.0.0.2'), 200, 'another address is served');
      for (const sock of idle) sock.destroy();
      await sleep(200);
      assert.equal(await getFrom(usher.port, '127.0.0.1'), 200, 'served again once they closed');
    } finally {
      assert.equal(await usher.stop(), 0);
    }
  });
});

describe('header size', () => {
  it('refuses headers over the per-connection memory cap and stays up', async () => {
    const usher = await startUsher();
    try {
      const status = await new Promise((resolve) => {
        const req = http.request({
          host: '127.0.0.1', port: usher.port, path: '/healthz', agent: false,
          headers: { 'X-Big': 'b'.repeat(70 * 1024) },
        }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode));
        });
        req.on('error', () => resolve('closed'));
        req.end();
      });
      assert.ok(status === 431 || status === 413 || status === 'closed', `status ${status}`);
      const longUrl = await usher.api('GET', `/api/v1/agencies/${'x'.repeat(70 * 1024)}`).catch(() => ({ status: 'closed' }));
      assert.ok([414, 431, 413, 'closed'].includes(longUrl.status), `status ${longUrl.status}`);
      assert.equal((await usher.api('GET', '/healthz')).status, 200);
    } finally {
      assert.equal(await usher.stop(), 0);
    }
  });
});

describe('the hashing pool under 200 concurrent sign-ins', () => {
  it('answers 503 beyond the queue and keeps memory to the pool bound', async () => {
    // One hashing slot and a queue of two: the overflow does not depend on how fast the
    // machine hashes or how the sign-ins happen to spread over the server's threads.
    const workers = 1;
    const queue = 2;
    const w = await startWorld({
      env: {
        USHER_HASH_WORKERS: String(workers),
        USHER_HASH_QUEUE: String(queue),
        USHER_THREADS: '64',
        // Freed hashing memory goes back at once, so RSS shows what is in use (sanitizer builds).
        ASAN_OPTIONS: `${process.env.ASAN_OPTIONS || ''}:quarantine_size_mb=4:thread_local_quarantine_size_kb=64`,
      },
    });
    try {
      // 200 people, each signing in from their own address (the per-address throttle and
      // connection limit stay out of the way), all at once.
      const emails = [];
      for (let i = 0; i < 200; i++) {
        emails.push(`flood${i}@flood.example`);
        w.addUser(emails[i], `flood${i}`);
      }
      await w.signIn(ADMIN_EMAIL); // warm up: the first hash allocates the pool's memory
      const pid = w.usher.process.pid;
      const before = rssKiB(pid);
      let peak = before;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          peak = Math.max(peak, rssKiB(pid));
          await sleep(5);
        }
      })();
      const answers = await Promise.all(emails.map((email, i) =>
        postFrom(w.usher.port, `127.0.0.${10 + i}`, '/api/v1/sessions', { email, password: PASSWORD })));
      sampling = false;
      await sampler;
      const by = {};
      for (const r of answers) by[r.status] = (by[r.status] || 0) + 1;
      const ok = by[201] || 0;
      const busy = by[503] || 0;
      assert.equal(ok + busy, 200, `answers ${JSON.stringify(by)}`);
      assert.ok(busy > 0, `no sign-in was refused: ${JSON.stringify(by)}`);
      assert.ok(ok >= workers + queue, `too few served: ${JSON.stringify(by)}`);
      for (const r of answers.filter((a) => a.status === 503)) {
        assert.equal(r.json.code, 'unavailable');
        assert.ok(Number(r.headers['retry-after']) >= 1);
      }
      // 200 hashes at once would take 200 x 19 MiB; the pool allows `workers` at a time.
      const grownMiB = (peak - before) / 1024;
      const boundMiB = (workers + 2) * 19 + 64;
      console.log(`# sign-ins: ${JSON.stringify(by)}; RSS ${Math.round(before / 1024)} MiB -> peak ${Math.round(peak / 1024)} MiB`);
      assert.ok(grownMiB < boundMiB, `RSS grew ${grownMiB.toFixed(0)} MiB, over ${boundMiB} MiB`);
    } finally {
      assert.equal(await w.stop(), 0);
    }
  });
});
