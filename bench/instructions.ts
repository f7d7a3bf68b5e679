/**
 * Instructions per panel, counted by valgrind's callgrind: a CPU comparison that the machine's
 * noise cannot move. The other rows of `npm run bench` time CPU on a shared machine, where two
 * runs of the same code differ by 10–20 %; callgrind counts the instructions Floorplan's process
 * executes (every thread: JIT, GC helpers, the event loop), the same for the same binary,
 * inputs and environment whatever else the machine does.
 *
 *   node --import tsx bench/instructions.ts [--against <checkout>]... [--requests 600]
 *        [--warmup 1500] [--concurrency 8,32] [--skip-self]
 *
 * Measures this checkout, and with `--against` another checkout of Floorplan (e.g. a
 * `git worktree add --detach /tmp/old <commit>` with node_modules linked) the same way:
 * each is built (tsc -p tsconfig.build.json), started from dist/ under callgrind (tsc's one file
 * per module, dist/src/main.js, for both: not start:prod's bundle, which needs `npm run build`) with the
 * bench config plus an overlay that keeps what would react to valgrind's slowness from
 * acting (admission control's limit, the request deadline, upstream timeouts), warmed up, its counters zeroed,
 * then sent `--requests` panels at each concurrency; the dump's instruction total ÷ requests
 * is the row. The demo upstreams run natively, once, for both.
 *
 * Instructions are not time: an instruction-for-instruction tie can differ in cache misses and
 * the reverse. This is the "no regression beyond noise" check for a refactor, not a speed row.
 *
 * Caveat, measured: what the process does by the clock rather than per request (the admission
 * watchdog, the deadline sampler, the flags file's 1 s stat poll, a store poll) is counted too,
 * and valgrind stretches wall time ~50x by a factor that depends on how busy the machine is. The
 * same old checkout counted 639 M and 967 M instructions for the same 400 panels in two runs on
 * a loaded machine (one checkout twice on a quieter one: 1.94 and 1.88 M per panel). Taking off
 * an idle period's count did not steady it: the idle rate itself varied from 2 to 25 M/s.
 * Compare only runs made side by side on a quiet machine, and read a difference under ~30 % as
 * noise.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { loadServiceConfig } from '../src/config/service-config.ts';
import { floorplanProcessVars, freePorts, ROOT } from './children.ts';
import { graphqlBody, PANEL_QUERY, PANEL_USER } from './panel.ts';
import { seedLikeUsers, TokenBook } from './users.ts';

const OVERLAY_NAME = 'instructions-bench';
/**
 * V8 without its helper threads (concurrent compilation, concurrent and parallel GC): what they
 * do, and when, depends on how the threads happen to be scheduled, which under valgrind's one
 * serialised core varied a run's total by ~10 %. The same work then runs on the main thread.
 */
const SINGLE_THREADED = ['--single-threaded'];
/**
 * valgrind names its vgdb pipes after $HOST, which Floorplan's environment sets (its listen
 * address): callgrind_control must look for the same names.
 */
const VGDB_ENV: NodeJS.ProcessEnv = { ...process.env, HOST: '127.0.0.1' };
/** valgrind runs Floorplan ~50× slower: nothing may shed, time out or cut off for that. */
const OVERLAY = `# Written by bench/instructions.ts while it runs; removed afterwards.
log:
  level: warn
cache:
  promotion:
    ttlSeconds: 0
    staleSeconds: 0
limits:
  rateLimitPerSecond: 0
  requestDeadlineMs: 60000
  responseReserveMs: 40
# Admission control stays on, with a limit no load here reaches: its 10 ms watchdog is part of
# what production runs, and it wakes the process so callgrind_control's requests are served
# (an idle process blocked in epoll_wait would never see them; vgdb cannot ptrace it here).
server:
  admission:
    enabled: true
    initialLimit: 1000
    minLimit: 1000
    maxLimit: 1000
    targetLagMs: 1000
    maxQueueWaitMs: 60000
upstreams:
  cart:
    timeoutMs: 60000
  promotion:
    timeoutMs: 60000
  settlement:
    timeoutMs: 60000
`;

