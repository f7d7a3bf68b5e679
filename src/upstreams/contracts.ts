/**
 * The wire contracts of the upstream services, in one import for clients, the demo services
 * and tests. Each upstream's contract lives with its definition (`defs/<name>.ts`); the types
 * here are the wire shapes zod checks, not what panels read (those are the domain types the
 * loaders hand out through PanelData).
 */
import type { z } from 'zod';
import type { cartLineSchema, cartSchema } from './defs/cart.ts';
import type { campaignSchema, couponSchema, promotionResultSchema } from './defs/promotion.ts';
import type { settlementQuoteSchema } from './defs/settlement.ts';

export * from './wire-money.ts';
export { cartLineSchema, cartSchema } from './defs/cart.ts';
export { campaignSchema, couponSchema, membershipTierSchema, promotionQuerySchema, promotionResultSchema, type MembershipTier, type PromotionQuery } from './defs/promotion.ts';
export {
  discountKindSchema,
  KNOWN_DISCOUNT_KINDS,
  settlementQuoteSchema,
  settlementRequestSchema,
  settlementResultSchema,
  type DiscountKind,
  type SettlementRequest,
  type SettlementResult,
} from './defs/settlement.ts';
export { loyaltyAnswerSchema, loyaltyQuerySchema, type LoyaltyAnswer, type LoyaltyQuery } from './defs/loyalty.ts';
export { UPSTREAMS, type UpstreamName } from './registry.ts';

export type CartLine = z.infer<typeof cartLineSchema>;
export type Cart = z.infer<typeof cartSchema>;
export type Campaign = z.infer<typeof campaignSchema>;
export type Coupon = z.infer<typeof couponSchema>;
export type PromotionResult = z.infer<typeof promotionResultSchema>;
export type SettlementQuote = z.infer<typeof settlementQuoteSchema>;
