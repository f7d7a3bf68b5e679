/** Helpers shared by the flags tests: viewers, loggers that record, temp flag files, bounded polling. */
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { FlagsConfig } from '../../src/flags/flag-service.ts';
import type { Logger } from '../../src/observability/logger.ts';
import type { Viewer } from '../../src/viewer/viewer.ts';

export const ROOT = join(import.meta.dirname, '..', '..');
export const SHIPPED_FLAGS = join(ROOT, 'config', 'flags.json');

export function viewer(overrides: Partial<Viewer> = {}): Viewer {
  return { userId: 'user-1', segments: [], platform: 'ios', appVersion: '12.3.0', locale: 'zh-CN', sessionId: null, ...overrides };
}

export function flagsConfig(overrides: Partial<FlagsConfig> = {}): FlagsConfig {
  return {
    unleashUrl: '',
    unleashToken: '',
    unleashUiUrl: '',
    appName: 'floorplan-test',
    environment: 'development',
    refreshIntervalMs: 15_000,
    bootstrapFile: 'config/flags.json',
    killFlagPrefix: 'floorplan.kill.',
    ...overrides,
  };
}

export interface RecordingLogger {
  readonly logger: Logger;
  /** Every line logged so far, parsed. */
  readonly lines: Array<{ level: number; msg: string } & Record<string, unknown>>;
}

/** A real pino logger whose JSON lines are kept for assertions instead of printed. */
export function recordingLogger(): RecordingLogger {
  const lines: RecordingLogger['lines'] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

/** A private folder holding a copy of the shipped flags file, for tests that rewrite it. */
export async function tempFlagsDir(): Promise<{ dir: string; file: string; write(content: unknown): Promise<void>; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'floorplan-flags-test-'));
  const file = join(dir, 'flags.json');
  await copyFile(SHIPPED_FLAGS, file);
  return {
    dir,
    file,
    write: (content) => writeFile(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2)),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Polls `condition` every 20 ms until it holds; fails after `timeoutMs` (a bound, not a timing claim). */
export async function eventually(what: string, condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not true within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A deterministic pseudo-random generator (mulberry32), so property loops replay exactly. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A flags file in Unleash's export format from compact definitions, so a test states only what
 * it varies. Each flag: name, enabled, strategies (with featureName filled in), optional variants.
 */
export function exportFile(
  flags: ReadonlyArray<{
    name: string;
    enabled: boolean;
    type?: string;
    strategies: ReadonlyArray<Record<string, unknown>>;
    variants?: ReadonlyArray<Record<string, unknown>>;
  }>,
): Record<string, unknown> {
  return {
    features: flags.map((f) => ({ name: f.name, type: f.type ?? 'release', project: 'default' })),
    featureStrategies: flags.flatMap((f) =>
      f.strategies.map((s, i) => ({ featureName: f.name, sortOrder: i, parameters: {}, constraints: [], segments: [], ...s })),
    ),
    featureEnvironments: flags.map((f) => ({
      name: f.name,
      featureName: f.name,
      environment: 'development',
      enabled: f.enabled,
      variants: f.variants ?? [],
    })),
    contextFields: [],
    featureTags: [],
    segments: [],
    tagTypes: [],
    dependencies: [],
  };
}
