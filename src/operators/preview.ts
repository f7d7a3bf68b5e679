/**
 * POST /admin/preview — renders a scene as a given user would see it and explains every
 * configured floor: shown, or hidden and why (disabled, flag off and which strategy or
 * constraint, client too old, builder returned nothing, zero amount hidden, upstream failed
 * or killed). Operators use it before and during a rollout; it reads the same layouts,
 * flags and upstreams as real traffic but is never rate limited or logged as a decision.
 *
 * Its body names every field the request path puts into the viewer and the Unleash context —
 * the user and segments a token carries, and what the headers say (platform, app version,
 * session, locale) — and the viewer is built by the request path's own buildViewer, so the
 * fields of a "panel decisions" log line replay that request here. A field the header would
 * not accept is refused (400) rather than dropped, so an operator's typo does not silently
 * preview a client that sent nothing.
 *
 * With `layout: "both"`, a scene that has a candidate is rendered twice for the same user —
 * its live layout and its candidate, side by side in `panels` — from the same request's
 * loaders, so the second render makes no upstream call the first did not. Every panel carries
 * the money invariant's verdict (src/panels/money-invariant.ts), as the shadow comparison checks it.
 */
import { z } from 'zod';
import { ErrorCode, FloorplanError, UnreachableCaseError } from '../errors.ts';
import { candidateFlagName, type CandidateChooser } from '../flags/candidate-rollout.ts';
import type { FlagExplanation } from '../flags/explain.ts';
import type { FloorBuilder } from '../floors/builder.ts';
import type { FlagService } from '../flags/flag-service.ts';
import type { ServedCandidate } from '../layouts/layout-store.ts';
import { moneyInvariant, whyUnreconciled, type InvariantVerdict } from '../panels/money-invariant.ts';
import type { BreakdownRepair, RenderedFloor } from '../panels/panel.ts';
import type { FloorOutcome, PanelRenderer } from '../panels/renderer.ts';
import { pickVersion } from '../panels/renderer.ts';
import type { AdminHandler } from '../http/server.ts';
import type { LayoutSet } from '../layouts/compile.ts';
import { upstreamEnum } from '../graphql/resolvers.ts';
import { MAX_SELECTED_SKUS, panelArgumentProblem, type RequestPipeline } from '../pipeline/request-pipeline.ts';
import type { UpstreamName } from '../upstreams/registry.ts';
import { isUpstreamError } from '../upstreams/upstream-error.ts';
import { parseAppVersion } from '../viewer/app-version.ts';
import { MAX_USER_ID_LENGTH, userIdProblem } from '../viewer/user-id.ts';
import { parsePlatform, parseSessionId } from '../viewer/viewer.ts';

/** A field the request path reads from a header: accepted exactly when that header's value would be. */
const headerField = (parse: (value: string) => string | null, contract: string) =>
  z.string().refine((value) => parse(value) !== null, { error: (issue) => `must be ${contract}, but got: ${JSON.stringify(issue.input)}` });

const previewRequestSchema = z.strictObject({
  scene: z.string().min(1),
  userId: z.string().min(1).max(MAX_USER_ID_LENGTH).superRefine((id, ctx) => {
    const problem = userIdProblem(id);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  }),
  segments: z.array(z.string().min(1).max(64)).max(32).default([]),
  /** As `x-app-platform`; absent or null: a client that did not say (`unknown`). */
  platform: headerField(parsePlatform, 'a platform token such as "ios" (letters, digits, ._-, up to 64)').nullable().default(null),
  /** As `x-app-version`; absent or null: a client that sent no version. */
  appVersion: headerField(parseAppVersion, 'an app version as x-app-version accepts it: 12.3.4, 12.3.4-beta.1, 12.3.4+7, 12.3 or 12.3.4 (5678)')
    .nullable()
    .default(null),
  /** As `x-session-id`; absent or null: no session (session-sticky rollouts then match nobody). */
  sessionId: headerField(parseSessionId, 'a session id as x-session-id accepts it: printable ASCII without spaces, up to 128 characters')
    .nullable()
    .default(null),
  /**
   * As `accept-language`: a tag or a whole header value, which the request path negotiates
   * (src/viewer/viewer.ts). Any value is taken, as the header's is: `*`, or a locale none of the
   * floors is named in, gets the first configured locale, as a request does, and the answer's
   * `locale` says which was rendered. Absent: the first configured locale.
   */
  locale: z.string().optional(),
  /** As the query's argument; absent or null: the lines ticked in the cart (a decision record logs null). */
  selectedSkuIds: z.array(z.string().min(1)).max(MAX_SELECTED_SKUS).nullable().optional(),
  /** "served" (the default): the layout this user gets; "both": also the scene's candidate beside its live layout, if it has one. */
  layout: z.enum(['served', 'both']).default('served'),
});

