/**
 * The fast path: a type-checked expression compiled once, at load, to JavaScript closures that
 * read the domain objects as they are (numbers, not BigInt; no conversion per request). It
 * covers what floor expressions are made of — field reads, comparisons, `&&`/`||`/`!`/`?:`,
 * `in`, the list macros, `size`, `has`, the string tests and indices (in characters, by
 * strings.ts as on the cel-js path) and the money functions — with CEL's semantics (the
 * golden tests run every case down both paths); an expression using anything else is
 * evaluated by cel-js instead. Types were checked by cel-js, so the closures trust them.
 *
 * Why a second evaluator (STYLE.md would rather have one): the CPU budget, an expression
 * floor at most 1.1× its hand-written builder. cel-js's own evaluation needs the data as CEL
 * values (ints as BigInt, one object per message) and walks generic contexts: with it, `lj` and
 * `coupon` as expressions cost the seed panel some 40 % more CPU (bench/expression-floors.ts).
 * cel-js stays the parser, the type checker and the evaluator of what is not covered here;
 * test/floors/expression/fast-path.property.test.ts and the golden tests hold the two equal.
 */
import type { Money } from '../../money/money.ts';
import { LIST_BOUNDS, VARIABLES } from './domain.ts';
import { indexOf, lastIndexOf, substring } from './strings.ts';

/** The domain values an expression reads, by variable. */
export type Roots = Readonly<Record<string, unknown>>;
/** Iteration variables by slot, the roots by name. */
interface Frame {
  roots: Roots;
  readonly slots: unknown[];
}
type Fn = (frame: Frame) => unknown;

const NO_ROOTS: Roots = Object.freeze({});

/** Thrown by a closure: the expression's failure (the caller turns it into FLOORPLAN_ERR_EXPRESSION_FAILED). */
export class FastPathError extends Error {}

interface Node {
  readonly op: string;
  readonly args: unknown;
  readonly checkedType?: { readonly name: string };
}

/** Not compiled: cel-js evaluates the whole expression. */
class Unsupported extends Error {}

const MAX = Number.MAX_SAFE_INTEGER;
/** Fields the domain may leave null (values.ts leaves them out of the CEL value): every other field is always set. */
const OPTIONAL_FIELDS: ReadonlySet<string> = new Set(['Membership.plus95QuotaRemaining']);

function exact(minor: number): number {
  if (!Number.isSafeInteger(minor)) throw new FastPathError(`money beyond ±${MAX} minor units: ${minor}`);
  return minor;
}

/** "" is the panel's currency; two different ones are an error (as the cel-js path's). */
function currencyOf(a: Money, b: Money): string {
  if (a.currency === b.currency || b.currency === '') return a.currency;
  if (a.currency === '') return b.currency;
  throw new FastPathError(`money in two currencies: ${a.currency} and ${b.currency}`);
}

const typeOf = (node: Node) => node.checkedType?.name ?? 'dyn';

function listBound(key: string): number | undefined {
  return LIST_BOUNDS[key];
}

function bounded(value: unknown, key: string, bound: number): unknown {
  if ((value as readonly unknown[]).length > bound) throw new FastPathError(`cost limit: ${key} holds more than the ${bound} entries its cost estimate assumed`);
  return value;
}

class Compiler {
  slots = 0;

