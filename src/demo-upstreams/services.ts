/**
 * The fake services' replies, one per registered upstream, as pure functions from a request
 * to a JSON reply. No sockets here: server.ts routes, counts and injects faults.
 *
 * Each takes, besides its request, the currency of the amounts it answers: the demo's own (CNY)
 * unless a caller asks for another. It looks its user up with `getDemoUser(userId, currency)`
 * and writes every amount in `user.currency`, so a test faking some upstreams in any currency
 * can leave the others to these (test/demo-upstreams/services.test.ts holds every registered one to it).
 */
import type { UpstreamName } from '../upstreams/registry.ts';
import {
  loyaltyQuerySchema,
  type LoyaltyAnswer,
  promotionQuerySchema,
  settlementRequestSchema,
  type Campaign,
  type Cart,
  type Coupon,
  type PromotionResult,
  type SettlementResult,
} from '../upstreams/contracts.ts';
import { getDemoUser, type DemoUser } from './data.ts';
import { PricingError, priceQuote } from './pricing.ts';

/** A complete response: status and an encoded JSON body. */
export interface JsonReply {
  readonly status: number;
  readonly body: Buffer;
}

/** Encodes `value` as a JSON reply. */
export function jsonReply(status: number, value: unknown): JsonReply {
  return { status, body: Buffer.from(JSON.stringify(value)) };
}

/** `{error: message}` with `status`. */
export function errorReply(status: number, message: string): JsonReply {
  return jsonReply(status, { error: message });
}

interface Prepared {
  readonly cart: JsonReply;
  readonly campaigns: readonly Campaign[];
  readonly coupons: readonly Coupon[];
}

// Users are memoised in data.ts, so their wire forms are encoded once per user, not per request.
const prepared = new WeakMap<DemoUser, Prepared>();

function prepare(user: DemoUser): Prepared {
  let found = prepared.get(user);
  if (found === undefined) {
    const cart: Cart = { userId: user.userId, currency: user.currency, lines: [...user.lines] };
    const campaigns: Campaign[] = [
      ...user.instantCampaigns.map((c): Campaign => ({ id: c.id, kind: 'instant', title: c.title, skuIds: [...c.skuIds] })),
      ...user.fullReductionCampaigns.map(
        (c): Campaign => ({ id: c.id, kind: 'full-reduction', title: c.title, skuIds: [...c.skuIds] }),
      ),
    ];
    const coupons = user.coupons.map(
      (c): Coupon => ({
        id: c.id,
        title: c.title,
        claimed: c.claimed,
        discount: { minor: c.discount, currency: user.currency },
        threshold: { minor: c.threshold, currency: user.currency },
      }),
    );
    found = { cart: jsonReply(200, cart), campaigns, coupons };
    prepared.set(user, found);
  }
  return found;
}

function describeIssues(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.map(String).join('.') : '(body)'}: ${issue.message}`)
    .join('; ');
}

/** GET /cart/carts/{userId}: every user has a cart, possibly empty. */
export function cartReply(userId: string, currency?: string): JsonReply {
  return prepare(getDemoUser(userId, currency)).cart;
}

/** POST /promotion/promotions/query: membership, campaigns touching the queried SKUs, all coupons. */
export function promotionReply(body: unknown, currency?: string): JsonReply {
  const parsed = promotionQuerySchema.safeParse(body);
  if (!parsed.success) return errorReply(400, `invalid PromotionQuery: ${describeIssues(parsed.error)}`);
  const user = getDemoUser(parsed.data.userId, currency);
  const { campaigns, coupons } = prepare(user);
  const queried = new Set(parsed.data.skuIds);
  const result: PromotionResult = {
    userId: user.userId,
    membership: {
      tier: user.membership.tier,
      plus95QuotaRemaining:
        user.membership.plus95QuotaRemaining === null
          ? null
          : { minor: user.membership.plus95QuotaRemaining, currency: user.currency },
    },
    campaigns: campaigns.filter((campaign) => campaign.skuIds.some((skuId) => queried.has(skuId))),
    coupons: [...coupons],
  };
  return jsonReply(200, result);
}

/** POST /settlement/settlement/quotes: one priced quote per requested quote, same order. */
export function settlementReply(body: unknown, currency?: string): JsonReply {
  const parsed = settlementRequestSchema.safeParse(body);
  if (!parsed.success) return errorReply(400, `invalid SettlementRequest: ${describeIssues(parsed.error)}`);
  const user = getDemoUser(parsed.data.userId, currency);
  try {
    const result: SettlementResult = {
      quotes: parsed.data.quotes.map((quote) => priceQuote(user, quote.quoteId, quote.lines)),
    };
    return jsonReply(200, result);
  } catch (error) {
    if (error instanceof PricingError) return errorReply(error.status, error.message);
    throw error;
  }
}

/** Loyalty points per whole yuan of goods; PLUS members earn double. */
const POINTS_PER_YUAN = 1;
/** Points are usable in whole hundreds, 100 points for ¥1.00. */
const POINTS_PER_USABLE_STEP = 100;

/** POST /loyalty/points/query: the balance, what is usable, and what each order earns at the user's prices. */
export function loyaltyReply(body: unknown, currency?: string): JsonReply {
  const parsed = loyaltyQuerySchema.safeParse(body);
  if (!parsed.success) return errorReply(400, `invalid LoyaltyQuery: ${describeIssues(parsed.error)}`);
  const user = getDemoUser(parsed.data.userId, currency);
  const factor = user.membership.tier === 'plus' ? 2 : 1;
  const usablePoints = Math.floor(user.loyaltyBalance / POINTS_PER_USABLE_STEP) * POINTS_PER_USABLE_STEP;
  const result: LoyaltyAnswer = {
    userId: user.userId,
    balance: user.loyaltyBalance,
    // 100 points are worth ¥1.00, i.e. one point one fen.
    usable: { points: usablePoints, value: { minor: usablePoints, currency: user.currency } },
    orders: parsed.data.orders.map((order) => {
      const goods = order.lines.reduce((sum, line) => sum + (user.unitPrices.get(line.skuId) ?? 0) * line.quantity, 0);
      return { orderId: order.orderId, earns: Math.floor(goods / 100) * POINTS_PER_YUAN * factor };
    }),
  };
  return jsonReply(200, result);
}

/**
 * Each upstream's fake, by name: the demo server serves every registered upstream (a missing one
 * fails to compile). `currency`: of the amounts it answers; the demo's own (CNY) when undefined.
 */
export const DEMO_SERVICES: { readonly [N in UpstreamName]: (request: never, currency?: string) => JsonReply } = {
  cart: (userId: string, currency?: string) => cartReply(userId, currency),
  promotion: promotionReply,
  settlement: settlementReply,
  loyalty: loyaltyReply,
};
