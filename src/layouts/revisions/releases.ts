/**
 * Layout releases: the operations operators run on layouts — publish, history, show, diff,
 * rollback, audit — in one place, so the CLI (src/cli/floors.ts) and the admin HTTP API
 * (src/operators/layout-admin.ts) are the same operations with the same answers.
 *
 * A publish validates the whole set exactly as a replica will (compile, plus the owner's
 * checks), records it as a new immutable revision that becomes live, then pushes it to the
 * replicas through Redis. A rollback records the floors of an earlier revision as a new
 * revision (`rollbackOf` says which), so history only ever grows and the audit shows who went
 * back, when, and to what.
 */
import type { ClientsConfig } from '../../config/clients-config.ts';
import type { AppsConfig } from '../../config/service-config.ts';
import { describeThrown, ErrorCode, FloorplanError, type MessageParams } from '../../errors.ts';
import type { BuilderRegistry } from '../../floors/registry.ts';
import type { Logger } from '../../observability/logger.ts';
import { compileFloorsSources, differsFromLive, layoutInvalid, type FloorsSource, type LayoutSet } from '../compile.ts';
import { assertCompatible, checkCompatibility, IncompatibleLayouts, type CompatibilityReport } from '../compatibility.ts';
import type { PushOutcome } from '../publish.ts';
import { describeMoneyChanges, moneyFloorChanges, type ApprovalSettings, type MoneyFloorChange } from './approval.ts';
import { diffLayouts, formatLayoutsDiff, versionsKept, type LayoutsDiff, type VersionKept } from './diff.ts';
import {
  candidateLayoutVersion,
  candidateRolloutSchema,
  candidatesPushRefusal,
  DEFAULT_ROLLOUT,
  reachesAnyone,
  reachesBeyondAllowList,
  rolloutWhom,
  widensBeyondAllowList,
  type CandidateRollout,
  type CandidateSet,
  type StoredCandidate,
} from './candidates.ts';
import { asReadRefusal, isStoreUnavailable, LiveOvertaken, NoCandidate, OperationRefused, sceneFile, staleCandidate, type AuditEntry, type RevisionStore, type RevisionSummary, type StoredRevision } from './revision-store.ts';

/** How many of the newest audit entries are searched for how a candidate the caller saw ended: a race lost just now is among them. */
const CANDIDATE_END_LOOKBACK = 50;

/** The candidate revision a caller named (undefined: none) and what they meant to do to it ("abort"), for a refusal that it is gone. */
interface CandidateSeen {
  readonly revision: number | undefined;
  readonly what: string;
}

/** What `layoutVersion` will report for each scene of a revision. */
export interface SceneVersion {
  readonly scene: string;
  readonly version: string;
}

/** A scene's candidate that a change of live leaves served: its rollout's users keep its floors of the scene, not live's. */
export interface CandidateStillServed {
  readonly scene: string;
  /** The candidate revision they are served (`layoutVersion` ends `+candidate.r<revision>`). */
  readonly revision: number;
  readonly rollout: CandidateRollout;
}

export interface PublishResult {
  readonly revision: RevisionSummary;
  readonly scenes: readonly SceneVersion[];
  /**
   * Scenes the revision live before had and this one has not: apps asking for them are now refused
   * (BAD_USER_INPUT). Never a scene with a candidate: such a change is refused
   * (FLOORPLAN_ERR_LAYOUT_SCENE_HAS_CANDIDATE), its users would lose the scene.
   */
  readonly removedScenes: readonly string[];
  /**
   * Every scene's candidate whose rollout reaches anyone, as the store held them when this went
   * live (read in the same transaction: a candidate made or aborted a moment later is not
   * counted): those users keep the candidate until it is aborted or promoted — a publish or
   * rollback does not reach them. (Null only from a server that read them after the change and
   * could not; the commands still say so.)
   */
  readonly candidatesServed: readonly CandidateStillServed[] | null;
  /**
   * Scenes (and variants) whose floors this changed under the version live had: `layoutVersion`
   * tells the two apart no more, so a warning, not a refusal. Always empty for a rollback, which
   * restores what was live under its version before.
   */
  readonly versionKept: readonly VersionKept[];
  /** Whether Redis now announces it; false: replicas take it from the store at their next resync. */
  readonly pushed: boolean;
  /** Why it was not pushed, when it was not. */
  readonly pushProblem?: string;
}

export interface HistoryResult {
  /** The live revision's number; null when nothing was published yet. */
  readonly live: number | null;
  readonly revisions: readonly RevisionSummary[];
}

export interface ShowResult {
  readonly live: boolean;
  readonly revision: StoredRevision;
}

export interface DiffResult {
  readonly from: number;
  readonly to: number;
  readonly diff: LayoutsDiff;
  /**
   * With `rollback`: the scenes a rollback to `to` would take from the live set, since revision
   * `to` was never live and does not hold them (a candidate an earlier release staged from a
   * folder holding only its scene); empty otherwise.
   */
  readonly keptFromLive?: readonly string[];
}

/** Whether a candidate needs another admin's approval before promote (layouts.approval). */
export interface CandidateApproval {
  /** layouts.approval.required. */
  readonly required: boolean;
  /** The money floors it changes against the live revision; empty: promote needs no approval. */
  readonly changes: readonly MoneyFloorChange[];
}

export interface CandidateResult {
  readonly candidate: StoredCandidate;
  readonly approval: CandidateApproval;
  /** The candidate's revision (a new one when files were submitted). */
  readonly revision: RevisionSummary;
  /** What `layoutVersion` says to a user who gets the candidate, e.g. "2026-11-21.2+candidate.r12". */
  readonly layoutVersion: string;
  /** The candidate revision this one replaced, if the scene had one. */
  readonly replaced: number | null;
  /** Whether Redis now announces the candidate set (or already held it); false: `pushProblem` says why and when replicas get it. */
  readonly pushed: boolean;
  /** Why it was not pushed: Redis unreachable (replicas take it from the store at their next poll), or refused (Redis holds a newer generation). */
  readonly pushProblem?: string;
}

export interface CandidateChange {
  readonly candidate: StoredCandidate;
  /** As {@link CandidateResult.pushed}. */
  readonly pushed: boolean;
  readonly pushProblem?: string;
}

