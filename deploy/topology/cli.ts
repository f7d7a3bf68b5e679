/**
 * `npm run topology -- up|down|status [--base-port 7400]`: the local production topology
 * (deploy/topology/topology.ts) for people to try and break by hand.
 *
 * - `up` installs missing Debian packages (as root; otherwise says what to install), builds
 *   `dist/`, and starts the topology under a supervisor process that keeps running in the
 *   background; it returns once HAProxy routes to three ready replicas.
 * - `down` stops it all (replicas drained first).
 * - `status` says what runs and answers: HAProxy's view of each replica, each replica's
 *   /readyz, the primary the Sentinels name, Unleash's /health.
 * - `token <userId> [segment ...]` prints a bearer token the replicas accept.
 *
 * State, configs and logs live in the git-ignored `.topology/` folder.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePrerequisites } from './prerequisites.ts';
import { buildDist, portsFrom, REPO_ROOT, signTopologyToken, startTopology, type TopologyPorts } from './topology.ts';

const DIR = join(REPO_ROOT, '.topology');
const STATE_FILE = join(DIR, 'state.json');
const DEFAULT_BASE_PORT = 7400;
const UP_TIMEOUT_MS = 8 * 60_000;

interface State {
  readonly pid: number;
  readonly status: 'starting' | 'ready' | 'failed';
  readonly ports: TopologyPorts;
  readonly url?: string;
  readonly error?: string;
}

const say = (line: string) => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

function readState(): State | undefined {
  try {
    return JSON.parse(readFileSync(STATE_FILE, 'utf8')) as State;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function basePort(args: readonly string[]): number {
  const index = args.indexOf('--base-port');
  const raw = index === -1 ? process.env.TOPOLOGY_BASE_PORT : args[index + 1];
  if (raw === undefined || raw === '') return DEFAULT_BASE_PORT;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1024 || port > 65_000) throw new Error(`--base-port must be a port from 1024 to 65000, but got: ${raw}`);
  return port;
}

async function up(args: readonly string[]): Promise<void> {
  const running = readState();
  if (running !== undefined && isAlive(running.pid)) {
    say(`the topology is already running (supervisor pid ${running.pid}); \`npm run topology -- status\` or \`down\``);
    return;
  }
  ensurePrerequisites(say);
  buildDist(say);
  rmSync(DIR, { recursive: true, force: true });
  const base = basePort(args);
  mkdirSync(DIR, { recursive: true });
  const logFd = openSync(join(DIR, 'supervisor.log'), 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'deploy', 'topology', 'cli.ts'), 'run', '--base-port', String(base)], {
    cwd: REPO_ROOT,
    detached: true,
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  child.unref();
  say(`supervisor pid ${String(child.pid)}; progress in .topology/supervisor.log`);
  const deadline = Date.now() + UP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const state = readState();
    if (state?.status === 'ready') {
      say(`ready: ${state.url ?? ''} (HAProxy → 3 replicas); \`npm run topology -- status\` for details`);
      return;
    }
    if (state?.status === 'failed' || child.exitCode !== null) {
      throw new Error(`the topology failed to start: ${state?.error ?? 'see .topology/supervisor.log'}`);
    }
    await sleep(500);
  }
  throw new Error(`the topology did not become ready within ${UP_TIMEOUT_MS / 1000} s; see .topology/supervisor.log`);
}

/** The supervisor: owns every process of the topology until SIGTERM/SIGINT. */
async function run(args: readonly string[]): Promise<void> {
  const ports = portsFrom(basePort(args));
  const write = (state: Omit<State, 'pid' | 'ports'>) => writeFileSync(STATE_FILE, `${JSON.stringify({ pid: process.pid, ports, ...state }, null, 2)}\n`);
  write({ status: 'starting' });
  let topology;
  try {
    topology = await startTopology({ ports, dir: DIR, log: (line) => say(`${new Date().toISOString()} ${line}`) });
  } catch (error) {
    write({ status: 'failed', error: (error as Error).message });
    process.exit(1);
  }
  write({ status: 'ready', url: topology.url });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    say(`${new Date().toISOString()} stopping`);
    void topology.stop().finally(() => {
      rmSync(STATE_FILE, { force: true });
      process.exit(0);
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

async function down(): Promise<void> {
  const state = readState();
  if (state === undefined || !isAlive(state.pid)) {
    rmSync(STATE_FILE, { force: true });
    say('the topology is not running');
    return;
  }
  process.kill(state.pid, 'SIGTERM');
  const deadline = Date.now() + 60_000;
  while (isAlive(state.pid) && Date.now() < deadline) await sleep(200);
  if (isAlive(state.pid)) throw new Error(`supervisor ${state.pid} did not stop within 60 s`);
  say('stopped');
}

async function probe(url: string): Promise<string> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await response.arrayBuffer();
    return `HTTP ${response.status}`;
  } catch (error) {
    return `no answer (${(error as Error).message})`;
  }
}

async function status(): Promise<void> {
  const state = readState();
  if (state === undefined || !isAlive(state.pid)) {
    say('the topology is not running; `npm run topology -- up` starts it');
    process.exitCode = 3;
    return;
  }
  const { ports } = state;
  say(`supervisor pid ${state.pid}: ${state.status}`);
  say(`haproxy     http://127.0.0.1:${ports.haproxy}  readyz through it: ${await probe(`http://127.0.0.1:${ports.haproxy}/readyz`)}`);
  let states: Record<string, string> = {};
  try {
    const csv = await (await fetch(`http://127.0.0.1:${ports.haproxyStats}/stats;csv`, { signal: AbortSignal.timeout(2000) })).text();
    for (const row of csv.split('\n')) {
      const cells = row.split(',');
      if (cells[0] === 'floorplan' && cells[1]?.startsWith('floorplan-')) states[cells[1]] = cells[17] ?? '';
    }
  } catch {
    states = {};
  }
  for (const [i, port] of ports.replicas.entries()) {
    const name = `floorplan-${i + 1}`;
    say(`${name} http://127.0.0.1:${port}  /readyz: ${await probe(`http://127.0.0.1:${port}/readyz`)}  haproxy: ${states[name] ?? 'unknown'}`);
  }
  const { Redis } = await import('ioredis');
  const sentinel = new Redis({ port: ports.sentinels[0], host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, commandTimeout: 1000 });
  try {
    await sentinel.connect();
    const primary = (await sentinel.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'floorplan')) as string[] | null;
    say(`redis       primary ${primary?.join(':') ?? 'none'} (sentinels on ${ports.sentinels.join(', ')}; data nodes ${ports.redis.join(', ')})`);
  } catch (error) {
    say(`redis       sentinel ${ports.sentinels[0]} does not answer: ${(error as Error).message}`);
  } finally {
    sentinel.disconnect();
  }
  say(`unleash     http://127.0.0.1:${ports.unleash}/health: ${await probe(`http://127.0.0.1:${ports.unleash}/health`)}`);
  say(`logs        .topology/logs/`);
}

async function token(args: readonly string[]): Promise<void> {
  const [userId, ...segments] = args;
  if (userId === undefined || readState()?.status !== 'ready') throw new Error('usage: npm run topology -- token <userId> [segment ...], with the topology up');
  say(await signTopologyToken(DIR, userId, segments));
}

const [command, ...rest] = process.argv.slice(2);
const commands: Record<string, (args: readonly string[]) => Promise<void>> = { up, down, status, run, token };
const chosen = command === undefined ? undefined : commands[command];
if (chosen === undefined || (command === 'run' && !existsSync(DIR))) {
  process.stderr.write('usage: npm run topology -- up|down|status [--base-port 7400] | token <userId> [segment ...]\n');
  process.exit(2);
}
chosen(rest).catch((error: unknown) => {
  process.stderr.write(`topology: ${(error as Error).message}\n`);
  process.exit(1);
});
