/**
 * Parses a YAML file and validates it against a zod schema, reporting every problem as
 * "`<path>` <contract>, but got: <value> (<file>:<line>)" — the operator's view of an error.
 *
 * Shared by the service config and the floors layouts, so both speak the same language.
 */
import { isAlias, isCollection, isNode, isPair, LineCounter, parseDocument, visit, type Alias, type Document, type Node } from 'yaml';
import { z } from 'zod';
import { withoutPasswords } from '../errors.ts';

/** A problem found in a YAML file, with its location. */
export interface YamlProblem {
  /** Dotted path with indexes, e.g. `floors[3].sort`. */
  readonly path: string;
  /** "`floors[3].sort` must be an integer, but got: "top" (floors/x.yaml:14)". */
  readonly message: string;
  readonly line: number | undefined;
}

/**
 * How many values (each scalar, list and mapping counts one) the YAML aliases (`*name`) of one
 * file may repeat in all, counting what aliases inside a repeated value repeat in turn. Past it
 * the file is refused before it is read into data, with the alias that passed the limit: a
 * "billion laughs" file is a few hundred bytes that would expand to billions of values, and
 * everything after the parse (validation, one problem per wrong value, diffs) works on the
 * expansion. No shipped floors or config file uses aliases; 1000 leaves room to repeat a
 * localized name or a style list across floors and variants.
 */
export const MAX_ALIASED_VALUES = 1000;

/** A parsed YAML document that can point at the line of any path in it. */
export class LocatedYaml {
  readonly doc: Document;
  private readonly lines: LineCounter;
  readonly file: string;
  private read: { readonly value: unknown } | { readonly problem: YamlProblem } | undefined;

  constructor(file: string, source: string) {
    this.file = file;
    this.lines = new LineCounter();
    this.doc = parseDocument(source, { lineCounter: this.lines, prettyErrors: false, uniqueKeys: true });
  }

  /**
   * What keeps the file from being read into data, already formatted: syntax errors, or else an
   * alias with no anchor before it, inside the value it repeats, or past {@link MAX_ALIASED_VALUES}.
   * Empty when {@link toJS} can be called.
   */
  syntaxProblems(): YamlProblem[] {
    if (this.doc.errors.length > 0) {
      return this.doc.errors.map((error) => {
        const line = this.lines.linePos(error.pos[0]).line;
        const first = error.message.split('\n')[0] ?? error.message;
        return { path: '', line, message: `YAML syntax error: ${first} (${this.file}:${line})` };
      });
    }
    const read = this.readValue();
    return 'problem' in read ? [read.problem] : [];
  }

  /** 1-based line of the value at `path`, or of its nearest existing parent. */
  lineOf(path: readonly PropertyKey[]): number | undefined {
    for (let depth = path.length; depth >= 0; depth--) {
      const node = this.doc.getIn(path.slice(0, depth) as unknown[], true);
      if (isNode(node) && node.range) return this.lines.linePos(node.range[0]).line;
    }
    return undefined;
  }

  /** The problem at `path`: "`path` <contract>, but got: <value> (file:line)". */
  problem(path: readonly PropertyKey[], contract: string, received?: unknown): YamlProblem {
    const shown = formatPath(path);
    const line = this.lineOf(path);
    const where = line === undefined ? this.file : `${this.file}:${line}`;
    const got = arguments.length >= 3 ? `, but got: ${describeValue(received)}` : '';
    const subject = shown === '' ? 'the file' : `\`${shown}\``;
    return { path: shown, line, message: `${subject} ${contract}${got} (${where})` };
  }

  /** The file as plain data; call it only once {@link syntaxProblems} is empty. */
  toJS(): unknown {
    const read = this.readValue();
    if ('problem' in read) throw new Error(`${this.file} cannot be read into data; ask syntaxProblems() first: ${read.problem.message}`);
    return read.value;
  }

  /** The file's data, or the one problem that keeps it from being read; read once. */
  private readValue(): { readonly value: unknown } | { readonly problem: YamlProblem } {
    this.read ??= this.checkAliases() ?? this.convert();
    return this.read;
  }

  private convert(): { readonly value: unknown } | { readonly problem: YamlProblem } {
    try {
      // The library's own alias guard, at our budget, stays as a second line: its count never exceeds checkAliases()'s.
      return { value: this.doc.toJS({ maxAliasCount: MAX_ALIASED_VALUES }) };
    } catch (error) {
      // checkAliases() leaves nothing the library is known to refuse; should it still refuse
      // something, that is a problem of the file, never a fault of whoever asked to read it.
      const first = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
      return { problem: { path: '', line: undefined, message: `YAML error: ${first} (${this.file})` } };
    }
  }

