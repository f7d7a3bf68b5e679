/**
 * Which viewers get a scene's layout candidate: the flag `layout.candidate.<scene>`, derived
 * from the rollout stored with the candidate (src/layouts/revisions/candidates.ts) as an
 * Unleash flag definition and evaluated by unleash-client's own strategies — so the allow-list
 * is Unleash's `userWithId` and the percentage is Unleash's `flexibleRollout` with `userId`
 * stickiness and the flag name as group id: a user's bucket is Unleash's normalized murmur
 * hash of `<flag>:<userId>`, stable across replicas, restarts and percentage changes (raising
 * 5 → 20 keeps the first 5 % in). Segments, platforms and the minimum app version are
 * constraints on the percentage strategy, on the context fields every flag sees
 * (request-flags.ts `unleashContextOf`); a viewer is in a segment by any of its segments
 * ({@link inCandidateRollout}).
 *
 * The decision is recorded in the request's decision log like any flag (RequestFlags.decide).
 */
import type { Context } from 'unleash-client';
import type { FeatureInterface } from 'unleash-client/lib/feature.js';
import { defaultStrategies } from 'unleash-client/lib/strategy/index.js';
import { Operator, type Constraint, type Strategy, type StrategyTransportInterface } from 'unleash-client/lib/strategy/strategy.js';
import type { ServedCandidate } from '../layouts/layout-store.ts';
import type { CandidateRollout } from '../layouts/revisions/candidates.ts';
import type { RequestFlags } from './request-flags.ts';

/** The flag that decides who gets `scene`'s candidate. */
export function candidateFlagName(scene: string): string {
  return `layout.candidate.${scene}`;
}

const STRATEGIES: ReadonlyMap<string, Strategy> = new Map(defaultStrategies.map((s) => [s.name, s]));

/** The rollout as the Unleash flag definition it stands for (what an operator would otherwise click together in Unleash). */
export function candidateFlagDefinition(scene: string, rollout: CandidateRollout): FeatureInterface {
  const name = candidateFlagName(scene);
  const constraints: Constraint[] = [];
  if (rollout.segments.length > 0) constraints.push({ contextName: 'segment', operator: Operator.IN, inverted: false, values: [...rollout.segments] });
  if (rollout.platforms.length > 0) constraints.push({ contextName: 'platform', operator: Operator.IN, inverted: false, values: [...rollout.platforms] });
  if (rollout.minAppVersion !== null) constraints.push({ contextName: 'appVersion', operator: Operator.SEMVER_GTE, inverted: false, values: [], value: rollout.minAppVersion });
  const strategies: StrategyTransportInterface[] = [];
  if (rollout.allowList.length > 0) strategies.push({ name: 'userWithId', parameters: { userIds: rollout.allowList.join(',') }, constraints: [] });
  if (rollout.percentage > 0) strategies.push({ name: 'flexibleRollout', parameters: { rollout: String(rollout.percentage), stickiness: 'userId', groupId: name }, constraints });
  return { name, enabled: strategies.length > 0, strategies, type: 'release', project: 'default', stale: false, variants: [], impressionData: false };
}

/**
 * Whether `context` is in the definition's rollout: the first strategy that says yes, as
 * unleash-client decides it. A viewer is in a segment whichever of its segments it is: the
 * context's `segment` is its first only (so an operator's `segment IN [plus]` in Unleash sees a
 * PLUS member first), and a member of PLUS listed first as a student would otherwise be left out
 * of an "only plus" canary. So when the first does not let it in, each other segment is tried in
 * its place; the percentage buckets by user id, so which segment lets it in changes nothing else.
 */
export function inCandidateRollout(definition: FeatureInterface, context: Context): boolean {
  if (!definition.enabled) return false;
  if (isEnabledFor(definition, context)) return true;
  const listed = context.properties?.['segments'];
  const segments = typeof listed === 'string' ? listed.split(',') : [];
  if (segments.length < 2 || !constrainsSegment(definition)) return false;
  return segments.slice(1).some((segment) => isEnabledFor(definition, { ...context, properties: { ...context.properties, segment } }));
}

function isEnabledFor(definition: FeatureInterface, context: Context): boolean {
  return (definition.strategies ?? []).some((s) => STRATEGIES.get(s.name)?.isEnabledWithConstraints(s.parameters, context, (s.constraints ?? []).values()) === true);
}

function constrainsSegment(definition: FeatureInterface): boolean {
  return (definition.strategies ?? []).some((s) => (s.constraints ?? []).some((c) => c.contextName === 'segment'));
}

/**
 * Picks, per request, between a scene's live layout and its candidate. Each served candidate's
 * flag definition is built once (a new rollout is a new ServedCandidate object).
 */
export class CandidateChooser {
  readonly #candidates: (scene: string) => ServedCandidate | undefined;
  readonly #definitions = new WeakMap<ServedCandidate, FeatureInterface>();

  /** @param candidates the candidate this replica serves for a scene (LayoutStore.candidate). */
  constructor(candidates: (scene: string) => ServedCandidate | undefined) {
    this.#candidates = candidates;
  }

  /** The scene's candidate, whoever the viewer is (undefined: none). */
  of(scene: string): ServedCandidate | undefined {
    return this.#candidates(scene);
  }

  /** Whether this request's viewer gets `candidate`: decided once per request, logged as `layout.candidate.<scene>`. */
  gets(flags: RequestFlags, candidate: ServedCandidate): boolean {
    let definition = this.#definitions.get(candidate);
    if (definition === undefined) {
      definition = candidateFlagDefinition(candidate.scene, candidate.rollout);
      this.#definitions.set(candidate, definition);
    }
    const flag = definition;
    return flags.decide(flag.name, (context) => inCandidateRollout(flag, context));
  }
}
