/**
 * Publishes the floors folder to Redis, for every running instance to swap in (see LayoutStore).
 * Validates first: one problem anywhere and nothing is published. {@link publishLayouts} is the
 * Redis-only publish (no revision store: `layouts.store.kind: none`); with a store, a revision is
 * recorded first (./revisions/releases.ts) and {@link pushPublishedLayouts} announces it.
 */
import type { RedisClient } from '../redis/client.ts';
import type { AppsConfig } from '../config/service-config.ts';
import type { BuilderRegistry } from '../floors/registry.ts';
import { compileFloorsSources, differsFromLive, layoutInvalid, readFloorsDir } from './compile.ts';
import { layoutRedisKeys, parsePublishedLayouts, type PublishedLayouts } from './published-layouts.ts';
import { versionsKept, type VersionKept } from './revisions/diff.ts';

export interface PublishLayoutsOptions {
  /** The floors folder to publish (absolute, or relative to the working directory). */
  readonly dir: string;
  readonly registry: BuilderRegistry;
  readonly locales: readonly string[];
  /** The apps style tokens are checked against (config `apps`); undefined: not checked (tests of other rules). */
  readonly apps?: AppsConfig;
  /** An open connection; the caller opens and closes it. */
  readonly redis: RedisClient;
  /** Prefix of the key and channel names (config `redis.keyPrefix`), e.g. "floorplan:". */
  readonly keyPrefix: string;
  /** Clock for `publishedAt`; default the system clock. */
  readonly now?: () => Date;
}

export interface PublishLayoutsResult {
  /** The revision now stored; every instance reports it through LayoutStore.revision(). */
  readonly revision: number;
  /** The key written, e.g. "floorplan:layouts". */
  readonly key: string;
  /** Each scene published, with the version `layoutVersion` will report. */
  readonly scenes: ReadonlyArray<{ readonly scene: string; readonly version: string }>;
  /** Scenes (and variants) whose floors changed from the set the key held under the same version: a warning (releases.ts PublishResult). */
  readonly versionKept: readonly VersionKept[];
}

/**
 * One script, so a publish is atomic against a concurrent one: take the next revision (never
 * below the stored one, should the counter have been lost), store the set, announce it.
 * The JSON is assembled by concatenation so the YAML sources are stored byte for byte.
 * KEYS: layouts, revision counter. ARGV: files as JSON, publishedAt as a JSON string, channel.
 */
const PUBLISH_SCRIPT = `
local revision = redis.call('INCR', KEYS[2])
local current = redis.call('GET', KEYS[1])
if current then
  local ok, doc = pcall(cjson.decode, current)
  if ok and type(doc) == 'table' and type(doc.revision) == 'number' and doc.revision >= revision then
    revision = math.floor(doc.revision) + 1
    redis.call('SET', KEYS[2], revision)
  end
end
redis.call('SET', KEYS[1], '{"revision":' .. revision .. ',"publishedAt":' .. ARGV[2] .. ',"files":' .. ARGV[1] .. '}')
redis.call('PUBLISH', ARGV[3], tostring(revision))
return revision
`;

/**
 * Validates every floors file in `dir` and publishes them together under a new revision.
 * Throws FLOORPLAN_ERR_LAYOUT_INVALID with every problem (publishing nothing) when a file is
 * invalid; a Redis failure rejects with ioredis' error. The set the key holds is live here (there
 * is no revision store): only the files that differ from it follow the rules for new text, as a
 * publish through a store judges them; with none held (or one replicas cannot load either), every file does.
 */
export async function publishLayouts(options: PublishLayoutsOptions): Promise<PublishLayoutsResult> {
  const sources = readFloorsDir(options.dir);
  const keys = layoutRedisKeys(options.keyPrefix);
  const held = await options.redis.get(keys.layouts);
  const parsed = held === null ? undefined : parsePublishedLayouts(held, keys.layouts);
  const live = parsed?.ok === true ? parsed.value.files : {};
  const compiled = compileFloorsSources(sources, options.registry, options.locales, options.apps, { submitted: differsFromLive(live) });
  if (compiled.layouts === undefined) throw layoutInvalid(compiled.problems);

  const files = Object.fromEntries(sources.map((s) => [s.name, s.source]));
  const publishedAt = (options.now?.() ?? new Date()).toISOString();
  const revision = await options.redis.eval(PUBLISH_SCRIPT, 2, keys.layouts, keys.revision, JSON.stringify(files), JSON.stringify(publishedAt), keys.channel);
  return {
    revision: Number(revision),
    key: keys.layouts,
    scenes: [...compiled.layouts.values()].map((l) => ({ scene: l.scene, version: l.version })),
    versionKept: versionsKept(live, files),
  };
}

