/** 满减 — full-reduction campaigns, as a deduction, titled by the campaign that applied. */
import type { FloorBuilder } from '../builder.ts';
import { deduction, deductionSources } from './quote-facts.ts';

export const mj: FloorBuilder = {
  name: 'mj',
  description: 'Full-reduction discount (满减) from settlement; campaignTitle from promotion.',
  kind: 'DEDUCTION',
  needs: ['cart', 'promotion', 'settlement'],
  templateVars: ['amount', 'campaignTitle'],
  async build({ data }) {
    const [quote, promotion] = await Promise.all([data.quote(), data.promotion()]);
    const amount = deduction(quote, 'full-reduction');
    const sources = new Set(deductionSources(quote, 'full-reduction'));
    const campaignTitle = promotion.campaigns
      .filter((c) => sources.has(c.id))
      .map((c) => c.title)
      .join(' ');
    return { amount, vars: { amount, campaignTitle } };
  },
};
