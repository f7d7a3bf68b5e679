/**
 * RevisionStore: the history of published layout sets, the live pointer and the audit trail,
 * in PostgreSQL or PGlite (./database.ts). Every write is one transaction: a new immutable
 * revision, the live pointer moved to it and an audit row, all or nothing; concurrent writers
 * (two replicas, two operators) are serialised by a transaction-scoped advisory lock, so each
 * gets its own revision number and the later one's parent is the earlier one — none is lost.
 *
 * The database is opened on first use and again after a failed open; while it cannot be
 * reached, operations reject with FLOORPLAN_ERR_LAYOUT_STORE_UNAVAILABLE and {@link state}
 * says `down` — serving never waits on it (the LayoutStore keeps its set). A statement that finds
 * the store's tables gone (its database created again empty) has the migrations applied again
 * ({@link RevisionStore.migrateAgain}).
 */
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { describeThrown, ErrorCode, FloorplanError, type MessageParams } from '../../errors.ts';
import type { Logger } from '../../observability/logger.ts';
import { candidateRolloutSchema, rolloutDifferences, type CandidateRollout, type CandidateSet, type StoredCandidate } from './candidates.ts';
import { describeRevisionStore, openRevisionDatabase, type RevisionDatabase, type RevisionStoreConfig, type RevisionTables } from './database.ts';
import type { Kysely } from 'kysely';

/** Any 32-bit key: only Floorplan's revision writers take it. */
const WRITE_LOCK_KEY = 0x466c7231;
/** SQLSTATE lock_not_available: lock_timeout ran out. */
const LOCK_NOT_AVAILABLE = '55P03';
/** How often a write whose COMMIT went unanswered asks what became of it. */
const COMMIT_OUTCOME_POLL_MS = 100;

/** A revision as history lists it. */
export interface RevisionSummary {
  readonly revision: number;
  /** sha256 of the file names and sources: equal hashes, equal floors. */
  readonly contentHash: string;
  readonly author: string;
  readonly message: string;
  /** ISO 8601. */
  readonly createdAt: string;
  /** The live revision when this one was recorded; null for the first. */
  readonly parent: number | null;
  /** On a rollback: the revision whose floors it restores. */
  readonly rollbackOf: number | null;
  /** On a promotion: the candidate revision it makes live. */
  readonly promotes: number | null;
}

/** A revision with its floors set. */
export interface StoredRevision extends RevisionSummary {
  /** File name ("cart-bottom-sheet.yaml") to its YAML source, byte for byte as published. */
  readonly files: Readonly<Record<string, string>>;
}

export interface AuditEntry {
  readonly at: string;
  /** The admin credential's identity, or the CLI's operating-system user. */
  readonly actor: string;
  /** publish | rollback | candidate | rollout | approve | promote | abort */
  readonly action: string;
  readonly revision: number | null;
  readonly detail: Readonly<Record<string, unknown>>;
}

export interface RecordRevisionInput {
  readonly files: Readonly<Record<string, string>>;
  /** Who the revision is by: `--author`, or the actor. */
  readonly author: string;
  /** Who did it, as authenticated. */
  readonly actor: string;
  readonly message: string;
  readonly action: 'publish' | 'rollback';
  readonly rollbackOf?: number;
  /**
   * The live revision the caller saw (a page left open, a confirmation that said "no difference"),
   * null when they saw none live: refused when another is live by now — recording theirs would
   * silently undo what went live meanwhile.
   */
  readonly expectLive?: number | null;
  /**
   * Run in the transaction, under the writers' lock, before anything is written, with every
   * scene's candidate as it stands: throws to refuse the change (a scene with a candidate it
   * would take off the air). A candidate made a moment later waits for this change, so the
   * judgement cannot be overtaken. Absent: nothing more is checked.
   */
  readonly vet?: (candidates: readonly StoredCandidate[]) => void;
}

/**
 * A change of live as it committed: the revision it made live, and every scene's candidate as the
 * store held them when it took effect — read in the change's own transaction, under the writers'
 * lock, so a candidate made or dropped just after the commit is not among them (nor one dropped
 * just before missing).
 */
export interface LiveChange {
  readonly revision: StoredRevision;
  /** Every scene's candidate, by scene, whatever its rollout reaches. */
  readonly candidates: readonly StoredCandidate[];
}

/** A candidate's revision and the live one, as a rollout change's transaction reads them. */
export interface CandidateFiles {
  /** The live revision; undefined: none yet. */
  readonly live: StoredRevision | undefined;
  /** The candidate's revision. */
  readonly candidate: StoredRevision;
}

/** Refused: the candidate of `scene` is `now`, not the `reviewed` one the caller acted on (`what`: rollout, promote, abort). */
export function staleCandidate(scene: string, now: number, reviewed: number, what: string): OperationRefused {
  return new OperationRefused(`the candidate of ${scene} is revision ${now} now, not ${reviewed}: review that one and ${what} again`);
}

/**
 * Refused: the candidate of `scene` is `now` (a revision, or null: none), not the `seen` one the
 * caller's new candidate was to replace (null: they saw none).
 */
function unseenCandidate(scene: string, now: number | null, seen: number | null): OperationRefused {
  if (now === null) {
    return new OperationRefused(`scene ${scene} has no candidate now (revision ${seen} was promoted or aborted since it was read): review what is live, then make the candidate again`);
  }
  if (seen === null) return new OperationRefused(`scene ${scene} has a candidate now (revision ${now}), which this one would replace: review it, then make the candidate again`);
  return new OperationRefused(`the candidate of ${scene} is revision ${now} now, not ${seen}: review that one, then make the candidate again`);
}

/** The file of `scene` in a revision's files ("<scene>.yaml" or ".yml"), or undefined. */
export function sceneFile(files: Readonly<Record<string, string>>, scene: string): string | undefined {
  return Object.keys(files).find((name) => name.replace(/\.ya?ml$/, '') === scene);
}

