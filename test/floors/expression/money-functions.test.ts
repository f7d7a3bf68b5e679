/**
 * Golden tests of Floorplan's own CEL functions (docs/expression-floors.md, "Money
 * functions"): each documented signature, evaluated over fixed data, gives exactly this.
 * A function added to MONEY_FUNCTIONS without a golden case here, or without its line in
 * the docs, fails the last two tests.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileExpression, CompiledExpression } from '../../../src/floors/expression/expression-floor.ts';
import { MONEY_FUNCTIONS } from '../../../src/floors/expression/environment.ts';
import { CelMoney, convertQuote } from '../../../src/floors/expression/values.ts';
import { cny, quoteFixture } from '../builders/fixtures.ts';

/** goods ¥209.00; 立减 ¥5.00, 满减 ¥20.00, 券 ¥10.00 (2 coupons), 95折 ¥8.70; shipping ¥6.00; payable ¥171.30. */
const QUOTE = convertQuote(quoteFixture());

function evaluate(source: string): unknown {
  const compiled = compileExpression(source, 'golden', 'var');
  const when = compiled instanceof CompiledExpression ? compiled : compileExpression(source, 'golden', 'when');
  if (!(when instanceof CompiledExpression)) throw new Error(`${source}: ${when.problem}`);
  return when.evaluate({ quote: QUOTE });
}

const money = (minor: bigint, currency = 'CNY') => new CelMoney(minor, currency);

/** Per signature: expression → exact result (CelMoney, BigInt, bool). */
const GOLDEN: Record<string, ReadonlyArray<readonly [string, unknown]>> = {
  'sum(list<Money>): Money': [
    ['sum(quote.discounts.map(d, d.amount))', money(4370n)],
    ['sum(quote.discounts.filter(d, d.kind == "coupon").map(d, d.amount))', money(1000n)],
    ['sum(quote.discounts.filter(d, d.kind == "new-customer").map(d, d.amount))', money(0n, '')],
    ['sum([quote.shipping, quote.shipping, quote.shipping])', money(1800n)],
  ],
  'sum(list<int>): int': [
    ['sum(quote.discounts.filter(d, d.kind == "coupon").map(d, d.sourceIds.size()))', 2n],
    ['sum(quote.discounts.map(d, d.sourceIds.size()))', 4n],
    ['sum(quote.lines.map(l, l.quantity))', 3n],
  ],
  'min(Money, Money): Money': [
    ['min(quote.goodsTotal, money(5000))', money(5000n, 'CNY')],
    ['min(quote.shipping, quote.payable)', money(600n)],
    ['min(quote.shipping, quote.shipping)', money(600n)],
  ],
  'abs(Money): Money': [
    ['abs(quote.payable - quote.goodsTotal)', money(3770n)],
    ['abs(quote.shipping)', money(600n)],
    ['abs(-money(0))', money(0n, '')],
  ],
  'money(int): Money': [
    ['money(500)', money(500n, '')],
    ['money(500) + quote.shipping', money(1100n)],
    ['money(-9007199254740991)', money(-9_007_199_254_740_991n, '')],
  ],
  'Money + Money': [
    ['quote.goodsTotal + quote.shipping', money(21_500n)],
    ['money(1) + money(2)', money(3n, '')],
  ],
  'Money - Money': [
    ['quote.goodsTotal - quote.payable', money(3770n)],
    ['quote.shipping - quote.goodsTotal', money(-20_300n)],
  ],
  '-Money': [
    ['-sum(quote.discounts.filter(d, d.kind == "instant").map(d, d.amount))', money(-500n)],
    ['-(-quote.shipping)', money(600n)],
  ],
  'Money == Money': [
    ['quote.payable + sum(quote.discounts.map(d, d.amount)) - quote.shipping == quote.goodsTotal', true],
    ['quote.shipping == money(0)', false],
    ['quote.shipping != money(0)', true],
  ],
  'Money < Money': [
    ['quote.shipping < quote.payable', true],
    ['quote.payable <= quote.payable', true],
    ['quote.goodsTotal > money(9900)', true],
    ['quote.shipping >= money(601)', false],
  ],
};

describe('Floorplan money functions: golden results', () => {
  for (const f of MONEY_FUNCTIONS) {
    it(`${f.signature}`, () => {
      for (const [source, expected] of GOLDEN[f.signature] ?? []) expect(evaluate(source), source).toEqual(expected);
      // The documented example itself compiles and runs.
      if (f.example !== '') expect(() => evaluate(f.example), f.example).not.toThrow();
    });
  }

  it('keeps money exact at the edge: beyond 2^53 − 1 is an error, never a rounded number', () => {
    expect(() => evaluate('money(9007199254740991) + money(1)')).toThrow(/money beyond/);
    expect(evaluate('money(9007199254740991) - money(1)')).toEqual(money(9_007_199_254_740_990n, ''));
  });

  it('has a golden case for every documented function', () => {
    expect(MONEY_FUNCTIONS.filter((f) => (GOLDEN[f.signature] ?? []).length === 0).map((f) => f.signature)).toEqual([]);
  });

  it('documents every function in docs/expression-floors.md', () => {
    const docs = readFileSync('docs/expression-floors.md', 'utf8');
    expect(MONEY_FUNCTIONS.filter((f) => !docs.includes(`\`${f.signature}\``)).map((f) => f.signature)).toEqual([]);
  });

  it('compares amounts of one currency only', () => {
    expect(cny(1)).toEqual({ minor: 1, currency: 'CNY' });
    const usd = convertQuote(quoteFixture({ shipping: { minor: 100, currency: 'USD' } }));
    const compiled = compileExpression('quote.shipping < quote.payable', 'golden', 'when') as CompiledExpression;
    expect(() => compiled.evaluate({ quote: usd })).toThrow(/two currencies: USD and CNY/);
  });
});
