// usher backup and usher migrate-data through the real binary. A deployment is built on SQLite
// through the API (agencies, environments, bots, custom roles, people invited by email who
// accept with their own password, grants changed, API tokens, a revoked and a pending
// invitation), then copied while its server runs: a backup a second server starts from, and a
// copy into PostgreSQL a third server starts from with the same secret. Each copy must verify
// its audit log, sign every account in with its old password and answer a fixed list of check
// questions exactly as the source does. The PostgreSQL tests need USHER_TEST_PG_URL (the admin
// URL of a throwaway cluster, scripts/pg_cluster.sh) and are skipped without it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { rememberSecret, runUsher, startUsher, tempDir } from './lib/harness.mjs';
import { tokenOf } from './lib/smtp.mjs';
import { ADMIN_EMAIL, PASSWORD, startWorld } from './lib/world.mjs';

const PG_URL = process.env.USHER_TEST_PG_URL;
const PG_SKIP = PG_URL
  ? false
  : 'USHER_TEST_PG_URL is not set: migrate-data needs a throwaway PostgreSQL cluster (scripts/pg_cluster.sh start DIR)';

// PostgreSQL: one database per use, dropped when the file's tests end.
const pgDatabases = [];
function psql(url, sql) {
  return execFileSync('psql', ['-XAtq', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', sql], { encoding: 'utf8' });
}
function pgDatabaseNew() {
  const name = `usher_${randomBytes(6).toString('hex')}`;
  psql(PG_URL, `CREATE DATABASE ${name}`);
  pgDatabases.push(name);
  const u = new URL(PG_URL);
  u.pathname = `/${name}`;
  return u.toString();
}
// The tables of a PostgreSQL database, by name.
const pgTables = (url) => psql(url, `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1`)
  .split('\n').filter(Boolean);
// Every table's row count and a digest of its rows: equal exactly when nothing changed.
function pgState(url) {
  const state = {};
  for (const t of pgTables(url)) {
    state[t] = psql(url, `SELECT count(*) || ':' || coalesce(md5(string_agg(x::text, ',' ORDER BY x::text)), '') FROM "${t}" x`).trim();
  }
  return state;
}

// The deployment copied here is built on SQLite on purpose: with USHER_TEST_DB=postgres (every
// server on PostgreSQL) the source would not be SQLite, and these tests run in the SQLite pass.
const SOURCE_SKIP = process.env.USHER_TEST_DB === 'postgres'
  ? 'the source deployment must be SQLite; these tests run when USHER_TEST_DB is not postgres'
  : false;

describe('moving a deployment: usher backup and usher migrate-data', { skip: SOURCE_SKIP }, () => {
  let w;
  const tok = {};
  const ids = {};
  const passwords = {};
  const fx = {};
  let questions = [];
  let sourceAnswers = [];

  const shown = (res) => `${res.status} ${res.text}`;
  const count = (sql) => Number(w.sql(sql).trim());
  // The tables of the SQLite source, read from its schema (so a new table is counted too).
  const sqliteTables = () => w.sql(`SELECT name FROM sqlite_master WHERE type = 'table'
      AND name NOT LIKE 'sqlite!_%' ESCAPE '!' ORDER BY name`).split('\n').filter(Boolean);

  // Invites email into agencyId by email; the person accepts through the emailed link with a
  // password of their own (a new account), or signed in (an existing one).
  async function person(key, agencyId, grants, { first = '', last = '', existing = false } = {}) {
    const email = `${key}@acme.example`;
    const nth = (fx.mails[email] = (fx.mails[email] || 0) + 1);
    const inv = await w.invite(tok.admin, agencyId, { email, first_name: first, last_name: last, grants });
    assert.equal(inv.status, 201, shown(inv));
    const { token } = await w.mailLink(email, nth);
    if (existing) {
      const res = await w.as(tok[key])('POST', '/api/v1/invitations/accept', { token });
      assert.equal(res.status, 200, shown(res));
      return ids[key];
    }
    passwords[key] = `${PASSWORD}-${key}-${randomBytes(4).toString('hex')}`;
    rememberSecret(passwords[key]);
    const res = await w.acceptNew(token, passwords[key]);
    assert.equal(res.status, 201, shown(res));
    ids[key] = res.json.user.id;
    tok[key] = res.json.token;
    return ids[key];
  }

  // The answers of server (the source, or a copy) to every question, as one list of booleans.
  async function answers(server) {
    const out = [];
    for (const q of questions) {
      const res = await server.api('POST', '/api/v1/check', { token: fx.platformToken, body: q });
      assert.equal(res.status, 200, `${JSON.stringify(q)}: ${shown(res)}`);
      out.push(res.json.allowed);
    }
    return out;
  }

  // Every account signs in on server with the password it chose.
  async function signInAll(server) {
    const accounts = [[ADMIN_EMAIL, PASSWORD], ...Object.keys(passwords).map((k) => [`${k}@acme.example`, passwords[k]])];
    for (const [email, password] of accounts) {
      const res = await server.api('POST', '/api/v1/sessions', { body: { email, password } });
      assert.ok(res.status === 200 || res.status === 201, `sign-in as ${email}: ${shown(res)}`);
      assert.equal(res.json.user.email, email);
    }
    return accounts.length;
  }

  // A data dir holding only a copy of the source's secret, as an operator would prepare one.
  function dataDirWithSecret() {
    const dir = tempDir();
    copyFileSync(path.join(w.usher.dataDir, 'secret'), path.join(dir, 'secret'));
    return dir;
  }

  // Creates environments in the churn agency until stop() is called; resolves how many.
  function churn() {
    let stopping = false;
    let made = 0;
    const done = (async () => {
      while (!stopping) {
        const res = await w.as(tok.admin)('POST', `/api/v1/agencies/${fx.C.id}/environments`, { name: `churn ${made}` });
        assert.equal(res.status, 201, shown(res));
        made++;
      }
      return made;
    })();
    const until = async (n) => {
      while (made < n) await new Promise((r) => setTimeout(r, 10));
    };
    return { until, stop: () => { stopping = true; return done; }, made: () => made };
  }

  before(async () => {
    w = await startWorld();
    fx.mails = {};
    tok.admin = await w.signIn(ADMIN_EMAIL);
    fx.A = await w.agencyNew(tok.admin, 'Acme');
    fx.B = await w.agencyNew(tok.admin, 'Globex');
    fx.C = await w.agencyNew(tok.admin, 'Churn');
    fx.E1 = await w.environmentNew(tok.admin, fx.A.id, 'Acme production');
    fx.E2 = await w.environmentNew(tok.admin, fx.A.id, 'Acme staging');
    fx.EB = await w.environmentNew(tok.admin, fx.B.id, 'Globex production');
    const bot = async (envId, name) => {
      const res = await w.as(tok.admin)('POST', `/api/v1/environments/${envId}/bots`, { name });
      assert.equal(res.status, 201, shown(res));
      return res.json;
    };
    fx.B1 = await bot(fx.E1.id, 'Support bot');
    fx.B2 = await bot(fx.E2.id, 'Staging bot');
    fx.BB = await bot(fx.EB.id, 'Globex bot');
    const role = await w.as(tok.admin)('POST', `/api/v1/agencies/${fx.A.id}/roles`, {
      name: 'Night shift', permissions: ['inbox.reply', 'bot.read'],
    });
    assert.equal(role.status, 201, shown(role));
    fx.role = role.json.id;

    await person('owner', fx.A.id, [{ roles: ['owner'] }], { first: 'Olga', last: 'Owner' });
    await person('em', fx.A.id, [{ environment_id: fx.E1.id, roles: ['environment_manager'] }], { first: 'Emma' });
    await person('prod', fx.A.id, [{ environment_id: fx.E1.id, roles: ['producer'] }], { last: 'Producer' });
    await person('night', fx.A.id, [{ environment_id: fx.E2.id, roles: [fx.role] }]);
    await person('gus', fx.B.id, [{ roles: ['owner'] }], { first: 'Gus', last: 'Globex' });
    await person('sam', fx.A.id, [{ environment_id: fx.E1.id, roles: ['agent'] }], { first: 'Sam' });
    // Sam works for Globex too, with the same account.
    await person('sam', fx.B.id, [{ environment_id: fx.EB.id, roles: ['analyst'] }], { existing: true });
    // The owner changes the producer's grants; a pending and a revoked invitation stay behind.
    const put = await w.as(tok.owner)('PUT', `/api/v1/agencies/${fx.A.id}/users/${ids.prod}/grants`, {
      grants: [{ environment_id: fx.E1.id, roles: ['producer'] }, { environment_id: fx.E2.id, roles: ['analyst'], extra_permissions: ['bot.read'] }],
    });
    assert.equal(put.status, 200, shown(put));
    const pending = await w.invite(tok.owner, fx.A.id, { email: 'later@acme.example', grants: [{ roles: ['agent'] }], send_email: false });
    assert.equal(pending.status, 201, shown(pending));
    const revoked = await w.invite(tok.owner, fx.A.id, { email: 'never@acme.example', grants: [{ roles: ['agent'] }], send_email: false });
    assert.equal(revoked.status, 201, shown(revoked));
    const del = await w.as(tok.owner)('DELETE', `/api/v1/invitations/${revoked.json.id}`);
    assert.ok(del.status === 200 || del.status === 204, shown(del));
    // API tokens: one of the agency, one of the platform (which asks the questions below).
    const agencyToken = await w.as(tok.owner)('POST', `/api/v1/agencies/${fx.A.id}/tokens`, { name: 'inbox service' });
    assert.equal(agencyToken.status, 201, shown(agencyToken));
    w.secrets.add(agencyToken.json.token);
    const platformToken = await w.as(tok.admin)('POST', '/api/v1/tokens', { name: 'platform checks' });
    assert.equal(platformToken.status, 201, shown(platformToken));
    fx.platformToken = platformToken.json.token;
    w.secrets.add(fx.platformToken);

    const scopes = [
      { agency_id: fx.A.id }, { environment_id: fx.E1.id }, { environment_id: fx.E2.id }, { bot_id: fx.B1.id },
      { bot_id: fx.B2.id }, { agency_id: fx.B.id }, { environment_id: fx.EB.id }, { bot_id: fx.BB.id },
    ];
    const permissions = ['users.invite', 'inbox.reply', 'bot.read', 'analytics.read', 'environments.create'];
    for (const key of ['owner', 'em', 'prod', 'night', 'gus', 'sam']) {
      for (const permission of permissions) {
        for (const scope of scopes) questions.push({ user_id: ids[key], permission, ...scope });
      }
    }
    sourceAnswers = await answers(w.usher);
    // The questions tell the people apart: a copy that lost or moved grants answers otherwise.
    assert.ok(sourceAnswers.filter(Boolean).length >= 40, 'many questions are answered yes');
    assert.ok(sourceAnswers.filter((a) => !a).length >= 40, 'many questions are answered no');
    assert.ok(count(`SELECT count(*) FROM audit_log`) >= 20);
  });

  after(async () => {
    if (w) await w.stop();
    for (const name of pgDatabases) {
      try {
        psql(PG_URL, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } catch {
        /* the cluster may be gone already */
      }
    }
  });

  describe('usher backup', () => {
    it('copies the live database while writes go on, and a server starts from the copy', async () => {
      const envsBefore = count(`SELECT count(*) FROM environments`);
      const dir = tempDir();
      const file = path.join(dir, 'usher-copy.db');
      const writes = churn();
      await writes.until(3);
      const res = await runUsher(['backup', file, '--data-dir', w.usher.dataDir]);
      await writes.until(writes.made() + 3);
      const made = await writes.stop();
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stdout, /backup written to /);
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.deepEqual(readdirSync(dir), ['usher-copy.db'], 'no temporary file is left beside the copy');

      // The copy is a snapshot taken between the writes: some of them, not all, are in it.
      const sqliteCount = (sql) => Number(execFileSync('sqlite3', [file, sql], { encoding: 'utf8' }).trim());
      const envsInCopy = sqliteCount(`SELECT count(*) FROM environments`);
      assert.ok(envsInCopy >= envsBefore + 3 && envsInCopy < envsBefore + made, `${envsInCopy} environments`);

      const data = dataDirWithSecret();
      const verify = await runUsher(['audit', 'verify', '--database', `sqlite:${file}`, '--data-dir', data]);
      assert.equal(verify.code, 0, verify.stdout + verify.stderr);
      assert.match(verify.stdout, /audit log intact/);

      const copy = await startUsher({ dataDir: data, args: ['--database', `sqlite:${file}`] });
      try {
        assert.equal(await signInAll(copy), 7);
        assert.deepEqual(await answers(copy), sourceAnswers);
        const me = await copy.api('GET', '/api/v1/me', { token: tok.owner });
        assert.equal(me.status, 200, 'a session of the source goes on in the copy');
        // Every environment in the copy is served (Acme's two and Globex's one aside).
        let listed = 0;
        for (let cursor = null, first = true; first || cursor; first = false) {
          const page = await copy.api('GET', `/api/v1/agencies/${fx.C.id}/environments${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ''}`, { token: tok.admin });
          assert.equal(page.status, 200, shown(page));
          listed += page.json.items.length;
          cursor = page.json.next_cursor;
        }
        assert.equal(listed, envsInCopy - 3);
      } finally {
        assert.equal(await copy.stop(), 0);
      }
    });

    it('refuses a file that exists unless --force, and never the live database', async () => {
      const dir = tempDir();
      const file = path.join(dir, 'kept.db');
      writeFileSync(file, 'an older copy');
      const refused = await runUsher(['backup', file, '--data-dir', w.usher.dataDir]);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /exists \(add --force to replace it\)/);
      assert.equal(readFileSync(file, 'utf8'), 'an older copy');
      assert.deepEqual(readdirSync(dir), ['kept.db']);

      const forced = await runUsher(['backup', file, '--force', '--data-dir', w.usher.dataDir]);
      assert.equal(forced.code, 0, forced.stderr);
      assert.equal(execFileSync('sqlite3', [file, 'SELECT count(*) FROM agencies'], { encoding: 'utf8' }).trim(),
        String(count('SELECT count(*) FROM agencies')));
      assert.equal(statSync(file).mode & 0o777, 0o600);

      const live = await runUsher(['backup', w.db, '--force', '--data-dir', w.usher.dataDir]);
      assert.equal(live.code, 1);
      assert.match(live.stderr, /is the live database itself/);
      assert.ok(count('SELECT count(*) FROM agencies') >= 3, 'the live database is untouched');
    });

    it('refuses PostgreSQL (pointing to pg_dump) and a data dir without a database', async () => {
      const dir = tempDir();
      const file = path.join(dir, 'copy.db');
      const pg = await runUsher(['backup', file, '--data-dir', dir, '--database', 'postgres://usher@127.0.0.1:1/usher']);
      assert.equal(pg.code, 1);
      assert.match(pg.stderr, /PostgreSQL: back it up with pg_dump/);
      const none = await runUsher(['backup', file, '--data-dir', dir]);
      assert.equal(none.code, 1);
      assert.match(none.stderr, /there is no database at /);
      assert.ok(!existsSync(file) && !existsSync(path.join(dir, 'usher.db')), 'nothing is created');
      const usage = await runUsher(['backup', '--data-dir', dir]);
      assert.equal(usage.code, 2);
    });
  });

  describe('usher migrate-data', { skip: PG_SKIP }, () => {
    const migrateData = (to, { from = `sqlite:${w.db}`, dataDir = w.usher.dataDir } = {}) =>
      runUsher(['migrate-data', '--from', from, '--to', to, '--data-dir', dataDir], { timeoutMs: 120000 });

    it('copies the running deployment into PostgreSQL, where a server answers as the source does', async () => {
      const target = pgDatabaseNew();
      const res = await migrateData(target);
      assert.equal(res.code, 0, res.stderr);
      const summary = /copied (\d+) tables, (\d+) rows in ([\d.]+) seconds/.exec(res.stdout);
      assert.ok(summary, res.stdout);

      // Every table of the source (its schema, not a list kept here) holds as many rows.
      const tables = sqliteTables().filter((t) => t !== 'schema_migrations');
      assert.equal(Number(summary[1]), tables.length);
      assert.deepEqual(pgTables(target).filter((t) => t !== 'schema_migrations'), tables);
      let rows = 0;
      for (const t of tables) {
        const n = count(`SELECT count(*) FROM "${t}"`);
        assert.equal(Number(psql(target, `SELECT count(*) FROM "${t}"`).trim()), n, `rows of ${t}`);
        rows += n;
      }
      assert.equal(Number(summary[2]), rows);
      assert.ok(count('SELECT count(*) FROM invitations') >= 7 && count('SELECT count(*) FROM custom_roles') === 1);

      const data = dataDirWithSecret();
      const verify = await runUsher(['audit', 'verify', '--database', target, '--data-dir', data]);
      assert.equal(verify.code, 0, verify.stdout + verify.stderr);
      assert.match(verify.stdout, new RegExp(`intact: ${count('SELECT count(*) FROM audit_log')} entries`));

      const pg = await startUsher({ dataDir: data, args: ['--database', target] });
      try {
        assert.equal(await signInAll(pg), 7);
        assert.deepEqual(await answers(pg), sourceAnswers);
        const me = await pg.api('GET', '/api/v1/me', { token: tok.gus });
        assert.equal(me.status, 200, 'a session of the source goes on in PostgreSQL');
        // New rows get new ids after the copied ones: the audit log grows and still verifies.
        const env = await pg.api('POST', `/api/v1/agencies/${fx.A.id}/environments`, { token: tok.owner, body: { name: 'Acme on PostgreSQL' } });
        assert.equal(env.status, 201, shown(env));
        const more = await pg.api('POST', `/api/v1/agencies/${fx.A.id}/roles`, { token: tok.owner, body: { name: 'Day shift', permissions: ['inbox.reply'] } });
        assert.equal(more.status, 201, shown(more));
      } finally {
        assert.equal(await pg.stop(), 0);
      }
      const again = await runUsher(['audit', 'verify', '--database', target, '--data-dir', data]);
      assert.equal(again.code, 0, again.stdout + again.stderr);
      const entries = Number(/intact: (\d+) entries/.exec(again.stdout)?.[1]);
      assert.ok(entries >= count('SELECT count(*) FROM audit_log') + 2, again.stdout);
    });

    it('copies one consistent snapshot while the source keeps writing', async () => {
      const target = pgDatabaseNew();
      const writes = churn();
      await writes.until(2);
      const res = await migrateData(target);
      await writes.until(writes.made() + 2);
      await writes.stop();
      assert.equal(res.code, 0, res.stderr);
      const verify = await runUsher(['audit', 'verify', '--database', target, '--data-dir', dataDirWithSecret()]);
      assert.equal(verify.code, 0, verify.stdout + verify.stderr);
      // What the summary lists is what PostgreSQL holds, and the source has moved on since.
      const listed = [...res.stdout.matchAll(/^ {2}(\S+) +(\d+)$/gm)];
      assert.ok(listed.length >= 14, res.stdout);
      for (const [, table, n] of listed) {
        assert.equal(psql(target, `SELECT count(*) FROM "${table}"`).trim(), n, `rows of ${table}`);
      }
      const envs = Number(psql(target, 'SELECT count(*) FROM environments').trim());
      assert.ok(envs < count('SELECT count(*) FROM environments'), 'the writes after the snapshot are not in the copy');
    });

    it('accepts a target that was only migrated, and refuses one holding a row, leaving it unchanged', async () => {
      const target = pgDatabaseNew();
      const migrated = await runUsher(['migrate', '--database', target, '--data-dir', dataDirWithSecret()]);
      assert.equal(migrated.code, 0, migrated.stderr);
      assert.equal(psql(target, 'SELECT count(*) FROM secret_check').trim(), '1', 'usher migrate wrote the check value of the secret');
      psql(target, `INSERT INTO agencies (id, name, created_at) VALUES ('agy_already_here', 'Already here', 1)`);
      const state = pgState(target);
      const refused = await migrateData(target);
      assert.equal(refused.code, 3, refused.stderr);
      assert.match(refused.stderr, /the target database is not empty: table agencies holds 1 row/);
      assert.deepEqual(pgState(target), state);

      psql(target, `DELETE FROM agencies`);
      // A usher started on the target with another secret left its check value there.
      const mac = psql(target, 'SELECT mac FROM secret_check').trim();
      psql(target, `UPDATE secret_check SET mac = md5(mac)`);
      const other = pgState(target);
      const mismatch = await migrateData(target);
      assert.equal(mismatch.code, 3, mismatch.stderr);
      assert.match(mismatch.stderr, /table secret_check holds 1 row/);
      assert.deepEqual(pgState(target), other);
      // With the same secret's check value (as usher migrate left it), the copy goes ahead.
      psql(target, `UPDATE secret_check SET mac = '${mac}'`);
      const copied = await migrateData(target);
      assert.equal(copied.code, 0, copied.stderr);
      assert.equal(psql(target, 'SELECT mac FROM secret_check'), w.sql('SELECT mac FROM secret_check'));
      const filled = pgState(target);
      const twice = await migrateData(target);
      assert.equal(twice.code, 3, twice.stderr);
      assert.match(twice.stderr, /not empty/);
      assert.deepEqual(pgState(target), filled);
    });

    it('keeps nothing on the target when the copy fails part-way or at its commit', async (t) => {
      const target = pgDatabaseNew();
      const rules = ['ioerr:@1:sql=INSERT INTO "sessions"', 'ioerr:@1:commit'];
      for (const rule of rules) {
        const res = await runUsher(['migrate-data', '--from', `sqlite:${w.db}`, '--to', target, '--data-dir', w.usher.dataDir],
          { env: { USHER_FAULT_STORE: rule }, timeoutMs: 120000 });
        if (!/"event":"store\.fault_rules"/.test(res.stderr)) return t.skip('this binary has no fault injection (USHER_FAULTS)');
        assert.match(res.stderr, /"event":"store\.fault"/, `${rule} was injected`);
        assert.equal(res.code, 1, `${rule}: ${res.stderr}`);
        assert.match(res.stderr, /^usher migrate-data: database/m);
        // Only the schema is left: every table empty but the migrations' own rows.
        for (const table of pgTables(target)) {
          const rows = Number(psql(target, `SELECT count(*) FROM "${table}"`).trim());
          if (table === 'schema_migrations') assert.ok(rows >= 8);
          else if (table === 'audit_registry') assert.equal(psql(target, 'SELECT chains || \':\' || entries FROM audit_registry').trim(), '0:0');
          else assert.equal(rows, 0, `${rule} left rows in ${table}`);
        }
      }
      // The failed runs leave a target the command accepts.
      const res = await migrateData(target);
      assert.equal(res.code, 0, res.stderr);
      assert.equal(Number(psql(target, 'SELECT count(*) FROM sessions').trim()), count('SELECT count(*) FROM sessions'));
    });

    it('refuses a bad --from, or the wrong secret, before touching the target', async () => {
      const target = pgDatabaseNew();
      const dir = tempDir();
      const refusals = [
        [{ from: target }, 2, /--from must be sqlite:PATH/],
        [{ from: `sqlite:${path.join(dir, 'missing.db')}` }, 2, /--from: there is no database at /],
        [{ from: `sqlite:${path.join(dir, 'notes.db')}` }, 2, /not a usher database/],
        [{ dataDir: dir }, 2, /no server secret in /],
        [{ dataDir: (() => {
          const other = tempDir();
          writeFileSync(path.join(other, 'secret'), randomBytes(32), { mode: 0o600 });
          return other;
        })() }, 1, /the source's audit log does not verify/],
      ];
      execFileSync('sqlite3', [path.join(dir, 'notes.db'), 'CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)']);
      for (const [opts, code, message] of refusals) {
        const res = await migrateData(target, opts);
        assert.equal(res.code, code, `${JSON.stringify(opts)}: ${res.stderr}`);
        assert.match(res.stderr, message);
        assert.deepEqual(pgTables(target), [], `${JSON.stringify(opts)} left the target untouched`);
      }
      assert.ok(!existsSync(path.join(dir, 'missing.db')), 'a missing source is not created');
    });
  });
});
