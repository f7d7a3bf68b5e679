/**
 * The FloorBuilder contract, checked once for every shipped builder (the registry's list,
 * `defaultBuilders`), so a new builder is held to it without copying tests: it reads only the
 * upstreams it declares; when one its amount needs fails, it rejects with that very failure (the
 * renderer drops the row, or falls back); when one it does not need fails, it still builds; an
 * upstream only its decoration needs fails only the decoration; what it answers over the fixtures
 * is a row its kind may show (whole minor units, the kind's sign). Each builder's own file tests
 * what its row shows.
 */
import { describe, expect, it } from 'vitest';
import { AMOUNT_SIGN, amountSignRule, type UpstreamName } from '../../../src/floors/builder.ts';
import type { Money } from '../../../src/money/money.ts';
import { defaultBuilders } from '../../../src/floors/builders/index.ts';
import { UPSTREAMS } from '../../../src/upstreams/registry.ts';
import { UpstreamError } from '../../../src/upstreams/upstream-error.ts';
import { buildContext, fakePanelData, GET_ONLY_UPSTREAMS, quoteFixture, upstreamsRead, type GetOnly, type PanelDataOverrides } from './fixtures.ts';
import { caughtFrom } from '../../support/thrown.ts';

/** Every upstream read only through `get()` (loyalty, and any added since) failing with `failure`. */
const everyGetOnly = (failure: Error): PanelDataOverrides => Object.fromEntries(GET_ONLY_UPSTREAMS.map((u) => [u, failure]));

/**
 * What fails with an upstream, as the loaders make it fail: every selection resolves against
 * the cart, so a cart failure fails everything read for the selection too. An upstream read
 * only through `get()` fails alone.
 */
const FAILING: { readonly [N in Exclude<UpstreamName, GetOnly>]: (failure: Error) => PanelDataOverrides } = {
  cart: (failure) => ({ cart: failure, selectedLines: failure, promotion: failure, quote: failure, ...everyGetOnly(failure) }),
  promotion: (failure) => ({ promotion: failure }),
  settlement: (failure) => ({ quote: failure }),
};
const failing = (upstream: UpstreamName, failure: Error): PanelDataOverrides =>
  upstream in FAILING ? FAILING[upstream as keyof typeof FAILING](failure) : { [upstream]: failure };

const failureOf = (upstream: UpstreamName) => new UpstreamError(upstream, 'timeout', `${upstream} did not answer`);

describe.each(defaultBuilders.map((builder) => [builder.name, builder] as const))('the %s builder keeps the FloorBuilder contract', (_name, builder) => {
  it('declares every upstream it reads among its needs (its decoration’s among the decoration’s)', async () => {
    const { data, calls } = fakePanelData();
    await builder.build(buildContext(data));
    for (const upstream of upstreamsRead(calls)) expect(builder.needs).toContain(upstream);
    if (builder.decorations !== undefined) {
      const decorated = fakePanelData();
      await builder.decorations.decorate(buildContext(decorated.data));
      const declared = [...builder.needs, ...builder.decorations.needs];
      for (const upstream of upstreamsRead(decorated.calls)) expect(declared).toContain(upstream);
    }
  });

  it('answers null, or an amount its kind may show: whole minor units of the panel\'s currency, of its kind\'s sign', () => {
    // The renderer drops a row that breaks this (BUILDER_FAILED) at a shopper's request; here it
    // fails before the builder ships (a rate applied without rounding, a discount not negated).
    const { data } = fakePanelData();
    const facts = builder.build(buildContext(data));
    if (facts === null) return;
    expect(facts, 'build() must return null (no row) or its facts ({amount, vars})').toBeTypeOf('object');
    const amounts = [facts.amount, ...Object.values(facts.vars ?? {})].filter((v): v is Money => typeof v === 'object' && v !== null);
    for (const amount of amounts) {
      expect(Number.isSafeInteger(amount.minor), `${JSON.stringify(amount)} must be whole minor units`).toBe(true);
      expect(amount.currency).toBe(quoteFixture().currency);
    }
    if (facts.amount !== null) expect(facts.amount.minor * AMOUNT_SIGN[builder.kind], amountSignRule(builder.kind)).toBeGreaterThanOrEqual(0);
  });

  for (const upstream of UPSTREAMS) {
    const needed = builder.needs.includes(upstream);
    const decorates = builder.decorations?.needs.includes(upstream) === true;
    if (needed) {
      it(`rejects with the ${upstream} failure when ${upstream} fails`, async () => {
        const failure = failureOf(upstream);
        const { data } = fakePanelData(failing(upstream, failure));
        expect(caughtFrom(() => builder.build(buildContext(data)))).toBe(failure);
      });
    } else {
      it(`still builds when ${upstream} fails, since its amount does not need it${decorates ? ' (only the decoration fails)' : ''}`, async () => {
        const failure = failureOf(upstream);
        const { data } = fakePanelData(failing(upstream, failure));
        const healthy = fakePanelData();
        expect(builder.build(buildContext(data))).toEqual(await builder.build(buildContext(healthy.data)));
        if (decorates) expect(caughtFrom(() => builder.decorations!.decorate(buildContext(data)))).toBe(failure);
      });
    }
  }
});
