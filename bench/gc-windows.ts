/**
 * Which load windows hold a mark-compact, and why: Floorplan as the bench's half-rate phase runs
 * it (`config/bench.yaml` from dist/, every upstream +20 ms, 200 connections at a fixed rate,
 * pinned to core 0), in windows of load with idle gaps between them, once per set of node flags,
 * with V8's GC trace on. For each window it prints the p50 and p99 and the mark-compacts that fell
 * in it, with the scavenges' count and pauses (mean and longest), and after them the heap growing
 * factor V8 chose after each mark-compact and any collection the memory reducer started
 * (BENCHMARKS.md, sessions 35 and 36).
 *
 *   node --import tsx bench/gc-windows.ts [--flags="<node flags>" …] [--rate 1660] [--windows 8]
 *       [--window-seconds 10] [--idle-seconds 10] [--warmup-seconds 30] [--connections 200]
 *       [--keep-trace <file>]
 *
 * Each `--flags` is one variant, run after the one before (default: `npm run start:prod`'s
 * flags alone; give them after `=`, as they start with `--`; `--flags=""` is Node's own). The
 * trace adds `--trace-gc --trace-memory-reducer --trace-gc-verbose`. Window times are
 * milliseconds since the server was spawned, as V8's trace counts them from its start (a few ms
 * apart). `--keep-trace` writes every line the servers printed to a file, one variant after the
 * other, for what this summary leaves out (`--flags="… --trace-gc-nvp"` gives each collection's
 * phases and bytes copied and promoted).
 */
import { spawn } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadServiceConfig } from '../src/config/service-config.ts';
import { cleanEnv, floorplanEnv, freePorts, killAllNow, nodeFlagsOf, pin, productionNodeFlags, productionScript, ROOT, SLOW_UPSTREAM_FAULTS, startNode, stopAll, useCompiledChildren, type Child } from './children.ts';
import { startWorker, waitUntil } from './cpu-per-request.ts';
import { graphqlBody, PANEL_QUERY } from './panel.ts';
import { createBenchFloorsDir } from './scenes.ts';
import { seedLikeUsers, TokenBook } from './users.ts';

const TRACE_FLAGS = ['--trace-gc', '--trace-memory-reducer', '--trace-gc-verbose'];

/** One line of V8's trace that this bench reports: a mark-compact, a growing factor, a reducer's start. */
export interface TraceLine {
  readonly atMs: number;
  readonly text: string;
}

/** Any line of V8's trace, `[pid:0x…:0]    106099 ms: <text>`, as its time and its text. */
function splitTraceLine(line: string): { readonly atMs: number; readonly text: string } | undefined {
  const match = /^(?:\[[^\]]*\]\s*)?(\d+) ms: (.*)$/.exec(line.trim());
  return match === null ? undefined : { atMs: Number(match[1]), text: match[2]! };
}

/** `[pid:0x…:0]    106099 ms: Mark-Compact (reduce) 96.7 (197.6) -> 54.1 …` → its time and the rest. */
export function parseTraceLine(line: string): TraceLine | undefined {
  const split = splitTraceLine(line);
  if (split === undefined || !/^Mark-Compact|^\[HeapController\] factor|^Memory reducer: started/.test(split.text)) return undefined;
  const { atMs, text } = split;
  return { atMs, text: text.length > 160 ? `${text.slice(0, 160)}…` : text };
}

/** A scavenge in V8's trace: when, and how long the main thread stood still for it. */
export interface Scavenge {
  readonly atMs: number;
  readonly pauseMs: number;
}

/** `[pid:0x…]   16 ms: Scavenge 3.9 (5.8) -> 3.9 (6.8) MB, pooled: 0 MB, 0.35 / 0.00 ms …` → 16 and 0.35. */
export function parseScavenge(line: string): Scavenge | undefined {
  const split = splitTraceLine(line);
  const pause = split === undefined ? null : /^Scavenge\b.*?, ([\d.]+) \/ [\d.]+ ms/.exec(split.text);
  return split === undefined || pause === null ? undefined : { atMs: split.atMs, pauseMs: Number(pause[1]) };
}

