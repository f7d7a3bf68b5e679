import { describe, expect, it } from 'vitest';
import { MissingAnswer } from '../../../src/upstreams/definition.ts';
import { checkQuote, settlement, settlementQuoteSchema, type SettlementQuote, type SettlementResult } from '../../../src/upstreams/defs/settlement.ts';

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

describe('checkQuote: the quoted lines are the selected ones, as a multiset of (SKU, quantity)', () => {
  // The cart may hold one SKU on two lines (two sellers): here `a` ×1 at ¥10.00 and `a` ×2 at ¥9.00, both ticked.
  const selected = [
    { skuId: 'a', quantity: 1 },
    { skuId: 'a', quantity: 2 },
  ];
  /** A quote of `lines` that adds up to `goods`, nothing off, no shipping. */
  const pricing = (lines: SettlementQuote['lines'], goods: number): SettlementQuote => ({
    ...quote,
    lines,
    goodsTotal: cny(goods),
    discounts: [],
    shipping: cny(0),
    payable: cny(goods),
  });
  const refusal = (problems: string[]) => ({
    reason: 'QUOTE_INCONSISTENT',
    message: 'quote q0 does not price exactly the selected cart lines',
    values: { problems },
  });

  it('refuses a quote that leaves out one of two lines of a SKU, naming the line left out', () => {
    expect(checkQuote(pricing([{ skuId: 'a', quantity: 2 }], 1800), selected, 'CNY')).toEqual(refusal(['a: selected ×1 but not quoted']));
  });

  it('accepts both lines of a SKU quoted in another order than asked', () => {
    expect(checkQuote(pricing([{ skuId: 'a', quantity: 2 }, { skuId: 'a', quantity: 1 }], 2800), selected, 'CNY')).toBeUndefined();
  });

  it('refuses one line quoted twice in place of the two selected, naming the quantity that differs', () => {
    expect(checkQuote(pricing([{ skuId: 'a', quantity: 2 }, { skuId: 'a', quantity: 2 }], 3600), selected, 'CNY')).toEqual(refusal(['a: quoted ×2, selected ×1']));
  });

  it('refuses a line quoted on more lines than were selected, naming the extra line', () => {
    const lines = [{ skuId: 'a', quantity: 1 }, { skuId: 'a', quantity: 2 }, { skuId: 'a', quantity: 1 }];
    expect(checkQuote(pricing(lines, 3800), selected, 'CNY')).toEqual(refusal(['a: quoted ×1 on a line beyond the selected ones']));
  });

  it('names each problem of a quote that is wrong in several ways, SKUs not in the selection first', () => {
    const lines = [{ skuId: 'x', quantity: 1 }, { skuId: 'sku-1', quantity: 3 }];
    expect(checkQuote(pricing(lines, 0), [...selected, { skuId: 'sku-1', quantity: 2 }], 'CNY')).toEqual(
      refusal(['x: quoted but not a selected cart line', 'a: selected ×1 but not quoted', 'a: selected ×2 but not quoted', 'sku-1: quoted ×3, selected ×2']),
    );
  });
});

describe('settlement.answersAll', () => {
  const selections = [
    { lines, currency: 'CNY' },
    { lines: [{ skuId: 'sku-2', quantity: 1 }], currency: 'CNY' },
  ];
  const request = settlement.toRequest('u1', selections);
  const missing = (answer: SettlementResult) => settlement.toResults(answer, selections).map((r) => r instanceof MissingAnswer);
  /** The quote above, as it comes off the wire, answering `quoteId`. */
  const answering = (quoteId: string) => settlementQuoteSchema.parse({ ...quote, quoteId });

  it('finds an answer with a quote for every quoteId asked complete, as toResults does', () => {
    const answer: SettlementResult = { quotes: [answering('q1'), answering('q0')] };
    expect({ answersAll: settlement.answersAll!(request, answer), missing: missing(answer) }).toEqual({ answersAll: true, missing: [false, false] });
  });

  it('finds one that leaves a quoteId out, or answers none, incomplete, as toResults does', () => {
    for (const answer of [{ quotes: [answering('q0')] }, { quotes: [] }, { quotes: [answering('q7')] }] satisfies SettlementResult[]) {
      expect({ answersAll: settlement.answersAll!(request, answer), missing: missing(answer).includes(true) }).toEqual({ answersAll: false, missing: true });
    }
  });
});
