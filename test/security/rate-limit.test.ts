import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RateLimitOutcome, RateLimitStore, RedisBreakerState } from '../../src/observability/metrics.ts';
import { closeRedis } from '../../src/redis/client.ts';
import { createRateLimiter, type RateLimiter, type RateLimiterOptions } from '../../src/security/rate-limit.ts';
import { connectReady, HAS_REDIS_SERVER, startPrivateRedis, type PrivateRedis } from '../support/redis-server.ts';

const BREAKER = { consecutiveFailures: 2, halfOpenAfterMs: 200 } as const;

function recordMetrics() {
  const decisions: Array<{ outcome: RateLimitOutcome; store: RateLimitStore }> = [];
  const states: RedisBreakerState[] = [];
  return {
    decisions,
    states,
    rateLimited(outcome: RateLimitOutcome, store: RateLimitStore) {
      decisions.push({ outcome, store });
    },
    redisBreakerState(_name: string, state: RedisBreakerState) {
      states.push(state);
    },
    stores(): Set<RateLimitStore> {
      return new Set(decisions.map((d) => d.store));
    },
  };
}

let prefixes = 0;
function limiterOptions(overrides: Partial<RateLimiterOptions> = {}): RateLimiterOptions {
  return { keyPrefix: `test:rate:${process.pid}:${++prefixes}:`, ratePerSecond: 1, burst: 3, l1MaxEntries: 100, breaker: BREAKER, ...overrides };
}

async function takeMany(limiter: RateLimiter, userId: string, n: number) {
  const decisions = [];
  for (let i = 0; i < n; i++) decisions.push(await limiter.take(userId));
  return decisions;
}

/** Polls until the user is allowed again; a bounded loop, not a timing assertion. */
async function untilAllowed(limiter: RateLimiter, userId: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await limiter.take(userId)).allowed) {
    if (Date.now() > deadline) throw new Error(`${userId} was not allowed again within ${timeoutMs} ms`);
    await sleep(20);
  }
}

describe('rate limiter in process (no Redis)', () => {
  it('allows a burst, then refuses with the time until the next token', async () => {
    const limiter = createRateLimiter(limiterOptions({ ratePerSecond: 2, burst: 3 }));
    const decisions = await takeMany(limiter, 'u1', 4);
    expect(decisions.slice(0, 3)).toEqual([
      { allowed: true, retryAfterMs: 0 },
      { allowed: true, retryAfterMs: 0 },
      { allowed: true, retryAfterMs: 0 },
    ]);
    expect(decisions[3]!.allowed).toBe(false);
    // One token at 2 per second takes at most 500 ms.
    expect(decisions[3]!.retryAfterMs).toBeGreaterThan(0);
    expect(decisions[3]!.retryAfterMs).toBeLessThanOrEqual(500);
  });

  it('refills the bucket over time', async () => {
    const limiter = createRateLimiter(limiterOptions({ ratePerSecond: 20, burst: 1 }));
    expect((await limiter.take('u1')).allowed).toBe(true);
    expect((await limiter.take('u1')).allowed).toBe(false);
    await untilAllowed(limiter, 'u1');
  });

  it('gives every user a bucket of their own', async () => {
    const limiter = createRateLimiter(limiterOptions({ burst: 1 }));
    expect((await limiter.take('u1')).allowed).toBe(true);
    expect((await limiter.take('u1')).allowed).toBe(false);
    expect((await limiter.take('u2')).allowed).toBe(true);
  });

  it('allows everything when ratePerSecond is 0', async () => {
    const limiter = createRateLimiter(limiterOptions({ ratePerSecond: 0, burst: 0 }));
    const decisions = await takeMany(limiter, 'u1', 50);
    expect(decisions.every((d) => d.allowed)).toBe(true);
  });

});

