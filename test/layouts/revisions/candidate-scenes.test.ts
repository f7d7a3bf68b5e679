/**
 * A candidate is of a scene live serves: its users are served the candidate only while apps may
 * ask for that scene at all. So a publish or rollback that would take such a scene off the air is
 * refused (its users would be refused the scene, not kept on the candidate, while every answer
 * said they keep it), naming the candidate and how to abort it; and a candidate is made only of
 * files that hold its scene's floors, never silently of live's.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/errors.ts';
import type { LayoutOperations, LayoutReleases } from '../../../src/layouts/revisions/releases.ts';
import { openReleases } from '../../support/layout-releases.ts';
import { REVISION_STORES } from '../../support/revision-stores.ts';
import { thrown } from '../../support/thrown.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const CART = readFileSync(join(ROOT, 'floors', 'cart-bottom-sheet.yaml'), 'utf8');
const CHECKOUT = readFileSync(join(ROOT, 'floors', 'checkout-summary.yaml'), 'utf8');
const cart = (version: string) => CART.replace('version: "2026-11-21.1"', `version: "${version}"`);
const checkout = (version: string) => CHECKOUT.replace('version: "2026-11-21.1"', `version: "${version}"`);

describe.each(REVISION_STORES)('the scene of a candidate, on %s', (_name, skip, open) => {
  let releases: LayoutReleases;
  let close: () => Promise<void>;
  let alice: LayoutOperations;

  beforeAll(async () => {
    if (skip) return;
    ({ releases, close } = await openReleases(open));
    alice = releases.as('alice');
  }, 120_000);

  afterAll(async () => {
    if (skip) return;
    await close();
  });

  it.skipIf(skip)('refuses a publish or rollback that would take off the air a scene with a candidate, naming it, whom it serves and how to abort it, and changes nothing', async () => {
    const both = await alice.publish({ files: { 'cart-bottom-sheet.yaml': cart('live-1'), 'checkout-summary.yaml': checkout('live-1') }, message: 'both scenes' });
    const cartOnly = await alice.publish({ files: { 'cart-bottom-sheet.yaml': cart('live-2') }, message: 'checkout retired' });
    expect(cartOnly.removedScenes).toEqual(['checkout-summary']);
    const back = await alice.rollback({ revision: both.revision.revision });
    const staged = await alice.candidate({ scene: 'checkout-summary', files: { 'checkout-summary.yaml': checkout('cand-1') }, rollout: { allowList: ['u1'] }, replaces: null });
    const candidate = staged.revision.revision;
    const history = await alice.history({ limit: 10 });

    const published = await thrown(() => alice.publish({ files: { 'cart-bottom-sheet.yaml': cart('live-3') }, message: 'checkout retired again' }));
    expect(published).toMatchObject({ code: ErrorCode.LAYOUT_SCENE_HAS_CANDIDATE });
    expect((published as Error).message).toBe(
      `this publish must keep on the air every scene that has a candidate, but it would take checkout-summary off the air, whose candidate (revision ${candidate}) is served to allow-list [u1], then 0 % by user id: ` +
        'they would be refused the scene, not kept on its candidate. Abort the candidate first (floors:abort -- checkout-summary, or POST /admin/layouts/abort {"scene":"checkout-summary"}), or keep its file in the set; nothing was changed',
    );
    const rolledBack = await thrown(() => alice.rollback({ revision: cartOnly.revision.revision }));
    expect(rolledBack).toMatchObject({ code: ErrorCode.LAYOUT_SCENE_HAS_CANDIDATE });
    expect((rolledBack as Error).message).toMatch(
      new RegExp(`^rollback to revision ${cartOnly.revision.revision} must keep on the air every scene that has a candidate, but it would take checkout-summary off the air, whose candidate \\(revision ${candidate}\\) is served to allow-list \\[u1\\]`),
    );
    // Nothing recorded: live and the candidate are as they were.
    expect(await alice.history({ limit: 10 })).toEqual(history);
    expect(history.live).toBe(back.revision.revision);
    expect((await alice.candidates()).candidates.map((c) => [c.scene, c.revision])).toEqual([['checkout-summary', candidate]]);

    // A candidate served to nobody yet is one a rollout may widen at any time: refused too, said so.
    await alice.rollout({ scene: 'checkout-summary', allowList: [] });
    expect((await thrown(() => alice.publish({ files: { 'cart-bottom-sheet.yaml': cart('live-3') }, message: 'x' })) as Error).message).toContain(
      `whose candidate (revision ${candidate}) is served to no one yet (allow-list [], then 0 % by user id): they would be refused the scene`,
    );

    // Aborted, the scene may go.
    await alice.abort({ scene: 'checkout-summary' });
    expect((await alice.publish({ files: { 'cart-bottom-sheet.yaml': cart('live-3') }, message: 'checkout retired for good' })).removedScenes).toEqual(['checkout-summary']);
  });

  it.skipIf(skip)("refuses a candidate whose files lack its scene's file, naming the scene and the files given, before anything is stored or a colleague's candidate replaced", async () => {
    await alice.publish({ files: { 'cart-bottom-sheet.yaml': cart('live-10'), 'checkout-summary.yaml': checkout('live-10') }, message: 'both scenes' });
    const colleague = await alice.candidate({ scene: 'cart-bottom-sheet', files: { 'cart-bottom-sheet.yaml': cart('cand-10') }, rollout: { allowList: ['u2002'] } });
    const history = await alice.history({ limit: 10 });

    const other = await thrown(() => alice.candidate({ scene: 'cart-bottom-sheet', files: { 'checkout-summary.yaml': checkout('edited') } }));
    expect(other).toMatchObject({ code: ErrorCode.LAYOUT_INVALID });
    expect((other as Error).message).toContain('`scene` must be one the candidate\'s floors define ("checkout-summary"), but got: "cart-bottom-sheet" (the files given: "checkout-summary.yaml"; live\'s other scenes only complete them)');
    const none = await thrown(() => alice.candidate({ scene: 'cart-bottom-sheet', files: {}, rollout: { allowList: ['u1001'] } }));
    expect(none).toMatchObject({ code: ErrorCode.LAYOUT_INVALID });
    expect((none as Error).message).toContain('`scene` must be one the candidate\'s floors define (none: no files were given), but got: "cart-bottom-sheet"');

    expect(await alice.history({ limit: 10 })).toEqual(history);
    const [kept] = (await alice.candidates()).candidates;
    expect(kept).toMatchObject({ scene: 'cart-bottom-sheet', revision: colleague.revision.revision, rollout: { allowList: ['u2002'] } });
    await alice.abort({ scene: 'cart-bottom-sheet' });
  });

  it.skipIf(skip)('refuses to publish an empty set, and so does the check, which judges a set as publish does', async () => {
    for (const judged of [() => alice.publish({ files: {}, message: 'nothing' }), () => releases.judgeSubmitted([])]) {
      const refused = await thrown(judged);
      expect(refused).toMatchObject({ code: ErrorCode.LAYOUT_INVALID });
      expect((refused as Error).message).toContain('the published set must hold at least one <scene>.yaml, but got none');
    }
  });
});
