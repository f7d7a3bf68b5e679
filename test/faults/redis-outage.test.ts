import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FloorplanServer } from '../../src/app.ts';
import type { DeepPartial, ServiceConfig } from '../../src/config/service-config.ts';
import { PANEL_QUERY, startHarness, type Harness, type PanelResult } from '../support/harness.ts';
import { eventually, expectAlive, median, metricValue, scrapeMetrics, timedPost, type TimedResponse } from '../support/measure.ts';
import { expectPanelOrClearlyDegraded, type Panel } from '../support/panels.ts';
import { HAS_REDIS_SERVER, startPrivateRedis, type PrivateRedis } from '../support/redis-server.ts';
import { startReplica } from '../support/replica.ts';


const DEADLINE_MS = 250;
/**
 * Once a breaker is open, Redis costs nothing; a panel is ~10 ms here. A request still waiting
 * on Redis waits its command timeout (150 ms), so a median under 100 ms tells the two apart
 * with room for a noisy shared machine (50 ms was exceeded once under a full test run).
 */
const FAST_MS = 100;
/** Requests at the start of an outage that may wait on Redis (command timeout) before the breakers open. */
const FIRST_FEW = 4;
const PANEL_HASH = createHash('sha256').update(PANEL_QUERY).digest('hex');

/**
 * Every Redis user in play: the promotion cache on (ttl > 0), the rate limit, APQ. The Redis
 * breaker keeps its shipped settings (open after 3 failures, one probe every 2 s): each probe
 * into a frozen Redis costs one request the command timeout, so a shorter interval would.
 */
function redisConfig(url: string): DeepPartial<ServiceConfig> {
  return {
    redis: { url },
    limits: { requestDeadlineMs: DEADLINE_MS },
    cache: { promotion: { ttlSeconds: 60, staleSeconds: 30 } },
  };
}

