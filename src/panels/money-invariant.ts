/**
 * The money invariant of a rendered panel: its GOODS, DEDUCTION and CHARGE rows add up to its
 * PAYABLE row, exactly, in minor units of one currency, without the renderer's repair (a
 * PARTIAL_BREAKDOWN "other" row). The shadow comparison counts a candidate that breaks it (and
 * promote is refused over those); the operator preview shows the verdict for every panel.
 */
import type { RenderedPanel } from './panel.ts';

/** The invariant checked on one panel, with the figures an operator checks it by. */
export interface InvariantVerdict {
  readonly holds: boolean;
  /**
   * Sums of the rows shown, by kind, and their total: decimal strings of minor units (a sum of
   * safe integers may pass 2^53). "0" when a panel has no payable row, or rows in several currencies.
   */
  readonly goods: string;
  readonly deductions: string;
  readonly charges: string;
  readonly total: string;
  /** The PAYABLE row's amount in minor units; null when the panel shows none. */
  readonly payable: string | null;
  /** The payable row's currency; null without one. */
  readonly currency: string | null;
  /** One line for the operator, e.g. "2090 + (-1204) + 0 = 886 = 886 (minor units)". */
  readonly summary: string;
}

const SUMMED = { GOODS: 'goods', DEDUCTION: 'deductions', CHARGE: 'charges' } as const;

/** Whether, and how, `panel`'s money adds up. */
export function moneyInvariant(panel: Pick<RenderedPanel, 'degradedReasons' | 'floors'>): InvariantVerdict {
  const payable = panel.floors.find((f) => f.kind === 'PAYABLE' && f.amount !== null)?.amount ?? null;
  const sums = { goods: 0n, deductions: 0n, charges: 0n };
  const currencies = new Set<string>();
  for (const floor of panel.floors) {
    const sum = SUMMED[floor.kind as keyof typeof SUMMED];
    if (sum === undefined || floor.amount === null) continue;
    currencies.add(floor.amount.currency);
    sums[sum] += BigInt(floor.amount.minor);
  }
  const total = sums.goods + sums.deductions + sums.charges;
  const figures = {
    goods: String(sums.goods),
    deductions: String(sums.deductions),
    charges: String(sums.charges),
    total: String(total),
    payable: payable === null ? null : String(payable.minor),
    currency: payable?.currency ?? null,
  };
  const verdict = (holds: boolean, summary: string): InvariantVerdict => ({ holds, ...figures, summary });
  // The repair makes the rows add up; the rows the builders produced did not.
  if (panel.degradedReasons.includes('PARTIAL_BREAKDOWN')) return verdict(false, 'the rows did not add up to the payable total: the renderer repaired them with an "other" row (PARTIAL_BREAKDOWN)');
  if (payable === null) return verdict(true, 'no payable row: nothing to add up');
  const others = [...currencies].filter((c) => c !== payable.currency);
  if (others.length > 0) return verdict(false, `rows in ${others.join(', ')} beside a payable total in ${payable.currency}`);
  const holds = total === BigInt(payable.minor);
  return verdict(holds, `${figures.goods} + (${figures.deductions}) + ${figures.charges} = ${figures.total} ${holds ? '=' : '≠'} ${figures.payable} (minor units)`);
}

/** Whether a panel's money adds up: its summed rows equal its PAYABLE row, without the renderer's repair. */
export function keepsInvariant(panel: Pick<RenderedPanel, 'degradedReasons' | 'floors'>): boolean {
  return moneyInvariant(panel).holds;
}
