/**
 * PanelData: what a panel may read of the request's upstream data, as domain types; and
 * SettledPanelData, the same once the upstreams a panel's floors need have answered, read
 * synchronously by the builders (the renderer settles it, once per panel). The loaders
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

/**
 * A panel's data once settled: each answer read synchronously, as it came. The renderer waits
 * once for every upstream the panel's floors need (`settlePanelData`), then builds every floor
 * without another await: a promise per floor per read would make V8's microtask loop the largest
 * cost of a panel after the upstream calls themselves. Each method returns the answer, or
 * throws the upstream's failure (an UpstreamError) as the loaders gave it.
 */
export interface SettledPanelData {
  /** Any settled upstream's answer, e.g. `get('loyalty')`; throws when it failed, or when the panel's floors do not need it. */
  get<N extends UpstreamName>(upstream: N): UpstreamResult<N>;
  /** The cart lines this panel is about: the requested selection, or the lines ticked in the cart. */
  selectedLines(): readonly CartLine[];
  /** The viewer's cart: `get('cart')`. */
  cart(): Cart;
  /** Campaigns, coupons and membership for the selected lines: `get('promotion')`. */
  promotion(): Promotion;
  /** The settlement service's authoritative quote for the selected lines: `get('settlement')`. */
  quote(): SettlementQuote;
}
