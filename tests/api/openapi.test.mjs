// Keeps docs/openapi.json honest against the real binary, both ways: every operation the
// document describes is served (the server matches exactly that route, and answers 401 without
// credentials where the document asks for them), and every route `usher routes` prints is
// described. Operations marked `x-usher-pending: true` are promised but not built yet: they
// are skipped, and fail as soon as the binary serves them while still marked.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { repoRoot, runUsher, startUsher } from './lib/harness.mjs';

const DOC_PATH = path.join(repoRoot, 'docs/openapi.json');
const doc = JSON.parse(readFileSync(DOC_PATH, 'utf8'));
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'];
const PROBLEM_FIELDS = ['type', 'title', 'status', 'code', 'detail', 'field', 'request_id'];

// "GET /api/v1/agencies/{}/roles": a route with its parameter names left out, so that the
// document and the route tables may name parameters differently.
const routeKey = (method, pattern) => `${method.toUpperCase()} ${pattern.replace(/\{[^}/]*\}/g, '{}')}`;

// Follows a local JSON pointer ("#/components/schemas/Problem").
function resolve(ref) {
  assert.ok(ref.startsWith('#/'), `only local references are used: ${ref}`);
  let node = doc;
  for (const raw of ref.slice(2).split('/')) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    assert.ok(node && Object.hasOwn(node, part), `unresolved reference ${ref}`);
    node = node[part];
  }
  return node;
}

const deref = (node) => (node && node.$ref ? resolve(node.$ref) : node);

// Every operation of the document.
const operations = [];
for (const [pattern, item] of Object.entries(doc.paths || {})) {
  for (const method of METHODS) {
    if (item[method]) operations.push({ method: method.toUpperCase(), pattern, op: item[method], item });
  }
}

// Public when the operation (or, failing that, the document) asks for no credentials at all,
// or lists the empty requirement {} among its alternatives.
function isPublic(op) {
  const security = op.security ?? doc.security ?? [];
  return security.length === 0 || security.some((req) => Object.keys(req).length === 0);
}

// Walks every node of a JSON value.
function* nodes(value) {
  if (value && typeof value === 'object') {
    yield value;
    for (const child of Object.values(value)) yield* nodes(child);
  }
}

describe('docs/openapi.json', () => {
  it('is an OpenAPI 3.1 document with operations', () => {
    assert.match(doc.openapi, /^3\.1\.\d+$/);
    assert.equal(typeof doc.info?.title, 'string');
    assert.equal(typeof doc.info?.version, 'string');
    assert.ok(operations.length > 0);
  });

  it('gives every operation a unique operationId, a summary and responses', () => {
    const seen = new Set();
    for (const { method, pattern, op } of operations) {
      const where = `${method} ${pattern}`;
      assert.equal(typeof op.operationId, 'string', where);
      assert.ok(!seen.has(op.operationId), `${where}: operationId ${op.operationId} is used twice`);
      seen.add(op.operationId);
      assert.equal(typeof op.summary, 'string', where);
      assert.ok(Object.keys(op.responses || {}).length > 0, `${where} has no responses`);
      assert.ok(Object.keys(op.responses).some((s) => /^[23]\d\d$/.test(s)), `${where} has no success answer`);
      if (op['x-usher-pending'] !== undefined) assert.equal(op['x-usher-pending'], true, where);
    }
  });

  it('resolves every reference', () => {
    for (const node of nodes(doc)) {
      if (typeof node.$ref === 'string') resolve(node.$ref);
    }
  });

  it('declares exactly the parameters of each path template', () => {
    for (const { method, pattern, op, item } of operations) {
      const inTemplate = [...pattern.matchAll(/\{([^}/]+)\}/g)].map((m) => m[1]).sort();
      const declared = [...(item.parameters || []), ...(op.parameters || [])]
        .map(deref)
        .filter((p) => p.in === 'path');
      for (const p of declared) assert.equal(p.required, true, `${method} ${pattern}: ${p.name} must be required`);
      assert.deepEqual(declared.map((p) => p.name).sort(), inTemplate, `${method} ${pattern}`);
    }
  });

  it('describes errors as problem+json with the fields the server sends', () => {
    const problem = doc.components.schemas.Problem;
    assert.deepEqual(Object.keys(problem.properties).sort(), [...PROBLEM_FIELDS].sort());
    for (const [name, response] of Object.entries(doc.components.responses)) {
      const schema = response.content?.['application/problem+json']?.schema;
      assert.deepEqual(schema, { $ref: '#/components/schemas/Problem' }, name);
    }
    for (const { method, pattern, op } of operations) {
      for (const [status, response] of Object.entries(op.responses)) {
        if (!/^[45]/.test(status)) continue;
        const r = deref(response);
        assert.ok(r.content?.['application/problem+json'], `${method} ${pattern} ${status} is not problem+json`);
      }
    }
  });

  it('declares the bearer token, the session cookie and the CSRF header', () => {
    const schemes = doc.components.securitySchemes;
    assert.deepEqual(schemes.bearerAuth, { ...schemes.bearerAuth, type: 'http', scheme: 'bearer' });
    assert.equal(schemes.sessionCookie.type, 'apiKey');
    assert.equal(schemes.sessionCookie.in, 'cookie');
    assert.equal(schemes.csrfToken.type, 'apiKey');
    assert.equal(schemes.csrfToken.in, 'header');
    assert.equal(schemes.csrfToken.name, 'X-CSRF-Token');
    for (const node of nodes(doc)) {
      for (const key of ['security']) {
        if (!Array.isArray(node[key])) continue;
        for (const req of node[key]) {
          for (const name of Object.keys(req)) assert.ok(schemes[name], `unknown security scheme ${name}`);
        }
      }
    }
  });
});

