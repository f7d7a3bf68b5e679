/**
 * The one error catalogue, in the style of fastify's `errors.js`.
 *
 * Internal errors carry a stable `code` (`FLOORPLAN_ERR_<AREA>_<PROBLEM>`) that logs, metrics
 * and operators can key on. {@link ERRORS} gives each code, once, its message template (named
 * `{parameters}`; the message states the contract, then what was received), the client code
 * and the HTTP status a client gets for it. Client-facing GraphQL errors carry
 * `extensions.code` from {@link ClientErrorCode}; {@link CLIENT_ERRORS} gives each its HTTP
 * status and headers. {@link toClientError} is the one function that turns anything thrown
 * into what a client sees: every path that answers an error (Apollo's, the known-operations
 * fast path, the HTTP layer) goes through it, and nothing maps codes again elsewhere.
 *
 * Hand-written rather than `@fastify/error`: that package makes one Error class per code with
 * a positional `%s` message and a status, but Floorplan's entries are its own data — a client
 * code, a status that differs from the client code's own (413 vs 400), the argument at fault,
 * a message the client sees instead of the operator's — and the templates' named parameters
 * are checked by the type checker at every `new FloorplanError(code, params)`.
 *
 * `test/errors.test.ts` checks every code here against docs/errors.md, status included, in
 * both directions.
 */

/** Codes a mobile client may see in `errors[].extensions.code`. */
export const ClientErrorCode = {
  /** The bearer token is missing, malformed, forged, expired or for another audience. */
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  /** An argument or variable is invalid: unknown scene, a SKU not in the caller's cart, a variable of the wrong type. */
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
  /** Apollo's: the query does not parse. */
  GRAPHQL_PARSE_FAILED: 'GRAPHQL_PARSE_FAILED',
  /** Apollo's: the query does not validate against the schema (or is an operation type Floorplan does not serve). */
  GRAPHQL_VALIDATION_FAILED: 'GRAPHQL_VALIDATION_FAILED',
  /** Apollo's: `operationName` names no operation of the document, or several operations came without one. */
  OPERATION_RESOLUTION_FAILURE: 'OPERATION_RESOLUTION_FAILURE',
  /** Apollo's: a hash-only persisted query whose text this server does not have; send the text once. */
  PERSISTED_QUERY_NOT_FOUND: 'PERSISTED_QUERY_NOT_FOUND',
  /** Apollo's: persisted queries are off. Floorplan always serves them, so a client should never see it. */
  PERSISTED_QUERY_NOT_SUPPORTED: 'PERSISTED_QUERY_NOT_SUPPORTED',
} as const;
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

/** What each client code means over HTTP. */
export interface ClientErrorSpec {
  /**
   * The HTTP status when this error fails the whole request. A field error (a resolver refusing
   * its argument, a masked fault in one field) answers 200 whatever its code: the rest of
   * `data` is good. An entry of {@link ERRORS} may override it (413 is a BAD_REQUEST too).
   */
  readonly status: number;
  /** Sent with `WWW-Authenticate: Bearer`. */
  readonly challenge?: true;
  /** Sent with `Retry-After` (whole seconds); `retryAfterMs` also adds it, in ms, to the extensions. */
  readonly retryAfter?: 'header' | 'header-and-extension';
}

/** The client codes, each with its HTTP meaning. Apollo's own codes are shown as Apollo sends them. */
export const CLIENT_ERRORS: { readonly [C in ClientErrorCode]: ClientErrorSpec } = {
  UNAUTHENTICATED: { status: 401, challenge: true },
  BAD_USER_INPUT: { status: 400 },
  BAD_REQUEST: { status: 400 },
  RATE_LIMITED: { status: 429, retryAfter: 'header-and-extension' },
  QUERY_TOO_COMPLEX: { status: 400 },
  OVERLOADED: { status: 503, retryAfter: 'header-and-extension' },
  SERVICE_UNAVAILABLE: { status: 503, retryAfter: 'header' },
  INTERNAL_SERVER_ERROR: { status: 500 },
  GRAPHQL_PARSE_FAILED: { status: 400 },
  GRAPHQL_VALIDATION_FAILED: { status: 400 },
  OPERATION_RESOLUTION_FAILURE: { status: 400 },
  PERSISTED_QUERY_NOT_FOUND: { status: 200 },
  PERSISTED_QUERY_NOT_SUPPORTED: { status: 200 },
};

