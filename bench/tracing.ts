/**
 * What tracing costs (issue 17, item 4): CPU per request of Floorplan with tracing off (the
 * default) and with tracing on at a 10 % ratio, exporting over OTLP/HTTP to a receiver on
 * loopback that accepts and discards. Target: ≤ 1.10 × the CPU per request of tracing off.
 *
 *   node_modules/.bin/node --import tsx bench/tracing.ts [--rounds 10] [--seconds 4] [--connections 16] [--ratio 0.1] [--warmup 2000]
 *       [--a-a] [--sequential] [--env NAME=value …] [--a-env NAME=value …] [--node-flags="…"] [--json]
 *
 * Both servers run from dist/ (compiled first, as `npm run bench` does) with the bench config,
 * pinned to core 0; the demo upstreams and the load workers (bench/load.ts) to core 1. Both
 * servers are loaded at the same time in each round (bench/cpu-per-request.ts, `simultaneous`):
 * one after the other, this VM's drift between windows read 1.02× to 1.12× for the same build.
 * --sequential measures them one after the other instead; --a-a runs both with tracing off (the
 * method's bias); --env adds environment to the traced server, --a-env traces the reference
 * server too, with its own additions (e.g. two batch sizes against each other); --node-flags
 * replaces `npm run start:prod`'s node flags on both servers (give them after `=`: run once with
 * each set to ask whether a flag changes what tracing costs); --json prints the row as one JSON
 * object.
 *
 * `npm run bench` calls {@link measureTracing} itself.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadServiceConfig } from '../src/config/service-config.ts';
import { floorplanEnv, killAllNow, nodeFlagsOf, ROOT, stopAll, useCompiledChildren } from './children.ts';
import { hadNonFull, measureCpuPerRequest } from './cpu-per-request.ts';
import type { TracingRow } from './results.ts';
import { createBenchFloorsDir } from './scenes.ts';

export const TRACING_TARGET_RATIO = 1.1;

export interface TracingPlan {
  readonly rounds: number;
  readonly seconds: number;
  readonly connections: number;
  readonly warmupRequests: number;
  readonly roundWarmupRequests?: number;
  /** The share of new traces sampled; 0.1 unless told. */
  readonly ratio?: number;
  /** Both servers with tracing off: the ratio is the method's bias. */
  readonly aa?: boolean;
  /** One server after the other in each round, instead of both at once. */
  readonly sequential?: boolean;
  /** More environment for the traced server. */
  readonly env?: Readonly<Record<string, string>>;
  /** Trace the reference server too, with this environment on top. */
  readonly referenceEnv?: Readonly<Record<string, string>>;
  /** Node flags for both servers in place of start:prod's. */
  readonly nodeFlags?: readonly string[];
}

/** A collector stand-in: accepts every OTLP/HTTP export and discards it, counting exports and bytes. */
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

/** Measures the row; children run from dist/ only if the caller has called `useCompiledChildren()`. */
export async function measureTracing(plan: TracingPlan, log: (line: string) => void): Promise<TracingRow> {
  const ratio = plan.ratio ?? 0.1;
  const floors = createBenchFloorsDir();
  const receiver = await startDiscardingReceiver();
  try {
    const traced: Record<string, string> = {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.origin,
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: String(ratio),
      OTEL_SERVICE_NAME: 'floorplan-bench',
    };
    const onEnv: Record<string, string> = plan.aa === true ? {} : { ...traced, ...plan.env };
    const referenceEnv = plan.referenceEnv === undefined ? undefined : { ...traced, ...plan.referenceEnv };
    // The port and upstreams do not matter to whether tracing is on.
    const onConfig = loadServiceConfig({ env: floorplanEnv(0, 'http://127.0.0.1:1', floors.dir, onEnv), dir: join(ROOT, 'config') });
    if (!onConfig.tracing.enabled && plan.aa !== true) throw new Error('the traced server would start with tracing off');
    const extra = Object.entries(plan.env ?? {}).map(([name, value]) => `${name}=${value}`);
    log(`tracing on samples ${ratio * 100} %${extra.length > 0 ? `, with ${extra.join(' ')}` : ''}`);
    const flags = plan.nodeFlags === undefined ? {} : { nodeFlags: plan.nodeFlags };
    if (plan.nodeFlags !== undefined) log(`both servers run with node flags: ${plan.nodeFlags.join(' ') || '(none)'}`);
    const result = await measureCpuPerRequest({
      a: referenceEnv === undefined ? { name: 'off', floorsDir: floors.dir, ...flags } : { name: 'on-a', floorsDir: floors.dir, env: referenceEnv, ...flags },
      b: { name: 'on', floorsDir: floors.dir, env: onEnv, ...flags },
      rounds: plan.rounds,
      seconds: plan.seconds,
      connections: plan.connections,
      warmupRequests: plan.warmupRequests,
      ...(plan.roundWarmupRequests === undefined ? {} : { roundWarmupRequests: plan.roundWarmupRequests }),
      simultaneous: plan.sequential !== true,
      label: 'tracing',
      log,
      // Let the batch processor's last export arrive before counting.
      afterRounds: () => sleep(onConfig.tracing.scheduleDelayMs + 1000),
    });
    if (hadNonFull(result)) log(`answers other than a full panel (degraded, shed, errors; not counted): off ${JSON.stringify(result.a.nonFull)}, on ${JSON.stringify(result.b.nonFull)}`);
    return {
      aa: plan.aa === true,
      samplingRatio: ratio,
      simultaneous: plan.sequential !== true,
      rounds: plan.rounds,
      seconds: plan.seconds,
      connections: plan.connections,
      pinned: result.pinned,
      offUsPerReq: result.a.cpuUsPerReq,
      onUsPerReq: result.b.cpuUsPerReq,
      offPanels: result.a.fullPanels,
      onPanels: result.b.fullPanels,
      ratio: result.ratio,
      medianRoundRatio: result.medianRoundRatio,
      roundRatios: result.rounds.map((r) => r.b / r.a),
      exports: receiver.exports(),
      exportedKiB: receiver.bytes() / 1024,
    };
  } finally {
    receiver.server.close();
    floors.dispose();
  }
}

