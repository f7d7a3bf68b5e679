/**
 * config/clients.yaml — the app versions in the field and what each understands — read and
 * validated in one place, then frozen. The release-time compatibility check
 * (src/layouts/compatibility.ts) reads the result; nothing else parses the file.
 *
 * A bad file is refused with every problem as the floors files' are:
 * "`platforms.ios.live[1]` must be a semantic version such as "12.3.0", but got: "12.x" (config/clients.yaml:9)".
 * A missing file is not an error: the check is skipped, and says so.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, relative } from 'node:path';
import { compare, valid } from 'semver';
import { z } from 'zod';
import { describeThrown, ErrorCode, FloorplanError } from '../errors.ts';
import { FLOOR_KINDS, type FloorKind } from '../floors/builder.ts';
import { deepFreeze, type AppsConfig } from './service-config.ts';
import { LocatedYaml } from './validate-yaml.ts';

/**
 * The Floor fields a floor's config decides whether it sends, which an app must know how to
 * show: `subName` (a second line, from `subName` or `subNameFallback`) and `zeroText` (a text
 * such as 免运费 in `priceText` where an amount would be). Every other field is sent by every
 * floor; `style` is judged token by token, `kind` value by value.
 */
export const CLIENT_FIELDS = ['subName', 'zeroText'] as const;
export type ClientField = (typeof CLIENT_FIELDS)[number];

/** When a capability arrived: one version on every platform, or per platform (a platform left out has not got it yet). */
export type SinceVersion = string | Readonly<Record<string, string>>;

/** One platform's apps in the field. */
export interface PlatformClients {
  /** Older versions may be in the field (and are shown), but are not checked: nothing is promised to them. */
  readonly oldestSupported: string;
  /** The versions in the field, oldest first; each is checked (unless below `oldestSupported`) and gets a row of the matrix. */
  readonly live: readonly string[];
}

/** config/clients.yaml, validated and frozen. */
export interface ClientsConfig {
  /** How messages name the file, e.g. `config/clients.yaml`. */
  readonly file: string;
  /** By `x-app-platform` value (lower-case), in file order. */
  readonly platforms: Readonly<Record<string, PlatformClients>>;
  /** What apps understand, each with the version that brought it; anything not listed is understood by no app. */
  readonly understands: {
    readonly styles: Readonly<Record<string, SinceVersion>>;
    readonly fields: Readonly<Partial<Record<ClientField, SinceVersion>>>;
    readonly kinds: Readonly<Partial<Record<FloorKind, SinceVersion>>>;
  };
}

/** Where the file is looked for by default, relative to the project root (config `floors.clientsFile`). */
export const DEFAULT_CLIENTS_FILE = 'config/clients.yaml';

const PLATFORM = /^[a-z0-9._-]+$/;
const semver = z.string().refine((v) => valid(v) === v, 'must be a semantic version such as "12.3.0"');
const since = z.union([semver, z.record(z.string().regex(PLATFORM, 'must be a platform such as "ios"'), semver)], {
  error: 'must be a semantic version such as "12.0.0", or one per platform: {ios: "12.0.0", android: "12.1.0"}',
});

