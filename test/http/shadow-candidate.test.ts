/**
 * The shadow comparison of a layout candidate as an operator reads it, through real HTTP: live
 * traffic of users not in the candidate's rollout, the admin API's `shadow` report, `promote`
 * and the audit (README, "Canary a layout"). One process, PGlite, every live request sampled.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.ts';
import { PANEL_QUERY, startHarness, type Harness, type PanelResult } from '../support/harness.ts';
import { eventually } from '../support/measure.ts';
import { HAS_REDIS_SERVER, startPrivateRedis, type PrivateRedis } from '../support/redis-server.ts';
import { postLayoutAdmin } from '../support/layout-admin.ts';
import { loggerInto } from '../support/log-lines.ts';

const CART = readFileSync(join('floors', 'cart-bottom-sheet.yaml'), 'utf8');
const CHECKOUT = readFileSync(join('floors', 'checkout-summary.yaml'), 'utf8');
const SCENE = 'cart-bottom-sheet';
/** Allow-listed: served the candidate, so never compared. The live users below are. */
const CANARY = 'u1001';
const LIVE_USERS = ['u-basic', 'u-mj'] as const;

/** The shipped cart sheet at `version`, edited; the checkout sheet as shipped. */
const floors = (version: string, edit: (s: string) => string = (s) => s) => ({
  'cart-bottom-sheet.yaml': edit(CART).replace('version: "2026-11-21.1"', `version: "${version}"`),
  'checkout-summary.yaml': CHECKOUT,
});
/** A DEDUCTION expression floor with the wrong sign: it fails to build on every render. */
const addBogusFloor = (s: string) =>
  s.replace('\nvariants:\n', "\n  - code: bogus\n    kind: DEDUCTION\n    amount: 'money(100)'\n    name: { zh-CN: 假, en: Bogus }\n    sort: 36\n\nvariants:\n");
/** Without its instant-discount row, the candidate's rows no longer add up where a user has one. */
const dropInstantDiscount = (s: string) => s.replace(/  - code: lj\n(?:    .*\n)+\n/, '');

interface Report {
  candidateRevision: number;
  compared: number;
  identical: number;
  different: number;
  skipped: number;
  failed: number;
  differences: Record<string, Record<string, number>>;
  invariantViolations: { candidate: number; both: number };
  examples: Array<{ user: string; differences: Array<{ floor: string; field: string; served: unknown; candidate: unknown }> } & Record<string, unknown>>;
}

