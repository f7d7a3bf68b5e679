import { describe, expect, it } from 'vitest';
import { MissingAnswer } from '../../../src/upstreams/definition.ts';
import { loyalty, type LoyaltyAnswer } from '../../../src/upstreams/defs/loyalty.ts';

describe('loyalty.answersAll', () => {
  const selections = [
    { lines: [{ skuId: 'sku-1', quantity: 2 }], currency: 'CNY' },
    { lines: [{ skuId: 'sku-2', quantity: 1 }], currency: 'CNY' },
  ];
  const request = loyalty.toRequest('u1', selections);
  const answer = (orderIds: string[]): LoyaltyAnswer => ({
    userId: 'u1',
    balance: 100,
    usable: { points: 0, value: { minor: 0, currency: 'CNY' } },
    orders: orderIds.map((orderId) => ({ orderId, earns: 10 })),
  });
  const judged = (orderIds: string[]) => ({
    answersAll: loyalty.answersAll!(request, answer(orderIds)),
    missing: loyalty.toResults(answer(orderIds), selections).map((r) => r instanceof MissingAnswer),
  });

  it('finds an answer with an order for every orderId asked complete, as toResults does', () => {
    expect(judged(['o1', 'o0'])).toEqual({ answersAll: true, missing: [false, false] });
  });

  it('finds one that leaves an orderId out incomplete, as toResults does', () => {
    expect(judged(['o0'])).toEqual({ answersAll: false, missing: [false, true] });
    expect(judged([])).toEqual({ answersAll: false, missing: [true, true] });
  });
});
