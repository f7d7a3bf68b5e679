/**
 * Layout candidates: a revision served to some users of one scene before it goes live — the
 * seeds' 灰度 (gray release): an allow-list of user ids first, then a percentage by user id,
 * optionally only for some segments, platforms or app versions.
 *
 * The rollout is stored with the candidate in the revision store (PostgreSQL or PGlite), so
 * `candidate`, `rollout`, `promote` and `abort` are one audited transaction each, and replicas
 * get it the way they get the live revision: through Redis (the key `<prefix>layouts:candidates`,
 * announced on `<prefix>layouts:changed`) and from the store's poll. Which users it selects is
 * decided by the flag `layout.candidate.<scene>` that src/flags/candidate-rollout.ts derives from
 * the rollout and evaluates with unleash-client's own strategies (userWithId, flexibleRollout
 * with userId stickiness): the same hashing as an Unleash rollout. The rollout is not read from
 * Unleash or the flags file: the store is its one source.
 *
 * This file is the data and wire contract: the rollout's schema, the Redis document and its push.
 */
import { compare } from 'semver';
import { z } from 'zod';
import { MAX_USER_ID_LENGTH } from '../../viewer/user-id.ts';
import type { RedisClient } from '../../redis/client.ts';
import { hashTagged } from '../published-layouts.ts';
import { describeThrown } from '../../errors.ts';
import type { PushOutcome } from '../publish.ts';

/** Who gets a scene's candidate instead of its live layout. */
export interface CandidateRollout {
  /** These user ids always get the candidate (constraints do not apply to them). */
  readonly allowList: readonly string[];
  /** Of everyone else who meets the constraints: this share, 0 to 100, by a stable hash of the user id. 0: the allow-list only. */
  readonly percentage: number;
  /** Only viewers with one of these among their segments count towards the percentage; empty: any segment. */
  readonly segments: readonly string[];
  /** Only these platforms (ios, android, web…); empty: any platform. */
  readonly platforms: readonly string[];
  /** Only clients at this app version or newer (semver); null: any version, unknown included. */
  readonly minAppVersion: string | null;
}

export const DEFAULT_ROLLOUT: CandidateRollout = Object.freeze({ allowList: [], percentage: 0, segments: [], platforms: [], minAppVersion: null });

const SEMVER = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/;

/** A rollout's percentage as the store keeps it. */
const storedPercentage = z.number().min(0).max(100);

/**
 * A percentage an operator may ask for: whole per cent, as Unleash's flexibleRollout buckets users
 * (1–100), so 0.5 would reach nobody and 7.5 act as 7 while the audit said otherwise.
 */
const wholePercentage = storedPercentage.int({ error: (issue) => `must be a whole number of per cent (Unleash buckets users by whole per cent), but got: ${String(issue.input)}` });

/** The rollout as the store keeps it; every field optional (its default above). */
export const candidateRolloutSchema = z.strictObject({
  allowList: z.array(z.string().min(1).max(MAX_USER_ID_LENGTH)).max(10_000).default([]),
  percentage: storedPercentage.default(0),
  segments: z.array(z.string().min(1).max(64)).max(100).default([]),
  // Lower-cased, as the x-app-platform header is before it is compared: "iOS" would reach nobody.
  platforms: z.array(z.string().trim().min(1).max(32).toLowerCase()).max(20).default([]),
  minAppVersion: z.string().regex(SEMVER, { error: 'must be a version such as 12.3.0' }).nullable().default(null),
});

/**
 * What no user id holds: whitespace, and what operators type between ids — commas (ASCII, and the
 * full-width ， a Chinese IME types), the ideographic comma 、 and semicolons (; ；). An allow-list
 * entry holding one is several ids run together ("u1001，u2002") and reaches nobody, while the
 * audit and the console read as if it reached them all: refused where an operator gives one.
 * The store's schema above does not refuse it, so a list recorded before still reads.
 */
const NOT_IN_A_USER_ID = /[\s,，、;；]/u;

/** An allow-list as an operator gives it (a new candidate's, a rollout change's): one user id per entry. */
const allowListInput = z
  .array(
    z
      .string()
      .min(1)
      .max(MAX_USER_ID_LENGTH)
      .refine((id) => !NOT_IN_A_USER_ID.test(id), {
        error: (issue) => `must be one user id, without whitespace, commas (, ，), 、 or semicolons (; ；) — list each id on its own — but got: ${JSON.stringify(issue.input)}`,
      }),
  )
  .max(10_000);

