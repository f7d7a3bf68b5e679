import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WatchedPath, type WatchedContent } from '../../src/config/watched-path.ts';
import { createLogger } from '../../src/observability/logger.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A watched file in a fresh folder, recording every change it is told about. */
async function watched() {
  const dir = mkdtempSync(join(tmpdir(), 'floorplan-watched-'));
  dirs.push(dir);
  const file = join(dir, 'flags.json');
  writeFileSync(file, 'one');
  const changes: Array<WatchedContent<string>> = [];
  const path = new WatchedPath<string>({
    path: file,
    label: 'test file',
    read: () => readFileSync(file, 'utf8'),
    identify: (content) => [content],
    onChange: (content) => void changes.push(content),
    debounceMs: 20,
    pollIntervalMs: 30,
    logger: createLogger('silent'),
  });
  const first = await path.read();
  path.start();
  return { file, path, changes, first };
}

async function until(ok: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok() && Date.now() < deadline) await sleep(20);
}

describe('WatchedPath', () => {
  it('reads the content at start without reporting it as a change', async () => {
    const { path, changes, first } = await watched();
    expect(first).toBe('one');
    await sleep(150);
    expect(changes).toEqual([]);
    await path.stop();
  });

  it('reports an edit once, and does nothing for a touch that leaves the content as it was', async () => {
    const { file, path, changes } = await watched();
    writeFileSync(file, 'two');
    await until(() => changes.length > 0);
    await sleep(150);
    expect(changes).toEqual([{ ok: true, value: 'two' }]);
    const later = new Date(Date.now() + 5000);
    utimesSync(file, later, later);
    await sleep(200);
    expect(changes).toHaveLength(1);
    await path.stop();
  });

  it('reports a file that cannot be read once, until it changes', async () => {
    const { file, path, changes } = await watched();
    rmSync(file);
    await until(() => changes.length > 0);
    await sleep(150);
    expect(changes).toHaveLength(1);
    expect(changes[0]?.ok).toBe(false);
    writeFileSync(file, 'back');
    await until(() => changes.length > 1);
    expect(changes[1]).toEqual({ ok: true, value: 'back' });
    await path.stop();
  });

  it('reports the same content again only when forced', async () => {
    const { path, changes } = await watched();
    await path.check();
    expect(changes).toEqual([]);
    await path.check(true);
    expect(changes).toEqual([{ ok: true, value: 'one' }]);
    await path.stop();
  });

  it('stops idempotently and no longer reacts to the file', async () => {
    const { file, path, changes } = await watched();
    const stopped = path.stop();
    expect(path.stop()).toBe(stopped);
    await stopped;
    writeFileSync(file, 'after');
    await sleep(200);
    expect(changes).toEqual([]);
  });
});
