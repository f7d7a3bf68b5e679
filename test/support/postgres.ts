/**
 * A database of the test's own on the machine's PostgreSQL (127.0.0.1:5432, trust auth), created
 * fresh and dropped after. Suites use `describe.skipIf(!HAS_POSTGRES)` so a machine without the
 * server reports them as skipped by name; on CI, .ci/run fails any skip.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The maintenance database the test databases are created from. */
export const POSTGRES_ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * What the test databases' and roles' names start with: `floorplan` by default; a run sharing the
 * server with others sets TEST_POSTGRES_PREFIX to tell its own apart (and clean up only those).
 */
const NAME_PREFIX = process.env.TEST_POSTGRES_PREFIX ?? 'floorplan';

export const HAS_POSTGRES = (() => {
  const url = new URL(POSTGRES_ADMIN_URL);
  return spawnSync('pg_isready', ['-h', url.hostname, '-p', url.port || '5432', '-q'], { stdio: 'ignore' }).status === 0;
})();

export interface TestDatabase {
  /** postgres://postgres@127.0.0.1:5432/floorplan_test_<random> */
  readonly url: string;
  readonly name: string;
  /** Drops it, closing whatever is still connected to it. */
  drop(): Promise<void>;
}

/** Runs `run` on a connection to the server's admin database (CREATE, ALTER or DROP DATABASE, pg_terminate_backend). */
export async function asPostgresAdmin<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/** `owner`: the role that owns it (and so may create in its schema public); the admin role by default. */
export async function createTestDatabase(options: { readonly owner?: TestRole } = {}): Promise<TestDatabase> {
  const name = `${NAME_PREFIX}_test_${randomBytes(6).toString('hex')}`;
  await asPostgresAdmin((c) => c.query(`CREATE DATABASE ${name}${options.owner === undefined ? '' : ` OWNER ${options.owner.name}`}`));
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: () => asPostgresAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

/** A login role of the test's own (trust auth: no password), for what a role may and may not do. */
export interface TestRole {
  /** floorplan_role_<random> */
  readonly name: string;
  /** `database`'s URL, connecting as this role. */
  urlOf(database: TestDatabase): string;
  /** Drops it; drop the databases it holds privileges in first. */
  drop(): Promise<void>;
}

export async function createTestRole(): Promise<TestRole> {
  const name = `${NAME_PREFIX}_role_${randomBytes(6).toString('hex')}`;
  await asPostgresAdmin((c) => c.query(`CREATE ROLE ${name} LOGIN`));
  return {
    name,
    urlOf(database) {
      const url = new URL(database.url);
      url.username = name;
      url.password = '';
      return url.toString();
    },
    drop: () => asPostgresAdmin((c) => c.query(`DROP ROLE IF EXISTS ${name}`)).then(() => undefined),
  };
}
