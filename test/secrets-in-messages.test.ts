/**
 * Passwords in URLs (a PostgreSQL, Redis or OTLP endpoint with credentials) never reach a
 * message an operator or a log reads: a startup refusal, the revision store's name in its log
 * lines, the "listening" line. Generated passwords often hold `/` or `+`, which leave the URL
 * unparseable; those must be hidden too.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loadServiceConfig } from '../src/config/service-config.ts';
import { FloorplanError } from '../src/errors.ts';
import { describeRevisionStore } from '../src/layouts/revisions/database.ts';
import { RevisionStore } from '../src/layouts/revisions/revision-store.ts';
import { UPSTREAMS } from '../src/upstreams/registry.ts';
import { startHarness } from './support/harness.ts';
import { freePort } from './support/processes.ts';
import { thrown } from './support/thrown.ts';

const PRODUCTION = {
  FLOORPLAN_ENV: 'production',
  ...Object.fromEntries(UPSTREAMS.map((name) => [`UPSTREAM_${name.toUpperCase()}_URL`, `http://${name}.internal/${name}`])),
  LAYOUT_STORE_URL: 'postgres://floorplan@db.internal:5432/floorplan',
};

function refusal(env: NodeJS.ProcessEnv): string {
  try {
    loadServiceConfig({ env });
  } catch (error) {
    if (error instanceof FloorplanError) return error.message;
    throw error;
  }
  throw new Error('expected the config to be refused');
}

describe('a password in a URL', () => {
  it('is not echoed when the config refuses the URL, parseable or not', () => {
    const message = refusal({ ...PRODUCTION, REDIS_URL: 'redis://:kX9/aB+c2@127.0.0.1:6379/0' });
    expect(message).toContain('redis.url');
    expect(message).not.toContain('kX9');
  });

  it('refuses a PostgreSQL URL that does not parse (an unencoded / in its password) instead of starting with the store down', () => {
    const message = refusal({ ...PRODUCTION, LAYOUT_STORE_URL: 'postgres://floorplan:kX9/aB+c2@127.0.0.1:5432/db' });
    expect(message).toMatch(/layouts\.store\.url/);
    expect(message).toMatch(/percent-encode/);
    expect(message).not.toContain('kX9');
  });

  it("is hidden in the revision store's name, which its log lines carry, even when the URL does not parse", () => {
    const where = describeRevisionStore({ kind: 'postgres', url: 'postgres://floorplan:kX9/aB+c2@127.0.0.1:5432/db', dataDir: '', connectTimeoutMs: 1000, queryTimeoutMs: 1000 });
    expect(where).not.toContain('kX9');
    expect(where).toContain('floorplan');
  });
});

describe('a password in a URL\'s query string (?password=, ?sslpassword=, as libpq and pg accept it)', () => {
  const url = (port: number) => `postgres://floorplan@127.0.0.1:${port}/db?sslmode=disable&password=kX9%2FaB&sslpassword=pW7key`;

  it("is hidden in the revision store's name, its other parameters kept", () => {
    const where = describeRevisionStore({ kind: 'postgres', url: url(5432), dataDir: '', connectTimeoutMs: 1000, queryTimeoutMs: 1000 });
    expect(where).toBe('PostgreSQL at postgres://floorplan@127.0.0.1:5432/db?sslmode=disable&password=***&sslpassword=***');
  });

  it('is hidden in what an operation answers, and in the log lines, when the store cannot be reached', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
    const store = new RevisionStore({ kind: 'postgres', url: url(await freePort()), dataDir: '', connectTimeoutMs: 1000, queryTimeoutMs: 1000 }, { logger });
    try {
      const refused = await thrown(() => store.history(5));
      expect(refused).toBeInstanceOf(FloorplanError);
      expect((refused as Error).message).toContain('password=***');
      expect(lines.length).toBeGreaterThan(0);
      for (const text of [(refused as Error).message, ...lines]) {
        expect(text).not.toContain('kX9');
        expect(text).not.toContain('pW7key');
      }
    } finally {
      await store.close();
    }
  });

  it('is not echoed when the config refuses the URL', () => {
    const message = refusal({ ...PRODUCTION, LAYOUT_STORE_URL: 'mysql://floorplan@db.internal/floorplan?password=kX9secret' });
    expect(message).toMatch(/layouts\.store\.url/);
    expect(message).not.toContain('kX9');
  });
});

describe('the listening line', () => {
  it("shows the trace collector's endpoint without its password", async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    const h = await startHarness({ config: { tracing: { enabled: true, endpoint: 'http://otel:S3cretPW@127.0.0.1:9/v1/traces' } }, deps: { logger } });
    await h.close();
    const listening = lines.find((line) => line.includes('floorplan listening'));
    expect(listening).toContain('http://otel:***@127.0.0.1:9/v1/traces');
    expect(lines.join('\n')).not.toContain('S3cretPW');
  });
});