/**
 * An operation refused by Floorplan's own checks inside a transaction, or held up past the lock
 * timeout by a lock another session holds: rolled back and rethrown as is, never counted as the
 * store being down.
 */
export class OperationRefused extends Error {}

/** A promote refused because live changed the candidate's scene since it was cut; `force` replaces `changes` (floors:diff lines). */
export class LiveOvertaken extends OperationRefused {
  readonly changes: readonly string[];
  constructor(message: string, changes: readonly string[]) {
    super(message);
    this.changes = changes;
  }
}

/** Thrown by the candidate operations when the scene has no candidate (the releases turn it into the catalogue's error). */
export class NoCandidate extends OperationRefused {
  readonly scene: string;
  constructor(scene: string) {
    super(`scene ${scene} has no candidate`);
    this.scene = scene;
  }
}

/**
 * `up`: the last operation reached the database (a privilege it refused the role included: a
 * grant to make, logged, not an outage); `down`: it did not; `unopened`: nothing tried yet.
 */
export type RevisionStoreState = 'up' | 'down' | 'unopened';

/**
 * What an operation asked of the store: `write`, the statements of a change's transaction (every
 * write goes through {@link RevisionStore.write}); `read`, any other — a replica's poll included.
 */
export type RevisionStoreAccess = 'read' | 'write';

export function contentHash(files: Readonly<Record<string, string>>): string {
  const hash = createHash('sha256');
  for (const name of Object.keys(files).sort()) hash.update(`${name}\u0000${files[name] as string}\u0000`);
  return hash.digest('hex');
}

/** The store's own tables (migrations/*.sql): where a lock that holds up a write is looked for. */
const STORE_TABLES = ['layout_revisions', 'layout_live', 'layout_candidates', 'layout_candidate_generation', 'layout_audit'] as const;

/**
 * The table lock modes that hold up a layout change: each conflicts with the ROW EXCLUSIVE lock
 * its INSERT, UPDATE and DELETE take (ACCESS EXCLUSIVE with its SELECTs' ACCESS SHARE too). A
 * DBA's CREATE INDEX takes SHARE; LOCK TABLE takes ACCESS EXCLUSIVE unless told another mode.
 */
const WRITER_BLOCKING_MODES = ['ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock'] as const;

/** SQLSTATE classes that mean the store cannot be used now, whatever the statement. */
const OUTAGE_CLASSES = [
  '08', // connection exception
  '57P', // operator intervention: shutdown, crash, cannot connect now
  '53', // insufficient resources: too many connections, disk full, out of memory
  '28', // invalid authorization: a password rotated under the replicas
];

/** A driver error that says the database could not be reached or used, as opposed to a statement it refused. */
function isConnectionFailure(error: unknown): boolean {
  const { code, routine } = error as { code?: unknown; routine?: unknown };
  // Anything the server raised while starting the session (postinit.c) is the session not being
  // had: the database does not exist (3D000) or does not accept connections now (55000, ALLOW_CONNECTIONS false).
  if (routine === 'InitPostgres' || routine === 'CheckMyDatabase') return true;
  // Any other five-character SQLSTATE is the server refusing a statement: a bug, not an outage.
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return OUTAGE_CLASSES.some((prefix) => code.startsWith(prefix));
  return true;
}

/** SQLSTATE insufficient_privilege: "permission denied for table …", "must be owner of table …". */
const INSUFFICIENT_PRIVILEGE = '42501';

/**
 * Whether `error`, or an error it wraps (a failed migration's), is PostgreSQL refusing the role a
 * privilege: no CONNECT on the database, no CREATE on the schema for a migration, a table or
 * sequence not granted. A grant to make, which is neither an outage nor a bug.
 */
