import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadServiceConfig } from '../../src/config/service-config.ts';
import { ErrorCode, FloorplanError } from '../../src/errors.ts';
import { defaultBuilders } from '../../src/floors/builders/index.ts';
import { createBuilderRegistry } from '../../src/floors/registry.ts';
import { compileFloorsFile, loadFloorsDir, type CompiledLayout } from '../../src/layouts/compile.ts';
import { thrownBy } from '../support/thrown.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const registry = createBuilderRegistry(defaultBuilders);
const LOCALES = ['zh-CN', 'en'] as const;
const FILE = 'floors/cart-bottom-sheet.yaml';
/** As messages list them; what ships is held by test/floors/registry.test.ts, so a new builder needs no edit here. */
const KNOWN_BUILDERS = registry.names.join(', ');

/** One YAML line per argument, so the line numbers in expected messages can be read off the call. */
function yaml(...lines: string[]): string {
  return `${lines.join('\n')}\n`;
}

function compile(source: string, file = FILE) {
  return compileFloorsFile(file, source, registry, LOCALES);
}

function compiled(source: string, file = FILE): CompiledLayout {
  const result = compile(source, file);
  if (result.layout === undefined) throw new Error(`expected the file to compile, but got:\n${result.problems.map((p) => p.message).join('\n')}`);
  return result.layout;
}

function messages(source: string, file = FILE): string[] {
  const result = compile(source, file);
  expect(result.layout).toBeUndefined();
  return result.problems.map((p) => p.message);
}

/** A valid two-floor file for `scene`, to vary one line at a time. */
function validFile(scene = 'cart-bottom-sheet'): string {
  return yaml(
    `scene: ${scene}`, // 1
    'floors:', // 2
    '  - code: spze', // 3
    '    builder: spze', // 4
    '    name: { zh-CN: 商品总额, en: Goods total }', // 5
    '    sort: 10', // 6
    '  - code: coupon', // 7
    '    builder: coupon', // 8
    '    name: { zh-CN: 优惠券, en: Coupons }', // 9
    '    subName: { zh-CN: "已领券 {amount}", en: "Coupons applied {amount}" }', // 10
    '    sort: 30', // 11
  );
}

describe('loadFloorsDir on the shipped floors folder', () => {
  const locales = loadServiceConfig({ dir: join(ROOT, 'config'), env: {} }).floors.locales;
  const layouts = loadFloorsDir(join(ROOT, 'floors'), registry, locales);

  it('compiles every shipped scene with its declared version', () => {
    expect([...layouts.keys()].sort()).toEqual(['cart-bottom-sheet', 'checkout-summary']);
    expect(layouts.get('cart-bottom-sheet')?.version).toBe('2026-11-21.1');
    expect(layouts.get('checkout-summary')?.version).toBe('2026-11-21.1');
    expect(layouts.get('cart-bottom-sheet')?.file).toBe('floors/cart-bottom-sheet.yaml');
  });

  it('orders the cart sheet floors by sort', () => {
    expect(layouts.get('cart-bottom-sheet')?.floors.map((f) => f.code)).toEqual([
      'spze',
      'lj',
      'mj',
      'coupon',
      'new-customer',
      'plus95',
      'shipping',
      'plus-rebate',
      'loyalty-points',
      'payable',
    ]);
  });

  it('binds each checkout floor to its builder, including a code that differs from the builder name', () => {
    const floors = layouts.get('checkout-summary')?.floors ?? [];
    expect(floors.map((f) => [f.code, f.builder.name])).toEqual([
      ['spze', 'spze'],
      ['shipping', 'shipping'],
      ['lj', 'lj'],
      ['mj', 'mj'],
      ['coupon', 'coupon'],
      ['new-customer', 'cel:new-customer'],
      ['plus95', 'plus95'],
      ['free-shipping-notice', 'notice'],
      ['payable', 'payable'],
    ]);
  });

  it('returns deep-frozen layouts', () => {
    const layout = layouts.get('cart-bottom-sheet') as CompiledLayout;
    expect(Object.isFrozen(layout)).toBe(true);
    expect(Object.isFrozen(layout.floors)).toBe(true);
    expect(Object.isFrozen(layout.floors[0])).toBe(true);
    expect(Object.isFrozen(layout.floors[0]?.name)).toBe(true);
  });
});

