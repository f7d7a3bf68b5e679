import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import dns from 'node:dns';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { cartSchema, wireMoneySchema, type Cart } from '../../src/upstreams/contracts.ts';
import { Deadline } from '../../src/upstreams/deadline.ts';
import { JsonHttp, type ConnectFailure } from '../../src/upstreams/json-http.ts';
import { DEFAULT_RESILIENCE, type ResilienceOptions } from '../../src/upstreams/resilience.ts';
import type { UpstreamOutcome } from '../../src/upstreams/upstream-error.ts';
import { UpstreamError } from '../../src/upstreams/upstream-error.ts';
import { startBlackhole } from '../support/blackhole.ts';
import { until } from '../support/until.ts';

const okSchema = z.object({ ok: z.literal(true) });

/** A scripted upstream: each request is answered by the next handler (the last one repeats). */
async function scripted(...handlers: Array<(req: IncomingMessage, res: ServerResponse) => void>) {
  let calls = 0;
  const server: Server = createServer((req, res) => {
    const handler = handlers[Math.min(calls, handlers.length - 1)]!;
    calls += 1;
    handler(req, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/svc`,
    calls: () => calls,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

const ok = (_req: IncomingMessage, res: ServerResponse) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
const status = (code: number) => (_req: IncomingMessage, res: ServerResponse) => res.writeHead(code).end();
const hang = () => {};

let cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function client(url: string, resilience: Partial<ResilienceOptions> = {}, timeoutMs = 200) {
  const outcomes: UpstreamOutcome[] = [];
  const breaker: string[] = [];
  /** One entry per retry sent (floorplan_upstream_retries_total). */
  const retries: string[] = [];
  /** One entry per connection that failed to open (floorplan_upstream_connect_failures_total). */
  const connectFailures: ConnectFailure[] = [];
  const http = new JsonHttp({
    upstream: 'promotion',
    baseUrl: url,
    timeoutMs,
    connections: 4,
    resilience: { ...DEFAULT_RESILIENCE, ...resilience },
    observe: (_u, outcome) => outcomes.push(outcome),
    observeBreaker: (_u, state) => breaker.push(state),
    observeRetry: (upstream) => retries.push(upstream),
    observeConnectFailure: (_u, reason) => connectFailures.push(reason),
  });
  cleanups.push(() => http.close());
  return { http, outcomes, breaker, retries, connectFailures };
}

async function failure(promise: Promise<unknown>): Promise<UpstreamError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UpstreamError);
  return error as UpstreamError;
}

/** No retries, and a breaker that opens once four calls in its window have all failed. */
const OPENS_AFTER_FOUR_FAILURES: Partial<ResilienceOptions> = { retries: 0, breakerFailureRatio: 0.5, breakerWindowMs: 5000, breakerMinimumCalls: 4 };

describe('JsonHttp resilience', () => {
  it('retries a 503 once and succeeds, counting one ok call', async () => {
    const upstream = await scripted(status(503), ok);
    cleanups.push(upstream.close);
    const { http, outcomes } = await client(upstream.url);
    await expect(http.get('/x', okSchema)).resolves.toEqual({ ok: true });
    expect(upstream.calls()).toBe(2);
    expect(outcomes).toEqual(['ok']);
  });

  it('tries a steadily failing upstream once plus `retries` times, then fails with its last answer', async () => {
    for (const retries of [0, 1, 3]) {
      const upstream = await scripted(status(503));
      cleanups.push(upstream.close);
      const { http, outcomes } = await client(upstream.url, { retries, breakerMinimumCalls: 10_000 });
      const error = await failure(http.get('/x', okSchema));
      expect({ retries, outcome: error.outcome, status: error.status, calls: upstream.calls(), outcomes }).toEqual({
        retries,
        outcome: 'http_error',
        status: 503,
        calls: 1 + retries,
        outcomes: ['http_error'],
      });
    }
  });

  it('retries a dropped connection, then takes the answer of the retry', async () => {
    const upstream = await scripted((req) => req.socket.destroy(), ok);
    cleanups.push(upstream.close);
    const { http, outcomes } = await client(upstream.url, { retries: 2 });
    await expect(http.postRead('/x', { q: 1 }, okSchema)).resolves.toEqual({ ok: true });
    expect(upstream.calls()).toBe(2);
    expect(outcomes).toEqual(['ok']);
  });

  it('tells each retry it sends, so the requests an upstream received are its calls plus their retries', async () => {
    const reset = (req: IncomingMessage) => req.socket.destroy();
    const cases = [
      { name: 'a 503, then an answer', handlers: [status(503), ok], retries: 1 },
      { name: 'a dropped connection, then an answer', handlers: [reset, ok], retries: 2 },
      { name: 'always 503', handlers: [status(503)], retries: 3 },
      { name: 'a 400, never retried', handlers: [status(400)], retries: 3 },
    ];
    for (const { name, handlers, retries: allowed } of cases) {
      const upstream = await scripted(...handlers);
      cleanups.push(upstream.close);
      const { http, outcomes, retries } = await client(upstream.url, { retries: allowed, breakerMinimumCalls: 10_000 });
      await http.get('/x', okSchema).catch(() => undefined);
      expect({ name, received: upstream.calls() }).toEqual({ name, received: outcomes.length + retries.length });
      expect(new Set(retries)).toEqual(new Set(retries.length === 0 ? [] : ['promotion']));
    }
  });

  it('does not retry a 400 or a malformed body: the upstream answered', async () => {
    const upstream = await scripted(status(400));
    cleanups.push(upstream.close);
    const { http } = await client(upstream.url);
    expect((await failure(http.get('/x', okSchema))).outcome).toBe('http_error');
    expect(upstream.calls()).toBe(1);
  });

  it('does not retry a timeout, so a hung upstream costs one timeout, not two', async () => {
    const upstream = await scripted(hang);
    cleanups.push(upstream.close);
    const { http } = await client(upstream.url, {}, 100);
    expect((await failure(http.get('/x', okSchema))).outcome).toBe('timeout');
    expect(upstream.calls()).toBe(1);
  });

  it('retries within its budget as README states it: 10 % of its calls, plus a reserve of 5 retries, from an outage\'s first calls on', async () => {
    const upstream = await scripted(status(503));
    cleanups.push(upstream.close);
    const { http, retries } = await client(upstream.url, { retryBudgetPercent: 10, breakerMinimumCalls: 10_000 });
    // The first 15 calls of an outage: the reserve, and a tenth of 15 calls at most, not 15 retries more.
    for (let i = 0; i < 15; i++) await failure(http.get('/x', okSchema));
    const first = upstream.calls() - 15;
    expect(first).toBeGreaterThanOrEqual(5);
    expect(first).toBeLessThanOrEqual(5 + 1.5);
    // 40 calls: the reserve spent at once, then one retry per ten calls.
    for (let i = 15; i < 40; i++) await failure(http.get('/x', okSchema));
    const all = upstream.calls() - 40;
    expect(all).toBeGreaterThanOrEqual(5 + 2);
    expect(all).toBeLessThanOrEqual(5 + 4);
    expect(retries).toHaveLength(all);
  });

  it('opens the circuit once the failure rate crosses the ratio over enough calls, fails fast without calling, then recovers', async () => {
    let healthy = false;
    const upstream = await scripted((req, res) => (healthy ? ok(req, res) : status(503)(req, res)));
    cleanups.push(upstream.close);
    const { http, outcomes, breaker } = await client(upstream.url, { ...OPENS_AFTER_FOUR_FAILURES, breakerHalfOpenAfterMs: 200 });
    for (let i = 0; i < 3; i++) await failure(http.get('/x', okSchema));
    // Three failures are under the minimum number of calls: no verdict yet.
    expect(breaker).toEqual([]);
    await failure(http.get('/x', okSchema));
    expect(breaker).toEqual(['open']);
    const before = upstream.calls();
    const fast = await failure(http.get('/x', okSchema));
    expect(fast.outcome).toBe('circuit_open');
    expect(fast.code).toBe('FLOORPLAN_ERR_UPSTREAM_CIRCUIT_OPEN');
    expect(upstream.calls()).toBe(before);
    healthy = true;
    await new Promise((r) => setTimeout(r, 250));
    await expect(http.get('/x', okSchema)).resolves.toEqual({ ok: true });
    expect(breaker).toEqual(['open', 'half-open', 'closed']);
    expect(outcomes.at(-2)).toBe('circuit_open');
  });

  it('keeps the circuit closed for a run of failures that stays under the failure ratio', async () => {
    let failing = false;
    const upstream = await scripted((req, res) => (failing ? status(503)(req, res) : ok(req, res)));
    cleanups.push(upstream.close);
    const { http, breaker } = await client(upstream.url, { retries: 0, breakerFailureRatio: 0.5, breakerWindowMs: 5000, breakerMinimumCalls: 10 });
    for (let i = 0; i < 12; i++) await http.get('/x', okSchema);
    failing = true;
    // Ten outages in a row would have opened the old consecutive-failures breaker; 10 of 22 is under half.
    for (let i = 0; i < 10; i++) await failure(http.get('/x', okSchema));
    expect(breaker).toEqual([]);
    // More than half: 13 of 25.
    for (let i = 0; i < 3; i++) await failure(http.get('/x', okSchema));
    expect(breaker).toEqual(['open']);
  });

  it("gives a call that fails after the circuit opened the upstream's own error, not circuit_open", async () => {
    // The first call is answered late, after four quick failures have opened the circuit.
    const upstream = await scripted((req, res) => setTimeout(() => status(503)(req, res), 300), status(503));
    cleanups.push(upstream.close);
    const { http, outcomes, breaker } = await client(upstream.url, { ...OPENS_AFTER_FOUR_FAILURES, breakerHalfOpenAfterMs: 10_000 }, 2000);
    const late = failure(http.get('/late', okSchema));
    await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < 4; i++) await failure(http.get('/x', okSchema));
    expect(breaker).toEqual(['open']);
    const error = await late;
    expect(error.outcome).toBe('http_error');
    expect(error.status).toBe(503);
    expect(upstream.calls()).toBe(5);
    expect(outcomes).toEqual(['http_error', 'http_error', 'http_error', 'http_error', 'http_error']);
  });

  it('does not retry a failure that leaves the circuit open, so failed half-open trials spend no retries: a blip after recovery is still retried', async () => {
    let down = true;
    let blips = 0;
    const upstream = await scripted((req, res) => {
      if (!down && blips === 0) return ok(req, res);
      blips = Math.max(0, blips - 1);
      status(503)(req, res);
    });
    cleanups.push(upstream.close);
    const { http, breaker, retries } = await client(upstream.url, { ...OPENS_AFTER_FOUR_FAILURES, retries: 1, breakerHalfOpenAfterMs: 50 });
    // Two calls, each retried once: four failures open the circuit; two of the reserve's five retries are spent.
    for (let i = 0; i < 2; i++) await failure(http.get('/x', okSchema));
    expect(breaker).toEqual(['open']);
    // More failed trials than the budget has retries left. Each reopens the circuit, so a retry
    // could only be refused by it: its caller gets the upstream's own answer, from one request.
    for (let trial = 0; trial < 4; trial++) {
      await new Promise((r) => setTimeout(r, 80));
      const before = upstream.calls();
      const error = await failure(http.get('/x', okSchema));
      expect({ trial, outcome: error.outcome, status: error.status, sent: upstream.calls() - before }).toEqual({ trial, outcome: 'http_error', status: 503, sent: 1 });
    }
    // The upstream is back: a trial closes the circuit, and a single 503 after it is retried.
    down = false;
    await new Promise((r) => setTimeout(r, 80));
    await expect(http.get('/x', okSchema)).resolves.toEqual({ ok: true });
    expect(breaker.at(-1)).toBe('closed');
    blips = 1;
    await expect(http.get('/x', okSchema)).resolves.toEqual({ ok: true });
    expect(retries).toHaveLength(3);
  });

  it('spends no retry budget on retries the breaker refuses after their backoff, so a blip after recovery is still retried', async () => {
    // The test holds the clocks: the retries' backoffs end, and the open circuit is due a trial, when it says.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    cleanups.push(async () => void vi.useRealTimers());
    let answers = [status(503)];
    const upstream = await scripted((req, res) => (answers.length > 1 ? answers.shift()! : answers[0]!)(req, res));
    cleanups.push(upstream.close);
    const breaker: string[] = [];
    const retries: string[] = [];
    const http = new JsonHttp({
      upstream: 'promotion',
      baseUrl: upstream.url,
      timeoutMs: 5000,
      // One connection: a call is sent only once the answer before it has been judged.
      connections: 1,
      resilience: { ...DEFAULT_RESILIENCE, retries: 1, retryBudgetPercent: 1, breakerFailureRatio: 0.5, breakerWindowMs: 5000, breakerMinimumCalls: 6, breakerHalfOpenAfterMs: 10_000 },
      observeBreaker: (_u, state) => breaker.push(state),
      observeRetry: (u) => retries.push(u),
    });
    cleanups.push(() => http.close());
    // Six calls at once. The first five each find the circuit closed after their 503 and wait out a
    // retry's backoff, which is all of the budget's reserve; the sixth 503 opens the circuit.
    const outage = Array.from({ length: 6 }, () => failure(http.get('/x', okSchema)));
    await outage[5];
    expect(breaker).toEqual(['open']);
    // The backoffs end: the open circuit refuses the five retries, which never reach the upstream.
    vi.advanceTimersByTime(100);
    expect((await Promise.all(outage)).map((e) => e.status)).toEqual(Array(6).fill(503));
    expect({ received: upstream.calls(), retries: retries.length }).toEqual({ received: 6, retries: 0 });
    // The upstream is back: a trial closes the circuit.
    answers = [ok];
    vi.advanceTimersByTime(10_001);
    await expect(http.get('/x', okSchema)).resolves.toEqual({ ok: true });
    expect(breaker).toEqual(['open', 'half-open', 'closed']);
    // A blip: one 503. The call behind it on the connection is sent once the 503 has been judged,
    // so when it is answered the blip's retry, if the budget allows one, is waiting out its backoff.
    answers = [status(503), ok];
    const blip = http.get('/x', okSchema).catch((error: unknown) => error);
    await expect(http.get('/x', okSchema)).resolves.toEqual({ ok: true });
    vi.advanceTimersByTime(100);
    expect(await blip).toEqual({ ok: true });
    expect({ received: upstream.calls(), retries: retries.length }).toEqual({ received: 10, retries: 1 });
  });

  it("counts a half-open trial call the upstream answers 503 as http_error, and only calls never sent as circuit_open", async () => {
    // Always 503. Retries on: a trial call's failure reopens the circuit, so it is not retried.
    const upstream = await scripted(status(503));
    cleanups.push(upstream.close);
    const observed: Array<{ outcome: UpstreamOutcome; seconds: number | undefined }> = [];
    const http = new JsonHttp({
      upstream: 'promotion',
      baseUrl: upstream.url,
      timeoutMs: 2000,
      connections: 4,
      resilience: { ...DEFAULT_RESILIENCE, retries: 1, breakerFailureRatio: 0.5, breakerWindowMs: 5000, breakerMinimumCalls: 4, breakerHalfOpenAfterMs: 100 },
      observe: (_u, outcome, seconds) => observed.push({ outcome, seconds }),
    });
    cleanups.push(() => http.close());
    const calls: Array<{ sent: boolean; outcome: string; status: number | undefined; message: string }> = [];
    const callOnce = async () => {
      const before = upstream.calls();
      const error = await failure(http.get('/x', okSchema));
      calls.push({ sent: upstream.calls() > before, outcome: error.outcome, status: error.status, message: error.message });
    };
    // Until the circuit opens, then three rounds of: two calls it refuses, a wait past
    // breakerHalfOpenAfterMs, and the trial call it lets through.
    for (let i = 0; i < 4; i++) await callOnce();
    for (let round = 0; round < 3; round++) {
      await callOnce();
      await callOnce();
      await new Promise((r) => setTimeout(r, 150));
      await callOnce();
    }
    const trials = calls.slice(4).filter((_, i) => i % 3 === 2);
    expect(trials.every((c) => c.sent)).toBe(true);
    for (const trial of trials) {
      expect(trial).toMatchObject({ outcome: 'http_error', status: 503 });
      expect(trial.message).toContain('answered HTTP 503');
      expect(trial.message).not.toContain('not attempted');
    }
    // Every call that reached the upstream is counted by its answer; circuit_open only for the rest.
    expect(calls.map((c) => c.outcome)).toEqual(calls.map((c) => (c.sent ? 'http_error' : 'circuit_open')));
    expect(calls.filter((c) => !c.sent).length).toBeGreaterThanOrEqual(6);
    // A call never sent has no upstream duration.
    expect(observed.map((o) => [o.outcome, o.seconds !== undefined])).toEqual(calls.map((c) => [c.outcome, c.sent]));
  });

  /**
   * An upstream whose circuit four 503s opened, then hung (it accepts requests and never
   * answers), with cockatiel's clock (Date) in the test's hands: `trialDue()` moves it past
   * breakerHalfOpenAfterMs, so the next call is a half-open trial, and nothing else lets one through.
   */
  async function openedThenHung() {
    vi.useFakeTimers({ toFake: ['Date'] });
    cleanups.push(async () => void vi.useRealTimers());
    let hung = false;
    const upstream = await scripted((req, res) => (hung ? hang() : status(503)(req, res)));
    cleanups.push(upstream.close);
    const opened = await client(upstream.url, { ...OPENS_AFTER_FOUR_FAILURES, breakerHalfOpenAfterMs: 10_000 }, 5000);
    for (let i = 0; i < 4; i++) await failure(opened.http.get('/x', okSchema));
    expect(opened.breaker).toEqual(['open']);
    hung = true;
    return { upstream, ...opened, trialDue: () => vi.setSystemTime(Date.now() + 10_001) };
  }

  it('keeps the circuit open after a half-open trial that was sent but got no answer before its deadline', async () => {
    const { upstream, http, breaker, trialDue } = await openedThenHung();
    trialDue();
    const trial = await failure(http.get('/x', okSchema, new Deadline(50)));
    // The trial reached the upstream, which said nothing: that does not show it is back.
    expect(trial.outcome).toBe('deadline');
    expect(trial.message).toContain('before it answered');
    expect(upstream.calls()).toBe(5);
    expect(breaker).toEqual(['open', 'half-open', 'open']);
    // Open again: the next call is refused at once, not sent to the hung upstream.
    expect((await failure(http.get('/x', okSchema, new Deadline(50)))).outcome).toBe('circuit_open');
    expect(upstream.calls()).toBe(5);
  });

  it('refuses a call that arrives while a half-open trial is in flight at once, rather than holding it behind the trial past its deadline', async () => {
    const { upstream, http, outcomes, trialDue } = await openedThenHung();
    trialDue();
    const settled: string[] = [];
    const trial = failure(http.get('/x', okSchema, new Deadline(500))).finally(() => settled.push('trial'));
    await until(() => upstream.calls() === 5, 'the trial reached the upstream');
    const other = await failure(http.get('/x', okSchema, new Deadline(50))).finally(() => settled.push('other'));
    expect(other.outcome).toBe('circuit_open');
    expect((await trial).outcome).toBe('deadline');
    // The other call was over before the trial, and never reached the upstream.
    expect(settled).toEqual(['other', 'trial']);
    expect(upstream.calls()).toBe(5);
    expect(outcomes.slice(4)).toEqual(['circuit_open', 'deadline']);
  });

  it("counts a call cut off by the request's own deadline as deadline, never against the upstream's breaker", async () => {
    const upstream = await scripted(hang);
    cleanups.push(upstream.close);
    const { http, outcomes, breaker } = await client(upstream.url, { breakerFailureRatio: 0.5, breakerWindowMs: 5000, breakerMinimumCalls: 4 }, 5000);
    const errors = await Promise.all(Array.from({ length: 12 }, () => failure(http.get('/x', okSchema, new Deadline(40)))));
    expect(new Set(errors.map((e) => e.outcome))).toEqual(new Set(['deadline']));
    expect(errors[0]!.code).toBe('FLOORPLAN_ERR_UPSTREAM_DEADLINE');
    expect(outcomes).toEqual(Array(12).fill('deadline'));
    expect(breaker).toEqual([]);
  });

  it('rejects calls beyond the bulkhead instead of queueing without bound', async () => {
    const upstream = await scripted((_req, res) => setTimeout(() => ok(_req, res), 100));
    cleanups.push(upstream.close);
    const { http } = await client(upstream.url, { maxConcurrent: 1, maxQueued: 1 });
    const results = await Promise.allSettled([1, 2, 3, 4].map(() => http.get('/x', okSchema)));
    const rejected = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason as UpstreamError);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
    expect(rejected.map((e) => e.outcome)).toEqual(['rejected', 'rejected']);
  });

  it('returns an answer that leaves out part of what was asked, counting the call once as malformed, whichever path it took', async () => {
    // Answers item "a" only, a little late, so that a second call waits for the one slot.
    const upstream = await scripted((_req, res) => setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"items":["a"]}'), 20));
    cleanups.push(upstream.close);
    const outcomes: UpstreamOutcome[] = [];
    const breaker: string[] = [];
    const http = new JsonHttp({
      upstream: 'settlement',
      baseUrl: upstream.url,
      timeoutMs: 500,
      connections: 2,
      resilience: { ...DEFAULT_RESILIENCE, ...OPENS_AFTER_FOUR_FAILURES, maxConcurrent: 1, maxQueued: 1 },
      answersAll: (request, answer) => (request as { asked: string[] }).asked.every((id) => (answer as { items: string[] }).items.includes(id)),
      observe: (_u, outcome) => outcomes.push(outcome),
      observeBreaker: (_u, state) => breaker.push(state),
    });
    cleanups.push(() => http.close());
    const itemsSchema = z.object({ items: z.array(z.string()) });
    // The first takes the slot (the usual path); the second waits for it (every policy in turn).
    const [all, part] = await Promise.all([http.postRead('/q', { asked: ['a'] }, itemsSchema), http.postRead('/q', { asked: ['a', 'b'] }, itemsSchema)]);
    expect({ all, part, outcomes }).toEqual({ all: { items: ['a'] }, part: { items: ['a'] }, outcomes: ['ok', 'malformed'] });
    // An answer is the upstream answering, however little it answers: the breaker is not told.
    for (let i = 0; i < 6; i++) await expect(http.postRead('/q', { asked: ['b'] }, itemsSchema)).resolves.toEqual({ items: ['a'] });
    expect({ outcomes: outcomes.slice(2), breaker, calls: upstream.calls() }).toEqual({ outcomes: Array(6).fill('malformed'), breaker: [], calls: 8 });
  });

  it('gives its bulkhead slot back however a call ends: an answer, a retried failure, a broken contract, a timeout, a deadline', async () => {
    const broken = (_req: IncomingMessage, res: ServerResponse) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":"yes"}');
    // One slot, no queue: a slot kept by any call that ended would refuse the next call at once.
    const upstream = await scripted(ok, status(503), status(503), broken, hang, hang, ok);
    cleanups.push(upstream.close);
    const { http, outcomes } = await client(upstream.url, { maxConcurrent: 1, maxQueued: 0, retries: 1 }, 100);
    await expect(http.get('/x', okSchema)).resolves.toEqual({ ok: true });
    expect((await failure(http.get('/x', okSchema))).outcome).toBe('http_error');
    expect((await failure(http.get('/x', okSchema))).outcome).toBe('malformed');
    expect((await failure(http.get('/x', okSchema))).outcome).toBe('timeout');
    expect((await failure(http.get('/x', okSchema, new Deadline(30)))).outcome).toBe('deadline');
    await expect(http.get('/x', okSchema)).resolves.toEqual({ ok: true });
    expect(outcomes).toEqual(['ok', 'http_error', 'malformed', 'timeout', 'deadline', 'ok']);
    expect(upstream.calls()).toBe(7);
  });

  it('gives up when the request deadline fires, even within the per-call timeout', async () => {
    const upstream = await scripted(hang);
    cleanups.push(upstream.close);
    const { http } = await client(upstream.url, {}, 5000);
    const started = performance.now();
    const error = await failure(http.get('/x', okSchema, new Deadline(80)));
    expect(error.outcome).toBe('deadline');
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('gives up no sooner than the request deadline, though its timer is armed in steps', async () => {
    const upstream = await scripted(hang);
    cleanups.push(upstream.close);
    const { http } = await client(upstream.url, {}, 5000);
    const started = performance.now();
    // 95 ms: the timer is armed at 90, finds the deadline not yet passed, and arms again for the rest.
    const error = await failure(http.get('/x', okSchema, new Deadline(95, started)));
    expect(error.outcome).toBe('deadline');
    expect(performance.now() - started).toBeGreaterThanOrEqual(94);
  });

  it('does not call at all once the deadline has passed', async () => {
    const upstream = await scripted(ok);
    cleanups.push(upstream.close);
    const { http } = await client(upstream.url);
    const spent = new Deadline(0);
    expect((await failure(http.get('/x', okSchema, spent))).outcome).toBe('deadline');
    expect(upstream.calls()).toBe(0);
  });

  it('refuses a body over 8 MiB as malformed, without reading the rest', async () => {
    let written = 0;
    const upstream = await scripted((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      const pump = () => {
        while (written < 64 * 1024 * 1024) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('close', () => res.removeAllListeners('drain'));
      pump();
    });
    cleanups.push(upstream.close);
    const { http, outcomes } = await client(upstream.url, {}, 5000);
    const error = await failure(http.get('/x', okSchema));
    expect(error.outcome).toBe('malformed');
    expect(error.message).toContain('body over 8388608 bytes');
    expect(outcomes).toEqual(['malformed']);
    expect(written).toBeLessThan(64 * 1024 * 1024);
  });

  it('never sends a call whose deadline passed while it waited for a free connection', async () => {
    const upstream = await scripted(ok, ok, ok, ok, hang);
    cleanups.push(upstream.close);
    const { http, outcomes } = await client(upstream.url, {}, 150);
    // The pool's 4 connections opened first, so the four calls below are written at once however
    // slowly a starved machine connects.
    await Promise.all([1, 2, 3, 4].map(() => http.get('/x', okSchema)));
    // One request's five calls, under one deadline (made one per call, a starved machine starts
    // them tens of ms apart). The fifth waits in the pool's queue — Floorplan's own — until it passes.
    const deadline = new Deadline(100);
    const errors = await Promise.all([1, 2, 3, 4, 5].map(() => failure(http.get('/x', okSchema, deadline))));
    expect(errors.map((e) => e.outcome)).toEqual(['deadline', 'deadline', 'deadline', 'deadline', 'deadline']);
    expect(outcomes).toHaveLength(9);
    // The four sent ones were aborted, freeing their connections; the queued one was dropped, not sent.
    await new Promise((done) => setTimeout(done, 100));
    expect(upstream.calls()).toBe(8);
  });

  it('reports no duration for a call that never left: its deadline passed before it, or while it queued for a connection', async () => {
    const upstream = await scripted(ok, ok, ok, ok, hang);
    cleanups.push(upstream.close);
    const observed: Array<[UpstreamOutcome, boolean]> = [];
    const http = new JsonHttp({
      upstream: 'promotion',
      baseUrl: upstream.url,
      timeoutMs: 150,
      connections: 4,
      resilience: DEFAULT_RESILIENCE,
      observe: (_u, outcome, seconds) => observed.push([outcome, seconds !== undefined]),
    });
    cleanups.push(() => http.close());
    await Promise.all([1, 2, 3, 4].map(() => http.get('/x', okSchema)));
    await failure(http.get('/x', okSchema, new Deadline(0)));
    // As above: four written and cut off, the fifth dropped from the pool's queue unwritten.
    const deadline = new Deadline(100);
    await Promise.all([1, 2, 3, 4, 5].map(() => failure(http.get('/x', okSchema, deadline))));
    expect(observed.slice(0, 5)).toEqual([...Array(4).fill(['ok', true]), ['deadline', false]]);
    expect(observed.slice(5).filter(([, timed]) => timed)).toHaveLength(4);
    expect(observed.slice(5).filter(([outcome]) => outcome === 'deadline')).toHaveLength(5);
  });

  it('keeps a connection that takes longer to open than the budget, so the next calls are answered on it', async () => {
    // An upstream whose host name resolves slower than a request's budget (DNS, or a slow TCP
    // connect): each lookup answers only once the call that started it has been cut off. The
    // connection opened for a cut-off call used to be torn down as soon as it connected, so every
    // later call opened (and looked up) another and was cut off in turn: never reachable.
    const upstream = await scripted(ok);
    cleanups.push(upstream.close);
    const host = 'slow-lookup.test';
    let lookups = 0;
    const held: Array<() => void> = [];
    const lookup = dns.lookup;
    dns.lookup = ((name: string, options: unknown, callback: unknown) => {
      if (name !== host) return (lookup as (...args: unknown[]) => void)(name, options, callback);
      lookups += 1;
      const answer = (typeof options === 'function' ? options : callback) as (...args: unknown[]) => void;
      const all = typeof options === 'object' && (options as { all?: boolean }).all === true;
      held.push(() => (all ? answer(null, [{ address: '127.0.0.1', family: 4 }]) : answer(null, '127.0.0.1', 4)));
    }) as typeof dns.lookup;
    cleanups.push(async () => {
      dns.lookup = lookup;
    });
    const outcomes: UpstreamOutcome[] = [];
    const http = new JsonHttp({
      upstream: 'promotion',
      baseUrl: upstream.url.replace('127.0.0.1', host),
      timeoutMs: 200,
      connections: 4,
      resilience: DEFAULT_RESILIENCE,
      observe: (_u, outcome) => {
        outcomes.push(outcome);
        // The call is over: the lookups it waited for answer now, slower than its budget.
        if (outcome === 'deadline') for (const release of held.splice(0)) setImmediate(release);
      },
    });
    cleanups.push(() => http.close());
    // Calls one after another, each with a budget no lookup is answered within, until one is answered.
    for (let call = 0; call < 12 && outcomes.at(-1) !== 'ok'; call++) {
      await http.get('/x', okSchema, new Deadline(30)).catch(() => undefined);
    }
    expect(outcomes[0]).toBe('deadline');
    expect(outcomes.at(-1)).toBe('ok');
    // At most one lookup per connection of the pool: no connection was opened only to be dropped.
    expect(lookups).toBeLessThanOrEqual(4);
    expect(upstream.calls()).toBe(1);
  });

  it('measures the upstream timeout from when the request was written, not while it queued for a connection', async () => {
    const slowOk = (req: IncomingMessage, res: ServerResponse) => setTimeout(() => ok(req, res), 150);
    const upstream = await scripted(slowOk);
    cleanups.push(upstream.close);
    // Each answer takes 150 ms of a 250 ms timeout; the fifth call first waits ~150 ms for one of the 4 connections,
    // so from dispatch it takes ~300 ms: over the timeout if the wait counted, well within it from the write.
    const { http, outcomes } = await client(upstream.url, {}, 250);
    const answers = await Promise.all([1, 2, 3, 4, 5].map(() => http.get('/x', okSchema)));
    expect(answers).toEqual(Array(5).fill({ ok: true }));
    expect(outcomes).toEqual(Array(5).fill('ok'));
  });

  it('keeps a call without a deadline queued past its timeout, then times it from its write', async () => {
    // The promotion cache's shared load has no request deadline. While the pool's 4 connections
    // hang, the fifth and sixth calls wait in its queue for longer than the whole timeout; that
    // wait is Floorplan's, so they are sent once the hung attempts are given up, and time out
    // 100 ms after their own write. (Their timer used to throw in a timer callback, reading a
    // deadline there was none of: an uncaught exception, so the process would exit.)
    const upstream = await scripted(hang);
    cleanups.push(upstream.close);
    const { http, outcomes } = await client(upstream.url, {}, 100);
    const started = performance.now();
    const errors = await Promise.all([1, 2, 3, 4, 5, 6].map(() => failure(http.get('/x', okSchema))));
    expect(errors.map((e) => e.outcome)).toEqual(Array(6).fill('timeout'));
    expect(outcomes).toEqual(Array(6).fill('timeout'));
    expect(upstream.calls()).toBe(6);
    // Two rounds of a 100 ms timeout, one after the other: the queued calls' timeouts started at their write.
    expect(performance.now() - started).toBeGreaterThanOrEqual(199);
  });

  it('measures the timeout from the write under a request deadline too, though one timer watches both', async () => {
    const slowOk = (req: IncomingMessage, res: ServerResponse) => setTimeout(() => ok(req, res), 150);
    const upstream = await scripted(slowOk);
    cleanups.push(upstream.close);
    const { http, outcomes } = await client(upstream.url, {}, 250);
    const answers = await Promise.all([1, 2, 3, 4, 5].map(() => http.get('/x', okSchema, new Deadline(5000))));
    expect(answers).toEqual(Array(5).fill({ ok: true }));
    expect(outcomes).toEqual(Array(5).fill('ok'));
  });

  it('times a hung upstream out at its own timeout when the request deadline is further off', async () => {
    const upstream = await scripted(hang);
    cleanups.push(upstream.close);
    const { http } = await client(upstream.url, {}, 100);
    const started = performance.now();
    const error = await failure(http.get('/x', okSchema, new Deadline(5000)));
    expect(error.outcome).toBe('timeout');
    expect(performance.now() - started).toBeGreaterThanOrEqual(99);
    expect(performance.now() - started).toBeLessThan(4000);
  });

  // undici's own headers and body timeouts are off (the attempt's timer bounds both): a body that
  // stops halfway must still end the call at the upstream's timeout, and free its connection.
  it('times out an answer whose body stops halfway, and the next call on the pool is answered', async () => {
    const stalls = (_req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"ok":');
    };
    const upstream = await scripted(stalls, ok);
    cleanups.push(upstream.close);
    const { http, outcomes } = await client(upstream.url, { retries: 0 }, 100);
    const started = performance.now();
    const error = await failure(http.get('/x', okSchema, new Deadline(5000)));
    expect(error.outcome).toBe('timeout');
    expect(performance.now() - started).toBeGreaterThanOrEqual(99);
    expect(performance.now() - started).toBeLessThan(4000);
    await expect(http.get('/x', okSchema, new Deadline(5000))).resolves.toEqual({ ok: true });
    expect(outcomes).toEqual(['timeout', 'ok']);
    expect(upstream.calls()).toBe(2);
  });
});

describe('JsonHttp and a blackholed host (its connects hang: nothing answers the SYN)', () => {
  /** Each call's budget: well under the connect timeout, so every call is cut off while its connection is still opening. */
  const BUDGET_MS = 30;
  const CONNECT_TIMEOUT_MS = 150;
  const HALF_OPEN_AFTER_MS = 300;

  async function blackholed() {
    const hole = await startBlackhole();
    cleanups.push(hole.close);
    const outcomes: UpstreamOutcome[] = [];
    const breaker: Array<{ state: string; reason: string | undefined }> = [];
    const connectFailures: ConnectFailure[] = [];
    const http = new JsonHttp({
      upstream: 'promotion',
      baseUrl: `http://127.0.0.1:${hole.port}/svc`,
      timeoutMs: 200,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      connections: 4,
      resilience: { ...DEFAULT_RESILIENCE, ...OPENS_AFTER_FOUR_FAILURES, breakerHalfOpenAfterMs: HALF_OPEN_AFTER_MS },
      observe: (_u, outcome) => outcomes.push(outcome),
      observeBreaker: (_u, state, reason) => breaker.push({ state, reason }),
      observeConnectFailure: (_u, reason) => connectFailures.push(reason),
    });
    cleanups.push(() => http.close());
    const states = () => breaker.map((b) => b.state);
    /** Calls one after another, as panels make them, each cut off by its budget, until the breaker opens (at most 100: 3 s of budgets). */
    async function callUntilOpen(): Promise<void> {
      for (let call = 0; call < 100 && !states().includes('open'); call++) {
        const error = await failure(http.get('/x', okSchema, new Deadline(BUDGET_MS)));
        expect(error.outcome).toBe('deadline');
      }
    }
    return { hole, http, outcomes, breaker, states, connectFailures, callUntilOpen };
  }

  it('opens the breaker on the connections that fail to open, though every call that waited for one was cut off by its deadline first', async () => {
    const { http, outcomes, breaker, states, connectFailures, callUntilOpen } = await blackholed();
    await callUntilOpen();
    expect(states()).toEqual(['open']);
    // The log line says why: the upstream's connects time out; so does the connect failures metric.
    expect(breaker[0]!.reason).toMatch(/could not connect to http:\/\/127\.0\.0\.1:\d+: no connection opened within connectTimeoutMs \(150 ms\)/);
    expect(connectFailures.length).toBeGreaterThanOrEqual(OPENS_AFTER_FOUR_FAILURES.breakerMinimumCalls!);
    expect(new Set(connectFailures)).toEqual(new Set(['timeout']));
    // Open, it fails a call at once, without waiting for a connection.
    const fast = await failure(http.get('/x', okSchema, new Deadline(BUDGET_MS)));
    expect(fast.outcome).toBe('circuit_open');
    // The calls themselves stay Floorplan's: cut off by its deadline, then refused by the breaker.
    expect(new Set(outcomes)).toEqual(new Set(['deadline', 'circuit_open']));
  });

  it('keeps the breaker open while the host stays blackholed, as a half-open trial gets no connection, and closes it once the host answers', async () => {
    const { hole, http, breaker, states, callUntilOpen } = await blackholed();
    await callUntilOpen();
    expect(states()).toEqual(['open']);
    for (let trial = 0; trial < 2; trial++) {
      await new Promise((r) => setTimeout(r, HALF_OPEN_AFTER_MS + 50));
      // The trial's caller is cut off at its deadline, as every caller is; having had no
      // connection from the host, the trial does not close the circuit but opens it again.
      const error = await failure(http.get('/x', okSchema, new Deadline(BUDGET_MS)));
      expect(error.outcome).toBe('deadline');
      expect(error.message).toContain('waited for a connection');
      expect(states().slice(-2)).toEqual(['half-open', 'open']);
      expect(breaker.at(-1)!.reason).toContain('waited for a connection');
      expect((await failure(http.get('/x', okSchema, new Deadline(BUDGET_MS)))).outcome).toBe('circuit_open');
    }
    // The host is back, on the same address: the next trial is answered and closes the circuit.
    await hole.close();
    const server = createServer(ok);
    server.listen(hole.port, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    });
    await new Promise((r) => setTimeout(r, HALF_OPEN_AFTER_MS + 50));
    await expect(http.get('/x', okSchema, new Deadline(2000))).resolves.toEqual({ ok: true });
    expect(states().at(-1)).toBe('closed');
    await expect(http.get('/x', okSchema, new Deadline(2000))).resolves.toEqual({ ok: true });
  });

  it('counts a refused connection once, as the failure of the call that waited for it', async () => {
    // A port nothing listens on (the blackhole's, once it is closed): each connect is refused at once, while its call still waits.
    const hole = await startBlackhole();
    await hole.close();
    const { http, breaker, outcomes, connectFailures } = await client(`http://127.0.0.1:${hole.port}/svc`, OPENS_AFTER_FOUR_FAILURES);
    for (let i = 0; i < 3; i++) expect((await failure(http.get('/x', okSchema))).outcome).toBe('network_error');
    // Three refusals are three failures, under the four calls the breaker needs: not six.
    expect(breaker).toEqual([]);
    expect(connectFailures).toEqual(['refused', 'refused', 'refused']);
    await failure(http.get('/x', okSchema));
    expect(breaker).toEqual(['open']);
    expect(outcomes).toEqual(Array(4).fill('network_error'));
  });
});

