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
 * - **The floors folder** otherwise (no Redis, or nothing published): watched with fs.watch and a
 *   stat poll, because fs.watch misses events on some filesystems (network mounts, some
 *   container overlays) and editors that save by rename replace the inode it was watching.
 *
 * Every change is all or nothing: each file of the new set is compiled with
 * {@link compileFloorsFile}, and one problem anywhere keeps the whole last good set serving.
 * Redis being down, at start or later, never stops serving: the last good set stays (the
 * files, when Redis could not be read at start).
 */
import { createHash } from 'node:crypto';
import { readdirSync, statSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { AppsConfig } from '../config/service-config.ts';
import { ErrorCode, FloorplanError } from '../errors.ts';
import type { BuilderRegistry } from '../floors/registry.ts';
import type { Logger } from '../observability/logger.ts';
import { closeRedis, openRedis } from '../redis/client.ts';
import { compileFloorsSources, FLOORS_FILE, layoutInvalid, readFloorsDir, type FloorsSource, type LayoutSet } from './floors-config.ts';

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
   * Called after each attempt to swap in a changed set (not for the first read of the files at
   * start): with the source of the change and whether it is now served. A throw is logged and ignored.
   */
  onReload?(source: LayoutSource, result: LayoutReloadResult, detail: LayoutReloadDetail): void;
}

/** Key and channel names under a prefix; the wire contract between floors:publish and every instance. */
export interface LayoutRedisKeys {
  /** String key holding the published set as JSON ({@link PublishedLayouts}). */
  readonly layouts: string;
  /** Counter the next revision is taken from. */
  readonly revision: string;
  /** Pub/sub channel; each message is the revision just published. */
  readonly channel: string;
}

export function layoutRedisKeys(keyPrefix: string): LayoutRedisKeys {
  return { layouts: `${keyPrefix}layouts`, revision: `${keyPrefix}layouts:revision`, channel: `${keyPrefix}layouts:changed` };
}

/** The JSON stored under {@link LayoutRedisKeys.layouts}. */
export interface PublishedLayouts {
  /** Increases with every publish. */
  readonly revision: number;
  /** ISO 8601 time of the publish. */
  readonly publishedAt: string;
  /** File name ("cart-bottom-sheet.yaml") to its full YAML source. */
  readonly files: Readonly<Record<string, string>>;
}

const DEBOUNCE_MS = 100;
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

/**
 * Parses the published JSON; a problem is returned as one message naming the key, the
 * contract and what was found, so a hand-edited key is rejected like a bad file.
 */
function parsePublished(raw: string, key: string): { ok: true; value: PublishedLayouts } | { ok: false; problem: string } {
  const bad = (what: string, got: unknown) => ({
    ok: false as const,
    problem: `Redis key ${key} ${what}, but got: ${JSON.stringify(got)?.slice(0, 120) ?? String(got)}`,
  });
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return bad('must hold JSON', raw);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad('must hold {revision, publishedAt, files}', value);
  const { revision, publishedAt, files } = value as Record<string, unknown>;
  if (typeof revision !== 'number' || !Number.isSafeInteger(revision) || revision < 1) return bad('must have a positive integer `revision`', revision);
  if (typeof publishedAt !== 'string') return bad('must have an ISO time `publishedAt`', publishedAt);
  if (typeof files !== 'object' || files === null || Array.isArray(files)) return bad('must have `files` mapping file names to YAML', files);
  const entries = Object.entries(files);
  if (entries.length === 0) return bad('`files` must hold at least one <scene>.yaml', files);
  for (const [name, source] of entries) {
    if (!/^[^/\\]+\.ya?ml$/.test(name)) return bad('`files` must be named <scene>.yaml', name);
    if (typeof source !== 'string') return bad(`\`files["${name}"]\` must be the file's YAML text`, source);
  }
  return { ok: true, value: { revision, publishedAt, files: files as Record<string, string> } };
}

