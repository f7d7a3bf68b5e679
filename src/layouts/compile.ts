/**
 * floors/<scene>.yaml — what operators edit — read, validated and compiled in one place.
 *
 * A bad file is rejected with every problem as "`floors[3].sort` must be an integer, but
 * got: "top" (floors/cart-bottom-sheet.yaml:14)": unknown builders (with the known names),
 * duplicate codes, wrong types, unknown template variables (with the builder's variables),
 * missing locales, and — given the service config's `apps` — style tokens a supported app would
 * receive without knowing them. The result is a deep-frozen {@link CompiledLayout} per scene.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, isAbsolute, join, relative } from 'node:path';
import { compare, SemVer, valid } from 'semver';
import { z } from 'zod';
import { deepFreeze, type AppsConfig } from '../config/service-config.ts';
import { formatPath, integer, LocatedYaml, valueAt, type YamlProblem } from '../config/validate-yaml.ts';
import { describeThrown, ErrorCode, FloorplanError } from '../errors.ts';
import { FLOOR_KINDS, type FloorBuilder, type FloorKind, type UpstreamName } from '../floors/builder.ts';
import { compileExpressionFloor, expressionTemplateVars } from '../floors/expression/expression-floor.ts';
import type { BuilderRegistry } from '../floors/registry.ts';
import { minimumFor, resolveStyle, type MinAppVersion, type StyleToken } from './client-view.ts';
import { compileTemplate, type CompiledTemplate } from './template.ts';

/** A floor as operators configure it, compiled for rendering. */
export interface CompiledFloor {
  /** The code clients key on, e.g. `coupon`; unique within a scene. */
  readonly code: string;
  readonly builder: FloorBuilder;
  /** Display name per configured locale. */
  readonly name: Readonly<Record<string, string>>;
  /** Sub-name template per locale; absent when the floor has none. */
  readonly subName: Readonly<Record<string, CompiledTemplate>> | undefined;
  /** Text shown instead of a sub-name missing one of its values (promotion down, no quota), per locale; absent: no sub-name then. */
  readonly subNameFallback: Readonly<Record<string, string>> | undefined;
  /** Whether a sub-name uses one of the builder's decoration variables, so they are worth fetching. */
  readonly usesDecorations: boolean;
  /**
   * The upstreams rendering this floor reads: its builder's needs, its decoration's when a
   * sub-name shows them, its fallback's. The renderer waits for them all once per panel.
   */
  readonly reads: readonly UpstreamName[];
  /** Text shown instead of a zero amount (e.g. 免运费), per locale. */
  readonly zeroText: Readonly<Record<string, string>> | undefined;
  readonly style: readonly string[];
  readonly sort: number;
  /** false: configured but never rendered (the simplest kill switch). */
  readonly enabled: boolean;
  /** true: left out when its amount is exactly zero (e.g. no coupon applied). */
  readonly hideWhenZero: boolean;
  /** 1-based line in the file, for operator tools and logs. */
  readonly line: number | undefined;
  /** Feature flag that must be on for the viewer, e.g. `floor.plus-rebate`; undefined: always on. */
  readonly flag: string | undefined;
  /** Oldest client version that may receive the floor. */
  readonly minAppVersion: MinAppVersion | undefined;
  /** Builder used instead when this floor's builder fails on an upstream the fallback does not need. */
  readonly fallback: FloorBuilder | undefined;
}

// Defined with what an app of a version gets from them (client-view.ts); re-exported for the layout's readers.
export type { MinAppVersion, StyleToken };

/** A flag a floors file names — a floor's `flag` or the layout's `layoutFlag` — and where. */
export interface FlagReference {
  readonly flag: string;
  /** e.g. `floors[5].flag`, `variants.compact.floors[2].flag`, `layoutFlag`. */
  readonly path: string;
  /** "(floors/cart-bottom-sheet.yaml:54)"-style location: the file and 1-based line. */
  readonly file: string;
  readonly line: number | undefined;
}

/** One version of a scene's floors: the default one, or a variant picked by the layout flag. */
export interface LayoutVersion {
  /** What `layoutVersion` reports. */
  readonly version: string;
  /** Sorted by `sort`, ties in file order. */
  readonly floors: readonly CompiledFloor[];
}

/** One scene's layout: its default floors in render order, plus any flag-picked variants. */
export interface CompiledLayout extends LayoutVersion {
  readonly scene: string;
  /** The file's `version`, or `sha-<12 hex>` of its content when it declares none. */
  readonly version: string;
  /** Path relative to the working directory, for messages. */
  readonly file: string;
  /** Unleash flag whose variant name picks one of `variants`; anything else gets the default floors. */
  readonly layoutFlag: string | undefined;
  readonly variants: Readonly<Record<string, LayoutVersion>>;
  /** Tokens newer than some clients, by token. Tokens not listed are known to every client. */
  readonly styles: Readonly<Record<string, StyleToken>>;
  /** Every flag the file names, in file order: what the flag-name check (flag-names.ts) reads. */
  readonly flagReferences: readonly FlagReference[];
}

