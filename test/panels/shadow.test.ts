import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { defaultBuilders } from '../../src/floors/builders/index.ts';
import { createBuilderRegistry } from '../../src/floors/registry.ts';
import { compileFloorsFile, type CompiledLayout } from '../../src/layouts/compile.ts';
import type { RenderedFloor, RenderedPanel } from '../../src/panels/panel.ts';
import { PanelRenderer } from '../../src/panels/renderer.ts';
import { keepsInvariant } from '../../src/panels/money-invariant.ts';
import { compareFloors, PANEL, ShadowComparer, type ShadowResult } from '../../src/panels/shadow.ts';
import { UpstreamError } from '../../src/upstreams/upstream-error.ts';
import { cny, fakePanelData, upstreamsRead } from '../floors/builders/fixtures.ts';

const registry = createBuilderRegistry(defaultBuilders);
const SHIPPED = readFileSync('floors/cart-bottom-sheet.yaml', 'utf8');
const WITHOUT_LOYALTY = SHIPPED.replace(/  - code: loyalty-points\n(?:    .*\n)+\n/, '');
const compile = (source: string): CompiledLayout => {
  const result = compileFloorsFile('floors/cart-bottom-sheet.yaml', source, registry, ['zh-CN', 'en']);
  if (result.layout === undefined) throw new Error(result.problems.map((p) => p.message).join('\n'));
  return result.layout;
};
const live = compile(WITHOUT_LOYALTY);
/** The candidate's staging every comparison here is of: revision 7, staged at this moment. */
const STAGING = { revision: 7, createdAt: '2026-12-06T10:00:00.000Z' };
const viewer = { userId: 'u1001', segments: [], platform: 'ios', locale: 'zh-CN', appVersion: '99.0.0' };

/** A comparer rendering with the real renderer, resolving each comparison's result. */
function setUp(locales?: readonly string[]) {
  const renderer = new PanelRenderer({ layouts: () => new Map([['cart-bottom-sheet', live]]), logger: pino({ level: 'silent' }) });
  const results: ShadowResult[] = [];
  let done: (() => void) | undefined;
  const shadow = new ShadowComparer({
    sampleRatio: 1,
    ...(locales === undefined ? {} : { locales }),
    render: (request) => renderer.renderExplained(request),
    logger: pino({ level: 'silent' }),
    onComparison: (_scene, result) => {
      results.push(result);
      done?.();
    },
  });
  /** Serves the live panel as the resolver does, then waits for its shadow comparison against `candidate`. */
  async function serveAndCompare(candidate: CompiledLayout) {
    const fake = fakePanelData();
    await fake.data.selectedLines();
    const recorded = shadow.record(fake.data);
    const { panel: served, outcomes: servedOutcomes } = await renderer.renderExplained({ scene: 'cart-bottom-sheet', data: recorded.data, viewer });
    const readByServed = upstreamsRead(fake.calls);
    const compared = new Promise<void>((resolve) => (done = resolve));
    shadow.schedule({ scene: 'cart-bottom-sheet', candidate: { ...STAGING, layout: candidate }, viewer, served, servedOutcomes, recorded, source: fake.data });
    await compared;
    return { served, readByServed, readAfter: upstreamsRead(fake.calls) };
  }
  return { shadow, results, serveAndCompare };
}

