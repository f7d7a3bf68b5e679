/**
 * The shape of bench/results/latest.json, the targets checked against it (printed as
 * pass/miss, never asserted), and the Markdown table written into BENCHMARKS.md.
 */
import { readFileSync, writeFileSync } from 'node:fs';

export type Upstream = 'cart' | 'promotion' | 'settlement';
export const UPSTREAM_NAMES: readonly Upstream[] = ['cart', 'promotion', 'settlement'];

/** One measured run against one server. */
export interface ServerRow {
  /** Responses per second over the measured window. */
  readonly rps: number;
  /** Latency percentiles of 2xx responses, request written → last byte read, ms. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Server-process CPU time (utime + stime) in the window ÷ responses in it, µs. */
  readonly cpuUsPerReq: number;
  /** Server-process resident memory after the window, MB. */
  readonly rssMb: number;
  /** Responses in the window, and the failures among them. */
  readonly requests: number;
  readonly non2xx: number;
  readonly errors: number;
  /** Server CPU time ÷ wall time: ~1.0 means the server had its core to itself and used all of it. */
  readonly serverCoreBusy: number;
  /** (Load worker + demo upstreams CPU) ÷ wall time, on the generator's core; near 1.0 means the generator side limited req/s. */
  readonly generatorCoreBusy: number;
}

/** Floorplan's extra facts for a run. */
export interface FloorplanFacts {
  /** Upstream calls per GraphQL request, per upstream (Floorplan's own counters: exact). */
  readonly upstreamCallsPerRequest: Readonly<Record<Upstream, number>>;
  /** Upstream calls in the window whose outcome was not `ok`, and how they failed (timeout, http_error, …). */
  readonly upstreamFailures: number;
  readonly upstreamFailedOutcomes: Readonly<Record<string, number>>;
}

export interface FloorplanRow extends ServerRow, FloorplanFacts {
  /** From the latency phase: Floorplan's p99 minus the upstream critical path's p99 at half saturation. */
  readonly overheadP99Ms: number | null;
  /** Whether Floorplan's live answer equals the baselines' static panel (else the comparison is of different work). */
  readonly panelMatchesStatic: boolean;
}

export interface ScalingRow extends ServerRow, FloorplanFacts {
  readonly name: string;
  readonly description: string;
  /** Floors in the rendered panel, and cart lines in the quote. */
  readonly floors: number;
  readonly cartLines: number;
}

/** Garbage collections of one kind in a window. */
export interface GcFacts {
  readonly count: number;
  readonly totalMs: number;
  readonly meanMs: number;
}

/** The garbage collections Floorplan ran during a window: where a latency tail comes from. */
export interface RuntimeFacts {
  /** Scavenges: stop-the-world copies of the young generation. */
  readonly minorGc: GcFacts;
  /** Mark-compact finalisations (the stop-the-world end of a full GC). */
  readonly majorGc: GcFacts;
  /** Incremental marking steps of a full GC, interleaved with JavaScript. */
  readonly incrementalGc: GcFacts;
}

export interface LatencyPhase {
  /** Injected latency of each demo upstream, ms (DEMO_FAULTS latency). */
  readonly upstreamLatencyMs: number;
  readonly connections: number;
  /** Floorplan flat out, against the slow upstreams. */
  readonly saturation: ServerRow & FloorplanFacts;
  readonly halfRate: RateRun & {
    /** The fixed arrival rate asked of the load: half the saturation req/s. */
    readonly targetRps: number;
    readonly upstreamCallsPerRequest: Readonly<Record<Upstream, number>>;
    /** Garbage collections in Floorplan during this window. */
    readonly runtime: RuntimeFacts;
    /** The same rate from autocannon's overallRate (per-second bursts), full runs only: why it is not the measure. */
    readonly autocannonPacing?: { readonly rps: number; readonly p50Ms: number; readonly p99Ms: number };
  };
  /**
   * The control: reference (d) — the three upstream calls and nothing else — at Floorplan's
   * half-saturation rate, measured the same way. Its overhead is the method's floor on this machine.
   * Absent in results written before it was measured.
   */
  readonly referenceHalfRate?: RateRun;
}

/** A server at a fixed rate next to the critical-path probe: what the overhead method reports for it. */
export interface RateRun {
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly cpuUsPerReq: number;
  /** cart → (promotion ∥ settlement) timed directly against the same upstreams, same window. */
  readonly criticalPath: { readonly samples: number; readonly p50Ms: number; readonly p99Ms: number; readonly failures: number };
  readonly overheadP50Ms: number;
  readonly overheadP99Ms: number;
}

