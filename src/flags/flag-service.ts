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
 * The file is in Unleash's own export format; its format and checks are {@link parseFlagsFile}'s
 * (flags-file.ts).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { InMemStorageProvider, Unleash, type ClientFeaturesResponse, type Context } from 'unleash-client';
import type { EnhancedFeatureInterface } from 'unleash-client/lib/feature.js';
import type { ServiceConfig } from '../config/service-config.ts';
import { WatchedPath, type WatchedContent } from '../config/watched-path.ts';
import { describeThrown, ErrorCode, FloorplanError, withoutPasswords } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import { NO_TRACE, type RequestTrace } from '../observability/tracing.ts';
import type { Viewer } from '../viewer/viewer.ts';
import { CLIENT_STRATEGIES, parseFlagsFile, type FlagsSnapshot } from './flags-file.ts';
import { explainFlag, type FlagDefinitions, type FlagExplanation } from './explain.ts';
import { DISABLED_VARIANT, RequestFlags, unleashContextOf, type FlagEvaluator } from './request-flags.ts';
import { withSettledDecisions } from './settled-decisions.ts';

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
  /**
   * Local mode: what a changed file's flag names break for those who use them — the floors naming
   * a flag the file no longer defines. Any problem rejects the change like an invalid file (the
   * last good flags keep serving). Not called at start: the layouts, loaded after the flags, check
   * their names then. Default: no check.
   */
  checkNames?(names: ReadonlySet<string>): readonly string[];
  /** Called after the flags served may have changed: a file change swapped in, or Unleash answering with new flags. */
  onFlagsChanged?(): void;
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
  readonly names: ReadonlySet<string>;
}

/**
 * Offline clients still need a syntactically valid URL; `.invalid` can never resolve (RFC 2606),
 * and with refreshInterval 0 and metrics off the client never tries.
 */
const OFFLINE_URL = 'http://flags-file.invalid/api/';
const OFFLINE_LOAD_TIMEOUT_MS = 2_000;
/** While Unleash keeps failing, one log line per this interval, not one per poll. */
const REMOTE_ERROR_LOG_INTERVAL_MS = 60_000;
/**
 * The longest wait between two attempts while Unleash refuses the token: attempts start one
 * refresh interval after the refusal and double up to this (or the refresh interval, if longer).
 */