  compile(node: Node, scope: ReadonlyMap<string, number>): Fn {
    switch (node.op) {
      case 'value': {
        const value = node.args;
        if (typeof value === 'bigint') {
          const n = Number(value);
          return () => n;
        }
        if (typeof value === 'string' || typeof value === 'boolean') return () => value;
        throw new Unsupported();
      }
      case 'id': {
        const name = node.args as string;
        const slot = scope.get(name);
        if (slot !== undefined) return (f) => f.slots[slot];
        if (!(name in VARIABLES)) throw new Unsupported();
        const bound = listBound(name);
        if (bound !== undefined) return (f) => bounded(f.roots[name], name, bound);
        return (f) => f.roots[name];
      }
      case '.': {
        const [left, field] = node.args as [Node, string];
        const object = this.compile(left, scope);
        const key = `${typeOf(left)}.${field}`;
        if (OPTIONAL_FIELDS.has(key)) {
          // Absent (a non-member's quota): reading it is an error, as in cel-js; has() tells first.
          return (f) => {
            const value = (object(f) as Record<string, unknown>)[field];
            if (value == null) throw new FastPathError(`No such key: ${field}`);
            return value;
          };
        }
        const bound = listBound(key);
        return bound === undefined
          ? (f) => (object(f) as Record<string, unknown>)[field]
          : (f) => bounded((object(f) as Record<string, unknown>)[field], key, bound);
      }
      case '[]': {
        const [left, index] = node.args as [Node, Node];
        if (!typeOf(left).startsWith('list<') || typeOf(index) !== 'int') throw new Unsupported();
        const list = this.compile(left, scope);
        const at = this.compile(index, scope);
        return (f) => {
          const items = list(f) as readonly unknown[];
          const i = at(f) as number;
          if (i < 0 || i >= items.length) throw new FastPathError(`index out of range: ${i}`);
          return items[i];
        };
      }
      case '!_': {
        const operand = this.compile(node.args as Node, scope);
        return (f) => !(operand(f) as boolean);
      }
      case 'list': {
        const items = (node.args as Node[]).map((n) => this.compile(n, scope));
        return (f) => items.map((item) => item(f));
      }
      case '-_': {
        if (typeOf(node) === 'int') {
          const int = this.compile(node.args as Node, scope);
          return (f) => 0 - (int(f) as number);
        }
        if (typeOf(node) !== 'Money') throw new Unsupported();
        const operand = this.compile(node.args as Node, scope);
        return (f) => {
          const m = operand(f) as Money;
          return { minor: m.minor === 0 ? 0 : -m.minor, currency: m.currency };
        };
      }
      case '?:': {
        const [c, a, b] = (node.args as Node[]).map((n) => this.compile(n, scope)) as [Fn, Fn, Fn];
        return (f) => ((c(f) as boolean) ? a(f) : b(f));
      }
      case '&&':
      case '||':
        return this.logical(node, scope);
      case 'call':
        return this.call(node, scope);
      case 'rcall':
        return this.methodCall(node, scope);
      default:
        return this.binary(node, scope);
    }
  }

  /** CEL's && and ||: an error on one side is absorbed when the other side decides the result. */
  private logical(node: Node, scope: ReadonlyMap<string, number>): Fn {
    const [left, right] = (node.args as Node[]).map((n) => this.compile(n, scope)) as [Fn, Fn];
    const decisive = node.op === '||';
    return (f) => {
      let l: unknown;
      try {
        l = left(f);
      } catch (error) {
        if (right(f) === decisive) return decisive;
        throw error;
      }
      return l === decisive ? decisive : right(f);
    };
  }

  private binary(node: Node, scope: ReadonlyMap<string, number>): Fn {
    if (!Array.isArray(node.args) || node.args.length !== 2) throw new Unsupported();
    const [leftNode, rightNode] = node.args as [Node, Node];
    const lt = typeOf(leftNode);
    const rt = typeOf(rightNode);
    const left = this.compile(leftNode, scope);
    const right = this.compile(rightNode, scope);
    const scalar = (t: string) => t === 'string' || t === 'int' || t === 'bool';
    if (lt === 'Money' && rt === 'Money') {
      switch (node.op) {
        case '+':
          return (f) => {
            const a = left(f) as Money;
            const b = right(f) as Money;
            return { minor: exact(a.minor + b.minor), currency: currencyOf(a, b) };
          };
        case '-':
          return (f) => {
            const a = left(f) as Money;
            const b = right(f) as Money;
            return { minor: exact(a.minor - b.minor), currency: currencyOf(a, b) };
          };
        case '==':
        case '!=':
        case '<':
        case '<=':
        case '>':
        case '>=': {
          const compare = COMPARE[node.op];
          return (f) => {
            const a = left(f) as Money;
            const b = right(f) as Money;
            currencyOf(a, b);
            return compare(a.minor, b.minor);
          };
        }
        default:
          throw new Unsupported();
      }
    }
    if (node.op === '+' && lt === 'string' && rt === 'string') return (f) => (left(f) as string) + (right(f) as string);
    if ((node.op === '==' || node.op === '!=') && lt === rt && scalar(lt)) {
      return node.op === '==' ? (f) => left(f) === right(f) : (f) => left(f) !== right(f);
    }
    // Ints only: CEL orders strings by code point, JavaScript by UTF-16 unit.
    if ((node.op === '<' || node.op === '<=' || node.op === '>' || node.op === '>=') && lt === 'int' && rt === 'int') {
      const compare = COMPARE[node.op];
      return (f) => compare(left(f) as number, right(f) as number);
    }
    if (node.op === 'in' && (rt === 'list<string>' || rt === 'list<int>') && scalar(lt)) return (f) => (right(f) as readonly unknown[]).includes(left(f));
    throw new Unsupported();
  }

