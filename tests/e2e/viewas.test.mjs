// Viewing the studio as someone, in headless Chromium against the real binary: on the
// environment, bot, roles and API-token screens a platform admin viewing as an environment
// manager, a bot manager, an owner or an analyst sees exactly the controls that person sees when
// signed in themselves (compared in the same test), each disabled and saying why, and the same
// sections of the agency; the user panel names an extra permission by its description. Every
// screen is checked with axe-core and photographed at 1280, 1366 and 390 px.
import assert from 'node:assert/strict';
import { before, describe } from 'node:test';

import { ADMIN, setUpStudio } from './lib/studio.mjs';

const person = (email, password, first, last) => ({ email, password, first, last });
const ELLA = person('ella@acme.test', 'copper-meadow-keys-1', 'Ella', 'Envman');
const BEN = person('ben@freelance.test', 'granite-willow-ferry-7', 'Ben', 'Botman');
const OWEN = person('owen@acme.test', 'saffron-pebble-dune-4', 'Owen', 'Owner');
const ANNA = person('anna@acme.test', 'amber-pylon-thistle-2', 'Anna', 'Analyst');

describe('viewing the studio as someone', () => {
  const studio = setUpStudio({ failurePrefix: 'failed-viewas-' });
  const { ok, browser, screen, step, member, signIn } = studio;
  const ids = {};
  let admin; // the platform admin's browser

  // The screens compared.
  const screens = () => [
    { key: 'environment', path: `/environments/${ids.prod}` },
    { key: 'bot', path: `/bots/${ids.bot}` },
    { key: 'bot-options', path: `/bots/${ids.bot}/options` },
    { key: 'roles', path: `/agencies/${ids.agency}/roles` },
    { key: 'tokens', path: `/agencies/${ids.agency}/tokens` },
  ];

  // Every control of the screen (buttons and fields, not links) with its name, whether it is
  // disabled and the text of what describes it; the agency's sections; the page's title and any
  // refusal shown.
  async function controls(page) {
    await page.locator('main h1, main .note-error').first().waitFor();
    await page.waitForLoadState('networkidle').catch(() => {});
    await page.waitForTimeout(100);
    return page.evaluate(() => {
      const text = (el) => (el?.textContent || '').replace(/\s+/g, ' ').trim();
      const nameOf = (el) => {
        if (el.getAttribute('aria-label')) return el.getAttribute('aria-label');
        if (el.id) {
          const label = document.querySelector(`label[for="${el.id}"]`);
          if (label) return text(label);
        }
        return text(el);
      };
      const root = document.querySelector('.agency-main');
      const found = [...(root?.querySelectorAll('button, input, select, textarea') || [])].map(
        (el) => ({
          name: `${el.tagName.toLowerCase()} ${nameOf(el)}`,
          disabled: el.disabled || el.getAttribute('aria-disabled') === 'true',
          described: (el.getAttribute('aria-describedby') || '')
            .split(/\s+/)
            .filter(Boolean)
            .map((id) => text(document.getElementById(id)))
            .join(' '),
          title: el.getAttribute('title') || '',
        }),
      );
      const sections = [...document.querySelectorAll('.agency-nav a')].map(text);
      const title = text(document.querySelector('main h1'));
      const refused = text(document.querySelector('main .note-error'));
      return { found, sections, title, refused };
    });
  }

  // What the page shows on each screen: someone's own session, or the admin viewing as them.
  async function survey(page, shots) {
    const out = {};
    for (const s of screens()) {
      await page.goto(`${studio.usher.url}${s.path}`);
      out[s.key] = await controls(page);
      if (shots) await screen(page, `${shots}-${s.key}`);
    }
    return out;
  }

  async function viewAs(who) {
    const { page } = admin;
    await page.goto(`${studio.usher.url}/agencies/${ids.agency}/users`);
    const name = `${who.first} ${who.last}`;
    await page.getByRole('button', { name: `Actions for ${name}` }).click();
    await page.getByRole('menuitem', { name: `See the studio as ${name}` }).click();
    await page.getByRole('region', { name: 'Impersonation' }).waitFor();
  }

  async function exitView() {
    const banner = admin.page.getByRole('region', { name: 'Impersonation' });
    await banner.getByRole('button', { name: 'Exit' }).click();
    await banner.waitFor({ state: 'detached' });
  }

  // Signs who in, surveys their screens, views as them from the admin's browser and surveys
  // again; checks both agree, that their own controls work and the viewed ones are disabled
  // with the reason. Resolves with the person's own survey.
  async function compare(who, slug) {
    const own = await browser();
    await signIn(own.page, who);
    const theirs = await survey(own.page, null);
    await own.close();
    studio.browsers.splice(studio.browsers.indexOf(own), 1);
    await viewAs(who);
    const viewed = await survey(admin.page, `viewas-${slug}`);
    await exitView();
    for (const s of screens()) {
      const mine = theirs[s.key];
      const seen = viewed[s.key];
      assert.deepEqual(
        seen.found.map((c) => c.name),
        mine.found.map((c) => c.name),
        `${slug} on ${s.key}: the same controls`,
      );
      assert.deepEqual(seen.sections, mine.sections, `${slug} on ${s.key}: the same sections`);
      assert.equal(seen.title, mine.title, `${slug} on ${s.key}: the same page`);
      assert.equal(seen.refused, mine.refused, `${slug} on ${s.key}: the same refusal`);
      for (const c of mine.found) assert.equal(c.disabled, false, `${slug} ${s.key}: ${c.name}`);
      for (const c of seen.found) {
        assert.equal(c.disabled, true, `${slug} viewed, ${s.key}: ${c.name} disabled`);
        if (c.name.startsWith('button ')) {
          assert.match(c.described, /Nothing can be changed/, `${s.key}: why ${c.name}`);
          assert.match(c.title, /Read-only: you are seeing the studio as/, c.name);
        }
      }
    }
    return theirs;
  }

  const names = (survey, key) => survey[key].found.map((c) => c.name);

  before(async () => {
    ids.agency = (await ok('POST', '/agencies', { body: { name: 'Acme' } })).id;
    const environment = async (name) =>
      (await ok('POST', `/agencies/${ids.agency}/environments`, { body: { name } })).id;
    ids.prod = await environment('Acme – production');
    ids.test = await environment('Acme – test');
    ids.bot = (await ok('POST', `/environments/${ids.prod}/bots`, { body: { name: 'Support bot' } }))
      .id;
    await member(ids.agency, ELLA, [{ environment_id: ids.prod, roles: ['environment_manager'] }]);
    await member(ids.agency, BEN, [{ bot_id: ids.bot, roles: ['bot_manager'] }]);
    await member(ids.agency, OWEN, [{ roles: ['owner'] }]);
    const annaGrants = [
      { environment_id: ids.prod, roles: ['analyst'], extra_permissions: ['crm.write'] },
    ];
    ids.anna = (await member(ids.agency, ANNA, annaGrants)).id;
    // A pending bot-manager invitation, a custom role and an API token: each has its buttons.
    await ok('POST', `/bots/${ids.bot}/managers`, { body: { email: 'pia@freelance.test' } });
    await ok('POST', `/agencies/${ids.agency}/roles`, {
      body: { name: 'Night shift', permissions: ['inbox.reply', 'bot.read'] },
    });
    await ok('POST', `/agencies/${ids.agency}/tokens`, { body: { name: 'Inbox service' } });
    admin = await browser();
    await signIn(admin.page, ADMIN);
  });

  step('shows an environment manager\'s controls, disabled, as they see them', async () => {
    const own = await compare(ELLA, 'environment-manager');
    for (const b of ['button Invite user', 'button Rename environment'])
      assert.ok(names(own, 'environment').includes(b), names(own, 'environment').join('\n'));
    for (const b of [
      'input Email of the new manager',
      'button Send invitation',
      'button Remove Ben Botman as manager',
      'button Copy the invitation link for pia@freelance.test',
      'button Resend the invitation to pia@freelance.test',
      'button Revoke the invitation for pia@freelance.test',
    ])
      assert.ok(names(own, 'bot-options').includes(b), names(own, 'bot-options').join('\n'));
    // Not an agency manager: no custom roles of their own to make, no tokens.
    assert.ok(!names(own, 'roles').includes('button New custom role'));
    assert.ok(!own.roles.sections.includes('API tokens'));
  });

  step('shows a bot manager the same screens, with nothing to change there', async () => {
    const own = await compare(BEN, 'bot-manager');
    for (const s of screens())
      assert.deepEqual(
        names(own, s.key).filter((n) => n.startsWith('button')),
        [],
        `a bot manager's ${s.key}`,
      );
  });

  step('shows an owner\'s controls on roles and tokens, disabled, as they see them', async () => {
    const own = await compare(OWEN, 'owner');
    for (const b of ['button New custom role', 'button Edit Night shift', 'button Delete Night shift'])
      assert.ok(names(own, 'roles').includes(b), names(own, 'roles').join('\n'));
    for (const b of ['input New token name', 'button Create token', 'button Revoke Inbox service'])
      assert.ok(names(own, 'tokens').includes(b), names(own, 'tokens').join('\n'));
    for (const b of [
      'button Invite user',
      'button Rename environment',
      'button Delete environment',
      'button Create bot',
      'button Rename Support bot',
      'button Delete Support bot',
    ])
      assert.ok(names(own, 'environment').includes(b), names(own, 'environment').join('\n'));
    for (const b of ['button Rename bot', 'button Delete bot'])
      assert.ok(names(own, 'bot').includes(b), names(own, 'bot').join('\n'));
    assert.ok(own.tokens.sections.includes('API tokens'), own.tokens.sections.join(', '));
  });

  step('shows an analyst, who only reads, none of those controls', async () => {
    const own = await compare(ANNA, 'analyst');
    for (const s of screens())
      assert.deepEqual(
        names(own, s.key).filter((n) => n.startsWith('button') || n.startsWith('input')),
        [],
        `an analyst's ${s.key}`,
      );
  });

  step('gives the users overview\'s disabled controls their reason while viewing as an owner', async () => {
    const { page } = admin;
    await viewAs(OWEN);
    try {
      await page.goto(`${studio.usher.url}/agencies/${ids.agency}/users`);
      for (const name of ['Invite user', 'Invite from a file']) {
        const b = page.getByRole('button', { name });
        await b.waitFor();
        assert.equal(await b.isDisabled(), true, name);
        assert.match((await b.getAttribute('title')) || '', /Read-only: you are seeing the studio as Owen/);
        assert.equal(await b.getAttribute('aria-describedby'), 'view-as-note', name);
      }
      await page.getByRole('button', { name: 'Actions for Anna Analyst' }).click();
      const item = page.getByRole('menuitem', { name: 'Remove from agency' });
      assert.equal(await item.getAttribute('aria-disabled'), 'true');
      assert.match((await item.getAttribute('title')) || '', /Read-only: you are seeing the studio as Owen/);
      assert.equal(await item.getAttribute('aria-describedby'), 'view-as-note');
      await page.keyboard.press('Escape');
    } finally {
      await exitView();
    }
  });

  step('names extra permissions in words when asking to remove someone', async () => {
    const { page } = admin;
    await page.goto(`${studio.usher.url}/agencies/${ids.agency}/users`);
    await page.getByRole('button', { name: 'Actions for Anna Analyst' }).click();
    await page.getByRole('menuitem', { name: 'Remove from agency' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.locator('.loss-list').waitFor();
    assert.match(await dialog.locator('.loss-list').textContent(), /\+ Change customer records/);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
  });

  step('names an extra permission by its description in the user panel', async () => {
    const { page } = admin;
    await page.goto(`${studio.usher.url}/agencies/${ids.agency}/users/${ids.anna}`);
    const panel = page.getByRole('complementary', { name: 'Anna Analyst' });
    const line = panel.locator('.env-access li').filter({ hasText: 'Acme – production' });
    await line.waitFor();
    const text = (await line.textContent()).replace(/\s+/g, ' ');
    assert.match(text, /Analyst, \+ Change customer records crm\.write/);
    assert.equal(await line.locator('code', { hasText: 'crm.write' }).count(), 1);
    // The users table says it in words too.
    const row = page.getByRole('row', { name: /Anna Analyst/ });
    assert.match(await row.textContent(), /\+ Change customer records/);
    await screen(page, 'viewas-extra-permission');
  });
});
