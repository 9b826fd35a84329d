// Places that live and die, in headless Chromium against the real binary: a platform admin
// renames an environment and a bot, deletes an environment after a confirmation that says how
// many people lose what, sees who gets notified of an environment's chats, copies, resends and
// revokes a bot's pending manager invitation (and cannot invite himself), invites people from a
// CSV file (problems by row and column, then each row's result), suspends an agency (the banner)
// and deletes it with its name typed and the audit export offered. Every screen passes axe and
// is photographed at 1280 and 390 px.
import assert from 'node:assert/strict';
import { before, describe } from 'node:test';

import { focusIs } from './lib/browser.mjs';
import { ADMIN, setUpStudio } from './lib/studio.mjs';

const HEADER = 'email,first_name,last_name,shortcode,environment,roles';

describe('places, notifications, bot options and bulk invitations in the console', () => {
  const studio = setUpStudio({ failurePrefix: 'failed-places-', smtp: false });
  const { ok, browser, screen, step, signIn } = studio;
  let b;
  const ids = {};

  // Invites someone into the agency and accepts for them: a member with those grants.
  const member = (email, first, grants) =>
    studio.member(ids.agency, { email, first, last: 'Test', password: 'amber-kettle-signal-9' }, grants);

  const WIDTHS = [
    { width: 1280, height: 800 },
    { width: 1366, height: 768 },
    { width: 390, height: 844 },
  ];

  // Whether the element is wholly inside the window horizontally, and at least partly vertically.
  const inView = (locator) =>
    locator.evaluate((el) => {
      const r = el.getBoundingClientRect();
      return r.width > 0 && r.left >= 0 && r.right <= window.innerWidth && r.bottom > 0 && r.top < window.innerHeight;
    });

  // At each width, each button is visible, takes the keyboard focus (scrolled to), and the
  // name of what it acts on stays in view beside it.
  async function actionsReachable(page, buttons, name) {
    for (const size of WIDTHS) {
      await page.setViewportSize(size);
      for (const button of buttons) {
        await button.focus();
        assert.equal(await button.evaluate((el) => el === document.activeElement), true);
        await button.evaluate((el) => el.scrollIntoView({ block: 'nearest', inline: 'nearest' }));
        assert.equal(await inView(button), true, `${size.width}px: a row action is out of view`);
        assert.equal(await inView(name), true, `${size.width}px: the row's name is out of view`);
      }
    }
    await page.setViewportSize({ width: 1280, height: 860 });
  }

  before(async () => {
    ids.agency = (await ok('POST', '/agencies', { body: { name: 'Orbit' } })).id;
    ids.prod = (await ok('POST', `/agencies/${ids.agency}/environments`, { body: { name: 'Orbit production' } })).id;
    ids.staging = (await ok('POST', `/agencies/${ids.agency}/environments`, { body: { name: 'Orbit staging' } })).id;
    ids.bot = (await ok('POST', `/environments/${ids.prod}/bots`, { body: { name: 'Helpdesk' } })).id;
    // Staging: one member who works only there, one pending invitation.
    await member('sam@orbit.test', 'Sam', [{ environment_id: ids.staging, roles: ['agent'] }]);
    await ok('POST', `/agencies/${ids.agency}/invitations`, {
      body: {
        email: 'pending@orbit.test',
        grants: [{ environment_id: ids.staging, roles: ['analyst'] }],
        send_email: false,
      },
    });
    // Production: an operator of the environment (notified) and an agency-wide agent (not).
    await member('nia@orbit.test', 'Nia', [{ environment_id: ids.prod, roles: ['operator'] }]);
    await member('abe@orbit.test', 'Abe', [{ roles: ['agent'] }]);
    b = await browser();
    await signIn(b.page, ADMIN);
  });

  step('renames an environment from the agency page', async () => {
    const { page } = b;
    await page.goto(`${studio.usher.url}/agencies/${ids.agency}`);
    await page.getByRole('button', { name: 'Rename Orbit staging' }).click();
    const dialog = page.getByRole('dialog', { name: 'Rename environment Orbit staging' });
    await dialog.getByLabel('New name').fill('  ');
    await dialog.getByRole('button', { name: 'Rename' }).click();
    await dialog.locator('.field-error').waitFor();
    await focusIs(page, { name: 'name' }, 'focus on the field in error');
    await screen(b.page, 'places-rename-error');
    await dialog.getByLabel('New name').fill('Orbit QA');
    await dialog.getByRole('button', { name: 'Rename' }).click();
    await page.getByRole('link', { name: 'Orbit QA' }).waitFor();
    assert.equal((await ok('GET', `/environments/${ids.staging}`)).name, 'Orbit QA');
    await actionsReachable(
      page,
      [page.getByRole('button', { name: 'Rename Orbit QA' }), page.getByRole('button', { name: 'Delete Orbit QA' })],
      page.getByRole('link', { name: 'Orbit QA' }),
    );
    await screen(b.page, 'places-agency');
  });

  step('deletes an environment after saying how many people lose what', async () => {
    const { page } = b;
    await page.getByRole('button', { name: 'Delete Orbit QA' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete environment Orbit QA' });
    const counts = dialog.getByTestId('removal-counts');
    await counts.waitFor();
    const text = await counts.textContent();
    assert.match(text, /1 person loses their access here \(1 grant removed\)/);
    assert.match(text, /1 person has no other access in the agency and stops being a member/);
    assert.match(text, /1 pending invitation is revoked/);
    await screen(b.page, 'places-delete-environment');
    await dialog.getByRole('button', { name: 'Delete environment' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByRole('link', { name: 'Orbit QA' }).waitFor({ state: 'detached' });
    const gone = await studio.usher.api('GET', `/api/v1/environments/${ids.staging}`, { token: studio.adminToken });
    assert.equal(gone.status, 404);
  });

  step('shows who gets notified on the environment page, and renames a bot', async () => {
    const { page } = b;
    await page.goto(`${studio.usher.url}/environments/${ids.prod}`);
    const list = page.getByTestId('recipients');
    await list.waitFor();
    const names = await list.textContent();
    assert.match(names, /Nia Test/);
    assert.doesNotMatch(names, /Abe/, 'agency-wide agents are not notified');
    await screen(b.page, 'places-environment');
    await page.getByRole('button', { name: 'Rename Helpdesk' }).click();
    const dialog = page.getByRole('dialog', { name: 'Rename bot Helpdesk' });
    await dialog.getByLabel('New name').fill('Front desk');
    await dialog.getByRole('button', { name: 'Rename' }).click();
    await page.getByRole('link', { name: 'Front desk' }).waitFor();
    assert.equal((await ok('GET', `/bots/${ids.bot}`)).name, 'Front desk');
  });

  step("acts on a bot's pending manager invitations, and refuses inviting oneself", async () => {
    const { page } = b;
    const inv = await ok('POST', `/bots/${ids.bot}/managers`, { body: { email: 'freelancer@orbit.test', send_email: false } });
    await page.goto(`${studio.usher.url}/bots/${ids.bot}/options`);
    const copy = page.getByRole('button', { name: 'Copy the invitation link for freelancer@orbit.test' });
    await copy.waitFor();
    await actionsReachable(
      page,
      [
        copy,
        page.getByRole('button', { name: 'Resend the invitation to freelancer@orbit.test' }),
        page.getByRole('button', { name: 'Revoke the invitation for freelancer@orbit.test' }),
      ],
      page.getByText('freelancer@orbit.test', { exact: false }).first(),
    );
    await screen(b.page, 'places-bot-options');
    await copy.focus();
    await page.keyboard.press('Enter');
    await page.getByText('Invitation link for freelancer@orbit.test copied').waitFor();
    const link = await page.evaluate(() => navigator.clipboard.readText());
    assert.match(link, /#token=/);
    await page.getByRole('button', { name: 'Resend the invitation to freelancer@orbit.test' }).click();
    await page.getByText(/Invitation sent again to freelancer@orbit.test/).waitFor();
    assert.equal((await ok('GET', `/invitations/${inv.id}`)).send_count, 1);
    await page.getByRole('button', { name: 'Revoke the invitation for freelancer@orbit.test' }).click();
    const confirm = page.getByRole('dialog', { name: 'Revoke invitation' });
    await confirm.getByRole('button', { name: 'Revoke invitation' }).click();
    await copy.waitFor({ state: 'detached' });
    assert.equal((await ok('GET', `/invitations/${inv.id}`)).status, 'revoked');
    await page.getByLabel('Email of the new manager').fill(ADMIN.email.toUpperCase());
    await page.getByRole('button', { name: 'Send invitation' }).click();
    await page.getByText('you cannot invite yourself; ask another manager').waitFor();
  });

  step('invites people from a CSV file: problems by row and column, then each row sent', async () => {
    const { page } = b;
    await page.goto(`${studio.usher.url}/agencies/${ids.agency}/users`);
    await page.getByRole('button', { name: 'Invite from a file' }).click();
    const dialog = page.getByRole('dialog', { name: 'Invite people from a file' });
    const template = dialog.getByRole('link', { name: 'Download the template' });
    assert.match(await template.getAttribute('href'), /\/invitations\/bulk\/template$/);
    const bad = `${HEADER}\r\nkim@orbit.test,Kim,"Lee, Jr.",,Orbit production,Agent\r\nnot-an-email,Lou,,,Orbit production,Agent\r\n`;
    await dialog.getByLabel('CSV file').setInputFiles({ name: 'people.csv', mimeType: 'text/csv', buffer: Buffer.from(bad) });
    const problems = dialog.getByRole('list', { name: 'Problems' });
    await problems.waitFor();
    assert.match(await problems.textContent(), /Row 3, Email:/);
    assert.match(await dialog.textContent(), /Nothing was sent/);
    await dialog.getByRole('button', { name: 'Send the 1 valid row' }).waitFor();
    assert.equal(await dialog.getByRole('button', { name: 'Send all' }).count(), 0);
    await screen(b.page, 'places-bulk-problems');
    const fixed = bad.replace('not-an-email', 'lou@orbit.test');
    await dialog.getByLabel('CSV file').setInputFiles({ name: 'people.csv', mimeType: 'text/csv', buffer: Buffer.from(fixed) });
    await dialog.getByText('people.csv: 2 people ready to invite.').waitFor();
    await dialog.getByRole('button', { name: 'Send all' }).click();
    await dialog.getByText('2 invited, 0 refused, 0 not sent.').waitFor();
    assert.equal(await dialog.getByRole('cell', { name: 'Invited' }).count(), 2);
    await screen(b.page, 'places-bulk-results');
    const list = await ok('GET', `/agencies/${ids.agency}/invitations?status=pending`);
    const kim = list.items.find((i) => i.email === 'kim@orbit.test');
    assert.equal(kim.last_name, 'Lee, Jr.');
    await dialog.getByRole('button', { name: 'Close' }).first().click();
  });

  step('suspends the agency (a banner on every page) and deletes it with its name typed', async () => {
    const { page } = b;
    await page.goto(`${studio.usher.url}/agencies/${ids.agency}`);
    await page.getByRole('button', { name: 'Suspend agency' }).click();
    const dialog = page.getByRole('dialog', { name: 'Suspend Orbit' });
    await dialog.getByRole('button', { name: 'Suspend agency' }).click();
    await page.getByText('Orbit is suspended.').waitFor();
    assert.equal((await ok('GET', `/agencies/${ids.agency}`)).status, 'suspended');
    assert.equal(await page.getByRole('button', { name: 'Invite user' }).count(), 0, 'nothing to change while suspended');
    assert.equal(await page.getByRole('button', { name: 'Resume agency' }).count(), 1);
    await screen(b.page, 'places-suspended');
    await page.goto(`${studio.usher.url}/environments/${ids.prod}`);
    await page.getByText('Orbit is suspended.').waitFor();
    await page.goto(`${studio.usher.url}/agencies/${ids.agency}`);
    await page.getByRole('button', { name: 'Delete agency' }).click();
    const del = page.getByRole('dialog', { name: 'Delete Orbit' });
    const exportLink = del.getByRole('link', { name: 'Export the audit log first' });
    assert.match(await exportLink.getAttribute('href'), new RegExp(`/api/v1/agencies/${ids.agency}/audit/export`));
    const go = del.getByRole('button', { name: 'Delete agency' });
    await del.getByLabel(/Type the agency's name/).fill('orbit');
    assert.equal(await go.isDisabled(), true, 'the name must be typed exactly');
    await screen(b.page, 'places-delete-agency');
    await del.getByLabel(/Type the agency's name/).fill('Orbit');
    await go.click();
    await page.getByRole('heading', { name: 'Agencies' }).waitFor();
    const gone = await studio.usher.api('GET', `/api/v1/agencies/${ids.agency}`, { token: studio.adminToken });
    assert.equal(gone.status, 404);
  });
});
