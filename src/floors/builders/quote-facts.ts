/** Reading settlement facts the way every builder needs them. */
import { money, negate, type Money } from '../../money/money.ts';
import type { DiscountKind, SettlementQuote } from '../../upstreams/contracts.ts';

/** The quote's deduction of one kind as a negative amount; zero when the kind did not apply. */
export function deduction(quote: SettlementQuote, kind: DiscountKind): Money {
  const found = quote.discounts.find((d) => d.kind === kind);
  return found === undefined ? money(0, quote.currency) : negate(found.amount);
}

/** The ids (campaigns, coupons) behind a deduction kind, empty when it did not apply. */
export function deductionSources(quote: SettlementQuote, kind: DiscountKind): readonly string[] {
  return quote.discounts.find((d) => d.kind === kind)?.sourceIds ?? [];
}
