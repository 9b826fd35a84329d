// A bot's manager invitation under the grant ceiling in time, in headless Chromium against the
// real binary: a lead whose own access to the environment ends on a day opens the bot's Options
// tab and finds the "Until" field filled in with that day, no later day allowed and one
// sentence saying why. A later day typed in is refused before anything is sent, with the focus
// on the date and the reason in view beside it, at 1280 and at 390 px; the invitations sent
// carry the end (to the millisecond on the ceiling's own day). When the lead's access is
// shortened while the tab is open, the server's refusal is worded the same way, at the same
// field, and the field takes up the new end. Each screen is checked with axe and photographed.
import assert from 'node:assert/strict';
import { before, describe } from 'node:test';

import { DESKTOP, PHONE, focusIs, focusReaches } from './lib/browser.mjs';
import { setUpStudio } from './lib/studio.mjs';

const LEAD = { email: 'lena@acme.test', password: 'copper-meadow-keys-3' };
const DAY = 86400e3;

// The end of the lead's access: in 20 days, at a time of day that is not midnight, so the end
// of that day would outlast it.
const firstEnd = new Date(Math.floor((Date.now() + 20 * DAY) / DAY) * DAY + 15 * 3600e3 + 7 * 60e3 + 321);
const secondEnd = new Date(firstEnd.getTime() - 8 * DAY);
const dayOf = (d) => d.toISOString().slice(0, 10);
const words = (d) => d.toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
const refusal = (end) =>
  `Your own access here ends on ${words(end)}, so what you give must end by then. Choose that day or an earlier one.`;

