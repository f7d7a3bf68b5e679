/**
 * bench/live-set.ts's snapshot tally, on real V8 heap snapshots of this process: objects kept
 * alive between two snapshots are found by constructor, per request in flight, and async
 * functions suspended at an `await` are counted by name.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { afterAll, describe, expect, it } from 'vitest';
import { liveSetPerRequest, tallyHeapSnapshot } from '../../bench/live-set.ts';

const dir = mkdtempSync(join(tmpdir(), 'live-set-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function snapshot(name: string) {
  return tallyHeapSnapshot(readFileSync(writeHeapSnapshot(join(dir, `${name}.heapsnapshot`)), 'utf8'));
}

class HeldByARequest {
  constructor(readonly payload: number[]) {}
}

async function waitsForItsUpstream(answer: Promise<void>, held: HeldByARequest): Promise<number> {
  await answer;
  return held.payload.length;
}

describe('bench/live-set', () => {
  it('finds what 40 requests in flight hold: their objects by constructor and their suspended async functions by name', async () => {
    const idle = snapshot('idle');
    let release: () => void = () => undefined;
    const answer = new Promise<void>((done) => (release = done));
    const inFlight = Array.from({ length: 40 }, (_, i) => waitsForItsUpstream(answer, new HeldByARequest(Array.from({ length: 100 }, () => i))));
    const loaded = snapshot('loaded');
    const live = liveSetPerRequest(idle, loaded, 40);

    const held = live.kinds.find((row) => row.kind === 'object:HeldByARequest');
    expect(held?.objects).toBe(1);
    expect(live.suspended.find((row) => row.name === 'waitsForItsUpstream')?.suspended).toBe(1);
    expect(loaded.suspended.get('waitsForItsUpstream')).toBe(40);
    expect(idle.suspended.get('waitsForItsUpstream') ?? 0).toBe(0);
    // Each holds 100 numbers as well: the tally's bytes see them.
    expect(live.bytes).toBeGreaterThan(100 * 8);

    release();
    expect(await Promise.all(inFlight)).toEqual(Array.from({ length: 40 }, () => 100));
    const after = snapshot('after');
    expect(after.suspended.get('waitsForItsUpstream') ?? 0).toBe(0);
    expect(after.byKind.get('object:HeldByARequest')?.count ?? 0).toBe(0);
  });
});
