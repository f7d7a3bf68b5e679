import fc from 'fast-check';
import { Counter, Histogram, Registry, type RegistryContentType } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { hotCounter, HotHistogram } from '../../src/observability/hot-series.ts';

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
const UPSTREAMS = ['cart', 'promotion', 'settlement', 'a "quoted" \\ name\n'];

/** A prom-client histogram and a hot one, each on its own registry, fed the same observations. */
function histograms() {
  const reference = new Registry<RegistryContentType>();
  const hot = new Registry<RegistryContentType>();
  const config = { name: 'x_duration_seconds', help: 'Duration, by upstream.', labelNames: ['upstream'] as const, buckets: BUCKETS };
  return {
    reference,
    hot,
    prom: new Histogram({ ...config, registers: [reference] }),
    ours: new HotHistogram({ ...config, registers: [hot] }),
  };
}

describe('HotHistogram', () => {
  it('exposes exactly what prom-client’s Histogram exposes for the same observations, in both text formats', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom(...UPSTREAMS), fc.oneof(fc.double({ min: 0, max: 5, noNaN: true }), fc.constantFrom(...BUCKETS), fc.constant(0))), { maxLength: 60 }),
        async (observations) => {
          const { reference, hot, prom, ours } = histograms();
          for (const [upstream, seconds] of observations) {
            prom.labels(upstream).observe(seconds);
            ours.labels(upstream).observe(seconds);
          }
          expect(await hot.metrics()).toBe(await reference.metrics());
          expect(await hot.getMetricsAsJSON()).toEqual(await reference.getMetricsAsJSON());
          reference.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
          hot.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
          expect(await hot.metrics()).toBe(await reference.metrics());
        },
      ),
      { numRuns: 200 },
    );
  });

  it('counts a value on a bound into that bound’s bucket, and one above every bound only in +Inf (le first, as prom-client writes it)', async () => {
    const { hot, ours } = histograms();
    const cart = ours.labels('cart');
    cart.observe(0.005);
    cart.observe(7);
    const text = await hot.metrics();
    expect(text).toContain('x_duration_seconds_bucket{le="0.0025",upstream="cart"} 0');
    expect(text).toContain('x_duration_seconds_bucket{le="0.005",upstream="cart"} 1');
    expect(text).toContain('x_duration_seconds_bucket{le="1",upstream="cart"} 1');
    expect(text).toContain('x_duration_seconds_bucket{le="+Inf",upstream="cart"} 2');
    expect(text).toContain('x_duration_seconds_sum{upstream="cart"} 7.005');
    expect(text).toContain('x_duration_seconds_count{upstream="cart"} 2');
  });

  it('refuses what prom-client refuses: a value that is not a finite number, the wrong number of label values, the label le', () => {
    const { prom, ours } = histograms();
    expect(() => prom.labels('cart').observe(Number.NaN)).toThrow(TypeError);
    expect(() => ours.labels('cart').observe(Number.NaN)).toThrow(new TypeError('Value is not a valid number: NaN'));
    expect(() => ours.labels('cart').observe(Number.POSITIVE_INFINITY)).toThrow(TypeError);
    expect(() => ours.labels('cart', 'extra')).toThrow('histogram x_duration_seconds: 1 label values expected (upstream), but got: 2');
    expect(() => new HotHistogram({ name: 'y', help: 'y', labelNames: ['le'], buckets: [1], registers: [] })).toThrow('le is a reserved label name');
    expect(() => new HotHistogram({ name: 'y', help: 'y', labelNames: [], buckets: [1, 1], registers: [] })).toThrow('buckets must be distinct finite numbers');
  });

  it('forgets its series on reset, as prom-client does', async () => {
    const { reference, hot, prom, ours } = histograms();
    prom.labels('cart').observe(0.2);
    ours.labels('cart').observe(0.2);
    reference.resetMetrics();
    hot.resetMetrics();
    prom.labels('promotion').observe(0.02);
    ours.labels('promotion').observe(0.02);
    expect(await hot.metrics()).toBe(await reference.metrics());
    expect(await hot.metrics()).not.toContain('cart');
  });

  it('refuses a second metric of the same name on one registry', () => {
    const { hot } = histograms();
    expect(() => new HotHistogram({ name: 'x_duration_seconds', help: 'again', labelNames: [], buckets: [1], registers: [hot] })).toThrow('already been registered');
  });
});

