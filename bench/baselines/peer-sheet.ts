/**
 * What a cart team would write by hand to serve the price sheet (the cart-bottom-sheet scene)
 * without Floorplan, shared by the two peers (e) and (f): the upstream wire shapes, the
 * request bodies, and a plain mapping from the settlement quote and the promotion answer to
 * the sheet's rows. No layout files, no flags, no builders, no validation, no reconciliation:
 * the rows are spelled out here, and the bench's byte-identity check (bench/peers.ts) keeps
 * them equal to Floorplan's for the demo users.
 *
 * Nothing here imports Floorplan's code: a team writing this would not have it.
 */

export interface Viewer {
  readonly userId: string;
  readonly locale: Locale;
  /** From x-app-version: the emphasis style needs app 12 or newer. */
  readonly appMajor: number;
}

export interface MoneyWire {
  readonly minor: number;
  readonly currency: string;
}

export interface CartWire {
  readonly userId: string;
  readonly currency: string;
  readonly lines: ReadonlyArray<{ readonly skuId: string; readonly quantity: number; readonly selected: boolean; readonly unitPrice: MoneyWire }>;
}

export interface PromotionWire {
  readonly membership: { readonly tier: 'plus' | 'none'; readonly plus95QuotaRemaining: MoneyWire | null };
  readonly campaigns: ReadonlyArray<{ readonly id: string; readonly kind: string; readonly title: string; readonly skuIds: readonly string[] }>;
}

export interface QuoteWire {
  readonly quoteId: string;
  readonly currency: string;
  readonly goodsTotal: MoneyWire;
  readonly discounts: ReadonlyArray<{ readonly kind: 'instant' | 'full-reduction' | 'coupon' | 'new-customer' | 'plus95'; readonly amount: MoneyWire; readonly sourceIds: readonly string[] }>;
  readonly shipping: MoneyWire;
  readonly plusRebate: MoneyWire;
  readonly payable: MoneyWire;
}

/** One selection of cart lines to price: what the promotion and settlement loaders are keyed by. */
export interface Selection {
  readonly userId: string;
  readonly lines: ReadonlyArray<{ readonly skuId: string; readonly quantity: number }>;
}

export const CART_PATH = (userId: string) => `/cart/carts/${encodeURIComponent(userId)}`;
export const PROMOTION_PATH = '/promotion/promotions/query';
export const SETTLEMENT_PATH = '/settlement/settlement/quotes';

/** The cart lines a panel prices: those named by `selectedSkuIds`, else the ticked ones. */
export function selectionOf(cart: CartWire, selectedSkuIds: readonly string[] | null | undefined): Selection {
  const wanted = selectedSkuIds == null ? null : new Set(selectedSkuIds);
  const lines = cart.lines.filter((l) => (wanted === null ? l.selected : wanted.has(l.skuId))).map((l) => ({ skuId: l.skuId, quantity: l.quantity }));
  return { userId: cart.userId, lines };
}

/** A DataLoader cache key for a selection. */
export const selectionKey = (s: Selection) => `${s.userId}|${s.lines.map((l) => `${l.skuId}*${l.quantity}`).join(',')}`;

/** One promotion query for a batch of selections of one user: every SKU, once, sorted. */
export function promotionBody(selections: readonly Selection[]): string {
  const skuIds = [...new Set(selections.flatMap((s) => s.lines.map((l) => l.skuId)))].sort();
  return JSON.stringify({ userId: (selections[0] as Selection).userId, skuIds });
}

/** One settlement call for a batch of selections of one user: quote `q<i>` for the i-th. */
export function settlementBody(selections: readonly Selection[]): string {
  return JSON.stringify({ userId: (selections[0] as Selection).userId, quotes: selections.map((s, i) => ({ quoteId: `q${i}`, lines: s.lines })) });
}

/** The quotes of a settlement answer, in the order of the batch's selections. */
export function quotesInOrder(answer: { quotes: readonly QuoteWire[] }, count: number): QuoteWire[] {
  const byId = new Map(answer.quotes.map((q) => [q.quoteId, q]));
  return Array.from({ length: count }, (_, i) => {
    const quote = byId.get(`q${i}`);
    if (quote === undefined) throw new Error(`settlement answered no quote q${i}`);
    return quote;
  });
}

export type Locale = 'zh-CN' | 'en';

export function localeOf(acceptLanguage: string | undefined): Locale {
  return acceptLanguage !== undefined && acceptLanguage.toLowerCase().startsWith('en') ? 'en' : 'zh-CN';
}

export function appMajorOf(appVersion: string | undefined): number {
  const major = /^(\d+)\./.exec(appVersion ?? '')?.[1];
  return major === undefined ? 0 : Number(major);
}

