/**
 * One way to open Redis — a single server, a primary found through Redis Sentinel, or a Redis
 * Cluster — with settings that bound every outage (measured here: with ioredis' defaults a GET
 * against a refusing Redis waited 74 s, against a frozen one until it thawed).
 * Callers treat any rejection as "Redis is not there right now" — a cache miss, an L1-only
 * rate limit, a missed publish — never as a failed request.
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../observability/logger.ts';
import { describeThrown, withoutPasswords } from '../errors.ts';

/**
 * What every Redis user holds: one connection (to a server, or to the primary Sentinel names)
 * or a cluster client. Both take the same commands; keys one command or script uses together
 * must share a `{hash tag}` to run on a cluster.
 */
export type RedisClient = Redis | Cluster;

/** Where Redis is: the service config's `redis` section has this shape, so it can be passed as is. */
export interface RedisLocation {
  /** redis://host:port/db of one server; with `sentinels`, only its database number and password are used. Empty: none. */
  readonly url: string;
  /** Sentinels ("host:port") to ask for the primary of `sentinelName`. Default: none. */
  readonly sentinels?: readonly string[];
  /** The name the Sentinels monitor the primary under. Required with `sentinels`. */
  readonly sentinelName?: string;
  /** Seed nodes ("host:port") of a Redis Cluster. Default: none, not a cluster. */
  readonly clusterNodes?: readonly string[];
}

export interface RedisSettings extends RedisLocation {
  readonly commandTimeoutMs: number;
  readonly connectTimeoutMs: number;
  /** Shown in logs, e.g. "cache" or "layouts-subscriber". */
  readonly name: string;
  /**
   * A pub/sub connection: ioredis' automatic re-subscription after a reconnect is turned off
   * (without an offline queue it can reject with nobody listening, an unhandled rejection);
   * the owner subscribes again on every 'ready'.
   */
  readonly subscriber?: boolean;
}

/** Whether `location` names any Redis at all (a url, Sentinels or cluster nodes). */
export function isRedisConfigured(location: RedisLocation): boolean {
  return location.url !== '' || (location.sentinels?.length ?? 0) > 0 || (location.clusterNodes?.length ?? 0) > 0;
}

/**
 * Where `location` points, for logs and messages: never its password, whether in the URL's user
 * information or a `?password=` (which the config refuses, but ioredis would take), masked as every
 * URL is (withoutPasswords).
 */
export function describeRedis(location: RedisLocation): string {
  if ((location.clusterNodes?.length ?? 0) > 0) return `cluster ${location.clusterNodes!.join(',')}`;
  if ((location.sentinels?.length ?? 0) > 0) return `primary "${location.sentinelName ?? ''}" of sentinels ${location.sentinels!.join(',')}`;
  return withoutPasswords(location.url);
}

/** How often a Redis Cluster client asks for the slot map again (see openRedis). */
const CLUSTER_SLOTS_REFRESH_MS = 2000;

/**
 * Opens a client that fails fast: no offline queue (a command while disconnected rejects at
 * once), one retry per command, a command timeout, reconnects backing off to 1 s. Errors are
 * logged once per disconnect, not once per retry.
 *
 * With Sentinels it connects to the primary they name and, on a failover, to the new one:
 * ioredis asks the Sentinels again on every reconnect, and `failoverDetector` makes it
 * reconnect as soon as a Sentinel announces `+switch-master` rather than when the old
 * primary's socket finally errors.
 *
 * On a Redis Cluster it follows MOVED and CLUSTERDOWN replies, and asks for the slot map every
 * {@link CLUSTER_SLOTS_REFRESH_MS}, so a shard whose primary hangs is found on its promoted
 * replica within seconds of the failover even by a client that only uses that shard.
 */
