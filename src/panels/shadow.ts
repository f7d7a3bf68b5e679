/**
 * Shadow comparison (the seeds' 并行比对, GitHub Scientist / Twitter Diffy): while a scene has a
 * layout candidate, a sampled share of the requests served the live layout also render the
 * candidate — from the same request's data, after the answer was computed — and the two
 * panels are compared floor by floor: which floors, their order, amounts, price texts, names,
 * sub-names and styles in the viewer's locale, and whether each panel's money adds up; then the
 * texts (names, sub-names, price texts) in every other configured locale, both panels rendered
 * again from the same data in that locale.
 *
 * - **No extra upstream call.** The served render reads its data through {@link ShadowComparer.record},
 *   which notes the upstreams it asked; the shadow render replays only those (the request's
 *   loaders already hold their answers). A candidate floor that needs an upstream the served
 *   panel never asked for is not fetched: that comparison counts as `skipped`.
 * - **Off the critical path.** The shadow render is scheduled with setImmediate once the
 *   resolver has its panel; it never delays or fails the answer (any error counts as `failed`).
 * - **Who is compared.** Only viewers served the live layout: a viewer in the candidate's
 *   rollout (allow-list or percentage) got the candidate, so there is nothing to compare them with.
 * - **Where the results live.** In memory, per replica, per scene and staging of a candidate (a
 *   new candidate revision, or the same one aborted and staged again, starts from zero); with Redis, every replica's are also summed there
 *   (shadow-totals.ts), which the admin API's `shadow` and promote read.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { CompiledLayout } from '../layouts/compile.ts';
import type { PanelData } from '../loaders/panel-data.ts';
import type { UpstreamName } from '../upstreams/registry.ts';
import { UpstreamError } from '../upstreams/upstream-error.ts';
import { keepsInvariant } from './money-invariant.ts';
import type { RenderedFloor, RenderedPanel } from './panel.ts';
import type { FlagReader, FloorOutcome, RenderRequest, RenderViewer } from './renderer.ts';

/** How one comparison ended. */
export type ShadowResult = 'identical' | 'different' | 'skipped' | 'failed';
export const SHADOW_RESULTS: readonly ShadowResult[] = ['identical', 'different', 'skipped', 'failed'];

/**
 * Why a sampled request was not compared. `upstream-not-loaded`: the candidate needed an upstream
 * the served panel did not ask for (no extra call is made); `served-degraded`: the served panel
 * was degraded (an upstream outage, a kill switch), so it says nothing about the candidate and
 * would only inflate the identical count; `served-empty`: it had no rows at all.
 */
export type ShadowSkipReason = 'upstream-not-loaded' | 'served-degraded' | 'served-empty';
export const SHADOW_SKIP_REASONS: readonly ShadowSkipReason[] = ['upstream-not-loaded', 'served-degraded', 'served-empty'];

/** A staging of a scene's candidate: its revision, and when it was staged (the same revision staged again is another). */
export interface ShadowStaging {
  readonly revision: number;
  /** ISO 8601: when the candidate was staged (StoredCandidate.createdAt). */
  readonly createdAt: string;
}

/**
 * What differs in a floor between the served panel and the candidate's. `build`: the floor failed
 * (its builder or expression, an upstream, the reconciliation) in one panel and not in the other,
 * or differently; `degradedReasons`: the panels are degraded for different reasons (one of them
 * not at all), under the floor code {@link PANEL}.
 */
export type ShadowField = 'presence' | 'order' | 'amount' | 'priceText' | 'name' | 'subName' | 'style' | 'kind' | 'build' | 'degradedReasons';

/** The "floor" a panel-wide difference (`degradedReasons`) is counted under: no floor code has parentheses. */
export const PANEL = '(panel)';

/**
 * One differing request, kept as an example: the user id hashed, never in clear. Kept: the first
 * few (`maxExamples`), and the first of every floor and field that differs, so a difference only a
 * few users see (a row only some carts have) has one too.
 */
export interface ShadowExample {
  /** First 12 hex digits of sha256(userId). */
  readonly user: string;
  readonly locale: string;
  /** The viewer's platform (`x-app-platform`; `unknown` when not sent). */
  readonly platform: string;
  /** The viewer's app version (`x-app-version`); null when not sent. */
  readonly appVersion: string | null;
  readonly segments: readonly string[];
  readonly at: string;
  readonly differences: ReadonlyArray<ShadowDifference>;
}

