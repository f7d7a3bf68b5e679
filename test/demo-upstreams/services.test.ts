/**
 * The demo services on their own, for every registered upstream (the registry's list, so an
 * upstream added since is held to the same): each answers in the currency it is asked for, so
 * tests that fake some upstreams in a generated currency can leave the others to it
 * (test/support/upstream-fakes.ts).
 */
import { describe, expect, it } from 'vitest';
import { DEMO_CURRENCY, FIXTURE_USER_IDS } from '../../src/demo-upstreams/data.ts';
import { MissingAnswer, type AnyUpstreamDefinition, type UpstreamSelection } from '../../src/upstreams/definition.ts';
import { upstreamDefinition, UPSTREAMS } from '../../src/upstreams/registry.ts';
import { demoAnswer } from '../support/upstream-fakes.ts';

/** Every currency `value` names, at any depth: each amount's, and a cart's or a quote's own. */
function currenciesIn(value: unknown): string[] {
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, item]) => (key === 'currency' && typeof item === 'string' ? [item] : currenciesIn(item)));
}

describe('the demo services', () => {
  it.each(UPSTREAMS)('%s answers each fixture user in the currency it is asked for, and the answer passes its cross-checks in it', (name) => {
    const definition: AnyUpstreamDefinition = upstreamDefinition(name);
    for (const currency of [DEMO_CURRENCY, 'JPY', 'KWD']) {
      for (const userId of FIXTURE_USER_IDS) {
        const cart = demoAnswer('cart', userId, currency);
        const lines = cart.lines.filter((line) => line.selected).map(({ skuId, quantity }) => ({ skuId, quantity }));
        const selection: UpstreamSelection = { lines: lines.sort((a, b) => a.skuId.localeCompare(b.skuId)), currency: cart.currency };
        const viewerOnly = definition.keyedBy === 'viewer';
        const answer = demoAnswer(name, definition.toRequest(userId, viewerOnly ? [] : [selection]), currency);
        expect(currenciesIn(answer).filter((named) => named !== currency), `${name} for ${userId}, asked for ${currency}`).toEqual([]);
        for (const result of definition.toResults(answer, [selection])) {
          expect(result).not.toBeInstanceOf(MissingAnswer);
          expect(definition.check?.(result, viewerOnly ? undefined : selection), `${name} for ${userId}, asked for ${currency}`).toBeUndefined();
        }
      }
    }
  });
});
