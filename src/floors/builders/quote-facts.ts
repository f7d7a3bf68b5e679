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