const CODE = /^[a-z][a-z0-9_-]*$/;
const TEMPLATE_VAR = /^[A-Za-z_][A-Za-z0-9_]*$/;
const KINDS: ReadonlySet<string> = new Set<string>(FLOOR_KINDS);
/** The keys that make a floor an expression floor (src/floors/expression). */
const EXPRESSION_KEYS = ['kind', 'amount', 'when', 'vars'] as const;
const STYLE = /^[a-z][a-z0-9-]*$/;
const semverString = z.string().refine((v) => valid(v) !== null, 'must be a semantic version such as "12.3.0"');
const minAppVersion = z.union([semverString, z.record(z.string().regex(/^[a-z][a-z0-9_-]*$/), semverString)]);
const flagName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'must be a feature flag name such as "floor.plus-rebate"');

const styleRules = z.record(
  z.string().regex(STYLE, 'must be a lower-case style token such as "emphasis"'),
  z.strictObject({ minAppVersion, fallback: z.string().regex(STYLE, 'must be a lower-case style token such as "bold"').nullable() }),
);

/**
 * Bounds on what one file may list, far above any real sheet (a phone shows a dozen rows, a row
 * two or three style tokens): each style token is checked against every supported app version,
 * so without them one 64 KiB file of tens of thousands of tokens held the check (and the admin
 * API's event loop) for seconds and answered as many problems.
 */
const MAX_FLOORS = 100;
const MAX_STYLE_TOKENS = 8;

/** What Floor.sort must fit: the schema's Int, 32 bits. */
const GRAPHQL_INT = 'must fit a GraphQL Int (−2147483648 to 2147483647)';

function floorsFileSchema(locales: readonly string[]) {
  const perLocale = <T extends z.ZodType>(value: T) =>
    z.strictObject(Object.fromEntries(locales.map((l) => [l, value])) as Record<string, T>);
  const floor = z.strictObject({
    code: z.string().regex(CODE, 'must be a lower-case code such as "plus95"'),
    builder: z.string().min(1).optional().describe('A builder from the registry (README, "Adding a floor"); or leave it out and declare `kind` and `amount` expressions.'),
    name: perLocale(z.string().min(1)),
    subName: perLocale(z.string()).optional(),
    subNameFallback: perLocale(z.string()).optional(),
    zeroText: perLocale(z.string()).optional(),
    style: z.array(z.string().regex(STYLE, 'must be lower-case style tokens such as "bold"')).max(MAX_STYLE_TOKENS).default([]),
    // The schema's Floor.sort is an Int: 32 bits, checked here rather than failing the panel at serialisation.
    sort: integer().min(-2_147_483_648, GRAPHQL_INT).max(2_147_483_647, GRAPHQL_INT),
    enabled: z.boolean().default(true),
    hideWhenZero: z.boolean().default(false),
    flag: flagName.optional(),
    minAppVersion: minAppVersion.optional(),
    fallback: z.string().min(1).optional(),
    kind: z.enum(FLOOR_KINDS).optional().describe('An expression floor\'s kind: what its amount means for the payable total (DEDUCTION rows are negative).'),
    amount: z.string().min(1).optional().describe('An expression floor\'s amount: a CEL expression of type Money over cart, lines, promotion, quote, loyalty, viewer (docs/expression-floors.md).'),
    when: z.string().min(1).optional().describe('An expression floor shows only when this CEL condition (bool) is true.'),
    vars: z
      .record(z.string().regex(TEMPLATE_VAR, 'must be template variable names such as "couponCount"'), z.string().min(1))
      .optional()
      .describe('An expression floor\'s sub-name variables, each a CEL expression of type Money, int or string that a `subName` shows; `amount` is one already.'),
  });
  const floors = z.array(floor).min(1, 'must list at least one floor').max(MAX_FLOORS);
  return z.strictObject({
    scene: z.string().regex(CODE, 'must be a lower-case scene name such as "cart-bottom-sheet"'),
    version: z.union([z.string().min(1), z.number()]).optional(),
    layoutFlag: flagName.optional(),
    styles: styleRules.default({}),
    floors,
    variants: z
      .record(
        z.string().regex(CODE, 'must be a lower-case variant name such as "compact"'),
        z.strictObject({ version: z.union([z.string().min(1), z.number()]), floors }),
      )
      .default({}),
  });
}

/**
 * The JSON Schema of a floors file, generated from the zod schema the loader validates with
 * (`npm run -s floors:schema` writes schema/floors.schema.json; the floors files point their
 * editor at it with a `# yaml-language-server: $schema=` line). It knows the shape, the kinds
 * and the locales; what needs the registry or CEL (builder names, expressions, template
 * variables) is checked by `floors:check`.
 */