interface Options {
  readonly checkouts: readonly string[];
  readonly requests: number;
  readonly warmup: number;
  readonly concurrency: readonly number[];
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      against: { type: 'string', multiple: true },
      requests: { type: 'string', default: '600' },
      warmup: { type: 'string', default: '1500' },
      concurrency: { type: 'string', default: '8,32' },
      /** Measure only the --against checkouts (e.g. several commits of a bisection at once, in separate runs). */
      'skip-self': { type: 'boolean', default: false },
    },
  });
  const positive = (name: string, text: string) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive whole number, but got: ${JSON.stringify(text)}`);
    return n;
  };
  const checkouts = [...(values['skip-self'] ? [] : [ROOT]), ...(values.against ?? []).map((dir) => resolve(dir))];
  if (checkouts.length === 0) throw new Error('--skip-self needs at least one --against checkout');
  for (const dir of checkouts) {
    if (!existsSync(join(dir, 'tsconfig.build.json'))) throw new Error(`${dir} is not a Floorplan checkout (no tsconfig.build.json)`);
    if (!existsSync(join(dir, 'node_modules'))) throw new Error(`${dir} has no node_modules: run npm ci there, or link this checkout's`);
  }
  return {
    checkouts,
    requests: positive('requests', values.requests),
    warmup: positive('warmup', values.warmup),
    concurrency: values.concurrency.split(',').map((c) => positive('concurrency', c)),
  };
}

const log = (line: string) => process.stdout.write(`${line}\n`);

function run(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} (in ${cwd}) failed:\n${result.stdout}${result.stderr}`);
  return result.stdout;
}

async function waitUntil(what: string, child: ChildProcess, output: () => string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`${what}: the process exited (${child.exitCode}):\n${output().slice(-2000)}`);
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what}: not ready within ${timeoutMs / 1000} s:\n${output().slice(-2000)}`);
}

