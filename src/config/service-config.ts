/**
 * Service config: read once at start from config/default.yaml, overlaid by
 * config/<FLOORPLAN_ENV>.yaml and then by environment variables, validated, deep-frozen.
 * The rest of the code receives a typed {@link ServiceConfig} and never re-checks it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { isAbsolute, join, relative } from 'node:path';
import proxyaddr from 'proxy-addr';
import { valid } from 'semver';
import { z } from 'zod';
import { describeThrown, ErrorCode, FloorplanError } from '../errors.ts';
import { FLOOR_KINDS } from '../floors/builder.ts';
import { UPSTREAM_DEFINITIONS, type UpstreamName } from '../upstreams/registry.ts';
import { describeIssues, describeValue, formatPath, integer, LocatedYaml, valueAt, type IssueDescription } from './validate-yaml.ts';

/** An http(s) URL; zod's own message for a bad one says only "Invalid URL". */
const httpUrl = () => z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });

/** What a URL whose user information holds an unencoded reserved character is told. */
const PERCENT_ENCODE_USERINFO = 'must be a URL that parses: percent-encode the reserved characters of its user and password (/ as %2F, + as %2B, @ as %40)';

/**
 * Whether `value` reads as a URL only if its user information holds an unencoded `/` (or `?`,
 * `#`) or an `@` before one: it does not parse, or it parses with an `@` in its path, because
 * URL parsing ended the user information at an `@` inside the password and read what follows it
 * as the host ("postgres://u:p@ss/word@db/x" is host "ss", path "/word@db/x").
 */
function hasUnencodedUserInfo(value: string): boolean {
  if (!value.includes('@')) return false;
  return !URL.canParse(value) || new URL(value).pathname.includes('@');
}

/**
 * Empty, or a URL of `schemes`; refused, it says which schemes (or to percent-encode its
 * password), not zod's "must be a valid url", which names neither.
 */
const urlOrEmpty = (protocol: RegExp, contract: string) => {
  const error = (issue: { readonly input?: unknown }) => (typeof issue.input === 'string' && hasUnencodedUserInfo(issue.input) ? PERCENT_ENCODE_USERINFO : contract);
  // zod reports a string that fails both options as the URL option's issue, whose message this sets.
  return z.union([z.literal(''), z.url({ protocol, error })], { error });
};

/**
 * What of an upstream's URL the client sends nothing of: src/upstreams/json-http.ts sends each
 * call to its origin, with the URL's path and the call's own path after it. A query string (an
 * API key, say) or a password there never reached the upstream, only the "floorplan listening"
 * log line, whole.
 */
function unsentParts(url: URL, text: string): string[] {
  // An unencoded ? or # in a URL that parses can only start its query string or fragment, also an empty one.
  const query = text.indexOf('?');
  const fragment = text.indexOf('#');
  return [
    url.username !== '' || url.password !== '' ? 'a user or password' : undefined,
    query !== -1 && (fragment === -1 || query < fragment) ? 'a query string' : undefined,
    fragment !== -1 ? 'a fragment' : undefined,
  ].filter((part) => part !== undefined);
}

/** `upstreams.<name>.baseUrl`: an http(s) origin and path; shown when refused without what might be a credential in it. */
const upstreamBaseUrl = () =>
  httpUrl().superRefine((value, ctx) => {
    // zod runs this after a failed URL check too: a URL that does not parse is already refused by it.
    if (!URL.canParse(value)) return;
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return;
    const parts = unsentParts(url, value);
    if (parts.length === 0) return;
    const shown = `${url.protocol}//${parts.includes('a user or password') ? '***@' : ''}${url.host}${url.pathname}${parts.includes('a query string') ? '?***' : ''}${parts.includes('a fragment') ? '#***' : ''}`;
    ctx.addIssue({
      code: 'custom',
      params: { showsReceived: true },
      message: `must be an origin and a path only, such as "http://cart.internal/cart": Floorplan appends each call's path to it and sends nothing else of it, but got: a URL with ${parts.join(' and ')}, ${JSON.stringify(shown)}`,
    });
  });

const upstreamSchema = z.strictObject({
  /** Base URL the client appends its paths to, e.g. http://cart.internal/cart: an origin and a path, nothing else (refused). */
  baseUrl: upstreamBaseUrl(),
  /** Whole-call timeout; past it the call fails and the floors needing it drop. */
  timeoutMs: integer().positive().max(60_000),
  /** Opening one connection (name lookup and TCP handshake); one that fails to open counts against the breaker. */
  connectTimeoutMs: integer().positive().max(60_000),
  /** Keep-alive connections in the pool to this upstream's origin. */
  connections: integer().positive().max(4096),
  /** Extra attempts for a failed idempotent read (network error, 502/503/504); 0 disables. */
  retries: integer().min(0).max(5),
  /** Retries may add at most this % of calls on top of first attempts. */
  retryBudgetPercent: z.number().min(0).max(100),
  /** Share of calls failing (timeouts, network errors, 5xx) within breakerWindowMs that opens the circuit; between 0 and 1. */
  breakerFailureRatio: z.number().gt(0).lt(1),
  /** The sliding window the failure ratio is measured over (at least 1 s: it is sampled in up to 1 s slices). */
  breakerWindowMs: integer().min(1000).max(600_000),
  /** Calls the window must hold before the breaker may open: a few failures on a quiet upstream are not a verdict. */
  breakerMinimumCalls: integer().positive(),
  /** How long an open circuit fails fast before one trial call. */
  breakerHalfOpenAfterMs: integer().positive(),
  /** Calls in flight at once (bulkhead) and how many may wait beyond that. */
  maxConcurrent: integer().positive(),
  maxQueued: integer().min(0),
});

const authSchema = z.discriminatedUnion('mode', [
  z.strictObject({
    mode: z.literal('hs256'),
    /** Shared HMAC secret; at least 32 characters. */
    hs256Secret: z.string().min(32),
    issuer: z.string().min(1),
    audience: z.string().min(1),
    clockToleranceSeconds: integer().min(0).max(300),
    /** Unused in this mode; allowed so AUTH_MODE=hs256 can override an overlay that sets it (config/production.yaml). */
    jwksUrl: z.string().optional(),
    /** Unused in this mode (config/default.yaml sets it for both). */
    jwksTimeoutMs: integer().positive().max(10_000).optional(),
    /** Unused in this mode (config/default.yaml sets it for both). */
    jwksMaxStaleSeconds: integer().min(0).max(7 * 86_400).optional(),
  }),
  z.strictObject({
    mode: z.literal('jwks'),
    /** JWKS endpoint of the identity provider (RS256/ES256 keys, rotated by `kid`). */
    jwksUrl: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL when auth.mode is jwks' }),
    /**
     * How long one fetch of the JWKS may take, from the request sent to its last byte. A token
     * whose kid is unknown waits for that fetch inside its admission slot and its request
     * deadline, so keep it under limits.requestDeadlineMs (default 200 ms against 250 ms).
     * jose's own default, 5 s, let a hung identity provider hold every such request for 5 s.
     */
    jwksTimeoutMs: integer().positive().max(10_000),
    /**
     * How old the held keys may grow while they cannot be refreshed: jose refreshes them after
     * ten minutes, and until a refresh succeeds (a slow one, or an identity provider's outage) a
     * token whose kid they hold is verified with them, up to this age. 0: never past ten minutes.
     * A key the identity provider withdraws while Floorplan cannot reach it is honoured this long.
     */
    jwksMaxStaleSeconds: integer().min(0).max(7 * 86_400),
    issuer: z.string().min(1),
    audience: z.string().min(1),
    clockToleranceSeconds: integer().min(0).max(300),
    hs256Secret: z.string().optional(),
  }),
]);