/** A content identity, so a re-read that finds the same bytes (poll and fs.watch both firing) is a no-op. */
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
  /** Fingerprint of the floors files last considered. */
  private filesSeen: string | undefined;
  /** names, mtimes and sizes at the last poll. */
  private filesStat = '';

  private client: Redis | undefined;
  private subscriber: Redis | undefined;
  private watcher: FSWatcher | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private debounce: NodeJS.Timeout | undefined;
  /** Every load runs on this chain, one at a time, so a file reload and a Redis sync never interleave. */
  private chain: Promise<void> = Promise.resolve();
  private readonly queued = new Set<LayoutSource>();
  private stopped = false;
  private stopping: Promise<void> | undefined;

  private constructor(options: LayoutStoreOptions) {
    this.options = options;
    this.redisOptions = options.redis !== undefined && options.redis.url !== '' ? options.redis : undefined;
    this.keys = this.redisOptions === undefined ? undefined : layoutRedisKeys(this.redisOptions.keyPrefix);
  }

  /**
   * Loads the layouts and starts following changes. Uses the set published in Redis when there
   * is one and it is valid; otherwise the floors files, which must then be valid: throws
   * FLOORPLAN_ERR_LAYOUT_INVALID listing every problem, as loadFloorsDir does. Redis being
   * unreachable delays start by at most `redis.connectTimeoutMs`, then the files serve.
   */
  static async start(options: LayoutStoreOptions): Promise<LayoutStore> {
    if (!Number.isInteger(options.resyncIntervalMs) || options.resyncIntervalMs <= 0) {
      throw new TypeError(`resyncIntervalMs must be a positive whole number of milliseconds, but got: ${String(options.resyncIntervalMs)}`);
    }
    const poll = options.pollIntervalMs;
    if (poll !== undefined && (!Number.isInteger(poll) || poll <= 0)) {
      throw new TypeError(`pollIntervalMs must be a positive whole number of milliseconds, but got: ${String(poll)}`);
    }
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
      clearTimeout(this.debounce);
      this.watcher?.close();
      await Promise.all([this.subscriber, this.client].map((r) => (r === undefined ? undefined : closeRedis(r))));
      await this.chain;
    })();
    return this.stopping;
  }

  private async load(): Promise<void> {
    const { logger } = this.options;
    // Stat before reading, so an edit landing while we start is seen by the first poll.
    this.filesStat = this.statFiles();
    let filesError: FloorplanError | undefined;
    try {
      const sources = readFloorsDir(this.options.dir);
      this.filesSeen = fingerprint(sources.flatMap((s) => [s.name, s.source]));
      const compiled = compileFloorsSources(sources, this.options.registry, this.options.locales, this.options.apps);
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
    if (this.options.watch) this.watchFiles();
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
        this.reloadFromFiles(true);
      }
      return;
    }
    const seen = fingerprint([raw]);
    if (seen === this.published) return;
    this.published = seen;
    const parsed = parsePublished(raw, keys.layouts);
    if (!parsed.ok) {
      this.reject('redis', 0, [parsed.problem]);
      return;
    }
    const { revision, files } = parsed.value;
    // Checked again here, not only by floors:publish: this instance's builders and locales may differ.
    const sources = Object.keys(files)
      .sort()
      .map((name) => ({ name, file: `floors/${name}`, source: files[name] as string }));
    const compiled = compileFloorsSources(sources, this.options.registry, this.options.locales, this.options.apps);
    if (compiled.layouts === undefined) this.reject('redis', revision, compiled.problems);
    else this.apply('redis', revision, compiled.layouts, { publishedAt: parsed.value.publishedAt });
  }

  /** Reads the floors files; `force` re-applies them even when they are unchanged (Redis stopped being the source). */
  private reloadFromFiles(force: boolean): void {
    let sources: FloorsSource[] | undefined;
    let seen: string;
    let problems: readonly string[] = [];
    try {
      sources = readFloorsDir(this.options.dir);
      seen = fingerprint(sources.flatMap((s) => [s.name, s.source]));
    } catch (error) {
      if (!(error instanceof FloorplanError)) throw error;
      problems = [error.message];
      seen = fingerprint(problems);
    }
    if (!force && seen === this.filesSeen) return;
    this.filesSeen = seen;
    if (typeof this.published === 'string') {
      this.options.logger.info(
        { dir: this.options.dir, revision: this.servedRevision },
        'floors file change ignored: layouts published to Redis are the source of truth (publish the change with npm run floors:publish)',
      );
      return;
    }
    if (sources === undefined) {
      this.reject('file', 0, problems);
      return;
    }
    const compiled = compileFloorsSources(sources, this.options.registry, this.options.locales, this.options.apps);
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

  private watchFiles(): void {
    const { dir, logger } = this.options;
    const schedule = () => {
      if (this.stopped) return;
      clearTimeout(this.debounce);
      // Editors write in bursts (truncate, write, rename, chmod): read once they are done.
      this.debounce = setTimeout(() => void this.enqueue('file', async () => this.reloadFromFiles(false)), DEBOUNCE_MS);
    };
    try {
      this.watcher = watch(dir, { persistent: false }, (_event, name) => {
        if (name === null || FLOORS_FILE.test(name)) schedule();
      });
      this.watcher.on('error', (error: Error) => {
        logger.warn({ dir, err: error.message }, 'fs.watch on the floors folder failed; polling it instead');
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch (error) {
      logger.warn({ dir, err: (error as Error).message }, 'fs.watch unavailable for the floors folder; polling it instead');
    }
    const poll = setInterval(() => {
      const stat = this.statFiles();
      if (stat === this.filesStat) return;
      this.filesStat = stat;
      schedule();
    }, this.options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS);
    this.timers.push(poll.unref());
  }

  /** Names, mtimes and sizes of the floors files: cheap enough to take every poll. */
  private statFiles(): string {
    try {
      const names = readdirSync(this.options.dir).filter((n) => FLOORS_FILE.test(n)).sort();
      return names
        .map((name) => {
          const stat = statSync(join(this.options.dir, name), { throwIfNoEntry: false });
          return `${name}:${stat?.mtimeMs ?? '-'}:${stat?.size ?? '-'}`;
        })
        .join('|');
    } catch (error) {
      return `unreadable:${(error as NodeJS.ErrnoException).code ?? ''}`;
    }
  }
}
