/**
 * The fault matrix, through real HTTP: every demo user × every upstream × every DEMO_FAULTS
 * mode × both scenes. Whatever fails, every served panel adds up (or has no total) and says
 * why it is degraded; a merely slow upstream degrades nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_USER_IDS } from '../../src/demo-upstreams/data.ts';
import { UPSTREAMS } from '../../src/upstreams/contracts.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { invariantProblems, type InvariantPanel } from '../support/panel-invariant.ts';

const QUERY = /* GraphQL */ `
  query Matrix($scene: String!) {
    floorPanel(scene: $scene) {
      degraded failedUpstreams degradedReasons
      floors { code kind priceText amount { minor currency } subName }
    }
  }
`;
/**
 * The named fixtures (u-new among them: a new customer, whose 新人立减 row is an expression
 * floor) and three generated carts (a PLUS member's, a new customer's).
 */
const USERS = [...FIXTURE_USER_IDS, 'gen-matrix-1', 'plus-matrix-2', 'new-matrix-3'];
const MODES = ['latency:20', 'error:503', 'hang', 'malformed', 'reset'];
const SCENES = ['cart-bottom-sheet', 'checkout-summary'];

describe('fault matrix: every demo user × upstream × fault mode, through real HTTP', () => {
  let h: Harness;
  beforeAll(async () => {
    // Breakers judge rates; here every fault must be seen as itself, call after call.
    const quick = { timeoutMs: 500, breakerMinimumCalls: 100_000, retries: 0 };
    // Sixteen requests at once at a cold server: admission control would rightly shed some
    // (test/faults/burst.test.ts covers that); here every panel must be served and checked.
    h = await startHarness({ config: { server: { admission: { enabled: false } }, upstreams: { cart: quick, promotion: quick, settlement: quick } } });
  });
  afterAll(() => h.close());

  for (const upstream of UPSTREAMS) {
    for (const mode of MODES) {
      it(`${upstream}:${mode} — every panel adds up or says why`, async () => {
        h.demo.setFaults(`${upstream}:${mode}`);
        const answers = await Promise.all(
          USERS.flatMap((user) =>
            SCENES.map(async (scene) => {
              const res = await h.graphql<{ floorPanel: InvariantPanel }>(user, QUERY, { scene });
              return { user, scene, res };
            }),
          ),
        );
        for (const { user, scene, res } of answers) {
          const where = `${user} ${scene} ${upstream}:${mode}`;
          expect(res.status, where).toBe(200);
          expect(res.body.errors, where).toBeUndefined();
          const panel = res.body.data!.floorPanel;
          expect(invariantProblems(panel), `${where}: ${JSON.stringify(panel)}`).toEqual([]);
          if (mode.startsWith('latency')) expect(panel.degraded, where).toBe(false);
          else if (panel.degraded) expect(panel.failedUpstreams, where).toEqual([upstream.toUpperCase()]);
        }
        h.demo.setFaults('');
      });
    }
  }
});
