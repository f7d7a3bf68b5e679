/**
 * What tracing costs: CPU per request of Floorplan with tracing off (the default) and with
 * tracing on at a 10 % ratio, exporting over OTLP/HTTP to a receiver on loopback that accepts
 * and discards. Target: ≤ 1.10 × the CPU per request of tracing off.
 *
 *   node_modules/.bin/node --import tsx bench/tracing.ts [--rounds 6] [--seconds 3] [--connections 16] [--ratio 0.1] [--warmup 2000] [--a-a]
 *
 * Both servers run from dist/ (compiled first, as `npm run bench` does) with the bench config,
 * pinned to core 0; the demo upstreams and the load worker (bench/load.ts) to core 1. CPU time
 * of each server process is read around each measured window, in interleaved rounds (off, on,
 * on, off, …) so both see the same drift of this shared machine — the method of
 * `npm run bench`'s fast-path comparison (BENCHMARKS.md).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { loadServiceConfig } from '../src/config/service-config.ts';
import { canPin, cleanEnv, floorplanEnv, killAllNow, pin, productionNodeFlags, ROOT, startNode, stopAll, useCompiledChildren, type Child } from './children.ts';
import { READY_LINE, RESULT_PREFIX, type LoadJob, type LoadResult } from './load-job.ts';
import { graphqlBody, PANEL_QUERY } from './panel.ts';
import { createBenchFloorsDir } from './scenes.ts';
import { seedLikeUsers, TokenBook } from './users.ts';

const TARGET_RATIO = 1.1;
const log = (line: string) => process.stdout.write(`${line}\n`);

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '6' },
    seconds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '16' },
    ratio: { type: 'string', default: '0.1' },
    warmup: { type: 'string', default: '2000' },
    /** A/A check of the method: the second server has tracing off too, so the ratio shows the bench's own bias. */
    'a-a': { type: 'boolean', default: false },
  },
});
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const samplingRatio = Number(values.ratio);
const warmupRequests = Number(values.warmup);

async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<import('node:net').Server>((done) => {
      const server = createNetServer();
      server.listen(0, '127.0.0.1', () => done(server));
    })),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((done) => s.close(done))));
  return ports;
}

async function waitUntil(child: Child, what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.process.exitCode !== null) throw new Error(`${child.name} exited: ${child.output()}`);
    if (await check().catch(() => false)) return;
    await sleep(100);
  }
  throw new Error(`${child.name} was not ${what} within 60 s: ${child.output()}`);
}