export function openRedis(settings: RedisSettings, logger: Logger): RedisClient {
  const common: RedisOptions = {
    maxRetriesPerRequest: 1,
    commandTimeout: settings.commandTimeoutMs,
    connectTimeout: settings.connectTimeoutMs,
    connectionName: `floorplan-${settings.name}`,
    autoResubscribe: settings.subscriber !== true,
  };
  const retry = (attempt: number) => Math.min(attempt * 100, 1000);
  let redis: RedisClient;
  if ((settings.clusterNodes?.length ?? 0) > 0) {
    redis = new Cluster(settings.clusterNodes!.map(parseHostPort), {
      enableOfflineQueue: false,
      clusterRetryStrategy: retry,
      // A moved slot or a failing-over shard: try again quickly, within the command timeout.
      retryDelayOnFailover: 50,
      retryDelayOnClusterDown: 50,
      slotsRefreshTimeout: settings.connectTimeoutMs,
      // Learn the slot map again every 2 s. A primary that hangs (its sockets open, nothing
      // answering) sends no MOVED or CLUSTERDOWN, only timeouts: a client using only its shard's
      // keys (the layouts key, the publisher's) kept asking it after its replica took over, until
      // it came back. ioredis sets no interval by default.
      slotsRefreshInterval: CLUSTER_SLOTS_REFRESH_MS,
      redisOptions: { ...common, ...credentialsOf(settings.url) },
    });
  } else if ((settings.sentinels?.length ?? 0) > 0) {
    redis = new Redis({
      ...common,
      ...credentialsOf(settings.url),
      sentinels: settings.sentinels!.map(parseHostPort),
      name: settings.sentinelName ?? '',
      enableOfflineQueue: false,
      retryStrategy: retry,
      sentinelRetryStrategy: retry,
      sentinelCommandTimeout: settings.connectTimeoutMs,
      failoverDetector: true,
    });
  } else {
    redis = new Redis(settings.url, { ...common, lazyConnect: false, enableOfflineQueue: false, retryStrategy: retry });
  }
  if (redis instanceof Redis) keepConnecting(redis, settings.name, logger);
  let reported = false;
  redis.on('error', (error: Error) => {
    const database = refusedDatabase(error);
    // ioredis reports a SELECT its handshake sent and the server refused (a database past the
    // server's `databases`, 16 by default) as an 'error', then readies the connection all the
    // same: in database 0, among another deployment's keys, logged as "redis is back" (its
    // reconnectOnError is not asked about handshake commands). Cut before its ready check: the
    // connection reconnects by retryStrategy and is ready only once the server takes the database.
    if (database !== undefined && redis instanceof Redis) redis.disconnect(true);
    if (reported) return;
    reported = true;
    logger.warn(
      database === undefined
        ? { redis: settings.name, err: describeThrown(error) }
        : { redis: settings.name, database, err: `the server refused database ${database} (redis.url): ${error.message}` },
      'redis unavailable; carrying on without it until it is back',
    );
  });
  redis.on('ready', () => {
    if (reported) logger.info({ redis: settings.name }, 'redis is back');
    reported = false;
  });
  return redis;
}

/** Clients closeRedis is closing: their 'end' is meant. */
const closing = new WeakSet<RedisClient>();

/**
 * Connects again when ioredis ends a connection nobody closed. ioredis 6 does that behind
 * Sentinel when `+switch-master` arrives while it is still asking a Sentinel for the primary
 * (its failover detector cancels the connect; the client then stays "end", every command
 * failing with "Connection is closed": ioredis#1683). Measured here: one replica in two of the
 * production topology, on a loaded machine, lost its cache and rate limit for good after a
 * failover. Every other 'end' comes from closeRedis.
 */
function keepConnecting(redis: Redis, name: string, logger: Logger): void {
  redis.on('end', () => {
    if (closing.has(redis)) return;
    logger.warn({ redis: name }, 'redis client ended without being closed (a failover raced its reconnect); connecting again');
    setTimeout(() => {
      if (!closing.has(redis) && redis.status === 'end') redis.connect().catch(() => {});
    }, RECONNECT_AFTER_END_MS).unref();
  });
}
const RECONNECT_AFTER_END_MS = 100;

/** Closes a connection without waiting on a Redis that may be gone. */
export async function closeRedis(redis: RedisClient): Promise<void> {
  closing.add(redis);
  try {
    await Promise.race([redis.quit(), new Promise((resolve) => setTimeout(resolve, 200).unref())]);
  } catch {
    // Already closed or unreachable: nothing left to release but the socket.
  }
  redis.disconnect();
}

/** The database of a SELECT the server refused, as `error` reports it; undefined for any other error. */
function refusedDatabase(error: Error): number | undefined {
  const command = (error as Error & { command?: { name?: string; args?: unknown[] } }).command;
  return command?.name === 'select' ? Number(command.args?.[0]) : undefined;
}

/** "host:port" (validated by the service config) → ioredis' { host, port }. */
function parseHostPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port: Number(address.slice(colon + 1)) };
}

/**
 * The database number, user and password of a redis:// URL, for Sentinel and Cluster modes: its
 * path and user information. The config refuses query parameters, which ioredis reads only from a
 * URL it is handed (single-server mode), so a password is used alike in every mode.
 */
function credentialsOf(url: string): Pick<RedisOptions, 'db' | 'username' | 'password'> {
  if (url === '') return {};
  const parsed = new URL(url);
  const db = Number(parsed.pathname.slice(1));
  return {
    ...(Number.isInteger(db) && db > 0 ? { db } : {}),
    ...(parsed.username !== '' ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password !== '' ? { password: decodeURIComponent(parsed.password) } : {}),
  };
}

/**
 * Resolves once `redis` is ready (undefined), or with the error of its first failed attempt, or
 * with a timeout error after `timeoutMs` — whichever comes first. Never rejects.
 */
export function whenRedisReady(redis: RedisClient, timeoutMs: number): Promise<Error | undefined> {
  if (redis.status === 'ready') return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const finish = (error: Error | undefined) => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('error', onError);
      resolve(error);
    };
    const onReady = () => finish(undefined);
    const onError = (error: Error) => finish(error);
    const timer = setTimeout(() => finish(new Error(`not ready within ${timeoutMs} ms`)), timeoutMs);
    redis.once('ready', onReady);
    redis.once('error', onError);
  });
}
