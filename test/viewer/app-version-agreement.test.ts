/**
 * One table of versions, two deciders that must agree: a floor's `minAppVersion` (Floorplan's
 * renderer) and Unleash's SEMVER_* constraints on `appVersion` (unleash-client, evaluating
 * flags from a flags file exactly as a request does). Both read the same `x-app-version`
 * header through the request path's own buildViewer, so an operator who gates a floor with
 * `minAppVersion: 12.3.4` and a flag with `appVersion SEMVER_GT 12.3.4 or SEMVER_EQ 12.3.4`
 * reaches the same apps.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlagService } from '../../src/flags/flag-service.ts';
import { defaultBuilders } from '../../src/floors/builders/index.ts';
import { createBuilderRegistry } from '../../src/floors/registry.ts';
import { PanelRenderer } from '../../src/panels/renderer.ts';
import { compileFloorsFile, type CompiledLayout } from '../../src/layouts/compile.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { buildViewer, type Viewer } from '../../src/viewer/viewer.ts';
import { fakePanelData } from '../floors/builders/fixtures.ts';
import { exportFile, flagsConfig, tempFlagsDir } from '../flags/support.ts';

const LOCALES = ['zh-CN', 'en'];

/** What apps send in `x-app-version`, every accepted format and some that are not. */
const HEADERS = [
  '12.3.4',
  '12.3.4+build.7',
  '12.3.4 (5678)',
  '12.3.4-beta',
  '12.3.4-beta.2',
  '12.3.4-beta.11 (90)',
  '12.3.4-rc.1+exp.5114f85',
  '12.3.3',
  '12.3.5',
  '12.3',
  '12.3 (5678)',
  '12.4.0-alpha',
  '13.0.0',
  '0.0.1',
  // Unknown versions: Floorplan meets no minimum with them, Unleash matches no SEMVER constraint.
  'v12.3.4',
  '12.03.4',
  '12',
  '12.3.4.5',
  'latest',
  '',
] as const;

/** Minimums an operator may write, in the floors file and in Unleash constraints alike. */
const MINIMUMS = ['12.3.4', '12.3.4-beta', '12.3.4-beta.2', '12.3.0', '12.3.5', '12.4.0', '0.0.1', '13.0.0-rc.1'] as const;

const floorsFile = [
  'scene: versions',
  'version: v1',
  'floors:',
  ...MINIMUMS.flatMap((minimum, i) => [
    `  - code: min-${i}`,
    '    builder: notice',
    `    name: { zh-CN: "≥ ${minimum}", en: "≥ ${minimum}" }`,
    `    minAppVersion: "${minimum}"`,
    `    sort: ${i}`,
  ]),
  '',
].join('\n');

/** For each minimum: "at least" as Unleash 7 can say it (GT or EQ, two strategies), and "below". */
const flags = MINIMUMS.flatMap((minimum, i) => [
  {
    name: `at-least-${i}`,
    enabled: true,
    strategies: (['SEMVER_GT', 'SEMVER_EQ'] as const).map((operator) => ({
      name: 'default',
      constraints: [{ contextName: 'appVersion', operator, value: minimum, inverted: false, caseInsensitive: false, values: [] }],
    })),
  },
  {
    name: `below-${i}`,
    enabled: true,
    strategies: [
      { name: 'default', constraints: [{ contextName: 'appVersion', operator: 'SEMVER_LT', value: minimum, inverted: false, caseInsensitive: false, values: [] }] },
    ],
  },
]);

let service: FlagService;
let renderer: PanelRenderer;
let removeFlags: () => Promise<void>;

beforeAll(async () => {
  const temp = await tempFlagsDir();
  await temp.write(exportFile(flags));
  removeFlags = temp.remove;
  service = await FlagService.start(flagsConfig({ bootstrapFile: temp.file }), createLogger('silent'));
  const compiled = compileFloorsFile('floors/versions.yaml', floorsFile, createBuilderRegistry(defaultBuilders), LOCALES);
  if (compiled.layout === undefined) throw new Error(compiled.problems.map((p) => p.message).join('\n'));
  const layout: CompiledLayout = compiled.layout;
  renderer = new PanelRenderer({ layouts: () => new Map([[layout.scene, layout]]), logger: createLogger('silent') });
});
afterAll(async () => {
  await service?.stop();
  await removeFlags?.();
});

function viewerSending(header: string): Viewer {
  return buildViewer({ userId: 'u1001', segments: [] }, (name) => (name === 'x-app-version' ? header : undefined), LOCALES);
}

/** Floorplan's answer: which minimums the renderer lets this client past. */
async function floorplanMeets(viewer: Viewer): Promise<boolean[]> {
  const { outcomes } = await renderer.renderExplained({ scene: 'versions', data: fakePanelData().data, viewer });
  const tooOld = new Set(outcomes.filter((o) => o.status === 'client-too-old').map((o) => o.code));
  return MINIMUMS.map((_minimum, i) => !tooOld.has(`min-${i}`));
}

describe('minAppVersion and Unleash SEMVER constraints', () => {
  it.each(HEADERS)('agree for x-app-version %j', async (header) => {
    const viewer = viewerSending(header);
    const requestFlags = service.evaluate(viewer);
    const meets = await floorplanMeets(viewer);
    const rows = MINIMUMS.map((minimum, i) => ({
      minimum,
      floorplan: meets[i],
      unleashAtLeast: requestFlags.isEnabled(`at-least-${i}`),
      unleashBelow: requestFlags.isEnabled(`below-${i}`),
    }));
    for (const row of rows) {
      expect({ header, ...row, unleashAtLeast: row.floorplan }).toEqual({ header, ...row });
      if (viewer.appVersion === null) {
        // Unknown to both: no minimum met, no constraint matched (so never invert a SEMVER constraint).
        expect(row).toMatchObject({ floorplan: false, unleashBelow: false });
      } else {
        expect(row.unleashBelow).toBe(!row.floorplan);
      }
    }
  });

  it('reads a pre-release as below its release and build metadata as equal, as SemVer 2.0 says', async () => {
    const at = (header: string) => floorplanMeets(viewerSending(header)).then((meets) => meets[MINIMUMS.indexOf('12.3.4')]);
    expect(await at('12.3.4-beta')).toBe(false);
    expect(await at('12.3.4-rc.1+exp.5114f85')).toBe(false);
    expect(await at('12.3.4+build.7')).toBe(true);
    expect(await at('12.3.4 (5678)')).toBe(true);
    expect(service.evaluate(viewerSending('12.3.4-beta')).isEnabled(`below-${MINIMUMS.indexOf('12.3.4')}`)).toBe(true);
  });

  it('covers every kind of answer in its table', async () => {
    const seen = new Set<string>();
    for (const header of HEADERS) {
      const viewer = viewerSending(header);
      for (const meets of await floorplanMeets(viewer)) seen.add(`${viewer.appVersion === null ? 'unknown' : 'known'}:${meets}`);
    }
    expect([...seen].sort()).toEqual(['known:false', 'known:true', 'unknown:false']);
  });
});
