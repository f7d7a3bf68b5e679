/**
 * The shape of bench/results/latest.json, the targets checked against it (printed as
 * pass/miss, never asserted), and the Markdown table written into BENCHMARKS.md.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { TimelineSpan } from './load-job.ts';
import { PEERS, peersSection, peerTargets, soakSlopeMbPerMinute, soakSlopeTarget, type PeerName, type PeersPhase } from './peers.ts';
import type { UpstreamParseRow } from './upstream-parse.ts';

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
  /**
   * Each round's own figures, when the run pooled interleaved rounds (Floorplan's and (d)'s
   * windows alternating); the fields above are over every round's samples together.
   */
  readonly rounds?: ReadonlyArray<{
    readonly p99Ms: number;
    readonly criticalPathP99Ms: number;
    readonly overheadP99Ms: number;
    /** Time the hypervisor took from each core in the round's window, ms (index = core; servers run on core 0). */
    readonly stealMs?: readonly number[];
    /**
     * Mark-compacts in the round's window, from the server's /metrics (Floorplan's only: the
     * peers have none). One in a window is what a p99 over 20 ms has meant (session 23).
     */
    readonly markCompacts?: number;
  }>;
}

/** Where Floorplan's memory is, in MB, from its /metrics (each absent in results from before session 21, the last two before session 22). */
export interface HeapFigures {
  /** V8's old space in use: what stays alive. */
  readonly oldSpaceUsedMb?: number;
  /** V8's whole heap as committed (every space, used or not). */
  readonly heapCommittedMb?: number;
  /** Memory outside V8's heap held by JavaScript objects (Buffers, ArrayBuffers). */
  readonly externalMb?: number;
}

/** One sample of the soak: Floorplan's RSS, and where its memory is. */
export interface SoakSample extends HeapFigures {
  readonly atSeconds: number;
  readonly rssMb: number;
  /** Mark-compacts Floorplan had run since it started, from its /metrics (absent before session 38). */
  readonly markCompacts?: number;
}

export interface SoakResult {
  readonly seconds: number;
  /**
   * Seconds at the same rate before sampling began (absent in results from before session 21:
   * none): the warm-up asked for, longer when fewer than two mark-compacts had run in it.
   */
  readonly warmupSeconds?: number;
  /** Mark-compacts in the warm-up (absent before session 38). */
  readonly warmupMarkCompacts?: number;
  readonly targetRps: number;
  readonly rps: number;
  readonly p99Ms: number;
  readonly errors: number;
  /** RSS of Floorplan every `sampleEverySeconds`, from the start of the soak. */
  readonly sampleEverySeconds: number;
  readonly samples: readonly SoakSample[];
  /** Median RSS over the second window (e.g. the second minute) and the last one. */
  readonly windowSeconds: number;
  readonly earlyMedianMb: number;
  readonly lateMedianMb: number;
  readonly changePercent: number;
  /** |late − early| ≤ 10 % of early. */
  readonly flat: boolean;
  /** The soak span by span (`windowSeconds` each), by when each request was due (absent before session 38). */
  readonly timeline?: readonly TimelineSpan[];
}

/**
 * One overload row: Floorplan pushed past saturation (fast upstreams), every answer sorted by
 * what it was. Goodput is full panels per second: a degraded panel or a refusal is not the
 * product, however fast it comes back.
 */
export interface OverloadRow {
  /** closed-1x, closed-2x, closed-4x or open-2x. */
  readonly name: string;
  /** closed: each connection sends its next request when its answer arrives; open: arrivals on a fixed schedule, answered or not. */
  readonly loop: 'closed' | 'open';
  /** Multiple of the saturating connections (closed) or of the saturation rate (open). */
  readonly multiple: number;
  /** Closed: connections, one request in flight each. Open: the most connections the arrivals may hold at once. */
  readonly connections: number;
  /** Open loop: the arrival rate, req/s; null for a closed loop. */
  readonly offeredRps: number | null;
  /** From the first measured request to the last answer, s. */
  readonly seconds: number;
  /** Full panels per second. */
  readonly goodputPerSecond: number;
  readonly degradedPerSecond: number;
  /** HTTP 503 OVERLOADED answers per second. */
  readonly shedPerSecond: number;
  /** Any other answer, or none at all (reset, timeout), per second. */
  readonly otherPerSecond: number;
  /** Latency of full panels and of shed answers (sent → last byte), ms; null when the row had none. */
  readonly fullP50Ms: number | null;
  readonly fullP99Ms: number | null;
  readonly shedP50Ms: number | null;
  readonly shedP99Ms: number | null;
  /**
   * Open loop: the same p99s timed from the moment a connection was free instead of from the
   * arrival's due time — Floorplan's share, without the generator's queue; null for a closed
   * loop (where they are the figures above) or a class with no answers.
   */
  readonly fullP99OnConnectionMs: number | null;
  readonly shedP99OnConnectionMs: number | null;
  /** Answers in the window by class; `errors`: requests that got no answer. */
  readonly full: number;
  readonly degraded: number;
  readonly shed: number;
  readonly other: number;
  readonly errors: number;
  /** Shed answers that came without a Retry-After header. */
  readonly shedWithoutRetryAfter: number;
  /**
   * Open loop: arrivals that found all `connections` busy and waited in the generator (their
   * latency includes the wait); null for a closed loop.
   */
  readonly queuedInGenerator: number | null;
  /** Upstream breakers that went open during the row (floorplan_upstream_breaker_opened_total; absent counts 0). */
  readonly breakerOpenings: number;
  /**
   * Upstream calls cut off by Floorplan's own request deadline (floorplan_upstream_requests_total
   * {outcome="deadline"}; absent counts 0). Each leaves its floors out: a panel degraded by the deadline.
   */
  readonly deadlineCutCalls: number;
  /** Panels Floorplan counted as degraded, for any reason (floorplan_panels_total{degraded="true"}). */
  readonly degradedPanels: number;
  /** Requests Floorplan counted as shed (floorplan_shed_total); null when it does not export the counter. */
  readonly serverShed: number | null;
  /** The same by its `reason` label (e.g. refused on arrival vs after waiting for a slot); empty when not exported. */
  readonly serverShedByReason: Readonly<Record<string, number>>;
  /** floorplan_admission_limit after the row; null when it is not exported. */
  readonly admissionLimit: number | null;
  /**
   * Floorplan's event-loop delay in the row (floorplan_nodejs_eventloop_lag_p99_seconds, which
   * prom-client resets at each scrape; the worst of the row's windows): a refusal cannot leave
   * before the turn that reads it. Null when not exported.
   */
  readonly loopDelayP99Ms: number | null;
  /**
   * Where an answer's time went: Floorplan's own (floorplan_http_request_duration_seconds, from
   * the request having arrived whole to the answer written) against the generator's (sent → last
   * byte), by the histogram's bounds. What the generator saw beyond Floorplan's own is the wait
   * before the request reached Floorplan's handler: the generator, the kernel's socket buffers,
   * and the turns of Floorplan's loop busy with other requests. `full` counts every HTTP 200
   * (degraded panels too); `shed`, the 503s. Null when Floorplan does not export the histogram
   * (the control), a class null when the row had none.
   */
  readonly serverTime: { readonly full: ServerTime | null; readonly shed: ServerTime | null } | null;
  /** Scavenges (young-generation GCs) in the row and their mean pause; null when not exported. */
  readonly scavenges: { readonly count: number; readonly meanMs: number } | null;
  readonly serverCoreBusy: number;
  readonly generatorCoreBusy: number;
}

/** One class of a row's answers, timed by Floorplan and by the generator against the same bounds. */
export interface ServerTime {
  /** Upper bound (ms) of the histogram bucket Floorplan's own p99 falls in (Infinity past the last). */
  readonly p99UpToMs: number;
  /** Share (0–1) of the answers Floorplan itself took more than 100 ms / 250 ms over. */
  readonly over100MsShare: number;
  readonly over250MsShare: number;
  /** The same shares as the generator timed the answers. */
  readonly clientOver100MsShare: number;
  readonly clientOver250MsShare: number;
}

