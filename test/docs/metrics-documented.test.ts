/**
 * README's `GET /metrics` entry lists every series Floorplan registers, and names none it does not:
 * an on-call reads it to learn what a series means. Found by a helper adding
 * floorplan_layout_store_privilege_refusals_total: the list was kept true by hand only.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/observability/metrics.ts';
import { UPSTREAMS } from '../../src/upstreams/registry.ts';

const README = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');

/** The `GET /metrics` bullet of README's "Operations": from its first line to the next bullet. */
function metricsEntry(): string {
  const start = README.indexOf('- `GET /metrics` — Prometheus:');
  if (start === -1) throw new Error('README.md has no "- `GET /metrics` — Prometheus:" entry');
  const end = README.indexOf('\n- ', start + 1);
  return README.slice(start, end === -1 ? undefined : end);
}

/** A series name in backticks, with or without labels: `floorplan_x_total{a,b}`, `floorplan_x_count`. */
const CITED = /`(floorplan_[a-z0-9_]+)[{`]/g;
/** What Prometheus shows of a histogram besides its name. */
const HISTOGRAM_PARTS = /_(?:count|sum|bucket)$/;

async function registeredNames(): Promise<string[]> {
  const metrics = createMetrics({ defaultMetrics: false, upstreams: UPSTREAMS });
  // Registered at a layout store's first answer (no series without a store): a replica with one has it.
  metrics.layoutStoreUp(true);
  return (await metrics.registry.getMetricsAsJSON()).map((m) => m.name).sort();
}

describe("README's list of metrics", () => {
  it('names every series Floorplan registers', async () => {
    const entry = metricsEntry();
    const missing = (await registeredNames()).filter((name) => !entry.includes(`\`${name}\``) && !entry.includes(`\`${name}{`));
    expect(missing).toEqual([]);
  });

  it('names no series Floorplan does not register', async () => {
    const registered = new Set(await registeredNames());
    const cited = [...metricsEntry().matchAll(CITED)].map((match) => match[1] as string);
    expect(cited.length).toBeGreaterThan(20);
    expect(cited.filter((name) => !registered.has(name) && !registered.has(name.replace(HISTOGRAM_PARTS, '')))).toEqual([]);
  });
});
