import { describe, expect, it } from 'vitest';
import { loyaltyPoints } from '../../../src/floors/builders/loyalty-points.ts';
import { buildContext, fakePanelData, loyaltyFixture } from './fixtures.ts';

describe('loyalty-points builder (积分)', () => {
  it('shows the points this order earns and the balance, as text with no amount', () => {
    const { data } = fakePanelData();
    expect(loyaltyPoints.build(buildContext(data))).toEqual({ amount: null, vars: { earns: 40, balance: 2480 } });
    // Points are not money: the row must take no part in the payable total.
    expect(loyaltyPoints.kind).toBe('TEXT');
  });

  it('leaves the row out when the order earns no points, whatever the balance', () => {
    const { data } = fakePanelData({ loyalty: loyaltyFixture({ earns: 0 }) });
    expect(loyaltyPoints.build(buildContext(data))).toBeNull();
  });

  it('shows the row for a member with no balance yet who earns on this order', () => {
    const { data } = fakePanelData({ loyalty: loyaltyFixture({ balance: 0, earns: 12, usable: { points: 0, value: { minor: 0, currency: 'CNY' } } }) });
    expect(loyaltyPoints.build(buildContext(data))).toEqual({ amount: null, vars: { earns: 12, balance: 0 } });
  });

  it('reads only loyalty, and never the usable points settlement does not apply', () => {
    const { data, calls } = fakePanelData();
    const facts = loyaltyPoints.build(buildContext(data));
    expect(calls).toEqual(['loyalty']);
    expect(Object.keys(facts?.vars ?? {})).toEqual(['earns', 'balance']);
  });
});
