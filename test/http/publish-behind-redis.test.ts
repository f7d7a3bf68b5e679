/**
 * A revision store whose numbers are behind Redis's — its database restored from an older backup
 * or recreated — makes Redis refuse the push of a new revision (a push older than the key is a
 * publisher that lost a race). The publish must say so, not answer `pushed: true`; the replicas
 * then follow the store, and Redis is set back to its revision. The candidate set is pushed the
 * same way, by its generation: a candidate operation Redis refuses must say so too, and replicas
 * follow the store's candidate set when its generation went back behind the one they serve.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeepPartial, ServiceConfig } from '../../src/config/service-config.ts';
import { pushPublishedLayouts } from '../../src/layouts/publish.ts';
import { candidatesRedisKey } from '../../src/layouts/revisions/candidates.ts';
import { HAS_REDIS_SERVER, startPrivateRedis, type PrivateRedis } from '../support/redis-server.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { until } from '../support/until.ts';
import { postLayoutAdmin } from '../support/layout-admin.ts';
import { createTestDatabase, HAS_POSTGRES, type TestDatabase } from '../support/postgres.ts';

const FILES = { 'cart-bottom-sheet.yaml': readFileSync('floors/cart-bottom-sheet.yaml', 'utf8'), 'checkout-summary.yaml': readFileSync('floors/checkout-summary.yaml', 'utf8') };

/** A Floorplan on an embedded store of its own behind a private Redis, and a client of that Redis; `seed` runs before Floorplan starts. */
interface BehindRedis {
  readonly redis: PrivateRedis;
  readonly client: Redis;
  readonly h: Harness;
  close(): Promise<void>;
}
async function storeBehindRedis(seed: (client: Redis) => Promise<void> = async () => undefined, layouts: DeepPartial<ServiceConfig['layouts']> = {}): Promise<BehindRedis> {
  const redis = await startPrivateRedis();
  const client = new Redis(redis.url);
  await seed(client);
  const dir = mkdtempSync(join(tmpdir(), 'floorplan-behind-'));
  const h = await startHarness({ config: { redis: { url: redis.url }, layouts: { ...layouts, store: { kind: 'pglite', dataDir: join(dir, 'revisions') } } } });
  return {
    redis,
    client,
    h,
    async close() {
      await h.close();
      client.disconnect();
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** POST /admin/layouts/publish of `files`: the revision it recorded and what it says of the push. */
async function publish(h: Harness, files: Record<string, string>, message: string) {
  const res = await postLayoutAdmin(h.url, h.config.admin.token, 'publish', { files, message });
  expect(res.status).toBe(200);
  return res.body as { revision: { revision: number }; pushed: boolean; pushProblem?: string };
}

describe.skipIf(!HAS_REDIS_SERVER)('a publish that Redis refuses because it holds a newer revision than the store', () => {
  let setup: BehindRedis;
  beforeAll(async () => {
    // What replicas last heard before the store's database was recreated: revision 9.
    setup = await storeBehindRedis(async (client) => {
      expect(await pushPublishedLayouts(client, 'floorplan:', { revision: 9, publishedAt: new Date(0).toISOString(), files: FILES })).toEqual({ result: 'pushed' });
    });
  }, 60_000);
  afterAll(() => setup?.close());

  it('answers pushed: false, naming the newer revision Redis holds', async () => {
    const body = await publish(setup.h, FILES, 'first of the recreated store');
    expect(body.revision.revision).toBe(1);
    expect(body.pushed).toBe(false);
    expect(body.pushProblem).toContain('Redis holds a newer revision than 1');
    // The store is the source of truth: within a poll the replica serves revision 1 and puts it back in Redis.
    await until(async () => JSON.parse((await setup.client.get('floorplan:layouts')) as string).revision === 1, 'Redis holds revision 1', 5000);
    expect(setup.h.server.layouts.revision()).toBe(1);
    // The first publish runs PGlite's initdb: seconds to a minute of CPU on a loaded machine.
  }, 60_000);
});

/**
 * During a Redis failover ioredis retries a push after +switch-master, and a replica's store poll
 * may push a new live revision before the publisher's own push lands: either way Redis already
 * holds exactly the revision being pushed. That is pushed, not "a newer revision".
 */
describe.skipIf(!HAS_REDIS_SERVER)('a publish whose revision Redis already holds (a retried push, or a replica pushed it first)', () => {
  let setup: BehindRedis;
  beforeAll(async () => {
    setup = await storeBehindRedis();
  }, 60_000);
  afterAll(() => setup?.close());

  it('answers pushed: true when Redis holds this same revision with the same files', async () => {
    // What the first attempt (or a replica's poll) left in Redis: revision 1 with these files, pushed a moment earlier.
    await setup.client.set('floorplan:layouts', JSON.stringify({ revision: 1, publishedAt: new Date().toISOString(), files: FILES }));
    const body = await publish(setup.h, FILES, 'published during a failover');
    expect(body.revision.revision).toBe(1);
    expect(body.pushProblem).toBeUndefined();
    expect(body.pushed).toBe(true);
    // The first publish runs PGlite's initdb: seconds to a minute of CPU on a loaded machine.
  }, 60_000);

  it('answers pushed: false, saying the revision differs rather than that it is newer, when Redis holds another set under the same number', async () => {
    const changed = { ...FILES, 'checkout-summary.yaml': FILES['checkout-summary.yaml'].replace(/version: .*/, 'version: "held-elsewhere"') };
    // Revision 2 as a recreated store's sibling published it: same number, other files.
    await setup.client.set('floorplan:layouts', JSON.stringify({ revision: 2, publishedAt: new Date(0).toISOString(), files: changed }));
    const body = await publish(setup.h, FILES, 'second');
    expect(body.revision.revision).toBe(2);
    expect(body.pushed).toBe(false);
    expect(body.pushProblem).toContain('Redis holds another set under revision 2');
    expect(body.pushProblem).not.toContain('newer');
  });
});

/**
 * The candidate set in Redis carries the generation of the store it came from; a store recreated
 * behind it counts from 1 again. Each candidate operation's push is then refused, and its answer
 * must say so rather than `pushed: true`. The generation is set in Redis after the replica
 * started, and the replica does not poll: what it serves is not what this suite is about.
 */
describe.skipIf(!HAS_REDIS_SERVER)('candidate operations whose push Redis refuses because it holds a newer candidate generation than the store', () => {
  const SCENE = 'cart-bottom-sheet';
  const KEY = candidatesRedisKey('floorplan:');
  let setup: BehindRedis;
  const admin = (operation: string, body: unknown) => postLayoutAdmin(setup.h.url, setup.h.config.admin.token, operation, body);
  const redisGeneration = async () => (JSON.parse((await setup.client.get(KEY)) as string) as { generation: number }).generation;
  beforeAll(async () => {
    // No poll during the suite: a replica following the store would set Redis back to its generation before the operations push.
    setup = await storeBehindRedis(undefined, { resyncIntervalMs: 600_000 });
    await publish(setup.h, FILES, 'baseline');
    // What replicas last heard before the store's database was recreated: candidate generation 9.
    await setup.client.set(KEY, JSON.stringify({ generation: 9, candidates: [] }));
    // The first publish runs PGlite's initdb: seconds to a minute of CPU on a loaded machine.
  }, 60_000);
  afterAll(() => setup?.close());

  it('answers pushed: false from candidate, rollout, abort and promote, naming the newer generation Redis holds', async () => {
    const answers = [
      await admin('candidate', { scene: SCENE, revision: 1, rollout: { allowList: ['u1001'] } }),
      await admin('rollout', { scene: SCENE, percentage: 5 }),
      await admin('abort', { scene: SCENE }),
      await admin('candidate', { scene: SCENE, revision: 1 }),
      // Nothing was compared in the shadow here: force.
      await admin('promote', { scene: SCENE, force: true }),
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    answers.forEach((answer, i) => {
      expect(answer.body.pushed, `operation ${i + 1}`).toBe(false);
      expect(answer.body.pushProblem, `operation ${i + 1}`).toBe(
        `Redis holds a newer candidate generation than ${i + 1}: 9 (this revision store restored or recreated behind it, or another store pushing to this Redis); replicas follow this store within a poll (layouts.resyncIntervalMs) and set Redis back to its candidate set`,
      );
    });
    // Promote's own revision went live and was pushed: only the candidate set was refused.
    expect(JSON.parse((await setup.client.get('floorplan:layouts')) as string).revision).toBe(answers[4]!.body.revision.revision);
    expect(await redisGeneration()).toBe(9);
  });

  it('answers pushed: false, saying the set differs rather than that it is newer, when Redis holds another set under the same generation', async () => {
    // Generation 6 as the recreated store's predecessor left it: same number, no candidate.
    await setup.client.set(KEY, JSON.stringify({ generation: 6, candidates: [] }));
    const answer = await admin('candidate', { scene: SCENE, revision: 1, rollout: { allowList: ['u1001'] } });
    expect(answer.status).toBe(200);
    expect(answer.body.pushed).toBe(false);
    expect(answer.body.pushProblem).toBe(
      "Redis holds another candidate set under generation 6 (this revision store restored or recreated behind it, and changed again before replicas followed it); replicas that took Redis's keep serving it until this store's generation passes 6",
    );
    expect(JSON.parse((await setup.client.get(KEY)) as string)).toEqual({ generation: 6, candidates: [] });
  });
});

/**
 * The store's database restored from a backup taken at an older candidate generation than the
 * one replicas serve (here its candidate tables, as that backup had them): the store is the
 * source of truth. Within a poll the replica serves the store's candidate set and sets Redis back
 * to it, so the operations that follow reach the replicas again — not only once the store's
 * generation passes the one it went back from.
 */
describe.skipIf(!HAS_REDIS_SERVER || !HAS_POSTGRES)('candidates when the store went back behind the candidate generation replicas serve (PostgreSQL restored from a backup)', () => {
  const SCENE = 'cart-bottom-sheet';
  const KEY = candidatesRedisKey('floorplan:');
  let database: TestDatabase;
  let redis: PrivateRedis;
  let client: Redis;
  let h: Harness;
  let sql: pg.Client;
  const admin = (operation: string, body: unknown) => postLayoutAdmin(h.url, h.config.admin.token, operation, body);
  const inRedis = async () => JSON.parse(((await client.get(KEY)) as string | null) ?? '{"generation":-1,"candidates":[]}') as { generation: number; candidates: Array<{ revision: number; rollout: { percentage: number } }> };
  beforeAll(async () => {
    database = await createTestDatabase();
    redis = await startPrivateRedis();
    client = new Redis(redis.url);
    h = await startHarness({ config: { redis: { url: redis.url }, layouts: { store: { kind: 'postgres', url: database.url }, resyncIntervalMs: 200 } } });
    sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
  }, 60_000);
  afterAll(async () => {
    await sql?.end();
    await h?.close();
    client?.disconnect();
    await redis?.stop();
    await database?.drop();
  });

  it('serves the store\'s candidate set within a poll, sets Redis back to it, and the next operation reaches the replica (pushed: true)', async () => {
    await publish(h, FILES, 'baseline');
    const staged = await admin('candidate', { scene: SCENE, revision: 1, rollout: { allowList: ['u1001'] } });
    expect([staged.status, staged.body.pushed]).toEqual([200, true]);
    // The backup: the candidate tables at generation 1 (r1 for the allow-listed user only).
    await sql.query('CREATE TABLE backup_candidates AS SELECT * FROM layout_candidates; CREATE TABLE backup_generation AS SELECT * FROM layout_candidate_generation');
    // Then the rollout widened to 40 %, and again to 60 %: generation 3 on the replica and in Redis.
    for (const percentage of [40, 60]) expect((await admin('rollout', { scene: SCENE, percentage })).body.pushed).toBe(true);
    const layouts = h.server.layouts;
    await until(() => layouts.candidateGeneration() === 3, 'the replica serves generation 3');
    await until(async () => (await inRedis()).generation === 3, 'Redis holds generation 3');

    // The store's database restored from that backup: generation 1, the allow-list only.
    await sql.query(
      'BEGIN; DELETE FROM layout_candidates; INSERT INTO layout_candidates SELECT * FROM backup_candidates; UPDATE layout_candidate_generation SET generation = (SELECT generation FROM backup_generation); COMMIT',
    );
    await until(() => layouts.candidateGeneration() === 1, "the replica serves the restored store's candidate generation");
    expect(layouts.candidate(SCENE)?.rollout).toMatchObject({ allowList: ['u1001'], percentage: 0 });
    await until(async () => (await inRedis()).generation === 1, "Redis holds the restored store's generation");
    expect((await inRedis()).candidates.map((c) => c.rollout.percentage)).toEqual([0]);

    // The next operation reaches Redis and the replica at once.
    const widened = await admin('rollout', { scene: SCENE, percentage: 20 });
    expect([widened.status, widened.body.pushed, widened.body.pushProblem]).toEqual([200, true, undefined]);
    expect(await inRedis()).toMatchObject({ generation: 2, candidates: [{ revision: 1, rollout: { percentage: 20 } }] });
    await until(() => layouts.candidateGeneration() === 2, 'the replica serves generation 2');
    expect(layouts.candidate(SCENE)?.rollout.percentage).toBe(20);
  }, 60_000);
});
