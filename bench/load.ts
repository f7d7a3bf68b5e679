/**
 * The load worker: runs autocannon programmatically against one server (or, for a job that
 * sorts its answers, its own undici closed loop or fixed-rate runner) and prints the
 * measurement as JSON. It runs in its own process, pinned to another core than the server
 * under test, so generating load never steals the server's CPU.
 *
 *   node --import tsx bench/load.ts '<LoadJob JSON>'   one job, then exit
 *   node --import tsx bench/load.ts                    one job per stdin line (what run.ts does)
 *
 * Each result is one stdout line: RESULT_PREFIX + JSON (a LoadResult, or {"error": "..."}).
 */
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon, { type AutocannonOptions } from 'autocannon';
import { Agent, Client, Pool, request } from 'undici';
import {
  nearestRank,
  READY_LINE,
  RESULT_PREFIX,
  type AnswerClasses,
  type CriticalPathProbe,
  type LatencySummary,
  type LoadJob,
  type LoadResult,
  type RequestVariant,
  type TimelineSpan,
} from './load-job.ts';
import { cpuTimeUs, rssMb, stealMsByCore } from './proc.ts';

/** Growable float buffer: hundreds of thousands of samples without boxing. */
class Samples {
  private buffer = new Float64Array(4096);
  private length = 0;
  push(value: number): void {
    if (this.length === this.buffer.length) {
      const bigger = new Float64Array(this.buffer.length * 2);
      bigger.set(this.buffer);
      this.buffer = bigger;
    }
    this.buffer[this.length++] = value;
  }
  summary(): LatencySummary {
    const sorted = this.buffer.slice(0, this.length).sort();
    let sum = 0;
    for (const value of sorted) sum += value;
    const round = (ms: number) => Math.round(ms * 1000) / 1000;
    return {
      samples: sorted.length,
      p50Ms: round(nearestRank(sorted, 0.5)),
      p99Ms: round(nearestRank(sorted, 0.99)),
      meanMs: sorted.length === 0 ? Number.NaN : round(sum / sorted.length),
    };
  }
  /** The largest sample, ms rounded to µs; NaN when there is none. */
  max(): number {
    if (this.length === 0) return Number.NaN;
    let max = -Infinity;
    for (let i = 0; i < this.length; i++) max = Math.max(max, this.buffer[i]!);
    return Math.round(max * 1000) / 1000;
  }
  /** Every sample, ms rounded to µs (they travel as JSON). */
  values(): number[] {
    return Array.from(this.buffer.subarray(0, this.length), (ms) => Math.round(ms * 1000) / 1000);
  }
}

/** A fixed-rate window cut into spans by when each request was due ({@link LoadJob.timelineSeconds}), each counted as a window of its own. */
class Timeline {
  private readonly spans: Window[] = [];
  constructor(
    /** Requests due per span: the rate × the span's seconds. */
    private readonly perSpan: number,
    private readonly spanSeconds: number,
  ) {}
  /** The span request `index` was due in. */
  span(index: number): Window {
    const at = Math.floor(index / this.perSpan);
    while (this.spans.length <= at) this.spans.push(emptyWindow());
    return this.spans[at]!;
  }
  summary(): TimelineSpan[] {
    return this.spans.map(({ completed, ok, non2xx, errors, samples }, at) => {
      const { p50Ms, p99Ms } = samples.summary();
      return { fromSeconds: at * this.spanSeconds, requests: completed + errors, ok, non2xx, errors, p50Ms, p99Ms, maxMs: samples.max() };
    });
  }
}

/**
 * What the answers are told apart by. A panel's `degraded` flag is a substring test on the
 * body: cheap enough for the load worker at thousands of answers a second, and exact for
 * Floorplan's compact JSON, which names `degraded` once per panel.
 */
const FULL_MARK = '"degraded":false';
const DEGRADED_MARK = '"degraded":true';
const OVERLOADED_MARK = '"OVERLOADED"';

