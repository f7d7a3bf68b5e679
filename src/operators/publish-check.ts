/**
 * POST /admin/layouts/check {files} — what publishing this YAML set would do, without doing it:
 * the set validated exactly as a publish validates it (refused with every problem and its
 * file:line, as publish refuses it), and the semantic diff from the live revision's floors to it,
 * so the console can say what changes for whom before the operator confirms; `versionKept`, the
 * scenes whose floors it changes under the same `version` (publish warns of them); and `compatibility`,
 * what every live app version would get (src/layouts/compatibility.ts) — a set some live
 * version cannot render is refused (409) as publish refuses it. Stores nothing and is not audited.
 * With the revision store down, a set is still refused for what needs no live revision (400,
 * 409); one that passes gets the store's 503, saying the check is incomplete.
 */
import { z } from 'zod';
import { FloorplanError } from '../errors.ts';
import type { AdminHandler } from '../http/server.ts';
import { diffLayouts, versionsKept } from '../layouts/revisions/diff.ts';
import type { LayoutReleases } from '../layouts/revisions/releases.ts';
import { asCheckRefusal } from '../layouts/revisions/revision-store.ts';
import { layoutErrorBody } from './layout-admin.ts';

const checkSchema = z.strictObject({
  files: z.record(z.string().regex(/^[^/\\]+\.ya?ml$/, { error: 'must name each file <scene>.yaml' }), z.string()),
});

/** The POST /admin/layouts/check handler, over the releases a publish would go through. */
export function createPublishCheckHandler(releases: Pick<LayoutReleases, 'judgeSubmitted'> & Partial<Pick<LayoutReleases, 'publishApproval'>>): AdminHandler {
  return async (body) => {
    const parsed = checkSchema.safeParse(body);
    if (!parsed.success) {
      return { status: 400, body: { error: 'invalid check request', problems: parsed.error.issues.map((i) => `\`${i.path.join('.') || 'body'}\` ${i.message}`) } };
    }
    const { files } = parsed.data;
    // The same sources, named the same way, as a publish of this set, judged against live as a publish is.
    const sources = Object.keys(files).sort().map((name) => ({ name, file: name, source: files[name] as string }));
    try {
      // Judged by publish's own rules (releases.judgeSubmitted): what publish refuses, the check refuses.
      // With the store down, the set's own mistakes are answered first; one without any gets the store's 503.
      const judged = await releases.judgeSubmitted(sources).catch((error: unknown) => {
        throw asCheckRefusal(error);
      });
      const live = judged.live?.revision ?? null;
      const liveFiles = judged.live?.files ?? {};
      const { layouts, compatibility } = judged;
      // With approval required, a publish that changes money floors is refused: said here first.
      const approval = releases.publishApproval?.(live === null ? undefined : liveFiles, files, layouts);
      return {
        status: 200,
        body: {
          live,
          scenes: [...layouts.values()].map((l) => ({ scene: l.scene, version: l.version })),
          ...(approval === undefined ? {} : { approval }),
          diff: diffLayouts(liveFiles, files),
          // Floors changed under live's version: layoutVersion no longer tells them apart (a warning, as publish gives it).
          versionKept: versionsKept(liveFiles, files),
          compatibility: compatibility ?? { skipped: 'no clients file (config floors.clientsFile): the set was not checked against the live app versions' },
        },
      };
    } catch (error) {
      if (error instanceof FloorplanError) return layoutErrorBody(error, true);
      throw error;
    }
  };
}
