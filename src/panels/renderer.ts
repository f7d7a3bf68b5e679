/**
 * PanelRenderer: layout → build every enabled floor (and its decorations) in parallel →
 * settle failures → reconcile the rows with the payable total → format once for the locale.
 *
 * Degradation is per field: a floor whose *amount's* upstream failed is dropped; a floor whose
 * *decoration* failed (a campaign title, the quota left) keeps its row without that sub-name.
 * One floor's failure never fails its siblings or the request. Before the panel leaves, the
 * GOODS, DEDUCTION and CHARGE rows shown must add up to the PAYABLE row shown, and every
 * summary a sub-name quotes (savings) must equal the rows it summarises; a panel that would
 * not is served in its safe form (see {@link reconcile}), degraded with a reason.
 */
import type { Logger } from 'pino';
import { ErrorCode, FloorplanError } from '../errors.ts';
import type { SemVer } from 'semver';
import { AMOUNT_SIGN, amountSignRule, type BuilderViewer, type FloorBuildContext, type FloorFacts, type FloorKind, type TemplateValue } from '../floors/builder.ts';
import { floorTooNewFor, styleFor } from '../layouts/client-view.ts';
import { RECONCILIATION_CODES, type CompiledFloor, type CompiledLayout, type LayoutSet, type LayoutVersion } from '../layouts/compile.ts';
import { candidateLayoutVersion } from '../layouts/revisions/candidates.ts';
import { renderTemplate } from '../layouts/template.ts';
import type { PanelData, SettledPanelData, SettlementQuote } from '../loaders/panel-data.ts';
import { settlePanelData, Unsettled } from '../loaders/settle.ts';
import { isKnownCurrency } from '../money/currency.ts';
import { formatMoney } from '../money/format.ts';
import type { Money } from '../money/money.ts';
import { requestLogFields, type LoggedRequest } from '../observability/logger.ts';
import { UPSTREAMS, type UpstreamName } from '../upstreams/registry.ts';
import { isUpstreamError, type UpstreamError } from '../upstreams/upstream-error.ts';
import { clientVersionOf } from '../viewer/app-version.ts';
import { DEGRADED_REASONS, type BreakdownRepair, type DegradedReason, type Disagreement, type Overclaim, type RenderedFloor, type RenderedPanel, type SummedRow } from './panel.ts';

/** A request's feature-flag decisions, as the renderer reads them (each flag decided once per request). */
export interface FlagReader {
  isEnabled(flag: string): boolean;
  /** The viewer's variant of a flag; `enabled: false` when the flag is off or has no variants. */
  variant(flag: string): { readonly name: string; readonly enabled: boolean };
}

/** The viewer, as far as rendering cares: builders see segments and platform; gating uses the version. */
export interface RenderViewer extends BuilderViewer {
  readonly locale: string;
  /** Client version from `x-app-version`; null when unknown (treated as older than any minimum). */
  readonly appVersion: string | null;
}

export interface RenderRequest {
  readonly scene: string;
  readonly data: PanelData;
  readonly viewer: RenderViewer;
  /** Without flags every flagged floor is shown and the default layout used (tests, tools). */
  readonly flags?: FlagReader;
  /**
   * Render this layout candidate of the scene instead of the live layout (the viewer is in its
   * rollout, or a shadow comparison); `layoutVersion` then says so (candidateLayoutVersion).
   */
  readonly candidate?: { readonly revision: number; readonly layout: CompiledLayout };
  /** A shadow render (never served): the lifecycle hooks are not told, so metrics count served panels only. */
  readonly shadow?: boolean;
  /**
   * The request this render serves (its context): every line the render logs names its
   * decisionId (and traceId, when traced), so an operator reading the line can open that
   * request's decision record. A line logged once per cause names the request that logged it.
   * Absent: a render for no user's request (tests, tools); its lines name none.
   */
  readonly request?: LoggedRequest;
}

/**
 * Whose render a failure happened in, for its log line: undefined for a served render; for a
 * shadow render (never served), the candidate revision it rendered, or null for the live layout
 * rendered again in another locale. A shadow render's failures are logged at debug, under their
 * own rate-limit keys: they are not production incidents, and must not hold back a served one's.
 */
type ShadowScope = { readonly revision: number | null } | undefined;

/** What a failure did to its floor: dropped it, or only took its decorations (the sub-name fell back). */
type FailureEffect = 'dropped' | 'undecorated';

/** What happened to each configured floor of a panel (for logs, metrics and the operator preview). */
export type FloorOutcome =
  | { readonly code: string; readonly status: 'shown' }
  /** Shown with its amount, without the decoration variables named (its sub-name fell back); `upstream` when one failed. */
  | {
      readonly code: string;
      readonly status: 'undecorated';
      readonly missing: readonly string[];
      readonly upstream: UpstreamName | null;
      readonly outcome: UpstreamError['outcome'] | null;
      /** When no upstream failed: what did (the decoration's builder or expression), as logged. */
      readonly error?: string;
    }
  /**
   * Built, but left out because the rows could not be reconciled with the payable total: no goods
   * row to carry the difference, rows of a kind showing more than the quote has, a goods row
   * or total whose amount is not settlement's, or a total no quote backs that they do not add up to.
   */
  | { readonly code: string; readonly status: 'unreconciled' }
  | { readonly code: string; readonly status: 'fallback'; readonly upstream: UpstreamName; readonly builder: string }
  | { readonly code: string; readonly status: 'disabled' }
  | { readonly code: string; readonly status: 'flag-off'; readonly flag: string }
  | { readonly code: string; readonly status: 'client-too-old'; readonly required: string; readonly appVersion: string | null }
  | { readonly code: string; readonly status: 'empty' }
  | { readonly code: string; readonly status: 'zero' }
  | { readonly code: string; readonly status: 'upstream-failed'; readonly upstream: UpstreamName; readonly outcome: UpstreamError['outcome'] }
  | { readonly code: string; readonly status: 'builder-failed'; readonly error: string };

/** Optional lifecycle hooks, named for their moment. */
export interface RendererHooks {
  /**
   * After a rendered panel is served to a user ({@link PanelRenderer.served}), with what happened
   * to each configured floor. Not for a panel rendered and then refused (a deadline Floorplan's
   * own saturation spent: OVERLOADED, shed "late"), a shadow render or an operator's preview:
   * what this feeds (the panel metrics, the degraded-panels alert) is what users were shown.
   */
  panelServed?(panel: RenderedPanel, outcomes: readonly FloorOutcome[]): void;
}

/** A rendered panel, what happened to each configured floor, and the revisions it was rendered from. */
export interface ExplainedPanel {
  readonly panel: RenderedPanel;
  readonly outcomes: readonly FloorOutcome[];
  /**
   * The live revision served when the layout was read (PanelRendererOptions.revision; 0: the floors
   * folder's), whichever was rendered: `layoutVersion` alone does not tell apart two revisions
   * that changed a scene under the same `version:`. Null: not known.
   */
  readonly revision: number | null;
  /** The candidate revision rendered instead of the live layout (RenderRequest.candidate), or null. */
  readonly candidateRevision: number | null;
  /** What the rows were before the renderer repaired them; null unless the panel is `PARTIAL_BREAKDOWN`. */
  readonly repair: BreakdownRepair | null;
}

