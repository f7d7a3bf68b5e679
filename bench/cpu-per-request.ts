/**
 * Server CPU per full-panel request of two Floorplan variants, A and B, in interleaved rounds:
 * the A/B method of bench/tracing.ts and bench/expression-floors-request.ts.
 *
 * Both servers run with the bench config (compiled from dist/ when the caller has called
 * `useCompiledChildren()`, with production node flags), pinned to core 0; the demo upstreams
 * and the load worker (bench/load.ts) to core 1. Each round measures A then B, or B then A
 * (alternating, so neither always follows the other's GC or the machine's drift), reading each
 * server process's CPU time around its window. With `simultaneous`, both are loaded at once
 * instead, each by its own load worker, both sharing core 0: this VM's speed drifts by tens of
 * percent between windows of a few seconds (a round read 965 and the next 402 µs/req for the
 * same server), and windows that run side by side see the same drift. Every answer is sorted
 * (`classify`): only full panels count, so a refusal or a degraded panel cannot flatter either
 * server.
 */
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadServiceConfig } from '../src/config/service-config.ts';
import { canPin, cleanEnv, FLOORPLAN_MAIN, floorplanEnv, freePorts, pin, productionNodeFlags, ROOT, startNode, stopChildren, type Child } from './children.ts';
import { READY_LINE, RESULT_PREFIX, type LoadJob, type LoadResult } from './load-job.ts';
import { graphqlBody, PANEL_QUERY } from './panel.ts';
import { gcBetween } from './prometheus-text.ts';
import { median } from './stats.ts';
import { seedLikeUsers, TokenBook } from './users.ts';

/** One of the two servers compared. */
export interface CpuVariant {
  /** A short label for logs and results, e.g. "off" or "builders". */
  readonly name: string;
  /** The FLOORS_DIR it serves. */
  readonly floorsDir: string;
  /** Environment on top of the bench Floorplan's ({@link floorplanEnv}). */
  readonly env?: Readonly<Record<string, string>>;
  /** Another checkout of Floorplan, already built (`npm ci && npm run build` there), whose dist/ this variant runs; default this one. */
  readonly root?: string;
  /** Node's flags; default `npm run start:prod`'s. */
  readonly nodeFlags?: readonly string[];
  /** Start the server in a memory cgroup of this many bytes, as under a container's memory limit (root only). */
  readonly memoryLimitBytes?: number;
}

export interface CpuPerRequestOptions {
  /** A is the reference: ratios are B ÷ A. */
  readonly a: CpuVariant;
  readonly b: CpuVariant;
  readonly rounds: number;
  /** Measured window per server per round, whole seconds. */
  readonly seconds: number;
  /** Concurrent connections, one load user each (bench/users.ts). */
  readonly connections: number;
  /** Unmeasured requests to each server before the first round (JIT, caches). */
  readonly warmupRequests: number;
  /** Unmeasured requests before each measured window; 200 unless told. */
  readonly roundWarmupRequests?: number;
  /** Prefix of the load jobs' and child processes' names, e.g. "tracing". */
  readonly label: string;
  /**
   * Before measuring, ask both servers for every load user's panel and fail unless the two
   * answers are byte-identical: a comparison of two servers serving different panels means nothing.
   */
  readonly samePanels?: boolean;
  /**
   * Load both servers at the same time, each with `connections` of its own, in every round
   * (both on core 0, so each gets about half of it); otherwise one after the other.
   */
  readonly simultaneous?: boolean;
  /** Runs after the last round, while every process still runs (e.g. to let a trace exporter flush). */
  readonly afterRounds?: () => Promise<void>;
  readonly log: (line: string) => void;
}

/** Answers other than a full panel, not counted in CPU per request. */
export interface NonFullCounts {
  degraded: number;
  shed: number;
  other: number;
  errors: number;
}