/** The open loop's answers as Floorplan timed them beside the generator; empty for a result from before the row had them. */
function serverTimeSentence(open: OverloadRow): string {
  const time = open.serverTime;
  if (time === null || time === undefined) return '';
  const one = (what: string, t: ServerTime | null) =>
    t === null
      ? ''
      : `${what}: p99 ≤ ${fixed(t.p99UpToMs, 0)} ms, ${fixed(t.over100MsShare * 100, 2)} % over 100 ms and ${fixed(t.over250MsShare * 100, 2)} % over 250 ms (the generator timed ` +
        `${fixed(t.clientOver100MsShare * 100, 2)} % and ${fixed(t.clientOver250MsShare * 100, 2)} % of them over those)`;
  const parts = [one('full panels', time.full), one('shed answers', time.shed)].filter((part) => part !== '');
  return parts.length === 0 ? '' : ` Timed by Floorplan itself, from the request having arrived whole to the answer written (floorplan_http_request_duration_seconds's buckets), ${parts.join('; ')}: the rest is the wait before Floorplan's handler had the request.`;
}

/** One step of the ramp that finds the saturating connection count. */
export interface OverloadRampStep {
  readonly connections: number;
  /** Panels (full + degraded) per second. */
  readonly panelsPerSecond: number;
  readonly shedPerSecond: number;
  readonly serverCoreBusy: number;
  readonly generatorCoreBusy: number;
}

export interface OverloadPhase {
  /** The demo upstreams Floorplan called: `fast` (no injected latency), so Floorplan's core is the resource overloaded. */
  readonly upstreams: 'fast';
  /** The overload Floorplan's limits.requestDeadlineMs — the shipped one, not the bench overlay's: the bound on full panels' p99. */
  readonly requestDeadlineMs: number;
  readonly saturation: {
    /** The closed-loop connections that saturate Floorplan: 1×. */
    readonly connections: number;
    /**
     * How the ramp stopped: `core` — Floorplan's core ≥ 90 % busy; `plateau` — two doublings
     * in a row added < 5 % panels/s over the best step, and 1× is the smallest step within 5 %
     * of the best (a shared core never reads 90 % busy); `ceiling` — the ramp's largest step,
     * not found saturated.
     */
    readonly by: 'core' | 'plateau' | 'ceiling';
    /** Panels (full + degraded) per second in the 1× row: the saturation rate the open loop doubles. */
    readonly panelsPerSecond: number;
    /** The ramp's steps in the order they ran. */
    readonly ramp: readonly OverloadRampStep[];
  };
  /** Full panels per second of each closed-loop row in each interleaved round (the rows pool all rounds). */
  readonly goodputRounds: ReadonlyArray<Readonly<Record<string, number>>>;
  /** Which admission-control metrics Floorplan exports (before admission control, none: nothing is shed by construction). */
  readonly exported: { readonly shedTotal: boolean; readonly admissionLimit: boolean; readonly breakerOpenedTotal: boolean };
  readonly rows: readonly OverloadRow[];
  /**
   * The open loop's control: reference (d) fed the same arrivals, refusing `shedShare` of them
   * (the share Floorplan refused) the moment each arrives and serving the rest, so the upstreams
   * and the generator carry the same load while the server's loop never saturates. Its shed p99
   * is the floor this machine puts under the shed p99 target. Absent in results written before it.
   */
  readonly openControl?: OverloadRow & { readonly shedShare: number };
}

/**
 * One frozen-upstream row (issue 12): Floorplan and the demo upstreams as separate processes,
 * the named upstream SIGSTOPped (its sockets accept, nothing answers: a hung host) after a
 * warm-up with it healthy, then rounds of concurrent requests, each round from users not seen
 * before (promotion answers are cached per user and would hide the freeze).
 */
export interface FrozenUpstreamRow {
  readonly frozen: Upstream;
  /** Measured requests: rounds × users. */
  readonly requests: number;
  /** Latency of every answer, sent → last byte read, pooled over the rounds, ms. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** The slowest answer of each round, ms: whether later rounds (hung calls piling up) are slower. */
  readonly roundMaxMs: readonly number[];
  /** HTTP 200 panels marked degraded with the frozen upstream, and only it, in failedUpstreams. */
  readonly degraded: number;
  /** HTTP 200 panels that were anything else (complete, or naming another upstream). */
  readonly otherPanels: number;
  /** Answers other than HTTP 200 (e.g. 503 OVERLOADED). */
  readonly non200: number;
  /** Requests that got no answer at all. */
  readonly errors: number;
  /** Upstream breakers that opened during the rounds, any upstream (floorplan_upstream_breaker_opened_total). */
  readonly breakerOpenings: number;
  /**
   * Of those, the breakers of the upstreams that were *not* frozen. The frozen one's may open:
   * breakers judge upstreams, and a frozen upstream is a failing one. Absent in older results.
   */
  readonly healthyBreakerOpenings?: number;
  /** Calls to the frozen upstream cut off by the request deadline, and ended by its own timeout. */
  readonly deadlineCutCalls: number;
  readonly timeoutCalls: number;
}

export interface FrozenUpstreamPhase {
  /** limits.requestDeadlineMs Floorplan ran with (REQUEST_DEADLINE_MS). */
  readonly requestDeadlineMs: number;
  /** The issue's allowance: p99 ≤ requestDeadlineMs + slackMs. */
  readonly slackMs: number;
  /** The per-attempt timeouts of the default config, all longer than the deadline: the deadline must cut first. */
  readonly upstreamTimeoutsMs: Readonly<Record<Upstream, number>>;
  /** Concurrent requests per round, one user each. */
  readonly users: number;
  /** Rounds with the upstream healthy before it is frozen, and measured rounds after. */
  readonly warmupRounds: number;
  readonly rounds: number;
  readonly rows: readonly FrozenUpstreamRow[];
}

export interface Target {
  readonly id: string;
  readonly description: string;
  /** The measured value, as shown. */
  readonly actual: string;
  /** null: not measured in this run. */
  readonly pass: boolean | null;
}

export type BaselineName = 'rawHttp' | 'apolloStandalone' | 'mercuriusJit' | 'upstreamFloor' | PeerName;
/**
 * (a)–(c) answer from memory; (d) is a reference, not a peer: the same three upstream calls
 * Floorplan makes, and nothing else — the least a server answering from these upstreams spends.
 * (e) and (f) are the peers: what a cart team would hand-write instead of Floorplan, answering
 * the same panel from the same upstreams (bench/peers.ts). `upstreams`: it calls the demo upstreams.
 */
export const BASELINES: ReadonlyArray<{ readonly key: BaselineName; readonly label: string; readonly letter: string; readonly script: string; readonly upstreams: boolean }> = [
  { key: 'rawHttp', label: 'raw node:http, precomputed JSON', letter: 'a', script: 'raw-http', upstreams: false },
  { key: 'apolloStandalone', label: 'Apollo Server 5 standalone, static resolvers', letter: 'b', script: 'apollo-standalone', upstreams: false },
  { key: 'mercuriusJit', label: 'Mercurius + graphql-jit, static resolvers', letter: 'c', script: 'mercurius-jit', upstreams: false },
  { key: 'upstreamFloor', label: 'upstream floor: raw node:http + the same 3 upstream calls (undici), precomputed JSON', letter: 'd', script: 'upstream-floor', upstreams: true },
  ...PEERS.map((p) => ({ ...p, upstreams: true })),
];