  private call(node: Node, scope: ReadonlyMap<string, number>): Fn {
    const [name, argNodes] = node.args as [string, Node[]];
    if (name === 'has') {
      const target = argNodes[0];
      if (target?.op !== '.') throw new Unsupported();
      const [left, field] = target.args as [Node, string];
      const object = this.compile(left, scope);
      return (f) => (object(f) as Record<string, unknown>)[field] != null;
    }
    const fused = name === 'sum' && argNodes.length === 1 ? this.fusedSum(argNodes[0] as Node, scope) : undefined;
    if (fused !== undefined) return fused;
    const args = argNodes.map((n) => this.compile(n, scope));
    const types = argNodes.map(typeOf);
    const [a, b] = args as [Fn, Fn];
    switch (`${name}(${types.join(', ')})`) {
      case 'sum(list<Money>)':
        return (f) => {
          let total = 0;
          let currency = '';
          for (const m of a(f) as readonly Money[]) {
            currency = currencyOf({ minor: 0, currency }, m);
            total = exact(total + m.minor);
          }
          return { minor: total, currency };
        };
      case 'sum(list<int>)':
        return (f) => {
          let total = 0;
          for (const i of a(f) as readonly number[]) total = exact(total + i);
          return total;
        };
      case 'min(Money, Money)':
        return (f) => {
          const x = a(f) as Money;
          const y = b(f) as Money;
          return { minor: y.minor < x.minor ? y.minor : x.minor, currency: currencyOf(x, y) };
        };
      case 'abs(Money)':
        return (f) => {
          const m = a(f) as Money;
          return m.minor < 0 ? { minor: -m.minor, currency: m.currency } : m;
        };
      case 'money(int)':
        return (f) => ({ minor: exact(a(f) as number), currency: '' });
      case 'size(string)':
        return (f) => [...(a(f) as string)].length;
      default:
        if (name === 'size' && types[0]?.startsWith('list<') === true) return (f) => (a(f) as readonly unknown[]).length;
        throw new Unsupported();
    }
  }

  /**
   * `sum(xs.filter(v, p).map(v, e))` and `sum(xs.map(v, e))` — the shape of most floors — as one
   * loop with no list in between (the same result; an item that fails fails it too).
   */
  private fusedSum(arg: Node, scope: ReadonlyMap<string, number>): Fn | undefined {
    if (arg.op !== 'rcall') return undefined;
    const [mapName, mapReceiver, mapArgs] = arg.args as [string, Node, Node[]];
    if (mapName !== 'map' || mapArgs.length !== 2) return undefined;
    const money = typeOf(arg) === 'list<Money>';
    if (!money && typeOf(arg) !== 'list<int>') return undefined;
    let source = mapReceiver;
    let predicate: Fn | undefined;
    const slot = this.slots++;
    if (source.op === 'rcall' && (source.args as [string])[0] === 'filter') {
      const [, filterReceiver, filterArgs] = source.args as [string, Node, Node[]];
      predicate = this.compile(filterArgs[1] as Node, new Map(scope).set((filterArgs[0] as Node).args as string, slot));
      source = filterReceiver;
    }
    const items = this.compile(source, scope);
    const transform = this.compile(mapArgs[1] as Node, new Map(scope).set((mapArgs[0] as Node).args as string, slot));
    if (money) {
      return (f) => {
        const list = items(f) as readonly unknown[];
        let total = 0;
        let currency = '';
        for (let i = 0; i < list.length; i++) {
          f.slots[slot] = list[i];
          if (predicate !== undefined && !(predicate(f) as boolean)) continue;
          const m = transform(f) as Money;
          if (m.currency !== currency) currency = currencyOf({ minor: 0, currency }, m);
          total = exact(total + m.minor);
        }
        return { minor: total, currency };
      };
    }
    return (f) => {
      const list = items(f) as readonly unknown[];
      let total = 0;
      for (let i = 0; i < list.length; i++) {
        f.slots[slot] = list[i];
        if (predicate !== undefined && !(predicate(f) as boolean)) continue;
        total = exact(total + (transform(f) as number));
      }
      return total;
    };
  }

