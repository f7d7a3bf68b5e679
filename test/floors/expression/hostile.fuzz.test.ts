/**
 * Malformed and hostile expressions, named and generated: each either fails at load with a
 * clear message (what is wrong, where) or compiles within the cost limit, in which case
 * running it over the largest data its bounds allow stays bounded — it answers, or fails as
 * that floor's FLOORPLAN_ERR_EXPRESSION_FAILED. Nothing throws anything else, hangs, or
 * builds a huge string.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode, FloorplanError } from '../../../src/errors.ts';
import { COST_LIMIT, CompiledExpression, compileExpression, MAX_EXPRESSION_LENGTH, type DomainRoots } from '../../../src/floors/expression/expression-floor.ts';
import { cartFixture, cartLine, cny, promotionFixture, quoteFixture } from '../builders/fixtures.ts';

/** Data at the bounds the cost estimate assumes: 500 cart lines with 256-character titles, 50 discounts, 200 coupons. */
function largestData(): DomainRoots {
  const lines = Array.from({ length: 500 }, (_, i) => ({ ...cartLine(`sku-${i}`, 1, 100), title: 'x'.repeat(256) }));
  const cart = cartFixture({ lines });
  const discounts = Array.from({ length: 50 }, (_, i) => ({ kind: 'coupon' as const, amount: cny(1), sourceIds: Array.from({ length: 50 }, (_, j) => `c-${i}-${j}`) }));
  const coupons = Array.from({ length: 200 }, (_, i) => ({ id: `c-${i}`, title: 'y'.repeat(256), claimed: true, discount: cny(1), threshold: cny(0) }));
  return {
    cart,
    lines,
    quote: quoteFixture({ discounts }),
    promotion: promotionFixture({ coupons }),
    viewer: { segments: Array.from({ length: 32 }, (_, i) => `seg-${i}`), platform: 'ios' },
  };
}
const DATA = largestData();

/** What happened to one expression. */
function outcome(source: string): { loaded: false; problem: string } | { loaded: true; ran: 'ok' | 'expression-failed'; size: number } {
  for (const role of ['var', 'when', 'amount'] as const) {
    const compiled = compileExpression(source, 'fuzz', role);
    if (compiled instanceof CompiledExpression) {
      expect(compiled.cost).toBeLessThanOrEqual(COST_LIMIT);
      const run = (path: () => unknown) => {
        try {
          const value = path();
          return { loaded: true as const, ran: 'ok' as const, value, size: typeof value === 'string' ? value.length : 0 };
        } catch (error) {
          expect(error).toBeInstanceOf(FloorplanError);
          expect((error as FloorplanError).code).toBe(ErrorCode.EXPRESSION_FAILED);
          return { loaded: true as const, ran: 'expression-failed' as const, value: undefined, size: 0 };
        }
      };
      const cel = run(() => compiled.evaluateWithCel(DATA));
      // The fast path, when it covers the expression, answers as cel-js does (or fails as it does).
      if (compiled.fast !== undefined) expect(run(() => compiled.evaluate(DATA)), source).toEqual(cel);
      return { loaded: true, ran: cel.ran, size: cel.size };
    }
    // A wrong result type is a clear problem too, but try the other roles first.
    if (!compiled.problem.startsWith('must be ')) return { loaded: false, problem: compiled.problem };
  }
  const last = compileExpression(source, 'fuzz', 'var');
  return { loaded: false, problem: (last as { problem: string }).problem };
}

const nest = (depth: number, open: string, inner: string, close: string) => open.repeat(depth) + inner + close.repeat(depth);

/**
 * A string grown tenfold `levels` times from 100 characters (10^(levels + 2) in the end), each
 * round's result passed through `hide` before the next copies it ten times: the QA's
 * amplifier (`{"a": x}["a"]`), where an estimate that loses a value's width inside `hide`
 * sees 256-character strings, costs each round as the first and misses the blow-up.
 */
