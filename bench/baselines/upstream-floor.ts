/**
 * Reference (d): the upstream floor. Plain `node:http` that, per POST /graphql, makes the
 * three upstream calls a panel needs — GET cart, then POST promotion ∥ POST settlement with
 * the bodies Floorplan sends, over undici keep-alive pools, each answer parsed as JSON — and
 * then writes the precomputed panel JSON. No auth, no GraphQL, no flags, no validation, no
 * resilience policies, no rendering: what the three HTTP calls alone cost a Node process,
 * the least any server answering from these upstreams can spend per panel.
 *
 * The user comes from the bearer token's `sub`, read without verifying it (so each
 * connection calls the upstreams for its own user, as it does with Floorplan).
 *
 * With BENCH_SHED_SHARE (0 to 1) it is also the overload rows' control: it refuses that share of
 * the requests, evenly spread, the moment each arrives — HTTP 503 with Retry-After and code
 * OVERLOADED, as Floorplan's admission control answers — and serves the rest as above. Fed the
 * open loop's arrivals and Floorplan's share of refusals, it puts the same load on the upstreams
 * and the generator while its own loop never saturates: its shed p99 is what this machine's
 * load generator, kernel and upstream core add to a refusal, whatever the server does.
 */
import { createServer, type IncomingMessage } from 'node:http';
import { Pool } from 'undici';
import { PANEL_RESPONSE_JSON } from '../panel.ts';
import { dispatchersBy, exitWithParent, portFromEnv, upstreamPoolingFromEnv } from './common.ts';
import { dispatchJson } from './dispatch-json.ts';

const origin = process.env['BENCH_UPSTREAMS'] ?? '';
if (!/^http:\/\/[^/]+$/.test(origin)) throw new Error(`BENCH_UPSTREAMS must be an http://host:port origin, but got: ${JSON.stringify(origin)}`);
const poolFor = dispatchersBy(upstreamPoolingFromEnv(), () => new Pool(origin, { connections: 128, keepAliveTimeout: 30_000 }));
const body = Buffer.from(PANEL_RESPONSE_JSON);
const headers = { 'content-type': 'application/json; charset=utf-8', 'content-length': String(body.length) };
const shedShare = Number(process.env['BENCH_SHED_SHARE'] ?? '0');
if (!(shedShare >= 0 && shedShare <= 1)) throw new Error(`BENCH_SHED_SHARE must be a number from 0 to 1, but got: ${JSON.stringify(process.env['BENCH_SHED_SHARE'])}`);
const refusal = Buffer.from(JSON.stringify({ errors: [{ message: 'overloaded: retry after the delay', extensions: { code: 'OVERLOADED', retryAfterMs: 1000 } }] }));
const refusalHeaders = { 'content-type': 'application/json; charset=utf-8', 'content-length': String(refusal.length), 'retry-after': '1' };
/** Refusals owed: grows by the share per request, one refusal per whole unit. */
let owed = 0;

interface CartLine {
  readonly skuId: string;
  readonly quantity: number;
  readonly selected: boolean;
}

/** One call, its whole answer parsed as JSON (dispatch-json.ts: undici's cheapest way). */
const call = (method: 'GET' | 'POST', path: string, payload?: string): Promise<unknown> => dispatchJson(poolFor(path), origin, method, path, payload);

function userOf(req: IncomingMessage): string {
  const token = /^Bearer\s+[^.]+\.([^.]+)\./.exec(req.headers.authorization ?? '')?.[1] ?? '';
  return (JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { sub: string }).sub;
}

async function panel(userId: string): Promise<void> {
  const cart = (await call('GET', `/cart/carts/${encodeURIComponent(userId)}`)) as { lines: CartLine[] };
  const lines = cart.lines.filter((l) => l.selected);
  await Promise.all([
    call('POST', '/promotion/promotions/query', JSON.stringify({ userId, skuIds: lines.map((l) => l.skuId).sort() })),
    call(
      'POST',
      '/settlement/settlement/quotes',
      JSON.stringify({ userId, quotes: [{ quoteId: 'q0', lines: lines.map((l) => ({ skuId: l.skuId, quantity: l.quantity })) }] }),
    ),
  ]);
}

const server = createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/graphql') {
    res.writeHead(404).end();
    return;
  }
  owed += shedShare;
  if (owed >= 1) {
    owed -= 1;
    req.resume();
    res.writeHead(503, refusalHeaders).end(refusal);
    return;
  }
  req.resume();
  req.on('end', () => {
    panel(userOf(req)).then(
      () => res.writeHead(200, headers).end(body),
      (error: unknown) => res.writeHead(502, { 'content-type': 'text/plain' }).end(String(error)),
    );
  });
});

exitWithParent();
server.listen(portFromEnv(), '127.0.0.1');
