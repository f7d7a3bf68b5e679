/**
 * The admin HTTP API of layout releases: POST /admin/layouts/<operation> with a JSON body, the
 * same operations as the `floors:*` commands (src/layouts/revisions/releases.ts), answered with
 * the same JSON the commands print from. The actor is the admin credential's identity; `author`
 * in the body names someone else as the author (both are recorded).
 *
 *   publish  {files: {"<scene>.yaml": "<yaml>"}, message?, author?, from?}   a submitted YAML set
 *   history  {limit?}            show {revision}            diff {from?, to?} | {to, rollback: true}
 *   rollback {revision, message?, author?, from?}           audit {limit?}
 *   candidate {scene, files? | revision?, rollout?: {allowList?, percentage?, segments?, platforms?, minAppVersion?}, message?, author?, replaces?}
 *   rollout  {scene, revision?, from?, allowList?, percentage?, segments?, platforms?, minAppVersion?, message?}
 *   promote  {scene, revision?, message?, author?, force?}    abort {scene, revision?, message?}
 *
 * What the caller was looking at (a console page left open, a confirmation): `revision` on
 * rollout, promote, approve and abort, the candidate revision; `from` on publish and rollback, the
 * live revision (null on publish: none was live); `replaces` on candidate, the scene's candidate
 * revision its new one replaces (null: none); `from` on rollout, the whole rollout. When another
 * operator has changed it since, the operation is refused (409) rather than applied to what they
 * did not see — and would silently undo.
 *   approve  {scene, revision?, message?}   by an admin other than the candidate's publisher (layouts.approval)
 *   candidates {}   each scene's candidate, with what promote would read of it: `approval` and `shadow` (releases.ts ListedCandidate)
 *   shadow   {scene}   the shadow comparison of the scene's candidate, every replica's (src/panels/shadow-totals.ts)
 */
import { z } from 'zod';
import { ERRORS, ErrorCode, FloorplanError } from '../errors.ts';
import type { AdminHandler } from '../http/server.ts';
import { IncompatibleLayouts } from '../layouts/compatibility.ts';
import { layoutProblems } from '../layouts/compile.ts';
import { candidateRolloutInputSchema, rolloutChangeSchema, rolloutSeenSchema } from '../layouts/revisions/candidates.ts';
import { PromoteRefused, type LayoutOperations, type LayoutReleases } from '../layouts/revisions/releases.ts';
import { LiveOvertaken, OperationRefused } from '../layouts/revisions/revision-store.ts';
import type { ScopedShadowReport } from '../panels/shadow-totals.ts';
import type { ShadowStaging } from '../panels/shadow.ts';

const revision = z.int().min(1);
const limit = z.int().min(1).max(1000).default(20);
const author = z.string().min(1).max(128).optional();
const message = z.string().max(1000);
const scene = z.string().regex(/^[a-z][a-z0-9_-]*$/, { error: 'must be a scene name such as "cart-bottom-sheet"' });
const files = z.record(z.string().regex(/^[^/\\]+\.ya?ml$/, { error: 'must name each file <scene>.yaml' }), z.string());

const schemas = {
  publish: z.strictObject({
    files,
    message: message.default(''),
    author,
    from: revision.nullable().optional(),
  }),
  history: z.strictObject({ limit }),
  show: z.strictObject({ revision }),
  diff: z
    .strictObject({ from: revision.optional(), to: revision.optional(), rollback: z.boolean().optional() })
    .refine((body) => body.rollback !== true || (body.to !== undefined && body.from === undefined), { error: 'a rollback diff compares live with what a rollback to `to` makes live: give `to`, not `from`' }),
  rollback: z.strictObject({ revision, message: message.optional(), author, from: revision.optional() }),
  audit: z.strictObject({ limit }),
  candidate: z
    .strictObject({
      scene,
      files: files.optional(),
      revision: revision.optional(),
      rollout: candidateRolloutInputSchema.partial().optional(),
      message: message.optional(),
      author,
      replaces: revision.nullable().optional(),
    })
    .refine((body) => (body.files === undefined) !== (body.revision === undefined), { error: 'must give either files (a floors set) or revision (an existing one), not both or neither' }),
  rollout: rolloutChangeSchema.extend({ scene, revision: revision.optional(), from: rolloutSeenSchema.optional(), message: message.optional() }),
  promote: z.strictObject({ scene, revision: revision.optional(), message: message.optional(), author, force: z.boolean().optional() }),
  approve: z.strictObject({ scene, revision: revision.optional(), message: message.optional() }),
  abort: z.strictObject({ scene, revision: revision.optional(), message: message.optional() }),
  candidates: z.strictObject({}),
} as const;

type Operation = keyof typeof schemas;
export const LAYOUT_OPERATIONS = Object.keys(schemas) as Operation[];

