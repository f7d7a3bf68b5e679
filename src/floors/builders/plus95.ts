/** PLUS专享95折 — the PLUS members' 5 % off, with the quota left this month. */
import type { FloorBuilder, TemplateValue } from '../builder.ts';
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
    const applied = quote.discounts.some((d) => d.kind === 'plus95' && d.amount.minor > 0);
    // Not a member and nothing taken off: the row does not apply. If settlement did take the
    // discount off, the row stays whatever promotion says — the panel must add up to payable.
    if (tier !== 'plus' && !applied) return null;
    const amount = deduction(quote, 'plus95');
    const vars: Record<string, TemplateValue> = { amount };
    if (plus95QuotaRemaining !== null) vars.quotaRemaining = plus95QuotaRemaining;
    return { amount, vars };
  },
};
