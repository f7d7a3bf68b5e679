import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlagService } from '../../src/flags/flag-service.ts';
import { createLogger } from '../../src/observability/logger.ts';
import type { Viewer } from '../../src/viewer/viewer.ts';
import { flagsConfig, ROOT, seededRandom, tempFlagsDir, viewer } from './support.ts';

/**
 * A copy of /api/client/features (the client-API shape), so one file can hold every strategy the
 * client evaluates, userWithId included, next to constraints, dependencies and variants.
 */
const flagsFile = {
  version: 2,
  features: [
    {
      name: 'canary.plus-modern-apps',
      enabled: true,
      strategies: [
        {
          name: 'flexibleRollout',
          parameters: { rollout: '30', stickiness: 'userId', groupId: 'canary.plus-modern-apps' },
          constraints: [
            { contextName: 'segment', operator: 'IN', values: ['plus'] },
            { contextName: 'platform', operator: 'NOT_IN', values: ['web'] },
            { contextName: 'appVersion', operator: 'SEMVER_GTE', value: '12.0.0' },
          ],
        },
      ],
    },
    {
      name: 'qa.allow-list',
      enabled: true,
      strategies: [{ name: 'userWithId', parameters: { userIds: 'qa-alice,qa-bob, qa-carol' }, constraints: [] }],
    },
    { name: 'everyone', enabled: true, strategies: [{ name: 'default', parameters: {}, constraints: [] }] },
    {
      name: 'vip-anywhere',
      enabled: true,
      strategies: [{ name: 'default', parameters: {}, constraints: [{ contextName: 'segments', operator: 'STR_CONTAINS', values: ['vip'] }] }],
    },
    { name: 'switched-off', enabled: false, strategies: [{ name: 'default', parameters: {}, constraints: [] }] },
    {
      // caseInsensitive on IN: Unleash compares exactly all the same (only the STR_ operators and REGEX honour it).
      name: 'new-customers',
      enabled: true,
      strategies: [
        { name: 'default', parameters: {}, constraints: [{ contextName: 'segment', operator: 'IN', values: ['New'], caseInsensitive: true }] },
        { name: 'default', parameters: {}, constraints: [{ contextName: 'segment', operator: 'STR_STARTS_WITH', values: ['VIP'], caseInsensitive: true }] },
      ],
    },
    {
      name: 'whitelist-then-canary',
      enabled: true,
      strategies: [
        { name: 'userWithId', parameters: { userIds: 'qa-alice' }, constraints: [] },
        { name: 'flexibleRollout', parameters: { rollout: '10', stickiness: 'sessionId', groupId: 'wtc' }, constraints: [] },
        { name: 'gradualRolloutUserId', parameters: { percentage: '5', groupId: 'wtc' }, constraints: [] },
      ],
    },
    {
      name: 'child-of-canary',
      enabled: true,
      dependencies: [{ feature: 'canary.plus-modern-apps' }],
      strategies: [{ name: 'default', parameters: {}, constraints: [] }],
    },
    {
      name: 'layout.with-variants',
      enabled: true,
      strategies: [
        {
          name: 'flexibleRollout',
          parameters: { rollout: '100', stickiness: 'userId', groupId: 'lv' },
          constraints: [{ contextName: 'platform', operator: 'IN', values: ['ios'] }],
          variants: [
            { name: 'ios-a', weight: 500, stickiness: 'userId' },
            { name: 'ios-b', weight: 500, stickiness: 'userId' },
          ],
        },
        { name: 'default', parameters: {}, constraints: [] },
      ],
      variants: [
        { name: 'default', weight: 700, stickiness: 'userId' },
        { name: 'compact', weight: 300, stickiness: 'userId' },
      ],
    },
  ],
};
const FLAGS = [...flagsFile.features.map((f) => f.name), 'no-such-flag'];

let service: FlagService;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  const temp = await tempFlagsDir();
  await temp.write(flagsFile);
  service = await FlagService.start(flagsConfig({ bootstrapFile: temp.file }), createLogger('silent'));
  cleanup = async () => {
    await service.stop();
    await temp.remove();
  };
});
afterAll(() => cleanup());

