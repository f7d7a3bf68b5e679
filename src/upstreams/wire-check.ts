/**
 * The compiled check every upstream answer passes on its way in: Ajv's validator for the JSON
 * Schema zod derives from the answer's contract (`z.toJSONSchema`), in front of zod itself.
 *
 * Why not zod alone: `safeParse` builds a copy of the answer, a result object and an issues
 * array per field and a new object per object, ~20 KiB per panel (`bench/allocations.ts`), and
 * costs more CPU than the `JSON.parse` before it. Ajv's compiled function walks the answer in
 * place and allocates nothing when it passes, so an answer it accepts is used as it is; keys
 * the contract does not name are removed from it in place, as zod's parse leaves them out.
 * An answer it refuses goes through zod's own `safeParse` (json-http.ts), so the error
 * a broken answer gets is zod's, word for word, and zod stays the one place a contract is written.
 *
 * What JSON Schema cannot say, zod's `.refine`, is declared next to the refinement
 * ({@link refinedAs}). Compiling a contract with a refinement that was not declared, or with
 * anything whose check would differ from zod's parse (a transform, a default, a union of
 * objects, a maximum string length), throws:
 * the check can be stricter than zod (zod then decides), never more lenient.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import { z } from 'zod';

/** A node of the JSON Schema zod writes for a contract. */
export type JsonSchemaNode = Record<string, unknown>;

/** The JSON Schema keywords each declared refinement adds to its node. */
const REFINEMENTS = new WeakMap<z.ZodType, (node: JsonSchemaNode) => void>();

/**
 * Declares what `schema`'s refinements check as JSON Schema: `asJsonSchema` adds the keywords to
 * the node zod writes for it (e.g. `node.type = 'integer'`). Returns `schema` itself.
 */
export function refinedAs<S extends z.ZodType>(schema: S, asJsonSchema: (node: JsonSchemaNode) => void): S {
  REFINEMENTS.set(schema, asJsonSchema);
  return schema;
}

/** One Ajv for every contract; `removeAdditional: 'all'` drops keys a contract does not name, in place (zod's strip). */
const ajv = new Ajv({ removeAdditional: 'all', allErrors: false, strict: true, coerceTypes: false, useDefaults: false });

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
 * @throws Error naming what zod's contract says that the check could not: an undeclared
 * refinement, or a type without a JSON Schema equivalent.
 */
export function answerCheck(contract: z.ZodType): ValidateFunction {
  let check = compiled.get(contract);
  if (check === undefined) {
    check = ajv.compile(jsonSchemaOf(contract));
    compiled.set(contract, check);
  }
  return check;
}

/** The JSON Schema the check compiles for `contract`, declared refinements included. */
export function jsonSchemaOf(contract: z.ZodType): JsonSchemaNode {
  return z.toJSONSchema(contract, {
    target: 'draft-07',
    // Input: an object may carry keys the contract does not name (they are removed, not refused).
    io: 'input',
    unrepresentable: 'throw',
    override: (ctx) => {
      const schema = ctx.zodSchema as unknown as z.ZodType;
      const node = ctx.jsonSchema as JsonSchemaNode;
      const at = fieldAt(ctx.path);
      // The check hands the answer on as it is: a schema whose output is not its input cannot be checked so.
      const changes = CHANGES_OUTPUT.get(schema._zod.def.type);
      if (changes !== undefined) {
        throw new Error(`an upstream contract has a ${schema._zod.def.type} (${changes}) at ${at}, whose output is not the answer as it is: the compiled check cannot stand for it`);
      }
      const checks = schema._zod.def.checks ?? [];
      if (checks.some((check) => check._zod.def.check === 'custom')) {
        const declared = REFINEMENTS.get(schema);
        if (declared === undefined) {
          throw new Error(
            `an upstream contract has a refinement without a JSON Schema equivalent at ${at} (${JSON.stringify(node)}): declare it with refinedAs() in src/upstreams/wire-check.ts's terms, or the compiled check would accept what zod refuses`,
          );
        }
        declared(node);
      }
      // Ajv counts a string's length in code points, zod in UTF-16 units: a maximum would let
      // through a string of astral characters zod refuses (a minimum can only be stricter).
      if (node.maxLength !== undefined) throw new Error(`an upstream contract has a maximum string length at ${at}, which the compiled check counts differently from zod: ${JSON.stringify(node)}`);
      for (const keyword of ['anyOf', 'oneOf'] as const) {
        const branches = node[keyword] as JsonSchemaNode[] | undefined;
        // Ajv removes unknown keys while it tries a branch, even one that then fails.
        if (branches !== undefined && branches.filter((branch) => branch.type === 'object').length > 1) {
          throw new Error(`an upstream contract has a union of objects at ${at}, which the compiled check cannot strip safely: ${JSON.stringify(node)}`);
        }
      }
    },
  }) as JsonSchemaNode;
}
