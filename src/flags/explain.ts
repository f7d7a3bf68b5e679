/**
 * Why a flag is on or off for one context — the operator preview's answer.
 *
 * The explanation walks the flag's definition the way unleash-client 6.12.1 evaluates it
 * (lib/client.js `isFeatureEnabled`): parent dependencies and the environment switch first, then
 * each strategy in order, the first one whose constraints all hold and whose own rule says yes
 * turns the flag on. Every verdict below comes from unleash-client's own code — its Strategy
 * instances (`checkConstraint`, `isEnabled`, `getResult`) and its variant selection — so the
 * explanation cannot drift from the real decision; only the wording (which constraint failed,
 * which rollout bucket the user fell in) is computed here.
 */
import type { Context } from 'unleash-client';
import type { EnhancedFeatureInterface, FeatureInterface } from 'unleash-client/lib/feature.js';
import { resolveContextValue } from 'unleash-client/lib/helpers.js';
import { defaultStrategies } from 'unleash-client/lib/strategy/index.js';
import type { Constraint, Segment, Strategy, StrategyTransportInterface } from 'unleash-client/lib/strategy/strategy.js';
import * as strategyUtil from 'unleash-client/lib/strategy/util.js';
import { selectVariant } from 'unleash-client/lib/variant.js';
import { DISABLED_VARIANT, type FlagVariant } from './request-flags.ts';

/** Where explainFlag reads flag definitions: an Unleash client, or anything that answers like one. */
export interface FlagDefinitions {
  getFeatureToggleDefinition(name: string): FeatureInterface | undefined;
  /** All definitions with segment ids replaced by the segments themselves. */
  getFeatureToggleDefinitions(withFullSegments: true): EnhancedFeatureInterface[];
}

/** Why the flag came out the way it did, in one word. */
export type FlagVerdictReason =
  /** No flag of that name is defined: off (Unleash's fallback). */
  | 'not-found'
  /** The flag is switched off in this environment. */
  | 'disabled-in-environment'
  /** A parent flag it depends on is not in the required state. */
  | 'dependency-not-satisfied'
  /** Switched on with no strategies: on for everyone. */
  | 'no-strategies'
  /** A strategy matched; see `matched`. */
  | 'strategy-matched'
  /** Switched on, but no strategy matched; see each strategy's `misses`. */
  | 'no-strategy-matched'
  /** The definition is malformed (strategies is not a list): off. */
  | 'malformed';

/** The full answer for one flag and one context. */
export interface FlagExplanation {
  readonly flag: string;
  /** The verdict, equal to what `isEnabled` returns for the same context. */
  readonly enabled: boolean;
  readonly reason: FlagVerdictReason;
  /** One sentence for the operator, e.g. "on: strategy #1 (flexibleRollout) matched". */
  readonly summary: string;
  /** The strategy that turned the flag on (reason `strategy-matched`). */
  readonly matched?: { readonly index: number; readonly name: string };
  /** The strategies that were evaluated, in order: all of them when off, up to the match when on. */
  readonly strategies: readonly StrategyExplanation[];
  /** Each parent dependency and whether it holds (only for flags that have dependencies). */
  readonly dependencies?: readonly DependencyExplanation[];
  /** The variant this context gets (the `disabled` placeholder when off or without variants). */
  readonly variant: FlagVariant;
  /**
   * True when the verdict involved a random draw (gradualRolloutRandom, random stickiness, or a
   * stickiness field the context lacks): a second look may differ, and so may a real request.
   */
  readonly random: boolean;
}

export interface StrategyExplanation {
  /** 0-based position in the flag's strategy list (the order Unleash evaluates them in). */
  readonly index: number;
  readonly name: string;
  readonly matched: boolean;
  /** For a match, why it matched ("user is in bucket 7, within the first 10 %"). */
  readonly detail?: string;
  /** Why it did not match; empty for a match. */
  readonly misses: readonly StrategyMiss[];
}

