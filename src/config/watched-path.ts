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
 *
 * A poll or a read that fails because the process ran short of local resources — file descriptors
 * (EMFILE, ENFILE), memory (ENOMEM), EAGAIN — says nothing about the file: it is skipped, not
 * reported as a change (which would reject the content, count a rejected reload and fire the
 * alert on it though nobody edited anything). The last content keeps serving, a warning says the
 * file could not be checked (at most one a minute), and the next poll checks again. A file that is
 * gone (ENOENT) or forbidden (EACCES) is a change as before: the owner rejects it.
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
  /** How a poll lists the folder and stats its entries. Default node:fs/promises; tests pass failing ones. */
  readonly fs?: WatchedPathFs;
}

/** The file-system calls a poll makes. */
export interface WatchedPathFs {
  readdir(folder: string): Promise<string[]>;
  stat(path: string): Promise<{ readonly mtimeMs: number; readonly size: number; readonly ino: number }>;
}

const DEFAULT_DEBOUNCE_MS = 100;
/** While checks keep failing for want of local resources, one warning per this interval. */
const TRANSIENT_LOG_INTERVAL_MS = 60_000;
/** Errors that say the process ran short of something, not that the file changed. */
const TRANSIENT_CODES: ReadonlySet<string> = new Set(['EMFILE', 'ENFILE', 'EAGAIN', 'ENOMEM']);

/**
 * Whether `error` is a transient shortage of local resources: by its code, or its cause's (an
 * owner's reader that words the error its own way keeps fs's as the cause: readFloorsDir). Never
 * by the words of a message, which may quote a file's content ("floor `ENOMEM`: …").
 */
export function isTransientResourceError(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const { code } = e as NodeJS.ErrnoException;
    if (typeof code === 'string' && TRANSIENT_CODES.has(code)) return true;
  }
  return false;
}

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
  /** A forced check skipped for want of resources: the next check is forced, so the owner still gets its content. */
  #forcePending = false;
  /** When the last "could not check" warning was logged (0: none yet). */
  #lastTransientLogAt = 0;

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
    const key = await this.#stat();
    // Short of descriptors now, the first poll takes the stat and checks the content again.
    this.#statKey = typeof key === 'string' ? key : undefined;
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
    if (!content.ok && isTransientResourceError(content.error)) {
      // Not a change: the content is unknown. Forget the entries' stat, so the next poll checks again
      // and an edit made meanwhile is not lost.
      this.#statKey = undefined;
      this.#forcePending ||= force;
      this.#couldNotCheck(content.error);
      return;
    }
    const forced = force || this.#forcePending;
    this.#forcePending = false;
    const seen = this.#hash(content);
    if (!forced && seen === this.#seen) {
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
      if (typeof key !== 'string') {
        this.#couldNotCheck(key.error);
        return;
      }
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

  /** A check or poll skipped for want of local resources: a warning at most once a minute, the rest at debug. */
  #couldNotCheck(error: Error): void {
    const { logger, label } = this.#options;
    const now = Date.now();
    const message = describeThrown(error);
    if (now - this.#lastTransientLogAt < TRANSIENT_LOG_INTERVAL_MS) {
      logger.debug({ path: this.#options.path, err: message }, 'could not check the %s for changes (repeated): %s', label, message);
      return;
    }
    this.#lastTransientLogAt = now;
    logger.warn(
      { path: this.#options.path, err: message },
      'could not check the %s for changes: %s (local resources ran short; not a change, the last loaded content keeps serving)',
      label,
      message,
    );
  }

  /**
   * Cheap enough for every poll: the entries' names, mtimes, sizes and inodes. A folder that cannot
   * be listed is a key of its own (a change), unless for want of local resources: then the error,
   * and the poll is skipped. An entry that cannot be stat-ed for that reason fails the poll too,
   * rather than look like an edit of it.
   */
  async #stat(): Promise<string | { readonly error: Error }> {
    const fs = this.#options.fs ?? { readdir, stat };
    try {
      const names = (await fs.readdir(this.#folder)).filter(this.#entries).sort();
      const stats = await Promise.all(
        names.map((name) =>
          fs.stat(join(this.#folder, name)).catch((error: unknown) => {
            if (isTransientResourceError(error)) throw error;
            return undefined;
          }),
        ),
      );
      return names.map((name, i) => `${name}:${stats[i]?.mtimeMs ?? '-'}:${stats[i]?.size ?? '-'}:${stats[i]?.ino ?? '-'}`).join('|');
    } catch (error) {
      if (isTransientResourceError(error)) return { error: error instanceof Error ? error : new Error(String(error)) };
      return `unreadable:${(error as NodeJS.ErrnoException).code ?? ''}`;
    }
  }
}
