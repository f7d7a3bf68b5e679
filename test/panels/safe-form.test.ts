/**
 * The panel invariant, enforced by the renderer: rows that would not add up to the payable
 * row are served in the safe form — an "other discounts" and an "other charges" row for what
 * they leave out, or only the total without a goods row — degraded with PARTIAL_BREAKDOWN.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { defaultBuilders } from '../../src/floors/builders/index.ts';
import { createBuilderRegistry } from '../../src/floors/registry.ts';
import type { BreakdownRepair } from '../../src/panels/panel.ts';
import { PanelRenderer, type FloorOutcome, type FlagReader } from '../../src/panels/renderer.ts';
import { compileFloorsFile } from '../../src/layouts/compile.ts';
import { invariantProblems } from '../support/panel-invariant.ts';
import { cny, fakePanelData, quoteFixture } from '../floors/builders/fixtures.ts';

const registry = createBuilderRegistry(defaultBuilders);

/**
 * A layout of the real builders, one floor per code, `extra` YAML lines per code; `floors`
 * are more floors as written in a floors file (expression floors), `logger` hears the renderer.
 */
function renderer(codes: string[], extra: Record<string, string> = {}, floors: string[] = [], logger = pino({ level: 'silent' })) {
  const yaml = ['scene: test-sheet', 'floors:']
    .concat(
      codes.flatMap((code, i) => [
        `  - code: ${code}`,
        `    builder: ${code}`,
        `    name: { zh-CN: 名${code}, en: Name ${code} }`,
        `    sort: ${(i + 1) * 10}`,
        ...(extra[code] ?? '').split('\n').filter(Boolean).map((l) => `    ${l}`),
      ]),
      floors,
    )
    .join('\n');
  const result = compileFloorsFile('floors/test-sheet.yaml', yaml, registry, ['zh-CN', 'en']);
  if (result.layout === undefined) throw new Error(result.problems.map((p) => p.message).join('\n'));
  const layout = result.layout;
  const outcomes: FloorOutcome[][] = [];
  const repairs: Array<BreakdownRepair | null> = [];
  const renderer = new PanelRenderer({ layouts: () => new Map([[layout.scene, layout]]), logger });
  // Each render's floor outcomes, as the panel metrics get them, and its repair, as the operator preview does.
  const r = {
    render: async (request: Parameters<PanelRenderer['renderExplained']>[0]) => {
      const { panel, outcomes: o, repair } = await renderer.renderExplained(request);
      outcomes.push([...o]);
      repairs.push(repair);
      return panel;
    },
  };
  return { r, outcomes, repairs };
}

/** A logger whose lines (at warn and above) are kept, parsed. */
function recordingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'warn' }, new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>), done()) }));
  return { logger, lines };
}

const viewer = (locale = 'zh-CN') => ({ segments: [], platform: 'ios', locale, appVersion: '99.0.0' });
const SAVINGS = 'subName: { zh-CN: "共优惠 {savings}", en: "You save {savings}" }';
// The fixture quote: goods ¥209.00 − 立减 ¥5.00 − 满减 ¥20.00 − 券 ¥10.00 − 95折 ¥8.70 + 运费 ¥6.00 = ¥171.30.

