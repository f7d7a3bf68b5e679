import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.ts';
import type { FloorBuilder, FloorFacts, FloorKind } from '../../src/floors/builder.ts';
import { defaultBuilders } from '../../src/floors/builders/index.ts';
import type { RenderedPanel } from '../../src/panels/panel.ts';
import { createBuilderRegistry, type BuilderRegistry } from '../../src/floors/registry.ts';
import { PanelRenderer, type FloorOutcome, type RenderRequest } from '../../src/panels/renderer.ts';
import { compileFloorsFile, type CompiledLayout } from '../../src/layouts/compile.ts';
import { createMetrics } from '../../src/observability/metrics.ts';
import type { Money } from '../../src/money/money.ts';
import { UpstreamError } from '../../src/upstreams/upstream-error.ts';
import { cny, fakePanelData, quoteFixture } from '../floors/builders/fixtures.ts';

const LOCALES = ['zh-CN', 'en'];

/** A test builder that answers `facts` (or runs `build`) and counts its calls. */
interface CountingBuilder extends FloorBuilder {
  readonly calls: { count: number };
}

function testBuilder(
  name: string,
  answer: FloorFacts | null | (() => FloorFacts | null),
  kind: FloorKind = 'DEDUCTION',
): CountingBuilder {
  const calls = { count: 0 };
  return {
    name,
    description: `test builder ${name}`,
    kind,
    needs: ['settlement'],
    templateVars: ['amount', 'note'],
    calls,
    build() {
      calls.count += 1;
      return typeof answer === 'function' ? answer() : answer;
    },
  };
}

function amountOf(minor: number): FloorFacts {
  return { amount: cny(minor), vars: { amount: cny(minor) } };
}

function compile(scene: string, yaml: string, registry: BuilderRegistry): CompiledLayout {
  const result = compileFloorsFile(`floors/${scene}.yaml`, yaml, registry, LOCALES);
  if (result.layout === undefined) throw new Error(result.problems.map((p) => p.message).join('\n'));
  return result.layout;
}

/** One floor per entry, all in scene `test-sheet`, in the given order. */
function floorsYaml(...floors: string[]): string {
  return `scene: test-sheet\nversion: v-test\nfloors:\n${floors.join('')}`;
}

function floor(code: string, sort: number, extra = '', builder = code): string {
  return [
    `  - code: ${code}`,
    `    builder: ${builder}`,
    `    name: { zh-CN: 名${code}, en: Name ${code} }`,
    `    sort: ${sort}`,
    ...(extra === '' ? [] : extra.split('\n').map((line) => `    ${line}`)),
    '',
  ].join('\n');
}

interface LogCapture {
  readonly entries: Record<string, unknown>[];
}

function setup(builders: FloorBuilder[], yaml: string, hooks?: ConstructorParameters<typeof PanelRenderer>[0]['hooks']) {
  const registry = createBuilderRegistry(builders);
  const layout = compile('test-sheet', yaml, registry);
  const log: LogCapture = { entries: [] };
  const logger = pino({ level: 'debug' }, { write: (line: string) => log.entries.push(JSON.parse(line) as Record<string, unknown>) });
  const renderer = new PanelRenderer({ layouts: () => new Map([[layout.scene, layout]]), logger, hooks });
  return { renderer, log };
}

function request(locale = 'zh-CN', scene = 'test-sheet'): RenderRequest {
  return { scene, data: fakePanelData().data, viewer: { segments: [], platform: 'ios', locale, appVersion: '99.0.0' } };
}

const codes = (panel: RenderedPanel) => panel.floors.map((f) => f.code);