describe('shadow comparison of a layout candidate', () => {
  it('counts an identical candidate as identical, from the data the served panel read', async () => {
    const { shadow, results, serveAndCompare } = setUp();
    const { readByServed, readAfter } = await serveAndCompare(compile(WITHOUT_LOYALTY));
    expect(results).toEqual(['identical']);
    expect(readAfter).toEqual(readByServed);
    expect(shadow.report('cart-bottom-sheet', STAGING)).toMatchObject({ compared: 1, identical: 1, different: 0, invariantViolations: { candidate: 0, both: 0 } });
  });

  it('compares the texts in every configured locale, not only the viewer\'s, without reading any upstream again', async () => {
    // Only the English name of the coupon row changes: a zh-CN viewer's panels are the same.
    const englishOnly = compile(WITHOUT_LOYALTY.replace('name: { zh-CN: 优惠券, en: Coupons }', 'name: { zh-CN: 优惠券, en: Vouchers }'));
    const viewerOnly = setUp();
    await viewerOnly.serveAndCompare(englishOnly);
    expect(viewerOnly.results).toEqual(['identical']);

    const everyLocale = setUp(['zh-CN', 'en']);
    const { readByServed, readAfter } = await everyLocale.serveAndCompare(englishOnly);
    expect(everyLocale.results).toEqual(['different']);
    expect(readAfter).toEqual(readByServed);
    const report = everyLocale.shadow.report('cart-bottom-sheet', STAGING);
    expect(report.differences).toEqual({ coupon: { name: 1 } });
    expect(report.examples[0]!.differences).toEqual([{ floor: 'coupon', field: 'name', served: 'Coupons', candidate: 'Vouchers', locale: 'en' }]);
  });

  it('reports the floor and field that differ, with the user id hashed', async () => {
    const { shadow, serveAndCompare } = setUp();
    await serveAndCompare(compile(WITHOUT_LOYALTY.replace('name: { zh-CN: 优惠券, en: Coupons }', 'name: { zh-CN: 券, en: Coupons }')));
    const report = shadow.report('cart-bottom-sheet', STAGING);
    expect(report).toMatchObject({ compared: 1, different: 1, differences: { coupon: { name: 1 } } });
    expect(report.examples).toEqual([{ user: expect.stringMatching(/^[0-9a-f]{12}$/), locale: 'zh-CN', platform: 'ios', appVersion: '99.0.0', segments: [], at: expect.any(String), differences: [{ floor: 'coupon', field: 'name', served: '优惠券', candidate: '券' }] }]);
    expect(JSON.stringify(report)).not.toContain('u1001');
    // Another revision of the candidate starts from zero, and so does the same revision staged again (aborted, then staged anew).
    expect(shadow.report('cart-bottom-sheet', { ...STAGING, revision: 8 })).toMatchObject({ compared: 0, candidateRevision: 8 });
    expect(shadow.report('cart-bottom-sheet', { ...STAGING, createdAt: '2026-12-06T11:00:00.000Z' })).toMatchObject({ compared: 0, candidateRevision: 7, staged: '2026-12-06T11:00:00.000Z' });
    expect(shadow.verdict('cart-bottom-sheet', { ...STAGING, createdAt: '2026-12-06T11:00:00.000Z' })).toEqual({ compared: 0, invariantViolations: 0 });
    // The same moment written otherwise (as a replica and the store may) is the same staging.
    expect(shadow.report('cart-bottom-sheet', { ...STAGING, createdAt: '2026-12-06T10:00:00Z' })).toMatchObject({ compared: 1 });
  });

  it('skips, without calling it, a candidate that needs an upstream the served panel did not read', async () => {
    const { shadow, results, serveAndCompare } = setUp();
    const { readByServed, readAfter } = await serveAndCompare(compile(SHIPPED));
    expect(readByServed).not.toContain('loyalty');
    expect(readAfter).toEqual(readByServed);
    expect(results).toEqual(['skipped']);
    expect(shadow.report('cart-bottom-sheet', STAGING)).toMatchObject({ compared: 0, skipped: 1, skippedBy: { 'upstream-not-loaded': 1 } });
  });

  it('counts a candidate whose rows do not add up as an invariant violation, which blocks promote', async () => {
    const { shadow, serveAndCompare } = setUp();
    const { served } = await serveAndCompare(compile(WITHOUT_LOYALTY.replace(/  - code: lj\n(?:    .*\n)+\n/, '')));
    expect(keepsInvariant(served)).toBe(true);
    expect(shadow.verdict('cart-bottom-sheet', STAGING)).toEqual({ compared: 1, invariantViolations: 1 });
    expect(shadow.report('cart-bottom-sheet', STAGING).differences).toMatchObject({ lj: { presence: 1 } });
  });

  it('counts a candidate whose floor fails to build as different, naming the floor and the panel degraded where the served one was not', async () => {
    const { shadow, results, serveAndCompare } = setUp();
    const bogus = WITHOUT_LOYALTY.replace('\nvariants:\n', "\n  - code: bogus\n    kind: DEDUCTION\n    amount: 'money(100)'\n    name: { zh-CN: 假, en: Bogus }\n    sort: 36\n\nvariants:\n");
    const { served } = await serveAndCompare(compile(bogus));
    expect(served.degraded).toBe(false);
    expect(results).toEqual(['different']);
    const report = shadow.report('cart-bottom-sheet', STAGING);
    expect(report).toMatchObject({ compared: 1, identical: 0, different: 1, differences: { bogus: { build: 1 }, [PANEL]: { degradedReasons: 1 } } });
    expect(report.examples[0]!.differences).toEqual([
      { floor: 'bogus', field: 'build', served: null, candidate: expect.stringMatching(/^builder-failed: FLOORPLAN_ERR_EXPRESSION_FAILED: /) },
      { floor: PANEL, field: 'degradedReasons', served: [], candidate: ['BUILDER_FAILED'] },
    ]);
  });
});