/** `NAME=value` command-line pairs as an environment (--env, --a-env). */
export function envPairs(pairs: readonly string[]): Record<string, string> {
  return Object.fromEntries(
    pairs.map((pair) => {
      const at = pair.indexOf('=');
      if (at <= 0) throw new Error(`--env and --a-env take NAME=value, but got: ${pair}`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '10' },
      seconds: { type: 'string', default: '4' },
      connections: { type: 'string', default: '16' },
      ratio: { type: 'string', default: '0.1' },
      warmup: { type: 'string', default: '2000' },
      'a-a': { type: 'boolean', default: false },
      sequential: { type: 'boolean', default: false },
      env: { type: 'string', multiple: true, default: [] },
      'a-env': { type: 'string', multiple: true, default: [] },
      'node-flags': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  // With --json, stdout carries only the row.
  const log = (line: string) => (values.json ? process.stderr : process.stdout).write(`${line}\n`);
  log('compiling to dist/ …');
  useCompiledChildren();
  try {
    const row = await measureTracing(
      {
        rounds: Number(values.rounds),
        seconds: Number(values.seconds),
        connections: Number(values.connections),
        warmupRequests: Number(values.warmup),
        ratio: Number(values.ratio),
        aa: values['a-a'],
        sequential: values.sequential,
        env: envPairs(values.env),
        ...(values['a-env'].length > 0 ? { referenceEnv: envPairs(values['a-env']) } : {}),
        ...(values['node-flags'] === undefined ? {} : { nodeFlags: nodeFlagsOf(values['node-flags']) }),
      },
      log,
    );
    if (values.json) {
      process.stdout.write(`${JSON.stringify(row)}\n`);
      return;
    }
    log(`tracing off: ${row.offUsPerReq.toFixed(1)} µs CPU/req over ${row.offPanels} requests`);
    log(`tracing on (${row.samplingRatio * 100} % sampled, OTLP/HTTP): ${row.onUsPerReq.toFixed(1)} µs CPU/req over ${row.onPanels} requests`);
    log(
      `ratio on/off: ${row.ratio.toFixed(3)} (median of rounds ${row.medianRoundRatio.toFixed(3)}); target ≤ ${TRACING_TARGET_RATIO.toFixed(2)}: ` +
        `${row.ratio <= TRACING_TARGET_RATIO ? 'met' : 'NOT met'}${row.aa ? ' (A/A: this is the bias of the method, not a result)' : ''}`,
    );
    log(`receiver: ${row.exports} OTLP exports, ${row.exportedKiB.toFixed(0)} KiB`);
  } finally {
    await stopAll();
  }
}

// Run as a script; `npm run bench` imports the function instead.
if (resolve(process.argv[1] ?? '') === fileURLToPath(import.meta.url)) {
  process.on('exit', killAllNow);
  main().catch((error: unknown) => {
    process.stderr.write(`bench/tracing failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  });
}
