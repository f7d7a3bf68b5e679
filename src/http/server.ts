/**
 * Where a request enters: a plain `node:http` server in front of Apollo Server (no
 * standalone wrapper: its CORS and body-parser middleware cost ~20 % CPU per request).
 *
 *   POST|GET /graphql  GraphQL over HTTP (GET with Accept: text/html and no query → local page)
 *   GET /healthz       the process is up
 *   GET /readyz        it should receive traffic (503 while starting or draining)
 *   GET /metrics       Prometheus text
 *   GET /console…      the operator console's files (./pages option), under a strict CSP
 *   POST /admin/…      operator endpoints, behind an admin credential and its role
 *
 * GraphQL requests pass admission control first (./admission.ts): beyond what Floorplan can
 * answer within its deadline they are refused at once with 503 OVERLOADED. Health, readiness
 * and metrics are never refused. Slow clients are bounded by the headers and request timeouts,
 * open connections by a cap, and wrong admin credentials are throttled per client address
 * (the socket's peer, or behind trusted proxies the one they forwarded; an IPv6 client per /64:
 * ./client-address.ts).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, IncomingMessage, maxHeaderSize, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { LRUCache } from 'lru-cache';
import type { ApolloServer, BaseContext, HTTPGraphQLRequest } from '@apollo/server';
import { HeaderMap } from '@apollo/server';
import { ErrorCode, FloorplanError, toClientError, type ClientError } from '../errors.ts';
import type { FloorplanMetrics } from '../observability/metrics.ts';
import type { Logger } from '../observability/logger.ts';
import { NO_TRACE, type RequestTrace, type ServerTrace, type Tracing } from '../observability/tracing.ts';
import type { KnownOperations } from '../graphql/known-operations.ts';
import type { AdmissionController } from './admission.ts';
import { clientAddress, throttledAs, trustedProxies } from './client-address.ts';
import { LANDING_PAGE_HTML, landingPageHeaders, pageHeaders } from './landing-page.ts';

export interface HttpServerOptions<TContext extends BaseContext> {
  readonly apollo: ApolloServer<TContext>;
  /** Runs operations Apollo has validated before without its per-request pipeline; absent: Apollo serves every request. */
  readonly knownOperations?: KnownOperations<TContext>;
  /**
   * Builds the per-request context; may throw a GraphQLError (e.g. UNAUTHENTICATED).
   * `admittedAt` (performance.now()) is when admission control let the request run: its
   * deadline starts there, so verifying the token and the rate limit come out of it too.
   * `trace` is the request's trace (the shared no-op when it is not sampled), for the layers below.
   */
  readonly context: (req: IncomingMessage, admittedAt: number, trace: RequestTrace) => TContext | Promise<TContext>;
  /** Starts a trace per GraphQL request (src/observability/tracing.ts); absent: none. */
  readonly tracing?: Tracing;
  readonly metrics: FloorplanMetrics;
  readonly logger: Logger;
  /** Larger bodies are refused with HTTP 413 before they are read. */
  readonly bodyLimitBytes: number;
  readonly isReady: () => boolean;
  /** Detail /readyz adds to its status (e.g. where the layouts come from, whether their store is up); absent: none. */
  readonly readiness?: () => Record<string, unknown>;
  /** Decides which GraphQL requests run now, wait, or are refused; absent: all run at once. */
  readonly admission?: AdmissionController;
  /** Retry-After of an OVERLOADED refusal. */
  readonly overloadRetryAfterSeconds?: number;
  /** Slow-client and connection bounds (`server.*` in the service config); absent: Node's defaults. */
  readonly connections?: ConnectionLimits;
  /**
   * Serve the metrics, the admin API and the console on a listener of their own
   * (`server.managementPort`), {@link HttpServers.management}: the public one then serves the
   * apps only (/graphql, `/`) and the probes. Absent or false: one listener serves everything.
   */
  readonly separateManagement?: boolean;
  /**
   * Proxies in front whose `X-Forwarded-For` is believed (`server.trustedProxies`): addresses and
   * CIDR ranges. The admin throttle counts per client address derived through them. Absent or
   * empty: none, the socket's peer is the client.
   */
  readonly trustedProxies?: readonly string[];
  /**
   * Static files served on GET at their exact path (the operator console: src/console), each
   * with the Content-Security-Policy and the other headers of {@link STATIC_HEADERS}. Absent: none.
   */
  readonly pages?: Readonly<Record<string, StaticPage>>;
  /** The page at `/` (and a browser's GET of /graphql): src/http/landing-page.ts; absent, the demo's. */
  readonly landingPage?: string;
  /**
   * Operator endpoints (POST, JSON in and out) behind their own bearer credential, never a
   * user's token. Off (404, like any unknown path) when there is no credential at all: an empty
   * token and no operators ({@link adminApiEnabled}).
   */
  readonly admin?: {
    /** The credential of the identity `admin`, a publisher; empty: no such identity. */
    readonly token: string;
    /**
     * More identities, by name: each its own credential (a string: a publisher), or a credential
     * and a role; recorded as the actor of what it does.
     */
    readonly operators?: Readonly<Record<string, string | OperatorCredential>>;
    readonly routes: Readonly<Record<string, AdminHandler>>;
    /**
     * The routes a `viewer` may call (they change nothing); every other route needs a
     * `publisher`, so a route added later is closed to viewers until it is listed here.
     * `/admin/session` is always open to both. Absent: viewers may call only that.
     */
    readonly viewerRoutes?: ReadonlySet<string>;
    /**
     * Wrong credentials a client address may present per window before it is refused (429) for
     * the rest of it. A request presenting none is answered 401 and not counted.
     */
    readonly maxFailedAttempts: number;
    readonly failedAttemptsWindowSeconds: number;
  };
}

