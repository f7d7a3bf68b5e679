import { describe, expect, it } from 'vitest';
import { spze } from '../../../src/floors/builders/spze.ts';
import { buildContext, cartLine, cny, fakePanelData, quoteFixture } from './fixtures.ts';

describe('spze builder (商品总额)', () => {
  it('shows the goods total settlement quoted, as a positive amount', async () => {
    const { data } = fakePanelData();
    const facts = await spze.build(buildContext(data));
    expect(facts?.amount).toEqual(cny(20_900));
  });

  it('counts units of the selected lines only, not unticked cart lines', async () => {
    const { data } = fakePanelData();
    const facts = await spze.build(buildContext(data));
    // Fixture: ticked lines of 2 + 1 + 1 units; the unticked line of 5 units is left out.
    expect(facts?.vars).toEqual({ amount: cny(20_900), itemCount: 4 });
  });

  it('shows a zero total and zero items for an empty selection, in the quote currency', async () => {
    const { data } = fakePanelData({
      selectedLines: [],
      quote: quoteFixture({ currency: 'JPY', goodsTotal: { minor: 0, currency: 'JPY' }, discounts: [] }),
    });
    const facts = await spze.build(buildContext(data));
    expect(facts).toEqual({ amount: { minor: 0, currency: 'JPY' }, vars: { amount: { minor: 0, currency: 'JPY' }, itemCount: 0 } });
  });

  it('takes the amount from settlement, not from the cart lines', async () => {
    const { data } = fakePanelData({
      selectedLines: [cartLine('sku-a', 3, 100)],
      quote: quoteFixture({ goodsTotal: cny(999) }),
    });
    const facts = await spze.build(buildContext(data));
    expect(facts?.amount).toEqual(cny(999));
    expect(facts?.vars?.['itemCount']).toBe(3);
  });

  it('reads the quote and the selected lines once each, and never the promotion', async () => {
    const { data, calls } = fakePanelData();
    await spze.build(buildContext(data));
    expect([...calls].sort()).toEqual(['quote', 'selectedLines']);
  });
});
