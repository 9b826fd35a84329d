// The black-box harness: starts the real usher binary on 127.0.0.1:0 with a fresh data
// directory, reads its JSON log lines, and talks HTTP to it. The binary is $USHER_BIN, or
// build/usher in the repository. Every server and data directory a test file makes is killed
// and removed when that file's process exits, even after a failed assertion.
//
// The database is SQLite in the data directory, or with USHER_TEST_DB=postgres a fresh
// PostgreSQL database per data directory, made on the cluster whose admin URL is
// USHER_TEST_PG_URL (`CREATE DATABASE usher_t_<random>`) and dropped when the process exits.
// A data directory keeps its database: a server restarted on it, and a command given
// `--data-dir` of it, open the same one. sql(), snapshot() and copyData() work on either.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
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

// --- the database under test -------------------------------------------------------------------
// 'sqlite' (the default) or 'postgres'.
export const testDb = process.env.USHER_TEST_DB === 'postgres' ? 'postgres' : 'sqlite';
const pgAdminUrl = process.env.USHER_TEST_PG_URL || '';
if (testDb === 'postgres' && pgAdminUrl === '') {
  throw new Error('USHER_TEST_DB=postgres needs USHER_TEST_PG_URL, the admin URL of a PostgreSQL cluster');
}

// data dir -> database URL ('' for the SQLite file in it) of every data dir a server or
// command was given.
const databases = new Map();
// PostgreSQL databases this process created, dropped at exit.
const createdDatabases = new Set();

function psqlArgs(url) {
  return ['-X', '-q', '-At', '-F', '|', '-v', 'ON_ERROR_STOP=1', '-d', url];
}

