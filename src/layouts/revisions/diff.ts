/**
 * The semantic difference between two published floors sets, as an operator reviews it before
 * a publish or a rollback: per scene (and per layout variant), the floors added, removed and
 * reordered, and each field that changed — per locale for the texts (`name`, `subName`,
 * `subNameFallback`, `zeroText`). Reads the YAML itself, not the compiled layouts, so two
 * revisions compare even when this build's builders could no longer compile one of them.
 */
import { LocatedYaml } from '../../config/validate-yaml.ts';

/** One changed field of one floor; `locale` set for the per-locale texts. */
export interface FieldChange {
  readonly code: string;
  readonly field: string;
  readonly locale?: string;
  /** undefined: the field was not set. */
  readonly from: unknown;
  readonly to: unknown;
}

/** What changed in one scene's floors (the default floors, or one variant's). */
export interface FloorsDiff {
  readonly scene: string;
  /** Set for a layout variant: `variants.<name>` of the scene's file. */
  readonly variant?: string;
  /** `added`/`removed`: the whole scene or variant; `changed`: see the lists. */
  readonly status: 'added' | 'removed' | 'changed';
  readonly version?: { readonly from: unknown; readonly to: unknown };
  readonly added: readonly string[];
  readonly removed: readonly string[];
  /** Render order (by `sort`) of the floors in both, when it differs. */
  readonly reordered?: { readonly from: readonly string[]; readonly to: readonly string[] };
  readonly changed: readonly FieldChange[];
}

export interface LayoutsDiff {
  /** One entry per scene or variant that differs; empty when the floors are the same. */
  readonly scenes: readonly FloorsDiff[];
  /** Files that are not readable YAML floors files, with why: compared as text only. */
  readonly unreadable: readonly string[];
}

const LOCALIZED: ReadonlySet<string> = new Set(['name', 'subName', 'subNameFallback', 'zeroText']);