const TEXT = {
  'zh-CN': {
    spze: '商品总额',
    lj: '立减',
    mj: '满减',
    coupon: '优惠券',
    couponSub: '已领券 ',
    newCustomer: '新人立减',
    plus95: 'PLUS专享95折',
    plus95Sub: '本月剩余优惠额度 ',
    shipping: '运费',
    freeShipping: '免运费',
    rebate: 'PLUS会员返利',
    rebateSub: (amount: string) => `确认收货后返 ${amount}`,
    payable: '合计',
    payableSub: '共优惠 ',
  },
  en: {
    spze: 'Goods total',
    lj: 'Instant discount',
    mj: 'Spend & save',
    coupon: 'Coupons',
    couponSub: 'Coupons applied ',
    newCustomer: 'New-customer discount',
    plus95: 'PLUS 5% off',
    plus95Sub: 'Quota left this month ',
    shipping: 'Shipping',
    freeShipping: 'Free',
    rebate: 'PLUS cash back',
    rebateSub: (amount: string) => `${amount} back after delivery`,
    payable: 'Total',
    payableSub: 'You save ',
  },
} as const;

export const SHEET_VERSION = '2026-11-21.1';

export interface Floor {
  readonly code: string;
  readonly name: string;
  readonly priceText: string | null;
  readonly amount: MoneyWire | null;
  readonly subName: string | null;
  readonly style: readonly string[];
  readonly sort: number;
  readonly kind: 'GOODS' | 'DEDUCTION' | 'CHARGE' | 'PAYABLE' | 'INFO';
}

const formatters = new Map<string, Intl.NumberFormat>();

function formatterFor(locale: Locale, currency: string): Intl.NumberFormat {
  const key = `${locale} ${currency}`;
  let format = formatters.get(key);
  if (format === undefined) {
    format = new Intl.NumberFormat(locale, { style: 'currency', currency });
    formatters.set(key, format);
  }
  return format;
}

/** The sheet's rows for one quote, in display order. */
export function priceRows(quote: QuoteWire, promotion: PromotionWire, viewer: Viewer): Floor[] {
  const text = TEXT[viewer.locale];
  const currency = quote.currency;
  const format = formatterFor(viewer.locale, currency);
  const show = (minor: number) => format.format(minor / 100);
  const money = (minor: number): MoneyWire => ({ minor, currency });
  // Deductions are shown negative; `0 - x` so that nothing off is 0, not -0 ("-¥0.00").
  const off = (kind: QuoteWire['discounts'][number]['kind']) => 0 - quote.discounts.filter((d) => d.kind === kind).reduce((sum, d) => sum + d.amount.minor, 0);
  const row = (code: string, name: string, minor: number, subName: string | null, sort: number, kind: Floor['kind'], style: readonly string[] = [], priceText = show(minor)): Floor => ({
    code,
    name,
    priceText,
    amount: money(minor),
    subName,
    style,
    sort,
    kind,
  });

  const rows: Floor[] = [row('spze', text.spze, quote.goodsTotal.minor, null, 10, 'GOODS', ['bold'])];
  const instant = off('instant');
  if (instant !== 0) rows.push(row('lj', text.lj, instant, null, 20, 'DEDUCTION'));
  const fullReduction = off('full-reduction');
  if (fullReduction !== 0) {
    const sources = new Set(quote.discounts.filter((d) => d.kind === 'full-reduction').flatMap((d) => d.sourceIds));
    const titles = promotion.campaigns.filter((c) => sources.has(c.id)).map((c) => c.title);
    rows.push(row('mj', text.mj, fullReduction, titles.length === 0 ? null : titles.join(' '), 25, 'DEDUCTION'));
  }
  const coupon = off('coupon');
  if (coupon !== 0) rows.push(row('coupon', text.coupon, coupon, text.couponSub + show(coupon), 30, 'DEDUCTION'));
  const newCustomer = off('new-customer');
  if (newCustomer !== 0) rows.push(row('new-customer', text.newCustomer, newCustomer, null, 35, 'DEDUCTION'));
  const plus95 = off('plus95');
  if (plus95 !== 0 || promotion.membership.tier === 'plus') {
    const quota = promotion.membership.plus95QuotaRemaining;
    rows.push(row('plus95', text.plus95, plus95, quota === null ? null : text.plus95Sub + show(quota.minor), 40, 'DEDUCTION'));
  }
  const shipping = quote.shipping.minor;
  rows.push(row('shipping', text.shipping, shipping, null, 50, 'CHARGE', [], shipping === 0 ? text.freeShipping : show(shipping)));
  const rebate = quote.plusRebate.minor;
  if (rebate !== 0) rows.push(row('plus-rebate', text.rebate, rebate, text.rebateSub(show(rebate)), 60, 'INFO', ['muted']));
  const savings = quote.discounts.reduce((sum, d) => sum + d.amount.minor, 0);
  rows.push(row('payable', text.payable, quote.payable.minor, text.payableSub + show(savings), 90, 'PAYABLE', viewer.appMajor >= 12 ? ['bold', 'emphasis'] : ['bold']));
  return rows;
}

/** The FloorPanel object the peers' resolvers return. */
export function panelOf(floors: readonly Floor[], viewer: Viewer) {
  return {
    scene: 'cart-bottom-sheet',
    layoutVersion: SHEET_VERSION,
    degraded: false,
    failedUpstreams: [],
    degradedReasons: [],
    locale: viewer.locale,
    floors,
  };
}
