// The grant ceiling in time in the console, in headless Chromium against the real binary: a
// manager whose own access ends opens the invite dialog and finds the end date filled in with
// that end, no later day allowed and one sentence saying why; the invitation sent carries that
// end to the millisecond. When the manager's access is shortened while the dialog is open, the
// refusal is worded for people, has the focus, and the dialog takes up the new end. A later day
// typed in, in the invite dialog or in the edit of a member's access, is refused before anything
// is sent, the same way. Each screen is checked with axe and photographed at 1280 and 390 px.
import assert from 'node:assert/strict';
import { before, describe } from 'node:test';

import { DESKTOP, PHONE, focusReaches } from './lib/browser.mjs';
import { signInWithPassword } from './lib/signin.mjs';
import { setUpStudio } from './lib/studio.mjs';

const LEAD = { email: 'tess@acme.test', password: 'copper-meadow-keys-2' };
const OLGA = { email: 'olga@acme.test', password: 'harbor-violet-tiles-2', first: 'Olga', last: 'Agent' };
const DAY = 86400e3;

// The end of the lead's access: in 20 days, at a time of day that is not midnight, so a date
// field's "end of that day" would outlast it.
const firstEnd = new Date(Math.floor((Date.now() + 20 * DAY) / DAY) * DAY + 12 * 3600e3 + 34 * 60e3 + 789);
const secondEnd = new Date(firstEnd.getTime() - 9 * DAY);
const dayOf = (d) => d.toISOString().slice(0, 10);
const words = (d) => d.toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });

describe('the grant ceiling in time in the console', () => {
  const studio = setUpStudio({ failurePrefix: 'failed-ceiling-', smtp: false });
  const { ok, browser, screen, step, member } = studio;
  let lead;
  const ids = {};

  before(async () => {
    ids.agency = (await ok('POST', '/agencies', { body: { name: 'Acme' } })).id;
    ids.env = (await ok('POST', `/agencies/${ids.agency}/environments`, { body: { name: 'Acme production' } })).id;
    const grants = [{ environment_id: ids.env, roles: ['environment_manager'], expires_at: firstEnd.toISOString() }];
    ids.lead = (await member(ids.agency, { ...LEAD, first: 'Tess', last: 'Lead' }, grants)).id;
    ids.olga = (await member(ids.agency, OLGA, [{ environment_id: ids.env, roles: ['agent'] }])).id;
    lead = await browser();
  });

  async function openInvite(page) {
    await page.goto(`${studio.usher.url}/environments/${ids.env}`);
    await page.getByRole('button', { name: 'Invite user' }).first().click();
    const dialog = page.getByRole('dialog', { name: 'Invite user' });
    await dialog.waitFor();
    await dialog.getByRole('group', { name: 'Roles', exact: true }).getByRole('checkbox').first().waitFor();
    return dialog;
  }

  step('fills the end in, allows no later day and says why; the invitation carries that end', async () => {
    const { page } = lead;
    await page.goto(`${studio.usher.url}/signin`);
    await signInWithPassword(page, LEAD);
    await page.getByRole('heading', { name: 'Control panel' }).waitFor();
    for (const size of [DESKTOP, PHONE]) {
      await page.setViewportSize(size);
      const dialog = await openInvite(page);
      const until = dialog.getByLabel(/^Until/);
      await page.waitForFunction(() => document.querySelector('input[type=date]')?.value);
      assert.equal(await until.inputValue(), dayOf(firstEnd), 'the end is filled in');
      assert.equal(await until.getAttribute('max'), dayOf(firstEnd), 'no later day may be picked');
      assert.equal(await until.getAttribute('required'), '', 'an end is needed');
      const hint = await dialog.locator(`#${(await until.getAttribute('aria-describedby')).split(' ').pop()}`).textContent();
      assert.match(hint, new RegExp(`^Your own access here ends on ${words(firstEnd)}; what you give ends by then\\.`));
      // captureScreen photographs and checks every width itself: once is enough.
      await until.scrollIntoViewIfNeeded();
      if (size === DESKTOP) await screen(page, 'ceiling-invite');
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'detached' });
    }
    await page.setViewportSize(DESKTOP);
    const dialog = await openInvite(page);
    await dialog.getByLabel('Email', { exact: true }).fill('helper@acme.test');
    await dialog.getByRole('checkbox', { name: /^Agent/ }).check();
    await dialog.getByRole('button', { name: 'Send invitation' }).click();
    await dialog.waitFor({ state: 'detached' });
    const list = await ok('GET', `/agencies/${ids.agency}/invitations?status=pending`);
    const sent = list.items.find((i) => i.email === 'helper@acme.test');
    assert.ok(sent, 'the invitation exists');
    assert.equal(sent.grants[0].expires_at, firstEnd.toISOString(), 'it ends when the lead’s access ends, not at midnight after');
  });

  step('words a refusal for an end that no longer fits, focuses it, and takes up the new end', async () => {
    const { page } = lead;
    const dialog = await openInvite(page);
    await dialog.getByLabel('Email', { exact: true }).fill('second@acme.test');
    await dialog.getByRole('checkbox', { name: /^Agent/ }).check();
    // Meanwhile an admin shortens the lead's access.
    await ok('PUT', `/agencies/${ids.agency}/users/${ids.lead}/grants`, {
      body: { grants: [{ environment_id: ids.env, roles: ['environment_manager'], expires_at: secondEnd.toISOString() }] },
    });
    await dialog.getByRole('button', { name: 'Send invitation' }).click();
    const error = dialog.locator('.until-field .field-error');
    await error.waitFor();
    assert.equal(await error.textContent(),
      `Your own access here ends on ${words(secondEnd)}, so what you give must end by then. Choose that day or an earlier one.`);
    // The focus is on the end date, the field at fault, with the refusal in view below it.
    await page.waitForFunction(() => document.activeElement?.getAttribute('type') === 'date');
    assert.ok(await error.evaluate((el) => {
      const r = el.getBoundingClientRect();
      const box = el.closest('dialog').getBoundingClientRect();
      return r.top >= box.top && r.bottom <= box.bottom;
    }), 'the refusal is in view');
    const until = dialog.getByLabel(/^Until/);
    assert.equal(await until.getAttribute('aria-invalid'), 'true');
    assert.ok((await until.getAttribute('aria-describedby')).split(' ').includes(await error.getAttribute('id')),
      'the end date is described by the refusal');
    await page.waitForFunction((d) => document.querySelector('input[type=date]')?.value === d, dayOf(secondEnd));
    assert.equal(await until.getAttribute('max'), dayOf(secondEnd));
    await screen(page, 'ceiling-invite-refused');
    await dialog.getByRole('button', { name: 'Send invitation' }).click();
    await dialog.waitFor({ state: 'detached' });
    const list = await ok('GET', `/agencies/${ids.agency}/invitations?status=pending`);
    assert.equal(list.items.find((i) => i.email === 'second@acme.test').grants[0].expires_at, secondEnd.toISOString());
  });

  // The refusal of a later day typed in: worded, beside the date, with the focus on the date and
  // in view in the dialog or panel, the day typed kept to be put right.
  async function refusedLater(page, box, later) {
    const until = box.getByLabel(/^Until/);
    const error = box.locator('.until-field .field-error');
    await error.waitFor();
    assert.equal(await error.textContent(),
      `Your own access here ends on ${words(secondEnd)}, so what you give must end by then. Choose that day or an earlier one.`);
    await focusReaches(until);
    assert.ok(await error.evaluate((el) => {
      const r = el.getBoundingClientRect();
      const frame = (el.closest('dialog') || document.documentElement).getBoundingClientRect();
      return r.top >= Math.max(frame.top, 0) && r.bottom <= Math.min(frame.bottom, innerHeight);
    }), 'the refusal is in view');
    assert.equal(await until.getAttribute('aria-invalid'), 'true');
    assert.equal(await until.inputValue(), later, 'the day typed stays');
  }

  step('refuses a later day typed in the invite dialog or the edit of access before sending', async () => {
    const { page } = lead;
    const later = dayOf(new Date(secondEnd.getTime() + 2 * DAY));
    const dialog = await openInvite(page);
    await dialog.getByLabel('Email', { exact: true }).fill('late@acme.test');
    await dialog.getByRole('checkbox', { name: /^Agent/ }).check();
    await page.waitForFunction((d) => document.querySelector('input[type=date]')?.value === d, dayOf(secondEnd));
    await dialog.getByLabel(/^Until/).fill(later);
    await dialog.getByRole('button', { name: 'Send invitation' }).click();
    await refusedLater(page, dialog, later);
    await screen(page, 'ceiling-invite-later-day');
    const pending = async () => (await ok('GET', `/agencies/${ids.agency}/invitations?status=pending`)).items;
    assert.ok(!(await pending()).some((i) => i.email === 'late@acme.test'), 'nothing was sent');
    await dialog.getByLabel(/^Until/).fill(dayOf(secondEnd));
    await dialog.getByRole('button', { name: 'Send invitation' }).click();
    await dialog.waitFor({ state: 'detached' });
    const sent = (await pending()).find((i) => i.email === 'late@acme.test');
    assert.equal(sent.grants[0].expires_at, secondEnd.toISOString());

    const grantsBefore = (await ok('GET', `/agencies/${ids.agency}/users/${ids.olga}`)).grants;
    await page.goto(`${studio.usher.url}/agencies/${ids.agency}/users/${ids.olga}`);
    const panel = page.getByRole('complementary', { name: 'Olga Agent' });
    await panel.getByRole('button', { name: 'Edit access' }).click();
    await panel.getByRole('group', { name: 'Roles', exact: true }).getByRole('checkbox').first().waitFor();
    await page.waitForFunction((d) => document.querySelector('input[type=date]')?.value === d, dayOf(secondEnd));
    await panel.getByLabel(/^Until/).fill(later);
    await panel.getByRole('button', { name: 'Save access' }).click();
    await refusedLater(page, panel, later);
    assert.equal(await panel.getByRole('region', { name: /What saving changes/ }).count(), 0, 'no preview was asked for');
    await screen(page, 'ceiling-edit-later-day');
    await panel.getByRole('button', { name: 'Cancel' }).click();
    assert.deepEqual((await ok('GET', `/agencies/${ids.agency}/users/${ids.olga}`)).grants, grantsBefore, 'nothing changed');
  });
});
