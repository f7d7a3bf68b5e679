import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeRedis, openRedis } from '../../src/redis/client.ts';
import { startHarness } from '../support/harness.ts';
import { freePort } from '../support/processes.ts';
import { HAS_REDIS_SERVER, startPrivateRedis } from '../support/redis-server.ts';
import { startTcpProxy } from '../support/tcp-proxy.ts';
import { resolveTwoAddressHost, TWO_ADDRESS_HOST } from '../support/two-address-host.ts';
import { until } from '../support/until.ts';
import { loggerInto } from '../support/log-lines.ts';

/** Every log line written at warn and above, parsed. */
function recordingLogger(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  return { logger: loggerInto(lines, 'warn'), lines };
}

describe('the warning when Redis cannot be reached', () => {
  // As on most machines, where localhost is ::1 and 127.0.0.1: net.connect reads dns.lookup per call.
  let restore: () => void;
  beforeAll(() => {
    restore = resolveTwoAddressHost();
  });
  afterAll(() => restore());

  it('names each address refused when the host name has two (it used to log err: "")', async () => {
    const port = await freePort();
    const { logger, lines } = recordingLogger();
    const redis = openRedis({ url: `redis://${TWO_ADDRESS_HOST}:${port}/0`, commandTimeoutMs: 500, connectTimeoutMs: 500, name: 'cache' }, logger);
    try {
      await until(() => lines.some((line) => line.msg === 'redis unavailable; carrying on without it until it is back'), 'the warning');
      const warning = lines.find((line) => line.msg === 'redis unavailable; carrying on without it until it is back')!;
      expect(warning.redis).toBe('cache');
      expect(warning.err).toMatch(new RegExp(`^connect E[A-Z]+ ::1:${port}; connect ECONNREFUSED 127\\.0\\.0\\.1:${port}$`));
    } finally {
      await closeRedis(redis);
    }
  });
});

describe.skipIf(!HAS_REDIS_SERVER)('the start-up warning that Redis is not answering', () => {
  it('is not logged when Redis refused the first connection but answers by the time the server listens', async () => {
    const redis = await startPrivateRedis();
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: redis.port });
    await proxy.cut();
    const lines: Array<Record<string, unknown>> = [];
    // Redis refuses the first connection, and accepts again as soon as that refusal is logged:
    // the client reconnects (100 ms) while the rest of the server starts.
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          const line = JSON.parse(chunk.toString('utf8')) as Record<string, unknown>;
          lines.push(line);
          if (line.msg === 'redis unavailable; carrying on without it until it is back' && line.redis === 'cache') void proxy.restore();
          done();
        },
      }),
    );
    // Signing keys that take 500 ms to fetch hold the start (it fetches them before it listens) well past the reconnect;
    // auth.jwksTimeoutMs (200 ms by default) must let that fetch run its course.
    const jwks = createServer((_req, res) => setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}'), 500));
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;
    try {
      const h = await startHarness({ config: { redis: { url: `redis://127.0.0.1:${proxy.port}/0` }, auth: { mode: 'jwks', jwksUrl, jwksTimeoutMs: 2000 } }, deps: { logger } });
      try {
        expect(lines.some((l) => l.msg === 'redis unavailable; carrying on without it until it is back')).toBe(true);
        expect(lines.map((l) => l.msg)).not.toContain('redis is not answering at start: serving without it (local rate limits, no shared cache or APQ) until it is');
      } finally {
        await h.close();
      }
    } finally {
      await new Promise((resolve) => jwks.close(resolve));
      await proxy.close();
      await redis.stop();
    }
  }, 60_000);
});
