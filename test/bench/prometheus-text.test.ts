/**
 * bench/prometheus-text.ts's memory figures, read from Floorplan's real /metrics text (its own
 * registry with prom-client's default metrics), as the soak reads them.
 */
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { heapFiguresOf } from '../../bench/prometheus-text.ts';
import { createMetrics } from '../../src/observability/metrics.ts';

const mb = (bytes: number) => bytes / 1024 / 1024;

describe('bench/prometheus-text heapFiguresOf', () => {
  it("reads V8's old space in use, its heap as committed and external memory from Floorplan's /metrics", async () => {
    const figures = heapFiguresOf(await createMetrics().registry.metrics());
    const old = getHeapSpaceStatistics().find((space) => space.space_name === 'old_space');
    // The same process a moment later: within a few MB of what V8 says now.
    expect(figures.oldSpaceUsedMb).toBeCloseTo(mb(old?.space_used_size ?? Number.NaN), -1);
    expect(figures.heapCommittedMb).toBeCloseTo(mb(getHeapStatistics().total_heap_size), -1);
    expect(figures.externalMb).toBeCloseTo(mb(process.memoryUsage().external), -1);
  });

  it('leaves out what the text lacks, as with default metrics off', async () => {
    expect(heapFiguresOf(await createMetrics({ defaultMetrics: false }).registry.metrics())).toEqual({});
  });
});
