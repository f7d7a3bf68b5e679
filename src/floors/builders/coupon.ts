/** 优惠券 — the coupon deduction settlement applied. */
import type { FloorBuilder } from '../builder.ts';
import { deduction, distinctSourceCount } from './quote-facts.ts';

export const coupon: FloorBuilder = {
  name: 'coupon',
  description: 'Coupon discount (优惠券) applied by settlement; couponCount distinct coupons used.',
  kind: 'DEDUCTION',
  needs: ['cart', 'settlement'],
  templateVars: ['amount', 'couponCount'],
  build({ data }) {
    const quote = data.quote();
    const amount = deduction(quote, 'coupon');
    return { amount, vars: { amount, couponCount: distinctSourceCount(quote, 'coupon') } };
  },
};