export interface BenchResults {
  readonly generatedAt: string;
  readonly mode: 'quick' | 'full';
  readonly durationSeconds: number;
  readonly machine: { readonly cores: number; readonly cpuModel: string; readonly node: string; readonly platform: string };
  readonly packages: Readonly<Record<string, string>>;
  readonly method: {
    readonly pinned: boolean;
    /** How Floorplan was started: `node [start:prod's flags] dist/server/main.js` (absent before session 41). */
    readonly floorplanCommand?: string;
    readonly connections: number;
    readonly latencyConnections: number;
    readonly warmupRequests: number;
    readonly measureSeconds: number;
    readonly scalingMeasureSeconds: number;
    /**
     * Length of a half-saturation window (the p99 overhead): the whole window, or each round's when
     * `halfRateRounds` is set. Absent in results written before it was recorded.
     */
    readonly halfRateSeconds?: number;
    /** Half-saturation rounds, Floorplan's and (d)'s windows alternating. Absent in results from one window each. */
    readonly halfRateRounds?: number;
    /** Distinct users the load speaks for, one per connection (bench/users.ts). */
    readonly loadUsers: number;
    /** CPU µs/req comes from this many interleaved rounds of cpuRoundSeconds per server. */
    readonly cpuRounds: number;
    readonly cpuRoundSeconds: number;
    /**
     * Overload: each closed-loop row runs `overloadRounds` interleaved rounds of `overloadSeconds`;
     * the open loop one window of `overloadOpenSeconds`; each ramp step `overloadRampSeconds`.
     * Absent in results written before overload rows.
     */
    readonly overloadRounds?: number;
    readonly overloadSeconds?: number;
    readonly overloadOpenSeconds?: number;
    readonly overloadRampSeconds?: number;
  };
  /** CPU µs/req per server in each interleaved round (the servers' cpuUsPerReq pool all rounds). */
  readonly cpuRounds: ReadonlyArray<Readonly<Record<string, number>>>;
  /** req/s of floors-6 and floors-30 in each interleaved round (their rows' req/s and CPU pool all rounds). */
  readonly scalingRounds?: ReadonlyArray<Readonly<Record<string, number>>>;
  /** The peers' rows are absent in results written before them. */
  readonly servers: { readonly floorplan: FloorplanRow } & Readonly<Record<Exclude<BaselineName, PeerName>, ServerRow>> & Partial<Readonly<Record<PeerName, ServerRow>>>;
  /**
   * What the known-operations fast path saves: Floorplan's CPU µs/req with it (as served) and
   * with `server.fastPath: false` (Apollo's pipeline for every request), from the same
   * interleaved rounds. Absent in results written before it was measured.
   */
  readonly fastPath?: { readonly cpuUsPerReq: number; readonly apolloOnlyCpuUsPerReq: number };
  /** Floorplan ÷ baseline, per metric. */
  readonly ratios: Readonly<Partial<Record<BaselineName, { readonly rps: number; readonly cpuUsPerReq: number; readonly p50Ms: number; readonly p99Ms: number; readonly rssMb: number }>>>;
  /** The peers answered byte-identical floors to Floorplan's for these users (checked before measuring). Absent in results written before the peers. */
  readonly peers?: PeersPhase;
  readonly latency: LatencyPhase;
  readonly scaling: readonly ScalingRow[];
  /** Floorplan past saturation. Absent in results written before overload rows. */
  readonly overload?: OverloadPhase;
  readonly targets: readonly Target[];
  readonly warnings: readonly string[];
  readonly soak?: SoakResult;
  /** The upstream client's parse + contract, JSON.parse vs exact amounts (bench/upstream-parse.ts). Absent in results written before it. */
  readonly upstreamParse?: UpstreamParseRow;
  /** One upstream frozen under concurrent users. Absent in results written before these rows. */
  readonly frozenUpstream?: FrozenUpstreamPhase;
  /** The seed panel with lj and coupon as CEL expression floors vs hand-written builders (bench/expression-floors.ts). Absent before it. */
  readonly expressionFloors?: ExpressionFloorsRow;
  /** The same comparison per request: two servers, CPU per full panel (bench/expression-floors-request.ts). Absent before it. */
  readonly expressionFloorsRequest?: ExpressionFloorsRequestRow;
  /** CPU per request with tracing on at 10 % vs off (bench/tracing.ts). Absent before it. */
  readonly tracing?: TracingRow;
  /** Bytes allocated per request by Floorplan, (d) and (f), by layer (bench/allocations.ts). Absent before it. */
  readonly allocations?: AllocationsRow;
}

/**
 * What each server allocates per 2xx answer, garbage included (V8's sampling heap profiler over
 * closed-loop windows, bench/allocations.ts). Not a target: it does not drift with the machine's
 * speed as CPU does, so it shows a lever's effect on GC where CPU ratios cannot.
 */
export interface AllocationsRow {
  readonly rounds: number;
  readonly seconds: number;
  readonly connections: number;
  readonly servers: ReadonlyArray<{
    readonly name: string;
    readonly kibPerRequest: number;
    /** 2xx answers in the profiled windows. */
    readonly answers: number;
    /** KiB per request of the layers allocating most, largest first. */
    readonly layers: ReadonlyArray<{ readonly layer: string; readonly kib: number }>;
  }>;
}

/** Answers other than a full panel in the measured windows (not counted in CPU per request). */
export interface NonFullAnswers {
  readonly degraded: number;
  readonly shed: number;
  readonly other: number;
  readonly errors: number;
}

/**
 * Server CPU µs per full panel, the seed panel with lj and coupon as CEL expression floors vs
 * hand-written builders, two servers measured in interleaved rounds (bench/cpu-per-request.ts).
 */
export interface ExpressionFloorsRequestRow {
  /** A/A run: both servers served the builders, so the ratio is the method's bias. */
  readonly aa: boolean;
  readonly rounds: number;
  readonly seconds: number;
  readonly connections: number;
  readonly users: number;
  /** Users whose panels both servers answered byte-identically before measuring. */
  readonly checkedUsers: number;
  /** Servers on core 0, load and upstreams on core 1. */
  readonly pinned: boolean;
  readonly buildersUsPerReq: number;
  readonly expressionsUsPerReq: number;
  readonly buildersPanels: number;
  readonly expressionsPanels: number;
  /** expressionsUsPerReq ÷ buildersUsPerReq, all rounds pooled. */
  readonly ratio: number;
  readonly medianRoundRatio: number;
  readonly roundRatios: readonly number[];
  readonly nonFull: { readonly builders: NonFullAnswers; readonly expressions: NonFullAnswers };
}

/**
 * Server CPU µs per full panel with tracing on (a ratio sampler, OTLP/HTTP to a discarding
 * receiver on loopback) vs off, two servers loaded at once (bench/tracing.ts).
 */
export interface TracingRow {
  /** A/A run: both servers had tracing off, so the ratio is the method's bias. */
  readonly aa: boolean;
  readonly samplingRatio: number;
  /** Both servers loaded at the same time in each round (else one after the other). */
  readonly simultaneous: boolean;
  readonly rounds: number;
  readonly seconds: number;
  readonly connections: number;
  readonly pinned: boolean;
  readonly offUsPerReq: number;
  readonly onUsPerReq: number;
  readonly offPanels: number;
  readonly onPanels: number;
  /** onUsPerReq ÷ offUsPerReq, all rounds pooled. */
  readonly ratio: number;
  readonly medianRoundRatio: number;
  readonly roundRatios: readonly number[];
  /** OTLP exports the receiver got, and their bodies' size. */
  readonly exports: number;
  readonly exportedKiB: number;
}

/** Issue 17, item 4: tracing at 10 % sampling costs at most 10 % more CPU per request. */
function tracingTarget(row: TracingRow | undefined): Target {
  return ratioTarget(
    'tracing-cpu',
    'tracing on at 10 % sampling (OTLP/HTTP): CPU per request ≤ 1.10× tracing off',
    row,
    (r) =>
      `${fixed(r.onUsPerReq, 1)} vs ${fixed(r.offUsPerReq, 1)} µs per request at ${fixed(r.samplingRatio * 100, 0)} %; median of per-round ratios ${fixed(r.medianRoundRatio, 3)}×, ` +
      `${r.rounds} rounds × ${r.seconds} s, ${r.simultaneous ? 'both servers loaded at once' : 'one server after the other'}, ${r.connections} connections each; ${r.exports} OTLP exports`,
  );
}

