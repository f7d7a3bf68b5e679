import { describe, expect, it } from 'vitest';
import { keepsInvariant, moneyInvariant } from '../../src/panels/money-invariant.ts';
import type { RenderedFloor, RenderedPanel } from '../../src/panels/panel.ts';

const floor = (code: string, minor: number, kind: RenderedFloor['kind'], currency = 'CNY'): RenderedFloor => ({ code, name: code, priceText: String(minor), amount: { minor, currency }, subName: null, style: [], sort: 0, kind });
const panel = (floors: RenderedFloor[], degradedReasons: RenderedPanel['degradedReasons'] = []) => ({ degradedReasons, floors });

describe('moneyInvariant', () => {
  it('adds the rows up by kind and compares the total with the payable row', () => {
    expect(moneyInvariant(panel([floor('g', 2090, 'GOODS'), floor('d', -1204, 'DEDUCTION'), floor('s', 0, 'CHARGE'), floor('p', 886, 'PAYABLE')]))).toEqual({
      holds: true,
      goods: '2090',
      deductions: '-1204',
      charges: '0',
      total: '886',
      payable: '886',
      currency: 'CNY',
      summary: '2090 + (-1204) + 0 = 886 = 886 (minor units)',
    });
    expect(moneyInvariant(panel([floor('g', 1000, 'GOODS'), floor('p', 800, 'PAYABLE')])).summary).toBe('1000 + (0) + 0 = 1000 ≠ 800 (minor units)');
  });

  it('adds exactly beyond 2^53', () => {
    const big = Number.MAX_SAFE_INTEGER;
    const verdict = moneyInvariant(panel([floor('g1', big, 'GOODS'), floor('g2', big, 'GOODS'), floor('p', big, 'PAYABLE')]));
    expect(verdict).toMatchObject({ holds: false, goods: '18014398509481982' });
  });

  it('fails a repaired breakdown and rows in another currency; holds without a payable row', () => {
    const adds = [floor('g', 1000, 'GOODS'), floor('p', 1000, 'PAYABLE')];
    expect(keepsInvariant(panel(adds))).toBe(true);
    expect(moneyInvariant(panel(adds, ['PARTIAL_BREAKDOWN']))).toMatchObject({ holds: false, summary: expect.stringContaining('PARTIAL_BREAKDOWN') });
    expect(moneyInvariant(panel([floor('g', 1000, 'GOODS', 'USD'), floor('p', 1000, 'PAYABLE')]))).toMatchObject({ holds: false, summary: 'rows in USD beside a payable total in CNY' });
    expect(moneyInvariant(panel([floor('g', 1000, 'GOODS')]))).toMatchObject({ holds: true, payable: null, summary: 'no payable row: nothing to add up' });
  });
});
