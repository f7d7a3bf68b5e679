import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { defaultBuilders } from '../../src/floors/builders/index.ts';
import { createBuilderRegistry } from '../../src/floors/registry.ts';
import { loadFloorsDir } from '../../src/layouts/compile.ts';
import {
  layoutRedisKeys,
  LayoutStore,
  type LayoutReloadDetail,
  type LayoutReloadResult,
  type LayoutSource,
  type LayoutStoreOptions,
} from '../../src/layouts/layout-store.ts';
import { publishLayouts } from '../../src/layouts/publish.ts';
import { HAS_REDIS_SERVER, startPrivateRedis, type PrivateRedis } from '../support/redis-server.ts';
import { thrownBy } from '../support/thrown.ts';

const registry = createBuilderRegistry(defaultBuilders);
const LOCALES = ['zh-CN', 'en'] as const;
const CART = 'cart-bottom-sheet';
const CHECKOUT = 'checkout-summary';
/** What the product promises: a change is served within 2 s. */
const SWAP_BUDGET_MS = 2000;

/** A valid floors file for `scene` at `version`; `sort` is line 8, so a bad one is reported there. */
function floorsFile(scene: string, version: string, sort: string = '10'): string {
  return [
    `scene: ${scene}`, // 1
    `version: "${version}"`, // 2
    'floors:', // 3
    '  - code: spze', // 4
    '    builder: spze', // 5
    '    name: { zh-CN: 商品总额, en: Goods total }', // 6
    '    style: [bold]', // 7
    `    sort: ${sort}`, // 8
    '  - code: payable', // 9
    '    builder: payable', // 10
    '    name: { zh-CN: 实付款, en: To pay }', // 11
    '    sort: 90', // 12
    '',
  ].join('\n');
}

const dirs: string[] = [];
function floorsDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'floorplan-layouts-'));
  dirs.push(dir);
  for (const [name, source] of Object.entries(files)) writeFileSync(join(dir, name), source);
  return dir;
}

interface Reload {
  readonly source: LayoutSource;
  readonly result: LayoutReloadResult;
  readonly detail: LayoutReloadDetail;
}

interface Started {
  readonly store: LayoutStore;
  readonly reloads: Reload[];
  /** Every log line, parsed. */
  readonly logs: Array<{ level: number; msg: string } & Record<string, unknown>>;
}

const stores: LayoutStore[] = [];
async function start(options: Partial<LayoutStoreOptions> & { dir: string }): Promise<Started> {
  const reloads: Reload[] = [];
  const logs: Started['logs'] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => logs.push(JSON.parse(line) as Started['logs'][number]) });
  const store = await LayoutStore.start({
    registry,
    locales: LOCALES,
    watch: true,
    resyncIntervalMs: 1000,
    logger,
    onReload: (source, result, detail) => reloads.push({ source, result, detail }),
    ...options,
  });
  stores.push(store);
  return { store, reloads, logs };
}

const versionOf = (store: LayoutStore, scene = CART) => store.current().get(scene)?.version;

