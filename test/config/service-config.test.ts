import { UPSTREAMS } from '../../src/upstreams/registry.ts';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadServiceConfig, type LoadServiceConfigOptions } from '../../src/config/service-config.ts';
import { ErrorCode, FloorplanError } from '../../src/errors.ts';
import { thrownBy } from '../support/thrown.ts';

const CONFIG_DIR = join(import.meta.dirname, '..', '..', 'config');
const DEFAULT_YAML = readFileSync(join(CONFIG_DIR, 'default.yaml'), 'utf8');

function load(env: NodeJS.ProcessEnv = {}, options: Omit<LoadServiceConfigOptions, 'env'> = {}) {
  return loadServiceConfig({ dir: CONFIG_DIR, ...options, env });
}

function loadError(env: NodeJS.ProcessEnv, options: Omit<LoadServiceConfigOptions, 'env'> = {}): FloorplanError {
  return thrownBy(() => load(env, options));
}

/** The problem lines of a FLOORPLAN_ERR_CONFIG_INVALID error, checking its code and heading. */
function problems(env: NodeJS.ProcessEnv, options: Omit<LoadServiceConfigOptions, 'env'> = {}): string[] {
  const error = loadError(env, options);
  expect(error.code).toBe(ErrorCode.CONFIG_INVALID);
  const [heading, ...lines] = error.message.split('\n');
  expect(heading).toBe('Invalid service config:');
  return lines.map((line) => line.replace(/^- /, ''));
}