export interface SoakResult {
  readonly seconds: number;
  readonly targetRps: number;
  readonly rps: number;
  readonly p99Ms: number;
  readonly errors: number;
  /** RSS of Floorplan every `sampleEverySeconds`, from the start of the soak. */
  readonly sampleEverySeconds: number;
  readonly samples: ReadonlyArray<{ readonly atSeconds: number; readonly rssMb: number }>;
  /** Median RSS over the second window (e.g. the second minute) and the last one. */
  readonly windowSeconds: number;
  readonly earlyMedianMb: number;
  readonly lateMedianMb: number;
  readonly changePercent: number;
  /** |late − early| ≤ 10 % of early. */
  readonly flat: boolean;
}

export interface Target {
  readonly id: string;
  readonly description: string;
  /** The measured value, as shown. */
  readonly actual: string;
  /** null: not measured in this run. */
  readonly pass: boolean | null;
}

export type BaselineName = 'rawHttp' | 'apolloStandalone' | 'mercuriusJit' | 'upstreamFloor';
/**
 * (a)–(c) answer from memory; (d) is a reference, not a peer: the same three upstream calls
 * Floorplan makes, and nothing else — the least a server answering from these upstreams spends.
 */
export const BASELINES: ReadonlyArray<{ readonly key: BaselineName; readonly label: string; readonly letter: string }> = [
  { key: 'rawHttp', label: 'raw node:http, precomputed JSON', letter: 'a' },
  { key: 'apolloStandalone', label: 'Apollo Server 5 standalone, static resolvers', letter: 'b' },
  { key: 'mercuriusJit', label: 'Mercurius + graphql-jit, static resolvers', letter: 'c' },
  { key: 'upstreamFloor', label: 'upstream floor: raw node:http + the same 3 upstream calls (undici), precomputed JSON', letter: 'd' },
];

export interface BenchResults {
  readonly generatedAt: string;
  readonly mode: 'quick' | 'full';
  readonly durationSeconds: number;
  readonly machine: { readonly cores: number; readonly cpuModel: string; readonly node: string; readonly platform: string };
  readonly packages: Readonly<Record<string, string>>;
  readonly method: {
    readonly pinned: boolean;
    readonly connections: number;
    readonly latencyConnections: number;
    readonly warmupRequests: number;
    readonly measureSeconds: number;
    readonly scalingMeasureSeconds: number;
    /** Length of the half-saturation window (the p99 overhead). Absent in results written before it was recorded. */
    readonly halfRateSeconds?: number;
    /** Distinct users the load speaks for, one per connection (bench/users.ts). */
    readonly loadUsers: number;
    /** CPU µs/req comes from this many interleaved rounds of cpuRoundSeconds per server. */
    readonly cpuRounds: number;
    readonly cpuRoundSeconds: number;
  };
  /** CPU µs/req per server in each interleaved round (the servers' cpuUsPerReq pool all rounds). */
  readonly cpuRounds: ReadonlyArray<Readonly<Record<string, number>>>;
  /** req/s of floors-6 and floors-30 in each interleaved round (their rows' req/s and CPU pool all rounds). */
  readonly scalingRounds?: ReadonlyArray<Readonly<Record<string, number>>>;
  readonly servers: { readonly floorplan: FloorplanRow } & Readonly<Record<BaselineName, ServerRow>>;
  /** Floorplan ÷ baseline, per metric. */
  readonly ratios: Readonly<Record<BaselineName, { readonly rps: number; readonly cpuUsPerReq: number; readonly p50Ms: number; readonly p99Ms: number; readonly rssMb: number }>>;
  readonly latency: LatencyPhase;
  readonly scaling: readonly ScalingRow[];
  readonly targets: readonly Target[];
  readonly warnings: readonly string[];
  readonly soak?: SoakResult;
}

const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

