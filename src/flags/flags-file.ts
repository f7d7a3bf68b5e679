/**
 * The flags file (config/flags.json, `flags.bootstrapFile`): its format, validation and messages.
 *
 * The file is in Unleash's own export format — what "Export" in Unleash 7 writes and
 * `POST /api/admin/features-batch/import` (or the UI's Import) reads unchanged:
 * `{features, featureStrategies, featureEnvironments, contextFields, featureTags, segments,
 * tagTypes, dependencies}`. It is converted here to the client-API shape
 * (`{features: [{name, enabled, strategies, variants}]}`) the client evaluates, applying what the
 * Unleash server does on import (variant weights, ordering) so the file means the same in both
 * places. A copy of `/api/client/features` (`{"version": 2, "features": [...]}`) is accepted too.
 *
 * Pure: no file reading, no client. {@link FlagService} reads the file and feeds the result to an
 * offline unleash-client.
 */
import type { FeatureInterface } from 'unleash-client/lib/feature.js';
import type { Constraint, Segment, StrategyTransportInterface } from 'unleash-client/lib/strategy/strategy.js';
import type { VariantDefinition } from 'unleash-client/lib/variant.js';
import { z } from 'zod';
import { deepFreeze } from '../config/service-config.ts';
import { describeIssues, LocatedYaml } from '../config/validate-yaml.ts';
import { describeThrown, ErrorCode, FloorplanError } from '../errors.ts';
import { CONTEXT_FIELDS, STICKY_CONTEXT_FIELDS } from './request-flags.ts';
/** Flags read from a file, in the shape unleash-client bootstraps from. */
export interface FlagsSnapshot {
  /** Which of the two accepted shapes the file had. */
  readonly format: 'unleash-export' | 'client-features';
  readonly features: readonly FeatureInterface[];
  readonly segments: readonly Segment[];
}

/** Strategies an Unleash 7 server accepts; the older userWithId and gradualRollout* were removed from it. */
const UNLEASH7_STRATEGIES = ['default', 'flexibleRollout', 'remoteAddress', 'applicationHostname'] as const;
/** Strategies unleash-client 6.12.1 evaluates; a copy of /api/client/features from an older server may use any. */
export const CLIENT_STRATEGIES = [...UNLEASH7_STRATEGIES, 'userWithId', 'gradualRolloutUserId', 'gradualRolloutSessionId', 'gradualRolloutRandom'] as const;
/** Operators an Unleash 7 server accepts (its ALL_OPERATORS; no SEMVER_GTE/LTE, no IN_CIDR). */
const UNLEASH7_OPERATORS = [
  'IN', 'NOT_IN', 'STR_ENDS_WITH', 'STR_STARTS_WITH', 'STR_CONTAINS',
  'NUM_EQ', 'NUM_GT', 'NUM_GTE', 'NUM_LT', 'NUM_LTE', 'DATE_AFTER', 'DATE_BEFORE',
  'SEMVER_EQ', 'SEMVER_GT', 'SEMVER_LT', 'REGEX',
] as const;
const CLIENT_OPERATORS = [...UNLEASH7_OPERATORS, 'SEMVER_GTE', 'SEMVER_LTE', 'IN_CIDR'] as const;
const LIST_OPERATORS: ReadonlySet<string> = new Set(['IN', 'NOT_IN', 'STR_ENDS_WITH', 'STR_STARTS_WITH', 'STR_CONTAINS', 'IN_CIDR']);
const SEMVER = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

const name = () => z.string().min(1, { error: 'must be a non-empty name' });
const weight = () => z.int({ error: 'must be a whole number from 0 to 1000 (per mille)' }).min(0).max(1000);
const payloadSchema = z.strictObject({ type: z.enum(['json', 'csv', 'string', 'number']), value: z.string() });
const overrideSchema = z.strictObject({ contextName: name(), values: z.array(z.string()) });
const parametersSchema = z.record(
  z.string(),
  z.string({ error: 'must be a string (Unleash keeps strategy parameters as text, e.g. "10")' }),
);

