/**
 * The GraphQL side of the error catalogue (src/errors.ts): a thrown value as the GraphQLError
 * Apollo needs. Apollo reads a whole-request failure's status and headers from
 * `extensions.http` of the error *before* formatting it, so an error that must answer 401,
 * 429 or 503 (a context that fails) has to carry them when it is thrown; `formatError` then
 * shows the same client error through {@link toClientError}.
 */
import { HeaderMap } from '@apollo/server';
import { GraphQLError, type ASTNode, type Source } from 'graphql';
import { toClientError } from '../errors.ts';

/** Where in the query the error points, when it points anywhere (a refused variable), and the field it failed, if one. */
export interface ErrorLocation {
  readonly nodes?: readonly ASTNode[] | undefined;
  readonly source?: Source | undefined;
  readonly positions?: readonly number[] | undefined;
  readonly path?: ReadonlyArray<string | number> | undefined;
}

/**
 * `thrown` as its client error, with `extensions.http` (status and headers) unless it fails
 * only its field (status 200). The thrown value stays its `originalError`, so a masked one is
 * logged as what it was.
 */
export function toGraphQLError(thrown: unknown, location: ErrorLocation = {}): GraphQLError {
  const client = toClientError(thrown);
  const headers = Object.entries(client.headers);
  return new GraphQLError(client.message, {
    ...location,
    originalError: thrown instanceof Error ? thrown : undefined,
    extensions: {
      ...client.extensions,
      ...(client.status === 200 ? {} : { http: { status: client.status, ...(headers.length === 0 ? {} : { headers: new HeaderMap(headers) }) } }),
    },
  });
}
