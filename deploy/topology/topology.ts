/**
 * Floorplan's production topology on one machine, every part a real process on loopback:
 *
 *   client ─▶ HAProxy (health checks on /readyz) ─▶ 3 × `npm run start:prod`'s `node [flags] dist/server/main.js` (FLOORPLAN_ENV=production)
 *                                                     │  caches, APQ, rate limits, layout push
 *                                                     ├─▶ Redis primary + replica, found through 3 Sentinels
 *                                                     ├─▶ PostgreSQL (layout revisions, a database of the topology's own)
 *                                                     ├─▶ Unleash 7.5.1 on PostgreSQL (flags)
 *                                                     └─▶ the demo upstreams (cart, promotion, settlement, loyalty)
 *
 * `npm run topology -- up|down|status` (deploy/topology/cli.ts) runs it for people; the
 * topology suites (test/topology) start it, load it through HAProxy and break its parts.
 * Every child is killed when the process that started it exits.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdirSync, readFileSync, writeFileSync, type WriteStream } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:http';
import { Redis } from 'ioredis';
import pg from 'pg';
import { exportJWK, exportPKCS8, generateKeyPair, importPKCS8, SignJWT } from 'jose';
import { startUnleash, type UnleashHandle } from '../unleash/local-server.ts';
import { UPSTREAMS } from '../../src/upstreams/registry.ts';
import { buildDist as buildFloorplan, productionCommand } from '../build-dist.ts';
import { createMemoryCgroup, deploymentMemoryLimit, HAS_MEMORY_CGROUP, kubernetesBytes, type MemoryCgroup } from '../memory-cgroup.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The name the Sentinels monitor the primary under (REDIS_SENTINEL_NAME of every replica). */
export const SENTINEL_NAME = 'floorplan';
/** The issuer and audience production.yaml inherits from default.yaml (JWT_ISSUER, JWT_AUDIENCE). */
const TOKEN_ISSUER = 'floorplan-demo';
const TOKEN_AUDIENCE = 'floorplan';
export const TOPOLOGY_ADMIN_TOKEN = 'floorplan-topology-admin-token';
/** How often replicas poll Unleash (UNLEASH_REFRESH_MS). */
export const UNLEASH_REFRESH_MS = 1000;
/**
 * Sentinel declares the primary down after this long without an answer, then fails over.
 * Production Sentinels usually wait 5–30 s; a second keeps the failover test short.
 */
export const SENTINEL_DOWN_AFTER_MS = 1000;
/** HAProxy checks /readyz this often and marks a replica down after this many failures. */
export const CHECK_INTERVAL_MS = 500;
export const CHECK_FALL = 2;
export const CHECK_RISE = 2;

export interface TopologyPorts {
  readonly haproxy: number;
  readonly haproxyStats: number;
  /** The identity provider's JWKS endpoint (served by the process that starts the topology). */
  readonly jwks: number;
  readonly replicas: readonly number[];
  readonly demo: number;
  readonly redis: readonly [primary: number, replica: number];
  readonly sentinels: readonly number[];
  readonly unleash: number;
}

/** Consecutive ports from `base`: HAProxy on `base`, its stats page next, then replicas, demo upstreams, Redis, Sentinels, Unleash. */
export function portsFrom(base: number, replicas = 3): TopologyPorts {
  let next = base;
  const take = () => next++;
  return {
    haproxy: take(),
    haproxyStats: take(),
    jwks: take(),
    replicas: Array.from({ length: replicas }, take),
    demo: take(),
    redis: [take(), take()],
    sentinels: [take(), take(), take()],
    unleash: take(),
  };
}

