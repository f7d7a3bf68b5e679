/**
 * The `upstream-parse` row: what reading upstream numbers exactly (src/upstreams/exact-json.ts)
 * costs the upstream client, against the plain JSON.parse it replaced.
 *
 *   node --import tsx bench/upstream-parse.ts [--rounds <n>] [--seconds <s>]   this row alone (JSON on stdout)
 *   npm run bench                                                                 also runs it, last
 *
 * It starts its own demo upstreams (a child process, on core 1 when pinning is available),
 * takes the answers they give the bench's users — cart, promotion and settlement, ~400 bytes
 * each — and measures, in rounds so each variant sees the same machine (within a round the
 * three parse variants alternate in 20 ms slices: the difference between two of them is a few
 * hundred nanoseconds, and a shared machine drifts by more than that from second to second):
 * - `old`: JSON.parse + the contract (zod), CPU µs per answer;
 * - `new`: parseExactJson + the contract;
 * - `exactPath`: the same with a string in each answer that the fast screen cannot clear, so
 *   every answer takes the reviver: the cost for an upstream whose texts look like numbers;
 * - `call`: a whole client call (JsonHttp: undici, the resilience policies, the new parse and
 *   the contract) against the demo upstreams, each panel's three calls under one request
 *   deadline as in a request, this process's CPU µs per call;
 * - `bare`: the same calls as the least a client can make them, the way the peers do: undici's
 *   `dispatch` on one pool and JSON.parse, no policies, no timeout, no contract. `call ÷ bare`
 *   is what Floorplan's upstream client adds to a call, on the same machine in the same round.
 * The client's CPU per call before the change is `call − (new − old)`; the row's ratio is
 * `call ÷ that`, the target ≤ 1.10.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import type { z } from 'zod';
import { cartSchema, promotionResultSchema, settlementResultSchema, type Cart } from '../src/upstreams/contracts.ts';
import { createHttpUpstreamClients, type UpstreamEndpoint } from '../src/upstreams/clients.ts';
import { Deadline } from '../src/upstreams/deadline.ts';
import { parseExactJson } from '../src/upstreams/exact-json.ts';
import { UPSTREAM_DEFINITIONS, type UpstreamName } from '../src/upstreams/registry.ts';
import { dispatchJson } from './baselines/dispatch-json.ts';
import { canPin, pin, pinSelf, startNode, type Child } from './children.ts';
import { median } from './stats.ts';

/** How long the row runs. */
export interface UpstreamParsePlan {
  /** Interleaved rounds; each measures every variant once. */
  readonly rounds: number;
  /** Wall-clock seconds per variant per round. */
  readonly seconds: number;
}

export const UPSTREAM_PARSE_FULL: UpstreamParsePlan = { rounds: 5, seconds: 1 };
export const UPSTREAM_PARSE_QUICK: UpstreamParsePlan = { rounds: 1, seconds: 0.2 };

type ParseVariant = 'old' | 'new' | 'exactPath';
type Variant = ParseVariant | 'call' | 'bare';
const PARSE_VARIANTS: readonly ParseVariant[] = ['old', 'new', 'exactPath'];
const SLICE_MS = 20;

/** The row as written to bench/results/*.json (`upstreamParse`). */
export interface UpstreamParseRow {
  readonly rounds: number;
  readonly secondsPerVariant: number;
  /** Distinct answers parsed (three per user), and their mean size. */
  readonly answers: number;
  readonly meanAnswerBytes: number;
  /** JSON.parse + contract, CPU µs per answer (before exact amounts). */
  readonly oldUsPerAnswer: number;
  /** parseExactJson + contract, CPU µs per answer. */
  readonly newUsPerAnswer: number;
  /** parseExactJson + contract when every answer takes the reviver, CPU µs per answer. */
  readonly exactPathUsPerAnswer: number;
  /** new ÷ old: the parse and contract alone. */
  readonly parseRatio: number;
  /** A whole upstream client call with the new parse, this process's CPU µs per call. */
  readonly callUsPerCall: number;
  /** The same calls made bare (undici `dispatch` + JSON.parse, as the peers make them), CPU µs per call. Absent from results written before session 30. */
  readonly bareCallUsPerCall?: number;
  /** call ÷ bare, the median of the rounds' ratios: what Floorplan's upstream client (policies, timeout, exact parse, contract) adds to a call. */
  readonly clientOverBare?: number;
  /** call ÷ (call − (new − old)): the upstream client's CPU per call, after ÷ before. Target ≤ 1.10. */
  readonly clientRatio: number;
  /** The same for an upstream whose every answer takes the reviver. */
  readonly clientRatioExactPath: number;
  /** Each variant's µs in each round, in the order measured (`bare` since session 30). */
  readonly perRound: ReadonlyArray<Readonly<Record<ParseVariant | 'call', number> & { readonly bare?: number }>>;
}