export interface ConnectionLimits {
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  /** 0: no cap. */
  readonly maxConnections: number;
}

/**
 * What an operator may do: a `viewer` reads (preview, history, diffs, flags), a `publisher`
 * also changes what users get (publish, rollback, and every route not listed as a viewer's).
 */
export type OperatorRole = 'viewer' | 'publisher';

/** An operator's credential and role (`admin.operators.<name>` in the service config). */
export interface OperatorCredential {
  readonly token: string;
  readonly role: OperatorRole;
}

/** Who called an admin endpoint: the identity whose credential matched (`admin`, or an operator's name), and its role. */
export interface AdminCaller {
  readonly identity: string;
  readonly role: OperatorRole;
}

/** A file served as it is on GET (and HEAD). */
export interface StaticPage {
  readonly contentType: string;
  readonly body: Buffer;
}

/**
 * The headers of every static page. The policy allows scripts, styles and requests from this
 * origin only — no inline script or style, no eval, nothing from elsewhere — and Trusted Types
 * make assigning a string to innerHTML (or any other HTML sink) throw, so data can only reach
 * the page as text. The page may not be framed (clickjacking) and sends no Referer.
 */
export const STATIC_HEADERS: Readonly<Record<string, string>> = pageHeaders({ scriptSrc: "'self'", styleSrc: "'self'", imgSrc: "'self'" }, { 'cross-origin-resource-policy': 'same-origin' });

/**
 * On every /graphql answer, every admin answer and every error answer: what a user gets is
 * theirs alone (an admin preview shows a user's panel too), and a persisted-query GET URL is the
 * same for every user, so no cache may keep it (a CDN's "cache everything" rule included, which
 * no-store still stops where it is honoured). No `Vary:
 * Authorization`: a cache that ignores no-store rarely honours Vary either, and it adds bytes
 * to every answer. nosniff: a JSON answer is never run as a script or shown as HTML.
 */
const PRIVATE_ANSWER = 'private, no-store';
const NOSNIFF = 'nosniff';
const PRIVATE_ANSWER_HEADERS: ReadonlyArray<readonly [string, string]> = Object.freeze([
  ['cache-control', PRIVATE_ANSWER],
  ['x-content-type-options', NOSNIFF],
] as const);
/**
 * The same, as an object, for every other answer refusing a request outside /admin, whatever
 * writes it: a refusal's body names no user, but a shared cache keeping a 405 or a 503 would
 * serve it for a route that works again (a draining /readyz to the next probe through it).
 */
const REFUSAL_HEADERS: Readonly<Record<string, string>> = Object.freeze({ 'cache-control': PRIVATE_ANSWER, 'x-content-type-options': NOSNIFF });

/** An operator endpoint: the parsed JSON body and the caller in, a status and a JSON body out. */
export type AdminHandler = (body: unknown, caller: AdminCaller) => Promise<{ status: number; body: unknown }>;

const JSON_TYPE = 'application/json; charset=utf-8';
/** Answers who the admin credential is and its role; part of every admin API. */
const SESSION_ROUTE = '/admin/session';

