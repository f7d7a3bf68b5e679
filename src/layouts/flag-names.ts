/**
 * The flag names floors files use (a floor's `flag`, a layout's `layoutFlag`), checked against the
 * flags defined. A name no flag has is simply off, so without this a typo (`floor.plus-rebat`)
 * makes a floor vanish with nothing said.
 *
 * How strict depends on where flags come from:
 * - **Local mode** (the flags file is every flag there is): an unknown name is a problem of the
 *   floors file like any other, with its file:line — refused at start, on a floors edit, on a
 *   published set and by floors:check/publish. The other direction too: a flags-file edit that
 *   removes a flag a floor still names is refused (the last good flags keep serving), so the two
 *   files never disagree. Renaming a flag is then three edits: add the new flag, point the floor
 *   at it, remove the old one.
 * - **Remote mode** (Unleash): flags are created in Unleash, often after the floor that will use
 *   them, and Unleash may be unreachable; an unknown name is a warning and the
 *   `floorplan_layout_unknown_flags` gauge, never a refusal. Checked again whenever the layouts or
 *   Unleash's flags change.
 */
import type { Logger } from '../observability/logger.ts';
import type { CompiledLayout, FlagReference, LayoutSet } from './compile.ts';

/** A flag a floors file names that is not defined. */
export interface UnknownFlag extends FlagReference {
  readonly scene: string;
}

/** Every reference in `layouts` to a flag not in `known`, in scene then file order. */
export function findUnknownFlags(layouts: LayoutSet, known: ReadonlySet<string>): UnknownFlag[] {
  return [...layouts.values()].flatMap((layout) =>
    layout.flagReferences.filter((ref) => !known.has(ref.flag)).map((ref) => ({ ...ref, scene: layout.scene })),
  );
}

/** Where a reference is, as every floors problem ends: "(floors/cart-bottom-sheet.yaml:54)". */
function where(ref: FlagReference): string {
  return ref.line === undefined ? ref.file : `${ref.file}:${ref.line}`;
}

/**
 * Local mode, a floors change: one problem per unknown name, "`floors[6].flag` must name a flag
 * defined in config/flags.json (…), but got: "floor.plus-rebat" (floors/cart-bottom-sheet.yaml:54)".
 */
export function unknownFlagProblems(layouts: LayoutSet, known: ReadonlySet<string>, flagsFile: string): string[] {
  const names = known.size === 0 ? 'it defines none' : [...known].sort().join(', ');
  return findUnknownFlags(layouts, known).map(
    (ref) => `\`${ref.path}\` must name a flag defined in ${flagsFile} (${names}), but got: ${JSON.stringify(ref.flag)} (${where(ref)})`,
  );
}

/**
 * Where a reference in a published revision is: "revision 17's cart-bottom-sheet.yaml:94". Its
 * layout was compiled from the revision's files under the folder's names, but the file on disk
 * may hold anything on that line, or not the floor at all.
 */
function inRevision(ref: FlagReference, revision: string): string {
  const name = ref.file.slice(ref.file.lastIndexOf('/') + 1);
  return `${revision}'s ${ref.line === undefined ? name : `${name}:${ref.line}`}`;
}

/**
 * Local mode, a flags-file change: one problem per floor naming a flag the new file no longer
 * defines, "`floor.plus-rebate` must stay defined while a floors file names it (…) (floors/cart-bottom-sheet.yaml:54)".
 * `liveRevision`: the published revision `layouts` is (LayoutStore.revision), named instead of
 * the folder's file; 0, the default: `layouts` is the floors folder's.
 */
export function removedFlagProblems(layouts: LayoutSet, names: ReadonlySet<string>, candidates: Iterable<CandidateLayout> = [], liveRevision = 0): string[] {
  const live = findUnknownFlags(layouts, names).map(
    (ref) =>
      `\`${ref.flag}\` must stay defined while a floors file names it (remove or change \`${ref.path}\` first), but this change removes it (${liveRevision === 0 ? where(ref) : inRevision(ref, `live revision ${liveRevision}`)})`,
  );
  // A candidate's users are served its floors, and its promote would refuse them later.
  const candidate = [...candidates].flatMap(({ revision, layout }) =>
    findUnknownFlags(new Map([[layout.scene, layout]]), names).map(
      (ref) =>
        `\`${ref.flag}\` must stay defined while the candidate of ${ref.scene} (revision ${revision}) names it at \`${ref.path}\` (abort the candidate or publish one without it first), but this change removes it (${inRevision(ref, `revision ${revision}`)})`,
    ),
  );
  return [...live, ...candidate];
}

/** A layout candidate's compiled scene and its revision, as a replica serves it. */
export interface CandidateLayout {
  readonly revision: number;
  readonly layout: CompiledLayout;
}

/** What {@link createUnknownFlagReporter} reports to besides the log. */
export interface UnknownFlagMetrics {
  /** Sets the floorplan_layout_unknown_flags gauge to exactly these references (per scene and flag). */
  layoutUnknownFlags(unknown: ReadonlyArray<{ readonly scene: string; readonly flag: string }>): void;
}

/**
 * Remote mode: a function to call with the layouts served and the flag names Unleash (or the
 * fallback file) defines, whenever either changes. Sets the gauge every time; logs a warning once
 * per reference when it becomes unknown, so a resync does not repeat it. `known` undefined (no
 * flags known yet) reports nothing and leaves the gauge as it was.
 */
export function createUnknownFlagReporter(logger: Logger, metrics: UnknownFlagMetrics): (layouts: LayoutSet, known: ReadonlySet<string> | undefined) => void {
  let warned = new Set<string>();
  return (layouts, known) => {
    if (known === undefined) return;
    const unknown = findUnknownFlags(layouts, known);
    metrics.layoutUnknownFlags(unknown);
    const now = new Set<string>();
    for (const ref of unknown) {
      const key = `${ref.flag}\u0000${where(ref)}\u0000${ref.path}`;
      now.add(key);
      if (warned.has(key)) continue;
      logger.warn(
        { scene: ref.scene, flag: ref.flag, path: ref.path, file: ref.file, line: ref.line },
        `\`${ref.path}\` names flag ${JSON.stringify(ref.flag)}, which Unleash does not define (yet): it is off until it does (${where(ref)})`,
      );
    }
    warned = now;
  };
}
