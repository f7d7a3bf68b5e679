/**
 * A second Floorplan instance in this process, beside a harness: same config (so the same
 * Redis, limits and auth) and the harness's demo upstreams, on its own free port — what a
 * second replica behind the load balancer is.
 */
import { UPSTREAMS } from '../../src/upstreams/registry.ts';
import { startFloorplan, type FloorplanServer } from '../../src/app.ts';
import { loadServiceConfig, type DeepPartial, type ServiceConfig } from '../../src/config/service-config.ts';
import { createLogger } from '../../src/observability/logger.ts';
import type { Harness } from './harness.ts';

export async function startReplica(h: Harness, overrides: DeepPartial<ServiceConfig> = {}): Promise<FloorplanServer> {
  const config = loadServiceConfig({
    env: {},
    overrides: { ...h.config, ...overrides, server: { ...h.config.server, port: 0, ...overrides.server } } as DeepPartial<ServiceConfig>,
  });
  const upstreams = Object.fromEntries(
    UPSTREAMS.map((name) => [name, { ...config.upstreams[name], baseUrl: h.demo.baseUrls[name] }]),
  ) as typeof config.upstreams;
  return startFloorplan(config, { upstreams, logger: createLogger('silent') });
}
