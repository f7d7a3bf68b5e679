import { afterEach, describe, expect, it } from 'vitest';
import { AdmissionController, type Admission, type AdmissionOptions, type LoopUtilization, type ShedReason } from '../../src/http/admission.ts';

const OPTIONS: AdmissionOptions = { enabled: true, initialLimit: 2, minLimit: 2, maxLimit: 10, targetLagMs: 30, maxQueueWaitMs: 40 };

let controllers: AdmissionController[] = [];
afterEach(() => {
  for (const c of controllers.splice(0)) c.close();
});

/** The loop's utilization as the controller reads it, set by each test (idle unless told). */
class SetUtilization implements LoopUtilization {
  value = 0.1;
  sinceLastCall(): number {
    return this.value;
  }
}

function controller(options: Partial<AdmissionOptions> = {}, loop: LoopUtilization = new SetUtilization()) {
  const sheds: ShedReason[] = [];
  const c = new AdmissionController({ ...OPTIONS, ...options }, { shed: (reason) => sheds.push(reason) }, loop);
  controllers.push(c);
  return { c, sheds };
}

const admittedNow = (a: Admission | Promise<Admission>): void => {
  if (a instanceof Promise || !a.admitted) throw new Error(`expected an immediate admission, got ${JSON.stringify(a)}`);
};

/** Holds the event loop for `ms`: the lag a flood of connections or a long GC would cause. */
function blockLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

const nextTicks = () => new Promise((r) => setTimeout(r, 35));