export interface PanelRendererOptions {
  /** The current layouts; called per render so a hot-reloaded set takes effect at once. */
  readonly layouts: () => LayoutSet;
  /**
   * The published revision `layouts` answers now (LayoutStore.revision: 0 while it is the floors
   * folder's), read with it, for the decision record. Absent: not known (null there).
   */
  readonly revision?: () => number;
  readonly logger: Logger;
  readonly hooks?: RendererHooks;
}

/** A floor its fallback builder answered, because its own builder's upstream failed. */
class FellBack {
  constructor(
    readonly facts: FloorFacts | null,
    readonly fellBack: { readonly upstream: UpstreamName; readonly builder: string; readonly reason: DegradedReason },
  ) {}
}

/** What building a floor gives: its facts (null: the floor does not apply), or its fallback's. */
type Built = FloorFacts | null | FellBack;

/** A floor's build, as it ended. */
type Attempt = PromiseSettledResult<Built>;

/** A floor's decoration variables, or why there are none. */
type Decorated = { readonly vars: Readonly<Record<string, TemplateValue>> } | { readonly error: unknown };

/** A row on its way to the panel: the floor, its facts with every variable it got, its style. */
interface PendingRow {
  readonly floor: CompiledFloor;
  readonly kind: FloorKind;
  readonly amount: Money | null;
  /** Replaced, never mutated: it may be the builder's own object. */
  vars: Readonly<Record<string, TemplateValue>>;
  readonly style: readonly string[];
}

/** The kinds whose signed amounts add up to the PAYABLE row. */
const SUMMED_KINDS: ReadonlySet<FloorKind> = new Set<FloorKind>(['GOODS', 'DEDUCTION', 'CHARGE']);

const NO_VARS: Readonly<Record<string, TemplateValue>> = Object.freeze({});

/**
 * The exact sum of safe-integer amounts: plain numbers while every partial sum stays within
 * the safe range (the usual case, no allocation), BigInt from the first one that would not.
 */
function exactSum(amounts: readonly number[]): bigint | number {
  let total = 0;
  for (let i = 0; i < amounts.length; i++) {
    const next = total + amounts[i]!;
    if (!Number.isSafeInteger(next)) {
      let big = BigInt(total);
      for (let j = i; j < amounts.length; j++) big += BigInt(amounts[j]!);
      return big;
    }
    total = next;
  }
  return total;
}

/** `payable − total` as a safe integer (exact: a float result in the safe range is the true one), or NaN when it is not one. */
function differenceFrom(payable: number, total: bigint | number): number {
  if (typeof total === 'number') {
    const difference = payable - total;
    return Number.isSafeInteger(difference) ? difference : Number.NaN;
  }
  const difference = BigInt(payable) - total;
  return difference >= BigInt(Number.MIN_SAFE_INTEGER) && difference <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(difference) : Number.NaN;
}

/** Names of the row that carries what the named rows do not show; a locale not listed gets English. */
const OTHER_ROW: Readonly<Record<'DEDUCTION' | 'CHARGE', { readonly code: string; readonly names: Readonly<Record<string, string>> }>> = {
  DEDUCTION: { code: RECONCILIATION_CODES.DEDUCTION, names: { 'zh-CN': '其他优惠', 'zh-TW': '其他優惠', en: 'Other discounts' } },
  CHARGE: { code: RECONCILIATION_CODES.CHARGE, names: { 'zh-CN': '其他费用', 'zh-TW': '其他費用', en: 'Other charges' } },
};

const MAX_REMEMBERED_FAILURES = 1000;
const UPSTREAM_LOG_INTERVAL_MS = 10_000;
const EXPRESSION_LOG_INTERVAL_MS = 60_000;

export class PanelRenderer {
  private readonly options: PanelRendererOptions;
  /** Builder failures already logged, by scene/floor/cause, so a bad floor logs once, not per request. */
  private readonly loggedFailures = new Set<string>();
  private readonly lastUpstreamLog = new Map<string, number>();
  private readonly lastExpressionLog = new Map<string, number>();

  constructor(options: PanelRendererOptions) {
    this.options = options;
  }

  hasScene(scene: string): boolean {
    return this.options.layouts().has(scene);
  }

  /** The scenes that can be rendered, sorted. */
  scenes(): string[] {
    return [...this.options.layouts().keys()].sort();
  }

  render(request: RenderRequest): Promise<RenderedPanel> {
    return this.renderExplained(request).then(panelOf);
  }

  /** Says a rendered panel was served to the user who asked: the resolver's call, once it is not refused. */
  served(panel: RenderedPanel, outcomes: readonly FloorOutcome[]): void {
    this.options.hooks?.panelServed?.(panel, outcomes);
  }

