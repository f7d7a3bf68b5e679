/**
 * The request pipeline: the one place a request's context is assembled —
 *
 *   identity (bearer token) → rate limit → viewer (headers) → flags → per-request loaders
 *   (kill switches, answer checks) → deadline
 *
 * GraphQL (the known-operations fast path and Apollo's path alike, through their shared
 * context function) and the operator preview both call it, so the preview cannot drift from
 * real traffic: the same viewer from the same header parsers, the same flag evaluation, the
 * same loaders with the same kill switches. The preview skips only the two steps an operator
 * has no use for: a user's token (it names the user) and the user's rate limit. The checks
 * of a panel's arguments (a known scene, at most MAX_SELECTED_SKUS SKUs) live here too, for
 * the resolver and the preview alike.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { ERRORS, ErrorCode, FloorplanError, retryAfterSeconds } from '../errors.ts';
import type { FlagService } from '../flags/flag-service.ts';
import type { RequestFlags } from '../flags/request-flags.ts';
import type { LoggedRequest } from '../observability/logger.ts';
import { NO_TRACE, type RequestTrace } from '../observability/tracing.ts';
import type { Violation } from '../upstreams/definition.ts';
import { RequestScope } from '../loaders/request-scope.ts';
import type { RateLimitDecision, RateLimiter } from '../security/rate-limit.ts';
import type { UpstreamClients } from '../upstreams/clients.ts';
import type { UpstreamName } from '../upstreams/registry.ts';
import { Deadline } from '../upstreams/deadline.ts';
import type { TokenVerifier, VerifiedClaims } from '../viewer/authenticate.ts';
import { buildViewer, type Viewer } from '../viewer/viewer.ts';

/** More SKUs than any cart holds is a mistake or an attack; either way, refuse it early. */
export const MAX_SELECTED_SKUS = 500;

/** Who a request is for: what a verified token says, or what an operator's preview names. */
export type Identity = Pick<VerifiedClaims, 'userId' | 'segments'>;

/** A request's context: who, which flags, its loaders and its upstream budget. */
export interface RequestContext {
  readonly viewer: Viewer;
  /** This request's flag decisions: each flag evaluated once, the same for every floor and panel. */
  readonly flags: RequestFlags;
  /** Per-request DataLoaders; never shared between requests. */
  readonly scope: RequestScope;
  /** The request's upstream budget. */
  readonly deadline: Deadline;
  /**
   * Names the request's decisions in the log, so support can replay it, and every warning logged
   * while it is served (the renderer's, a refused upstream answer's), so they join that record.
   */
  readonly decisionId: string;
  /** Where the layers report upstream calls, flag evaluations and renders; the shared no-op when the request is not sampled. */
  readonly trace: RequestTrace;
}

export interface RequestPipelineDeps {
  /** Verifies a bearer token (the Authorization header's value) into claims, or throws FLOORPLAN_ERR_AUTH_*. */
  readonly verify: TokenVerifier;
  readonly limiter: Pick<RateLimiter, 'take'>;
  readonly flags: Pick<FlagService, 'evaluate'>;
  readonly clients: UpstreamClients;
  readonly locales: readonly string[];
  /** The kill flag of an upstream, e.g. `floorplan.kill.promotion`. */
  readonly killFlag: (upstream: UpstreamName) => string;
  /** How long upstream work may take from admission: the request deadline less what building and sending the panel needs. */
  readonly upstreamBudgetMs: number;
  /** Told about every upstream answer the cross-checks refuse (to count and log it), with the request it was refused for. */
  readonly violated?: (upstream: UpstreamName, violation: Violation, request: LoggedRequest | undefined) => void;
  /** Told about every upstream call a kill switch kept from being made (to count it). */
  readonly notCalled?: (upstream: UpstreamName) => void;
  readonly logger: Logger;
  /** Where the signing keys come from (auth.jwksUrl), named when they cannot be fetched; undefined with hs256. */
  readonly jwksUrl?: string;
}

