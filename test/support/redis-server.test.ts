/** The private Redis Cluster node the cluster suite starts: a port already taken on the machine. */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from './processes.ts';
import { HAS_REDIS_SERVER, startRedisClusterNode, type RedisClusterNode } from './redis-server.ts';

describe.skipIf(!HAS_REDIS_SERVER)('startRedisClusterNode', () => {
  const squatter = createServer();
  let node: RedisClusterNode | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await node?.stop();
    if (squatter.listening) squatter.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('starts a node whose default cluster bus port (its port + 10000, in the ephemeral range) is held by another socket', async () => {
    dir = mkdtempSync(join(tmpdir(), 'floorplan-cluster-node-'));
    // The kind of port CI saw fail: the bus port Redis derives lands where outgoing connections live.
    const port = await freePort();
    squatter.listen(port + 10_000, '127.0.0.1');
    await once(squatter, 'listening');
    node = await startRedisClusterNode(dir, port);
    const client = new Redis({ port: node.port, host: '127.0.0.1', lazyConnect: true });
    try {
      await client.connect();
      expect(await client.ping()).toBe('PONG');
      expect(await client.call('CLUSTER', 'INFO')).toMatch(/cluster_enabled|cluster_state/);
    } finally {
      client.disconnect();
    }
  }, 60_000);

  it('says why when redis-server exits instead of listening, without waiting out the timeout', async () => {
    dir = mkdtempSync(join(tmpdir(), 'floorplan-cluster-node-'));
    const port = await freePort();
    squatter.listen(port, '127.0.0.1');
    await once(squatter, 'listening');
    const started = Date.now();
    await expect(startRedisClusterNode(dir, port)).rejects.toThrow(/exited.*\n[\s\S]*(bind|Address already in use)/i);
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 60_000);
});
