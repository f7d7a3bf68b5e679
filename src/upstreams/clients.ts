/** Typed clients for every registered upstream, derived from its definition. They know nothing of floors. */
import type { CacheOutcome } from '../cache/tiered-cache.ts';
import type { Deadline } from './deadline.ts';
import { JsonHttp, type JsonHttpOptions } from './json-http.ts';
import type { AnyUpstreamDefinition } from './definition.ts';
import { DEFAULT_RESILIENCE, type ResilienceOptions } from './resilience.ts';
import { compileAnswerChecks } from './wire-check.ts';
import { UPSTREAM_DEFINITIONS, type UpstreamAnswer, type UpstreamName, type UpstreamRequest } from './registry.ts';

export interface UpstreamEndpoint extends Partial<ResilienceOptions> {
  readonly baseUrl: string;
  readonly timeoutMs: number;
  /** Opening one connection; default 1000 ms (definition.ts, STANDARD_DEFAULTS). */
  readonly connectTimeoutMs?: number;
  readonly connections: number;
}

/**
 * What a call tells its caller besides its answer, written by the layer that knows (a traced
 * request passes one; the promotion cache fills in `cache`).
 */
export interface CallNotes {
  /** For a cached upstream: where the answer came from. */
  cache?: CacheOutcome;
  /** For a traced request: the call's span as W3C trace context headers, sent with it. */
  traceHeaders?: Readonly<Record<string, string>>;
}

/** One upstream's call: its wire request in, its contract-checked wire answer out. */
export type UpstreamCall<N extends UpstreamName> = (request: UpstreamRequest<N>, deadline?: Deadline, notes?: CallNotes) => Promise<UpstreamAnswer<N>>;

/** Every upstream behind one seam, by name: what loaders call, what tests replace with plain-object fakes. */
export type UpstreamClients = { readonly [N in UpstreamName]: UpstreamCall<N> } & {
  close(): Promise<void>;
};

/** What the clients tell of their calls, each optional (the same names as {@link JsonHttpOptions}'). */
export type UpstreamObservers = Pick<JsonHttpOptions, 'observe' | 'observeBreaker' | 'observeRetry' | 'observeConnectFailure'>;

/**
 * HTTP clients for the configured endpoints, one keep-alive pool per upstream. `observe` is told
 * of every call, `observeRetry` of every retry a call sent, `observeBreaker` of breaker changes,
 * `observeConnectFailure` of every connection that failed to open.
 */
export function createHttpUpstreamClients(endpoints: Readonly<Record<UpstreamName, UpstreamEndpoint>>, observers: UpstreamObservers = {}): UpstreamClients {
  // Compiled now, so a contract the check cannot express fails at start, naming it, not on a call.
  compileAnswerChecks(UPSTREAM_DEFINITIONS);
  const pools: JsonHttp[] = [];
  const calls: Record<string, UpstreamCall<UpstreamName>> = {};
  for (const definition of UPSTREAM_DEFINITIONS) {
    const { baseUrl, timeoutMs, connectTimeoutMs, connections, ...resilience } = endpoints[definition.name];
    const http = new JsonHttp({
      upstream: definition.name,
      baseUrl,
      timeoutMs,
      connectTimeoutMs,
      connections,
      resilience: { ...DEFAULT_RESILIENCE, ...resilience },
      // Judged on the wire types the definition declares, which the contract has just checked.
      answersAll: (definition as AnyUpstreamDefinition).answersAll,
      ...observers,
    });
    pools.push(http);
    const { call, response } = definition;
    calls[definition.name] =
      call.method === 'GET'
        ? (request, deadline, notes) => http.get(call.path(request as never), response, deadline, notes?.traceHeaders, request)
        : (request, deadline, notes) => http.postRead(call.path, request, response, deadline, notes?.traceHeaders);
  }
  return {
    ...(calls as { [N in UpstreamName]: UpstreamCall<N> }),
    async close() {
      await Promise.all(pools.map((pool) => pool.close()));
    },
  };
}