/** One field of one floor that differs; `locale` set for a text that differs in a locale other than the viewer's. */
export interface ShadowDifference {
  readonly floor: string;
  readonly field: ShadowField;
  readonly served: unknown;
  readonly candidate: unknown;
  readonly locale?: string;
}

/** A candidate's comparison so far, on this replica. */
export interface ShadowReport {
  readonly scene: string;
  readonly candidateRevision: number;
  /** ISO 8601: when this candidate was staged; a staging of the same revision again is compared afresh. */
  readonly staged: string;
  /** Comparisons done (identical + different); skipped and failed ones are not comparisons. */
  readonly compared: number;
  readonly identical: number;
  readonly different: number;
  /** Sampled but not compared: the candidate needed an upstream the served panel did not ask for (no extra call is made), or the served panel was degraded or empty. */
  readonly skipped: number;
  /** {@link skipped} by why (a reason absent: none skipped for it). */
  readonly skippedBy: Readonly<Partial<Record<ShadowSkipReason, number>>>;
  readonly failed: number;
  /** By floor code, then field: how many comparisons differed there. */
  readonly differences: Readonly<Record<string, Readonly<Partial<Record<ShadowField, number>>>>>;
  /** Panels whose GOODS + DEDUCTION + CHARGE rows did not add up to PAYABLE (or had to be repaired: PARTIAL_BREAKDOWN). */
  readonly invariantViolations: {
    /** The candidate's panel broke the invariant on data where the served panel kept it: what blocks promote. */
    readonly candidate: number;
    /** The served panel broke it too (the data's fault, not the candidate's); not counted against it. */
    readonly both: number;
  };
  readonly examples: readonly ShadowExample[];
  /** Time the shadow renders and comparisons took on this replica's event loop (off the answers' path). */
  readonly cost: { readonly totalMs: number; readonly maxMs: number; readonly meanMs: number };
  /** This replica's process id and the share of live requests sampled. */
  readonly replica: { readonly pid: number; readonly sampleRatio: number };
}

export interface ShadowComparerOptions {
  /** Share of live requests of a scene with a candidate that are also shadow-rendered, 0 to 1 (config `layouts.shadow.sampleRatio`). */
  readonly sampleRatio: number;
  /** Renders a panel and says what happened to each configured floor (PanelRenderer.renderExplained). */
  readonly render: (request: RenderRequest) => Promise<{ readonly panel: RenderedPanel; readonly outcomes: readonly FloorOutcome[] }>;
  readonly logger: Logger;
  /** Told after each comparison (metrics). */
  readonly onComparison?: (
    scene: string,
    result: ShadowResult,
    detail: {
      readonly revision: number;
      /** When the candidate compared was staged (with `revision`, which totals it goes to). */
      readonly staged: string;
      /** Why, when `result` is skipped. */
      readonly skipReason?: ShadowSkipReason;
      readonly fields: ReadonlyArray<{ floor: string; field: ShadowField }>;
      readonly candidateViolation: boolean;
      /** Both panels broke the invariant (the data's fault, not the candidate's). */
      readonly bothViolation: boolean;
      readonly seconds: number;
      /** Set when the comparison differed or the candidate broke the invariant, kept here or not. */
      readonly example?: ShadowExample;
    },
  ) => void;
  /** Default Math.random. */
  readonly random?: () => number;
  /** The first examples kept per candidate, whatever differs in them; default 5. Past them, only the first of each floor and field (at most {@link MAX_FIELD_EXAMPLES} more). */
  readonly maxExamples?: number;
  /** Every configured locale (`floors.locales`): texts are compared in each, not only the viewer's. Default: the viewer's only. */
  readonly locales?: readonly string[];
}

/** A request's panel data as the served render read it. */
export interface RecordedData {
  /** What the served render reads: the request's data, noting each upstream asked. */
  readonly data: PanelData;
  /** The upstreams asked so far. */
  readonly asked: ReadonlySet<UpstreamName>;
}

