import { describe, expect, it } from 'vitest';
import { candidateFlagDefinition, candidateFlagName, inCandidateRollout } from '../../src/flags/candidate-rollout.ts';
import { explainFlag } from '../../src/flags/explain.ts';
import { unleashContextOf } from '../../src/flags/request-flags.ts';
import { candidateRolloutInputSchema, DEFAULT_ROLLOUT, rolloutChangeSchema, type CandidateRollout } from '../../src/layouts/revisions/candidates.ts';

const SCENE = 'cart-bottom-sheet';
const rollout = (r: Partial<CandidateRollout>): CandidateRollout => ({ ...DEFAULT_ROLLOUT, ...r });
const viewer = (userId: string, properties: Record<string, string> = { platform: 'ios' }) => ({ userId, appName: 'floorplan', properties });
const users = Array.from({ length: 2000 }, (_, i) => `user-${i}`);
const share = (r: CandidateRollout) => users.filter((u) => inCandidateRollout(candidateFlagDefinition(SCENE, r), viewer(u))).length / users.length;

describe('who gets a layout candidate (flag layout.candidate.<scene>)', () => {
  it('is named after its scene', () => {
    expect(candidateFlagName(SCENE)).toBe('layout.candidate.cart-bottom-sheet');
  });

  it('serves nobody by default, and the allow-list whatever the constraints say', () => {
    expect(share(DEFAULT_ROLLOUT)).toBe(0);
    const allowListed = candidateFlagDefinition(SCENE, rollout({ allowList: ['u1001'], platforms: ['android'] }));
    expect(inCandidateRollout(allowListed, viewer('u1001', { platform: 'ios' }))).toBe(true);
    expect(inCandidateRollout(allowListed, viewer('u1002'))).toBe(false);
  });

  it('serves about the percentage asked, stably: raising it keeps everyone already in', () => {
    expect(share(rollout({ percentage: 10 }))).toBeGreaterThan(0.07);
    expect(share(rollout({ percentage: 10 })).toFixed(2)).toBe(share(rollout({ percentage: 10 })).toFixed(2));
    const at10 = users.filter((u) => inCandidateRollout(candidateFlagDefinition(SCENE, rollout({ percentage: 10 })), viewer(u)));
    const at30 = new Set(users.filter((u) => inCandidateRollout(candidateFlagDefinition(SCENE, rollout({ percentage: 30 })), viewer(u))));
    expect(at10.every((u) => at30.has(u))).toBe(true);
    expect(share(rollout({ percentage: 100 }))).toBe(1);
  });

  it('counts a viewer in a segment whichever of its segments it is: a PLUS member listed first as a student is in an "only plus" canary', () => {
    const of = (userId: string, segments: string[]) =>
      unleashContextOf({ userId, segments, platform: 'ios', appVersion: null, locale: 'zh-CN', sessionId: null }, 'floorplan');
    const onlyPlus = candidateFlagDefinition(SCENE, rollout({ percentage: 100, segments: ['plus'] }));
    expect(inCandidateRollout(onlyPlus, of('a', ['plus']))).toBe(true);
    expect(inCandidateRollout(onlyPlus, of('a', ['student', 'plus']))).toBe(true);
    expect(inCandidateRollout(onlyPlus, of('a', ['student', 'new']))).toBe(false);
    expect(inCandidateRollout(onlyPlus, of('a', []))).toBe(false);
    // The share is by user id whatever the segment it is in by: the same users at 30 %.
    const at30 = candidateFlagDefinition(SCENE, rollout({ percentage: 30, segments: ['plus'] }));
    const inAsPlus = users.filter((u) => inCandidateRollout(at30, of(u, ['plus'])));
    expect(inAsPlus.length).toBeGreaterThan(0);
    expect(users.filter((u) => inCandidateRollout(at30, of(u, ['student', 'plus'])))).toEqual(inAsPlus);
  });

  it('takes whole percentages only: Unleash buckets users by whole per cent, so 0.5 % would reach nobody', () => {
    // The bucket a user falls in is 1–100: at 0.5 % nobody, at 1 % about one in a hundred.
    expect(share(rollout({ percentage: 0.5 }))).toBe(0);
    expect(share(rollout({ percentage: 1 }))).toBeGreaterThan(0);
    for (const schema of [candidateRolloutInputSchema, rolloutChangeSchema]) {
      const refused = schema.safeParse({ percentage: 0.5 });
      expect(refused.success).toBe(false);
      expect(refused.error?.issues[0]?.message).toBe('must be a whole number of per cent (Unleash buckets users by whole per cent), but got: 0.5');
      expect(schema.parse({ percentage: 7 }).percentage).toBe(7);
    }
  });

  it('applies segments, platforms and the minimum app version to the percentage', () => {
    const definition = candidateFlagDefinition(SCENE, rollout({ percentage: 100, segments: ['plus'], platforms: ['ios'], minAppVersion: '12.0.0' }));
    expect(inCandidateRollout(definition, viewer('a', { platform: 'ios', segment: 'plus', appVersion: '12.1.0' }))).toBe(true);
    expect(inCandidateRollout(definition, viewer('a', { platform: 'android', segment: 'plus', appVersion: '12.1.0' }))).toBe(false);
    expect(inCandidateRollout(definition, viewer('a', { platform: 'ios', segment: 'basic', appVersion: '12.1.0' }))).toBe(false);
    expect(inCandidateRollout(definition, viewer('a', { platform: 'ios', segment: 'plus', appVersion: '11.9.0' }))).toBe(false);
    expect(inCandidateRollout(definition, viewer('a', { platform: 'ios', segment: 'plus' }))).toBe(false);
  });

  it('decides exactly as unleash-client would for the same definition, for a viewer with one segment or none', () => {
    const definition = candidateFlagDefinition(SCENE, rollout({ allowList: ['vip'], percentage: 25, platforms: ['ios'] }));
    const definitions = { getFeatureToggleDefinition: () => definition, getFeatureToggleDefinitions: () => [definition] as never };
    for (const user of [...users.slice(0, 200), 'vip']) {
      const context = { environment: 'default', ...viewer(user) };
      expect(inCandidateRollout(definition, context)).toBe(explainFlag(definitions as never, definition.name, context).enabled);
    }
  });
});
