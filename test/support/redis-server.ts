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

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`redis-server did not listen on ${port} within ${timeoutMs} ms`);
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  let frozen = false;

  async function start(): Promise<void> {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], {
      stdio: 'ignore',
    });
    await waitForPort(port, 5000);
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
