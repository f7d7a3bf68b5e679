import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AuthConfig } from '../../src/config/service-config.ts';
import { ErrorCode, FloorplanError } from '../../src/errors.ts';
import { createTokenVerifier, type TokenVerifier } from '../../src/viewer/authenticate.ts';
import { signDemoToken } from '../../src/viewer/demo-token.ts';

const SECRET = 'test-secret-for-floorplan-auth-0123456789';
const OTHER_SECRET = 'someone-elses-secret-for-forging-9876543210';

const hs256: AuthConfig = {
  mode: 'hs256',
  hs256Secret: SECRET,
  issuer: 'floorplan-test',
  audience: 'floorplan',
  clockToleranceSeconds: 5,
};

/** The FloorplanError `promise` rejects with; fails the test if it is not a promise, resolves or rejects with anything else. */
async function rejection(promise: unknown): Promise<FloorplanError> {
  if (!(promise instanceof Promise)) throw new Error(`expected a refusal as a rejected promise, but got: ${JSON.stringify(promise)}`);
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof FloorplanError)) throw new Error(`expected a FloorplanError, but got: ${String(error)}`);
  return error;
}

/** Asserts an AUTH_INVALID_TOKEN rejection with exactly `message`, and that no secret leaked into it. */
async function expectInvalid(promise: unknown, message: string): Promise<void> {
  const error = await rejection(promise);
  expect(error.code).toBe(ErrorCode.AUTH_INVALID_TOKEN);
  expect(error.message).toBe(message);
  expect(error.message).not.toContain(SECRET);
  expect(error.message).not.toContain(OTHER_SECRET);
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

const now = () => Math.floor(Date.now() / 1000);

describe('createTokenVerifier in hs256 mode', () => {
  const verify = createTokenVerifier(hs256);

  it('returns the user id and segments of a valid token', async () => {
    const token = await signDemoToken(hs256, { userId: 'u1001', segments: ['plus', 'new'] });
    await expect(verify(`Bearer ${token}`)).resolves.toEqual({ userId: 'u1001', segments: ['plus', 'new'] });
  });

  it('gives no segments when the token carries none', async () => {
    const token = await signDemoToken(hs256, { userId: 'u1002' });
    await expect(verify(`Bearer ${token}`)).resolves.toEqual({ userId: 'u1002', segments: [] });
  });

  /** A token with the demo's issuer, audience and secret, and exactly these claims. */
  const withClaims = (claims: Record<string, unknown>) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuer(hs256.issuer).setAudience(hs256.audience).setExpirationTime(now() + 600).sign(new TextEncoder().encode(SECRET));

  it('accepts a `sub` as long as OpenID Connect allows (255 characters), and `segments: null` as none', async () => {
    const long = 'u'.repeat(255);
    await expect(verify(`Bearer ${await withClaims({ sub: long })}`)).resolves.toEqual({ userId: long, segments: [] });
    await expect(verify(`Bearer ${await withClaims({ sub: 'u1001', segments: null })}`)).resolves.toEqual({ userId: 'u1001', segments: [] });
    await expect(verify(`Bearer ${await withClaims({ sub: '...' })}`)).resolves.toEqual({ userId: '...', segments: [] });
  });

  it.each([
    ['a `sub` over 255 characters', { sub: 'u'.repeat(256) }, 'the token was rejected: its `sub` must be a string of 1 to 255 characters, but it has 256'],
    ['a `sub` of ".."', { sub: '..' }, 'the token was rejected: its `sub` must not be "." or ".." (a user id is a segment of the cart service\'s URL, where a proxy reads either as another path), but it is ".."'],
    ['a `sub` of "."', { sub: '.' }, 'the token was rejected: its `sub` must not be "." or ".." (a user id is a segment of the cart service\'s URL, where a proxy reads either as another path), but it is "."'],
    ['no `sub`', { segments: ['plus'] }, 'the token was rejected: it has no "sub" claim'],
    ['a number as `sub`', { sub: 1001 }, 'the token was rejected: its `sub` must be a string of 1 to 255 characters, but it is a number'],
    ['33 segments', { sub: 'u1001', segments: Array.from({ length: 33 }, (_, i) => `s${i}`) }, 'the token was rejected: its `segments` must be a list of at most 32 names of 1 to 64 characters, but it has 33 names'],
    ['a segment of 65 characters', { sub: 'u1001', segments: ['plus', 's'.repeat(65)] }, 'the token was rejected: its `segments` must be a list of at most 32 names of 1 to 64 characters, but segments[1] has 65 characters'],
    ['an empty segment', { sub: 'u1001', segments: [''] }, 'the token was rejected: its `segments` must be a list of at most 32 names of 1 to 64 characters, but segments[0] is empty'],
    ['segments as a string', { sub: 'u1001', segments: 'plus' }, 'the token was rejected: its `segments` must be a list of at most 32 names of 1 to 64 characters, but it is a string'],
  ])('rejects %s, saying which limit it broke', async (_label, claims, message) => {
    await expectInvalid(verify(`Bearer ${await withClaims(claims)}`), message);
  });

  it('accepts the scheme in any case and surrounding whitespace', async () => {
    const token = await signDemoToken(hs256, { userId: 'u1001' });
    await expect(verify(`bearer   ${token}  `)).resolves.toMatchObject({ userId: 'u1001' });
  });

  it.each([
    ['absent', undefined],
    ['empty', ''],
  ])('rejects an %s header with FLOORPLAN_ERR_AUTH_MISSING_TOKEN', async (_label, header) => {
    const error = await rejection(verify(header));
    expect(error.code).toBe(ErrorCode.AUTH_MISSING_TOKEN);
    expect(error.message).toBe('an Authorization: Bearer <token> header is required');
  });

  it.each([
    ['Basic credentials', 'Basic dXNlcjpwYXNz'],
    ['a bare token without a scheme', 'eyJhbGciOiJIUzI1NiJ9.e30.c2ln'],
    ['garbage after Bearer', 'Bearer not-a-jwt'],
    ['a token with two parts', 'Bearer abc.def'],
    ['characters outside base64url', 'Bearer abc.d$f.ghi'],
  ])('rejects %s as not a bearer JWT', async (_label, header) => {
    await expectInvalid(verify(header), 'the Authorization header must be "Bearer <JWT>"');
  });

  it('rejects three base64url parts that do not decode to a JWT', async () => {
    await expectInvalid(verify('Bearer abc.def.ghi'), 'the token was rejected: it is not a well-formed JWT');
  });

  it('rejects a token signed with another secret', async () => {
    const token = await signDemoToken(hs256, { userId: 'u1001', secret: OTHER_SECRET });
    await expectInvalid(verify(`Bearer ${token}`), 'the token was rejected: its signature does not verify');
  });

  it('rejects an expired token', async () => {
    const token = await signDemoToken(hs256, { userId: 'u1001', ttlSeconds: -60 });
    await expectInvalid(verify(`Bearer ${token}`), 'the token was rejected: it has expired');
  });

  it('rejects a token for another audience', async () => {
    const token = await signDemoToken(hs256, { userId: 'u1001', audience: 'another-app' });
    await expectInvalid(verify(`Bearer ${token}`), 'the token was rejected: claim "aud" is not acceptable');
  });

  it('rejects a token from another issuer', async () => {
    const token = await signDemoToken({ ...hs256, issuer: 'evil-idp' }, { userId: 'u1001' });
    await expectInvalid(verify(`Bearer ${token}`), 'the token was rejected: claim "iss" is not acceptable');
  });

  it('rejects an unsigned token with alg "none"', async () => {
    const token = `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ sub: 'u1001', iss: hs256.issuer, aud: hs256.audience, exp: now() + 600 })}.`;
    await expectInvalid(verify(`Bearer ${token}`), 'the token was rejected: its algorithm is not allowed');
  });

  it('says in words, not a library code, that a token marks an extension it needs as critical', async () => {
    // A `crit` header names extensions the verifier must understand or refuse the token.
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', crit: ['x-bound'], 'x-bound': true })
      .setSubject('u1001')
      .setIssuer(hs256.issuer)
      .setAudience(hs256.audience)
      .setExpirationTime(now() + 600)
      .sign(new TextEncoder().encode(SECRET), { crit: { 'x-bound': true } });
    await expectInvalid(verify(`Bearer ${token}`), 'the token was rejected: its header marks as critical an extension Floorplan does not support ("x-bound")');
  });

  it('rejects an HS512 token even when signed with the right secret', async () => {
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS512' })
      .setSubject('u1001')
      .setIssuer(hs256.issuer)
      .setAudience(hs256.audience)
      .setExpirationTime(now() + 600)
      .sign(new TextEncoder().encode(SECRET));
    await expectInvalid(verify(`Bearer ${token}`), 'the token was rejected: its algorithm is not allowed');
  });

  it('rejects a token without sub', async () => {
    const token = await new SignJWT({ segments: ['plus'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(hs256.issuer)
      .setAudience(hs256.audience)
      .setExpirationTime(now() + 600)
      .sign(new TextEncoder().encode(SECRET));
    await expectInvalid(verify(`Bearer ${token}`), 'the token was rejected: it has no "sub" claim');
  });

  it('rejects a token without exp, which would never expire', async () => {
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('u1001')
      .setIssuer(hs256.issuer)
      .setAudience(hs256.audience)
      .sign(new TextEncoder().encode(SECRET));
    await expectInvalid(verify(`Bearer ${token}`), 'the token was rejected: it has no "exp" claim');
  });

});

/** A JWKS endpoint on loopback serving `keys`, or answering `status` when it is set. */
async function startJwksServer(body: () => { status: number; keys: JWK[] }): Promise<{ url: string; server: Server; requests: () => number }> {
  let requests = 0;
  const server = createServer((_req, res) => {
    requests++;
    const { status, keys } = body();
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/.well-known/jwks.json`, server, requests: () => requests };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
}

describe('createTokenVerifier in jwks mode', () => {
  const issuer = 'https://idp.test';
  const audience = 'floorplan';
  let signingKey: CryptoKey;
  let otherKey: CryptoKey;
  let jwks: Awaited<ReturnType<typeof startJwksServer>>;
  let verify: TokenVerifier;

  function sign(key: CryptoKey, kid: string, subject = 'u1001'): Promise<string> {
    return new SignJWT({ segments: ['plus'] })
      .setProtectedHeader({ alg: 'RS256', kid })
      .setSubject(subject)
      .setIssuer(issuer)
      .setAudience(audience)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(key);
  }

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256', { extractable: true });
    signingKey = pair.privateKey;
    otherKey = (await generateKeyPair('RS256')).privateKey;
    const publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'key-1', alg: 'RS256', use: 'sig' };
    jwks = await startJwksServer(() => ({ status: 200, keys: [publicJwk] }));
    verify = createTokenVerifier({ mode: 'jwks', jwksUrl: jwks.url, issuer, audience, clockToleranceSeconds: 5, jwksTimeoutMs: 1000, jwksMaxStaleSeconds: 86_400 });
  });

  afterAll(async () => {
    await closeServer(jwks.server);
  });

  it('accepts an RS256 token signed by the key its kid names', async () => {
    await expect(verify(`Bearer ${await sign(signingKey, 'key-1')}`)).resolves.toEqual({ userId: 'u1001', segments: ['plus'] });
    expect(jwks.requests()).toBeGreaterThanOrEqual(1);
  });

  it('rejects a token signed by another key under the same kid', async () => {
    await expectInvalid(verify(`Bearer ${await sign(otherKey, 'key-1')}`), 'the token was rejected: its signature does not verify');
  });

  it('rejects a token whose kid is not in the key set once the keys have been asked again; until then it cannot tell (503)', async () => {
    // Moments after a fetch, the kid may be a key published since: keys unavailable, not a bad token.
    const early = await rejection(verify(`Bearer ${await sign(otherKey, 'key-2')}`));
    expect(early.code).toBe(ErrorCode.AUTH_KEYS_UNAVAILABLE);
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 5100);
      await expectInvalid(verify(`Bearer ${await sign(otherKey, 'key-2')}`), 'the token was rejected: no key matches its kid');
    } finally {
      vi.useRealTimers();
    }
  });

  it('rejects an HS256 token, so a shared secret cannot stand in for the public key', async () => {
    const token = await signDemoToken({ ...hs256, issuer, audience }, { userId: 'u1001' });
    await expectInvalid(verify(`Bearer ${token}`), 'the token was rejected: its algorithm is not allowed');
  });
});

describe('createTokenVerifier when the JWKS endpoint fails', () => {
  it('fails as keys-unavailable (HTTP 503 upstream of here), not as a bad token, so clients are not sent back to sign-in', async () => {
    const jwks = await startJwksServer(() => ({ status: 503, keys: [] }));
    try {
      const verify = createTokenVerifier({ mode: 'jwks', jwksUrl: jwks.url, issuer: 'https://idp.test', audience: 'floorplan', clockToleranceSeconds: 5, jwksTimeoutMs: 1000, jwksMaxStaleSeconds: 86_400 });
      const { privateKey } = await generateKeyPair('RS256');
      const token = await new SignJWT({})
        .setProtectedHeader({ alg: 'RS256', kid: 'key-1' })
        .setSubject('u1001')
        .setIssuer('https://idp.test')
        .setAudience('floorplan')
        .setExpirationTime('10m')
        .sign(privateKey);
      const error: unknown = await Promise.resolve(verify(`Bearer ${token}`)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(FloorplanError);
      expect((error as FloorplanError).code).toBe('FLOORPLAN_ERR_AUTH_KEYS_UNAVAILABLE');
      expect((error as Error).message).toBe('the token could not be verified: the signing keys are unavailable');
      expect(jwks.requests()).toBe(1);
    } finally {
      await closeServer(jwks.server);
    }
  });
});

describe('createTokenVerifier remembers verified tokens', () => {
  it('answers a token it has verified without verifying it again, until it expires', async () => {
    const verify = createTokenVerifier({ ...hs256, clockToleranceSeconds: 0 });
    // Two seconds: `exp` is whole seconds from `iat`, so a one-second token signed late in a second
    // could expire before its first verification (a CI run saw exactly that).
    const token = await signDemoToken(hs256, { userId: 'u1001', segments: ['plus'], ttlSeconds: 2 });
    const first = await verify(`Bearer ${token}`);
    // The remembered claims, not a new verification, and at once: no promise to wait for.
    expect(verify(`Bearer ${token}`)).toBe(first);
    await new Promise((r) => setTimeout(r, 2100));
    await expectInvalid(verify(`Bearer ${token}`), 'the token was rejected: it has expired');
  });

  it('never lets a remembered token vouch for a different one', async () => {
    const verify = createTokenVerifier(hs256);
    const good = await signDemoToken(hs256, { userId: 'u1001' });
    await verify(`Bearer ${good}`);
    const [header, , signature] = good.split('.');
    const otherUser = `${header}.${base64url({ sub: 'u-basic', iss: hs256.issuer, aud: hs256.audience, exp: now() + 600 })}.${signature}`;
    await expectInvalid(verify(`Bearer ${otherUser}`), 'the token was rejected: its signature does not verify');
  });
});
