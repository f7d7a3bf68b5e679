/**
 * What every resolver receives: the request's context from the request pipeline (viewer,
 * flags, loaders, deadline, decision id) and the renderer.
 */
import type { CandidateChooser } from '../flags/candidate-rollout.ts';
import type { ShadowComparer } from '../panels/shadow.ts';
import type { ExplainedPanel, PanelRenderer } from '../panels/renderer.ts';
import type { RequestContext } from '../pipeline/request-pipeline.ts';

/** A panel rendered for this request, with the selection it was asked for: the decision record replays it from both. */
export interface RequestedPanel extends ExplainedPanel {
  /** The panel's `selectedSkuIds` as the client sent it; null: none sent, the lines ticked in the cart. */
  readonly selectedSkuIds: readonly string[] | null;
}

export interface GraphQLContext extends RequestContext {
  readonly renderer: PanelRenderer;
  /** The scenes' layout candidates and who gets them; undefined: no revision store, no candidates. */
  readonly candidates?: CandidateChooser;
  /** Compares a sampled share of live panels with the scene's candidate; undefined: no candidates. */
  readonly shadow?: ShadowComparer;
  /**
   * Panels rendered so far in this request, with what happened to each configured floor and the
   * revisions they came from: once
   * the answer is on its way, the decision log and the panel metrics take them — only when the
   * client got them (an answer whose `data` is null, another panel refused, delivered none).
   */
  readonly panels: RequestedPanel[];
  /**
   * The answer for a request whose deadline ran out while Floorplan was saturated (HTTP 503
   * OVERLOADED with Retry-After, counted as shed `late`): thrown instead of a degraded panel.
   */
  readonly overloaded: () => Error;
}
