/**
 * The shadow comparison of a layout candidate summed over every replica (issue 15 item 4): each
 * replica adds each of its comparisons to one Redis hash per candidate revision, so the report
 * an operator reads through the load balancer — and the invariant count promote is judged by —
 * is every replica's, not whichever replica answered.
 *
 * Off the answers' path. Each staging's comparisons go to Redis in batches, one at a time: a
 * comparison made while a batch is on its way joins the next one. Each batch is numbered (by
 * replica, in the order sent) and sealed when sent; the script adds a batch only if it is past the
 * last one of that replica it added, so a batch offered again after a reply that never came — a
 * timeout, a dropped connection: Redis may still run the command, and a hung one runs every
 * command queued to it once it resumes — is counted exactly once, and the next batch is sent only
 * once Redis has answered for this one. A batch Redis does not take is offered again, unchanged,
 * every second and before a verdict or report is read, while later comparisons wait behind it in
 * the next batch: their sums, not each comparison, so a long outage costs this replica two
 * batches per staging (a few counts, and the examples Redis may keep), and recovery two scripts. Meanwhile they are
 * in this replica's own report, which the admin API falls back to, saying so (`scope`).
 *
 * Keys (one hash tag, so a Redis Cluster runs the script on one node), kept 7 days after the last
 * comparison, one set per staging of a candidate (the same revision aborted and staged again starts from
 * zero; `<staged>` is when it was staged, in ms since the epoch): `{<prefix>layouts:shadow:<scene>:r<revision>:s<staged>}:totals` (a hash: identical, different,
 * skipped, `skip:<reason>` per skip reason, failed, candidate-violations, both-violations, micros, max-micros and `d:<floor>:<field>`
 * per differing floor field), `…:examples` (a list of JSON examples: the first few, then the first
 * of each floor field no kept one shows), `…:exampled` (the set of floor fields kept examples show)
 * and `…:applied` (a hash: each replica's id → the number of the last batch of it added).
 */
import { randomUUID } from 'node:crypto';
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
 * KEYS: totals, examples, exampled (a set of the `<floor>:<field>` some kept example shows),
 * applied (replica id → the number of its last batch added).
 * ARGV: ttl, replica id, batch number, micros to add, the longest comparison's micros, first
 * examples kept whatever they show, most examples kept, p, then p pairs of a hash field and how
 * much to add to it, then each example: its JSON, n, its n `<floor>:<field>`.
 * Returns 1 when it added the batch, 0 when it had already (an offer whose reply was lost).
 */
const ADD_SCRIPT = `
local last = tonumber(redis.call('HGET', KEYS[4], ARGV[2]) or '0')
if tonumber(ARGV[3]) <= last then return 0 end
redis.call('HSET', KEYS[4], ARGV[2], ARGV[3])
local i = 9
for _ = 1, tonumber(ARGV[8]) do
  redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
  i = i + 2
end
redis.call('HINCRBY', KEYS[1], 'micros', ARGV[4])
local max = tonumber(redis.call('HGET', KEYS[1], 'max-micros') or '0')
if tonumber(ARGV[5]) > max then redis.call('HSET', KEYS[1], 'max-micros', ARGV[5]) end
while i <= #ARGV do
  local n = tonumber(ARGV[i + 1])
  local kept = redis.call('LLEN', KEYS[2])
  local keep = kept < tonumber(ARGV[6])
  if kept < tonumber(ARGV[7]) then
    for j = i + 2, i + 1 + n do
      if redis.call('SISMEMBER', KEYS[3], ARGV[j]) == 0 then keep = true end
    end
  end
  if keep then
    redis.call('RPUSH', KEYS[2], ARGV[i])
    for j = i + 2, i + 1 + n do redis.call('SADD', KEYS[3], ARGV[j]) end
  end
  i = i + 2 + n
end
for k = 1, 4 do redis.call('EXPIRE', KEYS[k], ARGV[1]) end
return 1
`;

/** How often comparisons kept through an outage are offered to Redis again. */
const RETRY_MS = 1000;
/** How long a stopping replica offers its kept comparisons to Redis a last time. */
const LAST_OFFER_MS = 1000;

interface Example {
  readonly json: string;
  /** The `<floor>:<field>` it shows. */
  readonly shows: readonly string[];
}

