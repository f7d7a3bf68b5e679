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

/** An empty report of this replica for `revision`, the shape SharedShadowTotals.report fills. */
const local = (revision: number): ShadowReport => ({
  scene: SCENE,
  candidateRevision: revision,
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
  const addDifferent = async (revision: number, user: string, floors: readonly string[]) => {
    const before = (await totals.report(local(revision))).compared;
    totals.add(SCENE, revision, { result: 'different', fields: floors.map((floor) => ({ floor, field: 'name' })), candidateViolation: false, bothViolation: false, seconds: 0.001, example: example(user, floors) });
    return eventually(() => totals.report(local(revision)), (r) => r.compared === before + 1);
  };

  it('keeps an example of a floor and field first seen after the first few examples, once, beside them', async () => {
    for (let i = 0; i < 6; i++) await addDifferent(1, `basic${i}`, ['coupon']);
    await addDifferent(1, 'mj1', ['coupon', 'mj']);
    const report = await addDifferent(1, 'mj2', ['mj']);
    expect(report).toMatchObject({ scope: 'all replicas', compared: 8, differences: { coupon: { name: 7 }, mj: { name: 2 } } });
    expect(report.examples.map((e) => e.user)).toEqual(['basic0', 'basic1', 'basic2', 'basic3', 'basic4', 'mj1']);
    expect(report.examples[5]).toMatchObject({ platform: 'ios', appVersion: '12.0.0', segments: [] });
  });
});
