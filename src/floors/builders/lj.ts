/** 立减 — instant per-SKU discounts, as a deduction. */
import type { FloorBuilder } from '../builder.ts';
import { deduction } from './quote-facts.ts';

export const lj: FloorBuilder = {
  name: 'lj',
  description: 'Instant discount (立减) taken off by settlement.',
  kind: 'DEDUCTION',
  needs: ['cart', 'settlement'],
  templateVars: ['amount'],
  build({ data }) {
    const amount = deduction(data.quote(), 'instant');
    return { amount, vars: { amount } };
  },
};
