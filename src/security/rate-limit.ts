/**
 * Per-user token bucket. With Redis, one bucket per user shared by every instance, updated by
 * one atomic Lua script on Redis' clock; without it — or while it is unavailable — a bucket in
 * this process, so a Redis outage loosens the limit to one bucket per instance but never fails
 * or stalls a request.
 *
 * Every request takes a token, so with Redis every request makes a Redis call. The takes that
 * arrive in one turn of the event loop go as one call of the script, one socket write for all of them,
 * where one write per take cost ~40 µs of CPU per request at 100 users (BENCHMARKS.md, session 34).
 * ioredis' own auto-pipelining (and a pipeline per turn) saved the writes too, but at that load
 * promoted kilobytes per request to the old space; one multi-key call per turn does not.
 */
import { Cluster } from 'ioredis';
import type { RedisClient } from '../redis/client.ts';
import { redisScript } from '../redis/script.ts';
import { LRUCache } from 'lru-cache';
import type { FloorplanMetrics } from '../observability/metrics.ts';
import { guardRedis, type RedisBreakerLogger, type RedisBreakerSettings, type RedisGuard } from '../redis/breaker.ts';

/** What the limiter reports; tests can pass a plain object. */
export type RateLimiterMetrics = Pick<FloorplanMetrics, 'rateLimited' | 'redisBreakerState'>;

export interface RateLimiterOptions {
  /** Shares buckets across instances; absent means each instance limits on its own. Must be opened with `openRedis`. */
  readonly redis?: RedisClient | undefined;
  /** Prepended to the user id in Redis keys, e.g. `${config.redis.keyPrefix}rate:`. */
  readonly keyPrefix: string;
  /** Sustained requests per second per user (`limits.rateLimitPerSecond`); may be fractional. 0 means no limit. */
  readonly ratePerSecond: number;
  /** Requests a user may make at once after being idle (`limits.rateLimitBurst`); at least 1 unless ratePerSecond is 0. */
  readonly burst: number;
  /** Users whose local bucket is kept (`cache.l1MaxEntries`); a user evicted starts again with a full bucket. */
  readonly l1MaxEntries: number;
  /** The breaker in front of Redis (`cache.redisBreaker`). Ignored without `redis`. */
  readonly breaker: RedisBreakerSettings;
  /** Names the breaker in metrics. Default: "rate-limit". */
  readonly name?: string | undefined;
  /** Default: no metrics. */
  readonly metrics?: RateLimiterMetrics | undefined;
  /** Where the Redis breaker says it opened and closed. Default: nowhere. */
  readonly logger?: RedisBreakerLogger | undefined;
}

export interface RateLimitDecision {
  readonly allowed: boolean;
  /** When refused: how long until the user has a token again (for a Retry-After header). 0 when allowed. */
  readonly retryAfterMs: number;
}

export interface RateLimiter {
  /**
   * Takes one token from the user's bucket. Never throws or rejects. A decision made in this
   * process (no limit, or no Redis) comes back as it is, without a promise to wait on; only a
   * decision Redis makes is a promise.
   */
  take(userId: string): RateLimitDecision | Promise<RateLimitDecision>;
  /** Stops breaker reporting. The Redis client belongs to the caller. */
  close(): void;
}

/**
 * KEYS: one bucket per take, in order (a key may repeat: each take sees the one before it);
 * ARGV: rate (tokens/s), burst, expiry (ms). Returns {allowed 0|1, retryAfterMs} for each key,
 * flattened into one array. Redis' own clock (TIME) keeps instances with skewed clocks on one
 * timeline.
 */
const TAKE_SCRIPT = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local replies = {}
for i, key in ipairs(KEYS) do
  local state = redis.call('HMGET', key, 'tokens', 'at')
  local tokens = tonumber(state[1])
  local at = tonumber(state[2])
  if tokens == nil or at == nil then
    tokens = burst
    at = now
  end
  tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
  local allowed = 0
  local retry = 0
  if tokens >= 1 then
    tokens = tokens - 1
    allowed = 1
  else
    retry = math.ceil((1 - tokens) * 1000 / rate)
  end
  redis.call('HSET', key, 'tokens', tostring(tokens), 'at', tostring(now))
  redis.call('PEXPIRE', key, ARGV[3])
  replies[2 * i - 1] = allowed
  replies[2 * i] = retry
