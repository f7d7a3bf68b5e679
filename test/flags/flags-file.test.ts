import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.ts';
import { parseFlagsFile } from '../../src/flags/flags-file.ts';
import { thrownBy } from '../support/thrown.ts';
import { exportFile, SHIPPED_FLAGS } from './support.ts';

const FILE = 'config/flags.json';

function parse(content: unknown, environment = 'development') {
  return parseFlagsFile(typeof content === 'string' ? content : JSON.stringify(content, null, 2), FILE, environment);
}

function problems(content: unknown): string[] {
  const error = thrownBy(() => parse(content));
  expect(error.code).toBe(ErrorCode.FLAGS_INVALID);
  const [head, ...rest] = error.message.split('\n- ');
  expect(head).toBe(`Invalid flags file ${FILE}:`);
  return rest;
}

const rollout = (flag: string, extra: Record<string, unknown> = {}) => ({
  name: 'flexibleRollout',
  parameters: { rollout: '10', stickiness: 'userId', groupId: flag },
  ...extra,
});

describe('the shipped config/flags.json', () => {
  it('is Unleash export format and converts to what the client evaluates', () => {
    const snapshot = parse(readFileSync(SHIPPED_FLAGS, 'utf8'));
    expect(snapshot.format).toBe('unleash-export');
    const byName = Object.fromEntries(snapshot.features.map((f) => [f.name, f]));
    expect(byName['floorplan.kill.cart']).toMatchObject({ enabled: false, type: 'kill-switch', strategies: [{ name: 'default' }] });
    expect(byName['floor.plus-rebate']).toMatchObject({ enabled: true, strategies: [{ name: 'default' }] });
    expect(byName['floor.free-shipping-notice']?.strategies).toEqual([
      {
        name: 'flexibleRollout',
        parameters: { rollout: '100', stickiness: 'userId', groupId: 'floor.free-shipping-notice' },
        constraints: [],
        variants: [],
      },
    ]);
    // What Unleash 7.5.1 served after importing this very file: sorted by name, weights as given.
    expect(byName['layout.cart-bottom-sheet']?.variants).toEqual([
      { name: 'compact', weight: 0, weightType: 'fix', stickiness: 'userId', overrides: [] },
      { name: 'default', weight: 1000, weightType: 'variable', stickiness: 'userId', overrides: [] },
    ]);
  });
});

describe('parseFlagsFile applies what Unleash does on import', () => {
  it('shares the rest of 1000 among "variable" variants, the remainder one by one in file order, then sorts by name', () => {
    const snapshot = parse(
      exportFile([
        {
          name: 'v',
          enabled: true,
          strategies: [{ name: 'default' }],
          variants: [
            { name: 'x', weight: 334, weightType: 'variable', stickiness: 'default' },
            { name: 'y', weight: 333, weightType: 'variable', stickiness: 'default' },
            { name: 'w', weight: 333, weightType: 'variable', stickiness: 'default' },
          ],
        },
        {
          name: 'u',
          enabled: true,
          strategies: [
            rollout('u', {
              variants: [
                { name: 'zz', weight: 450, weightType: 'variable', stickiness: 'userId' },
                { name: 'aa', weight: 450, weightType: 'variable', stickiness: 'userId' },
                { name: 'mid', weight: 100, weightType: 'fix', stickiness: 'userId' },
              ],
            }),
          ],
        },
      ]),
    );
    const [v, u] = snapshot.features;
    // Observed on Unleash 7.5.1: w 333, x 334, y 333.
    expect(v?.variants?.map((x) => [x.name, x.weight])).toEqual([['w', 333], ['x', 334], ['y', 333]]);
    expect(u?.strategies?.[0]?.variants?.map((x) => [x.name, x.weight])).toEqual([['aa', 450], ['mid', 100], ['zz', 450]]);
  });

  it('orders strategies by sortOrder and leaves out disabled ones', () => {
    const file = exportFile([{ name: 'f', enabled: true, strategies: [{ name: 'default' }] }]);
    file.featureStrategies = [
      { featureName: 'f', sortOrder: 2, ...rollout('f') },
      { featureName: 'f', sortOrder: 1, name: 'default', disabled: true },
      { featureName: 'f', sortOrder: 0, name: 'remoteAddress', parameters: { IPs: '10.0.0.1' } },
    ];
    expect(parse(file).features[0]?.strategies?.map((s) => s.name)).toEqual(['remoteAddress', 'flexibleRollout']);
  });

  it('reads a flag with no featureEnvironments entry as off, and picks the entry of flags.environment among several', () => {
    const file = exportFile([
      { name: 'a', enabled: true, strategies: [{ name: 'default' }] },
      { name: 'b', enabled: true, strategies: [{ name: 'default' }] },
    ]);
    file.featureEnvironments = [
      { name: 'b', featureName: 'b', environment: 'production', enabled: false },
      { name: 'b', featureName: 'b', environment: 'development', enabled: true },
    ];
    expect(parse(file, 'development').features.map((f) => [f.name, f.enabled])).toEqual([['a', false], ['b', true]]);
    expect(parse(file, 'production').features.map((f) => [f.name, f.enabled])).toEqual([['a', false], ['b', false]]);
  });

  it('carries dependencies to the client', () => {
    const file = exportFile([
      { name: 'parent', enabled: true, strategies: [{ name: 'default' }] },
      { name: 'child', enabled: true, strategies: [{ name: 'default' }] },
    ]);
    file.dependencies = [{ feature: 'child', dependencies: [{ feature: 'parent', enabled: true }] }];
    expect(parse(file).features[1]?.dependencies).toEqual([{ feature: 'parent', enabled: true }]);
  });

  it('accepts a copy of /api/client/features, and {"version": 2, "features": []} as no flags', () => {
    expect(parse({ version: 2, features: [] })).toEqual({ format: 'client-features', features: [], segments: [] });
    const snapshot = parse({
      version: 2,
      features: [{ name: 'a', enabled: true, strategies: [{ name: 'default', parameters: {}, constraints: [], segments: [7] }] }],
      segments: [{ id: 7, constraints: [{ contextName: 'segment', operator: 'IN', values: ['plus'] }] }],
    });
    expect(snapshot.format).toBe('client-features');
    expect(snapshot.segments[0]?.id).toBe(7);
  });
});

