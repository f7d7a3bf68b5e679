/**
 * `npm start`: loads config, starts the demo upstreams in-process when `demo.enabled`
 * (the default: no Redis, no Unleash, nothing else to run), then Floorplan. SIGTERM or
 * SIGINT drains in-flight requests and exits 0; a second one exits at once (128 + the signal).
 */
import { constants } from 'node:os';
import { loadServiceConfig, portError } from './config/service-config.ts';
import { startFloorplan } from './app.ts';
import { startDemoUpstreams, type DemoUpstreams } from './demo-upstreams/server.ts';
import { createLogger } from './observability/logger.ts';
import { UPSTREAMS } from './upstreams/registry.ts';

async function main(): Promise<void> {
  const config = loadServiceConfig();
  const logger = createLogger(config.log.level);

  let demo: DemoUpstreams | undefined;
  let upstreams = config.upstreams;
  if (config.demo.enabled) {
    demo = await startDemoUpstreams({ port: config.demo.port, faults: config.demo.faults }).catch((error: unknown) => {
      // The demo upstreams listen on 127.0.0.1 (src/demo-upstreams/server.ts).
      throw portError(error, '127.0.0.1', { setting: 'demo.port', variable: 'DEMO_PORT', port: config.demo.port });
    });
    const served = demo.baseUrls;
    upstreams = Object.fromEntries(
      UPSTREAMS.map((name) => [name, { ...config.upstreams[name], baseUrl: served[name] }]),
    ) as typeof config.upstreams;
    logger.info({ port: demo.port, faults: config.demo.faults || 'none' }, 'demo upstreams started in-process');
  }

  const server = await startFloorplan(config, { upstreams, logger });
  logger.info(`serving GraphQL at ${server.url}/graphql`);

  let signalled = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (signalled) {
      // A second Ctrl-C (or SIGTERM) is someone who will not wait out the grace: leave now, as a signal would.
      logger.warn({ signal, inFlight: server.inFlightRequests() }, `second ${signal}: exiting now, without waiting for the requests in flight`);
      process.exit(128 + constants.signals[signal]);
    }
    signalled = true;
    logger.info({ signal }, 'shutting down');
    server
      .stop()
      .then(() => demo?.close())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  // Startup errors (bad config, bad floors file, port in use) are for an operator: message only.
  process.stderr.write(`floorplan failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
