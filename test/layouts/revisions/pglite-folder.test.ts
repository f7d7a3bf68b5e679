/**
 * An embedded store (PGlite) whose data folder cannot be opened: the operator is told which
 * folder and what is wrong with it. PGlite's own file system throws an object with an errno and no
 * message there, which the store once quoted as "undefined".
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, FloorplanError } from '../../../src/errors.ts';
import { RevisionStore } from '../../../src/layouts/revisions/revision-store.ts';
import { createLogger } from '../../../src/observability/logger.ts';

describe('a PGlite data folder that cannot be opened', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'floorplan-pglite-folder-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is refused with the folder named and why, not "undefined"', async () => {
    const dataDir = join(dir, 'revisions');
    writeFileSync(dataDir, 'a file where the data folder should be\n');
    const store = new RevisionStore({ kind: 'pglite', dataDir, url: '', connectTimeoutMs: 1000, queryTimeoutMs: 5000 }, { logger: createLogger('silent') });
    try {
      const error = await store.history(1).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FloorplanError);
      expect((error as FloorplanError).code).toBe(ErrorCode.LAYOUT_STORE_UNAVAILABLE);
      expect((error as Error).message).toContain(`PGlite could not open its data folder ${dataDir}: it is a file, not a folder`);
      expect((error as Error).message).not.toContain('undefined');
    } finally {
      await store.close();
    }
  });

  it('names what was thrown when it carries no message: PGlite\'s errno objects elsewhere, e.g. a full disk', async () => {
    const thrown = Object.assign(Object.create(null) as object, { name: 'ErrnoError', errno: 51 });
    const store = new RevisionStore(
      { kind: 'pglite', dataDir: join(dir, 'elsewhere'), url: '', connectTimeoutMs: 1000, queryTimeoutMs: 5000 },
      { logger: createLogger('silent'), open: () => Promise.reject(thrown) },
    );
    try {
      const error = await store.history(1).catch((e: unknown) => e);
      expect((error as FloorplanError).code).toBe(ErrorCode.LAYOUT_STORE_UNAVAILABLE);
      expect((error as Error).message).toContain('but it is not: ErrnoError (errno 51: ENOSPC, no space left on device);');
    } finally {
      await store.close();
    }
  });
});