export interface TopologyOptions {
  readonly ports: TopologyPorts;
  /** Where config files, logs and Redis' working files go (created). */
  readonly dir: string;
  /** Floorplan's /readyz-503 drain before closing (SHUTDOWN_DRAIN_MS); default production.yaml's. */
  readonly drainMs?: number;
  /**
   * Each request's budget (REQUEST_DEADLINE_MS); default 2000: the whole topology shares two
   * cores with other work here, and a panel that is late because of that is not what the
   * topology tests are about (the tests of the deadline itself use 250 ms).
   */
  readonly requestDeadlineMs?: number;
  /** LOG_LEVEL of the replicas; default warn. */
  readonly logLevel?: string;
  /**
   * Each replica's memory limit, as a Kubernetes quantity: it starts in a memory cgroup of that
   * size, as in its pod (Node sizes its heap from it). Default: the base Deployment's
   * `limits.memory` where memory cgroups can be made (root, the memory controller), otherwise
   * none; `false`: none.
   */
  readonly memoryLimit?: string | false;
  /** Progress lines. */
  readonly log?: (line: string) => void;
}

/** A child process the topology owns, with its output in `<dir>/logs/<name>.log`. */
export interface OwnedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Resolves with how it ended. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly running: boolean;
}

export interface FloorplanReplica {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  readonly process: OwnedProcess | undefined;
  /** Starts start:prod's `node [flags] dist/server/main.js` and resolves once /readyz answers 200. */
  start(): Promise<void>;
  /**
   * SIGTERM (the pre-stop drain runs: /readyz 503 first, then in-flight requests finish) and
   * resolves once it has exited, with how long that took.
   */
  stop(): Promise<{ exitCode: number | null; stopMs: number }>;
}

export interface RedisWithSentinel {
  readonly ports: TopologyPorts['redis'];
  /** "127.0.0.1:<port>" of each Sentinel (REDIS_SENTINELS). */
  readonly sentinels: readonly string[];
  /** The port the Sentinels name as primary right now (asks the first Sentinel that answers). */
  primaryPort(): Promise<number>;
  /** SIGKILLs whichever data node is primary now; returns its port. */
  killPrimary(): Promise<number>;
  /** Starts a data node that was killed again (Sentinel makes it a replica of the current primary). */
  restart(port: number): Promise<void>;
  /** SIGSTOPs a Sentinel: it keeps its sockets but answers nothing, like a host cut off. */
  freezeSentinel(port: number): void;
  /** SIGCONT after freezeSentinel. */
  thawSentinel(port: number): void;
  /** A plain client of the current primary (for tests' checks). Close it. */
  connectPrimary(): Promise<Redis>;
}

export interface Topology {
  readonly ports: TopologyPorts;
  /** http://127.0.0.1:<haproxy>: what clients use. */
  readonly url: string;
  /** HAProxy's stats page as CSV (`;csv`). */
  readonly statsUrl: string;
  readonly replicas: readonly FloorplanReplica[];
  readonly redis: RedisWithSentinel;
  readonly unleash: UnleashHandle;
  /** The environment every replica starts with (for tools such as floors:publish). */
  readonly replicaEnv: Readonly<Record<string, string>>;
  /** The replicas' layout revision store (LAYOUT_STORE_URL): a PostgreSQL database of this topology's own. */
  readonly layoutStoreUrl: string;
  /** Each replica's memory limit (a memory cgroup of its own), or undefined when they run without one. */
  readonly memoryLimit: string | undefined;
  /**
   * Publishes a floors set as an operator does in production: POST /admin/layouts/publish through
   * HAProxy with the admin token. Resolves with the new revision's number.
   */
  publishLayouts(files: Readonly<Record<string, string>>, message: string): Promise<number>;
  /** A bearer token for `userId` (RS256, signed by the topology's identity provider). */
  token(userId: string, segments?: readonly string[]): Promise<string>;
  /** HAProxy's view of each replica: "UP", "DOWN", "MAINT", "UP 1/2" ... */
  haproxyStates(): Promise<Record<string, string>>;
  /** Stops everything, replicas first (drained), then HAProxy, Unleash, Redis. */
  stop(): Promise<void>;
}

const owned = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers are synchronous: SIGKILL is all that can be sent from here.
  process.once('exit', () => {
    for (const child of owned) child.kill('SIGKILL');
  });
}

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