/** One reason a strategy did not match. */
export type StrategyMiss =
  | {
      readonly kind: 'constraint';
      readonly contextName: string;
      readonly operator: string;
      readonly inverted: boolean;
      readonly caseInsensitive: boolean;
      /** The constraint's list (IN, NOT_IN, STR_*), empty for single-value operators. */
      readonly values: readonly string[];
      /** The constraint's single value (NUM_*, DATE_*, SEMVER_*, REGEX). */
      readonly value?: string;
      /** What the context holds for contextName; undefined when it holds nothing. */
      readonly contextValue: string | undefined;
      /** Set when the constraint belongs to a segment rather than the strategy itself. */
      readonly segmentId?: number;
      readonly message: string;
    }
  | { readonly kind: 'segment-missing'; readonly segmentId: number; readonly message: string }
  | {
      readonly kind: 'rollout';
      /** The rollout percentage, 0–100. */
      readonly percentage: number;
      readonly stickiness: string;
      readonly groupId: string;
      /** The user's bucket, 1–100 (on when bucket ≤ percentage); undefined when random or missing. */
      readonly bucket: number | undefined;
      readonly message: string;
    }
  | { readonly kind: 'allow-list'; readonly userId: string | undefined; readonly message: string }
  | { readonly kind: 'unknown-strategy'; readonly message: string }
  | { readonly kind: 'strategy'; readonly message: string };

export interface DependencyExplanation {
  readonly parent: string;
  /** What the child requires: the parent on (optionally with one of `variants`), or off. */
  readonly requires: 'enabled' | 'disabled';
  readonly variants?: readonly string[];
  readonly satisfied: boolean;
  readonly message: string;
}

/** The strategies unleash-client evaluates, by name; the same instances its client uses. */
const STRATEGIES: ReadonlyMap<string, Strategy> = new Map(defaultStrategies.map((s) => [s.name, s]));

/**
 * `normalizedStrategyValue(id, groupId)` → 1..100, the bucket rollouts compare against. It is
 * exported by lib/strategy/util.js but missing from its .d.ts in 6.12.1, hence the cast.
 */
const normalizedStrategyValue = (strategyUtil as unknown as { normalizedStrategyValue?: (id: string, groupId: string) => number })
  .normalizedStrategyValue;

/**
 * Explains flag `flagName` for `context`. `context` must be what the client would see: the
 * request context merged over the client's static context (`{appName, environment, ...context}`).
 */
/** The operators whose comparison honours a constraint's `caseInsensitive` in unleash-client (StringOperator, RegexOperator); IN, NOT_IN and the rest compare exactly, whatever it says. */
const CASE_FOLDING_OPERATORS: ReadonlySet<string> = new Set(['STR_CONTAINS', 'STR_STARTS_WITH', 'STR_ENDS_WITH', 'REGEX']);

/** Whether Unleash ignores case for this constraint: what an operator reads as "(case-insensitive)". */
export function ignoresCase(constraint: { readonly operator: string; readonly caseInsensitive?: boolean }): boolean {
  return constraint.caseInsensitive === true && CASE_FOLDING_OPERATORS.has(constraint.operator);
}

export function explainFlag(definitions: FlagDefinitions, flagName: string, context: Context): FlagExplanation {
  return explain(definitions, flagName, context, true);
}

