/**
 * Starts the real thing on loopback for integration tests: the demo upstream server and a
 * Floorplan server pointed at it, both on free ports, logs silenced. Requests go through
 * real HTTP (fetch), so what a test sees is what a mobile app sees.
 */
import { UPSTREAMS, type UpstreamName } from '../../src/upstreams/registry.ts';
import { startFloorplan, type FloorplanDeps, type FloorplanServer } from '../../src/app.ts';
import { loadServiceConfig, type DeepPartial, type ServiceConfig } from '../../src/config/service-config.ts';
import { startDemoUpstreams, type DemoUpstreams } from '../../src/demo-upstreams/server.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { signDemoToken, type DemoTokenOptions } from '../../src/viewer/demo-token.ts';

export const PANEL_QUERY = /* GraphQL */ `
  query Panel($scene: String!, $selectedSkuIds: [ID!]) {
    floorPanel(scene: $scene, selectedSkuIds: $selectedSkuIds) {
      scene layoutVersion degraded failedUpstreams locale
      floors { code name priceText amount { minor currency } subName style sort kind }
    }
  }
`;

export interface GraphQLResponse<T = Record<string, unknown>> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: { data?: T | null; errors?: Array<{ message: string; extensions?: Record<string, unknown>; path?: unknown[] }> };
}

export interface Harness {
  readonly url: string;
  readonly demo: DemoUpstreams;
  readonly server: FloorplanServer;
  readonly config: ServiceConfig;
  token(userId: string, options?: Omit<DemoTokenOptions, 'userId'>): Promise<string>;
  /** POSTs a GraphQL request as `userId` (or with the given headers only, when userId is null). */
  graphql<T = Record<string, unknown>>(
    userId: string | null,
    query: string,
    variables?: Record<string, unknown>,
    headers?: Record<string, string>,
  ): Promise<GraphQLResponse<T>>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  readonly faults?: string;
  /** Upstreams served elsewhere than by the demo upstreams (a blackholed host, say), by name. */
  readonly baseUrls?: Partial<Record<UpstreamName, string>>;
  readonly config?: DeepPartial<ServiceConfig>;
  readonly deps?: FloorplanDeps;
}

function withoutLayouts(config: DeepPartial<ServiceConfig> | undefined): DeepPartial<ServiceConfig> {
  const { layouts: _set, ...rest } = config ?? {};
  return rest;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const demo = await startDemoUpstreams({ port: 0, faults: options.faults ?? '' });
  const config = loadServiceConfig({
    env: {},
    overrides: {
      log: { level: 'silent' },
      // Generous, so a busy shared machine does not turn a slow panel into a degraded one;
      // the deadline's own tests set it back explicitly.
      limits: { requestDeadlineMs: 2000 },
      // Every request really calls every upstream, so call counts are exact; the cache has its own suite.
      cache: { promotion: { ttlSeconds: 0, staleSeconds: 0 } },
      // No revision store or last-known-good copy in the working directory: test files run in
      // parallel, and one's published revision must never be served by another. Suites about
      // revisions name their own (a PGlite folder or a PostgreSQL database of their own).
      layouts: { ...options.config?.layouts, store: { kind: 'none', ...options.config?.layouts?.store }, lastKnownGoodFile: options.config?.layouts?.lastKnownGoodFile ?? '' },
      ...withoutLayouts(options.config),
      // A test's own server settings add to these rather than replace them (port 0 above all).
      server: { port: 0, shutdownGraceMs: 2000, ...options.config?.server },
    },
  });
  const upstreams = Object.fromEntries(
    UPSTREAMS.map((name) => [name, { ...config.upstreams[name], baseUrl: options.baseUrls?.[name] ?? demo.baseUrls[name] }]),
  ) as typeof config.upstreams;
  const server = await startFloorplan(config, { upstreams, logger: createLogger('silent'), ...options.deps });
  const token = (userId: string, tokenOptions: Omit<DemoTokenOptions, 'userId'> = {}) =>
    signDemoToken(config.auth, { userId, ...tokenOptions });

  return {
    url: server.url,
    demo,
    server,
    config,
    token,
    async graphql(userId, query, variables, headers = {}) {
      const auth: Record<string, string> = userId === null ? {} : { authorization: `Bearer ${await token(userId)}` };
      const res = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'accept-language': 'zh-CN', ...auth, ...headers },
        body: JSON.stringify({ query, variables }),
      });
      return { status: res.status, headers: res.headers, body: (await res.json()) as GraphQLResponse['body'] } as never;
    },
    async close() {
      await server.stop();
      await demo.close();
    },
  };
}

/** The shape of `floorPanel` in PANEL_QUERY responses. */
export interface PanelResult {
  floorPanel: {
    scene: string;
    layoutVersion: string;
    degraded: boolean;
    failedUpstreams: string[];
    locale: string;
    floors: Array<{
      code: string;
      name: string;
      priceText: string | null;
      amount: { minor: number; currency: string } | null;
      subName: string | null;
      style: string[];
      sort: number;
      kind: string;
    }>;
  };
}

/** u1001's cart-bottom-sheet as a client sending `headers` gets it, with the decisionId its log line carries; fails the test unless HTTP 200. */
export async function panelWithDecision(h: Harness, headers: Record<string, string> = {}): Promise<PanelResult['floorPanel'] & { decisionId: string }> {
  const res = await h.graphql<{ floorPanel: PanelResult['floorPanel'] & { decisionId: string } }>(
    'u1001',
    PANEL_QUERY.replace('scene layoutVersion', 'scene layoutVersion decisionId'),
    { scene: 'cart-bottom-sheet' },
    headers,
  );
  if (res.status !== 200) throw new Error(`expected HTTP 200 for the panel, got ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body.data!.floorPanel;
}

/** One user's last answer from {@link askPanelLikeTheApp}. */
export interface AskedPanel {
  readonly status: number;
  readonly body: { data?: PanelResult | null; errors?: Array<{ message?: string; extensions?: { code?: string } }> };
  /** The last ask's time, sent → body read. */
  readonly ms: number;
}

/**
 * The cart panel as the app asks for it at `url` (a Floorplan's origin): once, and again after a
 * 503 OVERLOADED, waiting `waitMs(response)` first, at most `maxAsks` times in all. A CPU-starved
 * machine (CI running other suites beside a test) can make Floorplan's own loop count as
 * saturated, and a deadline that runs out then is rightly answered OVERLOADED; a Floorplan that
 * always answered so still fails the caller's assertions on the last answer.
 */
export async function askPanelLikeTheApp(url: string, token: string, options: { maxAsks: number; waitMs: (refusal: Response) => number }): Promise<AskedPanel> {
  for (let ask = 1; ; ask++) {
    const started = performance.now();
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: PANEL_QUERY, variables: { scene: 'cart-bottom-sheet' } }),
    });
    const body = (await res.json()) as AskedPanel['body'];
    const ms = performance.now() - started;
    if (res.status === 503 && body.errors?.[0]?.extensions?.code === 'OVERLOADED' && ask < options.maxAsks) {
      await new Promise((resolve) => setTimeout(resolve, options.waitMs(res)));
      continue;
    }
    return { status: res.status, body, ms };
  }
}
