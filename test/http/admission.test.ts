import { afterEach, describe, expect, it } from 'vitest';
import { AdmissionController, type Admission, type AdmissionOptions, type ShedReason } from '../../src/http/admission.ts';

const OPTIONS: AdmissionOptions = { enabled: true, initialLimit: 2, minLimit: 2, maxLimit: 10, targetLagMs: 30, maxQueueWaitMs: 40 };

let controllers: AdmissionController[] = [];
afterEach(() => {
  for (const c of controllers.splice(0)) c.close();
});

function controller(options: Partial<AdmissionOptions> = {}) {
  const sheds: ShedReason[] = [];
  const c = new AdmissionController({ ...OPTIONS, ...options }, { shed: (reason) => sheds.push(reason) });
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