/** A "costs at most 1.10× its reference" target; `detail` says how the ratio was measured. An A/A row is the method's bias, not a result. */
function ratioTarget<R extends { readonly ratio: number; readonly aa?: boolean }>(id: string, description: string, row: R | undefined, detail: (row: R) => string): Target {
  return {
    id,
    description,
    actual: row === undefined ? 'not measured' : `${fixed(row.ratio, 3)}× (${detail(row)})`,
    pass: row === undefined || row.aa === true ? null : row.ratio <= 1.1,
  };
}

/** What `bench/expression-floors.ts --json` prints: CPU µs per panel render, medians of interleaved rounds. */
export interface ExpressionFloorsRow {
  readonly rounds: number;
  readonly panels: number;
  readonly buildersUs: number;
  readonly expressionsUs: number;
  /** expressionsUs ÷ buildersUs. */
  readonly ratio: number;
  readonly medianRoundRatio: number;
}

/** The issue-14 target: expression floors cost at most 10 % more CPU per panel than hand-written builders. */
function expressionFloorsTarget(row: ExpressionFloorsRow | undefined): Target {
  return ratioTarget(
    'expression-floors-cpu',
    'seed panel with lj and coupon as CEL expression floors, the rendering alone (in process): CPU per render ≤ 1.10× the hand-written builders',
    row,
    (r) => `${fixed(r.expressionsUs, 1)} vs ${fixed(r.buildersUs, 1)} µs per render; median of per-round ratios ${fixed(r.medianRoundRatio, 3)}×, ${r.rounds} rounds × ${r.panels} panels`,
  );
}

/** Issue 14, item 4 as written: CPU per request, the whole request (HTTP, GraphQL, upstream calls, rendering). */
function expressionFloorsRequestTarget(row: ExpressionFloorsRequestRow | undefined): Target {
  return ratioTarget(
    'expression-floors-request-cpu',
    'seed panel with lj and coupon as CEL expression floors: CPU per request ≤ 1.10× the hand-written builders',
    row,
    (r) =>
      `${fixed(r.expressionsUsPerReq, 1)} vs ${fixed(r.buildersUsPerReq, 1)} µs per request; median of per-round ratios ${fixed(r.medianRoundRatio, 3)}×, ` +
      `${r.rounds} rounds × ${r.seconds} s per server, ${r.connections} connections; identical panels checked for ${r.checkedUsers} users`,
  );
}

const fixed = (value: number | null, digits: number) => (value !== null && Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

/** Issue 12: with one upstream frozen, p99 may exceed the request deadline by this much. */
export const FROZEN_UPSTREAM_SLACK_MS = 20;

/** A shed answer is a refusal: it must cost the client next to nothing. */
export const OVERLOAD_SHED_P99_MS = 5;
/** Goodput at 4× the saturating connections, as a share of goodput at 1×. */
export const OVERLOAD_GOODPUT_RATIO = 0.9;

/** The row of `rows` with the largest `value` (nulls left out), for a "worst row" target. */
function worstRow(rows: readonly OverloadRow[], value: (row: OverloadRow) => number | null): { row: OverloadRow; value: number } | undefined {
  let worst: { row: OverloadRow; value: number } | undefined;
  for (const row of rows) {
    const v = value(row);
    if (v !== null && Number.isFinite(v) && (worst === undefined || v > worst.value)) worst = { row, value: v };
  }
  return worst;
}

/** The overload targets of the admission-control issue; pass null throughout when the rows were not run. */
export function overloadTargets(overload: OverloadPhase | undefined): Target[] {
  const deadlineMs = overload?.requestDeadlineMs;
  const descriptions = {
    goodput: `overload: goodput (full panels/s) at 4× the saturating connections ≥ ${OVERLOAD_GOODPUT_RATIO}× at 1×`,
    breakers: 'overload: 0 upstream breaker openings',
    deadline: "overload: 0 panels degraded by Floorplan's own request deadline",
    shedP99: `overload: p99 of a shed answer ≤ ${OVERLOAD_SHED_P99_MS} ms`,
    fullP99: `overload: p99 of full panels ≤ the request deadline${deadlineMs === undefined ? '' : ` (${deadlineMs} ms)`}`,
  };
  if (overload === undefined) {
    return Object.entries(descriptions).map(([key, description]) => ({ id: `overload-${key}`, description, actual: 'not measured', pass: null }));
  }
  const rows = overload.rows;
  const one = rows.find((r) => r.name === 'closed-1x');
  const four = rows.find((r) => r.name === 'closed-4x');
  const goodputRatio = one && four ? four.goodputPerSecond / one.goodputPerSecond : Number.NaN;
  const openings = rows.reduce((sum, r) => sum + r.breakerOpenings, 0);
  const cut = rows.reduce((sum, r) => sum + r.deadlineCutCalls, 0);
  const shedP99 = worstRow(rows, (r) => r.shedP99Ms);
  const fullP99 = worstRow(rows, (r) => r.fullP99Ms);
  const perRow = (value: (row: OverloadRow) => number | null, digits: number) => rows.map((r) => `${r.name} ${fixed(value(r), digits)}`).join(', ');
  const notExported = (exported: boolean, metric: string) => (exported ? '' : ` (${metric} not exported: counted as 0)`);
  return [
    {
      id: 'overload-goodput',
      description: descriptions.goodput,
      actual: one && four ? `${fixed(four.goodputPerSecond, 0)} vs ${fixed(one.goodputPerSecond, 0)} full panels/s (${fixed(goodputRatio, 2)}×)` : 'not measured',
      pass: Number.isFinite(goodputRatio) ? goodputRatio >= OVERLOAD_GOODPUT_RATIO : null,
    },
    {
      id: 'overload-breakers',
      description: descriptions.breakers,
      actual: `${openings} (${perRow((r) => r.breakerOpenings, 0)})${notExported(overload.exported.breakerOpenedTotal, 'floorplan_upstream_breaker_opened_total')}`,
      pass: openings === 0,
    },
    {
      id: 'overload-deadline',
      description: descriptions.deadline,
      actual: `${cut} upstream calls cut off by the deadline (${perRow((r) => r.deadlineCutCalls, 0)}); panels degraded for any reason: ${rows.reduce((sum, r) => sum + r.degradedPanels, 0)}`,
      pass: cut === 0,
    },
    {
      id: 'overload-shed-p99',
      description: descriptions.shedP99,
      actual: shedP99 === undefined ? 'nothing was shed' + (overload.exported.shedTotal ? '' : ' (floorplan_shed_total not exported: no admission control)') : `${fixed(shedP99.value, 2)} ms at worst (${shedP99.row.name}; ${perRow((r) => r.shedP99Ms, 2)})` +
            (overload.openControl === undefined || overload.openControl.shedP99Ms === null ? '' : `; the control, (d) refusing the same share at once, ${fixed(overload.openControl.shedP99Ms, 2)} ms`),
      pass: shedP99 === undefined ? null : shedP99.value <= OVERLOAD_SHED_P99_MS,
    },
    {
      id: 'overload-full-p99',
      description: descriptions.fullP99,
      actual: fullP99 === undefined ? 'no full panel answered' : `${fixed(fullP99.value, 1)} ms at worst (${fullP99.row.name}; ${perRow((r) => r.fullP99Ms, 1)})`,
      pass: fullP99 === undefined ? null : fullP99.value <= overload.requestDeadlineMs,
    },
  ];
}

/** The frozen-upstream targets of issue 12; pass null throughout when the rows were not run. */
export function frozenUpstreamTargets(phase: FrozenUpstreamPhase | undefined): Target[] {
  const bound = phase === undefined ? undefined : phase.requestDeadlineMs + phase.slackMs;
  const descriptions = {
    p99: `frozen upstream: p99 of ${phase?.users ?? 50} concurrent users ≤ the request deadline + ${phase?.slackMs ?? FROZEN_UPSTREAM_SLACK_MS} ms${bound === undefined ? '' : ` (${bound} ms)`}`,
    degraded: 'frozen upstream: every answer a panel, degraded with the frozen upstream named',
    breakers: 'frozen upstream: 0 breaker openings of the healthy upstreams (the frozen one’s may open)',
  };
  if (phase === undefined || phase.rows.length === 0) {
    return Object.entries(descriptions).map(([key, description]) => ({ id: `frozen-upstream-${key}`, description, actual: 'not measured', pass: null }));
  }
  const rows = phase.rows;
  const perRow = (value: (row: FrozenUpstreamRow) => string) => rows.map((r) => `${r.frozen} ${value(r)}`).join(', ');
  const worst = rows.reduce((a, b) => (b.p99Ms > a.p99Ms ? b : a));
  const unexpected = rows.reduce((sum, r) => sum + r.otherPanels + r.non200 + r.errors, 0);
  const healthyOpenings = rows.every((r) => r.healthyBreakerOpenings !== undefined) ? rows.reduce((sum, r) => sum + (r.healthyBreakerOpenings as number), 0) : undefined;
  return [
    {
      id: 'frozen-upstream-p99',
      description: descriptions.p99,
      actual: `${fixed(worst.p99Ms, 1)} ms at worst (${perRow((r) => `p50 ${fixed(r.p50Ms, 1)} / p99 ${fixed(r.p99Ms, 1)} / max ${fixed(r.maxMs, 1)} ms`)})`,
      pass: worst.p99Ms <= (bound as number),
    },
    {
      id: 'frozen-upstream-degraded',
      description: descriptions.degraded,
      actual: perRow((r) => `${r.degraded} of ${r.requests}${r.non200 + r.errors + r.otherPanels > 0 ? ` (${r.non200} non-200, ${r.errors} unanswered, ${r.otherPanels} other panels)` : ''}`),
      pass: unexpected === 0,
    },
    {
      id: 'frozen-upstream-breakers',
      description: descriptions.breakers,
      actual:
        healthyOpenings === undefined
          ? `not measured (results older than the per-upstream count); any upstream: ${perRow((r) => String(r.breakerOpenings))}`
          : `${healthyOpenings} (${perRow((r) => `${r.healthyBreakerOpenings}; the frozen one's ${r.breakerOpenings - (r.healthyBreakerOpenings as number)}`)})`,
      pass: healthyOpenings === undefined ? null : healthyOpenings === 0,
    },
  ];
}

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
  targets.push(...peerTargets(results));
  targets.push(...overloadTargets(results.overload));
  targets.push(...frozenUpstreamTargets(results.frozenUpstream));
  targets.push(upstreamParseTarget(results.upstreamParse));
  targets.push(expressionFloorsRequestTarget(results.expressionFloorsRequest));
  targets.push(expressionFloorsTarget(results.expressionFloors));
  targets.push(tracingTarget(results.tracing));
  const soak = results.soak;
  targets.push({
    id: 'soak-flat',
    description: 'RSS flat over a soak at a fixed rate (last-window median within 10 % of the second window)',
    actual: soak ? `${fixed(soak.earlyMedianMb, 1)} → ${fixed(soak.lateMedianMb, 1)} MB (${fixed(soak.changePercent, 1)} %) over ${soak.seconds} s` : 'not run (npm run bench -- --soak)',
    pass: soak ? soak.flat : null,
  });
  targets.push(soakSlopeTarget(soak));
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
      `Floorplan ÷ (b) per round: ${per('apolloStandalone')}; Floorplan ÷ (d) per round: ${per('upstreamFloor')}` +
      (rounds.some((r) => r['apolloPeer'] !== undefined) ? `; Floorplan ÷ (e) per round: ${per('apolloPeer')}; Floorplan ÷ (f) per round: ${per('mercuriusPeer')}.` : '.'),
  ];
}

