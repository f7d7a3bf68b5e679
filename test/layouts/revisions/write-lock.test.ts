/**
 * Layout changes are serialized by an advisory lock in PostgreSQL. A change that waits for it
 * while another writer holds it (a long migration, a stuck session) is refused as a conflict
 * to retry: the store is up, so it must not answer "unreachable" or report itself down.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OperationRefused, RevisionStore } from '../../../src/layouts/revisions/revision-store.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { createTestDatabase, HAS_POSTGRES, type TestDatabase } from '../../support/postgres.ts';
import { thrown } from '../../support/thrown.ts';

const FILES = { 'cart-bottom-sheet.yaml': 'scene: cart-bottom-sheet\n' };

describe.skipIf(!HAS_POSTGRES)('the revision store while another writer holds its lock', () => {
  let database: TestDatabase;
  let store: RevisionStore;
  const states: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    store = new RevisionStore({ kind: 'postgres', url: database.url, dataDir: '', connectTimeoutMs: 1000, queryTimeoutMs: 2000 }, { logger: createLogger('silent'), onStateChange: (state) => states.push(state) });
    await store.record({ files: FILES, author: 'alice', actor: 'alice', message: 'first', action: 'publish' });
  });

  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });

  it('refuses the change as a conflict to retry, changes nothing, and stays up', async () => {
    const holder = new pg.Client({ connectionString: database.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock($1)', [0x466c7231]);
      const refused = await thrown(() => store.record({ files: { ...FILES, 'x.yaml': 'scene: x\n' }, author: 'bob', actor: 'bob', message: 'second', action: 'publish' }));
      expect(refused).toBeInstanceOf(OperationRefused);
      expect((refused as Error).message).toMatch(/^another layout change holds the revision store's write lock: try again in a moment$/);
      expect(store.state()).toBe('up');
      expect(states).not.toContain('down');
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
    expect((await store.history(5)).map((r) => r.message)).toEqual(['first']);
  }, 30_000);
});