/** A new candidate's rollout as the admin API accepts it: the store's, in whole per cent, one user id per allow-list entry. */
export const candidateRolloutInputSchema = candidateRolloutSchema.extend({ allowList: allowListInput.default([]), percentage: wholePercentage.default(0) });

/** A change of rollout: only the fields given change. */
export const rolloutChangeSchema = z.strictObject({
  allowList: allowListInput.optional(),
  percentage: wholePercentage.optional(),
  segments: candidateRolloutSchema.shape.segments.unwrap().optional(),
  platforms: candidateRolloutSchema.shape.platforms.unwrap().optional(),
  minAppVersion: candidateRolloutSchema.shape.minAppVersion.unwrap().optional(),
});
export type RolloutChange = z.output<typeof rolloutChangeSchema>;

/**
 * The rollout a caller read before changing it (`from` of a rollout change: a console page, a
 * confirmation), every field as the store gave it — not checked as an operator's input, since it
 * is compared with the stored one, whatever that holds.
 */
export const rolloutSeenSchema = z.strictObject({
  allowList: z.array(z.string()).max(10_000),
  percentage: storedPercentage,
  segments: z.array(z.string()).max(100),
  platforms: z.array(z.string()).max(20),
  minAppVersion: z.string().nullable(),
});

/** Whether two lists hold the same entries, in any order (who a rollout selects does not depend on it). */
function sameEntries(a: readonly string[], b: readonly string[]): boolean {
  const sorted = (list: readonly string[]) => JSON.stringify([...list].sort());
  return sorted(a) === sorted(b);
}

/**
 * What differs from rollout `from` to rollout `to`, one "field from → to" each (lists as JSON, so
 * an id holding a comma reads as one), e.g. `percentage 0 → 50`, `segments [] → ["plus"]`; empty
 * when they select the same users.
 */
export function rolloutDifferences(from: CandidateRollout, to: CandidateRollout): string[] {
  const differences: string[] = [];
  for (const field of ['allowList', 'percentage', 'segments', 'platforms', 'minAppVersion'] as const) {
    const [was, now] = [from[field], to[field]];
    const same = Array.isArray(was) && Array.isArray(now) ? sameEntries(was, now) : was === now;
    if (!same) differences.push(`${field} ${JSON.stringify(was)} → ${JSON.stringify(now)}`);
  }
  return differences;
}

/** A scene's candidate as the store records it. */
export interface StoredCandidate {
  readonly scene: string;
  /** The revision whose `<scene>` file is served to the rollout's users. */
  readonly revision: number;
  readonly rollout: CandidateRollout;
  /** Who published the candidate (`author`, or the actor). */
  readonly author: string;
  readonly message: string;
  /** ISO 8601. */
  readonly createdAt: string;
  /** ISO 8601: the last rollout change. */
  readonly updatedAt: string;
  /** The identity that published it (the admin credential's, or the CLI's user). */
  readonly publishedBy: string;
  /** Who approved this candidate revision (layouts.approval), or null. */
  readonly approvedBy: string | null;
  /** ISO 8601, or null. */
  readonly approvedAt: string | null;
}

/** Whether a rollout selects anyone: an allow-list, or a percentage above 0 (the constraints only narrow the percentage). */
export function reachesAnyone(rollout: CandidateRollout): boolean {
  return rollout.allowList.length > 0 || rollout.percentage > 0;
}

/**
 * Whether a rollout may reach users beyond its allow-list: a percentage above 0, or segments (an
 * audience named by who users are rather than by id). What an unapproved money candidate may not
 * do (layouts.approval): its allow-list is the testers who look at it.
 */
export function reachesBeyondAllowList(rollout: CandidateRollout): boolean {
  return rollout.percentage > 0 || rollout.segments.length > 0;
}

/** The rollout limited to its allow-list: who an unapproved money candidate is served to, whatever its rollout says. */
export function allowListOnly(rollout: CandidateRollout): CandidateRollout {
  return reachesBeyondAllowList(rollout) ? Object.freeze({ ...rollout, percentage: 0, segments: [] }) : rollout;
}

/** Whether `to` lets in a value of a list constraint that `from` kept out (empty: any value). */
function loosens(from: readonly string[], to: readonly string[]): boolean {
  return from.length > 0 && (to.length === 0 || to.some((value) => !from.includes(value)));
}

/**
 * Whether changing rollout `from` to `to` widens it beyond the allow-list: `to` reaches beyond it
 * ({@link reachesBeyondAllowList}) and `from` did not, or `to` lets in users `from` kept out (a
 * higher percentage, a constraint loosened or dropped). Narrowing, and changing the allow-list
 * alone, never do — so a candidate widened before approval was required can still be narrowed.
 */
