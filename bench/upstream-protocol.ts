/**
 * Would HTTP/2 to the upstreams cost the client less CPU per call than HTTP/1.1? A lever
 * BENCHMARKS.md listed ("fewer or cheaper round trips"), measured once (session 46) and not
 * taken: undici's h2c client costs more per call than its HTTP/1.1 pool.
 *
 *   node --import tsx bench/upstream-protocol.ts [--rounds 4] [--seconds 3] [--panels 100]
 *
 * A child process (this script with UPSTREAM_PROTOCOL_SERVE=1, on core 1 when pinning is available) answers the
 * demo upstreams' own replies (src/demo-upstreams/services.ts: cart, promotion, settlement) over
 * HTTP/1.1 (node:http) and over cleartext HTTP/2 (node:http2, prior knowledge) on two ports.
 * This process (core 0) drives `--panels` loops, each a panel's three calls as Floorplan makes
 * them (the cart, then promotion and settlement at once), with the peers' least call
 * (bench/baselines/dispatch-json.ts: undici `dispatch` + JSON.parse) through one undici Pool per
 * variant. In each round every variant runs once, in turn, for `--seconds` after a 1 s warm-up;
 * the row is this process's CPU µs per call:
 * - `h1`: a Pool of 128 connections, as `config/bench.yaml` sizes Floorplan's;
 * - `h2c`: a Pool of one HTTP/2 connection (`allowH2`, `h2Options.useH2c`, up to 1000 streams at
 *   once, as the server allows), every call a stream on it;
 * - `h2c×4`: four HTTP/2 connections.
 */
import { createServer as createHttp1Server, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttp2Server, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { cartReply, promotionReply, settlementReply, type JsonReply } from '../src/demo-upstreams/services.ts';
import type { Cart } from '../src/upstreams/contracts.ts';
import { dispatchJson } from './baselines/dispatch-json.ts';
import { pin, pinSelf, startNode, stopAll } from './children.ts';
import { median } from './stats.ts';

const USERS = Array.from({ length: 100 }, (_, n) => `plus-bench-${n}`);

function replyTo(method: string | undefined, path: string, body: string): JsonReply {
  const cart = /^\/cart\/carts\/([^/]+)$/.exec(path);
  if (method === 'GET' && cart) return cartReply(decodeURIComponent(cart[1] ?? ''));
  if (method === 'POST' && path === '/promotion/promotions/query') return promotionReply(JSON.parse(body));
  if (method === 'POST' && path === '/settlement/settlement/quotes') return settlementReply(JSON.parse(body));
  return { status: 404, body: Buffer.from('{"error":"not found"}') };
}

function answer(req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const reply = replyTo(req.method, req.url ?? '', Buffer.concat(chunks).toString('utf8'));
    // The HTTP/2 compatibility API's response takes the same call; the union of both types does not.
    (res as ServerResponse).writeHead(reply.status, { 'content-type': 'application/json', 'content-length': reply.body.length });
    res.end(reply.body);
  });
}

/** The child: both servers, their ports on stdout; it exits when its stdin closes. */
async function serve(): Promise<void> {
  const h1 = createHttp1Server({ keepAliveTimeout: 60_000 }, answer);
  const h2 = createHttp2Server({ settings: { maxConcurrentStreams: 1000 } }, answer);
  await Promise.all([new Promise<void>((done) => h1.listen(0, '127.0.0.1', done)), new Promise<void>((done) => h2.listen(0, '127.0.0.1', done))]);
  process.stdout.write(`listening h1 ${(h1.address() as AddressInfo).port} h2c ${(h2.address() as AddressInfo).port}\n`);
  process.stdin.on('close', () => process.exit(0));
  process.stdin.resume();
}

interface Variant {
  readonly name: string;
  readonly origin: string;
  readonly pool: Pool;
}

/** One panel's three calls, as Floorplan makes them. */
async function panel(variant: Variant, userId: string): Promise<void> {
  const { pool, origin } = variant;
  const cart = await dispatchJson<Cart>(pool, origin, 'GET', `/cart/carts/${encodeURIComponent(userId)}`);
  const lines = cart.lines.filter((line) => line.selected);
  await Promise.all([
    dispatchJson(pool, origin, 'POST', '/promotion/promotions/query', JSON.stringify({ userId, skuIds: lines.map((line) => line.skuId).sort() })),
    dispatchJson(pool, origin, 'POST', '/settlement/settlement/quotes', JSON.stringify({ userId, quotes: [{ quoteId: 'q0', lines: lines.map((line) => ({ skuId: line.skuId, quantity: line.quantity })) }] })),
  ]);
}

