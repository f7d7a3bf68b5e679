/**
 * ISO 4217 currencies and the number of digits of their minor unit, from ISO's own list as
 * the `currency-codes` package maintains it (its `iso-4217-list-one.xml`, ingested to
 * `data`). Intl is no source for this: its digits are CLDR's display defaults, which print
 * IDR, HUF, PKR, COP and LAK without their 2 ISO digits and IQD with 0 instead of 3.
 *
 * Both the upstream contracts (an unknown code is a malformed answer) and formatting (how many
 * digits a minor unit is) read this one table.
 */
import { data } from 'currency-codes';
import { ErrorCode, FloorplanError } from '../errors.ts';
import type { CurrencyCode } from './money.ts';

/**
 * Codes ISO lists with minor unit "N.A." — precious metals, bond-market units, the SDR, the
 * testing code and "no currency" — which the package records as 0 digits. None is money a cart
 * can be priced in, so none is known here.
 */
const NO_MINOR_UNIT: ReadonlySet<string> = new Set(['XAG', 'XAU', 'XBA', 'XBB', 'XBC', 'XBD', 'XDR', 'XPD', 'XPT', 'XSU', 'XTS', 'XUA', 'XXX']);

/** Minor-unit digits by code; a Map, so a name such as "toString" is not a code. */
const EXPONENTS: ReadonlyMap<string, number> = new Map(data.filter((c) => !NO_MINOR_UNIT.has(c.code)).map((c) => [c.code, c.digits]));

/** Whether `code` is a current ISO 4217 currency with a minor unit: exact, upper case, no withdrawn code. */
export function isKnownCurrency(code: string): boolean {
  return EXPONENTS.has(code);
}

/** Every code {@link isKnownCurrency} accepts, sorted (the upstream contracts' JSON Schema lists them). */
export const KNOWN_CURRENCIES: readonly string[] = Object.freeze([...EXPONENTS.keys()].sort());

/**
 * Digits of `code`'s minor unit: 0 for JPY (1 minor unit = ¥1), 2 for CNY and IDR, 3 for
 * IQD and KWD (1 minor unit = 0.001).
 * @throws FloorplanError (FLOORPLAN_ERR_MONEY_INVALID) naming a code {@link isKnownCurrency} refuses.
 */
export function minorUnitExponent(code: CurrencyCode): number {
  const digits = EXPONENTS.get(code);
  if (digits === undefined) {
    throw new FloorplanError(
      ErrorCode.MONEY_INVALID,
      { contract: 'currency must be an ISO 4217 currency code with a minor unit', received: JSON.stringify(code) },
    );
  }
  return digits;
}
