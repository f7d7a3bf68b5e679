/**
 * Rollouts, allow-lists and variants as operators set them up, evaluated end to end: a flags
 * file, the FlagService, the real unleash-client, per-request RequestFlags.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlagService } from '../../src/flags/flag-service.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { exportFile, flagsConfig, ROOT, tempFlagsDir, viewer } from './support.ts';

const USERS = 4_000;
const ROLLOUT = 'floor.plus-canary';
const ALLOW_LIST = 'floor.allow-list-first';
const LAYOUT = 'layout.cart-bottom-sheet';

const flags = exportFile([
  {
    name: ROLLOUT,
    enabled: true,
    strategies: [
      {
        name: 'flexibleRollout',
        parameters: { rollout: '10', stickiness: 'userId', groupId: ROLLOUT },
        constraints: [{ contextName: 'segment', operator: 'IN', values: ['plus'] }],
      },
    ],
  },
  {
    // Whitelist first, then the canary: Unleash 7 has no userWithId strategy, so the allow-list is a
    // full rollout restricted by a userId constraint, next to the percentage rollout still at 0 %.
    name: ALLOW_LIST,
    enabled: true,
    strategies: [
      {
        name: 'flexibleRollout',
        parameters: { rollout: '100', stickiness: 'userId', groupId: ALLOW_LIST },
        constraints: [{ contextName: 'userId', operator: 'IN', values: ['qa-alice', 'qa-bob'] }],
      },
      { name: 'flexibleRollout', parameters: { rollout: '0', stickiness: 'userId', groupId: ALLOW_LIST } },
    ],
  },
  {
    name: LAYOUT,
    enabled: true,
    strategies: [{ name: 'default' }],
    variants: [
      { name: 'default', weight: 500, weightType: 'variable', stickiness: 'userId', overrides: [] },
      { name: 'compact', weight: 500, weightType: 'variable', stickiness: 'userId', overrides: [] },
    ],
  },
]);

/** The same allow-list with the classic userWithId strategy, as a copy of /api/client/features from an older Unleash. */
const classicAllowList = {
  version: 2,
  features: [
    {
      name: ALLOW_LIST,
      enabled: true,
      strategies: [
        { name: 'userWithId', parameters: { userIds: 'qa-alice, qa-bob' }, constraints: [] },
        { name: 'flexibleRollout', parameters: { rollout: '0', stickiness: 'userId', groupId: ALLOW_LIST }, constraints: [] },
      ],
      variants: [],
    },
  ],
};

let service: FlagService;
let classic: FlagService;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  const temp = await tempFlagsDir();
  const classicTemp = await tempFlagsDir();
  await temp.write(flags);
  await classicTemp.write(classicAllowList);
  service = await FlagService.start(flagsConfig({ bootstrapFile: temp.file }), createLogger('silent'));
  classic = await FlagService.start(flagsConfig({ bootstrapFile: classicTemp.file }), createLogger('silent'));
  cleanup = async () => {
    await service.stop();
    await classic.stop();
    await temp.remove();
    await classicTemp.remove();
  };
});
afterAll(() => cleanup());

function plusUser(i: number) {
  return viewer({ userId: `user-${i}`, segments: ['plus', 'student'] });
}

