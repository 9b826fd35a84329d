// Password recovery in the web console, in headless Chromium against the real binary and a
// real SMTP server: from the sign-in page "Forgot password?" leads to a form that answers the
// same for a known and an unknown address; the emailed link opens a page that drops the token
// from the address bar, shows the strength meter and the server's reason for a weak password,
// and signs the person in with a strong one; the new password then works for signing in, and
// the used link says it has expired. Every screen is checked with axe-core and photographed at
// 1280, 1366 and 390 px.
import assert from 'node:assert/strict';
import { before, describe } from 'node:test';

import { continueWithEmail, signInWithPassword } from './lib/signin.mjs';
import { linkIn } from './lib/smtp.mjs';
import { setUpStudio } from './lib/studio.mjs';

const PERSON = { email: 'nora@acme.test', password: 'amber-pylon-thistle-2' };
const NEW_PASSWORD = 'juniper-canal-mosaic-velvet-8';
const WEAK_PASSWORD = 'password1234';

describe('password recovery in the web console', () => {
  let visitor; // Nora's browser
  let link; // the emailed reset link
  const studio = setUpStudio({
    failurePrefix: 'failed-reset-',
    checkLog(logText) {
      if (link) assert.ok(!logText.includes(link.split('#token=')[1]), 'the reset token appeared in the log');
      assert.ok(!logText.includes(NEW_PASSWORD), 'the new password appeared in the log');
    },
  });
  const { ok, browser, screen, step, member } = studio;

  // The id of the element that has the focus, and the name of that element.
  const focused = (page) => page.evaluate(() => ({ name: document.activeElement?.getAttribute('name'), tag: document.activeElement?.tagName }));

  before(async () => {
    const agency = (await ok('POST', '/agencies', { body: { name: 'Acme' } })).id;
    await member(agency, { ...PERSON, first: 'Nora', last: 'Reset' }, [{ roles: ['organisation_manager'] }]);
    visitor = await browser();
  });

  step('leads from the sign-in page to a request form that answers alike for any address', async () => {
    const { page } = visitor;
    await page.goto(`${studio.usher.url}/signin`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await continueWithEmail(page, PERSON.email);
    await page.getByRole('link', { name: 'Forgot password?' }).click();
    await page.waitForURL(`${studio.usher.url}/password-reset`);
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
    await page.waitForFunction(() => document.activeElement?.getAttribute('name') === 'email');
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
    const mail = await studio.smtp.waitFor(PERSON.email);
    assert.equal(mail.parsed.subject, 'Reset your password');
    link = linkIn(mail);
    assert.equal(new URL(link).pathname, '/password-reset');
    const token = link.split('#token=')[1];

    const { page } = visitor;
    await page.goto(link);
    await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
    await page.waitForFunction(() => location.hash === '');
    assert.equal(page.url(), `${studio.usher.url}/password-reset`);
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
    // The focus moves once the refusal is drawn: wait for it rather than read it at once.
    await page.waitForFunction(() => document.activeElement?.getAttribute('name') === 'password');
    assert.deepEqual(await focused(page), { name: 'password', tag: 'INPUT' });
    await screen(page, 'password-reset-weak');
    const old = await studio.usher.api('POST', '/api/v1/sessions', { body: PERSON });
    assert.equal(old.status, 201, 'a refused password changes nothing');

    await password.fill(NEW_PASSWORD);
    await page.locator('.strength-text').getByText(/^Strong/).waitFor();
    await page.getByLabel('Repeat the new password').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Set the new password' }).click();
    await page.waitForURL(`${studio.usher.url}/`);
    await page.getByRole('heading', { name: 'Control panel' }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await page.getByText('Your password was changed and you are signed in').waitFor();
    await screen(page, 'password-reset-signed-in');

    const stale = await studio.usher.api('POST', '/api/v1/sessions', { body: PERSON });
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
    const fresh = await browser();
    const { page } = fresh;
    await page.goto(link);
    await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
    await page.getByLabel('New password', { exact: true }).fill('another-lantern-quarry-9');
    await page.getByLabel('Repeat the new password').fill('another-lantern-quarry-9');
    await page.getByRole('button', { name: 'Set the new password' }).click();
    await page.getByRole('heading', { name: 'This link has expired' }).waitFor();
    assert.match(await page.locator('main').textContent(), /already been used/);
    assert.equal(page.url(), `${studio.usher.url}/password-reset`);
    await screen(page, 'password-reset-expired');
    const still = await studio.usher.api('POST', '/api/v1/sessions', { body: { email: PERSON.email, password: NEW_PASSWORD } });
    assert.equal(still.status, 201, 'the used link changed nothing');

    await page.getByRole('link', { name: 'Ask for a new link' }).click();
    await page.getByRole('heading', { name: 'Forgot your password?' }).waitFor();
    assert.equal(await page.getByLabel('Email').inputValue(), '');
  });
});