/** Comparisons of one staging summed, to add in one script. */
interface Batch {
  /** Hash field → how much to add. */
  readonly counts: Map<string, number>;
  micros: number;
  maxMicros: number;
  /**
   * Those of their examples Redis may keep, in order: the first {@link MAX_EXAMPLES}, and any
   * showing a floor field no earlier one in the batch shows (one whose floor fields an earlier
   * example shows is kept by Redis only among the first few, and never once that one was not).
   * So at most {@link MAX_EXAMPLES} and one per floor field.
   */
  readonly examples: Example[];
  readonly shown: Set<string>;
  /** How many comparisons these are, and how many of them found a candidate panel that did not add up. */
  comparisons: number;
  candidateViolations: number;
}

/** One staging's comparisons on their way to Redis. */
interface StagingQueue {
  readonly keys: StagingKeys;
  /** The staging, for the warning if this replica stops with comparisons not added. */
  readonly scene: string;
  readonly staging: ShadowStaging;
  /** The batch sent and not yet known to be added: offered again as it is, with its number, until Redis answers. */
  sealed: { readonly number: number; readonly batch: Batch } | undefined;
  /** The offer of `sealed` under way: true once Redis answered, false when it did not. */
  sending: Promise<boolean> | undefined;
  /** Comparisons made since `sealed` was: the next batch. */
  open: Batch | undefined;
  /** The last offer failed: the next is the retry's (not each new comparison's). */
  waiting: boolean;
  /** An offer failed since the staging's comparisons were last all in. */
  troubled: boolean;
  /** Comparisons added since then, for the log line once they are all in. */
  recovered: number;
}

interface StagingKeys {
  readonly totals: string;
  readonly examples: string;
  readonly exampled: string;
  readonly applied: string;
}

