import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { cacheKey, TieredCache, type CacheOutcome, type TieredCacheOptions } from '../../src/cache/tiered-cache.ts';
import { closeRedis } from '../../src/redis/client.ts';
import { connectReady, HAS_REDIS_SERVER, startPrivateRedis, type PrivateRedis } from '../support/redis-server.ts';
import { recordMetrics } from '../support/cache-metrics.ts';
import { until } from '../support/until.ts';

const promotionSchema = z.object({ userId: z.string(), discountMinor: z.number().int() });
type Promotion = z.output<typeof promotionSchema>;

const BREAKER = { consecutiveFailures: 3, halfOpenAfterMs: 200 } as const;

/** A load function that records its calls and answers with the next value it is given. */
function recordLoads(make: (call: number) => Promotion | Promise<Promotion>) {
  let calls = 0;
  const load = vi.fn(async () => make(++calls));
  return load;
}

function promotion(userId: string, discountMinor: number): Promotion {
  return { userId, discountMinor };
}

let prefixes = 0;
function cacheOptions(overrides: Partial<TieredCacheOptions<Promotion>> = {}): TieredCacheOptions<Promotion> {
  return {
    name: 'promotion',
    ttlSeconds: 60,
    staleSeconds: 60,
    keyPrefix: `test:tiered:${process.pid}:${++prefixes}:`,
    l1MaxEntries: 100,
    schema: promotionSchema,
    breaker: BREAKER,
    ...overrides,
  };
}

/**
 * Runs `work` as on a replica whose clock is `skewMs` off the real one (ahead when positive):
 * Date.now() is shifted for its duration, and only for it. Redis's clock is left alone.
 */
async function withClockSkew<T>(skewMs: number, work: () => Promise<T>): Promise<T> {
  const realNow = Date.now;
  const skewed = vi.spyOn(Date, 'now').mockImplementation(() => realNow.call(Date) + skewMs);
  try {
    return await work();
  } finally {
    skewed.mockRestore();
  }
}

/** A `noted` callback for get() that keeps the outcomes it is told. */
function recordOutcomes() {
  const outcomes: CacheOutcome[] = [];
  return { outcomes, noted: (outcome: CacheOutcome) => void outcomes.push(outcome) };
}

const HOUR_MS = 60 * 60 * 1000;

/** The cache's reads (its script) and writes the client sent (whatever their outcome); Redis' own handshake is not counted. */
function cacheCommands(spy: { mock: { calls: unknown[][] } }): number {
  return spy.mock.calls.filter(([command]) => ['evalsha', 'eval', 'set'].includes(String((command as { name: string }).name).toLowerCase())).length;
}

