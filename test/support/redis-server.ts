/**
 * A private redis-server for tests that stop, freeze or restart Redis (never the shared one).
 * On a machine without the binary, suites use `describe.skipIf(!HAS_REDIS_SERVER)` so they are
 * reported as skipped by name; on CI, .ci/run fails any skip.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import type { Redis } from 'ioredis';
import { createLogger } from '../../src/observability/logger.ts';
import { openRedis } from '../../src/redis/client.ts';
import { freePort } from './processes.ts';

export const HAS_REDIS_SERVER = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;

export interface PrivateRedis {
  readonly port: number;
  /** redis://127.0.0.1:<port>/0 */
  readonly url: string;
  /** SIGSTOP: the process holds its sockets but answers nothing, like a hung host. */
  freeze(): void;
  /** SIGCONT after freeze(). */
  thaw(): void;
  /** Stops the server; connections are refused until start(). */
  stop(): Promise<void>;
  /** Starts it again on the same port (empty: it keeps nothing on disk). */
  start(): Promise<void>;
}

/** Starts a private redis-server on a free port; `args` are added to its command line (`--requirepass`, say). */
export async function startPrivateRedis(args: readonly string[] = []): Promise<PrivateRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  let frozen = false;

  async function start(): Promise<void> {
    ({ child } = await spawnRedis(port, args, `redis-server on ${port}`, 10_000));
  }

  async function stop(): Promise<void> {
    const running = child;
    child = undefined;
    if (running === undefined || running.exitCode !== null) return;
    if (frozen) {
      running.kill('SIGCONT');
      frozen = false;
    }
    const exited = once(running, 'exit');
    running.kill('SIGKILL');
    await exited;
  }

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    freeze() {
      child?.kill('SIGSTOP');
      frozen = true;
    },
    thaw() {
      child?.kill('SIGCONT');
      frozen = false;
    },
    stop,
    start,
  };
}

/**
 * A fail-fast client on `server` as production opens it (openRedis), ready to use, remembered
 * in `clients` so the suite's afterEach can close it.
 */
export async function connectReady(server: PrivateRedis, clients: Redis[]): Promise<Redis> {
  // A single server's url always opens a single connection. 250 ms: short enough that a frozen
  // server trips the breaker quickly, long enough that a loaded CI machine (100 ms timed out a
  // plain DEL there) does not.
  const redis = openRedis({ url: server.url, commandTimeoutMs: 250, connectTimeoutMs: 500, name: 'test' }, createLogger('silent')) as Redis;
  clients.push(redis);
  if (redis.status !== 'ready') await once(redis, 'ready');
  return redis;
}

/** Whether a Redis server answers PING on `port` with PONG, or NOAUTH when it wants a password (not just anything listening there). */
async function answersPing(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('latin1');
      // NOAUTH: a server started with --requirepass, answering as Redis does before AUTH.
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG') || reply.startsWith('-NOAUTH'));
    });
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
  });
}

/**
 * Starts redis-server on `port` with `args` besides (on loopback, keeping nothing on disk) and
 * waits until it answers PING there, not just until something listens there: a port taken
 * since it was picked would otherwise pass for it. When it exits first, the error says so at once
 * with what it printed (why it could not bind, say), rather than after `timeoutMs` of polling.
 */
async function spawnRedis(port: number, args: readonly string[], what: string, timeoutMs: number): Promise<{ readonly child: ChildProcess; readonly exited: Promise<unknown> }> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', ...args, '--save', '', '--appendonly', 'no', '--daemonize', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Its log (stdout without a logfile), the last few kB, read for as long as it runs so it never blocks on a full pipe.
  let printed = '';
  const keep = (chunk: Buffer): void => {
    printed = (printed + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const outcome = await Promise.race([answersPing(port), exited]);
    if (outcome === true) return { child, exited };
    if (typeof outcome === 'object') throw new Error(`${what} exited (${outcome.signal ?? `code ${outcome.code}`}) before answering PING:\n${printed}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${what} did not answer PING within ${timeoutMs} ms:\n${printed}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A cluster-enabled redis-server on loopback, not yet joined to any cluster. */
export interface RedisClusterNode {
  readonly port: number;
  /** Stops it (SIGKILL) and waits for the exit. */
  stop(): Promise<void>;
  /** SIGSTOP: it keeps its sockets open and answers nothing, like a hung host. */
  freeze(): void;
  /** SIGCONT after freeze(). */
  thaw(): void;
}

/**
 * Starts a cluster-enabled redis-server on `port` (a free one by default) keeping its node file in
 * `dir`, and waits until it answers PING.
 *
 * Its cluster bus gets a port of its own (`--cluster-port`, picked like the client port). Redis's
 * default, the client port + 10 000, falls in the ephemeral range for most ports freePort picks,
 * where any outgoing connection on the machine may hold it; redis-server then exits at start
 * ("did not answer PING" on CI). If it exits anyway, the error carries what it printed, at once.
 */
export async function startRedisClusterNode(dir: string, port?: number, extraArgs: readonly string[] = []): Promise<RedisClusterNode> {
  const clientPort = port ?? (await freePort());
  const busPort = await freePort();
  const args = ['--cluster-port', String(busPort), '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${clientPort}.conf`, '--dir', dir, ...extraArgs];
  const { child, exited } = await spawnRedis(clientPort, args, `redis-server (cluster node on ${clientPort}, bus ${busPort})`, 20_000);
  return {
    port: clientPort,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
    freeze: () => void child.kill('SIGSTOP'),
    thaw: () => void child.kill('SIGCONT'),
  };
}
