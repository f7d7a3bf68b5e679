/**
 * Executes operations with graphql-jit through Apollo Server's gateway hook. Apollo still
 * parses, validates (with the query limits) and caches documents; execution of a document
 * seen before runs its compiled function instead of graphql-js's interpreter, which walks the
 * AST for every field of every request. Compiled queries are kept per document (bounded).
 */
import type { GatewayExecutor, GatewayInterface } from '@apollo/server-gateway-interface';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import { LRUCache } from 'lru-cache';

/** Distinct operations kept compiled; a client app sends a handful, an attacker many (evicted). */
const COMPILED_OPERATIONS = 1000;

export function jitGateway(schema: GraphQLSchema): GatewayInterface {
  const compiled = new LRUCache<string, CompiledQuery>({ max: COMPILED_OPERATIONS });
  const executor: GatewayExecutor = async (request) => {
    const key = `${request.queryHash}\u0000${request.operationName ?? ''}`;
    let query = compiled.get(key);
    if (query === undefined) {
      const result = compileQuery(schema, request.document, request.operationName ?? undefined, {
        // Errors become client errors (masked unless public); their stacks are never sent.
        disablingCapturingStackErrors: true,
      });
      if (!isCompiledQuery(result)) return result;
      query = result;
      compiled.set(key, query);
    }
    const result = await query.query(undefined, request.context, request.request.variables ?? {});
    return result.errors === undefined ? result : { ...result, errors: result.errors.map(withExtensions) };
  };
  return {
    async load() {
      return { executor };
    },
    onSchemaLoadOrUpdate(callback) {
      callback({ apiSchema: schema, coreSupergraphSdl: '' });
      return () => {};
    },
    async stop() {
      compiled.clear();
    },
  };
}


/**
 * graphql-jit's errors inherit GraphQLError's prototype but skip its constructor, so they
 * have no `extensions`; Apollo reads `error.extensions.code` and, failing, masks the error
 * without its path. Rebuild each as a proper GraphQLError, keeping path, locations and cause.
 */
function withExtensions(error: GraphQLError): GraphQLError {
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError ?? undefined,
    extensions: error.extensions ?? (error.originalError as { extensions?: GraphQLError['extensions'] } | undefined)?.extensions,
  });
}
