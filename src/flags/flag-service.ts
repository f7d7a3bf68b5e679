/**
 * Feature flags for the whole process: an Unleash client (remote mode) or the same client fed
 * from a local file (local mode), behind one small surface — `evaluate(viewer)` hands each
 * request its own {@link RequestFlags}, `explain` answers the operator preview.
 *
 * Remote mode (`flags.unleashUrl` set): unleash-client polls Unleash. Until Unleash has answered
 * once, flags come from `flags.bootstrapFile` if it exists (all flags off otherwise), so a start
 * while Unleash is down still serves the reviewed defaults instead of crashing or waiting.
 *
 * Local mode (`flags.unleashUrl` empty): the file is the flags. It is parsed, validated, handed
 * to an offline unleash-client (no network: refreshInterval 0, metrics off, in-memory storage,
 * bootstrap data), and watched: a valid edit is swapped in atomically, an invalid one is rejected
 * with a message naming the problem while the last good flags keep serving.
 *
 * The file is in Unleash's own export format — what "Export" in Unleash 7 writes and
 * `POST /api/admin/features-batch/import` (or the UI's Import) reads unchanged:
 * `{features, featureStrategies, featureEnvironments, contextFields, featureTags, segments,
 * tagTypes, dependencies}`. It is converted here to the client-API shape
 * (`{features: [{name, enabled, strategies, variants}]}`) the client evaluates, applying what the
 * Unleash server does on import (variant weights, ordering) so the file means the same in both
 * places. A copy of `/api/client/features` (`{"version": 2, "features": [...]}`) is accepted too.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { watch, type FSWatcher } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { InMemStorageProvider, Unleash, type ClientFeaturesResponse, type Context } from 'unleash-client';
import type { FeatureInterface } from 'unleash-client/lib/feature.js';
import type { Constraint, Segment, StrategyTransportInterface } from 'unleash-client/lib/strategy/strategy.js';
import type { VariantDefinition } from 'unleash-client/lib/variant.js';
import { z } from 'zod';
import { deepFreeze, type ServiceConfig } from '../config/service-config.ts';
import { describeIssues, LocatedYaml } from '../config/validate-yaml.ts';
import { ErrorCode, FloorplanError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import type { Viewer } from '../viewer/viewer.ts';
import { explainFlag, type FlagDefinitions, type FlagExplanation } from './explain.ts';
import { DISABLED_VARIANT, RequestFlags, unleashContextOf, type FlagEvaluator } from './request-flags.ts';

export type FlagsConfig = ServiceConfig['flags'];

/** Where the flags come from: Unleash over HTTP, or the local file. */
export type FlagServiceMode = 'remote' | 'local';

export interface FlagServiceOptions {
  /** Folder a relative `bootstrapFile` is resolved against. Default: the working directory. */
  readonly root?: string;
  /** Local mode: called after each change of the file was handled — swapped in, or rejected (logged). */
  onReload?(result: 'applied' | 'rejected'): void;
  /**
   * Remote mode: the longest start() waits for Unleash's first answer before serving the file's
   * flags. Default 5000 ms; start() returns sooner when the first fetch fails outright.
   */
  readonly startTimeoutMs?: number;
  /** Local mode: how often the file's mtime is checked, for file systems where fs.watch misses edits. Default 1000 ms. */
  readonly pollIntervalMs?: number;
}

/** What a request or the preview reads flags from: an Unleash client or the all-off stand-in. */
type FlagSource = FlagEvaluator & FlagDefinitions;

/** Every flag off, nothing defined: no file in remote mode before Unleash answers, or a file with no flags. */
const NO_FLAGS: FlagSource = Object.freeze({
  isEnabled: () => false,
  getVariant: () => ({ ...DISABLED_VARIANT, feature_enabled: false }),
  getFeatureToggleDefinition: () => undefined,
  getFeatureToggleDefinitions: () => [],
});

/** A parsed flags file and the client serving it (none for a file without flags). */
interface LoadedFlags {
  readonly source: FlagSource;
  readonly client: Unleash | undefined;
  readonly count: number;
}

/**
 * Offline clients still need a syntactically valid URL; `.invalid` can never resolve (RFC 2606),
 * and with refreshInterval 0 and metrics off the client never tries.
 */
const OFFLINE_URL = 'http://flags-file.invalid/api/';
const RELOAD_DEBOUNCE_MS = 100;
const OFFLINE_LOAD_TIMEOUT_MS = 2_000;
/** While Unleash keeps failing, one log line per this interval, not one per poll. */
const REMOTE_ERROR_LOG_INTERVAL_MS = 60_000;

export class FlagService {
  readonly mode: FlagServiceMode;
  readonly #config: FlagsConfig;
  readonly #logger: Logger;
  readonly #options: FlagServiceOptions;
  /** Absolute path of the flags file, and the way it is named in messages. */
  readonly #filePath: string;
  readonly #fileShown: string;

  /** Local mode: the current flags. Remote mode: the fallback served until Unleash has answered. */
  #source: FlagSource = NO_FLAGS;
  /** The offline client behind #source, to destroy when it is replaced. */
  #offline: Unleash | undefined;
  #remote: Unleash | undefined;
  #remoteSynchronized = false;
  /** False from a failure until the next answer; only drives the "answered" log line. */
  #remoteHealthy = true;
  #lastRemoteLogAt = 0;
  #backupDir: string | undefined;
  /** When this service started: the age of flags never confirmed by their source counts from here. */
  readonly #startedAt = Date.now();
  /** When the flags being served were last confirmed current at their source (see fetchAgeSeconds). */
  #fetchedAt: number | undefined;
  /** Local mode: false from a rejected edit of the file until it loads again (the served flags are then older than the file). */
  #fileLoaded = false;

