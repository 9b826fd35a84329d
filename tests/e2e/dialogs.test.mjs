// The console's dialogs in headless Chromium against the real binary: a refusal is in view with
// the focus on it (the invite dialog's empty email at 1280 and 390 px, the sign-in page's wrong
// or short password, a confirmation's refusal) and worded for people; the invite dialog opened
// from the agency page starts at an environment, and access to the whole agency is confirmed
// first; extra permissions read as descriptions; the notices at the bottom of the window can be
// dismissed, go after 5 seconds (held while pointed at), never pile up and leave the table's row
// actions uncovered; the invite and edit dialogs say who becomes or stops being notified of incoming
// chats; an end date ("until") is saved from both; and the edit dialog shows the server's dry
// run of a change before saving it. Each screen is checked with axe and photographed.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { before, describe } from 'node:test';

import { DESKTOP, eventually, noticeProblems, PHONE, screenshotDir } from './lib/browser.mjs';
import { continueWithEmail } from './lib/signin.mjs';
import { setUpStudio } from './lib/studio.mjs';

const MANAGER = { email: 'mia@acme.test', password: 'copper-meadow-keys-1', first: 'Mia', last: 'Manager' };
const COLLEAGUE = { email: 'cleo@acme.test', password: 'harbor-violet-tiles-1', first: 'Cleo', last: 'Colleague' };

