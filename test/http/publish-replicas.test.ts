import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadServiceConfig } from '../../src/config/service-config.ts';
import { startDemoUpstreams, type DemoUpstreams } from '../../src/demo-upstreams/server.ts';
import { signDemoToken } from '../../src/viewer/demo-token.ts';
import { freePort, npmStartEnv, runFloorsCli, type CliRun } from '../support/processes.ts';
import { HAS_REDIS_SERVER, startPrivateRedis, type PrivateRedis } from '../support/redis-server.ts';

describe.skipIf(!HAS_REDIS_SERVER)('floors:publish across replicas (two Floorplan processes, real Redis)', () => {
  let redis: PrivateRedis;
  let demo: DemoUpstreams;
  let dir: string;
  let token: string;
  const replicas: Array<{ child: ChildProcess; url: string }> = [];

  const replicaEnv = (port: number) =>
    npmStartEnv({
      PORT: String(port),
      REDIS_URL: redis.url,
      DEMO_UPSTREAMS: 'off',
      UPSTREAM_CART_URL: demo.baseUrls.cart,
      UPSTREAM_PROMOTION_URL: demo.baseUrls.promotion,
      UPSTREAM_SETTLEMENT_URL: demo.baseUrls.settlement,
      FLOORS_DIR: join(dir, 'local'),
      LOG_LEVEL: 'warn',
    });

  async function startReplica(): Promise<{ child: ChildProcess; url: string }> {
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env: replicaEnv(port), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 150; i++) {
      const ready = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
      if (ready) {
        const replica = { child, url };
        replicas.push(replica);
        return replica;
      }
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGKILL');
    throw new Error(`replica did not become ready: ${stderr}`);
  }

  /**
   * The layout version a replica's panel says. A cold replica on a CPU-starved machine may refuse
   * its first panels as OVERLOADED (its deadline ran out while its code warmed up); like an app,
   * this asks again after the answer's Retry-After, at most twice.
   */
  async function layoutVersion(url: string): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      const res = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: '{ floorPanel(scene: "cart-bottom-sheet") { layoutVersion floors { code name } } }' }),
      });
      const text = await res.text();
      const body = JSON.parse(text) as { data: { floorPanel: { layoutVersion: string } } | null; errors?: Array<{ extensions?: { code?: string; retryAfterMs?: number } }> };
      const overloaded = res.status === 503 ? body.errors?.find((e) => e.extensions?.code === 'OVERLOADED') : undefined;
      if (overloaded !== undefined && attempt < 3) {
        await new Promise((r) => setTimeout(r, overloaded.extensions?.retryAfterMs ?? 1000));
        continue;
      }
      if (body.data === null) throw new Error(`${url} answered ${res.status} with no panel: ${text}`);
      return body.data.floorPanel.layoutVersion;
    }
  }

  async function publish(version: string): Promise<CliRun> {
    const source = readFileSync('floors/cart-bottom-sheet.yaml', 'utf8').replace('version: "2026-11-21.1"', `version: "${version}"`);
    writeFileSync(join(dir, 'publish', 'cart-bottom-sheet.yaml'), source);
    return runFloorsCli(['publish', '--dir', join(dir, 'publish')], npmStartEnv({ REDIS_URL: redis.url }));
  }

  beforeAll(async () => {
    redis = await startPrivateRedis();
    demo = await startDemoUpstreams({ port: 0 });
    dir = mkdtempSync(join(tmpdir(), 'floorplan-publish-'));
    cpSync('floors', join(dir, 'local'), { recursive: true });
    cpSync('floors', join(dir, 'publish'), { recursive: true });
    token = await signDemoToken(loadServiceConfig({ env: {} }).auth, { userId: 'u1001' });
    await Promise.all([startReplica(), startReplica()]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(
      replicas.map(async ({ child }) => {
        if (child.exitCode !== null) return;
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        await exited;
      }),
    );
    await demo?.close();
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('swaps every running replica to the published layout within 2 s, and a replica started later loads it', async () => {
    const [a, b] = replicas;
    expect(await layoutVersion(a!.url)).toBe('2026-11-21.1');
    expect(await layoutVersion(b!.url)).toBe('2026-11-21.1');

    const published = await publish('2026-11-22.1');
    expect(published.code).toBe(0);
    const started = Date.now();
    let versions: string[] = [];
    while (Date.now() - started < 2000) {
      versions = await Promise.all([layoutVersion(a!.url), layoutVersion(b!.url)]);
      if (versions.every((v) => v === '2026-11-22.1')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(versions).toEqual(['2026-11-22.1', '2026-11-22.1']);

    const late = await startReplica();
    expect(await layoutVersion(late.url)).toBe('2026-11-22.1');
  });

  it('refuses to publish an invalid layout, and every replica keeps serving the last good one', async () => {
    writeFileSync(join(dir, 'publish', 'checkout-summary.yaml'), 'scene: checkout-summary\nfloors: []\n');
    const result = await publish('2026-11-22.2');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('checkout-summary.yaml');
    for (const { url } of replicas) expect(await layoutVersion(url)).toBe('2026-11-22.1');
  });
});
