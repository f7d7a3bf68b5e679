/**
 * The demo settlement's pricing: the authority on amounts, in exact integer minor units.
 *
 * Order of deductions: 立减 (instant) → 满减 (full-reduction) → best claimed coupon →
 * 新人立减 (new-customer) → PLUS 95折; then shipping, payable and the PLUS rebate.
 */
import type { DiscountKind, SettlementQuote } from '../upstreams/contracts.ts';
import type { DemoUser } from './data.ts';

/** Goods total (after discounts) from which shipping is free. */
export const FREE_SHIPPING_FROM = 9900;
/** Shipping fee below FREE_SHIPPING_FROM for non-members. */
export const SHIPPING_FEE = 600;

/** One requested line of a quote. */
export interface QuoteLine {
  readonly skuId: string;
  readonly quantity: number;
}

/** A quote the settlement refuses to price; the server answers `status` with the message. */
export class PricingError extends Error {
  constructor(
    message: string,
    readonly status: number = 422,
  ) {
    super(message);
    this.name = 'PricingError';
  }
}

function safe(value: number): number {
  if (!Number.isSafeInteger(value)) {
    throw new PricingError('amount exceeds the exact integer range of minor units');
  }
  return value;
}

/** floor(value / divisor) without going through a fraction, so it stays exact near 2^53. */
function floorDiv(value: number, divisor: number): number {
  return (value - (value % divisor)) / divisor;
}

/**
 * Prices one quote over `lines` at the unit prices of `user`'s cart.
 * @throws PricingError (422) for a SKU not in the cart or an amount beyond safe integers.
 */
export function priceQuote(user: DemoUser, quoteId: string, lines: readonly QuoteLine[]): SettlementQuote {
  const subtotals = new Map<string, number>();
  const quantities = new Map<string, number>();
  let goodsTotal = 0;
  for (const { skuId, quantity } of lines) {
    const unitPrice = user.unitPrices.get(skuId);
    if (unitPrice === undefined) {
      throw new PricingError(`sku "${skuId}" is not in the cart of user "${user.userId}"`);
    }
    const subtotal = safe(unitPrice * quantity);
    subtotals.set(skuId, safe((subtotals.get(skuId) ?? 0) + subtotal));
    quantities.set(skuId, safe((quantities.get(skuId) ?? 0) + quantity));
    goodsTotal = safe(goodsTotal + subtotal);
  }

  const discounts: SettlementQuote['discounts'] = [];
  let remaining = goodsTotal;
  const deduct = (kind: DiscountKind, wanted: number, sourceIds: string[]): number => {
    const amount = Math.min(wanted, remaining);
    if (amount <= 0) return 0;
    remaining -= amount;
    discounts.push({ kind, amount: { minor: amount, currency: user.currency }, sourceIds });
    return amount;
  };

  let instantWanted = 0;
  const instantSources: string[] = [];
  for (const campaign of user.instantCampaigns) {
    let off = 0;
    for (const skuId of campaign.skuIds) {
      const quantity = quantities.get(skuId);
      const unitPrice = user.unitPrices.get(skuId);
      if (quantity === undefined || unitPrice === undefined) continue;
      off = safe(off + safe(Math.min(campaign.amountPerUnit, unitPrice) * quantity));
    }
    if (off > 0) {
      instantWanted = safe(instantWanted + off);
      instantSources.push(campaign.id);
    }
  }
  const instant = deduct('instant', instantWanted, instantSources);

  let fullWanted = 0;
  const fullSources: string[] = [];
  for (const campaign of user.fullReductionCampaigns) {
    let subtotal = 0;
    for (const skuId of campaign.skuIds) subtotal = safe(subtotal + (subtotals.get(skuId) ?? 0));
    if (subtotal > 0 && subtotal >= campaign.threshold) {
      fullWanted = safe(fullWanted + campaign.amount);
      fullSources.push(campaign.id);
    }
  }
  const fullReduction = deduct('full-reduction', fullWanted, fullSources);

  const couponBase = goodsTotal - instant - fullReduction;
  let best: DemoUser['coupons'][number] | undefined;
  for (const candidate of user.coupons) {
    if (!candidate.claimed || candidate.threshold > couponBase) continue;
    if (best === undefined || candidate.discount > best.discount) best = candidate;
  }
  if (best !== undefined && goodsTotal > 0) deduct('coupon', best.discount, [best.id]);
  if (user.newCustomerDiscount > 0) deduct('new-customer', user.newCustomerDiscount, ['camp-new-customer']);

  const isPlus = user.membership.tier === 'plus';
  if (isPlus) {
    const quota = user.membership.plus95QuotaRemaining ?? 0;
    // floor(goodsTotal × 5 / 100) == floor(goodsTotal / 20), without the overflow of × 5.
    deduct('plus95', Math.min(floorDiv(goodsTotal, 20), quota), []);
  }

  const shipping = goodsTotal === 0 || isPlus || remaining >= FREE_SHIPPING_FROM ? 0 : SHIPPING_FEE;
  const payable = Math.max(0, safe(remaining + shipping));
  const plusRebate = isPlus ? floorDiv(payable, 100) : 0;

  return {
    quoteId,
    currency: user.currency,
    lines: lines.map(({ skuId, quantity }) => ({ skuId, quantity })),
    goodsTotal: { minor: goodsTotal, currency: user.currency },
    discounts,
    shipping: { minor: shipping, currency: user.currency },
    plusRebate: { minor: plusRebate, currency: user.currency },
    payable: { minor: payable, currency: user.currency },
  };
}
