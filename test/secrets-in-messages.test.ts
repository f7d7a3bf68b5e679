/**
 * Passwords in URLs (a PostgreSQL, Redis, OTLP, upstream or JWKS endpoint with credentials)
 * never reach a message an operator or a log reads: a startup refusal, the revision store's name
 * in its log lines, the "listening" line, the warnings about the signing keys or the trace
 * collector. Generated passwords often hold `/` or `+`, which leave the URL
 * unparseable; those must be hidden too.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loadServiceConfig } from '../src/config/service-config.ts';
import { FloorplanError, withoutPasswords } from '../src/errors.ts';
import { describeRevisionStore } from '../src/layouts/revisions/database.ts';
import { RevisionStore } from '../src/layouts/revisions/revision-store.ts';
import { describeRedis } from '../src/redis/client.ts';
import { UPSTREAMS } from '../src/upstreams/registry.ts';
import { startHarness } from './support/harness.ts';
import { postLayoutAdmin } from './support/layout-admin.ts';
import { freePort } from './support/processes.ts';
import { thrown } from './support/thrown.ts';

const PRODUCTION = {
  FLOORPLAN_ENV: 'production',
  ...Object.fromEntries(UPSTREAMS.map((name) => [`UPSTREAM_${name.toUpperCase()}_URL`, `http://${name}.internal/${name}`])),
  LAYOUT_STORE_URL: 'postgres://floorplan@db.internal:5432/floorplan',
  JWT_JWKS_URL: 'https://idp.internal/.well-known/jwks.json',
};

/** A well-formed RS256 token (header and payload only matter) whose kid no key set holds. */
const FOREIGN_TOKEN = [
  Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: 'unknown-kid' })).toString('base64url'),
  Buffer.from(JSON.stringify({ sub: 'u1', exp: 4102444800 })).toString('base64url'),
  Buffer.from('signature').toString('base64url'),
].join('.');

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

  it('is not echoed when the URL mistypes or leaves out the `://` after its scheme (`redis//`, `postgres:/`, `user:password@host`)', () => {
    for (const env of [{ REDIS_URL: 'redis//:kX9secret@127.0.0.1:6379/0' }, { REDIS_URL: ':kX9secret@127.0.0.1:6379/0' }, { LAYOUT_STORE_URL: 'floorplan:kX9secret@db:5432/x' }, { UPSTREAM_CART_URL: 'u:kX9secret@host/cart' }, { LAYOUT_STORE_URL: 'postgres:/floorplan:kX9secret@127.0.0.1:5432/db' }, { LAYOUT_STORE_URL: 'postgres:floorplan:kX9secret@127.0.0.1:5432/db' }]) {
      const message = refusal({ ...PRODUCTION, ...env });
      expect(message, JSON.stringify(env)).toMatch(/redis\.url|layouts\.store\.url|upstreams\.cart\.baseUrl/);
      expect(message, JSON.stringify(env)).not.toContain('kX9');
    }
    expect(withoutPasswords('got: "redis//:kX9secret@127.0.0.1:6379/0"')).toBe('got: "redis//:***@127.0.0.1:6379/0"');
    expect(withoutPasswords('got: ":kX9secret@127.0.0.1:6379/0"')).toBe('got: ":***@127.0.0.1:6379/0"');
    expect(withoutPasswords('got: "//u:kX9secret@host/cart"')).toBe('got: "//u:***@host/cart"');
    expect(withoutPasswords('got: "postgres:/floorplan:kX9secret@db/x"')).toBe('got: "postgres:/floorplan:***@db/x"');
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

describe('a password holding an unencoded @ (the last @ before the host ends the user information, as URL parsing reads it)', () => {
  it('is hidden whole, however many @ it holds, in any URL a message names', () => {
    expect(withoutPasswords('postgres://floorplan:Secr3t@prod-pass@127.0.0.1:7480/db')).toBe('postgres://floorplan:***@127.0.0.1:7480/db');
    expect(withoutPasswords('redis://:a@b@c@redis.internal:6379/0')).toBe('redis://:***@redis.internal:6379/0');
    expect(withoutPasswords('http://otel:p@ss/w@rd@collector:4318/v1/traces')).toBe('http://otel:***@collector:4318/v1/traces');
    expect(withoutPasswords('store PostgreSQL at postgres://floorplan:Secr3t@prod-pass@db/x is down; cache redis://:k@y@cache:6379/0 too'))
      .toBe('store PostgreSQL at postgres://floorplan:***@db/x is down; cache redis://:***@cache:6379/0 too');
  });

  it('is hidden when the user name holds an @ as well', () => {
    expect(withoutPasswords('postgres://me@corp:Secr3t@prod@db.internal/x')).toBe('postgres://me@corp:***@db.internal/x');
  });

  it('leaves the host, path and query of the URL shown, an @ in them included', () => {
    expect(withoutPasswords('postgres://floorplan:Secr3t@db.internal:5432/db?application_name=a@b')).toBe('postgres://floorplan:***@db.internal:5432/db?application_name=a@b');
    expect(withoutPasswords('postgres://floorplan@db.internal:5432/db?application_name=a@b')).toBe('postgres://floorplan@db.internal:5432/db?application_name=a@b');
    expect(withoutPasswords('postgres://me@corp@db.internal:5432/db?application_name=a@b')).toBe('postgres://me@corp@db.internal:5432/db?application_name=a@b');
  });

  it("is hidden in the admin API's answer and in the log lines when the store cannot be reached", async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
    const admin = 'at-sign-admin-token';
    // A port where nothing listens: the store is down.
    const port = await freePort();
    const url = `postgres://floorplan:Secr3t@prod-pass@127.0.0.1:${port}/db`;
    const h = await startHarness({ config: { admin: { token: admin }, layouts: { store: { kind: 'postgres', url, connectTimeoutMs: 1000, queryTimeoutMs: 1000 } } }, deps: { logger } });
    let answer;
    try {
      answer = await postLayoutAdmin(h.url, admin, 'history', {});
    } finally {
      await h.close();
    }
    expect(answer.status).toBe(503);
    const text = JSON.stringify(answer.body);
    const shownUrl = `postgres://floorplan:***@127.0.0.1:${port}/db`;
    const storeLines = lines.filter((line) => line.includes(`127.0.0.1:${port}`));
    expect(storeLines.length).toBeGreaterThan(0);
    for (const shown of [text, ...storeLines]) expect(shown).toContain(shownUrl);
    for (const shown of [text, ...lines]) expect(shown).not.toContain('prod-pass');
  }, 30_000);
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

  it("is hidden where Redis is named (ioredis takes a ?password= as the password too)", () => {
    expect(describeRedis({ url: 'redis://127.0.0.1:6379/0?password=kX9secret' })).toBe('redis://127.0.0.1:6379/0?password=***');
    expect(describeRedis({ url: 'redis://:Secr3t@prod@127.0.0.1:6379/0' })).not.toContain('prod');
  });

  it('is not echoed when the config refuses the URL', () => {
    const message = refusal({ ...PRODUCTION, LAYOUT_STORE_URL: 'mysql://floorplan@db.internal/floorplan?password=kX9secret' });
    expect(message).toMatch(/layouts\.store\.url/);
    expect(message).not.toContain('kX9');
  });
});

describe('the listening line', () => {
  it("shows the trace collector's endpoint without its password, as do the lines saying spans could not be sent to it", async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    const h = await startHarness({ config: { tracing: { enabled: true, sampler: 'always_on', endpoint: 'http://otel:S3cretPW@127.0.0.1:9/v1/traces' } }, deps: { logger } });
    // A traced request, whose span the stop tries to send to the collector, which refuses: the
    // exporter retries until the stop gives up on it, and logs that the last traces were not sent.
    await fetch(`${h.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __typename }' }) });
    await h.close();
    const listening = lines.find((line) => line.includes('floorplan listening'));
    expect(listening).toContain('http://otel:***@127.0.0.1:9/v1/traces');
    expect(lines.find((line) => line.includes('the last traces were not sent'))).toContain('http://otel:***@127.0.0.1:9/v1/traces');
    expect(lines.join('\n')).not.toContain('S3cretPW');
  });

  it("never shows an upstream URL's password or query string: the config refuses both, and the refusal shows neither", () => {
    for (const UPSTREAM_CART_URL of ['http://cartuser:C4rtPW@127.0.0.1:9/cart', 'http://127.0.0.1:9/cart?key=C4rtPW']) {
      const message = refusal({ ...PRODUCTION, UPSTREAM_CART_URL });
      expect(message).toContain('upstreams.cart.baseUrl');
      expect(message).not.toContain('C4rtPW');
    }
  });
});

describe('the signing keys URL (auth.jwksUrl)', () => {
  it('is logged without its password when the keys cannot be fetched at start, nor when a request cannot be verified', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
    const jwksUrl = `http://keys:Jwk5PW@127.0.0.1:${await freePort()}/jwks`;
    const h = await startHarness({ config: { auth: { mode: 'jwks', jwksUrl, jwksTimeoutMs: 2000 } }, deps: { logger } });
    try {
      // A token the held keys (none) cannot verify: the pipeline fetches them again, and logs that it cannot.
      await fetch(`${h.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${FOREIGN_TOKEN}` },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
    } finally {
      await h.close();
    }
    const atStart = lines.find((line) => line.includes('cannot fetch the signing keys at start'));
    expect(atStart).toContain('http://keys:***@127.0.0.1');
    const unverified = lines.find((line) => line.includes('cannot verify tokens'));
    expect(unverified).toContain('http://keys:***@127.0.0.1');
    expect(lines.join('\n')).not.toContain('Jwk5PW');
  });
});
