// Company sign-in (OpenID Connect) in the web console, in headless Chromium against the real
// binary, a real SMTP server and a real OpenID provider (npm oidc-provider, its development
// login form in the same browser): an agency owner adds the connection in the console, copies
// the redirect URI, tests it and sees a refusal beside its field; invites someone choosing the
// company login; the invitee follows the emailed link, signs in at the provider and lands in
// the agency with the invited roles; a second agency invites the same person with a password
// and they accept it signed in, with no new credentials; the users overview shows how each
// member signs in; signing out goes through the provider and back to /signed-out; signing in
// again starts from the email; someone the provider knows but usher does not, and a callback
// whose state is unknown, get the problem page in words; the invitee, who has no password,
// deletes the account after signing in again with the company login. Every new screen is checked with
// axe-core (no serious or critical finding) and photographed at 1280, 1366 and 390 px.
import assert from 'node:assert/strict';
import { before, describe } from 'node:test';

import { startProvider } from '../api/lib/oidc_provider.mjs';
import { focusIs } from './lib/browser.mjs';
import { continueWithEmail, signInWithPassword } from './lib/signin.mjs';
import { linkIn } from './lib/smtp.mjs';
import { ADMIN, setUpStudio } from './lib/studio.mjs';

const OWNER = { email: 'olga@acme.test', password: 'linen-harbour-comet-5' };
// Known to the company's login (its subject) and invited by the owner to use it.
const DANA = { email: 'dana@acme.test', sub: 'dana-4711', first: 'Dana', last: 'Company' };
// Known to the company's login, never invited.
const EVE = { email: 'eve@acme.test', sub: 'eve-0815' };
// The owner's account at the company login.
const OLGA_SUB = 'olga-0042';

