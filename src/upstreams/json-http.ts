/**
 * A JSON-over-HTTP client for one upstream: an undici keep-alive pool behind resilience
 * policies — a bulkhead (bulkhead.ts) → cockatiel's retry (idempotent reads only, within a
 * retry budget) → cockatiel's circuit breaker, passed without its async layers while it is
 * closed ({@link JsonHttp.attemptsOf}) — then one attempt with its own timeout, cut short by the
 * caller's deadline, and a zod contract every response must pass (checked by its compiled form
 * first, wire-check.ts); an answer that passes it but leaves out part of what was asked is
 * returned, yet counted `malformed` ({@link JsonHttpOptions.answersAll}). The usual call (a free
 * slot, the breaker closed) is one {@link CallInFlight}: one promise from the call to its checked answer.
 * Whatever goes wrong comes out as an {@link UpstreamError}; nothing upstream can crash the
 * caller or hold a request past its deadline.
 *
 * The breaker and the retries judge the upstream, never Floorplan: a call cut off by the
 * request's own deadline (outcome `deadline`) — because the process was busy, the request
 * waited in the bulkhead or the pool, or the upstream was merely slower than what was left of
 * the budget — counts for neither. The upstream's own timeout starts when the request has been
 * written to its socket, not while it waits for a connection. What the upstream does meanwhile
 * still counts: a connection that fails to open (refused, or none within `connectTimeoutMs` from
 * a host that drops connects) counts as one failed call even when every call that waited for it
 * was cut off first ({@link JsonHttp.connectionFailed}). And a half-open trial cut off by its
 * deadline — sent and unanswered, or still waiting for a connection — has not shown the upstream
 * is back, so it keeps the circuit open ({@link UNANSWERED_TRIALS}). The breaker opens on a failure
 * rate over a time window with a minimum number of calls (cockatiel's SamplingBreaker), so a
 * burst of a few failures in a row cannot open it.
 *
 * An attempt is undici's `dispatch` with a handler that collects the body, not `request`:
 * no body stream, no AbortController or abort listener per attempt, no promise race. Measured on loopback
 * against the demo cart: ~45 µs CPU per call instead of ~150 µs through `request` wrapped in
 * cockatiel's timeout policy, which matters three times per panel.
 */
import {
  BrokenCircuitError,
  BulkheadRejectedError,
  circuitBreaker,
  CircuitState,
  ExponentialBackoff,
  handleWhen,
  IsolatedCircuitError,
  retry,
  SamplingBreaker,
  type CircuitBreakerPolicy,
  type RetryPolicy,
} from 'cockatiel';
import { Pool, type Dispatcher } from 'undici';
import type { z } from 'zod';
import type { UpstreamName } from './registry.ts';
import { expiryAt, silenceOf, type Deadline, type UpstreamSilence } from './deadline.ts';
import { InexactNumberError, parseExactJson } from './exact-json.ts';
import { describeThrown, UnreachableCaseError } from '../errors.ts';
import { Bulkhead } from './bulkhead.ts';
import { RetryBudget } from './retry-budget.ts';
import { UpstreamError, type UpstreamOutcome } from './upstream-error.ts';
import { DEFAULT_RESILIENCE, type ResilienceOptions } from './resilience.ts';
import { STANDARD_DEFAULTS } from './definition.ts';
import { answerCheck } from './wire-check.ts';

/**
 * Told about every call (one per logical call, after retries), e.g. to count it in metrics:
 * once, with the outcome its caller gets — `malformed`, not `ok`, for an answer that leaves out
 * part of what was asked, though the call returns it ({@link JsonHttpOptions.answersAll}).
 * `durationSeconds` is undefined for a call none of whose requests left Floorplan (the breaker
 * or the bulkhead refused it, or the request's deadline passed before it was written): it has
 * no upstream latency to report.
 */
export type UpstreamObserver = (upstream: UpstreamName, outcome: UpstreamOutcome, durationSeconds: number | undefined) => void;

/**
 * Told about every retry sent: an attempt after a call's first whose request was written, so
 * that what an upstream received is the calls {@link UpstreamObserver} is told of as sent (with
 * a duration) plus these. A retry the breaker refuses, or whose deadline passed before it was
 * written, never reached the upstream and is not told.
 */
export type RetryObserver = (upstream: UpstreamName) => void;

/**
 * Why a connection to an upstream failed to open: `timeout` (none within connectTimeoutMs: a
 * host that drops SYNs — blackholed, dead, its accept queue full — or a slow name lookup),
 * `refused` (nothing listens: the service is down), `unresolved` (its host name does not
 * resolve), `other` (reset or unreachable host, a TLS failure…).
 */
export type ConnectFailure = 'timeout' | 'refused' | 'unresolved' | 'other';

/**
 * Told about every connection to an upstream that failed to open, whether or not a call was still
 * waiting for it (a call that was fails with it as a `network_error`).
 */
export type ConnectFailureObserver = (upstream: UpstreamName, reason: ConnectFailure) => void;

/**
 * Told when an upstream's circuit breaker changes state; `reason`, when it opens: the failure
 * that opened it, in words (e.g. "promotion: could not connect to http://10.0.0.7:4001: no
 * connection opened within connectTimeoutMs (1000 ms)").
 */
export type BreakerObserver = (upstream: UpstreamName, state: 'closed' | 'open' | 'half-open', reason?: string) => void;