describe.skipIf(!HAS_REDIS_SERVER)('Redis outages while the promotion cache, the rate limit and persisted queries use it', () => {
  let reference: Harness;
  let userSeq = 0;

  beforeAll(async () => {
    // The same Floorplan without Redis: what a correct panel is, user by user.
    reference = await startHarness();
  });
  afterAll(() => reference.close());

  /** A user no instance has seen, so every cache layer misses and Redis is asked. */
  const newUser = (label: string) => `plus-redis-${label}-${++userSeq}`;

  async function referencePanel(userId: string): Promise<Panel> {
    const res = await reference.graphql<PanelResult>(userId, PANEL_QUERY, { scene: 'cart-bottom-sheet' });
    expect(res.body.data!.floorPanel.degraded).toBe(false);
    return res.body.data!.floorPanel;
  }

  /**
   * The seed panel for `userId` the way Apollo Client's persisted-query link asks for it: the
   * hash alone, and the full query only when the server does not know the hash. Timed around
   * fetch, both legs included.
   */
  async function apqPanel(h: Harness, url: string, userId: string): Promise<TimedResponse<PanelResult>> {
    const headers = { authorization: `Bearer ${await h.token(userId)}` };
    const extensions = { persistedQuery: { version: 1, sha256Hash: PANEL_HASH } };
    const variables = { scene: 'cart-bottom-sheet' };
    const first = await timedPost<PanelResult>(url, { variables, extensions }, headers);
    if (first.body.errors?.[0]?.extensions?.code !== 'PERSISTED_QUERY_NOT_FOUND') return first;
    const second = await timedPost<PanelResult>(url, { query: PANEL_QUERY, variables, extensions }, headers);
    return { ...second, ms: first.ms + second.ms };
  }

  /** Correct (the reference panel, floor for floor) or clearly degraded (the failed upstream named, the floors present exact). */
  async function expectCorrectPanel(res: TimedResponse<PanelResult>, userId: string): Promise<void> {
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    expectPanelOrClearlyDegraded(res.body.data!.floorPanel, await referencePanel(userId));
  }

  /** `count` panels for new users, one after another; returns the latencies after the first few. */
  async function panelsDuringOutage(h: Harness, label: string, count = 12): Promise<number[]> {
    const latencies: number[] = [];
    for (let i = 0; i < count; i++) {
      const userId = newUser(label);
      const res = await apqPanel(h, h.url, userId);
      await expectCorrectPanel(res, userId);
      latencies.push(res.ms);
    }
    return latencies.slice(FIRST_FEW);
  }

  /** Redis is used again: A's breakers close, A's rate limit decides in Redis, and B reads from Redis what A stored. */
  async function expectRedisUsedAgain(h: Harness, replica: FloorplanServer, label: string): Promise<void> {
    const closed = await eventually(
      async () => {
        await apqPanel(h, h.url, newUser(`${label}-probe`));
        return scrapeMetrics(h.url);
      },
      (text) => metricValue(text, 'floorplan_redis_breaker_open', { name: 'promotion' }) === 0 && metricValue(text, 'floorplan_redis_breaker_open', { name: 'rate-limit' }) === 0,
      6000,
      100,
    );
    expect(metricValue(closed, 'floorplan_redis_breaker_open', { name: 'promotion' })).toBe(0);
    expect(metricValue(closed, 'floorplan_redis_breaker_open', { name: 'rate-limit' })).toBe(0);

    const sharedBefore = metricValue(closed, 'floorplan_rate_limit_decisions_total', { outcome: 'allowed', store: 'redis' });
    const l2HitsOnReplica = () => scrapeMetrics(replica.url).then((t) => metricValue(t, 'floorplan_cache_requests_total', { cache: 'promotion', layer: 'l2', result: 'hit' }));
    const hitsBefore = await l2HitsOnReplica();
    // A stores a new user's promotion facts in Redis; B, which never saw the user, reads them there.
    const hits = await eventually(
      async () => {
        const userId = newUser(`${label}-shared`);
        await expectCorrectPanel(await apqPanel(h, h.url, userId), userId);
        await expectCorrectPanel(await apqPanel(h, replica.url, userId), userId);
        return l2HitsOnReplica();
      },
      (n) => n > hitsBefore,
      6000,
      100,
    );
    expect(hits).toBeGreaterThan(hitsBefore);
    const sharedAfter = metricValue(await scrapeMetrics(h.url), 'floorplan_rate_limit_decisions_total', { outcome: 'allowed', store: 'redis' });
    expect(sharedAfter).toBeGreaterThan(sharedBefore);
  }

  describe('a running Redis that freezes or restarts', () => {
    let redis: PrivateRedis;
    let h: Harness;
    let replica: FloorplanServer;

    beforeAll(async () => {
      redis = await startPrivateRedis();
      h = await startHarness({ config: redisConfig(redis.url) });
      replica = await startReplica(h);
      // Register the panel query, warm both instances, and prove Redis is in use before breaking it.
      await expectRedisUsedAgain(h, replica, 'warm-up');
    });
    afterAll(async () => {
      await replica?.stop();
      await h?.close();
      await redis?.stop();
    });

    it('serves correct panels while Redis is frozen, fast once the breakers are open, and uses Redis again after thaw', async () => {
      redis.freeze();
      try {
        const latencies = await panelsDuringOutage(h, 'frozen');
        expect(median(latencies)).toBeLessThan(FAST_MS);
        const text = await scrapeMetrics(h.url);
        expect(metricValue(text, 'floorplan_redis_breaker_open', { name: 'promotion' })).toBeGreaterThan(0);
        expect(metricValue(text, 'floorplan_rate_limit_decisions_total', { outcome: 'allowed', store: 'local' })).toBeGreaterThan(0);
        await expectAlive(h.url);
      } finally {
        redis.thaw();
      }
      await expectRedisUsedAgain(h, replica, 'thawed');
      await expectAlive(h.url);
    });

    it('serves correct panels while Redis is down for a restart, fast once the breakers are open, and uses Redis again once it is back', async () => {
      await redis.stop();
      try {
        const latencies = await panelsDuringOutage(h, 'stopped');
        expect(median(latencies)).toBeLessThan(FAST_MS);
        expect(metricValue(await scrapeMetrics(h.url), 'floorplan_redis_breaker_open', { name: 'promotion' })).toBeGreaterThan(0);
        await expectAlive(h.url);
      } finally {
        await redis.start();
      }
      // The restarted Redis is empty: the panel query is registered again, the rate-limit script loaded again.
      await expectRedisUsedAgain(h, replica, 'restarted');
      await expectAlive(h.url);
      await expectAlive(replica.url);
    });
  });

  describe('a Redis that refuses connections from the start', () => {
    let redis: PrivateRedis;
    let h: Harness;
    let replica: FloorplanServer;

    beforeAll(async () => {
      // A private redis-server's port, stopped before Floorplan starts: nothing listens there yet.
      redis = await startPrivateRedis();
      await redis.stop();
      h = await startHarness({ config: redisConfig(redis.url) });
      replica = await startReplica(h);
    });
    afterAll(async () => {
      await replica?.stop();
      await h?.close();
      await redis?.stop();
    });

    it('starts, serves correct panels with persisted queries and a local rate limit, fast, and takes Redis up when it appears', async () => {
      expect(await fetch(`http://127.0.0.1:${redis.port}`).then(() => 'answered', () => 'refused')).toBe('refused');
      const latencies = await panelsDuringOutage(h, 'refused');
      expect(median(latencies)).toBeLessThan(FAST_MS);
      const text = await scrapeMetrics(h.url);
      expect(metricValue(text, 'floorplan_rate_limit_decisions_total', { outcome: 'allowed', store: 'redis' })).toBe(0);
      expect(metricValue(text, 'floorplan_rate_limit_decisions_total', { outcome: 'allowed', store: 'local' })).toBeGreaterThan(0);
      // The hash alone is answered from this instance's own store after the first registration.
      const again = await apqPanel(h, h.url, newUser('refused-apq'));
      expect(again.body.data!.floorPanel.degraded).toBe(false);
      await expectAlive(h.url);

      await redis.start();
      await expectRedisUsedAgain(h, replica, 'appeared');
    });
  });
});
