/**
 * What a request keeps alive while it is in flight: V8 heap snapshots of Floorplan idle and
 * under `connections` concurrent requests, compared. Every scavenge copies what the requests in
 * flight hold, so this live set, not the garbage, sets a scavenge's pause (the half-rate p99),
 * part of the GC's CPU, and how much the young generation must hold (the RSS at 200
 * connections). bench/allocations.ts measures the garbage; this measures what survives.
 *
 *   node --import tsx bench/live-set.ts [--connections 200] [--slow-upstreams] [--top 30] [--keep]
 *
 * Method: the demo upstreams and Floorplan run from dist/ as `npm run bench` runs them
 * (Floorplan with `start:prod`'s node flags and `--heapsnapshot-signal`), Floorplan pinned to
 * core 0, the demo upstreams and the load worker (bench/load.ts) to core 1. After a warm-up,
 * one snapshot idle; then a closed loop of `connections`, and a second snapshot in its middle.
 * A snapshot holds only what is alive (V8 collects first), so the difference divided by
 * `connections` is what one request in flight holds, plus the JIT's code from the load (shown
 * as `(code)`, not per request). Async functions suspended at an `await` are counted by name:
 * each keeps its frame (a Generator object in the snapshot), its context and its promise.
 * --slow-upstreams adds the latency phase's +20 ms to every upstream (bench/children.ts), so the
 * requests in flight are caught as at half rate in `npm run bench`: mostly waiting on an upstream,
 * rather than queued in Floorplan behind each other as with the demo's instant answers.
 * --keep leaves the two snapshots (for Chrome DevTools) in the temporary folder it names.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadServiceConfig } from '../src/config/service-config.ts';
import { cleanEnv, FLOORPLAN_MAIN, floorplanEnv, freePorts, killAllNow, pin, productionNodeFlags, ROOT, SLOW_UPSTREAM_FAULTS, startNode, stopChildren, useCompiledChildren, type Child } from './children.ts';
import { startWorker, waitUntil } from './cpu-per-request.ts';
import type { LoadJob } from './load-job.ts';
import { graphqlBody, PANEL_QUERY } from './panel.ts';
import { createBenchFloorsDir } from './scenes.ts';
import { seedLikeUsers, TokenBook } from './users.ts';

/** Objects of one kind in a snapshot: how many, and their own bytes. */
export interface KindTally {
  count: number;
  bytes: number;
}

/** What a heap snapshot holds, by kind, and the async functions suspended in it, by name. */
export interface SnapshotTally {
  readonly totalBytes: number;
  /** e.g. `object:Promise`, `closure`, `(string)`, `(code)`, `object:AnswerCollector`. */
  readonly byKind: Map<string, KindTally>;
  /** Suspended async functions (and generators), by function name; `(anonymous)` for arrow functions. */
  readonly suspended: Map<string, number>;
}

/** The parts of a `.heapsnapshot` this reads (V8's HeapSnapshot JSON format). */
interface HeapSnapshotJson {
  readonly snapshot: {
    readonly meta: {
      readonly node_fields: readonly string[];
      readonly node_types: readonly [readonly string[], ...unknown[]];
      readonly edge_fields: readonly string[];
      readonly edge_types: readonly [readonly string[], ...unknown[]];
    };
  };
  readonly nodes: readonly number[];
  readonly edges: readonly number[];
  readonly strings: readonly string[];
}

/** The kind an object is tallied under: strings and code lumped, objects and closures by constructor or function name. */
function kindOf(type: string, name: string): string {
  switch (type) {
    case 'string':
    case 'concatenated string':
    case 'sliced string':
      return '(string)';
    case 'code':
      return '(code)';
    case 'closure':
      return 'closure';
    case 'object':
      return `object:${name.slice(0, 60)}`;
    default:
      return `${type}:${name.slice(0, 40)}`;
  }
}

