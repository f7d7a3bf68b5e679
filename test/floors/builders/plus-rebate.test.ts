import { describe, expect, it } from 'vitest';
import { plusRebate } from '../../../src/floors/builders/plus-rebate.ts';
import { buildContext, cny, fakePanelData, quoteFixture } from './fixtures.ts';

describe('plus-rebate builder (PLUS返利)', () => {
  it('shows the expected cash back as a positive, informational amount', async () => {
    const { data } = fakePanelData();
    const facts = await plusRebate.build(buildContext(data));
    expect(facts).toEqual({ amount: cny(171), vars: { amount: cny(171) } });
    // Paid after delivery, so it must not count towards the payable total.
    expect(plusRebate.kind).toBe('INFO');
  });

  it('shows zero of the quote currency, not null, when there is no rebate', async () => {
    const { data } = fakePanelData({
      quote: quoteFixture({ currency: 'JPY', goodsTotal: { minor: 3000, currency: 'JPY' }, discounts: [], plusRebate: { minor: 0, currency: 'JPY' } }),
    });
    const facts = await plusRebate.build(buildContext(data));
    expect(facts).toEqual({ amount: { minor: 0, currency: 'JPY' }, vars: { amount: { minor: 0, currency: 'JPY' } } });
  });

  it('reads only the quote', async () => {
    const { data, calls } = fakePanelData();
    await plusRebate.build(buildContext(data));
    expect(calls).toEqual(['quote']);
  });
});
