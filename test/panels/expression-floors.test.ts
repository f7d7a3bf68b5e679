/**
 * An expression floor that fails at run time, through the real renderer: only that floor is
 * dropped (the panel degraded BUILDER_FAILED), the failure is logged once per expression per
 * minute, and counted in floorplan_expression_failures_total.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FloorBuilder } from '../../src/floors/builder.ts';
import { defaultBuilders } from '../../src/floors/builders/index.ts';
import { createBuilderRegistry } from '../../src/floors/registry.ts';
import { compileFloorsFile, type CompiledLayout } from '../../src/layouts/compile.ts';
import { createMetrics } from '../../src/observability/metrics.ts';
import { PanelRenderer } from '../../src/panels/renderer.ts';
import { UpstreamError } from '../../src/upstreams/upstream-error.ts';
import { fakePanelData, promotionFixture } from '../floors/builders/fixtures.ts';

const SOURCE = [
  'scene: cart-bottom-sheet',
  'floors:',
  '  - code: spze',
  '    builder: spze',
  '    name: { zh-CN: 商品总额, en: Goods total }',
  '    sort: 10',
  '  - code: wrong-sign',
  '    kind: DEDUCTION',
  "    amount: 'sum(quote.discounts.map(d, d.amount))'", // positive: a deduction must be negative
  '    name: { zh-CN: 优惠, en: Discounts }',
  '    sort: 20',
  '  - code: payable',
  '    builder: payable',
  '    name: { zh-CN: 合计, en: Total }',
  '    sort: 90',
].join('\n');

function layout(): CompiledLayout {
  const result = compileFloorsFile('floors/cart-bottom-sheet.yaml', SOURCE, createBuilderRegistry(defaultBuilders), ['zh-CN', 'en']);
  if (result.layout === undefined) throw new Error(result.problems.map((p) => p.message).join('\n'));
  return result.layout;
}

/** An expression floor whose sub-name reads a value only PLUS members have: for others, its decoration fails. */
const DECORATED = [
  'scene: cart-bottom-sheet',
  'floors:',
  '  - code: rebate-note',
  '    kind: INFO',
  "    amount: 'quote.plusRebate'",
  "    vars: { quota: 'promotion.membership.plus95QuotaRemaining' }",
  '    name: { zh-CN: 返利, en: Rebate }',
  '    subName: { zh-CN: "额度 {quota}", en: "Quota {quota}" }',
  '    subNameFallback: { zh-CN: 返利, en: Rebate back }',
  '    sort: 95',
].join('\n');

/** An expression floor whose sub-name's {amount} is a campaign's title (a decoration) instead of the row's amount. */
const CAMPAIGN_AMOUNT = [
  'scene: cart-bottom-sheet',
  'floors:',
  '  - code: x-ovr',
  '    kind: INFO',
  "    amount: 'quote.plusRebate'",
  "    vars: { amount: 'promotion.campaigns[0].title' }",
  '    name: { zh-CN: 活动, en: Campaign }',
  '    subName: { zh-CN: "活动 {amount}", en: "Campaign {amount}" }',
  '    subNameFallback: { zh-CN: 无活动, en: No campaign }',
  '    sort: 95',
].join('\n');

function renderer(source: string, logger = pino({ level: 'silent' })): PanelRenderer {
  const result = compileFloorsFile('floors/cart-bottom-sheet.yaml', source, createBuilderRegistry(defaultBuilders), ['zh-CN', 'en']);
  if (result.layout === undefined) throw new Error(result.problems.map((p) => p.message).join('\n'));
  const compiled = result.layout;
  return new PanelRenderer({ layouts: () => new Map([['cart-bottom-sheet', compiled]]), logger });
}