/** Sorts answers into {@link AnswerClasses} as they arrive. */
class AnswerSorter {
  private readonly full = new Samples();
  private readonly degraded = new Samples();
  private readonly shed = new Samples();
  private other = 0;
  errors = 0;
  private shedWithoutRetryAfter = 0;
  /** Open loop: latencies from the moment a connection was free (see AnswerClasses.onConnection). */
  private onConnection: { readonly full: Samples; readonly shed: Samples } | undefined;

  /** `onConnectionMs`: for an open loop, the latency from when the request got its connection. */
  answer(status: number, hasRetryAfter: boolean, body: string, latencyMs: number, onConnectionMs?: number): void {
    if (onConnectionMs !== undefined) this.onConnection ??= { full: new Samples(), shed: new Samples() };
    if (status === 200 && body.includes(FULL_MARK)) {
      this.full.push(latencyMs);
      if (onConnectionMs !== undefined) this.onConnection?.full.push(onConnectionMs);
    } else if (status === 200 && body.includes(DEGRADED_MARK)) this.degraded.push(latencyMs);
    else if (status === 503 && body.includes(OVERLOADED_MARK)) {
      this.shed.push(latencyMs);
      if (onConnectionMs !== undefined) this.onConnection?.shed.push(onConnectionMs);
      if (!hasRetryAfter) this.shedWithoutRetryAfter++;
    } else this.other++;
  }

  summary(keepLatencies: boolean): AnswerClasses {
    return {
      full: this.full.summary(),
      degraded: this.degraded.summary(),
      shed: this.shed.summary(),
      other: this.other,
      errors: this.errors,
      shedWithoutRetryAfter: this.shedWithoutRetryAfter,
      ...(this.onConnection === undefined ? {} : { onConnection: { full: this.onConnection.full.summary(), shed: this.onConnection.shed.summary() } }),
      ...(keepLatencies ? { latenciesMs: { full: this.full.values(), shed: this.shed.values() } } : {}),
    };
  }
}

function cannonOptions(job: LoadJob): AutocannonOptions {
  const first = job.variants[0];
  if (first === undefined) throw new Error(`job "${job.name}" has no request variants`);
  let nextConnection = 0;
  return {
    url: job.url,
    method: 'POST',
    headers: { ...first.headers },
    body: first.body,
    connections: job.connections,
    pipelining: 1,
    timeout: 10,
    // Called once per connection as autocannon creates it: give each its own variant.
    setupClient: (client) => {
      const variant = job.variants[nextConnection++ % job.variants.length] as RequestVariant;
      client.setHeadersAndBody({ ...variant.headers }, variant.body);
    },
    ...(job.overallRate === undefined ? {} : { overallRate: job.overallRate }),
  };
}

/**
 * Unmeasured requests over `connections` keep-alive connections, as fast as the server
 * answers (autocannon would round a short run up to its next 1 s sample tick).
 */
async function warmUp(job: LoadJob): Promise<void> {
  if (job.warmupRequests <= 0) return;
  const url = new URL(job.url);
  const pool = new Pool(url.origin, { connections: job.connections, headersTimeout: 10_000, bodyTimeout: 10_000 });
  let remaining = job.warmupRequests;
  const lane = async (index: number) => {
    const variant = job.variants[index % job.variants.length] as RequestVariant;
    while (remaining > 0) {
      remaining--;
      const response = await pool.request({ path: url.pathname, method: 'POST', headers: variant.headers, body: variant.body });
      await response.body.dump();
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(job.connections, job.warmupRequests) }, (_, index) => lane(index)));
  } finally {
    await pool.close();
  }
}

