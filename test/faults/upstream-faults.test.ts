import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PANEL_QUERY, startHarness, type Harness, type PanelResult } from '../support/harness.ts';
import { eventually, expectAlive, measureWithin, metricValue, scrapeMetrics, timedPost } from '../support/measure.ts';

type Panel = PanelResult['floorPanel'];
type Upstream = 'cart' | 'promotion' | 'settlement';

const DEADLINE_MS = 250;
/** What the client may wait beyond the deadline: rendering, serialising, loopback. */
const SLACK_MS = 20;

/** The floors of u1001's seed panel left when one upstream fails (each as in the healthy panel). */
const FLOORS_WITHOUT: Record<Upstream, string[]> = {
  cart: [],
  // Every amount is settlement's: only promotion's decoration (the PLUS quota) goes.
  promotion: ['spze', 'lj', 'coupon', 'plus95', 'shipping', 'plus-rebate', 'payable'],
  // spze falls back to the cart's own line prices: the same ¥20.90.
  settlement: ['spze'],
};

/**
 * How each fault shows in floorplan_upstream_requests_total{outcome}. `slow`: the upstream's
 * timeout (300/400 ms from the request being sent) is longer than the request's upstream budget
 * (250 − 40 ms reserve), so Floorplan's own deadline cuts the call — `deadline`, which breakers
 * ignore — except for promotion, whose cached load runs on without the request's deadline until
 * its own timeout.
 */
const FAULTS = [
  { fault: 'latency:400', name: 'a latency spike past the deadline', outcome: 'slow' },
  { fault: 'error:503', name: 'a 5xx answer', outcome: 'http_error' },
  { fault: 'malformed', name: 'malformed JSON', outcome: 'malformed' },
  { fault: 'hang', name: 'a hang', outcome: 'slow' },
  { fault: 'reset', name: 'a connection reset', outcome: 'network_error' },
] as const;

const outcomeOf = (upstream: string, outcome: (typeof FAULTS)[number]['outcome']) =>
  outcome !== 'slow' ? outcome : upstream === 'promotion' ? 'timeout' : 'deadline';

describe('a panel while one upstream misbehaves (deadline 250 ms, real HTTP)', () => {
  let h: Harness;
  let token: string;
  let healthy: Panel;

  beforeAll(async () => {
    // Breakers would turn repeated faults into instant failures; kept closed so every request
    // really meets the fault and the deadline alone bounds it.
    const calm = { breakerMinimumCalls: 1_000_000 };
    h = await startHarness({
      config: { limits: { requestDeadlineMs: DEADLINE_MS }, upstreams: { cart: calm, promotion: calm, settlement: calm } },
    });
    token = await h.token('u1001');
    // A first request on a busy machine can outlast the 250 ms deadline (JIT); keep a complete panel.
    const complete = await eventually(requestPanel, (r) => r.body.data?.floorPanel.degraded === false);
    healthy = complete.body.data!.floorPanel;
    expect(healthy.degraded).toBe(false);
    // Warm the abort paths too, so the first case does not time the JIT.
    h.demo.setFaults('cart:hang');
    for (let i = 0; i < 3; i++) await requestPanel();
  });
  afterAll(() => h.close());
  beforeEach(() => {
    h.demo.setFaults('');
    h.demo.resetCalls();
  });

  const requestPanel = () =>
    timedPost<PanelResult>(h.url, { query: PANEL_QUERY, variables: { scene: 'cart-bottom-sheet' } }, { authorization: `Bearer ${token}` });

  /**
   * Each floor present is exactly the healthy panel's floor with that code: u1001's amounts,
   * nobody else's — less the sub-names whose values came from the upstream that failed.
   */
  function expectFloorsFromHealthyPanel(panel: Panel, codes: readonly string[], undecorated: readonly string[] = []): void {
    expect(panel.floors.map((f) => f.code)).toEqual(codes);
    for (const floor of panel.floors) {
      const expected = healthy.floors.find((f) => f.code === floor.code)!;
      expect(floor).toEqual(undecorated.includes(floor.code) ? { ...expected, subName: null } : expected);
    }
  }

  for (const upstream of ['cart', 'promotion', 'settlement'] as const) {
    for (const { fault, name, outcome } of FAULTS) {
      it(`answers a clearly degraded panel within the deadline when ${upstream} has ${name} (${upstream}:${fault})`, async () => {
        h.demo.setFaults(`${upstream}:${fault}`);
        const counted = { upstream, outcome: outcomeOf(upstream, outcome) };
        const before = metricValue(await scrapeMetrics(h.url), 'floorplan_upstream_requests_total', counted);
        const { runs, medianMs } = await measureWithin(requestPanel, DEADLINE_MS + SLACK_MS);

        for (const run of runs) {
          expect(run.status).toBe(200);
          expect(run.body.errors).toBeUndefined();
          const panel = run.body.data!.floorPanel;
          // Promotion is loaded through the promotion cache: a slow load started by one request
          // keeps going and may answer the next one in time, which then is simply complete.
          if (upstream === 'promotion' && fault === 'latency:400' && !panel.degraded) {
            expectFloorsFromHealthyPanel(panel, healthy.floors.map((f) => f.code));
            continue;
          }
          expect(panel.degraded).toBe(true);
          expect(panel.failedUpstreams).toEqual([upstream.toUpperCase()]);
          expectFloorsFromHealthyPanel(panel, FLOORS_WITHOUT[upstream], upstream === 'promotion' ? ['plus95'] : []);
        }
        if (upstream === 'promotion' && fault === 'latency:400') expect(runs.some((r) => r.body.data!.floorPanel.degraded)).toBe(true);
        expect(medianMs).toBeLessThan(DEADLINE_MS + SLACK_MS);

        // Promotion's cached load outlives the request: its own timeout is counted a moment later.
        const after = await eventually(
          async () => metricValue(await scrapeMetrics(h.url), 'floorplan_upstream_requests_total', counted),
          (value) => value > before,
        );
        expect(after).toBeGreaterThan(before);
        expect(h.demo.received('cart').every((userId) => userId === 'u1001')).toBe(true);
        await expectAlive(h.url);
      });
    }

    it(`answers the complete panel when ${upstream} is merely slow within its budget (${upstream}:latency:30)`, async () => {
      h.demo.setFaults(`${upstream}:latency:30`);
      const { runs, medianMs } = await measureWithin(requestPanel, DEADLINE_MS + SLACK_MS);
      for (const run of runs) {
        expect(run.status).toBe(200);
        const panel = run.body.data!.floorPanel;
        expect(panel.degraded).toBe(false);
        expect(panel.failedUpstreams).toEqual([]);
        expect(panel.floors).toEqual(healthy.floors);
      }
      expect(medianMs).toBeLessThan(DEADLINE_MS + SLACK_MS);
      await expectAlive(h.url);
    });
  }
});
