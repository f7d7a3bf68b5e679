/**
 * The revision store's database: PostgreSQL through `pg`, or PGlite (Postgres compiled to
 * WebAssembly, in-process) in a data folder — the same tables, the same SQL, one Kysely API.
 * Opening one also applies the pending migrations (./sql-migrations.ts); `migrate` applies them
 * again for a database whose tables went missing after it was opened.
 */
import { accessSync, closeSync, constants, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Kysely, PGliteDialect, PostgresDialect, type ColumnType, type Generated } from 'kysely';
import { Migrator } from 'kysely/migration';
import pg from 'pg';
import { describeThrown, withoutPasswords } from '../../errors.ts';
import type { Logger } from '../../observability/logger.ts';
import { SqlFileMigrationProvider } from './sql-migrations.ts';
import { processIsAlive } from '../../pid.ts';

/** Where revisions are kept: the shape of the service config's `layouts.store`. */
export interface RevisionStoreConfig {
  /** `postgres`: the server at `url`; `pglite`: embedded, in `dataDir`; `none`: no history (Redis-only publishing, as before revisions). */
  readonly kind: 'none' | 'pglite' | 'postgres';
  /** postgres://user@host:port/database (kind postgres). */
  readonly url: string;
  /** PGlite's data folder (kind pglite), relative to the working directory; one process at a time may open it. */
  readonly dataDir: string;
  /** A connection attempt to PostgreSQL slower than this fails: the store counts as down. */
  readonly connectTimeoutMs: number;
  /** A query slower than this fails (PostgreSQL); the operation answers that the store is unavailable. */
  readonly queryTimeoutMs: number;
}

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

/** The tables of migrations/*.sql, as Kysely sees them. */
export interface RevisionTables {
  layout_revisions: {
    revision: number;
    content_hash: string;
    files: ColumnType<Record<string, string>, string, never>;
    author: string;
    message: string;
    created_at: Timestamp;
    parent: number | null;
    rollback_of: number | null;
    /** 0002: on a promotion, the candidate revision it makes live. */
    promotes: number | null;
  };
  layout_live: { channel: 'live'; revision: number; since: Timestamp };
  layout_candidates: {
    scene: string;
    revision: number;
    rollout: ColumnType<Record<string, unknown>, string, string>;
    author: string;
    message: string;
    created_at: Timestamp;
    updated_at: Timestamp;
    /** 0003: who published it (the identity that may not approve it); null before 0003. */
    published_by: string | null;
    /** 0003: the approval of this candidate revision (layouts.approval). */
    approved_by: string | null;
    approved_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  };
  layout_candidate_generation: { id: 1; generation: number };
  layout_audit: {
    id: Generated<string>;
    at: Timestamp;
    actor: string;
    action: string;
    revision: number | null;
    detail: ColumnType<Record<string, unknown>, string | undefined, never>;
  };
}

export interface RevisionDatabase {
  readonly db: Kysely<RevisionTables>;
  /** For messages: "PostgreSQL at postgres://floorplan@db:5432/floorplan" or "PGlite in .floorplan/revisions". */
  readonly where: string;
  /**
   * Applies the pending migrations again, as opening did: for a database whose tables went
   * missing after it was opened (dropped and created again, restored without them). Resolves the
   * names of those it applied; rejects as opening would.
   */
  migrate(): Promise<readonly string[]>;
  close(): Promise<void>;
}

/** Where `config` keeps revisions, for messages. */
export function describeRevisionStore(config: RevisionStoreConfig): string {
  switch (config.kind) {
    case 'postgres':
      return `PostgreSQL at ${withoutPasswords(config.url)}`;
    case 'pglite':
      return `PGlite in ${config.dataDir}`;
    case 'none':
      return 'no revision store';
  }
}

/** Thrown when another live process holds a PGlite data folder: two writers would corrupt it. */
export class DataDirInUse extends Error {
  readonly pid: number;
  constructor(dataDir: string, pid: number) {
    super(`the PGlite data folder ${dataDir} is in use by process ${pid} (a running Floorplan?); one process at a time may open it`);
    this.pid = pid;
  }
}

/**
 * Takes `<dataDir>.lock` for this process (PGlite has no lock of its own); a lock left by a
 * process that is gone is taken over. Returns its release.
 */
