// The console's audit log in headless Chromium against the real binary: each entry reads as a
// sentence with the names recorded at the time (a former member keeps theirs), the pages opened
// while viewing as someone fold under that view, the raw details open from a disclosure, and
// the person, kind and date filters narrow the list. Checked with axe-core and photographed at
// 1280, 1366 and 390 px; rows fit at 1280, 1366 and 390 px without sideways scrolling.
import assert from 'node:assert/strict';
import { before, describe } from 'node:test';

import { setUpStudio } from './lib/studio.mjs';

const person = (email, password, first, last) => ({ email, password, first, last });
const MIA = person('mia@acme.test', 'copper-meadow-keys-1', 'Mia', 'Jansen');
const OLAF = person('olaf@acme.test', 'harbor-violet-tiles-1', 'Olaf', 'Berg');
const PIET = person('piet@acme.test', 'granite-willow-ferry-7', 'Piet', 'Smit');
const ENV = 'Acme – production';

describe('the audit log of the web console', () => {
  const studio = setUpStudio({ failurePrefix: 'failed-audit-', smtp: false });
  const { ok, browser, screen, step, signIn } = studio;
  let miaToken;
  const ids = {};
  let mia; // Mia's browser

  // Invites who (by token) with grants and accepts as them; resolves their id.
  const join = async (token, who, grants) => (await studio.member(ids.agency, who, grants, { token })).id;

  const entries = (page) =>
    page.getByRole('list', { name: 'Audit entries' }).locator(':scope > li');
  const sentences = async (page) =>
    (await page.locator('.audit-sentence').allTextContents())
      .map((s) => s.replace(/\s+/g, ' ').trim());

  async function openLog(page) {
    await page.goto(`${studio.usher.url}/agencies/${ids.agency}/audit`);
    await page.getByRole('heading', { name: 'Audit log', level: 1 }).waitFor();
    await entries(page).first().waitFor();
    await page.waitForLoadState('networkidle');
  }

  // The next answer of GET …/audit.
  const listed = (page) =>
    page.waitForResponse((r) => new URL(r.url()).pathname.endsWith('/audit'));

  // Sets the filters and applies them; resolves once the list shows the answer (sent is false
  // when the console is to refuse the filter without asking the server).
  async function filter(page, { person = '', kind = '', from = '', to = '' }, sent = true) {
    await page.getByLabel('Person').fill(person);
    await page.getByLabel('Kind of action').selectOption(kind ? { label: kind } : { value: '' });
    await page.getByLabel('From').fill(from);
    await page.getByLabel('To', { exact: true }).fill(to);
    const answered = sent ? listed(page) : null;
    await page.getByRole('button', { name: 'Filter' }).click();
    if (answered) assert.equal((await answered).status(), 200);
    await page.waitForTimeout(150);
  }

  before(async () => {
    ids.agency = (await ok('POST', '/agencies', { body: { name: 'Acme' } })).id;
    const env = await ok('POST', `/agencies/${ids.agency}/environments`, { body: { name: ENV } });
    ids.env = env.id;
    ids.mia = await join(studio.adminToken, MIA, [{ roles: ['owner'] }]);
    const miaCredentials = { email: MIA.email, password: MIA.password };
    miaToken = (await ok('POST', '/sessions', { token: null, body: miaCredentials })).token;
    // Mia invites Olaf and Piet, changes what Olaf can do, views as Piet, and removes Olaf.
    ids.olaf = await join(miaToken, OLAF, [{ environment_id: ids.env, roles: ['operator'] }]);
    ids.piet = await join(miaToken, PIET, [{ environment_id: ids.env, roles: ['operator'] }]);
    await ok('PUT', `/agencies/${ids.agency}/users/${ids.olaf}/grants`, {
      token: miaToken, body: { grants: [{ environment_id: ids.env, roles: ['agent'] }] },
    });
    const view = await ok('POST', '/impersonation', {
      token: miaToken, body: { user_id: ids.piet, agency_id: ids.agency },
    });
    for (const p of [`/agencies/${ids.agency}`, '/me', `/agencies/${ids.agency}/environments`]) {
      await ok('GET', p, { token: view.token });
    }
    miaToken = (await ok('DELETE', '/impersonation', { token: view.token })).token;
    await ok('DELETE', `/agencies/${ids.agency}/users/${ids.olaf}`, { token: miaToken });
    mia = await browser();
    await signIn(mia.page, MIA);
  });

  step('shows entries as sentences, a former member by name, view-as pages folded', async () => {
    const { page } = mia;
    await openLog(page);
    const said = await sentences(page);
    for (const s of [
      `Mia Jansen invited olaf@acme.test as Operator to ${ENV}`,
      `Mia Jansen changed what Olaf Berg can do: now Agent to ${ENV}`,
      'Mia Jansen removed Olaf Berg from the agency',
      'Mia Jansen viewed the studio as Piet Smit — 4 pages',
    ]) {
      assert.ok(said.includes(s), `"${s}" in:\n${said.join('\n')}`);
    }
    const joined = 'Mia Jansen accepted the invitation and joined as Owner to the whole agency';
    assert.ok(said.includes(joined), said.join('\n'));
    assert.ok(!said.some((s) => /usr_|[a-z]+\.[a-z_]+$/.test(s)), 'no ids or action codes');
    assert.ok(!said.some((s) => /opened .* as /.test(s)), 'no row per page view');
    // Each row shows when, in words and exactly.
    const when = entries(page).first().locator('time');
    assert.match(await when.textContent(), /(just now|minute|second).*·/);
    assert.ok(Date.parse(await when.getAttribute('datetime')) > 0);
    // The pages opened while viewing as Piet open from their row.
    const viewRow = entries(page).filter({ hasText: 'viewed the studio as Piet Smit' });
    await viewRow.getByText('4 pages opened').click();
    await viewRow.getByText('GET /api/v1/me').waitFor();
    await screen(page, 'audit-log');
  });

  step('opens the raw details of an entry with one click, and keeps rows compact', async () => {
    const { page } = mia;
    await openLog(page);
    const row = entries(page).filter({ hasText: 'removed Olaf Berg from the agency' });
    const summary = row.getByText('Raw details', { exact: true });
    const raw = row.locator('pre');
    assert.equal(await raw.isVisible(), false);
    await summary.focus();
    await page.keyboard.press('Enter');
    await raw.waitFor();
    const text = await raw.textContent();
    assert.match(text, /"action": "member.removed"/);
    assert.match(text, new RegExp(`"subject_user_id": "${ids.olaf}"`));
    await screen(page, 'audit-raw-details');
    await summary.click();
    // Every row stays compact and nothing scrolls sideways, at each width.
    const sizes = [[1280, 800], [1366, 768], [390, 844]]
      .map(([width, height]) => ({ width, height }));
    for (const size of sizes) {
      await page.setViewportSize(size);
      await page.waitForTimeout(50);
      const heights = await entries(page)
        .evaluateAll((els) => els.map((e) => e.getBoundingClientRect().height));
      const limit = size.width < 600 ? 160 : 90;
      assert.ok(heights.every((h) => h < limit), `${size.width}px: row heights ${heights}`);
      const wide = await page
        .evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(wide <= 0, `${size.width}px: the page scrolls ${wide}px sideways`);
      await row.getByText('Raw details', { exact: true }).scrollIntoViewIfNeeded();
      assert.ok(await row.getByText('Raw details', { exact: true }).isVisible());
    }
    await page.setViewportSize({ width: 1280, height: 860 });
  });

  step('filters by person, kind of action and dates', async () => {
    const { page } = mia;
    await openLog(page);
    // A former member by name: every entry left names him.
    await filter(page, { person: 'olaf berg' });
    let said = await sentences(page);
    assert.ok(said.length >= 3, said.join('\n'));
    const naming = (s) => s.includes('Olaf Berg') || s.includes('olaf@acme.test');
    assert.ok(said.every(naming), said.join('\n'));
    await screen(page, 'audit-filtered');
    // By address and kind: only his removal.
    await filter(page, { person: 'olaf@acme', kind: 'Removed someone' });
    said = await sentences(page);
    assert.deepEqual(said, ['Mia Jansen removed Olaf Berg from the agency']);
    // Dates: nothing from tomorrow on; everything up to today.
    const day = (d) => new Date(Date.now() + d * 86400e3).toISOString().slice(0, 10);
    await filter(page, { from: day(1) });
    await page.getByText('Nothing recorded for this filter.').waitFor();
    await filter(page, { from: day(-1), to: day(0), kind: 'Invited someone' });
    said = await sentences(page);
    assert.deepEqual(said.map((s) => s.replace(/ as .*/, '')).sort(),
      ['Mia Jansen invited olaf@acme.test', 'Mia Jansen invited piet@acme.test',
        'admin@studio.test invited mia@acme.test']);
    // An end before the start is refused at the field, with nothing sent.
    await filter(page, { from: day(0), to: day(-2) }, false);
    await page.getByText('The end date comes before the start date').waitFor();
    const answered = listed(page);
    await page.getByRole('button', { name: 'Clear' }).click();
    await answered;
    await page.waitForTimeout(150);
    assert.ok((await sentences(page)).length > 8);
  });

  step('pages through more entries than one page holds, forward and back', async () => {
    const { page } = mia;
    // Sixty renames: with the entries before them, more than a page of 50 twice over.
    let name = ENV;
    for (let i = 1; i <= 60; i++) {
      const next = `Round ${i}`;
      await ok('PATCH', `/environments/${ids.env}`, { token: miaToken, body: { name: next } });
      name = next;
    }
    assert.equal(name, 'Round 60');
    await openLog(page);
    const renamed = (from, to) => `Mia Jansen renamed the environment ${from} to ${to}`;
    const first = await sentences(page);
    assert.equal(await entries(page).count(), 50, 'one page holds 50 entries');
    assert.equal(first[0], renamed('Round 59', 'Round 60'));
    assert.equal(first[49], renamed('Round 10', 'Round 11'));
    const pages = page.getByRole('navigation', { name: 'Pages' });
    assert.equal(await pages.getByRole('button', { name: 'Previous page' }).isDisabled(), true);
    let answered = listed(page);
    await pages.getByRole('button', { name: 'Next page' }).click();
    assert.equal((await answered).status(), 200);
    await page.waitForTimeout(150);
    const second = await sentences(page);
    assert.equal(second[0], renamed('Round 9', 'Round 10'));
    assert.ok(second.includes(renamed(ENV, 'Round 1')), second.join('\n'));
    assert.ok(!second.some((s) => first.includes(s)), 'the second page repeats nothing');
    await screen(page, 'audit-second-page');
    answered = listed(page);
    await pages.getByRole('button', { name: 'Previous page' }).click();
    assert.equal((await answered).status(), 200);
    await page.waitForTimeout(150);
    assert.deepEqual(await sentences(page), first, 'Previous page shows the first page again');
    assert.equal(await pages.getByRole('button', { name: 'Previous page' }).isDisabled(), true);
  });
});