  /**
   * Renders and also says what happened to each configured floor, and what the rows were before
   * the renderer repaired them (`repair`, null unless the panel is `PARTIAL_BREAKDOWN`): for the
   * operator preview.
   */
  async renderExplained(request: RenderRequest): Promise<ExplainedPanel> {
    const layout = request.candidate?.layout ?? this.layoutFor(request.scene);
    // Read in the same turn as the layout: a swap in between would record another revision than the one rendered.
    const revision = this.options.revision?.() ?? null;
    const picked = pickVersion(layout, request.flags);
    const version = request.candidate === undefined ? picked.version : candidateLayoutVersion(picked.version, request.candidate.revision);
    const configured = picked.floors;
    const outcomes: FloorOutcome[] = [];
    const shadow: ShadowScope = request.shadow === true ? { revision: request.candidate?.revision ?? null } : undefined;
    const logged = request.request;
    const client = clientVersionOf(request.viewer.appVersion);
    const candidates = configured.filter((floor) => {
      const gate = gateFloor(floor, request, client);
      if (gate !== undefined) outcomes.push(gate);
      return gate === undefined;
    });
    // One wait for every upstream the floors read, then every floor built synchronously. A
    // builder that read beyond what was settled (plus95 asking promotion whether a zero row is a
    // member's) has that upstream settled too and is built again; each pass settles one more at
    // least, so this ends within the registry's count.
    const reads = readsOf(candidates);
    let ctx: FloorBuildContext = { data: await settlePanelData(request.data, reads), viewer: request.viewer };
    const settled: Attempt[] = [];
    const decorated: Array<Decorated | undefined> = [];
    for (let i = 0; i < candidates.length; i++) {
      settled.push(this.build(candidates[i]!, ctx, shadow, logged));
      decorated.push(this.decorate(candidates[i]!, ctx));
    }
    for (let missing = unsettledBy(settled, decorated); missing.length > 0; missing = unsettledBy(settled, decorated)) {
      reads.push(...missing);
      ctx = { data: await settlePanelData(request.data, reads), viewer: request.viewer };
      for (let i = 0; i < candidates.length; i++) {
        const built = settled[i]!;
        if (built.status === 'rejected' && built.reason instanceof Unsettled) settled[i] = this.build(candidates[i]!, ctx, shadow, logged);
        const decoration = decorated[i];
        if (decoration !== undefined && 'error' in decoration && decoration.error instanceof Unsettled) decorated[i] = this.decorate(candidates[i]!, ctx);
      }
    }

    const failed = new Set<UpstreamName>();
    const reasons = new Set<DegradedReason>();
    const rows: PendingRow[] = [];
    /** Notes an upstream failure: its upstream, its reason, one log line per cause now and then. */
    const upstreamFailed = (error: UpstreamError) => {
      if (!failed.has(error.upstream)) this.logUpstreamFailure(error, shadow, logged);
      failed.add(error.upstream);
      reasons.add(error.violation ?? 'UPSTREAM_FAILED');
    };

    settled.forEach((result, index) => {
      const floor = candidates[index] as CompiledFloor;
      if (result.status === 'rejected') {
        const error: unknown = result.reason;
        if (isUpstreamError(error)) {
          upstreamFailed(error);
          outcomes.push({ code: floor.code, status: 'upstream-failed', upstream: error.upstream, outcome: error.outcome });
        } else {
          this.logBuilderFailure(layout, floor, error, 'dropped', shadow, logged);
          reasons.add('BUILDER_FAILED');
          outcomes.push({ code: floor.code, status: 'builder-failed', error: describe(error) });
        }
        return;
      }
      const built = result.value;
      const facts = built instanceof FellBack ? built.facts : built;
      const fellBack = built instanceof FellBack ? built.fellBack : undefined;
      if (fellBack !== undefined) {
        failed.add(fellBack.upstream);
        reasons.add(fellBack.reason);
      }
      if (facts === null) {
        outcomes.push({ code: floor.code, status: 'empty' });
        return;
      }
      // A builder's answer is typed, but a number is not whole minor units by its type (a rate
      // applied without rounding), nor is a build that forgot to return caught by every caller:
      // the row goes (a bug, logged once), before anything else reads it — one bad row must not
      // fail the panel. So does an amount of the wrong sign for its kind (a deduction not
      // negated), which would be served as its opposite, or in a currency that cannot be formatted.
      const error = factsProblem(floor.builder.kind, facts);
      if (error !== undefined) {
        this.logBuilderFailure(layout, floor, error, 'dropped', shadow, logged);
        reasons.add('BUILDER_FAILED');
        outcomes.push({ code: floor.code, status: 'builder-failed', error: describe(error) });
        return;
      }
      if (floor.hideWhenZero && facts.amount !== null && facts.amount.minor === 0) {
        outcomes.push({ code: floor.code, status: 'zero' });
        return;
      }
      // The builder's own vars object is reused unless decorations add to it (no copy per row).
      let vars = (facts.vars ?? NO_VARS) as Record<string, TemplateValue>;
      let undecorated = false;
      const decoration = decorated[index];
      // A fallback answered for the floor: its own builder's decorations do not describe it.
      if (decoration !== undefined && fellBack === undefined) {
        if ('vars' in decoration) {
          vars = { ...vars, ...decoration.vars };
        } else {
          undecorated = true;
          const missing = floor.builder.decorations?.vars ?? [];
          // A name the decoration defines is never filled from the build instead (an expression
          // floor's {amount} redefined under `vars`): the sub-name falls back.
          if (missing.some((name) => name in vars)) {
            vars = { ...vars };
            for (const name of missing) delete vars[name];
          }
          if (isUpstreamError(decoration.error)) {
            upstreamFailed(decoration.error);
            outcomes.push({ code: floor.code, status: 'undecorated', missing, upstream: decoration.error.upstream, outcome: decoration.error.outcome });
          } else {
            this.logBuilderFailure(layout, floor, decoration.error, 'undecorated', shadow, logged);
            reasons.add('BUILDER_FAILED');
            outcomes.push({ code: floor.code, status: 'undecorated', missing, upstream: null, outcome: null, error: describe(decoration.error) });
          }
        }
      }
      for (const name in vars) {
        const value = vars[name]!;
        if (isMoney(value) && (!Number.isSafeInteger(value.minor) || !isKnownCurrency(value.currency))) {
          if (vars === facts.vars) vars = { ...vars };
          delete vars[name];
          reasons.add('BUILDER_FAILED');
        }
      }
      rows.push({ floor, kind: floor.builder.kind, amount: facts.amount, vars, style: styleFor(floor.style, layout.styles, client, request.viewer.platform) });
      if (!undecorated) {
        outcomes.push(
          fellBack === undefined
            ? { code: floor.code, status: 'shown' }
            : { code: floor.code, status: 'fallback', upstream: fellBack.upstream, builder: fellBack.builder },
        );
      }
    });

    const locale = request.viewer.locale;
    // Settlement's quote, when the floors read it and it came: the authority the rows are checked against.
    const quote = reads.includes('settlement') ? quotePartsOf(ctx.data) : undefined;
    const reconciled = reconcile(rows, locale, quote);
    if (reconciled.partial) reasons.add('PARTIAL_BREAKDOWN');
    if (reconciled.contradiction !== undefined) this.logContradiction(layout, reconciled.contradiction, shadow, logged);
    if (reconciled.disagreement !== undefined) this.logDisagreement(layout, reconciled.disagreement, shadow, logged);
    if (reconciled.unbacked !== undefined) this.logUnbacked(layout, reconciled.unbacked, reads.includes('settlement'), shadow, logged);
    for (const code of reconciled.removed) {
      const at = outcomes.findIndex((o) => o.code === code);
      if (at !== -1) outcomes[at] = { code, status: 'unreconciled' };
    }
    const floors = reconciled.rows.map((row) => (row instanceof OtherRow ? row.rendered : this.format(row.floor, row, locale, row.style)));

    const degradedReasons = DEGRADED_REASONS.filter((r) => reasons.has(r));
    const panel: RenderedPanel = {
      scene: layout.scene,
      layoutVersion: version,
      degraded: degradedReasons.length > 0,
      failedUpstreams: UPSTREAMS.filter((u) => failed.has(u)),
      degradedReasons,
      locale,
      floors,
    };
    return { panel, outcomes, repair: reconciled.repair, revision, candidateRevision: request.candidate?.revision ?? null };
  }

  /**
   * A floor's decoration variables, or undefined when the builder has none or no sub-name of
   * the floor uses them. Never throws: a failure is the decoration's, not the row's.
   */
  private decorate(floor: CompiledFloor, ctx: FloorBuildContext): Decorated | undefined {
    const decorations = floor.builder.decorations;
    if (decorations === undefined || !floor.usesDecorations) return undefined;
    try {
      return { vars: decorations.decorate(ctx) };
    } catch (error) {
      return { error };
    }
  }

  /**
   * Builds a floor; when its builder fails on an upstream its fallback does not need, the
   * fallback answers. Never throws: a builder's failure fails its floor, not the panel.
   */
  private build(floor: CompiledFloor, ctx: FloorBuildContext, shadow: ShadowScope, logged: LoggedRequest | undefined): Attempt {
    try {
      return { status: 'fulfilled', value: floor.builder.build(ctx, floor) };
    } catch (error) {
      const fallback = floor.fallback;
      if (fallback === undefined || !isUpstreamError(error) || fallback.needs.includes(error.upstream)) return { status: 'rejected', reason: error };
      try {
        const value = new FellBack(fallback.build(ctx, floor), { upstream: error.upstream, builder: fallback.name, reason: error.violation ?? 'UPSTREAM_FAILED' });
        this.logUpstreamFailure(error, shadow, logged);
        return { status: 'fulfilled', value };
      } catch (fallbackError) {
        return { status: 'rejected', reason: fallbackError };
      }
    }
  }

