/**
 * Expression floors: a floor whose amount, template variables and (optionally) condition are
 * CEL expressions over the panel's domain data, instead of a builder in TypeScript. Compiled
 * once, when the layout is loaded, hot-reloaded, checked or published: each expression is
 * parsed, type-checked against domain.ts, checked against an allowlist of functions and a
 * cost limit, and its result type checked (an amount must be Money). What it reads decides
 * which upstreams it needs; then it is compiled to closures (fast-path.ts) when it can be.
 * The result is an ordinary {@link FloorBuilder}: the renderer builds, degrades and reconciles
 * it like any other.
 */
import { EvaluationError, type ParseResult } from '@marcbachmann/cel-js';
import { ErrorCode, FloorplanError } from '../../errors.ts';
import { AMOUNT_SIGN, amountSignRule, type FloorBuildContext, type FloorBuilder, type FloorDecorations, type FloorKind, type TemplateValue, type UpstreamName } from '../builder.ts';
import type { Money } from '../../money/money.ts';
import { UPSTREAMS } from '../../upstreams/registry.ts';
import { DATA_STRING_LENGTH, knownFields, knownVariables, LIST_BOUNDS, VARIABLES, type VariableName } from './domain.ts';
import { ALLOWED_FUNCTIONS, celEnvironment } from './environment.ts';
import { compileFastPath, type Roots } from './fast-path.ts';
import { CharacterIndexError, characters, indexOf, lastIndexOf, substring } from './strings.ts';
import { CelMoney, convertCart, convertLines, convertLoyalty, convertPromotion, convertQuote, convertViewer, type Converted } from './values.ts';

/** The most an expression's source may hold, before it is even parsed. */
export const MAX_EXPRESSION_LENGTH = 2000;
/**
 * The most an expression may cost: abstract steps (a field read, a comparison, one item of a
 * macro, one character copied), estimated at load for the longest lists LIST_BOUNDS allows.
 * 200,000 steps is a few milliseconds of CPU at worst; a usual floor costs under a thousand.
 */
export const COST_LIMIT = 200_000;

/** A floor as written in floors/<scene>.yaml, when it declares expressions instead of a builder. */
export interface ExpressionFloorSpec {
  readonly code: string;
  readonly kind: FloorKind;
  readonly amount?: string | undefined;
  readonly when?: string | undefined;
  readonly vars?: Readonly<Record<string, string>> | undefined;
}

/** A problem with one expression: where in the floor (`amount`, `vars.x`), what is wrong, the expression. */
export interface ExpressionProblem {
  readonly path: readonly PropertyKey[];
  readonly contract: string;
  readonly received: string;
}

type Role = 'amount' | 'when' | 'var';
const RESULT_TYPES: Record<Role, readonly string[]> = { amount: ['Money'], when: ['bool'], var: ['Money', 'int', 'string'] };
const ROLE_CONTRACT: Record<Role, string> = {
  amount: 'must be money: an expression of type Money, such as -sum(quote.discounts.filter(d, d.kind == "coupon").map(d, d.amount)) or money(500)',
  when: 'must be a condition: an expression of type bool',
  var: 'must be a template value: an expression of type Money, int or string',
};

/** The domain values an expression reads, by variable (a Cart, the selected CartLines, a SettlementQuote…). */
export type DomainRoots = Partial<Record<VariableName, unknown>>;

const CONVERT: Record<VariableName, (value: never) => Converted> = {
  cart: convertCart,
  lines: convertLines,
  promotion: convertPromotion,
  quote: convertQuote,
  loyalty: convertLoyalty,
  viewer: convertViewer,
};

/** A cel-js result as a domain value: Money with a number of minor units, an int as a number. */
function fromCel(value: unknown, expression: CompiledExpression): unknown {
  if (value instanceof CelMoney) {
    if (value.minor > MAX_SAFE || value.minor < -MAX_SAFE) throw expression.failed(`money beyond ±${Number.MAX_SAFE_INTEGER} minor units: ${value.minor}`);
    return { minor: Number(value.minor), currency: value.currency };
  }
  if (typeof value === 'bigint') {
    if (value > MAX_SAFE || value < -MAX_SAFE) throw expression.failed(`int beyond ±${Number.MAX_SAFE_INTEGER}: ${value}`);
    return Number(value);
  }
  return value;
}