/** The targets of issue 5; `soak` only when a soak has run. */
export function evaluateTargets(results: Omit<BenchResults, 'targets'>): Target[] {
  const fp = results.servers.floorplan;
  const calls = UPSTREAM_NAMES.map((u) => `${u} ${fixed(fp.upstreamCallsPerRequest[u], 2)}`).join(', ');
  const exactlyOne = UPSTREAM_NAMES.every((u) => fixed(fp.upstreamCallsPerRequest[u], 2) === '1.00');
  const apollo = results.servers.apolloStandalone;
  const floors6 = results.scaling.find((r) => r.name === 'floors-6');
  const floors30 = results.scaling.find((r) => r.name === 'floors-30');
  const floorsRatio = floors6 && floors30 ? floors30.rps / floors6.rps : Number.NaN;
  const overhead = results.latency.halfRate.overheadP99Ms;
  const rss = results.latency.saturation.rssMb;
  const targets: Target[] = [
    { id: 'upstream-calls', description: 'upstream calls per request exactly 1.00 per upstream', actual: calls, pass: exactlyOne },
    {
      id: 'cpu-vs-apollo',
      description: "Floorplan full-panel CPU µs/req ≤ 1.0× bare Apollo's (b)",
      actual: `${fixed(fp.cpuUsPerReq, 1)} vs ${fixed(apollo.cpuUsPerReq, 1)} µs/req (${fixed(fp.cpuUsPerReq / apollo.cpuUsPerReq, 2)}×)`,
      pass: fp.cpuUsPerReq <= apollo.cpuUsPerReq,
    },
    {
      id: 'floors-30',
      description: '30-floor throughput ≥ 0.8× 6-floor',
      actual: floors6 && floors30 ? `${fixed(floors30.rps, 0)} vs ${fixed(floors6.rps, 0)} req/s (${fixed(floorsRatio, 2)}×)` : 'not measured',
      pass: Number.isFinite(floorsRatio) ? floorsRatio >= 0.8 : null,
    },
    {
      id: 'overhead-p99',
      description: 'p99 overhead over the upstream critical path ≤ 2 ms at half saturation',
      actual:
        `${fixed(overhead, 2)} ms` +
        (results.latency.referenceHalfRate === undefined ? '' : ` (control (d), no work of its own: ${fixed(results.latency.referenceHalfRate.overheadP99Ms, 2)} ms)`),
      pass: overhead <= 2,
    },
    {
      id: 'rss-200-connections',
      description: `RSS ≤ 200 MB at ${results.latency.connections} connections`,
      actual: `${fixed(rss, 1)} MB`,
      pass: rss <= 200,
    },
  ];
  const soak = results.soak;
  targets.push({
    id: 'soak-flat',
    description: 'RSS flat over a soak at a fixed rate (last-window median within 10 % of the second window)',
    actual: soak ? `${fixed(soak.earlyMedianMb, 1)} → ${fixed(soak.lateMedianMb, 1)} MB (${fixed(soak.changePercent, 1)} %) over ${soak.seconds} s` : 'not run (npm run bench -- --soak)',
    pass: soak ? soak.flat : null,
  });
  return targets;
}

/** "PASS  …" / "MISS  …" / "----  …" lines for the console. */
export function targetLines(targets: readonly Target[]): string[] {
  return targets.map((t) => `${t.pass === null ? '----' : t.pass ? 'PASS' : 'MISS'}  ${t.description}: ${t.actual}`);
}

const MARK_START = '<!-- bench:start -->';
const MARK_END = '<!-- bench:end -->';

function row(cells: readonly (string | number)[]): string {
  return `| ${cells.join(' | ')} |`;
}

function serverCells(r: ServerRow): string[] {
  return [fixed(r.rps, 0), fixed(r.p50Ms, 2), fixed(r.p99Ms, 2), fixed(r.cpuUsPerReq, 1), fixed(r.rssMb, 1)];
}

/** How CPU µs/req was pooled, and Floorplan ÷ (b) and ÷ (d) in each round, so the spread shows. */
function cpuRoundsLine(results: BenchResults): string[] {
  const rounds = results.cpuRounds ?? [];
  if (rounds.length === 0) return [];
  const per = (base: string) =>
    rounds.map((r) => `${fixed((r['floorplan'] ?? Number.NaN) / (r[base] ?? Number.NaN), 2)}×`).join(', ');
  return [
    `CPU µs/req: every server's CPU time over its requests, pooled from ${rounds.length} interleaved rounds (round-robin, ${results.method.cpuRoundSeconds} s per server per round). ` +
      `Floorplan ÷ (b) per round: ${per('apolloStandalone')}; Floorplan ÷ (d) per round: ${per('upstreamFloor')}.`,
  ];
}

