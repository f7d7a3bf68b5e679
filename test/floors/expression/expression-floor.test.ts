/**
 * Expression floors as builders: the same rows as the hand-written builders, upstreams derived
 * from what the expressions read, degradation per field, and every run-time failure turned
 * into FLOORPLAN_ERR_EXPRESSION_FAILED for that one floor.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode, FloorplanError } from '../../../src/errors.ts';
import type { FloorBuildContext, FloorBuilder, FloorFacts } from '../../../src/floors/builder.ts';
import { coupon } from '../../../src/floors/builders/coupon.ts';
import { lj } from '../../../src/floors/builders/lj.ts';
import { CompiledExpression, compileExpression, compileExpressionFloor, type ExpressionFloorSpec } from '../../../src/floors/expression/expression-floor.ts';
import { UpstreamError } from '../../../src/upstreams/upstream-error.ts';
import { buildContext, cartFixture, cny, fakePanelData, promotionFixture, quoteFixture, upstreamsRead } from '../builders/fixtures.ts';
import { caughtFrom } from '../../support/thrown.ts';

/** lj and coupon, written as expression floors (as bench/expression-floors.ts renders them). */
export const LJ_SPEC: ExpressionFloorSpec = {
  code: 'lj',
  kind: 'DEDUCTION',
  amount: '-sum(quote.discounts.filter(d, d.kind == "instant").map(d, d.amount))',
};
export const COUPON_SPEC: ExpressionFloorSpec = {
  code: 'coupon',
  kind: 'DEDUCTION',
  amount: '-sum(quote.discounts.filter(d, d.kind == "coupon").map(d, d.amount))',
  vars: { couponCount: 'sum(quote.discounts.filter(d, d.kind == "coupon").map(d, d.sourceIds.size()))' },
};

function floor(spec: ExpressionFloorSpec): FloorBuilder {
  const compiled = compileExpressionFloor(spec);
  if (compiled.builder === undefined) throw new Error(JSON.stringify(compiled.problems));
  return compiled.builder;
}

/** The row a floor gives, its decorations' variables with its own (as the renderer merges them). */
function row(builder: FloorBuilder, ctx: FloorBuildContext): FloorFacts | null {
  const facts = builder.build(ctx);
  return facts === null || builder.decorations === undefined ? facts : { ...facts, vars: { ...facts.vars, ...builder.decorations.decorate(ctx) } };
}

function promotionDown(): UpstreamError {
  return new UpstreamError('promotion', 'http_error', 'HTTP 503');
}

