import { afterEach, describe, expect, it } from 'vitest';
import { PANEL_QUERY, startHarness, type Harness, type PanelResult } from '../support/harness.ts';

describe('the pre-stop drain (server.drainMs)', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('answers /readyz 503 while still serving panels, and only then closes the listener', async () => {
    h = await startHarness({ config: { server: { drainMs: 1500 } } });
    const url = h.url;
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    const stopped = h.server.stop();
    const readyz = await fetch(`${url}/readyz`);
    expect(readyz.status).toBe(503);
    // A load balancer that has not yet seen the 503 still sends requests: they are served.
    const res = await h.graphql<PanelResult>('u1001', PANEL_QUERY, { scene: 'cart-bottom-sheet' });
    expect(res.status).toBe(200);
    expect(res.body.data?.floorPanel.degraded).toBe(false);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);

    await stopped;
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });

  it('closes at once when no drain is configured (the default)', async () => {
    h = await startHarness();
    expect(h.config.server.drainMs).toBe(0);
    await h.server.stop();
    await expect(fetch(`${h.url}/readyz`)).rejects.toThrow();
  });
});
