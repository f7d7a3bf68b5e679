/**
 * LayoutStore: the layout set a running Floorplan serves, kept current without a restart.
 *
 * Where the set comes from, most authoritative first:
 * - **Redis**, when configured and a set has been published there (`npm run floors:publish`).
 *   The key `<prefix>layouts` holds `{ revision, publishedAt, files: { "<scene>.yaml": source } }`;
 *   each publish announces its revision on the channel `<prefix>layouts:changed`, and every
 *   `resyncIntervalMs` the key is read again, so an instance that missed a message (subscriber
 *   reconnecting, Redis failover) still converges. Local file edits are then ignored, with a log
 *   line saying so.
 * - **The floors folder** otherwise (no Redis, or nothing published): followed by a
 *   {@link WatchedPath} (fs.watch and a stat poll, debounced, compared by content).
 *
 * Every change is all or nothing: each file of the new set is compiled with
 * {@link compileFloorsFile}, then passes {@link LayoutStoreOptions.check} (the server checks flag
 * names there), and one problem anywhere keeps the whole last good set serving.
 * Redis being down, at start or later, never stops serving: the last good set stays (the
 * files, when Redis could not be read at start).
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { AppsConfig } from '../config/service-config.ts';
import { WatchedPath, type WatchedContent } from '../config/watched-path.ts';
import { ErrorCode, FloorplanError } from '../errors.ts';
import type { BuilderRegistry } from '../floors/registry.ts';
import type { Logger } from '../observability/logger.ts';
import { closeRedis, openRedis } from '../redis/client.ts';
import { compileFloorsSources, FLOORS_FILE, layoutInvalid, readFloorsDir, type FloorsSource, type LayoutSet } from './compile.ts';
import { layoutRedisKeys, parsePublishedLayouts, type LayoutRedisKeys } from './published-layouts.ts';

export { layoutRedisKeys, type LayoutRedisKeys, type PublishedLayouts } from './published-layouts.ts';

/** Where the set being served came from. */
export type LayoutSource = 'file' | 'redis';

/** `applied`: the new set is being served; `rejected`: it had problems and the last good set stays. */
export type LayoutReloadResult = 'applied' | 'rejected';

/** What {@link LayoutStoreOptions.onReload} is told besides the source and result. */
export interface LayoutReloadDetail {
  /** The published revision that was tried; 0 for a change to the local files. */
  readonly revision: number;
  /** Every problem found, each ending "(floors/<scene>.yaml:<line>)"; empty when applied. */
  readonly problems: readonly string[];
}

/**
 * Redis settings for cross-instance publishing. The shape of the service config's `redis`
 * section, so `config.redis` can be passed as is.
 */
export interface LayoutStoreRedisOptions {
  /** redis://host:port/db. Empty means no Redis: the floors folder is the only source. */
  readonly url: string;
  /** Prefix of the key and channel names, e.g. "floorplan:". */
  readonly keyPrefix: string;
  /** A command slower than this fails; the store then keeps what it serves and tries again at the next resync. */
  readonly commandTimeoutMs: number;
  /** How long start waits for Redis before serving the files; also the connection attempt timeout. */
  readonly connectTimeoutMs: number;
}

export interface LayoutStoreOptions {
  /** The floors folder (absolute, or relative to the working directory). */
  readonly dir: string;
  readonly registry: BuilderRegistry;
  /** Locales every floor must be named in (config `floors.locales`). */
  readonly locales: readonly string[];
  /** The apps style tokens are checked against (config `apps`); undefined: not checked (tests of other rules). */
  readonly apps?: AppsConfig;
  /** Apply edits to the floors folder without a restart. false: the files are read once, at start. */
  readonly watch: boolean;
  /** Publishing across instances; undefined (or an empty url) means the files are the only source. */
  readonly redis?: LayoutStoreRedisOptions | undefined;
  /** With Redis: how often the published key is re-read, so a missed pub/sub message is not lost. */
  readonly resyncIntervalMs: number;
  /** How often the floors folder is stat-ed when watching. Default 500 ms: the fallback when fs.watch stays silent. */
  readonly pollIntervalMs?: number;
  readonly logger: Logger;
  /**
   * Checks a compiled set must also pass, at start and on every change; any problem rejects the set
   * like an invalid file. The server passes the flag-name check here (local flags mode: a floor
   * naming a flag the flags file does not define). Default: none.
   */
  check?(layouts: LayoutSet): readonly string[];
  /**
   * Called after each attempt to swap in a changed set (not for the first read of the files at
   * start): with the source of the change and whether it is now served. A throw is logged and ignored.
   */
  onReload?(source: LayoutSource, result: LayoutReloadResult, detail: LayoutReloadDetail): void;
}

