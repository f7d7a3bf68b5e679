/** Signs HS256 tokens with the configured demo secret: for `npm run token`, tests and benchmarks. */
import { SignJWT } from 'jose';
import type { AuthConfig } from '../config/service-config.ts';

export interface DemoTokenOptions {
  readonly userId: string;
  readonly segments?: readonly string[];
  /** Lifetime; default one day. Negative makes an already-expired token (for tests). */
  readonly ttlSeconds?: number;
  /** Overrides the configured audience (for tests of a wrong audience). */
  readonly audience?: string;
  /** Overrides the configured secret (for tests of a forged token). */
  readonly secret?: string;
}

export async function signDemoToken(auth: AuthConfig, options: DemoTokenOptions): Promise<string> {
  const secret = options.secret ?? auth.hs256Secret;
  if (secret === undefined) throw new Error('demo tokens need auth.hs256Secret (JWT_SECRET); this config uses JWKS');
  const now = Math.floor(Date.now() / 1000);
  const claims = options.segments !== undefined && options.segments.length > 0 ? { segments: [...options.segments] } : {};
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(options.userId)
    .setIssuer(auth.issuer)
    .setAudience(options.audience ?? auth.audience)
    .setIssuedAt(now)
    .setExpirationTime(now + (options.ttlSeconds ?? 86_400))
    .sign(new TextEncoder().encode(secret));
}
