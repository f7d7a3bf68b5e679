/**
 * JSON.parse for upstream answers, refusing — never rounding — a number that is not an exact
 * integer. Every number in the three contracts is an integer (minor units, quantities), and
 * JSON.parse alone would round `1000.00000000000001` to 1000 and `9007199254740990.5` to an
 * integer before any schema could tell. So every number in an answer, whether or not its
 * contract reads that field, must be written as an integer literal (`-?[0-9]+`, no fraction,
 * no exponent: `100.0` and `1e3` are refused too, as the mark of a float serializer) of at
 * most 2^53 − 1 in size. (A value under a key the same object repeats is dropped by JSON.parse,
 * last key wins, and is not judged: it reaches nothing.)
 *
 * The rule is judged on the number's own source text, which JSON.parse gives a reviver as
 * `context.source` (ES2026 "JSON.parse source text access", Node ≥ 21). A reviver costs ~5×
 * a plain parse, so a plain parse is used whenever one regular expression over the text proves
 * no number could break the rule; only an answer it cannot clear goes through the reviver.
 */

/** The rule, as stated in every refusal. */
const RULE = 'must be an integer without fraction or exponent, at most 2^53 − 1 in size';

/** An integer literal; JSON's grammar already refuses leading zeros and a leading `+`. */
const INTEGER_LITERAL = /^-?\d+$/;

/**
 * Matches wherever a number might break the rule: one with a fraction or an exponent, or with
 * 16 or more digits (every integer of at most 15 digits is below 2^53). A number in JSON
 * follows `:`, `,` or `[` and optional whitespace — unless it is the whole document, which
 * {@link parseExactJson} checks apart. A match inside a string only costs the exact path.
 */
const MAYBE_INEXACT = /[:,[]\s*-?(?:\d+[.eE]|\d{16})/;

/** A number in an answer that breaks the rule. */
export class InexactNumberError extends Error {
  constructor(
    /** Where it is, as the contracts' errors say it: `lines.1.unitPrice.minor`, or `(root)`. */
    readonly path: string,
    /** The number exactly as the answer wrote it, e.g. `1000.00000000000001`. */
    readonly literal: string,
  ) {
    super(`${RULE}, but got: ${literal}`);
    this.name = 'InexactNumberError';
  }
}

/** What a reviver is told about a primitive besides its value (absent on runtimes without source text access). */
interface ReviverContext {
  readonly source?: string;
}

/** Stands in for the first offending number, so its path can be found once the parse is done. */
class Offender {
  constructor(readonly literal: string) {}
}

/**
 * Parses `text` as JSON whose every number is an exact integer.
 * @throws SyntaxError when `text` is not JSON; {@link InexactNumberError} naming the first number
 * that breaks the rule and its path.
 */
export function parseExactJson(text: string): unknown {
  if (MAYBE_INEXACT.test(text)) return parseChecked(text);
  const value: unknown = JSON.parse(text);
  return typeof value === 'number' ? parseChecked(text) : value;
}

function parseChecked(text: string): unknown {
  let offender: Offender | undefined;
  const value: unknown = JSON.parse(text, (_key: string, value: unknown, context?: ReviverContext) => {
    if (typeof value !== 'number' || offender !== undefined) return value;
    const source = context?.source ?? String(value);
    if (INTEGER_LITERAL.test(source) && Number.isSafeInteger(value)) return value;
    offender = new Offender(source);
    return offender;
  });
  if (offender !== undefined) throw new InexactNumberError(pathTo(value, offender) || '(root)', offender.literal);
  return value;
}

/** The dotted path from `node` to `target` (array indexes as numbers), or undefined if it is not there. */
function pathTo(node: unknown, target: Offender): string | undefined {
  if (node === target) return '';
  if (node === null || typeof node !== 'object') return undefined;
  for (const [key, child] of Object.entries(node)) {
    const rest = pathTo(child, target);
    if (rest !== undefined) return rest === '' ? key : `${key}.${rest}`;
  }
  return undefined;
}

// Without source text, `1000.00000000000001` would reach the reviver as 1000 and pass: refuse
// to start on such a runtime rather than let amounts be rounded.
if (JSON.parse('1.0', (_key: string, value: unknown, context?: ReviverContext) => context?.source ?? value) !== '1.0') {
  throw new Error('JSON.parse source text access (context.source in a reviver) is required to read upstream amounts exactly: run Node 22 or later');
}
