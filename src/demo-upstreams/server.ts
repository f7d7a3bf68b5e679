/**
 * The demo upstream server: a fake of every registered upstream on one port, each under the
 * path prefix of its name (/cart, /promotion, …) and at the call its definition declares
 * (upstreams/registry.ts), with injectable faults. Used by `npm start`, tests and
 * benchmarks; the product code never imports it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UPSTREAM_DEFINITIONS, UPSTREAMS, type UpstreamName } from '../upstreams/registry.ts';
import { parseFaults, type Faults } from './faults.ts';
import { DEMO_SERVICES, errorReply, jsonReply, type JsonReply } from './services.ts';

/** A running demo upstream server. */
export interface DemoUpstreams {
  readonly port: number;
  readonly baseUrls: Readonly<Record<UpstreamName, string>>;
  /** Number of requests each upstream received since start or last resetCalls(). */
  calls(): Record<UpstreamName, number>;
  /**
   * The parsed JSON bodies (or, for a GET such as cart's, the path param) each upstream received, in order:
   * the most recent `recordLimit` of them. A POST body that is not JSON is recorded as its raw text.
   */
  received(upstream: UpstreamName): unknown[];
  resetCalls(): void;
  /** Replace the active faults at runtime, e.g. setFaults('promotion:hang') or setFaults(''). Throws on a bad spec. */
  setFaults(spec: string): void;
  /**
   * Rewrites an upstream's successful JSON answers before they are sent — a contract-valid but
   * adversarial upstream (two coupons, a quote that does not add up, another currency), for
   * tests that must go through real HTTP. `undefined` restores the honest answers.
   */
  tamper(upstream: UpstreamName, rewrite: ((answer: unknown, request: unknown) => unknown) | undefined): void;
  /** Closes listeners AND destroys hung/open sockets so close never waits on a hang. */
  close(): Promise<void>;
}

/** Options of startDemoUpstreams. */
export interface DemoUpstreamsOptions {
  /** Port to listen on; 0 (the default) picks a free one. */
  readonly port?: number;
  /** Interface to bind; default 127.0.0.1. */
  readonly host?: string;
  /** Fault spec, as in DEMO_FAULTS; default none. */
  readonly faults?: string;
  /**
   * How many received bodies each upstream keeps for `received()`, the most recent first to stay;
   * default 1000. Older ones are dropped: a demo serving for hours (or a benchmark, ~1,500 calls
   * a second) would otherwise keep every body it was ever sent.
   */
  readonly recordLimit?: number;
}

const DEFAULT_RECORD_LIMIT = 1000;

const MAX_BODY_BYTES = 1024 * 1024;
const MALFORMED_BODY = Buffer.from('{"userId":');
const HEALTHY = jsonReply(200, { status: 'ok' });
const NOT_FOUND = errorReply(404, 'not found');

/** Where each upstream is served: a POST path, or a GET path with one parameter (cart's userId). */
type Route = { readonly method: 'POST'; readonly path: string } | { readonly method: 'GET'; readonly param: RegExp };
const ROUTES = new Map<UpstreamName, Route>(
  UPSTREAM_DEFINITIONS.map((d): [UpstreamName, Route] => {
    const call = d.call as (typeof UPSTREAM_DEFINITIONS)[number]['call'];
    if (call.method === 'POST') return [d.name, { method: 'POST', path: `/${d.name}${call.path}` }];
    const [before = '', after = ''] = call.path('\u0000' as never).split(encodeURIComponent('\u0000'));
    const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    return [d.name, { method: 'GET', param: new RegExp(`^/${d.name}${escape(before)}([^/]+)${escape(after)}$`) }];
  }),
);

function zeroes<T>(make: () => T): Record<UpstreamName, T> {
  return Object.fromEntries(UPSTREAMS.map((u) => [u, make()])) as Record<UpstreamName, T>;
}

function upstreamOf(path: string): UpstreamName | undefined {
  for (const upstream of UPSTREAMS) {
    if (path === `/${upstream}` || path.startsWith(`/${upstream}/`)) return upstream;
  }
  return undefined;
}

function send(res: ServerResponse, reply: JsonReply): void {
  res.writeHead(reply.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': reply.body.length,
  });
  res.end(reply.body);
}

