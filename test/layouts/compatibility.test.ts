import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loadClientsConfig, parseClientsConfig, type ClientsConfig } from '../../src/config/clients-config.ts';
import { loadServiceConfig } from '../../src/config/service-config.ts';
import { defaultBuilders } from '../../src/floors/builders/index.ts';
import { createBuilderRegistry } from '../../src/floors/registry.ts';
import { compileFloorsFile, loadFloorsDir, type CompiledLayout, type LayoutSet } from '../../src/layouts/compile.ts';
import { PanelRenderer } from '../../src/panels/renderer.ts';
import { fakePanelData } from '../floors/builders/fixtures.ts';
import { assertCompatible, checkCompatibility, formatCompatibility, IncompatibleLayouts } from '../../src/layouts/compatibility.ts';
import { ErrorCode } from '../../src/errors.ts';

const registry = createBuilderRegistry(defaultBuilders);

/** One scene from YAML lines; compiled without config `apps`, so only the clients file judges the tokens. */
function layout(lines: readonly string[]): CompiledLayout {
  const result = compileFloorsFile('floors/sheet.yaml', `${lines.join('\n')}\n`, registry, ['en']);
  if (result.layout === undefined) throw new Error(result.problems.map((p) => p.message).join('\n'));
  return result.layout;
}

const set = (...layouts: CompiledLayout[]): LayoutSet => new Map(layouts.map((l) => [l.scene, l]));

function clients(lines: readonly string[]): ClientsConfig {
  return parseClientsConfig('config/clients.yaml', `${lines.join('\n')}\n`);
}

/** ios 11.0.0 and 12.1.0 live (10.5.0 too, unsupported); emphasis from 12.0.0; every kind from 1.0.0. */
const CLIENTS = [
  'platforms:',
  '  ios:',
  '    oldestSupported: "11.0.0"',
  '    live: ["10.5.0", "11.0.0", "12.1.0"]',
  'understands:',
  '  styles: { bold: "1.0.0", muted: "1.0.0", emphasis: "12.0.0" }',
  '  fields: { subName: "1.0.0", zeroText: "1.0.0" }',
  '  kinds: { GOODS: "1.0.0", DEDUCTION: "1.0.0", CHARGE: "1.0.0", PAYABLE: "1.0.0", INFO: "1.0.0", TEXT: "1.0.0" }',
];

/** A sheet: goods total, shipping, payable (line 9) styled [bold, emphasis]; `styles` and the payable's extra keys given. */
function sheet(options: { styles?: string[]; payable?: string[] } = {}): CompiledLayout {
  return layout([
    'scene: sheet', // 1
    ...(options.styles ?? []),
    'floors:',
    '  - { code: spze, builder: spze, name: { en: Goods }, sort: 10 }',
    '  - { code: shipping, builder: shipping, name: { en: Shipping }, zeroText: { en: Free }, sort: 20 }',
    '  - code: payable',
    '    builder: payable',
    '    name: { en: Total }',
    '    style: [bold, emphasis]',
    '    sort: 90',
    ...(options.payable ?? []),
  ]);
}

