/**
 * Promotion service: `POST {promotion}/promotions/query` `{userId, skuIds}`. Campaign metadata,
 * coupons and membership facts; it does not price (settlement does). The SKUs of every selection
 * a request asks about go in one query; each selection gets the campaigns touching its own SKUs.
 */
import { z } from 'zod';
import type { Money } from '../../money/money.ts';
import { currencyMismatch, defineUpstream, STANDARD_DEFAULTS } from '../definition.ts';
import { nonNegativeMoneySchema } from '../wire-money.ts';

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
export type PromotionWire = z.infer<typeof promotionResultSchema>;

/** A campaign touching the selection. */
export interface Campaign {
  readonly id: string;
  /** `instant`: 立减 per SKU; `full-reduction`: 满减, a threshold and an amount off. */
  readonly kind: 'instant' | 'full-reduction';
  /** Shopper-facing title, e.g. "满199减20". */
  readonly title: string;
  readonly skuIds: readonly string[];
}

/** A coupon offered to the viewer. */
export interface Coupon {
  readonly id: string;
  readonly title: string;
  /** Whether the shopper has claimed (领取) it; only claimed coupons can apply. */
  readonly claimed: boolean;
  readonly discount: Money;
  readonly threshold: Money;
}

/** Campaigns, coupons and membership for one selection. */
export interface Promotion {
  readonly userId: string;
  readonly membership: {
    readonly tier: MembershipTier;
    /** PLUS 95% quota left this month; null for non-members. */
    readonly plus95QuotaRemaining: Money | null;
  };
  readonly campaigns: readonly Campaign[];
  readonly coupons: readonly Coupon[];
}

/** Checks that every amount promotion sent is in the cart's currency. */
export function checkPromotion(result: Promotion, cartCurrency: string) {
  const amounts: Array<readonly [string, Money]> = result.coupons.flatMap((c) => [
    [`coupon ${c.id} discount`, c.discount] as const,
    [`coupon ${c.id} threshold`, c.threshold] as const,
  ]);
  const quota = result.membership.plus95QuotaRemaining;
  if (quota !== null) amounts.push(['membership.plus95QuotaRemaining', quota]);
  return currencyMismatch('promotion', amounts, cartCurrency);
}

/** Every SKU the selections cover, once each, in order. */
function skuIdsOf(selections: ReadonlyArray<{ readonly lines: ReadonlyArray<{ readonly skuId: string }> }>): string[] {
  const [only] = selections;
  if (selections.length === 1 && only !== undefined) {
    // The usual request: one selection whose lines are already in SKU order, each SKU once.
    const skuIds = only.lines.map((l) => l.skuId);
    if (isStrictlyAscending(skuIds)) return skuIds;
  }
  return [...new Set(selections.flatMap((s) => s.lines.map((l) => l.skuId)))].sort();
}

/** Whether `ids` is in the order `sort()` puts it (UTF-16 code units) with no repeats. */
export function isStrictlyAscending(ids: readonly string[]): boolean {
  for (let i = 1; i < ids.length; i++) if (!((ids[i - 1] as string) < (ids[i] as string))) return false;
  return true;
}

export const promotion = defineUpstream({
  name: 'promotion',
  description: 'Membership, campaigns and coupons for the selected SKUs; never prices.',
  call: { method: 'POST', path: '/promotions/query' },
  request: promotionQuerySchema,
  response: promotionResultSchema,
  keyedBy: 'selection',
  toRequest: (userId, selections): PromotionQuery => ({ userId, skuIds: skuIdsOf(selections) }),
  toResults: (answer, selections): Promotion[] =>
    selections.length === 1
      ? [answer]
      : selections.map((selection) => {
          const skus = new Set(selection.lines.map((l) => l.skuId));
          return { ...answer, campaigns: answer.campaigns.filter((c) => c.skuIds.some((s) => skus.has(s))) };
        }),
  check: (result, selection) => (selection === undefined ? undefined : checkPromotion(result, selection.currency)),
  defaults: STANDARD_DEFAULTS,
});
