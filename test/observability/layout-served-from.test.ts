/**
 * floorplan_layout_served_from{source} and floorplan_layout_revision are what an operator reads to
 * tell whether replicas serve the published layouts or a fallback, and which: their help must say
 * what each source value means and where the revision comes from.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LayoutSource } from '../../src/layouts/layout-store.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { scrapeMetrics } from '../support/measure.ts';

const SOURCES: readonly LayoutSource[] = ['file', 'redis', 'store', 'last-known-good'];

describe('the layout source metrics', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('floorplan_layout_served_from says in its help what each source value means, not only last-known-good', async () => {
    const help = (await scrapeMetrics(h.url)).split('\n').find((line) => line.startsWith('# HELP floorplan_layout_served_from '));
    for (const source of SOURCES) expect(help, source).toMatch(new RegExp(`\\. ${source}: \\S`));
    // The copy is served at start when a source could not be read, and for as long as neither swaps in a set.
    expect(help).toMatch(/last-known-good: .*layouts\.lastKnownGoodFile.*until /);
  });

  it('floorplan_layout_revision says in its help that it reports the revision from each published source, and 0 for the floors files', async () => {
    const help = (await scrapeMetrics(h.url)).split('\n').find((line) => line.startsWith('# HELP floorplan_layout_revision '));
    // Not only Redis: the revision store's live revision and the last-known-good copy's are reported too.
    for (const source of ['redis', 'store', 'last-known-good']) expect(help, source).toMatch(new RegExp(`\\b${source}\\b`));
    expect(help).toMatch(/floorplan_layout_served_from/);
    expect(help).toMatch(/0 while .*file/);
  });
});
