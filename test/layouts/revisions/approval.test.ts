/**
 * Four eyes on money (issue 15 item 6), on PGlite and PostgreSQL: with layouts.approval.required,
 * a change to a DEDUCTION, CHARGE or PAYABLE floor goes live only as a candidate that an admin
 * other than its publisher approved; other changes, and going back to what was live, need none.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadServiceConfig } from '../../../src/config/service-config.ts';
import { ErrorCode } from '../../../src/errors.ts';
import type { CandidateSet } from '../../../src/layouts/revisions/candidates.ts';
import { LayoutReleases, type LayoutOperations } from '../../../src/layouts/revisions/releases.ts';
import { OperationRefused } from '../../../src/layouts/revisions/revision-store.ts';
import { openReleases, type OpenedReleases } from '../../support/layout-releases.ts';
import { REVISION_STORES } from '../../support/revision-stores.ts';
import { thrown } from '../../support/thrown.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const config = loadServiceConfig({ dir: join(ROOT, 'config'), env: { LAYOUT_APPROVAL_REQUIRED: 'true' } });
const CART = readFileSync(join(ROOT, 'floors', 'cart-bottom-sheet.yaml'), 'utf8');
const CHECKOUT = readFileSync(join(ROOT, 'floors', 'checkout-summary.yaml'), 'utf8');
const SCENE = 'cart-bottom-sheet';

/** The shipped floors with the cart sheet edited. */
const set = (edit: (cart: string) => string = (s) => s) => ({ 'cart-bottom-sheet.yaml': edit(CART), 'checkout-summary.yaml': CHECKOUT });
/** A money edit: the 满减 (DEDUCTION) row's English name. */
const renameMj = (cart: string) => cart.replace('name: { zh-CN: 满减, en: Spend & save }', 'name: { zh-CN: 满减, en: "Spend more, save more" }');
/** Not money: the PLUS rebate (INFO) row's English sub-name. */
const rewordRebate = (cart: string) => cart.replace('en: "{amount} back after delivery"', 'en: "{amount} back once delivered"');

describe('layout approval is off by default', () => {
  it('has layouts.approval.required false, with GOODS, DEDUCTION, CHARGE and PAYABLE as the money kinds', () => {
    const defaults = loadServiceConfig({ dir: join(ROOT, 'config'), env: {} });
    expect(defaults.layouts.approval).toEqual({ required: false, kinds: ['GOODS', 'DEDUCTION', 'CHARGE', 'PAYABLE'] });
  });
});