export function floorsJsonSchema(locales: readonly string[]): Record<string, unknown> {
  const schema = z.toJSONSchema(floorsFileSchema(locales), { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return {
    ...schema,
    title: 'Floorplan floors file (floors/<scene>.yaml)',
    description: 'One scene\'s floors: generated from src/layouts/compile.ts by `npm run -s floors:schema`; do not edit.',
  };
}

/** Where the floors files' JSON Schema is committed, relative to the repository root. */
export const FLOORS_SCHEMA_FILE = 'schema/floors.schema.json';

/** The schema file's content for `locales`: what `floors:schema` writes and a test compares with the committed file. */
export function floorsSchemaText(locales: readonly string[]): string {
  return `${JSON.stringify(floorsJsonSchema(locales), null, 2)}\n`;
}

/** How a set is compiled: one an operator submits now, or one a replica loads. */
export interface CompileOptions {
  /**
   * A set submitted now (publish, candidate, check, `floors:check`) must also follow the rules
   * added since earlier releases published what replicas load: a live revision that passed
   * then must not stop loading after an upgrade. Such rules: a floor name showing a {variable};
   * a variant sharing the scene's (or another variant's) version; a floor code the safe form's
   * rows use ({@link RECONCILIATION_CODES}).
   */
  readonly submitted?: boolean;
}

/**
 * The codes of the rows the renderer adds when the rows shown leave part of settlement's quote
 * out (README, "The safe form"), by the kind they carry: no floor of a layout may take one.
 */
export const RECONCILIATION_CODES: Readonly<Record<'DEDUCTION' | 'CHARGE', string>> = Object.freeze({ DEDUCTION: 'other-discounts', CHARGE: 'other-charges' });
const RESERVED_CODES: readonly string[] = Object.values(RECONCILIATION_CODES);

/** A {variable} as a sub-name template would fill it in: in a name, it reaches the app as written. */
const TEMPLATE_VARIABLE = /\{\s*[A-Za-z_][A-Za-z0-9_]*\s*\}/g;

/**
 * Validates and compiles one floors file; problems are returned, not thrown. `apps` (config
 * `apps`) is what every style token is checked against; undefined: tokens are not checked
 * against app versions (tests of other rules) — the server and the floors tools always pass it.
 */
export function compileFloorsFile(
  file: string,
  source: string,
  registry: BuilderRegistry,
  locales: readonly string[],
  apps?: AppsConfig,
  options: CompileOptions = {},
): { layout: CompiledLayout; problems: [] } | { layout: undefined; problems: YamlProblem[] } {
  const yaml = new LocatedYaml(file, source);
  const syntax = yaml.syntaxProblems();
  if (syntax.length > 0) return { layout: undefined, problems: syntax };
  const result = yaml.validate(floorsFileSchema(locales));
  const problems: YamlProblem[] = result.ok ? [] : [...result.problems];

  // Names and templates are checked on the raw document, not only once the types are right,
  // so a wrong `sort` and an unknown builder elsewhere are reported in the same pass.
  const raw = asRecord(yaml.toJS());
  const expectedScene = basename(file).replace(/\.ya?ml$/, '');
  if (typeof raw?.scene === 'string' && raw.scene !== expectedScene) {
    problems.push(yaml.problem(['scene'], `must match the file name "${expectedScene}"`, raw.scene));
  }

  // Each version of the scene must be told apart by its layoutVersion (analytics key on it); a
  // rule added after releases that did not check it, so for submitted sets only (CompileOptions).
  if (options.submitted === true) {
    const seen = new Set(raw?.version === undefined ? [] : [String(raw.version)]);
    for (const [name, variant] of Object.entries(asRecord(raw?.variants) ?? {})) {
      const version = asRecord(variant)?.version;
      if (version === undefined) continue;
      if (seen.has(String(version))) {
        problems.push(yaml.problem(['variants', name, 'version'], "must differ from the scene's own version and every other variant's, so that layoutVersion tells who got which", String(version)));
      }
      seen.add(String(version));
    }
  }

  const lists: Array<{ path: PropertyKey[]; checked: CheckedFloors }> = [{ path: ['floors'], checked: checkFloors(raw?.floors, ['floors']) }];
  for (const [name, variant] of Object.entries(asRecord(raw?.variants) ?? {})) {
    const path = ['variants', name, 'floors'];
    lists.push({ path, checked: checkFloors(asRecord(variant)?.floors, path) });
  }

  function checkFloors(value: unknown, listPath: PropertyKey[]): CheckedFloors {
    const checked: CheckedFloors = { builders: [], fallbacks: [], subNames: [] };
    const firstLineOfCode = new Map<string, number | undefined>();
    /** Where the list's PAYABLE floor is: the money check adds the rows up to one total (panels/money-invariant.ts). */
    let payableLine: number | undefined;
    // A list past its bound is already refused by the schema: its floors are not checked one by one.
    const rawFloors = Array.isArray(value) && value.length <= MAX_FLOORS ? (value as unknown[]) : [];
    rawFloors.forEach((entry, index) => {
      const floor = asRecord(entry);
      if (floor === undefined) return;
      const at = (...path: PropertyKey[]) => [...listPath, index, ...path];
      if (typeof floor.code === 'string') {
        if (firstLineOfCode.has(floor.code)) {
          const first = firstLineOfCode.get(floor.code);
          problems.push(yaml.problem(at('code'), `must be unique in the scene; it is already used at line ${String(first)}`, floor.code));
        } else {
          firstLineOfCode.set(floor.code, yaml.lineOf(at('code')));
        }
        // A floor of its own under a safe-form code would put two rows the app keys alike on a
        // sheet that needs the safe form; a rule added after releases that did not check it.
        if (options.submitted === true && RESERVED_CODES.includes(floor.code)) {
          problems.push(yaml.problem(at('code'), `must not be a code of the rows Floorplan adds to make a sheet add up (${RESERVED_CODES.join(', ')})`, floor.code));
        }
      }

      const declared = EXPRESSION_KEYS.filter((key) => floor[key] !== undefined);
      const { builder, kind, variables } = builtWith(floor, declared, at, index);
      checked.builders[index] = builder;

      if (kind === 'PAYABLE') {
        const where = declared.length > 0 ? 'kind' : 'builder';
        if (payableLine === undefined) {
          payableLine = yaml.lineOf(at('code')) ?? 0;
        } else {
          problems.push(
            yaml.problem(
              at(where),
              `must not make a second PAYABLE floor: the scene's total is the one at line ${String(payableLine)}, and its rows must add up to one total (a variant may have its own)`,
              floor[where],
            ),
          );
        }
      }

      let fallback: FloorBuilder | undefined;
      if (typeof floor.fallback === 'string' && floor.fallback !== '') {
        fallback = registry.get(floor.fallback);
        checked.fallbacks[index] = fallback;
        if (fallback === undefined) {
          problems.push(yaml.problem(at('fallback'), `must name a known builder (${registry.names.join(', ')})`, floor.fallback));
        } else if (builder === undefined) {
          // Compared with the floor's builder only once there is one; what stops it is reported above.
        } else if (fallback.kind !== builder.kind) {
          problems.push(yaml.problem(at('fallback'), `must name a builder of the same kind as "${builder.name}" (${builder.kind})`, `${fallback.name} (${fallback.kind})`));
        } else if (fallback.needs.every((n) => builder.needs.includes(n)) && fallback.needs.length >= builder.needs.length) {
          problems.push(yaml.problem(at('fallback'), `must need fewer upstreams than "${builder.name}" (${builder.needs.join(', ')}), or it cannot help when one fails`, fallback.name));
        }
      }

      if (options.submitted === true) {
        for (const [locale, name] of Object.entries(asRecord(floor.name) ?? {})) {
          const variables = typeof name === 'string' ? name.match(TEMPLATE_VARIABLE) : null;
          if (variables === null) continue;
          problems.push(yaml.problem(at('name', locale), 'is shown to users as written: a {variable} is filled in only in `subName`, so move it there', variables.join(', ')));
        }
        // The texts shown in the sub-name's or the amount's stead are not templates either.
        for (const [field, when] of [['subNameFallback', 'when a sub-name variable is missing'], ['zeroText', 'instead of a zero amount']] as const) {
          for (const [locale, text] of Object.entries(asRecord(floor[field]) ?? {})) {
            const variables = typeof text === 'string' ? text.match(TEMPLATE_VARIABLE) : null;
            if (variables === null) continue;
            problems.push(yaml.problem(at(field, locale), `is shown to users as written (${when}): a {variable} is filled in only in \`subName\`, so leave it out`, variables.join(', ')));
          }
        }
      }

      const rawSubName = asRecord(floor.subName);
      const subName: Record<string, CompiledTemplate> = {};
      if (rawSubName !== undefined) checked.subNames[index] = subName;
      const variableSets = fallback === undefined ? [variables] : [variables, { vars: fallback.templateVars, whose: (known: string) => `the variables of fallback builder "${fallback.name}" (${known})` }];
      let templatesValid = true;
      for (const [locale, template] of Object.entries(rawSubName ?? {})) {
        if (typeof template !== 'string' || !locales.includes(locale)) continue;
        try {
          const compiled = compileTemplate(template);
          for (const { vars, whose } of variableSets.filter((set) => set !== undefined)) {
            const unknown = compiled.variables.filter((v) => !vars.includes(v));
            if (unknown.length === 0) continue;
            const known = vars.length > 0 ? vars.map((v) => `{${v}}`).join(', ') : 'none';
            problems.push(yaml.problem(at('subName', locale), `may only use ${whose(known)}`, unknown.map((v) => `{${v}}`).join(', ')));
          }
          subName[locale] = compiled;
        } catch (error) {
          templatesValid = false;
          problems.push(yaml.problem(at('subName', locale), describeThrown(error).replace(/^has/, 'must be a valid template; it has'), template));
        }
      }
      // A variable no sub-name shows would still be evaluated with every row, and could only fail it.
      if (declared.length > 0 && variables !== undefined && templatesValid) {
        const shown = new Set(Object.values(subName).flatMap((template) => template.variables));
        for (const [name, expression] of Object.entries(asRecord(floor.vars) ?? {})) {
          if (shown.has(name)) continue;
          problems.push(yaml.problem(at('vars', name), `must be shown by a sub-name of floor "${String(floor.code)}" ({${name}} is in none of its \`subName\` templates): remove it, or use it there`, expression));
        }
      }
    });
    return checked;
  }

  /**
   * What a floor is built with, as far as it can be known, its problems reported: its builder,
   * or the one its expressions compile to. When there is none (an unknown builder, an
   * expression that does not compile), the floor's kind and sub-name variables are still known
   * from what it declares, so its other fields are checked in the same pass.
   */
  function builtWith(floor: Record<string, unknown>, declared: readonly string[], at: (...path: PropertyKey[]) => PropertyKey[], index: number): BuiltWith {
    if (floor.builder !== undefined && declared.length > 0) {
      problems.push(yaml.problem(at('builder'), `must not be given with ${declared.map((k) => `\`${k}\``).join(', ')}: a floor either names a builder or declares expressions`, floor.builder));
      return {};
    }
    if (declared.length === 0) {
      if (floor.builder === undefined) {
        problems.push(yaml.problem(at(), 'must name a `builder`, or declare `kind` and an `amount` expression (an expression floor)'));
        return {};
      }
      if (typeof floor.builder !== 'string' || floor.builder === '') return {};
      const builder = registry.get(floor.builder);
      if (builder === undefined) {
        problems.push(yaml.problem(at('builder'), `must name a known builder (${registry.names.join(', ')})`, floor.builder));
        return {};
      }
      return { builder, kind: builder.kind, variables: { vars: builder.templateVars, whose: (known) => `the variables of builder "${builder.name}" (${known})` } };
    }
    if (typeof floor.kind !== 'string' || !KINDS.has(floor.kind)) {
      if (floor.kind === undefined) problems.push(yaml.problem(at(), `must declare its \`kind\` (${FLOOR_KINDS.join(', ')}) to be an expression floor`));
      return {};
    }
    const kind = floor.kind as FloorKind;
    const vars = asRecord(floor.vars);
    const strings = (value: unknown) => (typeof value === 'string' ? value : undefined);
    // Wrong types are the schema's to report; only well-typed expressions are compiled.
    if ((floor.amount !== undefined && typeof floor.amount !== 'string') || (floor.when !== undefined && typeof floor.when !== 'string')) return { kind };
    if (floor.vars !== undefined && (vars === undefined || !Object.values(vars).every((v) => typeof v === 'string'))) return { kind };
    const spec = { code: typeof floor.code === 'string' ? floor.code : `#${index}`, kind, amount: strings(floor.amount), when: strings(floor.when), vars: vars as Record<string, string> | undefined };
    const compiled = compileExpressionFloor(spec);
    for (const p of compiled.problems) problems.push(yaml.problem(at(...p.path), p.contract, p.received));
    return {
      builder: compiled.builder,
      kind,
      variables: { vars: expressionTemplateVars(spec), whose: (known) => `the variables the floor defines (${known}): add the others under \`vars\`` },
    };
  }

  const rawStyles = asRecord(raw?.styles) ?? {};
  for (const [token, rule] of Object.entries(rawStyles)) {
    const fallback = asRecord(rule)?.fallback;
    if (fallback === token) problems.push(yaml.problem(['styles', token, 'fallback'], 'must differ from the token it replaces', fallback));
  }
  const rules = styleRules.safeParse(raw?.styles ?? {});
  // A malformed `styles` is already reported by the schema; chains are only followed through a valid one.
  if (rules.success) {
    problems.push(...styleCycles(yaml, rules.data));
    if (apps !== undefined) problems.push(...unknownStyles(yaml, lists.map((l) => ({ path: l.path, floors: asArray(valueAt(raw, l.path)) })), rules.data, apps));
  }

  if (!result.ok || problems.length > 0) return { layout: undefined, problems: byLine(problems) };
  const config = result.value;
  const compileList = (floorsConfig: typeof config.floors, listPath: PropertyKey[], checked: CheckedFloors): CompiledFloor[] => {
    const floors: CompiledFloor[] = floorsConfig.map((floor, index) => {
      // Every floor passed the checks above, so its builder was found.
      const builder = checked.builders[index] as FloorBuilder;
      const fallback = checked.fallbacks[index];
      const usesDecorations = Object.values(checked.subNames[index] ?? {}).some((template) => template.variables.some((v) => builder.decorations?.vars.includes(v) === true));
      const reads = new Set([...builder.needs, ...(usesDecorations ? (builder.decorations?.needs ?? []) : []), ...(fallback?.needs ?? [])]);
      return {
        code: floor.code,
        builder,
        name: floor.name,
        subName: floor.subName === undefined ? undefined : checked.subNames[index],
        subNameFallback: floor.subNameFallback,
        usesDecorations,
        reads: Object.freeze([...reads]),
        zeroText: floor.zeroText,
        style: floor.style,
        sort: floor.sort,
        enabled: floor.enabled,
        hideWhenZero: floor.hideWhenZero,
        line: yaml.lineOf([...listPath, index]),
        flag: floor.flag,
        minAppVersion: floor.minAppVersion,
        fallback,
      };
    });
    return floors.map((f, i) => ({ f, i })).sort((a, b) => a.f.sort - b.f.sort || a.i - b.i).map(({ f }) => f);
  };
  const [main, ...variantLists] = lists as [(typeof lists)[number], ...typeof lists];
  const variants: Record<string, LayoutVersion> = {};
  Object.entries(config.variants).forEach(([name, variant], i) => {
    const list = variantLists[i] as (typeof lists)[number];
    variants[name] = { version: String(variant.version), floors: compileList(variant.floors, list.path, list.checked) };
  });
  const version = config.version !== undefined ? String(config.version) : `sha-${sha12(source)}`;
  const flagReferences: FlagReference[] = [];
  const reference = (flag: string | undefined, path: PropertyKey[]) => {
    if (flag !== undefined) flagReferences.push({ flag, path: formatPath(path), file, line: yaml.lineOf(path) });
  };
  reference(config.layoutFlag, ['layoutFlag']);
  config.floors.forEach((floor, i) => reference(floor.flag, ['floors', i, 'flag']));
  for (const [name, variant] of Object.entries(config.variants)) variant.floors.forEach((floor, i) => reference(floor.flag, ['variants', name, 'floors', i, 'flag']));
  // Builders are already frozen by the registry, so deepFreeze stops at them.
  return {
    layout: deepFreeze({
      scene: config.scene,
      version,
      file,
      floors: compileList(config.floors, main.path, main.checked),
      layoutFlag: config.layoutFlag,
      variants,
      styles: config.styles,
      flagReferences: byLineOf(flagReferences),
    }),
    problems: [],
  };
}