/** A client error as a GraphQL-shaped body with its status and headers, so clients parse every failure the same way. */
function errorAnswer(client: ClientError): { readonly status: number; readonly body: Buffer; readonly headers: Record<string, string> } {
  const body = Buffer.from(JSON.stringify({ errors: [{ message: client.message, extensions: client.extensions }] }));
  return {
    status: client.status,
    body,
    headers: { 'content-type': JSON_TYPE, 'content-length': String(body.length), ...REFUSAL_HEADERS, ...client.headers },
  };
}

function sendError(res: ServerResponse, client: ClientError): void {
  const answer = errorAnswer(client);
  res.writeHead(answer.status, answer.headers).end(answer.body);
}

/** The routes that serve only GET and HEAD. */
const GET_ONLY_ROUTES: ReadonlySet<string> = new Set(['/', '/healthz', '/readyz', '/metrics']);

/** 405 for a route that serves only GET and HEAD (the probes, metrics, the landing page, the console's files), in the routes' own `{error}` JSON. */
function onlyGetAndHead(res: ServerResponse, path: string, method: string): number {
  const body = JSON.stringify({ error: `${path} answers GET and HEAD, not ${method}` });
  res.writeHead(405, { allow: 'GET, HEAD', 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body), ...REFUSAL_HEADERS }).end(body);
  return 405;
}

/**
 * A request Node's parser refused before any handler ran, answered as Node would (431 for headers
 * over its limit, 413, 408, 400), but the 431 with Floorplan's JSON error, so an app parses every
 * failure the same way; an oversized Accept-Language or token is the one a real client sends.
 */
function refuseUnparsed(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    const answer = errorAnswer(toClientError(new FloorplanError(ErrorCode.HTTP_HEADERS_TOO_LARGE, { limit: maxHeaderSize })));
    const headers = Object.entries({ ...answer.headers, connection: 'close' }).map(([name, value]) => `${name}: ${value}\r\n`).join('');
    endThenClose(socket, `HTTP/1.1 431 Request Header Fields Too Large\r\n${headers}\r\n${answer.body.toString('utf8')}`);
    return;
  }
  const status = error.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW' ? '413 Payload Too Large' : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
  endThenClose(socket, `HTTP/1.1 ${status}\r\n${BODILESS_REFUSAL_HEAD}`);
}

/** The headers of a refusal without a body written straight to the socket, and the blank line that ends them. */
const BODILESS_REFUSAL_HEAD = `${Object.entries({ ...REFUSAL_HEADERS, 'content-length': '0', connection: 'close' })
  .map(([name, value]) => `${name}: ${value}\r\n`)
  .join('')}\r\n`;

/**
 * Refuses a request Node's server would refuse by itself with a bare status (no Host in an
 * HTTP/1.1 request: RFC 9112 §3.2; an `Expect` other than 100-continue: 417), with the headers
 * of every other refusal, and closes the connection as Node does.
 */
function refuseBare(res: ServerResponse, status: 400 | 417): void {
  res.writeHead(status, { ...REFUSAL_HEADERS, 'content-length': 0, connection: 'close' }).end();
}

/** How long a refused socket stays open after its answer is written, for the client to read it before it is closed under it. */
const REFUSED_SOCKET_LINGER_MS = 1000;

/**
 * Writes the refusal and half-closes; then closes the socket outright after a linger. `end()`
 * alone waits for the client to close its side: one that keeps sending (a body still trickling
 * in past requestTimeoutMs) would hold the socket, and its request, for as long as it likes.
 * Destroying at once could reset the connection before the client has read the answer.
 */
function endThenClose(socket: Duplex, answer: string): void {
  socket.end(answer);
  const linger = setTimeout(() => socket.destroy(), REFUSED_SOCKET_LINGER_MS).unref();
  socket.once('close', () => clearTimeout(linger));
}

/** The status counted for a request whose client closed the connection before it was read (nginx's 499); nothing is written. */
const CLIENT_CLOSED_REQUEST = 499;

/**
 * A request that remembers when it had arrived whole, which is when its answer's time starts
 * (floorplan_http_request_duration_seconds): what Floorplan took, not how long the client took
 * to upload. A field of the request rather than a variable of {@link createHttpServer}'s
 * `serve`, so the body reader that sees the last byte can set it without a callback per request.
 */
class ArrivingRequest extends IncomingMessage {
  /**
   * performance.now() when the whole request had arrived: when its headers did, for any method
   * but POST, and when its body did, for a POST ({@link readBody}). 0 for a POST answered before
   * its body was read — refused at once on its headers, or its client gone mid-body — which is
   * counted as answered in no time: none of it was Floorplan's.
   */
  arrivedAt = 0;
}

