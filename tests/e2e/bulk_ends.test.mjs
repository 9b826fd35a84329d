// Bulk invitations from a sender whose own access ends, in headless Chromium against the real
// binary: a lead whose right to invite ends on one day in production and later in staging opens
// "Invite from a file", reads where their access ends above the file input, uploads a file and
// sees in the validation table each row's own end (rows without one end where the lead's access
// to their environment ends; a row asking past it is a problem of its End date), sends the valid
// rows and finds each invitation carrying its row's end through the API. At 390 px the table
// stacks its rows into cards and never scrolls sideways. Each screen passes axe and is
// photographed at 1280, 1366 and 390 px.
import assert from 'node:assert/strict';
import path from 'node:path';
import { before, describe } from 'node:test';

import { readableUtc } from '../api/lib/dates.mjs';
import { DESKTOP, PHONE, focusReaches, screenshotDir } from './lib/browser.mjs';
import { setUpStudio } from './lib/studio.mjs';

const LEAD = { email: 'rhea@acme.test', password: 'linen-harbour-quartz-5' };
const DAY = 86400e3;
const HEADER = 'email,first_name,last_name,shortcode,environment,roles,expires_at';

// The lead's ends: in 20 days at a time of day that is not midnight, and 30 days later.
const prodEnd = new Date(Math.floor((Date.now() + 20 * DAY) / DAY) * DAY + 12 * 3600e3 + 34 * 60e3 + 789);
const stagingEnd = new Date(prodEnd.getTime() + 30 * DAY);
const ownEnd = new Date(prodEnd.getTime() + 5 * DAY); // past production's end, within staging's
const dayOf = (d) => d.toISOString().slice(0, 10);
const endOfDay = (d) => `${dayOf(d)}T23:59:59.000Z`;
const words = (d) => d.toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });

describe('bulk invitations from a sender whose access ends', () => {
  const studio = setUpStudio({ failurePrefix: 'failed-bulk-ends-', smtp: false });
  const { ok, browser, screen, step } = studio;
  let lead;
  const ids = {};

  before(async () => {
    ids.agency = (await ok('POST', '/agencies', { body: { name: 'Acme' } })).id;
    ids.prod = (await ok('POST', `/agencies/${ids.agency}/environments`, { body: { name: 'Acme production' } })).id;
    ids.staging = (await ok('POST', `/agencies/${ids.agency}/environments`, { body: { name: 'Acme staging' } })).id;
    const grants = [
      { environment_id: ids.prod, roles: ['environment_manager'], expires_at: prodEnd.toISOString() },
      { environment_id: ids.staging, roles: ['environment_manager'], expires_at: stagingEnd.toISOString() },
    ];
    await studio.member(ids.agency, { ...LEAD, first: 'Rhea', last: 'Lead' }, grants);
    lead = await browser();
  });

  // "until 26 Dec" as the console writes an end (in UTC, the year when not this one).
  const until = (page, iso) =>
    page.evaluate((at) => {
      const d = new Date(at);
      const year = d.getUTCFullYear() === new Date().getUTCFullYear() ? {} : { year: 'numeric' };
      return `until ${new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', timeZone: 'UTC', ...year }).format(d)}`;
    }, iso);

  step('shows each row’s end from the lead’s own ends, refuses one asking past it, and sends each with its end', async () => {
    const { page } = lead;
    await studio.signIn(page, LEAD);
    await page.goto(`${studio.usher.url}/agencies/${ids.agency}/users`);
    await page.getByRole('button', { name: 'Invite from a file' }).click();
    const dialog = page.getByRole('dialog', { name: 'Invite people from a file' });
    await dialog.waitFor();

    // Above the file input: where the lead's access ends, and what that means for the rows.
    const input = dialog.getByLabel('CSV file');
    const note = dialog.locator('.note-info');
    await note.waitFor();
    assert.equal(await note.textContent(),
      `Your own access ends on ${words(prodEnd)} in Acme production and on ${words(stagingEnd)} in Acme staging. ` +
      'A row without an end of its own ends when your access to its environment ends, and no row may end later.');
    assert.equal(await input.getAttribute('aria-describedby'), await note.getAttribute('id'));
    assert.match(await dialog.textContent(), /expires_at/);

    const csv = [
      HEADER,
      'ana@acme.test,Ana,Silva,,Acme production,Agent,',
      'ben@acme.test,Ben,Okafor,,Acme staging,Operator,',
      `cy@acme.test,Cy,Tran,,Acme staging,Agent,${dayOf(ownEnd)}`,
      `di@acme.test,Di,Moreau,,Acme production,Agent,${dayOf(ownEnd)}`,
    ].join('\r\n');
    await input.setInputFiles({ name: 'team.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    const summary = dialog.getByRole('status').filter({ hasText: 'team.csv' });
    await summary.waitFor();
    await focusReaches(summary);
    assert.match(await summary.textContent(), /1 problem in 4 rows; 3 rows are valid\. Nothing was sent\./);
    const problems = dialog.getByRole('list', { name: 'Problems' });
    assert.equal(await problems.textContent(),
      `Row 5, End date: your own right to give this in Acme production ends on ${readableUtc(prodEnd.toISOString())}: ` +
      'give an end no later than that, or leave the cell empty to end then');

    // Each row's end in the table: rows 2 and 3 where the lead's access ends for them, row 4 its
    // own day, row 5 none (it is refused).
    const table = dialog.getByRole('table');
    // A row by its number (at 390 px the number's cell is named "Row 4", its label shown).
    const rowOf = (n) => table.getByRole('row').filter({ has: page.getByRole('rowheader', { name: new RegExp(`^(Row )?${n}$`) }) });
    const endCell = (n) => rowOf(n).locator('.bulk-ends');
    assert.equal(await endCell(2).textContent(), `${await until(page, prodEnd.toISOString())} when your access ends`);
    assert.equal(await endCell(3).textContent(), `${await until(page, stagingEnd.toISOString())} when your access ends`);
    assert.equal(await endCell(4).textContent(), await until(page, endOfDay(ownEnd)));
    assert.equal(await endCell(5).textContent(), '');
    const wrap = dialog.getByRole('region', { name: 'Rows of the file' });
    await wrap.evaluate((el) => el.scrollIntoView({ block: 'start' }));
    await screen(page, 'bulk-ends-checked');

    // On a phone the rows stack into cards: each value under its column's name, nothing wider
    // than the box, so it never scrolls sideways.
    await page.setViewportSize(PHONE);
    await wrap.evaluate((el) => el.scrollIntoView({ block: 'start' }));
    const box = await wrap.evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth }));
    assert.ok(box.scroll <= box.client, `the table scrolls sideways at 390 px: ${box.scroll} > ${box.client}`);
    const email = await rowOf(4).locator('.bulk-email').boundingBox();
    const end = await endCell(4).boundingBox();
    assert.ok(end.y > email.y + email.height - 1, 'the row’s values are stacked, one under another');
    assert.equal(await endCell(4).evaluate((el) => getComputedStyle(el, '::before').content), '"Ends"');
    await page.screenshot({ path: path.join(screenshotDir, 'bulk-ends-table-390.png') });
    await page.setViewportSize(DESKTOP);

    await dialog.getByRole('button', { name: 'Send the 3 valid rows' }).click();
    const done = dialog.getByRole('status').filter({ hasText: '3 invited, 0 refused, 1 not sent.' });
    await done.waitFor();
    await focusReaches(done);
    assert.equal(await endCell(4).textContent(), await until(page, endOfDay(ownEnd)), 'the results keep each row’s end');
    assert.equal(await rowOf(5).getByRole('cell').last().textContent(), 'Not sent: this row has problems.');
    await screen(page, 'bulk-ends-sent');

    const list = await ok('GET', `/agencies/${ids.agency}/invitations?status=pending`);
    const endOf = (email) => list.items.find((i) => i.email === email)?.grants[0].expires_at;
    assert.equal(endOf('ana@acme.test'), prodEnd.toISOString(), 'ends with the lead’s access to production, to the millisecond');
    assert.equal(endOf('ben@acme.test'), stagingEnd.toISOString(), 'ends with the lead’s access to staging');
    assert.equal(endOf('cy@acme.test'), endOfDay(ownEnd), 'its own day, to its end in UTC');
    assert.equal(endOf('di@acme.test'), undefined, 'the row asking past the lead’s end was not sent');
    await dialog.getByRole('button', { name: 'Close' }).first().click();
    await dialog.waitFor({ state: 'detached' });
  });
});