function constraintSchema(operators: readonly [string, ...string[]]) {
  return z
    .strictObject({
      contextName: name(),
      operator: z.enum(operators),
      caseInsensitive: z.boolean().optional(),
      inverted: z.boolean().optional(),
      values: z.array(z.string()).optional(),
      value: z.union([z.string(), z.number()]).optional(),
    })
    .superRefine((c, ctx) => {
      // A name Floorplan never sends is a typo: the constraint would never match (or always, inverted).
      if (!(CONTEXT_FIELDS as readonly string[]).includes(c.contextName)) {
        ctx.addIssue({ code: 'custom', path: ['contextName'], message: `must be a context field Floorplan sends (${CONTEXT_FIELDS.join(', ')})` });
      }
      if (LIST_OPERATORS.has(c.operator)) {
        if (c.values === undefined || c.values.length === 0) {
          ctx.addIssue({ code: 'custom', path: ['values'], message: `must list at least one value for ${c.operator}` });
        }
        return;
      }
      const value = c.value === undefined ? undefined : String(c.value);
      if (value === undefined || value === '') {
        ctx.addIssue({ code: 'custom', path: ['value'], message: `must be set: ${c.operator} compares against a single value` });
      } else if (c.operator.startsWith('NUM_') && !Number.isFinite(Number(value))) {
        ctx.addIssue({ code: 'custom', path: ['value'], message: `must be a number for ${c.operator}` });
      } else if (c.operator.startsWith('DATE_') && !Number.isFinite(Date.parse(value))) {
        ctx.addIssue({ code: 'custom', path: ['value'], message: `must be an ISO date-time for ${c.operator}, e.g. 2026-01-31T00:00:00Z` });
      } else if (c.operator.startsWith('SEMVER_') && !SEMVER.test(value)) {
        ctx.addIssue({ code: 'custom', path: ['value'], message: `must be a version like 12.3.0 for ${c.operator}` });
      }
    });
}

/** What a stickiness may name: the client's own two words, or a context field Floorplan sends with every evaluation. */
function isKnownStickiness(stickiness: string): boolean {
  return stickiness === 'default' || stickiness === 'random' || (STICKY_CONTEXT_FIELDS as readonly string[]).includes(stickiness);
}
const STICKINESS_CONTRACT = `must be default, random or a context field Floorplan sends (${STICKY_CONTEXT_FIELDS.join(', ')})`;

/**
 * A variant's stickiness, at every level a variant is defined (a flag's, an environment's, a
 * strategy's). The client hashes the named field to pick the variant; for a field never sent
 * (a typo such as "userid") it falls back to a random draw per request, so a user would flip
 * between variants — the same rule as a strategy's `parameters.stickiness`. Unset is the client's
 * default (userId, then sessionId, then random).
 */
const variantStickiness = () => z.string().refine(isKnownStickiness, { error: STICKINESS_CONTRACT });

/** flexibleRollout's parameters must be explicit: offline there is no project default stickiness to fill in. */
function checkRolloutParameters(strategyName: string, parameters: Record<string, string> | undefined, ctx: z.RefinementCtx): void {
  if (strategyName !== 'flexibleRollout') return;
  const p = parameters ?? {};
  const rollout = p.rollout;
  if (rollout === undefined || !/^\d{1,3}$/.test(rollout) || Number(rollout) > 100) {
    ctx.addIssue({ code: 'custom', path: ['parameters', 'rollout'], message: 'must be a whole percentage from "0" to "100"' });
  }
  if (p.stickiness === undefined || p.stickiness === '') {
    ctx.addIssue({ code: 'custom', path: ['parameters', 'stickiness'], message: 'must be set (e.g. "userId"): offline there is no project default stickiness' });
  } else if (!isKnownStickiness(p.stickiness)) {
    // Sticky by a field never sent, the rollout buckets nobody in.
    ctx.addIssue({ code: 'custom', path: ['parameters', 'stickiness'], message: STICKINESS_CONTRACT });
  }
  if (p.groupId === undefined || p.groupId === '') {
    ctx.addIssue({ code: 'custom', path: ['parameters', 'groupId'], message: 'must be set, usually to the flag name (Unleash would fill that in on import)' });
  }
}

// --- Unleash export format (what Unleash 7.5 exports and features-batch/import accepts; keys as in its openapi schemas).

