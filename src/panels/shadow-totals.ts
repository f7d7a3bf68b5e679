/**
 * The shadow comparison of a layout candidate summed over every replica (issue 15 item 4): each
 * replica adds each of its comparisons to one Redis hash per candidate revision, so the report
 * an operator reads through the load balancer — and the invariant count promote is judged by —
 * is every replica's, not whichever replica answered.
 *
 * Off the answers' path. A comparison that cannot be added (Redis down or failing over) is kept
 * here and added when Redis answers again (retried every second, and before a verdict or report
 * is read), so a promote answered by another replica still counts it; meanwhile it is in this
 * replica's own report, which the admin API falls back to, saying so (`scope`). A comparison
 * whose reply was lost after Redis ran it may so be counted twice: a violation counted twice
 * refuses no promote that one would not, and losing one could promote a sheet that does not add up.
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
 * ARGV: ttl, micros to add, the longest comparison's micros, example JSON ('' for none), first
 * examples kept whatever they show, most examples kept, n, the example's n `<floor>:<field>`,
 * then pairs of a hash field and how much to add to it (1 for one comparison; more for those
 * kept through an outage).
 */
const ADD_SCRIPT = `
local n = tonumber(ARGV[7])
for i = 8 + n, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('HINCRBY', KEYS[1], 'micros', ARGV[2])
local max = tonumber(redis.call('HGET', KEYS[1], 'max-micros') or '0')
if tonumber(ARGV[3]) > max then redis.call('HSET', KEYS[1], 'max-micros', ARGV[3]) end
if ARGV[4] ~= '' then
  local kept = redis.call('LLEN', KEYS[2])
  local keep = kept < tonumber(ARGV[5])
  if kept < tonumber(ARGV[6]) then
    for i = 8, 7 + n do
      if redis.call('SISMEMBER', KEYS[3], ARGV[i]) == 0 then keep = true end
    end
  end
  if keep then
    redis.call('RPUSH', KEYS[2], ARGV[4])
    for i = 8, 7 + n do redis.call('SADD', KEYS[3], ARGV[i]) end
  end
end
for i = 1, 3 do redis.call('EXPIRE', KEYS[i], ARGV[1]) end
return 1
`;

/** How often comparisons kept through an outage are offered to Redis again. */
const RETRY_MS = 1000;
/** How long a stopping replica offers its kept comparisons to Redis a last time. */
const LAST_OFFER_MS = 1000;

/** What one staging's comparisons that Redis did not take add up to, waiting to be added. */
interface KeptTotals {
  readonly keys: StagingKeys;
  /** The staging, for the warning if this replica stops with them still kept. */
  readonly scene: string;
  readonly staging: ShadowStaging;
  /** Hash field → how much to add. */
  readonly counts: Map<string, number>;
  micros: number;
  maxMicros: number;
  /** Their examples (at most as many as a staging keeps), each with the `<floor>:<field>` it shows. */
  readonly examples: Array<{ readonly json: string; readonly shows: readonly string[] }>;
  /** How many comparisons these are, and how many of them found a candidate panel that did not add up. */
  comparisons: number;
  candidateViolations: number;
}

interface StagingKeys {
  readonly totals: string;
  readonly examples: string;
  readonly exampled: string;
}

export class SharedShadowTotals {
  private readonly redis: RedisClient;
  private readonly keyPrefix: string;
  private readonly logger: Logger;
  /** Comparisons Redis did not take, by staging (totals key): added when it answers again. */
  private readonly kept = new Map<string, KeptTotals>();
  private retry: NodeJS.Timeout | undefined;
  /** The adding of kept comparisons under way, which verdicts and reports wait for. */
  private adding: Promise<void> | undefined;
  private closed = false;

  constructor(options: { readonly redis: RedisClient; readonly keyPrefix: string; readonly logger: Logger }) {
    this.redis = options.redis;
    this.keyPrefix = options.keyPrefix;
    this.logger = options.logger;
  }

  private keys(scene: string, { revision, createdAt }: ShadowStaging): StagingKeys {
    // The instant, not the text: replicas and the store may write the same moment differently.
    const staged = Number.isNaN(Date.parse(createdAt)) ? createdAt : String(Date.parse(createdAt));
    const base = hashTagged(`${this.keyPrefix}layouts:shadow:${scene}:r${revision}:s${staged}`);
    return { totals: `${base}:totals`, examples: `${base}:examples`, exampled: `${base}:exampled` };
  }

  /** Adds one comparison; never rejects. One Redis does not take is kept and added when it answers again. */
  add(scene: string, staging: ShadowStaging, comparison: ShadowComparison): void {
    const keys = this.keys(scene, staging);
    const fields: string[] = [comparison.result, ...comparison.fields.map(({ floor, field }) => `d:${floor}:${field}`)];
    if (comparison.skipReason !== undefined) fields.push(`skip:${comparison.skipReason}`);
    if (comparison.candidateViolation) fields.push('candidate-violations');
    if (comparison.bothViolation) fields.push('both-violations');
    const micros = Math.round(comparison.seconds * 1e6);
    const example = comparison.example === undefined ? undefined : { json: JSON.stringify(comparison.example), shows: exampleKeys(comparison.example) };
    // Behind kept ones of its staging: kept too, so the examples stay in the order they were made.
    if (this.kept.has(keys.totals)) {
      this.keep(scene, staging, keys, fields, micros, example);
      return;
    }
    const counts = fields.flatMap((field) => [field, '1']);
    this.send(keys, micros, micros, example, counts).catch((error: unknown) => {
      this.keep(scene, staging, keys, fields, micros, example);
      if (this.kept.size === 1 && (this.kept.get(keys.totals) as KeptTotals).comparisons === 1) {
        this.logger.warn(
          { err: describeThrown(error), scene, revision: staging.revision, staged: staging.createdAt },
          "shadow comparison not added to the replicas' totals in Redis; kept, and added when Redis answers again (retried every second)",
        );
      }
    });
  }

