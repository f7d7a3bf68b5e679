/**
 * Flags whose answer does not depend on who asks — a kill switch that is off, a floor switched
 * on for everyone, a rollout at 100 % (on for every context that names a user), a layout flag
 * whose one weighted variant takes every viewer — decided once per flag definition instead of
 * once per request. Every other flag (a partial rollout, a constraint, a segment, a parent
 * flag, variants split between viewers) is asked of Unleash for each request's viewer, as before.
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
import type { StrategyTransportInterface } from 'unleash-client/lib/strategy/strategy.js';
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

/** The context fields a fully rolled-out flag may stick to and still be settled: never part of unleash-client's static context. */
type StickyField = 'userId' | 'sessionId';
const STICKY_FIELDS: ReadonlySet<string> = new Set<StickyField>(['userId', 'sessionId']);

/**
 * Who a flag is on for, whoever asks: everyone, no one, or the contexts that carry one of some
 * fields (a rollout at 100 % sticking to `userId` leaves out only a context without a user).
 */
export type OnFor = 'everyone' | 'no-one' | { readonly contextsWith: readonly StickyField[] };

/**
 * Who `feature` is on for, or {@link ASK_UNLEASH} when that depends on more than whether a
 * context names a user or a session (or when Unleash should see the evaluation itself).
 * Mirrors unleash-client's `isFeatureEnabled`, whose answer is whether any strategy is enabled:
 * - off, with no parent flag to consult: no one;
 * - on with no strategies, or with a `default` strategy (no constraints, no segments): everyone;
 * - a `flexibleRollout` (no constraints, no segments) at 0 % is on for no one; at 100 % for
 *   everyone when it sticks to `default` or `random` (a random value is made up when the
 *   context has none), and for the contexts that have the field it sticks to otherwise;
 * - anything else (a partial rollout, a constraint, a segment, another strategy): ask Unleash.
 */
export function whoIsOn(feature: FeatureInterface): OnFor | typeof ASK_UNLEASH {
  if (feature.impressionData === true) return ASK_UNLEASH;
  if (feature.dependencies !== undefined && feature.dependencies.length > 0) return ASK_UNLEASH;
  if (!feature.enabled) return 'no-one';
  const { strategies } = feature;
  if (!Array.isArray(strategies)) return ASK_UNLEASH;
  if (strategies.length === 0) return 'everyone';
  const fields = new Set<StickyField>();
  let ask = false;
  for (const strategy of strategies) {
    const rule = strategyRule(strategy);
    if (rule === 'everyone') return 'everyone';
    if (rule === ASK_UNLEASH) ask = true;
    else if (rule !== 'no-one') for (const field of rule.contextsWith) fields.add(field);
  }
  if (ask) return ASK_UNLEASH;
  return fields.size === 0 ? 'no-one' : { contextsWith: [...fields] };
}

/** Who one strategy is on for (unleash-client's built-in `default` and `flexibleRollout`), or {@link ASK_UNLEASH}. */
function strategyRule(strategy: StrategyTransportInterface): OnFor | typeof ASK_UNLEASH {
  if ((strategy.constraints ?? []).length > 0 || (strategy.segments ?? []).length > 0) return ASK_UNLEASH;
  if (strategy.name === 'default') return 'everyone';
  if (strategy.name !== 'flexibleRollout') return ASK_UNLEASH;
  const percentage = Number(strategy.parameters?.['rollout']);
  // A strategy value is 1–100 (normalizedStrategyValue), and the rollout must be above 0.
  if (!(percentage > 0)) return 'no-one';
  if (percentage < 100) return ASK_UNLEASH;
  const stickiness = String(strategy.parameters?.['stickiness'] || 'default');
  if (stickiness === 'default' || stickiness === 'random') return 'everyone';
  return STICKY_FIELDS.has(stickiness) ? { contextsWith: [stickiness as StickyField] } : ASK_UNLEASH;
}

/** Whether `context` names `field` as unleash-client's rollout reads it (resolveContextValue, then a non-empty string). */
function names(context: Context, field: StickyField): boolean {
  const value = context[field] ?? (context.properties as Record<string, unknown> | undefined)?.[field];
  return value !== undefined && value !== null && String(value) !== '';
}

