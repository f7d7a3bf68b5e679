/** Resolvers: thin. They turn arguments into a render request and internal errors into client codes. */
import { ErrorCode, FloorplanError } from '../errors.ts';
import { isUpstreamError } from '../upstreams/upstream-error.ts';
import type { Resolvers, Upstream } from './__generated__/resolvers-types.ts';
import { badUserInput } from './client-errors.ts';
import { MinorUnits } from './minor-units.ts';

/** More SKUs than any cart holds is a mistake or an attack; either way, refuse it early. */
const MAX_SELECTED_SKUS = 500;

const UPSTREAM_ENUM = { cart: 'CART', promotion: 'PROMOTION', settlement: 'SETTLEMENT' } as const satisfies Record<string, Upstream>;

export const resolvers: Resolvers = {
  MinorUnits,
  Query: {
    async floorPanel(_parent, { scene, selectedSkuIds }, { viewer, scope, renderer, flags, panels }) {
      if (!renderer.hasScene(scene)) {
        throw badUserInput(`scene must be one of ${renderer.scenes().map((s) => JSON.stringify(s)).join(', ')}, but got: ${JSON.stringify(scene)}`, 'scene');
      }
      if (selectedSkuIds != null && selectedSkuIds.length > MAX_SELECTED_SKUS) {
        throw badUserInput(`selectedSkuIds must list at most ${MAX_SELECTED_SKUS} SKUs, but got: ${selectedSkuIds.length}`, 'selectedSkuIds');
      }
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
