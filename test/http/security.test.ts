import { SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadServiceConfig } from '../../src/config/service-config.ts';
import { UPSTREAMS } from '../../src/upstreams/registry.ts';
import { PANEL_QUERY, startHarness, type Harness } from '../support/harness.ts';
import { timedPost } from '../support/measure.ts';
import { callCounts } from '../support/upstream-fakes.ts';

/** What production ships (config/production.yaml), with the URLs it insists on set. */
const production = loadServiceConfig({
  env: {
    FLOORPLAN_ENV: 'production',
    // UPSTREAM_CART_URL=http://cart.internal/cart, and so on for every registered upstream.
    ...Object.fromEntries(UPSTREAMS.map((u) => [`UPSTREAM_${u.toUpperCase()}_URL`, `http://${u}.internal/${u}`])),
    LAYOUT_STORE_URL: 'postgres://floorplan@db.internal:5432/floorplan',
    JWT_JWKS_URL: 'https://idp.internal/.well-known/jwks.json',
  },
});

describe('schema introspection with the production setting (server.introspection false)', () => {
  let h: Harness;
  let auth: Record<string, string>;
  beforeAll(async () => {
    expect(production.server.introspection).toBe(false);
    h = await startHarness({ config: { server: { port: 0, shutdownGraceMs: 2000, introspection: production.server.introspection } } });
    auth = { authorization: `Bearer ${await h.token('u1001')}` };
  });
  afterAll(() => h.close());

  it('answers { __schema { types { name } } } with an error and no schema', async () => {
    const res = await timedPost(h.url, { query: '{ __schema { types { name } } }' }, auth);
    expect(res.status).toBe(400);
    expect(res.body.data).toBeUndefined();
    expect(res.body.errors![0]!.extensions!.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(res.body.errors![0]!.message).toMatch(/introspection/i);
    expect(JSON.stringify(res.body)).not.toContain('FloorPanel');
  });

  it('answers a __type lookup with an error too', async () => {
    const res = await timedPost(h.url, { query: '{ __type(name: "FloorPanel") { fields { name } } }' }, auth);
    expect(res.status).toBe(400);
    expect(res.body.data).toBeUndefined();
    expect(JSON.stringify(res.body)).not.toContain('failedUpstreams');
  });

  it('gives no "Did you mean" hints that would map the schema field by field', async () => {
    const res = await timedPost(h.url, { query: '{ floorPanl(scene: "cart-bottom-sheet") { degraded } }' }, auth);
    expect(res.status).toBe(400);
    expect(res.body.errors![0]!.extensions!.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(JSON.stringify(res.body)).not.toMatch(/did you mean|floorPanel/i);
  });

  it('still serves panels', async () => {
    const res = await timedPost(h.url, { query: PANEL_QUERY, variables: { scene: 'cart-bottom-sheet' } }, auth);
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
  });
});

describe('JWT claims checked over HTTP: expiry, issuer, audience, not-before', () => {
  let h: Harness;
  let secret: Uint8Array;
  beforeAll(async () => {
    h = await startHarness();
    secret = new TextEncoder().encode(h.config.auth.hs256Secret);
  });
  afterAll(() => h.close());
  beforeEach(() => h.demo.resetCalls());

  const now = () => Math.floor(Date.now() / 1000);

  /** A token for u1001 signed with the right secret, with `edit` applied to its claims. */
  function token(edit: (jwt: SignJWT) => SignJWT = (jwt) => jwt): Promise<string> {
    const jwt = new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject('u1001')
      .setIssuer(h.config.auth.issuer)
      .setAudience(h.config.auth.audience)
      .setIssuedAt(now() - 60)
      .setExpirationTime(now() + 600);
    return edit(jwt).sign(secret);
  }

  async function panelWith(bearer: string) {
    return timedPost(h.url, { query: PANEL_QUERY, variables: { scene: 'cart-bottom-sheet' } }, { authorization: `Bearer ${bearer}` });
  }

  async function expectRefused(bearer: string, reason: RegExp): Promise<void> {
    const res = await panelWith(bearer);
    expect(res.status).toBe(401);
    expect(res.body.data).toBeUndefined();
    expect(res.body.errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
    expect(res.body.errors![0]!.message).toMatch(reason);
    expect(h.demo.calls()).toEqual(callCounts({ cart: 0, promotion: 0, settlement: 0, loyalty: 0 }));
  }

  it('accepts a well-formed token (the baseline the cases below change one claim of)', async () => {
    const res = await panelWith(await token());
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
  });

  it('refuses a token that expired longer ago than the clock tolerance', async () => {
    const tolerance = h.config.auth.clockToleranceSeconds;
    await expectRefused(await token((jwt) => jwt.setExpirationTime(now() - tolerance - 30)), /expired/);
  });

  it('accepts a token that expired within the clock tolerance, for a client whose clock is a little behind', async () => {
    expect(h.config.auth.clockToleranceSeconds).toBeGreaterThanOrEqual(3);
    const res = await panelWith(await token((jwt) => jwt.setExpirationTime(now() - 1)));
    expect(res.status).toBe(200);
  });

  it('refuses a token from another issuer', async () => {
    await expectRefused(await token((jwt) => jwt.setIssuer('https://evil.example')), /"iss"/);
  });

  it('refuses a token with no issuer', async () => {
    const noIssuer = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('u1001')
      .setAudience(h.config.auth.audience)
      .setExpirationTime(now() + 600)
      .sign(secret);
    await expectRefused(noIssuer, /"iss"/);
  });

  it('refuses a token for another audience, and one with no audience', async () => {
    await expectRefused(await token((jwt) => jwt.setAudience('some-other-service')), /"aud"/);
    const noAudience = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('u1001').setIssuer(h.config.auth.issuer).setExpirationTime(now() + 600).sign(secret);
    await expectRefused(noAudience, /"aud"/);
  });

  it('refuses a token that is not valid yet (nbf in the future)', async () => {
    await expectRefused(await token((jwt) => jwt.setNotBefore(now() + 600)), /"nbf"/);
  });

  it('refuses an unsigned token (alg "none") whatever its claims say', async () => {
    const unsigned = new UnsecuredJWT({}).setSubject('u1001').setIssuer(h.config.auth.issuer).setAudience(h.config.auth.audience).setExpirationTime(now() + 600).encode();
    await expectRefused(unsigned, /./);
  });
});
