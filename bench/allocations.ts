/**
 * What each server allocates per request, and which layer allocates it: Floorplan
 * (`config/bench.yaml`) beside reference (d), the three upstream calls alone, and peer (f), the
 * tuned Mercurius server (BENCHMARKS.md, "The peers"). Every byte a request allocates is copied
 * or swept by a scavenge, so bytes per request drive the GC share of the CPU, how often the
 * young generation fills, and (with the requests in flight) the RSS and the half-rate p99.
 * With `--cpu`, the same servers, windows and layers for CPU time instead: where each server's
 * microseconds per request go (the profile BENCHMARKS.md reads the CPU gap from). Last, the code
 * every server runs alike (Node.js, packages, V8) side by side, function by function: where the
 * same function costs Floorplan more per request than the others, Floorplan calls it more often
 * or under worse conditions (session 24 found undici's pool queue this way). With `--promises`,
 * the promises each server creates per request, by the layer that creates them: each is at least
 * one job for V8's microtask loop, the largest single excess of Floorplan's CPU profile. With
 * `--promoted`, only the bytes that outlived the young generation (PROFILE_KIND=promoted in
 * bench/profile-sampler.ts, every server run with `--expose-gc`): what fills the old space toward
 * the next mark-compact, which sets the half-rate p99 (BENCHMARKS.md, session 23).
 *
 *   node --import tsx bench/allocations.ts [--cpu | --promises | --promoted] [--rounds 2] [--seconds 5] [--connections 100] [--top 15] [--env NAME=value …] [--node-flags="…"] [--peer-node-flags="…"] [--json] [--keep]
 *
 * --env adds environment to Floorplan only (e.g. a feature switched off, to see what it allocates).
 * --node-flags runs Floorplan with these node flags in place of start:prod's; --peer-node-flags
 * gives the peers these (they run with none otherwise). With the same flags on both sides, V8
 * compiles the code they share alike, so a function's own time compares (start:prod's inlining
 * budget moves time between callers and callees).
 * --json prints the bench's allocations row (bench/results.ts); not with --cpu, --promises or --promoted.
 * --keep leaves the raw profiles (one per server and round, `<pid>-<round>.heapprofile`,
 * `.cpuprofile` or `.promiseprofile`) in the temporary folder it names, for Chrome DevTools or a closer look.
 *
 * Method: the three servers run from dist/ as `npm run bench` runs them (Floorplan with
 * `start:prod`'s node flags), except that Floorplan runs tsc's one file per module
 * (dist/src/main.js) rather than start:prod's bundle, so every sample still names its package or
 * layer of src/ (the bundle costs ~4 % less CPU per request: BENCHMARKS.md, session 41); pinned to core 0; the demo upstreams and the load worker
 * (bench/load.ts) to core 1. Each server preloads bench/profile-sampler.ts; in each round,
 * each server in turn gets a warm-up, then V8's sampling heap profiler runs over one closed-loop
 * window (every allocation sampled, the garbage included, one sample per 4 KiB), and the bytes
 * are divided by the 2xx answers of that window. Requests still in flight when a window opens or
 * closes are counted on neither side: a few per cent, alike for every server.
 *
 * A sample is charged to the first frame on its stack that has a source file: a `JSON.parse` or
 * a `new Map` called from src/upstreams counts for src/upstreams, zod's generated parsers (no
 * file of their own) for zod. Floorplan's top sites are its own functions nearest the allocation.
 *
 * With `--cpu`, V8's CPU profiler samples every 1 ms over the window instead; a sample's time
 * is the window's profiled time over its samples, idle samples are left out, and the layers are
 * charged the same way (a syscall such as `writev` counts for the JavaScript that made it). The
 * profiler itself costs a little, alike for every server: read the shares and the differences
 * between servers, and bench/run.ts's rows for CPU per request.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadServiceConfig } from '../src/config/service-config.ts';
import { canPin, cleanEnv, FLOORPLAN_MAIN, floorplanEnv, freePorts, killAllNow, nodeFlagsOf, pin, productionNodeFlags, ROOT, startNode, stopChildren, useCompiledChildren, type Child } from './children.ts';
import { startWorker, waitUntil } from './cpu-per-request.ts';
import type { LoadJob } from './load-job.ts';
import { graphqlBody, PANEL_QUERY } from './panel.ts';
import type { AllocationsRow } from './results.ts';
import { createBenchFloorsDir } from './scenes.ts';
import { envPairs } from './tracing.ts';
import { seedLikeUsers, TokenBook } from './users.ts';

/** What a profile measures: bytes allocated, CPU time, promises created, or bytes promoted to the old space. */
export type ProfileKind = 'allocations' | 'cpu' | 'promises' | 'promoted';

