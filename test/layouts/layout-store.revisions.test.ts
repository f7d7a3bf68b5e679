import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { defaultBuilders } from '../../src/floors/builders/index.ts';
import { createBuilderRegistry } from '../../src/floors/registry.ts';
import { LayoutStore, type CandidateSource, type LiveRevisionSource, type LayoutStoreOptions } from '../../src/layouts/layout-store.ts';
import { pushPublishedLayouts } from '../../src/layouts/publish.ts';
import type { PublishedLayouts } from '../../src/layouts/published-layouts.ts';
import { candidatesRedisKey, pushCandidates, type CandidateSet, type CandidateWithFile } from '../../src/layouts/revisions/candidates.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { HAS_REDIS_SERVER, startPrivateRedis, type PrivateRedis } from '../support/redis-server.ts';
import { until } from '../support/until.ts';

const registry = createBuilderRegistry(defaultBuilders);
const LOCALES = ['zh-CN', 'en'] as const;

function cart(version: string): string {
  return [
    'scene: cart-bottom-sheet',
    `version: "${version}"`,
    'floors:',
    '  - code: spze',
    '    builder: spze',
    '    name: { zh-CN: 商品总额, en: Goods total }',
    '    sort: 10',
    '',
  ].join('\n');
}
const published = (revision: number, version = `rev-${revision}`): PublishedLayouts => ({
  revision,
  publishedAt: new Date(0).toISOString(),
  files: { 'cart-bottom-sheet.yaml': cart(version) },
});

/** A candidate of the cart sheet at `revision`, whose floors say `version`, for `percentage` % of users. */
const candidate = (revision: number, version: string, percentage = 100): CandidateWithFile => ({
  scene: 'cart-bottom-sheet',
  revision,
  rollout: { allowList: ['u1001'], percentage, segments: [], platforms: [], minAppVersion: null },
  author: 'alice',
  message: '',
  createdAt: new Date(0).toISOString(),
  updatedAt: new Date(0).toISOString(),
  publishedBy: 'alice',
  approvedBy: null,
  approvedAt: null,
  file: 'cart-bottom-sheet.yaml',
  source: cart(version),
});

/** A revision store as a replica sees it: what is live, and whether it answers. */
class FakeRevisions implements LiveRevisionSource {
  current: PublishedLayouts | undefined;
  down = false;
  async liveRevision(): Promise<number | undefined> {
    if (this.down) throw new Error('connection refused');
    return this.current?.revision;
  }
  async live(): Promise<PublishedLayouts | undefined> {
    if (this.down) throw new Error('connection refused');
    return this.current;
  }
}

/** The store's candidates as a replica sees them: a generation (with no candidates, enough to follow), and whether it answers. */
class FakeCandidates implements CandidateSource {
  generation = 0;
  served: CandidateWithFile[] = [];
  down = false;
  /** What the next reading of the generation gets, once, and the set read right after it: a read that is not the store's settled state. */
  stale: CandidateSet | undefined;
  private staleRead: CandidateSet | undefined;
  /** How often the generation was read. */
  reads = 0;
  async candidateGeneration(): Promise<number> {
    if (this.down) throw new Error('connection refused');
    this.reads++;
    this.staleRead = this.stale;
    this.stale = undefined;
    return this.staleRead?.generation ?? this.generation;
  }
  async candidates(): Promise<CandidateSet> {
    if (this.down) throw new Error('connection refused');
    return this.staleRead ?? { generation: this.generation, candidates: this.served };
  }
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const done of cleanups.splice(0).reverse()) await done();
});

/** A revision store serving live revision 9 and candidate generation `generation` (with `served`). */
function storeAt(generation: number, served: CandidateWithFile[] = []): { revisions: FakeRevisions; candidates: FakeCandidates } {
  const revisions = new FakeRevisions();
  revisions.current = published(9);
  const candidates = new FakeCandidates();
  candidates.generation = generation;
  candidates.served = served;
  return { revisions, candidates };
}

function workspace(): { dir: string; lastKnownGood: string } {
  const root = mkdtempSync(join(tmpdir(), 'floorplan-store-revisions-'));
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  writeFileSync(join(root, 'cart-bottom-sheet.yaml'), cart('from-files'));
  return { dir: root, lastKnownGood: join(root, 'last-known-good.json') };
}

