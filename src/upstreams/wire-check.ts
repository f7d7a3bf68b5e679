/**
 * The compiled check every upstream answer passes on its way in: Ajv's validator for the JSON
 * Schema zod derives from the answer's contract (`z.toJSONSchema`), in front of zod itself.
 *
 * Why not zod alone: `safeParse` builds a copy of the answer, a result object and an issues
 * array per field and a new object per object, ~20 KiB per panel (`bench/allocations.ts`), and
 * costs more CPU than the `JSON.parse` before it. Ajv's compiled function walks the answer in
 * place and allocates nothing when it passes, so an answer it accepts is used as it is; keys
 * a contract's object does not name are removed from it in place, as zod's parse leaves them
 * out (a `z.strictObject` refuses them and a `.catchall()` checks them, as zod does).
 * An answer it refuses goes through zod's own `safeParse` (json-http.ts), so the error
 * a broken answer gets is zod's, word for word, and zod stays the one place a contract is written.
 *
 * So the check may be stricter than zod (zod then decides), never more lenient. It carries only
 * the zod features listed in {@link CARRIED}, each judged as zod judges it
 * (test/upstreams/wire-check.test.ts compares the two on generated answers, feature by feature).
 * What JSON Schema cannot say, zod's `.refine`, is declared next to the refinement
 * ({@link refinedAs}). Compiling a contract with anything else — an undeclared refinement, a
 * transform or default, a `.trim()`, a string format, a `.regex()`
 * with flags, a `.multipleOf()`, a record, a tuple, a union of objects… — throws, naming the
 * field and the feature, and Floorplan does not start.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import { z } from 'zod';

/** A node of the JSON Schema zod writes for a contract. */
export type JsonSchemaNode = Record<string, unknown>;

/** The JSON Schema keywords each declared refinement adds to its node. */
const REFINEMENTS = new WeakMap<z.ZodType, (node: JsonSchemaNode) => void>();

/**
 * Declares what `schema`'s refinements check as JSON Schema: `asJsonSchema` adds the keywords to
 * the node zod writes for it (e.g. `node.type = 'integer'`), and to that node only: a change to a
 * schema within it (`node.properties.minor`) is refused. Returns `schema` itself.
 */
export function refinedAs<S extends z.ZodType>(schema: S, asJsonSchema: (node: JsonSchemaNode) => void): S {
  REFINEMENTS.set(schema, asJsonSchema);
  return schema;
}

/**
 * The zod types (`_zod.def.type`) the compiled check carries exactly, each with the checks
 * (`_zod.def.check`: `.min()` is `min_length`, `.int()` a `number_format`…) it carries on them;
 * a refinement declared with {@link refinedAs} is carried on any of them. `string_format` is a
 * `.regex()` without flags only. Anything not listed is refused at compile time.
 */
export const CARRIED: ReadonlyMap<string, readonly string[]> = new Map([
  // Both count a string's length in code points, a surrogate pair once and a lone surrogate as one
  // (Ajv's ucs2length, zod's codePointLength since zod 4.6; the generated comparison holds them to it).
  ['string', ['min_length', 'max_length', 'length_equals', 'string_format']],
  ['number', ['greater_than', 'less_than', 'number_format']],
  ['boolean', []],
  ['null', []],
  ['literal', []],
  ['enum', []],
  ['object', []],
  ['array', ['min_length', 'max_length', 'length_equals']],
  ['optional', []],
  ['nullable', []],
  ['union', []],
  ['any', []],
  ['unknown', []],
  ['never', []],
]);

/**
 * One Ajv for every contract. `removeAdditional: true` removes, in place, the keys of an object
 * whose `additionalProperties` is `false`, which {@link jsonSchemaOf} writes for zod's stripping
 * objects only. `unicodeRegExp: false` compiles a pattern as zod's `.regex()` runs it (no `u` flag:
 * `.` is one UTF-16 unit in both). `allowUnionTypes` takes the `type: ["string", "null"]` zod
 * writes for a nullable string.
 */
const ajv = new Ajv({
  removeAdditional: true,
  unicodeRegExp: false,
  allowUnionTypes: true,
  allErrors: false,
  strict: true,
  coerceTypes: false,
  useDefaults: false,
});

const compiled = new WeakMap<z.ZodType, ValidateFunction>();

/** zod types whose parse gives something other than its input (a transform, a default filled in, a frozen copy), as a contract writes them. */
const CHANGES_OUTPUT: ReadonlyMap<string, string> = new Map([
  ['pipe', 'a .transform() or .pipe()'],
  ['transform', 'a .transform()'],
  ['default', 'a .default()'],
  ['prefault', 'a .prefault()'],
  ['catch', 'a .catch()'],
  ['success', 'a z.success()'],
  ['readonly', 'a .readonly()'],
]);

/** How a contract writes the zod types the check does not carry, for the refusal. */
const UNCARRIED_TYPES: ReadonlyMap<string, string> = new Map([
  ['record', 'a z.record()'],
  ['tuple', 'a z.tuple()'],
  ['intersection', 'an intersection (.and())'],
  ['lazy', 'a z.lazy()'],
  ['template_literal', 'a z.templateLiteral()'],
  ['nonoptional', 'a .nonoptional()'],
]);

