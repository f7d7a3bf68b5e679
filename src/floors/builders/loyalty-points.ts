/**
 * 积分 — the loyalty points this order earns, from the loyalty service. Points are not money,
 * so the row is TEXT: it shows in the sheet and takes no part in the total. (Points usable as
 * a deduction would be a DEDUCTION only once settlement applies them; until then showing one
 * would make the sheet stop adding up.)
 */
import type { FloorBuilder } from '../builder.ts';

export const loyaltyPoints: FloorBuilder = {
  name: 'loyalty-points',
  description: 'Loyalty points this order earns (积分 +N) and the balance, from loyalty; text only, not part of the total.',
  kind: 'TEXT',
  needs: ['cart', 'loyalty'],
  templateVars: ['earns', 'balance'],
  build({ data }) {
    const { earns, balance } = data.get('loyalty');
    // Nothing to earn, nothing to say.
    return earns === 0 ? null : { amount: null, vars: { earns, balance } };
  },
};