function randomViewer(random: () => number): Viewer {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const segments = ['plus', 'vip', 'student', 'regular'].filter(() => random() < 0.4).sort(() => random() - 0.5);
  return {
    userId: random() < 0.1 ? pick(['qa-alice', 'qa-bob', 'qa-carol']) : `user-${Math.floor(random() * 100_000)}`,
    segments,
    platform: pick(['ios', 'android', 'web', 'unknown']),
    appVersion: pick([null, '11.9.0', '12.0.0', '12.3.1', '13.0.0-beta.1', 'garbage']),
    locale: 'zh-CN',
    sessionId: random() < 0.5 ? null : `s-${Math.floor(random() * 100_000)}`,
  };
}

describe('explain agrees with the real decision', () => {
  it('gives the same on/off and variant as isEnabled/variant for 500 random contexts on every flag', () => {
    const random = seededRandom(20_260_101);
    const seen = new Map<string, Set<string>>();
    for (let i = 0; i < 500; i++) {
      const v = randomViewer(random);
      for (const flag of FLAGS) {
        const explanation = service.explain(flag, v);
        const request = service.evaluate(v);
        expect({ flag, viewer: v, enabled: explanation.enabled }).toEqual({ flag, viewer: v, enabled: request.isEnabled(flag) });
        expect({ flag, viewer: v, variant: explanation.variant.name }).toEqual({ flag, viewer: v, variant: request.variant(flag).name });
        expect(explanation.random).toBe(false);
        const reasons = seen.get(flag) ?? new Set();
        reasons.add(`${explanation.reason}:${explanation.enabled}`);
        seen.set(flag, reasons);
      }
    }
    // The loop really reached both outcomes of every flag that has two.
    const expected: Record<string, string[]> = {
      'canary.plus-modern-apps': ['no-strategy-matched:false', 'strategy-matched:true'],
      'qa.allow-list': ['no-strategy-matched:false', 'strategy-matched:true'],
      'vip-anywhere': ['no-strategy-matched:false', 'strategy-matched:true'],
      'whitelist-then-canary': ['no-strategy-matched:false', 'strategy-matched:true'],
      'child-of-canary': ['dependency-not-satisfied:false', 'strategy-matched:true'],
      everyone: ['strategy-matched:true'],
      'switched-off': ['disabled-in-environment:false'],
      'no-such-flag': ['not-found:false'],
    };
    for (const [flag, reasons] of Object.entries(expected)) expect([...(seen.get(flag) ?? [])].sort(), flag).toEqual(reasons);
  });
});

