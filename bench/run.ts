/**
 * `npm run bench`: Floorplan against baselines and hand-written peers answering the same panel, on loopback.
 *
 *   npm run bench                      full run → bench/results/latest.json + BENCHMARKS.md
 *   npm run bench -- --quick           ~15–30 s → bench/results/quick.json (no Markdown)
 *   npm run bench -- --soak            Floorplan for 10 minutes at a fixed rate, RSS sampled, p99 per minute (after 4 minutes' warm-up at that rate, up to 8 until two mark-compacts have run)
 *   node --import tsx bench/upstream-parse.ts   only the upstream-parse row (it also runs last in the two above)
 *   npm run bench -- --frozen-upstream only the frozen-upstream rows (~30 s; with --quick, fewer rounds)
 *   npm run bench -- --peers           only Floorplan, (d) and the peers (e), (f): byte-identity check, interleaved CPU rounds → bench/results/peers.json
 *   npm run bench -- --peers --simultaneous   the same, Floorplan loaded at once beside each of the others in turn
 *   npm run bench -- --peers --peer-pools per-upstream   the same, (d), (e) and (f) holding a pool per upstream
 *                                      (as three services with an origin each need) instead of one for the demo's one origin
 *   options: --out <path>  --no-markdown  --markdown  --soak-seconds <n>  --soak-warmup-seconds <n>
 *
 * Every server, the demo upstreams and the load generator are separate processes; servers
 * are pinned to core 0, load and upstreams to core 1 (taskset). BENCHMARKS.md explains each
 * number and the method.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { loadServiceConfig, type ServiceConfig } from '../src/config/service-config.ts';
import { canPin, cleanEnv, FLOORPLAN_MAIN, floorplanCommandLine, floorplanEnv, freePorts, killAllNow, nodeFlagsOf, pin, productionNodeFlags, ROOT, SLOW_UPSTREAM_FAULTS, startNode, stopAll, stopChildren, UPSTREAM_LATENCY_MS, useCompiledChildren, type Child } from './children.ts';
import { nearestRank, READY_LINE, RESULT_PREFIX, type AnswerClasses, type LoadJob, type LatencySummary, type LoadResult, type RequestVariant } from './load-job.ts';
import { graphqlBody, PANEL_QUERY, PANEL_RESPONSE_JSON, PANEL_USER, panelQuery, SELECTED_LINES_QUERY } from './panel.ts';
import { machineInfo, rssMb } from './proc.ts';
import {
  BASELINES,
  evaluateTargets,
  type ExpressionFloorsRow,
  FROZEN_UPSTREAM_SLACK_MS,
  frozenUpstreamTargets,
  overloadTargets,
  renderMarkdown,
  rewriteMarkedSection,
  targetLines,
  UPSTREAM_NAMES,
  type BaselineName,
  type BenchResults,
  type FloorplanFacts,
  type FrozenUpstreamPhase,
  type FrozenUpstreamRow,
  type LatencyPhase,
  type OverloadPhase,
  type OverloadRampStep,
  type OverloadRow,
  type ServerTime,
  type ScalingRow,
  type RateRun,
  type RuntimeFacts,
  type ServerRow,
  type HeapFigures,
  type SoakResult,
  type SoakSample,
  SOAK_FIGURES,
  type Target,
  type Upstream,
} from './results.ts';
import { measureExpressionFloorsPerRequest, type ExpressionFloorsRequestPlan } from './expression-floors-request.ts';
import { measureTracing, type TracingPlan } from './tracing.ts';
import { allocationsRow, measureAllocations, type AllocationsPlan } from './allocations.ts';
import { counterBy, gcBetween, heapFiguresOf, histogramBetween, quantileBoundMs, shareAbove, type HistogramDelta } from './prometheus-text.ts';
import { checkPeerFloors, PEERS, peerCheckUsers, peerCpuTargets, soakSlopeMbPerMinute, type PeerName, type PeersPhase } from './peers.ts';
import type { UpstreamPooling } from './baselines/common.ts';
import { createBenchFloorsDir, LARGE_SCENE, SMALL_SCENE } from './scenes.ts';
import { median } from './stats.ts';
import { measureUpstreamParse, UPSTREAM_PARSE_FULL, UPSTREAM_PARSE_QUICK } from './upstream-parse.ts';
import { seedLikeUsers, selectedSkus, TokenBook } from './users.ts';

const USAGE = 'usage: npm run bench [-- --quick | --soak [--soak-seconds <n>] [--soak-warmup-seconds <n>] | --frozen-upstream [--quick] | --overload [--quick] | --peers [--simultaneous] [--peer-node-flags="…"] [--peer-pools shared|per-upstream] [--quick]] [--out <path>] [--no-markdown | --markdown]';

/** Injected latency of each upstream in the latency phase. */
const STARTUP_TIMEOUT_MS = 60_000;

/** How long and how hard each run goes. */
interface Plan {
  readonly connections: number;
  /** Connections for the latency phase (where RSS is checked at 200). */
  readonly latencyConnections: number;
  readonly warmupRequests: number;
  readonly measureSeconds: number;
  readonly scalingMeasureSeconds: number;
  /**
   * The half-saturation windows the p99 overhead comes from: `halfRateRounds` rounds of
   * `halfRateSeconds` for Floorplan and as many for the (d) control, alternating (F d, d F, …),
   * each p99 over its rounds' samples pooled. A p99 rests on its worst 1 %: 30 s at ~600 req/s
   * hold ~180 of them, and one major GC more or less swings it by milliseconds. One window each,
   * one after the other, let a busy minute of this shared machine land on one side only.
   */
  readonly halfRateRounds: number;
  readonly halfRateSeconds: number;
  readonly drainMs: number;
  readonly probeIntervalMs: number;
  /** Which scaling rows to run. */
  readonly scalingRows: readonly string[];
  /** Also run the half rate with autocannon's own (bursty) overallRate, to show why it is not used. */
  readonly autocannonRateCheck: boolean;
  /**
   * CPU µs/req of the five servers is measured in this many interleaved rounds (each server
   * `cpuRoundSeconds` per round, round-robin), so every server sees the same machine conditions.
   */
  readonly cpuRounds: number;
  readonly cpuRoundSeconds: number;
  readonly cpuRoundWarmupRequests: number;
  /**
   * Overload: a closed-loop ramp finds the connections that saturate Floorplan (doubling from
   * the start, at most the ceiling, each step this long); then the closed-loop rows run in
   * `overloadRounds` interleaved rounds of `overloadSeconds` each — goodput at 4× ÷ 1× is a
   * ratio of two throughputs, which one window each would leave to the machine's drift — and
   * the open loop one window of `overloadOpenSeconds`.
   */
  readonly overloadRampStartConnections: number;
  readonly overloadRampMaxConnections: number;
  readonly overloadRampSeconds: number;
  readonly overloadRounds: number;
  readonly overloadSeconds: number;
  readonly overloadOpenSeconds: number;
  /**
   * Connections the open loop's arrivals use, opened before its window. Without a bound an
   * unshedding server would have the generator open a socket per late answer; with this one,
   * arrivals beyond it wait in the generator, on the clock (and are counted). 2048: more than
   * Floorplan's limit reaches holding requests a quarter of the bench's 2 s deadline, so
   * arrivals reach Floorplan to be admitted or refused, as a phone with its own connection
   * does; with 512, every connection could be held by an admitted request and the excess
   * waited unseen in the generator.
   */
  readonly overloadOpenConnections: number;
  /**
   * Frozen upstream: rounds of FROZEN_USERS concurrent requests with the upstream healthy, then
   * measured rounds with it SIGSTOPped. A p99 over one round of 50 is its worst answer; over ten
   * rounds, the fifth worst of 500.
   */
  readonly frozenWarmupRounds: number;
  readonly frozenRounds: number;
  /** How many of bench/peers.ts's check users the peers' byte-identity check asks about (each in every request variation). */
  readonly peerCheckUsers: number;
}

const FULL: Plan = {
  connections: 100,
  latencyConnections: 200,
  warmupRequests: 5000,
  measureSeconds: 10,
  scalingMeasureSeconds: 5,
  halfRateRounds: 3,
  halfRateSeconds: 10,
  drainMs: 500,
  probeIntervalMs: 10,
  scalingRows: ['floors-6', 'floors-30', 'lines-1', 'lines-200'],
  autocannonRateCheck: true,
  cpuRounds: 5,
  cpuRoundSeconds: 2,
  cpuRoundWarmupRequests: 300,
  overloadRampStartConnections: 2,
  overloadRampMaxConnections: 256,
  overloadRampSeconds: 2,
  overloadRounds: 3,
  overloadSeconds: 2,
  overloadOpenSeconds: 5,
  overloadOpenConnections: 2048,
  frozenWarmupRounds: 5,
  frozenRounds: 10,
  peerCheckUsers: Number.POSITIVE_INFINITY,
};

const QUICK: Plan = {
  connections: 50,
  latencyConnections: 50,
  warmupRequests: 100,
  measureSeconds: 1,
  scalingMeasureSeconds: 1,
  halfRateRounds: 1,
  halfRateSeconds: 1,
  drainMs: 100,
  probeIntervalMs: 10,
  scalingRows: ['floors-30', 'lines-200'],
  autocannonRateCheck: false,
  cpuRounds: 1,
  cpuRoundSeconds: 1,
  cpuRoundWarmupRequests: 50,
  overloadRampStartConnections: 4,
  overloadRampMaxConnections: 16,
  overloadRampSeconds: 0.5,
  overloadRounds: 1,
  overloadSeconds: 0.5,
  overloadOpenSeconds: 0.5,
  overloadOpenConnections: 64,
  frozenWarmupRounds: 2,
  frozenRounds: 2,
  peerCheckUsers: 4,
};

interface Options {
  readonly mode: 'full' | 'quick' | 'soak' | 'frozen-upstream' | 'overload' | 'peers';
  /** The plan's size: quick for --quick (alone or with --frozen-upstream), else full. */
  readonly quick: boolean;
  readonly out: string;
  readonly markdown: boolean;
  readonly soakSeconds: number;
  /** Unsampled seconds at the soak's rate before it: the heap grows to its working size (~4 min here), which is not a leak. */
  readonly soakWarmupSeconds: number;
  /** `--peers`: Floorplan and each other server loaded at once, in pairs, rather than one after the other. */
  readonly simultaneous: boolean;
  /** `--peers`: node flags for (d), (e) and (f), which otherwise run with none (e.g. start:prod's, to compare the code rather than the flags). */
  readonly peerNodeFlags?: readonly string[];
  /** `--peers`: how (d), (e) and (f) pool their connections to the demo upstreams (bench/baselines/common.ts, UpstreamPooling). */
  readonly peerPools: UpstreamPooling;
}

