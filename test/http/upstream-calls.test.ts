import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PANEL_QUERY, startHarness, type Harness, type PanelResult } from '../support/harness.ts';
import { callCounts } from '../support/upstream-fakes.ts';
import { metricValue, scrapeMetrics } from '../support/measure.ts';
import { UPSTREAMS } from '../../src/upstreams/registry.ts';

const FLOORS = 'floors { code priceText }';

describe('one call per upstream per request', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());
  beforeEach(() => h.demo.resetCalls());

  it('calls cart, promotion and settlement once for a panel of eight floors', async () => {
    const res = await h.graphql<PanelResult>('u1001', PANEL_QUERY, { scene: 'cart-bottom-sheet' });
    expect(res.body.data!.floorPanel.floors.length).toBeGreaterThanOrEqual(7);
    expect(h.demo.calls()).toEqual(callCounts({ cart: 1, promotion: 1, settlement: 1, loyalty: 0 }));
  });

  it('still calls each upstream once when aliases ask for the same panel three times', async () => {
    const res = await h.graphql(
      'u1001',
      `{ a: floorPanel(scene: "cart-bottom-sheet") { ${FLOORS} }
         b: floorPanel(scene: "cart-bottom-sheet") { ${FLOORS} }
         c: floorPanel(scene: "cart-bottom-sheet") { degraded } }`,
    );
    expect(res.body.errors).toBeUndefined();
    expect(h.demo.calls()).toEqual(callCounts({ cart: 1, promotion: 1, settlement: 1, loyalty: 0 }));
  });

  it('still calls each upstream once for two different scenes in one request', async () => {
    const res = await h.graphql(
      'u1001',
      `{ sheet: floorPanel(scene: "cart-bottom-sheet") { ${FLOORS} }
         summary: floorPanel(scene: "checkout-summary") { ${FLOORS} } }`,
    );
    expect(res.body.errors).toBeUndefined();
    expect(h.demo.calls()).toEqual(callCounts({ cart: 1, promotion: 1, settlement: 1, loyalty: 0 }));
  });

  it('batches two different selections into one settlement call with two quotes', async () => {
    const res = await h.graphql<{ all: { floors: Array<{ code: string; priceText: string }> }; one: { floors: Array<{ code: string; priceText: string }> } }>(
      'u1001',
      `{ all: floorPanel(scene: "cart-bottom-sheet") { ${FLOORS} }
         one: floorPanel(scene: "cart-bottom-sheet", selectedSkuIds: ["sku-oreo-116g"]) { ${FLOORS} } }`,
    );
    expect(res.body.errors).toBeUndefined();
    expect(h.demo.calls()).toEqual(callCounts({ cart: 1, promotion: 1, settlement: 1, loyalty: 0 }));
    const [body] = h.demo.received('settlement') as Array<{ quotes: unknown[] }>;
    expect(body!.quotes).toHaveLength(2);
    expect(res.body.data!.all.floors[0]).toEqual({ code: 'spze', priceText: '¥20.90' });
    expect(res.body.data!.one.floors[0]).toEqual({ code: 'spze', priceText: '¥7.90' });
  });

  it('asks the upstreams about the token user only, with the selected lines', async () => {
    await h.graphql('u1001', PANEL_QUERY, { scene: 'cart-bottom-sheet' });
    expect(h.demo.received('cart')).toEqual(['u1001']);
    const [promotion] = h.demo.received('promotion') as Array<{ userId: string; skuIds: string[] }>;
    expect(promotion).toEqual({ userId: 'u1001', skuIds: ['sku-mengniu-milk-4x250', 'sku-nongfu-550ml', 'sku-oreo-116g'] });
    const [settlement] = h.demo.received('settlement') as Array<{ userId: string; quotes: Array<{ lines: unknown[] }> }>;
    expect(settlement!.userId).toBe('u1001');
    expect(settlement!.quotes[0]!.lines).toEqual([
      { skuId: 'sku-mengniu-milk-4x250', quantity: 1 },
      { skuId: 'sku-nongfu-550ml', quantity: 2 },
      { skuId: 'sku-oreo-116g', quantity: 1 },
    ]);
  });

  it('never shares one request’s data with the next: each request makes its own calls', async () => {
    await h.graphql('u1001', PANEL_QUERY, { scene: 'cart-bottom-sheet' });
    await h.graphql('u-basic', PANEL_QUERY, { scene: 'cart-bottom-sheet' });
    expect(h.demo.calls()).toEqual(callCounts({ cart: 2, promotion: 2, settlement: 2, loyalty: 0 }));
    expect(h.demo.received('cart')).toEqual(['u1001', 'u-basic']);
  });

  it('reports the calls in /metrics by upstream and outcome', async () => {
    await h.graphql('u1001', PANEL_QUERY, { scene: 'cart-bottom-sheet' });
    const text = await (await fetch(`${h.url}/metrics`)).text();
    for (const upstream of ['cart', 'promotion', 'settlement']) {
      expect(text).toMatch(new RegExp(`floorplan_upstream_requests_total\\{upstream="${upstream}",outcome="ok"\\} [1-9]`));
    }
    expect(text).toContain('floorplan_http_request_duration_seconds_bucket');
  });
});

