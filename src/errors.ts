/**
 * The one error catalogue.
 *
 * Internal errors carry a stable `code` (`FLOORPLAN_ERR_<AREA>_<PROBLEM>`) that logs, metrics
 * and operators can key on; the message states the contract, then what was received.
 * Client-facing GraphQL errors carry `extensions.code` from {@link ClientErrorCode}.
 * `test/errors.test.ts` checks every code here is documented in docs/errors.md.
 */

/** Codes a mobile client may see in `errors[].extensions.code`. */
export const ClientErrorCode = {
  /** The bearer token is missing, malformed, forged, expired or for another audience. */
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  /** An argument is invalid: unknown scene, a SKU not in the caller's cart. */
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  /** The request is not valid GraphQL over HTTP (bad JSON, too large, wrong method). */
  BAD_REQUEST: 'BAD_REQUEST',
  /** The caller sent more requests than its per-user rate allows: HTTP 429, retry after Retry-After. */
  RATE_LIMITED: 'RATE_LIMITED',
  /** The query is too deep, too costly, has too many aliases or tokens: rewrite it. */
  QUERY_TOO_COMPLEX: 'QUERY_TOO_COMPLEX',
  /**
   * Floorplan is too busy to answer this request within its deadline and refused it at once:
   * HTTP 503 with Retry-After. Keep showing the last panel and retry after the delay.
   */
  OVERLOADED: 'OVERLOADED',
  /** A dependency the whole request needs is down (e.g. the identity provider's keys): HTTP 503, retry later. */
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  /** Anything unexpected; the detail is logged, never sent. */
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

/** Stable internal error codes, one per area and problem. */
export const ErrorCode = {
  /** Service config (config/*.yaml or env) failed validation at start. */
  CONFIG_INVALID: 'FLOORPLAN_ERR_CONFIG_INVALID',
  /** The flags file (config/flags.json, Unleash's export format) is missing or invalid. */
  FLAGS_INVALID: 'FLOORPLAN_ERR_FLAGS_INVALID',
  /** A floors/*.yaml file failed validation (syntax, types, unknown builder or template variable). */
  LAYOUT_INVALID: 'FLOORPLAN_ERR_LAYOUT_INVALID',
  /** A panel was asked for a scene no floors file defines. */
  LAYOUT_UNKNOWN_SCENE: 'FLOORPLAN_ERR_LAYOUT_UNKNOWN_SCENE',
  /** The builder registry was given a malformed builder. */
  BUILDER_MALFORMED: 'FLOORPLAN_ERR_BUILDER_MALFORMED',
  /** Two builders registered under one name. */
  BUILDER_DUPLICATE: 'FLOORPLAN_ERR_BUILDER_DUPLICATE',
  /** A builder threw something that is not an upstream failure: a bug, logged once per floor. */
  BUILDER_FAILED: 'FLOORPLAN_ERR_BUILDER_FAILED',
  /** An upstream did not answer within its timeout. */
  UPSTREAM_TIMEOUT: 'FLOORPLAN_ERR_UPSTREAM_TIMEOUT',
  /** An upstream call was cut off (or not started) because the request's own deadline passed: not the upstream's failure. */
  UPSTREAM_DEADLINE: 'FLOORPLAN_ERR_UPSTREAM_DEADLINE',
  /** An upstream answered with a non-2xx status. */
  UPSTREAM_HTTP_STATUS: 'FLOORPLAN_ERR_UPSTREAM_HTTP_STATUS',
  /** An upstream answered 2xx with a body that breaks its contract. */
  UPSTREAM_MALFORMED: 'FLOORPLAN_ERR_UPSTREAM_MALFORMED',
  /** The connection to an upstream failed (refused, reset, DNS). */
  UPSTREAM_NETWORK: 'FLOORPLAN_ERR_UPSTREAM_NETWORK',
  /** An upstream call was not attempted: its circuit breaker is open after repeated failures. */
  UPSTREAM_CIRCUIT_OPEN: 'FLOORPLAN_ERR_UPSTREAM_CIRCUIT_OPEN',
  /** An upstream call was not attempted: too many calls to it were already in flight (bulkhead). */
  UPSTREAM_REJECTED: 'FLOORPLAN_ERR_UPSTREAM_REJECTED',
  /** An upstream call was not attempted: an operator turned its kill switch on. */
  UPSTREAM_KILLED: 'FLOORPLAN_ERR_UPSTREAM_KILLED',
  /** An upstream's answer kept its contract but disagrees with the others (a quote that does not add up, another currency). */
  UPSTREAM_INCONSISTENT: 'FLOORPLAN_ERR_UPSTREAM_INCONSISTENT',
  /** `selectedSkuIds` named a SKU that is not in the caller's own cart. */
  SELECTION_NOT_IN_CART: 'FLOORPLAN_ERR_SELECTION_NOT_IN_CART',
  /** Money arithmetic would leave exact integer range or mix currencies. */
  MONEY_INVALID: 'FLOORPLAN_ERR_MONEY_INVALID',
  /** A bearer token failed verification. */
  AUTH_INVALID_TOKEN: 'FLOORPLAN_ERR_AUTH_INVALID_TOKEN',
  /** The token could not be checked because the signing keys (JWKS) could not be fetched or read. */
  AUTH_KEYS_UNAVAILABLE: 'FLOORPLAN_ERR_AUTH_KEYS_UNAVAILABLE',
  /** No bearer token was sent. */
  AUTH_MISSING_TOKEN: 'FLOORPLAN_ERR_AUTH_MISSING_TOKEN',
  /** The HTTP request body exceeded the configured limit. */
  HTTP_BODY_TOO_LARGE: 'FLOORPLAN_ERR_HTTP_BODY_TOO_LARGE',
  /** The HTTP request body was not valid JSON. */
  HTTP_BAD_JSON: 'FLOORPLAN_ERR_HTTP_BAD_JSON',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Base of every error Floorplan raises on purpose. */
export class FloorplanError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FloorplanError';
    this.code = code;
  }
}

/** Thrown by an exhaustive switch when a value slipped past the type checker. */
export class UnreachableCaseError extends Error {
  constructor(value: never) {
    super(`Unreachable case: ${JSON.stringify(value)}`);
    this.name = 'UnreachableCaseError';
  }
}
