/** A text-only row (e.g. "满99包邮"): name and sub-name come from config, no amount, no upstream. */
import type { FloorBuilder } from '../builder.ts';

export const notice: FloorBuilder = {
  name: 'notice',
  description: 'Text-only row; its name and sub-name are the configured text.',
  kind: 'TEXT',
  needs: [],
  templateVars: [],
  build() {
    return { amount: null };
  },
};
