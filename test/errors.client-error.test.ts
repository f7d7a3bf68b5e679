/** toClientError: every thrown value, as the client sees it. */
import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { ErrorCode, FloorplanError, recognise, toClientError, type ClientError } from '../src/errors.ts';
import { UpstreamError } from '../src/upstreams/upstream-error.ts';

/** What graphql-js makes of a resolver's throw, and what Apollo makes of a validation error: the thrown value as `originalError`. */
const wrapped = (thrown: Error, extensions?: Record<string, unknown>) => new GraphQLError(thrown.message, { originalError: thrown, ...(extensions ? { extensions } : {}) });

const armorLike = new GraphQLError('Syntax Error: Query depth limit of 8 exceeded, found 10.');
recognise(armorLike, new FloorplanError(ErrorCode.QUERY_TOO_COMPLEX, { limit: 'Query depth limit of 8 exceeded, found 10.' }));

const ROWS: ReadonlyArray<readonly [string, unknown, ClientError]> = [
  [
    'a missing token',
    new FloorplanError(ErrorCode.AUTH_MISSING_TOKEN, {}),
    {
      message: 'an Authorization: Bearer <token> header is required',
      extensions: { code: 'UNAUTHENTICATED' },
      status: 401,
      headers: { 'www-authenticate': 'Bearer' },
      masked: false,
    },
  ],
  [
    'a rejected token',
    new FloorplanError(ErrorCode.AUTH_INVALID_TOKEN, { reason: 'the token was rejected: it has expired' }),
    { message: 'the token was rejected: it has expired', extensions: { code: 'UNAUTHENTICATED' }, status: 401, headers: { 'www-authenticate': 'Bearer' }, masked: false },
  ],
  [
    'unavailable signing keys: the operator message stays on the server',
    new FloorplanError(ErrorCode.AUTH_KEYS_UNAVAILABLE, {}, { cause: new Error('ECONNREFUSED') }),
    {
      message: 'authentication is temporarily unavailable; retry shortly',
      extensions: { code: 'SERVICE_UNAVAILABLE' },
      status: 503,
      headers: { 'retry-after': '5' },
      masked: false,
    },
  ],
  [
    'a rate-limited user',
    new FloorplanError(ErrorCode.REQUEST_RATE_LIMITED, { seconds: 2 }),
    { message: 'too many requests; retry after 2 s', extensions: { code: 'RATE_LIMITED', retryAfterMs: 2000 }, status: 429, headers: { 'retry-after': '2' }, masked: false },
  ],
  [
    'an overloaded replica',
    new FloorplanError(ErrorCode.REQUEST_OVERLOADED, { seconds: 1 }),
    {
      message: 'Floorplan is overloaded and could not answer in time; keep the last panel and retry after 1 s',
      extensions: { code: 'OVERLOADED', retryAfterMs: 1000 },
      status: 503,
      headers: { 'retry-after': '1' },
      masked: false,
    },
  ],
  [
    'a body over the limit: the internal code travels as the reason',
    new FloorplanError(ErrorCode.HTTP_BODY_TOO_LARGE, { limit: 65536, received: ', but got: 70000' }),
    {
      message: 'request body must be at most 65536 bytes, but got: 70000',
      extensions: { code: 'BAD_REQUEST', reason: 'FLOORPLAN_ERR_HTTP_BODY_TOO_LARGE' },
      status: 413,
      headers: {},
      masked: false,
    },
  ],
  [
    'an unknown path',
    new FloorplanError(ErrorCode.HTTP_NO_ROUTE, { path: '/graphq' }),
    { message: 'no route for /graphq; GraphQL is served at /graphql', extensions: { code: 'BAD_REQUEST' }, status: 404, headers: {}, masked: false },
  ],
  [
    "a resolver's refused argument, wrapped by graphql-js: a field error",
    wrapped(new FloorplanError(ErrorCode.SELECTION_NOT_IN_CART, { foreign: '"sku-9"' })),
    {
      message: 'selectedSkuIds must name SKUs in your cart, but these are not: "sku-9"',
      extensions: { code: 'BAD_USER_INPUT', argumentName: 'selectedSkuIds' },
      status: 200,
      headers: {},
      masked: false,
    },
  ],
  [
    "graphql-armor's refusal, recognised where it was raised and wrapped by Apollo",
    wrapped(armorLike, { code: 'GRAPHQL_VALIDATION_FAILED' }),
    { message: 'Query depth limit of 8 exceeded, found 10.', extensions: { code: 'QUERY_TOO_COMPLEX' }, status: 400, headers: {}, masked: false },
  ],
  [
    "Apollo's own client error: shown as Apollo made it, without http or stacktrace",
    new GraphQLError('Syntax Error: Unexpected <EOF>.', { extensions: { code: 'GRAPHQL_PARSE_FAILED', http: { status: 400 }, stacktrace: ['at x'] } }),
    { message: 'Syntax Error: Unexpected <EOF>.', extensions: { code: 'GRAPHQL_PARSE_FAILED' }, status: 400, headers: {}, masked: false },
  ],
  [
    "Apollo's persisted-query miss: HTTP 200",
    new GraphQLError('PersistedQueryNotFound', { extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } }),
    { message: 'PersistedQueryNotFound', extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' }, status: 200, headers: {}, masked: false },
  ],
  [
    'an upstream failure that reached the client: masked',
    wrapped(new UpstreamError('cart', 'timeout', 'no answer within 80 ms')),
    { message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' }, status: 500, headers: {}, masked: true },
  ],
  [
    'an internal code a client never sees: masked',
    new FloorplanError(ErrorCode.MONEY_INVALID, { contract: 'amount must be a safe integer of minor units', received: '1.5' }),
    { message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' }, status: 500, headers: {}, masked: true },
  ],
  [
    'a GraphQLError claiming a code Floorplan did not give it: masked',
    new GraphQLError('secret detail', { extensions: { code: 'UNAUTHENTICATED' } }),
    { message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' }, status: 500, headers: {}, masked: true },
  ],
  [
    'a plain Error: masked',
    new TypeError("Cannot read properties of undefined (reading 'x')"),
    { message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' }, status: 500, headers: {}, masked: true },
  ],
  ['a thrown string: masked', 'boom', { message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' }, status: 500, headers: {}, masked: true }],
  ['undefined: masked', undefined, { message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' }, status: 500, headers: {}, masked: true }],
];

describe('toClientError', () => {
  it.each(ROWS)('answers %s', (_name, thrown, expected) => {
    expect(toClientError(thrown)).toEqual(expected);
  });

  it('fills a template from its named parameters, typed by the catalogue', () => {
    const error = new FloorplanError(ErrorCode.SELECTION_TOO_LARGE, { max: 500, received: 501 });
    expect(error.message).toBe('selectedSkuIds must list at most 500 SKUs, but got: 501');
    expect(error.params).toEqual({ max: 500, received: 501 });
    // @ts-expect-error: the template names `max` and `received`; a missing one is a type error.
    void new FloorplanError(ErrorCode.SELECTION_TOO_LARGE, { max: 500 });
  });
});
