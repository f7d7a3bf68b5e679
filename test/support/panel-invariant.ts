/**
 * The money invariant every served panel must keep, checked the way a shopper would: the
 * GOODS, DEDUCTION and CHARGE rows shown add up to the PAYABLE row shown; the savings the
 * payable row's sub-name quotes equal the deductions shown; no text a currency would not
 * print; a degraded panel says why, and names the upstream when an upstream is why.
 */

export interface InvariantFloor {
  readonly code: string;
  readonly kind: string;
  readonly priceText: string | null;
  readonly amount: { readonly minor: number; readonly currency: string } | null;
  readonly subName: string | null;
}

export interface InvariantPanel {
  readonly degraded: boolean;
  readonly failedUpstreams: readonly string[];
  readonly degradedReasons: readonly string[];
  readonly floors: readonly InvariantFloor[];
}

import { minorUnitExponent } from '../../src/money/currency.ts';
import { formatMoney } from '../../src/money/format.ts';

const SUMMED = new Set(['GOODS', 'DEDUCTION', 'CHARGE']);
/** The payable sub-names of the shipped layouts, by locale: the savings figure follows the label. */
const SAVINGS_LABELS = [/^共优惠 (.+)$/, /^You save (.+)$/];
const UPSTREAM_REASONS = new Set(['UPSTREAM_FAILED', 'QUOTE_INCONSISTENT', 'CURRENCY_MISMATCH']);

/** zh-CN CNY text such as "¥1,234.05" or "-¥5.00" → signed fen; undefined when it is not one. */
export function cnyText(text: string): number | undefined {
  const match = /^(-?)¥(\d{1,3}(?:,\d{3})*)\.(\d{2})$/.exec(text);
  if (match === null) return undefined;
  const minor = Number(match[2]!.replaceAll(',', '')) * 100 + Number(match[3]);
  return match[1] === '-' ? -minor : minor;
}

/**
 * Every way `panel` breaks the invariant (empty when it holds). `locale` is the panel's: money
 * texts are compared with what Floorplan's formatter prints for the amounts the rows carry,
 * and their fraction digits with the currency's ISO 4217 exponent.
 */
export function invariantProblems(panel: InvariantPanel, locale = 'zh-CN'): string[] {
  const problems: string[] = [];
  const payable = panel.floors.filter((f) => f.kind === 'PAYABLE');
  if (payable.length > 1) problems.push(`${payable.length} PAYABLE rows`);
  const currencies = new Set(panel.floors.flatMap((f) => (f.amount === null ? [] : [f.amount.currency])));
  if (currencies.size > 1) problems.push(`rows in several currencies: ${[...currencies].join(', ')}`);
  const total = payable[0];
  if (total !== undefined && total.amount !== null) {
    // BigInt: partial sums of safe amounts may leave the safe range.
    const sum = panel.floors.filter((f) => SUMMED.has(f.kind)).reduce((n, f) => n + BigInt(f.amount?.minor ?? 0), 0n);
    if (sum !== BigInt(total.amount.minor)) problems.push(`rows add up to ${sum} but payable is ${total.amount.minor}`);
    const savings = total.subName === null ? undefined : SAVINGS_LABELS.map((label) => label.exec(total.subName!)?.[1]).find((s) => s !== undefined);
    if (savings !== undefined) {
      const deductions = -Number(panel.floors.filter((f) => f.kind === 'DEDUCTION').reduce((n, f) => n + BigInt(f.amount?.minor ?? 0), 0n));
      const expected = formatMoney({ minor: deductions, currency: total.amount.currency }, locale);
      if (savings !== expected) problems.push(`sub-name "${total.subName}" but the deductions shown add up to ${expected}`);
    }
  }
  for (const floor of panel.floors) {
    for (const text of [floor.priceText, floor.subName]) {
      if (text !== null && /NaN|undefined|null|-¥0\.00|¥-|\{|\}/.test(text)) problems.push(`${floor.code}: text ${JSON.stringify(text)}`);
    }
    if (floor.subName !== null && /[:：]?\s$/.test(floor.subName)) problems.push(`${floor.code}: sub-name with no value ${JSON.stringify(floor.subName)}`);
    // A price text with digits is the amount, formatted; one without (免运费) is a zero text.
    if (floor.amount !== null && floor.priceText !== null && /\d/.test(floor.priceText)) {
      const expected = formatMoney(floor.amount, locale);
      if (floor.priceText !== expected) problems.push(`${floor.code}: priceText ${floor.priceText} but amount ${floor.amount.minor} is ${expected}`);
      const fraction = /\.(\d+)\D*$/.exec(floor.priceText)?.[1]?.length ?? 0;
      const exponent = minorUnitExponent(floor.amount.currency);
      if (fraction !== exponent) problems.push(`${floor.code}: ${floor.priceText} shows ${fraction} fraction digits, ${floor.amount.currency} has ${exponent}`);
    }
  }
  if (panel.degraded && panel.degradedReasons.length === 0) problems.push('degraded without a reason');
  if (!panel.degraded && panel.degradedReasons.length > 0) problems.push(`reasons ${panel.degradedReasons.join(', ')} on a panel that is not degraded`);
  if (panel.degradedReasons.some((r) => UPSTREAM_REASONS.has(r)) && panel.failedUpstreams.length === 0) {
    problems.push(`degraded because of an upstream (${panel.degradedReasons.join(', ')}) but failedUpstreams is empty`);
  }
  if (panel.failedUpstreams.length > 0 && !panel.degraded) problems.push('failedUpstreams on a panel that is not degraded');
  return problems;
}
