/**
 * PanelData: what a panel may read of the request's upstream data, as domain types. The loaders
 * layer owns it because it implements it (`RequestScope.panelData`); builders and the renderer
 * only read through it, so they import it — and the domain types — from here (builders via the
 * builder API, floors/builder.ts), never the wire contracts, and the loaders never need to know
 * what a floor is.
 */
import type { Cart, CartLine } from '../upstreams/defs/cart.ts';
import type { Promotion } from '../upstreams/defs/promotion.ts';
import type { SettlementQuote } from '../upstreams/defs/settlement.ts';
import type { UpstreamName, UpstreamResult } from '../upstreams/registry.ts';

export type { Cart, CartLine } from '../upstreams/defs/cart.ts';
export type { LoyaltyPoints, Points } from '../upstreams/defs/loyalty.ts';
export type { Campaign, Coupon, MembershipTier, Promotion } from '../upstreams/defs/promotion.ts';
export type { DiscountKind, SettlementQuote } from '../upstreams/defs/settlement.ts';
export type { UpstreamName, UpstreamResult } from '../upstreams/registry.ts';

/** The request's data for one panel, each upstream fetched at most once per request. */
export interface PanelData {
  /** Any registered upstream's answer for this panel's selection (the cart: the viewer's), e.g. `get('loyalty')`. */
  get<N extends UpstreamName>(upstream: N): Promise<UpstreamResult<N>>;
  /** The cart lines this panel is about: the requested selection, or the lines ticked in the cart. */
  selectedLines(): Promise<readonly CartLine[]>;
  /** The viewer's cart: `get('cart')`. */
  cart(): Promise<Cart>;
  /** Campaigns, coupons and membership for the selected lines: `get('promotion')`. */
  promotion(): Promise<Promotion>;
  /** The settlement service's authoritative quote for the selected lines: `get('settlement')`. */
  quote(): Promise<SettlementQuote>;
}
