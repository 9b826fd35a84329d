// The users overview, the control panel and the header in headless Chromium against the real
// binary: every row's actions visible and reached by Tab with the person's name in view at
// 1280×800, 1366×768 and 390×844; environments and bots named wherever a grant is shown; a new
// invitation reaching the control panel and the header without a reload; expired and revoked
// invitations listed on request, an expired one sent again; and viewing as someone showing
// their buttons disabled. Every screen is checked with axe-core and photographed at each width.
import assert from 'node:assert/strict';
import path from 'node:path';
import { before, describe } from 'node:test';

import { focusIs, screenshotDir } from './lib/browser.mjs';
import { linkIn } from './lib/smtp.mjs';
import { ADMIN, setUpStudio } from './lib/studio.mjs';

const person = (email, password, first, last) => ({ email, password, first, last });
const MANAGER = person('mia@acme.test', 'copper-meadow-keys-1', 'Mia', 'Jansen');
const OLAF = person('olaf@acme.test', 'granite-willow-ferry-7', 'Olaf', 'Berg');
const BEA = person('bea@freelance.test', 'saffron-pebble-dune-4', 'Bea', 'Bakker');
const NORA = person('nora@acme.test', 'amber-pylon-thistle-2', 'Nora', 'Noord');
const WIDTHS = [
  { width: 1280, height: 800 },
  { width: 1366, height: 768 },
  { width: 390, height: 844 },
];