export class SharedShadowTotals {
  private readonly redis: RedisClient;
  private readonly keyPrefix: string;
  private readonly logger: Logger;
  /** This replica in `…:applied`: new with every process, so its batch numbers start afresh. */
  private readonly id = randomUUID();
  /** The last batch number given; numbers only grow, over every staging. */
  private batches = 0;
  /** Stagings with comparisons not yet added, by totals key. */
  private readonly queues = new Map<string, StagingQueue>();
  private retry: NodeJS.Timeout | undefined;
  /** Since an offer failed, until every staging's comparisons are in: the warning is logged once per outage. */
  private outage = false;
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
    return { totals: `${base}:totals`, examples: `${base}:examples`, exampled: `${base}:exampled`, applied: `${base}:applied` };
  }

  /** Adds one comparison; never rejects. One Redis does not take is kept and added when it answers again. */
  add(scene: string, staging: ShadowStaging, comparison: ShadowComparison): void {
    const keys = this.keys(scene, staging);
    let queue = this.queues.get(keys.totals);
    if (queue === undefined) {
      queue = { keys, scene, staging, sealed: undefined, sending: undefined, open: undefined, waiting: false, troubled: false, recovered: 0 };
      this.queues.set(keys.totals, queue);
    }
    const batch: Batch = (queue.open ??= { counts: new Map(), micros: 0, maxMicros: 0, examples: [], shown: new Set(), comparisons: 0, candidateViolations: 0 });
    const fields: string[] = [comparison.result, ...comparison.fields.map(({ floor, field }) => `d:${floor}:${field}`)];
    if (comparison.skipReason !== undefined) fields.push(`skip:${comparison.skipReason}`);
    if (comparison.candidateViolation) fields.push('candidate-violations');
    if (comparison.bothViolation) fields.push('both-violations');
    for (const field of fields) batch.counts.set(field, (batch.counts.get(field) ?? 0) + 1);
    const micros = Math.round(comparison.seconds * 1e6);
    batch.micros += micros;
    batch.maxMicros = Math.max(batch.maxMicros, micros);
    batch.comparisons++;
    if (comparison.candidateViolation) batch.candidateViolations++;
    if (comparison.example !== undefined) {
      const shows = exampleKeys(comparison.example);
      if (batch.examples.length < MAX_EXAMPLES || shows.some((key) => !batch.shown.has(key))) batch.examples.push({ json: JSON.stringify(comparison.example), shows });
      for (const key of shows) batch.shown.add(key);
    }
    if (!queue.waiting) this.offer(queue);
  }

  /**
   * Sends the staging's sealed batch, or seals its open one and sends it, unless an offer is under
   * way; on success the next one. On failure the batch stays sealed for the retry.
   */
  private offer(queue: StagingQueue): void {
    if (queue.sending !== undefined) return;
    if (queue.sealed === undefined) {
      if (queue.open === undefined) {
        if (this.queues.get(queue.keys.totals) === queue) this.queues.delete(queue.keys.totals);
        return;
      }
      queue.sealed = { number: ++this.batches, batch: queue.open };
      queue.open = undefined;
    }
    const { number, batch } = queue.sealed;
    queue.waiting = false;
    queue.sending = this.send(queue.keys, number, batch).then(
      () => {
        queue.sending = undefined;
        queue.sealed = undefined;
        if (queue.troubled) {
          queue.recovered += batch.comparisons;
          if (queue.open === undefined) this.recovered(queue);
        }
        this.offer(queue);
        return true;
      },
      (error: unknown) => {
        queue.sending = undefined;
        queue.waiting = true;
        queue.troubled = true;
        if (!this.outage) {
          this.outage = true;
          this.logger.warn(
            { err: describeThrown(error), scene: queue.scene, revision: queue.staging.revision, staged: queue.staging.createdAt },
            "shadow comparison not added to the replicas' totals in Redis; kept, and added when Redis answers again (retried every second)",
          );
        } else {
          this.logger.debug({ err: describeThrown(error), stagings: this.queues.size }, 'shadow comparisons kept through a Redis outage still not added; retried in a second');
        }
        this.retryLater();
        return false;
      },
    );
  }

  private recovered(queue: StagingQueue): void {
    this.logger.info({ comparisons: queue.recovered, scene: queue.scene, revision: queue.staging.revision }, "shadow comparisons kept through a Redis outage added to the replicas' totals");
    queue.troubled = false;
    queue.recovered = 0;
    if (![...this.queues.values()].some((other) => other.troubled)) this.outage = false;
  }

  private send(keys: StagingKeys, number: number, batch: Batch): Promise<unknown> {
    return this.redis.eval(
      ADD_SCRIPT,
      4,
      keys.totals,
      keys.examples,
      keys.exampled,
      keys.applied,
      String(TTL_SECONDS),
      this.id,
      String(number),
      String(batch.micros),
      String(batch.maxMicros),
      String(MAX_EXAMPLES),
      String(MAX_KEPT_EXAMPLES),
      String(batch.counts.size),
      ...[...batch.counts].flatMap(([field, count]) => [field, String(count)]),
      ...batch.examples.flatMap(({ json, shows }) => [json, String(shows.length), ...shows]),
    );
  }

  /** Offers the kept comparisons again in {@link RETRY_MS}, unless that is already due. */
  private retryLater(): void {
    if (this.closed) return;
    this.retry ??= setTimeout(() => {
      this.retry = undefined;
      for (const queue of this.queues.values()) if (queue.waiting) this.offer(queue);
    }, RETRY_MS).unref();
  }

  /**
   * Offers every staging's comparisons made so far to Redis now (without waiting for the retry)
   * and resolves once they are in or an offer failed. Never rejects; what Redis does not take
   * stays kept and is retried.
   */
  private async addKept(): Promise<void> {
    await Promise.all(
      [...this.queues.values()].map(async (queue) => {
        // The batch under way or sealed, then the open one: comparisons made later may ride along.
        for (let round = 0; round < 3; round++) {
          if (queue.sending === undefined) {
            if (queue.sealed === undefined && queue.open === undefined) return;
            this.offer(queue);
          }
          if (!(await queue.sending)) return;
        }
      }),
    );
  }

  /**
   * For a replica that stops: its kept comparisons offered to Redis a last time (for at most
   * {@link LAST_OFFER_MS}: Redis may be back before the next retry), and those Redis has not
   * taken named in a warning, since they leave with this replica (a promote will not count them).
   * Comparisons Redis confirmed are never named; a batch whose last offer got no reply is (a Redis
   * that hung may still add it when it resumes, once). Call before the Redis client closes. Never rejects.
   */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    this.retry = undefined;
    if (this.queues.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.addKept(), new Promise<void>((done) => (timer = setTimeout(done, LAST_OFFER_MS)))]);
    clearTimeout(timer);
    const lost = [...this.queues.values()].flatMap((queue) => {
      const batches = [queue.sealed?.batch, queue.open].filter((batch) => batch !== undefined);
      const comparisons = batches.reduce((sum, batch) => sum + batch.comparisons, 0);
      return comparisons === 0
        ? []
        : [{ scene: queue.scene, revision: queue.staging.revision, staged: queue.staging.createdAt, comparisons, candidateViolations: batches.reduce((sum, batch) => sum + batch.candidateViolations, 0) }];
    });
    if (lost.length === 0) return;
    this.logger.warn(
      { lost },
      "shadow comparisons kept through a Redis outage are lost with this replica: the replicas' totals, and a promote's verdict, will not count them",
    );
  }

  /** Before totals are read: the kept comparisons, if any, added first (a failure leaves them kept; the read says whether Redis answers). */
  private async withKeptAdded(): Promise<void> {
    if (this.queues.size > 0) await this.addKept();
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
