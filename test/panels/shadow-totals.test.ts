/**
 * Every replica's shadow comparisons summed in a real Redis (a private redis-server): what the
 * admin API's `shadow` report and promote read with Redis.
 */
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.ts';
import type { ShadowExample, ShadowReport } from '../../src/panels/shadow.ts';
import { SharedShadowTotals } from '../../src/panels/shadow-totals.ts';
import { eventually } from '../support/measure.ts';
import { until } from '../support/until.ts';
import { connectReady, HAS_REDIS_SERVER, startPrivateRedis, type PrivateRedis } from '../support/redis-server.ts';

const SCENE = 'cart-bottom-sheet';

const STAGED = '2026-12-06T10:00:00.000Z';

/** An empty report of this replica for a staging, the shape SharedShadowTotals.report fills. */
const local = (revision: number, staged = STAGED): ShadowReport => ({
  scene: SCENE,
  candidateRevision: revision,
  staged,
  compared: 0,
  identical: 0,
  different: 0,
  skipped: 0,
  skippedBy: {},
  failed: 0,
  differences: {},
  invariantViolations: { candidate: 0, both: 0 },
  examples: [],
  cost: { totalMs: 0, maxMs: 0, meanMs: 0 },
  replica: { pid: process.pid, sampleRatio: 1 },
});

const example = (user: string, floors: readonly string[]): ShadowExample => ({
  user,
  locale: 'zh-CN',
  platform: 'ios',
  appVersion: '12.0.0',
  segments: [],
  at: new Date().toISOString(),
  differences: floors.map((floor) => ({ floor, field: 'name' as const, served: 'a', candidate: 'b' })),
});

describe.skipIf(!HAS_REDIS_SERVER)('shadow totals summed in Redis', () => {
  let server: PrivateRedis;
  const clients: Redis[] = [];
  let totals: SharedShadowTotals;

  beforeAll(async () => {
    server = await startPrivateRedis();
    totals = new SharedShadowTotals({ redis: await connectReady(server, clients), keyPrefix: 'test:', logger: createLogger('silent') });
  });

  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await server?.stop();
  });

  /** Adds a differing comparison showing `floors`, and waits until Redis has it. */
  const addDifferent = async (revision: number, user: string, floors: readonly string[], staged = STAGED) => {
    const before = (await totals.report(local(revision, staged))).compared;
    totals.add(SCENE, { revision, createdAt: staged }, { result: 'different', fields: floors.map((floor) => ({ floor, field: 'name' })), candidateViolation: false, bothViolation: false, seconds: 0.001, example: example(user, floors) });
    return eventually(() => totals.report(local(revision, staged)), (r) => r.compared === before + 1);
  };

  it('keeps an example of a floor and field first seen after the first few examples, once, beside them', async () => {
    for (let i = 0; i < 6; i++) await addDifferent(1, `basic${i}`, ['coupon']);
    await addDifferent(1, 'mj1', ['coupon', 'mj']);
    const report = await addDifferent(1, 'mj2', ['mj']);
    expect(report).toMatchObject({ scope: 'all replicas', compared: 8, differences: { coupon: { name: 7 }, mj: { name: 2 } } });
    expect(report.examples.map((e) => e.user)).toEqual(['basic0', 'basic1', 'basic2', 'basic3', 'basic4', 'mj1']);
    expect(report.examples[5]).toMatchObject({ platform: 'ios', appVersion: '12.0.0', segments: [] });
  });

  it('keeps each staging of a candidate apart: the same revision staged again starts from zero', async () => {
    await addDifferent(2, 'first', ['lj']);
    expect(await totals.verdict(SCENE, { revision: 2, createdAt: STAGED })).toEqual({ compared: 1, invariantViolations: 0 });
    const restaged = '2026-12-06T12:00:00.000Z';
    expect(await totals.verdict(SCENE, { revision: 2, createdAt: restaged })).toEqual({ compared: 0, invariantViolations: 0 });
    expect(await totals.report(local(2, restaged))).toMatchObject({ compared: 0, examples: [], staged: restaged });
    // The same moment written otherwise is the same staging.
    expect(await totals.verdict(SCENE, { revision: 2, createdAt: '2026-12-06T10:00:00Z' })).toEqual({ compared: 1, invariantViolations: 0 });
  });
});

