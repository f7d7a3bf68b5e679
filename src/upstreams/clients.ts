/** Typed clients for the cart, promotion and settlement services. They know nothing of floors. */
import {
  cartSchema,
  promotionResultSchema,
  settlementResultSchema,
  type Cart,
  type PromotionQuery,
  type PromotionResult,
  type SettlementRequest,
  type SettlementResult,
  type UpstreamName,
} from './contracts.ts';
import type { Deadline } from './deadline.ts';
import { DEFAULT_RESILIENCE, JsonHttp, type BreakerObserver, type ResilienceOptions, type UpstreamObserver } from './json-http.ts';

export interface UpstreamEndpoint extends Partial<ResilienceOptions> {
  readonly baseUrl: string;
  readonly timeoutMs: number;
  readonly connections: number;
}

/** The three services behind one seam: what loaders call, what tests replace with fakes. */
export interface UpstreamClients {
  getCart(userId: string, deadline?: Deadline): Promise<Cart>;
  queryPromotions(query: PromotionQuery, deadline?: Deadline): Promise<PromotionResult>;
  quote(request: SettlementRequest, deadline?: Deadline): Promise<SettlementResult>;
  close(): Promise<void>;
}

/** HTTP clients for the configured endpoints, one keep-alive pool each. */
export function createHttpUpstreamClients(
  endpoints: Readonly<Record<UpstreamName, UpstreamEndpoint>>,
  observe?: UpstreamObserver,
  observeBreaker?: BreakerObserver,
): UpstreamClients {
  const http = (upstream: UpstreamName) => {
    const { baseUrl, timeoutMs, connections, ...resilience } = endpoints[upstream];
    return new JsonHttp({
      upstream,
      baseUrl,
      timeoutMs,
      connections,
      resilience: { ...DEFAULT_RESILIENCE, ...resilience },
      observe,
      observeBreaker,
    });
  };
  const cart = http('cart');
  const promotion = http('promotion');
  const settlement = http('settlement');
  return {
    getCart: (userId, deadline) => cart.get(`/carts/${encodeURIComponent(userId)}`, cartSchema, deadline),
    queryPromotions: (query, deadline) => promotion.postRead('/promotions/query', query, promotionResultSchema, deadline),
    quote: (request, deadline) => settlement.postRead('/settlement/quotes', request, settlementResultSchema, deadline),
    async close() {
      await Promise.all([cart.close(), promotion.close(), settlement.close()]);
    },
  };
}
