/**
 * Layout candidates and shadow comparison with every real part: PostgreSQL (a database of this
 * suite's own on the machine's server), a private Redis, demo upstreams that count their calls,
 * and two Floorplan processes started as `npm start` starts them. Each replica shadow-compares
 * every live request for a scene with a candidate (LAYOUT_SHADOW_SAMPLE_RATIO=1). The replicas
 * reach PostgreSQL through a proxy the suite can cut, and Redis is the suite's own to stop.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

/** The value of one series in a /metrics text (0 when absent). */
const counted = (text: string, series: string) => Number(text.split('\n').find((l) => l.startsWith(`${series} `))?.split(' ')[1] ?? 0);

/** Polls `read` until it gives something, with {@link until}; resolves with that. */
async function eventually<T>(read: () => Promise<T | undefined>, what: string): Promise<T> {
  let value: T | undefined;
  await until(async () => (value = await read()) !== undefined, what);
  return value as T;
}

const ADMIN_TOKEN = 'candidates-suite-admin-token';
const SCENE = 'cart-bottom-sheet';
const CART = readFileSync('floors/cart-bottom-sheet.yaml', 'utf8');
const CHECKOUT = readFileSync('floors/checkout-summary.yaml', 'utf8');
const floorsAt = (version: string, edit: (s: string) => string = (s) => s) => ({
  'cart-bottom-sheet.yaml': edit(CART.replace('version: "2026-11-21.1"', `version: "${version}"`)),
  'checkout-summary.yaml': CHECKOUT,
});
/** The candidate's one visible change: the coupon row's name. */
const renameCoupon = (s: string) => s.replace('name: { zh-CN: 优惠券, en: Coupons }', 'name: { zh-CN: 优惠券抵扣, en: Coupon savings }');
const CANARY = 'u1001';
const OTHER = 'u-basic';

