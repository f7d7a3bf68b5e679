/**
 * A layout change whose COMMIT the store does not confirm within `queryTimeoutMs` (a slow fsync,
 * a synchronous standby that stalls, a reply lost on the network) may still take effect. The
 * operator must not be told "nothing was changed" for a change that then goes live on every
 * replica: the store asks PostgreSQL what became of the transaction and answers by that.
 * A deferred trigger that sleeps in the COMMIT stands in for the slow commit, on a real PostgreSQL.
 */
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, FloorplanError } from '../../../src/errors.ts';
import { RevisionStore } from '../../../src/layouts/revisions/revision-store.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { createTestDatabase, HAS_POSTGRES, type TestDatabase } from '../../support/postgres.ts';
import { thrown } from '../../support/thrown.ts';

const FILES = { 'cart-bottom-sheet.yaml': 'scene: cart-bottom-sheet\n' };
const QUERY_TIMEOUT_MS = 1000;

describe.skipIf(!HAS_POSTGRES)('a layout change whose COMMIT outlasts the query timeout', () => {
  let database: TestDatabase;
  let store: RevisionStore;
  let admin: pg.Client;

  /** Makes every COMMIT that changed the live pointer take `seconds`, then fail if `fail`. */
  const slowCommits = async (seconds: number, fail = false) => {
    await admin.query('DROP TRIGGER IF EXISTS slow_commit ON layout_live');
    await admin.query(`CREATE OR REPLACE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN PERFORM pg_sleep(${seconds}); ${fail ? "RAISE EXCEPTION 'the standby gave up';" : ''} RETURN NULL; END $$`);
    await admin.query('CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT OR UPDATE ON layout_live DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_commit()');
  };

  const publish = (message: string) => store.record({ files: { ...FILES, 'x.yaml': `scene: x\n# ${message}\n` }, author: 'alice', actor: 'alice', message, action: 'publish' }).then((change) => change.revision);

  beforeAll(async () => {
    database = await createTestDatabase();
    store = new RevisionStore({ kind: 'postgres', url: database.url, dataDir: '', connectTimeoutMs: 1000, queryTimeoutMs: QUERY_TIMEOUT_MS }, { logger: createLogger('silent') });
    await store.record({ files: FILES, author: 'alice', actor: 'alice', message: 'first', action: 'publish' });
    admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
  });

  beforeEach(async () => {
    await admin.query('DROP TRIGGER IF EXISTS slow_commit ON layout_live');
  });

  afterAll(async () => {
    await admin?.end();
    await store?.close();
    await database?.drop();
  });

  it('answers with the change when the COMMIT took effect after the timeout', async () => {
    await slowCommits(1.5);
    const recorded = await publish('late but done');
    expect(recorded.message).toBe('late but done');
    expect((await store.live())?.revision).toBe(recorded.revision);
    expect(store.state()).toBe('up');
  }, 30_000);

  it('says nothing was changed only when the COMMIT really failed', async () => {
    const before = (await store.live())?.revision;
    await slowCommits(1.5, true);
    const refused = await thrown(() => publish('never'));
    expect(refused).toBeInstanceOf(FloorplanError);
    expect((refused as FloorplanError).code).toBe(ErrorCode.LAYOUT_STORE_UNAVAILABLE);
    expect((refused as Error).message).toMatch(/nothing was changed/);
    expect((await store.live())?.revision).toBe(before);
    expect((await store.history(10)).map((r) => r.message)).not.toContain('never');
  }, 30_000);

  it('says the change may have been recorded when the store cannot tell yet, and it then goes live', async () => {
    await slowCommits(4);
    const unconfirmed = await thrown(() => publish('in the balance'));
    expect(unconfirmed).toBeInstanceOf(FloorplanError);
    expect((unconfirmed as FloorplanError).code).toBe(ErrorCode.LAYOUT_STORE_UNCONFIRMED);
    expect((unconfirmed as Error).message).not.toMatch(/nothing was changed/);
    expect((unconfirmed as Error).message).toMatch(/may have been recorded.*floors:history/);
    // The COMMIT went on in PostgreSQL: what the message warned of.
    await new Promise((r) => setTimeout(r, 3000));
    expect((await store.history(1)).map((r) => r.message)).toEqual(['in the balance']);
  }, 30_000);
});
