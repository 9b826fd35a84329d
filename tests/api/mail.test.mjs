// Mail delivery through a real SMTP server (npm smtp-server on 127.0.0.1, a port chosen at run
// time), driven by `usher mail-test`, the .eml fallback when no SMTP server is configured, and
// the wording of the invitation email.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { simpleParser } from 'mailparser';

import { readableUtc } from './lib/dates.mjs';
import { ADMIN_EMAIL, startWorld } from './lib/world.mjs';

const BIN = process.env.USHER_BIN || 'build/usher';

function run(args, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(BIN, args, { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function startSmtp(options = {}) {
  const received = [];
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    authOptional: true,
    logger: false,
    ...options,
    onData(stream, session, callback) {
      const chunks = [];
      stream.on('data', (c) => chunks.push(c));
      stream.on('end', () => {
        received.push({
          raw: Buffer.concat(chunks).toString('utf8'),
          from: session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((r) => r.address),
          user: session.user,
        });
        callback();
      });
    },
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({ server, port: server.server.address().port, received });
    });
  });
}

test('mail-test delivers a multipart message through a real SMTP server', async () => {
  const smtp = await startSmtp();
  const dir = mkdtempSync(join(tmpdir(), 'usher-mail-'));
  try {
    const r = await run(['mail-test', '--to', 'Ops@Example.test', '--data-dir', dir], {
      USHER_SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
      USHER_SMTP_FROM: 'studio@example.test',
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(smtp.received.length, 1);
    const got = smtp.received[0];
    assert.equal(got.from, 'studio@example.test');
    assert.deepEqual(got.to, ['ops@example.test']);
    const parsed = await simpleParser(got.raw);
    assert.equal(parsed.subject, 'usher test message');
    assert.match(parsed.messageId, /^<msg_[A-Za-z0-9_-]+@127\.0\.0\.1>$/);
    assert.match(parsed.text, /checks usher's mail settings/);
    assert.match(parsed.html, /<p>This message checks/);
  } finally {
    smtp.server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('mail-test authenticates with the user and password of the SMTP URL', async () => {
  const smtp = await startSmtp({
    authOptional: false,
    allowInsecureAuth: true,
    onAuth(auth, session, callback) {
      if (auth.username === 'mailer' && auth.password === 'pw-canary-7731') {
        callback(null, { user: 'mailer' });
      } else {
        callback(new Error('bad credentials'));
      }
    },
  });
  const dir = mkdtempSync(join(tmpdir(), 'usher-mail-'));
  try {
    const r = await run(['mail-test', '--to', 'ops@example.test', '--data-dir', dir], {
      USHER_SMTP_URL: `smtp://mailer:pw-canary-7731@127.0.0.1:${smtp.port}`,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(smtp.received.length, 1);
    assert.equal(smtp.received[0].user, 'mailer');
    assert.ok(!r.stderr.includes('pw-canary-7731'), 'the SMTP password never reaches the log');
  } finally {
    smtp.server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('mail-test reports a failure when the SMTP server is down and keeps the message queued',
  async () => {
    const smtp = await startSmtp();
    const port = smtp.port;
    await new Promise((resolve) => smtp.server.close(resolve));
    const dir = mkdtempSync(join(tmpdir(), 'usher-mail-'));
    try {
      const r = await run(['mail-test', '--to', 'ops@example.test', '--data-dir', dir], {
        USHER_SMTP_URL: `smtp://127.0.0.1:${port}`,
      });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /delivery failed/);
      assert.match(r.stderr, /"event":"mail.retry"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

test('without SMTP settings the message is written as an .eml file and the log names the file',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'usher-mail-'));
    try {
      const r = await run(['mail-test', '--to', 'ops@example.test', '--data-dir', dir], {
        USHER_SMTP_URL: '',
      });
      assert.equal(r.code, 0, r.stderr);
      const files = readdirSync(join(dir, 'mail')).filter((f) => f.endsWith('.eml'));
      assert.equal(files.length, 1);
      const parsed = await simpleParser(readFileSync(join(dir, 'mail', files[0])));
      assert.equal(parsed.to.text, 'ops@example.test');
      assert.match(r.stderr, /"event":"mail.written"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

test('mail-test refuses a list of addresses', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'usher-mail-'));
  try {
    const r = await run(['mail-test', '--to', 'a@example.test,b@example.test', '--data-dir', dir]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /exactly one address/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// The invitation email as its reader sees it: roles in words, extra permissions by what they
// let one do, the expiry as a date (text and HTML parts alike), never the ids or ISO stamps.
test('the invitation email names roles in words and gives a readable expiry', async () => {
  const w = await startWorld();
  try {
    const admin = await w.signIn(ADMIN_EMAIL);
    const agency = await w.agencyNew(admin, 'Acme');
    const env = await w.environmentNew(admin, agency.id, 'production');
    const res = await w.invite(admin, agency.id, {
      email: 'words@customer.example',
      grants: [
        { environment_id: env.id, roles: ['environment_manager', 'operator'], extra_permissions: ['analytics.read'] },
        { roles: ['content_manager'] },
      ],
      expires_in_seconds: 259200,
    });
    assert.equal(res.status, 201, res.text);
    const { message } = await w.mailLink('words@customer.example');
    const { text, html } = message.parsed;
    const readable = readableUtc(res.json.expires_at);
    for (const [part, body] of [['text', text], ['html', html]]) {
      assert.ok(body.includes('environment production: Operator, Environment manager; also: ' +
        'see analytics and reports'), `${part}: ${body}`);
      assert.ok(body.includes('all of Acme: Content manager'), `${part}: ${body}`);
      assert.ok(body.includes(`expires on ${readable}.`), `${part}: ${readable} in ${body}`);
      for (const raw of ['environment_manager', 'content_manager', 'analytics.read']) {
        assert.ok(!body.includes(raw), `${part} shows no ${raw}`);
      }
      assert.doesNotMatch(body, /\d{4}-\d\d-\d\dT\d\d:\d\d/, `${part} shows no ISO timestamp`);
    }
  } finally {
    assert.equal(await w.stop(), 0);
  }
});