/** The generated section of BENCHMARKS.md (without the markers). */
/** One sentence on what Floorplan's runtime did in the half-rate window: where its latency tail comes from. */
function runtimeLine(runtime: RuntimeFacts, method: BenchResults['method']): string {
  const seconds = method.halfRateSeconds;
  const window =
    seconds === undefined
      ? 'the half-rate window'
      : method.halfRateRounds === undefined
        ? `the ${seconds} s half-rate window`
        : `its ${method.halfRateRounds} half-rate windows (${seconds} s each)`;
  const gc = (facts: GcFacts, one: string, many: string) =>
    `${facts.count} ${facts.count === 1 ? one : many}${facts.count > 0 ? ` (mean ${fixed(facts.meanMs, 2)} ms, ${fixed(facts.totalMs, 0)} ms in all)` : ''}`;
  return (
    `In ${window} Floorplan ran ${gc(runtime.minorGc, 'scavenge', 'scavenges')}, ${gc(runtime.majorGc, 'mark-compact', 'mark-compacts')} and ` +
    `${gc(runtime.incrementalGc, 'incremental marking step', 'incremental marking steps')}. Every request in flight during a pause waits it out.`
  );
}

/** Each round's p99 overhead, Floorplan's and (d)'s, when the half rate ran in rounds. */
function roundsLine(floorplan: RateRun, reference: RateRun | undefined): string[] {
  const ours = roundOverheads(floorplan);
  if (ours === undefined) return [];
  const theirs = reference === undefined ? undefined : roundOverheads(reference);
  const steal = (run: RateRun | undefined) =>
    run?.rounds === undefined || run.rounds.some((r) => r.stealMs?.[0] === undefined) ? undefined : `${run.rounds.map((r) => fixed(r.stealMs?.[0] ?? 0, 0)).join(', ')} ms`;
  const ourSteal = steal(floorplan);
  const theirSteal = steal(reference);
  const markCompacts = floorplan.rounds?.every((r) => r.markCompacts !== undefined) === true ? floorplan.rounds.map((r) => String(r.markCompacts)).join(', ') : undefined;
  return [
    '',
    `p99 overhead per round (each round's own samples): Floorplan ${ours}${theirs === undefined ? '' : `; (d) ${theirs}`}. The rows above pool every round.` +
      (markCompacts === undefined ? '' : ` Mark-compacts in Floorplan's windows: ${markCompacts}.`) +
      (ourSteal === undefined
        ? ''
        : ` Time the hypervisor took from core 0 (the servers' core) in each window: Floorplan's ${ourSteal}${theirSteal === undefined ? '' : `; (d)'s ${theirSteal}`}: a server stalls for what is stolen from its core.`),
  ];
}

function halfRateMethod(method: BenchResults['method']): string {
  if (method.halfRateSeconds === undefined) return '';
  if (method.halfRateRounds === undefined) return `, ${method.halfRateSeconds} s at half saturation`;
  return `, ${method.halfRateRounds} interleaved rounds of ${method.halfRateSeconds} s at half saturation, Floorplan's and (d)'s windows alternating`;
}

/** "6.2, 8.1, 5.0 ms": each round's p99 overhead, when the run had rounds. */
function roundOverheads(run: RateRun): string | undefined {
  return run.rounds === undefined || run.rounds.length < 2 ? undefined : `${run.rounds.map((r) => fixed(r.overheadP99Ms, 2)).join(', ')} ms`;
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
    ...(method.floorplanCommand === undefined ? [] : [`Floorplan: \`${method.floorplanCommand}\`.`]),
    `Load: autocannon, ${method.connections} connections (${method.latencyConnections} in the latency phase), each speaking for its own user (${method.loadUsers} users); ` +
      `${method.warmupRequests} warm-up requests, then ${method.measureSeconds} s measured per server (${method.scalingMeasureSeconds} s per scaling row` +
      `${halfRateMethod(method)}).`,
    ...cpuRoundsLine(results),
    '',
    `Packages: ${Object.entries(results.packages)
      .map(([name, version]) => `${name} ${version}`)
      .join(', ')}.`,
    '',
    `### The same panel, ${BASELINES.filter((b) => results.servers[b.key] !== undefined).length + 1} servers`,
    '',
    row(['server', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'RSS MB']),
    row(['---', '---:', '---:', '---:', '---:', '---:']),
    row(['**Floorplan** (3 upstream calls, auth, 7 floors)', ...serverCells(results.servers.floorplan)]),
  );
  for (const b of BASELINES) {
    const measured = results.servers[b.key];
    if (measured !== undefined) out.push(row([`(${b.letter}) ${b.label}`, ...serverCells(measured)]));
  }
  out.push('', row(['Floorplan ÷', 'req/s', 'p50', 'p99', 'CPU µs/req', 'RSS']), row(['---', '---:', '---:', '---:', '---:', '---:']));
  for (const b of BASELINES) {
    const r = results.ratios[b.key];
    if (r === undefined) continue;
    out.push(row([`(${b.letter})`, ...[r.rps, r.p50Ms, r.p99Ms, r.cpuUsPerReq, r.rssMb].map((v) => `${fixed(v, 2)}×`)]));
  }
  const fp = results.servers.floorplan;
  out.push(
    '',
    `Floorplan upstream calls per request: ${UPSTREAM_NAMES.map((u) => `${u} ${fixed(fp.upstreamCallsPerRequest[u], 2)}`).join(', ')}` +
      ` (${fp.upstreamFailures} failed calls). Core use during its run: server ${fixed(fp.serverCoreBusy * 100, 0)} %, generator core ${fixed(fp.generatorCoreBusy * 100, 0)} %.`,
  );
  if (!fp.panelMatchesStatic) out.push('', "**Floorplan's live panel differed from the baselines' static panel during this run.**");
  if (results.fastPath !== undefined) {
    const { cpuUsPerReq, apolloOnlyCpuUsPerReq } = results.fastPath;
    out.push(
      '',
      `Known-operations fast path (same interleaved CPU rounds): ${fixed(cpuUsPerReq, 1)} µs/req with it, ` +
        `${fixed(apolloOnlyCpuUsPerReq, 1)} µs/req with \`server.fastPath: false\` (Apollo's pipeline for every request): ` +
        `it saves ${fixed((1 - cpuUsPerReq / apolloOnlyCpuUsPerReq) * 100, 0)} % of a panel's CPU.`,
    );
  }

  if (results.peers !== undefined) out.push('', ...peersSection(results.peers));

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
    ...(half.runtime === undefined ? [] : ['', runtimeLine(half.runtime, results.method)]),
    ...roundsLine(half, lat.referenceHalfRate),
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
  if (results.overload !== undefined) out.push('', ...overloadSection(results.overload, results.method));
  if (results.frozenUpstream !== undefined) out.push('', ...frozenUpstreamSection(results.frozenUpstream));
  if (results.upstreamParse !== undefined) out.push('', ...upstreamParseSection(results.upstreamParse));
  if (results.expressionFloors !== undefined || results.expressionFloorsRequest !== undefined) out.push('', '### Expression floors (`bench/expression-floors-request.ts`, `bench/expression-floors.ts`)');
  const request = results.expressionFloorsRequest;
  if (request !== undefined) {
    out.push(
      '',
      `CPU per request of the seed cart-bottom-sheet panel, two Floorplan servers ${request.pinned ? 'on core 0' : '(not pinned)'}, one with lj and coupon as hand-written builders, one as CEL expression floors ` +
        `(byte-identical panels checked for ${request.checkedUsers} users first), ${request.rounds} interleaved rounds × ${request.seconds} s per server, ${request.connections} connections, server CPU per full panel: ` +
        `builders ${fixed(request.buildersUsPerReq, 1)} µs, expression floors ${fixed(request.expressionsUsPerReq, 1)} µs — ${fixed(request.ratio, 3)}× ` +
        `(median of per-round ratios ${fixed(request.medianRoundRatio, 3)}×; rounds ${request.roundRatios.map((r) => fixed(r, 3)).join(', ')}).`,
    );
  }
  if (results.expressionFloors !== undefined) {
    const e = results.expressionFloors;
    out.push(
      '',
      `The rendering alone, stricter: CPU per render of the seed cart-bottom-sheet (u1001) from already-loaded upstream answers, ${e.rounds} interleaved rounds × ${e.panels} panels, in one process: ` +
        `lj and coupon as hand-written builders ${fixed(e.buildersUs, 1)} µs, as CEL expression floors ${fixed(e.expressionsUs, 1)} µs — ${fixed(e.ratio, 3)}× (median of per-round ratios ${fixed(e.medianRoundRatio, 3)}×).`,
    );
  }
  const tracing = results.tracing;
  if (tracing !== undefined) {
    out.push(
      '',
      '### Tracing (`bench/tracing.ts`)',
      '',
      `CPU per request of two Floorplan servers ${tracing.pinned ? 'on core 0' : '(not pinned)'}, tracing off and tracing on (${fixed(tracing.samplingRatio * 100, 0)} % of new traces, OTLP/HTTP JSON to a discarding receiver on loopback: ` +
        `${tracing.exports} exports, ${fixed(tracing.exportedKiB, 0)} KiB), ${tracing.rounds} rounds × ${tracing.seconds} s, ${tracing.simultaneous ? 'both servers loaded at the same time (they share the core, so read the ratio, not the µs)' : 'one server after the other'}, ` +
        `${tracing.connections} connections each, server CPU per full panel: off ${fixed(tracing.offUsPerReq, 1)} µs, on ${fixed(tracing.onUsPerReq, 1)} µs — ${fixed(tracing.ratio, 3)}× ` +
        `(median of per-round ratios ${fixed(tracing.medianRoundRatio, 3)}×; rounds ${tracing.roundRatios.map((r) => fixed(r, 3)).join(', ')}).`,
    );
  }
  const allocations = results.allocations;
  if (allocations !== undefined) {
    const reference = allocations.servers.find((server) => server.name.startsWith('(d)'));
    out.push(
      '',
      '### Bytes allocated per request (`bench/allocations.ts`)',
      '',
      `V8's sampling heap profiler, garbage included, over ${allocations.rounds} closed-loop window${allocations.rounds === 1 ? '' : 's'} of ${allocations.seconds} s per server at ${allocations.connections} connections, divided by the 2xx answers; each server's three largest layers:`,
      '',
      '| server | KiB per request | ÷ (d) | largest layers, KiB per request |',
      '| --- | ---: | ---: | --- |',
      ...allocations.servers.map(
        (server) =>
          `| ${server.name} | ${fixed(server.kibPerRequest, 1)} | ${reference === undefined ? '—' : `${fixed(server.kibPerRequest / reference.kibPerRequest, 2)}×`} | ` +
          `${server.layers
            .slice(0, 3)
            .map((l) => `${l.layer} ${fixed(l.kib, 1)}`)
            .join(', ')} |`,
      ),
    );
  }
  if (results.soak) {
    const soak = results.soak;
    out.push(
      '',
      `### Soak: ${soak.seconds} s at ${soak.targetRps} req/s`,
      '',
      `${soak.warmupSeconds === undefined || soak.warmupSeconds === 0 ? 'No warm-up at this rate before sampling. ' : `After ${soak.warmupSeconds} s at this rate, unsampled (the heap growing to its working size${soak.warmupMarkCompacts === undefined ? '' : `; ${soak.warmupMarkCompacts} mark-compact${soak.warmupMarkCompacts === 1 ? '' : 's'} in it`}). `}Achieved ${fixed(soak.rps, 0)} req/s, p99 ${fixed(soak.p99Ms, 2)} ms, ${soak.errors} errors. RSS median ${fixed(soak.earlyMedianMb, 1)} MB in the second ${soak.windowSeconds} s window, ` +
        `${fixed(soak.lateMedianMb, 1)} MB in the last (${fixed(soak.changePercent, 1)} %): ${soak.flat ? 'flat' : '**not flat**'}. ` +
        `Samples every ${soak.sampleEverySeconds} s: ${soak.samples.map((s) => fixed(s.rssMb, 0)).join(', ')} MB.` +
        heapLine(soak) +
        soakTimelineLine(soak),
    );
  }
  out.push('', '### Targets (reported, never asserted)', '', ...targetLines(results.targets).map((line) => `- \`${line.slice(0, 4)}\` ${line.slice(6)}`));
  if (results.warnings.length > 0) out.push('', '### Warnings from this run', '', ...results.warnings.map((w) => `- ${w}`));
  return out.join('\n');
}