/** A candidate as `candidates` lists it: what promote would read of it now, besides the record. */
export interface ListedCandidate extends StoredCandidate {
  /** What promoting it would ask of approval (layouts.approval); `approvedBy` says whether it has it. */
  readonly approval: CandidateApproval;
  /** The shadow comparison promote would judge it by; null where there is none (a command run on the store, not through a replica). */
  readonly shadow: ShadowVerdict | null;
}

/** `pushed`: replicas heard of the approval (an unapproved money candidate is served to its allow-list only until they do). */
export interface ApproveResult extends CandidateChange {
  readonly approval: CandidateApproval;
}

/** `pushed`: the new live revision and the candidate set without the promoted candidate both; `pushProblem`: the first that was not. */
export interface PromoteResult extends PublishResult {
  /** The candidate revision now live (as `revision`, which records it in `promotes`). */
  readonly promotes: number;
  /** True when promoted with `force` over what would have refused it: invariant violations, nothing compared, or no shadow comparison to read (audited). */
  readonly forced: boolean;
  /** The shadow comparison's invariant violations the promote read; null where there is none (a command run on the store). */
  readonly invariantViolations: number | null;
  /** How many live panels the shadow comparison had compared with the candidate's; null where there is none (a command run on the store). */
  readonly compared: number | null;
  /** What live had changed in the scene since the candidate was cut, replaced with `force` (floors:diff lines); empty when nothing. */
  readonly overtaken: readonly string[];
  /** Who approved the candidate, or null (no approval was asked for). */
  readonly approvedBy: string | null;
}

/** The operations, as the CLI and the admin API both offer them. Revision numbers are integers ≥ 1. */
export interface LayoutOperations {
  /**
   * `files`: file name → YAML source; `sources`, when given, say how problems name each file.
   * `from`: the live revision the caller saw (null: none was live), as for rollback; refused
   * (conflict) when another is live by now, which this set would silently undo. Refused
   * (FLOORPLAN_ERR_LAYOUT_SCENE_HAS_CANDIDATE) when the set lacks a scene that has a candidate.
   */
  publish(input: {
    readonly files: Readonly<Record<string, string>>;
    readonly message: string;
    readonly author?: string;
    readonly sources?: readonly FloorsSource[];
    readonly from?: number | null;
  }): Promise<PublishResult>;
  history(input: { readonly limit: number }): Promise<HistoryResult>;
  show(input: { readonly revision: number }): Promise<ShowResult>;
  /**
   * Defaults: `to` the live revision, `from` its parent. `rollback`: what a rollback to `to` would
   * change — the live set against the set that rollback would make live (no `from`).
   */
  diff(input: { readonly from?: number; readonly to?: number; readonly rollback?: boolean }): Promise<DiffResult>;
  /**
   * `from`: the live revision the caller saw; refused (conflict) when another is live by now.
   * Refused, as publish, when the set it makes live lacks a scene that has a candidate.
   */
  rollback(input: { readonly revision: number; readonly message?: string; readonly author?: string; readonly from?: number }): Promise<PublishResult>;
  audit(input: { readonly limit: number }): Promise<{ readonly entries: readonly AuditEntry[] }>;
  /**
   * Makes a revision the candidate of `scene` (replacing its candidate, if any): `files` records
   * a new revision (not live), `revision` names an existing one. `rollout` defaults to nobody
   * (an empty allow-list, 0 %): served to no one until `rollout` says who. `replaces`: the
   * scene's candidate revision the caller saw, null for none; refused (conflict) when it is
   * another, or none, by now (another operator made, promoted or aborted one meanwhile). `files`
   * must hold the scene's file (refused otherwise, before anything is stored or replaced); live's
   * other scenes complete them.
   */
  candidate(input: {
    readonly scene: string;
    readonly files?: Readonly<Record<string, string>>;
    readonly sources?: readonly FloorsSource[];
    readonly revision?: number;
    readonly rollout?: Partial<CandidateRollout>;
    readonly message?: string;
    readonly author?: string;
    readonly replaces?: number | null;
  }): Promise<CandidateResult>;
  /**
   * Changes who gets a scene's candidate: only the fields given change. `revision`, here and for
   * promote, approve and abort: the candidate revision the caller reviewed; refused (conflict)
   * when the scene's candidate is another one by now (another operator replaced it), or gone
   * (promoted or aborted). `from`: the whole rollout the caller saw; refused (conflict) when the
   * stored one differs, naming what changed. `message` goes into the audit.
   */
  rollout(input: { readonly scene: string; readonly revision?: number; readonly from?: CandidateRollout; readonly message?: string } & Partial<CandidateRollout>): Promise<CandidateChange>;
  /**
   * Makes a scene's candidate live, as a new revision recording it; refused while its shadow
   * comparison saw invariant violations ({@link PromoteRefused}, naming too what live changed in
   * the scene since the candidate was cut), or while live changed the scene since ({@link LiveOvertaken}), unless `force`.
   */
  promote(input: { readonly scene: string; readonly revision?: number; readonly message?: string; readonly author?: string; readonly force?: boolean }): Promise<PromoteResult>;
  /**
   * Records the caller's approval of a scene's candidate (`revision`: the one reviewed; default
   * the current one). Refused to whoever published or authored it.
   */
  approve(input: { readonly scene: string; readonly revision?: number; readonly message?: string }): Promise<ApproveResult>;
  /** Drops a scene's candidate: its users get the live layout again. */
  abort(input: { readonly scene: string; readonly revision?: number; readonly message?: string }): Promise<CandidateChange>;
  /** Every candidate, by scene, with what promote would read of it, and the generation replicas compare. */
  candidates(): Promise<{ readonly generation: number; readonly candidates: readonly ListedCandidate[] }>;
}