const exportVariantSchema = z.strictObject({
  name: name(),
  weight: weight(),
  weightType: z.enum(['variable', 'fix']),
  stickiness: variantStickiness().optional(),
  payload: payloadSchema.optional(),
  overrides: z.array(overrideSchema).optional(),
});
const exportStrategyVariantSchema = z.strictObject({
  name: name(),
  weight: weight(),
  weightType: z.enum(['variable', 'fix']),
  stickiness: variantStickiness(),
  payload: payloadSchema.optional(),
});
const exportStrategySchema = z
  .strictObject({
    id: z.string().optional(),
    name: z.enum(UNLEASH7_STRATEGIES, {
      error: `must be a strategy Unleash 7 accepts (${UNLEASH7_STRATEGIES.join(', ')}); for an allow-list use flexibleRollout with a constraint userId IN [...]`,
    }),
    title: z.string().nullable().optional(),
    disabled: z.boolean().nullable().optional(),
    featureName: name(),
    sortOrder: z.number().optional(),
    segments: z.array(z.number()).max(0, { error: 'must be empty: an export names segments but does not carry their constraints, so they cannot be evaluated offline; use constraints' }).optional(),
    constraints: z.array(constraintSchema(UNLEASH7_OPERATORS)).optional(),
    variants: z.array(exportStrategyVariantSchema).optional(),
    parameters: parametersSchema.optional(),
  })
  .superRefine((s, ctx) => checkRolloutParameters(s.name, s.parameters, ctx));
const exportFeatureSchema = z
  .strictObject({
    name: name(),
    type: z.string().optional(),
    description: z.string().nullable().optional(),
    archived: z.boolean().optional(),
    project: z.string().optional(),
    enabled: z.boolean().optional(),
    stale: z.boolean().optional(),
    favorite: z.boolean().optional(),
    impressionData: z.boolean().optional(),
    createdAt: z.string().nullable().optional(),
    createdBy: z.unknown().optional(),
    archivedAt: z.string().nullable().optional(),
    lastSeenAt: z.string().nullable().optional(),
    environments: z.array(z.unknown()).optional(),
    variants: z.array(z.unknown()).optional(),
    strategies: z.array(z.unknown()).max(0, { error: 'must be empty in the export format: strategies go in featureStrategies (with featureName)' }).optional(),
    tags: z.array(z.unknown()).nullable().optional(),
    children: z.array(z.unknown()).optional(),
    lifecycle: z.unknown().optional(),
    dependencies: z.array(z.unknown()).optional(),
    collaborators: z.unknown().optional(),
    links: z.array(z.unknown()).optional(),
  });
const exportFeatureEnvironmentSchema = z.strictObject({
  name: name(),
  featureName: z.string().optional(),
  environment: z.string().optional(),
  type: z.string().optional(),
  enabled: z.boolean(),
  sortOrder: z.number().optional(),
  variantCount: z.number().optional(),
  strategies: z.array(z.unknown()).optional(),
  variants: z.array(exportVariantSchema).optional(),
  changeRequestIds: z.array(z.number()).optional(),
  milestoneName: z.string().optional(),
  milestoneOrder: z.number().optional(),
  totalMilestones: z.number().optional(),
  lastSeenAt: z.string().nullable().optional(),
  hasStrategies: z.boolean().optional(),
  hasEnabledStrategies: z.boolean().optional(),
  releasePlans: z.array(z.unknown()).optional(),
  yes: z.number().optional(),
  no: z.number().optional(),
});
const exportDependenciesSchema = z.strictObject({
  feature: name(),
  dependencies: z.array(z.strictObject({ feature: name(), enabled: z.boolean().optional(), variants: z.array(z.string()).optional() })),
});
const exportFileSchema = z.strictObject({
  features: z.array(exportFeatureSchema),
  featureStrategies: z.array(exportStrategySchema),
  featureEnvironments: z.array(exportFeatureEnvironmentSchema).optional(),
  contextFields: z.array(z.unknown()).optional(),
  featureTags: z.array(z.unknown()).optional(),
  segments: z.array(z.unknown()).optional(),
  tagTypes: z.array(z.unknown(), { error: 'must be a list: Unleash\'s import requires it ([] is fine)' }),
  dependencies: z.array(exportDependenciesSchema).optional(),
  links: z.array(z.unknown()).optional(),
});
type ExportFile = z.output<typeof exportFileSchema>;

// --- Client-API format (a copy of GET /api/client/features), already in the shape the client evaluates.

const clientStrategySchema = z
  .looseObject({
    name: z.enum(CLIENT_STRATEGIES, { error: `must be a strategy unleash-client evaluates (${CLIENT_STRATEGIES.join(', ')})` }),
    parameters: parametersSchema.optional(),
    constraints: z.array(constraintSchema(CLIENT_OPERATORS)).optional(),
    segments: z.array(z.int()).optional(),
    variants: z.array(z.looseObject({ name: name(), weight: weight(), stickiness: variantStickiness().optional(), payload: payloadSchema.optional() })).optional(),
  })
  .superRefine((s, ctx) => checkRolloutParameters(s.name, s.parameters, ctx));