/** One node of V8's sampling heap profile (HeapProfiler.SamplingHeapProfileNode), or of a CPU profile made into the same tree. */
interface ProfileNode {
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  /** Bytes, or for a CPU profile microseconds. */
  readonly selfSize: number;
  readonly children: readonly ProfileNode[];
}

/** A CPU profile as V8 writes it (Profiler.Profile): a flat list of nodes, and the node each sample hit. */
interface CpuProfile {
  readonly nodes: ReadonlyArray<{ readonly id: number; readonly callFrame: ProfileNode['callFrame']; readonly children?: readonly number[] }>;
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
}

/** Bytes (or CPU microseconds) by what spent them, over one or more windows of one server. */
export interface AllocationTally {
  /** Bytes, or CPU microseconds. */
  bytes: number;
  answers: number;
  readonly byLayer: Map<string, number>;
  readonly bySite: Map<string, number>;
  /**
   * By the function that spent it itself (the sample's own frame), for code every server runs
   * alike: Node.js's JavaScript, packages, V8's built-ins. The server's own files are left out.
   */
  readonly bySharedFunction: Map<string, number>;
}

/** An empty tally. */
export function emptyTally(): AllocationTally {
  return { bytes: 0, answers: 0, byLayer: new Map(), bySite: new Map(), bySharedFunction: new Map() };
}

/** Where a frame's code lives: `src/<folder>`, a package, Node.js's own JavaScript, or the server's own file. */
export function layerOf(url: string): string | undefined {
  if (url === '') return undefined;
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const [scope, name] = url.slice(modules + 'node_modules/'.length).split('/');
    return scope?.startsWith('@') === true ? `${scope}/${name}` : (scope ?? url);
  }
  if (url.startsWith('node:')) return 'Node.js (HTTP, net, streams, timers)';
  // Compiled (dist/…/*.js) or run through tsx (*.ts), the same layer.
  const src = /\/(?:dist\/)?src\/([^/]+)\//.exec(url);
  if (src !== null) return `src/${src[1]}`;
  if (/\/(?:dist\/)?src\/[^/]+\.[jt]s$/.test(url)) return 'src (top level)';
  const bench = /\/(?:dist\/)?bench\/(baselines\/[^/]+|[^/]+)\.[jt]s$/.exec(url);
  if (bench !== null) return `bench/${bench[1]}.ts`;
  return url;
}

/** Whether a frame is the measured server's own code (Floorplan's src/, or a peer's file under bench/). */
function ownCode(url: string): boolean {
  return !url.includes('node_modules/') && /\/(?:src|bench)\//.test(url);
}

/** A frame of code every server runs alike, by name and place: `_resume (undici/lib/dispatcher/client.js:789)`, `runMicrotasks (V8)`. */
function sharedFunctionName(frame: ProfileNode['callFrame']): string {
  const name = frame.functionName === '' ? '(anonymous)' : frame.functionName;
  if (frame.url === '') return `${name} (V8)`;
  const modules = frame.url.lastIndexOf('node_modules/');
  return `${name} (${modules >= 0 ? frame.url.slice(modules + 'node_modules/'.length) : frame.url}:${frame.lineNumber + 1})`;
}

function siteName(frame: ProfileNode['callFrame']): string {
  const file = frame.url.replace(/^.*?\/(?:dist\/)?(?=(?:src|bench)\/)/, '');
  return `${frame.functionName === '' ? '(anonymous)' : frame.functionName} (${file}:${frame.lineNumber + 1})`;
}