describe('docs/openapi.json against the binary', () => {
  let usher;
  const served = new Map(); // routeKey -> {method, pattern, access}

  before(async () => {
    const res = await runUsher(['routes', '--access']);
    assert.equal(res.code, 0, res.stderr);
    for (const line of res.stdout.split('\n').filter(Boolean)) {
      const m = /^([A-Z]+) (\/\S*) (public|authenticated)$/.exec(line);
      assert.ok(m, `unexpected line from usher routes: ${JSON.stringify(line)}`);
      const key = routeKey(m[1], m[2]);
      assert.ok(!served.has(key), `usher routes lists ${key} twice`);
      served.set(key, { method: m[1], pattern: m[2], access: m[3] });
    }
    usher = await startUsher();
  });

  after(async () => {
    if (usher) assert.equal(await usher.stop(), 0);
  });

  it('usher routes prints METHOD PATTERN lines, and --help', async () => {
    assert.ok(served.size > 0);
    const plain = await runUsher(['routes']);
    assert.equal(plain.code, 0);
    const lines = plain.stdout.split('\n').filter(Boolean);
    assert.deepEqual(lines, [...served.values()].map((r) => `${r.method} ${r.pattern}`));
    const help = await runUsher(['routes', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: usher routes/);
    const bad = await runUsher(['routes', '--nope']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown option/);
  });

  it('documents exactly the query parameters each route reads (any other is refused)', async () => {
    const res = await runUsher(['routes', '--query']);
    assert.equal(res.code, 0, res.stderr);
    const reads = new Map();
    for (const line of res.stdout.split('\n').filter(Boolean)) {
      const m = /^([A-Z]+) (\/\S*) (\S+)$/.exec(line);
      assert.ok(m, `unexpected line from usher routes --query: ${JSON.stringify(line)}`);
      reads.set(routeKey(m[1], m[2]), m[3] === '-' ? [] : m[3].split(','));
    }
    assert.ok([...reads.values()].some((q) => q.includes('dry_run')));
    for (const { method, pattern, op, item } of operations) {
      const key = routeKey(method, pattern);
      // "*": the route takes any parameter and judges them itself (a redirect from elsewhere).
      if (!reads.has(key) || reads.get(key).includes('*')) continue;
      const documented = [...(item.parameters || []), ...(op.parameters || [])].map(deref)
        .filter((p) => p.in === 'query').map((p) => p.name);
      assert.deepEqual([...documented].sort(), [...reads.get(key)].sort(), `${method} ${pattern}: query parameters`);
    }
  });

  it('describes every route the binary serves', () => {
    const documented = new Map(operations.map((o) => [routeKey(o.method, o.pattern), o]));
    const missing = [...served.keys()].filter((k) => !documented.has(k));
    assert.deepEqual(missing, [], 'served but not in docs/openapi.json');
  });

  for (const { method, pattern, op } of operations) {
    const key = routeKey(method, pattern);
    const name = `${method} ${pattern}`;
    if (op['x-usher-pending']) {
      it(`${name} (x-usher-pending)`, (t) => {
        assert.ok(!served.has(key), `${name} is served now: remove x-usher-pending from docs/openapi.json`);
        t.skip(`${name} is promised but not served yet`);
      });
      continue;
    }

    it(`${name} is served as documented`, async () => {
      const route = served.get(key);
      assert.ok(route, `${name} is in docs/openapi.json but usher routes does not list it`);
      assert.equal(route.access === 'public', isPublic(op),
        `${name}: the document says ${isPublic(op) ? 'public' : 'authenticated'}, the route table ${route.access}`);

      // Without credentials, with ids that exist nowhere: the router must match this very
      // route (the server logs the pattern it matched), and a route needing a user answers 401.
      const urlPath = pattern.replace(/\{[^}/]+\}/g, 'x-none');
      const hasBody = ['POST', 'PUT', 'PATCH'].includes(method);
      const res = await usher.api(method, urlPath, hasBody ? { body: {} } : {});
      assert.notEqual(res.status, 405, `${name}: ${res.text}`);
      const requestId = res.headers['x-request-id'];
      assert.ok(requestId, `${name}: no X-Request-Id`);
      const log = await usher.waitForLog('http.request', (l) => l.request_id === requestId, 5000);
      assert.equal(log.route, route.pattern, `${name} was not matched by its own route`);
      if (!isPublic(op)) {
        assert.equal(res.status, 401, `${name}: ${res.text}`);
        assert.equal(res.json?.code, 'unauthenticated');
        assert.ok(op.responses['401'], `${name} answers 401 but does not document it`);
      } else {
        assert.ok(op.responses[String(res.status)] || op.responses.default,
          `${name} answered ${res.status}, which the document does not list`);
      }
    });
  }
});
