/**
 * The compatibility matrix: for each live app version (config/clients.yaml) and each scene and
 * layout variant, what that version would be sent — the floors its `minAppVersion`s let
 * through, the style tokens after the layout's `styles:` fallbacks, the optional fields and
 * the floor kinds — and what it would be sent without understanding it. Publish and candidate
 * refuse a set with any such problem (releases.ts); floors:check and POST /admin/layouts/check
 * show the whole matrix.
 *
 * Pure: compiled layouts and the clients config in, a report out. What a version gets is
 * decided by client-view.ts, the functions the renderer serves with, so the matrix cannot
 * drift from what phones receive.
 *
 * What counts as "would be sent": every enabled floor the version's `minAppVersion` gate lets
 * through, flagged or not — a flag can be turned on for anyone without a publish, so a check
 * at publish must assume it may be. Disabled floors are never sent. When a layout has both a
 * GOODS and a PAYABLE floor, the renderer may add an "other discounts" (DEDUCTION) and an "other
 * charges" (CHARGE) row to make the rows add up, so those kinds count too.
 */
import { compare, SemVer } from 'semver';
import { CLIENT_FIELDS, sinceOn, type ClientField, type ClientsConfig, type SinceVersion } from '../config/clients-config.ts';
import { ErrorCode, FloorplanError } from '../errors.ts';
import { FLOOR_KINDS, type FloorKind } from '../floors/builder.ts';
import { floorTooNewFor, minimumFor, resolveStyle } from './client-view.ts';
import { RECONCILIATION_CODES, type CompiledFloor, type CompiledLayout, type LayoutSet, type LayoutVersion } from './compile.ts';

/** Something a version would be sent without understanding it. */
export interface CompatibilityProblem {
  readonly platform: string;
  readonly version: string;
  readonly scene: string;
  /** The layout variant (picked by the layout flag); null: the default floors. */
  readonly variant: string | null;
  /** The floor that would send it (`other-discounts`/`other-charges`: the renderer's reconciliation row). */
  readonly floor: string;
  readonly what: 'style' | 'field' | 'kind';
  /** The token as the floor names it, the field, or the kind. */
  readonly name: string;
  /** For a style: the token actually sent after fallbacks (may differ from `name`). */
  readonly sent?: string;
  /** "ios 11.2.0 must understand every style token it is sent, but … (floors/x.yaml:77)". */
  readonly message: string;
}

/** A style token a floor names, and what the version is sent for it (null: nothing, the fallback is null). */
export interface SentStyle {
  readonly token: string;
  readonly sent: string | null;
}

/** One cell of the matrix: one platform's version × one scene (or variant). */
export interface CompatibilityRow {
  readonly platform: string;
  readonly version: string;
  readonly scene: string;
  readonly variant: string | null;
  /** false: below the platform's `oldestSupported`; shown, not checked, the lists below empty. */
  readonly checked: boolean;
  /** The platform's oldest supported version, from the clients file. */
  readonly oldestSupported: string;
  /** Floor codes it may be sent, in render order. */
  readonly floors: readonly string[];
  /** Floors its version is too old for, with the minimum each needs on its platform. */
  readonly tooNew: ReadonlyArray<{ readonly floor: string; readonly minAppVersion: string }>;
  /** Every token the floors it gets name, in first-use order, with what it is sent for each. */
  readonly styles: readonly SentStyle[];
  readonly fields: readonly ClientField[];
  readonly kinds: readonly FloorKind[];
  readonly problems: readonly CompatibilityProblem[];
  /**
   * What it would get, in one line for people: `7 floor(s) (not payable: needs 12.0.0); styles
   * bold, emphasis→bold; fields subName; kinds GOODS, …` (`nothing checked: …` for an unchecked
   * version). The CLI's table and the console show this text, so they never word it apart.
   */
  readonly summary: string;
}

export interface CompatibilityReport {
  /** The clients file the matrix was computed from, e.g. `config/clients.yaml`. */
  readonly clientsFile: string;
  /** Platforms in file order, versions oldest first, scenes by name, each scene's variants after it. */
  readonly rows: readonly CompatibilityRow[];
  /** Every problem of every row; empty: the set may be published. */
  readonly problems: readonly CompatibilityProblem[];
}

/** The rows the renderer adds to make a panel add up (src/panels/renderer.ts, reconcile): code and kind. */
const RECONCILIATION_ROWS: ReadonlyArray<{ readonly code: string; readonly kind: FloorKind }> = (['DEDUCTION', 'CHARGE'] as const).map((kind) => ({
  code: RECONCILIATION_CODES[kind],
  kind,
}));

