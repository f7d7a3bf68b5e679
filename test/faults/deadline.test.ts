import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PANEL_QUERY, startHarness, type Harness, type PanelResult } from '../support/harness.ts';

describe('the per-request deadline', () => {
  let h: Harness;
  let token: string;
  beforeAll(async () => {
    // A promotion timeout longer than the whole budget: only the deadline can bound the request.
    h = await startHarness({ faults: 'promotion:hang', config: { limits: { requestDeadlineMs: 250 }, upstreams: { promotion: { timeoutMs: 1000 } } } });
    token = await h.token('u1001');
  });
  afterAll(() => h.close());

  async function timedPanel() {
    const started = performance.now();
    const res = await fetch(`${h.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: PANEL_QUERY, variables: { scene: 'cart-bottom-sheet' } }),
    });
    const body = (await res.json()) as { data: PanelResult };
    return { status: res.status, panel: body.data.floorPanel, ms: performance.now() - started };
  }

  it('answers within deadline + 20 ms while promotion hangs, without the floors that need it, saying why', async () => {
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
    const sorted = runs.map((r) => r.ms).sort((a, b) => a - b);
    expect(sorted[2]).toBeLessThan(deadline + 20);
  });
});