export interface JsonHttpOptions {
  readonly upstream: UpstreamName;
  /** e.g. http://127.0.0.1:4001/cart; paths are appended to its path. */
  readonly baseUrl: string;
  /** One attempt, from the request written to its socket to the last body byte. */
  readonly timeoutMs: number;
  /**
   * Opening one connection, name lookup and TCP handshake; a connection that fails to open
   * counts against the breaker (see {@link JsonHttp}). Default: STANDARD_DEFAULTS' (1000 ms).
   */
  readonly connectTimeoutMs?: number;
  /** Keep-alive connections in the pool. */
  readonly connections: number;
  readonly resilience?: ResilienceOptions;
  /**
   * Whether a contract-checked answer answers everything its call's request asked (the body of
   * {@link JsonHttp.postRead}, the `request` of {@link JsonHttp.get}): the upstream's definition's
   * `answersAll`. One that does not is returned all the same — the caller uses what it does
   * answer — but the call is counted `malformed`; as any answer, it shows the upstream is up to
   * the breaker. Default: every answer does.
   */
  readonly answersAll?: (request: unknown, answer: unknown) => boolean;
  readonly observe?: UpstreamObserver;
  readonly observeBreaker?: BreakerObserver;
  readonly observeRetry?: RetryObserver;
  readonly observeConnectFailure?: ConnectFailureObserver;
}

const JSON_HEADERS: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
const ACCEPT_JSON: Record<string, string> = { accept: 'application/json' };
/** A traced call's W3C trace context headers (traceparent, tracestate); undefined for every untraced call. */
type TraceHeaders = Readonly<Record<string, string>> | undefined;
const RETRYABLE_STATUS = new Set([502, 503, 504]);
/** A bigger answer than any cart, promotion or quote could be is a broken upstream, not data. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;

/** Why an attempt was given up before its answer was complete. */
class AttemptAbandoned extends Error {
  constructor(
    readonly outcome: 'timeout' | 'deadline' | 'malformed',
    message: string,
    /** Given up before its request was written to a socket: the upstream never saw it. */
    readonly unsent = false,
  ) {
    super(message);
  }
}

/**
 * The `deadline` failures of attempts whose request was never written (see {@link neverSent}).
 * Kept beside the error rather than on it: the outcome is the same either way, only the
 * duration metric and the retry policy read the difference.
 */
const UNSENT = new WeakSet<UpstreamError>();

/**
 * The `deadline` failures of half-open trials: the request's deadline passed before the upstream
 * answered the trial — it was sent and left unanswered, or it waited for a connection that the
 * upstream gave none of in time. Such a trial has not shown the upstream is back, so the breaker
 * takes it for a failure and the circuit opens again ({@link JsonHttp}'s breaker), although a
 * call cut off by its deadline while the circuit is closed counts for neither.
 */
const UNANSWERED_TRIALS = new WeakSet<UpstreamError>();

/**
 * Whether `error` ended an attempt whose request never left Floorplan: refused by the breaker
 * or the bulkhead, or cut off by the request's deadline before it was written.
 */
function neverSent(error: unknown): boolean {
  if (error instanceof UpstreamError) return error.outcome === 'circuit_open' || error.outcome === 'rejected' || UNSENT.has(error);
  return error instanceof BrokenCircuitError || error instanceof IsolatedCircuitError || error instanceof BulkheadRejectedError;
}

/**
 * A retry refused by the breaker: other calls opened the circuit while it waited out its backoff,
 * or a half-open trial is in flight (a failure that leaves the circuit open itself is not retried
 * at all, {@link JsonHttp.shouldRetry}). The call ends with `failure`, the last answer the upstream
 * gave, not as `circuit_open`: the call did reach the upstream. The retry spends no budget.
 */
class RetryRefused extends Error {
  constructor(readonly failure: unknown) {
    super('the retry was refused: the circuit is open');
  }
}

/**
 * Turns what an attempt got into the call's result, in this upstream's words: a 2xx body's
 * payload (exact JSON), or the {@link UpstreamError} for anything else.
 */
class AttemptJudge {
  /**
   * The last of undici's errors that failed an attempt still waited for. A connection that fails
   * to open fails the requests queued on it with its error, then reports the error itself
   * ({@link JsonHttp.connectionFailed}): an attempt failed with it is a call's failure, which
   * the breaker judges as that call's.
   */
  failedWith: Error | undefined;

  constructor(
    readonly upstream: UpstreamName,
    /** One attempt, from the request written to its socket to the last body byte. */
    readonly timeoutMs: number,
    /** Opening one connection. */
    readonly connectTimeoutMs: number,
  ) {}

  /** A complete answer's payload: the body parsed as JSON whose numbers are exact integers (exact-json.ts). */
  payloadOf(status: number, text: string, method: string, path: string): unknown {
    if (status < 200 || status >= 300) {
      throw new UpstreamError(this.upstream, 'http_error', `${method} ${path} answered HTTP ${status}`, { status });
    }
    try {
      return parseExactJson(text);
    } catch (error) {
      if (error instanceof InexactNumberError) {
        throw new UpstreamError(this.upstream, 'malformed', `${method} ${path} answered a body that breaks its contract at ${error.path}: ${error.message}`);
      }
      throw new UpstreamError(this.upstream, 'malformed', `${method} ${path} answered a body that is not JSON (${text.length} bytes)`);
    }
  }

