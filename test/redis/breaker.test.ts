/**
 * What a Redis breaker tells the operator: a frozen Redis (SIGSTOP: its sockets stay open,
 * nothing answers) refuses no connection, so the client logs nothing; the breaker is the only
 * part that notices, and says so once per outage, not per command or per failed probe.
 */
import type { Redis } from 'ioredis';
import type { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { guardRedis, type RedisGuard } from '../../src/redis/breaker.ts';
import { closeRedis, openRedis, type RedisClient } from '../../src/redis/client.ts';
import { PANEL_QUERY, startHarness } from '../support/harness.ts';
import { metricValue, scrapeMetrics } from '../support/measure.ts';
import { HAS_REDIS_SERVER, startPrivateRedis, type PrivateRedis } from '../support/redis-server.ts';
import { until } from '../support/until.ts';
import { loggerInto } from '../support/log-lines.ts';

const REFUSED = 'redis unavailable; carrying on without it until it is back';

/** Every log line written at debug and above, parsed. */
function recordingLogger(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  return { logger: loggerInto(lines, 'debug'), lines };
}

const WARN = 40;
const INFO = 30;
const PING = (redis: RedisClient) => redis.ping();

describe.skipIf(!HAS_REDIS_SERVER)('the log lines of a Redis breaker', () => {
  let server: PrivateRedis;
  const clients: Redis[] = [];
  const guards: RedisGuard[] = [];
  beforeAll(async () => {
    server = await startPrivateRedis();
  });
  afterAll(async () => {
    await server?.stop();
  });
  afterEach(async () => {
    server.thaw();
    for (const guard of guards.splice(0)) guard.close();
    for (const client of clients.splice(0)) await closeRedis(client);
  });

  function open(logger: pino.Logger): Redis {
    const redis = openRedis({ url: server.url, commandTimeoutMs: 150, connectTimeoutMs: 500, name: 'cache' }, logger) as Redis;
    clients.push(redis);
    return redis;
  }

  function guard(redis: Redis, name: string, logger: pino.Logger): RedisGuard {
    const g = guardRedis(redis, { name, breaker: { consecutiveFailures: 3, halfOpenAfterMs: 100 }, logger });
    guards.push(g);
    return g;
  }

  it('warns once, naming the breaker and the failure, when a frozen Redis opens it, and tells once at info when it closes', async () => {
    const { logger, lines } = recordingLogger();
    const redis = open(logger);
    await until(() => redis.status === 'ready', 'the client is ready');
    const rateLimit = guard(redis, 'rate-limit', logger);
    const promotion = guard(redis, 'promotion', logger);
    expect((await rateLimit.attempt(PING)).ok).toBe(true);
    server.freeze();
    await until(async () => {
      await Promise.all([rateLimit.attempt(PING), promotion.attempt(PING)]);
      return rateLimit.state === 'open' && promotion.state === 'open';
    }, 'both breakers open');
    // Several failed probes (one every 100 ms after each timed-out one) while Redis stays frozen: still one line each.
    const failedProbes = () => lines.filter((line) => line.breaker === 'rate-limit' && line.msg === 'redis rate-limit circuit breaker is open again: its probe failed').length;
    await until(() => failedProbes() >= 4, 'four probes failed', 5000);
    const warnings = lines.filter((line) => line.level === WARN);
    expect(warnings).toEqual([
      expect.objectContaining({ breaker: 'rate-limit', reason: 'Command timed out', commandTimeoutMs: 150, msg: 'redis rate-limit circuit breaker is open: carrying on without Redis until a probe answers' }),
      expect.objectContaining({ breaker: 'promotion', reason: 'Command timed out', commandTimeoutMs: 150, msg: 'redis promotion circuit breaker is open: carrying on without Redis until a probe answers' }),
    ]);
    server.thaw();
    await until(async () => (await rateLimit.attempt(PING)).ok, 'a probe of the thawed Redis answers', 5000);
    const closed = lines.filter((line) => line.level === INFO && line.breaker === 'rate-limit');
    expect(closed).toEqual([expect.objectContaining({ breaker: 'rate-limit', msg: 'redis rate-limit circuit breaker is closed: using Redis again' })]);
    // The client saw no refused connection, so it said nothing of its own.
    expect(lines.map((line) => line.msg)).not.toContain(REFUSED);
  });

  it('leaves the warning of a Redis that refuses connections to the client, and tells at info which breaker goes without it', async () => {
    const { logger, lines } = recordingLogger();
    const redis = open(logger);
    await until(() => redis.status === 'ready', 'the client is ready');
    const rateLimit = guard(redis, 'rate-limit', logger);
    await server.stop();
    try {
      await until(async () => {
        await rateLimit.attempt(PING);
        return rateLimit.state === 'open' && lines.some((line) => line.msg === REFUSED);
      }, 'the breaker opens and the client warns');
      const warnings = lines.filter((line) => line.level === WARN);
      expect(warnings.map((line) => line.msg)).toEqual([REFUSED]);
      expect(lines.filter((line) => line.breaker === 'rate-limit')).toEqual([
        expect.objectContaining({ level: INFO, msg: 'redis rate-limit circuit breaker is open: carrying on without Redis until a probe answers' }),
      ]);
    } finally {
      await server.start();
    }
    await until(async () => (await rateLimit.attempt(PING)).ok, 'a probe of the restarted Redis answers', 8000);
    // Failed probes while it was down are debug lines only.
    expect(lines.filter((line) => line.breaker === 'rate-limit' && (line.level as number) >= INFO).map((line) => [line.level, line.msg])).toEqual([
      [INFO, 'redis rate-limit circuit breaker is open: carrying on without Redis until a probe answers'],
      [INFO, 'redis rate-limit circuit breaker is closed: using Redis again'],
    ]);
  }, 20_000);

  it('closes by itself once a stopped Redis is back, with no call to make: an idle process probes on its own', async () => {
    const { logger, lines } = recordingLogger();
    const states: string[] = [];
    const redis = open(logger);
    await until(() => redis.status === 'ready', 'the client is ready');
    const rateLimit = guardRedis(redis, { name: 'rate-limit', breaker: { consecutiveFailures: 3, halfOpenAfterMs: 100 }, logger, metrics: { redisBreakerState: (_name, state) => void states.push(state) } });
    guards.push(rateLimit);
    await server.stop();
    try {
      await until(async () => {
        await rateLimit.attempt(PING);
        return rateLimit.state === 'open';
      }, 'the breaker opens');
    } finally {
      await server.start();
    }
    // Not one attempt from here on: nothing but the breaker itself may find Redis back.
    await until(() => rateLimit.state === 'closed', 'the idle breaker closes', 8000);
    expect(states.at(-1)).toBe('closed');
    expect(lines.filter((line) => line.breaker === 'rate-limit' && (line.level as number) >= INFO).map((line) => line.msg)).toEqual([
      'redis rate-limit circuit breaker is open: carrying on without Redis until a probe answers',
      'redis rate-limit circuit breaker is closed: using Redis again',
    ]);
  }, 20_000);

  it('sends Redis nothing of its own while closed: only an open breaker probes', async () => {
    const { logger } = recordingLogger();
    const redis = open(logger);
    await until(() => redis.status === 'ready', 'the client is ready');
    const rateLimit = guard(redis, 'rate-limit', logger);
    const sent: string[] = [];
    const sendCommand = redis.sendCommand.bind(redis);
    redis.sendCommand = ((command: { name: string }, ...rest: unknown[]) => {
      sent.push(command.name);
      return (sendCommand as (...args: unknown[]) => unknown)(command, ...rest);
    }) as typeof redis.sendCommand;
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(rateLimit.state).toBe('closed');
    expect(sent).toEqual([]);
  });

  it("reports a running Floorplan's Redis breakers closed once Redis is back, though no request comes (an idle replica must not keep FloorplanRedisBreakerOpen firing)", async () => {
    const h = await startHarness({ config: { redis: { url: server.url }, cache: { redisBreaker: { consecutiveFailures: 3, halfOpenAfterMs: 300 } } } });
    let user = 0;
    const panel = () => h.graphql(`idle-breaker-${++user}`, PANEL_QUERY, { scene: 'cart-bottom-sheet' });
    const breakers = async () =>
      (await scrapeMetrics(h.url))
        .split('\n')
        .filter((line) => line.startsWith('floorplan_redis_breaker_open{'))
        .map((line) => [/name="([^"]+)"/.exec(line)![1], Number(line.split(' ').at(-1))] as const);
    try {
      await until(async () => {
        expect((await panel()).status).toBe(200);
        return metricValue(await scrapeMetrics(h.url), 'floorplan_rate_limit_decisions_total', { outcome: 'allowed', store: 'redis' }) > 0;
      }, 'Redis decides a rate limit');
      await server.stop();
      try {
        await until(async () => {
          expect((await panel()).status).toBe(200);
          return metricValue(await scrapeMetrics(h.url), 'floorplan_redis_breaker_open', { name: 'rate-limit' }) === 1;
        }, 'the rate-limit breaker opens', 10_000);
      } finally {
        await server.start();
      }
      // From here on, no GraphQL request: only scrapes, as Prometheus makes them.
      await until(async () => (await breakers()).every(([, open]) => open === 0), 'every Redis breaker is closed again', 10_000);
      expect((await breakers()).map(([name]) => name)).toContain('rate-limit');
    } finally {
      await h.close();
    }
  }, 40_000);

  it('names the rate-limit and promotion breakers of a running Floorplan whose Redis freezes, once each, and once each when it thaws', async () => {
    const { logger, lines } = recordingLogger();
    const h = await startHarness({ config: { redis: { url: server.url }, cache: { promotion: { ttlSeconds: 60, staleSeconds: 30 } } }, deps: { logger } });
    let user = 0;
    const panel = () => h.graphql(`plus-breaker-${++user}`, PANEL_QUERY, { scene: 'cart-bottom-sheet' });
    const breakerLines = (level: number) => lines.filter((line) => line.level === level && typeof line.breaker === 'string');
    try {
      // Frozen only once the client is connected and in use: a connection still being set up
      // when Redis freezes fails its handshake, which the client itself warns about.
      await until(async () => {
        expect((await panel()).status).toBe(200);
        return metricValue(await scrapeMetrics(h.url), 'floorplan_rate_limit_decisions_total', { outcome: 'allowed', store: 'redis' }) > 0;
      }, 'Redis decides a rate limit');
      server.freeze();
      await until(async () => {
        expect((await panel()).status).toBe(200);
        return breakerLines(WARN).length >= 2;
      }, 'both breakers warn', 10_000);
      // More panels while it stays frozen, past a few probes (every 2 s): no more warnings.
      for (let i = 0; i < 5; i++) expect((await panel()).status).toBe(200);
      expect(breakerLines(WARN).map((line) => line.breaker).sort()).toEqual(['promotion', 'rate-limit']);
      expect(lines.filter((line) => line.level === WARN && line.breaker === undefined)).toEqual([]);
      server.thaw();
      await until(async () => {
        expect((await panel()).status).toBe(200);
        return breakerLines(INFO).filter((line) => String(line.msg).endsWith('is closed: using Redis again')).length >= 2;
      }, 'both breakers close', 10_000);
      expect(breakerLines(INFO).map((line) => line.msg).sort()).toEqual([
        'redis promotion circuit breaker is closed: using Redis again',
        'redis rate-limit circuit breaker is closed: using Redis again',
      ]);
    } finally {
      server.thaw();
      await h.close();
    }
  }, 30_000);
});
