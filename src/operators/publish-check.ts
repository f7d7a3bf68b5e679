/**
 * POST /admin/layouts/check {files} — what publishing this YAML set would do, without doing it:
 * the set validated exactly as a publish validates it (refused with every problem and its
 * file:line, as publish refuses it), and the semantic diff from the live revision's floors to it,
 * so the console can say what changes for whom before the operator confirms; and `compatibility`,
 * what every live app version would get (src/layouts/compatibility.ts) — a set some live
 * version cannot render is refused (409) as publish refuses it. Stores nothing and is not audited.
 */
import { z } from 'zod';
import { FloorplanError } from '../errors.ts';
import type { AdminHandler } from '../http/server.ts';
import { IncompatibleLayouts } from '../layouts/compatibility.ts';
import { diffLayouts } from '../layouts/revisions/diff.ts';
import type { LayoutReleases } from '../layouts/revisions/releases.ts';
import { layoutErrorBody } from './layout-admin.ts';

const checkSchema = z.strictObject({
  files: z.record(z.string().regex(/^[^/\\]+\.ya?ml$/, { error: 'must name each file <scene>.yaml' }), z.string()),
});

/** The POST /admin/layouts/check handler, over the releases a publish would go through. */
export function createPublishCheckHandler(releases: Pick<LayoutReleases, 'validate' | 'compatibility' | 'as'> & Partial<Pick<LayoutReleases, 'publishApproval'>>): AdminHandler {
  return async (body, caller) => {
    const parsed = checkSchema.safeParse(body);
    if (!parsed.success) {
      return { status: 400, body: { error: 'invalid check request', problems: parsed.error.issues.map((i) => `\`${i.path.join('.') || 'body'}\` ${i.message}`) } };
    }
    const { files } = parsed.data;
    try {
      const operations = releases.as(caller.identity);
      const { live } = await operations.history({ limit: 1 });
      const liveFiles = live === null ? {} : (await operations.show({ revision: live })).revision.files;
      // The same sources, named the same way, as a publish of this set, judged against live as a publish is.
      const layouts = releases.validate(Object.keys(files).sort().map((name) => ({ name, file: name, source: files[name] as string })), liveFiles);
      const compatibility = releases.compatibility(layouts);
      if (compatibility !== undefined && compatibility.problems.length > 0) return layoutErrorBody(new IncompatibleLayouts(compatibility), true);
      // With approval required, a publish that changes money floors is refused: said here first.
      const approval = releases.publishApproval?.(live === null ? undefined : liveFiles, files, layouts);
      return {
        status: 200,
        body: {
          live,
          scenes: [...layouts.values()].map((l) => ({ scene: l.scene, version: l.version })),
          ...(approval === undefined ? {} : { approval }),
          diff: diffLayouts(liveFiles, files),
          compatibility: compatibility ?? { skipped: 'no clients file (config floors.clientsFile): the set was not checked against the live app versions' },
        },
      };
    } catch (error) {
      if (error instanceof FloorplanError) return layoutErrorBody(error, true);
      throw error;
    }
  };
}