  /** Whatever went wrong with a call, as the {@link UpstreamError} its caller gets. */
  failureOf(error: unknown, method: string, path: string, deadline: Deadline | undefined): UpstreamError {
    if (error instanceof UpstreamError) return error;
    if (error instanceof RetryRefused) {
      const failure = this.failureOf(error.failure, method, path, deadline);
      return new UpstreamError(this.upstream, failure.outcome, `${failure.params.detail}; not retried: the circuit is open`, { status: failure.status, cause: failure });
    }
    if (error instanceof AttemptAbandoned) {
      switch (error.outcome) {
        case 'timeout':
          return new UpstreamError(this.upstream, 'timeout', `${method} ${path} timed out: ${error.message} (${this.timeoutMs} ms)`);
        case 'deadline':
          return this.cutOff(`${method} ${path} cut off: ${error.message}`, error.unsent);
        case 'malformed':
          return new UpstreamError(this.upstream, 'malformed', `${method} ${path} answered a ${error.message}`);
        default:
          throw new UnreachableCaseError(error.outcome);
      }
    }
    if (error instanceof BrokenCircuitError || error instanceof IsolatedCircuitError) {
      return new UpstreamError(this.upstream, 'circuit_open', `${method} ${path} not attempted: the circuit is open after repeated failures`);
    }
    if (error instanceof BulkheadRejectedError) {
      return new UpstreamError(this.upstream, 'rejected', `${method} ${path} not attempted: too many calls in flight`);
    }
    if (deadline?.passed === true) {
      return new UpstreamError(this.upstream, 'deadline', `${method} ${path} cut off: the request deadline passed`, { cause: error });
    }
    if ((error as { name?: string }).name === 'AbortError') {
      return new UpstreamError(this.upstream, 'timeout', `${method} ${path} timed out`, { cause: error });
    }
    return new UpstreamError(this.upstream, 'network_error', `${method} ${path} failed: ${this.networkDetail(error)}`, { cause: error });
  }

  /** undici's or the socket's error code; a connect timeout in this upstream's terms (undici's names no setting). */
  networkDetail(error: unknown): string {
    const code = (error as { code?: string }).code;
    if (code === 'UND_ERR_CONNECT_TIMEOUT') return `no connection opened within connectTimeoutMs (${this.connectTimeoutMs} ms)`;
    return code ?? describeThrown(error);
  }

  /** A `deadline` failure; `unsent` when no request of the attempt was written ({@link neverSent}). */
  cutOff(message: string, unsent: boolean): UpstreamError {
    const failure = new UpstreamError(this.upstream, 'deadline', message);
    if (unsent) UNSENT.add(failure);
    return failure;
  }
}

/**
 * Where an attempt's end goes: its answer's payload, or its failure, told once. Called from
 * undici's handler callbacks and the attempt's timer, so neither may throw.
 */
interface AttemptSink {
  answered(payload: unknown): void;
  failed(failure: UpstreamError): void;
}

/**
 * Collects one response for {@link JsonHttp}. The attempt settles once, told to its
 * {@link AttemptSink}: with the answer's payload, or with an {@link UpstreamError} for an error
 * status, a body that is not exact JSON, undici's error, or {@link abandon} (timeout, deadline,
 * oversized body), which also aborts the request if it is on a socket; one still queued in the
 * pool is refused unwritten when it gets its connection, which stays open for the next call
 * ({@link onRequestStart}). Its {@link AttemptJudge} makes both, so no
 * promise stands between undici and whoever waits for the attempt.
 *
 * It owns the attempt's one timer. Until the request is written, only the request's deadline
 * bounds the wait: a request queued for a pool connection waits in Floorplan's own queue, so
 * running out of budget there is `deadline`, not the upstream's fault (a call with no deadline,
 * the promotion cache's shared load, waits there as long as the pool makes it). Once written, the
 * upstream's own timeout runs (`timeout`), unless the deadline comes first.
 *
 * The timer is armed once, at whichever is sooner of the deadline and `timeoutMs` from now —
 * nothing can expire earlier, as the request is written now at the soonest — and when it fires
 * it either gives the attempt up or arms itself for what is left. Writing the request arms no
 * timer: that would be a timer list insert and removal more per call.
 */
