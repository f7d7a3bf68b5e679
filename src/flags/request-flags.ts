/**
 * One request's view of the feature flags: each flag is evaluated once, on first use, and every
 * later question about it in the same request — from any floor, the kill-switch check or the
 * layout picker — gets the recorded decision. The decisions, in first-evaluated order, are the
 * request's decision log.
 */
import type { Context } from 'unleash-client';
import type { RequestTrace } from '../observability/tracing.ts';
import type { Viewer } from '../viewer/viewer.ts';

/** A variant's payload as Unleash defines it (`type` is string, json, csv or number; `value` is always text). */
export interface FlagPayload {
  readonly type: string;
  readonly value: string;
}

/** The variant a request got for a flag. */
export interface FlagVariant {
  /** The variant's name, or `"disabled"` when the flag is off or defines no variants. */
  readonly name: string;
  /** False for the `"disabled"` placeholder: the flag is off, or on without variants. */
  readonly enabled: boolean;
  readonly payload?: FlagPayload;
}

/** One line of the per-request decision log. */
export interface FlagDecision {
  readonly flag: string;
  readonly enabled: boolean;
  /** The variant name, present only once the request asked for the flag's variant. */
  readonly variant?: string;
}

/** What a request consults on a flag's first use: an Unleash client, or anything that answers like one. */
export interface FlagEvaluator {
  isEnabled(name: string, context: Context): boolean;
  getVariant(
    name: string,
    context: Context,
  ): { name: string; enabled: boolean; payload?: FlagPayload; feature_enabled?: boolean };
  /** The flag's definition, if the evaluator has it: only asked when a trace records why a flag answered as it did. */
  getFeatureToggleDefinition?(name: string): { readonly enabled: boolean } | undefined;
}

/** Where a request's flag evaluations are reported (its trace), and what the answers rest on. */
export interface FlagObserver {
  readonly trace: Pick<RequestTrace, 'flagEvaluated'>;
  /** feature_flag.provider.name, e.g. `Unleash`. */
  readonly provider: string;
  /** True while the answers are not Unleash's own (remote mode serving its bootstrap file): reason `stale`. */
  readonly stale: boolean;
}

/**
 * The Unleash context built from a {@link Viewer}. Constraints in Unleash may name any of these
 * fields; the custom ones live under `properties` (Unleash resolves a context name at the top
 * level first, then under `properties`).
 */
export type UnleashContext = Readonly<{
  userId: string;
  /** Present only when the client sent `x-session-id`. */
  sessionId?: string;
  appName: string;
  properties: Readonly<{
    /** The viewer's first segment, so `segment IN [plus]` matches a PLUS member. Absent for a viewer with none. */
    segment?: string;
    /** Every segment, comma-joined (`plus,student`), for STR_CONTAINS. Absent for a viewer with none. */
    segments?: string;
    /** ios, android, web… or `unknown`. */
    platform: string;
    /** e.g. 12.3.0; absent when the client did not say. */
    appVersion?: string;
  }>;
}>;

/** The variant reported for a flag that is off or has no variants; the same shape Unleash uses. */
export const DISABLED_VARIANT: FlagVariant = Object.freeze({ name: 'disabled', enabled: false });

/** What a rollout may be sticky by: the fields {@link unleashContextOf} can send that identify a viewer or a group of them. */
export const STICKY_CONTEXT_FIELDS = ['userId', 'sessionId', 'segment', 'segments', 'platform', 'appVersion'] as const;
/** Every context field a constraint can test: what {@link unleashContextOf} sends, and what the client adds (environment, currentTime). */
export const CONTEXT_FIELDS = ['userId', 'sessionId', 'appName', 'environment', 'currentTime', 'segment', 'segments', 'platform', 'appVersion'] as const;

/** Builds the Unleash context for `viewer`, as sent with every flag evaluation. */
export function unleashContextOf(viewer: Viewer, appName: string): UnleashContext {
  const [segment] = viewer.segments;
  const properties: { segment?: string; segments?: string; platform: string; appVersion?: string } = { platform: viewer.platform };
  if (segment !== undefined) {
    properties.segment = segment;
    properties.segments = viewer.segments.join(',');
  }
  if (viewer.appVersion !== null) properties.appVersion = viewer.appVersion;
  const context: { userId: string; sessionId?: string; appName: string; properties: typeof properties } = {
    userId: viewer.userId,
    appName,
    properties: Object.freeze(properties),
  };
  if (viewer.sessionId !== null) context.sessionId = viewer.sessionId;
  return Object.freeze(context);
}

interface Recorded {
  readonly enabled: boolean;
  variant?: FlagVariant;
}

/**
 * The flags of one request. Create a new instance per request (the FlagService's `evaluate`
 * does): decisions are memoised for the instance's lifetime, so a flag flipped in Unleash
 * mid-request does not split one panel between two answers.
 */