function startProcess(dir: string, name: string, command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): OwnedProcess {
  installExitHook();
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const logFile: WriteStream = createWriteStream(join(dir, 'logs', `${name}.log`), { flags: 'a' });
  const child = spawn(command, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(logFile, { end: false });
  child.stderr?.pipe(logFile, { end: false });
  owned.add(child);
  let running = true;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => {
    child.once('exit', (code, signal) => {
      running = false;
      owned.delete(child);
      done({ code, signal });
    });
    child.once('error', (error) => {
      logFile.write(`failed to start ${command}: ${error.message}\n`);
      running = false;
      owned.delete(child);
      done({ code: null, signal: null });
    });
  });
  void exited.then(() => setTimeout(() => logFile.end(), 100));
  return {
    name,
    child,
    exited,
    get running() {
      return running;
    },
  };
}

async function stopProcess(proc: OwnedProcess | undefined, signal: NodeJS.Signals = 'SIGTERM', killAfterMs = 15_000): Promise<void> {
  if (proc === undefined || !proc.running) return;
  proc.child.kill(signal);
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), killAfterMs);
  await proc.exited;
  clearTimeout(timer);
}

async function waitForPort(port: number, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((done) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        done(true);
      });
      socket.once('error', () => done(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`${what} must listen on 127.0.0.1:${port} within ${timeoutMs} ms, but did not`);
}

async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await sleep(100);
  }
  throw new Error(`${what} within ${timeoutMs} ms, but it did not`);
}

/** `npm run build`: the replicas run the compiled `dist/`, as production does. */
export function buildDist(log: (line: string) => void = () => {}): void {
  log('building dist/ (npm run build)');
  buildFloorplan(REPO_ROOT);
}

// ---------------------------------------------------------------------------------------------
// Redis with Sentinel

/**
 * A primary, its replica and three Sentinels (quorum 2) on loopback, each logging to
 * `<dir>/logs/`. Used by the topology, and by tests of Floorplan's Redis client on its own.
 */
