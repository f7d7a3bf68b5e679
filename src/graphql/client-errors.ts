/** GraphQL errors a client may see, with `extensions.code` from the public enum and an HTTP status. */
import { GraphQLError } from 'graphql';
import { ClientErrorCode } from '../errors.ts';

export function badUserInput(message: string, argument?: string): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: ClientErrorCode.BAD_USER_INPUT, ...(argument === undefined ? {} : { argumentName: argument }) },
  });
}

/**
 * A variable the operation's definitions refuse (missing, null where non-null, wrong type):
 * HTTP 400 and no data. Keeps graphql-js's message, which names the variable and what was
 * wrong, and its location in the query.
 */
export function invalidVariable(error: GraphQLError): GraphQLError {
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    extensions: { ...error.extensions, code: ClientErrorCode.BAD_USER_INPUT, http: { status: 400 } },
  });
}

/** Whole-request failure: HTTP 401 and no data. */
export function unauthenticated(message: string): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: ClientErrorCode.UNAUTHENTICATED, http: { status: 401, headers: new Map([['www-authenticate', 'Bearer']]) } },
  });
}

/** Whole-request failure of a dependency: HTTP 503 with Retry-After, no data. */
export function serviceUnavailable(message: string, retryAfterSeconds = 5): GraphQLError {
  return new GraphQLError(message, {
    extensions: {
      code: ClientErrorCode.SERVICE_UNAVAILABLE,
      http: { status: 503, headers: new Map([['retry-after', String(retryAfterSeconds)]]) },
    },
  });
}

/**
 * Whole-request refusal by the per-user rate limit: HTTP 429 with Retry-After, no data.
 * `retryAfterMs` is the header's whole seconds in milliseconds, so the two never disagree.
 */
export function rateLimited(retryAfterMs: number): GraphQLError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new GraphQLError(`too many requests; retry after ${seconds} s`, {
    extensions: {
      code: ClientErrorCode.RATE_LIMITED,
      retryAfterMs: seconds * 1000,
      http: { status: 429, headers: new Map([['retry-after', String(seconds)]]) },
    },
  });
}