class AnswerCollector implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private abandoned: Error | undefined;
  private settled = false;
  private status = 0;
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private timer: NodeJS.Timeout;
  /** When the request was written to its socket; 0 until then. */
  private sentAt = 0;
  /** Whether the upstream's timeout, which ends before the deadline, bounds the written request. */
  private timesOut = false;

  constructor(
    private readonly judge: AttemptJudge,
    private readonly method: 'GET' | 'POST',
    private readonly path: string,
    private readonly deadline: Deadline | undefined,
    /** Told once: the answer's payload, or the attempt's failure. */
    private readonly sink: AttemptSink,
    /** The breaker's window, when the breaker did not make this attempt itself: a payload counts there as a success. */
    private readonly successWindow: SamplingBreaker | undefined,
  ) {
    this.timer = setTimeout(due, deadline === undefined ? judge.timeoutMs : Math.min(judge.timeoutMs, deadline.timerMs()), this);
  }

  /**
   * The request is about to be written to a connection. One given up while it waited for that
   * connection (its deadline passed while it was queued, the only way an attempt ends unsent) is
   * refused by throwing, not by aborting it through `controller`: undici's abort destroys the
   * socket, as a request it aborts may be half written, while a handler that throws here has its
   * request failed before a byte is written and the connection kept for the next one (client-h1.js
   * writeH1). A connection that took longer to open than a request's whole budget — a host name
   * that resolves slowly, a slow TCP connect — was otherwise dropped the moment it was ready, so
   * every call opened, and looked up, another, and none was ever answered. Only an abandoned
   * attempt takes this branch; the usual call is as before.
   */
  onRequestStart(controller: Dispatcher.DispatchController): void {
    if (this.abandoned !== undefined) throw this.abandoned;
    this.controller = controller;
  }

  onRequestSent(): void {
    if (this.settled) return;
    this.sentAt = performance.now();
    this.timesOut = this.deadline === undefined || this.judge.timeoutMs < this.deadline.remainingMs();
  }

  /**
   * The timer fired. While Floorplan's loop is saturated an answer may be waiting unread, so
   * neither the deadline nor the timeout expires then (deadline.ts).
   */
  due(): void {
    if (this.timesOut) {
      const now = performance.now();
      const leftMs = expiryAt(this.sentAt, this.judge.timeoutMs, now) - now;
      if (leftMs > 0) this.timer = setTimeout(due, leftMs, this);
      else this.abandon(new AttemptAbandoned('timeout', 'no complete answer within its timeout after the request was sent'));
      return;
    }
    const { deadline } = this;
    // Still queued for a connection, with no request deadline (the promotion cache's shared load):
    // nothing bounds that wait but the pool, and the timeout starts at the write.
    if (deadline === undefined) {
      this.timer = setTimeout(due, this.judge.timeoutMs, this);
    } else if (deadline.passed) {
      deadline.cutOff(this.judge.upstream);
      const unsent = this.sentAt === 0;
      // No connection yet: undici hands the request one just before it writes it (onRequestStart).
      const connectionless = this.controller === undefined;
      this.abandon(
        new AttemptAbandoned(
          'deadline',
          connectionless ? 'the request deadline passed while it waited for a connection' : unsent ? 'the request deadline passed before it was sent' : 'the request deadline passed before it answered',
          unsent,
        ),
      );
    } else {
      // Not written yet: its timeout, when it starts, ends `timeoutMs` from now at the soonest.
      this.timer = setTimeout(due, this.sentAt === 0 ? Math.min(this.judge.timeoutMs, deadline.timerMs()) : deadline.timerMs(), this);
    }
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number): void {
    this.status = statusCode;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    // Only a success's body is read; an error status is reported by its code alone.
    if (this.status < 200 || this.status >= 300) return;
    this.size += chunk.length;
    if (this.size > MAX_BODY_BYTES) {
      this.abandon(new AttemptAbandoned('malformed', `body over ${MAX_BODY_BYTES} bytes`));
      return;
    }
    this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    if (!this.settle()) return;
    const { chunks } = this;
    const text = chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8');
    let payload: unknown;
    try {
      payload = this.judge.payloadOf(this.status, text, this.method, this.path);
    } catch (error) {
      this.sink.failed(error as UpstreamError);
      return;
    }
    // As cockatiel counts an attempt that resolved, whatever the contract then says of it.
    this.successWindow?.success(CircuitState.Closed);
    this.sink.answered(payload);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (!this.settle()) return;
    this.judge.failedWith = error;
    this.sink.failed(this.judge.failureOf(error, this.method, this.path, this.deadline));
  }

  /** Gives the attempt up with `reason` and aborts the request. */
  abandon(reason: AttemptAbandoned): void {
    if (!this.settle()) return;
    this.abandoned = reason;
    this.sink.failed(this.judge.failureOf(reason, this.method, this.path, this.deadline));
    this.controller?.abort(reason);
  }

  private settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    clearTimeout(this.timer);
    return true;
  }
}

function due(collector: AnswerCollector): void {
  collector.due();
}

/** The parts of a {@link JsonHttp} that a {@link CallInFlight} reports to, one per upstream. */
interface CallSite {
  readonly judge: AttemptJudge;
  readonly bulkhead: Bulkhead;
  /** A contract-checked answer's outcome, `ok` or `malformed` ({@link JsonHttpOptions.answersAll}). */
  outcomeOf(request: unknown, answer: unknown): 'ok' | 'malformed';
  /** A first attempt's failure, judged by the breaker as if it had made the attempt, then retried. */
  replayed(failure: UpstreamError, method: 'GET' | 'POST', path: string, body: string | undefined, traceHeaders: TraceHeaders, deadline: Deadline | undefined): Promise<unknown>;
  /** The call is over with `outcome`: the upstream's silence and the call's metric; `sent`: a request of it was written. */
  ended(outcome: UpstreamOutcome, started: number, sent: boolean): void;
}

/**
 * A call on the usual path — a free slot in the bulkhead, the breaker closed, the deadline not
 * passed — from its one attempt to its contract-checked answer: the sink of that attempt and
 * the call's only promise. What an async `call` did after its attempt's promise (give the slot
 * back, check the contract, count the call) is done here as the answer arrives, so such a call
 * costs one promise, not an async frame and two promises with a turn of the microtask queue
 * between them. A failed attempt goes on through the breaker and the retries as before
 * ({@link CallSite.replayed}).
 */
class CallInFlight implements AttemptSink {
  readonly promise: Promise<unknown>;
  private resolve!: (value: unknown) => void;
  private reject!: (error: UpstreamError) => void;

