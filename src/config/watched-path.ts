/**
 * A file or folder operators edit, followed so that a change is applied without a restart. The one
 * hot-reload source of the flags file (FlagService, local mode) and the floors folder (LayoutStore).
 *
 * A change is noticed two ways: fs.watch on the folder — not on the file, because editors that save
 * by renaming over a file end a watch on it — and a stat poll, because fs.watch misses events on
 * some file systems (network mounts, some container overlays). Either schedules a check, debounced,
 * since editors write in bursts (truncate, write, rename, chmod). A check reads the content and
 * compares its sha-256 with the content last handled, so a touch, or the watch and the poll both
 * reporting one edit, does nothing. What a new content means — swapped in, or rejected while the
 * last good one keeps serving — is the owner's call; a rejected content is not offered again until
 * it changes.
 */
import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Logger } from '../observability/logger.ts';
import { describeThrown } from '../errors.ts';

/** What a check read: the content, or why it could not be read. */
export type WatchedContent<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: Error };

export interface WatchedPathOptions<T> {
  /** The file, or the folder, to follow (absolute). */
  readonly path: string;
  /** Set when `path` is a folder: which of its entries count, e.g. `/\.ya?ml$/`. Unset: `path` is one file. */
  readonly entries?: RegExp;
  /** How logs name it, e.g. "flags file config/flags.json". */
  readonly label: string;
  /** Reads the content. A throw is handled like a content: reported once, until it changes. */
  read(): Promise<T> | T;
  /** The strings that identify a content; their hash decides whether a check found a change. */
  identify(value: T): readonly string[];
  /** A check found a content different from the last one handled (or was forced). */
  onChange(content: WatchedContent<T>): Promise<void> | void;
  /** A poll or a check found the content last handled: it is still current. Default: nothing. */
  onUnchanged?(): void;
  /**
   * Runs a check a change scheduled. Default: one at a time, on a queue of this watcher's own. An
   * owner whose other loads must not interleave with it (LayoutStore's Redis syncs) passes its queue.
   */
  run?(check: () => Promise<void>): void;
  /** Quiet time after the last signal before the check. Default 100 ms: one editor save is one check. */
  readonly debounceMs?: number;
  /** How often the entries are stat-ed, the fallback when fs.watch stays silent. */
  readonly pollIntervalMs: number;
  readonly logger: Logger;
}

const DEFAULT_DEBOUNCE_MS = 100;

/**
 * Follows one file or folder. {@link read} once at start, then {@link start} to follow changes;
 * {@link stop} ends it. Create one per file or folder.
 */
export class WatchedPath<T> {
  readonly #options: WatchedPathOptions<T>;
  readonly #folder: string;
  readonly #entries: (name: string) => boolean;
  /** Hash of the content (or read failure) last handled. */
  #seen: string | undefined;
  /** Names, mtimes, sizes and inodes of the entries at the last poll. */
  #statKey: string | undefined;
  #watcher: FSWatcher | undefined;
  #pollTimer: NodeJS.Timeout | undefined;
  #debounceTimer: NodeJS.Timeout | undefined;
  #polling = false;
  #queue: Promise<void> = Promise.resolve();
  #stopping: Promise<void> | undefined;

  constructor(options: WatchedPathOptions<T>) {
    this.#options = options;
    if (options.entries === undefined) {
      const file = basename(options.path);
      this.#folder = dirname(options.path);
      this.#entries = (name) => name === file;
    } else {
      const entries = options.entries;
      this.#folder = options.path;
      this.#entries = (name) => entries.test(name);
    }
  }

  /**
   * Reads the content now and remembers it as handled, without calling onChange: the first read,
   * at start. Throws what `read` throws.
   */
  async read(): Promise<T> {
    // Stat before reading: an edit landing in between is then seen by the first poll, never lost.
    this.#statKey = await this.#stat();
    const content = await this.#readContent();
    this.#seen = this.#hash(content);
    if (!content.ok) throw content.error;
    return content.value;
  }

