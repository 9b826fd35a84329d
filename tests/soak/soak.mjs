// The soak run (SECURITY 36): mixed load on one usher for a number of minutes (sign-ins,
// decisions, lists, invitations created and accepted, grant changes, metrics), with the resident
// memory of the server sampled at the start (after a warm-up) and at the end. Prints the
// requests, the errors (5xx answers and broken connections), latency percentiles and the RSS
// growth; exits non-zero on any error or when RSS grew more than --max-growth-mib.
//
//   node tests/soak/soak.mjs [--minutes N] [--clients N] [--max-growth-mib N]
//
// USHER_BIN names the binary (default build/usher: a release build, so memory is the real one).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { repoRoot, tempDir } from '../api/lib/harness.mjs';
import { startSmtp, tokenOf } from '../api/lib/smtp.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? Number(args[i + 1]) : fallback;
};
const MINUTES = option('minutes', 10);
const CLIENTS = option('clients', 16);
const MAX_GROWTH_MIB = option('max-growth-mib', 64);
const WARMUP_MS = Math.min(30000, MINUTES * 60000 * 0.1);
const PASSWORD = 'soak-password-4e1b';
const ADMIN = 'soak-admin@soak.example';
const bin = process.env.USHER_BIN ? path.resolve(process.env.USHER_BIN) : path.join(repoRoot, 'build/usher');

// The server, started by hand: its log lines are counted and dropped, not kept (a soak writes
// hundreds of thousands).
const smtp = await startSmtp();
const env = { PATH: process.env.PATH, USHER_ADMIN_EMAIL: ADMIN, USHER_ADMIN_PASSWORD: PASSWORD, USHER_SMTP_URL: smtp.url };
for (const k of ['ASAN_OPTIONS', 'UBSAN_OPTIONS', 'TSAN_OPTIONS']) if (process.env[k]) env[k] = process.env[k];
const child = spawn(bin, ['serve', '--listen', '127.0.0.1:0', '--data-dir', tempDir('usher-soak-')], {
  env, stdio: ['ignore', 'ignore', 'pipe'],
});
const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve(code ?? 128)));
const logCounts = {};
const strange = [];
let port = 0;
await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error('usher did not start')), 60000);
  let buf = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let l = null;
      try {
        l = JSON.parse(line);
      } catch {
        if (strange.length < 50) strange.push(line);
        continue;
      }
      logCounts[l.level] = (logCounts[l.level] || 0) + 1;
      if (l.level === 'error' && strange.length < 50) strange.push(line);
      if (l.event === 'serve.listening') {
        port = l.port;
        clearTimeout(timer);
        resolve();
      }
    }
  });
});
const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS * 2 });
const rssKiB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))[1]);

// One request over a kept-alive connection; resolves {status, json}.
function api(method, urlPath, { token, body } = {}) {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers = {};
  if (payload !== undefined) {
    headers['Content-Type'] = 'application/json';
    headers['Content-Length'] = Buffer.byteLength(payload);
  }
  if (token) headers.Authorization = `Bearer ${token}`;
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: urlPath, headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json = null;
        if (/json/.test(res.headers['content-type'] || '')) {
          try {
            json = JSON.parse(text);
          } catch {
            json = null;
          }
        }
        resolve({ status: res.statusCode, json });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}
const call = (token, method, urlPath, body) => api(method, urlPath, { token, body });
const usher = { api };

const admin = (await call(undefined, 'POST', '/api/v1/sessions', { email: ADMIN, password: PASSWORD })).json.token;
const agency = (await call(admin, 'POST', '/api/v1/agencies', { name: 'Soak' })).json;
const envs = [];
for (const name of ['production', 'staging', 'test']) {
  envs.push((await call(admin, 'POST', `/api/v1/agencies/${agency.id}/environments`, { name })).json.id);
}
const apiToken = (await call(admin, 'POST', `/api/v1/agencies/${agency.id}/tokens`, { name: 'soak' })).json.token;

const stats = { requests: 0, errors: 0, byStatus: {}, latencies: [] };
const members = []; // user ids accepted during the run
let seq = 0;
let measuring = false;

async function timed(fn) {
  const started = performance.now();
  let res;
  try {
    res = await fn();
  } catch (e) {
    res = { status: `network ${e.code || e.message}` };
  }
  if (measuring) {
    stats.requests++;
    stats.byStatus[res.status] = (stats.byStatus[res.status] || 0) + 1;
    if (typeof res.status !== 'number' || res.status >= 500) stats.errors++;
    if (stats.latencies.length < 2000000) stats.latencies.push(performance.now() - started);
  }
  return res;
}