export function widensBeyondAllowList(from: CandidateRollout, to: CandidateRollout): boolean {
  if (!reachesBeyondAllowList(to)) return false;
  if (!reachesBeyondAllowList(from)) return true;
  const minVersionLowered = from.minAppVersion !== null && (to.minAppVersion === null || compare(to.minAppVersion, from.minAppVersion) < 0);
  return to.percentage > from.percentage || loosens(from.segments, to.segments) || loosens(from.platforms, to.platforms) || minVersionLowered;
}

/** "allow-list [u1001], then 20 % by user id (only platforms ios)": who gets a candidate, as the commands and refusals word it. */
export function rolloutWhom(r: CandidateRollout): string {
  const only = [r.segments.length > 0 ? `segments ${r.segments.join(',')}` : '', r.platforms.length > 0 ? `platforms ${r.platforms.join(',')}` : '', r.minAppVersion === null ? '' : `app ${r.minAppVersion}+`].filter(Boolean);
  return `allow-list [${r.allowList.join(', ')}], then ${r.percentage} % by user id${only.length > 0 ? ` (only ${only.join(', ')})` : ''}`;
}

/** A candidate with the floors file it serves, as replicas receive it. */
export interface CandidateWithFile extends StoredCandidate {
  /** The file name in its revision, e.g. "cart-bottom-sheet.yaml". */
  readonly file: string;
  /** That file's YAML source. */
  readonly source: string;
  /**
   * With layouts.approval.required: it changes money floors against live and no admin approved
   * it, so replicas serve it to its allow-list only, whatever its rollout says (one stored before
   * approval was required may say more). Judged where the set is announced (the releases); absent
   * or false: served to its whole rollout, as by a build before approvals.
   */
  readonly approvalPending?: boolean;
}

/** Every candidate, at one generation of the store (increases with every change). */
export interface CandidateSet {
  readonly generation: number;
  readonly candidates: readonly CandidateWithFile[];
}

/**
 * What `layoutVersion` reports for a user served a candidate: the floors file's version as
 * before, then `+candidate.r<revision>` — build metadata in semver terms, so a client that
 * compares or logs versions keeps working, and support can tell which revision a user got.
 * Users served the live layout see exactly what they saw before candidates existed.
 */
export function candidateLayoutVersion(version: string, revision: number): string {
  return `${version}+candidate.r${revision}`;
}

/** The Redis key of the candidate set under a prefix (the channel is the live revision's: `<prefix>layouts:changed`). */
export function candidatesRedisKey(keyPrefix: string): string {
  return `${hashTagged(`${keyPrefix}layouts`)}:candidates`;
}

const candidateSetSchema = z.object({
  generation: z.int().min(0),
  candidates: z.array(
    z.object({
      scene: z.string().min(1),
      revision: z.int().min(1),
      rollout: candidateRolloutSchema,
      author: z.string(),
      message: z.string(),
      createdAt: z.string(),
      updatedAt: z.string(),
      // Added with approvals: a document pushed by an older replica has none of them.
      publishedBy: z.string().default(''),
      approvedBy: z.string().nullable().default(null),
      approvedAt: z.string().nullable().default(null),
      approvalPending: z.boolean().default(false),
      file: z.string().regex(/^[^/\\]+\.ya?ml$/),
      source: z.string(),
    }),
  ),
});

/** Parses the key's value; a problem is one message naming the key. */
export function parseCandidateSet(raw: string, key: string): { ok: true; value: CandidateSet } | { ok: false; problem: string } {
  let input: unknown;
  try {
    input = JSON.parse(raw);
  } catch (error) {
    return { ok: false, problem: `Redis key ${key} must hold JSON (${describeThrown(error)})` };
  }
  return readCandidateSet(input, `Redis key ${key}`);
}

/**
 * Checks a candidate set already read from JSON (the key's, or the last-known-good copy's
 * `candidates`); a problem is one message naming `where`, e.g. "Redis key floorplan:…".
 */