/** One checked, compiled expression. */
export class CompiledExpression {
  constructor(
    readonly source: string,
    /** `amount`, `when`, `vars.amount`: what operators and logs call it. */
    readonly where: string,
    readonly type: string,
    private readonly run: ParseResult,
    /** The variables it reads, in VARIABLES order. */
    readonly reads: readonly VariableName[],
    /** The lists it reads (`Quote.discounts`, `lines`): those longer than their bound stop it. */
    readonly lists: ReadonlySet<string>,
    readonly cost: number,
    /** The closures of fast-path.ts, when they cover the expression; otherwise cel-js evaluates it. */
    readonly fast: ((roots: Roots) => unknown) | undefined,
  ) {}

  /**
   * Evaluates over the domain values it reads: Money as {minor, currency} ("" for the panel's
   * currency), ints as numbers. Every failure is a FLOORPLAN_ERR_EXPRESSION_FAILED.
   */
  evaluate(roots: DomainRoots): unknown {
    if (this.fast !== undefined) {
      try {
        return this.fast(roots);
      } catch (error) {
        throw this.failed(error instanceof Error ? error.message : String(error));
      }
    }
    return this.evaluateWithCel(roots);
  }

  /** The cel-js path (also what the golden tests hold the fast path to). */
  evaluateWithCel(roots: DomainRoots): unknown {
    const context: Record<string, unknown> = {};
    for (const name of this.reads) {
      const root = CONVERT[name](roots[name] as never);
      if (root.oversized !== undefined) {
        for (const list of root.oversized) {
          if (this.lists.has(list)) throw this.failed(`cost limit: ${list} holds more than the ${String(LIST_BOUNDS[list])} entries its cost estimate assumed`);
        }
      }
      context[name] = root.value;
    }
    let value: unknown;
    try {
      value = this.run(context);
    } catch (error) {
      throw this.failed(error instanceof Error ? ((error as { summary?: string }).summary ?? error.message) : String(error));
    }
    return fromCel(value, this);
  }

  failed(cause: string): FloorplanError {
    return new FloorplanError(ErrorCode.EXPRESSION_FAILED, { expression: this.source, where: this.where, cause });
  }
}

/** cel-js's node, as far as these checks read it. */
interface Node {
  readonly op: string;
  readonly args: unknown;
  readonly pos: number;
  /** The node's source range (a call's from its receiver to its closing parenthesis), in UTF-16 units. */
  readonly start?: number;
  readonly end?: number;
  readonly checkedType?: { readonly name: string };
}

/**
 * What the estimate knows of a value, as an upper bound: its length (string characters, list
 * or map entries; 1 otherwise) and its entries' (a map's keys and values alike). A value
 * passed on through a literal, `+`, `?:` or an index keeps its width, or the steps that copy
 * it later would be estimated for a short string while a long one runs.
 */
interface Shape {
  readonly length: number;
  readonly entry?: Shape;
}
const SCALAR: Shape = { length: 1 };

/** The narrowest shape at least as wide as both: what a value that is either may hold. */
function widest(a: Shape, b: Shape): Shape {
  const length = Math.max(a.length, b.length);
  if (a.entry === undefined || b.entry === undefined) {
    const entry = a.entry ?? b.entry;
    return entry === undefined ? { length } : { length, entry };
  }
  return { length, entry: widest(a.entry, b.entry) };
}

