import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/errors.ts';
import { openRevisionDatabase } from '../../../src/layouts/revisions/database.ts';
import type { LayoutOperations } from '../../../src/layouts/revisions/releases.ts';
import { OperationRefused, type RevisionStore } from '../../../src/layouts/revisions/revision-store.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { openReleases } from '../../support/layout-releases.ts';
import { REVISION_STORES } from '../../support/revision-stores.ts';
import { thrown } from '../../support/thrown.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const logger = createLogger('silent');
const SHIPPED = {
  'cart-bottom-sheet.yaml': readFileSync(join(ROOT, 'floors', 'cart-bottom-sheet.yaml'), 'utf8'),
  'checkout-summary.yaml': readFileSync(join(ROOT, 'floors', 'checkout-summary.yaml'), 'utf8'),
};
/** The shipped cart sheet with one edit. */
const cart = (edit: (source: string) => string) => ({ ...SHIPPED, 'cart-bottom-sheet.yaml': edit(SHIPPED['cart-bottom-sheet.yaml']) });

describe.each(REVISION_STORES)('layout releases on %s', (_name, skip, open) => {
  let store: RevisionStore;
  let alice: LayoutOperations;
  let bob: LayoutOperations;
  let close: () => Promise<void>;
  const live: number[] = [];

  beforeAll(async () => {
    if (skip) return;
    const opened = await openReleases(open, { onLive: (r) => live.push(r.revision) });
    ({ store, close } = opened);
    alice = opened.releases.as('alice');
    bob = opened.releases.as('bob');
  }, 120_000);

  afterAll(async () => {
    if (skip) return;
    await close();
  });

  it.skipIf(skip)('records each publish as an immutable revision that goes live, with its author, message, parent and hash', async () => {
    const first = await alice.publish({ files: SHIPPED, message: 'first release' });
    expect(first.revision).toMatchObject({ revision: 1, author: 'alice', message: 'first release', parent: null, rollbackOf: null });
    expect(first.revision.contentHash).toMatch(/^[0-9a-f]{64}$/);
    expect(first.scenes).toEqual([
      { scene: 'cart-bottom-sheet', version: '2026-11-21.1' },
      { scene: 'checkout-summary', version: expect.any(String) },
    ]);
    expect(first.pushed).toBe(false);

    const second = await bob.publish({ files: cart((s) => s.replace('en: Coupons }', 'en: Vouchers }')), message: 'rename coupons', author: 'carol' });
    expect(second.revision).toMatchObject({ revision: 2, author: 'carol', parent: 1 });
    expect(second.revision.contentHash).not.toBe(first.revision.contentHash);
    expect(live).toEqual([1, 2]);

    const history = await alice.history({ limit: 10 });
    expect(history.live).toBe(2);
    expect(history.revisions.map((r) => [r.revision, r.author, r.message])).toEqual([
      [2, 'carol', 'rename coupons'],
      [1, 'alice', 'first release'],
    ]);
    const shown = await alice.show({ revision: 1 });
    expect(shown.live).toBe(false);
    expect(shown.revision.files).toEqual(SHIPPED);
  });

  it.skipIf(skip)('refuses to change a recorded revision, even through SQL', async () => {
    const database = await openRevisionDatabase(store.config.kind === 'pglite' ? { ...store.config, dataDir: `${store.config.dataDir}` } : store.config, logger).catch((e: Error) => e);
    // PGlite allows one process (here: the store) in its folder; PostgreSQL lets a second client try.
    if (database instanceof Error) {
      expect(database.message).toContain('in use by process');
      return;
    }
    try {
      const error = await sql`UPDATE layout_revisions SET message = 'rewritten' WHERE revision = 1`.execute(database.db).catch((e: Error) => e);
      expect((error as Error).message).toContain('layout revisions are immutable');
    } finally {
      await database.close();
    }
  });

  it.skipIf(skip)('diffs two revisions by meaning: floors added, removed, reordered, fields changed per locale', async () => {
    const edited = cart((s) =>
      s
        .replace('en: Vouchers }', 'en: Coupons }')
        .replace(/\n  - code: lj\n[\s\S]*?hideWhenZero: true\n/, '\n')
        .replace('name: { zh-CN: 运费, en: Shipping }\n    zeroText: { zh-CN: 免运费, en: Free }\n    sort: 50', 'name: { zh-CN: 运费, en: Delivery }\n    zeroText: { zh-CN: 免运费, en: Free }\n    sort: 5'),
    );
    const published = await alice.publish({ files: edited, message: 'shipping first' });
    const { from, to, diff } = await alice.diff({});
    expect([from, to]).toEqual([2, published.revision.revision]);
    const sheet = diff.scenes.find((d) => d.scene === 'cart-bottom-sheet' && d.variant === undefined);
    expect(sheet?.removed).toEqual(['lj']);
    expect(sheet?.added).toEqual([]);
    expect(sheet?.reordered?.to.slice(0, 2)).toEqual(['shipping', 'spze']);
    expect(sheet?.changed).toEqual(
      expect.arrayContaining([
        { code: 'coupon', field: 'name', locale: 'en', from: 'Vouchers', to: 'Coupons' },
        { code: 'shipping', field: 'name', locale: 'en', from: 'Shipping', to: 'Delivery' },
      ]),
    );
    // zh-CN names did not change, so none is reported.
    expect(sheet?.changed.filter((c) => c.locale === 'zh-CN')).toEqual([]);
    expect(diff.scenes.some((d) => d.scene === 'checkout-summary')).toBe(false);

    const back = await alice.diff({ from: published.revision.revision, to: 1 });
    expect(back.diff.scenes.find((d) => d.scene === 'cart-bottom-sheet' && d.variant === undefined)?.added).toEqual(['lj']);
  });

  it.skipIf(skip)('rolls back by recording the earlier floors as a new live revision that names it, and audits who did it', async () => {
    const before = (await alice.history({ limit: 1 })).live as number;
    const rolled = await bob.rollback({ revision: 1 });
    expect(rolled.revision).toMatchObject({ revision: before + 1, parent: before, rollbackOf: 1, author: 'bob', message: 'rollback to revision 1' });
    const live = await bob.show({ revision: rolled.revision.revision });
    expect(live.live).toBe(true);
    expect(live.revision.files).toEqual(SHIPPED);
    expect((await bob.diff({ from: 1 })).diff.scenes).toEqual([]);

    const { entries } = await alice.audit({ limit: 2 });
    expect(entries[0]).toMatchObject({ actor: 'bob', action: 'rollback', revision: rolled.revision.revision, detail: { from: before, rollbackOf: 1 } });
    expect(entries[1]).toMatchObject({ actor: 'alice', action: 'publish', revision: before });
    expect(Date.parse(entries[0]!.at)).toBeGreaterThan(Date.now() - 600_000);
  });

  it.skipIf(skip)('refuses a rollback from a live revision that is no longer live, as a page left open would send it', async () => {
    const seen = (await alice.history({ limit: 1 })).live as number;
    await bob.rollback({ revision: 1, message: 'meanwhile' });
    const refused = await thrown(() => alice.rollback({ revision: 1, from: seen }));
    expect(refused).toBeInstanceOf(OperationRefused);
    expect((refused as Error).message).toBe(`live is revision ${seen + 1} now, not ${seen}: look at what changed since, then rollback again`);
    expect((await alice.history({ limit: 1 })).live).toBe(seen + 1);
    expect((await alice.rollback({ revision: 1, from: seen + 1 })).revision.parent).toBe(seen + 1);
  });

  it.skipIf(skip)('records both of two racing publishes, each under its own number, the later one live and child of the other', async () => {
    const before = (await alice.history({ limit: 1 })).live as number;
    const [a, b] = await Promise.all([
      alice.publish({ files: cart((s) => s.replace('version: "2026-11-21.1"', 'version: "race-a"')), message: 'a' }),
      bob.publish({ files: cart((s) => s.replace('version: "2026-11-21.1"', 'version: "race-b"')), message: 'b' }),
    ]);
    const numbers = [a.revision.revision, b.revision.revision].sort();
    expect(numbers).toEqual([before + 1, before + 2]);
    const [earlier, later] = a.revision.revision < b.revision.revision ? [a, b] : [b, a];
    expect(earlier.revision.parent).toBe(before);
    expect(later.revision.parent).toBe(earlier.revision.revision);
    const history = await alice.history({ limit: 100 });
    expect(history.live).toBe(later.revision.revision);
    expect(history.revisions.map((r) => r.revision)).toEqual(Array.from({ length: before + 2 }, (_, i) => before + 2 - i));
  });

  it.skipIf(skip)('refuses an invalid set with every problem and records nothing', async () => {
    const before = await alice.history({ limit: 1 });
    const error = await thrown(() => alice.publish({ files: { 'cart-bottom-sheet.yaml': 'scene: cart-bottom-sheet\nfloors: []\n' }, message: 'broken' }));
    expect(error).toMatchObject({ code: ErrorCode.LAYOUT_INVALID });
    expect((error as Error).message).toContain('cart-bottom-sheet.yaml');
    expect(await alice.history({ limit: 1 })).toEqual(before);
  });

  it.skipIf(skip)('answers an unknown revision with the newest ones it holds', async () => {
    const error = await thrown(() => alice.rollback({ revision: 999 }));
    expect(error).toMatchObject({ code: ErrorCode.LAYOUT_REVISION_NOT_FOUND });
    expect((error as Error).message).toMatch(/^revision must be one the store holds \(newest: \d+, /);
    expect((error as Error).message).toContain('but got: 999');
  });

  it.skipIf(skip)('refuses a publish from a live revision that is no longer live, so it cannot silently undo what was published meanwhile', async () => {
    const seen = (await alice.history({ limit: 1 })).live as number;
    // Bob's hotfix goes live while alice's confirmation still says "no difference" against `seen`.
    const hotfix = await bob.publish({ files: cart((s) => s.replace('en: Shipping }', 'en: Delivery }')), message: 'hotfix' });
    const refused = await thrown(() => alice.publish({ files: SHIPPED, message: 'no change', from: seen }));
    expect(refused).toBeInstanceOf(OperationRefused);
    expect((refused as Error).message).toBe(`live is revision ${hotfix.revision.revision} now, not ${seen}: look at what changed since, then publish again`);
    // A caller who saw nothing live (a first publish) is refused too once something is.
    expect(((await thrown(() => alice.publish({ files: SHIPPED, message: 'first?', from: null }))) as Error).message).toBe(
      `live is revision ${hotfix.revision.revision} now, not none: look at what changed since, then publish again`,
    );
    const history = await alice.history({ limit: 1 });
    expect([history.live, history.revisions[0]!.revision]).toEqual([hotfix.revision.revision, hotfix.revision.revision]);
    expect((await alice.publish({ files: SHIPPED, message: 'after reading the hotfix', from: hotfix.revision.revision })).revision.parent).toBe(hotfix.revision.revision);
  });
});
