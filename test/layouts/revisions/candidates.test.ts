import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/errors.ts';
import { candidatesRedisKey, pushCandidates, type CandidateSet } from '../../../src/layouts/revisions/candidates.ts';
import type { LayoutOperations } from '../../../src/layouts/revisions/releases.ts';
import { OperationRefused, type RevisionStore } from '../../../src/layouts/revisions/revision-store.ts';
import { openReleases } from '../../support/layout-releases.ts';
import { HAS_REDIS_SERVER, startPrivateRedis, type PrivateRedis } from '../../support/redis-server.ts';
import { REVISION_STORES } from '../../support/revision-stores.ts';
import { thrown } from '../../support/thrown.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const CART = readFileSync(join(ROOT, 'floors', 'cart-bottom-sheet.yaml'), 'utf8');
const CHECKOUT = readFileSync(join(ROOT, 'floors', 'checkout-summary.yaml'), 'utf8');
const set = (cartVersion: string, checkoutEdit: (s: string) => string = (s) => s) => ({
  'cart-bottom-sheet.yaml': CART.replace('version: "2026-11-21.1"', `version: "${cartVersion}"`),
  'checkout-summary.yaml': checkoutEdit(CHECKOUT),
});

describe.each(REVISION_STORES)('layout candidates on %s', (_name, skip, open) => {
  let store: RevisionStore;
  let alice: LayoutOperations;
  let close: () => Promise<void>;
  const announced: CandidateSet[] = [];
  let violations: number | undefined = 0;

  beforeAll(async () => {
    if (skip) return;
    const opened = await openReleases(open, {
      onCandidates: (s) => announced.push(s),
      shadow: () => (violations === undefined ? undefined : { compared: 10, invariantViolations: violations }),
    });
    ({ store, close } = opened);
    alice = opened.releases.as('alice');
  }, 120_000);

  afterAll(async () => {
    if (skip) return;
    await close();
  });

  it.skipIf(skip)('records a candidate as a revision that is not live, with its rollout, and announces a new generation', async () => {
    await alice.publish({ files: set('live-1'), message: 'baseline' });
    const result = await alice.candidate({ scene: 'cart-bottom-sheet', files: set('cand-1'), rollout: { allowList: ['u1001'] }, message: 'new sheet' });
    expect(result.revision).toMatchObject({ revision: 2, parent: 1, author: 'alice', message: 'new sheet' });
    expect(result.layoutVersion).toBe('cand-1+candidate.r2');
    expect(result.candidate.rollout).toEqual({ allowList: ['u1001'], percentage: 0, segments: [], platforms: [], minAppVersion: null });
    expect(result.replaced).toBeNull();
    expect((await alice.history({ limit: 5 })).live).toBe(1);
    const latest = announced.at(-1)!;
    expect(latest.generation).toBe(1);
    expect(latest.candidates.map((c) => [c.scene, c.revision, c.file])).toEqual([['cart-bottom-sheet', 2, 'cart-bottom-sheet.yaml']]);
    expect(latest.candidates[0]!.source).toContain('version: "cand-1"');
  });

  it.skipIf(skip)('changes only the rollout fields given, and audits who changed it from what to what', async () => {
    // A platform as an operator may spell it: kept lower-cased, as the x-app-platform header is compared.
    const changed = await alice.rollout({ scene: 'cart-bottom-sheet', percentage: 20, platforms: ['iOS'] });
    expect(changed.candidate.rollout).toEqual({ allowList: ['u1001'], percentage: 20, segments: [], platforms: ['ios'], minAppVersion: null });
    expect(announced.at(-1)!.generation).toBe(2);
    const [entry] = (await alice.audit({ limit: 1 })).entries;
    expect(entry).toMatchObject({ actor: 'alice', action: 'rollout', revision: 2, detail: { scene: 'cart-bottom-sheet', from: { percentage: 0 }, to: { percentage: 20, platforms: ['ios'] } } });
  });

  it.skipIf(skip)('refuses a candidate for a scene its floors do not define, and an unknown scene for the other operations', async () => {
    const invalid = await thrown(() => alice.candidate({ scene: 'nope', files: set('x') }));
    expect(invalid).toMatchObject({ code: ErrorCode.LAYOUT_INVALID });
    expect((invalid as Error).message).toContain('`scene` must be one the candidate\'s floors define ("cart-bottom-sheet", "checkout-summary"), but got: "nope"');
    const missing = await thrown(() => alice.promote({ scene: 'checkout-summary' }));
    expect(missing).toMatchObject({ code: ErrorCode.LAYOUT_CANDIDATE_NOT_FOUND });
    expect((missing as Error).message).toBe('scene must be one with a candidate ("cart-bottom-sheet"), but got: "checkout-summary"');
  });

  it.skipIf(skip)('refuses to promote while the shadow comparison counted invariant violations, and promotes with force, audited', async () => {
    violations = 3;
    const refused = await thrown(() => alice.promote({ scene: 'cart-bottom-sheet' }));
    expect(refused).toMatchObject({ code: ErrorCode.LAYOUT_PROMOTE_REFUSED });
    expect((refused as Error).message).toContain('but it has 3 invariant violation(s); nothing was changed');
    expect((await alice.history({ limit: 1 })).live).toBe(1);

    // Meanwhile live moved on for the other scene: promotion replaces only the candidate's scene.
    await alice.publish({ files: set('live-1', (s) => s.replace(/version: "[^"]+"/, 'version: "checkout-2"')), message: 'checkout change' });
    const promoted = await alice.promote({ scene: 'cart-bottom-sheet', force: true, author: 'dana' });
    expect(promoted.revision).toMatchObject({ revision: 4, parent: 3, promotes: 2, author: 'dana' });
    expect(promoted.forced).toBe(true);
    expect(promoted.scenes).toEqual([
      { scene: 'cart-bottom-sheet', version: 'cand-1' },
      { scene: 'checkout-summary', version: 'checkout-2' },
    ]);
    expect(announced.at(-1)!.candidates).toEqual([]);
    const [entry] = (await alice.audit({ limit: 1 })).entries;
    expect(entry).toMatchObject({ actor: 'alice', action: 'promote', revision: 4, detail: { scene: 'cart-bottom-sheet', promotes: 2, force: true, forced: true, invariantViolations: 3 } });
    violations = 0;
  });

  it.skipIf(skip)('refuses to promote a candidate over changes live made to its scene since it was cut, naming them, and replaces them with force', async () => {
    const live = (await alice.history({ limit: 1 })).live as number;
    const cut = await alice.candidate({ scene: 'cart-bottom-sheet', files: set('cand-2'), message: 'next sheet' });
    expect(cut.revision.parent).toBe(live);
    // An emergency fix to the same scene goes live meanwhile (a rollback would do the same).
    const hotfix = await alice.publish({ files: { ...set('cand-1'), 'cart-bottom-sheet.yaml': set('cand-1')['cart-bottom-sheet.yaml'].replace('zh-CN: 优惠券,', 'zh-CN: 优惠券抵扣,') }, message: 'hotfix coupon name' });
    const refused = await thrown(() => alice.promote({ scene: 'cart-bottom-sheet' }));
    expect(refused).toBeInstanceOf(OperationRefused);
    expect((refused as Error).message).toBe(
      `live changed cart-bottom-sheet since its candidate (revision ${cut.revision.revision}) was cut from revision ${live}, and promoting it would undo that: ` +
        'cart-bottom-sheet: floor coupon name[zh-CN]: "优惠券" → "优惠券抵扣" (live is revision ' +
        `${hotfix.revision.revision}). Publish the candidate again from the live floors, or promote with force to replace them`,
    );
    expect((await alice.history({ limit: 1 })).live).toBe(hotfix.revision.revision);
    const forced = await alice.promote({ scene: 'cart-bottom-sheet', force: true });
    expect(forced.scenes).toContainEqual({ scene: 'cart-bottom-sheet', version: 'cand-2' });
    const [entry] = (await alice.audit({ limit: 1 })).entries;
    expect(entry).toMatchObject({ action: 'promote', detail: { force: true, overtaken: ['cart-bottom-sheet: floor coupon name[zh-CN]: "优惠券" → "优惠券抵扣"'] } });
  });

  it.skipIf(skip)('names both refusals when the shadow saw invariant violations and live changed the scene since the cut, so force is not asked for one and also undoes the other', async () => {
    const live = (await alice.history({ limit: 1 })).live as number;
    const liveCart = (await alice.show({ revision: live })).revision.files['cart-bottom-sheet.yaml'] as string;
    const noGoods = liveCart.replace(/ {2}- code: spze\n(?: {4}.*\n)+\n/, '');
    const cut = await alice.candidate({ scene: 'cart-bottom-sheet', files: { ...set('cand-5'), 'cart-bottom-sheet.yaml': noGoods }, rollout: { allowList: ['u1001'] }, replaces: null });
    violations = 2;
    try {
      // A hotfix of another floor of the same scene goes live after the candidate was cut.
      const hotfix = await alice.publish({ files: { ...set('cand-5'), 'cart-bottom-sheet.yaml': liveCart.replace('zh-CN: PLUS会员返利,', 'zh-CN: PLUS返利,') }, message: 'hotfix plus-rebate name' });
      const change = 'cart-bottom-sheet: floor plus-rebate name[zh-CN]: "PLUS会员返利" → "PLUS返利"';
      const refused = await thrown(() => alice.promote({ scene: 'cart-bottom-sheet', revision: cut.revision.revision }));
      expect(refused).toMatchObject({ code: ErrorCode.LAYOUT_PROMOTE_REFUSED, overtaken: [change] });
      expect((refused as Error).message).toBe(
        `the candidate of cart-bottom-sheet (revision ${cut.revision.revision}) must have no money-invariant violations in its shadow comparison to be promoted, but it has 2 invariant violation(s), ` +
          `and live changed cart-bottom-sheet since it was cut from revision ${live}, which promoting it would undo: ${change} (live is revision ${hotfix.revision.revision}); ` +
          'nothing was changed (promote with force to override both, replacing those changes: --force, or "force": true; it is audited)',
      );
      expect((await alice.history({ limit: 1 })).live).toBe(hotfix.revision.revision);
      const forced = await alice.promote({ scene: 'cart-bottom-sheet', revision: cut.revision.revision, force: true });
      expect(forced).toMatchObject({ forced: true, invariantViolations: 2, overtaken: [change] });
    } finally {
      violations = 0;
    }
  });

  it.skipIf(skip)('refuses a rollout, promote or abort of a candidate revision that is no longer the candidate, and changes nothing', async () => {
    const reviewed = await alice.candidate({ scene: 'cart-bottom-sheet', files: set('cand-3'), rollout: { allowList: ['u1001'] }, message: 'reviewed' });
    const replaced = await alice.candidate({ scene: 'cart-bottom-sheet', files: set('cand-4'), rollout: { allowList: ['u-vip'], percentage: 100 }, message: 'not reviewed' });
    const stale = reviewed.revision.revision;
    const now = replaced.revision.revision;
    const refusal = (what: string) => `the candidate of cart-bottom-sheet is revision ${now} now, not ${stale}: review that one and ${what} again`;
    const live = (await alice.history({ limit: 1 })).live;
    for (const [what, operation] of [
      ['rollout', () => alice.rollout({ scene: 'cart-bottom-sheet', revision: stale, allowList: ['u1001', 'u2002'], percentage: 0 })],
      ['promote', () => alice.promote({ scene: 'cart-bottom-sheet', revision: stale })],
      ['abort', () => alice.abort({ scene: 'cart-bottom-sheet', revision: stale })],
    ] as const) {
      const refused = await thrown(operation);
      expect(refused, what).toBeInstanceOf(OperationRefused);
      expect((refused as Error).message, what).toBe(refusal(what));
    }
    const [candidate] = (await alice.candidates()).candidates;
    expect(candidate).toMatchObject({ revision: now, rollout: { allowList: ['u-vip'], percentage: 100 } });
    expect((await alice.history({ limit: 1 })).live).toBe(live);
    expect((await alice.abort({ scene: 'cart-bottom-sheet', revision: now })).candidate.revision).toBe(now);
  });

  it.skipIf(skip)('refuses a rollout change from a caller who saw another rollout, saying what changed, and audits the message of one it makes', async () => {
    const made = await alice.candidate({ scene: 'cart-bottom-sheet', revision: 1, rollout: { allowList: ['u1001'] } });
    const revision = made.revision.revision;
    const seen = made.candidate.rollout;
    try {
      // Another operator widens it while the caller's page still shows `seen`.
      await alice.rollout({ scene: 'cart-bottom-sheet', revision, percentage: 50, segments: ['plus'] });
      const [audited] = (await alice.audit({ limit: 1 })).entries;
      const refused = await thrown(() => alice.rollout({ scene: 'cart-bottom-sheet', revision, from: seen, allowList: ['u1001', 'u2002'] }));
      expect(refused).toBeInstanceOf(OperationRefused);
      expect((refused as Error).message).toBe('the rollout of the candidate of cart-bottom-sheet changed since it was read (percentage 0 → 50; segments [] → ["plus"]): review it, then change it again');
      const [candidate] = (await alice.candidates()).candidates;
      expect(candidate!.rollout).toEqual({ allowList: ['u1001'], percentage: 50, segments: ['plus'], platforms: [], minAppVersion: null });
      expect((await alice.audit({ limit: 1 })).entries).toEqual([audited]);

      // From the rollout as it is now (its lists in any order): only the allow-list changes, and the message is in the audit.
      const changed = await alice.rollout({ scene: 'cart-bottom-sheet', revision, from: { ...candidate!.rollout, allowList: ['u1001'] }, allowList: ['u1001', 'u2002'], message: 'the support account too' });
      expect(changed.candidate.rollout).toEqual({ allowList: ['u1001', 'u2002'], percentage: 50, segments: ['plus'], platforms: [], minAppVersion: null });
      const [entry] = (await alice.audit({ limit: 1 })).entries;
      expect(entry).toMatchObject({ action: 'rollout', revision, detail: { message: 'the support account too', from: { percentage: 50, allowList: ['u1001'] }, to: { percentage: 50, allowList: ['u1001', 'u2002'] } } });
    } finally {
      await alice.abort({ scene: 'cart-bottom-sheet' });
    }
  });

  it.skipIf(skip)('refuses to make a candidate over one the caller did not see, and records nothing', async () => {
    const newest = () => alice.history({ limit: 1 }).then((h) => h.revisions[0]!.revision);
    const meanwhile = await alice.candidate({ scene: 'cart-bottom-sheet', revision: 1, rollout: { allowList: ['u-vip'] }, message: 'made meanwhile' });
    try {
      const before = await newest();
      // The caller's confirmation said the scene had no candidate; or named another one.
      const none = await thrown(() => alice.candidate({ scene: 'cart-bottom-sheet', files: set('cand-6'), replaces: null, message: 'mine' }));
      expect(none).toBeInstanceOf(OperationRefused);
      expect((none as Error).message).toBe('scene cart-bottom-sheet has a candidate now (revision 1), which this one would replace: review it, then make the candidate again');
      const other = await thrown(() => alice.candidate({ scene: 'cart-bottom-sheet', files: set('cand-6'), replaces: 99, message: 'mine' }));
      expect((other as Error).message).toBe('the candidate of cart-bottom-sheet is revision 1 now, not 99: review that one, then make the candidate again');
      expect(await newest()).toBe(before);
      expect((await alice.candidates()).candidates).toMatchObject([{ revision: 1, rollout: { allowList: ['u-vip'] }, message: 'made meanwhile' }]);

      const mine = await alice.candidate({ scene: 'cart-bottom-sheet', files: set('cand-6'), replaces: meanwhile.revision.revision, message: 'mine, having read it' });
      expect(mine.replaced).toBe(1);
      await alice.abort({ scene: 'cart-bottom-sheet' });
      const gone = await thrown(() => alice.candidate({ scene: 'cart-bottom-sheet', revision: 1, replaces: mine.revision.revision }));
      expect((gone as Error).message).toBe(`scene cart-bottom-sheet has no candidate now (revision ${mine.revision.revision} was promoted or aborted since it was read): review what is live, then make the candidate again`);
    } finally {
      if ((await alice.candidates()).candidates.length > 0) await alice.abort({ scene: 'cart-bottom-sheet' });
    }
  });

  it.skipIf(skip)('says a candidate the caller saw is gone — aborted or promoted since, and by whom — rather than naming the scene as an input error', async () => {
    const aborted = (await alice.candidate({ scene: 'cart-bottom-sheet', revision: 1 })).revision.revision;
    await alice.abort({ scene: 'cart-bottom-sheet' });
    for (const [what, operation] of [
      ['change the rollout of', () => alice.rollout({ scene: 'cart-bottom-sheet', revision: aborted, percentage: 5 })],
      ['promote', () => alice.promote({ scene: 'cart-bottom-sheet', revision: aborted })],
      ['approve', () => alice.approve({ scene: 'cart-bottom-sheet', revision: aborted })],
      ['abort', () => alice.abort({ scene: 'cart-bottom-sheet', revision: aborted })],
    ] as const) {
      const refused = await thrown(operation);
      expect(refused, what).toBeInstanceOf(OperationRefused);
      expect((refused as Error).message, what).toBe(`the candidate of cart-bottom-sheet (revision ${aborted}) is gone: aborted by alice since it was read, so there is nothing to ${what}`);
    }
    const promoted = (await alice.candidate({ scene: 'cart-bottom-sheet', revision: 1 })).revision.revision;
    const live = await alice.promote({ scene: 'cart-bottom-sheet', force: true });
    expect(((await thrown(() => alice.abort({ scene: 'cart-bottom-sheet', revision: promoted }))) as Error).message).toBe(
      `the candidate of cart-bottom-sheet (revision ${promoted}) is gone: promoted by alice (live revision ${live.revision.revision}) since it was read, so there is nothing to abort`,
    );
    // Without a revision the caller saw, an unknown scene is still the caller's mistake (404).
    expect(await thrown(() => alice.abort({ scene: 'cart-bottom-sheet' }))).toMatchObject({ code: ErrorCode.LAYOUT_CANDIDATE_NOT_FOUND });
  });

  it.skipIf(skip)('publishes an existing revision as a candidate, and aborts it', async () => {
    const result = await alice.candidate({ scene: 'cart-bottom-sheet', revision: 1, rollout: { percentage: 5 } });
    expect(result.revision.revision).toBe(1);
    expect(result.layoutVersion).toBe('live-1+candidate.r1');
    const aborted = await alice.abort({ scene: 'cart-bottom-sheet', message: 'not now' });
    expect(aborted.candidate.revision).toBe(1);
    expect((await alice.candidates()).candidates).toEqual([]);
    const [entry] = (await alice.audit({ limit: 1 })).entries;
    expect(entry).toMatchObject({ actor: 'alice', action: 'abort', revision: 1, detail: { scene: 'cart-bottom-sheet', message: 'not now' } });
    expect((await thrown(() => alice.abort({ scene: 'cart-bottom-sheet' })))).toMatchObject({ code: ErrorCode.LAYOUT_CANDIDATE_NOT_FOUND });
  });

  it.skipIf(skip)("keeps live's other scenes in a candidate staged from a folder holding only its scene, so a rollback to it takes none off the air", async () => {
    const live = await alice.publish({ files: set('live-2', (s) => s.replace('version: "2026-11-21.1"', 'version: "checkout-live-2"')), message: 'both scenes' });
    const staged = await alice.candidate({ scene: 'cart-bottom-sheet', files: { 'cart-bottom-sheet.yaml': set('cand-only')['cart-bottom-sheet.yaml'] }, message: 'only the sheet' });
    const { files } = (await alice.show({ revision: staged.revision.revision })).revision;
    expect(Object.keys(files).sort()).toEqual(['cart-bottom-sheet.yaml', 'checkout-summary.yaml']);
    expect(files['cart-bottom-sheet.yaml']).toContain('version: "cand-only"');
    expect(files['checkout-summary.yaml']).toContain('version: "checkout-live-2"');
    await alice.abort({ scene: 'cart-bottom-sheet' });
    const rolledBack = await alice.rollback({ revision: staged.revision.revision, from: live.revision.revision });
    expect(rolledBack.scenes.map((s) => s.scene).sort()).toEqual(['cart-bottom-sheet', 'checkout-summary']);
    expect(rolledBack.removedScenes).toEqual([]);
    expect(await alice.diff({ to: staged.revision.revision, rollback: true })).toMatchObject({ keptFromLive: [] });
  });

  it.skipIf(skip)('completes a one-scene candidate revision an earlier release recorded, when rolled back to, from the live set', async () => {
    const live = await alice.publish({ files: set('live-5'), message: 'both scenes' });
    // As a release before whole-set candidates stored a folder holding only the candidate's scene.
    const { revision } = await store.publishCandidate({
      scene: 'cart-bottom-sheet',
      source: { files: { 'cart-bottom-sheet.yaml': set('old-partial')['cart-bottom-sheet.yaml'] } },
      rollout: { allowList: [], percentage: 0, segments: [], platforms: [], minAppVersion: null },
      author: 'alice',
      actor: 'alice',
      message: 'staged by the release before',
    });
    await alice.abort({ scene: 'cart-bottom-sheet' });
    // What the console's confirmation shows first: the set the rollback will make live, not the stored one.
    expect((await alice.diff({ from: live.revision.revision, to: revision.revision })).diff.scenes).toContainEqual(expect.objectContaining({ scene: 'checkout-summary', status: 'removed' }));
    const preview = await alice.diff({ to: revision.revision, rollback: true });
    expect(preview).toMatchObject({ from: live.revision.revision, to: revision.revision, keptFromLive: ['checkout-summary'] });
    expect(preview.diff.scenes.map((s) => [s.scene, s.status])).toEqual([['cart-bottom-sheet', 'changed']]);
    const rolledBack = await alice.rollback({ revision: revision.revision, from: live.revision.revision });
    expect(rolledBack.scenes.map((s) => s.scene).sort()).toEqual(['cart-bottom-sheet', 'checkout-summary']);
    expect(rolledBack.removedScenes).toEqual([]);
    const { files } = (await alice.show({ revision: rolledBack.revision.revision })).revision;
    expect(files['cart-bottom-sheet.yaml']).toContain('version: "old-partial"');
    expect(files['checkout-summary.yaml']).toBe(set('live-5')['checkout-summary.yaml']);
  });

  it.skipIf(skip)('says which scenes a publish or rollback takes off the air', async () => {
    const both = await alice.publish({ files: set('live-3'), message: 'both scenes' });
    const one = await alice.publish({ files: { 'cart-bottom-sheet.yaml': set('live-4')['cart-bottom-sheet.yaml'] }, message: 'checkout retired' });
    expect(one.removedScenes).toEqual(['checkout-summary']);
    expect((await alice.rollback({ revision: both.revision.revision })).removedScenes).toEqual([]);
  });
});

/**
 * Two operators change candidates at once: the later change's push (its set holds the earlier
 * change too) lands in Redis first, and Redis refuses the earlier, older generation. That earlier
 * change did reach the replicas, and its answer must not say otherwise.
 */
describe.skipIf(!HAS_REDIS_SERVER)('announcing candidates through Redis while another change of the same store pushes first', () => {
  const [, , open] = REVISION_STORES[0]!;
  let redis: PrivateRedis;
  let client: Redis;
  let close: (() => Promise<void>) | undefined;
  /** Run inside the next push, before it reaches Redis; then cleared. */
  let beforeNextPush: (() => Promise<unknown>) | undefined;
  let alice: LayoutOperations;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    client = new Redis(redis.url);
    const opened = await openReleases(open, {
      pushCandidates: async (s) => {
        const interleaved = beforeNextPush;
        beforeNextPush = undefined;
        await interleaved?.();
        return pushCandidates(client, 'race:', s);
      },
    });
    close = opened.close;
    alice = opened.releases.as('alice');
    await alice.publish({ files: set('live-1'), message: 'baseline' });
  }, 120_000);

  afterAll(async () => {
    await close?.();
    client?.disconnect();
    await redis?.stop();
  });

  it('answers pushed: true when the newer generation Redis holds is this store\'s, which holds the change', async () => {
    let later: Awaited<ReturnType<LayoutOperations['rollout']>> | undefined;
    beforeNextPush = async () => (later = await alice.rollout({ scene: 'cart-bottom-sheet', percentage: 10 }));
    const first = await alice.candidate({ scene: 'cart-bottom-sheet', revision: 1, rollout: { allowList: ['u1001'] } });
    expect(later).toMatchObject({ pushed: true });
    expect(first.pushProblem).toBeUndefined();
    expect(first.pushed).toBe(true);
    const held = JSON.parse((await client.get(candidatesRedisKey('race:'))) as string) as CandidateSet;
    expect(held.generation).toBe(2);
    expect(held.candidates.map((c) => [c.scene, c.rollout.allowList, c.rollout.percentage])).toEqual([['cart-bottom-sheet', ['u1001'], 10]]);
  });
});
