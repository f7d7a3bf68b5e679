/**
 * A cross-request cache for data that is safe to share between users' requests — promotion
 * metadata keyed by user and SKU selection, membership tiers — never carts or settlement
 * results, which must be read fresh for every request.
 *
 * L1 is a bounded lru-cache in this process; L2 is Redis, shared by every instance. Values are
 * fresh for `ttlSeconds`, then served stale for `staleSeconds` while one background refresh
 * runs. Redis sits behind a circuit breaker: an outage (refused, frozen, restarting) degrades
 * the cache to L1 and never fails or stalls a request.
 */
import { describeThrown } from '../errors.ts';
import type { RedisClient } from '../redis/client.ts';
import { LRUCache } from 'lru-cache';
import type { FloorplanMetrics } from '../observability/metrics.ts';
import { guardRedis, type RedisBreakerLogger, type RedisBreakerSettings, type RedisGuard } from '../redis/breaker.ts';
import { redisScript } from '../redis/script.ts';

// ---------------------------------------------------------------------------------------------
// The tiered cache
// ---------------------------------------------------------------------------------------------

/** Validates a value read back from Redis: returns it typed, or throws. A zod schema fits. */
export interface ValueSchema<V> {
  parse(value: unknown): V;
}

/**
 * Where one get's value came from: `hit` (fresh, L1 or L2), `stale` (served while a refresh
 * runs), `joined` (another caller's load in flight), `miss` (this get's own load).
 */
export type CacheOutcome = 'hit' | 'stale' | 'joined' | 'miss';

/** What a tiered cache reports; tests can pass a plain object. */
export type TieredCacheMetrics = Pick<FloorplanMetrics, 'cacheResult' | 'redisBreakerState'>;

export interface TieredCacheOptions<V> {
  /** Names the cache in metrics and logs, e.g. "promotion". */
  readonly name: string;
  /** How long a loaded value is fresh. 0 means never fresh: every get past the stale window loads. */
  readonly ttlSeconds: number;
  /**
   * After `ttlSeconds`, how long the value is still served, immediately, while one background
   * refresh runs. 0 means no stale serving: an expired value is a miss.
   * With both at 0 nothing is cached; concurrent gets of one key still share one load.
   */
  readonly staleSeconds: number;
  /**
   * Prepended to every Redis key, e.g. `${config.redis.keyPrefix}promotion:v1:`. Bump the
   * version segment when the value's shape changes, so old replicas and new ones do not read
   * each other's values (an old-shaped value that slips through is a miss, not a crash).
   */
  readonly keyPrefix: string;
  /** Entries kept in L1 (`cache.l1MaxEntries`); L1 is always bounded. */
  readonly l1MaxEntries: number;
  /** Checks values read back from Redis; one that fails is a miss. Values must be JSON-serialisable. */
  readonly schema: ValueSchema<V>;
  /**
   * L2, shared by every instance; absent means L1 alone. Must be opened with `openRedis`
   * (fail-fast). The cache never closes it: the caller owns the connection.
   */
  readonly redis?: RedisClient | undefined;
  /** The breaker in front of Redis (`cache.redisBreaker`). Ignored without `redis`. */
  readonly breaker: RedisBreakerSettings;
  /** Default: no metrics. */
  readonly metrics?: TieredCacheMetrics | undefined;
  /**
   * Where a failing background refresh is reported, once until one succeeds, and the Redis
   * breaker opening and closing. Default: neither is reported.
   */
  readonly logger?: RedisBreakerLogger | undefined;
}

interface Entry<V> {
  readonly value: V;
  /**
   * This process's Date.now() when the value was loaded. For a value read from Redis: now, less
   * the age Redis's own expiry gives it (see #decode), never the writer's clock.
   */
  readonly storedAtMs: number;
}

/** How a value is stored in Redis. */
interface L2Envelope {
  /**
   * The writer's Date.now() at load. Read by the previous release (rolling deploys) to judge the
   * value's age; this one judges it by Redis's clock instead, since replicas' clocks differ.
   */
  readonly storedAtMs: number;
  /**
   * The expiry (PX) the writer set, its ttl plus stale: the value's age is this less its PTTL,
   * even when replicas are configured differently (a rolling deploy that changes them). Absent
   * in values the previous release wrote; the reader takes its own ttl plus stale for it then.
   */
  readonly keepMs?: number;
  readonly value: unknown;
}

