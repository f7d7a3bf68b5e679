/**
 * A PAYABLE floor whose total is not settlement's — an operator's expression over the cart and
 * promotion, in a layout no floor of which reads settlement — through the real renderer: when its
 * rows do not add up to it, nothing says which is wrong, so no "other" row is made up for the
 * difference (it would be a fee or a discount no upstream has, on every shopper's sheet); only
 * the total is kept, the panel says PARTIAL_BREAKDOWN, the preview's repair says why, and one
 * warning names the figures. Settlement is not called for it.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { defaultBuilders } from '../../src/floors/builders/index.ts';
import { createBuilderRegistry } from '../../src/floors/registry.ts';
import { compileFloorsFile } from '../../src/layouts/compile.ts';
import { moneyInvariant, whyUnreconciled } from '../../src/panels/money-invariant.ts';
import { PanelRenderer } from '../../src/panels/renderer.ts';
import { UpstreamError } from '../../src/upstreams/upstream-error.ts';
import { fakePanelData } from '../floors/builders/fixtures.ts';

// The fixture cart's ticked lines: sku-a 2 × ¥59.90, sku-b ¥89.90, sku-c ¥9.30; two claimed coupons, ¥6.00 and ¥4.00.
const GOODS = ['  - code: goods', '    kind: GOODS', "    amount: 'sum(lines.map(l, l.unitPrice))'", '    name: { zh-CN: 商品, en: Goods }', '    sort: 10'];
const COUPONS = ['  - code: coupons', '    kind: DEDUCTION', "    amount: '-sum(promotion.coupons.filter(c, c.claimed).map(c, c.discount))'", '    name: { zh-CN: 优惠券, en: Coupons }', '    sort: 20'];
/** The operator's total: the coupons forgotten. */
const FORGOT_COUPONS = ['  - code: total', '    kind: PAYABLE', "    amount: 'sum(lines.map(l, l.unitPrice))'", '    name: { zh-CN: 合计, en: Total }', '    sort: 90'];
/** A total that does take the coupons off. */
const WITH_COUPONS = ['  - code: total', '    kind: PAYABLE', "    amount: 'sum(lines.map(l, l.unitPrice)) - sum(promotion.coupons.filter(c, c.claimed).map(c, c.discount))'", '    name: { zh-CN: 合计, en: Total }', '    sort: 90'];

function setup(floors: string[]) {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'warn' }, new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>), done()) }));
  const result = compileFloorsFile('floors/quick-buy.yaml', ['scene: quick-buy', 'floors:', ...floors].join('\n'), createBuilderRegistry(defaultBuilders), ['zh-CN', 'en']);
  if (result.layout === undefined) throw new Error(result.problems.map((p) => p.message).join('\n'));
  const layout = result.layout;
  const renderer = new PanelRenderer({ layouts: () => new Map([[layout.scene, layout]]), logger });
  return { renderer, lines };
}

const viewer = { segments: [], platform: 'ios', locale: 'zh-CN', appVersion: '99.0.0' };