describe('one call per upstream per request, when an upstream fails', () => {
  // An upstream in trouble must not get more load from Floorplan than a healthy one.
  it.each(['cart:error:500', 'cart:malformed', 'promotion:error:500', 'settlement:malformed'])('calls each upstream at most once with %s', async (faults) => {
    const h = await startHarness({ faults });
    try {
      for (const scene of ['cart-bottom-sheet', 'checkout-summary']) {
        h.demo.resetCalls();
        const res = await h.graphql<PanelResult>('u1001', PANEL_QUERY, { scene });
        expect(res.status).toBe(200);
        const calls = h.demo.calls();
        expect({ scene, over: Object.entries(calls).filter(([, n]) => n > 1) }).toEqual({ scene, over: [] });
        expect(calls[faults.split(':')[0] as 'cart']).toBe(1);
      }
    } finally {
      await h.close();
    }
  });
});

/** `name`'s samples for `upstream`, summed over their other labels (every outcome of floorplan_upstream_requests_total). */
function summed(text: string, name: string, upstream: string): number {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) && line.includes(`upstream="${upstream}"`))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

describe('upstream retries in /metrics', () => {
  it('counts each retry sent in floorplan_upstream_retries_total: the calls an upstream received are its requests plus its retries', async () => {
    // Settlement answers every call 503; its breaker is kept closed, so every panel's call is
    // sent and retried while the retry budget allows. An upstream team counts what arrived.
    const h = await startHarness({ faults: 'settlement:error:503', config: { upstreams: { settlement: { breakerMinimumCalls: 1_000_000 } } } });
    try {
      // At 0 for every upstream before any retry: a sum of requests and retries reads 0 retries, not nothing.
      const before = await scrapeMetrics(h.url);
      for (const upstream of UPSTREAMS) expect(before).toContain(`floorplan_upstream_retries_total{upstream="${upstream}"} 0`);
      for (let i = 0; i < 15; i++) {
        const res = await h.graphql<PanelResult>('u1001', PANEL_QUERY, { scene: 'cart-bottom-sheet' });
        expect(res.body.data!.floorPanel.failedUpstreams).toEqual(['SETTLEMENT']);
      }
      const received = h.demo.calls().settlement;
      const text = await scrapeMetrics(h.url);
      const requests = summed(text, 'floorplan_upstream_requests_total', 'settlement');
      const retries = metricValue(text, 'floorplan_upstream_retries_total', { upstream: 'settlement' });
      const timed = metricValue(text, 'floorplan_upstream_request_duration_seconds_count', { upstream: 'settlement' });
      expect({ requests, retried: received > requests }).toEqual({ requests: 15, retried: true });
      // The retry budget (README): 10 % of 15 calls, plus its reserve of 5.
      expect(retries).toBeLessThanOrEqual(5 + 1.5);
      expect({ received, requestsAndRetries: requests + retries, timedAndRetries: timed + retries }).toEqual({
        received,
        requestsAndRetries: received,
        timedAndRetries: received,
      });
      expect(metricValue(text, 'floorplan_upstream_retries_total', { upstream: 'cart' })).toBe(0);
    } finally {
      await h.close();
    }
  });
});

describe('upstream metrics while an upstream is down and its breaker opens', () => {
  it('counts every call that reached settlement as http_error and times only those; circuit_open only for calls never sent', async () => {
    // Settlement answers every call 503; its breaker opens after four failed attempts and lets a
    // trial call through 100 ms later. Retries on: a trial's failure reopens the circuit, so it is not retried.
    const h = await startHarness({
      faults: 'settlement:error:503',
      config: { upstreams: { settlement: { retries: 1, breakerFailureRatio: 0.5, breakerWindowMs: 5000, breakerMinimumCalls: 4, breakerHalfOpenAfterMs: 100 } } },
    });
    try {
      let sent = 0;
      let notSent = 0;
      const panel = async () => {
        const before = h.demo.calls().settlement;
        const res = await h.graphql<PanelResult>('u1001', PANEL_QUERY, { scene: 'cart-bottom-sheet' });
        expect(res.body.data!.floorPanel.failedUpstreams).toEqual(['SETTLEMENT']);
        if (h.demo.calls().settlement > before) sent += 1;
        else notSent += 1;
      };
      for (let i = 0; i < 4; i++) await panel();
      for (let round = 0; round < 3; round++) {
        await panel();
        await panel();
        await new Promise((r) => setTimeout(r, 150));
        await panel();
      }
      expect(notSent).toBeGreaterThanOrEqual(6);
      const text = await (await fetch(`${h.url}/metrics`)).text();
      const count = (outcome: string) => metricValue(text, 'floorplan_upstream_requests_total', { upstream: 'settlement', outcome });
      expect({ http_error: count('http_error'), circuit_open: count('circuit_open') }).toEqual({ http_error: sent, circuit_open: notSent });
      expect(metricValue(text, 'floorplan_upstream_request_duration_seconds_count', { upstream: 'settlement' })).toBe(sent);
      // What settlement received: the calls sent, and their retries; no refused call or retry among them.
      expect(metricValue(text, 'floorplan_upstream_retries_total', { upstream: 'settlement' }) + sent).toBe(h.demo.calls().settlement);
    } finally {
      await h.close();
    }
  });
});