/** What builtWith knows of how a floor is built; a field is absent when the floor's problems leave it unknown. */
interface BuiltWith {
  readonly builder?: FloorBuilder | undefined;
  readonly kind?: FloorKind;
  /** The variables its sub-name may show, and how a problem with one names them. */
  readonly variables?: { readonly vars: readonly string[]; readonly whose: (known: string) => string };
}

interface CheckedFloors {
  readonly builders: Array<FloorBuilder | undefined>;
  readonly fallbacks: Array<FloorBuilder | undefined>;
  readonly subNames: Array<Record<string, CompiledTemplate> | undefined>;
}

type StyleRules = z.output<typeof styleRules>;
/** A platform no config names: it reads each per-platform version's `default`. */
const OTHER_PLATFORM = '';

/** A fallback chain that comes back to where it started, reported once per chain, at its first token in the file. */
function styleCycles(yaml: LocatedYaml, rules: StyleRules): YamlProblem[] {
  const problems: YamlProblem[] = [];
  const reported = new Set<string>();
  for (const token of Object.keys(rules)) {
    if (reported.has(token)) continue;
    const chain = [token];
    let next = rules[token]?.fallback ?? null;
    while (next !== null && next !== token && !chain.includes(next)) {
      chain.push(next);
      next = rules[next]?.fallback ?? null;
    }
    // A token falling back to itself already has its own message.
    if (next !== token || chain.length === 1) continue;
    chain.forEach((t) => reported.add(t));
    problems.push(yaml.problem(['styles', token, 'fallback'], `must lead to a token with no rule, or to null, not back to "${token}" (${[...chain, token].join(' → ')})`, rules[token]?.fallback));
  }
  return problems;
}