/** Stable internal error codes, one per area and problem. */
export const ErrorCode = {
  /** Service config (config/*.yaml or env) failed validation at start. */
  CONFIG_INVALID: 'FLOORPLAN_ERR_CONFIG_INVALID',
  /** The flags file (config/flags.json, Unleash's export format) is missing or invalid. */
  FLAGS_INVALID: 'FLOORPLAN_ERR_FLAGS_INVALID',
  /** config/clients.yaml (the app versions in the field and what each understands) failed validation. */
  CLIENTS_INVALID: 'FLOORPLAN_ERR_CLIENTS_INVALID',
  /** A floors/*.yaml file failed validation (syntax, types, unknown builder or template variable). */
  LAYOUT_INVALID: 'FLOORPLAN_ERR_LAYOUT_INVALID',
  /** A publish or candidate was refused: it would send a live app version a style token, field or kind it does not understand (config/clients.yaml). */
  LAYOUT_INCOMPATIBLE: 'FLOORPLAN_ERR_LAYOUT_INCOMPATIBLE',
  /** The layout revision store (PostgreSQL or PGlite) cannot be reached, or its role lacks a privilege: layout operations are refused; serving goes on. */
  LAYOUT_STORE_UNAVAILABLE: 'FLOORPLAN_ERR_LAYOUT_STORE_UNAVAILABLE',
  /** A layout change's COMMIT went unanswered and the store could not say since whether it took effect: it may have been recorded. */
  LAYOUT_STORE_UNCONFIRMED: 'FLOORPLAN_ERR_LAYOUT_STORE_UNCONFIRMED',
  /** A layout operation named a revision the store does not hold. */
  LAYOUT_REVISION_NOT_FOUND: 'FLOORPLAN_ERR_LAYOUT_REVISION_NOT_FOUND',
  /** A candidate operation (rollout, promote, abort, shadow) named a scene that has no candidate. */
  LAYOUT_CANDIDATE_NOT_FOUND: 'FLOORPLAN_ERR_LAYOUT_CANDIDATE_NOT_FOUND',
  /** Promote was refused: the candidate's shadow comparison found money-invariant violations (override: force). */
  LAYOUT_PROMOTE_REFUSED: 'FLOORPLAN_ERR_LAYOUT_PROMOTE_REFUSED',
  /** With layouts.approval.required: a change to a money floor needs another admin's approval first (floors:approve). */
  LAYOUT_APPROVAL_REQUIRED: 'FLOORPLAN_ERR_LAYOUT_APPROVAL_REQUIRED',
  /** A publish or rollback was refused: it would take off the air a scene that has a candidate, whose users would then be refused the scene (abort the candidate first). */
  LAYOUT_SCENE_HAS_CANDIDATE: 'FLOORPLAN_ERR_LAYOUT_SCENE_HAS_CANDIDATE',
  /** A layout operation was refused by a check inside the store's transaction (the candidate changed meanwhile, a self-approval), or waited too long for a lock: another writer's, or one a DBA holds on a table. */
  LAYOUT_CONFLICT: 'FLOORPLAN_ERR_LAYOUT_CONFLICT',
  /** A panel was asked for a scene no floors file defines. */
  LAYOUT_UNKNOWN_SCENE: 'FLOORPLAN_ERR_LAYOUT_UNKNOWN_SCENE',
  /** The builder registry was given a malformed builder. */
  BUILDER_MALFORMED: 'FLOORPLAN_ERR_BUILDER_MALFORMED',
  /** Two builders registered under one name. */
  BUILDER_DUPLICATE: 'FLOORPLAN_ERR_BUILDER_DUPLICATE',
  /** A builder threw something that is not an upstream failure: a bug, logged once per floor. */
  BUILDER_FAILED: 'FLOORPLAN_ERR_BUILDER_FAILED',
  /** A floor's CEL expression failed while it was evaluated (or would cost more than its limit): that floor is dropped. */
  EXPRESSION_FAILED: 'FLOORPLAN_ERR_EXPRESSION_FAILED',
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
  /** `selectedSkuIds` listed more SKUs than any cart holds. */
  SELECTION_TOO_LARGE: 'FLOORPLAN_ERR_SELECTION_TOO_LARGE',
  /** Money arithmetic would leave exact integer range or mix currencies. */
  MONEY_INVALID: 'FLOORPLAN_ERR_MONEY_INVALID',
  /** A bearer token failed verification. */
  AUTH_INVALID_TOKEN: 'FLOORPLAN_ERR_AUTH_INVALID_TOKEN',
  /** The token could not be checked because the signing keys (JWKS) could not be fetched or read. */
  AUTH_KEYS_UNAVAILABLE: 'FLOORPLAN_ERR_AUTH_KEYS_UNAVAILABLE',
  /** No bearer token was sent. */
  AUTH_MISSING_TOKEN: 'FLOORPLAN_ERR_AUTH_MISSING_TOKEN',
  /** The user's rate limit refused the request. */
  REQUEST_RATE_LIMITED: 'FLOORPLAN_ERR_REQUEST_RATE_LIMITED',
  /** Admission control refused the request: it could not start within its queue wait. */
  REQUEST_OVERLOADED: 'FLOORPLAN_ERR_REQUEST_OVERLOADED',
  /** A query limit (depth, aliases, cost, tokens, introspection depth) refused the query before it ran. */
  QUERY_TOO_COMPLEX: 'FLOORPLAN_ERR_QUERY_TOO_COMPLEX',
  /** A variable the operation's definitions refuse: missing, null where non-null, of the wrong type. */
  QUERY_VARIABLE_INVALID: 'FLOORPLAN_ERR_QUERY_VARIABLE_INVALID',
  /** An argument a variable made null where the schema says non-null, refused as its field ran. */
  QUERY_ARGUMENT_INVALID: 'FLOORPLAN_ERR_QUERY_ARGUMENT_INVALID',
  /** The HTTP request body exceeded the configured limit. */
  HTTP_BODY_TOO_LARGE: 'FLOORPLAN_ERR_HTTP_BODY_TOO_LARGE',
  /** The HTTP request body was not valid JSON. */
  HTTP_BAD_JSON: 'FLOORPLAN_ERR_HTTP_BAD_JSON',
  /** No route for the requested path. */
  HTTP_NO_ROUTE: 'FLOORPLAN_ERR_HTTP_NO_ROUTE',
  /** A method the route does not serve (DELETE /graphql). */
  HTTP_METHOD_NOT_ALLOWED: 'FLOORPLAN_ERR_HTTP_METHOD_NOT_ALLOWED',
  /** A request body in a content coding (gzip) Floorplan does not decode. */
  HTTP_BODY_ENCODED: 'FLOORPLAN_ERR_HTTP_BODY_ENCODED',
  /** Request headers over Node's limit. */
  HTTP_HEADERS_TOO_LARGE: 'FLOORPLAN_ERR_HTTP_HEADERS_TOO_LARGE',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** One catalogue entry: what the operator reads, and what the client gets instead. */
export interface ErrorSpec {
  /**
   * The message, with `{name}` for each parameter (see {@link MessageParams}). A code that
   * covers several contracts (a config file with many problems) has a slot for the one broken.
   */
  readonly message: string;
  /** The code a client sees. INTERNAL_SERVER_ERROR: masked ("Internal server error") and logged. */
  readonly client: ClientErrorCode;
  /**
   * The HTTP status when it fails the whole request (see {@link ClientErrorSpec.status});
   * 200 for one raised by a resolver, which fails only its field.
   */
  readonly status: number;
  /** The argument at fault, sent as `extensions.argumentName`. */
  readonly argument?: string;
  /** Sends the internal code as `extensions.reason` (the HTTP layer's own checks). */
  readonly reason?: true;
  /** What the client reads instead of the message, when the message is for operators only. */
  readonly clientMessage?: string;
}

/** The templates of the internal codes the client never sees: they surface at start, in logs and metrics. */
const NEVER_SENT = { client: ClientErrorCode.INTERNAL_SERVER_ERROR, status: 500 } as const;

/** The catalogue: each internal code with its message template, client code and HTTP status. */
export const ERRORS = {
  FLOORPLAN_ERR_CONFIG_INVALID: { message: 'Invalid service config:\n- {problems}', ...NEVER_SENT },
  FLOORPLAN_ERR_FLAGS_INVALID: { message: 'Invalid flags file{problems}', ...NEVER_SENT },
  FLOORPLAN_ERR_CLIENTS_INVALID: { message: 'Invalid clients config:\n- {problems}', ...NEVER_SENT },
  FLOORPLAN_ERR_LAYOUT_INVALID: { message: '{problems}', ...NEVER_SENT },
  FLOORPLAN_ERR_LAYOUT_INCOMPATIBLE: {
    message: 'the layouts must send every live app version in {clients} only what it understands, but {count} problem(s) were found; nothing was published:\n- {problems}',
    client: ClientErrorCode.BAD_REQUEST,
    status: 409,
  },
  FLOORPLAN_ERR_LAYOUT_STORE_UNAVAILABLE: {
    // {need} and {problem}: reachable, it is not; or usable by its role, which lacks a privilege. {purpose} and {outcome}: a change (nothing was changed) or a read (src/layouts/revisions/revision-store.ts).
    message: 'the layout revision store ({store}) must be {need} to {purpose}, but {problem}: {cause}; {outcome}',
    client: ClientErrorCode.SERVICE_UNAVAILABLE,
    status: 503,
  },
  FLOORPLAN_ERR_LAYOUT_STORE_UNCONFIRMED: {
    message:
      'the layout revision store ({store}) did not confirm the change: {cause} after it was sent to be committed, and could not say since whether it took effect; it may have been recorded and go live on every replica: read floors:history before you retry',
    client: ClientErrorCode.SERVICE_UNAVAILABLE,
    status: 503,
  },
  FLOORPLAN_ERR_LAYOUT_REVISION_NOT_FOUND: {
    message: 'revision must be one the store holds ({known}), but got: {received}',
    client: ClientErrorCode.BAD_REQUEST,
    status: 404,
  },
  FLOORPLAN_ERR_LAYOUT_CANDIDATE_NOT_FOUND: {
    message: 'scene must be one with a candidate ({known}), but got: {received}',
    client: ClientErrorCode.BAD_REQUEST,
    status: 404,
  },
  FLOORPLAN_ERR_LAYOUT_PROMOTE_REFUSED: {
    message: 'the candidate of {scene} (revision {revision}) must have no money-invariant violations in its shadow comparison to be promoted, but it has {violations}{overtaken}; nothing was changed (promote with force to override{overrides}: --force, or "force": true; it is audited)',
    client: ClientErrorCode.BAD_REQUEST,
    status: 409,
  },
  FLOORPLAN_ERR_LAYOUT_APPROVAL_REQUIRED: {
    message: '{what} changes money floors ({floors}), so it must be {how} first, but {state}; nothing was changed',
    client: ClientErrorCode.BAD_REQUEST,
    status: 409,
  },
  FLOORPLAN_ERR_LAYOUT_SCENE_HAS_CANDIDATE: {
    message: '{what} must keep on the air every scene that has a candidate, but it would take {candidates}. Abort the candidate first ({abort}), or keep its file in the set; nothing was changed',
    client: ClientErrorCode.BAD_REQUEST,
    status: 409,
  },
  FLOORPLAN_ERR_LAYOUT_CONFLICT: {
    message: '{detail}; nothing was changed',
    client: ClientErrorCode.BAD_REQUEST,
    status: 409,
  },
  FLOORPLAN_ERR_LAYOUT_UNKNOWN_SCENE: {
    message: 'scene must be one of {known}, but got: {received}',
    client: ClientErrorCode.BAD_USER_INPUT,
    status: 200,
    argument: 'scene',
  },
  FLOORPLAN_ERR_BUILDER_MALFORMED: { message: 'builder #{index} {contract}, but got: {received}', ...NEVER_SENT },
  FLOORPLAN_ERR_BUILDER_DUPLICATE: { message: 'builder names must be unique, but "{name}" is registered twice (#{index})', ...NEVER_SENT },
  FLOORPLAN_ERR_BUILDER_FAILED: { message: 'floor {floor} failed: {cause}', ...NEVER_SENT },
  FLOORPLAN_ERR_EXPRESSION_FAILED: { message: 'expression `{expression}` ({where}) failed: {cause}', ...NEVER_SENT },
  FLOORPLAN_ERR_UPSTREAM_TIMEOUT: { message: '{upstream}: {detail}', ...NEVER_SENT },
  FLOORPLAN_ERR_UPSTREAM_DEADLINE: { message: '{upstream}: {detail}', ...NEVER_SENT },
  FLOORPLAN_ERR_UPSTREAM_HTTP_STATUS: { message: '{upstream}: {detail}', ...NEVER_SENT },
  FLOORPLAN_ERR_UPSTREAM_MALFORMED: { message: '{upstream}: {detail}', ...NEVER_SENT },
  FLOORPLAN_ERR_UPSTREAM_NETWORK: { message: '{upstream}: {detail}', ...NEVER_SENT },
  FLOORPLAN_ERR_UPSTREAM_CIRCUIT_OPEN: { message: '{upstream}: {detail}', ...NEVER_SENT },
  FLOORPLAN_ERR_UPSTREAM_REJECTED: { message: '{upstream}: {detail}', ...NEVER_SENT },
  FLOORPLAN_ERR_UPSTREAM_KILLED: { message: '{upstream}: {detail}', ...NEVER_SENT },
  FLOORPLAN_ERR_UPSTREAM_INCONSISTENT: { message: '{upstream}: {detail}', ...NEVER_SENT },
  FLOORPLAN_ERR_SELECTION_NOT_IN_CART: {
    message: 'selectedSkuIds must name SKUs in your cart, but these are not: {foreign}',
    client: ClientErrorCode.BAD_USER_INPUT,
    status: 200,
    argument: 'selectedSkuIds',
  },
  FLOORPLAN_ERR_SELECTION_TOO_LARGE: {
    message: 'selectedSkuIds must list at most {max} SKUs, but got: {received}',
    client: ClientErrorCode.BAD_USER_INPUT,
    status: 200,
    argument: 'selectedSkuIds',
  },
  FLOORPLAN_ERR_MONEY_INVALID: { message: '{contract}, but got: {received}', ...NEVER_SENT },
  FLOORPLAN_ERR_AUTH_INVALID_TOKEN: { message: '{reason}', client: ClientErrorCode.UNAUTHENTICATED, status: 401 },
  FLOORPLAN_ERR_AUTH_KEYS_UNAVAILABLE: {
    message: 'the token could not be verified: the signing keys are unavailable',
    client: ClientErrorCode.SERVICE_UNAVAILABLE,
    status: 503,
    clientMessage: 'authentication is temporarily unavailable; retry shortly',
  },
  FLOORPLAN_ERR_AUTH_MISSING_TOKEN: {
    message: 'an Authorization: Bearer <token> header is required',
    client: ClientErrorCode.UNAUTHENTICATED,
    status: 401,
  },
  FLOORPLAN_ERR_REQUEST_RATE_LIMITED: { message: 'too many requests; retry after {seconds} s', client: ClientErrorCode.RATE_LIMITED, status: 429 },
  FLOORPLAN_ERR_REQUEST_OVERLOADED: {
    message: 'Floorplan is overloaded and could not answer in time; keep the last panel and retry after {seconds} s',
    client: ClientErrorCode.OVERLOADED,
    status: 503,
  },
  FLOORPLAN_ERR_QUERY_TOO_COMPLEX: { message: '{limit}', client: ClientErrorCode.QUERY_TOO_COMPLEX, status: 400 },
  FLOORPLAN_ERR_QUERY_VARIABLE_INVALID: { message: '{problem}', client: ClientErrorCode.BAD_USER_INPUT, status: 400 },
  FLOORPLAN_ERR_QUERY_ARGUMENT_INVALID: { message: '{problem}', client: ClientErrorCode.BAD_USER_INPUT, status: 200 },
  FLOORPLAN_ERR_HTTP_BODY_TOO_LARGE: {
    message: 'request body must be at most {limit} bytes{received}',
    client: ClientErrorCode.BAD_REQUEST,
    status: 413,
    reason: true,
  },
  FLOORPLAN_ERR_HTTP_BAD_JSON: { message: 'request body must be valid JSON', client: ClientErrorCode.BAD_REQUEST, status: 400, reason: true },
  FLOORPLAN_ERR_HTTP_NO_ROUTE: {
    message: 'no route for {path}; GraphQL is served at /graphql',
    client: ClientErrorCode.BAD_REQUEST,
    status: 404,
  },
  FLOORPLAN_ERR_HTTP_METHOD_NOT_ALLOWED: { message: '{path} answers {allowed}, not {method}', client: ClientErrorCode.BAD_REQUEST, status: 405, reason: true },
  FLOORPLAN_ERR_HTTP_BODY_ENCODED: {
    message: 'request body must not be content-encoded (send it as plain JSON, Content-Encoding: identity), but got: {encoding}',
    client: ClientErrorCode.BAD_REQUEST,
    status: 415,
    reason: true,
  },
  FLOORPLAN_ERR_HTTP_HEADERS_TOO_LARGE: { message: 'request headers must be at most {limit} bytes in all', client: ClientErrorCode.BAD_REQUEST, status: 431, reason: true },
} as const satisfies { readonly [C in ErrorCode]: ErrorSpec };

/** The `{names}` of a template, as a union. */
type ParamNames<T extends string> = T extends `${string}{${infer Name}}${infer Rest}` ? Name | ParamNames<Rest> : never;

/** The parameters `code`'s template names, each required: `{ limit: 65536, received: '' }`; `{}` for a template without any. */
export type MessageParams<C extends ErrorCode> =
  [ParamNames<(typeof ERRORS)[C]['message']>] extends [never]
    ? Readonly<Record<string, never>>
    : { readonly [N in ParamNames<(typeof ERRORS)[C]['message']>]: string | number };

/** `template` with each `{name}` replaced by `params[name]`. */
export function formatMessage(template: string, params: Readonly<Record<string, string | number>>): string {
  return template.replace(/\{(\w+)\}/g, (slot, name: string) => (Object.hasOwn(params, name) ? String(params[name]) : slot));
}

/**
 * What went wrong, in words, whatever was thrown: an error's message; for an AggregateError
 * without one, each of its errors' reasons, once each; for a value without one its name and
 * errno (PGlite's file system throws `{ name: 'ErrnoError', errno }`, named in words where
 * {@link EMSCRIPTEN_ERRNOS} knows it), or the value as a string.
 * Never "undefined", nor an empty reason, in a message an operator reads.
 *
 * The AggregateError is Node's, for a host name with two addresses (`localhost` on most
 * machines: `::1` and `127.0.0.1`) when neither accepts the connection: its message is empty,
 * and "connect ECONNREFUSED ::1:6379; connect ECONNREFUSED 127.0.0.1:6379" is in its errors.
 */
/**
 * PGlite's file system errors by their Emscripten errno (its ERRNO_CODES table, not Linux's
 * numbers): those a data folder meets — full, read-only, not permitted, out of descriptors.
 */
const EMSCRIPTEN_ERRNOS: Readonly<Record<number, string>> = {
  2: 'EACCES, permission denied',
  19: 'EDQUOT, disk quota exceeded',
  29: 'EIO, input/output error',
  33: 'EMFILE, too many open files',
  41: 'ENFILE, too many open files in the system',
  44: 'ENOENT, no such file or directory',
  48: 'ENOMEM, out of memory',
  51: 'ENOSPC, no space left on device',
  54: 'ENOTDIR, not a directory',
  63: 'EPERM, operation not permitted',
  69: 'EROFS, read-only file system',
};

export function describeThrown(thrown: unknown): string {
  if (thrown instanceof Error && thrown.message !== '') return thrown.message;
  if (thrown instanceof AggregateError && Array.isArray(thrown.errors) && thrown.errors.length > 0) {
    return [...new Set(thrown.errors.map(describeThrown))].join('; ');
  }
  if (typeof thrown === 'object' && thrown !== null) {
    const { message, name, errno, code } = thrown as { message?: unknown; name?: unknown; errno?: unknown; code?: unknown };
    if (typeof message === 'string' && message !== '') return message;
    const words = name === 'ErrnoError' && typeof errno === 'number' ? EMSCRIPTEN_ERRNOS[errno] : undefined;
    const detail = [code, errno === undefined ? undefined : `errno ${String(errno)}${words === undefined ? '' : `: ${words}`}`].filter((part) => part !== undefined).join(', ');
    if (typeof name === 'string' && name !== '') return detail === '' ? name : `${name} (${detail})`;
    if (detail !== '') return detail;
  }
  return thrown instanceof Error ? thrown.name : String(thrown);
}

/**
 * The password in a URL's user information, found by pattern (see withoutPasswords). Its user
 * information ends at the *last* `@` before the host, as URL parsing reads it, so a password
 * holding unencoded `@`s (`floorplan:Secr3t@prod-pass@db`) is one password, not a password
 * and a host. Two shapes:
 * - a user without `@`: the password runs to its first `@`, across `/`, `?` or `#` (which leave
 *   the URL unparseable, as a generated password often does), then on to each further `@` met
 *   before a `?`, `#`, quote or blank. An `@` later in a path is read as the password's too:
 *   `http://u:p@host/a/@b` shows as `http://u:***@b`, more hidden than needed, never less;
 * - a user holding `@` (`me@corp:pw@db`): as URL parsing reads it, up to the last `@` before
 *   the first `/`, `?` or `#`.
 * The scheme's `://` may be mistyped (`redis//`, `postgres:/`, `postgres:`) or left out
 * (`floorplan:pw@db/x`, `:pw@redis:6379/0`, matched at the start of the text or of a quoted
 * value by withoutPasswords): the config then refuses the URL, echoing it, and the password in it
 * must be hidden as well.
 */
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/|(?<![\w.+-])[a-z][a-z0-9+.-]*(?::\/?|\/\/))(?:([^:/?#@\s]*:)[^@\s]*@(?:[^@?#\s"']*@)*|([^:/?#@\s]*@[^:/?#\s]*:)[^/?#\s]*@)/gi;

/**
 * `text` with the password of every URL in it shown as `***` (`postgres://floorplan:***@db/x`),
 * for messages and log lines: the one in its user information, however many `@` it holds, and
 * a `password=` or `sslpassword=` query parameter (`postgres://floorplan@db/x?password=***`),
 * which libpq, `pg` and ioredis take as well. By pattern rather than by parsing: a generated
 * password often holds `/` or `+`, which leaves the URL unparseable, and it must be hidden all
 * the same. Every URL a log line or message names goes through here, so the rule is one.
 */
export function withoutPasswords(text: string): string {
  return text
    .replace(URL_PASSWORD, (_url, scheme: string, user: string | undefined, userWithAt: string | undefined) => `${scheme}${user ?? userWithAt}***@`)
    // A URL without any scheme (`floorplan:pw@db/x`, `//:pw@redis:6379`), at the start of the text or of a quoted value.
    .replace(/(^|[\s"'(])(\/\/)?([^:/?#@\s"'*]*:)(?!\/)[^@\s"'*]*@/g, '$1$2$3***@')
    .replace(/([?&](?:ssl)?password=)[^&#\s"']*/gi, '$1***');
}

/**
 * Base of every error Floorplan raises on purpose: `new FloorplanError(code, params)`; the
 * message is the code's template filled with `params`.
 */
export class FloorplanError<C extends ErrorCode = ErrorCode> extends Error {
  readonly code: C;
  /** The template's parameters, for a log line that wants them apart. */
  readonly params: MessageParams<C>;

  constructor(code: C, params: MessageParams<C>, options?: { cause?: unknown }) {
    super(formatMessage(ERRORS[code].message, params), options);
    this.name = 'FloorplanError';
    this.code = code;
    this.params = params;
  }
}

/**
 * What a client receives for an error: the first item of `errors[]` (`message` and
 * `extensions`), and, when the error fails the whole request, the HTTP status and headers.
 */
export interface ClientError {
  readonly message: string;
  /** `code` first, then what the catalogue adds: `argumentName`, `reason`, `retryAfterMs`; or what Apollo's own error carried. */
  readonly extensions: { readonly code: ClientErrorCode } & Readonly<Record<string, unknown>>;
  /** The HTTP status when it fails the whole request (a field error answers 200 regardless). */
  readonly status: number;
  /** Lower-case header names: `www-authenticate`, `retry-after`. */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * True when the client gets only "Internal server error": a server fault, which the caller
   * logs at error. False for a client's mistake, which is not logged above debug.
   */
  readonly masked: boolean;
}

/** The client code Apollo put on one of its own errors (and graphql-js's, which Apollo wraps). */
const APOLLO_CODES: ReadonlySet<string> = new Set<string>([
  ClientErrorCode.BAD_USER_INPUT,
  ClientErrorCode.BAD_REQUEST,
  ClientErrorCode.GRAPHQL_PARSE_FAILED,
  ClientErrorCode.GRAPHQL_VALIDATION_FAILED,
  ClientErrorCode.OPERATION_RESOLUTION_FAILURE,
  ClientErrorCode.PERSISTED_QUERY_NOT_FOUND,
  ClientErrorCode.PERSISTED_QUERY_NOT_SUPPORTED,
]);

/** A graphql-js error, structurally (this module imports no GraphQL library). */
interface GraphQLErrorLike extends Error {
  readonly extensions?: Readonly<Record<string, unknown>>;
  readonly originalError?: unknown;
}

const isGraphQLErrorLike = (value: unknown): value is GraphQLErrorLike => value instanceof Error && 'extensions' in value;

/** Extensions Apollo gives a request it refuses outright: an HTTP status of 400–499 (`extensions.http`). */
const isApolloRefusal = (extensions: GraphQLErrorLike['extensions']): extensions is { readonly http: { readonly status: number } } => {
  const status = (extensions?.http as { status?: unknown } | undefined)?.status;
  return typeof status === 'number' && status >= 400 && status < 500;
};

/**
 * Errors raised by a library that has no code or type of its own for them, recognised where
 * they are raised (a hook that knows what failed) and registered here with the error
 * Floorplan means by them. Keys are the library's error objects, so nothing outlives them.
 */
const recognised = new WeakMap<object, FloorplanError>();

/** Registers `error`, raised by a library, as `meaning`: {@link toClientError} answers it as that. */
export function recognise(error: object, meaning: FloorplanError): void {
  recognised.set(error, meaning);
}

/**
 * The Floorplan error `thrown` is, or wraps: graphql-js wraps a resolver's error in a
 * GraphQLError (`originalError`), and Apollo wraps graphql-js's once more.
 */
function floorplanErrorIn(thrown: unknown): FloorplanError | undefined {
  let current: unknown = thrown;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    if (current instanceof FloorplanError) return current;
    const meaning = recognised.get(current);
    if (meaning !== undefined) return meaning;
    if (!isGraphQLErrorLike(current)) return undefined;
    current = current.originalError;
  }
  return undefined;
}

function headersFor(code: ClientErrorCode, retryAfterSeconds: number | undefined): Record<string, string> {
  const spec = CLIENT_ERRORS[code];
  const headers: Record<string, string> = {};
  if (spec.challenge) headers['www-authenticate'] = 'Bearer';
  if (spec.retryAfter !== undefined) headers['retry-after'] = String(retryAfterSeconds ?? 5);
  return headers;
}

const INTERNAL: ClientError = Object.freeze({
  message: 'Internal server error',
  extensions: Object.freeze({ code: ClientErrorCode.INTERNAL_SERVER_ERROR }),
  status: CLIENT_ERRORS.INTERNAL_SERVER_ERROR.status,
  headers: Object.freeze({}),
  masked: true,
});

/**
 * The one mapping from anything thrown to what the client sees:
 * - a {@link FloorplanError} (or a library error {@link recognise}d as one), anywhere in a
 *   GraphQLError's `originalError` chain: its catalogue entry;
 * - a GraphQLError Apollo raised with one of its own client codes: shown as Apollo made it;
 * - one Apollo raised with an HTTP 4xx status and no code (a persisted query it refuses):
 *   BAD_REQUEST, in Apollo's words;
 * - anything else: "Internal server error", `masked` (the caller logs what was thrown).
 */
export function toClientError(thrown: unknown): ClientError {
  const own = floorplanErrorIn(thrown);
  if (own !== undefined) {
    const spec: ErrorSpec = ERRORS[own.code];
    if (spec.client === ClientErrorCode.INTERNAL_SERVER_ERROR) return INTERNAL;
    const seconds = (own.params as Readonly<Record<string, unknown>>).seconds;
    const retryAfterSeconds = typeof seconds === 'number' ? seconds : undefined;
    return {
      message: spec.clientMessage ?? own.message,
      extensions: {
        code: spec.client,
        ...(spec.argument === undefined ? {} : { argumentName: spec.argument }),
        ...(spec.reason ? { reason: own.code } : {}),
        ...(CLIENT_ERRORS[spec.client].retryAfter === 'header-and-extension' ? { retryAfterMs: (retryAfterSeconds ?? 5) * 1000 } : {}),
      },
      status: spec.status,
      headers: headersFor(spec.client, retryAfterSeconds),
      masked: false,
    };
  }
  if (isGraphQLErrorLike(thrown)) {
    const code = thrown.extensions?.code;
    if (code === undefined && isApolloRefusal(thrown.extensions)) {
      // Apollo refuses a persisted query it cannot take (a hash that is not its text, an unknown
      // version) with an HTTP 4xx status and no code: the client's mistake, in Apollo's words.
      return { message: thrown.message, extensions: { code: ClientErrorCode.BAD_REQUEST }, status: thrown.extensions.http.status, headers: {}, masked: false };
    }
    if (typeof code === 'string' && APOLLO_CODES.has(code)) {
      // Apollo's status and headers travel in `extensions.http`, and a stack trace may ride along in development.
      const { http, stacktrace: _dropped, ...extensions } = thrown.extensions as Readonly<Record<string, unknown>> & { http?: { status?: number } };
      return {
        message: thrown.message,
        extensions: extensions as ClientError['extensions'],
        status: http?.status ?? CLIENT_ERRORS[code as ClientErrorCode].status,
        headers: {},
        masked: false,
      };
    }
  }
  return INTERNAL;
}

/** Whole seconds for a `Retry-After` of `ms` (at least 1), so header and `retryAfterMs` never disagree. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/** Thrown by an exhaustive switch when a value slipped past the type checker. */
export class UnreachableCaseError extends Error {
  constructor(value: never) {
    super(`Unreachable case: ${JSON.stringify(value)}`);
    this.name = 'UnreachableCaseError';
  }
}