/**
 * GET and PTTL of one key, in one round trip and one atomic step (and on one key, so on Redis
 * Cluster too): the value and how long Redis will keep it, from which its age follows by
 * Redis's clock alone. Replies nil for a missing key.
 */
const READ_SCRIPT = `
local value = redis.call('GET', KEYS[1])
if not value then return false end
return {value, redis.call('PTTL', KEYS[1])}
`;
const readWithExpiry = redisScript(READ_SCRIPT);

/**
 * A load in progress. The object itself identifies the load, so a superseded one (after
 * delete) does not store its result. Its promise is let go of once it settles (see #fly).
 */
interface Flight<V> {
  promise: Promise<V> | undefined;
}

/**
 * Builds a cache key from parts (user id, sorted SKU ids…) so that different parts can never
 * produce the same key: `cacheKey('a:b', 'c')` and `cacheKey('a', 'b:c')` differ.
 */
export function cacheKey(...parts: readonly string[]): string {
  return parts.map((part) => encodeURIComponent(part)).join(':');
}

/**
 * Insertions after which the cache's own collections of work in progress (loads in flight, L2
 * writes) are replaced by copies of themselves, so that they never live long enough to reach the
 * old space: at ~85 KiB allocated per panel and a 64 MB young generation, a scavenge comes every
 * ~750 panels, each of which makes at most one load and one write.
 */
const RENEWED_AFTER_INSERTIONS = 256;

/**
 * An L1 (process) + L2 (Redis) cache with stale-while-revalidate and single-flight loads.
 * Create one per kind of data at start and share it across requests; it is only for data that
 * is safe to share. Treat returned values as immutable: L1 hands the same object to every caller.
 */
export class TieredCache<V> {
  readonly name: string;
  readonly #keyPrefix: string;
  readonly #freshMs: number;
  readonly #keepMs: number;
  readonly #schema: ValueSchema<V>;
  readonly #l1: LRUCache<string, Entry<V>>;
  readonly #guard: RedisGuard | undefined;
  readonly #metrics: TieredCacheMetrics | undefined;
  readonly #logger: RedisBreakerLogger | undefined;
  /** Loads in progress, one per key: concurrent misses and refreshes join it. Renewed (see {@link renewIfDue}). */
  #flights = new Map<string, Flight<V>>();
  /** Background refreshes and L2 writes, awaited by close(). Renewed (see {@link renewIfDue}). */
  #pending = new Set<Promise<unknown>>();
  /** Insertions into `#flights` and `#pending` since they were last renewed. */
  #inserted = 0;
  #refreshFailureReported = false;
  #closed = false;

  constructor(options: TieredCacheOptions<V>) {
    // Its options come from the service config, validated once at start (src/config): not re-checked here.
    this.name = options.name;
    this.#freshMs = options.ttlSeconds * 1000;
    this.#keepMs = (options.ttlSeconds + options.staleSeconds) * 1000;
    this.#keyPrefix = options.keyPrefix;
    this.#schema = options.schema;
    this.#l1 = new LRUCache<string, Entry<V>>({ max: options.l1MaxEntries });
    this.#metrics = options.metrics;
    this.#logger = options.logger;
    // A cache that keeps nothing (ttlSeconds and staleSeconds 0) could never use what Redis holds:
    // it would only add a round trip to every load.
    this.#guard =
      options.redis === undefined || this.#keepMs === 0
        ? undefined
        : guardRedis(options.redis, { name: this.name, breaker: options.breaker, metrics: options.metrics, logger: options.logger });
  }