export interface CpuVariantResult {
  readonly name: string;
  /** Server CPU µs over every measured window ÷ full panels answered in them. */
  readonly cpuUsPerReq: number;
  readonly cpuUs: number;
  readonly fullPanels: number;
  readonly nonFull: NonFullCounts;
  /** Garbage collection (every kind, from the server's /metrics) over the measured windows ÷ full panels. */
  readonly gcUsPerReq: number;
  /** Scavenges in the measured windows, and their mean pause. */
  readonly scavenges: { readonly count: number; readonly meanMs: number };
  /** Mark-compacts in the measured windows: how fast what outlives the young generation fills the old space. */
  readonly markCompacts: number;
  /** The server's RSS at the end of each round's window: the largest and the median. */
  readonly rssMb: { readonly max: number; readonly median: number };
}

export interface CpuPerRequestResult {
  readonly a: CpuVariantResult;
  readonly b: CpuVariantResult;
  /** b.cpuUsPerReq ÷ a.cpuUsPerReq, over all rounds pooled. */
  readonly ratio: number;
  /** The median of the per-round B ÷ A ratios. */
  readonly medianRoundRatio: number;
  /** µs/req per round, in round order. */
  readonly rounds: ReadonlyArray<{ readonly a: number; readonly b: number }>;
  readonly users: number;
  /** Users whose panels were compared byte for byte (0 without `samePanels`). */
  readonly checkedUsers: number;
  readonly pinned: boolean;
}

export async function waitUntil(child: Child, what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.process.exitCode !== null) throw new Error(`${child.name} exited: ${child.output()}`);
    if (await check().catch(() => false)) return;
    await sleep(100);
  }
  throw new Error(`${child.name} was not ${what} within 60 s: ${child.output()}`);
}

/** The load worker, one job at a time over stdin/stdout (as bench/run.ts drives it). */
export function startWorker(): { child: Child; ready: Promise<void>; run: (job: LoadJob) => Promise<LoadResult> } {
  const child = startNode('load', 'bench/load.ts', { env: cleanEnv({}) });
  const waiting: Array<(line: string) => void> = [];
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((done) => (onReady = done));
  createInterface({ input: child.process.stdout! }).on('line', (line) => {
    if (line === READY_LINE) onReady();
    else if (line.startsWith(RESULT_PREFIX)) waiting.shift()?.(line.slice(RESULT_PREFIX.length));
  });
  const run = async (job: LoadJob) => {
    const answer = new Promise<string>((done) => waiting.push(done));
    child.process.stdin!.write(`${JSON.stringify(job)}\n`);
    const parsed = JSON.parse(await answer) as LoadResult | { error: string };
    if ('error' in parsed) throw new Error(`load run ${job.name} failed: ${parsed.error}`);
    return parsed;
  };
  return { child, ready, run };
}

/** Asks both servers for each user's panel; throws naming the first user whose raw answers differ, or are not a 200. */
async function checkSamePanels(urls: { a: string; b: string }, names: { a: string; b: string }, requests: ReadonlyArray<{ userId: string; headers: Record<string, string>; body: string }>): Promise<void> {
  for (const { userId, headers, body } of requests) {
    const answer = async (url: string) => {
      const response = await fetch(url, { method: 'POST', headers, body });
      return `HTTP ${response.status} ${await response.text()}`;
    };
    const [a, b] = await Promise.all([answer(urls.a), answer(urls.b)]);
    if (a !== b) throw new Error(`${names.a} and ${names.b} answer ${userId} different panels, so their CPU cannot be compared:\n${names.a}: ${a}\n${names.b}: ${b}`);
    if (!a.startsWith('HTTP 200 ')) throw new Error(`${userId}'s panel is not a 200: ${a}`);
  }
}