/** Adds one profile's samples to `tally`. */
export function tallyProfile(head: ProfileNode, tally: AllocationTally): void {
  const stack: Array<ProfileNode['callFrame']> = [];
  const walk = (node: ProfileNode) => {
    stack.push(node.callFrame);
    if (node.selfSize > 0) {
      tally.bytes += node.selfSize;
      // No JavaScript on the stack: V8's own work, by its name (the garbage collector, the compiler, the host program).
      let layer = `V8 ${node.callFrame.functionName || '(unnamed)'}`;
      // V8 running promise jobs and resuming async functions: the cost of the await layers
      // themselves, called from Node's tick queue but no more Node's than the frames it resumes.
      const microtasks = node.callFrame.url === '' && node.callFrame.functionName === 'runMicrotasks';
      for (let i = microtasks ? -1 : stack.length - 1; i >= 0; i--) {
        const found = layerOf(stack[i]!.url);
        if (found !== undefined) {
          layer = found;
          break;
        }
      }
      tally.byLayer.set(layer, (tally.byLayer.get(layer) ?? 0) + node.selfSize);
      if (!ownCode(node.callFrame.url)) {
        const shared = sharedFunctionName(node.callFrame);
        tally.bySharedFunction.set(shared, (tally.bySharedFunction.get(shared) ?? 0) + node.selfSize);
      }
      for (let i = stack.length - 1; i >= 0; i--) {
        if (ownCode(stack[i]!.url)) {
          const site = siteName(stack[i]!);
          tally.bySite.set(site, (tally.bySite.get(site) ?? 0) + node.selfSize);
          break;
        }
      }
    }
    for (const child of node.children) walk(child);
    stack.pop();
  };
  walk(head);
}

/**
 * A CPU profile as the tree {@link tallyProfile} reads: each node's self size is the time its
 * samples stand for, in µs (the profiled time over the samples taken). Idle samples are left out.
 */
export function cpuTree(profile: CpuProfile): ProfileNode {
  const hits = new Map<number, number>();
  for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  const perSample = profile.samples.length === 0 ? 0 : (profile.endTime - profile.startTime) / profile.samples.length;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const build = (id: number): ProfileNode => {
    const node = byId.get(id);
    if (node === undefined) throw new Error(`the CPU profile names a node ${id} it does not hold`);
    const idle = node.callFrame.functionName === '(idle)';
    return { callFrame: node.callFrame, selfSize: idle ? 0 : (hits.get(id) ?? 0) * perSample, children: (node.children ?? []).map(build) };
  };
  const root = profile.nodes[0];
  if (root === undefined) throw new Error('the CPU profile holds no nodes');
  return build(root.id);
}

/** Waits for the profile a SIGUSR2 asked `child` to write, and reads it. */
async function profileOf(child: Child, path: string, kind: ProfileKind): Promise<ProfileNode> {
  const deadline = Date.now() + 30_000;
  while (!existsSync(path)) {
    if (child.process.exitCode !== null) throw new Error(`${child.name} exited: ${child.output()}`);
    if (Date.now() > deadline) throw new Error(`${child.name} wrote no ${kind} profile at ${path} within 30 s: ${child.output()}`);
    await sleep(100);
  }
  const text = readFileSync(path, 'utf8');
  return kind === 'cpu' ? cpuTree(JSON.parse(text) as CpuProfile) : (JSON.parse(text) as { head: ProfileNode }).head;
}

export interface AllocationsPlan {
  readonly rounds: number;
  readonly seconds: number;
  readonly connections: number;
  /** Unmeasured requests to each server before its first window (JIT, caches, pools); 3000 unless told. */
  readonly warmupRequests?: number;
  /** Unmeasured requests before each later window; 300 unless told. */
  readonly roundWarmupRequests?: number;
  /** More environment for Floorplan (e.g. OTEL_* to trace it). */
  readonly floorplanEnv?: Readonly<Record<string, string>>;
  /** Bytes allocated (the default) or CPU time. */
  readonly kind?: ProfileKind;
  /** Leave the raw profiles in their temporary folder (logged) instead of removing it. */
  readonly keepProfiles?: boolean;
  /** Floorplan's node flags in place of start:prod's. */
  readonly floorplanNodeFlags?: readonly string[];
  /** The peers' node flags in place of none: e.g. start:prod's, to compare functions compiled alike. */
  readonly peerNodeFlags?: readonly string[];
}

