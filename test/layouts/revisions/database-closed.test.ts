/**
 * A PostgreSQL that answers, but will not let the store in: its database closed to connections
 * (ALTER DATABASE … ALLOW_CONNECTIONS false, SQLSTATE 55000) or dropped (3D000). That is the store
 * being down, as a refused connection is: operations answer FLOORPLAN_ERR_LAYOUT_STORE_UNAVAILABLE
 * (503 on the admin API) and the store reports itself down (/readyz, floorplan_layout_store_up),
 * not an internal error while it still reports itself up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/errors.ts';
import { RevisionStore } from '../../../src/layouts/revisions/revision-store.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { asPostgresAdmin, createTestDatabase, HAS_POSTGRES, type TestDatabase } from '../../support/postgres.ts';
import { thrown } from '../../support/thrown.ts';

/** Runs one statement as the server's admin. */
const asAdmin = (statement: string) => asPostgresAdmin((client) => client.query(statement)).then(() => undefined);

describe.skipIf(!HAS_POSTGRES)('the revision store when PostgreSQL will not let it in', () => {
  let database: TestDatabase;
  let store: RevisionStore;

  beforeAll(async () => {
    database = await createTestDatabase();
    store = new RevisionStore({ kind: 'postgres', url: database.url, dataDir: '', connectTimeoutMs: 1000, queryTimeoutMs: 5000 }, { logger: createLogger('silent') });
    await store.record({ files: { 'cart-bottom-sheet.yaml': 'scene: cart-bottom-sheet\n' }, author: 'alice', actor: 'alice', message: 'first', action: 'publish' });
    expect(store.state()).toBe('up');
  });

  afterAll(async () => {
    await store?.close();
    await asAdmin(`ALTER DATABASE ${database.name} ALLOW_CONNECTIONS true`).catch(() => undefined);
    await database?.drop();
  });

  it('is down, not broken, while its database is closed to connections, and up again once it is open', async () => {
    await asAdmin(`ALTER DATABASE ${database.name} ALLOW_CONNECTIONS false`);
    await asAdmin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${database.name}'`);
    // An operation may first meet a pooled connection whose termination the pool has not yet
    // seen: down all the same. pg reports it by PostgreSQL's own words when their FATAL message
    // arrived before the socket closed ("terminating connection due to administrator command"),
    // else as "Connection terminated unexpectedly" (seen on CI). Once those are gone, a new
    // connection is refused by the closed database.
    let refused: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      refused = await thrown(() => store.history(5));
      expect(refused).toMatchObject({ code: ErrorCode.LAYOUT_STORE_UNAVAILABLE });
      expect(store.state()).toBe('down');
      if ((refused as Error).message.includes('is not currently accepting connections')) break;
      expect((refused as Error).message).toMatch(/terminating connection due to administrator command|Connection terminated unexpectedly/);
    }
    expect((refused as Error).message).toContain('is not currently accepting connections');

    await asAdmin(`ALTER DATABASE ${database.name} ALLOW_CONNECTIONS true`);
    expect(await store.history(5)).toHaveLength(1);
    expect(store.state()).toBe('up');
  });

  it('is down while its database does not exist', async () => {
    await database.drop();
    const refused = await thrown(() => store.history(5));
    expect(refused).toMatchObject({ code: ErrorCode.LAYOUT_STORE_UNAVAILABLE });
    expect((refused as Error).message).toContain('does not exist');
    expect(store.state()).toBe('down');
  });
});
