/**
 * RevisionStore: the history of published layout sets, the live pointer and the audit trail,
 * in PostgreSQL or PGlite (./database.ts). Every write is one transaction: a new immutable
 * revision, the live pointer moved to it and an audit row, all or nothing; concurrent writers
 * (two replicas, two operators) are serialised by a transaction-scoped advisory lock, so each
 * gets its own revision number and the later one's parent is the earlier one — none is lost.
 *
 * The database is opened on first use and again after a failed open; while it cannot be
 * reached, operations reject with FLOORPLAN_ERR_LAYOUT_STORE_UNAVAILABLE and {@link state}
 * says `down` — serving never waits on it (the LayoutStore keeps its set).
 */
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { ErrorCode, FloorplanError } from '../../errors.ts';
import type { Logger } from '../../observability/logger.ts';
import { describeRevisionStore, openRevisionDatabase, type RevisionDatabase, type RevisionStoreConfig, type RevisionTables } from './database.ts';
import type { Kysely } from 'kysely';

/** Any 32-bit key: only Floorplan's revision writers take it. */
const WRITE_LOCK_KEY = 0x466c7231;

/** A revision as history lists it. */
export interface RevisionSummary {
  readonly revision: number;
  /** sha256 of the file names and sources: equal hashes, equal floors. */
  readonly contentHash: string;
  readonly author: string;
  readonly message: string;
  /** ISO 8601. */
  readonly createdAt: string;
  /** The live revision when this one was recorded; null for the first. */
  readonly parent: number | null;
  /** On a rollback: the revision whose floors it restores. */
  readonly rollbackOf: number | null;
}

/** A revision with its floors set. */
export interface StoredRevision extends RevisionSummary {
  /** File name ("cart-bottom-sheet.yaml") to its YAML source, byte for byte as published. */
  readonly files: Readonly<Record<string, string>>;
}

export interface AuditEntry {
  readonly at: string;
  /** The admin credential's identity, or the CLI's operating-system user. */
  readonly actor: string;
  /** publish | rollback */
  readonly action: string;
  readonly revision: number | null;
  readonly detail: Readonly<Record<string, unknown>>;
}

export interface RecordRevisionInput {
  readonly files: Readonly<Record<string, string>>;
  /** Who the revision is by: `--author`, or the actor. */
  readonly author: string;
  /** Who did it, as authenticated. */
  readonly actor: string;
  readonly message: string;
  readonly action: 'publish' | 'rollback';
  readonly rollbackOf?: number;
}

/** `up`: the last operation reached the database; `down`: it did not; `unopened`: nothing tried yet. */
export type RevisionStoreState = 'up' | 'down' | 'unopened';

export function contentHash(files: Readonly<Record<string, string>>): string {
  const hash = createHash('sha256');
  for (const name of Object.keys(files).sort()) hash.update(`${name}\u0000${files[name] as string}\u0000`);
  return hash.digest('hex');
}

/** A driver error that says the database could not be reached, as opposed to a statement it refused. */
function isConnectionFailure(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  // SQLSTATE class 08 (connection exception) and 57P (operator intervention: shutdown) are outages;
  // any other five-character SQLSTATE is the server refusing a statement — a bug, not an outage.
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code.startsWith('08') || code.startsWith('57P');
  return true;
}

function iso(value: Date | string): string {
  return (value instanceof Date ? value : new Date(value)).toISOString();
}

type RevisionRow = Omit<RevisionTables['layout_revisions'], 'files' | 'created_at'> & { created_at: Date | string };

function summaryOf(row: RevisionRow): RevisionSummary {
  return {
    revision: row.revision,
    contentHash: row.content_hash,
    author: row.author,
    message: row.message,
    createdAt: iso(row.created_at),
    parent: row.parent,
    rollbackOf: row.rollback_of,
  };
}

export interface RevisionStoreOptions {
  readonly logger: Logger;
  /** Told whenever {@link RevisionStore.state} changes (metrics, readiness). */
  readonly onStateChange?: (state: RevisionStoreState) => void;
  /** Replaces openRevisionDatabase (tests). */
  readonly open?: typeof openRevisionDatabase;
}

export class RevisionStore {
  readonly config: RevisionStoreConfig;
  /** For messages: "PostgreSQL at postgres://…" or "PGlite in …". */
  readonly where: string;
  private readonly options: RevisionStoreOptions;
  private database: Promise<RevisionDatabase> | undefined;
  private current: RevisionStoreState = 'unopened';
  private lastError = '';
  private closed = false;

  constructor(config: RevisionStoreConfig, options: RevisionStoreOptions) {
    this.config = config;
    this.options = options;
    this.where = describeRevisionStore(config);
  }

  state(): RevisionStoreState {
    return this.current;
  }

  /** Why the store is down, for readiness detail; empty while up. */
  problem(): string {
    return this.current === 'down' ? this.lastError : '';
  }

