/**
 * CPU per request of the seed panel with `lj` and `coupon` as CEL expression floors against
 * the same panel with their hand-written builders (issue 14, item 4; target ≤ 1.1×): two
 * Floorplan servers, one serving the bench floors folder (bench/scenes.ts) as it is, one the
 * same folder with the cart sheet rewritten by `asExpressions` (bench/expression-layout.ts),
 * measured by bench/cpu-per-request.ts: server process CPU per full panel, interleaved rounds,
 * servers on core 0, load and upstreams on core 1. Before measuring, both servers must answer
 * every load user byte-identical panels.
 *
 *   node_modules/.bin/node --import tsx bench/expression-floors-request.ts [--rounds 6] [--seconds 3] [--connections 16] [--warmup 2000] [--a-a] [--json]
 *
 * Compiles to dist/ first and runs the servers from there, as `npm run bench` does.
 * --a-a serves the hand-written builders from both servers: the ratio it prints is the method's bias.
 * --json prints the row as one JSON object.
 *
 * `npm run bench` calls {@link measureExpressionFloorsPerRequest} itself.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { killAllNow, stopAll, useCompiledChildren } from './children.ts';
import { hadNonFull, measureCpuPerRequest } from './cpu-per-request.ts';
import { createExpressionFloorsDir } from './expression-layout.ts';
import type { ExpressionFloorsRequestRow } from './results.ts';
import { createBenchFloorsDir } from './scenes.ts';

export interface ExpressionFloorsRequestPlan {
  readonly rounds: number;
  readonly seconds: number;
  readonly connections: number;
  readonly warmupRequests: number;
  readonly roundWarmupRequests?: number;
  /** Both servers serve the hand-written builders. */
  readonly aa?: boolean;
}

/** Measures the row; children run from dist/ only if the caller has called `useCompiledChildren()`. */
export async function measureExpressionFloorsPerRequest(plan: ExpressionFloorsRequestPlan, log: (line: string) => void): Promise<ExpressionFloorsRequestRow> {
  const builders = createBenchFloorsDir();
  const expressions = createExpressionFloorsDir(builders.dir);
  try {
    const result = await measureCpuPerRequest({
      a: { name: 'builders', floorsDir: builders.dir },
      b: plan.aa === true ? { name: 'builders-again', floorsDir: builders.dir } : { name: 'expressions', floorsDir: expressions.dir },
      rounds: plan.rounds,
      seconds: plan.seconds,
      connections: plan.connections,
      warmupRequests: plan.warmupRequests,
      ...(plan.roundWarmupRequests === undefined ? {} : { roundWarmupRequests: plan.roundWarmupRequests }),
      label: 'expression-floors',
      samePanels: true,
      log,
    });
    if (hadNonFull(result)) log(`answers other than a full panel (not counted): ${result.a.name} ${JSON.stringify(result.a.nonFull)}, ${result.b.name} ${JSON.stringify(result.b.nonFull)}`);
    return {
      aa: plan.aa === true,
      rounds: plan.rounds,
      seconds: plan.seconds,
      connections: plan.connections,
      users: result.users,
      checkedUsers: result.checkedUsers,
      pinned: result.pinned,
      buildersUsPerReq: result.a.cpuUsPerReq,
      expressionsUsPerReq: result.b.cpuUsPerReq,
      buildersPanels: result.a.fullPanels,
      expressionsPanels: result.b.fullPanels,
      ratio: result.ratio,
      medianRoundRatio: result.medianRoundRatio,
      roundRatios: result.rounds.map((r) => r.b / r.a),
      nonFull: { builders: result.a.nonFull, expressions: result.b.nonFull },
    };
  } finally {
    expressions.dispose();
    builders.dispose();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '6' },
      seconds: { type: 'string', default: '3' },
      connections: { type: 'string', default: '16' },
      warmup: { type: 'string', default: '2000' },
      'a-a': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  // With --json, stdout carries only the row.
  const log = (line: string) => (values.json ? process.stderr : process.stdout).write(`${line}\n`);
  log('compiling to dist/ …');
  useCompiledChildren();
  try {
    const row = await measureExpressionFloorsPerRequest(
      { rounds: Number(values.rounds), seconds: Number(values.seconds), connections: Number(values.connections), warmupRequests: Number(values.warmup), aa: values['a-a'] },
      log,
    );
    if (values.json) {
      process.stdout.write(`${JSON.stringify(row)}\n`);
      return;
    }
    const b = row.aa ? 'hand-written builders again (A/A)' : 'lj + coupon as CEL expression floors';
    log(`hand-written lj + coupon builders: ${row.buildersUsPerReq.toFixed(1)} µs CPU/req over ${row.buildersPanels} full panels`);
    log(`${b}: ${row.expressionsUsPerReq.toFixed(1)} µs CPU/req over ${row.expressionsPanels} full panels`);
    log(
      `ratio: ${row.ratio.toFixed(3)}× (median of per-round ratios ${row.medianRoundRatio.toFixed(3)}×; rounds ${row.roundRatios.map((r) => r.toFixed(3)).join(', ')}); ` +
        `target ≤ 1.10×: ${row.ratio <= 1.1 ? 'met' : 'NOT met'}${row.aa ? ' (A/A: this is the bias of the method, not a result)' : ''}`,
    );
  } finally {
    await stopAll();
  }
}

// Run as a script; `npm run bench` imports the function instead.
if (resolve(process.argv[1] ?? '') === fileURLToPath(import.meta.url)) {
  process.on('exit', killAllNow);
  main().catch((error: unknown) => {
    process.stderr.write(`bench/expression-floors-request failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  });
}