describe('compileFloorsFile', () => {
  it('compiles a valid file with defaults for enabled, hideWhenZero and style', () => {
    const layout = compiled(validFile());
    expect(layout.scene).toBe('cart-bottom-sheet');
    expect(layout.file).toBe(FILE);
    const [spze, coupon] = layout.floors;
    expect(spze).toMatchObject({ code: 'spze', name: { 'zh-CN': '商品总额', en: 'Goods total' }, sort: 10, enabled: true, hideWhenZero: false, style: [], line: 3 });
    expect(spze?.subName).toBeUndefined();
    expect(coupon?.subName?.en?.variables).toEqual(['amount']);
    expect(coupon?.line).toBe(7);
  });

  it('lists the upstreams each floor reads: its builder\'s needs, its decoration\'s only when a sub-name shows them, its fallback\'s', () => {
    const layout = compiled(
      yaml(
        'scene: cart-bottom-sheet',
        'floors:',
        '  - { code: spze, builder: spze, fallback: spze-cart, name: { zh-CN: A, en: A }, sort: 10 }',
        '  - { code: mj, builder: mj, name: { zh-CN: B, en: B }, sort: 20 }',
        '  - { code: mj-titled, builder: mj, name: { zh-CN: C, en: C }, subName: { zh-CN: "{campaignTitle}", en: "{campaignTitle}" }, sort: 30 }',
        '  - { code: points, builder: loyalty-points, name: { zh-CN: D, en: D }, sort: 40 }',
        '  - { code: note, builder: notice, name: { zh-CN: E, en: E }, sort: 50 }',
      ),
    );
    expect(Object.fromEntries(layout.floors.map((f) => [f.code, f.reads]))).toEqual({
      spze: ['cart', 'settlement'],
      mj: ['cart', 'settlement'],
      'mj-titled': ['cart', 'settlement', 'promotion'],
      points: ['cart', 'loyalty'],
      note: [],
    });
  });

  it('sorts floors by sort and keeps file order for ties', () => {
    const layout = compiled(
      yaml(
        'scene: cart-bottom-sheet',
        'floors:',
        '  - { code: b, builder: lj, name: { zh-CN: B, en: B }, sort: 20 }',
        '  - { code: c, builder: mj, name: { zh-CN: C, en: C }, sort: 10 }',
        '  - { code: a, builder: coupon, name: { zh-CN: A, en: A }, sort: 20 }',
      ),
    );
    expect(layout.floors.map((f) => f.code)).toEqual(['c', 'b', 'a']);
  });

  it('uses the declared version, as a string even when YAML reads it as a number', () => {
    expect(compiled(validFile().replace('floors:\n', 'version: "2026-12-01.2"\nfloors:\n')).version).toBe('2026-12-01.2');
    expect(compiled(validFile().replace('floors:\n', 'version: 3\nfloors:\n')).version).toBe('3');
  });

  it('defaults the version to sha-<12 hex> of the content, which changes when the content does', () => {
    const first = compiled(validFile()).version;
    const again = compiled(validFile()).version;
    const edited = compiled(validFile().replace('sort: 30', 'sort: 31')).version;
    expect(first).toMatch(/^sha-[0-9a-f]{12}$/);
    expect(again).toBe(first);
    expect(edited).toMatch(/^sha-[0-9a-f]{12}$/);
    expect(edited).not.toBe(first);
  });

  it('rejects an unknown builder, listing the known builder names', () => {
    expect(messages(validFile().replace('builder: coupon', 'builder: coupons'))).toEqual([
      `\`floors[1].builder\` must name a known builder (${KNOWN_BUILDERS}), but got: "coupons" (floors/cart-bottom-sheet.yaml:8)`,
    ]);
  });

  it("reports a floor's other problems together with an unknown builder, so one check finds them all", () => {
    const source = validFile()
      .replace('builder: coupon', 'builder: coupons')
      .replace('    sort: 30', '    subNameFallback: { zh-CN: "已领券 {amount}", en: Coupons applied }\n    sort: 30');
    expect(compileFloorsFile(FILE, source, registry, LOCALES, undefined, { submitted: true }).problems.map((p) => p.message)).toEqual([
      `\`floors[1].builder\` must name a known builder (${KNOWN_BUILDERS}), but got: "coupons" (floors/cart-bottom-sheet.yaml:8)`,
      '`floors[1].subNameFallback.zh-CN` is shown to users as written (when a sub-name variable is missing): a {variable} is filled in only in `subName`, so leave it out, but got: "{amount}" (floors/cart-bottom-sheet.yaml:11)',
    ]);
  });

  it('rejects a duplicate code, naming the line of its first use', () => {
    expect(messages(validFile().replace('code: coupon', 'code: spze'))).toEqual([
      '`floors[1].code` must be unique in the scene; it is already used at line 3, but got: "spze" (floors/cart-bottom-sheet.yaml:7)',
    ]);
  });

  it('rejects a second PAYABLE floor in a list, builder or expression: the rows must add up to one total', () => {
    const payable = (code: string, how: string, sort: number) => [`  - code: ${code}`, how, '    name: { zh-CN: 合计, en: Total }', `    sort: ${sort}`].join('\n');
    const withTwo = `${validFile()}${payable('payable', '    builder: payable', 90)}\n${payable('net-payable', "    kind: PAYABLE\n    amount: 'quote.payable - quote.plusRebate'", 95)}\n`;
    expect(messages(withTwo)).toEqual([
      '`floors[3].kind` must not make a second PAYABLE floor: the scene\'s total is the one at line 12, and its rows must add up to one total (a variant may have its own), but got: "PAYABLE" (floors/cart-bottom-sheet.yaml:17)',
    ]);
    // One per list: a variant's floors are a list of their own.
    const oneEach = `${validFile()}${payable('payable', '    builder: payable', 90)}\nvariants:\n  compact:\n    version: "2026-12-06.compact"\n    floors:\n${payable('payable', '    builder: payable', 90).replace(/^/gm, '    ')}\n`;
    expect(compiled(oneEach).floors.map((f) => f.code)).toEqual(['spze', 'coupon', 'payable']);
  });

  it('rejects a sort that is not an integer', () => {
    expect(messages(validFile().replace('sort: 10', 'sort: "top"'))).toEqual([
      '`floors[0].sort` must be an integer, but got: "top" (floors/cart-bottom-sheet.yaml:6)',
    ]);
    expect(messages(validFile().replace('sort: 10', 'sort: 10.5'))).toEqual([
      '`floors[0].sort` must be an integer, but got: 10.5 (floors/cart-bottom-sheet.yaml:6)',
    ]);
    // YAML reads 1e400 as Infinity, which JSON would write as null.
    expect(messages(validFile().replace('sort: 10', 'sort: 1e400'))).toEqual([
      '`floors[0].sort` must be an integer, but got: Infinity (floors/cart-bottom-sheet.yaml:6)',
    ]);
  });

  it('rejects a sort beyond 32 bits, which the schema\'s Int cannot carry', () => {
    expect(messages(validFile().replace('sort: 10', 'sort: 3000000000'))).toEqual([
      '`floors[0].sort` must fit a GraphQL Int (−2147483648 to 2147483647), but got: 3000000000 (floors/cart-bottom-sheet.yaml:6)',
    ]);
    const largest = compile(validFile().replace('sort: 10', 'sort: 2147483647'), FILE);
    expect(largest.problems).toEqual([]);
    expect(largest.layout?.floors.map((f) => f.sort)).toContain(2147483647);
  });

  it('rejects enabled: "yes", which is a string and not a boolean', () => {
    expect(messages(validFile().replace('    sort: 10\n', '    sort: 10\n    enabled: "yes"\n'))).toEqual([
      '`floors[0].enabled` must be a boolean (true or false), but got: "yes" (floors/cart-bottom-sheet.yaml:7)',
    ]);
  });

  it("rejects a template variable the builder does not provide, listing the builder's variables", () => {
    expect(messages(validFile().replace('Coupons applied {amount}', 'Coupons applied {amount} {total}'))).toEqual([
      '`floors[1].subName.en` may only use the variables of builder "coupon" ({amount}, {couponCount}), but got: "{total}" (floors/cart-bottom-sheet.yaml:10)',
    ]);
  });

  it('says "none" when the builder offers no template variables at all', () => {
    const source = yaml(
      'scene: cart-bottom-sheet',
      'floors:',
      '  - code: free-shipping-notice',
      '    builder: notice',
      '    name: { zh-CN: 满99元包邮, en: Free shipping over ¥99 }',
      '    subName: { zh-CN: "还差 {gap}", en: "{gap} to go" }',
      '    sort: 80',
    );
    expect(messages(source)).toEqual([
      '`floors[0].subName.zh-CN` may only use the variables of builder "notice" (none), but got: "{gap}" (floors/cart-bottom-sheet.yaml:6)',
      '`floors[0].subName.en` may only use the variables of builder "notice" (none), but got: "{gap}" (floors/cart-bottom-sheet.yaml:6)',
    ]);
  });

  it('refuses a name holding a {variable} in a set submitted now (apps would show it as written), and still loads one published before', () => {
    const source = validFile().replace('name: { zh-CN: 优惠券, en: Coupons }', 'name: { zh-CN: "优惠券 {couponCount} 张", en: "Coupons {{beta}}" }');
    const submitted = compileFloorsFile(FILE, source, registry, LOCALES, undefined, { submitted: true });
    expect(submitted.problems.map((p) => p.message)).toEqual([
      '`floors[1].name.zh-CN` is shown to users as written: a {variable} is filled in only in `subName`, so move it there, but got: "{couponCount}" (floors/cart-bottom-sheet.yaml:9)',
      '`floors[1].name.en` is shown to users as written: a {variable} is filled in only in `subName`, so move it there, but got: "{beta}" (floors/cart-bottom-sheet.yaml:9)',
    ]);
    // What a replica loads (a live revision an earlier release accepted) is not refused for it.
    expect(compiled(source).floors[1]?.name).toEqual({ 'zh-CN': '优惠券 {couponCount} 张', en: 'Coupons {{beta}}' });
    // Braces around no identifier are text, as anywhere else.
    expect(compileFloorsFile(FILE, validFile().replace('en: Coupons }', 'en: "Coupons {}" }'), registry, LOCALES, undefined, { submitted: true }).problems).toEqual([]);
  });

  it('refuses a subNameFallback or zeroText holding a {variable} in a set submitted now (apps would show it as written), and still loads one published before', () => {
    const source = validFile().replace(
      '    sort: 30',
      '    subNameFallback: { zh-CN: "已领券 {amount}", en: Coupons applied }\n    zeroText: { zh-CN: 无, en: "{ couponCount } coupons" }\n    sort: 30',
    );
    const submitted = compileFloorsFile(FILE, source, registry, LOCALES, undefined, { submitted: true });
    expect(submitted.problems.map((p) => p.message)).toEqual([
      '`floors[1].subNameFallback.zh-CN` is shown to users as written (when a sub-name variable is missing): a {variable} is filled in only in `subName`, so leave it out, but got: "{amount}" (floors/cart-bottom-sheet.yaml:11)',
      '`floors[1].zeroText.en` is shown to users as written (instead of a zero amount): a {variable} is filled in only in `subName`, so leave it out, but got: "{ couponCount }" (floors/cart-bottom-sheet.yaml:12)',
    ]);
    // What a replica loads (a live revision an earlier release accepted) is not refused for it.
    expect(compiled(source).floors[1]?.subNameFallback).toEqual({ 'zh-CN': '已领券 {amount}', en: 'Coupons applied' });
  });

  it("refuses, in a set submitted now, a variant whose version is the scene's or another variant's: layoutVersion must tell them apart", () => {
    const source = yaml(
      'scene: cart-bottom-sheet', // 1
      'version: "2026-12-06.1"', // 2
      'floors:', // 3
      '  - code: spze', // 4
      '    builder: spze', // 5
      '    name: { zh-CN: 商品总额, en: Goods total }', // 6
      '    sort: 10', // 7
      'variants:', // 8
      '  compact:', // 9
      '    version: "2026-12-06.1"', // 10
      '    floors:', // 11
      '      - code: spze', // 12
      '        builder: spze', // 13
      '        name: { zh-CN: 商品总额, en: Goods total }', // 14
      '        sort: 10', // 15
    );
    expect(compileFloorsFile(FILE, source, registry, LOCALES, undefined, { submitted: true }).problems.map((p) => p.message)).toEqual([
      '`variants.compact.version` must differ from the scene\'s own version and every other variant\'s, so that layoutVersion tells who got which, but got: "2026-12-06.1" (floors/cart-bottom-sheet.yaml:10)',
    ]);
    // A live revision an earlier release accepted still loads.
    expect(compiled(source).variants.compact?.version).toBe('2026-12-06.1');
    expect(compileFloorsFile(FILE, source.replace('    version: "2026-12-06.1"', '    version: "2026-12-06.1-compact"'), registry, LOCALES, undefined, { submitted: true }).problems).toEqual([]);
  });

  it('refuses, in a set submitted now, a floor coded as a row the safe form adds (other-discounts, other-charges), and still loads one published before', () => {
    // QA's case: a bank-card discount row coded other-discounts; when the sheet needed the safe
    // form, the panel carried two rows coded other-discounts, which the app keys on.
    const source = validFile().replace('  - code: coupon', '  - code: other-discounts').replace('  - code: spze', '  - code: other-charges');
    expect(compileFloorsFile(FILE, source, registry, LOCALES, undefined, { submitted: true }).problems.map((p) => p.message)).toEqual([
      '`floors[0].code` must not be a code of the rows Floorplan adds to make a sheet add up (other-discounts, other-charges), but got: "other-charges" (floors/cart-bottom-sheet.yaml:3)',
      '`floors[1].code` must not be a code of the rows Floorplan adds to make a sheet add up (other-discounts, other-charges), but got: "other-discounts" (floors/cart-bottom-sheet.yaml:7)',
    ]);
    // A live revision an earlier release accepted still loads.
    expect(compiled(source).floors.map((f) => f.code)).toEqual(['other-charges', 'other-discounts']);
  });

  it('rejects an unclosed "{" in a template, with its position', () => {
    expect(messages(validFile().replace('已领券 {amount}', '已领券 {amount'))).toEqual([
      '`floors[1].subName.zh-CN` must be a valid template; it has an unclosed "{" at character 5, but got: "已领券 {amount" (floors/cart-bottom-sheet.yaml:10)',
    ]);
  });

  it('rejects a name that lacks one of the configured locales', () => {
    expect(messages(validFile().replace('{ zh-CN: 优惠券, en: Coupons }', '{ zh-CN: 优惠券 }'))).toEqual([
      '`floors[1].name.en` must be a string, but got: nothing (floors/cart-bottom-sheet.yaml:9)',
    ]);
  });

  it('rejects a locale key that is not configured, listing the configured ones', () => {
    expect(messages(validFile().replace('{ zh-CN: 优惠券, en: Coupons }', '{ zh-CN: 优惠券, en: Coupons, fr: Bons }'))).toEqual([
      '`floors[1].name.fr` is not a known key (a typo?); the known keys are zh-CN, en (floors/cart-bottom-sheet.yaml:9)',
    ]);
  });

  it('rejects a misspelt key such as hideWhenZeros, listing the known keys', () => {
    expect(messages(validFile().replace('    sort: 30\n', '    sort: 30\n    hideWhenZeros: true\n'))).toEqual([
      '`floors[1].hideWhenZeros` is not a known key (a typo?); the known keys are code, builder, name, subName, subNameFallback, zeroText, style, sort, enabled, hideWhenZero, flag, minAppVersion, fallback, kind, amount, when, vars (floors/cart-bottom-sheet.yaml:12)',
    ]);
  });

  it('rejects a scene that does not match the file name', () => {
    expect(messages(validFile('checkout-summary'))).toEqual([
      '`scene` must match the file name "cart-bottom-sheet", but got: "checkout-summary" (floors/cart-bottom-sheet.yaml:1)',
    ]);
  });

  it('reports a YAML syntax error with its line and nothing else', () => {
    const source = yaml('scene: nope', 'floors:', '  - code: spze', '    builder spze', '    sort: top');
    expect(messages(source)).toEqual(['YAML syntax error: Implicit keys need to be on a single line (floors/cart-bottom-sheet.yaml:4)']);
  });

  it('reports a key given twice as a YAML error', () => {
    expect(messages(validFile().replace('    sort: 10\n', '    sort: 10\n    sort: 11\n'))).toEqual([
      'YAML syntax error: Map keys must be unique (floors/cart-bottom-sheet.yaml:7)',
    ]);
  });

  it('compiles a value repeated through a YAML alias as if it were written out', () => {
    const layout = compiled(validFile().replace('name: { zh-CN: 商品总额, en: Goods total }', 'name: &goods { zh-CN: 商品总额, en: Goods total }').replace('name: { zh-CN: 优惠券, en: Coupons }', 'name: *goods'));
    expect(layout.floors.map((f) => f.name)).toEqual([
      { 'zh-CN': '商品总额', en: 'Goods total' },
      { 'zh-CN': '商品总额', en: 'Goods total' },
    ]);
  });

  it('refuses a "billion laughs" file with one problem at the alias past the budget, never expanding it', () => {
    // Ten levels of nine aliases each: 9^10 "lol"s once written out, from 400 bytes.
    const levels = 'abcdefghij';
    const lines = [`a: &a [${Array(9).fill('"lol"').join(',')}]`, ...[...levels.slice(1)].map((name, i) => `${name}: &${name} [${Array(9).fill(`*${levels[i]}`).join(',')}]`)];
    const source = yaml('scene: cart-bottom-sheet', 'x:', ...lines.map((l) => `  ${l}`));
    // a is 10 values, b 91, c 820: the aliases of b and c add 90 + 819, then d's first *c passes 1000.
    expect(messages(source)).toEqual([`the file may repeat at most 1000 values through YAML aliases (*name), but got: 1729 by this alias, *c (floors/cart-bottom-sheet.yaml:6)`]);
  });

  it('refuses aliases repeating a long list of wrong values with one problem, not one per value repeated', () => {
    const floors = Array.from({ length: 50 }, (_, i) => `  - { code: c${i}, builder: spze, sort: ${i}, name: { zh-CN: a, en: a }, style: *tokens }`);
    const source = yaml('scene: cart-bottom-sheet', `tokens: &tokens [${Array(2000).fill('1').join(',')}]`, 'floors:', ...floors);
    expect(messages(source)).toEqual([`the file may repeat at most 1000 values through YAML aliases (*name), but got: 2001 by this alias, *tokens (floors/cart-bottom-sheet.yaml:4)`]);
  });

  it('refuses an alias with no anchor before it, and one inside the value it repeats, with their lines', () => {
    expect(messages(validFile().replace('    sort: 30', '    sort: *late\n    hideWhenZero: &late true'))).toEqual([
      'the alias *late must name an anchor (&late) set before it, but got: no &late before it (floors/cart-bottom-sheet.yaml:11)',
    ]);
    expect(messages(validFile().replace("name: { zh-CN: 优惠券, en: Coupons }", 'name: &loop { zh-CN: 优惠券, en: *loop }'))).toEqual([
      'the alias *loop must not repeat a value it is part of (that value would never end), but got: *loop inside &loop (floors/cart-bottom-sheet.yaml:9)',
    ]);
  });

  it('rejects an empty floors list', () => {
    expect(messages(yaml('scene: cart-bottom-sheet', 'floors: []'))).toEqual([
      '`floors` must list at least one floor, but got: [] (floors/cart-bottom-sheet.yaml:2)',
    ]);
  });

  it('rejects an empty file as not being a mapping', () => {
    expect(messages('')).toEqual(['the file must be a mapping, but got: null (floors/cart-bottom-sheet.yaml)']);
  });

  it('reports every problem of a file in one pass, in line order', () => {
    const source = yaml(
      'scene: cart-sheet', // 1
      'floors:', // 2
      '  - code: spze', // 3
      '    builder: spze', // 4
      '    name: { zh-CN: 商品总额, en: Goods total }', // 5
      '    sort: top', // 6
      '  - code: lj', // 7
      '    builder: instant', // 8
      '    name: { zh-CN: 立减, en: Instant discount }', // 9
      '    sort: 20', // 10
      '  - code: spze', // 11
      '    builder: plus95', // 12
      '    name: { zh-CN: PLUS专享95折 }', // 13
      '    subName: { zh-CN: "本月剩余 {quota}", en: "{quotaRemaining} left" }', // 14
      '    sort: 40', // 15
    );
    expect(messages(source)).toEqual([
      '`scene` must match the file name "cart-bottom-sheet", but got: "cart-sheet" (floors/cart-bottom-sheet.yaml:1)',
      '`floors[0].sort` must be an integer, but got: "top" (floors/cart-bottom-sheet.yaml:6)',
      `\`floors[1].builder\` must name a known builder (${KNOWN_BUILDERS}), but got: "instant" (floors/cart-bottom-sheet.yaml:8)`,
      '`floors[2].code` must be unique in the scene; it is already used at line 3, but got: "spze" (floors/cart-bottom-sheet.yaml:11)',
      '`floors[2].name.en` must be a string, but got: nothing (floors/cart-bottom-sheet.yaml:13)',
      '`floors[2].subName.zh-CN` may only use the variables of builder "plus95" ({amount}, {quotaRemaining}), but got: "{quota}" (floors/cart-bottom-sheet.yaml:14)',
    ]);
  });

  it('carries the line of each problem alongside its message', () => {
    const result = compile(validFile().replace('builder: coupon', 'builder: coupons'));
    expect(result.problems.map((p) => [p.path, p.line])).toEqual([['floors[1].builder', 8]]);
  });
});

