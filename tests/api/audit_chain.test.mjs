// Tamper evidence of the audit log through the real binary (SECURITY 30): changes are made
// through the API, then someone with write access to a copy of the database (usher.db, or a
// PostgreSQL database) but not the server secret cuts a chain and rewrites its head, deletes a
// whole agency's chain, empties the log, reorders or removes the oldest entries, or puts the
// whole database back to an older copy; `usher audit verify` (with `--checkpoint` for the
// rollback) must say so, naming the chain.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

// sqlIn runs SQL on a data dir's database, as someone with write access to it would;
// copyData makes a consistent copy of the database (while the server writes) with its secret.
import { copyData as copyOf, runUsher, sqlIn, tempDir } from './lib/harness.mjs';
import { startWorld } from './lib/world.mjs';

const verify = (dir, extra = []) => runUsher(['audit', 'verify', '--data-dir', dir, ...extra]);

describe('audit chain', () => {
  let w;
  const fx = {};

  before(async () => {
    w = await startWorld();
    const admin = await w.signIn('provider@studio.example');
    fx.admin = admin;
    fx.A = await w.agencyNew(admin, 'Acme');
    fx.B = await w.agencyNew(admin, 'Globex');
    await w.environmentNew(admin, fx.A.id, 'Acme – production');
    await w.environmentNew(admin, fx.A.id, 'Acme – staging');
    for (const [agency, email] of [[fx.A, 'one@acme.example'], [fx.A, 'two@acme.example'], [fx.B, 'one@globex.example']]) {
      const inv = await w.invite(admin, agency.id, { email, send_email: false, grants: [{ roles: ['agent'] }] });
      assert.equal(inv.status, 201, inv.text);
    }
    fx.chainA = `agency:${fx.A.id}`;
    fx.chainB = `agency:${fx.B.id}`;
  });

  after(async () => {
    assert.equal(await w.stop(), 0);
  });

  it('verifies an untouched log as intact while the server runs', async () => {
    const ok = await verify(w.usher.dataDir);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /audit log intact: \d+ entries in 3 chains/);
  });

  it('names a chain whose newest entries were deleted and whose head was moved back to match', async () => {
    const dir = copyOf(w.usher.dataDir);
    const chain = fx.chainA;
    const newest = `SELECT MAX(id) FROM audit_log WHERE chain = '${chain}'`;
    sqlIn(dir, `
      DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE chain = '${chain}' ORDER BY id DESC LIMIT 2);
      UPDATE audit_chain_heads SET last_id = (${newest}), entries = entries - 2,
        last_hash = (SELECT hash FROM audit_log WHERE id = (${newest})) WHERE chain = '${chain}';`);
    const bad = await verify(dir);
    assert.equal(bad.code, 1, bad.stdout + bad.stderr);
    assert.match(bad.stdout, new RegExp(`^audit log broken: chain ${chain}: its head does not match its MAC`, 'm'));
  });

  it('names a whole agency chain that was deleted with its head', async () => {
    for (const chain of [fx.chainA, fx.chainB]) {
      const dir = copyOf(w.usher.dataDir);
      sqlIn(dir, `DELETE FROM audit_log WHERE chain = '${chain}'; DELETE FROM audit_chain_heads WHERE chain = '${chain}';`);
      const bad = await verify(dir);
      assert.equal(bad.code, 1, bad.stdout + bad.stderr);
      assert.match(bad.stdout, new RegExp(`^audit log broken: chain ${chain}: the chain is missing`, 'm'));
    }
  });

  it('refuses a log emptied of every entry and head, with or without its registry', async () => {
    const dir = copyOf(w.usher.dataDir);
    sqlIn(dir, 'DELETE FROM audit_log; DELETE FROM audit_chain_heads;');
    let bad = await verify(dir);
    assert.equal(bad.code, 1, bad.stdout + bad.stderr);
    assert.match(bad.stdout, /^audit log broken: the log is empty but the database holds \d+ accounts and agencies/m);
    sqlIn(dir, 'DELETE FROM audit_registry;');
    bad = await verify(dir);
    assert.equal(bad.code, 1, bad.stdout + bad.stderr);
    assert.match(bad.stdout, /^audit log broken: the log is empty/m);
    // Without the rows that show something happened, the missing registry still tells.
    sqlIn(dir, 'DELETE FROM users; DELETE FROM agencies;');
    bad = await verify(dir);
    assert.equal(bad.code, 1, bad.stdout + bad.stderr);
    assert.match(bad.stdout, /^audit log broken: the registry of chains \(audit_registry\) was deleted/m);
  });

  it('names reordered entries and oldest entries removed without a retention record', async () => {
    const ids = sqlIn(w.usher.dataDir, `SELECT id FROM audit_log WHERE chain = '${fx.chainA}' ORDER BY id`).trim().split('\n');
    assert.ok(ids.length >= 4, ids.join(','));
    let dir = copyOf(w.usher.dataDir);
    // The personal rows (every entry naming a person has one) move with their entries.
    const swap = `CASE entry_id WHEN ${ids[1]} THEN ${ids[2]} ELSE ${ids[1]} END`;
    sqlIn(dir, `CREATE TEMP TABLE moved AS SELECT * FROM audit_personal WHERE entry_id IN (${ids[1]}, ${ids[2]});
                DELETE FROM audit_personal WHERE entry_id IN (${ids[1]}, ${ids[2]});
                UPDATE audit_log SET id = -1 WHERE id = ${ids[1]};
                UPDATE audit_log SET id = ${ids[1]} WHERE id = ${ids[2]};
                UPDATE audit_log SET id = ${ids[2]} WHERE id = -1;
                UPDATE moved SET entry_id = ${swap};
                INSERT INTO audit_personal SELECT * FROM moved;`);
    let bad = await verify(dir);
    assert.equal(bad.code, 1, bad.stdout + bad.stderr);
    assert.match(bad.stdout, new RegExp(`^audit log broken: chain ${fx.chainA}, entry ${ids[1]}: its previous-hash does not match`, 'm'));
    dir = copyOf(w.usher.dataDir);
    sqlIn(dir, `DELETE FROM audit_log WHERE id = ${ids[0]}`);
    bad = await verify(dir);
    assert.equal(bad.code, 1, bad.stdout + bad.stderr);
    assert.match(bad.stdout, new RegExp(`^audit log broken: chain ${fx.chainA}, entry ${ids[1]}: its oldest entries were removed without a retention record`, 'm'));
  });

  it('detects a rollback to an older copy of the database against a later checkpoint, and refuses an edited checkpoint', async () => {
    const older = copyOf(w.usher.dataDir);
    // More history after the copy: agency A goes on, and a new agency begins.
    const inv = await w.invite(fx.admin, fx.A.id, { email: 'three@acme.example', send_email: false, grants: [{ roles: ['agent'] }] });
    assert.equal(inv.status, 201, inv.text);
    await w.agencyNew(fx.admin, 'Initech');
    const made = await runUsher(['audit', 'checkpoint', '--data-dir', w.usher.dataDir]);
    assert.equal(made.code, 0, made.stderr);
    const checkpoint = JSON.parse(made.stdout);
    assert.equal(checkpoint.format, 'usher-audit-checkpoint-1');
    assert.equal(checkpoint.chains.length, 4);
    for (const c of checkpoint.chains) {
      assert.match(c.last_hash, /^[0-9a-f]{64}$/);
      assert.ok(c.last_id > 0 && c.entries > 0);
    }
    const kept = path.join(tempDir('usher-checkpoints-'), 'checkpoint.json');
    writeFileSync(kept, made.stdout);

    // The live log extends it, also after more changes.
    await w.agencyNew(fx.admin, 'Umbrella');
    const ok = await verify(w.usher.dataDir, ['--checkpoint', kept]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /^it extends the checkpoint of \S+Z \(4 chains\)$/m);

    // The older copy is consistent in itself, but is not an extension of the checkpoint.
    const alone = await verify(older);
    assert.equal(alone.code, 0, alone.stdout + alone.stderr);
    const rolled = await verify(older, ['--checkpoint', kept]);
    assert.equal(rolled.code, 1, rolled.stdout + rolled.stderr);
    assert.match(rolled.stdout, new RegExp(`^audit log broken: chain ${fx.chainA}, entry \\d+: .*rolled back`, 'm'));

    // A checkpoint edited to excuse the rollback is refused.
    const edited = structuredClone(checkpoint);
    const a = edited.chains.find((c) => c.chain === fx.chainA);
    const oldHead = sqlIn(older, `SELECT last_id || ' ' || last_hash || ' ' || entries FROM audit_chain_heads WHERE chain = '${fx.chainA}'`).trim().split(' ');
    [a.last_id, a.last_hash, a.entries] = [Number(oldHead[0]), oldHead[1], Number(oldHead[2])];
    edited.chains = edited.chains.filter((c) => c.chain === fx.chainA || c.chain === fx.chainB || c.chain === 'platform');
    edited.entries = Number(sqlIn(older, 'SELECT entries FROM audit_registry').trim());
    const forged = path.join(path.dirname(kept), 'edited.json');
    writeFileSync(forged, JSON.stringify(edited));
    const refused = await verify(older, ['--checkpoint', forged]);
    assert.equal(refused.code, 1, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /checkpoint: its signature does not match its contents \(the checkpoint was edited\)/);
    // Reformatting the file is not editing it.
    writeFileSync(forged, JSON.stringify(JSON.parse(readFileSync(kept, 'utf8'))));
    const same = await verify(w.usher.dataDir, ['--checkpoint', forged]);
    assert.equal(same.code, 0, same.stdout + same.stderr);
  });

  it('prints no checkpoint of a broken log', async () => {
    const dir = copyOf(w.usher.dataDir);
    sqlIn(dir, `UPDATE audit_log SET details = '{}' WHERE id = (SELECT MAX(id) FROM audit_log WHERE chain = '${fx.chainB}')`);
    const res = await runUsher(['audit', 'checkpoint', '--data-dir', dir]);
    assert.equal(res.code, 1, res.stdout + res.stderr);
    assert.equal(res.stdout, '');
    assert.match(res.stderr, new RegExp(`audit log broken: chain ${fx.chainB}, entry \\d+: its hash does not match its contents`));
  });
});