describe('TieredCache in process (L1 only)', () => {
  it('returns a fresh L1 value without calling load again', async () => {
    const cache = new TieredCache(cacheOptions());
    const load = recordLoads((n) => promotion('u1', n));
    expect(await cache.get('u1', load)).toEqual(promotion('u1', 1));
    expect(await cache.get('u1', load)).toEqual(promotion('u1', 1));
    expect(load).toHaveBeenCalledTimes(1);
    await cache.close();
  });

  it('serves a stale value at once and refreshes it once in the background', async () => {
    const metrics = recordMetrics();
    const cache = new TieredCache(cacheOptions({ ttlSeconds: 0.2, staleSeconds: 60, metrics }));
    let release!: () => void;
    const refreshGate = new Promise<void>((resolve) => (release = resolve));
    const load = recordLoads(async (n) => {
      if (n > 1) await refreshGate;
      return promotion('u1', n);
    });
    await cache.get('u1', load);
    await sleep(250);

    const served = await Promise.all(Array.from({ length: 5 }, () => cache.get('u1', load)));
    expect(served).toEqual(Array.from({ length: 5 }, () => promotion('u1', 1)));
    expect(metrics.count('l1', 'stale')).toBe(5);
    expect(load).toHaveBeenCalledTimes(2);

    release();
    await until(async () => (await cache.get('u1', load)).discountMinor === 2, 'the refreshed value is served');
    expect(load).toHaveBeenCalledTimes(2);
    await cache.close();
  });

  it('makes one call to load for ten concurrent gets of one key', async () => {
    const cache = new TieredCache(cacheOptions());
    const load = recordLoads(async (n) => {
      await sleep(20);
      return promotion('u1', n);
    });
    const values = await Promise.all(Array.from({ length: 10 }, () => cache.get('u1', load)));
    expect(load).toHaveBeenCalledTimes(1);
    expect(new Set(values.map((v) => v.discountMinor))).toEqual(new Set([1]));
    await cache.close();
  });

  it('passes a rejected load to every waiter and does not cache the failure', async () => {
    const cache = new TieredCache(cacheOptions());
    const failing = vi.fn(async () => {
      await sleep(10);
      throw new Error('promotion timed out');
    });
    const outcomes = await Promise.allSettled(Array.from({ length: 3 }, () => cache.get('u1', failing)));
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(failing).toHaveBeenCalledTimes(1);

    const load = recordLoads((n) => promotion('u1', n));
    expect(await cache.get('u1', load)).toEqual(promotion('u1', 1));
    expect(load).toHaveBeenCalledTimes(1);
    await cache.close();
  });

  it('keeps the stale value when its background refresh fails, and tries again on the next get', async () => {
    const cache = new TieredCache(cacheOptions({ ttlSeconds: 0.05, staleSeconds: 60 }));
    await cache.get('u1', async () => promotion('u1', 1));
    await sleep(80);
    const failing = vi.fn(async () => {
      throw new Error('promotion is down');
    });
    expect(await cache.get('u1', failing)).toEqual(promotion('u1', 1));
    await until(() => failing.mock.settledResults.length === 1, 'the refresh has failed');
    expect(await cache.get('u1', failing)).toEqual(promotion('u1', 1));
    expect(failing).toHaveBeenCalledTimes(2);
    await cache.close();
  });

  it('keeps different users apart: keys built from parts never collide', async () => {
    expect(cacheKey('u1:sku', '9')).not.toBe(cacheKey('u1', 'sku:9'));
    const cache = new TieredCache(cacheOptions());
    const a = await cache.get(cacheKey('u1', 'sku-1,sku-2'), async () => promotion('u1', 100));
    const b = await cache.get(cacheKey('u2', 'sku-1,sku-2'), async () => promotion('u2', 200));
    expect(a).toEqual(promotion('u1', 100));
    expect(b).toEqual(promotion('u2', 200));
    expect(await cache.get(cacheKey('u1', 'sku-1,sku-2'), async () => promotion('wrong', 0))).toEqual(promotion('u1', 100));
    await cache.close();
  });

  it('caches nothing when ttlSeconds and staleSeconds are 0, yet concurrent gets still share one load', async () => {
    const cache = new TieredCache(cacheOptions({ ttlSeconds: 0, staleSeconds: 0 }));
    const load = recordLoads(async (n) => {
      await sleep(10);
      return promotion('u1', n);
    });
    await Promise.all([cache.get('u1', load), cache.get('u1', load)]);
    expect(load).toHaveBeenCalledTimes(1);
    expect(await cache.get('u1', load)).toEqual(promotion('u1', 2));
    await cache.close();
  });

  it('does not keep a value whose load finished after the key was deleted', async () => {
    const cache = new TieredCache(cacheOptions());
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const pending = cache.get('u1', async () => {
      await gate;
      return promotion('u1', 1);
    });
    await cache.delete('u1');
    release();
    expect(await pending).toEqual(promotion('u1', 1));
    expect(await cache.get('u1', async () => promotion('u1', 2))).toEqual(promotion('u1', 2));
    await cache.close();
  });

  it('refuses a Redis client with ioredis defaults, which would hang requests during an outage', async () => {
    const { Redis } = await import('ioredis');
    const slow = new Redis({ lazyConnect: true });
    expect(() => new TieredCache(cacheOptions({ redis: slow }))).toThrow(
      '`redis` must fail fast (open it with openRedis: enableOfflineQueue false and a commandTimeout), but got: enableOfflineQueue true, commandTimeout undefined',
    );
    slow.disconnect();
  });
});

