/** 运费 — the shipping charge settlement added to the payable total. */
import type { FloorBuilder } from '../builder.ts';

export const shipping: FloorBuilder = {
  name: 'shipping',
  description: 'Shipping charge (运费) from settlement.',
  kind: 'CHARGE',
  needs: ['cart', 'settlement'],
  templateVars: ['amount'],
  build({ data }) {
    const { shipping: amount } = data.quote();
    return { amount, vars: { amount } };
  },
};
