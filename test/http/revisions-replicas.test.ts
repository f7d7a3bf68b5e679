/**
 * Layout revisions with every real part: PostgreSQL (a database of this suite's own on the
 * machine's server, reached through a proxy the suite can cut), a private Redis, and two
 * Floorplan processes started as `npm start` starts them.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadServiceConfig } from '../../src/config/service-config.ts';
import { startDemoUpstreams, type DemoUpstreams } from '../../src/demo-upstreams/server.ts';
import { ErrorCode } from '../../src/errors.ts';
import { signDemoToken } from '../../src/viewer/demo-token.ts';
import { startFloorplanProcess, storeReplicaEnv, type FloorplanProcess } from '../support/floorplan-process.ts';
import { createTestDatabase, HAS_POSTGRES, type TestDatabase } from '../support/postgres.ts';
import { freePort, npmStartEnv, runFloorsCli, type CliRun } from '../support/processes.ts';
import { HAS_REDIS_SERVER, startPrivateRedis, type PrivateRedis } from '../support/redis-server.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';
import { until } from '../support/until.ts';
import { postLayoutAdmin } from '../support/layout-admin.ts';

const ADMIN_TOKEN = 'revisions-suite-admin-token';
const CART = readFileSync('floors/cart-bottom-sheet.yaml', 'utf8');
const CHECKOUT = readFileSync('floors/checkout-summary.yaml', 'utf8');
/** The shipped floors with the cart sheet's version set to `version`. */
const floorsAt = (version: string) => ({ 'cart-bottom-sheet.yaml': CART.replace('version: "2026-11-21.1"', `version: "${version}"`), 'checkout-summary.yaml': CHECKOUT });