const SATURATED_BY: Readonly<Record<OverloadPhase['saturation']['by'], string>> = {
  core: "the smallest of them at which Floorplan's core was ≥ 90 % busy",
  plateau: 'a plateau (two doublings in a row added < 5 % panels/s; 1× is the smallest step within 5 % of the best)',
  ceiling: "the ramp's largest step: **saturation was not reached**",
};

/** The overload section of BENCHMARKS.md: how 1× was found, then one row per load. */
function overloadSection(overload: OverloadPhase, method: BenchResults['method']): string[] {
  const { saturation: sat, exported } = overload;
  const ramp = sat.ramp.map((s) => `${s.connections} → ${fixed(s.panelsPerSecond, 0)}/s (${fixed(s.serverCoreBusy * 100, 0)} %)`).join(', ');
  const open = overload.rows.find((r) => r.loop === 'open');
  const rounds = overload.goodputRounds;
  const perRound = (row: string) => rounds.map((r) => `${fixed((r[row] ?? Number.NaN) / (r['closed-1x'] ?? Number.NaN), 2)}×`).join(', ');
  const missing = [
    exported.shedTotal ? undefined : 'floorplan_shed_total',
    exported.admissionLimit ? undefined : 'floorplan_admission_limit',
    exported.breakerOpenedTotal ? undefined : 'floorplan_upstream_breaker_opened_total',
  ].filter((m) => m !== undefined);
  const out = [
    '### Overload (Floorplan past saturation, fast upstreams)',
    '',
    `Floorplan runs as a process of its own here, with the shipped request deadline (${overload.requestDeadlineMs} ms) rather than the bench overlay's 2 s: admission control judges "in time" against the deadline, so these rows show what a deployed Floorplan does. ` +
      `1× is ${sat.connections} closed-loop connections: a ramp of connection counts (connections → panels/s, Floorplan's core busy: ${ramp}) stopped at ${SATURATED_BY[sat.by]}. ` +
      `Its panels/s at 1× (${fixed(sat.panelsPerSecond, 0)}) is the saturation rate` +
      (open === undefined
        ? '.'
        : `; the open loop offers ${fixed(open.offeredRps, 0)} req/s on a fixed schedule for ${method.overloadOpenSeconds ?? '?'} s over ${open.connections} connections opened beforehand, answered or not` +
          ` (${open.queuedInGenerator ?? 0} arrivals found them all busy and waited in the generator, on the clock; ` +
          `timed from the moment a connection was free instead, p99 is ${fixed(open.fullP99OnConnectionMs, 2)} ms for full panels and ${fixed(open.shedP99OnConnectionMs, 2)} ms for shed answers).` +
          serverTimeSentence(open)) +
      ` The closed-loop rows pool ${rounds.length} interleaved rounds of ${method.overloadSeconds ?? '?'} s each` +
      (rounds.length > 1 ? ` (goodput 4× ÷ 1× per round: ${perRound('closed-4x')})` : '') +
      `; every window ends with its last answer, and a closed-loop client sends again at once, ignoring Retry-After. ` +
      `Goodput counts full panels only. Breaker openings and deadline cut-offs are Floorplan's counters before vs after each window` +
      (missing.length === 0 ? '.' : `; this Floorplan does not export ${missing.join(', ')} (counted as 0, nothing shed by construction).`),
    '',
    row(['row', 'connections', 'offered req/s', 'goodput full/s', 'degraded/s', 'shed/s', 'other/s', 'full p50 ms', 'full p99 ms', 'shed p50 ms', 'shed p99 ms', 'breaker openings', 'deadline cut-offs', 'admission limit', 'loop delay p99 ms', 'scavenges (mean ms)', 'Floorplan core']),
    row(['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:']),
  ];
  /** One table row; the control has none of Floorplan's counters or gauges, so those cells stay empty. */
  const cells = (r: OverloadRow, label: string, floorplan: boolean) => [
    label,
    r.connections,
    r.offeredRps === null ? '' : fixed(r.offeredRps, 0),
    fixed(r.goodputPerSecond, 0),
    fixed(r.degradedPerSecond, 0),
    fixed(r.shedPerSecond, 0),
    fixed(r.otherPerSecond, 0),
    fixed(r.fullP50Ms, 2),
    fixed(r.fullP99Ms, 2),
    fixed(r.shedP50Ms, 2),
    fixed(r.shedP99Ms, 2),
    ...(floorplan
      ? [
          r.breakerOpenings,
          r.deadlineCutCalls,
          r.admissionLimit === null ? 'n/a' : fixed(r.admissionLimit, 0),
          r.loopDelayP99Ms === null || r.loopDelayP99Ms === undefined ? 'n/a' : fixed(r.loopDelayP99Ms, 1),
          r.scavenges === null || r.scavenges === undefined ? 'n/a' : `${r.scavenges.count} (${fixed(r.scavenges.meanMs, 1)})`,
        ]
      : ['', '', '', '', '']),
    `${fixed(r.serverCoreBusy * 100, 0)} %`,
  ];
  for (const r of overload.rows) out.push(row(cells(r, `${r.loop === 'closed' ? 'closed loop' : 'open loop'} ${r.multiple}×`, true)));
  const control = overload.openControl;
  if (control !== undefined) {
    out.push(row(cells(control, `control: (d) refusing ${fixed(control.shedShare * 100, 0)} % of the open loop at once`, false)));
    out.push(
      '',
      `The control row is reference (d) fed the open loop's arrivals: it refuses the share Floorplan refused the moment each request arrives (503, Retry-After, OVERLOADED) and makes the three upstream calls for the rest, so the generator and the upstreams' core carry the open loop's load while its own loop never saturates. ` +
        `Its shed p99 is what this machine adds to a refusal whatever the server does; Floorplan's shed p99 above it is Floorplan's own.`,
    );
  }
  const reasons = overload.rows
    .filter((r) => Object.keys(r.serverShedByReason ?? {}).length > 0)
    .map((r) => `${r.name} ${Object.entries(r.serverShedByReason).map(([reason, count]) => `${count} ${reason}`).join(' + ')}`);
  if (reasons.length > 0) out.push('', `Shed, by Floorplan's reason: ${reasons.join('; ')}.`);
  return out;
}