/**
 * Every floor's style tokens, against config `apps`: on each platform, every supported version
 * (from the oldest supported, or the floor's own minAppVersion if later) and apps that send no
 * version must know the token PanelRenderer would send them — the token itself or the end of
 * its fallback chain. Versionless apps are older than any minimum, as the renderer treats
 * them: they get the whole chain and know only `apps.baseStyles`.
 */
function unknownStyles(
  yaml: LocatedYaml,
  lists: ReadonlyArray<{ path: PropertyKey[]; floors: readonly unknown[] }>,
  rules: StyleRules,
  apps: AppsConfig,
): YamlProblem[] {
  const floorMinimums = lists.map(({ floors }) => floors.map((f) => minAppVersion.optional().safeParse(asRecord(f)?.minAppVersion)));
  const platforms = new Set<string>();
  const addPlatforms = (versions: MinAppVersion | undefined) => {
    if (typeof versions === 'object') for (const p of Object.keys(versions)) if (p !== 'default') platforms.add(p);
  };
  addPlatforms(apps.oldestSupported);
  Object.values(apps.newerStyles).forEach(addPlatforms);
  Object.values(rules).forEach((rule) => addPlatforms(rule.minAppVersion));
  floorMinimums.flat().forEach((m) => addPlatforms(m.data));
  platforms.add(OTHER_PLATFORM);

  // What a client gets and knows changes only at these versions, so checking them covers every version in between.
  const thresholds = (platform: string): string[] => [
    ...Object.values(rules).flatMap((rule) => minimumFor(rule.minAppVersion, platform) ?? []),
    ...Object.values(apps.newerStyles).map((v) => versionFor(v, platform)),
  ];
  const knows = (client: string | null, platform: string, token: string): boolean => {
    if (apps.baseStyles.includes(token)) return true;
    const since = apps.newerStyles[token];
    return client !== null && since !== undefined && compare(versionFor(since, platform), client) <= 0;
  };
  const known = [
    `${apps.baseStyles.join(', ')} for every app`,
    ...Object.entries(apps.newerStyles).map(([token, since]) => `${token} from ${describeVersions(since)}`),
  ].join('; ');

  const problems: YamlProblem[] = [];
  lists.forEach(({ path, floors }, list) => {
    if (floors.length > MAX_FLOORS) return;
    floors.forEach((entry, index) => {
      // A list past its bound is already refused by the schema: its tokens are not checked one by one.
      const tokens = z.array(z.string()).max(MAX_STYLE_TOKENS).safeParse(asRecord(entry)?.style ?? []);
      const floorMinimum = floorMinimums[list]?.[index];
      if (!tokens.success || floorMinimum?.success !== true) return;
      tokens.data.forEach((token, position) => {
        /** Clients that would get a token they do not know, by the token they would get. */
        const unknownTo = new Map<string, string[]>();
        for (const platform of platforms) {
          const floorSince = minimumFor(floorMinimum.data, platform);
          let oldest = versionFor(apps.oldestSupported, platform);
          if (floorSince !== undefined && compare(floorSince, oldest) > 0) oldest = floorSince;
          const versions = [...new Set([oldest, ...thresholds(platform).filter((v) => compare(v, oldest) > 0)])].sort(compare);
          // A floor with a minimum for the platform never reaches apps that send no version.
          const clients: Array<string | null> = floorSince === undefined ? [null, ...versions] : versions;
          for (const client of clients) {
            const sent = resolveStyle(token, rules, client === null ? null : new SemVer(client), platform);
            if (sent === null || knows(client, platform, sent)) continue;
            const who = client === null ? 'apps that send no x-app-version' : `${platform === OTHER_PLATFORM ? 'other platforms' : platform} ${client}`;
            const list = unknownTo.get(sent) ?? [];
            if (!list.includes(who)) list.push(who);
            unknownTo.set(sent, list);
            // The lowest failing version names the problem; later ones on the platform add nothing.
            if (client !== null) break;
          }
        }
        if (unknownTo.size === 0) return;
        const unknown = [...unknownTo].map(([sent, who]) => `${listed(who)} would get ${sent === token ? 'it' : `its fallback "${sent}"`} without knowing it`);
        problems.push(
          yaml.problem(
            [...path, index, 'style', position],
            `must be known to every supported app that gets it, or have a rule under \`styles\` whose fallback they know (config \`apps\`: ${known}); ${unknown.join('; ')}`,
            token,
          ),
        );
      });
    });
  });
  return problems;
}

