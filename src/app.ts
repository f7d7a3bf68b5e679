/**
 * Start-up wiring: config → logger, metrics, Redis (optional), upstream clients (with the
 * promotion cache), builder registry, layout store, flags, renderer, Apollo (with query
 * limits and persisted queries), rate limiter, HTTP server. Everything a running Floorplan
 * owns is created here and released by {@link FloorplanServer.stop}.
 */
import { existsSync, mkdirSync } from 'node:fs';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import { RedisKeyValueCache } from './cache/redis-kv.ts';
import { TieredCache } from './cache/tiered-cache.ts';
import { loadClientsConfig } from './config/clients-config.ts';
import { listenError, type ListenedPort, type ServiceConfig, type UpstreamsConfig } from './config/service-config.ts';
import { describeThrown, ErrorCode, FloorplanError, withoutPasswords } from './errors.ts';
import { toGraphQLError } from './graphql/client-errors.ts';
import { FlagService } from './flags/flag-service.ts';
import type { FloorBuilder } from './floors/builder.ts';
import { defaultBuilders } from './floors/builders/index.ts';
import { createBuilderRegistry } from './floors/registry.ts';
import { PanelRenderer } from './panels/renderer.ts';
import { createApolloServer } from './graphql/apollo.ts';
import type { GraphQLContext } from './graphql/context.ts';
import { createPreviewHandler } from './operators/preview.ts';
import { createLayoutAdminRoutes, LAYOUT_OPERATIONS } from './operators/layout-admin.ts';
import { createConsoleInfoHandler } from './operators/console-info.ts';
import { createFlagsOverviewHandler } from './operators/flags-overview.ts';
import { createPublishCheckHandler } from './operators/publish-check.ts';
import { consolePages } from './console/console-pages.ts';
import { landingPage } from './http/landing-page.ts';
import { AdmissionController } from './http/admission.ts';
import { adminApiEnabled, createHttpServer, type AdminHandler } from './http/server.ts';
import { createUnknownFlagReporter, removedFlagProblems, unknownFlagProblems } from './layouts/flag-names.ts';
import type { LayoutSet } from './layouts/compile.ts';
import { LayoutStore, type LiveRevisionSource } from './layouts/layout-store.ts';
import { pushPublishedLayouts, pushRefusal } from './layouts/publish.ts';
import { LayoutReleases } from './layouts/revisions/releases.ts';
import { pushCandidates } from './layouts/revisions/candidates.ts';
import { CandidateChooser } from './flags/candidate-rollout.ts';
import { ShadowComparer } from './panels/shadow.ts';
import { SharedShadowTotals } from './panels/shadow-totals.ts';
import type { RevisionStore, StoredRevision } from './layouts/revisions/revision-store.ts';
import type { Violation } from './upstreams/definition.ts';
import { RequestPipeline, type RequestContext } from './pipeline/request-pipeline.ts';
import { createLogger, requestLogFields, type LoggedRequest, type Logger } from './observability/logger.ts';
import { createMetrics, type FloorplanMetrics } from './observability/metrics.ts';
import { createTracing, type RequestTrace } from './observability/tracing.ts';
import { closeRedis, describeRedis, isRedisConfigured, openRedis, whenRedisReady, type RedisClient } from './redis/client.ts';
import { createRateLimiter } from './security/rate-limit.ts';
import { logBreakerOutages } from './upstreams/breaker-log.ts';
import { withPromotionCache } from './upstreams/cached-clients.ts';
import { createHttpUpstreamClients, type UpstreamClients } from './upstreams/clients.ts';
import { noteOverload } from './upstreams/deadline.ts';
import { promotionResultSchema, type PromotionResult } from './upstreams/contracts.ts';
import { UPSTREAMS, type UpstreamName } from './upstreams/registry.ts';
import { createTokenVerifier } from './viewer/authenticate.ts';

/** A layout publish's Redis push may take this long (the whole set, announced to every replica). */
const PUBLISH_COMMAND_TIMEOUT_MS = 5000;