/** "41 scavenges, mean 2.10 ms, longest 6.32 ms" for the scavenges in one window. */
export function describeScavenges(scavenges: readonly Scavenge[]): string {
  if (scavenges.length === 0) return '0 scavenges';
  const pauses = scavenges.map(({ pauseMs }) => pauseMs);
  const mean = pauses.reduce((sum, pause) => sum + pause, 0) / pauses.length;
  return `${pauses.length} scavenge${pauses.length === 1 ? '' : 's'}, mean ${mean.toFixed(2)} ms, longest ${Math.max(...pauses).toFixed(2)} ms`;
}

/** One load window's reading, for {@link summarizeWindows}. */
export interface WindowReading {
  readonly p99Ms: number;
  readonly markCompacts: number;
}

/**
 * "2 of 8 windows held a mark-compact (p99 81.83, 101.82 ms); the other 6 read p99 47.09–56.75 ms":
 * the two kinds of window apart, as the half-rate p99 is one or the other.
 */
export function summarizeWindows(windows: readonly WindowReading[]): string {
  const withOne = windows.filter(({ markCompacts }) => markCompacts > 0);
  const others = windows.filter(({ markCompacts }) => markCompacts === 0).map(({ p99Ms }) => p99Ms);
  const held = `${withOne.length} of ${windows.length} window${windows.length === 1 ? '' : 's'} held a mark-compact`;
  const theirs = withOne.length === 0 ? '' : ` (p99 ${withOne.map(({ p99Ms }) => p99Ms.toFixed(2)).join(', ')} ms)`;
  const rest =
    others.length === 0 ? '' : `; the other ${others.length} read p99 ${others.length === 1 ? others[0]!.toFixed(2) : `${Math.min(...others).toFixed(2)}–${Math.max(...others).toFixed(2)}`} ms`;
  return `${held}${theirs}${rest}`;
}

