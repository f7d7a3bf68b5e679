/** 满减 — full-reduction campaigns, as a deduction, titled by the campaign that applied. */
import type { FloorBuilder, TemplateValue } from '../builder.ts';
import { deduction, deductionSources } from './quote-facts.ts';

export const mj: FloorBuilder = {
  name: 'mj',
  description: 'Full-reduction discount (满减) from settlement; campaignTitle from promotion.',
  kind: 'DEDUCTION',
  needs: ['cart', 'settlement'],
  templateVars: ['amount', 'campaignTitle'],
  build({ data }) {
    const amount = deduction(data.quote(), 'full-reduction');
    return { amount, vars: { amount } };
  },
  decorations: {
    needs: ['promotion'],
    vars: ['campaignTitle'],
    decorate({ data }): Record<string, TemplateValue> {
      const quote = data.quote();
      const promotion = data.promotion();
      const sources = new Set(deductionSources(quote, 'full-reduction'));
      const titles = promotion.campaigns.filter((c) => sources.has(c.id)).map((c) => c.title);
      // No campaign promotion knows of: no title, rather than an empty one.
      return titles.length === 0 ? {} : { campaignTitle: titles.join(' ') };
    },
  },
};
