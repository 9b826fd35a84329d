// The console's Account page in headless Chromium against the real binary and a real SMTP
// server: reached from the person's name in the header, it changes their names, changes their
// password (a wrong current one refused at its field, the other sessions ended), lists their
// sessions with the device in words and ends one opened in another browser, shows only the
// sections whose API the server has, changes the email address through the link mailed to the
// new one, turns two-step verification on with a code computed here from the key it shows (RFC
// 6238) and off with a recovery code, and deletes the account once it is no longer an agency's
// only owner. Every screen is checked with axe-core and photographed at 1280, 1366 and 390 px.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { before, describe } from 'node:test';

import { focusIs } from './lib/browser.mjs';
import { signInWithPassword } from './lib/signin.mjs';
import { linkIn } from './lib/smtp.mjs';
import { setUpStudio } from './lib/studio.mjs';

const PERSON = { email: 'nora@acme.test', password: 'amber-pylon-thistle-2' };
const NEW_PASSWORD = 'juniper-canal-mosaic-velvet-8';
const NEW_EMAIL = 'noor.vandijk@acme.test';
const OTHER_OWNER = { email: 'otto@acme.test', password: 'walnut-harbour-signal-5' };

// RFC 4648 base32, as authenticator apps read the key.
function base32Bytes(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const out = [];
  let bits = 0;
  let value = 0;
  for (const c of text.replace(/[\s=]/g, '').toUpperCase()) {
    const v = alphabet.indexOf(c);
    assert.ok(v >= 0, `not base32: ${c}`);
    value = ((value << 5) | v) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

// RFC 6238 TOTP (HMAC-SHA-1, 30-second steps, 6 digits) of the step at time ms.
function totp(secret, ms = Date.now()) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(ms / 1000 / 30)));
  const h = createHmac('sha1', base32Bytes(secret)).update(counter).digest();
  const at = h[h.length - 1] & 0x0f;
  return String((h.readUInt32BE(at) & 0x7fffffff) % 1000000).padStart(6, '0');
}

// A code that is none of the ones the server accepts now (this step and its neighbours).
function wrongCode(secret) {
  const now = Date.now();
  const valid = [-30000, 0, 30000].map((d) => totp(secret, now + d));
  return ['000000', '111111', '222222', '333333'].find((c) => !valid.includes(c));
}

