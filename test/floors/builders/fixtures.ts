/**
 * Plain-object upstream data for builder and renderer tests.
 *
 * `fakePanelData` hands out fixtures through the PanelData interface (what the renderer is
 * given) and, to builders, through its settled twin (SettledPanelData, what `buildContext`
 * hands them); both record every call, so a test can assert what a builder read (and what it
 * never touched). Every registered upstream has a fixture: the shipped ones below, and any
 * other (read only through `get()`) the demo service's answer for the fixture cart, so a new
 * upstream needs no edit here.
 */
import type { BuilderViewer, FloorBuildContext, LoyaltyPoints, SettledPanelData, UpstreamResult } from '../../../src/floors/builder.ts';
import type { PanelData } from '../../../src/loaders/panel-data.ts';
import type { Money } from '../../../src/money/money.ts';
import {
  UPSTREAMS,
  type Cart,
  type CartLine,
  type PromotionResult,
  type SettlementQuote,
  type UpstreamName,
} from '../../../src/upstreams/contracts.ts';
import { demoResult } from '../../support/upstream-fakes.ts';

/** The upstreams with a shortcut method of their own, and the one it reads them through. */
const SHORTCUT = { cart: 'cart', promotion: 'promotion', settlement: 'quote' } as const;
/** An upstream read only through `get()`: it has no shortcut method of its own. */
export type GetOnly = Exclude<UpstreamName, keyof typeof SHORTCUT>;
/** Every registered upstream read only through `get()` (loyalty, and any added since). */
export const GET_ONLY_UPSTREAMS: readonly GetOnly[] = UPSTREAMS.filter((u): u is GetOnly => !(u in SHORTCUT));
/** What a builder read: a PanelData method, or `get(<upstream>)` recorded as the upstream's name. */
export type PanelDataMethod = Exclude<keyof PanelData, 'get'> | GetOnly;

/** A member with 2,480 points (¥24.00 usable in whole hundreds) who earns 40 on this order. */
export function loyaltyFixture(overrides: Partial<LoyaltyPoints> = {}): LoyaltyPoints {
  return { balance: 2480, earns: 40, usable: { points: 2400, value: cny(2400) }, ...overrides };
}

export function cny(minor: number): Money {
  return { minor, currency: 'CNY' };
}

/**
 * A quote with every discount kind at a distinct amount, so a builder that reads the wrong
 * kind gets the wrong number:
 * goods ¥209.00 − 立减 ¥5.00 − 满减 ¥20.00 − 券 ¥10.00 − 95折 ¥8.70 + 运费 ¥6.00 = ¥171.30.
 */
export function quoteFixture(overrides: Partial<SettlementQuote> = {}): SettlementQuote {
  return {
    quoteId: 'q-test',
    currency: 'CNY',
    lines: [
      { skuId: 'sku-a', quantity: 1 },
      { skuId: 'sku-b', quantity: 2 },
    ],
    goodsTotal: cny(20_900),
    discounts: [
      { kind: 'instant', amount: cny(500), sourceIds: ['camp-lj'] },
      { kind: 'full-reduction', amount: cny(2000), sourceIds: ['camp-mj-199-20'] },
      { kind: 'coupon', amount: cny(1000), sourceIds: ['cpn-15-6', 'cpn-10-4'] },
      { kind: 'plus95', amount: cny(870), sourceIds: [] },
    ],
    shipping: cny(600),
    plusRebate: cny(171),
    payable: cny(17_130),
    ...overrides,
  };
}

/** A PLUS member with ¥1,000.00 of 95折 quota, an instant and two full-reduction campaigns. */
export function promotionFixture(overrides: Partial<PromotionResult> = {}): PromotionResult {
  return {
    userId: 'u-test',
    membership: { tier: 'plus', plus95QuotaRemaining: cny(100_000) },
    campaigns: [
      { id: 'camp-lj', kind: 'instant', title: '限时立减', skuIds: ['sku-a'] },
      { id: 'camp-mj-199-20', kind: 'full-reduction', title: '满199减20', skuIds: ['sku-a', 'sku-b'] },
      { id: 'camp-mj-299-30', kind: 'full-reduction', title: '满299减30', skuIds: ['sku-c'] },
    ],
    coupons: [
      { id: 'cpn-15-6', title: '满15减6', claimed: true, discount: cny(600), threshold: cny(1500) },
      { id: 'cpn-10-4', title: '满10减4', claimed: true, discount: cny(400), threshold: cny(1000) },
    ],
    ...overrides,
  };
}

export function cartLine(skuId: string, quantity: number, unitPriceMinor: number, selected = true): CartLine {
  return { skuId, title: `title of ${skuId}`, quantity, unitPrice: cny(unitPriceMinor), selected };
}

/** Three ticked lines (4 units) and one unticked line of 5 units. */
export function cartFixture(overrides: Partial<Cart> = {}): Cart {
  return {
    userId: 'u-test',
    currency: 'CNY',
    lines: [
      cartLine('sku-a', 2, 5990),
      cartLine('sku-b', 1, 8990),
      cartLine('sku-c', 1, 930),
      cartLine('sku-d', 5, 200, false),
    ],
    ...overrides,
  };
}

