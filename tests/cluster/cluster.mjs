// Several usher instances on one PostgreSQL database, as a studio deploys them: a database of
// their own on a throwaway cluster (USHER_TEST_PG_URL, see scripts/pg_cluster.sh), data
// directories holding one shared server secret, and nginx in front of them (round robin, no
// stickiness) with its configuration, pid file, logs and temporary files in a directory of its
// own. Used by the deployment test (tests/cluster/deploy.mjs) and the propagation measurement
// (bench/propagation.mjs).
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

import { canaryFindings, startUsher, tempDir } from '../api/lib/harness.mjs';

const run = promisify(execFile);

// The reason a run cannot happen here, or null: PostgreSQL comes from USHER_TEST_PG_URL.
export function pgMissing() {
  if (!process.env.USHER_TEST_PG_URL) {
    return 'USHER_TEST_PG_URL is not set (an admin URL of a throwaway PostgreSQL cluster: scripts/pg_cluster.sh)';
  }
  return null;
}

// The URL of database name on the cluster whose admin URL is adminUrl.
function databaseUrl(adminUrl, name) {
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

// Creates an empty database usher_<random> on the cluster. Resolves {url, name, sql, rows,
// drop}: sql(text) runs statements, rows(text) resolves the rows of a SELECT as objects, drop()
// removes the database (after every client of it has gone).
export async function createDatabase(adminUrl = process.env.USHER_TEST_PG_URL) {
  const name = `usher_${randomBytes(6).toString('hex')}`;
  await run('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', adminUrl, '-c', `CREATE DATABASE ${name}`]);
  const url = databaseUrl(adminUrl, name);
  async function sql(text) {
    const { stdout } = await run('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', url, '-c', text], {
      maxBuffer: 256 * 1024 * 1024,
    });
    return stdout;
  }
  async function rows(select) {
    const out = (await sql(`SELECT coalesce(json_agg(t), '[]'::json) FROM (${select}) t`)).trim();
    return JSON.parse(out);
  }
  async function drop() {
    await run('psql', ['-X', '-q', adminUrl, '-c', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]).catch(() => {});
  }
  return { url, name, sql, rows, drop };
}

// The secrets the harness saw that appear in the database's audit table (their count).
export async function auditCanary(db) {
  const text = await db.sql('SELECT * FROM audit_log');
  return canaryFindings(text).length;
}

// A TCP port on 127.0.0.1 nothing listens on at this moment.
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// One usher instance of a cluster: start() (again after a kill, on the same port and data
// directory), kill() (SIGKILL), stop() (SIGTERM), and the running harness server as .usher.
export class Instance {
  constructor(name, { databaseUrl: dbUrl, env, dataDir }) {
    this.name = name;
    this.databaseUrl = dbUrl;
    this.env = env;
    this.dataDir = dataDir || tempDir(`usher-${name}-`);
    this.port = 0;
    this.usher = null;
    this.starts = 0;
  }