describe('a total that is not settlement’s', () => {
  it('never gets an "other" row making up what its rows leave out: only the total is served', async () => {
    const { renderer, lines } = setup([...GOODS, ...COUPONS, ...FORGOT_COUPONS]);
    const { data, calls } = fakePanelData();
    const { panel, outcomes, repair } = await renderer.renderExplained({ scene: 'quick-buy', data, viewer });

    // Before: 商品 ¥159.10 | 优惠券 -¥10.00 | 其他费用 ¥10.00 | 合计 ¥159.10 — a fee no upstream has.
    expect(panel.floors.map((f) => [f.code, f.name, f.priceText])).toEqual([['total', '合计', '¥159.10']]);
    expect(panel).toMatchObject({ degraded: true, failedUpstreams: [], degradedReasons: ['PARTIAL_BREAKDOWN'] });
    expect(outcomes.filter((o) => o.status === 'unreconciled').map((o) => o.code)).toEqual(['goods', 'coupons']);
    expect(repair).toMatchObject({ form: 'total-only', cause: 'no-quote', added: [] });
    expect(moneyInvariant(panel, repair).summary).toBe(
      'only the total is served (PARTIAL_BREAKDOWN): no settlement quote backs the total, so nothing says what the rows leave out of it — an "other" row would be a fee or a discount no upstream has (15910 + (-1000) + 0 = 14910 ≠ 15910); rows built: goods GOODS 15910, coupons DEDUCTION -1000 (minor units)',
    );
    expect(whyUnreconciled('coupons', repair)).toBe('hidden: only the total is shown: no settlement quote backs the total, so nothing says what the rows leave out of it — an "other" row would be a fee or a discount no upstream has');
    // The layout reads no settlement: checking the total did not call it.
    expect(calls).not.toContain('quote');

    // One warning per scene and floors, naming the total, its rows and the figures.
    await renderer.renderExplained({ scene: 'quick-buy', data: fakePanelData().data, viewer });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, scene: 'quick-buy', reason: 'PARTIAL_BREAKDOWN', currency: 'CNY', total: { code: 'total', minor: 15_910 }, rows: { goods: 15_910, coupons: -1000 } });
    expect(lines[0]?.['msg']).toMatch(/^the rows shown add up to 14910 but "total" shows a total of 15910 \(minor units\), and no settlement quote backs that total \(no floor of the layout reads settlement\)/);
  });

  it('is served with its rows when they add up to it', async () => {
    const { renderer, lines } = setup([...GOODS, ...COUPONS, ...WITH_COUPONS]);
    const { panel, repair } = await renderer.renderExplained({ scene: 'quick-buy', data: fakePanelData().data, viewer });
    expect(panel.floors.map((f) => [f.code, f.priceText])).toEqual([['goods', '¥159.10'], ['coupons', '-¥10.00'], ['total', '¥149.10']]);
    expect(panel.degraded).toBe(false);
    expect(repair).toBeNull();
    expect(lines).toEqual([]);
  });

  it('keeps only the total when settlement failed and took a row with it: the difference is not made up either', async () => {
    // The coupon row reads settlement's quote; the total reads the cart and promotion only.
    const QUOTE_COUPONS = ['  - code: coupons', '    kind: DEDUCTION', `    amount: '-sum(quote.discounts.filter(d, d.kind == "coupon").map(d, d.amount))'`, '    name: { zh-CN: 优惠券, en: Coupons }', '    sort: 20'];
    const { renderer, lines } = setup([...GOODS, ...QUOTE_COUPONS, ...WITH_COUPONS]);
    const { data } = fakePanelData({ quote: new UpstreamError('settlement', 'timeout', 'slow') });
    const { panel, outcomes, repair } = await renderer.renderExplained({ scene: 'quick-buy', data, viewer });
    // Before: 商品 ¥159.10 | 其他优惠 -¥10.00 | 合计 ¥149.10 — a discount no answer said the shopper gets.
    expect(panel.floors.map((f) => [f.code, f.priceText])).toEqual([['total', '¥149.10']]);
    expect(panel).toMatchObject({ degraded: true, failedUpstreams: ['settlement'], degradedReasons: ['UPSTREAM_FAILED', 'PARTIAL_BREAKDOWN'] });
    expect(outcomes.find((o) => o.code === 'coupons')).toMatchObject({ status: 'upstream-failed', upstream: 'settlement' });
    expect(outcomes.find((o) => o.code === 'goods')).toEqual({ code: 'goods', status: 'unreconciled' });
    expect(repair).toMatchObject({ form: 'total-only', cause: 'no-quote', added: [] });
    expect(lines.filter((l) => l['reason'] === 'PARTIAL_BREAKDOWN')).toHaveLength(1);
    expect(lines.find((l) => l['reason'] === 'PARTIAL_BREAKDOWN')?.['msg']).toContain('settlement failed');
  });
});