describe('a settlement answer that leaves out a quote asked for, in /metrics', () => {
  let h: Harness;
  beforeAll(async () => {
    // A breaker that would open after four failed calls of six: a malformed answer must not count as one.
    h = await startHarness({ config: { upstreams: { settlement: { breakerFailureRatio: 0.5, breakerWindowMs: 10_000, breakerMinimumCalls: 4 } } } });
  });
  afterAll(() => h.close());
  beforeEach(() => {
    h.demo.tamper('settlement', undefined);
    h.demo.resetCalls();
  });

  /** settlement's calls by outcome, and the refused answers of every reason, as /metrics has them now. */
  const counted = async () => {
    const text = await scrapeMetrics(h.url);
    const outcome = (name: string) => metricValue(text, 'floorplan_upstream_requests_total', { upstream: 'settlement', outcome: name });
    return { ok: outcome('ok'), malformed: outcome('malformed'), rejected: summed(text, 'floorplan_upstream_answers_rejected_total', 'settlement') };
  };
  const moved = (before: Awaited<ReturnType<typeof counted>>, after: Awaited<ReturnType<typeof counted>>) => ({
    ok: after.ok - before.ok,
    malformed: after.malformed - before.malformed,
    rejected: after.rejected - before.rejected,
  });
  const codes = (floors: ReadonlyArray<{ code: string }>) => floors.map((f) => f.code);

  it('counts an answer with no quotes as one malformed call, never as ok, as the panel that lost its payable row says', async () => {
    h.demo.tamper('settlement', () => ({ quotes: [] }));
    const before = await counted();
    const res = await h.graphql<PanelResult>('u1001', PANEL_QUERY, { scene: 'cart-bottom-sheet' });
    const p = res.body.data!.floorPanel;
    expect({ degraded: p.degraded, failed: p.failedUpstreams }).toEqual({ degraded: true, failed: ['SETTLEMENT'] });
    expect(codes(p.floors)).not.toContain('payable');
    expect(h.demo.calls().settlement).toBe(1);
    // A broken contract, not a cross-check's refusal: floorplan_upstream_answers_rejected_total is for answers that kept it.
    expect(moved(before, await counted())).toEqual({ ok: 0, malformed: 1, rejected: 0 });
  });

  it('counts the one call of a two-panel request once, as malformed, when it leaves out one quote; the other panel keeps its quote', async () => {
    h.demo.tamper('settlement', (answer) => {
      const { quotes } = answer as { quotes: Array<{ quoteId: string }> };
      return { ...(answer as object), quotes: quotes.filter((q) => q.quoteId !== 'q1') };
    });
    const before = await counted();
    const res = await h.graphql<{ all: PanelResult['floorPanel']; one: PanelResult['floorPanel'] }>(
      'u1001',
      `{ all: floorPanel(scene: "cart-bottom-sheet") { degraded failedUpstreams ${FLOORS} }
         one: floorPanel(scene: "cart-bottom-sheet", selectedSkuIds: ["sku-oreo-116g"]) { degraded failedUpstreams ${FLOORS} } }`,
    );
    expect(res.body.errors).toBeUndefined();
    const [body] = h.demo.received('settlement') as Array<{ quotes: Array<{ quoteId: string }> }>;
    expect(body!.quotes.map((q) => q.quoteId)).toEqual(['q0', 'q1']);
    const { all, one } = res.body.data!;
    expect({ degraded: all.degraded, payable: all.floors.find((f) => f.code === 'payable')?.priceText }).toEqual({ degraded: false, payable: '¥8.86' });
    expect({ degraded: one.degraded, failed: one.failedUpstreams, codes: codes(one.floors) }).toMatchObject({ degraded: true, failed: ['SETTLEMENT'] });
    expect(codes(one.floors)).not.toContain('payable');
    expect(moved(before, await counted())).toEqual({ ok: 0, malformed: 1, rejected: 0 });
  });

  it('keeps calling settlement after many malformed answers: the upstream answered, so its breaker stays closed', async () => {
    h.demo.tamper('settlement', () => ({ quotes: [] }));
    for (let i = 0; i < 8; i++) await h.graphql<PanelResult>('u1001', PANEL_QUERY, { scene: 'cart-bottom-sheet' });
    h.demo.tamper('settlement', undefined);
    const res = await h.graphql<PanelResult>('u1001', PANEL_QUERY, { scene: 'cart-bottom-sheet' });
    expect(res.body.data!.floorPanel.degraded).toBe(false);
    expect(h.demo.calls().settlement).toBe(9);
    const text = await scrapeMetrics(h.url);
    expect(metricValue(text, 'floorplan_upstream_requests_total', { upstream: 'settlement', outcome: 'circuit_open' })).toBe(0);
  });
});
