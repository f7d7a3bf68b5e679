/**
 * Flags whose answer cannot depend on who asks — a kill switch that is off, a floor switched
 * on for everyone — decided once per flag definition instead of once per request. Every other
 * flag (a rollout, a constraint, a segment, a parent flag) is asked of Unleash for each
 * request's viewer, as before.
 *
 * A definition is Unleash's (or the flags file's) object for the flag: unleash-client replaces
 * it when the flag changes, so a decision remembered against it can never outlive the
 * definition it was made from. Each answer given here is still counted in unleash-client's
 * usage metrics, so Unleash shows the flag as seen exactly as often as before; a flag that
 * records impression events is always asked of Unleash, which emits them with the viewer's
 * context.
 */
import type { Context } from 'unleash-client';
import type { FeatureInterface } from 'unleash-client/lib/feature.js';
import type { FlagEvaluator } from './request-flags.ts';

/** An evaluator that can also say how a flag is defined and count an answer it did not compute (an Unleash client). */
export interface DefinedFlags extends FlagEvaluator {
  getFeatureToggleDefinition(name: string): FeatureInterface | undefined;
  /** unleash-client's usage metrics: one evaluation of `name` answered `enabled`. */
  count?(name: string, enabled: boolean): void;
}

/** Marks a definition whose answer depends on the context, so Unleash is asked every time. */
const ASK_UNLEASH = 'ask-unleash';

/**
 * The answer `feature` gives every context, or {@link ASK_UNLEASH} when it may differ between
 * contexts (or when Unleash should see the evaluation itself). Mirrors unleash-client's
 * `isFeatureEnabled`: off (with no parent to consult) is off for everyone; on with no
 * strategies is on for everyone; on with a `default` strategy that has no constraints and no
 * segments is on for everyone, whatever the strategies before it say (the first enabled one wins).
 */
export function answerForEveryone(feature: FeatureInterface): boolean | typeof ASK_UNLEASH {
  if (feature.impressionData === true) return ASK_UNLEASH;
  if (feature.dependencies !== undefined && feature.dependencies.length > 0) return ASK_UNLEASH;
  if (!feature.enabled) return false;
  const { strategies } = feature;
  if (!Array.isArray(strategies)) return ASK_UNLEASH;
  if (strategies.length === 0) return true;
  const onForEveryone = strategies.some(
    (strategy) => strategy.name === 'default' && (strategy.constraints ?? []).length === 0 && (strategy.segments ?? []).length === 0,
  );
  return onForEveryone ? true : ASK_UNLEASH;
}

/** `flags` with isEnabled answered from the definition where {@link answerForEveryone} can; getVariant and the rest pass through. */
export function withSettledDecisions(flags: DefinedFlags): FlagEvaluator {
  const settled = new WeakMap<FeatureInterface, boolean | typeof ASK_UNLEASH>();
  return {
    isEnabled(name: string, context: Context): boolean {
      const feature = flags.getFeatureToggleDefinition(name);
      if (feature !== undefined) {
        let answer = settled.get(feature);
        if (answer === undefined) {
          answer = answerForEveryone(feature);
          settled.set(feature, answer);
        }
        if (answer !== ASK_UNLEASH) {
          flags.count?.(name, answer);
          return answer;
        }
      }
      return flags.isEnabled(name, context);
    },
    getVariant: (name, context) => flags.getVariant(name, context),
    getFeatureToggleDefinition: (name) => flags.getFeatureToggleDefinition(name),
  };
}
