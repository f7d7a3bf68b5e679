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
import { productionNodeFlags } from '../../deploy/build-dist.ts';

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
      // On timeout the harness gets SIGTERM, and stops every process it started. Eleven
      // processes start through tsx on two shared cores: the run took 105 s at a load average
      // near 5 and 130–250 s at 10–40 (issue 18's session), most of it start-up.
      { cwd: ROOT, timeout: 240_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stdout}\n${stderr}`)) : resolve(stdout)),
    );
  });
}

const isNumber = (value: unknown): boolean => typeof value === 'number' && Number.isFinite(value);
/** A measured figure that may be explicitly absent (e.g. no answer of that class): a finite number or null, never NaN or missing. */
const isNumberOrNull = (value: unknown): boolean => value === null || isNumber(value);
const isCount = (value: unknown): boolean => Number.isInteger(value) && (value as number) >= 0;

/** Every overload row the harness must produce, in order. */
const OVERLOAD_ROWS = ['closed-1x', 'closed-2x', 'closed-4x', 'open-2x'];
const OVERLOAD_TARGETS = ['overload-goodput', 'overload-breakers', 'overload-deadline', 'overload-shed-p99', 'overload-full-p99'];
const FROZEN_TARGETS = ['frozen-upstream-p99', 'frozen-upstream-degraded', 'frozen-upstream-breakers'];
/** Issue 18's targets: CPU against (f), (d), (e); p99 overhead against (d)'s; the soak's slope. */
const PEER_TARGETS = ['cpu-vs-f', 'cpu-vs-d', 'cpu-vs-e', 'overhead-p99-vs-d', 'soak-slope'];

describe('npm run bench -- --quick', () => {
  it('measures Floorplan, the baselines and the peers and writes well-formed results', async () => {
    await runQuickBench();
    const results = JSON.parse(readFileSync(out, 'utf8')) as BenchResults;

    expect(results.mode).toBe('quick');
    for (const server of ['floorplan', ...BASELINES.map((b) => b.key)] as const) {
      const row = results.servers[server];
      expect(row, server).toBeDefined();
      if (row === undefined) continue;
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
    // How Floorplan ran: start:prod's flags, through tsx in a quick run (a full run names the bundle).
    expect(results.method.floorplanCommand).toBe(['node', ...productionNodeFlags(ROOT), '--import tsx src/main.ts'].join(' '));
    // Floorplan's half-rate windows and (d)'s take turns: one entry per round on each side.
    const rounds = results.method.halfRateRounds;
    expect(Number.isInteger(rounds) && (rounds as number) >= 1, 'method.halfRateRounds').toBe(true);
    expect(results.latency.halfRate.rounds?.length, 'Floorplan half-rate rounds').toBe(rounds);
    expect(control?.rounds?.length, '(d) half-rate rounds').toBe(rounds);
    // What the hypervisor took from each core in each window (empty where /proc/stat is missing).
    for (const round of [...(results.latency.halfRate.rounds ?? []), ...(control?.rounds ?? [])]) {
      expect(Array.isArray(round.stealMs) && round.stealMs.every((ms) => Number.isFinite(ms) && ms >= 0), 'stealMs per core').toBe(true);
    }
    const { runtime } = results.latency.halfRate;
    for (const kind of ['minorGc', 'majorGc', 'incrementalGc'] as const) expect(Number.isInteger(runtime[kind].count), kind).toBe(true);
    // Floorplan's mark-compacts window by window (what a round's p99 follows), adding up to the pooled count; (d) has no /metrics.
    const perRound = (results.latency.halfRate.rounds ?? []).map((round) => round.markCompacts);
    expect(perRound.every((count) => Number.isInteger(count)), 'markCompacts per Floorplan round').toBe(true);
    expect(perRound.reduce<number>((total, count) => total + (count ?? 0), 0)).toBe(runtime.majorGc.count);
    expect(control?.rounds?.every((round) => round.markCompacts === undefined), '(d) has no mark-compact counts').toBe(true);

    expect(results.scaling.length).toBeGreaterThan(0);
    for (const row of results.scaling) expect(row.rps, row.name).toBeGreaterThan(0);

    for (const { key } of BASELINES) expect(isNumber(results.ratios[key]?.cpuUsPerReq), `ratios.${key}`).toBe(true);

    // The peers answered the same floors as Floorplan (checked before measuring), for several users.
    expect(new Set(results.peers?.checked.map((c) => c.userId)).size, 'users in the peer check').toBeGreaterThanOrEqual(3);

    // The upstream-parse row: the parse variants, the client call and the same calls made bare, every figure there.
    const parse = results.upstreamParse;
    for (const key of ['oldUsPerAnswer', 'newUsPerAnswer', 'exactPathUsPerAnswer', 'parseRatio', 'callUsPerCall', 'bareCallUsPerCall', 'clientOverBare', 'clientRatio', 'clientRatioExactPath'] as const) {
      expect(isNumber(parse?.[key]), `upstreamParse.${key}`).toBe(true);
    }

    // The expression-floors row: both renders measured, and its target reported.
    const expressions = results.expressionFloors;
    for (const key of ['buildersUs', 'expressionsUs', 'ratio', 'medianRoundRatio'] as const) {
      expect(isNumber(expressions?.[key]), `expressionFloors.${key}`).toBe(true);
    }

    // The same comparison per request: two servers answered identical panels, then both were measured.
    const perRequest = results.expressionFloorsRequest;
    for (const key of ['buildersUsPerReq', 'expressionsUsPerReq', 'ratio', 'medianRoundRatio'] as const) {
      expect(isNumber(perRequest?.[key]), `expressionFloorsRequest.${key}`).toBe(true);
    }
    expect(perRequest?.checkedUsers, 'users whose panels both servers answered identically').toBeGreaterThan(0);

    // The tracing row: both servers measured, tracing on in one of them.
    const tracing = results.tracing;
    for (const key of ['offUsPerReq', 'onUsPerReq', 'ratio', 'medianRoundRatio', 'exportedKiB'] as const) {
      expect(isNumber(tracing?.[key]), `tracing.${key}`).toBe(true);
    }
    expect(tracing?.aa, 'tracing row measured with tracing on').toBe(false);

    // The allocations row: Floorplan, (d) and (f) each profiled, with its largest layers.
    const allocations = results.allocations;
    expect(allocations?.servers.map((server) => server.name)).toEqual(['Floorplan', '(d) upstream calls alone', '(f) Mercurius, tuned']);
    for (const server of allocations?.servers ?? []) {
      expect(isNumber(server.kibPerRequest) && server.kibPerRequest > 0, `allocations: ${server.name} KiB per request`).toBe(true);
      expect(server.answers, `allocations: ${server.name} answers`).toBeGreaterThan(0);
      expect(server.layers.length, `allocations: ${server.name} layers`).toBeGreaterThan(0);
    }

    // Overload rows: present and well formed; shed counts are 0 until Floorplan has admission control.
    const overload = results.overload;
    expect(overload, 'results.overload').toBeDefined();
    if (overload === undefined) return;
    expect(overload.upstreams).toBe('fast');
    expect(Number.isInteger(overload.requestDeadlineMs) && overload.requestDeadlineMs > 0, 'requestDeadlineMs').toBe(true);
    const { saturation } = overload;
    expect(Number.isInteger(saturation.connections) && saturation.connections > 0, 'saturation.connections').toBe(true);
    expect(['core', 'plateau', 'ceiling']).toContain(saturation.by);
    expect(saturation.panelsPerSecond, 'saturation.panelsPerSecond').toBeGreaterThan(0);
    expect(saturation.ramp.length).toBeGreaterThan(0);
    for (const step of saturation.ramp) {
      expect(Number.isInteger(step.connections) && step.connections > 0, 'ramp connections').toBe(true);
      for (const key of ['panelsPerSecond', 'shedPerSecond', 'serverCoreBusy', 'generatorCoreBusy'] as const) expect(isNumber(step[key]), `ramp ${step.connections}.${key}`).toBe(true);
    }
    for (const key of ['shedTotal', 'admissionLimit', 'breakerOpenedTotal'] as const) expect(typeof overload.exported[key], `exported.${key}`).toBe('boolean');
    expect(overload.goodputRounds.length, 'goodputRounds').toBeGreaterThan(0);
    for (const round of overload.goodputRounds) for (const name of OVERLOAD_ROWS.slice(0, 3)) expect(isNumber(round[name]), `goodputRounds ${name}`).toBe(true);
    expect(overload.rows.map((r) => r.name)).toEqual(OVERLOAD_ROWS);
    for (const row of overload.rows) {
      const where = `overload ${row.name}`;
      expect(['closed', 'open']).toContain(row.loop);
      expect(Number.isInteger(row.connections) && row.connections > 0, `${where}.connections`).toBe(true);
      expect(row.loop === 'open' ? isNumber(row.offeredRps) : row.offeredRps === null, `${where}.offeredRps`).toBe(true);
      expect(row.loop === 'open' ? isCount(row.queuedInGenerator) : row.queuedInGenerator === null, `${where}.queuedInGenerator`).toBe(true);
      for (const key of ['multiple', 'seconds', 'goodputPerSecond', 'degradedPerSecond', 'shedPerSecond', 'otherPerSecond', 'serverCoreBusy', 'generatorCoreBusy'] as const) {
        expect(isNumber(row[key]), `${where}.${key}`).toBe(true);
      }
      for (const key of ['fullP50Ms', 'fullP99Ms', 'shedP50Ms', 'shedP99Ms', 'fullP99OnConnectionMs', 'shedP99OnConnectionMs', 'serverShed', 'admissionLimit'] as const) expect(isNumberOrNull(row[key]), `${where}.${key}`).toBe(true);
      for (const key of ['full', 'degraded', 'shed', 'other', 'errors', 'shedWithoutRetryAfter', 'breakerOpenings', 'deadlineCutCalls', 'degradedPanels'] as const) {
        expect(isCount(row[key]), `${where}.${key}`).toBe(true);
      }
      for (const [reason, count] of Object.entries(row.serverShedByReason)) expect(isCount(count), `${where}.serverShedByReason.${reason}`).toBe(true);
      expect(row.full + row.degraded + row.shed, `${where}: some panel or shed answer`).toBeGreaterThan(0);
      // A latency is null exactly when its class had no answers.
      expect(row.fullP99Ms === null, `${where}.fullP99Ms null iff no full panel`).toBe(row.full === 0);
      expect(row.shedP99Ms === null, `${where}.shedP99Ms null iff nothing shed`).toBe(row.shed === 0);
      // Floorplan's own time beside the generator's: a class is timed exactly when Floorplan answered some of it.
      expect(row.serverTime, `${where}.serverTime`).not.toBeNull();
      expect(row.serverTime?.full === null, `${where}.serverTime.full null iff no panel`).toBe(row.full + row.degraded === 0);
      expect(row.serverTime?.shed === null, `${where}.serverTime.shed null iff nothing shed`).toBe(row.shed === 0);
      for (const time of [row.serverTime?.full, row.serverTime?.shed]) {
        if (time === null || time === undefined) continue;
        expect(time.p99UpToMs, `${where}.serverTime p99 bound`).toBeGreaterThan(0);
        for (const share of [time.over100MsShare, time.over250MsShare, time.clientOver100MsShare, time.clientOver250MsShare]) expect(share >= 0 && share <= 1, `${where}.serverTime share ${share}`).toBe(true);
        expect(time.over250MsShare, `${where}: fewer answers over 250 ms than over 100 ms`).toBeLessThanOrEqual(time.over100MsShare);
      }
      if (row.loop === 'open') expect(row.fullP99OnConnectionMs === null, `${where}.fullP99OnConnectionMs null iff no full panel`).toBe(row.full === 0);
      else expect([row.fullP99OnConnectionMs, row.shedP99OnConnectionMs], `${where}: on-connection timings are the open loop's`).toEqual([null, null]);
    }
    // The open loop's control: (d) fed the same arrivals, refusing the share Floorplan refused.
    const openControl = overload.openControl;
    expect(openControl, 'overload.openControl').toBeDefined();
    if (openControl !== undefined) {
      const open = overload.rows.find((r) => r.name === 'open-2x')!;
      expect(openControl.offeredRps, 'openControl.offeredRps').toBe(open.offeredRps);
      expect(openControl.shedShare, 'openControl.shedShare').toBeCloseTo(open.shed / (open.full + open.degraded + open.shed), 3);
      expect(openControl.full + openControl.shed, 'openControl: answers').toBeGreaterThan(0);
      // Refused evenly (a running sum of the share, one refusal per whole unit): within a request or two of the share.
      expect(Math.abs(openControl.shed - openControl.shedShare * (openControl.full + openControl.shed)), 'openControl: the share refused').toBeLessThanOrEqual(2);
      expect(openControl.shedP99Ms === null, 'openControl.shedP99Ms null iff nothing shed').toBe(openControl.shed === 0);
      expect([openControl.breakerOpenings, openControl.deadlineCutCalls, openControl.admissionLimit], 'openControl: no Floorplan counters').toEqual([0, 0, null]);
      expect(openControl.serverTime, 'openControl: no Floorplan histogram').toBeNull();
    }

    // Frozen upstream rows: one per frozen upstream, every request answered and sorted.
    const frozen = results.frozenUpstream;
    expect(frozen, 'results.frozenUpstream').toBeDefined();
    if (frozen === undefined) return;
    expect(frozen.requestDeadlineMs).toBe(250);
    expect(frozen.rows.map((r) => r.frozen)).toEqual(['promotion', 'settlement']);
    for (const u of UPSTREAM_NAMES) expect(frozen.upstreamTimeoutsMs[u], `upstreamTimeoutsMs.${u}`).toBeGreaterThan(frozen.requestDeadlineMs);
    for (const row of frozen.rows) {
      const where = `frozen ${row.frozen}`;
      expect(row.requests, `${where}.requests`).toBe(frozen.rounds * frozen.users);
      for (const key of ['p50Ms', 'p99Ms', 'maxMs'] as const) expect(isNumber(row[key]), `${where}.${key}`).toBe(true);
      expect(row.roundMaxMs.length, `${where}.roundMaxMs`).toBe(frozen.rounds);
      for (const key of ['degraded', 'otherPanels', 'non200', 'errors', 'breakerOpenings', 'healthyBreakerOpenings', 'deadlineCutCalls', 'timeoutCalls'] as const) expect(isCount(row[key]), `${where}.${key}`).toBe(true);
      expect(row.degraded + row.otherPanels + row.non200 + row.errors, `${where}: every request sorted`).toBe(row.requests);
    }

    const targetIds = results.targets.map((t) => t.id);
    for (const id of OVERLOAD_TARGETS) expect(targetIds, `target ${id}`).toContain(id);
    for (const id of FROZEN_TARGETS) expect(targetIds, `target ${id}`).toContain(id);
    for (const id of PEER_TARGETS) expect(targetIds, `target ${id}`).toContain(id);
    expect(targetIds, 'target expression-floors-cpu').toContain('expression-floors-cpu');
    expect(targetIds, 'target expression-floors-request-cpu').toContain('expression-floors-request-cpu');
    expect(targetIds, 'target tracing-cpu').toContain('tracing-cpu');
    for (const target of results.targets) expect([true, false, null]).toContain(target.pass);
  }, 250_000);
});
