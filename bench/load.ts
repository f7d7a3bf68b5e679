/**
 * The load worker: runs autocannon programmatically against one server and prints the
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
import { Agent, Pool, request } from 'undici';
import { READY_LINE, RESULT_PREFIX, type CriticalPathProbe, type LatencySummary, type LoadJob, type LoadResult, type RequestVariant } from './load-job.ts';
import { cpuTimeUs, rssMb } from './proc.ts';

/** Nearest-rank percentile of sorted samples. */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length)));
  return sorted[rank - 1] as number;
}

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
      p50Ms: round(percentile(sorted, 0.5)),
      p99Ms: round(percentile(sorted, 0.99)),
      meanMs: sorted.length === 0 ? Number.NaN : round(sum / sorted.length),
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
  stop(): Promise<LatencySummary & { failures: number }>;
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
      return { ...samples.summary(), failures };
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
}

function emptyWindow(): Window {
  return { completed: 0, ok: 0, non2xx: 0, errors: 0, timeouts: 0, samples: new Samples(), elapsedSeconds: 0 };
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
  const window = emptyWindow();
  const url = new URL(job.url);
  const pool = new Pool(url.origin, { connections: job.connections, headersTimeout: 10_000, bodyTimeout: 10_000 });
  const total = Math.max(1, Math.round(rate * job.durationSeconds));
  const intervalMs = 1000 / rate;
  const inFlight = new Set<Promise<void>>();
  const fire = (index: number) => {
    const variant = job.variants[index % job.variants.length] as RequestVariant;
    const sentAt = performance.now();
    const request: Promise<void> = pool
      .request({ path: url.pathname, method: 'POST', headers: variant.headers, body: variant.body })
      .then(async (response) => {
        await response.body.dump();
        window.completed++;
        if (response.statusCode >= 200 && response.statusCode < 300) {
          window.ok++;
          window.samples.push(performance.now() - sentAt);
        } else {
          window.non2xx++;
        }
      })
      .catch((error: unknown) => {
        window.errors++;
        if (error instanceof Error && /timeout/i.test(error.name + error.message)) window.timeouts++;
      })
      .finally(() => inFlight.delete(request));
    inFlight.add(request);
  };

  const started = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor((performance.now() - started) / intervalMs) + 1);
      while (sent < due) fire(sent++);
      if (sent >= total) return resolve();
      // Timers fire ≥ 1 ms apart; whatever fell due meanwhile goes out on the next tick.
      setTimeout(tick, Math.min(intervalMs, 1));
    };
    tick();
  });
  window.elapsedSeconds = (performance.now() - started) / 1000;
  // Every request sent is answered (or times out) inside the window, so CPU and counts agree.
  while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
  await pool.close();
  return window;
}

/** Runs one job: warm-up, drain, readings, measured window, readings, drain, metrics. */
export async function runJob(job: LoadJob): Promise<LoadResult> {
  await warmUp(job);
  await sleep(job.drainMs);

  const metricsBefore = job.metricsUrl === undefined ? undefined : await settledMetrics(job.metricsUrl);
  const probe = job.probe === undefined ? undefined : startProbe(job.probe);

  const cpuBefore = readCpu(job.pids);
  const workerBefore = process.cpuUsage();
  const paced = job.overallRate !== undefined && job.pacing !== 'autocannon';
  const window = paced ? await pacedWindow(job, job.overallRate as number) : await autocannonWindow(job);
  // Read at once. After autocannon, requests still in flight when it stopped (at most
  // `connections`) are partly charged and not counted; a paced window has none left.
  const cpuAfter = readCpu(job.pids);
  const workerDelta = process.cpuUsage(workerBefore);
  const probeSummary = probe === undefined ? undefined : await probe.stop();

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
    ...(metricsBefore !== undefined && metricsAfter !== undefined ? { metrics: { before: metricsBefore, after: metricsAfter } } : {}),
    ...(probeSummary === undefined ? {} : { probe: probeSummary }),
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