describe("a bot manager's invitation under the grant ceiling in time", () => {
  const studio = setUpStudio({ failurePrefix: 'failed-bot-until-', smtp: false });
  const { ok, browser, screen, step, member, signIn } = studio;
  let lead;
  const ids = {};

  before(async () => {
    ids.agency = (await ok('POST', '/agencies', { body: { name: 'Acme' } })).id;
    ids.env = (await ok('POST', `/agencies/${ids.agency}/environments`, { body: { name: 'Acme production' } })).id;
    ids.bot = (await ok('POST', `/environments/${ids.env}/bots`, { body: { name: 'Website bot' } })).id;
    const grants = [{ environment_id: ids.env, roles: ['environment_manager'], expires_at: firstEnd.toISOString() }];
    ids.lead = (await member(ids.agency, { ...LEAD, first: 'Lena', last: 'Lead' }, grants)).id;
    lead = await browser();
    await signIn(lead.page, LEAD);
  });

  // The Options tab with its form ready: the "Until" field appears once the server said when
  // the lead's right to delegate the bot ends.
  async function openOptions(page) {
    await page.goto(`${studio.usher.url}/bots/${ids.bot}/options`);
    await page.getByRole('heading', { name: 'Delegate access to managers' }).waitFor();
    const until = page.getByLabel(/^Until/);
    await until.waitFor();
    return until;
  }

  // The pending invitations that name the bot, as the API lists them.
  const invitations = async () =>
    (await ok('GET', `/agencies/${ids.agency}/invitations?status=pending`)).items.filter((i) =>
      i.grants.some((g) => g.bot_id === ids.bot),
    );

  // Whether the element is inside the window and not covered by anything (a sticky header).
  const inView = (locator) =>
    locator.evaluate((el) => {
      const r = el.getBoundingClientRect();
      if (r.top < 0 || r.left < 0 || r.bottom > innerHeight || r.right > innerWidth) return false;
      const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
      return !!hit && el.contains(hit);
    });

  step('fills the end in, allows no later day and says why', async () => {
    const { page } = lead;
    for (const size of [DESKTOP, PHONE]) {
      await page.setViewportSize(size);
      const until = await openOptions(page);
      await page.waitForFunction(() => document.querySelector('input[type=date]')?.value);
      assert.equal(await until.inputValue(), dayOf(firstEnd), 'the end is filled in');
      assert.equal(await until.getAttribute('max'), dayOf(firstEnd), 'no later day may be picked');
      assert.equal(await until.getAttribute('required'), '', 'an end is needed');
      const hintId = (await until.getAttribute('aria-describedby')).split(' ').pop();
      assert.match(
        await page.locator(`#${hintId}`).textContent(),
        new RegExp(`^Your own access here ends on ${words(firstEnd)}; what you give ends by then\\.`),
      );
    }
    await page.setViewportSize(DESKTOP);
    // captureScreen photographs and checks every width itself: once is enough.
    await screen(page, 'bot-until');
  });

  step('refuses a later day before sending, with the focus on it and the reason in view', async () => {
    const { page } = lead;
    const later = dayOf(new Date(firstEnd.getTime() + 3 * DAY));
    for (const size of [DESKTOP, PHONE]) {
      await page.setViewportSize(size);
      const until = await openOptions(page);
      await page.waitForFunction(() => document.querySelector('input[type=date]')?.value);
      await page.getByLabel('Email of the new manager').fill('late@acme.test');
      await until.fill(later);
      await page.getByRole('button', { name: 'Send invitation' }).click();
      const error = page.locator('.until-field .field-error');
      await error.waitFor();
      assert.equal(await error.textContent(), refusal(firstEnd));
      await focusReaches(until);
      assert.ok(await inView(error), `the reason is in view at ${size.width} px`);
      assert.equal(await until.getAttribute('aria-invalid'), 'true');
      assert.ok(
        (await until.getAttribute('aria-describedby')).split(' ').includes(await error.getAttribute('id')),
        'the date is described by the reason',
      );
      assert.equal(await until.inputValue(), later, 'the day typed stays, to be put right');
      if (size === PHONE) await screen(page, 'bot-until-refused');
    }
    assert.deepEqual(await invitations(), [], 'nothing was sent');
  });

  step('sends the end chosen: the ceiling itself on its own day, the end of an earlier day', async () => {
    const { page } = lead;
    await page.setViewportSize(DESKTOP);
    let until = await openOptions(page);
    await page.waitForFunction(() => document.querySelector('input[type=date]')?.value);
    await page.getByLabel('Email of the new manager').fill('first@acme.test');
    await page.getByRole('button', { name: 'Send invitation' }).click();
    await page.getByText('Invitation sent to first@acme.test').waitFor();
    await page.getByRole('heading', { name: 'Invited, not yet accepted' }).waitFor();
    await screen(page, 'bot-until-sent');

    const earlier = dayOf(new Date(firstEnd.getTime() - 5 * DAY));
    until = await openOptions(page);
    await until.fill(earlier);
    await page.getByLabel('Email of the new manager').fill('second@acme.test');
    await page.getByRole('button', { name: 'Send invitation' }).click();
    await page.getByText('Invitation sent to second@acme.test').waitFor();

    const sent = await invitations();
    const end = (email) => sent.find((i) => i.email === email)?.grants[0].expires_at;
    assert.equal(end('first@acme.test'), firstEnd.toISOString(), 'it ends when the lead’s access ends, not at midnight after');
    assert.equal(new Date(end('second@acme.test')).toISOString(), `${earlier}T23:59:59.000Z`, 'it ends at the end of the day chosen');
    assert.deepEqual(sent.find((i) => i.email === 'first@acme.test').grants[0].roles, ['bot_manager']);
  });

  step("words the server's refusal at the field when the lead's access was shortened meanwhile", async () => {
    const { page } = lead;
    const until = await openOptions(page);
    await page.waitForFunction((d) => document.querySelector('input[type=date]')?.value === d, dayOf(firstEnd));
    await page.getByLabel('Email of the new manager').fill('third@acme.test');
    // Meanwhile an admin shortens the lead's access.
    await ok('PUT', `/agencies/${ids.agency}/users/${ids.lead}/grants`, {
      body: { grants: [{ environment_id: ids.env, roles: ['environment_manager'], expires_at: secondEnd.toISOString() }] },
    });
    await page.getByRole('button', { name: 'Send invitation' }).click();
    const error = page.locator('.until-field .field-error');
    await error.waitFor();
    assert.equal(await error.textContent(), refusal(secondEnd));
    await focusIs(page, { name: 'expires_at', type: 'date' }, 'the focus is on the end date');
    assert.ok(await inView(error), 'the refusal is in view');
    assert.equal(await page.locator('.inline-form .note-error').count(), 0, 'said once, at the field');
    // The field takes up the new end.
    await page.waitForFunction((d) => document.querySelector('input[type=date]')?.value === d, dayOf(secondEnd));
    assert.equal(await until.getAttribute('max'), dayOf(secondEnd));
    await screen(page, 'bot-until-refused-by-server');
    await page.getByRole('button', { name: 'Send invitation' }).click();
    await page.getByText('Invitation sent to third@acme.test').waitFor();
    const sent = (await invitations()).find((i) => i.email === 'third@acme.test');
    assert.equal(sent.grants[0].expires_at, secondEnd.toISOString());
  });
});