describe('loadServiceConfig defaults', () => {
  it('loads config/default.yaml when no environment variable is set', () => {
    const config = load();
    expect(config.server).toEqual({
      host: '127.0.0.1',
      port: 4000,
      managementPort: null,
      bodyLimitBytes: 65536,
      drainMs: 0,
      shutdownGraceMs: 10000,
      introspection: true,
      fastPath: true,
      headersTimeoutMs: 10000,
      requestTimeoutMs: 30000,
      keepAliveTimeoutMs: 65000,
      maxConnections: 10000,
      trustedProxies: [],
      admission: { enabled: true, initialLimit: 16, minLimit: 4, maxLimit: 1000, targetLagMs: 50, maxQueueWaitMs: 50, retryAfterSeconds: 1 },
    });
    expect(config.auth).toEqual({
      mode: 'hs256',
      hs256Secret: 'floorplan-demo-secret-do-not-use-in-production',
      issuer: 'floorplan-demo',
      audience: 'floorplan',
      clockToleranceSeconds: 5,
      jwksTimeoutMs: 200,
      jwksMaxStaleSeconds: 86400,
    });
    expect(config.upstreams.cart).toMatchObject({ baseUrl: 'http://127.0.0.1:4001/cart', timeoutMs: 300, connectTimeoutMs: 1000, connections: 64 });
    expect(config.upstreams.settlement.timeoutMs).toBe(400);
    expect(config.demo).toEqual({ enabled: true, port: 4001, faults: '' });
    expect(config.floors).toEqual({ dir: 'floors', locales: ['zh-CN', 'en'], clientsFile: 'config/clients.yaml' });
    expect(config.log.level).toBe('info');
  });

  it('returns a deep-frozen config that refuses changes', () => {
    const config = load();
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.upstreams.cart)).toBe(true);
    expect(Object.isFrozen(config.floors.locales)).toBe(true);
    expect(() => {
      (config.server as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(() => (config.floors.locales as string[]).push('fr')).toThrow(TypeError);
    expect(config.server.port).toBe(4000);
  });

  it('ignores empty numeric and on/off variables, as if unset', () => {
    const config = load({ PORT: '', DEMO_PORT: '', DEMO_UPSTREAMS: '' });
    expect(config.server.port).toBe(4000);
    expect(config.demo).toMatchObject({ enabled: true, port: 4001 });
  });
});

describe('loadServiceConfig environment variables', () => {
  it('override the server and demo settings', () => {
    const config = load({ PORT: '8080', DEMO_PORT: '5001', DEMO_FAULTS: 'promotion:hang,settlement:latency:30', LOG_LEVEL: 'debug' });
    expect(config.server.port).toBe(8080);
    expect(config.demo.port).toBe(5001);
    expect(config.demo.faults).toBe('promotion:hang,settlement:latency:30');
    expect(config.log.level).toBe('debug');
  });

  it('point Floorplan at Redis Sentinel or a Redis Cluster by comma-separated host:port lists', () => {
    const sentinel = load({ REDIS_SENTINELS: '127.0.0.1:26379, 127.0.0.1:26380,[::1]:26381', REDIS_SENTINEL_NAME: 'shop' }).redis;
    expect(sentinel).toMatchObject({ url: '', sentinels: ['127.0.0.1:26379', '127.0.0.1:26380', '[::1]:26381'], sentinelName: 'shop', clusterNodes: [] });
    expect(load({ REDIS_CLUSTER_NODES: 'redis-a:7000,redis-b:7000' }).redis.clusterNodes).toEqual(['redis-a:7000', 'redis-b:7000']);
    expect(load({ SHUTDOWN_DRAIN_MS: '2500' }).server.drainMs).toBe(2500);
  });

  it('refuse a Sentinel address without a port, and Sentinel and Cluster together', () => {
    expect(problems({ REDIS_SENTINELS: '127.0.0.1' })).toEqual(['`redis.sentinels[0]` must be host:port, such as "127.0.0.1:26379", but got: "127.0.0.1" (set by REDIS_SENTINELS)']);
    expect(problems({ REDIS_SENTINELS: 'a:1', REDIS_CLUSTER_NODES: 'b:2' })).toEqual([
      '`redis.clusterNodes` must be empty when redis.sentinels is set: a deployment uses Sentinel or Cluster, not both, but got: ["b:2"] (set by REDIS_CLUSTER_NODES)',
    ]);
  });

  it('take the Redis database from REDIS_URL\'s path, refusing one that is not a database number', () => {
    for (const url of ['', 'redis://127.0.0.1:6379', 'redis://127.0.0.1:6379/', 'redis://127.0.0.1:6379/0', 'rediss://redis.internal:6380/15', 'redis://127.0.0.1:6379/16']) {
      expect(load({ REDIS_URL: url }).redis.url).toBe(url);
    }
    // 16 is the server's to refuse (its `databases` setting); what no server can select, here.
    for (const url of ['redis://127.0.0.1:6379/abc', 'redis://127.0.0.1:6379/-1', 'redis://127.0.0.1:6379/1.5', 'redis://127.0.0.1:6379/0/1', 'redis://127.0.0.1:6379/4294967296']) {
      expect(problems({ REDIS_URL: url })).toEqual([
        `\`redis.url\` must have a database number as its path (/0, /1, …: fewer than the server's \`databases\`, 16 by default), but got: ${JSON.stringify(url)} (set by REDIS_URL)`,
      ]);
    }
    expect(problems({ REDIS_URL: 'redis://:S3cretPW@127.0.0.1:6379/abc' })).toEqual([expect.stringContaining('but got: "redis://:***@127.0.0.1:6379/abc" (set by REDIS_URL)')]);
  });

  it('refuse any query parameter in REDIS_URL, alone, with Sentinels or on a cluster alike, never echoing a password', () => {
    // ioredis reads a query parameter as an option (?db=, ?password=, ?username=) only when it is
    // handed the URL itself, without Sentinels or a cluster: `?password=` authenticated a single
    // server and was silently dropped behind Sentinel or on a cluster. One rule for all three.
    const refused = (url: string) =>
      `\`redis.url\` must have no query parameters (ioredis would read them only without Sentinels or a cluster): its password goes in its user information (redis://:password@host:6379/0, redis://user:password@host:6379/0), its database in its path (redis://host:6379/3), but got: ${JSON.stringify(url)} (set by REDIS_URL)`;
    const modes: NodeJS.ProcessEnv[] = [{}, { REDIS_SENTINELS: '127.0.0.1:26379' }, { REDIS_CLUSTER_NODES: '127.0.0.1:7000' }];
    for (const mode of modes) {
      expect(problems({ ...mode, REDIS_URL: 'redis://127.0.0.1:6379/0?password=S3cretPW' })).toEqual([refused('redis://127.0.0.1:6379/0?password=***')]);
      expect(problems({ ...mode, REDIS_URL: 'redis://127.0.0.1:6379/0?username=floorplan&password=S3cretPW' })).toEqual([refused('redis://127.0.0.1:6379/0?username=floorplan&password=***')]);
      expect(problems({ ...mode, REDIS_URL: 'redis://:S3cretPW@127.0.0.1:6379/0?family=6' })).toEqual([refused('redis://:***@127.0.0.1:6379/0?family=6')]);
      expect(problems({ ...mode, REDIS_URL: 'redis://127.0.0.1:6379?db=3' })).toEqual([refused('redis://127.0.0.1:6379?db=3')]);
      // The same URL with its password as user information is taken in every mode.
      expect(load({ ...mode, REDIS_URL: 'redis://floorplan:S3cretPW@127.0.0.1:6379/0' }).redis.url).toBe('redis://floorplan:S3cretPW@127.0.0.1:6379/0');
    }
  });

  it('refuse a database other than 0 on a Redis Cluster, which has no other', () => {
    expect(load({ REDIS_CLUSTER_NODES: 'redis-a:7000', REDIS_URL: 'redis://:pw@redis-a:7000/0' }).redis.url).toBe('redis://:pw@redis-a:7000/0');
    expect(problems({ REDIS_CLUSTER_NODES: 'redis-a:7000', REDIS_URL: 'redis://redis-a:7000/3' })).toEqual([
      '`redis.url` must name database 0 (or none) with redis.clusterNodes: a Redis Cluster has database 0 only, but got: "redis://redis-a:7000/3" (set by REDIS_URL)',
    ]);
  });

  it.each([
    ['off', false],
    ['OFF', false],
    ['false', false],
    ['0', false],
    ['no', false],
    ['on', true],
    ['true', true],
    ['1', true],
    ['yes', true],
  ])('read DEMO_UPSTREAMS=%s as demo.enabled %s', (value, enabled) => {
    expect(load({ DEMO_UPSTREAMS: value }).demo.enabled).toBe(enabled);
  });

  it('reads GRAPHQL_FAST_PATH as server.fastPath (on by default)', () => {
    expect(load({}).server.fastPath).toBe(true);
    expect(load({ GRAPHQL_FAST_PATH: 'false' }).server.fastPath).toBe(false);
  });

  it('override each upstream URL and leave its other settings alone', () => {
    const config = load({
      UPSTREAM_CART_URL: 'http://cart.internal/cart',
      UPSTREAM_PROMOTION_URL: 'https://promotion.internal/v2',
      UPSTREAM_SETTLEMENT_URL: 'http://settlement.internal:8080/settle',
    });
    expect(config.upstreams.cart).toMatchObject({ baseUrl: 'http://cart.internal/cart', timeoutMs: 300, connections: 64 });
    expect(config.upstreams.promotion.baseUrl).toBe('https://promotion.internal/v2');
    expect(config.upstreams.settlement.baseUrl).toBe('http://settlement.internal:8080/settle');
  });

  it('override an upstream timeout with UPSTREAM_<NAME>_TIMEOUT_MS, and refuse one that is not a positive whole number', () => {
    const config = load({ UPSTREAM_PROMOTION_TIMEOUT_MS: '900' });
    expect(config.upstreams.promotion.timeoutMs).toBe(900);
    expect(config.upstreams.cart.timeoutMs).toBe(300);
    expect(problems({ UPSTREAM_SETTLEMENT_TIMEOUT_MS: 'soon' })).toEqual(['`upstreams.settlement.timeoutMs` must be a whole number, but got: "soon" (set by UPSTREAM_SETTLEMENT_TIMEOUT_MS)']);
    expect(problems({ UPSTREAM_SETTLEMENT_TIMEOUT_MS: '0' })[0]).toContain('(set by UPSTREAM_SETTLEMENT_TIMEOUT_MS)');
  });

  it('override the token settings', () => {
    const secret = 'a'.repeat(32);
    const config = load({ JWT_SECRET: secret, JWT_ISSUER: 'idp', JWT_AUDIENCE: 'app' });
    expect(config.auth).toMatchObject({ mode: 'hs256', hs256Secret: secret, issuer: 'idp', audience: 'app' });
  });

  it('set the flag context\'s environment from UNLEASH_ENVIRONMENT (development by default)', () => {
    expect(load().flags.environment).toBe('development');
    expect(load({ UNLEASH_ENVIRONMENT: 'production' }).flags.environment).toBe('production');
  });

  it('take the admin operators from ADMIN_OPERATORS as JSON, and the four-eyes switch from LAYOUT_APPROVAL_REQUIRED', () => {
    const operators = { alice: { token: 'alice-credential-0001', role: 'publisher' }, vera: 'vera-credential-00001' };
    const config = load({ ADMIN_OPERATORS: JSON.stringify(operators), LAYOUT_APPROVAL_REQUIRED: 'true' });
    expect(config.admin.operators).toEqual(operators);
    expect(config.layouts.approval).toEqual({ required: true, kinds: ['GOODS', 'DEDUCTION', 'CHARGE', 'PAYABLE'] });
  });

  it('refuse ADMIN_OPERATORS that is not JSON, or holds a short credential, without echoing any credential', () => {
    const broken = problems({ ADMIN_OPERATORS: '{"alice": "alice-credential-0001"' });
    expect(broken).toHaveLength(1);
    expect(broken[0]).toMatch(/^`admin\.operators` must be JSON, but ADMIN_OPERATORS is not \(.+; its text is not shown, it holds credentials\)$/);
    expect(broken[0]).not.toContain('alice-credential');
    expect(problems({ ADMIN_OPERATORS: '{"alice": "short-one"}' })).toEqual(['`admin.operators.alice` must have at least 16 character(s), but got: a secret of 9 character(s) (set by ADMIN_OPERATORS)']);
  });

  it('refuse a short ADMIN_TOKEN by its length without echoing it, and take an empty one as the admin API off', () => {
    expect(problems({ ADMIN_TOKEN: 'abc' })).toEqual([
      '`admin.token` must be empty (the admin API off) or have at least 16 character(s), but got: a secret of 3 character(s) (set by ADMIN_TOKEN)',
    ]);
    expect(load({ ADMIN_TOKEN: '' }).admin.token).toBe('');
    expect(load({ ADMIN_TOKEN: 'sixteen-chars-ok' }).admin.token).toBe('sixteen-chars-ok');
    // The quick start's demo token (config/default.yaml) stays valid.
    expect(load().admin.token).toBe('floorplan-demo-admin-token');
  });

  it('refuse an admin or operator token that an HTTP header cannot carry (not visible ASCII), naming the variable without echoing it', () => {
    const visible = 'must be empty (the admin API off) or visible ASCII only (! to ~, no spaces): it is sent in the Authorization header, which cannot carry other characters';
    expect(problems({ ADMIN_TOKEN: 'geheimes-passwört-0001' })).toEqual([`\`admin.token\` ${visible}, but got: a secret of 22 character(s) (set by ADMIN_TOKEN)`]);
    expect(problems({ ADMIN_TOKEN: 'sixteen chars ok' })).toEqual([`\`admin.token\` ${visible}, but got: a secret of 16 character(s) (set by ADMIN_TOKEN)`]);
    const operator = 'must be visible ASCII only (! to ~, no spaces): it is sent in the Authorization header, which cannot carry other characters';
    expect(problems({ ADMIN_OPERATORS: JSON.stringify({ alice: 'alice-crédential-0001', bob: { token: 'bob-credential-0001\n', role: 'viewer' } }) })).toEqual([
      `\`admin.operators.alice\` ${operator}, but got: a secret of 21 character(s) (set by ADMIN_OPERATORS)`,
      `\`admin.operators.bob.token\` ${operator}, but got: a secret of 20 character(s) (set by ADMIN_OPERATORS)`,
    ]);
  });

  it('trim UNLEASH_TOKEN (a secret made from a file ends in a newline), and refuse one with a control character inside, naming it without echoing it', () => {
    expect(load({ UNLEASH_TOKEN: '  *:production.0123456789abcdef\n' }).flags.unleashToken).toBe('*:production.0123456789abcdef');
    const found = problems({ UNLEASH_TOKEN: '*:production.0123\n456789abcdef' });
    expect(found).toEqual([
      '`flags.unleashToken` must be printable ASCII only (no line breaks or other control characters inside): it is sent in the Authorization header, which cannot carry them, but got: a secret of 30 character(s) (set by UNLEASH_TOKEN)',
    ]);
    expect(found[0]).not.toContain('0123');
  });

  it('take the proxies to trust from TRUSTED_PROXIES, comma-separated addresses, CIDR ranges and proxy-addr\'s names (none by default)', () => {
    expect(load().server.trustedProxies).toEqual([]);
    expect(load({ TRUSTED_PROXIES: '10.0.0.0/8, 127.0.0.1,fd00::/8, ::1' }).server.trustedProxies).toEqual(['10.0.0.0/8', '127.0.0.1', 'fd00::/8', '::1']);
    expect(load({ TRUSTED_PROXIES: 'loopback,linklocal,uniquelocal' }).server.trustedProxies).toEqual(['loopback', 'linklocal', 'uniquelocal']);
  });

  it('lists the names it accepts beside addresses and ranges when TRUSTED_PROXIES holds something else (a misspelt "loopback")', () => {
    const contract = 'must be an IP address, a CIDR range such as "10.0.0.0/8", or one of the names loopback, linklocal, uniquelocal';
    expect(problems({ TRUSTED_PROXIES: '10.0.0.0/33,lopback' })).toEqual([
      `\`server.trustedProxies[0]\` ${contract}, but got: "10.0.0.0/33" (set by TRUSTED_PROXIES)`,
      `\`server.trustedProxies[1]\` ${contract}, but got: "lopback" (set by TRUSTED_PROXIES)`,
    ]);
  });
});

/** Production's environment: every upstream of the registry set (`http://cart.internal/cart`, …: a new upstream needs no edit here), the revision store and the JWKS URL. */
const PRODUCTION = {
  FLOORPLAN_ENV: 'production',
  ...Object.fromEntries(UPSTREAMS.map((name) => [`UPSTREAM_${name.toUpperCase()}_URL`, `http://${name}.internal/${name}`])),
  LAYOUT_STORE_URL: 'postgres://floorplan@db.internal:5432/floorplan',
  JWT_JWKS_URL: 'https://idp.internal/.well-known/jwks.json',
};

describe('loadServiceConfig with FLOORPLAN_ENV=production', () => {
  it('refuses to start until every upstream URL is set, so production never talks to the demo defaults', () => {
    const found = problems({ FLOORPLAN_ENV: 'production', LAYOUT_STORE_URL: PRODUCTION.LAYOUT_STORE_URL, JWT_JWKS_URL: PRODUCTION.JWT_JWKS_URL });
    // Every upstream of the registry: one left out of config/production.yaml would quietly default to the demo.
    expect(found).toHaveLength(UPSTREAMS.length);
    UPSTREAMS.forEach((name, i) => expect(found[i]).toContain(`\`upstreams.${name}.baseUrl\``));
    expect(found[0]).toMatch(/^`upstreams\.cart\.baseUrl` must be an http:\/\/ or https:\/\/ URL, but got: "" \(config\/production\.yaml:\d+; set it with UPSTREAM_CART_URL\)$/);
  });

  it('refuses to start until the identity provider\'s JWKS URL is set, rather than serve 503 to every user', () => {
    const { JWT_JWKS_URL: _jwks, ...withoutJwks } = PRODUCTION;
    expect(problems(withoutJwks)).toEqual([
      expect.stringMatching(/^`auth\.jwksUrl` must be an http:\/\/ or https:\/\/ URL when auth\.mode is jwks, but got: "" \(config\/production\.yaml:\d+; set it with JWT_JWKS_URL\)$/),
    ]);
  });

  it('refuses to start until the revision store every replica shares is named', () => {
    const { LAYOUT_STORE_URL: _url, ...withoutStore } = PRODUCTION;
    expect(problems(withoutStore)).toEqual([
      expect.stringMatching(/^`layouts\.store\.url` must be a postgres:\/\/ URL when kind is postgres, but got: "" \(config\/production\.yaml:\d+; set it with LAYOUT_STORE_URL\)$/),
    ]);
    expect(load(PRODUCTION).layouts.store).toMatchObject({ kind: 'postgres', url: PRODUCTION.LAYOUT_STORE_URL });
  });

  it('lets AUTH_MODE=hs256 override the overlay\'s JWKS mode, its jwksUrl then unused', () => {
    const secret = 'a-production-hs256-secret-of-40-characters';
    const config = load({ ...PRODUCTION, AUTH_MODE: 'hs256', JWT_SECRET: secret });
    expect(config.auth).toMatchObject({ mode: 'hs256', hs256Secret: secret });
    expect(problems({ ...PRODUCTION, AUTH_MODE: 'hs256', JWT_SECRET: 'short' })).toEqual(['`auth.hs256Secret` must have at least 32 character(s), but got: a secret of 5 character(s) (set by JWT_SECRET)']);
  });

  it('never echoes the password of a URL it refuses', () => {
    const found = problems({ ...PRODUCTION, REDIS_URL: 'http://:S3cretPW@127.0.0.1:7499/0', LAYOUT_STORE_URL: 'mysql://floorplan:An0therPW@db/x' });
    expect(found).toHaveLength(2);
    expect(found.join('\n')).not.toMatch(/S3cretPW|An0therPW/);
    expect(found.join('\n')).toContain('mysql://floorplan:***@db/x');
  });

  it('refuses AUTH_MODE=hs256 without JWT_SECRET rather than verify tokens with the public demo secret', () => {
    expect(problems({ ...PRODUCTION, AUTH_MODE: 'hs256' })).toEqual([
      expect.stringMatching(/^`auth\.hs256Secret` must have at least 32 character\(s\), but got: a secret of 0 character\(s\) \(config\/production\.yaml:\d+; set it with JWT_SECRET\)$/),
    ]);
  });

  it('overlays config/production.yaml: no demo, JWKS keys, no introspection', () => {
    const config = load(PRODUCTION);
    expect(config.demo.enabled).toBe(false);
    expect(config.upstreams.cart.baseUrl).toBe('http://cart.internal/cart');
    expect(config.auth).toMatchObject({ mode: 'jwks', jwksUrl: PRODUCTION.JWT_JWKS_URL });
    expect(config.server.introspection).toBe(false);
    expect(config.server.host).toBe('0.0.0.0');
  });

  it('keeps the defaults the overlay does not mention', () => {
    const config = load(PRODUCTION);
    expect(config.server.port).toBe(4000);
    expect(config.upstreams.cart.timeoutMs).toBe(300);
    expect(config.floors.locales).toEqual(['zh-CN', 'en']);
  });

  it('lets environment variables override the overlay', () => {
    const config = load({ ...PRODUCTION, JWT_JWKS_URL: 'https://idp.internal/jwks.json', DEMO_UPSTREAMS: 'on' });
    expect(config.auth).toMatchObject({ mode: 'jwks', jwksUrl: 'https://idp.internal/jwks.json' });
    expect(config.demo.enabled).toBe(true);
  });
});

describe('loadServiceConfig rejects bad values with FLOORPLAN_ERR_CONFIG_INVALID', () => {
  it('names PORT and its value when it is not a number', () => {
    expect(problems({ PORT: 'abc' })).toEqual(['`server.port` must be a whole number, but got: "abc" (set by PORT)']);
  });

  it('names DEMO_PORT when it is out of range', () => {
    expect(problems({ DEMO_PORT: '70000' })).toEqual(['`demo.port` must be at most 65535, but got: 70000 (set by DEMO_PORT)']);
  });

  it('names DEMO_UPSTREAMS and its value when it is neither on nor off', () => {
    expect(problems({ DEMO_UPSTREAMS: 'maybe' })).toEqual([
      '`demo.enabled` must be on or off (or true/false, yes/no, 1/0), but got: "maybe" (set by DEMO_UPSTREAMS)',
    ]);
  });

  it('rejects a short JWT_SECRET by its length without echoing the secret', () => {
    const error = loadError({ JWT_SECRET: 'hunter2-hunter2' });
    expect(error.code).toBe(ErrorCode.CONFIG_INVALID);
    expect(error.message).toBe(
      'Invalid service config:\n- `auth.hs256Secret` must have at least 32 character(s), but got: a secret of 15 character(s) (set by JWT_SECRET)',
    );
    expect(error.message).not.toContain('hunter2');
  });

  it('lists the accepted log levels when LOG_LEVEL is unknown', () => {
    expect(problems({ LOG_LEVEL: 'loud' })).toEqual([
      '`log.level` must be one of "fatal", "error", "warn", "info", "debug", "trace", "silent", but got: "loud" (set by LOG_LEVEL)',
    ]);
  });

  it('rejects an upstream URL that is not an http(s) URL', () => {
    expect(problems({ UPSTREAM_PROMOTION_URL: 'promotion.internal' })).toEqual([
      '`upstreams.promotion.baseUrl` must be an http:// or https:// URL, but got: "promotion.internal" (set by UPSTREAM_PROMOTION_URL)',
    ]);
    expect(problems({ UPSTREAM_CART_URL: 'ftp://cart.internal/cart' })).toEqual([
      '`upstreams.cart.baseUrl` must be an http:// or https:// URL, but got: "ftp://cart.internal/cart" (set by UPSTREAM_CART_URL)',
    ]);
  });

  it('rejects an upstream URL with a user, a password, a query string or a fragment, none of which Floorplan sends, without echoing them', () => {
    const contract = 'must be an origin and a path only, such as "http://cart.internal/cart": Floorplan appends each call\'s path to it and sends nothing else of it';
    expect(problems({ UPSTREAM_CART_URL: 'http://cart.internal/cart?key=S3cret&v=1#S3cretToo' })).toEqual([
      `\`upstreams.cart.baseUrl\` ${contract}, but got: a URL with a query string and a fragment, "http://cart.internal/cart?***#***" (set by UPSTREAM_CART_URL)`,
    ]);
    expect(problems({ UPSTREAM_SETTLEMENT_URL: 'https://billing:C4rtPW@settlement.internal:8443/settlement' })).toEqual([
      `\`upstreams.settlement.baseUrl\` ${contract}, but got: a URL with a user or password, "https://***@settlement.internal:8443/settlement" (set by UPSTREAM_SETTLEMENT_URL)`,
    ]);
    expect(problems({ UPSTREAM_PROMOTION_URL: 'http://T0kenAsUser@promotion.internal/promotion' })).toEqual([
      `\`upstreams.promotion.baseUrl\` ${contract}, but got: a URL with a user or password, "http://***@promotion.internal/promotion" (set by UPSTREAM_PROMOTION_URL)`,
    ]);
  });

  it('lists the overlays that exist when FLOORPLAN_ENV names none of them', () => {
    expect(problems({ FLOORPLAN_ENV: 'staging' })).toEqual(['FLOORPLAN_ENV must name an overlay file in config (bench, production), but got: "staging"']);
  });

  it('lists the auth modes when AUTH_MODE is unknown', () => {
    expect(problems({ AUTH_MODE: 'oauth' })).toEqual(['`auth.mode` must be one of "hs256", "jwks", but got: "oauth" (set by AUTH_MODE)']);
  });

  it('names JWT_JWKS_URL and auth.jwksUrl, the setting to set, when jwks mode is chosen without a JWKS URL', () => {
    expect(problems({ AUTH_MODE: 'jwks' })).toEqual([
      '`auth.jwksUrl` must be an http:// or https:// URL when auth.mode is jwks, but got: nothing (set by neither JWT_JWKS_URL nor `auth.jwksUrl` in config/default.yaml)',
    ]);
  });

  it('reports every bad variable in one pass', () => {
    expect(problems({ PORT: 'abc', LOG_LEVEL: 'loud', UPSTREAM_CART_URL: 'cart' })).toEqual([
      '`server.port` must be a whole number, but got: "abc" (set by PORT)',
      '`upstreams.cart.baseUrl` must be an http:// or https:// URL, but got: "cart" (set by UPSTREAM_CART_URL)',
      '`log.level` must be one of "fatal", "error", "warn", "info", "debug", "trace", "silent", but got: "loud" (set by LOG_LEVEL)',
    ]);
  });

  // Validated here once, these are not re-checked by the caches and the limiter that use them.
  it('refuses an unbounded or negative cache and a rate limit that would refuse every request, naming the path', () => {
    const found = problems({}, { overrides: { cache: { l1MaxEntries: 0, promotion: { ttlSeconds: -1, staleSeconds: 0 } }, limits: { rateLimitBurst: 0, rateLimitPerSecond: -1 } } });
    expect(found.map((p) => p.replace(/ \(.*\)$/, '').replace(/, but got.*$/, ''))).toEqual(
      expect.arrayContaining(['`cache.l1MaxEntries` must be greater than 0', '`cache.promotion.ttlSeconds` must be at least 0', '`limits.rateLimitPerSecond` must be at least 0', '`limits.rateLimitBurst` must be at least 1']),
    );
  });

  it('refuses a request timeout shorter than the headers timeout, and an initial admission limit outside its bounds', () => {
    expect(problems({ HEADERS_TIMEOUT_MS: '40000' })).toEqual([
      '`server.requestTimeoutMs` must be at least server.headersTimeoutMs, which is 40000 (set by HEADERS_TIMEOUT_MS), but got: 30000 (config/default.yaml:29)',
    ]);
    expect(problems({}, { overrides: { server: { admission: { initialLimit: 2000 } } } })).toEqual([
      '`server.admission.initialLimit` must lie between minLimit and maxLimit (4 ≤ initialLimit ≤ 1000), but got: 2000 (set by overrides)',
    ]);
  });

  it('says what the deadline the response reserve must stay under is, and where it was set', () => {
    expect(problems({ REQUEST_DEADLINE_MS: '30' })).toEqual([
      '`limits.responseReserveMs` must be less than limits.requestDeadlineMs, which is 30 (set by REQUEST_DEADLINE_MS), but got: 40 (config/default.yaml:200)',
    ]);
    expect(problems({}, { overrides: { limits: { requestDeadlineMs: 40 } } })).toEqual([
      '`limits.responseReserveMs` must be less than limits.requestDeadlineMs, which is 40 (set by overrides), but got: 40 (config/default.yaml:200)',
    ]);
  });

  it('names HOST and its value when it is blank or not an address or host name', () => {
    const contract = 'must be an IP address or a host name, such as 127.0.0.1, 0.0.0.0 (every interface), :: or localhost';
    expect(problems({ HOST: ' ' })).toEqual([`\`server.host\` ${contract}, but got: " " (set by HOST)`]);
    expect(problems({ HOST: 'http://0.0.0.0' })).toEqual([`\`server.host\` ${contract}, but got: "http://0.0.0.0" (set by HOST)`]);
    for (const host of ['0.0.0.0', '::', '::1', '127.0.0.1', 'localhost', 'floorplan-0.floorplan.svc.cluster.local']) expect(load({ HOST: host }).server.host).toBe(host);
  });

  it('bounds an upstream connect timeout: a whole number of ms, above 0 and at most a minute', () => {
    expect(load({}, { overrides: { upstreams: { settlement: { connectTimeoutMs: 250 } } } }).upstreams.settlement.connectTimeoutMs).toBe(250);
    expect(load({ UPSTREAM_PROMOTION_CONNECT_TIMEOUT_MS: '400' }).upstreams.promotion.connectTimeoutMs).toBe(400);
    expect(problems({ UPSTREAM_CART_CONNECT_TIMEOUT_MS: '0' })).toEqual(['`upstreams.cart.connectTimeoutMs` must be greater than 0, but got: 0 (set by UPSTREAM_CART_CONNECT_TIMEOUT_MS)']);
    expect(problems({}, { overrides: { upstreams: { cart: { connectTimeoutMs: 0 } } } })).toEqual([
      '`upstreams.cart.connectTimeoutMs` must be greater than 0, but got: 0 (set by overrides)',
    ]);
    expect(problems({}, { overrides: { upstreams: { cart: { connectTimeoutMs: 60_001 } } } })).toEqual([
      '`upstreams.cart.connectTimeoutMs` must be at most 60000, but got: 60001 (set by overrides)',
    ]);
    expect(problems({}, { overrides: { upstreams: { cart: { connectTimeoutMs: 1.5 } } } })).toEqual([
      '`upstreams.cart.connectTimeoutMs` must be an integer, but got: 1.5 (set by overrides)',
    ]);
  });

  it('says when a bad value came from the overrides option', () => {
    expect(problems({}, { overrides: { upstreams: { cart: { timeoutMs: 0 } } } })).toEqual([
      '`upstreams.cart.timeoutMs` must be greater than 0, but got: 0 (set by overrides)',
    ]);
  });
});

describe('loadServiceConfig with its own config folder', () => {
  const dirs: string[] = [];
  function configDir(files: Record<string, string>): string {
    const dir = mkdtempSync(join(tmpdir(), 'floorplan-config-'));
    dirs.push(dir);
    for (const [name, source] of Object.entries(files)) writeFileSync(join(dir, name), source);
    return dir;
  }
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('rejects a misspelt key, listing the known keys and the line', () => {
    const dir = configDir({ 'default.yaml': DEFAULT_YAML.replace('  bodyLimitBytes: 65536', '  bodyLimitByte: 65536') });
    expect(problems({}, { dir })).toEqual([
      `\`server.bodyLimitBytes\` must be an integer, but got: nothing (${dir}/default.yaml:6)`,
      `\`server.bodyLimitByte\` is not a known key (a typo?); the known keys are host, port, managementPort, bodyLimitBytes, drainMs, shutdownGraceMs, introspection, fastPath, headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs, maxConnections, trustedProxies, admission (${dir}/default.yaml:12)`,
    ]);
  });

  it('points a bad value at the overlay file and line that set it', () => {
    const dir = configDir({
      'default.yaml': DEFAULT_YAML,
      'staging.yaml': ['upstreams:', '  cart:', '    timeoutMs: fast', ''].join('\n'),
    });
    expect(problems({ FLOORPLAN_ENV: 'staging' }, { dir })).toEqual([
      `\`upstreams.cart.timeoutMs\` must be an integer, but got: "fast" (${dir}/staging.yaml:3)`,
    ]);
  });

  it('names an overlay section left empty (its keys commented out) once, at its line, also when a variable sets a key in it', () => {
    // `server:` with every key under it commented out is null, which replaced default.yaml's
    // mapping; MANAGEMENT_PORT (the Kubernetes manifests set it) then made it {managementPort}, and
    // the refusal listed every other server key as "got: nothing" at default.yaml's lines instead.
    const dir = configDir({
      'default.yaml': DEFAULT_YAML,
      'staging.yaml': ['server:', '  # drainMs: 3000', 'upstreams:', '  cart: 5', ''].join('\n'),
    });
    const expected = [`\`server\` must be a mapping, but got: null (${dir}/staging.yaml:1)`, `\`upstreams.cart\` must be a mapping, but got: 5 (${dir}/staging.yaml:4)`];
    expect(problems({ FLOORPLAN_ENV: 'staging' }, { dir })).toEqual(expected);
    expect(problems({ FLOORPLAN_ENV: 'staging', MANAGEMENT_PORT: '9464', PORT: '4000', UPSTREAM_CART_URL: 'http://cart.internal/cart' }, { dir })).toEqual(expected);
  });

  it('reports a YAML syntax error in default.yaml with its line', () => {
    const dir = configDir({ 'default.yaml': DEFAULT_YAML.replace('  port: 4000', '  port 4000') });
    expect(problems({}, { dir })).toEqual([`YAML syntax error: Implicit map keys need to be followed by map values (${dir}/default.yaml:7)`]);
  });

  it('reports a YAML alias that would repeat too much in default.yaml with its line, instead of failing to start with a stack trace', () => {
    const levels = 'abcdefghij';
    const lines = [`a: &a [${Array(9).fill('"lol"').join(',')}]`, ...[...levels.slice(1)].map((name, i) => `${name}: &${name} [${Array(9).fill(`*${levels[i]}`).join(',')}]`)];
    const source = `${DEFAULT_YAML}laughs:\n${lines.map((l) => `  ${l}\n`).join('')}`;
    const line = source.split('\n').indexOf('  d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]') + 1;
    const dir = configDir({ 'default.yaml': source });
    expect(problems({}, { dir })).toEqual([`the file may repeat at most 1000 values through YAML aliases (*name), but got: 1729 by this alias, *c (${dir}/default.yaml:${line})`]);
  });

  it('reports a missing default.yaml instead of every key it would have set', () => {
    const dir = configDir({});
    const lines = problems({}, { dir });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^cannot read ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/default\\.yaml: ENOENT`));
  });
});

describe('a URL setting refused for its form', () => {
  const ENCODE = 'percent-encode the reserved characters of its user and password (/ as %2F, + as %2B, @ as %40)';

  it('says which schemes redis.url, flags.unleashUrl and flags.unleashUiUrl take, not "must be a valid url"', () => {
    for (const url of ['http://127.0.0.1:6379/0', '127.0.0.1:6379', 'redis-primary:6379']) {
      expect(problems({ REDIS_URL: url })).toEqual([`\`redis.url\` must be a redis:// or rediss:// URL (or empty: no Redis), but got: ${JSON.stringify(url)} (set by REDIS_URL)`]);
    }
    for (const url of ['unleash:4242', 'unleash.internal:4242/api', 'redis://unleash:4242/api']) {
      expect(problems({ UNLEASH_URL: url })).toEqual([`\`flags.unleashUrl\` must be an http:// or https:// URL (or empty: flags from flags.bootstrapFile), but got: ${JSON.stringify(url)} (set by UNLEASH_URL)`]);
      expect(problems({ UNLEASH_UI_URL: url })).toEqual([
        `\`flags.unleashUiUrl\` must be an http:// or https:// URL (or empty: flags.unleashUrl's own host), but got: ${JSON.stringify(url)} (set by UNLEASH_UI_URL)`,
      ]);
    }
  });

  it('tells to percent-encode a Redis password holding / rather than call the URL invalid, never echoing it', () => {
    expect(problems({ REDIS_URL: 'redis://:kX9/aB@127.0.0.1:6379/0' })).toEqual([`\`redis.url\` must be a URL that parses: ${ENCODE}, but got: "redis://:***@127.0.0.1:6379/0" (set by REDIS_URL)`]);
  });

  // "p@ss/word" unencoded: URL parsing ends the user information at the first @ it meets before a /
  // and reads host "ss" and path "/word@host:port/db", so the URL parses — to another host.
  it('refuses a Redis password holding @ then / (host and path read from inside it) instead of asking for a database number the URL shows', () => {
    expect(problems({ REDIS_URL: 'redis://:p@ss/word@127.0.0.1:6379/0' })).toEqual([`\`redis.url\` must be a URL that parses: ${ENCODE}, but got: "redis://:***@127.0.0.1:6379/0" (set by REDIS_URL)`]);
  });

  it('refuses a PostgreSQL password holding @ then / rather than start with the store "down" on a host named by the password', () => {
    expect(problems({ ...PRODUCTION, LAYOUT_STORE_URL: 'postgres://floorplan:p@ss/word@db.internal:5432/floorplan' })).toEqual([
      `\`layouts.store.url\` must be a URL that parses: ${ENCODE}, but got: "postgres://floorplan:***@db.internal:5432/floorplan" (set by LAYOUT_STORE_URL)`,
    ]);
    // Encoded, the same password is taken.
    expect(load({ ...PRODUCTION, LAYOUT_STORE_URL: 'postgres://floorplan:p%40ss%2Fword@db.internal:5432/floorplan' }).layouts.store.url).toBe('postgres://floorplan:p%40ss%2Fword@db.internal:5432/floorplan');
    expect(load({ REDIS_URL: 'redis://:p%40ss%2Fword@127.0.0.1:6379/0' }).redis.url).toBe('redis://:p%40ss%2Fword@127.0.0.1:6379/0');
  });
});
