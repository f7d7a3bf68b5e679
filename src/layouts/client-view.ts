/**
 * What one app — a platform and a version — gets from a compiled layout: whether a floor's
 * `minAppVersion` lets it through, and which style token it is sent for each token a floor
 * names (the layout's `styles:` fallbacks, followed as far as they go).
 *
 * One implementation, read by the renderer on every request (src/panels/renderer.ts), by the
 * floors loader's style check (compile.ts) and by the release-time compatibility matrix
 * (compatibility.ts), so what the tools promise is what a phone is served.
 */
import { LRUCache } from 'lru-cache';
import { SemVer } from 'semver';

/**
 * A minimum client version: one for every platform (`"12.3.0"`), or per platform
 * (`{ios: "12.3.0", android: "12.4.0", default: "12.0.0"}`; a platform not listed and no
 * `default` means no minimum for it).
 */
export type MinAppVersion = string | Readonly<Record<string, string>>;

/** A style token only newer clients know, and what older ones get instead (null: nothing). */
export interface StyleToken {
  readonly minAppVersion: MinAppVersion;
  readonly fallback: string | null;
}

/** Fallback hops followed before giving up and sending what is reached (a cycle is refused at load anyway). */
export const MAX_STYLE_HOPS = 8;

/** Distinct required minimums kept parsed: layouts name a handful. */
const PARSED_REQUIREMENTS = 500;

/** Layouts' minimum versions (validated when the layout loaded), parsed once. */
const requirements = new LRUCache<string, SemVer>({ max: PARSED_REQUIREMENTS, memoMethod: (required) => new SemVer(required) });

/** A layout's minimum for a platform: its own entry, else `default`; undefined means none. */
export function minimumFor(min: MinAppVersion | undefined, platform: string): string | undefined {
  if (min === undefined || typeof min === 'string') return min;
  // Own entries only: the platform is the app's header, and "constructor" is not a platform the layout lists.
  return (Object.hasOwn(min, platform) ? min[platform] : undefined) ?? min.default;
}

/** Whether `client` is at least `required`; an unknown client version (null) meets no minimum. */
export function meetsMinimum(client: SemVer | null, required: string): boolean {
  return client !== null && client.compare(requirements.memo(required)) >= 0;
}

/** The minimum `floor` needs on `platform` that `client` does not meet, or undefined when the floor reaches it. */
export function floorTooNewFor(floor: { readonly minAppVersion: MinAppVersion | undefined }, client: SemVer | null, platform: string): string | undefined {
  const required = minimumFor(floor.minAppVersion, platform);
  return required !== undefined && !meetsMinimum(client, required) ? required : undefined;
}

/** The token `client` is sent for `token`: itself, or the end of its fallback chain (null: nothing). */
export function resolveStyle(token: string, styles: Readonly<Record<string, StyleToken>>, client: SemVer | null, platform: string): string | null {
  let current: string | null = token;
  for (let hops = 0; current !== null && hops < MAX_STYLE_HOPS; hops++) {
    const rule: StyleToken | undefined = styles[current];
    const required = rule === undefined ? undefined : minimumFor(rule.minAppVersion, platform);
    if (required === undefined || meetsMinimum(client, required)) break;
    current = (rule as StyleToken).fallback;
  }
  return current;
}

/** A floor's style tokens as `client` is sent them: each resolved, nulls dropped, duplicates once. */
export function styleFor(tokens: readonly string[], styles: Readonly<Record<string, StyleToken>>, client: SemVer | null, platform: string): readonly string[] {
  // The common case on the request path: no rules, nothing to map, no copy.
  if (tokens.length === 0 || hasNoKeys(styles)) return tokens;
  const out: string[] = [];
  for (const token of tokens) {
    const sent = resolveStyle(token, styles, client, platform);
    if (sent !== null && !out.includes(sent)) out.push(sent);
  }
  return out;
}

/** Whether `record` has no keys, without the array Object.keys would make (this runs for every floor served). */
function hasNoKeys(record: object): boolean {
  for (const _ in record) return false;
  return true;
}
