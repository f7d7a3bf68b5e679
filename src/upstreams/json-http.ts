/**
 * A JSON-over-HTTP client for one upstream: an undici keep-alive pool, a whole-call
 * timeout (cockatiel), and a zod contract every response must pass. Whatever goes wrong
 * comes out as an {@link UpstreamError}; nothing upstream can crash the caller.
 */
import { TaskCancelledError, timeout, TimeoutStrategy, type TimeoutPolicy } from 'cockatiel';
import { Pool } from 'undici';
import type { z } from 'zod';
import type { UpstreamName } from './contracts.ts';
import { UpstreamError, type UpstreamOutcome } from './upstream-error.ts';

/** Told about every call, e.g. to count it in metrics. */
export type UpstreamObserver = (upstream: UpstreamName, outcome: UpstreamOutcome, durationSeconds: number) => void;

export interface JsonHttpOptions {
  readonly upstream: UpstreamName;
  /** e.g. http://127.0.0.1:4001/cart; paths are appended to its path. */
  readonly baseUrl: string;
  /** Whole call, connect to last body byte. */
  readonly timeoutMs: number;
  /** Keep-alive connections in the pool. */
  readonly connections: number;
  readonly observe?: UpstreamObserver;
}

const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json' } as const;
const ACCEPT_JSON = { accept: 'application/json' } as const;

export class JsonHttp {
  readonly upstream: UpstreamName;
  private readonly pool: Pool;
  private readonly basePath: string;
  private readonly timeout: TimeoutPolicy;
  private readonly observe: UpstreamObserver | undefined;

  constructor(options: JsonHttpOptions) {
    const url = new URL(options.baseUrl);
    this.upstream = options.upstream;
    this.basePath = url.pathname.replace(/\/$/, '');
    this.pool = new Pool(url.origin, { connections: options.connections, keepAliveTimeout: 30_000 });
    this.timeout = timeout(options.timeoutMs, TimeoutStrategy.Aggressive);
    this.observe = options.observe;
  }

  get<S extends z.ZodType>(path: string, schema: S, signal?: AbortSignal): Promise<z.output<S>> {
    return this.call('GET', path, undefined, schema, signal);
  }

  post<S extends z.ZodType>(path: string, body: unknown, schema: S, signal?: AbortSignal): Promise<z.output<S>> {
    return this.call('POST', path, JSON.stringify(body), schema, signal);
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  private async call<S extends z.ZodType>(
    method: 'GET' | 'POST',
    path: string,
    body: string | undefined,
    schema: S,
    signal: AbortSignal | undefined,
  ): Promise<z.output<S>> {
    const started = performance.now();
    let outcome: UpstreamOutcome = 'ok';
    try {
      const payload = await this.timeout.execute(({ signal: timeoutSignal }) =>
        this.fetchJson(method, path, body, signal === undefined ? timeoutSignal : AbortSignal.any([signal, timeoutSignal])),
      );
      const parsed = schema.safeParse(payload);
      if (!parsed.success) {
        const first = parsed.error.issues[0];
        const where = first === undefined ? '' : ` at ${first.path.join('.') || '(root)'}: ${first.message}`;
        throw new UpstreamError(this.upstream, 'malformed', `${method} ${path} answered a body that breaks its contract${where}`);
      }
      return parsed.data;
    } catch (error) {
      const failure = this.toUpstreamError(error, method, path);
      outcome = failure.outcome;
      throw failure;
    } finally {
      this.observe?.(this.upstream, outcome, (performance.now() - started) / 1000);
    }
  }

  private async fetchJson(method: string, path: string, body: string | undefined, signal: AbortSignal): Promise<unknown> {
    const response = await this.pool.request({
      method,
      path: this.basePath + path,
      headers: body === undefined ? ACCEPT_JSON : JSON_HEADERS,
      body,
      signal,
    });
    if (response.statusCode < 200 || response.statusCode >= 300) {
      await response.body.dump();
      throw new UpstreamError(this.upstream, 'http_error', `${method} ${path} answered HTTP ${response.statusCode}`);
    }
    const text = await response.body.text();
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new UpstreamError(this.upstream, 'malformed', `${method} ${path} answered a body that is not JSON (${text.length} bytes)`);
    }
  }

  private toUpstreamError(error: unknown, method: string, path: string): UpstreamError {
    if (error instanceof UpstreamError) return error;
    if (error instanceof TaskCancelledError || (error as { name?: string }).name === 'AbortError') {
      return new UpstreamError(this.upstream, 'timeout', `${method} ${path} timed out`, { cause: error });
    }
    const detail = (error as { code?: string; message?: string }).code ?? (error as Error).message;
    return new UpstreamError(this.upstream, 'network_error', `${method} ${path} failed: ${detail}`, { cause: error });
  }
}