  private send(keys: StagingKeys, micros: number, maxMicros: number, example: { readonly json: string; readonly shows: readonly string[] } | undefined, counts: readonly string[]): Promise<unknown> {
    const shows = example?.shows ?? [];
    return this.redis.eval(
      ADD_SCRIPT,
      3,
      keys.totals,
      keys.examples,
      keys.exampled,
      String(TTL_SECONDS),
      String(micros),
      String(maxMicros),
      example?.json ?? '',
      String(MAX_EXAMPLES),
      String(MAX_KEPT_EXAMPLES),
      String(shows.length),
      ...shows,
      ...counts,
    );
  }

  private keep(
    scene: string,
    staging: ShadowStaging,
    keys: StagingKeys,
    fields: readonly string[],
    micros: number,
    example: { readonly json: string; readonly shows: readonly string[] } | undefined,
  ): void {
    let kept = this.kept.get(keys.totals);
    if (kept === undefined) {
      kept = { keys, scene, staging, counts: new Map(), micros: 0, maxMicros: 0, examples: [], comparisons: 0, candidateViolations: 0 };
      this.kept.set(keys.totals, kept);
    }
    for (const field of fields) kept.counts.set(field, (kept.counts.get(field) ?? 0) + 1);
    kept.micros += micros;
    kept.maxMicros = Math.max(kept.maxMicros, micros);
    kept.comparisons++;
    if (fields.includes('candidate-violations')) kept.candidateViolations++;
    if (example !== undefined && kept.examples.length < MAX_KEPT_EXAMPLES) kept.examples.push(example);
    this.retryLater();
  }

  /** Offers the kept comparisons again in {@link RETRY_MS}, unless that is already due. */
  private retryLater(): void {
    if (this.closed) return;
    this.retry ??= setTimeout(() => {
      this.retry = undefined;
      void this.addKept();
    }, RETRY_MS).unref();
  }

  /**
   * Offers the kept comparisons to Redis again, one staging at a time: its counts with its first
   * example in one script, then its other examples. Never rejects; what Redis still does not take
   * stays kept and is retried.
   */
  private addKept(): Promise<void> {
    this.adding ??= (async () => {
      let added = 0;
      try {
        for (const [key, kept] of this.kept) {
          const [first, ...others] = kept.examples;
          await this.send(kept.keys, kept.micros, kept.maxMicros, first, [...kept.counts].flatMap(([field, count]) => [field, String(count)]));
          // Its counts are in: only the examples are left to add, and they count nothing.
          kept.counts.clear();
          kept.micros = 0;
          kept.examples.splice(0, 1);
          for (const example of others) {
            await this.send(kept.keys, 0, 0, example, []);
            kept.examples.splice(0, 1);
          }
          added += kept.comparisons;
          this.kept.delete(key);
        }
        if (added > 0) this.logger.info({ comparisons: added }, "shadow comparisons kept through a Redis outage added to the replicas' totals");
      } catch (error) {
        this.logger.debug({ err: describeThrown(error), stagings: this.kept.size }, "shadow comparisons kept through a Redis outage still not added; retried in a second");
        this.retryLater();
      } finally {
        this.adding = undefined;
      }
    })();
    return this.adding;
  }

  /**
   * For a replica that stops: its kept comparisons offered to Redis a last time (for at most
   * {@link LAST_OFFER_MS}: Redis may be back before the next retry), and those it still does not
   * take named in a warning, since they leave with this replica (a promote will not count them).
   * Call before the Redis client closes. Never rejects.
   */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    this.retry = undefined;
    if (this.kept.size === 0 && this.adding === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.addKept(), new Promise<void>((done) => (timer = setTimeout(done, LAST_OFFER_MS)))]);
    clearTimeout(timer);
    const lost = [...this.kept.values()].filter((kept) => kept.comparisons > 0 && kept.counts.size > 0);
    if (lost.length === 0) return;
    this.logger.warn(
      {
        lost: lost.map((kept) => ({ scene: kept.scene, revision: kept.staging.revision, staged: kept.staging.createdAt, comparisons: kept.comparisons, candidateViolations: kept.candidateViolations })),
      },
      "shadow comparisons kept through a Redis outage are lost with this replica: the replicas' totals, and a promote's verdict, will not count them",
    );
  }

  /** Before totals are read: the kept comparisons, if any, added first (a failure leaves them kept; the read says whether Redis answers). */
  private async withKeptAdded(): Promise<void> {
    if (this.kept.size > 0 || this.adding !== undefined) await this.addKept();
  }

  /** The panels every replica compared for `revision` of `scene`, and the candidate invariant violations among them. Rejects when Redis cannot be read. */
  async verdict(scene: string, staging: ShadowStaging): Promise<{ readonly compared: number; readonly invariantViolations: number }> {
    await this.withKeptAdded();
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
      await this.withKeptAdded();
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