/**
 * The variant `feature` gives every context in which it is on, or {@link ASK_UNLEASH}. Mirrors
 * unleash-client's `resolveVariant` once the flag is known to be on: no variants (or none
 * weighted) gives the `disabled` placeholder with `feature_enabled`; exactly one weighted
 * variant and no overrides gives that variant, whatever the stickiness hashes to (its weight is
 * the whole of it). A strategy with variants of its own is left to Unleash: the first enabled
 * strategy's variants win, and which one that is depends on the context.
 */
export function variantWhenOn(feature: FeatureInterface): VariantAnswer | typeof ASK_UNLEASH {
  if ((feature.strategies ?? []).some((strategy) => (strategy.variants ?? []).length > 0)) return ASK_UNLEASH;
  const variants = feature.variants ?? [];
  if (!Array.isArray(variants) || variants.length === 0) return variantAnswer(DISABLED, true);
  if (variants.some((variant) => (variant.overrides ?? []).length > 0 || !Number.isFinite(variant.weight) || variant.weight < 0)) return ASK_UNLEASH;
  const weighted = variants.filter((variant) => variant.weight > 0);
  if (weighted.length === 0) return variantAnswer(DISABLED, true);
  if (weighted.length > 1) return ASK_UNLEASH;
  const [only] = weighted as [(typeof weighted)[number]];
  return variantAnswer(only.payload === undefined ? { name: only.name, enabled: true } : { name: only.name, enabled: true, payload: Object.freeze({ ...only.payload }) }, true);
}

/** unleash-client's answers carry the flag's state twice, as feature_enabled and featureEnabled. */
function variantAnswer(variant: { name: string; enabled: boolean; payload?: Payload }, featureEnabled: boolean): VariantAnswer {
  return Object.freeze({ ...variant, feature_enabled: featureEnabled, featureEnabled }) as VariantAnswer;
}

/** unleash-client's placeholder variant: the flag is off, or gives no variant. */
const DISABLED = Object.freeze({ name: 'disabled', enabled: false });

/** The variant of a flag that is off (unleash-client's fallback, with the flag's state). */
const VARIANT_WHEN_OFF = variantAnswer(DISABLED, false);

interface Settled {
  readonly on: OnFor | typeof ASK_UNLEASH;
  readonly variant: VariantAnswer | typeof ASK_UNLEASH;
}

/** `flags` with isEnabled and getVariant answered from the definition where {@link whoIsOn} settles it; the rest passes through. */
export function withSettledDecisions(flags: DefinedFlags): FlagEvaluator {
  const settled = new WeakMap<FeatureInterface, Settled>();
  const settledFor = (name: string): Settled | undefined => {
    const feature = flags.getFeatureToggleDefinition(name);
    if (feature === undefined) return undefined;
    let found = settled.get(feature);
    if (found === undefined) {
      const on = whoIsOn(feature);
      found = { on, variant: on === ASK_UNLEASH || on === 'no-one' ? ASK_UNLEASH : variantWhenOn(feature) };
      settled.set(feature, found);
    }
    return found;
  };
  /** Whether the settled flag is on for `context`. */
  const isOn = (on: OnFor, context: Context): boolean =>
    on === 'everyone' ? true : on === 'no-one' ? false : on.contextsWith.some((field) => names(context, field));
  return {
    isEnabled(name: string, context: Context): boolean {
      const on = settledFor(name)?.on;
      if (on === undefined || on === ASK_UNLEASH) return flags.isEnabled(name, context);
      const enabled = isOn(on, context);
      flags.count?.(name, enabled);
      return enabled;
    },
    getVariant(name: string, context: Context): VariantAnswer {
      const found = settledFor(name);
      if (found === undefined || found.on === ASK_UNLEASH) return flags.getVariant(name, context);
      let answer: VariantAnswer;
      if (!isOn(found.on, context)) answer = VARIANT_WHEN_OFF;
      else if (found.variant === ASK_UNLEASH) return flags.getVariant(name, context);
      else answer = found.variant;
      // As unleash-client's getVariant counts: the variant by name, then the flag on or off.
      flags.countVariant?.(name, answer.name);
      flags.count?.(name, answer.feature_enabled === true);
      return answer;
    },
    getFeatureToggleDefinition: (name) => flags.getFeatureToggleDefinition(name),
  };
}
