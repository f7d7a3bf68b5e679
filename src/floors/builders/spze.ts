/** 商品总额 — the goods total of the selected lines, as the settlement service priced it. */
import type { FloorBuilder } from '../builder.ts';

export const spze: FloorBuilder = {
  name: 'spze',
  description: 'Goods total (商品总额) of the selected lines, from settlement.',
  kind: 'GOODS',
  needs: ['cart', 'settlement'],
  templateVars: ['amount', 'itemCount'],
  build({ data }) {
    const quote = data.quote();
    const lines = data.selectedLines();
    const itemCount = lines.reduce((n, line) => n + line.quantity, 0);
    return { amount: quote.goodsTotal, vars: { amount: quote.goodsTotal, itemCount } };
  },
};
