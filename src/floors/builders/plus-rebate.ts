/** PLUS返利 — cash back a PLUS member earns on this order; paid later, so INFO, not a deduction. */
import type { FloorBuilder } from '../builder.ts';

export const plusRebate: FloorBuilder = {
  name: 'plus-rebate',
  description: 'Expected PLUS cash-back (PLUS返利) from settlement; not part of the payable total.',
  kind: 'INFO',
  needs: ['cart', 'settlement'],
  templateVars: ['amount'],
  build({ data }) {
    const { plusRebate: amount } = data.quote();
    return { amount, vars: { amount } };
  },
};
