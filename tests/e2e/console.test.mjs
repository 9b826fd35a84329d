// The web console in headless Chromium against the real binary and a real SMTP server: a
// manager signs in and invites a colleague from the dialog, the colleague follows the emailed
// link, sees a password made of her name judged weak by the meter and refused by the server,
// sets a good one and lands in the console; copy link; revoke; expired and used links;
// delegating a bot and its Shared badge; an existing user accepting from the control panel;
// impersonation and member removal once the server has their routes. Every screen is checked
// with axe-core (no serious or critical finding) and photographed at 1280, 1366 and 390 px.
import assert from 'node:assert/strict';
import { before, describe } from 'node:test';

import { focusReaches } from './lib/browser.mjs';
import { signInWithPassword } from './lib/signin.mjs';
import { linkIn } from './lib/smtp.mjs';
import { ADMIN, setUpStudio } from './lib/studio.mjs';

const MANAGER = { email: 'mia@acme.test', password: 'copper-meadow-keys-1' };
const COLLEAGUE = { email: 'cleo@acme.test', password: 'harbor-violet-tiles-1' };
const BOT_DEV = { email: 'bob@freelance.test', password: 'botdev-password-1' };
// A customer of the studio: its first environment manager and a colleague they invite.
const ENV_MANAGER = { email: 'erin@northwind.test', password: 'granite-willow-ferry-7' };
const CONTENT = { email: 'carl@northwind.test', password: 'saffron-pebble-dune-4' };
const ENV_MANAGER_ROLES = ['agent', 'analyst', 'content_manager', 'developer', 'environment_manager', 'operator', 'producer'];