describe.skipIf(!HAS_REDIS_SERVER)('TieredCache with Redis (L2)', () => {
  let server: PrivateRedis;
  const clients: Redis[] = [];
  const caches: Array<TieredCache<Promotion>> = [];

  beforeAll(async () => {
    server = await startPrivateRedis();
  });
  afterEach(async () => {
    server.thaw();
    await Promise.all(caches.splice(0).map((c) => c.close()));
    await Promise.all(clients.splice(0).map((c) => closeRedis(c)));
  });
  afterAll(async () => {
    await server?.stop();
  });

  const connect = (): Promise<Redis> => connectReady(server, clients);

  function track(cache: TieredCache<Promotion>): TieredCache<Promotion> {
    caches.push(cache);
    return cache;
  }

  it('lets a second instance read the first one’s value from Redis without calling load', async () => {
    const options = cacheOptions();
    const first = track(new TieredCache({ ...options, redis: await connect() }));
    const metrics = recordMetrics();
    const second = track(new TieredCache({ ...options, redis: await connect(), metrics }));

    await first.get('u1', async () => promotion('u1', 500));
    await first.close();
    const load = recordLoads(() => promotion('u1', 999));
    expect(await second.get('u1', load)).toEqual(promotion('u1', 500));
    expect(load).not.toHaveBeenCalled();
    expect(metrics.count('l2', 'hit')).toBe(1);
    // Now in the second instance's L1: no further Redis read.
    expect(await second.get('u1', load)).toEqual(promotion('u1', 500));
    expect(metrics.count('l2', 'hit')).toBe(1);
  });

  it('sends nothing to Redis when it keeps nothing (ttlSeconds and staleSeconds 0): every get is a load', async () => {
    // config/bench.yaml turns the promotion cache off this way; with Redis configured, each
    // request still made a GET whose answer could never be used (BENCHMARKS.md, session 34).
    const redis = await connect();
    const sent = vi.spyOn(redis, 'sendCommand');
    const cache = track(new TieredCache({ ...cacheOptions({ ttlSeconds: 0, staleSeconds: 0 }), redis }));
    const load = recordLoads((call) => promotion('u1', call));
    expect(await cache.get('u1', load)).toEqual(promotion('u1', 1));
    expect(await cache.get('u1', load)).toEqual(promotion('u1', 2));
    await cache.delete('u1');
    await cache.close();
    expect(load).toHaveBeenCalledTimes(2);
    expect(sent).not.toHaveBeenCalled();
  });

  it('stores the value in Redis with an expiry of ttl plus stale, that expiry, and its load time', async () => {
    const options = cacheOptions({ ttlSeconds: 10, staleSeconds: 30 });
    const redis = await connect();
    const cache = track(new TieredCache({ ...options, redis }));
    const before = Date.now();
    await cache.get('u1', async () => promotion('u1', 7));
    await cache.close();
    const pttl = await redis.pttl(`${options.keyPrefix}u1`);
    expect(pttl).toBeGreaterThan(30_000);
    expect(pttl).toBeLessThanOrEqual(40_000);
    const stored = JSON.parse((await redis.get(`${options.keyPrefix}u1`))!) as { storedAtMs: number; keepMs: number; value: unknown };
    expect(stored.value).toEqual(promotion('u1', 7));
    expect(stored.keepMs).toBe(40_000);
    // What the previous release judges a value's age by: still written, so it can read this one's values.
    expect(stored.storedAtMs).toBeGreaterThanOrEqual(before);
  });

  it('serves another instance’s stale value from Redis and refreshes it once', async () => {
    const options = cacheOptions({ ttlSeconds: 0.05, staleSeconds: 60 });
    const first = track(new TieredCache({ ...options, redis: await connect() }));
    await first.get('u1', async () => promotion('u1', 1));
    await first.close();
    await sleep(80);

    const metrics = recordMetrics();
    const redis = await connect();
    const second = track(new TieredCache({ ...options, redis, metrics }));
    const load = recordLoads(() => promotion('u1', 2));
    const served = await Promise.all([second.get('u1', load), second.get('u1', load), second.get('u1', load)]);
    expect(served.map((p) => p.discountMinor)).toEqual([1, 1, 1]);
    expect(metrics.count('l2', 'stale')).toBeGreaterThanOrEqual(1);
    await until(() => load.mock.settledResults.length === 1, 'the refresh has loaded');
    expect(load).toHaveBeenCalledTimes(1);
    await until(async () => (await second.get('u1', load)).discountMinor === 2, 'the refreshed value is served');
    await second.close();
    expect(JSON.parse((await redis.get(`${options.keyPrefix}u1`))!).value).toEqual(promotion('u1', 2));
  });

  it('treats a corrupt or old-shaped Redis value as a miss and overwrites it', async () => {
    const options = cacheOptions();
    const redis = await connect();
    const metrics = recordMetrics();
    const cache = track(new TieredCache({ ...options, redis, metrics }));
    await redis.set(`${options.keyPrefix}garbage`, '{not json');
    await redis.set(`${options.keyPrefix}old-shape`, JSON.stringify({ storedAtMs: Date.now(), value: { user: 'u1', discount: '5' } }));
    await redis.set(`${options.keyPrefix}no-envelope`, JSON.stringify(promotion('u1', 5)));

    for (const key of ['garbage', 'old-shape', 'no-envelope']) {
      expect(await cache.get(key, async () => promotion('u1', 42))).toEqual(promotion('u1', 42));
    }
    expect(metrics.count('l2', 'miss')).toBe(3);
    expect(metrics.count('l2', 'hit')).toBe(0);
    await cache.close();
    expect(JSON.parse((await redis.get(`${options.keyPrefix}old-shape`))!).value).toEqual(promotion('u1', 42));
  });

  it('reads Redis again once its script cache is emptied (a restart, SCRIPT FLUSH)', async () => {
    const options = cacheOptions();
    const redis = await connect();
    const first = track(new TieredCache({ ...options, redis }));
    await first.get('u1', async () => promotion('u1', 1));
    await first.close();
    await redis.script('FLUSH');

    const metrics = recordMetrics();
    const second = track(new TieredCache({ ...options, redis, metrics }));
    const load = recordLoads(() => promotion('u1', 2));
    expect(await second.get('u1', load)).toEqual(promotion('u1', 1));
    expect(metrics.count('l2', 'hit')).toBe(1);
    expect(load).not.toHaveBeenCalled();
  });

  it('deletes a key from both layers', async () => {
    const options = cacheOptions();
    const redis = await connect();
    const cache = track(new TieredCache({ ...options, redis }));
    await cache.get('u1', async () => promotion('u1', 1));
    await until(async () => (await redis.exists(`${options.keyPrefix}u1`)) === 1, 'the L2 write has landed');
    await cache.delete('u1');
    expect(await redis.exists(`${options.keyPrefix}u1`)).toBe(0);
    expect(await cache.get('u1', async () => promotion('u1', 2))).toEqual(promotion('u1', 2));
  });

  describe('between replicas whose clocks differ, ages are judged by Redis’s clock alone', () => {
    it('serves a value written by a replica whose clock runs ahead as stale once its ttl has really passed, and refreshes it', async () => {
      const options = cacheOptions({ ttlSeconds: 0.3, staleSeconds: 60 });
      const ahead = track(new TieredCache({ ...options, redis: await connect() }));
      await withClockSkew(HOUR_MS, () => ahead.get('u1', async () => promotion('u1', 1)));
      await ahead.close();
      await sleep(400);

      const metrics = recordMetrics();
      const reader = track(new TieredCache({ ...options, redis: await connect(), metrics }));
      const load = recordLoads(() => promotion('u1', 2));
      const { outcomes, noted } = recordOutcomes();
      expect(await reader.get('u1', load, noted)).toEqual(promotion('u1', 1));
      expect(outcomes).toEqual(['stale']);
      expect(metrics.count('l2', 'stale')).toBe(1);
      await until(() => load.mock.settledResults.length === 1, 'the refresh has loaded');
      await until(async () => (await reader.get('u1', load)).discountMinor === 2, 'the refreshed value is served');
      expect(load).toHaveBeenCalledTimes(1);
    });

    it('keeps a value written by a replica whose clock runs ahead no longer than ttl plus stale of real time', async () => {
      const options = cacheOptions({ ttlSeconds: 0.6, staleSeconds: 0.2 });
      const ahead = track(new TieredCache({ ...options, redis: await connect() }));
      const loadedAt = performance.now();
      await withClockSkew(HOUR_MS, () => ahead.get('u1', async () => promotion('u1', 1)));
      await ahead.close();
      await sleep(300);

      const reader = track(new TieredCache({ ...options, redis: await connect() }));
      const load = recordLoads(() => promotion('u1', 2));
      const first = recordOutcomes();
      expect(await reader.get('u1', load, first.noted)).toEqual(promotion('u1', 1));
      expect(first.outcomes).toEqual(['hit']);

      // Past ttl plus stale (0.8 s) since the load: nothing may still serve the first value.
      await sleep(Math.max(0, loadedAt + 900 - performance.now()));
      const later = recordOutcomes();
      expect(await reader.get('u1', load, later.noted)).toEqual(promotion('u1', 2));
      expect(later.outcomes).toEqual(['miss']);
      expect(load).toHaveBeenCalledTimes(1);
    });

    it('serves a value written by a replica whose clock runs behind as fresh, without loading it again', async () => {
      const options = cacheOptions();
      const behind = track(new TieredCache({ ...options, redis: await connect() }));
      await withClockSkew(-HOUR_MS, () => behind.get('u1', async () => promotion('u1', 1)));
      await behind.close();

      const metrics = recordMetrics();
      const reader = track(new TieredCache({ ...options, redis: await connect(), metrics }));
      const load = recordLoads(() => promotion('u1', 2));
      const { outcomes, noted } = recordOutcomes();
      expect(await reader.get('u1', load, noted)).toEqual(promotion('u1', 1));
      expect(outcomes).toEqual(['hit']);
      expect(metrics.count('l2', 'hit')).toBe(1);
      expect(load).not.toHaveBeenCalled();
      // Kept in its L1 as fresh: no second Redis read.
      expect(await reader.get('u1', load)).toEqual(promotion('u1', 1));
      expect(metrics.count('l1', 'hit')).toBe(1);
    });

    it('reads the previous release’s envelope (its writer’s clock ahead) by its expiry too', async () => {
      const options = cacheOptions({ ttlSeconds: 0.3, staleSeconds: 60 });
      const redis = await connect();
      const previousRelease = { storedAtMs: Date.now() + HOUR_MS, value: promotion('u1', 1) };
      await redis.set(`${options.keyPrefix}u1`, JSON.stringify(previousRelease), 'PX', 60_300);
      await sleep(400);

      const reader = track(new TieredCache({ ...options, redis }));
      const load = recordLoads(() => promotion('u1', 2));
      const { outcomes, noted } = recordOutcomes();
      expect(await reader.get('u1', load, noted)).toEqual(promotion('u1', 1));
      expect(outcomes).toEqual(['stale']);
      await until(() => load.mock.settledResults.length === 1, 'the refresh has loaded');
    });

    it('judges the age of a value written under another ttl by the expiry its writer set', async () => {
      // A rolling deploy that changes cache.promotion: the writer keeps values for 600.3 s, the reader for 60.3 s.
      const options = cacheOptions({ ttlSeconds: 0.3, staleSeconds: 60 });
      const writer = track(new TieredCache({ ...options, staleSeconds: 600, redis: await connect() }));
      await writer.get('u1', async () => promotion('u1', 1));
      await writer.close();
      await sleep(400);

      const reader = track(new TieredCache({ ...options, redis: await connect() }));
      const load = recordLoads(() => promotion('u1', 2));
      const { outcomes, noted } = recordOutcomes();
      expect(await reader.get('u1', load, noted)).toEqual(promotion('u1', 1));
      expect(outcomes).toEqual(['stale']);
      await until(() => load.mock.settledResults.length === 1, 'the refresh has loaded');
    });
  });

  it('keeps answering from load while Redis is stopped, stops contacting it once the breaker opens, and uses it again when it is back', async () => {
    const options = cacheOptions();
    const redis = await connect();
    const metrics = recordMetrics();
    const cache = track(new TieredCache({ ...options, redis, metrics }));
    const sent = vi.spyOn(redis, 'sendCommand');
    try {
      await server.stop();
      await until(() => redis.status !== 'ready', 'the client has noticed');

      for (let i = 0; i < 3; i++) expect(await cache.get(`before-${i}`, async () => promotion('u1', i))).toEqual(promotion('u1', i));
      expect(metrics.lastState).toBe('open');
      expect(metrics.count('l2', 'error')).toBeGreaterThanOrEqual(1);

      sent.mockClear();
      for (let i = 0; i < 5; i++) expect(await cache.get(`open-${i}`, async () => promotion('u1', i))).toEqual(promotion('u1', i));
      expect(cacheCommands(sent)).toBe(0);
    } finally {
      await server.start();
    }

    // Reconnect (ioredis backs off up to 1 s) and the half-open probe after halfOpenAfterMs.
    let key = 0;
    await until(
      async () => {
        const before = metrics.count('l2', 'miss');
        await cache.get(`after-${++key}`, async () => promotion('u1', key));
        return metrics.count('l2', 'miss') > before;
      },
      'a get reads Redis again',
      8000,
    );
    expect(metrics.lastState).toBe('closed');
    await until(async () => (await redis.exists(`${options.keyPrefix}after-${key}`)) === 1, 'the value is written to Redis again');
  });

  it('answers within a second while Redis is frozen, then skips it, and uses it again after thaw', async () => {
    const options = cacheOptions();
    const redis = await connect();
    const metrics = recordMetrics();
    const cache = track(new TieredCache({ ...options, redis, metrics }));
    const sent = vi.spyOn(redis, 'sendCommand');
    server.freeze();
    try {
      for (let i = 0; metrics.lastState !== 'open'; i++) {
        if (i >= 5) throw new Error('the breaker did not open after 5 gets against a frozen Redis');
        const started = Date.now();
        expect(await cache.get(`frozen-${i}`, async () => promotion('u1', i))).toEqual(promotion('u1', i));
        expect(Date.now() - started).toBeLessThan(1000);
      }
      sent.mockClear();
      for (let i = 0; i < 5; i++) {
        const started = Date.now();
        expect(await cache.get(`open-${i}`, async () => promotion('u1', i))).toEqual(promotion('u1', i));
        expect(Date.now() - started).toBeLessThan(1000);
      }
      expect(cacheCommands(sent)).toBe(0);
    } finally {
      server.thaw();
    }

    let key = 0;
    await until(
      async () => {
        const before = metrics.count('l2', 'miss');
        await cache.get(`thawed-${++key}`, async () => promotion('u1', key));
        return metrics.count('l2', 'miss') > before;
      },
      'a get reads Redis again',
      5000,
    );
    expect(metrics.lastState).toBe('closed');
    expect(cacheCommands(sent)).toBeGreaterThan(0);
  });
});
