// Headless Chromium for the console tests (Debian's /usr/bin/chromium driven by
// playwright-core): a fresh profile per person, axe-core run inside the page, screenshots at
// 1280×800, 1366×768 and a phone's 390×844 under build/e2e-screenshots/, and a record of every
// Content-Security-Policy violation or script error a page reports.
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { chromium } from 'playwright-core';

import { repoRoot, tempDir } from '../../api/lib/harness.mjs';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export const screenshotDir = path.join(repoRoot, 'build/e2e-screenshots');
export const DESKTOP = { width: 1280, height: 860 };
export const PHONE = { width: 390, height: 844 };
// The sizes every screen is photographed at: a laptop, the most common small desktop, a phone.
// axe runs at the first and the last; 1366 px differs from 1280 px in layout only.
export const SCREEN_SIZES = [
  { width: 1280, height: 800, axe: true },
  { width: 1366, height: 768, axe: false },
  { width: 390, height: 844, axe: true },
];

const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

// A browser with its own new profile: one person. Resolves {context, page, problems, close}.
// problems collects CSP violations, uncaught errors and failed console messages.
export async function openBrowser(origin) {
  const context = await chromium.launchPersistentContext(tempDir('usher-e2e-profile-'), {
    executablePath: process.env.USHER_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ARGS,
    viewport: DESKTOP,
    locale: 'en-GB',
    timezoneId: 'UTC',
  });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
  context.setDefaultTimeout(10000);
  const page = context.pages()[0] || (await context.newPage());
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    const text = m.text();
    // A refused API call logs "Failed to load resource"; that is the test's business, not a fault.
    if (m.type() === 'error' && !/Failed to load resource/.test(text)) problems.push(`console: ${text}`);
  });
  return { context, page, problems, close: () => context.close() };
}

// axe-core's findings of impact serious or critical on the page as it is now.
export async function axeViolations(page) {
  // Evaluated through the DevTools protocol, which the page's CSP does not govern.
  await page.evaluate(axeSource);
  const result = await page.evaluate(() =>
    // eslint-disable-next-line no-undef
    axe.run(document, { resultTypes: ['violations'], runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } }),
  );
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help}: ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
}

// Saves a screenshot of the screen at each of SCREEN_SIZES as <name>-1280.png, <name>-1366.png
// and <name>-390.png, checking it with axe at 1280 and 390 px (at every size with axeEverySize),
// then leaves the page at the size restore. Resolves with the violations found (empty when none).
export async function captureScreen(page, name, { axeEverySize = false, restore = DESKTOP } = {}) {
  mkdirSync(screenshotDir, { recursive: true });
  await page.waitForLoadState('networkidle').catch(() => {});
  const found = [];
  for (const { axe, ...size } of SCREEN_SIZES) {
    await page.setViewportSize(size);
    await page.waitForTimeout(50);
    if (axe || axeEverySize) for (const v of await axeViolations(page)) found.push(`${size.width}px ${v}`);
    await page.screenshot({ path: path.join(screenshotDir, `${name}-${size.width}.png`), fullPage: true });
  }
  await page.setViewportSize(restore);
  return found;
}

// What has the keyboard focus, for a failure message.
const focusNow = (page) => page.evaluate(() => document.activeElement?.outerHTML.slice(0, 200) ?? 'nothing');

// Waits until the element has the focus. The console moves the focus in effects, which run after
// the frame that shows an error or opens a menu is drawn, so reading it at once races on a busy
// machine. Fails naming what has the focus instead.
export async function focusReaches(locator, timeout = 5000) {
  const arrived = await locator
    .evaluate(
      (el, ms) =>
        new Promise((resolve) => {
          const start = Date.now();
          const poll = () => (el === document.activeElement ? resolve(true) : Date.now() - start > ms ? resolve(false) : setTimeout(poll, 20));
          poll();
        }),
      timeout,
    )
    .catch(() => false);
  if (!arrived) throw new Error(`the focus did not arrive; it is on ${await focusNow(locator.page())}`);
}

// Waits until the focused element has each attribute of want ({name: 'email'}, {'aria-label':
// '…'}; text compares its text content). Fails with message, naming what has the focus instead.
export async function focusIs(page, want, message = 'the focus', timeout = 5000) {
  const arrived = await page
    .waitForFunction(
      (w) => {
        const el = document.activeElement;
        return !!el && Object.entries(w).every(([k, v]) => (k === 'text' ? el.textContent : el.getAttribute(k)) === v);
      },
      want,
      { timeout },
    )
    .then(
      () => true,
      () => false,
    );
  if (!arrived) throw new Error(`${message}: wanted ${JSON.stringify(want)}, the focus is on ${await focusNow(page)}`);
}

// Waits until read() resolves to want (compared as JSON), polling: what the console shows after
// a reload of its data arrives a little later than the click that asked for it. Fails with
// message and the last value read.
export async function eventually(read, want, message, timeout = 5000) {
  const start = Date.now();
  let last;
  for (;;) {
    last = await read();
    if (JSON.stringify(last) === JSON.stringify(want)) return;
    if (Date.now() - start > timeout) throw new Error(`${message}: wanted ${JSON.stringify(want)}, got ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// Run inside the page: what is wrong with the notice shown: none shows, it is not wholly inside
// the window, or it lies over a focusable control in view (a button, link, field or anything
// reachable with Tab). With settled, only whether nothing is wrong.
function noticeFaults(settled) {
  const toast = document.querySelector('.toasts .toast');
  if (!toast) return settled ? false : ['no notice shows'];
  const t = toast.getBoundingClientRect();
  const out = [];
  if (t.top < 0 || t.left < 0 || t.bottom > window.innerHeight || t.right > window.innerWidth)
    out.push(`the notice is not wholly in the window: ${Math.round(t.left)},${Math.round(t.top)} to ${Math.round(t.right)},${Math.round(t.bottom)}`);
  const controls = 'a[href], button, input, select, textarea, summary, [tabindex]:not([tabindex="-1"])';
  for (const el of document.querySelectorAll(controls)) {
    // A box that holds controls (a table that scrolls sideways takes the focus) is not one:
    // its controls are checked one by one.
    if (toast.contains(el) || el.closest('dialog') || el.querySelector(controls)) continue;
    const r = el.getBoundingClientRect();
    // Nothing to hide: a visually hidden control, or one outside the window.
    if (r.width < 2 || r.height < 2 || r.bottom <= 0 || r.top >= window.innerHeight || r.right <= 0 || r.left >= window.innerWidth) continue;
    if (r.left < t.right && r.right > t.left && r.top < t.bottom && r.bottom > t.top) {
      const name = (el.getAttribute('aria-label') || el.textContent || el.getAttribute('name') || '').trim().slice(0, 40);
      out.push(`the notice covers ${el.tagName.toLowerCase()} "${name}" at ${Math.round(r.left)},${Math.round(r.top)}`);
    }
  }
  return settled ? out.length === 0 : out;
}

// Waits (up to timeout) for the notice shown to settle wholly inside the window and over no
// focusable control in view: the console may scroll the page to make room for it after it
// appears, and the list under it may still be loading. Resolves with what is still wrong then
// (empty when nothing is).
export async function noticeProblems(page, timeout = 3000) {
  const settled = await page.waitForFunction(noticeFaults, true, { timeout }).then(
    () => true,
    () => false,
  );
  return settled ? [] : page.evaluate(noticeFaults, false);
}
