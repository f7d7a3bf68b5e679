/**
 * The upstream registry: every upstream Floorplan aggregates, one definition each
 * (`defs/<name>.ts`, see definition.ts). Config, clients, loaders, metrics labels, kill
 * switches, `failedUpstreams` and the demo server's routes derive from this list; to add an
 * upstream, write its definition and list it here (README, "Adding an upstream").
 */
import type { AnyUpstreamDefinition, MissingAnswer } from './definition.ts';
import { cart } from './defs/cart.ts';
import { loyalty } from './defs/loyalty.ts';
import { promotion } from './defs/promotion.ts';
import { settlement } from './defs/settlement.ts';

/** Every upstream, in the order panels list them in `failedUpstreams`. */
export const UPSTREAM_DEFINITIONS = [cart, promotion, settlement, loyalty] as const;

type Definitions = (typeof UPSTREAM_DEFINITIONS)[number];

/** An upstream's name, as used in config, metrics and kill switches. */
export type UpstreamName = Definitions['name'];

/** Every upstream's name, in registry order. */
export const UPSTREAMS: readonly UpstreamName[] = Object.freeze(UPSTREAM_DEFINITIONS.map((d) => d.name));

/** The definition of upstream `N`. */
export type UpstreamDefinitionOf<N extends UpstreamName> = Extract<Definitions, { readonly name: N }>;
/** What upstream `N` is asked (its wire request). */
export type UpstreamRequest<N extends UpstreamName> = ReturnType<UpstreamDefinitionOf<N>['toRequest']>;
/** What upstream `N` answers on the wire, once its contract has checked it. */
export type UpstreamAnswer<N extends UpstreamName> = Parameters<UpstreamDefinitionOf<N>['toResults']>[0];
/** The domain result panels read of upstream `N`, per selection. */
export type UpstreamResult<N extends UpstreamName> = Exclude<ReturnType<UpstreamDefinitionOf<N>['toResults']>[number], MissingAnswer>;

const byName = new Map<string, AnyUpstreamDefinition>();
for (const definition of UPSTREAM_DEFINITIONS) {
  if (!/^[a-z][a-z0-9]*$/.test(definition.name)) throw new Error(`an upstream name must be lower-case letters and digits (it becomes UPSTREAM_<NAME>_URL and a GraphQL enum value), but got: ${JSON.stringify(definition.name)}`);
  if (byName.has(definition.name)) throw new Error(`upstream ${JSON.stringify(definition.name)} is defined twice in UPSTREAM_DEFINITIONS`);
  byName.set(definition.name, definition);
}

/** The definition of `name`. */
export function upstreamDefinition<N extends UpstreamName>(name: N): UpstreamDefinitionOf<N> {
  return byName.get(name) as UpstreamDefinitionOf<N>;
}

/** Whether `name` is a registered upstream. */
export function isUpstreamName(name: string): name is UpstreamName {
  return byName.has(name);
}