describe('company sign-in in the web console', () => {
  let idp;
  let client; // the provider's client for usher: {client_id, client_secret}
  const studio = setUpStudio({
    failurePrefix: 'failed-oidc-',
    // The provider of the test listens on http://127.0.0.1.
    env: { USHER_OIDC_ALLOW_INSECURE_LOOPBACK: '1' },
    // The provider's own pages ask for web fonts; that is not the console's doing.
    ignoreProblem: (p) => p.includes('fonts.googleapis.com'),
    beforeSmtpStop: async () => {
      if (idp) await idp.close();
    },
  });
  const { ok, browser, screen, step, member } = studio;
  const ids = {};
  let owner; // the owner's browser
  let dana; // the invitee's browser

  // The signed-in person's GET /me, asked from inside the page (its cookie).
  const meOf = (page) => page.evaluate(() => fetch('/api/v1/me', { headers: { Accept: 'application/json' } }).then((r) => r.json()));

  // Runs go (a click that leaves for the provider) and then the provider's development pages
  // as they come: its login form, where any login is accepted as that subject, and its consent
  // form (a browser with a session there may see neither); resolves once the provider has sent
  // the browser back to usher.
  async function throughProvider(page, sub, go) {
    const provider = new URL(idp.issuer).origin;
    let visited = false;
    // Every hop counts, redirects included: with a session at the provider the browser may
    // pass through it without stopping.
    const seen = (request) => {
      if (request.isNavigationRequest() && request.url().startsWith(provider)) visited = true;
    };
    page.on('request', seen);
    try {
      await go();
      const deadline = Date.now() + 15000;
      while (Date.now() < deadline) {
        const here = new URL(page.url());
        if (visited && here.origin === studio.usher.url) return;
        if (here.origin === provider) {
          try {
            const login = page.locator('input[name=login]');
            const consent = page.getByRole('button', { name: 'Continue' });
            if (await login.count()) {
              await login.fill(sub);
              await page.locator('input[name=password]').fill('anything');
              await page.getByRole('button', { name: 'Sign-in' }).click();
            } else if (await consent.count()) {
              await consent.click();
            }
          } catch {
            // The page moved on while being read: look again.
          }
        }
        await page.waitForTimeout(100);
      }
      throw new Error(`the provider did not send the browser back to usher (at ${page.url()})`);
    } finally {
      page.off('request', seen);
    }
  }

  before(async () => {
    const { url } = studio.usher;
    idp = await startProvider({ redirectUri: `${url}/api/v1/oidc/callback`, postLogoutRedirectUri: `${url}/signed-out` });
    idp.accounts.set(DANA.sub, { email: DANA.email, email_verified: true, given_name: DANA.first, family_name: DANA.last });
    idp.accounts.set(EVE.sub, { email: EVE.email, email_verified: true });
    client = idp.clients.rs256;
    ids.acme = (await ok('POST', '/agencies', { body: { name: 'Acme' } })).id;
    ids.acmeProd = (await ok('POST', `/agencies/${ids.acme}/environments`, { body: { name: 'Acme production' } })).id;
    ids.globex = (await ok('POST', '/agencies', { body: { name: 'Globex' } })).id;
    await member(ids.acme, { ...OWNER, first: 'Olga', last: 'Owner' }, [{ roles: ['owner'] }]);
    owner = await browser();
  });

  step('lets the owner add the company sign-in, copy the redirect URI, see a refusal at its field and test it', async () => {
    const { page } = owner;
    await page.goto(`${studio.usher.url}/signin`);
    await signInWithPassword(page, OWNER);
    await page.getByRole('heading', { name: 'Control panel' }).waitFor();
    await page.goto(`${studio.usher.url}/agencies/${ids.acme}`);
    await page.getByRole('navigation', { name: 'Agency' }).getByRole('link', { name: 'Company sign-in' }).click();
    await page.getByRole('heading', { name: 'Company sign-in', level: 1 }).waitFor();
    await page.getByText('No company sign-in yet').waitFor();
    await screen(page, 'oidc-connections-empty');

    await page.getByRole('button', { name: 'Add connection' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add company sign-in' });
    await dialog.waitFor();
    assert.equal(await dialog.getByLabel('Redirect URI').inputValue(), `${studio.usher.url}/api/v1/oidc/callback`);
    // The three algorithms usher accepts, all on for a new connection.
    const algs = dialog.getByRole('group', { name: 'ID token algorithms' }).getByRole('checkbox');
    assert.deepEqual(await algs.evaluateAll((els) => els.map((e) => [e.value, e.checked])), [
      ['RS256', true],
      ['PS256', true],
      ['ES256', true],
    ]);
    await dialog.getByLabel('Name').fill('Acme Login');
    // Not https and not loopback: refused, and said beside the issuer field.
    await dialog.getByLabel('Issuer URL').fill('http://login.acme.example');
    await dialog.getByLabel('Client ID').fill(client.client_id);
    await dialog.getByLabel('Client secret').fill(client.client_secret);
    await dialog.getByLabel('Email domains').fill('acme.test');
    await screen(page, 'oidc-connection-dialog');
    await dialog.getByRole('button', { name: 'Add connection' }).click();
    const issuer = dialog.getByLabel('Issuer URL');
    await page.waitForFunction(() => document.querySelector('dialog input[name=issuer]')?.getAttribute('aria-invalid') === 'true');
    const describedBy = (await issuer.getAttribute('aria-describedby')).split(' ');
    assert.match(await page.locator(`[id="${describedBy[describedBy.length - 1]}"]`).textContent(), /https/i);
    await focusIs(page, { name: 'issuer' }, 'the focus is on the refused field');
    await screen(page, 'oidc-connection-refused');

    await issuer.fill(idp.issuer);
    await dialog.getByRole('button', { name: 'Add connection' }).click();
    await dialog.waitFor({ state: 'detached' });
    const card = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: 'Acme Login' }) });
    await card.waitFor();
    const [conn] = (await ok('GET', `/agencies/${ids.acme}/oidc-connections`)).items;
    ids.connection = conn.id;
    assert.equal(conn.issuer, idp.issuer);
    assert.deepEqual(conn.domains, ['acme.test']);
    assert.ok(!('client_secret' in conn), 'the secret is never answered');
    assert.ok(!(await page.content()).includes(client.client_secret), 'the secret is nowhere in the page');

    await card.getByRole('button', { name: 'Copy' }).click();
    await card.getByRole('button', { name: 'Copied' }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), `${studio.usher.url}/api/v1/oidc/callback`);

    await card.getByRole('button', { name: 'Test connection' }).click();
    const outcome = card.getByRole('status');
    await outcome.getByText('Acme Login works.').waitFor();
    const said = await outcome.textContent();
    assert.match(said, new RegExp(idp.issuer.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    assert.match(said, /Signing keys\s*[1-9]/);
    await screen(page, 'oidc-connections');

    // Editing keeps the secret unless a new one is typed.
    await card.getByRole('button', { name: 'Edit' }).click();
    const edit = page.getByRole('dialog', { name: 'Edit Acme Login' });
    assert.equal(await edit.getByLabel('Client secret').inputValue(), '');
    await edit.getByText('Leave empty to keep the current secret').waitFor();
    await edit.getByRole('button', { name: 'Save' }).click();
    await edit.waitFor({ state: 'detached' });
    await card.getByRole('button', { name: 'Test connection' }).click();
    await card.getByRole('status').getByText('Acme Login works.').waitFor();
  });

  step('lets the owner invite someone choosing the company login', async () => {
    const { page } = owner;
    await page.goto(`${studio.usher.url}/agencies/${ids.acme}/users`);
    await page.getByRole('button', { name: 'Invite user' }).click();
    const dialog = page.getByRole('dialog', { name: 'Invite user' });
    const method = dialog.getByRole('group', { name: 'Sign-in method' });
    assert.ok(await method.getByRole('radio', { name: 'Email & password' }).isChecked(), 'a password is the default');
    assert.equal(await dialog.getByLabel('User identifier at the company login').count(), 0);
    await method.getByRole('radio', { name: 'Company login (Acme Login)' }).check();
    await dialog.getByLabel('Email', { exact: true }).fill(DANA.email);
    await dialog.getByLabel('User identifier at the company login').fill(DANA.sub);
    await dialog.getByLabel('First name').fill(DANA.first);
    await dialog.getByLabel('Last name').fill(DANA.last);
    await dialog.getByLabel('Where').selectOption(ids.acmeProd);
    await dialog.getByRole('checkbox', { name: /^Operator/ }).check();
    await screen(page, 'oidc-invite-dialog');
    await dialog.getByRole('button', { name: 'Send invitation' }).click();
    await page.getByText(`Invitation sent to ${DANA.email}`).waitFor();
    const inv = (await ok('GET', `/agencies/${ids.acme}/invitations?status=pending`)).items.find((i) => i.email === DANA.email);
    assert.ok(inv, 'the invitation exists');
    assert.deepEqual(inv.grants, [{ environment_id: ids.acmeProd, roles: ['operator'], extra_permissions: [] }]);
  });

  step('lets the invitee accept through the company login and land in the agency with the invited roles', async () => {
    const link = linkIn(await studio.smtp.waitFor(DANA.email));
    dana = await browser();
    const { page } = dana;
    await page.goto(link);
    await page.getByRole('heading', { name: 'Join Acme' }).waitFor();
    assert.equal(await page.locator('input[type=password]').count(), 0, 'no password form');
    const accept = page.getByRole('link', { name: 'Accept with Acme Login' });
    assert.match(await accept.getAttribute('href'), new RegExp(`^/api/v1/oidc/start\\?connection_id=${ids.connection}&invitation=`));
    // Before linking, the landing says what the company login will open: the whole account.
    const whole = page.locator('#company-login-whole-account');
    assert.match(await whole.textContent(), /signs you in to\s+the whole account, every agency you belong to or join later, not only Acme/);
    await screen(page, 'oidc-accept');
    await throughProvider(page, DANA.sub, () => accept.click());
    await page.getByRole('heading', { name: 'Control panel' }).waitFor();
    await page.getByRole('link', { name: 'Acme', exact: true }).waitFor();
    const me = await meOf(page);
    assert.equal(me.user.email, DANA.email);
    assert.equal(me.sign_in_method, 'oidc');
    assert.deepEqual(
      me.agencies.map((a) => ({ id: a.id, grants: a.grants })),
      [{ id: ids.acme, grants: [{ environment_id: ids.acmeProd, roles: ['operator'], extra_permissions: [] }] }],
    );
    assert.equal(me.identities.length, 1);
    assert.equal(me.identities[0].connection_id, ids.connection);
    await page.getByRole('link', { name: 'Acme', exact: true }).click();
    await page.getByRole('link', { name: 'Acme production' }).waitFor();
  });

  step('lets a second agency invite the same person with a password, accepted with no new credentials', async () => {
    await ok('POST', `/agencies/${ids.globex}/invitations`, {
      body: { email: DANA.email, grants: [{ roles: ['analyst'] }], sign_in: 'password' },
    });
    const link = linkIn(await studio.smtp.waitFor(DANA.email, 2));
    const { page } = dana;
    await page.goto(link);
    await page.getByRole('heading', { name: 'Join Globex' }).waitFor();
    assert.match(await page.locator('main').textContent(), /no new password is needed/);
    assert.equal(await page.locator('input[type=password]').count(), 0, 'no password asked');
    await page.getByRole('button', { name: 'Accept invitation' }).click();
    await page.getByRole('heading', { name: 'Control panel' }).waitFor();
    await page.getByRole('link', { name: 'Globex', exact: true }).waitFor();
    const me = await meOf(page);
    assert.deepEqual(me.agencies.map((a) => a.name).sort(), ['Acme', 'Globex']);
  });

  step('shows the owner how each member signs in', async () => {
    const { page } = owner;
    await page.goto(`${studio.usher.url}/agencies/${ids.acme}/users`);
    const row = page.getByRole('row', { name: new RegExp(DANA.email) });
    await row.waitFor();
    assert.equal((await row.locator('td[data-label="Sign-in"]').textContent()).trim(), 'Company login');
    const ownerRow = page.getByRole('row', { name: new RegExp(OWNER.email) });
    assert.equal((await ownerRow.locator('td[data-label="Sign-in"]').textContent()).trim(), 'Password');
    await screen(page, 'oidc-users');
  });

  step('signs out through the company login and back to the signed-out page', async () => {
    const { page } = dana;
    await page.goto(`${studio.usher.url}/`);
    await page.getByRole('heading', { name: 'Control panel' }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    // The provider asks whether to sign out of it too.
    await page.waitForURL((u) => u.origin === new URL(idp.issuer).origin);
    await page.getByRole('button', { name: /Yes/ }).click();
    await page.waitForURL((u) => u.origin === studio.usher.url && u.pathname === '/signed-out');
    await page.getByRole('heading', { name: 'You are signed out' }).waitFor();
    await screen(page, 'oidc-signed-out');
    const r = await page.evaluate(() => fetch('/api/v1/me').then((x) => x.status));
    assert.equal(r, 401, 'the usher session is over');
  });

  step('signs in again from the email: the address leads to the company login', async () => {
    const { page } = dana;
    await page.getByRole('link', { name: 'Sign in again' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await continueWithEmail(page, DANA.email);
    const go = page.getByRole('link', { name: 'Continue with Acme Login' });
    await go.waitFor();
    assert.equal(await page.locator('input[type=password]').count(), 0, 'no password field for a company address');
    await screen(page, 'oidc-signin-company');
    await throughProvider(page, DANA.sub, () => go.click());
    await page.getByRole('heading', { name: 'Control panel' }).waitFor();
    assert.equal((await meOf(page)).sign_in_method, 'oidc');

    // A password address still gets the password step, with the address for password managers.
    const other = await browser();
    await other.page.goto(`${studio.usher.url}/signin`);
    await continueWithEmail(other.page, ADMIN.email);
    await other.page.getByLabel('Password').waitFor();
    assert.equal(await other.page.locator('input[autocomplete=username]').inputValue(), ADMIN.email);
    await screen(other.page, 'oidc-signin-password');
  });

  step('tells someone the company login knows but usher does not what went wrong and what to do', async () => {
    const { page } = await browser();
    await page.goto(`${studio.usher.url}/signin`);
    await continueWithEmail(page, EVE.email);
    await throughProvider(page, EVE.sub, () => page.getByRole('link', { name: 'Continue with Acme Login' }).click());
    await page.waitForURL(`${studio.usher.url}/sign-in/problem?reason=no_account`);
    await page.getByRole('heading', { name: 'There is no usher account for you yet' }).waitFor();
    assert.match(await page.locator('main').textContent(), /Ask a manager of your agency to invite you/);
    assert.equal((await page.evaluate(() => fetch('/api/v1/me').then((x) => x.status))), 401, 'not signed in');
    await screen(page, 'oidc-problem-no-account');

    // A callback this browser did not start: the state is unknown.
    await page.goto(`${studio.usher.url}/api/v1/oidc/callback?code=not-a-code&state=not-a-state`);
    await page.waitForURL(`${studio.usher.url}/sign-in/problem?reason=state_invalid`);
    await page.getByRole('heading', { name: 'This sign-in could not be finished' }).waitFor();
    await page.getByRole('link', { name: 'Back to sign-in' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();

    // The agency's log tells its owner of the refusal without naming an address that is no
    // member of it: only its domain.
    await owner.page.goto(`${studio.usher.url}/agencies/${ids.acme}/audit`);
    await owner.page.getByLabel('Kind of action').selectOption({ label: 'Refused a company sign-in' });
    await owner.page.getByRole('button', { name: 'Filter' }).click();
    const refused = owner.page.getByText('Someone at acme.test was refused a company sign-in: no usher account has that address');
    await refused.first().waitFor();
    assert.doesNotMatch(await owner.page.locator('main').textContent(), /eve@acme\.test/);
    await screen(owner.page, 'oidc-audit-refused');

    // A start the server refuses (a connection that does not exist, a link to an account
    // without being signed in) lands on the problem page too, never on an API error.
    await page.goto(`${studio.usher.url}/api/v1/oidc/start?connection_id=oic_gone`);
    await page.waitForURL(`${studio.usher.url}/sign-in/problem?reason=connection_not_found`);
    await page.getByRole('heading', { name: 'This company sign-in does not exist' }).waitFor();
    await screen(page, 'oidc-problem-start');
    await page.goto(`${studio.usher.url}/api/v1/oidc/start?connection_id=${ids.connection}&link=1`);
    await page.waitForURL(`${studio.usher.url}/sign-in/problem?reason=sign_in_required`);
    await page.getByRole('heading', { name: 'Sign in first' }).waitFor();
  });

  step('links a company login to a password account on the Account page, and unlinks it', async () => {
    idp.accounts.set(OLGA_SUB, { email: OWNER.email, email_verified: true });
    const { page } = owner;
    await page.goto(`${studio.usher.url}/account`);
    const section = page.getByRole('region', { name: 'Company sign-in' });
    await section.getByText('No company login is linked to your account').waitFor();
    // Said before the person links: a linked login opens the whole account.
    assert.match(await section.locator('#link-whole-account').textContent(), /signs you in to your whole usher account: every agency you\s+belong to/);
    await throughProvider(page, OLGA_SUB, () => section.getByRole('link', { name: 'Link Acme Login' }).click());
    await page.waitForURL(`${studio.usher.url}/account`);
    await section.getByRole('button', { name: 'Unlink Acme Login' }).waitFor();
    assert.match(await section.textContent(), /Acme Login · olga@acme\.test/);
    assert.equal(await section.getByRole('link', { name: 'Link Acme Login' }).count(), 0, 'linked already');
    const me = await meOf(page);
    assert.equal(me.identities.length, 1);
    assert.equal(me.sign_in_method, 'password', 'linking keeps the session as it was made');
    await screen(page, 'oidc-account');

    await section.getByRole('button', { name: 'Unlink Acme Login' }).click();
    const dialog = page.getByRole('dialog', { name: 'Unlink Acme Login?' });
    await dialog.getByRole('button', { name: 'Unlink' }).click();
    await section.getByText('No company login is linked to your account').waitFor();
    assert.deepEqual((await meOf(page)).identities, []);
  });

  step('explains why a company login that is the only way in cannot be unlinked', async () => {
    const { page } = dana;
    await page.goto(`${studio.usher.url}/account`);
    const section = page.getByRole('region', { name: 'Company sign-in' });
    await section.getByRole('button', { name: 'Unlink Acme Login' }).waitFor();
    assert.equal(await page.getByRole('region', { name: 'Password' }).count(), 0, 'no password to change');
    await section.getByRole('button', { name: 'Unlink Acme Login' }).click();
    const dialog = page.getByRole('dialog', { name: 'Unlink Acme Login?' });
    await dialog.getByRole('button', { name: 'Unlink' }).click();
    await dialog.getByRole('alert').getByText(/only way to sign in/).waitFor();
    await screen(page, 'oidc-account-unlink-refused');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    assert.equal((await meOf(page)).identities.length, 1, 'still linked');
  });

  step('tells an account without a password that its company login handles two-step verification', async () => {
    const { page } = dana;
    await page.goto(`${studio.usher.url}/account`);
    const twoStep = page.getByRole('region', { name: 'Two-step verification' });
    await twoStep.getByText('Your company login takes care of it.').waitFor();
    assert.match(await twoStep.textContent(), /usher never asks for its own code when you sign in that way/);
    assert.equal(await twoStep.getByRole('button', { name: 'Turn on' }).count(), 0, 'no Turn on asking for a password she does not have');
    await screen(page, 'oidc-account-no-password');
  });

  step('lets an account without a password delete itself after signing in again with the company login', async () => {
    const { page } = dana;
    const danaId = (await meOf(page)).user.id;
    // Her company sign-in of earlier steps is now more than ten minutes old.
    studio.usher.sql(`UPDATE sessions SET created_at = created_at - ${11 * 60e3} WHERE user_id = '${danaId}'`);
    await page.goto(`${studio.usher.url}/account`);
    const danger = page.getByRole('region', { name: 'Delete account' });
    await danger.locator('#delete-no-password').waitFor();
    assert.match(await danger.textContent(), /To delete your account, sign\s+in again with it/);
    assert.equal(await danger.getByRole('button', { name: 'Delete account…' }).count(), 0, 'no form before signing in again');
    const again = danger.getByRole('link', { name: 'Sign in again with Acme Login' });
    const href = new URL(await again.getAttribute('href'), studio.usher.url);
    assert.equal(href.pathname, '/api/v1/oidc/start');
    assert.equal(href.searchParams.get('connection_id'), ids.connection);
    assert.equal(href.searchParams.get('return_to'), '/account#delete');
    await screen(page, 'oidc-account-delete-sign-in-again');

    await throughProvider(page, DANA.sub, () => again.click());
    await page.waitForURL(`${studio.usher.url}/account#delete`);
    const form = danger.getByRole('form', { name: 'Delete account' });
    await form.waitFor();
    await danger.locator('#delete-recent-sign-in').waitFor();
    assert.equal(await form.locator('input[type=password]').count(), 0, 'no password asked');
    assert.equal(await form.locator('input').count(), 1, 'only the typed address');
    await form.getByLabel('Type your email address to confirm').fill(DANA.email);
    await screen(page, 'oidc-account-delete-recent');
    await form.getByRole('button', { name: 'Delete my account' }).click();
    await page.waitForURL(`${studio.usher.url}/account-deleted`);
    await page.getByRole('heading', { name: 'Your account was deleted' }).waitFor();
    assert.equal(await page.evaluate(() => fetch('/api/v1/me').then((x) => x.status)), 401, 'signed out');
    assert.equal(studio.usher.sql(`SELECT COUNT(*) FROM users WHERE id = '${danaId}'`).trim(), '0');
  });

  step('requires the company sign-in: the owner, signed in with a password, is told and comes back through it', async () => {
    const { page } = owner;
    await page.goto(`${studio.usher.url}/agencies/${ids.acme}/sign-in`);
    await page.getByRole('button', { name: 'Edit' }).click();
    const dialog = page.getByRole('dialog', { name: 'Edit Acme Login' });
    const required = dialog.getByRole('switch', { name: 'Require this sign-in for members of Acme' });
    assert.equal(await required.getAttribute('aria-checked'), 'false');
    await required.click();
    assert.equal(await required.getAttribute('aria-checked'), 'true');
    await dialog.getByText('That includes you').scrollIntoViewIfNeeded();
    await screen(page, 'oidc-connection-required');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    // Her password session no longer opens Acme.
    await page.getByText('This agency requires its company sign-in').waitFor();
    await screen(page, 'oidc-sso-required');
    await page.goto(`${studio.usher.url}/`);
    await page.getByText('Acme requires its company sign-in').waitFor();
    await page.getByRole('button', { name: 'Sign out to use the company login' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await continueWithEmail(page, OWNER.email);
    await throughProvider(page, OLGA_SUB, () => page.getByRole('link', { name: 'Continue with Acme Login' }).click());
    await page.getByRole('heading', { name: 'Control panel' }).waitFor();
    await page.goto(`${studio.usher.url}/agencies/${ids.acme}/sign-in`);
    const card = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: 'Acme Login' }) });
    await card.getByText('Required').waitFor();
  });

  step('asks before deleting the connection and says people keep their accounts', async () => {
    const { page } = owner;
    await page.goto(`${studio.usher.url}/agencies/${ids.acme}/sign-in`);
    await page.getByRole('button', { name: 'Delete Acme Login' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete Acme Login?' });
    assert.match(await dialog.textContent(), /keep their accounts/);
    await screen(page, 'oidc-connection-delete');
    await dialog.getByRole('button', { name: 'Delete connection' }).click();
    await page.getByText('No company sign-in yet').waitFor();
    assert.deepEqual((await ok('GET', `/agencies/${ids.acme}/oidc-connections`)).items, []);
    // The address signs in with a password again.
    const answer = await studio.usher.api('POST', '/api/v1/sign-in/discover', { body: { email: DANA.email } });
    assert.equal(answer.json.method, 'password');
    // The owner's identity stays on her Account page, saying it no longer signs her in.
    await page.goto(`${studio.usher.url}/account`);
    const section = page.getByRole('region', { name: 'Company sign-in' });
    await section.getByText('No longer signs you in: the agency removed this company sign-in.').waitFor();
    assert.equal((await meOf(page)).identities[0].usable, false);
  });
});
