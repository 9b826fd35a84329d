// The console's Account page in headless Chromium against the real binary and a real SMTP
// server: reached from the person's name in the header, it changes their names, changes their
// password (a wrong current one refused at its field, the other sessions ended), lists their
// sessions with the device in words and ends one opened in another browser, and shows only the
// sections whose API the server has. Every screen is checked with axe-core and photographed at
// 1280 and 390 px.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { startUsher } from '../api/lib/harness.mjs';
import { captureScreen, openBrowser, screenshotDir } from './lib/browser.mjs';
import { startSmtp } from './lib/smtp.mjs';

const ADMIN = { email: 'admin@studio.test', password: 'quiet-lantern-orbit-1' };
const PERSON = { email: 'nora@acme.test', password: 'amber-pylon-thistle-2' };
const NEW_PASSWORD = 'juniper-canal-mosaic-velvet-8';

describe('the Account page of the web console', () => {
  let smtp;
  let usher;
  let adminToken;
  let nora; // Nora's browser
  const ids = {};
  const browsers = [];

  async function call(method, urlPath, { token = adminToken, body } = {}) {
    return usher.api(method, `/api/v1${urlPath}`, { token, body });
  }

  async function ok(method, urlPath, opts) {
    const r = await call(method, urlPath, opts);
    assert.ok(r.status < 300, `${method} ${urlPath}: ${r.status} ${r.text}`);
    return r.json;
  }

  // A new API session of Nora's, as another device would have.
  async function noraSession(password = PERSON.password) {
    return (await ok('POST', '/sessions', { token: null, body: { email: PERSON.email, password } })).token;
  }

  async function browser() {
    const b = await openBrowser(usher.url);
    browsers.push(b);
    return b;
  }

  async function signIn(page, who) {
    await page.goto(`${usher.url}/signin`);
    await page.getByLabel('Email').fill(who.email);
    await page.getByLabel('Password').fill(who.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Control panel' }).waitFor();
  }

  async function screen(page, name) {
    const violations = await captureScreen(page, name);
    assert.deepEqual(violations, [], `axe on ${name}`);
  }

  // The section of the Account page headed title.
  const section = (page, title) => page.getByRole('region', { name: title, exact: true });

  // Waits until the input named name has the focus (moved there after the render that shows an error).
  async function focusOn(page, name) {
    const has = () => page.evaluate(() => `${document.activeElement?.tagName} ${document.activeElement?.getAttribute('name')}`);
    await page.waitForFunction((n) => document.activeElement?.getAttribute('name') === n, name, { timeout: 3000 }).catch(() => {});
    assert.equal(await has(), `INPUT ${name}`, 'the focus is on the field to put right');
  }

  // A test whose failure leaves a picture of every open page under build/e2e-screenshots/.
  function step(name, fn) {
    it(name, async (t) => {
      try {
        await fn(t);
      } catch (e) {
        mkdirSync(screenshotDir, { recursive: true });
        for (const [i, b] of browsers.entries()) {
          const file = path.join(screenshotDir, `failed-account-${name.slice(0, 40).replace(/[^a-z0-9]+/gi, '-')}-${i}.png`);
          await b.page.screenshot({ path: file, fullPage: true }).catch(() => {});
        }
        throw e;
      }
    });
  }

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
    adminToken = (await ok('POST', '/sessions', { token: null, body: ADMIN })).token;
    ids.agency = (await ok('POST', '/agencies', { body: { name: 'Acme' } })).id;
    const inv = await ok('POST', `/agencies/${ids.agency}/invitations`, {
      body: { email: PERSON.email, first_name: 'Nora', last_name: 'Reset', grants: [{ roles: ['owner'] }], send_email: false },
    });
    const token = new URL(inv.url).hash.replace('#token=', '');
    await ok('POST', '/invitations/accept', { token: null, body: { token, password: PERSON.password } });
    nora = await browser();
  });

  after(async () => {
    for (const b of browsers) await b.close().catch(() => {});
    const problems = browsers.flatMap((b) => b.problems);
    const logText = usher ? JSON.stringify(usher.logs) + usher.stderr.join('\n') : '';
    if (usher) assert.equal(await usher.stop(), 0);
    if (smtp) await smtp.close();
    assert.deepEqual(problems, [], 'no page errors and no Content-Security-Policy violations');
    assert.ok(!logText.includes(NEW_PASSWORD), 'the new password appeared in the log');
  });

  step('opens the Account page from the name in the header and changes the names', async () => {
    const { page } = nora;
    await signIn(page, PERSON);
    const menu = page.getByRole('button', { name: 'Nora Reset' });
    assert.equal(await menu.getAttribute('aria-expanded'), 'false');
    await menu.click();
    assert.equal(await menu.getAttribute('aria-expanded'), 'true');
    await page.getByText(PERSON.email, { exact: true }).waitFor();
    await screen(page, 'account-menu');
    await page.getByRole('link', { name: 'Account' }).click();
    await page.waitForURL(`${usher.url}/account`);
    await page.getByRole('heading', { name: 'Account', level: 1 }).waitFor();
    assert.equal(await menu.getAttribute('aria-expanded'), 'false', 'the menu closes on the way');
    const profile = section(page, 'Profile');
    assert.equal(await profile.getByLabel('First name').inputValue(), 'Nora');
    assert.ok((await profile.textContent()).includes(PERSON.email));
    await screen(page, 'account');

    await profile.getByLabel('First name').fill('Noor');
    await profile.getByLabel('Last name').fill('Van Dijk');
    await profile.getByRole('button', { name: 'Save name' }).click();
    await profile.getByText('Saved.').waitFor();
    await page.getByRole('button', { name: 'Noor Van Dijk' }).waitFor();
    await page.getByText('Your name was saved').waitFor();
    const me = await ok('GET', '/me', { token: await noraSession() });
    assert.equal(me.user.first_name, 'Noor');
    assert.equal(me.user.last_name, 'Van Dijk');
    assert.equal(await profile.getByRole('button', { name: 'Save name' }).isDisabled(), true, 'nothing left to save');
    await screen(page, 'account-profile');
  });

  step('changes the password: a wrong current one is refused at its field, then every other session ends', async () => {
    const { page } = nora;
    const elsewhere = await noraSession();
    const password = section(page, 'Password');
    await password.getByLabel('Current password').fill('not-my-password-at-all');
    await password.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await password.locator('.strength-text').getByText(/^Strong/).waitFor();
    await password.getByLabel('Repeat the new password').fill(NEW_PASSWORD);
    await password.getByRole('button', { name: 'Change password' }).click();
    await page.waitForFunction(() => document.querySelector('input[name=current_password]')?.getAttribute('aria-invalid') === 'true');
    const current = password.getByLabel('Current password');
    const describedBy = (await current.getAttribute('aria-describedby')).split(' ');
    assert.equal(await page.locator(`[id="${describedBy[describedBy.length - 1]}"]`).textContent(), 'That is not your current password.');
    await focusOn(page, 'current_password');
    await screen(page, 'account-password-wrong');
    assert.equal((await call('GET', '/me', { token: elsewhere })).status, 200, 'a refused change ends nothing');

    // Repeated wrongly: said at the repeat field, nothing sent.
    await current.fill(PERSON.password);
    await password.getByLabel('Repeat the new password').fill(`${NEW_PASSWORD}x`);
    await password.getByRole('button', { name: 'Change password' }).click();
    await password.getByText('The two new passwords differ.').waitFor();
    await focusOn(page, 'new_password_repeat');

    await password.getByLabel('Repeat the new password').fill(NEW_PASSWORD);
    await password.getByRole('button', { name: 'Change password' }).click();
    await password.getByText(/Your password was changed\. Every other session of your account was signed out/).waitFor();
    assert.equal(await current.inputValue(), '', 'the form is emptied');
    assert.equal((await call('GET', '/me', { token: elsewhere })).status, 401, 'the other session was ended');
    assert.equal((await call('POST', '/sessions', { token: null, body: PERSON })).status, 401, 'the old password is refused');
    PERSON.password = NEW_PASSWORD;
    await section(page, 'Sessions').getByText('You are signed in only here.').waitFor();
    await screen(page, 'account-password-changed');
    const notice = await smtp.waitFor(PERSON.email);
    assert.match(notice.parsed.subject, /password/i);
  });

  step('lists the sessions with the device in words and signs out the one in another browser', async () => {
    const { page } = nora;
    const other = await browser();
    await signIn(other.page, PERSON);
    const api1 = await noraSession();
    const api2 = await noraSession();

    await page.reload();
    const sessions = section(page, 'Sessions');
    const rows = sessions.locator('tbody tr');
    await sessions.getByText('3 other sessions besides this one.').waitFor();
    assert.equal(await rows.count(), 4);
    const here = rows.filter({ hasText: 'This device' });
    assert.equal(await here.count(), 1);
    assert.match(await here.locator('th').textContent(), /^Chrome on Linux/);
    assert.match(await here.locator('td[data-label="Address"]').textContent(), /^127\.0\.0\.1$/);
    const browsersRows = rows.filter({ hasText: 'Chrome on Linux' });
    assert.equal(await browsersRows.count(), 2, 'both browsers read as Chrome on Linux');
    await screen(page, 'account-sessions');

    // The other browser's row: Chrome, not this device.
    const theirs = browsersRows.filter({ hasNotText: 'This device' });
    await theirs.getByRole('button', { name: /^Sign out Chrome on Linux/ }).click();
    await sessions.getByText('2 other sessions besides this one.').waitFor();
    await page.getByText('Chrome on Linux was signed out').waitFor();
    await other.page.goto(`${usher.url}/account`);
    await other.page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.equal((await call('GET', '/me', { token: api1 })).status, 200, 'only that session ended');

    await sessions.getByRole('button', { name: 'Sign out everywhere else' }).click();
    await sessions.getByText('You are signed in only here.').waitFor();
    assert.equal(await rows.count(), 1);
    assert.equal((await call('GET', '/me', { token: api1 })).status, 401);
    assert.equal((await call('GET', '/me', { token: api2 })).status, 401);
    await page.getByRole('heading', { name: 'Account', level: 1 }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Sign out', exact: true }).count(), 1, 'this device is still signed in');
    await screen(page, 'account-sessions-alone');
  });

  step('shows only the sections whose API this server has', async () => {
    const { page } = nora;
    const me = await ok('GET', '/me', { token: await noraSession() });
    const allow = (await call('OPTIONS', '/me')).headers.allow || '';
    const expected = ['Profile', 'Password'];
    if ('second_factor' in me) expected.push('Two-step verification');
    expected.push('Sessions');
    if (/\bDELETE\b/.test(allow)) expected.push('Delete account');
    await page.reload();
    await section(page, 'Sessions').getByRole('table').waitFor();
    await page.waitForLoadState('networkidle');
    const nav = page.getByRole('navigation', { name: 'Account sections' });
    assert.deepEqual(await nav.getByRole('link').allTextContents(), expected);
    assert.deepEqual(await page.locator('.account-sections > section h2').allTextContents(), expected);
    const changeEmail = await section(page, 'Profile').getByRole('button', { name: 'Change email' }).count();
    assert.equal(changeEmail, 'pending_email' in me ? 1 : 0);
  });
});
