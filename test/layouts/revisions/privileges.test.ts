/**
 * The PostgreSQL privileges the layout store needs, as README ("The layout store's database
 * privileges") promises them: the role that owns the database runs the migrations; the replicas
 * may connect as a role that can only read and write the tables (README's GRANT script, run here
 * as written), and every layout operation works through it. A role that lacks a privilege is told
 * so — not that the store "is not reachable" — and a read is not told that "nothing was changed".
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FloorplanDeps } from '../../../src/app.ts';
import { ErrorCode } from '../../../src/errors.ts';
import { openRevisionDatabase } from '../../../src/layouts/revisions/database.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { startHarness, type Harness } from '../../support/harness.ts';
import { postLayoutAdmin } from '../../support/layout-admin.ts';
import { createTestDatabase, createTestRole, HAS_POSTGRES, type TestDatabase, type TestRole } from '../../support/postgres.ts';
import { freePort, npmStartEnv, runFloorsCli } from '../../support/processes.ts';
import { loggerInto } from '../../support/log-lines.ts';
import { metricValue, scrapeMetrics } from '../../support/measure.ts';
import { until } from '../../support/until.ts';

const ADMIN = 'privileges-suite-admin-token';
const SHIPPED = {
  'cart-bottom-sheet.yaml': readFileSync('floors/cart-bottom-sheet.yaml', 'utf8'),
  'checkout-summary.yaml': readFileSync('floors/checkout-summary.yaml', 'utf8'),
};
const PRIVILEGES_HEADING = "### The layout store's database privileges";

/** README's GRANT script: the first ```sql block under its privileges heading. */
function readmeGrantScript(): string {
  const readme = readFileSync('README.md', 'utf8');
  const section = readme.slice(readme.indexOf(`\n${PRIVILEGES_HEADING}\n`));
  expect(section.startsWith(`\n${PRIVILEGES_HEADING}\n`), `README has a "${PRIVILEGES_HEADING}" section`).toBe(true);
  const script = /\n```sql\n([\s\S]*?)\n```\n/.exec(section)?.[1];
  expect(script, 'a ```sql block in it').toBeDefined();
  return script as string;
}

