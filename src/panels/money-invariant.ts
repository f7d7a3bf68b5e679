/**
 * The money invariant of a rendered panel: its GOODS, DEDUCTION and CHARGE rows add up to its
 * PAYABLE row, exactly, in minor units of one currency, without the renderer's repair
 * (PARTIAL_BREAKDOWN: an "other" row, only the total kept, or a total that is not settlement's
 * left out). The shadow comparison counts a candidate that breaks it (and promote is refused
 * over those); the operator preview shows the verdict for every panel, and for a repaired one
 * which repair it was and the rows it was made of — the panel served no longer shows them.
 */
import { UnreachableCaseError } from '../errors.ts';
import type { BreakdownRepair, Disagreement, RenderedPanel, SummedRow } from './panel.ts';

/** A row in a verdict: its code, kind and signed amount in minor units (a decimal string). */
export interface VerdictRow {
  readonly code: string;
  readonly kind: SummedRow['kind'];
  readonly minor: string;
}

/** {@link BreakdownRepair} as a verdict shows it: the same facts, amounts as decimal strings. */
export interface VerdictRepair extends Omit<BreakdownRepair, 'rows' | 'added'> {
  readonly rows: readonly VerdictRow[];
  readonly added: readonly VerdictRow[];
}

/** The invariant checked on one panel, with the figures an operator checks it by. */
export interface InvariantVerdict {
  readonly holds: boolean;
  /**
   * Sums by kind, and their total, of the rows shown — or, when the renderer repaired them
   * ({@link repair}), of the rows the floors built before it did: decimal strings of minor units
   * (a sum of safe integers may pass 2^53), whatever the rows' currencies (the summary says when
   * they are not the total's).
   */
  readonly goods: string;
  readonly deductions: string;
  readonly charges: string;
  readonly total: string;
  /** The PAYABLE row's amount in minor units; null when the panel shows none. */
  readonly payable: string | null;
  /** The payable row's currency; null without one. */
  readonly currency: string | null;
  /** What the renderer did to serve the panel as PARTIAL_BREAKDOWN, with the rows as built; null when it served them as built. */
  readonly repair: VerdictRepair | null;
  /** One line for the operator, e.g. "2090 + (-1204) + 0 = 886 = 886 (minor units)". */
  readonly summary: string;
}

const SUMMED = { GOODS: 'goods', DEDUCTION: 'deductions', CHARGE: 'charges' } as const;

/**
 * Whether, and how, `panel`'s money adds up. `repair` is what the renderer said it did to the
 * panel's rows (PanelRenderer.renderExplained); without it a PARTIAL_BREAKDOWN panel is only
 * known to be repaired, not how.
 */
export function moneyInvariant(panel: Pick<RenderedPanel, 'degradedReasons' | 'floors'>, repair: BreakdownRepair | null = null): InvariantVerdict {
  const payable = panel.floors.find((f) => f.kind === 'PAYABLE' && f.amount !== null)?.amount ?? null;
  const repaired = panel.degradedReasons.includes('PARTIAL_BREAKDOWN');
  // A repaired panel's rows add up by construction: the verdict is on the rows the floors built.
  const rows = repaired && repair !== null ? repair.rows : panel.floors;
  const sums = { goods: 0n, deductions: 0n, charges: 0n };
  const currencies = new Set<string>();
  for (const row of rows) {
    const sum = SUMMED[row.kind as keyof typeof SUMMED];
    if (sum === undefined || row.amount === null) continue;
    currencies.add(row.amount.currency);
    sums[sum] += BigInt(row.amount.minor);
  }
  const total = sums.goods + sums.deductions + sums.charges;
  const others = payable === null ? [] : [...currencies].filter((c) => c !== payable.currency);
  const figures = {
    goods: String(sums.goods),
    deductions: String(sums.deductions),
    charges: String(sums.charges),
    total: String(total),
    payable: payable === null ? null : String(payable.minor),
    currency: payable?.currency ?? null,
  };
  const sum = `${figures.goods} + (${figures.deductions}) + ${figures.charges} = ${figures.total}`;
  const shown = repaired && repair !== null ? verdictRepair(repair) : null;
  const verdict = (holds: boolean, summary: string): InvariantVerdict => ({ holds, ...figures, repair: shown, summary });
  if (repaired) {
    if (shown === null) return verdict(false, 'the rows did not add up to the payable total: the renderer repaired them (PARTIAL_BREAKDOWN)');
    const built = shown.rows.map((row) => `${row.code} ${row.kind} ${row.minor}`).join(', ') || 'none';
    switch (shown.form) {
      case 'other-rows': {
        const added = shown.added.map((row) => `${row.code} ${row.minor}`).join(' and ');
        return verdict(false, `the rows built did not add up to the payable total: ${sum} ≠ ${figures.payable} (minor units); the renderer added ${added} to make them (PARTIAL_BREAKDOWN)`);
      }
      case 'total-only':
        // Without a quote, the figures are the rows' and the total's: nothing else says what is missing.
        return verdict(
          false,
          `only the total is served (PARTIAL_BREAKDOWN): ${causeOf(shown, others, payable?.currency ?? null, true)}${shown.cause === 'no-quote' ? ` (${sum} ≠ ${figures.payable})` : ''}; rows built: ${built} (minor units)`,
        );
      case 'no-total':
        return verdict(false, `the total is left out (PARTIAL_BREAKDOWN): ${disagreements(shown)}; rows built: ${built} (minor units)`);
      case 'sub-name':
        return verdict(false, `the rows add up (${sum} = ${figures.payable}, minor units), but a figure the total's sub-name quotes did not match them and was dropped (PARTIAL_BREAKDOWN)`);
      default:
        throw new UnreachableCaseError(shown.form);
    }
  }
  if (payable === null) return verdict(true, 'no payable row: nothing to add up');
  if (others.length > 0) return verdict(false, `rows in ${others.join(', ')} beside a payable total in ${payable.currency}`);
  const holds = total === BigInt(payable.minor);
  return verdict(holds, `${sum} ${holds ? '=' : '≠'} ${figures.payable} (minor units)`);
}

