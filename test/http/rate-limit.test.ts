import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FloorplanServer } from '../../src/app.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { metricValue, scrapeMetrics, timedPost, type TimedResponse } from '../support/measure.ts';
import { HAS_REDIS_SERVER, startPrivateRedis, type PrivateRedis } from '../support/redis-server.ts';
import { startReplica } from '../support/replica.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';

const RATE_PER_SECOND = 5;
const BURST = 5;
/** The rate limit runs for every authenticated request; this one calls no upstream. */
const CHEAP = { query: '{ __typename }' };

describe.skipIf(!HAS_REDIS_SERVER)('per-user rate limit (5 per second, burst 5) over real HTTP and Redis', () => {
  let redis: PrivateRedis;
  let h: Harness;
  let replica: FloorplanServer;
  let userSeq = 0;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    h = await startHarness({
      config: { redis: { url: redis.url }, limits: { requestDeadlineMs: 2000, rateLimitPerSecond: RATE_PER_SECOND, rateLimitBurst: BURST } },
    });
    replica = await startReplica(h);
    // Warm both instances, so a burst below is not spread out by a first request's JIT.
    for (const url of [h.url, replica.url]) await burst(url, 'rate-warm-up', 1);
  });
  afterAll(async () => {
    await replica?.stop();
    await h?.close();
    await redis?.stop();
  });

  /** A user with a full bucket: no earlier test touched it. */
  const newUser = () => `rate-${++userSeq}`;

  /** `count` requests as `userId` to `url`, all at once, so the bucket barely refills meanwhile. */
  async function burst(url: string, userId: string, count: number): Promise<TimedResponse[]> {
    const authorization = `Bearer ${await h.token(userId)}`;
    return Promise.all(Array.from({ length: count }, () => timedPost(url, CHEAP, { authorization })));
  }
  const statuses = (responses: readonly TimedResponse[]) => responses.map((r) => r.status).sort();

  function expectRateLimited(res: TimedResponse): void {
    expect(res.status).toBe(429);
    expect(res.body.data).toBeUndefined();
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors![0]!.extensions).toMatchObject({ code: 'RATE_LIMITED' });
    // The body and the header give the same advice: whole seconds, the first one the bucket allows.
    const retryAfterMs = res.body.errors![0]!.extensions!.retryAfterMs as number;
    expect(retryAfterMs).toBe(Math.max(1, Math.ceil(1000 / RATE_PER_SECOND / 1000)) * 1000);
    expect(res.headers.get('retry-after')).toBe(String(retryAfterMs / 1000));
  }

  it('answers the sixth immediate request with 429 RATE_LIMITED and Retry-After, then lets the user back in after it', async () => {
    const user = newUser();
    const responses = await burst(h.url, user, BURST + 1);
    expect(statuses(responses)).toEqual([200, 200, 200, 200, 200, 429]);
    const limited = responses.find((r) => r.status === 429)!;
    expectRateLimited(limited);

    await new Promise((r) => setTimeout(r, limited.body.errors![0]!.extensions!.retryAfterMs as number));
    const [after] = await burst(h.url, user, 1);
    expect(after!.status).toBe(200);
    expect(metricValue(await scrapeMetrics(h.url), 'floorplan_rate_limit_decisions_total', { outcome: 'limited', store: 'redis' })).toBeGreaterThan(0);
  });

  it('leaves another user unaffected while one is limited', async () => {
    const noisy = newUser();
    const quiet = newUser();
    expect(statuses(await burst(h.url, noisy, BURST + 1))).toContain(429);
    expect(statuses(await burst(h.url, quiet, BURST))).toEqual([200, 200, 200, 200, 200]);
  });

  it('shares one bucket between two instances on one Redis', async () => {
    const user = newUser();
    const [onA, onB] = await Promise.all([burst(h.url, user, 3), burst(replica.url, user, 3)]);
    // Six requests spread over two instances still take one burst of five.
    expect(statuses([...onA!, ...onB!])).toEqual([200, 200, 200, 200, 200, 429]);
    const [next] = await burst(replica.url, user, 1);
    expectRateLimited(next!);
  });

  it('still limits, per instance, while Redis is down', async () => {
    await redis.stop();
    try {
      const user = newUser();
      const before = metricValue(await scrapeMetrics(h.url), 'floorplan_rate_limit_decisions_total', { outcome: 'limited', store: 'local' });
      const onA = await burst(h.url, user, BURST + 1);
      expect(statuses(onA)).toEqual([200, 200, 200, 200, 200, 429]);
      expectRateLimited(onA.find((r) => r.status === 429)!);
      expect(metricValue(await scrapeMetrics(h.url), 'floorplan_rate_limit_decisions_total', { outcome: 'limited', store: 'local' })).toBe(before + 1);
      // Without the shared bucket, the other instance keeps a bucket of its own.
      const onB = await burst(replica.url, user, BURST + 1);
      expect(statuses(onB)).toEqual([200, 200, 200, 200, 200, 429]);
    } finally {
      await redis.start();
    }
  });
});

describe.skipIf(!HAS_REDIS_SERVER)('a replica that starts while Redis is slow to accept its connection', () => {
  let redis: PrivateRedis;
  let proxy: TcpProxy;
  let h: Harness | undefined;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    // The first connection (the one the rate limit, cache and APQ share: Floorplan opens it
    // first) reaches Redis 600 ms after it is opened, as on a loaded host: that client is still
    // connecting, not failing, when the server could take its first request. The layout
    // store's own connection gets through at once.
    proxy = await startTcpProxy({ host: '127.0.0.1', port: redis.port }, { connectDelayMs: (connection) => (connection === 0 ? 600 : 0) });
  });
  afterAll(async () => {
    await h?.close();
    await proxy?.close();
    await redis?.stop();
  });

  it('serves its first request with the shared bucket, not a local one', async () => {
    h = await startHarness({
      config: { redis: { url: `redis://127.0.0.1:${proxy.port}/0`, connectTimeoutMs: 2000, commandTimeoutMs: 1000 }, limits: { rateLimitPerSecond: RATE_PER_SECOND, rateLimitBurst: BURST } },
    });
    const first = await timedPost(h.url, CHEAP, { authorization: `Bearer ${await h.token('rate-first-after-start')}` });
    expect(first.status).toBe(200);
    const metrics = await scrapeMetrics(h.url);
    expect(metricValue(metrics, 'floorplan_rate_limit_decisions_total', { outcome: 'allowed', store: 'redis' })).toBe(1);
    expect(metricValue(metrics, 'floorplan_rate_limit_decisions_total', { outcome: 'allowed', store: 'local' })).toBe(0);
  });
});
