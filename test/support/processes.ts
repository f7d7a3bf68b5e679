/** Helpers for tests that run Floorplan (or Redis) as real processes on loopback. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root: where `npm start` and the CLI run from. */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A port nothing listens on right now, below the ephemeral range (deploy/ports.ts); released before returning. */
export { freePort } from '../../deploy/ports.ts';

/**
 * The environment `npm start` sees, plus `extra`: vitest's NODE_ENV=test (and VITEST) removed,
 * because NODE_ENV changes Apollo's behaviour — a child process must run as it would in production.
 */
export function npmStartEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const { NODE_ENV: _testMode, VITEST: _vitest, ...env } = process.env;
  // No revision store or last-known-good copy in the working directory unless a test names its
  // own: test files run in parallel, and one's published revision must never reach another.
  return { ...env, LAYOUT_STORE: 'none', LAYOUT_LAST_GOOD_FILE: '', ...extra };
}

/** What a command printed and how it ended. */
export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `node --import tsx src/cli/floors.ts ...args` from the project root, as the npm scripts
 * (`floors:publish`, `floors:history`, …) do, with exactly `env`; resolves once it has exited
 * and its output is read.
 */
export function runFloorsCli(args: readonly string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  return runNode(['--import', 'tsx', 'src/cli/floors.ts', ...args], env);
}

/** Runs `node --import tsx src/cli/token.ts ...args` from the project root, as `npm run token` does, with exactly `env`. */
export function runTokenCli(args: readonly string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  return runNode(['--import', 'tsx', 'src/cli/token.ts', ...args], env);
}

/**
 * Runs `source` (an ES module, which may import the project's .ts files by URL) in a fresh
 * `node --import tsx` with `nodeFlags`, and returns the JSON it writes to stdout. For what one
 * process must measure alone: what it loads, what its heap keeps. Throws with its stderr if it fails.
 */
export async function runNodeScript<T>(source: string, nodeFlags: readonly string[] = []): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'floorplan-script-'));
  try {
    const script = join(dir, 'script.mjs');
    writeFileSync(script, source);
    const run = await runNode([...nodeFlags, '--import', 'tsx', script], process.env);
    if (run.code !== 0) throw new Error(`the script exited with ${String(run.code)}: ${run.stderr}`);
    return JSON.parse(run.stdout) as T;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function runNode(args: readonly string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
