/**
 * Per-user token bucket. With Redis, one bucket per user shared by every instance, updated by
 * one atomic Lua script on Redis' clock; without it — or while it is unavailable — a bucket in
 * this process, so a Redis outage loosens the limit to one bucket per instance but never fails
 * or stalls a request.
 */
import { createHash } from 'node:crypto';
import type { RedisClient } from '../redis/client.ts';
import { LRUCache } from 'lru-cache';
import type { FloorplanMetrics } from '../observability/metrics.ts';
import { guardRedis, type RedisBreakerSettings, type RedisGuard } from '../redis/breaker.ts';

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
 * KEYS[1] bucket; ARGV: rate (tokens/s), burst, expiry (ms). Returns {allowed 0|1, retryAfterMs}.
 * Redis' own clock (TIME) keeps instances with skewed clocks on one timeline.
 */
const TAKE_SCRIPT = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
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
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {allowed, retry}
`;
const TAKE_SHA = createHash('sha1').update(TAKE_SCRIPT).digest('hex');

const ALLOWED: RateLimitDecision = Object.freeze({ allowed: true, retryAfterMs: 0 });

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
    options.redis === undefined ? undefined : guardRedis(options.redis, { name, breaker: options.breaker, metrics });

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

  async function takeShared(redis: RedisClient, key: string): Promise<unknown> {
    const args = [1, key, ratePerSecond, burst, refillMs] as const;
    try {
      return await redis.evalsha(TAKE_SHA, ...args);
    } catch (error) {
      // Redis restarted or flushed its script cache: send the script itself once.
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return await redis.eval(TAKE_SCRIPT, ...args);
    }
  }

  function takeInProcess(userId: string): RateLimitDecision {
    const decision = takeLocal(userId);
    metrics?.rateLimited(decision.allowed ? 'allowed' : 'limited', 'local');
    return decision;
  }

  async function takeFromRedis(redisGuard: RedisGuard, userId: string): Promise<RateLimitDecision> {
    const result = await redisGuard.attempt((redis) => takeShared(redis, keyPrefix + userId));
    const decision = result.ok ? toDecision(result.value) : undefined;
    if (decision === undefined) return takeInProcess(userId);
    metrics?.rateLimited(decision.allowed ? 'allowed' : 'limited', 'redis');
    return decision;
  }

  return {
    take: (userId) => (guard === undefined ? takeInProcess(userId) : takeFromRedis(guard, userId)),
    close() {
      guard?.close();
    },
  };
}

/** The script's reply, or undefined for anything else (then the local bucket decides). */
function toDecision(reply: unknown): RateLimitDecision | undefined {
  if (!Array.isArray(reply) || reply.length !== 2) return undefined;
  const [allowed, retryAfterMs] = reply as unknown[];
  if (allowed === 1) return ALLOWED;
  if (allowed === 0 && typeof retryAfterMs === 'number') return { allowed: false, retryAfterMs: Math.max(1, retryAfterMs) };
  return undefined;
}