describe('hotCounter', () => {
  it('exposes what prom-client’s Counter exposes for the same increments, scrape after scrape', async () => {
    const reference = new Registry();
    const hot = new Registry();
    const config = { name: 'x_calls_total', help: 'Calls, by upstream and outcome.', labelNames: ['upstream', 'outcome'] as const };
    const prom = new Counter({ ...config, registers: [reference] });
    const ours = hotCounter({ ...config, registers: [hot] });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom(...UPSTREAMS), fc.constantFrom('ok', 'timeout')), { maxLength: 40 }), async (calls) => {
        for (const [upstream, outcome] of calls) {
          prom.labels(upstream, outcome).inc();
          ours(upstream, outcome).inc();
        }
        // Counters accumulate across scrapes: each scrape hands over only the increments since the last.
        expect(await hot.metrics()).toBe(await reference.metrics());
        expect(await hot.getMetricsAsJSON()).toEqual(await reference.getMetricsAsJSON());
      }),
      { numRuns: 100 },
    );
    expect(await hot.metrics()).toMatch(/^x_calls_total\{upstream="cart",outcome="(ok|timeout)"\} [1-9]/m);
  });

  it('keeps series of three labels apart whatever values they share, as prom-client does', async () => {
    const reference = new Registry();
    const hot = new Registry();
    const config = { name: 'z_total', help: 'z', labelNames: ['cache', 'layer', 'result'] as const };
    const prom = new Counter({ ...config, registers: [reference] });
    const ours = hotCounter({ ...config, registers: [hot] });
    const values = ['promotion', 'l1', 'l2', 'hit', 'miss'];
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom(...values), fc.constantFrom(...values), fc.constantFrom(...values)), { maxLength: 40 }), async (calls) => {
        for (const [cache, layer, result] of calls) {
          prom.labels(cache, layer, result).inc();
          ours(cache, layer, result).inc();
        }
        expect(await hot.metrics()).toBe(await reference.metrics());
      }),
      { numRuns: 100 },
    );
    expect(() => ours('promotion', 'l1')).toThrow('counter z_total: 3 label values expected (cache, layer, result), but got: 2');
  });

  it('has no series until one is counted, and refuses the wrong number of label values', async () => {
    const hot = new Registry();
    const calls = hotCounter({ name: 'y_total', help: 'y', labelNames: ['upstream'] as const, registers: [hot] });
    const cart = calls('cart');
    expect(await hot.metrics()).not.toContain('y_total{');
    cart.inc();
    cart.inc();
    expect(await hot.metrics()).toContain('y_total{upstream="cart"} 2');
    expect(() => calls('cart', 'ok')).toThrow('counter y_total: 1 label values expected (upstream), but got: 2');
  });

  it('exposes its initial series at 0 before their first increment, and counts on from there', async () => {
    const hot = new Registry();
    const retries = hotCounter({ name: 'r_total', help: 'r', labelNames: ['upstream'] as const, registers: [hot], initial: [['cart'], ['settlement']] });
    const before = await hot.metrics();
    expect(before).toContain('r_total{upstream="cart"} 0');
    expect(before).toContain('r_total{upstream="settlement"} 0');
    retries('settlement').inc();
    retries('loyalty').inc();
    const after = await hot.metrics();
    expect(after).toContain('r_total{upstream="cart"} 0');
    expect(after).toContain('r_total{upstream="settlement"} 1');
    expect(after).toContain('r_total{upstream="loyalty"} 1');
    expect(() => hotCounter({ name: 's_total', help: 's', labelNames: ['upstream'] as const, registers: [hot], initial: [['cart', 'ok']] })).toThrow(
      'counter s_total: 1 label values expected (upstream), but got: 2',
    );
  });
});