/** What comparing a value reads at most: its characters, or every entry's, all the way down. */
function extent(shape: Shape): number {
  return shape.entry === undefined ? shape.length : shape.length * extent(shape.entry);
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MACROS = new Set(['map', 'filter', 'all', 'exists', 'exists_one']);
// indexOf, lastIndexOf and substring count characters (strings.ts): a few passes over the
// string and no array of code points, so still linear in it, and substring copies at most it.
const LINEAR_STRING_METHODS = new Set(['contains', 'startsWith', 'endsWith', 'indexOf', 'lastIndexOf']);
const COPYING_STRING_METHODS = new Set(['lowerAscii', 'upperAscii', 'trim', 'substring']);

/**
 * cel-js's evaluation of a checked method call: `ast.handle(receiverAndArgs, evaluator, ast)`
 * (lib/operators.js, `rcall`), the receiver and arguments already evaluated.
 */
type Handle = (args: unknown, evaluator: unknown, ast: unknown) => unknown;
const int = (value: unknown): number | undefined => (value === undefined ? undefined : Number(value as bigint));
/**
 * CEL's string methods that cel-js 8 counts in UTF-16 units, in characters instead
 * (strings.ts); `args` is the receiver and the arguments, as cel-js evaluated them. cel-js
 * gives back an int argument as it came (a BigInt): so does `indexOf("", k)`.
 */
const IN_CHARACTERS: ReadonlyMap<string, { readonly fits: readonly string[]; readonly run: (args: readonly unknown[]) => unknown }> = new Map([
  ['substring', { fits: ['string', 'bigint', 'bigint'], run: ([s, start, end]) => substring(s as string, Number(start as bigint), int(end)) }],
  ['indexOf', { fits: ['string', 'string', 'bigint'], run: ([s, search, from]) => (search === '' && from !== undefined ? from : BigInt(indexOf(s as string, search as string, int(from)))) }],
  ['lastIndexOf', { fits: ['string', 'string', 'bigint'], run: ([s, search, from]) => (search === '' && from !== undefined ? from : BigInt(lastIndexOf(s as string, search as string, int(from)))) }],
] as const);

/**
 * Puts strings.ts's `substring`, `indexOf` or `lastIndexOf` in place of cel-js's on a checked
 * call: cel-js 8 cannot re-register or drop its own overloads, but it evaluates a checked
 * call through the handle its check left on the node. Values of other types (a `dyn`) go to
 * cel-js's handle, which reports no matching overload. The self-check at the end of this
 * module refuses to start when a cel-js upgrade no longer goes through the handle.
 */
function countInCharacters(node: Node, name: string): void {
  const method = IN_CHARACTERS.get(name);
  if (method === undefined) return;
  const target = node as unknown as { handle?: Handle };
  const celJs = target.handle;
  if (typeof celJs !== 'function') throw new Error(`cel-js left no evaluation handle on a checked \`${name}()\` call: it cannot count its indices in characters`);
  target.handle = (args, evaluator, ast) => {
    const values = args as unknown[];
    if (!Array.isArray(values) || values.length > method.fits.length || values.some((v, i) => typeof v !== method.fits[i])) return celJs(args, evaluator, ast);
    try {
      return method.run(values);
    } catch (error) {
      if (error instanceof CharacterIndexError) throw new EvaluationError({ code: 'index_out_of_range', message: error.message, node: ast as never });
      throw error;
    }
  };
}

/** What a walk refuses, and where: the offending node's whole source range, as a type error marks it. */
class Refused extends Error {
  readonly start: number;
  readonly end: number | undefined;
  constructor(message: string, at: Node | 0) {
    super(message);
    this.start = at === 0 ? 0 : (at.start ?? at.pos);
    this.end = at === 0 ? undefined : at.end;
  }
}

/** Walks a type-checked expression: the variables and lists it reads, the functions it calls, what it costs at most. */
class Analysis {
  readonly reads = new Set<VariableName>();
  readonly lists = new Set<string>();

  estimate(node: Node, scope: ReadonlyMap<string, Shape>): { cost: number; shape: Shape } {
    const type = node.checkedType?.name ?? 'dyn';
    switch (node.op) {
      case 'value': {
        const value = node.args;
        if (value instanceof Uint8Array) throw new Refused('bytes are not available in floor expressions', node);
        if (typeof value === 'bigint' && (value > MAX_SAFE || value < -MAX_SAFE)) {
          throw new Refused(`integer literals must be within ±${Number.MAX_SAFE_INTEGER} (minor units stay exact), but ${value} is not`, node);
        }
        return { cost: 1, shape: typeof value === 'string' ? { length: value.length } : SCALAR };
      }
      case 'id': {
        const name = node.args as string;
        const bound = scope.get(name);
        if (bound !== undefined) return { cost: 1, shape: bound };
        if (!(name in VARIABLES)) throw new Refused(`\`${name}\` is not a variable an expression may read (${knownVariables()})`, node);
        this.reads.add(name as VariableName);
        return { cost: 1, shape: this.shapeOf(type, name) };
      }
      case '.': {
        const [left, field] = node.args as [Node, string];
        const inner = this.estimate(left, scope);
        const owner = left.checkedType?.name ?? 'dyn';
        // `m.a` on a map literal is `m["a"]`: one of its entries.
        if (owner.startsWith('map<') && inner.shape.entry !== undefined) return { cost: inner.cost + 1, shape: inner.shape.entry };
        return { cost: inner.cost + 1, shape: this.shapeOf(type, `${owner}.${field}`) };
      }
      case '[]': {
        const [left, index] = node.args as [Node, Node];
        const a = this.estimate(left, scope);
        const b = this.estimate(index, scope);
        return { cost: a.cost + b.cost + 1, shape: a.shape.entry ?? this.shapeOf(type, '') };
      }
      case 'list': {
        const items = (node.args as Node[]).map((n) => this.estimate(n, scope));
        const entry = items.reduce<Shape>((wide, i) => widest(wide, i.shape), SCALAR);
        return { cost: items.reduce((s, i) => s + i.cost, 1), shape: { length: items.length, entry } };
      }
      case 'map': {
        // Keys and values in one entry shape: an index gives a value, a macro iterates the keys.
        const entries = (node.args as Array<[Node, Node]>).flat().map((n) => this.estimate(n, scope));
        const entry = entries.reduce<Shape>((wide, i) => widest(wide, i.shape), SCALAR);
        return { cost: entries.reduce((s, i) => s + i.cost, 1), shape: { length: entries.length / 2, entry } };
      }
      case 'call':
        return this.call(node, scope);
      case 'rcall':
        return this.methodCall(node, scope);
      case '?:': {
        const [c, a, b] = (node.args as Node[]).map((n) => this.estimate(n, scope)) as [ReturnType<Analysis['estimate']>, ReturnType<Analysis['estimate']>, ReturnType<Analysis['estimate']>];
        return { cost: c.cost + a.cost + b.cost + 1, shape: widest(a.shape, b.shape) };
      }
      case '!_':
      case '-_': {
        const a = this.estimate(node.args as Node, scope);
        return { cost: a.cost + 1, shape: SCALAR };
      }
      default: {
        if (!Array.isArray(node.args) || node.args.length !== 2) throw new Refused(`\`${node.op}\` is not supported in floor expressions`, node);
        const [left, right] = node.args as [Node, Node];
        const a = this.estimate(left, scope);
        const b = this.estimate(right, scope);
        if (node.op === '+' && (type === 'string' || type.startsWith('list'))) {
          const length = a.shape.length + b.shape.length;
          return { cost: a.cost + b.cost + length, shape: { ...widest(a.shape, b.shape), length } };
        }
        // A comparison reads up to the shorter side, entry by entry; `in` a list compares with each entry.
        if (node.op === 'in') return { cost: a.cost + b.cost + b.shape.length * Math.min(extent(a.shape), extent(b.shape.entry ?? SCALAR)), shape: SCALAR };
        if (node.op === '==' || node.op === '!=' || node.op === '<' || node.op === '<=' || node.op === '>' || node.op === '>=') {
          return { cost: a.cost + b.cost + Math.min(extent(a.shape), extent(b.shape)), shape: SCALAR };
        }
        return { cost: a.cost + b.cost + 1, shape: SCALAR };
      }
    }
  }

  /** The shape of a value of `type` read from the data at `key` (`Quote.discounts`, `lines`). */
  private shapeOf(type: string, key: string): Shape {
    if (type === 'string') return { length: DATA_STRING_LENGTH };
    const list = /^list<(.+)>$/.exec(type);
    if (list === null) return SCALAR;
    const length = LIST_BOUNDS[key];
    if (length === undefined) throw new Refused(`reading the list at \`${key}\` is not supported`, 0);
    this.lists.add(key);
    return { length, entry: this.shapeOf(list[1] as string, '') };
  }

  private call(node: Node, scope: ReadonlyMap<string, Shape>): { cost: number; shape: Shape } {
    const [name, args] = node.args as [string, Node[]];
    this.allow(name, node);
    if (name === 'has') {
      const a = this.estimate(args[0] as Node, scope);
      return { cost: a.cost + 1, shape: SCALAR };
    }
    const estimated = args.map((n) => this.estimate(n, scope));
    const cost = estimated.reduce((s, a) => s + a.cost, 1);
    if (name === 'sum' || name === 'size') return { cost: cost + (estimated[0]?.shape.length ?? 0), shape: SCALAR };
    if (name === 'string') return { cost: cost + 20, shape: { length: Math.max(20, estimated[0]?.shape.length ?? 0) } };
    return { cost, shape: this.scalar(name, node) };
  }

  private methodCall(node: Node, scope: ReadonlyMap<string, Shape>): { cost: number; shape: Shape } {
    const [name, receiver, args] = node.args as [string, Node, Node[]];
    this.allow(name, node);
    // Not an estimate, but this walk is the one visit of every checked call.
    countInCharacters(node, name);
    const recv = this.estimate(receiver, scope);
    if (MACROS.has(name)) {
      const variable = (args[0] as Node).args as string;
      const inner = new Map(scope).set(variable, recv.shape.entry ?? SCALAR);
      const bodies = args.slice(1).map((n) => this.estimate(n, inner));
      const perItem = bodies.reduce((s, b) => s + b.cost, 1);
      const cost = recv.cost + recv.shape.length * perItem;
      if (name === 'map') return { cost, shape: { length: recv.shape.length, entry: (bodies.at(-1) as { shape: Shape }).shape } };
      if (name === 'filter') return { cost, shape: recv.shape };
      return { cost, shape: SCALAR };
    }
    const estimated = args.map((n) => this.estimate(n, scope));
    const cost = estimated.reduce((s, a) => s + a.cost, recv.cost + 1);
    if (name === 'size') return { cost, shape: SCALAR };
    if (LINEAR_STRING_METHODS.has(name)) return { cost: cost + recv.shape.length, shape: SCALAR };
    if (COPYING_STRING_METHODS.has(name)) return { cost: cost + recv.shape.length, shape: recv.shape };
    if (name === 'join') {
      const separator = estimated[0]?.shape.length ?? 0;
      const length = recv.shape.length * ((recv.shape.entry ?? SCALAR).length + separator);
      return { cost: cost + length, shape: { length } };
    }
    return { cost, shape: this.scalar(name, node) };
  }

  /** The shape of what a function not modelled above gives: a scalar, or it would be a blind spot of the estimate. */
  private scalar(name: string, node: Node): Shape {
    const type = node.checkedType?.name ?? 'dyn';
    if (type === 'string' || type.startsWith('list<') || type.startsWith('map<')) throw new Refused(`\`${name}()\` has no cost estimate for its ${type} result`, node);
    return SCALAR;
  }

  private allow(name: string, node: Node): void {
    if (!ALLOWED_FUNCTIONS.has(name)) {
      throw new Refused(`\`${name}()\` is not available in floor expressions (available: ${[...ALLOWED_FUNCTIONS].join(', ')})`, node);
    }
  }
}

function outcomeOf(run: () => unknown): unknown {
  try {
    return run();
  } catch (error) {
    return error instanceof Error ? error.message : error;
  }
}

/**
 * "at column 7: quote.»discountz«" — where in the expression. cel-js's ranges are UTF-16
 * indices (the marker cuts there); the column counts characters, as an editor does, so an
 * emoji before the mistake counts once. An expression written over several lines (a YAML `|`
 * block) is pointed into by its line and the column in that line: "at line 2, column 9".
 */
function position(source: string, start: number | undefined, end?: number): string {
  if (start === undefined) return '';
  let stop = end !== undefined && end > start ? end : start + 1;
  // One character marked: the whole of it, when it is an emoji (a surrogate pair).
  if (stop === start + 1 && /^[\ud800-\udbff][\udc00-\udfff]/.test(source.slice(start, start + 2))) stop++;
  const before = source.slice(0, start);
  const lineStart = before.lastIndexOf('\n') + 1;
  const column = characters(before.slice(lineStart)) + 1;
  // A YAML `|` block ends with a line break: that alone does not make the expression multi-line.
  const where = source.trimEnd().includes('\n') ? `line ${before.split('\n').length}, column ${column}` : `column ${column}`;
  return ` at ${where}: ${before}»${source.slice(start, stop)}«${source.slice(stop)}`;
}

/** For an unknown field: the fields of the type it was looked up on; for an unknown name: the variables. */
function knownFor(error: { code?: string; node?: unknown }): string {
  const node = error.node as Node | undefined;
  if (node?.op === '.') {
    const owner = (node.args as [Node, string])[0].checkedType?.name;
    const fields = owner === undefined ? undefined : knownFields(owner);
    if (fields !== undefined) return `; known fields of ${owner}: ${fields}`;
  }
  if (node?.op === 'id' || error.code === 'unknown_variable') return `; known variables: ${knownVariables()}`;
  return '';
}

/** cel-js's "no such overload" for an amount met with a number (`quote.goodsTotal >= 9900`, `l.unitPrice * l.quantity`). */
const MONEY_WITH_NUMBER = /no such overload: (?:Money \S+ (?:int|uint|double)|(?:int|uint|double) \S+ Money)\b/;

/** cel-js's "no matching overload" for Floorplan's min() or abs(), which take amounts only (`min(quote.goodsTotal, 9900)`). */
const MONEY_FUNCTION_WITH_NUMBER = /no matching overload for '(?:min|abs)\(/;

/** For money met with a number, the two ways to write what was meant: an amount literal, or arithmetic on minor units. */
function moneyHint(summary: string): string {
  if (MONEY_WITH_NUMBER.test(summary)) {
    return '; Money adds, subtracts and compares only with Money: write an amount as money(<minor units>) (money(9900) is ¥99.00 in CNY), and multiply or divide its .minor, an int: money(l.unitPrice.minor * l.quantity)';
  }
  if (MONEY_FUNCTION_WITH_NUMBER.test(summary)) {
    return '; min() and abs() take Money only: write an amount as money(<minor units>), as in min(quote.goodsTotal, money(9900)); for ints, a < b ? a : b';
  }
  return '';
}

/** Parses, checks and compiles one expression, or says precisely what is wrong with it. */
export function compileExpression(source: string, where: string, role: Role): CompiledExpression | { problem: string } {
  if (source.length > MAX_EXPRESSION_LENGTH) return { problem: `must be at most ${MAX_EXPRESSION_LENGTH} characters long, but has ${source.length}` };
  let run: ParseResult;
  try {
    run = celEnvironment.parse(source);
  } catch (error) {
    const e = error as { summary?: string; message: string; range?: { start: number; end: number } };
    return { problem: `must be a valid CEL expression; ${e.summary ?? e.message}${position(source, e.range?.start, e.range?.end)}` };
  }
  const checked = run.check();
  if (!checked.valid || checked.type === undefined) {
    const e = checked.error as { summary?: string; message: string; code?: string; node?: unknown; range?: { start: number; end: number } } | undefined;
    const summary = e?.summary ?? e?.message ?? 'does not type-check';
    return { problem: `must type-check against the panel's data; ${summary}${position(source, e?.range?.start, e?.range?.end)}${e === undefined ? '' : knownFor(e)}${moneyHint(summary)}` };
  }
  const analysis = new Analysis();
  let cost: number;
  try {
    cost = analysis.estimate(run.ast as unknown as Node, new Map()).cost;
  } catch (error) {
    if (error instanceof Refused) return { problem: `must only use what floor expressions allow; ${error.message}${position(source, error.start, error.end)}` };
    throw error;
  }
  if (!Number.isFinite(cost) || cost > COST_LIMIT) {
    return { problem: `must cost at most ${COST_LIMIT} steps for the longest lists allowed (${Object.entries(LIST_BOUNDS).map(([k, v]) => `${k} ${v}`).join(', ')}), but is estimated at ${Number.isFinite(cost) ? Math.ceil(cost) : 'more than that'}` };
  }
  const expected = RESULT_TYPES[role];
  if (!expected.includes(checked.type)) return { problem: `${ROLE_CONTRACT[role]}; it is ${checked.type}` };
  const reads = (Object.keys(VARIABLES) as VariableName[]).filter((v) => analysis.reads.has(v));
  return new CompiledExpression(source, where, checked.type, run, reads, analysis.lists, cost, compileFastPath(run.ast));
}

/** The upstream each variable is read from; the viewer's comes with the request. */
function upstreamsOf(reads: readonly VariableName[]): UpstreamName[] {
  // Widened to UpstreamName first: VARIABLES names only the upstreams expressions can read, a
  // subset of the registry, so a predicate on its narrower type would break when one is added.
  return reads.map((v): UpstreamName | null => VARIABLES[v].upstream).filter((u): u is UpstreamName => u !== null);
}

/** Needs in registry order (as `failedUpstreams` lists them), whatever order the expressions read them in. */
function ordered(upstreams: Iterable<UpstreamName>): UpstreamName[] {
  const set = new Set(upstreams);
  return UPSTREAMS.filter((u) => set.has(u));
}

/** One root's value (the viewer's comes with the request); a failed upstream's read throws its failure. */
function readRoot(name: VariableName, ctx: FloorBuildContext): unknown {
  switch (name) {
    case 'cart':
      return ctx.data.cart();
    case 'lines':
      return ctx.data.selectedLines();
    case 'promotion':
      return ctx.data.promotion();
    case 'quote':
      return ctx.data.quote();
    case 'loyalty':
      return ctx.data.get('loyalty');
    case 'viewer':
      return ctx.viewer;
  }
}

/** Reads the roots `reads` names. */
function readRoots(reads: readonly VariableName[], ctx: FloorBuildContext): DomainRoots {
  const roots: DomainRoots = {};
  for (let i = 0; i < reads.length; i++) roots[reads[i] as VariableName] = readRoot(reads[i] as VariableName, ctx);
  return roots;
}

const NO_VARS: Readonly<Record<string, TemplateValue>> = Object.freeze({});

const isMoney = (value: unknown): value is Money => typeof value === 'object' && value !== null && 'minor' in value;

/** An evaluated value as a template value (Money, an int, a string); Money in "" (the panel's currency) is left to {@link inPanelCurrency}. */
function templateValue(value: unknown, expression: CompiledExpression): TemplateValue {
  if (isMoney(value) || typeof value === 'number' || typeof value === 'string') return value;
  throw expression.failed(`gave ${typeof value}, not a template value`);
}

/** "" is the panel's currency: the cart's, which every other amount of the panel is checked against. */
function inPanelCurrency(value: Money, ctx: FloorBuildContext): Money {
  return { minor: value.minor, currency: ctx.data.cart().currency };
}

/** A kind's sign rule (the builders' own, AMOUNT_SIGN), with how to write it in CEL where that helps. */
function signRuleOf(kind: FloorKind): string {
  return kind === 'DEDUCTION' ? `${amountSignRule(kind)} (write -sum(...))` : amountSignRule(kind);
}

/** The sub-name variables an expression floor defines, whether or not its expressions compile: `amount` when it has one, and each of `vars`. */
export function expressionTemplateVars(spec: Pick<ExpressionFloorSpec, 'amount' | 'vars'>): string[] {
  return [...new Set([...(spec.amount !== undefined ? ['amount'] : []), ...Object.keys(spec.vars ?? {})])];
}

/**
 * Compiles an expression floor into a builder, or returns every problem of its expressions.
 * `amount` is required for every kind but TEXT (which must not have one); `when`, if given,
 * must be true for the floor to show; each of `vars` is a sub-name template variable, and
 * `amount` is one too unless `vars` defines it. Each of `vars` is a decoration: when it fails,
 * or an upstream only it reads does, the row keeps its amount and its sub-name falls back.
 */
export function compileExpressionFloor(spec: ExpressionFloorSpec): { builder: FloorBuilder; problems: [] } | { builder: undefined; problems: ExpressionProblem[] } {
  const problems: ExpressionProblem[] = [];
  const compile = (source: string, path: PropertyKey[], role: Role): CompiledExpression | undefined => {
    const result = compileExpression(source, path.join('.'), role);
    if (result instanceof CompiledExpression) return result;
    problems.push({ path, contract: result.problem, received: source });
    return undefined;
  };

  if (spec.kind === 'TEXT' && spec.amount !== undefined) problems.push({ path: ['amount'], contract: 'must be left out on a TEXT floor, which shows no amount', received: spec.amount });
  if (spec.kind !== 'TEXT' && spec.amount === undefined) problems.push({ path: ['kind'], contract: 'needs an `amount` expression, as every floor but a TEXT one shows an amount', received: spec.kind });
  const amount = spec.amount === undefined ? undefined : compile(spec.amount, ['amount'], 'amount');
  const when = spec.when === undefined ? undefined : compile(spec.when, ['when'], 'when');
  const vars = new Map<string, CompiledExpression>();
  for (const [name, source] of Object.entries(spec.vars ?? {})) {
    const compiled = compile(source, ['vars', name], 'var');
    if (compiled !== undefined) vars.set(name, compiled);
  }
  if (problems.length > 0) return { builder: undefined, problems };

  const core = [amount, when].filter((e): e is CompiledExpression => e !== undefined);
  const coreReads = (Object.keys(VARIABLES) as VariableName[]).filter((v) => core.some((e) => e.reads.includes(v)));
  const coreUpstreams = new Set(upstreamsOf(coreReads));
  // The panel's currency is the cart's: an amount always needs the cart, as every builder's does.
  if (amount !== undefined) coreUpstreams.add('cart');
  const templateVars = expressionTemplateVars(spec);
  const sign = AMOUNT_SIGN[spec.kind];

  // Every variable is a decoration, evaluated apart from the amount: when one fails (its
  // upstream, or its expression — an index out of range), the row keeps its amount and its
  // sub-name falls back, as for a builder's decoration.
  let decorations: FloorDecorations | undefined;
  if (vars.size > 0) {
    const reads = (Object.keys(VARIABLES) as VariableName[]).filter((v) => [...vars.values()].some((e) => e.reads.includes(v)));
    decorations = Object.freeze({
      needs: Object.freeze(ordered(upstreamsOf(reads).filter((u) => !coreUpstreams.has(u)))),
      vars: Object.freeze([...vars.keys()]),
      decorate(ctx: FloorBuildContext) {
        const roots = readRoots(reads, ctx);
        const out: Record<string, TemplateValue> = {};
        for (const [name, expression] of vars) {
          const value = templateValue(expression.evaluate(roots), expression);
          // "" is the panel's currency, the cart's: read only for such a value (rare).
          out[name] = isMoney(value) && value.currency === '' ? inPanelCurrency(value, ctx) : value;
        }
        return out;
      },
    });
  }

  const builder: FloorBuilder = {
    name: `cel:${spec.code}`,
    description: `Expression floor: ${amount === undefined ? 'no amount' : `amount = ${amount.source}`}${when === undefined ? '' : `, when ${when.source}`}.`,
    kind: spec.kind,
    needs: Object.freeze(ordered(coreUpstreams)),
    templateVars: Object.freeze(templateVars),
    build(ctx) {
      const roots = readRoots(coreReads, ctx);
      if (when !== undefined && when.evaluate(roots) !== true) return null;
      if (amount === undefined) return { amount: null, vars: NO_VARS };
      let money = amount.evaluate(roots) as Money;
      if (money.currency === '') money = inPanelCurrency(money, ctx);
      if (money.minor * sign < 0) throw amount.failed(`${signRuleOf(spec.kind)}, but got ${money.minor}`);
      // `vars.amount`, when given, is what {amount} shows, even when it fails.
      return { amount: money, vars: vars.has('amount') ? NO_VARS : { amount: money } };
    },
    ...(decorations === undefined ? {} : { decorations }),
    ...(when === undefined ? {} : { when: when.source }),
  };
  return { builder: Object.freeze(builder), problems: [] };
}

// cel-js counts `substring`/`indexOf`/`lastIndexOf` in UTF-16 units; countInCharacters puts
// character counts in place of them. Should a cel-js upgrade stop evaluating a checked call
// through that handle, refuse to start rather than send apps half an emoji again.
{
  const probe = compileExpression('"苹果🍎汁".substring(2, 3) == "🍎" && "🍎苹果".indexOf("苹果") == 1 && "🍎苹果🍎".lastIndexOf("🍎") == 3', 'start-up self-check', 'when');
  const answer = probe instanceof CompiledExpression ? outcomeOf(() => probe.evaluateWithCel({})) : probe.problem;
  if (answer !== true) {
    throw new Error(`cel-js (@marcbachmann/cel-js) no longer takes Floorplan's character-counting substring/indexOf/lastIndexOf (src/floors/expression/strings.ts, countInCharacters): expected true, got ${String(answer)}`);
  }
}
