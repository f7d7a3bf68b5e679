/**
 * CPU per request of two checkouts of Floorplan, each serving its own floors/ with its own
 * config/bench.yaml from its own dist/, in interleaved rounds (bench/cpu-per-request.ts), after
 * checking both answer byte-identical panels for every load user. For "did this refactor cost
 * CPU?" (issue 13 asked it of the redesign: 8fbb59b before, 31a6249 after).
 *
 *   git worktree add --detach /tmp/before <commit> && (cd /tmp/before && npm ci && npm run build)
 *   git worktree add --detach /tmp/after <commit>  && (cd /tmp/after && npm ci && npm run build)
 *   node_modules/.bin/node --import tsx bench/checkouts.ts --a /tmp/before --b /tmp/after [--rounds 10] [--seconds 3] [--connections 16] [--warmup 2000]
 *
 * Both servers use this checkout's demo upstreams and load worker; `--a` twice is the A/A check
 * of the method. Ratios are B ÷ A. `--a-node-flags` / `--b-node-flags` replace `npm run
 * start:prod`'s node flags for one side (`=""` for none; give them after `=`, as they start with
 * `--`): one checkout twice with different flags compares young-generation sizes, e.g. `--a . --b .
 * --b-node-flags="--max-semi-space-size=32 --min-semi-space-size=32" --connections 200 --seconds 5
 * --rounds 6` (GC and RSS are logged too). `--a-env` / `--b-env NAME=value` (repeatable) add
 * environment to one side's Floorplan, e.g. its C allocator: `--a . --b . --a-env LD_PRELOAD=
 * --b-env LD_PRELOAD=libjemalloc.so.2 --connections 200 --seconds 5 --rounds 6` (BENCHMARKS.md,
 * "jemalloc at the RSS target's load").
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { killAllNow, stopAll } from './children.ts';
import { hadNonFull, measureCpuPerRequest } from './cpu-per-request.ts';
import { envPairs } from './tracing.ts';

const log = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      a: { type: 'string' },
      b: { type: 'string' },
      rounds: { type: 'string', default: '10' },
      seconds: { type: 'string', default: '3' },
      connections: { type: 'string', default: '16' },
      warmup: { type: 'string', default: '2000' },
      'a-node-flags': { type: 'string' },
      'b-node-flags': { type: 'string' },
      'a-env': { type: 'string', multiple: true, default: [] },
      'b-env': { type: 'string', multiple: true, default: [] },
    },
  });
  const roots = [values.a, values.b].map((dir) => {
    if (dir === undefined) throw new Error('usage: bench/checkouts.ts --a <checkout> --b <checkout> (each built with npm ci && npm run build)');
    const root = resolve(dir);
    if (!existsSync(join(root, 'dist', 'src', 'main.js'))) throw new Error(`${root} has no dist/src/main.js: run npm ci && npm run build there first`);
    return root;
  }) as [string, string];
  const flagsOf = (text: string | undefined) => (text === undefined ? {} : { nodeFlags: text.split(/\s+/).filter((flag) => flag !== '') });
  const envs = { a: envPairs(values['a-env']), b: envPairs(values['b-env']) };
  const variant = (root: string, name: string, flags: string | undefined, env: Record<string, string>) => ({ name, root, floorsDir: join(root, 'floors'), env, ...flagsOf(flags) });
  const same = roots[1] === roots[0] && values['a-node-flags'] === values['b-node-flags'] && JSON.stringify(envs.a) === JSON.stringify(envs.b);
  try {
    const result = await measureCpuPerRequest({
      a: variant(roots[0], 'a', values['a-node-flags'], envs.a),
      b: variant(roots[1], same ? 'a-again' : 'b', values['b-node-flags'], envs.b),
      rounds: Number(values.rounds),
      seconds: Number(values.seconds),
      connections: Number(values.connections),
      warmupRequests: Number(values.warmup),
      label: 'checkouts',
      samePanels: true,
      log,
    });
    if (hadNonFull(result)) log(`answers other than a full panel (not counted): a ${JSON.stringify(result.a.nonFull)}, b ${JSON.stringify(result.b.nonFull)}`);
    const shown = (flags: string | undefined, env: Record<string, string>) =>
      (flags === undefined ? '' : `, node flags "${flags}"`) + Object.entries(env).map(([name, value]) => `, ${name}=${JSON.stringify(value)}`).join('');
    log(`a (${roots[0]}${shown(values['a-node-flags'], envs.a)}): ${result.a.cpuUsPerReq.toFixed(1)} µs CPU/req over ${result.a.fullPanels} full panels`);
    log(`b (${roots[1]}${shown(values['b-node-flags'], envs.b)}): ${result.b.cpuUsPerReq.toFixed(1)} µs CPU/req over ${result.b.fullPanels} full panels`);
    log(`ratio b/a: ${result.ratio.toFixed(3)}× (median of per-round ratios ${result.medianRoundRatio.toFixed(3)}×; rounds ${result.rounds.map((r) => (r.b / r.a).toFixed(3)).join(', ')})`);
  } finally {
    await stopAll();
  }
}

process.on('exit', killAllNow);
main().catch((error: unknown) => {
  process.stderr.write(`bench/checkouts failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
