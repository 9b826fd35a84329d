// The black-box harness: starts the real usher binary on 127.0.0.1:0 with a fresh data
// directory, reads its JSON log lines, and talks HTTP to it. The binary is $USHER_BIN, or
// build/usher in the repository. Every server and data directory a test file makes is killed
// and removed when that file's process exits, even after a failed assertion.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export const usherBin = process.env.USHER_BIN
  ? path.resolve(process.env.USHER_BIN)
  : path.join(repoRoot, 'build/usher');

const running = new Set();

// The secret canary (SECURITY 29): every password, session, CSRF, invitation and API token
// that passes through this harness is remembered, and when a server stops, its log and its
// audit table must hold none of them.
const secrets = new Set();

function remember(value) {
  if (typeof value === 'string' && value.length >= 8) secrets.add(value);
}

function rememberFrom(body, json, headers) {
  if (body && typeof body === 'object') {
    remember(body.password);
    remember(body.token);
  }
  if (json && typeof json === 'object') {
    remember(json.token);
    remember(json.csrf_token);
    remember(json.secret);
    const link = typeof json.url === 'string' ? /#token=([A-Za-z0-9_-]+)/.exec(json.url) : null;
    if (link) remember(link[1]);
  }
  for (const cookie of [].concat(headers?.['set-cookie'] || [])) {
    const value = /^[^=]+=([^;]+)/.exec(cookie);
    if (value) remember(value[1]);
  }
}

// Adds a secret the tests made themselves (a password set elsewhere, an SMTP password).
export function rememberSecret(value) {
  remember(value);
}

// The secrets found in text, if any (their position only, never the value).
export function canaryFindings(text) {
  const found = [];
  for (const secret of secrets) {
    const at = text.indexOf(secret);
    if (at >= 0) found.push(at);
  }
  return found;
}
const tempDirs = new Set();

function cleanup() {
  for (const child of running) child.kill('SIGKILL');
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    cleanup();
    process.exit(128 + os.constants.signals[signal]);
  });
}

// A new empty directory that is removed when the test process exits.
export function tempDir(prefix = 'usher-test-') {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

// The environment for a child: the test process's own, without any USHER_* setting (so the
// caller's shell cannot change what a test sees), plus extra. A value of undefined or null
// removes the variable.
function childEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('USHER_')) env[k] = v;
  }
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined || v === null) delete env[k];
    else env[k] = String(v);
  }
  return env;
}

// Log lines whose event is event (and, when given, for which pred is true).
export function findLogs(logs, event, pred = () => true) {
  return logs.filter((l) => l.event === event && pred(l));
}

function hostOf(listen) {
  const i = listen.lastIndexOf(':');
  const host = i >= 0 ? listen.slice(0, i) : listen;
  if (host === '' || host === '*' || host === '0.0.0.0') return '127.0.0.1';
  if (host === 'localhost') return '127.0.0.1';
  return host.replace(/^\[|\]$/g, '');
}

