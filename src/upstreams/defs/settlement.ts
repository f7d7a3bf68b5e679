/**
 * Settlement service: `POST {settlement}/settlement/quotes` `{userId, quotes: [{quoteId, lines}]}`.
 * The authority on amounts. Several quotes (selections of the same cart) in one call, so a
 * request that needs two selections still makes one settlement call.
 */
import { z } from 'zod';
import type { Money } from '../../money/money.ts';
import { defineUpstream, MissingAnswer, STANDARD_DEFAULTS, type UpstreamSelection, type Violation } from '../definition.ts';
import { currencySchema, nonNegativeMoneySchema, wireLinesSchema } from '../wire-money.ts';

export const settlementRequestSchema = z.object({
  userId: z.string().min(1),
  quotes: z
    .array(
      z.object({
        /** Caller-chosen id, echoed back on the matching quote. */
        quoteId: z.string().min(1),
        lines: wireLinesSchema,
      }),
    )
    .min(1),
});
export type SettlementRequest = z.infer<typeof settlementRequestSchema>;

/**
 * The discount kinds this release knows: 立减, 满减, a coupon, PLUS 95 % (each shown by its
 * builder), 新人立减 (a first-order discount; shown by an expression floor). Settlement may
 * send others (see {@link discountKindSchema}).
 */
export const KNOWN_DISCOUNT_KINDS = ['instant', 'full-reduction', 'coupon', 'plus95', 'new-customer'] as const;
/** A discount kind this release knows: what builders name (a typo does not compile). */
export type DiscountKind = (typeof KNOWN_DISCOUNT_KINDS)[number];

/**
 * What a deduction is: one of {@link KNOWN_DISCOUNT_KINDS}, or any kind settlement added since.
 * Not an enum: refusing a new kind would fail every quote that has one, dropping every panel's
 * payable until Floorplan is released, when its amount is still part of payable and the quote
 * still adds up. A kind no floor shows goes on the safe form's other-discounts row (README,
 * "Money rules"), until an expression floor filters on it (no release needed).
 */
export const discountKindSchema = z.string().min(1);

export const settlementQuoteSchema = z.object({
  quoteId: z.string().min(1),
  currency: currencySchema,
  /** The lines this quote priced, as requested: Floorplan checks they are exactly the selected cart lines. */
  lines: wireLinesSchema,
  /** Σ unit price × quantity over the quoted lines. */
  goodsTotal: nonNegativeMoneySchema,
  /** Each deduction as a positive amount taken off the goods total; several of one kind are summed. */
  discounts: z.array(
    z.object({
      kind: discountKindSchema,
      amount: nonNegativeMoneySchema,
      /** Campaign or coupon ids that produced this deduction. */
      sourceIds: z.array(z.string()),
    }),
  ),
  shipping: nonNegativeMoneySchema,
  /** Expected PLUS cash-back after purchase; informational, not part of payable. */
  plusRebate: nonNegativeMoneySchema,
  /** goodsTotal − Σ discounts + shipping. */
  payable: nonNegativeMoneySchema,
});

export const settlementResultSchema = z.object({
  quotes: z.array(settlementQuoteSchema),
});
export type SettlementResult = z.infer<typeof settlementResultSchema>;

/** Settlement's authoritative quote for one selection. */
export interface SettlementQuote {
  readonly quoteId: string;
  readonly currency: string;
  /** The lines this quote priced: exactly the selected cart lines (checked). */
  readonly lines: ReadonlyArray<{ readonly skuId: string; readonly quantity: number }>;
  /** Σ unit price × quantity over the quoted lines. */
  readonly goodsTotal: Money;
  /**
   * Each deduction as a positive amount taken off the goods total; several of one kind are
   * summed. `kind` is a {@link DiscountKind}, or one settlement added since this release.
   */
  readonly discounts: ReadonlyArray<{ readonly kind: string; readonly amount: Money; readonly sourceIds: readonly string[] }>;
  readonly shipping: Money;
  /** Expected PLUS cash-back after purchase; informational, not part of payable. */
  readonly plusRebate: Money;
  /** goodsTotal − Σ discounts + shipping. */
  readonly payable: Money;
}

/**
 * Checks a settlement quote against the selected cart lines and the cart's currency:
 * one currency throughout; exactly the selected lines at their quantities, in any order, line
 * for line (one SKU on two lines is two quoted lines); deductions within the goods total;
 * goods − deductions + shipping = payable; an empty selection costs nothing.
 */