/** Whether a panel's money adds up: its summed rows equal its PAYABLE row, without the renderer's repair. */
export function keepsInvariant(panel: Pick<RenderedPanel, 'degradedReasons' | 'floors'>): boolean {
  return moneyInvariant(panel).holds;
}

/**
 * Why a floor the renderer built was left out of a panel that kept only its total (the preview's
 * `unreconciled`): what made it keep only the total, and whether this row is one of the rows
 * that claim too much — or, alone, exactly the difference.
 */
export function whyUnreconciled(code: string, repair: BreakdownRepair | null): string {
  const hidden = 'hidden: only the total is shown';
  const disagreed = repair?.disagreed?.find((d) => d.codes.includes(code));
  if (disagreed !== undefined) {
    return `hidden: its amount is not settlement's: ${disagreement(disagreed)}${disagreed.kind === 'PAYABLE' ? '; no other total is served' : ''}`;
  }
  if (repair !== null && repair.form === 'no-total') return `hidden: the total is left out, and with it every goods, deduction and charge row: ${disagreements(repair)}`;
  if (repair === null || repair.form !== 'total-only') return `${hidden}: the rows shown could not be reconciled with the payable total`;
  const verdict = verdictRepair(repair);
  const row = verdict.rows.find((r) => r.code === code);
  // The verdict beside it says where the quote's figure comes from.
  const because = causeOf(verdict, [], null, false);
  if (row === undefined || repair.cause !== 'overclaimed' || verdict.overclaimed.length === 0) return `${hidden}: ${because}`;
  const claim = verdict.overclaimed.find((c) => c.kind === row.kind);
  if (claim === undefined) return `${hidden}: ${because}; this ${row.kind} row is not one of them`;
  if (BigInt(claim.rows) - BigInt(claim.quote) === BigInt(row.minor)) return `${hidden}: ${because}, and this row's ${row.minor} is the difference`;
  return `${hidden}: ${because}; this row (${row.minor}) is one of them`;
}

/** Why only the total was kept, in words, with the figures (and with `basis`, where the quote's come from). */
function causeOf(repair: VerdictRepair, others: readonly string[], currency: string | null, basis: boolean): string {
  switch (repair.cause) {
    case 'no-goods':
      return 'there is no goods row to start from';
    case 'currencies':
      return others.length > 0 && currency !== null ? `rows in ${others.join(', ')} beside a total in ${currency}` : 'the rows are in another currency than the total';
    case 'overclaimed':
      return repair.overclaimed.length === 0
        ? "the rows by kind contradict the total's own figures"
        : repair.overclaimed.map((c) => `the ${c.kind} rows add up to ${c.rows} but the quote has ${c.quote}${basis ? ` (${c.basis})` : ''}`).join(', and ');
    case 'disagrees':
      return disagreements(repair);
    case 'no-quote':
      return 'no settlement quote backs the total, so nothing says what the rows leave out of it — an "other" row would be a fee or a discount no upstream has';
    case null:
      return 'the rows could not be reconciled with the payable total';
    default:
      throw new UnreachableCaseError(repair.cause);
  }
}

/** The rows whose amounts are not settlement's, in words, with the figures (minor units). */
function disagreements(repair: Pick<BreakdownRepair, 'disagreed'>): string {
  const disagreed = repair.disagreed ?? [];
  return disagreed.length === 0 ? "rows whose amounts are not settlement's were left out" : disagreed.map(disagreement).join(', and ');
}

function disagreement(d: Disagreement): string {
  return d.kind === 'GOODS'
    ? `the goods row${d.codes.length === 1 ? '' : 's'} (${d.codes.join(', ')}) show${d.codes.length === 1 ? 's' : ''} ${d.rows} but the quote's goods total is ${d.quote}`
    : `the total (${d.codes.join(', ')}) shows ${d.rows} but settlement's payable is ${d.quote}`;
}

function verdictRepair(repair: BreakdownRepair): VerdictRepair {
  const row = (r: SummedRow): VerdictRow => ({ code: r.code, kind: r.kind, minor: String(r.amount.minor) });
  const verdict: VerdictRepair = { form: repair.form, cause: repair.cause, rows: repair.rows.map(row), added: repair.added.map(row), overclaimed: repair.overclaimed };
  return repair.disagreed === undefined ? verdict : { ...verdict, disagreed: repair.disagreed };
}
