/**
 * Apollo's `KeyValueCache<string>` on Redis with an L1 fallback, for Automatic Persisted
 * Queries: every instance can answer a hash another instance registered, and with Redis down
 * each instance keeps answering the hashes it registered or has seen itself.
 */
import type { KeyValueCache, KeyValueCacheSetOptions } from '@apollo/utils.keyvaluecache';
import type { RedisClient } from '../redis/client.ts';
import { LRUCache } from 'lru-cache';
import type { FloorplanMetrics } from '../observability/metrics.ts';
import { guardRedis, type RedisBreakerLogger, type RedisBreakerSettings, type RedisGuard } from '../redis/breaker.ts';

/** What the store reports; tests can pass a plain object. */
export type RedisKeyValueCacheMetrics = Pick<FloorplanMetrics, 'cacheResult' | 'redisBreakerState'>;

export interface RedisKeyValueCacheOptions {
  /** Names the store in metrics. Default: "apq". */
  readonly name?: string | undefined;
  /**
   * Prepended to every Redis key, e.g. `config.redis.keyPrefix`. Apollo adds its own "apq:"
   * in front of the query hash.
   */
  readonly keyPrefix: string;
  /** Shared by every instance; absent means L1 alone. Must be opened with `openRedis`; never closed here. */
  readonly redis?: RedisClient | undefined;
  /** The breaker in front of Redis (`cache.redisBreaker`). Ignored without `redis`. */
  readonly breaker: RedisBreakerSettings;
  /** Entries kept in L1 (`cache.l1MaxEntries`). */
  readonly l1MaxEntries: number;
  /**
   * Bytes of values (UTF-16 code units, as string length) kept in L1; a query is at most the
   * HTTP body limit, so entries alone would not bound memory. Default: 30 MiB, Apollo's own.
   */
  readonly l1MaxBytes?: number | undefined;
  /**
   * Expiry for a `set` without a `ttl` option. Default: one day, so queries registered by
   * anyone cannot fill Redis for good; `null` keeps such entries until deleted or evicted.
   */
  readonly defaultTtlSeconds?: number | null | undefined;
  /** Default: no metrics. */
  readonly metrics?: RedisKeyValueCacheMetrics | undefined;
  /** Where the Redis breaker says it opened and closed. Default: nowhere. */
  readonly logger?: RedisBreakerLogger | undefined;
}

/** One day: also how long Apollo is told to keep a registered persisted query (src/graphql/apollo.ts), whatever store holds it. */
export const DEFAULT_TTL_SECONDS = 24 * 60 * 60;
const DEFAULT_L1_MAX_BYTES = 30 * 1024 * 1024;

/**
 * An Apollo `KeyValueCache<string>`: RedisClient (L2) behind a circuit breaker, with a bounded
 * in-process L1 in front. `get` reads L1 first — right for APQ, whose value for a hash never
 * changes. No method ever rejects because of Redis.
 */
export class RedisKeyValueCache implements KeyValueCache<string> {
  readonly name: string;
  readonly #keyPrefix: string;
  readonly #defaultTtlSeconds: number | null;
  readonly #l1: LRUCache<string, string>;
  readonly #guard: RedisGuard | undefined;
  readonly #metrics: RedisKeyValueCacheMetrics | undefined;

  constructor(options: RedisKeyValueCacheOptions) {
    // Its options come from the service config, validated once at start (src/config): not re-checked here.
    this.name = options.name ?? 'apq';
    this.#keyPrefix = options.keyPrefix;
    this.#defaultTtlSeconds = options.defaultTtlSeconds === undefined ? DEFAULT_TTL_SECONDS : options.defaultTtlSeconds;
    this.#l1 = new LRUCache<string, string>({
      max: options.l1MaxEntries,
      maxSize: options.l1MaxBytes ?? DEFAULT_L1_MAX_BYTES,
      sizeCalculation: (value) => Math.max(1, value.length),
    });
    this.#metrics = options.metrics;
    this.#guard =
      options.redis === undefined ? undefined : guardRedis(options.redis, { name: this.name, breaker: options.breaker, metrics: options.metrics, logger: options.logger });
  }

  async get(key: string): Promise<string | undefined> {
    const local = this.#l1.get(key);
    if (local !== undefined) {
      this.#metrics?.cacheResult(this.name, 'l1', 'hit');
      return local;
    }
    this.#metrics?.cacheResult(this.name, 'l1', 'miss');
    if (this.#guard === undefined) return undefined;
    const redisKey = this.#keyPrefix + key;
    const read = await this.#guard.attempt(async (redis) => {
      const value = await redis.get(redisKey);
      // The remaining expiry, so L1 does not outlive L2's copy.
      return value === null ? null : { value, pttl: await redis.pttl(redisKey) };
    });
    if (!read.ok) {
      this.#metrics?.cacheResult(this.name, 'l2', 'error');
      return undefined;
    }
    if (read.value === null || read.value.pttl === -2) {
      this.#metrics?.cacheResult(this.name, 'l2', 'miss');
      return undefined;
    }
    this.#metrics?.cacheResult(this.name, 'l2', 'hit');
    const { value, pttl } = read.value;
    this.#l1.set(key, value, { ttl: pttl > 0 ? pttl : 0 });
    return value;
  }

  /**
   * Stores in L1 and, through the breaker, in Redis. `ttl` is in seconds; `null` or 0 means no
   * expiry (as Apollo's InMemoryLRUCache reads it); absent means `defaultTtlSeconds`.
   */
  async set(key: string, value: string, options?: KeyValueCacheSetOptions): Promise<void> {
    const ttlSeconds = options?.ttl === undefined ? this.#defaultTtlSeconds : options.ttl;
    const ttlMs = ttlSeconds === null || !(ttlSeconds > 0) ? 0 : Math.ceil(ttlSeconds * 1000);
    this.#l1.set(key, value, { ttl: ttlMs });
    const redisKey = this.#keyPrefix + key;
    await this.#guard?.attempt((redis) => (ttlMs > 0 ? redis.set(redisKey, value, 'PX', ttlMs) : redis.set(redisKey, value)));
  }

  /** Removes the key from L1 and Redis; true if either held it (false too when Redis could not be asked). */
  async delete(key: string): Promise<boolean> {
    const local = this.#l1.delete(key);
    const remote = await this.#guard?.attempt((redis) => redis.del(this.#keyPrefix + key));
    return local || (remote?.ok === true && remote.value > 0);
  }

  /** Stops breaker reporting and empties L1. The Redis client belongs to the caller. */
  close(): void {
    this.#guard?.close();
    this.#l1.clear();
  }
}
