// Two-step verification in the web console, in headless Chromium against the real binary and a
// real SMTP server. The test computes the authenticator app's codes itself (RFC 6238: HMAC-SHA-1,
// 30-second steps, 6 digits) from the secret the server hands out when a person enrols.
// A person with two-step verification signs in with a code (a wrong one is said beside the
// field, and five of them end the sign-in), with a recovery code (which then works no more),
// and after a password reset; an owner makes their agency require it, and a member without it
// meets the enrolment page in front of every screen, enrols from it (QR code, key in groups of
// four, code, ten recovery codes to copy or download) and lands in the console; the users
// overview marks who has it; a platform admin resets a lost second factor, sends a password
// reset link and erases an account from the People page, and is told why the last owner of an
// agency cannot be erased. Every screen is checked with axe-core and photographed at 1280 and
// 390 px.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { before, describe } from 'node:test';

import { focusReaches } from './lib/browser.mjs';
import { signInWithPassword } from './lib/signin.mjs';
import { linkIn } from './lib/smtp.mjs';
import { ADMIN, setUpStudio } from './lib/studio.mjs';

// The owner of Acme, with two-step verification from the start.
const OWNER = { email: 'tara@acme.test', password: 'amber-pylon-thistle-2', first: 'Tara', last: 'Owner' };
// A member of Acme without it, until Acme requires it.
const MEMBER = { email: 'ben@acme.test', password: 'cedar-rocket-lagoon-3', first: 'Ben', last: 'Member' };
// Accounts the platform admin sends a reset link to and erases.
const OTHER = { email: 'olga@globex.test', password: 'velvet-harbor-quartz-4', first: 'Olga', last: 'Other' };
const LEAVER = { email: 'leo@globex.test', password: 'granite-willow-ferry-7', first: 'Leo', last: 'Leaver' };
const NEW_PASSWORD = 'juniper-canal-mosaic-velvet-8';

// --- RFC 6238 ------------------------------------------------------------------------------