describe('the shadow comparison of a layout candidate, as an operator reads it', () => {
  let h: Harness;
  let dir: string;
  const logLines: Array<Record<string, unknown>> = [];

  const admin = (operation: string, body: unknown) => postLayoutAdmin(h.url, h.config.admin.token, operation, body);
  const panel = async (userId: string) => {
    const res = await h.graphql<PanelResult>(userId, PANEL_QUERY, { scene: SCENE });
    expect(res.status).toBe(200);
    return res.body.data!.floorPanel;
  };
  /** Stages a candidate for {@link CANARY} only, and waits until this replica serves it. */
  const stage = async (version: string, edit: (s: string) => string) => {
    const staged = await admin('candidate', { scene: SCENE, files: floors(version, edit), rollout: { allowList: [CANARY] } });
    expect(staged.status, JSON.stringify(staged.body)).toBe(200);
    const revision = staged.body.revision.revision as number;
    await eventually(() => panel(CANARY), (p) => p.layoutVersion === `${version}+candidate.r${revision}`);
    return revision;
  };
  /** The report once every one of `runs` sampled requests has been compared, skipped or failed. */
  const reportAfter = (runs: number) =>
    eventually(
      async () => (await admin('shadow', { scene: SCENE })).body as Report,
      (r) => r.compared + r.skipped + r.failed >= runs,
    );

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'floorplan-shadow-candidate-'));
    h = await startHarness({
      config: { layouts: { store: { kind: 'pglite', dataDir: join(dir, 'revisions') }, shadow: { sampleRatio: 1 } } },
      deps: { logger: loggerInto(logLines, 'debug') },
    });
    expect((await admin('publish', { files: floors('live-1'), message: 'baseline' })).status).toBe(200);
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('counts a candidate whose new floor fails to build on every render as different, naming the floor and the degraded panel', async () => {
    const revision = await stage('bogus', addBogusFloor);
    // The allow-listed user sees what everyone would get after promote: a degraded panel.
    expect((await h.graphql<{ floorPanel: { degraded: boolean } }>(CANARY, `{ floorPanel(scene: "${SCENE}") { degraded } }`)).body.data!.floorPanel.degraded).toBe(true);
    for (const user of LIVE_USERS) expect((await panel(user)).degraded).toBe(false);

    const report = await reportAfter(LIVE_USERS.length);
    expect(report).toMatchObject({ candidateRevision: revision, compared: 2, identical: 0, different: 2, skipped: 0, failed: 0 });
    expect(report.differences.bogus).toEqual({ build: 2 });
    expect(report.differences['(panel)']).toEqual({ degradedReasons: 2 });
    const example = report.examples[0]!;
    expect(example.differences).toContainEqual({ floor: 'bogus', field: 'build', served: null, candidate: expect.stringMatching(/^builder-failed: FLOORPLAN_ERR_EXPRESSION_FAILED/) });
    expect(example.differences).toContainEqual({ floor: '(panel)', field: 'degradedReasons', served: [], candidate: ['BUILDER_FAILED'] });
    expect((await admin('abort', { scene: SCENE })).status).toBe(200);
  });

  it('refuses to promote a candidate the shadow compared none of, saying what to do, and promotes it with force, audited with the count', async () => {
    const revision = await stage('no-lj', dropInstantDiscount);
    // Nothing was compared: no live request of the scene since it was staged (the canary's are served the candidate).
    expect((await admin('shadow', { scene: SCENE })).body).toMatchObject({ candidateRevision: revision, compared: 0 });
    const refused = await admin('promote', { scene: SCENE });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe(ErrorCode.LAYOUT_PROMOTE_REFUSED);
    expect(refused.body.error).toContain(`the candidate of ${SCENE} (revision ${revision}) must have no money-invariant violations in its shadow comparison to be promoted, but it has no comparison yet`);
    expect(refused.body.error).toContain('layouts.shadow.sampleRatio');
    expect(refused.body.error).toContain('force');
    expect((await panel(CANARY)).layoutVersion).toBe(`no-lj+candidate.r${revision}`);

    const forced = await admin('promote', { scene: SCENE, force: true, message: 'no traffic on a Sunday' });
    expect(forced.status, JSON.stringify(forced.body)).toBe(200);
    expect(forced.body).toMatchObject({ promotes: revision, forced: true, invariantViolations: 0, compared: 0 });
    const [entry] = (await admin('audit', { limit: 1 })).body.entries;
    expect(entry).toMatchObject({ action: 'promote', detail: { promotes: revision, force: true, forced: true, invariantViolations: 0, compared: 0 } });
    // Back to the baseline for the next test.
    expect((await admin('rollback', { revision: 1 })).status).toBe(200);
  });

  it('promotes a candidate the shadow compared without violations, recording how many panels were compared beside the violations', async () => {
    const revision = await stage('renamed', (s) => s.replace('name: { zh-CN: 优惠券, en: Coupons }', 'name: { zh-CN: 优惠券抵扣, en: Coupon savings }'));
    for (const user of LIVE_USERS) await panel(user);
    await reportAfter(LIVE_USERS.length);
    const promoted = await admin('promote', { scene: SCENE });
    expect(promoted.status, JSON.stringify(promoted.body)).toBe(200);
    expect(promoted.body).toMatchObject({ promotes: revision, forced: false, invariantViolations: 0, compared: 2 });
    const [entry] = (await admin('audit', { limit: 1 })).body.entries;
    expect(entry).toMatchObject({ action: 'promote', detail: { promotes: revision, force: false, forced: false, invariantViolations: 0, compared: 2 } });
    expect((await admin('rollback', { revision: 1 })).status).toBe(200);
  });

  it('skips, not counts as identical, comparisons whose served panel was degraded by an outage, saying why', async () => {
    const revision = await stage('outage', (s) => s.replace('name: { zh-CN: 优惠券, en: Coupons }', 'name: { zh-CN: 优惠券抵扣, en: Coupon savings }'));
    try {
      // Promotion down: the served panel loses its discount rows; cart down: it loses every row.
      for (const fault of ['promotion:error:503', 'cart:error:503']) {
        h.demo.setFaults(fault);
        expect((await panel('u-basic')).degraded, fault).toBe(true);
      }
    } finally {
      h.demo.setFaults('');
    }
    const report = await reportAfter(2);
    expect(report).toMatchObject({ candidateRevision: revision, compared: 0, identical: 0, different: 0, skipped: 2, failed: 0, skippedBy: { 'served-degraded': 2 } });
    // A healthy request is compared as before.
    await panel('u-basic');
    expect(await reportAfter(3)).toMatchObject({ compared: 1, different: 1, skipped: 2, differences: { coupon: { name: 1 } } });
    expect((await admin('abort', { scene: SCENE })).status).toBe(200);
  });

  it('keeps an example of every floor and field that differs, however few users it differs for, with the viewer\'s platform, version and segments', async () => {
    const revision = await stage('two-renames', (s) =>
      s.replace('name: { zh-CN: 优惠券, en: Coupons }', 'name: { zh-CN: 优惠券抵扣, en: Coupon savings }').replace('name: { zh-CN: 满减, en: Spend & save }', 'name: { zh-CN: 满额减, en: Spend & save }'),
    );
    // u-basic's coupon row differs; only u-mj has a 满减 row (and no coupon), and asks last.
    for (let i = 0; i < 6; i++) await panel('u-basic');
    const res = await h.graphql<PanelResult>('u-mj', PANEL_QUERY, { scene: SCENE }, { 'x-app-version': '12.3.0', 'x-app-platform': 'android' });
    expect(res.status).toBe(200);
    const report = await reportAfter(7);
    expect(report).toMatchObject({ candidateRevision: revision, compared: 7, different: 7, differences: { coupon: { name: 6 }, mj: { name: 1 } } });
    const mj = report.examples.find((e) => e.differences.some((d) => d.floor === 'mj'));
    expect(mj).toMatchObject({ locale: 'zh-CN', differences: expect.arrayContaining([{ floor: 'mj', field: 'name', served: '满减', candidate: '满额减' }]) });
    expect(mj).toMatchObject({ platform: 'android', appVersion: '12.3.0', segments: expect.any(Array) });
    expect(report.examples.length).toBeLessThanOrEqual(6);
    expect(JSON.stringify(report)).not.toContain('u-mj');
    expect((await admin('abort', { scene: SCENE })).status).toBe(200);
  });
});

