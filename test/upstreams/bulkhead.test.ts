import { BulkheadRejectedError } from 'cockatiel';
import { describe, expect, it } from 'vitest';
import { Bulkhead } from '../../src/upstreams/bulkhead.ts';

/** Runs `work` inside the bulkhead as JsonHttp does: a free slot at once, else a wait in line. */
async function inside<T>(bulkhead: Bulkhead, work: () => Promise<T>): Promise<T> {
  if (!bulkhead.tryEnter()) await bulkhead.enter();
  try {
    return await work();
  } finally {
    bulkhead.leave();
  }
}

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

describe('Bulkhead', () => {
  it('runs at most its capacity at once and hands each freed slot to the longest-waiting call', async () => {
    const bulkhead = new Bulkhead(2, 10);
    const gates = Array.from({ length: 5 }, gate);
    const started: number[] = [];
    const runs = gates.map((g, i) =>
      inside(bulkhead, async () => {
        started.push(i);
        await g.opened;
        return i;
      }),
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([0, 1]);
    expect([bulkhead.inFlight, bulkhead.queued]).toEqual([2, 3]);
    gates[1]!.open();
    await runs[1];
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([0, 1, 2]);
    gates[0]!.open();
    gates[2]!.open();
    await Promise.all([runs[0], runs[2]]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect([bulkhead.inFlight, bulkhead.queued]).toEqual([2, 0]);
    gates[3]!.open();
    gates[4]!.open();
    expect(await Promise.all(runs)).toEqual([0, 1, 2, 3, 4]);
    expect([bulkhead.inFlight, bulkhead.queued]).toEqual([0, 0]);
  });

  it('refuses a call at once when its queue is full, as cockatiel does, and takes calls again once there is room', async () => {
    const bulkhead = new Bulkhead(1, 1);
    const first = gate();
    const running = inside(bulkhead, () => first.opened);
    const waiting = inside(bulkhead, async () => 'waited');
    const refused = await inside(bulkhead, async () => 'ran').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(BulkheadRejectedError);
    expect((refused as Error).message).toBe('Bulkhead capacity exceeded (0/1 execution slots, 0/1 available)');
    first.open();
    await running;
    expect(await waiting).toBe('waited');
    expect(await inside(bulkhead, async () => 'ran')).toBe('ran');
    expect([bulkhead.inFlight, bulkhead.queued]).toEqual([0, 0]);
  });

  it('gives the slot back when the call fails', async () => {
    const bulkhead = new Bulkhead(1, 0);
    await expect(inside(bulkhead, () => Promise.reject(new Error('upstream down')))).rejects.toThrow('upstream down');
    expect(bulkhead.inFlight).toBe(0);
    expect(await inside(bulkhead, async () => 'next')).toBe('next');
  });
});