export interface PreviewDeps {
  /** The request pipeline real traffic uses: the preview assembles its viewer, flags and loaders there. */
  readonly pipeline: Pick<RequestPipeline, 'forPreview'>;
  readonly renderer: PanelRenderer;
  /** For explaining a flag's decision, strategy by strategy. */
  readonly flags: Pick<FlagService, 'explain'>;
  readonly killFlag: (upstream: UpstreamName) => string;
  readonly layouts: () => LayoutSet;
  /** The scenes' layout candidates: the preview shows the candidate to a user its rollout selects, as real traffic does. */
  readonly candidates?: CandidateChooser;
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

/** One rendered panel of the preview, with why each configured floor is shown or hidden. */
interface PanelView {
  /** Which layout of the scene it is. */
  readonly layout: 'live' | 'candidate';
  /** Whether this user gets it (from the candidate's rollout). */
  readonly served: boolean;
  readonly layoutVersion: string;
  readonly layoutFlag: { readonly flag: string; readonly variant: string } | null;
  readonly degraded: boolean;
  /** As the GraphQL answer and the decision record spell them (`PROMOTION`): a replay compared with a record differs only where the panels do. */
  readonly failedUpstreams: readonly string[];
  readonly degradedReasons: readonly string[];
  readonly locale: string;
  readonly floors: readonly FloorExplanation[];
  readonly panel: readonly RenderedFloor[];
  readonly invariant: InvariantVerdict;
}

export function createPreviewHandler(deps: PreviewDeps): AdminHandler {
  return async (body) => {
    const parsed = previewRequestSchema.safeParse(body);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `\`${i.path.join('.') || 'body'}\` ${i.message}`);
      return { status: 400, body: { error: 'invalid preview request', problems } };
    }
    const request = parsed.data;
    const headers: Readonly<Record<string, string | null | undefined>> = {
      'x-app-platform': request.platform,
      'x-app-version': request.appVersion,
      'x-session-id': request.sessionId,
      'accept-language': request.locale,
    };
    const { viewer, flags, scope } = deps.pipeline.forPreview({ userId: request.userId, segments: request.segments }, (name) => headers[name] ?? undefined);
    const candidate = deps.candidates?.of(request.scene);
    const servesCandidate = candidate !== undefined && deps.candidates!.gets(flags, candidate);
    // As the resolver judges it: a scene live does not serve yet is this user's when they get its candidate.
    const problem = panelArgumentProblem(deps.renderer, request.scene, request.selectedSkuIds, servesCandidate);
    if (problem !== undefined) return { status: 400, body: { error: problem.message } };
    const data = scope.panelData(request.selectedSkuIds);
    // The SKUs of the cart lines the panel prices; null when the cart could not be read.
    let previewedSkuIds: string[] | null = null;
    try {
      previewedSkuIds = (await data.selectedLines()).map((line) => line.skuId);
    } catch (error) {
      if (error instanceof FloorplanError && error.code === ErrorCode.SELECTION_NOT_IN_CART) return { status: 400, body: { error: error.message } };
      if (!isUpstreamError(error)) throw error;
    }

    /** One panel of the scene for this user: the live layout, or `from` its candidate. */
    const view = async (from: ServedCandidate | undefined, served: boolean): Promise<PanelView> => {
      // A panel the user does not get is rendered as a shadow render is: the lifecycle hooks (metrics) are not told.
      const { panel, outcomes, repair } = await deps.renderer.renderExplained({ scene: request.scene, data, viewer, flags, ...(from === undefined ? {} : { candidate: from }), ...(served ? {} : { shadow: true }) });
      const layout = from?.layout ?? deps.layouts().get(request.scene);
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
          why: describeOutcome(outcome, floor.builder, deps.killFlag, repair),
        };
        return floor.flag === undefined ? explanation : { ...explanation, flag: deps.flags.explain(floor.flag, viewer) };
      });
      return {
        layout: from === undefined ? 'live' : 'candidate',
        served,
        layoutVersion: panel.layoutVersion,
        layoutFlag: layout?.layoutFlag === undefined ? null : { flag: layout.layoutFlag, variant: flags.variant(layout.layoutFlag).name },
        degraded: panel.degraded,
        failedUpstreams: panel.failedUpstreams.map(upstreamEnum),
        degradedReasons: panel.degradedReasons,
        locale: panel.locale,
        floors,
        panel: panel.floors,
        invariant: moneyInvariant(panel, repair),
      };
    };
    // The panel this user gets first (as real traffic renders it), then the other one from the same loaders.
    const served = await view(servesCandidate ? candidate : undefined, true);
    const panels = [served];
    // Beside a candidate of a scene live does not serve yet, there is no live panel to show.
    if (request.layout === 'both' && candidate !== undefined && deps.renderer.hasScene(request.scene)) {
      const other = await view(servesCandidate ? undefined : candidate, false);
      panels.splice(servesCandidate ? 0 : 1, 0, other);
    }
    const { layout: _layout, served: _served, ...top } = served;

    return {
      status: 200,
      body: {
        scene: request.scene,
        // The selection previewed, as asked (null: the lines ticked in the cart), and the cart lines that priced it.
        selectedSkuIds: request.selectedSkuIds ?? null,
        previewedSkuIds,
        ...top,
        // The scene's candidate, if it has one, and whether this user gets it (flag layout.candidate.<scene>, from its stored rollout).
        candidate: candidate === undefined ? null : { revision: candidate.revision, flag: candidateFlagName(candidate.scene), served: servesCandidate, rollout: candidate.rollout },
        viewer,
        // The Unleash context every flag of this preview was evaluated with (the client adds its environment).
        context: flags.context,
        // Every panel rendered, live layout first: the one above alone, or with layout "both" the live one and the candidate's.
        panels,
        flags: flags.decisions(),
      },
    };
  };
}

function describeOutcome(outcome: FloorOutcome, builder: FloorBuilder, killFlag: (upstream: UpstreamName) => string, repair: BreakdownRepair | null): string {
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
      return builder.when === undefined ? 'hidden: the builder returned nothing for this user (e.g. not a PLUS member)' : `hidden: its \`when\` is false for this user: ${builder.when}`;
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
          ? `its decoration failed${outcome.error === undefined ? '' : `: ${outcome.error}`}`
          : outcome.outcome === 'killed'
            ? `${outcome.upstream} is killed by flag "${killFlag(outcome.upstream)}"`
            : `${outcome.upstream} failed (${outcome.outcome ?? 'unknown'})`;
      return `shown without ${missing} (its sub-name fell back) because ${because}`;
    }
    case 'unreconciled':
      return whyUnreconciled(outcome.code, repair);
    default:
      throw new UnreachableCaseError(outcome);
  }
}