/** How often a refused upstream answer is logged per upstream and reason (each one is counted). */
const VIOLATION_LOG_INTERVAL_MS = 10_000;
/** How long a start waits for the identity provider's signing keys before it serves without them. */
const KEYS_PREFETCH_MS = 2000;

export interface FloorplanDeps {
  /** Replaces the configured upstreams (e.g. the demo server's URLs). */
  readonly upstreams?: UpstreamsConfig;
  /** Replaces the HTTP clients entirely (tests with plain-object fakes). */
  readonly clients?: UpstreamClients;
  readonly logger?: Logger;
  /** Replaces the shipped builders. */
  readonly builders?: readonly FloorBuilder[];
  /** Project root that `floors.dir` and `flags.bootstrapFile` are relative to; default the working directory. */
  readonly root?: string;
}

export interface FloorplanServer {
  /** e.g. http://127.0.0.1:4000 */
  readonly url: string;
  readonly port: number;
  /** With `server.managementPort`: where /metrics, the admin API and the console are, e.g. http://127.0.0.1:9464; else undefined (all at `url`). */
  readonly managementUrl: string | undefined;
  readonly metrics: FloorplanMetrics;
  readonly logger: Logger;
  /** The layouts being served (for tests and tools). */
  readonly layouts: LayoutStore;
  /** The layout revision store; undefined with `layouts.store.kind: none`. */
  readonly revisions: RevisionStore | undefined;
  readonly flags: FlagService;
  /**
   * Turns /readyz to 503 and keeps serving for `server.drainMs`, then stops taking requests, lets
   * in-flight ones finish (up to shutdownGraceMs) and releases everything.
   */
  stop(): Promise<void>;
  /** GraphQL requests admitted and not yet answered (what a stop waits for). */
  inFlightRequests(): number;
}