/** The bench's users are `plus-bench-<n>` demo users; 50 of them, as many as load connections at most. */
const USERS = Array.from({ length: 50 }, (_, n) => `plus-bench-${n}`);
/** Panels in flight at once during `call`, so the pools and policies work as under load. */
const CONCURRENT_PANELS = 8;
/** A string whose `[1.5` the fast screen must treat as a possible number. */
const LOOK_ALIKE = ',"note":"[1.5]"}';

interface Answer {
  readonly text: string;
  readonly schema: z.ZodType;
}

async function startDemoUpstreams(): Promise<{ child: Child; origin: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, DEMO_PORT: '0', DEMO_FAULTS: '' };
  for (const name of Object.keys(env)) if (name === 'VITEST' || name.startsWith('VITEST_')) delete env[name];
  const child = startNode('demo-upstreams (upstream-parse)', 'src/demo-upstreams/main.ts', { env });
  const deadline = performance.now() + 60_000;
  for (;;) {
    const origin = /listening on (http:\/\/[^\s]+)/.exec(child.output())?.[1];
    if (origin !== undefined) {
      pin(child, 1);
      return { child, origin };
    }
    if (child.process.exitCode !== null || performance.now() > deadline) {
      child.process.kill('SIGKILL');
      throw new Error(`the demo upstreams did not start: ${child.output() || '(no output)'}`);
    }
    await new Promise((done) => setTimeout(done, 50));
  }
}

async function fetchText(url: string, body?: unknown): Promise<string> {
  const response = await fetch(url, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`${url} answered HTTP ${response.status}`);
  return response.text();
}

function selection(cart: Cart) {
  const lines = cart.lines.filter((l) => l.selected);
  return {
    promotion: { userId: cart.userId, skuIds: lines.map((l) => l.skuId).sort() },
    settlement: { userId: cart.userId, quotes: [{ quoteId: 'q0', lines: lines.map((l) => ({ skuId: l.skuId, quantity: l.quantity })) }] },
  };
}

/** The answers the demo upstreams give the bench's users, as text, with the contract each must pass. */
async function collectAnswers(origin: string): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (const userId of USERS) {
    const cartText = await fetchText(`${origin}/cart/carts/${encodeURIComponent(userId)}`);
    const { promotion, settlement } = selection(cartSchema.parse(JSON.parse(cartText)));
    answers.push(
      { text: cartText, schema: cartSchema },
      { text: await fetchText(`${origin}/promotion/promotions/query`, promotion), schema: promotionResultSchema },
      { text: await fetchText(`${origin}/settlement/settlement/quotes`, settlement), schema: settlementResultSchema },
    );
  }
  return answers;
}

function cpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

interface ParseJob {
  readonly answers: readonly Answer[];
  readonly parse: (text: string) => unknown;
}

