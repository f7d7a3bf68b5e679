/**
 * The processes a benchmark run starts: each server, the demo upstreams and the load worker
 * run as their own process (compiled from dist/ in full runs, through tsx in quick ones),
 * optionally pinned to a core with taskset.
 *
 * Every child is recorded here and killed when the run ends, fails or is interrupted
 * (SIGINT/SIGTERM), so a benchmark never leaves a server holding a port.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFIG_ENV_VARS } from '../src/config/service-config.ts';
import { UPSTREAMS } from '../src/upstreams/registry.ts';
import { buildDist, productionCommand, productionNodeFlags as productionFlagsOf } from '../deploy/build-dist.ts';
import { createMemoryCgroup } from '../deploy/memory-cgroup.ts';

/** The repository root: children run from here so `config/` and `floors/` resolve as in `npm start`. */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Whether children run from dist/ (npm run build), as in production, rather than through tsx. */
let compiled = false;

/**
 * Compiles src/ and bench/ to dist/ and runs every later child from there. tsx keeps a loader
 * thread (a second V8 isolate, ~40 MB) in each process it starts: fine for development, but
 * it is not what production runs, and it would be charged to every server's RSS.
 */
export function useCompiledChildren(): void {
  buildDist(ROOT);
  compiled = true;
}

/** The core a process is pinned to: servers under test on 0, load generation on 1. */
export type Core = 0 | 1;

/** A started child process and the tail of what it printed, for error messages. */
export interface Child {
  readonly name: string;
  readonly pid: number;
  readonly process: ChildProcess;
  /** The last lines of its stdout and stderr together. */
  output(): string;
  /** Resolves with the exit code (or signal) when the process ends. */
  readonly exited: Promise<string>;
}

const OUTPUT_TAIL_CHARS = 4000;
const live = new Set<ChildProcess>();

let pinningSupported: boolean | undefined;

/** taskset exists and this process may use at least two cores. */
export function canPin(): boolean {
  if (pinningSupported === undefined) {
    const probe = spawnSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
    pinningSupported = probe.status === 0 && availableParallelism() >= 2;
  }
  return pinningSupported;
}

/**
 * Floorplan's entry point. From dist/ it runs as `npm run start:prod` runs it, the bundle
 * (dist/server/main.js), unless a tool asks for `moduleFiles`: dist/src/main.js, tsc's one file
 * per module, whose profiles can still tell src/upstreams from graphql-jit by file name.
 */
export const FLOORPLAN_MAIN = 'src/main.ts';

/** What `script` (a .ts path from the repository root) runs as once compiled, relative to `root`. */
function compiledScript(root: string, script: string, moduleFiles: boolean): string {
  if (script === FLOORPLAN_MAIN && !moduleFiles) return productionCommand(root).entry;
  return join('dist', script.replace(/\.ts$/, '.js'));
}

/**
 * Starts `node --import tsx <script>` from the repository root, unpinned: start-up (tsx,
 * imports) is CPU-heavy and runs faster on every core. {@link pin} it once it is ready.
 * With `memoryLimitBytes` it starts in a memory cgroup of that size, as in a container whose
 * memory limit it is (Node sizes its heap from it; needs root: deploy/memory-cgroup.ts).
 */
export function startNode(
  name: string,
  script: string,
  options: { env: NodeJS.ProcessEnv; nodeFlags?: readonly string[]; root?: string; memoryLimitBytes?: number; moduleFiles?: boolean },
): Child {
  // stdin is a pipe we hold: the baselines and the load worker exit when it closes.
  const flags = options.nodeFlags ?? [];
  // Another checkout (`root`, built with its own `npm run build`) runs its own dist/, from its own folder.
  const root = options.root ?? ROOT;
  const args = compiled || options.root !== undefined ? [...flags, join(root, compiledScript(root, script, options.moduleFiles === true))] : [...flags, '--import', 'tsx', script];
  const cgroup = options.memoryLimitBytes === undefined ? undefined : createMemoryCgroup(options.memoryLimitBytes);
  const [command, commandArgs] = cgroup === undefined ? [process.execPath, args] : cgroup.wrap(process.execPath, args);
  const child = spawn(command, commandArgs, { cwd: root, env: options.env, stdio: ['pipe', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`could not start ${name}`);
  live.add(child);
  if (cgroup !== undefined) child.once('exit', () => void cgroup.remove().catch((error: Error) => process.stderr.write(`could not remove ${cgroup.path}: ${error.message}\n`)));

  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
  };
  child.stderr?.on('data', keep);
  // The load worker's stdout is read by its owner; every other child's is only kept as a tail.
  if (name !== 'load') child.stdout?.on('data', keep);
  child.stdin?.on('error', () => undefined);

  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve(signal ?? `exit code ${String(code)}`);
    });
    child.once('error', (error) => {
      live.delete(child);
      resolve(`failed to start: ${error.message}`);
    });
  });
  return { name, pid: child.pid, process: child, output: () => tail.trim(), exited };
}

/**
 * Pins every thread of a running child to `core` (`taskset -a -p -c`); threads it starts
 * later inherit the mask. A no-op where pinning is unavailable.
 */
export function pin(child: Child, core: Core): void {
  if (!canPin()) return;
  const result = spawnSync('taskset', ['-a', '-p', '-c', String(core), String(child.pid)], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`taskset could not pin ${child.name} (pid ${child.pid}) to core ${core}: ${result.stderr.trim()}`);
}

