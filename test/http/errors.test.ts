import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PANEL_QUERY, startHarness, type Harness } from '../support/harness.ts';
import { createHttpUpstreamClients, type UpstreamClients, type UpstreamEndpoint } from '../../src/upstreams/clients.ts';
import { UPSTREAMS, type UpstreamName } from '../../src/upstreams/registry.ts';
import { callCounts } from '../support/upstream-fakes.ts';

describe('errors a client can see', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it('answers an unknown scene with BAD_USER_INPUT naming the known scenes, before any upstream call', async () => {
    h.demo.resetCalls();
    const res = await h.graphql('u1001', PANEL_QUERY, { scene: 'cart-bottom-shet' });
    expect(res.status).toBe(200);
    expect(res.body.data).toBeNull();
    expect(res.body.errors![0]).toMatchObject({
      message: 'scene must be one of "cart-bottom-sheet", "checkout-summary", but got: "cart-bottom-shet"',
      extensions: { code: 'BAD_USER_INPUT', argumentName: 'scene' },
    });
    expect(h.demo.calls()).toEqual(callCounts({ cart: 0, promotion: 0, settlement: 0, loyalty: 0 }));
  });

  it('refuses a body over the limit with 413 and a clear code', async () => {
    const token = await h.token('u1001');
    const res = await fetch(`${h.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: `{ __typename }`, padding: 'x'.repeat(h.config.server.bodyLimitBytes) }),
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ errors: [{ extensions: { code: 'BAD_REQUEST', reason: 'FLOORPLAN_ERR_HTTP_BODY_TOO_LARGE' } }] });
  });

  it('refuses a body that is not JSON with 400', async () => {
    const res = await fetch(`${h.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": ' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ errors: [{ extensions: { code: 'BAD_REQUEST' } }] });
  });

  it('sends no stack trace, even for a syntax error', async () => {
    const res = await h.graphql('u1001', '{ floorPanel(scene: ');
    expect(res.status).toBe(400);
    expect(res.body.errors![0]!.extensions!.code).toBe('GRAPHQL_PARSE_FAILED');
    expect(JSON.stringify(res.body)).not.toMatch(/stacktrace|\.ts:\d+|at .*\(/);
  });

  it('serves health, readiness and a 404 for unknown routes', async () => {
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${h.url}/readyz`)).json()).toEqual({ status: 'ready', layouts: { source: 'file', revision: 0, store: 'none' } });
    expect((await fetch(`${h.url}/nope`)).status).toBe(404);
  });

  it('serves a local landing page instead of the CDN one', async () => {
    const res = await fetch(`${h.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<title>Floorplan</title>');
    expect(html).not.toMatch(/https?:\/\/(?!127\.0\.0\.1)/);
    // The demo: demo tokens are accepted, and this harness has an admin token, so the console is served.
    expect(html).toContain('npm run -s token -- u1001 --segments plus');
  });

  it('answers the layout operations of a Floorplan without a revision store with what is missing, not "no route"', async () => {
    for (const operation of ['publish', 'history', 'candidate', 'check']) {
      const res = await fetch(`${h.url}/admin/layouts/${operation}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${h.config.admin.token}` },
        body: '{}',
      });
      expect(res.status, operation).toBe(404);
      expect(((await res.json()) as { error: string }).error, operation).toMatch(/^this Floorplan keeps no layout revisions \(layouts\.store\.kind is none\)/);
    }
  });

  it('names the setting behind a floors folder or flags file that cannot be read, as every other bad value is named', async () => {
    await expect(startHarness({ config: { floors: { dir: '/nonexistent-floors' } } })).rejects.toThrow(
      /floors folder \/nonexistent-floors \(config floors\.dir, FLOORS_DIR\) cannot be read: ENOENT/,
    );
    await expect(startHarness({ config: { flags: { bootstrapFile: '/nonexistent-flags.json' } } })).rejects.toThrow(
      /flags come from \/nonexistent-flags\.json \(config flags\.bootstrapFile, FLAGS_FILE\), but it cannot be read/,
    );
  });

  it('offers demo tokens and the console on the landing page only where they exist', async () => {
    const production = await startHarness({ config: { demo: { enabled: false }, admin: { token: '' } } });
    try {
      const html = await (await fetch(`${production.url}/`)).text();
      expect(html).toContain('<title>Floorplan</title>');
      expect(html).not.toContain('npm run -s token');
      expect(html).not.toContain('/console');
      expect((await fetch(`${production.url}/console`)).status).toBe(404);
    } finally {
      await production.close();
    }
  });
});

describe('internal errors', () => {
  let h: Harness;
  beforeAll(async () => {
    // A cart client that breaks in a way no upstream error explains: a bug, not an outage.
    const real = createHttpUpstreamClients(
      Object.fromEntries(UPSTREAMS.map((u) => [u, { baseUrl: `http://127.0.0.1:9/${u}`, timeoutMs: 100, connections: 1 }])) as Record<UpstreamName, UpstreamEndpoint>,
    );
    const clients: UpstreamClients = {
      ...real,
      cart: () => Promise.reject(new TypeError('secret detail: /etc/floorplan/keys.pem unreadable')),
    };
    h = await startHarness({ deps: { clients } });
  });
  afterAll(() => h.close());

  it('masks them for the client as INTERNAL_SERVER_ERROR without the detail or a stack', async () => {
    const res = await h.graphql('u1001', PANEL_QUERY, { scene: 'cart-bottom-sheet' });
    expect(res.status).toBe(200);
    expect(res.body.errors![0]).toEqual({ message: 'Internal server error', path: ['floorPanel'], extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    expect(JSON.stringify(res.body)).not.toContain('secret detail');
  });
});
