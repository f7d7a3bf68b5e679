/**
 * Expression floors in floors/<scene>.yaml: a bad expression stops the layout at load (and so
 * at hot reload, floors:check and publish, which compile the same way) with file:line, the
 * expression, the column and the known fields; a good one becomes a floor like any other.
 * Also: the committed JSON Schema is the one the loader's schema generates, and the shipped
 * floors files point editors at it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadServiceConfig } from '../../src/config/service-config.ts';
import { defaultBuilders } from '../../src/floors/builders/index.ts';
import { createBuilderRegistry } from '../../src/floors/registry.ts';
import { compileFloorsFile, FLOORS_SCHEMA_FILE, floorsSchemaText, type CompiledLayout } from '../../src/layouts/compile.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const registry = createBuilderRegistry(defaultBuilders);
const LOCALES = ['zh-CN', 'en'] as const;
const FILE = 'floors/cart-bottom-sheet.yaml';

/** A goods row (line 3) and an expression floor (line 7) whose lines are given, one per argument. */
function file(...expressionFloor: string[]): string {
  return [
    'scene: cart-bottom-sheet', // 1
    'floors:', // 2
    '  - code: spze', // 3
    '    builder: spze', // 4
    '    name: { zh-CN: 商品总额, en: Goods total }', // 5
    '    sort: 10', // 6
    '  - code: new-customer', // 7
    '    name: { zh-CN: 新人立减, en: New-customer discount }', // 8
    '    sort: 35', // 9
    ...expressionFloor, // 10…
  ].join('\n') + '\n';
}

const NEW_CUSTOMER = `'-sum(quote.discounts.filter(d, d.kind == "new-customer").map(d, d.amount))'`;

function problems(source: string): string[] {
  const result = compileFloorsFile(FILE, source, registry, LOCALES);
  expect(result.layout).toBeUndefined();
  return result.problems.map((p) => p.message);
}

function layout(source: string): CompiledLayout {
  const result = compileFloorsFile(FILE, source, registry, LOCALES);
  if (result.layout === undefined) throw new Error(result.problems.map((p) => p.message).join('\n'));
  return result.layout;
}