const DEFAULT_POLL_INTERVAL_MS = 500;

/**
 * Resolves once `redis` is ready (undefined), or with the error of its first failed attempt, or
 * with a timeout error after `timeoutMs` — whichever comes first. Never rejects.
 */
export function whenRedisReady(redis: Redis, timeoutMs: number): Promise<Error | undefined> {
  if (redis.status === 'ready') return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const finish = (error: Error | undefined) => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('error', onError);
      resolve(error);
    };
    const onReady = () => finish(undefined);
    const onError = (error: Error) => finish(error);
    const timer = setTimeout(() => finish(new Error(`not ready within ${timeoutMs} ms`)), timeoutMs);
    redis.once('ready', onReady);
    redis.once('error', onError);
  });
}

/** A content identity, so a resync that finds the same published value is a no-op. */
function fingerprint(parts: readonly string[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(`${part.length}:${part}`);
  return hash.digest('hex');
}

/** The versions of a set, for logs: { "cart-bottom-sheet": "2026-11-21.1", ... }. */
function versions(layouts: LayoutSet): Record<string, string> {
  return Object.fromEntries([...layouts.values()].map((l) => [l.scene, l.version]));
}

/**
 * The layouts this instance serves. Create one per process with {@link LayoutStore.start};
 * {@link LayoutStore.current} is what the renderer calls on every request.
 */
export class LayoutStore {
  private readonly options: LayoutStoreOptions;
  private readonly redisOptions: LayoutStoreRedisOptions | undefined;
  private readonly keys: LayoutRedisKeys | undefined;
  private layouts: LayoutSet = new Map();
  private servedFrom: LayoutSource = 'file';
  private servedRevision = 0;
  /**
   * What Redis last said: undefined before it was ever read, null when nothing is published,
   * otherwise the fingerprint of the published value last seen (applied or rejected). While a
   * set is published, the files are not the source.
   */
  private published: string | null | undefined;
  /** The floors folder; followed for changes only when `watch`, read again on demand either way. */
  private readonly files: WatchedPath<FloorsSource[]>;

  private client: Redis | undefined;
  private subscriber: Redis | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  /** Every load runs on this chain, one at a time, so a file reload and a Redis sync never interleave. */
  private chain: Promise<void> = Promise.resolve();
  private readonly queued = new Set<LayoutSource>();
  private stopped = false;
  private stopping: Promise<void> | undefined;

  private constructor(options: LayoutStoreOptions) {
    this.options = options;
    this.redisOptions = options.redis !== undefined && options.redis.url !== '' ? options.redis : undefined;
    this.keys = this.redisOptions === undefined ? undefined : layoutRedisKeys(this.redisOptions.keyPrefix);
    this.files = new WatchedPath({
      path: options.dir,
      entries: FLOORS_FILE,
      label: `floors folder ${options.dir}`,
      read: () => readFloorsDir(options.dir),
      identify: (sources) => sources.flatMap((s) => [s.name, s.source]),
      onChange: (content) => this.filesChanged(content),
      // On the same chain as the Redis syncs, so a file reload and a Redis sync never interleave.
      run: (check) => void this.enqueue('file', check),
      pollIntervalMs: options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
      logger: options.logger,
    });
  }

  /**
   * Loads the layouts and starts following changes. Uses the set published in Redis when there
   * is one and it is valid; otherwise the floors files, which must then be valid: throws
   * FLOORPLAN_ERR_LAYOUT_INVALID listing every problem, as loadFloorsDir does. Redis being
   * unreachable delays start by at most `redis.connectTimeoutMs`, then the files serve.
   */
  static async start(options: LayoutStoreOptions): Promise<LayoutStore> {
    const store = new LayoutStore(options);
    try {
      await store.load();
    } catch (error) {
      await store.stop();
      throw error;
    }
    return store;
  }

  /** The set to render with. Cheap: the same immutable Map until a change is swapped in. */
  current(): LayoutSet {
    return this.layouts;
  }

  /** Where the set being served came from. */
  source(): LayoutSource {
    return this.servedFrom;
  }

  /** The published revision being served; 0 while the set comes from the local files. */
  revision(): number {
    return this.servedRevision;
  }

  /** Stops watching and following Redis and closes its connections; the last set stays readable. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.stopped = true;
      for (const timer of this.timers) clearInterval(timer);
      await this.files.stop();
      await Promise.all([this.subscriber, this.client].map((r) => (r === undefined ? undefined : closeRedis(r))));
      await this.chain;
    })();
    return this.stopping;
  }

  private async load(): Promise<void> {
    const { logger } = this.options;
    let filesError: FloorplanError | undefined;
    try {
      const compiled = this.compile(await this.files.read());
      if (compiled.layouts === undefined) filesError = layoutInvalid(compiled.problems);
      else this.layouts = compiled.layouts;
    } catch (error) {
      if (!(error instanceof FloorplanError)) throw error;
      filesError = error;
    }

    if (this.redisOptions !== undefined) {
      this.connectRedis(this.redisOptions);
      const client = this.client as Redis;
      const notReady = await whenRedisReady(client, this.redisOptions.connectTimeoutMs);
      if (notReady === undefined) await this.enqueue('redis', () => this.syncFromRedis());
      else logger.warn({ err: notReady.message }, 'redis unavailable at start; serving the floors files until it answers');
      this.timers.push(setInterval(() => void this.enqueue('redis', () => this.syncFromRedis()), this.options.resyncIntervalMs).unref());
    }

    if (this.servedFrom === 'file') {
      if (filesError !== undefined) throw filesError;
    } else if (filesError !== undefined) {
      logger.warn({ code: filesError.code }, `the floors files are invalid; serving the set published to Redis instead:\n${filesError.message}`);
    }
    if (this.options.watch) this.files.start();
    logger.info({ source: this.servedFrom, revision: this.servedRevision, versions: versions(this.layouts) }, 'layouts loaded');
  }

  private connectRedis(settings: LayoutStoreRedisOptions): void {
    const { logger } = this.options;
    const channel = (this.keys as LayoutRedisKeys).channel;
    this.client = openRedis({ ...settings, name: 'layouts' }, logger);
    // Subscribing puts a connection in subscriber mode, where GET is refused: it needs its own.
    this.subscriber = openRedis({ ...settings, name: 'layouts-subscriber', subscriber: true }, logger);
    const sync = () => void this.enqueue('redis', () => this.syncFromRedis());
    this.subscriber.on('message', (from: string) => {
      if (from === channel) sync();
    });
    // Messages published while disconnected are gone: catch up on every (re)connect.
    this.subscriber.on('ready', () => {
      void this.subscribe(channel);
      sync();
    });
    this.client.on('ready', sync);
  }

  private async subscribe(channel: string): Promise<void> {
    try {
      // On every (re)connect: ioredis' own re-subscription is off (openRedis `subscriber`),
      // because with no offline queue it rejects unhandled when the socket is not writable yet.
      await this.subscriber?.subscribe(channel);
    } catch (error) {
      this.options.logger.debug({ err: (error as Error).message }, 'layouts subscribe failed; retrying on reconnect, resyncing meanwhile');
    }
  }

  /**
   * Runs `task` after whatever is running. A task of a kind already waiting is not queued
   * again: the waiting one has not read anything yet, so it will see this change too.
   */
  private enqueue(kind: LayoutSource, task: () => Promise<void>): Promise<void> {
    if (this.queued.has(kind) || this.stopped) return this.chain;
    this.queued.add(kind);
    this.chain = this.chain
      .then(async () => {
        this.queued.delete(kind);
        if (!this.stopped) await task();
      })
      .catch((error: unknown) => this.options.logger.error({ err: error }, 'layouts reload failed unexpectedly; still serving the last good set'));
    return this.chain;
  }

  private async syncFromRedis(): Promise<void> {
    const keys = this.keys as LayoutRedisKeys;
    let raw: string | null;
    try {
      raw = await (this.client as Redis).get(keys.layouts);
    } catch (error) {
      // openRedis already logs the outage once; the last good set keeps serving.
      this.options.logger.debug({ err: (error as Error).message }, 'layouts resync skipped: redis unavailable');
      return;
    }
    if (raw === null) {
      const wasPublished = typeof this.published === 'string';
      this.published = null;
      if (wasPublished) {
        this.options.logger.warn({ key: keys.layouts }, 'no layouts are published in Redis any more; the floors files are the source again');
        await this.files.check(true);
      }
      return;
    }
    const seen = fingerprint([raw]);
    if (seen === this.published) return;
    this.published = seen;
    const parsed = parsePublishedLayouts(raw, keys.layouts);
    if (!parsed.ok) {
      this.reject('redis', 0, parsed.problems);
      return;
    }
    const { revision, files } = parsed.value;
    // Checked again here, not only by floors:publish: this instance's builders and locales may differ.
    const sources = Object.keys(files)
      .sort()
      .map((name) => ({ name, file: `floors/${name}`, source: files[name] as string }));
    const compiled = this.compile(sources);
    if (compiled.layouts === undefined) this.reject('redis', revision, compiled.problems);
    else this.apply('redis', revision, compiled.layouts, { publishedAt: parsed.value.publishedAt });
  }

  /** Compiles a set and runs the owner's checks on it: the layouts, or every problem. */
  private compile(sources: readonly FloorsSource[]): ReturnType<typeof compileFloorsSources> {
    const compiled = compileFloorsSources(sources, this.options.registry, this.options.locales, this.options.apps);
    if (compiled.layouts === undefined || this.options.check === undefined) return compiled;
    const problems = this.options.check(compiled.layouts);
    return problems.length > 0 ? { layouts: undefined, problems } : compiled;
  }

  /** The floors files changed (or were asked for again after Redis stopped being the source). */
  private filesChanged(content: WatchedContent<FloorsSource[]>): void {
    if (typeof this.published === 'string') {
      this.options.logger.info(
        { dir: this.options.dir, revision: this.servedRevision },
        'floors file change ignored: layouts published to Redis are the source of truth (publish the change with npm run floors:publish)',
      );
      return;
    }
    if (!content.ok) {
      if (!(content.error instanceof FloorplanError)) throw content.error;
      this.reject('file', 0, [content.error.message]);
      return;
    }
    const compiled = this.compile(content.value);
    if (compiled.layouts === undefined) this.reject('file', 0, compiled.problems);
    else this.apply('file', 0, compiled.layouts);
  }

  private apply(source: LayoutSource, revision: number, layouts: LayoutSet, extra: Record<string, unknown> = {}): void {
    this.layouts = layouts;
    this.servedFrom = source;
    this.servedRevision = revision;
    this.options.logger.info({ source, revision, ...extra, versions: versions(layouts) }, 'layouts swapped in');
    this.notify(source, 'applied', { revision, problems: [] });
  }

  private reject(source: LayoutSource, revision: number, problems: readonly string[]): void {
    const what = source === 'file' ? 'floors file change' : `layouts published to Redis (revision ${revision})`;
    this.options.logger.warn(
      { source, revision, code: ErrorCode.LAYOUT_INVALID, problems },
      `${what} rejected; still serving the last good layouts:\n- ${problems.join('\n- ')}`,
    );
    this.notify(source, 'rejected', { revision, problems });
  }

  private notify(source: LayoutSource, result: LayoutReloadResult, detail: LayoutReloadDetail): void {
    try {
      this.options.onReload?.(source, result, detail);
    } catch (error) {
      this.options.logger.error({ err: error }, 'onReload hook threw; ignored');
    }
  }
}
