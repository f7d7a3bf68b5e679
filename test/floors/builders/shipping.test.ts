import { describe, expect, it } from 'vitest';
import { shipping } from '../../../src/floors/builders/shipping.ts';
import { buildContext, cny, fakePanelData, quoteFixture } from './fixtures.ts';

describe('shipping builder (运费)', () => {
  it('shows the shipping charge as a positive amount', async () => {
    const { data } = fakePanelData();
    const facts = await shipping.build(buildContext(data));
    expect(facts).toEqual({ amount: cny(600), vars: { amount: cny(600) } });
  });

  it('shows zero of the quote currency, not null, when shipping is free', async () => {
    const { data } = fakePanelData({
      quote: quoteFixture({ currency: 'JPY', goodsTotal: { minor: 3000, currency: 'JPY' }, discounts: [], shipping: { minor: 0, currency: 'JPY' } }),
    });
    const facts = await shipping.build(buildContext(data));
    expect(facts).toEqual({ amount: { minor: 0, currency: 'JPY' }, vars: { amount: { minor: 0, currency: 'JPY' } } });
  });

  it('reads only the quote', async () => {
    const { data, calls } = fakePanelData();
    await shipping.build(buildContext(data));
    expect(calls).toEqual(['quote']);
  });
});
