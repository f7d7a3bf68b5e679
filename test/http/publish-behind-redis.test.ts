/**
 * A revision store whose numbers are behind Redis's — its database restored from an older backup
 * or recreated — makes Redis refuse the push of a new revision (a push older than the key is a
 * publisher that lost a race). The publish must say so, not answer `pushed: true`; the replicas
 * then follow the store, and Redis is set back to its revision.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushPublishedLayouts } from '../../src/layouts/publish.ts';
import { HAS_REDIS_SERVER, startPrivateRedis, type PrivateRedis } from '../support/redis-server.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { until } from '../support/until.ts';

const FILES = { 'cart-bottom-sheet.yaml': readFileSync('floors/cart-bottom-sheet.yaml', 'utf8'), 'checkout-summary.yaml': readFileSync('floors/checkout-summary.yaml', 'utf8') };

describe.skipIf(!HAS_REDIS_SERVER)('a publish that Redis refuses because it holds a newer revision than the store', () => {
  let redis: PrivateRedis;
  let client: Redis;
  let h: Harness;
  let dir: string;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    client = new Redis(redis.url);
    // What replicas last heard before the store's database was recreated: revision 9.
    expect(await pushPublishedLayouts(client, 'floorplan:', { revision: 9, publishedAt: new Date(0).toISOString(), files: FILES })).toEqual({ result: 'pushed' });
    dir = mkdtempSync(join(tmpdir(), 'floorplan-behind-'));
    h = await startHarness({ config: { redis: { url: redis.url }, layouts: { store: { kind: 'pglite', dataDir: join(dir, 'revisions') } } } });
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    client?.disconnect();
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('answers pushed: false, naming the newer revision Redis holds', async () => {
    const res = await fetch(`${h.url}/admin/layouts/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${h.config.admin.token}` },
      body: JSON.stringify({ files: FILES, message: 'first of the recreated store' }),
    });
    const body = (await res.json()) as { revision: { revision: number }; pushed: boolean; pushProblem?: string };
    expect(res.status).toBe(200);
    expect(body.revision.revision).toBe(1);
    expect(body.pushed).toBe(false);
    expect(body.pushProblem).toContain('Redis holds a newer revision than 1');
    // The store is the source of truth: within a poll the replica serves revision 1 and puts it back in Redis.
    await until(async () => JSON.parse((await client.get('floorplan:layouts')) as string).revision === 1, 'Redis holds revision 1', 5000);
    expect(h.server.layouts.revision()).toBe(1);
    // The first publish runs PGlite's initdb: seconds to a minute of CPU on a loaded machine.
  }, 60_000);
});

/**
 * During a Redis failover ioredis retries a push after +switch-master, and a replica's store poll
 * may push a new live revision before the publisher's own push lands: either way Redis already
 * holds exactly the revision being pushed. That is pushed, not "a newer revision".
 */
describe.skipIf(!HAS_REDIS_SERVER)('a publish whose revision Redis already holds (a retried push, or a replica pushed it first)', () => {
  let redis: PrivateRedis;
  let client: Redis;
  let h: Harness;
  let dir: string;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    client = new Redis(redis.url);
    dir = mkdtempSync(join(tmpdir(), 'floorplan-held-'));
    h = await startHarness({ config: { redis: { url: redis.url }, layouts: { store: { kind: 'pglite', dataDir: join(dir, 'revisions') } } } });
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    client?.disconnect();
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('answers pushed: true when Redis holds this same revision with the same files', async () => {
    // What the first attempt (or a replica's poll) left in Redis: revision 1 with these files, pushed a moment earlier.
    await client.set('floorplan:layouts', JSON.stringify({ revision: 1, publishedAt: new Date().toISOString(), files: FILES }));
    const res = await fetch(`${h.url}/admin/layouts/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${h.config.admin.token}` },
      body: JSON.stringify({ files: FILES, message: 'published during a failover' }),
    });
    const body = (await res.json()) as { revision: { revision: number }; pushed: boolean; pushProblem?: string };
    expect(res.status).toBe(200);
    expect(body.revision.revision).toBe(1);
    expect(body.pushProblem).toBeUndefined();
    expect(body.pushed).toBe(true);
    // The first publish runs PGlite's initdb: seconds to a minute of CPU on a loaded machine.
  }, 60_000);

  it('answers pushed: false, saying the revision differs rather than that it is newer, when Redis holds another set under the same number', async () => {
    const changed = { ...FILES, 'checkout-summary.yaml': FILES['checkout-summary.yaml'].replace(/version: .*/, 'version: "held-elsewhere"') };
    // Revision 2 as a recreated store's sibling published it: same number, other files.
    await client.set('floorplan:layouts', JSON.stringify({ revision: 2, publishedAt: new Date(0).toISOString(), files: changed }));
    const res = await fetch(`${h.url}/admin/layouts/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${h.config.admin.token}` },
      body: JSON.stringify({ files: FILES, message: 'second' }),
    });
    const body = (await res.json()) as { revision: { revision: number }; pushed: boolean; pushProblem?: string };
    expect(body.revision.revision).toBe(2);
    expect(body.pushed).toBe(false);
    expect(body.pushProblem).toContain('Redis holds another set under revision 2');
    expect(body.pushProblem).not.toContain('newer');
  });
});