interface Tally {
  revision: number;
  staged: string;
  identical: number;
  different: number;
  skipped: number;
  skippedBy: Partial<Record<ShadowSkipReason, number>>;
  failed: number;
  differences: Record<string, Partial<Record<ShadowField, number>>>;
  candidateViolations: number;
  bothViolations: number;
  examples: ShadowExample[];
  /** The floor/field differences some kept example shows ({@link exampleKeys}). */
  exampled: Set<string>;
  totalMs: number;
  maxMs: number;
}

/**
 * Shadow comparisons waiting or running at once, per replica; past it, requests are not
 * sampled. Each costs about a millisecond of event-loop time (the report's `cost`,
 * floorplan_shadow_seconds), so this bounds the shadow's share of a busy replica.
 */
const MAX_PENDING = 16;

/**
 * Examples kept past `maxExamples`, each the first of a floor and field no kept example shows. A
 * layout has a few dozen floors and a handful of fields, so this bounds the report, not what it shows.
 */
export const MAX_FIELD_EXAMPLES = 50;

/** The floor/field differences an example shows, as `<floor>:<field>` (how the Redis totals name them too). */
export function exampleKeys(example: ShadowExample): string[] {
  return [...new Set(example.differences.map(({ floor, field }) => `${floor}:${field}`))];
}

/** Floor by floor: what differs between the served panel and the candidate's. */
export function compareFloors(served: readonly RenderedFloor[], candidate: readonly RenderedFloor[]): Array<{ floor: string; field: ShadowField; served: unknown; candidate: unknown }> {
  const out: Array<{ floor: string; field: ShadowField; served: unknown; candidate: unknown }> = [];
  const byCode = new Map(candidate.map((f, i) => [f.code, { floor: f, index: i }]));
  const servedCodes = new Set(served.map((f) => f.code));
  // Order: the relative order of the floors both panels have.
  const common = served.filter((f) => byCode.has(f.code)).map((f) => f.code);
  const commonInCandidate = candidate.filter((f) => servedCodes.has(f.code)).map((f) => f.code);
  served.forEach((s) => {
    const other = byCode.get(s.code);
    if (other === undefined) {
      out.push({ floor: s.code, field: 'presence', served: true, candidate: false });
      return;
    }
    const c = other.floor;
    if (common.indexOf(s.code) !== commonInCandidate.indexOf(s.code)) out.push({ floor: s.code, field: 'order', served: common.indexOf(s.code), candidate: commonInCandidate.indexOf(s.code) });
    if ((s.amount?.minor ?? null) !== (c.amount?.minor ?? null) || (s.amount?.currency ?? null) !== (c.amount?.currency ?? null)) out.push({ floor: s.code, field: 'amount', served: s.amount, candidate: c.amount });
    if (s.priceText !== c.priceText) out.push({ floor: s.code, field: 'priceText', served: s.priceText, candidate: c.priceText });
    if (s.name !== c.name) out.push({ floor: s.code, field: 'name', served: s.name, candidate: c.name });
    if (s.subName !== c.subName) out.push({ floor: s.code, field: 'subName', served: s.subName, candidate: c.subName });
    if (s.style.join(' ') !== c.style.join(' ')) out.push({ floor: s.code, field: 'style', served: s.style, candidate: c.style });
    if (s.kind !== c.kind) out.push({ floor: s.code, field: 'kind', served: s.kind, candidate: c.kind });
  });
  for (const c of candidate) if (!servedCodes.has(c.code)) out.push({ floor: c.code, field: 'presence', served: false, candidate: true });
  return out;
}

/** The outcomes that mean a floor, or part of it, could not be shown as configured. */
const FAILED_OUTCOMES: ReadonlySet<FloorOutcome['status']> = new Set(['builder-failed', 'upstream-failed', 'undecorated', 'fallback', 'unreconciled']);

/** What went wrong with a floor, as an operator reads it; null when it did not fail (or is not configured). */
function failureOf(outcome: FloorOutcome | undefined): string | null {
  if (outcome === undefined || !FAILED_OUTCOMES.has(outcome.status)) return null;
  switch (outcome.status) {
    case 'builder-failed':
      return `builder-failed: ${outcome.error}`;
    case 'upstream-failed':
      return `upstream-failed: ${outcome.upstream} ${outcome.outcome}`;
    case 'undecorated':
      return outcome.upstream === null ? `undecorated: ${outcome.error ?? 'decorations failed'}` : `undecorated: ${outcome.upstream} ${outcome.outcome ?? ''}`.trimEnd();
    case 'fallback':
      return `fallback: ${outcome.upstream} failed, ${outcome.builder} answered`;
    default:
      return outcome.status;
  }
}

