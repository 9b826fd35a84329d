// The web console as served by the binary: index.html for the console's own paths, hashed
// assets with a year's caching, the security headers and the strict Content-Security-Policy
// on every page, and the API's 404 left untouched.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { startUsher } from './lib/harness.mjs';

const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'";

describe('the console pages', () => {
  let usher;
  let index;

  before(async () => {
    usher = await startUsher();
    index = await usher.api('GET', '/');
  });

  after(async () => {
    assert.equal(await usher.stop(), 0);
  });

  function assertPageHeaders(r) {
    assert.equal(r.headers['content-security-policy'], CSP);
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    assert.equal(r.headers['referrer-policy'], 'no-referrer');
    assert.equal(r.headers['x-frame-options'], 'DENY');
  }

  it('serves index.html at / with no-cache and the page headers', () => {
    assert.equal(index.status, 200);
    assert.equal(index.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(index.headers['cache-control'], 'no-cache');
    assertPageHeaders(index);
    assert.match(index.text, /<div id="app"><\/div>/);
  });

  it('has no inline script or style in index.html', () => {
    const scripts = [...index.text.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    assert.ok(scripts.length > 0);
    for (const [, attrs, body] of scripts) {
      assert.match(attrs, /\bsrc="\/assets\/[^"]+\.js"/);
      assert.equal(body.trim(), '');
    }
    assert.doesNotMatch(index.text, /<style\b/);
    assert.doesNotMatch(index.text, /\sstyle="/);
    assert.doesNotMatch(index.text, /\son[a-z]+="/);
  });

  it('answers every console path with the same index.html', async () => {
    for (const path of ['/invitations/accept', '/agencies/agy_x/users', '/signin', '/bots/bot_1/options']) {
      const r = await usher.api('GET', path);
      assert.equal(r.status, 200, path);
      assert.equal(r.text, index.text, path);
      assert.equal(r.headers['cache-control'], 'no-cache', path);
      assertPageHeaders(r);
    }
  });

  it('serves the content-hashed assets for a year, immutable, with their types', async () => {
    const refs = [...index.text.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
    assert.ok(refs.some((p) => p.endsWith('.js')) && refs.some((p) => p.endsWith('.css')));
    for (const p of refs) {
      const r = await usher.api('GET', p);
      assert.equal(r.status, 200, p);
      assert.match(p, /-[A-Za-z0-9_-]{8,}\.(js|css)$/, 'the name carries a content hash');
      assert.equal(r.headers['cache-control'], 'public, max-age=31536000, immutable');
      assert.equal(r.headers['content-type'], p.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8');
      assertPageHeaders(r);
      assert.ok(r.text.length > 100);
    }
  });

  it('answers HEAD like GET without a body', async () => {
    const r = await usher.api('HEAD', '/agencies');
    assert.equal(r.status, 200);
    assert.equal(r.text, '');
    assert.equal(r.headers['content-length'], String(Buffer.byteLength(index.text)));
  });

  it('refuses missing assets, file names and API paths with problem+json, never the page', async () => {
    for (const path of ['/assets/index-00000000.js', '/favicon.ico', '/api/v1/no-such-thing', '/api']) {
      const r = await usher.api('GET', path);
      assert.equal(r.status, 404, path);
      assert.equal(r.headers['content-type'], 'application/problem+json', path);
      assert.equal(r.json.code, 'not_found', path);
      assert.equal(r.headers['cache-control'], 'no-store', path);
    }
  });

  it('leaves unsafe methods on console paths to the router', async () => {
    const r = await usher.api('POST', '/agencies', { body: {} });
    assert.equal(r.status, 404);
    assert.equal(r.json.code, 'not_found');
  });

  it('does not look at the session: a page is the same with a cookie', async () => {
    const r = await usher.api('GET', '/agencies', { headers: { Cookie: 'usher_session=whatever' } });
    assert.equal(r.status, 200);
    assert.equal(r.text, index.text);
    assert.equal(r.headers['cache-control'], 'no-cache');
  });
});