function readBody(req: ArrivingRequest, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.reject(new FloorplanError(ErrorCode.HTTP_BODY_TOO_LARGE, { limit, received: `, but got: ${declared}` }));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        // Stop keeping the body but let it drain, so the 413 can be written on this socket
        // (destroying the request would reset the connection before the client reads it).
        req.off('data', onData);
        req.resume();
        reject(new FloorplanError(ErrorCode.HTTP_BODY_TOO_LARGE, { limit, received: '' }));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => {
      req.arrivedAt = performance.now();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', reject);
  });
}

function parseBody(req: IncomingMessage, raw: string): unknown {
  const type = req.headers['content-type'] ?? '';
  if (raw === '') return undefined;
  if (!/^application\/(json|graphql-response\+json)\b/i.test(type) && !/\+json\b/i.test(type)) return raw;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    throw new FloorplanError(ErrorCode.HTTP_BAD_JSON, {});
  }
}

/** `application/json`, the only body type the fast path takes (Apollo's CSRF check passes it). */
function isJsonContentType(req: IncomingMessage): boolean {
  const type = req.headers['content-type'];
  return type !== undefined && /^application\/json\s*(;|$)/i.test(type);
}

/**
 * Whether the admin API (and the console) is served: some credential opens it, `admin.token` or
 * an operator's. Named operators alone are enough — four eyes needs each operator's own
 * credential, and a shared `admin` publisher beside them could approve anyone's change.
 */
export function adminApiEnabled(admin: { readonly token: string; readonly operators?: Readonly<Record<string, string | OperatorCredential>> }): boolean {
  return admin.token !== '' || Object.values(admin.operators ?? {}).some((c) => (typeof c === 'string' ? c : c.token) !== '');
}

/**
 * The caller whose credential `authorization` carries; `wrong` for a bearer credential that is
 * nobody's, `none` when no bearer credential is presented (what a browser sends by itself: a
 * CORS preflight, an <img> GET — a guess cannot be made without one, so it is not counted as
 * one). Constant-time comparisons (of digests, every credential tried), so no token can be
 * guessed byte by byte from timings.
 */
function adminCaller(authorization: string | undefined, token: string, operators: Readonly<Record<string, string | OperatorCredential>>): AdminCaller | 'wrong' | 'none' {
  const match = authorization === undefined ? null : /^Bearer\s+(.+)$/i.exec(authorization.trim());
  if (match === null) return 'none';
  const given = createHash('sha256').update(match[1] as string).digest();
  let found: AdminCaller | undefined;
  const credentials: Array<readonly [string, OperatorCredential]> = [
    ['admin', { token, role: 'publisher' }],
    ...Object.entries(operators).map(([name, c]) => [name, typeof c === 'string' ? { token: c, role: 'publisher' as const } : c] as const),
  ];
  for (const [identity, credential] of credentials) {
    if (credential.token !== '' && timingSafeEqual(given, createHash('sha256').update(credential.token).digest())) found ??= { identity, role: credential.role };
  }
  return found ?? 'wrong';
}

/**
 * Why a browser request to an admin endpoint looks cross-site, or undefined. The credential is a
 * header the page's script adds, never a cookie, so a forged cross-site request carries none; on
 * top of that a request a browser marks as coming from another site (`Sec-Fetch-Site`), or whose
 * `Origin` is not this server's, is refused. Clients that are not browsers (the CLI, curl) send
 * neither header and are not affected.
 */
function crossSiteProblem(req: IncomingMessage): string | undefined {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return `Sec-Fetch-Site must be same-origin, but got: ${JSON.stringify(site)}`;
  const origin = req.headers.origin;
  if (origin === undefined) return undefined;
  const host = req.headers.host;
  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    return `Origin must be this server's, but got: ${JSON.stringify(origin)}`;
  }
  return host !== undefined && originHost === host ? undefined : `Origin must be this server's (${host ?? 'no Host header'}), but got: ${JSON.stringify(origin)}`;
}

/** An admin answer's `error`, for the log line of a refusal (the bodies are `{error, …}`). */
function refusalOf(body: unknown): string | undefined {
  return typeof body === 'object' && body !== null && 'error' in body && typeof body.error === 'string' ? body.error : undefined;
}