function started(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv): { child: ChildProcess; output: () => string } {
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const keep = (chunk: Buffer) => {
    text = (text + chunk.toString('utf8')).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, output: () => text };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

/** Sends `total` panel requests, `concurrency` at a time, each checked to be a full panel. */
async function load(url: string, headers: ReadonlyArray<Record<string, string>>, total: number, concurrency: number): Promise<void> {
  const body = graphqlBody(PANEL_QUERY);
  let next = 0;
  const lane = async () => {
    while (next < total) {
      const i = next++;
      const response = await request(url, { method: 'POST', headers: headers[i % headers.length], body });
      const text = await response.body.text();
      const answer = JSON.parse(text) as { data?: { floorPanel?: { degraded?: boolean } } };
      if (response.statusCode !== 200 || answer.data?.floorPanel?.degraded !== false) {
        throw new Error(`request ${i} was not a full panel (HTTP ${response.statusCode}): ${text.slice(0, 300)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
}

/**
 * Instructions counted since the last zeroing, summed over the process's threads: asks
 * callgrind for a dump (`callgrind_control --dump`) and reads its totals once it is written.
 */
async function dumpedInstructions(pid: number, prefix: string, cwd: string): Promise<number> {
  run('callgrind_control', ['--dump=measured', String(pid)], cwd, VGDB_ENV);
  const dir = tmpdir();
  const name = prefix.slice(dir.length + 1);
  const until = Date.now() + 120_000;
  while (Date.now() < until) {
    const dumps = readdirSync(dir).filter((f) => f.startsWith(`${name}.`));
    let total = 0;
    for (const file of dumps) {
      const text = readFileSync(join(dir, file), 'utf8');
      const totals = /^(?:totals|summary): (\d+)/m.exec(text);
      if (totals !== null) total += Number(totals[1]);
    }
    if (total > 0) return total;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`callgrind wrote no dump ${prefix}.N within 120 s`);
}

async function measure(checkout: string, concurrency: number, options: Options, upstreams: string, users: readonly string[], book: TokenBook): Promise<number> {
  const port = (await freePorts(1))[0] as number;
  const prefix = join(tmpdir(), `floorplan-callgrind-${process.pid}-${port}`);
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ...floorplanProcessVars(port, upstreams, OVERLAY_NAME) };
  const { child, output } = started(
    'valgrind',
    ['--tool=callgrind', `--callgrind-out-file=${prefix}`, '--dump-instr=no', '--smc-check=all-non-file', process.execPath, ...SINGLE_THREADED, 'dist/src/main.js'],
    checkout,
    env,
  );
  try {
    const url = `http://127.0.0.1:${port}/graphql`;
    const headers = users.map((u) => book.headers(u));
    await waitUntil(`Floorplan in ${checkout} under callgrind`, child, output, async () => {
      const response = await request(url, { method: 'POST', headers: headers[0], body: graphqlBody(PANEL_QUERY) });
      const answer = (await response.body.json()) as { data?: { floorPanel?: { degraded?: boolean } } };
      return answer.data?.floorPanel?.degraded === false;
    }, 600_000);
    await load(url, headers, options.warmup, concurrency);
    run('callgrind_control', ['-z', String(child.pid)], checkout, VGDB_ENV);
    await load(url, headers, options.requests, concurrency);
    return (await dumpedInstructions(child.pid as number, prefix, checkout)) / options.requests;
  } finally {
    await stop(child);
    for (const f of readdirSync(tmpdir())) if (f.startsWith(prefix.slice(tmpdir().length + 1))) rmSync(join(tmpdir(), f), { force: true });
  }
}

async function main(): Promise<void> {
  const options = parseOptions();
  if (spawnSync('valgrind', ['--version']).status !== 0) throw new Error('valgrind is not installed (Debian: apt-get install -y valgrind)');
  for (const dir of options.checkouts) {
    log(`building ${dir}`);
    run(process.execPath, [join(dir, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], dir);
    writeFileSync(join(dir, 'config', `${OVERLAY_NAME}.yaml`), OVERLAY);
  }
  const upstreamPort = (await freePorts(1))[0] as number;
  const upstreams = started(process.execPath, ['--import', 'tsx', 'src/demo-upstreams/main.ts'], ROOT, { ...process.env, DEMO_PORT: String(upstreamPort), DEMO_FAULTS: '' });
  const origin = `http://127.0.0.1:${upstreamPort}`;
  try {
    await waitUntil('the demo upstreams', upstreams.child, upstreams.output, async () => (await request(`${origin}/healthz`)).statusCode === 200, 60_000);
    const book = new TokenBook(loadServiceConfig({ dir: join(ROOT, 'config'), env: {} }).auth);
    await book.sign([PANEL_USER.userId]);
    // The same users for every checkout: found once, natively, against the first one's panels.
    const users = await findUsers(options.checkouts[0] as string, origin, book);
    log(`${users.length} load users; ${options.warmup} warm-up and ${options.requests} measured requests per row`);
    const rows: Array<{ checkout: string; concurrency: number; instructions: number }> = [];
    for (const concurrency of options.concurrency) {
      for (const checkout of options.checkouts) {
        const instructions = await measure(checkout, concurrency, options, origin, users, book);
        rows.push({ checkout, concurrency, instructions });
        log(`  ${checkout}  concurrency ${String(concurrency).padStart(3)}: ${(instructions / 1e6).toFixed(2)} M instructions per panel`);
      }
    }
    const of = (checkout: string, concurrency: number) => rows.find((r) => r.checkout === checkout && r.concurrency === concurrency)?.instructions ?? Number.NaN;
    for (const concurrency of options.concurrency) {
      for (const other of options.checkouts.slice(1)) {
        log(`concurrency ${concurrency}: ${options.checkouts[0]} ÷ ${other} = ${(of(options.checkouts[0] as string, concurrency) / of(other, concurrency)).toFixed(3)}`);
      }
    }
  } finally {
    await stop(upstreams.child);
    for (const dir of options.checkouts) rmSync(join(dir, 'config', `${OVERLAY_NAME}.yaml`), { force: true });
  }
}

/** Demo users whose panel has the seed floors, found against a native Floorplan of `checkout`. */
async function findUsers(checkout: string, upstreams: string, book: TokenBook): Promise<string[]> {
  const port = (await freePorts(1))[0] as number;
  const fp = started(process.execPath, ['dist/src/main.js'], checkout, { PATH: process.env.PATH, ...floorplanProcessVars(port, upstreams, OVERLAY_NAME) });
  const url = `http://127.0.0.1:${port}/graphql`;
  try {
    await waitUntil('Floorplan (finding users)', fp.child, fp.output, async () => (await request(`http://127.0.0.1:${port}/readyz`)).statusCode === 200, 60_000);
    return await seedLikeUsers(50, url, book);
  } finally {
    await stop(fp.child);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench/instructions: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
