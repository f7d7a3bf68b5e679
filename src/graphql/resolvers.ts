/** Resolvers: thin. They turn arguments into a render request; what a client sees of their errors is the catalogue's (src/errors.ts). */
import { panelArgumentError } from '../pipeline/request-pipeline.ts';
import type { UpstreamName } from '../upstreams/registry.ts';
import { isUpstreamError } from '../upstreams/upstream-error.ts';
import type { Resolvers, Upstream } from './__generated__/resolvers-types.ts';
import { MinorUnits } from './minor-units.ts';

/**
 * The schema's `Upstream` value of each upstream: its registry name, upper-cased (as the answer's
 * `failedUpstreams` and the decision record name it). The type
 * check fails the build when the schema's enum lacks a registered upstream, and
 * test/graphql/upstream-enum.test.ts fails when it has one the registry does not.
 */
export function upstreamEnum<N extends UpstreamName>(name: N): Uppercase<N> & Upstream {
  return name.toUpperCase() as Uppercase<N> & Upstream;
}
type MissingFromSchema = Exclude<Uppercase<UpstreamName>, Upstream>;
const SCHEMA_HAS_EVERY_UPSTREAM: [MissingFromSchema] extends [never] ? true : { missingFromSchema: MissingFromSchema } = true;
void SCHEMA_HAS_EVERY_UPSTREAM;

export const resolvers: Resolvers = {
  MinorUnits,
  Query: {
    async floorPanel(_parent, { scene, selectedSkuIds }, context, info) {
      const { viewer, scope, renderer, flags, panels, trace, deadline, overloaded, candidates, shadow } = context;
      const operationName = info.operation.name?.value;
      if (trace.recording && operationName !== undefined) trace.operationName(operationName);
      // A viewer in the scene's candidate rollout gets the candidate; everyone else the live layout.
      // Chosen before the scene is checked: a candidate's users get a scene live does not serve yet.
      const candidate = candidates?.of(scene);
      const served = candidate !== undefined && candidates!.gets(flags, candidate) ? candidate : undefined;
      const refused = panelArgumentError(renderer, scene, selectedSkuIds, served !== undefined);
      if (refused !== undefined) throw refused;
      const data = scope.panelData(selectedSkuIds);
      try {
        await data.selectedLines();
      } catch (error) {
        // The cart is down: render anyway, and the floors that need it drop (degraded). A SKU
        // not in the cart (FLOORPLAN_ERR_SELECTION_NOT_IN_CART) is the client's: it goes through.
        if (!isUpstreamError(error)) throw error;
      }
      // Both executors (the fast path and Apollo's) run this resolver, so both traces get the render span;
      // an untraced request (most) does not ask the clock for it.
      const startMs = trace.recording ? performance.now() : 0;
      // Viewers served the live layout, sampled, are also compared with the candidate after answering (never those served it).
      const recorded = candidate !== undefined && served === undefined && shadow?.sampled() === true ? shadow.record(data) : undefined;
      // renderExplained, not render: its answer as it is, without a `.then` (and a promise) per panel to unwrap it.
      // The context names the request (decisionId, trace) on what the render logs: its warnings join its decision record.
      const rendered = await renderer.renderExplained({ scene, data: recorded?.data ?? data, viewer, flags, request: context, ...(served === undefined ? {} : { candidate: served }) });
      const { panel, outcomes } = rendered;
      // Floors lost to a deadline that Floorplan's own saturation spent: not the upstreams' fault,
      // and an app shown a degraded sheet would show less than its last one. Refuse instead.
      if (panel.degraded && deadline.spentBySaturation()) throw overloaded();
      if (recorded !== undefined) shadow!.schedule({ scene, candidate: candidate!, viewer, flags, served: panel, servedOutcomes: outcomes, recorded, source: data });
      if (trace.recording) trace.rendered(scene, startMs, performance.now(), panel.floors.length, panel.degradedReasons);
      // Counted and logged once the answer is on its way, if the client gets it (apollo.ts, endOfRequest).
      // With its selection: the money depends on it, and the decision record must replay it.
      panels.push({ ...rendered, selectedSkuIds: selectedSkuIds ?? null });
      return panel;
    },
  },
  FloorPanel: {
    failedUpstreams: (panel) => panel.failedUpstreams.map(upstreamEnum),
    decisionId: (_panel, _args, { decisionId }) => decisionId,
  },
};
