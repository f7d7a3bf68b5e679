/**
 * Opening the revision store when PostgreSQL refuses the connection: the reason is the
 * connection's, in its own words. It used to read "migration (unknown) failed: connect
 * ECONNREFUSED …", which sent an operator looking for a broken migration.
 */
import { describe, expect, it } from 'vitest';
import { openRevisionDatabase } from '../../../src/layouts/revisions/database.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { freePort } from '../../support/processes.ts';

describe('openRevisionDatabase against a PostgreSQL that refuses the connection', () => {
  it("rejects with the connection's reason, not a migration's", async () => {
    const port = await freePort();
    const opening = openRevisionDatabase(
      { kind: 'postgres', url: `postgres://postgres@127.0.0.1:${port}/floorplan`, dataDir: '', connectTimeoutMs: 1000, queryTimeoutMs: 1000 },
      createLogger('silent'),
    );
    await expect(opening).rejects.toThrow(new RegExp(`^connect ECONNREFUSED 127\\.0\\.0\\.1:${port}$`));
  });
});