export async function startFloorplan(config: ServiceConfig, deps: FloorplanDeps = {}): Promise<FloorplanServer> {
  const logger = deps.logger ?? createLogger(config.log.level);
  const root = deps.root ?? process.cwd();
  const metrics = createMetrics({ upstreams: UPSTREAMS });
  const registry = createBuilderRegistry(deps.builders ?? defaultBuilders);
  const redis: RedisClient | undefined = isRedisConfigured(config.redis) ? openRedis({ ...config.redis, name: 'cache' }, logger) : undefined;
  // Every replica's shadow comparisons of a candidate, summed: what the report and promote read.
  const shadowTotals = redis === undefined ? undefined : new SharedShadowTotals({ redis, keyPrefix: config.redis.keyPrefix, logger });
  const releases: Array<() => Promise<void>> = [];
  const release = async () => {
    for (const done of releases.splice(0).reverse()) await done().catch((error: unknown) => logger.warn({ err: error }, 'release failed'));
  };
  if (redis !== undefined) releases.push(() => closeRedis(redis));
  // Released before the client closes (releases run in reverse): comparisons kept through an outage get a last offer.
  if (shadowTotals !== undefined) releases.push(() => shadowTotals.close());
  // The rate limit, the promotion cache and APQ use this client from the first request: a
  // replica does not take traffic before it is connected (within connectTimeoutMs), or its first
  // requests would each take a local bucket of their own. Waited for while the rest starts.
  const redisReady = redis === undefined ? undefined : whenRedisReady(redis, config.redis.connectTimeoutMs);
  // Released last (releases run in reverse): the spans of the requests drained on stop are sent too.
  const tracing = await createTracing(config.tracing, { logger });
  releases.unshift(() => tracing.shutdown());

  try {
    // Read at start, as the service config is: a bad clients file fails here, not at the first publish.
    const appClients = loadClientsConfig(resolve(root, config.floors.clientsFile), config.apps);
    if (appClients === undefined) logger.info({ clientsFile: config.floors.clientsFile }, 'no clients file: publish and candidate are not checked against the live app versions');
    // Flags before layouts: the flag names floors use are checked against them (layouts/flag-names.ts).
    // The layouts exist only once the flags have started; until then the flags' hooks have nothing to check.
    let started: LayoutStore | undefined;
    const reportUnknownFlags = createUnknownFlagReporter(logger, metrics);
    const flags = await FlagService.start(config.flags, logger, {
      root,
      // Local mode: a flags edit that removes a flag a floor still names (live, or a candidate's) is refused, like a floors edit naming an unknown one.
      checkNames: (names) => (started === undefined ? [] : removedFlagProblems(started.current(), names, started.candidates().values(), started.revision())),
      // Remote mode: flags appear in Unleash after the floors that use them; re-check when they change.
      onFlagsChanged: () => {
        if (started !== undefined && flags.mode === 'remote') reportUnknownFlags(started.current(), flags.knownFlagNames());
      },
    });
    releases.push(() => flags.stop());
    metrics.watchFlags(flags);

    // The revision store. PGlite is opened on the first layout operation, or at start when its
    // folder exists (something was published): a first start runs initdb, seconds of CPU that a
    // Floorplan nobody publishes to should not pay.
    const storeConfig = config.layouts.store.kind === 'pglite' ? { ...config.layouts.store, dataDir: resolve(root, config.layouts.store.dataDir) } : config.layouts.store;
    // Imported only with a store: its database clients are CPU to load that a process without one should not pay at start.
    const revisionStore =
      storeConfig.kind === 'none'
        ? undefined
        : new (await import('./layouts/revisions/revision-store.ts')).RevisionStore(storeConfig, {
            logger,
            onStateChange: (state) => metrics.layoutStoreUp(state === 'up'),
            onPrivilegeRefused: (access) => metrics.layoutStorePrivilegeRefused(access),
          });
    if (revisionStore !== undefined) releases.push(() => revisionStore.close());
    const publishedOf = (r: StoredRevision) => ({ revision: r.revision, publishedAt: r.createdAt, files: r.files });
    const liveRevisions: LiveRevisionSource | undefined =
      revisionStore === undefined
        ? undefined
        : {
            liveRevision: async () =>
              storeConfig.kind === 'pglite' && revisionStore.state() === 'unopened' && !existsSync(storeConfig.dataDir) ? undefined : revisionStore.liveRevision(),
            live: async () => {
              const live = await revisionStore.live();
              return live === undefined ? undefined : publishedOf(live);
            },
          };
    let lastKnownGoodFile = config.layouts.lastKnownGoodFile === '' ? undefined : resolve(root, config.layouts.lastKnownGoodFile);
    if (lastKnownGoodFile !== undefined) {
      try {
        mkdirSync(dirname(lastKnownGoodFile), { recursive: true });
      } catch (error) {
        // A read-only image or file system (a container running as a non-root user): serving
        // matters more than the copy, which only helps a start with Redis and the store both down.
        logger.warn(
          { file: lastKnownGoodFile, err: describeThrown(error) },
          'cannot create the folder of the last-known-good layouts copy: running without one (set LAYOUT_LAST_GOOD_FILE to a writable path)',
        );
        lastKnownGoodFile = undefined;
      }
    }
    const checkFlags = flags.mode === 'local' ? (set: LayoutSet) => unknownFlagProblems(set, flags.knownFlagNames() ?? new Set(), flags.file) : undefined;

    // Its own connection: a publish carries the whole set and may wait longer than a cache read's commandTimeoutMs.
    const publishRedis =
      revisionStore === undefined || !isRedisConfigured(config.redis)
        ? undefined
        : openRedis({ ...config.redis, commandTimeoutMs: PUBLISH_COMMAND_TIMEOUT_MS, name: 'layouts-publish' }, logger);
    if (publishRedis !== undefined) releases.push(() => closeRedis(publishRedis));
    // Made before the layout store: replicas read the candidate set through it (approval marks what they serve).
    const layoutReleases =
      revisionStore === undefined
        ? undefined
        : new LayoutReleases({
            store: revisionStore,
            registry,
            locales: config.floors.locales,
            apps: config.apps,
            approval: config.layouts.approval,
            ...(appClients === undefined ? {} : { clients: appClients }),
            ...(checkFlags === undefined ? {} : { check: checkFlags }),
            ...(publishRedis === undefined
              ? {}
              : {
                  push: async (r: StoredRevision) => {
                    // Refused when Redis holds a newer revision (a publisher that lost a race, or a store whose database was restored
                    // or recreated behind it); Redis already holding this very revision (a push retried after a failover) is pushed.
                    const refused = pushRefusal(await pushPublishedLayouts(publishRedis, config.redis.keyPrefix, publishedOf(r)), r.revision);
                    if (refused !== undefined) throw new Error(refused);
                  },
                }),
            // This replica serves it at once; the others hear it from Redis (or their store poll).
            onLive: (r) => void layouts.offer(publishedOf(r)),
            // Its outcome is reported as the live push's: already held counts as pushed, a refusal names what Redis holds.
            ...(publishRedis === undefined ? {} : { pushCandidates: (set) => pushCandidates(publishRedis, config.redis.keyPrefix, set) }),
            onCandidates: (set) => void layouts.offerCandidates(set),
            // The shadow comparer is created with the renderer, below; promote asks it only later.
            // With Redis, every replica's counts (each adds its own there, those made during a Redis outage once it is back), so promote on any replica sees them all.
            // Without it, this replica's alone, in memory: a restart starts them from zero, so promote is refused until traffic is compared again.
            shadow: async (scene, staging) => {
              const local = shadow.verdict(scene, staging);
              if (shadowTotals === undefined) return local;
              try {
                const shared = await shadowTotals.verdict(scene, staging);
                return { compared: Math.max(local.compared, shared.compared), invariantViolations: Math.max(local.invariantViolations, shared.invariantViolations) };
              } catch (error) {
                logger.warn({ err: describeThrown(error) }, 'cannot read the replicas\' shadow comparison from Redis; promote judges by this replica\'s');
                return local;
              }
            },
            logger,
          });
    const layouts = await LayoutStore.start({
      dir: resolve(root, config.floors.dir),
      registry,
      locales: config.floors.locales,
      apps: config.apps,
      watch: config.layouts.watch,
      redis: config.redis,
      resyncIntervalMs: config.layouts.resyncIntervalMs,
      revisions: liveRevisions,
      // The same guard as the live revision: a PGlite folder nobody published to is not created by a poll.
      candidates:
        revisionStore === undefined
          ? undefined
          : {
              candidateGeneration: async () =>
                storeConfig.kind === 'pglite' && revisionStore.state() === 'unopened' && !existsSync(storeConfig.dataDir) ? -1 : revisionStore.candidateGeneration(),
              candidates: () => (layoutReleases as LayoutReleases).candidateSet(),
            },
      lastKnownGoodFile,
      logger,
      // Local mode: a floor naming a flag the flags file does not define is an error with its file:line.
      ...(checkFlags === undefined ? {} : { check: checkFlags }),
      onCandidates: (served) => metrics.layoutCandidates([...served.values()].map((c) => ({ scene: c.scene, revision: c.revision }))),
      onReload: (source, result, detail) => {
        metrics.layoutReload(source, result);
        if (result === 'applied') {
          metrics.layoutRevision(detail.revision);
          metrics.layoutServedFrom(source);
        }
        if (result === 'applied' && started !== undefined && flags.mode === 'remote') reportUnknownFlags(started.current(), flags.knownFlagNames());
      },
    });
    started = layouts;
    releases.push(() => layouts.stop());
    metrics.layoutRevision(layouts.revision());
    metrics.layoutServedFrom(layouts.source());
    if (flags.mode === 'remote') reportUnknownFlags(layouts.current(), flags.knownFlagNames());

    const logBreaker = logBreakerOutages(logger);
    const httpClients =
      deps.clients ??
      createHttpUpstreamClients(deps.upstreams ?? config.upstreams, {
        observe: (upstream, outcome, seconds) => metrics.upstreamCall(upstream, outcome, seconds),
        observeBreaker: (upstream, state, reason) => {
          metrics.upstreamBreakerState(upstream, state);
          logBreaker(upstream, state, reason);
        },
        observeRetry: (upstream) => metrics.upstreamRetry(upstream),
        observeConnectFailure: (upstream, reason) => metrics.upstreamConnectFailure(upstream, reason),
      });
    if (deps.clients === undefined) releases.push(() => httpClients.close());
    const promotionCache = new TieredCache<PromotionResult>({
      name: 'promotion',
      ...config.cache.promotion,
      keyPrefix: `${config.redis.keyPrefix}promotion:v1:`,
      l1MaxEntries: config.cache.l1MaxEntries,
      schema: promotionResultSchema,
      redis,
      breaker: config.cache.redisBreaker,
      metrics,
      logger,
    });
    releases.push(() => promotionCache.close());
    const clients = withPromotionCache(httpClients, promotionCache);

    const limiter = createRateLimiter({
      redis,
      keyPrefix: `${config.redis.keyPrefix}rate:`,
      ratePerSecond: config.limits.rateLimitPerSecond,
      burst: config.limits.rateLimitBurst,
      l1MaxEntries: config.cache.l1MaxEntries,
      breaker: config.cache.redisBreaker,
      metrics,
      logger,
    });
    releases.push(async () => limiter.close());
    const persistedQueries = new RedisKeyValueCache({
      keyPrefix: config.redis.keyPrefix,
      redis,
      breaker: config.cache.redisBreaker,
      l1MaxEntries: config.cache.l1MaxEntries,
      metrics,
      logger,
    });
    releases.push(async () => persistedQueries.close());
    // The rate limiter's bucket, one per user shared by the replicas, sized to a day of new persisted queries.
    const persistedQueryBudget = createRateLimiter({
      redis,
      keyPrefix: `${config.redis.keyPrefix}apq-budget:`,
      ratePerSecond: config.limits.persistedQueryRegistrationsPerDay / (24 * 60 * 60),
      burst: config.limits.persistedQueryRegistrationsPerDay,
      l1MaxEntries: config.cache.l1MaxEntries,
      breaker: config.cache.redisBreaker,
      name: 'apq-budget',
      // Its decisions are counted as registrations (floorplan_apq_registrations_total), not as requests rate-limited.
      metrics: { rateLimited: () => {}, redisBreakerState: (name, state) => metrics.redisBreakerState(name, state) },
      logger,
    });
    releases.push(async () => persistedQueryBudget.close());

    const candidates = revisionStore === undefined ? undefined : new CandidateChooser((scene) => layouts.candidate(scene));
    const renderer = new PanelRenderer({
      layouts: () => layouts.current(),
      revision: () => layouts.revision(),
      logger,
      hooks: { panelServed: (panel, outcomes) => metrics.panelRendered(panel, outcomes) },
    });
    const shadow = new ShadowComparer({
      sampleRatio: config.layouts.shadow.sampleRatio,
      locales: config.floors.locales,
      render: (request) => renderer.renderExplained(request),
      logger,
      onComparison: (scene, result, detail) => {
        metrics.shadowComparison(scene, result, detail.fields, detail.candidateViolation, detail.seconds);
        // Best effort, off the answers' path: a Redis outage leaves each replica its own report.
        shadowTotals?.add(scene, { revision: detail.revision, createdAt: detail.staged }, { result, ...detail });
      },
    });
    const killFlag = (upstream: UpstreamName) => `${config.flags.killFlagPrefix}${upstream}`;
    // A refused answer is counted every time and logged with its offending values at most
    // every VIOLATION_LOG_INTERVAL_MS per upstream and reason: a broken upstream must not flood the logs.
    const lastViolationLog = new Map<string, number>();
    const violated = (upstream: UpstreamName, violation: Violation, request: LoggedRequest | undefined) => {
      metrics.answerRefused(upstream, violation.reason);
      const key = `${upstream}\u0000${violation.reason}`;
      const now = Date.now();
      if (now - (lastViolationLog.get(key) ?? -Infinity) < VIOLATION_LOG_INTERVAL_MS) return;
      lastViolationLog.set(key, now);
      logger.warn(
        // The request it was refused for, whose decision record shows what its user got: the line names the first of each period.
        { ...requestLogFields(request), code: ErrorCode.UPSTREAM_INCONSISTENT, upstream, reason: violation.reason, values: violation.values },
        `${upstream} answer refused: ${violation.message}; it counts as failed for the request (logged at most every ${VIOLATION_LOG_INTERVAL_MS / 1000} s per upstream and reason)`,
      );
    };
    const verify = createTokenVerifier(config.auth, logger);
    const { apollo, knownOperations } = createApolloServer({
      logger,
      introspection: config.server.introspection,
      limits: config.limits,
      persistedQueries,
      persistedQueryBudget: {
        budget: persistedQueryBudget,
        perDay: config.limits.persistedQueryRegistrationsPerDay,
        registered: (outcome) => metrics.persistedQueryRegistration(outcome),
      },
      fastPath: config.server.fastPath,
    });
    await apollo.start();
    releases.push(() => apollo.stop());

    const pipeline = new RequestPipeline({
      verify,
      limiter,
      flags,
      clients,
      locales: config.floors.locales,
      killFlag,
      // Upstream work stops early enough that the panel can still be built and sent by the deadline.
      upstreamBudgetMs: config.limits.requestDeadlineMs - config.limits.responseReserveMs,
      violated,
      notCalled: (upstream) => metrics.upstreamKilled(upstream),
      logger,
      // Only named in log lines: without its password, as every configured URL a log line names (withoutPasswords).
      ...(config.auth.mode === 'jwks' ? { jwksUrl: withoutPasswords(config.auth.jwksUrl) } : {}),
    });
    const overloaded = () => {
      metrics.shed('late');
      return toGraphQLError(new FloorplanError(ErrorCode.REQUEST_OVERLOADED, { seconds: config.server.admission.retryAfterSeconds }));
    };
    const graphqlContext = (request: RequestContext): GraphQLContext => ({
      ...request,
      renderer,
      panels: [],
      overloaded,
      ...(candidates === undefined ? {} : { candidates, shadow }),
    });
    // A refusal (401, 429, 503) must carry its status when it leaves the context: Apollo reads a
    // whole-request failure's status before formatting the error.
    const refusal = (error: unknown): never => {
      throw error instanceof FloorplanError ? toGraphQLError(error) : error;
    };
    // Not async: most requests' context is made without waiting (RequestPipeline.forRequest).
    const context = (req: IncomingMessage, admittedAt: number, trace: RequestTrace): GraphQLContext | Promise<GraphQLContext> => {
      const request = pipeline.forRequest(req, admittedAt, trace);
      return request instanceof Promise ? request.then(graphqlContext, refusal) : graphqlContext(request);
    };
    const preview = createPreviewHandler({ pipeline, renderer, flags, killFlag, layouts: () => layouts.current(), ...(candidates === undefined ? {} : { candidates }) });

    const admission = new AdmissionController({ ...config.server.admission, requestDeadlineMs: config.limits.requestDeadlineMs }, {
      shed(reason) {
        metrics.shed(reason);
        // While Floorplan refuses work, slowness is its own: no request's deadline runs out meanwhile.
        noteOverload();
      },
    });
    metrics.watchAdmission(admission);
    releases.push(async () => admission.close());
    let ready = false;
    const { public: server, management } = createHttpServer({
      apollo,
      knownOperations,
      context,
      tracing,
      metrics,
      logger,
      bodyLimitBytes: config.server.bodyLimitBytes,
      isReady: () => ready,
      readiness: () => ({
        layouts: {
          source: layouts.source(),
          revision: layouts.revision(),
          // Why it is down is in the log: /readyz is unauthenticated and the cause may name internal hosts.
          store: revisionStore === undefined ? 'none' : revisionStore.state(),
        },
      }),
      admission,
      overloadRetryAfterSeconds: config.server.admission.retryAfterSeconds,
      connections: config.server,
      separateManagement: config.server.managementPort !== null,
      trustedProxies: config.server.trustedProxies,
      // The operator console; it is useful only with the admin API, so it is served only when that is on.
      ...(adminApiEnabled(config.admin) ? { pages: consolePages() } : {}),
      // Demo tokens are signed with the demo secret; production verifies real ones (auth.mode jwks, or its own secret).
      // The console is linked where it is served: not from the apps' port when there is a management one.
      landingPage: landingPage({ demoTokens: config.demo.enabled, console: adminApiEnabled(config.admin) && config.server.managementPort === null }),
      admin: {
        token: config.admin.token,
        operators: config.admin.operators,
        routes: {
          '/admin/preview': preview,
          '/admin/flags': createFlagsOverviewHandler({ flags, config: config.flags, layouts: () => layouts.current() }),
          '/admin/console-info': createConsoleInfoHandler({ layouts: () => layouts.current(), locales: config.floors.locales }),
          ...(layoutReleases === undefined
            ? withoutRevisionStore()
            : {
                '/admin/layouts/check': createPublishCheckHandler(layoutReleases),
                ...createLayoutAdminRoutes(layoutReleases, {
                  candidate: (scene) => layouts.candidate(scene),
                  report: async (scene, staging) => {
                    const local = shadow.report(scene, staging);
                    return shadowTotals === undefined ? { ...local, scope: 'this replica' as const } : shadowTotals.report(local);
                  },
                  scenes: () => [...layouts.candidates().keys()],
                }),
              }),
        },
        // What a viewer may call: reads only. Every other route (publish, rollback, and any added later) needs a publisher.
        // `candidates` and `shadow` are the read-only reports of layout candidates (issue 15), listed ahead of them.
        viewerRoutes: new Set([
          '/admin/preview',
          '/admin/flags',
          '/admin/console-info',
          ...['history', 'show', 'diff', 'audit', 'check', 'candidates', 'shadow'].map((op) => `/admin/layouts/${op}`),
        ]),
        maxFailedAttempts: config.admin.maxFailedAttempts,
        failedAttemptsWindowSeconds: config.admin.failedAttemptsWindowSeconds,
      },
    });
    // Before ready: the first requests would otherwise spend their deadline fetching the keys. Bounded, and
    // not fatal: with the identity provider down, requests answer 503 until it is back (logged there).
    if (verify.prefetchKeys !== undefined) {
      const fetched = await Promise.race([verify.prefetchKeys().then(() => undefined, (error: unknown) => error), new Promise<'slow'>((done) => setTimeout(done, KEYS_PREFETCH_MS, 'slow').unref())]);
      if (fetched !== undefined) logger.warn({ jwksUrl: config.auth.jwksUrl === undefined ? undefined : withoutPasswords(config.auth.jwksUrl), err: fetched === 'slow' ? `no answer within ${KEYS_PREFETCH_MS} ms` : withoutPasswords(describeThrown(fetched)) }, 'cannot fetch the signing keys at start: serving, and fetching them with the first requests');
    }
    const redisNotReady = await redisReady;
    // whenRedisReady answers at the first error; a refusal that the client has since recovered
    // from (it reconnects within 100 ms) is not worth a warning: what counts is now.
    if (redisNotReady !== undefined && redis?.status !== 'ready') {
      logger.warn({ redis: describeRedis(config.redis), err: redisNotReady.message }, 'redis is not answering at start: serving without it (local rate limits, no shared cache or APQ) until it is');
    }
    const listen = (listener: Server, port: number, setting: Omit<ListenedPort, 'port'>) =>
      new Promise<number>((done, fail) => {
        // A host that does not resolve, or a port another process holds, is named as the setting it is (server.host, HOST; server.port, PORT).
        const failed = (error: unknown) => fail(listenError(error, config.server, { ...setting, port }));
        listener.once('error', failed);
        listener.listen(port, config.server.host, () => {
          listener.off('error', failed);
          done((listener.address() as AddressInfo).port);
        });
      });
    const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;
    const urlOf = (port: number) => `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
    let managementUrl: string | undefined;
    if (management !== undefined) {
      // First, so the probes and /metrics answer by the time the apps' port takes traffic; closed last, on stop.
      managementUrl = urlOf(await listen(management, config.server.managementPort ?? 0, { setting: 'server.managementPort', variable: 'MANAGEMENT_PORT' }));
      releases.push(async () => {
        const closed = new Promise<void>((done) => management.close(() => done()));
        management.closeAllConnections();
        await closed;
      });
    }
    const port = await listen(server, config.server.port, { setting: 'server.port', variable: 'PORT' });
    ready = true;
    const url = urlOf(port);
    logger.info(
      {
        url,
        ...(managementUrl === undefined ? {} : { managementUrl }),
        scenes: renderer.scenes(),
        layouts: layouts.source(),
        flags: flags.mode,
        node: process.version,
        redis: redis === undefined ? 'none' : describeRedis(config.redis),
        tracing: config.tracing.enabled ? { endpoint: withoutPasswords(config.tracing.endpoint), protocol: config.tracing.protocol, sampler: config.tracing.sampler, ratio: config.tracing.samplerRatio } : 'off',
        upstreams: deps.clients ? 'injected' : Object.fromEntries(UPSTREAMS.map((u) => [u, withoutPasswords((deps.upstreams ?? config.upstreams)[u].baseUrl)])),
      },
      'floorplan listening',
    );

    let stopping: Promise<void> | undefined;
    async function stop(): Promise<void> {
      ready = false;
      if (config.server.drainMs > 0) {
        // Pre-stop drain: /readyz now answers 503 but requests are still served, until the load
        // balancer has seen it and stops sending; closing the listener first would refuse (or
        // reset on a reused keep-alive socket) requests it is still routing here.
        logger.info({ drainMs: config.server.drainMs }, 'draining: /readyz answers 503 before the listener closes');
        await new Promise((done) => setTimeout(done, config.server.drainMs));
      }
      const closed = new Promise<void>((done) => server.close(() => done()));
      // Keep-alive sockets become idle as their in-flight requests finish; close each as it does.
      const sweep = setInterval(() => server.closeIdleConnections(), 25);
      server.closeIdleConnections();
      const grace = new Promise<'grace'>((done) => setTimeout(() => done('grace'), config.server.shutdownGraceMs).unref());
      const ended = await Promise.race([closed, grace]);
      clearInterval(sweep);
      if (ended === 'grace') {
        // Requests still open now are cut off: say so, or a deploy that dropped them logs as a clean one.
        server.closeIdleConnections();
        const open = await new Promise<number>((done) => server.getConnections((error, count) => done(error ? 0 : count)));
        if (open > 0) {
          const ms = config.server.shutdownGraceMs;
          logger.warn({ connections: open, shutdownGraceMs: ms }, `shutdownGraceMs (${ms} ms) ran out with ${open} connection(s) still in a request: cut off`);
        }
      }
      server.closeAllConnections();
      await release();
      logger.info('floorplan stopped');
    }

    return {
      url,
      port,
      managementUrl,
      metrics,
      logger,
      layouts,
      revisions: revisionStore,
      flags,
      stop: () => (stopping ??= stop()),
      inFlightRequests: () => admission.running,
    };
  } catch (error) {
    await release();
    throw error;
  }
}

/**
 * The layout operations' routes on a Floorplan that keeps no revisions (layouts.store.kind none):
 * each answers 404 saying why and what to do, not "no route", so an operator using --server or
 * the console learns what is missing.
 */
function withoutRevisionStore(): Record<string, AdminHandler> {
  const answer: AdminHandler = async () => ({
    status: 404,
    body: {
      error:
        'this Floorplan keeps no layout revisions (layouts.store.kind is none), so it offers no layout operations: publish with npm run floors:publish (to Redis), or set LAYOUT_STORE to pglite or postgres',
    },
  });
  return Object.fromEntries([...LAYOUT_OPERATIONS, 'check', 'shadow'].map((operation) => [`/admin/layouts/${operation}`, answer]));
}
