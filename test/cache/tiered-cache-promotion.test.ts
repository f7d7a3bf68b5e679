/**
 * What a settled load leaves behind in the old space. The cache's map of loads in flight lives
 * for the whole process, so V8 keeps its hash table in the old space; each rehash leaves the old
 * table behind as garbage that still points at the flights it held, and a scavenge treats those
 * pointers as live until the next mark-compact. A flight that still held its promise there kept
 * the answer alive and promoted it (BENCHMARKS.md, session 23: ~0.7 KB per panel, and the
 * half-rate p99 follows the mark-compacts).
 *
 * Measured in a process of its own, so the heap holds nothing else: 4,000 loads of ~4 KB each,
 * 20 in flight at a time (as a loaded replica has them), then two scavenges, and the old space's
 * growth read from V8. Without the fix it grew 7.7 MB; with it, 0.6.
 */
import { describe, expect, it } from 'vitest';
import { runNodeScript } from '../support/processes.ts';

const CACHE_MODULE = new URL('../../src/cache/tiered-cache.ts', import.meta.url).href;

const SCRIPT = `
import { constants, PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import { TieredCache } from ${JSON.stringify(CACHE_MODULE)};

const oldSpaceUsed = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_used_size;
const cache = new TieredCache({
  name: 'promotion', ttlSeconds: 0, staleSeconds: 0, keyPrefix: 'p:', l1MaxEntries: 100,
  schema: { parse: (value) => value }, breaker: { consecutiveFailures: 3, halfOpenAfterMs: 1000 },
});
// Into the old space first, as a cache made at start is by the time load comes.
for (let i = 0; i < 100; i++) await cache.get('warm-' + i, async () => [i]);
gc();
gc();
let markCompacts = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) if (entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) markCompacts++;
}).observe({ entryTypes: ['gc'] });
const before = oldSpaceUsed();
const inFlight = new Set();
for (let i = 0; i < 4000; i++) {
  const answer = cache.get('user-' + i, () => new Promise((resolve) => setImmediate(() => resolve(new Array(500).fill(i)))));
  inFlight.add(answer);
  void answer.then(() => inFlight.delete(answer));
  if (inFlight.size >= 20) await Promise.race(inFlight);
}
await Promise.all(inFlight);
await new Promise((resolve) => setImmediate(resolve));
gc({ type: 'minor' });
gc({ type: 'minor' });
const grewMb = (oldSpaceUsed() - before) / 1e6;
await new Promise((resolve) => setImmediate(resolve));
process.stdout.write(JSON.stringify({ grewMb, markCompacts }));
`;

describe('TieredCache: loads in flight and the old space', () => {
  it('lets a settled answer die young: 16 MB of answers through the cache promote under 2 MB', async () => {
    const { grewMb, markCompacts } = await runNodeScript<{ grewMb: number; markCompacts: number }>(SCRIPT, ['--expose-gc']);
    // A mark-compact would have collected what was wrongly promoted, and the reading would pass for the wrong reason.
    expect(markCompacts, 'mark-compacts during the loads (the reading needs none)').toBe(0);
    expect(grewMb, 'MB the old space grew').toBeLessThan(2);
  });
});