/** The frozen-upstream section of BENCHMARKS.md: one row per frozen upstream. */
export function frozenUpstreamSection(phase: FrozenUpstreamPhase): string[] {
  const timeouts = UPSTREAM_NAMES.map((u) => `${u} ${phase.upstreamTimeoutsMs[u]}`).join(', ');
  const out = [
    `### Frozen upstream (one upstream SIGSTOPped, ${phase.users} concurrent users, deadline ${phase.requestDeadlineMs} ms)`,
    '',
    `Floorplan (default config, \`REQUEST_DEADLINE_MS=${phase.requestDeadlineMs}\`; upstream timeouts ${timeouts} ms) and two demo-upstream processes, one serving only the frozen upstream. ` +
      `${phase.warmupRounds} rounds of ${phase.users} concurrent users with it healthy, then SIGSTOP and ${phase.rounds} rounds of ${phase.users} concurrent users, each round new users ` +
      `(promotion answers are cached per user). Latency is sent → last byte, pooled over the rounds; breaker openings and cut-off calls are Floorplan's counters over the rounds.`,
    '',
    row(['frozen', 'requests', 'p50 ms', 'p99 ms', 'max ms', 'slowest per round ms', `p99 ≤ ${phase.requestDeadlineMs + phase.slackMs} ms`, 'degraded (named)', 'other answers', 'breaker openings', 'deadline cut-offs', 'timeouts']),
    row(['---', '---:', '---:', '---:', '---:', '---', '---', '---:', '---:', '---:', '---:', '---:']),
  ];
  for (const r of phase.rows) {
    out.push(
      row([
        r.frozen,
        r.requests,
        fixed(r.p50Ms, 1),
        fixed(r.p99Ms, 1),
        fixed(r.maxMs, 1),
        r.roundMaxMs.map((ms) => fixed(ms, 0)).join(', '),
        r.p99Ms <= phase.requestDeadlineMs + phase.slackMs ? 'pass' : '**miss**',
        r.degraded,
        r.otherPanels + r.non200 + r.errors,
        r.breakerOpenings,
        r.deadlineCutCalls,
        r.timeoutCalls,
      ]),
    );
  }
  return out;
}

