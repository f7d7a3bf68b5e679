/**
 * What the orchestrator (bench/run.ts) asks of the load worker (bench/load.ts), and what the
 * worker answers: one JSON object each way per measured run.
 */

/** One request, as a connection sends it over and over. */
export interface RequestVariant {
  readonly headers: Readonly<Record<string, string>>;
  /** The POST body. */
  readonly body: string;
}

/** One measured run against one server. */
export interface LoadJob {
  /** A label for messages, e.g. "floorplan" or "floors-30". */
  readonly name: string;
  readonly url: string;
  /**
   * What each connection sends: connection i repeats variants[i % length] (e.g. its own user's
   * token), so concurrent requests belong to different users, as in production.
   */
  readonly variants: readonly RequestVariant[];
  readonly connections: number;
  /** Unmeasured requests first, so the server's JIT and caches are warm; 0 for none. */
  readonly warmupRequests: number;
  /** Length of the measured window, whole seconds (autocannon samples once a second). */
  readonly durationSeconds: number;
  /** Fixed arrival rate across all connections (requests/s); absent: as fast as the server answers. */
  readonly overallRate?: number;
  /**
   * How a fixed rate is produced: `uniform` (default) sends request k at k / rate s over an
   * undici pool; `autocannon` uses autocannon's overallRate, which sends each connection's
   * per-second quota in a burst at the top of each second (kept to show the difference).
   */
  readonly pacing?: 'uniform' | 'autocannon';
  /** Processes whose CPU time is read right before and right after the measured window, by label. */
  readonly pids: Readonly<Record<string, number>>;
  /** Floorplan's /metrics: read before and after the window (after `drainMs`), for upstream call counts. */
  readonly metricsUrl?: string;
  /** Pause after the warm-up and after the window, so in-flight requests finish outside the readings. */
  readonly drainMs: number;
  /** Time the upstream critical path directly while the load runs (see BENCHMARKS.md). */
  readonly probe?: CriticalPathProbe;
  /**
   * Read every answer and sort it: full panel, degraded panel, shed (503 OVERLOADED) or other
   * (see {@link AnswerClasses}). A closed-loop job then runs on undici, one Client per
   * connection, rather than on autocannon, which hands its callers a status and a byte count
   * but no body. Each connection's first request (connect + first answer) is not measured.
   */
  readonly classify?: boolean;
  /**
   * Also return latencies one by one, so the orchestrator can pool several rounds of one row
   * into one percentile: with `classify`, every full panel's and every shed answer's (in
   * `classes`); otherwise every 2xx answer's and, with a probe, every probe's (`latenciesMs`).
   */
  readonly keepLatencies?: boolean;
  /**
   * A fixed-rate job without `classify`: also return the window cut into spans of this many
   * seconds, each request counted in the span it was due in (`timeline`), so a tail or a burst of
   * errors in a long run (the soak) can be placed in time.
   */
  readonly timelineSeconds?: number;
}

/** One span of a fixed-rate window ({@link LoadJob.timelineSeconds}): the requests due in it and what became of them. */
export interface TimelineSpan {
  /** Seconds from the window's start to the span's. */
  readonly fromSeconds: number;
  readonly requests: number;
  readonly ok: number;
  readonly non2xx: number;
  readonly errors: number;
  /** Latency of its 2xx answers, ms; NaN when it has none (null once the result has travelled as JSON). */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** Times cart → (promotion ∥ settlement), as Floorplan calls them, every `intervalMs`. */
export interface CriticalPathProbe {
  /** e.g. http://127.0.0.1:4001 — the demo upstreams' origin. */
  readonly origin: string;
  /** Probes cycle through these users, like the load does. */
  readonly userIds: readonly string[];
  readonly intervalMs: number;
}

/** Latency percentiles over the recorded samples, milliseconds. */
export interface LatencySummary {
  readonly samples: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
}

export interface LoadResult {
  readonly name: string;
  /** Responses received in the window (any status). */
  readonly completed: number;
  /** Of those, 2xx: only their latencies are recorded. */
  readonly ok: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  /** Wall time of the measured window, seconds. */
  readonly elapsedSeconds: number;
  /** completed ÷ elapsedSeconds. */
  readonly rps: number;
  readonly latency: LatencySummary;
  /** CPU time each watched process used during the window, µs. */
  readonly cpuUs: Readonly<Record<string, number>>;
  /** RSS of each watched process after the window, MB. */
  readonly rssMb: Readonly<Record<string, number>>;
  /** CPU time of the load worker itself during the window, µs. */
  readonly workerCpuUs: number;
  /** Floorplan's /metrics text before and after the window. */
  readonly metrics?: { readonly before: string; readonly after: string };
  readonly probe?: LatencySummary & { readonly failures: number };
  /** Time the hypervisor took from each core during the window, ms (index = core; empty off Linux). */
  readonly stealMs?: readonly number[];
  /** With `keepLatencies` (and not `classify`): each 2xx answer's latency and each probe's, ms (µs resolution), unsorted. */
  readonly latenciesMs?: { readonly ok: readonly number[]; readonly probe?: readonly number[] };
  /** With `timelineSeconds`: the window span by span, in order. */
  readonly timeline?: readonly TimelineSpan[];
  /** Every answer by what it was, for a job with `classify`. */
  readonly classes?: AnswerClasses;
  /**
   * Open loop with `classify`: arrivals that found every connection busy and waited in the
   * generator (on the clock). 0 when the server answers — or refuses — as fast as they come.
   */
  readonly queuedInGenerator?: number;
}

/**
 * The answers of a measured window by what they were, each class with its own latency (sent →
 * last body byte, ms; `samples` is the class's count):
 * - full: HTTP 200 whose body has `"degraded":false`;
 * - degraded: HTTP 200 whose body has `"degraded":true`;
 * - shed: HTTP 503 whose body names the code `OVERLOADED` (Floorplan refused it to stay within its capacity);
 * - other: any other status or body; errors: no answer at all (reset, timeout).
 */
export interface AnswerClasses {
  readonly full: LatencySummary;
  readonly degraded: LatencySummary;
  readonly shed: LatencySummary;
  readonly other: number;
  readonly errors: number;
  /** Shed answers without a `Retry-After` header (the contract asks for one on each). */
  readonly shedWithoutRetryAfter: number;
  /**
   * Open loop: full and shed latency from the moment the request got a connection rather than
   * from its due time — Floorplan's share of the wait, without the generator's queue.
   */
  readonly onConnection?: { readonly full: LatencySummary; readonly shed: LatencySummary };
  /** With `keepLatencies`: each full panel's and each shed answer's latency, ms (µs resolution), unsorted. */
  readonly latenciesMs?: { readonly full: readonly number[]; readonly shed: readonly number[] };
}

/** Nearest-rank percentile (0 < p ≤ 1) of ascending `sorted`; NaN when it is empty. */
export function nearestRank(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length)));
  return sorted[rank - 1] as number;
}

/** What the worker prints once it has loaded and reads jobs from stdin. */
export const READY_LINE = '@@bench-ready';

/** Prefix of a result line on the worker's stdout; anything else there is not ours. */
export const RESULT_PREFIX = '@@bench-result ';
