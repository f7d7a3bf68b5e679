/** Cart service: `GET {cart}/carts/{userId}`. Any user has a cart; one who never added anything gets `lines: []`. */
import { z } from 'zod';
import type { Money } from '../../money/money.ts';
import { defineUpstream, STANDARD_DEFAULTS, type Violation } from '../definition.ts';
import { currencySchema, nonNegativeMoneySchema } from '../wire-money.ts';

export const cartLineSchema = z.object({
  skuId: z.string().min(1),
  title: z.string(),
  quantity: z.number().int().positive(),
  /** Price of one unit, in the cart's currency. */
  unitPrice: nonNegativeMoneySchema,
  /** Whether the shopper ticked this line for checkout. */
  selected: z.boolean(),
});

export const cartSchema = z.object({
  userId: z.string().min(1),
  currency: currencySchema,
  lines: z.array(cartLineSchema),
});
export type CartWire = z.infer<typeof cartSchema>;

/** One line of the viewer's cart. */
export interface CartLine {
  readonly skuId: string;
  readonly title: string;
  readonly quantity: number;
  /** Price of one unit, in the cart's currency. */
  readonly unitPrice: Money;
  /** Whether the shopper ticked this line for checkout. */
  readonly selected: boolean;
}

/** The viewer's cart. */
export interface Cart {
  readonly userId: string;
  readonly currency: string;
  readonly lines: readonly CartLine[];
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

export const cart = defineUpstream({
  name: 'cart',
  description: 'The viewer’s cart: lines, unit prices, what is ticked.',
  call: { method: 'GET', path: (userId: string) => `/carts/${encodeURIComponent(userId)}` },
  response: cartSchema,
  keyedBy: 'viewer',
  toRequest: (userId) => userId,
  toResults: (answer): Cart[] => [answer],
  check: (answer) => checkCartCurrency(answer.currency, answer.lines),
  defaults: STANDARD_DEFAULTS,
});