describe.skipIf(!HAS_REDIS_SERVER)('the shadow comparison of a candidate staged again, with Redis', () => {
  let h: Harness;
  let dir: string;
  let redis: PrivateRedis;

  const admin = async (operation: string, body: unknown) => {
    const res = await fetch(`${h.url}/admin/layouts/${operation}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${h.config.admin.token}` },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const layoutVersion = async (userId: string) => (await h.graphql<PanelResult>(userId, PANEL_QUERY, { scene: SCENE })).body.data!.floorPanel.layoutVersion;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'floorplan-shadow-restaged-'));
    redis = await startPrivateRedis();
    h = await startHarness({ config: { redis: { url: redis.url }, layouts: { store: { kind: 'pglite', dataDir: join(dir, 'revisions') }, shadow: { sampleRatio: 1 } } } });
    expect((await admin('publish', { files: floors('live-1'), message: 'baseline' })).status).toBe(200);
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('starts the totals from zero when an aborted revision is staged again, so its old violations neither count nor block it', async () => {
    const staged = await admin('candidate', { scene: SCENE, files: floors('no-lj', dropInstantDiscount), rollout: { allowList: ['u-basic'] } });
    const revision = staged.body.revision.revision as number;
    await eventually(() => layoutVersion('u-basic'), (v) => v === `no-lj+candidate.r${revision}`);
    // u1001 has an instant discount: the candidate's rows do not add up for it.
    await layoutVersion(CANARY);
    const first = await eventually(async () => (await admin('shadow', { scene: SCENE })).body as Report & { scope: string }, (r) => r.compared >= 1);
    expect(first).toMatchObject({ scope: 'all replicas', candidateRevision: revision, compared: 1, invariantViolations: { candidate: 1 } });
    expect((await admin('abort', { scene: SCENE })).status).toBe(200);

    // The same revision staged again (fixed server-side, say): a new staging, compared afresh.
    expect((await admin('candidate', { scene: SCENE, revision, rollout: { allowList: ['u-basic'] } })).status).toBe(200);
    await eventually(() => layoutVersion('u-basic'), (v) => v === `no-lj+candidate.r${revision}`);
    const again = (await admin('shadow', { scene: SCENE })).body as Report & { scope: string };
    expect(again).toMatchObject({ scope: 'all replicas', candidateRevision: revision, compared: 0, invariantViolations: { candidate: 0, both: 0 } });
    expect(again.examples).toEqual([]);
    const refused = await admin('promote', { scene: SCENE });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toContain('but it has no comparison yet');
  });
});
