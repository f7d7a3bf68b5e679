import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { RedisKeyValueCache, type RedisKeyValueCacheOptions } from '../../src/cache/redis-kv.ts';
import { closeRedis } from '../../src/redis/client.ts';
import { connectReady, HAS_REDIS_SERVER, startPrivateRedis, type PrivateRedis } from '../support/redis-server.ts';
import { recordMetrics } from '../support/cache-metrics.ts';
import { until } from '../support/until.ts';

const BREAKER = { consecutiveFailures: 2, halfOpenAfterMs: 200 } as const;
const QUERY = 'query Panel($scene: String!) { floorPanel(scene: $scene) { floors { code } } }';


let prefixes = 0;
function kvOptions(overrides: Partial<RedisKeyValueCacheOptions> = {}): RedisKeyValueCacheOptions {
  return { keyPrefix: `test:kv:${process.pid}:${++prefixes}:`, l1MaxEntries: 100, breaker: BREAKER, ...overrides };
}


describe('RedisKeyValueCache in process (L1 only)', () => {
  it('returns what was set, and nothing after delete', async () => {
    const kv = new RedisKeyValueCache(kvOptions());
    expect(await kv.get('apq:abc')).toBeUndefined();
    await kv.set('apq:abc', QUERY);
    expect(await kv.get('apq:abc')).toBe(QUERY);
    expect(await kv.delete('apq:abc')).toBe(true);
    expect(await kv.get('apq:abc')).toBeUndefined();
  });

  it('forgets an entry once its ttl has passed', async () => {
    const kv = new RedisKeyValueCache(kvOptions());
    await kv.set('apq:short', QUERY, { ttl: 0.1 });
    await kv.set('apq:long', QUERY, { ttl: 60 });
    expect(await kv.get('apq:short')).toBe(QUERY);
    await until(async () => (await kv.get('apq:short')) === undefined, 'the short entry expires');
    expect(await kv.get('apq:long')).toBe(QUERY);
  });

  it('bounds L1 by bytes as well as entries, so large queries cannot exhaust memory', async () => {
    const kv = new RedisKeyValueCache(kvOptions({ l1MaxBytes: 1000 }));
    for (let i = 0; i < 5; i++) await kv.set(`apq:${i}`, 'x'.repeat(400));
    const kept = (await Promise.all([0, 1, 2, 3, 4].map((i) => kv.get(`apq:${i}`)))).filter((v) => v !== undefined);
    expect(kept.length).toBe(2);
  });
});

describe.skipIf(!HAS_REDIS_SERVER)('RedisKeyValueCache with Redis', () => {
  let server: PrivateRedis;
  const clients: Redis[] = [];

  beforeAll(async () => {
    server = await startPrivateRedis();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => closeRedis(c)));
  });
  afterAll(async () => {
    await server?.stop();
  });

  const connect = (): Promise<Redis> => connectReady(server, clients);

  it('lets a second instance answer a query hash the first one registered', async () => {
    const options = kvOptions();
    const first = new RedisKeyValueCache({ ...options, redis: await connect() });
    const metrics = recordMetrics();
    const second = new RedisKeyValueCache({ ...options, redis: await connect(), metrics });
    await first.set('apq:abc', QUERY, { ttl: 300 });
    expect(await second.get('apq:abc')).toBe(QUERY);
    expect(metrics.count('l2', 'hit')).toBe(1);
    expect(await second.get('apq:abc')).toBe(QUERY);
    expect(metrics.count('l1', 'hit')).toBe(1);
  });

  it('stores entries in Redis with their ttl, and with defaultTtlSeconds when set gives none', async () => {
    const options = kvOptions({ defaultTtlSeconds: 600 });
    const redis = await connect();
    const kv = new RedisKeyValueCache({ ...options, redis });
    await kv.set('apq:given', QUERY, { ttl: 30 });
    await kv.set('apq:default', QUERY);
    await kv.set('apq:forever', QUERY, { ttl: null });
    const given = await redis.pttl(`${options.keyPrefix}apq:given`);
    expect(given).toBeGreaterThan(25_000);
    expect(given).toBeLessThanOrEqual(30_000);
    const byDefault = await redis.pttl(`${options.keyPrefix}apq:default`);
    expect(byDefault).toBeGreaterThan(590_000);
    expect(byDefault).toBeLessThanOrEqual(600_000);
    expect(await redis.pttl(`${options.keyPrefix}apq:forever`)).toBe(-1);
  });

  it('does not let a copy read from Redis outlive the Redis entry', async () => {
    const options = kvOptions();
    const first = new RedisKeyValueCache({ ...options, redis: await connect() });
    const second = new RedisKeyValueCache({ ...options, redis: await connect() });
    await first.set('apq:short', QUERY, { ttl: 0.3 });
    expect(await second.get('apq:short')).toBe(QUERY);
    await until(async () => (await second.get('apq:short')) === undefined, 'the second instance forgets it too');
  });

  it('deletes from Redis as well as L1', async () => {
    const options = kvOptions();
    const first = new RedisKeyValueCache({ ...options, redis: await connect() });
    const second = new RedisKeyValueCache({ ...options, redis: await connect() });
    await first.set('apq:abc', QUERY);
    expect(await second.delete('apq:abc')).toBe(true);
    first.close();
    const fresh = new RedisKeyValueCache({ ...options, redis: await connect() });
    expect(await fresh.get('apq:abc')).toBeUndefined();
  });

  it('keeps serving what this instance stored while Redis is stopped, without contacting it once the breaker is open', async () => {
    const redis = await connect();
    const metrics = recordMetrics();
    const kv = new RedisKeyValueCache({ ...kvOptions(), redis, metrics });
    await kv.set('apq:before', QUERY);
    try {
      await server.stop();
      await until(() => redis.status !== 'ready', 'the client has noticed');
      expect(await kv.get('apq:before')).toBe(QUERY);
      expect(await kv.get('apq:unknown')).toBeUndefined();
      await kv.set('apq:during', QUERY);
      expect(await kv.get('apq:during')).toBe(QUERY);
      expect(metrics.states.at(-1)).toBe('open');

      const sent = vi.spyOn(redis, 'sendCommand');
      expect(await kv.get('apq:unknown-2')).toBeUndefined();
      await kv.set('apq:during-2', QUERY);
      expect(sent).not.toHaveBeenCalled();
      expect(metrics.count('l2', 'error')).toBeGreaterThanOrEqual(2);
    } finally {
      await server.start();
    }
  });

  it('answers within a second while Redis is frozen', async () => {
    const redis = await connect();
    const kv = new RedisKeyValueCache({ ...kvOptions(), redis });
    await kv.set('apq:before', QUERY);
    server.freeze();
    try {
      for (const key of ['apq:before', 'apq:unknown', 'apq:unknown-2', 'apq:unknown-3']) {
        const started = Date.now();
        await kv.get(key);
        expect(Date.now() - started).toBeLessThan(1000);
      }
      expect(await kv.get('apq:before')).toBe(QUERY);
    } finally {
      server.thaw();
    }
  });
});
