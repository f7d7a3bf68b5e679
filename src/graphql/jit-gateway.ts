/**
 * Executes operations with graphql-jit through Apollo Server's gateway hook. Apollo still
 * parses, validates (with the query limits) and caches documents; execution of a document
 * seen before runs its compiled function instead of graphql-js's interpreter, which walks the
 * AST for every field of every request. Compiled queries are kept per document (bounded).
 *
 * The same compiled functions serve the fast path for known operations (./known-operations.ts).
 */
import type { GatewayExecutor, GatewayInterface } from '@apollo/server-gateway-interface';
import {
  getOperationAST,
  getVariableValues,
  GraphQLError,
  Kind,
  valueFromASTUntyped,
  visit,
  type ArgumentNode,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import { LRUCache } from 'lru-cache';
import { ErrorCode, FloorplanError } from '../errors.ts';
import { toGraphQLError } from './client-errors.ts';

/** Distinct operations kept compiled; a client app sends a handful, an attacker many (evicted). */
const COMPILED_OPERATIONS = 1000;

export class JitCompiler {
  private readonly compiled = new LRUCache<string, CompiledQuery>({ max: COMPILED_OPERATIONS });
  /** The operation each compiled query runs, to explain variables it refused (see {@link run}). */
  private readonly operations = new WeakMap<CompiledQuery, OperationDefinitionNode>();

  constructor(readonly schema: GraphQLSchema) {}

  /** The compiled function for one operation of a validated document, or the errors compiling it raised. */
  compile(document: DocumentNode, queryHash: string, operationName: string | null | undefined): CompiledQuery | ExecutionResult {
    const key = `${queryHash}\u0000${operationName ?? ''}`;
    let query = this.compiled.get(key);
    if (query === undefined) {
      const result = compileQuery(this.schema, document, operationName ?? undefined, {
        // Errors become client errors (masked unless public); their stacks are never sent.
        disablingCapturingStackErrors: true,
        // String, Int, Boolean, ID and enum leaves are copied as they are instead of going
        // through their serializers: each such call took the field's location and path as
        // fresh arrays, about 1 KB of garbage per floor. The values are already what the
        // serializers would produce: the renderer's typed output, enum names as strings, and
        // Floor.sort checked to 32 bits where the floors files are validated. Null checks stay;
        // MinorUnits, a custom scalar, is still serialized.
        disableLeafSerialization: true,
      });
      if (!isCompiledQuery(result)) return result;
      const operation = getOperationAST(document, operationName ?? undefined);
      query = operation ? withNullDirectivesRefused(withNonNullDefaults(result, operation), operation, document) : result;
      this.compiled.set(key, query);
      if (operation) this.operations.set(query, operation);
    }
    return query;
  }

  /** Runs a compiled query; its errors come out as proper GraphQLErrors (see {@link withExtensions}). */
  async run(query: CompiledQuery, context: object, variables: Readonly<Record<string, unknown>> | null | undefined): Promise<ExecutionResult> {
    const result = await query.query(undefined, context, variables ?? {});
    if (result.errors === undefined) return result;
    // No data at all: graphql-jit refused the variables before executing anything.
    if (result.data === undefined) return this.refusedVariables(query, variables) ?? { errors: result.errors.map(withExtensions) };
    return { ...result, errors: result.errors.map(withExtensions) };
  }

  /**
   * graphql-jit reports bad variables without the variable's definition node and without a
   * code, so Apollo cannot tell them from a server fault and masks them. graphql-js's own
   * coercion states the same problems, each naming its variable; those become BAD_USER_INPUT
   * (HTTP 400). Only a request that already failed pays for the second coercion.
   */
  private refusedVariables(query: CompiledQuery, variables: Readonly<Record<string, unknown>> | null | undefined): ExecutionResult | undefined {
    const operation = this.operations.get(query);
    if (operation === undefined) return undefined;
    const coerced = getVariableValues(this.schema, operation.variableDefinitions ?? [], variables ?? {});
    if (coerced.errors === undefined) return undefined;
    // graphql-js's message names the variable and what was wrong; its location points at it.
    return {
      errors: coerced.errors.map((error) =>
        toGraphQLError(new FloorplanError(ErrorCode.QUERY_VARIABLE_INVALID, { problem: error.message }), error),
      ),
    };
  }

  gateway(): GatewayInterface {
    const executor: GatewayExecutor = async (request) => {
      // Apollo found no operation by this name (an empty one, say); graphql-jit would pick the
      // document's only operation regardless. Answer as graphql-js does, so Apollo replies 400.
      if ((request.operation as OperationDefinitionNode | undefined) === undefined) {
        const name = request.request.operationName;
        return {
          errors: [
            new GraphQLError(
              name === undefined || name === null ? 'Must provide operation name if query contains multiple operations.' : `Unknown operation named "${name}".`,
            ),
          ],
        };
      }
      const query = this.compile(request.document, request.queryHash, request.operationName);
      if (!isCompiledQuery(query)) return query;
      return this.run(query, request.context, request.request.variables);
    };
    const { schema } = this;
    return {
      async load() {
        return { executor };
      },
      onSchemaLoadOrUpdate(callback) {
        callback({ apiSchema: schema, coreSupergraphSdl: '' });
        return () => {};
      },
      stop: async () => {
        this.compiled.clear();
      },
    };
  }
}

/**
 * `query`, taking the defaults of the non-null variables a request leaves out. graphql-jit
 * (0.8.9) refuses such a variable as "not provided", where the GraphQL spec ("Coercing Variable
 * Values") and graphql-js use its default: `query($s: String! = "cart-bottom-sheet")` sent
 * without `s`. So each default left out is filled in, as the literal the client could have sent,
 * before graphql-jit coerces the variables. An operation without such a variable (every one
 * the apps send) keeps graphql-jit's function as it is.
 */
function withNonNullDefaults(query: CompiledQuery, operation: OperationDefinitionNode): CompiledQuery {
  const defaults: Array<readonly [string, unknown]> = [];
  for (const definition of operation.variableDefinitions ?? []) {
    if (definition.type.kind === Kind.NON_NULL_TYPE && definition.defaultValue !== undefined) {
      defaults.push([definition.variable.name.value, valueFromASTUntyped(definition.defaultValue)]);
    }
  }
  if (defaults.length === 0) return query;
  const run = query.query;
  return {
    ...query,
    query: (root, context, variables) => {
      const given: Record<string, unknown> = variables ?? {};
      let filled: Record<string, unknown> | undefined;
      for (const [name, value] of defaults) {
        if (!Object.hasOwn(given, name)) (filled ??= { ...given })[name] = value;
      }
      return run(root, context, filled ?? given);
    },
  };
}

/**
 * `query`, refusing a null that reaches `@skip(if:)` or `@include(if:)` through a nullable
 * variable with a default (which validation lets stand there). graphql-js refuses it, as the
 * spec's Boolean! asks; graphql-jit (0.8.9) treats null as false and silently drops or keeps the
 * field. Refused as graphql-js words it, with no data. An operation without such a variable
 * (every one the apps send) keeps graphql-jit's function as it is.
 */
function withNullDirectivesRefused(query: CompiledQuery, operation: OperationDefinitionNode, document: DocumentNode): CompiledQuery {
  const nullable = new Set((operation.variableDefinitions ?? []).filter((d) => d.type.kind !== Kind.NON_NULL_TYPE).map((d) => d.variable.name.value));
  const conditions = new Map<string, ArgumentNode>();
  for (const definition of document.definitions) {
    if (definition !== operation && definition.kind !== Kind.FRAGMENT_DEFINITION) continue;
    visit(definition, {
      Directive(directive) {
        if (directive.name.value !== 'skip' && directive.name.value !== 'include') return;
        const condition = directive.arguments?.find((a) => a.name.value === 'if');
        if (condition?.value.kind === Kind.VARIABLE && nullable.has(condition.value.name.value)) conditions.set(condition.value.name.value, condition);
      },
    });
  }
  if (conditions.size === 0) return query;
  const run = query.query;
  return {
    ...query,
    query: (root, context, variables) => {
      for (const [name, argument] of conditions) {
        if (variables != null && Object.hasOwn(variables, name) && variables[name] === null) {
          const error = toGraphQLError(new FloorplanError(ErrorCode.QUERY_ARGUMENT_INVALID, { problem: 'Argument "if" of non-null type "Boolean!" must not be null.' }), { nodes: [argument] });
          return { data: null, errors: [error] };
        }
      }
      return run(root, context, variables);
    },
  };
}

/**
 * graphql-jit's words (and graphql-js's) for an argument that a variable made null where the
 * schema says non-null: a nullable variable with a default, sent as null, which validation lets
 * stand there. Refused as the field runs; the client's mistake, not a server fault.
 */
const NULL_ARGUMENT = /^Argument "[^"]+" of non-null type "[^"]+" must not be null\.$/;

/**
 * graphql-jit's errors inherit GraphQLError's prototype but skip its constructor, so they
 * have no `extensions`; Apollo reads `error.extensions.code` and, failing, masks the error
 * without its path. Rebuild each as a proper GraphQLError, keeping path, locations and cause;
 * a null argument (graphql-jit's own error, with no cause) as the client's error it is.
 */
function withExtensions(error: GraphQLError): GraphQLError {
  if (error.originalError == null && NULL_ARGUMENT.test(error.message)) {
    return toGraphQLError(new FloorplanError(ErrorCode.QUERY_ARGUMENT_INVALID, { problem: error.message }), {
      nodes: error.nodes,
      source: error.source,
      positions: error.positions,
      path: error.path,
    });
  }
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError ?? undefined,
    extensions: error.extensions ?? (error.originalError as { extensions?: GraphQLError['extensions'] } | undefined)?.extensions,
  });
}