/** An identity provider outage refuses every request: logged at most this often, with how many were refused since. */
const KEYS_OUTAGE_LOG_INTERVAL_MS = 10_000;

export class RequestPipeline {
  private readonly deps: RequestPipelineDeps;
  private keysOutageLoggedAt = Number.NEGATIVE_INFINITY;
  private keysOutageRefusals = 0;

  constructor(deps: RequestPipelineDeps) {
    this.deps = deps;
  }

  /**
   * A GraphQL request's context. The deadline starts when the request was let in
   * (`admittedAt`, once its body had arrived): verifying its token and a slow Redis for the rate
   * limit come out of the same budget as the upstream calls.
   *
   * The context itself when nothing had to be waited for (a token verified before, a rate limit
   * decided in this process: most requests), so the request goes on without a promise and a turn
   * of the microtask queue; otherwise a promise of it.
   * @returns a refusal always as a rejected promise, never thrown: a FloorplanError whose
   *   catalogue entry is the client's answer: UNAUTHENTICATED (401), SERVICE_UNAVAILABLE (503,
   *   keys unreachable), RATE_LIMITED (429). The GraphQL layer turns it into the error Apollo
   *   answers with (the pipeline does not know GraphQL).
   */
  forRequest(req: IncomingMessage, admittedAt: number, trace: RequestTrace = NO_TRACE): RequestContext | Promise<RequestContext> {
    const deadline = new Deadline(this.deps.upstreamBudgetMs, admittedAt);
    let verified: VerifiedClaims | Promise<VerifiedClaims>;
    try {
      verified = this.deps.verify(req.headers.authorization);
    } catch (error) {
      return this.refused(error);
    }
    if (verified instanceof Promise) {
      return verified.then(
        (claims) => this.admit(req, claims, deadline, trace),
        (error: unknown) => this.refused(error),
      );
    }
    return this.admit(req, verified, deadline, trace);
  }

  /** The rate limit, then the context; a refusal as a rejected promise. */
  private admit(req: IncomingMessage, claims: VerifiedClaims, deadline: Deadline, trace: RequestTrace): RequestContext | Promise<RequestContext> {
    const taken = this.deps.limiter.take(claims.userId);
    if (taken instanceof Promise) return taken.then((decision) => this.admitted(req, claims, decision, deadline, trace));
    return this.admitted(req, claims, taken, deadline, trace);
  }