export function readCandidateSet(input: unknown, where: string): { ok: true; value: CandidateSet } | { ok: false; problem: string } {
  const parsed = candidateSetSchema.safeParse(input);
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, problem: `${where} must hold {generation, candidates: [...]}: ${parsed.error.issues.map((i) => `\`${i.path.join('.')}\` ${i.message}`).join('; ')}` };
}

/**
 * Sets the key to a candidate set unless it already holds that generation or a later one, and
 * announces it on the layouts channel. KEYS: candidates. ARGV: the document, its generation,
 * channel, and the generation it replaces ('' for none): given, the key is set only while it
 * still holds exactly that one (a revision store restored behind Redis, {@link pushCandidates}).
 * Returns {1, generation} when set; {0, the generation held} when not, with the document held
 * when that is this very generation (compared by {@link pushCandidates}: nothing is written either way).
 */
const PUSH_CANDIDATES_SCRIPT = `
local current = redis.call('GET', KEYS[1])
local generation = tonumber(ARGV[2])
if current then
  local ok, doc = pcall(cjson.decode, current)
  if ok and type(doc) == 'table' and type(doc.generation) == 'number' then
    if doc.generation == generation then return {0, doc.generation, current} end
    if ARGV[4] ~= '' then
      if doc.generation ~= tonumber(ARGV[4]) then return {0, doc.generation} end
    elseif doc.generation > generation then
      return {0, doc.generation}
    end
  end
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('PUBLISH', ARGV[3], 'candidates:' .. ARGV[2])
return {1, generation}
`;

/**
 * What a replica serves of a candidate set, in one comparable string: each candidate's scene,
 * revision, file, rollout, whether its approval is pending (it is then served to its allow-list
 * only) and the times that identify its staging and its last change. Who
 * published or approved it, and the message, are left out: a replica does not serve them, and a
 * document pushed by an older build has no approval fields at all.
 */
function servedContents(set: CandidateSet): string {
  const served = [...set.candidates]
    .sort((a, b) => (a.scene < b.scene ? -1 : a.scene > b.scene ? 1 : 0))
    .map((c) => {
      const { allowList, percentage, segments, platforms, minAppVersion } = c.rollout;
      return [c.scene, c.revision, c.file, c.source, c.createdAt, c.updatedAt, allowList, percentage, segments, platforms, minAppVersion, c.approvalPending === true];
    });
  return JSON.stringify(served);
}

/**
 * Pushes a candidate set to every replica; a Redis failure rejects. `held`: Redis already held
 * this generation with the same candidates as replicas serve them (a push retried after an
 * ioredis failover retry, or a replica's store poll pushed it first) — as good as pushed.
 * `refused` (`holds`: the generation Redis holds): a newer generation, or this one with other
 * candidates (a revision store restored or recreated behind Redis, and changed again). Replicas
 * never take a generation they already serve or an older one from Redis, so calling that one
 * "held" would claim they serve this set while they serve Redis's.
 * `replacing`: the newer generation the key holds that a restored revision store no longer has —
 * the key is set back to `set` only while it still holds exactly that one, so an operation on
 * the store racing the replacement wins.
 */
export async function pushCandidates(redis: RedisClient, keyPrefix: string, set: CandidateSet, replacing?: number): Promise<PushOutcome> {
  const key = candidatesRedisKey(keyPrefix);
  const [code, holds, current] = (await redis.eval(
    PUSH_CANDIDATES_SCRIPT,
    1,
    key,
    JSON.stringify(set),
    String(set.generation),
    `${keyPrefix}layouts:changed`,
    replacing === undefined ? '' : String(replacing),
  )) as [number, number, string | undefined];
  if (Number(code) === 1) return { result: 'pushed' };
  if (current !== undefined) {
    const held = parseCandidateSet(current, key);
    // Unreadable here means another build's document: not provably the same set.
    if (held.ok && servedContents(held.value) === servedContents(set)) return { result: 'held' };
  }
  return { result: 'refused', holds: Number(holds) };
}

/**
 * Why a push of candidate generation `generation` did not reach the replicas, for an operation
 * to report (`pushProblem`); undefined when it did (pushed, or already held).
 */
export function candidatesPushRefusal(outcome: PushOutcome, generation: number): string | undefined {
  if (outcome.result !== 'refused') return undefined;
  // Replicas follow a store whose generation went back behind theirs; one that caught up with it
  // under other candidates looks like any other generation they already serve.
  if (outcome.holds === generation) {
    return `Redis holds another candidate set under generation ${generation} (this revision store restored or recreated behind it, and changed again before replicas followed it); replicas that took Redis's keep serving it until this store's generation passes ${generation}`;
  }
  return `Redis holds a newer candidate generation than ${generation}: ${outcome.holds} (this revision store restored or recreated behind it, or another store pushing to this Redis); replicas follow this store within a poll (layouts.resyncIntervalMs) and set Redis back to its candidate set`;
}