describe('expression floors in a floors file', () => {
  it('compiles a floor with kind and amount into a floor whose builder needs what the expression reads', () => {
    const floor = layout(file('    kind: DEDUCTION', `    amount: ${NEW_CUSTOMER}`, '    subName: { zh-CN: "新人专享 {amount}", en: "First order {amount}" }')).floors[1];
    expect(floor?.code).toBe('new-customer');
    expect(floor?.builder.kind).toBe('DEDUCTION');
    expect(floor?.builder.needs).toEqual(['cart', 'settlement']);
    expect(floor?.builder.templateVars).toEqual(['amount']);
    expect(Object.isFrozen(floor?.builder)).toBe(true);
  });

  it('stops the layout on an unknown field, with file:line, the expression, the column and the known fields', () => {
    expect(problems(file('    kind: DEDUCTION', `    amount: '-sum(quote.discounts.filter(d, d.knd == "new-customer").map(d, d.amount))'`))).toEqual([
      '`floors[1].amount` must type-check against the panel\'s data; No such key: knd at column 34: -sum(quote.discounts.filter(d, d.»knd« == "new-customer").map(d, d.amount)); ' +
        'known fields of Discount: kind: string, amount: Money, sourceIds: list<string>, ' +
        'but got: "-sum(quote.discounts.filter(d, d.knd == \\"new-customer\\").map(d, d.amount))" (floors/cart-bottom-sheet.yaml:11)',
    ]);
  });

  it('stops the layout on an unknown variable, listing the variables', () => {
    expect(problems(file('    kind: DEDUCTION', "    amount: '-customer.discount'"))[0]).toMatch(
      /^`floors\[1\]\.amount` must type-check against the panel's data; Unknown variable: customer at column 2: -»customer«\.discount; known variables: cart: Cart, lines: list<CartLine>, promotion: Promotion, quote: Quote, loyalty: Loyalty, viewer: Viewer, but got: .* \(floors\/cart-bottom-sheet\.yaml:11\)$/,
    );
  });

  it('stops the layout on a wrong type', () => {
    expect(problems(file('    kind: DEDUCTION', "    amount: 'quote.goodsTotal - 100'"))[0]).toMatch(/`floors\[1\]\.amount` must type-check against the panel's data; no such overload: Money - int at column 1/);
  });

  it('stops the layout on money mixed with an int, saying how to write an amount and how to multiply one', () => {
    const HINT =
      'Money adds, subtracts and compares only with Money: write an amount as money(<minor units>) (money(9900) is ¥99.00 in CNY), ' +
      'and multiply or divide its .minor, an int: money(l.unitPrice.minor * l.quantity)';
    expect(problems(file('    kind: INFO', "    amount: 'quote.shipping'", "    when: 'quote.goodsTotal >= 9900'"))).toEqual([
      `\`floors[1].when\` must type-check against the panel's data; no such overload: Money >= int at column 1: »quote.goodsTotal >= 9900«; ${HINT}, but got: "quote.goodsTotal >= 9900" (floors/cart-bottom-sheet.yaml:12)`,
    ]);
    expect(problems(file('    kind: GOODS', "    amount: 'sum(lines.map(l, l.unitPrice * l.quantity))'"))).toEqual([
      `\`floors[1].amount\` must type-check against the panel's data; no such overload: Money * int at column 18: sum(lines.map(l, »l.unitPrice * l.quantity«)); ${HINT}, but got: "sum(lines.map(l, l.unitPrice * l.quantity))" (floors/cart-bottom-sheet.yaml:11)`,
    ]);
    expect(problems(file('    kind: INFO', "    amount: 'min(quote.goodsTotal, 9900)'"))).toEqual([
      "`floors[1].amount` must type-check against the panel's data; found no matching overload for 'min(Money, int)' at column 1: »min(quote.goodsTotal, 9900)«; " +
        'min() and abs() take Money only: write an amount as money(<minor units>), as in min(quote.goodsTotal, money(9900)); for ints, a < b ? a : b, ' +
        'but got: "min(quote.goodsTotal, 9900)" (floors/cart-bottom-sheet.yaml:11)',
    ]);
    // Written so, they are fine.
    layout(file('    kind: INFO', "    amount: 'min(quote.goodsTotal, money(9900))'"));
    layout(file('    kind: INFO', "    amount: 'quote.shipping'", "    when: 'quote.goodsTotal >= money(9900)'"));
    layout(file('    kind: GOODS', "    amount: 'sum(lines.map(l, money(l.unitPrice.minor * l.quantity)))'"));
  });

  it('points into an expression written over several lines (a YAML | block) by its line and the column in that line', () => {
    expect(problems(file('    kind: INFO', '    amount: |', '      qoute.goodsTotal', '        - quote.payable'))[0]).toMatch(
      /^`floors\[1\]\.amount` must type-check against the panel's data; Unknown variable: qoute at line 1, column 1: »qoute«\.goodsTotal\n  - quote\.payable\n; known variables: /,
    );
    expect(problems(file('    kind: INFO', '    amount: |', '      quote.goodsTotal', '        - quote.payabl'))[0]).toMatch(
      /^`floors\[1\]\.amount` must type-check against the panel's data; No such key: payabl at line 2, column 11: quote\.goodsTotal\n  - quote\.»payabl«\n; known fields of Quote: /,
    );
    // One line and its block's line break: a column, as for any one-line expression.
    expect(problems(file('    kind: INFO', '    amount: |', '      quote.payabl'))[0]).toContain('No such key: payabl at column 7: quote.»payabl«\n; known fields of Quote');
  });

  it('stops the layout on an amount that is not money', () => {
    expect(problems(file('    kind: DEDUCTION', "    amount: 'size(quote.discounts)'"))).toEqual([
      '`floors[1].amount` must be money: an expression of type Money, such as -sum(quote.discounts.filter(d, d.kind == "coupon").map(d, d.amount)) or money(500); it is int, but got: "size(quote.discounts)" (floors/cart-bottom-sheet.yaml:11)',
    ]);
  });

  it('stops the layout on a sub-name variable the floor does not define', () => {
    expect(problems(file('    kind: DEDUCTION', `    amount: ${NEW_CUSTOMER}`, '    subName: { zh-CN: "{amount} {coupons}", en: "{amount}" }'))).toEqual([
      '`floors[1].subName.zh-CN` may only use the variables the floor defines ({amount}): add the others under `vars`, but got: "{coupons}" (floors/cart-bottom-sheet.yaml:12)',
    ]);
    // Defined under vars, it is fine.
    const floor = layout(file('    kind: DEDUCTION', `    amount: ${NEW_CUSTOMER}`, "    vars: { coupons: 'size(promotion.coupons)' }", '    subName: { zh-CN: "{amount} {coupons}", en: "{amount}" }')).floors[1];
    expect(floor?.builder.templateVars).toEqual(['amount', 'coupons']);
    expect(floor?.usesDecorations).toBe(true);
  });

  it('stops the layout on a `vars` entry no sub-name of the floor uses, naming the variable and the floor', () => {
    // QA: the lj floor with an unused variable that fails at run time lost its row.
    expect(problems(file('    kind: DEDUCTION', `    amount: ${NEW_CUSTOMER}`, "    vars: { unused: 'quote.lines[10].quantity' }"))).toEqual([
      '`floors[1].vars.unused` must be shown by a sub-name of floor "new-customer" ({unused} is in none of its `subName` templates): remove it, or use it there, but got: "quote.lines[10].quantity" (floors/cart-bottom-sheet.yaml:12)',
    ]);
    // Used by one locale's sub-name, it is fine.
    const floor = layout(file('    kind: DEDUCTION', `    amount: ${NEW_CUSTOMER}`, "    vars: { lines: 'size(quote.lines)' }", '    subName: { zh-CN: "{lines} 件", en: "{amount}" }')).floors[1];
    expect(floor?.builder.templateVars).toEqual(['amount', 'lines']);
  });

  it("reports a floor's other problems together with an expression that does not compile, so one check finds them all", () => {
    // A set submitted now (floors:check, the admin API's check and publish), as an operator sends one.
    const source = file(
      '    kind: DEDUCTION', // 10
      "    amount: 'quote.knd'", // 11
      "    vars: { unused: 'size(quote.lines)' }", // 12
      '    subName: { zh-CN: "{amount} {coupons}", en: "{amount}" }', // 13
      '    subNameFallback: { zh-CN: "新人立减 {amount}", en: New-customer discount }', // 14
    ).replace('name: { zh-CN: 新人立减, en: New-customer discount }', 'name: { zh-CN: 新人立减, en: "New-customer {amount}" }');
    const result = compileFloorsFile(FILE, source, registry, LOCALES, undefined, { submitted: true });
    expect(result.problems.map((p) => p.message)).toEqual([
      '`floors[1].name.en` is shown to users as written: a {variable} is filled in only in `subName`, so move it there, but got: "{amount}" (floors/cart-bottom-sheet.yaml:8)',
      expect.stringMatching(/^`floors\[1\]\.amount` must type-check against the panel's data; No such key: knd at column 7: .* \(floors\/cart-bottom-sheet\.yaml:11\)$/),
      '`floors[1].vars.unused` must be shown by a sub-name of floor "new-customer" ({unused} is in none of its `subName` templates): remove it, or use it there, but got: "size(quote.lines)" (floors/cart-bottom-sheet.yaml:12)',
      '`floors[1].subName.zh-CN` may only use the variables the floor defines ({amount}, {unused}): add the others under `vars`, but got: "{coupons}" (floors/cart-bottom-sheet.yaml:13)',
      '`floors[1].subNameFallback.zh-CN` is shown to users as written (when a sub-name variable is missing): a {variable} is filled in only in `subName`, so leave it out, but got: "{amount}" (floors/cart-bottom-sheet.yaml:14)',
    ]);
  });

  it('stops the layout on a variable or condition of the wrong type, at its own line', () => {
    expect(problems(file('    kind: DEDUCTION', `    amount: ${NEW_CUSTOMER}`, "    when: 'viewer.segments'", "    vars: { flag: 'true' }"))).toEqual([
      '`floors[1].when` must be a condition: an expression of type bool; it is list<string>, but got: "viewer.segments" (floors/cart-bottom-sheet.yaml:12)',
      '`floors[1].vars.flag` must be a template value: an expression of type Money, int or string; it is bool, but got: "true" (floors/cart-bottom-sheet.yaml:13)',
      // Its other problem in the same pass: of the right type, it would still be shown by no sub-name.
      '`floors[1].vars.flag` must be shown by a sub-name of floor "new-customer" ({flag} is in none of its `subName` templates): remove it, or use it there, but got: "true" (floors/cart-bottom-sheet.yaml:13)',
    ]);
  });

  it('stops the layout on a builder and expressions together, on neither, and on an amount without kind', () => {
    expect(problems(file('    builder: lj', '    kind: DEDUCTION'))).toEqual([
      '`floors[1].builder` must not be given with `kind`: a floor either names a builder or declares expressions, but got: "lj" (floors/cart-bottom-sheet.yaml:10)',
    ]);
    expect(problems(file())).toEqual(['`floors[1]` must name a `builder`, or declare `kind` and an `amount` expression (an expression floor) (floors/cart-bottom-sheet.yaml:7)']);
    expect(problems(file(`    amount: ${NEW_CUSTOMER}`))).toEqual([
      '`floors[1]` must declare its `kind` (GOODS, DEDUCTION, CHARGE, PAYABLE, INFO, TEXT) to be an expression floor (floors/cart-bottom-sheet.yaml:7)',
    ]);
    expect(problems(file('    kind: DISCOUNT', `    amount: ${NEW_CUSTOMER}`))[0]).toMatch(/^`floors\[1\]\.kind` .*"DISCOUNT" \(floors\/cart-bottom-sheet\.yaml:10\)$/);
  });

  it('requires an amount except on a TEXT floor, which must not have one', () => {
    expect(problems(file('    kind: INFO'))).toEqual(['`floors[1].kind` needs an `amount` expression, as every floor but a TEXT one shows an amount, but got: "INFO" (floors/cart-bottom-sheet.yaml:10)']);
    expect(problems(file('    kind: TEXT', "    amount: 'money(1)'"))).toEqual(['`floors[1].amount` must be left out on a TEXT floor, which shows no amount, but got: "money(1)" (floors/cart-bottom-sheet.yaml:11)']);
    expect(layout(file('    kind: TEXT', '    when: \'"new" in viewer.segments\'')).floors[1]?.builder.needs).toEqual([]);
  });

  it('stops the layout on a function floor expressions do not allow, and on one over the cost limit', () => {
    expect(problems(file('    kind: TEXT', "    when: 'cart.userId.matches(\"^u\")'"))[0]).toMatch(/`floors\[1\]\.when` must only use what floor expressions allow; `matches\(\)` is not available in floor expressions/);
    expect(problems(file('    kind: TEXT', "    when: 'cart.lines.exists(a, cart.lines.exists(b, a.title == b.title))'"))[0]).toMatch(/`floors\[1\]\.when` must cost at most 200000 steps .*, but is estimated at \d+/);
  });

  it('stops the layout on a `when` that grows a string through map literals (QA: estimated 16,004 steps, ran 5 s)', () => {
    // Seven rounds of `[{"a": [s, s, … ten times].join()}["a"]].map(t, …)[0]`: a 100-million-character string.
    let when = 'size(y.lowerAscii())';
    const names = 'stuvwxy';
    for (let i = 6; i >= 0; i--) {
      const value = i === 0 ? `"${'x'.repeat(100)}"` : `[${Array.from({ length: 10 }, () => names[i - 1]).join(',')}].join()`;
      when = `[{"a": ${value}}["a"]].map(${names[i]}, ${when})[0]`;
    }
    expect(problems(file('    kind: TEXT', `    when: '${when} > 0'`))[0]).toMatch(/^`floors\[1\]\.when` must cost at most 200000 steps .*, but is estimated at \d+, but got: .* \(floors\/cart-bottom-sheet\.yaml:11\)$/);
  });
});

describe('the JSON Schema of floors/*.yaml', () => {
  const locales = loadServiceConfig({ dir: join(ROOT, 'config'), env: {} }).floors.locales;

  it('is committed as the loader\'s schema generates it (run `npm run -s floors:schema` after changing it)', () => {
    expect(readFileSync(join(ROOT, FLOORS_SCHEMA_FILE), 'utf8')).toBe(floorsSchemaText(locales));
  });

  it('is referenced from every shipped floors file', () => {
    for (const scene of ['cart-bottom-sheet', 'checkout-summary']) {
      const first = readFileSync(join(ROOT, 'floors', `${scene}.yaml`), 'utf8').split('\n')[0];
      expect(first).toBe(`# yaml-language-server: $schema=../${FLOORS_SCHEMA_FILE}`);
    }
  });

  it('describes the expression keys and lists the kinds', () => {
    const schema = JSON.parse(floorsSchemaText(locales)) as { properties: { floors: { items: { properties: Record<string, { enum?: string[]; description?: string }> } } } };
    const floor = schema.properties.floors.items.properties;
    expect(floor.kind?.enum).toEqual(['GOODS', 'DEDUCTION', 'CHARGE', 'PAYABLE', 'INFO', 'TEXT']);
    for (const key of ['builder', 'amount', 'when', 'vars']) expect(floor[key]?.description, key).toBeTruthy();
  });
});
