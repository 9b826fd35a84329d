// The console's layout in headless Chromium at 1280×800, 1366×768 and 390×844, measured rather
// than looked at: the users filters show every label and every choice whole; the users table
// fits its card, with or without a person's panel beside it; the Account page's list of
// sections stays at the top beside (on a phone: above) the first section however far the page
// is scrolled; a notice raised far down a long page shows in the window and covers no control,
// with room kept for it at the page's end; an environment takes at most two lines on the agency
// page on a phone; and on every screen of an agency nothing scrolls sideways and no two controls
// touch or overlap.
import assert from 'node:assert/strict';
import path from 'node:path';
import { before, describe } from 'node:test';

import { captureScreen, focusIs, noticeProblems, openBrowser, screenshotDir, SCREEN_SIZES } from './lib/browser.mjs';
import { signInWithPassword } from './lib/signin.mjs';
import { ADMIN, setUpStudio } from './lib/studio.mjs';

const MANAGER = { email: 'mia@acme.test', password: 'copper-meadow-keys-1', first: 'Mia', last: 'Jansen' };
const LONG = {
  email: 'maximiliane.vandenberg-oosterhuis@customer-support.example.test',
  password: 'velvet-harbor-quartz-4',
  first: 'Maximiliane Johanna',
  last: 'van den Berg-Oosterhuis',
};
const OLAF = { email: 'olaf@acme.test', password: 'granite-willow-ferry-7', first: 'Olaf', last: 'Berg' };
const PHONE = SCREEN_SIZES.find((s) => s.width < 760);
const WIDE = SCREEN_SIZES.filter((s) => s.width >= 760);

