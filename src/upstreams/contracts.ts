/**
 * The wire contracts of the three upstream services Floorplan aggregates.
 *
 * Every response is parsed with these schemas before anything else reads it, so a
 * malformed payload becomes an upstream failure (FLOORPLAN_ERR_UPSTREAM_MALFORMED),
 * never a crash or a wrong price. Amounts on the wire are integer minor units with an
 * ISO 4217 currency, exact up to Number.MAX_SAFE_INTEGER.
 *
 * Upstream clients and the demo upstream server share these types; nothing here knows
 * about floors, layouts or GraphQL.
 */
import { z } from 'zod';
import { isKnownCurrency } from '../money/currency.ts';

/** Integer minor units (fen for CNY), exact: a non-safe integer is rejected, never rounded. */
export const minorUnitsSchema = z
  .number()
  .refine(Number.isSafeInteger, { message: 'must be a safe integer number of minor units' });

/** A current ISO 4217 code with a minor unit, e.g. "CNY": an unknown or withdrawn code would leave its amounts' digits a guess. */
export const currencySchema = z.string().refine(isKnownCurrency, {
  error: (issue) => `must be an ISO 4217 currency code with a minor unit, such as "CNY", but got: ${JSON.stringify(issue.input)}`,
});

/** An amount of money on the wire. */
export const wireMoneySchema = z.object({
  minor: minorUnitsSchema,
  currency: currencySchema,
});
export type WireMoney = z.infer<typeof wireMoneySchema>;

const nonNegativeMoneySchema = wireMoneySchema.refine((m) => m.minor >= 0, {
  message: 'must not be negative',
});

// ---------------------------------------------------------------------------------------
// Cart service: GET {cart}/carts/{userId}
// Any user has a cart; a user who never added anything gets `lines: []`.
// ---------------------------------------------------------------------------------------

export const cartLineSchema = z.object({
  skuId: z.string().min(1),
  title: z.string(),
  quantity: z.number().int().positive(),
  /** Price of one unit, in the cart's currency. */
  unitPrice: nonNegativeMoneySchema,
  /** Whether the shopper ticked this line for checkout. */
  selected: z.boolean(),
});
export type CartLine = z.infer<typeof cartLineSchema>;

export const cartSchema = z.object({
  userId: z.string().min(1),
  currency: currencySchema,
  lines: z.array(cartLineSchema),
});
export type Cart = z.infer<typeof cartSchema>;

// ---------------------------------------------------------------------------------------
// Promotion service: POST {promotion}/promotions/query  body PromotionQuery
// Campaign metadata, coupons and membership facts. It does not price: settlement does.
// ---------------------------------------------------------------------------------------

export const promotionQuerySchema = z.object({
  userId: z.string().min(1),
  /** The SKUs the shopper is looking at; campaigns are returned for these only. */
  skuIds: z.array(z.string().min(1)),
});
export type PromotionQuery = z.infer<typeof promotionQuerySchema>;

export const membershipTierSchema = z.enum(['plus', 'none']);
export type MembershipTier = z.infer<typeof membershipTierSchema>;

export const campaignSchema = z.object({
  id: z.string().min(1),
  /** `instant`: 立减 per SKU; `full-reduction`: 满减, a threshold and an amount off. */
  kind: z.enum(['instant', 'full-reduction']),
  /** Shopper-facing title, e.g. "满199减20". */
  title: z.string(),
  skuIds: z.array(z.string()),
});
export type Campaign = z.infer<typeof campaignSchema>;

export const couponSchema = z.object({
  id: z.string().min(1),
  title: z.string(),
  /** Whether the shopper has claimed (领取) it; only claimed coupons can apply. */
  claimed: z.boolean(),
  /** Face value. */
  discount: nonNegativeMoneySchema,
  /** Minimum goods total for the coupon to apply. */
  threshold: nonNegativeMoneySchema,
});
export type Coupon = z.infer<typeof couponSchema>;

export const promotionResultSchema = z.object({
  userId: z.string().min(1),
  membership: z.object({
    tier: membershipTierSchema,
    /** PLUS 95% quota left this month; null for non-members. */
    plus95QuotaRemaining: nonNegativeMoneySchema.nullable(),
  }),
  campaigns: z.array(campaignSchema),
  coupons: z.array(couponSchema),
});
export type PromotionResult = z.infer<typeof promotionResultSchema>;

// ---------------------------------------------------------------------------------------
// Settlement service: POST {settlement}/settlement/quotes  body SettlementRequest
// The authority on amounts. Several quotes (selections of the same cart) in one call,
// so a request that needs two selections still makes one settlement call.
// ---------------------------------------------------------------------------------------

export const settlementRequestSchema = z.object({
  userId: z.string().min(1),
  quotes: z
    .array(
      z.object({
        /** Caller-chosen id, echoed back on the matching quote. */
        quoteId: z.string().min(1),
        lines: z.array(z.object({ skuId: z.string().min(1), quantity: z.number().int().positive() })),
      }),
    )
    .min(1),
});
export type SettlementRequest = z.infer<typeof settlementRequestSchema>;

export const discountKindSchema = z.enum(['instant', 'full-reduction', 'coupon', 'plus95']);
export type DiscountKind = z.infer<typeof discountKindSchema>;

export const settlementQuoteSchema = z.object({
  quoteId: z.string().min(1),
  currency: currencySchema,
  /** The lines this quote priced, as requested: Floorplan checks they are exactly the selected cart lines. */
  lines: z.array(z.object({ skuId: z.string().min(1), quantity: z.number().int().positive() })),
  /** Σ unit price × quantity over the quoted lines. */
  goodsTotal: nonNegativeMoneySchema,
  /** Each deduction as a positive amount taken off the goods total; several of one kind are summed. */
  discounts: z.array(
    z.object({
      kind: discountKindSchema,
      amount: nonNegativeMoneySchema,
      /** Campaign or coupon ids that produced this deduction. */
      sourceIds: z.array(z.string()),
    }),
  ),
  shipping: nonNegativeMoneySchema,
  /** Expected PLUS cash-back after purchase; informational, not part of payable. */
  plusRebate: nonNegativeMoneySchema,
  /** goodsTotal − Σ discounts + shipping. */
  payable: nonNegativeMoneySchema,
});
export type SettlementQuote = z.infer<typeof settlementQuoteSchema>;

export const settlementResultSchema = z.object({
  quotes: z.array(settlementQuoteSchema),
});
export type SettlementResult = z.infer<typeof settlementResultSchema>;

/** The three upstreams, by the name used in config, metrics and kill switches. */
export const UPSTREAMS = ['cart', 'promotion', 'settlement'] as const;
export type UpstreamName = (typeof UPSTREAMS)[number];