const clientFileSchema = z.looseObject({
  version: z.number().optional(),
  features: z.array(
    z.looseObject({
      name: name(),
      enabled: z.boolean(),
      strategies: z.array(clientStrategySchema),
      variants: z
        .array(z.looseObject({ name: name(), weight: weight(), stickiness: variantStickiness().optional(), payload: payloadSchema.optional(), overrides: z.array(overrideSchema).optional() }))
        .optional(),
      dependencies: z.array(z.strictObject({ feature: name(), enabled: z.boolean().optional(), variants: z.array(z.string()).optional() })).optional(),
    }),
  ),
  segments: z.array(z.looseObject({ id: z.int(), constraints: z.array(constraintSchema(CLIENT_OPERATORS)) })).optional(),
});

/**
 * Parses and validates a flags file; throws FLOORPLAN_ERR_FLAGS_INVALID listing every problem as
 * "`path` <contract>, but got: <value> (file:line)". `environment` picks the featureEnvironments
 * entry when a file holds more than one per flag.
 */
export function parseFlagsFile(source: string, file: string, environment: string): FlagsSnapshot {
  let input: unknown;
  try {
    input = JSON.parse(source);
  } catch (error) {
    const message = describeThrown(error).replace(/\s+/g, ' ');
    // Node 20 gives a position for some syntax errors only; the YAML parser (JSON is YAML) finds the line of the rest.
    const position = /position (\d+)/.exec(message);
    const line =
      position === null ? new LocatedYaml(file, source).syntaxProblems()[0]?.line : source.slice(0, Number(position[1])).split('\n').length;
    throw invalid(file, [`the file is not valid JSON: ${message} (${line === undefined ? file : `${file}:${line}`})`]);
  }
  // Only for messages: the JSON re-read as YAML (a superset) can point at the line of any path.
  let located: LocatedYaml | undefined;
  const at: At = (path, contract, received, hasReceived = false) => {
    located ??= new LocatedYaml(file, source);
    return hasReceived ? located.problem(path, contract, received).message : located.problem(path, contract).message;
  };

  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw invalid(file, [at([], 'must be a JSON object in Unleash\'s export format ({"features": [...], "featureStrategies": [...], ...})')]);
  }
  const isClientFormat = !('featureStrategies' in input) && ('version' in input || hasNestedStrategies(input));
  const schema: z.ZodType = isClientFormat ? clientFileSchema : exportFileSchema;
  const result = schema.safeParse(input);
  if (!result.success) {
    throw invalid(
      file,
      describeIssues(result.error.issues, schema, input).map((d) => ('received' in d ? at(d.path, d.contract, d.received, true) : at(d.path, d.contract))),
    );
  }
  const problems: string[] = [];
  const snapshot = isClientFormat
    ? fromClientFormat(result.data as z.output<typeof clientFileSchema>, at, problems)
    : fromExportFormat(result.data as ExportFile, environment, at, problems);
  if (problems.length > 0) throw invalid(file, problems);
  return deepFreeze(snapshot);
}

function hasNestedStrategies(input: object): boolean {
  const features = (input as { features?: unknown }).features;
  return Array.isArray(features) && features.some((f) => typeof f === 'object' && f !== null && 'strategies' in f && Array.isArray((f as { strategies: unknown }).strategies) && (f as { strategies: unknown[] }).strategies.length > 0);
}

type At = (path: readonly PropertyKey[], contract: string, received?: unknown, hasReceived?: boolean) => string;

