/**
 * The one panel every server in the benchmark answers: user u1001's cart-bottom-sheet
 * (the README's seed panel), as Floorplan renders it for `accept-language: zh-CN`.
 *
 * The baselines serve it from memory, so they measure only what their stack costs to
 * take the same GraphQL request and write the same JSON; Floorplan computes it from the
 * three upstreams on every request.
 */

/** The README's query: the fields a mobile client asks for. */
export const PANEL_QUERY =
  '{ floorPanel(scene: "cart-bottom-sheet") { layoutVersion degraded floors { code name priceText amount { minor } subName style } } }';

/** A query of the same shape for another scene. */
export function panelQuery(scene: string): string {
  return `{ floorPanel(scene: ${JSON.stringify(scene)}) { layoutVersion degraded floors { code name priceText amount { minor } subName style } } }`;
}

/** The same panel over the lines named in `$skus` (selectedSkuIds as a variable, so one document is parsed once). */
export const SELECTED_LINES_QUERY =
  'query Panel($skus: [ID!]) { floorPanel(scene: "cart-bottom-sheet", selectedSkuIds: $skus) { layoutVersion degraded floors { code name priceText amount { minor } subName style } } }';

/** The POST /graphql body for a query. */
export function graphqlBody(query: string, variables?: Readonly<Record<string, unknown>>): string {
  return JSON.stringify(variables === undefined ? { query } : { query, variables });
}

interface StaticFloor {
  readonly code: string;
  readonly name: string;
  readonly priceText: string | null;
  readonly amount: { readonly minor: number; readonly currency: string } | null;
  readonly subName: string | null;
  readonly style: readonly string[];
  readonly sort: number;
  readonly kind: 'GOODS' | 'DEDUCTION' | 'CHARGE' | 'PAYABLE' | 'INFO' | 'TEXT';
}

const cny = (minor: number) => ({ minor, currency: 'CNY' });

/** Every field of the schema's FloorPanel, so a baseline's resolvers can answer any selection. */
export const STATIC_PANEL = {
  scene: 'cart-bottom-sheet',
  layoutVersion: '2026-11-21.1',
  degraded: false,
  failedUpstreams: [] as string[],
  locale: 'zh-CN',
  floors: [
    { code: 'spze', name: '商品总额', priceText: '¥20.90', amount: cny(2090), subName: null, style: ['bold'], sort: 10, kind: 'GOODS' },
    { code: 'lj', name: '立减', priceText: '-¥5.00', amount: cny(-500), subName: null, style: [], sort: 20, kind: 'DEDUCTION' },
    { code: 'coupon', name: '优惠券', priceText: '-¥6.00', amount: cny(-600), subName: '已领券 -¥6.00', style: [], sort: 30, kind: 'DEDUCTION' },
    { code: 'plus95', name: 'PLUS专享95折', priceText: '-¥1.04', amount: cny(-104), subName: '本月剩余优惠额度 ¥1,000.00', style: [], sort: 40, kind: 'DEDUCTION' },
    { code: 'shipping', name: '运费', priceText: '免运费', amount: cny(0), subName: null, style: [], sort: 50, kind: 'CHARGE' },
    { code: 'plus-rebate', name: 'PLUS会员返利', priceText: '¥0.08', amount: cny(8), subName: '确认收货后返 ¥0.08', style: ['muted'], sort: 60, kind: 'INFO' },
    { code: 'payable', name: '合计', priceText: '¥8.86', amount: cny(886), subName: '共优惠 ¥12.04', style: ['bold', 'emphasis'], sort: 90, kind: 'PAYABLE' },
  ] satisfies StaticFloor[],
};

/** The exact response body to PANEL_QUERY: what the raw node:http baseline writes. */
export const PANEL_RESPONSE_JSON = JSON.stringify({
  data: {
    floorPanel: {
      layoutVersion: STATIC_PANEL.layoutVersion,
      degraded: STATIC_PANEL.degraded,
      floors: STATIC_PANEL.floors.map((f) => ({
        code: f.code,
        name: f.name,
        priceText: f.priceText,
        amount: f.amount === null ? null : { minor: f.amount.minor },
        subName: f.subName,
        style: f.style,
      })),
    },
  },
});

/** The user the panel belongs to, and the segment claim README's token carries. */
export const PANEL_USER = { userId: 'u1001', segments: ['plus'] } as const;