describe.skipIf(!HAS_REDIS_SERVER || !HAS_POSTGRES)('layout revisions across two replicas (PostgreSQL, Redis, two Floorplan processes)', () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let redis: PrivateRedis;
  let demo: DemoUpstreams;
  let dir: string;
  let token: string;
  const replicas: FloorplanProcess[] = [];

  const storeUrl = () => {
    const url = new URL(database.url);
    url.port = String(proxy.port);
    return url.toString();
  };
  const env = (name: string) => storeReplicaEnv({ name, redisUrl: redis.url, storeUrl: storeUrl(), dir, upstreams: demo.baseUrls, adminToken: ADMIN_TOKEN });
  const startReplica = async (name: string) => {
    const replica = await startFloorplanProcess({ ...env(name), PORT: String(await freePort()) }, 60_000);
    replicas.push(replica);
    return replica;
  };

  /**
   * The layout version a replica's panel says; the panel must have floors. A panel degraded by an
   * upstream call that failed on a busy machine (the upstreams are not what this suite tests) is
   * asked for again, at most twice; what a replica answered is quoted if it still has no floors.
   */
  async function layoutVersion(replica: FloorplanProcess): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      const res = await fetch(`${replica.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: '{ floorPanel(scene: "cart-bottom-sheet") { layoutVersion degraded failedUpstreams degradedReasons floors { code } } }' }),
      });
      const text = await res.text();
      const body = JSON.parse(text) as { data: { floorPanel: { layoutVersion: string; failedUpstreams: string[]; floors: unknown[] } } };
      const panel = body.data.floorPanel;
      if (panel.failedUpstreams.length > 0 && attempt < 3) continue;
      expect(panel.floors.length, `${replica.url} answered ${res.status} ${text}`).toBeGreaterThan(0);
      return panel.layoutVersion;
    }
  }

  /** How long until every replica serves `version`; fails after 5 s. */
  async function convergence(version: string, on: readonly FloorplanProcess[] = replicas): Promise<number> {
    const started = Date.now();
    for (;;) {
      const versions = await Promise.all(on.map(layoutVersion));
      if (versions.every((v) => v === version)) return Date.now() - started;
      if (Date.now() - started > 5000) throw new Error(`replicas serve ${versions.join(', ')}, not ${version}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  const admin = (replica: FloorplanProcess, operation: string, body: unknown) => postLayoutAdmin(replica.url, ADMIN_TOKEN, operation, body);

  async function readyz(replica: FloorplanProcess): Promise<{ layouts: { source: string; revision: number; store: string } }> {
    return (await (await fetch(`${replica.url}/readyz`)).json()) as never;
  }

  async function metric(replica: FloorplanProcess, line: string): Promise<string | undefined> {
    const text = await (await fetch(`${replica.url}/metrics`)).text();
    return text.split('\n').find((l) => l.startsWith(line));
  }

  /** `npm run -s floors:<command>` against the suite's store and Redis. */
  async function floors(args: readonly string[]): Promise<CliRun> {
    return runFloorsCli(args, npmStartEnv({ REDIS_URL: redis.url, LAYOUT_STORE: 'postgres', LAYOUT_STORE_URL: storeUrl() }));
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    const target = new URL(database.url);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    redis = await startPrivateRedis();
    demo = await startDemoUpstreams({ port: 0 });
    dir = mkdtempSync(join(tmpdir(), 'floorplan-revisions-'));
    cpSync('floors', join(dir, 'local'), { recursive: true });
    token = await signDemoToken(loadServiceConfig({ env: {} }).auth, { userId: 'u1001' });
    await Promise.all([startReplica('a'), startReplica('b')]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.terminate()));
    await demo?.close();
    await redis?.stop();
    await proxy?.close();
    await database?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('publishes a submitted YAML set to both replicas, then rolls back to an earlier revision on both within 2 s', async () => {
    const [a, b] = replicas as [FloorplanProcess, FloorplanProcess];
    expect(await layoutVersion(a)).toBe('2026-11-21.1');
    expect((await readyz(a)).layouts).toEqual({ source: 'file', revision: 0, store: 'up' });

    const first = await admin(a, 'publish', { files: floorsAt('rev-1'), message: 'baseline' });
    expect(first.status).toBe(200);
    expect(first.body.revision).toMatchObject({ revision: 1, author: 'admin', message: 'baseline' });
    expect(first.body.pushProblem).toBeUndefined();
    expect(first.body.pushed).toBe(true);
    expect(await convergence('rev-1')).toBeLessThanOrEqual(2000);

    const second = await admin(b, 'publish', { files: floorsAt('rev-2'), message: 'new sheet', author: 'dana' });
    expect(second.body.revision).toMatchObject({ revision: 2, author: 'dana', parent: 1 });
    await convergence('rev-2');

    const rollback = await admin(b, 'rollback', { revision: 1, message: 'rev-2 breaks old apps' });
    expect(rollback.status).toBe(200);
    expect(rollback.body.revision).toMatchObject({ revision: 3, rollbackOf: 1, parent: 2 });
    const rolledBackMs = await convergence('rev-1');
    expect(rolledBackMs).toBeLessThanOrEqual(2000);
    for (const replica of replicas) expect((await readyz(replica)).layouts).toMatchObject({ revision: 3, store: 'up' });

    const audit = await admin(a, 'audit', { limit: 3 });
    expect(audit.body.entries.map((e: { actor: string; action: string; revision: number }) => [e.actor, e.action, e.revision])).toEqual([
      ['admin', 'rollback', 3],
      ['admin', 'publish', 2],
      ['admin', 'publish', 1],
    ]);
    expect(audit.body.entries[1].detail).toMatchObject({ author: 'dana', message: 'new sheet' });
  });

  it('runs the same operations from the command line: publish from a folder, history, diff, rollback', async () => {
    const before = (await admin(replicas[0]!, 'history', { limit: 1 })).body.live as number;
    const published = await floors(['publish', '--dir', 'floors', '--message', 'from the folder']);
    expect(published.stderr).toBe('');
    expect(published.code).toBe(0);
    // The actor (and author, without --author) is the operating-system user who ran the command.
    expect(published.stdout).toContain(`published revision ${before + 1} (live) by ${userInfo().username} "from the folder"; parent ${before}`);
    expect(published.stdout).toContain('pushed to every replica through Redis');
    await convergence('2026-11-21.1');

    const history = await floors(['history', '--limit', '3']);
    expect(history.stdout.split('\n').filter(Boolean).map((l) => l.slice(0, 2).trim() + l.slice(2, 6).trim())).toEqual([`*${before + 1}`, `${before}`, `${before - 1}`].slice(0, Math.min(3, before + 1)));

    const diff = await floors(['diff', '1', String(before + 1)]);
    expect(diff.stdout).toContain(`revision 1 → ${before + 1}\ncart-bottom-sheet: version "rev-1" → "2026-11-21.1"`);

    const rollback = await floors(['rollback', '2', '--author', 'erin']);
    expect(rollback.stdout).toContain(`rolled back as revision ${before + 2} (live) by erin "rollback to revision 2"; parent ${before + 1}, restores revision 2`);
    await convergence('rev-2');
  }, 180_000);

  it('records both of two racing publishes, serves one of them everywhere, and loses no revision', async () => {
    const [a, b] = replicas as [FloorplanProcess, FloorplanProcess];
    const before = (await admin(a, 'history', { limit: 1 })).body.live as number;
    const [x, y] = await Promise.all([
      admin(a, 'publish', { files: floorsAt('race-a'), message: 'a' }),
      admin(b, 'publish', { files: floorsAt('race-b'), message: 'b' }),
    ]);
    expect([x.status, y.status]).toEqual([200, 200]);
    const numbers = [x.body.revision.revision, y.body.revision.revision].sort();
    expect(numbers).toEqual([before + 1, before + 2]);
    const [earlier, later] = x.body.revision.revision < y.body.revision.revision ? [x, y] : [y, x];
    expect(earlier.body.revision.parent).toBe(before);
    expect(later.body.revision.parent).toBe(earlier.body.revision.revision);
    await convergence(later === x ? 'race-a' : 'race-b');
    const history = await admin(a, 'history', { limit: 100 });
    expect(history.body.live).toBe(before + 2);
    expect(history.body.revisions.map((r: { revision: number }) => r.revision)).toEqual(Array.from({ length: before + 2 }, (_, i) => before + 2 - i));
  });

  it('keeps serving while PostgreSQL is unreachable, refuses to publish with a clear error, and starts replicas from Redis or their last-known-good copy', async () => {
    const [a] = replicas as [FloorplanProcess, FloorplanProcess];
    const live = await layoutVersion(a);
    const liveRevision = (await admin(a, 'history', { limit: 1 })).body.live as number;
    // Every replica has it (and Redis announced it) before the store goes away.
    await until(async () => (await Promise.all(replicas.map(readyz))).every((r) => r.layouts.revision === liveRevision), 'every replica serves the live revision');
    await proxy.cut();

    const refused = await admin(a, 'publish', { files: floorsAt('during-outage'), message: 'should not land' });
    expect(refused.status).toBe(503);
    expect(refused.body.code).toBe(ErrorCode.LAYOUT_STORE_UNAVAILABLE);
    expect(refused.body.error).toMatch(/^the layout revision store \(PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:\d+\/\w+_test_\w+\) must be reachable to change layouts, but it is not: .+; nothing was changed, every replica keeps serving the live revision$/);
    for (const replica of replicas) expect(await layoutVersion(replica)).toBe(live);
    expect((await readyz(a)).layouts).toMatchObject({ source: expect.stringMatching(/^(redis|store)$/), revision: liveRevision, store: 'down' });
    expect(await metric(a, 'floorplan_layout_store_up ')).toBe('floorplan_layout_store_up 0');

    const cli = await floors(['history']);
    expect(cli.code).toBe(2);
    // A read: nothing was to be changed, and it does not say otherwise.
    expect(cli.stderr).toMatch(/ must be reachable to read layout revisions, but it is not: .+; every replica keeps serving the live revision\n$/);

    // A replica starting now: PostgreSQL is down, Redis has the live revision.
    const c = await startReplica('c');
    expect(await layoutVersion(c)).toBe(live);
    expect((await readyz(c)).layouts).toMatchObject({ source: 'redis', revision: liveRevision, store: 'down' });

    // Redis down too: a restarted replica serves its last-known-good copy, and says so.
    await c.terminate();
    replicas.pop();
    await redis.stop();
    expect(existsSync(join(dir, 'c-last-known-good.json'))).toBe(true);
    const restarted = await startReplica('c');
    expect(await layoutVersion(restarted)).toBe(live);
    expect((await readyz(restarted)).layouts).toMatchObject({ source: 'last-known-good', revision: liveRevision, store: 'down' });
    expect(await metric(restarted, 'floorplan_layout_served_from{source="last-known-good"}')).toBe('floorplan_layout_served_from{source="last-known-good"} 1');

    // Both back: publishing works again and reaches every replica, the restarted one included.
    await redis.start();
    await proxy.restore();
    const after = await admin(a, 'publish', { files: floorsAt('after-outage'), message: 'back' });
    expect(after.status).toBe(200);
    expect(after.body.revision.revision).toBe(liveRevision + 1);
    await convergence('after-outage');
    // The store's state is what its last use found: the next poll (every resyncIntervalMs) finds it up.
    await until(async () => (await readyz(restarted)).layouts.store === 'up', 'the restarted replica finds the store up again', 5000);
    expect((await readyz(restarted)).layouts).toMatchObject({ revision: liveRevision + 1, store: 'up' });
    expect(await metric(restarted, 'floorplan_layout_store_up ')).toBe('floorplan_layout_store_up 1');
  }, 120_000);
});