/** A config version for a platform; config per-platform versions always have a `default`. */
function versionFor(versions: string | Readonly<Record<string, string>>, platform: string): string {
  return typeof versions === 'string' ? versions : (versions[platform] ?? versions.default ?? '0.0.0');
}

/** "a, b and c". */
function listed(items: readonly string[]): string {
  return items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1) as string}`;
}

function describeVersions(versions: string | Readonly<Record<string, string>>): string {
  if (typeof versions === 'string') return versions;
  return Object.entries(versions).map(([p, v]) => `${p === 'default' ? 'others' : p} ${v}`).join(', ');
}

function asArray(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? (value as unknown[]) : [];
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** Problems in file order, so an operator can fix them top to bottom; a stable sort keeps ties in check order. */
function byLine(problems: YamlProblem[]): YamlProblem[] {
  return [...problems].sort((a, b) => (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER));
}

function byLineOf(references: FlagReference[]): FlagReference[] {
  return [...references].sort((a, b) => (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER));
}

function sha12(source: string): string {
  return createHash('sha256').update(source).digest('hex').slice(0, 12);
}

/** All scenes' layouts, by scene name. */
export type LayoutSet = ReadonlyMap<string, CompiledLayout>;

/** One floors file as read: its name in the folder, how messages show it, its text. */
export interface FloorsSource {
  /** e.g. "cart-bottom-sheet.yaml" */
  readonly name: string;
  /** e.g. "floors/cart-bottom-sheet.yaml"; what problems point at. */
  readonly file: string;
  readonly source: string;
}

/** Where the server's floors folder comes from, as a message about it names it. */
export const FLOORS_DIR_SETTING = 'config floors.dir, FLOORS_DIR';

/** Which names in the floors folder are floors files. */
export const FLOORS_FILE = /\.ya?ml$/;

/**
 * Reads every `*.yaml` (and `*.yml`) in `dir`, sorted by name. Throws FLOORPLAN_ERR_LAYOUT_INVALID,
 * worded as loadFloorsDir does, when the folder cannot be read or holds no floors file; `setting`
 * names where the folder came from (a config path and its variable, or a command's option).
 */
export function readFloorsDir(dir: string, setting?: string): FloorsSource[] {
  // Named as every other bad setting is: "floors folder /x (config floors.dir, FLOORS_DIR) cannot be read".
  const folder = setting === undefined ? `floors folder ${dir}` : `floors folder ${dir} (${setting})`;
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => FLOORS_FILE.test(n)).sort();
  } catch (error) {
    throw new FloorplanError(ErrorCode.LAYOUT_INVALID, { problems: `${folder} cannot be read: ${describeThrown(error)}` }, { cause: error });
  }
  if (names.length === 0) {
    throw new FloorplanError(ErrorCode.LAYOUT_INVALID, { problems: `${folder} must hold at least one <scene>.yaml, but has none` });
  }
  return names.map((name) => {
    const path = join(dir, name);
    const rel = relative(process.cwd(), path);
    // As loadFloorsDir shows it: floors/x.yaml inside the working directory, absolute outside it.
    const file = rel === '' || rel.startsWith('..') || isAbsolute(rel) ? path : rel;
    try {
      return { name, file, source: readFileSync(path, 'utf8') };
    } catch (error) {
      throw new FloorplanError(ErrorCode.LAYOUT_INVALID, { problems: `floors file ${file} cannot be read: ${describeThrown(error)}` }, { cause: error });
    }
  });
}

/**
 * Which files of a set submitted now follow the rules for new text ({@link CompileOptions}): those
 * that differ from `live`'s files — what live already serves passed the rules of its day and is
 * not refused for rules added since. `{}` (nothing live yet): every file does.
 */
export function differsFromLive(live: Readonly<Record<string, string>>): (source: FloorsSource) => boolean {
  return (source) => live[source.name] !== source.source;
}

/**
 * Compiles a whole set of floors files, all or nothing: the layouts when every file is valid,
 * otherwise every problem of every file (the same messages loadFloorsDir gives at start).
 * `submitted`: which files follow the rules for a set submitted now ({@link CompileOptions}) —
 * all, none, or those the predicate names ({@link differsFromLive}: a publish's files that differ from live's).
 */
export function compileFloorsSources(
  sources: readonly FloorsSource[],
  registry: BuilderRegistry,
  locales: readonly string[],
  apps?: AppsConfig,
  options: { readonly submitted?: boolean | ((source: FloorsSource) => boolean) } = {},
): { layouts: LayoutSet; problems: readonly [] } | { layouts: undefined; problems: readonly string[] } {
  const layouts = new Map<string, CompiledLayout>();
  const problems: string[] = [];
  for (const each of sources) {
    const { file, source } = each;
    const submitted = typeof options.submitted === 'function' ? options.submitted(each) : options.submitted === true;
    const result = compileFloorsFile(file, source, registry, locales, apps, { submitted });
    if (result.layout === undefined) {
      problems.push(...result.problems.map((p) => p.message));
      continue;
    }
    // cart.yaml and cart.yml would both claim scene "cart"; never let one silently replace the other.
    const other = layouts.get(result.layout.scene);
    if (other !== undefined) {
      problems.push(`\`scene\` must be unique in the floors folder; ${other.file} already defines it, but got: "${result.layout.scene}" (${file})`);
      continue;
    }
    layouts.set(result.layout.scene, result.layout);
  }
  return problems.length > 0 ? { layouts: undefined, problems } : { layouts, problems: [] };
}

