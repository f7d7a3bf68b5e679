/**
 * The two layout revision stores a suite runs the same behaviour on: PGlite (the embedded
 * default, in a fresh temporary folder) and a PostgreSQL database of the test's own on
 * 127.0.0.1:5432 (skipped by name where the server is missing). For `describe.each`:
 * [name, skip, open].
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RevisionStoreConfig } from '../../src/layouts/revisions/database.ts';
import { createTestDatabase, HAS_POSTGRES, type TestDatabase } from './postgres.ts';

const TIMEOUTS = { connectTimeoutMs: 2000, queryTimeoutMs: 10_000 };

export type OpenRevisionStore = () => Promise<{ config: RevisionStoreConfig; cleanup(): Promise<void> }>;

export const REVISION_STORES: Array<[string, boolean, OpenRevisionStore]> = [
  [
    'PGlite',
    false,
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'floorplan-pglite-'));
      return { config: { kind: 'pglite', dataDir: join(dir, 'data'), url: '', ...TIMEOUTS }, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  ],
  [
    'PostgreSQL (a database of its own on 127.0.0.1:5432)',
    !HAS_POSTGRES,
    async () => {
      const database: TestDatabase = await createTestDatabase();
      return { config: { kind: 'postgres', url: database.url, dataDir: '', ...TIMEOUTS }, cleanup: () => database.drop() };
    },
  ],
];