describe('a 10 % flexibleRollout restricted to segment IN [plus]', () => {
  it('reaches 10 % ± 2.5 % of 4,000 PLUS users and none of 4,000 others', () => {
    let plusOn = 0;
    let othersOn = 0;
    for (let i = 0; i < USERS; i++) {
      if (service.evaluate(plusUser(i)).isEnabled(ROLLOUT)) plusOn++;
      if (service.evaluate(viewer({ userId: `user-${i}`, segments: i % 2 ? ['regular'] : [] })).isEnabled(ROLLOUT)) othersOn++;
    }
    expect(plusOn / USERS).toBeGreaterThanOrEqual(0.075);
    expect(plusOn / USERS).toBeLessThanOrEqual(0.125);
    expect(othersOn).toBe(0);
  });

  it('gives each user the same answer on every request (userId stickiness)', () => {
    for (let i = 0; i < USERS; i++) {
      const first = service.evaluate(plusUser(i)).isEnabled(ROLLOUT);
      expect(service.evaluate(plusUser(i)).isEnabled(ROLLOUT)).toBe(first);
      // Same user, other sessions and platforms: still the same answer.
      expect(service.evaluate({ ...plusUser(i), sessionId: `s-${i}`, platform: 'android' }).isEnabled(ROLLOUT)).toBe(first);
    }
  });

  it('matches only on the first segment: a PLUS member whose first segment is another is not in it', () => {
    const enabledAsPlus = Array.from({ length: USERS }, (_, i) => i).filter((i) => service.evaluate(plusUser(i)).isEnabled(ROLLOUT));
    expect(enabledAsPlus.length).toBeGreaterThan(0);
    for (const i of enabledAsPlus) {
      expect(service.evaluate(viewer({ userId: `user-${i}`, segments: ['student', 'plus'] })).isEnabled(ROLLOUT)).toBe(false);
    }
  });
});

describe('an allow-list ahead of a rollout at 0 %', () => {
  for (const [label, getService] of [
    ['as a userId IN constraint (Unleash 7)', () => service],
    ['as the classic userWithId strategy', () => classic],
  ] as const) {
    it(`turns the flag on for the listed users only, ${label}`, () => {
      const flagService = getService();
      expect(flagService.evaluate(viewer({ userId: 'qa-alice' })).isEnabled(ALLOW_LIST)).toBe(true);
      expect(flagService.evaluate(viewer({ userId: 'qa-bob', segments: ['plus'] })).isEnabled(ALLOW_LIST)).toBe(true);
      let others = 0;
      for (let i = 0; i < 1_000; i++) if (flagService.evaluate(viewer({ userId: `user-${i}` })).isEnabled(ALLOW_LIST)) others++;
      expect(others).toBe(0);
      expect(flagService.evaluate(viewer({ userId: 'qa-alice-2' })).isEnabled(ALLOW_LIST)).toBe(false);
    });
  }
});

describe('layout variants', () => {
  it('give each user the same layout on every request, split about evenly at 500/500', () => {
    const counts = { default: 0, compact: 0 } as Record<string, number>;
    for (let i = 0; i < USERS; i++) {
      const picked = service.evaluate(viewer({ userId: `user-${i}` })).variant(LAYOUT).name;
      counts[picked] = (counts[picked] ?? 0) + 1;
      expect(service.evaluate(viewer({ userId: `user-${i}`, sessionId: 'another-session' })).variant(LAYOUT).name).toBe(picked);
    }
    expect(Object.keys(counts).sort()).toEqual(['compact', 'default']);
    expect((counts.compact as number) / USERS).toBeGreaterThan(0.45);
    expect((counts.compact as number) / USERS).toBeLessThan(0.55);
  });

  it('keeps every user on "default" with the shipped weights 1000/0', async () => {
    const shipped = await FlagService.start(flagsConfig(), createLogger('silent'), { root: ROOT });
    try {
      for (let i = 0; i < USERS; i++) expect(shipped.evaluate(viewer({ userId: `user-${i}` })).variant(LAYOUT).name).toBe('default');
    } finally {
      await shipped.stop();
    }
  });
});

describe('kill switches', () => {
  it('are evaluated like any other flag, by prefix and upstream name', async () => {
    const shipped = await FlagService.start(flagsConfig(), createLogger('silent'), { root: ROOT });
    try {
      const request = shipped.evaluate(viewer());
      const prefix = flagsConfig().killFlagPrefix;
      expect(['cart', 'promotion', 'settlement'].filter((upstream) => request.isEnabled(`${prefix}${upstream}`))).toEqual([]);
      expect(request.decisions().map((d) => d.flag)).toEqual(['floorplan.kill.cart', 'floorplan.kill.promotion', 'floorplan.kill.settlement']);
    } finally {
      await shipped.stop();
    }
  });
});