const clientsSchema = z
  .strictObject({
    platforms: z
      .record(
        z.string().regex(PLATFORM, 'must be a lower-case platform as apps send it in x-app-platform, such as "ios"'),
        z.strictObject({ oldestSupported: semver, live: z.array(semver).min(1, 'must list at least one version in the field') }),
      )
      .refine((platforms) => Object.keys(platforms).length > 0, 'must declare at least one platform'),
    understands: z.strictObject({
      styles: z.record(z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be a lower-case style token such as "bold"'), since).default({}),
      // Objects rather than records of an enum: a typo is then named with the keys allowed there.
      fields: z.strictObject(Object.fromEntries(CLIENT_FIELDS.map((f) => [f, since.optional()])) as Record<ClientField, z.ZodOptional<typeof since>>).default({}),
      kinds: z.strictObject(Object.fromEntries(FLOOR_KINDS.map((k) => [k, since.optional()])) as Record<FloorKind, z.ZodOptional<typeof since>>).default({}),
    }),
  })
  .superRefine((config, ctx) => {
    const declared = Object.keys(config.platforms);
    for (const [platform, { live }] of Object.entries(config.platforms)) {
      live.forEach((version, i) => {
        if (live.indexOf(version) !== i) ctx.addIssue({ code: 'custom', path: ['platforms', platform, 'live', i], message: 'must not repeat a version', input: version });
        else if (i > 0 && compare(live[i - 1] as string, version) > 0) ctx.addIssue({ code: 'custom', path: ['platforms', platform, 'live', i], message: `must be listed oldest first (after ${live[i - 1] as string})`, input: version });
      });
    }
    // A per-platform version for a platform not declared is a typo ("iOS") that would silently mean "not yet".
    for (const group of ['styles', 'fields', 'kinds'] as const) {
      for (const [name, versions] of Object.entries(config.understands[group] as Record<string, SinceVersion>)) {
        if (typeof versions === 'string') continue;
        for (const platform of Object.keys(versions)) {
          if (!declared.includes(platform)) {
            ctx.addIssue({ code: 'custom', path: ['understands', group, name, platform], message: `must be a platform declared under \`platforms\` (${declared.join(', ')})`, input: platform });
          }
        }
      }
    }
  });

/** Validates the text of a clients file; throws FLOORPLAN_ERR_CLIENTS_INVALID with every problem and its line. */
export function parseClientsConfig(file: string, source: string): ClientsConfig {
  const result = new LocatedYaml(file, source).validate(clientsSchema);
  if (!result.ok) throw new FloorplanError(ErrorCode.CLIENTS_INVALID, { problems: result.problems.map((p) => p.message).join('\n- ') });
  const { platforms, understands } = result.value;
  return deepFreeze({ file, platforms, understands: understands as ClientsConfig['understands'] });
}

/**
 * Reads and validates the clients file at `path`; undefined when there is none (the check is
 * then skipped). Throws FLOORPLAN_ERR_CLIENTS_INVALID when it is there but invalid or unreadable.
 */
export function loadClientsConfig(path: string, apps?: AppsConfig): ClientsConfig | undefined {
  const rel = relative(process.cwd(), path);
  const file = rel === '' || rel.startsWith('..') || isAbsolute(rel) ? path : rel;
  let source: string;
  try {
    source = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new FloorplanError(ErrorCode.CLIENTS_INVALID, { problems: `${file} cannot be read: ${describeThrown(error)}` });
  }
  const clients = parseClientsConfig(file, source);
  const disagreements = apps === undefined ? [] : appsDisagreements(clients, apps);
  if (disagreements.length > 0) throw new FloorplanError(ErrorCode.CLIENTS_INVALID, { problems: disagreements.join('\n- ') });
  return clients;
}

/**
 * Where the clients file and config `apps` (what every floors file's style tokens are checked
 * against at load, also for apps that send no version) disagree: the oldest supported version
 * of a platform the file declares, or the version that brought a style token to it. Two lists
 * of one fact would otherwise let a token pass one check and fail the other.
 */
export function appsDisagreements(clients: ClientsConfig, apps: AppsConfig): string[] {
  const problems: string[] = [];
  const onPlatform = (versions: string | Readonly<Record<string, string>> | undefined, platform: string) =>
    versions === undefined || typeof versions === 'string' ? versions : (versions[platform] ?? versions.default);
  const tokens = [...new Set([...apps.baseStyles, ...Object.keys(apps.newerStyles), ...Object.keys(clients.understands.styles)])];
  for (const [platform, { oldestSupported }] of Object.entries(clients.platforms)) {
    const appsOldest = onPlatform(apps.oldestSupported, platform);
    if (appsOldest !== oldestSupported) {
      problems.push(`${clients.file}: \`platforms.${platform}.oldestSupported\` must be config apps.oldestSupported for ${platform} (${appsOldest ?? 'none'}), but got: ${oldestSupported}`);
    }
    for (const token of tokens) {
      const since = sinceOn(clients.understands.styles[token], platform);
      if (apps.baseStyles.includes(token)) {
        if (since === undefined || compare(since, oldestSupported) > 0) {
          problems.push(
            `${clients.file}: \`understands.styles.${token}\` must be understood by every supported ${platform} app (config apps.baseStyles lists it), but got: ${since === undefined ? `not on ${platform}` : since}`,
          );
        }
        continue;
      }
      const appsSince = onPlatform(apps.newerStyles[token], platform);
      if (appsSince !== since) {
        problems.push(
          `${clients.file}: \`understands.styles.${token}\` on ${platform} must be what config apps.newerStyles says (${appsSince ?? 'not listed: known to no app'}), but got: ${since ?? 'not listed'}`,
        );
      }
    }
  }
  return problems;
}

/** The version that brought a capability to `platform`, or undefined when no version there has it. */
export function sinceOn(versions: SinceVersion | undefined, platform: string): string | undefined {
  return versions === undefined || typeof versions === 'string' ? versions : versions[platform];
}
