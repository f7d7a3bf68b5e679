/**
 * Floorplan on a Redis Cluster: three primaries started here (`redis-server --cluster-enabled
 * yes` on loopback, joined by `redis-cli --cluster create`), Floorplan pointed at them with
 * `redis.clusterNodes`. Every Redis user must work there — the promotion cache, APQ, the rate
 * limit's Lua script and the layout publish script, whose two keys must share a slot — with
 * no fallback to process memory.
 */
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultBuilders } from '../../src/floors/builders/index.ts';
import { createBuilderRegistry } from '../../src/floors/registry.ts';
import { layoutRedisKeys } from '../../src/layouts/layout-store.ts';
import { publishLayouts } from '../../src/layouts/publish.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { closeRedis, openRedis } from '../../src/redis/client.ts';
import { startHarness, PANEL_QUERY, type Harness, type PanelResult } from '../support/harness.ts';
import { HAS_REDIS_SERVER, startRedisClusterNode, type RedisClusterNode } from '../support/redis-server.ts';
import { until } from '../support/until.ts';

const HAS_REDIS_CLI = spawnSync('redis-cli', ['--version'], { stdio: 'ignore' }).status === 0;
const PREFIX = 'floorplan:';

describe.skipIf(!HAS_REDIS_SERVER || !HAS_REDIS_CLI)('Floorplan on a 3-primary Redis Cluster', () => {
  const nodes: RedisClusterNode[] = [];
  const ports: number[] = [];
  let dir: string;
  let h: Harness;
  let admin: Cluster;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'floorplan-cluster-'));
    for (let i = 0; i < 3; i++) {
      const node = await startRedisClusterNode(dir);
      nodes.push(node);
      ports.push(node.port);
    }
    const create = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8' });
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed:\n${create.stdout}${create.stderr}`);
    await until(() => spawnSync('redis-cli', ['-p', String(ports[0]), 'cluster', 'info'], { encoding: 'utf8' }).stdout.includes('cluster_state:ok'), 'the cluster is ok', 10_000);

    h = await startHarness({
      config: {
        redis: { clusterNodes: ports.map((p) => `127.0.0.1:${p}`), keyPrefix: PREFIX, commandTimeoutMs: 1000 },
        // The cross-request cache on, so its keys land in the cluster.
        cache: { promotion: { ttlSeconds: 30, staleSeconds: 30 } },
        layouts: { resyncIntervalMs: 500 },
      },
    });
    admin = new Cluster(ports.map((port) => ({ host: '127.0.0.1', port })));
    await once(admin, 'ready');
  }, 60_000);

  afterAll(async () => {
    admin?.disconnect();
    await h?.close();
    await Promise.all(nodes.map((node) => node.stop()));
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  async function metricsText(): Promise<string> {
    return (await fetch(`${h.url}/metrics`)).text();
  }

  it('caches promotions, keeps the shared rate limit and stores persisted queries in the cluster, for users whose keys fall on every primary', async () => {
    const users = Array.from({ length: 12 }, (_, i) => `cluster-user-${i}`);
    // Each user's keys are on the primary that owns their slot; together they span all three.
    const owners = new Set<string>();
    for (const user of users) {
      const res = await h.graphql<PanelResult>(user, PANEL_QUERY, { scene: 'cart-bottom-sheet' });
      expect(res.status).toBe(200);
      expect(res.body.data?.floorPanel.degraded).toBe(false);
      // Checked at once: an idle bucket's key expires when it would be full again (2 s here).
      expect(await admin.exists(`${PREFIX}rate:${user}`)).toBe(1);
      // KEYS is not routed by key: ask every primary.
      const cached = await Promise.all(admin.nodes('master').map((node) => node.keys(`${PREFIX}promotion:v1:${user}:*`)));
      expect(cached.flat()).not.toEqual([]);
      const slot = (await admin.call('CLUSTER', 'KEYSLOT', `${PREFIX}rate:${user}`)) as number;
      owners.add(admin.slots[slot]?.[0] ?? '');
    }
    expect(owners.size).toBe(3);

    const query = `${PANEL_QUERY} # cluster`;
    const sha256Hash = createHash('sha256').update(query).digest('hex');
    const token = await h.token('cluster-apq');
    const register = await fetch(`${h.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables: { scene: 'cart-bottom-sheet' }, extensions: { persistedQuery: { version: 1, sha256Hash } } }),
    });
    expect(register.status).toBe(200);
    expect(await admin.get(`${PREFIX}apq:${sha256Hash}`)).toBe(query);

    const text = await metricsText();
    expect(text).toMatch(/floorplan_rate_limit_decisions_total\{outcome="allowed",store="redis"\} [1-9]/);
    expect(text).not.toMatch(/floorplan_rate_limit_decisions_total\{[^}]*store="local"\} [1-9]/);
    expect(text).not.toMatch(/floorplan_cache_requests_total\{[^}]*layer="l2",result="error"\} [1-9]/);
    expect(text).toMatch(/floorplan_cache_requests_total\{cache="promotion",layer="l2",result="hit"\} [1-9]|floorplan_cache_requests_total\{cache="promotion",layer="l2",result="miss"\} [1-9]/);
  });

  it('publishes layouts with one script whose two keys share a slot, and the running server swaps them in', async () => {
    const keys = layoutRedisKeys(PREFIX);
    const slots = await Promise.all([keys.layouts, keys.revision].map((key) => admin.call('CLUSTER', 'KEYSLOT', key)));
    expect(slots[0]).toBe(slots[1]);

    const publisher = openRedis({ url: '', clusterNodes: ports.map((p) => `127.0.0.1:${p}`), commandTimeoutMs: 2000, connectTimeoutMs: 2000, name: 'test-publish' }, createLogger('silent'));
    try {
      await once(publisher, 'ready');
      const result = await publishLayouts({ dir: join(import.meta.dirname, '..', '..', 'floors'), registry: createBuilderRegistry(defaultBuilders), locales: h.config.floors.locales, redis: publisher, keyPrefix: PREFIX });
      expect(result.revision).toBe(1);
      await until(() => h.server.layouts.revision() === 1, 'the server serves revision 1', 5000);
      expect(h.server.layouts.source()).toBe('redis');
    } finally {
      await closeRedis(publisher);
    }
  });
});
