/** 实付款 — what the shopper pays, with the total saved, both from settlement. */
import { money, sum } from '../../money/money.ts';
import type { FloorBuilder } from '../builder.ts';

export const payable: FloorBuilder = {
  name: 'payable',
  description: 'Payable total (实付款) from settlement; savings is the sum of its deductions.',
  kind: 'PAYABLE',
  needs: ['cart', 'settlement'],
  templateVars: ['amount', 'savings'],
  summarises: { savings: 'DEDUCTION' },
  build({ data }) {
    const quote = data.quote();
    const savings = sum(
      quote.discounts.map((d) => money(d.amount.minor, d.amount.currency)),
      quote.currency,
    );
    return { amount: quote.payable, vars: { amount: quote.payable, savings } };
  },
};