export interface LayoutReleasesOptions {
  readonly store: RevisionStore;
  readonly registry: BuilderRegistry;
  readonly locales: readonly string[];
  readonly apps?: AppsConfig;
  /** layouts.approval; absent: no approval ever needed. */
  readonly approval?: ApprovalSettings;
  /**
   * The app versions in the field (config/clients.yaml): publish and candidate refuse a set some
   * live version cannot render (FLOORPLAN_ERR_LAYOUT_INCOMPATIBLE). Absent: not checked.
   * Rollback and promote are not checked: a rollback is the way out and must not be blocked,
   * and a candidate was checked when it was published.
   */
  readonly clients?: ClientsConfig;
  /** Checks a compiled set must also pass (the server's flag-name check); default none. */
  readonly check?: (layouts: LayoutSet) => readonly string[];
  /** Announces a new live revision to the replicas (Redis); rejects when it cannot. Absent: no push (one process, PGlite). */
  readonly push?: (revision: StoredRevision) => Promise<void>;
  /**
   * Announces the candidate set to the replicas (Redis), resolving what Redis did with it
   * (./candidates.ts `pushCandidates`); rejects when it cannot. Absent: replicas poll the store.
   */
  readonly pushCandidates?: (set: CandidateSet) => Promise<PushOutcome>;
  /** Told after the candidate set changed (the in-process LayoutStore swaps it in at once). */
  readonly onCandidates?: (set: CandidateSet) => void;
  /**
   * What the shadow comparison counted for this staging of a scene's candidate (its revision, and
   * when it was staged: the same revision staged again is judged afresh), which promote is judged
   * by; undefined: no comparison here (a command not talking to a replica). Absent: as undefined.
   */
  readonly shadow?: (scene: string, staging: { readonly revision: number; readonly createdAt: string }) => ShadowVerdict | undefined | Promise<ShadowVerdict | undefined>;
  /** Told after a revision became live (the in-process LayoutStore swaps it in at once). */
  readonly onLive?: (revision: StoredRevision) => void;
  readonly logger: Logger;
}

/** What promote reads of a candidate's shadow comparison (every replica's, with Redis). */
export interface ShadowVerdict {
  /** Live panels compared with the candidate's (identical + different): 0 refuses promote, since nothing was checked. */
  readonly compared: number;
  /** Compared panels where the candidate's money did not add up and the live one's did: any refuses promote. */
  readonly invariantViolations: number;
}

/**
 * Promote refused over the shadow comparison (FLOORPLAN_ERR_LAYOUT_PROMOTE_REFUSED); `overtaken`:
 * what live changed in the scene since the candidate was cut, which a forced promote would
 * replace too (floors:diff lines; empty when nothing), for a caller to list before it offers force.
 */
export class PromoteRefused extends FloorplanError<typeof ErrorCode.LAYOUT_PROMOTE_REFUSED> {
  readonly overtaken: readonly string[];

  constructor(params: MessageParams<typeof ErrorCode.LAYOUT_PROMOTE_REFUSED>, overtaken: readonly string[]) {
    super(ErrorCode.LAYOUT_PROMOTE_REFUSED, params);
    this.overtaken = overtaken;
  }
}

/**
 * Why the shadow comparison refuses promote, or undefined when it allows it. `liveServes`: whether
 * live serves the scene; a candidate of a new scene has no live panel to be compared with, ever.
 */
function shadowRefusal(scene: string, verdict: ShadowVerdict | undefined, liveServes: boolean): string | undefined {
  if (verdict === undefined) return 'no shadow comparison here (this command does not talk to a replica: add --server <url>)';
  if (verdict.invariantViolations > 0) return `${verdict.invariantViolations} invariant violation(s)`;
  if (verdict.compared === 0 && !liveServes) {
    return `no comparison: live serves no ${scene}, so no live panel of it can be compared with its candidate. Check what its users get (POST /admin/preview with a user of its rollout)`;
  }
  if (verdict.compared === 0) {
    return (
      `no comparison yet: not one live request of ${scene} was compared with it since it was staged (none was sampled, or each was served the candidate, skipped or failed). ` +
      'Send live traffic from users outside its rollout, or raise layouts.shadow.sampleRatio (LAYOUT_SHADOW_SAMPLE_RATIO), and read POST /admin/layouts/shadow'
    );
  }
  return undefined;
}

/** The scenes (`<scene>.yaml` files) `before` has and `after` has not. */
const removedScenes = (before: Readonly<Record<string, string>> | undefined, after: Readonly<Record<string, string>>): string[] =>
  Object.keys(before ?? {})
    .filter((name) => !Object.hasOwn(after, name))
    .map((name) => name.replace(/\.yaml$/, ''))
    .sort();

/**
 * Refuses (FLOORPLAN_ERR_LAYOUT_SCENE_HAS_CANDIDATE) a change of live, `what`, whose set `files`
 * lacks a scene that has a candidate: live serving no such scene, apps asking for it are refused
 * before any candidate is chosen, so its users would lose the scene, not keep the candidate. Any
 * candidate counts, one served to nobody yet too: a rollout change may widen it at any time.
 * Called in the change's own transaction ({@link RecordRevisionInput.vet}).
 */
function refuseStrandedCandidates(what: string, files: Readonly<Record<string, string>>, candidates: readonly StoredCandidate[]): void {
  const stranded = candidates.filter((c) => sceneFile(files, c.scene) === undefined);
  if (stranded.length === 0) return;
  const whom = (c: StoredCandidate) => (reachesAnyone(c.rollout) ? rolloutWhom(c.rollout) : `no one yet (${rolloutWhom(c.rollout)})`);
  throw new FloorplanError(ErrorCode.LAYOUT_SCENE_HAS_CANDIDATE, {
    what,
    candidates: `${stranded.map((c) => `${c.scene} off the air, whose candidate (revision ${c.revision}) is served to ${whom(c)}`).join('; and ')}: they would be refused the scene, not kept on its candidate`,
    abort: stranded.map((c) => `floors:abort -- ${c.scene}, or POST /admin/layouts/abort ${JSON.stringify({ scene: c.scene })}`).join('; '),
  });
}

/**
 * Refuses (FLOORPLAN_ERR_LAYOUT_APPROVAL_REQUIRED) a rollout reaching beyond the allow-list of a
 * candidate, `what`, that changes money floors and no admin approved: until one other than its
 * publisher does, it may reach the testers it names only. `beyond`: the rollout that was asked for.
 */
function allowListOnlyUntilApproved(what: string, changes: readonly MoneyFloorChange[], publishedBy: string, scene: string, beyond: string): FloorplanError {
  return new FloorplanError(ErrorCode.LAYOUT_APPROVAL_REQUIRED, {
    what,
    floors: describeMoneyChanges(changes),
    how: `approved by an admin other than ${publishedBy} (floors:approve -- ${scene})`,
    state: `${beyond}: until it is approved it may reach its allow-list only`,
  });
}

const scenesOf = (layouts: LayoutSet): SceneVersion[] => [...layouts.values()].map((l) => ({ scene: l.scene, version: l.version }));

export class LayoutReleases {
  private readonly options: LayoutReleasesOptions;

  constructor(options: LayoutReleasesOptions) {
    this.options = options;
  }