describe('the console dialogs', () => {
  const studio = setUpStudio({ failurePrefix: 'failed-dialogs-' });
  const { ok, browser, screen, step, member } = studio;
  const ids = {};
  let manager; // the organisation manager's browser

  // Whether the element is wholly visible: inside the window, inside every scrolling box around
  // it, and below a dialog's sticky title.
  const fullyInView = (locator) =>
    locator.evaluate((el) => {
      const r = el.getBoundingClientRect();
      if (r.height === 0 || r.top < 0 || r.bottom > window.innerHeight) return false;
      for (let p = el.parentElement; p; p = p.parentElement) {
        const style = getComputedStyle(p);
        if (!/(auto|scroll|hidden)/.test(style.overflowY)) continue;
        const box = p.getBoundingClientRect();
        if (r.top < box.top || r.bottom > box.bottom) return false;
      }
      const head = el.closest('dialog')?.querySelector('.dialog-head');
      return !head || r.top >= head.getBoundingClientRect().bottom;
    });

  // The name and id of the focused element.
  const focused = (page) =>
    page.evaluate(() => ({
      tag: document.activeElement?.tagName,
      name: document.activeElement?.getAttribute('name'),
      text: document.activeElement?.textContent,
      cls: document.activeElement?.className,
    }));

  // The invite dialog opened from the agency page.
  async function openInvite(page) {
    await page.goto(`${studio.usher.url}/agencies/${ids.agency}`);
    await page.getByRole('heading', { name: 'Environments' }).waitFor();
    await page.getByRole('button', { name: 'Invite user' }).click();
    const dialog = page.getByRole('dialog', { name: 'Invite user' });
    await dialog.waitFor();
    await dialog.getByRole('group', { name: 'Roles', exact: true }).getByRole('checkbox').first().waitFor();
    return dialog;
  }

  before(async () => {
    ids.agency = (await ok('POST', '/agencies', { body: { name: 'Acme' } })).id;
    ids.env = (await ok('POST', `/agencies/${ids.agency}/environments`, { body: { name: 'Acme production' } })).id;
    ids.env2 = (await ok('POST', `/agencies/${ids.agency}/environments`, { body: { name: 'Acme test' } })).id;
    ids.manager = (await member(ids.agency, MANAGER, [{ roles: ['organisation_manager'] }])).id;
    const colleagueGrants = [{ environment_id: ids.env, roles: ['operator'] }];
    ids.colleague = (await member(ids.agency, COLLEAGUE, colleagueGrants)).id;
    manager = await browser();
  });

  step('keeps the focus on a sign-in refusal and words it for people', async () => {
    const { page } = manager;
    await page.goto(`${studio.usher.url}/signin`);
    await continueWithEmail(page, MANAGER.email);
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.equal(await alert.textContent(), 'The email address or the password is not right. Check both and try again.');
    await page.waitForFunction(() => document.activeElement?.classList.contains('note-error'));
    assert.ok(await fullyInView(alert), 'the refusal is in view');
    await screen(page, 'dialogs-signin-refused');

    // A password too short for any account: the sentence is the console's, not the server's.
    await page.getByLabel('Password').fill('short');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const password = page.getByLabel('Password');
    await page.waitForFunction(() => document.activeElement?.getAttribute('name') === 'password');
    assert.equal(await password.getAttribute('aria-invalid'), 'true');
    const said = await page.locator('main').textContent();
    assert.match(said, /Passwords have at least 8 characters\./);
    assert.doesNotMatch(said, /bytes|must be/);

    // Back to the address step, then in.
    await page.getByRole('button', { name: 'Use another email' }).click();
    await page.getByLabel('Email').fill(MANAGER.email);
    await page.getByRole('button', { name: 'Continue', exact: true }).click();
    await page.getByLabel('Password').fill(MANAGER.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { name: 'Control panel' }).waitFor();
  });

  for (const size of [DESKTOP, PHONE]) {
    step(`shows the invite dialog's empty email error in view with the focus on it at ${size.width} px`, async () => {
      const { page } = manager;
      await page.setViewportSize(size);
      try {
        const dialog = await openInvite(page);
        await dialog.getByRole('checkbox', { name: /^Operator/ }).check();
        const send = dialog.getByRole('button', { name: 'Send invitation' });
        await send.scrollIntoViewIfNeeded();
        await send.click();
        const email = dialog.getByLabel('Email', { exact: true });
        await page.waitForFunction(() => document.activeElement?.getAttribute('name') === 'email');
        assert.equal(await email.getAttribute('aria-invalid'), 'true');
        const errorId = (await email.getAttribute('aria-describedby')).split(' ').pop();
        const error = page.locator(`[id="${errorId}"]`);
        assert.equal(await error.textContent(), 'Enter an email address.');
        // The field and its error both show, below the dialog's title, once the focus settled.
        await page.waitForTimeout(300);
        assert.ok(await fullyInView(email), 'the email field is in view');
        assert.ok(await fullyInView(error), 'its error is in view');
        const f = await focused(page);
        assert.equal(`${f.tag} ${f.name}`, 'INPUT email');
        if (size === DESKTOP) await screen(page, 'dialogs-invite-empty-email');
        else {
          mkdirSync(screenshotDir, { recursive: true });
          await page.screenshot({ path: path.join(screenshotDir, 'dialogs-invite-empty-email-phone-390.png') });
        }
        await dialog.getByRole('button', { name: 'Cancel' }).click();
        await dialog.waitFor({ state: 'detached' });
      } finally {
        await page.setViewportSize(DESKTOP);
      }
    });
  }

  step('starts the invite from the agency page at an environment and confirms the whole agency first', async () => {
    const { page } = manager;
    const dialog = await openInvite(page);
    const where = dialog.getByLabel('Where');
    const start = await where.inputValue();
    assert.ok([ids.env, ids.env2].includes(start), `the dialog starts at an environment, not at ${start || 'the whole agency'}`);

    // Choosing the whole agency asks; Cancel keeps the environment.
    await where.selectOption({ label: 'Whole agency (ripples down to every environment)' });
    const confirm = page.getByRole('dialog', { name: 'Give access to the whole agency?' });
    await confirm.waitFor();
    assert.match(await confirm.textContent(), /every environment of Acme, now and in the future/);
    await screen(page, 'dialogs-invite-confirm-agency');
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await confirm.waitFor({ state: 'detached' });
    assert.equal(await where.inputValue(), start, 'Cancel keeps the environment');

    await where.selectOption({ label: 'Whole agency (ripples down to every environment)' });
    await confirm.getByRole('button', { name: 'Yes, the whole agency' }).click();
    await confirm.waitFor({ state: 'detached' });
    assert.equal(await where.inputValue(), '', 'confirmed: the whole agency');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
  });

  step('offers every extra permission by its description from the catalogue', async () => {
    const { page } = manager;
    const dialog = await openInvite(page);
    await dialog.getByText(/^Extra permissions/).click();
    const catalogue = await ok('GET', '/permissions');
    assert.ok(catalogue.items.length >= 20);
    const labels = await dialog
      .locator('.extras input[type=checkbox]')
      .evaluateAll((els) => els.map((e) => ({ code: e.value, label: document.querySelector(`label[for="${e.id}"]`)?.textContent || '' })));
    assert.ok(labels.length > 0, 'extra permissions are offered');
    for (const { code, label } of labels) {
      const entry = catalogue.items.find((p) => p.name === code);
      assert.ok(entry, `${code} is in the catalogue`);
      assert.ok(entry.description.length > 0, `${code} has a description`);
      const words = entry.description[0].toUpperCase() + entry.description.slice(1);
      assert.equal(label, words, `${code} is offered by its description`);
      assert.notEqual(label, code);
    }
    await dialog.getByRole('checkbox', { name: /^See analytics and reports/ }).scrollIntoViewIfNeeded();
    await screen(page, 'dialogs-invite-extra-permissions');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
  });

  step('says in the invite dialog when a choice makes the person a notification recipient', async () => {
    const { page } = manager;
    const dialog = await openInvite(page);
    const where = dialog.getByLabel('Where');
    await where.selectOption({ label: 'Acme production' });
    const note = dialog.locator('.notify-note');
    assert.equal((await note.textContent()).trim(), '', 'no note before a role is chosen');
    await dialog.getByRole('checkbox', { name: /^Analyst/ }).check();
    assert.equal((await note.textContent()).trim(), '', 'an analyst is not notified');
    await dialog.getByRole('checkbox', { name: /^Operator/ }).check();
    await note.getByText('Once they accept, they will be notified of incoming chats in Acme production (Agent or Operator there).').waitFor();
    await note.scrollIntoViewIfNeeded();
    await screen(page, 'dialogs-invite-notify-note');
    await dialog.getByRole('checkbox', { name: /^Operator/ }).uncheck();
    await page.waitForFunction(() => !document.querySelector('dialog .notify-note')?.textContent.trim());

    // Agent for the whole agency notifies nobody: the note says where the role must be.
    await where.selectOption({ label: 'Whole agency (ripples down to every environment)' });
    await page.getByRole('button', { name: 'Yes, the whole agency' }).click();
    await dialog.getByRole('checkbox', { name: /^Agent/ }).check();
    await note.getByText(/for the whole agency is not notified of chats in any environment/).waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
  });

  step('says in the edit dialog who stops being notified, and changes nothing on Cancel', async () => {
    const { page } = manager;
    const before = await ok('GET', `/agencies/${ids.agency}/users/${ids.colleague}`);
    await page.goto(`${studio.usher.url}/agencies/${ids.agency}/users/${ids.colleague}`);
    const panel = page.getByRole('complementary', { name: 'Cleo Colleague' });
    await panel.getByRole('button', { name: 'Edit access' }).click();
    const roles = panel.getByRole('group', { name: 'Roles', exact: true });
    await roles.getByRole('checkbox').first().waitFor();
    await roles.getByRole('checkbox', { name: /^Analyst/ }).check();
    assert.equal((await panel.locator('.notify-note').textContent()).trim(), '', 'still an operator: nothing changes');
    await roles.getByRole('checkbox', { name: /^Operator/ }).uncheck();
    const stops = panel.getByText('Cleo Colleague will no longer be notified of incoming chats in Acme production.');
    await stops.waitFor();
    await stops.scrollIntoViewIfNeeded();
    await screen(page, 'dialogs-edit-notify-note');
    await panel.getByRole('button', { name: 'Cancel' }).click();
    const after = await ok('GET', `/agencies/${ids.agency}/users/${ids.colleague}`);
    assert.deepEqual(after.grants, before.grants, 'Cancel changed nothing');
    const recipients = await ok('GET', `/environments/${ids.env}/notification-recipients`);
    assert.ok(recipients.items.some((r) => (r.user_id || r.id) === ids.colleague), 'Cleo is still notified');
  });

  // The last day of access, 30 days from now, as the date field takes it.
  const lastDay = new Date(Date.now() + 30 * 86400000).toISOString().slice(0, 10);

  step('saves an end date chosen in the invite dialog', async () => {
    const { page } = manager;
    const dialog = await openInvite(page);
    await dialog.getByLabel('Where').selectOption({ label: 'Acme production' });
    await dialog.getByRole('checkbox', { name: /^Analyst/ }).check();
    await dialog.getByLabel('Email', { exact: true }).fill('until@acme.test');
    await dialog.getByLabel(/^Until/).fill(lastDay);
    await dialog.getByRole('button', { name: 'Send invitation' }).click();
    await dialog.waitFor({ state: 'detached' });
    const list = await ok('GET', `/agencies/${ids.agency}/invitations?status=pending`);
    const inv = list.items.find((i) => i.email === 'until@acme.test');
    assert.ok(inv, 'the invitation exists');
    assert.equal(new Date(inv.grants[0].expires_at).toISOString(), `${lastDay}T23:59:59.000Z`, 'access ends at the end of the day');
  });

  step('previews a change of access before saving it, changes nothing on Cancel, then saves an end date', async () => {
    const { page } = manager;
    const grantsNow = async () => (await ok('GET', `/agencies/${ids.agency}/users/${ids.colleague}`)).grants;
    const before = await grantsNow();
    await page.goto(`${studio.usher.url}/agencies/${ids.agency}/users/${ids.colleague}`);
    const panel = page.getByRole('complementary', { name: 'Cleo Colleague' });
    await panel.getByRole('button', { name: 'Edit access' }).click();
    const roles = panel.getByRole('group', { name: 'Roles', exact: true });
    await roles.getByRole('checkbox').first().waitFor();
    await roles.getByRole('checkbox', { name: /^Analyst/ }).check();
    await roles.getByRole('checkbox', { name: /^Operator/ }).uncheck();
    await panel.getByRole('button', { name: 'Save access' }).click();
    const preview = panel.getByRole('region', { name: /What saving changes/ });
    await preview.waitFor();
    const said = await preview.textContent();
    assert.match(said, /Acme production: gains see analytics and reports; loses .*reply to incoming conversations/);
    assert.match(said, /Stops being notified of incoming chats in Acme production\./);
    assert.deepEqual(await grantsNow(), before, 'the preview changed nothing');
    await preview.scrollIntoViewIfNeeded();
    await screen(page, 'dialogs-edit-preview');
    await panel.getByRole('button', { name: 'Cancel' }).click();
    assert.deepEqual(await grantsNow(), before, 'Cancel changed nothing');

    // An end date only: previewed, confirmed, saved, and shown when the access is edited again.
    await panel.getByRole('button', { name: 'Edit access' }).click();
    await roles.getByRole('checkbox').first().waitFor();
    await panel.getByLabel(/^Until/).fill(lastDay);
    await panel.getByRole('button', { name: 'Save access' }).click();
    await preview.waitFor();
    await panel.getByRole('button', { name: 'Confirm and save' }).click();
    await panel.getByRole('button', { name: 'Edit access' }).waitFor();
    const after = await grantsNow();
    const prod = after.find((g) => g.environment_id === ids.env);
    assert.deepEqual(prod.roles, ['operator']);
    assert.equal(new Date(prod.expires_at).toISOString(), `${lastDay}T23:59:59.000Z`);
    await panel.getByRole('button', { name: 'Edit access' }).click();
    await eventually(() => panel.getByLabel(/^Until/).inputValue(), lastDay, 'the end date is shown');
    await panel.getByRole('button', { name: 'Cancel' }).click();
  });

  step('puts a confirmation\'s refusal in view with the focus on it', async () => {
    const inv = await ok('POST', `/agencies/${ids.agency}/invitations`, {
      body: { email: 'gone@acme.test', grants: [{ environment_id: ids.env2, roles: ['agent'] }], send_email: false },
    });
    const { page } = manager;
    await page.goto(`${studio.usher.url}/agencies/${ids.agency}/users`);
    const row = page.getByRole('row', { name: /gone@acme\.test/ });
    await row.getByRole('button', { name: 'Actions for gone@acme.test' }).click();
    await page.getByRole('menuitem', { name: 'Revoke invitation' }).click();
    const dialog = page.getByRole('dialog', { name: 'Revoke invitation' });
    await dialog.waitFor();
    // Someone else revokes it meanwhile: the refusal says so in words, and takes the focus.
    await ok('DELETE', `/invitations/${inv.id}`);
    await dialog.getByRole('button', { name: 'Revoke invitation' }).click();
    const alert = dialog.getByRole('alert');
    await alert.waitFor();
    assert.equal(await alert.textContent(), 'This invitation was already accepted, declined or revoked.');
    await page.waitForFunction(() => document.activeElement?.getAttribute('role') === 'alert');
    assert.ok(await fullyInView(alert), 'the refusal is in view');
    await screen(page, 'dialogs-confirm-refused');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
  });

  step('shows one dismissable notice at a time, gone after 5 seconds, clear of the row actions', async () => {
    const { page } = manager;
    await page.goto(`${studio.usher.url}/agencies/${ids.agency}/users`);
    await page.getByRole('row', { name: /Cleo Colleague/ }).waitFor();
    const invite = async (email) => {
      await page.getByRole('button', { name: 'Invite user' }).click();
      const dialog = page.getByRole('dialog', { name: 'Invite user' });
      await dialog.getByRole('checkbox', { name: /^Analyst/ }).check();
      await dialog.getByLabel('Email', { exact: true }).fill(email);
      await dialog.getByRole('button', { name: 'Create invitation' }).or(dialog.getByRole('button', { name: 'Send invitation' })).click();
      await dialog.waitFor({ state: 'detached' });
    };
    const toasts = page.locator('.toasts .toast');
    await invite('first@acme.test');
    await toasts.filter({ hasText: 'Invitation sent to first@acme.test' }).waitFor();
    await invite('second@acme.test');
    await toasts.filter({ hasText: 'Invitation sent to second@acme.test' }).waitFor();
    assert.equal(await toasts.count(), 1, 'the newer notice replaces the older one');

    // Clear of every row action of the table, and of every other control in view.
    await page.getByRole('row', { name: /second@acme\.test/ }).waitFor();
    assert.ok((await page.getByRole('table').getByRole('button', { name: /^Actions for/ }).count()) > 0, 'the table has row actions');
    assert.deepEqual(await noticeProblems(page), [], 'the notice is in view and covers no control');
    await screen(page, 'dialogs-toast');

    // Dismissed by its button.
    await toasts.first().getByRole('button', { name: 'Dismiss' }).click();
    assert.equal(await toasts.count(), 0, 'dismissed');

    // Left alone, it goes after 5 seconds, not before.
    await invite('third@acme.test');
    const third = toasts.filter({ hasText: 'Invitation sent to third@acme.test' });
    await third.waitFor();
    const shown = Date.now();
    await page.waitForTimeout(3500);
    assert.equal(await third.count(), 1, 'still there after 3.5 s');
    await third.waitFor({ state: 'detached', timeout: 4000 });
    assert.ok(Date.now() - shown < 6500, 'gone by about 5 s');

    // Pointed at, it stays to be read; once the pointer leaves, its 5 seconds start again.
    await invite('fourth@acme.test');
    const fourth = toasts.filter({ hasText: 'Invitation sent to fourth@acme.test' });
    await fourth.hover();
    await page.waitForTimeout(6000);
    assert.equal(await fourth.count(), 1, 'held while pointed at');
    await page.mouse.move(DESKTOP.width - 10, 10);
    await fourth.waitFor({ state: 'detached', timeout: 6500 });
  });
});
