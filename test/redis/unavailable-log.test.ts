import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeRedis, openRedis } from '../../src/redis/client.ts';
import { freePort } from '../support/processes.ts';
import { resolveTwoAddressHost, TWO_ADDRESS_HOST } from '../support/two-address-host.ts';
import { until } from '../support/until.ts';

/** Every log line written, parsed. */
function recordingLogger(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'warn' }, sink), lines };
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
