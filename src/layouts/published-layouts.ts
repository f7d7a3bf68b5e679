/**
 * The wire contract between `npm run floors:publish` and every running instance: the Redis key and
 * channel names, and the JSON stored under the key — parsed with a zod schema like every other
 * input, so a hand-edited or truncated key is rejected with what is wrong, the same way a bad
 * floors file is.
 */
import { z } from 'zod';
import { describeIssues, describeValue, formatPath } from '../config/validate-yaml.ts';
import { describeThrown } from '../errors.ts';

/** Key and channel names under a prefix. */
export interface LayoutRedisKeys {
  /** String key holding the published set as JSON ({@link PublishedLayouts}). */
  readonly layouts: string;
  /** Counter the next revision is taken from. */
  readonly revision: string;
  /** Pub/sub channel; each message is the revision just published. */
  readonly channel: string;
}

/**
 * The publish script uses the layouts key and the revision counter together, so on a Redis
 * Cluster they must hash to one slot: the counter carries the layouts key as its `{hash tag}`
 * (Redis hashes only what is inside the first braces). The layouts key keeps its name, so a
 * set published before this still serves; a counter under its older name is not needed, the
 * script never goes below the stored revision.
 */
export function layoutRedisKeys(keyPrefix: string): LayoutRedisKeys {
  const layouts = `${keyPrefix}layouts`;
  return { layouts, revision: `${hashTagged(layouts)}:revision`, channel: `${keyPrefix}layouts:changed` };
}

/**
 * `key` written so that it and any `<result>:<suffix>` share `key`'s slot: `{key}`, or `key`
 * itself when it already holds a hash tag (a prefix such as "{floorplan}:").
 */
export function hashTagged(key: string): string {
  const open = key.indexOf('{');
  const hasTag = open !== -1 && key.indexOf('}', open + 1) > open + 1;
  return hasTag ? key : `{${key}}`;
}

const publishedLayoutsSchema = z.object({
  revision: z.int({ error: 'must be a positive integer' }).min(1, { error: 'must be a positive integer' }),
  publishedAt: z.string({ error: 'must be an ISO 8601 time' }),
  files: z
    .record(
      z.string().regex(/^[^/\\]+\.ya?ml$/, { error: 'must be named <scene>.yaml' }),
      z.string({ error: "must be the file's YAML text" }),
      { error: 'must map file names (<scene>.yaml) to their YAML text' },
    )
    .refine((files) => Object.keys(files).length > 0, { error: 'must hold at least one <scene>.yaml' }),
});

/** The JSON stored under {@link LayoutRedisKeys.layouts}. */
export interface PublishedLayouts {
  /** Increases with every publish. */
  readonly revision: number;
  /** ISO 8601 time of the publish. */
  readonly publishedAt: string;
  /** File name ("cart-bottom-sheet.yaml") to its full YAML source. */
  readonly files: Readonly<Record<string, string>>;
}

/**
 * Parses the value of the key; problems are returned as messages naming the key, the field, the
 * contract and what was found: "Redis key floorplan:layouts: `revision` must be a positive integer, but got: 0".
 */
export function parsePublishedLayouts(raw: string, key: string): { ok: true; value: PublishedLayouts } | { ok: false; problems: readonly string[] } {
  let input: unknown;
  try {
    input = JSON.parse(raw);
  } catch (error) {
    return { ok: false, problems: [`Redis key ${key} must hold JSON (${describeThrown(error)}), but got: ${describeValue(raw)}`] };
  }
  const result = publishedLayoutsSchema.safeParse(input);
  if (result.success) return { ok: true, value: result.data };
  const problems = result.error.issues.flatMap((issue) => {
    // A bad file name: the name is what was received, not the YAML under it.
    if (issue.code === 'invalid_key') {
      return [`Redis key ${key}: \`${formatPath(issue.path.slice(0, -1))}\` must name each file <scene>.yaml, but got: ${describeValue(issue.path.at(-1))}`];
    }
    return describeIssues([issue], publishedLayoutsSchema, input).map((d) => {
      const subject = d.path.length === 0 ? 'the value' : `\`${formatPath(d.path)}\``;
      const contract = d.path.length === 0 && d.contract === 'must be a mapping' ? 'must be a JSON object {revision, publishedAt, files}' : d.contract;
      return `Redis key ${key}: ${subject} ${contract}${'received' in d ? `, but got: ${describeValue(d.received)}` : ''}`;
    });
  });
  return { ok: false, problems };
}
