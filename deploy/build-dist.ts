/**
 * `npm run build` (tsc to dist/, plus the SQL migrations tsc does not copy) for tools that run
 * Floorplan from dist/ as production does: the topology and the benchmarks. One definition of
 * the build, package.json's, so dist/ is never missing what the image has.
 */
import { spawnSync } from 'node:child_process';

/** Builds dist/ in `root`, or throws with the build's output. */
export function buildDist(root: string): void {
  const result = spawnSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`npm run build failed${result.error === undefined ? '' : ` (${result.error.message})`}:\n${result.stdout}${result.stderr}`);
}
