/**
 * POST /admin/console-info — what the console's forms offer: the scenes served now (with their
 * layout version and variants) and the configured locales, the first being the default.
 */
import type { AdminHandler } from '../http/server.ts';
import type { LayoutSet } from '../layouts/compile.ts';

export interface ConsoleInfoDeps {
  readonly layouts: () => LayoutSet;
  readonly locales: readonly string[];
}

export function createConsoleInfoHandler(deps: ConsoleInfoDeps): AdminHandler {
  return async () => ({
    status: 200,
    body: {
      scenes: [...deps.layouts().values()].map((l) => ({ scene: l.scene, version: l.version, variants: Object.keys(l.variants) })),
      locales: deps.locales,
    },
  });
}
