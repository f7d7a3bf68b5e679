/** What every resolver receives: the viewer, the request's loaders and the renderer. */
import type { RequestFlags } from '../flags/request-flags.ts';
import type { RenderedPanel } from '../floors/panel.ts';
import type { PanelRenderer } from '../floors/renderer.ts';
import type { Deadline } from '../upstreams/deadline.ts';
import type { RequestScope } from '../loaders/request-scope.ts';
import type { Viewer } from '../viewer/viewer.ts';

export interface GraphQLContext {
  readonly viewer: Viewer;
  /** Per-request DataLoaders; never shared between requests. */
  readonly scope: RequestScope;
  readonly renderer: PanelRenderer;
  /** This request's flag decisions: each flag evaluated once, the same for every floor and panel. */
  readonly flags: RequestFlags;
  /** Carried by every panel of the request and logged with its decisions, so support can replay it. */
  readonly decisionId: string;
  /** Panels rendered so far in this request, for the decision log. */
  readonly panels: RenderedPanel[];
  /** The request's upstream budget. */
  readonly deadline: Deadline;
}
