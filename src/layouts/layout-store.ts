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
 * - **The revision store** (PostgreSQL or PGlite, ./revisions), when configured: its live
 *   revision is read at start and polled every `resyncIntervalMs`, so a replica converges even
 *   when Redis lost the key (restarted empty), holds an older revision (a failover to a replica
 *   that missed the push, an older dump) or a publish could not be pushed; a newer live revision
 *   found there is served, and pushed to Redis whenever Redis is behind it (candidates alike). A
 *   replica never goes back to an older revision or candidate generation than it serves, unless
 *   the store itself went back (restored or recreated behind it: the store is the source of
 *   truth, and Redis is set back to it).
 * - **The last-known-good copy** (`lastKnownGoodFile`), at start only, when the store could not
 *   be read and Redis could not either, or holds an older revision than the copy: every
 *   published set swapped in is written there, never replaced by a lower revision except the
 *   store's. The candidates being served are kept beside it the same way, by generation, and
 *   served at start while the store cannot be read unless Redis holds a newer generation.
 * - **The floors folder** otherwise (nothing published): followed by a
 *   {@link WatchedPath} (fs.watch and a stat poll, debounced, compared by content).
 *
 * Every change is all or nothing: each file of the new set is compiled with
 * {@link compileFloorsFile}, then passes {@link LayoutStoreOptions.check} (the server checks flag
 * names there), and one problem anywhere keeps the whole last good set serving.
 * Redis being down, at start or later, never stops serving: the last good set stays (the
 * files, when Redis could not be read at start).
 */
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { AppsConfig } from '../config/service-config.ts';
import { WatchedPath, type WatchedContent } from '../config/watched-path.ts';
import { describeThrown, ErrorCode, FloorplanError } from '../errors.ts';
import type { BuilderRegistry } from '../floors/registry.ts';
import type { Logger } from '../observability/logger.ts';
import { closeRedis, isRedisConfigured, openRedis, whenRedisReady, type RedisClient, type RedisLocation } from '../redis/client.ts';
import { compileFloorsSources, FLOORS_DIR_SETTING, FLOORS_FILE, type CompiledLayout, layoutInvalid, type LayoutInvalidError, readFloorsDir, type FloorsSource, type LayoutSet } from './compile.ts';
import { pushPublishedLayouts } from './publish.ts';
import { allowListOnly, candidatesRedisKey, parseCandidateSet, pushCandidates, readCandidateSet, type CandidateRollout, type CandidateSet } from './revisions/candidates.ts';
import { versionsKept } from './revisions/diff.ts';
import { layoutRedisKeys, parsePublishedLayouts, type LayoutRedisKeys, type PublishedLayouts } from './published-layouts.ts';

export { layoutRedisKeys, type LayoutRedisKeys, type PublishedLayouts } from './published-layouts.ts';

/** Where the set being served came from. */
export type LayoutSource = 'file' | 'redis' | 'store' | 'last-known-good';

/**
 * The revision store as a replica reads it: the live revision. Both reject while the store is
 * unreachable (the set being served stays).
 */
export interface LiveRevisionSource {
  /** The live revision's number, undefined when nothing was published: what is polled. */
  liveRevision(): Promise<number | undefined>;
  /** The live revision with its files. */
  live(): Promise<PublishedLayouts | undefined>;
}

/**
 * The revision store's layout candidates as a replica reads them (./revisions/candidates.ts).
 * Both reject while the store is unreachable (the candidates being served stay).
 */
export interface CandidateSource {
  /** Increases with every candidate change: what is polled. -1: no store yet (a PGlite folder nobody published to), nothing to follow. */
  candidateGeneration(): Promise<number>;
  candidates(): Promise<CandidateSet>;
}

/** A scene's candidate as this replica serves it: compiled, with its rollout. */
export interface ServedCandidate {
  readonly scene: string;
  /** The revision whose file for the scene this is. */
  readonly revision: number;
  /** The rollout as served: with its approval pending, its allow-list only, whatever the stored rollout says. */
  readonly rollout: CandidateRollout;
  /** It changes money floors and awaits another admin's approval (layouts.approval): served to its allow-list only until then. */
  readonly approvalPending: boolean;
  readonly layout: CompiledLayout;
  /** ISO 8601: when it was staged (the same revision aborted and staged again has a new one): its shadow comparison's identity. */
  readonly createdAt: string;
  /** ISO 8601: the candidate's last change (a new rollout gives a new ServedCandidate). */
  readonly updatedAt: string;
}

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
 * section, so `config.redis` can be passed as is; no url, Sentinels or cluster nodes means no
 * Redis: the floors folder is the only source.
 */