function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of text.replace(/[\s=]/g, '').toUpperCase()) {
    const i = alphabet.indexOf(ch);
    if (i < 0) throw new Error(`not base32: ${ch}`);
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

// The 6-digit code of a 30-second time step.
function totpAt(secret, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', base32Decode(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const number = (mac.readUInt32BE(offset) & 0x7fffffff) % 1000000;
  return String(number).padStart(6, '0');
}

const currentStep = () => Math.floor(Date.now() / 30000);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// A code the server has not accepted yet for this person: the server takes each time step once
// and nothing older than the last one taken, within one step either side of now.
async function freshCode(person) {
  for (;;) {
    const now = currentStep();
    const step = Math.max(now, (person.lastStep ?? -1) + 1);
    if (step <= now + 1) {
      person.lastStep = step;
      return totpAt(person.secret, step);
    }
    await sleep(((now + 1) * 30000 - Date.now()) + 200);
  }
}

describe('two-step verification in the web console', () => {
  let recoveryCodes;
  const studio = setUpStudio({
    failurePrefix: 'failed-2step-',
    checkLog(logText) {
      for (const secret of [OWNER.secret, MEMBER.secret, ...(recoveryCodes || [])].filter(Boolean))
        assert.ok(!logText.includes(secret), 'a second-factor secret or recovery code appeared in the log');
    },
  });
  const { call, ok, browser, screen, step, member } = studio;
  const ids = {};
  let memberBrowser; // the member, signed in before their agency requires two-step verification

  const creds = (who) => ({ email: who.email, password: who.password });

  // The first message to addr with this subject, once it has arrived (mail goes out through the
  // outbox, in its own time and order).
  async function mailWith(addr, subject, ms = 15000) {
    const until = Date.now() + ms;
    for (;;) {
      const found = studio.smtp.messages.find((m) => m.to.includes(addr.toLowerCase()) && m.parsed.subject === subject);
      if (found) return found;
      if (Date.now() > until) throw new Error(`no message "${subject}" to ${addr} within ${ms} ms`);
      await sleep(100);
    }
  }

  // The password step of signing in, up to the page that asks for the code.
  async function passwordStep(page, who) {
    await page.goto(`${studio.usher.url}/signin`);
    await signInWithPassword(page, who);
  }

  before(async () => {
    ids.acme = (await ok('POST', '/agencies', { body: { name: 'Acme' } })).id;
    ids.globex = (await ok('POST', '/agencies', { body: { name: 'Globex' } })).id;
    const ownerToken = (await member(ids.acme, OWNER, [{ roles: ['owner'] }])).token;
    await member(ids.acme, MEMBER, [{ roles: ['analyst'] }]);
    await member(ids.globex, OTHER, [{ roles: ['analyst'] }]);
    await member(ids.globex, LEAVER, [{ roles: ['analyst'] }]);

    // The owner enrols through the API, as their app would: the secret gives the codes.
    const enrolment = await ok('POST', '/me/totp', { token: ownerToken, body: { current_password: OWNER.password } });
    assert.match(enrolment.secret, /^[A-Z2-7]+=*$/);
    OWNER.secret = enrolment.secret;
    const confirmed = await ok('POST', '/me/totp/confirm', { token: ownerToken, body: { code: await freshCode(OWNER) } });
    assert.equal(confirmed.recovery_codes.length, 10);
    recoveryCodes = confirmed.recovery_codes;
  });

  step('asks for the code after the password, says when it is wrong, and signs in with the right one', async () => {
    const { page } = await browser();
    await passwordStep(page, OWNER);
    await page.getByRole('heading', { name: 'Two-step verification' }).waitFor();
    const field = page.getByLabel('Enter the 6-digit code from your authenticator app');
    assert.equal(await field.getAttribute('inputmode'), 'numeric');
    assert.equal(await field.getAttribute('autocomplete'), 'one-time-code');
    assert.equal(await page.getByRole('button', { name: 'Sign out' }).count(), 0, 'no session before the code');
    assert.equal((await call('GET', '/me', { token: null })).status, 401);
    await screen(page, 'signin-code');

    // A code of an hour ago is wrong: said beside the field, which takes the focus.
    await field.fill(totpAt(OWNER.secret, currentStep() - 120));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByText(/^That code is not right\./).waitFor();
    assert.equal(await field.getAttribute('aria-invalid'), 'true');
    await focusReaches(field);
    await screen(page, 'signin-code-wrong');

    await field.fill(await freshCode(OWNER));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('heading', { name: 'Control panel' }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
  });

  step('says when wrong codes have used up the sign-in, and starts again from the password', async () => {
    const { page } = await browser();
    await passwordStep(page, OWNER);
    const field = page.getByLabel('Enter the 6-digit code from your authenticator app');
    const ended = page.getByText(/^This sign-in has expired or was used up by too many wrong codes\./);
    let tries = 0;
    for (;;) {
      tries += 1;
      assert.ok(tries <= 6, 'the sign-in ends after five wrong codes');
      await field.fill(totpAt(OWNER.secret, currentStep() - 200 - tries));
      const [answer] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith('/api/v1/sessions/mfa')),
        page.getByRole('button', { name: 'Verify' }).click(),
      ]);
      assert.equal(answer.status(), 401);
      const { code } = await answer.json();
      if (code === 'mfa_token_invalid') break;
      assert.equal(code, 'invalid_code');
      await page.getByText(/^That code is not right\./).waitFor();
    }
    await ended.waitFor();
    assert.ok(tries >= 5, `ended after ${tries} wrong codes`);
    await focusReaches(page.locator('.note-error'));
    assert.equal(await field.count(), 0, 'nothing to type into any more');
    await screen(page, 'signin-code-ended');
    await page.getByRole('button', { name: 'Start again' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  });

  step('signs in with a recovery code, which then works no more', async () => {
    const first = await browser();
    await passwordStep(first.page, OWNER);
    await first.page.getByRole('button', { name: 'Use a recovery code instead' }).click();
    const field = first.page.getByLabel('Enter one of your recovery codes');
    await focusReaches(field);
    await screen(first.page, 'signin-recovery');
    await field.fill(recoveryCodes[0]);
    await first.page.getByRole('button', { name: 'Verify' }).click();
    await first.page.getByRole('heading', { name: 'Control panel' }).waitFor();

    const second = await browser();
    await passwordStep(second.page, OWNER);
    await second.page.getByRole('button', { name: 'Use a recovery code instead' }).click();
    await second.page.getByLabel('Enter one of your recovery codes').fill(recoveryCodes[0]);
    await second.page.getByRole('button', { name: 'Verify' }).click();
    await second.page.getByText(/^That recovery code is not right, or it has been used already\./).waitFor();
    await screen(second.page, 'signin-recovery-used');
    // Back to the app's code, on the same sign-in.
    await second.page.getByRole('button', { name: 'Use the code from your app instead' }).click();
    await second.page.getByLabel('Enter the 6-digit code from your authenticator app').fill(await freshCode(OWNER));
    await second.page.getByRole('button', { name: 'Verify' }).click();
    await second.page.getByRole('heading', { name: 'Control panel' }).waitFor();
  });

  step('asks for the code after a password reset before signing in', async () => {
    await ok('POST', '/password-resets', { token: null, body: { email: OWNER.email } });
    const link = linkIn(await mailWith(OWNER.email, 'Reset your password'));
    const { page } = await browser();
    await page.goto(link);
    await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel('Repeat the new password').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Set the new password' }).click();
    await page.getByRole('heading', { name: 'Two-step verification' }).waitFor();
    await page.getByText('Your new password is set.', { exact: false }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Sign out' }).count(), 0, 'no session before the code');
    await screen(page, 'password-reset-code');
    await page.getByLabel('Enter the 6-digit code from your authenticator app').fill(await freshCode(OWNER));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('heading', { name: 'Control panel' }).waitFor();
    await page.getByText('Your password was changed and you are signed in').waitFor();
    OWNER.password = NEW_PASSWORD;
  });

  step('lets the owner require two-step verification for the agency, after a confirmation', async () => {
    memberBrowser = await browser();
    await passwordStep(memberBrowser.page, MEMBER);
    await memberBrowser.page.getByRole('heading', { name: 'Control panel' }).waitFor();

    const { page } = await browser();
    await passwordStep(page, OWNER);
    await page.getByLabel('Enter the 6-digit code from your authenticator app').fill(await freshCode(OWNER));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('heading', { name: 'Control panel' }).waitFor();
    await page.goto(`${studio.usher.url}/agencies/${ids.acme}`);
    const toggle = page.getByRole('switch', { name: 'Require two-step verification' });
    await toggle.waitFor();
    assert.equal(await toggle.getAttribute('aria-checked'), 'false');
    await screen(page, 'agency-2step-off');
    await toggle.click();
    const dialog = page.getByRole('dialog', { name: 'Require two-step verification?' });
    await dialog.waitFor();
    assert.match(await dialog.textContent(), /will have to, before they can do anything else in usher: at their next\s+sign-in/);
    await screen(page, 'agency-2step-confirm');
    await dialog.getByRole('button', { name: 'Require it' }).click();
    await page.locator('.toast').getByText('Acme now requires two-step verification').waitFor();
    assert.equal(await toggle.getAttribute('aria-checked'), 'true');
    assert.equal((await ok('GET', `/agencies/${ids.acme}`)).require_second_factor, true);
    await screen(page, 'agency-2step-on');

    // The users overview tells who has it.
    await page.goto(`${studio.usher.url}/agencies/${ids.acme}/users`);
    const row = (email) => page.locator('tbody tr').filter({ has: page.getByText(email, { exact: true }) });
    await row(OWNER.email).locator('td[data-label=Status]').getByText('2-step').waitFor();
    assert.match(await row(MEMBER.email).locator('td[data-label=Status]').textContent(), /No 2-step/);
    await screen(page, 'users-2step');

    // A manager without the permission sees no switch: the member is no owner.
    const member = (await ok('GET', `/agencies/${ids.acme}/users`)).items.find((m) => m.email === MEMBER.email);
    assert.equal(member.second_factor, false);
  });

  step('puts the enrolment in front of every screen for a member without it, and lets them in once enrolled', async () => {
    // Signed in before: their next step in the console meets the page.
    const { page } = memberBrowser;
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Agencies' }).click();
    await page.getByRole('heading', { name: 'Your agency requires two-step verification' }).waitFor();
    assert.equal(await page.getByRole('navigation', { name: 'Main' }).count(), 0, 'no way around the page');
    await screen(page, 'second-factor-required');
    // Signing in again meets it too.
    await page.getByRole('button', { name: 'Sign out' }).first().click();
    await passwordStep(page, MEMBER);
    await page.getByRole('heading', { name: 'Your agency requires two-step verification' }).waitFor();
    await page.goto(`${studio.usher.url}/agencies/${ids.acme}/users`);
    await page.getByRole('heading', { name: 'Your agency requires two-step verification' }).waitFor();
    assert.equal((await call('GET', `/agencies/${ids.acme}/users`, { token: (await ok('POST', '/sessions', { token: null, body: creds(MEMBER) })).token })).json?.code, 'second_factor_required');

    await page.getByRole('button', { name: 'Set up two-step verification' }).click();
    await page.getByRole('heading', { name: 'Step 1 of 3: confirm it is you' }).waitFor();
    await page.getByLabel('Current password').fill('not-the-password-1');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByText('That is not your current password.').waitFor();
    await focusReaches(page.getByLabel('Current password'));
    await screen(page, 'enrol-password-wrong');
    await page.getByLabel('Current password').fill(MEMBER.password);
    await page.getByRole('button', { name: 'Continue' }).click();

    await page.getByRole('heading', { name: 'Step 2 of 3: add usher to your app' }).waitFor();
    const qr = page.getByRole('img', { name: 'QR code that adds usher to an authenticator app' });
    assert.match(await qr.getAttribute('src'), /^data:image\/svg\+xml;base64,/);
    assert.ok(await qr.evaluate((img) => img.complete && img.naturalWidth > 0), 'the QR code is drawn');
    const shown = (await page.locator('.totp-secret').textContent()).trim();
    assert.match(shown, /^([A-Z2-7=]{4} )*[A-Z2-7=]{1,4}$/, 'the key in groups of four');
    MEMBER.secret = shown.replace(/ /g, '');
    await screen(page, 'enrol-scan');

    await page.getByLabel('6-digit code from the app').fill(totpAt(MEMBER.secret, currentStep() - 120));
    await page.getByRole('button', { name: 'Turn on two-step verification' }).click();
    await page.getByText(/^That code is not right\./).waitFor();
    await focusReaches(page.getByLabel('6-digit code from the app'));
    await page.getByLabel('6-digit code from the app').fill(await freshCode(MEMBER));
    await page.getByRole('button', { name: 'Turn on two-step verification' }).click();

    await page.getByRole('heading', { name: 'Step 3 of 3: save your recovery codes' }).waitFor();
    const codes = await page.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem').allTextContents();
    assert.equal(codes.length, 10);
    assert.equal(new Set(codes).size, 10);
    const done = page.getByRole('button', { name: 'Continue to usher' });
    await screen(page, 'enrol-codes');
    // Not before the codes are saved: the page stays, says why and moves to the box.
    await done.click();
    await page.getByText('Tick the box once the codes are saved: they cannot be shown again.').waitFor();
    await focusReaches(page.getByLabel('I have saved them'));
    assert.equal(await page.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem').count(), 10);
    await page.getByRole('button', { name: 'Copy', exact: true }).click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), codes.join('\n'));
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download .txt' }).click()]);
    assert.equal(download.suggestedFilename(), 'usher-recovery-codes.txt');
    const saved = readFileSync(await download.path(), 'utf8');
    for (const c of codes) assert.ok(saved.includes(c), 'every code is in the file');
    await page.getByLabel('I have saved them').check();
    await done.click();
    await page.getByRole('heading', { name: 'Users' }).waitFor();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    assert.equal((await ok('GET', `/agencies/${ids.acme}/users`)).items.find((m) => m.email === MEMBER.email).second_factor, true);

    // From now on the member signs in with a code too.
    const next = await browser();
    await passwordStep(next.page, MEMBER);
    await next.page.getByLabel('Enter the 6-digit code from your authenticator app').fill(await freshCode(MEMBER));
    await next.page.getByRole('button', { name: 'Verify' }).click();
    await next.page.getByRole('heading', { name: 'Control panel' }).waitFor();
  });

  step('lets a platform admin reset a lost second factor, send a reset link and erase an account', async () => {
    const { page } = await browser();
    await page.goto(`${studio.usher.url}/signin`);
    await signInWithPassword(page, ADMIN);
    await page.getByRole('heading', { name: 'Control panel' }).waitFor();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'People' }).click();
    await page.getByRole('columnheader', { name: 'Two-step verification' }).waitFor();
    const row = (email) => page.locator('tbody tr').filter({ has: page.locator('th', { hasText: email }) });
    assert.equal(await row(MEMBER.email).locator('td[data-label="Two-step verification"]').textContent(), 'On');
    assert.equal(await row(OTHER.email).locator('td[data-label="Two-step verification"]').textContent(), 'Off');

    // Reset the member's second factor: asked first, then done, announced and emailed.
    await row(MEMBER.email).getByRole('button', { name: `Actions for ${MEMBER.email}` }).click();
    await row(MEMBER.email).getByRole('button', { name: 'Reset two-step verification' }).click();
    const reset = page.getByRole('dialog', { name: 'Reset two-step verification' });
    await reset.waitFor();
    await screen(page, 'people-reset-2step');
    await reset.getByRole('button', { name: 'Reset two-step verification' }).click();
    await page.locator('.toast').getByText(`Two-step verification of ${MEMBER.email} was reset`).waitFor();
    await row(MEMBER.email).locator('td[data-label="Two-step verification"]').getByText('Off').waitFor();
    const listed = (await ok('GET', `/users?q=${encodeURIComponent(MEMBER.email)}`)).items[0];
    assert.equal(listed.second_factor, false);
    const notice = await mailWith(MEMBER.email, 'Two-step verification reset by an administrator');
    assert.match(notice.parsed.text, /was reset by a platform administrator/);
    // Acme still requires it: the member enrols again at the next sign-in.
    const session = await ok('POST', '/sessions', { token: null, body: creds(MEMBER) });
    assert.equal((await ok('GET', '/me', { token: session.token })).second_factor_required, true);

    // A reset link, emailed to the person; the admin never sees it.
    await row(OTHER.email).getByRole('button', { name: `Actions for ${OTHER.email}` }).click();
    await row(OTHER.email).getByRole('button', { name: 'Send password reset link' }).click();
    const send = page.getByRole('dialog', { name: 'Send a password reset link' });
    await screen(page, 'people-reset-link');
    await send.getByRole('button', { name: 'Send the link' }).click();
    await page.locator('.toast').getByText(`A password reset link was sent to ${OTHER.email}`).waitFor();
    const mail = await mailWith(OTHER.email, 'Reset your password');
    assert.equal(new URL(linkIn(mail)).pathname, '/password-reset');
    assert.ok(!(await page.content()).includes(linkIn(mail).split('#token=')[1]), 'the admin never sees the link');

    // The last owner of an agency cannot be erased: said with the agency's name.
    await row(OWNER.email).getByRole('button', { name: `Actions for ${OWNER.email}` }).click();
    await row(OWNER.email).getByRole('button', { name: 'Erase account' }).click();
    const refuse = page.getByRole('dialog', { name: 'Erase the account of Tara Owner' });
    await refuse.getByLabel(`Type ${OWNER.email} to confirm`).fill(OWNER.email);
    await refuse.getByRole('button', { name: 'Erase account' }).click();
    await refuse.getByText(/is the only owner of the agency Acme/).waitFor();
    await screen(page, 'people-erase-last-owner');
    await refuse.getByRole('button', { name: 'Cancel' }).click();
    assert.equal((await call('POST', '/sessions', { token: null, body: creds(OWNER) })).status < 300, true, 'the owner was not erased');

    // Erase an account: the email typed exactly is needed.
    await row(LEAVER.email).getByRole('button', { name: `Actions for ${LEAVER.email}` }).click();
    await row(LEAVER.email).getByRole('button', { name: 'Erase account' }).click();
    const erase = page.getByRole('dialog', { name: 'Erase the account of Leo Leaver' });
    const go = erase.getByRole('button', { name: 'Erase account' });
    await erase.getByLabel(`Type ${LEAVER.email} to confirm`).fill('leo@globex');
    assert.ok(await go.isDisabled(), 'not before the email is typed');
    await erase.getByLabel(`Type ${LEAVER.email} to confirm`).fill(LEAVER.email);
    await screen(page, 'people-erase');
    await go.click();
    await page.locator('.toast').getByText(`The account of ${LEAVER.email} was erased`).waitFor();
    await row(LEAVER.email).waitFor({ state: 'detached' });
    assert.equal((await ok('GET', `/users?q=${encodeURIComponent(LEAVER.email)}`)).items.length, 0);
    assert.equal((await call('POST', '/sessions', { token: null, body: creds(LEAVER) })).status, 401);
  });
});