  private admitted(req: IncomingMessage, claims: VerifiedClaims, decision: RateLimitDecision, deadline: Deadline, trace: RequestTrace): RequestContext | Promise<never> {
    if (!decision.allowed) return Promise.reject(new FloorplanError(ErrorCode.REQUEST_RATE_LIMITED, { seconds: retryAfterSeconds(decision.retryAfterMs) }));
    try {
      return this.assemble(claims, (name) => {
        const value = req.headers[name];
        return Array.isArray(value) ? value[0] : value;
      }, deadline, trace);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** A token refused: noted where an operator needs to know of it, and returned as a rejection. */
  private refused(error: unknown): Promise<never> {
    this.noteRefusal(error);
    return Promise.reject(error);
  }

  /**
   * An operator's preview of `identity` as a client sending these header values would be
   * seen: the same assembly as {@link forRequest}, without a token or a rate limit, with a
   * fresh deadline.
   */
  forPreview(identity: Identity, header: (name: string) => string | undefined): RequestContext {
    return this.assemble(identity, header, new Deadline(this.deps.upstreamBudgetMs), NO_TRACE);
  }

  /**
   * Logs a refused token where an operator needs to know of it. The catalogue answers it (401,
   * or 503 with Retry-After); anything else is masked as a 500.
   */
  private noteRefusal(error: unknown): void {
    if (error instanceof FloorplanError && (error.code === ErrorCode.AUTH_INVALID_TOKEN || error.code === ErrorCode.AUTH_MISSING_TOKEN)) {
      this.deps.logger.debug({ code: error.code, reason: error.message }, 'request rejected: unauthenticated');
    }
    if (error instanceof FloorplanError && error.code === ErrorCode.AUTH_KEYS_UNAVAILABLE) {
      this.keysOutageRefusals++;
      const now = performance.now();
      if (now - this.keysOutageLoggedAt < KEYS_OUTAGE_LOG_INTERVAL_MS) return;
      this.keysOutageLoggedAt = now;
      const refused = this.keysOutageRefusals;
      this.keysOutageRefusals = 0;
      this.deps.logger.warn({ code: error.code, jwksUrl: this.deps.jwksUrl, refused, err: error.cause }, 'cannot verify tokens: signing keys unavailable');
    }
  }

  private assemble(identity: Identity, header: (name: string) => string | undefined, deadline: Deadline, trace: RequestTrace): RequestContext {
    const viewer = buildViewer(identity, header, this.deps.locales);
    const flags = this.deps.flags.evaluate(viewer, trace);
    const decisionId = randomUUID();
    const scope = new RequestScope({
      userId: viewer.userId,
      clients: this.deps.clients,
      deadline,
      killed: (upstream) => flags.isEnabled(this.deps.killFlag(upstream)),
      violated: this.deps.violated,
      notCalled: this.deps.notCalled,
      trace,
      decisionId,
    });
    if (trace.recording) trace.decided(decisionId);
    return { viewer, flags, scope, deadline, decisionId, trace };
  }
}

/** The scenes that can be rendered, as the renderer knows them (listed only for an error message). */
export interface SceneCatalogue {
  hasScene(scene: string): boolean;
  scenes(): readonly string[];
}

/**
 * The catalogue's error for a panel's arguments (FLOORPLAN_ERR_LAYOUT_UNKNOWN_SCENE,
 * FLOORPLAN_ERR_SELECTION_TOO_LARGE: BAD_USER_INPUT naming the argument), or undefined when
 * nothing is wrong. The resolver throws it as it is. `servedCandidate`: the viewer gets the
 * scene's candidate, so the scene is theirs even when live does not serve it (a new panel
 * canaried to its rollout before it goes live); false (the default): only live's scenes are.
 */
export function panelArgumentError(
  catalogue: SceneCatalogue,
  scene: string,
  selectedSkuIds: readonly string[] | null | undefined,
  servedCandidate = false,
): FloorplanError<typeof ErrorCode.LAYOUT_UNKNOWN_SCENE | typeof ErrorCode.SELECTION_TOO_LARGE> | undefined {
  if (!servedCandidate && !catalogue.hasScene(scene)) {
    const known = catalogue.scenes().map((s) => JSON.stringify(s)).join(', ');
    return new FloorplanError(ErrorCode.LAYOUT_UNKNOWN_SCENE, { known, received: JSON.stringify(scene) });
  }
  if (selectedSkuIds != null && selectedSkuIds.length > MAX_SELECTED_SKUS) {
    return new FloorplanError(ErrorCode.SELECTION_TOO_LARGE, { max: MAX_SELECTED_SKUS, received: selectedSkuIds.length });
  }
  return undefined;
}

/** What is wrong with a panel's arguments, naming the argument, or undefined when nothing is (the operator preview's form of {@link panelArgumentError}). */
export function panelArgumentProblem(
  catalogue: SceneCatalogue,
  scene: string,
  selectedSkuIds: readonly string[] | null | undefined,
  servedCandidate = false,
): { readonly argument: 'scene' | 'selectedSkuIds'; readonly message: string } | undefined {
  const error = panelArgumentError(catalogue, scene, selectedSkuIds, servedCandidate);
  return error === undefined ? undefined : { argument: ERRORS[error.code].argument, message: error.message };
}
