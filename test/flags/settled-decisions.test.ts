/**
 * Flags that answer alike for everyone are decided once per definition; the answers must be
 * exactly unleash-client's, and Unleash must still be told of every evaluation.
 */
import fc from 'fast-check';
import { InMemStorageProvider, Unleash, type ClientFeaturesResponse, type Context } from 'unleash-client';
import type { FeatureInterface } from 'unleash-client/lib/feature.js';
import type { Constraint, StrategyTransportInterface } from 'unleash-client/lib/strategy/strategy.js';
import type { VariantDefinition } from 'unleash-client/lib/variant.js';
import { afterEach, describe, expect, it } from 'vitest';
import { seededRandom } from './support.ts';
import { variantWhenOn, whoIsOn, withSettledDecisions } from '../../src/flags/settled-decisions.ts';

const clients: Unleash[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.destroy();
});

/** A real unleash-client serving `features` with no network, as FlagService's local mode runs it. */
async function offlineClient(features: FeatureInterface[], segments: Array<{ id: number; constraints: unknown[] }> = []): Promise<Unleash> {
  const client = new Unleash({
    appName: 'floorplan-test',
    environment: 'development',
    url: 'http://flags-file.invalid/api/',
    refreshInterval: 0,
    disableMetrics: true,
    storageProvider: new InMemStorageProvider<ClientFeaturesResponse>(),
    bootstrap: { data: features, segments: segments as never },
    skipInstanceCountWarning: true,
    disableAutoStart: true,
  });
  clients.push(client);
  const synchronized = new Promise<void>((resolve) => client.once('synchronized', () => resolve()));
  await client.start();
  await synchronized;
  return client;
}

const context = (userId: string): Context => ({ userId, appName: 'floorplan-test', properties: { platform: 'ios' } });
/** Runs `ask` with Math.random drawing from a fixed sequence (mulberry32 of `seed`), then puts Math.random back. */
function withRandom<T>(seed: number, ask: () => T): T {
  const original = Math.random;
  Math.random = seededRandom(seed);
  try {
    return ask();
  } finally {
    Math.random = original;
  }
}

/** The contexts the differential test asks with: with and without a user, with and without a session. */
const contextOf = (who: string): Context =>
  who === 'nobody' ? { appName: 'floorplan-test', properties: {} } : who === 'session-only' ? { sessionId: 's-1', appName: 'floorplan-test', properties: {} } : { ...context(who), sessionId: who === 'u-2' ? 's-2' : '' };
const DEFAULT = { name: 'default', parameters: {}, constraints: [] };
const onlyUser = (userId: string) => ({ name: 'default', parameters: {}, constraints: [{ contextName: 'userId', operator: 'IN' as Constraint['operator'], values: [userId], inverted: false, caseInsensitive: false }] });
const rollout = (percent: number, stickiness = 'userId') => ({ name: 'flexibleRollout', parameters: { rollout: String(percent), stickiness, groupId: 'g' }, constraints: [] });