  /**
   * The first alias that cannot be read, or that repeats past the budget, as the YAML library
   * would resolve it (to the last anchor of that name before it). Counted on the document, so
   * nothing is expanded to find out.
   */
  private checkAliases(): { readonly problem: YamlProblem } | undefined {
    const anchors = new Map<string, Node>();
    const targets = new Map<Alias, Node>();
    let found: { readonly problem: YamlProblem } | undefined;
    visit(this.doc, {
      Node: (_key, node, path) => {
        if (isAlias(node)) {
          const target = anchors.get(node.source);
          if (target === undefined) {
            found = this.aliasProblem(node, `must name an anchor (&${node.source}) set before it, but got: no &${node.source} before it`);
          } else if (path.includes(target)) {
            found = this.aliasProblem(node, `must not repeat a value it is part of (that value would never end), but got: *${node.source} inside &${node.source}`);
          }
          if (found !== undefined) return visit.BREAK;
          targets.set(node, target as Node);
        } else if (node.anchor !== undefined) {
          anchors.set(node.anchor, node);
        }
        return undefined;
      },
    });
    if (found !== undefined || targets.size === 0) return found;

    // Values per node once written out; an anchored value's count is kept, as many aliases share it.
    const sizes = new Map<unknown, number>();
    const sizeOf = (node: unknown): number => {
      const known = sizes.get(node);
      if (known !== undefined) return known;
      let size = 1;
      if (isAlias(node)) size = sizeOf(targets.get(node));
      else if (isPair(node)) size = sizeOf(node.key) + sizeOf(node.value);
      else if (isCollection(node)) size = 1 + node.items.reduce((sum: number, item) => sum + sizeOf(item), 0);
      sizes.set(node, size);
      return size;
    };
    let repeated = 0;
    for (const [alias, target] of targets) {
      repeated += sizeOf(target);
      if (repeated > MAX_ALIASED_VALUES) {
        return this.aliasProblem(alias, `may repeat at most ${MAX_ALIASED_VALUES} values through YAML aliases (*name), but got: ${repeated} by this alias, *${alias.source}`, 'the file');
      }
    }
    return undefined;
  }

  private aliasProblem(alias: Alias, contract: string, subject = `the alias *${alias.source}`): { readonly problem: YamlProblem } {
    const line = alias.range ? this.lines.linePos(alias.range[0]).line : undefined;
    return { problem: { path: '', line, message: `${subject} ${contract} (${line === undefined ? this.file : `${this.file}:${line}`})` } };
  }

  /** Validates the document against `schema`; returns the value or every problem found. */
  validate<S extends z.ZodType>(schema: S): { ok: true; value: z.output<S> } | { ok: false; problems: YamlProblem[] } {
    const syntax = this.syntaxProblems();
    if (syntax.length > 0) return { ok: false, problems: syntax };
    const input = this.toJS();
    const result = schema.safeParse(input);
    if (result.success) return { ok: true, value: result.data };
    const problems = describeIssues(result.error.issues, schema, input).map((d) =>
      'received' in d ? this.problem(d.path, d.contract, d.received) : this.problem(d.path, d.contract),
    );
    return { ok: false, problems };
  }
}

/** One zod issue in operator terms: where, the contract, and (when there is one) the value received. */
export type IssueDescription =
  | { readonly path: readonly PropertyKey[]; readonly contract: string; readonly received: unknown }
  | { readonly path: readonly PropertyKey[]; readonly contract: string };

/**
 * Turns zod issues into contracts and received values; an unknown key becomes one entry per
 * key, naming the keys that are allowed there so a typo is obvious. A value that fails a union
 * of several shapes is judged by the one shape of its type (a mapping by the mapping's rules),
 * unless the union states its own contract. A custom issue whose message already says what was
 * received (`params: { showsReceived: true }`) is given none.
 */
export function describeIssues(issues: readonly z.core.$ZodIssue[], schema: z.ZodType, input: unknown): IssueDescription[] {
  return issues.flatMap((issue): IssueDescription[] => {
    if (issue.code === 'invalid_union' && !isContract(issue.message)) {
      const branch = branchOfItsType(issue.errors);
      if (branch !== undefined) return describeIssues(branch.map((inner) => ({ ...inner, path: [...issue.path, ...inner.path] })), schema, input);
    }
    if (issue.code === 'custom' && issue.params?.showsReceived === true) return [{ path: issue.path, contract: contractOf(issue) }];
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(schema, issue.path, input);
      const contract =
        known === undefined ? 'is not a known key (a typo?)' : `is not a known key (a typo?); the known keys are ${known.join(', ')}`;
      return issue.keys.map((key) => ({ path: [...issue.path, key], contract }));
    }
    // A mapping key its record refuses ("Bold" for a style token): the key's own contract, and the key.
    if (issue.code === 'invalid_key') {
      const inner = issue.issues[0];
      return [{ path: issue.path, contract: inner === undefined ? issue.message : contractOf(inner), received: issue.path.at(-1) }];
    }
    return [{ path: issue.path, contract: contractOf(issue), received: valueAt(input, issue.path) }];
  });
}

/**
 * The issues of the one option of a union whose type the value has ("Invalid input" says nothing
 * of why a mapping failed the mapping's rules), or undefined when several or none have it.
 */
function branchOfItsType(branches: readonly (readonly z.core.$ZodIssue[])[]): readonly z.core.$ZodIssue[] | undefined {
  const ofItsType = branches.filter((issues) => !issues.some(isTypeMismatch));
  return ofItsType.length === 1 ? ofItsType[0] : undefined;
}

