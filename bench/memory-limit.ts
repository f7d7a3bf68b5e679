/**
 * Floorplan under a container's memory limit: Node sizes its heap from the memory limit of the
 * cgroup it starts in, so a pod with `limits.memory` runs a differently tuned process from one
 * on a large machine. This measures CPU per panel, garbage collection and RSS of Floorplan
 * started in a memory cgroup of the limit (B) against one started without (A), both from dist/
 * with the bench config, loaded at the same time (bench/cpu-per-request.ts, simultaneous).
 *
 *   node --import tsx bench/memory-limit.ts [--limit 512Mi] [--flags "--max-semi-space-size=32"]
 *       [--rounds 6] [--seconds 5] [--connections 200]
 *
 * The limit defaults to the base Deployment's `limits.memory` (deploy/kubernetes/base); both
 * servers run `npm run start:prod`'s node flags unless --flags replaces B's (`--flags ""` runs B
 * on Node's own sizing). Needs root and a memory cgroup controller (deploy/memory-cgroup.ts).
 * BENCHMARKS.md, "Under a container's memory limit", has its figures.
 */
import { parseArgs } from 'node:util';
import { deploymentMemoryLimit, HAS_MEMORY_CGROUP, kubernetesBytes } from '../deploy/memory-cgroup.ts';
import { killAllNow, nodeFlagsOf, productionNodeFlags, ROOT, stopAll, useCompiledChildren } from './children.ts';
import { measureCpuPerRequest } from './cpu-per-request.ts';
import { createBenchFloorsDir } from './scenes.ts';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      limit: { type: 'string' },
      flags: { type: 'string' },
      rounds: { type: 'string', default: '6' },
      seconds: { type: 'string', default: '5' },
      connections: { type: 'string', default: '200' },
    },
  });
  if (!HAS_MEMORY_CGROUP) throw new Error('a memory cgroup cannot be made here: run as root on a machine with the cgroup memory controller');
  const limit = values.limit ?? deploymentMemoryLimit(ROOT);
  const production = productionNodeFlags();
  const limitedFlags = values.flags === undefined ? production : nodeFlagsOf(values.flags);
  const show = (flags: readonly string[]) => (flags.length === 0 ? "Node's own sizing" : flags.join(' '));
  console.log(`A: no memory limit, ${show(production)}; B: limits.memory ${limit}, ${show(limitedFlags)}`);
  console.log('compiling to dist/ …');
  useCompiledChildren();
  const floors = createBenchFloorsDir();
  try {
    const result = await measureCpuPerRequest({
      a: { name: 'no limit', floorsDir: floors.dir, nodeFlags: production },
      b: { name: `${limit}`, floorsDir: floors.dir, nodeFlags: limitedFlags, memoryLimitBytes: kubernetesBytes(limit) },
      rounds: Number(values.rounds),
      seconds: Number(values.seconds),
      connections: Number(values.connections),
      warmupRequests: 3000,
      simultaneous: true,
      label: 'memory-limit',
      log: (line) => console.log(line),
    });
    console.log(`CPU per panel under ${limit} ÷ without a limit: ${result.ratio.toFixed(3)} (median of rounds ${result.medianRoundRatio.toFixed(3)})`);
  } finally {
    await stopAll();
    floors.dispose();
  }
}

process.on('exit', killAllNow);
main().catch((error: unknown) => {
  process.stderr.write(`bench/memory-limit failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