export async function startRedisWithSentinel(
  dir: string,
  ports: Pick<TopologyPorts, 'redis' | 'sentinels'>,
  log: (line: string) => void = () => {},
  /** The data nodes' `requirepass` (the Sentinels then authenticate with it); empty: none. The Sentinels themselves take no password. */
  password = '',
): Promise<{ redis: RedisWithSentinel; stop(): Promise<void> }> {
  const [primary, replica] = ports.redis;
  const data = new Map<number, OwnedProcess>();
  const sentinels = new Map<number, OwnedProcess>();
  const redisDir = join(dir, 'redis');
  mkdirSync(redisDir, { recursive: true });

  async function startDataNode(port: number, replicaOf: number | undefined): Promise<void> {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', redisDir, '--daemonize', 'no'];
    if (password !== '') args.push('--requirepass', password, '--masterauth', password);
    if (replicaOf !== undefined) args.push('--replicaof', '127.0.0.1', String(replicaOf));
    data.set(port, startProcess(dir, `redis-${port}`, 'redis-server', args));
    await waitForPort(port, 10_000, `redis-server ${port}`);
  }

  log(`redis primary 127.0.0.1:${primary}, replica 127.0.0.1:${replica}`);
  await startDataNode(primary, undefined);
  await startDataNode(replica, primary);
  for (const port of ports.sentinels) {
    // Sentinel rewrites its config file (it records the replicas and other Sentinels it finds): one file each.
    const file = join(redisDir, `sentinel-${port}.conf`);
    writeFileSync(
      file,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        'daemonize no',
        `dir ${redisDir}`,
        `sentinel monitor ${SENTINEL_NAME} 127.0.0.1 ${primary} 2`,
        `sentinel down-after-milliseconds ${SENTINEL_NAME} ${SENTINEL_DOWN_AFTER_MS}`,
        `sentinel failover-timeout ${SENTINEL_NAME} 10000`,
        `sentinel parallel-syncs ${SENTINEL_NAME} 1`,
        ...(password === '' ? [] : [`sentinel auth-pass ${SENTINEL_NAME} ${password}`]),
        '',
      ].join('\n'),
    );
    sentinels.set(port, startProcess(dir, `sentinel-${port}`, 'redis-sentinel', [file]));
    await waitForPort(port, 10_000, `redis-sentinel ${port}`);
  }
  log(`sentinels 127.0.0.1:${ports.sentinels.join(', ')} monitoring "${SENTINEL_NAME}"`);
  // The replica is in sync and every Sentinel knows it, so a failover has somewhere to go.
  await waitFor(`the replica ${replica} must be in sync and known to every Sentinel`, 30_000, async () => {
    for (const port of ports.sentinels) {
      const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      try {
        await client.connect();
        const replicas = (await client.call('SENTINEL', 'REPLICAS', SENTINEL_NAME)) as string[][];
        const known = replicas.some((fields) => fields[fields.indexOf('port') + 1] === String(replica) && !fields[fields.indexOf('flags') + 1]?.includes('down'));
        if (!known) return false;
      } finally {
        client.disconnect();
      }
    }
    return true;
  });

  async function primaryPort(): Promise<number> {
    for (const port of ports.sentinels) {
      const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, commandTimeout: 1000 });
      // A Sentinel that does not answer (frozen by a test) fails the handshake: ask the next one.
      client.on('error', () => {});
      try {
        await client.connect();
        const address = (await client.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SENTINEL_NAME)) as [string, string] | null;
        if (address !== null) return Number(address[1]);
      } catch {
        // This Sentinel is not answering; ask the next.
      } finally {
        client.disconnect();
      }
    }
    throw new Error(`no Sentinel of ${ports.sentinels.join(', ')} names a primary for ${SENTINEL_NAME}`);
  }

  const redis: RedisWithSentinel = {
    ports: ports.redis,
    sentinels: ports.sentinels.map((p) => `127.0.0.1:${p}`),
    primaryPort,
    async killPrimary() {
      const port = await primaryPort();
      await stopProcess(data.get(port), 'SIGKILL');
      return port;
    },
    async restart(port) {
      if (data.get(port)?.running === true) return;
      // Started as a replica of the current primary; Sentinel would reconfigure it anyway.
      await startDataNode(port, await primaryPort());
    },
    freezeSentinel(port) {
      sentinels.get(port)?.child.kill('SIGSTOP');
    },
    thawSentinel(port) {
      sentinels.get(port)?.child.kill('SIGCONT');
    },
    async connectPrimary() {
      const client = new Redis({ port: await primaryPort(), host: '127.0.0.1', maxRetriesPerRequest: 1, commandTimeout: 2000, ...(password === '' ? {} : { password }) });
      await once(client, 'ready');
      return client;
    },
  };
  return {
    redis,
    async stop() {
      for (const port of ports.sentinels) sentinels.get(port)?.child.kill('SIGCONT');
      await Promise.all([...sentinels.values()].map((s) => stopProcess(s)));
      await Promise.all([...data.values()].map((d) => stopProcess(d)));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The identity provider: a JWKS endpoint and the key that signs the topology's tokens

/** Signs a topology token with the key in `<dir>/signing-key.pem` (for `npm run topology -- token`). */
export async function signTopologyToken(dir: string, userId: string, segments: readonly string[] = []): Promise<string> {
  const key = await importPKCS8(readFileSync(join(dir, SIGNING_KEY_FILE), 'utf8'), 'RS256');
  return signToken(key, userId, segments);
}

const SIGNING_KEY_FILE = 'signing-key.pem';
const KEY_ID = 'topology-1';

function signToken(key: Parameters<SignJWT['sign']>[0], userId: string, segments: readonly string[]): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(segments.length > 0 ? { segments: [...segments] } : {})
    .setProtectedHeader({ alg: 'RS256', kid: KEY_ID })
    .setSubject(userId)
    .setIssuer(TOKEN_ISSUER)
    .setAudience(TOKEN_AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(now + 86_400)
    .sign(key);
}

async function startIdentityProvider(dir: string, port: number): Promise<{ jwksUrl: string; token: Topology['token']; close(): Promise<void> }> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  writeFileSync(join(dir, SIGNING_KEY_FILE), await exportPKCS8(privateKey), { mode: 0o600 });
  const kid = KEY_ID;
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' }] });
  const server = createServer((req, res) => {
    if (req.url === '/.well-known/jwks.json') res.writeHead(200, { 'content-type': 'application/json' }).end(jwks);
    else res.writeHead(404).end();
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return {
    jwksUrl: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    token: (userId, segments = []) => signToken(privateKey, userId, segments),
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// HAProxy

function haproxyConfig(ports: TopologyPorts): string {
  const servers = ports.replicas.map((port, i) => `  server floorplan-${i + 1} 127.0.0.1:${port} check`);
  return `# Written by deploy/topology/topology.ts for the local production topology.
global
  maxconn 4096

defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 10s
  timeout http-keep-alive 10s
  # A health check may take this long: on a busy machine /readyz can be slow to answer, and a
  # check timing out at the default (the check interval) marks a healthy replica down.
  timeout check 2s
  # A connection refused or reset before any answer (a replica that has just stopped) is tried
  # again on another replica: the drain makes this rare, this makes it harmless.
  retries 3
  option redispatch 1
  retry-on conn-failure empty-response

frontend floorplan
  bind 127.0.0.1:${ports.haproxy}
  default_backend floorplan

backend floorplan
  balance roundrobin
  # /readyz answers 503 while a replica starts or drains (server.drainMs): then it gets nothing new.
  option httpchk GET /readyz
  http-check expect status 200
  default-server inter ${CHECK_INTERVAL_MS}ms fastinter ${CHECK_INTERVAL_MS}ms downinter ${CHECK_INTERVAL_MS * 2}ms fall ${CHECK_FALL} rise ${CHECK_RISE}
  # Which replica answered, so load tests can count answers per replica.
  http-response set-header X-Floorplan-Replica %s
${servers.join('\n')}

listen stats
  bind 127.0.0.1:${ports.haproxyStats}
  stats enable
  stats uri /stats
  stats refresh 1s
`;
}

// ---------------------------------------------------------------------------------------------
// The whole topology

/**
 * Starts every part and resolves once HAProxy routes to three ready replicas. Needs `dist/`
 * built ({@link buildDist}), the Debian packages (deploy/topology/prerequisites.ts) and
 * PostgreSQL on 127.0.0.1:5432. On failure, stops what it started and rethrows.
 */
export async function startTopology(options: TopologyOptions): Promise<Topology> {
  const { ports, dir } = options;
  const log = options.log ?? (() => {});
  mkdirSync(dir, { recursive: true });
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch((error: unknown) => log(`stop failed: ${(error as Error).message}`));
  };

  try {
    const identity = await startIdentityProvider(dir, ports.jwks);
    stops.push(() => identity.close());
    const sentinel = await startRedisWithSentinel(dir, ports, log);
    stops.push(() => sentinel.stop());
    const layoutStore = await createLayoutStoreDatabase(ports.haproxy);
    stops.push(() => layoutStore.drop());
    log(`layout revisions in ${layoutStore.url}`);

    log('starting unleash-server 7.5.1 on PostgreSQL 127.0.0.1:5432 (installs into .e2e/unleash on first use)');
    // A fresh database runs ≈374 migrations: minutes on a machine busy with the rest of the topology.
    const unleash = await startUnleash({ port: ports.unleash, healthTimeoutMs: 240_000 });
    stops.push(() => unleash.dispose());
    await unleash.admin.importFeatures(JSON.parse(readFileSync(join(REPO_ROOT, 'config', 'flags.json'), 'utf8')) as unknown);
    log(`unleash ${unleash.url} with config/flags.json imported`);

    const demo = startProcess(dir, 'demo-upstreams', process.execPath, [join(REPO_ROOT, 'dist', 'src', 'demo-upstreams', 'main.js')], {
      ...process.env,
      DEMO_PORT: String(ports.demo),
    });
    stops.push(() => stopProcess(demo));
    await waitForPort(ports.demo, 20_000, 'the demo upstreams');

    const replicaEnv: Record<string, string> = {
      FLOORPLAN_ENV: 'production',
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      ...Object.fromEntries(UPSTREAMS.map((name) => [`UPSTREAM_${name.toUpperCase()}_URL`, `http://127.0.0.1:${ports.demo}/${name}`])),
      // production.yaml's auth: RS256 keys from a JWKS endpoint, here the topology's own.
      JWT_JWKS_URL: identity.jwksUrl,
      REDIS_SENTINELS: sentinel.redis.sentinels.join(','),
      REDIS_SENTINEL_NAME: SENTINEL_NAME,
      UNLEASH_URL: unleash.apiUrl,
      UNLEASH_TOKEN: unleash.backendToken,
      UNLEASH_REFRESH_MS: String(UNLEASH_REFRESH_MS),
      ADMIN_TOKEN: TOPOLOGY_ADMIN_TOKEN,
      // As production.yaml asks: revisions in PostgreSQL every replica shares, pushed through Redis.
      LAYOUT_STORE: 'postgres',
      LAYOUT_STORE_URL: layoutStore.url,
      REQUEST_DEADLINE_MS: String(options.requestDeadlineMs ?? 2000),
      LOG_LEVEL: options.logLevel ?? 'warn',
      ...(options.drainMs === undefined ? {} : { SHUTDOWN_DRAIN_MS: String(options.drainMs) }),
    };
    const { NODE_ENV: _test, VITEST: _vitest, ...inherited } = process.env;
    const memoryLimit = options.memoryLimit === false ? undefined : (options.memoryLimit ?? (HAS_MEMORY_CGROUP ? deploymentMemoryLimit(REPO_ROOT) : undefined));
    log(memoryLimit === undefined ? 'replicas run without a memory limit (a memory cgroup needs root and the memory controller)' : `replicas run under limits.memory ${memoryLimit}, a memory cgroup each`);
    const cgroups = ports.replicas.map(() => (memoryLimit === undefined ? undefined : createMemoryCgroup(kubernetesBytes(memoryLimit))));
    stops.push(async () => {
      for (const cgroup of cgroups) await cgroup?.remove();
    });
    const replicas = ports.replicas.map((port, i) => createReplica(dir, `floorplan-${i + 1}`, port, { ...inherited, ...replicaEnv, PORT: String(port) }, cgroups[i]));
    stops.push(async () => {
      await Promise.all(replicas.map((r) => r.stop()));
    });
    await Promise.all(replicas.map((r) => r.start()));
    log(`replicas ${replicas.map((r) => r.url).join(', ')} ready`);

    const config = join(dir, 'haproxy.cfg');
    writeFileSync(config, haproxyConfig(ports));
    const check = spawnSync('haproxy', ['-c', '-q', '-f', config], { encoding: 'utf8' });
    if (check.status !== 0) throw new Error(`haproxy -c refused ${config}:\n${check.stdout}${check.stderr}`);
    const haproxy = startProcess(dir, 'haproxy', 'haproxy', ['-db', '-f', config]);
    stops.push(() => stopProcess(haproxy));
    const statsUrl = `http://127.0.0.1:${ports.haproxyStats}/stats;csv`;
    const haproxyStates = async (): Promise<Record<string, string>> => {
      const csv = await (await fetch(statsUrl, { signal: AbortSignal.timeout(2000) })).text();
      const [header, ...rows] = csv.split('\n');
      const columns = (header ?? '').replace(/^# /, '').split(',');
      const [px, sv, status] = ['pxname', 'svname', 'status'].map((c) => columns.indexOf(c)) as [number, number, number];
      const states: Record<string, string> = {};
      for (const row of rows) {
        const cells = row.split(',');
        if (cells[px] === 'floorplan' && cells[sv]?.startsWith('floorplan-')) states[cells[sv]] = cells[status] ?? '';
      }
      return states;
    };
    let lastSeen = 'no answer from its stats page';
    try {
      await waitFor('HAProxy must see every replica UP', 20_000, async () => {
        const states = await haproxyStates().catch((error: unknown) => {
          lastSeen = `its stats page failed: ${error instanceof Error ? error.message : String(error)}`;
          throw error;
        });
        lastSeen = `replica states ${JSON.stringify(states)}`;
        return replicas.every((r) => states[r.name] === 'UP');
      });
    } catch (error) {
      // Say why, for the run that cannot be repeated: what HAProxy last showed, whether it still runs, its own words.
      let logTail = '';
      try {
        logTail = readFileSync(join(dir, 'logs', 'haproxy.log'), 'utf8').split('\n').slice(-20).join('\n');
      } catch {
        logTail = '(no log)';
      }
      throw new Error(`${(error as Error).message}: ${lastSeen}; haproxy ${haproxy.running ? 'still running' : 'exited'}; its log ends:\n${logTail}`);
    }
    log(`haproxy http://127.0.0.1:${ports.haproxy} (stats http://127.0.0.1:${ports.haproxyStats}/stats)`);

    return {
      ports,
      url: `http://127.0.0.1:${ports.haproxy}`,
      statsUrl,
      replicas,
      redis: sentinel.redis,
      unleash,
      replicaEnv,
      layoutStoreUrl: layoutStore.url,
      memoryLimit,
      async publishLayouts(files, message) {
        const res = await fetch(`http://127.0.0.1:${ports.haproxy}/admin/layouts/publish`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${TOPOLOGY_ADMIN_TOKEN}` },
          body: JSON.stringify({ files, message }),
          signal: AbortSignal.timeout(10_000),
        });
        const body = (await res.json()) as { revision?: { revision?: number } };
        const revision = body.revision?.revision;
        if (!res.ok || typeof revision !== 'number') throw new Error(`publishing through ${res.url} answered ${res.status}: ${JSON.stringify(body)}`);
        return revision;
      },
      token: identity.token,
      haproxyStates,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** The maintenance database of the machine's PostgreSQL, where the topology's own databases are created. */
const POSTGRES_ADMIN_URL = process.env.TOPOLOGY_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * A fresh database for the replicas' layout revisions, named after the topology's HAProxy port
 * (one topology per port): dropped first if a topology that was killed left it, and on stop.
 */
async function createLayoutStoreDatabase(port: number): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `floorplan_topology_layouts_${port}`;
  const admin = async (statement: string) => {
    const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

function createReplica(dir: string, name: string, port: number, env: NodeJS.ProcessEnv, cgroup?: MemoryCgroup): FloorplanReplica {
  const { nodeFlags, entry } = productionCommand(REPO_ROOT);
  const args = [...nodeFlags, join(REPO_ROOT, entry)];
  const [command, commandArgs] = cgroup === undefined ? [process.execPath, args] : cgroup.wrap(process.execPath, args);
  let proc: OwnedProcess | undefined;
  const url = `http://127.0.0.1:${port}`;
  return {
    name,
    port,
    url,
    get process() {
      return proc;
    },
    async start() {
      if (proc?.running === true) return;
      const started = startProcess(dir, name, command, commandArgs, env);
      proc = started;
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && started.running) {
        const ready = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false);
        if (ready) return;
        await sleep(100);
      }
      await stopProcess(started, 'SIGKILL');
      throw new Error(`${name} did not become ready on ${url}; see ${resolve(dir, 'logs', `${name}.log`)}`);
    },
    async stop() {
      const running = proc;
      if (running === undefined || !running.running) return { exitCode: null, stopMs: 0 };
      const startedAt = performance.now();
      running.child.kill('SIGTERM');
      const timer = setTimeout(() => running.child.kill('SIGKILL'), 30_000);
      const { code } = await running.exited;
      clearTimeout(timer);
      return { exitCode: code, stopMs: Math.round(performance.now() - startedAt) };
    },
  };
}
