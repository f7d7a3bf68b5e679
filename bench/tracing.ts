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
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { loadServiceConfig } from '../src/config/service-config.ts';
import { floorplanEnv, killAllNow, ROOT, stopAll, useCompiledChildren } from './children.ts';
import { hadNonFull, measureCpuPerRequest } from './cpu-per-request.ts';
import { createBenchFloorsDir } from './scenes.ts';

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
    /** Both servers loaded one after the other in each round, instead of at once (the default). */
    sequential: { type: 'boolean', default: false },
    /** More environment for the traced server, e.g. `--env OTEL_BSP_MAX_EXPORT_BATCH_SIZE=64` (repeatable). */
    env: { type: 'string', multiple: true, default: [] },
    /** Trace the reference server too, with this environment on top (repeatable): compares two tracing settings instead of off and on. */
    'a-env': { type: 'string', multiple: true, default: [] },
  },
});
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const samplingRatio = Number(values.ratio);
const warmupRequests = Number(values.warmup);

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

function envPair(pair: string): [string, string] {
  const at = pair.indexOf('=');
  if (at <= 0) throw new Error(`--env takes NAME=value, but got: ${pair}`);
  return [pair.slice(0, at), pair.slice(at + 1)];
}

async function main(): Promise<void> {
  log('compiling to dist/ …');
  useCompiledChildren();
  const floors = createBenchFloorsDir();
  const receiver = await startDiscardingReceiver();
  try {
    const traced: Record<string, string> = {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.origin,
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: String(samplingRatio),
      OTEL_SERVICE_NAME: 'floorplan-bench',
    };
    const tracingEnv: Record<string, string> = values['a-a'] ? {} : { ...traced, ...Object.fromEntries(values.env.map(envPair)) };
    const referenceEnv = values['a-env'].length > 0 ? { ...traced, ...Object.fromEntries(values['a-env'].map(envPair)) } : undefined;
    // The port and upstreams do not matter to whether tracing is on.
    const onConfig = loadServiceConfig({ env: floorplanEnv(0, 'http://127.0.0.1:1', floors.dir, tracingEnv), dir: join(ROOT, 'config') });
    if (!onConfig.tracing.enabled && !values['a-a']) throw new Error('the traced server would start with tracing off');
    log(`tracing on samples ${samplingRatio * 100} %${values.env.length > 0 ? `, with ${values.env.join(' ')}` : ''}`);
    const result = await measureCpuPerRequest({
      a: referenceEnv === undefined ? { name: 'off', floorsDir: floors.dir } : { name: 'on-a', floorsDir: floors.dir, env: referenceEnv },
      b: { name: 'on', floorsDir: floors.dir, env: tracingEnv },
      rounds,
      seconds,
      connections,
      simultaneous: !values.sequential,
      warmupRequests,
      label: 'tracing',
      log,
      // Let the batch processor's last export arrive before counting.
      afterRounds: () => sleep(6000),
    });
    const { a: off, b: on, ratio, medianRoundRatio: median } = result;
    log(`tracing off: ${off.cpuUsPerReq.toFixed(1)} µs CPU/req over ${off.fullPanels} requests`);
    log(`tracing on (${samplingRatio * 100} % sampled, OTLP/HTTP): ${on.cpuUsPerReq.toFixed(1)} µs CPU/req over ${on.fullPanels} requests`);
    log(`ratio on/off: ${ratio.toFixed(3)} (median of rounds ${median.toFixed(3)}); target ≤ ${TARGET_RATIO.toFixed(2)}: ${ratio <= TARGET_RATIO ? 'met' : 'NOT met'}`);
    if (hadNonFull(result)) log(`answers other than a full panel (degraded, shed, errors; not counted): off ${JSON.stringify(off.nonFull)}, on ${JSON.stringify(on.nonFull)}`);
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
