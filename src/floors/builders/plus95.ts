/** PLUS专享95折 — the PLUS members' 5 % off, with the quota left this month. Members only. */
import type { FloorBuilder } from '../builder.ts';
import { deduction } from './quote-facts.ts';

export const plus95: FloorBuilder = {
  name: 'plus95',
  description: 'PLUS 95% discount from settlement, for PLUS members; quotaRemaining from promotion.',
  kind: 'DEDUCTION',
  needs: ['cart', 'promotion', 'settlement'],
  templateVars: ['amount', 'quotaRemaining'],
  async build({ data }) {
    const [quote, promotion] = await Promise.all([data.quote(), data.promotion()]);
    const { tier, plus95QuotaRemaining } = promotion.membership;
    if (tier !== 'plus' || plus95QuotaRemaining === null) return null;
    const amount = deduction(quote, 'plus95');
    return { amount, vars: { amount, quotaRemaining: plus95QuotaRemaining } };
  },
};