/** Runs every job in alternating slices of SLICE_MS, `seconds` each in all; CPU µs per answer of each. */
function parseFor(jobs: Readonly<Record<ParseVariant, ParseJob>>, seconds: number): Record<ParseVariant, number> {
  const cpu = { old: 0, new: 0, exactPath: 0 };
  const count = { old: 0, new: 0, exactPath: 0 };
  const slices = Math.max(1, Math.round((seconds * 1000) / SLICE_MS));
  for (let slice = 0; slice < slices; slice++) {
    for (let i = 0; i < PARSE_VARIANTS.length; i++) {
      const variant = PARSE_VARIANTS[(i + slice) % PARSE_VARIANTS.length] as ParseVariant;
      const { answers, parse } = jobs[variant];
      const until = performance.now() + SLICE_MS;
      const started = cpuMicros();
      do {
        for (const { text, schema } of answers) {
          if (!schema.safeParse(parse(text)).success) throw new Error(`a demo answer broke its contract: ${text.slice(0, 200)}`);
        }
        count[variant] += answers.length;
      } while (performance.now() < until);
      cpu[variant] += cpuMicros() - started;
    }
  }
  return { old: cpu.old / count.old, new: cpu.new / count.new, exactPath: cpu.exactPath / count.exactPath };
}

/** A panel's three calls, made by Floorplan's upstream client or bare. */
interface PanelCalls {
  cart(userId: string, deadline: Deadline): Promise<Cart>;
  promotion(query: ReturnType<typeof selection>['promotion'], deadline: Deadline): Promise<unknown>;
  settlement(query: ReturnType<typeof selection>['settlement'], deadline: Deadline): Promise<unknown>;
}

/** Each panel's calls share one deadline, as a request's do (the bench config's 2 s: never reached here). */
const PANEL_DEADLINE_MS = 2000;

/**
 * The three calls as (d) and the peers make them (baselines/dispatch-json.ts), on one undici pool.
 * The paths are the upstream definitions', under each upstream's base path on the demo origin,
 * as the clients have them.
 */
function bareCalls(pool: Pool, origin: string): PanelCalls {
  const callJson = <T>(method: 'GET' | 'POST', path: string, body?: string): Promise<T> => dispatchJson<T>(pool, origin, method, path, body);
  const calls = Object.fromEntries(UPSTREAM_DEFINITIONS.map((d) => [d.name, d.call])) as Record<UpstreamName, (typeof UPSTREAM_DEFINITIONS)[number]['call']>;
  const pathOf = (name: UpstreamName, request: unknown): string => {
    const { path } = calls[name];
    return `/${name}${typeof path === 'function' ? (path as (r: unknown) => string)(request) : path}`;
  };
  return {
    cart: (userId) => callJson('GET', pathOf('cart', userId)),
    promotion: (query) => callJson('POST', pathOf('promotion', query), JSON.stringify(query)),
    settlement: (query) => callJson('POST', pathOf('settlement', query), JSON.stringify(query)),
  };
}

/** Panels' upstream calls (cart, then promotion ∥ settlement) for `seconds`; CPU µs per call. */
async function callFor(clients: PanelCalls, seconds: number): Promise<number> {
  const until = performance.now() + seconds * 1000;
  const started = cpuMicros();
  let calls = 0;
  let next = 0;
  const worker = async () => {
    while (performance.now() < until) {
      const userId = USERS[next++ % USERS.length] as string;
      const deadline = new Deadline(PANEL_DEADLINE_MS);
      const { promotion, settlement } = selection(await clients.cart(userId, deadline));
      await Promise.all([clients.promotion(promotion, deadline), clients.settlement(settlement, deadline)]);
      calls += 3;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENT_PANELS }, worker));
  return (cpuMicros() - started) / calls;
}

const round = (value: number, digits: number) => Number(value.toFixed(digits));

