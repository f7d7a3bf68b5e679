/**
 * Loyalty service: `POST {loyalty}/points/query` `{userId, orders: [{orderId, lines}]}` — the
 * member's points: the balance, the points each order (selection) earns, and the points usable
 * as a deduction with their cash value. Several selections of one request go in one call.
 */
import { z } from 'zod';
import type { Money } from '../../money/money.ts';
import { currencyMismatch, defineUpstream, MissingAnswer, STANDARD_DEFAULTS } from '../definition.ts';
import { nonNegativeMoneySchema, wireLinesSchema } from '../wire-money.ts';

const pointsSchema = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const loyaltyQuerySchema = z.object({
  userId: z.string().min(1),
  orders: z.array(z.object({ orderId: z.string().min(1), lines: wireLinesSchema })).min(1),
});
export type LoyaltyQuery = z.infer<typeof loyaltyQuerySchema>;

export const loyaltyAnswerSchema = z.object({
  userId: z.string().min(1),
  /** Points the member holds now. */
  balance: pointsSchema,
  /** Of the balance, the points usable as a deduction on an order, and what they are worth. */
  usable: z.object({ points: pointsSchema, value: nonNegativeMoneySchema }),
  /** Points each order earns once paid, by the orderId asked. */
  orders: z.array(z.object({ orderId: z.string().min(1), earns: pointsSchema })),
});
export type LoyaltyAnswer = z.infer<typeof loyaltyAnswerSchema>;

/** A count of loyalty points (积分): not money, never added to a panel's amounts. */
export type Points = number;

/** The viewer's points, for one selection. */
export interface LoyaltyPoints {
  /** Points held now. */
  readonly balance: Points;
  /** Points this order earns once paid. */
  readonly earns: Points;
  /** Points usable as a deduction, and their value in the cart's currency (settlement does not apply them). */
  readonly usable: { readonly points: Points; readonly value: Money };
}

function hasOrder(answer: LoyaltyAnswer, orderId: string): boolean {
  for (const order of answer.orders) if (order.orderId === orderId) return true;
  return false;
}

export const loyalty = defineUpstream({
  name: 'loyalty',
  description: 'Member points: balance, points this order earns, points usable as a deduction.',
  call: { method: 'POST', path: '/points/query' },
  request: loyaltyQuerySchema,
  response: loyaltyAnswerSchema,
  keyedBy: 'selection',
  toRequest: (userId, selections): LoyaltyQuery => ({
    userId,
    orders: selections.map((s, index) => ({ orderId: `o${index}`, lines: s.lines.map((l) => ({ skuId: l.skuId, quantity: l.quantity })) })),
  }),
  toResults: (answer, selections): Array<LoyaltyPoints | MissingAnswer> => {
    const earned = new Map(answer.orders.map((o) => [o.orderId, o.earns]));
    return selections.map((_, index) => {
      const earns = earned.get(`o${index}`);
      return earns === undefined ? new MissingAnswer(`answered no order for orderId "o${index}"`) : { balance: answer.balance, earns, usable: answer.usable };
    });
  },
  answersAll: (request, answer) => {
    // An order or two each way: a scan, with nothing to allocate on every call.
    for (const asked of request.orders) if (!hasOrder(answer, asked.orderId)) return false;
    return true;
  },
  check: (points, selection) => (selection === undefined ? undefined : currencyMismatch('loyalty', [['usable.value', points.usable.value]], selection.currency)),
  defaults: STANDARD_DEFAULTS,
});