function isPrivilegeRefusal(error: unknown): boolean {
  let current = error;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    if ((current as { code?: unknown }).code === INSUFFICIENT_PRIVILEGE) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

type StoreUnavailableParams = MessageParams<typeof ErrorCode.LAYOUT_STORE_UNAVAILABLE>;

/** FLOORPLAN_ERR_LAYOUT_STORE_UNAVAILABLE's words for what was needed of the store and what was wrong with it. */
const STORE_PROBLEMS = {
  unreachable: { need: 'reachable', problem: 'it is not' },
  privilege: { need: 'usable by the role it connects as', problem: `that role lacks a privilege it needs (README, "The layout store's database privileges")` },
} as const satisfies Readonly<Record<string, Pick<StoreUnavailableParams, 'need' | 'problem'>>>;

/**
 * …and for what the operation needed it for, and what became of it: every write is a change; a
 * read of revisions, audit or candidates changes nothing, so it does not say "nothing was
 * changed"; a publish check (POST /admin/layouts/check) reaches the store only for a set that
 * passed every rule needing no live revision, and says what was left unchecked.
 */
const STORE_PURPOSES = {
  change: { purpose: 'change layouts', outcome: 'nothing was changed, every replica keeps serving the live revision' },
  read: { purpose: 'read layout revisions', outcome: 'every replica keeps serving the live revision' },
  check: {
    purpose: 'check the set against the live revision',
    outcome:
      'the check is incomplete: the set passes every rule that needs no live revision, but the rules for files that differ from live, the diff from live and the approval were not checked; every replica keeps serving the live revision',
  },
} as const satisfies Readonly<Record<string, Pick<StoreUnavailableParams, 'purpose' | 'outcome'>>>;

/** Whether `error` is the store's FLOORPLAN_ERR_LAYOUT_STORE_UNAVAILABLE: it could not be used, nothing about the operation's input. */
export function isStoreUnavailable(error: unknown): error is FloorplanError<typeof ErrorCode.LAYOUT_STORE_UNAVAILABLE> {
  return error instanceof FloorplanError && error.code === ErrorCode.LAYOUT_STORE_UNAVAILABLE;
}

/** The store's FLOORPLAN_ERR_LAYOUT_STORE_UNAVAILABLE reworded for `purpose`; anything else as it is. */
function rewordedFor(error: unknown, purpose: keyof typeof STORE_PURPOSES): unknown {
  if (!isStoreUnavailable(error)) return error;
  return new FloorplanError(ErrorCode.LAYOUT_STORE_UNAVAILABLE, { ...error.params, ...STORE_PURPOSES[purpose] }, { cause: error.cause });
}

/**
 * `error` as a read (history, show, diff, audit, candidates) answers it: the store's
 * FLOORPLAN_ERR_LAYOUT_STORE_UNAVAILABLE is worded for a change, as whatever the store was
 * asked first (a publish reads the live revision before it writes) may be part of one; anything
 * else as it is.
 */
export function asReadRefusal(error: unknown): unknown {
  return rewordedFor(error, 'read');
}

/** `error` as a publish check answers it, for a set that passed every rule needing no live revision (see STORE_PURPOSES). */
export function asCheckRefusal(error: unknown): unknown {
  return rewordedFor(error, 'check');
}

/** SQLSTATE undefined_table. */
const UNDEFINED_TABLE = '42P01';

/** The store's table a statement found missing (`relation "layout_live" does not exist`), or undefined for any other error. */
function missingStoreTable(error: unknown): string | undefined {
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (code !== UNDEFINED_TABLE || typeof message !== 'string') return undefined;
  const table = /relation "(?:[^".]+\.)?([^".]+)" does not exist/.exec(message)?.[1];
  return (STORE_TABLES as readonly string[]).includes(table ?? '') ? table : undefined;
}

function iso(value: Date | string): string {
  return (value instanceof Date ? value : new Date(value)).toISOString();
}

type RevisionRow = Omit<RevisionTables['layout_revisions'], 'files' | 'created_at'> & { created_at: Date | string };

function summaryOf(row: RevisionRow): RevisionSummary {
  return {
    revision: row.revision,
    contentHash: row.content_hash,
    author: row.author,
    message: row.message,
    createdAt: iso(row.created_at),
    parent: row.parent,
    rollbackOf: row.rollback_of,
    promotes: row.promotes ?? null,
  };
}

type CandidateRow = Omit<RevisionTables['layout_candidates'], 'rollout' | 'created_at' | 'updated_at' | 'approved_at'> & {
  rollout: Record<string, unknown>;
  created_at: Date | string;
  updated_at: Date | string;
  approved_at: Date | string | null;
};

function candidateOf(row: CandidateRow): StoredCandidate {
  return {
    scene: row.scene,
    revision: row.revision,
    // Written by this code through the same schema; parsed again so a hand edit cannot smuggle in a bad shape.
    rollout: candidateRolloutSchema.parse(row.rollout) as CandidateRollout,
    author: row.author,
    message: row.message,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    publishedBy: row.published_by ?? row.author,
    approvedBy: row.approved_by,
    approvedAt: row.approved_at === null ? null : iso(row.approved_at),
  };
}

type Transaction = Kysely<RevisionTables>;

export interface RevisionStoreOptions {
  readonly logger: Logger;
  /** Told whenever {@link RevisionStore.state} changes (metrics, readiness). */
  readonly onStateChange?: (state: RevisionStoreState) => void;
  /**
   * Told of every operation PostgreSQL refused for a privilege the role lacks, and whether it was
   * a read or a write (metrics): the state stays `up` and the log says each distinct refusal once,
   * so this is what shows a role whose every poll is refused.
   */
  readonly onPrivilegeRefused?: (access: RevisionStoreAccess) => void;
  /** Replaces openRevisionDatabase (tests). */
  readonly open?: typeof openRevisionDatabase;
}

export class RevisionStore {
  readonly config: RevisionStoreConfig;
  /** For messages: "PostgreSQL at postgres://…" or "PGlite in …". */
  readonly where: string;
  private readonly options: RevisionStoreOptions;
  private database: Promise<RevisionDatabase> | undefined;
  /** The migrations being applied again because a statement found a table missing; shared by every operation that found it meanwhile. */
  private remigrating: Promise<void> | undefined;
  private current: RevisionStoreState = 'unopened';
  private lastError = '';
  private closed = false;
  /** The privilege refusals logged (PostgreSQL's words): one line each, however often they recur. */
  private readonly privilegesRefused = new Set<string>();

  constructor(config: RevisionStoreConfig, options: RevisionStoreOptions) {
    this.config = config;
    this.options = options;
    this.where = describeRevisionStore(config);
  }

  state(): RevisionStoreState {
    return this.current;
  }

  /** Why the store is down, for readiness detail; empty while up. */
  problem(): string {
    return this.current === 'down' ? this.lastError : '';
  }

  /** The live revision with its floors, or undefined when nothing was ever published. */
  async live(): Promise<StoredRevision | undefined> {
    return this.use((db) => this.liveIn(db));
  }

  /** Just the live revision's number: what a replica polls. */
  async liveRevision(): Promise<number | undefined> {
    return this.use(async (db) => (await db.selectFrom('layout_live').select('revision').where('channel', '=', 'live').executeTakeFirst())?.revision);
  }

  async get(revision: number): Promise<StoredRevision | undefined> {
    return this.use(async (db) => {
      const row = await db.selectFrom('layout_revisions').selectAll().where('revision', '=', revision).executeTakeFirst();
      return row === undefined ? undefined : { ...summaryOf(row), files: row.files };
    });
  }

  /** The newest `limit` revisions, newest first. */
  async history(limit: number): Promise<RevisionSummary[]> {
    return this.use(async (db) => {
      const rows = await db
        .selectFrom('layout_revisions')
        .select(['revision', 'content_hash', 'author', 'message', 'created_at', 'parent', 'rollback_of', 'promotes'])
        .orderBy('revision', 'desc')
        .limit(limit)
        .execute();
      return rows.map(summaryOf);
    });
  }

  /** The newest `limit` audit entries, newest first. */
  async audit(limit: number): Promise<AuditEntry[]> {
    return this.use(async (db) => {
      const rows = await db.selectFrom('layout_audit').selectAll().orderBy('id', 'desc').limit(limit).execute();
      return rows.map((r) => ({ at: iso(r.at), actor: r.actor, action: r.action, revision: r.revision, detail: r.detail }));
    });
  }

  /** Records a new revision and makes it live, with its audit entry, in one transaction; with the candidates as that transaction saw them. */
  async record(input: RecordRevisionInput): Promise<LiveChange> {
    return this.write(async (trx) => {
      if (input.expectLive !== undefined) {
        const live = (await trx.selectFrom('layout_live').select('revision').where('channel', '=', 'live').executeTakeFirst())?.revision ?? null;
        if (live !== input.expectLive) {
          throw new OperationRefused(`live is revision ${live ?? 'none'} now, not ${input.expectLive ?? 'none'}: look at what changed since, then ${input.action} again`);
        }
      }
      input.vet?.(await this.candidatesIn(trx));
      const revision = await this.insertRevision(trx, { files: input.files, author: input.author, message: input.message, rollbackOf: input.rollbackOf ?? null, promotes: null });
      const from = await this.makeLive(trx, revision.revision);
      const detail = { from, ...(input.rollbackOf === undefined ? {} : { rollbackOf: input.rollbackOf }), author: input.author, message: input.message };
      await this.audit_(trx, input.actor, input.action, revision.revision, detail);
      return { revision, candidates: await this.candidatesIn(trx) };
    });
  }

  /** The generation of the candidate set: what a replica polls. */
  async candidateGeneration(): Promise<number> {
    return this.use(async (db) => (await db.selectFrom('layout_candidate_generation').select('generation').where('id', '=', 1).executeTakeFirst())?.generation ?? 0);
  }

  /** Every candidate with the file it serves, at the current generation. */
  async candidates(): Promise<CandidateSet> {
    return this.use((db) =>
      db.transaction().execute(async (trx) => {
        const generation = (await trx.selectFrom('layout_candidate_generation').select('generation').where('id', '=', 1).executeTakeFirst())?.generation ?? 0;
        const rows = await trx
          .selectFrom('layout_candidates')
          .innerJoin('layout_revisions', 'layout_revisions.revision', 'layout_candidates.revision')
          .selectAll('layout_candidates')
          .select('layout_revisions.files')
          .orderBy('layout_candidates.scene')
          .execute();
        const candidates = rows.map((row) => {
          const file = sceneFile(row.files, row.scene) as string;
          return { ...candidateOf(row), file, source: row.files[file] as string };
        });
        return { generation, candidates };
      }),
    );
  }

  /** Every scene's candidate, by scene, as the transaction `trx` sees them. */
  private async candidatesIn(trx: Transaction): Promise<StoredCandidate[]> {
    const rows = await trx.selectFrom('layout_candidates').selectAll().orderBy('scene').execute();
    return rows.map(candidateOf);
  }

  /** A scene's candidate, or undefined. */
  async candidate(scene: string): Promise<StoredCandidate | undefined> {
    return this.use(async (db) => {
      const row = await db.selectFrom('layout_candidates').selectAll().where('scene', '=', scene).executeTakeFirst();
      return row === undefined ? undefined : candidateOf(row);
    });
  }

  /**
   * Makes a revision the candidate of `scene`, replacing any candidate it had: `files` records a
   * new revision first (not live: its parent is the live one), `revision` names an existing one.
   */
  async publishCandidate(input: {
    readonly scene: string;
    readonly source: { readonly files: Readonly<Record<string, string>> } | { readonly revision: number };
    readonly rollout: CandidateRollout;
    readonly author: string;
    readonly actor: string;
    readonly message: string;
    /**
     * The scene's candidate revision the caller saw (their confirmation said it replaces that
     * one), null when they saw none: refused when the scene's candidate is another by now, or
     * none — replacing it would silently drop a candidate another operator made meanwhile.
     */
    readonly replaces?: number | null;
  }): Promise<{ candidate: StoredCandidate; revision: StoredRevision; replaced: number | null }> {
    return this.write(async (trx) => {
      const replaced = (await trx.selectFrom('layout_candidates').select('revision').where('scene', '=', input.scene).executeTakeFirst())?.revision ?? null;
      if (input.replaces !== undefined && replaced !== input.replaces) throw unseenCandidate(input.scene, replaced, input.replaces);
      let revision: StoredRevision;
      if ('files' in input.source) {
        revision = await this.insertRevision(trx, { files: input.source.files, author: input.author, message: input.message, rollbackOf: null, promotes: null });
      } else {
        const row = await trx.selectFrom('layout_revisions').selectAll().where('revision', '=', input.source.revision).executeTakeFirstOrThrow();
        revision = { ...summaryOf(row), files: row.files };
      }
      // A new candidate revision (or the same one published again) needs its own approval.
      const values = {
        scene: input.scene,
        revision: revision.revision,
        rollout: JSON.stringify(input.rollout),
        author: input.author,
        message: input.message,
        published_by: input.actor,
        approved_by: null,
        approved_at: null,
      };
      const row = await trx
        .insertInto('layout_candidates')
        .values(values)
        .onConflict((oc) => oc.column('scene').doUpdateSet({ ...values, created_at: sql`now()`, updated_at: sql`now()` }))
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.nextGeneration(trx);
      await this.audit_(trx, input.actor, 'candidate', revision.revision, { scene: input.scene, rollout: input.rollout, replaced, author: input.author, message: input.message });
      return { candidate: candidateOf(row), revision, replaced };
    });
  }

  /** Changes a candidate's rollout; throws {@link NoCandidate}. */
  async changeRollout(input: {
    readonly scene: string;
    /**
     * The new rollout from the stored one, judged in this transaction: `candidate` as it stands,
     * and `files`, which reads its revision and the live one in it (when the judgement needs
     * them: approval). Whatever it throws aborts the change.
     */
    readonly rollout: (current: CandidateRollout, candidate: StoredCandidate, files: () => Promise<CandidateFiles>) => CandidateRollout | Promise<CandidateRollout>;
    readonly actor: string;
    /** The candidate revision the caller reviewed: refused when the candidate is another by now. */
    readonly revision?: number;
    /**
     * The rollout the caller saw: refused when the stored one selects other users by now. A
     * change of one field is applied to the others as stored, so without this an operator
     * whose page predates another's change would silently undo it (their page's values win).
     */
    readonly seen?: CandidateRollout;
    /** Why, for the audit. */
    readonly message?: string;
  }): Promise<StoredCandidate> {
    return this.write(async (trx) => {
      const current = await trx.selectFrom('layout_candidates').selectAll().where('scene', '=', input.scene).executeTakeFirst();
      if (current === undefined) throw new NoCandidate(input.scene);
      if (input.revision !== undefined && current.revision !== input.revision) throw staleCandidate(input.scene, current.revision, input.revision, 'rollout');
      const before = candidateOf(current).rollout;
      const changed = input.seen === undefined ? [] : rolloutDifferences(input.seen, before);
      if (changed.length > 0) {
        throw new OperationRefused(`the rollout of the candidate of ${input.scene} changed since it was read (${changed.join('; ')}): review it, then change it again`);
      }
      const rollout = await input.rollout(before, candidateOf(current), async () => ({
        live: await this.liveIn(trx),
        candidate: (await this.revisionIn(trx, current.revision)) as StoredRevision,
      }));
      const row = await trx
        .updateTable('layout_candidates')
        .set({ rollout: JSON.stringify(rollout), updated_at: sql`now()` })
        .where('scene', '=', input.scene)
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.nextGeneration(trx);
      await this.audit_(trx, input.actor, 'rollout', current.revision, { scene: input.scene, from: before, to: rollout, message: input.message ?? '' });
      return candidateOf(row);
    });
  }

  /**
   * Makes a scene's candidate live: records the revision `compose` builds from the live revision
   * and the candidate's (it records `promotes`), drops the candidate, audits — one transaction,
   * which also reads the other scenes' candidates as they stand once it is done ({@link LiveChange}).
   * Throws {@link NoCandidate}; whatever `compose` throws aborts it.
   */
  async promote(input: {
    readonly scene: string;
    /**
     * The floors to make live, from the live revision, the candidate and its revision, and `base`:
     * the live revision the candidate was cut from (its parent), when it was recorded as a
     * candidate; undefined for a revision that was live once, staged again as it was.
     */
    readonly compose: (
      live: StoredRevision | undefined,
      candidate: StoredCandidate,
      candidateRevision: StoredRevision,
      base: StoredRevision | undefined,
    ) => Readonly<Record<string, string>>;
    readonly author: string;
    readonly actor: string;
    readonly message: string;
    /** The audit's detail, read once the floors are composed. */
    readonly detail: () => Readonly<Record<string, unknown>>;
  }): Promise<LiveChange & { readonly candidate: StoredCandidate }> {
    return this.write(async (trx) => {
      const row = await trx.selectFrom('layout_candidates').selectAll().where('scene', '=', input.scene).executeTakeFirst();
      if (row === undefined) throw new NoCandidate(input.scene);
      const candidate = candidateOf(row);
      const candidateRow = await trx.selectFrom('layout_revisions').selectAll().where('revision', '=', candidate.revision).executeTakeFirstOrThrow();
      const live = await this.liveIn(trx);
      const base = (await this.wasLiveIn(trx, candidate.revision)) || candidateRow.parent === null ? undefined : await this.revisionIn(trx, candidateRow.parent);
      const files = input.compose(live, candidate, { ...summaryOf(candidateRow), files: candidateRow.files }, base);
      const revision = await this.insertRevision(trx, { files, author: input.author, message: input.message, rollbackOf: null, promotes: candidate.revision });
      const from = await this.makeLive(trx, revision.revision);
      await trx.deleteFrom('layout_candidates').where('scene', '=', input.scene).execute();
      await this.nextGeneration(trx);
      const approval = candidate.approvedBy === null ? {} : { approvedBy: candidate.approvedBy };
      await this.audit_(trx, input.actor, 'promote', revision.revision, { scene: input.scene, from, promotes: candidate.revision, author: input.author, message: input.message, ...approval, ...input.detail() });
      return { revision, candidate, candidates: await this.candidatesIn(trx) };
    });
  }

  /**
   * Records `actor`'s approval of a scene's candidate, which must still be `revision`; throws
   * {@link NoCandidate}, or {@link OperationRefused} when `actor` published or authored it, or
   * the candidate is another revision by now.
   */
  async approve(input: { readonly scene: string; readonly revision: number; readonly actor: string; readonly message: string; readonly detail: Readonly<Record<string, unknown>> }): Promise<StoredCandidate> {
    return this.write(async (trx) => {
      const row = await trx.selectFrom('layout_candidates').selectAll().where('scene', '=', input.scene).executeTakeFirst();
      if (row === undefined) throw new NoCandidate(input.scene);
      const current = candidateOf(row);
      if (current.revision !== input.revision) {
        throw new OperationRefused(`the candidate of ${input.scene} is revision ${current.revision} now, not ${input.revision}: review that one and approve it`);
      }
      if (input.actor === current.publishedBy || input.actor === current.author) {
        throw new OperationRefused(
          `${input.actor} published the candidate of ${input.scene} (revision ${current.revision}${current.author === current.publishedBy ? '' : `, author ${current.author}`}): another admin must approve it`,
        );
      }
      // Staging a revision again (after an abort, say) makes the one who did it its publisher;
      // whoever wrote or staged that content before is still not a second pair of eyes on it.
      if (await this.wroteOrStaged(trx, input.actor, current.revision)) {
        throw new OperationRefused(
          `${input.actor} wrote or staged revision ${current.revision}, the candidate of ${input.scene} (published now by ${current.publishedBy}): another admin must approve it`,
        );
      }
      const updated = await trx
        .updateTable('layout_candidates')
        .set({ approved_by: input.actor, approved_at: sql`now()` })
        .where('scene', '=', input.scene)
        .returningAll()
        .executeTakeFirstOrThrow();
      // Replicas serve an unapproved money candidate to its allow-list only: they must hear of its approval.
      await this.nextGeneration(trx);
      await this.audit_(trx, input.actor, 'approve', current.revision, { scene: input.scene, message: input.message, ...input.detail });
      return candidateOf(updated);
    });
  }

  /** Whether `actor` is the recorded author of `revision`, or recorded, published or staged it as a candidate (the audit). */
  private async wroteOrStaged(trx: Transaction, actor: string, revision: number): Promise<boolean> {
    const authored = await trx.selectFrom('layout_revisions').select('revision').where('revision', '=', revision).where('author', '=', actor).executeTakeFirst();
    if (authored !== undefined) return true;
    const staged = await trx
      .selectFrom('layout_audit')
      .select('id')
      .where('revision', '=', revision)
      .where('actor', '=', actor)
      .where('action', 'in', ['publish', 'rollback', 'candidate'])
      .limit(1)
      .executeTakeFirst();
    return staged !== undefined;
  }

  /** Whether `revision` was ever the live one (a publish, rollback or promote made it live; a candidate's own revision never was). */
  async wasLive(revision: number): Promise<boolean> {
    return this.use((db) => this.wasLiveIn(db, revision));
  }

  private async wasLiveIn(db: Transaction, revision: number): Promise<boolean> {
    const row = await db.selectFrom('layout_audit').select('id').where('revision', '=', revision).where('action', 'in', ['publish', 'rollback', 'promote']).limit(1).executeTakeFirst();
    return row !== undefined;
  }

  /** The live revision as `db` sees it; undefined: none yet. */
  private async liveIn(db: Transaction): Promise<StoredRevision | undefined> {
    const row = await db
      .selectFrom('layout_live')
      .innerJoin('layout_revisions', 'layout_revisions.revision', 'layout_live.revision')
      .selectAll('layout_revisions')
      .where('layout_live.channel', '=', 'live')
      .executeTakeFirst();
    return row === undefined ? undefined : { ...summaryOf(row), files: row.files };
  }

  private async revisionIn(db: Transaction, revision: number): Promise<StoredRevision | undefined> {
    const row = await db.selectFrom('layout_revisions').selectAll().where('revision', '=', revision).executeTakeFirst();
    return row === undefined ? undefined : { ...summaryOf(row), files: row.files };
  }

  /** Drops a scene's candidate; throws {@link NoCandidate}. */
  async abort(input: { readonly scene: string; readonly actor: string; readonly message: string; readonly revision?: number }): Promise<StoredCandidate> {
    return this.write(async (trx) => {
      const row = await trx.selectFrom('layout_candidates').selectAll().where('scene', '=', input.scene).executeTakeFirst();
      if (row === undefined) throw new NoCandidate(input.scene);
      if (input.revision !== undefined && row.revision !== input.revision) throw staleCandidate(input.scene, row.revision, input.revision, 'abort');
      await trx.deleteFrom('layout_candidates').where('scene', '=', input.scene).execute();
      await this.nextGeneration(trx);
      await this.audit_(trx, input.actor, 'abort', row.revision, { scene: input.scene, message: input.message });
      return candidateOf(row);
    });
  }

  /**
   * Runs `operation` in a transaction holding the writers' lock: every write goes through here.
   * When the store stops answering once the operation is done and its COMMIT sent (a COMMIT past
   * the query timeout, a reply lost on the network), the change may or may not have been made:
   * PostgreSQL is asked what became of the transaction ({@link commitOutcome}), so the caller gets
   * the change if it was made, "nothing was changed" only if it was not, and
   * FLOORPLAN_ERR_LAYOUT_STORE_UNCONFIRMED if the store cannot tell within the query timeout.
   */
  private async write<T>(operation: (trx: Transaction) => Promise<T>): Promise<T> {
    let transaction: string | undefined;
    let done: { readonly value: T } | undefined;
    const lockTimeoutMs = Math.max(1, Math.floor(this.config.queryTimeoutMs / 2));
    try {
      return await this.use((db) =>
        db.transaction().execute(async (trx) => {
          // Waits for a lock at most half the query timeout — another writer's, or a table lock a
          // DBA holds (an index being built, a LOCK TABLE): a lock held longer is a conflict to
          // retry, not a store that does not answer (which the query timeout would say).
          await sql`SELECT set_config('lock_timeout', ${`${lockTimeoutMs}ms`}, true)`.execute(trx);
          try {
            await sql`SELECT pg_advisory_xact_lock(${WRITE_LOCK_KEY})`.execute(trx);
          } catch (error) {
            if ((error as { code?: unknown }).code === LOCK_NOT_AVAILABLE) {
              throw new OperationRefused("another layout change holds the revision store's write lock: try again in a moment");
            }
            throw error;
          }
          // Its id, to ask about it if the COMMIT goes unanswered (txid_status, PostgreSQL 10+).
          transaction = (await sql<{ id: string }>`SELECT txid_current()::text AS id`.execute(trx)).rows[0]?.id;
          const value = await operation(trx);
          done = { value };
          return value;
        }),
        'write',
      );
    } catch (error) {
      // A statement of the operation waited out the lock timeout on one of the store's tables or
      // rows: rolled back, nothing changed. Its error says only "canceling statement due to lock
      // timeout", so the lock is looked for to name it to whoever must release it.
      if (done === undefined && (error as { code?: unknown }).code === LOCK_NOT_AVAILABLE) throw await this.lockedOut(lockTimeoutMs, error);
      if (done === undefined || transaction === undefined || !(error instanceof FloorplanError) || error.code !== ErrorCode.LAYOUT_STORE_UNAVAILABLE) throw error;
      const outcome = await this.commitOutcome(transaction);
      if (outcome === 'committed') {
        this.options.logger.warn({ store: this.where, transaction, err: error.message }, 'the revision store confirmed a layout change late: its COMMIT outlasted the query timeout or its reply was lost, and it took effect');
        return done.value;
      }
      if (outcome === 'aborted') throw error;
      throw new FloorplanError(ErrorCode.LAYOUT_STORE_UNCONFIRMED, { store: this.where, cause: String(error.params.cause) }, { cause: error });
    }
  }

  /**
   * The refusal of a write that waited `waitedMs` for a lock (`error`, SQLSTATE 55P03) and gave
   * up: naming the table locks other sessions hold now in a mode that holds up a write (pg_locks,
   * which every role may read), or, when there is none by now (released meanwhile, or a row lock
   * of an open transaction, which pg_locks does not show by table), the lock in general words.
   */
  private async lockedOut(waitedMs: number, error: unknown): Promise<OperationRefused> {
    let holders: ReadonlyArray<{ relation: string; mode: string; pid: number }> = [];
    try {
      holders = await this.use(
        async (db) =>
          (
            await sql<{ relation: string; mode: string; pid: number }>`
              SELECT l.relation::regclass::text AS relation, l.mode, l.pid
              FROM pg_locks l
              WHERE l.granted AND l.pid <> pg_backend_pid()
                AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                AND l.relation IN (SELECT to_regclass(name) FROM unnest(${[...STORE_TABLES]}::text[]) AS name)
                AND l.mode = ANY(${[...WRITER_BLOCKING_MODES]}::text[])
              ORDER BY 1, 3`.execute(db)
          ).rows,
      );
    } catch {
      // The lock is still described below, without its table.
    }
    const half = '(half of layouts.store.queryTimeoutMs)';
    const named = holders.map((h) => `${h.relation} (${h.mode}, PostgreSQL process ${h.pid})`);
    if (holders.length === 0) {
      return new OperationRefused(`a lock another session holds on the revision store's tables or rows kept this change waiting ${waitedMs} ms ${half}: try again once it is released`, { cause: error });
    }
    if (holders.length === 1) {
      const [{ relation, mode, pid }] = holders as [{ relation: string; mode: string; pid: number }];
      return new OperationRefused(`the revision store's table ${relation} is locked by another session (${mode}, PostgreSQL process ${pid}): this change waited ${waitedMs} ms for it ${half}; try again once that lock is released`, { cause: error });
    }
    return new OperationRefused(`the revision store's tables are locked by other sessions, ${named.join(', ')}: this change waited ${waitedMs} ms for one of them ${half}; try again once they are released`, { cause: error });
  }

  /**
   * What became of transaction `id` whose COMMIT went unanswered: asked again until PostgreSQL
   * says committed or aborted, for at most the query timeout; `unknown` if it cannot tell by then
   * (still committing, or the store cannot be reached).
   */
  private async commitOutcome(id: string): Promise<'committed' | 'aborted' | 'unknown'> {
    const giveUpAt = performance.now() + this.config.queryTimeoutMs;
    for (;;) {
      try {
        const status = await this.use(async (db) => (await sql<{ status: string | null }>`SELECT txid_status(${id}::bigint) AS status`.execute(db)).rows[0]?.status);
        if (status === 'committed' || status === 'aborted') return status;
      } catch {
        // Not reachable yet: asked again below while there is time.
      }
      if (performance.now() >= giveUpAt) return 'unknown';
      await new Promise((done) => setTimeout(done, COMMIT_OUTCOME_POLL_MS));
    }
  }

  private async insertRevision(
    trx: Transaction,
    input: { files: Readonly<Record<string, string>>; author: string; message: string; rollbackOf: number | null; promotes: number | null },
  ): Promise<StoredRevision> {
    const parent = (await trx.selectFrom('layout_live').select('revision').where('channel', '=', 'live').executeTakeFirst())?.revision ?? null;
    const newest = await trx.selectFrom('layout_revisions').select((eb) => eb.fn.max('revision').as('max')).executeTakeFirst();
    const revision = Number(newest?.max ?? 0) + 1;
    const row = await trx
      .insertInto('layout_revisions')
      .values({
        revision,
        content_hash: contentHash(input.files),
        files: JSON.stringify(input.files),
        author: input.author,
        message: input.message,
        parent,
        rollback_of: input.rollbackOf,
        promotes: input.promotes,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return { ...summaryOf(row), files: row.files };
  }

  /** Points `live` at `revision`; resolves the revision it pointed at before (null: none). */
  private async makeLive(trx: Transaction, revision: number): Promise<number | null> {
    const from = (await trx.selectFrom('layout_live').select('revision').where('channel', '=', 'live').executeTakeFirst())?.revision ?? null;
    await trx
      .insertInto('layout_live')
      .values({ channel: 'live', revision })
      .onConflict((oc) => oc.column('channel').doUpdateSet({ revision, since: sql`now()` }))
      .execute();
    return from;
  }

  private async nextGeneration(trx: Transaction): Promise<void> {
    await trx.updateTable('layout_candidate_generation').set((eb) => ({ generation: eb('generation', '+', 1) })).where('id', '=', 1).execute();
  }

  private async audit_(trx: Transaction, actor: string, action: string, revision: number | null, detail: Readonly<Record<string, unknown>>): Promise<void> {
    await trx.insertInto('layout_audit').values({ actor, action, revision, detail: JSON.stringify(detail) }).execute();
  }

  /** Opens the database now (a command, before it reads options from the store); rejects as an operation would. */
  async check(): Promise<void> {
    await this.use((db) => sql`SELECT 1`.execute(db));
  }

  /** Opens the database now (start-up), reporting whether it is reachable; never rejects. */
  async probe(): Promise<boolean> {
    try {
      await this.check();
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const database = this.database;
    this.database = undefined;
    if (database !== undefined) await database.then((d) => d.close(), () => undefined);
  }

  /** Runs `operation` on the database, opened if need be; `access`: whether it is a change's transaction ({@link write}) or not. */
  private async use<T>(operation: (db: Kysely<RevisionTables>) => Promise<T>, access: RevisionStoreAccess = 'read'): Promise<T> {
    if (this.closed) throw this.unavailable('the store is closed', access);
    let database: RevisionDatabase;
    try {
      this.database ??= (this.options.open ?? openRevisionDatabase)(this.config, this.options.logger);
      database = await this.database;
    } catch (error) {
      this.database = undefined;
      throw this.unavailable(describeThrown(error), access, error);
    }
    try {
      let result: T;
      try {
        result = await operation(database.db);
      } catch (error) {
        const table = missingStoreTable(error);
        if (table === undefined) throw error;
        // Rolled back, nothing done: run once more on the tables the migrations make again. Found
        // missing once more, the error is answered below as the store being unusable.
        await this.migrateAgain(database, table, access);
        result = await operation(database.db);
      }
      this.setState('up', '');
      return result;
    } catch (error) {
      if (error instanceof OperationRefused || error instanceof FloorplanError) throw error;
      const table = missingStoreTable(error);
      if (table !== undefined) {
        throw this.unavailable(`its table ${table} is missing (${describeThrown(error)}) though floorplan_migrations records every migration as applied: it was dropped by hand; restore it from a backup`, access, error);
      }
      if (!isPrivilegeRefusal(error) && !isConnectionFailure(error)) throw error;
      throw this.unavailable(describeThrown(error), access, error);
    }
  }

  /**
   * The store's `table` was found missing, after the database was opened and migrated: it was
   * dropped and created again empty, or restored from a dump without its tables. Migrations run
   * only when the database is opened, so this applies them again — once for every operation that
   * finds a table missing meanwhile (a run under way is shared), and only when one does, never per
   * operation — then the caller runs its operation again. Rejects with
   * FLOORPLAN_ERR_LAYOUT_STORE_UNAVAILABLE naming the table and why they could not be applied (a
   * role without CREATE on the schema: README "The layout store's database privileges"); the
   * next operation that finds the table missing tries again, as one does after a failed open.
   */
  private async migrateAgain(database: RevisionDatabase, table: string, access: RevisionStoreAccess): Promise<void> {
    this.remigrating ??= (async () => {
      try {
        const migrations = await database.migrate();
        if (migrations.length > 0) {
          this.options.logger.warn({ store: this.where, table, migrations }, "the revision store's tables were missing (its database created again, or restored without them): the migrations were applied again");
        }
      } finally {
        this.remigrating = undefined;
      }
    })();
    try {
      await this.remigrating;
    } catch (error) {
      throw this.unavailable(`its tables are missing (relation "${table}" does not exist: its database was created again or restored without them), and applying the migrations again failed: ${describeThrown(error)}`, access, error);
    }
  }

  /**
   * FLOORPLAN_ERR_LAYOUT_STORE_UNAVAILABLE for `cause`, worded for a change (a read rewords it:
   * {@link asReadRefusal}): "must be reachable …, but it is not", or, when PostgreSQL refused the
   * role a privilege, "must be usable by the role it connects as …, but that role lacks a privilege".
   * `access`: what the operation refused asked of the store.
   */
  private unavailable(cause: string, access: RevisionStoreAccess, error?: unknown): FloorplanError {
    const privilege = isPrivilegeRefusal(error);
    if (privilege) this.privilegeRefused(cause, access);
    else this.setState('down', cause);
    const problem = privilege ? STORE_PROBLEMS.privilege : STORE_PROBLEMS.unreachable;
    return new FloorplanError(ErrorCode.LAYOUT_STORE_UNAVAILABLE, { store: this.where, cause, ...problem, ...STORE_PURPOSES.change }, { cause: error });
  }

  /**
   * PostgreSQL refused the role a privilege: the database answered, so the store is up. Marked
   * down, floorplan_layout_store_up and /readyz would flip with every refused change and back
   * with every read between them, and send the on-call after the network instead of a missing
   * GRANT; it is logged at error level as what it is instead — once per refusal, so a replica
   * refused on every poll does not repeat it (the operation's answer says it each time) — and
   * every refused operation is counted ({@link RevisionStoreOptions.onPrivilegeRefused}), so a
   * role refused its every poll shows on /metrics, which the one log line alone would not.
   */
  private privilegeRefused(cause: string, access: RevisionStoreAccess): void {
    this.setState('up', '');
    this.options.onPrivilegeRefused?.(access);
    if (this.privilegesRefused.has(cause)) return;
    this.privilegesRefused.add(cause);
    this.options.logger.error(
      { store: this.where, err: cause },
      'the layout revision store refuses the role it connects as a privilege: grant it (README, "The layout store\'s database privileges"); the operations needing it are refused meanwhile, serving continues with the layouts already loaded',
    );
  }

  private setState(state: RevisionStoreState, problem: string): void {
    this.lastError = problem;
    if (state === this.current) return;
    this.current = state;
    if (state === 'down') this.options.logger.warn({ store: this.where, err: problem }, 'layout revision store unavailable; serving continues with the layouts already loaded');
    else this.options.logger.info({ store: this.where }, 'layout revision store reachable');
    this.options.onStateChange?.(state);
  }
}