function positiveNumber(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number, but got: ${JSON.stringify(text)}`);
  return value;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      flags: { type: 'string', multiple: true },
      rate: { type: 'string', default: '1660' },
      windows: { type: 'string', default: '8' },
      'window-seconds': { type: 'string', default: '10' },
      'idle-seconds': { type: 'string', default: '10' },
      'warmup-seconds': { type: 'string', default: '30' },
      connections: { type: 'string', default: '200' },
      'keep-trace': { type: 'string' },
    },
  });
  const rate = positiveNumber('rate', values.rate);
  const windows = positiveNumber('windows', values.windows);
  const windowSeconds = positiveNumber('window-seconds', values['window-seconds']);
  const idleSeconds = positiveNumber('idle-seconds', values['idle-seconds']);
  const warmupSeconds = positiveNumber('warmup-seconds', values['warmup-seconds']);
  const connections = positiveNumber('connections', values.connections);
  const keepTrace = values['keep-trace'];
  if (keepTrace !== undefined) writeFileSync(keepTrace, '');
  const variants = (values.flags ?? [productionNodeFlags().join(' ')]).map(nodeFlagsOf);

  useCompiledChildren();
  const floors = createBenchFloorsDir();
  const ports = await freePorts(1 + variants.length);
  const upstreamPort = ports[0]!;
  const origin = `http://127.0.0.1:${upstreamPort}`;
  const upstreams = startNode('demo-upstreams-slow', 'src/demo-upstreams/main.ts', { env: cleanEnv({ DEMO_PORT: String(upstreamPort), DEMO_FAULTS: SLOW_UPSTREAM_FAULTS }) });
  const worker = startWorker();
  try {
    await waitUntil(upstreams, 'answering /healthz', async () => (await fetch(`${origin}/healthz`)).ok);
    await worker.ready;
    pin(upstreams, 1);
    pin(worker.child, 1);
    for (const [index, flags] of variants.entries()) {
      const port = ports[index + 1]!;
      const env = floorplanEnv(port, origin, floors.dir);
      const url = `http://127.0.0.1:${port}/graphql`;
      const spawnedAt = performance.now();
      // Spawned here rather than by startNode, which keeps only the tail of a child's output.
      const server = spawn(process.execPath, [...flags, ...TRACE_FLAGS, productionScript()], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
      const trace: TraceLine[] = [];
      const scavenges: Scavenge[] = [];
      let partial = '';
      server.stdout.on('data', (chunk: Buffer) => {
        const lines = (partial + chunk.toString('utf8')).split('\n');
        partial = lines.pop() ?? '';
        if (keepTrace !== undefined && lines.length > 0) appendFileSync(keepTrace, `${lines.join('\n')}\n`);
        for (const line of lines) {
          const parsed = parseTraceLine(line);
          if (parsed !== undefined) trace.push(parsed);
          const scavenge = parseScavenge(line);
          if (scavenge !== undefined) scavenges.push(scavenge);
        }
      });
      server.stderr.resume();
      const child: Child = { name: `floorplan ${index + 1}`, pid: server.pid!, process: server, output: () => '', exited: new Promise((done) => server.once('exit', (code, signal) => done(signal ?? `exit code ${String(code)}`))) };
      try {
        await waitUntil(child, 'ready', async () => (await fetch(url.replace('/graphql', '/readyz'))).ok);
        const book = new TokenBook(loadServiceConfig({ env, dir: join(ROOT, 'config') }).auth);
        const variantsOfLoad = (await seedLikeUsers(connections, url, book)).map((userId) => ({ headers: book.headers(userId), body: graphqlBody(PANEL_QUERY) }));
        pin(child, 0);
        const load = (name: string, durationSeconds: number) =>
          worker.run({ name, url, variants: variantsOfLoad, connections, warmupRequests: 0, durationSeconds, overallRate: rate, pids: { server: child.pid }, drainMs: 100 });
        await load('warm-up', warmupSeconds);
        const rows: Array<{ fromMs: number; toMs: number; line: string; p99Ms: number }> = [];
        for (let window = 1; window <= windows; window++) {
          await sleep(idleSeconds * 1000);
          const fromMs = performance.now() - spawnedAt;
          const result = await load(`window-${window}`, windowSeconds);
          const toMs = performance.now() - spawnedAt;
          rows.push({ fromMs, toMs, p99Ms: result.latency.p99Ms, line: `p50 ${result.latency.p50Ms.toFixed(2)} ms, p99 ${result.latency.p99Ms.toFixed(2)} ms, ${result.rps.toFixed(0)} req/s` });
        }
        console.log(`== ${flags.length === 0 ? "Node's own flags" : flags.join(' ')}: ${windows} windows of ${windowSeconds} s at ${rate} req/s, ${idleSeconds} s idle before each`);
        const readings: WindowReading[] = [];
        for (const [n, { fromMs, toMs, line, p99Ms }] of rows.entries()) {
          const collections = trace.filter(({ atMs, text }) => atMs >= fromMs && atMs <= toMs && text.startsWith('Mark-Compact'));
          const inWindow = scavenges.filter(({ atMs }) => atMs >= fromMs && atMs <= toMs);
          console.log(`  window ${n + 1} (${fromMs.toFixed(0)}–${toMs.toFixed(0)} ms): ${line}; ${collections.length} mark-compact${collections.length === 1 ? '' : 's'}; ${describeScavenges(inWindow)}`);
          for (const { atMs, text } of collections) console.log(`    ${atMs} ms: ${text}`);
          readings.push({ p99Ms, markCompacts: collections.length });
        }
        console.log(`  ${summarizeWindows(readings)}`);
        console.log('  the whole run, growing factors and the reducer:');
        for (const { atMs, text } of trace) if (!text.startsWith('Mark-Compact') || !rows.some(({ fromMs, toMs }) => atMs >= fromMs && atMs <= toMs)) console.log(`    ${atMs} ms: ${text}`);
      } finally {
        server.kill('SIGTERM');
        await child.exited;
      }
    }
  } finally {
    await stopAll();
    floors.dispose();
  }
}

// Run as a script; tests import the trace parser.
if (resolve(process.argv[1] ?? '') === fileURLToPath(import.meta.url)) {
  process.on('exit', killAllNow);
  main().catch((error: unknown) => {
    process.stderr.write(`bench/gc-windows failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  });
}
