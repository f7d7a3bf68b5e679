/** Resolvers: thin. They turn arguments into a render request; what a client sees of their errors is the catalogue's (src/errors.ts). */
import { panelArgumentError } from '../pipeline/request-pipeline.ts';
import { isUpstreamError } from '../upstreams/upstream-error.ts';
import type { Resolvers, Upstream } from './__generated__/resolvers-types.ts';
import { MinorUnits } from './minor-units.ts';

const UPSTREAM_ENUM = { cart: 'CART', promotion: 'PROMOTION', settlement: 'SETTLEMENT' } as const satisfies Record<string, Upstream>;

export const resolvers: Resolvers = {
  MinorUnits,
  Query: {
    async floorPanel(_parent, { scene, selectedSkuIds }, { viewer, scope, renderer, flags, panels }) {
      const refused = panelArgumentError(renderer, scene, selectedSkuIds);
      if (refused !== undefined) throw refused;
      const data = scope.panelData(selectedSkuIds);
      try {
        await data.selectedLines();
      } catch (error) {
        // The cart is down: render anyway, and the floors that need it drop (degraded). A SKU
        // not in the cart (FLOORPLAN_ERR_SELECTION_NOT_IN_CART) is the client's: it goes through.
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