  #watcher: FSWatcher | undefined;
  #pollTimer: NodeJS.Timeout | undefined;
  #debounceTimer: NodeJS.Timeout | undefined;
  /** Reloads run one after another, never two at once. */
  #reloads: Promise<void> = Promise.resolve();
  /** The file content (or read failure) last handled, so a touch or a repeated poll does nothing. */
  #lastContent: string | undefined;
  #lastStatKey: string | undefined;
  #stopping: Promise<void> | undefined;

  private constructor(config: FlagsConfig, logger: Logger, options: FlagServiceOptions) {
    this.#config = config;
    this.#logger = logger;
    this.#options = options;
    this.mode = config.unleashUrl === '' ? 'local' : 'remote';
    const root = options.root ?? process.cwd();
    this.#filePath = isAbsolute(config.bootstrapFile) ? config.bootstrapFile : resolve(root, config.bootstrapFile);
    const rel = relative(root, this.#filePath);
    this.#fileShown = rel === '' || rel.startsWith('..') || isAbsolute(rel) ? this.#filePath : rel;
  }

  /**
   * Starts the flags and resolves once the first flags are known. Local mode rejects with
   * FLOORPLAN_ERR_FLAGS_INVALID when the file is missing or invalid; remote mode rejects only
   * for an invalid fallback file, never because Unleash is unreachable.
   */
  static async start(config: FlagsConfig, logger: Logger, options: FlagServiceOptions = {}): Promise<FlagService> {
    const service = new FlagService(config, logger.child({ component: 'flags' }), options);
    try {
      if (service.mode === 'local') await service.#startLocal();
      else await service.#startRemote();
    } catch (error) {
      await service.stop();
      throw error;
    }
    return service;
  }

  /** The flags of one request, bound to `viewer`; create one per request. */
  evaluate(viewer: Viewer): RequestFlags {
    return new RequestFlags(this.#current(), unleashContextOf(viewer, this.#config.appName));
  }

  /** Why `flagName` is on or off for `viewer`, for the operator preview. Does not count as an exposure. */
  explain(flagName: string, viewer: Viewer): FlagExplanation {
    // The client merges its static context ({appName, environment}) under every evaluation's context; so does the preview.
    const context: Context = { environment: this.#config.environment, ...unleashContextOf(viewer, this.#config.appName) };
    return explainFlag(this.#current(), flagName, context);
  }

  /** Names of the flags currently defined, sorted. */
  flagNames(): string[] {
    return this.#current()
      .getFeatureToggleDefinitions(true)
      .map((f) => f.name)
      .sort();
  }

  /** Where flags are served from right now: Unleash, the file, or nothing (all off). */
  get servingFrom(): 'unleash' | 'file' | 'none' {
    if (this.#remote !== undefined && this.#remoteSynchronized) return 'unleash';
    return this.#source === NO_FLAGS ? 'none' : 'file';
  }

  /**
   * Seconds since the flags being served were last confirmed current at their source — the
   * number a dashboard alerts on when flags silently stop updating. Remote mode: since Unleash
   * last answered (`refreshIntervalMs` apart while it is healthy; before its first answer, since
   * start). Local mode: since the flags file was last checked and found loaded as it is (the
   * mtime poll checks about every second); a rejected edit leaves it growing until the file loads.
   */
  fetchAgeSeconds(now: number = Date.now()): number {
    return Math.max(0, now - (this.#fetchedAt ?? this.#startedAt)) / 1000;
  }

  /** Stops polling and watching and releases the clients. Idempotent; safe while a fetch is in flight. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  #current(): FlagSource {
    return this.#remote !== undefined && this.#remoteSynchronized ? this.#remote : this.#source;
  }

  // ---------------------------------------------------------------- local mode

  async #startLocal(): Promise<void> {
    // Stat before reading: an edit landing in between is then seen by the poll, never lost.
    this.#lastStatKey = await this.#statKey();
    let content: string;
    try {
      content = await readFile(this.#filePath, 'utf8');
    } catch (error) {
      throw new FloorplanError(
        ErrorCode.FLAGS_INVALID,
        `Invalid flags file: with no Unleash URL configured, flags come from ${this.#fileShown}, but it cannot be read: ${(error as Error).message}`,
        { cause: error },
      );
    }
    this.#lastContent = content;
    const loaded = await this.#load(content);
    this.#swap(loaded);
    this.#fileChecked(true);
    this.#watch();
    this.#logger.info({ file: this.#fileShown, flags: loaded.count }, 'flags: serving %d flag(s) from %s (local mode, watched)', loaded.count, this.#fileShown);
  }

  /** Parses `content` and starts an offline client for it (none for a file without flags). */
  async #load(content: string): Promise<LoadedFlags> {
    const snapshot = parseFlagsFile(content, this.#fileShown, this.#config.environment);
    if (snapshot.features.length === 0) return { source: NO_FLAGS, client: undefined, count: 0 };
    const client = await startOfflineClient(snapshot, this.#config, this.#logger);
    return { source: client, client, count: snapshot.features.length };
  }

  #swap(loaded: LoadedFlags): void {
    const previous = this.#offline;
    // One assignment: a request that already holds the old client keeps it; the next one gets the new.
    this.#source = loaded.source;
    this.#offline = loaded.client;
    if (previous !== undefined) destroyClient(previous);
  }

  #watch(): void {
    const file = basename(this.#filePath);
    try {
      // The folder, not the file: editors replace a file by renaming over it, which ends a file watch.
      this.#watcher = watch(dirname(this.#filePath), { persistent: false }, (_event, name) => {
        if (name === null || name === file) this.#scheduleReload();
      });
      this.#watcher.on('error', (error) => {
        this.#logger.warn({ err: error }, 'flags: watching %s failed; relying on the mtime poll', this.#fileShown);
        this.#watcher?.close();
        this.#watcher = undefined;
      });
    } catch (error) {
      this.#logger.warn({ err: error }, 'flags: cannot watch %s; relying on the mtime poll', this.#fileShown);
    }
    this.#pollTimer = setInterval(() => {
      void this.#statKey().then((key) => {
        if (key !== this.#lastStatKey) {
          this.#lastStatKey = key;
          this.#scheduleReload();
        } else {
          this.#fileChecked(this.#fileLoaded);
        }
      });
    }, this.#options.pollIntervalMs ?? 1_000);
    this.#pollTimer.unref();
  }

