/**
 * The wire primitives every upstream contract shares: amounts are integer minor units with an
 * ISO 4217 currency, exact up to Number.MAX_SAFE_INTEGER.
 */
import { z } from 'zod';
import { isKnownCurrency, KNOWN_CURRENCIES } from '../money/currency.ts';
import { refinedAs } from './wire-check.ts';

/** Integer minor units (fen for CNY), exact: a non-safe integer is rejected, never rounded. */
export const minorUnitsSchema = refinedAs(
  z.number().refine(Number.isSafeInteger, { message: 'must be a safe integer number of minor units' }),
  (node) => Object.assign(node, { type: 'integer', minimum: Number.MIN_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER }),
);

/** A current ISO 4217 code with a minor unit, e.g. "CNY": an unknown or withdrawn code would leave its amounts' digits a guess. */
export const currencySchema = refinedAs(
  z.string().refine(isKnownCurrency, {
    error: (issue) => `must be an ISO 4217 currency code with a minor unit, such as "CNY", but got: ${JSON.stringify(issue.input)}`,
  }),
  (node) => Object.assign(node, { enum: KNOWN_CURRENCIES }),
);

/** An amount of money on the wire. */
export const wireMoneySchema = z.object({
  minor: minorUnitsSchema,
  currency: currencySchema,
});
export type WireMoney = z.infer<typeof wireMoneySchema>;

/** Minor units that must not be negative. */
const nonNegativeMinorUnitsSchema = refinedAs(minorUnitsSchema.min(0, { message: 'must not be negative' }), (node) =>
  Object.assign(node, { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
);

/** An amount that must not be negative (prices, discounts taken off, totals). */
export const nonNegativeMoneySchema = z.object({
  minor: nonNegativeMinorUnitsSchema,
  currency: currencySchema,
});

/** Lines of a selection as a service is asked to price or count them: `[{skuId, quantity}]`. */
export const wireLinesSchema = z.array(z.object({ skuId: z.string().min(1), quantity: z.number().int().positive() }));