export class RequestFlags {
  readonly #evaluator: FlagEvaluator;
  readonly #context: UnleashContext;
  /** Insertion order is the decision log's order. */
  readonly #recorded = new Map<string, Recorded>();
  readonly #observer: FlagObserver | undefined;

  /** @param observer told of each evaluation (a sampled request's trace); absent: nobody is. */
  constructor(evaluator: FlagEvaluator, context: UnleashContext, observer?: FlagObserver) {
    this.#evaluator = evaluator;
    this.#context = context;
    this.#observer = observer;
  }

  /** The context every flag of this request is evaluated with. */
  get context(): UnleashContext {
    return this.#context;
  }

  /** Whether `name` is on for this request's viewer; unknown flags are off. */
  isEnabled(name: string): boolean {
    const recorded = this.#recorded.get(name);
    if (recorded !== undefined) return recorded.enabled;
    const enabled = this.#evaluator.isEnabled(name, this.#context);
    this.#recorded.set(name, { enabled });
    if (this.#observer !== undefined) this.#report(this.#observer, name, { value: enabled });
    return enabled;
  }

  /**
   * A flag whose definition is not in Unleash or the flags file (a layout candidate's, derived
   * from its stored rollout: candidate-rollout.ts), decided by `evaluate` on first use and then
   * recorded like any other: the same answer for the rest of the request, in the decision log.
   */
  decide(name: string, evaluate: (context: UnleashContext) => boolean): boolean {
    const recorded = this.#recorded.get(name);
    if (recorded !== undefined) return recorded.enabled;
    const enabled = evaluate(this.#context);
    this.#recorded.set(name, { enabled });
    if (this.#observer !== undefined) this.#observer.trace.flagEvaluated({ key: name, value: enabled, reason: 'targeting_match', provider: 'Floorplan layout candidates' });
    return enabled;
  }

  /**
   * The variant of `name` for this request's viewer: `{name: "disabled", enabled: false}` when the
   * flag is off, unknown, or defines no variants.
   */
  variant(name: string): FlagVariant {
    const recorded = this.#recorded.get(name);
    if (recorded?.variant !== undefined) return recorded.variant;
    const raw = this.#evaluator.getVariant(name, this.#context);
    const featureEnabled = raw.feature_enabled ?? raw.enabled;
    if (recorded === undefined) {
      const variant = toVariant(raw, featureEnabled);
      this.#recorded.set(name, { enabled: featureEnabled, variant });
      if (this.#observer !== undefined) this.#report(this.#observer, name, { variant: variant.name });
      return variant;
    }
    // isEnabled came first. Only a random stickiness can make the two calls disagree; the
    // first answer stands, so the variant never contradicts the recorded on/off.
    const variant = featureEnabled === recorded.enabled ? toVariant(raw, featureEnabled) : DISABLED_VARIANT;
    recorded.variant = variant;
    if (this.#observer !== undefined) this.#report(this.#observer, name, { variant: variant.name });
    return variant;
  }

  /**
   * One evaluation as a feature_flag.evaluation event. The reason is what can be told without
   * re-running Unleash's strategies: `stale` (bootstrap file, Unleash not heard from), `error`
   * (no such flag: the fallback answered), `disabled` (switched off), otherwise
   * `targeting_match` (the flag's strategies decided).
   */
  #report(observer: FlagObserver, key: string, result: { value?: boolean; variant?: string }): void {
    let reason = 'unknown';
    if (observer.stale) reason = 'stale';
    else if (this.#evaluator.getFeatureToggleDefinition !== undefined) {
      const definition = this.#evaluator.getFeatureToggleDefinition(key);
      reason = definition === undefined ? 'error' : definition.enabled ? 'targeting_match' : 'disabled';
    }
    observer.trace.flagEvaluated({ key, ...result, reason, provider: observer.provider });
  }

  /** The decisions so far, in the order the flags were first evaluated. */
  decisions(): ReadonlyArray<FlagDecision> {
    return Object.freeze(
      [...this.#recorded].map(([flag, { enabled, variant }]): FlagDecision =>
        Object.freeze(variant === undefined ? { flag, enabled } : { flag, enabled, variant: variant.name }),
      ),
    );
  }
}

function toVariant(raw: { name: string; enabled: boolean; payload?: FlagPayload }, featureEnabled: boolean): FlagVariant {
  if (!featureEnabled || !raw.enabled) return DISABLED_VARIANT;
  const payload = raw.payload === undefined ? undefined : Object.freeze({ type: String(raw.payload.type), value: raw.payload.value });
  return Object.freeze(payload === undefined ? { name: raw.name, enabled: true } : { name: raw.name, enabled: true, payload });
}
