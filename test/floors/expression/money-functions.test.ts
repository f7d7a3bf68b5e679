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
import type { SettlementQuote } from '../../../src/floors/builder.ts';
import { quoteFixture } from '../builders/fixtures.ts';

/** goods ¥209.00; 立减 ¥5.00, 满减 ¥20.00, 券 ¥10.00 (2 coupons), 95折 ¥8.70; shipping ¥6.00; payable ¥171.30. */
const QUOTE = quoteFixture();

function compiled(source: string): CompiledExpression {
  const asVar = compileExpression(source, 'golden', 'var');
  const result = asVar instanceof CompiledExpression ? asVar : compileExpression(source, 'golden', 'when');
  if (!(result instanceof CompiledExpression)) throw new Error(`${source}: ${result.problem}`);
  return result;
}

/** Down both paths (cel-js, and the closures of fast-path.ts), which must agree to the last unit and message. */
function evaluate(source: string, quote: SettlementQuote = QUOTE): unknown {
  const expression = compiled(source);
  expect(expression.fast, `${source} takes the fast path`).toBeDefined();
  let cel: unknown;
  let celError: string | undefined;
  try {
    cel = expression.evaluateWithCel({ quote });
  } catch (error) {
    celError = (error as Error).message;
  }
  let fast: unknown;
  let fastError: string | undefined;
  try {
    fast = expression.evaluate({ quote });
  } catch (error) {
    fastError = (error as Error).message;
  }
  expect(fastError, source).toBe(celError);
  if (celError !== undefined) throw new Error(celError);
  expect(fast, source).toEqual(cel);
  return cel;
}

const money = (minor: number, currency = 'CNY') => ({ minor, currency });

/** Per signature: expression → exact result (CelMoney, BigInt, bool). */
const GOLDEN: Record<string, ReadonlyArray<readonly [string, unknown]>> = {
  'sum(list<Money>): Money': [
    ['sum(quote.discounts.map(d, d.amount))', money(4370)],
    ['sum(quote.discounts.filter(d, d.kind == "coupon").map(d, d.amount))', money(1000)],
    ['sum(quote.discounts.filter(d, d.kind == "new-customer").map(d, d.amount))', money(0, '')],
    ['sum([quote.shipping, quote.shipping, quote.shipping])', money(1800)],
  ],
  'sum(list<int>): int': [
    ['sum(quote.discounts.filter(d, d.kind == "coupon").map(d, d.sourceIds.size()))', 2],
    ['sum(quote.discounts.map(d, d.sourceIds.size()))', 4],
    ['sum(quote.lines.map(l, l.quantity))', 3],
  ],
  'min(Money, Money): Money': [
    ['min(quote.goodsTotal, money(5000))', money(5000, 'CNY')],
    ['min(quote.shipping, quote.payable)', money(600)],
    ['min(quote.shipping, quote.shipping)', money(600)],
  ],
  'abs(Money): Money': [
    ['abs(quote.payable - quote.goodsTotal)', money(3770)],
    ['abs(quote.shipping)', money(600)],
    ['abs(-money(0))', money(0, '')],
  ],
  'money(int): Money': [
    ['money(500)', money(500, '')],
    ['money(500) + quote.shipping', money(1100)],
    ['money(-9007199254740991)', money(-9_007_199_254_740_991, '')],
    // As docs/expression-floors.md says: its currency is the one it meets, so alone it reads "".
    ['money(500).currency == ""', true],
    ['(quote.shipping + money(500)).currency == "CNY"', true],
  ],
  'Money + Money': [
    ['quote.goodsTotal + quote.shipping', money(21_500)],
    ['money(1) + money(2)', money(3, '')],
  ],
  'Money - Money': [
    ['quote.goodsTotal - quote.payable', money(3770)],
    ['quote.shipping - quote.goodsTotal', money(-20_300)],
  ],
  '-Money': [
    ['-sum(quote.discounts.filter(d, d.kind == "instant").map(d, d.amount))', money(-500)],
    ['-(-quote.shipping)', money(600)],
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
    expect(evaluate('money(9007199254740991) - money(1)')).toEqual(money(9_007_199_254_740_990, ''));
  });

  it('has a golden case for every documented function', () => {
    expect(MONEY_FUNCTIONS.filter((f) => (GOLDEN[f.signature] ?? []).length === 0).map((f) => f.signature)).toEqual([]);
  });

  it('documents every function in docs/expression-floors.md', () => {
    const docs = readFileSync('docs/expression-floors.md', 'utf8');
    expect(MONEY_FUNCTIONS.filter((f) => !docs.includes(`\`${f.signature}\``)).map((f) => f.signature)).toEqual([]);
  });

  it('runs every example of the docs\' function table, on both paths', () => {
    const docs = readFileSync('docs/expression-floors.md', 'utf8');
    const table = docs.slice(docs.indexOf('### Money functions'), docs.indexOf('Each has golden tests'));
    // The Example column: a row's last cell, one expression in backticks.
    const examples = [...table.matchAll(/^\|.*\| `([^`]+)` \|$/gm)].map((match) => match[1] as string);
    expect(examples.length, 'one example per row of the table').toBe(table.match(/^\| `/gm)?.length);
    expect(examples.length).toBeGreaterThanOrEqual(MONEY_FUNCTIONS.length);
    for (const example of examples) expect(() => evaluate(example), example).not.toThrow();
  });

  it('gives what the docs say of strings, counted in characters', () => {
    const docs = readFileSync('docs/expression-floors.md', 'utf8');
    const paragraph = docs.slice(docs.indexOf('Strings count characters'), docs.indexOf('## Checked at load'));
    // "`<expression>` is `<CEL literal>`", as the paragraph writes its examples.
    const claims = [...paragraph.matchAll(/`("[^`]*"\.[a-zA-Z]+\([^`]*\))` is\s+`([^`]+)`/g)].map((match) => [match[1] as string, match[2] as string] as const);
    expect(claims.length).toBeGreaterThanOrEqual(4);
    for (const [expression, said] of claims) expect(evaluate(expression), expression).toEqual(evaluate(said));
  });

  it('compares and adds amounts of one currency only', () => {
    const usd = quoteFixture({ shipping: { minor: 100, currency: 'USD' } });
    expect(() => evaluate('quote.shipping < quote.payable', usd)).toThrow(/two currencies: USD and CNY/);
    expect(() => evaluate('quote.goodsTotal + quote.shipping', usd)).toThrow(/two currencies: CNY and USD/);
    expect(() => evaluate('sum([quote.goodsTotal, quote.shipping])', usd)).toThrow(/two currencies/);
  });
});