describe('what a shadow render logs', () => {
  it('logs a shadow render\'s failures at debug, naming the candidate revision, without holding back the same failures of served renders', async () => {
    const lines: Array<{ level: number; msg: string } & Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    const renderer = new PanelRenderer({ layouts: () => new Map([['cart-bottom-sheet', live]]), logger: pino({ level: 'debug' }, sink) });
    // The candidate shows the loyalty row (no flags here), whose upstream timed out, and a floor whose expression fails.
    const candidate = { revision: 7, layout: compile(SHIPPED.replace('\nvariants:\n', "\n  - code: bogus\n    kind: DEDUCTION\n    amount: 'money(100)'\n    name: { zh-CN: 假, en: Bogus }\n    sort: 36\n\nvariants:\n")) };
    const timedOut = () => fakePanelData({ loyalty: new UpstreamError('loyalty', 'timeout', 'GET /loyalty/u1001 timed out (300 ms)') }).data;
    const flush = () => new Promise((resolve) => setImmediate(resolve));

    await renderer.render({ scene: 'cart-bottom-sheet', data: timedOut(), viewer, candidate, shadow: true });
    await flush();
    expect(lines.filter((l) => l.level >= 40)).toEqual([]);
    const shadowLines = lines.filter((l) => l.level === 20);
    expect(shadowLines.map((l) => l.msg).sort()).toEqual([
      expect.stringMatching(/^shadow render of the candidate \(revision 7\), not served: floor "bogus": its expression failed and the floor was dropped/),
      expect.stringMatching(/^shadow render of the candidate \(revision 7\), not served: loyalty failed; floors that need it were dropped/),
    ]);
    expect(shadowLines.find((l) => l.upstream === 'loyalty')).toMatchObject({ shadow: true, candidateRevision: 7 });

    // A user in the rollout is served the same candidate: those are real, and logged as before.
    await renderer.render({ scene: 'cart-bottom-sheet', data: timedOut(), viewer, candidate });
    await flush();
    const served = lines.filter((l) => l.level >= 40);
    expect(served.map((l) => [l.level, l.msg]).sort()).toEqual([
      [40, expect.stringMatching(/^loyalty failed; floors that need it were dropped/)],
      [50, expect.stringMatching(/^floor "bogus": its expression failed and the floor was dropped/)],
    ]);
    for (const line of served) expect(line).not.toHaveProperty('shadow');
  });
});

describe('compareFloors and keepsInvariant', () => {
  const floor = (code: string, minor: number, kind: RenderedFloor['kind'] = 'DEDUCTION'): RenderedFloor => ({ code, name: code, priceText: String(minor), amount: cny(minor), subName: null, style: [], sort: 0, kind });
  it('sees a reorder of the floors both panels have, and floors only one has', () => {
    const served = [floor('a', 1), floor('b', 2), floor('c', 3)];
    const candidate = [floor('b', 2), floor('a', 1), floor('d', 4)];
    expect(compareFloors(served, candidate).map((d) => `${d.floor}.${d.field}`)).toEqual(['a.order', 'b.order', 'c.presence', 'd.presence']);
  });
  it('holds when the summed rows equal the payable row', () => {
    const panel = (floors: RenderedFloor[]): RenderedPanel => ({ scene: 's', layoutVersion: 'v', degraded: false, failedUpstreams: [], degradedReasons: [], locale: 'zh-CN', floors });
    expect(keepsInvariant(panel([floor('g', 1000, 'GOODS'), floor('d', -200), floor('p', 800, 'PAYABLE')]))).toBe(true);
    expect(keepsInvariant(panel([floor('g', 1000, 'GOODS'), floor('p', 800, 'PAYABLE')]))).toBe(false);
  });
});