// One HTTP request. body is sent as JSON; raw (a string or Buffer) is sent as-is; token
// becomes "Authorization: Bearer <token>". Resolves {status, headers, text, json}; json is
// the parsed body when the answer is JSON, else null.
export function request(host, port, method, urlPath, { body, raw, token, headers = {} } = {}) {
  const h = { ...headers };
  let payload;
  if (raw !== undefined) {
    payload = raw;
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) {
      h['Content-Type'] = 'application/json';
    }
  }
  if (token) h.Authorization = `Bearer ${token}`;
  // A header given as undefined is left out (e.g. Content-Length for a chunked body).
  if (payload !== undefined && !Object.keys(h).some((k) => k.toLowerCase() === 'content-length')) {
    h['Content-Length'] = Buffer.byteLength(payload);
  }
  for (const k of Object.keys(h)) if (h[k] === undefined) delete h[k];
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, method, path: urlPath, headers: h, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json = null;
        if (/json/.test(res.headers['content-type'] || '') && text.length > 0) {
          try {
            json = JSON.parse(text);
          } catch {
            json = null;
          }
        }
        rememberFrom(body, json, res.headers);
        resolve({ status: res.statusCode, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

// Starts `usher serve --listen 127.0.0.1:0 --data-dir <fresh dir>` and resolves once it logs
// serve.listening. Options: env (added to a clean environment), args (extra flags), dataDir
// (use this directory instead of a fresh one), listen (null leaves --listen out), timeoutMs.
export async function startUsher({ env = {}, args = [], dataDir, listen = '127.0.0.1:0', timeoutMs = 30000 } = {}) {
  const dir = dataDir || tempDir();
  const argv = ['serve'];
  if (listen !== null) argv.push('--listen', listen);
  argv.push('--data-dir', dir, ...args);
  remember(env.USHER_ADMIN_PASSWORD);
  const smtpPassword = /^smtps?:\/\/[^:@/]+:([^@/]+)@/.exec(env.USHER_SMTP_URL || '');
  if (smtpPassword) remember(decodeURIComponent(smtpPassword[1]));
  const child = spawn(usherBin, argv, { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);

  const logs = [];
  const stderrText = []; // lines that are not JSON: sanitizer reports, usage errors
  const waiters = new Set();
  let exitCode;
  let exitSignal;
  const exited = new Promise((resolve) => {
    // 'close' comes after standard error is fully read, so no report is lost.
    child.on('close', (code, signal) => {
      running.delete(child);
      exitCode = code;
      exitSignal = signal;
      resolve(code === null ? 128 + (os.constants.signals[signal] || 0) : code);
    });
  });

  let pending = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    pending += chunk;
    let nl;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      let parsed = null;
      try {
        parsed = JSON.parse(line);
      } catch {
        parsed = null;
      }
      if (parsed && typeof parsed === 'object') {
        logs.push(parsed);
        for (const w of waiters) w();
      } else if (line.length > 0) {
        stderrText.push(line);
      }
    }
  });
  child.stdout.resume();
  // A server a failed test forgot to stop must not keep the test process alive; the exit
  // handler above kills it. Every wait below holds its own timer, so nothing waits forever.
  child.unref();
  child.stderr.unref();
  child.stdout.unref();

  // Resolves with the first log line matching event and pred, waiting up to ms.
  function waitForLog(event, pred = () => true, ms = timeoutMs) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = logs.find((l) => l.event === event && pred(l));
        if (hit) {
          cleanup();
          resolve(hit);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no ${event} log line within ${ms} ms; stderr:\n${stderrText.join('\n')}`));
      }, ms);
      const onExit = () => {
        check();
        if (waiters.has(check)) {
          cleanup();
          reject(new Error(`usher exited (${exitCode ?? exitSignal}) before logging ${event}; stderr:\n${stderrText.join('\n')}`));
        }
      };
      function cleanup() {
        clearTimeout(timer);
        waiters.delete(check);
      }
      waiters.add(check);
      exited.then(onExit);
      check();
    });
  }

  const listening = await waitForLog('serve.listening').catch((e) => {
    child.kill('SIGKILL');
    throw e;
  });
  const port = listening.port;
  const host = hostOf(listening.listen || '127.0.0.1:0');
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  // The canary: the log and the audit table of this server hold no secret the harness saw.
  function canaryCheck() {
    const logText = logs.map((l) => JSON.stringify(l)).join('\n') + stderrText.join('\n');
    const inLog = canaryFindings(logText);
    if (inLog.length > 0) throw new Error(`canary: ${inLog.length} secret(s) in the server log`);
    const db = path.join(dir, 'usher.db');
    if (!existsSync(db)) return;
    let audit = '';
    try {
      audit = execFileSync('sqlite3', ['-cmd', '.timeout 5000', db, 'SELECT * FROM audit_log'], {
        encoding: 'utf8', maxBuffer: 256 * 1024 * 1024,
      });
    } catch {
      return; /* no audit table yet (a server stopped before migrating) */
    }
    const inAudit = canaryFindings(audit);
    if (inAudit.length > 0) throw new Error(`canary: ${inAudit.length} secret(s) in the audit log`);
  }

  async function finish(signal) {
    if (exitCode === undefined && exitSignal === undefined) child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const code = await exited;
    clearTimeout(timer);
    if (code !== 0 && stderrText.length > 0) {
      process.stderr.write(`usher exited with ${code}:\n${stderrText.join('\n')}\n`);
    }
    canaryCheck();
    return code;
  }

  return {
    url,
    host,
    port,
    dataDir: dir,
    logs,
    stderr: stderrText,
    process: child,
    api: (method, urlPath, opts) => request(host, port, method, urlPath, opts),
    findLogs: (event, pred) => findLogs(logs, event, pred),
    waitForLog,
    // SIGTERM; resolves with the exit status (128 + signal number when killed by a signal).
    stop: () => finish('SIGTERM'),
    // SIGKILL; resolves with the exit status.
    kill: () => finish('SIGKILL'),
  };
}

// Runs `usher <args...>` to completion with an optional standard input. Resolves
// {code, stdout, stderr}.
export function runUsher(args, { env = {}, input, timeoutMs = 30000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(usherBin, args, { env: childEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
    running.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      running.delete(child);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      resolve({ code: code === null ? 128 + (os.constants.signals[signal] || 0) : code, stdout, stderr });
    });
    child.stdin.on('error', () => {}); // the command may exit without reading its input
    if (input !== undefined) child.stdin.write(input);
    child.stdin.end();
  });
}
