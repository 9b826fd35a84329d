// The web console in headless Chromium against the real binary and a real SMTP server: a
// manager signs in and invites a colleague from the dialog, the colleague follows the emailed
// link, sets a password and lands in the console; copy link; revoke; expired and used links;
// delegating a bot and its Shared badge; an existing user accepting from the control panel;
// impersonation and member removal once the server has their routes. Every screen is checked
// with axe-core (no serious or critical finding) and photographed at 1280 and 390 px.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { startUsher } from '../api/lib/harness.mjs';
import { captureScreen, openBrowser, screenshotDir } from './lib/browser.mjs';
import { linkIn, startSmtp } from './lib/smtp.mjs';

const ADMIN = { email: 'admin@studio.test', password: 'admin-password-1' };
const MANAGER = { email: 'mia@acme.test', password: 'manager-password-1' };
const COLLEAGUE = { email: 'cleo@acme.test', password: 'colleague-password-1' };
const BOT_DEV = { email: 'bob@freelance.test', password: 'botdev-password-1' };

describe('the web console', () => {
  let smtp;
  let usher;
  let adminToken;
  let managerToken;
  const ids = {};
  const browsers = [];
  let manager; // the manager's browser

  async function call(method, path, { token = adminToken, body } = {}) {
    const r = await usher.api(method, `/api/v1${path}`, { token, body });
    return r;
  }

  async function ok(method, path, opts) {
    const r = await call(method, path, opts);
    assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${r.text}`);
    return r.json;
  }

  async function browser() {
    const b = await openBrowser(usher.url);
    browsers.push(b);
    return b;
  }

  async function screen(page, name) {
    const violations = await captureScreen(page, name);
    assert.deepEqual(violations, [], `axe on ${name}`);
  }

  // A test whose failure leaves a picture of every open page under build/e2e-screenshots/.
  function step(name, fn) {
    it(name, async (t) => {
      try {
        await fn(t);
      } catch (e) {
        mkdirSync(screenshotDir, { recursive: true });
        for (const [i, b] of browsers.entries()) {
          const file = path.join(screenshotDir, `failed-${name.slice(0, 40).replace(/[^a-z0-9]+/gi, '-')}-${i}.png`);
          await b.page.screenshot({ path: file, fullPage: true }).catch(() => {});
        }
        throw e;
      }
    });
  }

  before(async () => {
    smtp = await startSmtp();
    usher = await startUsher({
      env: {
        USHER_SMTP_URL: smtp.url,
        USHER_SMTP_FROM: 'studio@studio.test',
        USHER_ADMIN_EMAIL: ADMIN.email,
        USHER_ADMIN_PASSWORD: ADMIN.password,
      },
    });
    adminToken = (await ok('POST', '/sessions', { token: null, body: ADMIN })).token;
    ids.agency = (await ok('POST', '/agencies', { body: { name: 'Acme' } })).id;
    ids.env = (await ok('POST', `/agencies/${ids.agency}/environments`, { body: { name: 'Acme production' } })).id;
    ids.env2 = (await ok('POST', `/agencies/${ids.agency}/environments`, { body: { name: 'Acme test' } })).id;
    ids.bot = (await ok('POST', `/environments/${ids.env}/bots`, { body: { name: 'Website bot' } })).id;
    const inv = await ok('POST', `/agencies/${ids.agency}/invitations`, {
      body: {
        email: MANAGER.email,
        first_name: 'Mia',
        last_name: 'Manager',
        shortcode: 'MIA',
        grants: [{ roles: ['organisation_manager', 'developer', 'operator'] }],
        send_email: false,
      },
    });
    const token = new URL(inv.url).hash.replace('#token=', '');
    managerToken = (await ok('POST', '/invitations/accept', { token: null, body: { token, password: MANAGER.password } })).token;
    manager = await browser();
  });

  after(async () => {
    for (const b of browsers) await b.close().catch(() => {});
    const problems = browsers.flatMap((b) => b.problems);
    if (usher) assert.equal(await usher.stop(), 0);
    if (smtp) await smtp.close();
    assert.deepEqual(problems, [], 'no page errors and no Content-Security-Policy violations');
  });

  step('sends a signed-out visitor to sign in, shows a wrong password, then signs the manager in', async () => {
    const { page } = manager;
    await page.goto(`${usher.url}/agencies/${ids.agency}/users`);
    await page.waitForURL(/\/signin\?next=/);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await screen(page, 'signin');
    await page.getByLabel('Email').fill(MANAGER.email);
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    await page.getByLabel('Password').fill(MANAGER.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${usher.url}/agencies/${ids.agency}/users`);
    await page.getByRole('heading', { name: 'Users', level: 1 }).waitFor();
  });

  step('shows the control panel, the agency and an environment', async () => {
    const { page } = manager;
    await page.goto(`${usher.url}/`);
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
    await page.goto(`${usher.url}/environments/${ids.env}`);
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
    await page.goto(`${usher.url}/agencies/${ids.agency}/users`);
    const row = page.getByRole('row', { name: new RegExp(COLLEAGUE.email) });
    await row.waitFor();
    assert.match(await row.textContent(), /Invited/);
    await screen(page, 'users');
    await row.getByRole('button', { name: `Copy the invitation link for ${COLLEAGUE.email}` }).click();
    await row.getByText('Link copied').waitFor();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    const { url } = await ok('GET', `/invitations/${ids.colleagueInvitation}/link`);
    assert.equal(copied, url);
    const mail = await smtp.waitFor(COLLEAGUE.email);
    assert.equal(linkIn(mail), url, 'copy link gives the emailed link');

    await page.getByRole('link', { name: 'Cleo Colleague' }).click();
    const panel = page.getByRole('complementary', { name: COLLEAGUE.email });
    await panel.getByText('Access it gives').waitFor();
    await screen(page, 'invitation-panel');
    await panel.getByRole('button', { name: 'Close the panel' }).click();
  });

  step('lets the colleague follow the emailed link, set a password and land in the console', async () => {
    const mail = await smtp.waitFor(COLLEAGUE.email);
    const link = linkIn(mail);
    const { page } = await browser();
    await page.goto(link);
    await page.getByRole('heading', { name: 'Join Acme' }).waitFor();
    const text = await page.locator('main').textContent();
    assert.match(text, /Mia Manager/);
    assert.match(text, /Operator/);
    assert.match(text, /Valid until/);
    await screen(page, 'accept-new-user');
    await page.getByLabel('Password', { exact: true }).fill(COLLEAGUE.password);
    await page.getByLabel('Repeat the password').fill('something else');
    await page.getByRole('button', { name: 'Create account and accept' }).click();
    await page.getByText('the two passwords differ').waitFor();
    await page.getByLabel('Repeat the password').fill(COLLEAGUE.password);
    await page.getByRole('button', { name: 'Create account and accept' }).click();
    await page.waitForURL(`${usher.url}/`);
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
    ids.colleagueBrowser = browsers.length - 1;
  });

  step('revokes a pending invitation with the trashcan after a confirmation naming what is lost', async () => {
    const inv = await ok('POST', `/agencies/${ids.agency}/invitations`, {
      token: managerToken,
      body: { email: 'temp@acme.test', grants: [{ environment_id: ids.env2, roles: ['agent'] }] },
    });
    const link = linkIn(await smtp.waitFor('temp@acme.test'));
    const { page } = manager;
    await page.goto(`${usher.url}/agencies/${ids.agency}/users`);
    const row = page.getByRole('row', { name: /temp@acme\.test/ });
    await row.getByRole('button', { name: 'Revoke the invitation for temp@acme.test' }).click();
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
    const { page } = browsers[browsers.length - 1];
    await page.goto(inv.url);
    await page.getByRole('heading', { name: 'This invitation has expired' }).waitFor();
    assert.match(await page.locator('main').textContent(), /Ask Mia Manager at Acme to send you a new one/);
    await screen(page, 'accept-expired');
  });

  step('delegates a bot from its Options tab and shows the Shared badge once accepted', async () => {
    const { page } = manager;
    await page.goto(`${usher.url}/bots/${ids.bot}`);
    await page.getByRole('link', { name: 'Options' }).click();
    await page.getByRole('heading', { name: 'Delegate access to managers' }).waitFor();
    await page.getByLabel('Email of the new manager').fill(BOT_DEV.email);
    await page.getByRole('button', { name: 'Send invitation' }).click();
    await page.getByText(`Invitation sent to ${BOT_DEV.email}`).waitFor();
    await page.getByRole('heading', { name: 'Invited, not yet accepted' }).waitFor();
    await screen(page, 'bot-options');

    const dev = await browser();
    await dev.page.goto(linkIn(await smtp.waitFor(BOT_DEV.email)));
    await dev.page.getByRole('heading', { name: 'Join Acme' }).waitFor();
    assert.match(await dev.page.locator('main').textContent(), /Bot manager/);
    await dev.page.getByLabel('First name').fill('Bob');
    await dev.page.getByLabel('Last name').fill('Builder');
    await dev.page.getByLabel('Password', { exact: true }).fill(BOT_DEV.password);
    await dev.page.getByLabel('Repeat the password').fill(BOT_DEV.password);
    await dev.page.getByRole('button', { name: 'Create account and accept' }).click();
    await dev.page.getByRole('heading', { name: 'Control panel' }).waitFor();

    await page.goto(`${usher.url}/environments/${ids.env}`);
    const item = page.getByRole('listitem').filter({ hasText: 'Website bot' });
    await item.getByText('Shared', { exact: true }).waitFor();
    await screen(page, 'environment-shared');
    await page.goto(`${usher.url}/bots/${ids.bot}/options`);
    await page.getByText('Bob Builder').waitFor();
    await screen(page, 'bot-options-shared');
  });

  step('lets an existing user accept a pending invitation from the control panel', async () => {
    const globex = (await ok('POST', '/agencies', { body: { name: 'Globex' } })).id;
    await ok('POST', `/agencies/${globex}/invitations`, {
      body: { email: COLLEAGUE.email, grants: [{ roles: ['analyst'] }], send_email: false },
    });
    const { page } = browsers[ids.colleagueBrowser];
    await page.goto(`${usher.url}/`);
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
    await page.goto(`${usher.url}/signin`);
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Control panel' }).waitFor();
    await page.goto(`${usher.url}/agencies`);
    await page.getByRole('link', { name: 'Globex' }).waitFor();
    await screen(page, 'agencies');
    await page.goto(`${usher.url}/agencies/${ids.agency}/roles`);
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
    await screen(page, 'roles');
    // A name that makes no identifier: the console asks for one, and the server names the field.
    await page.getByRole('button', { name: 'New custom role' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Ночная смена');
    assert.equal(await identifier.inputValue(), '');
    await page.getByRole('checkbox', { name: /inbox\.reply/ }).check();
    await page.getByRole('button', { name: 'Create role' }).click();
    await page.locator('.field-invalid').filter({ has: identifier }).getByText(/^id is required/).waitFor();
    await identifier.fill('night_ru');
    await page.getByRole('button', { name: 'Create role' }).click();
    await page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: 'Ночная смена' }) }).getByText('night_ru').waitFor();
    const listed = await admin.context.request.get(`${usher.url}/api/v1/agencies/${ids.agency}/roles`);
    const customIds = (await listed.json()).items.filter((r) => !r.built_in).map((r) => [r.id, r.name]);
    assert.deepEqual(customIds, [['night_shift', 'Night shift'], ['night_ru', 'Ночная смена']]);

    await page.goto(`${usher.url}/agencies/${ids.agency}/tokens`);
    await page.getByRole('heading', { name: 'API tokens', level: 1 }).waitFor();
    await page.getByLabel('New token name').fill('Inbox service');
    await page.getByRole('button', { name: 'Create token' }).click();
    await page.getByText('it is not shown again').waitFor();
    const secret = await page.locator('.secret code').textContent();
    const check = await usher.api('POST', '/api/v1/check', {
      token: secret,
      body: { user_id: 'usr_nobody', permission: 'bot.read', agency_id: ids.agency },
    });
    assert.equal(check.status, 200, 'the token shown works for the check API');
    await screen(page, 'tokens');
    await page.getByRole('row', { name: /Inbox service/ }).getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('dialog', { name: 'Revoke Inbox service' }).getByRole('button', { name: 'Revoke token' }).click();
    await page.getByRole('row', { name: /Inbox service/ }).getByText(/^Revoked/).waitFor();

    await page.goto(`${usher.url}/agencies/${ids.agency}/audit`);
    await page.getByRole('heading', { name: 'Audit log', level: 1 }).waitFor();
    await page.getByRole('cell', { name: 'invitation.created' }).first().waitFor();
    await page.getByRole('cell', { name: 'Mia Manager' }).first().waitFor(); // actors are named
    await screen(page, 'audit');
    const href = await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href');
    const csv = await admin.context.request.get(`${usher.url}${href}`);
    assert.equal(csv.status(), 200);
    assert.match(await csv.text(), /invitation\.created/);
  });

  step('shows a member in the user panel: grants per environment, an edit with its error, the audit tab', async () => {
    const { page } = manager;
    await page.goto(`${usher.url}/agencies/${ids.agency}/users`);
    const row = page.getByRole('row', { name: /Cleo Colleague/ });
    assert.match(await row.textContent(), /Active/);
    await row.getByRole('link', { name: 'Cleo Colleague' }).click();
    const panel = page.getByRole('complementary', { name: 'Cleo Colleague' });
    const prod = panel.getByRole('listitem').filter({ hasText: 'Acme production' });
    await prod.getByText('granted here').waitFor();
    assert.match(await prod.textContent(), /Operator/);
    assert.match(await panel.getByRole('listitem').filter({ hasText: 'Acme test' }).textContent(), /No access/);
    await screen(page, 'user-panel');

    await panel.getByRole('button', { name: 'Edit names and shortcode' }).click();
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
    const body = (await sent).postDataJSON();
    assert.deepEqual(body.grants.find((g) => g.environment_id === ids.env).roles.sort(), ['night_shift', 'operator']);
    await prod.getByText('Operator, Night shift').waitFor();

    await panel.getByRole('tab', { name: 'Audit log' }).click();
    await panel.getByRole('tabpanel').getByRole('cell', { name: 'member.updated' }).waitFor();
    await screen(page, 'user-panel-audit');
    await panel.getByRole('button', { name: 'Close the panel' }).click();
  });

  step('impersonates a user from the person-arrow icon and exits from the banner', async () => {
    const { page } = manager;
    await page.goto(`${usher.url}/agencies/${ids.agency}/users`);
    await page.getByRole('button', { name: 'See the studio as Cleo Colleague' }).click();
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

  step('removes a member with the trashcan after a confirmation naming what is lost', async () => {
    const { page } = manager;
    await page.goto(`${usher.url}/agencies/${ids.agency}/users`);
    const row = page.getByRole('row', { name: /Cleo Colleague/ });
    await row.getByRole('button', { name: 'Remove Cleo Colleague' }).click();
    const dialog = page.getByRole('dialog', { name: 'Remove Cleo Colleague' });
    assert.match(await dialog.textContent(), /Acme production: Operator, Night shift/);
    await screen(page, 'confirm-remove');
    await dialog.getByRole('button', { name: 'Remove from agency' }).click();
    await page.getByText('Cleo Colleague was removed from Acme').waitFor();
    await row.waitFor({ state: 'detached' });
    const left = await ok('GET', `/agencies/${ids.agency}/users?q=cleo`);
    assert.deepEqual(left.items, [], 'Cleo is no longer a member');
  });
});