describe('whoIsOn', () => {
  it('settles what no context can change, and leaves to Unleash whatever a context, a segment, a parent or an impression could', () => {
    const feature = (extra: Partial<FeatureInterface>): FeatureInterface => ({ name: 'f', enabled: true, strategies: [DEFAULT], ...extra });
    expect(whoIsOn(feature({ enabled: false }))).toBe('no-one');
    expect(whoIsOn(feature({}))).toBe('everyone');
    expect(whoIsOn(feature({ strategies: [] }))).toBe('everyone');
    expect(whoIsOn(feature({ strategies: [rollout(10), DEFAULT] }))).toBe('everyone');
    expect(whoIsOn(feature({ strategies: [rollout(100)] }))).toEqual({ contextsWith: ['userId'] });
    expect(whoIsOn(feature({ strategies: [rollout(100, 'sessionId'), rollout(100)] }))).toEqual({ contextsWith: ['sessionId', 'userId'] });
    expect(whoIsOn(feature({ strategies: [rollout(100, 'default')] }))).toBe('everyone');
    expect(whoIsOn(feature({ strategies: [rollout(100, 'random')] }))).toBe('everyone');
    expect(whoIsOn(feature({ strategies: [rollout(0)] }))).toBe('no-one');
    expect(whoIsOn(feature({ strategies: [rollout(99)] }))).toBe('ask-unleash');
    expect(whoIsOn(feature({ strategies: [rollout(100, 'tenantId')] }))).toBe('ask-unleash');
    expect(whoIsOn(feature({ strategies: [onlyUser('u-1')] }))).toBe('ask-unleash');
    expect(whoIsOn(feature({ strategies: [{ name: 'userWithId', parameters: { userIds: 'u-1' }, constraints: [] }] }))).toBe('ask-unleash');
    expect(whoIsOn(feature({ strategies: [{ ...DEFAULT, segments: [1] }] }))).toBe('ask-unleash');
    expect(whoIsOn(feature({ dependencies: [{ feature: 'parent' }] }))).toBe('ask-unleash');
    expect(whoIsOn(feature({ enabled: false, dependencies: [{ feature: 'parent' }] }))).toBe('ask-unleash');
    expect(whoIsOn(feature({ impressionData: true }))).toBe('ask-unleash');
  });
});

describe('variantWhenOn', () => {
  const variant = (name: string, weight: number, extra: Partial<VariantDefinition> = {}): VariantDefinition => ({ name, weight, stickiness: 'userId', ...extra });
  const feature = (extra: Partial<FeatureInterface>): FeatureInterface => ({ name: 'layout', enabled: true, strategies: [DEFAULT], ...extra });

  it('settles the variant of a flag that is on only where every viewer gets the same one', () => {
    expect(variantWhenOn(feature({ variants: [] }))).toEqual({ name: 'disabled', enabled: false, feature_enabled: true, featureEnabled: true });
    expect(variantWhenOn(feature({ variants: [variant('default', 1000), variant('compact', 0)] }))).toEqual({ name: 'default', enabled: true, feature_enabled: true, featureEnabled: true });
    expect(variantWhenOn(feature({ variants: [variant('a', 1000, { payload: { type: 'string' as never, value: 'x' } })] }))).toEqual({
      name: 'a',
      enabled: true,
      feature_enabled: true,
      featureEnabled: true,
      payload: { type: 'string', value: 'x' },
    });
    expect(variantWhenOn(feature({ variants: [variant('a', 0), variant('b', 0)] }))).toEqual({ name: 'disabled', enabled: false, feature_enabled: true, featureEnabled: true });
    expect(variantWhenOn(feature({ variants: [variant('a', 500), variant('b', 500)] }))).toBe('ask-unleash');
    expect(variantWhenOn(feature({ variants: [variant('a', 1000, { overrides: [{ contextName: 'userId', values: ['u-1'] }] }), variant('b', 0)] }))).toBe('ask-unleash');
    expect(variantWhenOn(feature({ strategies: [{ ...DEFAULT, variants: [variant('s', 1000)] }], variants: [variant('a', 1000)] }))).toBe('ask-unleash');
  });
});

