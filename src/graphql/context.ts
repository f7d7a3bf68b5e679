/** What every resolver receives: the viewer, the request's loaders and the renderer. */
import type { PanelRenderer } from '../floors/renderer.ts';
import type { RequestScope } from '../loaders/request-scope.ts';
import type { Viewer } from '../viewer/viewer.ts';

export interface GraphQLContext {
  readonly viewer: Viewer;
  /** Per-request DataLoaders; never shared between requests. */
  readonly scope: RequestScope;
  readonly renderer: PanelRenderer;
}