const SERVERS = ['Floorplan', '(d) upstream calls alone', '(f) Mercurius, tuned'] as const;
type ServerName = (typeof SERVERS)[number];

/** Measures every server; children run from dist/ only if the caller has called `useCompiledChildren()`. */
export async function measureAllocations(plan: AllocationsPlan, log: (line: string) => void): Promise<Map<ServerName, AllocationTally>> {
  const floors = createBenchFloorsDir();
  const kind = plan.kind ?? 'allocations';
  const profiles = mkdtempSync(join(tmpdir(), 'floorplan-allocations-'));
  // The sampler's TypeScript source, for children run from dist/ too: Node strips its (erasable) types.
  // 'promoted' forces two scavenges before each profile is written, through gc().
  const sampler = ['--import', join(ROOT, 'bench', 'profile-sampler.ts'), ...(kind === 'promoted' ? ['--expose-gc'] : [])];
  const profilerEnv = { ALLOCATION_PROFILE_DIR: profiles, PROFILE_KIND: kind };
  const started: Child[] = [];
  const track = (child: Child) => (started.push(child), child);
  try {
    const [upstreamPort, floorplanPort, dPort, fPort] = (await freePorts(4)) as [number, number, number, number];
    const upstreamOrigin = `http://127.0.0.1:${upstreamPort}`;
    const upstreams = track(startNode('demo-upstreams', 'src/demo-upstreams/main.ts', { env: cleanEnv({ DEMO_PORT: String(upstreamPort), DEMO_FAULTS: '' }) }));
    const env = floorplanEnv(floorplanPort, upstreamOrigin, floors.dir, { ...plan.floorplanEnv, ...profilerEnv });
    const config = loadServiceConfig({ env, dir: join(ROOT, 'config') });
    const { auth } = config;
    if (auth.mode !== 'hs256' || auth.hs256Secret === undefined) throw new Error('the peers verify HS256 tokens: the bench config must use auth.mode hs256');
    const peerEnv = (port: number) =>
      cleanEnv({
        NODE_ENV: 'production',
        BENCH_PORT: String(port),
        BENCH_UPSTREAMS: upstreamOrigin,
        BENCH_JWT_SECRET: auth.hs256Secret as string,
        BENCH_JWT_ISSUER: auth.issuer,
        BENCH_JWT_AUDIENCE: auth.audience,
        BENCH_JWT_CLOCK_TOLERANCE_SECONDS: String(auth.clockToleranceSeconds),
        ...profilerEnv,
      });
    // Started as bench/run.ts starts them (Floorplan with start:prod's flags, the peers with
    // none) unless the plan gives other flags.
    const floorplanFlags = [...(plan.floorplanNodeFlags ?? productionNodeFlags()), ...sampler];
    const peerFlags = [...(plan.peerNodeFlags ?? []), ...sampler];
    if (plan.floorplanNodeFlags !== undefined) log(`Floorplan runs with node flags: ${plan.floorplanNodeFlags.join(' ') || '(none)'}`);
    if (plan.peerNodeFlags !== undefined) log(`the peers run with node flags: ${plan.peerNodeFlags.join(' ') || '(none)'}`);
    const servers: Record<ServerName, { child: Child; url: string }> = {
      Floorplan: { child: track(startNode('floorplan', FLOORPLAN_MAIN, { env, nodeFlags: floorplanFlags, moduleFiles: true })), url: `http://127.0.0.1:${floorplanPort}/graphql` },
      '(d) upstream calls alone': { child: track(startNode('upstream-floor', 'bench/baselines/upstream-floor.ts', { env: peerEnv(dPort), nodeFlags: peerFlags })), url: `http://127.0.0.1:${dPort}/graphql` },
      '(f) Mercurius, tuned': { child: track(startNode('mercurius-peer', 'bench/baselines/mercurius-peer.ts', { env: peerEnv(fPort), nodeFlags: peerFlags })), url: `http://127.0.0.1:${fPort}/graphql` },
    };
    const worker = startWorker();
    track(worker.child);
    await waitUntil(upstreams, 'answering /healthz', async () => (await fetch(`${upstreamOrigin}/healthz`)).ok);
    await waitUntil(servers.Floorplan.child, 'ready', async () => (await fetch(servers.Floorplan.url.replace('/graphql', '/readyz'))).ok);
    const book = new TokenBook(auth);
    const users = await seedLikeUsers(plan.connections, servers.Floorplan.url, book);
    if (users.length === 0) throw new Error('found no load users');
    const variants = users.map((userId) => ({ headers: book.headers(userId), body: graphqlBody(PANEL_QUERY) }));
    for (const name of SERVERS) {
      const { child, url } = servers[name];
      await waitUntil(child, 'answering a panel', async () => (await fetch(url, { method: 'POST', ...variants[0]! })).ok);
    }
    await worker.ready;
    pin(upstreams, 1);
    pin(worker.child, 1);
    for (const name of SERVERS) pin(servers[name].child, 0);
    log(canPin() ? 'servers pinned to core 0, load worker and demo upstreams to core 1' : 'NOT pinned (taskset or a second core missing)');
    log(`${users.length} load users, ${plan.connections} connections; ${plan.rounds} round${plan.rounds === 1 ? '' : 's'} of ${plan.seconds} s per server, in turns`);

    const tallies = new Map<ServerName, AllocationTally>(SERVERS.map((name) => [name, emptyTally()]));
    const job = (name: ServerName, warmupRequests: number, durationSeconds: number): LoadJob => ({
      name: `allocations-${name}`,
      url: servers[name].url,
      variants,
      connections: plan.connections,
      warmupRequests,
      durationSeconds,
      pids: { server: servers[name].child.pid },
      drainMs: 300,
    });
    for (let round = 0; round < plan.rounds; round++) {
      const order = round % 2 === 0 ? SERVERS : [...SERVERS].reverse();
      for (const name of order) {
        const { child } = servers[name];
        // Warm-up outside the profile (JIT, caches, connection pools), then one profiled window.
        await worker.run(job(name, round === 0 ? (plan.warmupRequests ?? 3000) : (plan.roundWarmupRequests ?? 300), 1));
        child.process.kill('SIGUSR2');
        await sleep(100);
        const result = await worker.run(job(name, 0, plan.seconds));
        child.process.kill('SIGUSR2');
        const tally = tallies.get(name)!;
        const before = tally.bytes;
        // Each server's n-th profile is its window of round n.
        tallyProfile(await profileOf(child, join(profiles, `${child.pid}-${round + 1}.${UNITS[kind].extension}`), kind), tally);
        tally.answers += result.ok;
        if (result.non2xx + result.errors > 0) log(`  ${name}: ${result.non2xx} non-2xx answers and ${result.errors} errors in the window (not counted)`);
        log(`  round ${round + 1}: ${name.padEnd(26)} ${UNITS[kind].of(tally.bytes - before, result.ok).padStart(6)} ${UNITS[kind].unit} per request over ${result.ok} answers`);
      }
    }
    return tallies;
  } finally {
    await stopChildren(started);
    floors.dispose();
    if (plan.keepProfiles === true) log(`profiles kept in ${profiles}`);
    else rmSync(profiles, { recursive: true, force: true });
  }
}

