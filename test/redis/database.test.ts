/**
 * The database REDIS_URL names is the only one Floorplan writes to. Redis refuses a SELECT of a
 * database it does not have (16 of them by default: /0 to /15), and ioredis then carried on in
 * database 0 — "redis unavailable", then "redis is back" at once — with the rate limits, caches
 * and layouts of another database's users.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PANEL_QUERY, startHarness } from '../support/harness.ts';
import { loggerInto } from '../support/log-lines.ts';
import { HAS_REDIS_SERVER, startPrivateRedis, type PrivateRedis } from '../support/redis-server.ts';

const UNAVAILABLE = 'redis unavailable; carrying on without it until it is back';

describe.skipIf(!HAS_REDIS_SERVER)('the Redis database REDIS_URL names', () => {
  let server: PrivateRedis;
  let admin: Redis;
  beforeAll(async () => {
    server = await startPrivateRedis();
    admin = new Redis(server.port, '127.0.0.1', { lazyConnect: true });
    await admin.connect();
  });
  afterAll(async () => {
    admin?.disconnect();
    await server?.stop();
  });
  beforeEach(async () => {
    await admin.flushall();
  });

  /** The databases holding keys, e.g. { db15: 4 }: Redis' own `INFO keyspace`. */
  async function keysPerDatabase(): Promise<Record<string, number>> {
    const info = await admin.info('keyspace');
    return Object.fromEntries([...info.matchAll(/^(db\d+):keys=(\d+)/gm)].map(([, db, keys]) => [db!, Number(keys)]));
  }

  /** Floorplan on database `db` of the private server: its log, after one panel was asked for and served. */
  async function servePanel(db: string): Promise<Array<Record<string, unknown>>> {
    const lines: Array<Record<string, unknown>> = [];
    const h = await startHarness({ config: { redis: { url: `redis://127.0.0.1:${server.port}/${db}` } }, deps: { logger: loggerInto(lines, 'info') } });
    try {
      const res = await h.graphql('u1001', PANEL_QUERY, { scene: 'cart-bottom-sheet' });
      expect(res.status).toBe(200);
      // Reconnects come every 100 ms to 1 s: time for the client to claim it is back.
      await sleep(1500);
    } finally {
      await h.close();
    }
    return lines;
  }

  it('holds what a panel request stores, and nothing lands in any other', async () => {
    const lines = await servePanel('15');
    expect(Object.keys(await keysPerDatabase())).toEqual(['db15']);
    expect(lines.filter((l) => l.msg === UNAVAILABLE)).toEqual([]);
  }, 30_000);

  it('is not swapped for database 0 when the server has no such database: Redis stays off, saying which database it refused', async () => {
    const lines = await servePanel('16');
    expect(await keysPerDatabase()).toEqual({});
    expect(lines.filter((l) => l.msg === 'redis is back')).toEqual([]);
    const cache = lines.find((l) => l.msg === UNAVAILABLE && l.redis === 'cache');
    expect(cache).toMatchObject({ level: 40, database: 16 });
    expect(cache?.err).toBe('the server refused database 16 (redis.url): ERR DB index is out of range');
    expect(lines.map((l) => l.msg)).toContain('redis is not answering at start: serving without it (local rate limits, no shared cache or APQ) until it is');
  }, 30_000);
});
