import { describe, expect, it } from 'vitest';
import { coupon } from '../../../src/floors/builders/coupon.ts';
import { buildContext, cny, fakePanelData, quoteFixture } from './fixtures.ts';

describe('coupon builder (优惠券)', () => {
  it('shows the coupon discount as a negative amount with the number of coupons used', async () => {
    const { data } = fakePanelData();
    const facts = await coupon.build(buildContext(data));
    expect(facts).toEqual({ amount: cny(-1000), vars: { amount: cny(-1000), couponCount: 2 } });
  });

  it('shows zero of the quote currency and zero coupons when no coupon applied', async () => {
    const { data } = fakePanelData({
      quote: quoteFixture({
        currency: 'JPY',
        goodsTotal: { minor: 3000, currency: 'JPY' },
        discounts: [{ kind: 'full-reduction', amount: { minor: 100, currency: 'JPY' }, sourceIds: ['camp-mj'] }],
      }),
    });
    const facts = await coupon.build(buildContext(data));
    expect(facts).toEqual({ amount: { minor: 0, currency: 'JPY' }, vars: { amount: { minor: 0, currency: 'JPY' }, couponCount: 0 } });
  });

  it('counts the coupons behind the coupon deduction, not the sources of other kinds', async () => {
    const { data } = fakePanelData({
      quote: quoteFixture({
        discounts: [
          { kind: 'instant', amount: cny(500), sourceIds: ['camp-a', 'camp-b', 'camp-c'] },
          { kind: 'coupon', amount: cny(600), sourceIds: ['cpn-15-6'] },
        ],
      }),
    });
    const facts = await coupon.build(buildContext(data));
    expect(facts?.vars?.['couponCount']).toBe(1);
  });

  it('counts a coupon deduction that names no coupon id as one coupon, not none', async () => {
    // The contract allows a discount without source ids; ¥6.00 off is at least one coupon used.
    const { data } = fakePanelData({ quote: quoteFixture({ discounts: [{ kind: 'coupon', amount: cny(600), sourceIds: [] }] }) });
    const facts = await coupon.build(buildContext(data));
    expect(facts?.vars?.['couponCount']).toBe(1);
  });

  it('counts a coupon once though two deductions name it', async () => {
    const { data } = fakePanelData({
      quote: quoteFixture({
        discounts: [
          { kind: 'coupon', amount: cny(400), sourceIds: ['cpn-15-6'] },
          { kind: 'coupon', amount: cny(200), sourceIds: ['cpn-15-6'] },
        ],
      }),
    });
    const facts = await coupon.build(buildContext(data));
    expect(facts?.vars?.['couponCount']).toBe(1);
  });

  it('counts each coupon deduction without ids as a coupon of its own, besides the coupons named', async () => {
    const { data } = fakePanelData({
      quote: quoteFixture({
        discounts: [
          { kind: 'coupon', amount: cny(400), sourceIds: ['cpn-15-6'] },
          { kind: 'coupon', amount: cny(200), sourceIds: [] },
          { kind: 'coupon', amount: cny(100), sourceIds: [] },
        ],
      }),
    });
    const facts = await coupon.build(buildContext(data));
    expect(facts?.vars?.['couponCount']).toBe(3);
  });

  it('reads only the quote and never calls promotion()', async () => {
    const { data, calls } = fakePanelData();
    await coupon.build(buildContext(data));
    expect(calls).toEqual(['quote']);
  });
});