describe('explain says why', () => {
  it('says a flag does not exist', () => {
    const explanation = service.explain('no-such-flag', viewer());
    expect(explanation).toMatchObject({ enabled: false, reason: 'not-found', summary: 'off: no flag named "no-such-flag" is defined' });
  });

  it('says a flag is disabled in this environment', () => {
    expect(service.explain('switched-off', viewer())).toMatchObject({
      enabled: false,
      reason: 'disabled-in-environment',
      summary: 'off: the flag is disabled in this environment',
    });
  });

  it('names the strategy that turned the flag on, by name and index', () => {
    const explanation = service.explain('whitelist-then-canary', viewer({ userId: 'qa-alice' }));
    expect(explanation).toMatchObject({ enabled: true, reason: 'strategy-matched', matched: { index: 0, name: 'userWithId' } });
    expect(explanation.summary).toBe('on: strategy #0 (userWithId) matched — user "qa-alice" is in the allow-list');
  });

  it('shows each failing constraint with its operator, values and the context value', () => {
    const explanation = service.explain('canary.plus-modern-apps', viewer({ segments: ['regular'], platform: 'web', appVersion: '11.9.0' }));
    expect(explanation.reason).toBe('no-strategy-matched');
    expect(explanation.strategies).toHaveLength(1);
    const misses = explanation.strategies[0]?.misses ?? [];
    expect(misses).toEqual([
      expect.objectContaining({ kind: 'constraint', contextName: 'segment', operator: 'IN', values: ['plus'], contextValue: 'regular' }),
      expect.objectContaining({ kind: 'constraint', contextName: 'platform', operator: 'NOT_IN', values: ['web'], contextValue: 'web' }),
      expect.objectContaining({ kind: 'constraint', contextName: 'appVersion', operator: 'SEMVER_GTE', value: '12.0.0', contextValue: '11.9.0' }),
    ]);
    expect(misses[0]?.message).toBe('constraint segment IN [plus] failed: the context has "regular"');
    expect(service.explain('canary.plus-modern-apps', viewer({ segments: [] })).strategies[0]?.misses[0]?.message).toBe(
      'constraint segment IN [plus] failed: the context has no segment',
    );
  });

  it('marks a constraint case-insensitive only where Unleash ignores case: not on IN, whatever its caseInsensitive says', () => {
    const explanation = service.explain('new-customers', viewer({ segments: ['new'] }));
    expect(explanation.enabled).toBe(false);
    expect(explanation.strategies.map((s) => s.misses[0]?.message)).toEqual([
      'constraint segment IN [New] failed: the context has "new"',
      'constraint segment STR_STARTS_WITH (case-insensitive) [VIP] failed: the context has "new"',
    ]);
    expect(explanation.strategies.map((s) => s.misses[0]).map((m) => m?.kind === 'constraint' && m.caseInsensitive)).toEqual([false, true]);
    expect(service.explain('new-customers', viewer({ segments: ['vip-gold'] })).enabled).toBe(true);
  });

  it('says the user is not in the first N % when only the rollout stands in the way', () => {
    const outside = Array.from({ length: 200 }, (_, i) => viewer({ userId: `user-${i}`, segments: ['plus'] })).find(
      (v) => !service.evaluate(v).isEnabled('canary.plus-modern-apps'),
    ) as Viewer;
    const explanation = service.explain('canary.plus-modern-apps', outside);
    const miss = explanation.strategies[0]?.misses[0];
    expect(miss).toMatchObject({ kind: 'rollout', percentage: 30, stickiness: 'userId', groupId: 'canary.plus-modern-apps' });
    expect(miss?.message).toMatch(/^rollout: user not in the first 30 % \(bucket (3[1-9]|[4-9]\d|100) of 100 by userId\)$/);
  });

  it('says the user is not in the allow-list', () => {
    const explanation = service.explain('qa.allow-list', viewer({ userId: 'user-9' }));
    expect(explanation.strategies[0]?.misses).toEqual([{ kind: 'allow-list', userId: 'user-9', message: 'user "user-9" is not in the allow-list' }]);
  });

  it('explains every strategy of an off flag, including a stickiness the context lacks', () => {
    const off = Array.from({ length: 200 }, (_, i) => viewer({ userId: `user-${i}`, sessionId: null })).find(
      (v) => !service.evaluate(v).isEnabled('whitelist-then-canary'),
    ) as Viewer;
    const explanation = service.explain('whitelist-then-canary', off);
    expect(explanation.strategies.map((s) => [s.index, s.name, s.misses[0]?.kind])).toEqual([
      [0, 'userWithId', 'allow-list'],
      [1, 'flexibleRollout', 'rollout'],
      [2, 'gradualRolloutUserId', 'rollout'],
    ]);
    expect(explanation.strategies[1]?.misses[0]?.message).toBe('rollout: the context has no sessionId to stick to, so nobody is in the rollout');
    expect(explanation.strategies[2]?.misses[0]?.message).toMatch(/^rollout: user not in the first 5 % \(bucket \d+ of 100 by userId\)$/);
  });

  it('says which parent dependency is not satisfied', () => {
    const explanation = service.explain('child-of-canary', viewer({ segments: ['regular'] }));
    expect(explanation).toMatchObject({ enabled: false, reason: 'dependency-not-satisfied' });
    expect(explanation.summary).toBe('off: it requires "canary.plus-modern-apps" on, but it is off');
  });

  it('reports the variant a strategy assigns ahead of the flag-level variants', () => {
    const ios = service.explain('layout.with-variants', viewer({ platform: 'ios' }));
    expect(['ios-a', 'ios-b']).toContain(ios.variant.name);
    const android = service.explain('layout.with-variants', viewer({ platform: 'android' }));
    expect(android).toMatchObject({ enabled: true, matched: { index: 1, name: 'default' } });
    expect(['default', 'compact']).toContain(android.variant.name);
  });

  it('explains the shipped kill switches as disabled in this environment', async () => {
    const shipped = await FlagService.start(flagsConfig(), createLogger('silent'), { root: ROOT });
    try {
      expect(shipped.explain('floorplan.kill.promotion', viewer()).reason).toBe('disabled-in-environment');
      expect(shipped.explain('floor.free-shipping-notice', viewer()).summary).toMatch(
        /^on: strategy #0 \(flexibleRollout\) matched — the user is in the first 100 % \(bucket \d+ of 100 by userId\)$/,
      );
    } finally {
      await shipped.stop();
    }
  });
});
