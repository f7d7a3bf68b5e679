/**
 * 商品总额 from the cart alone — the fallback for `spze` when settlement is down. It adds up
 * the cart's own unit prices, so it is only ever used as a declared fallback on a degraded
 * panel; with settlement up, the settlement's goods total is the authority.
 */
import { money, sum } from '../../money/money.ts';
import type { FloorBuilder } from '../builder.ts';

export const spzeCart: FloorBuilder = {
  name: 'spze-cart',
  description: 'Goods total summed from cart line prices; a fallback for spze when settlement fails.',
  kind: 'GOODS',
  needs: ['cart'],
  templateVars: ['amount', 'itemCount'],
  build({ data }) {
    const cart = data.cart();
    const lines = data.selectedLines();
    const amount = sum(
      lines.map((line) => money(line.unitPrice.minor * line.quantity, line.unitPrice.currency)),
      cart.currency,
    );
    const itemCount = lines.reduce((n, line) => n + line.quantity, 0);
    return { amount, vars: { amount, itemCount } };
  },
};
