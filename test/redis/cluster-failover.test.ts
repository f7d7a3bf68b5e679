/**
 * A Redis Cluster shard whose primary hangs (SIGSTOP: its sockets stay open, nothing answers)
 * and fails over to its replica. A client that only uses keys of that shard — the layouts
 * client reads one key, the publisher writes one — gets no MOVED or CLUSTERDOWN reply from the
 * hung node, only timeouts, so it must learn the new slot map by itself.
 */
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.ts';
import { closeRedis, openRedis, type RedisClient } from '../../src/redis/client.ts';
import { eventually } from '../support/measure.ts';
import { HAS_REDIS_SERVER, startRedisClusterNode, type RedisClusterNode } from '../support/redis-server.ts';
import { until } from '../support/until.ts';

const HAS_REDIS_CLI = spawnSync('redis-cli', ['--version'], { stdio: 'ignore' }).status === 0;

/** The port of the primary serving `slot`, as the node on `askPort` sees the cluster. */
function primaryOf(slot: number, askPort: number): number | undefined {
  // redis-cli prints CLUSTER SLOTS one value a line: start, end, then each node's ip, port and id, the primary first.
  const slots = spawnSync('redis-cli', ['-p', String(askPort), 'cluster', 'slots'], { encoding: 'utf8', timeout: 2000 }).stdout.split('\n');
  for (let i = 0; i + 3 < slots.length; i++) {
    const [start, end] = [Number(slots[i]), Number(slots[i + 1])];
    if (Number.isInteger(start) && Number.isInteger(end) && slots[i + 2] === '127.0.0.1' && start <= slot && slot <= end) return Number(slots[i + 3]);
  }
  return undefined;
}

describe.skipIf(!HAS_REDIS_SERVER || !HAS_REDIS_CLI)('a Redis Cluster shard failing over while its primary hangs', () => {
  const nodes: RedisClusterNode[] = [];
  let dir: string;
  let client: RedisClient | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'floorplan-cluster-failover-'));
    // A node is judged failed after 1 s without an answer (the default, 15 s, would make this test slow).
    for (let i = 0; i < 6; i++) nodes.push(await startRedisClusterNode(dir, undefined, ['--cluster-node-timeout', '1000']));
    const create = spawnSync('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '1', '--cluster-yes'], { encoding: 'utf8' });
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed:\n${create.stdout}${create.stderr}`);
    for (const node of nodes) {
      await until(() => spawnSync('redis-cli', ['-p', String(node.port), 'cluster', 'info'], { encoding: 'utf8' }).stdout.includes('cluster_state:ok'), `node ${node.port} sees the cluster ok`, 20_000);
    }
    // A replica can take over only once it is attached and in sync: three of the six say so.
    await until(
      () => nodes.filter((n) => /role:slave[\s\S]*master_link_status:up/.test(spawnSync('redis-cli', ['-p', String(n.port), 'info', 'replication'], { encoding: 'utf8' }).stdout)).length === 3,
      'every primary has a replica in sync',
      30_000,
    );
  }, 90_000);

  afterAll(async () => {
    for (const node of nodes) node.thaw();
    if (client !== undefined) await closeRedis(client);
    await Promise.all(nodes.map((node) => node.stop()));
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("reaches the promoted replica within seconds, though the hung primary's shard is all it uses and nothing answers there", async () => {
    client = openRedis({ url: '', clusterNodes: nodes.map((n) => `127.0.0.1:${n.port}`), commandTimeoutMs: 300, connectTimeoutMs: 500, name: 'test' }, createLogger('silent'));
    if (client.status !== 'ready') await once(client, 'ready');
    const key = 'failover:{layouts}';
    await client.set(key, 'before');
    const slot = Number(await client.call('CLUSTER', 'KEYSLOT', key));
    const primaryPort = primaryOf(slot, nodes[0]!.port) as number;
    const primary = nodes.find((n) => n.port === primaryPort) as RedisClusterNode;
    const witness = nodes.find((n) => n.port !== primaryPort) as RedisClusterNode;

    primary.freeze();
    await until(() => {
      const now = primaryOf(slot, witness.port);
      return now !== undefined && now !== primaryPort;
    }, 'the cluster promotes a replica of the hung primary', 30_000);

    const written = await eventually(
      () => (client as RedisClient).set(key, 'after').then(() => 'written', (error: Error) => error.message),
      (outcome) => outcome === 'written',
      10_000,
      200,
    );
    expect(written).toBe('written');
    expect(await client.get(key)).toBe('after');
  }, 60_000);
});