describe('withSettledDecisions', () => {
  it('answers every flag and variant exactly as unleash-client does, for any definitions and users', async () => {
    const strategy: fc.Arbitrary<StrategyTransportInterface> = fc.oneof(fc.constant(DEFAULT), fc.integer({ min: 0, max: 100 }).map((percent) => rollout(percent)), fc.tuple(fc.constantFrom(0, 100), fc.constantFrom('userId', 'sessionId', 'default', 'random')).map(([percent, stickiness]) => rollout(percent, stickiness)), fc.constantFrom('u-1', 'u-2').map(onlyUser), fc.constant<StrategyTransportInterface>({ ...DEFAULT, segments: [7] }));
    const definitions = fc.array(
      fc.record({
        enabled: fc.boolean(),
        strategies: fc.array(strategy, { maxLength: 3 }),
        parent: fc.boolean(),
        impressionData: fc.boolean(),
        variants: fc.array(
          fc.record({
            name: fc.constantFrom('default', 'compact', 'wide'),
            weight: fc.constantFrom(0, 0, 1000, 500),
            stickiness: fc.constantFrom('userId', 'default'),
            override: fc.boolean(),
            payload: fc.boolean(),
          }),
          { maxLength: 3 },
        ),
        strategyVariants: fc.boolean(),
      }),
      { minLength: 1, maxLength: 5 },
    );
    await fc.assert(
      fc.asyncProperty(definitions, fc.array(fc.constantFrom('u-1', 'u-2', 'u-3', 'u-4', 'nobody', 'session-only'), { minLength: 1, maxLength: 8 }), fc.integer(), async (defs, users, random) => {
        const features: FeatureInterface[] = defs.map((d, i) => ({
          name: `flag-${i}`,
          type: 'release',
          enabled: d.enabled,
          impressionData: d.impressionData,
          strategies: d.strategyVariants ? d.strategies.map((strategy) => ({ ...strategy, variants: [{ name: 'from-strategy', weight: 1000, stickiness: 'userId' }] })) : d.strategies,
          variants: d.variants.map((v) => ({
            name: v.name,
            weight: v.weight,
            stickiness: v.stickiness,
            ...(v.override ? { overrides: [{ contextName: 'userId', values: ['u-2'] }] } : {}),
            ...(v.payload ? { payload: { type: 'json' as never, value: '{"rows":2}' } } : {}),
          })),
          ...(d.parent && i > 0 ? { dependencies: [{ feature: `flag-${i - 1}` }] } : {}),
        }));
        const client = await offlineClient(features, [{ id: 7, constraints: [{ contextName: 'userId', operator: 'IN', values: ['u-3'] }] }]);
        const settled = withSettledDecisions(client);
        for (const user of users) {
          for (const { name } of [...features, { name: 'not-defined' }]) {
            // A context without a user makes unleash-client draw random stickiness: both sides draw the same numbers.
            const same = <T>(ask: () => T): T => withRandom(random, ask);
            expect(same(() => settled.isEnabled(name, contextOf(user))), `${name} for ${user}`).toBe(same(() => client.isEnabled(name, contextOf(user))));
            expect(same(() => settled.getVariant(name, contextOf(user))), `${name}'s variant for ${user}`).toEqual(same(() => client.getVariant(name, contextOf(user))));
          }
        }
        client.destroy();
      }),
      { numRuns: 250 },
    );
  });

  it('answers every settled shape as unleash-client does for every kind of context: no user, an empty session, a user under properties', async () => {
    const shapes: Array<Pick<FeatureInterface, 'enabled' | 'strategies'>> = [
      { enabled: false, strategies: [DEFAULT] },
      { enabled: true, strategies: [] },
      { enabled: true, strategies: [DEFAULT] },
      ...[0, 100].flatMap((percent) => ['userId', 'sessionId', 'default', 'random'].map((stickiness) => ({ enabled: true, strategies: [rollout(percent, stickiness)] }))),
      { enabled: true, strategies: [rollout(100, 'sessionId'), rollout(100, 'userId')] },
      { enabled: true, strategies: [rollout(0, 'userId'), rollout(100, 'sessionId')] },
    ];
    const features: FeatureInterface[] = shapes.map((shape, i) => ({
      name: `shape-${i}`,
      ...shape,
      variants: i % 2 === 0 ? [{ name: 'only', weight: 1000, stickiness: 'userId' }] : [],
    }));
    const contexts: Context[] = [
      { userId: 'u-1', sessionId: 's-1', appName: 'a', properties: {} },
      { userId: 'u-1', sessionId: '', appName: 'a', properties: {} },
      { sessionId: 's-1', appName: 'a', properties: {} },
      { appName: 'a', properties: { userId: 'u-9' } },
      { userId: '', appName: 'a', properties: {} },
      { appName: 'a', properties: {} },
    ];
    const client = await offlineClient(features);
    const settled = withSettledDecisions(client);
    for (const { name } of features) {
      expect(whoIsOn(client.getFeatureToggleDefinition(name)!), name).not.toBe('ask-unleash');
      for (const [i, ctx] of contexts.entries()) {
        expect(withRandom(i, () => settled.isEnabled(name, ctx)), `${name}, context ${i}`).toBe(withRandom(i, () => client.isEnabled(name, ctx)));
        expect(withRandom(i, () => settled.getVariant(name, ctx)), `${name}'s variant, context ${i}`).toEqual(withRandom(i, () => client.getVariant(name, ctx)));
      }
    }
  });

  it('still counts every evaluation in Unleash’s usage metrics, settled or not', async () => {
    const features: FeatureInterface[] = [
      { name: 'kill', type: 'kill-switch', enabled: false, strategies: [DEFAULT], variants: [] },
      { name: 'on', type: 'release', enabled: true, strategies: [DEFAULT], variants: [] },
      { name: 'canary', type: 'release', enabled: true, strategies: [onlyUser('u-1')], variants: [] },
      { name: 'layout', type: 'experiment', enabled: true, strategies: [DEFAULT], variants: [{ name: 'default', weight: 1000, stickiness: 'userId' }, { name: 'compact', weight: 0, stickiness: 'userId' }] },
    ];
    const counted = async (evaluator: (client: Unleash) => Pick<Unleash, 'isEnabled' | 'getVariant'>) => {
      const client = await offlineClient(features);
      const counts: Array<[string, boolean | string]> = [];
      const count = client.count.bind(client);
      const countVariant = client.countVariant.bind(client);
      client.count = (name, enabled) => {
        counts.push([name, enabled]);
        count(name, enabled);
      };
      client.countVariant = (name, variant) => {
        counts.push([name, variant]);
        countVariant(name, variant);
      };
      const flags = evaluator(client);
      for (const user of ['u-1', 'u-2', 'u-1']) {
        for (const name of ['kill', 'on', 'canary']) flags.isEnabled(name, context(user));
        for (const name of ['layout', 'kill', 'canary']) flags.getVariant(name, context(user));
      }
      return counts;
    };
    const direct = await counted((client) => client);
    const settled = await counted((client) => withSettledDecisions(client) as Pick<Unleash, 'isEnabled' | 'getVariant'>);
    expect(settled).toEqual(direct);
    expect(settled.filter(([name, answer]) => name === 'canary' && answer === true)).toHaveLength(4);
    expect(settled.filter(([name, answer]) => name === 'layout' && answer === 'default')).toHaveLength(3);
  });

  it('asks again once a flag’s definition changes (a kill switch turned on takes effect at once)', async () => {
    let features: FeatureInterface[] = [{ name: 'floorplan.kill.promotion', enabled: false, strategies: [DEFAULT] }];
    const evaluator = {
      isEnabled: (name: string) => features.find((f) => f.name === name)?.enabled === true,
      getVariant: () => ({ name: 'disabled', enabled: false }),
      getFeatureToggleDefinition: (name: string) => features.find((f) => f.name === name),
    };
    const settled = withSettledDecisions(evaluator);
    expect(settled.isEnabled('floorplan.kill.promotion', context('u-1'))).toBe(false);
    // unleash-client hands over a new definition object whenever a flag changes.
    features = [{ name: 'floorplan.kill.promotion', enabled: true, strategies: [DEFAULT] }];
    expect(settled.isEnabled('floorplan.kill.promotion', context('u-1'))).toBe(true);
  });
});