/** Tallies a heap snapshot (the text of a `.heapsnapshot` file). */
export function tallyHeapSnapshot(text: string): SnapshotTally {
  const snapshot = JSON.parse(text) as HeapSnapshotJson;
  const { meta } = snapshot.snapshot;
  const nodeFields = meta.node_fields.length;
  const edgeFields = meta.edge_fields.length;
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const typeAt = meta.node_fields.indexOf('type');
  const nameAt = meta.node_fields.indexOf('name');
  const sizeAt = meta.node_fields.indexOf('self_size');
  const edgeCountAt = meta.node_fields.indexOf('edge_count');
  const edgeTypeAt = meta.edge_fields.indexOf('type');
  const edgeNameAt = meta.edge_fields.indexOf('name_or_index');
  const edgeToAt = meta.edge_fields.indexOf('to_node');
  const { nodes, edges, strings } = snapshot;
  const byKind = new Map<string, KindTally>();
  const suspended = new Map<string, number>();
  let totalBytes = 0;
  let edge = 0;
  for (let node = 0; node < nodes.length; node += nodeFields) {
    const type = nodeTypes[nodes[node + typeAt] as number] as string;
    const name = strings[nodes[node + nameAt] as number] as string;
    const size = nodes[node + sizeAt] as number;
    const edgeCount = nodes[node + edgeCountAt] as number;
    const kind = kindOf(type, name);
    const tally = byKind.get(kind) ?? { count: 0, bytes: 0 };
    tally.count++;
    tally.bytes += size;
    byKind.set(kind, tally);
    totalBytes += size;
    // A suspended async function (or generator) is a Generator object whose internal
    // `function` edge names the function it runs; the Generator prototypes have none.
    if (type === 'object' && name === 'Generator') {
      for (let at = edge; at < edge + edgeCount * edgeFields; at += edgeFields) {
        if (edgeTypes[edges[at + edgeTypeAt] as number] !== 'internal' || strings[edges[at + edgeNameAt] as number] !== 'function') continue;
        const functionName = strings[nodes[(edges[at + edgeToAt] as number) + nameAt] as number] || '(anonymous)';
        suspended.set(functionName, (suspended.get(functionName) ?? 0) + 1);
      }
    }
    edge += edgeCount * edgeFields;
  }
  return { totalBytes, byKind, suspended };
}

/** `loaded` − `idle`, per request in flight: bytes and objects by kind, suspended functions by name; largest first. */
export function liveSetPerRequest(idle: SnapshotTally, loaded: SnapshotTally, inFlight: number) {
  const perKind = [...loaded.byKind].map(([kind, { count, bytes }]) => {
    const before = idle.byKind.get(kind) ?? { count: 0, bytes: 0 };
    return { kind, objects: (count - before.count) / inFlight, bytes: (bytes - before.bytes) / inFlight };
  });
  const perFunction = [...loaded.suspended].map(([name, count]) => ({ name, suspended: (count - (idle.suspended.get(name) ?? 0)) / inFlight }));
  return {
    bytes: (loaded.totalBytes - idle.totalBytes) / inFlight,
    kinds: perKind.sort((a, b) => b.bytes - a.bytes),
    suspended: perFunction.filter((f) => f.suspended > 0).sort((a, b) => b.suspended - a.suspended),
  };
}