function explain(definitions: FlagDefinitions, flagName: string, context: Context, followDependencies: boolean): FlagExplanation {
  const feature = definitions.getFeatureToggleDefinition(flagName);
  const off = (reason: FlagVerdictReason, summary: string, extra: Partial<FlagExplanation> = {}): FlagExplanation => ({
    flag: flagName,
    enabled: false,
    reason,
    summary,
    strategies: [],
    variant: DISABLED_VARIANT,
    random: false,
    ...extra,
  });
  if (feature === undefined) return off('not-found', `off: no flag named "${flagName}" is defined`);
  if (!feature.enabled) return off('disabled-in-environment', 'off: the flag is disabled in this environment');

  let dependencies: DependencyExplanation[] | undefined;
  if (feature.dependencies !== undefined && feature.dependencies.length > 0) {
    dependencies = feature.dependencies.map((d) => explainDependency(definitions, d, context, followDependencies));
    const failed = dependencies.find((d) => !d.satisfied);
    if (failed !== undefined) return off('dependency-not-satisfied', `off: ${failed.message}`, { dependencies });
  }
  const withDeps = dependencies === undefined ? {} : { dependencies };

  if (!Array.isArray(feature.strategies)) {
    return off('malformed', 'off: the definition is malformed (strategies is not a list)', withDeps);
  }
  if (feature.strategies.length === 0) {
    return {
      flag: flagName,
      enabled: true,
      reason: 'no-strategies',
      summary: 'on: the flag is enabled with no strategies, so it is on for everyone',
      strategies: [],
      variant: featureVariant(feature, context),
      random: false,
      ...withDeps,
    };
  }

  const segmentsOf = segmentLookup(definitions, flagName);
  const evaluated: StrategyExplanation[] = [];
  let random = false;
  for (const [index, selector] of feature.strategies.entries()) {
    const segments = selector.segments !== undefined && selector.segments.length > 0 ? segmentsOf(index) : [];
    const result = explainStrategy(selector, index, context, segments);
    random ||= result.random;
    evaluated.push(result.explanation);
    if (result.explanation.matched) {
      const strategy = STRATEGIES.get(selector.name) as Strategy;
      // getResult re-runs the real evaluation to obtain the strategy variant exactly as the client does.
      const outcome = strategy.getResult(selector.parameters, context, constraintsOf(selector, segments), selector.variants);
      const variant =
        outcome.enabled && outcome.variant !== undefined ? toFlagVariant(outcome.variant) : featureVariant(feature, context);
      return {
        flag: flagName,
        enabled: true,
        reason: 'strategy-matched',
        summary: `on: strategy #${index} (${selector.name}) matched${result.explanation.detail ? ` — ${result.explanation.detail}` : ''}`,
        matched: { index, name: selector.name },
        strategies: evaluated,
        variant,
        random,
        ...withDeps,
      };
    }
  }
  const reasons = evaluated.map((s) => `#${s.index} ${s.name}: ${s.misses.map((m) => m.message).join('; ')}`).join(' | ');
  return off('no-strategy-matched', `off: no strategy matched (${reasons})`, { strategies: evaluated, random, ...withDeps });
}

/** Mirrors the client's isParentDependencySatisfied for one parent. */
function explainDependency(
  definitions: FlagDefinitions,
  dependency: NonNullable<FeatureInterface['dependencies']>[number],
  context: Context,
  followDependencies: boolean,
): DependencyExplanation {
  const requires = dependency.enabled === false ? 'disabled' : 'enabled';
  const variants = dependency.variants !== undefined && dependency.variants.length > 0 ? dependency.variants : undefined;
  const base = { parent: dependency.feature, requires, ...(variants === undefined ? {} : { variants }) } as const;
  const parent = definitions.getFeatureToggleDefinition(dependency.feature);
  if (parent === undefined) {
    return { ...base, satisfied: false, message: `it depends on flag "${dependency.feature}", which is not defined` };
  }
  if (!followDependencies || (parent.dependencies !== undefined && parent.dependencies.length > 0)) {
    return {
      ...base,
      satisfied: false,
      message: `its parent "${dependency.feature}" has dependencies of its own, which Unleash does not allow (one level only)`,
    };
  }
  const verdict = explain(definitions, dependency.feature, context, false);
  if (requires === 'disabled') {
    return {
      ...base,
      satisfied: !verdict.enabled,
      message: verdict.enabled ? `it requires "${dependency.feature}" off, but it is on` : `"${dependency.feature}" is off, as required`,
    };
  }
  if (variants !== undefined) {
    const ok = verdict.enabled && variants.includes(verdict.variant.name);
    return {
      ...base,
      satisfied: ok,
      message: ok
        ? `"${dependency.feature}" is on with variant "${verdict.variant.name}", as required`
        : `it requires "${dependency.feature}" on with variant ${variants.map((v) => `"${v}"`).join(' or ')}, but it is ${verdict.enabled ? `on with variant "${verdict.variant.name}"` : 'off'}`,
    };
  }
  return {
    ...base,
    satisfied: verdict.enabled,
    message: verdict.enabled ? `"${dependency.feature}" is on, as required` : `it requires "${dependency.feature}" on, but it is off`,
  };
}

/** The segments of each strategy of `flagName` (by strategy index), read only when a strategy names segments. */
function segmentLookup(definitions: FlagDefinitions, flagName: string): (index: number) => ReadonlyArray<Segment | undefined> {
  let enhanced: EnhancedFeatureInterface | undefined | null = null;
  return (index) => {
    if (enhanced === null) enhanced = definitions.getFeatureToggleDefinitions(true).find((f) => f.name === flagName);
    return enhanced?.strategies?.[index]?.segments ?? [];
  };
}