/**
 * A refusal as the API answers it: the catalogue's status, the code, the message (and each
 * problem of an invalid set; for an incompatible one, also the whole matrix in `compatibility`).
 * `checkOnly`: the answer to a check, which publishes nothing in any case.
 */
export function layoutErrorBody(error: Pick<FloorplanError, 'code' | 'message'>, checkOnly = false): { status: number; body: Record<string, unknown> } {
  // A check (POST /admin/layouts/check) publishes nothing whatever it finds: it does not say it refused to.
  const refused = checkOnly ? '' : '; nothing was published';
  if (error instanceof IncompatibleLayouts) {
    return {
      status: ERRORS[error.code].status,
      body: { error: `some live app version would be sent what it does not understand${refused}`, code: error.code, problems: error.report.problems.map((p) => p.message), compatibility: error.report },
    };
  }
  if (error.code === ErrorCode.LAYOUT_INVALID) {
    return { status: 400, body: { error: `the layouts are invalid${refused}`, code: error.code, problems: layoutProblems(error) } };
  }
  // What a forced promote would replace besides the shadow's refusal, for a console to list before it offers force.
  if (error instanceof PromoteRefused) return { status: ERRORS[error.code].status, body: { error: error.message, code: error.code, overtaken: error.overtaken } };
  return { status: ERRORS[error.code].status, body: { error: error.message, code: error.code } };
}

async function run(operations: LayoutOperations, operation: Operation, input: never): Promise<unknown> {
  switch (operation) {
    case 'publish':
      return operations.publish(input);
    case 'history':
      return operations.history(input);
    case 'show':
      return operations.show(input);
    case 'diff':
      return operations.diff(input);
    case 'rollback':
      return operations.rollback(input);
    case 'audit':
      return operations.audit(input);
    case 'candidate':
      return operations.candidate(input);
    case 'rollout':
      return operations.rollout(input);
    case 'promote':
      return operations.promote(input);
    case 'approve':
      return operations.approve(input);
    case 'abort':
      return operations.abort(input);
    case 'candidates':
      return operations.candidates();
  }
}

/** What the `shadow` operation reads: the candidate this replica serves for a scene, and its comparison report. */
export interface ShadowReports {
  /** The staging of the candidate this replica serves for `scene` (its revision, when it was staged), or undefined. */
  candidate(scene: string): ShadowStaging | undefined;
  /** Every replica's comparisons of that staging when Redis has them, else this replica's (its `scope` says which). */
  report(scene: string, staging: ShadowStaging): Promise<ScopedShadowReport>;
  /** Scenes with a candidate here, for the error message. */
  scenes(): readonly string[];
}

/** The routes, by path: `/admin/layouts/publish` and the others (and `shadow`, given the reports). */
export function createLayoutAdminRoutes(releases: LayoutReleases, shadow?: ShadowReports): Record<string, AdminHandler> {
  const routes: Record<string, AdminHandler> = {};
  if (shadow !== undefined) {
    const shadowSchema = z.strictObject({ scene });
    routes['/admin/layouts/shadow'] = async (body) => {
      const parsed = shadowSchema.safeParse(body);
      if (!parsed.success) return { status: 400, body: { error: 'invalid shadow request', problems: parsed.error.issues.map((i) => `\`${i.path.join('.') || 'body'}\` ${i.message}`) } };
      const staging = shadow.candidate(parsed.data.scene);
      if (staging === undefined) {
        const known = shadow.scenes().length === 0 ? 'none now' : shadow.scenes().map((s) => JSON.stringify(s)).join(', ');
        return layoutErrorBody(new FloorplanError(ErrorCode.LAYOUT_CANDIDATE_NOT_FOUND, { known, received: JSON.stringify(parsed.data.scene) }));
      }
      return { status: 200, body: await shadow.report(parsed.data.scene, { revision: staging.revision, createdAt: staging.createdAt }) };
    };
  }
  for (const operation of LAYOUT_OPERATIONS) {
    routes[`/admin/layouts/${operation}`] = async (body, caller) => {
      const parsed = schemas[operation].safeParse(body);
      if (!parsed.success) {
        const problems = parsed.error.issues.map((i) => `\`${i.path.join('.') || 'body'}\` ${i.message}`);
        return { status: 400, body: { error: `invalid ${operation} request`, problems } };
      }
      try {
        return { status: 200, body: await run(releases.as(caller.identity), operation, parsed.data as never) };
      } catch (error) {
        if (error instanceof FloorplanError) return layoutErrorBody(error);
        // Refused by a check inside the store's transaction (a candidate changed mid-promote, a self-approval): nothing was changed.
        if (error instanceof OperationRefused) {
          const refused = layoutErrorBody(new FloorplanError(ErrorCode.LAYOUT_CONFLICT, { detail: error.message }));
          // What a forced promote would replace, for a console to show before it offers force.
          return error instanceof LiveOvertaken ? { ...refused, body: { ...refused.body, overtaken: error.changes } } : refused;
        }
        throw error;
      }
    };
  }
  return routes;
}
