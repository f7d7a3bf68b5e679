import { describe, expect, it } from 'vitest';
import { TieredCache } from '../../src/cache/tiered-cache.ts';
import { withPromotionCache } from '../../src/upstreams/cached-clients.ts';
import type { UpstreamClients } from '../../src/upstreams/clients.ts';
import { promotionResultSchema, type PromotionQuery, type PromotionResult } from '../../src/upstreams/contracts.ts';
import { Deadline } from '../../src/upstreams/deadline.ts';
import { UpstreamError } from '../../src/upstreams/upstream-error.ts';
import { unusedCalls } from '../support/upstream-fakes.ts';

const ANSWER: PromotionResult = { userId: 'u1', membership: { tier: 'plus', plus95QuotaRemaining: null }, campaigns: [], coupons: [] };
const QUERY: PromotionQuery = { userId: 'u1', skuIds: ['sku-b', 'sku-a'] };

/** Upstream clients whose promotion call answers after `delayMs`, counting calls. */
function slowPromotion(delayMs: number) {
  let calls = 0;
  const clients: UpstreamClients = {
    ...unusedCalls(),
    promotion: () => {
      calls += 1;
      return new Promise((resolve) => setTimeout(() => resolve(ANSWER), delayMs));
    },
    close: async () => {},
  };
  return { clients, calls: () => calls };
}

function promotionCache(): TieredCache<PromotionResult> {
  return new TieredCache<PromotionResult>({
    name: 'promotion',
    ttlSeconds: 60,
    staleSeconds: 60,
    keyPrefix: 'test:cached-clients:',
    l1MaxEntries: 100,
    schema: promotionResultSchema,
    breaker: { consecutiveFailures: 3, halfOpenAfterMs: 200 },
  });
}

describe('withPromotionCache and the request deadline', () => {
  it('stops waiting when the deadline passes, while the load goes on and fills the cache', async () => {
    const upstream = slowPromotion(150);
    const cache = promotionCache();
    const clients = withPromotionCache(upstream.clients, cache);
    const started = performance.now();
    const error = await clients.promotion(QUERY, new Deadline(40)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).outcome).toBe('deadline');
    expect(performance.now() - started).toBeLessThan(140);
    // The next request finds the answer the abandoned wait left behind, without a second call.
    await new Promise((done) => setTimeout(done, 200));
    expect(await clients.promotion({ ...QUERY, skuIds: ['sku-a', 'sku-b'] }, new Deadline(1000))).toEqual(ANSWER);
    expect(upstream.calls()).toBe(1);
    await cache.close();
  });

  it('hands over an answer already in the cache as it is, arming no timer for the deadline', async () => {
    /** A deadline that counts the timers armed to watch it (each asks it when to fire). */
    class WatchedDeadline extends Deadline {
      timersArmed = 0;
      override timerMs(): number {
        this.timersArmed += 1;
        return super.timerMs();
      }
    }
    const upstream = slowPromotion(5);
    const cache = promotionCache();
    const clients = withPromotionCache(upstream.clients, cache);
    const first = new WatchedDeadline(1000);
    expect(await clients.promotion(QUERY, first)).toEqual(ANSWER);
    expect(first.timersArmed).toBe(1);
    const cached = new WatchedDeadline(1000);
    expect(await clients.promotion(QUERY, cached)).toEqual(ANSWER);
    expect(cached.timersArmed).toBe(0);
    expect(upstream.calls()).toBe(1);
    await cache.close();
  });

  it('refuses at once, without calling, once the deadline has passed', async () => {
    const upstream = slowPromotion(10);
    const cache = promotionCache();
    const clients = withPromotionCache(upstream.clients, cache);
    const error = await clients.promotion(QUERY, new Deadline(0)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as UpstreamError).outcome).toBe('deadline');
    expect(upstream.calls()).toBe(0);
    await cache.close();
  });
});