/**
 * Sets the key to a revision recorded in the revision store and announces it — unless the key
 * already holds that revision or a later one: two publishers racing, or a replica re-seeding
 * Redis from the store, can never move replicas back to an older revision.
 * KEYS: layouts, revision counter. ARGV: the document as JSON, its revision, channel, and the
 * revision it replaces ('' for none): given, the key is set only while it still holds exactly
 * that one (a revision store restored behind Redis, {@link pushPublishedLayouts}).
 * Returns {1, revision} when set, {2, revision} when the key already held this revision with the
 * same files (a push retried after a failover, or a replica's poll pushed it first: nothing to
 * do), {0, the revision held} when refused. publishedAt is not compared: the same revision
 * pushed by two processes is the same set.
 */
const PUSH_SCRIPT = `
local function sameFiles(a, b)
  if type(a) ~= 'table' or type(b) ~= 'table' then return false end
  for name, source in pairs(a) do
    if b[name] ~= source then return false end
  end
  for name in pairs(b) do
    if a[name] == nil then return false end
  end
  return true
end
local current = redis.call('GET', KEYS[1])
local revision = tonumber(ARGV[2])
if current then
  local ok, doc = pcall(cjson.decode, current)
  if ok and type(doc) == 'table' and type(doc.revision) == 'number' then
    if doc.revision == revision and sameFiles(doc.files, cjson.decode(ARGV[1]).files) then return {2, revision} end
    if ARGV[4] ~= '' then
      if doc.revision ~= tonumber(ARGV[4]) then return {0, doc.revision} end
    elseif doc.revision >= revision then
      return {0, doc.revision}
    end
  end
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[2])
return {1, revision}
`;

/**
 * What a push of a stored revision did. `pushed`: the key now holds it. `held`: the key already
 * held this revision with the same files (a push retried after a failover, or a replica's poll
 * pushed it first) — as good as pushed. `refused`: the key holds `holds` instead, which the push
 * must not replace (see {@link pushRefusal}).
 */
export type PushOutcome = { readonly result: 'pushed' } | { readonly result: 'held' } | { readonly result: 'refused'; readonly holds: number };

/**
 * Pushes a stored revision to every replica through Redis; a Redis failure rejects.
 * `replacing`: the newer revision the key holds that a restored revision store no longer has —
 * the key is set back to `published` only while it still holds exactly that one, so a publish
 * racing the replacement wins.
 */
export async function pushPublishedLayouts(redis: RedisClient, keyPrefix: string, published: PublishedLayouts, replacing?: number): Promise<PushOutcome> {
  const keys = layoutRedisKeys(keyPrefix);
  const doc = JSON.stringify({ revision: published.revision, publishedAt: published.publishedAt, files: published.files });
  const [code, holds] = (await redis.eval(PUSH_SCRIPT, 2, keys.layouts, keys.revision, doc, String(published.revision), keys.channel, replacing === undefined ? '' : String(replacing))) as [number, number];
  if (Number(code) === 1) return { result: 'pushed' };
  if (Number(code) === 2) return { result: 'held' };
  return { result: 'refused', holds: Number(holds) };
}

/**
 * Why a push of `revision` did not reach the replicas, for a publisher to report
 * (`pushProblem`); undefined when it did (pushed, or already held).
 */
export function pushRefusal(outcome: PushOutcome, revision: number): string | undefined {
  if (outcome.result !== 'refused') return undefined;
  if (outcome.holds > revision) return `Redis holds a newer revision than ${revision}: ${outcome.holds} (another publish, or this revision store restored or recreated behind it)`;
  if (outcome.holds === revision) return `Redis holds another set under revision ${revision} (this revision store restored or recreated behind it, and published again)`;
  return `Redis holds revision ${outcome.holds}, not the one this push was to replace`;
}
