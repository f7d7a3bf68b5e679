/**
 * A DBA's ordinary table lock on the revision store — an index built in a transaction left open
 * (`BEGIN; CREATE INDEX … ON layout_audit (actor)`), a `LOCK TABLE layout_live IN EXCLUSIVE MODE` —
 * holds up a layout change past the lock timeout every write sets (half of
 * `layouts.store.queryTimeoutMs`). The change is a conflict to retry, not a fault: the admin API
 * answers 409 FLOORPLAN_ERR_LAYOUT_CONFLICT naming the locked table, the command run on the store
 * prints the same and exits 2 (it printed a stack trace, and the API a masked 500), nothing is
 * recorded, and the store is not reported down.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { postLayoutAdmin } from '../support/layout-admin.ts';
import { createTestDatabase, HAS_POSTGRES, type TestDatabase } from '../support/postgres.ts';
import { npmStartEnv, runFloorsCli } from '../support/processes.ts';

const ADMIN = 'table-locks-suite-admin-token';
const SHIPPED = {
  'cart-bottom-sheet.yaml': readFileSync('floors/cart-bottom-sheet.yaml', 'utf8'),
  'checkout-summary.yaml': readFileSync('floors/checkout-summary.yaml', 'utf8'),
};
/** A lock timeout of 500 ms: long enough for a busy machine, short enough for a test. */
const QUERY_TIMEOUT_MS = 1000;

describe.skipIf(!HAS_POSTGRES)('a layout change held up by a table lock a DBA holds on the revision store (PostgreSQL)', () => {
  let database: TestDatabase;
  let h: Harness;
  const post = (operation: string, body: unknown) => postLayoutAdmin(h.url, ADMIN, operation, body);

  /** Runs `statements` in a transaction of another session, then `during`, then rolls that transaction back. */
  async function whileLocked<T>(statements: readonly string[], during: () => Promise<T>): Promise<T> {
    const dba = new pg.Client({ connectionString: database.url });
    await dba.connect();
    try {
      await dba.query('BEGIN');
      for (const statement of statements) await dba.query(statement);
      return await during();
    } finally {
      await dba.query('ROLLBACK');
      await dba.end();
    }
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    h = await startHarness({ config: { admin: { token: ADMIN }, layouts: { store: { kind: 'postgres', url: database.url, queryTimeoutMs: QUERY_TIMEOUT_MS } } } });
    expect((await post('publish', { files: SHIPPED, message: 'baseline' })).status).toBe(200);
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    await database?.drop();
  });

  it('answers a publish 409 naming layout_audit while an index is built on it, records nothing, and keeps the store up', async () => {
    const refused = await whileLocked(['CREATE INDEX layout_audit_actor ON layout_audit (actor)'], () => post('publish', { files: SHIPPED, message: 'blocked' }));
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe(ErrorCode.LAYOUT_CONFLICT);
    expect(refused.body.error).toMatch(/^the revision store's table layout_audit is locked by another session \(ShareLock, PostgreSQL process \d+\): this change waited 500 ms for it \(half of layouts\.store\.queryTimeoutMs\); try again once that lock is released; nothing was changed$/);
    const history = await post('history', {});
    expect(history.body.revisions.map((r: { message: string }) => r.message)).toEqual(['baseline']);
    expect(((await (await fetch(`${h.url}/readyz`)).json()) as { layouts: { store: string } }).layouts.store).toBe('up');
  }, 30_000);

  it('answers a rollback 409 naming layout_live, and a candidate naming layout_candidates, while each is locked in EXCLUSIVE mode', async () => {
    const rollback = await whileLocked(['LOCK TABLE layout_live IN EXCLUSIVE MODE'], () => post('rollback', { revision: 1, message: 'blocked' }));
    expect(rollback.status).toBe(409);
    expect(rollback.body).toMatchObject({ code: ErrorCode.LAYOUT_CONFLICT, error: expect.stringMatching(/^the revision store's table layout_live is locked by another session \(ExclusiveLock, PostgreSQL process \d+\): .*; nothing was changed$/) });
    const candidate = await whileLocked(['LOCK TABLE layout_candidates IN EXCLUSIVE MODE'], () =>
      post('candidate', { scene: 'cart-bottom-sheet', revision: 1, rollout: { allowList: ['u1001'] } }),
    );
    expect(candidate.status).toBe(409);
    expect(candidate.body).toMatchObject({ code: ErrorCode.LAYOUT_CONFLICT, error: expect.stringMatching(/^the revision store's table layout_candidates is locked by another session \(ExclusiveLock, PostgreSQL process \d+\): .*; nothing was changed$/) });
    expect((await post('history', {})).body.revisions.map((r: { message: string }) => r.message)).toEqual(['baseline']);
    expect((await post('candidates', {})).body.candidates).toEqual([]);
  }, 30_000);

  it('floors:rollback straight on the store prints the refusal and exits 2, without a stack trace', async () => {
    const run = await whileLocked(['CREATE INDEX layout_audit_actor ON layout_audit (actor)'], () =>
      runFloorsCli(['rollback', '1', '--message', 'blocked'], npmStartEnv({ LAYOUT_STORE: 'postgres', LAYOUT_STORE_URL: database.url })),
    );
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(/^the revision store's table layout_audit is locked by another session \(ShareLock, PostgreSQL process \d+\): this change waited \d+ ms for it \(half of layouts\.store\.queryTimeoutMs\); try again once that lock is released; nothing was changed\n$/);
    expect(run.stderr).not.toContain('    at ');
  }, 60_000);
});