  private layoutFor(scene: string): CompiledLayout {
    const layout = this.options.layouts().get(scene);
    if (layout === undefined) {
      throw new FloorplanError(
        ErrorCode.LAYOUT_UNKNOWN_SCENE,
        { known: this.scenes().map((s) => JSON.stringify(s)).join(', '), received: JSON.stringify(scene) },
      );
    }
    return layout;
  }

  private format(floor: CompiledFloor, facts: FloorFacts, locale: string, style: readonly string[]): RenderedFloor {
    const { amount } = facts;
    let priceText: string | null = null;
    if (amount !== null) {
      const zeroText = floor.zeroText?.[locale];
      priceText = amount.minor === 0 && zeroText !== undefined ? zeroText : formatMoney(amount, locale);
    }
    const template = floor.subName?.[locale];
    const vars = facts.vars ?? {};
    // A sub-name missing any of its values is not shown half-filled ("本月剩余优惠额度 "): the
    // floor's subNameFallback text, if it has one, or no sub-name.
    const complete = template !== undefined && template.variables.every((name) => vars[name] !== undefined);
    const subName = complete ? renderTemplate(template, (name) => formatValue(vars[name], locale)) : (floor.subNameFallback?.[locale] ?? null);
    return {
      code: floor.code,
      name: floor.name[locale] ?? floor.code,
      priceText,
      amount,
      subName: subName === '' ? null : subName,
      style,
      sort: floor.sort,
      kind: floor.builder.kind,
    };
  }

  /**
   * A failure's log line: at `level` for a served render; at debug, saying so, for a shadow
   * render. Either names the request that rendered (`logged`), when there is one.
   */
  private log(shadow: ShadowScope, logged: LoggedRequest | undefined, level: 'info' | 'warn' | 'error', fields: Record<string, unknown>, message: string): void {
    if (shadow === undefined) {
      this.options.logger[level](logged === undefined ? fields : { ...requestLogFields(logged), ...fields }, message);
      return;
    }
    const whose = shadow.revision === null ? 'shadow render of the live layout (another locale)' : `shadow render of the candidate (revision ${shadow.revision})`;
    this.options.logger.debug({ ...requestLogFields(logged), ...fields, shadow: true, candidateRevision: shadow.revision }, `${whose}, not served: ${message}`);
  }

  /**
   * An expression floor's evaluation failed: one error line per expression every
   * {@link EXPRESSION_LOG_INTERVAL_MS}, whatever the cause (the data differ request by request;
   * the expression is what an operator fixes).
   */
  private logExpressionFailure(
    layout: CompiledLayout,
    floor: CompiledFloor,
    error: FloorplanError<typeof ErrorCode.EXPRESSION_FAILED>,
    what: FailureEffect,
    shadow: ShadowScope,
    logged: LoggedRequest | undefined,
  ): void {
    const key = `${keyScope(shadow)}${layout.scene}\u0000${floor.code}\u0000${error.params.where}\u0000${error.params.expression}`;
    const now = Date.now();
    const last = this.lastExpressionLog.get(key);
    if (last !== undefined && now - last < EXPRESSION_LOG_INTERVAL_MS) return;
    if (this.lastExpressionLog.size >= MAX_REMEMBERED_FAILURES) this.lastExpressionLog.clear();
    this.lastExpressionLog.set(key, now);
    this.log(
      shadow,
      logged,
      'error',
      { code: error.code, scene: layout.scene, floor: floor.code, expression: error.params.expression, where: error.params.where, cause: error.params.cause },
      `floor "${floor.code}": its expression failed and ${what === 'dropped' ? 'the floor was dropped' : 'its sub-name fell back; the floor is shown'} (logged at most once per expression per minute)`,
    );
  }

  /**
   * One warning per upstream and cause every {@link UPSTREAM_LOG_INTERVAL_MS}: an outage must not
   * flood the logs. An upstream its kill switch keeps quiet did not fail: an operator chose it, so
   * that is said at info.
   */
  private logUpstreamFailure(error: UpstreamError, shadow: ShadowScope, logged: LoggedRequest | undefined): void {
    const key = `${keyScope(shadow)}${error.upstream}\u0000${error.code}`;
    const now = Date.now();
    const last = this.lastUpstreamLog.get(key);
    if (last !== undefined && now - last < UPSTREAM_LOG_INTERVAL_MS) return;
    this.lastUpstreamLog.set(key, now);
    const every = `logged at most every ${UPSTREAM_LOG_INTERVAL_MS / 1000} s per cause`;
    this.log(
      shadow,
      logged,
      error.outcome === 'killed' ? 'info' : 'warn',
      { code: error.code, upstream: error.upstream, outcome: error.outcome, reason: error.message },
      error.outcome === 'killed'
        ? `${error.upstream} is switched off by its kill switch; floors that need it are left out (${every})`
        : `${error.upstream} failed; floors that need it were dropped (${every})`,
    );
  }

  /**
   * The rows shown contradicted the total's own summaries — a floor shows a deduction (or a
   * charge) the quote does not have — so only the total was served: a floor or its data is
   * wrong. One warning per scene and rows shown, with every amount, so support can tell which
   * row claims too much.
   */
  private logContradiction(layout: CompiledLayout, { total, vars, summed }: Contradiction, shadow: ShadowScope, logged: LoggedRequest | undefined): void {
    const key = `${keyScope(shadow)}${layout.scene}\u0000contradicted\u0000${summed.map((row) => row.floor.code).join('\u0000')}`;
    if (!this.firstTime(key)) return;
    const summaries = total.floor.builder.summarises ?? {};
    const totalFields: Record<string, unknown> = { code: total.floor.code, minor: total.amount!.minor };
    for (const variable in summaries) {
      const value = vars[variable];
      if (value !== undefined && isMoney(value)) totalFields[variable] = value.minor;
    }
    const names = Object.keys(summaries).map((variable) => `{${variable}}`).join(', ');
    // A total without summaries (an expression's) was checked against settlement's quote alone.
    const against = names === '' ? `settlement's quote` : `"${total.floor.code}" and its ${names}`;
    this.log(
      shadow,
      logged,
      'warn',
      { scene: layout.scene, reason: 'PARTIAL_BREAKDOWN', currency: total.amount!.currency, total: totalFields, rows: Object.fromEntries(summed.map((row) => [row.floor.code, row.amount!.minor])) },
      `the rows shown do not agree with ${against}: rows of one kind show more than the total has, and a row of the other kind would invent a fee or a discount, so only the total is served (PARTIAL_BREAKDOWN); logged once per scene and rows shown`,
    );
  }