  /** The live revision with its floors, or undefined when nothing was ever published. */
  async live(): Promise<StoredRevision | undefined> {
    return this.use(async (db) => {
      const row = await db
        .selectFrom('layout_live')
        .innerJoin('layout_revisions', 'layout_revisions.revision', 'layout_live.revision')
        .selectAll('layout_revisions')
        .where('layout_live.channel', '=', 'live')
        .executeTakeFirst();
      return row === undefined ? undefined : { ...summaryOf(row), files: row.files };
    });
  }

  /** Just the live revision's number: what a replica polls. */
  async liveRevision(): Promise<number | undefined> {
    return this.use(async (db) => (await db.selectFrom('layout_live').select('revision').where('channel', '=', 'live').executeTakeFirst())?.revision);
  }

  async get(revision: number): Promise<StoredRevision | undefined> {
    return this.use(async (db) => {
      const row = await db.selectFrom('layout_revisions').selectAll().where('revision', '=', revision).executeTakeFirst();
      return row === undefined ? undefined : { ...summaryOf(row), files: row.files };
    });
  }

  /** The newest `limit` revisions, newest first. */
  async history(limit: number): Promise<RevisionSummary[]> {
    return this.use(async (db) => {
      const rows = await db
        .selectFrom('layout_revisions')
        .select(['revision', 'content_hash', 'author', 'message', 'created_at', 'parent', 'rollback_of'])
        .orderBy('revision', 'desc')
        .limit(limit)
        .execute();
      return rows.map(summaryOf);
    });
  }

  /** The newest `limit` audit entries, newest first. */
  async audit(limit: number): Promise<AuditEntry[]> {
    return this.use(async (db) => {
      const rows = await db.selectFrom('layout_audit').selectAll().orderBy('id', 'desc').limit(limit).execute();
      return rows.map((r) => ({ at: iso(r.at), actor: r.actor, action: r.action, revision: r.revision, detail: r.detail }));
    });
  }

  /** Records a new revision and makes it live, with its audit entry, in one transaction. */
  async record(input: RecordRevisionInput): Promise<StoredRevision> {
    return this.use((db) =>
      db.transaction().execute(async (trx) => {
        await sql`SELECT pg_advisory_xact_lock(${WRITE_LOCK_KEY})`.execute(trx);
        const parent = (await trx.selectFrom('layout_live').select('revision').where('channel', '=', 'live').executeTakeFirst())?.revision ?? null;
        const newest = await trx.selectFrom('layout_revisions').select((eb) => eb.fn.max('revision').as('max')).executeTakeFirst();
        const revision = Number(newest?.max ?? 0) + 1;
        const row = await trx
          .insertInto('layout_revisions')
          .values({
            revision,
            content_hash: contentHash(input.files),
            files: JSON.stringify(input.files),
            author: input.author,
            message: input.message,
            parent,
            rollback_of: input.rollbackOf ?? null,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        await trx
          .insertInto('layout_live')
          .values({ channel: 'live', revision })
          .onConflict((oc) => oc.column('channel').doUpdateSet({ revision, since: sql`now()` }))
          .execute();
        const detail = { from: parent, ...(input.rollbackOf === undefined ? {} : { rollbackOf: input.rollbackOf }), author: input.author, message: input.message };
        await trx.insertInto('layout_audit').values({ actor: input.actor, action: input.action, revision, detail: JSON.stringify(detail) }).execute();
        return { ...summaryOf(row), files: row.files };
      }),
    );
  }

  /** Opens the database now (start-up), reporting whether it is reachable; never rejects. */
  async probe(): Promise<boolean> {
    try {
      await this.use((db) => sql`SELECT 1`.execute(db));
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const database = this.database;
    this.database = undefined;
    if (database !== undefined) await database.then((d) => d.close(), () => undefined);
  }

  private async use<T>(operation: (db: Kysely<RevisionTables>) => Promise<T>): Promise<T> {
    if (this.closed) throw this.unavailable('the store is closed');
    let database: RevisionDatabase;
    try {
      this.database ??= (this.options.open ?? openRevisionDatabase)(this.config, this.options.logger);
      database = await this.database;
    } catch (error) {
      this.database = undefined;
      throw this.unavailable((error as Error).message, error);
    }
    try {
      const result = await operation(database.db);
      this.setState('up', '');
      return result;
    } catch (error) {
      if (!isConnectionFailure(error)) throw error;
      throw this.unavailable((error as Error).message, error);
    }
  }

  private unavailable(cause: string, error?: unknown): FloorplanError {
    this.setState('down', cause);
    return new FloorplanError(ErrorCode.LAYOUT_STORE_UNAVAILABLE, { store: this.where, cause }, { cause: error });
  }

  private setState(state: RevisionStoreState, problem: string): void {
    this.lastError = problem;
    if (state === this.current) return;
    this.current = state;
    if (state === 'down') this.options.logger.warn({ store: this.where, err: problem }, 'layout revision store unavailable; serving continues with the layouts already loaded');
    else this.options.logger.info({ store: this.where }, 'layout revision store reachable');
    this.options.onStateChange?.(state);
  }
}