/** The constraints the client checks for a strategy: its own, then each segment's (a missing segment yields undefined). */
function* constraintsOf(selector: StrategyTransportInterface, segments: ReadonlyArray<Segment | undefined>): IterableIterator<Constraint | undefined> {
  yield* selector.constraints ?? [];
  if (selector.segments === undefined) return;
  for (const segment of segments) {
    if (segment === undefined) yield undefined;
    else yield* segment.constraints ?? [];
  }
}

function explainStrategy(
  selector: StrategyTransportInterface,
  index: number,
  context: Context,
  segments: ReadonlyArray<Segment | undefined>,
): { explanation: StrategyExplanation; random: boolean } {
  const strategy = STRATEGIES.get(selector.name);
  const miss = (misses: StrategyMiss[]) => ({ explanation: { index, name: selector.name, matched: false, misses }, random: false });
  if (strategy === undefined) {
    return miss([{ kind: 'unknown-strategy', message: `strategy "${selector.name}" is unknown to this client, so it never matches` }]);
  }

  // The client stops at the first failing constraint; listing every failing one tells the operator more
  // and cannot change the verdict (any failure means no match).
  const misses: StrategyMiss[] = [];
  for (const constraint of selector.constraints ?? []) {
    if (!strategy.checkConstraint(constraint, context)) misses.push(constraintMiss(constraint, context));
  }
  for (const [position, segmentId] of (selector.segments ?? []).entries()) {
    const segment = segments[position];
    if (segment === undefined) {
      misses.push({ kind: 'segment-missing', segmentId, message: `segment ${segmentId} is not defined, so the strategy never matches` });
      continue;
    }
    for (const constraint of segment.constraints ?? []) {
      if (!strategy.checkConstraint(constraint, context)) misses.push(constraintMiss(constraint, context, segmentId));
    }
  }
  if (misses.length > 0) return miss(misses);

  const parameters = selector.parameters ?? {};
  const enabled = strategy.isEnabled(parameters, context);
  const rule = describeRule(selector.name, parameters, context);
  if (enabled) return { explanation: { index, name: selector.name, matched: true, misses: [], ...(rule.detail ? { detail: rule.detail } : {}) }, random: rule.random };
  return { explanation: { index, name: selector.name, matched: false, misses: [rule.miss] }, random: rule.random };
}

function constraintMiss(constraint: Constraint, context: Context, segmentId?: number): StrategyMiss {
  const contextValue =
    constraint.contextName === 'currentTime'
      ? (context.currentTime instanceof Date ? context.currentTime : new Date()).toISOString()
      : resolveContextValue(context, constraint.contextName);
  const values = Array.isArray(constraint.values) ? constraint.values : [];
  const single = constraint.value === undefined || constraint.value === null ? undefined : String(constraint.value);
  const expected = values.length > 0 ? `[${values.join(', ')}]` : single ?? '(nothing)';
  const operator = `${constraint.inverted ? 'NOT ' : ''}${constraint.operator}${ignoresCase(constraint) ? ' (case-insensitive)' : ''}`;
  const got = contextValue === undefined ? `the context has no ${constraint.contextName}` : `the context has ${JSON.stringify(contextValue)}`;
  return {
    kind: 'constraint',
    contextName: constraint.contextName,
    operator: constraint.operator,
    inverted: constraint.inverted === true,
    caseInsensitive: ignoresCase(constraint),
    values,
    ...(single === undefined ? {} : { value: single }),
    contextValue,
    ...(segmentId === undefined ? {} : { segmentId }),
    message: `${segmentId === undefined ? '' : `segment ${segmentId}: `}constraint ${constraint.contextName} ${operator} ${expected} failed: ${got}`,
  };
}

interface RuleDescription {
  readonly detail?: string;
  readonly miss: StrategyMiss;
  readonly random: boolean;
}

