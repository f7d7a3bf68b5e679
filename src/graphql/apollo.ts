/**
 * The Apollo Server instance: schema, resolvers and the error policy. No CDN landing page
 * (these machines cannot reach it; src/http serves a local one), no cache-control plugin
 * (no cache hints are used, and it costs CPU per field), no stack traces in any mode.
 */
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import type { GraphQLFormattedError } from 'graphql';
import { ClientErrorCode } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import type { GraphQLContext } from './context.ts';
import { resolvers } from './resolvers.ts';
import { loadTypeDefs } from './schema.ts';

export interface ApolloOptions {
  readonly logger: Logger;
  /** Whether clients may introspect the schema; off in production. */
  readonly introspection: boolean;
  readonly plugins?: readonly ApolloServerPlugin<GraphQLContext>[];
}

/** Codes Apollo and our resolvers raise on purpose: shown to clients as they are. */
const PUBLIC_CODES = new Set<string>([
  ClientErrorCode.UNAUTHENTICATED,
  ClientErrorCode.BAD_USER_INPUT,
  ClientErrorCode.BAD_REQUEST,
  ClientErrorCode.SERVICE_UNAVAILABLE,
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
]);

export function createApolloServer(options: ApolloOptions): ApolloServer<GraphQLContext> {
  const { logger } = options;
  return new ApolloServer<GraphQLContext>({
    typeDefs: loadTypeDefs(),
    resolvers,
    introspection: options.introspection,
    includeStacktraceInErrorResponses: false,
    // Shutdown is ours (src/main.ts drains HTTP first); Apollo's own SIGTERM handler would race it.
    stopOnTerminationSignals: false,
    logger,
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginCacheControlDisabled(),
      ApolloServerPluginInlineTraceDisabled(),
      ApolloServerPluginSchemaReportingDisabled(),
      ApolloServerPluginUsageReportingDisabled(),
      ...(options.plugins ?? []),
    ],
    formatError(formatted, error): GraphQLFormattedError {
      const code = formatted.extensions?.code;
      if (typeof code === 'string' && PUBLIC_CODES.has(code)) {
        // Apollo may attach a stacktrace extension in development; strip everything but code and argumentName.
        const { stacktrace: _dropped, ...extensions } = formatted.extensions ?? {};
        return { ...formatted, extensions };
      }
      logger.error({ err: unwrapResolverError(error), path: formatted.path }, 'internal error masked for the client');
      return {
        message: 'Internal server error',
        ...(formatted.path === undefined ? {} : { path: formatted.path }),
        extensions: { code: ClientErrorCode.INTERNAL_SERVER_ERROR },
      };
    },
  });
}
