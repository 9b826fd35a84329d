// Passwords people do not guess (SECURITY 43): wherever a password is set (accepting an
// invitation as a new user, `usher admin-create`, the bootstrap admin) one that zxcvbn
// estimates below 10^8 guesses is refused with 400 weak_password and the reason in words,
// the invited email and the names counting as easy guesses; nothing is created meanwhile.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { runUsher, startUsher, tempDir } from './lib/harness.mjs';
import { tokenOf } from './lib/smtp.mjs';
import { ADMIN_EMAIL, assertProblem, startWorld } from './lib/world.mjs';

const PASSPHRASE = 'tapestry-of-ravens-at-dawn';

describe('password strength at invitation accept', () => {
  let w;
  let owner;
  let agency;
  const count = (text) => Number(w.sql(text).trim());
  const usersWith = (email) => count(`SELECT COUNT(*) FROM users WHERE email = '${email}'`);

  before(async () => {
    w = await startWorld();
    const admin = await w.signIn(ADMIN_EMAIL);
    agency = await w.agencyNew(admin, 'Acme');
    w.grant(w.addUser('owner@acme.example'), agency.id, { roles: 'owner' });
    owner = await w.signIn('owner@acme.example');
  });

  after(async () => {
    const log = w.logText();
    for (const secret of w.secrets) assert.ok(!log.includes(secret), 'a secret reached the server log');
    assert.equal(await w.stop(), 0);
  });

  async function invitation(email, extra = {}) {
    const res = await w.invite(owner, agency.id, { email, send_email: false, grants: [{ roles: ['agent'] }], ...extra });
    assert.equal(res.status, 201, res.text);
    return { id: res.json.id, token: tokenOf(res.json.url) };
  }

  it('refuses 12345678, password1 and the email\'s local part with 400 weak_password, then takes a passphrase', async () => {
    const email = 'quentin.weakly@customer.example';
    const inv = await invitation(email);
    const reasons = {};
    for (const password of ['12345678', 'password1']) {
      const res = await w.acceptNew(inv.token, password);
      assertProblem(res, 400, 'weak_password', 'password');
      assert.match(res.json.detail, /^password is too easy to guess: it [a-z ,]+[a-z]$/);
      reasons[password] = res.json.detail;
    }
    assert.match(reasons.password1, /common word with a number added/);
    // The local part is no secret (it is in every log line about this invitation), so it goes
    // out without the harness remembering it as one.
    const local = await fetch(`${w.usher.url}/api/v1/invitations/accept`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token: inv.token, password: 'quentin.weakly' }),
    });
    const body = await local.json();
    assert.equal(local.status, 400);
    assert.equal(body.code, 'weak_password');
    assert.equal(body.detail, 'password is too easy to guess: it contains your name or email address');

    // Nothing happened: no user, the invitation still pending and usable.
    assert.equal(usersWith(email), 0);
    assert.equal(w.sql(`SELECT status FROM invitations WHERE id = '${inv.id}'`).trim(), 'pending');
    assert.equal(count(`SELECT COUNT(*) FROM audit_log WHERE action = 'user.created' AND details LIKE '%quentin%'`), 0);

    const ok = await w.acceptNew(inv.token, PASSPHRASE);
    assert.equal(ok.status, 201, ok.text);
    assert.equal(ok.json.user.email, email);
    assert.equal(usersWith(email), 1);
    // Signing in later judges nothing but the password itself.
    assert.ok(await w.signIn(email, PASSPHRASE));
  });

  it('counts the names given in the form or by the inviter as easy guesses', async () => {
    const inv = await invitation('r.o@customer.example', { first_name: 'Rosalind', last_name: 'Okonkwo' });
    const personal = 'password is too easy to guess: it contains your name or email address';
    let res = await w.acceptNew(inv.token, 'Rosalind2024');
    assertProblem(res, 400, 'weak_password', 'password');
    assert.equal(res.json.detail, personal);
    // Both are accepted for someone else (the last accepts of this test).
    res = await w.acceptNew(inv.token, 'okonkwo-rosalind');
    assertProblem(res, 400, 'weak_password', 'password');
    assert.equal(res.json.detail, personal);
    // A name typed in the form counts as well as the inviter's.
    res = await w.acceptNew(inv.token, 'Xochiquetzal1987', { first_name: 'Xochiquetzal' });
    assertProblem(res, 400, 'weak_password', 'password');
    assert.equal(res.json.detail, personal);
    assert.equal(usersWith('r.o@customer.example'), 0);

    const other = await invitation('someone.else@customer.example');
    const ok = await w.acceptNew(other.token, 'okonkwo-rosalind');
    assert.equal(ok.status, 201, ok.text);
    const third = await invitation('third@customer.example');
    assert.equal((await w.acceptNew(third.token, 'Xochiquetzal1987')).status, 201);
  });
});

describe('password strength for platform admins', () => {
  it('refuses a weak USHER_ADMIN_PASSWORD for a new admin, saying why without echoing it', async () => {
    const r = await runUsher(['serve', '--listen', '127.0.0.1:0', '--data-dir', tempDir()], {
      env: { USHER_ADMIN_EMAIL: 'provider@example.com', USHER_ADMIN_PASSWORD: 'Provider2024' },
    });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /USHER_ADMIN_PASSWORD is too easy to guess: it contains your name or email address/);
    assert.ok(!r.stderr.includes('Provider2024'));
  });

  it('refuses a weak password on usher admin-create and takes a passphrase', async () => {
    const dataDir = tempDir();
    let r = await runUsher(['admin-create', '--email', 'ops@example.com', '--data-dir', dataDir], { input: 'qwertyui\n' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /password is too easy to guess: it is a common word or password/);
    assert.ok(!r.stderr.includes('qwertyui'));
    r = await runUsher(['admin-create', '--email', 'ops@example.com', '--data-dir', dataDir], { input: `${PASSPHRASE}\n` });
    assert.equal(r.code, 0, r.stderr);
  });

  it('starts as before when the admin exists, whatever USHER_ADMIN_PASSWORD holds', async () => {
    const dataDir = tempDir();
    const made = await runUsher(['admin-create', '--email', 'ops@example.com', '--data-dir', dataDir], { input: `${PASSPHRASE}\n` });
    assert.equal(made.code, 0, made.stderr);
    const usher = await startUsher({
      dataDir,
      env: { USHER_ADMIN_EMAIL: 'ops@example.com', USHER_ADMIN_PASSWORD: 'password1' },
    });
    try {
      const res = await usher.api('POST', '/api/v1/sessions', { body: { email: 'ops@example.com', password: PASSPHRASE } });
      assert.equal(res.status, 201, res.text);
    } finally {
      assert.equal(await usher.stop(), 0);
    }
  });
});
