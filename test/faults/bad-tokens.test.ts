import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DemoTokenOptions } from '../../src/viewer/demo-token.ts';
import { PANEL_QUERY, startHarness, type Harness } from '../support/harness.ts';
import { expectAlive, measureWithin, timedPost } from '../support/measure.ts';
import { callCounts } from '../support/upstream-fakes.ts';

const DEADLINE_MS = 250;

describe('bad bearer tokens', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ config: { limits: { requestDeadlineMs: DEADLINE_MS } } });
  });
  afterAll(() => h.close());
  beforeEach(() => h.demo.resetCalls());

  const CASES: ReadonlyArray<[name: string, options: Omit<DemoTokenOptions, 'userId'>, reason: RegExp]> = [
    ['a forged token (signed with another secret)', { secret: 'an-attacker-secret-that-is-long-enough-123' }, /signature/],
    ['an expired token', { ttlSeconds: -60 }, /expired/],
    ['a token for another audience', { audience: 'some-other-service' }, /"aud"/],
  ];

  for (const [name, options, reason] of CASES) {
    it(`refuses ${name} with 401 UNAUTHENTICATED, no data and no upstream call, at once`, async () => {
      // The victim's id in the token: a bad token must not get anyone's data.
      const token = await h.token('u-basic', options);
      const { runs, medianMs } = await measureWithin(
        () => timedPost(h.url, { query: PANEL_QUERY, variables: { scene: 'cart-bottom-sheet' } }, { authorization: `Bearer ${token}` }),
        DEADLINE_MS + 20,
      );
      for (const run of runs) {
        expect(run.status).toBe(401);
        expect(run.headers.get('www-authenticate')).toBe('Bearer');
        expect(run.body.data).toBeUndefined();
        expect(run.body.errors).toHaveLength(1);
        expect(run.body.errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
        expect(run.body.errors![0]!.message).toMatch(reason);
      }
      expect(h.demo.calls()).toEqual(callCounts({ cart: 0, promotion: 0, settlement: 0, loyalty: 0 }));
      expect(medianMs).toBeLessThan(DEADLINE_MS + 20);
      await expectAlive(h.url);
    });
  }
});