/**
 * A bearer credential clients send in the Authorization header: visible ASCII only (0x21-0x7E).
 * A header cannot carry anything else — the CLI's fetch fails with "Cannot convert argument to a
 * ByteString" and every other client is refused (401, counted toward the throttle) — so a token
 * such as "passwört" would start fine and then never work.
 */
const isVisibleAscii = (token: string) => /^[\x21-\x7e]*$/.test(token);
const VISIBLE_ASCII = 'visible ASCII only (! to ~, no spaces): it is sent in the Authorization header, which cannot carry other characters';
const operatorToken = () => z.string().min(16).refine(isVisibleAscii, { error: `must be ${VISIBLE_ASCII}` });

/**
 * What `server.host` may be: an IP address, or a host name (RFC 1123 labels). Anything else — a
 * blank HOST=" ", a URL — would fail only at listen, as "getaddrinfo ENOTFOUND" naming no setting.
 */
const HOST_NAME = /^(?=.{1,253}\.?$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
const listenHost = () =>
  z.string().refine((host) => isIP(host) !== 0 || HOST_NAME.test(host), {
    error: 'must be an IP address or a host name, such as 127.0.0.1, 0.0.0.0 (every interface), :: or localhost',
  });

/**
 * The error to stop the start with when the server cannot listen on `server.host`: a name that does
 * not resolve, or an address this machine does not have, named as a config problem (the setting, its
 * variable and its value) rather than Node's bare "getaddrinfo ENOTFOUND"; with `port`, a port in use
 * or not allowed too ({@link portError}). Other errors are returned as they are.
 */
export function listenError(error: unknown, server: Pick<ServiceConfig['server'], 'host'>, port?: ListenedPort): unknown {
  const { code } = (error ?? {}) as NodeJS.ErrnoException;
  if (port !== undefined && (code === 'EADDRINUSE' || code === 'EACCES')) return portError(error, server.host, port);
  if (code !== 'ENOTFOUND' && code !== 'EAI_AGAIN' && code !== 'EAI_FAIL' && code !== 'EADDRNOTAVAIL') return error;
  return new FloorplanError(
    ErrorCode.CONFIG_INVALID,
    { problems: `\`server.host\` must be an address of this machine or a name it resolves to one, but got: ${JSON.stringify(server.host)} (config server.host, HOST): ${describeThrown(error)}` },
    { cause: error },
  );
}

/** A port Floorplan listens on, named when it cannot: `server.port` (PORT), 4000. */
export interface ListenedPort {
  readonly setting: string;
  readonly variable: string;
  readonly port: number;
}

/**
 * A port another process holds (EADDRINUSE) or this one may not open (EACCES: below 1024 without
 * root, as the image's uid 1000) named as its setting: the apps', the management and the demo
 * upstreams' ports all failed alike with Node's "listen EADDRINUSE … 127.0.0.1:<port>".
 */
export function portError(error: unknown, host: string, { setting, variable, port }: ListenedPort): unknown {
  const { code } = (error ?? {}) as NodeJS.ErrnoException;
  const contract =
    code === 'EADDRINUSE'
      ? `must be a port no other process listens on at ${host}`
      : code === 'EACCES'
        ? `must be a port this process may listen on at ${host} (below 1024 only as root or with CAP_NET_BIND_SERVICE)`
        : undefined;
  if (contract === undefined) return error;
  return new FloorplanError(ErrorCode.CONFIG_INVALID, { problems: `\`${setting}\` ${contract}, but got: ${port} (config ${setting}, ${variable}): ${describeThrown(error)}` }, { cause: error });
}

/**
 * The database a redis:// URL names (its path: "/3"; none: 0), or undefined for a path that is
 * no database number. ioredis sends whatever is there as SELECT: "/abc" became SELECT NaN, an
 * unhandled rejection that crashed the process. The highest number is the server's to say (its
 * `databases` setting, 16 databases by default); Redis takes none beyond a 32-bit int.
 */
function redisDatabase(url: URL): number | undefined {
  const path = url.pathname;
  if (path === '' || path === '/') return 0;
  const db = /^\/(\d{1,10})$/.exec(path)?.[1];
  return db !== undefined && Number(db) < 2 ** 31 - 1 ? Number(db) : undefined;
}

/** `redis.url`: empty, or a redis:// (rediss://) URL whose path is a database number, with no query parameters. */
const redisUrl = () =>
  urlOrEmpty(/^rediss?$/, 'must be a redis:// or rediss:// URL (or empty: no Redis)').superRefine((value, ctx) => {
    // zod runs this after a failed union too: a URL that does not parse is already refused by it.
    if (value === '' || !URL.canParse(value)) return;
    const url = new URL(value);
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') return;
    if (hasUnencodedUserInfo(value)) {
      // Its path would be "/word@host:6379/0": no database number, though the URL shows one.
      ctx.addIssue({ code: 'custom', message: PERCENT_ENCODE_USERINFO, input: value });
    } else if (redisDatabase(url) === undefined) {
      ctx.addIssue({ code: 'custom', message: "must have a database number as its path (/0, /1, …: fewer than the server's `databases`, 16 by default)", input: value });
    } else if (url.search !== '') {
      // ioredis reads every query parameter (?db=, ?password=, ?username=, …) as an option, but
      // only when it is handed the URL itself: without Sentinels or a cluster. openRedis gives
      // those the URL's path and user information alone, so `?password=` authenticated a single
      // server and was dropped behind Sentinel or on a cluster (NOAUTH). One spelling, all modes.
      ctx.addIssue({
        code: 'custom',
        message:
          'must have no query parameters (ioredis would read them only without Sentinels or a cluster): its password goes in its user information (redis://:password@host:6379/0, redis://user:password@host:6379/0), its database in its path (redis://host:6379/3)',
        input: value,
      });
    }
  });

/** "host:port", e.g. "10.0.0.7:26379" or "[::1]:26379". */
const hostPort = () => z.string().regex(/^(\[[0-9a-fA-F:]+\]|[^\s:[\]]+):\d{1,5}$/, 'must be host:port, such as "127.0.0.1:26379"');

/** A semantic version, e.g. "12.0.0". */
const appVersion = z.string().refine((v) => valid(v) !== null, 'must be a semantic version such as "12.0.0"');
/**
 * One version for every platform, or one per platform (`x-app-platform`, lower-case) with a
 * `default` for the platforms not listed: a platform is never left without an answer.
 */
const appVersionPerPlatform = z.union(
  [appVersion, z.record(z.string().regex(/^[a-z0-9._-]+$/), appVersion).refine((versions) => versions.default !== undefined, 'must have a `default` for the platforms not listed, e.g. {ios: "12.0.0", default: "11.0.0"}')],
  { error: 'must be a semantic version such as "12.0.0", or one per platform with a default: {ios: "12.0.0", default: "11.0.0"}' },
);
const styleToken = z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be a lower-case style token such as "bold"');

/** The apps panels are rendered for: which versions are still supported and which style tokens each knows. */
const appsSchema = z
  .strictObject({
    /** Oldest app version still supported, per platform; older apps may be sent anything. */
    oldestSupported: appVersionPerPlatform,
    /** Style tokens every app knows, whatever its version — also apps that send no `x-app-version`. */
    baseStyles: z.array(styleToken),
    /** Every other style token apps render, with the first version that knows it; a token in neither list is known to no app. */
    newerStyles: z.record(styleToken, appVersionPerPlatform),
  })
  .superRefine((apps, ctx) => {
    for (const token of apps.baseStyles) {
      if (apps.newerStyles[token] !== undefined) ctx.addIssue({ code: 'custom', path: ['newerStyles', token], message: 'must not repeat a token of apps.baseStyles' });
    }
  });

/** `layouts.store`: each kind needs its own field; the others are ignored. */
const layoutStoreSchema = z
  .strictObject({
    /** postgres: the server at `url` (replicas share it); pglite: embedded, in `dataDir` (one process); none: no history, Redis-only publishing. */
    kind: z.enum(['postgres', 'pglite', 'none']),
    /** postgres://user@host:5432/database, for kind postgres. */
    url: z.string(),
    /** PGlite's data folder, for kind pglite; created on the first publish. */
    dataDir: z.string(),
    /** A connection attempt slower than this fails: the store counts as down, serving goes on. */
    connectTimeoutMs: integer().positive().max(60_000),
    /** A query slower than this fails; the operation is refused as the store being unavailable. */
    queryTimeoutMs: integer().positive().max(600_000),
  })
  .superRefine((store, ctx) => {
    if (store.kind === 'postgres' && !/^postgres(ql)?:\/\/./.test(store.url)) {
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'must be a postgres:// URL when kind is postgres', input: store.url });
    } else if (store.kind === 'postgres' && (!URL.canParse(store.url) || hasUnencodedUserInfo(store.url))) {
      // pg would fail on every connection (or connect to a host read from inside the password),
      // and the replica would start with its store down.
      ctx.addIssue({ code: 'custom', path: ['url'], message: PERCENT_ENCODE_USERINFO, input: store.url });
    }
    if (store.kind === 'pglite' && store.dataDir === '') ctx.addIssue({ code: 'custom', path: ['dataDir'], message: 'must name a folder when kind is pglite', input: store.dataDir });
  });