  /**
   * A goods row or the total was not what settlement's quote has, so it was left out (with a goods
   * row, every summed row: only the total is served): the floor's amount is wrong — an operator's
   * expression, as a rule. One warning per scene and floors that disagree, naming them, with the
   * quote's figures and every row's amount.
   */
  private logDisagreement(layout: CompiledLayout, { quote, summed, disagreed }: Disagreeing, shadow: ShadowScope, logged: LoggedRequest | undefined): void {
    const key = `${keyScope(shadow)}${layout.scene}\u0000disagrees\u0000${disagreed.map((d) => `${d.kind}\u0000${d.codes.join('\u0000')}`).join('\u0000')}`;
    if (!this.firstTime(key)) return;
    const what = disagreed.map((d) =>
      d.kind === 'GOODS'
        ? `${d.codes.map((code) => `"${code}"`).join(', ')} show${d.codes.length === 1 ? 's' : ''} goods of ${d.rows} but settlement's quote has ${d.quote}`
        : `"${d.codes[0]}" shows a total of ${d.rows} but settlement's payable is ${d.quote}`,
    );
    const totalOff = disagreed.some((d) => d.kind === 'PAYABLE');
    const goodsOff = disagreed.some((d) => d.kind === 'GOODS');
    const done = totalOff
      ? `the total is left out${goodsOff ? ', and every goods, deduction and charge row with it' : ''}: only settlement's payable is ever served`
      : 'only the total is served';
    this.log(
      shadow,
      logged,
      'warn',
      {
        scene: layout.scene,
        reason: 'PARTIAL_BREAKDOWN',
        currency: quote.currency,
        disagreed: disagreed.map((d) => ({ ...d, rows: minorField(d.rows), quote: minorField(d.quote) })),
        rows: Object.fromEntries(summed.map((row) => [row.floor.code, row.amount!.minor])),
      },
      `floor ${what.join(', and ')} (minor units): ${done}; an "other" row making up the difference would be a fee or a discount the quote does not have (PARTIAL_BREAKDOWN); logged once per scene and floor`,
    );
  }

  /**
   * The rows did not add up to a total no settlement quote backs (an operator's expression over
   * the cart, as a rule), so only the total was served: one of them is wrong, and nothing says
   * which. One warning per scene and floors shown, naming the total, with every amount.
   */
  private logUnbacked(layout: CompiledLayout, { total, summed }: Unbacked, readsSettlement: boolean, shadow: ShadowScope, logged: LoggedRequest | undefined): void {
    const key = `${keyScope(shadow)}${layout.scene}\u0000unbacked\u0000${total.floor.code}\u0000${summed.map((row) => row.floor.code).join('\u0000')}`;
    if (!this.firstTime(key)) return;
    const amount = total.amount!;
    const minors = summed.map((row) => row.amount!.minor);
    // Exact: the rows' sum may leave the safe range.
    const sum = exactSum(minors);
    const why = readsSettlement ? 'settlement failed' : 'no floor of the layout reads settlement';
    this.log(
      shadow,
      logged,
      'warn',
      { scene: layout.scene, reason: 'PARTIAL_BREAKDOWN', currency: amount.currency, total: { code: total.floor.code, minor: amount.minor }, rows: Object.fromEntries(summed.map((row) => [row.floor.code, row.amount!.minor])) },
      `the rows shown add up to ${sum} but "${total.floor.code}" shows a total of ${amount.minor} (minor units), and no settlement quote backs that total (${why}): an "other" row making up the difference would be a fee or a discount no upstream has, so only the total is served (PARTIAL_BREAKDOWN); logged once per scene and floors shown`,
    );
  }

  /** Whether `key` is logged for the first time (remembered from now on, up to {@link MAX_REMEMBERED_FAILURES} keys). */
  private firstTime(key: string): boolean {
    if (this.loggedFailures.has(key)) return false;
    if (this.loggedFailures.size >= MAX_REMEMBERED_FAILURES) this.loggedFailures.clear();
    this.loggedFailures.add(key);
    return true;
  }

  private logBuilderFailure(layout: CompiledLayout, floor: CompiledFloor, error: unknown, what: FailureEffect, shadow: ShadowScope, logged: LoggedRequest | undefined): void {
    if (error instanceof FloorplanError && error.code === ErrorCode.EXPRESSION_FAILED) {
      this.logExpressionFailure(layout, floor, error as FloorplanError<typeof ErrorCode.EXPRESSION_FAILED>, what, shadow, logged);
      return;
    }
    const key = `${keyScope(shadow)}${layout.scene}\u0000${floor.code}\u0000${causeOf(error)}`;
    if (!this.firstTime(key)) return;
    this.log(
      shadow,
      logged,
      'error',
      { code: ErrorCode.BUILDER_FAILED, scene: layout.scene, floor: floor.code, builder: floor.builder.name, err: error },
      `floor "${floor.code}" ${what === 'dropped' ? 'failed to build and was dropped' : 'failed to build its decorations: its sub-name fell back, the floor is shown'}; logged once per floor and cause`,
    );
  }
}

/** Rate-limit keys of a shadow render's log lines are apart from a served render's. */
const keyScope = (shadow: ShadowScope) => (shadow === undefined ? '' : `shadow\u0000`);

/** The layout version the viewer gets: the layout flag's variant when it names one the file has. */
export function pickVersion(layout: CompiledLayout, flags: FlagReader | undefined): LayoutVersion {
  if (layout.layoutFlag === undefined || flags === undefined) return layout;
  const variant = flags.variant(layout.layoutFlag);
  return (variant.enabled ? layout.variants[variant.name] : undefined) ?? layout;
}

function panelOf(explained: { readonly panel: RenderedPanel }): RenderedPanel {
  return explained.panel;
}

/** Every upstream the floors read (CompiledFloor.reads), each once. */
function readsOf(floors: readonly CompiledFloor[]): UpstreamName[] {
  const reads: UpstreamName[] = [];
  for (let i = 0; i < floors.length; i++) {
    const floorReads = floors[i]!.reads;
    for (let j = 0; j < floorReads.length; j++) if (!reads.includes(floorReads[j]!)) reads.push(floorReads[j]!);
  }
  return reads;
}

/** The upstreams some build or decoration read without their being settled, each once (none, almost always). */
function unsettledBy(settled: readonly Attempt[], decorated: ReadonlyArray<Decorated | undefined>): UpstreamName[] {
  const missing: UpstreamName[] = [];
  const note = (error: unknown) => {
    if (error instanceof Unsettled && !missing.includes(error.upstream)) missing.push(error.upstream);
  };
  for (let i = 0; i < settled.length; i++) {
    const built = settled[i]!;
    if (built.status === 'rejected') note(built.reason);
    const decoration = decorated[i];
    if (decoration !== undefined && 'error' in decoration) note(decoration.error);
  }
  return missing;
}

/** Why a floor is not even built for this viewer, or undefined when it should be. */
function gateFloor(floor: CompiledFloor, request: RenderRequest, client: SemVer | null): FloorOutcome | undefined {
  if (!floor.enabled) return { code: floor.code, status: 'disabled' };
  if (floor.flag !== undefined && request.flags !== undefined && !request.flags.isEnabled(floor.flag)) {
    return { code: floor.code, status: 'flag-off', flag: floor.flag };
  }
  const required = floorTooNewFor(floor, client, request.viewer.platform);
  if (required !== undefined) return { code: floor.code, status: 'client-too-old', required, appVersion: request.viewer.appVersion };
  return undefined;
}

