/**
 * One way to open Redis, with settings that bound every outage (measured here: with ioredis'
 * defaults a GET against a refusing Redis waited 74 s, against a frozen one until it thawed).
 * Callers treat any rejection as "Redis is not there right now" — a cache miss, an L1-only
 * rate limit, a missed publish — never as a failed request.
 */
import { Redis } from 'ioredis';
import type { Logger } from '../observability/logger.ts';

export interface RedisSettings {
  /** redis://host:port/db */
  readonly url: string;
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

/**
 * Opens a connection that fails fast: no offline queue (a command while disconnected
 * rejects at once), one retry per command, a command timeout, reconnects backing off to 1 s.
 * Errors are logged once per disconnect, not once per retry.
 */
export function openRedis(settings: RedisSettings, logger: Logger): Redis {
  const redis = new Redis(settings.url, {
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: settings.commandTimeoutMs,
    connectTimeout: settings.connectTimeoutMs,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
    connectionName: `floorplan-${settings.name}`,
    autoResubscribe: settings.subscriber !== true,
  });
  let reported = false;
  redis.on('error', (error: Error) => {
    if (reported) return;
    reported = true;
    logger.warn({ redis: settings.name, err: error.message }, 'redis unavailable; carrying on without it until it is back');
  });
  redis.on('ready', () => {
    if (reported) logger.info({ redis: settings.name }, 'redis is back');
    reported = false;
  });
  return redis;
}

/** Closes a connection without waiting on a Redis that may be gone. */
export async function closeRedis(redis: Redis): Promise<void> {
  try {
    await Promise.race([redis.quit(), new Promise((resolve) => setTimeout(resolve, 200).unref())]);
  } catch {
    // Already closed or unreachable: nothing left to release but the socket.
  }
  redis.disconnect();
}