end
return replies
`;
const take = redisScript(TAKE_SCRIPT);

const ALLOWED: RateLimitDecision = Object.freeze({ allowed: true, retryAfterMs: 0 });

/**
 * The most takes one call of the script makes. A script holds Redis for as long as it runs (~1 µs
 * a take here); a burst of thousands arriving at once goes as several calls, not one long one.
 */
const MAX_TAKES_PER_CALL = 128;

/** Takes sent to Redis together, in one call of the script. */
interface TakeBatch {
  /** The buckets' keys, in the order their takes joined. */
  readonly keys: string[];
  /** The script's reply (two numbers per key), or undefined when Redis did not decide the batch (breaker open, an error, a timeout). */
  readonly reply: Promise<unknown>;
}

interface LocalBucket {
  tokens: number;
  atMs: number;
}

/** Creates a limiter; one per process, shared by every request. */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  // Its options come from the service config, validated once at start (src/config): not re-checked here.
  const { ratePerSecond, burst, keyPrefix, metrics } = options;
  if (ratePerSecond === 0) return { take: () => ALLOWED, close() {} };
  const name = options.name ?? 'rate-limit';
  // An idle bucket is full again after this long, so its Redis key (or local entry) can go.
  const refillMs = Math.max(1, Math.ceil((burst * 1000) / ratePerSecond));
  const local = new LRUCache<string, LocalBucket>({ max: options.l1MaxEntries, ttl: refillMs });
  const guard: RedisGuard | undefined =
    options.redis === undefined ? undefined : guardRedis(options.redis, { name, breaker: options.breaker, metrics, logger: options.logger });

  function takeLocal(userId: string): RateLimitDecision {
    const now = Date.now();
    const bucket = local.get(userId) ?? { tokens: burst, atMs: now };
    bucket.tokens = Math.min(burst, bucket.tokens + (Math.max(0, now - bucket.atMs) * ratePerSecond) / 1000);
    bucket.atMs = now;
    let decision = ALLOWED;
    if (bucket.tokens >= 1) bucket.tokens -= 1;
    else decision = { allowed: false, retryAfterMs: Math.ceil(((1 - bucket.tokens) * 1000) / ratePerSecond) };
    local.set(userId, bucket);
    return decision;
  }

  function takeInProcess(userId: string): RateLimitDecision {
    const decision = takeLocal(userId);
    metrics?.rateLimited(decision.allowed ? 'allowed' : 'limited', 'local');
    return decision;
  }

  // A cluster spreads the buckets over shards, and one script may only touch keys of one slot:
  // there each take is a call of its own.
  const takesPerCall = options.redis instanceof Cluster ? 1 : MAX_TAKES_PER_CALL;
  let gathering: TakeBatch | undefined;

  function takeFromRedis(redisGuard: RedisGuard, userId: string): Promise<RateLimitDecision> {
    const batch = gathering !== undefined && gathering.keys.length < takesPerCall ? gathering : startBatch(redisGuard);
    const index = batch.keys.push(keyPrefix + userId) - 1;
    return batch.reply.then((reply) => {
      const decision = toDecision(reply, index);
      if (decision === undefined) return takeInProcess(userId);
      metrics?.rateLimited(decision.allowed ? 'allowed' : 'limited', 'redis');
      return decision;
    });
  }

  /**
   * Opens the batch the takes of this turn of the event loop join. It leaves once the turn's I/O
   * callbacks have run (setImmediate), so the requests that arrived together share one call.
   */
  function startBatch(redisGuard: RedisGuard): TakeBatch {
    const keys: string[] = [];
    const batch: TakeBatch = {
      keys,
      reply: new Promise((resolve) => {
        setImmediate(() => {
          if (gathering === batch) gathering = undefined;
          resolve(redisGuard.attempt((redis) => take(redis, keys, ratePerSecond, burst, refillMs)).then((attempt) => (attempt.ok ? attempt.value : undefined)));
        });
      }),
    };
    gathering = batch;
    return batch;
  }

  return {
    take: (userId) => (guard === undefined ? takeInProcess(userId) : takeFromRedis(guard, userId)),
    close() {
      guard?.close();
    },
  };
}

/** The decision for the take at `index` in the script's reply, or undefined for anything else (then the local bucket decides). */
function toDecision(reply: unknown, index: number): RateLimitDecision | undefined {
  if (!Array.isArray(reply)) return undefined;
  const allowed: unknown = reply[2 * index];
  const retryAfterMs: unknown = reply[2 * index + 1];
  if (allowed === 1) return ALLOWED;
  if (allowed === 0 && typeof retryAfterMs === 'number') return { allowed: false, retryAfterMs: Math.max(1, retryAfterMs) };
  return undefined;
}
