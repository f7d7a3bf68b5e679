/**
 * Layout releases as the server makes them — the shipped builders, the shipped config's locales
 * and apps, a silent logger — over a revision store of REVISION_STORES, for a suite's beforeAll.
 */
import { join } from 'node:path';
import { expect } from 'vitest';
import { loadServiceConfig } from '../../src/config/service-config.ts';
import { defaultBuilders } from '../../src/floors/builders/index.ts';
import { createBuilderRegistry } from '../../src/floors/registry.ts';
import { LayoutReleases, type LayoutReleasesOptions } from '../../src/layouts/revisions/releases.ts';
import { RevisionStore } from '../../src/layouts/revisions/revision-store.ts';
import { createLogger } from '../../src/observability/logger.ts';
import type { OpenRevisionStore } from './revision-stores.ts';

const config = loadServiceConfig({ dir: join(import.meta.dirname, '..', '..', 'config'), env: {} });
const registry = createBuilderRegistry(defaultBuilders);
const logger = createLogger('silent');

export interface OpenedReleases {
  readonly store: RevisionStore;
  readonly releases: LayoutReleases;
  /** Closes the store, then removes its folder or drops its database. */
  close(): Promise<void>;
}

/** Releases on `store` (the one openReleases made, or a wrapper of it) with `options` beside the usual ones, as openReleases makes them. */
export function releasesOn(store: RevisionStore, options: Partial<LayoutReleasesOptions> = {}): LayoutReleases {
  return new LayoutReleases({ store, registry, locales: config.floors.locales, apps: config.apps, logger, ...options });
}

/** A revision store `open` makes, probed, and releases on it with `options` beside the usual ones (none by default: as the server's, with no hooks). */
export async function openReleases(open: OpenRevisionStore, options: Partial<LayoutReleasesOptions> = {}): Promise<OpenedReleases> {
  const opened = await open();
  const store = new RevisionStore(opened.config, { logger });
  const releases = releasesOn(store, options);
  // Probed here, not in a suite's first test: PGlite's first start runs initdb, seconds on a busy machine.
  expect(await store.probe()).toBe(true);
  return {
    store,
    releases,
    close: async () => {
      await store.close();
      await opened.cleanup();
    },
  };
}
