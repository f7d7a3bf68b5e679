/**
 * Floorplan as an operator runs it: `node --import tsx src/main.ts` in a child process, with
 * the environment `npm start` would see (no vitest NODE_ENV=test or VITEST, which change
 * Apollo's behaviour), its output captured.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { UPSTREAMS, type UpstreamName } from '../../src/upstreams/registry.ts';
import { freePort, npmStartEnv } from './processes.ts';

export interface FloorplanProcess {
  readonly child: ChildProcess;
  readonly url: string;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Sends SIGTERM and resolves with the exit code, or 'timeout' (then SIGKILLs it). */
  terminate(timeoutMs?: number): Promise<number | null | 'timeout'>;
  /**
   * fetch(`url` + `path`). A request that gets no answer (a reset, a refused connection) rejects
   * with what the process was doing: still running or its exit, and the last of its output.
   */
  fetch(path: string, init?: RequestInit): Promise<Response>;
}

/** How much of a process's output a failed request quotes. */
const OUTPUT_TAIL_CHARS = 3000;

/** How many times a start whose PORT or DEMO_PORT was taken meanwhile is tried again on other ports. */
const PORT_TAKEN_RETRIES = 3;

/**
 * Starts `src/main.ts` on `env.PORT` and resolves once /readyz answers 200; rejects with its
 * output if it exits first or takes longer than `readyTimeoutMs` (default 30 s: tsx compiles
 * the sources at every start, slowly on a busy machine).
 *
 * A port found free (freePort) can be taken by another socket in the seconds before the process
 * binds it (a burst test's own connections use the same ephemeral range): a start that fails
 * with EADDRINUSE on env.PORT or env.DEMO_PORT is tried again on a fresh port for that one.
 */
export async function startFloorplanProcess(env: Record<string, string> & { PORT: string }, readyTimeoutMs = 30_000): Promise<FloorplanProcess> {
  for (let retry = 0; ; retry++) {
    try {
      return await startOnce(env, readyTimeoutMs);
    } catch (error) {
      const taken = error instanceof PortTaken ? (['PORT', 'DEMO_PORT'] as const).find((name) => env[name] === String(error.port)) : undefined;
      if (taken === undefined || retry === PORT_TAKEN_RETRIES) throw error;
      env = { ...env, [taken]: String(await freePort()) };
    }
  }
}

/** A start that failed because a port it was given was in use by then. */
class PortTaken extends Error {
  constructor(
    message: string,
    readonly port: number,
  ) {
    super(message);
  }
}

async function startOnce(env: Record<string, string> & { PORT: string }, readyTimeoutMs: number): Promise<FloorplanProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env: npmStartEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = `http://127.0.0.1:${env.PORT}`;
  const handle: FloorplanProcess = {
    child,
    url,
    output: () => output,
    async fetch(path, init) {
      try {
        return await fetch(`${url}${path}`, init);
      } catch (error) {
        const state = child.exitCode !== null || child.signalCode !== null ? `it exited (code ${String(child.exitCode)}, signal ${String(child.signalCode)})` : 'it is still running';
        const cause = error instanceof Error ? `${error.message}${error.cause instanceof Error ? ` (${error.cause.message})` : ''}` : String(error);
        throw new Error(`${init?.method ?? 'GET'} ${url}${path} got no answer: ${cause}; ${state}. Its last output:\n${output.slice(-OUTPUT_TAIL_CHARS)}`, { cause: error });
      }
    },
    async terminate(timeoutMs = 8000) {
      if (child.exitCode !== null) return child.exitCode;
      const exited = once(child, 'exit') as Promise<[number | null]>;
      child.kill('SIGTERM');
      const result = await Promise.race([exited.then(([code]) => code), new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeoutMs))]);
      if (result === 'timeout') child.kill('SIGKILL');
      return result;
    },
  };
  const deadline = Date.now() + readyTimeoutMs;
  while (Date.now() < deadline && child.exitCode === null) {
    // Bounded: whatever took the port may accept a connection and never answer.
    const ready = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false);
    if (ready) return handle;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (child.exitCode === null) child.kill('SIGKILL');
  const message = `floorplan did not become ready (exit code ${String(child.exitCode)}):\n${output}`;
  const taken = /listen EADDRINUSE: address already in use [^\s]*:(\d+)/.exec(output);
  throw taken === null ? new Error(message) : new PortTaken(message, Number(taken[1]));
}

/** Where a replica of a revisions suite keeps its layouts and finds its upstreams. */
export interface StoreReplicaSettings {
  /** Names the replica's last-known-good copy in `dir`. */
  readonly name: string;
  readonly redisUrl: string;
  /** LAYOUT_STORE_URL: the PostgreSQL database every replica shares. */
  readonly storeUrl: string;
  /** Holds the replica's last-known-good copy and, in `local/`, its own floors files. */
  readonly dir: string;
  readonly upstreams: Readonly<Record<UpstreamName, string>>;
  readonly adminToken: string;
}

/**
 * The environment of one of several Floorplan processes sharing a PostgreSQL revision store and
 * a Redis, on the given upstreams (their demo, not an in-process one), with a request deadline
 * generous enough that a loaded machine does not turn a panel into an empty degraded one.
 */
export function storeReplicaEnv(settings: StoreReplicaSettings, extra: Record<string, string> = {}): Record<string, string> {
  return {
    REDIS_URL: settings.redisUrl,
    LAYOUT_STORE: 'postgres',
    LAYOUT_STORE_URL: settings.storeUrl,
    LAYOUT_LAST_GOOD_FILE: join(settings.dir, `${settings.name}-last-known-good.json`),
    ADMIN_TOKEN: settings.adminToken,
    DEMO_UPSTREAMS: 'off',
    ...Object.fromEntries(UPSTREAMS.map((upstream) => [`UPSTREAM_${upstream.toUpperCase()}_URL`, settings.upstreams[upstream]])),
    FLOORS_DIR: join(settings.dir, 'local'),
    REQUEST_DEADLINE_MS: '2000',
    LOG_LEVEL: 'warn',
    ...extra,
  };
}