  /** Starts following changes. */
  start(): void {
    if (this.#stopping !== undefined || this.#pollTimer !== undefined) return;
    const { logger, label } = this.#options;
    try {
      this.#watcher = watch(this.#folder, { persistent: false }, (_event, name) => {
        if (name === null || this.#entries(name)) this.#schedule();
      });
      this.#watcher.on('error', (error: Error) => {
        logger.warn({ path: this.#options.path, err: describeThrown(error) }, 'watching the %s failed; polling it instead', label);
        this.#watcher?.close();
        this.#watcher = undefined;
      });
    } catch (error) {
      logger.warn({ path: this.#options.path, err: describeThrown(error) }, 'cannot watch the %s; polling it instead', label);
    }
    this.#pollTimer = setInterval(() => void this.#poll(), this.#options.pollIntervalMs);
    this.#pollTimer.unref();
  }

  /**
   * Reads the content and calls onChange when it differs from the last handled — or always, when
   * `force` (the owner stopped serving it and wants it back, as LayoutStore when a Redis set is
   * deleted). Otherwise onUnchanged. Runs now, not on the queue: callers already on it use this.
   */
  async check(force = false): Promise<void> {
    if (this.#stopping !== undefined) return;
    const content = await this.#readContent();
    const seen = this.#hash(content);
    if (!force && seen === this.#seen) {
      this.#options.onUnchanged?.();
      return;
    }
    this.#seen = seen;
    await this.#options.onChange(content);
  }

  /** Stops watching and polling; resolves once a check in flight on its own queue is done. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      clearInterval(this.#pollTimer);
      clearTimeout(this.#debounceTimer);
      this.#watcher?.close();
      this.#watcher = undefined;
      await this.#queue;
    })();
    return this.#stopping;
  }

  async #poll(): Promise<void> {
    if (this.#polling) return;
    this.#polling = true;
    try {
      const key = await this.#stat();
      if (this.#stopping !== undefined) return;
      if (key === this.#statKey) {
        this.#options.onUnchanged?.();
        return;
      }
      this.#statKey = key;
      this.#schedule();
    } finally {
      this.#polling = false;
    }
  }

  #schedule(): void {
    if (this.#stopping !== undefined) return;
    clearTimeout(this.#debounceTimer);
    this.#debounceTimer = setTimeout(() => {
      const check = () => this.check(false);
      if (this.#options.run !== undefined) {
        this.#options.run(check);
        return;
      }
      this.#queue = this.#queue
        .then(check)
        .catch((error: unknown) => this.#options.logger.error({ err: error }, 'reloading the %s failed unexpectedly', this.#options.label));
    }, this.#options.debounceMs ?? DEFAULT_DEBOUNCE_MS);
    this.#debounceTimer.unref();
  }

  async #readContent(): Promise<WatchedContent<T>> {
    try {
      return { ok: true, value: await this.#options.read() };
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error : new Error(String(error)) };
    }
  }

  #hash(content: WatchedContent<T>): string {
    const hash = createHash('sha256');
    // Length-prefixed, so ["ab", "c"] and ["a", "bc"] differ; a failure never equals a content.
    const parts = content.ok ? this.#options.identify(content.value) : ['\0unreadable', content.error.message];
    for (const part of parts) hash.update(`${part.length}:${part}`);
    return hash.digest('hex');
  }

  /** Cheap enough for every poll: the entries' names, mtimes, sizes and inodes. */
  async #stat(): Promise<string> {
    try {
      const names = (await readdir(this.#folder)).filter(this.#entries).sort();
      const stats = await Promise.all(names.map((name) => stat(join(this.#folder, name)).catch(() => undefined)));
      return names.map((name, i) => `${name}:${stats[i]?.mtimeMs ?? '-'}:${stats[i]?.size ?? '-'}:${stats[i]?.ino ?? '-'}`).join('|');
    } catch (error) {
      return `unreadable:${(error as NodeJS.ErrnoException).code ?? ''}`;
    }
  }
}
