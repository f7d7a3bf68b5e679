/**
 * CPU per request of two checkouts of Floorplan, each serving its own floors/ with its own
 * config/bench.yaml from its own dist/ (the script its own start:prod runs), in interleaved
 * rounds (bench/cpu-per-request.ts), after checking both answer byte-identical panels for every
 * load user. For "did this refactor cost CPU?" (issue 13 asked it of the redesign: 8fbb59b
 * before, 31a6249 after).
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
 *
 * `--simultaneous` loads both servers at once in every round, each with its own load worker and
 * `--connections` of its own, both sharing core 0 (bench/tracing.ts's method): windows side by side
 * meet the same drift of this VM, which one after the other can differ by tens of percent.
 *
 * `--both` measures twice, the second time with the two sides' roles swapped (B started and
 * measured as the first server), and reports both runs and their geometric mean. On this VM one
 * run can be off by ~5 % either way although the rounds alternate which side runs first
 * (BENCHMARKS.md, session 28: a shared pool read 0.92× as B and 1.04× as A): read an A/B of a
 * few per cent only when both halves agree.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { productionCommand } from '../deploy/build-dist.ts';
import { killAllNow, nodeFlagsOf, stopAll } from './children.ts';
import { hadNonFull, measureCpuPerRequest } from './cpu-per-request.ts';
import { median } from './stats.ts';
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
      both: { type: 'boolean', default: false },
      simultaneous: { type: 'boolean', default: false },
    },
  });
  const roots = [values.a, values.b].map((dir) => {
    if (dir === undefined) throw new Error('usage: bench/checkouts.ts --a <checkout> --b <checkout> (each built with npm ci && npm run build)');
    const root = resolve(dir);
    const entry = productionCommand(root).entry;
    if (!existsSync(join(root, entry))) throw new Error(`${root} has no ${entry}: run npm ci && npm run build there first`);
    return root;
  }) as [string, string];
  const flagsOf = (text: string | undefined) => (text === undefined ? {} : { nodeFlags: nodeFlagsOf(text) });
  const envs = { a: envPairs(values['a-env']), b: envPairs(values['b-env']) };
  const variant = (root: string, name: string, flags: string | undefined, env: Record<string, string>) => ({ name, root, floorsDir: join(root, 'floors'), env, ...flagsOf(flags) });
  const same = roots[1] === roots[0] && values['a-node-flags'] === values['b-node-flags'] && JSON.stringify(envs.a) === JSON.stringify(envs.b);
  const sides = {
    a: { root: roots[0], flags: values['a-node-flags'], env: envs.a },
    b: { root: roots[1], flags: values['b-node-flags'], env: envs.b },
  };
  const shown = (side: (typeof sides)['a']) =>
    side.root + (side.flags === undefined ? '' : `, node flags "${side.flags}"`) + Object.entries(side.env).map(([name, value]) => `, ${name}=${JSON.stringify(value)}`).join('');
  /** One measurement, `first` in the role of A; returns B ÷ A as the caller named them. */
  const measure = async (first: 'a' | 'b'): Promise<number> => {
    const [x, y] = first === 'a' ? [sides.a, sides.b] : [sides.b, sides.a];
    const result = await measureCpuPerRequest({
      a: variant(x.root, first, x.flags, x.env),
      b: variant(y.root, same ? `${first}-again` : first === 'a' ? 'b' : 'a', y.flags, y.env),
      rounds: Number(values.rounds),
      seconds: Number(values.seconds),
      connections: Number(values.connections),
      warmupRequests: Number(values.warmup),
      label: 'checkouts',
      samePanels: true,
      simultaneous: values.simultaneous,
      log,
    });
    const [ra, rb] = first === 'a' ? [result.a, result.b] : [result.b, result.a];
    if (hadNonFull(result)) log(`answers other than a full panel (not counted): a ${JSON.stringify(ra.nonFull)}, b ${JSON.stringify(rb.nonFull)}`);
    log(`a (${shown(sides.a)}): ${ra.cpuUsPerReq.toFixed(1)} µs CPU/req over ${ra.fullPanels} full panels`);
    log(`b (${shown(sides.b)}): ${rb.cpuUsPerReq.toFixed(1)} µs CPU/req over ${rb.fullPanels} full panels`);
    const rounds = result.rounds.map((r) => (first === 'a' ? r.b / r.a : r.a / r.b));
    const ratio = rb.cpuUsPerReq / ra.cpuUsPerReq;
    const swapped = first === 'a' ? '' : ' (b measured as the first server)';
    log(`ratio b/a${swapped}: ${ratio.toFixed(3)}× (median of per-round ratios ${median(rounds).toFixed(3)}×; rounds ${rounds.map((r) => r.toFixed(3)).join(', ')})`);
    return ratio;
  };
  try {
    const ratio = await measure('a');
    if (values.both) {
      const swapped = await measure('b');
      log(`ratio b/a both ways round: ${ratio.toFixed(3)}× and ${swapped.toFixed(3)}×, geometric mean ${Math.sqrt(ratio * swapped).toFixed(3)}×`);
    }
  } finally {
    await stopAll();
  }
}

process.on('exit', killAllNow);
main().catch((error: unknown) => {
  process.stderr.write(`bench/checkouts failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