  async start() {
    // The port is kept across restarts so nginx finds the instance where it was.
    this.usher = await startUsher({
      env: { ...this.env, USHER_DATABASE_URL: this.databaseUrl },
      dataDir: this.dataDir,
      listen: `127.0.0.1:${this.port}`,
      timeoutMs: 60000,
    });
    this.port = this.usher.port;
    this.starts++;
    return this;
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  get running() {
    const p = this.usher?.process;
    return !!p && p.exitCode === null && p.signalCode === null;
  }

  // SIGKILL; resolves once the process is gone.
  kill() {
    const p = this.usher.process;
    return new Promise((resolve) => {
      if (p.exitCode !== null || p.signalCode !== null) return resolve(137);
      p.once('close', () => resolve(137));
      p.kill('SIGKILL');
    });
  }

  // SIGTERM; resolves with the exit status.
  stop() {
    return this.usher.stop();
  }

  // Sanitizer reports and other non-JSON lines on standard error.
  sanitizerReports() {
    return this.usher ? this.usher.stderr.filter((l) => /Sanitizer|runtime error/.test(l)) : [];
  }
}

// Starts n instances on databaseUrl: the first makes the server secret (and the schema), the
// others get a copy of its secret before they start. env is added to each instance's
// environment.
export async function startInstances(n, { databaseUrl: dbUrl, env = {} }) {
  const instances = [];
  for (let i = 0; i < n; i++) {
    const inst = new Instance(`i${i + 1}`, { databaseUrl: dbUrl, env });
    if (i > 0) copyFileSync(path.join(instances[0].dataDir, 'secret'), path.join(inst.dataDir, 'secret'));
    instances.push(await inst.start());
  }
  return instances;
}

// The nginx binary: $NGINX, or Debian's.
export function nginxBin() {
  return process.env.NGINX || '/usr/sbin/nginx';
}

// Starts nginx (daemon off, as the current user) on 127.0.0.1 and a free port, proxying round
// robin to the instances' ports with keep-alive connections to them. A failed upstream is
// tried again only where nginx allows it (a refused connection; never a request already sent).
// port (default: a free one) is where it listens. Resolves {port, host, dir, stop}.
export async function startNginx(ports, { port: wantPort } = {}) {
  if (!existsSync(nginxBin())) throw new Error(`${nginxBin()} is missing: run scripts/setup.sh (Debian package nginx)`);
  const dir = tempDir('usher-nginx-');
  const port = wantPort || (await freePort());
  const user = os.userInfo();
  const conf = [
    // As root nginx would hand its workers to "nobody"; they stay with the current user.
    user.uid === 0 ? `user ${user.username};` : '',
    'daemon off;',
    'master_process on;',
    'worker_processes 1;',
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log warn;`,
    'events { worker_connections 1024; }',
    'http {',
    `  access_log ${dir}/access.log;`,
    `  client_body_temp_path ${dir}/client_body;`,
    `  proxy_temp_path ${dir}/proxy;`,
    `  fastcgi_temp_path ${dir}/fastcgi;`,
    `  uwsgi_temp_path ${dir}/uwsgi;`,
    `  scgi_temp_path ${dir}/scgi;`,
    '  upstream usher {',
    ...ports.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=1s;`),
    '    keepalive 32;',
    '  }',
    '  server {',
    `    listen 127.0.0.1:${port};`,
    '    location / {',
    '      proxy_pass http://usher;',
    '      proxy_http_version 1.1;',
    '      proxy_set_header Connection "";',
    '      proxy_set_header Host $http_host;',
    '      proxy_set_header X-Forwarded-For $remote_addr;',
    '      proxy_connect_timeout 2s;',
    '      proxy_read_timeout 60s;',
    '    }',
    '  }',
    '}',
    '',
  ].join('\n');
  writeFileSync(path.join(dir, 'nginx.conf'), conf);
  const child = spawn(nginxBin(), ['-p', dir, '-e', `${dir}/error.log`, '-c', `${dir}/nginx.conf`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (c) => (stderr += c));
  const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve(code ?? signal)));
  // TERM, not KILL: the master then takes its worker down with it (a killed master would
  // leave the worker serving the port).
  const killOnExit = () => child.kill('SIGTERM');
  process.on('exit', killOnExit);
  child.unref();
  child.stderr.unref();
  // Ready once it answers on its port.
  const deadline = Date.now() + 15000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${stderr}`);
    const up = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (up) break;
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new Error(`nginx did not listen on ${port} within 15 s: ${stderr}`);
    }
    await sleep(50);
  }
  return {
    host: '127.0.0.1',
    port,
    dir,
    stderr: () => stderr,
    // Stops nginx (QUIT: finish in-flight requests; TERM after 10 s) and resolves once it is
    // gone.
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGQUIT');
      const timer = setTimeout(() => child.kill('SIGTERM'), 10000);
      await exited;
      clearTimeout(timer);
      process.off('exit', killOnExit);
    },
  };
}

// A client for one address that keeps its connections alive (maxSockets at once): call(method,
// path, {token, body}) resolves {status, headers, json, text, ms, at}, ms being the time to the whole answer and at
// its performance.now().
export function keepAliveClient(host, port, maxSockets = 1) {
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  function call(method, urlPath, { token, body } = {}) {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers = {};
    if (payload !== undefined) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = Buffer.byteLength(payload);
    }
    if (token) headers.Authorization = `Bearer ${token}`;
    const t0 = performance.now();
    return new Promise((resolve, reject) => {
      const req = http.request({ host, port, method, path: urlPath, headers, agent }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json = null;
          if (/json/.test(res.headers['content-type'] || '') && text) {
            try {
              json = JSON.parse(text);
            } catch {
              json = null;
            }
          }
          resolve({ status: res.statusCode, headers: res.headers, json, text, ms: performance.now() - t0, at: performance.now() });
        });
      });
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }
  return { call, close: () => agent.destroy() };
}

// Polls probe() (an async function resolving true once the change shows) until it does or
// limitMs passed. Resolves the milliseconds from since to the answer that showed it, or null.
// pauseMs between polls keeps a tight loop from starving the server it measures.
export async function pollUntil(probe, since, { limitMs = 2000, pauseMs = 1 } = {}) {
  for (;;) {
    const seen = await probe();
    const now = performance.now();
    if (seen) return now - since;
    if (now - since > limitMs) return null;
    if (pauseMs > 0) await sleep(pauseMs);
  }
}

// Median, 99th percentile and maximum of a list of numbers (null when empty).
export function summarize(values) {
  if (values.length === 0) return { count: 0, median: null, p99: null, max: null };
  const s = [...values].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
  return { count: s.length, median: at(0.5), p99: at(0.99), max: s[s.length - 1] };
}