function parseOptions(argv: readonly string[]): Options {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      quick: { type: 'boolean', default: false },
      soak: { type: 'boolean', default: false },
      'soak-seconds': { type: 'string' },
      'soak-warmup-seconds': { type: 'string' },
      'frozen-upstream': { type: 'boolean', default: false },
      overload: { type: 'boolean', default: false },
      peers: { type: 'boolean', default: false },
      simultaneous: { type: 'boolean', default: false },
      'peer-node-flags': { type: 'string' },
      'peer-pools': { type: 'string' },
      out: { type: 'string' },
      markdown: { type: 'boolean' },
      'no-markdown': { type: 'boolean' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  if (positionals.length > 0) throw new Error(`unexpected argument ${JSON.stringify(positionals[0])}\n${USAGE}`);
  if (values.quick && values.soak) throw new Error(`--quick and --soak are separate runs; pick one\n${USAGE}`);
  if (values.soak && values['frozen-upstream']) throw new Error(`--soak and --frozen-upstream are separate runs; pick one\n${USAGE}`);
  if (values.overload && (values.soak || values['frozen-upstream'])) throw new Error(`--overload is a separate run; pick one\n${USAGE}`);
  if (values.peers && (values.soak || values['frozen-upstream'] || values.overload)) throw new Error(`--peers is a run of its own; pick one\n${USAGE}`);
  if (values.simultaneous && !values.peers) throw new Error(`--simultaneous is a way of running --peers; add --peers\n${USAGE}`);
  if (values['peer-node-flags'] !== undefined && !values.peers) throw new Error(`--peer-node-flags is a way of running --peers; add --peers\n${USAGE}`);
  if (values['peer-pools'] !== undefined && !values.peers) throw new Error(`--peer-pools is a way of running --peers; add --peers\n${USAGE}`);
  const peerPools = values['peer-pools'] ?? 'shared';
  if (peerPools !== 'shared' && peerPools !== 'per-upstream') throw new Error(`--peer-pools must be shared or per-upstream, but got: ${JSON.stringify(peerPools)}\n${USAGE}`);
  const mode = values.peers ? 'peers' : values['frozen-upstream'] ? 'frozen-upstream' : values.overload ? 'overload' : values.soak ? 'soak' : values.quick ? 'quick' : 'full';
  const soakSeconds = values['soak-seconds'] === undefined ? 600 : Number(values['soak-seconds']);
  if (!Number.isInteger(soakSeconds) || soakSeconds < 10) {
    throw new Error(`--soak-seconds must be whole seconds, at least 10, but got: ${JSON.stringify(values['soak-seconds'])}`);
  }
  // Quick numbers are a plumbing check: never let them replace the full results or the table.
  const defaultOut = join(ROOT, 'bench', 'results', values.peers ? 'peers.json' : values.quick ? 'quick.json' : 'latest.json');
  const markdown = values['no-markdown'] ? false : (values.markdown ?? !values.quick);
  const soakWarmupSeconds = values['soak-warmup-seconds'] === undefined ? 240 : Number(values['soak-warmup-seconds']);
  if (!Number.isInteger(soakWarmupSeconds) || soakWarmupSeconds < 0) {
    throw new Error(`--soak-warmup-seconds must be whole seconds, 0 or more, but got: ${JSON.stringify(values['soak-warmup-seconds'])}`);
  }
  return {
    mode,
    quick: values.quick,
    out: resolve(values.out ?? defaultOut),
    markdown,
    soakSeconds,
    soakWarmupSeconds,
    simultaneous: values.simultaneous,
    ...(values['peer-node-flags'] === undefined ? {} : { peerNodeFlags: nodeFlagsOf(values['peer-node-flags']) }),
    peerPools,
  };
}

/** Rejects as soon as any of `children` exits, with its last output. */
function unlessExited<T>(work: Promise<T>, children: readonly Child[]): Promise<T> {
  let cancelled = false;
  const exits = children.map((child) =>
    child.exited.then((how) => {
      if (cancelled) return new Promise<never>(() => undefined);
      throw new Error(`${child.name} (pid ${child.pid}) exited unexpectedly (${how}). Its last output:\n${child.output() || '(none)'}`);
    }),
  );
  return Promise.race([work, ...exits]).finally(() => {
    cancelled = true;
  }) as Promise<T>;
}

/** Polls `check` until it returns a value, the child exits or the timeout passes. */
async function waitFor<T>(child: Child, what: string, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = performance.now() + STARTUP_TIMEOUT_MS;
  let lastProblem = '';
  const poll = async (): Promise<T> => {
    while (performance.now() < deadline) {
      try {
        const value = await check();
        if (value !== undefined) return value;
      } catch (error) {
        lastProblem = error instanceof Error ? error.message : String(error);
      }
      await sleep(100);
    }
    throw new Error(`${child.name} was not ${what} within ${STARTUP_TIMEOUT_MS} ms (${lastProblem || 'no answer'}). Its last output:\n${child.output() || '(none)'}`);
  };
  return unlessExited(poll(), [child]);
}

/** The load worker: one process, one job at a time over stdin/stdout. */
class LoadWorker {
  private readonly waiting: Array<(line: string) => void> = [];
  /** Resolves once the worker has loaded and reads jobs. */
  readonly ready: Promise<void>;

  constructor(readonly child: Child) {
    const stdout = child.process.stdout;
    if (stdout === null) throw new Error('the load worker has no stdout pipe');
    let onReady: () => void = () => undefined;
    this.ready = unlessExited(new Promise<void>((done) => (onReady = done)), [child]);
    createInterface({ input: stdout }).on('line', (line) => {
      if (line === READY_LINE) onReady();
      else if (line.startsWith(RESULT_PREFIX)) this.waiting.shift()?.(line.slice(RESULT_PREFIX.length));
    });
  }

  /** Runs `job`; fails fast if the worker or any of `servers` dies meanwhile. */
  async run(job: LoadJob, servers: readonly Child[]): Promise<LoadResult> {
    const answer = new Promise<string>((done) => this.waiting.push(done));
    this.child.process.stdin?.write(`${JSON.stringify(job)}\n`);
    const parsed = JSON.parse(await unlessExited(answer, [this.child, ...servers])) as LoadResult | { error: string };
    if ('error' in parsed) throw new Error(`load run "${job.name}" failed: ${parsed.error}`);
    return parsed;
  }
}

const round = (value: number, digits = 2) => {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
};

/** A run's server-side row: the server is the pid labelled `server`, the generator side is the worker plus `upstreams`. */
function serverRow(result: LoadResult): ServerRow {
  const wallUs = result.elapsedSeconds * 1e6;
  const serverCpu = result.cpuUs['server'] ?? Number.NaN;
  // Only 2xx answers count: a server that refuses part of the load (503 OVERLOADED) is charged
  // the refusals' CPU per answered panel, instead of having cheap refusals flatter its figures.
  return {
    rps: round(result.ok / result.elapsedSeconds, 1),
    p50Ms: result.latency.p50Ms,
    p99Ms: result.latency.p99Ms,
    cpuUsPerReq: round(serverCpu / result.ok, 1),
    rssMb: result.rssMb['server'] ?? Number.NaN,
    requests: result.completed,
    non2xx: result.non2xx,
    errors: result.errors,
    serverCoreBusy: round(serverCpu / wallUs),
    generatorCoreBusy: round((result.workerCpuUs + (result.cpuUs['upstreams'] ?? 0)) / wallUs),
  };
}

/**
 * Half the 2xx answers per second of a saturated run: the rate "half saturation" runs at. Not
 * half of every answer: an overloaded Floorplan refuses the excess with quick 503s, and half
 * a rate swollen by them can be more than it serves at all.
 */
function halfOfServed(row: ServerRow): number {
  const served = row.requests > 0 ? (row.rps * (row.requests - row.non2xx)) / row.requests : row.rps;
  return Math.max(1, Math.floor(served / 2));
}

/** Upstream calls per GraphQL request from Floorplan's own counters, before vs after the window. */
function floorplanFacts(result: LoadResult): FloorplanFacts {
  if (result.metrics === undefined) throw new Error(`run "${result.name}" has no /metrics readings`);
  const { before, after } = result.metrics;
  // Requests that were answered with a panel: a 503 OVERLOADED refusal calls no upstream.
  const total = (text: string) => counterBy(text, 'floorplan_http_request_duration_seconds_count', 'route', { status: '200' }).get('/graphql') ?? 0;
  const requests = total(after) - total(before);
  const callsBefore = counterBy(before, 'floorplan_upstream_requests_total', 'upstream');
  const callsAfter = counterBy(after, 'floorplan_upstream_requests_total', 'upstream');
  const okBefore = counterBy(before, 'floorplan_upstream_requests_total', 'upstream', { outcome: 'ok' });
  const okAfter = counterBy(after, 'floorplan_upstream_requests_total', 'upstream', { outcome: 'ok' });
  const outcomesBefore = counterBy(before, 'floorplan_upstream_requests_total', 'outcome');
  const failedOutcomes: Record<string, number> = {};
  for (const [outcome, count] of counterBy(after, 'floorplan_upstream_requests_total', 'outcome')) {
    const delta = count - (outcomesBefore.get(outcome) ?? 0);
    if (outcome !== 'ok' && delta > 0) failedOutcomes[outcome] = delta;
  }
  let failures = 0;
  const perRequest = {} as Record<Upstream, number>;
  for (const upstream of UPSTREAM_NAMES) {
    const calls = (callsAfter.get(upstream) ?? 0) - (callsBefore.get(upstream) ?? 0);
    failures += calls - ((okAfter.get(upstream) ?? 0) - (okBefore.get(upstream) ?? 0));
    perRequest[upstream] = requests > 0 ? round(calls / requests, 4) : Number.NaN;
  }
  return { upstreamCallsPerRequest: perRequest, upstreamFailures: failures, upstreamFailedOutcomes: failedOutcomes };
}

/** The garbage collections Floorplan ran during a window (the load worker's /metrics readings before and after). */
function runtimeFacts(result: LoadResult): RuntimeFacts {
  if (result.metrics === undefined) throw new Error(`run "${result.name}" has no /metrics readings`);
  return gcBetween(result.metrics.before, result.metrics.after, `run "${result.name}"`);
}

/** A fixed-rate run beside the critical-path probe: latency, the probe's, and the overhead between them. */
function rateRun(result: LoadResult, row: ServerRow): RateRun {
  const probe = result.probe;
  if (probe === undefined || probe.samples === 0) throw new Error(`run "${result.name}": the critical-path probe recorded no samples`);
  return {
    rps: row.rps,
    p50Ms: row.p50Ms,
    p99Ms: row.p99Ms,
    cpuUsPerReq: row.cpuUsPerReq,
    criticalPath: { samples: probe.samples, p50Ms: probe.p50Ms, p99Ms: probe.p99Ms, failures: probe.failures },
    overheadP50Ms: round(row.p50Ms - probe.p50Ms, 3),
    overheadP99Ms: round(row.p99Ms - probe.p99Ms, 3),
  };
}

/**
 * Rounds of one row (each with `keepLatencies`) as one window: counts, CPU and wall time summed,
 * latency percentiles over every round's samples together (the probe's too), RSS after the last,
 * /metrics from before the first to after the last (the server served nothing between its rounds).
 */
function mergeRounds(rounds: readonly LoadResult[]): LoadResult {
  const first = rounds[0];
  const last = rounds[rounds.length - 1];
  if (first === undefined || last === undefined) throw new Error('no rounds to merge');
  const sum = (of: (r: LoadResult) => number) => rounds.reduce((total, r) => total + of(r), 0);
  const pooled = (of: (r: LoadResult) => readonly number[] | undefined): LatencySummary => {
    const all: number[] = [];
    for (const r of rounds) {
      const values = of(r);
      if (values === undefined) throw new Error(`run "${r.name}" kept no latencies to pool (keepLatencies)`);
      for (const ms of values) all.push(ms);
    }
    const sorted = Float64Array.from(all).sort();
    const mean = sorted.length === 0 ? Number.NaN : sorted.reduce((a, b) => a + b, 0) / sorted.length;
    return { samples: sorted.length, p50Ms: round(nearestRank(sorted, 0.5), 3), p99Ms: round(nearestRank(sorted, 0.99), 3), meanMs: round(mean, 3) };
  };
  const elapsedSeconds = sum((r) => r.elapsedSeconds);
  const cpuUs: Record<string, number> = {};
  for (const r of rounds) for (const [label, us] of Object.entries(r.cpuUs)) cpuUs[label] = (cpuUs[label] ?? 0) + us;
  const probed = rounds.every((r) => r.probe !== undefined);
  return {
    name: first.name,
    completed: sum((r) => r.completed),
    ok: sum((r) => r.ok),
    non2xx: sum((r) => r.non2xx),
    errors: sum((r) => r.errors),
    timeouts: sum((r) => r.timeouts),
    elapsedSeconds,
    rps: round(sum((r) => r.completed) / elapsedSeconds, 1),
    latency: pooled((r) => r.latenciesMs?.ok),
    cpuUs,
    rssMb: last.rssMb,
    workerCpuUs: sum((r) => r.workerCpuUs),
    ...(first.metrics !== undefined && last.metrics !== undefined ? { metrics: { before: first.metrics.before, after: last.metrics.after } } : {}),
    ...(probed ? { probe: { ...pooled((r) => r.latenciesMs?.probe), failures: sum((r) => r.probe?.failures ?? 0) } } : {}),
  };
}

/** A fixed-rate row pooled over its rounds ({@link mergeRounds}), with each round's own p99 overhead beside it. */
function pooledRateRun(rounds: readonly LoadResult[]): { merged: LoadResult; row: ServerRow; run: RateRun } {
  const merged = mergeRounds(rounds);
  const row = serverRow(merged);
  const perRound = rounds.map((r) => {
    const probeP99 = r.probe?.p99Ms ?? Number.NaN;
    const markCompacts = r.metrics === undefined ? {} : { markCompacts: runtimeFacts(r).majorGc.count };
    return { p99Ms: r.latency.p99Ms, criticalPathP99Ms: probeP99, overheadP99Ms: round(r.latency.p99Ms - probeP99, 3), stealMs: r.stealMs ?? [], ...markCompacts };
  });
  return { merged, row, run: { ...rateRun(merged, row), rounds: perRound } };
}

/** Floorplan's garbage collections in its rounds' windows only (not while the other server had its turn). */
function pooledRuntimeFacts(rounds: readonly LoadResult[]): RuntimeFacts {
  const facts = rounds.map(runtimeFacts);
  const gc = (kind: keyof RuntimeFacts) => {
    const count = facts.reduce((total, f) => total + f[kind].count, 0);
    const totalMs = round(facts.reduce((total, f) => total + f[kind].totalMs, 0), 1);
    return { count, totalMs, meanMs: count > 0 ? round(totalMs / count, 2) : 0 };
  };
  return { minorGc: gc('minorGc'), majorGc: gc('majorGc'), incrementalGc: gc('incrementalGc') };
}

/** The sum of every sample of `metric` whose labels match `where`, labelled or not; 0 when it has none. */
function sampleSum(text: string, metric: string, where: Readonly<Record<string, string>> = {}): number {
  let sum = 0;
  for (const value of counterBy(text, metric, '', where).values()) sum += value;
  if (Object.keys(where).length === 0) {
    for (const line of text.split('\n')) if (line.startsWith(`${metric} `)) sum += Number(line.slice(metric.length + 1).trim());
  }
  return sum;
}

/** Whether Floorplan's /metrics has `metric` at all (prom-client prints its TYPE line before any sample). */
function exportsMetric(text: string, metric: string): boolean {
  return text.split('\n').some((line) => line.startsWith(`# TYPE ${metric} `) || line.startsWith(`${metric}{`) || line.startsWith(`${metric} `));
}

function sortedAnswers(result: LoadResult): AnswerClasses {
  if (result.classes === undefined) throw new Error(`run "${result.name}" did not sort its answers`);
  return result.classes;
}

/** Percentile `p` of pooled latencies, or null when there are none (rather than NaN). */
function percentileOrNull(sortedMs: Float64Array, p: number): number | null {
  return sortedMs.length === 0 ? null : nearestRank(sortedMs, p);
}

/**
 * An overload row from one or more windows of the same load (interleaved rounds): answers per
 * second by class over their summed wall time, latency percentiles over their pooled samples,
 * and Floorplan's counters summed over each window's before/after.
 */
const HTTP_DURATION = 'floorplan_http_request_duration_seconds';

/** Two rounds' histograms pooled (the same bounds: one Floorplan's). */
function addHistograms(a: HistogramDelta | undefined, b: HistogramDelta | undefined): HistogramDelta | undefined {
  if (a === undefined || b === undefined) return a ?? b;
  return { bounds: a.bounds, cumulative: a.cumulative.map((count, i) => count + (b.cumulative[i] ?? 0)) };
}

/** One class's time by Floorplan's histogram beside the generator's sorted latencies (ms); null when Floorplan answered none. */
function serverTimeOf(histogram: HistogramDelta | undefined, clientMs: Float64Array): ServerTime | null {
  const p99UpToMs = histogram === undefined ? null : quantileBoundMs(histogram, 0.99);
  if (histogram === undefined || p99UpToMs === null) return null;
  const clientAbove = (ms: number) => {
    if (clientMs.length === 0) return 0;
    let above = 0;
    for (let i = clientMs.length - 1; i >= 0 && (clientMs[i] as number) > ms; i--) above++;
    return round(above / clientMs.length, 4);
  };
  return {
    p99UpToMs,
    over100MsShare: shareAbove(histogram, 0.1) ?? 0,
    over250MsShare: shareAbove(histogram, 0.25) ?? 0,
    clientOver100MsShare: clientAbove(100),
    clientOver250MsShare: clientAbove(250),
  };
}

function overloadRow(results: readonly LoadResult[], shape: Pick<OverloadRow, 'name' | 'loop' | 'multiple' | 'connections' | 'offeredRps'>): OverloadRow {
  const last = results.at(-1);
  if (last === undefined) throw new Error(`overload row ${shape.name} has no runs`);
  let seconds = 0;
  let serverCpuUs = 0;
  let generatorCpuUs = 0;
  const counts = { full: 0, degraded: 0, shed: 0, other: 0, errors: 0, shedWithoutRetryAfter: 0 };
  const counters = { breakerOpenings: 0, deadlineCutCalls: 0, degradedPanels: 0, serverShed: 0 };
  const fullMs: number[] = [];
  const shedMs: number[] = [];
  let queuedInGenerator: number | null = null;
  const shedByReason: Record<string, number> = {};
  let loopDelayP99Ms: number | null = null;
  const scavenges = { count: 0, totalMs: 0 };
  const served: { full: HistogramDelta | undefined; shed: HistogramDelta | undefined } = { full: undefined, shed: undefined };
  for (const result of results) {
    const classes = sortedAnswers(result);
    if (classes.latenciesMs === undefined) throw new Error(`run "${result.name}" kept no latencies`);
    // The control (a baseline) has no /metrics: Floorplan's counters read 0, its gauges n/a.
    const { before, after } = result.metrics ?? { before: '', after: '' };
    const delta = (metric: string, where: Readonly<Record<string, string>> = {}) => sampleSum(after, metric, where) - sampleSum(before, metric, where);
    seconds += result.elapsedSeconds;
    serverCpuUs += result.cpuUs['server'] ?? Number.NaN;
    generatorCpuUs += result.workerCpuUs + (result.cpuUs['upstreams'] ?? 0);
    counts.full += classes.full.samples;
    counts.degraded += classes.degraded.samples;
    counts.shed += classes.shed.samples;
    counts.other += classes.other;
    counts.errors += classes.errors;
    counts.shedWithoutRetryAfter += classes.shedWithoutRetryAfter;
    // A loop, not push(...): a window can hold more samples than a call may take arguments.
    for (const ms of classes.latenciesMs.full) fullMs.push(ms);
    for (const ms of classes.latenciesMs.shed) shedMs.push(ms);
    counters.breakerOpenings += delta('floorplan_upstream_breaker_opened_total');
    counters.deadlineCutCalls += delta('floorplan_upstream_requests_total', { outcome: 'deadline' });
    counters.degradedPanels += delta('floorplan_panels_total', { degraded: 'true' });
    counters.serverShed += delta('floorplan_shed_total');
    const reasonsBefore = counterBy(before, 'floorplan_shed_total', 'reason');
    for (const [reason, count] of counterBy(after, 'floorplan_shed_total', 'reason')) {
      const shed = count - (reasonsBefore.get(reason) ?? 0);
      if (shed > 0) shedByReason[reason] = (shedByReason[reason] ?? 0) + shed;
    }
    if (result.queuedInGenerator !== undefined) queuedInGenerator = (queuedInGenerator ?? 0) + result.queuedInGenerator;
    if (exportsMetric(after, 'floorplan_nodejs_eventloop_lag_p99_seconds')) {
      loopDelayP99Ms = Math.max(loopDelayP99Ms ?? 0, sampleSum(after, 'floorplan_nodejs_eventloop_lag_p99_seconds') * 1000);
    }
    served.full = addHistograms(served.full, histogramBetween(before, after, HTTP_DURATION, { route: '/graphql', status: '200' }));
    served.shed = addHistograms(served.shed, histogramBetween(before, after, HTTP_DURATION, { route: '/graphql', status: '503' }));
    scavenges.count += delta('floorplan_nodejs_gc_duration_seconds_count', { kind: 'minor' });
    scavenges.totalMs += delta('floorplan_nodejs_gc_duration_seconds_sum', { kind: 'minor' }) * 1000;
  }
  const perSecond = (count: number) => round(count / seconds, 1);
  const full = Float64Array.from(fullMs).sort();
  const shed = Float64Array.from(shedMs).sort();
  const after = last.metrics?.after ?? '';
  // Only an open loop's single window has on-connection timings; pooled rounds are closed loops.
  const onConnection = results.length === 1 ? sortedAnswers(last).onConnection : undefined;
  const p99OrNull = (summary: { samples: number; p99Ms: number } | undefined) => (summary === undefined || summary.samples === 0 ? null : summary.p99Ms);
  return {
    ...shape,
    seconds: round(seconds, 3),
    goodputPerSecond: perSecond(counts.full),
    degradedPerSecond: perSecond(counts.degraded),
    shedPerSecond: perSecond(counts.shed),
    otherPerSecond: perSecond(counts.other + counts.errors),
    fullP50Ms: percentileOrNull(full, 0.5),
    fullP99Ms: percentileOrNull(full, 0.99),
    shedP50Ms: percentileOrNull(shed, 0.5),
    shedP99Ms: percentileOrNull(shed, 0.99),
    fullP99OnConnectionMs: p99OrNull(onConnection?.full),
    shedP99OnConnectionMs: p99OrNull(onConnection?.shed),
    ...counts,
    queuedInGenerator,
    breakerOpenings: counters.breakerOpenings,
    deadlineCutCalls: counters.deadlineCutCalls,
    degradedPanels: counters.degradedPanels,
    serverShed: exportsMetric(after, 'floorplan_shed_total') ? counters.serverShed : null,
    serverShedByReason: shedByReason,
    admissionLimit: exportsMetric(after, 'floorplan_admission_limit') ? sampleSum(after, 'floorplan_admission_limit') : null,
    loopDelayP99Ms: loopDelayP99Ms === null ? null : round(loopDelayP99Ms, 2),
    scavenges: exportsMetric(after, 'floorplan_nodejs_gc_duration_seconds') ? { count: scavenges.count, meanMs: round(scavenges.count === 0 ? 0 : scavenges.totalMs / scavenges.count, 2) } : null,
    serverTime: exportsMetric(after, HTTP_DURATION) ? { full: serverTimeOf(served.full, full), shed: serverTimeOf(served.shed, shed) } : null,
    serverCoreBusy: round(serverCpuUs / (seconds * 1e6)),
    generatorCoreBusy: round(generatorCpuUs / (seconds * 1e6)),
  };
}

function describeOverloadRow(row: OverloadRow): string {
  const load = row.loop === 'closed' ? `closed ${row.multiple}×, ${row.connections} conn` : `open ${row.multiple}×, ${row.offeredRps ?? 0}/s`;
  const ms = (value: number | null) => (value === null ? 'n/a' : `${value.toFixed(2)} ms`);
  const perSecond = (value: number) => `${value.toFixed(0)}/s`;
  return (
    `  ${load.padEnd(24)} goodput ${perSecond(row.goodputPerSecond).padStart(7)}  degraded ${perSecond(row.degradedPerSecond)}  shed ${perSecond(row.shedPerSecond)}  ` +
    `other ${perSecond(row.otherPerSecond)}  full p99 ${ms(row.fullP99Ms)}  shed p99 ${ms(row.shedP99Ms)}  breaker openings ${row.breakerOpenings}  ` +
    `deadline cut-offs ${row.deadlineCutCalls}  core ${(row.serverCoreBusy * 100).toFixed(0)} %` +
    (row.loopDelayP99Ms === null ? '' : `  loop delay p99 ${row.loopDelayP99Ms.toFixed(1)} ms`) +
    (row.scavenges === null ? '' : `  scavenges ${row.scavenges.count} (mean ${row.scavenges.meanMs.toFixed(1)} ms)`) +
    (row.serverTime?.full
      ? `  by Floorplan's clock full p99 ≤ ${row.serverTime.full.p99UpToMs} ms, ${(row.serverTime.full.over250MsShare * 100).toFixed(2)} % over 250 ms (generator ${(row.serverTime.full.clientOver250MsShare * 100).toFixed(2)} %)` +
        (row.serverTime.shed ? `, shed p99 ≤ ${row.serverTime.shed.p99UpToMs} ms (generator over 100 ms ${(row.serverTime.shed.clientOver100MsShare * 100).toFixed(2)} %, Floorplan ${(row.serverTime.shed.over100MsShare * 100).toFixed(2)} %)` : '')
      : '') +
    (row.queuedInGenerator
      ? `  (${row.queuedInGenerator} arrivals waited for a connection; from getting one, p99 full ${ms(row.fullP99OnConnectionMs)}, shed ${ms(row.shedP99OnConnectionMs)})`
      : '')
  );
}

/** What the overload phase needs from the comparison run. */
interface OverloadContext {
  readonly plan: Plan;
  readonly worker: LoadWorker;
  /** Processes whose exit fails the run. */
  readonly servers: readonly Child[];
  /** Floorplan against the fast demo upstreams, and the pids its CPU readings use. */
  readonly floorplan: RunningFloorplan;
  readonly pids: Readonly<Record<string, number>>;
  /** Builds a job with the comparison's variants (one user per connection) and drain. */
  readonly job: (name: string, url: string, pids: Record<string, number>, extra: Partial<LoadJob>) => LoadJob;
  readonly requestDeadlineMs: number;
  readonly warnings: string[];
  /** Starts the open loop's control: reference (d) on the same upstreams, refusing `shedShare` of its requests at once (BENCH_SHED_SHARE). */
  readonly startControl: (shedShare: number) => Promise<{ readonly child: Child; readonly url: string }>;
}

/** Floorplan's core counts as saturated from this busy share up. */
const SATURATED_CORE_BUSY = 0.9;
/** A ramp step adding less than this share of panels/s over the best step so far is flat; two flat in a row are a plateau. */
const PLATEAU_GAIN = 0.05;

/**
 * Floorplan past saturation. Against the FAST demo upstreams: with them Floorplan's own core is
 * what runs out (the comparison's run keeps it near 100 % busy), so "saturated" has one plain
 * meaning and 2× or 4× the load is work the core cannot do — what admission control must
 * refuse cheaply. With the +20 ms upstreams Floorplan tops out short of a full core (see the
 * latency phase's core use), so a CPU criterion would not find its knee; and both upstream sets
 * are far inside the bench's request deadline unless Floorplan itself queues, which is what
 * these rows measure either way.
 *
 * 1× is the smallest connection count found to saturate it: a closed-loop ramp doubling from
 * `overloadRampStartConnections` stops at the first step where Floorplan's core is ≥ 90 % busy
 * (then tries the midpoint with the step below, so 1× is within 1.5× of the knee rather than
 * 2×), or once two doublings in a row added < 5 % panels/s over the best step — a plateau: on
 * a shared machine the server's core may never read 90 % busy — where 1× is the smallest step
 * within 5 % of the best. The saturation rate is the panels/s measured at 1×; the open loop
 * offers twice it.
 */
async function runOverload(ctx: OverloadContext): Promise<OverloadPhase> {
  const { plan, worker, servers, floorplan, pids, job, warnings } = ctx;
  log(`overload: Floorplan, fast upstreams; saturation ramp from ${plan.overloadRampStartConnections} connections, ${plan.overloadRampSeconds} s per step`);
  const ramp: OverloadRampStep[] = [];
  const rampStep = async (connections: number): Promise<OverloadRampStep> => {
    const result = await worker.run(
      job(`overload-ramp-${connections}`, floorplan.url, { ...pids }, {
        connections,
        classify: true,
        durationSeconds: plan.overloadRampSeconds,
        // Floorplan sat idle through the latency phase: the first step warms it again.
        warmupRequests: ramp.length === 0 ? plan.cpuRoundWarmupRequests : 0,
      }),
      servers,
    );
    const classes = sortedAnswers(result);
    const server = serverRow(result);
    const step: OverloadRampStep = {
      connections,
      panelsPerSecond: round((classes.full.samples + classes.degraded.samples) / result.elapsedSeconds, 1),
      shedPerSecond: round(classes.shed.samples / result.elapsedSeconds, 1),
      serverCoreBusy: server.serverCoreBusy,
      generatorCoreBusy: server.generatorCoreBusy,
    };
    ramp.push(step);
    log(
      `  ${String(connections).padStart(4)} connections: ${step.panelsPerSecond.toFixed(0)} panels/s, Floorplan's core ${(step.serverCoreBusy * 100).toFixed(0)} % busy` +
        (step.shedPerSecond > 0 ? `, ${step.shedPerSecond.toFixed(0)} shed/s` : ''),
    );
    return step;
  };

  let saturating: number;
  let by: OverloadPhase['saturation']['by'];
  let best: OverloadRampStep | undefined;
  let flatSteps = 0;
  for (let connections = plan.overloadRampStartConnections; ; connections = Math.min(connections * 2, plan.overloadRampMaxConnections)) {
    const step = await rampStep(connections);
    if (step.serverCoreBusy >= SATURATED_CORE_BUSY) {
      by = 'core';
      saturating = connections;
      const below = ramp.at(-2);
      if (below !== undefined && connections - below.connections >= 2) {
        const midpoint = Math.round((below.connections + connections) / 2);
        if ((await rampStep(midpoint)).serverCoreBusy >= SATURATED_CORE_BUSY) saturating = midpoint;
      }
      break;
    }
    // One flat step on a shared machine is noise; two in a row are a plateau.
    flatSteps = best !== undefined && step.panelsPerSecond < best.panelsPerSecond * (1 + PLATEAU_GAIN) ? flatSteps + 1 : 0;
    if (best === undefined || step.panelsPerSecond > best.panelsPerSecond) best = step;
    if (flatSteps >= 2) {
      by = 'plateau';
      const top = best.panelsPerSecond;
      saturating = Math.min(...ramp.filter((s) => s.panelsPerSecond >= top * (1 - PLATEAU_GAIN)).map((s) => s.connections));
      break;
    }
    if (connections >= plan.overloadRampMaxConnections) {
      by = 'ceiling';
      saturating = connections;
      warnings.push(`overload: ${connections} connections (the ramp's ceiling) did not saturate Floorplan; its rows are not past saturation.`);
      break;
    }
  }
  log(`  1× = ${saturating} connections (${by === 'core' ? `core ≥ ${SATURATED_CORE_BUSY * 100} % busy` : by === 'plateau' ? 'throughput plateau' : 'ramp ceiling'})`);

  const rowJob = (name: string, connections: number, seconds: number, extra: Partial<LoadJob> = {}) =>
    job(`overload-${name}`, floorplan.url, { ...pids }, {
      connections,
      classify: true,
      keepLatencies: true,
      warmupRequests: 0,
      durationSeconds: seconds,
      metricsUrl: floorplan.metricsUrl,
      ...extra,
    });
  const closed = [1, 2, 4].map((multiple) => ({ name: `closed-${multiple}x`, loop: 'closed' as const, multiple, connections: saturating * multiple, offeredRps: null }));
  log(`  closed loop at 1×, 2×, 4×: ${plan.overloadRounds} interleaved rounds, ${plan.overloadSeconds} s each`);
  const runs = new Map<string, LoadResult[]>(closed.map((shape) => [shape.name, []]));
  const goodputRounds: Array<Record<string, number>> = [];
  for (let r = 0; r < plan.overloadRounds; r++) {
    const perRow: Record<string, number> = {};
    for (const shape of closed) {
      const result = await worker.run(rowJob(`${shape.name}-round-${r + 1}`, shape.connections, plan.overloadSeconds), servers);
      runs.get(shape.name)?.push(result);
      perRow[shape.name] = round(sortedAnswers(result).full.samples / result.elapsedSeconds, 1);
    }
    goodputRounds.push(perRow);
    log(`  round ${r + 1}: ${closed.map(({ name }) => `${name} ${(perRow[name] ?? Number.NaN).toFixed(0)}`).join(', ')} full panels/s`);
  }
  const rows: OverloadRow[] = closed.map((shape) => overloadRow(runs.get(shape.name) ?? [], shape));
  const one = rows[0] as OverloadRow;
  const panelsPerSecond = round((one.full + one.degraded) / one.seconds, 1);
  const offeredRps = Math.max(1, Math.round(2 * panelsPerSecond));
  const openConnections = Math.max(plan.overloadOpenConnections, 4 * saturating);
  log(`  open loop: ${offeredRps} req/s (2× the ${panelsPerSecond.toFixed(0)} panels/s of 1×) for ${plan.overloadOpenSeconds} s over ${openConnections} connections`);
  const openResult = await worker.run(rowJob('open-2x', openConnections, plan.overloadOpenSeconds, { overallRate: offeredRps }), servers);
  const openRow = overloadRow([openResult], { name: 'open-2x', loop: 'open', multiple: 2, connections: openConnections, offeredRps });
  rows.push(openRow);
  for (const row of rows) log(describeOverloadRow(row));

  // The control: the same arrivals to a server that refuses Floorplan's share at once and never saturates.
  const answered = openRow.full + openRow.degraded + openRow.shed;
  const shedShare = answered === 0 ? 0 : round(openRow.shed / answered, 4);
  const control = await ctx.startControl(shedShare);
  let openControl: OverloadPhase['openControl'];
  try {
    const controlResult = await worker.run(
      job('overload-open-2x-control', control.url, { server: control.child.pid, ...(pids['upstreams'] === undefined ? {} : { upstreams: pids['upstreams'] }) }, {
        connections: openConnections,
        classify: true,
        keepLatencies: true,
        warmupRequests: plan.cpuRoundWarmupRequests,
        durationSeconds: plan.overloadOpenSeconds,
        overallRate: offeredRps,
      }),
      [...servers, control.child],
    );
    openControl = { ...overloadRow([controlResult], { name: 'open-2x-control', loop: 'open', multiple: 2, connections: openConnections, offeredRps }), shedShare };
    log(`${describeOverloadRow(openControl)}  ← control: (d) refusing ${(shedShare * 100).toFixed(0)} % at once`);
  } finally {
    await stopChildren([control.child]);
  }
  const lastMetrics = openResult.metrics?.after ?? '';

  for (const row of rows) {
    if (row.generatorCoreBusy >= 0.9) {
      warnings.push(`overload ${row.name}: the generator core was ${(row.generatorCoreBusy * 100).toFixed(0)} % busy, so its answers per second may be the generator's limit.`);
    }
    if (row.other + row.errors > 0) warnings.push(`overload ${row.name}: ${row.other} answers neither a panel nor a shed, and ${row.errors} requests with no answer.`);
    if (row.shedWithoutRetryAfter > 0) warnings.push(`overload ${row.name}: ${row.shedWithoutRetryAfter} shed answers came without Retry-After.`);
    if (row.serverShed !== null && row.serverShed !== row.shed) {
      warnings.push(`overload ${row.name}: Floorplan counted ${row.serverShed} requests shed (floorplan_shed_total), the load saw ${row.shed} OVERLOADED answers.`);
    }
  }
  return {
    upstreams: 'fast',
    requestDeadlineMs: ctx.requestDeadlineMs,
    saturation: { connections: saturating, by, panelsPerSecond, ramp },
    goodputRounds,
    exported: {
      shedTotal: exportsMetric(lastMetrics, 'floorplan_shed_total'),
      admissionLimit: exportsMetric(lastMetrics, 'floorplan_admission_limit'),
      breakerOpenedTotal: exportsMetric(lastMetrics, 'floorplan_upstream_breaker_opened_total'),
    },
    rows,
    openControl,
  };
}

/** Issue 12's setting: the request deadline the frozen-upstream rows run under, and the concurrent users per round. */
const FROZEN_DEADLINE_MS = 250;
const FROZEN_USERS = 50;
/** Beyond the longest upstream timeout, before the counters are read after the last round. */
const FROZEN_SETTLE_MS = 200;
/** The frozen rows ask for failedUpstreams too: the answer must name the frozen upstream. */
const FROZEN_PANEL_BODY = graphqlBody('{ floorPanel(scene: "cart-bottom-sheet") { degraded failedUpstreams floors { code } } }');

/** One answer of a frozen-upstream round. */
interface FrozenAnswer {
  readonly ms: number;
  /** HTTP status; 0: no answer at all. */
  readonly status: number;
  readonly degraded?: boolean;
  readonly failedUpstreams?: readonly string[];
}

/**
 * The frozen-upstream rows (issue 12): for promotion, then settlement, a fresh Floorplan
 * process with the default config and REQUEST_DEADLINE_MS=250 (so the default upstream timeouts,
 * 300–400 ms, are longer than the deadline and it must cut first) against two demo-upstream
 * processes, one serving only the upstream to freeze. Warm with it healthy, SIGSTOP it, then
 * rounds of 50 concurrent users sent by this process (one burst at a time, so the runner's
 * own work is 50 requests); SIGCONT and stop all three in every case.
 */
async function runFrozenUpstream(plan: Plan, floorsDir: string, warnings: string[]): Promise<FrozenUpstreamPhase> {
  log(`frozen upstream: ${FROZEN_USERS} concurrent users, deadline ${FROZEN_DEADLINE_MS} ms, ${plan.frozenWarmupRounds} warm-up rounds, ${plan.frozenRounds} rounds frozen`);
  const rows: FrozenUpstreamRow[] = [];
  let timeouts: Record<Upstream, number> | undefined;
  for (const frozen of ['promotion', 'settlement'] as const) {
    const { row, upstreamTimeoutsMs } = await frozenUpstreamRow(frozen, plan, floorsDir, warnings);
    rows.push(row);
    timeouts = upstreamTimeoutsMs;
  }
  return {
    requestDeadlineMs: FROZEN_DEADLINE_MS,
    slackMs: FROZEN_UPSTREAM_SLACK_MS,
    upstreamTimeoutsMs: timeouts as Record<Upstream, number>,
    users: FROZEN_USERS,
    warmupRounds: plan.frozenWarmupRounds,
    rounds: plan.frozenRounds,
    rows,
  };
}

async function frozenUpstreamRow(
  frozen: Upstream,
  plan: Plan,
  floorsDir: string,
  warnings: string[],
): Promise<{ row: FrozenUpstreamRow; upstreamTimeoutsMs: Record<Upstream, number> }> {
  const [frozenPort, livePort, fpPort] = (await freePorts(3)) as [number, number, number];
  const frozenDemo = startUpstreams(`demo-upstreams-frozen-${frozen}`, frozenPort, '');
  const liveDemo = startUpstreams('demo-upstreams-live', livePort, '');
  const origin = (upstream: Upstream) => (upstream === frozen ? frozenDemo.origin : liveDemo.origin);
  // The default config, as the fault test runs it: no bench overlay (its 2 s deadline and 1 s timeouts are not the case).
  const env = cleanEnv({
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(fpPort),
    DEMO_UPSTREAMS: 'off',
    UPSTREAM_CART_URL: `${origin('cart')}/cart`,
    UPSTREAM_PROMOTION_URL: `${origin('promotion')}/promotion`,
    UPSTREAM_SETTLEMENT_URL: `${origin('settlement')}/settlement`,
    FLOORS_DIR: floorsDir,
    LOG_LEVEL: 'warn',
    REQUEST_DEADLINE_MS: String(FROZEN_DEADLINE_MS),
  });
  const config = floorplanConfig(env);
  const floorplan = startFloorplan(`floorplan-frozen-${frozen}`, fpPort, env);
  const children = [frozenDemo.child, liveDemo.child, floorplan.child];
  try {
    const book = new TokenBook(config.auth);
    // PLUS members ("plus-" ids), like the seed user: their panels need promotion's facts too.
    const usersOf = (phase: string, round: number) => Array.from({ length: FROZEN_USERS }, (_, i) => `plus-frozen-${frozen}-${phase}${round}-${i}`);
    const warmUp = Array.from({ length: plan.frozenWarmupRounds }, (_, r) => usersOf('warm', r));
    const measured = Array.from({ length: plan.frozenRounds }, (_, r) => usersOf('round', r));
    await book.sign([...warmUp, ...measured].flat());
    await Promise.all([frozenDemo.ready, liveDemo.ready]);
    await waitForPanel(floorplan.child, floorplan.url, book.headers(warmUp[0]?.[0] ?? usersOf('warm', 0)[0] as string), FROZEN_PANEL_BODY);
    pin(floorplan.child, 0);

    const ask = async (userId: string): Promise<FrozenAnswer> => {
      const started = performance.now();
      try {
        const response = await fetch(floorplan.url, { method: 'POST', headers: book.headers(userId), body: FROZEN_PANEL_BODY });
        const text = await response.text();
        const ms = performance.now() - started;
        if (response.status !== 200) return { ms, status: response.status };
        const panel = (JSON.parse(text) as { data?: { floorPanel?: { degraded?: boolean; failedUpstreams?: string[] } } }).data?.floorPanel;
        return { ms, status: 200, degraded: panel?.degraded, failedUpstreams: panel?.failedUpstreams };
      } catch {
        return { ms: performance.now() - started, status: 0 };
      }
    };
    const burst = (users: readonly string[]) => unlessExited(Promise.all(users.map(ask)), [floorplan.child, liveDemo.child]);
    for (const users of warmUp) await burst(users);

    const metrics = async () => (await fetch(floorplan.metricsUrl)).text();
    const before = await metrics();
    const rounds: FrozenAnswer[][] = [];
    let after: string;
    frozenDemo.child.process.kill('SIGSTOP');
    try {
      for (const users of measured) rounds.push(await burst(users));
      // A call the deadline did not end (a shared promotion load outlives the requests waiting
      // on it) is counted when its own timeout ends it: wait those out before reading the counters.
      await sleep(Math.max(...UPSTREAM_NAMES.map((u) => config.upstreams[u].timeoutMs)) + FROZEN_SETTLE_MS);
      after = await metrics();
    } finally {
      frozenDemo.child.process.kill('SIGCONT');
    }

    const answers = rounds.flat();
    const sorted = Float64Array.from(answers.map((a) => a.ms)).sort();
    const named = (a: FrozenAnswer) => a.degraded === true && a.failedUpstreams?.length === 1 && a.failedUpstreams[0] === frozen.toUpperCase();
    const delta = (metric: string, where: Readonly<Record<string, string>> = {}) => sampleSum(after, metric, where) - sampleSum(before, metric, where);
    const row: FrozenUpstreamRow = {
      frozen,
      requests: answers.length,
      p50Ms: round(nearestRank(sorted, 0.5), 1),
      p99Ms: round(nearestRank(sorted, 0.99), 1),
      maxMs: round(sorted[sorted.length - 1] ?? Number.NaN, 1),
      roundMaxMs: rounds.map((r) => round(Math.max(...r.map((a) => a.ms)), 1)),
      degraded: answers.filter(named).length,
      otherPanels: answers.filter((a) => a.status === 200 && !named(a)).length,
      non200: answers.filter((a) => a.status !== 200 && a.status !== 0).length,
      errors: answers.filter((a) => a.status === 0).length,
      breakerOpenings: delta('floorplan_upstream_breaker_opened_total'),
      healthyBreakerOpenings: UPSTREAM_NAMES.filter((u) => u !== frozen).reduce((sum, u) => sum + delta('floorplan_upstream_breaker_opened_total', { upstream: u }), 0),
      deadlineCutCalls: delta('floorplan_upstream_requests_total', { upstream: frozen, outcome: 'deadline' }),
      timeoutCalls: delta('floorplan_upstream_requests_total', { upstream: frozen, outcome: 'timeout' }),
    };
    const bound = FROZEN_DEADLINE_MS + FROZEN_UPSTREAM_SLACK_MS;
    log(
      `  ${frozen} frozen: p50 ${row.p50Ms.toFixed(1)} / p99 ${row.p99Ms.toFixed(1)} / max ${row.maxMs.toFixed(1)} ms (p99 ≤ ${bound} ms: ${row.p99Ms <= bound ? 'pass' : 'MISS'}); ` +
        `slowest per round ${row.roundMaxMs.map((ms) => ms.toFixed(0)).join(', ')} ms; ${row.degraded}/${row.requests} degraded naming ${frozen}; ` +
        `breaker openings ${row.breakerOpenings} (of the healthy upstreams ${row.healthyBreakerOpenings}), deadline cut-offs ${row.deadlineCutCalls}, timeouts ${row.timeoutCalls}`,
    );
    if (row.otherPanels + row.non200 + row.errors > 0) {
      const other = answers.find((a) => a.status === 200 && !named(a));
      const example = other === undefined ? '' : ` (e.g. degraded ${String(other.degraded)}, failedUpstreams ${JSON.stringify(other.failedUpstreams)})`;
      warnings.push(`frozen ${frozen}: ${row.non200} non-200 answers, ${row.errors} requests unanswered, ${row.otherPanels} panels not degraded with ${frozen} named${example}.`);
    }
    const upstreamTimeoutsMs = Object.fromEntries(UPSTREAM_NAMES.map((u) => [u, config.upstreams[u].timeoutMs])) as Record<Upstream, number>;
    return { row, upstreamTimeoutsMs };
  } finally {
    await stopChildren(children);
  }
}

function describeRateRun(label: string, run: RateRun): string {
  const path = run.criticalPath;
  return (
    `  ${label} p50 ${run.p50Ms.toFixed(2)} / p99 ${run.p99Ms.toFixed(2)} ms, ` +
    `critical path p50 ${path.p50Ms.toFixed(2)} / p99 ${path.p99Ms.toFixed(2)} ms → overhead p99 ${run.overheadP99Ms.toFixed(2)} ms` +
    (run.rounds === undefined || run.rounds.length < 2 ? '' : ` (rounds pooled; each round's: ${run.rounds.map((r) => r.overheadP99Ms.toFixed(2)).join(', ')} ms)`) +
    (run.rounds === undefined || run.rounds.length === 0 || run.rounds.some((r) => r.stealMs?.[0] === undefined)
      ? ''
      : `; stolen from core 0 by the hypervisor per window: ${run.rounds.map((r) => `${r.stealMs?.[0] ?? 0}`).join(', ')} ms`)
  );
}

function packageVersions(): Record<string, string> {
  const names = ['@apollo/server', 'graphql', 'dataloader', 'undici', 'mercurius', 'fastify', 'graphql-jit', 'autocannon', 'tsx'];
  return Object.fromEntries(
    names.map((name) => {
      try {
        return [name, (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version];
      } catch {
        return [name, 'not installed'];
      }
    }),
  );
}

const startedAt = performance.now();

/** A progress line, stamped with seconds since the run started. */
function log(line: string): void {
  const at = ((performance.now() - startedAt) / 1000).toFixed(1).padStart(6);
  process.stdout.write(line === '' ? '\n' : `[${at}s] ${line}\n`);
}

function describeRow(name: string, row: ServerRow): string {
  return (
    `  ${name.padEnd(18)} ${row.rps.toFixed(0).padStart(7)} req/s  p50 ${row.p50Ms.toFixed(2)} ms  p99 ${row.p99Ms.toFixed(2)} ms  ` +
    `${row.cpuUsPerReq.toFixed(1)} µs CPU/req  RSS ${row.rssMb.toFixed(1)} MB` +
    (row.errors + row.non2xx > 0 ? `  (${row.errors} errors, ${row.non2xx} non-2xx)` : '')
  );
}

/** Starts the load worker; it is pinned to core 1 once loaded. */
function startWorker(): { worker: LoadWorker; ready: Promise<void> } {
  const worker = new LoadWorker(startNode('load', 'bench/load.ts', { env: cleanEnv({}) }));
  return { worker, ready: worker.ready.then(() => pin(worker.child, 1)) };
}

function startUpstreams(name: string, port: number, faults: string): { child: Child; origin: string; ready: Promise<void> } {
  const child = startNode(name, 'src/demo-upstreams/main.ts', { env: cleanEnv({ DEMO_PORT: String(port), DEMO_FAULTS: faults }) });
  const origin = `http://127.0.0.1:${port}`;
  const ready = waitFor(child, 'answering /healthz', async () => ((await fetch(`${origin}/healthz`)).ok ? true : undefined)).then(() => pin(child, 1));
  return { child, origin, ready };
}

/** A Floorplan process and where to reach it. */
interface RunningFloorplan {
  readonly child: Child;
  readonly url: string;
  readonly metricsUrl: string;
}

function startFloorplan(name: string, port: number, env: NodeJS.ProcessEnv): RunningFloorplan {
  const origin = `http://127.0.0.1:${port}`;
  return { child: startNode(name, FLOORPLAN_MAIN, { env, nodeFlags: productionNodeFlags() }), url: `${origin}/graphql`, metricsUrl: `${origin}/metrics` };
}

/**
 * A baseline server (bench/baselines/<script>.ts) on `port`. Those calling the demo upstreams
 * use `upstreams`; the peers verify tokens with Floorplan's auth settings from `config`.
 */
function startBaseline(
  script: string,
  port: number,
  upstreams: string,
  config: ServiceConfig,
  options: {
    /** The child's name in logs; the script's unless told. */
    readonly label?: string;
    readonly extraEnv?: Readonly<Record<string, string>>;
    /** Node flags; none unless told (`--peer-node-flags`). */
    readonly nodeFlags?: readonly string[];
  } = {},
): { child: Child; url: string } {
  const { label = script, extraEnv = {}, nodeFlags = [] } = options;
  const { auth } = config;
  if (auth.mode !== 'hs256' || auth.hs256Secret === undefined) throw new Error('the peers verify HS256 tokens: the bench config must use auth.mode hs256');
  const env = cleanEnv({
    NODE_ENV: 'production',
    BENCH_PORT: String(port),
    BENCH_UPSTREAMS: upstreams,
    BENCH_JWT_SECRET: auth.hs256Secret,
    BENCH_JWT_ISSUER: auth.issuer,
    BENCH_JWT_AUDIENCE: auth.audience,
    BENCH_JWT_CLOCK_TOLERANCE_SECONDS: String(auth.clockToleranceSeconds),
    ...extraEnv,
  });
  return { child: startNode(label, `bench/baselines/${script}.ts`, { env, nodeFlags }), url: `http://127.0.0.1:${port}/graphql` };
}

/** The open loop's control (OverloadPhase.openControl): reference (d) on `upstreams`, refusing `shedShare` of its requests at once, on Floorplan's core. */
async function startShedControl(upstreams: string, config: ServiceConfig, headers: Record<string, string>, shedShare: number): Promise<{ child: Child; url: string }> {
  const [port] = (await freePorts(1)) as [number];
  const control = startBaseline('upstream-floor', port, upstreams, config, { label: 'upstream-floor-control', extraEnv: { BENCH_SHED_SHARE: String(shedShare) } });
  // A refusal is an error to waitForPanel, which asks again: the share is below 1, so a panel comes.
  await waitForPanel(control.child, control.url, headers);
  pin(control.child, 0);
  return control;
}

/** `users`, once the book has a token for each. */
/** The peers' byte-identity check against Floorplan's floors, for the plan's share of the load users; fails if any of `children` exits. */
async function checkPeers(
  plan: Plan,
  floorplanUrl: string,
  servers: Readonly<Record<PeerName, { readonly child: Child; readonly url: string }>>,
  users: readonly string[],
  book: TokenBook,
  children: readonly Child[],
): Promise<PeersPhase> {
  return unlessExited(
    checkPeerFloors({
      floorplanUrl,
      peers: PEERS.map(({ key }) => ({ name: servers[key].child.name, url: servers[key].url })),
      users: await signed(book, peerCheckUsers(users).slice(0, plan.peerCheckUsers)),
      headers: (u) => book.headers(u),
      body: graphqlBody(PANEL_QUERY),
    }),
    children,
  );
}

async function signed(book: TokenBook, users: readonly string[]): Promise<string[]> {
  await book.sign(users);
  return [...users];
}

interface PanelAnswer {
  data?: { floorPanel?: { degraded?: boolean; floors?: unknown[] } };
  errors?: unknown;
}

async function postPanel(url: string, headers: Record<string, string>, body: string): Promise<PanelAnswer> {
  const response = await fetch(url, { method: 'POST', headers, body });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as PanelAnswer;
}

/** Waits until `url` answers `body` with a complete (not degraded) panel, and returns it. */
function waitForPanel(child: Child, url: string, headers: Record<string, string>, body: string = graphqlBody(PANEL_QUERY)): Promise<PanelAnswer> {
  return waitFor(child, 'serving the panel', async () => {
    const answer = await postPanel(url, headers, body);
    if (answer.errors !== undefined) throw new Error(`GraphQL errors: ${JSON.stringify(answer.errors).slice(0, 300)}`);
    return answer.data?.floorPanel?.degraded === false ? answer : undefined;
  });
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Floorplan's config as the bench starts it: read once, beside its start, so later edits to config/ cannot split a run. */
function floorplanConfig(env: NodeJS.ProcessEnv): ServiceConfig {
  return loadServiceConfig({ env, dir: join(ROOT, 'config') });
}

/**
 * The overload rows' Floorplan: the bench's, with the shipped request deadline
 * (config/default.yaml's `limits.requestDeadlineMs`, 250 ms) instead of the bench overlay's 2 s.
 * Admission control judges "in time" against the deadline — it cuts its limit once a saturated
 * loop holds requests past a quarter of it — so under the overlay's deadline, there so a loaded
 * machine shows slow throughput rows rather than degraded panels, it let 8× as many requests in
 * at once as a deployed Floorplan does (an open loop at 2× ran with 350–800 admitted, scavenges of
 * ~40 ms, full panels 0.9 s late at p99). The overload rows measure what users get.
 */
function overloadFloorplanEnv(port: number, upstreams: string, floorsDir: string): NodeJS.ProcessEnv {
  const shipped = loadServiceConfig({ env: {}, dir: join(ROOT, 'config') }).limits.requestDeadlineMs;
  return floorplanEnv(port, upstreams, floorsDir, { REQUEST_DEADLINE_MS: String(shipped) });
}

function tokenBook(env: NodeJS.ProcessEnv): TokenBook {
  return new TokenBook(floorplanConfig(env).auth);
}

/** Users for the load, one per connection (see bench/users.ts); warns when there are too few. */
async function loadUsers(count: number, floorplan: RunningFloorplan, book: TokenBook, warnings: string[]): Promise<string[]> {
  const users = await unlessExited(seedLikeUsers(count, floorplan.url, book), [floorplan.child]);
  if (users.length === 0) throw new Error('found no demo user whose panel has the seed floors; bench/users.ts needs other candidates');
  if (users.length < count) {
    warnings.push(`only ${users.length} of ${count} load users found: some connections share a user, and Floorplan may share their promotion loads.`);
  }
  return users;
}

/**
 * `--overload`: only the overload rows, against a Floorplan and fast demo upstreams of their own
 * (the full run measures them last, after everything else; this is for working on admission
 * control without the other seven minutes).
 */
async function runOverloadOnly(plan: Plan, warnings: string[]): Promise<OverloadPhase> {
  const floors = createBenchFloorsDir();
  try {
    const [fastPort, fpPort] = (await freePorts(2)) as [number, number];
    log('starting Floorplan, the demo upstreams and the load worker …');
    const { worker, ready: workerReady } = startWorker();
    const fast = startUpstreams('demo-upstreams', fastPort, '');
    const fpEnv = overloadFloorplanEnv(fpPort, fast.origin, floors.dir);
    const fpConfig = floorplanConfig(fpEnv);
    const floorplan = startFloorplan('floorplan', fpPort, fpEnv);
    const book = new TokenBook(fpConfig.auth);
    await book.sign([PANEL_USER.userId, 'u-bulk']);
    await Promise.all([workerReady, fast.ready.then(() => waitForPanel(floorplan.child, floorplan.url, book.headers(PANEL_USER.userId)))]);
    const users = await loadUsers(plan.connections, floorplan, book, warnings);
    pin(floorplan.child, 0);
    const servers = [floorplan.child, fast.child];
    const job = (name: string, url: string, pids: Record<string, number>, extra: Partial<LoadJob> = {}): LoadJob => ({
      name,
      url,
      variants: users.map((u) => ({ headers: book.headers(u), body: graphqlBody(PANEL_QUERY) })),
      connections: plan.connections,
      warmupRequests: plan.warmupRequests,
      durationSeconds: plan.measureSeconds,
      pids,
      drainMs: plan.drainMs,
      ...extra,
    });
    return await runOverload({
      plan,
      worker,
      servers,
      floorplan,
      pids: { server: floorplan.child.pid, upstreams: fast.child.pid },
      job,
      requestDeadlineMs: fpConfig.limits.requestDeadlineMs,
      warnings,
      startControl: (shedShare) => startShedControl(fast.origin, fpConfig, book.headers(PANEL_USER.userId), shedShare),
    });
  } finally {
    await stopAll();
    floors.dispose();
  }
}

/** CPU rounds' readings: µs/req per server in each round, pooled µs/req by key, and the failed answers by key. */
interface CpuRounds {
  readonly rounds: Array<Record<string, number>>;
  readonly perRequest: (key: string) => number;
  readonly failures: Map<string, number>;
}

/** CPU µs per 2xx answer, summed over windows by key. */
class CpuTally {
  private readonly totals = new Map<string, { cpuUs: number; requests: number }>();
  readonly failures = new Map<string, number>();

  /** Adds one window of the server under `key` (its pid read as `server`); returns its µs/req. */
  add(key: string, result: LoadResult): number {
    const cpuUs = result.cpuUs['server'] ?? Number.NaN;
    const total = this.totals.get(key) ?? { cpuUs: 0, requests: 0 };
    // Per 2xx answer, as in serverRow: cheap 503 refusals must not flatter a server's CPU per panel.
    this.totals.set(key, { cpuUs: total.cpuUs + cpuUs, requests: total.requests + result.ok });
    this.failures.set(key, (this.failures.get(key) ?? 0) + result.errors + result.non2xx);
    return round(cpuUs / result.ok, 1);
  }

  readonly perRequest = (key: string): number => {
    const total = this.totals.get(key);
    return total === undefined || total.requests === 0 ? Number.NaN : round(total.cpuUs / total.requests, 1);
  };
}

/**
 * CPU µs/req of `cpuServers` in `plan.cpuRounds` interleaved rounds (each server
 * `plan.cpuRoundSeconds` per round, round-robin): this shared machine's speed drifts by tens of
 * percent over a minute, which one window per server would turn into the ratios.
 */
async function interleavedCpuRounds(
  plan: Plan,
  worker: LoadWorker,
  servers: readonly Child[],
  cpuServers: ReadonlyArray<{ readonly key: string; readonly url: string; readonly pid: number }>,
  job: (name: string, url: string, pids: Record<string, number>, extra: Partial<LoadJob>) => LoadJob,
): Promise<CpuRounds> {
  const tally = new CpuTally();
  const rounds: Array<Record<string, number>> = [];
  for (let r = 0; r < plan.cpuRounds; r++) {
    const perServer: Record<string, number> = {};
    for (const { key, url, pid } of cpuServers) {
      const result = await worker.run(
        job(`${key}-cpu-${r + 1}`, url, { server: pid }, { warmupRequests: plan.cpuRoundWarmupRequests, durationSeconds: plan.cpuRoundSeconds }),
        servers,
      );
      perServer[key] = tally.add(key, result);
    }
    rounds.push(perServer);
    log(`  round ${r + 1}: ${cpuServers.map(({ key }) => `${key} ${perServer[key]}`).join(', ')} µs/req`);
  }
  return { rounds, perRequest: tally.perRequest, failures: tally.failures };
}

/**
 * `--peers --simultaneous`: in each round, the first of `cpuServers` (Floorplan) loaded at once
 * beside each of the others in turn, by two load workers; the order of the others rotates from
 * round to round. Each round records every server's µs/req, and Floorplan's beside each other
 * server as `floorplan:<key>` (pooled the same way by `perRequest`).
 */
async function pairedCpuRounds(
  plan: Plan,
  workers: readonly [LoadWorker, LoadWorker],
  servers: readonly Child[],
  cpuServers: ReadonlyArray<{ readonly key: string; readonly url: string; readonly pid: number }>,
  job: (name: string, url: string, pids: Record<string, number>, extra: Partial<LoadJob>) => LoadJob,
): Promise<CpuRounds> {
  const [subject, ...others] = cpuServers;
  if (subject === undefined || others.length === 0) throw new Error('paired CPU rounds need a server and at least one other');
  const tally = new CpuTally();
  const rounds: Array<Record<string, number>> = [];
  const window = { warmupRequests: plan.cpuRoundWarmupRequests, durationSeconds: plan.cpuRoundSeconds };
  for (let r = 0; r < plan.cpuRounds; r++) {
    const perServer: Record<string, number> = {};
    const order = others.map((_, i) => others[(i + r) % others.length]!);
    for (const other of order) {
      const [mine, theirs] = await Promise.all([
        workers[0].run(job(`${subject.key}-beside-${other.key}-cpu-${r + 1}`, subject.url, { server: subject.pid }, window), servers),
        workers[1].run(job(`${other.key}-cpu-${r + 1}`, other.url, { server: other.pid }, window), servers),
      ]);
      perServer[`${subject.key}:${other.key}`] = tally.add(`${subject.key}:${other.key}`, mine);
      tally.add(subject.key, mine);
      perServer[other.key] = tally.add(other.key, theirs);
    }
    perServer[subject.key] = round(others.reduce((sum, o) => sum + (perServer[`${subject.key}:${o.key}`] ?? Number.NaN), 0) / others.length, 1);
    rounds.push(perServer);
    log(`  round ${r + 1}: ${order.map(({ key }) => `${subject.key} ${perServer[`${subject.key}:${key}`]} beside ${key} ${perServer[key]}`).join(', ')} µs/req`);
  }
  return { rounds, perRequest: tally.perRequest, failures: tally.failures };
}

async function runComparison(plan: Plan, mode: 'full' | 'quick', warnings: string[]): Promise<Omit<BenchResults, 'targets' | 'durationSeconds' | 'generatedAt'>> {
  const floors = createBenchFloorsDir();
  try {
    const [fastPort, slowPort, fpPort, fpSlowPort, rawPort, apolloPort, mercuriusPort, floorPort, floorSlowPort, fpApolloOnlyPort, apolloPeerPort, mercuriusPeerPort] = (await freePorts(12)) as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    log('starting the servers, the demo upstreams and the load worker …');
    const { worker, ready: workerReady } = startWorker();
    const fast = startUpstreams('demo-upstreams', fastPort, '');
    const slow = startUpstreams('demo-upstreams-slow', slowPort, SLOW_UPSTREAM_FAULTS);
    const fpEnv = floorplanEnv(fpPort, fast.origin, floors.dir);
    const fpConfig = floorplanConfig(fpEnv);
    const floorplan = startFloorplan('floorplan', fpPort, fpEnv);
    const floorplanSlow = startFloorplan('floorplan-slow', fpSlowPort, floorplanEnv(fpSlowPort, slow.origin, floors.dir));
    // The same Floorplan with its known-operations fast path off: Apollo's pipeline for every
    // request. Only in the interleaved CPU rounds, to measure what the fast path saves.
    const floorplanApolloOnly = startFloorplan('floorplan-apollo-only', fpApolloOnlyPort, {
      ...floorplanEnv(fpApolloOnlyPort, fast.origin, floors.dir),
      GRAPHQL_FAST_PATH: 'false',
    });
    const baseline = (name: string, port: number, upstreams = fast.origin, label = name) => startBaseline(name, port, upstreams, fpConfig, { label });
    const baselinePorts: Record<BaselineName, number> = {
      rawHttp: rawPort,
      apolloStandalone: apolloPort,
      mercuriusJit: mercuriusPort,
      upstreamFloor: floorPort,
      apolloPeer: apolloPeerPort,
      mercuriusPeer: mercuriusPeerPort,
    };
    const isPeer = (key: BaselineName) => PEERS.some((p) => p.key === key);
    const baselines = Object.fromEntries(BASELINES.filter((b) => !isPeer(b.key)).map((b) => [b.key, baseline(b.script, baselinePorts[b.key])])) as Record<
      BaselineName,
      { child: Child; url: string }
    >;
    // The latency phase's control: (d) against the slow upstreams, measured the same way as Floorplan.
    const floorSlow = baseline('upstream-floor', floorSlowPort, slow.origin, 'upstream-floor-slow');
    const book = new TokenBook(fpConfig.auth);
    await book.sign([PANEL_USER.userId, 'u-bulk']);
    const u1001 = book.headers(PANEL_USER.userId);

    const expected = JSON.parse(PANEL_RESPONSE_JSON) as unknown;
    // Floorplan's users are looked up as soon as it serves, while the rest still start.
    const fpAnswer = fast.ready.then(() => waitForPanel(floorplan.child, floorplan.url, u1001));
    const usersFound = fpAnswer.then(() => loadUsers(Math.max(plan.connections, plan.latencyConnections), floorplan, book, warnings));
    // The peers start once Floorplan serves: every process loading at once is the slowest part of a quick run on two cores.
    const peersStarted = fpAnswer.then(() => {
      for (const { key, script } of PEERS) baselines[key] = baseline(script, baselinePorts[key]);
    });
    const [users, answer] = await Promise.all([
      usersFound,
      fpAnswer,
      workerReady,
      slow.ready.then(() => waitForPanel(floorplanSlow.child, floorplanSlow.url, u1001)),
      fast.ready.then(() => waitForPanel(floorplanApolloOnly.child, floorplanApolloOnly.url, u1001)),
      slow.ready.then(() => waitForPanel(floorSlow.child, floorSlow.url, u1001)),
      ...BASELINES.map(async ({ key, upstreams }) => {
        if (isPeer(key)) await peersStarted;
        const { child, url } = baselines[key];
        if (upstreams) await fast.ready;
        const baselineAnswer = await waitForPanel(child, url, u1001);
        if (!sameJson(baselineAnswer, expected)) throw new Error(`${child.name} answered a different panel than bench/panel.ts: ${JSON.stringify(baselineAnswer).slice(0, 300)}`);
      }),
    ]);
    const peers = await checkPeers(plan, floorplan.url, baselines, users, book, [floorplan.child, fast.child, ...PEERS.map(({ key }) => baselines[key].child)]);
    log(`peers: (e) and (f) answered byte-identical floors to Floorplan's for ${peers.checked.length} panels`);
    const panelMatchesStatic = sameJson(answer, expected);
    if (!panelMatchesStatic) {
      warnings.push("Floorplan's live u1001 panel differs from bench/panel.ts's static one (update STATIC_PANEL): the baselines answered different JSON.");
    }
    for (const child of [floorplan.child, floorplanSlow.child, floorplanApolloOnly.child, floorSlow.child, ...Object.values(baselines).map((b) => b.child)]) pin(child, 0);
    log(
      `ready: ${users.length} load users; ` +
        (canPin() ? 'servers pinned to core 0, load worker and demo upstreams to core 1' : 'NOT pinned (taskset or a second core missing)'),
    );
    const servers = [floorplan.child, floorplanSlow.child, floorplanApolloOnly.child, floorSlow.child, fast.child, slow.child, ...Object.values(baselines).map((b) => b.child)];

    const panelVariants = (query: string): RequestVariant[] => users.map((u) => ({ headers: book.headers(u), body: graphqlBody(query) }));
    const job = (name: string, url: string, pids: Record<string, number>, extra: Partial<LoadJob> = {}): LoadJob => ({
      name,
      url,
      variants: panelVariants(PANEL_QUERY),
      connections: plan.connections,
      warmupRequests: plan.warmupRequests,
      durationSeconds: plan.measureSeconds,
      pids,
      drainMs: plan.drainMs,
      ...extra,
    });

    log(`comparison: same panel, ${plan.connections} connections, ${plan.measureSeconds} s each`);
    const rows = {} as Record<BaselineName, ServerRow>;
    for (const { key, upstreams } of BASELINES) {
      const { child, url } = baselines[key];
      // (d), (e) and (f) call the demo upstreams, which share the generator's core, as Floorplan does.
      const pids: Record<string, number> = upstreams ? { server: child.pid, upstreams: fast.child.pid } : { server: child.pid };
      rows[key] = serverRow(await worker.run(job(key, url, pids), servers));
      log(describeRow(key, rows[key]));
    }
    const fastPids = { server: floorplan.child.pid, upstreams: fast.child.pid };
    const fpResult = await worker.run(job('floorplan', floorplan.url, fastPids, { metricsUrl: floorplan.metricsUrl }), servers);
    const fpRowLong = { ...serverRow(fpResult), ...floorplanFacts(fpResult) };
    log(describeRow('floorplan', fpRowLong));

    // CPU µs/req, interleaved: this shared machine's speed drifts by tens of percent over a
    // minute, which one window per server turns into the ratios; round-robin windows do not.
    log(`cpu: ${plan.cpuRounds} interleaved rounds, ${plan.cpuRoundSeconds} s per server per round`);
    const cpuServers: Array<{ key: 'floorplan' | 'floorplanApolloOnly' | BaselineName; url: string; pid: number }> = [
      { key: 'floorplan', url: floorplan.url, pid: floorplan.child.pid },
      { key: 'floorplanApolloOnly', url: floorplanApolloOnly.url, pid: floorplanApolloOnly.child.pid },
      ...BASELINES.map(({ key }) => ({ key, url: baselines[key].url, pid: baselines[key].child.pid })),
    ];
    const { rounds: cpuRounds, perRequest: interleavedCpu, failures: cpuFailures } = await interleavedCpuRounds(plan, worker, servers, cpuServers, job);
    for (const [key, count] of cpuFailures) if (count > 0) warnings.push(`cpu rounds, ${key}: ${count} errors or non-2xx answers (CPU µs/req is per 2xx answer).`);
    const fpRow = { ...fpRowLong, cpuUsPerReq: interleavedCpu('floorplan') };
    const fastPath = { cpuUsPerReq: fpRow.cpuUsPerReq, apolloOnlyCpuUsPerReq: interleavedCpu('floorplanApolloOnly') };
    log(`fast path: ${fastPath.cpuUsPerReq} µs/req with it, ${fastPath.apolloOnlyCpuUsPerReq} µs/req with Apollo's pipeline for every request`);
    for (const { key } of BASELINES) rows[key] = { ...rows[key], cpuUsPerReq: interleavedCpu(key) };

    // Scaling: Floorplan only, fast upstreams.
    const bulkSkus = selectedSkus('u-bulk');
    const scalingCases: Array<{ name: string; description: string; variants: RequestVariant[]; cartLines: number }> = [
      { name: 'floors-6', description: `scene ${SMALL_SCENE}`, variants: panelVariants(panelQuery(SMALL_SCENE)), cartLines: Number.NaN },
      { name: 'floors-30', description: `scene ${LARGE_SCENE}`, variants: panelVariants(panelQuery(LARGE_SCENE)), cartLines: Number.NaN },
      {
        name: 'lines-1',
        description: 'cart-bottom-sheet, selectedSkuIds: one line',
        variants: users.map((u) => ({ headers: book.headers(u), body: graphqlBody(SELECTED_LINES_QUERY, { skus: selectedSkus(u).slice(0, 1) }) })),
        cartLines: 1,
      },
      {
        name: 'lines-200',
        description: `u-bulk, ${bulkSkus.length - 1} of its ${bulkSkus.length} lines (each connection leaves out a different one)`,
        variants: Array.from({ length: plan.connections }, (_, i) => ({
          headers: book.headers('u-bulk'),
          body: graphqlBody(SELECTED_LINES_QUERY, { skus: bulkSkus.filter((_, j) => j !== i % bulkSkus.length) }),
        })),
        cartLines: bulkSkus.length - 1,
      },
    ].filter((c) => plan.scalingRows.includes(c.name));
    log(`scaling: Floorplan, ${plan.connections} connections, ${plan.scalingMeasureSeconds} s each`);
    const scaling: ScalingRow[] = [];
    for (const c of scalingCases) {
      const first = c.variants[0] as RequestVariant;
      const answer = await waitForPanel(floorplan.child, floorplan.url, { ...first.headers }, first.body);
      const result = await worker.run(
        job(c.name, floorplan.url, fastPids, {
          variants: c.variants,
          // Floorplan is warm from the comparison; this only warms the new query's path.
          warmupRequests: Math.min(1000, plan.warmupRequests),
          durationSeconds: plan.scalingMeasureSeconds,
          metricsUrl: floorplan.metricsUrl,
        }),
        servers,
      );
      const row: ScalingRow = {
        name: c.name,
        description: c.description,
        floors: answer.data?.floorPanel?.floors?.length ?? 0,
        cartLines: Number.isNaN(c.cartLines) ? median(users.map((u) => selectedSkus(u).length)) : c.cartLines,
        ...serverRow(result),
        ...floorplanFacts(result),
      };
      scaling.push(row);
      log(describeRow(c.name, row));
    }

    // 6 vs 30 floors, interleaved as the CPU comparison is: the target is a ratio of two
    // throughputs, and one window each lets the machine's drift decide it.
    const scalingRounds: Array<Record<string, number>> = [];
    const pair = ['floors-6', 'floors-30'].map((name) => ({ c: scalingCases.find((x) => x.name === name), index: scaling.findIndex((r) => r.name === name) }));
    if (plan.cpuRounds > 1 && pair.every(({ c, index }) => c !== undefined && index >= 0)) {
      log(`floors: ${plan.cpuRounds} interleaved rounds of 6 and 30 floors, ${plan.cpuRoundSeconds} s each`);
      const totals = new Map<string, { completed: number; seconds: number; cpuUs: number }>();
      for (let r = 0; r < plan.cpuRounds; r++) {
        const perRow: Record<string, number> = {};
        for (const { c } of pair) {
          if (c === undefined) continue;
          const result = await worker.run(
            job(`${c.name}-round-${r + 1}`, floorplan.url, fastPids, {
              variants: c.variants,
              warmupRequests: plan.cpuRoundWarmupRequests,
              durationSeconds: plan.cpuRoundSeconds,
            }),
            servers,
          );
          const total = totals.get(c.name) ?? { completed: 0, seconds: 0, cpuUs: 0 };
          totals.set(c.name, {
            completed: total.completed + result.completed,
            seconds: total.seconds + result.elapsedSeconds,
            cpuUs: total.cpuUs + (result.cpuUs['server'] ?? Number.NaN),
          });
          perRow[c.name] = round(result.rps, 1);
        }
        scalingRounds.push(perRow);
        log(`  round ${r + 1}: ${Object.entries(perRow).map(([name, rps]) => `${name} ${rps.toFixed(0)} req/s`).join(', ')}`);
      }
      for (const { c, index } of pair) {
        const total = c === undefined ? undefined : totals.get(c.name);
        const row = scaling[index];
        if (total === undefined || row === undefined) continue;
        scaling[index] = { ...row, rps: round(total.completed / total.seconds, 1), cpuUsPerReq: round(total.cpuUs / total.completed, 1) };
      }
    }

    // Latency phase: every upstream answers UPSTREAM_LATENCY_MS late.
    log(`latency: upstreams +${UPSTREAM_LATENCY_MS} ms each, ${plan.latencyConnections} connections`);
    const slowPids = { server: floorplanSlow.child.pid, upstreams: slow.child.pid };
    const satResult = await worker.run(
      job('latency-saturation', floorplanSlow.url, slowPids, { connections: plan.latencyConnections, metricsUrl: floorplanSlow.metricsUrl }),
      servers,
    );
    const saturation = { ...serverRow(satResult), ...floorplanFacts(satResult) };
    log(describeRow('saturated', saturation));
    const targetRps = halfOfServed(saturation);
    // Floorplan at half its saturation, and the control: (d), which adds nothing to the three
    // calls, at the same rate and measured the same way, their windows alternating. (d)'s
    // "overhead" is what this machine and method report for no work at all.
    const atHalfRate = (name: string, url: string, pids: Record<string, number>, extra: Partial<LoadJob>) =>
      worker.run(
        job(name, url, pids, {
          connections: plan.latencyConnections,
          overallRate: targetRps,
          durationSeconds: plan.halfRateSeconds,
          probe: { origin: slow.origin, userIds: users, intervalMs: plan.probeIntervalMs },
          keepLatencies: true,
          ...extra,
        }),
        servers,
      );
    const halfResults: LoadResult[] = [];
    const referenceResults: LoadResult[] = [];
    for (let r = 0; r < plan.halfRateRounds; r++) {
      const ours = async () =>
        halfResults.push(await atHalfRate('latency-half-rate', floorplanSlow.url, slowPids, { warmupRequests: 0, metricsUrl: floorplanSlow.metricsUrl }));
      const control = async () =>
        referenceResults.push(
          await atHalfRate('latency-half-rate-reference', floorSlow.url, { server: floorSlow.child.pid, upstreams: slow.child.pid }, {
            warmupRequests: r === 0 ? plan.cpuRoundWarmupRequests : 0,
          }),
        );
      if (r % 2 === 0) {
        await ours();
        await control();
      } else {
        await control();
        await ours();
      }
    }
    const { merged: halfMerged, row: halfRow, run: half } = pooledRateRun(halfResults);
    const { run: reference } = pooledRateRun(referenceResults);
    let autocannonPacing: LatencyPhase['halfRate']['autocannonPacing'];
    if (plan.autocannonRateCheck) {
      const bursty = serverRow(
        await worker.run(
          job('latency-half-rate-autocannon', floorplanSlow.url, slowPids, {
            connections: plan.latencyConnections,
            overallRate: targetRps,
            pacing: 'autocannon',
            warmupRequests: 0,
            durationSeconds: Math.min(5, plan.measureSeconds),
          }),
          servers,
        ),
      );
      autocannonPacing = { rps: bursty.rps, p50Ms: bursty.p50Ms, p99Ms: bursty.p99Ms };
      log(`  same rate with autocannon overallRate (bursts each second): p50 ${bursty.p50Ms.toFixed(2)} / p99 ${bursty.p99Ms.toFixed(2)} ms`);
    }
    const latency: LatencyPhase = {
      upstreamLatencyMs: UPSTREAM_LATENCY_MS,
      connections: plan.latencyConnections,
      saturation,
      halfRate: {
        ...half,
        targetRps,
        upstreamCallsPerRequest: floorplanFacts(halfMerged).upstreamCallsPerRequest,
        runtime: pooledRuntimeFacts(halfResults),
        ...(autocannonPacing === undefined ? {} : { autocannonPacing }),
      },
      referenceHalfRate: reference,
    };
    const { runtime } = latency.halfRate;
    log(
      `  in its half-rate windows: ${runtime.minorGc.count} scavenges (mean ${runtime.minorGc.meanMs.toFixed(2)} ms), ${runtime.majorGc.count} mark-compacts ` +
        `(mean ${runtime.majorGc.meanMs.toFixed(2)} ms; per window ${(half.rounds ?? []).map((r) => r.markCompacts ?? '?').join(', ')}), ` +
        `${runtime.incrementalGc.count} incremental marking steps (${runtime.incrementalGc.totalMs.toFixed(0)} ms in all)`,
    );
    log(describeRateRun(`half rate ${targetRps} req/s: Floorplan`, half));
    log(describeRateRun('control (d) at the same rate:', reference));
    if (half.rps < targetRps * 0.9) warnings.push(`latency-half-rate: asked for ${targetRps} req/s but got ${half.rps.toFixed(0)}; the overhead was measured at a lower rate.`);

    // Overload on a Floorplan of its own, with the shipped deadline (overloadFloorplanEnv); it may leave its breakers or admission limit anywhere.
    const [overloadPort] = (await freePorts(1)) as [number];
    const overloadEnv = overloadFloorplanEnv(overloadPort, fast.origin, floors.dir);
    const floorplanOverload = startFloorplan('floorplan-overload', overloadPort, overloadEnv);
    let overload: OverloadPhase;
    try {
      await waitForPanel(floorplanOverload.child, floorplanOverload.url, book.headers(PANEL_USER.userId));
      pin(floorplanOverload.child, 0);
      overload = await runOverload({
        plan,
        worker,
        servers: [...servers, floorplanOverload.child],
        floorplan: floorplanOverload,
        pids: { server: floorplanOverload.child.pid, upstreams: fast.child.pid },
        job,
        requestDeadlineMs: floorplanConfig(overloadEnv).limits.requestDeadlineMs,
        warnings,
        startControl: (shedShare) => startShedControl(fast.origin, fpConfig, book.headers(PANEL_USER.userId), shedShare),
      });
    } finally {
      await stopChildren([floorplanOverload.child]);
    }
    // Processes of their own and the default config, so nothing above (breakers, admission limit, the bench overlay) carries over.
    const frozenUpstream = await runFrozenUpstream(plan, floors.dir, warnings);

    // Warnings a reader needs before trusting the table.
    const allRows: Array<[string, ServerRow]> = [
      ['floorplan', fpRow],
      ...BASELINES.map(({ key }) => [key, rows[key]] as [string, ServerRow]),
      ...scaling.map((r) => [r.name, r] as [string, ServerRow]),
      ['latency-saturation', saturation],
      ['latency-half-rate', halfRow],
    ];
    for (const [name, row] of allRows) {
      if (row.errors + row.non2xx > 0) warnings.push(`${name}: ${row.errors} errors and ${row.non2xx} non-2xx responses in the window.`);
      if (row.generatorCoreBusy >= 0.9) {
        warnings.push(
          `${name}: the generator core was ${(row.generatorCoreBusy * 100).toFixed(0)} % busy (load worker + demo upstreams), so req/s may be the generator's limit; CPU µs/req is unaffected.`,
        );
      }
    }
    for (const [name, facts] of [['floorplan', fpRow], ...scaling.map((r) => [r.name, r] as const), ['latency-saturation', saturation]] as const) {
      if (facts.upstreamFailures > 0) {
        const how = Object.entries(facts.upstreamFailedOutcomes).map(([outcome, count]) => `${count} ${outcome}`).join(', ');
        warnings.push(`${name}: ${facts.upstreamFailures} upstream calls failed (${how}); their panels were degraded.`);
      }
    }
    if (half.criticalPath.failures > 0) warnings.push(`critical-path probe: ${half.criticalPath.failures} probes failed.`);

    const ratio = (a: number, b: number) => round(a / b, 2);
    const ratios = Object.fromEntries(
      BASELINES.map(({ key }) => {
        const b = rows[key];
        return [
          key,
          { rps: ratio(fpRow.rps, b.rps), cpuUsPerReq: ratio(fpRow.cpuUsPerReq, b.cpuUsPerReq), p50Ms: ratio(fpRow.p50Ms, b.p50Ms), p99Ms: ratio(fpRow.p99Ms, b.p99Ms), rssMb: ratio(fpRow.rssMb, b.rssMb) },
        ];
      }),
    ) as BenchResults['ratios'];

    return {
      mode,
      machine: machineInfo(),
      packages: packageVersions(),
      method: {
        pinned: canPin(),
        floorplanCommand: floorplanCommandLine(),
        connections: plan.connections,
        latencyConnections: plan.latencyConnections,
        warmupRequests: plan.warmupRequests,
        measureSeconds: plan.measureSeconds,
        scalingMeasureSeconds: plan.scalingMeasureSeconds,
        halfRateRounds: plan.halfRateRounds,
        halfRateSeconds: plan.halfRateSeconds,
        loadUsers: users.length,
        cpuRounds: plan.cpuRounds,
        cpuRoundSeconds: plan.cpuRoundSeconds,
        overloadRounds: plan.overloadRounds,
        overloadSeconds: plan.overloadSeconds,
        overloadOpenSeconds: plan.overloadOpenSeconds,
        overloadRampSeconds: plan.overloadRampSeconds,
      },
      cpuRounds,
      scalingRounds,
      servers: { floorplan: { ...fpRow, overheadP99Ms: latency.halfRate.overheadP99Ms, panelMatchesStatic }, ...rows },
      fastPath,
      ratios,
      peers,
      latency,
      scaling,
      overload,
      frozenUpstream,
      warnings,
    };
  } finally {
    await stopAll();
    floors.dispose();
  }
}

/** What `--peers` writes: Floorplan against (d), (e) and (f) only. */
interface PeersRun {
  readonly generatedAt: string;
  readonly mode: 'peers';
  readonly durationSeconds: number;
  readonly machine: BenchResults['machine'];
  readonly packages: BenchResults['packages'];
  readonly method: {
    readonly pinned: boolean;
    /** How Floorplan was started (absent before session 41). */
    readonly floorplanCommand?: string;
    readonly connections: number;
    readonly loadUsers: number;
    readonly cpuRounds: number;
    readonly cpuRoundSeconds: number;
    /** Floorplan loaded at once beside each other server in turn, each with `connections` of its own (absent before session 38: one after the other). */
    readonly simultaneous?: boolean;
    /** The node flags (d), (e) and (f) ran with, when not none (`--peer-node-flags`, session 39). */
    readonly peerNodeFlags?: readonly string[];
    /** How (d), (e) and (f) pooled their upstream connections, when not `shared` (`--peer-pools`, session 50). */
    readonly peerPools?: UpstreamPooling;
  };
  readonly peers: PeersPhase;
  /**
   * CPU µs/req per server in each round. Simultaneous: also `floorplan:<key>`, Floorplan's in
   * the window it shared with that server, and `floorplan` is then over all three windows.
   */
  readonly cpuRounds: ReadonlyArray<Readonly<Record<string, number>>>;
  /** Pooled over the rounds. */
  readonly cpuUsPerReq: Readonly<Record<'floorplan' | 'upstreamFloor' | PeerName, number>>;
  /** Simultaneous: Floorplan's CPU µs/req pooled over the windows it shared with each other server. */
  readonly floorplanBeside?: Readonly<Record<'upstreamFloor' | PeerName, number>>;
  /** Floorplan ÷ each, CPU µs/req (simultaneous: Floorplan's beside that server ÷ that server's). */
  readonly ratios: Readonly<Record<'upstreamFloor' | PeerName, number>>;
  readonly targets: readonly Target[];
  readonly warnings: readonly string[];
}

/**
 * `--peers`: Floorplan (config/bench.yaml), (d), (e) and (f) against one set of fast demo
 * upstreams; the byte-identity check, then CPU µs/req in interleaved rounds. About three
 * minutes instead of the full run's seven, for working on the issue-18 targets.
 *
 * With `simultaneous`, each round loads Floorplan at once beside each of the other three in
 * turn (a second load worker, each server with `connections` of its own, both on core 0), and
 * each ratio divides Floorplan's CPU in the windows it shared with that server by the server's:
 * one after the other, this VM's speed drifted 0.6–1.5× between windows of a few seconds
 * (BENCHMARKS.md, session 37), and windows side by side meet the same drift.
 */
async function runPeers(plan: Plan, started: number, simultaneous: boolean, peerNodeFlags: readonly string[] | undefined, peerPools: UpstreamPooling): Promise<PeersRun> {
  const warnings: string[] = [];
  const floors = createBenchFloorsDir();
  try {
    const [upPort, fpPort, floorPort, apolloPeerPort, mercuriusPeerPort] = (await freePorts(5)) as [number, number, number, number, number];
    log(`peers: starting Floorplan, (d), (e), (f), the demo upstreams and the load worker${simultaneous ? 's' : ''} …`);
    if (peerNodeFlags !== undefined) log(`peers: (d), (e) and (f) run with node flags: ${peerNodeFlags.join(' ') || '(none)'}`);
    if (peerPools === 'per-upstream') log('peers: (d), (e) and (f) hold a connection pool per upstream, as Floorplan does (as three services with an origin each would need)');
    const peerOptions = { nodeFlags: peerNodeFlags, extraEnv: { BENCH_POOLS: peerPools } };
    const { worker, ready: workerReady } = startWorker();
    const beside = simultaneous ? startWorker() : undefined;
    const fast = startUpstreams('demo-upstreams', upPort, '');
    const env = floorplanEnv(fpPort, fast.origin, floors.dir);
    const config = floorplanConfig(env);
    const floorplan = startFloorplan('floorplan', fpPort, env);
    const others: Record<'upstreamFloor' | PeerName, { child: Child; url: string }> = {
      upstreamFloor: startBaseline('upstream-floor', floorPort, fast.origin, config, peerOptions),
      apolloPeer: startBaseline('apollo-peer', apolloPeerPort, fast.origin, config, peerOptions),
      mercuriusPeer: startBaseline('mercurius-peer', mercuriusPeerPort, fast.origin, config, peerOptions),
    };
    const book = new TokenBook(config.auth);
    await book.sign([PANEL_USER.userId]);
    const u1001 = book.headers(PANEL_USER.userId);
    await Promise.all([fast.ready, workerReady, beside?.ready]);
    await waitForPanel(floorplan.child, floorplan.url, u1001);
    await Promise.all(Object.values(others).map(({ child, url }) => waitForPanel(child, url, u1001)));
    const users = await loadUsers(plan.connections, floorplan, book, warnings);
    const servers = [floorplan.child, fast.child, ...Object.values(others).map((o) => o.child)];
    const peers = await checkPeers(plan, floorplan.url, others, users, book, servers);
    log(`peers: (e) and (f) answered byte-identical floors to Floorplan's for ${peers.checked.length} panels`);
    for (const child of [floorplan.child, ...Object.values(others).map((o) => o.child)]) pin(child, 0);

    const variants = users.map((u) => ({ headers: book.headers(u), body: graphqlBody(PANEL_QUERY) }));
    const job = (name: string, url: string, pids: Record<string, number>, extra: Partial<LoadJob> = {}): LoadJob => ({
      name,
      url,
      variants,
      connections: plan.connections,
      warmupRequests: plan.warmupRequests,
      durationSeconds: plan.measureSeconds,
      pids,
      drainMs: plan.drainMs,
      ...extra,
    });
    // One long warm-up each, so JIT tiers and pools are settled before the first round.
    for (const { child, url } of [floorplan, ...Object.values(others)]) await worker.run(job(`${child.name}-warmup`, url, { server: child.pid }, { durationSeconds: 1 }), servers);
    const cpuServers = [
      { key: 'floorplan', url: floorplan.url, pid: floorplan.child.pid },
      ...(['upstreamFloor', 'apolloPeer', 'mercuriusPeer'] as const).map((key) => ({ key, url: others[key].url, pid: others[key].child.pid })),
    ];
    let measured: CpuRounds;
    if (beside === undefined) {
      log(`cpu: ${plan.cpuRounds} interleaved rounds, ${plan.cpuRoundSeconds} s per server per round, ${plan.connections} connections`);
      measured = await interleavedCpuRounds(plan, worker, servers, cpuServers, job);
    } else {
      log(`cpu: ${plan.cpuRounds} rounds, ${plan.cpuRoundSeconds} s per pair: Floorplan at once beside each of the others in turn, ${plan.connections} connections each`);
      measured = await pairedCpuRounds(plan, [worker, beside.worker], servers, cpuServers, job);
    }
    const { rounds, perRequest, failures } = measured;
    for (const [key, count] of failures) if (count > 0) warnings.push(`cpu rounds, ${key}: ${count} errors or non-2xx answers (CPU µs/req is per 2xx answer).`);
    const cpuUsPerReq = {
      floorplan: perRequest('floorplan'),
      upstreamFloor: perRequest('upstreamFloor'),
      apolloPeer: perRequest('apolloPeer'),
      mercuriusPeer: perRequest('mercuriusPeer'),
    };
    const floorplanBeside =
      beside === undefined
        ? undefined
        : { upstreamFloor: perRequest('floorplan:upstreamFloor'), apolloPeer: perRequest('floorplan:apolloPeer'), mercuriusPeer: perRequest('floorplan:mercuriusPeer') };
    const ratio = (key: 'upstreamFloor' | PeerName) => round((floorplanBeside?.[key] ?? cpuUsPerReq.floorplan) / cpuUsPerReq[key], 2);
    return {
      generatedAt: new Date().toISOString(),
      mode: 'peers',
      durationSeconds: round((performance.now() - started) / 1000, 1),
      machine: machineInfo(),
      packages: packageVersions(),
      method: {
        pinned: canPin(),
        floorplanCommand: floorplanCommandLine(),
        connections: plan.connections,
        loadUsers: users.length,
        cpuRounds: plan.cpuRounds,
        cpuRoundSeconds: plan.cpuRoundSeconds,
        simultaneous,
        ...(peerNodeFlags === undefined ? {} : { peerNodeFlags }),
        ...(peerPools === 'shared' ? {} : { peerPools }),
      },
      peers,
      cpuRounds: rounds,
      cpuUsPerReq,
      ...(floorplanBeside === undefined ? {} : { floorplanBeside }),
      ratios: { upstreamFloor: ratio('upstreamFloor'), apolloPeer: ratio('apolloPeer'), mercuriusPeer: ratio('mercuriusPeer') },
      targets: peerCpuTargets(cpuUsPerReq.floorplan, cpuUsPerReq, rounds, floorplanBeside),
      warnings,
    };
  } finally {
    await stopAll();
    floors.dispose();
  }
}

/** Where a Floorplan's memory is, and how many mark-compacts it has run, from its /metrics; nothing when it cannot be read. */
async function heapFigures(metricsUrl: string): Promise<HeapFigures & { markCompacts?: number }> {
  try {
    const text = await (await fetch(metricsUrl)).text();
    const collections = counterBy(text, 'floorplan_nodejs_gc_duration_seconds_count', 'kind');
    // prom-client writes a kind once it has happened: scavenges but no mark-compact yet is 0 of them.
    const markCompacts = collections.size === 0 ? undefined : (collections.get('major') ?? 0);
    return { ...heapFiguresOf(text), ...(markCompacts === undefined ? {} : { markCompacts }) };
  } catch {
    return {};
  }
}

/**
 * Mark-compacts the soak's warm-up waits for: the first sets the old space's limit from what
 * survives at this rate, and the old space then fills up to it, committing pages as it goes,
 * until the second; from then on the heap's pages are reused.
 */
const SOAK_WARMUP_MARK_COMPACTS = 2;
/** How much longer, at most, the soak's warm-up goes on waiting for them, as a multiple of the warm-up asked for. */
const SOAK_WARMUP_EXTENSION = 1;
/** The warm-up goes on in steps of this many seconds while it waits. */
const SOAK_WARMUP_STEP_SECONDS = 30;

/**
 * Floorplan alone at half its saturation for `seconds`, its RSS sampled as it goes, after
 * `warmupSeconds` at the same rate unsampled (logged): until the heap has grown to its working
 * size, the per-minute minima climb for a reason that is not a leak. The working size is
 * reached over one cycle of the old space at this rate ({@link SOAK_WARMUP_MARK_COMPACTS}), so a
 * warm-up with fewer mark-compacts goes on, 30 s at a time, until they have run (at most as long
 * again). In session 37 the first soak's only step in RSS, 298 → 312 MB, came with the first
 * old-space cycle after its warm-up. The soak is answered span by span (`windowSeconds` each,
 * `timeline`), so a tail or errors can be placed in time beside the samples.
 */
async function runSoak(seconds: number, warmupSeconds: number, warnings: string[]): Promise<SoakResult> {
  const floors = createBenchFloorsDir();
  try {
    const [upPort, fpPort] = (await freePorts(2)) as [number, number];
    const { worker, ready: workerReady } = startWorker();
    const upstreams = startUpstreams('demo-upstreams', upPort, '');
    const env = floorplanEnv(fpPort, upstreams.origin, floors.dir);
    const floorplan = startFloorplan('floorplan', fpPort, env);
    const book = tokenBook(env);
    await book.sign([PANEL_USER.userId]);
    await Promise.all([upstreams.ready, workerReady]);
    await waitForPanel(floorplan.child, floorplan.url, book.headers(PANEL_USER.userId));
    const connections = FULL.connections;
    const users = await loadUsers(connections, floorplan, book, warnings);
    pin(floorplan.child, 0);
    const servers = [floorplan.child, upstreams.child];
    const base: LoadJob = {
      name: 'soak-saturation',
      url: floorplan.url,
      variants: users.map((u) => ({ headers: book.headers(u), body: graphqlBody(PANEL_QUERY) })),
      connections,
      warmupRequests: FULL.warmupRequests,
      durationSeconds: 5,
      pids: { server: floorplan.child.pid, upstreams: upstreams.child.pid },
      drainMs: FULL.drainMs,
    };
    const saturation = serverRow(await worker.run(base, servers));
    const targetRps = halfOfServed(saturation);
    const windowSeconds = Math.min(60, Math.floor(seconds / 5));
    const sampleEverySeconds = Math.min(10, Math.max(1, Math.floor(windowSeconds / 3)));
    // Beside RSS, V8's old space in use, its whole heap as committed, and memory outside it
    // held by JavaScript objects (Floorplan's own /metrics): RSS also grows when V8 merely keeps
    // more pages, or when the allocator does, while the old space's per-minute minima grow only
    // with what stays alive.
    const metricsUrl = floorplan.url.replace(/\/graphql$/, '/metrics');
    let warmedSeconds = 0;
    let warmupMarkCompacts = 0;
    if (warmupSeconds > 0) {
      log(`soak warm-up: ${warmupSeconds} s at ${targetRps} req/s (half of ${saturation.rps.toFixed(0)}), RSS at its start ${round(rssMb(floorplan.child.pid), 1).toFixed(1)} MB`);
      const before = (await heapFigures(metricsUrl)).markCompacts;
      if (before === undefined) throw new Error(`the soak counts mark-compacts from ${metricsUrl}, which has no floorplan_nodejs_gc_duration_seconds (are default metrics off?)`);
      const warm = async (durationSeconds: number) => {
        await worker.run({ ...base, name: 'soak-warmup', warmupRequests: 0, durationSeconds, overallRate: targetRps, drainMs: 100 }, servers);
        warmedSeconds += durationSeconds;
        warmupMarkCompacts = ((await heapFigures(metricsUrl)).markCompacts ?? before) - before;
      };
      await warm(warmupSeconds);
      const longest = warmupSeconds * (1 + SOAK_WARMUP_EXTENSION);
      while (warmupMarkCompacts < SOAK_WARMUP_MARK_COMPACTS && warmedSeconds < longest) {
        log(`  ${warmupMarkCompacts} of ${SOAK_WARMUP_MARK_COMPACTS} mark-compacts after ${warmedSeconds} s of warm-up: ${SOAK_WARMUP_STEP_SECONDS} s more`);
        await warm(Math.min(SOAK_WARMUP_STEP_SECONDS, longest - warmedSeconds));
      }
      log(`soak warm-up done: ${warmedSeconds} s, ${warmupMarkCompacts} mark-compact${warmupMarkCompacts === 1 ? '' : 's'}`);
      if (warmupMarkCompacts < SOAK_WARMUP_MARK_COMPACTS) {
        warnings.push(
          `the soak's warm-up ran ${warmedSeconds} s with ${warmupMarkCompacts} of the ${SOAK_WARMUP_MARK_COMPACTS} mark-compacts it waits for: the heap may still grow to its working size while sampled`,
        );
      }
    }
    log(`soak: ${seconds} s at ${targetRps} req/s (half of ${saturation.rps.toFixed(0)}), RSS every ${sampleEverySeconds} s, latency per ${windowSeconds} s`);

    const samples: SoakSample[] = [];
    const started = performance.now();
    const sampling = new Set<Promise<void>>();
    const sample = () => {
      const atSeconds = Math.round((performance.now() - started) / 1000);
      const mb = round(rssMb(floorplan.child.pid), 1);
      const taken = heapFigures(metricsUrl).then((figures) => {
        const sampled: SoakSample = { atSeconds, rssMb: mb, ...figures };
        samples.push(sampled);
        const shown = SOAK_FIGURES.map(({ short, pick }) => {
          const value = pick(sampled);
          return value === undefined ? '' : `, ${short} ${value.toFixed(1)} MB`;
        }).join('');
        log(`  ${String(atSeconds).padStart(4)} s  RSS ${mb.toFixed(1)} MB${shown}${sampled.markCompacts === undefined ? '' : `, ${sampled.markCompacts} mark-compacts`}`);
      });
      sampling.add(taken);
      void taken.finally(() => sampling.delete(taken));
    };
    sample();
    const timer = setInterval(sample, sampleEverySeconds * 1000);
    let result: LoadResult;
    try {
      result = await worker.run({ ...base, name: 'soak', warmupRequests: 0, durationSeconds: seconds, overallRate: targetRps, drainMs: 100, timelineSeconds: windowSeconds }, servers);
    } finally {
      clearInterval(timer);
      await Promise.all(sampling);
    }
    samples.sort((a, b) => a.atSeconds - b.atSeconds);
    const early = samples.filter((s) => s.atSeconds >= windowSeconds && s.atSeconds < 2 * windowSeconds).map((s) => s.rssMb);
    const late = samples.filter((s) => s.atSeconds >= seconds - windowSeconds).map((s) => s.rssMb);
    const earlyMedianMb = median(early);
    const lateMedianMb = median(late);
    const changePercent = round(((lateMedianMb - earlyMedianMb) / earlyMedianMb) * 100, 1);
    for (const span of result.timeline ?? []) {
      const ms = (value: number | null) => (value === null || !Number.isFinite(value) ? 'n/a' : `${value.toFixed(1)} ms`);
      log(`  ${String(span.fromSeconds).padStart(4)} s +${windowSeconds}: ${span.requests} requests, p99 ${ms(span.p99Ms)}, max ${ms(span.maxMs)}, ${span.non2xx + span.errors} failed`);
    }
    return {
      seconds,
      warmupSeconds: warmedSeconds,
      warmupMarkCompacts,
      targetRps,
      rps: round(result.rps, 1),
      p99Ms: result.latency.p99Ms,
      errors: result.errors + result.non2xx,
      sampleEverySeconds,
      samples,
      windowSeconds,
      earlyMedianMb,
      lateMedianMb,
      changePercent,
      flat: Math.abs(changePercent) <= 10,
      ...(result.timeline === undefined ? {} : { timeline: result.timeline }),
    };
  } finally {
    await stopAll();
    floors.dispose();
  }
}

function writeResults(path: string, results: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(results, null, 2)}\n`);
}

function readExisting(path: string): BenchResults | undefined {
  try {
    const value = JSON.parse(readFileSync(path, 'utf8')) as Partial<BenchResults>;
    return value.servers !== undefined && value.latency !== undefined ? (value as BenchResults) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs bench/expression-floors.ts in a process of its own (its in-process comparison must not
 * share a heap with the bench's bookkeeping) and reads the row it prints.
 */
function measureExpressionFloors(quick: boolean): ExpressionFloorsRow {
  const args = ['--import', 'tsx', 'bench/expression-floors.ts', '--json', '--rounds', quick ? '2' : '20', '--panels', quick ? '200' : '2000'];
  const result = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', env: cleanEnv({}) });
  if (result.status !== 0) throw new Error(`bench/expression-floors.ts failed:\n${result.stdout}${result.stderr}`);
  const line = result.stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(line) as ExpressionFloorsRow;
}

/** The per-request expression-floors row: bench/tracing.ts's method and size; quick mode only checks the plumbing. */
const EXPRESSION_FLOORS_REQUEST_FULL: ExpressionFloorsRequestPlan = { rounds: 6, seconds: 3, connections: 16, warmupRequests: 2000 };
const EXPRESSION_FLOORS_REQUEST_QUICK: ExpressionFloorsRequestPlan = { rounds: 1, seconds: 1, connections: 4, warmupRequests: 50, roundWarmupRequests: 20 };
/** The tracing row: bench/tracing.ts's defaults (both servers loaded at once); quick mode only checks the plumbing. */
const TRACING_FULL: TracingPlan = { rounds: 10, seconds: 4, connections: 16, warmupRequests: 2000 };
const TRACING_QUICK: TracingPlan = { rounds: 1, seconds: 1, connections: 4, warmupRequests: 50, roundWarmupRequests: 20 };
/** The allocations row: bench/allocations.ts's defaults; quick mode only checks the plumbing. */
const ALLOCATIONS_FULL: AllocationsPlan = { rounds: 2, seconds: 5, connections: 100 };
const ALLOCATIONS_QUICK: AllocationsPlan = { rounds: 1, seconds: 1, connections: 4, warmupRequests: 50, roundWarmupRequests: 20 };

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const started = performance.now();
  // Full and soak runs measure what production runs: compiled JavaScript. Quick runs only
  // check the harness, so they skip the build.
  if (!options.quick) {
    log('building dist/ (npm run build)');
    useCompiledChildren();
  }
  const markdownFile = join(ROOT, 'BENCHMARKS.md');
  /**
   * A partial run (soak, frozen upstream) replaces its rows in the last results and keeps the
   * rest as measured; without earlier results it writes `alone`.
   */
  const mergeIntoResults = (rows: Partial<BenchResults>, what: string, alone: unknown): void => {
    const existing = readExisting(options.out);
    if (existing === undefined) {
      writeResults(options.out, alone);
      log(`wrote ${options.out} (${what}: run a full bench first to get the table)`);
      return;
    }
    const { targets: _old, ...rest } = existing;
    const merged: BenchResults = { ...rest, ...rows, targets: evaluateTargets({ ...rest, ...rows }) };
    writeResults(options.out, merged);
    log(`wrote ${options.out}`);
    if (options.markdown) {
      rewriteMarkedSection(markdownFile, renderMarkdown(merged));
      log(`rewrote the results section of ${markdownFile}`);
    }
  };

  if (options.mode === 'soak') {
    const soakWarnings: string[] = [];
    const soak = await runSoak(options.soakSeconds, options.soakWarmupSeconds, soakWarnings);
    for (const warning of soakWarnings) log(`warning: ${warning}`);
    log(`soak: RSS ${soak.earlyMedianMb.toFixed(1)} → ${soak.lateMedianMb.toFixed(1)} MB (${soak.changePercent.toFixed(1)} %): ${soak.flat ? 'flat' : 'NOT flat'}`);
    const rss = soakSlopeMbPerMinute(soak.samples, soak.seconds);
    const others = SOAK_FIGURES.map(({ short, pick }) => `, ${short} ${soakSlopeMbPerMinute(soak.samples, soak.seconds, pick).slope.toFixed(2)}`).join('');
    log(`soak: per-minute minima fitted, MB/min: RSS ${rss.slope.toFixed(2)}${others}`);
    mergeIntoResults({ soak }, 'soak only', { generatedAt: new Date().toISOString(), soak });
    return;
  }

  if (options.mode === 'peers') {
    const run = await runPeers(options.quick ? QUICK : FULL, started, options.simultaneous, options.peerNodeFlags, options.peerPools);
    writeResults(options.out, run);
    log('');
    log(
      `CPU µs/req, pooled: Floorplan ${run.cpuUsPerReq.floorplan}${run.floorplanBeside === undefined ? '' : ` (beside (d) ${run.floorplanBeside.upstreamFloor}, (e) ${run.floorplanBeside.apolloPeer}, (f) ${run.floorplanBeside.mercuriusPeer})`}, ` +
        `(d) ${run.cpuUsPerReq.upstreamFloor}, (e) ${run.cpuUsPerReq.apolloPeer}, (f) ${run.cpuUsPerReq.mercuriusPeer}; ` +
        `Floorplan ÷ (d) ${run.ratios.upstreamFloor}×, ÷ (e) ${run.ratios.apolloPeer}×, ÷ (f) ${run.ratios.mercuriusPeer}×`,
    );
    for (const line of targetLines(run.targets)) log(line);
    for (const warning of run.warnings) log(`warning: ${warning}`);
    log(`wrote ${options.out} in ${run.durationSeconds} s`);
    return;
  }

  if (options.mode === 'frozen-upstream') {
    const frozenWarnings: string[] = [];
    const floors = createBenchFloorsDir();
    let frozenUpstream: FrozenUpstreamPhase;
    try {
      frozenUpstream = await runFrozenUpstream(options.quick ? QUICK : FULL, floors.dir, frozenWarnings);
    } finally {
      await stopAll();
      floors.dispose();
    }
    for (const line of targetLines(frozenUpstreamTargets(frozenUpstream))) log(line);
    for (const warning of frozenWarnings) log(`warning: ${warning}`);
    mergeIntoResults({ frozenUpstream }, 'frozen-upstream rows only', { generatedAt: new Date().toISOString(), frozenUpstream, targets: frozenUpstreamTargets(frozenUpstream) });
    return;
  }

  if (options.mode === 'overload') {
    const overloadWarnings: string[] = [];
    const overload = await runOverloadOnly(options.quick ? QUICK : FULL, overloadWarnings);
    for (const line of targetLines(overloadTargets(overload))) log(line);
    for (const warning of overloadWarnings) log(`warning: ${warning}`);
    mergeIntoResults({ overload }, 'overload rows only', { generatedAt: new Date().toISOString(), overload, targets: overloadTargets(overload) });
    return;
  }

  const warnings: string[] = [];
  const measured = await runComparison(options.mode === 'quick' ? QUICK : FULL, options.mode, warnings);
  log("upstream-parse: the upstream client's parse + contract, JSON.parse vs exact amounts");
  const upstreamParse = await measureUpstreamParse(options.mode === 'quick' ? UPSTREAM_PARSE_QUICK : UPSTREAM_PARSE_FULL, log);
  log('expression floors: the seed panel with lj and coupon as CEL expressions vs the hand-written builders');
  const expressionFloors = measureExpressionFloors(options.mode === 'quick');
  log(`  ${expressionFloors.expressionsUs.toFixed(1)} vs ${expressionFloors.buildersUs.toFixed(1)} µs per render: ${expressionFloors.ratio.toFixed(3)}×`);
  log('expression floors per request: two servers, the same panel with lj and coupon as CEL expressions vs the builders');
  const expressionFloorsRequest = await measureExpressionFloorsPerRequest(options.mode === 'quick' ? EXPRESSION_FLOORS_REQUEST_QUICK : EXPRESSION_FLOORS_REQUEST_FULL, (line) => log(`  ${line}`));
  log(`  ${expressionFloorsRequest.expressionsUsPerReq.toFixed(1)} vs ${expressionFloorsRequest.buildersUsPerReq.toFixed(1)} µs per request: ${expressionFloorsRequest.ratio.toFixed(3)}×`);
  log('tracing: two servers, tracing on at 10 % (OTLP/HTTP) vs off, loaded at the same time');
  const tracing = await measureTracing(options.mode === 'quick' ? TRACING_QUICK : TRACING_FULL, (line) => log(`  ${line}`));
  log(`  ${tracing.onUsPerReq.toFixed(1)} vs ${tracing.offUsPerReq.toFixed(1)} µs per request: ${tracing.ratio.toFixed(3)}×`);
  log('allocations: bytes allocated per request, garbage included, by Floorplan, (d) and (f)');
  const allocationsPlan = options.mode === 'quick' ? ALLOCATIONS_QUICK : ALLOCATIONS_FULL;
  const allocations = allocationsRow(allocationsPlan, await measureAllocations(allocationsPlan, (line) => log(`  ${line}`)));
  // A soak from an earlier run stays in the results until the next soak replaces it.
  const previousSoak = readExisting(options.out)?.soak;
  const partial = {
    generatedAt: new Date().toISOString(),
    durationSeconds: round((performance.now() - started) / 1000, 1),
    ...measured,
    upstreamParse,
    expressionFloors,
    expressionFloorsRequest,
    tracing,
    allocations,
    ...(previousSoak === undefined ? {} : { soak: previousSoak }),
  };
  const results: BenchResults = { ...partial, targets: evaluateTargets(partial) };
  writeResults(options.out, results);

  log('');
  for (const line of targetLines(results.targets)) log(line);
  for (const warning of warnings) log(`warning: ${warning}`);
  log(`\nwrote ${options.out} in ${results.durationSeconds} s`);
  if (options.markdown) {
    rewriteMarkedSection(markdownFile, renderMarkdown(results));
    log(`rewrote the results section of ${markdownFile}`);
  }
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\nbench: ${signal}, stopping every process it started …\n`);
    stopAll(1000).finally(() => process.exit(130));
  });
}
process.on('exit', killAllNow);

main().then(
  () => process.exit(0),
  async (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
    await stopAll(1000);
    process.exit(1);
  },
);
