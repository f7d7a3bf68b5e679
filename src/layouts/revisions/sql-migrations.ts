/**
 * Versioned SQL migrations for Kysely's Migrator: every `migrations/NNNN_name.sql` file is one
 * migration, applied in name order and recorded in `floorplan_migrations`.
 *
 * Kysely's own FileMigrationProvider imports JS/TS modules; ours are plain SQL so a DBA can
 * read and run them by hand, and so the very same text runs on PostgreSQL and PGlite. PGlite's
 * `query` (what Kysely's PGlite driver calls) takes one statement at a time, so a file is split
 * into statements here, each executed in the migration's transaction.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql, type Kysely } from 'kysely';
import type { Migration, MigrationProvider } from 'kysely/migration';

/** Where the migrations live, next to this file (copied beside it by `npm run build`). */
export const MIGRATIONS_DIR = join(import.meta.dirname, 'migrations');

const MIGRATION_FILE = /^\d{4}_[a-z0-9_]+\.sql$/;

/**
 * The statements of a SQL file: split at semicolons outside quotes, comments and
 * dollar-quoted bodies ($$ … $$, as a plpgsql function has).
 */
export function splitStatements(text: string): string[] {
  const statements: string[] = [];
  let start = 0;
  let i = 0;
  while (i < text.length) {
    const rest = text.slice(i);
    if (rest.startsWith('--')) {
      const end = text.indexOf('\n', i);
      i = end === -1 ? text.length : end + 1;
    } else if (rest.startsWith("'")) {
      const end = text.indexOf("'", i + 1);
      i = end === -1 ? text.length : end + 1;
    } else if (rest.startsWith('$')) {
      const tag = /^\$[A-Za-z_]*\$/.exec(rest)?.[0];
      if (tag === undefined) i += 1;
      else {
        const end = text.indexOf(tag, i + tag.length);
        i = end === -1 ? text.length : end + tag.length;
      }
    } else if (rest.startsWith(';')) {
      statements.push(text.slice(start, i).trim());
      start = i + 1;
      i += 1;
    } else {
      i += 1;
    }
  }
  statements.push(text.slice(start).trim());
  // A chunk holding only comments is not a statement.
  return statements.filter((s) => s.split('\n').some((line) => line.trim() !== '' && !line.trim().startsWith('--')));
}

/** Reads every migration file of `dir`; a file not named NNNN_name.sql is refused rather than skipped. */
export class SqlFileMigrationProvider implements MigrationProvider {
  private readonly dir: string;

  constructor(dir: string = MIGRATIONS_DIR) {
    this.dir = dir;
  }

  async getMigrations(): Promise<Record<string, Migration>> {
    const migrations: Record<string, Migration> = {};
    for (const name of readdirSync(this.dir).sort()) {
      if (!MIGRATION_FILE.test(name)) throw new Error(`${join(this.dir, name)}: migration files must be named NNNN_name.sql (lower case), but got: ${name}`);
      const statements = splitStatements(readFileSync(join(this.dir, name), 'utf8'));
      migrations[name.slice(0, -'.sql'.length)] = {
        async up(db: Kysely<unknown>) {
          for (const statement of statements) await sql.raw(statement).execute(db);
        },
      };
    }
    return migrations;
  }
}