/**
 * A replica's comparisons made while Redis cannot be reached: kept, and added to every replica's
 * totals once Redis answers again, so a promote answered by another replica still sees a
 * candidate panel that did not add up.
 */
describe.skipIf(!HAS_REDIS_SERVER)('shadow totals across a Redis outage', () => {
  let server: PrivateRedis;
  const clients: Redis[] = [];

  beforeAll(async () => {
    server = await startPrivateRedis();
  });

  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await server?.stop();
  });

  /** Two replicas' totals on the private Redis, each through its own client, under `keyPrefix`. */
  const twoReplicas = async (keyPrefix: string) => {
    const [redisA, redisB] = [await connectReady(server, clients), await connectReady(server, clients)];
    const replica = (redis: Redis) => new SharedShadowTotals({ redis, keyPrefix, logger: createLogger('silent') });
    return { redisA, redisB, replicaA: replica(redisA), replicaB: replica(redisB) };
  };
  const bothConnected = (a: Redis, b: Redis) => until(() => a.status === 'ready' && b.status === 'ready', 'both clients are connected again', 10_000);

  /** A comparison whose candidate panel did not add up, for `user`. */
  const broken = (user: string) => ({ result: 'different' as const, fields: [{ floor: 'new-customer', field: 'amount' as const }], candidateViolation: true, bothViolation: false, seconds: 0.002, example: example(user, ['new-customer']) });

  it("adds the comparisons a replica made while Redis was down once it is back, without waiting for another comparison", async () => {
    const { replicaA, replicaB } = await twoReplicas('outage:');
    const staging = { revision: 7, createdAt: STAGED };

    await server.stop();
    for (let i = 0; i < 3; i++) replicaA.add(SCENE, staging, broken('u-new'));
    // Let the adds fail against the stopped server before it comes back.
    await new Promise((r) => setTimeout(r, 500));
    await server.start();

    const seen = await eventually(() => replicaB.verdict(SCENE, staging).catch(() => ({ compared: -1, invariantViolations: -1 })), (v) => v.invariantViolations === 3, 10_000, 100);
    expect(seen).toEqual({ compared: 3, invariantViolations: 3 });
    const report = await replicaB.report(local(7));
    expect(report).toMatchObject({ scope: 'all replicas', different: 3, differences: { 'new-customer': { amount: 3 } }, invariantViolations: { candidate: 3, both: 0 } });
    expect(report.examples.map((e) => e.user)).toEqual(['u-new', 'u-new', 'u-new']);
  }, 30_000);

  it('adds what it kept when it stops, if Redis is back before the next retry', async () => {
    const { redisA, redisB, replicaA, replicaB } = await twoReplicas('stop-back:');
    const staging = { revision: 8, createdAt: STAGED };
    await server.stop();
    replicaA.add(SCENE, staging, broken('u-back'));
    await new Promise((r) => setTimeout(r, 100));
    await server.start();
    await bothConnected(redisA, redisB);
    // Stopping at once, inside the second before the kept comparison is retried.
    await replicaA.close();
    expect(await replicaB.verdict(SCENE, staging)).toEqual({ compared: 1, invariantViolations: 1 });
  }, 30_000);

  it('still adds what it keeps after a report found nothing left to add and the retry second passed', async () => {
    const { redisA, redisB, replicaA, replicaB } = await twoReplicas('after-flush:');
    const staging = { revision: 10, createdAt: STAGED };
    const ready = () => bothConnected(redisA, redisB);
    await server.stop();
    replicaA.add(SCENE, staging, broken('u-first'));
    await new Promise((r) => setTimeout(r, 100));
    await server.start();
    await ready();
    // A verdict adds the kept comparison before the retry is due; the retry then finds nothing.
    expect(await replicaA.verdict(SCENE, staging)).toEqual({ compared: 1, invariantViolations: 1 });
    await new Promise((r) => setTimeout(r, 1500));

    await server.stop();
    replicaA.add(SCENE, staging, broken('u-second'));
    await new Promise((r) => setTimeout(r, 100));
    await server.start();
    await ready();
    replicaA.add(SCENE, staging, broken('u-third'));
    // The restarted Redis starts empty: these two are all it holds, once this replica has added them (no close needed).
    const seen = await eventually(() => replicaB.verdict(SCENE, staging).catch(() => ({ compared: -1, invariantViolations: -1 })), (v) => v.invariantViolations === 2, 5000, 100);
    expect(seen).toEqual({ compared: 2, invariantViolations: 2 });
    expect((await replicaB.report(local(10))).examples.map((e) => e.user)).toEqual(['u-second', 'u-third']);
  }, 30_000);

  it('adds a comparison made while kept ones are being added', async () => {
    const { redisA, redisB, replicaA, replicaB } = await twoReplicas('during-flush:');
    const staging = { revision: 11, createdAt: STAGED };
    await server.stop();
    replicaA.add(SCENE, staging, broken('u-kept'));
    await new Promise((r) => setTimeout(r, 100));
    await server.start();
    await bothConnected(redisA, redisB);
    // The verdict starts adding the kept comparison; one more is made before Redis answers.
    const verdict = replicaA.verdict(SCENE, staging);
    replicaA.add(SCENE, staging, broken('u-during'));
    await verdict;
    const seen = await eventually(() => replicaB.verdict(SCENE, staging), (v) => v.invariantViolations === 2, 5000, 100);
    expect(seen).toEqual({ compared: 2, invariantViolations: 2 });
  }, 30_000);

  it('counts each comparison once when Redis hangs through several retries and then runs every command it was sent', async () => {
    const { replicaA, replicaB } = await twoReplicas('frozen:');
    const staging = { revision: 12, createdAt: STAGED };
    const made = 60;
    server.freeze();
    try {
      for (let i = 0; i < made; i++) {
        replicaA.add(SCENE, staging, i % 2 === 0 ? broken(`u-${i}`) : { result: 'identical', fields: [], candidateViolation: false, bothViolation: false, seconds: 0.001 });
        await new Promise((r) => setTimeout(r, 40));
      }
      // Frozen through several retry seconds: every offer times out here, and waits in Redis.
      await new Promise((r) => setTimeout(r, 3500));
    } finally {
      server.thaw();
    }
    const seen = await eventually(() => replicaB.verdict(SCENE, staging).catch(() => ({ compared: -1, invariantViolations: -1 })), (v) => v.compared >= made, 10_000, 100);
    // Past the next retries too: nothing is added twice.
    await new Promise((r) => setTimeout(r, 2500));
    expect(await replicaB.verdict(SCENE, staging)).toEqual(seen);
    expect(seen).toEqual({ compared: made, invariantViolations: made / 2 });
    expect((await replicaB.report(local(12))).cost.totalMs).toBeCloseTo(made * 1.5, 6);
  }, 40_000);

  it('says which comparisons are lost when it stops before Redis is back', async () => {
    const warnings: Array<{ msg: string; lost?: unknown }> = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line) as { msg: string; lost?: unknown }) });
    const replica = new SharedShadowTotals({ redis: await connectReady(server, clients), keyPrefix: 'stop-down:', logger });
    await server.stop();
    try {
      for (let i = 0; i < 2; i++) replica.add(SCENE, { revision: 9, createdAt: STAGED }, broken(`u-${i}`));
      replica.add(SCENE, { revision: 9, createdAt: STAGED }, { result: 'identical', fields: [], candidateViolation: false, bothViolation: false, seconds: 0.001 });
      await new Promise((r) => setTimeout(r, 300));
      const started = performance.now();
      await replica.close();
      // Bounded: a stopping replica does not wait out Redis.
      expect(performance.now() - started).toBeLessThan(5000);
    } finally {
      await server.start();
    }
    const lost = warnings.find((w) => w.msg.includes('lost'));
    expect(lost?.msg).toMatch(/shadow comparisons kept through a Redis outage are lost with this replica/);
    expect(lost?.lost).toEqual([{ scene: SCENE, revision: 9, staged: STAGED, comparisons: 3, candidateViolations: 2 }]);
  }, 30_000);
});
