/**
 * The revision store's database dropped and created again empty (or restored from a dump without
 * its tables) under a running Floorplan. The migrations ran only when the pool was first opened,
 * so every operation answered 500 "relation layout_live does not exist" and /readyz said the
 * store was down until a command run on the store applied them. A statement that finds one of
 * the store's tables missing now has the migrations applied again — once, however many
 * operations found it at the same time — and the operation then works; when they cannot be
 * applied (a role without CREATE), it answers 503 FLOORPLAN_ERR_LAYOUT_STORE_UNAVAILABLE saying
 * why, and works again once they have been.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.ts';
import { openRevisionDatabase } from '../../src/layouts/revisions/database.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { postLayoutAdmin } from '../support/layout-admin.ts';
import { asPostgresAdmin, createTestDatabase, createTestRole, HAS_POSTGRES, type TestDatabase, type TestRole } from '../support/postgres.ts';

const ADMIN = 'recreated-store-suite-admin-token';
const SHIPPED = {
  'cart-bottom-sheet.yaml': readFileSync('floors/cart-bottom-sheet.yaml', 'utf8'),
  'checkout-summary.yaml': readFileSync('floors/checkout-summary.yaml', 'utf8'),
};

/** Drops `database` (closing every connection to it) and creates it again, empty, under the same name. */
async function recreate(database: TestDatabase): Promise<void> {
  await asPostgresAdmin(async (c) => {
    await c.query(`DROP DATABASE ${database.name} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${database.name}`);
  });
}

/** Runs `statements` on `database` as the admin role. */
async function asOwner(database: TestDatabase, statements: readonly string[]): Promise<void> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    for (const statement of statements) await client.query(statement);
  } finally {
    await client.end();
  }
}

const messages = (revisions: ReadonlyArray<{ message: string }>) => revisions.map((r) => r.message);

describe.skipIf(!HAS_POSTGRES)('a revision store whose database was dropped and created again empty under a running Floorplan (PostgreSQL)', () => {
  let database: TestDatabase | undefined;
  let role: TestRole | undefined;
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    await database?.drop();
    await role?.drop();
    h = undefined;
    database = undefined;
    role = undefined;
  });

  it('applies the migrations again, once for operations that find the tables missing together, and then answers them', async () => {
    database = await createTestDatabase();
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    h = await startHarness({ config: { admin: { token: ADMIN }, layouts: { store: { kind: 'postgres', url: database.url } } }, deps: { logger } });
    const post = (operation: string, body: unknown) => postLayoutAdmin((h as Harness).url, ADMIN, operation, body);
    expect((await post('publish', { files: SHIPPED, message: 'before the drop' })).status).toBe(200);

    await recreate(database);
    const answers = await Promise.all([post('history', {}), post('audit', {}), post('candidates', {})]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(answers[0]?.body).toEqual({ live: null, revisions: [] });
    const published = await post('publish', { files: SHIPPED, message: 'after the drop' });
    expect(published.status).toBe(200);
    expect(published.body.revision).toMatchObject({ revision: 1, parent: null });
    expect(messages((await post('history', {})).body.revisions)).toEqual(['after the drop']);
    expect(((await (await fetch(`${h.url}/readyz`)).json()) as { layouts: { store: string } }).layouts.store).toBe('up');

    const applied = lines.map((line) => JSON.parse(line) as { msg: string; table?: string; migrations?: string[] }).filter((l) => l.msg.includes('tables were missing'));
    expect(applied).toHaveLength(1);
    expect(applied[0]).toMatchObject({ migrations: ['0001_layout_revisions', '0002_layout_candidates', '0003_layout_approvals'] });
  }, 60_000);

  it('answers 503 naming the missing table and why the migrations could not be applied, then works once they have been', async () => {
    role = await createTestRole();
    database = await createTestDatabase();
    const grants = [
      `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${role.name}`,
      `GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${role.name}`,
    ];
    // Migrated by the owner, used by a role that may read and write the tables but not create any.
    await (await openRevisionDatabase({ kind: 'postgres', url: database.url, dataDir: '', connectTimeoutMs: 2000, queryTimeoutMs: 5000 }, createLogger('silent'))).close();
    await asOwner(database, grants);
    h = await startHarness({ config: { admin: { token: ADMIN }, layouts: { store: { kind: 'postgres', url: role.urlOf(database) } } } });
    const post = (operation: string, body: unknown) => postLayoutAdmin((h as Harness).url, ADMIN, operation, body);
    expect((await post('publish', { files: SHIPPED, message: 'before the drop' })).status).toBe(200);

    await recreate(database);
    const refused = await post('publish', { files: SHIPPED, message: 'refused' });
    expect(refused.status).toBe(503);
    expect(refused.body.code).toBe(ErrorCode.LAYOUT_STORE_UNAVAILABLE);
    expect(refused.body.error).toMatch(
      /^the layout revision store \([^)]+\) must be usable by the role it connects as to change layouts, but that role lacks a privilege it needs \(README, "The layout store's database privileges"\): its tables are missing \(relation "layout_\w+" does not exist: its database was created again or restored without them\), and applying the migrations again failed: permission denied for schema public; nothing was changed, every replica keeps serving the live revision$/,
    );
    const read = await post('history', {});
    expect(read.status).toBe(503);
    expect(read.body.error).toMatch(/ to read layout revisions, but that role lacks a privilege .*: its tables are missing .*; every replica keeps serving the live revision$/);

    await (await openRevisionDatabase({ kind: 'postgres', url: database.url, dataDir: '', connectTimeoutMs: 2000, queryTimeoutMs: 5000 }, createLogger('silent'))).close();
    await asOwner(database, grants);
    expect((await post('publish', { files: SHIPPED, message: 'after the owner migrated' })).status).toBe(200);
    expect(messages((await post('history', {})).body.revisions)).toEqual(['after the owner migrated']);
  }, 60_000);
});