describe('expression floors build the rows the hand-written builders build', () => {
  it('lj and coupon as expressions give the same amounts and variables as their builders', async () => {
    for (const quote of [quoteFixture(), quoteFixture({ discounts: [] }), quoteFixture({ discounts: [{ kind: 'coupon', amount: cny(300), sourceIds: ['a'] }, { kind: 'coupon', amount: cny(200), sourceIds: ['b', 'c'] }] })]) {
      const ctx = buildContext(fakePanelData({ quote }).data);
      expect(row(floor(LJ_SPEC), ctx)).toEqual(lj.build(ctx));
      expect(row(floor(COUPON_SPEC), ctx)).toEqual(coupon.build(ctx));
    }
  });

  it('needs only the upstreams its expressions read (plus the cart, whose currency is the panel\'s)', () => {
    expect(floor(LJ_SPEC).needs).toEqual(['cart', 'settlement']);
    expect(floor({ code: 'x', kind: 'INFO', amount: 'promotion.coupons.filter(c, c.claimed).map(c, c.discount)[0]' }).needs).toEqual(['cart', 'promotion']);
    expect(floor({ code: 'x', kind: 'INFO', amount: 'loyalty.usable.value' }).needs).toEqual(['cart', 'loyalty']);
    expect(floor({ code: 'x', kind: 'TEXT', when: '"new" in viewer.segments' }).needs).toEqual([]);
  });

  it('reads a variable from another upstream as a decoration: a promotion outage keeps the quote-only amount', async () => {
    const builder = floor({ ...LJ_SPEC, vars: { campaigns: 'string(size(promotion.campaigns))' } });
    expect(builder.needs).toEqual(['cart', 'settlement']);
    expect(builder.decorations?.needs).toEqual(['promotion']);
    expect(builder.decorations?.vars).toEqual(['campaigns']);
    const { data, calls } = fakePanelData({ promotion: promotionDown() });
    expect(await builder.build(buildContext(data))).toEqual({ amount: cny(-500), vars: { amount: cny(-500) } });
    expect(upstreamsRead(calls)).toEqual(['settlement']);
    expect(caughtFrom(() => builder.decorations?.decorate(buildContext(data)))).toBeInstanceOf(UpstreamError);
    const healthy = fakePanelData().data;
    expect(await builder.decorations?.decorate(buildContext(healthy))).toEqual({ campaigns: '3' });
  });

  it('leaves {amount} to `vars.amount` when the floor defines it, so a failed decoration leaves it empty', async () => {
    const builder = floor({ ...LJ_SPEC, vars: { amount: 'promotion.campaigns[0].title' } });
    expect(builder.decorations?.vars).toEqual(['amount']);
    expect(await builder.build(buildContext(fakePanelData({ promotion: promotionDown() }).data))).toEqual({ amount: cny(-500), vars: {} });
  });

  it('fails with its upstream when an upstream it needs fails, so the renderer drops it like any floor', async () => {
    const settlementDown = new UpstreamError('settlement', 'timeout', 'timed out');
    expect(caughtFrom(() => floor(LJ_SPEC).build(buildContext(fakePanelData({ quote: settlementDown }).data)))).toBe(settlementDown);
  });

  it('shows nothing when its `when` is false, and its row when true', async () => {
    const builder = floor({ code: 'member', kind: 'INFO', amount: 'quote.plusRebate', when: 'promotion.membership.tier == "plus"' });
    expect(await builder.build(buildContext(fakePanelData().data))).toEqual({ amount: cny(171), vars: { amount: cny(171) } });
    const nonMember = promotionFixture({ membership: { tier: 'none', plus95QuotaRemaining: null } });
    expect(await builder.build(buildContext(fakePanelData({ promotion: nonMember }).data))).toBeNull();
  });

  it('reads a non-member\'s absent quota with has(), and gives template values as Money, numbers and strings', async () => {
    const builder = floor({
      code: 'quota',
      kind: 'TEXT',
      vars: {
        quota: 'has(promotion.membership.plus95QuotaRemaining) ? promotion.membership.plus95QuotaRemaining : money(0)',
        lines: 'size(lines)',
        firstTitle: 'cart.lines[0].title',
      },
    });
    const nonMember = promotionFixture({ membership: { tier: 'none', plus95QuotaRemaining: null } });
    const decorated = await builder.decorations?.decorate(buildContext(fakePanelData({ promotion: nonMember }).data));
    expect(decorated).toEqual({ quota: cny(0), lines: 3, firstTitle: 'title of sku-a' });
    expect(await builder.decorations?.decorate(buildContext(fakePanelData().data))).toMatchObject({ quota: cny(100_000) });
  });
});

