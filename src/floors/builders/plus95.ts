/** PLUS专享95折 — the PLUS members' 5 % off, with the quota left this month. */
import type { FloorBuilder, TemplateValue } from '../builder.ts';
import { deduction } from './quote-facts.ts';

export const plus95: FloorBuilder = {
  name: 'plus95',
  description: 'PLUS 95% discount from settlement, for PLUS members; quotaRemaining from promotion.',
  kind: 'DEDUCTION',
  needs: ['cart', 'settlement'],
  templateVars: ['amount', 'quotaRemaining'],
  build({ data }, floor) {
    const quote = data.quote();
    const amount = deduction(quote, 'plus95');
    // Settlement took the discount off: the row is shown, whatever promotion says (the panel
    // must add up to payable). Nothing taken off: the row shows ¥0 to members only — and if
    // promotion cannot say who is a member, a zero row is left out without harm to the sum.
    // With hideWhenZero no zero row is shown to anyone, so promotion is not asked: a promotion
    // outage then degrades no non-member's panel for a row it would never show.
    if (amount.minor !== 0 || floor?.hideWhenZero === true) return { amount, vars: { amount } };
    const promotion = data.promotion();
    return promotion.membership.tier === 'plus' ? { amount, vars: { amount } } : null;
  },
  decorations: {
    needs: ['promotion'],
    vars: ['quotaRemaining'],
    decorate({ data }): Record<string, TemplateValue> {
      const { plus95QuotaRemaining } = data.promotion().membership;
      return plus95QuotaRemaining === null ? {} : { quotaRemaining: plus95QuotaRemaining };
    },
  },
};