/** The part of a failure two panels must share to have failed alike (an error's text may carry the request's values). */
const failureKind = (failure: string | null) => (failure === null ? null : failure.startsWith('builder-failed') ? 'builder-failed' : failure.replace(/^(undecorated): .*$/, '$1'));

/**
 * What differs in how the panels were built: a floor that failed in one and not the other (or
 * otherwise), and the panels' degraded reasons. A candidate floor that fails on every render is
 * never in its panel, so {@link compareFloors} alone would call the panels identical.
 */
export function compareBuilds(
  served: { readonly panel: RenderedPanel; readonly outcomes: readonly FloorOutcome[] },
  candidate: { readonly panel: RenderedPanel; readonly outcomes: readonly FloorOutcome[] },
): Array<{ floor: string; field: ShadowField; served: unknown; candidate: unknown }> {
  const out: Array<{ floor: string; field: ShadowField; served: unknown; candidate: unknown }> = [];
  const servedBy = new Map(served.outcomes.map((o) => [o.code, o]));
  const candidateBy = new Map(candidate.outcomes.map((o) => [o.code, o]));
  for (const code of new Set([...servedBy.keys(), ...candidateBy.keys()])) {
    const s = failureOf(servedBy.get(code));
    const c = failureOf(candidateBy.get(code));
    if (failureKind(s) !== failureKind(c)) out.push({ floor: code, field: 'build', served: s, candidate: c });
  }
  if (served.panel.degradedReasons.join(' ') !== candidate.panel.degradedReasons.join(' ')) {
    out.push({ floor: PANEL, field: 'degradedReasons', served: [...served.panel.degradedReasons], candidate: [...candidate.panel.degradedReasons] });
  }
  return out;
}

const hashUser = (userId: string) => createHash('sha256').update(userId).digest('hex').slice(0, 12);

/** The marker a replayed upstream the served panel never asked for rejects with. */
class NotLoaded extends UpstreamError {}

export class ShadowComparer {
  private readonly options: ShadowComparerOptions;
  private readonly tallies = new Map<string, Tally>();
  /** Comparisons scheduled and not finished: a cap, so a burst of traffic cannot queue shadow work without bound. */
  private pending = 0;

  constructor(options: ShadowComparerOptions) {
    this.options = options;
  }

  /** Whether this request is one of the sampled share (never while {@link MAX_PENDING} comparisons already wait). */
  sampled(): boolean {
    const ratio = this.options.sampleRatio;
    if (ratio <= 0 || this.pending >= MAX_PENDING) return false;
    return ratio >= 1 || (this.options.random ?? Math.random)() < ratio;
  }

  /** The request's data, noting which upstreams the served render asks for. */
  record(data: PanelData): RecordedData {
    const asked = new Set<UpstreamName>();
    const get: PanelData['get'] = (upstream) => {
      asked.add(upstream);
      return data.get(upstream);
    };
    return {
      asked,
      data: {
        get,
        selectedLines: () => {
          // The selection is resolved against the cart: asking for it loads the cart.
          asked.add('cart');
          return data.selectedLines();
        },
        cart: () => get('cart'),
        promotion: () => get('promotion'),
        quote: () => get('settlement'),
      },
    };
  }

  /**
   * Compares, after the current I/O callbacks (off the answer's path), the served panel with the
   * candidate rendered from the same data. Never throws; never delays the caller.
   */
  schedule(input: {
    readonly scene: string;
    readonly candidate: ShadowStaging & { readonly layout: CompiledLayout };
    readonly viewer: RenderViewer & { readonly userId: string };
    readonly flags?: FlagReader;
    readonly served: RenderedPanel;
    /** What happened to each configured floor of the served panel (PanelRenderer.renderExplained). */
    readonly servedOutcomes: readonly FloorOutcome[];
    readonly recorded: RecordedData;
    readonly source: PanelData;
  }): void {
    this.pending += 1;
    setImmediate(() => {
      this.compare(input)
        .catch((error: unknown) => this.options.logger.warn({ err: error, scene: input.scene }, 'shadow comparison failed; the answer was not affected'))
        .finally(() => (this.pending -= 1));
    });
  }

