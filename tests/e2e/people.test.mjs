// The platform People page in headless Chromium against the real binary: a platform admin
// finds it in the header (an agency manager does not, and is turned away at /people), searches
// every account by email or name, and disables and enables an account from its row's menu,
// with a confirmation before disabling and an announcement after each; the server agrees (the
// disabled person cannot sign in, then can again). Every screen is checked with axe-core and
// photographed at 1280, 1366 and 390 px.
import assert from 'node:assert/strict';
import { before, describe } from 'node:test';

import { focusReaches } from './lib/browser.mjs';
import { ADMIN, setUpStudio } from './lib/studio.mjs';

const MANAGER = { email: 'mia@acme.test', password: 'copper-meadow-keys-1', first: 'Mia', last: 'Manager' };
const PEOPLE = [
  { email: 'nora@acme.test', password: 'amber-pylon-thistle-2', first: 'Nora', last: 'North' },
  { email: 'oscar@globex.test', password: 'cedar-rocket-lagoon-3', first: 'Oscar', last: 'Ortiz' },
  { email: 'nadia@globex.test', password: 'velvet-harbor-quartz-4', first: 'Nadia', last: 'Stone' },
];

describe('the platform People page', () => {
  const studio = setUpStudio({ failurePrefix: 'failed-people-' });
  const { ok, browser, screen, step, member, signIn } = studio;
  const ids = {};
  let admin; // the platform admin's browser

  const creds = (who) => ({ email: who.email, password: who.password });

  // The emails of the table's rows, in order.
  const emails = (page) => page.locator('tbody th[scope=row]').evaluateAll((els) => els.map((e) => e.firstChild.textContent.trim()));
  const row = (page, email) => page.locator('tbody tr').filter({ has: page.locator('th', { hasText: email }) });

  before(async () => {
    ids.acme = (await ok('POST', '/agencies', { body: { name: 'Acme' } })).id;
    ids.globex = (await ok('POST', '/agencies', { body: { name: 'Globex' } })).id;
    await member(ids.acme, MANAGER, [{ roles: ['organisation_manager'] }]);
    await member(ids.acme, PEOPLE[0], [{ roles: ['analyst'] }]);
    await member(ids.globex, PEOPLE[1], [{ roles: ['operator'] }]);
    await member(ids.globex, PEOPLE[2], [{ roles: ['analyst'] }]);
    admin = await browser();
  });

  step('is in the header for a platform admin only, and lists every account with its agencies', async () => {
    const visitor = await browser();
    await signIn(visitor.page, MANAGER);
    assert.equal(await visitor.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'People' }).count(), 0);
    await visitor.page.goto(`${studio.usher.url}/people`);
    await visitor.page.getByRole('heading', { name: 'People' }).waitFor();
    await visitor.page.getByText('Only platform administrators see every account.').waitFor();
    assert.equal(await visitor.page.locator('table').count(), 0);

    const { page } = admin;
    await signIn(page, ADMIN);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'People' }).click();
    await page.waitForURL(`${studio.usher.url}/people`);
    await page.getByRole('heading', { name: 'People' }).waitFor();
    await page.locator('tbody tr').first().waitFor();
    assert.deepEqual((await emails(page)).sort(), [ADMIN.email, MANAGER.email, ...PEOPLE.map((p) => p.email)].sort());
    const oscar = row(page, PEOPLE[1].email);
    assert.equal(await oscar.locator('td[data-label=Name]').textContent(), 'Oscar Ortiz');
    assert.equal(await oscar.locator('td[data-label=Agencies]').textContent(), 'Globex');
    assert.equal(await oscar.locator('td[data-label=Status]').textContent(), 'Active');
    assert.match(await row(page, ADMIN.email).locator('th').textContent(), /\(you\)$/);
    assert.equal(await row(page, ADMIN.email).getByRole('button', { name: /^Actions for/ }).count(), 0, 'no actions on oneself');
    await screen(page, 'people');
  });

  step('searches by email or name, keeps the search in the address, and says when nobody matches', async () => {
    const { page } = admin;
    const search = page.getByRole('searchbox', { name: 'Search' });
    await search.fill('globex');
    await page.waitForURL(`${studio.usher.url}/people?q=globex`);
    await page.waitForFunction(() => document.querySelectorAll('tbody tr').length === 2);
    assert.deepEqual((await emails(page)).sort(), [PEOPLE[2].email, PEOPLE[1].email]);

    await search.fill('Nadia');
    await page.waitForURL(`${studio.usher.url}/people?q=Nadia`);
    await page.waitForFunction(() => document.querySelectorAll('tbody tr').length === 1);
    assert.deepEqual(await emails(page), [PEOPLE[2].email]);

    await search.fill('nobody-at-all');
    await page.getByText('Nobody matches “nobody-at-all”.').waitFor();
    await screen(page, 'people-no-match');

    // Opened from the address, the search is in the field and the list.
    await page.goto(`${studio.usher.url}/people?q=nora`);
    await page.waitForFunction(() => document.querySelectorAll('tbody tr').length === 1);
    assert.equal(await page.getByRole('searchbox', { name: 'Search' }).inputValue(), 'nora');
    assert.deepEqual(await emails(page), [PEOPLE[0].email]);
  });

  step('disables an account after a confirmation, and the person can no longer sign in', async () => {
    const { page } = admin;
    const nora = row(page, PEOPLE[0].email);
    const menu = nora.getByRole('button', { name: `Actions for ${PEOPLE[0].email}` });
    assert.equal(await menu.getAttribute('aria-expanded'), 'false');
    await menu.click();
    assert.equal(await menu.getAttribute('aria-expanded'), 'true');
    const disable = nora.getByRole('button', { name: 'Disable account' });
    await disable.waitFor();
    await focusReaches(nora.locator('.row-menu button').first()); // the first action takes the focus
    assert.deepEqual(await nora.locator('.row-menu button').allTextContents(), ['Send password reset link', 'Disable account', 'Erase account']);
    assert.ok(await disable.isVisible());
    await screen(page, 'people-menu');

    // Escape closes the menu and gives the focus back to its button.
    await page.keyboard.press('Escape');
    assert.equal(await menu.getAttribute('aria-expanded'), 'false');
    await focusReaches(menu);

    await menu.click();
    await nora.getByRole('button', { name: 'Disable account' }).click();
    const dialog = page.getByRole('dialog', { name: 'Disable Nora North' });
    await dialog.waitFor();
    assert.match(await dialog.textContent(), /can no longer sign in, and every session they have ends at once/);
    await screen(page, 'people-disable');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    assert.equal(await nora.locator('td[data-label=Status]').textContent(), 'Active', 'cancel changes nothing');
    assert.equal((await studio.usher.api('POST', '/api/v1/sessions', { body: creds(PEOPLE[0]) })).status, 201);

    await menu.click();
    await nora.getByRole('button', { name: 'Disable account' }).click();
    await page.getByRole('dialog', { name: 'Disable Nora North' }).getByRole('button', { name: 'Disable account' }).click();
    await page.locator('.toast').getByText(`${PEOPLE[0].email} is disabled and signed out everywhere`).waitFor();
    await nora.locator('td[data-label=Status]').getByText('Disabled').waitFor();
    await screen(page, 'people-disabled');
    const refused = await studio.usher.api('POST', '/api/v1/sessions', { body: creds(PEOPLE[0]) });
    assert.notEqual(refused.status, 201, 'a disabled account cannot sign in');
    assert.ok(refused.status >= 400);
    const listed = (await ok('GET', `/users?q=${encodeURIComponent(PEOPLE[0].email)}`)).items;
    assert.equal(listed[0].status, 'disabled');
  });

  step('enables the account again, and the person can sign in', async () => {
    const { page } = admin;
    const nora = row(page, PEOPLE[0].email);
    await nora.getByRole('button', { name: `Actions for ${PEOPLE[0].email}` }).click();
    const enable = nora.getByRole('button', { name: 'Enable account' });
    await enable.waitFor();
    assert.equal(await nora.getByRole('button', { name: 'Disable account' }).count(), 0, 'a disabled account offers Enable, not Disable');
    await enable.click();
    const dialog = page.getByRole('dialog', { name: 'Enable Nora North' });
    await dialog.getByRole('button', { name: 'Enable account' }).click();
    await page.locator('.toast').getByText(`${PEOPLE[0].email} can sign in again`).waitFor();
    await nora.locator('td[data-label=Status]').getByText('Active').waitFor();
    assert.equal((await studio.usher.api('POST', '/api/v1/sessions', { body: creds(PEOPLE[0]) })).status, 201);
  });
});