/** The matrix of `layouts` against every live version of every platform in `clients`. */
export function checkCompatibility(layouts: LayoutSet, clients: ClientsConfig): CompatibilityReport {
  const rows: CompatibilityRow[] = [];
  const scenes = [...layouts.values()].sort((a, b) => (a.scene < b.scene ? -1 : a.scene > b.scene ? 1 : 0));
  for (const [platform, { oldestSupported, live }] of Object.entries(clients.platforms)) {
    for (const version of live) {
      const checked = compare(version, oldestSupported) >= 0;
      for (const layout of scenes) {
        const versions: Array<[string | null, LayoutVersion]> = [[null, layout], ...Object.entries(layout.variants)];
        for (const [variant, floors] of versions) {
          rows.push(
            checked
              ? rowFor(layout, variant, floors, platform, version, oldestSupported, clients)
              : { platform, version, scene: layout.scene, variant, checked, oldestSupported, floors: [], tooNew: [], styles: [], fields: [], kinds: [], problems: [], summary: `nothing checked: below ${platform}'s oldest supported ${oldestSupported}` },
          );
        }
      }
    }
  }
  return { clientsFile: clients.file, rows, problems: rows.flatMap((r) => r.problems) };
}

function rowFor(
  layout: CompiledLayout,
  variant: string | null,
  { floors }: LayoutVersion,
  platform: string,
  version: string,
  oldestSupported: string,
  clients: ClientsConfig,
): CompatibilityRow {
  const client = new SemVer(version);
  const understands = (since: SinceVersion | undefined) => {
    const from = sinceOn(since, platform);
    return from !== undefined && compare(from, version) <= 0;
  };
  const sent: CompiledFloor[] = [];
  const tooNew: Array<{ floor: string; minAppVersion: string }> = [];
  for (const floor of floors) {
    if (!floor.enabled) continue;
    const required = floorTooNewFor(floor, client, platform);
    if (required === undefined) sent.push(floor);
    else tooNew.push({ floor: floor.code, minAppVersion: required });
  }

  const styles: SentStyle[] = [];
  const fields = new Set<ClientField>();
  const kinds = new Set<FloorKind>();
  const problems: CompatibilityProblem[] = [];
  const where = layout.scene + (variant === null ? '' : ` (variant ${variant})`);
  /** Records what `floor` would send the version without its understanding it: `got` as the message shows it, `since` when it arrived. */
  const problem = (p: { floor: string; line: number | undefined; what: CompatibilityProblem['what']; name: string; got: string; since: SinceVersion | undefined; remedy: string; sent?: string }) => {
    const from = sinceOn(p.since, platform);
    const known = from === undefined ? `understood by no ${platform} version in ${clients.file}` : `understood from ${platform} ${from}`;
    const at = p.line === undefined ? layout.file : `${layout.file}:${p.line}`;
    const noun = p.what === 'style' ? 'style token' : p.what === 'field' ? 'field' : 'floor kind';
    problems.push({
      platform,
      version,
      scene: layout.scene,
      variant,
      floor: p.floor,
      what: p.what,
      name: p.name,
      ...(p.sent === undefined ? {} : { sent: p.sent }),
      message: `${platform} ${version} must understand every ${noun} it is sent, but floor "${p.floor}" of ${where} would send it ${p.got} (${known}; ${p.remedy}) (${at})`,
    });
  };

  for (const floor of sent) {
    for (const token of floor.style) {
      const to = resolveStyle(token, layout.styles, client, platform);
      if (!styles.some((s) => s.token === token)) styles.push({ token, sent: to });
      if (to === null || understands(clients.understands.styles[to])) continue;
      const rule = layout.styles[token];
      const got = to === token ? `"${token}"` : `"${to}", the fallback of "${token}"`;
      const from = sinceOn(clients.understands.styles[to], platform);
      const remedy =
        rule === undefined
          ? 'add a rule under `styles:` whose fallback it understands'
          : to !== token
            ? `make the fallback a token ${platform} ${version} understands`
            : from === undefined
              ? `its \`styles:\` rule must not send it to ${platform}`
              : `its \`styles:\` rule sends it from ${minimumFor(rule.minAppVersion, platform) ?? 'every version'}: make that ${platform}: "${from}"`;
      problem({ floor: floor.code, line: floor.line, what: 'style', name: token, got, since: clients.understands.styles[to], remedy, sent: to });
    }
    for (const field of fieldsOf(floor)) {
      fields.add(field);
      const since = clients.understands.fields[field];
      if (!understands(since)) problem({ floor: floor.code, line: floor.line, what: 'field', name: field, got: field, since, remedy: 'give the floor a minAppVersion, or leave the field out' });
    }
    const kind = floor.builder.kind;
    kinds.add(kind);
    const since = clients.understands.kinds[kind];
    if (!understands(since)) problem({ floor: floor.code, line: floor.line, what: 'kind', name: kind, got: `kind ${kind}`, since, remedy: 'give the floor a minAppVersion' });
  }
  const payable = sent.find((f) => f.builder.kind === 'PAYABLE');
  if (payable !== undefined && sent.some((f) => f.builder.kind === 'GOODS')) {
    for (const { code, kind } of RECONCILIATION_ROWS) {
      if (kinds.has(kind)) continue;
      kinds.add(kind);
      const since = clients.understands.kinds[kind];
      if (!understands(since)) {
        const got = `kind ${kind} (the row the renderer adds above "${payable.code}" when the rows do not add up)`;
        problem({ floor: code, line: payable.line, what: 'kind', name: kind, got, since, remedy: `give "${payable.code}" a minAppVersion` });
      }
    }
  }
  const row = {
    floors: sent.map((f) => f.code),
    tooNew,
    styles,
    fields: CLIENT_FIELDS.filter((f) => fields.has(f)),
    kinds: FLOOR_KINDS.filter((k) => kinds.has(k)),
  };
  return { platform, version, scene: layout.scene, variant, checked: true, oldestSupported, ...row, problems, summary: summarize(row) };
}