  /** The operations done as `actor` (the admin credential's identity, or the CLI's user). */
  as(actor: string): LayoutOperations {
    // A read that cannot use the store says so for a read: it had nothing to change.
    const reading = <T>(read: Promise<T>): Promise<T> =>
      read.catch((error: unknown) => {
        throw asReadRefusal(error);
      });
    return {
      publish: (input) => this.publish(actor, input),
      history: (input) => reading(this.history(input.limit)),
      show: (input) => reading(this.show(input.revision)),
      diff: (input) => reading(input.rollback === true ? this.rollbackDiff(input.to) : this.diff(input.from, input.to)),
      rollback: (input) => this.rollback(actor, input),
      audit: (input) => reading(this.options.store.audit(input.limit).then((entries) => ({ entries }))),
      candidate: (input) => this.candidate(actor, input),
      rollout: (input) => this.rollout(actor, input),
      promote: (input) => this.promote(actor, input),
      approve: (input) => this.approve(actor, input),
      abort: (input) => this.abort(actor, input),
      candidates: () => reading(this.candidates()),
    };
  }

  private async candidates(): Promise<Awaited<ReturnType<LayoutOperations['candidates']>>> {
    const set = await this.options.store.candidates();
    // One read of live for every candidate's approval, and only when one is asked for.
    let live: Promise<StoredRevision | undefined> | undefined;
    const readLive = () => (live ??= this.options.store.live());
    const candidates = await Promise.all(
      set.candidates.map(async ({ file, source, ...c }) => ({
        ...c,
        approval: await this.candidateApproval(c.scene, { [file]: source }, undefined, readLive),
        shadow: (await this.options.shadow?.(c.scene, { revision: c.revision, createdAt: c.createdAt })) ?? null,
      })),
    );
    return { generation: set.generation, candidates };
  }

  private async candidate(actor: string, input: Parameters<LayoutOperations['candidate']>[0]): Promise<CandidateResult> {
    const { scene } = input;
    if ((input.files === undefined) === (input.revision === undefined)) throw layoutInvalid([`a candidate needs either files (a floors set) or revision (an existing one), but got ${input.files === undefined ? 'neither' : 'both'}`]);
    const rollout = candidateRolloutSchema.parse({ ...DEFAULT_ROLLOUT, ...input.rollout }) as CandidateRollout;
    let files: Readonly<Record<string, string>>;
    let sources: readonly FloorsSource[];
    /** Live's files, when the candidate's are submitted now (not an existing revision staged again). */
    let submittedOver: Readonly<Record<string, string>> | undefined;
    if (input.files !== undefined) {
      const given = input.files;
      // Judged on the files given, before live's complete them (where the scene always is): a set
      // without the scene's file would be a copy of live's, served as a candidate and replacing one.
      if (sceneFile(given, scene) === undefined) {
        const names = Object.keys(given).sort();
        const defined = names.length === 0 ? 'none: no files were given' : names.map((n) => JSON.stringify(n.replace(/\.ya?ml$/, ''))).join(', ');
        const files = names.length === 0 ? '' : ` (the files given: ${names.map((n) => JSON.stringify(n)).join(', ')}; live's other scenes only complete them)`;
        throw layoutInvalid([`\`scene\` must be one the candidate's floors define (${defined}), but got: ${JSON.stringify(scene)}${files}`]);
      }
      const submitted = input.sources ?? Object.keys(given).map((name) => ({ name, file: name, source: given[name] as string }));
      // A folder may hold only the candidate's scene: live's other scenes complete it, so its
      // revision is a whole set, as every other revision is (a rollback to it must not take
      // them off the air). Promote takes only the candidate's scene either way.
      const live = await this.liveForSubmitted(submitted);
      const others = live === undefined ? [] : Object.keys(live.files).filter((name) => !Object.hasOwn(given, name));
      sources = [
        ...submitted,
        ...others.map((name) => ({ name, file: `floors/${name}`, source: (live as StoredRevision).files[name] as string })),
      ].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      files = Object.fromEntries(sources.map((s) => [s.name, s.source]));
      submittedOver = live?.files ?? {};
    } else {
      files = (await this.revision(input.revision as number)).files;
      sources = Object.keys(files).sort().map((name) => ({ name, file: `floors/${name}`, source: files[name] as string }));
    }
    const layouts = this.validate(sources, submittedOver);
    if (this.options.clients !== undefined) assertCompatible(layouts, this.options.clients);
    const layout = layouts.get(scene);
    if (layout === undefined || sceneFile(files, scene) === undefined) {
      throw layoutInvalid([`\`scene\` must be one the candidate's floors define (${[...layouts.keys()].map((s) => JSON.stringify(s)).join(', ')}), but got: ${JSON.stringify(scene)}`]);
    }
    // Judged before anything is stored; a new staging is never approved (promote judges approval again, in its transaction).
    const approval = await this.candidateApproval(scene, files, layouts);
    if (approval.changes.length > 0 && reachesBeyondAllowList(rollout)) {
      throw allowListOnlyUntilApproved(`this candidate of ${scene}`, approval.changes, actor, scene, `its rollout reaches beyond its allow-list (${rolloutWhom(rollout)})`);
    }
    const { candidate, revision, replaced } = await this.options.store.publishCandidate({
      scene,
      source: input.files !== undefined ? { files: Object.fromEntries(sources.map((s) => [s.name, s.source])) } : { revision: input.revision as number },
      rollout,
      author: input.author ?? actor,
      actor,
      message: input.message ?? '',
      ...(input.replaces === undefined ? {} : { replaces: input.replaces }),
    });
    const { files: _files, ...listed } = revision;
    return { candidate, approval, revision: listed, layoutVersion: candidateLayoutVersion(layout.version, revision.revision), replaced, ...(await this.announceCandidates()) };
  }

  private async rollout(actor: string, input: Parameters<LayoutOperations['rollout']>[0]): Promise<CandidateChange> {
    const { scene, revision, from, message, ...change } = input;
    const candidate = await this.withCandidate(scene, { revision, what: 'change the rollout of' }, () =>
      this.options.store.changeRollout({
        scene,
        actor,
        ...(revision === undefined ? {} : { revision }),
        ...(from === undefined ? {} : { seen: from }),
        ...(message === undefined ? {} : { message }),
        rollout: async (current, candidate, read) => {
          const next = candidateRolloutSchema.parse({ ...current, ...Object.fromEntries(Object.entries(change).filter(([, v]) => v !== undefined)) }) as CandidateRollout;
          // Judged here, in the store's transaction: the approval and revision read are the ones this change commits against.
          if (this.options.approval?.required !== true || candidate.approvedBy !== null || !widensBeyondAllowList(current, next)) return next;
          const files = await read();
          const { changes } = await this.candidateApproval(scene, files.candidate.files, undefined, async () => files.live);
          if (changes.length > 0) {
            throw allowListOnlyUntilApproved(`the candidate of ${scene} (revision ${candidate.revision})`, changes, candidate.publishedBy, scene, `this rollout would reach beyond its allow-list (${rolloutWhom(next)})`);
          }
          return next;
        },
      }),
    );
    return { candidate, ...(await this.announceCandidates()) };
  }

