import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { appsDisagreements, loadClientsConfig, parseClientsConfig } from '../../src/config/clients-config.ts';
import { loadServiceConfig } from '../../src/config/service-config.ts';
import { ErrorCode, FloorplanError } from '../../src/errors.ts';
import { thrownBy } from '../support/thrown.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function problemsOf(source: string): string {
  try {
    parseClientsConfig('config/clients.yaml', source);
  } catch (error) {
    expect(error).toBeInstanceOf(FloorplanError);
    expect((error as FloorplanError).code).toBe(ErrorCode.CLIENTS_INVALID);
    return (error as Error).message;
  }
  throw new Error('expected the clients file to be refused');
}

describe('config/clients.yaml', () => {
  it('loads the committed file, frozen, from the path config floors.clientsFile names', () => {
    const config = loadServiceConfig({ dir: join(ROOT, 'config'), env: {} });
    expect(config.floors.clientsFile).toBe('config/clients.yaml');
    const clients = loadClientsConfig(join(ROOT, config.floors.clientsFile));
    expect(Object.keys(clients?.platforms ?? {})).toEqual(['ios', 'android']);
    expect(clients?.understands.styles.emphasis).toBe('12.0.0');
    expect(Object.isFrozen(clients?.platforms.ios?.live)).toBe(true);
  });

  it('is optional: no file, no config (the check is skipped)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'floorplan-clients-'));
    dirs.push(dir);
    expect(loadClientsConfig(join(dir, 'clients.yaml'))).toBeUndefined();
  });

  it('refuses a bad file with every problem and its file:line', () => {
    const source = [
      'platforms:', // 1
      '  ios:', // 2
      '    oldestSupported: "11.0.0"', // 3
      '    live: ["12.1.0", "11.x", "11.0.0"]', // 4
      '  android: { oldestSupported: "11.0.0", live: [] }', // 5
      'understands:', // 6
      '  styles: { Bold: "1.0.0" }', // 7
      '  kinds: { GOODZ: "1.0.0", TEXT: { iOS: "12.0.0" } }', // 8
      '',
    ].join('\n');
    expect(problemsOf(source).split('\n')).toEqual([
      'Invalid clients config:',
      '- `platforms.ios.live[1]` must be a semantic version such as "12.3.0", but got: "11.x" (config/clients.yaml:4)',
      '- `platforms.android.live` must list at least one version in the field, but got: [] (config/clients.yaml:5)',
      '- `understands.styles.Bold` must be a lower-case style token such as "bold", but got: "Bold" (config/clients.yaml:7)',
      '- `understands.kinds.TEXT` must be a semantic version such as "12.0.0", or one per platform: {ios: "12.0.0", android: "12.1.0"}, but got: {"iOS":"12.0.0"} (config/clients.yaml:8)',
      '- `understands.kinds.GOODZ` is not a known key (a typo?); the known keys are GOODS, DEDUCTION, CHARGE, PAYABLE, INFO, TEXT (config/clients.yaml:8)',
    ]);
  });

  it('refuses live versions out of order and a per-platform version for a platform it does not declare', () => {
    const source = [
      'platforms:', // 1
      '  ios:', // 2
      '    oldestSupported: "11.0.0"', // 3
      '    live:', // 4
      '      - "12.1.0"', // 5
      '      - "11.0.0"', // 6
      'understands:', // 7
      '  styles:', // 8
      '    emphasis: { ios: "12.0.0", andriod: "12.1.0" }', // 9
      '',
    ].join('\n');
    expect(problemsOf(source).split('\n').slice(1)).toEqual([
      '- `platforms.ios.live[1]` must be listed oldest first (after 12.1.0), but got: "11.0.0" (config/clients.yaml:6)',
      '- `understands.styles.emphasis.andriod` must be a platform declared under `platforms` (ios), but got: "12.1.0" (config/clients.yaml:9)',
    ]);
  });
});

describe('config/clients.yaml against config apps (what the floors loader checks style tokens with)', () => {
  const apps = loadServiceConfig({ dir: join(ROOT, 'config'), env: {} }).apps;
  const COMMITTED = readFileSync(join(ROOT, 'config', 'clients.yaml'), 'utf8');

  function load(source: string): () => unknown {
    const dir = mkdtempSync(join(tmpdir(), 'floorplan-clients-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'clients.yaml'), source);
    return () => loadClientsConfig(join(dir, 'clients.yaml'), apps);
  }

  it('agrees in the committed files', () => {
    expect(appsDisagreements(loadClientsConfig(join(ROOT, 'config', 'clients.yaml'))!, apps)).toEqual([]);
    expect(load(COMMITTED)()).toBeDefined();
  });

  it('refuses to load a file that says otherwise about an oldest supported version or a style token, naming both', () => {
    const edited = COMMITTED.replace('emphasis: "12.0.0"', 'emphasis: { ios: "12.0.0", android: "12.2.0" }')
      .replace('muted: "1.0.0"', 'muted: "11.5.0"')
      .replace(/oldestSupported: "11\.0\.0"\n    live: \["11\.2\.0"/, 'oldestSupported: "11.1.0"\n    live: ["11.2.0"');
    const error = thrownBy(load(edited));
    expect(error.code).toBe(ErrorCode.CLIENTS_INVALID);
    const problems = error.message.split('\n').slice(1).map((line) => line.replace(/^- /, '').replace(/^\S+clients\.yaml: /, ''));
    expect(problems).toEqual([
      '`understands.styles.muted` must be understood by every supported ios app (config apps.baseStyles lists it), but got: 11.5.0',
      '`platforms.android.oldestSupported` must be config apps.oldestSupported for android (11.0.0), but got: 11.1.0',
      '`understands.styles.muted` must be understood by every supported android app (config apps.baseStyles lists it), but got: 11.5.0',
      '`understands.styles.emphasis` on android must be what config apps.newerStyles says (12.0.0), but got: 12.2.0',
    ]);
  });
});