  /** This replica's report for a staging of a scene's candidate (all zeros when it compared nothing for it yet). */
  report(scene: string, staging: ShadowStaging): ShadowReport {
    const found = this.tallies.get(scene);
    const t = found !== undefined && isStaging(found, staging) ? found : emptyTally(staging);
    const compared = t.identical + t.different;
    const runs = compared + t.skipped + t.failed;
    return {
      scene,
      candidateRevision: t.revision,
      staged: t.staged,
      compared,
      identical: t.identical,
      different: t.different,
      skipped: t.skipped,
      skippedBy: { ...t.skippedBy },
      failed: t.failed,
      differences: structuredClone(t.differences),
      invariantViolations: { candidate: t.candidateViolations, both: t.bothViolations },
      examples: [...t.examples],
      cost: { totalMs: round(t.totalMs), maxMs: round(t.maxMs), meanMs: runs === 0 ? 0 : round(t.totalMs / runs) },
      replica: { pid: process.pid, sampleRatio: this.options.sampleRatio },
    };
  }

  /** What promote reads on this replica for a staging of `scene`'s candidate: panels compared and candidate invariant violations (0 and 0 when none). */
  verdict(scene: string, staging: ShadowStaging): { readonly compared: number; readonly invariantViolations: number } {
    const t = this.tallies.get(scene);
    return t === undefined || !isStaging(t, staging) ? { compared: 0, invariantViolations: 0 } : { compared: t.identical + t.different, invariantViolations: t.candidateViolations };
  }

  /** Keeps `example` when among the first few, or the first to show one of its floor/field differences. */
  private keep(t: Tally, example: ShadowExample): void {
    const max = this.options.maxExamples ?? 5;
    const keys = exampleKeys(example);
    const first = t.examples.length < max;
    const shows = keys.some((key) => !t.exampled.has(key));
    if (!first && (!shows || t.examples.length >= max + MAX_FIELD_EXAMPLES)) return;
    t.examples.push(example);
    for (const key of keys) t.exampled.add(key);
  }

  private tally(scene: string, staging: ShadowStaging): Tally {
    let t = this.tallies.get(scene);
    if (t === undefined || !isStaging(t, staging)) {
      t = emptyTally(staging);
      this.tallies.set(scene, t);
    }
    return t;
  }

  /**
   * The texts that differ in the locales other than the viewer's: both panels rendered again from
   * the same replayed data in each (amounts and order were compared in the viewer's).
   */
  private async otherLocales(input: Parameters<ShadowComparer['schedule']>[0], replay: PanelData): Promise<ShadowDifference[]> {
    const differences: ShadowDifference[] = [];
    for (const locale of this.options.locales ?? []) {
      if (locale === input.viewer.locale) continue;
      const request = { scene: input.scene, data: replay, viewer: { ...input.viewer, locale }, ...(input.flags === undefined ? {} : { flags: input.flags }), shadow: true };
      const [live, candidate] = await Promise.all([this.options.render(request), this.options.render({ ...request, candidate: input.candidate })]);
      for (const d of compareFloors(live.panel.floors, candidate.panel.floors)) if (TEXT_FIELDS.has(d.field)) differences.push({ ...d, locale });
    }
    return differences;
  }