  private async promote(actor: string, input: Parameters<LayoutOperations['promote']>[0]): Promise<PromoteResult> {
    const { scene } = input;
    const current = await this.options.store.candidate(scene);
    if (current === undefined) throw await this.noCandidate(scene, { revision: input.revision, what: 'promote' });
    // The one reviewed must be the one promoted; compose below refuses a change after this read.
    if (input.revision !== undefined && current.revision !== input.revision) throw staleCandidate(scene, current.revision, input.revision, 'promote');
    const verdict = await this.options.shadow?.(scene, { revision: current.revision, createdAt: current.createdAt });
    const liveServes = verdict?.compared !== 0 || sceneFile((await this.options.store.live())?.files ?? {}, scene) !== undefined;
    const refusal = shadowRefusal(scene, verdict, liveServes);
    const forced = input.force === true && refusal !== undefined;
    const shadow = { invariantViolations: verdict?.invariantViolations ?? null, compared: verdict?.compared ?? null };
    let layouts: LayoutSet | undefined;
    let approvedBy: string | null = null;
    /** What live changed in the scene since the candidate was cut, which promoting replaces (with force only). */
    let overtaken: string[] = [];
    /** The candidate's scene (and variants) whose floors change under live's version. */
    let kept: VersionKept[] = [];
    const { revision, candidates } = await this.withCandidate(scene, { revision: input.revision, what: 'promote' }, () =>
      this.options.store.promote({
        scene,
        author: input.author ?? actor,
        actor,
        message: input.message ?? `promote the candidate of ${scene} (revision ${current.revision})`,
        detail: () => ({ force: input.force === true, forced, ...shadow, ...(overtaken.length === 0 ? {} : { overtaken }) }),
        compose: (live, candidate, candidateRevision, base) => {
          if (candidate.revision !== current.revision) throw new OperationRefused(`the candidate of ${scene} changed while promoting (revision ${current.revision} → ${candidate.revision}); promote again`);
          overtaken = live === undefined || base === undefined || base.revision === live.revision ? [] : sceneChanges(base.files, live.files, scene);
          // Judged after live's changes are known, so that a refusal over the shadow also names
          // them: force overrides both at once, and must not undo a hotfix the operator never saw.
          if (refusal !== undefined && input.force !== true) {
            const since = overtaken.length === 0 ? '' : `, and live changed ${scene} since it was cut from revision ${(base as StoredRevision).revision}, which promoting it would undo: ${overtaken.join('; ')} (live is revision ${(live as StoredRevision).revision})`;
            throw new PromoteRefused({ scene, revision: candidate.revision, violations: refusal, overtaken: since, overrides: overtaken.length === 0 ? '' : ' both, replacing those changes' }, overtaken);
          }
          if (overtaken.length > 0 && input.force !== true) {
            throw new LiveOvertaken(
              `live changed ${scene} since its candidate (revision ${candidate.revision}) was cut from revision ${(base as StoredRevision).revision}, and promoting it would undo that: ${overtaken.join('; ')} (live is revision ${(live as StoredRevision).revision}). Publish the candidate again from the live floors, or promote with force to replace them`,
              overtaken,
            );
          }
          const from = sceneFile(candidateRevision.files, scene) as string;
          const files: Record<string, string> = {};
          // Every other scene stays as live has it: the candidate was of one scene.
          for (const [name, source] of Object.entries(live?.files ?? candidateRevision.files)) if (name.replace(/\.ya?ml$/, '') !== scene) files[name] = source;
          files[from] = candidateRevision.files[from] as string;
          layouts = this.validate(Object.keys(files).sort().map((name) => ({ name, file: `floors/${name}`, source: files[name] as string })));
          // Judged here, in the store's transaction: the approval read is the one this promote commits against.
          const changes = this.moneyChanges(live?.files ?? {}, files, layouts, scene);
          if (changes.length > 0 && candidate.approvedBy === null) {
            throw new FloorplanError(ErrorCode.LAYOUT_APPROVAL_REQUIRED, {
              what: `the candidate of ${scene} (revision ${candidate.revision})`,
              floors: describeMoneyChanges(changes),
              how: `approved by an admin other than ${candidate.publishedBy} (floors:approve -- ${scene})`,
              state: 'nobody has approved it',
            });
          }
          approvedBy = candidate.approvedBy;
          kept = live === undefined ? [] : versionsKept(live.files, files);
          return files;
        },
      }),
    );
    const published = await this.goLive(revision);
    const announced = await this.announceCandidates();
    // Pushed only when both were: replicas that missed the candidate set still serve the promoted candidate to its users.
    const pushProblem = published.pushProblem ?? announced.pushProblem;
    // Promote replaces the candidate's scene in live's set: it takes none away.
    return {
      ...published,
      scenes: scenesOf(layouts as LayoutSet),
      removedScenes: [],
      candidatesServed: candidatesServed(candidates),
      versionKept: kept,
      promotes: current.revision,
      forced,
      ...shadow,
      overtaken,
      approvedBy,
      pushed: published.pushed && announced.pushed,
      ...(pushProblem === undefined ? {} : { pushProblem }),
    };
  }

  private async approve(actor: string, input: Parameters<LayoutOperations['approve']>[0]): Promise<ApproveResult> {
    const { scene } = input;
    const current = await this.options.store.candidate(scene);
    if (current === undefined) throw await this.noCandidate(scene, { revision: input.revision, what: 'approve' });
    const reviewed = input.revision ?? current.revision;
    const approval = await this.candidateApproval(scene, (await this.revision(reviewed)).files);
    const candidate = await this.withCandidate(scene, { revision: reviewed, what: 'approve' }, () =>
      this.options.store.approve({
        scene,
        revision: reviewed,
        actor,
        message: input.message ?? '',
        detail: { publishedBy: current.publishedBy, moneyFloors: approval.changes.map((c) => describeMoneyChanges([c])) },
      }),
    );
    return { candidate, approval, ...(await this.announceCandidates()) };
  }

