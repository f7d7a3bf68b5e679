/**
 * floorplan_layout_store_up says whether the revision store answered its last operation. Its
 * HELP promises no series without a store; and a store nothing has asked yet is not down.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.ts';
import { scrapeMetrics } from '../support/measure.ts';

const ADMIN = 'store-up-admin-token';
const series = async (h: Harness) => (await scrapeMetrics(h.url)).split('\n').filter((line) => line.startsWith('floorplan_layout_store_up'));

describe('floorplan_layout_store_up', () => {
  let h: Harness | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await h?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    h = undefined;
    dir = undefined;
  });

  it('has no series without a revision store', async () => {
    h = await startHarness();
    expect(await series(h)).toEqual([]);
  });

  it('has no series until the store is first used, then 1 once it answered', async () => {
    dir = mkdtempSync(join(tmpdir(), 'floorplan-store-up-'));
    h = await startHarness({ config: { admin: { token: ADMIN }, layouts: { store: { kind: 'pglite', dataDir: join(dir, 'revisions') } } } });
    const ready = (await (await fetch(`${h.url}/readyz`)).json()) as { layouts?: { store?: string } };
    if (ready.layouts?.store === 'unopened') expect(await series(h)).toEqual([]);
    const history = await fetch(`${h.url}/admin/layouts/history`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: '{}' });
    expect(history.status).toBe(200);
    expect(await series(h)).toEqual(['floorplan_layout_store_up 1']);
  }, 60_000); // opening PGlite takes seconds on a loaded machine
});
