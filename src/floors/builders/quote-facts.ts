/** Reading settlement facts the way every builder needs them. */
import { money, negate, sum, type Money } from '../../money/money.ts';
import type { DiscountKind, SettlementQuote } from '../builder.ts';

/**
 * The quote's deductions of one kind, summed, as a negative amount; zero when the kind did
 * not apply. Settlement may send several entries of one kind (two coupons): the row shows
 * them all, as payable and savings count them all.
 */
export function deduction(quote: SettlementQuote, kind: DiscountKind): Money {
  const amounts = quote.discounts.filter((d) => d.kind === kind).map((d) => d.amount);
  return amounts.length === 0 ? money(0, quote.currency) : negate(sum(amounts, quote.currency));
}

/** The ids (campaigns, coupons) behind every deduction of a kind, in order; empty when it did not apply. */
export function deductionSources(quote: SettlementQuote, kind: DiscountKind): readonly string[] {
  return quote.discounts.filter((d) => d.kind === kind).flatMap((d) => d.sourceIds);
}

/**
 * How many distinct sources (coupons, campaigns) are behind the deductions of a kind: each id
 * once, however many entries name it, and each entry that names none as one source of its own
 * (the contract lets settlement leave the ids out, and a deduction still came from something).
 * 0 when the kind did not apply.
 */
export function distinctSourceCount(quote: SettlementQuote, kind: DiscountKind): number {
  let unnamed = 0;
  let named: Set<string> | undefined;
  for (const d of quote.discounts) {
    if (d.kind !== kind) continue;
    if (d.sourceIds.length === 0) unnamed++;
    else for (const id of d.sourceIds) (named ??= new Set()).add(id);
  }
  return unnamed + (named?.size ?? 0);
}