/** Reading upstream numbers exactly must cost the upstream client at most 10 % more CPU per call than JSON.parse did. */
function upstreamParseTarget(row: UpstreamParseRow | undefined): Target {
  return {
    id: 'upstream-parse-cpu',
    description: "upstream client CPU per call with exact amounts ≤ 1.10× with JSON.parse",
    actual:
      row === undefined
        ? 'not measured'
        : `${fixed(row.clientRatio, 3)}× of ${fixed(row.callUsPerCall, 1)} µs per call (parse + contract ${fixed(row.oldUsPerAnswer, 2)} → ${fixed(row.newUsPerAnswer, 2)} µs per answer, ` +
          `${fixed(row.parseRatio, 2)}×; were every answer to take the reviver: ${fixed(row.clientRatioExactPath, 3)}×)`,
    pass: row === undefined ? null : row.clientRatio <= 1.1,
  };
}

/** The upstream-parse section of BENCHMARKS.md. */
function upstreamParseSection(parse: UpstreamParseRow): string[] {
  const perRound = (pick: (r: UpstreamParseRow['perRound'][number]) => number) => parse.perRound.map((r) => fixed(pick(r), 2)).join(', ');
  return [
    '### Upstream parse: exact amounts (`bench/upstream-parse.ts`)',
    '',
    `The upstream client's CPU to parse and validate one answer from the demo upstreams (${parse.answers} answers of the bench's users, ${fixed(parse.meanAnswerBytes, 0)} bytes on average), ` +
      `${parse.rounds} rounds of ${parse.secondsPerVariant} s per variant, the parse variants alternating in 20 ms slices; and a whole client call (undici, policies, parse, contract) for scale.`,
    '',
    row(['variant', 'CPU µs per answer', 'per round']),
    row(['---', '---:', '---']),
    row(['`JSON.parse` + contract (before)', fixed(parse.oldUsPerAnswer, 2), perRound((r) => r.old)]),
    row(['`parseExactJson` + contract (now)', fixed(parse.newUsPerAnswer, 2), perRound((r) => r.new)]),
    row(['`parseExactJson` + contract, every answer through the reviver', fixed(parse.exactPathUsPerAnswer, 2), perRound((r) => r.exactPath)]),
    row(['a whole client call (CPU µs per call)', fixed(parse.callUsPerCall, 1), perRound((r) => r.call)]),
    ...(parse.bareCallUsPerCall === undefined
      ? []
      : [row(['the same calls made bare: undici `dispatch` + `JSON.parse`, as the peers make them (CPU µs per call)', fixed(parse.bareCallUsPerCall, 1), perRound((r) => r.bare ?? Number.NaN)])]),
    '',
    `Parse + contract: ${fixed(parse.parseRatio, 2)}× before. The upstream client per call: ${fixed(parse.clientRatio, 3)}× before ` +
      `(call ÷ (call − added parse)); were every answer to take the reviver: ${fixed(parse.clientRatioExactPath, 3)}×.` +
      (parse.clientOverBare === undefined
        ? ''
        : ` Against the bare calls (the median of the rounds' ratios): ${fixed(parse.clientOverBare, 3)}×, what the policies, the timeout, the exact parse and the contract add to a call.`),
  ];
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

/**
 * The soak's figures beside RSS, each fitted over per-minute minima as RSS is: V8's old space in
 * use (what stays alive), V8's heap as committed (pages V8 keeps), RSS outside V8's heap (the
 * allocator, code, Buffers), and external memory. `short` names it in bench/run.ts's log.
 */
export const SOAK_FIGURES: ReadonlyArray<{ readonly label: string; readonly short: string; readonly pick: (sample: SoakSample) => number | undefined }> = [
  { label: "V8's old space in use (Floorplan's /metrics), per-minute minima fitted as for RSS", short: 'V8 old space in use', pick: (s) => s.oldSpaceUsedMb },
  { label: "V8's heap as committed", short: 'V8 heap committed', pick: (s) => s.heapCommittedMb },
  {
    label: "RSS outside V8's heap (RSS − V8's heap as committed)",
    short: "RSS outside V8's heap",
    pick: (s) => (s.heapCommittedMb === undefined ? undefined : s.rssMb - s.heapCommittedMb),
  },
  { label: 'External memory (Buffers, ArrayBuffers)', short: 'external', pick: (s) => s.externalMb },
];

/**
 * The soak's latency and failures span by span, and when its mark-compacts ran (between which
 * samples), as sentences for BENCHMARKS.md; empty for a soak from before session 38.
 */
export function soakTimelineLine(soak: SoakResult): string {
  const parts: string[] = [];
  if (soak.timeline !== undefined && soak.timeline.length > 0) {
    const worst = soak.timeline.map((span) => span.maxMs).filter((ms) => ms !== null && Number.isFinite(ms));
    parts.push(` p99 per ${soak.windowSeconds} s: ${soak.timeline.map((span) => fixed(span.p99Ms, 1)).join(', ')} ms (max ${worst.length === 0 ? 'n/a' : `${fixed(Math.max(...worst), 1)} ms`}).`);
    const failed = soak.timeline.map((span) => span.non2xx + span.errors);
    parts.push(failed.some((n) => n > 0) ? ` Failed answers per ${soak.windowSeconds} s: ${failed.join(', ')}.` : ' No span had a failed answer.');
  }
  const counted = soak.samples.filter((sample) => sample.markCompacts !== undefined);
  if (counted.length > 1) {
    const at: string[] = [];
    for (let i = 1; i < counted.length; i++) {
      const ran = (counted[i]!.markCompacts as number) - (counted[i - 1]!.markCompacts as number);
      if (ran > 0) at.push(`${ran > 1 ? `${ran}× ` : ''}${counted[i - 1]!.atSeconds}–${counted[i]!.atSeconds} s`);
    }
    parts.push(at.length === 0 ? ' No mark-compact while sampled.' : ` Mark-compacts while sampled: ${at.join(', ')}.`);
  }
  return parts.join('');
}

/** The soak's figures beside RSS, as sentences for BENCHMARKS.md. */
function heapLine(soak: SoakResult): string {
  return SOAK_FIGURES.map(({ label, pick }) => {
    const values = soak.samples.map(pick).filter((value) => value !== undefined);
    if (values.length === 0) return '';
    const { slope, minutes } = soakSlopeMbPerMinute(soak.samples, soak.seconds, pick);
    return ` ${label}: ${fixed(slope, 2)} MB/min over ${minutes} minutes (samples ${fixed(Math.min(...values), 0)}–${fixed(Math.max(...values), 0)} MB).`;
  }).join('');
}