describe('a run-time failure fails only that floor, as FLOORPLAN_ERR_EXPRESSION_FAILED', () => {
  async function failure(spec: ExpressionFloorSpec, data = fakePanelData().data): Promise<FloorplanError> {
    const error = caughtFrom(() => floor(spec).build(buildContext(data)));
    expect(error).toBeInstanceOf(FloorplanError);
    expect((error as FloorplanError).code).toBe(ErrorCode.EXPRESSION_FAILED);
    return error as FloorplanError;
  }

  it('refuses a DEDUCTION amount above zero, naming the rule', async () => {
    const error = await failure({ code: 'x', kind: 'DEDUCTION', amount: 'sum(quote.discounts.map(d, d.amount))' });
    expect(error.message).toContain('a DEDUCTION amount must be zero or negative');
    expect(error.message).toContain('sum(quote.discounts.map(d, d.amount))');
  });

  it('refuses money beyond 2^53 − 1 minor units rather than round it', async () => {
    const big = quoteFixture({ goodsTotal: cny(Number.MAX_SAFE_INTEGER) });
    const error = await failure({ code: 'x', kind: 'GOODS', amount: 'quote.goodsTotal + quote.goodsTotal' }, fakePanelData({ quote: big }).data);
    expect(error.message).toContain('money beyond');
  });

  it('refuses to add money of two currencies', async () => {
    const mixed = quoteFixture({ shipping: { minor: 600, currency: 'JPY' } });
    const error = await failure({ code: 'x', kind: 'GOODS', amount: 'quote.goodsTotal + quote.shipping' }, fakePanelData({ quote: mixed }).data);
    expect(error.message).toContain('two currencies');
  });

  it('stops an expression whose list is longer than its cost bound assumed, before it runs', async () => {
    const lines = Array.from({ length: 501 }, (_, i) => ({ skuId: `sku-${i}`, title: 't', quantity: 1, unitPrice: cny(100), selected: true }));
    const error = await failure({ code: 'x', kind: 'INFO', amount: 'sum(cart.lines.map(l, l.unitPrice))' }, fakePanelData({ cart: cartFixture({ lines }) }).data);
    expect(error.message).toContain('cost limit: Cart.lines holds more than the 500 entries');
    // An expression that does not read that list is not stopped by it.
    expect(await floor({ code: 'y', kind: 'INFO', amount: 'money(size(cart.userId))' }).build(buildContext(fakePanelData({ cart: cartFixture({ lines }) }).data))).toEqual({ amount: cny(6), vars: { amount: cny(6) } });
  });

  it('reports an index out of range as the floor\'s failure, not the request\'s', async () => {
    const error = await failure({ code: 'x', kind: 'INFO', amount: 'quote.discounts[10].amount' });
    expect(error.message).toMatch(/expression `quote\.discounts\[10\]\.amount` \(amount\) failed: .*index/i);
  });
});

describe('a refused expression points at what is wrong', () => {
  const problem = (source: string): string => {
    const result = compileExpression(source, 'when', 'when');
    if (result instanceof CompiledExpression) throw new Error(`${source} compiled`);
    return result.problem;
  };

  it('marks the whole call of a function that is not allowed, not one character of its receiver', () => {
    expect(problem('viewer.platform == "ios" && viewer.platform.matches("i.*")')).toMatch(/ at column 29: viewer\.platform == "ios" && »viewer\.platform\.matches\("i\.\*"\)«$/);
    expect(problem('timestamp("2026-01-01T00:00:00Z") == timestamp("2026-01-01T00:00:00Z")')).toMatch(/`timestamp\(\)` is not available .* at column 1: »timestamp\("2026-01-01T00:00:00Z"\)« == /);
  });

  it('counts the column in characters: an emoji before the mistake is one, not two UTF-16 units', () => {
    expect(problem('"🍎🍎" != viewer.platform && viewer.platform.matches("i.*")')).toMatch(/ at column 28: "🍎🍎" != viewer\.platform && »viewer\.platform\.matches\("i\.\*"\)«$/);
    expect(problem('"🍎" != viewer.platform && viewer.platform.charAt(0) == "i"')).toMatch(/ at column 27: "🍎" != viewer\.platform && »viewer\.platform\.charAt\(0\)« == "i"$/);
    expect(problem('"🎁赠品" == viewer.platfrom')).toMatch(/No such key: platfrom at column 17: "🎁赠品" == viewer\.»platfrom«/);
    // A mark of one character around an emoji holds the whole emoji, not half of it.
    expect(problem('viewer.platform == "a" && 🍎')).toMatch(/ at column 27: viewer\.platform == "a" && »🍎«$/);
  });
});