describe('loadFloorsDir', () => {
  const dirs: string[] = [];
  function tempDir(files: Record<string, string>): string {
    const dir = mkdtempSync(join(tmpdir(), 'floorplan-floors-'));
    dirs.push(dir);
    for (const [name, source] of Object.entries(files)) writeFileSync(join(dir, name), source);
    return dir;
  }
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  const loadError = (dir: string): FloorplanError => thrownBy(() => loadFloorsDir(dir, registry, LOCALES));

  it('loads every <scene>.yaml in a folder and ignores other files', () => {
    const dir = tempDir({ 'a.yaml': validFile('a'), 'b.yml': validFile('b'), 'README.md': '# not a layout' });
    expect([...loadFloorsDir(dir, registry, LOCALES).keys()]).toEqual(['a', 'b']);
  });

  it('throws FLOORPLAN_ERR_LAYOUT_INVALID listing the problems of every bad file', () => {
    const dir = tempDir({
      'a.yaml': validFile('a').replace('sort: 10', 'sort: "top"'),
      'b.yaml': validFile('b').replace('builder: coupon', 'builder: nope'),
      'c.yaml': validFile('c'),
    });
    const error = loadError(dir);
    expect(error.code).toBe(ErrorCode.LAYOUT_INVALID);
    expect(error.message).toBe(
      [
        'Invalid floors config:',
        `- \`floors[0].sort\` must be an integer, but got: "top" (${join(dir, 'a.yaml')}:6)`,
        `- \`floors[1].builder\` must name a known builder (${KNOWN_BUILDERS}), but got: "nope" (${join(dir, 'b.yaml')}:8)`,
      ].join('\n'),
    );
  });

  it('rejects two files that define the same scene', () => {
    const dir = tempDir({ 'a.yaml': validFile('a'), 'a.yml': validFile('a') });
    const error = loadError(dir);
    expect(error.code).toBe(ErrorCode.LAYOUT_INVALID);
    expect(error.message).toBe(
      `Invalid floors config:\n- \`scene\` must be unique in the floors folder; ${join(dir, 'a.yaml')} already defines it, but got: "a" (${join(dir, 'a.yml')})`,
    );
  });

  it('throws FLOORPLAN_ERR_LAYOUT_INVALID for a folder with no layouts', () => {
    const dir = tempDir({ 'notes.txt': 'nothing here' });
    const error = loadError(dir);
    expect(error.code).toBe(ErrorCode.LAYOUT_INVALID);
    expect(error.message).toBe(`floors folder ${dir} must hold at least one <scene>.yaml, but has none`);
  });

  it('throws FLOORPLAN_ERR_LAYOUT_INVALID for a folder that does not exist', () => {
    const dir = join(tempDir({}), 'missing');
    const error = loadError(dir);
    expect(error.code).toBe(ErrorCode.LAYOUT_INVALID);
    expect(error.message).toMatch(new RegExp(`^floors folder ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} cannot be read: ENOENT`));
  });

  // The file watcher tells a shortage of descriptors from a change by the fs error's code, kept
  // as the cause (src/config/watched-path.ts), not by the words of the message.
  it('keeps the fs error behind a folder or a file that cannot be read as its cause, code and all', () => {
    const missing = join(tempDir({}), 'missing');
    expect((loadError(missing).cause as NodeJS.ErrnoException).code).toBe('ENOENT');
    const dir = tempDir({ 'cart-bottom-sheet.yaml': 'placeholder' });
    rmSync(join(dir, 'cart-bottom-sheet.yaml'));
    mkdirSync(join(dir, 'cart-bottom-sheet.yaml'));
    const error = loadError(dir);
    expect(error.message).toMatch(/floors file .*cart-bottom-sheet\.yaml cannot be read: EISDIR/);
    expect((error.cause as NodeJS.ErrnoException).code).toBe('EISDIR');
  });
});

describe('the expression floors the docs show', () => {
  /** Every fenced YAML block of `doc` that is a list of expression floors (`- code:` with a `kind:`), dedented. */
  function expressionFloorBlocks(doc: string): string[] {
    const text = readFileSync(join(ROOT, doc), 'utf8');
    return [...text.matchAll(/```yaml\n([\s\S]*?)```/g)]
      .map((match) => match[1] as string)
      .filter((block) => /^\s*- code:/.test(block) && /^\s+kind: /m.test(block))
      .map((block) => {
        const indent = /^( *)/.exec(block)?.[1]?.length ?? 0;
        return block
          .split('\n')
          .map((line) => line.slice(indent))
          .join('\n');
      });
  }

  it.each(['docs/expression-floors.md', 'README.md'])('compiles each one in %s as an operator would submit it today', (doc) => {
    const blocks = expressionFloorBlocks(doc);
    expect(blocks.length).toBeGreaterThan(0);
    for (const block of blocks) {
      const source = `scene: docs-example\nfloors:\n${block.replace(/^/gm, '  ')}`;
      expect(compileFloorsFile('floors/docs-example.yaml', source, registry, LOCALES, undefined, { submitted: true }).problems, block).toEqual([]);
    }
  });
});