type Floor = Readonly<Record<string, unknown>> & { readonly code: string };
interface FloorsVersion {
  readonly version: unknown;
  readonly floors: readonly Floor[];
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function floorsOf(value: unknown): Floor[] {
  if (!Array.isArray(value)) return [];
  return value.filter((f): f is Floor => isRecord(f) && typeof f.code === 'string');
}

/** Every floors version of every scene in a set: key "scene" or "scene\u0000variant". */
function versionsOf(files: Readonly<Record<string, string>>, unreadable: string[]): Map<string, FloorsVersion> {
  const versions = new Map<string, FloorsVersion>();
  for (const [name, source] of Object.entries(files)) {
    // Read as every floors file is read, so an alias past the budget is refused here too rather than expanded.
    const yaml = new LocatedYaml(name, source);
    const problem = yaml.syntaxProblems()[0];
    if (problem !== undefined) {
      unreadable.push(`${name}: ${problem.message}`);
      continue;
    }
    const doc = yaml.toJS();
    if (!isRecord(doc)) {
      unreadable.push(`${name}: not a mapping`);
      continue;
    }
    const scene = typeof doc.scene === 'string' ? doc.scene : name.replace(/\.ya?ml$/, '');
    versions.set(scene, { version: doc.version, floors: floorsOf(doc.floors) });
    if (isRecord(doc.variants)) {
      for (const [variant, body] of Object.entries(doc.variants)) {
        if (isRecord(body)) versions.set(`${scene}\u0000${variant}`, { version: body.version, floors: floorsOf(body.floors) });
      }
    }
  }
  return versions;
}

/** Codes in render order: by `sort`, ties in file order (as the renderer orders them). */
function renderOrder(floors: readonly Floor[]): string[] {
  return floors
    .map((floor, index) => ({ code: floor.code, sort: typeof floor.sort === 'number' ? floor.sort : 0, index }))
    .sort((a, b) => a.sort - b.sort || a.index - b.index)
    .map((f) => f.code);
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

function fieldChanges(code: string, from: Floor, to: Floor): FieldChange[] {
  const changes: FieldChange[] = [];
  const fields = [...new Set([...Object.keys(from), ...Object.keys(to)])].filter((f) => f !== 'code');
  for (const field of fields) {
    const a = from[field];
    const b = to[field];
    if (same(a, b)) continue;
    if (LOCALIZED.has(field) && (isRecord(a) || a === undefined) && (isRecord(b) || b === undefined)) {
      const locales = [...new Set([...Object.keys(a ?? {}), ...Object.keys(b ?? {})])];
      for (const locale of locales) {
        const x = a?.[locale];
        const y = b?.[locale];
        if (!same(x, y)) changes.push({ code, field, locale, from: x, to: y });
      }
    } else {
      changes.push({ code, field, from: a, to: b });
    }
  }
  return changes;
}

function diffVersions(key: string, from: FloorsVersion | undefined, to: FloorsVersion | undefined): FloorsDiff | undefined {
  const [scene, variant] = key.split('\u0000') as [string, string | undefined];
  const where = variant === undefined ? { scene } : { scene, variant };
  if (from === undefined || to === undefined) {
    const present = (from ?? to) as FloorsVersion;
    const codes = renderOrder(present.floors);
    return { ...where, status: from === undefined ? 'added' : 'removed', added: from === undefined ? codes : [], removed: to === undefined ? codes : [], changed: [] };
  }
  const before = new Map(from.floors.map((f) => [f.code, f]));
  const after = new Map(to.floors.map((f) => [f.code, f]));
  const added = renderOrder(to.floors).filter((c) => !before.has(c));
  const removed = renderOrder(from.floors).filter((c) => !after.has(c));
  const orderFrom = renderOrder(from.floors).filter((c) => after.has(c));
  const orderTo = renderOrder(to.floors).filter((c) => before.has(c));
  // `sort` values alone moving (every floor +10) is not a reorder: only the resulting order counts.
  const changed = orderTo.flatMap((code) => fieldChanges(code, before.get(code) as Floor, after.get(code) as Floor)).filter((c) => c.field !== 'sort' || !same(orderFrom, orderTo));
  const reordered = same(orderFrom, orderTo) ? undefined : { from: orderFrom, to: orderTo };
  const version = same(from.version, to.version) ? undefined : { from: from.version, to: to.version };
  if (added.length === 0 && removed.length === 0 && reordered === undefined && changed.length === 0 && version === undefined) return undefined;
  return { ...where, status: 'changed', ...(version === undefined ? {} : { version }), added, removed, ...(reordered === undefined ? {} : { reordered }), changed };
}

/** What changes when `from` is replaced by `to`. */
export function diffLayouts(from: Readonly<Record<string, string>>, to: Readonly<Record<string, string>>): LayoutsDiff {
  const unreadable: string[] = [];
  const before = versionsOf(from, unreadable);
  const after = versionsOf(to, unreadable);
  const keys = [...new Set([...before.keys(), ...after.keys()])].sort();
  const scenes = keys.map((key) => diffVersions(key, before.get(key), after.get(key))).filter((d): d is FloorsDiff => d !== undefined);
  return { scenes, unreadable };
}

/** A scene (or one of its variants) whose floors changed while its declared `version` did not. */
export interface VersionKept {
  readonly scene: string;
  /** Set for a layout variant: `variants.<name>` of the scene's file. */
  readonly variant?: string;
  /** The version both sets declare, which `layoutVersion` reports for either. */
  readonly version: string;
}

/**
 * The scenes and variants whose floors differ from `from` to `to` under the same declared
 * `version`: `layoutVersion` (and what analytics and support read from it) cannot tell the two
 * apart. One that declares none is left out: its version is its content's hash, which changes.
 */
export function versionsKept(from: Readonly<Record<string, string>>, to: Readonly<Record<string, string>>): VersionKept[] {
  const before = versionsOf(from, []);
  const after = versionsOf(to, []);
  const kept: VersionKept[] = [];
  for (const key of [...after.keys()].sort()) {
    const [a, b] = [before.get(key), after.get(key)];
    if (a === undefined || b === undefined || b.version === undefined || b.version === null || !same(a.version, b.version)) continue;
    if (diffVersions(key, a, b) === undefined) continue;
    const [scene, variant] = key.split('\u0000') as [string, string | undefined];
    kept.push({ scene, ...(variant === undefined ? {} : { variant }), version: String(b.version) });
  }
  return kept;
}

const show = (value: unknown) => (value === undefined ? '(unset)' : JSON.stringify(value));

/** The diff as lines for a terminal: "cart-bottom-sheet: floor coupon name[en]: "Coupons" → "Vouchers"". */
export function formatLayoutsDiff(diff: LayoutsDiff): string[] {
  if (diff.scenes.length === 0 && diff.unreadable.length === 0) return ['no differences in the floors'];
  const lines: string[] = [];
  for (const d of diff.scenes) {
    const label = d.variant === undefined ? d.scene : `${d.scene} (variant ${d.variant})`;
    if (d.status !== 'changed') {
      lines.push(`${label}: ${d.status === 'added' ? 'added' : 'removed'}, floors ${(d.status === 'added' ? d.added : d.removed).join(', ')}`);
      continue;
    }
    if (d.version !== undefined) lines.push(`${label}: version ${show(d.version.from)} → ${show(d.version.to)}`);
    if (d.added.length > 0) lines.push(`${label}: floors added: ${d.added.join(', ')}`);
    if (d.removed.length > 0) lines.push(`${label}: floors removed: ${d.removed.join(', ')}`);
    if (d.reordered !== undefined) lines.push(`${label}: floors reordered: ${d.reordered.from.join(' ')} → ${d.reordered.to.join(' ')}`);
    for (const c of d.changed) lines.push(`${label}: floor ${c.code} ${c.field}${c.locale === undefined ? '' : `[${c.locale}]`}: ${show(c.from)} → ${show(c.to)}`);
  }
  for (const u of diff.unreadable) lines.push(`unreadable, compared as text: ${u}`);
  return lines;
}