/** Every range proxy-addr knows by name, for the message refusing an entry it cannot read. */
const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'] as const;

/** `10.0.0.1`, `10.0.0.0/8`, `fd00::/8`, `loopback`: an IP address, one with a prefix length its family allows, or a named range. */
function isAddressOrRange(text: string): boolean {
  // proxy-addr, which judges the addresses at run time, also names ranges: "loopback" is 127.0.0.1/8 and ::1.
  try {
    proxyaddr.compile(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * Each admin identity's credential must be its own: the server takes a request with a credential
 * two identities hold as the first of them (admin, then the operators in order), so a viewer
 * sharing a publisher's credential would publish, and the audit would name the other.
 */
function refuseSharedCredentials(
  admin: { token: string; operators: Record<string, string | { token: string; role: 'viewer' | 'publisher' }> },
  ctx: z.core.$RefinementCtx,
): void {
  const holders = new Map<string, { identity: string; setting: string; role: string }>();
  if (admin.token !== '') holders.set(admin.token, { identity: 'admin', setting: 'admin.token', role: 'publisher' });
  for (const [name, credential] of Object.entries(admin.operators)) {
    const { token, role } = typeof credential === 'string' ? { token: credential, role: 'publisher' } : credential;
    const holder = holders.get(token);
    if (holder === undefined) {
      holders.set(token, { identity: name, setting: `admin.operators.${name}`, role });
      continue;
    }
    ctx.addIssue({
      code: 'custom',
      path: typeof credential === 'string' ? ['operators', name] : ['operators', name, 'token'],
      message: `must be ${name}'s own, but it is ${holder.identity}'s too (${holder.setting}): a request with it would act as ${holder.identity}, a ${holder.role}, and be audited as ${holder.identity}`,
      params: { showsReceived: true },
    });
  }
}

export const serviceConfigSchema = z.strictObject({
  server: z.strictObject({
    host: listenHost(),
    port: integer().min(0).max(65535),
    /**
     * A second listener, on the same host, for what operators and Prometheus use: /metrics, the
     * admin API and the console (and the probes, served on both). The public port then serves
     * the apps only: /graphql, the landing page and the probes. null (the default): one port
     * serves everything. 0: a free port, for tests.
     */
    managementPort: integer().min(0).max(65535).nullable(),
    bodyLimitBytes: integer().positive(),
    /**
     * SIGTERM: /readyz answers 503 for this long first, while requests are still served, so a load
     * balancer checking it stops sending before the listener closes (a pre-stop drain); 0: none.
     */
    drainMs: integer().min(0).max(120_000),
    shutdownGraceMs: integer().min(0),
    /** Whether clients may introspect the schema; off in production. */
    introspection: z.boolean(),
    /** Run operations Apollo has validated before without its per-request pipeline (src/graphql/known-operations.ts). */
    fastPath: z.boolean(),
    /** A client must send a request's headers within this long of starting it, or its socket is closed (slow-header clients). */
    headersTimeoutMs: integer().min(1000).max(120_000),
    /** …and the whole request (headers and body) within this long; at least headersTimeoutMs. */
    requestTimeoutMs: integer().min(1000).max(600_000),
    /** An idle keep-alive connection is closed after this long; keep it above the load balancer's idle timeout. */
    keepAliveTimeoutMs: integer().min(1000).max(600_000),
    /** Open connections beyond this are closed as soon as they are accepted; 0 means no cap. */
    maxConnections: integer().min(0),
    /**
     * Proxies in front (addresses, CIDR ranges, proxy-addr's names) whose `X-Forwarded-For` is
     * believed: the client is the right-most entry not among them (src/http/client-address.ts).
     * Empty, the default: none, the header is ignored and the client is the socket's peer.
     */
    trustedProxies: z.array(
      z.string().refine(isAddressOrRange, { error: `must be an IP address, a CIDR range such as "10.0.0.0/8", or one of the names ${PROXY_RANGE_NAMES.join(', ')}` }),
    ),
    /** Admission control of GraphQL requests (src/http/admission.ts): refuse early with 503 OVERLOADED rather than answer late. */
    admission: z.strictObject({
      enabled: z.boolean(),
      /** Requests allowed to run at once before any latency is measured (a fresh process). */
      initialLimit: integer().positive(),
      minLimit: integer().positive(),
      maxLimit: integer().positive(),
      /** Event-loop lag above this means Floorplan's own CPU is the bottleneck: the limit shrinks and new requests queue. */
      targetLagMs: integer().positive().max(1000),
      /** How long a request may wait for a slot; one that would wait longer is refused at once. */
      maxQueueWaitMs: integer().min(0),
      /** Sent as Retry-After (and retryAfterMs) with every refusal. */
      retryAfterSeconds: integer().positive().max(3600),
    }),
  })
    .superRefine((server, ctx) => {
      if (server.managementPort !== null && server.managementPort !== 0 && server.managementPort === server.port) {
        // The value it is compared with, and where that was set, are added by configProblem (COMPARED_WITH).
        ctx.addIssue({ code: 'custom', path: ['managementPort'], message: 'must differ from server.port (null: one port serves everything)' });
      }
      if (server.requestTimeoutMs < server.headersTimeoutMs) {
        ctx.addIssue({
          code: 'custom',
          path: ['requestTimeoutMs'],
          // The value it is compared with, and where that was set, are added by configProblem (COMPARED_WITH).
          message: 'must be at least server.headersTimeoutMs',
        });
      }
      const { minLimit, initialLimit, maxLimit } = server.admission;
      if (!(minLimit <= initialLimit && initialLimit <= maxLimit)) {
        ctx.addIssue({
          code: 'custom',
          path: ['admission', 'initialLimit'],
          message: `must lie between minLimit and maxLimit (${minLimit} ≤ initialLimit ≤ ${maxLimit})`,
        });
      }
    }),
  auth: authSchema,
  /** One block per registered upstream (upstreams/registry.ts); a key left out takes the definition's default. */
  upstreams: z.strictObject(
    Object.fromEntries(UPSTREAM_DEFINITIONS.map((d) => [d.name, upstreamSchema])) as Record<UpstreamName, typeof upstreamSchema>,
  ),
  demo: z.strictObject({
    /** Start the demo upstream server in-process and point the upstreams at it. */
    enabled: z.boolean(),
    port: integer().min(0).max(65535),
    faults: z.string(),
  }),
  floors: z.strictObject({
    /** Folder of <scene>.yaml files, relative to the project root. */
    dir: z.string().min(1),
    /** Locales floors are named in; the first is used when the client's cannot be matched. */
    locales: z.array(z.string().min(2)).min(1),
    /**
     * The app versions in the field and what each understands (src/config/clients-config.ts),
     * relative to the project root: publish and candidate refuse a set some live version
     * cannot render. A path where no file is: the check is skipped (and floors:check says so).
     */
    clientsFile: z.string().min(1),
  }),
  /** Every floors file is checked against it at load: no supported app is sent a style token it does not know. */
  apps: appsSchema,
  log: z.strictObject({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  }),
  redis: z
    .strictObject({
    /**
     * redis://host:port/db of one Redis; empty (and no sentinels or cluster nodes) means no Redis: L1 caches only, no cross-replica publish.
     * The path is the database number (none: 0); a database the server refuses keeps Redis off rather than fall back to database 0.
     */
    url: redisUrl(),
    /**
     * Redis Sentinels ("host:port") to ask for the current primary of `sentinelName`; ioredis
     * follows a failover by itself. Empty: no Sentinel. `url` then only gives the database number and password.
     */
    sentinels: z.array(hostPort()),
    /** The name the Sentinels monitor the primary under (`sentinel monitor <name> ...`). */
    sentinelName: z.string().min(1),
    /** Seed nodes ("host:port") of a Redis Cluster; the rest are discovered. Empty: not a cluster. */
    clusterNodes: z.array(hostPort()),
    /** Key prefix for everything Floorplan stores, so several deployments can share a Redis. */
    keyPrefix: z.string(),
    /** A command slower than this counts as a failure (a miss for the cache). */
    commandTimeoutMs: integer().positive().max(10_000),
    connectTimeoutMs: integer().positive().max(60_000),
  })
    .refine((redis) => redis.sentinels.length === 0 || redis.clusterNodes.length === 0, {
      path: ['clusterNodes'],
      message: 'must be empty when redis.sentinels is set: a deployment uses Sentinel or Cluster, not both',
    })
    // ioredis sends a Cluster's nodes the url's SELECT, which they refuse: it ran in database 0 all the same.
    .refine((redis) => redis.clusterNodes.length === 0 || redis.url === '' || redisDatabase(new URL(redis.url)) === 0, {
      path: ['url'],
      message: 'must name database 0 (or none) with redis.clusterNodes: a Redis Cluster has database 0 only',
    }),
  cache: z.strictObject({
    /** Entries kept in each in-process (L1) cache; it is always bounded. */
    l1MaxEntries: integer().positive(),
    /** Promotion results per user and selection: fresh for ttlSeconds, then served stale while refreshing for staleSeconds. */
    promotion: z.strictObject({ ttlSeconds: integer().min(0), staleSeconds: integer().min(0) }),
    /** After this many consecutive Redis failures, skip Redis for halfOpenAfterMs. */
    redisBreaker: z.strictObject({ consecutiveFailures: integer().positive(), halfOpenAfterMs: integer().positive() }),
  }),
  flags: z.strictObject({
    /** Unleash API URL (e.g. http://unleash:4242/api); empty means flags come from bootstrapFile, evaluated locally. */
    unleashUrl: urlOrEmpty(/^https?$/, 'must be an http:// or https:// URL (or empty: flags from flags.bootstrapFile)'),
    /**
     * Backend API token for unleashUrl. Surrounding whitespace is dropped (a secret made from a file
     * ends in a newline); one with a control character inside is refused: it could never be sent as
     * a header value, and the client's error about it would quote the token.
     */
    unleashToken: z
      .string()
      .trim()
      .refine((token) => /^[\x20-\x7e]*$/.test(token), {
        error: 'must be printable ASCII only (no line breaks or other control characters inside): it is sent in the Authorization header, which cannot carry them',
      }),
    /**
     * The Unleash project's page in Unleash's own web UI (e.g. http://unleash:4242/projects/default):
     * the console links each flag to `<this>/features/<flag>`. Empty: unleashUrl without its `/api`,
     * plus `/projects/default`; no links when unleashUrl is empty too (flags from the local file).
     */
    unleashUiUrl: urlOrEmpty(/^https?$/, "must be an http:// or https:// URL (or empty: flags.unleashUrl's own host)"),
    appName: z.string().min(1),
    environment: z.string().min(1),
    /** How often to poll Unleash for changes. */
    refreshIntervalMs: integer().min(100),
    /** Flags in Unleash's export format ({"features": [...]}), used when unleashUrl is empty; re-read on change. */
    bootstrapFile: z.string().min(1),
    /** A flag named <prefix><upstream> that is ON stops all calls to that upstream (kill switch). */
    killFlagPrefix: z.string().min(1),
  }),
  admin: z.strictObject({
    /** Bearer credential for /admin/* of the identity `admin` (16+ characters, as the operators'); empty disables the admin endpoints (404). */
    token: z
      .string()
      .refine((token) => token === '' || token.length >= 16, { error: 'must be empty (the admin API off) or have at least 16 character(s)' })
      .refine(isVisibleAscii, { error: `must be empty (the admin API off) or ${VISIBLE_ASCII}` }),
    /**
     * More operators, name → their own bearer credential (16+ characters), so the audit says who
     * did what: a string (a publisher, as before roles existed) or `{token, role}` with role
     * `viewer` (preview, history, diffs, flags: reads only) or `publisher` (also publish and
     * rollback). `admin` itself is a publisher. Default none.
     */
    operators: z.record(
      z.string().regex(/^[a-z][a-z0-9._-]*$/, { error: 'must be a lower-case operator name such as "alice"' }),
      z.union([operatorToken(), z.strictObject({ token: operatorToken(), role: z.enum(['viewer', 'publisher']) })]),
    ),
    /**
     * A client address (see server.trustedProxies) that presents this many wrong admin credentials
     * within failedAttemptsWindowSeconds is refused (429) until the window ends. A request that
     * presents none is refused (401) but not counted.
     */
    maxFailedAttempts: integer().positive(),
    failedAttemptsWindowSeconds: integer().positive().max(86_400),
  }).superRefine(refuseSharedCredentials),
  layouts: z.strictObject({
    /** Watch floors/*.yaml and swap in a valid edit without restart. */
    watch: z.boolean(),
    /** With Redis: how often to re-check the published layouts, so a missed pub/sub message is not lost; also how often the revision store's live revision is polled. */
    resyncIntervalMs: integer().positive(),
    /** Where layout revisions (history, the live pointer, the audit) are kept: src/layouts/revisions. */
    store: layoutStoreSchema,
    /**
     * A file this replica writes each published revision it swaps in to, and serves at start when
     * neither Redis nor the revision store answers. Empty: none (a replica then starts from the files).
     */
    lastKnownGoodFile: z.string(),
    /** Shadow comparison of a scene's layout candidate against live traffic (src/panels/shadow.ts). */
    shadow: z.strictObject({
      /**
       * The share of live requests for a scene with a candidate that also render the candidate from
       * the same data, after answering, and compare it with what was served: 0 (none) to 1 (all).
       */
      sampleRatio: z.number().min(0, { error: 'must be from 0 to 1' }).max(1, { error: 'must be from 0 to 1' }),
    }),
    /**
     * Four eyes on money: with `required`, a change to a floor of one of `kinds` goes live only as
     * a candidate another admin approved (publish and rollback to a never-live revision refuse it).
     */
    approval: z.strictObject({
      required: z.boolean(),
      kinds: z.array(z.enum(FLOOR_KINDS)).min(1, { error: 'must name at least one floor kind' }),
    }),
  }),
  limits: z.strictObject({
    /** Every request's whole budget, from admission to its answer; past it the missing floors drop (degraded). */
    requestDeadlineMs: integer().positive(),
    /** The end of the budget kept for building and sending the panel: upstream calls are cut off this much before the deadline. */
    responseReserveMs: integer().min(0),
    maxDepth: integer().positive(),
    maxAliases: integer().positive(),
    maxTokens: integer().positive(),
    maxCost: integer().positive(),
    /** Per-user token bucket: sustained requests per second and burst size; 0 disables. */
    rateLimitPerSecond: z.number().min(0),
    rateLimitBurst: integer().min(1),
    /**
     * New persisted queries (APQ) one user may store a day, on every replica together: a bucket of
     * this many, refilled over a day. Beyond it a new hash is not stored (the query still runs).
     */
    persistedQueryRegistrationsPerDay: integer().positive(),
  }).refine((limits) => limits.responseReserveMs < limits.requestDeadlineMs, {
    path: ['responseReserveMs'],
    message: 'must be less than limits.requestDeadlineMs',
  }),
  /**
   * OpenTelemetry traces (src/observability/tracing.ts), set by the standard OTEL_* variables
   * ({@link OTEL_ENV_VARS}) or here. Off by default: no tracer is built and a request costs nothing.
   */
  tracing: z.strictObject({
    enabled: z.boolean(),
    /** Where spans are POSTed over OTLP/HTTP: the traces URL itself (…/v1/traces). */
    endpoint: httpUrl(),
    /** The export bodies: JSON, or protobuf (the specification's default: 0.43× the bytes, but more CPU in a loaded Floorplan, BENCHMARKS.md). */
    protocol: z.enum(['http/protobuf', 'http/json'], { error: 'must be http/protobuf or http/json (Floorplan sends traces over OTLP/HTTP; grpc is not offered)' }),
    /** `service.name` of every span's resource. */
    serviceName: z.string().min(1),
    /** More resource attributes, e.g. deployment.environment.name. */
    resourceAttributes: z.record(z.string().min(1), z.string()),
    /** Which requests are traced; the parent-based ones follow a caller's sampled flag in `traceparent`. */
    sampler: z.enum(['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'], {
      error: 'must be always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio',
    }),
    /** The share of new traces sampled by the traceidratio samplers, from 0 to 1. */
    samplerRatio: z.number().min(0).max(1),
    /** Spans wait at most this long before being sent in a batch. */
    scheduleDelayMs: integer().positive().max(600_000),
    /** Spans waiting to be sent beyond this are dropped (a collector that is down costs memory up to here, never requests). */
    maxQueueSize: integer().positive().max(1_000_000),
    /** At most this many spans per export; a full batch is sent at once, without waiting for the delay. */
    maxExportBatchSize: integer().positive().max(1_000_000),
  }),
});


export type ServiceConfig = z.output<typeof serviceConfigSchema>;
export type UpstreamConfig = z.output<typeof upstreamSchema>;
export type AuthConfig = z.output<typeof authSchema>;
export type AppsConfig = z.output<typeof appsSchema>;
export type UpstreamsConfig = Readonly<Record<UpstreamName, UpstreamConfig>>;

/** Environment variables and the config path each one sets. */
const ENV_BINDINGS: ReadonlyArray<readonly [string, readonly string[], 'string' | 'int' | 'number' | 'bool' | 'list' | 'secret-json']> = [
  ['HOST', ['server', 'host'], 'string'],
  ['PORT', ['server', 'port'], 'int'],
  ['MANAGEMENT_PORT', ['server', 'managementPort'], 'int'],
  ['HEADERS_TIMEOUT_MS', ['server', 'headersTimeoutMs'], 'int'],
  ['REQUEST_TIMEOUT_MS', ['server', 'requestTimeoutMs'], 'int'],
  ['GRAPHQL_FAST_PATH', ['server', 'fastPath'], 'bool'],
  ['TRUSTED_PROXIES', ['server', 'trustedProxies'], 'list'],
  ['JWT_SECRET', ['auth', 'hs256Secret'], 'string'],
  ['JWT_ISSUER', ['auth', 'issuer'], 'string'],
  ['JWT_AUDIENCE', ['auth', 'audience'], 'string'],
  ['JWT_JWKS_URL', ['auth', 'jwksUrl'], 'string'],
  ['AUTH_MODE', ['auth', 'mode'], 'string'],
  ...UPSTREAM_DEFINITIONS.map((d) => [`UPSTREAM_${d.name.toUpperCase()}_URL`, ['upstreams', d.name, 'baseUrl'], 'string'] as const),
  ...UPSTREAM_DEFINITIONS.map((d) => [`UPSTREAM_${d.name.toUpperCase()}_TIMEOUT_MS`, ['upstreams', d.name, 'timeoutMs'], 'int'] as const),
  ...UPSTREAM_DEFINITIONS.map((d) => [`UPSTREAM_${d.name.toUpperCase()}_CONNECT_TIMEOUT_MS`, ['upstreams', d.name, 'connectTimeoutMs'], 'int'] as const),
  ['DEMO_UPSTREAMS', ['demo', 'enabled'], 'bool'],
  ['DEMO_PORT', ['demo', 'port'], 'int'],
  ['DEMO_FAULTS', ['demo', 'faults'], 'string'],
  ['FLOORS_DIR', ['floors', 'dir'], 'string'],
  ['FLOORS_CLIENTS_FILE', ['floors', 'clientsFile'], 'string'],
  ['LOG_LEVEL', ['log', 'level'], 'string'],
  ['REDIS_URL', ['redis', 'url'], 'string'],
  ['REDIS_SENTINELS', ['redis', 'sentinels'], 'list'],
  ['REDIS_SENTINEL_NAME', ['redis', 'sentinelName'], 'string'],
  ['REDIS_CLUSTER_NODES', ['redis', 'clusterNodes'], 'list'],
  ['UNLEASH_URL', ['flags', 'unleashUrl'], 'string'],
  ['UNLEASH_TOKEN', ['flags', 'unleashToken'], 'string'],
  ['UNLEASH_UI_URL', ['flags', 'unleashUiUrl'], 'string'],
  ['UNLEASH_REFRESH_MS', ['flags', 'refreshIntervalMs'], 'int'],
  ['UNLEASH_ENVIRONMENT', ['flags', 'environment'], 'string'],
  ['FLAGS_FILE', ['flags', 'bootstrapFile'], 'string'],
  ['ADMIN_TOKEN', ['admin', 'token'], 'string'],
  // {"alice": {"token": "…", "role": "publisher"}, …}: credentials from a secret store rather than a file.
  ['ADMIN_OPERATORS', ['admin', 'operators'], 'secret-json'],
  ['LAYOUT_STORE', ['layouts', 'store', 'kind'], 'string'],
  ['LAYOUT_STORE_URL', ['layouts', 'store', 'url'], 'string'],
  ['LAYOUT_STORE_DIR', ['layouts', 'store', 'dataDir'], 'string'],
  ['LAYOUT_LAST_GOOD_FILE', ['layouts', 'lastKnownGoodFile'], 'string'],
  ['LAYOUT_SHADOW_SAMPLE_RATIO', ['layouts', 'shadow', 'sampleRatio'], 'number'],
  ['LAYOUT_APPROVAL_REQUIRED', ['layouts', 'approval', 'required'], 'bool'],
  ['REQUEST_DEADLINE_MS', ['limits', 'requestDeadlineMs'], 'int'],
  ['SHUTDOWN_DRAIN_MS', ['server', 'drainMs'], 'int'],
];

/**
 * The standard OpenTelemetry variables read into `tracing` (SDK 3 no longer reads them itself).
 * The OTLP exporter still reads its own transport settings: OTEL_EXPORTER_OTLP_HEADERS,
 * _TIMEOUT, _COMPRESSION and the certificate files, and their OTEL_EXPORTER_OTLP_TRACES_* forms.
 */
export const OTEL_ENV_VARS = [
  'OTEL_SDK_DISABLED',
  'OTEL_TRACES_EXPORTER',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  'OTEL_EXPORTER_OTLP_PROTOCOL',
  'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL',
  'OTEL_SERVICE_NAME',
  'OTEL_RESOURCE_ATTRIBUTES',
  'OTEL_TRACES_SAMPLER',
  'OTEL_TRACES_SAMPLER_ARG',
  'OTEL_BSP_SCHEDULE_DELAY',
  'OTEL_BSP_MAX_QUEUE_SIZE',
  'OTEL_BSP_MAX_EXPORT_BATCH_SIZE',
] as const;

/** The environment variable names that override config, for the README and error messages. */
export const CONFIG_ENV_VARS: readonly string[] = [...ENV_BINDINGS.map(([name]) => name), ...OTEL_ENV_VARS];

export interface LoadServiceConfigOptions {
  /** Folder holding default.yaml and <env>.yaml. Default: `config` under the working directory. */
  readonly dir?: string;
  /** Usually `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /** Applied last, for tests and tools: a partial config merged over everything else. */
  readonly overrides?: DeepPartial<ServiceConfig>;
}

export type DeepPartial<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

/** Loads, merges, validates and freezes the service config, or throws FLOORPLAN_ERR_CONFIG_INVALID listing every problem. */
export function loadServiceConfig(options: LoadServiceConfigOptions = {}): ServiceConfig {
  const dir = options.dir ?? join(process.cwd(), 'config');
  const env = options.env ?? process.env;
  const problems: string[] = [];
  /** The YAML files read, in the order they were merged, to point each problem at its line. */
  const files: LocatedYaml[] = [];

  const defaults = readYamlObject(join(dir, 'default.yaml'), problems, files);
  const base = deepMerge(upstreamDefaults(), defaults);
  const envName = env.FLOORPLAN_ENV;
  let overlay: Record<string, unknown> = {};
  let merged = base;
  if (envName !== undefined && envName !== '') {
    const overlays = overlayNames(dir);
    if (!overlays.includes(envName)) {
      const known = overlays.length > 0 ? overlays.join(', ') : 'none';
      problems.push(`FLOORPLAN_ENV must name an overlay file in ${shown(dir)} (${known}), but got: ${JSON.stringify(envName)}`);
    } else {
      overlay = readYamlObject(join(dir, `${envName}.yaml`), problems, files);
      merged = deepMerge(merged, overlay);
    }
  }
  // A file that cannot be read would make every key in it look missing; report only the file.
  const filesReadable = problems.length === 0;
  const setByEnv = new Map<string, string>();
  const fromEnv = envOverrides(env, problems, setByEnv);
  const fromOtel = otelOverrides(env, problems, setByEnv);
  const leaves = new Set(setByEnv.keys());
  merged = deepMerge(merged, fromEnv, leaves);
  merged = deepMerge(merged, fromOtel, leaves);
  if (options.overrides !== undefined) merged = deepMerge(merged, options.overrides as Record<string, unknown>);

  if (filesReadable) {
    problems.push(...publicDemoCredentials(defaults, overlay, merged, files, setByEnv, options.overrides));
    const result = serviceConfigSchema.safeParse(merged);
    if (result.success && problems.length === 0) return deepFreeze(result.data);
    const issues = result.success ? [] : result.error.issues;
    for (const issue of describeIssues(issues, serviceConfigSchema, merged)) {
      problems.push(configProblem(issue, files, setByEnv, options.overrides, merged));
    }
  }
  throw new FloorplanError(ErrorCode.CONFIG_INVALID, { problems: problems.join('\n- ') });
}

/**
 * Each registered upstream's block as its definition gives it, under every file: its policy
 * defaults, and the address the demo upstreams serve it at by default (demo.port 4001, under
 * the path prefix the demo server gives each upstream: its name).
 */
function upstreamDefaults(): Record<string, unknown> {
  return {
    upstreams: Object.fromEntries(UPSTREAM_DEFINITIONS.map((d) => [d.name, { baseUrl: `http://127.0.0.1:4001/${d.name}`, ...d.defaults }])),
  };
}

/**
 * Settings whose rule compares them with another: a problem with one also says what the other is
 * and where it was set, since either may be the one to change — REQUEST_DEADLINE_MS=30 is refused as
 * "`limits.responseReserveMs` must be less than limits.requestDeadlineMs, which is 30 (set by
 * REQUEST_DEADLINE_MS), but got: 40 (config/default.yaml:191)".
 */
const COMPARED_WITH: ReadonlyMap<string, readonly string[]> = new Map([
  ['limits.responseReserveMs', ['limits', 'requestDeadlineMs']],
  ['server.requestTimeoutMs', ['server', 'headersTimeoutMs']],
  ['server.managementPort', ['server', 'port']],
]);

/**
 * Where the config holds credentials (`*`: any key or index). Whatever is received at or under
 * one of these paths, of whatever shape (a mapping with a misspelt key, a list, a number), is
 * shown by its size only; only what {@link NOT_SECRET} names is shown as it is.
 */
const SECRET_PATHS: readonly (readonly string[])[] = [['auth', 'hs256Secret'], ['admin', 'token'], ['flags', 'unleashToken'], ['admin', 'operators', '*']];
/** Under a secret path, what is not one: an operator's role says what the credential may do, not what it is. */
const NOT_SECRET: readonly (readonly string[])[] = [['admin', 'operators', '*', 'role']];

function isSecretPath(path: readonly PropertyKey[]): boolean {
  const under = (pattern: readonly string[]) => pattern.length <= path.length && pattern.every((key, i) => key === '*' || key === String(path[i]));
  return SECRET_PATHS.some(under) && !NOT_SECRET.some(under);
}

/** A secret as messages show it, or undefined for a value that discloses nothing (true, null). */
function secretShown(value: unknown): string | undefined {
  if (typeof value === 'string') return `a secret of ${value.length} character(s)`;
  if (typeof value === 'number' || typeof value === 'bigint') return 'a number, not shown';
  return undefined;
}

/** The value received at `path` as a message shows it: every secret in it by its size only. */
function describeReceived(path: readonly PropertyKey[], value: unknown): string {
  const whole = isSecretPath(path) ? secretShown(value) : undefined;
  if (whole !== undefined) return whole;
  const hidden = (at: readonly PropertyKey[], v: unknown): unknown => {
    if (Array.isArray(v)) return v.map((item, i) => hidden([...at, i], item));
    if (isPlainObject(v)) return Object.fromEntries(Object.entries(v).map(([key, item]) => [key, hidden([...at, key], item)]));
    const shown = isSecretPath(at) ? secretShown(v) : undefined;
    return shown === undefined ? v : `<${shown}>`;
  };
  return describeValue(hidden(path, value));
}

/**
 * A credential config/default.yaml ships is public (the quick start's JWT secret and admin
 * token). An overlay that empties one (config/production.yaml) asks for a value of the
 * deployment's own: the demo value set again (JWT_SECRET=<the demo secret>) is refused as the
 * empty one is, whether or not the mode in force uses it.
 */
function publicDemoCredentials(
  defaults: Record<string, unknown>,
  overlay: Record<string, unknown>,
  merged: Record<string, unknown>,
  files: readonly LocatedYaml[],
  setByEnv: ReadonlyMap<string, string>,
  overrides: DeepPartial<ServiceConfig> | undefined,
): string[] {
  return SECRET_PATHS.filter((path) => !path.includes('*')).flatMap((path) => {
    const demo = valueAt(defaults, path);
    if (typeof demo !== 'string' || demo === '' || valueAt(overlay, path) !== '' || valueAt(merged, path) !== demo) return [];
    // Both files hold the path, so both were read: default.yaml first, the overlay last.
    const at = (file: LocatedYaml | undefined) => (file === undefined ? 'its file' : `${file.file}:${String(file.lineOf(path))}`);
    return [
      `\`${formatPath(path)}\` must not be the public demo value of ${at(files[0])} (${at(files.at(-1))} empties it for a value of your own), but got: that demo value (${whereSet(path, files, setByEnv, overrides)})`,
    ];
  });
}

/** "`path` <contract>, but got: <value> (<where it was set>)", naming the env var or file:line that set the value. */
function configProblem(
  issue: IssueDescription,
  files: readonly LocatedYaml[],
  setByEnv: ReadonlyMap<string, string>,
  overrides: DeepPartial<ServiceConfig> | undefined,
  merged: Record<string, unknown>,
): string {
  const path = formatPath(issue.path);
  const other = COMPARED_WITH.get(path);
  const compared = other === undefined ? '' : `, which is ${describeValue(valueAt(merged, other))} (${whereSet(other, files, setByEnv, overrides)})`;
  const got = 'received' in issue ? `, but got: ${describeReceived(issue.path, issue.received)}` : '';
  return `\`${path}\` ${issue.contract}${compared}${got} (${whereSetOrToSet(issue, files, setByEnv, overrides)})`;
}

/**
 * {@link whereSet}, or for a value left unset (missing, or emptied by a file) that a variable
 * sets, the variable too: AUTH_MODE=jwks without a JWKS URL was pointed at default.yaml's `auth`
 * section, where no jwksUrl is, rather than at JWT_JWKS_URL.
 */
function whereSetOrToSet(
  issue: IssueDescription,
  files: readonly LocatedYaml[],
  setByEnv: ReadonlyMap<string, string>,
  overrides: DeepPartial<ServiceConfig> | undefined,
): string {
  const where = whereSet(issue.path, files, setByEnv, overrides);
  const emptied = 'received' in issue && issue.received === '';
  const unset = emptied || ('received' in issue && issue.received === undefined);
  const variable = unset ? ENV_BINDINGS.find(([, path]) => formatPath(path) === formatPath(issue.path))?.[0] : undefined;
  // One a variable (or the overrides) set is named already.
  if (variable === undefined || where.startsWith('set by ')) return where;
  if (emptied) return `${where}; set it with ${variable}`;
  const lastFile = files.at(-1)?.file;
  return `set by neither ${variable} nor \`${formatPath(issue.path)}\`${lastFile === undefined ? '' : ` in ${lastFile}`}`;
}

function whereSet(
  path: readonly PropertyKey[],
  files: readonly LocatedYaml[],
  setByEnv: ReadonlyMap<string, string>,
  overrides: DeepPartial<ServiceConfig> | undefined,
): string {
  // A variable may set a whole list: `redis.sentinels[1]` was set by the one that set `redis.sentinels`.
  for (let depth = path.length; depth > 0; depth--) {
    const envName = setByEnv.get(formatPath(path.slice(0, depth)));
    if (envName !== undefined) return `set by ${envName}`;
  }
  if (overrides !== undefined && valueAt(overrides, path) !== undefined) return 'set by overrides';
  // The last file that holds the value set it; for a missing value, the last that holds its parent.
  for (let depth = path.length; depth > 0; depth--) {
    const prefix = path.slice(0, depth);
    for (const file of [...files].reverse()) {
      if (file.doc.hasIn(prefix as unknown[])) return `${file.file}:${String(file.lineOf(path))}`;
    }
  }
  return files.map((f) => f.file).join(', ');
}

/** YAML files in the config folder that are not overlays: the base, and the clients file (src/config/clients-config.ts). */
const NOT_OVERLAYS: ReadonlySet<string> = new Set(['default.yaml', 'clients.yaml']);

/** Overlay names in `dir`: every <name>.yaml except default.yaml and clients.yaml. */
function overlayNames(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((n) => n.endsWith('.yaml') && !NOT_OVERLAYS.has(n))
      .map((n) => n.slice(0, -'.yaml'.length))
      .sort();
  } catch {
    return [];
  }
}

/** A path as operators see it: relative to the working directory when inside it. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? path : rel;
}

function readYamlObject(path: string, problems: string[], files: LocatedYaml[]): Record<string, unknown> {
  const file = shown(path);
  let source: string;
  try {
    source = readFileSync(path, 'utf8');
  } catch (error) {
    problems.push(`cannot read ${file}: ${describeThrown(error)}`);
    return {};
  }
  const yaml = new LocatedYaml(file, source);
  const syntax = yaml.syntaxProblems();
  if (syntax.length > 0) {
    problems.push(...syntax.map((p) => p.message));
    return {};
  }
  const value = yaml.toJS();
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    problems.push(yaml.problem([], 'must be a mapping of sections', value).message);
    return {};
  }
  files.push(yaml);
  return value as Record<string, unknown>;
}

function envOverrides(env: NodeJS.ProcessEnv, problems: string[], setByEnv: Map<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, path, type] of ENV_BINDINGS) {
    const raw = env[name];
    if (raw === undefined || (raw === '' && type !== 'string' && type !== 'list')) continue;
    let value: unknown = raw;
    if (type === 'int') {
      if (!/^\d+$/.test(raw)) {
        problems.push(`\`${formatPath(path)}\` must be a whole number, but got: ${JSON.stringify(raw)} (set by ${name})`);
        continue;
      }
      value = Number(raw);
    } else if (type === 'number') {
      if (!/^\d+(\.\d+)?$/.test(raw)) {
        problems.push(`\`${formatPath(path)}\` must be a number, but got: ${JSON.stringify(raw)} (set by ${name})`);
        continue;
      }
      value = Number(raw);
    } else if (type === 'list') {
      // "a:1, b:2" → ["a:1", "b:2"]; an empty variable means an empty list.
      value = raw.split(',').map((item) => item.trim()).filter((item) => item !== '');
    } else if (type === 'secret-json') {
      try {
        value = JSON.parse(raw);
      } catch (error) {
        // Never echoed: the text holds credentials.
        problems.push(`\`${formatPath(path)}\` must be JSON, but ${name} is not (${describeThrown(error).replace(/ in JSON at position.*|, ".*$/, '')}; its text is not shown, it holds credentials)`);
        continue;
      }
    } else if (type === 'bool') {
      const lowered = raw.toLowerCase();
      if (['1', 'true', 'on', 'yes'].includes(lowered)) value = true;
      else if (['0', 'false', 'off', 'no'].includes(lowered)) value = false;
      else {
        problems.push(`\`${formatPath(path)}\` must be on or off (or true/false, yes/no, 1/0), but got: ${JSON.stringify(raw)} (set by ${name})`);
        continue;
      }
    }
    setIn(out, path, value);
    setByEnv.set(formatPath(path), name);
  }
  return out;
}

/**
 * `tracing` from the OTEL_* variables, as the OpenTelemetry specification defines them, with
 * one difference: tracing is off unless asked for (the specification's default exporter is
 * otlp). An OTLP endpoint or OTEL_TRACES_EXPORTER=otlp turns it on; OTEL_TRACES_EXPORTER=none
 * or OTEL_SDK_DISABLED=true turns it off whatever else is set.
 */
function otelOverrides(env: NodeJS.ProcessEnv, problems: string[], setByEnv: Map<string, string>): Record<string, unknown> {
  const tracing: Record<string, unknown> = {};
  const set = (key: string, value: unknown, name: string) => {
    tracing[key] = value;
    setByEnv.set(`tracing.${key}`, name);
  };
  // The specification treats an empty value as unset.
  const read = (name: (typeof OTEL_ENV_VARS)[number]): string | undefined => {
    const raw = env[name]?.trim();
    return raw === undefined || raw === '' ? undefined : raw;
  };
  const number = (name: (typeof OTEL_ENV_VARS)[number], key: string, whole: boolean) => {
    const raw = read(name);
    if (raw === undefined) return;
    const value = Number(raw);
    if (raw !== '' && Number.isFinite(value) && (!whole || Number.isInteger(value))) set(key, value, name);
    else problems.push(`\`tracing.${key}\` must be ${whole ? 'a whole number' : 'a number'}, but got: ${JSON.stringify(raw)} (set by ${name})`);
  };

  const tracesEndpoint = read('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  const endpoint = read('OTEL_EXPORTER_OTLP_ENDPOINT');
  // The signal's own endpoint is used as it is; the shared one is a base the signal's path is appended to.
  if (tracesEndpoint !== undefined) set('endpoint', tracesEndpoint, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  else if (endpoint !== undefined) set('endpoint', `${endpoint.replace(/\/+$/, '')}/v1/traces`, 'OTEL_EXPORTER_OTLP_ENDPOINT');

  // Likewise the protocol: the signal's own variable wins over the shared one.
  const tracesProtocol = read('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL');
  const protocol = read('OTEL_EXPORTER_OTLP_PROTOCOL');
  if (tracesProtocol !== undefined) set('protocol', tracesProtocol, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL');
  else if (protocol !== undefined) set('protocol', protocol, 'OTEL_EXPORTER_OTLP_PROTOCOL');

  // OpenTelemetry's enum values are case-insensitive (as OTEL_TRACES_SAMPLER's are read).
  const exporter = read('OTEL_TRACES_EXPORTER')?.toLowerCase();
  if (exporter === 'otlp' || exporter === 'none') set('enabled', exporter === 'otlp', 'OTEL_TRACES_EXPORTER');
  else if (exporter !== undefined) problems.push(`OTEL_TRACES_EXPORTER must be otlp or none (Floorplan sends traces over OTLP/HTTP only), but got: ${JSON.stringify(exporter)}`);
  else if (tracesEndpoint !== undefined) set('enabled', true, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  else if (endpoint !== undefined) set('enabled', true, 'OTEL_EXPORTER_OTLP_ENDPOINT');

  const disabled = read('OTEL_SDK_DISABLED')?.toLowerCase();
  if (disabled === 'true') set('enabled', false, 'OTEL_SDK_DISABLED');
  else if (disabled !== undefined && disabled !== 'false') problems.push(`OTEL_SDK_DISABLED must be true or false, but got: ${JSON.stringify(disabled)}`);

  const attributes = read('OTEL_RESOURCE_ATTRIBUTES');
  if (attributes !== undefined) {
    const parsed = parseResourceAttributes(attributes);
    if (typeof parsed === 'string') {
      problems.push(`OTEL_RESOURCE_ATTRIBUTES must be key=value pairs separated by commas (values percent-encoded), but ${parsed}`);
    } else {
      // OTEL_SERVICE_NAME wins over a service.name among the attributes; either is the service's name.
      const { 'service.name': serviceName, ...rest } = parsed;
      if (serviceName !== undefined) set('serviceName', serviceName, 'OTEL_RESOURCE_ATTRIBUTES');
      set('resourceAttributes', rest, 'OTEL_RESOURCE_ATTRIBUTES');
    }
  }
  const serviceName = read('OTEL_SERVICE_NAME');
  if (serviceName !== undefined) set('serviceName', serviceName, 'OTEL_SERVICE_NAME');
  const sampler = read('OTEL_TRACES_SAMPLER');
  if (sampler !== undefined) set('sampler', sampler.toLowerCase(), 'OTEL_TRACES_SAMPLER');
  number('OTEL_TRACES_SAMPLER_ARG', 'samplerRatio', false);
  number('OTEL_BSP_SCHEDULE_DELAY', 'scheduleDelayMs', true);
  number('OTEL_BSP_MAX_QUEUE_SIZE', 'maxQueueSize', true);
  number('OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 'maxExportBatchSize', true);
  return Object.keys(tracing).length === 0 ? {} : { tracing };
}

/** `key1=value1,key2=value2` (W3C Baggage-like, values percent-encoded), or what is wrong with it. */
function parseResourceAttributes(raw: string): Record<string, string> | string {
  const attributes: Record<string, string> = {};
  for (const pair of raw.split(',')) {
    const at = pair.indexOf('=');
    const key = at === -1 ? '' : pair.slice(0, at).trim();
    if (key === '') return `got: ${JSON.stringify(pair.trim())}`;
    try {
      attributes[key] = decodeURIComponent(pair.slice(at + 1).trim());
    } catch {
      return `the value of ${key} is not percent-encoded: ${JSON.stringify(pair.slice(at + 1).trim())}`;
    }
  }
  return attributes;
}

function setIn(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next === undefined || typeof next !== 'object' || next === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1] as string] = value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Objects merge key by key; arrays and scalars replace. With `leaves`, the paths environment
 * variables set, a variable never turns what a file holds where a section belongs (`server:` with
 * its keys commented out is null) into a mapping of that one key: the file's value stays and is
 * refused at its own line, rather than every other key of the section as missing.
 */
function deepMerge(base: Record<string, unknown>, overlay: Record<string, unknown>, leaves?: ReadonlySet<string>, at: readonly string[] = []): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overlay)) {
    if (value === undefined) continue;
    const current = out[key];
    const path = [...at, key];
    if (leaves !== undefined && isPlainObject(value) && current !== undefined && !isPlainObject(current) && !leaves.has(formatPath(path))) continue;
    out[key] = isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value, leaves, path) : value;
  }
  return out;
}

/** Freezes an object graph so no module can change config behind another's back. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value as Record<string, unknown>)) deepFreeze(child);
  }
  return value;
}