async function readMetrics(url: string): Promise<string> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url} answered HTTP ${response.status}`);
  return response.text();
}

/** The counters the upstream-calls ratio is made of (reading /metrics counts itself under another route). */
function callCounters(text: string): string {
  return text
    .split('\n')
    .filter((line) => line.startsWith('floorplan_upstream_requests_total{') || (line.startsWith('floorplan_http_request_duration_seconds_count{') && line.includes('route="/graphql"')))
    .join('\n');
}

/**
 * /metrics once no request is in flight: the counters read the same twice in a row. A
 * request's upstream calls are counted before the request is, so reading while some are
 * still in flight would show more calls than requests.
 */
async function settledMetrics(url: string): Promise<string> {
  let previous = await readMetrics(url);
  const deadline = performance.now() + 15_000;
  while (performance.now() < deadline) {
    await sleep(150);
    const current = await readMetrics(url);
    if (callCounters(current) === callCounters(previous)) return current;
    previous = current;
  }
  throw new Error(`Floorplan's counters at ${url} did not settle within 15 s of the load stopping`);
}

interface RunningProbe {
  stop(): Promise<{ summary: LatencySummary & { failures: number }; samples: Samples }>;
}

/**
 * Times the critical path Floorplan waits on for one panel — GET cart, then promotion and
 * settlement in parallel, their bodies made from that cart's ticked lines as Floorplan makes
 * them — over a keep-alive undici pool, as independent arrivals every `intervalMs` while the
 * load runs, cycling through the same users as the load.
 */