  constructor(
    private readonly site: CallSite,
    private readonly method: 'GET' | 'POST',
    private readonly path: string,
    /** What the call asks, as its caller gave it: what the answer is judged against ({@link CallSite.outcomeOf}). */
    private readonly request: unknown,
    private readonly body: string | undefined,
    private readonly traceHeaders: TraceHeaders,
    private readonly schema: z.ZodType,
    private readonly deadline: Deadline | undefined,
    private readonly started: number,
  ) {
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  answered(payload: unknown): void {
    this.site.bulkhead.leave();
    let value: unknown;
    let outcome: 'ok' | 'malformed';
    try {
      value = contracted(this.site.judge.upstream, this.schema, payload, this.method, this.path);
      outcome = this.site.outcomeOf(this.request, value);
    } catch (error) {
      this.end(error);
      return;
    }
    this.site.ended(outcome, this.started, true);
    this.resolve(value);
  }

  failed(failure: UpstreamError): void {
    let replay: Promise<unknown>;
    try {
      replay = this.site.replayed(failure, this.method, this.path, this.body, this.traceHeaders, this.deadline);
    } catch (error) {
      replay = Promise.reject(error);
    }
    replay.then(
      (payload) => this.answered(payload),
      (error: unknown) => {
        this.site.bulkhead.leave();
        this.end(error);
      },
    );
  }

  private end(error: unknown): void {
    const failure = this.site.judge.failureOf(error, this.method, this.path, this.deadline);
    this.site.ended(failure.outcome, this.started, !neverSent(failure));
    this.reject(failure);
  }
}

/** The {@link ConnectFailure} of undici's error for a connection that failed to open. */
function connectFailureOf(error: Error): ConnectFailure {
  switch ((error as { code?: string }).code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return 'timeout';
    case 'ECONNREFUSED':
      return 'refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'unresolved';
    default:
      return 'other';
  }
}

/**
 * `payload` as its contract `schema` reads it: as it is when the compiled check passes it,
 * otherwise as zod parses it, and zod's first complaint, in its own words, when it refuses it.
 * @throws UpstreamError (`malformed`) for an answer that breaks its contract.
 */
function contracted(upstream: UpstreamName, schema: z.ZodType, payload: unknown, method: string, path: string): unknown {
  if (answerCheck(schema)(payload)) return payload;
  const parsed = schema.safeParse(payload);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const where = first === undefined ? '' : ` at ${first.path.join('.') || '(root)'}: ${first.message}`;
    throw new UpstreamError(upstream, 'malformed', `${method} ${path} answered a body that breaks its contract${where}`);
  }
  return parsed.data;
}

export class JsonHttp {
  readonly upstream: UpstreamName;
  private readonly pool: Pool;
  private readonly basePath: string;
  private readonly origin: string;
  private readonly bulkhead: Bulkhead;
  private readonly retries: RetryPolicy;
  /** False when no call is ever retried (`retries: 0`). */
  private readonly retrying: boolean;
  private readonly breaker: CircuitBreakerPolicy;
  /** The breaker's failure-rate window: an attempt made past the closed breaker reports its success here itself ({@link attemptsOf}). */
  private readonly window: SamplingBreaker;
  private readonly judge: AttemptJudge;
  private readonly budget: RetryBudget;
  private readonly answersAll: ((request: unknown, answer: unknown) => boolean) | undefined;
  private readonly observe: UpstreamObserver | undefined;
  private readonly observeRetry: RetryObserver | undefined;
  private readonly observeConnectFailure: ConnectFailureObserver | undefined;
  /** When this upstream last answered, and since when it has been asked in vain: what a deadline that cuts it off reads. */
  private readonly silence: UpstreamSilence;
  /** What a call on the usual path reports to ({@link CallInFlight}). */
  private readonly site: CallSite;

  constructor(options: JsonHttpOptions) {
    const url = new URL(options.baseUrl);
    const resilience = options.resilience ?? DEFAULT_RESILIENCE;
    this.upstream = options.upstream;
    this.basePath = url.pathname.replace(/\/$/, '');
    this.origin = url.origin;
    // undici's own headers and body timeouts (300 s each) are off: the attempt's timer
    // (AnswerCollector) bounds both, sooner. Left on, each call made one of undici's "fast"
    // timers when written and dropped it when answered, and a dropped one stays in undici's list
    // until its next tick, up to half a second: long enough to outlive scavenges and be promoted
    // (BENCHMARKS.md, session 36).
    const connectTimeoutMs = options.connectTimeoutMs ?? STANDARD_DEFAULTS.connectTimeoutMs;
    this.pool = new Pool(url.origin, { connections: options.connections, connectTimeout: connectTimeoutMs, keepAliveTimeout: 30_000, headersTimeout: 0, bodyTimeout: 0 });
    // Once per connection that fails to open: nothing on the way of a call.
    this.pool.on('connectionError', (_origin, _targets, error) => this.connectionFailed(error));
    this.answersAll = options.answersAll;
    this.observe = options.observe;
    this.observeRetry = options.observeRetry;
    this.observeConnectFailure = options.observeConnectFailure;
    this.silence = silenceOf(options.upstream);
    this.judge = new AttemptJudge(options.upstream, options.timeoutMs, connectTimeoutMs);
    this.budget = new RetryBudget(resilience.retryBudgetPercent / 100);

    const window = new SamplingBreaker({
      threshold: resilience.breakerFailureRatio,
      duration: resilience.breakerWindowMs,
      minimumRps: resilience.breakerMinimumCalls / (resilience.breakerWindowMs / 1000),
    });
    const breaker: CircuitBreakerPolicy = circuitBreaker(
      // A 4xx or a contract breach is the upstream answering: it is up. Only outages trip the
      // breaker; an error it does not handle (`deadline` among them) counts neither way…
      handleWhen(
        (error) =>
          error instanceof UpstreamError &&
          (error.outcome === 'timeout' ||
            error.outcome === 'network_error' ||
            (error.status ?? 0) >= 500 ||
            // …but for a half-open trial, which cockatiel would take for a success, closing the
            // circuit although the upstream never answered it: a hung upstream that takes
            // requests and answers none, or a blackholed host that gives the trial no connection
            // (and fails it only at connectTimeoutMs, usually past the request's budget). So the
            // circuit stays open until a trial gets an answer. (A connection that opens too late
            // for its trial is kept for the next, AnswerCollector.onRequestStart.)
            UNANSWERED_TRIALS.has(error)),
      ),
      { halfOpenAfter: resilience.breakerHalfOpenAfterMs, breaker: window },
    );
    breaker.onStateChange((state) => {
      if (state === CircuitState.Open) {
        // Opened by the failure just judged: cockatiel keeps it as the breaker's last.
        const last = breaker.lastFailure;
        options.observeBreaker?.(this.upstream, 'open', last !== undefined && 'error' in last ? describeThrown(last.error) : undefined);
      } else {
        options.observeBreaker?.(this.upstream, state === CircuitState.Closed ? 'closed' : 'half-open');
      }
    });
    const retries = retry(
      handleWhen((error) => this.shouldRetry(error)),
      { maxAttempts: resilience.retries, backoff: new ExponentialBackoff({ initialDelay: 5, maxDelay: 40 }) },
    );
    // Cockatiel asks the predicate about the last attempt's error too, so the budget is only
    // checked there and spent when a retry is decided; a retry that then never reaches the
    // upstream gives it back (retry).
    retries.onRetry(() => this.budget.spend());
    // The per-attempt timeout is the attempt's own timer (see AnswerCollector): cockatiel's timeout
    // policy costs an AbortController, two abort listeners and a promise race per attempt.
    this.bulkhead = new Bulkhead(resilience.maxConcurrent, resilience.maxQueued);
    this.retries = retries;
    this.retrying = resilience.retries > 0;
    this.breaker = breaker;
    this.window = window;
    this.site = {
      judge: this.judge,
      bulkhead: this.bulkhead,
      outcomeOf: (request, answer) => this.outcomeOf(request, answer),
      replayed: (failure, method, path, body, traceHeaders, deadline) => this.replayed(failure, method, path, body, traceHeaders, deadline),
      ended: (outcome, started, sent) => this.ended(outcome, started, sent),
    };
  }