describe.skipIf(!HAS_REDIS_SERVER)('rate limiter on Redis', () => {
  let server: PrivateRedis;
  const clients: Redis[] = [];
  const limiters: RateLimiter[] = [];

  beforeAll(async () => {
    server = await startPrivateRedis();
  });
  afterEach(async () => {
    server.thaw();
    limiters.splice(0).forEach((l) => l.close());
    await Promise.all(clients.splice(0).map((c) => closeRedis(c)));
  });
  afterAll(async () => {
    await server?.stop();
  });

  const connect = (): Promise<Redis> => connectReady(server, clients);

  function track(limiter: RateLimiter): RateLimiter {
    limiters.push(limiter);
    return limiter;
  }

  it('shares one bucket per user between two instances', async () => {
    const options = limiterOptions({ ratePerSecond: 1, burst: 3 });
    const metrics = recordMetrics();
    const first = track(createRateLimiter({ ...options, redis: await connect(), metrics }));
    const second = track(createRateLimiter({ ...options, redis: await connect(), metrics }));
    expect((await takeMany(first, 'u1', 2)).every((d) => d.allowed)).toBe(true);
    expect((await second.take('u1')).allowed).toBe(true);
    const refused = await second.take('u1');
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterMs).toBeGreaterThan(0);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(1000);
    expect((await first.take('u1')).allowed).toBe(false);
    expect((await first.take('u2')).allowed).toBe(true);
    expect(metrics.stores()).toEqual(new Set(['redis']));
  });

  it('refills the shared bucket over time and lets its key expire once full', async () => {
    const options = limiterOptions({ ratePerSecond: 20, burst: 2 });
    const redis = await connect();
    const limiter = track(createRateLimiter({ ...options, redis }));
    await takeMany(limiter, 'u1', 3);
    expect((await limiter.take('u1')).allowed).toBe(false);
    await untilAllowed(limiter, 'u1');
    const pttl = await redis.pttl(`${options.keyPrefix}u1`);
    // Full again after burst / rate = 100 ms, so the key need not live longer.
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(100);
  });

  it('sends the takes that arrive together in one write to Redis, each decided on its own bucket', async () => {
    // Every request takes a token: one write per take cost ~40 µs of CPU per request at 100 users
    // (BENCHMARKS.md, session 34).
    const redis = await connect();
    const metrics = recordMetrics();
    const options = limiterOptions({ ratePerSecond: 1, burst: 3 });
    const limiter = track(createRateLimiter({ ...options, redis, metrics }));
    expect((await limiter.take('warm-up')).allowed).toBe(true);
    const writes = vi.spyOn(redis.stream, 'write');
    // Five users, four takes each, interleaved as concurrent requests arrive.
    const decisions = await Promise.all(Array.from({ length: 20 }, (_, i) => limiter.take(`u${i % 5}`)));
    expect(writes).toHaveBeenCalledTimes(1);
    for (let user = 0; user < 5; user++) {
      expect(decisions.filter((_, i) => i % 5 === user).map((d) => d.allowed), `u${user}'s takes`).toEqual([true, true, true, false]);
    }
    expect(metrics.stores()).toEqual(new Set(['redis']));
    // The buckets are Redis': a second instance finds them empty.
    const other = track(createRateLimiter({ ...options, redis: await connect() }));
    expect((await other.take('u0')).allowed).toBe(false);
  });

  it('splits a burst of takes into calls of at most 128, so no one script holds Redis long', async () => {
    const redis = await connect();
    const metrics = recordMetrics();
    const limiter = track(createRateLimiter({ ...limiterOptions({ ratePerSecond: 1, burst: 3 }), redis, metrics }));
    expect((await limiter.take('warm-up')).allowed).toBe(true);
    const calls = vi.spyOn(redis, 'evalsha');
    // 100 users, four takes each: 400 takes, in calls of 128, 128, 128 and 16.
    const decisions = await Promise.all(Array.from({ length: 400 }, (_, i) => limiter.take(`u${i % 100}`)));
    expect(calls.mock.calls.map((call) => call[1])).toEqual([128, 128, 128, 16]);
    for (let user = 0; user < 100; user++) {
      expect(decisions.filter((_, i) => i % 100 === user).map((d) => d.allowed), `u${user}'s takes`).toEqual([true, true, true, false]);
    }
    expect(metrics.stores()).toEqual(new Set(['redis']));
  });

  it('loads its script again after Redis forgets it (NOSCRIPT), for every take waiting on it', async () => {
    const redis = await connect();
    const metrics = recordMetrics();
    const limiter = track(createRateLimiter({ ...limiterOptions({ ratePerSecond: 1, burst: 3 }), redis, metrics }));
    expect((await limiter.take('u1')).allowed).toBe(true);
    await redis.script('FLUSH');
    const evalCalls = vi.spyOn(redis, 'eval');
    // Taken together after the flush: each bucket is still Redis', and each take counts once.
    const decisions = await Promise.all([limiter.take('u1'), limiter.take('u2'), limiter.take('u1'), limiter.take('u1')]);
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false]);
    expect(evalCalls).toHaveBeenCalledTimes(1);
    expect((await limiter.take('u2')).allowed).toBe(true);
    expect(evalCalls).toHaveBeenCalledTimes(1);
    expect(metrics.stores()).toEqual(new Set(['redis']));
  });

  it('limits with a local bucket while Redis is stopped, without contacting Redis once the breaker is open', async () => {
    const redis = await connect();
    const metrics = recordMetrics();
    const limiter = track(createRateLimiter({ ...limiterOptions({ ratePerSecond: 1, burst: 3 }), redis, metrics }));
    try {
      await server.stop();
      await until(() => redis.status !== 'ready');
      const decisions = await takeMany(limiter, 'u1', 4);
      expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false]);
      expect(decisions[3]!.retryAfterMs).toBeGreaterThan(0);
      expect(metrics.decisions.every((d) => d.store === 'local')).toBe(true);
      expect(metrics.states.at(-1)).toBe('open');

      const sent = vi.spyOn(redis, 'sendCommand');
      expect((await limiter.take('u2')).allowed).toBe(true);
      expect(sent).not.toHaveBeenCalled();
    } finally {
      await server.start();
    }
    // Back to the shared bucket once Redis answers and the breaker's probe succeeds.
    const deadline = Date.now() + 8000;
    while (metrics.decisions.at(-1)?.store !== 'redis') {
      if (Date.now() > deadline) throw new Error('the limiter did not return to Redis');
      await sleep(50);
      await limiter.take(`u-probe-${Date.now()}`);
    }
    expect(metrics.states.at(-1)).toBe('closed');
  });

  it('decides within a second while Redis is frozen', async () => {
    const redis = await connect();
    const limiter = track(createRateLimiter({ ...limiterOptions(), redis }));
    server.freeze();
    try {
      for (let i = 0; i < 4; i++) {
        const started = Date.now();
        expect((await limiter.take('u1')).allowed).toBe(i < 3);
        expect(Date.now() - started).toBeLessThan(1000);
      }
    } finally {
      server.thaw();
    }
  });
});

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(25);
  }
}