  /**
   * What promoting a candidate of `scene` with `files` (its revision's) would ask of approval:
   * live with the scene's file replaced, as promote composes it. `fallback`: the layouts to read
   * kinds from when that set does not compile here; without it, no changes are named.
   */
  private async candidateApproval(
    scene: string,
    candidateFiles: Readonly<Record<string, string>>,
    fallback?: LayoutSet,
    readLive: () => Promise<StoredRevision | undefined> = () => this.options.store.live(),
  ): Promise<CandidateApproval> {
    const required = this.options.approval?.required === true;
    if (!required) return { required, changes: [] };
    const live = await readLive();
    const file = sceneFile(candidateFiles, scene) as string;
    const files = { ...(live?.files ?? {}), [file]: candidateFiles[file] as string };
    const layouts = this.compiled(files) ?? fallback;
    return { required, changes: layouts === undefined ? [] : this.moneyChanges(live?.files ?? {}, files, layouts, scene) };
  }

  /**
   * What publishing `files` (compiled as `layouts`) straight to live would ask of approval: with
   * layouts.approval.required, the money floors it changes against `liveFiles` (none live: a
   * first publish, nothing). A publish that changes any is refused; the check says so first.
   */
  publishApproval(liveFiles: Readonly<Record<string, string>> | undefined, files: Readonly<Record<string, string>>, layouts: LayoutSet): CandidateApproval {
    const required = this.options.approval?.required === true;
    return { required, changes: required && liveFiles !== undefined ? this.moneyChanges(liveFiles, files, layouts) : [] };
  }

  /** The money floors (layouts.approval.kinds) that change from `fromFiles` to `toFiles`; empty when approval is off. */
  private moneyChanges(fromFiles: Readonly<Record<string, string>>, toFiles: Readonly<Record<string, string>>, toLayouts: LayoutSet, scene?: string): MoneyFloorChange[] {
    const approval = this.options.approval;
    if (approval === undefined || !approval.required) return [];
    return moneyFloorChanges({ files: fromFiles, layouts: this.compiled(fromFiles) }, { files: toFiles, layouts: toLayouts }, approval.kinds, scene);
  }

  /** A set compiled for reading its floors' kinds, or undefined when this build cannot compile it. */
  private compiled(files: Readonly<Record<string, string>>): LayoutSet | undefined {
    const sources = Object.keys(files).sort().map((name) => ({ name, file: `floors/${name}`, source: files[name] as string }));
    return compileFloorsSources(sources, this.options.registry, this.options.locales, this.options.apps).layouts;
  }

  /** Refuses a change that would put money floors live without a candidate's approval. */
  private requireNoMoneyChange(what: string, state: string, fromFiles: Readonly<Record<string, string>>, toFiles: Readonly<Record<string, string>>, toLayouts: LayoutSet): void {
    const changes = this.moneyChanges(fromFiles, toFiles, toLayouts);
    if (changes.length === 0) return;
    throw new FloorplanError(ErrorCode.LAYOUT_APPROVAL_REQUIRED, {
      what,
      floors: describeMoneyChanges(changes),
      how: 'published as a candidate (floors:candidate), approved by another admin (floors:approve) and promoted',
      state,
    });
  }

  private async abort(actor: string, input: Parameters<LayoutOperations['abort']>[0]): Promise<CandidateChange> {
    const candidate = await this.withCandidate(input.scene, { revision: input.revision, what: 'abort' }, () =>
      this.options.store.abort({ scene: input.scene, actor, message: input.message ?? '', ...(input.revision === undefined ? {} : { revision: input.revision }) }),
    );
    return { candidate, ...(await this.announceCandidates()) };
  }

