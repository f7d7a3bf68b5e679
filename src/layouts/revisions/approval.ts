/**
 * Four eyes on money (issue 15 item 6): which floors of the configured kinds (GOODS, DEDUCTION,
 * CHARGE, PAYABLE by default) a change of floors sets adds, removes, moves or edits. With
 * `layouts.approval.required`, such a change goes live only as a candidate that an admin other
 * than its publisher approved; the releases (releases.ts) ask this module what a change touches.
 *
 * It reads the semantic diff (diff.ts) for what changed and the compiled layouts for each floor's
 * kind: the new set's for floors it has, the old set's for floors it drops. A floor whose kind
 * cannot be known (the old set no longer compiles with this build) counts as money: the check
 * errs towards asking.
 */
import type { FloorKind } from '../../floors/builder.ts';
import type { LayoutSet } from '../compile.ts';
import { diffLayouts, type FloorsDiff } from './diff.ts';

/** `layouts.approval` of the service config. */
export interface ApprovalSettings {
  readonly required: boolean;
  readonly kinds: readonly FloorKind[];
}

/** One money floor a change touches. */
export interface MoneyFloorChange {
  readonly scene: string;
  /** Set when the change is in a layout variant. */
  readonly variant?: string;
  readonly code: string;
  /** The floor's kind; `unknown` when the old set no longer compiles here. */
  readonly kind: FloorKind | 'unknown';
  readonly change: 'added' | 'removed' | 'moved' | 'changed';
}

/** The floors of one scene (or one of its variants) in a compiled set, by code. */
function floorKinds(layouts: LayoutSet | undefined, scene: string, variant: string | undefined): ReadonlyMap<string, FloorKind> | undefined {
  const layout = layouts?.get(scene);
  if (layout === undefined) return undefined;
  const version = variant === undefined ? layout : layout.variants[variant];
  if (version === undefined) return undefined;
  return new Map(version.floors.map((floor) => [floor.code, floor.builder.kind]));
}

/**
 * The money floors that change when the files `from` (compiled: `fromLayouts`, undefined when
 * they no longer compile) are replaced by `to` (compiled: `toLayouts`), limited to `scene` when
 * given. Empty: the change touches no floor of `kinds`.
 */
export function moneyFloorChanges(
  from: { readonly files: Readonly<Record<string, string>>; readonly layouts: LayoutSet | undefined },
  to: { readonly files: Readonly<Record<string, string>>; readonly layouts: LayoutSet },
  kinds: readonly FloorKind[],
  scene?: string,
): MoneyFloorChange[] {
  const money = new Set<string>(kinds);
  const diff = diffLayouts(from.files, to.files);
  const changes: MoneyFloorChange[] = [];
  for (const d of diff.scenes) {
    if (scene !== undefined && d.scene !== scene) continue;
    const before = floorKinds(from.layouts, d.scene, d.variant);
    const after = floorKinds(to.layouts, d.scene, d.variant);
    const where = d.variant === undefined ? { scene: d.scene } : { scene: d.scene, variant: d.variant };
    const touched = (code: string, change: MoneyFloorChange['change'], ...sides: Array<ReadonlyMap<string, FloorKind> | undefined>) => {
      // A floor kept is money when it was or becomes money: a DEDUCTION turned INFO takes its amount out of the sheet's sum.
      const kinds = sides.map((side) => side?.get(code) ?? 'unknown');
      const kind = kinds.find((k) => k === 'unknown' || money.has(k));
      if (kind !== undefined) changes.push({ ...where, code, kind, change });
    };
    for (const code of d.added) touched(code, 'added', after);
    for (const code of d.removed) touched(code, 'removed', before);
    // One entry per floor: a changed `sort` is its move; a floor moved and edited is "changed".
    const edited = new Set(d.changed.filter((c) => c.field !== 'sort').map((c) => c.code));
    for (const code of movedFloors(d)) if (!edited.has(code)) touched(code, 'moved', after, before);
    for (const code of edited) touched(code, 'changed', after, before);
  }
  return changes;
}

/**
 * Floors that moved: those outside the longest run of floors kept in the same order on both
 * sides, so moving one floor to the end names that floor, not every floor it passed.
 */
function movedFloors(d: FloorsDiff): string[] {
  if (d.reordered === undefined) return [];
  const { from, to } = d.reordered;
  // lengths[i][j]: the longest common subsequence of from[i..] and to[j..].
  const lengths = Array.from({ length: from.length + 1 }, () => new Array<number>(to.length + 1).fill(0));
  for (let i = from.length - 1; i >= 0; i--) {
    for (let j = to.length - 1; j >= 0; j--) {
      lengths[i]![j] = from[i] === to[j] ? lengths[i + 1]![j + 1]! + 1 : Math.max(lengths[i + 1]![j]!, lengths[i]![j + 1]!);
    }
  }
  const kept = new Set<string>();
  for (let i = 0, j = 0; i < from.length && j < to.length; ) {
    if (from[i] === to[j]) {
      kept.add(from[i]!);
      i++;
      j++;
    } else if (lengths[i + 1]![j]! >= lengths[i]![j + 1]!) i++;
    else j++;
  }
  return to.filter((code) => !kept.has(code));
}

/** "mj (DEDUCTION, changed), payable (PAYABLE, moved)", for messages. */
export function describeMoneyChanges(changes: readonly MoneyFloorChange[]): string {
  return changes.map((c) => `${c.scene}${c.variant === undefined ? '' : ` (variant ${c.variant})`} ${c.code} (${c.kind}, ${c.change})`).join(', ');
}
