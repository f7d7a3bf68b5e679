/**
 * The revision store's PostgreSQL connection dropping while Floorplan holds it (between two
 * queries of an operation): the process must carry on and the store must work again once
 * PostgreSQL is reachable. A CI run once lost a replica this way: pg emitted the socket's
 * ECONNRESET on the checked-out client, which had no 'error' listener, and Node ended the process.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRevisionDatabase, type RevisionDatabase } from '../../../src/layouts/revisions/database.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { eventually } from '../../support/measure.ts';
import { createTestDatabase, HAS_POSTGRES, type TestDatabase } from '../../support/postgres.ts';
import { startTcpProxy, type TcpProxy } from '../../support/tcp-proxy.ts';

describe.skipIf(!HAS_POSTGRES)('the revision store on PostgreSQL (a database of its own on 127.0.0.1:5432, behind a TCP proxy)', () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let store: RevisionDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
    const url = new URL(database.url);
    proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
    url.port = String(proxy.port);
    store = await openRevisionDatabase({ kind: 'postgres', url: url.toString(), dataDir: '', connectTimeoutMs: 1000, queryTimeoutMs: 5000 }, createLogger('silent'));
  });

  afterAll(async () => {
    await store?.close();
    await proxy?.close();
    await database?.drop();
  });

  it('survives its connection being reset between two queries, and answers again once PostgreSQL is back', async () => {
    const uncaught: Error[] = [];
    const record = (error: Error) => uncaught.push(error);
    process.on('uncaughtException', record);
    try {
      await store.db.connection().execute(async (connection) => {
        await sql`select 1`.execute(connection);
        // The network fails while the connection is checked out and no query is running.
        await proxy.cut();
        await sleep(300);
      });
    } finally {
      process.off('uncaughtException', record);
    }
    expect(uncaught.map((e) => e.message)).toEqual([]);

    await proxy.restore();
    const selectOne = () => sql<{ one: number }>`select 1 as one`.execute(store.db).then((r) => r.rows[0]?.one, () => undefined);
    const answer = await eventually(selectOne, (one) => one === 1, 2000, 100);
    expect(answer).toBe(1);
  });
});
