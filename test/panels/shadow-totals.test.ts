/**
 * Every replica's shadow comparisons summed in a real Redis (a private redis-server): what the
 * admin API's `shadow` report and promote read with Redis.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.ts';
import type { ShadowExample, ShadowReport } from '../../src/panels/shadow.ts';
import { SharedShadowTotals } from '../../src/panels/shadow-totals.ts';
import { eventually } from '../support/measure.ts';
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
