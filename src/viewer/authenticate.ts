/**
 * Who is calling: verifies `Authorization: Bearer <JWT>` (jose) and returns its claims.
 * The user id comes from `sub` and nowhere else — no argument or header can name another
 * user. HS256 with a shared secret for the demo; `auth.mode: jwks` switches to RS256/ES256
 * keys from the identity provider's JWKS endpoint, with no code change.
 */
import { createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, errors as joseErrors, jwksCache, jwtVerify, type ExportedJWKSCache, type JWTVerifyGetKey } from 'jose';
import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import type { AuthConfig } from '../config/service-config.ts';
import { ErrorCode, FloorplanError, withoutPasswords } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import { MAX_USER_ID_LENGTH, userIdProblem } from './user-id.ts';

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

const MAX_SEGMENTS = 32;
const MAX_SEGMENT_LENGTH = 64;

const claimsSchema = z.object({
  sub: z.string().min(1).max(MAX_USER_ID_LENGTH).refine((sub) => userIdProblem(sub) === undefined),
  // null, as some identity providers write a claim they have no value for: no segments.
  segments: z.array(z.string().min(1).max(MAX_SEGMENT_LENGTH)).max(MAX_SEGMENTS).nullish(),
});

/** Which claim broke which limit, for the 401's message: an identity provider's misconfiguration is fixed from it. */
function claimsProblem(payload: unknown, issues: readonly z.core.$ZodIssue[]): string {
  const claims = payload as Record<string, unknown>;
  const kind = (value: unknown) => (Array.isArray(value) ? 'a list' : value === null ? 'null' : `a ${typeof value}`);
  if (issues.some((issue) => issue.path[0] === 'sub')) {
    const sub = claims.sub;
    const problem = typeof sub === 'string' ? userIdProblem(sub) : undefined;
    if (problem !== undefined) return `its \`sub\` ${problem}`;
    return `its \`sub\` must be a string of 1 to ${MAX_USER_ID_LENGTH} characters, but it ${typeof sub === 'string' ? `has ${sub.length}` : `is ${kind(sub)}`}`;
  }
  const segments = claims.segments;
  const limit = `its \`segments\` must be a list of at most ${MAX_SEGMENTS} names of 1 to ${MAX_SEGMENT_LENGTH} characters, but`;
  if (!Array.isArray(segments)) return `${limit} it is ${kind(segments)}`;
  if (segments.length > MAX_SEGMENTS) return `${limit} it has ${segments.length} names`;
  const index = segments.findIndex((s) => typeof s !== 'string' || s.length < 1 || s.length > MAX_SEGMENT_LENGTH);
  const bad = segments[index];
  return `${limit} segments[${index}] ${typeof bad !== 'string' ? `is ${kind(bad)}` : bad.length === 0 ? 'is empty' : `has ${bad.length} characters`}`;
}

/**
 * Why the server refuses a token carrying these claims (its `sub` and `segments`), or undefined
 * when it takes them. The one rule, shared with `npm run token`, which must not mint a token
 * every request would be refused with.
 */
export function claimsRefusal(claims: unknown): string | undefined {
  const result = claimsSchema.safeParse(claims);
  return result.success ? undefined : claimsProblem(claims, result.error.issues);
}

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
export function createTokenVerifier(config: AuthConfig, logger?: Logger): TokenVerifier {
  const verified = new LRUCache<string, { claims: VerifiedClaims; validUntilMs: number }>({ max: VERIFIED_TOKENS });
  const options = {
    issuer: config.issuer,
    audience: config.audience,
    clockTolerance: config.clockToleranceSeconds,
    requiredClaims: ['sub', 'exp'],
  };
  const remote = config.mode === 'hs256' ? undefined : remoteKeys(config.jwksUrl, config.jwksTimeoutMs, config.jwksMaxStaleSeconds * 1000, logger);
  const verify =
    remote === undefined
      ? (() => {
          const key = new TextEncoder().encode(config.hs256Secret);
          return (token: string) => jwtVerify(token, key, { ...options, algorithms: ['HS256'] });
        })()
      : (token: string) => jwtVerify(token, remote.getKey, { ...options, algorithms: ['RS256', 'ES256', 'PS256'] });

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
      throw new FloorplanError(ErrorCode.AUTH_INVALID_TOKEN, { reason: `the token was rejected: ${reason(error, token)}` }, { cause: error });
    }
    const claims = claimsSchema.safeParse(payload);
    if (!claims.success) {
      throw new FloorplanError(ErrorCode.AUTH_INVALID_TOKEN, { reason: `the token was rejected: ${claimsProblem(payload, claims.error.issues)}` });
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
  return remote === undefined ? verifier : Object.assign(verifier, { prefetchKeys: remote.prefetch });
}

