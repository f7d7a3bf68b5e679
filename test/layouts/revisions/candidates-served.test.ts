/**
 * A publish, rollback or promote answers `candidatesServed`: the candidates whose users keep them
 * instead of the floors just made live. It must be what the store held when that change took
 * effect — read in its transaction — not what it holds a moment later: a candidate another
 * operator aborts (or starts) right after the commit would otherwise make the answer say "no
 * candidate serves users" while one did (or the reverse). The other operator's change is
 * interleaved deterministically, by a store whose write operations run it once they have
 * committed, before the releases read anything more.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LayoutOperations } from '../../../src/layouts/revisions/releases.ts';
import type { RevisionStore } from '../../../src/layouts/revisions/revision-store.ts';
import { openReleases, releasesOn } from '../../support/layout-releases.ts';
import { REVISION_STORES } from '../../support/revision-stores.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const CART = readFileSync(join(ROOT, 'floors', 'cart-bottom-sheet.yaml'), 'utf8');
const CHECKOUT = readFileSync(join(ROOT, 'floors', 'checkout-summary.yaml'), 'utf8');
const set = (cartVersion: string) => ({
  'cart-bottom-sheet.yaml': CART.replace('version: "2026-11-21.1"', `version: "${cartVersion}"`),
  'checkout-summary.yaml': CHECKOUT,
});
const U1001 = { allowList: ['u1001'], percentage: 0, segments: [], platforms: [], minAppVersion: null };

/** The store operations that change live: each runs the test's `afterCommit` once it has committed, before it returns. */
const CHANGES_OF_LIVE = new Set<PropertyKey>(['record', 'promote']);

describe.each(REVISION_STORES)('the candidates a change of live says are still served, on %s', (_name, skip, open) => {
  let store: RevisionStore;
  let close: () => Promise<void>;
  let alice: LayoutOperations;
  let bob: LayoutOperations;
  /** Bob's change, made once alice's has committed and before her answer is read; run once. */
  let afterCommit: (() => Promise<unknown>) | undefined;

  beforeAll(async () => {
    if (skip) return;
    const opened = await openReleases(open);
    ({ store, close } = opened);
    bob = opened.releases.as('bob');
    // Alice's releases go through a store that lets bob in right after each of her changes of live commits.
    const interleaving = new Proxy(store, {
      get(target, property) {
        const value = Reflect.get(target, property, target) as unknown;
        if (typeof value !== 'function') return value;
        if (!CHANGES_OF_LIVE.has(property)) return value.bind(target);
        return async (...args: unknown[]) => {
          const result: unknown = await value.apply(target, args);
          const change = afterCommit;
          afterCommit = undefined;
          await change?.();
          return result;
        };
      },
    });
    // A shadow comparison without violations, as a replica's would be: promote judges the candidate by it.
    alice = releasesOn(interleaving, { shadow: () => ({ compared: 10, invariantViolations: 0 }) }).as('alice');
    await alice.publish({ files: set('live-1'), message: 'baseline' });
  }, 120_000);

  afterAll(async () => {
    if (skip) return;
    await close();
  });

  it.skipIf(skip)('names a candidate that served users when the publish went live, though another operator aborts it right after', async () => {
    const { revision } = (await bob.candidate({ scene: 'cart-bottom-sheet', files: set('cand-1'), rollout: { allowList: ['u1001'] } })).candidate;
    afterCommit = () => bob.abort({ scene: 'cart-bottom-sheet', revision });
    const published = await alice.publish({ files: set('live-2'), message: 'while a candidate serves u1001' });
    expect(afterCommit).toBeUndefined();
    expect(published.candidatesServed).toEqual([{ scene: 'cart-bottom-sheet', revision, rollout: U1001 }]);
    expect((await bob.candidates()).candidates).toEqual([]);
  });

  it.skipIf(skip)('names no candidate when none served users as the rollback went live, though another operator starts one right after', async () => {
    afterCommit = () => bob.candidate({ scene: 'cart-bottom-sheet', files: set('cand-2'), rollout: { allowList: ['u1001'] } });
    const rolledBack = await alice.rollback({ revision: 1, message: 'back to the baseline' });
    expect(afterCommit).toBeUndefined();
    expect(rolledBack.candidatesServed).toEqual([]);
    expect((await bob.candidates()).candidates.map((c) => c.scene)).toEqual(['cart-bottom-sheet']);
    await bob.abort({ scene: 'cart-bottom-sheet' });
  });

  it.skipIf(skip)('names the other scene’s candidate that served users when the promote went live, though another operator aborts it right after', async () => {
    await bob.candidate({ scene: 'cart-bottom-sheet', files: set('cand-3'), rollout: { allowList: ['u1001'] } });
    const checkout = (await bob.candidate({ scene: 'checkout-summary', revision: 1, rollout: { allowList: ['u1001'] } })).candidate;
    afterCommit = () => bob.abort({ scene: 'checkout-summary', revision: checkout.revision });
    const promoted = await alice.promote({ scene: 'cart-bottom-sheet' });
    expect(afterCommit).toBeUndefined();
    expect(promoted.candidatesServed).toEqual([{ scene: 'checkout-summary', revision: checkout.revision, rollout: U1001 }]);
    expect((await bob.candidates()).candidates).toEqual([]);
  });
});
