/** What the renderer hands the GraphQL layer: a panel of formatted floors, in order. */
import type { FloorKind } from '../floors/builder.ts';
import type { Money } from '../money/money.ts';
import type { UpstreamName } from '../upstreams/registry.ts';
import type { AnswerViolation } from '../upstreams/upstream-error.ts';

/**
 * Why a panel is degraded (the schema's DegradedReason): an upstream failed, or its answer was
 * refused ({@link AnswerViolation}); amounts that could not be shown on their own rows are
 * carried by an "other" row, or only the total could be kept (`PARTIAL_BREAKDOWN`, see
 * {@link BreakdownRepair}); a builder failed (`BUILDER_FAILED`).
 */
export type DegradedReason = 'UPSTREAM_FAILED' | AnswerViolation | 'PARTIAL_BREAKDOWN' | 'BUILDER_FAILED';

/** The order reasons are listed in: the schema's. */
export const DEGRADED_REASONS: readonly DegradedReason[] = ['UPSTREAM_FAILED', 'QUOTE_INCONSISTENT', 'CURRENCY_MISMATCH', 'PARTIAL_BREAKDOWN', 'BUILDER_FAILED'];

export interface RenderedFloor {
  readonly code: string;
  readonly name: string;
  /** Formatted for the panel's locale; null for text-only floors. */
  readonly priceText: string | null;
  /** Signed: deductions are negative. Null for text-only floors. */
  readonly amount: Money | null;
  readonly subName: string | null;
  readonly style: readonly string[];
  readonly sort: number;
  readonly kind: FloorKind;
}

export interface RenderedPanel {
  readonly scene: string;
  readonly layoutVersion: string;
  /** True when some floor, or part of one, could not be shown as configured. */
  readonly degraded: boolean;
  /** Upstreams whose failure left floors or decorations out, in a stable order. */
  readonly failedUpstreams: readonly UpstreamName[];
  /** Why the panel is degraded, each once, in {@link DEGRADED_REASONS} order; empty when it is not. */
  readonly degradedReasons: readonly DegradedReason[];
  readonly locale: string;
  readonly floors: readonly RenderedFloor[];
}

/** A GOODS, DEDUCTION or CHARGE row: one a floor built, or an "other" row the renderer added. */
export interface SummedRow {
  readonly code: string;
  readonly kind: 'GOODS' | 'DEDUCTION' | 'CHARGE';
  /** Signed, as the row shows it: negative for a deduction. */
  readonly amount: Money;
}

/** A kind of row whose rows show more than the quote has of it, by the total's own figures. */
export interface Overclaim {
  readonly kind: 'DEDUCTION' | 'CHARGE';
  /** Its rows' signed sum, in minor units (a decimal string: a sum of safe integers may pass 2^53). */
  readonly rows: string;
  /** What the quote has of it, signed as the rows are, in minor units (a decimal string). */
  readonly quote: string;
  /** Where {@link quote} comes from, e.g. "{savings} 300", or "payable 3690 − goods 3390 + {savings} 300". */
  readonly basis: string;
}

/**
 * What the renderer did to a panel's rows to serve it as `PARTIAL_BREAKDOWN` (the README's
 * "Money rules"), with the rows as the floors built them. The operator preview shows it: the
 * panel served no longer has the rows that did not add up.
 */
export interface BreakdownRepair {
  /**
   * `other-rows`: what the rows leave out of the total is shown on "other discounts" / "other
   * charges" rows above it ({@link added}); `total-only`: the rows were left out, only the total is
   * served ({@link cause}); `no-total`: the total was not settlement's payable and was left out
   * ({@link disagreed}; with it any goods row that was not the quote's goods, and then every
   * deduction and charge row too); `sub-name`: the rows stand, but a figure the total's sub-name
   * quotes (payable's savings) did not match them and was dropped.
   */
  readonly form: 'other-rows' | 'total-only' | 'no-total' | 'sub-name';
  /**
   * Why only the total (null for the other forms): `no-goods`, no goods row to start from;
   * `currencies`, rows in another currency than the total; `overclaimed`, the rows by kind
   * contradict what the total says the quote has — a row of the other kind would invent a fee or
   * a discount ({@link overclaimed} names the kind that shows more); `disagrees`, the goods rows
   * are not settlement's goods total ({@link disagreed}) — an "other" row making up the
   * difference would be a fee or a discount the quote does not have; `no-quote`, the rows do not
   * add up to a total no settlement quote backs (no floor reads settlement, or it failed: an
   * operator's PAYABLE expression over the cart) — nothing says what the difference is made of,
   * so an "other" row would be a fee or a discount no upstream has.
   */
  readonly cause: 'no-goods' | 'currencies' | 'overclaimed' | 'disagrees' | 'no-quote' | null;
  /** The GOODS, DEDUCTION and CHARGE rows the floors built, in layout order, before the repair. */
  readonly rows: readonly SummedRow[];
  /** The "other" rows added (`other-rows`); empty otherwise. */
  readonly added: readonly SummedRow[];
  /** The kinds whose rows show more than the quote has (`overclaimed`); empty otherwise. */
  readonly overclaimed: readonly Overclaim[];
  /** The rows whose amounts are not settlement's (cause `disagrees`, form `no-total`); absent otherwise. */
  readonly disagreed?: readonly Disagreement[];
}

/**
 * Rows whose amount is not what settlement's quote has of them: the GOODS rows taken together
 * (the quote's goods total), or the PAYABLE row (the quote's payable). The renderer never makes
 * up the difference: it is no part of the quote.
 */
export interface Disagreement {
  readonly kind: 'GOODS' | 'PAYABLE';
  /** The floors of that kind shown (one, as a rule). */
  readonly codes: readonly string[];
  /** What they show, in minor units (a decimal string: a sum of safe integers may pass 2^53). */
  readonly rows: string;
  /** What the quote has: its goods total, or its payable, in minor units (a decimal string). */
  readonly quote: string;
}
