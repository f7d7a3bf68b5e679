/**
 * A Redis password reaches Redis the same way whether Floorplan talks to one server, to the
 * primary Sentinel names or to a Cluster: as REDIS_URL's user information. ioredis also reads
 * `?password=` (and any other query parameter) as an option, but only when handed the URL itself,
 * which openRedis does without Sentinels or a cluster only: `redis://host/0?password=…`
 * authenticated a single server and connected without a password behind Sentinel or on a
 * cluster (NOAUTH on every command). So the config refuses query parameters in every mode.
 * Real servers, each started with `--requirepass`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SENTINEL_NAME, startRedisWithSentinel, type RedisWithSentinel } from '../../deploy/topology/topology.ts';
import { loadServiceConfig } from '../../src/config/service-config.ts';
import { ErrorCode, FloorplanError } from '../../src/errors.ts';
import { closeRedis, openRedis, whenRedisReady, type RedisClient } from '../../src/redis/client.ts';
import { loggerInto } from '../support/log-lines.ts';
import { freePort } from '../support/processes.ts';
import { HAS_REDIS_SERVER, startPrivateRedis, startRedisClusterNode, type PrivateRedis, type RedisClusterNode } from '../support/redis-server.ts';
import { until } from '../support/until.ts';

const HAS_SENTINEL = ['redis-server', 'redis-sentinel', 'redis-cli'].every((binary) => spawnSync(binary, ['--version'], { stdio: 'ignore' }).status === 0);
const CONFIG_DIR = join(import.meta.dirname, '..', '..', 'config');
const PASSWORD = 'kX9-redis-S3cret';

describe.skipIf(!HAS_REDIS_SERVER || !HAS_SENTINEL)('the Redis password in REDIS_URL, on servers that require one', () => {
  let dir: string;
  let single: PrivateRedis;
  let sentinel: { redis: RedisWithSentinel; stop(): Promise<void> };
  const nodes: RedisClusterNode[] = [];
  const clients: RedisClient[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'floorplan-redis-password-'));
    single = await startPrivateRedis(['--requirepass', PASSWORD]);
    sentinel = await startRedisWithSentinel(dir, { redis: [await freePort(), await freePort()], sentinels: [await freePort(), await freePort(), await freePort()] }, () => {}, PASSWORD);
    for (let i = 0; i < 3; i++) nodes.push(await startRedisClusterNode(dir, undefined, ['--requirepass', PASSWORD, '--masterauth', PASSWORD]));
    const addresses = nodes.map((node) => `127.0.0.1:${node.port}`);
    const create = spawnSync('redis-cli', ['-a', PASSWORD, '--no-auth-warning', '--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8' });
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed:\n${create.stdout}${create.stderr}`);
    await until(
      () => spawnSync('redis-cli', ['-a', PASSWORD, '--no-auth-warning', '-p', String(nodes[0]!.port), 'cluster', 'info'], { encoding: 'utf8' }).stdout.includes('cluster_state:ok'),
      'the cluster is ok',
      10_000,
    );
  }, 90_000);

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => closeRedis(client)));
  });

  afterAll(async () => {
    await single?.stop();
    await sentinel?.stop();
    await Promise.all(nodes.map((node) => node.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  /** The REDIS_* variables of each deployment shape, its URL's host and port left to `url`. */
  function modes(): Array<{ mode: string; env: (url: (hostPort: string) => string) => NodeJS.ProcessEnv }> {
    return [
      { mode: 'one server', env: (url) => ({ REDIS_URL: url(`127.0.0.1:${single.port}`) }) },
      { mode: 'Sentinel', env: (url) => ({ REDIS_URL: url('primary'), REDIS_SENTINELS: sentinel.redis.sentinels.join(','), REDIS_SENTINEL_NAME: SENTINEL_NAME }) },
      { mode: 'Cluster', env: (url) => ({ REDIS_URL: url('cluster'), REDIS_CLUSTER_NODES: nodes.map((node) => `127.0.0.1:${node.port}`).join(',') }) },
    ];
  }

  it('authenticates as REDIS_URL\'s user information, in every mode, and no log line shows it', async () => {
    for (const { mode, env } of modes()) {
      const config = loadServiceConfig({ dir: CONFIG_DIR, env: env((hostPort) => `redis://:${PASSWORD}@${hostPort}/0`) });
      const lines: Array<Record<string, unknown>> = [];
      const client = openRedis({ ...config.redis, name: 'password-test' }, loggerInto(lines, 'debug'));
      clients.push(client);
      expect(await whenRedisReady(client, 5000), mode).toBeUndefined();
      await client.set(`floorplan:password-test:{${mode}}`, mode);
      expect(await client.get(`floorplan:password-test:{${mode}}`), mode).toBe(mode);
      expect(JSON.stringify(lines), mode).not.toContain(PASSWORD);
    }
  }, 30_000);

  it('refuses ?password= at start in every mode, naming the setting and not the password, before any connection could go without it', () => {
    for (const { mode, env } of modes()) {
      let refused: unknown;
      try {
        loadServiceConfig({ dir: CONFIG_DIR, env: env((hostPort) => `redis://${hostPort}/0?password=${PASSWORD}`) });
      } catch (error) {
        refused = error;
      }
      expect(refused, mode).toBeInstanceOf(FloorplanError);
      expect((refused as FloorplanError).code, mode).toBe(ErrorCode.CONFIG_INVALID);
      expect((refused as Error).message, mode).toMatch(/`redis\.url` must have no query parameters.*\?password=\*\*\*.*\(set by REDIS_URL\)/);
      expect((refused as Error).message, mode).not.toContain(PASSWORD);
    }
  });
});
