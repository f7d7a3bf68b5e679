/**
 * The console's rollout wording (src/console/assets/rollout-words.js), without a browser: what the
 * "Change rollout…" confirmation says about who starts and who stops getting a candidate, for each
 * combination of the percentage before and after and constraints let in or left out.
 */
import { describe, expect, it } from 'vitest';
import { rolloutChanges, whom, type RolloutWords } from '../../src/console/assets/rollout-words.js';

const rollout = (change: Partial<RolloutWords>): RolloutWords => ({ allowList: [], percentage: 0, segments: [], platforms: [], minAppVersion: null, ...change });

describe('who a rollout change starts and stops serving the candidate', () => {
  it('starts only the new percentage of the segment when the percentage leaves 0 % with a segment: nobody was in it to go back', () => {
    const before = rollout({ allowList: ['u1001'] });
    const after = rollout({ allowList: ['u1001'], percentage: 10, segments: ['plus'] });
    expect(whom(after)).toBe('the allow-listed user u1001 and 10 % of other users by a stable hash of the user id (only segments plus)');
    expect(rolloutChanges(before, after)).toEqual(['10 % of other users in segment plus start getting it.']);
  });

  it('changes nobody when only the constraints change at 0 %', () => {
    expect(rolloutChanges(rollout({ allowList: ['u1001'] }), rollout({ allowList: ['u1001'], segments: ['plus'], platforms: ['ios'], minAppVersion: '12.0.0' }))).toEqual([]);
  });

  it('sends back, within an unchanged percentage, the users a new segment leaves out', () => {
    expect(rolloutChanges(rollout({ percentage: 10 }), rollout({ percentage: 10, segments: ['plus'] }))).toEqual([
      'Within the first 10 %, users who are not in segment plus go back to the live layout.',
    ]);
  });

  it('says who several new segments leave out as those in none of them, as the server matches a user by any of its segments', () => {
    expect(rolloutChanges(rollout({ percentage: 10 }), rollout({ percentage: 10, segments: ['plus', 'student'] }))).toEqual([
      'Within the first 10 %, users who are in none of segments plus, student go back to the live layout.',
    ]);
  });

  it('says who a new platform leaves out at 100 % without a share to be within', () => {
    expect(rolloutChanges(rollout({ allowList: ['u-vip'], percentage: 100 }), rollout({ allowList: ['u-vip'], percentage: 100, platforms: ['ios'] }))).toEqual([
      'Other users who are on a platform outside ios go back to the live layout.',
    ]);
  });

  it('starts the users a wider percentage adds among everyone, and those of the old share a dropped segment let in', () => {
    expect(rolloutChanges(rollout({ percentage: 10, segments: ['plus'] }), rollout({ percentage: 20 }))).toEqual([
      'Another 10 % of users start getting it (those already in keep it).',
      'Within the first 10 %, users who are not in segment plus start getting it.',
    ]);
  });

  it('does not say those already in keep it when a wider percentage comes with a narrower segment', () => {
    expect(rolloutChanges(rollout({ percentage: 10 }), rollout({ percentage: 20, segments: ['plus'] }))).toEqual([
      'Another 10 % of users in segment plus start getting it.',
      'Within the first 10 %, users who are not in segment plus go back to the live layout.',
    ]);
  });

  it('sends back the share a lower percentage drops, among whom it counted, and those of the rest a new segment leaves out', () => {
    expect(rolloutChanges(rollout({ percentage: 20 }), rollout({ percentage: 10, segments: ['plus'] }))).toEqual([
      '10 % of users go back to the live layout (those past the first 10 %).',
      'Within the first 10 %, users who are not in segment plus go back to the live layout.',
    ]);
  });

  it('sends back everyone the percentage reached when it goes to 0 %, whatever the new constraints', () => {
    expect(rolloutChanges(rollout({ allowList: ['u1001'], percentage: 10, segments: ['plus'] }), rollout({ allowList: ['u1001'], platforms: ['ios'] }))).toEqual([
      'The 10 % of other users in segment plus who get it go back to the live layout.',
    ]);
  });

  it('starts, within the share, the users on a platform added to the list', () => {
    expect(rolloutChanges(rollout({ percentage: 10, platforms: ['ios'] }), rollout({ percentage: 30, platforms: ['ios', 'android'] }))).toEqual([
      'Another 20 % of users on platforms ios, android start getting it (those already in keep it).',
      'Within the first 10 %, users on platforms ios, android who are on a platform outside ios start getting it.',
    ]);
  });

  it('words an oldest app version added, lowered and raised, counting a client that does not say its version as outside one', () => {
    expect(rolloutChanges(rollout({ percentage: 10 }), rollout({ percentage: 10, minAppVersion: '12.0.0' }))).toEqual([
      'Within the first 10 %, users who are on an app older than 12.0.0 or one that does not say its version go back to the live layout.',
    ]);
    expect(rolloutChanges(rollout({ percentage: 10, minAppVersion: '12.0.0' }), rollout({ percentage: 10, minAppVersion: '11.4.0' }))).toEqual([
      'Within the first 10 %, users with app ≥ 11.4.0 who are on an app older than 12.0.0 start getting it.',
    ]);
    expect(rolloutChanges(rollout({ percentage: 10, minAppVersion: '12.0.0-beta.1' }), rollout({ percentage: 10, minAppVersion: '12.0.0' }))).toEqual([
      'Within the first 10 %, users with app ≥ 12.0.0-beta.1 who are on an app older than 12.0.0 go back to the live layout.',
    ]);
    expect(rolloutChanges(rollout({ percentage: 10, minAppVersion: '12.0.0' }), rollout({ percentage: 10, minAppVersion: null }))).toEqual([
      'Within the first 10 %, users who are on an app older than 12.0.0 or one that does not say its version start getting it.',
    ]);
  });

  it('orders pre-release versions as semver does: numeric identifiers by number, below alphanumeric ones', () => {
    // 'beta.10' < 'beta.2' as strings; by semver, beta.10 is the later build, so this is a raise.
    expect(rolloutChanges(rollout({ percentage: 10, minAppVersion: '12.0.0-beta.2' }), rollout({ percentage: 10, minAppVersion: '12.0.0-beta.10' }))).toEqual([
      'Within the first 10 %, users with app ≥ 12.0.0-beta.2 who are on an app older than 12.0.0-beta.10 go back to the live layout.',
    ]);
    // A numeric identifier comes before an alphanumeric one (1 < alpha), and a shorter set before a longer one it begins.
    expect(rolloutChanges(rollout({ percentage: 10, minAppVersion: '12.0.0-alpha' }), rollout({ percentage: 10, minAppVersion: '12.0.0-1' }))).toEqual([
      'Within the first 10 %, users with app ≥ 12.0.0-1 who are on an app older than 12.0.0-alpha start getting it.',
    ]);
    expect(rolloutChanges(rollout({ percentage: 10, minAppVersion: '12.0.0-rc' }), rollout({ percentage: 10, minAppVersion: '12.0.0-rc.1' }))).toEqual([
      'Within the first 10 %, users with app ≥ 12.0.0-rc who are on an app older than 12.0.0-rc.1 go back to the live layout.',
    ]);
  });

  it('names the allow-listed users added and removed, a removed one staying if the percentage selects them', () => {
    expect(rolloutChanges(rollout({ allowList: ['u1001', 'u2002'], percentage: 5 }), rollout({ allowList: ['u1001', 'u3003'], percentage: 5 }))).toEqual([
      'u3003 starts getting the candidate.',
      'u2002 goes back to the live layout, unless the percentage selects them.',
    ]);
    expect(rolloutChanges(rollout({ allowList: ['u2002'] }), rollout({}))).toEqual(['u2002 goes back to the live layout.']);
  });

  it('reads a rollout whose constraints are left out as any', () => {
    expect(rolloutChanges({ allowList: [], percentage: 10 }, { allowList: [], percentage: 10, segments: ['plus'] })).toEqual([
      'Within the first 10 %, users who are not in segment plus go back to the live layout.',
    ]);
    expect(whom({ allowList: [], percentage: 0 })).toBe('nobody yet (an empty allow-list and 0 %)');
  });
});