/** A tally's entries, largest first. */
function largest(bytesBy: ReadonlyMap<string, number>): Array<[string, number]> {
  return [...bytesBy].sort((x, y) => y[1] - x[1]);
}

/** The bench's row (bench/results.ts): each server's KiB per request and its largest layers. */
export function allocationsRow(plan: AllocationsPlan, tallies: ReadonlyMap<string, AllocationTally>, layers = 5): AllocationsRow {
  return {
    rounds: plan.rounds,
    seconds: plan.seconds,
    connections: plan.connections,
    servers: [...tallies].map(([name, tally]) => ({
      name,
      kibPerRequest: tally.bytes / tally.answers / 1024,
      answers: tally.answers,
      layers: largest(tally.byLayer)
        .slice(0, layers)
        .map(([layer, bytes]) => ({ layer, kib: bytes / tally.answers / 1024 })),
    })),
  };
}

/** One function of shared code, per request in each server (tallies' order), and how much more Floorplan spends in it than the cheapest other. */
export interface SharedFunctionRow {
  readonly name: string;
  readonly perRequest: readonly number[];
  readonly floorplanExcess: number;
}

/**
 * The functions of shared code (Node.js, packages, V8) where Floorplan spends the most per
 * request beyond the cheapest other server that runs them at all. The same function costing more
 * per request in Floorplan means more calls of it, or dearer ones: session 24 found undici's
 * queue this way.
 */