/** A row that carries what the rows shown leave out of the payable total (deductions, or charges). */
class OtherRow {
  constructor(readonly rendered: RenderedFloor) {}
}

/** The rows to serve, the codes left out, and whether the panel had to be served in its safe form. */
interface Reconciled {
  readonly rows: ReadonlyArray<PendingRow | OtherRow>;
  readonly removed: readonly string[];
  readonly partial: boolean;
  /** What the safe form did, with the rows as built; null when the panel is served as built. */
  readonly repair: BreakdownRepair | null;
  /** Set when the rows shown contradicted the total's own summaries (see {@link gapsOf}): only the total is kept. */
  readonly contradiction: Contradiction | undefined;
  /** Set when a goods row or the total was not settlement's (see {@link disagreementsOf}): it was left out. */
  readonly disagreement: Disagreeing | undefined;
  /** Set when the rows did not add up to a total no quote backs: only the total is kept (cause `no-quote`). */
  readonly unbacked: Unbacked | undefined;
}

/** A total no settlement quote backs, and every summed row as built, for the log line. */
interface Unbacked {
  readonly total: PendingRow;
  readonly summed: readonly PendingRow[];
}

/** The rows that were not settlement's, with the quote and every summed row as built, for the log line. */
interface Disagreeing {
  readonly quote: QuoteParts;
  readonly summed: readonly PendingRow[];
  readonly disagreed: readonly Disagreement[];
}

/**
 * Settlement's quote kind by kind, signed as the rows show it: what the rows stand for. Its
 * cross-checks passed (the loaders refuse a quote that does not add up), so goods + deductions +
 * charges = payable, exactly, in one currency.
 */
interface QuoteParts {
  readonly currency: string;
  readonly goods: number;
  /** Every discount taken together, negative (or zero). */
  readonly deductions: number;
  /** The quote's one charge, shipping. */
  readonly charges: number;
  readonly payable: number;
}

/** The settled quote's parts, or undefined when settlement failed (its floors already say so). */
function quotePartsOf(data: SettledPanelData): QuoteParts | undefined {
  let quote: SettlementQuote;
  try {
    quote = data.quote();
  } catch {
    return undefined;
  }
  let discounts = 0;
  // Within the goods total (checked): a safe integer.
  for (const discount of quote.discounts) discounts += discount.amount.minor;
  return { currency: quote.currency, goods: quote.goodsTotal.minor, deductions: 0 - discounts, charges: quote.shipping.minor, payable: quote.payable.minor };
}

/**
 * The rows whose amounts are not settlement's: the goods rows taken together against the quote's
 * goods total (rows in another currency are the currencies' safe form's), and the total against
 * its payable. Empty when they agree — as every builder's rows do; an expression's may not.
 */
function disagreementsOf(total: PendingRow, summed: readonly PendingRow[], quote: QuoteParts): Disagreement[] {
  const disagreed: Disagreement[] = [];
  const goods = summed.filter((row) => row.kind === 'GOODS');
  if (goods.length > 0 && goods.every((row) => (row.amount as Money).currency === quote.currency)) {
    const shown = exactSum(goods.map((row) => (row.amount as Money).minor));
    if (BigInt(shown) !== BigInt(quote.goods)) disagreed.push({ kind: 'GOODS', codes: goods.map((row) => row.floor.code), rows: String(shown), quote: String(quote.goods) });
  }
  const amount = total.amount as Money;
  if (amount.currency !== quote.currency || amount.minor !== quote.payable) {
    disagreed.push({ kind: 'PAYABLE', codes: [total.floor.code], rows: String(amount.minor), quote: String(quote.payable) });
  }
  return disagreed;
}

/** A decimal string of minor units as a log field: a number while it is a safe integer. */
function minorField(minor: string): number | string {
  const value = Number(minor);
  return Number.isSafeInteger(value) ? value : minor;
}

/** The rows that contradicted their total's summaries, and the total with the summaries it had. */
interface Contradiction {
  readonly total: PendingRow;
  /** The total's variables before its summaries were checked (a contradicted one is dropped then). */
  readonly vars: PendingRow['vars'];
  readonly summed: readonly PendingRow[];
}

/**
 * Makes the rows add up before they are served. First, the goods rows and the total must be
 * settlement's (`quote`, when the floors read it): a total that is not its payable is left out —
 * no other total is ever served — and goods rows that are not its goods total leave nothing to
 * start from, so only the total is kept; making up the difference on an "other" row would show a
 * fee or a discount the quote does not have. When the GOODS, DEDUCTION and CHARGE rows then do
 * not sum to the PAYABLE row (a deduction or charge floor failed, is switched off, is too new
 * for the app, or is not in this layout), what they leave out is shown just above the total:
 * the deductions on an "other discounts" row, the charges on an "other charges" row, each its
 * own — netted into one, a hidden ¥3 coupon and a hidden ¥6 shipping charge would read as a
 * ¥3 fee that does not exist. What each kind should add up to comes from the quote (see
 * {@link gapsOf}). Without a goods row to start from, with rows in several currencies, or with
 * rows that show more of a kind than the quote has (a row of the other kind would invent a fee
 * or a discount), only the total is kept.
 * So it is, too, for a total no quote backs (cause `no-quote`): an operator's PAYABLE expression
 * over the cart and promotion, in a layout no floor of which reads settlement — or whose
 * settlement failed. Nothing then says which is wrong, the rows or the total, nor what a
 * difference is made of: an "other" row would show a fee or a discount no upstream has (an
 * operator's slip in the formula, on every shopper's sheet). Reading the quote to check it would
 * cost a settlement call the layout does not otherwise make, so it is not read; rows that add up
 * to such a total are served as built.
 * Then every summary a sub-name quotes (payable's savings) must equal the rows it summarises, or
 * that variable is dropped and the sub-name falls back. Any repair marks the panel
 * `PARTIAL_BREAKDOWN`.
 * Without a PAYABLE row (the built-in one needs settlement: settlement down) there is no total to check.
 */
