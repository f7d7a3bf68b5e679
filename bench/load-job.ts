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
}

/** What the worker prints once it has loaded and reads jobs from stdin. */
export const READY_LINE = '@@bench-ready';

/** Prefix of a result line on the worker's stdout; anything else there is not ours. */
export const RESULT_PREFIX = '@@bench-result ';