describe('the safe form of a panel whose rows would not add up', () => {
  it('shows the deductions no row of the layout carries as one "other discounts" row above the total', async () => {
    const { r, repairs } = renderer(['spze', 'lj', 'coupon', 'shipping', 'payable'], { payable: SAVINGS });
    const panel = await r.render({ scene: 'test-sheet', data: fakePanelData().data, viewer: viewer() });
    expect(panel.floors.map((f) => [f.code, f.kind, f.name, f.priceText])).toEqual([
      ['spze', 'GOODS', '名spze', '¥209.00'],
      ['lj', 'DEDUCTION', '名lj', '-¥5.00'],
      ['coupon', 'DEDUCTION', '名coupon', '-¥10.00'],
      ['shipping', 'CHARGE', '名shipping', '¥6.00'],
      ['other-discounts', 'DEDUCTION', '其他优惠', '-¥28.70'],
      ['payable', 'PAYABLE', '名payable', '¥171.30'],
    ]);
    // Savings ¥43.70 is what the rows shown take off (5 + 10 + 28.70): kept.
    expect(panel.floors.at(-1)?.subName).toBe('共优惠 ¥43.70');
    expect(panel).toMatchObject({ degraded: true, degradedReasons: ['PARTIAL_BREAKDOWN'], failedUpstreams: [] });
    expect(invariantProblems(panel)).toEqual([]);
    // The operator preview is told which repair it was, and the rows as built.
    expect(repairs[0]).toEqual({
      form: 'other-rows',
      cause: null,
      rows: [
        { code: 'spze', kind: 'GOODS', amount: cny(20_900) },
        { code: 'lj', kind: 'DEDUCTION', amount: cny(-500) },
        { code: 'coupon', kind: 'DEDUCTION', amount: cny(-1000) },
        { code: 'shipping', kind: 'CHARGE', amount: cny(600) },
      ],
      added: [{ code: 'other-discounts', kind: 'DEDUCTION', amount: cny(-2870) }],
      overclaimed: [],
    });
  });

  it('names the row in English for en, and uses "other charges" for a missing charge, dropping a savings figure the rows do not show', async () => {
    const { r } = renderer(['spze', 'lj', 'mj', 'coupon', 'plus95', 'payable'], { payable: SAVINGS });
    const quote = quoteFixture({ discounts: [{ kind: 'coupon', amount: cny(1000), sourceIds: ['c'] }], payable: cny(20_500) });
    const panel = await r.render({ scene: 'test-sheet', data: fakePanelData({ quote }).data, viewer: viewer('en') });
    expect(panel.floors.find((f) => f.code === 'other-charges')).toMatchObject({ name: 'Other charges', priceText: 'CN¥6.00', kind: 'CHARGE' });
    expect(panel.floors.find((f) => f.code === 'payable')?.subName).toBe('You save CN¥10.00');
    expect(invariantProblems(panel, 'en')).toEqual([]);
  });

  it('shows deductions and charges whose floors an old app does not get on a row each, never netted into one fee', async () => {
    // QA's case: u-basic's coupon and shipping floors need 12.3.0; the app is 12.0.0.
    const tooNew = 'minAppVersion: "12.3.0"';
    const { r, outcomes } = renderer(['spze', 'coupon', 'shipping', 'payable'], { coupon: tooNew, shipping: tooNew, payable: SAVINGS });
    const quote = quoteFixture({ goodsTotal: cny(3390), discounts: [{ kind: 'coupon', amount: cny(300), sourceIds: ['cpn'] }], shipping: cny(600), payable: cny(3690) });
    const panel = await r.render({ scene: 'test-sheet', data: fakePanelData({ quote }).data, viewer: { ...viewer(), appVersion: '12.0.0' } });
    expect(panel.floors.map((f) => [f.code, f.kind, f.name, f.priceText])).toEqual([
      ['spze', 'GOODS', '名spze', '¥33.90'],
      ['other-discounts', 'DEDUCTION', '其他优惠', '-¥3.00'],
      ['other-charges', 'CHARGE', '其他费用', '¥6.00'],
      ['payable', 'PAYABLE', '名payable', '¥36.90'],
    ]);
    // Both rows sort with the total (just above it); the savings figure the rows now show is kept.
    expect(panel.floors.map((f) => f.sort)).toEqual([10, 40, 40, 40]);
    expect(panel.floors.at(-1)?.subName).toBe('共优惠 ¥3.00');
    expect(panel).toMatchObject({ degraded: true, degradedReasons: ['PARTIAL_BREAKDOWN'], failedUpstreams: [] });
    expect(outcomes[0]?.filter((o) => o.status === 'client-too-old').map((o) => o.code)).toEqual(['coupon', 'shipping']);
    expect(invariantProblems(panel)).toEqual([]);
  });

  it('shows a hidden deduction and a hidden charge that cancel out, rather than a sheet that only seems whole', async () => {
    const tooNew = 'minAppVersion: "12.3.0"';
    const { r } = renderer(['spze', 'coupon', 'shipping', 'payable'], { coupon: tooNew, shipping: tooNew, payable: SAVINGS });
    const quote = quoteFixture({ goodsTotal: cny(3390), discounts: [{ kind: 'coupon', amount: cny(600), sourceIds: ['cpn'] }], shipping: cny(600), payable: cny(3390) });
    const panel = await r.render({ scene: 'test-sheet', data: fakePanelData({ quote }).data, viewer: { ...viewer(), appVersion: '12.0.0' } });
    expect(panel.floors.map((f) => [f.code, f.priceText])).toEqual([['spze', '¥33.90'], ['other-discounts', '-¥6.00'], ['other-charges', '¥6.00'], ['payable', '¥33.90']]);
    expect(panel.floors.at(-1)?.subName).toBe('共优惠 ¥6.00');
    expect(panel.degradedReasons).toEqual(['PARTIAL_BREAKDOWN']);
    expect(invariantProblems(panel)).toEqual([]);
  });

  it('keeps only the total when no goods row is shown to start from', async () => {
    const { r, outcomes, repairs } = renderer(['lj', 'coupon', 'payable']);
    const panel = await r.render({ scene: 'test-sheet', data: fakePanelData().data, viewer: viewer() });
    expect(panel.floors.map((f) => f.code)).toEqual(['payable']);
    expect(panel.degradedReasons).toEqual(['PARTIAL_BREAKDOWN']);
    expect(outcomes[0]?.filter((o) => o.status === 'unreconciled').map((o) => o.code)).toEqual(['lj', 'coupon']);
    expect(repairs[0]).toMatchObject({ form: 'total-only', cause: 'no-goods', added: [], overclaimed: [] });
  });

  it('covers a deduction row switched off by its flag, saying so', async () => {
    const { r } = renderer(['spze', 'lj', 'mj', 'coupon', 'plus95', 'shipping', 'payable'], { coupon: 'flag: floor.coupon', payable: SAVINGS });
    const flags: FlagReader = { isEnabled: (flag) => flag !== 'floor.coupon', variant: () => ({ name: 'disabled', enabled: false }) };
    const panel = await r.render({ scene: 'test-sheet', data: fakePanelData().data, viewer: viewer(), flags });
    expect(panel.floors.find((f) => f.code === 'other-discounts')?.priceText).toBe('-¥10.00');
    expect(panel.degradedReasons).toEqual(['PARTIAL_BREAKDOWN']);
    expect(invariantProblems(panel)).toEqual([]);
  });

  it('keeps only the total, never an invented fee, when a row shows a deduction the quote did not apply', async () => {
    // QA's case: a points floor reads loyalty's usable ¥24.00, which settlement never took off.
    const { logger, lines } = recordingLogger();
    const pointsDeduct = ['  - code: points-deduct', '    kind: DEDUCTION', "    amount: '-loyalty.usable.value'", '    name: { zh-CN: 积分抵扣, en: Points }', '    sort: 85'];
    const { r, outcomes, repairs } = renderer(['spze', 'lj', 'mj', 'coupon', 'plus95', 'shipping', 'payable'], { payable: SAVINGS }, pointsDeduct, logger);
    const panel = await r.render({ scene: 'test-sheet', data: fakePanelData().data, viewer: viewer(), request: { decisionId: 'decision-qa', trace: { traceId: undefined } } });
    // Before: 积分抵扣 -¥24.00 and a 其他费用 ¥24.00 the quote does not have.
    expect(panel.floors.filter((f) => f.code.startsWith('other-')).map((f) => [f.code, f.priceText])).toEqual([]);
    expect(panel.floors.map((f) => [f.code, f.priceText, f.subName])).toEqual([['payable', '¥171.30', null]]);
    expect(panel).toMatchObject({ degraded: true, degradedReasons: ['PARTIAL_BREAKDOWN'], failedUpstreams: [] });
    // The breakdown is dropped, not repaired: no goods row is left to add up to the total.
    expect(outcomes[0]?.filter((o) => o.status === 'unreconciled').map((o) => o.code)).toEqual(['spze', 'lj', 'mj', 'coupon', 'plus95', 'shipping', 'points-deduct']);
    // Support sees why: the rows and the summary they contradict, once per scene and rows.
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 40,
      // The request it was repaired for: its decision record shows what the user got.
      decisionId: 'decision-qa',
      scene: 'test-sheet',
      reason: 'PARTIAL_BREAKDOWN',
      total: { code: 'payable', minor: 17_130, savings: 4370 },
      rows: { spze: 20_900, lj: -500, mj: -2000, coupon: -1000, plus95: -870, shipping: 600, 'points-deduct': -2400 },
    });
    // The operator preview is told the same: the kind that shows more than the quote has, with the figures.
    expect(repairs[0]).toMatchObject({ form: 'total-only', cause: 'overclaimed', overclaimed: [{ kind: 'DEDUCTION', rows: '-6770', quote: '-4370', basis: '{savings} 4370' }] });
    expect(repairs[0]?.rows.map((row) => row.code)).toEqual(['spze', 'lj', 'mj', 'coupon', 'plus95', 'shipping', 'points-deduct']);
    await r.render({ scene: 'test-sheet', data: fakePanelData().data, viewer: viewer() });
    expect(lines).toHaveLength(1);
  });

  it('keeps only the total, never an invented discount, when rows show more charges than the total has', async () => {
    // Shipping shown twice (a second row reading the quote's shipping): ¥6.00 more than is charged.
    const delivery = ['  - code: delivery', '    kind: CHARGE', "    amount: 'quote.shipping'", '    name: { zh-CN: 配送费, en: Delivery }', '    sort: 65'];
    const { r, repairs } = renderer(['spze', 'lj', 'mj', 'coupon', 'plus95', 'shipping', 'payable'], { payable: SAVINGS }, delivery);
    const panel = await r.render({ scene: 'test-sheet', data: fakePanelData().data, viewer: viewer() });
    expect(panel.floors.map((f) => [f.code, f.priceText])).toEqual([['payable', '¥171.30']]);
    expect(panel.degradedReasons).toEqual(['PARTIAL_BREAKDOWN']);
    // No summary says what the charges are: what the total leaves them once goods and savings are taken off.
    expect(repairs[0]).toMatchObject({ form: 'total-only', cause: 'overclaimed', overclaimed: [{ kind: 'CHARGE', rows: '1200', quote: '600', basis: 'payable 17130 − goods 20900 + {savings} 4370' }] });
  });

  it('keeps only the total, never an invented fee, when the goods row is not the quote’s goods total', async () => {
    // QA's case: an expression goods row with the quantity left out, ¥159.10 where settlement priced ¥209.00.
    const { logger, lines } = recordingLogger();
    const goods = ['  - code: spze', '    kind: GOODS', "    amount: 'sum(lines.map(l, l.unitPrice))'", '    name: { zh-CN: 商品总额, en: Goods total }', '    sort: 10'];
    const { r, outcomes, repairs } = renderer(['lj', 'mj', 'coupon', 'plus95', 'shipping', 'payable'], { payable: SAVINGS }, goods, logger);
    const render = () => r.render({ scene: 'test-sheet', data: fakePanelData().data, viewer: viewer(), request: { decisionId: 'decision-goods', trace: { traceId: undefined } } });
    const panel = await render();
    // Before: 商品总额 ¥159.10 … and a 其他费用 ¥49.90 the quote does not have.
    expect(panel.floors.map((f) => [f.code, f.priceText])).toEqual([['payable', '¥171.30']]);
    expect(panel).toMatchObject({ degraded: true, degradedReasons: ['PARTIAL_BREAKDOWN'], failedUpstreams: [] });
    expect(outcomes[0]?.filter((o) => o.status === 'unreconciled').map((o) => o.code).sort()).toEqual(['coupon', 'lj', 'mj', 'plus95', 'shipping', 'spze']);
    expect(repairs[0]).toMatchObject({
      form: 'total-only',
      cause: 'disagrees',
      added: [],
      disagreed: [{ kind: 'GOODS', codes: ['spze'], rows: '15910', quote: '20900' }],
    });
    // Support sees which floor disagrees with settlement, and by how much: once per scene and floor.
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 40,
      decisionId: 'decision-goods',
      scene: 'test-sheet',
      reason: 'PARTIAL_BREAKDOWN',
      disagreed: [{ kind: 'GOODS', codes: ['spze'], rows: 15_910, quote: 20_900 }],
    });
    expect(lines[0]?.['msg']).toContain('"spze"');
    await render();
    expect(lines).toHaveLength(1);
  });

  it('never serves a total other than settlement’s payable, nor an "other" row to make up for it', async () => {
    // QA's case: an expression total one fen above the quote's payable.
    const { logger, lines } = recordingLogger();
    const total = ['  - code: payable', '    kind: PAYABLE', "    amount: 'quote.payable + money(1)'", '    name: { zh-CN: 合计, en: Total }', '    sort: 90'];
    const { r, outcomes, repairs } = renderer(['spze', 'lj', 'mj', 'coupon', 'plus95', 'shipping'], {}, total, logger);
    const panel = await r.render({ scene: 'test-sheet', data: fakePanelData().data, viewer: viewer() });
    // Before: 其他费用 ¥0.01 and 合计 ¥171.31.
    expect(panel.floors.map((f) => [f.code, f.priceText])).toEqual([
      ['spze', '¥209.00'],
      ['lj', '-¥5.00'],
      ['mj', '-¥20.00'],
      ['coupon', '-¥10.00'],
      ['plus95', '-¥8.70'],
      ['shipping', '¥6.00'],
    ]);
    expect(panel).toMatchObject({ degraded: true, degradedReasons: ['PARTIAL_BREAKDOWN'], failedUpstreams: [] });
    expect(outcomes[0]?.filter((o) => o.status === 'unreconciled').map((o) => o.code)).toEqual(['payable']);
    expect(repairs[0]).toMatchObject({ form: 'no-total', cause: null, added: [], disagreed: [{ kind: 'PAYABLE', codes: ['payable'], rows: '17131', quote: '17130' }] });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, scene: 'test-sheet', reason: 'PARTIAL_BREAKDOWN', disagreed: [{ kind: 'PAYABLE', codes: ['payable'], rows: 17_131, quote: 17_130 }] });
    expect(lines[0]?.['msg']).toContain('"payable"');
  });

  it('shows what an expression total’s rows leave out kind by kind, from the quote, never netted into one', async () => {
    // No coupon row (¥10.00 off) and no shipping row (¥6.00 on): netted, they would read as ¥4.00 off.
    const total = ['  - code: payable', '    kind: PAYABLE', "    amount: 'quote.payable'", '    name: { zh-CN: 合计, en: Total }', '    sort: 90'];
    const { r, repairs } = renderer(['spze', 'lj', 'mj', 'plus95'], {}, total);
    const panel = await r.render({ scene: 'test-sheet', data: fakePanelData().data, viewer: viewer() });
    expect(panel.floors.map((f) => [f.code, f.priceText])).toEqual([
      ['spze', '¥209.00'],
      ['lj', '-¥5.00'],
      ['mj', '-¥20.00'],
      ['plus95', '-¥8.70'],
      ['other-discounts', '-¥10.00'],
      ['other-charges', '¥6.00'],
      ['payable', '¥171.30'],
    ]);
    expect(panel.degradedReasons).toEqual(['PARTIAL_BREAKDOWN']);
    expect(repairs[0]).toMatchObject({ form: 'other-rows', cause: null });
    expect(invariantProblems(panel)).toEqual([]);
  });

  it('leaves a complete sheet as it is, undegraded', async () => {
    const { r, repairs } = renderer(['spze', 'lj', 'mj', 'coupon', 'plus95', 'shipping', 'payable'], { payable: SAVINGS });
    const panel = await r.render({ scene: 'test-sheet', data: fakePanelData().data, viewer: viewer() });
    expect(panel.degraded).toBe(false);
    expect(panel.floors.map((f) => f.code)).not.toContain('other-discounts');
    expect(panel.floors.at(-1)?.subName).toBe('共优惠 ¥43.70');
    expect(repairs[0]).toBeNull();
  });

  it('shows a configured subNameFallback when a decoration is missing', async () => {
    const { r } = renderer(['spze', 'lj', 'mj', 'coupon', 'plus95', 'shipping', 'payable'], {
      plus95: 'subName: { zh-CN: "本月剩余 {quotaRemaining}", en: "Left {quotaRemaining}" }\nsubNameFallback: { zh-CN: "PLUS会员专享", en: "PLUS members" }',
    });
    const { data } = fakePanelData({ promotion: new (await import('../../src/upstreams/upstream-error.ts')).UpstreamError('promotion', 'timeout', 'slow') });
    const panel = await r.render({ scene: 'test-sheet', data, viewer: viewer() });
    expect(panel.floors.find((f) => f.code === 'plus95')).toMatchObject({ priceText: '-¥8.70', subName: 'PLUS会员专享' });
    expect(panel).toMatchObject({ degraded: true, failedUpstreams: ['promotion'], degradedReasons: ['UPSTREAM_FAILED'] });
  });

  it('leaves out a row a builder priced in a currency it cannot be formatted in, instead of failing the panel', async () => {
    const odd = { name: 'odd', description: 'test', kind: 'DEDUCTION' as const, needs: [], templateVars: ['amount'], build: () => ({ amount: { minor: -100, currency: 'XYZ' } }) };
    const registryWithOdd = createBuilderRegistry([...defaultBuilders, odd]);
    const result = compileFloorsFile(
      'floors/test-sheet.yaml',
      ['scene: test-sheet', 'floors:', ...['spze', 'odd', 'payable'].flatMap((code, i) => [`  - code: ${code}`, `    builder: ${code}`, `    name: { zh-CN: 名${code}, en: Name ${code} }`, `    sort: ${(i + 1) * 10}`])].join('\n'),
      registryWithOdd,
      ['zh-CN', 'en'],
    );
    const layout = result.layout!;
    const r = new PanelRenderer({ layouts: () => new Map([[layout.scene, layout]]), logger: pino({ level: 'silent' }) });
    const panel = await r.render({ scene: 'test-sheet', data: fakePanelData().data, viewer: viewer() });
    // The fixture's deductions and its shipping, neither with a row here: one row each.
    expect(panel.floors.map((f) => [f.code, f.priceText])).toEqual([['spze', '¥209.00'], ['other-discounts', '-¥43.70'], ['other-charges', '¥6.00'], ['payable', '¥171.30']]);
    expect(panel.degradedReasons).toEqual(['PARTIAL_BREAKDOWN', 'BUILDER_FAILED']);
    expect(invariantProblems(panel)).toEqual([]);
  });
});