function amplified(levels: number, hide: (value: string) => string): string {
  const names = 'stuvwxyzab';
  let body = `size(${names[levels - 1]}.lowerAscii())`;
  for (let i = levels - 1; i >= 0; i--) {
    const value = i === 0 ? `"${'x'.repeat(100)}"` : `[${Array.from({ length: 10 }, () => names[i - 1]).join(', ')}].join()`;
    body = `[${hide(value)}].map(${names[i]}, ${body})[0]`;
  }
  return body;
}

/** Ways to pass a value on that an estimate could lose its width through. */
const HIDES: ReadonlyArray<readonly [string, (value: string) => string]> = [
  ["a map literal's value, indexed", (v) => `{"a": ${v}}["a"]`],
  ["a map literal's value, as a field", (v) => `{"a": ${v}}.a`],
  ["a map literal's key, iterated", (v) => `{${v}: 0}.map(k, k)[0]`],
  ['the right side of a list +', (v) => `([""] + [${v}])[1]`],
  ['the ?: branch with the shorter list', (v) => `(size(viewer.segments) > 99 ? ["", ""] : [${v}])[0]`],
  ['a nested list literal', (v) => `[["", ""], [${v}]][1][0]`],
];

describe('hostile expressions fail at load with a clear message, or are bounded by the cost limit', () => {
  const refusedAtLoad: ReadonlyArray<readonly [string, string, RegExp]> = [
    ['deep parentheses', nest(200, '(', '1', ')'), /Exceeded maxDepth \(32\)/],
    ['deep unary minus', nest(500, '-', 'money(1)', ''), /Exceeded maxAstNodes \(400\)/],
    ['deep ternaries', nest(60, 'true ? ', '1', ' : 0'), /Exceeded maxDepth|maxAstNodes/],
    ['many nodes', Array.from({ length: 500 }, () => '1').join(' + '), /Exceeded maxAstNodes \(400\)/],
    ['a huge string literal', `"${'a'.repeat(5000)}"`, new RegExp(`must be at most ${MAX_EXPRESSION_LENGTH} characters long`)],
    ['a huge integer literal', '123456789012345678901234567890', /integer|overflow|out of range/i],
    ['an int beyond exact money', 'money(9007199254740993)', /integer literals must be within/],
    ['a huge list literal', `[${Array.from({ length: 100 }, (_, i) => i).join(', ')}]`, /Exceeded maxListElements \(64\)/],
    ['doubling strings with cel.bind', 'cel.bind(a, "xx", cel.bind(b, a + a, cel.bind(c, b + b, c + c)))', /`bind\(\)` is not available/],
    ['a catastrophic regular expression', 'cart.userId.matches("(a+)+$")', /`matches\(\)` is not available/],
    ['nested comprehensions over the cart', 'cart.lines.map(a, cart.lines.map(b, cart.lines.map(c, c.title).join()).join()).join()', /must cost at most 200000 steps/],
    ['a product of two big lists', 'size(promotion.coupons.filter(c, cart.lines.exists(l, l.title == c.title)))', /must cost at most 200000 steps/],
    ['string blow-up through join', 'cart.lines.map(l, l.title + l.title + l.title + l.title).join(cart.lines.map(l, l.title).join())', /must cost at most 200000 steps/],
    ['an unknown variable', 'customer.isNew', /Unknown variable: customer.*known variables: cart: Cart/],
    ['an unknown field', 'quote.discount', /No such key: discount.*column 7.*known fields of Quote/],
    ['a wrong type', 'quote.goodsTotal + 1', /no such overload: Money \+ int/],
    ['unbalanced', 'sum(quote.discounts.map(d, d.amount)', /must be a valid CEL expression/],
    ['garbage', '}{][', /must be a valid CEL expression/],
    ['an empty expression', '   ', /must be a valid CEL expression/],
    ['a timestamp', 'timestamp("2026-01-01T00:00:00Z")', /`timestamp\(\)` is not available/],
    ['dyn escaping the types', 'dyn(quote).anything', /`dyn\(\)` is not available/],
    ['bytes', 'b"abc".string()', /bytes are not available/],
  ];
  for (const [how, hide] of HIDES) {
    it(`refuses a string blown up through ${how} at load, with the cost message`, () => {
      const result = outcome(amplified(5, hide));
      expect(result.loaded, how).toBe(false);
      expect((result as { problem: string }).problem).toMatch(/^must cost at most 200000 steps .*, but is estimated at \d+/);
    });
  }

  it('refuses comparing lists of long strings in a loop, as it compares every character', () => {
    const compare = (test: string) => `[promotion.coupons.map(c, c.title).join()].map(s, [[s + "a", s + "b"]].map(p, cart.lines.filter(l, ${test}))[0])[0].size()`;
    for (const test of ['[p[0]] == [p[1]]', 'p[0] in [p[1]]']) {
      const result = outcome(compare(test));
      expect(result.loaded, test).toBe(false);
      expect((result as { problem: string }).problem).toMatch(/^must cost at most 200000 steps/);
    }
  });

  it('admits the same shapes when what they build is small', () => {
    for (const [how, hide] of HIDES) expect(outcome(amplified(2, hide)), how).toMatchObject({ loaded: true, ran: 'ok', size: 0 });
    expect(outcome('[{"kinds": quote.discounts.map(d, d.kind).join(", ")}.kinds].map(s, size(s.lowerAscii()))[0] > 0')).toMatchObject({ loaded: true, ran: 'ok' });
    expect(outcome('cart.lines.filter(l, [l.skuId] == ["sku-1"]).size()')).toMatchObject({ loaded: true, ran: 'ok' });
  });

  for (const [what, source, message] of refusedAtLoad) {
    it(`refuses ${what} at load`, () => {
      const result = outcome(source);
      expect(result.loaded, `${what} loaded`).toBe(false);
      expect((result as { problem: string }).problem).toMatch(message);
    });
  }

  it('runs what it admits within its bound over the largest data it admits', () => {
    for (const source of [
      'cart.lines.map(l, l.title).join(", ")',
      'size(promotion.coupons.filter(c, c.title.contains("y")))',
      'quote.discounts.map(d, d.kind + ":" + string(d.sourceIds.size())).join(", ")',
      '"seg-3" in viewer.segments',
    ]) {
      const result = outcome(source);
      expect(result, source).toMatchObject({ loaded: true, ran: 'ok' });
    }
  });

  it('generated expressions: each is refused with a message, or runs within its cost bound', () => {
    const atoms = ['quote', 'quote.discounts', 'cart.lines', 'lines', 'promotion.coupons', 'viewer.segments', 'quote.goodsTotal', '"s"', '1', 'money(1)', 'true', 'd', 'l.title', '9223372036854775807'];
    const ops = [' + ', ' - ', ' * ', ' == ', ' < ', ' && ', ' in ', '.', '[0]', '.size()', '.map(l, l)', '.filter(d, true)', '.join()', '.exists(x, x == x)', ')', '(', ',', '-', '!'];
    const expression = fc.array(fc.oneof(fc.constantFrom(...atoms), fc.constantFrom(...ops), fc.string({ maxLength: 6 })), { minLength: 1, maxLength: 14 }).map((parts) => parts.join(''));
    fc.assert(
      fc.property(expression, (source) => {
        const result = outcome(source);
        if (!result.loaded) {
          expect(result.problem.length).toBeGreaterThan(0);
          expect(result.problem).toMatch(/^must /);
        } else {
          // Bounded: no string beyond what the estimate allows.
          expect(result.size).toBeLessThanOrEqual(COST_LIMIT);
        }
      }),
      { numRuns: 400, seed: 14 },
    );
  });
});