/** Polls `check` until it holds, failing after `withinMs`; returns how long it took. */
async function eventually(what: string, check: () => boolean, withinMs = SWAP_BUDGET_MS): Promise<number> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > withinMs) throw new Error(`${what}: not within ${withinMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - started;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.stop()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('LayoutStore on local floors files', () => {
  it('serves the files at start, as the file source at revision 0', async () => {
    const dir = floorsDir({ [`${CART}.yaml`]: floorsFile(CART, 'v1') });
    const { store, reloads } = await start({ dir });
    expect(versionOf(store)).toBe('v1');
    expect(store.source()).toBe('file');
    expect(store.revision()).toBe(0);
    expect(reloads).toEqual([]);
  });

  it('refuses to start on an invalid file, with the message loadFloorsDir gives', async () => {
    const dir = floorsDir({ [`${CART}.yaml`]: floorsFile(CART, 'v1', '"top"') });
    const expected = thrownBy(() => loadFloorsDir(dir, registry, LOCALES)).message;
    await expect(start({ dir })).rejects.toThrow(expected);
    expect(expected).toContain(`\`floors[0].sort\` must be an integer, but got: "top" (${join(dir, `${CART}.yaml`)}:8)`);
  });

  it('swaps in a valid edit within 2 s', async () => {
    const dir = floorsDir({ [`${CART}.yaml`]: floorsFile(CART, 'v1') });
    const { store, reloads } = await start({ dir });
    writeFileSync(join(dir, `${CART}.yaml`), floorsFile(CART, 'v2'));
    await eventually('v2 served', () => versionOf(store) === 'v2');
    expect(reloads).toEqual([{ source: 'file', result: 'applied', detail: { revision: 0, problems: [] } }]);
    expect(store.source()).toBe('file');
  });

  it('rejects an invalid edit with the same file:line message as at start and keeps serving the last good set', async () => {
    const dir = floorsDir({ [`${CART}.yaml`]: floorsFile(CART, 'v1') });
    const { store, reloads, logs } = await start({ dir });
    const served = store.current();
    writeFileSync(join(dir, `${CART}.yaml`), floorsFile(CART, 'v2', '"top"'));
    await eventually('rejected', () => reloads.length > 0);

    const message = `\`floors[0].sort\` must be an integer, but got: "top" (${join(dir, `${CART}.yaml`)}:8)`;
    expect(reloads).toEqual([{ source: 'file', result: 'rejected', detail: { revision: 0, problems: [message] } }]);
    expect(thrownBy(() => loadFloorsDir(dir, registry, LOCALES)).message).toBe(`Invalid floors config:\n- ${message}`);
    const warning = logs.find((l) => l.msg.includes('rejected'));
    expect(warning?.msg).toContain(message);
    expect(warning?.code).toBe('FLOORPLAN_ERR_LAYOUT_INVALID');
    expect(store.current()).toBe(served);
    expect(versionOf(store)).toBe('v1');
  });

  it('recovers with the next valid edit after a rejected one', async () => {
    const dir = floorsDir({ [`${CART}.yaml`]: floorsFile(CART, 'v1') });
    const { store, reloads } = await start({ dir });
    writeFileSync(join(dir, `${CART}.yaml`), 'scene: [unclosed\n');
    await eventually('rejected', () => reloads.length === 1);
    writeFileSync(join(dir, `${CART}.yaml`), floorsFile(CART, 'v3'));
    await eventually('v3 served', () => versionOf(store) === 'v3');
    expect(reloads.map((r) => r.result)).toEqual(['rejected', 'applied']);
  });

  it('applies an editor-style save that writes a temporary file and renames it over the original', async () => {
    const dir = floorsDir({ [`${CART}.yaml`]: floorsFile(CART, 'v1') });
    const { store } = await start({ dir });
    writeFileSync(join(dir, `.${CART}.yaml.swp`), floorsFile(CART, 'v2'));
    renameSync(join(dir, `.${CART}.yaml.swp`), join(dir, `${CART}.yaml`));
    await eventually('v2 served', () => versionOf(store) === 'v2');
    // A second save the same way: the watch must survive the first rename.
    writeFileSync(join(dir, `${CART}.yaml.tmp`), floorsFile(CART, 'v3'));
    renameSync(join(dir, `${CART}.yaml.tmp`), join(dir, `${CART}.yaml`));
    await eventually('v3 served', () => versionOf(store) === 'v3');
  });

  it('swaps two files together or not at all', async () => {
    const dir = floorsDir({ [`${CART}.yaml`]: floorsFile(CART, 'v1'), [`${CHECKOUT}.yaml`]: floorsFile(CHECKOUT, 'v1') });
    const { store, reloads } = await start({ dir });
    writeFileSync(join(dir, `${CART}.yaml`), floorsFile(CART, 'v2'));
    writeFileSync(join(dir, `${CHECKOUT}.yaml`), floorsFile(CHECKOUT, 'v2').replace('builder: payable', 'builder: payabel'));
    await eventually('rejected', () => reloads.some((r) => r.result === 'rejected'));
    expect(reloads.at(-1)?.detail.problems).toEqual([
      `\`floors[1].builder\` must name a known builder (${registry.names.join(', ')}), but got: "payabel" (${join(dir, `${CHECKOUT}.yaml`)}:10)`,
    ]);
    expect([versionOf(store, CART), versionOf(store, CHECKOUT)]).toEqual(['v1', 'v1']);

    writeFileSync(join(dir, `${CHECKOUT}.yaml`), floorsFile(CHECKOUT, 'v2'));
    await eventually('both v2', () => versionOf(store, CHECKOUT) === 'v2');
    expect(versionOf(store, CART)).toBe('v2');
  });

  it('notices a new scene file and a removed one', async () => {
    const dir = floorsDir({ [`${CART}.yaml`]: floorsFile(CART, 'v1') });
    const { store } = await start({ dir });
    writeFileSync(join(dir, `${CHECKOUT}.yaml`), floorsFile(CHECKOUT, 'v1'));
    await eventually('checkout added', () => store.current().has(CHECKOUT));
    rmSync(join(dir, `${CHECKOUT}.yaml`));
    await eventually('checkout removed', () => !store.current().has(CHECKOUT));
  });

  it('warns when an edit changes the floors but not the version: layoutVersion and the decision record cannot tell them apart', async () => {
    const dir = floorsDir({ [`${CART}.yaml`]: floorsFile(CART, 'v1'), [`${CHECKOUT}.yaml`]: floorsFile(CHECKOUT, 'v1') });
    const { store, reloads, logs } = await start({ dir });
    writeFileSync(join(dir, `${CART}.yaml`), floorsFile(CART, 'v1').replace('en: Goods total', 'en: Items'));
    await eventually('the edit swapped in', () => reloads.length === 1);
    expect(store.current().get(CART)?.floors[0]?.name.en).toBe('Items');
    const warnings = logs.filter((l) => l.level === 40);
    expect(warnings).toMatchObject([{ source: 'file', scene: CART, version: 'v1' }]);
    expect(warnings[0]!.msg).toBe(
      'the floors of cart-bottom-sheet changed, but its version did not (still "v1"): layoutVersion does not tell them from the last ones, nor does the decision record (revision 0 for either); give it a new version',
    );
    // A new version is what it asks for: no warning then.
    writeFileSync(join(dir, `${CART}.yaml`), floorsFile(CART, 'v2'));
    await eventually('v2 served', () => versionOf(store) === 'v2');
    expect(logs.filter((l) => l.level === 40)).toHaveLength(1);
  });

  it('does not count a rewrite with the same content as a reload', async () => {
    const dir = floorsDir({ [`${CART}.yaml`]: floorsFile(CART, 'v1') });
    const { store, reloads } = await start({ dir });
    const served = store.current();
    writeFileSync(join(dir, `${CART}.yaml`), floorsFile(CART, 'v1'));
    await sleep(800);
    expect(reloads).toEqual([]);
    expect(store.current()).toBe(served);
  });

  it('follows no edits when watch is off', async () => {
    const dir = floorsDir({ [`${CART}.yaml`]: floorsFile(CART, 'v1') });
    const { store, reloads } = await start({ dir, watch: false });
    writeFileSync(join(dir, `${CART}.yaml`), floorsFile(CART, 'v2'));
    await sleep(800);
    expect(versionOf(store)).toBe('v1');
    expect(reloads).toEqual([]);
  });
});

