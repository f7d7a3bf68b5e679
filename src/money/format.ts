/**
 * Formats Money for a locale, once, at the edge: `¥20.90`, `-¥5.00`, `¥1,000.00`.
 *
 * A minor unit has as many decimal digits as ISO 4217 gives its currency ({@link minorUnitExponent}),
 * and Intl prints exactly those: its own defaults are CLDR's, which would print 123456 IDR minor
 * units as "IDR 123,456" (ISO: 1,234.56) and 1234 IQD fils as "IQD 1,234" (ISO: 1.234).
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
import { ErrorCode, FloorplanError } from '../errors.ts';
import { minorUnitExponent } from './currency.ts';
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
    const fractionDigits = minorUnitExponent(currency);
    const format = new Intl.NumberFormat(locale, {
      style: 'currency',
      currency,
      minimumFractionDigits: fractionDigits,
      maximumFractionDigits: fractionDigits,
    });
    entry = { format, fractionDigits, formatted: new Map() };
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

/**
 * Formats an amount for a BCP 47 locale, e.g. formatMoney({minor: -500, currency: 'CNY'}, 'zh-CN') → "-¥5.00".
 * Zero is unsigned whatever its sign bit ("¥0.00", never "-¥0.00").
 * @throws FloorplanError (FLOORPLAN_ERR_MONEY_INVALID) for a currency ISO 4217 does not list, or
 * minor units that are not a safe integer (NaN, a fraction): they would print as "¥NaN" or a wrong amount.
 */
export function formatMoney(amount: Money, locale: string): string {
  const { format, fractionDigits, formatted } = formatterFor(locale, amount.currency);
  let text = formatted.get(amount.minor);
  if (text === undefined) {
    if (!Number.isSafeInteger(amount.minor)) {
      throw new FloorplanError(ErrorCode.MONEY_INVALID, { contract: 'amount must be a safe integer of minor units', received: String(amount.minor) });
    }
    // Intl accepts decimal strings exactly (Intl.NumberFormat v3); the cast is for older lib typings.
    text = format.format(minorToDecimalString(amount.minor, fractionDigits) as unknown as number);
    if (formatted.size >= FORMATTED_AMOUNTS) formatted.clear();
    formatted.set(amount.minor, text);
  }
  return text;
}
