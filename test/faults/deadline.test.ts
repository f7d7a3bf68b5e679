import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noteOverload, silenceOf } from '../../src/upstreams/deadline.ts';
import { askPanelLikeTheApp, PANEL_QUERY, startHarness, type Harness, type PanelResult } from '../support/harness.ts';
import { eventually, metricValue, scrapeMetrics } from '../support/measure.ts';

/** Far above the request's deadline, even stretched to its cap while the loop is saturated (8 × 210 ms). */
const PROMOTION_TIMEOUT_MS = 5000;

describe('the per-request deadline', () => {
  let h: Harness;
  let token: string;
  beforeAll(async () => {
    // A promotion timeout longer than the whole budget: only the deadline can bound the request.
    h = await startHarness({ faults: 'promotion:hang', config: { limits: { requestDeadlineMs: 250 }, upstreams: { promotion: { timeoutMs: PROMOTION_TIMEOUT_MS } } } });
    token = await h.token('u1001');
  });
  afterAll(() => h.close());

  /** One panel, timed, asked again after an OVERLOADED answer (at most twice, 300 ms apart): see askPanelLikeTheApp. */
  async function timedPanel() {
    const { status, body, ms } = await askPanelLikeTheApp(h.url, token, { maxAsks: 3, waitMs: () => 300 });
    return { status, panel: body.data?.floorPanel as PanelResult['floorPanel'], ms };
  }

  // How close to the deadline the answers come (deadline + 20 ms) is a speed: `npm run bench`
  // measures it (the frozen-upstream rows). Here: the deadline, not promotion's timeout, ends the wait.
  it('answers at the deadline while promotion hangs, without the floors that need it, saying why', async () => {
    const deadline = h.config.limits.requestDeadlineMs;
    expect(h.config.upstreams.promotion.timeoutMs).toBeGreaterThan(deadline); // the deadline, not the call timeout, must bound it
    await timedPanel(); // warm-up: connections, JIT
    const runs = [];
    for (let i = 0; i < 5; i++) runs.push(await timedPanel());
    for (const run of runs) {
      expect(run.status).toBe(200);
      expect(run.panel.degraded).toBe(true);
      expect(run.panel.failedUpstreams).toEqual(['PROMOTION']);
      // Every amount is settlement's: the PLUS row stays, without the quota promotion would give.
      expect(run.panel.floors.map((f) => f.code)).toEqual(['spze', 'lj', 'coupon', 'plus95', 'shipping', 'plus-rebate', 'payable']);
      expect(run.panel.floors.find((f) => f.code === 'plus95')?.subName).toBeNull();
    }
    for (const run of runs) expect(run.ms).toBeLessThan(PROMOTION_TIMEOUT_MS / 2);
  });
});