describe('checkCompatibility', () => {
  it('passes a token with a fallback older versions understand, and shows what each version gets', () => {
    const report = checkCompatibility(set(sheet({ styles: ['styles:', '  emphasis: { minAppVersion: "12.0.0", fallback: bold }'] })), clients(CLIENTS));
    expect(report.problems).toEqual([]);
    const row = (version: string) => report.rows.find((r) => r.version === version);
    expect(row('11.0.0')).toMatchObject({
      platform: 'ios',
      scene: 'sheet',
      variant: null,
      checked: true,
      floors: ['spze', 'shipping', 'payable'],
      styles: [
        { token: 'bold', sent: 'bold' },
        { token: 'emphasis', sent: 'bold' },
      ],
      fields: ['zeroText'],
      // GOODS and PAYABLE: the renderer may add an "other discounts" row, so DEDUCTION counts too.
      kinds: ['GOODS', 'DEDUCTION', 'CHARGE', 'PAYABLE'],
    });
    expect(row('12.1.0')?.styles).toEqual([
      { token: 'bold', sent: 'bold' },
      { token: 'emphasis', sent: 'emphasis' },
    ]);
    expect(formatCompatibility(report)).toEqual([
      '           platform  version  scene          what it would get',
      "unchecked  ios       10.5.0   (every scene)  nothing checked: below ios's oldest supported 11.0.0",
      'ok         ios       11.0.0   sheet          3 floor(s); styles bold, emphasis→bold; fields zeroText; kinds GOODS, DEDUCTION, CHARGE, PAYABLE',
      'ok         ios       12.1.0   sheet          3 floor(s); styles bold, emphasis; fields zeroText; kinds GOODS, DEDUCTION, CHARGE, PAYABLE',
    ]);
  });

  it('refuses a token newer than a live version with no fallback, naming the platform, version, scene, floor and token', () => {
    const layouts = set(sheet());
    const report = checkCompatibility(layouts, clients(CLIENTS));
    expect(report.problems).toEqual([
      {
        platform: 'ios',
        version: '11.0.0',
        scene: 'sheet',
        variant: null,
        floor: 'payable',
        what: 'style',
        name: 'emphasis',
        sent: 'emphasis',
        message:
          'ios 11.0.0 must understand every style token it is sent, but floor "payable" of sheet would send it "emphasis" (understood from ios 12.0.0; add a rule under `styles:` whose fallback it understands) (floors/sheet.yaml:5)',
      },
    ]);
    expect(() => assertCompatible(layouts, clients(CLIENTS))).toThrow(IncompatibleLayouts);
    try {
      assertCompatible(layouts, clients(CLIENTS));
    } catch (error) {
      expect((error as IncompatibleLayouts).code).toBe(ErrorCode.LAYOUT_INCOMPATIBLE);
      expect((error as IncompatibleLayouts).message).toBe(
        `the layouts must send every live app version in config/clients.yaml only what it understands, but 1 problem(s) were found; nothing was published:\n- ${report.problems[0]?.message}`,
      );
      expect((error as IncompatibleLayouts).report).toEqual(report);
    }
  });

  it('refuses a fallback the old version does not understand either, naming the token sent', () => {
    const report = checkCompatibility(
      set(sheet({ styles: ['styles:', '  emphasis: { minAppVersion: "12.0.0", fallback: glow }'] })),
      clients(CLIENTS),
    );
    expect(report.problems.map((p) => [p.version, p.name, p.sent])).toEqual([['11.0.0', 'emphasis', 'glow']]);
    expect(report.problems[0]?.message).toContain('would send it "glow", the fallback of "emphasis" (understood by no ios version in config/clients.yaml; make the fallback a token ios 11.0.0 understands)');
  });

  it('does not check versions below the oldest supported one, but lists them', () => {
    const report = checkCompatibility(set(sheet()), clients(CLIENTS.map((l) => l.replace('"11.0.0"', '"12.0.0"').replace('["10.5.0", "12.0.0", "12.1.0"]', '["11.0.0", "12.1.0"]'))));
    expect(report.problems).toEqual([]);
    expect(report.rows.map((r) => [r.version, r.checked, r.oldestSupported])).toEqual([
      ['11.0.0', false, '12.0.0'],
      ['12.1.0', true, '12.0.0'],
    ]);
    expect(report.rows[0]).toMatchObject({ floors: [], styles: [], problems: [] });
  });

  it("respects a floor's minAppVersion: a floor too new for a version is not sent to it, so its tokens are not judged there", () => {
    const report = checkCompatibility(set(sheet({ payable: ['    minAppVersion: { ios: "12.0.0" }'] })), clients(CLIENTS));
    expect(report.problems).toEqual([]);
    const old = report.rows.find((r) => r.version === '11.0.0');
    expect(old).toMatchObject({ floors: ['spze', 'shipping'], tooNew: [{ floor: 'payable', minAppVersion: '12.0.0' }], styles: [], kinds: ['GOODS', 'CHARGE'] });
    expect(formatCompatibility(report)[2]).toBe('ok         ios       11.0.0   sheet          2 floor(s) (not payable: needs 12.0.0); fields zeroText; kinds GOODS, CHARGE');
  });

  it('refuses a field and a floor kind a live version cannot render, and ignores disabled floors', () => {
    const older = CLIENTS.map((l) =>
      l.replace('zeroText: "1.0.0"', 'zeroText: "11.5.0"').replace('TEXT: "1.0.0"', 'TEXT: { android: "1.0.0" }').replace('platforms:', 'platforms:\n  android: { oldestSupported: "1.0.0", live: ["1.0.0"] }'),
    );
    const scene = layout([
      'scene: sheet', // 1
      'floors:', // 2
      '  - { code: spze, builder: spze, name: { en: Goods }, sort: 10 }', // 3
      '  - { code: shipping, builder: shipping, name: { en: Shipping }, zeroText: { en: Free }, sort: 20 }', // 4
      '  - { code: notice, builder: notice, name: { en: Note }, sort: 30 }', // 5
      '  - { code: off, builder: notice, name: { en: Off }, style: [glow], sort: 40, enabled: false }', // 6
    ]);
    const report = checkCompatibility(set(scene), clients(older));
    expect(report.problems.map((p) => `${p.platform} ${p.version} ${p.floor} ${p.what} ${p.name}`)).toEqual([
      // Android 1.0.0 has TEXT (its own entry), not zeroText; iOS the other way round from 11.5.0.
      'android 1.0.0 shipping field zeroText',
      'ios 11.0.0 shipping field zeroText',
      'ios 11.0.0 notice kind TEXT',
      'ios 12.1.0 notice kind TEXT',
    ]);
    expect(report.problems[1]?.message).toBe(
      'ios 11.0.0 must understand every field it is sent, but floor "shipping" of sheet would send it zeroText (understood from ios 11.5.0; give the floor a minAppVersion, or leave the field out) (floors/sheet.yaml:4)',
    );
    expect(report.problems[2]?.message).toContain('would send it kind TEXT (understood by no ios version in config/clients.yaml; give the floor a minAppVersion) (floors/sheet.yaml:5)');
  });

  it('counts the rows the renderer adds to make a panel add up, and checks every layout variant', () => {
    const noCharge = CLIENTS.map((l) => l.replace(' CHARGE: "1.0.0",', ''));
    const scene = layout([
      'scene: sheet',
      'floors:',
      '  - { code: spze, builder: spze, name: { en: Goods }, sort: 10 }',
      '  - { code: payable, builder: payable, name: { en: Total }, sort: 90 }', // 4
      'variants:',
      '  short:',
      '    version: "2"',
      '    floors:',
      '      - { code: spze, builder: spze, name: { en: Goods }, sort: 10 }',
    ]);
    const report = checkCompatibility(set(scene), clients(noCharge));
    expect(report.rows.filter((r) => r.checked).map((r) => [r.version, r.variant, r.kinds])).toEqual([
      ['11.0.0', null, ['GOODS', 'DEDUCTION', 'CHARGE', 'PAYABLE']],
      ['11.0.0', 'short', ['GOODS']],
      ['12.1.0', null, ['GOODS', 'DEDUCTION', 'CHARGE', 'PAYABLE']],
      ['12.1.0', 'short', ['GOODS']],
    ]);
    expect(report.problems.map((p) => [p.version, p.floor, p.name])).toEqual([
      ['11.0.0', 'other-charges', 'CHARGE'],
      ['12.1.0', 'other-charges', 'CHARGE'],
    ]);
    expect(report.problems[0]?.message).toContain('(the row the renderer adds above "payable" when the rows do not add up)');
  });

  it('reads a per-platform version: a platform left out has not got the capability yet', () => {
    const split = CLIENTS.map((l) => l.replace('emphasis: "12.0.0"', 'emphasis: { ios: "12.0.0" }'));
    const withAndroid = split.map((l) => (l === 'platforms:' ? 'platforms:\n  android: { oldestSupported: "12.0.0", live: ["12.5.0"] }' : l));
    const report = checkCompatibility(set(sheet({ styles: ['styles:', '  emphasis: { minAppVersion: "12.0.0", fallback: bold }'] })), clients(withAndroid));
    expect(report.problems.map((p) => `${p.platform} ${p.version} ${p.name}`)).toEqual(['android 12.5.0 emphasis']);
    expect(report.problems[0]?.message).toContain('(understood by no android version in config/clients.yaml; its `styles:` rule must not send it to android)');
  });
});