describe('parseFlagsFile rejects, naming the path, the contract, the value and the line', () => {
  it('rejects strategies Unleash 7 no longer accepts, with the allow-list recipe', () => {
    const file = exportFile([{ name: 'f', enabled: true, strategies: [{ name: 'userWithId', parameters: { userIds: 'a,b' } }] }]);
    expect(problems(file)).toEqual([
      expect.stringMatching(
        /^`featureStrategies\[0\]\.name` must be a strategy Unleash 7 accepts \(default, flexibleRollout, remoteAddress, applicationHostname\); for an allow-list use flexibleRollout with a constraint userId IN \[\.\.\.\], but got: "userWithId" \(config\/flags\.json:\d+\)$/,
      ),
    ]);
  });

  it('rejects operators Unleash 7 does not have, and constraints without values', () => {
    const file = exportFile([
      {
        name: 'f',
        enabled: true,
        strategies: [
          rollout('f', {
            constraints: [
              { contextName: 'appVersion', operator: 'SEMVER_GTE', value: '12.0.0' },
              { contextName: 'segment', operator: 'IN', values: [] },
              { contextName: 'appVersion', operator: 'SEMVER_LT', value: 'twelve' },
            ],
          }),
        ],
      },
    ]);
    const found = problems(file);
    expect(found[0]).toMatch(/^`featureStrategies\[0\]\.constraints\[0\]\.operator` must be one of "IN", .*"SEMVER_LT", "REGEX", but got: "SEMVER_GTE"/);
    expect(found[1]).toMatch(/^`featureStrategies\[0\]\.constraints\[1\]\.values` must list at least one value for IN, but got: \[\]/);
    expect(found[2]).toMatch(/^`featureStrategies\[0\]\.constraints\[2\]\.value` must be a version like 12\.3\.0 for SEMVER_LT, but got: "twelve"/);
  });

  it('requires flexibleRollout to state rollout, stickiness and groupId', () => {
    const file = exportFile([{ name: 'f', enabled: true, strategies: [{ name: 'flexibleRollout', parameters: { rollout: '101' } }] }]);
    expect(problems(file).map((p) => p.replace(/ \(config.*$/, ''))).toEqual([
      '`featureStrategies[0].parameters.rollout` must be a whole percentage from "0" to "100", but got: "101"',
      '`featureStrategies[0].parameters.stickiness` must be set (e.g. "userId"): offline there is no project default stickiness, but got: nothing',
      '`featureStrategies[0].parameters.groupId` must be set, usually to the flag name (Unleash would fill that in on import), but got: nothing',
    ]);
  });

  it('rejects a constraint or a stickiness on a context field Floorplan never sends (a typo reaches nobody), naming the fields it does send', () => {
    const file = exportFile([
      {
        name: 'f',
        enabled: true,
        strategies: [rollout('f', { parameters: { rollout: '50', stickiness: 'userid', groupId: 'f' }, constraints: [{ contextName: 'segmnet', operator: 'NOT_IN', values: ['basic'] }] })],
      },
    ]);
    expect(problems(file).map((p) => p.replace(/ \(config.*$/, ''))).toEqual([
      '`featureStrategies[0].constraints[0].contextName` must be a context field Floorplan sends (userId, sessionId, appName, environment, currentTime, segment, segments, platform, appVersion), but got: "segmnet"',
      '`featureStrategies[0].parameters.stickiness` must be default, random or a context field Floorplan sends (userId, sessionId, segment, segments, platform, appVersion), but got: "userid"',
    ]);
    // Every field it does send passes.
    const fine = exportFile([
      {
        name: 'g',
        enabled: true,
        strategies: [
          rollout('g', {
            parameters: { rollout: '50', stickiness: 'sessionId', groupId: 'g' },
            constraints: ['userId', 'sessionId', 'appName', 'environment', 'segment', 'segments', 'platform'].map((contextName) => ({ contextName, operator: 'NOT_IN', values: ['x'] })),
          }),
        ],
      },
    ]);
    expect(parse(fine).features).toHaveLength(1);
  });

  it('rejects a variant sticky by a field Floorplan never sends, at every level a variant is defined, as a strategy\'s stickiness', () => {
    const sticky = (stickiness: string) => [
      { name: 'a', weight: 500, weightType: 'variable', stickiness },
      { name: 'b', weight: 500, weightType: 'fix', stickiness },
    ];
    const file = exportFile([{ name: 'f', enabled: true, strategies: [rollout('f', { variants: sticky('userid') })], variants: sticky('userID') }]);
    const contract = 'must be default, random or a context field Floorplan sends (userId, sessionId, segment, segments, platform, appVersion)';
    const found = problems(file);
    // Each with its line, as every problem of the file.
    for (const problem of found) expect(problem).toMatch(/ \(config\/flags\.json:\d+\)$/);
    expect(found.map((p) => p.replace(/ \(config.*$/, ''))).toEqual([
      `\`featureStrategies[0].variants[0].stickiness\` ${contract}, but got: "userid"`,
      `\`featureStrategies[0].variants[1].stickiness\` ${contract}, but got: "userid"`,
      `\`featureEnvironments[0].variants[0].stickiness\` ${contract}, but got: "userID"`,
      `\`featureEnvironments[0].variants[1].stickiness\` ${contract}, but got: "userID"`,
    ]);
    // The client-API format, a feature's and a strategy's variants alike.
    const client = {
      version: 2,
      features: [
        {
          name: 'f',
          enabled: true,
          strategies: [{ name: 'default', parameters: {}, variants: [{ name: 'a', weight: 1000, stickiness: 'sesionId' }] }],
          variants: [{ name: 'a', weight: 1000, stickiness: 'user_id' }],
        },
      ],
    };
    expect(problems(client).map((p) => p.replace(/ \(config.*$/, ''))).toEqual([
      `\`features[0].strategies[0].variants[0].stickiness\` ${contract}, but got: "sesionId"`,
      `\`features[0].variants[0].stickiness\` ${contract}, but got: "user_id"`,
    ]);
    // What Floorplan sends, default and random pass; so does no stickiness (the client reads it as default).
    for (const stickiness of ['default', 'random', 'userId', 'sessionId', 'segment', 'segments', 'platform', 'appVersion']) {
      expect(parse(exportFile([{ name: 'g', enabled: true, strategies: [rollout('g', { variants: sticky(stickiness) })], variants: sticky(stickiness) }])).features).toHaveLength(1);
    }
    expect(parse(exportFile([{ name: 'g', enabled: true, strategies: [{ name: 'default' }], variants: [{ name: 'a', weight: 1000, weightType: 'variable' }] }])).features).toHaveLength(1);
  });

  it('rejects segments, which an export names but cannot carry', () => {
    const file = exportFile([{ name: 'f', enabled: true, strategies: [{ name: 'default', segments: [1] }] }]);
    expect(problems(file)[0]).toMatch(/^`featureStrategies\[0\]\.segments` must be empty: an export names segments but does not carry their constraints/);
  });

  it('rejects a typo in a key, listing the known keys', () => {
    const file = exportFile([{ name: 'f', enabled: true, strategies: [{ name: 'default' }] }]);
    (file.featureEnvironments as Array<Record<string, unknown>>)[0] = { name: 'f', featureName: 'f', enabeld: true, enabled: false };
    expect(problems(file)).toEqual([
      expect.stringMatching(/^`featureEnvironments\[0\]\.enabeld` is not a known key \(a typo\?\); the known keys are name, featureName, environment, .*\(config\/flags\.json:\d+\)$/),
    ]);
  });

  it('rejects references to flags that are not listed, and duplicate flags', () => {
    const file = exportFile([
      { name: 'f', enabled: true, strategies: [{ name: 'default' }] },
      { name: 'f', enabled: true, strategies: [] },
    ]);
    (file.featureStrategies as Array<Record<string, unknown>>)[0] = { name: 'default', featureName: 'floorplan.kil.cart' };
    expect(problems(file).map((p) => p.replace(/ \(config.*$/, ''))).toEqual([
      '`features[1].name` must be unique, but "f" is also features[0]',
      '`featureStrategies[0].featureName` must name a flag listed in features, but got: "floorplan.kil.cart"',
    ]);
  });

  it('rejects variants Unleash would refuse: all "fix", or fixed weights over 1000', () => {
    const file = exportFile([
      { name: 'a', enabled: true, strategies: [{ name: 'default' }], variants: [{ name: 'x', weight: 1000, weightType: 'fix' }] },
      {
        name: 'b',
        enabled: true,
        strategies: [{ name: 'default' }],
        variants: [
          { name: 'x', weight: 800, weightType: 'fix' },
          { name: 'y', weight: 300, weightType: 'fix' },
          { name: 'z', weight: 0, weightType: 'variable' },
        ],
      },
    ]);
    expect(problems(file).map((p) => p.replace(/ \(config.*$/, ''))).toEqual([
      '`featureEnvironments[0].variants` must include at least one variant with weightType "variable" (Unleash rejects all-"fix" variants)',
      '`featureEnvironments[1].variants` must have "fix" weights adding up to at most 1000, but they add up to 1100',
    ]);
  });

  it('refuses a "variable" variant\'s weight that differs from the share Unleash computes for it (an edit that would do nothing), naming the variant', () => {
    // 50/50 edited to 800/200, both still "variable": Unleash (and Floorplan) would keep 500/500.
    const file = exportFile([
      {
        name: 'split',
        enabled: true,
        strategies: [rollout('split', { variants: [{ name: 'a', weight: 700, weightType: 'variable', stickiness: 'userId' }, { name: 'b', weight: 100, weightType: 'fix', stickiness: 'userId' }] })],
        variants: [
          { name: 'compact', weight: 800, weightType: 'variable', stickiness: 'userId' },
          { name: 'full', weight: 200, weightType: 'variable', stickiness: 'userId' },
        ],
      },
    ]);
    const found = problems(file);
    for (const problem of found) expect(problem).toMatch(/ \(config\/flags\.json:\d+\)$/);
    const why = 'a "variable" variant\'s weight is computed (the 1000 left by "fix" variants, shared equally): give it weightType "fix" to set it';
    expect(found.map((p) => p.replace(/ \(config.*$/, ''))).toEqual([
      `\`featureStrategies[0].variants[0].weight\` must be 900 for variant "a": ${why}, but got: 700`,
      `\`featureEnvironments[0].variants[0].weight\` must be 500 for variant "compact": ${why}, but got: 800`,
      `\`featureEnvironments[0].variants[1].weight\` must be 500 for variant "full": ${why}, but got: 200`,
    ]);
  });

  it('accepts the weights an Unleash export carries: each "variable" share, the odd per mille on any of them (Unleash sorts by name before exporting)', () => {
    // Unleash stored x 334 (first in the order it was given), then exported sorted by name.
    const file = exportFile([
      {
        name: 'v',
        enabled: true,
        strategies: [{ name: 'default' }],
        variants: [
          { name: 'w', weight: 333, weightType: 'variable', stickiness: 'default' },
          { name: 'x', weight: 334, weightType: 'variable', stickiness: 'default' },
          { name: 'y', weight: 333, weightType: 'variable', stickiness: 'default' },
          { name: 'z', weight: 0, weightType: 'fix', stickiness: 'default' },
        ],
      },
    ]);
    // Imported again, Unleash gives the odd one to the first in file order; so does Floorplan.
    expect(parse(file).features[0]?.variants?.map((x) => [x.name, x.weight])).toEqual([['w', 334], ['x', 333], ['y', 333], ['z', 0]]);
    // A weight off by more than that odd per mille is an edit.
    ((file.featureEnvironments as Array<{ variants: Array<{ weight: number }> }>)[0]!.variants[1]!).weight = 335;
    expect(problems(file).map((p) => p.replace(/ \(config.*$/, ''))).toEqual([
      expect.stringMatching(/^`featureEnvironments\[0\]\.variants\[1\]\.weight` must be 333 or 334 for variant "x": a "variable" variant's weight is computed .*, but got: 335$/),
    ]);
  });

  it('requires tagTypes, which Unleash\'s import requires', () => {
    expect(problems({ features: [], featureStrategies: [] })).toEqual(["`tagTypes` must be a list: Unleash's import requires it ([] is fine), but got: nothing (config/flags.json:1)"]);
  });

  it('rejects text that is not JSON, with the line', () => {
    expect(problems('{\n  "features": [,]\n}')).toEqual([expect.stringMatching(/^the file is not valid JSON: .* \(config\/flags\.json:2\)$/)]);
  });
});
