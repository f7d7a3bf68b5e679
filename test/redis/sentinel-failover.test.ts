/**
 * Floorplan's Redis client behind Redis Sentinel, on a real primary, replica and three
 * Sentinels (deploy/topology's startRedisWithSentinel): after the primary dies and the
 * Sentinels promote the replica, every client must be writing to the new primary, whatever
 * the client was doing when the Sentinels announced it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SENTINEL_NAME, startRedisWithSentinel, type RedisWithSentinel } from '../../deploy/topology/topology.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { closeRedis, openRedis, type RedisClient } from '../../src/redis/client.ts';
import { freePort } from '../support/processes.ts';
import { until } from '../support/until.ts';

const HAS_SENTINEL = ['redis-server', 'redis-sentinel'].every((binary) => spawnSync(binary, ['--version'], { stdio: 'ignore' }).status === 0);

describe.skipIf(!HAS_SENTINEL)('the Redis client behind Redis Sentinel', () => {
  let dir: string;
  let sentinel: { redis: RedisWithSentinel; stop(): Promise<void> };
  const clients: RedisClient[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'floorplan-sentinel-'));
    const ports = { redis: [await freePort(), await freePort()] as const, sentinels: [await freePort(), await freePort(), await freePort()] as const };
    sentinel = await startRedisWithSentinel(dir, ports);
  }, 60_000);

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => closeRedis(client)));
    await sentinel?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A client of the primary the Sentinels name; `url` gives only its database (REDIS_URL with REDIS_SENTINELS). */
  function open(connectTimeoutMs: number, url = ''): RedisClient {
    const client = openRedis(
      { url, sentinels: sentinel.redis.sentinels, sentinelName: SENTINEL_NAME, commandTimeoutMs: 500, connectTimeoutMs, name: 'sentinel-test' },
      createLogger('silent'),
    );
    clients.push(client);
    return client;
  }

  it('writes to the database REDIS_URL names on the primary, and to none when the primary has no such database', async () => {
    const primary = await sentinel.redis.connectPrimary();
    try {
      const fifteen = open(2000, 'redis://primary/15');
      await until(() => fifteen.status === 'ready', 'the client of database 15 is connected to the primary', 10_000);
      await fifteen.set('floorplan:sentinel-db', 'in database 15');
      // Database 16 of a server with 16 (0 to 15): refused, and never swapped for database 0.
      const sixteen = open(2000, 'redis://primary/16');
      await sleep(1500);
      expect(sixteen.status).not.toBe('ready');
      await expect(sixteen.set('floorplan:sentinel-db', 'in database 0')).rejects.toThrow();
      expect((await primary.info('keyspace')).match(/^db\d+(?=:)/gm)).toEqual(['db15']);
    } finally {
      primary.disconnect();
    }
  }, 30_000);

  it('writes to the new primary after a failover announced while it was still asking a Sentinel that stopped answering', async () => {
    // Asking a frozen Sentinel takes the whole connect timeout; a long one makes sure the
    // +switch-master from the other two arrives while the client is still asking it.
    const client = open(6000);
    await until(() => client.status === 'ready', 'the client is connected to the primary', 10_000);
    const [first] = sentinel.redis.sentinels;
    const firstPort = Number(first!.split(':')[1]);
    sentinel.redis.freezeSentinel(firstPort);

    const before = await sentinel.redis.primaryPort();
    await sentinel.redis.killPrimary();
    await until(async () => (await sentinel.redis.primaryPort()) !== before, 'the Sentinels name a new primary', 30_000);

    const primary = await sentinel.redis.connectPrimary();
    try {
      // ioredis 6 ends the client for good here (status "end": "Connection is closed" on every
      // command, ioredis#1683); Floorplan's client must connect again by itself.
      await until(
        async () => {
          await client.set('floorplan:sentinel-test', 'written after the failover').catch(() => undefined);
          return (await primary.get('floorplan:sentinel-test')) === 'written after the failover';
        },
        'the client writes to the new primary',
        20_000,
      ).catch((error: unknown) => {
        throw new Error(`${String(error)} (client status: ${client.status})`);
      });
    } finally {
      primary.disconnect();
    }
    expect(client.status).toBe('ready');
  }, 90_000);
});