const REFUSED_RETRY_MAX_MS = 60_000;

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
  /** One evaluator per flag source served, for as long as the source lives. */
  readonly #evaluators = new WeakMap<FlagSource, FlagEvaluator>();
  /** The offline client behind #source, to destroy when it is replaced. */
  #offline: Unleash | undefined;
  /** Remote mode: the client whose flags are served, once it has had Unleash's answer. */
  #remote: Unleash | undefined;
  /**
   * Remote mode: the client asking Unleash — #remote while Unleash answers. unleash-client stops
   * polling for good once Unleash refuses its token (401, 403), so after a refusal a new client
   * asks, at a backoff, while #remote keeps serving the last flags; it replaces #remote once
   * Unleash answers it.
   */
  #polling: Unleash | undefined;
  /** Remote mode: the status (401, 403) of the refusal Unleash last answered a flags poll with; 0 while it is not refusing. */
  #refusedStatus = 0;
  #refusedRetryMs = 0;
  #refusedRetryTimer: NodeJS.Timeout | undefined;
  /** False from a failure until the next answer; only drives the "answered" log line. */
  #remoteHealthy = true;
  /** The problems last warned about in the definitions Unleash sent ("" none), so each set is warned once. */
  #definitionProblems = '';
  #lastRemoteLogAt = 0;
  /** flags.unleashUrl as log lines name it: a URL may hold a password (withoutPasswords). */
  readonly #urlShown: string;
  #backupDir: string | undefined;
  /** When this service started: the age of flags never confirmed by their source counts from here. */
  readonly #startedAt = Date.now();
  /** When the flags being served were last confirmed current at their source (see fetchAgeSeconds). */
  #fetchedAt: number | undefined;
  /** Local mode: false from a rejected edit of the file until it loads again (the served flags are then older than the file). */
  #fileLoaded = false;

  /** Local mode: the watched flags file. */
  #file: WatchedPath<string> | undefined;
  #stopping: Promise<void> | undefined;

  private constructor(config: FlagsConfig, logger: Logger, options: FlagServiceOptions) {
    this.#config = config;
    this.#logger = logger;
    this.#options = options;
    this.mode = config.unleashUrl === '' ? 'local' : 'remote';
    this.#urlShown = withoutPasswords(config.unleashUrl);
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
  evaluate(viewer: Viewer, trace: RequestTrace = NO_TRACE): RequestFlags {
    const observer = trace.recording ? { trace, provider: 'Unleash', stale: this.mode === 'remote' && this.servingFrom !== 'unleash' } : undefined;
    return new RequestFlags(this.#evaluator(this.#current()), unleashContextOf(viewer, this.#config.appName), observer);
  }

  /** What requests evaluate `source`'s flags with: user-independent answers settled once per definition (settled-decisions.ts). */
  #evaluator(source: FlagSource): FlagEvaluator {
    let evaluator = this.#evaluators.get(source);
    if (evaluator === undefined) {
      evaluator = withSettledDecisions(source);
      this.#evaluators.set(source, evaluator);
    }
    return evaluator;
  }

  /** Why `flagName` is on or off for `viewer`, for the operator preview. Does not count as an exposure. */
  explain(flagName: string, viewer: Viewer): FlagExplanation {
    // The client merges its static context ({appName, environment}) under every evaluation's context; so does the preview.
    const context: Context = { environment: this.#config.environment, ...unleashContextOf(viewer, this.#config.appName) };
    return explainFlag(this.#current(), flagName, context);
  }

  /**
   * The definition of `flagName` being served — Unleash's, the file's, or undefined when none is
   * defined — with its segments resolved, for the console's flag overview.
   */
  definition(flagName: string): EnhancedFeatureInterface | undefined {
    return this.#current()
      .getFeatureToggleDefinitions(true)
      .find((f) => f.name === flagName);
  }

  /** Names of the flags currently defined, sorted. */
  flagNames(): string[] {
    return this.#current()
      .getFeatureToggleDefinitions(true)
      .map((f) => f.name)
      .sort();
  }

  /**
   * The flag names floors may use, or undefined while they are not known: remote mode before
   * Unleash has answered, with no fallback file.
   */
  knownFlagNames(): ReadonlySet<string> | undefined {
    if (this.mode === 'remote' && this.servingFrom === 'none') return undefined;
    return new Set(this.flagNames());
  }

  /** The flags file as messages name it: relative to the root when inside it, else absolute. */
  get file(): string {
    return this.#fileShown;
  }

  /** Where flags are served from right now: Unleash, the file, or nothing (all off). */
  get servingFrom(): 'unleash' | 'file' | 'none' {
    if (this.#remote !== undefined) return 'unleash';
    return this.#source === NO_FLAGS ? 'none' : 'file';
  }

  /**
   * Remote mode: the HTTP status (401 or 403) Unleash refused the last flags poll with, until it
   * answers one again; 0 while it is not refusing (and always in local mode). The last flags keep
   * serving meanwhile, and Floorplan keeps asking (see #unleashRefused).
   */
  get unleashRefusedStatus(): number {
    return this.#refusedStatus;
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
    return this.#remote ?? this.#source;
  }

  // ---------------------------------------------------------------- local mode

  async #startLocal(): Promise<void> {
    const file = new WatchedPath<string>({
      path: this.#filePath,
      label: `flags file ${this.#fileShown}`,
      read: () => readFile(this.#filePath, 'utf8'),
      identify: (content) => [content],
      onChange: (content) => this.#reload(content),
      // A check that finds the file as loaded confirms the flags are current (fetchAgeSeconds).
      onUnchanged: () => this.#fileChecked(this.#fileLoaded),
      pollIntervalMs: this.#options.pollIntervalMs ?? 1_000,
      logger: this.#logger,
    });
    this.#file = file;
    let content: string;
    try {
      content = await file.read();
    } catch (error) {
      throw new FloorplanError(
        ErrorCode.FLAGS_INVALID,
        { problems: `: with no Unleash URL configured, flags come from ${this.#fileShown} (config flags.bootstrapFile, FLAGS_FILE), but it cannot be read: ${describeThrown(error)}` },
        { cause: error },
      );
    }
    const loaded = await this.#load(content);
    this.#swap(loaded);
    this.#fileChecked(true);
    file.start();
    this.#logger.info({ file: this.#fileShown, flags: loaded.count }, 'flags: serving %d flag(s) from %s (local mode, watched)', loaded.count, this.#fileShown);
  }

  /** Parses `content` and starts an offline client for it (none for a file without flags). */
  async #load(content: string): Promise<LoadedFlags> {
    const snapshot = parseFlagsFile(content, this.#fileShown, this.#config.environment);
    const names = new Set(snapshot.features.map((f) => f.name));
    if (snapshot.features.length === 0) return { source: NO_FLAGS, client: undefined, count: 0, names };
    const client = await startOfflineClient(snapshot, this.#config, this.#logger);
    return { source: client, client, count: snapshot.features.length, names };
  }

  #swap(loaded: LoadedFlags): void {
    const previous = this.#offline;
    // One assignment: a request that already holds the old client keeps it; the next one gets the new.
    this.#source = loaded.source;
    this.#offline = loaded.client;
    if (previous !== undefined) destroyClient(previous);
  }

  /** A changed flags file (or a read failure): swapped in when valid and consistent with its users, else rejected. */
  async #reload(content: WatchedContent<string>): Promise<void> {
    if (this.#stopping !== undefined) return;
    if (!content.ok) {
      this.#rejected(`cannot read ${this.#fileShown}: ${content.error.message}`);
      return;
    }
    let loaded: LoadedFlags;
    try {
      loaded = await this.#load(content.value);
    } catch (error) {
      this.#rejected(describeThrown(error));
      return;
    }
    // Checked after the await, right before the swap, so no layout change can slip in between.
    const problems = this.#stopping === undefined ? (this.#options.checkNames?.(loaded.names) ?? []) : [];
    if (this.#stopping !== undefined || problems.length > 0) {
      if (loaded.client !== undefined) destroyClient(loaded.client);
      if (problems.length > 0) this.#rejected(`Invalid flags file ${this.#fileShown}:\n- ${problems.join('\n- ')}`);
      return;
    }
    this.#swap(loaded);
    this.#fileChecked(true);
    this.#logger.info({ file: this.#fileShown, flags: loaded.count }, 'flags: reloaded %s, now %d flag(s)', this.#fileShown, loaded.count);
    this.#notify('applied');
    this.#flagsChanged();
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

  #flagsChanged(): void {
    try {
      this.#options.onFlagsChanged?.();
    } catch (error) {
      this.#logger.error({ err: error }, 'flags: the onFlagsChanged callback threw');
    }
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
    if (this.#notApiUrl()) {
      this.#logger.warn({ url: this.#urlShown }, 'flags: flags.unleashUrl (UNLEASH_URL) does not end in /api, where Unleash serves its client API (e.g. http://unleash:4242/api); if polls are refused, that is why');
    }
    const firstAnswer = this.#connectRemote();
    const timeoutMs = this.#options.startTimeoutMs ?? 5_000;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([firstAnswer, new Promise<void>((done) => (timer = setTimeout(done, timeoutMs)))]);
    clearTimeout(timer);
    if (this.#remote === undefined) {
      this.#logger.warn(
        { url: this.#urlShown, file: this.#fileShown, serving: this.servingFrom },
        'flags: Unleash has not answered yet; serving %s until it does',
        this.#source === NO_FLAGS ? 'every flag off' : `the flags of ${this.#fileShown}`,
      );
    }
  }

  /**
   * Starts a client that polls Unleash (#polling) and resolves on its first answer or its first
   * failed fetch of the flags. Its flags are served from its first answer on, in place of the
   * client before it (a client Unleash refused, whose last flags served until then).
   */
  #connectRemote(): Promise<void> {
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
    this.#polling = remote;
    // Events of a client replaced since (a refused one, its fetch still in flight) are not news.
    const current = () => this.#polling === remote && this.#stopping === undefined;

    let settle: (() => void) | undefined;
    const firstAnswer = new Promise<void>((resolveAnswer) => {
      settle = resolveAnswer;
    });
    remote.on('synchronized', () => {
      if (!current()) return;
      const previous = this.#remote;
      this.#remote = remote;
      // One assignment above: a request holding the previous client keeps it; the next gets this one.
      if (previous !== undefined && previous !== remote) destroyClient(previous);
      this.#remoteAnswered();
      this.#checkDefinitions(remote.getFeatureToggleDefinitions());
      this.#logger.info({ url: this.#urlShown, flags: remote.getFeatureToggleDefinitions().length }, 'flags: serving flags from Unleash');
      settle?.();
      this.#flagsChanged();
    });
    remote.on('changed', () => {
      if (!current()) return;
      this.#remoteAnswered();
      this.#checkDefinitions(remote.getFeatureToggleDefinitions());
      if (this.#remote === remote) this.#flagsChanged();
    });
    remote.on('unchanged', () => {
      if (current()) this.#remoteAnswered();
    });
    remote.on('error', (error: Error) => {
      const text = unleashErrorText(error);
      if (!current()) {
        this.#logger.debug({ url: this.#urlShown }, 'flags: Unleash (an earlier client): %s', this.#withoutSecrets(text));
        return;
      }
      const isFetch = error.message.startsWith('Unleash Repository error');
      const refused = isFetch ? /responded (401|403)\b/.exec(error.message)?.[1] : undefined;
      if (refused !== undefined) {
        this.#unleashRefused(Number(refused), text);
      } else {
        // Failing otherwise, the client polls on by itself: Unleash is no longer known to refuse.
        if (isFetch) this.#refusedStatus = 0;
        this.#remoteProblem('error', text);
      }
      // Only a failed fetch of the flags settles the start; a metrics hiccup says nothing about them.
      if (isFetch) settle?.();
    });
    remote.on('warn', (message: unknown) => {
      if (current()) this.#remoteProblem('warn', describeThrown(message));
    });

    // start() itself resolves only after the first fetch; do not let a hung request hold the boot.
    remote.start().catch((error: unknown) => {
      if (current()) this.#remoteProblem('error', describeThrown(error));
    });
    return firstAnswer;
  }

  /**
   * Unleash refused a flags poll (401, 403): unleash-client has stopped polling for good. The last
   * flags keep serving; a new client asks again one refresh interval later, then at doubling waits
   * up to a minute, until Unleash accepts the token — an Unleash restart that briefly refused
   * tokens, or a token created again, would otherwise leave every replica on its last flags until
   * it is restarted. Logged once per outage; `unleashRefusedStatus` (a metric) says it meanwhile.
   */
  #unleashRefused(status: number, text: string): void {
    const first = this.#refusedStatus === 0;
    this.#refusedStatus = status;
    this.#remoteHealthy = false;
    const interval = this.#config.refreshIntervalMs;
    this.#refusedRetryMs = first ? interval : Math.min(this.#refusedRetryMs * 2, Math.max(REFUSED_RETRY_MAX_MS, interval));
    if (first) {
      const hint = `check flags.unleashToken (UNLEASH_TOKEN)${this.#notApiUrl() ? ` and flags.unleashUrl (UNLEASH_URL) is ${this.#urlShown}, which does not end in /api: Unleash's client API is under /api, and its UI answers 403 elsewhere` : ''}`;
      this.#logger.error(
        { url: this.#urlShown, status, serving: this.servingFrom },
        'flags: Unleash at %s refused the flags poll with %d — %s; serving %s meanwhile and asking again, every %d s at most, until it accepts the token (%s)',
        this.#urlShown,
        status,
        hint,
        this.#remote !== undefined ? 'the last flags it sent' : this.#source === NO_FLAGS ? 'every flag off' : `the flags of ${this.#fileShown}`,
        Math.max(REFUSED_RETRY_MAX_MS, interval) / 1000,
        this.#withoutSecrets(text),
      );
    } else {
      this.#logger.debug({ url: this.#urlShown, status }, 'flags: Unleash still refuses the flags poll (%d); asking again in %d ms', status, this.#refusedRetryMs);
    }
    clearTimeout(this.#refusedRetryTimer);
    this.#refusedRetryTimer = setTimeout(() => this.#retryRefused(), this.#refusedRetryMs);
    this.#refusedRetryTimer.unref();
  }

  /** Asks Unleash again with a new client, the refused one released unless its flags are being served. */
  #retryRefused(): void {
    this.#refusedRetryTimer = undefined;
    if (this.#stopping !== undefined) return;
    const refused = this.#polling;
    if (refused !== undefined && refused !== this.#remote) destroyClient(refused);
    void this.#connectRemote();
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
   * Logs Unleash trouble other than a refused flags poll (#unleashRefused) at most once per
   * interval while it lasts — the client retries every poll, so an outage would otherwise print a
   * line every few seconds. The rest go to debug.
   */
  #remoteProblem(level: 'error' | 'warn', text: string): void {
    const message = this.#withoutSecrets(text);
    const now = Date.now();
    this.#remoteHealthy = false;
    if (now - this.#lastRemoteLogAt < REMOTE_ERROR_LOG_INTERVAL_MS) {
      this.#logger.debug({ url: this.#urlShown }, 'flags: Unleash (repeated): %s', message);
      return;
    }
    this.#lastRemoteLogAt = now;
    this.#logger[level]({ url: this.#urlShown }, 'flags: Unleash: %s', message);
  }

  /**
   * Warns (once per set of problems) about flags Unleash sent that this client cannot evaluate:
   * a strategy it does not know never matches (unleash-client skips it and tries the flag's
   * other strategies, so only a flag with no other is off for everyone), and a dependency on a
   * flag Unleash does not define is never met, so such a flag is off for everyone.
   * unleash-client reports both only on an inner emitter it does not pass on.
   */
  #checkDefinitions(definitions: ReadonlyArray<{ readonly name: string; readonly strategies?: ReadonlyArray<{ readonly name: string }>; readonly dependencies?: ReadonlyArray<{ readonly feature: string }> }>): void {
    const names = new Set(definitions.map((d) => d.name));
    const known = new Set<string>(CLIENT_STRATEGIES);
    const problems: string[] = [];
    for (const definition of definitions) {
      const strategies = definition.strategies ?? [];
      const evaluable = strategies.some((strategy) => known.has(strategy.name));
      for (const strategy of strategies) {
        if (known.has(strategy.name)) continue;
        const outcome = evaluable ? "so it never matches; the flag's other strategies still decide" : 'so it never matches, and the flag has no other: it is off for everyone';
        problems.push(`${definition.name}: strategy ${JSON.stringify(strategy.name)} is unknown to unleash-client (it evaluates ${CLIENT_STRATEGIES.join(', ')}), ${outcome}`);
      }
      for (const dependency of definition.dependencies ?? []) {
        if (!names.has(dependency.feature)) problems.push(`${definition.name}: depends on ${dependency.feature}, which Unleash does not define, so it is off for everyone`);
      }
    }
    const key = problems.join('\n');
    if (key === this.#definitionProblems) return;
    this.#definitionProblems = key;
    if (problems.length > 0) {
      this.#logger.warn({ url: this.#urlShown, problems }, 'flags: Unleash sent flags this client cannot evaluate in full: %s', problems.join('; '));
    }
  }

  /**
   * `text` with the Unleash token and any password in a URL masked. The client quotes a header
   * value it cannot send ("<token> is not a legal HTTP header value") and the URL it failed to
   * reach, and a log must never carry a credential. The config trims the token and refuses
   * control characters in it, but a token reaching here some other way is masked all the same.
   */
  #withoutSecrets(text: string): string {
    const token = this.#config.unleashToken;
    let masked = withoutPasswords(text);
    for (const form of new Set([token, token.trim()])) {
      if (form.length > 0) masked = masked.split(form).join('<the token of flags.unleashToken, UNLEASH_TOKEN>');
    }
    return masked;
  }

  /** Whether the configured URL's path does not end in /api, where Unleash serves its client API. */
  #notApiUrl(): boolean {
    return !/\/api\/?$/.test(new URL(this.#config.unleashUrl).pathname);
  }

  #remoteAnswered(): void {
    this.#fetchedAt = Date.now();
    if (this.#refusedStatus !== 0) {
      this.#logger.info({ url: this.#urlShown, status: this.#refusedStatus }, 'flags: Unleash at %s accepts the token again (it refused it with %d); serving its flags', this.#urlShown, this.#refusedStatus);
      this.#refusedStatus = 0;
      this.#refusedRetryMs = 0;
    } else if (!this.#remoteHealthy) {
      this.#logger.info({ url: this.#urlShown }, 'flags: Unleash answered');
    }
    // The next failure is news again.
    if (!this.#remoteHealthy) this.#lastRemoteLogAt = 0;
    this.#remoteHealthy = true;
  }

  // ---------------------------------------------------------------- shutdown

  async #stop(): Promise<void> {
    // A reload in flight sees #stopping and discards what it built.
    await this.#file?.stop();
    clearTimeout(this.#refusedRetryTimer);
    if (this.#polling !== undefined && this.#polling !== this.#remote) destroyClient(this.#polling);
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

/**
 * What the Unleash client's error says, with its code when its own words end in an empty reason.
 * The client quotes the failed connection's message as the reason, and for a host name with two
 * addresses that both refuse (`localhost` on most machines) Node's AggregateError has an empty
 * one: "…/client/features failed, reason: ". The code (ECONNREFUSED) is kept on the error.
 */
function unleashErrorText(error: Error): string {
  const text = describeThrown(error);
  const { code } = error as { code?: unknown };
  return /reason:\s*$/.test(text) && typeof code === 'string' && code !== '' ? `${text.trimEnd()} ${code}` : text;
}