describe.skipIf(!HAS_REDIS_SERVER || !HAS_POSTGRES)('layout candidates across two replicas (PostgreSQL, Redis, two Floorplan processes)', () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let redis: PrivateRedis;
  let demo: DemoUpstreams;
  let dir: string;
  const tokens: Record<string, string> = {};
  const replicas: FloorplanProcess[] = [];

  const storeUrl = () => {
    const url = new URL(database.url);
    url.port = String(proxy.port);
    return url.toString();
  };
  const env = (name: string) =>
    storeReplicaEnv({ name, redisUrl: redis.url, storeUrl: storeUrl(), dir, upstreams: demo.baseUrls, adminToken: ADMIN_TOKEN }, { LAYOUT_SHADOW_SAMPLE_RATIO: '1' });

  interface Panel {
    layoutVersion: string;
    floors: Array<{ code: string; name: string; priceText: string | null }>;
  }
  /**
   * A user's panel from a replica; it must have floors. One degraded by an upstream call that
   * failed on a busy machine (the upstreams are not what this suite tests) is asked for again,
   * at most twice; what the replica answered is quoted if it still has no floors.
   */
  async function panel(replica: FloorplanProcess, user: string): Promise<Panel> {
    for (let attempt = 1; ; attempt++) {
      const res = await replica.fetch('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[user]}` },
        body: JSON.stringify({ query: `{ floorPanel(scene: "${SCENE}") { layoutVersion failedUpstreams floors { code name priceText } } }` }),
      });
      const text = await res.text();
      const { failedUpstreams, ...found } = (JSON.parse(text) as { data: { floorPanel: Panel & { failedUpstreams: string[] } } }).data.floorPanel;
      if (failedUpstreams.length > 0 && attempt < 3) continue;
      expect(found.floors.length, `${replica.url} answered ${res.status} ${text}`).toBeGreaterThan(0);
      return found;
    }
  }

  /** How long until every replica gives each user the version wanted; fails after 5 s. */
  async function convergence(wanted: Readonly<Record<string, string>>): Promise<number> {
    const started = Date.now();
    for (;;) {
      const seen = await Promise.all(replicas.flatMap((r) => Object.keys(wanted).map(async (user) => [user, (await panel(r, user)).layoutVersion] as const)));
      if (seen.every(([user, version]) => wanted[user] === version)) return Date.now() - started;
      if (Date.now() - started > 5000) throw new Error(`replicas serve ${JSON.stringify(seen)}, not ${JSON.stringify(wanted)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async function admin(replica: FloorplanProcess, operation: string, body: unknown): Promise<{ status: number; body: Record<string, any> }> {
    const res = await replica.fetch(`/admin/layouts/${operation}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  }

  async function floors(args: readonly string[]): Promise<CliRun> {
    return runFloorsCli(args, npmStartEnv({ REDIS_URL: redis.url, LAYOUT_STORE: 'postgres', LAYOUT_STORE_URL: database.url, ADMIN_TOKEN }));
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    const target = new URL(database.url);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    redis = await startPrivateRedis();
    demo = await startDemoUpstreams({ port: 0 });
    dir = mkdtempSync(join(tmpdir(), 'floorplan-candidates-'));
    cpSync('floors', join(dir, 'local'), { recursive: true });
    const auth = loadServiceConfig({ env: {} }).auth;
    for (const user of [CANARY, OTHER]) tokens[user] = await signDemoToken(auth, { userId: user });
    replicas.push(...(await Promise.all(['a', 'b'].map(async (name) => startFloorplanProcess({ ...env(name), PORT: String(await freePort()) }, 60_000)))));
  }, 120_000);

  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.terminate()));
    await demo?.close();
    await redis?.stop();
    await proxy?.close();
    await database?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('serves a candidate to its allow-list only, compares it in the shadow without extra upstream calls, promotes it and rolls back on both replicas within 2 s', async () => {
    const [a, b] = replicas as [FloorplanProcess, FloorplanProcess];
    const live = await admin(a, 'publish', { files: floorsAt('live-1'), message: 'baseline' });
    expect(live.status).toBe(200);
    await convergence({ [CANARY]: 'live-1', [OTHER]: 'live-1' });
    /** Four requests per user per replica, one after the other. */
    const burst = async () => {
      for (let i = 0; i < 4; i++) for (const replica of replicas) for (const user of [CANARY, OTHER]) await panel(replica, user);
    };
    // Upstream calls for a burst without a candidate, right after a warm-up burst (promotion
    // answers are cached across requests for ttlSeconds: they are counted, not assumed).
    await burst();
    demo.resetCalls();
    await burst();
    const callsWithoutCandidate = demo.calls();
    expect(callsWithoutCandidate).toMatchObject({ cart: 16, settlement: 16 });

    // The candidate, published on b, reaches a through Redis.
    const published = await admin(b, 'candidate', { scene: SCENE, files: floorsAt('cand-1', renameCoupon), rollout: { allowList: [CANARY] }, message: 'rename the coupon row' });
    expect(published.status).toBe(200);
    expect(published.body).toMatchObject({ revision: { revision: 2, parent: 1 }, layoutVersion: 'cand-1+candidate.r2', pushed: true, candidate: { scene: SCENE, revision: 2, rollout: { allowList: [CANARY], percentage: 0 } } });
    expect(await convergence({ [CANARY]: 'cand-1+candidate.r2', [OTHER]: 'live-1' })).toBeLessThanOrEqual(2000);
    const canary = await panel(a, CANARY);
    expect(canary.floors.find((f) => f.code === 'coupon')?.name).toBe('优惠券抵扣');
    expect((await panel(a, OTHER)).floors.find((f) => f.code === 'coupon')?.name).toBe('优惠券');
    // The operator preview shows each user what they get, and why.
    for (const [user, served, version] of [[CANARY, true, 'cand-1+candidate.r2'], [OTHER, false, 'live-1']] as const) {
      const preview = { body: (await (await fetch(`${b.url}/admin/preview`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` }, body: JSON.stringify({ userId: user, scene: SCENE }) })).json()) as Record<string, any> };
      expect(preview.body).toMatchObject({ layoutVersion: version, candidate: { revision: 2, flag: `layout.candidate.${SCENE}`, served } });
      expect(preview.body.flags).toContainEqual({ flag: `layout.candidate.${SCENE}`, enabled: served });
    }

    // The shadow: the other user's live requests also render the candidate, from the same data,
    // and the upstreams are called exactly as often as for the same requests before the candidate.
    await burst();
    demo.resetCalls();
    await burst();
    expect(demo.calls()).toEqual(callsWithoutCandidate);
    // Each replica compares its own requests and adds them to the totals in Redis: either replica reports both's.
    const reports = await eventually(async () => {
      const r = await Promise.all(replicas.map((replica) => admin(replica, 'shadow', { scene: SCENE })));
      return r.every((x) => x.body.compared + x.body.skipped >= 16) && r[0]!.body.compared === r[1]!.body.compared ? r : undefined;
    }, 'either replica reports the 8 live requests each replica compared');
    for (const { status, body: report } of reports) {
      expect(status).toBe(200);
      expect(report.scope).toBe('all replicas');
      // Every live request of the other user (the bursts' and the convergence polls') differs in the coupon row's name only;
      // the allow-listed user was served the candidate, so is never compared.
      expect(report).toMatchObject({ scene: SCENE, candidateRevision: 2, identical: 0, different: report.compared, skipped: 0, failed: 0, invariantViolations: { candidate: 0, both: 0 } });
      expect(report.differences).toEqual({ coupon: { name: report.compared } });
      expect(report.examples[0]).toMatchObject({ user: expect.stringMatching(/^[0-9a-f]{12}$/), locale: 'zh-CN', differences: [
          { floor: 'coupon', field: 'name', served: '优惠券', candidate: '优惠券抵扣' },
          // Compared in the other configured locale too, from the same data.
          { floor: 'coupon', field: 'name', served: 'Coupons', candidate: 'Coupon savings', locale: 'en' },
        ],
      });
      expect(JSON.stringify(report)).not.toContain(OTHER);
    }
    // Each replica's metrics count its own comparisons; together they are the report's.
    const byReplica = await Promise.all(replicas.map(async (r) => (await fetch(`${r.url}/metrics`)).text()));
    expect(byReplica.map((m) => counted(m, `floorplan_shadow_comparisons_total{scene="${SCENE}",result="different"}`)).every((n) => n >= 8)).toBe(true);
    expect(byReplica.reduce((sum, m) => sum + counted(m, `floorplan_shadow_comparisons_total{scene="${SCENE}",result="different"}`), 0)).toBe(reports[0]!.body.compared);
    expect(byReplica.reduce((sum, m) => sum + counted(m, `floorplan_shadow_differences_total{scene="${SCENE}",floor="coupon",field="name"}`), 0)).toBe(reports[0]!.body.compared);
    for (const metrics of byReplica) {
      // At 0 from the scene's first comparison, so an alert's rate() sees the first violation.
      expect(metrics).toContain(`floorplan_shadow_invariant_violations_total{scene="${SCENE}"} 0`);
      expect(metrics).toContain(`floorplan_layout_candidate{scene="${SCENE}"} 2`);
    }

    // Promote on a: the candidate's floors go live everywhere as revision 3, recording it.
    const promoted = await admin(a, 'promote', { scene: SCENE });
    expect(promoted.status).toBe(200);
    expect(promoted.body).toMatchObject({ revision: { revision: 3, promotes: 2, parent: 1 }, promotes: 2, forced: false, pushed: true });
    expect(await convergence({ [CANARY]: 'cand-1', [OTHER]: 'cand-1' })).toBeLessThanOrEqual(2000);

    // Roll back to the baseline: both replicas within 2 s.
    const rollback = await admin(b, 'rollback', { revision: 1, message: 'back to the baseline' });
    expect(rollback.body.revision).toMatchObject({ revision: 4, rollbackOf: 1 });
    expect(await convergence({ [CANARY]: 'live-1', [OTHER]: 'live-1' })).toBeLessThanOrEqual(2000);

    const audit = await admin(a, 'audit', { limit: 4 });
    expect(audit.body.entries.map((e: { actor: string; action: string; revision: number }) => [e.actor, e.action, e.revision])).toEqual([
      ['admin', 'rollback', 4],
      ['admin', 'promote', 3],
      ['admin', 'candidate', 2],
      ['admin', 'publish', 1],
    ]);
  }, 60_000);

  it('refuses to promote a candidate whose panels do not add up in the shadow, on any replica, and promotes it with force, audited', async () => {
    const [a, b] = replicas as [FloorplanProcess, FloorplanProcess];
    // Without its instant-discount row, the candidate's rows no longer add up to the payable total for u1001.
    const dropInstantDiscount = (s: string) => s.replace(/  - code: lj\n(?:    .*\n)+\n/, '');
    const published = await admin(a, 'candidate', { scene: SCENE, files: floorsAt('no-lj', dropInstantDiscount), rollout: { allowList: [OTHER] } });
    expect(published.status).toBe(200);
    const revision = published.body.revision.revision as number;
    await convergence({ [CANARY]: 'live-1', [OTHER]: `no-lj+candidate.r${revision}` });
    await panel(a, CANARY);
    const report = await eventually(async () => {
      const r = (await admin(a, 'shadow', { scene: SCENE })).body;
      return r.compared >= 1 ? r : undefined;
    }, 'a live request of u1001 was compared');
    expect(report.invariantViolations.candidate).toBe(report.compared);
    expect(report.differences.lj).toEqual({ presence: report.compared });

    // Promote on b: the replicas add their violation counts up in Redis, so b refuses with both replicas' count, not only its own.
    const refused = await admin(b, 'promote', { scene: SCENE });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe(ErrorCode.LAYOUT_PROMOTE_REFUSED);
    const [onA, onB] = await Promise.all(replicas.map(async (r) => counted(await (await fetch(`${r.url}/metrics`)).text(), `floorplan_shadow_invariant_violations_total{scene="${SCENE}"}`)));
    // The convergence polls had u1001 (served live) compared on both replicas; either one reports both's.
    expect(onA).toBeGreaterThan(0);
    expect(onB).toBeGreaterThan(0);
    for (const replica of replicas) expect((await admin(replica, 'shadow', { scene: SCENE })).body.invariantViolations.candidate).toBe(onA! + onB!);
    expect(refused.body.error).toContain(`the candidate of ${SCENE} (revision ${revision}) must have no money-invariant violations in its shadow comparison to be promoted, but it has ${onA! + onB!} invariant violation(s)`);

    const forced = await admin(b, 'promote', { scene: SCENE, force: true, message: 'known gap, fixed server-side' });
    expect(forced.status).toBe(200);
    expect(forced.body).toMatchObject({ promotes: revision, forced: true });
    const [entry] = (await admin(a, 'audit', { limit: 1 })).body.entries;
    expect(entry).toMatchObject({ actor: 'admin', action: 'promote', detail: { promotes: revision, force: true, forced: true, invariantViolations: onA! + onB! } });

    await admin(a, 'rollback', { revision: 1 });
    await convergence({ [CANARY]: 'live-1', [OTHER]: 'live-1' });
  }, 60_000);

  it('runs the candidate operations from the command line: candidate from a folder, rollout, abort', async () => {
    const created = await floors(['candidate', SCENE, '--dir', join(dir, 'local'), '--allow', CANARY, '--message', 'from the folder']);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^candidate of cart-bottom-sheet: revision (\d+) by \S+ "from the folder"\nlayoutVersion for its users: 2026-11-21\.1\+candidate\.r\1\nrollout: allow-list \[u1001\], then 0 % by user id\npushed to every replica through Redis\n$/);
    const revision = Number(/revision (\d+)/.exec(created.stdout)![1]);
    await convergence({ [CANARY]: `2026-11-21.1+candidate.r${revision}`, [OTHER]: 'live-1' });

    const widened = await floors(['rollout', SCENE, '--percentage', '100', '--platforms', 'ios,android,web,unknown']);
    expect(widened.code).toBe(0);
    expect(widened.stdout).toContain('rollout: allow-list [u1001], then 100 % by user id (only platforms ios,android,web,unknown)');
    await convergence({ [CANARY]: `2026-11-21.1+candidate.r${revision}`, [OTHER]: `2026-11-21.1+candidate.r${revision}` });

    // From the command line, straight on the store: no shadow results here, so promote asks for --server or --force.
    const refused = await floors(['promote', SCENE]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('no shadow comparison here');

    const aborted = await floors(['abort', SCENE, '--message', 'not this week']);
    expect(aborted.code).toBe(0);
    expect(aborted.stdout).toContain(`aborted the candidate of ${SCENE} (revision ${revision}): its users get the live layout`);
    expect(await convergence({ [CANARY]: 'live-1', [OTHER]: 'live-1' })).toBeLessThanOrEqual(2000);

    const missing = await admin(replicas[0]!, 'promote', { scene: SCENE });
    expect(missing).toMatchObject({ status: 404, body: { code: ErrorCode.LAYOUT_CANDIDATE_NOT_FOUND } });
  }, 120_000);
  it('keeps serving a candidate through a Redis outage (changes reach both replicas from the store) and a PostgreSQL outage (changes refused with a clear error)', async () => {
    const [a, b] = replicas as [FloorplanProcess, FloorplanProcess];
    const live = (await panel(a, OTHER)).layoutVersion;
    const created = await admin(a, 'candidate', { scene: SCENE, files: floorsAt('outage-candidate', renameCoupon), rollout: { allowList: [CANARY] }, message: 'through outages' });
    expect(created.status).toBe(200);
    const candidate = created.body.layoutVersion as string;
    await convergence({ [CANARY]: candidate, [OTHER]: live });

    // Redis down: the change is recorded, cannot be pushed, and reaches both replicas from the store's poll.
    await redis.stop();
    const widened = await admin(a, 'rollout', { scene: SCENE, allowList: [CANARY, OTHER] });
    expect(widened.status).toBe(200);
    expect(widened.body.pushed).toBe(false);
    expect(widened.body.pushProblem).toMatch(/^Redis push failed \(.+\); replicas take the candidates from the store at their next poll$/);
    await convergence({ [CANARY]: candidate, [OTHER]: candidate });
    // The shadow report falls back to the answering replica's own comparisons, and says so.
    const report = await admin(a, 'shadow', { scene: SCENE });
    expect(report.status).toBe(200);
    expect(report.body).toMatchObject({ scope: 'this replica', problem: expect.stringMatching(/^the replicas' totals in Redis cannot be read \(.+\); these are this replica's$/) });

    // PostgreSQL unreachable too: candidate operations are refused and say why; both replicas keep serving the candidate.
    await proxy.cut();
    for (const [operation, body] of [['abort', { scene: SCENE }], ['rollout', { scene: SCENE, percentage: 50 }], ['promote', { scene: SCENE }]] as const) {
      const refused = await admin(b, operation, body);
      expect(refused.status, operation).toBe(503);
      expect(refused.body.code, operation).toBe(ErrorCode.LAYOUT_STORE_UNAVAILABLE);
      expect(refused.body.error, operation).toContain('must be reachable to change layouts, but it is not');
    }
    await convergence({ [CANARY]: candidate, [OTHER]: candidate });

    // Both back: an abort made on one replica reaches both.
    await redis.start();
    await proxy.restore();
    const aborted = await admin(b, 'abort', { scene: SCENE, message: 'after the outages' });
    expect(aborted.status).toBe(200);
    await convergence({ [CANARY]: live, [OTHER]: live });
  }, 120_000);
});
