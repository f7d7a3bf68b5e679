/**
 * The client's version, from `x-app-version`, read once at the edge into one canonical SemVer
 * 2.0 string that every later decision compares: the floors' `minAppVersion` gates (through
 * {@link clientVersionOf}) and Unleash's `SEMVER_EQ`/`SEMVER_GT`/`SEMVER_LT` constraints (the
 * Unleash context carries the canonical string). Both compare with node-semver, so they agree
 * on every version; `test/viewer/app-version-agreement.test.ts` holds them to a shared table
 * against unleash-client's own evaluation.
 *
 * Accepted formats (anything else is an unknown version, which meets no minimum and matches no
 * SEMVER constraint):
 * - SemVer 2.0: `12.3.4`, `12.3.4-beta.2` (a pre-release is lower than its release:
 *   12.3.4-beta < 12.3.4), `12.3.4+build.7` (build metadata never counts: equal to 12.3.4).
 * - Two parts, `12.3`, as apps that show a short version send it: 12.3.0.
 * - A version and its build number, `12.3.4 (5678)` or `12.3 (5678)`, as iOS and Android apps
 *   display them: the build becomes build metadata, 12.3.4+5678 (equal to 12.3.4).
 */
import { LRUCache } from 'lru-cache';
import { SemVer, valid } from 'semver';

/** Longer headers are not versions; node-semver refuses beyond 256 characters anyway. */
export const MAX_APP_VERSION_LENGTH = 128;

// The SemVer 2.0 grammar (semver.org), without a leading "v": Unleash refuses those.
const NUMBER = '(?:0|[1-9]\\d*)';
const PRE_RELEASE_ID = '(?:0|[1-9]\\d*|\\d*[A-Za-z-][0-9A-Za-z-]*)';
const BUILD_IDS = '[0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*';
const PRE_RELEASE = `-${PRE_RELEASE_ID}(?:\\.${PRE_RELEASE_ID})*`;
/** `12.3.4-beta.1+7`, or `12.3`; groups: major.minor, .patch, -pre-release, +build. */
const VERSION = new RegExp(`^(${NUMBER}\\.${NUMBER})(\\.${NUMBER})?(${PRE_RELEASE})?(\\+${BUILD_IDS})?$`);
/** `<version> (<build>)`; groups: version, build. */
const WITH_BUILD_NUMBER = new RegExp(`^(\\S+) \\((${BUILD_IDS})\\)$`);

/** Distinct header values remembered; apps in the field send a few hundred. */
const PARSED_VERSIONS = 1000;

/**
 * The canonical SemVer string for an `x-app-version` header, or null when it is absent or in no
 * accepted format. Surrounding whitespace is ignored.
 */
export function parseAppVersion(header: string | undefined | null): string | null {
  if (header === undefined || header === null) return null;
  const trimmed = header.trim();
  if (trimmed === '' || trimmed.length > MAX_APP_VERSION_LENGTH) return null;
  return canonical.memo(trimmed) || null;
}

const canonical = new LRUCache<string, string | false>({ max: PARSED_VERSIONS, memoMethod: (header) => canonicalize(header) ?? false });

function canonicalize(header: string): string | undefined {
  const withBuild = WITH_BUILD_NUMBER.exec(header);
  const version = VERSION.exec(withBuild === null ? header : (withBuild[1] as string));
  if (version === null) return undefined;
  const [, majorMinor, patch = '.0', preRelease = '', build = ''] = version;
  // "12.3.4+7 (5678)" has two builds: not a format any app sends.
  if (withBuild !== null && build !== '') return undefined;
  const text = `${majorMinor}${patch}${preRelease}${withBuild === null ? build : `+${withBuild[2]}`}`;
  // node-semver also refuses numbers beyond 2^53 − 1; what it refuses, Unleash refuses too.
  return valid(text) === null ? undefined : text;
}

/** Parsed canonical versions, shared by every request. */
const parsed = new LRUCache<string, SemVer | false>({
  max: PARSED_VERSIONS,
  memoMethod: (appVersion) => {
    const text = parseAppVersion(appVersion);
    return text === null ? false : new SemVer(text);
  },
});

/**
 * The viewer's version for comparisons with `minAppVersion`, or null when it is unknown (no
 * header, or one in no accepted format): an unknown version is older than any minimum.
 */
export function clientVersionOf(appVersion: string | null): SemVer | null {
  if (appVersion === null) return null;
  return parsed.memo(appVersion) || null;
}
