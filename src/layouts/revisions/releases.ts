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
import type { AppsConfig } from '../../config/service-config.ts';
import { ErrorCode, FloorplanError } from '../../errors.ts';
import type { BuilderRegistry } from '../../floors/registry.ts';
import type { Logger } from '../../observability/logger.ts';
import { compileFloorsSources, layoutInvalid, type FloorsSource, type LayoutSet } from '../compile.ts';
import { diffLayouts, type LayoutsDiff } from './diff.ts';
import type { AuditEntry, RevisionStore, RevisionSummary, StoredRevision } from './revision-store.ts';

/** What `layoutVersion` will report for each scene of a revision. */
export interface SceneVersion {
  readonly scene: string;
  readonly version: string;
}

export interface PublishResult {
  readonly revision: RevisionSummary;
  readonly scenes: readonly SceneVersion[];
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
}

/** The operations, as the CLI and the admin API both offer them. Revision numbers are integers ≥ 1. */
export interface LayoutOperations {
  /** `files`: file name → YAML source; `sources`, when given, say how problems name each file. */
  publish(input: { readonly files: Readonly<Record<string, string>>; readonly message: string; readonly author?: string; readonly sources?: readonly FloorsSource[] }): Promise<PublishResult>;
  history(input: { readonly limit: number }): Promise<HistoryResult>;
  show(input: { readonly revision: number }): Promise<ShowResult>;
  /** Defaults: `to` the live revision, `from` its parent. */
  diff(input: { readonly from?: number; readonly to?: number }): Promise<DiffResult>;
  rollback(input: { readonly revision: number; readonly message?: string; readonly author?: string }): Promise<PublishResult>;
  audit(input: { readonly limit: number }): Promise<{ readonly entries: readonly AuditEntry[] }>;
}

export interface LayoutReleasesOptions {
  readonly store: RevisionStore;
  readonly registry: BuilderRegistry;
  readonly locales: readonly string[];
  readonly apps?: AppsConfig;
  /** Checks a compiled set must also pass (the server's flag-name check); default none. */
  readonly check?: (layouts: LayoutSet) => readonly string[];
  /** Announces a new live revision to the replicas (Redis); rejects when it cannot. Absent: no push (one process, PGlite). */
  readonly push?: (revision: StoredRevision) => Promise<void>;
  /** Told after a revision became live (the in-process LayoutStore swaps it in at once). */
  readonly onLive?: (revision: StoredRevision) => void;
  readonly logger: Logger;
}

const scenesOf = (layouts: LayoutSet): SceneVersion[] => [...layouts.values()].map((l) => ({ scene: l.scene, version: l.version }));

export class LayoutReleases {
  private readonly options: LayoutReleasesOptions;

  constructor(options: LayoutReleasesOptions) {
    this.options = options;
  }

  /** The operations done as `actor` (the admin credential's identity, or the CLI's user). */
  as(actor: string): LayoutOperations {
    return {
      publish: (input) => this.publish(actor, input),
      history: (input) => this.history(input.limit),
      show: (input) => this.show(input.revision),
      diff: (input) => this.diff(input.from, input.to),
      rollback: (input) => this.rollback(actor, input),
      audit: async (input) => ({ entries: await this.options.store.audit(input.limit) }),
    };
  }

  /** Compiles a set as a replica will; throws FLOORPLAN_ERR_LAYOUT_INVALID with every problem. */
  validate(sources: readonly FloorsSource[]): LayoutSet {
    const { registry, locales, apps, check } = this.options;
    const compiled = compileFloorsSources(sources, registry, locales, apps);
    if (compiled.layouts === undefined) throw layoutInvalid(compiled.problems);
    const problems = check?.(compiled.layouts) ?? [];
    if (problems.length > 0) throw layoutInvalid(problems);
    return compiled.layouts;
  }

  private async publish(actor: string, input: Parameters<LayoutOperations['publish']>[0]): Promise<PublishResult> {
    const sources = input.sources ?? Object.keys(input.files).sort().map((name) => ({ name, file: name, source: input.files[name] as string }));
    if (sources.length === 0) throw layoutInvalid(['the published set must hold at least one <scene>.yaml, but got none']);
    const layouts = this.validate(sources);
    const files = Object.fromEntries(sources.map((s) => [s.name, s.source]));
    const revision = await this.options.store.record({ files, author: input.author ?? actor, actor, message: input.message, action: 'publish' });
    return { ...(await this.goLive(revision)), scenes: scenesOf(layouts) };
  }

  private async rollback(actor: string, input: Parameters<LayoutOperations['rollback']>[0]): Promise<PublishResult> {
    const target = await this.revision(input.revision);
    // This build's builders and locales must still accept it: a rollback must not ship a set replicas refuse.
    const layouts = this.validate(Object.keys(target.files).sort().map((name) => ({ name, file: `floors/${name}`, source: target.files[name] as string })));
    const revision = await this.options.store.record({
      files: target.files,
      author: input.author ?? actor,
      actor,
      message: input.message ?? `rollback to revision ${target.revision}`,
      action: 'rollback',
      rollbackOf: target.revision,
    });
    return { ...(await this.goLive(revision)), scenes: scenesOf(layouts) };
  }

  private async goLive(revision: StoredRevision): Promise<Omit<PublishResult, 'scenes'>> {
    const { files: _files, ...listed } = revision;
    this.options.onLive?.(revision);
    if (this.options.push === undefined) return { revision: listed, pushed: false, pushProblem: 'no Redis configured; replicas read it from the store within layouts.resyncIntervalMs' };
    try {
      await this.options.push(revision);
      return { revision: listed, pushed: true };
    } catch (error) {
      const problem = `Redis push failed (${(error as Error).message}); replicas take revision ${revision.revision} from the store at their next resync`;
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
