import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadServiceConfig, type AppsConfig } from '../../src/config/service-config.ts';
import { ErrorCode } from '../../src/errors.ts';
import { defaultBuilders } from '../../src/floors/builders/index.ts';
import { createBuilderRegistry } from '../../src/floors/registry.ts';
import { compileFloorsFile, loadFloorsDir } from '../../src/layouts/compile.ts';
import { thrownBy } from '../support/thrown.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const registry = createBuilderRegistry(defaultBuilders);
const LOCALES = ['zh-CN', 'en'] as const;
const FILE = 'floors/checkout-summary.yaml';

/** Apps as the shipped config describes them: every platform supported from 11.0.0, emphasis known from 12.0.0. */
const APPS: AppsConfig = {
  oldestSupported: { ios: '11.0.0', android: '11.0.0', default: '11.0.0' },
  baseStyles: ['bold', 'muted'],
  newerStyles: { emphasis: '12.0.0' },
};
const KNOWN = '(config `apps`: bold, muted for every app; emphasis from 12.0.0)';
const CONTRACT = `must be known to every supported app that gets it, or have a rule under \`styles\` whose fallback they know ${KNOWN}`;
const EVERY_CLIENT = 'apps that send no x-app-version, ios 11.0.0, android 11.0.0 and other platforms 11.0.0';

function yaml(...lines: string[]): string {
  return `${lines.join('\n')}\n`;
}

/** The messages for `source`, checked against `apps` (null: no apps given). */
function problems(source: string, apps: AppsConfig | null = APPS): string[] {
  return compileFloorsFile(FILE, source, registry, LOCALES, apps ?? undefined).problems.map((p) => p.message);
}

/** A one-floor checkout summary: `styles` lines from line 2; the floor's `style:` is line 6 plus the lines added. */
function summary({ styles = [], style = '[bold]', floorExtra = [] }: { styles?: string[]; style?: string; floorExtra?: string[] }): string {
  return yaml(
    'scene: checkout-summary',
    ...styles,
    'floors:',
    '  - code: payable',
    '    builder: payable',
    '    name: { zh-CN: 实付款, en: To pay }',
    ...floorExtra,
    `    style: ${style}`,
    '    sort: 90',
  );
}