describe('a deadline that runs out while Floorplan itself is saturated', () => {
  let h: Harness;
  beforeAll(async () => {
    // Promotion hangs and its own timeout is far away: only the deadline can end its call.
    h = await startHarness({ faults: 'promotion:hang', config: { limits: { requestDeadlineMs: 250 }, upstreams: { promotion: { timeoutMs: 10_000 } } } });
  });
  afterAll(() => h.close());

  it('answers 503 OVERLOADED with Retry-After, not a panel blaming an upstream, and counts it as shed "late"', async () => {
    /** A panel asked while the loop counts as saturated, as admission control marks it on every refusal during a burst. */
    async function saturatedPanel() {
      const saturating = setInterval(() => noteOverload(), 10);
      try {
        return await h.graphql('u1001', PANEL_QUERY, { scene: 'cart-bottom-sheet' });
      } finally {
        clearInterval(saturating);
      }
    }
    // Twice: Apollo runs an operation the first time, the fast path (a known operation) after.
    for (const answer of [await saturatedPanel(), await saturatedPanel()]) {
      expect(answer.status).toBe(503);
      expect(answer.headers.get('retry-after')).toBe(String(h.config.server.admission.retryAfterSeconds));
      expect(answer.body.errors?.map((e) => e.extensions?.code)).toEqual(['OVERLOADED']);
    }
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    expect(metricValue(metrics, 'floorplan_graphql_requests_total', { pipeline: 'known-operation' })).toBe(1);
    expect(metricValue(metrics, 'floorplan_shed_total', { reason: 'late' })).toBe(2);
    // Not counted against the hung upstream either way: the deadline, not promotion's timeout, ended the call.
    expect(metricValue(metrics, 'floorplan_upstream_requests_total', { upstream: 'promotion', outcome: 'timeout' })).toBe(0);
    // Nor as panels served, degraded by an upstream: nobody was shown one (FloorplanDegradedPanels would page for it).
    expect(metricValue(metrics, 'floorplan_panels_total', { scene: 'cart-bottom-sheet', degraded: 'true' })).toBe(0);
    // And /metrics says so to whoever reads the series: it counted "Panels rendered", which these were.
    expect(metrics).toMatch(/^# HELP floorplan_panels_total Panels served to users, by scene and whether they were degraded: not one rendered and then refused as OVERLOADED \(floorplan_shed_total\{reason="late"\}\)/m);
    expect(metricValue(metrics, 'floorplan_panels_degraded_total', { scene: 'cart-bottom-sheet', reason: 'UPSTREAM_FAILED' })).toBe(0);
    expect(metrics).not.toMatch(/^floorplan_floors_dropped_total\{[^}]*reason="promotion"[^}]*\} [1-9]/m);

    // Once the loop is free again, the same hang is the upstream's: a degraded panel naming it.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const after = await h.graphql<PanelResult>('u1001', PANEL_QUERY, { scene: 'cart-bottom-sheet' });
    expect(after.status).toBe(200);
    expect(after.body.data?.floorPanel.failedUpstreams).toEqual(['PROMOTION']);
    const served = await (await fetch(`${h.url}/metrics`)).text();
    expect(metricValue(served, 'floorplan_panels_total', { scene: 'cart-bottom-sheet', degraded: 'true' })).toBe(1);
    expect(metricValue(served, 'floorplan_panels_degraded_total', { scene: 'cart-bottom-sheet', reason: 'UPSTREAM_FAILED' })).toBe(1);
  });

  /**
   * A panel asked just after Floorplan refused others as overloaded (as during a burst on a cold
   * replica), whose deadline then runs out on time with the loop idle, waiting on promotion.
   * `alsoAnswering` stands for promotion answering other requests' calls meanwhile.
   */
  async function panelAfterRefusals(alsoAnswering: boolean) {
    const refusing = setInterval(() => noteOverload(), 10);
    const stopRefusing = setTimeout(() => clearInterval(refusing), 60);
    const answering = alsoAnswering ? setInterval(() => silenceOf('promotion').answered(performance.now()), 10) : undefined;
    try {
      return await h.graphql<PanelResult>('u1001', PANEL_QUERY, { scene: 'cart-bottom-sheet' });
    } finally {
      clearInterval(refusing);
      clearTimeout(stopRefusing);
      clearInterval(answering);
      // Past the refusals' grace, for the next panel.
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  it('names a hung upstream in a degraded panel, though Floorplan refused others as the request started', async () => {
    // Promotion has been asked and has answered nothing for longer than two budgets (the panel
    // below, then the wait): the floors lost are promotion's doing, not Floorplan's load. A 503
    // here would refuse every panel of every burst on a cold replica for as long as promotion
    // hangs, each client retrying into the next burst.
    expect((await h.graphql<PanelResult>('u1001', PANEL_QUERY, { scene: 'cart-bottom-sheet' })).body.data?.floorPanel.failedUpstreams).toEqual(['PROMOTION']);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const shedBefore = metricValue(await (await fetch(`${h.url}/metrics`)).text(), 'floorplan_shed_total', { reason: 'late' });
    for (const answer of [await panelAfterRefusals(false), await panelAfterRefusals(false)]) {
      expect(answer.status).toBe(200);
      expect(answer.body.data?.floorPanel.degraded).toBe(true);
      expect(answer.body.data?.floorPanel.failedUpstreams).toEqual(['PROMOTION']);
    }
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    expect(metricValue(metrics, 'floorplan_shed_total', { reason: 'late' })).toBe(shedBefore);
  });

  it('still refuses late when the upstream it cut was answering other calls meanwhile: its answer was late for Floorplan', async () => {
    const shedBefore = metricValue(await (await fetch(`${h.url}/metrics`)).text(), 'floorplan_shed_total', { reason: 'late' });
    const answer = await panelAfterRefusals(true);
    expect(answer.status).toBe(503);
    expect(answer.body.errors?.map((e) => e.extensions?.code)).toEqual(['OVERLOADED']);
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    expect(metricValue(metrics, 'floorplan_shed_total', { reason: 'late' })).toBe(shedBefore + 1);
  });
});

describe("upstream timeouts at their defaults, above the request's upstream budget (README, UPSTREAM_<NAME>_TIMEOUT_MS)", () => {
  it("lets the deadline cut a hung settlement, which its breaker ignores, while a hung promotion's shared load runs to its own timeout and opens its breaker", async () => {
    // Both hang. Settlement's call is the request's own: the deadline (210 ms of upstream budget)
    // cuts it before its 400 ms timeout. Promotion's is the promotion cache's load, tied to no
    // request: each request stops waiting at its deadline, the load at promotion's 300 ms timeout.
    const fewCalls = { breakerMinimumCalls: 4, breakerHalfOpenAfterMs: 60_000 };
    const h = await startHarness({
      faults: 'promotion:hang,settlement:hang',
      config: { limits: { requestDeadlineMs: 250 }, upstreams: { promotion: fewCalls, settlement: fewCalls } },
    });
    try {
      const budget = h.config.limits.requestDeadlineMs - h.config.limits.responseReserveMs;
      expect(h.config.upstreams.promotion.timeoutMs).toBeGreaterThan(budget);
      expect(h.config.upstreams.settlement.timeoutMs).toBeGreaterThan(budget);
      const panel = async () => expect((await h.graphql<PanelResult>('u1001', PANEL_QUERY, { scene: 'cart-bottom-sheet' })).body.data?.floorPanel.degraded).toBe(true);
      const state = (text: string, upstream: string) => metricValue(text, 'floorplan_upstream_breaker_state', { upstream });
      await eventually(async () => (await panel(), scrapeMetrics(h.url)), (text) => state(text, 'promotion') === 1, 20_000, 0);
      // One more, which promotion's open breaker refuses at once.
      await panel();
      const text = await scrapeMetrics(h.url);
      const count = (upstream: string, outcome: string) => metricValue(text, 'floorplan_upstream_requests_total', { upstream, outcome });
      expect({ timeout: count('promotion', 'timeout') >= 2, circuitOpen: count('promotion', 'circuit_open') >= 1 }).toEqual({ timeout: true, circuitOpen: true });
      expect({ state: state(text, 'settlement'), timeout: count('settlement', 'timeout'), deadline: count('settlement', 'deadline') >= 4 }).toEqual({ state: 0, timeout: 0, deadline: true });
    } finally {
      await h.close();
    }
  });
});
