/**
 * PanelRenderer: layout → build every enabled floor in parallel → settle failures →
 * format once for the locale. A floor whose upstream failed is dropped and the panel is
 * marked degraded; one floor's failure never fails its siblings or the request.
 */
import type { Logger } from 'pino';
import { ErrorCode, FloorplanError } from '../errors.ts';
import { LRUCache } from 'lru-cache';
import { coerce, SemVer } from 'semver';
import type { CompiledFloor, CompiledLayout, LayoutSet, LayoutVersion, MinAppVersion, StyleToken } from '../layouts/floors-config.ts';
import { renderTemplate } from '../layouts/template.ts';
import { formatMoney } from '../money/format.ts';
import type { Money } from '../money/money.ts';
import { UPSTREAMS, type UpstreamName } from '../upstreams/contracts.ts';
import { isUpstreamError, type UpstreamError } from '../upstreams/upstream-error.ts';
import type { BuilderViewer, FloorFacts, PanelData, TemplateValue } from './builder.ts';
import type { RenderedFloor, RenderedPanel } from './panel.ts';

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
}

/** What happened to each configured floor of a panel (for logs, metrics and the operator preview). */
export type FloorOutcome =
  | { readonly code: string; readonly status: 'shown' }
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
  /** After a panel is rendered, with what happened to each configured floor. */
  panelDidRender?(panel: RenderedPanel, outcomes: readonly FloorOutcome[]): void;
}

export interface PanelRendererOptions {
  /** The current layouts; called per render so a hot-reloaded set takes effect at once. */
  readonly layouts: () => LayoutSet;
  readonly logger: Logger;
  readonly hooks?: RendererHooks;
}

/** A floor its fallback builder answered, because its own builder's upstream failed. */
class FellBack {
  constructor(
    readonly facts: FloorFacts | null,
    readonly fellBack: { readonly upstream: UpstreamName; readonly builder: string },
  ) {}
}

/** What building a floor gives: its facts (null: the floor does not apply), or its fallback's. */
type Built = FloorFacts | null | FellBack;

const MAX_REMEMBERED_FAILURES = 1000;
/** Distinct client versions and required minimums kept parsed: apps in the field send a few dozen. */
const PARSED_VERSIONS = 500;
const UPSTREAM_LOG_INTERVAL_MS = 10_000;

export class PanelRenderer {
  private readonly options: PanelRendererOptions;
  /** Builder failures already logged, by scene/floor/cause, so a bad floor logs once, not per request. */
  private readonly loggedFailures = new Set<string>();
  private readonly lastUpstreamLog = new Map<string, number>();

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

  async render(request: RenderRequest): Promise<RenderedPanel> {
    return (await this.renderExplained(request)).panel;
  }