  /** Runs a store operation on a scene's candidate, turning "none" into the error {@link noCandidate} words. */
  private async withCandidate<T>(scene: string, seen: CandidateSeen, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (error instanceof NoCandidate) throw await this.noCandidate(scene, seen);
      throw error;
    }
  }

  /**
   * The scene has no candidate. A caller who named the revision they saw (a console page, a
   * confirmation) lost a race — another operator promoted or aborted it meanwhile — and is told
   * so, and by whom (a conflict: 409); without one, the scene is the caller's mistake and the
   * catalogue's error lists the scenes that have one (404).
   */
  private async noCandidate(scene: string, seen: CandidateSeen): Promise<Error> {
    if (seen.revision !== undefined) {
      return new OperationRefused(`the candidate of ${scene} (revision ${seen.revision}) is gone: ${await this.howCandidateEnded(scene, seen.revision)} since it was read, so there is nothing to ${seen.what}`);
    }
    const set = await this.options.store.candidates();
    const known = set.candidates.length === 0 ? 'none now' : set.candidates.map((c) => JSON.stringify(c.scene)).join(', ');
    return new FloorplanError(ErrorCode.LAYOUT_CANDIDATE_NOT_FOUND, { known, received: JSON.stringify(scene) });
  }

  /** How the candidate `revision` of `scene` ended, from the newest audit entries ("promoted by paul (live revision 7)"); unnamed when they do not say. */
  private async howCandidateEnded(scene: string, revision: number): Promise<string> {
    const entries = await this.options.store.audit(CANDIDATE_END_LOOKBACK).catch(() => []);
    const end = entries.find(
      (e) => e.detail['scene'] === scene && ((e.action === 'promote' && e.detail['promotes'] === revision) || (e.action === 'abort' && e.revision === revision)),
    );
    if (end === undefined) return 'promoted or aborted';
    return end.action === 'promote' ? `promoted by ${end.actor} (live revision ${end.revision})` : `aborted by ${end.actor}`;
  }

  /**
   * The store's candidate set as replicas serve it: with layouts.approval.required, each candidate
   * that changes money floors against live and that no admin approved is marked
   * `approvalPending`, so replicas serve it to its allow-list only — one stored with a wider
   * rollout before approval was required too. Read once per change of the set (an announcement,
   * a replica's poll of a new generation), never per request. Live changing under a candidate
   * (a rollback) is judged at the set's next change.
   */
  async candidateSet(): Promise<CandidateSet> {
    const set = await this.options.store.candidates();
    if (this.options.approval?.required !== true) return set;
    let live: Promise<StoredRevision | undefined> | undefined;
    const readLive = () => (live ??= this.options.store.live());
    const candidates = await Promise.all(
      set.candidates.map(async (c) => {
        if (c.approvedBy !== null) return { ...c, approvalPending: false };
        const liveFiles = (await readLive())?.files ?? {};
        const files = { ...liveFiles, [c.file]: c.source };
        const layouts = this.compiled(files);
        // A set this build cannot compile cannot be judged: it errs towards asking, as approval.ts does.
        return { ...c, approvalPending: layouts === undefined || this.moneyChanges(liveFiles, files, layouts, c.scene).length > 0 };
      }),
    );
    return { generation: set.generation, candidates };
  }

  /**
   * Reads the candidate set as just written and pushes it: this process at once, the others
   * through Redis or their poll. Redis already holding this generation with the same candidates
   * counts as pushed; a refusal is reported with what Redis holds (./candidates.ts).
   */
  private async announceCandidates(): Promise<{ pushed: boolean; pushProblem?: string }> {
    const set = await this.candidateSet();
    this.options.onCandidates?.(set);
    const push = this.options.pushCandidates;
    if (push === undefined) return { pushed: false, pushProblem: 'no Redis configured; replicas read it from the store within layouts.resyncIntervalMs' };
    let sent = set;
    let outcome: PushOutcome;
    try {
      outcome = await push(set);
      if (outcome.result === 'refused' && outcome.holds > set.generation) {
        // Another operation on this store, committed after this one, may have pushed first: its
        // set holds this change too. Pushing the store's newest set tells that (held, or pushed
        // when newer still) from a store behind Redis (refused again).
        const newest = await this.candidateSet().catch(() => undefined);
        if (newest !== undefined && newest.generation > set.generation) {
          sent = newest;
          outcome = await push(newest);
        }
      }
    } catch (error) {
      const problem = `Redis push failed (${describeThrown(error)}); replicas take the candidates from the store at their next poll`;
      this.options.logger.warn({ generation: set.generation }, problem);
      return { pushed: false, pushProblem: problem };
    }
    const refused = candidatesPushRefusal(outcome, sent.generation);
    if (refused === undefined) return { pushed: true };
    this.options.logger.warn({ generation: sent.generation }, refused);
    return { pushed: false, pushProblem: refused };
  }

  /**
   * Compiles a set as a replica will; throws FLOORPLAN_ERR_LAYOUT_INVALID with every problem.
   * `live`: the live revision's files, for a set an operator submits now (publish, check, a
   * candidate's files): each file that differs from live's follows the rules added for new text
   * too (a name holding a {variable}); what live already serves is not refused for them, nor is a
   * rollback or promote of what was accepted before. Undefined: those rules are not applied.
   */
  validate(sources: readonly FloorsSource[], live?: Readonly<Record<string, string>>): LayoutSet {
    const { registry, locales, apps, check } = this.options;
    const compiled = compileFloorsSources(sources, registry, locales, apps, live === undefined ? {} : { submitted: differsFromLive(live) });
    if (compiled.layouts === undefined) throw layoutInvalid(compiled.problems);
    const problems = check?.(compiled.layouts) ?? [];
    if (problems.length > 0) throw layoutInvalid(problems);
    return compiled.layouts;
  }

  /**
   * The live revision a set submitted now (publish, candidate, check) is judged against
   * ({@link validate}'s `live`). When the store cannot be read, the set is first judged by every
   * rule that needs no live revision — compiled as a replica would, the owner's checks, the live
   * app versions — so a mistake in its files is refused as one (FLOORPLAN_ERR_LAYOUT_INVALID,
   * IncompatibleLayouts) rather than hidden behind the store being down; a set that passes them
   * gets the store's FLOORPLAN_ERR_LAYOUT_STORE_UNAVAILABLE. With the store up, one read, as before.
   */
  async liveForSubmitted(sources: readonly FloorsSource[]): Promise<StoredRevision | undefined> {
    try {
      return await this.options.store.live();
    } catch (error) {
      if (isStoreUnavailable(error)) {
        const layouts = this.validate(sources);
        if (this.options.clients !== undefined) assertCompatible(layouts, this.options.clients);
      }
      throw error;
    }
  }

  /** What every live app version would get from a compiled set (the publish check shows it); undefined: no clients file, not checked. */
  compatibility(layouts: LayoutSet): CompatibilityReport | undefined {
    return this.options.clients === undefined ? undefined : checkCompatibility(layouts, this.options.clients);
  }

  /**
   * Judges a set submitted to go live as publish judges it, before anything is written: at least
   * one scene, then ({@link liveForSubmitted}) compiled as a replica will against the live
   * revision, the owner's checks, and what every live app version would get — refused
   * (FLOORPLAN_ERR_LAYOUT_INVALID, IncompatibleLayouts) as publish refuses it. Publish and the
   * publish check (POST /admin/layouts/check) both go through it, so the check cannot pass a set
   * publish refuses. What publish judges in its transaction (live moved since `from`, a scene with
   * a candidate taken off the air) and approval, which the check reports, are not judged here.
   */
  async judgeSubmitted(sources: readonly FloorsSource[]): Promise<{ live: StoredRevision | undefined; layouts: LayoutSet; compatibility: CompatibilityReport | undefined }> {
    if (sources.length === 0) throw layoutInvalid(['the published set must hold at least one <scene>.yaml, but got none']);
    const live = await this.liveForSubmitted(sources);
    const layouts = this.validate(sources, live?.files ?? {});
    const compatibility = this.compatibility(layouts);
    if (compatibility !== undefined && compatibility.problems.length > 0) throw new IncompatibleLayouts(compatibility);
    return { live, layouts, compatibility };
  }

  private async publish(actor: string, input: Parameters<LayoutOperations['publish']>[0]): Promise<PublishResult> {
    const sources = input.sources ?? Object.keys(input.files).sort().map((name) => ({ name, file: name, source: input.files[name] as string }));
    const { live, layouts } = await this.judgeSubmitted(sources);
    const files = Object.fromEntries(sources.map((s) => [s.name, s.source]));
    // The first publish has nothing to compare with: it is how a store starts.
    if (this.options.approval?.required === true && live !== undefined) this.requireNoMoneyChange('this publish', 'a publish goes live at once', live.files, files, layouts);
    const { revision, candidates } = await this.options.store.record({
      files,
      author: input.author ?? actor,
      actor,
      message: input.message,
      action: 'publish',
      ...(input.from === undefined ? {} : { expectLive: input.from }),
      vet: (candidates) => refuseStrandedCandidates('this publish', files, candidates),
    });
    return {
      ...(await this.goLive(revision)),
      scenes: scenesOf(layouts),
      removedScenes: removedScenes(live?.files, files),
      candidatesServed: candidatesServed(candidates),
      versionKept: live === undefined ? [] : versionsKept(live.files, files),
    };
  }

  private async rollback(actor: string, input: Parameters<LayoutOperations['rollback']>[0]): Promise<PublishResult> {
    const target = await this.revision(input.revision);
    const { live, wasLive, files } = await this.rollbackSet(target);
    // This build's builders and locales must still accept it: a rollback must not ship a set replicas refuse.
    const layouts = this.validate(Object.keys(files).sort().map((name) => ({ name, file: `floors/${name}`, source: files[name] as string })));
    // Going back to what was live once needs no approval; a revision that never went live would put unreviewed money floors live.
    if (this.options.approval?.required === true && !wasLive) {
      this.requireNoMoneyChange(`rollback to revision ${target.revision}`, `revision ${target.revision} was never live`, live?.files ?? {}, files, layouts);
    }
    const { revision, candidates } = await this.options.store.record({
      files,
      author: input.author ?? actor,
      actor,
      message: input.message ?? `rollback to revision ${target.revision}`,
      action: 'rollback',
      rollbackOf: target.revision,
      ...(input.from === undefined ? {} : { expectLive: input.from }),
      vet: (candidates) => refuseStrandedCandidates(`rollback to revision ${target.revision}`, files, candidates),
    });
    return { ...(await this.goLive(revision)), scenes: scenesOf(layouts), removedScenes: removedScenes(live?.files, files), candidatesServed: candidatesServed(candidates), versionKept: [] };
  }

  private async goLive(revision: StoredRevision): Promise<Pick<PublishResult, 'revision' | 'pushed' | 'pushProblem'>> {
    const { files: _files, ...listed } = revision;
    this.options.onLive?.(revision);
    if (this.options.push === undefined) return { revision: listed, pushed: false, pushProblem: 'no Redis configured; replicas read it from the store within layouts.resyncIntervalMs' };
    try {
      await this.options.push(revision);
      return { revision: listed, pushed: true };
    } catch (error) {
      const problem = `Redis push failed (${describeThrown(error)}); replicas take revision ${revision.revision} from the store at their next resync`;
      this.options.logger.warn({ revision: revision.revision }, problem);
      return { revision: listed, pushed: false, pushProblem: problem };
    }
  }

  private async history(limit: number): Promise<HistoryResult> {
    const [live, revisions] = await Promise.all([this.options.store.liveRevision(), this.options.store.history(limit)]);
    return { live: live ?? null, revisions };
  }

  private async show(number: number): Promise<ShowResult> {
    const [revision, live] = await Promise.all([this.revision(number), this.options.store.liveRevision()]);
    return { live: live === revision.revision, revision };
  }

  /**
   * The set a rollback to `target` makes live. A revision that was live is restored as it was:
   * the emergency exit. One that never was (a candidate's) holds what its candidate changed;
   * live's other scenes complete it, as a candidate staged now keeps them — one an earlier release
   * staged from a folder holding only its scene would otherwise take the others off the air.
   */
  private async rollbackSet(target: StoredRevision): Promise<{ live: StoredRevision | undefined; wasLive: boolean; files: Readonly<Record<string, string>> }> {
    const [live, wasLive] = await Promise.all([this.options.store.live(), this.options.store.wasLive(target.revision)]);
    const files = wasLive || live === undefined ? target.files : { ...live.files, ...target.files };
    return { live, wasLive, files };
  }

  /** What a rollback to `to` would change: the console's confirmation shows it before anything is sent. */
  private async rollbackDiff(to: number | undefined): Promise<DiffResult> {
    if (to === undefined) throw new FloorplanError(ErrorCode.LAYOUT_REVISION_NOT_FOUND, { known: 'a rollback diff names it in `to`', received: 'no `to`' });
    const target = await this.revision(to);
    const { live, files } = await this.rollbackSet(target);
    const keptFromLive = removedScenes(files, target.files);
    return { from: live?.revision ?? 0, to: target.revision, diff: diffLayouts(live?.files ?? {}, files), keptFromLive };
  }

  private async diff(from: number | undefined, to: number | undefined): Promise<DiffResult> {
    const target = to === undefined ? await this.live() : await this.revision(to);
    const base = from ?? target.parent;
    if (base === null) return { from: 0, to: target.revision, diff: diffLayouts({}, target.files) };
    const source = await this.revision(base);
    return { from: source.revision, to: target.revision, diff: diffLayouts(source.files, target.files) };
  }

  private async live(): Promise<StoredRevision> {
    const live = await this.options.store.live();
    if (live === undefined) throw new FloorplanError(ErrorCode.LAYOUT_REVISION_NOT_FOUND, { known: 'none yet: publish one first', received: 'the live revision' });
    return live;
  }

  private async revision(number: number): Promise<StoredRevision> {
    const found = await this.options.store.get(number);
    if (found !== undefined) return found;
    const newest = await this.options.store.history(5);
    const known = newest.length === 0 ? 'none yet: publish one first' : `newest: ${newest.map((r) => r.revision).join(', ')}`;
    throw new FloorplanError(ErrorCode.LAYOUT_REVISION_NOT_FOUND, { known, received: number });
  }
}

/** The candidates a change of live leaves served ({@link PublishResult.candidatesServed}), from those its transaction read. */
function candidatesServed(candidates: readonly StoredCandidate[]): CandidateStillServed[] {
  return candidates.filter((c) => reachesAnyone(c.rollout)).map(({ scene, revision, rollout }) => ({ scene, revision, rollout }));
}

/** What changed in `scene`'s floors from `from` to `to`, as `floors:diff` words it; empty when nothing did. */
function sceneChanges(from: Readonly<Record<string, string>>, to: Readonly<Record<string, string>>, scene: string): string[] {
  const only = (files: Readonly<Record<string, string>>): Record<string, string> => {
    const name = sceneFile(files, scene);
    return name === undefined ? {} : { [name]: files[name] as string };
  };
  const diff = diffLayouts(only(from), only(to));
  return diff.scenes.length === 0 && diff.unreadable.length === 0 ? [] : formatLayoutsDiff(diff);
}
