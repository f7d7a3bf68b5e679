/**
 * PanelRenderer: layout → build every enabled floor in parallel → settle failures →
 * format once for the locale. A floor whose upstream failed is dropped and the panel is
 * marked degraded; one floor's failure never fails its siblings or the request.
 */
import type { Logger } from 'pino';
import { ErrorCode, FloorplanError } from '../errors.ts';
import type { CompiledFloor, CompiledLayout, LayoutSet } from '../layouts/floors-config.ts';
import { renderTemplate } from '../layouts/template.ts';
import { formatMoney } from '../money/format.ts';
import type { Money } from '../money/money.ts';
import { UPSTREAMS, type UpstreamName } from '../upstreams/contracts.ts';
import { isUpstreamError, type UpstreamError } from '../upstreams/upstream-error.ts';
import type { BuilderViewer, FloorFacts, PanelData, TemplateValue } from './builder.ts';
import type { RenderedFloor, RenderedPanel } from './panel.ts';

export interface RenderRequest {
  readonly scene: string;
  readonly data: PanelData;
  readonly viewer: BuilderViewer & { readonly locale: string };
}

/** Why a floor was left out of a panel (for logs, metrics and operator tools). */
export type FloorOutcome =
  | { readonly code: string; readonly status: 'shown' }
  | { readonly code: string; readonly status: 'disabled' }
  | { readonly code: string; readonly status: 'empty' }
  | { readonly code: string; readonly status: 'zero' }
  | { readonly code: string; readonly status: 'upstream-failed'; readonly upstream: UpstreamName }
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

const MAX_REMEMBERED_FAILURES = 1000;
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
    const layout = this.layoutFor(request.scene);
    const candidates = layout.floors.filter((f) => f.enabled);
    // async wrapper: a build() that throws before returning its promise must fail its floor, not the panel.
    const settled = await Promise.allSettled(candidates.map(async (floor) => floor.builder.build(request)));

    const failed = new Set<UpstreamName>();
    const floors: RenderedFloor[] = [];
    const outcomes: FloorOutcome[] = layout.floors.filter((f) => !f.enabled).map((f) => ({ code: f.code, status: 'disabled' }));
    let degraded = false;

    settled.forEach((result, index) => {
      const floor = candidates[index] as CompiledFloor;
      if (result.status === 'rejected') {
        degraded = true;
        const error: unknown = result.reason;
        if (isUpstreamError(error)) {
          if (!failed.has(error.upstream)) this.logUpstreamFailure(error);
          failed.add(error.upstream);
          outcomes.push({ code: floor.code, status: 'upstream-failed', upstream: error.upstream });
        } else {
          this.logBuilderFailure(layout, floor, error);
          outcomes.push({ code: floor.code, status: 'builder-failed', error: describe(error) });
        }
        return;
      }
      const facts = result.value;
      if (facts === null) {
        outcomes.push({ code: floor.code, status: 'empty' });
        return;
      }
      if (floor.hideWhenZero && facts.amount !== null && facts.amount.minor === 0) {
        outcomes.push({ code: floor.code, status: 'zero' });
        return;
      }
      floors.push(this.format(floor, facts, request.viewer.locale));
      outcomes.push({ code: floor.code, status: 'shown' });
    });

    const panel: RenderedPanel = {
      scene: layout.scene,
      layoutVersion: layout.version,
      degraded,
      failedUpstreams: UPSTREAMS.filter((u) => failed.has(u)),
      locale: request.viewer.locale,
      floors,
    };
    this.options.hooks?.panelDidRender?.(panel, outcomes);
    return panel;
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

  private format(floor: CompiledFloor, facts: FloorFacts, locale: string): RenderedFloor {
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
      style: floor.style,
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
