/**
 * The decision record (README, "Decision record") says what amounts the user was shown: a
 * shopper who disputes "the sheet said ¥8.86" is answered from the record, not from a replay
 * that shows today's cart and today's quote.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.ts';
import { loggerInto } from '../support/log-lines.ts';
import { eventually } from '../support/measure.ts';

type Row = { code: string; kind: string; amount: { minor: number; currency: string } | null };
const QUERY = '{ floorPanel(scene: $scene) { decisionId floors { code kind amount { minor currency } } } }'.replace('$scene', '"SCENE"');

describe('the decision record of a panel', () => {
  let h: Harness;
  const lines: Array<Record<string, unknown>> = [];

  /** The floors `userId` was answered for `scene`, and the decision record's entry for that panel. */
  const recorded = async (userId: string, scene = 'cart-bottom-sheet') => {
    const res = await h.graphql<{ floorPanel: { decisionId: string; floors: Row[] } }>(userId, QUERY.replace('SCENE', scene));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const { decisionId, floors } = res.body.data!.floorPanel;
    const record = await eventually(
      async () => lines.find((l) => l.decisionId === decisionId && l.msg === 'panel decisions'),
      (l) => l !== undefined,
    );
    return { floors, panel: (record!.panels as Array<Record<string, unknown>>)[0]! };
  };

  beforeAll(async () => {
    h = await startHarness({ deps: { logger: loggerInto(lines, 'info') } });
  });
  afterAll(() => h?.close());
  afterEach(() => h.demo.setFaults(''));

  it('records the amount of every row shown, in minor units, and the currency', async () => {
    const { floors, panel } = await recorded('u1001');
    expect(panel.currency).toBe('CNY');
    expect(panel.amounts).toEqual(Object.fromEntries(floors.map((f) => [f.code, f.amount!.minor])));
    expect(panel.amounts).toMatchObject({ spze: 2090, lj: -500, coupon: -600, plus95: -104, shipping: 0, 'plus-rebate': 8, payable: 886 });
  });

  it('records the rows of a degraded sheet as they were shown: settlement down, the cart total alone', async () => {
    h.demo.setFaults('settlement:error:503');
    const { floors, panel } = await recorded('u1001');
    expect(floors.map((f) => f.code)).toEqual(['spze']);
    expect(panel).toMatchObject({ degraded: true, currency: 'CNY', amounts: { spze: 2090 } });
    expect(panel.amounts).not.toHaveProperty('payable');
  });

  it('leaves text rows out of the amounts: they showed no money', async () => {
    const { floors, panel } = await recorded('u-new', 'checkout-summary');
    const text = floors.filter((f) => f.amount === null).map((f) => f.code);
    expect(text).toEqual(['free-shipping-notice']);
    expect(panel.floors).toContain('free-shipping-notice');
    expect(Object.keys(panel.amounts as object)).toEqual(floors.filter((f) => f.amount !== null).map((f) => f.code));
  });
});