describe.skipIf(!HAS_REDIS_SERVER)('LayoutStore across replicas through Redis', () => {
  let redis: PrivateRedis;
  let admin: Redis;
  let prefixes = 0;
  /** Each test gets its own key names, so tests sharing the private Redis never see each other. */
  let prefix = '';

  beforeAll(async () => {
    redis = await startPrivateRedis();
    admin = new Redis(redis.url);
  });
  afterAll(async () => {
    admin.disconnect();
    await redis.stop();
  });
  afterEach(() => {
    prefix = '';
  });

  function nextPrefix(): string {
    prefix = `test${++prefixes}:`;
    return prefix;
  }

  const redisOptions = (url = redis.url) => ({ url, keyPrefix: prefix, commandTimeoutMs: 150, connectTimeoutMs: 500 });

  async function publish(dir: string) {
    return publishLayouts({ dir, registry, locales: LOCALES, redis: admin, keyPrefix: prefix });
  }

  it('swaps every running replica to a published set within 2 s', async () => {
    nextPrefix();
    const [a, b] = await Promise.all([
      start({ dir: floorsDir({ [`${CART}.yaml`]: floorsFile(CART, 'v1') }), redis: redisOptions() }),
      start({ dir: floorsDir({ [`${CART}.yaml`]: floorsFile(CART, 'v1') }), redis: redisOptions() }),
    ]);
    const published = await publish(floorsDir({ [`${CART}.yaml`]: floorsFile(CART, 'v2') }));
    expect(published).toEqual({ revision: 1, key: `${prefix}layouts`, scenes: [{ scene: CART, version: 'v2' }], versionKept: [] });

    for (const { store, reloads } of [a, b]) {
      await eventually('v2 served', () => versionOf(store) === 'v2');
      expect(store.source()).toBe('redis');
      expect(store.revision()).toBe(1);
      expect(reloads).toEqual([{ source: 'redis', result: 'applied', detail: { revision: 1, problems: [] } }]);
    }
    const stored = JSON.parse((await admin.get(`${prefix}layouts`)) as string) as Record<string, unknown>;
    expect(stored).toMatchObject({ revision: 1, files: { [`${CART}.yaml`]: floorsFile(CART, 'v2') } });
    expect(typeof stored.publishedAt).toBe('string');
  });

  it('swaps through the pub/sub message well before the resync interval', async () => {
    nextPrefix();
    const { store } = await start({ dir: floorsDir({ [`${CART}.yaml`]: floorsFile(CART, 'v1') }), redis: redisOptions(), resyncIntervalMs: 60_000 });
    await sleep(100); // let the subscriber subscribe
    await publish(floorsDir({ [`${CART}.yaml`]: floorsFile(CART, 'v2') }));
    const tookMs = await eventually('v2 served', () => versionOf(store) === 'v2', 1000);
    expect(tookMs).toBeLessThan(1000);
  });

  it('loads the published set at start when started after the publish', async () => {
    nextPrefix();
    await publish(floorsDir({ [`${CART}.yaml`]: floorsFile(CART, 'v2') }));
    const { store, reloads } = await start({ dir: floorsDir({ [`${CART}.yaml`]: floorsFile(CART, 'v1') }), redis: redisOptions() });
    expect(versionOf(store)).toBe('v2');
    expect(store.source()).toBe('redis');
    expect(store.revision()).toBe(1);
    expect(reloads).toEqual([{ source: 'redis', result: 'applied', detail: { revision: 1, problems: [] } }]);
  });

  it('starts on the published set even when its own files are invalid', async () => {
    nextPrefix();
    await publish(floorsDir({ [`${CART}.yaml`]: floorsFile(CART, 'v2') }));
    const { store } = await start({ dir: floorsDir({ [`${CART}.yaml`]: 'floors: nope\n' }), redis: redisOptions() });
    expect(versionOf(store)).toBe('v2');
  });

  it('catches up through the periodic resync when the change message was missed', async () => {
    nextPrefix();
    const { store } = await start({ dir: floorsDir({ [`${CART}.yaml`]: floorsFile(CART, 'v1') }), redis: redisOptions(), resyncIntervalMs: 300 });
    // What a replica sees when it misses the message: the key changes, no message arrives.
    const files = { [`${CART}.yaml`]: floorsFile(CART, 'v7') };
    await admin.set(`${prefix}layouts`, JSON.stringify({ revision: 7, publishedAt: new Date().toISOString(), files }));
    await eventually('v7 served', () => versionOf(store) === 'v7');
    expect(store.revision()).toBe(7);
  });

  it('converges after its pub/sub connection is dropped and a publish happens meanwhile', async () => {
    nextPrefix();
    const { store } = await start({ dir: floorsDir({ [`${CART}.yaml`]: floorsFile(CART, 'v1') }), redis: redisOptions(), resyncIntervalMs: 500 });
    await sleep(100);
    await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
    await publish(floorsDir({ [`${CART}.yaml`]: floorsFile(CART, 'v2') }));
    await eventually('v2 served', () => versionOf(store) === 'v2');
    // Re-subscribed: the next publish arrives by message again.
    await sleep(300);
    await publish(floorsDir({ [`${CART}.yaml`]: floorsFile(CART, 'v3') }));
    await eventually('v3 served', () => versionOf(store) === 'v3');
  });

  it('ignores local file edits while a published set is the source, and logs why', async () => {
    nextPrefix();
    await publish(floorsDir({ [`${CART}.yaml`]: floorsFile(CART, 'v2') }));
    const dir = floorsDir({ [`${CART}.yaml`]: floorsFile(CART, 'v1') });
    const { store, reloads, logs } = await start({ dir, redis: redisOptions() });
    writeFileSync(join(dir, `${CART}.yaml`), floorsFile(CART, 'v9'));
    await eventually('ignored', () => logs.some((l) => l.msg.includes('floors file change ignored')));
    expect(logs.find((l) => l.msg.includes('floors file change ignored'))?.msg).toContain('published to Redis are the source of truth');
    expect(versionOf(store)).toBe('v2');
    expect(reloads.filter((r) => r.source === 'file')).toEqual([]);
  });

  it('rejects a published set this instance cannot compile, with floors/<name>.yaml:line messages', async () => {
    nextPrefix();
    const { store, reloads } = await start({ dir: floorsDir({ [`${CART}.yaml`]: floorsFile(CART, 'v1') }), redis: redisOptions() });
    const files = { [`${CART}.yaml`]: floorsFile(CART, 'v2', '"top"'), [`${CHECKOUT}.yaml`]: floorsFile(CHECKOUT, 'v2') };
    await admin.set(`${prefix}layouts`, JSON.stringify({ revision: 3, publishedAt: new Date().toISOString(), files }));
    await admin.publish(`${prefix}layouts:changed`, '3');
    await eventually('rejected', () => reloads.length > 0);
    expect(reloads).toEqual([
      {
        source: 'redis',
        result: 'rejected',
        detail: { revision: 3, problems: [`\`floors[0].sort\` must be an integer, but got: "top" (floors/${CART}.yaml:8)`] },
      },
    ]);
    expect(versionOf(store)).toBe('v1');
    expect(store.current().has(CHECKOUT)).toBe(false);
    expect(store.source()).toBe('file');
  });

  it('goes back to the local files when the published set is deleted', async () => {
    nextPrefix();
    await publish(floorsDir({ [`${CART}.yaml`]: floorsFile(CART, 'v2') }));
    const { store } = await start({ dir: floorsDir({ [`${CART}.yaml`]: floorsFile(CART, 'v1') }), redis: redisOptions(), resyncIntervalMs: 200 });
    expect(versionOf(store)).toBe('v2');
    await admin.del(`${prefix}layouts`);
    await eventually('v1 served', () => versionOf(store) === 'v1');
    expect(store.source()).toBe('file');
    expect(store.revision()).toBe(0);
  });

  it('takes a fresh revision above the stored one even when the counter was lost', async () => {
    nextPrefix();
    const dir = floorsDir({ [`${CART}.yaml`]: floorsFile(CART, 'v2') });
    expect((await publish(dir)).revision).toBe(1);
    expect((await publish(dir)).revision).toBe(2);
    await admin.del(`{${prefix}layouts}:revision`);
    expect((await publish(dir)).revision).toBe(3);
  });

  it('publishes nothing when a file is invalid', async () => {
    nextPrefix();
    const dir = floorsDir({ [`${CART}.yaml`]: floorsFile(CART, 'v2'), [`${CHECKOUT}.yaml`]: floorsFile(CHECKOUT, 'v2', '1.5') });
    await expect(publish(dir)).rejects.toMatchObject({
      code: 'FLOORPLAN_ERR_LAYOUT_INVALID',
      message: expect.stringContaining(`(${join(dir, `${CHECKOUT}.yaml`)}:8)`) as unknown,
    });
    expect(await admin.exists(`${prefix}layouts`, `{${prefix}layouts}:revision`)).toBe(0);
  });
});