/** Starts the demo upstreams, both servers and the load worker, measures, and stops what it started. */
export async function measureCpuPerRequest(options: CpuPerRequestOptions): Promise<CpuPerRequestResult> {
  const { a, b, rounds, seconds, connections, warmupRequests, label, log } = options;
  const started: Child[] = [];
  const track = (child: Child) => (started.push(child), child);
  try {
    const [upstreamPort, aPort, bPort] = (await freePorts(3)) as [number, number, number];
    const upstreams = track(startNode('demo-upstreams', 'src/demo-upstreams/main.ts', { env: cleanEnv({ DEMO_PORT: String(upstreamPort), DEMO_FAULTS: '' }) }));
    const upstreamOrigin = `http://127.0.0.1:${upstreamPort}`;
    const start = (variant: CpuVariant, port: number) => {
      const env = floorplanEnv(port, upstreamOrigin, variant.floorsDir, variant.env);
      const child = track(startNode(`floorplan-${label}-${variant.name}`, FLOORPLAN_MAIN, {
          env,
          nodeFlags: variant.nodeFlags ?? productionNodeFlags(),
          ...(variant.root === undefined ? {} : { root: variant.root }),
          ...(variant.memoryLimitBytes === undefined ? {} : { memoryLimitBytes: variant.memoryLimitBytes }),
        }));
      return { variant, env, child, url: `http://127.0.0.1:${port}/graphql` };
    };
    const servers = { a: start(a, aPort), b: start(b, bPort) };
    const worker = startWorker();
    track(worker.child);
    // The second server's load in simultaneous rounds (one worker runs one job at a time).
    const second = options.simultaneous === true ? startWorker() : undefined;
    if (second !== undefined) track(second.child);
    await waitUntil(upstreams, 'answering /healthz', async () => (await fetch(`${upstreamOrigin}/healthz`)).ok);
    for (const { child, url } of Object.values(servers)) await waitUntil(child, 'ready', async () => (await fetch(url.replace('/graphql', '/readyz'))).ok);
    await worker.ready;
    await second?.ready;
    pin(upstreams, 1);
    pin(worker.child, 1);
    if (second !== undefined) pin(second.child, 1);
    for (const { child } of Object.values(servers)) pin(child, 0);
    log(canPin() ? 'servers pinned to core 0, load worker and demo upstreams to core 1' : 'NOT pinned (taskset or a second core missing)');

    const book = new TokenBook(loadServiceConfig({ env: servers.b.env, dir: join(ROOT, 'config') }).auth);
    const users = await seedLikeUsers(connections, servers.a.url, book);
    if (users.length === 0) throw new Error('found no load users');
    const requests = users.map((userId) => ({ userId, headers: book.headers(userId), body: graphqlBody(PANEL_QUERY) }));
    if (options.samePanels === true) {
      await checkSamePanels({ a: servers.a.url, b: servers.b.url }, { a: a.name, b: b.name }, requests);
      log(`${a.name} and ${b.name} answer byte-identical panels for all ${users.length} load users`);
    }
    const variants = requests.map(({ headers, body }) => ({ headers, body }));
    const job = (key: 'a' | 'b', warmup: number): LoadJob => ({
      name: `${label}-${servers[key].variant.name}`,
      url: servers[key].url,
      variants,
      connections,
      warmupRequests: warmup,
      durationSeconds: seconds,
      pids: { server: servers[key].child.pid },
      metricsUrl: servers[key].url.replace('/graphql', '/metrics'),
      drainMs: 300,
      // Sort every answer: only full panels count, so a refusal or a degraded panel cannot flatter either server.
      classify: true,
    });

    log(
      second === undefined
        ? `${users.length} load users, ${connections} connections; ${rounds} interleaved rounds of ${seconds} s per server`
        : `${users.length} load users, ${connections} connections per server; ${rounds} rounds of ${seconds} s, both servers loaded at once`,
    );
    for (const key of ['a', 'b'] as const) await worker.run(job(key, warmupRequests));
    const totals = {
      a: { cpuUs: 0, full: 0, gcMs: 0, scavenges: 0, scavengeMs: 0, markCompacts: 0, rss: [] as number[], nonFull: { degraded: 0, shed: 0, other: 0, errors: 0 } },
      b: { cpuUs: 0, full: 0, gcMs: 0, scavenges: 0, scavengeMs: 0, markCompacts: 0, rss: [] as number[], nonFull: { degraded: 0, shed: 0, other: 0, errors: 0 } },
    };
    const perRound: Array<{ a: number; b: number }> = [];
    for (let r = 0; r < rounds; r++) {
      // Alternate which goes first, so neither always follows the other's GC or the machine's drift.
      const order = r % 2 === 0 ? (['a', 'b'] as const) : (['b', 'a'] as const);
      const round = { a: Number.NaN, b: Number.NaN };
      const roundWarmup = options.roundWarmupRequests ?? 200;
      const results: Array<readonly ['a' | 'b', LoadResult]> = [];
      if (second === undefined) {
        for (const key of order) results.push([key, await worker.run(job(key, roundWarmup))]);
      } else {
        const [first, other] = order;
        const [x, y] = await Promise.all([worker.run(job(first, roundWarmup)), second.run(job(other, roundWarmup))]);
        results.push([first, x], [other, y]);
      }
      for (const [key, result] of results) {
        const classes = result.classes!;
        const full = classes.full.samples;
        const cpuUs = result.cpuUs.server ?? Number.NaN;
        totals[key].cpuUs += cpuUs;
        totals[key].full += full;
        const gc = gcBetween(result.metrics!.before, result.metrics!.after, `run "${result.name}"`);
        totals[key].gcMs += gc.minorGc.totalMs + gc.majorGc.totalMs + gc.incrementalGc.totalMs;
        totals[key].scavenges += gc.minorGc.count;
        totals[key].scavengeMs += gc.minorGc.totalMs;
        totals[key].markCompacts += gc.majorGc.count;
        totals[key].rss.push(result.rssMb['server'] ?? Number.NaN);
        const nonFull = totals[key].nonFull;
        nonFull.degraded += classes.degraded.samples;
        nonFull.shed += classes.shed.samples;
        nonFull.other += classes.other;
        nonFull.errors += classes.errors;
        round[key] = cpuUs / full;
      }
      perRound.push(round);
      log(`  round ${r + 1}: ${a.name} ${round.a.toFixed(1)} µs/req, ${b.name} ${round.b.toFixed(1)} µs/req (${(round.b / round.a).toFixed(3)})`);
    }
    await options.afterRounds?.();
    const result = (key: 'a' | 'b'): CpuVariantResult => {
      const t = totals[key];
      return {
        name: options[key].name,
        cpuUsPerReq: t.cpuUs / t.full,
        cpuUs: t.cpuUs,
        fullPanels: t.full,
        nonFull: t.nonFull,
        gcUsPerReq: (t.gcMs * 1000) / t.full,
        scavenges: { count: t.scavenges, meanMs: t.scavenges > 0 ? t.scavengeMs / t.scavenges : 0 },
        markCompacts: t.markCompacts,
        rssMb: { max: Math.max(...t.rss), median: median(t.rss) },
      };
    };
    const [ra, rb] = [result('a'), result('b')];
    for (const r of [ra, rb]) log(`${r.name}: garbage collection ${r.gcUsPerReq.toFixed(1)} µs/req; ${r.scavenges.count} scavenges of ${r.scavenges.meanMs.toFixed(2)} ms on average, ${r.markCompacts} mark-compacts; RSS at the end of a window ${r.rssMb.median.toFixed(1)} MB (median), ${r.rssMb.max.toFixed(1)} MB (largest)`);
    return {
      a: ra,
      b: rb,
      ratio: rb.cpuUsPerReq / ra.cpuUsPerReq,
      medianRoundRatio: median(perRound.map((r) => r.b / r.a)),
      rounds: perRound,
      users: users.length,
      checkedUsers: options.samePanels === true ? users.length : 0,
      pinned: canPin(),
    };
  } finally {
    await stopChildren(started);
  }
}

/** Whether either variant answered anything other than full panels in the measured windows. */
export function hadNonFull(result: CpuPerRequestResult): boolean {
  const count = (n: NonFullCounts) => n.degraded + n.shed + n.other + n.errors;
  return count(result.a.nonFull) + count(result.b.nonFull) > 0;
}