describe.each(REVISION_STORES)('layout approval on %s', (_name, skip, open) => {
  let opened: OpenedReleases;
  let alice: LayoutOperations;
  let bob: LayoutOperations;
  let releases: LayoutReleases;
  /** Each candidate set announced to the replicas, oldest first. */
  const announced: CandidateSet[] = [];

  beforeAll(async () => {
    if (skip) return;
    opened = await openReleases(open, { approval: config.layouts.approval, shadow: () => ({ compared: 1, invariantViolations: 0 }), onCandidates: (set) => announced.push(set) });
    releases = opened.releases;
    alice = releases.as('alice');
    bob = releases.as('bob');
    // The first publish has nothing to compare with: it is how a store starts.
    await alice.publish({ files: set(), message: 'baseline' });
  }, 120_000);

  afterAll(async () => {
    if (skip) return;
    await opened.close();
  });

  it.skipIf(skip)('refuses to publish a change to a money floor straight to live, naming the floor and its kind', async () => {
    const refused = await thrown(() => alice.publish({ files: set(renameMj), message: 'rename mj' }));
    expect(refused).toMatchObject({ code: ErrorCode.LAYOUT_APPROVAL_REQUIRED });
    expect((refused as Error).message).toBe(
      'this publish changes money floors (cart-bottom-sheet mj (DEDUCTION, changed)), so it must be published as a candidate (floors:candidate), approved by another admin (floors:approve) and promoted first, but a publish goes live at once; nothing was changed',
    );
    expect((await alice.history({ limit: 1 })).live).toBe(1);
  });

  it.skipIf(skip)('refuses to publish a money floor turned into another kind (a DEDUCTION made INFO) straight to live', async () => {
    const toInfo = (cart: string) => cart.replace("  - code: new-customer\n    kind: DEDUCTION", "  - code: new-customer\n    kind: INFO");
    expect(toInfo(CART)).not.toBe(CART);
    const refused = await thrown(() => alice.publish({ files: set(toInfo), message: 'new-customer as information' }));
    expect(refused).toMatchObject({ code: ErrorCode.LAYOUT_APPROVAL_REQUIRED });
    expect((refused as Error).message).toContain('changes money floors (cart-bottom-sheet new-customer (DEDUCTION, changed))');
    expect((await alice.history({ limit: 1 })).live).toBe(1);
  });

  it.skipIf(skip)('publishes a change to other floors at once', async () => {
    const published = await alice.publish({ files: set(rewordRebate), message: 'reword rebate' });
    expect(published.revision.revision).toBe(2);
    expect((await alice.history({ limit: 1 })).live).toBe(2);
  });

  it.skipIf(skip)('says a money candidate needs approval, refuses its publisher as approver, and promotes once another admin approved it', async () => {
    const candidate = await alice.candidate({ scene: SCENE, files: set((s) => renameMj(rewordRebate(s))), message: 'rename mj' });
    expect(candidate.approval).toEqual({ required: true, changes: [{ scene: SCENE, code: 'mj', kind: 'DEDUCTION', change: 'changed' }] });
    expect(candidate.candidate).toMatchObject({ publishedBy: 'alice', approvedBy: null });

    const unapproved = await thrown(() => alice.promote({ scene: SCENE }));
    expect(unapproved).toMatchObject({ code: ErrorCode.LAYOUT_APPROVAL_REQUIRED });
    expect((unapproved as Error).message).toContain(`the candidate of ${SCENE} (revision ${candidate.revision.revision}) changes money floors (cart-bottom-sheet mj (DEDUCTION, changed))`);
    expect((unapproved as Error).message).toContain('approved by an admin other than alice');

    const self = await thrown(() => alice.approve({ scene: SCENE }));
    expect(self).toBeInstanceOf(OperationRefused);
    expect((self as Error).message).toBe(`alice published the candidate of ${SCENE} (revision ${candidate.revision.revision}): another admin must approve it`);
    // Naming someone else as author does not make the publisher a second pair of eyes either.
    const byProxy = await alice.candidate({ scene: SCENE, revision: candidate.revision.revision, author: 'carol' });
    expect(await thrown(() => alice.approve({ scene: SCENE }))).toBeInstanceOf(OperationRefused);
    expect(byProxy.candidate.publishedBy).toBe('alice');

    const approved = await bob.approve({ scene: SCENE, revision: candidate.revision.revision, message: 'checked the copy' });
    expect(approved.candidate).toMatchObject({ approvedBy: 'bob', publishedBy: 'alice' });
    expect(approved.approval.changes.map((c) => c.code)).toEqual(['mj']);
    const [audited] = (await alice.audit({ limit: 1 })).entries;
    expect(audited).toMatchObject({ actor: 'bob', action: 'approve', revision: candidate.revision.revision, detail: { scene: SCENE, message: 'checked the copy', publishedBy: 'alice', moneyFloors: ['cart-bottom-sheet mj (DEDUCTION, changed)'] } });

    // The publisher may promote once someone else approved.
    const promoted = await alice.promote({ scene: SCENE });
    expect(promoted).toMatchObject({ promotes: candidate.revision.revision, approvedBy: 'bob' });
    expect((await alice.audit({ limit: 1 })).entries[0]).toMatchObject({ actor: 'alice', action: 'promote', detail: { approvedBy: 'bob', promotes: candidate.revision.revision } });
    expect((await alice.history({ limit: 1 })).live).toBe(promoted.revision.revision);
  });

  it.skipIf(skip)('asks for approval again when the scene gets another candidate revision, and refuses an approval of a revision that is no longer the candidate', async () => {
    const first = await alice.candidate({ scene: SCENE, files: set((s) => renameMj(rewordRebate(s)).replace('sort: 50', 'sort: 95')), message: 'shipping last' });
    // Moving one floor to the end names that floor, not every floor it passed.
    expect(first.approval.changes).toEqual([{ scene: SCENE, code: 'shipping', kind: 'CHARGE', change: 'moved' }]);
    await bob.approve({ scene: SCENE });
    const second = await alice.candidate({ scene: SCENE, files: set((s) => renameMj(rewordRebate(s)).replace('sort: 50', 'sort: 96')), message: 'shipping last, again' });
    expect(second.candidate.approvedBy).toBeNull();
    expect(await thrown(() => alice.promote({ scene: SCENE }))).toMatchObject({ code: ErrorCode.LAYOUT_APPROVAL_REQUIRED });
    const stale = await thrown(() => bob.approve({ scene: SCENE, revision: first.revision.revision }));
    expect((stale as Error).message).toBe(`the candidate of ${SCENE} is revision ${second.revision.revision} now, not ${first.revision.revision}: review that one and approve it`);
    await alice.abort({ scene: SCENE });
  });

  it.skipIf(skip)('refuses the author of a revision as its approver after another admin staged it again', async () => {
    const written = await alice.candidate({ scene: SCENE, files: set((s) => renameMj(rewordRebate(s)).replace('sort: 50', 'sort: 97')), message: 'shipping last' });
    // Staged again by bob, as after an abort: bob is now its publisher and, by default, its author.
    const restaged = await bob.candidate({ scene: SCENE, revision: written.revision.revision });
    expect(restaged.candidate).toMatchObject({ publishedBy: 'bob', author: 'bob', revision: written.revision.revision });
    const self = await thrown(() => alice.approve({ scene: SCENE }));
    expect(self).toBeInstanceOf(OperationRefused);
    expect((self as Error).message).toBe(
      `alice wrote or staged revision ${written.revision.revision}, the candidate of ${SCENE} (published now by bob): another admin must approve it`,
    );
    expect(await thrown(() => alice.promote({ scene: SCENE }))).toMatchObject({ code: ErrorCode.LAYOUT_APPROVAL_REQUIRED });
    // Nor may bob, who staged it, approve it; a third admin may.
    expect(await thrown(() => bob.approve({ scene: SCENE }))).toBeInstanceOf(OperationRefused);
    const carol = releases.as('carol');
    expect((await carol.approve({ scene: SCENE })).candidate).toMatchObject({ approvedBy: 'carol' });
    await alice.abort({ scene: SCENE });
  });

  it.skipIf(skip)('promotes a candidate that changes no money floor without approval', async () => {
    const candidate = await alice.candidate({ scene: SCENE, files: set((s) => renameMj(s)), message: 'rebate wording back' });
    expect(candidate.approval).toEqual({ required: true, changes: [] });
    const promoted = await alice.promote({ scene: SCENE });
    expect(promoted.approvedBy).toBeNull();
  });

  it.skipIf(skip)('rolls back to a revision that was live without approval, but not to an unapproved candidate revision with money changes', async () => {
    const back = await alice.rollback({ revision: 1 });
    expect(back.revision.rollbackOf).toBe(1);
    const candidate = await alice.candidate({ scene: SCENE, files: set((s) => s.replace("code: shipping\n    builder: shipping\n    name: { zh-CN: 运费, en: Shipping }", "code: shipping\n    builder: shipping\n    name: { zh-CN: 运费, en: Delivery }")) });
    await alice.abort({ scene: SCENE });
    const refused = await thrown(() => alice.rollback({ revision: candidate.revision.revision }));
    expect(refused).toMatchObject({ code: ErrorCode.LAYOUT_APPROVAL_REQUIRED });
    expect((refused as Error).message).toContain(`rollback to revision ${candidate.revision.revision} changes money floors (cart-bottom-sheet shipping (CHARGE, changed))`);
    expect((refused as Error).message).toContain(`but revision ${candidate.revision.revision} was never live`);
  });

  /** What the refusals below add after "(floors:approve -- <scene>) first, but". */
  const UNTIL = 'until it is approved it may reach its allow-list only; nothing was changed';

  it.skipIf(skip)('refuses to stage a money candidate for more than its allow-list (a percentage, or segments), storing nothing; its allow-list alone, or a change of no money floor, may be staged for anyone', async () => {
    const [newest] = (await alice.history({ limit: 1 })).revisions;
    for (const [rollout, whom] of [
      [{ allowList: ['u1001'], percentage: 100 }, 'allow-list [u1001], then 100 % by user id'],
      [{ allowList: ['u1001'], segments: ['plus'] }, 'allow-list [u1001], then 0 % by user id (only segments plus)'],
    ] as const) {
      const refused = await thrown(() => alice.candidate({ scene: SCENE, files: set(renameMj), rollout, message: 'rename mj for everyone' }));
      expect(refused).toMatchObject({ code: ErrorCode.LAYOUT_APPROVAL_REQUIRED });
      expect((refused as Error).message).toBe(
        `this candidate of ${SCENE} changes money floors (${SCENE} mj (DEDUCTION, changed)), so it must be approved by an admin other than alice (floors:approve -- ${SCENE}) first, but its rollout reaches beyond its allow-list (${whom}): ${UNTIL}`,
      );
    }
    expect((await alice.candidates()).candidates).toEqual([]);
    expect((await alice.history({ limit: 1 })).revisions[0]).toEqual(newest);

    const testers = await alice.candidate({ scene: SCENE, files: set(renameMj), rollout: { allowList: ['u1001'] }, message: 'rename mj for testers' });
    expect(testers.candidate.rollout).toMatchObject({ allowList: ['u1001'], percentage: 0 });
    const wording = await alice.candidate({ scene: SCENE, files: set(rewordRebate), rollout: { percentage: 100, segments: ['plus'] }, replaces: testers.revision.revision });
    expect(wording.candidate.rollout).toMatchObject({ percentage: 100, segments: ['plus'] });
    await alice.abort({ scene: SCENE });
  });

  it.skipIf(skip)('refuses to widen an unapproved money candidate beyond its allow-list, changes its allow-list, and widens it once another admin approved it', async () => {
    const staged = await alice.candidate({ scene: SCENE, files: set(renameMj), rollout: { allowList: ['u1001'] }, message: 'rename mj' });
    const revision = staged.revision.revision;
    for (const [change, whom] of [
      [{ percentage: 100 }, 'allow-list [u1001], then 100 % by user id'],
      [{ segments: ['plus'] }, 'allow-list [u1001], then 0 % by user id (only segments plus)'],
    ] as const) {
      const refused = await thrown(() => alice.rollout({ scene: SCENE, ...change }));
      expect(refused).toMatchObject({ code: ErrorCode.LAYOUT_APPROVAL_REQUIRED });
      expect((refused as Error).message).toBe(
        `the candidate of ${SCENE} (revision ${revision}) changes money floors (${SCENE} mj (DEDUCTION, changed)), so it must be approved by an admin other than alice (floors:approve -- ${SCENE}) first, but this rollout would reach beyond its allow-list (${whom}): ${UNTIL}`,
      );
    }
    // Another admin may not widen it either: only an approval does.
    expect(await thrown(() => bob.rollout({ scene: SCENE, percentage: 5 }))).toMatchObject({ code: ErrorCode.LAYOUT_APPROVAL_REQUIRED });
    expect((await alice.candidates()).candidates[0]!.rollout).toMatchObject({ allowList: ['u1001'], percentage: 0, segments: [] });

    expect((await alice.rollout({ scene: SCENE, allowList: ['u1001', 'u2002'] })).candidate.rollout.allowList).toEqual(['u1001', 'u2002']);
    await bob.approve({ scene: SCENE, revision });
    expect((await alice.rollout({ scene: SCENE, percentage: 100 })).candidate.rollout.percentage).toBe(100);
    await alice.abort({ scene: SCENE });
  });

  it.skipIf(skip)('lets a money candidate widened before approval was required be narrowed, not widened, and announces it as pending approval until another admin approves it', async () => {
    const staged = await alice.candidate({ scene: SCENE, files: set(renameMj), rollout: { allowList: ['u1001'] }, message: 'rename mj' });
    // As a store written before layouts.approval.required was switched on holds it: straight in the store, past the releases' check.
    await opened.store.changeRollout({ scene: SCENE, actor: 'alice', rollout: (current) => ({ ...current, percentage: 50, segments: ['plus'] }) });

    // Raising the percentage, or dropping the only segment it is limited to, reaches more users.
    expect(await thrown(() => alice.rollout({ scene: SCENE, percentage: 60 }))).toMatchObject({ code: ErrorCode.LAYOUT_APPROVAL_REQUIRED });
    expect(await thrown(() => alice.rollout({ scene: SCENE, segments: [] }))).toMatchObject({ code: ErrorCode.LAYOUT_APPROVAL_REQUIRED });
    const listed = await alice.rollout({ scene: SCENE, allowList: ['u1001', 'u2002'] });
    expect(listed.candidate.rollout).toMatchObject({ allowList: ['u1001', 'u2002'], percentage: 50, segments: ['plus'] });
    expect(announced.at(-1)!.candidates).toMatchObject([{ scene: SCENE, revision: staged.revision.revision, approvalPending: true, rollout: { percentage: 50 } }]);
    expect((await alice.rollout({ scene: SCENE, percentage: 0 })).candidate.rollout).toMatchObject({ percentage: 0, segments: ['plus'] });

    const pending = announced.at(-1)!;
    await bob.approve({ scene: SCENE });
    const approved = announced.at(-1)!;
    expect(approved.generation).toBeGreaterThan(pending.generation);
    expect(approved.candidates).toMatchObject([{ scene: SCENE, approvedBy: 'bob', approvalPending: false }]);
    await alice.abort({ scene: SCENE });
  });
});
