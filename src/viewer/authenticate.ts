/**
 * Who is calling: verifies `Authorization: Bearer <JWT>` (jose) and returns its claims.
 * The user id comes from `sub` and nowhere else — no argument or header can name another
 * user. HS256 with a shared secret for the demo; `auth.mode: jwks` switches to RS256/ES256
 * keys from the identity provider's JWKS endpoint, with no code change.
 */
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import type { AuthConfig } from '../config/service-config.ts';
import { ErrorCode, FloorplanError } from '../errors.ts';

/** The claims Floorplan uses, checked. */
export interface VerifiedClaims {
  readonly userId: string;
  /** From the optional `segments` claim, e.g. ["plus", "new"]. */
  readonly segments: readonly string[];
}

/**
 * The claims of the token `authorization` carries. A token verified before comes back as it is,
 * without a promise (most requests: an app sends the same token until it expires); anything
 * else is a promise, and every refusal a rejected one.
 */
export type TokenVerifier = ((authorization: string | undefined) => VerifiedClaims | Promise<VerifiedClaims>) & {
  /** With remote keys (auth.mode jwks): fetches them now, so the first request does not wait for them. */
  readonly prefetchKeys?: () => Promise<void>;
};

const claimsSchema = z.object({
  sub: z.string().min(1).max(128),
  segments: z.array(z.string().min(1).max(64)).max(32).optional(),
});

const BEARER = /^Bearer\s+([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)\s*$/i;

/** Tokens remembered as verified; an app reuses its token on every request until it expires. */
const VERIFIED_TOKENS = 10_000;
/** However long a token lives, it is re-verified at least this often (a rotated-out JWKS key stops working). */
const REVERIFY_AFTER_MS = 5 * 60_000;

/**
 * Verifying a signature costs ~200 µs through WebCrypto, more than the rest of a panel's CPU;
 * the same token string verifies the same way every time until it expires, so a verified
 * token's claims are remembered (bounded, until `exp`, at most five minutes).
 */
export function createTokenVerifier(config: AuthConfig): TokenVerifier {
  const verified = new LRUCache<string, { claims: VerifiedClaims; validUntilMs: number }>({ max: VERIFIED_TOKENS });
  const options = {
    issuer: config.issuer,
    audience: config.audience,
    clockTolerance: config.clockToleranceSeconds,
    requiredClaims: ['sub', 'exp'],
  };
  const keySet = config.mode === 'hs256' ? undefined : createRemoteJWKSet(new URL(config.jwksUrl));
  const verify =
    keySet === undefined
      ? (() => {
          const key = new TextEncoder().encode(config.hs256Secret);
          return (token: string) => jwtVerify(token, key, { ...options, algorithms: ['HS256'] });
        })()
      : (() => {
          const keys: JWTVerifyGetKey = keySet;
          return (token: string) => jwtVerify(token, keys, { ...options, algorithms: ['RS256', 'ES256', 'PS256'] });
        })();

  async function verifyNow(authorization: string | undefined): Promise<VerifiedClaims> {
    if (authorization === undefined || authorization === '') {
      throw new FloorplanError(ErrorCode.AUTH_MISSING_TOKEN, {});
    }
    const match = BEARER.exec(authorization);
    if (match === null) {
      throw new FloorplanError(ErrorCode.AUTH_INVALID_TOKEN, { reason: 'the Authorization header must be "Bearer <JWT>"' });
    }
    const token = match[1] as string;
    // Remembered but expired, if remembered at all: it is verified again, as a new token is.
    verified.delete(token);
    let payload: unknown;
    try {
      ({ payload } = await verify(token));
    } catch (error) {
      if (!isTokenProblem(error)) {
        // The token may well be valid: the identity provider's keys could not be fetched. A 401
        // would send every client back to sign-in during an IdP outage; answer 503 instead.
        throw new FloorplanError(ErrorCode.AUTH_KEYS_UNAVAILABLE, {}, { cause: error });
      }
      throw new FloorplanError(ErrorCode.AUTH_INVALID_TOKEN, { reason: `the token was rejected: ${reason(error)}` }, { cause: error });
    }
    const claims = claimsSchema.safeParse(payload);
    if (!claims.success) {
      throw new FloorplanError(ErrorCode.AUTH_INVALID_TOKEN, { reason: 'the token must carry a string `sub` and, optionally, `segments` as a list of strings' });
    }
    const result: VerifiedClaims = Object.freeze({ userId: claims.data.sub, segments: Object.freeze(claims.data.segments ?? []) });
    const expiresAtMs = ((payload as { exp: number }).exp + config.clockToleranceSeconds) * 1000;
    verified.set(token, { claims: result, validUntilMs: Math.min(expiresAtMs, Date.now() + REVERIFY_AFTER_MS) });
    return result;
  }

  const verifier = (authorization: string | undefined) => {
    const match = authorization === undefined ? null : BEARER.exec(authorization);
    const known = match === null ? undefined : verified.get(match[1] as string);
    if (known !== undefined && Date.now() < known.validUntilMs) return known.claims;
    return verifyNow(authorization);
  };
  return keySet === undefined ? verifier : Object.assign(verifier, { prefetchKeys: () => keySet.reload() });
}

/** False when verification failed for a reason outside the token: the JWKS could not be fetched or read. */
function isTokenProblem(error: unknown): boolean {
  if (!(error instanceof joseErrors.JOSEError)) return false;
  if (error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JWKSInvalid || error instanceof joseErrors.JWKInvalid) return false;
  // jose raises its generic error only for a JWKS response that is not 200 or not JSON.
  return error.code !== joseErrors.JOSEError.code;
}

/** A short reason safe to show a client: what failed, never key material. */
function reason(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'it has expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    return error.reason === 'missing' ? `it has no "${error.claim}" claim` : `claim "${error.claim}" is not acceptable`;
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'its signature does not verify';
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'its algorithm is not allowed';
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'no key matches its kid';
  if (error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JWTInvalid) return 'it is not a well-formed JWT';
  if (error instanceof joseErrors.JOSEError) return error.code;
  return 'it could not be verified';
}