describe('AdmissionController', () => {
  /** Runs and completes `n` requests: each completion earns the limit one step of growth. */
  const complete = (c: AdmissionController, n: number) => {
    for (let i = 0; i < n; i++) {
      admittedNow(c.enter());
      c.leave();
    }
  };

  it('raises the limit instead of queueing while the event loop keeps up (requests waiting on upstreams cost no CPU)', async () => {
    const { c, sheds } = controller();
    await nextTicks();
    // Two completions (credits are capped at the limit, 2): the limit may grow by two.
    complete(c, 3);
    for (let i = 0; i < 4; i++) admittedNow(c.enter());
    expect(c.running).toBe(4);
    expect(c.limit).toBe(4);
    expect(sheds).toEqual([]);
  });

  it('never raises the limit above maxLimit', async () => {
    const { c } = controller({ maxLimit: 3, maxQueueWaitMs: 0 });
    await nextTicks();
    complete(c, 2);
    for (let i = 0; i < 3; i++) admittedNow(c.enter());
    expect(c.enter()).toEqual({ admitted: false, reason: 'queue_full' });
    expect(c.limit).toBe(3);
  });

  it('still raises the limit during one busy turn shorter than a flood (a few dozen arrivals parsed together)', async () => {
    const { c } = controller();
    await nextTicks();
    complete(c, 1);
    admittedNow(c.enter());
    admittedNow(c.enter());
    blockLoop(25);
    admittedNow(c.enter());
    expect(c.limit).toBe(3);
  });

  it('grows the limit only as requests complete, never by arrivals alone (a burst on a fresh process)', async () => {
    const { c, sheds } = controller({ maxQueueWaitMs: 0 });
    await nextTicks();
    admittedNow(c.enter());
    admittedNow(c.enter());
    // The loop keeps up, but nothing has completed: the third arrival is refused, the limit stays.
    expect(c.enter()).toEqual({ admitted: false, reason: 'queue_full' });
    expect(c.limit).toBe(2);
    c.leave();
    // One completion, one step: two more arrivals fit (the freed slot and one new), the next does not.
    admittedNow(c.enter());
    admittedNow(c.enter());
    expect(c.limit).toBe(3);
    expect(c.enter()).toEqual({ admitted: false, reason: 'queue_full' });
    expect(sheds).toEqual(['queue_full', 'queue_full']);
  });

  it('while the loop lags, queues what can get a slot in time, refuses the rest at once, and serves the queue in order', async () => {
    const { c, sheds } = controller();
    admittedNow(c.enter());
    admittedNow(c.enter());
    blockLoop(120);
    // A fresh controller has seen no completions: it allows a queue of minLimit (here 2).
    const waiting = [c.enter(), c.enter()];
    expect(waiting.every((w) => w instanceof Promise)).toBe(true);
    expect(c.enter()).toEqual({ admitted: false, reason: 'queue_full' });
    expect(sheds).toEqual(['queue_full']);
    const order: number[] = [];
    void (waiting[0] as Promise<Admission>).then(() => order.push(0));
    void (waiting[1] as Promise<Admission>).then(() => order.push(1));
    c.leave();
    c.leave();
    expect(await waiting[0]).toEqual({ admitted: true });
    expect(await waiting[1]).toEqual({ admitted: true });
    expect(order).toEqual([0, 1]);
  });

  it('refuses a queued request that outstays maxQueueWaitMs', async () => {
    const { c, sheds } = controller({ initialLimit: 1, minLimit: 1 });
    admittedNow(c.enter());
    blockLoop(120);
    const started = performance.now();
    const waited = await c.enter();
    expect(waited).toEqual({ admitted: false, reason: 'queue_timeout' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(35);
    expect(sheds).toEqual(['queue_timeout']);
    expect(c.queued).toBe(0);
  });

  it('leaves the limit alone for one late tick (a GC pause), cuts it to 90 % of what runs after two, never below minLimit', async () => {
    const { c } = controller({ initialLimit: 10, minLimit: 3 });
    for (let i = 0; i < 10; i++) admittedNow(c.enter());
    blockLoop(60);
    await nextTicks();
    expect(c.limit).toBe(10);
    blockLoop(60);
    await new Promise((r) => setTimeout(r, 1));
    blockLoop(60);
    await nextTicks();
    expect(c.limit).toBeLessThan(10);
    expect(c.limit).toBeGreaterThanOrEqual(8);
    for (let i = 0; i < 30; i++) {
      blockLoop(45);
      await new Promise((r) => setTimeout(r, 1));
    }
    expect(c.limit).toBe(3);
  });

  /** Every 10 ms for `ms`, completes `perTick` of the running requests and sends `perTick` new ones (admitted, queued or refused). */
  const churn = async (c: AdmissionController, perTick: number, ms: number) => {
    const until = performance.now() + ms;
    while (performance.now() < until) {
      await new Promise((r) => setTimeout(r, 10));
      for (let i = 0; i < perTick; i++) {
        if (c.running > 0) c.leave();
        void c.enter();
      }
    }
  };
  const run = (c: AdmissionController, n: number) => {
    for (let i = 0; i < n; i++) admittedNow(c.enter());
  };
  /**
   * A controller (limit 64) that has seen its baseline: 4 running at 0.2 completions per ms,
   * 20 ms each, on a loop with CPU to spare; then 40 running at the same rate, 200 ms each, on a
   * loop `busy` to the given share.
   */
  const fortyRunningAfterBaseline = async (busy: number, options: Partial<AdmissionOptions> = {}) => {
    const loop = new SetUtilization();
    loop.value = 0.3;
    const { c, sheds } = controller({ initialLimit: 64, minLimit: 4, maxLimit: 64, ...options }, loop);
    run(c, 4);
    await churn(c, 2, 350);
    const baseline = c.baselineLatencyMs;
    const limitBefore = c.limit;
    loop.value = busy;
    run(c, 36);
    await churn(c, 2, 450);
    return { c, sheds, baseline, limitBefore };
  };

  it('still raises the limit on a saturated loop while requests stay quick (many clients, each resending at once)', async () => {
    const loop = new SetUtilization();
    loop.value = 0.95;
    const { c, sheds } = controller({}, loop);
    // 2 running, 0.2 completions per ms: 10 ms each, within the target (maxQueueWaitMs, 40 ms).
    run(c, 2);
    await churn(c, 2, 250);
    run(c, 2);
    expect(c.limit).toBe(4);
    expect(sheds).toEqual([]);
  });

  it('cuts the limit when a saturated loop holds requests past three times their time with CPU to spare, never below minLimit, refusing at once', async () => {
    // 200 ms each is ten times the baseline (target: 3 × 20 ms).
    const { c, sheds, baseline, limitBefore } = await fortyRunningAfterBaseline(0.95);
    expect(baseline).toBeGreaterThan(5);
    expect(baseline).toBeLessThan(60);
    expect(limitBefore).toBe(64);
    expect(c.limit).toBeLessThanOrEqual(20);
    expect(c.limit).toBeGreaterThanOrEqual(4);
    expect(c.running).toBeLessThan(40);
    // Behind its target, the loop queues nobody: every refusal is immediate, none waited first.
    expect(sheds.length).toBeGreaterThan(0);
    expect(new Set(sheds)).toEqual(new Set(['queue_full']));
  });

  it('leaves the limit alone on a saturated loop while the time admitted is within a quarter of the request deadline', async () => {
    // 200 ms each: ten times the baseline, but under 2000 / 4 ms.
    const { c, sheds } = await fortyRunningAfterBaseline(0.95, { requestDeadlineMs: 2000 });
    expect(c.limit).toBe(64);
    expect(c.running).toBe(40);
    expect(sheds).toEqual([]);
  });

  it('leaves the limit alone when requests take longer because an upstream is slow (the loop is not saturated)', async () => {
    const { c, sheds, baseline } = await fortyRunningAfterBaseline(0.3);
    expect(c.limit).toBe(64);
    expect(c.running).toBe(40);
    expect(sheds).toEqual([]);
    // The baseline is the quickest time seen with CPU to spare, creeping up 2 % per window: ten
    // slow windows move it a little, not to 200 ms (an upstream slowed by Floorplan's own load
    // must not become the norm).
    expect(c.baselineLatencyMs).toBeGreaterThan(baseline as number);
    expect(c.baselineLatencyMs).toBeLessThan(1.5 * (baseline as number));
  });

  it('queues only what the completion rate seats within half of maxQueueWaitMs, so a slower window does not turn waiters into time-outs', async () => {
    const { c, sheds } = controller({ initialLimit: 8, minLimit: 2, maxLimit: 8 });
    run(c, 8);
    // 0.2 completions per ms, 8 running: a waiter n-th in line gets a slot after ~5n ms.
    await churn(c, 2, 250);
    blockLoop(120);
    let queued = 0;
    while (c.enter() instanceof Promise) queued++;
    // Half of 40 ms seats four (at 0.18–0.22 per ms, three to five); the whole wait would queue eight.
    expect(queued).toBeGreaterThanOrEqual(3);
    expect(queued).toBeLessThanOrEqual(5);
    expect(sheds).toEqual(['queue_full']);
  });

  it('admits everything at once when disabled', () => {
    const { c, sheds } = controller({ enabled: false, initialLimit: 1, minLimit: 1 });
    blockLoop(60);
    for (let i = 0; i < 50; i++) admittedNow(c.enter());
    expect(c.running).toBe(50);
    expect(sheds).toEqual([]);
  });

  it('refuses everything still queued when closed', async () => {
    const { c } = controller({ initialLimit: 1, minLimit: 1, maxQueueWaitMs: 10_000 });
    admittedNow(c.enter());
    blockLoop(120);
    const waiting = c.enter();
    c.close();
    expect(await waiting).toEqual({ admitted: false, reason: 'queue_timeout' });
  });
});