function fromExportFormat(data: ExportFile, environment: string, at: At, problems: string[]): FlagsSnapshot {
  const indexOf = new Map<string, number>();
  data.features.forEach((feature, i) => {
    if (indexOf.has(feature.name)) problems.push(at(['features', i, 'name'], `must be unique, but "${feature.name}" is also features[${String(indexOf.get(feature.name))}]`));
    else indexOf.set(feature.name, i);
  });
  const known = (path: PropertyKey[], featureName: string) => {
    if (indexOf.has(featureName)) return true;
    problems.push(at(path, 'must name a flag listed in features', featureName, true));
    return false;
  };

  const strategiesOf = new Map<string, Array<{ strategy: ExportFile['featureStrategies'][number]; order: number }>>();
  data.featureStrategies.forEach((strategy, i) => {
    if (!known(['featureStrategies', i, 'featureName'], strategy.featureName)) return;
    checkVariantWeights(strategy.variants ?? [], ['featureStrategies', i, 'variants'], at, problems);
    // Unleash does not send disabled strategies to clients.
    if (strategy.disabled === true) return;
    const list = strategiesOf.get(strategy.featureName) ?? [];
    list.push({ strategy, order: i });
    strategiesOf.set(strategy.featureName, list);
  });

  const environmentsOf = new Map<string, Array<{ env: NonNullable<ExportFile['featureEnvironments']>[number]; index: number }>>();
  (data.featureEnvironments ?? []).forEach((env, i) => {
    // Unleash's import reads the flag's name from `name` (and variants by `featureName`); they must agree.
    if (env.featureName !== undefined && env.featureName !== env.name) {
      problems.push(at(['featureEnvironments', i, 'featureName'], `must equal name ("${env.name}")`, env.featureName, true));
      return;
    }
    if (!known(['featureEnvironments', i, 'name'], env.name)) return;
    checkVariantWeights(env.variants ?? [], ['featureEnvironments', i, 'variants'], at, problems);
    const list = environmentsOf.get(env.name) ?? [];
    list.push({ env, index: i });
    environmentsOf.set(env.name, list);
  });

  const dependenciesOf = new Map<string, FeatureInterface['dependencies']>();
  (data.dependencies ?? []).forEach((entry, i) => {
    if (!known(['dependencies', i, 'feature'], entry.feature)) return;
    entry.dependencies.forEach((parent, j) => known(['dependencies', i, 'dependencies', j, 'feature'], parent.feature));
    dependenciesOf.set(entry.feature, entry.dependencies.map((d) => ({ ...d })));
  });

  const features: FeatureInterface[] = [];
  for (const feature of data.features) {
    if (feature.archived === true || indexOf.get(feature.name) === undefined) continue;
    const envs = environmentsOf.get(feature.name) ?? [];
    let env = envs.length === 1 ? envs[0] : envs.find((e) => e.env.environment === environment);
    if (envs.length > 1 && env === undefined) {
      problems.push(at(['featureEnvironments', (envs[0] as { index: number }).index], `must be one entry per flag, or one whose environment is "${environment}" (flags.environment)`));
      env = envs[0];
    }
    const strategies = (strategiesOf.get(feature.name) ?? [])
      .sort((a, b) => (a.strategy.sortOrder ?? 0) - (b.strategy.sortOrder ?? 0) || a.order - b.order)
      .map(({ strategy }): StrategyTransportInterface => ({
        name: strategy.name,
        parameters: { ...(strategy.parameters ?? {}) },
        constraints: (strategy.constraints ?? []).map(toClientConstraint),
        variants: fixVariantWeights(strategy.variants ?? []),
      }));
    const converted: FeatureInterface = {
      name: feature.name,
      enabled: env?.env.enabled ?? false,
      strategies,
      variants: fixVariantWeights(env?.env.variants ?? []),
      impressionData: feature.impressionData ?? false,
    };
    if (feature.type !== undefined) converted.type = feature.type;
    if (feature.project !== undefined) converted.project = feature.project;
    if (typeof feature.description === 'string') converted.description = feature.description;
    const dependencies = dependenciesOf.get(feature.name);
    if (dependencies !== undefined) converted.dependencies = dependencies;
    features.push(converted);
  }
  return { format: 'unleash-export', features, segments: [] };
}

function fromClientFormat(data: z.output<typeof clientFileSchema>, at: At, problems: string[]): FlagsSnapshot {
  const segmentIds = new Set((data.segments ?? []).map((s) => s.id));
  const seen = new Map<string, number>();
  data.features.forEach((feature, i) => {
    if (seen.has(feature.name)) problems.push(at(['features', i, 'name'], `must be unique, but "${feature.name}" is also features[${String(seen.get(feature.name))}]`));
    else seen.set(feature.name, i);
    feature.strategies.forEach((strategy, j) =>
      (strategy.segments ?? []).forEach((id, k) => {
        if (!segmentIds.has(id)) problems.push(at(['features', i, 'strategies', j, 'segments', k], 'must be the id of a segment listed in segments', id, true));
      }),
    );
  });
  const features = data.features.map((feature) => ({
    ...feature,
    strategies: feature.strategies.map((s) => ({ ...s, parameters: { ...(s.parameters ?? {}) }, constraints: (s.constraints ?? []).map(toClientConstraint) })),
  })) as FeatureInterface[];
  const segments = (data.segments ?? []).map((s) => ({ ...s, constraints: s.constraints.map(toClientConstraint) })) as Segment[];
  return { format: 'client-features', features, segments };
}