/** A fixture value, or an Error the method rejects with; an upstream read only through `get()` by its name (`loyalty`). */
export type PanelDataOverrides = {
  cart?: Cart | Error;
  /** Defaults to the ticked lines of `cart`. */
  selectedLines?: readonly CartLine[] | Error;
  promotion?: PromotionResult | Error;
  quote?: SettlementQuote | Error;
} & { [N in GetOnly]?: UpstreamResult<N> | Error };

/** The default of an upstream read only through `get()`: loyalty's fixture, for any other its demo answer for the fixture cart. */
function getOnlyFixture(upstream: GetOnly): UpstreamResult<GetOnly> {
  if (upstream === 'loyalty') return loyaltyFixture();
  const cart = cartFixture();
  const lines = cart.lines.filter((l) => l.selected).map(({ skuId, quantity }) => ({ skuId, quantity }));
  return demoResult(upstream, cart.userId, { lines: lines.sort((a, b) => a.skuId.localeCompare(b.skuId)), currency: cart.currency });
}

export interface FakePanelData {
  /** For a render request; `buildContext(data)` hands a builder its settled twin. */
  readonly data: PanelData;
  /** Every method call, in order. */
  readonly calls: PanelDataMethod[];
}

export function fakePanelData(overrides: PanelDataOverrides = {}): FakePanelData {
  const calls: PanelDataMethod[] = [];
  const cart = overrides.cart ?? cartFixture();
  const selectedLines =
    overrides.selectedLines ?? (cart instanceof Error ? cart : cart.lines.filter((line) => line.selected));
  const answer = <T>(method: PanelDataMethod, value: T | Error): Promise<T> => {
    calls.push(method);
    return value instanceof Error ? Promise.reject(value) : Promise.resolve(value);
  };
  const promotion = overrides.promotion ?? promotionFixture();
  const quote = overrides.quote ?? quoteFixture();
  const getOnly = Object.fromEntries(GET_ONLY_UPSTREAMS.map((u) => [u, overrides[u] ?? getOnlyFixture(u)])) as { [N in GetOnly]: UpstreamResult<N> | Error };
  const read = <T>(method: PanelDataMethod, value: T | Error): T => {
    calls.push(method);
    if (value instanceof Error) throw value;
    return value;
  };
  const settled: SettledPanelData = {
    cart: () => read('cart', cart),
    selectedLines: () => read('selectedLines', selectedLines),
    promotion: () => read('promotion', promotion),
    quote: () => read('quote', quote),
    get<N extends UpstreamName>(upstream: N): UpstreamResult<N> {
      const value = upstream === 'cart' ? settled.cart() : upstream === 'promotion' ? settled.promotion() : upstream === 'settlement' ? settled.quote() : read(upstream as GetOnly, getOnly[upstream as GetOnly]);
      return value as UpstreamResult<N>;
    },
  };
  const data: PanelData = {
    cart: () => answer('cart', cart),
    selectedLines: () => answer('selectedLines', selectedLines),
    promotion: () => answer('promotion', promotion),
    quote: () => answer('quote', quote),
    get<N extends UpstreamName>(upstream: N): Promise<UpstreamResult<N>> {
      // The shortcuts record their own names, so a builder's reads look the same either way.
      const read = upstream === 'cart' ? data.cart() : upstream === 'promotion' ? data.promotion() : upstream === 'settlement' ? data.quote() : answer(upstream as GetOnly, getOnly[upstream as GetOnly]);
      return read as Promise<UpstreamResult<N>>;
    },
  };
  settledTwins.set(data, settled);
  return { data, calls };
}

/** Each fake's settled twin, reading the same fixtures into the same calls. */
const settledTwins = new WeakMap<PanelData, SettledPanelData>();

/** The upstream each PanelData method is served by (selected lines come from the cart; `get(<upstream>)` is recorded as its name). */
const UPSTREAM_OF: Record<PanelDataMethod, UpstreamName> = {
  cart: 'cart',
  selectedLines: 'cart',
  promotion: 'promotion',
  quote: 'settlement',
  ...(Object.fromEntries(GET_ONLY_UPSTREAMS.map((u) => [u, u])) as Record<GetOnly, GetOnly>),
};

/** The distinct upstreams behind the recorded calls. */
export function upstreamsRead(calls: readonly PanelDataMethod[]): UpstreamName[] {
  return [...new Set(calls.map((method) => UPSTREAM_OF[method]))];
}

export const testViewer: BuilderViewer = { segments: [], platform: 'ios' };

/** A builder's context over a fake's data, as the renderer makes it once the upstreams settled. */
export function buildContext(data: PanelData): FloorBuildContext {
  const settled = settledTwins.get(data);
  if (settled === undefined) throw new Error('buildContext takes the data of a fakePanelData()');
  return { data: settled, viewer: testViewer };
}
