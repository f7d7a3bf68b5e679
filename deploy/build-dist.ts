/**
 * `npm run build` (tsc to dist/src/, plus the SQL migrations tsc does not copy, then the
 * production bundle dist/server/: dist/src/main.js and its dependencies in one module graph) and
 * the command that runs the result (`npm run start:prod`'s node flags and script, the image's
 * CMD), for tools that run Floorplan from dist/ as production does: the topology and the
 * benchmarks. One definition of each, package.json's, so neither drifts from what the image has.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** What `root`'s `npm run start:prod` runs, which must read `node [flags] dist/….js`. */
export interface ProductionCommand {
  readonly nodeFlags: string[];
  /** The script, relative to `root`: the bundle `dist/server/main.js` (`dist/src/main.js` in checkouts from before it). */
  readonly entry: string;
}

/**
 * `root`'s start:prod, read from its package.json; throws if it is not `[exec] node [flags]
 * dist/….js` (`exec`: the shell npm runs it in becomes node, so a SIGTERM npm passes on reaches it).
 */
export function productionCommand(root: string): ProductionCommand {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  const command = manifest.scripts?.['start:prod'];
  const match = command === undefined ? null : /^(?:exec\s+)?node\s+(.*?)\s*(dist\/\S+\.js)$/.exec(command);
  if (match === null) throw new Error(`package.json's start:prod must read "exec node [flags] dist/….js", but got: ${JSON.stringify(command)}`);
  return { nodeFlags: (match[1] as string).split(/\s+/).filter((flag) => flag !== ''), entry: match[2] as string };
}

/** The node flags of `root`'s `npm run start:prod`. */
export function productionNodeFlags(root: string): string[] {
  return productionCommand(root).nodeFlags;
}

/** Builds dist/ in `root`, or throws with the build's output. */
export function buildDist(root: string): void {
  const result = spawnSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`npm run build failed${result.error === undefined ? '' : ` (${result.error.message})`}:\n${result.stdout}${result.stderr}`);
}
