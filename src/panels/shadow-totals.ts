/**
 * The shadow comparison of a layout candidate summed over every replica (issue 15 item 4): each
 * replica adds each of its comparisons to one Redis hash per candidate revision, so the report
 * an operator reads through the load balancer — and the invariant count promote is judged by —
 * is every replica's, not whichever replica answered.
 *
 * Best effort and off the answers' path: a comparison that cannot be added (Redis down) is still
 * in the replica's own report, which the admin API falls back to, saying so (`scope`).
 *
 * Keys (one hash tag, so a Redis Cluster runs the script on one node), kept 7 days after the last
 * comparison, one set per staging of a candidate (the same revision aborted and staged again starts from
 * zero; `<staged>` is when it was staged, in ms since the epoch): `{<prefix>layouts:shadow:<scene>:r<revision>:s<staged>}:totals` (a hash: identical, different,
 * skipped, `skip:<reason>` per skip reason, failed, candidate-violations, both-violations, micros, max-micros and `d:<floor>:<field>`
 * per differing floor field), `…:examples` (a list of JSON examples: the first few, then the first
 * of each floor field no kept one shows) and `…:exampled` (the set of floor fields kept examples show).
 */
import type { Logger } from 'pino';
import { hashTagged } from '../layouts/published-layouts.ts';
import type { RedisClient } from '../redis/client.ts';
import { exampleKeys, MAX_FIELD_EXAMPLES, SHADOW_SKIP_REASONS, type ShadowExample, type ShadowField, type ShadowReport, type ShadowResult, type ShadowSkipReason, type ShadowStaging } from './shadow.ts';
import { describeThrown } from '../errors.ts';

/** One comparison, as a replica adds it. */
export interface ShadowComparison {
  readonly result: ShadowResult;
  /** Why, when `result` is skipped. */
  readonly skipReason?: ShadowSkipReason;
  readonly fields: ReadonlyArray<{ readonly floor: string; readonly field: ShadowField }>;
  readonly candidateViolation: boolean;
  readonly bothViolation: boolean;
  readonly seconds: number;
  /** Set when the comparison differed or broke the invariant. */
  readonly example?: ShadowExample;
}

/** A report with where its numbers come from. */
export type ScopedShadowReport = ShadowReport & {
  /** `all replicas`: summed in Redis; `this replica`: Redis could not be read (`problem` says why). */
  readonly scope: 'all replicas' | 'this replica';
  readonly problem?: string;
};

const TTL_SECONDS = 7 * 24 * 3600;
/** The first examples kept whatever they show; past them, the first of each floor/field (as ShadowComparer keeps them). */
const MAX_EXAMPLES = 5;
const MAX_KEPT_EXAMPLES = MAX_EXAMPLES + MAX_FIELD_EXAMPLES;

/**
 * KEYS: totals, examples, exampled (a set of the `<floor>:<field>` some kept example shows).
 * ARGV: ttl, micros, example JSON ('' for none), first examples kept whatever they show, most
 * examples kept, n, the example's n `<floor>:<field>`, then the hash fields to add one to.
 */
const ADD_SCRIPT = `
local n = tonumber(ARGV[6])
for i = 7 + n, #ARGV do redis.call('HINCRBY', KEYS[1], ARGV[i], 1) end
redis.call('HINCRBY', KEYS[1], 'micros', ARGV[2])
local max = tonumber(redis.call('HGET', KEYS[1], 'max-micros') or '0')
if tonumber(ARGV[2]) > max then redis.call('HSET', KEYS[1], 'max-micros', ARGV[2]) end
if ARGV[3] ~= '' then
  local kept = redis.call('LLEN', KEYS[2])
  local keep = kept < tonumber(ARGV[4])
  if kept < tonumber(ARGV[5]) then
    for i = 7, 6 + n do
      if redis.call('SISMEMBER', KEYS[3], ARGV[i]) == 0 then keep = true end
    end
  end
  if keep then
    redis.call('RPUSH', KEYS[2], ARGV[3])
    for i = 7, 6 + n do redis.call('SADD', KEYS[3], ARGV[i]) end
  end
end
for i = 1, 3 do redis.call('EXPIRE', KEYS[i], ARGV[1]) end
return 1
`;

export class SharedShadowTotals {
  private readonly redis: RedisClient;
  private readonly keyPrefix: string;
  private readonly logger: Logger;

  constructor(options: { readonly redis: RedisClient; readonly keyPrefix: string; readonly logger: Logger }) {
    this.redis = options.redis;
    this.keyPrefix = options.keyPrefix;
    this.logger = options.logger;
  }

