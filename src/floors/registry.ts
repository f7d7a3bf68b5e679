/**
 * The builder registry: built once at start from a list of builders, checked, then frozen.
 * Unlike unleash-client's strategy list, a duplicate name is an error, not a silent
 * first-match override: two builders for one name is always a mistake.
 */
import { ErrorCode, FloorplanError } from '../errors.ts';
import { UPSTREAMS } from '../upstreams/registry.ts';
import { FLOOR_KINDS, type FloorBuilder, type FloorKind } from './builder.ts';

/** Builders by name, read-only. */
export interface BuilderRegistry {
  get(name: string): FloorBuilder | undefined;
  has(name: string): boolean;
  /** Registered names, sorted, for error messages. */
  readonly names: readonly string[];
}

const KINDS: ReadonlySet<FloorKind> = new Set<FloorKind>(FLOOR_KINDS);
const NAME = /^[a-z][a-z0-9-]*$/;
const VAR = /^[A-Za-z_][A-Za-z0-9_]*$/;

function malformed(index: number, what: string, got: unknown): never {
  throw new FloorplanError(
    ErrorCode.BUILDER_MALFORMED,
    { index, contract: what, received: JSON.stringify(got) ?? String(got) },
  );
}

function checkBuilder(builder: FloorBuilder, index: number): void {
  if (typeof builder !== 'object' || builder === null) malformed(index, 'must be an object', builder);
  const label = typeof builder.name === 'string' ? `"${builder.name}"` : `#${index}`;
  if (typeof builder.name !== 'string' || !NAME.test(builder.name)) {
    malformed(index, 'must have a lower-case `name` such as "plus-rebate"', builder.name);
  }
  if (typeof builder.build !== 'function') malformed(index, `(${label}) must have a build() function`, typeof builder.build);
  if (!KINDS.has(builder.kind)) malformed(index, `(${label}) must have a kind in ${[...KINDS].join('|')}`, builder.kind);
  if (!Array.isArray(builder.needs) || !builder.needs.every((n) => (UPSTREAMS as readonly string[]).includes(n))) {
    malformed(index, `(${label}) must list its needs among ${UPSTREAMS.join('|')}`, builder.needs);
  }
  if (!Array.isArray(builder.templateVars) || !builder.templateVars.every((v) => typeof v === 'string' && VAR.test(v))) {
    malformed(index, `(${label}) must list templateVars as identifiers`, builder.templateVars);
  }
  const { decorations, summarises } = builder;
  if (decorations !== undefined) {
    if (typeof decorations.decorate !== 'function') malformed(index, `(${label}) decorations must have a decorate() function`, typeof decorations.decorate);
    if (!Array.isArray(decorations.needs) || !decorations.needs.every((n) => (UPSTREAMS as readonly string[]).includes(n))) {
      malformed(index, `(${label}) decorations must list their needs among ${UPSTREAMS.join('|')}`, decorations.needs);
    }
    if (!Array.isArray(decorations.vars) || !decorations.vars.every((v) => builder.templateVars.includes(v))) {
      malformed(index, `(${label}) decorations.vars must be among its templateVars`, decorations.vars);
    }
  }
  for (const [variable, kind] of Object.entries(summarises ?? {})) {
    if (!builder.templateVars.includes(variable) || !KINDS.has(kind)) {
      malformed(index, `(${label}) summarises must map its templateVars to a kind in ${[...KINDS].join('|')}`, { [variable]: kind });
    }
  }
}

/** Checks every builder and returns a frozen registry; a malformed or duplicate builder throws. */
export function createBuilderRegistry(builders: readonly FloorBuilder[]): BuilderRegistry {
  const byName = new Map<string, FloorBuilder>();
  builders.forEach((builder, index) => {
    checkBuilder(builder, index);
    if (byName.has(builder.name)) {
      throw new FloorplanError(
        ErrorCode.BUILDER_DUPLICATE,
        { name: builder.name, index },
      );
    }
    byName.set(builder.name, Object.freeze(builder));
  });
  const names = Object.freeze([...byName.keys()].sort());
  return Object.freeze({
    get: (name: string) => byName.get(name),
    has: (name: string) => byName.has(name),
    names,
  });
}
