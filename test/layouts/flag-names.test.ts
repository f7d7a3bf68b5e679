import { describe, expect, it } from 'vitest';
import { defaultBuilders } from '../../src/floors/builders/index.ts';
import { createBuilderRegistry } from '../../src/floors/registry.ts';
import { createUnknownFlagReporter, findUnknownFlags, removedFlagProblems, unknownFlagProblems } from '../../src/layouts/flag-names.ts';
import { compileFloorsFile, type LayoutSet } from '../../src/layouts/compile.ts';
import type { Logger } from '../../src/observability/logger.ts';

const registry = createBuilderRegistry(defaultBuilders);
const FILE = 'floors/cart-bottom-sheet.yaml';

/** A sheet naming a layout flag (line 2), a floor flag (line 8) and a variant floor flag (line 16). */
const SHEET = [
  'scene: cart-bottom-sheet', // 1
  'layoutFlag: layout.cart-bottom-sheet', // 2
  'floors:', // 3
  '  - code: spze', // 4
  '    builder: spze', // 5
  '    name: { zh-CN: 商品总额, en: Goods total }', // 6
  '    sort: 10', // 7
  '    flag: floor.plus-rebat', // 8
  'variants:', // 9
  '  compact:', // 10
  '    version: c1', // 11
  '    floors:', // 12
  '      - code: spze', // 13
  '        builder: spze', // 14
  '        name: { zh-CN: 商品总额, en: Goods total }', // 15
  '        flag: floor.plus-rebate', // 16
  '        sort: 10', // 17
  '',
].join('\n');

function layouts(): LayoutSet {
  const result = compileFloorsFile(FILE, SHEET, registry, ['zh-CN', 'en']);
  if (result.layout === undefined) throw new Error(result.problems.map((p) => p.message).join('\n'));
  return new Map([[result.layout.scene, result.layout]]);
}

describe('flag names in floors files', () => {
  it('records every flag a file names, with its path and line', () => {
    expect(layouts().get('cart-bottom-sheet')?.flagReferences).toEqual([
      { flag: 'layout.cart-bottom-sheet', path: 'layoutFlag', file: FILE, line: 2 },
      { flag: 'floor.plus-rebat', path: 'floors[0].flag', file: FILE, line: 8 },
      { flag: 'floor.plus-rebate', path: 'variants.compact.floors[0].flag', file: FILE, line: 16 },
    ]);
  });

  it('reports a typo in local mode as a problem with the known names and file:line', () => {
    const known = new Set(['floor.plus-rebate', 'layout.cart-bottom-sheet']);
    expect(unknownFlagProblems(layouts(), known, 'config/flags.json')).toEqual([
      '`floors[0].flag` must name a flag defined in config/flags.json (floor.plus-rebate, layout.cart-bottom-sheet), but got: "floor.plus-rebat" (floors/cart-bottom-sheet.yaml:8)',
    ]);
  });

  it('reports a flags change removing a name a floor uses, naming where it is used', () => {
    const names = new Set(['floor.plus-rebat']);
    expect(removedFlagProblems(layouts(), names)).toEqual([
      '`layout.cart-bottom-sheet` must stay defined while a floors file names it (remove or change `layoutFlag` first), but this change removes it (floors/cart-bottom-sheet.yaml:2)',
      '`floor.plus-rebate` must stay defined while a floors file names it (remove or change `variants.compact.floors[0].flag` first), but this change removes it (floors/cart-bottom-sheet.yaml:16)',
    ]);
  });

  it("names a published revision's file, not the folder's, for a flag the live revision or a candidate names", () => {
    const names = new Set(['floor.plus-rebat', 'layout.cart-bottom-sheet']);
    const [layout] = layouts().values();
    expect(removedFlagProblems(layouts(), names, [{ revision: 18, layout: layout! }], 17)).toEqual([
      "`floor.plus-rebate` must stay defined while a floors file names it (remove or change `variants.compact.floors[0].flag` first), but this change removes it (live revision 17's cart-bottom-sheet.yaml:16)",
      "`floor.plus-rebate` must stay defined while the candidate of cart-bottom-sheet (revision 18) names it at `variants.compact.floors[0].flag` (abort the candidate or publish one without it first), but this change removes it (revision 18's cart-bottom-sheet.yaml:16)",
    ]);
  });

  it('in remote mode warns once per reference, keeps the gauge exact, and says nothing before any flag is known', () => {
    const warnings: string[] = [];
    const logger = { warn: (_fields: unknown, message: string) => warnings.push(message) } as unknown as Logger;
    const gauges: Array<ReadonlyArray<{ scene: string; flag: string }>> = [];
    const report = createUnknownFlagReporter(logger, { layoutUnknownFlags: (unknown) => gauges.push(unknown.map(({ scene, flag }) => ({ scene, flag }))) });

    report(layouts(), undefined);
    expect({ warnings, gauges }).toEqual({ warnings: [], gauges: [] });

    const known = new Set(['floor.plus-rebate', 'layout.cart-bottom-sheet']);
    report(layouts(), known);
    report(layouts(), known);
    expect(warnings).toEqual([
      '`floors[0].flag` names flag "floor.plus-rebat", which Unleash does not define (yet): it is off until it does (floors/cart-bottom-sheet.yaml:8)',
    ]);
    expect(gauges).toEqual([[{ scene: 'cart-bottom-sheet', flag: 'floor.plus-rebat' }], [{ scene: 'cart-bottom-sheet', flag: 'floor.plus-rebat' }]]);

    report(layouts(), new Set([...known, 'floor.plus-rebat']));
    expect(gauges.at(-1)).toEqual([]);
    expect(findUnknownFlags(layouts(), new Set([...known, 'floor.plus-rebat']))).toEqual([]);
  });
});