/** A checked row's {@link CompatibilityRow.summary}. */
function summarize(row: Pick<CompatibilityRow, 'floors' | 'tooNew' | 'styles' | 'fields' | 'kinds'>): string {
  const parts = [`${row.floors.length} floor(s)`];
  if (row.tooNew.length > 0) parts[0] += ` (not ${row.tooNew.map((t) => `${t.floor}: needs ${t.minAppVersion}`).join(', ')})`;
  if (row.styles.length > 0) parts.push(`styles ${row.styles.map((s) => (s.sent === s.token ? s.token : `${s.token}→${s.sent ?? 'none'}`)).join(', ')}`);
  if (row.fields.length > 0) parts.push(`fields ${row.fields.join(', ')}`);
  parts.push(`kinds ${row.kinds.join(', ')}`);
  return parts.join('; ');
}

/** The optional fields a floor may send. */
function fieldsOf(floor: CompiledFloor): ClientField[] {
  const fields: ClientField[] = [];
  if (floor.subName !== undefined || floor.subNameFallback !== undefined) fields.push('subName');
  if (floor.zeroText !== undefined) fields.push('zeroText');
  return fields;
}

/**
 * The matrix as plain text, one line per row under a header:
 * `ok       ios       11.2.0   cart-bottom-sheet   10 floors; styles bold, muted, emphasis→bold; fields subName, zeroText; kinds …`.
 */
export function formatCompatibility(report: CompatibilityReport): string[] {
  const table: string[][] = [];
  for (const row of report.rows) {
    if (!row.checked) {
      // One line per version nothing is checked for, not one per scene.
      if (table.some((cells) => cells[1] === row.platform && cells[2] === row.version)) continue;
      table.push(['unchecked', row.platform, row.version, '(every scene)', row.summary]);
      continue;
    }
    const gets = row.problems.length > 0 ? `${row.summary}; ${row.problems.length} problem(s) below` : row.summary;
    table.push([row.problems.length > 0 ? 'REFUSED' : 'ok', row.platform, row.version, row.scene + (row.variant === null ? '' : ` (${row.variant})`), gets]);
  }
  const header = ['', 'platform', 'version', 'scene', 'what it would get'];
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((cells) => (cells[i] as string).length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number))).join('  ').trimEnd();
  return [line(header), ...table.map(line)];
}

/** FLOORPLAN_ERR_LAYOUT_INCOMPATIBLE, carrying the whole matrix for the CLI to print and the API to return. */
export class IncompatibleLayouts extends FloorplanError<typeof ErrorCode.LAYOUT_INCOMPATIBLE> {
  readonly report: CompatibilityReport;

  constructor(report: CompatibilityReport) {
    super(ErrorCode.LAYOUT_INCOMPATIBLE, { clients: report.clientsFile, count: report.problems.length, problems: report.problems.map((p) => p.message).join('\n- ') });
    this.report = report;
  }
}

/** Throws {@link IncompatibleLayouts} when some live version would be sent something it does not understand; the report otherwise. */
export function assertCompatible(layouts: LayoutSet, clients: ClientsConfig): CompatibilityReport {
  const report = checkCompatibility(layouts, clients);
  if (report.problems.length > 0) throw new IncompatibleLayouts(report);
  return report;
}