/** The shipped checkout summary with its `styles:` block (and the comment above it) taken out: the file as issue 11 found it. */
function shippedWithoutStyleRules(): string {
  const shipped = readFileSync(join(ROOT, FILE), 'utf8');
  const withoutRules = shipped.replace(/(?:#[^\n]*\n)*styles:\n(?: {2}[^\n]*\n)+/, '');
  expect(withoutRules).not.toBe(shipped);
  return withoutRules;
}

describe('style tokens against the supported apps (issue 11, item 10)', () => {
  it('rejects the checkout summary as it was, which sent emphasis to apps that do not know it, with file:line', () => {
    const source = shippedWithoutStyleRules();
    const line = source.split('\n').findIndex((l) => l.includes('style: [bold, emphasis]')) + 1;
    expect(problems(source)).toEqual([`\`floors[7].style[1]\` ${CONTRACT}; ${EVERY_CLIENT} would get it without knowing it, but got: "emphasis" (${FILE}:${line})`]);
  });

  it('passes the shipped floors folder against the shipped config, and stops start-up on the old checkout summary', () => {
    const config = loadServiceConfig({ dir: join(ROOT, 'config'), env: {} });
    expect([...loadFloorsDir(join(ROOT, 'floors'), registry, config.floors.locales, config.apps).keys()]).toEqual(['cart-bottom-sheet', 'checkout-summary']);
    expect(compileFloorsFile(FILE, readFileSync(join(ROOT, FILE), 'utf8'), registry, config.floors.locales, config.apps).problems).toEqual([]);
    expect(compileFloorsFile(FILE, shippedWithoutStyleRules(), registry, config.floors.locales, config.apps).problems).toHaveLength(1);
  });

  it('lets base tokens through without a rule', () => {
    expect(problems(summary({ style: '[bold, muted]' }))).toEqual([]);
  });

  it('accepts a newer token whose rule falls back to a base token, or to nothing', () => {
    expect(problems(summary({ styles: ['styles:', '  emphasis: { minAppVersion: "12.0.0", fallback: bold }'], style: '[emphasis]' }))).toEqual([]);
    expect(problems(summary({ styles: ['styles:', '  emphasis: { minAppVersion: "12.0.0", fallback: null }'], style: '[emphasis]' }))).toEqual([]);
  });

  it('rejects a token no app knows, such as a typo', () => {
    expect(problems(summary({ style: '[bold, emphasys]' }))).toEqual([
      `\`floors[0].style[1]\` ${CONTRACT}; ${EVERY_CLIENT} would get it without knowing it, but got: "emphasys" (${FILE}:6)`,
    ]);
  });

  it('rejects a rule whose minimum is older than the first app version that knows the token, naming that version', () => {
    const source = summary({ styles: ['styles:', '  emphasis: { minAppVersion: "11.5.0", fallback: bold }'], style: '[emphasis]' });
    expect(problems(source)).toEqual([
      `\`floors[0].style[0]\` ${CONTRACT}; ios 11.5.0, android 11.5.0 and other platforms 11.5.0 would get it without knowing it, but got: "emphasis" (${FILE}:8)`,
    ]);
  });

  it('accepts that rule once no app older than the token is supported any more', () => {
    const source = summary({ styles: ['styles:', '  emphasis: { minAppVersion: "11.5.0", fallback: bold }'], style: '[emphasis]' });
    expect(problems(source, { ...APPS, oldestSupported: '12.0.0' })).toEqual([]);
  });

  it('checks each platform against the version that platform learnt the token', () => {
    const apps: AppsConfig = { ...APPS, newerStyles: { emphasis: { android: '12.4.0', default: '12.0.0' } } };
    const oneMinimum = summary({ styles: ['styles:', '  emphasis: { minAppVersion: "12.0.0", fallback: bold }'], style: '[emphasis]' });
    expect(problems(oneMinimum, apps)).toEqual([
      `\`floors[0].style[0]\` must be known to every supported app that gets it, or have a rule under \`styles\` whose fallback they know (config \`apps\`: bold, muted for every app; emphasis from android 12.4.0, others 12.0.0); android 12.0.0 would get it without knowing it, but got: "emphasis" (${FILE}:8)`,
    ]);
    const perPlatform = summary({ styles: ['styles:', '  emphasis: { minAppVersion: { android: "12.4.0", default: "12.0.0" }, fallback: bold }'], style: '[emphasis]' });
    expect(problems(perPlatform, apps)).toEqual([]);
  });

  it('follows the fallback chain and names the token at its end when that one is unknown', () => {
    const source = summary({ styles: ['styles:', '  emphasis: { minAppVersion: "12.0.0", fallback: glow }'], style: '[emphasis]' });
    expect(problems(source)).toEqual([
      `\`floors[0].style[0]\` ${CONTRACT}; ${EVERY_CLIENT} would get its fallback "glow" without knowing it, but got: "emphasis" (${FILE}:8)`,
    ]);
  });

  it('lets a floor that only newer apps get use a newer token without a rule', () => {
    expect(problems(summary({ style: '[emphasis]', floorExtra: ['    minAppVersion: "12.0.0"'] }))).toEqual([]);
    expect(problems(summary({ style: '[emphasis]', floorExtra: ['    minAppVersion: "11.9.0"'] }))).toEqual([
      `\`floors[0].style[0]\` ${CONTRACT}; ios 11.9.0, android 11.9.0 and other platforms 11.9.0 would get it without knowing it, but got: "emphasis" (${FILE}:7)`,
    ]);
  });

  it('checks the floors of every variant too, at their own lines', () => {
    const source = yaml(
      'scene: checkout-summary', // 1
      'floors:', // 2
      '  - { code: payable, builder: payable, name: { zh-CN: 实付款, en: To pay }, style: [bold], sort: 90 }', // 3
      'variants:', // 4
      '  compact:', // 5
      '    version: "2"', // 6
      '    floors:', // 7
      '      - { code: payable, builder: payable, name: { zh-CN: 实付款, en: To pay }, style: [emphasis], sort: 90 }', // 8
    );
    expect(problems(source)).toEqual([
      `\`variants.compact.floors[0].style[0]\` ${CONTRACT}; ${EVERY_CLIENT} would get it without knowing it, but got: "emphasis" (${FILE}:8)`,
    ]);
  });

  it('rejects a fallback chain that comes back to where it started', () => {
    const source = summary({
      styles: ['styles:', '  emphasis: { minAppVersion: "12.0.0", fallback: loud }', '  loud: { minAppVersion: "12.0.0", fallback: emphasis }'],
      style: '[bold]',
    });
    expect(problems(source, null)).toEqual([
      `\`styles.emphasis.fallback\` must lead to a token with no rule, or to null, not back to "emphasis" (emphasis → loud → emphasis), but got: "loud" (${FILE}:3)`,
    ]);
  });

  it('does not check tokens against app versions when no apps are given (tests of other rules)', () => {
    expect(problems(summary({ style: '[emphasys]' }), null)).toEqual([]);
  });

  it('reports the problem when the whole folder is loaded, as start-up and floors:check do', () => {
    const error = thrownBy(() => loadFloorsDir(join(ROOT, 'floors'), registry, LOCALES, { ...APPS, baseStyles: ['bold'] }));
    expect(error.code).toBe(ErrorCode.LAYOUT_INVALID);
    // muted is no longer a base token: both shipped scenes use it on a floor every app gets.
    expect(error.message).toMatch(/`floors\[6\]\.style\[0\]` must be known .*, but got: "muted" \(floors\/cart-bottom-sheet\.yaml:\d+\)/);
    expect(error.message).toMatch(/`floors\[6\]\.style\[0\]` must be known .*, but got: "muted" \(floors\/checkout-summary\.yaml:\d+\)/);
  });
});

describe('the bounds on what one file lists', () => {
  // A 64 KiB file of 20,000 unknown tokens was checked token by token against every supported app
  // version, for seconds, and answered 20,000 problems.
  it('refuses more than 8 style tokens on a floor with one problem, not one per token', () => {
    expect(problems(summary({ style: `[${Array(20_000).fill('zz').join(',')}]` }))).toEqual([
      expect.stringMatching(/^`floors\[0\]\.style` must have at most 8 item\(s\), but got: \["zz","zz",.* \(floors\/checkout-summary\.yaml:6\)$/),
    ]);
    expect(problems(summary({ style: `[${Array(8).fill('bold').join(',')}]` }))).toEqual([]);
  });

  it('refuses more than 100 floors in a list with one problem, not one per floor\'s tokens', () => {
    const floors = Array.from({ length: 101 }, (_, i) => `  - { code: f${i}, builder: payable, name: { zh-CN: a, en: a }, style: [zz], sort: ${i} }`);
    const found = problems(yaml('scene: checkout-summary', 'floors:', ...floors));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^`floors` must have at most 100 item\(s\), but got: /);
  });
});