describe('the web console', () => {
  const studio = setUpStudio({ failurePrefix: 'failed-' });
  const { ok, browser, screen, step, member, signIn } = studio;
  let managerToken;
  const ids = {};
  let manager; // the manager's browser

  // Follows an emailed invitation as someone new: names, password, and into the console.
  async function acceptAsNew(page, link, who, first, last) {
    await page.goto(link);
    await page.getByRole('heading', { name: /^Join / }).waitFor();
    const said = await page.locator('main').textContent();
    await page.getByLabel('First name').fill(first);
    await page.getByLabel('Last name').fill(last);
    await page.getByLabel('Password', { exact: true }).fill(who.password);
    await page.getByLabel('Repeat the password').fill(who.password);
    await page.getByRole('button', { name: 'Create account and accept' }).click();
    await page.getByRole('heading', { name: 'Control panel' }).waitFor();
    return said;
  }

  // The values of the role checkboxes of the first grant a dialog or panel offers, sorted.
  async function offeredRoles(where) {
    const roles = where.getByRole('group', { name: 'Roles', exact: true });
    await roles.getByRole('checkbox').first().waitFor();
    return (await roles.locator('input[type=checkbox]:not([disabled])').evaluateAll((els) => els.map((e) => e.value))).sort();
  }

  before(async () => {
    ids.agency = (await ok('POST', '/agencies', { body: { name: 'Acme' } })).id;
    ids.env = (await ok('POST', `/agencies/${ids.agency}/environments`, { body: { name: 'Acme production' } })).id;
    ids.env2 = (await ok('POST', `/agencies/${ids.agency}/environments`, { body: { name: 'Acme test' } })).id;
    ids.bot = (await ok('POST', `/environments/${ids.env}/bots`, { body: { name: 'Website bot' } })).id;
    const mia = { ...MANAGER, first: 'Mia', last: 'Manager', shortcode: 'MIA' };
    const managerRoles = ['organisation_manager', 'developer', 'operator'];
    managerToken = (await member(ids.agency, mia, [{ roles: managerRoles }])).token;
    manager = await browser();
  });

  step('sends a signed-out visitor to sign in, shows a wrong password, then signs the manager in', async () => {
    const { page } = manager;
    await page.goto(`${studio.usher.url}/agencies/${ids.agency}/users`);
    await page.waitForURL(/\/signin\?next=/);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await screen(page, 'signin');
    await signInWithPassword(page, { email: MANAGER.email, password: 'not-the-password' });
    await page.getByRole('alert').waitFor();
    await page.getByLabel('Password').fill(MANAGER.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${studio.usher.url}/agencies/${ids.agency}/users`);
    await page.getByRole('heading', { name: 'Users', level: 1 }).waitFor();
  });

  step('shows the control panel, the agency and an environment', async () => {
    const { page } = manager;
    await page.goto(`${studio.usher.url}/`);
    await page.getByRole('heading', { name: 'Control panel' }).waitFor();
    await screen(page, 'control-panel');
    await page.getByRole('link', { name: 'Acme', exact: true }).click();
    await page.getByRole('heading', { name: 'Environments' }).waitFor();
    await page.getByRole('link', { name: 'Acme production' }).waitFor();
    await screen(page, 'agency-environments');
    await page.getByRole('link', { name: 'Acme production' }).click();
    await page.getByRole('heading', { name: 'Acme production', level: 1 }).waitFor();
    await page.getByRole('link', { name: 'Website bot' }).waitFor();
    await screen(page, 'environment');
  });

  step('invites a colleague from the dialog, with the API error beside the field it names', async () => {
    const { page } = manager;
    await page.goto(`${studio.usher.url}/environments/${ids.env}`);
    await page.getByRole('button', { name: 'Invite user' }).click();
    const dialog = page.getByRole('dialog', { name: 'Invite user' });
    await dialog.waitFor();
    await dialog.getByRole('checkbox', { name: /^Operator/ }).check();
    await screen(page, 'invite-dialog');
    await dialog.getByLabel('Email', { exact: true }).fill('not an address');
    await dialog.getByRole('button', { name: 'Send invitation' }).click();
    const email = dialog.getByLabel('Email', { exact: true });
    await page.waitForFunction(() => document.querySelector('dialog input[name=email]')?.getAttribute('aria-invalid') === 'true');
    const describedBy = await email.getAttribute('aria-describedby');
    assert.ok(describedBy, 'the email field points at its error');
    const message = await page.locator(`[id="${describedBy.split(' ').pop()}"]`).textContent();
    assert.match(message, /email/i);

    await email.fill(COLLEAGUE.email);
    await dialog.getByLabel('First name').fill('Cleo');
    await dialog.getByLabel('Last name').fill('Colleague');
    await dialog.getByLabel('Shortcode').fill('CC1');
    await dialog.getByRole('button', { name: 'Send invitation' }).click();
    await page.getByText(`Invitation sent to ${COLLEAGUE.email}`).waitFor();
    await dialog.waitFor({ state: 'detached' });

    const list = await ok('GET', `/agencies/${ids.agency}/invitations?status=pending`);
    const inv = list.items.find((i) => i.email === COLLEAGUE.email);
    assert.ok(inv, 'the invitation exists');
    assert.deepEqual(inv.grants, [{ environment_id: ids.env, roles: ['operator'], extra_permissions: [] }]);
    assert.equal(inv.shortcode, 'CC1');
    ids.colleagueInvitation = inv.id;
  });

  step('lists the invitation in the users overview and copies its link with a visible confirmation', async () => {
    const { page } = manager;
    await page.goto(`${studio.usher.url}/agencies/${ids.agency}/users`);
    const row = page.getByRole('row', { name: new RegExp(COLLEAGUE.email) });
    await row.waitFor();
    assert.match(await row.textContent(), /Invited/);
    await screen(page, 'users');
    await row.getByRole('button', { name: 'Actions for Cleo Colleague' }).click();
    await page.getByRole('menu', { name: 'Actions for Cleo Colleague' }).getByRole('menuitem', { name: 'Copy invitation link' }).click();
    await row.getByText('Link copied').waitFor();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    const { url } = await ok('GET', `/invitations/${ids.colleagueInvitation}/link`);
    assert.equal(copied, url);
    const mail = await studio.smtp.waitFor(COLLEAGUE.email);
    assert.equal(linkIn(mail), url, 'copy link gives the emailed link');

    await page.getByRole('link', { name: 'Cleo Colleague' }).click();
    const panel = page.getByRole('complementary', { name: COLLEAGUE.email });
    await panel.getByText('Access it gives').waitFor();
    await screen(page, 'invitation-panel');
    await panel.getByRole('button', { name: 'Close the panel' }).click();
  });

  step('lets the colleague follow the emailed link, set a password and land in the console', async () => {
    const mail = await studio.smtp.waitFor(COLLEAGUE.email);
    const link = linkIn(mail);
    const { page } = await browser();
    await page.goto(link);
    await page.getByRole('heading', { name: 'Join Acme' }).waitFor();
    const text = await page.locator('main').textContent();
    assert.match(text, /Mia Manager/);
    assert.match(text, /Operator/);
    assert.match(text, /Valid until/);
    await screen(page, 'accept-new-user');

    // A password made of her own name: the meter says why as she types, and the server, which
    // judges again, refuses it; its answer is shown at the field.
    const password = page.getByLabel('Password', { exact: true });
    await password.fill('Cleo2024!');
    const meterText = page.locator('.strength-text');
    await meterText.getByText('Too easy to guess: it contains your name or email address').waitFor();
    const meter = page.getByRole('meter', { name: 'Password strength' });
    assert.match(await meter.getAttribute('aria-valuetext'), /^Too easy to guess/);
    assert.equal(await meterText.getAttribute('aria-live'), 'polite');
    const meterId = await meterText.getAttribute('id');
    assert.ok((await password.getAttribute('aria-describedby')).split(' ').includes(meterId), 'the field points at the meter');
    await screen(page, 'accept-weak-password');
    await page.getByLabel('Repeat the password').fill('Cleo2024!');
    await page.getByRole('button', { name: 'Create account and accept' }).click();
    await page.getByText('password is too easy to guess: it contains your name or email address').waitFor();
    assert.equal(await password.getAttribute('aria-invalid'), 'true');
    await focusReaches(password);
    assert.equal(new URL(page.url()).pathname, '/invitations/accept', 'no account, still on the invitation');

    await password.fill(COLLEAGUE.password);
    await meterText.getByText(/^Strong/).waitFor();
    await page.getByLabel('Repeat the password').fill('something else');
    await page.getByRole('button', { name: 'Create account and accept' }).click();
    await page.getByText('the two passwords differ').waitFor();
    await focusReaches(page.getByLabel('Repeat the password'));
    await page.getByLabel('Repeat the password').fill(COLLEAGUE.password);
    await page.getByRole('button', { name: 'Create account and accept' }).click();
    await page.waitForURL(`${studio.usher.url}/`);
    await page.getByRole('heading', { name: 'Control panel' }).waitFor();
    await page.getByRole('link', { name: 'Acme', exact: true }).waitFor();
    await screen(page, 'control-panel-new-user');

    // An operator in one environment sees that environment and no user management.
    await page.getByRole('link', { name: 'Acme', exact: true }).click();
    await page.getByRole('link', { name: 'Acme production' }).waitFor();
    const nav = page.getByRole('navigation', { name: 'Agency' });
    assert.equal(await nav.getByRole('link', { name: 'Users' }).count(), 0);
    assert.equal(await page.getByRole('button', { name: 'Invite user' }).count(), 0);
    assert.equal(await page.getByRole('link', { name: 'Acme test' }).count(), 0);

    // The link is used now: opening it again says so.
    await page.goto(link);
    await page.getByRole('heading', { name: 'This invitation has already been used' }).waitFor();
    await screen(page, 'accept-used');
    ids.colleagueBrowser = studio.browsers.length - 1;
  });

  step('revokes a pending invitation from its row\'s menu after a confirmation naming what is lost', async () => {
    const inv = await ok('POST', `/agencies/${ids.agency}/invitations`, {
      token: managerToken,
      body: { email: 'temp@acme.test', grants: [{ environment_id: ids.env2, roles: ['agent'] }] },
    });
    const link = linkIn(await studio.smtp.waitFor('temp@acme.test'));
    const { page } = manager;
    await page.goto(`${studio.usher.url}/agencies/${ids.agency}/users`);
    const row = page.getByRole('row', { name: /temp@acme\.test/ });
    await row.getByRole('button', { name: 'Actions for temp@acme.test' }).click();
    await page.getByRole('menuitem', { name: 'Revoke invitation' }).click();
    const dialog = page.getByRole('dialog', { name: 'Revoke invitation' });
    const said = await dialog.textContent();
    assert.match(said, /Acme test/);
    assert.match(said, /Agent/);
    assert.match(said, /stops working/);
    await screen(page, 'confirm-revoke');
    await dialog.getByRole('button', { name: 'Revoke invitation' }).click();
    await row.waitFor({ state: 'detached' });
    assert.equal((await ok('GET', `/invitations/${inv.id}`)).status, 'revoked');

    const visitor = await browser();
    await visitor.page.goto(link);
    await visitor.page.getByRole('heading', { name: 'This invitation was withdrawn' }).waitFor();
    assert.match(await visitor.page.locator('main').textContent(), /Mia Manager at Acme/);
    await screen(visitor.page, 'accept-revoked');
  });

  step('tells the invitee of an expired link whom to ask', async () => {
    const inv = await ok('POST', `/agencies/${ids.agency}/invitations`, {
      token: managerToken,
      body: { email: 'late@acme.test', grants: [{ roles: ['agent'] }], expires_in_seconds: 1, send_email: false },
    });
    await new Promise((r) => setTimeout(r, 1500));
    const { page } = studio.browsers[studio.browsers.length - 1];
    await page.goto(inv.url);
    await page.getByRole('heading', { name: 'This invitation has expired' }).waitFor();
    assert.match(await page.locator('main').textContent(), /Ask Mia Manager at Acme to send you a new one/);
    await screen(page, 'accept-expired');
  });

  step('delegates a bot from its Options tab and shows the Shared badge once accepted', async () => {
    const { page } = manager;
    await page.goto(`${studio.usher.url}/bots/${ids.bot}`);
    await page.getByRole('link', { name: 'Options' }).click();
    await page.getByRole('heading', { name: 'Delegate access to managers' }).waitFor();
    await page.getByLabel('Email of the new manager').fill(BOT_DEV.email);
    await page.getByRole('button', { name: 'Send invitation' }).click();
    await page.getByText(`Invitation sent to ${BOT_DEV.email}`).waitFor();
    await page.getByRole('heading', { name: 'Invited, not yet accepted' }).waitFor();
    await screen(page, 'bot-options');

    const dev = await browser();
    await dev.page.goto(linkIn(await studio.smtp.waitFor(BOT_DEV.email)));
    await dev.page.getByRole('heading', { name: 'Join Acme' }).waitFor();
    assert.match(await dev.page.locator('main').textContent(), /Bot manager/);
    await dev.page.getByLabel('First name').fill('Bob');
    await dev.page.getByLabel('Last name').fill('Builder');
    await dev.page.getByLabel('Password', { exact: true }).fill(BOT_DEV.password);
    await dev.page.getByLabel('Repeat the password').fill(BOT_DEV.password);
    await dev.page.getByRole('button', { name: 'Create account and accept' }).click();
    await dev.page.getByRole('heading', { name: 'Control panel' }).waitFor();

    await page.goto(`${studio.usher.url}/environments/${ids.env}`);
    const item = page.getByRole('listitem').filter({ hasText: 'Website bot' });
    await item.getByText('Shared', { exact: true }).waitFor();
    await screen(page, 'environment-shared');
    await page.goto(`${studio.usher.url}/bots/${ids.bot}/options`);
    await page.getByText('Bob Builder').waitFor();
    await screen(page, 'bot-options-shared');
  });

  step('lets an existing user accept a pending invitation from the control panel', async () => {
    const globex = (await ok('POST', '/agencies', { body: { name: 'Globex' } })).id;
    await ok('POST', `/agencies/${globex}/invitations`, {
      body: { email: COLLEAGUE.email, grants: [{ roles: ['analyst'] }], send_email: false },
    });
    const { page } = studio.browsers[ids.colleagueBrowser];
    await page.goto(`${studio.usher.url}/`);
    const card = page.getByRole('listitem', { name: 'Invitation to Globex' });
    await card.waitFor();
    assert.match(await card.textContent(), /Analyst/);
    await screen(page, 'control-panel-pending');
    await card.getByRole('button', { name: 'Accept' }).click();
    await page.getByText('You joined Globex').waitFor();
    await card.waitFor({ state: 'detached' });
    await page.getByRole('link', { name: 'Globex', exact: true }).waitFor();
  });

  step('shows the roles, API tokens, audit log and agencies screens to a platform admin', async () => {
    const admin = await browser();
    const { page } = admin;
    await signIn(page, ADMIN);
    await page.goto(`${studio.usher.url}/agencies`);
    await page.getByRole('link', { name: 'Globex' }).waitFor();
    await screen(page, 'agencies');
    await page.goto(`${studio.usher.url}/agencies/${ids.agency}/roles`);
    await page.getByRole('heading', { name: 'Organisation manager' }).waitFor();
    await page.getByRole('button', { name: 'New custom role' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Night shift');
    // The identifier grants use is made from the name as it is typed, and may be changed.
    const identifier = page.getByLabel(/^Identifier/);
    assert.equal(await identifier.inputValue(), 'night_shift');
    await page.getByRole('checkbox', { name: /inbox\.reply/ }).check();
    await page.getByRole('checkbox', { name: /crm\.read/ }).check();
    await screen(page, 'roles-new');
    await page.getByRole('button', { name: 'Create role' }).click();
    const custom = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: 'Night shift' }) });
    await custom.getByText('custom', { exact: true }).waitFor();
    await custom.getByText('night_shift', { exact: true }).waitFor();
    // Each permission says what it allows, its code beside it.
    const chip = custom.locator('.perm').filter({ hasText: 'inbox.reply' });
    assert.match((await chip.textContent()).replace(/\s+/g, ' '), /^Reply to incoming conversations inbox\.reply$/);
    await screen(page, 'roles');
    // A name that makes no identifier: the console asks for one, and the server names the field.
    await page.getByRole('button', { name: 'New custom role' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Ночная смена');
    assert.equal(await identifier.inputValue(), '');
    await page.getByRole('checkbox', { name: /inbox\.reply/ }).check();
    await page.getByRole('button', { name: 'Create role' }).click();
    await page.locator('.field-invalid').filter({ has: identifier }).getByText(/^Identifier is required/).waitFor();
    await identifier.fill('night_ru');
    await page.getByRole('button', { name: 'Create role' }).click();
    await page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: 'Ночная смена' }) }).getByText('night_ru').waitFor();
    const listed = await admin.context.request.get(`${studio.usher.url}/api/v1/agencies/${ids.agency}/roles`);
    const customIds = (await listed.json()).items.filter((r) => !r.built_in).map((r) => [r.id, r.name]);
    assert.deepEqual(customIds, [['night_shift', 'Night shift'], ['night_ru', 'Ночная смена']]);

    await page.goto(`${studio.usher.url}/agencies/${ids.agency}/tokens`);
    await page.getByRole('heading', { name: 'API tokens', level: 1 }).waitFor();
    await page.getByLabel('New token name').fill('Inbox service');
    await page.getByRole('button', { name: 'Create token' }).click();
    await page.getByText('it is not shown again').waitFor();
    const secret = await page.locator('.secret code').textContent();
    const check = await studio.usher.api('POST', '/api/v1/check', {
      token: secret,
      body: { user_id: 'usr_nobody', permission: 'bot.read', agency_id: ids.agency },
    });
    assert.equal(check.status, 200, 'the token shown works for the check API');
    await screen(page, 'tokens');
    await page.getByRole('row', { name: /Inbox service/ }).getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('dialog', { name: 'Revoke Inbox service' }).getByRole('button', { name: 'Revoke token' }).click();
    await page.getByRole('row', { name: /Inbox service/ }).getByText(/^Revoked/).waitFor();

    await page.goto(`${studio.usher.url}/agencies/${ids.agency}/audit`);
    await page.getByRole('heading', { name: 'Audit log', level: 1 }).waitFor();
    // Entries read as sentences that name the people (tests/e2e/audit.test.mjs goes further).
    await page.locator('.audit-sentence', { hasText: / invited / }).first().waitFor();
    await page.locator('.audit-sentence strong', { hasText: 'Mia Manager' }).first().waitFor();
    // A bot manager's invitation names the bot.
    await page.locator('.audit-sentence', { hasText: 'invited bob@freelance.test as Bot manager on Website bot' }).waitFor();
    await screen(page, 'audit');
    const href = await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href');
    const csv = await admin.context.request.get(`${studio.usher.url}${href}`);
    assert.equal(csv.status(), 200);
    assert.match(await csv.text(), /invitation\.created/);
  });

  step('shows a member in the user panel: grants per environment, an edit with its error, the audit tab', async () => {
    const { page } = manager;
    await page.goto(`${studio.usher.url}/agencies/${ids.agency}/users`);
    const row = page.getByRole('row', { name: /Cleo Colleague/ });
    assert.match(await row.textContent(), /Active/);
    await row.getByRole('link', { name: 'Cleo Colleague' }).click();
    const panel = page.getByRole('complementary', { name: 'Cleo Colleague' });
    const prod = panel.getByRole('listitem').filter({ hasText: 'Acme production' });
    await prod.getByText('granted here').waitFor();
    assert.match(await prod.textContent(), /Operator/);
    assert.match(await panel.getByRole('listitem').filter({ hasText: 'Acme test' }).textContent(), /No access/);
    await screen(page, 'user-panel');

    // Names belong to the person: an organisation manager changes the shortcode only.
    assert.equal(await panel.getByRole('button', { name: 'Edit names and shortcode' }).count(), 0);
    await panel.getByRole('button', { name: 'Edit shortcode' }).click();
    await panel.getByText('Names belong to the person').waitFor();
    assert.equal(await panel.getByRole('textbox', { name: /First name/ }).count(), 0);
    await panel.getByLabel('Shortcode').fill('MIA');
    await panel.getByRole('button', { name: 'Save', exact: true }).click();
    const shortcode = panel.getByLabel('Shortcode');
    await page.waitForFunction(() => document.querySelector('aside input[name=shortcode]')?.getAttribute('aria-invalid') === 'true');
    const errId = (await shortcode.getAttribute('aria-describedby')).split(' ').pop();
    assert.ok((await page.locator(`[id="${errId}"]`).textContent()).length > 0);
    await shortcode.fill('CC2');
    await panel.getByRole('button', { name: 'Save', exact: true }).click();
    await panel.getByText('CC2', { exact: true }).waitFor();

    // A custom role is offered by its display name, sent by its identifier, shown by name.
    await panel.getByRole('button', { name: 'Edit access' }).click();
    await panel.getByRole('checkbox', { name: /^Night shift/ }).check();
    const sent = page.waitForRequest((r) => r.method() === 'PUT' && r.url().endsWith('/grants'));
    await panel.getByRole('button', { name: 'Save access' }).click();
    // Save first shows what would change; the change goes out once confirmed.
    await panel.getByRole('button', { name: 'Confirm and save' }).click();
    const body = (await sent).postDataJSON();
    assert.deepEqual(body.grants.find((g) => g.environment_id === ids.env).roles.sort(), ['night_shift', 'operator']);
    await prod.getByText('Operator, Night shift').waitFor();

    await panel.getByRole('tab', { name: 'Audit log' }).click();
    await panel.getByRole('tabpanel').locator('[data-action="member.updated"]', { hasText: /set the shortcode of Cleo Colleague to/ }).first().waitFor();
    await screen(page, 'user-panel-audit');
    await panel.getByRole('button', { name: 'Close the panel' }).click();
  });

  step('impersonates a user from their row\'s menu and exits from the banner', async () => {
    const { page } = manager;
    await page.goto(`${studio.usher.url}/agencies/${ids.agency}/users`);
    await page.getByRole('button', { name: 'Actions for Cleo Colleague' }).click();
    await page.getByRole('menuitem', { name: 'See the studio as Cleo Colleague' }).click();
    const banner = page.getByRole('region', { name: 'Impersonation' });
    await banner.waitFor();
    assert.match(await banner.textContent(), /Cleo Colleague/);
    // The studio as Cleo sees it: her environment only, and nothing to change.
    await page.getByRole('link', { name: 'Acme production' }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'Acme test' }).count(), 0);
    assert.equal(await page.getByRole('button', { name: 'Invite user' }).count(), 0);
    await screen(page, 'impersonation');
    await banner.getByRole('button', { name: 'Exit' }).click();
    await banner.waitFor({ state: 'detached' });
    await page.getByRole('heading', { name: 'Users', level: 1 }).waitFor();
    await page.getByText('Mia Manager', { exact: true }).first().waitFor();
  });

  step('removes a member from their row\'s menu after a confirmation naming what is lost', async () => {
    const { page } = manager;
    await page.goto(`${studio.usher.url}/agencies/${ids.agency}/users`);
    const row = page.getByRole('row', { name: /Cleo Colleague/ });
    await row.getByRole('button', { name: 'Actions for Cleo Colleague' }).click();
    await page.getByRole('menuitem', { name: 'Remove from agency' }).click();
    const dialog = page.getByRole('dialog', { name: 'Remove Cleo Colleague' });
    assert.match(await dialog.textContent(), /Acme production: Operator, Night shift/);
    await screen(page, 'confirm-remove');
    await dialog.getByRole('button', { name: 'Remove from agency' }).click();
    await page.getByText('Cleo Colleague was removed from Acme').waitFor();
    await row.waitFor({ state: 'detached' });
    const left = await ok('GET', `/agencies/${ids.agency}/users?q=cleo`);
    assert.deepEqual(left.items, [], 'Cleo is no longer a member');
  });

  // A new customer from the start: the platform admin brings in their first environment
  // manager, who then invites colleagues into their own environment, and no further.
  step('lets the platform admin invite a customer\'s first environment manager, with Operator, from the console', async () => {
    ids.nw = (await ok('POST', '/agencies', { body: { name: 'Northwind' } })).id;
    ids.nwWeb = (await ok('POST', `/agencies/${ids.nw}/environments`, { body: { name: 'Northwind web' } })).id;
    ids.nwIntranet = (await ok('POST', `/agencies/${ids.nw}/environments`, { body: { name: 'Northwind intranet' } })).id;
    const admin = await browser();
    const { page } = admin;
    await signIn(page, ADMIN);
    await page.goto(`${studio.usher.url}/environments/${ids.nwWeb}`);
    await page.getByRole('button', { name: 'Invite user' }).click();
    const dialog = page.getByRole('dialog', { name: 'Invite user' });
    await dialog.getByRole('checkbox', { name: /^Environment manager/ }).check();
    await dialog.getByRole('checkbox', { name: /^Operator/ }).check();
    await dialog.getByLabel('Email', { exact: true }).fill(ENV_MANAGER.email);
    await dialog.getByLabel('First name').fill('Erin');
    await dialog.getByLabel('Last name').fill('Northwind');
    await dialog.getByRole('button', { name: 'Send invitation' }).click();
    await page.getByText(`Invitation sent to ${ENV_MANAGER.email}`).waitFor();
    await dialog.waitFor({ state: 'detached' });
    const inv = (await ok('GET', `/agencies/${ids.nw}/invitations?status=pending`)).items.find((i) => i.email === ENV_MANAGER.email);
    assert.deepEqual(
      inv.grants.map((g) => ({ ...g, roles: [...g.roles].sort() })),
      [{ environment_id: ids.nwWeb, roles: ['environment_manager', 'operator'], extra_permissions: [] }],
    );
  });

  step('lets the environment manager accept from the emailed link, then sign in to the console', async () => {
    const link = linkIn(await studio.smtp.waitFor(ENV_MANAGER.email));
    const b = await browser();
    const said = await acceptAsNew(b.page, link, ENV_MANAGER, 'Erin', 'Northwind');
    assert.match(said, /Join Northwind/);
    assert.match(said, /Environment manager/);
    assert.match(said, /Operator/);
    await b.page.getByRole('button', { name: 'Sign out' }).click();
    await b.page.waitForURL(/\/signin/);
    await signIn(b.page, ENV_MANAGER);
    await b.page.getByRole('link', { name: 'Northwind', exact: true }).waitFor();
    ids.envManagerBrowser = studio.browsers.length - 1;
    ids.envManager = (await ok('GET', `/agencies/${ids.nw}/users?q=erin`)).items[0].id;
  });

  step('offers the environment manager exactly what they may give in their environment, and says why the rest is missing', async () => {
    const { page } = studio.browsers[ids.envManagerBrowser];
    await page.goto(`${studio.usher.url}/environments/${ids.nwWeb}`);
    await page.getByRole('button', { name: 'Invite user' }).click();
    const dialog = page.getByRole('dialog', { name: 'Invite user' });
    // Their environment only: never the whole agency, never the other environment.
    assert.deepEqual(await dialog.getByLabel('Where').locator('option').allTextContents(), ['Northwind web']);
    assert.deepEqual(await offeredRoles(dialog), ENV_MANAGER_ROLES);
    for (const name of ['Organisation manager', 'Owner']) {
      assert.equal(await dialog.getByRole('checkbox', { name: new RegExp(`^${name}`) }).count(), 0, `${name} is not offered`);
    }
    const missing = await dialog.getByRole('list', { name: 'Not available here' }).textContent();
    assert.match(missing, /Organisation manager is given for the whole agency only/);
    assert.match(missing, /Owner is given for the whole agency only/);

    // With no role ticked there is nothing to send, and the dialog says so.
    const send = dialog.getByRole('button', { name: 'Send invitation' });
    assert.equal(await send.isDisabled(), true);
    const hint = dialog.getByText('Choose at least one role');
    await hint.waitFor();
    assert.equal(await send.getAttribute('aria-describedby'), await hint.getAttribute('id'));
    await screen(page, 'invite-dialog-environment-manager');

    // Extra permissions by their description and kind: work may be given, authority not held may not.
    await dialog.getByText('Extra permissions').click();
    const create = dialog.getByRole('group', { name: 'Authority' }).getByRole('checkbox', { name: 'Create environments in the agency' });
    assert.equal(await create.isDisabled(), true);
    const why = await page.locator(`[id="${await create.getAttribute('aria-describedby')}"]`).textContent();
    assert.match(why, /environments\.create, an authority you do not hold in this environment/);
    assert.equal(await dialog.getByRole('group', { name: 'Work' }).getByRole('checkbox', { name: 'Reply to incoming conversations' }).isDisabled(), false);
    await screen(page, 'invite-dialog-extras');
    await dialog.getByText('Extra permissions').click();

    const roles = dialog.getByRole('group', { name: 'Roles', exact: true });
    await roles.getByRole('checkbox', { name: /^Content manager/ }).check();
    await roles.getByRole('checkbox', { name: /^Analyst/ }).check();
    assert.equal(await send.isDisabled(), false);
    assert.equal(await hint.count(), 0);

    // Inviting oneself is refused beside the email, and the focus goes there.
    const email = dialog.getByLabel('Email', { exact: true });
    await email.fill(ENV_MANAGER.email);
    await send.click();
    await page.waitForFunction(() => document.activeElement?.getAttribute('name') === 'email' && document.activeElement.getAttribute('aria-invalid') === 'true');
    const emailError = (await email.getAttribute('aria-describedby')).split(' ').pop();
    assert.match(await page.locator(`[id="${emailError}"]`).textContent(), /cannot invite yourself/);

    // A refusal that comes anyway (their authority went while the dialog was open) appears
    // beside the grant it is about, with the focus inside it.
    await email.fill(CONTENT.email);
    const grantsPath = `/agencies/${ids.nw}/users/${ids.envManager}/grants`;
    await ok('PUT', grantsPath, { body: { grants: [{ environment_id: ids.nwWeb, roles: ['operator'] }] } });
    await send.click();
    const row = dialog.getByRole('group', { name: 'Access 1' });
    // The dialog also asks again what may be given, so every role may soon say the same: the
    // refusal meant is the one the row is described by.
    await row.getByText('You need users.invite in this environment.').first().waitFor();
    // The focus moves once the refusal is drawn: wait for it rather than read it at once.
    await page.waitForFunction(() => document.activeElement?.getAttribute('name') === 'grants[0].scope');
    const rowNote = (await row.getAttribute('aria-describedby')).split(' ').pop();
    assert.match(await row.locator(`[id="${rowNote}"]`).textContent(), /You need users\.invite in this environment\./);
    await ok('PUT', grantsPath, { body: { grants: [{ environment_id: ids.nwWeb, roles: ['environment_manager', 'operator'] }] } });

    await send.click();
    await page.getByText(`Invitation sent to ${CONTENT.email}`).waitFor();
    await dialog.waitFor({ state: 'detached' });
    const inv = (await ok('GET', `/agencies/${ids.nw}/invitations?status=pending`)).items.find((i) => i.email === CONTENT.email);
    assert.deepEqual(
      inv.grants.map((g) => ({ ...g, roles: [...g.roles].sort() })),
      [{ environment_id: ids.nwWeb, roles: ['analyst', 'content_manager'], extra_permissions: [] }],
    );
  });

  step('lets the invited content manager accept from the emailed link and land in the console', async () => {
    const link = linkIn(await studio.smtp.waitFor(CONTENT.email));
    const b = await browser();
    const said = await acceptAsNew(b.page, link, CONTENT, 'Carl', 'Content');
    assert.match(said, /Erin Northwind/);
    assert.match(said, /Content manager/);
    assert.match(said, /Analyst/);
    await b.page.getByRole('link', { name: 'Northwind', exact: true }).click();
    await b.page.getByRole('link', { name: 'Northwind web' }).waitFor();
    assert.equal(await b.page.getByRole('link', { name: 'Northwind intranet' }).count(), 0);
    assert.equal(await b.page.getByRole('button', { name: 'Invite user' }).count(), 0);
  });

  step('lets the environment manager change a colleague\'s shortcode and access but not their names, nor their own access', async () => {
    const { page } = studio.browsers[ids.envManagerBrowser];
    await page.goto(`${studio.usher.url}/agencies/${ids.nw}/users`);
    await page.getByRole('row', { name: /Carl Content/ }).getByRole('link', { name: 'Carl Content' }).click();
    const panel = page.getByRole('complementary', { name: 'Carl Content' });
    assert.equal(await panel.getByRole('button', { name: 'Edit names and shortcode' }).count(), 0);
    await panel.getByRole('button', { name: 'Edit shortcode' }).click();
    await panel.getByText('Names belong to the person').waitFor();
    assert.equal(await panel.getByRole('textbox', { name: /First name|Last name/ }).count(), 0);
    await screen(page, 'user-panel-names-belong-to-person');
    await panel.getByLabel('Shortcode').fill('NW1');
    await panel.getByRole('button', { name: 'Save', exact: true }).click();
    await panel.getByText('NW1', { exact: true }).waitFor();
    const carl = (await ok('GET', `/agencies/${ids.nw}/users?q=carl`)).items[0];
    assert.deepEqual([carl.first_name, carl.last_name, carl.shortcode], ['Carl', 'Content', 'NW1']);

    // Changing a colleague's access offers what the server allows for managing people.
    await panel.getByRole('button', { name: 'Edit access' }).click();
    assert.deepEqual(await offeredRoles(panel), ENV_MANAGER_ROLES);
    assert.match(await panel.getByRole('list', { name: 'Not available here' }).textContent(), /Owner is given for the whole agency only/);
    await panel.getByRole('button', { name: 'Cancel' }).click();
    await panel.getByRole('button', { name: 'Close the panel' }).click();

    await page.getByRole('row', { name: /Erin Northwind/ }).getByRole('link', { name: 'Erin Northwind' }).click();
    const own = page.getByRole('complementary', { name: 'Erin Northwind' });
    await own.getByText('Nobody changes their own access').waitFor();
    assert.equal(await own.getByRole('button', { name: 'Edit access' }).count(), 0);
    await own.getByRole('button', { name: 'Close the panel' }).click();
  });
});
