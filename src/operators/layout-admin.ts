/**
 * The admin HTTP API of layout releases: POST /admin/layouts/<operation> with a JSON body, the
 * same operations as the `floors:*` commands (src/layouts/revisions/releases.ts), answered with
 * the same JSON the commands print from. The actor is the admin credential's identity; `author`
 * in the body names someone else as the author (both are recorded).
 *
 *   publish  {files: {"<scene>.yaml": "<yaml>"}, message?, author?}   a submitted YAML set
 *   history  {limit?}            show {revision}            diff {from?, to?}
 *   rollback {revision, message?, author?}                  audit {limit?}
 */
import { z } from 'zod';
import { ERRORS, ErrorCode, FloorplanError } from '../errors.ts';
import type { AdminHandler } from '../http/server.ts';
import type { LayoutOperations, LayoutReleases } from '../layouts/revisions/releases.ts';

const revision = z.int().min(1);
const limit = z.int().min(1).max(1000).default(20);
const author = z.string().min(1).max(128).optional();
const message = z.string().max(1000);

const schemas = {
  publish: z.strictObject({
    files: z.record(z.string().regex(/^[^/\\]+\.ya?ml$/, { error: 'must name each file <scene>.yaml' }), z.string()),
    message: message.default(''),
    author,
  }),
  history: z.strictObject({ limit }),
  show: z.strictObject({ revision }),
  diff: z.strictObject({ from: revision.optional(), to: revision.optional() }),
  rollback: z.strictObject({ revision, message: message.optional(), author }),
  audit: z.strictObject({ limit }),
} as const;

type Operation = keyof typeof schemas;
export const LAYOUT_OPERATIONS = Object.keys(schemas) as Operation[];

/** A refusal as the API answers it: the catalogue's status, the code, the message (and each problem of an invalid set). */
export function layoutErrorBody(error: FloorplanError): { status: number; body: Record<string, unknown> } {
  if (error.code === ErrorCode.LAYOUT_INVALID) {
    const problems = error.message.split('\n').filter((line) => line.startsWith('- ')).map((line) => line.slice(2));
    return { status: 400, body: { error: 'the layouts are invalid; nothing was published', code: error.code, problems: problems.length > 0 ? problems : [error.message] } };
  }
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
  }
}

/** The routes, by path: `/admin/layouts/publish` and the others. */
export function createLayoutAdminRoutes(releases: LayoutReleases): Record<string, AdminHandler> {
  const routes: Record<string, AdminHandler> = {};
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
        throw error;
      }
    };
  }
  return routes;
}
