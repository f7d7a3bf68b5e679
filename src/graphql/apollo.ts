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
import { ApolloArmor } from '@escape.tech/graphql-armor';
import { makeExecutableSchema } from '@graphql-tools/schema';
import type { IResolvers } from '@graphql-tools/utils';
import type { KeyValueCache } from '@apollo/utils.keyvaluecache';
import type { GraphQLFormattedError } from 'graphql';
import { DEFAULT_TTL_SECONDS } from '../cache/redis-kv.ts';
import { toClientError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import type { RenderedPanel } from '../panels/panel.ts';
import type { GraphQLContext } from './context.ts';
import { JitCompiler } from './jit-gateway.ts';
import { KnownOperationTypesRule } from './known-operation-types.ts';
import { KnownOperations, type EndOfRequest } from './known-operations.ts';
import { persistedQueryBudgetPlugin, type PersistedQueryBudgetOptions } from './persisted-query-budget.ts';
import { armorOptions, persistable, queryLimitsPlugin, type QueryLimits } from './query-limits.ts';
import { resolvers, upstreamEnum } from './resolvers.ts';
import { loadTypeDefs } from './schema.ts';

export interface ApolloOptions {
  readonly logger: Logger;
  /** Whether clients may introspect the schema; off in production. */
  readonly introspection: boolean;
  /** Query limits (graphql-armor): depth, aliases, cost, tokens. */
  readonly limits: QueryLimits;
  /** Where Automatic Persisted Queries are kept (Redis-backed, shared by every instance). */
  readonly persistedQueries: KeyValueCache<string>;
  /** Each user's budget of new persisted queries: past it a new hash is run but not stored. */
  readonly persistedQueryBudget: Omit<PersistedQueryBudgetOptions, 'isStored' | 'logger'>;
  /**
   * Extra Apollo plugins. Refused while the fast path is on: a clean fast-path answer never
   * runs Apollo's pipeline, so such a plugin would be skipped silently. End-of-request work
   * both paths must do belongs in the shared list (see {@link createApolloServer}).
   */
  readonly plugins?: readonly ApolloServerPlugin<GraphQLContext>[];
}

/** Apollo Server, and the fast path for the operations it has validated (off: undefined). */
export interface FloorplanGraphQL {
  readonly apollo: ApolloServer<GraphQLContext>;
  readonly knownOperations: KnownOperations<GraphQLContext> | undefined;
}

export function createApolloServer(options: ApolloOptions & { readonly fastPath?: boolean }): FloorplanGraphQL {
  const { logger } = options;
  const armor = new ApolloArmor(armorOptions(options.limits, options.introspection)).protect();
  const schema = makeExecutableSchema({ typeDefs: loadTypeDefs(), resolvers: resolvers as IResolvers });
  const compiler = new JitCompiler(schema);
  const fastPath = options.fastPath !== false;
  if (fastPath && (options.plugins?.length ?? 0) > 0) {
    throw new Error('extra Apollo plugins would be skipped by the known-operations fast path: add end-of-request work to the shared hooks, or turn server.fastPath off');
  }
  // The one error layer and the one list of end-of-request hooks, for Apollo's path and the fast path alike.
  const formatError = clientErrorFormatter(logger);
  const endOfRequest: ReadonlyArray<EndOfRequest<GraphQLContext>> = [servedPanels, decisionLog(logger)];
  const knownOperations = fastPath ? new KnownOperations<GraphQLContext>(compiler, { formatError, endOfRequest }) : undefined;
  const apollo = new ApolloServer<GraphQLContext>({
    gateway: compiler.gateway(),
    introspection: options.introspection,
    validationRules: [KnownOperationTypesRule, ...armor.validationRules],
    parseOptions: { maxTokens: options.limits.maxTokens },
    allowBatchedHttpRequests: false,
    // One day, the APQ store's own default: a query registered by anyone cannot stay for good.
    persistedQueries: { cache: sizeBounded(options.persistedQueries), ttl: DEFAULT_TTL_SECONDS },
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
      ...(armor.plugins as ApolloServerPlugin<GraphQLContext>[]),
      queryLimitsPlugin<GraphQLContext>(options.limits),
      persistedQueryBudgetPlugin({
        ...options.persistedQueryBudget,
        logger,
        isStored: async (queryHash) => (await options.persistedQueries.get(APQ_KEY_PREFIX + queryHash)) !== undefined,
      }),
      {
        requestDidStart: async () => ({
          willSendResponse: async ({ contextValue, response }) => {
            const delivered = response.body.kind === 'single' && response.body.singleResult.data != null;
            for (const hook of endOfRequest) hook(contextValue, delivered);
          },
        }),
      },
      ...(knownOperations === undefined ? [] : [knownOperations.plugin()]),
      ...(options.plugins ?? []),
    ],
    formatError,
  });
  return { apollo, knownOperations };
}

