/**
 * What one upstream service is, in one place: its wire contract, the call, how its answer
 * becomes the domain type panels read, how one request's questions to it are batched into one
 * call, the cross-checks its answers must pass, and its endpoint and policy defaults. Config,
 * clients, loaders, metrics labels, kill switches, `failedUpstreams` and the demo server's
 * routes all derive from the list of these in `registry.ts`; adding an upstream is adding one.
 */
import type { z } from 'zod';
import type { Money } from '../money/money.ts';
import { DEFAULT_RESILIENCE, type ResilienceOptions } from './resilience.ts';

/**
 * Endpoint and policy defaults of one upstream: what `upstreams.<name>.*` is when the service
 * config does not say (see README, "Configuration", for what each means).
 */
export interface UpstreamDefaults extends ResilienceOptions {
  /** One attempt's timeout, socket write to last byte. */
  readonly timeoutMs: number;
  /**
   * How long opening one connection to it may take (name lookup and TCP handshake) before it
   * fails: a host that drops the SYN (blackholed, dead, or its accept queue full) is otherwise
   * waited on for undici's 10 s. A failure counts against the upstream's breaker.
   */
  readonly connectTimeoutMs: number;
  /** Keep-alive connections in the pool. */
  readonly connections: number;
}

/**
 * The defaults every shipped upstream starts from; a definition overrides what it must.
 *
 * `connectTimeoutMs` 1000: a connect inside a datacenter takes well under a millisecond, across
 * regions tens; one not done after a second has had its SYN, or the answer, go unanswered
 * (Linux sends the SYN again only after 1 s, then 3 s and 7 s). No request's budget (250 ms by
 * default) waits that long, so a longer timeout only delays the breaker's verdict on a host that
 * cannot be reached; the shortest one tolerating a lost SYN would be 2 s or so, for connections
 * that no request is then waiting for anyway. Redis and the revision store use 1 s too.
 */
export const STANDARD_DEFAULTS: UpstreamDefaults = { timeoutMs: 300, connectTimeoutMs: 1000, connections: 64, ...DEFAULT_RESILIENCE };

/** The selected cart lines one panel is about, as an upstream is asked about them. */
export interface UpstreamSelection {
  /** Sorted by SKU id. */
  readonly lines: ReadonlyArray<{ readonly skuId: string; readonly quantity: number }>;
  /** The cart's currency: every amount an upstream sends for this selection must be in it. */
  readonly currency: string;
}

/**
 * Why an answer that kept its wire contract was still refused: `QUOTE_INCONSISTENT` (a quote
 * that does not add up, or does not price exactly the selected lines), `CURRENCY_MISMATCH`
 * (another currency than the cart's).
 */
export type AnswerViolation = 'QUOTE_INCONSISTENT' | 'CURRENCY_MISMATCH';

/** An answer that broke a cross-check, with the values that show it (logged, never sent to clients). */
export interface Violation {
  readonly reason: AnswerViolation;
  readonly message: string;
  readonly values: Readonly<Record<string, unknown>>;
}

/** How a request's questions become calls. */
export type UpstreamKey =
  /** One call per request about the viewer (the cart: the selection is resolved against it). */
  | 'viewer'
  /** About the panel's selection; the selections one request asks about in the same tick go in one call. */
  | 'selection';

/**
 * One upstream. `Request` and `Wire` are its wire contract (zod-checked: a malformed answer is
 * an upstream failure, never a crash); `Result` is the domain type panels read, per selection.
 */
export interface UpstreamDefinition<Name extends string, Request, Wire, Result> {
  /** Used in config (`upstreams.<name>`, `UPSTREAM_<NAME>_URL`), metrics labels, kill switches (`floorplan.kill.<name>`), the GraphQL `Upstream` enum (upper-cased) and the demo server's path prefix. */
  readonly name: Name;
  /** One line for operators. */
  readonly description: string;
  /** The call: a GET whose path carries the request, or a POST of the request as JSON. */
  readonly call: { readonly method: 'GET'; path(request: Request): string } | { readonly method: 'POST'; readonly path: string };
  /** The request body's contract (POST), which the demo service checks too. */
  readonly request?: z.ZodType<Request>;
  /** The answer's contract. */
  readonly response: z.ZodType<Wire>;
  readonly keyedBy: UpstreamKey;
  /** The one call's request for the viewer and the selections asked about (empty when keyed by viewer). */
  toRequest(userId: string, selections: readonly UpstreamSelection[]): Request;
  /**
   * The domain result for each selection, in order (one, when keyed by viewer), or a
   * {@link MissingAnswer} for a selection the answer does not cover: exactly the ones
   * {@link answersAll} finds unanswered, so that the call is counted as the loaders judge it.
   */
  toResults(answer: Wire, selections: readonly UpstreamSelection[]): ReadonlyArray<Result | MissingAnswer>;
  /**
   * Whether `answer` answers every item `request` asked about (a quote for each quoteId, an
   * order for each orderId); omitted when every answer that keeps the wire contract does. One
   * that leaves an item out breaks the call's contract: the client counts the call `malformed`,
   * not `ok`, yet still returns the answer, so the loaders serve the selections it did answer
   * and fail the others ({@link MissingAnswer}). Asked of every answer, so it must not allocate.
   */
  answersAll?(request: Request, answer: Wire): boolean;
  /** Floorplan's own rules the answer must keep (one currency, amounts that add up); undefined when it passes. */
  check?(result: Result, selection: UpstreamSelection | undefined): Violation | undefined;
  readonly defaults: UpstreamDefaults;
}

/**
 * What an answer lacks for one selection; the loaders fail that selection as a malformed answer
 * (the client has counted the call as one already, {@link UpstreamDefinition.answersAll}).
 */
export class MissingAnswer {
  constructor(readonly detail: string) {}
}

/** Any definition, for code that handles every upstream alike. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyUpstreamDefinition = UpstreamDefinition<string, any, any, any>;

/** Declares an upstream (an identity function that fixes its types). */
export function defineUpstream<const Name extends string, Request, Wire, Result>(
  definition: UpstreamDefinition<Name, Request, Wire, Result>,
): UpstreamDefinition<Name, Request, Wire, Result> {
  return definition;
}

/** A CURRENCY_MISMATCH when any of `amounts` is not in `currency`, else undefined. */
export function currencyMismatch(upstream: string, amounts: ReadonlyArray<readonly [string, Money]>, currency: string): Violation | undefined {
  const foreign = amounts.filter(([, m]) => m.currency !== currency);
  if (foreign.length === 0) return undefined;
  return {
    reason: 'CURRENCY_MISMATCH',
    message: `${upstream} is not all in the cart's currency ${currency}`,
    values: { cartCurrency: currency, foreign: foreign.map(([field, m]) => `${field}: ${m.currency}`) },
  };
}