describe('JsonHttp money contract', () => {
  const json = (text: string) => (_req: IncomingMessage, res: ServerResponse) => res.writeHead(200, { 'content-type': 'application/json' }).end(text);

  it('fails a call whose amount is in a currency ISO 4217 does not list as malformed, naming the code', async () => {
    const upstream = await scripted(json('{"minor":100,"currency":"XYZ"}'));
    cleanups.push(upstream.close);
    const { http, outcomes } = await client(upstream.url);
    const error = await failure(http.get('/x', wireMoneySchema));
    expect(error.outcome).toBe('malformed');
    expect(error.code).toBe('FLOORPLAN_ERR_UPSTREAM_MALFORMED');
    expect(error.message).toContain('at currency: must be an ISO 4217 currency code with a minor unit, such as "CNY", but got: "XYZ"');
    expect(outcomes).toEqual(['malformed']);
  });

  it('fails a call whose cart is in a withdrawn currency as malformed', async () => {
    const upstream = await scripted(json('{"userId":"u1","currency":"HRK","lines":[]}'));
    cleanups.push(upstream.close);
    const { http } = await client(upstream.url);
    const error = await failure(http.get('/x', cartSchema));
    expect(error.outcome).toBe('malformed');
    expect(error.message).toContain('"HRK"');
  });
});