describe.skipIf(!HAS_REDIS_SERVER)('LayoutStore when Redis goes away', () => {
  let redis: PrivateRedis;
  let admin: Redis;
  const keys = layoutRedisKeys('outage:');
  const redisOptions = () => ({ url: redis.url, keyPrefix: 'outage:', commandTimeoutMs: 150, connectTimeoutMs: 500 });
  const publish = (dir: string) => publishLayouts({ dir, registry, locales: LOCALES, redis: admin, keyPrefix: 'outage:' });

  beforeAll(async () => {
    redis = await startPrivateRedis();
    admin = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 100 });
    admin.on('error', () => undefined);
    await admin.connect();
  });
  afterAll(async () => {
    admin.disconnect();
    await redis.stop();
  });

  it('keeps serving the published set while Redis is down, and follows publishes once it is back', async () => {
    await publish(floorsDir({ [`${CART}.yaml`]: floorsFile(CART, 'v2') }));
    const { store, reloads } = await start({ dir: floorsDir({ [`${CART}.yaml`]: floorsFile(CART, 'v1') }), redis: redisOptions(), resyncIntervalMs: 200 });
    expect(versionOf(store)).toBe('v2');
    // The published set read at start is reported like any set taken from Redis.
    expect(reloads).toEqual([{ source: 'redis', result: 'applied', detail: { revision: 1, problems: [] } }]);
    const served = store.current();

    await redis.stop();
    await sleep(1000);
    expect(store.current()).toBe(served);
    expect(store.source()).toBe('redis');
    expect(reloads).toHaveLength(1);

    await redis.start();
    await eventually('admin reconnected', () => admin.status === 'ready', 3000);
    await publish(floorsDir({ [`${CART}.yaml`]: floorsFile(CART, 'v3') }));
    await eventually('v3 served', () => versionOf(store) === 'v3', 3000);
  });

  it('starts from the files when Redis is down, then swaps to a publish once Redis answers', async () => {
    await redis.stop();
    const startedAt = Date.now();
    const { store } = await start({ dir: floorsDir({ [`${CART}.yaml`]: floorsFile(CART, 'v1') }), redis: redisOptions(), resyncIntervalMs: 200 });
    expect(Date.now() - startedAt).toBeLessThan(1500);
    expect(versionOf(store)).toBe('v1');
    expect(store.source()).toBe('file');

    await redis.start();
    await eventually('admin reconnected', () => admin.status === 'ready', 3000);
    await admin.set(keys.layouts, JSON.stringify({ revision: 1, publishedAt: new Date().toISOString(), files: { [`${CART}.yaml`]: floorsFile(CART, 'v4') } }));
    await eventually('v4 served', () => versionOf(store) === 'v4', 3000);
    expect(store.source()).toBe('redis');
  });
});
