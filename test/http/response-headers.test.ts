/**
 * What every /graphql answer tells caches and browsers, and the landing page's protections. A
 * persisted-query GET URL is the same for every user: a CDN told to "cache everything" would
 * otherwise serve one user's panel to the next.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PANEL_QUERY, startHarness, type Harness } from '../support/harness.ts';
import { eventually, metricValue, scrapeMetrics } from '../support/measure.ts';

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

/** Writes `request` on a socket of its own and reads the answer until the server closes it or its head and body are in. */
async function rawAnswer(url: string, request: string): Promise<{ status: number; headers: Record<string, string> }> {
  const socket = connect(Number(new URL(url).port), '127.0.0.1');
  await once(socket, 'connect');
  socket.on('error', () => undefined);
  let answer = '';
  socket.setEncoding('utf8');
  const done = new Promise<void>((resolve) => {
    socket.on('data', (chunk: string) => {
      answer += chunk;
      const end = answer.indexOf('\r\n\r\n');
      if (end === -1) return;
      const length = /\r\ncontent-length: (\d+)/i.exec(answer.slice(0, end))?.[1];
      if (length !== undefined ? answer.length >= end + 4 + Number(length) : answer.endsWith('0\r\n\r\n')) resolve();
    });
    socket.on('close', () => resolve());
  });
  socket.write(request);
  await done;
  socket.destroy();
  const [statusLine = '', ...lines] = answer.slice(0, answer.indexOf('\r\n\r\n')).split('\r\n');
  const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
  return { status: Number(statusLine.split(' ')[1]), headers };
}

describe('every error answer outside /admin is private and not sniffed', () => {
  let h: Harness;
  let auth: Record<string, string>;
  beforeAll(async () => {
    h = await startHarness({ config: { admin: { token: 'httpedge-admin-token' } } });
    auth = { authorization: `Bearer ${await h.token('u1001')}` };
  });
  afterAll(() => h.close());

  const json = { 'content-type': 'application/json' };
  const panelBody = JSON.stringify({ query: PANEL_QUERY, variables: { scene: 'cart-bottom-sheet' } });
  const fetched: Array<[string, number, () => Promise<Response>]> = [
    ['an unknown path', 404, () => fetch(`${h.url}/nope`)],
    ...['/', '/healthz', '/readyz', '/metrics', '/console', '/console/console.js'].map((path): [string, number, () => Promise<Response>] => [`POST ${path}`, 405, () => fetch(`${h.url}${path}`, { method: 'POST' })]),
    ['DELETE /graphql', 405, () => fetch(`${h.url}/graphql`, { method: 'DELETE', headers: auth })],
    ['a body over the limit', 413, () => fetch(`${h.url}/graphql`, { method: 'POST', headers: { ...json, ...auth }, body: 'x'.repeat(h.config.server.bodyLimitBytes + 1) })],
    ['a gzipped body', 415, () => fetch(`${h.url}/graphql`, { method: 'POST', headers: { ...json, ...auth, 'content-encoding': 'gzip' }, body: panelBody })],
    ['a body that is not JSON', 400, () => fetch(`${h.url}/graphql`, { method: 'POST', headers: { ...json, ...auth }, body: '{"query":' })],
    ['no token', 401, () => fetch(`${h.url}/graphql`, { method: 'POST', headers: json, body: panelBody })],
  ];
  it.each(fetched)('%s (%i)', async (_what, status, ask) => {
    const res = await ask();
    expect(res.status).toBe(status);
    expectPrivate(res, `${status}`);
    await res.arrayBuffer();
  });

  const raw: Array<[string, number, string]> = [
    ['headers over the limit', 431, `GET /graphql HTTP/1.1\r\nhost: x\r\naccept-language: ${'zh-CN,'.repeat(20_000)}\r\n\r\n`],
    ['a request Node cannot parse', 400, 'GET / HTTP/1.1\r\nhost: x\r\nnot a header\r\n\r\n'],
    ['a chunk extension over the limit', 413, `POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n1;${'a'.repeat(20_000)}\r\n`],
    ['an HTTP/1.1 request without Host', 400, 'GET /healthz HTTP/1.1\r\n\r\n'],
    ['an expectation other than 100-continue', 417, `POST /graphql HTTP/1.1\r\nhost: x\r\nexpect: 200-ok\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}`],
  ];
  it.each(raw)('%s (%i)', async (_what, status, request) => {
    const res = await rawAnswer(h.url, request);
    expect(res.status).toBe(status);
    expect({ cacheControl: res.headers['cache-control'], nosniff: res.headers['x-content-type-options'] }).toEqual({ cacheControl: 'private, no-store', nosniff: 'nosniff' });
  });

  it('marks /readyz 503 while draining, and the overload refusal', async () => {
    const busy = await startHarness({
      faults: 'cart:latency:300',
      config: { server: { drainMs: 1000, admission: { enabled: true, initialLimit: 1, minLimit: 1, maxLimit: 1, targetLagMs: 1000, maxQueueWaitMs: 0, retryAfterSeconds: 1 } } },
    });
    try {
      const slow = busy.graphql('u1001', PANEL_QUERY, { scene: 'cart-bottom-sheet' });
      await eventually(
        () => scrapeMetrics(busy.url),
        (text) => metricValue(text, 'floorplan_admission_requests', { state: 'running' }) === 1,
      );
      const refused = await fetch(`${busy.url}/graphql`, { method: 'POST', headers: { ...json, authorization: `Bearer ${await busy.token('u-basic')}` }, body: panelBody });
      expect(refused.status).toBe(503);
      expectPrivate(refused, 'OVERLOADED');
      await refused.arrayBuffer();
      expect((await slow).status).toBe(200);
      const stopped = busy.server.stop();
      const draining = await fetch(`${busy.url}/readyz`);
      expect(draining.status).toBe(503);
      expectPrivate(draining, '/readyz 503');
      await draining.arrayBuffer();
      await stopped;
    } finally {
      await busy.demo.close();
    }
  });
});
