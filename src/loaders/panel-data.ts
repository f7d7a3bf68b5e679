/**
 * PanelData: what a panel may read of the request's upstream data. The loaders layer owns it
 * because it implements it (`RequestScope.panelData`); builders and the renderer only read
 * through it, so they import it from here (builders via the builder API, floors/builder.ts)
 * and the loaders never need to know what a floor is.
 */
import type { Cart, CartLine, PromotionResult, SettlementQuote } from '../upstreams/contracts.ts';

/** The request's data for one panel, each upstream fetched at most once per request. */
export interface PanelData {
  /** The viewer's cart. */
  cart(): Promise<Cart>;
  /** The cart lines this panel is about: the requested selection, or the lines ticked in the cart. */
  selectedLines(): Promise<readonly CartLine[]>;
  /** Campaigns, coupons and membership for the selected lines. */
  promotion(): Promise<PromotionResult>;
  /** The settlement service's authoritative quote for the selected lines. */
  quote(): Promise<SettlementQuote>;
}