function startProbe(probe: CriticalPathProbe): RunningProbe {
  const agent = new Agent({ connections: 64, keepAliveTimeout: 60_000 });
  const call = async (path: string, body?: string): Promise<string> => {
    const response = await request(`${probe.origin}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } }),
      dispatcher: agent,
    });
    const text = await response.body.text();
    if (response.statusCode !== 200) throw new Error(`${path} answered HTTP ${response.statusCode}`);
    return text;
  };

  const samples = new Samples();
  let failures = 0;
  let inFlight = 0;
  let nextUser = 0;
  const pending = new Set<Promise<void>>();
  const once = async (userId: string) => {
    const started = performance.now();
    const cart = JSON.parse(await call(`/cart/carts/${encodeURIComponent(userId)}`)) as {
      lines: Array<{ skuId: string; quantity: number; selected: boolean }>;
    };
    const lines = cart.lines.filter((l) => l.selected).sort((a, b) => (a.skuId < b.skuId ? -1 : a.skuId > b.skuId ? 1 : 0));
    await Promise.all([
      call('/promotion/promotions/query', JSON.stringify({ userId, skuIds: lines.map((l) => l.skuId) })),
      call(
        '/settlement/settlement/quotes',
        JSON.stringify({ userId, quotes: [{ quoteId: 'q0', lines: lines.map((l) => ({ skuId: l.skuId, quantity: l.quantity })) }] }),
      ),
    ]);
    samples.push(performance.now() - started);
  };
  const timer = setInterval(() => {
    // A stalled upstream must not pile up probes without bound.
    if (inFlight >= 256) return;
    inFlight++;
    const userId = probe.userIds[nextUser++ % probe.userIds.length] as string;
    const run: Promise<void> = once(userId)
      .catch(() => {
        failures++;
      })
      .finally(() => {
        inFlight--;
        pending.delete(run);
      });
    pending.add(run);
  }, probe.intervalMs);

  return {
    async stop() {
      clearInterval(timer);
      await Promise.allSettled([...pending]);
      await agent.close();
      return { summary: { ...samples.summary(), failures }, samples };
    },
  };
}

function readCpu(pids: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(Object.entries(pids).map(([label, pid]) => [label, cpuTimeUs(pid)]));
}

/** What a measured window produced. */
interface Window {
  completed: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  readonly samples: Samples;
  /** Wall time the load ran, seconds. */
  elapsedSeconds: number;
  /** Every answer by class, for a job with `classify`. */
  readonly classes?: AnswerSorter;
  /** Open loop with `classify`: arrivals that waited in the generator for a free connection. */
  queuedInGenerator?: number;
  /** A fixed-rate job with `timelineSeconds`: the window span by span. */
  timeline?: Timeline;
}

function emptyWindow(classify = false): Window {
  return {
    completed: 0,
    ok: 0,
    non2xx: 0,
    errors: 0,
    timeouts: 0,
    samples: new Samples(),
    elapsedSeconds: 0,
    ...(classify ? { classes: new AnswerSorter() } : {}),
  };
}

/** Counts one answer in `window` (and sorts it, when the window classifies). */
function recordAnswer(window: Window, status: number, hasRetryAfter: boolean, body: string, latencyMs: number, onConnectionMs?: number): void {
  window.completed++;
  if (status >= 200 && status < 300) {
    window.ok++;
    window.samples.push(latencyMs);
  } else {
    window.non2xx++;
  }
  window.classes?.answer(status, hasRetryAfter, body, latencyMs, onConnectionMs);
}

/** Counts a request that got no answer (reset, refused, timed out). */
function recordError(window: Window, error: unknown): void {
  window.errors++;
  if (window.classes !== undefined) window.classes.errors++;
  if (error instanceof Error && /timeout/i.test(error.name + error.message)) window.timeouts++;
}

/** A run whose answers are sorted: its job, the path it posts to, and the connections opened for it. */
abstract class SortedRun {
  protected constructor(
    protected readonly job: LoadJob,
    protected readonly path: string,
    protected readonly clients: readonly Client[],
  ) {}
}

/**
 * Closed loop on undici: `connections` keep-alive connections, one Client each (no pipelining),
 * each sending its next request as soon as it has read the previous answer — so there are always
 * as many requests in flight as connections, whatever the server answers. That is what "N
 * connections" means for an overloaded server: more clients, not more patience. A shed answer
 * is not retried after its Retry-After: a client that ignores it is the harder case for the
 * server, whose refusals must then be cheap enough not to eat the capacity they protect.
 */
class ClosedLoop extends SortedRun {
  /** Opens every connection with one unmeasured request, so connecting is not in the window. */
  static async open(job: LoadJob): Promise<ClosedLoop> {
    const url = new URL(job.url);
    return new ClosedLoop(job, url.pathname, await openClients(job, url));
  }

  private send(client: Client, index: number): Promise<Answer> {
    return sendOn(client, this.path, this.job.variants[index % this.job.variants.length] as RequestVariant);
  }

  /**
   * `durationSeconds` of load. A request sent before the end is waited for and counted, so the
   * window ends with the last answer and every request charged to the CPU readings is counted.
   */
  async run(): Promise<Window> {
    const window = emptyWindow(this.job.classify === true);
    const started = performance.now();
    const endAt = started + this.job.durationSeconds * 1000;
    const lane = async (client: Client, index: number) => {
      while (performance.now() < endAt) {
        const sentAt = performance.now();
        try {
          const { status, hasRetryAfter, body } = await this.send(client, index);
          recordAnswer(window, status, hasRetryAfter, body, performance.now() - sentAt);
        } catch (error) {
          recordError(window, error);
          // A refused or reset connection fails at once: do not spin on it.
          await sleep(10);
        }
      }
    };
    await Promise.all(this.clients.map((client, index) => lane(client, index)));
    window.elapsedSeconds = (performance.now() - started) / 1000;
    return window;
  }

  async close(): Promise<void> {
    await closeClients(this.clients);
  }
}

/** One answer as the sorter needs it. */
interface Answer {
  readonly status: number;
  readonly hasRetryAfter: boolean;
  readonly body: string;
}

async function sendOn(client: Client, path: string, variant: RequestVariant): Promise<Answer> {
  const response = await client.request({ path, method: 'POST', headers: variant.headers, body: variant.body });
  const body = await response.body.text();
  return { status: response.statusCode, hasRetryAfter: response.headers['retry-after'] !== undefined, body };
}

/** Connections opened at once, at most: more would overflow the server's accept backlog into SYN retries (1 s, 3 s …). */
const OPEN_BATCH = 64;

/**
 * `job.connections` keep-alive connections (one undici Client each, no pipelining), each opened
 * with one unmeasured request — in batches of {@link OPEN_BATCH}, so that even a busy server
 * accepts them all at the first try.
 */
async function openClients(job: LoadJob, url: URL): Promise<Client[]> {
  const clients = Array.from(
    { length: job.connections },
    () => new Client(url.origin, { pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: 10_000, bodyTimeout: 10_000 }),
  );
  for (let first = 0; first < clients.length; first += OPEN_BATCH) {
    await Promise.all(
      clients.slice(first, first + OPEN_BATCH).map((client, i) => sendOn(client, url.pathname, job.variants[(first + i) % job.variants.length] as RequestVariant).catch(() => undefined)),
    );
  }
  return clients;
}

async function closeClients(clients: readonly Client[]): Promise<void> {
  await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
}

/**
 * Calls `fire(k)` for k = 0 … total − 1 at k / rate s from now, and resolves once the last has
 * been fired. Timers fire ≥ 1 ms apart; whatever fell due meanwhile goes out on the next tick.
 */
function onSchedule(rate: number, total: number, fire: (index: number) => void): Promise<void> {
  const started = performance.now();
  const intervalMs = 1000 / rate;
  let sent = 0;
  return new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor((performance.now() - started) / intervalMs) + 1);
      while (sent < due) fire(sent++);
      if (sent >= total) return resolve();
      setTimeout(tick, Math.min(intervalMs, 1));
    };
    tick();
  });
}

/**
 * Open loop with every answer sorted: arrival k is due at k / rate s, whether or not earlier
 * ones have been answered, over `connections` keep-alive connections opened before the clock
 * starts (opening them mid-run would put connect times, or worse SYN retries, in the latencies).
 * An arrival that finds every connection busy waits in the generator, on the clock, and is
 * counted in `queuedInGenerator`: a server that answers or refuses as fast as requests come
 * never makes one wait. Latency runs from the arrival's due time.
 */
class OpenLoop extends SortedRun {
  static async open(job: LoadJob): Promise<OpenLoop> {
    const url = new URL(job.url);
    return new OpenLoop(job, url.pathname, await openClients(job, url));
  }

  /**
   * `durationSeconds` of arrivals at `rate`; the window ends with the last answer, so past
   * saturation — when answers trail the schedule — answers per second are what the server served.
   */
  async run(rate: number): Promise<Window> {
    const window = emptyWindow(true);
    const total = Math.max(1, Math.round(rate * this.job.durationSeconds));
    const idle = this.clients.map((_, index) => index);
    const waiting: Array<{ readonly arrival: number; readonly dueAt: number }> = [];
    let head = 0;
    let queued = 0;
    let finished = 0;
    let allAnswered: () => void = () => undefined;
    const answered = new Promise<void>((done) => (allAnswered = done));
    const dispatch = (clientIndex: number, arrival: number, dueAt: number): void => {
      const client = this.clients[clientIndex] as Client;
      const sentAt = performance.now();
      sendOn(client, this.path, this.job.variants[arrival % this.job.variants.length] as RequestVariant)
        .then(({ status, hasRetryAfter, body }) => {
          const now = performance.now();
          recordAnswer(window, status, hasRetryAfter, body, now - dueAt, now - sentAt);
        })
        .catch((error: unknown) => recordError(window, error))
        .finally(() => {
          if (++finished === total) allAnswered();
          const next = waiting[head];
          if (next === undefined) {
            idle.push(clientIndex);
            return;
          }
          head++;
          dispatch(clientIndex, next.arrival, next.dueAt);
        });
    };
    const started = performance.now();
    await onSchedule(rate, total, (arrival) => {
      const dueAt = performance.now();
      const clientIndex = idle.pop();
      if (clientIndex !== undefined) return dispatch(clientIndex, arrival, dueAt);
      queued++;
      waiting.push({ arrival, dueAt });
    });
    await answered;
    window.elapsedSeconds = (performance.now() - started) / 1000;
    window.queuedInGenerator = queued;
    return window;
  }

  async close(): Promise<void> {
    await closeClients(this.clients);
  }
}

/**
 * autocannon for `durationSeconds`: closed loop (each connection sends its next request when
 * the last answers), or autocannon's own `overallRate`. Latency is what autocannon measures per
 * request (written → last byte), recorded here at full resolution (its histogram keeps whole ms).
 */
async function autocannonWindow(job: LoadJob): Promise<Window> {
  const window = emptyWindow();
  const started = performance.now();
  const result = await new Promise<import('autocannon').AutocannonResult>((resolve, reject) => {
    const options = { ...cannonOptions(job), duration: job.durationSeconds };
    const instance = autocannon(options, (error, res) => (error ? reject(error) : resolve(res)));
    instance.on('response', (_client, statusCode, _bytes, responseTimeMs) => {
      window.completed++;
      if (statusCode >= 200 && statusCode < 300) {
        window.ok++;
        window.samples.push(responseTimeMs);
      }
    });
    // autocannon stops at its first sample tick past `duration`; this only guards a wedged run.
    setTimeout(() => instance.stop(), (job.durationSeconds + 30) * 1000).unref();
  });
  window.elapsedSeconds = (performance.now() - started) / 1000;
  window.non2xx = result.non2xx;
  window.errors = result.errors;
  window.timeouts = result.timeouts;
  return window;
}

/**
 * Open-loop arrivals at a steady `overallRate`: request k is sent at k / rate seconds,
 * whether or not earlier ones have answered, over a keep-alive pool of `connections`.
 * autocannon's overallRate is not used for this: it lets each connection send its whole
 * per-second quota at the top of every second, so "half saturation" arrives as one burst a
 * second and p99 measures that burst's queue. Latency runs from the moment a request is
 * handed to the pool (a request that waits for a free connection waits on the clock).
 */
async function pacedWindow(job: LoadJob, rate: number): Promise<Window> {
  const timeline = job.timelineSeconds === undefined ? undefined : new Timeline(rate * job.timelineSeconds, job.timelineSeconds);
  const window: Window = { ...emptyWindow(), ...(timeline === undefined ? {} : { timeline }) };
  const url = new URL(job.url);
  const pool = new Pool(url.origin, { connections: job.connections, headersTimeout: 10_000, bodyTimeout: 10_000 });
  const total = Math.max(1, Math.round(rate * job.durationSeconds));
  const inFlight = new Set<Promise<void>>();
  const fire = (index: number) => {
    const variant = job.variants[index % job.variants.length] as RequestVariant;
    const sentAt = performance.now();
    const request: Promise<void> = pool
      .request({ path: url.pathname, method: 'POST', headers: variant.headers, body: variant.body })
      .then(async (response) => {
        await response.body.dump();
        const latencyMs = performance.now() - sentAt;
        recordAnswer(window, response.statusCode, false, '', latencyMs);
        if (timeline !== undefined) recordAnswer(timeline.span(index), response.statusCode, false, '', latencyMs);
      })
      .catch((error: unknown) => {
        recordError(window, error);
        if (timeline !== undefined) recordError(timeline.span(index), error);
      })
      .finally(() => inFlight.delete(request));
    inFlight.add(request);
  };

  const started = performance.now();
  await onSchedule(rate, total, fire);
  window.elapsedSeconds = (performance.now() - started) / 1000;
  // Every request sent is answered (or times out) inside the window, so CPU and counts agree.
  while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
  await pool.close();
  return window;
}

/** Runs one job: warm-up, drain, readings, measured window, readings, drain, metrics. */
export async function runJob(job: LoadJob): Promise<LoadResult> {
  await warmUp(job);
  const paced = job.overallRate !== undefined && job.pacing !== 'autocannon';
  if (job.timelineSeconds !== undefined && (!paced || job.classify === true)) {
    throw new Error(`job "${job.name}": timelineSeconds needs a fixed rate with uniform pacing and no classify`);
  }
  // A sorted job runs on its own connections, opened here, before the readings.
  const sorted = job.classify !== true ? undefined : paced ? await OpenLoop.open(job) : await ClosedLoop.open(job);
  try {
    return await measure(job, paced, sorted);
  } finally {
    await sorted?.close();
  }
}

/** The rest of {@link runJob}: drain, readings, measured window, readings, drain, metrics. */
async function measure(job: LoadJob, paced: boolean, sorted: OpenLoop | ClosedLoop | undefined): Promise<LoadResult> {
  await sleep(job.drainMs);

  const metricsBefore = job.metricsUrl === undefined ? undefined : await settledMetrics(job.metricsUrl);
  const probe = job.probe === undefined ? undefined : startProbe(job.probe);

  const cpuBefore = readCpu(job.pids);
  const stealBefore = stealMsByCore();
  const workerBefore = process.cpuUsage();
  const rate = job.overallRate as number;
  const window =
    sorted instanceof OpenLoop ? await sorted.run(rate) : sorted !== undefined ? await sorted.run() : paced ? await pacedWindow(job, rate) : await autocannonWindow(job);
  // Read at once. After autocannon, requests still in flight when it stopped (at most
  // `connections`) are partly charged and not counted; a paced or undici window has none left.
  const cpuAfter = readCpu(job.pids);
  const stealAfter = stealMsByCore();
  const workerDelta = process.cpuUsage(workerBefore);
  const probed = probe === undefined ? undefined : await probe.stop();

  await sleep(job.drainMs);
  const metricsAfter = job.metricsUrl === undefined ? undefined : await settledMetrics(job.metricsUrl);
  const rss = Object.fromEntries(Object.entries(job.pids).map(([label, pid]) => [label, Math.round(rssMb(pid) * 10) / 10]));

  return {
    name: job.name,
    completed: window.completed,
    ok: window.ok,
    non2xx: window.non2xx,
    errors: window.errors,
    timeouts: window.timeouts,
    elapsedSeconds: Math.round(window.elapsedSeconds * 1000) / 1000,
    rps: Math.round((window.completed / window.elapsedSeconds) * 10) / 10,
    latency: window.samples.summary(),
    cpuUs: Object.fromEntries(Object.entries(cpuAfter).map(([label, us]) => [label, us - (cpuBefore[label] ?? 0)])),
    rssMb: rss,
    workerCpuUs: workerDelta.user + workerDelta.system,
    stealMs: stealAfter.map((ms, core) => Math.round(ms - (stealBefore[core] ?? ms))),
    ...(metricsBefore !== undefined && metricsAfter !== undefined ? { metrics: { before: metricsBefore, after: metricsAfter } } : {}),
    ...(probed === undefined ? {} : { probe: probed.summary }),
    ...(window.classes === undefined ? {} : { classes: window.classes.summary(job.keepLatencies === true) }),
    ...(window.classes === undefined && job.keepLatencies === true
      ? { latenciesMs: { ok: window.samples.values(), ...(probed === undefined ? {} : { probe: probed.samples.values() }) } }
      : {}),
    ...(window.queuedInGenerator === undefined ? {} : { queuedInGenerator: window.queuedInGenerator }),
    ...(window.timeline === undefined ? {} : { timeline: window.timeline.summary() }),
  };
}

async function answer(line: string): Promise<void> {
  let output: unknown;
  try {
    output = await runJob(JSON.parse(line) as LoadJob);
  } catch (error) {
    output = { error: error instanceof Error ? error.message : String(error) };
  }
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(output)}\n`);
}

async function main(): Promise<void> {
  const single = process.argv[2];
  if (single !== undefined) {
    await answer(single);
    return;
  }
  // One job at a time, in order; stdin closing (the orchestrator exited) ends the worker.
  const lines = createInterface({ input: process.stdin });
  process.stdout.write(`${READY_LINE}\n`);
  for await (const line of lines) {
    if (line.trim() !== '') await answer(line);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`load worker failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
