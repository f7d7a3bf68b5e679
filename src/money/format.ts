/**
 * Formats Money for a locale, once, at the edge: `¥20.90`, `-¥5.00`, `¥1,000.00`.
 *
 * Intl.NumberFormat is costly to construct, so one formatter per (locale, currency) is kept
 * for the life of the process. Minor units become a decimal *string* before formatting, so
 * amounts above 2^53 / 100 are still printed digit for digit.
 *
 * Formatting itself costs several microseconds, and a panel formats every amount it shows;
 * prices, discounts and fees repeat across carts, so recent results are kept (bounded).
 */
import { LRUCache } from 'lru-cache';
import type { Money } from './money.ts';

/** Formatted amounts kept, by locale, currency and minor units. */
const FORMATTED_AMOUNTS = 10_000;
const formatted = new LRUCache<string, string>({ max: FORMATTED_AMOUNTS });

interface CurrencyFormatter {
  readonly format: Intl.NumberFormat;
  readonly fractionDigits: number;
}

const formatters = new Map<string, CurrencyFormatter>();

function formatterFor(locale: string, currency: string): CurrencyFormatter {
  const key = `${locale}\u0000${currency}`;
  let entry = formatters.get(key);
  if (entry === undefined) {
    const format = new Intl.NumberFormat(locale, { style: 'currency', currency });
    entry = { format, fractionDigits: format.resolvedOptions().maximumFractionDigits ?? 2 };
    formatters.set(key, entry);
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
  const key = `${amount.minor}\u0000${amount.currency}\u0000${locale}`;
  let text = formatted.get(key);
  if (text === undefined) {
    const { format, fractionDigits } = formatterFor(locale, amount.currency);
    // Intl accepts decimal strings exactly (Intl.NumberFormat v3); the cast is for older lib typings.
    text = format.format(minorToDecimalString(amount.minor, fractionDigits) as unknown as number);
    formatted.set(key, text);
  }
  return text;
}