async function start(options: Partial<LayoutStoreOptions> & { dir: string }): Promise<LayoutStore> {
  const store = await LayoutStore.start({ registry, locales: LOCALES, watch: false, resyncIntervalMs: 50, logger: createLogger('silent'), ...options });
  cleanups.push(() => store.stop());
  return store;
}

const version = (store: LayoutStore) => store.current().get('cart-bottom-sheet')?.version;

describe('LayoutStore with a revision store', () => {
  it('serves the live revision at start, and the next one within a poll', async () => {
    const { dir, lastKnownGood } = workspace();
    const revisions = new FakeRevisions();
    revisions.current = published(4);
    const store = await start({ dir, revisions, lastKnownGoodFile: lastKnownGood });
    expect([store.source(), store.revision(), version(store)]).toEqual(['store', 4, 'rev-4']);
    expect(JSON.parse(readFileSync(lastKnownGood, 'utf8'))).toMatchObject({ revision: 4 });

    revisions.current = published(5);
    await until(() => store.revision() === 5, 'revision 5 is served');
    expect(version(store)).toBe('rev-5');
  });

  it('ignores an edit of the local floors files while the store is the source, and says the store is', async () => {
    const { dir, lastKnownGood } = workspace();
    const revisions = new FakeRevisions();
    revisions.current = published(4);
    const lines: Array<{ msg: string }> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string }) });
    const store = await start({ dir, revisions, lastKnownGoodFile: lastKnownGood, watch: true, logger });
    writeFileSync(join(dir, 'cart-bottom-sheet.yaml'), cart('edited-locally'));
    await until(() => lines.some((l) => l.msg.startsWith('floors file change ignored')), 'the edit is noticed');
    expect(lines.find((l) => l.msg.startsWith('floors file change ignored'))?.msg).toBe(
      'floors file change ignored: layouts published to the revision store are the source of truth (publish the change with npm run floors:publish)',
    );
    expect(version(store)).toBe('rev-4');
  });

  it('serves its last-known-good copy when the store is down at start, and says so', async () => {
    const { dir, lastKnownGood } = workspace();
    writeFileSync(lastKnownGood, JSON.stringify(published(7)));
    const revisions = new FakeRevisions();
    revisions.down = true;
    const store = await start({ dir, revisions, lastKnownGoodFile: lastKnownGood });
    expect([store.source(), store.revision(), version(store)]).toEqual(['last-known-good', 7, 'rev-7']);

    // The store back with the same revision: served from the store again, same floors.
    revisions.down = false;
    revisions.current = published(7);
    await until(() => store.source() === 'store', 'the store is the source again');
    expect(version(store)).toBe('rev-7');
  });

  it('ignores the last-known-good copy when the store answers that nothing was published', async () => {
    const { dir, lastKnownGood } = workspace();
    writeFileSync(lastKnownGood, JSON.stringify(published(7)));
    const store = await start({ dir, revisions: new FakeRevisions(), lastKnownGoodFile: lastKnownGood });
    expect([store.source(), version(store)]).toEqual(['file', 'from-files']);
  });

  it('keeps serving its set when the live revision does not compile here, and says so once, not every poll', async () => {
    const { dir } = workspace();
    const revisions = new FakeRevisions();
    revisions.current = { ...published(6), files: { 'cart-bottom-sheet.yaml': cart('rev-6').replace('builder: spze', 'builder: nosuch') } };
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push((JSON.parse(line) as { msg: string }).msg) });
    const store = await start({ dir, revisions, logger });
    await new Promise((r) => setTimeout(r, 300));
    expect([store.source(), version(store)]).toEqual(['file', 'from-files']);
    expect(warnings.filter((m) => m.startsWith('layouts published (revision 6, from store) rejected'))).toHaveLength(1);
  });

  it('keeps serving what it has while the store is down', async () => {
    const { dir } = workspace();
    const revisions = new FakeRevisions();
    revisions.current = published(2);
    const store = await start({ dir, revisions });
    revisions.down = true;
    await new Promise((r) => setTimeout(r, 200));
    expect([store.source(), store.revision(), version(store)]).toEqual(['store', 2, 'rev-2']);
  });
});

