/**
 * The fast path (closures over the domain objects) answers exactly as cel-js does: for
 * generated well-typed expressions of the shapes floors use, over generated quotes, carts,
 * promotions and viewers, both paths give the same value, or both fail as the floor's
 * FLOORPLAN_ERR_EXPRESSION_FAILED (the money functions' messages are compared word for word by
 * the golden tests).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Cart, Promotion, SettlementQuote } from '../../../src/floors/builder.ts';
import { CompiledExpression, compileExpression, type DomainRoots } from '../../../src/floors/expression/expression-floor.ts';
import { KNOWN_DISCOUNT_KINDS } from '../../../src/upstreams/contracts.ts';

// bank-card: a kind settlement added since this release, which an expression floor may filter on.
const KINDS = [...KNOWN_DISCOUNT_KINDS, 'bank-card'] as const;
const CURRENCY = fc.constantFrom('CNY', 'CNY', 'CNY', 'JPY');
const money = (currency: fc.Arbitrary<string> = fc.constant('CNY')) => fc.record({ minor: fc.oneof(fc.integer({ min: 0, max: 100_000 }), fc.maxSafeNat()), currency });

const roots: fc.Arbitrary<DomainRoots> = fc
  .record({
    discounts: fc.array(fc.record({ kind: fc.constantFrom(...KINDS), amount: money(CURRENCY), sourceIds: fc.array(fc.constantFrom('a', 'b', 'c'), { maxLength: 3 }) }), { maxLength: 6 }),
    goods: money(),
    shipping: money(),
    lines: fc.array(fc.record({ skuId: fc.constantFrom('s1', 's2', 's3'), title: fc.string({ maxLength: 8 }), quantity: fc.integer({ min: 1, max: 9 }), unitPrice: money(), selected: fc.boolean() }), { maxLength: 5 }),
    coupons: fc.array(fc.record({ id: fc.constantFrom('a', 'b', 'x'), title: fc.string({ maxLength: 6 }), claimed: fc.boolean(), discount: money(), threshold: money() }), { maxLength: 4 }),
    tier: fc.constantFrom('plus' as const, 'none' as const),
    quota: fc.option(money(), { nil: null }),
    segments: fc.array(fc.constantFrom('new', 'plus', 'vip'), { maxLength: 3 }),
    // Characters of one and two UTF-16 units, and a lone surrogate: where indices in characters and in units part.
    platform: fc.string({ unit: fc.constantFrom('a', 'i', '苹', '🍎', '🎁', '\ud83c'), maxLength: 6 }),
  })
  .map((g) => {
    const quote: SettlementQuote = { quoteId: 'q', currency: 'CNY', lines: [], goodsTotal: g.goods, discounts: g.discounts, shipping: g.shipping, plusRebate: { minor: 0, currency: 'CNY' }, payable: g.goods };
    const cart: Cart = { userId: 'u', currency: 'CNY', lines: g.lines };
    const promotion: Promotion = { userId: 'u', membership: { tier: g.tier, plus95QuotaRemaining: g.quota }, campaigns: [], coupons: g.coupons };
    return { quote, cart, lines: g.lines.filter((l) => l.selected), promotion, viewer: { segments: g.segments, platform: g.platform } };
  });

const kind = fc.constantFrom(...KINDS).map((k) => `"${k}"`);
const discountPredicate = fc.oneof(
  kind.map((k) => `d.kind == ${k}`),
  kind.map((k) => `d.kind != ${k}`),
  fc.constantFrom('"a" in d.sourceIds', 'd.sourceIds.size() > 1', 'd.amount > money(500)', 'd.amount == money(0)', 'true'),
  fc.tuple(kind, kind).map(([a, b]) => `d.kind == ${a} || d.kind == ${b}`),
  kind.map((k) => `!(d.kind == ${k}) && d.sourceIds.size() >= 0`),
);
const moneyExpression = fc.oneof(
  discountPredicate.map((p) => `sum(quote.discounts.filter(d, ${p}).map(d, d.amount))`),
  discountPredicate.map((p) => `-sum(quote.discounts.filter(d, ${p}).map(d, d.amount))`),
  discountPredicate.map((p) => `sum(quote.discounts.map(d, ${p}, d.amount))`),
  fc.constantFrom(
    'quote.goodsTotal + quote.shipping',
    'quote.goodsTotal - quote.shipping',
    'min(quote.goodsTotal, quote.shipping)',
    'abs(quote.shipping - quote.goodsTotal)',
    'sum(lines.map(l, l.unitPrice))',
    'sum(cart.lines.filter(l, l.selected).map(l, l.unitPrice))',
    'has(promotion.membership.plus95QuotaRemaining) ? promotion.membership.plus95QuotaRemaining : money(0)',
    'promotion.membership.plus95QuotaRemaining',
    'quote.discounts[0].amount',
    'sum(promotion.coupons.filter(c, c.claimed && c.threshold <= quote.goodsTotal).map(c, c.discount))',
    '-sum([quote.shipping, quote.goodsTotal])',
  ),
);
const otherExpression = fc.oneof(
  discountPredicate.map((p) => `quote.discounts.exists(d, ${p})`),
  discountPredicate.map((p) => `quote.discounts.all(d, ${p})`),
  discountPredicate.map((p) => `quote.discounts.exists_one(d, ${p})`),
  discountPredicate.map((p) => `size(quote.discounts.filter(d, ${p}))`),
  discountPredicate.map((p) => `sum(quote.discounts.filter(d, ${p}).map(d, d.sourceIds.size()))`),
  fc.constantFrom(
    '"new" in viewer.segments',
    'promotion.membership.tier == "plus" && !("vip" in viewer.segments)',
    'size(cart.lines) >= size(lines)',
    'sum(lines.map(l, l.quantity))',
    'cart.lines.exists(l, l.title.contains("a"))',
    'cart.lines.map(l, l.skuId).size()',
    'lines.size() > 2 ? "many" : "few"',
    'viewer.platform + "/" + cart.userId',
    'size(viewer.platform)',
  ),
);
const character = fc.constantFrom('"a"', '"苹"', '"🍎"', '"🍎a"', '""');
const index = fc.integer({ min: -1, max: 7 }).map(String);
const stringIndexExpression = fc.oneof(
  index.map((i) => `viewer.platform.substring(${i})`),
  fc.tuple(index, index).map(([i, j]) => `viewer.platform.substring(${i}, ${j})`),
  character.map((c) => `viewer.platform.indexOf(${c})`),
  fc.tuple(character, index).map(([c, i]) => `viewer.platform.indexOf(${c}, ${i})`),
  character.map((c) => `viewer.platform.lastIndexOf(${c})`),
  fc.tuple(character, index).map(([c, i]) => `viewer.platform.lastIndexOf(${c}, ${i})`),
  fc.constantFrom('viewer.platform.substring(size(viewer.platform))', 'cart.lines.map(l, l.title.indexOf("a")).size()', '"🍎a苹🍎".indexOf(viewer.platform)', '"🍎a苹🍎".lastIndexOf(viewer.platform, 2)'),
);

function both(expression: CompiledExpression, data: DomainRoots): { value?: unknown; error?: string }[] {
  const run = (path: () => unknown) => {
    try {
      return { value: path() };
    } catch (error) {
      // Both must fail; the words may differ (cel-js: "No such key: index out of bounds…", the fast path: "index out of range"), the code may not.
      return { error: (error as { code?: string }).code };
    }
  };
  return [run(() => expression.evaluateWithCel(data)), run(() => expression.evaluate(data))];
}

describe('the fast path answers as cel-js does', () => {
  it('for generated floor expressions over generated data', () => {
    fc.assert(
      fc.property(fc.oneof(moneyExpression, otherExpression, stringIndexExpression), roots, (source, data) => {
        const compiled = compileExpression(source, 'property', 'var');
        const expression = compiled instanceof CompiledExpression ? compiled : compileExpression(source, 'property', 'when');
        if (!(expression instanceof CompiledExpression)) throw new Error(`${source}: ${expression.problem}`);
        expect(expression.fast, `${source} takes the fast path`).toBeDefined();
        const [cel, fast] = both(expression, data);
        expect(fast, source).toEqual(cel);
      }),
      { numRuns: 1500, seed: 1414 },
    );
  });
});
