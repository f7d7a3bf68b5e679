/**
 * Formats Money for a locale, once, at the edge: `¥20.90`, `-¥5.00`, `¥1,000.00`.
 *
 * Intl.NumberFormat is costly to construct, so one formatter per (locale, currency) is kept
 * for the life of the process. Minor units become a decimal *string* before formatting, so
 * amounts above 2^53 / 100 are still printed digit for digit.
 *
 * Formatting itself costs several microseconds, and a panel formats every amount it shows;
 * prices, discounts and fees repeat across carts, so results are kept per formatter, keyed
 * by the amount itself (a number: no key string to build per lookup). Each formatter keeps
 * at most FORMATTED_AMOUNTS and starts afresh when full.
 */
import type { Money } from './money.ts';

const FORMATTED_AMOUNTS = 10_000;

interface CurrencyFormatter {
  readonly format: Intl.NumberFormat;
  readonly fractionDigits: number;
  /** Formatted text by minor units. */
  readonly formatted: Map<number, string>;
}

/** By locale, then currency: no key string to build per lookup. */
const formatters = new Map<string, Map<string, CurrencyFormatter>>();

function formatterFor(locale: string, currency: string): CurrencyFormatter {
  let byCurrency = formatters.get(locale);
  if (byCurrency === undefined) {
    byCurrency = new Map();
    formatters.set(locale, byCurrency);
  }
  let entry = byCurrency.get(currency);
  if (entry === undefined) {
    const format = new Intl.NumberFormat(locale, { style: 'currency', currency });
    entry = { format, fractionDigits: format.resolvedOptions().maximumFractionDigits ?? 2, formatted: new Map() };
    byCurrency.set(currency, entry);
  }
  return entry;
}

/** `12345` with 2 digits → `"123.45"`; `-5` → `"-0.05"`. Exact for any safe integer. */
export function minorToDecimalString(minor: number, fractionDigits: number): string {
  const negative = minor < 0;
  const digits = String(Math.abs(minor));
  if (fractionDigits === 0) return negative ? `-${digits}` : digits;
  const padded = digits.padStart(fractionDigits + 1, '0');
  const whole = padded.slice(0, -fractionDigits);
  const fraction = padded.slice(-fractionDigits);
  return `${negative ? '-' : ''}${whole}.${fraction}`;
}

/** Formats an amount for a BCP 47 locale, e.g. formatMoney({minor: -500, currency: 'CNY'}, 'zh-CN') → "-¥5.00". */
export function formatMoney(amount: Money, locale: string): string {
  const { format, fractionDigits, formatted } = formatterFor(locale, amount.currency);
  let text = formatted.get(amount.minor);
  if (text === undefined) {
    // Intl accepts decimal strings exactly (Intl.NumberFormat v3); the cast is for older lib typings.
    text = format.format(minorToDecimalString(amount.minor, fractionDigits) as unknown as number);
    if (formatted.size >= FORMATTED_AMOUNTS) formatted.clear();
    formatted.set(amount.minor, text);
  }
  return text;
}