  /**
   * A connection to this upstream failed to open: refused, reset, unresolved, or not opened within
   * connectTimeoutMs (a host that drops SYNs). The calls queued on it fail with its error and
   * count as failures like any other ({@link AttemptJudge.failedWith}). But a call cut off by its
   * deadline while it waited no longer counts (it is `deadline`), and on a host whose connects
   * hang every call is: then the connection's failure is the only one the upstream gives, so it
   * counts once in the breaker's window itself, as one failed call. Otherwise a blackholed host
   * would never open the breaker, and every panel would wait its whole budget for it.
   */
  private connectionFailed(error: Error): void {
    this.observeConnectFailure?.(this.upstream, connectFailureOf(error));
    if (error === this.judge.failedWith || this.breaker.state !== CircuitState.Closed) return;
    const failure = new UpstreamError(this.upstream, 'network_error', `could not connect to ${this.origin}: ${this.judge.networkDetail(error)}`, { cause: error });
    // Judged by the breaker as a failed call (see replayed); the rejection is nobody's to handle.
    this.breaker.execute(() => Promise.reject(failure)).catch(() => undefined);
  }

  /**
   * `traceHeaders`: the call's span, carried to the upstream (W3C traceparent), for a traced
   * request. `request`: what the path asks, as {@link JsonHttpOptions.answersAll} reads it.
   */
  get<S extends z.ZodType>(path: string, schema: S, deadline?: Deadline, traceHeaders?: TraceHeaders, request?: unknown): Promise<z.output<S>> {
    return this.call('GET', path, request, undefined, schema, deadline, traceHeaders);
  }

  /** A POST that only reads (a query or a quote): safe to retry. `body` is sent as JSON. */
  postRead<S extends z.ZodType>(path: string, body: unknown, schema: S, deadline?: Deadline, traceHeaders?: TraceHeaders): Promise<z.output<S>> {
    return this.call('POST', path, body, JSON.stringify(body), schema, deadline, traceHeaders);
  }

  /** A contract-checked answer's outcome: `malformed` when it leaves out part of what `request` asked. */
  private outcomeOf(request: unknown, answer: unknown): 'ok' | 'malformed' {
    return this.answersAll === undefined || this.answersAll(request, answer) ? 'ok' : 'malformed';
  }

  /**
   * Aborts what is still queued or in flight rather than waiting for it: the server closes the
   * clients once its requests are answered, so what is left feeds a cache at most, and a hung
   * upstream with calls queued behind it would hold up the stop by its timeout per round.
   */
  async close(): Promise<void> {
    await this.pool.destroy();
  }

  /**
   * Whether the retry policy retries `error`: a transient failure, while the breaker is closed
   * and the budget has a retry left. The breaker has judged the failure by now (see
   * {@link attemptsOf}): one that opened the circuit, or a half-open trial's that reopened it,
   * leaves it open, and a retry into an open circuit never reaches the upstream. So it is not
   * made at all — no budget spent on it (cockatiel spends it in `onRetry`, before the retry
   * meets the breaker) — and the call ends with the upstream's own answer.
   */
  private shouldRetry(error: unknown): boolean {
    if (!(error instanceof UpstreamError)) return false;
    const transient = error.outcome === 'network_error' || (error.outcome === 'http_error' && RETRYABLE_STATUS.has(error.status ?? 0));
    return transient && this.breaker.state === CircuitState.Closed && this.budget.canSpend();
  }

