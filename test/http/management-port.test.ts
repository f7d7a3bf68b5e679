/**
 * `server.managementPort`: the metrics, the admin API and the console on a listener of their
 * own, so the port a load balancer or an ingress exposes to the apps serves the apps only.
 * Defect (security pass, carried): with one port, whatever reached /graphql from the internet
 * also reached /metrics (every panel's outcome, upstream names), the console and the admin API's
 * login, which a guesser could then work at from anywhere.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadServiceConfig } from '../../src/config/service-config.ts';
import { PANEL_QUERY, startHarness, type Harness } from '../support/harness.ts';

const ADMIN = 'management-port-suite-token';

async function status(url: string, init: RequestInit = {}): Promise<number> {
  const res = await fetch(url, init);
  await res.arrayBuffer();
  return res.status;
}

const adminSession = { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` }, body: '{}' } satisfies RequestInit;

describe('a Floorplan with a management port', () => {
  let h: Harness;
  let management: string;

  beforeAll(async () => {
    h = await startHarness({ config: { server: { managementPort: 0 }, admin: { token: ADMIN } } });
    management = h.server.managementUrl ?? '';
  });
  afterAll(() => h.close());

  it('says where it listens for what', () => {
    expect(management).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(management).not.toBe(h.url);
  });

  it('serves the apps on the public port, and nothing an operator or Prometheus uses', async () => {
    const panel = await h.graphql('u1001', PANEL_QUERY, { scene: 'cart-bottom-sheet' });
    expect(panel.status).toBe(200);
    expect((panel.body.data?.floorPanel as { floors: unknown[] }).floors.length).toBeGreaterThan(0);
    // The landing page does not point at a console this port does not serve.
    const landing = await fetch(`${h.url}/`);
    expect(landing.status).toBe(200);
    const page = await landing.text();
    expect(page).toContain('/graphql');
    expect(page).not.toContain('/console');
    expect(await status(`${h.url}/healthz`)).toBe(200);
    expect(await status(`${h.url}/readyz`)).toBe(200);
    // Not there at all, as any unknown path: the right admin credential does not help.
    for (const path of ['/metrics', '/console', '/console/console.js']) expect([path, await status(`${h.url}${path}`)]).toEqual([path, 404]);
    expect(await status(`${h.url}/admin/session`, adminSession)).toBe(404);
    const res = await fetch(`${h.url}/metrics`);
    expect(await res.json()).toEqual({ errors: [{ message: 'no route for /metrics; GraphQL is served at /graphql', extensions: { code: 'BAD_REQUEST' } }] });
  });

  it('serves the metrics, the admin API, the console and the probes on the management port, and no panel', async () => {
    const metrics = await fetch(`${management}/metrics`);
    expect(metrics.status).toBe(200);
    const text = await metrics.text();
    // The panel asked on the public port is counted: one registry for both listeners.
    expect(text).toMatch(/floorplan_http_request_duration_seconds_count\{[^}]*route="\/graphql"[^}]*status="200"[^}]*\} [1-9]/);
    expect(await status(`${management}/admin/session`, adminSession)).toBe(200);
    expect(await status(`${management}/console`)).toBe(200);
    expect(await status(`${management}/healthz`)).toBe(200);
    expect(await status(`${management}/readyz`)).toBe(200);
    const token = await h.token('u1001');
    const graphql = await fetch(`${management}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: PANEL_QUERY, variables: { scene: 'cart-bottom-sheet' } }),
    });
    expect(graphql.status).toBe(404);
    expect(await status(`${management}/`)).toBe(404);
  });
});

describe('a Floorplan with a management port, stopped', () => {
  it('closes both listeners', async () => {
    const h = await startHarness({ config: { server: { managementPort: 0 }, admin: { token: ADMIN } } });
    const management = h.server.managementUrl ?? '';
    expect(await status(`${management}/healthz`)).toBe(200);
    await h.close();
    await expect(fetch(`${management}/healthz`)).rejects.toThrow();
    await expect(fetch(`${h.url}/healthz`)).rejects.toThrow();
  });
});

describe('a Floorplan without a management port (the default)', () => {
  it('serves everything on its one port, as before', async () => {
    const h = await startHarness({ config: { admin: { token: ADMIN } } });
    try {
      expect(h.server.managementUrl).toBeUndefined();
      expect(await status(`${h.url}/metrics`)).toBe(200);
      expect(await status(`${h.url}/admin/session`, adminSession)).toBe(200);
      expect(await status(`${h.url}/console`)).toBe(200);
      expect(await (await fetch(`${h.url}/`)).text()).toContain('href="/console"');
    } finally {
      await h.close();
    }
  });
});

describe('server.managementPort in the service config', () => {
  it('is off unless set; MANAGEMENT_PORT sets it', () => {
    expect(loadServiceConfig({ env: {} }).server.managementPort).toBeNull();
    expect(loadServiceConfig({ env: { MANAGEMENT_PORT: '9464' } }).server.managementPort).toBe(9464);
  });

  it('refuses the public port itself, naming both settings', () => {
    expect(() => loadServiceConfig({ env: { PORT: '4000', MANAGEMENT_PORT: '4000' } })).toThrow(/`server\.managementPort` must differ from server\.port.*which is 4000 \(set by PORT\), but got: 4000 \(set by MANAGEMENT_PORT\)/s);
    expect(() => loadServiceConfig({ env: { MANAGEMENT_PORT: '70000' } })).toThrow(/server\.managementPort/);
  });
});