/** A value of the wrong type where the schema itself stands (not in one of its fields). */
function isTypeMismatch(issue: z.core.$ZodIssue): boolean {
  return issue.code === 'invalid_type' && issue.path.length === 0;
}

/** A message given in the schema ("must be a lower-case code such as ...") is already a contract. */
function isContract(message: string): boolean {
  return /^(must|may) /.test(message);
}

/** `z.int()` whose type error reads "must be an integer" (zod's own says "expected number"). */
export function integer() {
  return z.int({ error: (issue) => (issue.code === 'invalid_type' ? 'must be an integer' : undefined) });
}

/** `['floors', 3, 'sort']` → `floors[3].sort`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

/** The value at `path` in plain data, or undefined. */
export function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = input;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

/** A received value as shown in messages: JSON, cut at 80 characters; "nothing" when absent. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  // JSON would write Infinity (YAML's 1e400 or .inf) and NaN as null.
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  const json = JSON.stringify(typeof value === 'string' ? withoutPasswords(value) : value);
  return json.length > 80 ? `${json.slice(0, 77)}...` : json;
}

const typeNames: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'a boolean (true or false)',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
};

/** Turns a zod issue into the contract half of a message: "must be an integer". */
function contractOf(issue: z.core.$ZodIssue): string {
  if (isContract(issue.message)) return issue.message;
  switch (issue.code) {
    case 'invalid_type':
      return `must be ${typeNames[issue.expected] ?? issue.expected}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small': {
      if (issue.origin === 'array' || issue.origin === 'string') {
        return `must have at least ${String(issue.minimum)} ${issue.origin === 'array' ? 'item(s)' : 'character(s)'}`;
      }
      return issue.inclusive === false ? `must be greater than ${String(issue.minimum)}` : `must be at least ${String(issue.minimum)}`;
    }
    case 'too_big': {
      if (issue.origin === 'array' || issue.origin === 'string') {
        return `must have at most ${String(issue.maximum)} ${issue.origin === 'array' ? 'item(s)' : 'character(s)'}`;
      }
      return issue.inclusive === false ? `must be less than ${String(issue.maximum)}` : `must be at most ${String(issue.maximum)}`;
    }
    case 'invalid_format':
      return issue.format === 'regex' ? `must match ${String(issue.pattern)}` : `must be a valid ${issue.format}`;
    case 'invalid_union': {
      const options = (issue as { options?: unknown }).options;
      if (Array.isArray(options)) return `must be one of ${options.map((v) => JSON.stringify(v)).join(', ')}`;
      // A value of none of the union's types: the types it may have.
      const expected = issue.errors.map((issues) => issues.find(isTypeMismatch));
      if (issue.errors.length > 0 && expected.every((e) => e !== undefined && e.code === 'invalid_type')) {
        return `must be ${[...new Set(expected.map((e) => (e?.code === 'invalid_type' ? (typeNames[e.expected] ?? e.expected) : '')))].join(' or ')}`;
      }
      return issue.message;
    }
    default:
      return issue.message;
  }
}

/** The minimum of zod's internal definition this module reads to find allowed keys. */
interface SchemaDef {
  readonly type: string;
  readonly shape?: Record<string, z.ZodType>;
  readonly element?: z.ZodType;
  readonly valueType?: z.ZodType;
  readonly innerType?: z.ZodType;
  readonly in?: z.ZodType;
  readonly options?: readonly z.ZodType[];
  readonly discriminator?: string;
}

function defOf(schema: z.ZodType): SchemaDef {
  return schema._zod.def as unknown as SchemaDef;
}

/** Keys the object schema at `path` allows, or undefined when that cannot be told. */
function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[], input: unknown): string[] | undefined {
  let current: z.ZodType | undefined = schema;
  let depth = 0;
  while (current !== undefined) {
    const def = defOf(current);
    if (def.innerType !== undefined) current = def.innerType;
    else if (def.type === 'pipe') current = def.in;
    else if (def.type === 'union') current = matchingOption(def, valueAt(input, path.slice(0, depth)));
    else if (depth === path.length) return def.type === 'object' && def.shape !== undefined ? Object.keys(def.shape) : undefined;
    else if (def.type === 'object') current = def.shape?.[String(path[depth++])];
    else if (def.type === 'array' || def.type === 'record') {
      current = def.type === 'array' ? def.element : def.valueType;
      depth++;
    } else return undefined;
  }
  return undefined;
}

/** The option of a discriminated union the input chose, or of another union the one of the input's type; or undefined. */
function matchingOption(def: SchemaDef, value: unknown): z.ZodType | undefined {
  if (def.discriminator === undefined) {
    const ofItsType = def.options?.filter((option) => !(option.safeParse(value).error?.issues.some(isTypeMismatch) ?? false));
    return ofItsType?.length === 1 ? ofItsType[0] : undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const chosen = (value as Record<string, unknown>)[def.discriminator];
  return def.options?.find((option) => {
    const field = defOf(option).shape?.[def.discriminator as string];
    return field !== undefined && field.safeParse(chosen).success;
  });
}
