/**
 * The request deadline while Floorplan's own loop is busy (src/upstreams/deadline.ts). The loop is
 * made busy here the way a burst or a CPU-starved machine makes it busy: turns that do not yield,
 * so the utilization sampler cannot run on time.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it, vi } from 'vitest';
import { Deadline, saturatedUntil } from '../../src/upstreams/deadline.ts';

/** Keeps the loop busy for `ms` without yielding, as a turn of a saturated Floorplan does. */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

/** Starts the sampler (it starts on first use) and lets it find the loop idle, past any earlier saturation's grace. */
async function idleSampler(): Promise<void> {
  saturatedUntil();
  await sleep(150);
}

describe('a request deadline while the loop is busy', () => {
  // Defect (burst.test.ts, pipelined, on CI): a settlement call was abandoned when the deadline ran
  // out, then the sampler had been held up long enough to count as saturation, the deadline had
  // time again, and the panel that lost settlement's floors was answered as degraded, blaming a
  // healthy upstream, instead of 503 OVERLOADED.
  it('stays spent once a caller has acted on it running out, however busy the loop gets afterwards', async () => {
    await idleSampler();
    const deadline = new Deadline(50); // stretched at most to 400 ms: the busy turn below ends well before that
    await sleep(80);
    expect(deadline.passed).toBe(true);
    busy(150); // longer than a flood takes to count as saturation: the loop is saturated now
    expect(deadline.remainingMs()).toBeLessThanOrEqual(0);
    expect(deadline.passed).toBe(true);
  });

  // Reading the time left is not acting on it. A cold process on a starved machine reads its first
  // request's budget as spent between two slow samples; latching that read refused 2 of 16 first
  // panels as OVERLOADED that the next sample would have given time to answer in full.
  it('can still be stretched after a read found it spent, until a caller acts on it', async () => {
    await idleSampler();
    const deadline = new Deadline(50);
    await sleep(80);
    expect(deadline.remainingMs()).toBeLessThanOrEqual(0);
    busy(150); // the loop is saturated now: an expiry due meanwhile waits for it
    expect(deadline.remainingMs()).toBeGreaterThan(0);
    expect(deadline.passed).toBe(false);
  });

  // Same run: on a starved machine the sampler fired every 60–100 ms while the loop stayed busy; a
  // deadline due in that gap ran out as though saturation had ended at the last sample.
  it('does not run out while the sampler is held up after it found the loop saturated', async () => {
    await idleSampler();
    busy(150);
    await sleep(1); // the sampler runs now, late: it finds the loop saturated
    const deadline = new Deadline(20);
    busy(70); // held up again, past two sample periods but short of counting as a flood by itself
    expect(deadline.remainingMs()).toBeGreaterThan(0);
    expect(deadline.passed).toBe(false);
  });

  // Stress run (npm test beside a CPU burner): with one upstream frozen, 50 deadlines ran out on
  // time while the loop was idle; rendering their 50 degraded panels then saturated it, and panels
  // that rightly named the frozen upstream were refused as OVERLOADED instead.
  it("is the upstream's when it ran out while the loop was idle, however busy the loop is when the panel is checked", async () => {
    await idleSampler();
    const deadline = new Deadline(30);
    await sleep(50);
    expect(deadline.passed).toBe(true);
    busy(150);
    await sleep(1); // the sampler finds the loop saturated now
    expect(deadline.spentBySaturation()).toBe(false);
  });

  it("is Floorplan's when it ran out at its stretch's cap with the loop still saturated", async () => {
    await idleSampler();
    const deadline = new Deadline(10); // stretched at most to 80 ms
    busy(150);
    await sleep(1); // the sampler finds the loop saturated: answers may be sitting unread
    expect(deadline.passed).toBe(true);
    expect(deadline.spentBySaturation()).toBe(true);
  });

  // Stress run, settlement frozen: the 50 requests' own work saturated the loop at their due time,
  // the stretch and its grace passed with the loop free again, and still no answer came.
  it("is the upstream's when saturation stretched it, and it ran out after the saturation ended", async () => {
    await idleSampler();
    const deadline = new Deadline(40); // stretched at most to 320 ms
    busy(150); // due meanwhile, and the loop saturated
    await sleep(1);
    expect(deadline.passed).toBe(false); // stretched: the answers that queued up get read first
    await sleep(150); // the saturation's grace ends, and with it the stretch
    expect(deadline.passed).toBe(true);
    expect(deadline.spentBySaturation()).toBe(false);
  });

  it('runs out on time while the loop is merely idle', async () => {
    await idleSampler();
    const deadline = new Deadline(30);
    expect(deadline.passed).toBe(false);
    await sleep(50);
    expect(deadline.passed).toBe(true);
    expect(deadline.spentBySaturation()).toBe(false);
  });
});

describe('a timer watching a deadline', () => {
  // Defect (CI, a loaded machine): the clock ran on between making the deadline and reading its
  // timer, so 20.5 ms left became 19.9 and was armed at 10. The clock is held still here.
  it('is armed in whole steps of the time left, so concurrent calls share timer lists, and exactly under one step', async () => {
    await idleSampler();
    const now = performance.now();
    vi.spyOn(performance, 'now').mockReturnValue(now);
    try {
      // Started a moment (50 µs) ago: just under the budget is left.
      const at = (budgetMs: number) => new Deadline(budgetMs, now - 0.05).timerMs();
      // At or over one step: rounded down to a step.
      expect(at(250)).toBe(240);
      expect(at(251)).toBe(250);
      expect(at(20.5)).toBe(20);
      // Under one step: rounded up, so it never fires before the deadline for lack of a step.
      expect(at(7.2)).toBe(8);
      expect(at(0.3)).toBe(1);
    } finally {
      vi.restoreAllMocks();
    }
  });
});