/** What Apollo puts before a hash in its APQ store's keys (its APQ_CACHE_PREFIX, which it does not export). */
const APQ_KEY_PREFIX = 'apq:';

/** The APQ store, refusing (silently: the request still runs) a query over MAX_PERSISTED_QUERY_BYTES. */
function sizeBounded(cache: KeyValueCache<string>): KeyValueCache<string> {
  return {
    get: (key) => cache.get(key),
    set: (key, value, setOptions) => (persistable(value) ? cache.set(key, value, setOptions) : Promise.resolve()),
    delete: (key) => cache.delete(key),
  };
}

/** Any error as the client sees it (src/errors.ts's catalogue); a masked one is logged with what it was. */
function clientErrorFormatter(logger: Logger): (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError {
  return (formatted, error) => {
    const client = toClientError(error);
    const path = formatted.path;
    if (client.masked) {
      logger.error({ err: unwrapResolverError(error), path }, 'internal error masked for the client');
      return { message: client.message, ...(path === undefined ? {} : { path }), extensions: client.extensions };
    }
    return { ...formatted, message: client.message, extensions: client.extensions };
  };
}

/**
 * Counts the panels the client got in the panel metrics (PanelRenderer.served): not one refused
 * as late (never pushed), nor any of an answer whose `data` is null — every panel is non-null,
 * so one refused panel (a foreign SKU, an unknown scene) takes its siblings' data with it.
 */
const servedPanels: EndOfRequest<GraphQLContext> = (contextValue, delivered) => {
  if (!delivered) return;
  for (const { panel, outcomes } of contextValue.panels) contextValue.renderer.served(panel, outcomes);
};

/**
 * The money a panel showed, for its decision record: each row's amount in minor units by floor
 * code (text rows showed none), and the currency. A replay prices today's cart with today's
 * quote; a disputed "the sheet said ¥8.86" is answered from these. The cross-checks keep a
 * served panel in one currency; a row in another (which they would have refused) is recorded
 * with its own, never under the panel's.
 */
function shownAmounts(floors: RenderedPanel['floors']): { currency: string | null; amounts: Record<string, number | { minor: number; currency: string }> } {
  const currency = floors.find((f) => f.amount !== null)?.amount?.currency ?? null;
  const amounts: Record<string, number | { minor: number; currency: string }> = {};
  for (const { code, amount } of floors) {
    if (amount !== null) amounts[code] = amount.currency === currency ? amount.minor : { minor: amount.minor, currency: amount.currency };
  }
  return { currency, amounts };
}

/**
 * Runs once a request's answer is on its way, on either path, and writes the decision record:
 * once per request whose answer carried panels, one log line under the request's decisionId with
 * the viewer (the Unleash context's fields — user, session, segments, platform, app version — and
 * the locale), each panel's scene, SKU selection, layout version, live revision (and candidate
 * revision, when served), outcome and the amounts it showed, every flag decision and, when the request was traced, its
 * trace id, so support can reconstruct what the user saw, and replay it field for field in
 * /admin/preview. An answer whose
 * `data` is null showed the user nothing: no record (an analyst would count an exposure).
 */
function decisionLog(logger: Logger): EndOfRequest<GraphQLContext> {
  return (contextValue, delivered) => {
    const { panels: rendered, decisionId, flags, viewer, trace } = contextValue;
    if (!delivered || rendered === undefined || rendered.length === 0 || !logger.isLevelEnabled('info')) return;
    logger.info(
      {
        decisionId,
        // A traced request's trace (its server span carries the decisionId too); undefined, left out of the line, when not traced.
        traceId: trace.traceId,
        userId: viewer.userId,
        sessionId: viewer.sessionId,
        segments: viewer.segments,
        platform: viewer.platform,
        appVersion: viewer.appVersion,
        locale: viewer.locale,
        panels: rendered.map(({ panel: p, selectedSkuIds, revision, candidateRevision }) => ({
          scene: p.scene,
          // Null: the ticked lines, as the preview takes it (an empty list is another selection: none).
          selectedSkuIds,
          layoutVersion: p.layoutVersion,
          // Which floors: layoutVersion stays the same when a scene changes under the same `version:`.
          revision,
          ...(candidateRevision === null ? {} : { candidateRevision }),
          degraded: p.degraded,
          // As the client got them (PROMOTION): support compares the record with the user's answer.
          failedUpstreams: p.failedUpstreams.map(upstreamEnum),
          degradedReasons: p.degradedReasons,
          floors: p.floors.map((f) => f.code),
          ...shownAmounts(p.floors),
        })),
        flags: flags.decisions(),
      },
      'panel decisions',
    );
  };
}
