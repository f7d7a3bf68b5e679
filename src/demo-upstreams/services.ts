/**
 * The three fake services' replies, as pure functions from a request to a JSON reply.
 * No sockets here: server.ts routes, counts and injects faults.
 */
import {
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
export function cartReply(userId: string): JsonReply {
  return prepare(getDemoUser(userId)).cart;
}

/** POST /promotion/promotions/query: membership, campaigns touching the queried SKUs, all coupons. */
export function promotionReply(body: unknown): JsonReply {
  const parsed = promotionQuerySchema.safeParse(body);
  if (!parsed.success) return errorReply(400, `invalid PromotionQuery: ${describeIssues(parsed.error)}`);
  const user = getDemoUser(parsed.data.userId);
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
export function settlementReply(body: unknown): JsonReply {
  const parsed = settlementRequestSchema.safeParse(body);
  if (!parsed.success) return errorReply(400, `invalid SettlementRequest: ${describeIssues(parsed.error)}`);
  const user = getDemoUser(parsed.data.userId);
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
