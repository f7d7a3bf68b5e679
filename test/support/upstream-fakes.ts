/**
 * Fakes for every registered upstream, derived from the registry, so a test that fakes some
 * upstreams by hand need not name the rest: adding an upstream (README, "Adding an upstream")
 * then needs no test edit. The others are answered in-process by their demo service
 * (DEMO_SERVICES, which every registered upstream must have) in the currency the test's cart is
 * in, checked by their contract as the HTTP client would check them, or refused as not used.
 */
import { DEMO_SERVICES, type JsonReply } from '../../src/demo-upstreams/services.ts';
import type { UpstreamCall } from '../../src/upstreams/clients.ts';
import { MissingAnswer, type UpstreamSelection } from '../../src/upstreams/definition.ts';
import { upstreamDefinition, UPSTREAMS, type UpstreamAnswer, type UpstreamName, type UpstreamRequest, type UpstreamResult } from '../../src/upstreams/registry.ts';
import { UpstreamError } from '../../src/upstreams/upstream-error.ts';

/** One call per registered upstream: what `UpstreamClients` is without `close()`. */
export type UpstreamCalls = { [N in UpstreamName]: UpstreamCall<N> };

/**
 * Upstream `name`'s demo answer to `request`, its amounts in `currency` (the demo's own, CNY, by
 * default), contract-checked; a reply other than 200 throws as an http_error.
 */
export function demoAnswer<N extends UpstreamName>(name: N, request: UpstreamRequest<N>, currency?: string): UpstreamAnswer<N> {
  const definition = upstreamDefinition(name);
  // The demo server hands a GET service the path's one parameter (its request, cart's userId)
  // and a POST service its JSON body: a round trip through JSON, as over the wire.
  const serve = DEMO_SERVICES[name] as (request: unknown, currency?: string) => JsonReply;
  const reply = serve(definition.call.method === 'GET' ? request : JSON.parse(JSON.stringify(request)), currency);
  const body: unknown = JSON.parse(reply.body.toString('utf8'));
  if (reply.status !== 200) throw new UpstreamError(name, 'http_error', `demo ${name} answered ${reply.status}: ${JSON.stringify(body)}`, { status: reply.status });
  return definition.response.parse(body) as UpstreamAnswer<N>;
}

/** Upstream `name` answered by its demo service, in-process, its amounts in `currency` (default: the demo's own). */
export function demoCall<N extends UpstreamName>(name: N, currency?: string): UpstreamCall<N> {
  return async (request) => demoAnswer(name, request, currency);
}

/** How {@link demoCalls} answers. */
export interface DemoCallsOptions {
  /**
   * The currency of every amount answered: the test's cart's, so that an upstream the test leaves
   * to its demo service passes its currency cross-check. Default: the demo's own (CNY).
   */
  readonly currency?: string;
  /** Runs first on every call (throw from it to fail that upstream). Default: nothing. */
  readonly beforeCall?: (upstream: UpstreamName) => void;
}

/** Every upstream answered by its demo service: spread it under the calls a test fakes itself. */
export function demoCalls({ currency, beforeCall = () => {} }: DemoCallsOptions = {}): UpstreamCalls {
  return Object.fromEntries(
    UPSTREAMS.map((name) => {
      const call = demoCall(name, currency) as (request: unknown) => Promise<unknown>;
      return [name, async (request: unknown) => (beforeCall(name), call(request))];
    }),
  ) as UpstreamCalls;
}

/** Every upstream refusing with "`name` is not used by this test": spread it under the calls a test uses. */
export function unusedCalls(): UpstreamCalls {
  return Object.fromEntries(UPSTREAMS.map((name) => [name, () => Promise.reject(new Error(`${name} is not used by this test`))])) as unknown as UpstreamCalls;
}

/** What a builder reads of upstream `name` for `selection`, as the demo services answer `userId` in the selection's currency. */
export function demoResult<N extends UpstreamName>(name: N, userId: string, selection: UpstreamSelection): UpstreamResult<N> {
  const definition = upstreamDefinition(name);
  const request = definition.toRequest(userId, definition.keyedBy === 'viewer' ? [] : [selection]) as UpstreamRequest<N>;
  const [result] = definition.toResults(demoAnswer(name, request, selection.currency) as never, [selection]);
  if (result === undefined || result instanceof MissingAnswer) throw new Error(`the demo ${name} service gave no answer for ${userId}: ${result?.detail ?? 'nothing'}`);
  return result as UpstreamResult<N>;
}

/**
 * What `demo.calls()` should equal: `counts` for the upstreams a test names, 0 for every other
 * registered upstream (one added since is never called by a test that does not name it).
 */
export function callCounts(counts: Partial<Record<UpstreamName, number>>): Record<UpstreamName, number> {
  return { ...(Object.fromEntries(UPSTREAMS.map((u) => [u, 0])) as Record<UpstreamName, number>), ...counts };
}
