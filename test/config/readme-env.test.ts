/**
 * Every environment variable Floorplan reads is in README's configuration table: an engineer who
 * adds one to the loader (ENV_BINDINGS) and forgets the table is told here, not by an operator.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_ENV_VARS } from '../../src/config/service-config.ts';
import { UPSTREAMS } from '../../src/upstreams/registry.ts';

/** How README writes a variable: as itself, per upstream as `UPSTREAM_<NAME>_…`, or OpenTelemetry's as `OTEL_*`. */
function asDocumented(name: string): string {
  if (name.startsWith('OTEL_')) return 'OTEL_*';
  for (const upstream of UPSTREAMS) {
    const prefix = `UPSTREAM_${upstream.toUpperCase()}_`;
    if (name.startsWith(prefix)) return `UPSTREAM_<NAME>_${name.slice(prefix.length)}`;
  }
  return name;
}

describe("README's configuration table", () => {
  it('lists every environment variable the configuration loader reads', () => {
    const readme = readFileSync('README.md', 'utf8');
    const table = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('### Upstream contracts'));
    const rows = table.split('\n').filter((line) => line.startsWith('| `'));
    const documented = new Set(rows.flatMap((row) => [...(row.split('|')[1] ?? '').matchAll(/`([A-Z0-9_<>*]+)`/g)].map((m) => m[1])));
    expect(CONFIG_ENV_VARS.map(asDocumented).filter((name) => !documented.has(name))).toEqual([]);
  });
});
