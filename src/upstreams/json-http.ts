/**
 * A JSON-over-HTTP client for one upstream: an undici keep-alive pool behind cockatiel
 * policies — bulkhead → retry (idempotent reads only, within a retry budget) → circuit
 * breaker → per-attempt timeout — plus the caller's deadline signal, and a zod contract
 * every response must pass. Whatever goes wrong comes out as an {@link UpstreamError};
 * nothing upstream can crash the caller or hold a request past its deadline.
 */
import {
  BrokenCircuitError,
  BulkheadRejectedError,
  bulkhead,
  circuitBreaker,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  handleWhen,
  IsolatedCircuitError,
  retry,
  TaskCancelledError,
  timeout,
  TimeoutStrategy,
  wrap,
  type IPolicy,
} from 'cockatiel';
import { Pool } from 'undici';
import type { z } from 'zod';
import type { UpstreamName } from './contracts.ts';
import { RetryBudget } from './retry-budget.ts';
import { UpstreamError, type UpstreamOutcome } from './upstream-error.ts';

/** Told about every call (one per logical call, after retries), e.g. to count it in metrics. */
export type UpstreamObserver = (upstream: UpstreamName, outcome: UpstreamOutcome, durationSeconds: number) => void;

/** Told when an upstream's circuit breaker changes state. */
export type BreakerObserver = (upstream: UpstreamName, state: 'closed' | 'open' | 'half-open') => void;

export interface ResilienceOptions {
  /** Extra attempts after a failed idempotent read (network error, 502/503/504); 0 disables retry. */
  readonly retries: number;
  /** Retries may add at most this percentage of calls on top of first attempts (a retry budget). */
  readonly retryBudgetPercent: number;
  /** Consecutive failures that open the circuit: calls then fail at once without touching the upstream. */
  readonly breakerConsecutiveFailures: number;
  /** How long an open circuit waits before letting one trial call through. */
  readonly breakerHalfOpenAfterMs: number;
  /** Calls in flight at once; more wait in a queue of maxQueued, beyond that they fail at once. */
  readonly maxConcurrent: number;
  readonly maxQueued: number;
}

export interface JsonHttpOptions {
  readonly upstream: UpstreamName;
  /** e.g. http://127.0.0.1:4001/cart; paths are appended to its path. */
  readonly baseUrl: string;
  /** One attempt, connect to last body byte. */
  readonly timeoutMs: number;
  /** Keep-alive connections in the pool. */
  readonly connections: number;
  readonly resilience?: ResilienceOptions;
  readonly observe?: UpstreamObserver;
  readonly observeBreaker?: BreakerObserver;
}

const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json' } as const;
const ACCEPT_JSON = { accept: 'application/json' } as const;
const RETRYABLE_STATUS = new Set([502, 503, 504]);
/** A bigger answer than any cart, promotion or quote could be is a broken upstream, not data. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;

class BodyTooLarge extends Error {}

/**
 * Reads a response body as UTF-8. Iterating the chunks costs about a third of undici's
 * `body.text()` per call (measured: ~55 vs ~150 µs), which matters three times per panel.
 */