/** A JSON Schema path zod reports (`properties`, `a`, `items`, …) as the field it is: `a.lines[].sku`, or `(root)`. */
function fieldAt(path: readonly (string | number)[]): string {
  let field = '';
  for (let i = 0; i < path.length; i++) {
    if (path[i] === 'properties' && i + 1 < path.length) field += `${field === '' ? '' : '.'}${String(path[++i])}`;
    else if (path[i] === 'items' || path[i] === 'additionalProperties') field += '[]';
  }
  return field === '' ? '(root)' : field;
}

/**
 * Compiles the answer check of every contract now, so one the check cannot stand for stops
 * Floorplan at start naming its upstream and field, not on a call.
 * @throws Error `upstream "<name>", its response contract: …`
 */
export function compileAnswerChecks(definitions: ReadonlyArray<{ readonly name: string; readonly response: z.ZodType }>): void {
  for (const { name, response } of definitions) {
    try {
      answerCheck(response);
    } catch (error) {
      throw new Error(`upstream "${name}", its response contract: ${(error as Error).message}`, { cause: error });
    }
  }
}

/**
 * The compiled check of `contract` (compiled once, then remembered).
 * @throws Error naming what zod's contract says that the check could not carry exactly, and where.
 */
export function answerCheck(contract: z.ZodType): ValidateFunction {
  let check = compiled.get(contract);
  if (check === undefined) {
    check = ajv.compile(jsonSchemaOf(contract));
    compiled.set(contract, check);
  }
  return check;
}

/** A zod feature the compiled check would judge differently from zod: what it is, and why. */
interface Uncarried {
  /** As a contract writes it, e.g. "a maximum string length". */
  readonly feature: string;
  readonly why: string;
}

/** What in `schema` itself (not its children) the compiled check would not judge as zod does; undefined when it carries all of it. */
function uncarried(schema: z.ZodType): Uncarried | undefined {
  const def = schema._zod.def as z.core.$ZodTypeDef & { coerce?: boolean; format?: string };
  const changes = CHANGES_OUTPUT.get(def.type);
  if (changes !== undefined) return { feature: `a ${def.type} (${changes})`, why: 'whose output is not the answer as it is: the compiled check cannot stand for it' };
  const carried = CARRIED.get(def.type);
  if (carried === undefined) {
    return { feature: UNCARRIED_TYPES.get(def.type) ?? `a ${def.type}`, why: `which the compiled check does not carry (it carries ${[...CARRIED.keys()].join(', ')})` };
  }
  // zod leaves a named `__proto__` out of what it parses.
  if (def.type === 'object' && Object.hasOwn((def as z.core.$ZodObjectDef).shape, '__proto__')) {
    return { feature: 'a key named "__proto__"', why: 'which zod leaves out of the answer it parses and the compiled check keeps' };
  }
  if (def.coerce === true) return { feature: `a z.coerce.${def.type}()`, why: "which the compiled check does not carry: it takes the answer's values as they are" };
  // z.email(), z.uuid()…: the schema is its own format check.
  if (def.type === 'string' && def.format !== undefined) return stringFormat(def.format);
  for (const check of def.checks ?? []) {
    const checkDef = check._zod.def as z.core.$ZodCheckDef & { format?: string; pattern?: RegExp };
    switch (checkDef.check) {
      case 'custom':
        // A refinement: declared or refused by jsonSchemaOf.
        continue;
      case 'overwrite':
        return {
          feature: 'a .trim(), .toLowerCase(), .toUpperCase(), .normalize() or other .overwrite()',
          why: 'which rewrites the value zod then checks and hands on: the compiled check judges the answer as it is',
        };
      case 'string_format':
        if (checkDef.format !== 'regex') return stringFormat(checkDef.format ?? 'unknown');
        // Without flags, the pattern Ajv compiles (unicodeRegExp: false) matches exactly what zod's RegExp does.
        if (checkDef.pattern !== undefined && checkDef.pattern.flags !== '') {
          return { feature: `a .regex() with flags (${String(checkDef.pattern)})`, why: 'which the compiled check would match without them: write the pattern without flags' };
        }
        break;
      case 'multiple_of':
        return { feature: 'a .multipleOf()', why: 'which the compiled check and zod compute differently for fractions and large numbers' };
      default:
        break;
    }
    if (!carried.includes(checkDef.check)) return { feature: `a ${checkDef.check} check on a ${def.type}`, why: 'which the compiled check does not carry' };
  }
  return undefined;
}

function stringFormat(format: string): Uncarried {
  return { feature: `a string format (${format})`, why: 'which zod checks in code the compiled check does not carry: write it as a .regex() without flags' };
}

/**
 * Applies a {@link refinedAs} declaration to `node`, refusing one that changes a schema within it
 * (`node.properties.minor`): that schema is shared by every field of the same zod type, and its
 * own declaration may run after this one and undo it, so the check could accept what zod refuses.
 */