export function sharedSideBySide(tallies: ReadonlyMap<string, AllocationTally>, top: number): SharedFunctionRow[] {
  const all = [...tallies.values()];
  const floorplan = tallies.get('Floorplan');
  if (floorplan === undefined || all.length < 2) return [];
  const names = new Set(all.flatMap((tally) => [...tally.bySharedFunction.keys()]));
  const rows = [...names].map((name) => {
    const perRequest = all.map((tally) => (tally.answers === 0 ? 0 : (tally.bySharedFunction.get(name) ?? 0) / tally.answers));
    const ours = perRequest[all.indexOf(floorplan)]!;
    // A server that never runs the function (a static answer written another way) says nothing of its price.
    const others = perRequest.filter((_, i) => all[i] !== floorplan && all[i]!.answers > 0 && all[i]!.bySharedFunction.has(name));
    return { name, perRequest, floorplanExcess: ours - (others.length === 0 ? 0 : Math.min(...others)) };
  });
  return rows.sort((x, y) => y.floorplanExcess - x.floorplanExcess).slice(0, top);
}

/** How each kind of profile is written by bench/profile-sampler.ts and read per request. */
const UNITS: Readonly<
  Record<
    ProfileKind,
    {
      /** The profile file's extension. */
      readonly extension: string;
      readonly unit: string;
      readonly what: string;
      /** What Floorplan's own functions are nearest to, in the report's heading. */
      readonly nearest: string;
      /** A total over `answers`, as the tables show it. */
      readonly of: (amount: number, answers: number) => string;
      /** One function's amount per request, in the side-by-side table. */
      readonly perRequest: (amount: number) => string;
    }
  >
> = {
  allocations: { extension: 'heapprofile', unit: 'KiB', what: 'KiB allocated per request', nearest: 'the allocation', of: (bytes, answers) => (bytes / answers / 1024).toFixed(1), perRequest: (bytes) => (bytes / 1024).toFixed(2) },
  cpu: { extension: 'cpuprofile', unit: 'µs', what: 'CPU µs per request (sampled)', nearest: 'the time spent', of: (us, answers) => (us / answers).toFixed(1), perRequest: (us) => us.toFixed(2) },
  promises: { extension: 'promiseprofile', unit: 'promises', what: 'promises created per request', nearest: 'the promise', of: (count, answers) => (count / answers).toFixed(1), perRequest: (count) => count.toFixed(2) },
  promoted: { extension: 'heapprofile', unit: 'B', what: 'bytes promoted to the old space per request', nearest: 'what was promoted', of: (bytes, answers) => (bytes / answers).toFixed(0), perRequest: (bytes) => bytes.toFixed(0) },
};