  private call<S extends z.ZodType>(
    method: 'GET' | 'POST',
    path: string,
    request: unknown,
    body: string | undefined,
    schema: S,
    deadline: Deadline | undefined,
    traceHeaders: TraceHeaders,
  ): Promise<z.output<S>> {
    const started = performance.now();
    this.silence.asked(started);
    this.budget.deposit();
    // The usual call, short of an outage or an overload: straight to its one attempt (CallInFlight).
    if (this.breaker.state === CircuitState.Closed && deadline?.passed !== true && this.bulkhead.tryEnter()) {
      const call = new CallInFlight(this.site, method, path, request, body, traceHeaders, schema, deadline, started);
      this.send(new AnswerCollector(this.judge, method, path, deadline, call, this.window), method, path, body, traceHeaders);
      return call.promise as Promise<z.output<S>>;
    }
    return this.throughPolicies(method, path, request, body, schema, deadline, traceHeaders, started);
  }

  /** A call that must wait for a slot, meets a breaker that is not closed, or comes too late: every policy in turn. */
  private async throughPolicies<S extends z.ZodType>(
    method: 'GET' | 'POST',
    path: string,
    request: unknown,
    body: string | undefined,
    schema: S,
    deadline: Deadline | undefined,
    traceHeaders: TraceHeaders,
    started: number,
  ): Promise<z.output<S>> {
    let outcome: UpstreamOutcome = 'ok';
    let sent = true;
    try {
      if (deadline?.passed) throw this.judge.cutOff(`${method} ${path} not attempted: the request deadline had passed`, true);
      // bulkhead → retry → breaker, nested by hand: cockatiel's wrap() adds a closure, a context
      // copy and a promise per policy per call, for a context (an abort signal) nothing here reads.
      // A free slot is taken without a promise (bulkhead.ts); only a call that must wait gets one.
      if (!this.bulkhead.tryEnter()) await this.bulkhead.enter();
      let payload: unknown;
      try {
        payload = await this.attemptsOf(method, path, body, traceHeaders, deadline);
      } finally {
        this.bulkhead.leave();
      }
      const value = contracted(this.upstream, schema, payload, method, path);
      outcome = this.outcomeOf(request, value);
      return value as z.output<S>;
    } catch (error) {
      const failure = this.judge.failureOf(error, method, path, deadline);
      outcome = failure.outcome;
      sent = !neverSent(failure);
      throw failure;
    } finally {
      this.ended(outcome, started, sent);
    }
  }

  /**
   * A call is over with `outcome`, `started` at performance.now(): any answer, even an error
   * status or a broken body, shows the upstream is answering. A call none of whose requests was
   * `sent` is observed without a duration: it measured Floorplan's refusal, not the upstream.
   */
  private ended(outcome: UpstreamOutcome, started: number, sent: boolean): void {
    const now = performance.now();
    if (outcome === 'ok' || outcome === 'http_error' || outcome === 'malformed') this.silence.answered(now);
    this.observe?.(this.upstream, outcome, sent ? (now - started) / 1000 : undefined);
  }

  /**
   * The attempts of a call that went through {@link throughPolicies} (a call on the usual path
   * does the same in {@link CallInFlight}): the first attempt through the breaker, and only when
   * it fails the retry policy, which replays that failure as its own first attempt: it judges
   * it, backs off and makes the next ones exactly as if it had made the first. Most calls succeed the first time, and cockatiel's
   * retry costs four promises per call whether it retries or not (twelve per panel).
   *
   * The breaker is passed the same way. While it is closed (every call but during an outage), the
   * first attempt goes straight out, not through `breaker.execute`: two async layers per call,
   * six promises per panel (bulkhead.ts). A success counts in the breaker's window as cockatiel
   * counts it (the attempt reports it, {@link AnswerCollector}); a failure is replayed through
   * `breaker.execute`, which judges it exactly as if it had made the attempt, and may open the
   * circuit. Open, cockatiel makes the attempt itself, as a trial once it is due one; half-open,
   * with a trial in flight, the call is refused at once ({@link throughBreaker}). A failure that
   * comes back after the circuit left the closed state is not replayed: cockatiel would refuse the
   * replay as a call to an open circuit, and the caller must get the upstream's own error. That
   * failure is left out of a window which is reset when the circuit closes again.
   */
  private attemptsOf(method: 'GET' | 'POST', path: string, body: string | undefined, traceHeaders: TraceHeaders, deadline: Deadline | undefined): Promise<unknown> {
    if (this.breaker.state !== CircuitState.Closed) {
      const first = this.throughBreaker(method, path, body, traceHeaders, deadline);
      return this.retrying ? first.catch((failure: unknown) => this.retry(failure, method, path, body, traceHeaders, deadline)) : first;
    }
    return this.attempt(method, path, body, traceHeaders, deadline, this.window, (failure) => this.replayed(failure, method, path, body, traceHeaders, deadline));
  }

  /** The failure of an attempt made past the closed breaker: judged by the breaker as if it had made it, then retried (see {@link attemptsOf}). */
  private replayed(failure: UpstreamError, method: 'GET' | 'POST', path: string, body: string | undefined, traceHeaders: TraceHeaders, deadline: Deadline | undefined): Promise<unknown> {
    const judged = this.breaker.state === CircuitState.Closed ? this.breaker.execute(() => Promise.reject(failure)) : Promise.reject(failure);
    return this.retrying ? judged.catch((judgedFailure: unknown) => this.retry(judgedFailure, method, path, body, traceHeaders, deadline)) : judged;
  }