function reconcile(rows: readonly PendingRow[], locale: string, quote: QuoteParts | undefined): Reconciled {
  const total = rows.find((row) => row.kind === 'PAYABLE' && row.amount !== null);
  if (total === undefined || total.amount === null) return { rows, removed: [], partial: false, repair: null, contradiction: undefined, disagreement: undefined, unbacked: undefined };
  const payable = total.amount;
  // The total's summaries as built: one that contradicts the rows is dropped below.
  const totalVars = total.vars;
  const summed = rows.filter((row) => SUMMED_KINDS.has(row.kind) && row.amount !== null);
  let served: Array<PendingRow | OtherRow> = [...rows];
  let removed: string[] = [];
  let partial = false;
  let form: BreakdownRepair['form'] | undefined;
  let cause: BreakdownRepair['cause'] = null;

  const disagreed = quote === undefined ? [] : disagreementsOf(total, summed, quote);
  const disagreement: Disagreeing | undefined = quote !== undefined && disagreed.length > 0 ? { quote, summed, disagreed } : undefined;
  let contradiction: Contradiction | undefined;
  let unbacked: Unbacked | undefined;
  if (disagreed.length > 0) {
    partial = true;
    const totalOff = disagreed.some((d) => d.kind === 'PAYABLE');
    // Goods that are not the quote's leave nothing to start from: no goods, deduction or charge row stands.
    const left = new Set<PendingRow>(disagreed.some((d) => d.kind === 'GOODS') ? summed : []);
    if (totalOff) left.add(total);
    removed = rows.filter((row) => left.has(row)).map((row) => row.floor.code);
    served = served.filter((row) => row instanceof OtherRow || !left.has(row));
    form = totalOff ? 'no-total' : 'total-only';
    cause = totalOff ? null : 'disagrees';
  } else {
    // Exact whatever rows are missing: a partial sum of safe integers may itself leave the safe range.
    const minors: number[] = [];
    let sameCurrency = true;
    for (const row of summed) {
      const amount = row.amount as Money;
      if (amount.currency !== payable.currency) sameCurrency = false;
      minors.push(amount.minor);
    }
    const difference = sameCurrency ? differenceFrom(payable.minor, exactSum(minors)) : Number.NaN;
    // A total no quote backs (no floor reads settlement, or it failed: an operator's expression
    // over the cart, say) says nothing of what its rows leave out: any "other" row would be a
    // fee or a discount no upstream has, so a difference keeps only the total.
    if (quote === undefined && sameCurrency && difference !== 0) unbacked = { total, summed };
    const gaps = Number.isNaN(difference) || unbacked !== undefined ? undefined : quote === undefined ? [] : gapsOf(total, summed, difference, quote);
    contradiction = gaps === undefined && !Number.isNaN(difference) && unbacked === undefined ? { total, vars: totalVars, summed } : undefined;
    if (gaps === undefined || gaps.length > 0) {
      partial = true;
      if (gaps !== undefined && summed.some((row) => row.kind === 'GOODS')) {
        form = 'other-rows';
        const at = served.indexOf(total);
        served.splice(at, 0, ...gaps.map((gap) => otherRow(gap, payable.currency, total.floor.sort, locale)));
      } else {
        form = 'total-only';
        cause = !sameCurrency ? 'currencies' : unbacked !== undefined ? 'no-quote' : gaps === undefined ? 'overclaimed' : 'no-goods';
        removed = summed.map((row) => row.floor.code);
        served = served.filter((row) => row instanceof OtherRow || !SUMMED_KINDS.has(row.kind) || row.amount === null);
      }
    }
  }

  for (const row of served) {
    if (row instanceof OtherRow) continue;
    const summarises = row.floor.builder.summarises;
    // Most rows summarise nothing: no entries array per row per request for them.
    if (summarises === undefined) continue;
    for (const variable in summarises) {
      const kind = summarises[variable];
      const value = row.vars[variable];
      if (value === undefined || !isMoney(value)) continue;
      const of: number[] = [];
      let comparable = true;
      for (const other of served) {
        const amount = other instanceof OtherRow ? other.rendered.amount : other.amount;
        const otherKind = other instanceof OtherRow ? other.rendered.kind : other.kind;
        if (otherKind !== kind || amount === null) continue;
        if (amount.currency !== value.currency) comparable = false;
        of.push(amount.minor);
      }
      const total = exactSum(of);
      const magnitude = typeof total === 'number' ? Math.abs(total) : total < 0n ? -total : total;
      if (!comparable || (typeof magnitude === 'number' ? magnitude !== value.minor : magnitude !== BigInt(value.minor))) {
        // A copy: the builder's vars object is its own (and may be shared).
        const { [variable]: _dropped, ...kept } = row.vars;
        row.vars = kept;
        partial = true;
      }
    }
  }
  const repair: BreakdownRepair | null = !partial
    ? null
    : {
        form: form ?? 'sub-name',
        cause,
        rows: summed.map((row) => ({ code: row.floor.code, kind: row.kind as SummedRow['kind'], amount: row.amount as Money })),
        added: served.flatMap((row) => (row instanceof OtherRow ? [{ code: row.rendered.code, kind: row.rendered.kind as SummedRow['kind'], amount: row.rendered.amount as Money }] : [])),
        overclaimed: cause === 'overclaimed' ? overclaimsOf(total, totalVars, summed, quote) : [],
        ...(disagreed.length > 0 ? { disagreed } : {}),
      };
  return { rows: served, removed, partial, repair, contradiction, disagreement, unbacked };
}

/**
 * The kinds whose rows show more than the quote has of them, by the total's summaries (payable's
 * savings is every deduction), or for a kind without one, what the total leaves it once the goods
 * rows and the other kind's summary are taken off; for a total without summaries (an expression's),
 * settlement's quote (its discounts, its shipping). Exact (BigInt): it explains a contradiction,
 * found rarely, to an operator — including sums too far apart for a safe integer.
 */
function overclaimsOf(total: PendingRow, vars: PendingRow['vars'], summed: readonly PendingRow[], quote: QuoteParts | undefined): Overclaim[] {
  const payable = total.amount as Money;
  const sums = { GOODS: 0n, DEDUCTION: 0n, CHARGE: 0n };
  for (const row of summed) sums[row.kind as SummedRow['kind']] += BigInt((row.amount as Money).minor);
  const said: Partial<Record<Overclaim['kind'], { readonly minor: bigint; readonly basis: string }>> = {};
  const summaries = total.floor.builder.summarises ?? {};
  for (const variable in summaries) {
    const kind = summaries[variable];
    const value = vars[variable];
    if ((kind !== 'DEDUCTION' && kind !== 'CHARGE') || value === undefined || !isMoney(value) || value.currency !== payable.currency) continue;
    const magnitude = BigInt(Math.abs(value.minor));
    said[kind] = { minor: kind === 'DEDUCTION' ? -magnitude : magnitude, basis: `{${variable}} ${magnitude}` };
  }
  const overclaimed: Overclaim[] = [];
  for (const [kind, other] of [['DEDUCTION', 'CHARGE'], ['CHARGE', 'DEDUCTION']] as const) {
    const theirs = said[other];
    const has =
      said[kind] ??
      (theirs !== undefined
        ? {
            minor: BigInt(payable.minor) - sums.GOODS - theirs.minor,
            // Take the other kind off the total: a deduction (negative) is added back, a charge taken off.
            basis: `${total.floor.code} ${payable.minor} − goods ${sums.GOODS} ${other === 'DEDUCTION' ? '+' : '−'} ${theirs.basis}`,
          }
        : quote === undefined
          ? undefined
          : kind === 'DEDUCTION'
            ? { minor: BigInt(quote.deductions), basis: `the quote's discounts ${-quote.deductions}` }
            : { minor: BigInt(quote.charges), basis: `the quote's shipping ${quote.charges}` });
    if (has === undefined) continue;
    const rows = sums[kind];
    if (kind === 'DEDUCTION' ? rows < has.minor : rows > has.minor) overclaimed.push({ kind, rows: String(rows), quote: String(has.minor), basis: has.basis });
  }
  return overclaimed;
}

/** An amount the rows shown leave out, and the kind of row that carries it. */
interface Gap {
  readonly kind: 'DEDUCTION' | 'CHARGE';
  /** Signed, as the row shows it: negative for a deduction, positive for a charge; never zero. */
  readonly minor: number;
}