/** After a failed fetch of the keys, the endpoint is not asked again for this long. */
const KEYS_RETRY_AFTER_FAILURE_MS = 1000;
/**
 * Requests that may wait at once for a fetch of the keys; the others that need it are answered
 * 503 at once. A waiting request holds an admission slot, and any token with a made-up kid
 * needs a fetch: without a bound, a flood of them fills admission and refuses every user.
 * A real key rotation makes the first few requests with the new kid wait and the rest, for the
 * fetch's few milliseconds, retry (Retry-After); once fetched, the new kid is known.
 */
const MAX_WAITING_FOR_KEYS = 2;
/**
 * After a fetch, a kid the keys lack is not fetched for again for this long (jose's
 * `cooldownDuration`, 30 s by default): a token carrying one meanwhile is answered 503 with
 * Retry-After 5 s, not 401, since a key published moments after the fetch cannot be told from a
 * forged kid until the keys are asked again. So it matches that Retry-After.
 */
const KEYS_COOLDOWN_MS = 5000;
/** While the held keys cannot be refreshed, the warning saying so is repeated at most this often. */
const STALE_WARNING_INTERVAL_MS = 60_000;

/** Thrown instead of fetching while the keys cannot be fetched; answered as the outage it is (503). */
class KeysUnreachableError extends Error {}

/**
 * The identity provider's keys, through jose's remote key set (which fetches, caches for ten
 * minutes, and shares one fetch among concurrent callers), bounded so that an identity provider
 * that hangs cannot hold requests: each fetch takes at most `timeoutMs`, a failed one is not
 * retried for {@link KEYS_RETRY_AFTER_FAILURE_MS}, and at most {@link MAX_WAITING_FOR_KEYS}
 * requests wait for a fetch. A token whose kid the held keys know never waits: past jose's ten
 * minutes they are refreshed in the background, and until a refresh succeeds — a slow one, or
 * none during an identity provider's outage — they go on verifying such tokens while they are
 * at most `maxStaleMs` old (the warning says so). Without that, every refresh answered 503 to
 * all but two of the requests whose tokens were not remembered as verified, and an outage of the
 * identity provider longer than ten minutes refused every user within five more.
 */