function report(tallies: Map<ServerName, AllocationTally>, top: number, kind: ProfileKind): string {
  const { unit, what, nearest, of, perRequest } = UNITS[kind];
  const lines: string[] = [];
  const floorplan = tallies.get('Floorplan')!;
  lines.push(`| server | ${what} | ÷ (d) |`, '| --- | ---: | ---: |');
  const d = tallies.get('(d) upstream calls alone')!;
  for (const [name, tally] of tallies) lines.push(`| ${name} | ${of(tally.bytes, tally.answers)} | ${(tally.bytes / tally.answers / (d.bytes / d.answers)).toFixed(2)}× |`);
  for (const [name, tally] of tallies) {
    lines.push('', `${name}, by layer (${unit} per request):`, '', `| layer | ${unit} | share |`, '| --- | ---: | ---: |');
    const layers = largest(tally.byLayer);
    for (const [layer, amount] of layers.slice(0, top)) lines.push(`| ${layer} | ${of(amount, tally.answers)} | ${((100 * amount) / tally.bytes).toFixed(1)} % |`);
    const rest = layers.slice(top).reduce((sum, [, amount]) => sum + amount, 0);
    if (rest > 0) lines.push(`| ${layers.length - top} more | ${of(rest, tally.answers)} | ${((100 * rest) / tally.bytes).toFixed(1)} % |`);
  }
  lines.push('', `Floorplan's own functions nearest ${nearest}, top ${top} (${unit} per request, whatever they called):`, '', `| function | ${unit} |`, '| --- | ---: |');
  for (const [site, amount] of largest(floorplan.bySite).slice(0, top)) lines.push(`| \`${site}\` | ${of(amount, floorplan.answers)} |`);
  const servers = [...tallies.keys()];
  lines.push(
    '',
    `Shared code (Node.js, packages, V8) side by side: the ${top} functions where Floorplan spends the most beyond the cheapest other server that runs them (${unit} per request, the function's own):`,
    '',
    `| function | ${servers.join(' | ')} | Floorplan's excess |`,
    `| --- |${servers.map(() => ' ---: |').join('')} ---: |`,
  );
  for (const row of sharedSideBySide(tallies, top)) lines.push(`| \`${row.name}\` | ${row.perRequest.map(perRequest).join(' | ')} | ${perRequest(row.floorplanExcess)} |`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '2' },
      seconds: { type: 'string', default: '5' },
      connections: { type: 'string', default: '100' },
      top: { type: 'string', default: '15' },
      env: { type: 'string', multiple: true, default: [] },
      json: { type: 'boolean', default: false },
      cpu: { type: 'boolean', default: false },
      promises: { type: 'boolean', default: false },
      promoted: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      'node-flags': { type: 'string' },
      'peer-node-flags': { type: 'string' },
    },
  });
  const kinds = (['cpu', 'promises', 'promoted'] as const).filter((name) => values[name]);
  if (kinds.length > 1) throw new Error(`${kinds.map((name) => `--${name}`).join(' and ')} are different profiles: run one, then the other`);
  const kind: ProfileKind = kinds[0] ?? 'allocations';
  if (kind !== 'allocations' && values.json) throw new Error(`--json prints the bench's allocations row: leave out --${kind}, or --json`);
  const floorplanEnv = envPairs(values.env);
  for (const name of ['rounds', 'seconds', 'connections', 'top'] as const) {
    if (!/^[1-9]\d*$/.test(values[name])) throw new Error(`--${name} takes a whole number above 0, but got: ${values[name]}`);
  }
  const log = (line: string) => (values.json ? process.stderr : process.stdout).write(`${line}\n`);
  log('compiling to dist/ …');
  useCompiledChildren();
  const plan: AllocationsPlan = {
    rounds: Number(values.rounds),
    seconds: Number(values.seconds),
    connections: Number(values.connections),
    floorplanEnv,
    kind,
    keepProfiles: values.keep,
    ...(values['node-flags'] === undefined ? {} : { floorplanNodeFlags: nodeFlagsOf(values['node-flags']) }),
    ...(values['peer-node-flags'] === undefined ? {} : { peerNodeFlags: nodeFlagsOf(values['peer-node-flags']) }),
  };
  const tallies = await measureAllocations(plan, log);
  if (values.json) {
    process.stdout.write(`${JSON.stringify(allocationsRow(plan, tallies, Number(values.top)))}\n`);
    return;
  }
  log('');
  log(report(tallies, Number(values.top), kind));
}

// Run as a script; tests import the tally.
if (resolve(process.argv[1] ?? '') === fileURLToPath(import.meta.url)) {
  process.on('exit', killAllNow);
  main().catch((error: unknown) => {
    process.stderr.write(`bench/allocations failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  });
}
