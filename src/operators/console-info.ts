/**
 * POST /admin/console-info — what the console's forms offer: the scenes served now (with their
 * layout version and variants) and the configured locales, the first being the default.
 */
import type { AdminHandler } from '../http/server.ts';
import type { LayoutSet } from '../layouts/compile.ts';

/** What the console's forms are filled from. */
export interface ConsoleInfoDeps {
  /** The live layouts: the scenes offered. */
  readonly layouts: () => LayoutSet;
  /** `floors.locales`, the first the default. */
  readonly locales: readonly string[];
}

/** The POST /admin/console-info handler. */
export function createConsoleInfoHandler(deps: ConsoleInfoDeps): AdminHandler {
  return async () => ({
    status: 200,
    body: {
      scenes: [...deps.layouts().values()].map((l) => ({ scene: l.scene, version: l.version, variants: Object.keys(l.variants) })),
      locales: deps.locales,
    },
  });
}