  async #statKey(): Promise<string> {
    try {
      const s = await stat(this.#filePath);
      return `${s.mtimeMs}:${s.size}:${s.ino}`;
    } catch (error) {
      return `error:${(error as NodeJS.ErrnoException).code ?? 'unknown'}`;
    }
  }

  #scheduleReload(): void {
    if (this.#stopping !== undefined) return;
    clearTimeout(this.#debounceTimer);
    this.#debounceTimer = setTimeout(() => {
      this.#reloads = this.#reloads
        .then(() => this.#reload())
        .catch((error: unknown) => this.#logger.error({ err: error }, 'flags: reloading %s failed unexpectedly', this.#fileShown));
    }, RELOAD_DEBOUNCE_MS);
    this.#debounceTimer.unref();
  }

  async #reload(): Promise<void> {
    if (this.#stopping !== undefined) return;
    let content: string;
    try {
      content = await readFile(this.#filePath, 'utf8');
    } catch (error) {
      const marker = `\0unreadable:${(error as NodeJS.ErrnoException).code ?? 'unknown'}`;
      if (marker === this.#lastContent) return;
      this.#lastContent = marker;
      this.#rejected(`cannot read ${this.#fileShown}: ${(error as Error).message}`);
      return;
    }
    if (content === this.#lastContent) {
      this.#fileChecked(this.#fileLoaded);
      return;
    }
    this.#lastContent = content;
    let loaded: LoadedFlags;
    try {
      loaded = await this.#load(content);
    } catch (error) {
      this.#rejected((error as Error).message);
      return;
    }
    if (this.#stopping !== undefined) {
      if (loaded.client !== undefined) destroyClient(loaded.client);
      return;
    }
    this.#swap(loaded);
    this.#fileChecked(true);
    this.#logger.info({ file: this.#fileShown, flags: loaded.count }, 'flags: reloaded %s, now %d flag(s)', this.#fileShown, loaded.count);
    this.#notify('applied');
  }

  #rejected(message: string): void {
    this.#fileChecked(false);
    this.#logger.error({ file: this.#fileShown }, 'flags: rejected the change to %s; the last good flags keep serving. %s', this.#fileShown, message);
    this.#notify('rejected');
  }

  /** Local mode: the file was just read or stat'ed; `current` when the flags served are what it holds. */
  #fileChecked(current: boolean): void {
    this.#fileLoaded = current;
    if (current) this.#fetchedAt = Date.now();
  }

  #notify(result: 'applied' | 'rejected'): void {
    try {
      this.#options.onReload?.(result);
    } catch (error) {
      this.#logger.error({ err: error }, 'flags: the onReload callback threw');
    }
  }

  // ---------------------------------------------------------------- remote mode

  async #startRemote(): Promise<void> {
    await this.#loadFallback();
    // A folder of our own for the client's backup file: the default is the shared OS temp folder,
    // where a file left by an earlier run (another environment, another token) would be read back
    // as if it were current. mkdtemp creates it private (0700); stop() removes it.
    this.#backupDir = await mkdtemp(join(tmpdir(), 'floorplan-unleash-'));
    const remote = new Unleash({
      appName: this.#config.appName,
      environment: this.#config.environment,
      url: this.#config.unleashUrl,
      refreshInterval: this.#config.refreshIntervalMs,
      // An empty token sends no header at all, for an Unleash run without authentication.
      customHeaders: this.#config.unleashToken === '' ? {} : { Authorization: this.#config.unleashToken },
      backupPath: this.#backupDir,
      // Metrics on: Unleash then shows which flags are evaluated and when they were last seen,
      // which is how operators find stale flags and confirm a kill switch is being read. Each
      // request evaluates a flag once, so the counts read as "requests that saw it".
      disableMetrics: false,
      // No bootstrap here: the fallback is served separately, so that "synchronized" means
      // Unleash itself has answered and the switch to its flags is a clean one.
      skipInstanceCountWarning: true,
      disableAutoStart: true,
    });
    this.#remote = remote;