describe('PanelRenderer', () => {
  it('returns floors sorted by sort, ties kept in file order', async () => {
    const builders = ['d', 'b', 'a', 'c'].map((n) => testBuilder(n, amountOf(-100)));
    const { renderer } = setup(builders, floorsYaml(floor('d', 30), floor('b', 10), floor('a', 30), floor('c', 5)));
    const panel = await renderer.render(request());
    expect(codes(panel)).toEqual(['c', 'b', 'd', 'a']);
    expect(panel.floors.map((f) => f.sort)).toEqual([5, 10, 30, 30]);
  });

  it('renders a healthy panel undegraded, with the layout version, locale and formatted rows', async () => {
    const { renderer } = setup(
      [testBuilder('lj', amountOf(-500))],
      floorsYaml(floor('lj', 20, 'subName: { zh-CN: "省{amount}", en: "Saved {amount}" }\nstyle: [bold]')),
    );
    const panel = await renderer.render(request());
    expect(panel).toEqual({
      scene: 'test-sheet',
      layoutVersion: 'v-test',
      degraded: false,
      failedUpstreams: [],
      degradedReasons: [],
      locale: 'zh-CN',
      floors: [
        { code: 'lj', name: '名lj', priceText: '-¥5.00', amount: cny(-500), subName: '省-¥5.00', style: ['bold'], sort: 20, kind: 'DEDUCTION' },
      ],
    });
  });

  it('never builds a disabled floor', async () => {
    const on = testBuilder('on', amountOf(-100));
    const off = testBuilder('off', amountOf(-200));
    const { renderer } = setup([on, off], floorsYaml(floor('on', 10), floor('off', 20, 'enabled: false')));
    const panel = await renderer.render(request());
    expect(codes(panel)).toEqual(['on']);
    expect(off.calls.count).toBe(0);
    expect(on.calls.count).toBe(1);
  });

  it('hides a hideWhenZero floor only when its amount is exactly zero', async () => {
    const builders = [
      testBuilder('zero', amountOf(0)),
      testBuilder('minus-one-fen', amountOf(-1)),
      testBuilder('plus-one-fen', amountOf(1), 'INFO'),
      testBuilder('text', { amount: null }, 'TEXT'),
    ];
    const { renderer } = setup(
      builders,
      floorsYaml(
        floor('zero', 10, 'hideWhenZero: true'),
        floor('minus-one-fen', 20, 'hideWhenZero: true'),
        floor('plus-one-fen', 30, 'hideWhenZero: true'),
        floor('text', 40, 'hideWhenZero: true'),
      ),
    );
    const panel = await renderer.render(request());
    expect(codes(panel)).toEqual(['minus-one-fen', 'plus-one-fen', 'text']);
    expect(panel.degraded).toBe(false);
  });

  it('shows a zero amount when hideWhenZero is not set', async () => {
    const { renderer } = setup([testBuilder('zero', amountOf(0))], floorsYaml(floor('zero', 10)));
    const panel = await renderer.render(request());
    expect(panel.floors.map((f) => f.priceText)).toEqual(['¥0.00']);
  });

  it('shows zeroText instead of a zero price, in the panel locale', async () => {
    const builders = [testBuilder('free', amountOf(0), 'CHARGE'), testBuilder('paid', amountOf(600), 'CHARGE')];
    const zeroText = 'zeroText: { zh-CN: 免运费, en: Free }';
    const { renderer } = setup(builders, floorsYaml(floor('free', 10, zeroText), floor('paid', 20, zeroText)));
    const zh = await renderer.render(request('zh-CN'));
    const en = await renderer.render(request('en'));
    expect(zh.floors.map((f) => f.priceText)).toEqual(['免运费', '¥6.00']);
    expect(en.floors.map((f) => f.priceText)).toEqual(['Free', 'CN¥6.00']);
    // The amount itself stays a number for clients that compute with it.
    expect(zh.floors[0]?.amount).toEqual(cny(0));
  });

  it('leaves out a floor whose builder returns null, without degrading the panel', async () => {
    const builders = [testBuilder('member-only', null), testBuilder('other', amountOf(-100))];
    const { renderer } = setup(builders, floorsYaml(floor('member-only', 10), floor('other', 20)));
    const panel = await renderer.render(request());
    expect(codes(panel)).toEqual(['other']);
    expect(panel.degraded).toBe(false);
  });

  it('drops only the floor whose upstream failed, and reports the panel degraded', async () => {
    const builders = [
      testBuilder('spze', amountOf(20_900), 'GOODS'),
      testBuilder('mj', () => {
        throw new UpstreamError('promotion', 'timeout', 'no answer in 300 ms');
      }),
      testBuilder('coupon', amountOf(-600)),
    ];
    const { renderer, log } = setup(builders, floorsYaml(floor('spze', 10), floor('mj', 20), floor('coupon', 30)));
    const panel = await renderer.render(request());
    expect(codes(panel)).toEqual(['spze', 'coupon']);
    expect(panel.degraded).toBe(true);
    expect(panel.failedUpstreams).toEqual(['promotion']);
    // Upstream failures are counted elsewhere; they are not builder bugs to log.
    expect(log.entries.filter((e) => e['code'] === ErrorCode.BUILDER_FAILED)).toEqual([]);
  });

  it('lists each failed upstream once, in upstream order', async () => {
    const failing = (upstream: 'cart' | 'promotion' | 'settlement') => () => {
      throw new UpstreamError(upstream, 'timeout', 'slow');
    };
    const builders = [
      testBuilder('a', failing('settlement')),
      testBuilder('b', failing('promotion')),
      testBuilder('c', failing('settlement')),
      testBuilder('d', failing('cart')),
    ];
    const { renderer } = setup(builders, floorsYaml(floor('a', 10), floor('b', 20), floor('c', 30), floor('d', 40)));
    const panel = await renderer.render(request());
    expect(panel.floors).toEqual([]);
    expect(panel.failedUpstreams).toEqual(['cart', 'promotion', 'settlement']);
  });

  it('drops a floor whose builder has a bug, degrades the panel and logs the failure once across renders', async () => {
    const builders = [
      testBuilder('broken', () => {
        throw new TypeError("Cannot read properties of undefined (reading 'minor')");
      }),
      testBuilder('fine', amountOf(-100)),
    ];
    const { renderer, log } = setup(builders, floorsYaml(floor('broken', 10), floor('fine', 20)));
    const first = await renderer.render(request());
    const second = await renderer.render(request());
    for (const panel of [first, second]) {
      expect(codes(panel)).toEqual(['fine']);
      expect(panel.degraded).toBe(true);
      expect(panel.failedUpstreams).toEqual([]);
    }
    const logged = log.entries.filter((e) => e['code'] === ErrorCode.BUILDER_FAILED);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: 50, scene: 'test-sheet', floor: 'broken', builder: 'broken' });
    expect(logged[0]?.['err']).toMatchObject({ type: 'TypeError', message: "Cannot read properties of undefined (reading 'minor')" });
  });

  it('warns once about an upstream failure across many renders and floors, naming the call', async () => {
    const outage = () => {
        throw new UpstreamError('promotion', 'malformed', 'POST /promotions/query answered a body that breaks its contract at membership.tier');
      };
    const builders = [testBuilder('a', outage), testBuilder('b', outage), testBuilder('fine', amountOf(-100))];
    const { renderer, log } = setup(builders, floorsYaml(floor('a', 10), floor('b', 20), floor('fine', 30)));
    for (let i = 0; i < 5; i++) await renderer.render(request());
    const warned = log.entries.filter((e) => e['code'] === ErrorCode.UPSTREAM_MALFORMED);
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ level: 40, upstream: 'promotion', outcome: 'malformed' });
    expect(warned[0]?.['reason']).toContain('membership.tier');
  });

  it('says an upstream switched off by its kill switch is off, at info: an operator did it, nothing failed', async () => {
    const killed = () => {
      throw new UpstreamError('promotion', 'killed', 'not called: its kill switch is on');
    };
    const { renderer, log } = setup([testBuilder('a', killed), testBuilder('fine', amountOf(-100))], floorsYaml(floor('a', 10), floor('fine', 20)));
    for (let i = 0; i < 3; i++) await renderer.render(request());
    const logged = log.entries.filter((e) => e['code'] === ErrorCode.UPSTREAM_KILLED);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: 30, upstream: 'promotion', outcome: 'killed' });
    expect(logged[0]?.['msg']).toMatch(/^promotion is switched off by its kill switch; floors that need it are left out/);
  });

  it("names the request whose render logged a failure, its decisionId and traceId, and still logs each cause once", async () => {
    const outage = () => {
      throw new UpstreamError('promotion', 'http_error', 'POST /promotions/query answered HTTP 503');
    };
    const bug = () => {
      throw new TypeError('bug');
    };
    const { renderer, log } = setup([testBuilder('a', outage), testBuilder('broken', bug)], floorsYaml(floor('a', 10), floor('broken', 20)));
    await renderer.render({ ...request(), request: { decisionId: 'decision-1', trace: { traceId: 'f1'.repeat(16) } } });
    await renderer.render({ ...request(), request: { decisionId: 'decision-2', trace: { traceId: undefined } } });
    await renderer.render(request());
    const named = log.entries.filter((e) => e['code'] === ErrorCode.UPSTREAM_HTTP_STATUS || e['code'] === ErrorCode.BUILDER_FAILED);
    expect(named.map((e) => [e['code'], e['decisionId'], e['traceId']])).toEqual([
      [ErrorCode.UPSTREAM_HTTP_STATUS, 'decision-1', 'f1'.repeat(16)],
      [ErrorCode.BUILDER_FAILED, 'decision-1', 'f1'.repeat(16)],
    ]);
  });

  it('logs the same floor again when it fails for a different cause', async () => {
    let attempt = 0;
    const builders = [testBuilder('flaky', () => {
        throw new Error(`bug #${++attempt}`);
      })];
    const { renderer, log } = setup(builders, floorsYaml(floor('flaky', 10)));
    await renderer.render(request());
    await renderer.render(request());
    const logged = log.entries.filter((e) => e['code'] === ErrorCode.BUILDER_FAILED);
    expect(logged.map((e) => (e['err'] as { message: string }).message)).toEqual(['bug #1', 'bug #2']);
  });

  it('drops a floor whose build() throws synchronously instead of failing the whole panel', async () => {
    const sync: FloorBuilder = {
      name: 'sync-throw',
      description: 'throws before returning a promise',
      kind: 'DEDUCTION',
      needs: [],
      templateVars: [],
      build() {
        throw new Error('thrown synchronously');
      },
    };
    const { renderer, log } = setup([sync, testBuilder('fine', amountOf(-100))], floorsYaml(floor('sync-throw', 10), floor('fine', 20)));
    const panel = await renderer.render(request());
    expect(codes(panel)).toEqual(['fine']);
    expect(panel.degraded).toBe(true);
    expect(log.entries.filter((e) => e['code'] === ErrorCode.BUILDER_FAILED)).toHaveLength(1);
  });

  it('drops a deduction a builder forgot to negate, logging the floor, builder and amount, and counts it', async () => {
    // QA's case: a gift card builder returned what the card applies (¥3.00) without negate().
    let applies = 300;
    const giftcard: FloorBuilder = {
      name: 'giftcard',
      description: 'test: the gift card applied, its sign forgotten',
      kind: 'DEDUCTION',
      needs: ['cart', 'settlement'],
      templateVars: ['amount'],
      build: () => ({ amount: cny(applies), vars: { amount: cny(applies) } }),
    };
    const metrics = createMetrics({ defaultMetrics: false });
    const shipped = ['spze', 'lj', 'mj', 'coupon', 'plus95', 'shipping', 'payable'];
    const { renderer, log } = setup(
      [...defaultBuilders, giftcard],
      floorsYaml(...shipped.map((code, i) => floor(code, (i + 1) * 10)), floor('giftcard', 85)),
      { panelServed: (panel, outcomes) => metrics.panelRendered(panel, outcomes) },
    );
    // Settlement took ¥3.00 off for the gift card.
    const quote = quoteFixture({ discounts: [...quoteFixture().discounts, { kind: 'giftcard', amount: cny(300), sourceIds: ['gc-1'] }], payable: cny(16_830) });
    const render = async () => {
      const rendered = await renderer.renderExplained({ ...request(), data: fakePanelData({ quote }).data });
      renderer.served(rendered.panel, rendered.outcomes);
      return rendered;
    };
    const { panel, outcomes } = await render();
    applies = 500;
    await render();

    // Before: 名giftcard ¥3.00 as a DEDUCTION, with a compensating 其他优惠.
    expect(codes(panel)).not.toContain('giftcard');
    expect(panel.floors.filter((f) => f.kind === 'DEDUCTION').every((f) => f.amount!.minor <= 0)).toBe(true);
    // What the quote took off for the card, no longer shown by its row, is on the other-discounts row.
    expect(panel.floors.find((f) => f.code === 'other-discounts')?.priceText).toBe('-¥3.00');
    expect(panel).toMatchObject({ degraded: true, failedUpstreams: [], degradedReasons: ['PARTIAL_BREAKDOWN', 'BUILDER_FAILED'] });
    expect(outcomes.find((o) => o.code === 'giftcard')).toEqual({
      code: 'giftcard',
      status: 'builder-failed',
      error: 'FLOORPLAN_ERR_MONEY_INVALID: a DEDUCTION amount must be zero or negative, but got: {"minor":300,"currency":"CNY"}',
    });
    // Logged once per floor and cause, not once per amount (the second render's ¥5.00 is the same bug).
    const logged = log.entries.filter((e) => e['code'] === ErrorCode.BUILDER_FAILED);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: 50, scene: 'test-sheet', floor: 'giftcard', builder: 'giftcard' });
    expect((logged[0]?.['err'] as { message: string }).message).toBe('a DEDUCTION amount must be zero or negative, but got: {"minor":300,"currency":"CNY"}');
    expect(await metrics.registry.metrics()).toContain('floorplan_floors_dropped_total{scene="test-sheet",floor="giftcard",reason="builder"} 2');
  });

  it('holds every builder to the sign its kind has: goods, charges and the total never negative, deductions never positive', async () => {
    const builders = [
      testBuilder('goods', amountOf(-1), 'GOODS'),
      testBuilder('deduction', amountOf(1), 'DEDUCTION'),
      testBuilder('charge', amountOf(-1), 'CHARGE'),
      testBuilder('total', amountOf(-1), 'PAYABLE'),
      // INFO (paid later, either way) has no sign rule; zero is every kind's.
      testBuilder('info', amountOf(-1), 'INFO'),
      testBuilder('zero-goods', amountOf(0), 'GOODS'),
      testBuilder('zero-deduction', amountOf(0), 'DEDUCTION'),
    ];
    const { renderer } = setup(builders, floorsYaml(...builders.map((b, i) => floor(b.name, (i + 1) * 10))));
    const { panel, outcomes } = await renderer.renderExplained(request());
    expect(codes(panel)).toEqual(['info', 'zero-goods', 'zero-deduction']);
    expect(panel.degradedReasons).toEqual(['BUILDER_FAILED']);
    expect(outcomes.filter((o) => o.status === 'builder-failed').map((o) => [o.code, 'error' in o ? o.error : undefined])).toEqual([
      ['goods', 'FLOORPLAN_ERR_MONEY_INVALID: a GOODS amount must be zero or positive, but got: {"minor":-1,"currency":"CNY"}'],
      ['deduction', 'FLOORPLAN_ERR_MONEY_INVALID: a DEDUCTION amount must be zero or negative, but got: {"minor":1,"currency":"CNY"}'],
      ['charge', 'FLOORPLAN_ERR_MONEY_INVALID: a CHARGE amount must be zero or positive, but got: {"minor":-1,"currency":"CNY"}'],
      ['total', 'FLOORPLAN_ERR_MONEY_INVALID: a PAYABLE amount must be zero or positive, but got: {"minor":-1,"currency":"CNY"}'],
    ]);
  });

  it('drops a builder row whose answer is not whole minor units, or no answer at all, and serves the rest of the panel', async () => {
    // QA's case: a shipping-insurance builder priced at 0.5 % of the goods (`goodsTotal.minor * 0.005`,
    // Math.round forgotten) type-checks — MinorUnits is a number — and used to fail every panel of
    // the scene with INTERNAL_SERVER_ERROR, instead of failing its own row.
    const broken = (name: string, kind: FloorKind, answer: () => unknown): FloorBuilder => ({
      name,
      description: `test: ${name}`,
      kind,
      needs: ['cart', 'settlement'],
      templateVars: ['amount'],
      build: () => answer() as FloorFacts,
    });
    const builders = [
      broken('insurance', 'CHARGE', () => ({ amount: cny(20_900 * 0.005), vars: { amount: cny(20_900 * 0.005) } })),
      broken('not-a-number', 'CHARGE', () => ({ amount: cny(Number.NaN) })),
      broken('text-minor', 'INFO', () => ({ amount: { minor: '8', currency: 'CNY' } })),
      broken('no-amount', 'INFO', () => ({ vars: {} })),
      broken('no-return', 'CHARGE', () => undefined),
      // Only a sub-name variable is not whole minor units: the row stays, without its sub-name.
      broken('rate', 'TEXT', () => ({ amount: null, vars: { amount: cny(0.5) } })),
    ];
    const shipped = ['spze', 'lj', 'mj', 'coupon', 'plus95', 'shipping', 'payable'];
    const { renderer, log } = setup(
      [...defaultBuilders, ...builders],
      floorsYaml(
        ...shipped.map((code, i) => floor(code, (i + 1) * 10)),
        ...builders.map((b, i) => floor(b.name, 51 + i, 'hideWhenZero: true\nsubName: { zh-CN: "{amount}", en: "{amount}" }')),
      ),
    );
    const { panel, outcomes } = await renderer.renderExplained({ ...request(), data: fakePanelData().data });
    expect(codes(panel)).toEqual(['spze', 'lj', 'mj', 'coupon', 'plus95', 'rate', 'shipping', 'payable']);
    expect(panel.floors.find((f) => f.code === 'rate')).toMatchObject({ priceText: null, subName: null });
    // The rows shown still add up to the total: nothing needed the safe form.
    expect(panel).toMatchObject({ degraded: true, failedUpstreams: [], degradedReasons: ['BUILDER_FAILED'] });
    expect(outcomes.filter((o) => o.status === 'builder-failed').map((o) => [o.code, 'error' in o ? o.error : undefined])).toEqual([
      ['insurance', 'FLOORPLAN_ERR_MONEY_INVALID: `amount.minor` must be a safe integer of minor units, but got: 104.5'],
      ['not-a-number', 'FLOORPLAN_ERR_MONEY_INVALID: `amount.minor` must be a safe integer of minor units, but got: NaN'],
      ['text-minor', 'FLOORPLAN_ERR_MONEY_INVALID: `amount.minor` must be a safe integer of minor units, but got: "8"'],
      ['no-amount', 'FLOORPLAN_ERR_MONEY_INVALID: `amount` must be null (a row without an amount) or money ({minor, currency}), but got: undefined'],
      ['no-return', 'FLOORPLAN_ERR_MONEY_INVALID: a builder must return null (no row) or its facts ({amount, vars}), but got: undefined'],
    ]);
    const logged = log.entries.filter((e) => e['code'] === ErrorCode.BUILDER_FAILED).map((e) => [e['floor'], e['builder']]);
    expect(logged).toEqual([['insurance', 'insurance'], ['not-a-number', 'not-a-number'], ['text-minor', 'text-minor'], ['no-amount', 'no-amount'], ['no-return', 'no-return']]);
  });

  it('rejects an unknown scene, naming the scenes it knows', async () => {
    const registry = createBuilderRegistry([testBuilder('a', amountOf(1))]);
    const one = compile('b-sheet', `scene: b-sheet\nfloors:\n${floor('a', 1)}`, registry);
    const two = compile('a-sheet', `scene: a-sheet\nfloors:\n${floor('a', 1)}`, registry);
    const renderer = new PanelRenderer({
      layouts: () => new Map([[one.scene, one], [two.scene, two]]),
      logger: pino({ level: 'silent' }),
    });
    await expect(renderer.render(request('zh-CN', 'checkout'))).rejects.toMatchObject({
      code: ErrorCode.LAYOUT_UNKNOWN_SCENE,
      message: 'scene must be one of "a-sheet", "b-sheet", but got: "checkout"',
    });
  });

  it('renders names, sub-names and money in English for the en locale', async () => {
    const registry = createBuilderRegistry(defaultBuilders);
    const yaml = [
      'scene: test-sheet',
      'floors:',
      floor('spze', 10, '', 'spze'),
      floor('lj', 20, '', 'lj'),
      floor('mj', 25, 'subName: { zh-CN: "{campaignTitle}", en: "{campaignTitle}" }', 'mj'),
      floor('coupon', 30, 'subName: { zh-CN: "已领券 {amount}", en: "Coupons applied {amount}" }', 'coupon'),
      floor('plus95', 40, '', 'plus95'),
      floor('shipping', 50, '', 'shipping'),
      floor('payable', 90, 'subName: { zh-CN: "共优惠 {savings}", en: "You save {savings}" }', 'payable'),
    ].join('\n');
    const layout = compile('test-sheet', yaml, registry);
    const renderer = new PanelRenderer({ layouts: () => new Map([[layout.scene, layout]]), logger: pino({ level: 'silent' }) });
    const panel = await renderer.render(request('en'));
    expect(panel.locale).toBe('en');
    expect(panel.floors.map((f) => [f.name, f.priceText, f.subName])).toEqual([
      ['Name spze', 'CN¥209.00', null],
      ['Name lj', '-CN¥5.00', null],
      ['Name mj', '-CN¥20.00', '满199减20'],
      ['Name coupon', '-CN¥10.00', 'Coupons applied -CN¥10.00'],
      ['Name plus95', '-CN¥8.70', null],
      ['Name shipping', 'CN¥6.00', null],
      ['Name payable', 'CN¥171.30', 'You save CN¥43.70'],
    ]);
  });

  it('formats thousands and large amounts digit for digit', async () => {
    const big: Money = cny(299_999_997_000); // ¥2,999,999,970.00
    const { renderer } = setup([testBuilder('big', { amount: big }, 'GOODS')], floorsYaml(floor('big', 10)));
    const zh = await renderer.render(request('zh-CN'));
    const en = await renderer.render(request('en'));
    expect(zh.floors[0]?.priceText).toBe('¥2,999,999,970.00');
    expect(en.floors[0]?.priceText).toBe('CN¥2,999,999,970.00');
  });

  it('renders an empty sub-name, and a variable the builder did not supply, as nothing', async () => {
    const builders = [testBuilder('a', { amount: cny(100) }, 'INFO'), testBuilder('b', { amount: cny(100), vars: { note: 'hi' } }, 'INFO')];
    const { renderer } = setup(
      builders,
      floorsYaml(floor('a', 10, 'subName: { zh-CN: "{note}", en: "{note}" }'), floor('b', 20, 'subName: { zh-CN: "[{note}]", en: "{note}" }')),
    );
    const panel = await renderer.render(request());
    expect(panel.floors.map((f) => f.subName)).toEqual([null, '[hi]']);
  });

  it('tells panelServed what happened to every configured floor, once the panel is served and not before', async () => {
    const seen: { panel: RenderedPanel; outcomes: readonly FloorOutcome[] }[] = [];
    const builders = [
      testBuilder('shown', amountOf(-100)),
      testBuilder('off', amountOf(-100)),
      testBuilder('empty', null),
      testBuilder('zero', amountOf(0)),
      testBuilder('upstream', () => {
        throw new UpstreamError('settlement', 'http_error', 'status 503');
      }),
      testBuilder('bug', () => {
        throw new RangeError('bad index');
      }),
    ];
    const { renderer } = setup(
      builders,
      floorsYaml(
        floor('shown', 10),
        floor('off', 20, 'enabled: false'),
        floor('empty', 30),
        floor('zero', 40, 'hideWhenZero: true'),
        floor('upstream', 50),
        floor('bug', 60),
      ),
      { panelServed: (panel, outcomes) => seen.push({ panel, outcomes }) },
    );
    const { panel, outcomes } = await renderer.renderExplained(request());
    // Rendered is not served: the resolver may still refuse it (OVERLOADED, shed "late").
    expect(seen).toHaveLength(0);
    renderer.served(panel, outcomes);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.panel).toBe(panel);
    const byCode = Object.fromEntries((seen[0]?.outcomes ?? []).map((o) => [o.code, o]));
    expect(byCode).toEqual({
      shown: { code: 'shown', status: 'shown' },
      off: { code: 'off', status: 'disabled' },
      empty: { code: 'empty', status: 'empty' },
      zero: { code: 'zero', status: 'zero' },
      upstream: { code: 'upstream', status: 'upstream-failed', upstream: 'settlement', outcome: 'http_error' },
      bug: { code: 'bug', status: 'builder-failed', error: 'RangeError: bad index' },
    });
    expect(seen[0]?.outcomes).toHaveLength(6);
  });

  it('asks for each upstream once per panel, however many floors read it, before building any', async () => {
    const registry = createBuilderRegistry(defaultBuilders);
    const codesOf = ['spze', 'lj', 'mj', 'coupon', 'plus95', 'shipping', 'payable'];
    const yaml = ['scene: test-sheet', 'floors:', ...codesOf.map((code, i) => floor(code, (i + 1) * 10, '', code))].join('\n');
    const layout = compile('test-sheet', yaml, registry);
    const renderer = new PanelRenderer({ layouts: () => new Map([[layout.scene, layout]]), logger: pino({ level: 'silent' }) });
    const { data, calls } = fakePanelData();
    const panel = await renderer.render({ scene: 'test-sheet', data, viewer: { segments: [], platform: 'ios', locale: 'zh-CN', appVersion: '99.0.0' } });
    expect(codes(panel)).toEqual(codesOf);
    // Six floors read the quote and one the lines: each was asked for once, for the whole panel.
    expect(calls.filter((c) => c === 'quote')).toHaveLength(1);
    expect(calls.filter((c) => c === 'selectedLines')).toHaveLength(1);
    expect(calls).not.toContain('promotion');
  });

  it('settles an upstream a builder reads beyond its needs, then builds that floor again: a member\'s zero PLUS row', async () => {
    const registry = createBuilderRegistry(defaultBuilders);
    // plus95 needs only the quote; with no discount taken off, it asks promotion whether the viewer is a member.
    const yaml = ['scene: test-sheet', 'floors:', floor('spze', 10, '', 'spze'), floor('plus95', 20, '', 'plus95')].join('\n');
    const layout = compile('test-sheet', yaml, registry);
    const renderer = new PanelRenderer({ layouts: () => new Map([[layout.scene, layout]]), logger: pino({ level: 'silent' }) });
    const viewer = { segments: [], platform: 'ios', locale: 'zh-CN', appVersion: '99.0.0' };
    const quote = quoteFixture();
    const noPlus = { ...quote, discounts: quote.discounts.filter((d) => d.kind !== 'plus95') };

    const member = fakePanelData({ quote: noPlus });
    const shown = await renderer.renderExplained({ scene: 'test-sheet', data: member.data, viewer });
    expect(shown.panel.floors.map((f) => [f.code, f.priceText])).toEqual([['spze', '¥209.00'], ['plus95', '¥0.00']]);
    expect(shown.outcomes).toContainEqual({ code: 'plus95', status: 'shown' });
    expect(member.calls.filter((c) => c === 'promotion')).toHaveLength(1);

    const outage = new UpstreamError('promotion', 'timeout', 'slow');
    const unknown = fakePanelData({ quote: noPlus, promotion: outage });
    const dropped = await renderer.renderExplained({ scene: 'test-sheet', data: unknown.data, viewer });
    expect(codes(dropped.panel)).toEqual(['spze']);
    expect(dropped.outcomes).toContainEqual({ code: 'plus95', status: 'upstream-failed', upstream: 'promotion', outcome: 'timeout' });
    expect(dropped.panel).toMatchObject({ degraded: true, failedUpstreams: ['promotion'], degradedReasons: ['UPSTREAM_FAILED'] });

    // Settlement took the discount off: promotion is never asked.
    const plain = fakePanelData();
    await renderer.render({ scene: 'test-sheet', data: plain.data, viewer });
    expect(plain.calls).not.toContain('promotion');
  });

  it('renders the real builders from one fake quote, reading promotion only for floors that need it', async () => {
    const registry = createBuilderRegistry(defaultBuilders);
    const yaml = ['scene: test-sheet', 'floors:', floor('lj', 20, '', 'lj'), floor('shipping', 50, '', 'shipping')].join('\n');
    const layout = compile('test-sheet', yaml, registry);
    const renderer = new PanelRenderer({ layouts: () => new Map([[layout.scene, layout]]), logger: pino({ level: 'silent' }) });
    const { data, calls } = fakePanelData({
      quote: quoteFixture(),
      promotion: new UpstreamError('promotion', 'timeout', 'slow'),
    });
    const panel = await renderer.render({ scene: 'test-sheet', data, viewer: { segments: [], platform: 'ios', locale: 'zh-CN', appVersion: '99.0.0' } });
    expect(panel.degraded).toBe(false);
    expect(panel.floors.map((f) => f.priceText)).toEqual(['-¥5.00', '¥6.00']);
    expect(calls).not.toContain('promotion');
  });
});