async function readText(body: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new BodyTooLarge(`body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8');
}

export const DEFAULT_RESILIENCE: ResilienceOptions = {
  retries: 1,
  retryBudgetPercent: 10,
  breakerConsecutiveFailures: 5,
  breakerHalfOpenAfterMs: 5000,
  maxConcurrent: 256,
  maxQueued: 1024,
};

export class JsonHttp {
  readonly upstream: UpstreamName;
  private readonly pool: Pool;
  private readonly basePath: string;
  private readonly policy: IPolicy<{ signal: AbortSignal }>;
  private readonly budget: RetryBudget;
  private readonly observe: UpstreamObserver | undefined;

  constructor(options: JsonHttpOptions) {
    const url = new URL(options.baseUrl);
    const resilience = options.resilience ?? DEFAULT_RESILIENCE;
    this.upstream = options.upstream;
    this.basePath = url.pathname.replace(/\/$/, '');
    this.pool = new Pool(url.origin, { connections: options.connections, keepAliveTimeout: 30_000 });
    this.observe = options.observe;
    this.budget = new RetryBudget(resilience.retryBudgetPercent / 100);

    const breaker = circuitBreaker(
      // A 4xx or a contract breach is the upstream answering: it is up. Only outages trip the breaker.
      handleWhen(
        (error) =>
          error instanceof TaskCancelledError ||
          (error instanceof UpstreamError && (error.outcome === 'timeout' || error.outcome === 'network_error' || (error.status ?? 0) >= 500)),
      ),
      { halfOpenAfter: resilience.breakerHalfOpenAfterMs, breaker: new ConsecutiveBreaker(resilience.breakerConsecutiveFailures) },
    );
    breaker.onStateChange((state) => {
      const name = state === CircuitState.Closed ? 'closed' : state === CircuitState.HalfOpen ? 'half-open' : 'open';
      options.observeBreaker?.(this.upstream, name);
    });
    const retries = retry(
      handleWhen((error) => this.shouldRetry(error)),
      { maxAttempts: resilience.retries, backoff: new ExponentialBackoff({ initialDelay: 5, maxDelay: 40 }) },
    );
    // Cockatiel asks the predicate about the last attempt's error too, so the budget is only
    // checked there and spent when a retry actually happens.
    retries.onRetry(() => this.budget.spend());
    this.policy = wrap(
      bulkhead(resilience.maxConcurrent, resilience.maxQueued),
      retries,
      breaker,
      // abortOnReturn off: aborting a finished call's controller builds a DOMException with a
      // stack trace (~40 µs) for nothing — the response is already read.
      timeout(options.timeoutMs, { strategy: TimeoutStrategy.Aggressive, abortOnReturn: false }),
    );
  }

  get<S extends z.ZodType>(path: string, schema: S, signal?: AbortSignal): Promise<z.output<S>> {
    return this.call('GET', path, undefined, schema, signal);
  }

  /** A POST that only reads (a query or a quote): safe to retry. */
  postRead<S extends z.ZodType>(path: string, body: unknown, schema: S, signal?: AbortSignal): Promise<z.output<S>> {
    return this.call('POST', path, JSON.stringify(body), schema, signal);
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  private shouldRetry(error: Error): boolean {
    if (!(error instanceof UpstreamError)) return false;
    const transient = error.outcome === 'network_error' || (error.outcome === 'http_error' && RETRYABLE_STATUS.has(error.status ?? 0));
    return transient && this.budget.canSpend();
  }

  private async call<S extends z.ZodType>(
    method: 'GET' | 'POST',
    path: string,
    body: string | undefined,
    schema: S,
    deadline: AbortSignal | undefined,
  ): Promise<z.output<S>> {
    const started = performance.now();
    let outcome: UpstreamOutcome = 'ok';
    this.budget.deposit();
    try {
      if (deadline?.aborted) throw new UpstreamError(this.upstream, 'timeout', `${method} ${path} not attempted: the request deadline had passed`);
      // cockatiel derives each attempt's signal from `deadline`: one signal aborts on either.
      const payload = await this.policy.execute(({ signal }) => this.fetchJson(method, path, body, signal), deadline);
      const parsed = schema.safeParse(payload);
      if (!parsed.success) {
        const first = parsed.error.issues[0];
        const where = first === undefined ? '' : ` at ${first.path.join('.') || '(root)'}: ${first.message}`;
        throw new UpstreamError(this.upstream, 'malformed', `${method} ${path} answered a body that breaks its contract${where}`);
      }
      return parsed.data;
    } catch (error) {
      const failure = this.toUpstreamError(error, method, path, deadline);
      outcome = failure.outcome;
      throw failure;
    } finally {
      this.observe?.(this.upstream, outcome, (performance.now() - started) / 1000);
    }
  }

  private async fetchJson(method: string, path: string, body: string | undefined, signal: AbortSignal): Promise<unknown> {
    let response;
    try {
      response = await this.pool.request({
        method,
        path: this.basePath + path,
        headers: body === undefined ? ACCEPT_JSON : JSON_HEADERS,
        body,
        signal,
      });
    } catch (error) {
      throw this.toUpstreamError(error, method, path, signal);
    }
    if (response.statusCode < 200 || response.statusCode >= 300) {
      await response.body.dump();
      throw new UpstreamError(this.upstream, 'http_error', `${method} ${path} answered HTTP ${response.statusCode}`, { status: response.statusCode });
    }
    let text: string;
    try {
      text = await readText(response.body);
    } catch (error) {
      throw this.toUpstreamError(error, method, path, signal);
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new UpstreamError(this.upstream, 'malformed', `${method} ${path} answered a body that is not JSON (${text.length} bytes)`);
    }
  }

  private toUpstreamError(error: unknown, method: string, path: string, signal: AbortSignal | undefined): UpstreamError {
    if (error instanceof UpstreamError) return error;
    if (error instanceof BodyTooLarge) return new UpstreamError(this.upstream, 'malformed', `${method} ${path} answered a ${error.message}`);
    if (error instanceof BrokenCircuitError || error instanceof IsolatedCircuitError) {
      return new UpstreamError(this.upstream, 'circuit_open', `${method} ${path} not attempted: the circuit is open after repeated failures`);
    }
    if (error instanceof BulkheadRejectedError) {
      return new UpstreamError(this.upstream, 'rejected', `${method} ${path} not attempted: too many calls in flight`);
    }
    if (error instanceof TaskCancelledError || (error as { name?: string }).name === 'AbortError' || signal?.aborted) {
      return new UpstreamError(this.upstream, 'timeout', `${method} ${path} timed out`, { cause: error });
    }
    const detail = (error as { code?: string; message?: string }).code ?? (error as Error).message;
    return new UpstreamError(this.upstream, 'network_error', `${method} ${path} failed: ${detail}`, { cause: error });
  }
}
