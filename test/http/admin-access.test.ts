/**
 * Who may call the admin API, and from where — the server's side of the operator console:
 * viewer and publisher roles (enforced here, not by hiding buttons), cross-site browser requests
 * refused, JSON bodies only, the console's pages under a strict CSP, and the login check
 * (/admin/session) throttled like every admin call.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadServiceConfig, type DeepPartial, type ServiceConfig } from '../../src/config/service-config.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { metricValue, scrapeMetrics } from '../support/measure.ts';

const ADMIN = 'admin-access-suite-token';
const VIEWER = 'vera-may-only-look-at-things';
const PUBLISHER = 'paul-may-change-things-too';
const LEGACY = 'lena-predates-the-roles';

describe('the admin API: roles, cross-site requests, the console pages', () => {
  let h: Harness;

  async function post(path: string, body: unknown, token: string | null, headers: Record<string, string> = {}) {
    const res = await fetch(`${h.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
  }

  beforeAll(async () => {
    h = await startHarness({
      config: {
        admin: {
          token: ADMIN,
          operators: { vera: { token: VIEWER, role: 'viewer' }, paul: { token: PUBLISHER, role: 'publisher' }, lena: LEGACY },
          maxFailedAttempts: 3,
          failedAttemptsWindowSeconds: 60,
        },
      },
    });
  });
  afterAll(() => h.close());

  it('says who a credential is and its role; a plain string credential is a publisher, as before roles', async () => {
    expect((await post('/admin/session', {}, ADMIN)).body).toEqual({ identity: 'admin', role: 'publisher' });
    expect((await post('/admin/session', {}, VIEWER)).body).toEqual({ identity: 'vera', role: 'viewer' });
    expect((await post('/admin/session', {}, PUBLISHER)).body).toEqual({ identity: 'paul', role: 'publisher' });
    expect((await post('/admin/session', {}, LEGACY)).body).toEqual({ identity: 'lena', role: 'publisher' });
  });

  it('logs who was refused what: a viewer on a publisher route at warn, a refused operation at info', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const server = await startHarness({
      config: { admin: { token: ADMIN, operators: { vera: { token: VIEWER, role: 'viewer' }, paul: { token: PUBLISHER, role: 'publisher' } } }, layouts: { store: { kind: 'pglite', dataDir: '/nonexistent/never-opened' } } },
      deps: { logger },
    });
    try {
      const call = (path: string, token: string, body: unknown) =>
        fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
      expect((await call('/admin/layouts/rollback', VIEWER, { revision: 1 })).status).toBe(403);
      expect((await call('/admin/layouts/check', PUBLISHER, { files: { 'cart-bottom-sheet.yaml': 'scene: cart-bottom-sheet\nfloors:\n  - code: spze\n    builder: nope\n' } })).status).toBe(400);
      expect(lines.find((line) => line.msg === 'admin request refused: the caller lacks the role')).toMatchObject({
        level: 40,
        identity: 'vera',
        role: 'viewer',
        path: '/admin/layouts/rollback',
        status: 403,
      });
      expect(lines.find((line) => line.msg === 'admin request refused' && line.path === '/admin/layouts/check')).toMatchObject({
        level: 30,
        identity: 'paul',
        status: 400,
        error: 'the layouts are invalid',
      });
    } finally {
      await server.close();
    }
  });

  it('lets a viewer preview and read flags, and refuses it anything that changes what users get', async () => {
    expect((await post('/admin/preview', { scene: 'cart-bottom-sheet', userId: 'u1001' }, VIEWER)).status).toBe(200);
    const flags = await post('/admin/flags', {}, VIEWER);
    expect(flags.status).toBe(200);
    expect(flags.body).toMatchObject({ mode: 'local', servingFrom: 'file', unleashUrl: null });
    expect(flags.body.flags.find((f: { flag: string }) => f.flag === 'floor.plus-rebate')).toMatchObject({
      usedBy: [{ scene: 'cart-bottom-sheet', variant: null, floor: 'plus-rebate' }],
      defined: true,
      enabled: true,
      link: null,
    });
    expect((await post('/admin/console-info', {}, VIEWER)).body).toEqual({
      scenes: [
        { scene: 'cart-bottom-sheet', version: '2026-11-21.1', variants: ['compact'] },
        { scene: 'checkout-summary', version: '2026-11-21.1', variants: [] },
      ],
      locales: ['zh-CN', 'en'],
    });
  });

  it('refuses a viewer every route not listed as a reader’s, including ones added later', async () => {
    // No revision store in this harness, so the layouts routes do not exist: a route the viewer list does not name is the case.
    const server = await startHarness({
      config: { admin: { token: ADMIN, operators: { vera: { token: VIEWER, role: 'viewer' } } }, layouts: { store: { kind: 'pglite', dataDir: '/nonexistent/never-opened' } } },
    });
    try {
      const refused = await fetch(`${server.url}/admin/layouts/rollback`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${VIEWER}` },
        body: JSON.stringify({ revision: 1 }),
      });
      expect(refused.status).toBe(403);
      expect(await refused.json()).toEqual({ error: '/admin/layouts/rollback needs the publisher role; vera is a viewer' });
      const publish = await fetch(`${server.url}/admin/layouts/publish`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${VIEWER}` },
        body: JSON.stringify({ files: {} }),
      });
      expect(publish.status).toBe(403);
      for (const operation of ['candidate', 'rollout', 'promote', 'abort']) {
        const res = await fetch(`${server.url}/admin/layouts/${operation}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${VIEWER}` },
          body: JSON.stringify({ scene: 'cart-bottom-sheet' }),
        });
        expect(res.status, operation).toBe(403);
      }

      // The publish check validates a set as publish does, and refuses an invalid one before it reads the store.
      const check = await fetch(`${server.url}/admin/layouts/check`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${VIEWER}` },
        body: JSON.stringify({ files: { 'cart-bottom-sheet.yaml': 'scene: cart-bottom-sheet\nfloors:\n  - code: spze\n    builder: nope\n' } }),
      });
      expect(check.status).toBe(400);
      const refused2 = (await check.json()) as { error: string; problems: string[] };
      expect(refused2.error).toBe('the layouts are invalid');
      expect(refused2.problems.join('\n')).toContain('cart-bottom-sheet.yaml:4');
    } finally {
      await server.close();
    }
  });

  it('refuses a browser request from another site, whatever credential it carries', async () => {
    const foreign = await post('/admin/preview', { scene: 'cart-bottom-sheet', userId: 'u1001' }, ADMIN, { origin: 'http://evil.example' });
    expect(foreign.status).toBe(403);
    expect(foreign.body.error).toMatch(/^cross-site admin requests are refused: Origin must be this server's/);
    expect((await post('/admin/session', {}, ADMIN, { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    // The console's own requests: same origin.
    const own = await post('/admin/session', {}, ADMIN, { origin: h.url, 'sec-fetch-site': 'same-origin' });
    expect(own.status).toBe(200);
  });

  it('takes JSON bodies only, so a form or another "simple" request cannot reach a handler', async () => {
    const res = await fetch(`${h.url}/admin/preview`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', authorization: `Bearer ${ADMIN}` },
      body: JSON.stringify({ scene: 'cart-bottom-sheet', userId: 'u1001' }),
    });
    expect(res.status).toBe(415);
  });

  // Defect (security review): the rule held for a body only, so a POST with none — what a
  // cross-site form can send, and a `fetch` needs no preflight for — reached the handler.
  it.each([
    ['no Content-Type', {}],
    ['text/plain', { 'content-type': 'text/plain' }],
    ['a form', { 'content-type': 'application/x-www-form-urlencoded' }],
    ['a multipart form', { 'content-type': 'multipart/form-data; boundary=x' }],
  ])('refuses a POST without a body sent as %s with 415, as it refuses one with a body', async (_what, headers: Record<string, string>) => {
    for (const path of ['/admin/session', '/admin/flags', '/admin/preview']) {
      const res = await fetch(`${h.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, ...headers } });
      expect(res.status, path).toBe(415);
      expect(await res.json(), path).toEqual({ error: 'the body must be sent as Content-Type: application/json' });
    }
    // The console and `floors --server` send a JSON body, {} when there is nothing to say; an empty one as JSON is taken too.
    const empty = await fetch(`${h.url}/admin/session`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' } });
    expect(empty.status).toBe(200);
    expect(await empty.json()).toEqual({ identity: 'admin', role: 'publisher' });
  });

  // Defect (security review): a preview is a user's panel, yet admin answers carried neither header.
  it('marks every admin answer, refusals included, as not to be stored or sniffed', async () => {
    const call = async (what: string, path: string, init: RequestInit, status: number) => {
      const res = await fetch(`${h.url}${path}`, init);
      expect(res.status, what).toBe(status);
      expect(res.headers.get('cache-control'), what).toBe('private, no-store');
      expect(res.headers.get('x-content-type-options'), what).toBe('nosniff');
      await res.arrayBuffer();
    };
    const json = (token: string, extra: Record<string, string> = {}) => ({ 'content-type': 'application/json', authorization: `Bearer ${token}`, ...extra });
    await call('a preview', '/admin/preview', { method: 'POST', headers: json(ADMIN), body: JSON.stringify({ scene: 'cart-bottom-sheet', userId: 'u1001' }) }, 200);
    await call('a session', '/admin/session', { method: 'POST', headers: json(VIEWER), body: '{}' }, 200);
    await call('no credential', '/admin/preview', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }, 401);
    await call('a cross-site request', '/admin/preview', { method: 'POST', headers: json(ADMIN, { 'sec-fetch-site': 'cross-site' }), body: '{}' }, 403);
    await call('a viewer on a publisher route', '/admin/layouts/publish', { method: 'POST', headers: json(VIEWER), body: '{}' }, 403);
    // No revision store in this harness: the route itself answers that it offers no layout operations.
    await call('a route’s own refusal', '/admin/layouts/history', { method: 'POST', headers: json(ADMIN), body: '{}' }, 404);
    await call('an unknown admin route', '/admin/nope', { method: 'POST', headers: json(ADMIN), body: '{}' }, 404);
    await call('a GET', '/admin/session', { headers: { authorization: `Bearer ${ADMIN}` } }, 405);
    await call('a body that is not JSON', '/admin/preview', { method: 'POST', headers: json(ADMIN), body: '{' }, 400);
    await call('a text body', '/admin/preview', { method: 'POST', headers: { 'content-type': 'text/plain', authorization: `Bearer ${ADMIN}` }, body: '{}' }, 415);
    await call('no body, no Content-Type', '/admin/preview', { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } }, 415);
  });

  it('serves the console with a strict Content-Security-Policy and no way to frame it', async () => {
    for (const path of ['/console', '/console/console.js', '/console/rollout-words.js', '/console/console.css', '/console/icon.svg']) {
      const res = await fetch(`${h.url}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-security-policy')).toBe(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'; require-trusted-types-for 'script'; trusted-types",
      );
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
    }
    expect((await fetch(`${h.url}/console`)).headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect((await fetch(`${h.url}/console/console.js`)).headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await fetch(`${h.url}/console`, { method: 'POST' })).status).toBe(405);
  });

  it('serves no console when the admin API is off', async () => {
    const off = await startHarness({ config: { admin: { token: '' } } });
    try {
      expect((await fetch(`${off.url}/console`)).status).toBe(404);
      expect((await fetch(`${off.url}/admin/session`, { method: 'POST' })).status).toBe(404);
    } finally {
      await off.close();
    }
  });

  it('serves the admin API and the console to named operators without a shared admin token (ADMIN_TOKEN empty)', async () => {
    // Four eyes needs each operator's own credential; a shared `admin` publisher beside them could approve anyone's change.
    const named = await startHarness({ config: { admin: { token: '', operators: { vera: { token: VIEWER, role: 'viewer' }, paul: { token: PUBLISHER, role: 'publisher' } } } } });
    try {
      const session = (token: string) =>
        fetch(`${named.url}/admin/session`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: '{}' });
      const paul = await session(PUBLISHER);
      expect(paul.status).toBe(200);
      expect(await paul.json()).toEqual({ identity: 'paul', role: 'publisher' });
      expect(await (await session(VIEWER)).json()).toEqual({ identity: 'vera', role: 'viewer' });
      expect((await session('not-anyones-credential-at-all')).status).toBe(401);
      expect((await fetch(`${named.url}/console`)).status).toBe(200);
    } finally {
      await named.close();
    }
  });

  // Last: it leaves this address throttled.
  it('throttles wrong credentials at the login check like every admin call', async () => {
    for (let attempt = 1; attempt <= 3; attempt++) expect((await post('/admin/session', {}, `wrong-${attempt}`)).status).toBe(401);
    const throttled = await post('/admin/session', {}, ADMIN);
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(throttled.headers.get('cache-control')).toBe('private, no-store');
    expect(throttled.headers.get('x-content-type-options')).toBe('nosniff');
  });
});

describe('the wrong-credential throttle: which address it counts, and what it counts', () => {
  const RIGHT = 'throttle-suite-admin-token';

  /** A harness with a log kept in `lines` and a throttle of 3 wrong credentials per minute. */
  async function throttled(server: DeepPartial<ServiceConfig['server']> = {}) {
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const h = await startHarness({ config: { server, admin: { token: RIGHT, maxFailedAttempts: 3, failedAttemptsWindowSeconds: 60 } }, deps: { logger } });
    const call = async (init: { token?: string; forwardedFor?: string; method?: string; headers?: Record<string, string> } = {}) => {
      const res = await fetch(`${h.url}/admin/session`, {
        method: init.method ?? 'POST',
        headers: {
          ...(init.method === undefined || init.method === 'POST' ? { 'content-type': 'application/json' } : {}),
          ...(init.token === undefined ? {} : { authorization: `Bearer ${init.token}` }),
          ...(init.forwardedFor === undefined ? {} : { 'x-forwarded-for': init.forwardedFor }),
          ...init.headers,
        },
        ...(init.method === undefined || init.method === 'POST' ? { body: '{}' } : {}),
      });
      await res.arrayBuffer();
      return res.status;
    };
    return { h, lines, call };
  }

  it('behind a trusted proxy, counts each client by its X-Forwarded-For address, so one guesser does not lock out the others', async () => {
    const { h, lines, call } = await throttled({ trustedProxies: ['127.0.0.1'] });
    try {
      const guesses = [];
      for (let i = 1; i <= 5; i++) guesses.push(await call({ token: `guess-${i}`, forwardedFor: '10.0.0.1' }));
      expect(guesses).toEqual([401, 401, 401, 429, 429]);
      expect(await call({ token: RIGHT, forwardedFor: '10.0.0.1' })).toBe(429);
      // The operator at another address is not locked out by 10.0.0.1's guesses.
      expect(await call({ token: RIGHT, forwardedFor: '10.0.0.9' })).toBe(200);
      // A guesser cannot add addresses to the left of its own to look like someone new: the proxy appends the one it saw.
      expect(await call({ token: RIGHT, forwardedFor: '203.0.113.7, 10.0.0.1' })).toBe(429);
      const failures = lines.filter((l) => l.msg === 'wrong admin credential');
      expect(failures).toHaveLength(3);
      expect(failures.at(-1)).toMatchObject({ address: '10.0.0.1', socketAddress: '127.0.0.1', failures: 3, throttled: true });
    } finally {
      await h.close();
    }
  });

  // Defect (security pass, carried): an IPv6 client is handed a whole /64 and picks any address in
  // it, so counting each address let one guesser make a fresh start with every guess.
  it('counts an IPv6 client by its /64 and an IPv4-mapped one as the IPv4 address, so a guesser cannot start afresh by changing its address', async () => {
    const { h, lines, call } = await throttled({ trustedProxies: ['127.0.0.1'] });
    try {
      const guesses = [];
      for (const address of ['2001:db8:1:2::1', '2001:db8:1:2::2', '2001:db8:1:2:ffff:1:2:3']) guesses.push(await call({ token: 'guess', forwardedFor: address }));
      expect(guesses).toEqual([401, 401, 401]);
      // Another address of the same /64, even with the right credential, waits out the window.
      expect(await call({ token: RIGHT, forwardedFor: '2001:db8:1:2:abcd::9' })).toBe(429);
      // Another /64 is someone else.
      expect(await call({ token: RIGHT, forwardedFor: '2001:db8:1:3::1' })).toBe(200);
      expect(lines.filter((l) => l.msg === 'wrong admin credential').at(-1)).toMatchObject({ address: '2001:db8:1:2:ffff:1:2:3', throttledAs: '2001:db8:1:2::/64', failures: 3 });

      for (let i = 1; i <= 3; i++) expect(await call({ token: `guess-${i}`, forwardedFor: '10.0.0.7' })).toBe(401);
      expect(await call({ token: RIGHT, forwardedFor: '::ffff:10.0.0.7' })).toBe(429);
      expect(await call({ token: RIGHT, forwardedFor: '10.0.0.8' })).toBe(200);
    } finally {
      await h.close();
    }
  });

  it('ignores X-Forwarded-For when no proxy is trusted, so a guesser cannot escape the count by sending one', async () => {
    const { h, lines, call } = await throttled();
    try {
      const guesses = [];
      for (let i = 1; i <= 4; i++) guesses.push(await call({ token: `guess-${i}`, forwardedFor: `10.0.0.${i}` }));
      expect(guesses).toEqual([401, 401, 401, 429]);
      expect(await call({ token: RIGHT, forwardedFor: '10.0.0.9' })).toBe(429);
      expect(lines.filter((l) => l.msg === 'wrong admin credential').at(-1)).toMatchObject({ address: '127.0.0.1', socketAddress: '127.0.0.1' });
    } finally {
      await h.close();
    }
  });

  it('does not count requests that carry no credential (a CORS preflight, an <img> GET), so a web page cannot lock an operator out', async () => {
    const { h, lines, call } = await throttled();
    try {
      const statuses = [];
      for (let i = 0; i < 5; i++) {
        statuses.push(
          await call({ method: 'OPTIONS', headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' } }),
        );
        statuses.push(await call({ method: 'GET', headers: { 'sec-fetch-site': 'cross-site', 'sec-fetch-dest': 'image' } }));
        statuses.push(await call({}));
      }
      expect(new Set(statuses)).toEqual(new Set([401]));
      expect(lines.filter((l) => l.msg === 'wrong admin credential')).toEqual([]);
      expect(metricValue(await scrapeMetrics(h.url), 'floorplan_admin_auth_failures_total', { throttled: 'false' })).toBe(0);
      expect(await call({ token: RIGHT })).toBe(200);
      // A credential that is presented and wrong still counts.
      for (let i = 1; i <= 3; i++) expect(await call({ token: `guess-${i}` })).toBe(401);
      expect(await call({ token: RIGHT })).toBe(429);
    } finally {
      await h.close();
    }
  });
});

describe('admin.operators in the service config', () => {
  it('takes a credential string, or a credential and a role', () => {
    const config = loadServiceConfig({ env: {}, overrides: { admin: { operators: { lena: LEGACY, vera: { token: VIEWER, role: 'viewer' } } } } });
    expect(config.admin.operators).toEqual({ lena: LEGACY, vera: { token: VIEWER, role: 'viewer' } });
  });

  it('refuses an unknown role, naming the operator and hiding the credential', () => {
    expect(() => loadServiceConfig({ env: {}, overrides: { admin: { operators: { vera: { token: VIEWER, role: 'owner' as never } } } } })).toThrow(/admin\.operators\.vera/);
    let message = '';
    try {
      loadServiceConfig({ env: {}, overrides: { admin: { operators: { vera: { token: 'short', role: 'viewer' } } } } });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/admin\.operators\.vera/);
    expect(message).not.toContain('"short"');
  });
});