function toClientConstraint(c: { contextName: string; operator: string; values?: string[] | undefined; value?: string | number | undefined; inverted?: boolean | undefined; caseInsensitive?: boolean | undefined }): Constraint {
  const constraint = {
    contextName: c.contextName,
    operator: c.operator,
    values: c.values ?? [],
    inverted: c.inverted ?? false,
    caseInsensitive: c.caseInsensitive ?? false,
  } as Constraint;
  if (c.value !== undefined) constraint.value = String(c.value);
  return constraint;
}

/**
 * The checks Unleash's fixVariantWeights makes on import (at least one variable variant; fixed
 * weights ≤ 1000), and one of Floorplan's: a "variable" variant's weight must be the share it is
 * recomputed to. Unleash ignores that weight on import (as {@link fixVariantWeights} does here), so
 * an edit of it — 50/50 to 800/200, both variable — would be accepted and change nothing; refused,
 * the operator learns to say weightType "fix". What Unleash exports passes: it stores the
 * recomputed weights, but sorted by name, so the odd per mille of a share that does not divide
 * evenly may sit on another variant than the one re-importing gives it to — either is accepted.
 */
function checkVariantWeights(variants: ReadonlyArray<{ name: string; weight: number; weightType: 'variable' | 'fix' }>, path: PropertyKey[], at: At, problems: string[]): void {
  if (variants.length === 0) return;
  const variable = variants.filter((v) => v.weightType === 'variable').length;
  if (variable === 0) {
    problems.push(at(path, 'must include at least one variant with weightType "variable" (Unleash rejects all-"fix" variants)'));
  }
  const fixed = variants.filter((v) => v.weightType === 'fix').reduce((sum, v) => sum + v.weight, 0);
  if (fixed > 1000) problems.push(at(path, `must have "fix" weights adding up to at most 1000, but they add up to ${fixed}`));
  if (variable === 0 || fixed > 1000) return;
  const share = Math.floor((1000 - fixed) / variable);
  const odd = (1000 - fixed) % variable > 0;
  variants.forEach((v, i) => {
    if (v.weightType !== 'variable' || v.weight === share || (odd && v.weight === share + 1)) return;
    const expected = odd ? `${share} or ${share + 1}` : String(share);
    problems.push(
      at(
        [...path, i, 'weight'],
        `must be ${expected} for variant ${JSON.stringify(v.name)}: a "variable" variant's weight is computed (the 1000 left by "fix" variants, shared equally): give it weightType "fix" to set it`,
        v.weight,
        true,
      ),
    );
  });
}

/**
 * What Unleash 7 stores on import (feature-toggle-service `fixVariantWeights`): "fix" weights as
 * given, the rest of 1000 shared evenly by the "variable" ones (the remainder one by one, in file
 * order), then all sorted by name. The client hashes users onto these weights in this order, so the
 * local evaluation must use them too.
 */
function fixVariantWeights<V extends { name: string; weight: number; weightType: 'variable' | 'fix' }>(variants: readonly V[]): VariantDefinition[] {
  if (variants.length === 0) return [];
  const variable = variants.filter((v) => v.weightType === 'variable');
  const fixed = variants.filter((v) => v.weightType === 'fix');
  const left = 1000 - fixed.reduce((sum, v) => sum + v.weight, 0);
  const average = variable.length === 0 ? 0 : Math.floor(left / variable.length);
  let remainder = variable.length === 0 ? 0 : left % variable.length;
  const shared = variable.map((v) => {
    const extra = remainder > 0 ? 1 : 0;
    remainder -= extra;
    return { ...v, weight: average + extra };
  });
  return [...shared, ...fixed.map((v) => ({ ...v }))].sort((a, b) => a.name.localeCompare(b.name)) as unknown as VariantDefinition[];
}

function invalid(file: string, problems: readonly string[]): FloorplanError {
  return new FloorplanError(ErrorCode.FLAGS_INVALID, { problems: ` ${file}:\n- ${problems.join('\n- ')}` });
}

