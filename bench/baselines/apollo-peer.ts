/**
 * Peer (e): the cart sheet as a team would hand-write it on Apollo Server 5, the way its
 * documentation teaches — `startStandaloneServer`, a context function that verifies the
 * bearer token (jose `jwtVerify`, every request) and creates per-request DataLoaders, loaders
 * that call the demo upstreams with undici's `request`, and a resolver that maps the answers
 * to the sheet's rows (peer-sheet.ts). Floorplan's SDL, so the same query answers the same shape.
 *
 * It does less than Floorplan: no flags, metrics, validation of upstream answers, timeouts,
 * retries, breakers, deadline or degraded panels (an upstream failure fails the query).
 */
import { randomUUID } from 'node:crypto';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import DataLoader from 'dataloader';
import { GraphQLError } from 'graphql';
import { jwtVerify } from 'jose';
import { Agent, getGlobalDispatcher, request, type Dispatcher } from 'undici';
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

const origin = upstreamsFromEnv();
const jwt = jwtFromEnv();
const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json' };
/** undici's global dispatcher, as its docs teach; with BENCH_POOLS=per-upstream, an Agent per upstream, as three origins would have. */
const pooling = upstreamPoolingFromEnv();
const agentFor = dispatchersBy(pooling, (): Dispatcher => (pooling === 'shared' ? getGlobalDispatcher() : new Agent()));

async function callJson<T>(method: 'GET' | 'POST', path: string, body?: string): Promise<T> {
  const response = await request(`${origin}${path}`, { method, headers: JSON_HEADERS, body, dispatcher: agentFor(path) });
  if (response.statusCode !== 200) {
    await response.body.dump();
    throw new Error(`${method} ${path}: HTTP ${response.statusCode}`);
  }
  return (await response.body.json()) as T;
}

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

interface Context {
  readonly viewer: Viewer;
  readonly loaders: ReturnType<typeof createLoaders>;
}

const unauthenticated = (message: string) => new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });

const server = new ApolloServer<Context>({
  typeDefs: floorplanSdl(),
  resolvers: {
    Query: {
      floorPanel: async (_root: unknown, args: { scene: string; selectedSkuIds?: string[] | null }, { viewer, loaders }: Context) => {
        if (args.scene !== 'cart-bottom-sheet') throw new GraphQLError(`unknown scene ${JSON.stringify(args.scene)}`, { extensions: { code: 'BAD_USER_INPUT' } });
        const cart = await loaders.cart.load(viewer.userId);
        const selection = selectionOf(cart, args.selectedSkuIds);
        const [promotion, quote] = await Promise.all([loaders.promotion.load(selection), loaders.settlement.load(selection)]);
        return panelOf(priceRows(quote, promotion, viewer), viewer);
      },
    },
    FloorPanel: { decisionId: () => randomUUID() },
  },
  includeStacktraceInErrorResponses: false,
});

exitWithParent();
await startStandaloneServer(server, {
  listen: { port: portFromEnv(), host: '127.0.0.1' },
  context: async ({ req }): Promise<Context> => {
    const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (token === undefined) throw unauthenticated('a bearer token is required');
    let sub: string | undefined;
    try {
      const { payload } = await jwtVerify(token, jwt.secret, {
        algorithms: ['HS256'],
        issuer: jwt.issuer,
        audience: jwt.audience,
        clockTolerance: jwt.clockToleranceSeconds,
        requiredClaims: ['sub', 'exp'],
      });
      sub = payload.sub;
    } catch {
      throw unauthenticated('the token was rejected');
    }
    if (sub === undefined) throw unauthenticated('the token has no subject');
    const header = (name: string) => {
      const value = req.headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    const viewer: Viewer = { userId: sub, locale: localeOf(header('accept-language')), appMajor: appMajorOf(header('x-app-version')) };
    return { viewer, loaders: createLoaders() };
  },
});