/**
 * Pins this process (every thread) to `core` for a measurement made in-process, as the servers
 * are pinned; returns what puts its affinity back. A no-op where pinning is unavailable.
 */
export function pinSelf(core: Core): () => void {
  if (!canPin()) return () => undefined;
  const pid = String(process.pid);
  const mask = /affinity mask: ([0-9a-f,]+)/i.exec(spawnSync('taskset', ['-p', pid], { encoding: 'utf8' }).stdout)?.[1];
  const result = spawnSync('taskset', ['-a', '-p', '-c', String(core), pid], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`taskset could not pin this process (pid ${pid}) to core ${core}: ${result.stderr.trim()}`);
  return () => {
    if (mask !== undefined) spawnSync('taskset', ['-a', '-p', mask, pid], { stdio: 'ignore' });
  };
}

/** SIGTERM to every live child; SIGKILL to any still alive after `graceMs`. */
export function stopAll(graceMs = 3000): Promise<void> {
  return stopProcesses([...live], graceMs);
}

/** SIGTERM to `children` only; SIGKILL to any of them still alive after `graceMs`. */
export function stopChildren(children: readonly Child[], graceMs = 3000): Promise<void> {
  return stopProcesses(children.map((c) => c.process), graceMs);
}

async function stopProcesses(children: readonly ChildProcess[], graceMs: number): Promise<void> {
  const gone = children.map(
    (child) =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.stdin?.end();
        // A SIGSTOPped child (a frozen upstream) would hold SIGTERM pending until the SIGKILL.
        child.kill('SIGCONT');
        child.kill('SIGTERM');
      }),
  );
  const timer = setTimeout(() => {
    for (const child of children) if (live.has(child)) child.kill('SIGKILL');
  }, graceMs);
  await Promise.all(gone);
  clearTimeout(timer);
}

/** Synchronous last resort for process 'exit': SIGKILL whatever is still running. */
export function killAllNow(): void {
  for (const child of live) child.kill('SIGKILL');
}

/**
 * The node options `npm run start:prod` gives Floorplan (e.g. its young-generation size), so
 * the benchmark measures Floorplan as it is deployed (its script too: {@link FLOORPLAN_MAIN}).
 */
export function productionNodeFlags(): string[] {
  return productionFlagsOf(ROOT);
}

/** How {@link startNode} runs Floorplan with start:prod's flags, for the results: `node [flags] dist/server/main.js`, or through tsx in quick runs. */
export function floorplanCommandLine(): string {
  const script = compiled ? compiledScript(ROOT, FLOORPLAN_MAIN, false) : `--import tsx ${FLOORPLAN_MAIN}`;
  return ['node', ...productionNodeFlags(), script].join(' ');
}

/** The script `npm run start:prod` runs (the bundle, dist/server/main.js), as an absolute path. */
export function productionScript(): string {
  return join(ROOT, productionCommand(ROOT).entry);
}

/** Node flags written as one command-line value (`--b-node-flags="--a --b=1"`), one per entry. */
export function nodeFlagsOf(text: string): string[] {
  return text.split(/\s+/).filter((flag) => flag !== '');
}

/**
 * The environment a child inherits: ours minus every Floorplan config variable, OpenTelemetry's
 * and any test runner's marks (vitest's NODE_ENV=test and VITEST change Apollo's behaviour), so
 * a bench run from `npm test` measures what `npm run bench` does.
 */
export function cleanEnv(extra: Readonly<Record<string, string>>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of [...CONFIG_ENV_VARS, 'FLOORPLAN_ENV', 'BENCH_PORT', 'NODE_ENV']) delete env[name];
  for (const name of Object.keys(env)) if (name === 'VITEST' || name.startsWith('VITEST_') || name.startsWith('OTEL_')) delete env[name];
  return { ...env, ...extra };
}

/** How late every demo upstream answers in the bench's latency phase (bench/run.ts, bench/gc-windows.ts). */
export const UPSTREAM_LATENCY_MS = 20;
/** The demo upstreams' DEMO_FAULTS for that phase: cart, promotion and settlement each {@link UPSTREAM_LATENCY_MS} late. */
export const SLOW_UPSTREAM_FAULTS = ['cart', 'promotion', 'settlement'].map((name) => `${name}:latency:${UPSTREAM_LATENCY_MS}`).join(',');

/** What makes a Floorplan a bench server: production mode, the overlay `floorplanEnv`, loopback `port`, every upstream at `upstreamOrigin`. */
export function floorplanProcessVars(port: number, upstreamOrigin: string, floorplanEnvName = 'bench'): Record<string, string> {
  return {
    NODE_ENV: 'production',
    FLOORPLAN_ENV: floorplanEnvName,
    HOST: '127.0.0.1',
    PORT: String(port),
    DEMO_UPSTREAMS: 'off',
    ...Object.fromEntries(UPSTREAMS.map((name) => [`UPSTREAM_${name.toUpperCase()}_URL`, `${upstreamOrigin}/${name}`])),
  };
}

/** A bench Floorplan's whole environment: {@link floorplanProcessVars} on a clean environment, the bench's floors, warn logs. */
export function floorplanEnv(port: number, upstreamOrigin: string, floorsDir: string, extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  return cleanEnv({ ...floorplanProcessVars(port, upstreamOrigin), FLOORS_DIR: floorsDir, LOG_LEVEL: 'warn', ...extra });
}

/** Free loopback ports, below the ephemeral range so nothing else is handed them (deploy/ports.ts). */
export { freePorts } from '../deploy/ports.ts';
