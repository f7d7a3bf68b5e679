import { describe, expect, it } from 'vitest';
import { SqlFileMigrationProvider, splitStatements } from '../../../src/layouts/revisions/sql-migrations.ts';

describe('SQL migration files', () => {
  it('split into statements at semicolons outside comments, quotes and dollar-quoted bodies', () => {
    const text = [
      '-- a comment; not a statement',
      "CREATE TABLE t (x text DEFAULT ';');",
      'CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$',
      'BEGIN',
      "  RAISE EXCEPTION 'no; never';",
      'END',
      '$$;',
      '',
      '-- trailing comment',
    ].join('\n');
    expect(splitStatements(text)).toEqual([
      "-- a comment; not a statement\nCREATE TABLE t (x text DEFAULT ';')",
      "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  RAISE EXCEPTION 'no; never';\nEND\n$$",
    ]);
  });

  it('ship as numbered files, applied in order', async () => {
    const names = Object.keys(await new SqlFileMigrationProvider().getMigrations());
    expect(names[0]).toBe('0001_layout_revisions');
    expect(names).toEqual([...names].sort());
  });
});
