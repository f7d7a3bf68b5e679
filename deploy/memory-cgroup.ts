/**
 * A memory limit for one child process, set the way a container runtime sets a pod's: a memory
 * cgroup (cgroup v2's `memory.max`, or v1's `memory.limit_in_bytes`) that the child joins before
 * it execs, so Node sizes its heap from the limit exactly as it does in a container. Needs root
 * and a cgroup file system with the memory controller; {@link HAS_MEMORY_CGROUP} says whether
 * this machine has both (tests that need it skip by name otherwise). Used by the image's test
 * (test/deploy/dockerfile.test.ts), bench/memory-limit.ts and the topology's replicas.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';

const V2_ROOT = '/sys/fs/cgroup';
const V1_MEMORY = '/sys/fs/cgroup/memory';

/** Where new memory cgroups go, and the file their limit is written to; undefined when this machine cannot make one. */
const LAYOUT: { readonly parent: string; readonly limitFile: string } | undefined = (() => {
  if (process.getuid?.() !== 0) return undefined;
  const v2 = join(V2_ROOT, 'cgroup.subtree_control');
  if (existsSync(v2) && readFileSync(v2, 'utf8').split(/\s+/).includes('memory')) return { parent: V2_ROOT, limitFile: 'memory.max' };
  if (existsSync(join(V1_MEMORY, 'memory.limit_in_bytes'))) return { parent: V1_MEMORY, limitFile: 'memory.limit_in_bytes' };
  return undefined;
})();

/** Whether {@link createMemoryCgroup} can work here: root, and a cgroup file system with the memory controller. */
export const HAS_MEMORY_CGROUP = ((): boolean => {
  if (LAYOUT === undefined) return false;
  try {
    rmdirSync(createMemoryCgroup(64 * 2 ** 20).path);
    return true;
  } catch {
    return false;
  }
})();

export interface MemoryCgroup {
  /** The cgroup's folder. */
  readonly path: string;
  /** `command args…` rewritten to join the cgroup first: `sh -c 'echo $$ > …/cgroup.procs && exec "$0" "$@"' command args…`. */
  wrap(command: string, args: readonly string[]): [string, string[]];
  /** Removes the cgroup once its processes have exited and the kernel has let them go (tries for 2 s). */
  remove(): Promise<void>;
}

/** A new memory cgroup limited to `limitBytes`. */
export function createMemoryCgroup(limitBytes: number): MemoryCgroup {
  if (LAYOUT === undefined) throw new Error('memory cgroups need root and a cgroup file system with the memory controller');
  const path = join(LAYOUT.parent, `floorplan-${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(path);
  try {
    writeFileSync(join(path, LAYOUT.limitFile), String(limitBytes));
  } catch (error) {
    rmdirSync(path);
    throw error;
  }
  return {
    path,
    wrap: (command, args) => ['sh', ['-c', `echo $$ > '${join(path, 'cgroup.procs')}' && exec "$0" "$@"`, command, ...args]],
    async remove() {
      for (let tries = 0; ; tries++) {
        try {
          rmdirSync(path);
          return;
        } catch (error) {
          if (tries >= 40) throw error;
          await new Promise((done) => setTimeout(done, 50));
        }
      }
    },
  };
}

/** The base Deployment's container `limits.memory` (deploy/kubernetes/base/deployment.yaml under `root`), e.g. `512Mi`. */
export function deploymentMemoryLimit(root: string): string {
  const deployment = parseYaml(readFileSync(join(root, 'deploy/kubernetes/base/deployment.yaml'), 'utf8')) as {
    spec: { template: { spec: { containers: Array<{ resources?: { limits?: { memory?: string } } }> } } };
  };
  const limit = deployment.spec.template.spec.containers[0]?.resources?.limits?.memory;
  if (limit === undefined) throw new Error('deploy/kubernetes/base/deployment.yaml sets no limits.memory');
  return limit;
}

/** Bytes in a Kubernetes memory quantity: `512Mi`, `1Gi`, `300M`, or plain bytes. */
export function kubernetesBytes(quantity: string): number {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(quantity);
  if (match === null) throw new Error(`not a Kubernetes memory quantity: ${quantity}`);
  const factors: Record<string, number> = { '': 1, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  return Math.round(Number(match[1]) * factors[match[2] ?? '']!);
}
