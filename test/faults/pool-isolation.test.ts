/**
 * Each upstream has its own connection pool, even when upstreams share an origin (behind one
 * gateway or sidecar, as the demo upstreams share one server): a hung upstream holds only the
 * connections it may open, and the others' calls never wait behind it.
 *
 * One pool per origin, as the benchmark's peers have, saves no CPU that holds up when measured
 * both ways round (BENCHMARKS.md, session 28). It would also let a hung promotion take every
 * connection to that origin, so the cart and the quote would wait for the deadline: a slow
 * upstream would become an outage.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PANEL_QUERY, startHarness, type Harness, type PanelResult } from '../support/harness.ts';

/** Connections per upstream: fewer than the users asking at once, so a hung upstream fills its pool. */
const CONNECTIONS = 2;
const USERS = 8;
const DEADLINE_MS = 1500;

describe('a hung upstream on a shared origin', () => {
  let h: Harness;
  beforeAll(async () => {
    const upstream = { connections: CONNECTIONS };
    h = await startHarness({
      faults: 'promotion:hang',
      config: {
        // Every one of the users at once must be served, not shed by a cold server's admission control.
        server: { admission: { enabled: false } },
        limits: { requestDeadlineMs: DEADLINE_MS },
        // Promotion's own timeout beyond the deadline: only the deadline ends its calls.
        upstreams: { cart: upstream, promotion: { ...upstream, timeoutMs: 10_000, retries: 0 }, settlement: upstream },
      },
    });
  });
  afterAll(() => h.close());

  it('holds only its own connections: every cart and quote call is answered while promotion hangs', async () => {
    const origins = new Set(Object.values(h.demo.baseUrls).map((url) => new URL(url).origin));
    expect(origins.size).toBe(1); // the premise: one origin for every upstream
    h.demo.resetCalls();

    const answers = await Promise.all(
      Array.from({ length: USERS }, (_, i) => h.graphql<PanelResult>(`pool-isolation-${i}`, PANEL_QUERY, { scene: 'cart-bottom-sheet' })),
    );

    for (const answer of answers) {
      expect(answer.status).toBe(200);
      const panel = answer.body.data?.floorPanel;
      expect(panel?.degraded).toBe(true);
      // Promotion alone is missing: the cart and the quote came back, over their own connections.
      expect(panel?.failedUpstreams).toEqual(['PROMOTION']);
      expect(panel?.floors.map((floor) => floor.code)).toContain('payable');
    }
    const calls = h.demo.calls();
    expect(calls.cart).toBe(USERS);
    expect(calls.settlement).toBe(USERS);
    // Only as many promotion calls reached the hung upstream as its pool has connections.
    expect(calls.promotion).toBe(CONNECTIONS);
  });

  it('stops without waiting for the promotion calls still hung or queued, which no request waits for any more', async () => {
    // The cache's shared loads outlive the requests that started them; six are still queued
    // behind the two hung ones. Waiting for them would take 3 × promotion's 10 s timeout.
    const started = performance.now();
    await h.server.stop();
    expect(performance.now() - started).toBeLessThan(5000);
  });
});