function lockDataDir(dataDir: string): () => void {
  const path = `${resolve(dataDir)}.lock`;
  mkdirSync(dirname(path), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number(readFileSync(path, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processIsAlive(pid)) throw new DataDirInUse(dataDir, pid);
      rmSync(path, { force: true });
    }
  }
  throw new Error(`cannot lock the PGlite data folder ${dataDir}`);
}

/**
 * Creates PGlite's data folder if need be and checks this process may use it, so that a folder it
 * cannot use is refused in Node's words: PGlite's own file system throws an errno without a
 * message there (an `ErrnoError` with `errno: 54` for a file in the folder's place).
 */
function prepareDataDir(dataDir: string): string {
  const path = resolve(dataDir);
  const refused = (why: string, cause?: unknown) => new Error(`PGlite could not open its data folder ${path}: ${why}`, { cause });
  try {
    mkdirSync(path, { recursive: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw refused(describeThrown(error), error);
  }
  if (!statSync(path).isDirectory()) throw refused('it is a file, not a folder');
  try {
    accessSync(path, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch (error) {
    throw refused(describeThrown(error), error);
  }
  return path;
}

/** Applies the pending migrations (Kysely's Migrator takes a lock for it: replicas opening together apply each once); resolves their names. */
async function migrate(db: Kysely<RevisionTables>): Promise<readonly string[]> {
  const migrator = new Migrator({
    db,
    provider: new SqlFileMigrationProvider(),
    migrationTableName: 'floorplan_migrations',
    migrationLockTableName: 'floorplan_migrations_lock',
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    // No migration failed: the database could not be reached (or its migration table made or
    // locked), and that reason is the whole story. Naming a migration would send an operator
    // looking for a broken one.
    if (failed === undefined) throw error instanceof Error ? error : new Error(describeThrown(error), { cause: error });
    throw new Error(`migration ${failed} failed: ${describeThrown(error)}`, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/**
 * Opens the store's database and brings its schema up to date. Rejects when it cannot be
 * reached (PostgreSQL down) or opened (a PGlite folder in use: {@link DataDirInUse}).
 */
export async function openRevisionDatabase(config: RevisionStoreConfig, logger: Logger): Promise<RevisionDatabase> {
  if (config.kind === 'none') throw new Error('no revision store is configured (layouts.store.kind: none)');
  if (config.kind === 'pglite') {
    const release = lockDataDir(config.dataDir);
    try {
      const started = performance.now();
      // Loaded only here: PGlite's module is large, and most processes (replicas on PostgreSQL, tools) never need it.
      const { PGlite } = await import('@electric-sql/pglite');
      const pglite = await PGlite.create(prepareDataDir(config.dataDir));
      const db = new Kysely<RevisionTables>({ dialect: new PGliteDialect({ pglite }) });
      try {
        await migrate(db);
      } catch (error) {
        await db.destroy();
        throw error;
      }
      logger.debug({ dataDir: config.dataDir, ms: Math.round(performance.now() - started) }, 'PGlite revision store opened');
      return {
        db,
        where: describeRevisionStore(config),
        migrate: () => migrate(db),
        async close() {
          await db.destroy();
          release();
        },
      };
    } catch (error) {
      release();
      throw error;
    }
  }
  const pool = new pg.Pool({
    connectionString: config.url,
    connectionTimeoutMillis: config.connectTimeoutMs,
    query_timeout: config.queryTimeoutMs,
    max: 4,
    // Idle connections to a restarted PostgreSQL are dropped rather than kept broken.
    idleTimeoutMillis: 10_000,
  });
  // An idle client whose server went away emits 'error' on the pool: unhandled, it would end the process.
  pool.on('error', (error) => logger.debug({ err: describeThrown(error) }, 'revision store connection lost'));
  // A client checked out of the pool (between two queries of an operation) whose server goes
  // away emits 'error' on itself instead: unhandled, that too would end the process. Its query,
  // if one is running, fails with the error; the store answers again once the server is back
  // (test/layouts/revisions/database-outage.test.ts).
  pool.on('connect', (client) => client.on('error', (error) => logger.debug({ err: describeThrown(error) }, 'revision store connection lost while in use')));
  const db = new Kysely<RevisionTables>({ dialect: new PostgresDialect({ pool }) });
  try {
    await migrate(db);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return { db, where: describeRevisionStore(config), migrate: () => migrate(db), close: () => db.destroy() };
}
