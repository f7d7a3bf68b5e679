import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadServiceConfig } from '../../src/config/service-config.ts';
import { FloorplanError } from '../../src/errors.ts';
import { thrownBy } from '../support/thrown.ts';

const CONFIG_DIR = join(import.meta.dirname, '..', '..', 'config');
const DEFAULT_YAML = readFileSync(join(CONFIG_DIR, 'default.yaml'), 'utf8');
const NO_DEFAULT = 'must have a `default` for the platforms not listed, e.g. {ios: "12.0.0", default: "11.0.0"}';
const PER_PLATFORM = 'must be a semantic version such as "12.0.0", or one per platform with a default: {ios: "12.0.0", default: "11.0.0"}';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The problems of a config folder whose default.yaml is the shipped one with `apps` replaced; `at(n)`: file:line of the section's n-th line. */
function problemsWithApps(...appsLines: string[]): { problems: string[]; at: (n: number) => string } {
  const source = DEFAULT_YAML.replace(/^apps:\n(?:(?: {2}.*)?\n)+/m, `apps:\n${appsLines.map((l) => `  ${l}\n`).join('')}\n`);
  expect(source).not.toBe(DEFAULT_YAML);
  const dir = mkdtempSync(join(tmpdir(), 'floorplan-config-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'default.yaml'), source);
  const error: FloorplanError = thrownBy(() => loadServiceConfig({ dir, env: {} }));
  const apps = source.split('\n').indexOf('apps:') + 1;
  return { problems: error.message.split('\n').slice(1).map((l) => l.replace(/^- /, '')), at: (n) => `${join(dir, 'default.yaml')}:${apps + n}` };
}

describe('config apps', () => {
  it('ships every platform supported from 11.0.0, bold and muted for every app, emphasis from 12.0.0', () => {
    expect(loadServiceConfig({ dir: CONFIG_DIR, env: {} }).apps).toEqual({
      oldestSupported: { ios: '11.0.0', android: '11.0.0', default: '11.0.0' },
      baseStyles: ['bold', 'muted'],
      newerStyles: { emphasis: '12.0.0' },
    });
  });

  it('rejects a per-platform version without a default, so no platform is left without an answer', () => {
    const { problems, at } = problemsWithApps('oldestSupported: { ios: "11.0.0" }', 'baseStyles: [bold]', 'newerStyles: { emphasis: { ios: "12.0.0", default: "12.0" } }');
    expect(problems).toEqual([
      `\`apps.oldestSupported\` ${NO_DEFAULT}, but got: {"ios":"11.0.0"} (${at(1)})`,
      `\`apps.newerStyles.emphasis.default\` must be a semantic version such as "12.0.0", but got: "12.0" (${at(3)})`,
    ]);
  });

  it('says what it expects when a version is neither a string nor a mapping', () => {
    const { problems, at } = problemsWithApps('oldestSupported: 11', 'baseStyles: [bold]', 'newerStyles: {}');
    expect(problems).toEqual([`\`apps.oldestSupported\` ${PER_PLATFORM}, but got: 11 (${at(1)})`]);
  });

  it('rejects a version that is not semantic, and a token listed both as base and as newer', () => {
    const { problems, at } = problemsWithApps('oldestSupported: "11"', 'baseStyles: [bold, emphasis]', 'newerStyles: { emphasis: "12.0.0" }');
    expect(problems).toEqual([
      `\`apps.oldestSupported\` must be a semantic version such as "12.0.0", but got: "11" (${at(1)})`,
      `\`apps.newerStyles.emphasis\` must not repeat a token of apps.baseStyles, but got: "12.0.0" (${at(3)})`,
    ]);
  });
});
