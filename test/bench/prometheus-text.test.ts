/**
 * bench/prometheus-text.ts's memory figures, read from Floorplan's real /metrics text (its own
 * registry with prom-client's default metrics), as the soak reads them.
 */
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { heapFiguresOf, histogramBetween, quantileBoundMs, shareAbove } from '../../bench/prometheus-text.ts';
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

describe('bench/prometheus-text histogramBetween', () => {
  it("reads what Floorplan's answer-time histogram recorded between two readings, for one route and status", async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    // Before the window: answers that must not count.
    for (let i = 0; i < 50; i++) metrics.httpRequest('/graphql', 'POST', 200, 0.4);
    const before = await metrics.registry.metrics();
    // The window: 90 panels in 3 ms, 8 in 60 ms, 2 in 400 ms; and refusals, which are another status.
    for (let i = 0; i < 90; i++) metrics.httpRequest('/graphql', 'POST', 200, 0.003);
    for (let i = 0; i < 8; i++) metrics.httpRequest('/graphql', 'POST', 200, 0.06);
    for (let i = 0; i < 2; i++) metrics.httpRequest('/graphql', 'POST', 200, 0.4);
    for (let i = 0; i < 30; i++) metrics.httpRequest('/graphql', 'POST', 503, 0.0005);
    const after = await metrics.registry.metrics();

    const panels = histogramBetween(before, after, 'floorplan_http_request_duration_seconds', { route: '/graphql', status: '200' });
    expect(panels?.cumulative.at(-1)).toBe(100);
    // The 99th of 100 answers took 400 ms: the bucket up to 500 ms. The 98th, 60 ms: up to 100.
    expect(quantileBoundMs(panels!, 0.99)).toBe(500);
    expect(quantileBoundMs(panels!, 0.98)).toBe(100);
    expect(shareAbove(panels!, 0.1)).toBe(0.02);
    expect(shareAbove(panels!, 0.25)).toBe(0.02);
    expect(() => shareAbove(panels!, 0.2)).toThrow('no bucket bound 0.2');

    const shed = histogramBetween(before, after, 'floorplan_http_request_duration_seconds', { route: '/graphql', status: '503' });
    expect(quantileBoundMs(shed!, 0.99)).toBe(1);
    expect(shareAbove(shed!, 0.1)).toBe(0);
    expect(histogramBetween(before, after, 'floorplan_http_request_duration_seconds', { route: '/graphql', status: '500' })).toBeUndefined();
  });
});
