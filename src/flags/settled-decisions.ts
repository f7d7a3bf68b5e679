/**
 * Flags whose answer cannot depend on who asks — a kill switch that is off, a floor switched
 * on for everyone, a layout flag whose one weighted variant takes every viewer — decided once
 * per flag definition instead of once per request. Every other flag (a rollout, a constraint,
 * a segment, a parent flag, variants split between viewers) is asked of Unleash for each
 * request's viewer, as before.
 *
 * A definition is Unleash's (or the flags file's) object for the flag: unleash-client replaces
 * it when the flag changes, so a decision remembered against it can never outlive the
 * definition it was made from. Each answer given here is still counted in unleash-client's
 * usage metrics (the flag, and the variant named), so Unleash shows the flag as seen exactly as
 * often as before; a flag that records impression events is always asked of Unleash, which
 * emits them with the viewer's context.
 */
import type { Context } from 'unleash-client';
import type { FeatureInterface } from 'unleash-client/lib/feature.js';
import type { Payload } from 'unleash-client/lib/variant.js';
import type { FlagEvaluator } from './request-flags.ts';

/** An evaluator that can also say how a flag is defined and count an answer it did not compute (an Unleash client). */
export interface DefinedFlags extends FlagEvaluator {
  getFeatureToggleDefinition(name: string): FeatureInterface | undefined;
  /** unleash-client's usage metrics: one evaluation of `name` answered `enabled`. */
  count?(name: string, enabled: boolean): void;
  /** unleash-client's usage metrics: one evaluation of `name` answered the variant `variant`. */
  countVariant?(name: string, variant: string): void;
}

/** A variant as unleash-client's getVariant answers it. */
type VariantAnswer = ReturnType<FlagEvaluator['getVariant']>;

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

/**
 * The variant `feature` gives every context, or {@link ASK_UNLEASH}. Mirrors unleash-client's
 * `resolveVariant` for a feature {@link answerForEveryone} settles: off gives the `disabled`
 * placeholder; on with no variants (or none weighted) gives it with `feature_enabled`; on with
 * exactly one weighted variant and no overrides gives that variant, whatever the stickiness
 * hashes to (the variant's weight is the whole of it). A strategy with variants of its own is
 * left to Unleash: the first enabled strategy's variants win, and which one that is depends on
 * the context.
 */
export function variantForEveryone(feature: FeatureInterface): VariantAnswer | typeof ASK_UNLEASH {
  const enabled = answerForEveryone(feature);
  if (enabled === ASK_UNLEASH) return ASK_UNLEASH;
  // unleash-client's answers carry the flag's state twice, as feature_enabled and featureEnabled.
  const answer = (variant: { name: string; enabled: boolean; payload?: Payload }, featureEnabled: boolean): VariantAnswer =>
    Object.freeze({ ...variant, feature_enabled: featureEnabled, featureEnabled }) as VariantAnswer;
  if (!enabled) return answer(DISABLED, false);
  if ((feature.strategies ?? []).some((strategy) => (strategy.variants ?? []).length > 0)) return ASK_UNLEASH;
  const variants = feature.variants ?? [];
  if (!Array.isArray(variants) || variants.length === 0) return answer(DISABLED, true);
  if (variants.some((variant) => (variant.overrides ?? []).length > 0 || !Number.isFinite(variant.weight) || variant.weight < 0)) return ASK_UNLEASH;
  const weighted = variants.filter((variant) => variant.weight > 0);
  if (weighted.length === 0) return answer(DISABLED, true);
  if (weighted.length > 1) return ASK_UNLEASH;
  const [only] = weighted as [(typeof weighted)[number]];
  return answer(only.payload === undefined ? { name: only.name, enabled: true } : { name: only.name, enabled: true, payload: Object.freeze({ ...only.payload }) }, true);
}

/** unleash-client's placeholder variant: the flag is off, or gives no variant. */
const DISABLED = Object.freeze({ name: 'disabled', enabled: false });

interface Settled {
  readonly enabled: boolean | typeof ASK_UNLEASH;
  readonly variant: VariantAnswer | typeof ASK_UNLEASH;
}

/** `flags` with isEnabled and getVariant answered from the definition where that is the same for everyone; the rest passes through. */
export function withSettledDecisions(flags: DefinedFlags): FlagEvaluator {
  const settled = new WeakMap<FeatureInterface, Settled>();
  const settledFor = (name: string): Settled | undefined => {
    const feature = flags.getFeatureToggleDefinition(name);
    if (feature === undefined) return undefined;
    let found = settled.get(feature);
    if (found === undefined) {
      found = { enabled: answerForEveryone(feature), variant: variantForEveryone(feature) };
      settled.set(feature, found);
    }
    return found;
  };
  return {
    isEnabled(name: string, context: Context): boolean {
      const answer = settledFor(name)?.enabled;
      if (answer === undefined || answer === ASK_UNLEASH) return flags.isEnabled(name, context);
      flags.count?.(name, answer);
      return answer;
    },
    getVariant(name: string, context: Context): VariantAnswer {
      const answer = settledFor(name)?.variant;
      if (answer === undefined || answer === ASK_UNLEASH) return flags.getVariant(name, context);
      // As unleash-client's getVariant counts: the variant by name, then the flag on or off.
      flags.countVariant?.(name, answer.name);
      flags.count?.(name, answer.feature_enabled === true);
      return answer;
    },
    getFeatureToggleDefinition: (name) => flags.getFeatureToggleDefinition(name),
  };
}