describe('an expression floor failing at run time', () => {
  afterEach(() => vi.useRealTimers());

  it('drops only that floor, logs once per expression per minute, and is counted', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-12-01T12:00:00Z'));
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'error' }, new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>), done()) }));
    const metrics = createMetrics();
    const compiled = layout();
    const renderer = new PanelRenderer({ layouts: () => new Map([['cart-bottom-sheet', compiled]]), logger, hooks: { panelServed: (panel, outcomes) => metrics.panelRendered(panel, outcomes) } });
    const render = async () => {
      const rendered = await renderer.renderExplained({ scene: 'cart-bottom-sheet', data: fakePanelData().data, viewer: { segments: [], platform: 'ios', locale: 'en', appVersion: null } });
      renderer.served(rendered.panel, rendered.outcomes);
      return rendered;
    };

    const { panel, outcomes } = await render();
    // The dropped floor's deductions, and the fixture's shipping (no row here), each on its own row.
    expect(panel.floors.map((f) => f.code)).toEqual(['spze', 'other-discounts', 'other-charges', 'payable']);
    expect(panel.degradedReasons).toEqual(['PARTIAL_BREAKDOWN', 'BUILDER_FAILED']);
    expect(outcomes.find((o) => o.code === 'wrong-sign')).toMatchObject({ status: 'builder-failed', error: expect.stringMatching(/^FLOORPLAN_ERR_EXPRESSION_FAILED: expression `sum\(quote\.discounts\.map\(d, d\.amount\)\)` \(amount\) failed: a DEDUCTION amount must be zero or negative/) });

    await render();
    vi.setSystemTime(new Date('2026-12-01T12:00:59Z'));
    await render();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ code: 'FLOORPLAN_ERR_EXPRESSION_FAILED', scene: 'cart-bottom-sheet', floor: 'wrong-sign', expression: 'sum(quote.discounts.map(d, d.amount))', where: 'amount' });
    vi.setSystemTime(new Date('2026-12-01T12:01:01Z'));
    await render();
    expect(lines).toHaveLength(2);

    const text = await metrics.registry.metrics();
    expect(text).toContain('floorplan_expression_failures_total{scene="cart-bottom-sheet",floor="wrong-sign"} 4');
    expect(text).toContain('floorplan_floors_dropped_total{scene="cart-bottom-sheet",floor="wrong-sign",reason="expression"} 4');
  });

  it('keeps the floor when only its decoration fails: its sub-name falls back, the log says so, and the failure is counted', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'error' }, new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>), done()) }));
    const metrics = createMetrics();
    const result = compileFloorsFile('floors/cart-bottom-sheet.yaml', DECORATED, createBuilderRegistry(defaultBuilders), ['zh-CN', 'en']);
    if (result.layout === undefined) throw new Error(result.problems.map((p) => p.message).join('\n'));
    const compiled = result.layout;
    const renderer = new PanelRenderer({ layouts: () => new Map([['cart-bottom-sheet', compiled]]), logger, hooks: { panelServed: (panel, outcomes) => metrics.panelRendered(panel, outcomes) } });
    const nonMember = fakePanelData({ promotion: promotionFixture({ membership: { tier: 'none', plus95QuotaRemaining: null } }) }).data;
    const { panel, outcomes } = await renderer.renderExplained({ scene: 'cart-bottom-sheet', data: nonMember, viewer: { segments: [], platform: 'ios', locale: 'en', appVersion: null } });
    renderer.served(panel, outcomes);

    expect(panel.floors.map((f) => [f.code, f.subName])).toEqual([['rebate-note', 'Rebate back']]);
    expect(panel.degradedReasons).toEqual(['BUILDER_FAILED']);
    expect(outcomes).toEqual([{ code: 'rebate-note', status: 'undecorated', missing: ['quota'], upstream: null, outcome: null, error: expect.stringMatching(/^FLOORPLAN_ERR_EXPRESSION_FAILED: /) }]);
    expect(lines.map((l) => l.msg)).toEqual(['floor "rebate-note": its expression failed and its sub-name fell back; the floor is shown (logged at most once per expression per minute)']);
    const text = await metrics.registry.metrics();
    expect(text).toContain('floorplan_expression_failures_total{scene="cart-bottom-sheet",floor="rebate-note"} 1');
    expect(text).not.toContain('floorplan_floors_dropped_total{scene="cart-bottom-sheet",floor="rebate-note"');
    // What the series counts, as /metrics tells the on-call: this floor was not dropped.
    expect(text).toMatch(/^# HELP floorplan_expression_failures_total .*only its sub-name falls back/m);
  });

  it('falls back when a decoration defining {amount} fails, rather than show the row\'s amount in its place', async () => {
    const noCampaigns = fakePanelData({ promotion: promotionFixture({ campaigns: [] }) }).data;
    const { panel, outcomes } = await renderer(CAMPAIGN_AMOUNT).renderExplained({ scene: 'cart-bottom-sheet', data: noCampaigns, viewer: { segments: [], platform: 'ios', locale: 'zh-CN', appVersion: null } });
    expect(panel.floors.map((f) => [f.code, f.priceText, f.subName])).toEqual([['x-ovr', '¥1.71', '无活动']]);
    expect(outcomes).toEqual([{ code: 'x-ovr', status: 'undecorated', missing: ['amount'], upstream: null, outcome: null, error: expect.stringMatching(/^FLOORPLAN_ERR_EXPRESSION_FAILED: /) }]);
    // With a campaign, the title fills it.
    const { panel: withCampaign } = await renderer(CAMPAIGN_AMOUNT).renderExplained({ scene: 'cart-bottom-sheet', data: fakePanelData().data, viewer: { segments: [], platform: 'ios', locale: 'zh-CN', appVersion: null } });
    expect(withCampaign.floors[0]?.subName).toBe(`活动 ${promotionFixture().campaigns[0]?.title ?? ''}`);
  });

  it('keeps a row whose amount is fine when a variable read from the same upstream fails: its sub-name falls back', async () => {
    // QA: lj as an expression floor with a variable that fails for u1001 lost its 立减 row (PARTIAL_BREAKDOWN).
    const source = [
      'scene: cart-bottom-sheet',
      'floors:',
      '  - code: spze',
      '    builder: spze',
      '    name: { zh-CN: 商品总额, en: Goods total }',
      '    sort: 10',
      '  - code: lj',
      '    kind: DEDUCTION',
      `    amount: '-sum(quote.discounts.filter(d, d.kind == "instant").map(d, d.amount))'`,
      "    vars: { quantity: 'quote.lines[10].quantity' }",
      '    name: { zh-CN: 立减, en: Instant discount }',
      '    subName: { zh-CN: "第11件 {quantity} 件", en: "{quantity} of line 11" }',
      '    subNameFallback: { zh-CN: 立减优惠, en: Instant }',
      '    sort: 20',
      '  - code: coupon',
      '    builder: coupon',
      '    name: { zh-CN: 优惠券, en: Coupons }',
      '    sort: 30',
      '  - code: mj',
      '    builder: mj',
      '    name: { zh-CN: 满减, en: Spend & save }',
      '    sort: 40',
      '  - code: plus95',
      '    builder: plus95',
      '    name: { zh-CN: PLUS专享95折, en: PLUS 5% off }',
      '    sort: 50',
      '  - code: shipping',
      '    builder: shipping',
      '    name: { zh-CN: 运费, en: Shipping }',
      '    sort: 60',
      '  - code: payable',
      '    builder: payable',
      '    name: { zh-CN: 合计, en: Total }',
      '    sort: 90',
    ].join('\n');
    const { panel, outcomes } = await renderer(source).renderExplained({ scene: 'cart-bottom-sheet', data: fakePanelData().data, viewer: { segments: [], platform: 'ios', locale: 'zh-CN', appVersion: null } });
    expect(panel.floors.find((f) => f.code === 'lj')).toMatchObject({ priceText: '-¥5.00', subName: '立减优惠' });
    expect(panel.floors.map((f) => f.code)).not.toContain('other-discounts');
    expect(panel.degradedReasons).toEqual(['BUILDER_FAILED']);
    expect(outcomes.find((o) => o.code === 'lj')).toMatchObject({ status: 'undecorated', missing: ['quantity'], error: expect.stringMatching(/^FLOORPLAN_ERR_EXPRESSION_FAILED: .*quote\.lines\[10\]\.quantity/) });
  });

  it('never fills a failed decoration\'s variable from the build, for a builder either', async () => {
    const note: FloorBuilder = {
      name: 'note',
      description: 'test: {amount} is the rebate, or the campaign title when promotion answers',
      kind: 'INFO',
      needs: ['cart', 'settlement'],
      templateVars: ['amount'],
      build: (ctx) => ({ amount: ctx.data.quote().plusRebate, vars: { amount: ctx.data.quote().plusRebate } }),
      decorations: { needs: ['promotion'], vars: ['amount'], decorate: (ctx) => ({ amount: ctx.data.promotion().campaigns[0]!.title }) },
    };
    const source = ['scene: cart-bottom-sheet', 'floors:', '  - code: note', '    builder: note', '    name: { zh-CN: 活动, en: Campaign }', '    subName: { zh-CN: "活动 {amount}", en: "Campaign {amount}" }', '    subNameFallback: { zh-CN: 无活动, en: No campaign }', '    sort: 95'].join('\n');
    const result = compileFloorsFile('floors/cart-bottom-sheet.yaml', source, createBuilderRegistry([...defaultBuilders, note]), ['zh-CN', 'en']);
    const compiled = result.layout!;
    const r = new PanelRenderer({ layouts: () => new Map([['cart-bottom-sheet', compiled]]), logger: pino({ level: 'silent' }) });
    const { data } = fakePanelData({ promotion: new UpstreamError('promotion', 'timeout', 'slow') });
    const panel = await r.render({ scene: 'cart-bottom-sheet', data, viewer: { segments: [], platform: 'ios', locale: 'zh-CN', appVersion: null } });
    expect(panel.floors.map((f) => [f.code, f.priceText, f.subName])).toEqual([['note', '¥1.71', '无活动']]);
  });
});
