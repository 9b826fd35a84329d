// Password recovery in the web console, in headless Chromium against the real binary and a
// real SMTP server: from the sign-in page "Forgot password?" leads to a form that answers the
// same for a known and an unknown address; the emailed link opens a page that drops the token
// from the address bar, shows the strength meter and the server's reason for a weak password,
// and signs the person in with a strong one; the new password then works for signing in, and
// the used link says it has expired. Every screen is checked with axe-core and photographed at
// 1280, 1366 and 390 px.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { startUsher } from '../api/lib/harness.mjs';
import { captureScreen, openBrowser, screenshotDir } from './lib/browser.mjs';
import { continueWithEmail, signInWithPassword } from './lib/signin.mjs';
import { linkIn, startSmtp } from './lib/smtp.mjs';

const ADMIN = { email: 'admin@studio.test', password: 'quiet-lantern-orbit-1' };
const PERSON = { email: 'nora@acme.test', password: 'amber-pylon-thistle-2' };
const NEW_PASSWORD = 'juniper-canal-mosaic-velvet-8';
const WEAK_PASSWORD = 'password1234';

describe('password recovery in the web console', () => {
  let smtp;
  let usher;
  let visitor; // Nora's browser
  let link; // the emailed reset link
  const browsers = [];

  async function ok(method, urlPath, { token, body } = {}) {
    const r = await usher.api(method, `/api/v1${urlPath}`, { token, body });
    assert.ok(r.status < 300, `${method} ${urlPath}: ${r.status} ${r.text}`);
    return r.json;
  }

  async function screen(page, name) {
    const violations = await captureScreen(page, name);
    assert.deepEqual(violations, [], `axe on ${name}`);
  }

  // A test whose failure leaves a picture of every open page under build/e2e-screenshots/.
  function step(name, fn) {
    it(name, async (t) => {
      try {
        await fn(t);
      } catch (e) {
        mkdirSync(screenshotDir, { recursive: true });
        for (const [i, b] of browsers.entries()) {
          const file = path.join(screenshotDir, `failed-reset-${name.slice(0, 40).replace(/[^a-z0-9]+/gi, '-')}-${i}.png`);
          await b.page.screenshot({ path: file, fullPage: true }).catch(() => {});
        }
        throw e;
      }
    });
  }

  // The id of the element that has the focus, and the name of that element.
  const focused = (page) => page.evaluate(() => ({ name: document.activeElement?.getAttribute('name'), tag: document.activeElement?.tagName }));

  before(async () => {
    smtp = await startSmtp();
    usher = await startUsher({
      env: {
        USHER_SMTP_URL: smtp.url,
        USHER_SMTP_FROM: 'studio@studio.test',
        USHER_ADMIN_EMAIL: ADMIN.email,
        USHER_ADMIN_PASSWORD: ADMIN.password,
      },
    });
    const admin = (await ok('POST', '/sessions', { body: ADMIN })).token;
    const agency = (await ok('POST', '/agencies', { token: admin, body: { name: 'Acme' } })).id;
    const inv = await ok('POST', `/agencies/${agency}/invitations`, {
      token: admin,
      body: { email: PERSON.email, first_name: 'Nora', last_name: 'Reset', grants: [{ roles: ['organisation_manager'] }], send_email: false },
    });
    const token = new URL(inv.url).hash.replace('#token=', '');
    await ok('POST', '/invitations/accept', { body: { token, password: PERSON.password } });
    visitor = await openBrowser(usher.url);
    browsers.push(visitor);
  });

  after(async () => {
    for (const b of browsers) await b.close().catch(() => {});
    const problems = browsers.flatMap((b) => b.problems);
    const logText = usher ? JSON.stringify(usher.logs) + usher.stderr.join('\n') : '';
    if (usher) assert.equal(await usher.stop(), 0);
    if (smtp) await smtp.close();
    assert.deepEqual(problems, [], 'no page errors and no Content-Security-Policy violations');
    if (link) assert.ok(!logText.includes(link.split('#token=')[1]), 'the reset token appeared in the log');
    assert.ok(!logText.includes(NEW_PASSWORD), 'the new password appeared in the log');
  });

  step('leads from the sign-in page to a request form that answers alike for any address', async () => {
    const { page } = visitor;
    await page.goto(`${usher.url}/signin`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await continueWithEmail(page, PERSON.email);
    await page.getByRole('link', { name: 'Forgot password?' }).click();
    await page.waitForURL(`${usher.url}/password-reset`);
    await page.getByRole('heading', { name: 'Forgot your password?' }).waitFor();
    await screen(page, 'password-reset-request');

    // Not an address: the server's 400 is shown at the field, which takes the focus.
    const email = page.getByLabel('Email');
    await email.fill('not an address');
    await page.getByRole('button', { name: 'Send the link' }).click();
    await page.waitForFunction(() => document.querySelector('input[name=email]')?.getAttribute('aria-invalid') === 'true');
    const describedBy = await email.getAttribute('aria-describedby');
    assert.ok(describedBy, 'the email field points at its error');
    assert.match(await page.locator(`[id="${describedBy.split(' ').pop()}"]`).textContent(), /email/i);
    assert.deepEqual(await focused(page), { name: 'email', tag: 'INPUT' });
    await screen(page, 'password-reset-request-error');

    // An address with no account gets the very words a real one gets.
    await email.fill('nobody@acme.test');
    await page.getByRole('button', { name: 'Send the link' }).click();
    await page.getByRole('heading', { name: 'Check your email' }).waitFor();
    const unknownSaid = (await page.locator('main').textContent()).replace('nobody@acme.test', 'ADDRESS');
    assert.match(unknownSaid, /If an account exists for ADDRESS, we sent a link/);
    await page.getByRole('button', { name: 'Ask again' }).click();
    await page.getByLabel('Email').fill(PERSON.email);
    await page.getByRole('button', { name: 'Send the link' }).click();
    await page.getByRole('heading', { name: 'Check your email' }).waitFor();
    const knownSaid = (await page.locator('main').textContent()).replace(PERSON.email, 'ADDRESS');
    assert.equal(knownSaid, unknownSaid);
    await screen(page, 'password-reset-sent');
  });

  step('opens the emailed link, drops the token from the address, refuses a weak password and signs in with a strong one', async () => {
    const mail = await smtp.waitFor(PERSON.email);
    assert.equal(mail.parsed.subject, 'Reset your password');
    link = linkIn(mail);
    assert.equal(new URL(link).pathname, '/password-reset');
    const token = link.split('#token=')[1];

    const { page } = visitor;
    await page.goto(link);
    await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
    await page.waitForFunction(() => location.hash === '');
    assert.equal(page.url(), `${usher.url}/password-reset`);
    assert.ok(!(await page.evaluate(() => location.href + document.title + document.body.innerHTML)).includes(token), 'the token is on the page');
    await screen(page, 'password-reset-choose');

    // A weak password: the meter says so as it is typed, and the server's reason is shown at the field.
    const password = page.getByLabel('New password', { exact: true });
    await password.fill(WEAK_PASSWORD);
    await page.locator('.strength-text').getByText(/^Too easy to guess/).waitFor();
    await page.getByLabel('Repeat the new password').fill(WEAK_PASSWORD);
    await page.getByRole('button', { name: 'Set the new password' }).click();
    await page.waitForFunction(() => document.querySelector('input[name=password]')?.getAttribute('aria-invalid') === 'true');
    const describedBy = (await password.getAttribute('aria-describedby')).split(' ');
    const reason = await page.locator(`[id="${describedBy[describedBy.length - 1]}"]`).textContent();
    assert.match(reason, /^Password is too easy to guess: /);
    assert.deepEqual(await focused(page), { name: 'password', tag: 'INPUT' });
    await screen(page, 'password-reset-weak');
    const old = await usher.api('POST', '/api/v1/sessions', { body: PERSON });
    assert.equal(old.status, 201, 'a refused password changes nothing');

    await password.fill(NEW_PASSWORD);
    await page.locator('.strength-text').getByText(/^Strong/).waitFor();
    await page.getByLabel('Repeat the new password').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Set the new password' }).click();
    await page.waitForURL(`${usher.url}/`);
    await page.getByRole('heading', { name: 'Control panel' }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await page.getByText('Your password was changed and you are signed in').waitFor();
    await screen(page, 'password-reset-signed-in');

    const stale = await usher.api('POST', '/api/v1/sessions', { body: PERSON });
    assert.equal(stale.status, 401, 'the old password no longer works');
  });

  step('signs out and signs in again with the new password', async () => {
    const { page } = visitor;
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await signInWithPassword(page, { email: PERSON.email, password: NEW_PASSWORD });
    await page.getByRole('heading', { name: 'Control panel' }).waitFor();
  });

  step('says a used link has expired and offers to ask for a new one', async () => {
    const fresh = await openBrowser(usher.url);
    browsers.push(fresh);
    const { page } = fresh;
    await page.goto(link);
    await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
    await page.getByLabel('New password', { exact: true }).fill('another-lantern-quarry-9');
    await page.getByLabel('Repeat the new password').fill('another-lantern-quarry-9');
    await page.getByRole('button', { name: 'Set the new password' }).click();
    await page.getByRole('heading', { name: 'This link has expired' }).waitFor();
    assert.match(await page.locator('main').textContent(), /already been used/);
    assert.equal(page.url(), `${usher.url}/password-reset`);
    await screen(page, 'password-reset-expired');
    const still = await usher.api('POST', '/api/v1/sessions', { body: { email: PERSON.email, password: NEW_PASSWORD } });
    assert.equal(still.status, 201, 'the used link changed nothing');

    await page.getByRole('link', { name: 'Ask for a new link' }).click();
    await page.getByRole('heading', { name: 'Forgot your password?' }).waitFor();
    assert.equal(await page.getByLabel('Email').inputValue(), '');
  });
});
