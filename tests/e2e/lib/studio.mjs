// The start-up every console test shares: a real SMTP server and usher started before the
// tests (on SQLite, or PostgreSQL with USHER_TEST_DB=postgres, as startUsher chooses), the
// platform admin signed in through the API, browsers opened on request, and after the tests
// every browser closed, usher stopped with exit status 0 and no page error or
// Content-Security-Policy violation left unexplained. Call setUpStudio at the top of a
// describe block: its before hook then runs ahead of the file's own.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, it } from 'node:test';

import { startUsher } from '../../api/lib/harness.mjs';
import { captureScreen, openBrowser, screenshotDir } from './browser.mjs';
import { signInWithPassword } from './signin.mjs';
import { startSmtp } from './smtp.mjs';

// The platform admin usher creates at its first start (USHER_ADMIN_EMAIL, USHER_ADMIN_PASSWORD).
export const ADMIN = { email: 'admin@studio.test', password: 'quiet-lantern-orbit-1' };

// Registers the hooks of a console test file in the describe block it is called from.
// Options:
//   failurePrefix  how the pictures of a failed test begin: <prefix><title>-<browser>.png
//   env            more environment for usher (added to the SMTP and admin settings)
//   admin          the platform admin's {email, password}, ADMIN unless given
//   smtp           false to run without an SMTP server (usher then sends no mail)
//   screen         options for captureScreen (which sizes axe checks, the size left after)
//   ignoreProblem  (text) => true for a browser report that is not a fault of the console
//   beforeSmtpStop async () => …, run after usher has stopped (another server to stop)
//   checkLog       (text) => …, assertions on usher's whole log, run after the other checks
// Returns the studio: usher, smtp and adminToken once the before hook has run, browsers (every
// browser opened through it), and the helpers below.
export function setUpStudio({
  failurePrefix,
  env = {},
  admin = ADMIN,
  smtp: withSmtp = true,
  screen: screenOptions = {},
  ignoreProblem = () => false,
  beforeSmtpStop,
  checkLog,
} = {}) {
  assert.equal(typeof failurePrefix, 'string', 'setUpStudio needs the failurePrefix of its pictures');
  const studio = {
    usher: null,
    smtp: null,
    adminToken: null,
    browsers: [],

    // The raw answer of an API call, with the admin's session unless token is given (null: none).
    call(method, urlPath, { token = studio.adminToken, body } = {}) {
      return studio.usher.api(method, `/api/v1${urlPath}`, { token, body });
    },

    // An API call that must succeed (2xx); resolves its JSON body.
    async ok(method, urlPath, opts) {
      const r = await studio.call(method, urlPath, opts);
      assert.ok(r.status < 300, `${method} ${urlPath}: ${r.status} ${r.text}`);
      return r.json;
    },

    // A new browser with its own profile: one person. Closed and checked after the tests.
    async browser() {
      const b = await openBrowser(studio.usher.url);
      studio.browsers.push(b);
      return b;
    },

    // axe at zero serious or critical findings, and a screenshot named name, at each size.
    async screen(page, name) {
      const violations = await captureScreen(page, name, screenOptions);
      assert.deepEqual(violations, [], `axe on ${name}`);
    },

    // A test whose failure leaves a picture of every open page under build/e2e-screenshots/.
    step(name, fn) {
      it(name, async (t) => {
        try {
          await fn(t);
        } catch (e) {
          mkdirSync(screenshotDir, { recursive: true });
          const slug = name.slice(0, 40).replace(/[^a-z0-9]+/gi, '-');
          for (const [i, b] of studio.browsers.entries()) {
            const file = path.join(screenshotDir, `${failurePrefix}${slug}-${i}.png`);
            await b.page.screenshot({ path: file, fullPage: true }).catch(() => {});
          }
          throw e;
        }
      });
    },

    // who ({email, password, first, last}, and a shortcode if it has one) invited into agency
    // with grants (no email sent, by the admin unless token is given) and accepted as a new
    // account. Resolves {id, token}: the new user's id and the session the acceptance opened.
    async member(agency, who, grants, { token = studio.adminToken } = {}) {
      const inv = await studio.ok('POST', `/agencies/${agency}/invitations`, {
        token,
        body: {
          email: who.email,
          first_name: who.first,
          last_name: who.last,
          shortcode: who.shortcode,
          grants,
          send_email: false,
        },
      });
      const link = new URL(inv.url).hash.replace('#token=', '');
      const body = { token: link, password: who.password };
      const res = await studio.ok('POST', '/invitations/accept', { token: null, body });
      return { id: res.user.id, token: res.token };
    },

    // Signs who ({email, password}) in on the sign-in page and waits for the control panel.
    async signIn(page, who) {
      await page.goto(`${studio.usher.url}/signin`);
      await signInWithPassword(page, who);
      await page.getByRole('heading', { name: 'Control panel' }).waitFor();
    },
  };

  before(async () => {
    const settings = { USHER_ADMIN_EMAIL: admin.email, USHER_ADMIN_PASSWORD: admin.password };
    if (withSmtp) {
      studio.smtp = await startSmtp();
      Object.assign(settings, { USHER_SMTP_URL: studio.smtp.url, USHER_SMTP_FROM: 'studio@studio.test' });
    }
    studio.usher = await startUsher({ env: { ...settings, ...env } });
    studio.adminToken = (await studio.ok('POST', '/sessions', { token: null, body: admin })).token;
  });

  after(async () => {
    const { usher, smtp, browsers } = studio;
    for (const b of browsers) await b.close().catch(() => {});
    const problems = browsers.flatMap((b) => b.problems).filter((p) => !ignoreProblem(p));
    const logText = usher ? JSON.stringify(usher.logs) + usher.stderr.join('\n') : '';
    if (usher) assert.equal(await usher.stop(), 0);
    if (beforeSmtpStop) await beforeSmtpStop();
    if (smtp) await smtp.close();
    assert.deepEqual(problems, [], 'no page errors and no Content-Security-Policy violations');
    if (checkLog) checkLog(logText);
  });

  return studio;
}