  /**
   * The value for `key`: from L1 if fresh; from L1 if stale, starting one background refresh;
   * otherwise from L2, or from `load` — called once however many gets of this key are waiting.
   * A rejected load rejects every waiter and is not cached. Never rejects because of Redis.
   * Not async: a miss hands back the flight's own promise, which an async function would take
   * two more turns of the microtask queue to adopt.
   * @param noted told where the value comes from (a request's trace), before it arrives.
   */
  get(key: string, load: () => Promise<V>, noted?: (outcome: CacheOutcome) => void): Promise<V> {
    if (this.#closed) {
      noted?.('miss');
      return load();
    }
    const entry = this.#l1.get(key);
    if (entry !== undefined) {
      const ageMs = Date.now() - entry.storedAtMs;
      if (ageMs < this.#freshMs) {
        this.#metrics?.cacheResult(this.name, 'l1', 'hit');
        noted?.('hit');
        return Promise.resolve(entry.value);
      }
      if (ageMs < this.#keepMs) {
        this.#metrics?.cacheResult(this.name, 'l1', 'stale');
        noted?.('stale');
        this.#refreshInBackground(key, load);
        return Promise.resolve(entry.value);
      }
    }
    this.#metrics?.cacheResult(this.name, 'l1', 'miss');
    const running = this.#flights.get(key)?.promise;
    if (running !== undefined) {
      noted?.('joined');
      return running;
    }
    return this.#fly(key, load, 'miss', noted);
  }

  /** Forgets `key` in L1 and L2; a load already running for it will not store its result. */
  async delete(key: string): Promise<void> {
    this.#l1.delete(key);
    this.#flights.delete(key);
    await this.#guard?.attempt((redis) => redis.del(this.#keyPrefix + key));
  }

