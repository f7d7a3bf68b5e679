/**
 * Peer (f): the same cart sheet hand-written on Fastify + Mercurius, tuned the way their
 * documentation and undici's suggest — `jit: 1` (graphql-jit compiles the query after its
 * first run), per-request DataLoaders, one undici Pool to the upstreams (or one per upstream:
 * BENCH_POOLS, common.ts) driven with `dispatch` (no stream or promise layers per call), and verified tokens remembered in an LRU
 * keyed by the token (until `exp`, at most five minutes, as Floorplan does).
 *
 * Like (e) it does less than Floorplan: no flags, metrics, validation, timeouts, retries,
 * breakers, deadline or degraded panels.
 */
import { randomUUID } from 'node:crypto';
import DataLoader from 'dataloader';
import Fastify, { type FastifyRequest } from 'fastify';
import { jwtVerify } from 'jose';
import { LRUCache } from 'lru-cache';
import mercurius from 'mercurius';
import { Pool } from 'undici';
import { dispatchersBy, exitWithParent, floorplanSdl, jwtFromEnv, portFromEnv, upstreamPoolingFromEnv, upstreamsFromEnv } from './common.ts';
import {
  appMajorOf,
  CART_PATH,
  localeOf,
  panelOf,
  priceRows,
  PROMOTION_PATH,
  promotionBody,
  quotesInOrder,
  selectionKey,
  selectionOf,
  SETTLEMENT_PATH,
  settlementBody,
  type CartWire,
  type PromotionWire,
  type QuoteWire,
  type Selection,
  type Viewer,
} from './peer-sheet.ts';
import { dispatchJson } from './dispatch-json.ts';

const origin = upstreamsFromEnv();
const jwt = jwtFromEnv();
const poolFor = dispatchersBy(upstreamPoolingFromEnv(), () => new Pool(origin, { connections: 128, keepAliveTimeout: 30_000 }));
/** One upstream call, its whole answer parsed as JSON (dispatch-json.ts: undici's cheapest way). */
const callJson = <T>(method: 'GET' | 'POST', path: string, body?: string): Promise<T> => dispatchJson<T>(poolFor(path), origin, method, path, body);

function createLoaders() {
  return {
    cart: new DataLoader<string, CartWire>((userIds) => Promise.all(userIds.map((userId) => callJson<CartWire>('GET', CART_PATH(userId))))),
    promotion: new DataLoader<Selection, PromotionWire, string>(
      async (selections) => {
        const answer = await callJson<PromotionWire>('POST', PROMOTION_PATH, promotionBody(selections));
        return selections.map(() => answer);
      },
      { cacheKeyFn: selectionKey },
    ),
    settlement: new DataLoader<Selection, QuoteWire, string>(
      async (selections) => quotesInOrder(await callJson<{ quotes: QuoteWire[] }>('POST', SETTLEMENT_PATH, settlementBody(selections)), selections.length),
      { cacheKeyFn: selectionKey },
    ),
  };
}

/** Verified tokens: the subject, until the token expires or five minutes pass. */
const verified = new LRUCache<string, { readonly sub: string; readonly validUntilMs: number }>({ max: 10_000 });
const REVERIFY_AFTER_MS = 5 * 60_000;

async function subjectOf(authorization: string | undefined): Promise<string> {
  const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
  if (token === undefined) throw new mercurius.ErrorWithProps('a bearer token is required', { code: 'UNAUTHENTICATED' }, 401);
  const known = verified.get(token);
  if (known !== undefined && Date.now() < known.validUntilMs) return known.sub;
  try {
    const { payload } = await jwtVerify(token, jwt.secret, {
      algorithms: ['HS256'],
      issuer: jwt.issuer,
      audience: jwt.audience,
      clockTolerance: jwt.clockToleranceSeconds,
      requiredClaims: ['sub', 'exp'],
    });
    const sub = payload.sub as string;
    verified.set(token, { sub, validUntilMs: Math.min(((payload.exp as number) + jwt.clockToleranceSeconds) * 1000, Date.now() + REVERIFY_AFTER_MS) });
    return sub;
  } catch {
    throw new mercurius.ErrorWithProps('the token was rejected', { code: 'UNAUTHENTICATED' }, 401);
  }
}

interface Context {
  readonly viewer: Viewer;
  readonly loaders: ReturnType<typeof createLoaders>;
}

// Mercurius's documented way to type what the context function adds.
declare module 'mercurius' {
  interface MercuriusContext extends Context {}
}

const app = Fastify({ logger: false });
await app.register(mercurius, {
  schema: floorplanSdl(),
  jit: 1,
  context: async (request: FastifyRequest): Promise<Context> => {
    const header = (name: string) => {
      const value = request.headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    const viewer: Viewer = {
      userId: await subjectOf(request.headers.authorization),
      locale: localeOf(header('accept-language')),
      appMajor: appMajorOf(header('x-app-version')),
    };
    return { viewer, loaders: createLoaders() };
  },
  resolvers: {
    Query: {
      floorPanel: async (_root: unknown, args: { scene: string; selectedSkuIds?: string[] | null }, { viewer, loaders }: mercurius.MercuriusContext) => {
        if (args.scene !== 'cart-bottom-sheet') throw new mercurius.ErrorWithProps(`unknown scene ${JSON.stringify(args.scene)}`, { code: 'BAD_USER_INPUT' });
        const cart = await loaders.cart.load(viewer.userId);
        const selection = selectionOf(cart, args.selectedSkuIds);
        const [promotion, quote] = await Promise.all([loaders.promotion.load(selection), loaders.settlement.load(selection)]);
        return panelOf(priceRows(quote, promotion, viewer), viewer);
      },
    },
    FloorPanel: { decisionId: () => randomUUID() },
  },
});

exitWithParent();
await app.listen({ port: portFromEnv(), host: '127.0.0.1' });