function remoteKeys(jwksUrl: string, timeoutMs: number, maxStaleMs: number, logger: Logger | undefined): { getKey: JWTVerifyGetKey; prefetch: () => Promise<void> } {
  // jose writes each key set it fetches here: the keys already held are tried without it.
  const fetched: Partial<ExportedJWKSCache> = {};
  const keySet = createRemoteJWKSet(new URL(jwksUrl), { timeoutDuration: timeoutMs, cooldownDuration: KEYS_COOLDOWN_MS, [jwksCache]: fetched as Record<string, never> });
  let held: { uat: number; keys: JWTVerifyGetKey } | undefined;
  let retryAtMs = 0;
  let waiting = 0;
  let refreshing = false;
  /** Since when refreshes have failed (undefined: the last one succeeded), and when that was last logged. */
  let failingSince: number | undefined;
  let warnedAtMs = 0;
  const where = withoutPasswords(jwksUrl);

  const heldKeys = (): JWTVerifyGetKey | undefined => {
    const { uat, jwks } = fetched;
    if (uat === undefined || jwks === undefined) return undefined;
    if (held?.uat !== uat) held = { uat, keys: createLocalJWKSet(jwks) };
    return held.keys;
  };
  /** The held keys while they may still be trusted: fresh, or stale by at most `maxStaleMs`. */
  const usableKeys = (): JWTVerifyGetKey | undefined => {
    const keys = heldKeys();
    if (keys === undefined) return undefined;
    return keySet.fresh || Date.now() - (fetched.uat as number) <= maxStaleMs ? keys : undefined;
  };
  const failed = (error: unknown) => {
    if (isTokenProblem(error)) return;
    const now = Date.now();
    retryAtMs = now + KEYS_RETRY_AFTER_FAILURE_MS;
    failingSince ??= now;
    if (logger !== undefined && fetched.uat !== undefined && now - warnedAtMs >= STALE_WARNING_INTERVAL_MS) {
      warnedAtMs = now;
      const keysAgeSeconds = Math.floor((now - fetched.uat) / 1000);
      logger.warn(
        { jwksUrl: where, keysAgeSeconds, maxStaleSeconds: maxStaleMs / 1000, error: error instanceof Error ? error.message : String(error) },
        'the signing keys could not be refreshed; verifying with the keys held',
      );
    }
  };
  const succeeded = () => {
    if (failingSince === undefined) return;
    logger?.info({ jwksUrl: where, failedForSeconds: Math.floor((Date.now() - failingSince) / 1000) }, 'the signing keys were refreshed again');
    failingSince = undefined;
    warnedAtMs = 0;
  };
  /** A refresh in the background, one at a time, not sooner than a failed one allows. */
  const refresh = () => {
    if (refreshing || Date.now() < retryAtMs) return;
    refreshing = true;
    keySet.reload().then(succeeded, failed).finally(() => (refreshing = false));
  };

  const getKey: JWTVerifyGetKey = async (header, token) => {
    const keys = usableKeys();
    if (keys !== undefined) {
      try {
        const key = await keys(header, token);
        if (!keySet.fresh) refresh();
        return key;
      } catch (error) {
        if (!(error instanceof joseErrors.JWKSNoMatchingKey)) throw error;
        // An unknown kid is worth a fetch (a rotation); the keys fetched moments ago may predate it.
        if (keySet.coolingDown) throw new KeysUnreachableError(`no key the identity provider served ${Math.round((Date.now() - (fetched.uat as number)) / 1000)} s ago has this kid; the keys are asked again ${KEYS_COOLDOWN_MS / 1000} s after a fetch`);
      }
    }
    const now = Date.now();
    if (now < retryAtMs) throw new KeysUnreachableError(`the signing keys could not be fetched; asked again in ${retryAtMs - now} ms`);
    if (waiting >= MAX_WAITING_FOR_KEYS) throw new KeysUnreachableError('the signing keys are being fetched for other requests');
    waiting++;
    try {
      const key = await keySet(header, token);
      succeeded();
      return key;
    } catch (error) {
      failed(error);
      throw error;
    } finally {
      waiting--;
    }
  };
  const prefetch = () =>
    keySet.reload().then(succeeded, (error: unknown) => {
      failed(error);
      throw error;
    });
  return { getKey, prefetch };
}

/** False when verification failed for a reason outside the token: the JWKS could not be fetched or read. */
function isTokenProblem(error: unknown): boolean {
  if (!(error instanceof joseErrors.JOSEError)) return false;
  if (error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JWKSInvalid || error instanceof joseErrors.JWKInvalid) return false;
  // jose raises its generic error only for a JWKS response that is not 200 or not JSON.
  return error.code !== joseErrors.JOSEError.code;
}

/** A short reason safe to show a client: what failed, never key material. */
function reason(error: unknown, token: string): string {
  if (error instanceof joseErrors.JWTExpired) return 'it has expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    return error.reason === 'missing' ? `it has no "${error.claim}" claim` : `claim "${error.claim}" is not acceptable`;
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'its signature does not verify';
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'its algorithm is not allowed';
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'no key matches its kid';
  if (error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JWTInvalid) return 'it is not a well-formed JWT';
  if (error instanceof joseErrors.JWKSMultipleMatchingKeys) return 'more than one key matches its kid';
  if (error instanceof joseErrors.JOSENotSupported) {
    // An unknown `crit` extension (RFC 7515, 4.1.11) is what a client can send; name it, not jose's code.
    const critical = criticalExtensions(token);
    return critical.length > 0
      ? `its header marks as critical an extension Floorplan does not support (${critical.map((name) => JSON.stringify(name)).join(', ')})`
      : 'it uses a JOSE feature Floorplan does not support';
  }
  return 'it could not be verified';
}

/** The names a token's protected header lists in `crit`, or none. */
function criticalExtensions(token: string): string[] {
  try {
    const crit = decodeProtectedHeader(token).crit;
    return Array.isArray(crit) ? crit.filter((name): name is string => typeof name === 'string').slice(0, 8) : [];
  } catch {
    return [];
  }
}
