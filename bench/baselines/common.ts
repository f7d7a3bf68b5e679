/**
 * What the baseline servers share: the port they are told to use, the schema they serve,
 * leaving when the orchestrator does, and for the peers the upstreams and the token settings.
 */
import { loadTypeDefs } from '../../src/graphql/schema.ts';

/** BENCH_PORT, required: the orchestrator picks a free port for each server. */
export function portFromEnv(): number {
  const raw = process.env['BENCH_PORT'] ?? '';
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port < 1 || port > 65_535) {
    throw new Error(`BENCH_PORT must be a port from 1 to 65535, but got: ${JSON.stringify(raw)}`);
  }
  return port;
}

/** Floorplan's SDL, so every baseline validates and executes against the same contract. */
export function floorplanSdl(): string {
  return loadTypeDefs();
}

/**
 * Exits when stdin closes: the orchestrator holds the other end of the pipe, so a baseline
 * never outlives it, even when it is killed without the chance to clean up.
 */
export function exitWithParent(): void {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
  process.once('SIGTERM', () => process.exit(0));
  process.once('SIGINT', () => process.exit(0));
}

/** BENCH_UPSTREAMS, required by the baselines that call the demo upstreams: an http://host:port origin. */
export function upstreamsFromEnv(): string {
  const origin = process.env['BENCH_UPSTREAMS'] ?? '';
  if (!/^http:\/\/[^/]+$/.test(origin)) throw new Error(`BENCH_UPSTREAMS must be an http://host:port origin, but got: ${JSON.stringify(origin)}`);
  return origin;
}

/**
 * BENCH_POOLS: how a baseline holds its connections to the demo upstreams. `shared` (the default,
 * and the issue's own measurement): one pool for their one origin, as undici's docs teach for
 * one origin. `per-upstream`: one pool per upstream (cart, promotion, settlement), as it would
 * need in production, where the three are services of their own with an origin each (`--peer-pools`).
 */
export type UpstreamPooling = 'shared' | 'per-upstream';

export function upstreamPoolingFromEnv(): UpstreamPooling {
  const pooling = process.env['BENCH_POOLS'] ?? 'shared';
  if (pooling !== 'shared' && pooling !== 'per-upstream') throw new Error(`BENCH_POOLS must be shared or per-upstream, but got: ${JSON.stringify(pooling)}`);
  return pooling;
}

/** The upstream a demo-upstreams path belongs to: its first segment (`/cart/carts/u1` → `cart`). */
export function upstreamOfPath(path: string): string {
  const end = path.indexOf('/', 1);
  return end === -1 ? path.slice(1) : path.slice(1, end);
}

/**
 * The dispatcher for each upstream call, by `pooling` ({@link UpstreamPooling}): `make()` is
 * called once for a shared one, or once per upstream on its first call.
 */
export function dispatchersBy<D>(pooling: UpstreamPooling, make: () => D): (path: string) => D {
  if (pooling === 'shared') {
    const shared = make();
    return () => shared;
  }
  const byUpstream = new Map<string, D>();
  return (path) => {
    const upstream = upstreamOfPath(path);
    let dispatcher = byUpstream.get(upstream);
    if (dispatcher === undefined) byUpstream.set(upstream, (dispatcher = make()));
    return dispatcher;
  };
}

/** How the peers verify bearer tokens: Floorplan's auth settings (HS256), passed by the orchestrator. */
export interface PeerJwtSettings {
  readonly secret: Uint8Array;
  readonly issuer: string;
  readonly audience: string;
  readonly clockToleranceSeconds: number;
}

export function jwtFromEnv(): PeerJwtSettings {
  const read = (name: string) => {
    const value = process.env[name];
    if (value === undefined || value === '') throw new Error(`${name} is required`);
    return value;
  };
  return {
    secret: new TextEncoder().encode(read('BENCH_JWT_SECRET')),
    issuer: read('BENCH_JWT_ISSUER'),
    audience: read('BENCH_JWT_AUDIENCE'),
    clockToleranceSeconds: Number(read('BENCH_JWT_CLOCK_TOLERANCE_SECONDS')),
  };
}