/** A collector stand-in: accepts every OTLP/HTTP export and discards it, counting spans roughly. */
async function startDiscardingReceiver(): Promise<{ server: Server; origin: string; exports: () => number; bytes: () => number }> {
  let exports = 0;
  let bytes = 0;
  const server = createServer((req, res) => {
    req.on('data', (chunk: Buffer) => (bytes += chunk.length));
    req.on('end', () => {
      exports++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, exports: () => exports, bytes: () => bytes };
}

/** The load worker, one job at a time over stdin/stdout (as bench/run.ts drives it). */
function startWorker(): { child: Child; ready: Promise<void>; run: (job: LoadJob) => Promise<LoadResult> } {
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

async function main(): Promise<void> {
  log('compiling to dist/ …');
  useCompiledChildren();
  const floors = createBenchFloorsDir();
  const receiver = await startDiscardingReceiver();
  try {
    const [upstreamPort, offPort, onPort] = (await freePorts(3)) as [number, number, number];
    const upstreams = startNode('demo-upstreams', 'src/demo-upstreams/main.ts', { env: cleanEnv({ DEMO_PORT: String(upstreamPort), DEMO_FAULTS: '' }) });
    const upstreamOrigin = `http://127.0.0.1:${upstreamPort}`;
    const fpEnv = (port: number, extra: Record<string, string> = {}) => floorplanEnv(port, upstreamOrigin, floors.dir, extra);
    const offEnv = fpEnv(offPort);
    const onEnv = values['a-a'] ? fpEnv(onPort) : fpEnv(onPort, {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.origin,
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: String(samplingRatio),
      OTEL_SERVICE_NAME: 'floorplan-bench',
    });
    const onConfig = loadServiceConfig({ env: onEnv, dir: join(ROOT, 'config') });
    if (!onConfig.tracing.enabled && !values['a-a']) throw new Error('the traced server would start with tracing off');
    const servers = {
      off: { child: startNode('floorplan-tracing-off', 'src/main.ts', { env: offEnv, nodeFlags: productionNodeFlags() }), url: `http://127.0.0.1:${offPort}/graphql` },
      on: { child: startNode('floorplan-tracing-on', 'src/main.ts', { env: onEnv, nodeFlags: productionNodeFlags() }), url: `http://127.0.0.1:${onPort}/graphql` },
    };
    const worker = startWorker();
    await waitUntil(upstreams, 'answering /healthz', async () => (await fetch(`${upstreamOrigin}/healthz`)).ok);
    for (const { child, url } of Object.values(servers)) await waitUntil(child, 'ready', async () => (await fetch(url.replace('/graphql', '/readyz'))).ok);
    await worker.ready;
    pin(upstreams, 1);
    pin(worker.child, 1);
    for (const { child } of Object.values(servers)) pin(child, 0);
    log(canPin() ? 'servers pinned to core 0, load worker and demo upstreams to core 1' : 'NOT pinned (taskset or a second core missing)');

    const book = new TokenBook(onConfig.auth);
    const users = await seedLikeUsers(connections, servers.off.url, book);
    if (users.length === 0) throw new Error('found no load users');
    const variants = users.map((u) => ({ headers: book.headers(u), body: graphqlBody(PANEL_QUERY) }));
    const job = (name: keyof typeof servers, warmup: number): LoadJob => ({
      name: `tracing-${name}`,
      url: servers[name].url,
      variants,
      connections,
      warmupRequests: warmup,
      durationSeconds: seconds,
      pids: { server: servers[name].child.pid },
      drainMs: 300,
      // Sort every answer: only full panels count, so a refusal or a degraded panel cannot flatter either server.
      classify: true,
    });

    log(`${users.length} load users, ${connections} connections; ${rounds} interleaved rounds of ${seconds} s per server; tracing on samples ${samplingRatio * 100} %`);
    for (const name of ['off', 'on'] as const) await worker.run(job(name, warmupRequests));
    // CPU per full panel: a cheap refusal (admission control, 503) must not flatter either server.
    const totals = {
      off: { cpuUs: 0, completed: 0, other: 0, kinds: { degraded: 0, shed: 0, other: 0, errors: 0 } },
      on: { cpuUs: 0, completed: 0, other: 0, kinds: { degraded: 0, shed: 0, other: 0, errors: 0 } },
    };
    const perRound: Array<{ off: number; on: number }> = [];
    for (let r = 0; r < rounds; r++) {
      // Alternate which goes first, so neither always follows the other's GC or the machine's drift.
      const order = r % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const);
      const round = { off: Number.NaN, on: Number.NaN };
      for (const name of order) {
        const result = await worker.run(job(name, 200));
        const classes = result.classes!;
        const full = classes.full.samples;
        const cpuUs = result.cpuUs.server ?? Number.NaN;
        totals[name].cpuUs += cpuUs;
        totals[name].completed += full;
        totals[name].other += classes.degraded.samples + classes.shed.samples + classes.other + classes.errors;
        const kinds = totals[name].kinds;
        kinds.degraded += classes.degraded.samples;
        kinds.shed += classes.shed.samples;
        kinds.other += classes.other;
        kinds.errors += classes.errors;
        round[name] = cpuUs / full;
      }
      perRound.push(round);
      log(`  round ${r + 1}: off ${round.off.toFixed(1)} µs/req, on ${round.on.toFixed(1)} µs/req (${(round.on / round.off).toFixed(3)})`);
    }
    const off = totals.off.cpuUs / totals.off.completed;
    const on = totals.on.cpuUs / totals.on.completed;
    const ratio = on / off;
    const roundRatios = perRound.map((r) => r.on / r.off).sort((a, b) => a - b);
    const median = roundRatios[Math.floor(roundRatios.length / 2)] as number;
    // Let the batch processor's last export arrive before counting.
    await sleep(6000);
    log(`tracing off: ${off.toFixed(1)} µs CPU/req over ${totals.off.completed} requests`);
    log(`tracing on (${samplingRatio * 100} % sampled, OTLP/HTTP): ${on.toFixed(1)} µs CPU/req over ${totals.on.completed} requests`);
    log(`ratio on/off: ${ratio.toFixed(3)} (median of rounds ${median.toFixed(3)}); target ≤ ${TARGET_RATIO.toFixed(2)}: ${ratio <= TARGET_RATIO ? 'met' : 'NOT met'}`);
    if (totals.off.other + totals.on.other > 0) log(`answers other than a full panel (degraded, shed, errors; not counted): off ${JSON.stringify(totals.off.kinds)}, on ${JSON.stringify(totals.on.kinds)}`);
    log(`receiver: ${receiver.exports()} OTLP exports, ${(receiver.bytes() / 1024).toFixed(0)} KiB`);
  } finally {
    await stopAll();
    receiver.server.close();
    floors.dispose();
  }
}

process.on('exit', killAllNow);
main().catch((error: unknown) => {
  process.stderr.write(`bench/tracing failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