/** The wording for a strategy's own rule, once its constraints hold. The verdict itself came from the strategy. */
function describeRule(name: string, parameters: Record<string, unknown>, context: Context): RuleDescription {
  switch (name) {
    case 'flexibleRollout': {
      const stickiness = text(parameters.stickiness) || 'default';
      const groupId = text(parameters.groupId) || text(context.featureToggle);
      let id: string | undefined;
      let by = stickiness;
      let random = false;
      if (stickiness === 'random') random = true;
      else if (stickiness === 'default') {
        // The client's order: the user, else the session, else a random draw.
        by = text(context.userId) ? 'userId' : 'sessionId';
        id = text(context.userId) || text(context.sessionId) || undefined;
        random = id === undefined;
      } else id = resolveContextValue(context, stickiness);
      const missingField = stickiness !== 'default' && stickiness !== 'random' && id === undefined;
      return rollout(Number(parameters.rollout), stickiness, by, groupId, id, random, missingField);
    }
    case 'gradualRolloutUserId':
      return rollout(Number(parameters.percentage), 'userId', 'userId', text(parameters.groupId), text(context.userId) || undefined, false, !context.userId);
    case 'gradualRolloutSessionId':
      return rollout(Number(parameters.percentage), 'sessionId', 'sessionId', text(parameters.groupId), text(context.sessionId) || undefined, false, !context.sessionId);
    case 'gradualRolloutRandom':
      return rollout(Number(parameters.percentage), 'random', 'random', '', undefined, true, false);
    case 'userWithId': {
      const userId = context.userId === undefined ? undefined : String(context.userId);
      const message = userId === undefined ? 'the context has no userId, so it cannot be in the allow-list' : `user ${JSON.stringify(userId)} is not in the allow-list`;
      return { detail: `user ${JSON.stringify(userId)} is in the allow-list`, miss: { kind: 'allow-list', userId, message }, random: false };
    }
    case 'default':
      return { detail: 'the default strategy is on for everyone', miss: { kind: 'strategy', message: 'the default strategy did not match' }, random: false };
    default:
      return {
        detail: `${name} matched`,
        miss: { kind: 'strategy', message: `${name}: its rule (${JSON.stringify(parameters)}) did not match this context` },
        random: false,
      };
  }
}

/**
 * The wording of a percentage rollout. `stickiness` is the strategy's setting; `by` the context
 * field whose value was hashed into the bucket (for `default`, the user or else the session).
 */
function rollout(
  percentage: number,
  stickiness: string,
  by: string,
  groupId: string,
  id: string | undefined,
  random: boolean,
  missingField: boolean,
): RuleDescription {
  const bucket = id !== undefined && normalizedStrategyValue !== undefined ? normalizedStrategyValue(id, groupId) : undefined;
  const shown = Number.isFinite(percentage) ? percentage : 0;
  // A session-sticky rollout picks sessions, not users: one user may be in it on one device only.
  const who = by === 'sessionId' ? 'session' : 'user';
  let message: string;
  let detail: string;
  if (missingField) {
    message = `rollout: the context has no ${stickiness} to stick to, so nobody is in the rollout`;
    detail = message;
  } else if (random) {
    message = `rollout: a random draw missed the ${shown} % (no stable id to stick to)`;
    detail = `a random draw landed within the ${shown} %`;
  } else {
    message = `rollout: ${who} not in the first ${shown} %${bucket === undefined ? '' : ` (bucket ${bucket} of 100 by ${by})`}`;
    detail = `the ${who} is in the first ${shown} %${bucket === undefined ? '' : ` (bucket ${bucket} of 100 by ${by})`}`;
  }
  return { detail, miss: { kind: 'rollout', percentage: shown, stickiness, groupId, bucket, message }, random };
}

/** The feature-level variant, as the client's resolveVariant picks it for an enabled flag. */
function featureVariant(feature: FeatureInterface, context: Context): FlagVariant {
  if (!Array.isArray(feature.variants) || feature.variants.length === 0) return DISABLED_VARIANT;
  const picked = selectVariant(feature, context);
  return picked === null ? DISABLED_VARIANT : toFlagVariant({ name: picked.name, payload: picked.payload });
}

function toFlagVariant(variant: { name: string; payload?: { type: string; value: string } | undefined }): FlagVariant {
  return variant.payload === undefined
    ? { name: variant.name, enabled: true }
    : { name: variant.name, enabled: true, payload: { type: String(variant.payload.type), value: variant.payload.value } };
}

function text(value: unknown): string {
  return value === undefined || value === null ? '' : String(value);
}
