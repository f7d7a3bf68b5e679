/**
 * Cross-checks of upstream answers against the viewer's cart, run once per answer before any
 * floor reads it. Each upstream's answer already kept its own wire contract (zod, in the
 * client); these checks catch what no single contract can see: a quote that prices other
 * lines than the ones selected, amounts that do not add up, another currency than the cart's.
 *
 * A violation makes that upstream count as failed for the request, with the reason
 * ({@link AnswerViolation}) the panel reports in `degradedReasons`. The checks are
 * Floorplan's own business rules, so they are written here rather than taken from a library.
 */
import type { Money } from '../money/money.ts';
import type { CartLine, PromotionResult, SettlementQuote } from '../upstreams/contracts.ts';
import type { AnswerViolation } from '../upstreams/upstream-error.ts';

/** What was wrong, with the values that show it (logged, never sent to clients). */
export interface Violation {
  readonly reason: AnswerViolation;
  readonly message: string;
  readonly values: Readonly<Record<string, unknown>>;
}

/** The cart's lines in another currency than the cart itself, or undefined when there are none. */
export function checkCartCurrency(currency: string, lines: readonly CartLine[]): Violation | undefined {
  const foreign = lines.filter((line) => line.unitPrice.currency !== currency);
  if (foreign.length === 0) return undefined;
  return {
    reason: 'CURRENCY_MISMATCH',
    message: `cart is in ${currency} but ${foreign.length} line(s) are priced in another currency`,
    values: { cartCurrency: currency, lines: foreign.map((l) => ({ skuId: l.skuId, currency: l.unitPrice.currency })) },
  };
}

/**
 * Checks a settlement quote against the selected cart lines and the cart's currency:
 * one currency throughout; exactly the selected lines at their quantities; deductions within
 * the goods total; goods − deductions + shipping = payable; an empty selection costs nothing.
 */
export function checkQuote(quote: SettlementQuote, selected: readonly CartLine[], cartCurrency: string): Violation | undefined {
  const amounts: Array<[string, Money]> = [
    ['goodsTotal', quote.goodsTotal],
    ['shipping', quote.shipping],
    ['plusRebate', quote.plusRebate],
    ['payable', quote.payable],
    ...quote.discounts.map((d, i): [string, Money] => [`discounts[${i}] (${d.kind})`, d.amount]),
  ];
  const foreign = amounts.filter(([, m]) => m.currency !== cartCurrency);
  if (quote.currency !== cartCurrency || foreign.length > 0) {
    return {
      reason: 'CURRENCY_MISMATCH',
      message: `quote ${quote.quoteId} is not all in the cart's currency ${cartCurrency}`,
      values: { cartCurrency, quoteCurrency: quote.currency, foreign: foreign.map(([field, m]) => `${field}: ${m.currency}`) },
    };
  }

  const lineProblems = compareLines(quote.lines, selected);
  if (lineProblems.length > 0) {
    return {
      reason: 'QUOTE_INCONSISTENT',
      message: `quote ${quote.quoteId} does not price exactly the selected cart lines`,
      values: { problems: lineProblems },
    };
  }

  let deductions = 0;
  for (const d of quote.discounts) deductions += d.amount.minor;
  const goods = quote.goodsTotal.minor;
  const expected = goods - deductions + quote.shipping.minor;
  const values = { goodsTotal: goods, deductions, shipping: quote.shipping.minor, payable: quote.payable.minor, lines: quote.lines.length };
  if (!Number.isSafeInteger(deductions) || !Number.isSafeInteger(expected)) {
    return { reason: 'QUOTE_INCONSISTENT', message: `quote ${quote.quoteId} adds up beyond exact integer range`, values };
  }
  if (deductions > goods) {
    return { reason: 'QUOTE_INCONSISTENT', message: `quote ${quote.quoteId} deducts more than its goods total`, values };
  }
  if (expected !== quote.payable.minor) {
    return { reason: 'QUOTE_INCONSISTENT', message: `quote ${quote.quoteId}: goods − deductions + shipping = ${expected}, but payable is ${quote.payable.minor}`, values };
  }
  if (selected.length === 0 && (goods !== 0 || quote.payable.minor !== 0)) {
    return { reason: 'QUOTE_INCONSISTENT', message: `quote ${quote.quoteId} prices an empty selection above zero`, values };
  }
  return undefined;
}

/** Checks that every amount promotion sent is in the cart's currency. */
export function checkPromotion(promotion: PromotionResult, cartCurrency: string): Violation | undefined {
  const amounts: Array<[string, Money]> = promotion.coupons.flatMap((c): Array<[string, Money]> => [
    [`coupon ${c.id} discount`, c.discount],
    [`coupon ${c.id} threshold`, c.threshold],
  ]);
  const quota = promotion.membership.plus95QuotaRemaining;
  if (quota !== null) amounts.push(['membership.plus95QuotaRemaining', quota]);
  const foreign = amounts.filter(([, m]) => m.currency !== cartCurrency);
  if (foreign.length === 0) return undefined;
  return {
    reason: 'CURRENCY_MISMATCH',
    message: `promotion is not all in the cart's currency ${cartCurrency}`,
    values: { cartCurrency, foreign: foreign.map(([field, m]) => `${field}: ${m.currency}`) },
  };
}

/** Differences between the quoted lines and the selected ones, e.g. `sku-x: not in the selection`. */
function compareLines(quoted: SettlementQuote['lines'], selected: readonly CartLine[]): string[] {
  const wanted = new Map(selected.map((l) => [l.skuId, l.quantity]));
  const seen = new Set<string>();
  const problems: string[] = [];
  for (const line of quoted) {
    const quantity = wanted.get(line.skuId);
    if (seen.has(line.skuId)) problems.push(`${line.skuId}: quoted twice`);
    else if (quantity === undefined) problems.push(`${line.skuId}: quoted but not a selected cart line`);
    else if (quantity !== line.quantity) problems.push(`${line.skuId}: quoted ×${line.quantity}, selected ×${quantity}`);
    seen.add(line.skuId);
  }
  for (const skuId of wanted.keys()) if (!seen.has(skuId)) problems.push(`${skuId}: selected but not quoted`);
  return problems;
}
