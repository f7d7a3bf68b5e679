import { describe, expect, it } from 'vitest';
import { keepsInvariant, moneyInvariant, whyUnreconciled } from '../../src/panels/money-invariant.ts';
import type { BreakdownRepair, RenderedFloor, RenderedPanel, SummedRow } from '../../src/panels/panel.ts';

const floor = (code: string, minor: number, kind: RenderedFloor['kind'], currency = 'CNY'): RenderedFloor => ({ code, name: code, priceText: String(minor), amount: { minor, currency }, subName: null, style: [], sort: 0, kind });
const panel = (floors: RenderedFloor[], degradedReasons: RenderedPanel['degradedReasons'] = []) => ({ degradedReasons, floors });
const built = (code: string, minor: number, kind: SummedRow['kind'], currency = 'CNY'): SummedRow => ({ code, kind, amount: { minor, currency } });
const repair = (r: Partial<BreakdownRepair> & Pick<BreakdownRepair, 'form' | 'rows'>): BreakdownRepair => ({ cause: null, added: [], overclaimed: [], ...r });

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
      repair: null,
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

  it('judges a repaired panel by the rows as built, and says which repair was made', () => {
    const rows = [built('g', 1000, 'GOODS'), built('d', -300, 'DEDUCTION')];
    const withOther = panel([floor('g', 1000, 'GOODS'), floor('d', -300, 'DEDUCTION'), floor('other-discounts', -200, 'DEDUCTION'), floor('p', 500, 'PAYABLE')], ['PARTIAL_BREAKDOWN']);
    expect(moneyInvariant(withOther, repair({ form: 'other-rows', rows, added: [built('other-discounts', -200, 'DEDUCTION')] }))).toMatchObject({
      holds: false,
      deductions: '-300',
      total: '700',
      repair: { form: 'other-rows', added: [{ code: 'other-discounts', kind: 'DEDUCTION', minor: '-200' }] },
      summary: 'the rows built did not add up to the payable total: 1000 + (-300) + 0 = 700 ≠ 500 (minor units); the renderer added other-discounts -200 to make them (PARTIAL_BREAKDOWN)',
    });

    const totalOnly = panel([floor('p', 500, 'PAYABLE')], ['PARTIAL_BREAKDOWN']);
    expect(moneyInvariant(totalOnly, repair({ form: 'total-only', cause: 'no-goods', rows: [built('d', -300, 'DEDUCTION')] })).summary).toBe(
      'only the total is served (PARTIAL_BREAKDOWN): there is no goods row to start from; rows built: d DEDUCTION -300 (minor units)',
    );
    expect(moneyInvariant(totalOnly, repair({ form: 'total-only', cause: 'currencies', rows: [built('g', 1000, 'GOODS', 'USD')] })).summary).toBe(
      'only the total is served (PARTIAL_BREAKDOWN): rows in USD beside a total in CNY; rows built: g GOODS 1000 (minor units)',
    );
    expect(moneyInvariant(panel([floor('g', 1000, 'GOODS'), floor('p', 1000, 'PAYABLE')], ['PARTIAL_BREAKDOWN']), repair({ form: 'sub-name', rows: [built('g', 1000, 'GOODS')] })).summary).toBe(
      "the rows add up (1000 + (0) + 0 = 1000 = 1000, minor units), but a figure the total's sub-name quotes did not match them and was dropped (PARTIAL_BREAKDOWN)",
    );
    // Told nothing of the repair (the shadow comparison asks only whether it holds): no guess at which one.
    expect(moneyInvariant(totalOnly).summary).toBe('the rows did not add up to the payable total: the renderer repaired them (PARTIAL_BREAKDOWN)');
  });

  it('says why a row was left out of a panel that kept only its total, and whether it is the difference', () => {
    const overclaimed = repair({
      form: 'total-only',
      cause: 'overclaimed',
      rows: [built('g', 1000, 'GOODS'), built('a', 200, 'CHARGE'), built('b', 50, 'CHARGE')],
      overclaimed: [{ kind: 'CHARGE', rows: '250', quote: '200', basis: 'p 1200 − goods 1000 + {savings} 0' }],
    });
    expect(whyUnreconciled('b', overclaimed)).toBe("hidden: only the total is shown: the CHARGE rows add up to 250 but the quote has 200, and this row's 50 is the difference");
    expect(whyUnreconciled('a', overclaimed)).toBe('hidden: only the total is shown: the CHARGE rows add up to 250 but the quote has 200; this row (200) is one of them');
    expect(whyUnreconciled('g', overclaimed)).toBe('hidden: only the total is shown: the CHARGE rows add up to 250 but the quote has 200; this GOODS row is not one of them');
    expect(whyUnreconciled('d', repair({ form: 'total-only', cause: 'no-goods', rows: [built('d', -300, 'DEDUCTION')] }))).toBe('hidden: only the total is shown: there is no goods row to start from');
  });

  it('names the row whose amount is not settlement’s, when the renderer left it out', () => {
    const goodsOff = repair({
      form: 'total-only',
      cause: 'disagrees',
      rows: [built('spze', 15_970, 'GOODS'), built('mj', -2000, 'DEDUCTION')],
      disagreed: [{ kind: 'GOODS', codes: ['spze'], rows: '15970', quote: '21960' }],
    });
    expect(moneyInvariant(panel([floor('payable', 19_960, 'PAYABLE')], ['PARTIAL_BREAKDOWN']), goodsOff)).toMatchObject({
      holds: false,
      repair: { form: 'total-only', cause: 'disagrees', disagreed: [{ kind: 'GOODS', codes: ['spze'], rows: '15970', quote: '21960' }] },
      summary: "only the total is served (PARTIAL_BREAKDOWN): the goods row (spze) shows 15970 but the quote's goods total is 21960; rows built: spze GOODS 15970, mj DEDUCTION -2000 (minor units)",
    });
    expect(whyUnreconciled('spze', goodsOff)).toBe("hidden: its amount is not settlement's: the goods row (spze) shows 15970 but the quote's goods total is 21960");
    expect(whyUnreconciled('mj', goodsOff)).toBe("hidden: only the total is shown: the goods row (spze) shows 15970 but the quote's goods total is 21960");

    const totalOff = repair({ form: 'no-total', rows: [built('spze', 2090, 'GOODS'), built('lj', -500, 'DEDUCTION')], disagreed: [{ kind: 'PAYABLE', codes: ['payable'], rows: '1591', quote: '1590' }] });
    expect(moneyInvariant(panel([floor('spze', 2090, 'GOODS'), floor('lj', -500, 'DEDUCTION')], ['PARTIAL_BREAKDOWN']), totalOff).summary).toBe(
      "the total is left out (PARTIAL_BREAKDOWN): the total (payable) shows 1591 but settlement's payable is 1590; rows built: spze GOODS 2090, lj DEDUCTION -500 (minor units)",
    );
    expect(whyUnreconciled('payable', totalOff)).toBe("hidden: its amount is not settlement's: the total (payable) shows 1591 but settlement's payable is 1590; no other total is served");
  });
});
