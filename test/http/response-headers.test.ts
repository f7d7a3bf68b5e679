/**
 * What every /graphql answer tells caches and browsers, and the landing page's protections. A
 * persisted-query GET URL is the same for every user: a CDN told to "cache everything" would
 * otherwise serve one user's panel to the next.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PANEL_QUERY, startHarness, type Harness } from '../support/harness.ts';
import { metricValue, scrapeMetrics } from '../support/measure.ts';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

function expectPrivate(res: Response, what: string): void {
  expect(res.headers.get('cache-control'), what).toBe('private, no-store');
  expect(res.headers.get('x-content-type-options'), what).toBe('nosniff');
}

describe('/graphql answers are never stored by a shared cache', () => {
  let h: Harness;
  let auth: Record<string, string>;
  beforeAll(async () => {
    h = await startHarness();
    auth = { authorization: `Bearer ${await h.token('u1001')}` };
  });
  afterAll(() => h.close());

  const post = (body: unknown, headers: Record<string, string> = auth, init: RequestInit = {}) =>
    fetch(`${h.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body), ...init });
  const panel = { query: PANEL_QUERY, variables: { scene: 'cart-bottom-sheet' } };

  it('marks a panel private and no-store through Apollo and again through the fast path', async () => {
    const knownBefore = metricValue(await scrapeMetrics(h.url), 'floorplan_graphql_requests_total', { pipeline: 'known-operation' }) ?? 0;
    for (let i = 0; i < 3; i++) {
      const res = await post(panel);
      expect(res.status).toBe(200);
      expectPrivate(res, `POST #${i + 1}`);
      await res.arrayBuffer();
    }
    expect(metricValue(await scrapeMetrics(h.url), 'floorplan_graphql_requests_total', { pipeline: 'known-operation' })).toBeGreaterThan(knownBefore);
  });

  it('marks an answer with errors on the fast path too', async () => {
    const bad = { query: PANEL_QUERY, variables: { scene: 'cart-bottom-sheet', selectedSkuIds: ['sku-gold-bar-1kg'] } };
    for (let i = 0; i < 3; i++) {
      const res = await post(bad);
      expect(res.status).toBe(200);
      expectPrivate(res, `POST #${i + 1}`);
      await res.arrayBuffer();
    }
  });

  it('marks a GET, and a GET of a persisted query by its hash', async () => {
    // Apollo's CSRF prevention asks a GET for a header a simple cross-site request cannot send.
    const getHeaders = { ...auth, 'apollo-require-preflight': 'true' };
    const query = '{ floorPanel(scene: "cart-bottom-sheet") { scene } }';
    const get = await fetch(`${h.url}/graphql?query=${encodeURIComponent(query)}`, { headers: getHeaders });
    expect(get.status).toBe(200);
    expectPrivate(get, 'GET');
    const registered = await post({ query, extensions: { persistedQuery: { version: 1, sha256Hash: sha256(query) } } });
    expect(registered.status).toBe(200);
    const extensions = encodeURIComponent(JSON.stringify({ persistedQuery: { version: 1, sha256Hash: sha256(query) } }));
    const byHash = await fetch(`${h.url}/graphql?extensions=${extensions}`, { headers: getHeaders });
    expect(byHash.status).toBe(200);
    expect(((await byHash.json()) as { data: unknown }).data).toEqual({ floorPanel: { scene: 'cart-bottom-sheet' } });
    expectPrivate(byHash, 'GET by hash');
  });

  it('marks the refusals: 401, 400, 405, 413', async () => {
    const unauthenticated = await post(panel, {});
    expect(unauthenticated.status).toBe(401);
    expectPrivate(unauthenticated, '401');
    const invalid = await post({ query: '{ nope }' });
    expect(invalid.status).toBe(400);
    expectPrivate(invalid, '400');
    const deleted = await fetch(`${h.url}/graphql`, { method: 'DELETE', headers: auth });
    expect(deleted.status).toBe(405);
    expectPrivate(deleted, '405');
    const tooLarge = await post({ query: `{ __typename } # ${'x'.repeat(h.config.server.bodyLimitBytes)}` });
    expect(tooLarge.status).toBe(413);
    expectPrivate(tooLarge, '413');
  });
});

describe.each([
  ['/', {}],
  ['/graphql', { accept: 'text/html' }],
])('the landing page at %s', (path, headers) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it('may not be framed or sniffed, and runs only its own inline script and style', async () => {
    const res = await fetch(`${h.url}${path}`, { headers });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("connect-src 'self'");
    const hash = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)![1]!;
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1]!;
    expect(csp).toMatch(new RegExp(`script-src ${hash(script).replace(/[+/]/g, '\\$&')}(;|$)`));
    expect(csp).toMatch(new RegExp(`style-src ${hash(style).replace(/[+/]/g, '\\$&')}(;|$)`));
    expect(csp).not.toContain('unsafe-inline');
  });
});