/** The generated section of BENCHMARKS.md (without the markers). */
/** One sentence on what Floorplan's runtime did in the half-rate window: where its latency tail comes from. */
function runtimeLine(runtime: RuntimeFacts, seconds: number | undefined): string {
  const window = seconds === undefined ? 'the half-rate window' : `the ${seconds} s half-rate window`;
  const gc = (facts: GcFacts, one: string, many: string) =>
    `${facts.count} ${facts.count === 1 ? one : many}${facts.count > 0 ? ` (mean ${fixed(facts.meanMs, 2)} ms, ${fixed(facts.totalMs, 0)} ms in all)` : ''}`;
  return (
    `In ${window} Floorplan ran ${gc(runtime.minorGc, 'scavenge', 'scavenges')}, ${gc(runtime.majorGc, 'mark-compact', 'mark-compacts')} and ` +
    `${gc(runtime.incrementalGc, 'incremental marking step', 'incremental marking steps')}. Every request in flight during a pause waits it out.`
  );
}

export function renderMarkdown(results: BenchResults): string {
  const out: string[] = [];
  const { machine, method } = results;
  out.push(
    `Generated ${results.generatedAt} by \`npm run bench${results.mode === 'quick' ? ' -- --quick' : ''}\` in ${fixed(results.durationSeconds, 0)} s` +
      (results.mode === 'quick' ? ' — **quick mode: plumbing check, not numbers to quote**.' : '.'),
    '',
    `Machine: ${machine.cores} cores, ${machine.cpuModel}, Node ${machine.node} (${machine.platform}); ` +
      (method.pinned ? 'server under test pinned to core 0, load generator and demo upstreams to core 1.' : '**not pinned** (taskset or a second core missing).'),
    `Load: autocannon, ${method.connections} connections (${method.latencyConnections} in the latency phase), each speaking for its own user (${method.loadUsers} users); ` +
      `${method.warmupRequests} warm-up requests, then ${method.measureSeconds} s measured per server (${method.scalingMeasureSeconds} s per scaling row` +
      `${method.halfRateSeconds === undefined ? '' : `, ${method.halfRateSeconds} s at half saturation`}).`,
    ...cpuRoundsLine(results),
    '',
    `Packages: ${Object.entries(results.packages)
      .map(([name, version]) => `${name} ${version}`)
      .join(', ')}.`,
    '',
    '### The same panel, five servers',
    '',
    row(['server', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'RSS MB']),
    row(['---', '---:', '---:', '---:', '---:', '---:']),
    row(['**Floorplan** (3 upstream calls, auth, 7 floors)', ...serverCells(results.servers.floorplan)]),
  );
  for (const b of BASELINES) out.push(row([`(${b.letter}) ${b.label}`, ...serverCells(results.servers[b.key])]));
  out.push('', row(['Floorplan ÷', 'req/s', 'p50', 'p99', 'CPU µs/req', 'RSS']), row(['---', '---:', '---:', '---:', '---:', '---:']));
  for (const b of BASELINES) {
    const r = results.ratios[b.key];
    out.push(row([`(${b.letter})`, ...[r.rps, r.p50Ms, r.p99Ms, r.cpuUsPerReq, r.rssMb].map((v) => `${fixed(v, 2)}×`)]));
  }
  const fp = results.servers.floorplan;
  out.push(
    '',
    `Floorplan upstream calls per request: ${UPSTREAM_NAMES.map((u) => `${u} ${fixed(fp.upstreamCallsPerRequest[u], 2)}`).join(', ')}` +
      ` (${fp.upstreamFailures} failed calls). Core use during its run: server ${fixed(fp.serverCoreBusy * 100, 0)} %, generator core ${fixed(fp.generatorCoreBusy * 100, 0)} %.`,
  );
  if (!fp.panelMatchesStatic) out.push('', "**Floorplan's live panel differed from the baselines' static panel during this run.**");

  const lat = results.latency;
  const half = lat.halfRate;
  out.push(
    '',
    `### Latency over the upstream critical path (each upstream +${lat.upstreamLatencyMs} ms)`,
    '',
    row(['run', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'RSS MB']),
    row(['---', '---:', '---:', '---:', '---:', '---:']),
    row([`Floorplan saturated, ${lat.connections} connections`, ...serverCells(lat.saturation)]),
    row([`Floorplan at ${half.targetRps} req/s (half saturation)`, fixed(half.rps, 0), fixed(half.p50Ms, 2), fixed(half.p99Ms, 2), fixed(half.cpuUsPerReq, 1), '']),
    row([`critical path cart → (promotion ∥ settlement), ${half.criticalPath.samples} probes`, '', fixed(half.criticalPath.p50Ms, 2), fixed(half.criticalPath.p99Ms, 2), '', '']),
    row(['**overhead** (Floorplan − critical path)', '', fixed(half.overheadP50Ms, 2), `**${fixed(half.overheadP99Ms, 2)}**`, '', '']),
    ...(lat.referenceHalfRate === undefined
      ? []
      : [
          row([`control: (d) at the same rate (the three calls, nothing else)`, fixed(lat.referenceHalfRate.rps, 0), fixed(lat.referenceHalfRate.p50Ms, 2), fixed(lat.referenceHalfRate.p99Ms, 2), fixed(lat.referenceHalfRate.cpuUsPerReq, 1), '']),
          row([`critical path during that run, ${lat.referenceHalfRate.criticalPath.samples} probes`, '', fixed(lat.referenceHalfRate.criticalPath.p50Ms, 2), fixed(lat.referenceHalfRate.criticalPath.p99Ms, 2), '', '']),
          row(['overhead of (d): the method\'s floor on this machine', '', fixed(lat.referenceHalfRate.overheadP50Ms, 2), fixed(lat.referenceHalfRate.overheadP99Ms, 2), '', '']),
        ]),
    ...(half.autocannonPacing === undefined
      ? []
      : [
          row([
            `for contrast: the same rate from autocannon's overallRate (a burst each second)`,
            fixed(half.autocannonPacing.rps, 0),
            fixed(half.autocannonPacing.p50Ms, 2),
            fixed(half.autocannonPacing.p99Ms, 2),
            '',
            '',
          ]),
        ]),
    ...(half.runtime === undefined ? [] : ['', runtimeLine(half.runtime, results.method.halfRateSeconds)]),
    '',
    '### Scaling (Floorplan, fast upstreams)',
    '',
    row(['row', 'floors', 'cart lines', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'RSS MB', 'calls/req c·p·s']),
    row(['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---']),
  );
  for (const s of results.scaling) {
    const calls = UPSTREAM_NAMES.map((u) => fixed(s.upstreamCallsPerRequest[u], 2)).join(' · ');
    out.push(row([`${s.name}: ${s.description}`, s.floors, s.cartLines, ...serverCells(s), calls]));
  }
  const floorRounds = results.scalingRounds ?? [];
  if (floorRounds.length > 0) {
    out.push(
      '',
      `req/s and CPU µs/req of floors-6 and floors-30 pool ${floorRounds.length} interleaved rounds (${results.method.cpuRoundSeconds} s each); ` +
        `30 ÷ 6 floors per round: ${floorRounds.map((r) => `${fixed((r['floors-30'] ?? Number.NaN) / (r['floors-6'] ?? Number.NaN), 2)}×`).join(', ')}.`,
    );
  }
  if (results.soak) {
    const soak = results.soak;
    out.push(
      '',
      `### Soak: ${soak.seconds} s at ${soak.targetRps} req/s`,
      '',
      `Achieved ${fixed(soak.rps, 0)} req/s, p99 ${fixed(soak.p99Ms, 2)} ms, ${soak.errors} errors. RSS median ${fixed(soak.earlyMedianMb, 1)} MB in the second ${soak.windowSeconds} s window, ` +
        `${fixed(soak.lateMedianMb, 1)} MB in the last (${fixed(soak.changePercent, 1)} %): ${soak.flat ? 'flat' : '**not flat**'}. ` +
        `Samples every ${soak.sampleEverySeconds} s: ${soak.samples.map((s) => fixed(s.rssMb, 0)).join(', ')} MB.`,
    );
  }
  out.push('', '### Targets (reported, never asserted)', '', ...targetLines(results.targets).map((line) => `- \`${line.slice(0, 4)}\` ${line.slice(6)}`));
  if (results.warnings.length > 0) out.push('', '### Warnings from this run', '', ...results.warnings.map((w) => `- ${w}`));
  return out.join('\n');
}

/** Replaces the text between the bench markers of `file`; refuses a file without them. */
export function rewriteMarkedSection(file: string, content: string): void {
  const text = readFileSync(file, 'utf8');
  const start = text.indexOf(MARK_START);
  const end = text.indexOf(MARK_END);
  if (start === -1 || end === -1 || end < start) {
    throw new Error(`${file} must contain ${MARK_START} … ${MARK_END} to receive the results, but they are missing or out of order`);
  }
  writeFileSync(file, `${text.slice(0, start + MARK_START.length)}\n${content}\n${text.slice(end)}`);
}