/** Runs `sql` (statements separated by semicolons at line ends) on `url`. */
async function run(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Opens the store as `url`'s role, which applies the migrations, and closes it. */
async function migrateAs(url: string): Promise<void> {
  await (await openRevisionDatabase({ kind: 'postgres', url, dataDir: '', connectTimeoutMs: 2000, queryTimeoutMs: 5000 }, createLogger('silent'))).close();
}

const TIMEOUTS = { connectTimeoutMs: 2000, queryTimeoutMs: 5000 };

describe.skipIf(!HAS_POSTGRES)("the layout store's database privileges (PostgreSQL)", () => {
  let owner: TestRole;
  let app: TestRole;
  const databases: TestDatabase[] = [];
  let h: Harness | undefined;

  /** A database `owner` owns, migrated by it, with README's script run by it for `app`. */
  async function grantedDatabase(script = readmeGrantScript()): Promise<TestDatabase> {
    const database = await createTestDatabase({ owner });
    databases.push(database);
    await migrateAs(owner.urlOf(database));
    await run(owner.urlOf(database), script.replaceAll(/\bfloorplan_owner\b/g, owner.name).replaceAll(/\bfloorplan_app\b/g, app.name).replaceAll(/\bDATABASE floorplan\b/g, `DATABASE ${database.name}`));
    return database;
  }

  const post = (operation: string, body: unknown) => postLayoutAdmin((h as Harness).url, ADMIN, operation, body);
  const startOn = async (url: string, deps?: FloorplanDeps, resyncIntervalMs = 600_000) => {
    // No resync poll during a test unless it asks for one: what the store is reported as is what the operations left.
    h = await startHarness({ config: { admin: { token: ADMIN }, layouts: { resyncIntervalMs, store: { kind: 'postgres', url, ...TIMEOUTS } } }, ...(deps === undefined ? {} : { deps }) });
  };
  /** floorplan_layout_store_up and the privilege refusals by access, as /metrics says them. */
  const storeMetrics = async () => {
    const text = await scrapeMetrics((h as Harness).url);
    const refused = (access: string) => metricValue(text, 'floorplan_layout_store_privilege_refusals_total', { access });
    return { up: metricValue(text, 'floorplan_layout_store_up'), read: refused('read'), write: refused('write') };
  };

  beforeAll(async () => {
    owner = await createTestRole();
    app = await createTestRole();
  });
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });
  afterAll(async () => {
    for (const database of databases) await database.drop();
    await owner?.drop();
    await app?.drop();
  });

  it("README's script lets a role that may not create tables publish, read history, roll back, stage and abort a candidate", async () => {
    const database = await grantedDatabase();
    await expect(run(app.urlOf(database), 'CREATE TABLE replicas_may_not (id integer)')).rejects.toThrow(/permission denied for schema public/);
    await startOn(app.urlOf(database));
    expect((await post('publish', { files: SHIPPED, message: 'first' })).status).toBe(200);
    expect((await post('publish', { files: SHIPPED, message: 'second' })).status).toBe(200);
    expect((await post('rollback', { revision: 1, message: 'back' })).status).toBe(200);
    expect((await post('candidate', { scene: 'cart-bottom-sheet', revision: 1, rollout: { allowList: ['u1001'] } })).status).toBe(200);
    expect((await post('rollout', { scene: 'cart-bottom-sheet', percentage: 5 })).status).toBe(200);
    expect((await post('abort', { scene: 'cart-bottom-sheet' })).status).toBe(200);
    const history = await post('history', {});
    expect(history.body).toMatchObject({ live: 3, revisions: [{ revision: 3, rollbackOf: 1 }, { revision: 2 }, { revision: 1 }] });
    expect((await post('audit', {})).body.entries.map((e: { action: string }) => e.action)).toEqual(['abort', 'rollout', 'candidate', 'rollback', 'publish', 'publish']);
  }, 60_000);

  it('a change through a role that lacks a privilege answers 503 saying so, not 500 nor "not reachable"', async () => {
    // README's script without its sequence grant: the audit's id cannot be drawn.
    const database = await grantedDatabase(readmeGrantScript().replaceAll(/^GRANT USAGE, SELECT ON SEQUENCE .*$/gm, ''));
    await startOn(app.urlOf(database));
    const refused = await post('publish', { files: SHIPPED, message: 'refused' });
    expect(refused.status).toBe(503);
    expect(refused.body.code).toBe(ErrorCode.LAYOUT_STORE_UNAVAILABLE);
    expect(refused.body.error).toMatch(
      /^the layout revision store \(PostgreSQL at postgres:\/\/\w+_role_\w+@127\.0\.0\.1:\d+\/\w+_test_\w+\) must be usable by the role it connects as to change layouts, but that role lacks a privilege it needs \(README, "The layout store's database privileges"\): permission denied for sequence layout_audit_id_seq; nothing was changed, every replica keeps serving the live revision$/,
    );
    expect((await post('history', {})).body.revisions).toEqual([]);
  }, 60_000);

  it('a change refused a privilege leaves the store reported up (/readyz, floorplan_layout_store_up) and logs the missing grant at error level, once', async () => {
    // README's script without INSERT on the audit table: every read works, every change is refused.
    const database = await grantedDatabase(readmeGrantScript().replace('GRANT SELECT, INSERT, UPDATE, DELETE ON layout_revisions', 'GRANT SELECT ON layout_audit TO floorplan_app;\nGRANT SELECT, INSERT, UPDATE, DELETE ON layout_revisions').replace(', layout_audit TO floorplan_app;', ' TO floorplan_app;'));
    const lines: Array<Record<string, unknown>> = [];
    await startOn(app.urlOf(database), { logger: loggerInto(lines, 'info') });
    const harness = h as Harness;
    const storeUp = async () => /^floorplan_layout_store_up (\d+)$/m.exec(await (await fetch(`${harness.url}/metrics`)).text())?.[1];
    const readiness = async () => ((await (await fetch(`${harness.url}/readyz`)).json()) as { layouts: { store: string } }).layouts.store;
    expect((await post('history', {})).status).toBe(200);

    expect(await storeMetrics()).toEqual({ up: 1, read: 0, write: 0 });

    for (const [index, message] of ['refused', 'refused again'].entries()) {
      const refused = await post('publish', { files: SHIPPED, message });
      expect(refused.status).toBe(503);
      expect(refused.body.error).toContain('must be usable by the role it connects as to change layouts, but that role lacks a privilege it needs');
      expect(refused.body.error).toContain('permission denied for table layout_audit');
      // The store answered: it is reachable, and an alert or dashboard on it must not send the on-call after the network.
      expect(await readiness()).toBe('up');
      expect(await storeUp()).toBe('1');
      // …but each refused change is counted, so FloorplanLayoutStorePrivilegeRefused sees what the single log line says.
      expect(await storeMetrics()).toEqual({ up: 1, read: 0, write: index + 1 });
    }
    expect(lines.filter((l) => l.msg === 'layout revision store unavailable; serving continues with the layouts already loaded')).toEqual([]);
    const errors = lines.filter((l) => l.level === 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      msg: "the layout revision store refuses the role it connects as a privilege: grant it (README, \"The layout store's database privileges\"); the operations needing it are refused meanwhile, serving continues with the layouts already loaded",
      err: expect.stringContaining('permission denied for table layout_audit'),
    });
  }, 60_000);

  it("a role refused CONNECT reads up, but every refused read — the replica's poll for new live revisions included — counts on floorplan_layout_store_privilege_refusals_total", async () => {
    // README's script without its CONNECT grant, and the PUBLIC one every new database has taken away.
    const database = await grantedDatabase(readmeGrantScript().replaceAll(/^GRANT CONNECT ON DATABASE .*$/gm, ''));
    await run(owner.urlOf(database), `REVOKE CONNECT ON DATABASE ${database.name} FROM PUBLIC`);
    // Polled every 100 ms, as a replica polls every layouts.resyncIntervalMs.
    await startOn(app.urlOf(database), undefined, 100);
    const atStart = await storeMetrics();
    expect(atStart.up).toBe(1);
    expect(atStart.write).toBe(0);
    // No operator asked anything: the poll alone is refused, and counted, again and again.
    await until(async () => (await storeMetrics()).read >= atStart.read + 3, 'three more polls refused and counted');

    const read = await post('history', {});
    expect(read.status).toBe(503);
    expect(read.body.error).toContain('must be usable by the role it connects as to read layout revisions, but that role lacks a privilege it needs');
    expect(read.body.error).toContain('permission denied for database');
    expect(await storeMetrics()).toMatchObject({ up: 1, write: 0 });
  }, 60_000);

  it('floors:history as a role that may not create the tables of an unmigrated database names a privilege problem, worded for a read', async () => {
    const database = await createTestDatabase({ owner });
    databases.push(database);
    const read = await runFloorsCli(['history'], npmStartEnv({ LAYOUT_STORE: 'postgres', LAYOUT_STORE_URL: app.urlOf(database) }));
    expect(read.code).toBe(2);
    expect(read.stderr).toMatch(
      /^the layout revision store \(PostgreSQL at [^)]+\) must be usable by the role it connects as to read layout revisions, but that role lacks a privilege it needs \(README, "The layout store's database privileges"\): permission denied for schema public; every replica keeps serving the live revision\n$/,
    );
  }, 60_000);

  it('a read that cannot reach the store says so for a read, a change as before', async () => {
    await startOn(`postgres://postgres@127.0.0.1:${await freePort()}/floorplan`);
    const read = await post('history', {});
    expect(read.status).toBe(503);
    expect(read.body.error).toMatch(/ must be reachable to read layout revisions, but it is not: connect ECONNREFUSED 127\.0\.0\.1:\d+; every replica keeps serving the live revision$/);
    const change = await post('publish', { files: SHIPPED, message: 'refused' });
    expect(change.body.error).toMatch(/ must be reachable to change layouts, but it is not: connect ECONNREFUSED 127\.0\.0\.1:\d+; nothing was changed, every replica keeps serving the live revision$/);
    const cli = await runFloorsCli(['audit'], npmStartEnv({ LAYOUT_STORE: 'postgres', LAYOUT_STORE_URL: `postgres://postgres@127.0.0.1:${await freePort()}/floorplan` }));
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/ must be reachable to read layout revisions, but it is not: connect ECONNREFUSED 127\.0\.0\.1:\d+; every replica keeps serving the live revision\n$/);
  }, 60_000);
});