describe('the console layout at 1280, 1366 and 390 px', () => {
  const studio = setUpStudio({ failurePrefix: 'failed-layout-' });
  const { ok, browser, step, member, signIn } = studio;
  let b;
  const ids = {};

  before(async () => {
    ids.agency = (await ok('POST', '/agencies', { body: { name: 'Acme' } })).id;
    ids.prod = (await ok('POST', `/agencies/${ids.agency}/environments`, { body: { name: 'Acme – production' } })).id;
    ids.test = (await ok('POST', `/agencies/${ids.agency}/environments`, { body: { name: 'Acme – test' } })).id;
    await member(ids.agency, MANAGER, [{ roles: ['owner'] }]);
    await member(ids.agency, OLAF, [{ environment_id: ids.prod, roles: ['operator'] }]);
    await member(ids.agency, LONG, [
      { environment_id: ids.prod, roles: ['operator', 'agent', 'analyst'] },
      { environment_id: ids.test, roles: ['developer', 'content_manager'] },
    ]);
    ids.bot = (await ok('POST', `/environments/${ids.prod}/bots`, { body: { name: 'Support bot' } })).id;
    await ok('POST', `/agencies/${ids.agency}/tokens`, { body: { name: 'Inbox service' } });
    ids.long = (await ok('GET', `/agencies/${ids.agency}/users?q=maximiliane`)).items[0].id;
    b = await browser();
    await signIn(b.page, MANAGER);
  });

  // What is cut off, overflowing or too wide in the page at the current viewport: the document
  // scrolling sideways, and every element matched by selector wider than its own box.
  async function overflows(page, selector) {
    return page.evaluate((sel) => {
      const found = [];
      const doc = document.documentElement;
      if (doc.scrollWidth > doc.clientWidth + 1) found.push(`the page scrolls sideways (${doc.scrollWidth} > ${doc.clientWidth})`);
      for (const el of document.querySelectorAll(sel)) {
        if (el.scrollWidth > el.clientWidth + 1) found.push(`${el.className || el.tagName}: ${el.scrollWidth} > ${el.clientWidth}`);
      }
      return found;
    }, selector);
  }

  step('shows every filter label and every choice of the users filters whole', async () => {
    const { page } = b;
    await page.goto(`${studio.usher.url}/agencies/${ids.agency}/users`);
    await page.getByRole('row', { name: /Olaf Berg/ }).waitFor();
    for (const size of SCREEN_SIZES) {
      await page.setViewportSize(size);
      await page.waitForTimeout(50);
      const cut = await choicesCut(page);
      assert.deepEqual(cut, [], `${size.width}px`);
      assert.deepEqual(await overflows(page, '.filters, .users-table-wrap'), [], `${size.width}px`);
      // The status filter is a real choice: "Invitation expired" is one of them.
      const status = page.getByLabel('Status');
      assert.ok((await status.locator('option').allTextContents()).includes('Invitation expired'));
    }
    assert.deepEqual(await captureScreen(page, 'layout-users-filters'), [], 'axe');
  });

  step('shows every kind of action of the audit filter whole, and its dates apart', async () => {
    const { page } = b;
    await page.goto(`${studio.usher.url}/agencies/${ids.agency}/audit`);
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    for (const size of SCREEN_SIZES) {
      await page.setViewportSize(size);
      await page.waitForTimeout(50);
      assert.deepEqual(await choicesCut(page), [], `${size.width}px`);
      assert.deepEqual(await crowded(page), [], `${size.width}px`);
    }
    await page.setViewportSize(SCREEN_SIZES[0]);
  });

  // The filters whose label, or one of whose choices, does not show whole in the filter form.
  async function choicesCut(page) {
    return page.evaluate(() => {
      const form = document.querySelector('form.filters');
      const found = [];
      const formBox = form.getBoundingClientRect();
      // The room a select's own arrow takes, besides its padding and border.
      const ARROW = 20;
      const canvas = document.createElement('canvas').getContext('2d');
      for (const field of form.querySelectorAll('.field')) {
        const label = field.querySelector('label');
        if (!label) continue; // the buttons' box
        const box = field.getBoundingClientRect();
        if (box.left < formBox.left - 1 || box.right > formBox.right + 1) found.push(`${label.textContent} sticks out of the filters`);
        if (label.scrollWidth > label.clientWidth + 1) found.push(`the label ${label.textContent} is cut off`);
        const control = field.querySelector('select, input');
        const c = control.getBoundingClientRect();
        const l = label.getBoundingClientRect();
        const overlap = l.left < c.right && l.right > c.left && l.top < c.bottom && l.bottom > c.top;
        if (overlap) found.push(`the label ${label.textContent} overlaps its control`);
        if (control.tagName !== 'SELECT') continue;
        const style = getComputedStyle(control);
        canvas.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
        const room =
          c.width -
          parseFloat(style.paddingLeft) -
          parseFloat(style.paddingRight) -
          parseFloat(style.borderLeftWidth) -
          parseFloat(style.borderRightWidth) -
          ARROW;
        for (const option of control.options) {
          const text = canvas.measureText(option.text).width;
          if (text > room) found.push(`${label.textContent}: "${option.text}" needs ${Math.ceil(text)} px, has ${Math.floor(room)}`);
        }
      }
      return found;
    });
  }

  step('fits the users table in its card with a person\'s panel open beside it', async () => {
    const { page } = b;
    await page.goto(`${studio.usher.url}/agencies/${ids.agency}/users/${ids.long}`);
    const panel = page.getByRole('heading', { name: `${LONG.first} ${LONG.last}`, level: 2 });
    await panel.waitFor();
    for (const size of WIDE) {
      await page.setViewportSize(size);
      await page.waitForTimeout(50);
      assert.deepEqual(await overflows(page, '.users-table-wrap'), [], `${size.width}px, panel open`);
      // The list and the panel side by side, not one over the other.
      const apart = await page.evaluate(() => {
        const list = document.querySelector('.users-table-wrap').getBoundingClientRect();
        const side = document.querySelector('.panel').getBoundingClientRect();
        return list.right <= side.left + 1;
      });
      assert.ok(apart, `${size.width}px: the table ends where the panel starts`);
      // Its name and its actions still there to click.
      const row = page.getByRole('row', { name: /Olaf Berg/ });
      assert.ok(await row.getByRole('button', { name: 'Actions for Olaf Berg' }).isVisible());
    }
    assert.deepEqual(await captureScreen(page, 'layout-users-panel'), [], 'axe');
  });

  step('keeps the Account page\'s sections list at the top however far it is scrolled', async () => {
    const { page } = b;
    await page.goto(`${studio.usher.url}/account`);
    await page.getByRole('heading', { name: 'Profile' }).waitFor();
    await page.getByRole('heading', { name: 'Sessions' }).waitFor();
    for (const size of SCREEN_SIZES) {
      await page.setViewportSize(size);
      await page.waitForTimeout(50);
      // Scrolled to the end, as after following "Delete account" in the list.
      await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
      await page.waitForTimeout(50);
      const at = await page.evaluate(() => {
        const onPage = (el) => {
          const r = el.getBoundingClientRect();
          return { top: r.top + window.scrollY, bottom: r.bottom + window.scrollY, left: r.left, right: r.right, height: r.height };
        };
        const nav = document.querySelector('nav[aria-label="Account sections"]');
        const first = document.querySelector('.account-sections > *');
        const links = [...nav.querySelectorAll('a')].map((a) => ({ text: a.textContent, ...onPage(a) }));
        return { nav: onPage(nav), first: onPage(first), links, navOverflow: nav.scrollWidth - nav.clientWidth };
      });
      const w = `${size.width}px`;
      assert.ok(at.navOverflow <= 1, `${w}: the list fits its box`);
      if (size.width >= 760) {
        assert.ok(Math.abs(at.nav.top - at.first.top) <= 2, `${w}: the list's top (${at.nav.top}) is the first section's (${at.first.top})`);
        assert.ok(at.nav.right <= at.first.left, `${w}: the list is beside the sections`);
        // One line per entry ("Two-step verification" not broken in two).
        for (const l of at.links) assert.ok(l.height < 48, `${w}: "${l.text}" on one line (${l.height} px)`);
      } else {
        assert.ok(at.nav.bottom <= at.first.top, `${w}: the list is above the first section`);
        assert.ok(at.nav.height <= 140, `${w}: the list is compact (${at.nav.height} px)`);
      }
    }
    await page.evaluate(() => window.scrollTo(0, 0));
    assert.deepEqual(await captureScreen(page, 'layout-account'), [], 'axe');
  });

  step('keeps a notice raised far down a long page in view and off every control, at each width', async () => {
    // A long list: two dozen pending invitations besides the members.
    for (let i = 1; i <= 24; i++) {
      const email = `guest${String(i).padStart(2, '0')}@acme.test`;
      await ok('POST', `/agencies/${ids.agency}/invitations`, {
        body: { email, grants: [{ environment_id: ids.test, roles: ['analyst'] }], send_email: false },
      });
    }
    const { page } = b;
    for (const size of SCREEN_SIZES) {
      const w = `${size.width}px`;
      await page.setViewportSize(size);
      await page.goto(`${studio.usher.url}/agencies/${ids.agency}/users`);
      await page.getByRole('row', { name: /guest24@acme\.test/ }).waitFor();
      await page.waitForLoadState('networkidle').catch(() => {});
      // Far down the page, five rows before its end: that row's Actions button just above the
      // window's bottom edge, where the notice shows.
      const rows = page.locator('tbody tr');
      const row = rows.nth((await rows.count()) - 6);
      const email = (await row.textContent()).match(/guest\d+@acme\.test/)[0];
      const actions = row.getByRole('button', { name: `Actions for ${email}` });
      await actions.evaluate((el) => window.scrollBy(0, el.getBoundingClientRect().bottom - window.innerHeight + 2));
      const at = await actions.evaluate((el) => ({ bottom: el.getBoundingClientRect().bottom, scrolled: window.scrollY }));
      assert.ok(at.scrolled > 400 && at.bottom <= size.height && at.bottom > size.height - 40, `${w}: the row is far down, at the window's bottom edge`);

      await actions.click();
      await page.getByRole('menuitem', { name: 'Copy invitation link' }).click();
      const notice = page.locator('.toasts .toast').filter({ hasText: `Invitation link for ${email} copied` });
      await notice.waitFor();
      await focusIs(page, { 'aria-label': `Actions for ${email}` }, `${w}: the focus is back on the row's Actions`);
      // Read out: the notice is inside a polite status region.
      assert.equal(await notice.evaluate((el) => el.closest('[role="status"]')?.getAttribute('aria-live')), 'polite');
      assert.deepEqual(await noticeProblems(page), [], `${w}: the notice is in view and covers no control`);
      const focused = await actions.evaluate((el) => {
        const r = el.getBoundingClientRect();
        return r.top >= 0 && r.bottom <= window.innerHeight;
      });
      assert.ok(focused, `${w}: the row's Actions button is still in view`);
      await page.screenshot({ path: path.join(screenshotDir, `layout-notice-far-down-${size.width}.png`) });

      // Scrolled to the end, the last row's actions are not under the notice: the page keeps
      // room for it. (Pointed at, the notice stays while this is measured.)
      await notice.hover();
      await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
      const last = rows.last().getByRole('button', { name: /^Actions for/ });
      const hit = await last.evaluate((el) => {
        const r = el.getBoundingClientRect();
        const there = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        return !!there && el.contains(there);
      });
      assert.ok(hit, `${w}: the last row's actions take a click`);
      assert.equal(await notice.count(), 1, `${w}: the notice still shows`);
      await notice.getByRole('button', { name: 'Dismiss' }).click();
      await notice.waitFor({ state: 'detached' });
    }
    await page.setViewportSize(SCREEN_SIZES[0]);
  });

  step('shows each environment on the agency page in at most two lines on a phone', async () => {
    const { page } = b;
    await page.setViewportSize(PHONE);
    await page.goto(`${studio.usher.url}/agencies/${ids.agency}`);
    await page.getByRole('heading', { name: 'Environments', exact: true }).waitFor();
    const items = page.getByRole('main').getByRole('listitem').filter({ has: page.getByRole('button', { name: /^Rename / }) });
    await items.first().waitFor();
    // The lines an item takes: its pieces (each line of its text, each button) grouped by the
    // height they stand at.
    const lines = await items.evaluateAll((lis) =>
      lis.map((li) => {
        const boxes = [...li.querySelectorAll('button')].map((el) => el.getBoundingClientRect());
        const walker = document.createTreeWalker(li, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
          if (!node.textContent.trim() || node.parentElement.closest('button')) continue;
          const range = document.createRange();
          range.selectNodeContents(node);
          boxes.push(...range.getClientRects());
        }
        boxes.sort((p, q) => p.top - q.top);
        const bands = [];
        for (const r of boxes) {
          const band = bands[bands.length - 1];
          if (band && r.top < band.bottom - 2) band.bottom = Math.max(band.bottom, r.bottom);
          else bands.push({ top: r.top, bottom: r.bottom });
        }
        return { name: li.querySelector('a').textContent, lines: bands.length, height: Math.round(li.getBoundingClientRect().height) };
      }),
    );
    assert.equal(lines.length, 2, 'both environments are listed');
    for (const l of lines) assert.ok(l.lines <= 2, `${l.name} takes ${l.lines} lines (${l.height} px)`);
    assert.deepEqual(await overflows(page, 'main li'), [], 'nothing is cut off');
    assert.deepEqual(await captureScreen(page, 'layout-environments'), [], 'axe');
  });

  // Pairs of visible controls (buttons, fields, lists) that overlap or touch, closer than 3 px.
  async function crowded(page) {
    return page.evaluate(() => {
      const visible = (el) => {
        const r = el.getBoundingClientRect();
        const style = getComputedStyle(el);
        return r.width > 0 && r.height > 0 && style.visibility !== 'hidden' && !el.closest('[hidden], .visually-hidden');
      };
      const controls = [
        ...document.querySelectorAll('main button, main .button, main input:not([type=checkbox]):not([type=radio]), main select, main textarea'),
      ].filter(visible);
      const name = (el) => (el.textContent || el.getAttribute('aria-label') || el.name || el.type || '').trim().slice(0, 30);
      const found = [];
      for (const [i, a] of controls.entries()) {
        const p = a.getBoundingClientRect();
        for (const bEl of controls.slice(i + 1)) {
          if (a.contains(bEl) || bEl.contains(a)) continue;
          const q = bEl.getBoundingClientRect();
          const m = 1.5;
          if (p.left - m < q.right + m && p.right + m > q.left - m && p.top - m < q.bottom + m && p.bottom + m > q.top - m)
            found.push(`"${name(a)}" and "${name(bEl)}"`);
        }
      }
      return found;
    });
  }

  step('lays out every screen of an agency without sideways scrolling or touching controls', async () => {
    const { page } = b;
    const screens = [
      ['control panel', '/', 'Control panel'],
      ['environments', `/agencies/${ids.agency}`, 'Environments'],
      ['environment', `/environments/${ids.prod}`, 'Bots'],
      ['bot', `/bots/${ids.bot}/options`, 'Delegate access to managers'],
      ['users', `/agencies/${ids.agency}/users`, 'Users'],
      ['roles', `/agencies/${ids.agency}/roles`, 'Roles'],
      ['tokens', `/agencies/${ids.agency}/tokens`, 'API tokens'],
      // Filtered, so that Clear stands beside Filter.
      ['audit', `/agencies/${ids.agency}/audit`, 'Audit log', async () => {
        await page.getByLabel('Person').fill('Olaf');
        await page.getByRole('button', { name: 'Filter', exact: true }).click();
        await page.getByRole('button', { name: 'Clear', exact: true }).waitFor();
      }],
      ['account', '/account', 'Sessions'],
    ];
    const problems = [];
    for (const [label, address, heading, then] of screens) {
      await page.setViewportSize(SCREEN_SIZES[0]);
      await page.goto(`${studio.usher.url}${address}`);
      await page.getByRole('heading', { name: heading, exact: true }).first().waitFor();
      await page.waitForLoadState('networkidle').catch(() => {});
      if (then) await then();
      for (const size of SCREEN_SIZES) {
        await page.setViewportSize(size);
        await page.waitForTimeout(50);
        for (const p of await overflows(page, '.card, .page-head, .filters, .place-actions, .bot-list li, .table-wrap'))
          problems.push(`${label} at ${size.width}px: ${p}`);
        for (const p of await crowded(page)) problems.push(`${label} at ${size.width}px: ${p} touch`);
      }
    }
    await page.setViewportSize(SCREEN_SIZES[0]);
    assert.deepEqual(problems, []);
  });
  step('opens a person\'s menu on the People page wholly in view at each width', async () => {
    const admin = await openBrowser(studio.usher.url);
    try {
      const { page } = admin;
      await page.goto(`${studio.usher.url}/signin`);
      await signInWithPassword(page, ADMIN);
      await page.getByRole('heading', { name: 'Control panel' }).waitFor();
      await page.goto(`${studio.usher.url}/people`);
      const button = page.getByRole('button', { name: `Actions for ${OLAF.email}` });
      await button.waitFor();
      for (const size of SCREEN_SIZES) {
        await page.setViewportSize(size);
        await page.waitForTimeout(50);
        await button.click();
        const items = page.locator('.row-menu button');
        await items.first().waitFor();
        const hidden = await items.evaluateAll((els) =>
          els
            .map((el) => {
              const r = el.getBoundingClientRect();
              el.scrollIntoView({ block: 'nearest' });
              const s = el.getBoundingClientRect();
              const wrap = el.closest('.table-wrap').getBoundingClientRect();
              const inView = s.left >= 0 && s.right <= window.innerWidth && s.top >= 0 && s.bottom <= window.innerHeight;
              const inWrap = s.left >= wrap.left - 0.5 && s.right <= wrap.right + 0.5 && s.top >= wrap.top - 0.5 && s.bottom <= wrap.bottom + 0.5;
              const hit = document.elementFromPoint(s.left + s.width / 2, s.top + s.height / 2);
              const text = el.scrollWidth <= el.clientWidth + 1;
              return inView && inWrap && el.contains(hit) && text && r.width > 0 ? null : el.textContent;
            })
            .filter(Boolean),
        );
        assert.deepEqual(hidden, [], `${size.width}px: menu items out of view or cut off`);
        await page.keyboard.press('Escape');
      }
    } finally {
      b.problems.push(...admin.problems);
      await admin.close();
    }
  });
});
