import { join } from 'node:path';
import type { EnhancedFeatureInterface } from 'unleash-client/lib/feature.js';
import { describe, expect, it } from 'vitest';
import { loadServiceConfig } from '../../src/config/service-config.ts';
import { defaultBuilders } from '../../src/floors/builders/index.ts';
import { createBuilderRegistry } from '../../src/floors/registry.ts';
import { loadFloorsDir } from '../../src/layouts/compile.ts';
import { createFlagsOverviewHandler, unleashProjectUrl } from '../../src/operators/flags-overview.ts';

const ROOT = join(import.meta.dirname, '..', '..');

describe('the link from the console to a flag in Unleash', () => {
  it('is the configured project page when flags.unleashUiUrl is set', () => {
    expect(unleashProjectUrl({ unleashUrl: '', unleashUiUrl: 'https://unleash.example/projects/cart/' })).toBe('https://unleash.example/projects/cart');
  });

  it('is derived from the API URL without its /api, in the default project', () => {
    expect(unleashProjectUrl({ unleashUrl: 'http://unleash:4242/api', unleashUiUrl: '' })).toBe('http://unleash:4242/projects/default');
    expect(unleashProjectUrl({ unleashUrl: 'http://unleash:4242/api/', unleashUiUrl: '' })).toBe('http://unleash:4242/projects/default');
  });

  it("does not carry the API URL's user and password to the console (the operator signs in to Unleash's UI as themself)", () => {
    expect(unleashProjectUrl({ unleashUrl: 'http://floorplan:Unl3ash@pw@unleash:4242/api', unleashUiUrl: '' })).toBe('http://unleash:4242/projects/default');
  });

  it('is absent when flags come from the local file and no UI is configured', () => {
    expect(unleashProjectUrl({ unleashUrl: '', unleashUiUrl: '' })).toBeUndefined();
  });
});

/**
 * What the console's Flags page reads (POST /admin/flags) for Unleash set-ups where the flag's
 * own `enabled` and its strategy list do not tell who gets it: strategy variants (Unleash 7's
 * way to split a layout), a parent flag it depends on, a case-insensitive constraint.
 */
describe('POST /admin/flags for flags Unleash decides beyond on/off and strategies', () => {
  const registry = createBuilderRegistry(defaultBuilders);
  const config = loadServiceConfig({ dir: join(ROOT, 'config'), env: {} });
  const layouts = loadFloorsDir(join(ROOT, 'floors'), registry, config.floors.locales, config.apps);
  const definitions: Record<string, EnhancedFeatureInterface> = {
    'layout.cart-bottom-sheet': {
      name: 'layout.cart-bottom-sheet',
      enabled: true,
      strategies: [{ name: 'default', parameters: {}, constraints: [], variants: [{ name: 'compact', weight: 500, weightType: 'variable', stickiness: 'userId' }, { name: 'full', weight: 500, weightType: 'variable', stickiness: 'userId' }] }],
      // The flag's own variants (as a local flags file gives them), which Unleash uses where a strategy has none.
      variants: [
        { name: 'compact', weight: 0, weightType: 'fix', stickiness: 'default' },
        { name: 'default', weight: 1000, weightType: 'variable', stickiness: 'default' },
      ],
    } as unknown as EnhancedFeatureInterface,
    'floor.loyalty-points': {
      name: 'floor.loyalty-points',
      enabled: true,
      strategies: [{ name: 'default', parameters: {}, constraints: [] }],
      dependencies: [{ feature: 'floorplan.kill.cart', enabled: true }],
    } as unknown as EnhancedFeatureInterface,
    'floorplan.kill.cart': { name: 'floorplan.kill.cart', enabled: false, strategies: [] } as unknown as EnhancedFeatureInterface,
    'floor.new-customer': {
      name: 'floor.new-customer',
      enabled: true,
      strategies: [
        { name: 'flexibleRollout', parameters: { rollout: '100' }, constraints: [{ contextName: 'segments', operator: 'STR_CONTAINS', values: ['NEW'], inverted: false, caseInsensitive: true }] },
        { name: 'default', parameters: {}, constraints: [{ contextName: 'segment', operator: 'IN', values: ['New'], inverted: false, caseInsensitive: true }] },
      ],
    } as unknown as EnhancedFeatureInterface,

  };
  const handler = createFlagsOverviewHandler({
    flags: { definition: (name: string) => definitions[name], mode: 'unleash', servingFrom: 'unleash', fetchAgeSeconds: () => 1, file: '' } as never,
    config: { unleashUrl: 'http://unleash:4242/api', unleashUiUrl: '', environment: 'development' },
    layouts: () => layouts,
  });
  const flagOf = async (name: string) => ((await handler({}, { identity: 'vera', role: 'viewer' } as never)).body as { flags: Array<Record<string, unknown>> }).flags.find((f) => f.flag === name);

  it("shows a strategy's variants, the ones that pick the layout", async () => {
    expect(await flagOf('layout.cart-bottom-sheet')).toMatchObject({ strategies: [{ name: 'default', variants: ['compact 50 %', 'full 50 %'] }] });
  });

  it('shows the parent flag a flag depends on, and that nobody gets it while that parent is off', async () => {
    expect(await flagOf('floor.loyalty-points')).toMatchObject({ enabled: true, dependsOn: ['floorplan.kill.cart enabled'], blockedBy: 'floorplan.kill.cart is off: nobody gets this flag' });
  });

  it('says when a constraint ignores case, and only where Unleash does: IN compares exactly whatever caseInsensitive says', async () => {
    expect(await flagOf('floor.new-customer')).toMatchObject({ strategies: [{ constraints: ['segments STR_CONTAINS [NEW] (case-insensitive)'] }, { constraints: ['segment IN [New]'] }] });
  });

  it("shows the flag's own variants with their shares, so a variant nobody gets reads 0 %", async () => {
    expect(await flagOf('layout.cart-bottom-sheet')).toMatchObject({ variants: ['compact 0 %', 'default 100 %'] });
  });
});