// The URL of database name on the cluster of USHER_TEST_PG_URL.
function pgUrlOf(name) {
  const url = new URL(pgAdminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

function pgNameOf(url) {
  return decodeURIComponent(new URL(url).pathname.slice(1));
}

// Creates an empty PostgreSQL database (from template, when given: a copy of it, which must
// have no one connected) and returns its URL; it is dropped when the process exits. A new
// database's default collation is ICU's en-US, a linguistic order like the en_US.UTF-8 most
// installations have, rather than the throwaway cluster's C: usher must not depend on it.
export function createPgDatabase(template) {
  if (pgAdminUrl === '') throw new Error('USHER_TEST_PG_URL is not set');
  const name = `usher_t_${randomBytes(6).toString('hex')}`;
  const from = template
    ? ` TEMPLATE "${pgNameOf(template)}"`
    : " TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.utf8'";
  execFileSync('psql', psqlArgs(pgAdminUrl), { input: `CREATE DATABASE "${name}"${from};\n`, encoding: 'utf8' });
  createdDatabases.add(name);
  return pgUrlOf(name);
}

// The database URL of a data dir: '' (SQLite, the file in it) or, on PostgreSQL, the database
// it was given before or a new one.
export function databaseOf(dataDir) {
  const dir = path.resolve(dataDir);
  if (!databases.has(dir)) databases.set(dir, testDb === 'postgres' ? createPgDatabase() : '');
  return databases.get(dir);
}

// Ties a data dir to a database URL, so servers and commands on it use that database.
export function useDatabase(dataDir, url) {
  databases.set(path.resolve(dataDir), url);
}

// Runs SQL text (one or more statements) on the database of a data dir. Returns what the
// sqlite3 shell prints by default, in either dialect: one row a line, columns separated by
// "|", NULL as nothing. Throws when a statement fails.
export function sqlIn(dataDir, text) {
  const url = databaseOf(dataDir);
  if (url === '') {
    return execFileSync('sqlite3', ['-cmd', '.timeout 5000', '-cmd', 'PRAGMA foreign_keys = ON',
      path.join(dataDir, 'usher.db'), text], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  }
  return execFileSync('psql', psqlArgs(url), { input: text, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
}

// The rows of one SELECT on the database of a data dir as objects (column name -> value;
// integers as numbers), without blocking the event loop.
export async function rowsIn(dataDir, select, { timeoutMs = 60000 } = {}) {
  const url = databaseOf(dataDir);
  const run = (file, args, input) => new Promise((resolve, reject) => {
    const child = execFile(file, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, timeout: timeoutMs },
      (err, stdout, stderr) => (err ? reject(new Error(`${file}: ${err.message}${stderr}`)) : resolve(stdout)));
    if (input !== undefined) child.stdin.end(input);
  });
  if (url === '') {
    const out = await run('sqlite3', ['-json', '-cmd', `.timeout ${timeoutMs}`, path.join(dataDir, 'usher.db'), select]);
    return out.trim() === '' ? [] : JSON.parse(out);
  }
  const out = await run('psql', psqlArgs(url),
    `SELECT coalesce(json_agg(row_to_json(q)), '[]') FROM (${select.trim().replace(/;$/, '')}) q;\n`);
  return JSON.parse(out);
}

// Every table's rows of the database of a data dir, table by table in name order, each
// table's rows ordered by all their columns: equal snapshots mean equal contents.
export function snapshotOf(dataDir) {
  const catalogue = databaseOf(dataDir) === ''
    ? `SELECT m.name, count(*) FROM sqlite_master m, pragma_table_info(m.name) p
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' GROUP BY m.name ORDER BY m.name`
    : `SELECT table_name, count(*) FROM information_schema.columns
         WHERE table_schema = current_schema() GROUP BY table_name ORDER BY table_name`;
  const tables = sqlIn(dataDir, catalogue).split('\n').filter(Boolean).map((l) => l.split('|'));
  if (tables.length === 0) return '';
  const script = tables.map(([name, cols]) => {
    const order = Array.from({ length: Number(cols) }, (_, i) => i + 1).join(', ');
    return `SELECT 'table ${name}'; SELECT * FROM "${name}" ORDER BY ${order};`;
  });
  return sqlIn(dataDir, script.join('\n'));
}

// A copy of a data dir as someone holding a backup would have it: a new data dir with the same
// secret and a consistent copy of its database taken while the server may be writing (SQLite's
// .backup; pg_dump into a new PostgreSQL database).
export function copyData(dataDir) {
  const dir = tempDir('usher-copy-');
  const url = databaseOf(dataDir);
  if (url === '') {
    execFileSync('sqlite3', ['-cmd', '.timeout 5000', path.join(dataDir, 'usher.db'),
      `.backup '${path.join(dir, 'usher.db')}'`]);
  } else {
    const copy = createPgDatabase();
    const dump = execFileSync('pg_dump', ['--no-owner', '--no-privileges', '-d', url],
      { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    execFileSync('psql', psqlArgs(copy), { input: dump, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    useDatabase(dir, copy);
  }
  copyFileSync(path.join(dataDir, 'secret'), path.join(dir, 'secret'));
  return dir;
}

function dropDatabases() {
  if (createdDatabases.size === 0) return;
  const script = [...createdDatabases].map((n) => `DROP DATABASE IF EXISTS "${n}" WITH (FORCE);`).join('\n');
  createdDatabases.clear();
  try {
    execFileSync('psql', ['-X', '-q', '-d', pgAdminUrl], { input: script, stdio: ['pipe', 'ignore', 'ignore'], timeout: 30000 });
  } catch {
    /* best effort: the cluster is a throwaway one */
  }
}

function cleanup() {
  for (const child of running) child.kill('SIGKILL');
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  dropDatabases();
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
// becomes "Authorization: Bearer <token>"; localAddress picks the loopback address it comes
// from (127.0.0.2, ...). Resolves {status, headers, text, json}; json is the parsed body when
// the answer is JSON, else null.
export function request(host, port, method, urlPath, { body, raw, token, headers = {}, localAddress } = {}) {
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
    const req = http.request({ host, port, method, path: urlPath, headers: h, agent: false, localAddress }, (res) => {
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
// (use this directory instead of a fresh one), database (a database URL to use instead of the
// data dir's; the data dir keeps it for later), listen (null leaves --listen out), timeoutMs.
// On PostgreSQL the server gets `--database` with the data dir's database.
export async function startUsher({ env = {}, args = [], dataDir, database, listen = '127.0.0.1:0', timeoutMs = 30000 } = {}) {
  const dir = dataDir || tempDir();
  if (database !== undefined) useDatabase(dir, database);
  const databaseUrl = databaseOf(dir);
  const argv = ['serve'];
  if (listen !== null) argv.push('--listen', listen);
  argv.push('--data-dir', dir);
  if (databaseUrl !== '') argv.push('--database', databaseUrl);
  argv.push(...args);
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
    if (databaseUrl === '' && !existsSync(path.join(dir, 'usher.db'))) return;
    let audit = '';
    try {
      audit = sqlIn(dir, 'SELECT * FROM audit_log');
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
    // '' for SQLite (DATA_DIR/usher.db), else the PostgreSQL database's URL.
    databaseUrl,
    // SQL on this server's database; see sqlIn.
    sql: (text) => sqlIn(dir, text),
    // Every table's rows; see snapshotOf.
    snapshot: () => snapshotOf(dir),
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

// The value of --data-dir in args (as `--data-dir DIR` or `--data-dir=DIR`), or undefined.
function dataDirArg(args) {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--data-dir' && i + 1 < args.length) return args[i + 1];
    if (args[i].startsWith('--data-dir=')) return args[i].slice('--data-dir='.length);
  }
  return undefined;
}

// Runs `usher <args...>` to completion with an optional standard input. Resolves
// {code, stdout, stderr}. On PostgreSQL a command given --data-dir (and neither --database nor
// USHER_DATABASE_URL) gets USHER_DATABASE_URL of that data dir's database, so it works on the
// same database as the servers on that data dir.
export function runUsher(args, { env = {}, input, timeoutMs = 30000 } = {}) {
  const dir = dataDirArg(args);
  if (testDb === 'postgres' && dir !== undefined && !('USHER_DATABASE_URL' in env) &&
      !args.some((a) => a === '--database' || a.startsWith('--database='))) {
    env = { ...env, USHER_DATABASE_URL: databaseOf(dir) };
  }
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