function headerMapOf(req: IncomingMessage): HeaderMap {
  const headers = new HeaderMap();
  for (const [key, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
  }
  return headers;
}

/** The listeners {@link createHttpServer} makes; neither is listening yet. */
export interface HttpServers {
  /** The apps' listener: everything, or with `separateManagement` /graphql, `/` and the probes only. */
  readonly public: Server;
  /** With `separateManagement`: /metrics, the admin API, the console and the probes. */
  readonly management: Server | undefined;
}

/** The probes, answered on either listener: a load balancer and the kubelet may ask either. */
const PROBES: ReadonlySet<string> = new Set(['/healthz', '/readyz']);

export function createHttpServer<TContext extends BaseContext>(options: HttpServerOptions<TContext>): HttpServers {
  const { apollo, metrics, logger, admission } = options;
  // Built once: a refusal costs only the write.
  const overloaded = errorAnswer(toClientError(new FloorplanError(ErrorCode.REQUEST_OVERLOADED, { seconds: options.overloadRetryAfterSeconds ?? 1 })));
  const landing = options.landingPage ?? LANDING_PAGE_HTML;
  const landingHeaders = landingPageHeaders(landing);

  // Not async: an async function that returns another's promise costs two more turns of the
  // microtask queue to adopt it, and untraced requests (most) only pass it on.
  function graphql(req: ArrivingRequest, res: ServerResponse, path: string, search: string): Promise<number> {
    const method = (req.method ?? 'GET').toUpperCase();
    if (method !== 'POST' && method !== 'GET') {
      // Before Apollo, whose CSRF check would answer a DELETE without a JSON content type with advice about CSRF.
      res.setHeader('allow', 'GET, POST');
      return Promise.reject(new FloorplanError(ErrorCode.HTTP_METHOD_NOT_ALLOWED, { path, allowed: 'GET and POST', method }));
    }
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
      return Promise.reject(new FloorplanError(ErrorCode.HTTP_BODY_ENCODED, { encoding }));
    }
    if (method === 'GET' && search === '' && (req.headers.accept ?? '').includes('text/html')) {
      res.writeHead(200, landingHeaders).end(landing);
      return Promise.resolve(200);
    }
    const trace = options.tracing?.startRequest(method, path, '/graphql', req.headers) ?? NO_TRACE;
    if (trace === NO_TRACE) return admitAndExecute(req, res, method, search, NO_TRACE);
    return admitAndExecute(req, res, method, search, trace).then(
      (status) => {
        trace.end(status);
        return status;
      },
      (error: unknown) => {
        trace.end(toClientError(error).status);
        throw error;
      },
    );
  }

  /**
   * Admission, then the request, in one async frame: each async layer a request passes through
   * is a promise, a suspended frame and a turn of the microtask queue more.
   */
  async function admitAndExecute(req: ArrivingRequest, res: ServerResponse, method: string, search: string, trace: ServerTrace): Promise<number> {
    // The body before admission: a request whose body is still on the wire (a slow uplink, or a
    // client that never sends it) holds no slot, and its deadline starts once the body is here.
    const raw = method === 'POST' ? await readBody(req, options.bodyLimitBytes) : undefined;
    // Admitted at once (the common case), the deadline starts as the request arrived whole, a
    // few microseconds ago: one clock read serves both the deadline and the answer's duration.
    let admittedAt = req.arrivedAt;
    if (admission !== undefined) {
      let admitted = admission.enter();
      if (admitted instanceof Promise) {
        admitted = await admitted;
        admittedAt = performance.now();
      }
      if (!admitted.admitted) {
        res.writeHead(overloaded.status, overloaded.headers).end(overloaded.body);
        return overloaded.status;
      }
    }
    try {
      let body: unknown;
      let context: () => Promise<TContext> = async () => options.context(req, admittedAt, trace);
      if (method === 'POST') {
        body = parseBody(req, raw as string);
        const known = search === '' && isJsonContentType(req) ? options.knownOperations : undefined;
        const matched = known?.match(body, req.headers.accept);
        if (known !== undefined && matched !== undefined) {
          const outcome = await known.execute(matched, () => options.context(req, admittedAt, trace));
          if (outcome.kind === 'complete') {
            metrics.graphqlRequest('known-operation');
            trace.executedBy('known-operation');
            if (outcome.headers.size === 0) {
              // One call with the headers as an object: Node writes them without building a header
              // map. The length must be given, or Node would send the body chunked.
              res
                .writeHead(outcome.status, { 'content-type': outcome.contentType, 'content-length': outcome.bodyBytes, 'cache-control': PRIVATE_ANSWER, 'x-content-type-options': NOSNIFF })
                .end(outcome.body);
              return outcome.status;
            }
            res.statusCode = outcome.status;
            for (const [name, value] of outcome.headers) res.setHeader(name, value);
            for (const [name, value] of PRIVATE_ANSWER_HEADERS) res.setHeader(name, value);
            res.setHeader('content-type', outcome.contentType);
            res.end(outcome.body);
            return outcome.status;
          }
          context = outcome.context;
        }
      }
      metrics.graphqlRequest('apollo');
      trace.executedBy('apollo');
      const httpGraphQLRequest: HTTPGraphQLRequest = { method, headers: headerMapOf(req), search, body };
      const response = await apollo.executeHTTPGraphQLRequest({ httpGraphQLRequest, context });
      const status = response.status ?? 200;
      for (const [key, value] of response.headers) res.setHeader(key, value);
      for (const [name, value] of PRIVATE_ANSWER_HEADERS) res.setHeader(name, value);
      res.statusCode = status;
      if (response.body.kind === 'complete') {
        res.end(response.body.string);
      } else {
        for await (const chunk of response.body.asyncIterator) res.write(chunk);
        res.end();
      }
      return status;
    } finally {
      admission?.leave();
    }
  }

  const separate = options.separateManagement === true;
  /** The admin API's routes, or undefined while no credential opens it (decided once: the config does not change). */
  const adminRoutes = options.admin !== undefined && adminApiEnabled(options.admin) ? options.admin.routes : undefined;
  /** Whether the listener a request came in on serves `path` (both do, unless `separateManagement`). */
  function servedOn(path: string, management: boolean): boolean {
    if (!separate || PROBES.has(path)) return true;
    return management !== (path === '/graphql' || path === '/');
  }

  /**
   * Every path but /graphql on the public listener, which {@link handle} serves without this
   * async layer. A path the listener does not serve is answered as an unknown one.
   */
  async function route(req: ArrivingRequest, res: ServerResponse, path: string, management: boolean): Promise<[string, number]> {
    if (!servedOn(path, management)) {
      sendError(res, toClientError(new FloorplanError(ErrorCode.HTTP_NO_ROUTE, { path })));
      return ['other', 404];
    }
    const method = (req.method ?? 'GET').toUpperCase();
    if (GET_ONLY_ROUTES.has(path) && method !== 'GET' && method !== 'HEAD') return [path, onlyGetAndHead(res, path, method)];
    switch (path) {
      case '/healthz':
        res.writeHead(200, { 'content-type': JSON_TYPE }).end('{"status":"ok"}');
        return [path, 200];
      case '/readyz': {
        const ready = options.isReady();
        const body = JSON.stringify({ status: ready ? 'ready' : 'not ready', ...options.readiness?.() });
        res.writeHead(ready ? 200 : 503, ready ? { 'content-type': JSON_TYPE } : { 'content-type': JSON_TYPE, ...REFUSAL_HEADERS }).end(body);
        return [path, ready ? 200 : 503];
      }
      case '/metrics': {
        const text = await metrics.registry.metrics();
        res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text);
        return [path, 200];
      }
      case '/':
        res.writeHead(200, landingHeaders).end(landing);
        return [path, 200];
      default: {
        const page = options.pages?.[path];
        if (page !== undefined) return ['/console', servePage(req, res, path, page)];
        const handler = adminRoutes === undefined ? undefined : path === SESSION_ROUTE ? session : adminRoutes[path];
        if (handler !== undefined) return [path, await admin(req, res, path, handler)];
        sendError(res, toClientError(new FloorplanError(ErrorCode.HTTP_NO_ROUTE, { path })));
        return ['other', 404];
      }
    }
  }

  function servePage(req: IncomingMessage, res: ServerResponse, path: string, page: StaticPage): number {
    const method = (req.method ?? 'GET').toUpperCase();
    if (method !== 'GET' && method !== 'HEAD') return onlyGetAndHead(res, path, method);
    res.writeHead(200, { ...STATIC_HEADERS, 'content-type': page.contentType, 'content-length': page.body.length });
    res.end(method === 'HEAD' ? undefined : page.body);
    return 200;
  }

  /** POST /admin/session: who the credential is and what it may do — the console's login check, throttled like every admin call. */
  const session: AdminHandler = async (_body, caller) => ({ status: 200, body: { identity: caller.identity, role: caller.role } });

  const proxies = trustedProxies(options.trustedProxies ?? []);
  /** Wrong admin credentials per client address in the current window (cleared when it ends). */
  const adminFailures = new LRUCache<string, { count: number }>({
    max: 10_000,
    ttl: (options.admin?.failedAttemptsWindowSeconds ?? 60) * 1000,
    ttlAutopurge: false,
  });

  async function admin(req: ArrivingRequest, res: ServerResponse, path: string, handler: AdminHandler): Promise<number> {
    const send = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(text), 'cache-control': PRIVATE_ANSWER, 'x-content-type-options': NOSNIFF }).end(text);
      return status;
    };
    const socketAddress = req.socket.remoteAddress ?? 'unknown';
    // Behind a load balancer every request comes from its address: counting that would let anyone lock every operator out.
    const address = clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], proxies);
    const counted = throttledAs(address);
    const failures = adminFailures.get(counted);
    const maxFailures = options.admin?.maxFailedAttempts ?? Infinity;
    if (failures !== undefined && failures.count >= maxFailures) {
      // Refused whatever it sends now: a guesser must not learn which guess was right.
      const seconds = Math.max(1, Math.ceil(adminFailures.getRemainingTTL(counted) / 1000));
      res.setHeader('retry-after', String(seconds));
      return send(429, { error: `too many wrong admin credentials from this address; retry after ${seconds} s` });
    }
    const caller = adminCaller(req.headers.authorization, options.admin?.token ?? '', options.admin?.operators ?? {});
    if (caller === 'none') {
      res.setHeader('www-authenticate', 'Bearer realm="floorplan-admin"');
      return send(401, { error: 'the admin endpoints need Authorization: Bearer <ADMIN_TOKEN>' });
    }
    if (caller === 'wrong') {
      const count = (failures?.count ?? 0) + 1;
      // The window starts at the first failure and is not extended by later ones.
      if (failures === undefined) adminFailures.set(counted, { count });
      else failures.count = count;
      const throttled = count >= maxFailures;
      metrics.adminAuthFailure(throttled);
      logger.warn({ address, ...(counted === address ? {} : { throttledAs: counted }), socketAddress, url: req.url, failures: count, throttled }, 'wrong admin credential');
      res.setHeader('www-authenticate', 'Bearer realm="floorplan-admin"');
      return send(401, { error: 'the admin endpoints need Authorization: Bearer <ADMIN_TOKEN>' });
    }
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return send(405, { error: `${req.url ?? ''} accepts POST with a JSON body` });
    }
    const crossSite = crossSiteProblem(req);
    if (crossSite !== undefined) {
      logger.warn({ address, socketAddress, url: req.url, identity: caller.identity }, 'admin request refused as cross-site: %s', crossSite);
      return send(403, { error: `cross-site admin requests are refused: ${crossSite}` });
    }
    if (caller.role !== 'publisher' && path !== SESSION_ROUTE && options.admin?.viewerRoutes?.has(path) !== true) {
      logger.warn({ address, socketAddress, identity: caller.identity, role: caller.role, path, status: 403 }, 'admin request refused: the caller lacks the role');
      return send(403, { error: `${path} needs the publisher role; ${caller.identity} is a ${caller.role}` });
    }
    // JSON only, a body or none: a form or a "simple" cross-origin request cannot send it without a
    // CORS preflight, which is never granted. A form may send no body at all, so none is no excuse.
    if (!isJsonContentType(req)) return send(415, { error: 'the body must be sent as Content-Type: application/json' });
    const raw = await readBody(req, options.bodyLimitBytes);
    let body: unknown;
    try {
      body = raw === '' ? {} : (JSON.parse(raw) as unknown);
    } catch {
      return send(400, { error: 'the body must be JSON' });
    }
    const result = await handler(body, caller);
    // The audit keeps the changes made; who tried one and was refused (four eyes, a conflict, an invalid set) is told here.
    if (result.status >= 400) logger.info({ address, socketAddress, identity: caller.identity, path, status: result.status, error: refusalOf(result.body) }, 'admin request refused');
    return send(result.status, result.body);
  }

  function handle(req: ArrivingRequest, res: ServerResponse): void {
    serve(req, res, false);
  }

  function handleManagement(req: ArrivingRequest, res: ServerResponse): void {
    serve(req, res, true);
  }

  /** Counts an answer, timed from when its request had arrived whole (see {@link ArrivingRequest}). */
  function answered(req: ArrivingRequest, route: string, status: number): void {
    const arrivedAt = req.arrivedAt;
    metrics.httpRequest(route, req.method ?? 'GET', status, arrivedAt === 0 ? 0 : (performance.now() - arrivedAt) / 1000);
  }

  function serve(req: ArrivingRequest, res: ServerResponse, management: boolean): void {
    // A POST's body is still on the wire: the clock starts when it has arrived (readBody).
    if (req.method !== 'POST') req.arrivedAt = performance.now();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (req.headers.host === undefined && req.httpVersionMajor === 1 && req.httpVersionMinor === 1) {
      // What Node's requireHostHeader would answer, which {@link listener} turns off to answer it so.
      refuseBare(res, 400);
      answered(req, path === '/graphql' ? '/graphql' : 'other', 400);
      return;
    }
    const failed = (error: unknown) => {
      if (!req.complete && req.destroyed) {
        // The client hung up before its request was even read (a mobile app cancelling, say):
        // nobody is left to answer and nothing failed here, so no error line and no 5xx.
        logger.debug({ err: error, url: req.url }, 'client closed the connection before its request was read');
        answered(req, path === '/graphql' ? '/graphql' : 'other', CLIENT_CLOSED_REQUEST);
        return;
      }
      const client = toClientError(error);
      if (!client.masked) {
        // An oversized body may still be streaming in: answer, then close instead of reading it all.
        if (client.status === 413 && !res.headersSent) res.setHeader('connection', 'close');
        if (!res.headersSent) sendError(res, client);
      } else {
        logger.error({ err: error, url: req.url }, 'unhandled error while serving a request');
        if (!res.headersSent) sendError(res, client);
        else res.destroy();
      }
      // A fault answered 500 counts too: an alert on the share of 5xx answers must see it.
      answered(req, path === '/graphql' ? '/graphql' : 'other', client.status);
    };
    if (path === '/graphql' && !management) {
      let served: Promise<number>;
      try {
        served = graphql(req, res, path, q === -1 ? '' : url.slice(q));
      } catch (error) {
        // graphql() is not async: what it throws before its promise exists is answered the same way.
        failed(error);
        return;
      }
      served.then((status) => answered(req, '/graphql', status), failed);
      return;
    }
    route(req, res, path, management).then(([routeName, status]) => answered(req, routeName, status), failed);
  }

  return { public: listener(options.connections, handle), management: separate ? listener(options.connections, handleManagement) : undefined };
}