  private async compare(input: Parameters<ShadowComparer['schedule']>[0]): Promise<void> {
    const started = performance.now();
    const t = this.tally(input.scene, input.candidate);
    const missed = new Set<UpstreamName>();
    const { source, recorded } = input;
    const replayGet: PanelData['get'] = (upstream) => {
      if (!recorded.asked.has(upstream)) {
        missed.add(upstream);
        return Promise.reject(new NotLoaded(upstream, 'killed', 'not loaded by the served panel; a shadow render makes no upstream call'));
      }
      return source.get(upstream);
    };
    const replay: PanelData = {
      get: replayGet,
      selectedLines: () => source.selectedLines(),
      cart: () => replayGet('cart'),
      promotion: () => replayGet('promotion'),
      quote: () => replayGet('settlement'),
    };
    let result: ShadowResult;
    let fields: Array<{ floor: string; field: ShadowField }> = [];
    let candidateViolation = false;
    let bothViolation = false;
    let example: ShadowExample | undefined;
    // A served panel an outage or a kill switch degraded (or emptied) is no baseline: comparing
    // with it would count the candidate identical for having failed the same way.
    let skipReason: ShadowSkipReason | undefined = input.served.degraded ? 'served-degraded' : input.served.floors.length === 0 ? 'served-empty' : undefined;
    if (skipReason !== undefined) {
      result = 'skipped';
    } else {
      try {
        const { panel: shadow, outcomes } = await this.options.render({
          scene: input.scene,
          data: replay,
          viewer: input.viewer,
          ...(input.flags === undefined ? {} : { flags: input.flags }),
          candidate: input.candidate,
          shadow: true,
        });
        if (missed.size > 0) {
          result = 'skipped';
          skipReason = 'upstream-not-loaded';
        } else {
          const differences: ShadowDifference[] = compareFloors(input.served.floors, shadow.floors);
          differences.push(...compareBuilds({ panel: input.served, outcomes: input.servedOutcomes }, { panel: shadow, outcomes }));
          differences.push(...(await this.otherLocales(input, replay)));
          // Each floor field counts once per comparison, in however many locales it differs.
          fields = [...new Map(differences.map(({ floor, field }) => [`${floor}\u0000${field}`, { floor, field }])).values()];
          result = differences.length === 0 ? 'identical' : 'different';
          const servedKeeps = keepsInvariant(input.served);
          const candidateKeeps = keepsInvariant(shadow);
          if (!candidateKeeps && servedKeeps) {
            candidateViolation = true;
            t.candidateViolations += 1;
          } else if (!candidateKeeps) {
            bothViolation = true;
            t.bothViolations += 1;
          }
          for (const { floor, field } of fields) {
            const byField = (t.differences[floor] ??= {});
            byField[field] = (byField[field] ?? 0) + 1;
          }
          if (differences.length > 0 || candidateViolation) {
            const { viewer } = input;
            example = { user: hashUser(viewer.userId), locale: viewer.locale, platform: viewer.platform, appVersion: viewer.appVersion, segments: [...viewer.segments], at: new Date().toISOString(), differences };
            this.keep(t, example);
          }
        }
      } catch (error) {
        result = 'failed';
        this.options.logger.warn({ err: error, scene: input.scene, revision: input.candidate.revision }, 'shadow render of the candidate failed; the answer was not affected');
      }
    }
    t[result] += 1;
    if (result === 'skipped' && skipReason !== undefined) t.skippedBy[skipReason] = (t.skippedBy[skipReason] ?? 0) + 1;
    const ms = performance.now() - started;
    t.totalMs += ms;
    t.maxMs = Math.max(t.maxMs, ms);
    this.options.onComparison?.(input.scene, result, { revision: input.candidate.revision, staged: input.candidate.createdAt, ...(result === 'skipped' && skipReason !== undefined ? { skipReason } : {}), fields, candidateViolation, bothViolation, seconds: ms / 1000, ...(example === undefined ? {} : { example }) });
  }
}

/** What is compared again in the other locales: the texts. */
const TEXT_FIELDS: ReadonlySet<ShadowField> = new Set(['name', 'subName', 'priceText']);

/** Whether a tally is of this staging: the same revision, staged at the same moment (compared as instants, not texts). */
const isStaging = (t: Tally, staging: ShadowStaging) => t.revision === staging.revision && sameInstant(t.staged, staging.createdAt);

/** Whether two ISO 8601 texts name the same instant (however each was written). */
const sameInstant = (a: string, b: string) => a === b || Date.parse(a) === Date.parse(b);

const emptyTally = ({ revision, createdAt }: ShadowStaging): Tally => ({ revision, staged: createdAt, identical: 0, different: 0, skipped: 0, skippedBy: {}, failed: 0, differences: {}, candidateViolations: 0, bothViolations: 0, examples: [], exampled: new Set(), totalMs: 0, maxMs: 0 });

const round = (ms: number) => Math.round(ms * 1000) / 1000;
