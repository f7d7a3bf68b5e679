/**
 * POST /admin/preview — renders a scene as a given user would see it and explains every
 * configured floor: shown, or hidden and why (disabled, flag off and which strategy or
 * constraint, client too old, builder returned nothing, zero amount hidden, upstream failed
 * or killed). Operators use it before and during a rollout; it reads the same layouts,
 * flags and upstreams as real traffic but is never rate limited or logged as a decision.
 */
import { z } from 'zod';
import { ErrorCode, FloorplanError, UnreachableCaseError } from '../errors.ts';
import type { FlagExplanation } from '../flags/explain.ts';
import type { FlagService } from '../flags/flag-service.ts';
import type { FloorOutcome, PanelRenderer } from '../floors/renderer.ts';
import { pickVersion } from '../floors/renderer.ts';
import type { AdminHandler } from '../http/server.ts';
import type { LayoutSet } from '../layouts/floors-config.ts';
import { RequestScope } from '../loaders/request-scope.ts';
import type { UpstreamClients } from '../upstreams/clients.ts';
import type { UpstreamName } from '../upstreams/contracts.ts';
import { Deadline } from '../upstreams/deadline.ts';
import { isUpstreamError } from '../upstreams/upstream-error.ts';
import { negotiateLocale, type Viewer } from '../viewer/viewer.ts';

const previewRequestSchema = z.strictObject({
  scene: z.string().min(1),
  userId: z.string().min(1).max(128),
  segments: z.array(z.string().min(1).max(64)).max(32).default([]),
  platform: z.string().regex(/^[a-z0-9._-]{1,64}$/i).default('unknown'),
  appVersion: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/).nullable().default(null),
  locale: z.string().min(2).optional(),
  selectedSkuIds: z.array(z.string().min(1)).max(500).optional(),
});

export interface PreviewDeps {
  readonly renderer: PanelRenderer;
  readonly flags: FlagService;
  readonly clients: UpstreamClients;
  readonly locales: readonly string[];
  readonly killFlag: (upstream: UpstreamName) => string;
  readonly deadlineMs: number;
  readonly layouts: () => LayoutSet;
}

/** One configured floor, explained. */
interface FloorExplanation {
  readonly code: string;
  readonly builder: string;
  readonly sort: number;
  readonly shown: boolean;
  /** The outcome's status: shown, undecorated, fallback, disabled, flag-off, client-too-old, empty, zero, upstream-failed, builder-failed, unreconciled. */
  readonly status: FloorOutcome['status'];
  /** One sentence for the operator. */
  readonly why: string;
  /** For flag-off (and shown floors with a flag): the flag's evaluation for this user. */
  readonly flag?: FlagExplanation;
}

export function createPreviewHandler(deps: PreviewDeps): AdminHandler {
  return async (body) => {
    const parsed = previewRequestSchema.safeParse(body);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `\`${i.path.join('.') || 'body'}\` ${i.message}`);
      return { status: 400, body: { error: 'invalid preview request', problems } };
    }
    const request = parsed.data;
    if (!deps.renderer.hasScene(request.scene)) {
      return {
        status: 400,
        body: { error: `scene must be one of ${deps.renderer.scenes().map((s) => JSON.stringify(s)).join(', ')}, but got: ${JSON.stringify(request.scene)}` },
      };
    }
    const viewer: Viewer = {
      userId: request.userId,
      segments: request.segments,
      platform: request.platform.toLowerCase(),
      appVersion: request.appVersion,
      locale: negotiateLocale(request.locale, deps.locales),
      sessionId: null,
    };
    const flags = deps.flags.evaluate(viewer);
    const scope = new RequestScope({
      userId: viewer.userId,
      clients: deps.clients,
      deadline: new Deadline(deps.deadlineMs),
      killed: (upstream) => flags.isEnabled(deps.killFlag(upstream)),
    });
    const data = scope.panelData(request.selectedSkuIds);
    try {
      await data.selectedLines();
    } catch (error) {
      if (error instanceof FloorplanError && error.code === ErrorCode.SELECTION_NOT_IN_CART) return { status: 400, body: { error: error.message } };
      if (!isUpstreamError(error)) throw error;
    }

    const { panel, outcomes } = await deps.renderer.renderExplained({ scene: request.scene, data, viewer, flags });
    const layout = deps.layouts().get(request.scene);
    const version = layout === undefined ? undefined : pickVersion(layout, flags);
    const byCode = new Map(outcomes.map((o) => [o.code, o]));
    const floors: FloorExplanation[] = (version?.floors ?? []).map((floor) => {
      const outcome = byCode.get(floor.code) ?? ({ code: floor.code, status: 'empty' } as const);
      const shown = outcome.status === 'shown' || outcome.status === 'fallback' || outcome.status === 'undecorated';
      const explanation: FloorExplanation = {
        code: floor.code,
        builder: floor.builder.name,
        sort: floor.sort,
        shown,
        status: outcome.status,
        why: describeOutcome(outcome, deps.killFlag),
      };
      return floor.flag === undefined ? explanation : { ...explanation, flag: deps.flags.explain(floor.flag, viewer) };
    });

    return {
      status: 200,
      body: {
        scene: panel.scene,
        layoutVersion: panel.layoutVersion,
        layoutFlag: layout?.layoutFlag === undefined ? null : { flag: layout.layoutFlag, variant: flags.variant(layout.layoutFlag).name },
        degraded: panel.degraded,
        failedUpstreams: panel.failedUpstreams,
        degradedReasons: panel.degradedReasons,
        locale: panel.locale,
        viewer,
        floors,
        panel: panel.floors,
        flags: flags.decisions(),
      },
    };
  };
}

function describeOutcome(outcome: FloorOutcome, killFlag: (upstream: UpstreamName) => string): string {
  switch (outcome.status) {
    case 'shown':
      return 'shown';
    case 'fallback':
      return `shown from fallback builder "${outcome.builder}" because ${outcome.upstream} failed`;
    case 'disabled':
      return 'hidden: enabled is false in the floors file';
    case 'flag-off':
      return `hidden: flag "${outcome.flag}" is off for this user (see flag)`;
    case 'client-too-old':
      return `hidden: needs app version ${outcome.required}, the client is ${outcome.appVersion ?? 'of unknown version'}`;
    case 'empty':
      return 'hidden: the builder returned nothing for this user (e.g. not a PLUS member)';
    case 'zero':
      return 'hidden: the amount is zero and hideWhenZero is set';
    case 'upstream-failed':
      return outcome.outcome === 'killed'
        ? `hidden: ${outcome.upstream} is killed by flag "${killFlag(outcome.upstream)}"`
        : `hidden: ${outcome.upstream} failed (${outcome.outcome})`;
    case 'builder-failed':
      return `hidden: the builder failed: ${outcome.error}`;
    case 'undecorated': {
      const missing = outcome.missing.map((v) => `{${v}}`).join(', ');
      const because =
        outcome.upstream === null
          ? 'its decoration failed to build'
          : outcome.outcome === 'killed'
            ? `${outcome.upstream} is killed by flag "${killFlag(outcome.upstream)}"`
            : `${outcome.upstream} failed (${outcome.outcome ?? 'unknown'})`;
      return `shown without ${missing} (its sub-name fell back) because ${because}`;
    }
    case 'unreconciled':
      return 'hidden: the rows shown could not be reconciled with the payable total, so only the total is shown';
    default:
      throw new UnreachableCaseError(outcome);
  }
}