function declareOwnNode(declared: (node: JsonSchemaNode) => void, node: JsonSchemaNode, at: string): void {
  const within = Object.entries(node).filter((entry): entry is [string, object] => entry[1] !== null && typeof entry[1] === 'object');
  const before = within.map(([, value]) => JSON.stringify(value));
  declared(node);
  const changed = within.find(([key, value], i) => node[key] !== value || JSON.stringify(value) !== before[i]);
  if (changed !== undefined) {
    throw new Error(
      `an upstream contract has a refinement whose refinedAs() declaration changes the schemas within its node (${changed[0]}) at ${at}, which other fields may share and their own declarations undo: declare the refinement on the field it checks`,
    );
  }
}

/** Whether `node` or a node within it removes keys it does not name (zod's stripping object), or may ($ref). */
function strips(node: unknown): boolean {
  if (node === null || typeof node !== 'object') return false;
  if (Array.isArray(node)) return node.some(strips);
  const schema = node as JsonSchemaNode;
  if (schema.additionalProperties === false || schema.$ref !== undefined) return true;
  return Object.values(schema).some(strips);
}

const SCALAR_TYPES = new Set(['string', 'number', 'integer', 'boolean', 'null']);

/** Whether `node` can only accept a string, number, boolean or null: never an object or an array. */
function takesOnlyScalars(node: JsonSchemaNode): boolean {
  const isScalar = (value: unknown) => value === null || typeof value !== 'object';
  if (typeof node.type === 'string') return SCALAR_TYPES.has(node.type);
  if (Array.isArray(node.type)) return node.type.every((type) => SCALAR_TYPES.has(type as string));
  if ('const' in node) return isScalar(node.const);
  if (Array.isArray(node.enum)) return node.enum.every(isScalar);
  const branches = (node.anyOf ?? node.oneOf) as JsonSchemaNode[] | undefined;
  if (branches !== undefined) return branches.every(takesOnlyScalars);
  return false;
}

/**
 * Refuses a union (or allOf) one of whose branches strips keys while another could take the same
 * object or array: Ajv removes the keys while it tries a branch, even one that then fails, and
 * the next branch — or zod, once the check refuses — would see the answer without them.
 */
function refuseUnsafeStripping(node: unknown, path: ReadonlyArray<string | number>): void {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    node.forEach((item, i) => refuseUnsafeStripping(item, [...path, i]));
    return;
  }
  const schema = node as JsonSchemaNode;
  for (const keyword of ['anyOf', 'oneOf', 'allOf'] as const) {
    const branches = schema[keyword] as JsonSchemaNode[] | undefined;
    if (branches === undefined) continue;
    const stripping = branches.filter(strips);
    if (stripping.length > 1 || (stripping.length === 1 && branches.some((branch) => branch !== stripping[0] && !takesOnlyScalars(branch)))) {
      throw new Error(
        `an upstream contract has a union of objects at ${fieldAt(path)} (branches that could both take an object or an array, one stripping keys), which the compiled check cannot strip safely: ${JSON.stringify(schema)}`,
      );
    }
  }
  for (const [key, value] of Object.entries(schema)) refuseUnsafeStripping(value, [...path, key]);
}

/** The JSON Schema the check compiles for `contract`, declared refinements included. */
export function jsonSchemaOf(contract: z.ZodType): JsonSchemaNode {
  const schema = z.toJSONSchema(contract, {
    target: 'draft-07',
    // Input: the answer as it may be written (a key with .optional() may be missing); what an
    // object does with keys it does not name is written below, as zod does it.
    io: 'input',
    unrepresentable: 'throw',
    override: (ctx) => {
      const zodSchema = ctx.zodSchema as unknown as z.ZodType;
      const node = ctx.jsonSchema as JsonSchemaNode;
      const at = fieldAt(ctx.path);
      const refused = uncarried(zodSchema);
      if (refused !== undefined) throw new Error(`an upstream contract has ${refused.feature} at ${at}, ${refused.why}`);
      const def = zodSchema._zod.def as z.core.$ZodTypeDef & { catchall?: z.ZodType };
      if ((def.checks ?? []).some((check) => check._zod.def.check === 'custom')) {
        const declared = REFINEMENTS.get(zodSchema);
        if (declared === undefined) {
          throw new Error(
            `an upstream contract has a refinement without a JSON Schema equivalent at ${at} (${JSON.stringify(node)}): declare it with refinedAs() in src/upstreams/wire-check.ts's terms, or the compiled check would accept what zod refuses`,
          );
        }
        declareOwnNode(declared, node, at);
      }
      if (def.type === 'object') {
        // zod strips keys its object does not name, refuses them (z.strictObject) or checks them
        // against its catchall (.catchall(), z.looseObject), whose node zod has written. A
        // catchall skips an own `__proto__` key and leaves it out: refused here, zod then decides.
        if (def.catchall === undefined) node.additionalProperties = false;
        else if (def.catchall._zod.def.type === 'never') node.additionalProperties = { not: {} };
        else node.propertyNames = { not: { const: '__proto__' } };
      }
    },
  }) as JsonSchemaNode;
  refuseUnsafeStripping(schema, []);
  return schema;
}
