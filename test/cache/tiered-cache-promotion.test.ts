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
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { productionNodeFlags } from '../../deploy/build-dist.ts';
import { runNodeScript } from '../support/processes.ts';

const CACHE_MODULE = new URL('../../src/cache/tiered-cache.ts', import.meta.url).href;

/**
 * What every script below starts with: `oldSpaceUsed()`, a cache with nothing fresh
 * (`ttlSeconds` 0), `countMarkCompacts()`, which counts them into `markCompacts` from then on, and
 * `grownMbSince(before)`.
 */
const preamble = (options: { staleSeconds: number; l1MaxEntries: number }) => `
import { constants, PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import { TieredCache } from ${JSON.stringify(CACHE_MODULE)};

const oldSpaceUsed = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_used_size;
const cache = new TieredCache({
  name: 'promotion', ttlSeconds: 0, staleSeconds: ${options.staleSeconds}, keyPrefix: 'p:', l1MaxEntries: ${options.l1MaxEntries},
  schema: { parse: (value) => value }, breaker: { consecutiveFailures: 3, halfOpenAfterMs: 1000 },
});
let markCompacts = 0;
const countMarkCompacts = () =>
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if (entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) markCompacts++;
  }).observe({ entryTypes: ['gc'] });
// MB the old space grew since it held \`before\` bytes, once two scavenges have promoted or freed what the young generation still holds.
async function grownMbSince(before) {
  await new Promise((resolve) => setImmediate(resolve));
  gc({ type: 'minor' });
  gc({ type: 'minor' });
  return (oldSpaceUsed() - before) / 1e6;
}
`;

const SCRIPT = `
${preamble({ staleSeconds: 0, l1MaxEntries: 100 })}
// Into the old space first, as a cache made at start is by the time load comes.
for (let i = 0; i < 100; i++) await cache.get('warm-' + i, async () => [i]);
gc();
gc();
countMarkCompacts();
const before = oldSpaceUsed();
const inFlight = new Set();
for (let i = 0; i < 4000; i++) {
  const answer = cache.get('user-' + i, () => new Promise((resolve) => setImmediate(() => resolve(new Array(500).fill(i)))));
  inFlight.add(answer);
  void answer.then(() => inFlight.delete(answer));
  if (inFlight.size >= 20) await Promise.race(inFlight);
}
await Promise.all(inFlight);
const grewMb = await grownMbSince(before);
await new Promise((resolve) => setImmediate(resolve));
process.stdout.write(JSON.stringify({ grewMb, markCompacts }));
`;

/** 60,000 loads of small answers, 20 at a time under keys as long as a panel's, made directly and then through the cache, each after a warm-up. */
const SMALL_LOADS_SCRIPT = `
${preamble({ staleSeconds: 0, l1MaxEntries: 100 })}
// In waves of 20: a long-lived Set of the loads in flight would churn in the old space itself.
async function run(first, loads, viaCache) {
  for (let wave = first; wave < first + loads; wave += 20) {
    const answers = [];
    for (let i = wave; i < wave + 20; i++) {
      const load = () => new Promise((resolve) => setImmediate(() => resolve([i, i + 1])));
      answers.push(viaCache ? cache.get('u' + (1000 + (i % 100)) + ':%5B%5B%22sku-' + i + '%22%2C1%5D%2C%5B%22sku-2%22%2C2%5D%5D', load) : load());
    }
    await Promise.all(answers);
  }
}
async function grewMb(viaCache) {
  await run(0, 4000, viaCache);
  gc();
  const before = oldSpaceUsed();
  await run(4000, 60000, viaCache);
  return grownMbSince(before);
}
countMarkCompacts();
const direct = await grewMb(false);
const forced = markCompacts;
const cached = await grewMb(true);
await new Promise((resolve) => setImmediate(resolve));
// The forced gc() before each measured run is not counted.
process.stdout.write(JSON.stringify({ direct, cached, markCompacts: markCompacts - forced - 1 }));
`;

/**
 * 60,000 gets of 100 keys whose values are always stale (ttlSeconds 0, staleSeconds 60): each
 * answers at once from L1 and starts a background refresh, which the cache tracks until it ends.
 */
const REFRESHES_SCRIPT = `
${preamble({ staleSeconds: 60, l1MaxEntries: 1000 })}
async function run(first, gets) {
  for (let wave = first; wave < first + gets; wave += 20) {
    const answers = [];
    for (let i = wave; i < wave + 20; i++) {
      answers.push(cache.get('u' + (1000 + (i % 100)) + ':%5B%5B%22sku-' + (i % 100) + '%22%2C1%5D%5D', () => new Promise((resolve) => setImmediate(() => resolve([i, i + 1])))));
    }
    await Promise.all(answers);
    // The refreshes end a turn after the stale answers.
    await new Promise((resolve) => setImmediate(resolve));
  }
}
await run(0, 4000);
gc();
countMarkCompacts();
const before = oldSpaceUsed();
await run(4000, 60000);
const grewMb = await grownMbSince(before);
await new Promise((resolve) => setImmediate(resolve));
process.stdout.write(JSON.stringify({ grewMb, markCompacts }));
`;

/** start:prod's node flags (its young generation), as a replica runs. */
const PRODUCTION_FLAGS = productionNodeFlags(fileURLToPath(new URL('../..', import.meta.url)));

describe('TieredCache: loads in flight and the old space', () => {
  it('lets a settled answer die young: 16 MB of answers through the cache promote under 2 MB', async () => {
    const { grewMb, markCompacts } = await runNodeScript<{ grewMb: number; markCompacts: number }>(SCRIPT, ['--expose-gc']);
    // A mark-compact would have collected what was wrongly promoted, and the reading would pass for the wrong reason.
    expect(markCompacts, 'mark-compacts during the loads (the reading needs none)').toBe(0);
    expect(grewMb, 'MB the old space grew').toBeLessThan(2);
  });

  it('keeps no table or key of its own in the old space: 60,000 small loads promote under 1 MB more than the same loads made without it', async () => {
    // The map of loads in flight itself: once it lived in the old space, every table it rehashed
    // into was allocated there too, and the stale tables kept the keys of the loads they had
    // held alive into the old space: ~300 B per load whatever the answer's size (BENCHMARKS.md,
    // session 33). The loads' own promises and timers promote a little without any cache, so the
    // same loads made directly, in the same process, are the baseline. With start:prod's young
    // generation, as a replica runs: before the fix the cache's loads grew the old space 18.8 MB,
    // and 0.4 after.
    const { direct, cached, markCompacts } = await runNodeScript<{ direct: number; cached: number; markCompacts: number }>(SMALL_LOADS_SCRIPT, ['--expose-gc', ...PRODUCTION_FLAGS]);
    expect(markCompacts, 'mark-compacts during the loads (the reading needs none)').toBe(0);
    expect(cached - direct, `MB the old space grew through the cache (${cached.toFixed(2)}) beyond the same loads made directly (${direct.toFixed(2)})`).toBeLessThan(1);
  });

  it('keeps no refresh in the old space: 60,000 stale answers, each refreshed behind, promote under 1 MB', async () => {
    // The set of background work close() waits for churned as the map of loads did: before it
    // was renewed too, these refreshes grew the old space 9.1 MB (0.04 after).
    const { grewMb, markCompacts } = await runNodeScript<{ grewMb: number; markCompacts: number }>(REFRESHES_SCRIPT, ['--expose-gc', ...PRODUCTION_FLAGS]);
    expect(markCompacts, 'mark-compacts during the gets (the reading needs none)').toBe(0);
    expect(grewMb, 'MB the old space grew').toBeLessThan(1);
  });
});
