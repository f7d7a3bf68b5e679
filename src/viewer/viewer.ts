/** The Viewer: who is asking and from what client, built from verified claims and headers. */
import { LRUCache } from 'lru-cache';
import { parseAppVersion } from './app-version.ts';
import type { VerifiedClaims } from './authenticate.ts';

export interface Viewer {
  /** From the token's `sub`; the only user whose data a request can read. */
  readonly userId: string;
  readonly segments: readonly string[];
  /** `x-app-platform`, lower-cased (ios, android, web…); "unknown" when absent. */
  readonly platform: string;
  /**
   * `x-app-version` as canonical SemVer (`12.3.4`, `12.3.4-beta.2`; `12.3.4 (5678)` is sent on as
   * `12.3.4+5678`, see ./app-version.ts); null when absent or in no accepted format.
   */
  readonly appVersion: string | null;
  /** One of the configured locales, negotiated from `accept-language`. */
  readonly locale: string;
  /** `x-session-id` when the client sends one (any printable token up to 128 characters); null otherwise. */
  readonly sessionId: string | null;
}

type HeaderGetter = (name: string) => string | undefined;

const PLATFORM = /^[A-Za-z0-9._-]{1,64}$/;
/** Printable ASCII without spaces: base64 (`+/=`), colons, UUIDs and opaque ids all fit. */
const SESSION_ID = /^[\x21-\x7e]{1,128}$/;

/**
 * The Viewer for a request with `claims` and these headers. A header value in no accepted format
 * counts as absent: the request is served, as to a client that did not say.
 */
export function buildViewer(claims: VerifiedClaims, header: HeaderGetter, locales: readonly string[]): Viewer {
  return {
    userId: claims.userId,
    segments: claims.segments,
    platform: parsePlatform(header('x-app-platform')) ?? 'unknown',
    appVersion: parseAppVersion(header('x-app-version')),
    locale: localeFor(header('accept-language'), locales),
    sessionId: parseSessionId(header('x-session-id')),
  };
}

/** `x-app-platform`, trimmed and lower-cased (ios, android, web…); null when absent or not a short token. */
export function parsePlatform(header: string | undefined | null): string | null {
  const platform = header?.trim().toLowerCase();
  return platform !== undefined && PLATFORM.test(platform) ? platform : null;
}

/** `x-session-id`, trimmed; null when absent, longer than 128 characters, or not printable ASCII without spaces. */
export function parseSessionId(header: string | undefined | null): string | null {
  const sessionId = header?.trim();
  return sessionId !== undefined && SESSION_ID.test(sessionId) ? sessionId : null;
}

/** Distinct Accept-Language values whose negotiated locale is kept: clients send a few hundred at most. */
const NEGOTIATED_LOCALES = 1000;
const negotiated = new WeakMap<readonly string[], LRUCache<string, string>>();

/** {@link negotiateLocale}, once per distinct header value and set of locales. */
function localeFor(acceptLanguage: string | undefined, locales: readonly string[]): string {
  if (acceptLanguage === undefined || acceptLanguage === '') return negotiateLocale(acceptLanguage, locales);
  let known = negotiated.get(locales);
  if (known === undefined) {
    known = new LRUCache({ max: NEGOTIATED_LOCALES, memoMethod: (header) => negotiateLocale(header, locales) });
    negotiated.set(locales, known);
  }
  return known.memo(acceptLanguage);
}

/**
 * Picks the configured locale that best fits `accept-language`: by q-value, an exact tag
 * first, then the same language (en-GB → en, zh-TW → zh-CN); otherwise the first configured.
 * An underscore reads as a hyphen (en_US, as Java writes a locale).
 */
export function negotiateLocale(acceptLanguage: string | undefined, locales: readonly string[]): string {
  const fallback = locales[0] as string;
  if (acceptLanguage === undefined || acceptLanguage === '') return fallback;
  const wanted = acceptLanguage
    .split(',')
    .map((part, index) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      // Android apps often send Java's Locale.toString() (en_US) where BCP 47 has a hyphen.
      return { tag: tag.trim().toLowerCase().replaceAll('_', '-'), q: q === undefined ? 1 : Number(q.slice(2)) || 0, index };
    })
    .filter((w) => w.tag !== '' && w.tag !== '*' && w.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index);
  for (const { tag } of wanted) {
    const exact = locales.find((l) => l.toLowerCase() === tag);
    if (exact !== undefined) return exact;
    const language = tag.split('-')[0];
    const sameLanguage = locales.find((l) => l.toLowerCase().split('-')[0] === language);
    if (sameLanguage !== undefined) return sameLanguage;
  }
  return fallback;
}
