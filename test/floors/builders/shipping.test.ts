import { describe, expect, it } from 'vitest';
import { shipping } from '../../../src/floors/builders/shipping.ts';
import { UpstreamError } from '../../../src/upstreams/upstream-error.ts';
import { buildContext, cny, fakePanelData, quoteFixture, upstreamsRead } from './fixtures.ts';

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

  it('declares every upstream it reads among its needs', async () => {
    const { data, calls } = fakePanelData();
    await shipping.build(buildContext(data));
    for (const upstream of upstreamsRead(calls)) expect(shipping.needs).toContain(upstream);
  });

  it('rejects with the settlement failure when the quote cannot be fetched', async () => {
    const failure = new UpstreamError('settlement', 'timeout', 'no answer in 800 ms');
    const { data } = fakePanelData({ quote: failure });
    await expect(shipping.build(buildContext(data))).rejects.toBe(failure);
  });
});