/** Reads the request body; undefined when it exceeds MAX_BODY_BYTES. */
async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/** Starts the demo upstreams and resolves once they listen. */
export async function startDemoUpstreams(opts: DemoUpstreamsOptions = {}): Promise<DemoUpstreams> {
  const host = opts.host ?? '127.0.0.1';
  let faults: Faults = parseFaults(opts.faults);
  let closed = false;
  const counts: Record<UpstreamName, number> = zeroes(() => 0);
  const recordLimit = opts.recordLimit ?? DEFAULT_RECORD_LIMIT;
  if (!Number.isInteger(recordLimit) || recordLimit < 0) throw new Error(`recordLimit must be a whole number ≥ 0, but got ${recordLimit}`);
  const bodies: Record<UpstreamName, unknown[]> = zeroes((): unknown[] => []);
  /** Keeps `body`; trims to the last recordLimit once twice that many pile up, so a call costs O(1) amortised. */
  const record = (upstream: UpstreamName, body: unknown): void => {
    const kept = bodies[upstream];
    kept.push(body);
    if (kept.length > 2 * recordLimit) bodies[upstream] = kept.slice(kept.length - recordLimit);
  };
  const pendingDelays = new Map<NodeJS.Timeout, (completed: boolean) => void>();
  const rewrites: Partial<Record<UpstreamName, (answer: unknown, request: unknown) => unknown>> = {};

  /** Resolves true after `ms`, or false as soon as the server closes. */
  const delay = (ms: number): Promise<boolean> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        pendingDelays.delete(timer);
        resolve(true);
      }, ms);
      pendingDelays.set(timer, resolve);
    });

  const route = (upstream: UpstreamName, method: string, path: string, body: unknown, param?: string): JsonReply => {
    const served = ROUTES.get(upstream);
    const reply = DEMO_SERVICES[upstream] as (request: unknown) => JsonReply;
    if (served?.method === 'GET') return param === undefined ? NOT_FOUND : reply(param);
    return method === 'POST' && served !== undefined && path === served.path ? reply(body) : NOT_FOUND;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);

    if (path === '/healthz' && method === 'GET') return send(res, HEALTHY);
    const upstream = upstreamOf(path);
    if (upstream === undefined) return send(res, NOT_FOUND);

    // Counted on arrival, so a request that will hang or be reset is visible to tests at once.
    counts[upstream] += 1;
    const fault = faults[upstream];

    let body: unknown;
    let badBody: JsonReply | undefined;
    let param: string | undefined;
    const served = ROUTES.get(upstream);
    const rawParam = served?.method === 'GET' && method === 'GET' ? served.param.exec(path)?.[1] : undefined;
    if (rawParam !== undefined) {
      try {
        param = decodeURIComponent(rawParam);
        record(upstream, param);
      } catch {
        badBody = errorReply(400, 'the path parameter is not valid percent-encoding');
        record(upstream, rawParam);
      }
    }
    if (method === 'POST') {
      const text = await readBody(req);
      if (text === undefined) {
        badBody = errorReply(413, `body exceeds ${MAX_BODY_BYTES} bytes`);
      } else {
        try {
          body = JSON.parse(text);
          record(upstream, body);
        } catch {
          record(upstream, text);
          badBody = errorReply(400, 'body is not valid JSON');
        }
      }
    }

    if (fault !== undefined) {
      switch (fault.kind) {
        case 'hang':
          return; // closeAllConnections() on close() tears the socket down
        case 'reset':
          req.socket.resetAndDestroy();
          return;
        case 'malformed':
          return send(res, { status: 200, body: MALFORMED_BODY });
        case 'error':
          return send(res, errorReply(fault.status, `injected fault: ${upstream} error ${fault.status}`));
        case 'latency':
          if (!(await delay(fault.ms)) || closed) return;
          break;
      }
    }

    const reply = badBody ?? route(upstream, method, path, body, param);
    const rewrite = rewrites[upstream];
    if (rewrite === undefined || reply.status !== 200) return send(res, reply);
    const answer: unknown = JSON.parse(reply.body.toString('utf8'));
    send(res, jsonReply(200, rewrite(answer, served?.method === 'GET' ? param : body)));
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      send(res, errorReply(500, error instanceof Error ? error.message : String(error)));
    });
  });
  // Longer than client keep-alive pools hold idle sockets, so clients never reuse a socket we just closed.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });

  const port = (server.address() as AddressInfo).port;
  const origin = `http://${urlHost(host)}:${port}`;
  let closing: Promise<void> | undefined;

  return {
    port,
    baseUrls: Object.fromEntries(UPSTREAMS.map((u) => [u, `${origin}/${u}`])) as Record<UpstreamName, string>,
    calls: () => ({ ...counts }),
    received: (upstream) => {
      const kept = bodies[upstream];
      return kept.slice(Math.max(0, kept.length - recordLimit));
    },
    resetCalls: () => {
      for (const upstream of UPSTREAMS) {
        counts[upstream] = 0;
        bodies[upstream] = [];
      }
    },
    setFaults: (spec) => {
      faults = parseFaults(spec);
    },
    tamper: (upstream, rewrite) => {
      if (rewrite === undefined) delete rewrites[upstream];
      else rewrites[upstream] = rewrite;
    },
    close: () => {
      closing ??= new Promise<void>((resolve, reject) => {
        closed = true;
        for (const [timer, resolveDelay] of pendingDelays) {
          clearTimeout(timer);
          resolveDelay(false);
        }
        pendingDelays.clear();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
