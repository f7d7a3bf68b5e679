/**
 * Cross-request caching under the upstream clients, for the one call whose answer is safe
 * to share: promotion facts (membership tier and quota, campaign titles, coupons) for a user
 * and a set of SKUs — the key holds both, so no user can ever read another's. Carts and
 * settlement quotes are never cached: they change with every tap and settlement is the
 * authority on money.
 */
import type { TieredCache } from '../cache/tiered-cache.ts';
import { cacheKey } from '../cache/tiered-cache.ts';
import type { UpstreamClients } from './clients.ts';
import type { PromotionResult } from './contracts.ts';
import type { Deadline } from './deadline.ts';
import { isStrictlyAscending } from './defs/promotion.ts';
import { UpstreamError } from './upstream-error.ts';

/**
 * Wraps `clients` so promotion queries go through `cache`. The cached load is not tied to
 * one request's deadline — a slow load keeps going and fills the cache for the next
 * request — but each request stops waiting when its own deadline fires.
 */
export function withPromotionCache(clients: UpstreamClients, cache: TieredCache<PromotionResult>): UpstreamClients {
  return {
    ...clients,
    promotion(query, deadline, notes) {
      if (deadline?.passed === true) return Promise.reject(deadlinePassed());
      // The loaders ask with the SKUs in order already: no copy to sort then.
      const key = cacheKey(query.userId, (isStrictlyAscending(query.skuIds) ? query.skuIds : [...query.skuIds].sort()).join(','));
      // Told before get returns: an answer from L1, fresh or stale, is there already.
      let inL1 = false;
      const pending = cache.get(
        key,
        // A load this request starts carries its span (a traced request); waiters that share it are not its parent.
        () => clients.promotion(query, undefined, notes?.traceHeaders === undefined ? undefined : { traceHeaders: notes.traceHeaders }),
        (outcome) => {
          inL1 = outcome === 'hit' || outcome === 'stale';
          if (notes !== undefined) notes.cache = outcome;
        },
      );
      // Nothing to race the deadline against then: no timer, no promise around it.
      return deadline === undefined || inL1 ? pending : within(pending, deadline);
    },
  };
}

/** `promise`, or a `deadline` failure once `deadline` passes first (time the process was too busy is given back). */
function within<T>(promise: Promise<T>, deadline: Deadline): Promise<T> {
  if (deadline.passed) return Promise.reject(deadlinePassed());
  return new Promise<T>((resolve, reject) => {
    const due = () => {
      if (deadline.passed) {
        // The shared load goes on for the next request; this one stops waiting for promotion.
        deadline.cutOff('promotion');
        reject(deadlinePassed());
      } else timer = setTimeout(due, deadline.timerMs());
    };
    let timer = setTimeout(due, deadline.timerMs());
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

function deadlinePassed(): UpstreamError {
  return new UpstreamError('promotion', 'deadline', 'POST /promotions/query: the request deadline passed while waiting');
}
