import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WatchedPath, type WatchedContent } from '../../src/config/watched-path.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { recordingLogger } from '../flags/support.ts';

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

/** An error as Node's fs gives it: `EMFILE: too many open files, …` with its code. */
function fsError(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: too many open files, scandir '/somewhere'`), { code });
}

describe('WatchedPath when the process is out of file descriptors (or memory) for a moment', () => {
  /** A watched file whose folder listing and read can be made to fail, logging to a recording logger. */
  async function starved() {
    const dir = mkdtempSync(join(tmpdir(), 'floorplan-watched-'));
    dirs.push(dir);
    const file = join(dir, 'flags.json');
    writeFileSync(file, 'one');
    const changes: Array<WatchedContent<string>> = [];
    const { logger, lines } = recordingLogger();
    const failing = { readdir: undefined as string | undefined, read: undefined as (() => Error) | undefined, readdirCalls: 0, readCalls: 0 };
    const path = new WatchedPath<string>({
      path: file,
      label: 'flags file flags.json',
      read: () => {
        failing.readCalls++;
        if (failing.read !== undefined) throw failing.read();
        return readFileSync(file, 'utf8');
      },
      identify: (content) => [content],
      onChange: (content) => void changes.push(content),
      debounceMs: 20,
      pollIntervalMs: 30,
      logger,
      fs: {
        readdir: async (folder) => {
          failing.readdirCalls++;
          if (failing.readdir !== undefined) throw fsError(failing.readdir);
          return readdir(folder);
        },
        stat: (p) => stat(p),
      },
    });
    await path.read();
    path.start();
    return { file, path, changes, lines, failing };
  }

  it('skips the polls that cannot list the folder (no change reported), warns once naming the error, and sees the next edit', async () => {
    const { file, path, changes, lines, failing } = await starved();
    for (const code of ['EMFILE', 'ENFILE', 'EAGAIN', 'ENOMEM']) {
      failing.readdir = code;
      const calls = failing.readdirCalls;
      await until(() => failing.readdirCalls >= calls + 4);
    }
    failing.readdir = undefined;
    const calls = failing.readdirCalls;
    await until(() => failing.readdirCalls >= calls + 4);
    expect(changes).toEqual([]);
    // One line for the whole spell (at most one a minute), at warn, naming the file and the error.
    const warnings = lines.filter((l) => l.level === 40);
    expect(warnings.map((l) => l.msg)).toEqual([
      'could not check the flags file flags.json for changes: EMFILE: too many open files, scandir \'/somewhere\' (local resources ran short; not a change, the last loaded content keeps serving)',
    ]);
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);

    writeFileSync(file, 'two');
    await until(() => changes.length > 0);
    expect(changes).toEqual([{ ok: true, value: 'two' }]);
    await path.stop();
  });

  it('does not report a read that fails for want of descriptors as a change, and reads the edit once it can', async () => {
    const { file, path, changes, lines, failing } = await starved();
    // As the floors folder's reader gives it: its own words, the fs error as its cause.
    failing.read = () => new Error('Invalid layout: floors file floors/cart.yaml cannot be read: EMFILE: too many open files, open \'floors/cart.yaml\'', { cause: fsError('EMFILE') });
    writeFileSync(file, 'two');
    await until(() => failing.readCalls >= 4);
    expect(changes).toEqual([]);
    failing.read = () => fsError('ENFILE');
    const calls = failing.readCalls;
    await until(() => failing.readCalls >= calls + 3);
    expect(changes).toEqual([]);
    expect(lines.filter((l) => l.level === 40)).toHaveLength(1);
    expect(lines.find((l) => l.level === 40)?.msg).toContain('could not check the flags file flags.json for changes: Invalid layout: floors file floors/cart.yaml cannot be read: EMFILE');

    // The edit made meanwhile is not lost.
    failing.read = undefined;
    await until(() => changes.length > 0);
    expect(changes).toEqual([{ ok: true, value: 'two' }]);

    // A file that is gone is still a change.
    failing.read = () => fsError('ENOENT');
    writeFileSync(file, 'three');
    await until(() => changes.length > 1);
    expect(changes[1]?.ok).toBe(false);
    await path.stop();
  });

  // Defect: the code words were also looked for in the message, so a floors file whose mistake
  // quoted one (a floor code "ENOMEM", a name about EAGAIN) was taken for a shortage: the edit was
  // skipped, never reported, and the warning blamed the machine.
  it('reports a file whose content is wrong as a change, even when the mistake quotes a shortage\'s code word', async () => {
    const { file, path, changes, lines, failing } = await starved();
    failing.read = () => new Error('Invalid layout: floors/cart.yaml:4 floor `ENOMEM`: `builder` must be one of …');
    writeFileSync(file, 'two');
    await until(() => changes.length > 0);
    expect(changes[0]?.ok).toBe(false);
    expect(lines.filter((l) => l.level === 40 && String(l.msg).includes('local resources ran short'))).toEqual([]);
    await path.stop();
  });

  it('still reports the content of a forced check it had to skip, once it can read it', async () => {
    const { path, changes, failing } = await starved();
    failing.read = () => fsError('EMFILE');
    await path.check(true);
    expect(changes).toEqual([]);
    failing.read = undefined;
    await until(() => changes.length > 0);
    expect(changes).toEqual([{ ok: true, value: 'one' }]);
    await path.stop();
  });
});