/**
 * FLOORPLAN_ERR_LAYOUT_INVALID for a list of problems, worded as at start, that keeps the list:
 * a problem may span lines (it quotes a multi-line expression, a YAML `|` block, whose next line
 * may even start with "- "), so the message cannot be split back into its problems.
 */
export class LayoutInvalidError extends FloorplanError<typeof ErrorCode.LAYOUT_INVALID> {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(ErrorCode.LAYOUT_INVALID, { problems: `Invalid floors config:\n- ${problems.join('\n- ')}` });
    this.problems = Object.freeze([...problems]);
  }
}

/** The FLOORPLAN_ERR_LAYOUT_INVALID error for a list of problems, worded as at start. */
export function layoutInvalid(problems: readonly string[]): LayoutInvalidError {
  return new LayoutInvalidError(problems);
}

/** Each problem of a FLOORPLAN_ERR_LAYOUT_INVALID, whole: the list it was made from, or its message (one problem: a folder that cannot be read). */
export function layoutProblems(error: Pick<FloorplanError, 'message'>): string[] {
  return error instanceof LayoutInvalidError ? [...error.problems] : [error.message];
}

/**
 * Reads and compiles every `*.yaml` in `dir`. Throws FLOORPLAN_ERR_LAYOUT_INVALID listing every
 * problem in every file, so an operator fixes them in one pass.
 */
export function loadFloorsDir(dir: string, registry: BuilderRegistry, locales: readonly string[], apps?: AppsConfig): LayoutSet {
  const result = compileFloorsSources(readFloorsDir(dir), registry, locales, apps);
  if (result.layouts === undefined) throw layoutInvalid(result.problems);
  return result.layouts;
}