const pick = (list) => list[Math.floor(Math.random() * list.length)];
const ROLES = [['agent'], ['analyst'], ['operator'], ['producer']];

async function step() {
  const r = Math.random();
  if (r < 0.45) {
    const who = members.length ? pick(members) : 'usr_nobody';
    await timed(() => usher.api('POST', '/api/v1/check', {
      token: apiToken, body: { user_id: who, permission: pick(['bot.read', 'inbox.reply', 'crm.write']), environment_id: pick(envs) },
    }));
  } else if (r < 0.6) {
    await timed(() => call(admin, 'GET', `/api/v1/agencies/${agency.id}/users?limit=20`));
  } else if (r < 0.68) {
    await timed(() => call(admin, 'GET', '/api/v1/agencies'));
  } else if (r < 0.76) {
    const email = `soak-${process.pid}-${++seq}@soak.example`;
    const res = await timed(() => call(admin, 'POST', `/api/v1/agencies/${agency.id}/invitations`, {
      email, grants: [{ environment_id: pick(envs), roles: pick(ROLES) }], send_email: Math.random() < 0.2,
    }));
    if (res.status === 201 && Math.random() < 0.5) {
      const acc = await timed(() => usher.api('POST', '/api/v1/invitations/accept', {
        body: { token: tokenOf(res.json.url), password: PASSWORD, first_name: 'Soak', last_name: `${seq}` },
      }));
      if (acc.status === 201) members.push(acc.json.user.id);
    }
  } else if (r < 0.88 && members.length) {
    const id = pick(members);
    await timed(() => call(admin, 'PUT', `/api/v1/agencies/${agency.id}/users/${id}/grants`, {
      grants: [{ environment_id: pick(envs), roles: pick(ROLES) }],
    }));
  } else if (r < 0.93) {
    const res = await timed(() => usher.api('POST', '/api/v1/sessions', { body: { email: ADMIN, password: PASSWORD } }));
    if (res.status === 201) await timed(() => call(res.json.token, 'DELETE', '/api/v1/sessions/current'));
  } else if (r < 0.97) {
    await timed(() => call(admin, 'GET', `/api/v1/agencies/${agency.id}/audit?limit=50`));
  } else {
    await timed(() => usher.api('GET', '/metrics'));
  }
}

let running = true;
const clients = Array.from({ length: CLIENTS }, async () => {
  while (running) await step();
});
await sleep(WARMUP_MS);
const rssStart = rssKiB();
measuring = true;
const started = Date.now();
const samples = [rssStart];
const end = started + MINUTES * 60000 - WARMUP_MS;
while (Date.now() < end) {
  await sleep(Math.min(5000, Math.max(0, end - Date.now())));
  samples.push(rssKiB());
}
measuring = false;
const rssEnd = rssKiB();
running = false;
await Promise.all(clients);
const seconds = (Date.now() - started) / 1000;
child.kill('SIGTERM');
const code = await exited;
agent.destroy();
await smtp.close();

stats.latencies.sort((x, y) => x - y);
const pct = (p) => stats.latencies[Math.min(stats.latencies.length - 1, Math.floor(stats.latencies.length * p))] ?? 0;
const growth = (rssEnd - rssStart) / 1024;
console.log(
  `soak: ${MINUTES} min, ${CLIENTS} clients: ${stats.requests} requests (${Math.round(stats.requests / seconds)}/s), ` +
  `${stats.errors} errors; p50 ${pct(0.5).toFixed(1)} ms, p99 ${pct(0.99).toFixed(1)} ms; ` +
  `RSS ${(rssStart / 1024).toFixed(1)} MiB -> ${(rssEnd / 1024).toFixed(1)} MiB (${growth >= 0 ? '+' : ''}${growth.toFixed(1)} MiB, ` +
  `peak ${(Math.max(...samples) / 1024).toFixed(1)} MiB); ${members.length} members; exit ${code}`,
);
console.log(`soak: answers by status ${JSON.stringify(stats.byStatus)}; log lines ${JSON.stringify(logCounts)}`);
for (const line of strange.slice(0, 10)) console.log(`soak: server said: ${line.slice(0, 300)}`);
let ok = true;
if (stats.errors > 0) {
  console.error(`soak: FAIL ${stats.errors} errors`);
  ok = false;
}
if (growth > MAX_GROWTH_MIB) {
  console.error(`soak: FAIL RSS grew ${growth.toFixed(1)} MiB, over ${MAX_GROWTH_MIB} MiB`);
  ok = false;
}
if (code !== 0) {
  console.error(`soak: FAIL usher exited ${code}`);
  ok = false;
}
assert.ok(stats.requests > 0, 'no request was measured');
process.exit(ok ? 0 : 1);