  /** Renders and also says what happened to each configured floor (for the operator preview). */
  async renderExplained(request: RenderRequest): Promise<{ panel: RenderedPanel; outcomes: readonly FloorOutcome[] }> {
    const layout = this.layoutFor(request.scene);
    const { version, floors: configured } = pickVersion(layout, request.flags);
    const outcomes: FloorOutcome[] = [];
    const client = clientVersionOf(request.viewer.appVersion);
    const candidates = configured.filter((floor) => {
      const gate = gateFloor(floor, request, client);
      if (gate !== undefined) outcomes.push(gate);
      return gate === undefined;
    });
    const settled = await Promise.allSettled(candidates.map((floor) => this.build(floor, request)));

    const failed = new Set<UpstreamName>();
    const floors: RenderedFloor[] = [];
    let degraded = false;

    settled.forEach((result, index) => {
      const floor = candidates[index] as CompiledFloor;
      if (result.status === 'rejected') {
        degraded = true;
        const error: unknown = result.reason;
        if (isUpstreamError(error)) {
          if (!failed.has(error.upstream)) this.logUpstreamFailure(error);
          failed.add(error.upstream);
          outcomes.push({ code: floor.code, status: 'upstream-failed', upstream: error.upstream, outcome: error.outcome });
        } else {
          this.logBuilderFailure(layout, floor, error);
          outcomes.push({ code: floor.code, status: 'builder-failed', error: describe(error) });
        }
        return;
      }
      const built = result.value;
      const facts = built instanceof FellBack ? built.facts : built;
      const fellBack = built instanceof FellBack ? built.fellBack : undefined;
      if (fellBack !== undefined) {
        degraded = true;
        failed.add(fellBack.upstream);
      }
      if (facts === null) {
        outcomes.push({ code: floor.code, status: 'empty' });
        return;
      }
      if (floor.hideWhenZero && facts.amount !== null && facts.amount.minor === 0) {
        outcomes.push({ code: floor.code, status: 'zero' });
        return;
      }
      floors.push(this.format(floor, facts, request.viewer.locale, styleFor(floor.style, layout, client, request.viewer.platform)));
      outcomes.push(
        fellBack === undefined
          ? { code: floor.code, status: 'shown' }
          : { code: floor.code, status: 'fallback', upstream: fellBack.upstream, builder: fellBack.builder },
      );
    });

    const panel: RenderedPanel = {
      scene: layout.scene,
      layoutVersion: version,
      degraded,
      failedUpstreams: UPSTREAMS.filter((u) => failed.has(u)),
      locale: request.viewer.locale,
      floors,
    };
    this.options.hooks?.panelDidRender?.(panel, outcomes);
    return { panel, outcomes };
  }

  /**
   * Builds a floor; when its builder fails on an upstream its fallback does not need, the
   * fallback answers. The builder's own promise is used as it is (no wrapper per floor); a
   * builder that throws instead of rejecting fails its floor, not the panel.
   */
  private build(floor: CompiledFloor, request: RenderRequest): Promise<Built> {
    let built: Promise<FloorFacts | null>;
    try {
      // The builder's own promise when it returns one (Promise.resolve hands a native promise back as it is).
      built = Promise.resolve(floor.builder.build(request));
    } catch (error) {
      built = Promise.reject(error);
    }
    const fallback = floor.fallback;
    if (fallback === undefined) return built;
    return built.catch(async (error: unknown): Promise<Built> => {
      if (!isUpstreamError(error) || fallback.needs.includes(error.upstream)) throw error;
      this.logUpstreamFailure(error);
      return new FellBack(await fallback.build(request), { upstream: error.upstream, builder: fallback.name });
    });
  }

