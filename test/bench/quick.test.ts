/**
 * `npm run bench -- --quick` end to end: every server starts, is measured and lands in a
 * well-formed results file. Only the shape is checked — never the numbers against targets:
 * a shared CI machine makes them noise, and the targets are for the full run on a quiet one.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { BASELINES, UPSTREAM_NAMES, type BenchResults } from '../../bench/results.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'floorplan-bench-quick-'));
const out = join(dir, 'quick.json');

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the harness; on failure the error carries everything it printed. */
function runQuickBench(): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'bench/run.ts', '--quick', '--out', out, '--no-markdown'],
      // On timeout the harness gets SIGTERM, and stops every process it started.
      { cwd: ROOT, timeout: 110_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stdout}\n${stderr}`)) : resolve(stdout)),
    );
  });
}

const isNumber = (value: unknown): boolean => typeof value === 'number' && Number.isFinite(value);

describe('npm run bench -- --quick', () => {
  it('measures Floorplan and the three baselines and writes well-formed results', async () => {
    await runQuickBench();
    const results = JSON.parse(readFileSync(out, 'utf8')) as BenchResults;

    expect(results.mode).toBe('quick');
    for (const server of ['floorplan', ...BASELINES.map((b) => b.key)] as const) {
      const row = results.servers[server];
      expect(row, server).toBeDefined();
      expect(row.rps, `${server}.rps`).toBeGreaterThan(0);
      for (const key of ['p50Ms', 'p99Ms', 'cpuUsPerReq', 'rssMb'] as const) expect(isNumber(row[key]), `${server}.${key}`).toBe(true);
    }

    const floorplan = results.servers.floorplan;
    for (const upstream of UPSTREAM_NAMES) {
      expect(isNumber(floorplan.upstreamCallsPerRequest[upstream]), `upstreamCallsPerRequest.${upstream}`).toBe(true);
    }
    expect(isNumber(floorplan.overheadP99Ms)).toBe(true);
    expect(isNumber(results.latency.halfRate.criticalPath.p99Ms)).toBe(true);
    const control = results.latency.referenceHalfRate;
    expect(control?.rps, 'the (d) control ran at the half rate').toBeGreaterThan(0);
    expect(isNumber(control?.overheadP99Ms)).toBe(true);
    const { runtime } = results.latency.halfRate;
    for (const kind of ['minorGc', 'majorGc', 'incrementalGc'] as const) expect(Number.isInteger(runtime[kind].count), kind).toBe(true);

    expect(results.scaling.length).toBeGreaterThan(0);
    for (const row of results.scaling) expect(row.rps, row.name).toBeGreaterThan(0);

    for (const { key } of BASELINES) expect(isNumber(results.ratios[key].cpuUsPerReq), `ratios.${key}`).toBe(true);
    for (const target of results.targets) expect([true, false, null]).toContain(target.pass);
  }, 120_000);
});
