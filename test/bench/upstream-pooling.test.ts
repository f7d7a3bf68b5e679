/**
 * `npm run bench -- --peers --peer-pools per-upstream`: the baselines hold a connection pool per
 * upstream, as three services with an origin each would need, instead of one for the demo
 * upstreams' one origin (bench/baselines/common.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { dispatchersBy, upstreamOfPath, upstreamPoolingFromEnv } from '../../bench/baselines/common.ts';

describe("the baselines' upstream pools", () => {
  const saved = process.env['BENCH_POOLS'];
  afterEach(() => {
    if (saved === undefined) delete process.env['BENCH_POOLS'];
    else process.env['BENCH_POOLS'] = saved;
  });

  it('shares one dispatcher between every upstream by default', () => {
    delete process.env['BENCH_POOLS'];
    let made = 0;
    const poolFor = dispatchersBy(upstreamPoolingFromEnv(), () => ({ id: ++made }));
    expect(new Set(['/cart/carts/u1', '/promotion/promotions/query', '/settlement/settlement/quotes'].map(poolFor)).size).toBe(1);
    expect(made).toBe(1);
  });

  it('makes one dispatcher per upstream, the first segment of the path, and keeps it', () => {
    process.env['BENCH_POOLS'] = 'per-upstream';
    const poolFor = dispatchersBy(upstreamPoolingFromEnv(), () => ({}));
    const cart = poolFor('/cart/carts/u1');
    expect(poolFor('/cart/carts/u2')).toBe(cart);
    expect(poolFor('/promotion/promotions/query')).not.toBe(cart);
    expect(poolFor('/settlement/settlement/quotes')).not.toBe(poolFor('/promotion/promotions/query'));
    expect(['/cart/carts/u1', '/settlement', '/promotion/x'].map(upstreamOfPath)).toEqual(['cart', 'settlement', 'promotion']);
  });

  it('refuses a pooling it does not know, naming it', () => {
    process.env['BENCH_POOLS'] = 'per-origin';
    expect(() => upstreamPoolingFromEnv()).toThrow('BENCH_POOLS must be shared or per-upstream, but got: "per-origin"');
  });
});