describe('JsonHttp exact amounts', () => {
  const json = (text: string) => (_req: IncomingMessage, res: ServerResponse) => res.writeHead(200, { 'content-type': 'application/json' }).end(text);

  async function answer(text: string, schema: z.ZodType = wireMoneySchema): Promise<unknown> {
    const upstream = await scripted(json(text));
    cleanups.push(upstream.close);
    const { http } = await client(upstream.url);
    return http.get('/x', schema);
  }

  async function refused(text: string, schema: z.ZodType = wireMoneySchema): Promise<UpstreamError> {
    const error = await failure(answer(text, schema));
    expect(error.outcome).toBe('malformed');
    expect(error.code).toBe('FLOORPLAN_ERR_UPSTREAM_MALFORMED');
    return error;
  }

  it.each([
    // JSON.parse reads each of these as a safe integer, so the contract alone never saw them.
    ['1000.00000000000001', 'a fraction below double precision (parses as 1000)'],
    ['9007199254740990.5', 'a fraction near 2^53 (parses as 9007199254740990)'],
    ['45035996273704965e-1', 'an exponent that rounds to an integer'],
    ['100.0', 'a whole number written as a decimal'],
    ['1e3', 'a whole number written with an exponent'],
    ['1E3', 'an upper-case exponent'],
    ['-5.00', 'a negative decimal'],
  ])('refuses the amount %s (%s) as malformed, naming the literal and where it is', async (literal) => {
    const error = await refused(`{"minor":${literal},"currency":"CNY"}`);
    expect(error.message).toBe(
      `promotion: GET /x answered a body that breaks its contract at minor: must be an integer without fraction or exponent, at most 2^53 − 1 in size, but got: ${literal}`,
    );
  });

  it('refuses an integer beyond 2^53 − 1 anywhere in the answer, even in a field the contract does not read', async () => {
    const error = await refused('{"ok":true,"trace":{"spans":[1,9007199254740993]}}', okSchema);
    expect(error.message).toContain('at trace.spans.1: must be an integer without fraction or exponent, at most 2^53 − 1 in size, but got: 9007199254740993');
  });

  it('names the path of an inexact amount deep in a cart, as the contract would', async () => {
    const cart =
      '{"userId":"u1","currency":"CNY","lines":[' +
      '{"skuId":"a","title":"t","quantity":1,"unitPrice":{"minor":100,"currency":"CNY"},"selected":true},' +
      '{"skuId":"b","title":"t","quantity":1,"unitPrice":{"minor":1000.00000000000001,"currency":"CNY"},"selected":true}]}';
    const error = await refused(cart, cartSchema);
    expect(error.message).toContain('at lines.1.unitPrice.minor:');
    expect(error.message).toContain('but got: 1000.00000000000001');
  });

  it('refuses a bare inexact number as the whole answer', async () => {
    const error = await refused(' 2.5 ', z.number());
    expect(error.message).toContain('at (root): must be an integer without fraction or exponent');
  });

  it.each([
    ['{"minor":9007199254740991,"currency":"CNY"}', 9_007_199_254_740_991],
    ['{"minor":-9007199254740991,"currency":"CNY"}', -9_007_199_254_740_991],
    ['{"minor":1000000000000000,"currency":"CNY"}', 1_000_000_000_000_000],
    ['{"minor":0,"currency":"CNY"}', 0],
    ['{ "minor" : 2090 , "currency" : "CNY" }', 2090],
  ])('accepts the exact integer amount in %s', async (text, minor) => {
    await expect(answer(text)).resolves.toEqual({ minor, currency: 'CNY' });
  });

  it('reads numbers only where they are numbers: decimals inside strings are text', async () => {
    const cart =
      '{"userId":"u1","currency":"CNY","lines":[' +
      '{"skuId":"sku-9e263b95","title":"[9.9包邮] 2.5kg, x:1.5 ratio 1e3 id 12345678901234567890","quantity":2,' +
      '"unitPrice":{"minor":990,"currency":"CNY"},"selected":true}]}';
    const parsed = (await answer(cart, cartSchema)) as Cart;
    expect(parsed.lines[0]!.title).toBe('[9.9包邮] 2.5kg, x:1.5 ratio 1e3 id 12345678901234567890');
    expect(parsed.lines[0]!.unitPrice.minor).toBe(990);
  });

  it('still reports a body that is not JSON as not JSON', async () => {
    const error = await refused('{"minor":1.5,', wireMoneySchema);
    expect(error.message).toMatch(/answered a body that is not JSON/);
  });
});
