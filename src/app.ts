/**
 * Start-up wiring: config → logger, metrics, upstream clients, builder registry, layouts,
 * renderer, Apollo, HTTP server. Everything a running Floorplan owns is created here and
 * released by {@link FloorplanServer.stop}.
 */
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { ServiceConfig, UpstreamsConfig } from './config/service-config.ts';
import { ErrorCode, FloorplanError } from './errors.ts';
import type { FloorBuilder } from './floors/builder.ts';
import { defaultBuilders } from './floors/builders/index.ts';
import { createBuilderRegistry } from './floors/registry.ts';
import { PanelRenderer } from './floors/renderer.ts';
import { createApolloServer } from './graphql/apollo.ts';
import { serviceUnavailable, unauthenticated } from './graphql/client-errors.ts';
import type { GraphQLContext } from './graphql/context.ts';
import { createHttpServer } from './http/server.ts';
import { loadFloorsDir } from './layouts/floors-config.ts';
import { RequestScope } from './loaders/request-scope.ts';
import { createLogger, type Logger } from './observability/logger.ts';
import { createMetrics, type FloorplanMetrics } from './observability/metrics.ts';
import { createHttpUpstreamClients, type UpstreamClients } from './upstreams/clients.ts';
import { createTokenVerifier } from './viewer/authenticate.ts';
import { buildViewer } from './viewer/viewer.ts';

export interface FloorplanDeps {
  /** Replaces the configured upstreams (e.g. the demo server's URLs). */
  readonly upstreams?: UpstreamsConfig;
  /** Replaces the HTTP clients entirely (tests with plain-object fakes). */
  readonly clients?: UpstreamClients;
  readonly logger?: Logger;
  /** Replaces the shipped builders. */
  readonly builders?: readonly FloorBuilder[];
  /** Project root that `floors.dir` is relative to; default the working directory. */
  readonly root?: string;
}

export interface FloorplanServer {
  /** e.g. http://127.0.0.1:4000 */
  readonly url: string;
  readonly port: number;
  readonly metrics: FloorplanMetrics;
  readonly logger: Logger;
  /** Stops taking requests, lets in-flight ones finish (up to shutdownGraceMs), releases pools. */
  stop(): Promise<void>;
}

export async function startFloorplan(config: ServiceConfig, deps: FloorplanDeps = {}): Promise<FloorplanServer> {
  const logger = deps.logger ?? createLogger(config.log.level);
  const metrics = createMetrics();
  const registry = createBuilderRegistry(deps.builders ?? defaultBuilders);
  const layouts = loadFloorsDir(resolve(deps.root ?? process.cwd(), config.floors.dir), registry, config.floors.locales);
  const clients =
    deps.clients ??
    createHttpUpstreamClients(
      deps.upstreams ?? config.upstreams,
      (upstream, outcome, seconds) => metrics.upstreamCall(upstream, outcome, seconds),
      (upstream, state) => {
        metrics.upstreamBreakerState(upstream, state);
        logger.warn({ upstream, state }, `${upstream} circuit breaker is ${state}`);
      },
    );
  const renderer = new PanelRenderer({
    layouts: () => layouts,
    logger,
    hooks: { panelDidRender: (panel, outcomes) => metrics.panelRendered(panel, outcomes) },
  });
  const verify = createTokenVerifier(config.auth);
  const apollo = createApolloServer({ logger, introspection: config.server.introspection });
  await apollo.start();

  async function context(req: IncomingMessage): Promise<GraphQLContext> {
    let claims;
    try {
      claims = await verify(req.headers.authorization);
    } catch (error) {
      if (error instanceof FloorplanError && (error.code === ErrorCode.AUTH_INVALID_TOKEN || error.code === ErrorCode.AUTH_MISSING_TOKEN)) {
        logger.debug({ code: error.code, reason: error.message }, 'request rejected: unauthenticated');
        throw unauthenticated(error.message);
      }
      if (error instanceof FloorplanError && error.code === ErrorCode.AUTH_KEYS_UNAVAILABLE) {
        logger.warn({ code: error.code, err: error.cause }, 'cannot verify tokens: signing keys unavailable');
        throw serviceUnavailable('authentication is temporarily unavailable; retry shortly');
      }
      throw error;
    }
    const header = (name: string) => {
      const value = req.headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    const viewer = buildViewer(claims, header, config.floors.locales);
    const deadline = AbortSignal.timeout(config.limits.requestDeadlineMs);
    return { viewer, scope: new RequestScope({ userId: viewer.userId, clients, signal: deadline }), renderer };
  }

  let ready = false;
  const server = createHttpServer({
    apollo,
    context,
    metrics,
    logger,
    bodyLimitBytes: config.server.bodyLimitBytes,
    isReady: () => ready,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.server.port, config.server.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  ready = true;
  const { port } = server.address() as AddressInfo;
  const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  logger.info({ url, scenes: renderer.scenes(), upstreams: deps.clients ? 'injected' : (deps.upstreams ?? config.upstreams) }, 'floorplan listening');

  let stopping: Promise<void> | undefined;
  async function stop(): Promise<void> {
    ready = false;
    const closed = new Promise<void>((done) => server.close(() => done()));
    // Keep-alive sockets become idle as their in-flight requests finish; close each as it does.
    const sweep = setInterval(() => server.closeIdleConnections(), 25);
    server.closeIdleConnections();
    const grace = new Promise<void>((done) => setTimeout(done, config.server.shutdownGraceMs).unref());
    await Promise.race([closed, grace]);
    clearInterval(sweep);
    server.closeAllConnections();
    await apollo.stop();
    if (deps.clients === undefined) await clients.close();
    logger.info('floorplan stopped');
  }

  return {
    url,
    port,
    metrics,
    logger,
    stop: () => (stopping ??= stop()),
  };
}