    let settle: (() => void) | undefined;
    const firstAnswer = new Promise<void>((resolveAnswer) => {
      settle = resolveAnswer;
    });
    remote.on('synchronized', () => {
      this.#remoteSynchronized = true;
      this.#remoteAnswered();
      this.#logger.info({ url: this.#config.unleashUrl, flags: remote.getFeatureToggleDefinitions().length }, 'flags: serving flags from Unleash');
      settle?.();
    });
    remote.on('changed', () => this.#remoteAnswered());
    remote.on('unchanged', () => this.#remoteAnswered());
    remote.on('error', (error: Error) => {
      this.#remoteProblem('error', error.message);
      // Only a failed fetch of the flags settles the start; a metrics hiccup says nothing about them.
      if (error.message.startsWith('Unleash Repository error')) settle?.();
    });
    remote.on('warn', (message: unknown) => this.#remoteProblem('warn', message instanceof Error ? message.message : String(message)));

    // start() itself resolves only after the first fetch; do not let a hung request hold the boot.
    remote.start().catch((error: unknown) => this.#remoteProblem('error', (error as Error).message));
    const timeoutMs = this.#options.startTimeoutMs ?? 5_000;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([firstAnswer, new Promise<void>((done) => (timer = setTimeout(done, timeoutMs)))]);
    clearTimeout(timer);
    if (!this.#remoteSynchronized) {
      this.#logger.warn(
        { url: this.#config.unleashUrl, file: this.#fileShown, serving: this.servingFrom },
        'flags: Unleash has not answered yet; serving %s until it does',
        this.#source === NO_FLAGS ? 'every flag off' : `the flags of ${this.#fileShown}`,
      );
    }
  }

  async #loadFallback(): Promise<void> {
    let content: string;
    try {
      content = await readFile(this.#filePath, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      this.#logger.info({ file: this.#fileShown }, 'flags: no fallback file %s; until Unleash answers, every flag is off', this.#fileShown);
      return;
    }
    this.#swap(await this.#load(content));
  }

  /**
   * Logs Unleash trouble: a 401/403 always (the client has stopped polling for good), anything
   * else at most once per interval while it lasts — the client retries every poll, so an outage
   * would otherwise print a line every few seconds. The rest go to debug.
   */
  #remoteProblem(level: 'error' | 'warn', message: string): void {
    const fatal = /\b(401|403)\b/.test(message);
    const now = Date.now();
    this.#remoteHealthy = false;
    if (!fatal && now - this.#lastRemoteLogAt < REMOTE_ERROR_LOG_INTERVAL_MS) {
      this.#logger.debug({ url: this.#config.unleashUrl }, 'flags: Unleash (repeated): %s', message);
      return;
    }
    this.#lastRemoteLogAt = now;
    const hint = fatal ? ' — check flags.unleashToken (UNLEASH_TOKEN); the client has stopped polling' : '';
    this.#logger[fatal ? 'error' : level]({ url: this.#config.unleashUrl }, 'flags: Unleash: %s%s', message, hint);
  }

  #remoteAnswered(): void {
    this.#fetchedAt = Date.now();
    if (!this.#remoteHealthy) {
      this.#logger.info({ url: this.#config.unleashUrl }, 'flags: Unleash answered');
      // The next failure is news again.
      this.#lastRemoteLogAt = 0;
    }
    this.#remoteHealthy = true;
  }

  // ---------------------------------------------------------------- shutdown

  async #stop(): Promise<void> {
    clearInterval(this.#pollTimer);
    clearTimeout(this.#debounceTimer);
    this.#watcher?.close();
    this.#watcher = undefined;
    // A reload in flight sees #stopping and discards what it built.
    await this.#reloads.catch(() => undefined);
    if (this.#remote !== undefined) destroyClient(this.#remote);
    if (this.#offline !== undefined) destroyClient(this.#offline);
    this.#offline = undefined;
    if (this.#backupDir !== undefined) await rm(this.#backupDir, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** Starts an unleash-client that evaluates `snapshot` with no network, resolved once it serves the flags. */
async function startOfflineClient(snapshot: FlagsSnapshot, config: FlagsConfig, logger: Logger): Promise<Unleash> {
  const client = new Unleash({
    appName: config.appName,
    environment: config.environment,
    url: OFFLINE_URL,
    refreshInterval: 0,
    disableMetrics: true,
    storageProvider: new InMemStorageProvider<ClientFeaturesResponse>(),
    bootstrap: { data: [...snapshot.features], segments: [...snapshot.segments] },
    skipInstanceCountWarning: true,
    disableAutoStart: true,
  });
  client.on('error', (error: Error) => logger.error({ err: error }, 'flags: offline client error'));
  client.on('warn', (message: unknown) => logger.debug({ message: String(message) }, 'flags: offline client warning'));
  let timer: NodeJS.Timeout | undefined;
  const synchronized = new Promise<void>((resolveSync, reject) => {
    client.once('synchronized', () => resolveSync());
    timer = setTimeout(() => reject(new Error('the flags client did not load the flags (bootstrap rejected)')), OFFLINE_LOAD_TIMEOUT_MS);
  });
  try {
    await client.start();
    await synchronized;
    return client;
  } catch (error) {
    destroyClient(client);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Destroys an Unleash client so that nothing it still has in flight can crash the process.
 * unleash-client 6.12.1's destroy() removes the repository's listeners, but a fetch already in
 * flight still reports its failure through the repository; an 'error' emitted with no listener
 * throws inside the fetch's promise, and that unhandled rejection ends the process (reproduced
 * with a held request answered after destroy()). A sink on the repository keeps it harmless; the
 * listeners on the client itself are never removed, so metrics errors stay handled too.
 */
function destroyClient(client: Unleash): void {
  client.destroy();
  const repository = (client as unknown as { repository?: { on?(event: string, listener: () => void): unknown } }).repository;
  repository?.on?.('error', () => undefined);
}

// ==================================================================== the flags file

/** Flags read from a file, in the shape unleash-client bootstraps from. */
export interface FlagsSnapshot {
  /** Which of the two accepted shapes the file had. */
  readonly format: 'unleash-export' | 'client-features';
  readonly features: readonly FeatureInterface[];
  readonly segments: readonly Segment[];
}

/** Strategies an Unleash 7 server accepts; the older userWithId and gradualRollout* were removed from it. */
const UNLEASH7_STRATEGIES = ['default', 'flexibleRollout', 'remoteAddress', 'applicationHostname'] as const;
/** Strategies unleash-client 6.12.1 evaluates; a copy of /api/client/features from an older server may use any. */
const CLIENT_STRATEGIES = [...UNLEASH7_STRATEGIES, 'userWithId', 'gradualRolloutUserId', 'gradualRolloutSessionId', 'gradualRolloutRandom'] as const;
/** Operators an Unleash 7 server accepts (its ALL_OPERATORS; no SEMVER_GTE/LTE, no IN_CIDR). */
const UNLEASH7_OPERATORS = [
  'IN', 'NOT_IN', 'STR_ENDS_WITH', 'STR_STARTS_WITH', 'STR_CONTAINS',
  'NUM_EQ', 'NUM_GT', 'NUM_GTE', 'NUM_LT', 'NUM_LTE', 'DATE_AFTER', 'DATE_BEFORE',
  'SEMVER_EQ', 'SEMVER_GT', 'SEMVER_LT', 'REGEX',
] as const;
const CLIENT_OPERATORS = [...UNLEASH7_OPERATORS, 'SEMVER_GTE', 'SEMVER_LTE', 'IN_CIDR'] as const;
const LIST_OPERATORS: ReadonlySet<string> = new Set(['IN', 'NOT_IN', 'STR_ENDS_WITH', 'STR_STARTS_WITH', 'STR_CONTAINS', 'IN_CIDR']);
const SEMVER = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

const name = () => z.string().min(1, { error: 'must be a non-empty name' });
const weight = () => z.int({ error: 'must be a whole number from 0 to 1000 (per mille)' }).min(0).max(1000);
const payloadSchema = z.strictObject({ type: z.enum(['json', 'csv', 'string', 'number']), value: z.string() });
const overrideSchema = z.strictObject({ contextName: name(), values: z.array(z.string()) });
const parametersSchema = z.record(
  z.string(),
  z.string({ error: 'must be a string (Unleash keeps strategy parameters as text, e.g. "10")' }),
);

function constraintSchema(operators: readonly [string, ...string[]]) {
  return z
    .strictObject({
      contextName: name(),
      operator: z.enum(operators),
      caseInsensitive: z.boolean().optional(),
      inverted: z.boolean().optional(),
      values: z.array(z.string()).optional(),
      value: z.union([z.string(), z.number()]).optional(),
    })
    .superRefine((c, ctx) => {
      if (LIST_OPERATORS.has(c.operator)) {
        if (c.values === undefined || c.values.length === 0) {
          ctx.addIssue({ code: 'custom', path: ['values'], message: `must list at least one value for ${c.operator}` });
        }
        return;
      }
      const value = c.value === undefined ? undefined : String(c.value);
      if (value === undefined || value === '') {
        ctx.addIssue({ code: 'custom', path: ['value'], message: `must be set: ${c.operator} compares against a single value` });
      } else if (c.operator.startsWith('NUM_') && !Number.isFinite(Number(value))) {
        ctx.addIssue({ code: 'custom', path: ['value'], message: `must be a number for ${c.operator}` });
      } else if (c.operator.startsWith('DATE_') && !Number.isFinite(Date.parse(value))) {
        ctx.addIssue({ code: 'custom', path: ['value'], message: `must be an ISO date-time for ${c.operator}, e.g. 2026-01-31T00:00:00Z` });
      } else if (c.operator.startsWith('SEMVER_') && !SEMVER.test(value)) {
        ctx.addIssue({ code: 'custom', path: ['value'], message: `must be a version like 12.3.0 for ${c.operator}` });
      }
    });
}

/** flexibleRollout's parameters must be explicit: offline there is no project default stickiness to fill in. */
function checkRolloutParameters(strategyName: string, parameters: Record<string, string> | undefined, ctx: z.RefinementCtx): void {
  if (strategyName !== 'flexibleRollout') return;
  const p = parameters ?? {};
  const rollout = p.rollout;
  if (rollout === undefined || !/^\d{1,3}$/.test(rollout) || Number(rollout) > 100) {
    ctx.addIssue({ code: 'custom', path: ['parameters', 'rollout'], message: 'must be a whole percentage from "0" to "100"' });
  }
  if (p.stickiness === undefined || p.stickiness === '') {
    ctx.addIssue({ code: 'custom', path: ['parameters', 'stickiness'], message: 'must be set (e.g. "userId"): offline there is no project default stickiness' });
  }
  if (p.groupId === undefined || p.groupId === '') {
    ctx.addIssue({ code: 'custom', path: ['parameters', 'groupId'], message: 'must be set, usually to the flag name (Unleash would fill that in on import)' });
  }
}

// --- Unleash export format (what Unleash 7.5 exports and features-batch/import accepts; keys as in its openapi schemas).

const exportVariantSchema = z.strictObject({
  name: name(),
  weight: weight(),
  weightType: z.enum(['variable', 'fix']),
  stickiness: z.string().optional(),
  payload: payloadSchema.optional(),
  overrides: z.array(overrideSchema).optional(),
});
const exportStrategyVariantSchema = z.strictObject({
  name: name(),
  weight: weight(),
  weightType: z.enum(['variable', 'fix']),
  stickiness: z.string(),
  payload: payloadSchema.optional(),
});
const exportStrategySchema = z
  .strictObject({
    id: z.string().optional(),
    name: z.enum(UNLEASH7_STRATEGIES, {
      error: `must be a strategy Unleash 7 accepts (${UNLEASH7_STRATEGIES.join(', ')}); for an allow-list use flexibleRollout with a constraint userId IN [...]`,
    }),
    title: z.string().nullable().optional(),
    disabled: z.boolean().nullable().optional(),
    featureName: name(),
    sortOrder: z.number().optional(),
    segments: z.array(z.number()).max(0, { error: 'must be empty: an export names segments but does not carry their constraints, so they cannot be evaluated offline; use constraints' }).optional(),
    constraints: z.array(constraintSchema(UNLEASH7_OPERATORS)).optional(),
    variants: z.array(exportStrategyVariantSchema).optional(),
    parameters: parametersSchema.optional(),
  })
  .superRefine((s, ctx) => checkRolloutParameters(s.name, s.parameters, ctx));
const exportFeatureSchema = z
  .strictObject({
    name: name(),
    type: z.string().optional(),
    description: z.string().nullable().optional(),
    archived: z.boolean().optional(),
    project: z.string().optional(),
    enabled: z.boolean().optional(),
    stale: z.boolean().optional(),
    favorite: z.boolean().optional(),
    impressionData: z.boolean().optional(),
    createdAt: z.string().nullable().optional(),
    createdBy: z.unknown().optional(),
    archivedAt: z.string().nullable().optional(),
    lastSeenAt: z.string().nullable().optional(),
    environments: z.array(z.unknown()).optional(),
    variants: z.array(z.unknown()).optional(),
    strategies: z.array(z.unknown()).max(0, { error: 'must be empty in the export format: strategies go in featureStrategies (with featureName)' }).optional(),
    tags: z.array(z.unknown()).nullable().optional(),
    children: z.array(z.unknown()).optional(),
    lifecycle: z.unknown().optional(),
    dependencies: z.array(z.unknown()).optional(),
    collaborators: z.unknown().optional(),
    links: z.array(z.unknown()).optional(),
  });
const exportFeatureEnvironmentSchema = z.strictObject({
  name: name(),
  featureName: z.string().optional(),
  environment: z.string().optional(),
  type: z.string().optional(),
  enabled: z.boolean(),
  sortOrder: z.number().optional(),
  variantCount: z.number().optional(),
  strategies: z.array(z.unknown()).optional(),
  variants: z.array(exportVariantSchema).optional(),
  changeRequestIds: z.array(z.number()).optional(),
  milestoneName: z.string().optional(),
  milestoneOrder: z.number().optional(),
  totalMilestones: z.number().optional(),
  lastSeenAt: z.string().nullable().optional(),
  hasStrategies: z.boolean().optional(),
  hasEnabledStrategies: z.boolean().optional(),
  releasePlans: z.array(z.unknown()).optional(),
  yes: z.number().optional(),
  no: z.number().optional(),
});
const exportDependenciesSchema = z.strictObject({
  feature: name(),
  dependencies: z.array(z.strictObject({ feature: name(), enabled: z.boolean().optional(), variants: z.array(z.string()).optional() })),
});
const exportFileSchema = z.strictObject({
  features: z.array(exportFeatureSchema),
  featureStrategies: z.array(exportStrategySchema),
  featureEnvironments: z.array(exportFeatureEnvironmentSchema).optional(),
  contextFields: z.array(z.unknown()).optional(),
  featureTags: z.array(z.unknown()).optional(),
  segments: z.array(z.unknown()).optional(),
  tagTypes: z.array(z.unknown(), { error: 'must be a list: Unleash\'s import requires it ([] is fine)' }),
  dependencies: z.array(exportDependenciesSchema).optional(),
  links: z.array(z.unknown()).optional(),
});
type ExportFile = z.output<typeof exportFileSchema>;

// --- Client-API format (a copy of GET /api/client/features), already in the shape the client evaluates.

const clientStrategySchema = z
  .looseObject({
    name: z.enum(CLIENT_STRATEGIES, { error: `must be a strategy unleash-client evaluates (${CLIENT_STRATEGIES.join(', ')})` }),
    parameters: parametersSchema.optional(),
    constraints: z.array(constraintSchema(CLIENT_OPERATORS)).optional(),
    segments: z.array(z.int()).optional(),
    variants: z.array(z.looseObject({ name: name(), weight: weight(), stickiness: z.string().optional(), payload: payloadSchema.optional() })).optional(),
  })
  .superRefine((s, ctx) => checkRolloutParameters(s.name, s.parameters, ctx));
const clientFileSchema = z.looseObject({
  version: z.number().optional(),
  features: z.array(
    z.looseObject({
      name: name(),
      enabled: z.boolean(),
      strategies: z.array(clientStrategySchema),
      variants: z
        .array(z.looseObject({ name: name(), weight: weight(), stickiness: z.string().optional(), payload: payloadSchema.optional(), overrides: z.array(overrideSchema).optional() }))
        .optional(),
      dependencies: z.array(z.strictObject({ feature: name(), enabled: z.boolean().optional(), variants: z.array(z.string()).optional() })).optional(),
    }),
  ),
  segments: z.array(z.looseObject({ id: z.int(), constraints: z.array(constraintSchema(CLIENT_OPERATORS)) })).optional(),
});

/**
 * Parses and validates a flags file; throws FLOORPLAN_ERR_FLAGS_INVALID listing every problem as
 * "`path` <contract>, but got: <value> (file:line)". `environment` picks the featureEnvironments
 * entry when a file holds more than one per flag.
 */
export function parseFlagsFile(source: string, file: string, environment: string): FlagsSnapshot {
  let input: unknown;
  try {
    input = JSON.parse(source);
  } catch (error) {
    const message = (error as Error).message.replace(/\s+/g, ' ');
    // Node 20 gives a position for some syntax errors only; the YAML parser (JSON is YAML) finds the line of the rest.
    const position = /position (\d+)/.exec(message);
    const line =
      position === null ? new LocatedYaml(file, source).syntaxProblems()[0]?.line : source.slice(0, Number(position[1])).split('\n').length;
    throw invalid(file, [`the file is not valid JSON: ${message} (${line === undefined ? file : `${file}:${line}`})`]);
  }
  // Only for messages: the JSON re-read as YAML (a superset) can point at the line of any path.
  let located: LocatedYaml | undefined;
  const at: At = (path, contract, received, hasReceived = false) => {
    located ??= new LocatedYaml(file, source);
    return hasReceived ? located.problem(path, contract, received).message : located.problem(path, contract).message;
  };

  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw invalid(file, [at([], 'must be a JSON object in Unleash\'s export format ({"features": [...], "featureStrategies": [...], ...})')]);
  }
  const isClientFormat = !('featureStrategies' in input) && ('version' in input || hasNestedStrategies(input));
  const schema: z.ZodType = isClientFormat ? clientFileSchema : exportFileSchema;
  const result = schema.safeParse(input);
  if (!result.success) {
    throw invalid(
      file,
      describeIssues(result.error.issues, schema, input).map((d) => ('received' in d ? at(d.path, d.contract, d.received, true) : at(d.path, d.contract))),
    );
  }
  const problems: string[] = [];
  const snapshot = isClientFormat
    ? fromClientFormat(result.data as z.output<typeof clientFileSchema>, at, problems)
    : fromExportFormat(result.data as ExportFile, environment, at, problems);
  if (problems.length > 0) throw invalid(file, problems);
  return deepFreeze(snapshot);
}

function hasNestedStrategies(input: object): boolean {
  const features = (input as { features?: unknown }).features;
  return Array.isArray(features) && features.some((f) => typeof f === 'object' && f !== null && 'strategies' in f && Array.isArray((f as { strategies: unknown }).strategies) && (f as { strategies: unknown[] }).strategies.length > 0);
}

type At = (path: readonly PropertyKey[], contract: string, received?: unknown, hasReceived?: boolean) => string;

function fromExportFormat(data: ExportFile, environment: string, at: At, problems: string[]): FlagsSnapshot {
  const indexOf = new Map<string, number>();
  data.features.forEach((feature, i) => {
    if (indexOf.has(feature.name)) problems.push(at(['features', i, 'name'], `must be unique, but "${feature.name}" is also features[${String(indexOf.get(feature.name))}]`));
    else indexOf.set(feature.name, i);
  });
  const known = (path: PropertyKey[], featureName: string) => {
    if (indexOf.has(featureName)) return true;
    problems.push(at(path, 'must name a flag listed in features', featureName, true));
    return false;
  };

  const strategiesOf = new Map<string, Array<{ strategy: ExportFile['featureStrategies'][number]; order: number }>>();
  data.featureStrategies.forEach((strategy, i) => {
    if (!known(['featureStrategies', i, 'featureName'], strategy.featureName)) return;
    checkVariantWeights(strategy.variants ?? [], ['featureStrategies', i, 'variants'], at, problems);
    // Unleash does not send disabled strategies to clients.
    if (strategy.disabled === true) return;
    const list = strategiesOf.get(strategy.featureName) ?? [];
    list.push({ strategy, order: i });
    strategiesOf.set(strategy.featureName, list);
  });

  const environmentsOf = new Map<string, Array<{ env: NonNullable<ExportFile['featureEnvironments']>[number]; index: number }>>();
  (data.featureEnvironments ?? []).forEach((env, i) => {
    // Unleash's import reads the flag's name from `name` (and variants by `featureName`); they must agree.
    if (env.featureName !== undefined && env.featureName !== env.name) {
      problems.push(at(['featureEnvironments', i, 'featureName'], `must equal name ("${env.name}")`, env.featureName, true));
      return;
    }
    if (!known(['featureEnvironments', i, 'name'], env.name)) return;
    checkVariantWeights(env.variants ?? [], ['featureEnvironments', i, 'variants'], at, problems);
    const list = environmentsOf.get(env.name) ?? [];
    list.push({ env, index: i });
    environmentsOf.set(env.name, list);
  });

  const dependenciesOf = new Map<string, FeatureInterface['dependencies']>();
  (data.dependencies ?? []).forEach((entry, i) => {
    if (!known(['dependencies', i, 'feature'], entry.feature)) return;
    entry.dependencies.forEach((parent, j) => known(['dependencies', i, 'dependencies', j, 'feature'], parent.feature));
    dependenciesOf.set(entry.feature, entry.dependencies.map((d) => ({ ...d })));
  });

  const features: FeatureInterface[] = [];
  for (const feature of data.features) {
    if (feature.archived === true || indexOf.get(feature.name) === undefined) continue;
    const envs = environmentsOf.get(feature.name) ?? [];
    let env = envs.length === 1 ? envs[0] : envs.find((e) => e.env.environment === environment);
    if (envs.length > 1 && env === undefined) {
      problems.push(at(['featureEnvironments', (envs[0] as { index: number }).index], `must be one entry per flag, or one whose environment is "${environment}" (flags.environment)`));
      env = envs[0];
    }
    const strategies = (strategiesOf.get(feature.name) ?? [])
      .sort((a, b) => (a.strategy.sortOrder ?? 0) - (b.strategy.sortOrder ?? 0) || a.order - b.order)
      .map(({ strategy }): StrategyTransportInterface => ({
        name: strategy.name,
        parameters: { ...(strategy.parameters ?? {}) },
        constraints: (strategy.constraints ?? []).map(toClientConstraint),
        variants: fixVariantWeights(strategy.variants ?? []),
      }));
    const converted: FeatureInterface = {
      name: feature.name,
      enabled: env?.env.enabled ?? false,
      strategies,
      variants: fixVariantWeights(env?.env.variants ?? []),
      impressionData: feature.impressionData ?? false,
    };
    if (feature.type !== undefined) converted.type = feature.type;
    if (feature.project !== undefined) converted.project = feature.project;
    if (typeof feature.description === 'string') converted.description = feature.description;
    const dependencies = dependenciesOf.get(feature.name);
    if (dependencies !== undefined) converted.dependencies = dependencies;
    features.push(converted);
  }
  return { format: 'unleash-export', features, segments: [] };
}

function fromClientFormat(data: z.output<typeof clientFileSchema>, at: At, problems: string[]): FlagsSnapshot {
  const segmentIds = new Set((data.segments ?? []).map((s) => s.id));
  const seen = new Map<string, number>();
  data.features.forEach((feature, i) => {
    if (seen.has(feature.name)) problems.push(at(['features', i, 'name'], `must be unique, but "${feature.name}" is also features[${String(seen.get(feature.name))}]`));
    else seen.set(feature.name, i);
    feature.strategies.forEach((strategy, j) =>
      (strategy.segments ?? []).forEach((id, k) => {
        if (!segmentIds.has(id)) problems.push(at(['features', i, 'strategies', j, 'segments', k], 'must be the id of a segment listed in segments', id, true));
      }),
    );
  });
  const features = data.features.map((feature) => ({
    ...feature,
    strategies: feature.strategies.map((s) => ({ ...s, parameters: { ...(s.parameters ?? {}) }, constraints: (s.constraints ?? []).map(toClientConstraint) })),
  })) as FeatureInterface[];
  const segments = (data.segments ?? []).map((s) => ({ ...s, constraints: s.constraints.map(toClientConstraint) })) as Segment[];
  return { format: 'client-features', features, segments };
}

function toClientConstraint(c: { contextName: string; operator: string; values?: string[] | undefined; value?: string | number | undefined; inverted?: boolean | undefined; caseInsensitive?: boolean | undefined }): Constraint {
  const constraint = {
    contextName: c.contextName,
    operator: c.operator,
    values: c.values ?? [],
    inverted: c.inverted ?? false,
    caseInsensitive: c.caseInsensitive ?? false,
  } as Constraint;
  if (c.value !== undefined) constraint.value = String(c.value);
  return constraint;
}

/** The checks Unleash's fixVariantWeights makes on import (at least one variable variant; fixed weights ≤ 1000). */
function checkVariantWeights(variants: ReadonlyArray<{ weight: number; weightType: 'variable' | 'fix' }>, path: PropertyKey[], at: At, problems: string[]): void {
  if (variants.length === 0) return;
  if (!variants.some((v) => v.weightType === 'variable')) {
    problems.push(at(path, 'must include at least one variant with weightType "variable" (Unleash rejects all-"fix" variants)'));
  }
  const fixed = variants.filter((v) => v.weightType === 'fix').reduce((sum, v) => sum + v.weight, 0);
  if (fixed > 1000) problems.push(at(path, `must have "fix" weights adding up to at most 1000, but they add up to ${fixed}`));
}

/**
 * What Unleash 7 stores on import (feature-toggle-service `fixVariantWeights`): "fix" weights as
 * given, the rest of 1000 shared evenly by the "variable" ones (the remainder one by one, in file
 * order), then all sorted by name. The client hashes users onto these weights in this order, so the
 * local evaluation must use them too.
 */
function fixVariantWeights<V extends { name: string; weight: number; weightType: 'variable' | 'fix' }>(variants: readonly V[]): VariantDefinition[] {
  if (variants.length === 0) return [];
  const variable = variants.filter((v) => v.weightType === 'variable');
  const fixed = variants.filter((v) => v.weightType === 'fix');
  const left = 1000 - fixed.reduce((sum, v) => sum + v.weight, 0);
  const average = variable.length === 0 ? 0 : Math.floor(left / variable.length);
  let remainder = variable.length === 0 ? 0 : left % variable.length;
  const shared = variable.map((v) => {
    const extra = remainder > 0 ? 1 : 0;
    remainder -= extra;
    return { ...v, weight: average + extra };
  });
  return [...shared, ...fixed.map((v) => ({ ...v }))].sort((a, b) => a.name.localeCompare(b.name)) as unknown as VariantDefinition[];
}

function invalid(file: string, problems: readonly string[]): FloorplanError {
  return new FloorplanError(ErrorCode.FLAGS_INVALID, `Invalid flags file ${file}:\n- ${problems.join('\n- ')}`);
}