describe('the matrix of the committed files', () => {
  const ROOT = join(import.meta.dirname, '..', '..');
  const config = loadServiceConfig({ dir: join(ROOT, 'config'), env: {} });
  const layouts = loadFloorsDir(join(ROOT, 'floors'), registry, config.floors.locales, config.apps);
  const committed = loadClientsConfig(join(ROOT, config.floors.clientsFile)) as ClientsConfig;

  it('passes: the committed floors send every live app version only what it understands', () => {
    expect(checkCompatibility(layouts, committed).problems).toEqual([]);
  });

  it('says what the renderer serves: for every checked row, each floor served carries the tokens the row says that version gets', async () => {
    const renderer = new PanelRenderer({ layouts: () => layouts, logger: pino({ level: 'silent' }) });
    const report = checkCompatibility(layouts, committed);
    const rows = report.rows.filter((r) => r.checked);
    expect(rows.length).toBeGreaterThan(0);
    /** What was compared, so the test cannot pass by comparing nothing: `emphasis` sent as itself, and as its fallback. */
    const seen = new Set<string>();
    for (const row of rows) {
      // Every flag on, and the row's variant picked: the most the version can be sent.
      const flags = { isEnabled: () => true, variant: () => (row.variant === null ? { name: 'off', enabled: false } : { name: row.variant, enabled: true }) };
      const panel = await renderer.render({
        scene: row.scene,
        data: fakePanelData().data,
        flags,
        viewer: { segments: [], platform: row.platform, locale: 'en', appVersion: row.version },
      });
      const sentFor = new Map(row.styles.map((s) => [s.token, s.sent]));
      const layout = layouts.get(row.scene) as CompiledLayout;
      const configured = row.variant === null ? layout.floors : (layout.variants[row.variant] as CompiledLayout).floors;
      const label = `${row.platform} ${row.version} ${row.scene} ${row.variant ?? ''}`;
      for (const floor of panel.floors) {
        expect(row.kinds, label).toContain(floor.kind);
        const config = configured.find((f) => f.code === floor.code);
        if (config === undefined) continue; // the renderer's own reconciliation row
        expect(row.floors, label).toContain(floor.code);
        const expected = [...new Set(config.style.map((t) => sentFor.get(t)).filter((t): t is string => t !== null && t !== undefined))];
        expect(floor.style, `${label} ${floor.code}`).toEqual(expected);
        if (config.style.includes('emphasis')) seen.add(`emphasis→${sentFor.get('emphasis') ?? 'none'}`);
      }
    }
    expect([...seen].sort()).toEqual(['emphasis→bold', 'emphasis→emphasis']);
  });
});
