import { describe, expect, it } from 'vitest';
import { lj } from '../../../src/floors/builders/lj.ts';
import { buildContext, cny, fakePanelData, quoteFixture } from './fixtures.ts';

describe('lj builder (立减)', () => {
  it('shows the instant discount as a negative amount', async () => {
    const { data } = fakePanelData();
    const facts = await lj.build(buildContext(data));
    expect(facts).toEqual({ amount: cny(-500), vars: { amount: cny(-500) } });
  });

  it('shows zero of the quote currency, not null, when no instant discount applied', async () => {
    const { data } = fakePanelData({
      quote: quoteFixture({
        currency: 'JPY',
        goodsTotal: { minor: 3000, currency: 'JPY' },
        discounts: [{ kind: 'coupon', amount: { minor: 300, currency: 'JPY' }, sourceIds: ['cpn'] }],
      }),
    });
    const facts = await lj.build(buildContext(data));
    expect(facts).toEqual({ amount: { minor: 0, currency: 'JPY' }, vars: { amount: { minor: 0, currency: 'JPY' } } });
    // A plain 0, not -0, so `=== 0` checks such as hideWhenZero behave.
    expect(Object.is(facts?.amount?.minor, 0)).toBe(true);
  });

  it('reads only the quote and never calls promotion()', async () => {
    const { data, calls } = fakePanelData();
    await lj.build(buildContext(data));
    expect(calls).toEqual(['quote']);
  });
});