/** Signals the child to write a heap snapshot into `dir` and waits until it is written and the child answers again. */
async function snapshotOf(child: Child, dir: string, healthUrl: string): Promise<string> {
  const before = new Set(readdirSync(dir));
  child.process.kill('SIGUSR2');
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    await sleep(200);
    const written = readdirSync(dir).find((name) => !before.has(name) && name.endsWith('.heapsnapshot'));
    // V8 writes the snapshot on the main thread: once /healthz answers, the file is complete.
    if (written !== undefined && (await fetch(healthUrl).then((r) => r.ok).catch(() => false))) return join(dir, written);
  }
  throw new Error(`${child.name} wrote no heap snapshot within 120 s: ${child.output()}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      connections: { type: 'string', default: '200' },
      top: { type: 'string', default: '30' },
      keep: { type: 'boolean', default: false },
      'slow-upstreams': { type: 'boolean', default: false },
    },
  });
  const connections = Number(values.connections);
  const top = Number(values.top);
  console.log('compiling to dist/ …');
  useCompiledChildren();
  const floors = createBenchFloorsDir();
  const dir = mkdtempSync(join(tmpdir(), 'floorplan-live-set-'));
  const started: Child[] = [];
  try {
    const [upstreamPort, floorplanPort] = (await freePorts(2)) as [number, number];
    const origin = `http://127.0.0.1:${upstreamPort}`;
    const upstreams = startNode('demo-upstreams', 'src/demo-upstreams/main.ts', { env: cleanEnv({ DEMO_PORT: String(upstreamPort), DEMO_FAULTS: values['slow-upstreams'] ? SLOW_UPSTREAM_FAULTS : '' }) });
    started.push(upstreams);
    const env = floorplanEnv(floorplanPort, origin, floors.dir);
    const floorplan = startNode('floorplan', FLOORPLAN_MAIN, { env, nodeFlags: [...productionNodeFlags(), '--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`] });
    started.push(floorplan);
    const worker = startWorker();
    started.push(worker.child);
    const url = `http://127.0.0.1:${floorplanPort}/graphql`;
    const healthUrl = url.replace('/graphql', '/healthz');
    await waitUntil(upstreams, 'answering /healthz', async () => (await fetch(`${origin}/healthz`)).ok);
    await waitUntil(floorplan, 'ready', async () => (await fetch(url.replace('/graphql', '/readyz'))).ok);
    const book = new TokenBook(loadServiceConfig({ env, dir: join(ROOT, 'config') }).auth);
    const users = await seedLikeUsers(connections, url, book);
    if (users.length === 0) throw new Error('found no load users');
    await worker.ready;
    pin(upstreams, 1);
    pin(worker.child, 1);
    pin(floorplan, 0);
    const job = (durationSeconds: number, warmupRequests: number): LoadJob => ({
      name: 'live-set',
      url,
      variants: users.map((userId) => ({ headers: book.headers(userId), body: graphqlBody(PANEL_QUERY) })),
      connections,
      warmupRequests,
      durationSeconds,
      pids: { server: floorplan.pid },
      drainMs: 300,
    });
    await worker.run(job(3, 5000));
    await sleep(1000);
    const idleFile = await snapshotOf(floorplan, dir, healthUrl);
    const loading = worker.run(job(8, 0));
    await sleep(4000);
    const loadedFile = await snapshotOf(floorplan, dir, healthUrl);
    await loading;
    const live = liveSetPerRequest(tallyHeapSnapshot(readFileSync(idleFile, 'utf8')), tallyHeapSnapshot(readFileSync(loadedFile, 'utf8')), connections);
    console.log(`\n${connections} requests in flight: ${(live.bytes / 1024).toFixed(1)} KiB alive per request in flight (the JIT's new code included)\n`);
    console.log('| kind | KiB per request | objects per request |\n| --- | ---: | ---: |');
    for (const row of live.kinds.slice(0, top)) console.log(`| ${row.kind} | ${(row.bytes / 1024).toFixed(2)} | ${row.objects.toFixed(1)} |`);
    console.log(`\nsuspended async functions per request in flight: ${live.suspended.reduce((sum, f) => sum + f.suspended, 0).toFixed(1)}\n`);
    console.log('| function | suspended per request |\n| --- | ---: |');
    for (const row of live.suspended.slice(0, top)) console.log(`| ${row.name} | ${row.suspended.toFixed(2)} |`);
  } finally {
    await stopChildren(started);
    floors.dispose();
    if (values.keep) console.log(`snapshots kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

// Run as a script; tests import the tally.
if (resolve(process.argv[1] ?? '') === fileURLToPath(import.meta.url)) {
  process.on('exit', killAllNow);
  main().catch((error: unknown) => {
    process.stderr.write(`bench/live-set failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  });
}