  private layoutFor(scene: string): CompiledLayout {
    const layout = this.options.layouts().get(scene);
    if (layout === undefined) {
      throw new FloorplanError(
        ErrorCode.LAYOUT_UNKNOWN_SCENE,
        `scene must be one of ${this.scenes().map((s) => JSON.stringify(s)).join(', ')}, but got: ${JSON.stringify(scene)}`,
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
    const subName = template === undefined ? null : renderTemplate(template, (name) => formatValue(vars[name], locale));
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

  /** One warning per upstream and cause every {@link UPSTREAM_LOG_INTERVAL_MS}: an outage must not flood the logs. */
  private logUpstreamFailure(error: UpstreamError): void {
    const key = `${error.upstream}\u0000${error.code}`;
    const now = Date.now();
    const last = this.lastUpstreamLog.get(key);
    if (last !== undefined && now - last < UPSTREAM_LOG_INTERVAL_MS) return;
    this.lastUpstreamLog.set(key, now);
    this.options.logger.warn(
      { code: error.code, upstream: error.upstream, outcome: error.outcome, reason: error.message },
      `${error.upstream} failed; floors that need it were dropped (logged at most every ${UPSTREAM_LOG_INTERVAL_MS / 1000} s per cause)`,
    );
  }

  private logBuilderFailure(layout: CompiledLayout, floor: CompiledFloor, error: unknown): void {
    const key = `${layout.scene}\u0000${floor.code}\u0000${describe(error)}`;
    if (this.loggedFailures.has(key)) return;
    if (this.loggedFailures.size >= MAX_REMEMBERED_FAILURES) this.loggedFailures.clear();
    this.loggedFailures.add(key);
    this.options.logger.error(
      { code: ErrorCode.BUILDER_FAILED, scene: layout.scene, floor: floor.code, builder: floor.builder.name, err: error },
      `floor "${floor.code}" failed to build and was dropped; logged once per floor and cause`,
    );
  }
}

/** The layout version the viewer gets: the layout flag's variant when it names one the file has. */
export function pickVersion(layout: CompiledLayout, flags: FlagReader | undefined): LayoutVersion {
  if (layout.layoutFlag === undefined || flags === undefined) return layout;
  const variant = flags.variant(layout.layoutFlag);
  return (variant.enabled ? layout.variants[variant.name] : undefined) ?? layout;
}

/** Why a floor is not even built for this viewer, or undefined when it should be. */
function gateFloor(floor: CompiledFloor, request: RenderRequest, client: SemVer | null): FloorOutcome | undefined {
  if (!floor.enabled) return { code: floor.code, status: 'disabled' };
  if (floor.flag !== undefined && request.flags !== undefined && !request.flags.isEnabled(floor.flag)) {
    return { code: floor.code, status: 'flag-off', flag: floor.flag };
  }
  const required = minimumFor(floor.minAppVersion, request.viewer.platform);
  if (required !== undefined && (client === null || client.compare(parsedRequirement(required)) < 0)) {
    return { code: floor.code, status: 'client-too-old', required, appVersion: request.viewer.appVersion };
  }
  return undefined;
}

function minimumFor(min: MinAppVersion | undefined, platform: string): string | undefined {
  if (min === undefined || typeof min === 'string') return min;
  return min[platform] ?? min.default;
}

/** Client versions, parsed once per distinct header ("12.3" and "12.3.0-beta" count as 12.3.0; false: unparseable). */
const clientVersions = new LRUCache<string, SemVer | false>({ max: PARSED_VERSIONS, memoMethod: (appVersion) => coerce(appVersion) ?? false });
/** Layouts' minimum versions (validated when the layout loaded), parsed once. */
const requirements = new LRUCache<string, SemVer>({ max: PARSED_VERSIONS, memoMethod: (required) => new SemVer(required) });

/** The client's version; null when it sent none or one that is not a version (treated as older than any minimum). */
function clientVersionOf(appVersion: string | null): SemVer | null {
  if (appVersion === null) return null;
  return clientVersions.memo(appVersion) || null;
}

function parsedRequirement(required: string): SemVer {
  return requirements.memo(required);
}

/** Maps style tokens a client is too old for to their fallbacks (following chains), dropping null ones. */
function styleFor(tokens: readonly string[], layout: CompiledLayout, client: SemVer | null, platform: string): readonly string[] {
  if (tokens.length === 0 || Object.keys(layout.styles).length === 0) return tokens;
  const out: string[] = [];
  for (const token of tokens) {
    let current: string | null = token;
    for (let hops = 0; current !== null && hops < 8; hops++) {
      const rule: StyleToken | undefined = layout.styles[current];
      const required = rule === undefined ? undefined : minimumFor(rule.minAppVersion, platform);
      if (rule === undefined || required === undefined || (client !== null && client.compare(parsedRequirement(required)) >= 0)) break;
      current = rule.fallback;
    }
    if (current !== null && !out.includes(current)) out.push(current);
  }
  return out;
}

function isMoney(value: TemplateValue): value is Money {
  return typeof value === 'object' && value !== null;
}

function formatValue(value: TemplateValue | undefined, locale: string): string {
  if (value === undefined) return '';
  if (isMoney(value)) return formatMoney(value, locale);
  return String(value);
}

function describe(error: unknown): string {
  if (error instanceof FloorplanError) return `${error.code}: ${error.message}`;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