describe('the users overview, the control panel and the header', () => {
  const studio = setUpStudio({
    failurePrefix: 'failed-users-',
    // The overview is checked with axe at 1366 px too, and left at 1280×800.
    screen: { axeEverySize: true, restore: WIDTHS[0] },
  });
  const { ok, browser, screen, step, member, signIn } = studio;
  const ids = {};

  before(async () => {
    ids.agency = (await ok('POST', '/agencies', { body: { name: 'Acme' } })).id;
    const environment = async (agency, name) =>
      (await ok('POST', `/agencies/${agency}/environments`, { body: { name } })).id;
    const bot = async (env, name) =>
      (await ok('POST', `/environments/${env}/bots`, { body: { name } })).id;
    ids.prod = await environment(ids.agency, 'Acme – production');
    ids.test = await environment(ids.agency, 'Acme – test');
    ids.bot = await bot(ids.prod, 'Support bot');
    const managerRoles = ['organisation_manager', 'developer', 'operator'];
    await member(ids.agency, MANAGER, [{ roles: managerRoles }]);
    await member(ids.agency, OLAF, [{ environment_id: ids.prod, roles: ['operator'] }]);
    await member(ids.agency, BEA, [{ bot_id: ids.bot, roles: ['bot_manager'] }]);
    await member(ids.agency, NORA, [{ roles: ['agent'] }]);
    // A long name and address, the widest a row gets.
    await member(
      ids.agency,
      {
        email: 'maximiliane.vandenberg-oosterhuis@customer-support.example.test',
        password: 'velvet-harbor-quartz-4',
        first: 'Maximiliane Johanna',
        last: 'van den Berg-Oosterhuis',
      },
      [
        { environment_id: ids.prod, roles: ['operator', 'agent', 'analyst'] },
        { environment_id: ids.test, roles: ['developer', 'content_manager'] },
      ],
    );
    await ok('POST', `/agencies/${ids.agency}/invitations`, {
      body: {
        email: 'pia@acme.test',
        first_name: 'Pia',
        last_name: 'Pending',
        grants: [{ environment_id: ids.test, roles: ['agent'] }],
      },
    });
    ids.expired = (
      await ok('POST', `/agencies/${ids.agency}/invitations`, {
        body: {
          email: 'eve@acme.test',
          first_name: 'Eve',
          last_name: 'Expired',
          grants: [{ environment_id: ids.prod, roles: ['agent'] }],
          expires_in_seconds: 1,
          send_email: false,
        },
      })
    ).id;
    ids.revoked = (
      await ok('POST', `/agencies/${ids.agency}/invitations`, {
        body: {
          email: 'rita@acme.test',
          first_name: 'Rita',
          last_name: 'Revoked',
          grants: [{ roles: ['agent'] }],
          send_email: false,
        },
      })
    ).id;
    await ok('DELETE', `/invitations/${ids.revoked}`);
    // A second agency, to invite an existing member of Acme into.
    ids.globex = (await ok('POST', '/agencies', { body: { name: 'Globex' } })).id;
    ids.globexWeb = await environment(ids.globex, 'Globex web');
    ids.globexBot = await bot(ids.globexWeb, 'Globex helper');
    // Past its second of validity by the time the tests look.
    await new Promise((r) => setTimeout(r, 1200));
  });

  // 'ok' when the element lies wholly inside the viewport and inside every box that clips it
  // (up to a fixed-position ancestor, which nothing clips), and is what a click at its centre
  // would reach; otherwise what is wrong.
  async function inView(locator) {
    return locator.evaluate((el) => {
      const r = el.getBoundingClientRect();
      const inside = (o) =>
        r.left >= o.left - 0.5 &&
        r.right <= o.right + 0.5 &&
        r.top >= o.top - 0.5 &&
        r.bottom <= o.bottom + 0.5;
      if (r.width === 0 || r.height === 0) return 'has no size';
      const viewport = { left: 0, top: 0, right: window.innerWidth, bottom: window.innerHeight };
      if (!inside(viewport)) return 'outside the viewport';
      for (let p = el; p.parentElement && getComputedStyle(p).position !== 'fixed'; ) {
        p = p.parentElement;
        const style = getComputedStyle(p);
        const clips = /(auto|scroll|hidden|clip)/.test(style.overflowX + style.overflowY);
        if (clips && !inside(p.getBoundingClientRect()))
          return `clipped by ${p.className || p.tagName}`;
      }
      // A name may wrap: its first line is where one looks.
      const first = el.getClientRects()[0] || r;
      const x = first.left + first.width / 2;
      const hit = document.elementFromPoint(x, first.top + first.height / 2);
      if (!hit || !el.contains(hit)) return `covered by ${hit?.className || hit?.tagName}`;
      return 'ok';
    });
  }

  step('shows each row\'s actions, reached by Tab with the name in view, at 3 widths', async () => {
    const { page } = await browser();
    ids.managerBrowser = studio.browsers.length - 1;
    await signIn(page, MANAGER);
    await page.goto(`${studio.usher.url}/agencies/${ids.agency}/users`);
    await page.getByRole('row', { name: /Olaf Berg/ }).waitFor();
    const rows = page.locator('tbody tr');
    const names = await page.locator('tbody th[scope=row] a').allTextContents();
    assert.equal(names.length, 6, `the rows: ${names.join(', ')}`);
    // Nobody removes or views as themselves: the manager's own row has no actions.
    const own = rows.filter({ hasText: MANAGER.email });
    assert.equal(await own.getByRole('button', { name: /^Actions for/ }).count(), 0);
    assert.equal((await own.locator('td.col-actions').textContent()).trim(), 'You');
    for (const size of WIDTHS) {
      await page.setViewportSize(size);
      for (const [i, name] of names.entries()) {
        if (name === 'Mia Jansen') continue;
        const row = rows.nth(i);
        const link = row.getByRole('link', { name, exact: true });
        const button = row.getByRole('button', { name: `Actions for ${name}` });
        await link.focus();
        await page.keyboard.press('Tab');
        const at = `${size.width}px`;
        await focusIs(page, { 'aria-label': `Actions for ${name}` }, `${at}: Tab from ${name} reaches its actions`);
        assert.equal(await inView(button), 'ok', `${at}: the actions of ${name}`);
        assert.equal(await inView(link), 'ok', `${at}: the name ${name} by its focused actions`);
      }
      // The menu opens from the keyboard, its items in view, and Escape gives the focus back.
      const olaf = page.getByRole('button', { name: 'Actions for Olaf Berg' });
      await olaf.focus();
      await page.keyboard.press('Enter');
      const menu = page.getByRole('menu', { name: 'Actions for Olaf Berg' });
      await menu.waitFor();
      const items = await menu.getByRole('menuitem').allTextContents();
      assert.deepEqual(items, ['See the studio as Olaf Berg', 'Remove from agency']);
      await focusIs(page, { text: 'See the studio as Olaf Berg' }, 'the menu opens on its first item');
      for (const item of await menu.getByRole('menuitem').all()) {
        assert.equal(await inView(item), 'ok', `${size.width}px: menu item`);
      }
      await page.keyboard.press('ArrowDown');
      await focusIs(page, { text: 'Remove from agency' }, 'ArrowDown moves to the next item');
      await page.screenshot({ path: path.join(screenshotDir, `users-row-menu-${size.width}.png`) });
      await page.keyboard.press('Escape');
      await menu.waitFor({ state: 'detached' });
      await focusIs(page, { 'aria-label': 'Actions for Olaf Berg' }, 'Escape gives the focus back');
    }
    await page.setViewportSize(WIDTHS[0]);
    await screen(page, 'users-overview');

    // With a person's panel open the actions stay in view too.
    await page.getByRole('link', { name: 'Olaf Berg', exact: true }).click();
    await page.getByRole('complementary', { name: 'Olaf Berg' }).waitFor();
    for (const size of WIDTHS.slice(0, 2)) {
      await page.setViewportSize(size);
      for (const name of names.filter((n) => n !== 'Mia Jansen')) {
        const button = page.getByRole('button', { name: `Actions for ${name}` });
        await button.scrollIntoViewIfNeeded();
        assert.equal(await inView(button), 'ok', `${size.width}px, panel open: actions of ${name}`);
      }
    }
    await page.setViewportSize(WIDTHS[0]);
  });

  step('names the environment and bot of each grant in table, panel, control panel', async () => {
    const { page } = studio.browsers[ids.managerBrowser];
    await page.goto(`${studio.usher.url}/agencies/${ids.agency}/users`);
    const olaf = page.getByRole('row', { name: /Olaf Berg/ });
    await olaf.getByText('Acme – production:').waitFor();
    assert.match(await olaf.textContent(), /Acme – production: Operator/);
    const bea = page.getByRole('row', { name: /Bea Bakker/ });
    await bea.getByText('Support bot (bot in Acme – production):').waitFor();
    const beaText = await bea.textContent();
    assert.match(beaText, /Support bot \(bot in Acme – production\): Bot manager/);
    const pia = page.getByRole('row', { name: /Pia Pending/ });
    assert.match(await pia.textContent(), /Acme – test: Agent/);
    const table = await page.locator('main').textContent();
    assert.doesNotMatch(table, /One environment|One bot|cannot see/);

    await bea.getByRole('link', { name: 'Bea Bakker' }).click();
    const panel = page.getByRole('complementary', { name: 'Bea Bakker' });
    await panel.getByText('Support bot (bot in Acme – production)').waitFor();
    await screen(page, 'users-panel-bot');

    // Bea's own control panel names her bot and its environment.
    const b = await browser();
    await signIn(b.page, BEA);
    const acme = b.page.getByRole('link', { name: 'Acme', exact: true });
    const card = b.page.getByRole('listitem').filter({ has: acme });
    await card.getByText('Support bot (bot in Acme – production)').waitFor();
    assert.match(await card.textContent(), /Bot manager/);
    assert.doesNotMatch(await b.page.locator('main').textContent(), /One environment|One bot/);
    await screen(b.page, 'control-panel-bot');
  });

  step('shows an end-dated grant with the day it ends in the users overview', async () => {
    const until = new Date(Date.now() + 40 * 86400e3);
    until.setUTCHours(12, 0, 0, 0);
    const nora = (await ok('GET', `/agencies/${ids.agency}/users?q=nora`)).items[0];
    await ok('PUT', `/agencies/${ids.agency}/users/${nora.id}/grants`, {
      body: { grants: [{ roles: ['agent'], expires_at: until.toISOString().replace('.000', '') }] },
    });
    // "until 14 Jan", with the year when it is not this one (the browser runs in en-GB, UTC).
    const sameYear = until.getUTCFullYear() === new Date().getUTCFullYear();
    const words = new Intl.DateTimeFormat('en-GB', {
      day: 'numeric',
      month: 'short',
      ...(sameYear ? {} : { year: 'numeric' }),
      timeZone: 'UTC',
    }).format(until);
    const { page } = studio.browsers[ids.managerBrowser];
    await page.goto(`${studio.usher.url}/agencies/${ids.agency}/users`);
    const row = page.getByRole('row', { name: /Nora Noord/ });
    await row.getByText(`until ${words}`).waitFor();
    assert.match(await row.textContent(), new RegExp(`Whole agency: Agent until ${words}`));
    // Grants without an end say nothing of one.
    assert.doesNotMatch(await page.getByRole('row', { name: /Olaf Berg/ }).textContent(), /until/);
  });

  step('shows a new invitation in the control panel and the header without a reload', async () => {
    const { page } = await browser();
    await signIn(page, OLAF);
    const header = page.getByRole('banner');
    assert.equal(await header.getByRole('link', { name: /Pending invitation/ }).count(), 0);
    await page.evaluate(() => {
      window.sameDocument = true;
    });
    await ok('POST', `/agencies/${ids.globex}/invitations`, {
      body: {
        email: OLAF.email,
        grants: [
          { environment_id: ids.globexWeb, roles: ['operator'] },
          { bot_id: ids.globexBot, roles: ['bot_manager'] },
        ],
        send_email: false,
      },
    });
    // What the browser does when the person comes back to the tab.
    await page.evaluate(() => window.dispatchEvent(new Event('focus')));
    const card = page.getByRole('listitem', { name: 'Invitation to Globex' });
    await card.waitFor();
    assert.equal(await page.evaluate(() => window.sameDocument), true, 'no reload');
    // Places named though Olaf cannot read Globex yet.
    assert.match(await card.textContent(), /Globex web/);
    assert.match(await card.textContent(), /Globex helper \(bot in Globex web\)/);
    // "Pending invitation: 1" to a screen reader.
    const count = header.getByRole('link', { name: /^Pending invitation\s*:\s*1$/ });
    await count.waitFor();
    await screen(page, 'control-panel-pending');

    // Declining takes it away from both at once.
    await card.getByRole('button', { name: 'Decline' }).click();
    await card.waitFor({ state: 'detached' });
    await count.waitFor({ state: 'detached' });
    assert.equal(await page.evaluate(() => window.sameDocument), true, 'no reload');
  });

  step('lists expired and revoked invitations on request, and resends an expired one', async () => {
    const { page } = studio.browsers[ids.managerBrowser];
    await page.goto(`${studio.usher.url}/agencies/${ids.agency}/users`);
    await page.getByRole('row', { name: /Pia Pending/ }).waitFor();
    assert.equal(await page.getByRole('row', { name: /Eve Expired/ }).count(), 0);
    assert.equal(await page.getByRole('row', { name: /Rita Revoked/ }).count(), 0);

    // The server applies the status with the other filters (so pages come back full): the
    // console asks the users list for it, not the invitations list.
    const asked = page.waitForRequest((r) => new URL(r.url()).pathname.endsWith('/users')
      && new URL(r.url()).searchParams.get('status') === 'revoked');
    await page.getByLabel('Status').selectOption('revoked');
    await asked;
    const rita = page.getByRole('row', { name: /Rita Revoked/ });
    await rita.waitFor();
    assert.match(await rita.textContent(), /Invitation revoked/);
    assert.equal(await page.locator('tbody tr').count(), 1);
    const ritaActions = rita.getByRole('button', { name: /^Actions for/ });
    assert.equal(await ritaActions.count(), 0, 'nothing to do with a revoked one');
    assert.match(page.url(), /status=revoked/);
    await screen(page, 'users-revoked');

    await page.getByLabel('Status').selectOption('expired');
    const eve = page.getByRole('row', { name: /Eve Expired/ });
    await eve.waitFor();
    assert.match(await eve.textContent(), /Invitation expired/);
    assert.match(await eve.textContent(), /Acme – production: Agent/);
    assert.equal(await page.getByRole('row', { name: /Pia Pending|Rita Revoked/ }).count(), 0);
    await screen(page, 'users-expired');
    await eve.getByRole('button', { name: 'Actions for Eve Expired' }).click();
    const eveMenu = page.getByRole('menu', { name: 'Actions for Eve Expired' });
    const items = await eveMenu.getByRole('menuitem').allTextContents();
    assert.deepEqual(items, ['Resend invitation']);
    await page.getByRole('menuitem', { name: 'Resend invitation' }).click();
    await page.getByText(/Invitation for eve@acme\.test sent again/).waitFor();
    await eve.waitFor({ state: 'detached' });
    assert.ok(linkIn(await studio.smtp.waitFor('eve@acme.test')), 'the invitation is emailed again');
    const fresh = await ok('GET', `/invitations/${ids.expired}`);
    assert.equal(fresh.status, 'pending');

    await page.getByLabel('Status').selectOption('invited');
    await page.getByRole('row', { name: /Eve Expired/ }).waitFor();
    assert.equal(await page.getByRole('row', { name: /Olaf Berg/ }).count(), 0);
    await page.getByLabel('Status').selectOption('active');
    await page.getByRole('row', { name: /Olaf Berg/ }).waitFor();
    assert.equal(await page.getByRole('row', { name: /Eve Expired|Pia Pending/ }).count(), 0);
  });

  step('shows the buttons of the person one views as, disabled, under the banner', async () => {
    const { page } = await browser();
    await signIn(page, ADMIN);
    await page.goto(`${studio.usher.url}/agencies/${ids.agency}/users`);
    await page.getByRole('button', { name: 'Actions for Mia Jansen' }).click();
    await page.getByRole('menuitem', { name: 'See the studio as Mia Jansen' }).click();
    const banner = page.getByRole('region', { name: 'Impersonation' });
    await banner.waitFor();
    assert.match(await banner.textContent(), /Nothing can be changed/);
    await page.goto(`${studio.usher.url}/agencies/${ids.agency}/users`);
    await banner.waitFor();
    const invite = page.getByRole('button', { name: 'Invite user' });
    await invite.waitFor();
    assert.equal(await invite.isDisabled(), true, 'Invite user shown, disabled');
    await page.getByRole('button', { name: 'Actions for Olaf Berg' }).click();
    const remove = page.getByRole('menuitem', { name: 'Remove from agency' });
    assert.equal(await remove.getAttribute('aria-disabled'), 'true');
    // Clicked all the same, it does nothing.
    await remove.click({ force: true });
    assert.equal(await page.getByRole('dialog').count(), 0, 'a disabled item does nothing');
    await page.keyboard.press('Escape');

    await page.getByRole('link', { name: 'Olaf Berg', exact: true }).click();
    const panel = page.getByRole('complementary', { name: 'Olaf Berg' });
    const edit = panel.getByRole('button', { name: 'Edit access' });
    await edit.waitFor();
    assert.equal(await edit.isDisabled(), true, 'Edit access shown, disabled');
    assert.equal(await panel.getByRole('button', { name: 'Edit shortcode' }).isDisabled(), true);
    await screen(page, 'users-view-as');
    await panel.getByRole('button', { name: 'Close the panel' }).click();
    await banner.getByRole('button', { name: 'Exit' }).click();
    await banner.waitFor({ state: 'detached' });
  });
});