describe.skipIf(!HAS_REDIS_SERVER)('LayoutStore with a revision store and Redis', () => {
  let redis: PrivateRedis;
  let admin: Redis;
  beforeAll(async () => {
    redis = await startPrivateRedis();
    admin = new Redis(redis.url);
  });
  afterAll(async () => {
    admin.disconnect();
    await redis.stop();
  });

  const redisOptions = (keyPrefix: string) => ({ url: redis.url, keyPrefix, commandTimeoutMs: 500, connectTimeoutMs: 1000 });

  /**
   * A replica started while the revision store cannot be read: `copy` in its last-known-good
   * file, Redis (under `prefix`) holding `layouts`; given `candidates`, Redis holds those and the
   * store's candidates cannot be read either.
   */
  async function startWhileStoreDown(prefix: string, copy: object, layouts: PublishedLayouts, candidates?: CandidateSet) {
    const { dir, lastKnownGood } = workspace();
    writeFileSync(lastKnownGood, JSON.stringify(copy));
    await admin.set(`${prefix}layouts`, JSON.stringify(layouts));
    const revisions = new FakeRevisions();
    revisions.down = true;
    const candidateSource = new FakeCandidates();
    candidateSource.down = true;
    if (candidates !== undefined) await admin.set(candidatesRedisKey(prefix), JSON.stringify(candidates));
    const store = await start({ dir, revisions, ...(candidates === undefined ? {} : { candidates: candidateSource }), redis: redisOptions(prefix), lastKnownGoodFile: lastKnownGood });
    return { store, revisions, candidates: candidateSource, lastKnownGood };
  }

  it('never goes back to an older revision that Redis still holds', async () => {
    const { dir } = workspace();
    const revisions = new FakeRevisions();
    revisions.current = published(9);
    await pushPublishedLayouts(admin, 'older:', published(8));
    const store = await start({ dir, revisions, redis: redisOptions('older:') });
    await new Promise((r) => setTimeout(r, 300));
    expect([store.revision(), version(store)]).toEqual([9, 'rev-9']);
    // …and it pushed the newer one, so replicas starting from Redis get it too.
    await until(async () => JSON.parse((await admin.get('older:layouts')) as string).revision === 9, 'Redis holds revision 9');
  });

  it('follows a revision store restored behind what it serves, says so, and puts the store\'s revision back in Redis', async () => {
    const { dir } = workspace();
    const revisions = new FakeRevisions();
    revisions.current = published(9);
    const lines: Array<{ msg: string; level: number }> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string; level: number }) });
    const store = await start({ dir, revisions, redis: redisOptions('restored:'), logger });
    await until(async () => JSON.parse(((await admin.get('restored:layouts')) as string | null) ?? '{}').revision === 9, 'Redis holds revision 9');

    // The store's database is restored from a backup taken at revision 2: revision numbers go back.
    revisions.current = published(2, 'restored-2');
    await until(() => store.revision() === 2, 'the restored store\'s revision is served');
    expect(version(store)).toBe('restored-2');
    expect(lines.find((l) => l.msg.startsWith('the revision store\'s live revision'))?.msg).toBe(
      "the revision store's live revision 2 is older than revision 9 served here: the store was restored or recreated, and it is the source of truth; serving its revision",
    );
    await until(async () => JSON.parse((await admin.get('restored:layouts')) as string).revision === 2, 'Redis holds revision 2');
    // Publishing goes on from there: the next revision reaches Redis and the replica.
    revisions.current = published(3, 'after-restore');
    await until(() => store.revision() === 3, 'revision 3 is served');
    await until(async () => JSON.parse((await admin.get('restored:layouts')) as string).revision === 3, 'Redis holds revision 3');
  });

  it('pushes the live revision again when Redis comes back empty', async () => {
    const { dir } = workspace();
    const revisions = new FakeRevisions();
    revisions.current = published(3);
    const store = await start({ dir, revisions, redis: redisOptions('empty:') });
    await until(async () => (await admin.get('empty:layouts')) !== null, 'Redis holds the live revision');
    await admin.del('empty:layouts');
    await until(async () => (await admin.get('empty:layouts')) !== null, 'Redis holds the live revision again', 5000);
    expect([store.revision(), version(store)]).toEqual([3, 'rev-3']);
  });

  it('pushes the live revision again when Redis holds an older one (a failover lost the push, or Redis restarted from an older dump)', async () => {
    const { dir } = workspace();
    const revisions = new FakeRevisions();
    revisions.current = published(9);
    const store = await start({ dir, revisions, redis: redisOptions('stale:') });
    await until(async () => JSON.parse(((await admin.get('stale:layouts')) as string | null) ?? '{}').revision === 9, 'Redis holds revision 9');
    // The new primary was a replica that never got revision 9: it holds 7, and announces nothing.
    await admin.set('stale:layouts', JSON.stringify(published(7)));
    await until(async () => JSON.parse((await admin.get('stale:layouts')) as string).revision === 9, 'Redis holds revision 9 again', 5000);
    expect([store.revision(), version(store)]).toEqual([9, 'rev-9']);
  });

  it('pushes the candidates again when Redis holds an older generation of them', async () => {
    const { dir } = workspace();
    const { revisions, candidates } = storeAt(5);
    const key = candidatesRedisKey('stalecand:');
    const store = await start({ dir, revisions, candidates, redis: redisOptions('stalecand:') });
    await until(async () => JSON.parse(((await admin.get(key)) as string | null) ?? '{}').generation === 5, 'Redis holds generation 5');
    await admin.set(key, JSON.stringify({ generation: 3, candidates: [] }));
    await until(async () => JSON.parse((await admin.get(key)) as string).generation === 5, 'Redis holds generation 5 again', 5000);
    expect(store.candidateGeneration()).toBe(5);
  });

  it('follows a revision store whose candidate generation went back behind what it serves (restored or recreated), says so once, and puts the store\'s candidates in Redis and in its copy', async () => {
    const { dir, lastKnownGood } = workspace();
    const { revisions, candidates } = storeAt(9, [candidate(12, 'cand-12')]);
    const key = candidatesRedisKey('restoredcand:');
    const lines: Array<{ msg: string; level: number }> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string; level: number }) });
    const store = await start({ dir, revisions, candidates, redis: redisOptions('restoredcand:'), lastKnownGoodFile: lastKnownGood, logger });
    await until(async () => JSON.parse(((await admin.get(key)) as string | null) ?? '{}').generation === 9, 'Redis holds generation 9');

    // The store's database is restored from a backup taken at generation 2, when the candidate
    // was r11 for 10 %: generations go back, and the candidate r12 is not the store's any more.
    candidates.generation = 2;
    candidates.served = [candidate(11, 'restored-11', 10)];
    await until(() => store.candidateGeneration() === 2, "the restored store's candidate generation is served");
    const served = store.candidate('cart-bottom-sheet');
    expect([served?.revision, served?.layout.version, served?.rollout.percentage]).toEqual([11, 'restored-11', 10]);
    await until(async () => JSON.parse((await admin.get(key)) as string).generation === 2, 'Redis holds generation 2');
    expect(JSON.parse((await admin.get(key)) as string)).toMatchObject({ generation: 2, candidates: [{ revision: 11 }] });
    expect(JSON.parse(readFileSync(lastKnownGood, 'utf8')).candidates).toMatchObject({ generation: 2, candidates: [{ revision: 11 }] });
    // Said once, as a warning, not at every poll.
    await new Promise((r) => setTimeout(r, 300));
    expect(lines.filter((l) => l.msg.startsWith("the revision store's candidate generation")).map((l) => [l.level, l.msg])).toEqual([
      [40, "the revision store's candidate generation 2 is older than generation 9 served here: the store was restored or recreated, and it is the source of truth; serving its candidates"],
    ]);

    // Candidate operations go on from there: the next generation reaches the replica and Redis.
    candidates.generation = 3;
    candidates.served = [];
    await until(() => store.candidateGeneration() === 3, 'generation 3 is served');
    expect(store.candidates().size).toBe(0);
    await until(async () => JSON.parse((await admin.get(key)) as string).generation === 3, 'Redis holds generation 3');
  });

  it('does not take one lower reading of the candidate generation for a restored store: it asks again', async () => {
    const { dir } = workspace();
    const { revisions, candidates } = storeAt(9, [candidate(12, 'cand-12')]);
    const key = candidatesRedisKey('lowonce:');
    const swapped: number[] = [];
    const store = await start({ dir, revisions, candidates, redis: redisOptions('lowonce:'), onCandidates: (_served, generation) => void swapped.push(generation) });
    await until(async () => JSON.parse(((await admin.get(key)) as string | null) ?? '{}').generation === 9, 'Redis holds generation 9');
    candidates.stale = { generation: 2, candidates: [candidate(11, 'stale-11')] };
    await until(() => candidates.stale === undefined, 'the lower generation is read');
    const after = candidates.reads;
    await until(() => candidates.reads > after + 1, 'the store is polled again');
    expect(swapped).toEqual([9]);
    expect([store.candidateGeneration(), store.candidate('cart-bottom-sheet')?.revision]).toEqual([9, 12]);
    expect(JSON.parse((await admin.get(key)) as string).generation).toBe(9);
  });

  it('serves its last-known-good copy, not the older revision Redis holds, when the store is down at start, and keeps the copy', async () => {
    const { store, revisions, lastKnownGood } = await startWhileStoreDown('lkg:', published(9), published(7));
    expect([store.source(), store.revision(), version(store)]).toEqual(['last-known-good', 9, 'rev-9']);
    await new Promise((r) => setTimeout(r, 300));
    expect([store.revision(), version(store)]).toEqual([9, 'rev-9']);
    expect(JSON.parse(readFileSync(lastKnownGood, 'utf8'))).toMatchObject({ revision: 9 });

    // The store back: its live revision is served, and Redis gets it.
    revisions.current = published(9);
    revisions.down = false;
    await until(() => store.source() === 'store', 'the store is the source again');
    await until(async () => JSON.parse((await admin.get('lkg:layouts')) as string).revision === 9, 'Redis holds revision 9', 5000);
  });

  it('serves what Redis holds when it is newer than the last-known-good copy and the store is down at start', async () => {
    const { store, lastKnownGood } = await startWhileStoreDown('lkgold:', published(6), published(8));
    expect([store.source(), store.revision(), version(store)]).toEqual(['redis', 8, 'rev-8']);
    expect(JSON.parse(readFileSync(lastKnownGood, 'utf8'))).toMatchObject({ revision: 8 });
  });

  it('copies the restored store\'s older revision over its last-known-good copy: the store is the source of truth', async () => {
    const { dir, lastKnownGood } = workspace();
    const revisions = new FakeRevisions();
    revisions.current = published(9);
    const store = await start({ dir, revisions, redis: redisOptions('restoredcopy:'), lastKnownGoodFile: lastKnownGood });
    expect(JSON.parse(readFileSync(lastKnownGood, 'utf8'))).toMatchObject({ revision: 9 });
    revisions.current = published(2, 'restored-2');
    await until(() => store.revision() === 2, 'the restored store\'s revision is served');
    expect(JSON.parse(readFileSync(lastKnownGood, 'utf8'))).toMatchObject({ revision: 2 });
    await until(async () => JSON.parse((await admin.get('restoredcopy:layouts')) as string).revision === 2, 'Redis holds revision 2');
    // …and Redis, now behind nothing, is left alone: no push back and forth.
    await new Promise((r) => setTimeout(r, 300));
    expect([store.revision(), JSON.parse((await admin.get('restoredcopy:layouts')) as string).revision]).toEqual([2, 2]);
  });

  it('serves the candidates of its last-known-good copy, not the older generation Redis holds, when the store is down at start, and keeps them in the copy', async () => {
    // The copy knows generation 5: the candidate r12 for everyone. Redis, restarted from an older
    // dump, holds generation 3: the candidate r11, since aborted, for 10 %.
    const { store, revisions, candidates, lastKnownGood } = await startWhileStoreDown(
      'lkgcand:',
      { ...published(9), candidates: { generation: 5, candidates: [candidate(12, 'cand-12')] } },
      published(9),
      { generation: 3, candidates: [candidate(11, 'aborted-11', 10)] },
    );
    expect([store.candidateGeneration(), store.candidate('cart-bottom-sheet')?.revision, store.candidate('cart-bottom-sheet')?.layout.version]).toEqual([5, 12, 'cand-12']);
    await new Promise((r) => setTimeout(r, 300));
    expect([store.candidateGeneration(), store.candidate('cart-bottom-sheet')?.revision]).toEqual([5, 12]);
    expect(JSON.parse(readFileSync(lastKnownGood, 'utf8')).candidates).toMatchObject({ generation: 5, candidates: [{ revision: 12 }] });

    // The store back with the same generation: nothing changes for the users, and Redis gets it.
    revisions.current = published(9);
    revisions.down = false;
    candidates.generation = 5;
    candidates.served = [candidate(12, 'cand-12')];
    candidates.down = false;
    await until(async () => JSON.parse((await admin.get(candidatesRedisKey('lkgcand:'))) as string).generation === 5, 'Redis holds generation 5', 5000);
    expect([store.candidateGeneration(), store.candidate('cart-bottom-sheet')?.revision]).toEqual([5, 12]);
  });

  it('serves the candidates Redis holds when they are newer than its last-known-good copy\'s, or the copy has none, when the store is down at start', async () => {
    const revisions = new FakeRevisions();
    revisions.down = true;
    const candidates = new FakeCandidates();
    candidates.down = true;
    await admin.set(candidatesRedisKey('lkgcandnew:'), JSON.stringify({ generation: 7, candidates: [candidate(14, 'cand-14')] }));
    const newer = workspace();
    writeFileSync(newer.lastKnownGood, JSON.stringify({ ...published(9), candidates: { generation: 5, candidates: [candidate(12, 'cand-12')] } }));
    const fromRedis = await start({ dir: newer.dir, revisions, candidates, redis: redisOptions('lkgcandnew:'), lastKnownGoodFile: newer.lastKnownGood });
    expect([fromRedis.candidateGeneration(), fromRedis.candidate('cart-bottom-sheet')?.revision]).toEqual([7, 14]);
    expect(JSON.parse(readFileSync(newer.lastKnownGood, 'utf8')).candidates).toMatchObject({ generation: 7, candidates: [{ revision: 14 }] });

    // A copy written before candidates were kept in it: its live set as before, Redis's candidates.
    const old = workspace();
    writeFileSync(old.lastKnownGood, JSON.stringify(published(9)));
    const fromOldCopy = await start({ dir: old.dir, revisions, candidates, redis: redisOptions('lkgcandnew:'), lastKnownGoodFile: old.lastKnownGood });
    expect([fromOldCopy.source(), fromOldCopy.revision(), fromOldCopy.candidateGeneration(), fromOldCopy.candidate('cart-bottom-sheet')?.revision]).toEqual(['last-known-good', 9, 7, 14]);
  });

  it('copies the candidates it serves beside the live set, and each newer generation the store has', async () => {
    const { dir, lastKnownGood } = workspace();
    const { revisions, candidates } = storeAt(4, [candidate(12, 'cand-12')]);
    const store = await start({ dir, revisions, candidates, redis: redisOptions('copycand:'), lastKnownGoodFile: lastKnownGood });
    expect(store.candidateGeneration()).toBe(4);
    const copy = () => JSON.parse(readFileSync(lastKnownGood, 'utf8')) as { revision: number; candidates?: CandidateSet };
    expect(copy()).toMatchObject({ revision: 9, candidates: { generation: 4, candidates: [{ revision: 12, source: cart('cand-12') }] } });
    // A newer generation from the store (an abort) reaches the copy; the live set stays in it.
    candidates.generation = 6;
    candidates.served = [];
    await until(() => store.candidateGeneration() === 6, 'generation 6 is served');
    await until(() => copy().candidates?.generation === 6, 'the copy holds generation 6');
    expect(copy()).toMatchObject({ revision: 9, candidates: { generation: 6, candidates: [] } });
  });

  it('refuses, in Redis, a push older than what the key holds (two publishers racing)', async () => {
    expect(await pushPublishedLayouts(admin, 'race:', published(2))).toEqual({ result: 'pushed' });
    expect(await pushPublishedLayouts(admin, 'race:', published(1))).toEqual({ result: 'refused', holds: 2 });
    expect(JSON.parse((await admin.get('race:layouts')) as string).revision).toBe(2);
  });

  it('tells a push of the revision Redis already holds (retried after a failover) from one of another set under that number', async () => {
    expect(await pushPublishedLayouts(admin, 'same:', published(4))).toEqual({ result: 'pushed' });
    // The same revision and files, published at another moment by another process: already there.
    expect(await pushPublishedLayouts(admin, 'same:', { ...published(4), publishedAt: new Date(1000).toISOString() })).toEqual({ result: 'held' });
    expect(await pushPublishedLayouts(admin, 'same:', published(4, 'other-set'))).toEqual({ result: 'refused', holds: 4 });
    expect(JSON.parse((await admin.get('same:layouts')) as string).files['cart-bottom-sheet.yaml']).toContain('rev-4');
  });

  it('sets a candidate set of a restored store over the newer generation Redis holds only while Redis still holds the one it replaces', async () => {
    const candidateSet = (generation: number, version: string): CandidateSet => ({ generation, candidates: [candidate(3, version)] });
    const key = candidatesRedisKey('replacecand:');
    expect(await pushCandidates(admin, 'replacecand:', candidateSet(9, 'before-restore'))).toEqual({ result: 'pushed' });
    // Without `replacing`, an older generation is a push that lost a race: refused.
    expect(await pushCandidates(admin, 'replacecand:', candidateSet(2, 'restored'))).toEqual({ result: 'refused', holds: 9 });
    expect(await pushCandidates(admin, 'replacecand:', candidateSet(2, 'restored'), 9)).toEqual({ result: 'pushed' });
    expect(JSON.parse((await admin.get(key)) as string)).toEqual(candidateSet(2, 'restored'));
    // An operation on the restored store pushed generation 3 meanwhile: a replica still replacing 9 loses.
    expect(await pushCandidates(admin, 'replacecand:', candidateSet(3, 'after-restore'))).toEqual({ result: 'pushed' });
    expect(await pushCandidates(admin, 'replacecand:', candidateSet(2, 'restored'), 9)).toEqual({ result: 'refused', holds: 3 });
    expect(JSON.parse((await admin.get(key)) as string)).toEqual(candidateSet(3, 'after-restore'));
  });

  it('tells a candidate push Redis already holds (retried after a failover) from a newer generation and from another set under that generation', async () => {
    const candidateSet = (generation: number, percentage: number): CandidateSet => ({ generation, candidates: [candidate(3, 'cand-3', percentage)] });
    const key = candidatesRedisKey('samecand:');
    expect(await pushCandidates(admin, 'samecand:', candidateSet(4, 10))).toEqual({ result: 'pushed' });
    expect(await pushCandidates(admin, 'samecand:', candidateSet(4, 10))).toEqual({ result: 'held' });
    // Pushed by a build before approvals: no approval fields, and replicas serve the same candidates.
    await admin.set(key, JSON.stringify({ generation: 4, candidates: candidateSet(4, 10).candidates.map(({ publishedBy: _p, approvedBy: _b, approvedAt: _a, ...c }) => c) }));
    expect(await pushCandidates(admin, 'samecand:', candidateSet(4, 10))).toEqual({ result: 'held' });
    expect(await pushCandidates(admin, 'samecand:', candidateSet(4, 50))).toEqual({ result: 'refused', holds: 4 });
    expect(await pushCandidates(admin, 'samecand:', candidateSet(3, 10))).toEqual({ result: 'refused', holds: 4 });
    expect(JSON.parse((await admin.get(key)) as string).generation).toBe(4);
    expect(await pushCandidates(admin, 'samecand:', candidateSet(5, 50))).toEqual({ result: 'pushed' });
    expect(JSON.parse((await admin.get(key)) as string)).toEqual(candidateSet(5, 50));
  });
});