/** An HTTP server for `handle`, bounded by `limits`; not listening yet. */
function listener(limits: ConnectionLimits | undefined, handle: (req: ArrivingRequest, res: ServerResponse) => void): Server {
  const server =
    limits === undefined
      ? createServer({ IncomingMessage: ArrivingRequest, requireHostHeader: false }, handle)
      : createServer(
          {
            IncomingMessage: ArrivingRequest,
            // Refused by serve() instead, with the headers of every refusal (Node's answer is a bare 400).
            requireHostHeader: false,
            headersTimeout: limits.headersTimeoutMs,
            requestTimeout: limits.requestTimeoutMs,
            keepAliveTimeout: limits.keepAliveTimeoutMs,
            // Node checks the two timeouts above on this interval (default 30 s): a slow-header
            // socket would otherwise be held up to 30 s past its timeout.
            connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs / 2),
          },
          handle,
        );
  server.on('clientError', refuseUnparsed);
  // Node's own answer to an unmet expectation is a bare 417; this one carries the refusal headers.
  server.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) => refuseBare(res, 417));
  answerHalfClosed(server);
  if (limits === undefined) {
    // Behind a load balancer: outlive its idle timeout (commonly 60 s) so it never reuses a closed socket.
    server.keepAliveTimeout = 65_000;
  } else if (limits.maxConnections > 0) {
    server.maxConnections = limits.maxConnections;
  }
  return server;
}

/**
 * Answers a client that half-closes its side once its request is sent (`nc`, some proxies and
 * health checkers): a half-close ends the request's bytes, not the client's interest in the
 * answer. By default Node's server ends the socket when the client's side ends,
 * and the request in flight loses its answer; with `httpAllowHalfOpen` it marks the answer in
 * flight as the connection's last, writes it, then closes the socket — and still ends at once a
 * connection half-closed while idle, so none is left open.
 *
 * `httpAllowHalfOpen` is no documented option (http.createServer takes none for this) but a
 * property Node's own http server sets in its constructor and reads on every client half-close
 * (lib/_http_server.js, since 0.x); Node's own test-http-server.js sets it, and a pull request to
 * remove it (nodejs/node#36819) was closed because userland relies on it. Should a Node release
 * drop it, this assignment is inert and test/http/half-close.test.ts fails.
 */
function answerHalfClosed(server: Server): void {
  (server as Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
}
