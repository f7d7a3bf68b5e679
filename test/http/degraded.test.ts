import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PANEL_QUERY, startHarness, type Harness, type PanelResult } from '../support/harness.ts';

const SEED_CODES = ['spze', 'lj', 'coupon', 'plus95', 'shipping', 'plus-rebate', 'payable'];

describe('a panel under upstream faults (DEMO_FAULTS)', () => {
  let h: Harness;
  beforeAll(async () => {
    // This suite classifies faults one by one; breakers (tested in resilience.test.ts) stay closed here.
    const calm = { breakerMinimumCalls: 10_000 };
    h = await startHarness({
      faults: 'promotion:hang',
      config: { upstreams: { cart: calm, promotion: { ...calm, timeoutMs: 150 }, settlement: calm } },
    });
  });
  afterAll(() => h.close());

  const panel = async (user = 'u1001') => {
    const res = await h.graphql<PanelResult>(user, PANEL_QUERY, { scene: 'cart-bottom-sheet' });
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.floorPanel;
  };

  it('keeps every row whose amount settlement gives while promotion hangs, leaving out only what promotion decorates, and says so', async () => {
    const p = await panel();
    expect(p.degraded).toBe(true);
    expect(p.failedUpstreams).toEqual(['PROMOTION']);
    expect(p.floors.map((f) => f.code)).toEqual(SEED_CODES);
    expect(p.floors[0]).toMatchObject({ priceText: '¥20.90' });
    expect(p.floors.find((f) => f.code === 'plus95')).toMatchObject({ priceText: '-¥1.04', subName: null });
  });

  for (const [fault, outcome] of [
    ['promotion:error:503', 'http_error'],
    ['promotion:malformed', 'malformed'],
    ['promotion:reset', 'network_error'],
  ] as const) {
    it(`treats ${fault} as a promotion failure (${outcome}), never an HTTP 500`, async () => {
      h.demo.setFaults(fault);
      const p = await panel();
      expect(p.degraded).toBe(true);
      expect(p.failedUpstreams).toEqual(['PROMOTION']);
      expect(p.floors.find((f) => f.code === 'plus95')).toMatchObject({ priceText: '-¥1.04', subName: null });
      const metrics = await (await fetch(`${h.url}/metrics`)).text();
      expect(metrics).toMatch(new RegExp(`floorplan_upstream_requests_total\\{upstream="promotion",outcome="${outcome}"\\} [1-9]`));
    });
  }

  it("is not degraded for a non-member's checkout summary while promotion fails: its zero PLUS row is hidden by hideWhenZero either way", async () => {
    h.demo.setFaults('');
    const healthy = (await h.graphql<PanelResult>('u-basic', PANEL_QUERY, { scene: 'checkout-summary' })).body.data!.floorPanel;
    expect(healthy.degraded).toBe(false);
    h.demo.setFaults('promotion:error:503');
    const p = (await h.graphql<PanelResult>('u-basic', PANEL_QUERY, { scene: 'checkout-summary' })).body.data!.floorPanel;
    // Nothing the layout shows needed promotion: the same rows, and no claim that any is missing.
    expect(p.floors).toEqual(healthy.floors);
    expect(p.floors.map((f) => f.code)).not.toContain('plus95');
    expect(p.degraded).toBe(false);
    expect(p.failedUpstreams).toEqual([]);
  });

  it('keeps text floors and the cart-based goods total fallback when settlement fails', async () => {
    h.demo.setFaults('settlement:error:500');
    const res = await h.graphql<PanelResult>('u1001', PANEL_QUERY, { scene: 'checkout-summary' });
    const p = res.body.data!.floorPanel;
    expect(p.degraded).toBe(true);
    expect(p.failedUpstreams).toEqual(['SETTLEMENT']);
    expect(p.floors.map((f) => f.code)).toEqual(['spze', 'free-shipping-notice']);
    // spze falls back to spze-cart: the selected lines' own prices, the same ¥20.90 here.
    expect(p.floors[0]).toMatchObject({ priceText: '¥20.90', subName: '共4件' });
  });

  it('renders a degraded panel, not an error, when the cart itself is down', async () => {
    h.demo.setFaults('cart:error:503');
    const p = await panel();
    expect(p.degraded).toBe(true);
    expect(p.failedUpstreams).toEqual(['CART']);
    expect(p.floors).toEqual([]);
  });

  it('is not degraded while an upstream is merely slow within its timeout', async () => {
    h.demo.setFaults('settlement:latency:30');
    const p = await panel();
    expect(p.degraded).toBe(false);
    expect(p.floors.map((f) => f.code)).toEqual(SEED_CODES);
  });

  it('does not memoise a failure: the next request recovers as soon as the upstream does', async () => {
    h.demo.setFaults('promotion:error:503');
    expect((await panel()).degraded).toBe(true);
    h.demo.setFaults('');
    const p = await panel();
    expect(p.degraded).toBe(false);
    expect(p.floors.map((f) => f.code)).toEqual(SEED_CODES);
  });

  it('counts degraded panels, their reasons and dropped floors in /metrics', async () => {
    h.demo.setFaults('promotion:error:503');
    await panel();
    h.demo.setFaults('settlement:error:503');
    await panel();
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    expect(metrics).toMatch(/floorplan_panels_total\{scene="cart-bottom-sheet",degraded="true"\} [1-9]/);
    expect(metrics).toMatch(/floorplan_panels_degraded_total\{scene="cart-bottom-sheet",reason="UPSTREAM_FAILED"\} [1-9]/);
    expect(metrics).toMatch(/floorplan_floors_dropped_total\{scene="cart-bottom-sheet",floor="payable",reason="settlement"\} [1-9]/);
  });
});
