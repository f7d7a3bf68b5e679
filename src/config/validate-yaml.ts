/**
 * Parses a YAML file and validates it against a zod schema, reporting every problem as
 * "`<path>` <contract>, but got: <value> (<file>:<line>)" — the operator's view of an error.
 *
 * Shared by the service config and the floors layouts, so both speak the same language.
 */
import { isNode, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';

/** A problem found in a YAML file, with its location. */
export interface YamlProblem {
  /** Dotted path with indexes, e.g. `floors[3].sort`. */
  readonly path: string;
  /** "`floors[3].sort` must be an integer, but got: "top" (floors/x.yaml:14)". */
  readonly message: string;
  readonly line: number | undefined;
}

/** A parsed YAML document that can point at the line of any path in it. */
export class LocatedYaml {
  readonly doc: Document;
  private readonly lines: LineCounter;
  readonly file: string;

  constructor(file: string, source: string) {
    this.file = file;
    this.lines = new LineCounter();
    this.doc = parseDocument(source, { lineCounter: this.lines, prettyErrors: false, uniqueKeys: true });
  }

  /** Syntax errors, already formatted, empty when the YAML parsed. */
  syntaxProblems(): YamlProblem[] {
    return this.doc.errors.map((error) => {
      const line = this.lines.linePos(error.pos[0]).line;
      const first = error.message.split('\n')[0] ?? error.message;
      return { path: '', line, message: `YAML syntax error: ${first} (${this.file}:${line})` };
    });
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
    const got = arguments.length >= 3 ? `, but got: ${describe(received)}` : '';
    const subject = shown === '' ? 'the file' : `\`${shown}\``;
    return { path: shown, line, message: `${subject} ${contract}${got} (${where})` };
  }

  toJS(): unknown {
    return this.doc.toJS();
  }

  /** Validates the document against `schema`; returns the value or every problem found. */
  validate<S extends z.ZodType>(schema: S): { ok: true; value: z.output<S> } | { ok: false; problems: YamlProblem[] } {
    const syntax = this.syntaxProblems();
    if (syntax.length > 0) return { ok: false, problems: syntax };
    const input = this.toJS();
    const result = schema.safeParse(input);
    if (result.success) return { ok: true, value: result.data };
    const problems = result.error.issues.flatMap((issue) => {
      if (issue.code === 'unrecognized_keys') {
        return issue.keys.map((key) => this.problem([...issue.path, key], 'is not a known key (a typo?)'));
      }
      return [this.problem(issue.path, contractOf(issue), valueAt(input, issue.path))];
    });
    return { ok: false, problems };
  }
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

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = input;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const json = JSON.stringify(value);
  return json.length > 80 ? `${json.slice(0, 77)}...` : json;
}

const typeNames: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'a boolean (true or false)',
  array: 'a list',
  object: 'a mapping',
};

/** Turns a zod issue into the contract half of a message: "must be an integer". */
function contractOf(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `must be ${typeNames[issue.expected] ?? issue.expected}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small':
      return issue.origin === 'array' || issue.origin === 'string'
        ? `must have at least ${String(issue.minimum)} ${issue.origin === 'array' ? 'item(s)' : 'character(s)'}`
        : `must be at least ${String(issue.minimum)}`;
    case 'too_big':
      return `must be at most ${String(issue.maximum)}`;
    case 'invalid_format':
      return `must be ${issue.format === 'regex' ? issue.message : `a valid ${issue.format}`}`;
    default:
      return issue.message;
  }
}
