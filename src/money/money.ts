/**
 * Money as integer minor units with an ISO 4217 currency, end to end.
 *
 * Amounts stay JavaScript numbers (not bigint) because every wire format here is JSON, but
 * every operation checks `Number.isSafeInteger`, so an amount is exact or an error — never
 * silently rounded. Formatting is the edge's job ({@link formatMoney}).
 */
import { ErrorCode, FloorplanError } from '../errors.ts';

/** Integer minor units (fen for CNY, yen for JPY). Always a safe integer. */
export type MinorUnits = number;

/** An ISO 4217 alphabetic code, e.g. "CNY". */
export type CurrencyCode = string;

/** An exact amount: integer minor units of one currency. Negative for deductions. */
export interface Money {
  readonly minor: MinorUnits;
  readonly currency: CurrencyCode;
}

function checkedMinor(value: number, what: string): MinorUnits {
  if (!Number.isSafeInteger(value)) {
    throw new FloorplanError(
      ErrorCode.MONEY_INVALID,
      { contract: `${what} must be a safe integer of minor units`, received: String(value) },
    );
  }
  return value;
}

/** Builds a Money, refusing a non-integer or out-of-range amount. */
export function money(minor: number, currency: CurrencyCode): Money {
  return { minor: checkedMinor(minor, 'amount'), currency };
}

/** The same amount with its sign flipped: a deduction of ¥5.00 is -500. */
export function negate(amount: Money): Money {
  return { minor: amount.minor === 0 ? 0 : -amount.minor, currency: amount.currency };
}

/** Adds amounts of one currency exactly. */
export function sum(amounts: readonly Money[], currency: CurrencyCode): Money {
  let total = 0;
  for (const a of amounts) {
    if (a.currency !== currency) {
      throw new FloorplanError(
        ErrorCode.MONEY_INVALID,
        { contract: `amounts must share currency ${currency} to be added`, received: a.currency },
      );
    }
    total = checkedMinor(total + a.minor, 'sum');
  }
  return { minor: total, currency };
}

export function isZero(amount: Money): boolean {
  return amount.minor === 0;
}