  /**
   * The retry policy, given the first attempt's `failure` to judge as its own (see {@link attemptsOf}).
   * A retry comes after an attempt that was sent (only a 5xx or a network error is retried), so
   * what becomes of a retry never says the call was not sent. No retry follows a failure that
   * left the circuit open ({@link shouldRetry}); one the breaker still refuses — other calls
   * opened the circuit during its backoff — ends the call with the failure before it
   * ({@link RetryRefused}), not `circuit_open`; a retry whose deadline passed before it was
   * written still ends it as `deadline`, but as a call that was sent.
   *
   * Every retry whose request was written is told to {@link RetryObserver} (the call itself is
   * counted once, however many it made); a refused one, or one cut off before its write, never
   * reached the upstream and is not, and gives its retry back to the budget
   * ({@link RetryBudget.refund}).
   */
  private retry(failure: unknown, method: 'GET' | 'POST', path: string, body: string | undefined, traceHeaders: TraceHeaders, deadline: Deadline | undefined): Promise<unknown> {
    let last = failure;
    return this.retries.execute(({ attempt }) =>
      attempt === 0
        ? Promise.reject(failure)
        : this.throughBreaker(method, path, body, traceHeaders, deadline).then(
            (payload) => {
              this.observeRetry?.(this.upstream);
              return payload;
            },
            (error: unknown) => {
              if (error instanceof BrokenCircuitError || error instanceof IsolatedCircuitError) {
                this.budget.refund();
                throw new RetryRefused(last);
              }
              const unsent = error instanceof UpstreamError && UNSENT.delete(error);
              if (unsent) this.budget.refund();
              else this.observeRetry?.(this.upstream);
              last = error;
              throw error;
            },
          ),
    );
  }

  /**
   * An attempt that the breaker makes itself (`breaker.execute`), or refuses. The circuit is
   * half-open from the moment its one trial starts (cockatiel's default half-open sampling) until
   * the trial's verdict, and any other call meanwhile is refused at once, as by an open circuit:
   * cockatiel would hold it until that verdict, which comes at the trial's own deadline or
   * timeout, long past this call's deadline when the upstream hangs.
   */
  private throughBreaker(method: 'GET' | 'POST', path: string, body: string | undefined, traceHeaders: TraceHeaders, deadline: Deadline | undefined): Promise<unknown> {
    if (this.breaker.state === CircuitState.HalfOpen) return Promise.reject(new BrokenCircuitError());
    return this.breaker.execute(() => this.breakerAttempt(method, path, body, traceHeaders, deadline));
  }

  /**
   * An attempt that the breaker makes itself ({@link throughBreaker}). Made while the circuit is
   * half-open, it is the trial (cockatiel lets one through), and its `deadline` failure is marked
   * so that the breaker takes it for a failure ({@link UNANSWERED_TRIALS}).
   */
  private breakerAttempt(method: 'GET' | 'POST', path: string, body: string | undefined, traceHeaders: TraceHeaders, deadline: Deadline | undefined): Promise<unknown> {
    const attempt = this.attempt(method, path, body, traceHeaders, deadline);
    if (this.breaker.state !== CircuitState.HalfOpen) return attempt;
    return attempt.catch((failure: unknown) => {
      if (failure instanceof UpstreamError && failure.outcome === 'deadline') UNANSWERED_TRIALS.add(failure);
      throw failure;
    });
  }

  /**
   * One attempt: sends the request and reads the whole answer, within `timeoutMs` of sending it
   * and the deadline, whichever ends first. Its payload is the answer parsed as JSON whose
   * numbers are exact integers (exact-json.ts); anything else is an {@link UpstreamError}. Given
   * `successWindow`, a complete answer counts there as a success for the breaker (an attempt made
   * past the closed breaker, {@link attemptsOf}). Given `onFailure`, a failure goes on to it and
   * the attempt settles as what it returns: no `.catch` promise on the way of every call that succeeds.
   */
  private attempt(
    method: 'GET' | 'POST',
    path: string,
    body: string | undefined,
    traceHeaders: TraceHeaders,
    deadline: Deadline | undefined,
    successWindow?: SamplingBreaker,
    onFailure?: (failure: UpstreamError) => Promise<unknown>,
  ): Promise<unknown> {
    // A wait in the bulkhead's queue or a retry's backoff may have outlasted the deadline.
    if (deadline?.passed) {
      // The wait was for this upstream: a bulkhead full of its calls, or a backoff after its failure.
      deadline.cutOff(this.upstream);
      const failure = this.judge.failureOf(new AttemptAbandoned('deadline', 'the request deadline passed before it was sent', true), method, path, deadline);
      return onFailure === undefined ? Promise.reject(failure) : onFailure(failure);
    }
    return new Promise<unknown>((resolve, reject) => {
      const sink: AttemptSink =
        onFailure === undefined
          ? { answered: resolve, failed: reject }
          : {
              answered: resolve,
              failed: (failure) => {
                try {
                  resolve(onFailure(failure));
                } catch (error) {
                  reject(error);
                }
              },
            };
      this.send(new AnswerCollector(this.judge, method, path, deadline, sink, successWindow), method, path, body, traceHeaders);
    });
  }

  /** Hands `collector`'s request to the pool; the answer, or the failure, goes to the collector. */
  private send(collector: AnswerCollector, method: 'GET' | 'POST', path: string, body: string | undefined, traceHeaders: TraceHeaders): void {
    const headers = body === undefined ? ACCEPT_JSON : JSON_HEADERS;
    try {
      this.pool.dispatch({ origin: this.origin, method, path: this.basePath + path, headers: traceHeaders === undefined ? headers : { ...headers, ...traceHeaders }, body }, collector);
    } catch (error) {
      // A closed pool throws rather than reporting through the handler.
      collector.onResponseError(undefined as unknown as Dispatcher.DispatchController, error as Error);
    }
  }
}
