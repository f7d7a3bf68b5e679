/**
 * A counter an alert reads with increase() must be on /metrics at 0 before its first event:
 * a series that first appears at 1 reads as no increase, so the alert would miss the one event
 * it exists for (deploy/prometheus/floorplan-rules.yaml: FloorplanLayoutRejected,
 * FloorplanLayoutStorePrivilegeRefused; FloorplanShedding, whose rate() would lose a burst's
 * refusals counted before the series' first scrape).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.ts';
import { scrapeMetrics } from '../support/measure.ts';

describe('counters an alert reads with increase()', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('serves floorplan_layout_reloads_total at 0 for every source and result before any reload', async () => {
    h = await startHarness();
    const lines = (await scrapeMetrics(h.url)).split('\n').filter((line) => line.startsWith('floorplan_layout_reloads_total{'));
    for (const source of ['file', 'redis', 'store', 'last-known-good']) {
      for (const result of ['applied', 'rejected']) expect(lines).toContain(`floorplan_layout_reloads_total{source="${source}",result="${result}"} 0`);
    }
  });

  it('serves floorplan_layout_store_privilege_refusals_total at 0 for reads and writes before any is refused', async () => {
    h = await startHarness();
    const lines = (await scrapeMetrics(h.url)).split('\n');
    for (const access of ['read', 'write']) expect(lines).toContain(`floorplan_layout_store_privilege_refusals_total{access="${access}"} 0`);
  });

  it('serves floorplan_shed_total at 0 for every reason before any request is refused', async () => {
    h = await startHarness();
    const lines = (await scrapeMetrics(h.url)).split('\n');
    for (const reason of ['queue_full', 'queue_timeout', 'late']) expect(lines).toContain(`floorplan_shed_total{reason="${reason}"} 0`);
  });
});