  /**
   * Waits for background refreshes and L2 writes, then empties L1. Afterwards get() calls
   * `load` every time. The Redis client is left open: it belongs to the caller.
   */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
    this.#flights.clear();
    this.#l1.clear();
    this.#guard?.close();
  }

  #refreshInBackground(key: string, load: () => Promise<V>): void {
    if (this.#flights.has(key)) return;
    const refresh = this.#fly(key, load, 'refresh').then(
      () => {
        this.#refreshFailureReported = false;
      },
      (error: unknown) => {
        // The stale value keeps being served until its window ends; say why, once.
        if (this.#refreshFailureReported) return;
        this.#refreshFailureReported = true;
        this.#logger?.warn({ cache: this.name, err: describeThrown(error) }, 'cache refresh failed; serving the stale value');
      },
    );
    this.#track(refresh);
  }

  /**
   * Starts the one load of `key`. A miss accepts a stale L2 value (and refreshes it behind);
   * a refresh wants a fresh one, else it loads.
   */
  #fly(key: string, load: () => Promise<V>, mode: 'miss' | 'refresh', noted?: (outcome: CacheOutcome) => void): Promise<V> {
    const flight: Flight<V> = { promise: undefined };
    const promise = this.#lookUpOrLoad(key, load, mode, flight, noted);
    flight.promise = promise;
    this.#flights.set(key, flight);
    this.#renewIfDue();
    const settle = (): void => {
      // Deleting the entry is not enough to let the answer die young. When loads are rare,
      // #flights can still outlive two scavenges before it is renewed (#renewIfDue), and a map
      // in the old space leaves each table it rehashes out of behind as old-space garbage that
      // still points at the flights it held. Until the next mark-compact, a scavenge treats
      // those pointers as live: the promise, its answer and the frames of every request that
      // awaited it were promoted, ~0.7 KB per panel, before this (BENCHMARKS.md, session 23).
      // An emptied flight leaves a stale table pointing at nothing.
      flight.promise = undefined;
      if (this.#flights.get(key) === flight) this.#flights.delete(key);
    };
    promise.then(settle, settle);
    return promise;
  }

  async #lookUpOrLoad(key: string, load: () => Promise<V>, mode: 'miss' | 'refresh', flight: Flight<V>, noted?: (outcome: CacheOutcome) => void): Promise<V> {
    // Without Redis there is nothing to wait for.
    const fromL2 = this.#guard === undefined ? undefined : await this.#readL2(key);
    if (fromL2 !== undefined) {
      const ageMs = Date.now() - fromL2.storedAtMs;
      if (ageMs < this.#freshMs) {
        this.#metrics?.cacheResult(this.name, 'l2', 'hit');
        noted?.('hit');
        this.#storeL1(key, fromL2);
        return fromL2.value;
      }
      this.#metrics?.cacheResult(this.name, 'l2', 'stale');
      if (mode === 'miss') {
        noted?.('stale');
        this.#storeL1(key, fromL2);
        // This flight ends with the stale value; the refresh behind it is a flight of its own.
        if (this.#flights.get(key) === flight) this.#flights.delete(key);
        this.#refreshInBackground(key, load);
        return fromL2.value;
      }
    }
    noted?.('miss');
    const value = await load();
    // delete() or close() while loading: the waiters still get the value, but it is not kept.
    if (this.#closed || this.#flights.get(key) !== flight || this.#keepMs === 0) return value;
    const entry: Entry<V> = { value, storedAtMs: Date.now() };
    this.#storeL1(key, entry);
    this.#writeL2(key, entry);
    return value;
  }

  /** The L2 entry for `key` if Redis answers with a well-formed, unexpired one. */
  async #readL2(key: string): Promise<Entry<V> | undefined> {
    if (this.#guard === undefined) return undefined;
    const read = await this.#guard.attempt((redis) => readWithExpiry(redis, [this.#keyPrefix + key]));
    if (!read.ok) {
      this.#metrics?.cacheResult(this.name, 'l2', 'error');
      return undefined;
    }
    const entry = this.#decode(read.value);
    if (entry === undefined) {
      this.#metrics?.cacheResult(this.name, 'l2', 'miss');
      return undefined;
    }
    return entry;
  }

  /**
   * The entry in READ_SCRIPT's reply, aged by Redis's clock: the writer's and this replica's
   * Date.now() may be minutes apart, and comparing them served values as fresh long after their
   * ttl (writer ahead) or dropped fresh ones as expired (writer behind). A value past this
   * cache's ttl plus stale, without an expiry, corrupt or old-shaped is treated as absent; the
   * next load overwrites it.
   */
  #decode(reply: unknown): Entry<V> | undefined {
    if (!Array.isArray(reply)) return undefined;
    const raw: unknown = reply[0];
    const pttlMs: unknown = reply[1];
    if (typeof raw !== 'string' || typeof pttlMs !== 'number' || pttlMs < 0) return undefined;
    try {
      const envelope = JSON.parse(raw) as Partial<L2Envelope> | null;
      if (typeof envelope !== 'object' || envelope === null || !('value' in envelope)) return undefined;
      const { storedAtMs, keepMs } = envelope;
      if (typeof storedAtMs !== 'number' || !Number.isFinite(storedAtMs)) return undefined;
      const writerKeepMs = typeof keepMs === 'number' && keepMs > 0 ? keepMs : this.#keepMs;
      const ageMs = Math.max(0, writerKeepMs - pttlMs);
      if (ageMs >= this.#keepMs) return undefined;
      return { value: this.#schema.parse(envelope.value), storedAtMs: Date.now() - ageMs };
    } catch {
      return undefined;
    }
  }

  #storeL1(key: string, entry: Entry<V>): void {
    const remainingMs = this.#keepMs - (Date.now() - entry.storedAtMs);
    if (remainingMs > 0) this.#l1.set(key, entry, { ttl: remainingMs });
  }

  #writeL2(key: string, entry: Entry<V>): void {
    if (this.#guard === undefined) return;
    const envelope: L2Envelope = { storedAtMs: entry.storedAtMs, keepMs: this.#keepMs, value: entry.value };
    const json = JSON.stringify(envelope);
    this.#track(this.#guard.attempt((redis) => redis.set(this.#keyPrefix + key, json, 'PX', this.#keepMs)));
  }

  /**
   * Replaces `#flights` and `#pending` by copies of themselves every {@link RENEWED_AFTER_INSERTIONS}
   * insertions. A Map or Set that outlives two scavenges moves to the old space, and from then on V8
   * allocates each table it rehashes into (growing, or shrinking as entries go) in the old space too.
   * The tables left behind are old-space garbage that still points at what they held, so a
   * scavenge keeps it alive until the next mark-compact: each load's key, and each L2 write's
   * promise with the ioredis command and the encoded value behind it, went to the old space
   * (BENCHMARKS.md, session 33). A copy made every few hundred insertions dies young, its tables
   * with it; making it costs only the entries still there.
   */
  #renewIfDue(): void {
    if (++this.#inserted < RENEWED_AFTER_INSERTIONS) return;
    this.#inserted = 0;
    this.#flights = new Map(this.#flights);
    this.#pending = new Set(this.#pending);
  }

  #track(work: Promise<unknown>): void {
    this.#pending.add(work);
    this.#renewIfDue();
    const done = (): void => {
      this.#pending.delete(work);
    };
    work.then(done, done);
  }
}