export interface LayoutStoreRedisOptions extends RedisLocation {
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
  /** The revision store's live revision; undefined: no store (Redis or the files only). */
  readonly revisions?: LiveRevisionSource | undefined;
  /** The revision store's candidates; undefined: none are served (no store). Polled with the live revision, and followed in Redis. */
  readonly candidates?: CandidateSource | undefined;
  /** Told after the candidates being served changed (by scene). */
  onCandidates?(candidates: ReadonlyMap<string, ServedCandidate>, generation: number): void;
  /**
   * Where each published set swapped in is copied, with the candidate set being served, and read
   * at start when Redis and the store are not (candidates: when the store is not, and Redis holds
   * no newer generation); undefined or "": no copy.
   */
  readonly lastKnownGoodFile?: string | undefined;
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

/** A content identity, so a resync that finds the same published value is a no-op. */
function fingerprint(parts: readonly string[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(`${part.length}:${part}`);
  return hash.digest('hex');
}

/** A published set's files as sources, named as the floors folder would name them. */
function sourcesOf(files: Readonly<Record<string, string>>): FloorsSource[] {
  return Object.keys(files)
    .sort()
    .map((name) => ({ name, file: `floors/${name}`, source: files[name] as string }));
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
  /** The last revision from the store this instance could not compile (0: none). */
  private refusedRevision = 0;
  /**
   * What Redis last said: undefined before it was ever read, null when nothing is published,
   * otherwise the fingerprint of the published value last seen (applied or rejected). While a
   * set is published, the files are not the source.
   */
  private published: string | null | undefined;
  /** The revision Redis last held (a valid set); undefined: not known, or no key (see `published`). */
  private redisRevision: number | undefined;
  /** The live set in the last-known-good copy on disk; undefined: none. */
  private copyLive: PublishedLayouts | undefined;
  /** The candidate set in the copy on disk, or waiting for a live set to be written with; undefined: none. */
  private copyCandidates: CandidateSet | undefined;
  /** The floors folder; followed for changes only when `watch`, read again on demand either way. */
  private readonly files: WatchedPath<FloorsSource[]>;
  /** The floors files' sources last compiled, by file name: what an edit is compared with. */
  private filesServed: Readonly<Record<string, string>> | undefined;

  private servedCandidates: ReadonlyMap<string, ServedCandidate> = new Map();
  /** The candidate generation being served; -1 before any was read. */
  private candidateGen = -1;
  /** The fingerprint of the candidates key last seen in Redis; null: Redis answered it holds none. */
  private candidatesSeen: string | null | undefined;
  /** The candidate generation Redis last held; undefined: not known, or no key. */
  private redisCandidateGen: number | undefined;

  private client: RedisClient | undefined;
  private subscriber: RedisClient | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  /** Every load runs on this chain, one at a time, so a file reload and a Redis sync never interleave. */
  private chain: Promise<void> = Promise.resolve();
  private readonly queued = new Set<LayoutSource>();
  private stopped = false;
  private stopping: Promise<void> | undefined;

  private constructor(options: LayoutStoreOptions) {
    this.options = options;
    this.redisOptions = options.redis !== undefined && isRedisConfigured(options.redis) ? options.redis : undefined;
    this.keys = this.redisOptions === undefined ? undefined : layoutRedisKeys(this.redisOptions.keyPrefix);
    this.files = new WatchedPath({
      path: options.dir,
      entries: FLOORS_FILE,
      label: `floors folder ${options.dir}`,
      read: () => readFloorsDir(options.dir, FLOORS_DIR_SETTING),
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

  /** The candidate of `scene` this replica serves to its rollout's users, or undefined. Cheap: a Map lookup. */
  candidate(scene: string): ServedCandidate | undefined {
    return this.servedCandidates.get(scene);
  }

  /** Every candidate being served, by scene. */
  candidates(): ReadonlyMap<string, ServedCandidate> {
    return this.servedCandidates;
  }

  /** The candidate generation being served (0: none ever; -1: not read yet). */
  candidateGeneration(): number {
    return this.candidateGen;
  }

  /** A candidate set that just changed in this process (its admin API): served at once rather than at the next poll. */
  offerCandidates(set: CandidateSet): Promise<void> {
    return this.enqueue('store', async () => this.applyCandidates(set, 'store'));
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
    let filesError: FloorplanError | LayoutInvalidError | undefined;
    try {
      const sources = await this.files.read();
      const compiled = this.compile(sources);
      if (compiled.layouts === undefined) filesError = layoutInvalid(compiled.problems);
      else {
        this.layouts = compiled.layouts;
        this.filesServed = filesByName(sources);
      }
    } catch (error) {
      if (!(error instanceof FloorplanError)) throw error;
      filesError = error;
    }

    const copy = this.readLastKnownGood();
    this.copyLive = copy?.live;
    this.copyCandidates = copy?.candidates;
    // Whether a source that may hold a published set could not be read: only then is the last-known-good copy worth serving.
    let unread = false;
    let storeUnread = false;
    if (this.redisOptions !== undefined) {
      this.connectRedis(this.redisOptions);
      const client = this.client as RedisClient;
      const notReady = await whenRedisReady(client, this.redisOptions.connectTimeoutMs);
      if (notReady === undefined) await this.enqueue('redis', () => this.syncFromRedis());
      else {
        unread = true;
        logger.warn({ err: describeThrown(notReady) }, 'redis unavailable at start; serving the revision store, the last-known-good copy or the floors files until it answers');
      }
      this.timers.push(setInterval(() => void this.enqueue('redis', () => this.syncFromRedis()), this.options.resyncIntervalMs).unref());
    }
    if (this.options.revisions !== undefined) {
      let storeRead = false;
      await this.enqueue('store', async () => {
        storeRead = await this.syncFromStore();
      });
      if (!storeRead) unread = storeUnread = true;
      this.timers.push(setInterval(() => void this.enqueue('store', () => this.syncFromStore().then(() => undefined)), this.options.resyncIntervalMs).unref());
    }
    // With the store unread, Redis may hold an older revision than this replica last served (a
    // failover to a replica that missed the push, Redis restarted from an older dump): the newer
    // copy stands for the store until it answers.
    if (copy !== undefined && ((this.servedFrom === 'file' && unread) || (this.servedFrom === 'redis' && storeUnread && copy.live.revision > this.servedRevision))) {
      this.serveLastKnownGood(copy.live);
    }
    // Likewise the candidates: Redis may hold an older generation (a candidate since aborted, an
    // old rollout), and its canary users would get it until the store answers.
    if (storeUnread && this.options.candidates !== undefined && copy?.candidates !== undefined && copy.candidates.generation > this.candidateGen) {
      this.serveLastKnownGoodCandidates(copy.candidates);
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
      this.options.logger.debug({ err: describeThrown(error) }, 'layouts subscribe failed; retrying on reconnect, resyncing meanwhile');
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

  /**
   * Serves the store's live revision when it is newer than what is served, and pushes it to
   * Redis again (a Redis restarted empty, or a publish whose push failed). Resolves whether the
   * store could be read.
   */
  private async syncFromStore(): Promise<boolean> {
    const read = await this.syncLiveFromStore();
    if (read && this.options.candidates !== undefined) await this.syncCandidatesFromStore();
    return read;
  }

  private async syncLiveFromStore(): Promise<boolean> {
    const revisions = this.options.revisions as LiveRevisionSource;
    let published: PublishedLayouts | undefined;
    /** The newer revision served here that a restored store no longer has; undefined: the store is not behind. */
    let behind: number | undefined;
    try {
      let live = await revisions.liveRevision();
      // Redis answered with no key (restarted empty), or holds an older revision than the store's
      // live one (a failover to a replica that missed the push, or an older dump): push it again.
      // Never the other way: Redis ahead of the store is the store restored behind it (below).
      const reseed = this.client?.status === 'ready' && (this.published === null || (live !== undefined && this.redisRevision !== undefined && this.redisRevision < live));
      const fromPublished = this.servesPublished;
      if (live !== undefined && live < this.servedRevision && fromPublished) {
        // Live revisions only grow, so a lower one is a poll that raced a publish, or a store
        // restored or recreated behind what is served. Asked again now, after the served revision
        // arrived (committed before it was pushed), a race reads it or a newer one.
        live = await revisions.liveRevision();
        if (live !== undefined && live < this.servedRevision) behind = this.servedRevision;
      }
      if (live === undefined || (behind === undefined && !reseed && live <= this.servedRevision && fromPublished)) return true;
      // Refused once (this build cannot compile it): logged then, not again every poll.
      if (live === this.refusedRevision) return true;
      published = await revisions.live();
    } catch (error) {
      // The store logs its own outage once; what is served stays.
      this.options.logger.debug({ err: describeThrown(error) }, 'layouts store poll skipped: store unavailable');
      return false;
    }
    if (published === undefined) return true;
    if (behind !== undefined) {
      this.options.logger.warn(
        { live: published.revision, served: behind },
        `the revision store's live revision ${published.revision} is older than revision ${behind} served here: the store was restored or recreated, and it is the source of truth; serving its revision`,
      );
    }
    this.offerPublished('store', published, behind !== undefined);
    if (this.client !== undefined && this.client.status === 'ready' && this.servedRevision === published.revision) {
      // Read again at the next Redis sync, whatever the push did.
      this.published = undefined;
      this.redisRevision = undefined;
      await pushPublishedLayouts(this.client, (this.redisOptions as LayoutStoreRedisOptions).keyPrefix, published, behind).catch((error: unknown) =>
        this.options.logger.debug({ err: describeThrown(error) }, 'could not push the live revision to redis; the next poll tries again'),
      );
    }
    return true;
  }

  /**
   * A revision that just went live in this process (published through its admin API): served at
   * once rather than at the next poll.
   */
  offer(published: PublishedLayouts): Promise<void> {
    return this.enqueue('store', async () => this.offerPublished('store', published));
  }

  /** Whether what is served is a published revision (from the store or Redis), not the local files or the last-known-good copy. */
  private get servesPublished(): boolean {
    return this.servedFrom !== 'file' && this.servedFrom !== 'last-known-good';
  }

  /**
   * Compiles and serves a published set unless this replica already serves it or a newer one
   * (`restored`: the store went back behind what is served, and its revision is served anyway).
   */
  private offerPublished(source: 'store' | 'last-known-good', published: PublishedLayouts, restored = false): void {
    if (!restored && source === 'store' && this.servesPublished && published.revision <= this.servedRevision) return;
    const compiled = this.compile(sourcesOf(published.files));
    if (compiled.layouts === undefined) {
      this.refusedRevision = published.revision;
      this.reject(source, published.revision, compiled.problems);
    } else this.apply(source, published.revision, compiled.layouts, { publishedAt: published.publishedAt }, published);
  }

  /**
   * The last-known-good copy, read at start; undefined when there is none or its live set is
   * unreadable (said so). `candidates` is absent from a copy written before it was kept there.
   */
  private readLastKnownGood(): { readonly live: PublishedLayouts; readonly candidates: CandidateSet | undefined } | undefined {
    const path = this.options.lastKnownGoodFile;
    if (path === undefined || path === '') return undefined;
    let raw: string;
    try {
      raw = readFileSync(path, 'utf8');
    } catch {
      return undefined;
    }
    const parsed = parsePublishedLayouts(raw, path);
    if (!parsed.ok) {
      this.options.logger.warn({ file: path, problems: parsed.problems }, 'last-known-good layouts copy unreadable; not served, and the next published set swapped in replaces it');
      return undefined;
    }
    const stored = (JSON.parse(raw) as { candidates?: unknown }).candidates;
    if (stored === undefined) return { live: parsed.value, candidates: undefined };
    const candidates = readCandidateSet(stored, `the last-known-good copy ${path}: \`candidates\``);
    if (!candidates.ok) {
      this.options.logger.warn({ file: path, problem: candidates.problem }, 'layout candidates in the last-known-good copy unreadable; not served, and the next candidate set swapped in replaces them');
      return { live: parsed.value, candidates: undefined };
    }
    return { live: parsed.value, candidates: candidates.value };
  }

  /** At start, when the store did not answer and Redis did not either, or holds an older revision: the set this replica last served. */
  private serveLastKnownGood(copy: PublishedLayouts): void {
    const redisRevision = this.servedFrom === 'redis' ? this.servedRevision : undefined;
    this.offerPublished('last-known-good', copy);
    if (this.servedFrom !== 'last-known-good') return;
    this.options.logger.warn(
      { file: this.options.lastKnownGoodFile, revision: this.servedRevision, ...(redisRevision === undefined ? {} : { redisRevision }) },
      redisRevision === undefined
        ? 'serving the last-known-good layouts copy until Redis or the revision store answers'
        : `serving the last-known-good layouts copy (revision ${this.servedRevision}) rather than the older revision ${redisRevision} Redis holds, until the revision store answers`,
    );
  }

  /** At start, when the store did not answer and Redis holds no candidates, an older generation, or cannot be read: those this replica last served. */
  private serveLastKnownGoodCandidates(copy: CandidateSet): void {
    const redisGeneration = this.candidateGen >= 0 ? this.candidateGen : undefined;
    this.applyCandidates(copy, 'last-known-good');
    this.options.logger.warn(
      { file: this.options.lastKnownGoodFile, generation: copy.generation, ...(redisGeneration === undefined ? {} : { redisGeneration }) },
      redisGeneration === undefined
        ? `serving the layout candidates of the last-known-good copy (generation ${copy.generation}) until the revision store answers`
        : `serving the layout candidates of the last-known-good copy (generation ${copy.generation}) rather than the older generation ${redisGeneration} Redis holds, until the revision store answers`,
    );
  }

  /**
   * With a revision store, only the store may take the copy back to a lower revision (restored
   * behind it): an older revision from Redis (a failover, an older dump) never replaces a newer copy.
   */
  private saveLastKnownGood(source: LayoutSource, published: PublishedLayouts): void {
    const path = this.options.lastKnownGoodFile;
    if (path === undefined || path === '') return;
    if (this.options.revisions !== undefined && source !== 'store' && published.revision < (this.copyLive?.revision ?? 0)) return;
    this.writeLastKnownGood(path, published, this.copyCandidates);
  }

  /**
   * The candidate set beside the live one, by the same rule: only the store's may lower its
   * generation. Without a live set in the copy yet, it waits to be written with the first one.
   */
  private saveLastKnownGoodCandidates(source: LayoutSource, set: CandidateSet): void {
    const path = this.options.lastKnownGoodFile;
    if (path === undefined || path === '') return;
    if (source !== 'store' && set.generation < (this.copyCandidates?.generation ?? -1)) return;
    if (this.copyLive === undefined) this.copyCandidates = set;
    else this.writeLastKnownGood(path, this.copyLive, set);
  }

  /**
   * Written beside, then renamed: a crash mid-write never leaves a torn copy. `candidates` is a
   * field an older build ignores (its schema strips it), so a rollback of the build keeps the copy.
   */
  private writeLastKnownGood(path: string, live: PublishedLayouts, candidates: CandidateSet | undefined): void {
    try {
      writeFileSync(`${path}.tmp`, JSON.stringify({ revision: live.revision, publishedAt: live.publishedAt, files: live.files, ...(candidates === undefined ? {} : { candidates }) }));
      renameSync(`${path}.tmp`, path);
      this.copyLive = live;
      this.copyCandidates = candidates;
    } catch (error) {
      this.options.logger.warn({ file: path, err: describeThrown(error) }, 'could not write the last-known-good layouts copy');
    }
  }

  private async syncFromRedis(): Promise<void> {
    await this.syncLiveFromRedis();
    if (this.options.candidates !== undefined) await this.syncCandidatesFromRedis();
  }

  private async syncCandidatesFromRedis(): Promise<void> {
    const key = candidatesRedisKey((this.redisOptions as LayoutStoreRedisOptions).keyPrefix);
    let raw: string | null;
    try {
      raw = await (this.client as RedisClient).get(key);
    } catch {
      return;
    }
    if (raw === null) {
      // Redis lost the key (restarted empty): the next store poll pushes the candidates again.
      this.candidatesSeen = null;
      this.redisCandidateGen = undefined;
      return;
    }
    const seen = fingerprint([raw]);
    if (seen === this.candidatesSeen) return;
    this.candidatesSeen = seen;
    const parsed = parseCandidateSet(raw, key);
    this.redisCandidateGen = parsed.ok ? parsed.value.generation : undefined;
    if (!parsed.ok) {
      this.options.logger.warn({ key, problem: parsed.problem }, 'layout candidates in Redis ignored; the store poll is the other source');
      return;
    }
    this.applyCandidates(parsed.value, 'redis');
  }

  /**
   * Serves a candidate set unless this replica already serves that generation or a newer one
   * (`restored`: the store went back behind what is served, and its set is served anyway), and
   * copies it (last-known-good).
   */
  private applyCandidates(set: CandidateSet, source: LayoutSource, restored = false): void {
    if (!restored && set.generation <= this.candidateGen) return;
    const served = new Map<string, ServedCandidate>();
    for (const c of set.candidates) {
      const previous = this.servedCandidates.get(c.scene);
      const approvalPending = c.approvalPending === true;
      if (previous !== undefined && previous.revision === c.revision && previous.updatedAt === c.updatedAt && previous.approvalPending === approvalPending) {
        served.set(c.scene, previous);
        continue;
      }
      const compiled = this.compile([{ name: c.file, file: `floors/${c.file}`, source: c.source }]);
      const layout = compiled.layouts?.get(c.scene);
      if (layout === undefined) {
        // This build cannot serve it (another build published it): its users get the live layout.
        this.options.logger.warn({ scene: c.scene, revision: c.revision, problems: compiled.problems }, 'layout candidate refused; its users get the live layout');
        continue;
      }
      const rollout = approvalPending ? allowListOnly(c.rollout) : c.rollout;
      served.set(c.scene, Object.freeze({ scene: c.scene, revision: c.revision, rollout, approvalPending, layout, createdAt: c.createdAt, updatedAt: c.updatedAt }));
    }
    this.servedCandidates = served;
    this.candidateGen = set.generation;
    if (source !== 'last-known-good') this.saveLastKnownGoodCandidates(source, set);
    this.options.logger.info({ generation: set.generation, candidates: Object.fromEntries([...served.values()].map((c) => [c.scene, c.revision])) }, 'layout candidates swapped in');
    try {
      this.options.onCandidates?.(served, set.generation);
    } catch (error) {
      this.options.logger.error({ err: error }, 'onCandidates hook threw; ignored');
    }
  }

  /**
   * Serves the store's candidates when their generation is newer, and pushes them to Redis again
   * (it may have lost them); and when the store's generation went back behind the one served
   * (restored or recreated), serves its set all the same and sets Redis back to it.
   */
  private async syncCandidatesFromStore(): Promise<void> {
    const source = this.options.candidates as CandidateSource;
    let set: CandidateSet;
    /** The newer generation served here that a restored store no longer has; undefined: the store is not behind. */
    let behind: number | undefined;
    try {
      let generation = await source.candidateGeneration();
      // Redis lost the key, or holds an older generation (a failover, an older dump: a promoted candidate still listed).
      const reseed = generation > 0 && this.client?.status === 'ready' && (this.candidatesSeen === null || (this.redisCandidateGen !== undefined && this.redisCandidateGen < generation));
      // A store's generation only grows: each change adds one in its own transaction, committed
      // before the set is read or pushed, so no replica serves a generation its store has not
      // reached. A lower one is the store restored or recreated behind what is served (or
      // another store's set pushed to this Redis). Asked again, as the live revision is, before
      // canary users lose what they get.
      if (generation >= 0 && generation < this.candidateGen) {
        generation = await source.candidateGeneration();
        if (generation >= 0 && generation < this.candidateGen) behind = this.candidateGen;
      }
      if (behind === undefined && generation <= this.candidateGen && !reseed) return;
      set = await source.candidates();
    } catch (error) {
      this.options.logger.debug({ err: describeThrown(error) }, 'layout candidates poll skipped: store unavailable');
      return;
    }
    // An operation committed since the generation was read: the store's set is no longer behind.
    if (behind !== undefined && set.generation >= behind) behind = undefined;
    if (behind !== undefined) {
      this.options.logger.warn(
        { generation: set.generation, served: behind },
        `the revision store's candidate generation ${set.generation} is older than generation ${behind} served here: the store was restored or recreated, and it is the source of truth; serving its candidates`,
      );
    }
    this.applyCandidates(set, 'store', behind !== undefined);
    if (this.client !== undefined && this.client.status === 'ready') {
      this.candidatesSeen = undefined;
      this.redisCandidateGen = undefined;
      // Behind: only while Redis still holds the generation replaced, so an operation on the store racing this push wins.
      await pushCandidates(this.client, (this.redisOptions as LayoutStoreRedisOptions).keyPrefix, set, behind).catch((error: unknown) =>
        this.options.logger.debug({ err: describeThrown(error) }, 'could not push the layout candidates to redis; the next poll tries again'),
      );
    }
  }

  private async syncLiveFromRedis(): Promise<void> {
    const keys = this.keys as LayoutRedisKeys;
    let raw: string | null;
    try {
      raw = await (this.client as RedisClient).get(keys.layouts);
    } catch (error) {
      // openRedis already logs the outage once; the last good set keeps serving.
      this.options.logger.debug({ err: describeThrown(error) }, 'layouts resync skipped: redis unavailable');
      return;
    }
    if (raw === null) {
      const wasPublished = typeof this.published === 'string';
      this.published = null;
      this.redisRevision = undefined;
      // With a store, an empty key means Redis lost it (restarted empty): the store's poll pushes the live revision again.
      if (wasPublished && this.options.revisions === undefined) {
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
      this.redisRevision = undefined;
      this.reject('redis', 0, parsed.problems);
      return;
    }
    const { revision, files } = parsed.value;
    this.redisRevision = revision;
    // Revisions from a store only grow: an older one in Redis is a push that lost a race, not a rollback (rollbacks are new revisions).
    // The last-known-good copy served at start counts too: it was newer than Redis's revision.
    if (this.options.revisions !== undefined && this.servedFrom !== 'file' && revision <= this.servedRevision) return;
    // Checked again here, not only by floors:publish: this instance's builders and locales may differ.
    const compiled = this.compile(sourcesOf(files));
    if (compiled.layouts === undefined) this.reject('redis', revision, compiled.problems);
    else this.apply('redis', revision, compiled.layouts, { publishedAt: parsed.value.publishedAt }, parsed.value);
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
    if (typeof this.published === 'string' || this.servedFrom === 'store' || this.servedFrom === 'last-known-good') {
      this.options.logger.info(
        { dir: this.options.dir, revision: this.servedRevision },
        `floors file change ignored: layouts published to ${this.servedFrom === 'store' ? 'the revision store' : this.servedFrom === 'last-known-good' ? 'the revision store (served from the last-known-good copy now)' : 'Redis'} are the source of truth (publish the change with npm run floors:publish)`,
      );
      return;
    }
    if (!content.ok) {
      if (!(content.error instanceof FloorplanError)) throw content.error;
      this.reject('file', 0, [content.error.message]);
      return;
    }
    const compiled = this.compile(content.value);
    if (compiled.layouts === undefined) {
      this.reject('file', 0, compiled.problems);
      return;
    }
    const files = filesByName(content.value);
    // As floors:publish warns: served from the files, every set is revision 0, so a scene edited
    // under the same `version:` leaves nothing in a decision record to say which floors a user saw.
    if (this.servedFrom === 'file' && this.filesServed !== undefined) {
      for (const kept of versionsKept(this.filesServed, files)) {
        const where = kept.variant === undefined ? kept.scene : `${kept.scene} (variant ${kept.variant})`;
        this.options.logger.warn(
          { source: 'file', dir: this.options.dir, ...kept },
          `the floors of ${where} changed, but its version did not (still ${JSON.stringify(kept.version)}): layoutVersion does not tell them from the last ones, nor does the decision record (revision 0 for either); give it a new version`,
        );
      }
    }
    this.filesServed = files;
    this.apply('file', 0, compiled.layouts);
  }

  private apply(source: LayoutSource, revision: number, layouts: LayoutSet, extra: Record<string, unknown> = {}, published?: PublishedLayouts): void {
    this.layouts = layouts;
    this.servedFrom = source;
    this.servedRevision = revision;
    if (published !== undefined && source !== 'last-known-good') this.saveLastKnownGood(source, published);
    this.options.logger.info({ source, revision, ...extra, versions: versions(layouts) }, 'layouts swapped in');
    this.notify(source, 'applied', { revision, problems: [] });
  }

  private reject(source: LayoutSource, revision: number, problems: readonly string[]): void {
    const what = source === 'file' ? 'floors file change' : `layouts published (revision ${revision}, from ${source})`;
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

/** The floors files' sources by file name ("cart-bottom-sheet.yaml"), as a published set holds them. */
function filesByName(sources: readonly FloorsSource[]): Record<string, string> {
  return Object.fromEntries(sources.map((s) => [s.name, s.source]));
}
