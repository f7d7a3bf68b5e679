/** Resolvers: thin. They turn arguments into a render request and internal errors into client codes. */
import { ErrorCode, FloorplanError } from '../errors.ts';
import { panelArgumentProblem } from '../pipeline/request-pipeline.ts';
import { isUpstreamError } from '../upstreams/upstream-error.ts';
import type { Resolvers, Upstream } from './__generated__/resolvers-types.ts';
import { badUserInput } from './client-errors.ts';
import { MinorUnits } from './minor-units.ts';

const UPSTREAM_ENUM = { cart: 'CART', promotion: 'PROMOTION', settlement: 'SETTLEMENT' } as const satisfies Record<string, Upstream>;

export const resolvers: Resolvers = {
  MinorUnits,
  Query: {
    async floorPanel(_parent, { scene, selectedSkuIds }, { viewer, scope, renderer, flags, panels }) {
      const problem = panelArgumentProblem(renderer, scene, selectedSkuIds);
      if (problem !== undefined) throw badUserInput(problem.message, problem.argument);
      const data = scope.panelData(selectedSkuIds);
      try {
        await data.selectedLines();
      } catch (error) {
        if (error instanceof FloorplanError && error.code === ErrorCode.SELECTION_NOT_IN_CART) {
          throw badUserInput(error.message, 'selectedSkuIds');
        }
        // The cart is down: render anyway, and the floors that need it drop (degraded).
        if (!isUpstreamError(error)) throw error;
      }
      const panel = await renderer.render({ scene, data, viewer, flags });
      panels.push(panel);
      return panel;
    },
  },
  FloorPanel: {
    failedUpstreams: (panel) => panel.failedUpstreams.map((u) => UPSTREAM_ENUM[u]),
    decisionId: (_panel, _args, { decisionId }) => decisionId,
  },
};