/** This process's CPU µs per call over `ms` of `panels` closed loops. */
async function drive(variant: Variant, panels: number, ms: number): Promise<number> {
  let calls = 0;
  let running = true;
  const loop = async (n: number) => {
    for (let i = n; running; i += panels) {
      await panel(variant, USERS[i % USERS.length] ?? 'plus-bench-0');
      calls += 3;
    }
  };
  const started = process.cpuUsage();
  const loops = Array.from({ length: panels }, (_, n) => loop(n));
  await new Promise((done) => setTimeout(done, ms));
  running = false;
  await Promise.all(loops);
  const used = process.cpuUsage(started);
  return (used.user + used.system) / calls;
}

/**
 * A pool of `connections` cleartext HTTP/2 connections. undici's Pool builds its connector from a
 * top-level `useH2c` (its types list only `h2Options.useH2c`, which the Pool does not read).
 */
function h2cOptions(connections: number): Pool.Options {
  const options: Pool.Options & { useH2c: boolean } = { connections, allowH2: true, useH2c: true, h2Options: { maxConcurrentStreams: 1000 }, keepAliveTimeout: 30_000 };
  return options;
}

async function main(): Promise<void> {
  if (process.env.UPSTREAM_PROTOCOL_SERVE === '1') return serve();
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '4' }, seconds: { type: 'string', default: '3' }, panels: { type: 'string', default: '100' } } });
  const rounds = Number(values.rounds);
  const ms = Number(values.seconds) * 1000;
  const panels = Number(values.panels);

  const child = startNode('upstream-protocol servers', 'bench/upstream-protocol.ts', { env: { ...process.env, UPSTREAM_PROTOCOL_SERVE: '1' } });
  let ports: RegExpExecArray | null = null;
  for (const give = performance.now() + 30_000; ports === null && performance.now() < give; await new Promise((done) => setTimeout(done, 50))) ports = /listening h1 (\d+) h2c (\d+)/.exec(child.output());
  if (ports === null) throw new Error(`the servers did not start: ${child.output()}`);
  pin(child, 1);
  const unpin = pinSelf(0);

  const h1 = `http://127.0.0.1:${ports[1]}`;
  const h2c = `http://127.0.0.1:${ports[2]}`;
  const variants: Variant[] = [
    { name: 'h1', origin: h1, pool: new Pool(h1, { connections: 128, keepAliveTimeout: 30_000 }) },
    { name: 'h2c', origin: h2c, pool: new Pool(h2c, h2cOptions(1)) },
    { name: 'h2c×4', origin: h2c, pool: new Pool(h2c, h2cOptions(4)) },
  ];
  const perRound: Record<string, number>[] = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      const row: Record<string, number> = {};
      // The order turns each round, so no variant always runs first.
      for (let k = 0; k < variants.length; k++) {
        const variant = variants[(k + round) % variants.length] as Variant;
        await drive(variant, panels, 1000);
        row[variant.name] = await drive(variant, panels, ms);
      }
      perRound.push(row);
      process.stderr.write(`round ${round}: ${variants.map((v) => `${v.name} ${(row[v.name] ?? 0).toFixed(1)}`).join(', ')} µs CPU per call\n`);
    }
  } finally {
    unpin();
    await Promise.all(variants.map((v) => v.pool.close()));
    await stopAll();
  }
  const medianOf = (name: string) => median(perRound.map((row) => row[name] ?? Number.NaN));
  const ratioOf = (name: string) => median(perRound.map((row) => (row[name] ?? Number.NaN) / (row.h1 ?? Number.NaN)));
  process.stdout.write(
    `${JSON.stringify({ rounds, seconds: ms / 1000, panels, usPerCall: Object.fromEntries(variants.map((v) => [v.name, medianOf(v.name)])), overH1: Object.fromEntries(variants.map((v) => [v.name, ratioOf(v.name)])), perRound }, null, 2)}\n`,
  );
}

await main();