  private methodCall(node: Node, scope: ReadonlyMap<string, number>): Fn {
    const [name, receiverNode, argNodes] = node.args as [string, Node, Node[]];
    const receiver = this.compile(receiverNode, scope);
    if (name === 'size' && argNodes.length === 0) {
      if (typeOf(receiverNode) === 'string') return (f) => [...(receiver(f) as string)].length;
      if (typeOf(receiverNode).startsWith('list<')) return (f) => (receiver(f) as readonly unknown[]).length;
      throw new Unsupported();
    }
    if (!['map', 'filter', 'all', 'exists', 'exists_one'].includes(name)) {
      const args = argNodes.map((n) => this.compile(n, scope));
      const indexed = INDEXED_STRING_METHODS.get(name);
      if (indexed !== undefined) {
        // In characters, by the very functions the cel-js path calls (strings.ts).
        if (typeOf(receiverNode) !== 'string' || args.length < 1 || args.length > 2 || argNodes.some((n, i) => typeOf(n) !== indexed.args[i])) throw new Unsupported();
        const [a, b] = args as [Fn, Fn | undefined];
        const run = indexed.run;
        return b === undefined ? (f) => run(receiver(f) as string, a(f) as never) : (f) => run(receiver(f) as string, a(f) as never, b(f) as number);
      }
      const [arg] = args as [Fn];
      if (typeOf(receiverNode) !== 'string' || args.length !== 1 || typeOf(argNodes[0] as Node) !== 'string') throw new Unsupported();
      if (name === 'contains') return (f) => (receiver(f) as string).includes(arg(f) as string);
      if (name === 'startsWith') return (f) => (receiver(f) as string).startsWith(arg(f) as string);
      if (name === 'endsWith') return (f) => (receiver(f) as string).endsWith(arg(f) as string);
      throw new Unsupported();
    }
    const slot = this.slots++;
    const inner = new Map(scope).set((argNodes[0] as Node).args as string, slot);
    const bodies = argNodes.slice(1).map((n) => this.compile(n, inner));
    const [first, second] = bodies as [Fn, Fn | undefined];
    // Plain loops, no closure per call: this is the hot part of most floors.
    switch (name) {
      case 'filter':
        return (f) => {
          const items = receiver(f) as readonly unknown[];
          const out: unknown[] = [];
          for (let i = 0; i < items.length; i++) {
            f.slots[slot] = items[i];
            if (first(f) as boolean) out.push(items[i]);
          }
          return out;
        };
      case 'map':
        if (second === undefined) {
          return (f) => {
            const items = receiver(f) as readonly unknown[];
            const out = new Array<unknown>(items.length);
            for (let i = 0; i < items.length; i++) {
              f.slots[slot] = items[i];
              out[i] = first(f);
            }
            return out;
          };
        }
        return (f) => {
          const items = receiver(f) as readonly unknown[];
          const out: unknown[] = [];
          for (let i = 0; i < items.length; i++) {
            f.slots[slot] = items[i];
            if (first(f) as boolean) out.push(second(f));
          }
          return out;
        };
      case 'exists_one':
        return (f) => {
          const items = receiver(f) as readonly unknown[];
          let count = 0;
          for (let i = 0; i < items.length; i++) {
            f.slots[slot] = items[i];
            if (first(f) as boolean) count++;
          }
          return count === 1;
        };
      default: {
        // all / exists: CEL absorbs an error on one item when another decides the result.
        const decisive = name === 'exists';
        return (f) => {
          const items = receiver(f) as readonly unknown[];
          let failure: unknown;
          for (let i = 0; i < items.length; i++) {
            f.slots[slot] = items[i];
            try {
              if (first(f) === decisive) return decisive;
            } catch (error) {
              failure ??= error;
            }
          }
          if (failure !== undefined) throw failure;
          return !decisive;
        };
      }
    }
  }
}

/** substring, indexOf and lastIndexOf: their argument types, and strings.ts's function. */
const INDEXED_STRING_METHODS: ReadonlyMap<string, { readonly args: readonly string[]; readonly run: (s: string, a: never, b?: number) => unknown }> = new Map([
  ['substring', { args: ['int', 'int'], run: substring }],
  ['indexOf', { args: ['string', 'int'], run: indexOf }],
  ['lastIndexOf', { args: ['string', 'int'], run: lastIndexOf }],
] as const);

const COMPARE: Record<'==' | '!=' | '<' | '<=' | '>' | '>=', (a: number, b: number) => boolean> = {
  '==': (a, b) => a === b,
  '!=': (a, b) => a !== b,
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
};

/** The expression as closures over domain values, or undefined when it uses something the fast path does not cover. */
export function compileFastPath(ast: unknown): ((roots: Roots) => unknown) | undefined {
  const compiler = new Compiler();
  let fn: Fn;
  try {
    fn = compiler.compile(ast as Node, new Map());
  } catch (error) {
    if (error instanceof Unsupported) return undefined;
    throw error;
  }
  // Evaluation is synchronous, so one frame per expression is enough; it lets go of the data after.
  const frame: { roots: Roots; slots: unknown[] } = { roots: NO_ROOTS, slots: new Array<unknown>(compiler.slots) };
  return (roots) => {
    frame.roots = roots;
    try {
      return fn(frame);
    } finally {
      frame.roots = NO_ROOTS;
      frame.slots.fill(undefined);
    }
  };
}
