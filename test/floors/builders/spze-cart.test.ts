import { describe, expect, it } from 'vitest';
import { spzeCart } from '../../../src/floors/builders/spze-cart.ts';
import { buildContext, cartFixture, cartLine, cny, fakePanelData } from './fixtures.ts';

describe('spze-cart builder (商品总额 from the cart, spze’s fallback)', () => {
  it('adds up the selected lines at the cart’s own prices, with their units', () => {
    const { data } = fakePanelData();
    // 2 × ¥59.90 + ¥89.90 + ¥9.30; the unticked line of 5 units is left out.
    expect(spzeCart.build(buildContext(data))).toEqual({ amount: cny(21_900), vars: { amount: cny(21_900), itemCount: 4 } });
    expect(spzeCart.kind).toBe('GOODS');
  });

  it('shows a zero total and no items, in the cart’s currency, when nothing is selected', () => {
    const { data } = fakePanelData({ cart: cartFixture({ currency: 'JPY', lines: [] }) });
    expect(spzeCart.build(buildContext(data))).toEqual({ amount: { minor: 0, currency: 'JPY' }, vars: { amount: { minor: 0, currency: 'JPY' }, itemCount: 0 } });
  });

  it('reads only the cart, so it still stands when settlement is down', () => {
    const { data, calls } = fakePanelData({ cart: cartFixture({ lines: [cartLine('sku-a', 3, 100)] }) });
    expect(spzeCart.build(buildContext(data))).toEqual({ amount: cny(300), vars: { amount: cny(300), itemCount: 3 } });
    expect(new Set(calls)).toEqual(new Set(['cart', 'selectedLines']));
    expect(spzeCart.needs).toEqual(['cart']);
  });
});