describe('the Account page of the web console', () => {
  const studio = setUpStudio({
    failurePrefix: 'failed-account-',
    checkLog: (logText) => assert.ok(!logText.includes(NEW_PASSWORD), 'the new password appeared in the log'),
  });
  const { call, ok, browser, screen, step, member, signIn } = studio;
  let nora; // Nora's browser
  const ids = {};

  // The first message to addr whose subject matches, waiting up to 15 s for it.
  async function mailTo(addr, subject) {
    const until = Date.now() + 15000;
    for (;;) {
      const found = studio.smtp.messages.find((m) => m.to.includes(addr.toLowerCase()) && subject.test(m.parsed.subject || ''));
      if (found) return found;
      assert.ok(Date.now() < until, `no message "${subject}" to ${addr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  // A new API session of Nora's, as another device would have.
  async function noraSession(password = PERSON.password) {
    return (await ok('POST', '/sessions', { token: null, body: { email: PERSON.email, password } })).token;
  }

  // Nora's browser on the Account page, signed in again if her session was ended.
  async function openAccount() {
    const { page } = nora;
    await page.goto(`${studio.usher.url}/account`);
    const title = page.getByRole('heading', { level: 1 });
    await title.waitFor();
    if ((await title.textContent()) === 'Sign in') {
      await signInWithPassword(page, PERSON);
    }
    await page.getByRole('heading', { name: 'Account', level: 1 }).waitFor();
    await section(page, 'Sessions').getByRole('table').waitFor();
    await page.waitForLoadState('networkidle');
    return page;
  }

  // The section of the Account page headed title.
  const section = (page, title) => page.getByRole('region', { name: title, exact: true });

  // Waits until the input named name has the focus (moved there after the render that shows an error).
  const focusOn = (page, name) => focusIs(page, { name }, 'the focus is on the field to put right');

  before(async () => {
    ids.agency = (await ok('POST', '/agencies', { body: { name: 'Acme' } })).id;
    await member(ids.agency, { ...PERSON, first: 'Nora', last: 'Reset' }, [{ roles: ['owner'] }]);
    nora = await browser();
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
    await page.waitForURL(`${studio.usher.url}/account`);
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
    await mailTo(PERSON.email, /password/i);
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
    assert.equal(await browsersRows.count(), 2, 'both studio.browsers read as Chrome on Linux');
    await screen(page, 'account-sessions');

    // The other browser's row: Chrome, not this device.
    const theirs = browsersRows.filter({ hasNotText: 'This device' });
    await theirs.getByRole('button', { name: /^Sign out Chrome on Linux/ }).click();
    await sessions.getByText('2 other sessions besides this one.').waitFor();
    await page.getByText('Chrome on Linux was signed out').waitFor();
    await other.page.goto(`${studio.usher.url}/account`);
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
    const expected = ['Profile'];
    if (me.has_password !== false) expected.push('Password');
    if ('second_factor' in me) expected.push('Two-step verification');
    if ('identities' in me) expected.push('Company sign-in');
    expected.push('Sessions');
    if (/\bDELETE\b/.test(allow)) expected.push('Delete account');
    await openAccount();
    const nav = page.getByRole('navigation', { name: 'Account sections' });
    assert.deepEqual(await nav.getByRole('link').allTextContents(), expected);
    assert.deepEqual(await page.locator('.account-sections > section h2').allTextContents(), expected);
    const changeEmail = await section(page, 'Profile').getByRole('button', { name: 'Change email' }).count();
    assert.equal(changeEmail, 'pending_email' in me ? 1 : 0);
  });

  step('changes the email address through the link mailed to the new one, after a cancelled try', async () => {
    const page = await openAccount();
    const profile = section(page, 'Profile');
    const oldEmail = PERSON.email;
    const ask = async (password) => {
      await profile.getByRole('button', { name: /^Change / }).click();
      const form = profile.getByRole('form', { name: 'Change email address' });
      await form.getByLabel('New email address').fill(NEW_EMAIL);
      await form.getByLabel('Current password').fill(password);
      await form.getByRole('button', { name: 'Send confirmation link' }).click();
      return form;
    };

    // A wrong password: said at its field, nothing sent.
    const form = await ask('not-my-password-at-all');
    await form.getByText('That is not your current password.').waitFor();
    await focusOn(page, 'current_password');
    await screen(page, 'account-email-wrong-password');
    await form.getByLabel('Current password').fill(PERSON.password);
    await form.getByRole('button', { name: 'Send confirmation link' }).click();
    const pending = profile.locator('#email-pending');
    await pending.getByText(`Confirmation sent to ${NEW_EMAIL}`).waitFor();
    assert.match(await pending.textContent(), /pending/);
    await screen(page, 'account-email-pending');
    const firstMail = await studio.smtp.waitFor(NEW_EMAIL, 1);
    assert.equal(firstMail.parsed.subject, 'Confirm your new email address');
    const first = linkIn(firstMail);

    // Cancelled: the pending change is gone, and so is its link.
    await pending.getByRole('button', { name: 'Cancel the change' }).click();
    await pending.waitFor({ state: 'detached' });
    await page.getByText('The change of email address was cancelled').waitFor();
    const me = await ok('GET', '/me', { token: await noraSession() });
    assert.equal(me.pending_email, null);

    // Asked again: a new link; the first one no longer works, in any browser.
    await ask(PERSON.password);
    await pending.getByText(`Confirmation sent to ${NEW_EMAIL}`).waitFor();
    const link = linkIn(await studio.smtp.waitFor(NEW_EMAIL, 2));
    assert.notEqual(link, first);
    assert.equal(new URL(link).pathname, '/email-change');
    const stranger = await browser();
    await stranger.page.goto(first);
    await stranger.page.getByRole('heading', { name: 'This link does not work any more' }).waitFor();
    assert.equal(stranger.page.url(), `${studio.usher.url}/email-change`, 'the token left the address bar');
    await screen(stranger.page, 'email-change-ended');

    await page.goto(link);
    await page.getByRole('heading', { name: 'Your email address was changed' }).waitFor();
    assert.equal(page.url(), `${studio.usher.url}/email-change`, 'the token left the address bar');
    assert.ok((await page.locator('main').textContent()).includes(NEW_EMAIL));
    await page.getByRole('button', { name: 'Sign out' }).waitFor({ state: 'detached' });
    await screen(page, 'email-change-done');
    assert.equal((await call('POST', '/sessions', { token: null, body: { email: oldEmail, password: PERSON.password } })).status, 401);
    PERSON.email = NEW_EMAIL;

    await page.getByRole('link', { name: 'Go to sign in' }).click();
    await signInWithPassword(page, PERSON);
    await page.getByRole('heading', { name: 'Control panel' }).waitFor();
    await mailTo(oldEmail, /^Your email address was changed$/); // and the old address is told
  });

  step('turns two-step verification on with a code from the key, shows the recovery codes once, replaces them, and turns it off with a new one', async () => {
    const page = await openAccount();
    const twoStep = section(page, 'Two-step verification');
    await twoStep.getByText('Off', { exact: true }).waitFor();
    await twoStep.getByRole('button', { name: 'Turn on' }).click();

    // Step 1: the password, refused at its field when wrong.
    await twoStep.getByRole('heading', { name: /^Step 1 of 3/ }).waitFor();
    await twoStep.getByLabel('Current password').fill('not-my-password-at-all');
    await twoStep.getByRole('button', { name: 'Continue' }).click();
    await twoStep.getByText('That is not your current password.').waitFor();
    await focusOn(page, 'current_password');
    await twoStep.getByLabel('Current password').fill(PERSON.password);
    await twoStep.getByRole('button', { name: 'Continue' }).click();

    // Step 2: the QR code as an image from a data: address, and the key in groups of four.
    await twoStep.getByRole('heading', { name: /^Step 2 of 3/ }).waitFor();
    const qr = twoStep.getByRole('img', { name: /^QR code that adds usher/ });
    const src = await qr.getAttribute('src');
    assert.match(src, /^data:image\/svg\+xml;base64,/);
    assert.match(Buffer.from(src.split(',')[1], 'base64').toString('utf8'), /<svg[\s\S]*<\/svg>/);
    assert.ok(await qr.evaluate((img) => img.complete && img.naturalWidth > 0), 'the QR code is drawn');
    const grouped = (await twoStep.locator('.totp-secret').textContent()).trim();
    assert.match(grouped, /^([A-Z2-7]{4} )*[A-Z2-7]{1,4}$/);
    const secret = grouped.replace(/ /g, '');
    await twoStep.getByRole('button', { name: 'Copy key' }).click();
    await twoStep.getByText('Copied').waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
    await screen(page, 'account-two-step-scan');

    await twoStep.getByLabel('6-digit code from the app').fill(wrongCode(secret));
    await twoStep.getByRole('button', { name: 'Turn on' }).click();
    await twoStep.getByText(/^That code is not right/).waitFor();
    await focusOn(page, 'code');
    await twoStep.getByLabel('6-digit code from the app').fill(totp(secret));
    await twoStep.getByRole('button', { name: 'Turn on' }).click();

    // Step 3: ten recovery codes, to copy and download, kept until "I have saved them".
    await twoStep.getByRole('heading', { name: 'Save your recovery codes' }).waitFor();
    const codes = (await twoStep.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem').allTextContents()).map((c) => c.trim());
    assert.equal(codes.length, 10);
    assert.equal(new Set(codes).size, 10);
    await twoStep.getByRole('button', { name: 'Copy', exact: true }).click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), codes.join('\n'));
    const [download] = await Promise.all([page.waitForEvent('download'), twoStep.getByRole('link', { name: 'Download .txt' }).click()]);
    assert.equal(download.suggestedFilename(), 'usher-recovery-codes.txt');
    const file = readFileSync(await download.path(), 'utf8');
    for (const c of codes) assert.ok(file.includes(c), 'every code is in the file');
    await screen(page, 'account-two-step-codes');
    await twoStep.getByRole('button', { name: 'Done' }).click();
    await twoStep.getByText('Tick the box once the codes are saved: they cannot be shown again.').waitFor();
    await page.waitForFunction(() => document.activeElement?.id === 'recovery-saved');
    await twoStep.getByLabel('I have saved them').check();
    await twoStep.getByRole('button', { name: 'Done' }).click();
    await twoStep.getByText('On', { exact: true }).waitFor();
    assert.equal(await twoStep.getByRole('list', { name: 'Recovery codes' }).count(), 0, 'the codes are shown only once');
    const signIn = await call('POST', '/sessions', { token: null, body: PERSON });
    assert.equal(signIn.json.mfa_required, true, 'signing in now asks for the second step');
    await screen(page, 'account-two-step-on');

    // New recovery codes, with the password and a code of a later step than the one used
    // (a code is taken once; the server accepts the next step's code too).
    await twoStep.getByRole('button', { name: 'New recovery codes' }).click();
    const renew = twoStep.getByRole('form', { name: 'New recovery codes' });
    await renew.getByLabel('Current password').fill(PERSON.password);
    await renew.getByLabel('6-digit code from the app').fill(totp(secret, Date.now() + 30000));
    await screen(page, 'account-two-step-renew');
    await renew.getByRole('button', { name: 'Make new codes' }).click();
    await twoStep.getByRole('heading', { name: 'Save your recovery codes' }).waitFor();
    const fresh = (await twoStep.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem').allTextContents()).map((c) => c.trim());
    assert.equal(fresh.length, 10);
    assert.ok(!fresh.some((c) => codes.includes(c)), 'the new codes are new');
    await twoStep.getByLabel('I have saved them').check();
    await twoStep.getByRole('button', { name: 'Done' }).click();
    await twoStep.getByText('On', { exact: true }).waitFor();

    // Off, with the password and a recovery code: an old one no longer works, a new one does.
    await twoStep.getByRole('button', { name: 'Turn off' }).click();
    await twoStep.getByLabel('Current password').fill(PERSON.password);
    await twoStep.getByRole('button', { name: 'Use a recovery code instead' }).click();
    // The field changes meaning: the focus goes to it.
    await focusIs(page, { name: 'recovery_code' }, 'the focus follows the switch to a recovery code');
    await twoStep.getByLabel('Recovery code').fill(codes[0]);
    await twoStep.getByRole('button', { name: 'Turn off two-step verification' }).click();
    await twoStep.getByText('That recovery code is not right, or it was already used.').waitFor();
    await focusOn(page, 'recovery_code');
    await twoStep.getByLabel('Recovery code').fill(fresh[0]);
    await screen(page, 'account-two-step-off');
    await twoStep.getByRole('button', { name: 'Turn off two-step verification' }).click();
    await twoStep.getByText('Off', { exact: true }).waitFor();
    await page.getByText('Two-step verification is off').waitFor();
    const after = await call('POST', '/sessions', { token: null, body: PERSON });
    assert.equal(after.status, 201, 'the password alone signs in again');
  });

  step('refuses to delete the only owner of an agency, naming it, then deletes the account', async () => {
    // Two-step verification on again (through the API): deleting asks for a code as well.
    const first = await ok('POST', '/sessions', { token: null, body: PERSON });
    const enrolled = await ok('POST', '/me/totp', { token: first.token, body: { current_password: PERSON.password } });
    await ok('POST', '/me/totp/confirm', { token: first.token, body: { code: totp(enrolled.secret) } });
    const secret = enrolled.secret;
    const page = await openAccount();
    const danger = section(page, 'Delete account');
    assert.match(await danger.textContent(), /cannot be undone/);
    await danger.getByRole('button', { name: 'Delete account…' }).click();
    const form = danger.getByRole('form', { name: 'Delete account' });
    await form.getByLabel('Current password').fill(PERSON.password);
    await form.getByLabel('6-digit code from the app').fill(totp(secret, Date.now() + 30000));
    await form.getByLabel('Type your email address to confirm').fill('someone@else.test');
    await form.getByRole('button', { name: 'Delete my account' }).click();
    await form.getByText(`Type your email address, ${PERSON.email}, exactly.`).waitFor();
    await focusOn(page, 'confirm_email');
    await form.getByLabel('Type your email address to confirm').fill(PERSON.email);
    await form.getByLabel('Current password').fill('not-my-password-at-all');
    await form.getByRole('button', { name: 'Delete my account' }).click();
    await form.getByText('That is not your current password.').waitFor();
    await focusOn(page, 'current_password');

    // The right password with a wrong code: refused at the code's field.
    await form.getByLabel('Current password').fill(PERSON.password);
    await form.getByLabel('6-digit code from the app').fill(wrongCode(secret));
    await form.getByRole('button', { name: 'Delete my account' }).click();
    await form.getByText(/^That code is not right/).waitFor();
    await focusOn(page, 'code');
    await screen(page, 'account-delete-code');

    await form.getByLabel('6-digit code from the app').fill(totp(secret, Date.now() + 30000));
    await form.getByRole('button', { name: 'Delete my account' }).click();
    const refusal = form.getByRole('alert');
    await refusal.getByText(/^You are the only owner of Acme\./).waitFor();
    assert.match(await refusal.textContent(), /Make someone else an owner of Acme first/);
    const still = await call('POST', '/sessions', { token: null, body: PERSON });
    assert.equal(still.json?.mfa_required, true, `nothing was deleted: ${still.status} ${still.text}`);
    await screen(page, 'account-delete-last-owner');

    // Someone else becomes an owner of Acme: now the account goes.
    const inv = await ok('POST', `/agencies/${ids.agency}/invitations`, {
      body: { email: OTHER_OWNER.email, first_name: 'Otto', last_name: 'Owner', grants: [{ roles: ['owner'] }], send_email: false },
    });
    await ok('POST', '/invitations/accept', { token: null, body: { token: new URL(inv.url).hash.replace('#token=', ''), password: OTHER_OWNER.password } });
    await form.getByRole('button', { name: 'Delete my account' }).click();
    await page.waitForURL(`${studio.usher.url}/account-deleted`);
    await page.getByRole('heading', { name: 'Your account was deleted' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Sign out' }).count(), 0, 'signed out');
    await screen(page, 'account-deleted');
    assert.equal((await call('POST', '/sessions', { token: null, body: PERSON })).status, 401, 'the account is gone');
    await page.getByRole('link', { name: 'Go to sign in' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  });
});