  private keys(scene: string, { revision, createdAt }: ShadowStaging): { totals: string; examples: string; exampled: string } {
    // The instant, not the text: replicas and the store may write the same moment differently.
    const staged = Number.isNaN(Date.parse(createdAt)) ? createdAt : String(Date.parse(createdAt));
    const base = hashTagged(`${this.keyPrefix}layouts:shadow:${scene}:r${revision}:s${staged}`);
    return { totals: `${base}:totals`, examples: `${base}:examples`, exampled: `${base}:exampled` };
  }

  /** Adds one comparison; never rejects (a failure is logged at debug: the replica's own report has it). */
  add(scene: string, staging: ShadowStaging, comparison: ShadowComparison): void {
    const { totals, examples, exampled } = this.keys(scene, staging);
    const fields: string[] = [comparison.result, ...comparison.fields.map(({ floor, field }) => `d:${floor}:${field}`)];
    if (comparison.skipReason !== undefined) fields.push(`skip:${comparison.skipReason}`);
    if (comparison.candidateViolation) fields.push('candidate-violations');
    if (comparison.bothViolation) fields.push('both-violations');
    const micros = String(Math.round(comparison.seconds * 1e6));
    const example = comparison.example === undefined ? '' : JSON.stringify(comparison.example);
    const shows = comparison.example === undefined ? [] : exampleKeys(comparison.example);
    this.redis
      .eval(ADD_SCRIPT, 3, totals, examples, exampled, String(TTL_SECONDS), micros, example, String(MAX_EXAMPLES), String(MAX_KEPT_EXAMPLES), String(shows.length), ...shows, ...fields)
      .catch((error: unknown) => this.logger.debug({ err: describeThrown(error), scene, revision: staging.revision, staged: staging.createdAt }, 'shadow comparison not added to the replicas\' totals in Redis'));
  }

  /** The panels every replica compared for `revision` of `scene`, and the candidate invariant violations among them. Rejects when Redis cannot be read. */
  async verdict(scene: string, staging: ShadowStaging): Promise<{ readonly compared: number; readonly invariantViolations: number }> {
    const [identical, different, violations] = await this.redis.hmget(this.keys(scene, staging).totals, 'identical', 'different', 'candidate-violations');
    return { compared: (Number(identical) || 0) + (Number(different) || 0), invariantViolations: Number(violations) || 0 };
  }

  /**
   * Every replica's totals in the shape of `local` (this replica's report, whose `replica` it
   * keeps); `local` itself, scoped `this replica`, when Redis cannot be read.
   */
  async report(local: ShadowReport): Promise<ScopedShadowReport> {
    const { totals, examples } = this.keys(local.scene, { revision: local.candidateRevision, createdAt: local.staged });
    let hash: Record<string, string>;
    let listed: string[];
    try {
      [hash, listed] = await Promise.all([this.redis.hgetall(totals), this.redis.lrange(examples, 0, MAX_KEPT_EXAMPLES - 1)]);
    } catch (error) {
      return { ...local, scope: 'this replica', problem: `the replicas' totals in Redis cannot be read (${describeThrown(error)}); these are this replica's` };
    }
    const count = (field: string) => Number(hash[field]) || 0;
    const differences: Record<string, Partial<Record<ShadowField, number>>> = {};
    for (const [field, value] of Object.entries(hash)) {
      const match = /^d:(.*):([A-Za-z]+)$/.exec(field);
      if (match === null) continue;
      const byField = (differences[match[1] as string] ??= {});
      byField[match[2] as ShadowField] = Number(value);
    }
    const identical = count('identical');
    const different = count('different');
    const runs = identical + different + count('skipped') + count('failed');
    const round = (micros: number) => Math.round(micros) / 1000;
    return {
      scene: local.scene,
      candidateRevision: local.candidateRevision,
      staged: local.staged,
      compared: identical + different,
      identical,
      different,
      skipped: count('skipped'),
      skippedBy: Object.fromEntries(SHADOW_SKIP_REASONS.filter((reason) => count(`skip:${reason}`) > 0).map((reason) => [reason, count(`skip:${reason}`)])),
      failed: count('failed'),
      differences,
      invariantViolations: { candidate: count('candidate-violations'), both: count('both-violations') },
      examples: listed.flatMap((text) => {
        try {
          return [JSON.parse(text) as ShadowExample];
        } catch {
          return [];
        }
      }),
      cost: { totalMs: round(count('micros')), maxMs: round(count('max-micros')), meanMs: runs === 0 ? 0 : round(count('micros') / runs) },
      replica: local.replica,
      scope: 'all replicas',
    };
  }
}