export function checkQuote(
  quote: SettlementQuote,
  selected: ReadonlyArray<{ readonly skuId: string; readonly quantity: number }>,
  cartCurrency: string,
): Violation | undefined {
  const foreign = foreignAmounts(quote, cartCurrency);
  if (quote.currency !== cartCurrency || foreign.length > 0) {
    return {
      reason: 'CURRENCY_MISMATCH',
      message: `quote ${quote.quoteId} is not all in the cart's currency ${cartCurrency}`,
      values: { cartCurrency, quoteCurrency: quote.currency, foreign },
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

/** The amounts every quote has, besides its deductions. */
const QUOTE_AMOUNTS = ['goodsTotal', 'shipping', 'plusRebate', 'payable'] as const;

/**
 * Each amount of `quote` not in `currency`, named with its currency, e.g. `discounts[0] (coupon): USD`.
 * Named only when found: a quote in one currency, every quote but a broken one, costs no string.
 */
function foreignAmounts(quote: SettlementQuote, currency: string): readonly string[] {
  let foreign: string[] | undefined;
  for (const field of QUOTE_AMOUNTS) if (quote[field].currency !== currency) (foreign ??= []).push(`${field}: ${quote[field].currency}`);
  for (let i = 0; i < quote.discounts.length; i++) {
    const { kind, amount } = quote.discounts[i]!;
    if (amount.currency !== currency) (foreign ??= []).push(`discounts[${i}] (${kind}): ${amount.currency}`);
  }
  return foreign ?? NO_PROBLEMS;
}

/** What a check that found nothing returns: one shared array, so a clean quote allocates none. */
const NO_PROBLEMS: string[] = [];

/**
 * Differences between the quoted lines and the selected ones, e.g. `sku-x: quoted but not a selected cart line`.
 * Lines match as a multiset of (SKU, quantity), in any order: the cart may hold one SKU on two
 * lines (two sellers), and each selected line must be matched by exactly one quoted line.
 */
function compareLines(quoted: SettlementQuote['lines'], selected: UpstreamSelection['lines']): string[] {
  // The usual answer echoes the request line for line (it was sent in the selection's order): no maps to build.
  if (quoted.length === selected.length && quoted.every((line, i) => line.skuId === selected[i]!.skuId && line.quantity === selected[i]!.quantity)) return NO_PROBLEMS;
  // Per SKU, the quantities of its selected lines not yet matched, then of its quoted lines that matched none.
  const unmatched = new Map<string, { selected: number[]; quoted: number[] }>();
  for (const line of selected) {
    const sku = unmatched.get(line.skuId);
    if (sku === undefined) unmatched.set(line.skuId, { selected: [line.quantity], quoted: [] });
    else sku.selected.push(line.quantity);
  }
  const problems: string[] = [];
  for (const line of quoted) {
    const sku = unmatched.get(line.skuId);
    if (sku === undefined) {
      problems.push(`${line.skuId}: quoted but not a selected cart line`);
      continue;
    }
    const match = sku.selected.indexOf(line.quantity);
    if (match === -1) sku.quoted.push(line.quantity);
    else sku.selected.splice(match, 1);
  }
  for (const [skuId, { selected: left, quoted: extra }] of unmatched) {
    const paired = Math.min(left.length, extra.length);
    for (let i = 0; i < paired; i++) problems.push(`${skuId}: quoted ×${extra[i]}, selected ×${left[i]}`);
    for (let i = paired; i < extra.length; i++) problems.push(`${skuId}: quoted ×${extra[i]} on a line beyond the selected ones`);
    for (let i = paired; i < left.length; i++) problems.push(`${skuId}: selected ×${left[i]} but not quoted`);
  }
  return problems;
}

function hasQuote(answer: SettlementResult, quoteId: string): boolean {
  for (const quote of answer.quotes) if (quote.quoteId === quoteId) return true;
  return false;
}

export const settlement = defineUpstream({
  name: 'settlement',
  description: 'The authoritative quote (goods, deductions, shipping, payable) for each selection.',
  call: { method: 'POST', path: '/settlement/quotes' },
  request: settlementRequestSchema,
  response: settlementResultSchema,
  keyedBy: 'selection',
  toRequest: (userId, selections): SettlementRequest => ({
    userId,
    quotes: selections.map((s, index) => ({ quoteId: `q${index}`, lines: s.lines.map((l) => ({ skuId: l.skuId, quantity: l.quantity })) })),
  }),
  toResults: (answer, selections): Array<SettlementQuote | MissingAnswer> => {
    const byId = new Map(answer.quotes.map((q) => [q.quoteId, q]));
    return selections.map((_, index) => byId.get(`q${index}`) ?? new MissingAnswer(`answered no quote for quoteId "q${index}"`));
  },
  answersAll: (request, answer) => {
    // A quote or two each way: a scan, with nothing to allocate on every call.
    for (const asked of request.quotes) if (!hasQuote(answer, asked.quoteId)) return false;
    return true;
  },
  check: (quote, selection) => (selection === undefined ? undefined : checkQuote(quote, selection.lines, selection.currency)),
  defaults: { ...STANDARD_DEFAULTS, timeoutMs: 400 },
});