/** Runs the row. `log` is told of each round. */
export async function measureUpstreamParse(plan: UpstreamParsePlan, log: (line: string) => void = () => undefined): Promise<UpstreamParseRow> {
  const { child, origin } = await startDemoUpstreams();
  const endpoint = (path: string) => ({ baseUrl: `${origin}/${path}`, timeoutMs: 2000, connections: CONCURRENT_PANELS * 2 });
  const clients = createHttpUpstreamClients(Object.fromEntries(UPSTREAM_DEFINITIONS.map((d) => [d.name, endpoint(d.name)])) as Record<UpstreamName, UpstreamEndpoint>);
  const pool = new Pool(origin, { connections: CONCURRENT_PANELS * 2, keepAliveTimeout: 30_000 });
  const bare = bareCalls(pool, origin);
  // This process is the client measured: on the servers' core, away from the demo upstreams' (core 1).
  const unpin = pinSelf(0);
  try {
    const answers = await collectAnswers(origin);
    const lookAlikes = answers.map(({ text, schema }) => ({ text: text.slice(0, text.lastIndexOf('}')) + LOOK_ALIKE, schema }));
    const jobs: Record<ParseVariant, ParseJob> = {
      old: { answers, parse: JSON.parse },
      new: { answers, parse: parseExactJson },
      exactPath: { answers: lookAlikes, parse: parseExactJson },
    };
    // Warm every path (JIT, pools, the demo's memoised users) before anything is measured.
    parseFor(jobs, Math.min(plan.seconds, 0.5));
    // The calls need longer than the parse: the first second of each still reads up to twice its steady cost.
    const callWarmup = Math.min(2, Math.max(0.5, plan.seconds * 2));
    await callFor(clients, callWarmup);
    await callFor(bare, callWarmup);

    const perRound: Array<Record<Variant, number>> = [];
    for (let r = 0; r < plan.rounds; r++) {
      // Alternate which half goes first, and which of the two clients, so neither always runs right after the other's garbage.
      let call = 0;
      let bareCall = 0;
      if (r % 2 === 1) {
        bareCall = await callFor(bare, plan.seconds);
        call = await callFor(clients, plan.seconds);
      }
      const parsed = parseFor(jobs, plan.seconds);
      if (r % 2 === 0) {
        call = await callFor(clients, plan.seconds);
        bareCall = await callFor(bare, plan.seconds);
      }
      const measured: Record<Variant, number> = {
        old: round(parsed.old, 3),
        new: round(parsed.new, 3),
        exactPath: round(parsed.exactPath, 3),
        call: round(call, 3),
        bare: round(bareCall, 3),
      };
      perRound.push(measured);
      log(
        `upstream-parse round ${r + 1}/${plan.rounds}: old ${measured.old} µs, new ${measured.new} µs, exact path ${measured.exactPath} µs per answer; ` +
          `client call ${measured.call} µs, bare call ${measured.bare} µs`,
      );
    }

    const mean = (variant: Variant) => perRound.reduce((sum, r) => sum + r[variant], 0) / perRound.length;
    const [old, fresh, exactPath, call, bareCall] = [mean('old'), mean('new'), mean('exactPath'), mean('call'), mean('bare')];
    return {
      rounds: plan.rounds,
      secondsPerVariant: plan.seconds,
      answers: answers.length,
      meanAnswerBytes: round(answers.reduce((sum, a) => sum + Buffer.byteLength(a.text), 0) / answers.length, 0),
      oldUsPerAnswer: round(old, 3),
      newUsPerAnswer: round(fresh, 3),
      exactPathUsPerAnswer: round(exactPath, 3),
      parseRatio: round(fresh / old, 3),
      callUsPerCall: round(call, 2),
      bareCallUsPerCall: round(bareCall, 2),
      clientOverBare: round(median(perRound.map((r) => r.call / r.bare)), 3),
      clientRatio: round(call / (call - (fresh - old)), 3),
      clientRatioExactPath: round((call - fresh + exactPath) / (call - (fresh - old)), 3),
      perRound,
    };
  } finally {
    unpin();
    await clients.close();
    await pool.close();
    child.process.kill('SIGTERM');
    await child.exited;
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rounds: { type: 'string' }, seconds: { type: 'string' } } });
  const rounds = values.rounds === undefined ? UPSTREAM_PARSE_FULL.rounds : Number(values.rounds);
  const seconds = values.seconds === undefined ? UPSTREAM_PARSE_FULL.seconds : Number(values.seconds);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a whole number ≥ 1, but got: ${JSON.stringify(values.rounds)}`);
  if (!(seconds > 0)) throw new Error(`--seconds must be a positive number, but got: ${JSON.stringify(values.seconds)}`);
  if (!canPin()) process.stderr.write('upstream-parse: no taskset or a single core: the demo upstreams run unpinned\n');
  const row = await measureUpstreamParse({ rounds, seconds }, (line) => process.stderr.write(`${line}\n`));
  process.stdout.write(`${JSON.stringify(row, null, 2)}\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`upstream-parse failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
