import { describe, expect, it } from 'vitest';
import { checkQuote, type SettlementQuote } from '../../../src/upstreams/defs/settlement.ts';

const cny = (minor: number) => ({ minor, currency: 'CNY' });
const lines = [{ skuId: 'sku-1', quantity: 2 }];
const quote: SettlementQuote = {
  quoteId: 'q0',
  currency: 'CNY',
  lines,
  goodsTotal: cny(10_000),
  discounts: [
    { kind: 'full-reduction', amount: cny(1_000), sourceIds: ['c1'] },
    { kind: 'coupon', amount: cny(500), sourceIds: ['k1'] },
  ],
  shipping: cny(600),
  plusRebate: cny(0),
  payable: cny(9_100),
};

describe('checkQuote', () => {
  it('accepts a quote that prices the selected lines in the cart currency and adds up', () => {
    expect(checkQuote(quote, lines, 'CNY')).toBeUndefined();
  });

  it('names every amount in another currency than the cart, deductions by place and kind', () => {
    const mixed: SettlementQuote = {
      ...quote,
      shipping: { minor: 600, currency: 'USD' },
      discounts: [quote.discounts[0]!, { ...quote.discounts[1]!, amount: { minor: 500, currency: 'HKD' } }],
    };
    expect(checkQuote(mixed, lines, 'CNY')).toEqual({
      reason: 'CURRENCY_MISMATCH',
      message: "quote q0 is not all in the cart's currency CNY",
      values: { cartCurrency: 'CNY', quoteCurrency: 'CNY', foreign: ['shipping: USD', 'discounts[1] (coupon): HKD'] },
    });
  });

  it('refuses a quote whose own currency is not the cart’s, though its amounts are', () => {
    expect(checkQuote(quote, lines, 'USD')).toMatchObject({
      reason: 'CURRENCY_MISMATCH',
      values: { quoteCurrency: 'CNY', foreign: ['goodsTotal: CNY', 'shipping: CNY', 'plusRebate: CNY', 'payable: CNY', 'discounts[0] (full-reduction): CNY', 'discounts[1] (coupon): CNY'] },
    });
  });
});