/**
 * What the rows shown leave out, deductions first (empty: nothing), or undefined when the
 * quote (or the total's own summaries) contradict them. `difference` is payable minus the rows
 * shown; the total is settlement's payable (see {@link disagreementsOf}: a total no quote backs
 * never gets here, see {@link reconcile}). Settlement's quote says what the rows of each kind add
 * up to — every discount, and shipping — so what they miss is known kind by kind, even when the
 * misses cancel out (a hidden ¥3 discount and a hidden ¥3 charge). Without a goods row (only the
 * total is kept then, `no-goods`), a total's money summary of DEDUCTION or CHARGE rows (payable's
 * savings) says the same of its kind, and a kind without a summary takes the rest of the
 * difference; a total without summaries (an expression's) leaves the difference one part of its
 * own sign. When these do not explain the difference — the rows of a kind show more than the
 * quote has of it (a points row the quote never took off), or the parts do not add up to it — no
 * row can make the sheet true: one of the other kind would invent a fee or a discount the quote
 * does not have, so only the total is kept. (The goods rows shown are the quote's: see
 * {@link disagreementsOf}.)
 */
function gapsOf(total: PendingRow, summed: readonly PendingRow[], difference: number, quote: QuoteParts): Gap[] | undefined {
  let deductions = Number.NaN;
  let charges = Number.NaN;
  // Without a goods row only the total can be kept (`no-goods`): the quote need not split the gap.
  if (summed.some((row) => row.kind === 'GOODS')) {
    const shown = { DEDUCTION: [] as number[], CHARGE: [] as number[] };
    for (const row of summed) if (row.kind === 'DEDUCTION' || row.kind === 'CHARGE') shown[row.kind].push((row.amount as Money).minor);
    deductions = differenceFrom(quote.deductions, exactSum(shown.DEDUCTION));
    charges = differenceFrom(quote.charges, exactSum(shown.CHARGE));
    // Beyond the safe range apart: the rows and the quote are nowhere near each other.
    if (Number.isNaN(deductions) || Number.isNaN(charges)) return undefined;
  } else {
    const summaries = total.floor.builder.summarises;
    if (summaries === undefined) return netGap(difference);
    for (const variable in summaries) {
      const kind = summaries[variable];
      const value = total.vars[variable];
      if ((kind !== 'DEDUCTION' && kind !== 'CHARGE') || value === undefined || !isMoney(value) || value.currency !== total.amount?.currency) continue;
      const shown: number[] = [];
      for (const row of summed) if (row.kind === kind) shown.push((row.amount as Money).minor);
      // A summary is a magnitude; the rows it summarises are signed by their kind.
      const missing = differenceFrom(kind === 'DEDUCTION' ? -Math.abs(value.minor) : Math.abs(value.minor), exactSum(shown));
      // Beyond the safe range apart: the rows and the summary are nowhere near each other.
      if (Number.isNaN(missing)) return undefined;
      if (kind === 'DEDUCTION') deductions = missing;
      else charges = missing;
    }
    if (Number.isNaN(deductions) && Number.isNaN(charges)) return netGap(difference);
    if (Number.isNaN(deductions)) deductions = differenceFrom(difference, charges);
    if (Number.isNaN(charges)) charges = differenceFrom(difference, deductions);
  }
  // Of opposite signs, their sum is a safe integer.
  if (!(deductions <= 0) || !(charges >= 0) || deductions + charges !== difference) return undefined;
  const gaps: Gap[] = [];
  if (deductions !== 0) gaps.push({ kind: 'DEDUCTION', minor: deductions });
  if (charges !== 0) gaps.push({ kind: 'CHARGE', minor: charges });
  return gaps;
}

/** The whole difference as one row of its own sign (none for no difference). */
function netGap(difference: number): Gap[] {
  return difference === 0 ? [] : [{ kind: difference < 0 ? 'DEDUCTION' : 'CHARGE', minor: difference }];
}

/** The "other discounts" or "other charges" row for a gap, sorted with the total it stands above. */
function otherRow(gap: Gap, currency: string, sort: number, locale: string): OtherRow {
  const other = OTHER_ROW[gap.kind];
  const amount: Money = { minor: gap.minor, currency };
  return new OtherRow({
    code: other.code,
    name: other.names[locale] ?? other.names.en!,
    priceText: formatMoney(amount, locale),
    amount,
    subName: null,
    style: [],
    sort,
    kind: gap.kind,
  });
}

/** What makes a builder's answer unfit to serve, or undefined; `facts` as it came, whatever its type says. */
function factsProblem(kind: FloorKind, facts: FloorFacts): FloorplanError | undefined {
  if (typeof facts !== 'object') {
    return new FloorplanError(ErrorCode.MONEY_INVALID, { contract: 'a builder must return null (no row) or its facts ({amount, vars})', received: shown(facts) });
  }
  const { amount } = facts as { amount: unknown };
  if (amount === null) return undefined;
  if (typeof amount !== 'object') {
    return new FloorplanError(ErrorCode.MONEY_INVALID, { contract: '`amount` must be null (a row without an amount) or money ({minor, currency})', received: shown(amount) });
  }
  const { minor } = amount as { minor: unknown };
  if (!Number.isSafeInteger(minor)) {
    return new FloorplanError(ErrorCode.MONEY_INVALID, { contract: '`amount.minor` must be a safe integer of minor units', received: shown(minor) });
  }
  return amountProblem(kind, amount as Money);
}

/** A value as a message shows it: strings quoted, numbers as written (NaN, 104.5), undefined named. */
function shown(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : typeof value === 'object' && value !== null ? (JSON.stringify(value) ?? String(value)) : String(value);
}

/** Why a builder's amount cannot be served as a row of its kind, or undefined: its currency, then its sign (one comparison). */
function amountProblem(kind: FloorKind, amount: Money): FloorplanError | undefined {
  if (!isKnownCurrency(amount.currency)) {
    return new FloorplanError(ErrorCode.MONEY_INVALID, { contract: 'currency must be an ISO 4217 currency code with a minor unit', received: JSON.stringify(amount.currency) });
  }
  if (amount.minor * AMOUNT_SIGN[kind] < 0) return new FloorplanError(ErrorCode.MONEY_INVALID, { contract: amountSignRule(kind), received: JSON.stringify(amount) });
  return undefined;
}

function isMoney(value: TemplateValue): value is Money {
  return typeof value === 'object' && value !== null;
}

function formatValue(value: TemplateValue | undefined, locale: string): string {
  if (value === undefined) return '';
  if (isMoney(value)) return formatMoney(value, locale);
  return String(value);
}

/** A failure's cause, to log it once: a money contract broken is one cause, whatever amount broke it (a line per shopper's total would flood). */
function causeOf(error: unknown): string {
  if (error instanceof FloorplanError && error.code === ErrorCode.MONEY_INVALID) return `${error.code}: ${(error as FloorplanError<typeof ErrorCode.MONEY_INVALID>).params.contract}`;
  return describe(error);
}

function describe(error: unknown): string {
  if (error instanceof FloorplanError) return `${error.code}: ${error.message}`;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
