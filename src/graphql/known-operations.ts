/**
 * The fast path for operations Apollo has already validated. A mobile app sends the same
 * handful of queries millions of times; after Apollo has parsed and validated one (with the
 * query limits, introspection policy and every other rule), a later POST of the same text —
 * or of its persisted-query hash — is executed here with the same compiled function,
 * skipping Apollo's per-request pipeline (header map, content negotiation, SHA-256 of the
 * query, document-cache lookup, plugin hooks): measured by `npm run bench` in the same
 * interleaved CPU rounds as `server.fastPath: false`, 36 % of a panel's CPU (BENCHMARKS.md).
 *
 * What Apollo would do differently is handed back to Apollo before anything runs:
 * - anything not a plain known operation (new or invalid text, GET, batches, APQ
 *   registration, unknown extensions, odd `variables`, an Accept nobody can satisfy);
 * - a context that fails (401, 429, 503): Apollo answers it with that same error.
 * Once the operation has run, its result is answered here, errors included: the errors go
 * through the same error layer Apollo's `formatError` uses ({@link KnownOperationsOptions})
 * and are encoded as Apollo encodes them (errors, data; the status an error carries; 400 for
 * refused variables), byte for byte (tests compare both paths). No result is handed back to
 * Apollo to be parsed and formatted again. The same end-of-request hooks run on both paths.
 */
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import type { DocumentNode, ExecutionResult, GraphQLError, GraphQLFormattedError } from 'graphql';
import { isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import { LRUCache } from 'lru-cache';
import Negotiator from 'negotiator';
import type { JitCompiler } from './jit-gateway.ts';
import { persistable } from './query-limits.ts';

/** Work done once a request's answer is on its way, on either path; `delivered`: the answer carries data (not null, not absent). */
export type EndOfRequest<TContext> = (context: TContext, delivered: boolean) => void;

/** Distinct operations kept; each entry holds the query text, so they are also bounded by size. */
const MAX_OPERATIONS = 1000;
const MAX_QUERY_TEXT_BYTES = 8 * 1024 * 1024;
/** Distinct Accept headers whose negotiated content type is remembered. */
const MAX_ACCEPT_VALUES = 100;

const APPLICATION_JSON = 'application/json; charset=utf-8';
/** What Apollo offers a single result in, in its order of preference. */
const SINGLE_RESULT_TYPES = [APPLICATION_JSON, 'application/graphql-response+json; charset=utf-8', 'application/json; callbackSpec=1.0; charset=utf-8'];

interface KnownOperation {
  readonly document: DocumentNode;
  readonly queryHash: string;
  readonly operationName: string | null;
  /** Its compiled function, once the fast path has run it. */
  compiled?: CompiledQuery;
}

/** A request the fast path can run: the operation and its variables. */
export interface MatchedOperation {
  readonly operation: KnownOperation;
  readonly variables: Readonly<Record<string, unknown>> | undefined;
  /** The response's content type, negotiated from Accept as Apollo does. */
  readonly contentType: string;
}

/** What became of a request on the fast path. */
export type FastOutcome<TContext> =
  /** Answered: write `body` with `status`, `contentType` and `headers`; `bodyBytes` is its length in UTF-8. */
  | {
      readonly kind: 'complete';
      readonly status: number;
      readonly headers: ReadonlyMap<string, string>;
      readonly body: string;
      readonly bodyBytes: number;
      readonly contentType: string;
      readonly context: TContext;
    }
  /** Apollo must answer, with this context function (which may rethrow the context's failure). */
  | { readonly kind: 'apollo'; readonly context: () => Promise<TContext> };

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);

/** No operation name and an empty one are different requests (Apollo refuses the latter), so their keys differ. */
const operationKey = (text: string, operationName: string | null | undefined) =>
  `${operationName === null || operationName === undefined ? '-' : `+${operationName}`}\u0000${text}`;

export interface KnownOperationsOptions<TContext> {
  /** Apollo's `formatError`: the one error layer both paths answer through. */
  readonly formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  /** Run when an answer is sent, on either path (Apollo's `willSendResponse` runs the same list). */
  readonly endOfRequest: ReadonlyArray<EndOfRequest<TContext>>;
}

const NO_HEADERS: ReadonlyMap<string, string> = new Map();

export class KnownOperations<TContext extends BaseContext> {
  private readonly byQuery = new LRUCache<string, KnownOperation>({
    max: MAX_OPERATIONS,
    maxSize: MAX_QUERY_TEXT_BYTES,
    sizeCalculation: (_value, key) => key.length,
  });
  private readonly byHash = new LRUCache<string, KnownOperation>({ max: MAX_OPERATIONS });
  /** Apollo's negotiation for each Accept header seen (false: none acceptable, Apollo answers 406). */
  private readonly contentTypes = new LRUCache<string, string | false>({
    max: MAX_ACCEPT_VALUES,
    memoMethod: (accept) => new Negotiator({ headers: { accept } }).mediaType(SINGLE_RESULT_TYPES) ?? false,
  });

  constructor(
    private readonly compiler: JitCompiler,
    private readonly options: KnownOperationsOptions<TContext>,
  ) {}

  /** Remembers each query operation Apollo has parsed, validated and resolved. */
  plugin(): ApolloServerPlugin<TContext> {
    return {
      requestDidStart: async () => {
        let known: KnownOperation | undefined;
        return {
          didResolveOperation: async ({ operation, source, queryHash, document, request }) => {
            if (operation?.operation !== 'query' || source === undefined) return;
            const operationName = request.operationName ?? null;
            const key = operationKey(source, operationName);
            known = this.byQuery.get(key);
            if (known === undefined) {
              known = { document, queryHash, operationName };
              this.byQuery.set(key, known);
            }
          },
          // A hash is answered here only once Apollo has served it as a persisted query (stored
          // or found it in the APQ store), so a hash-only request never succeeds here where
          // Apollo would answer PERSISTED_QUERY_NOT_FOUND; nor one Apollo ran but did not store
          // (too large, or over the user's budget). Read once every didResolveOperation hook has
          // settled: that is where a registration is refused (src/graphql/persisted-query-budget.ts).
          executionDidStart: async ({ metrics, source, queryHash, request }) => {
            if (known === undefined) return;
            if (metrics.persistedQueryHit === true || (metrics.persistedQueryRegister === true && persistable(source))) {
              this.byHash.set(operationKey(queryHash, request.operationName ?? null), known);
            }
          },
        };
      },
    };
  }

  /**
   * The known operation a parsed POST body asks for, or undefined when Apollo must handle
   * the request. Only bodies Apollo would accept as they are qualify.
   */
  match(body: unknown, accept: string | undefined): MatchedOperation | undefined {
    if (!isRecord(body)) return undefined;
    const { query, operationName, variables, extensions } = body;
    if (operationName !== undefined && operationName !== null && typeof operationName !== 'string') return undefined;
    if (variables !== undefined && variables !== null && !isRecord(variables)) return undefined;
    let operation: KnownOperation | undefined;
    if (typeof query === 'string') {
      // Query text with a hash registers the hash in the APQ store: Apollo's job.
      if (extensions !== undefined && extensions !== null) return undefined;
      operation = this.byQuery.get(operationKey(query, operationName));
    } else if (query === undefined || query === null) {
      const hash = persistedQueryHash(extensions);
      if (hash === undefined) return undefined;
      operation = this.byHash.get(operationKey(hash, operationName));
    }
    if (operation === undefined) return undefined;
    const contentType = this.contentType(accept);
    if (contentType === undefined) return undefined;
    return { operation, variables: variables ?? undefined, contentType };
  }

  /**
   * Runs a matched operation with the context `createContext` builds (see the module comment): a
   * context made at once is used at once, without a turn of the microtask queue.
   */
  async execute(matched: MatchedOperation, createContext: () => TContext | Promise<TContext>): Promise<FastOutcome<TContext>> {
    let context: TContext;
    try {
      const made = createContext();
      context = made instanceof Promise ? await made : made;
    } catch (error) {
      return { kind: 'apollo', context: () => Promise.reject(error) };
    }
    const { operation } = matched;
    let query = operation.compiled;
    if (query === undefined) {
      const compiled = this.compiler.compile(operation.document, operation.queryHash, operation.operationName);
      if (!isCompiledQuery(compiled)) return { kind: 'apollo', context: async () => context };
      query = operation.compiled = compiled;
    }
    const result: ExecutionResult = await this.compiler.run(query, context, matched.variables);
    const delivered = result.data != null;
    for (const hook of this.options.endOfRequest) hook(context, delivered);
    if (result.errors === undefined) {
      // Apollo's own encoding of a clean single result: {"data":...} and a newline.
      return { kind: 'complete', status: 200, headers: NO_HEADERS, ...jsonLine({ data: result.data }), contentType: matched.contentType, context };
    }
    const { errors, status, headers } = this.formatErrors(result.errors);
    // As Apollo: refused variables (errors, no data) answer 400 unless an error named a status.
    const answered = status ?? (result.data === undefined ? 400 : 200);
    // Apollo's field order (errors, data, extensions; undefined ones left out) and its newline.
    return { kind: 'complete', status: answered, headers, ...jsonLine({ errors, data: result.data, extensions: result.extensions }), contentType: matched.contentType, context };
  }

  /**
   * The errors as Apollo's `normalizeAndFormatErrors` makes them (@apollo/server
   * errorNormalize.js): a code defaulting to INTERNAL_SERVER_ERROR, `extensions.http` taken out
   * into the response's status and headers, then `formatError`. Mirrored rather than imported:
   * Apollo does not export it.
   */
  private formatErrors(errors: readonly GraphQLError[]): { errors: GraphQLFormattedError[]; status: number | undefined; headers: Map<string, string> } {
    let status: number | undefined;
    const headers = new Map<string, string>();
    const formatted = errors.map((error) => {
      const extensions: Record<string, unknown> = { ...error.extensions, code: error.extensions.code ?? 'INTERNAL_SERVER_ERROR' };
      const http = extensions.http as { status?: number; headers?: Map<string, string> } | undefined;
      if (http !== undefined && typeof http === 'object') {
        if (http.status) status = http.status;
        if (http.headers instanceof Map) for (const [name, value] of http.headers) headers.set(name, value);
        delete extensions.http;
      }
      try {
        return this.options.formatError({ ...error.toJSON(), extensions }, error);
      } catch {
        return { message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } };
      }
    });
    return { errors: formatted, status, headers };
  }

  /** The content type Apollo would answer with for `accept`; undefined when it would refuse (406). */
  private contentType(accept: string | undefined): string | undefined {
    if (accept === undefined || accept === '') return APPLICATION_JSON;
    return this.contentTypes.memo(accept) || undefined;
  }
}

/**
 * `value` as Apollo encodes a result, JSON and a newline, and its length in UTF-8 bytes, measured
 * on the JSON before the newline is appended. Measured on the whole line, a panel in Chinese (a
 * two-byte string) was flattened, copied whole in the heap, just to be measured.
 *
 * Not encoded into a Buffer, though that saves Node's own copy behind the header too: a pooled
 * Buffer per answer made a saturated process shed a few requests (503) that the string never did
 * (bench/checkouts.ts, A/A runs at 100 connections: 18 and 25 of ~35,000 against none).
 */
function jsonLine(value: unknown): { readonly body: string; readonly bodyBytes: number } {
  const json = JSON.stringify(value);
  return { body: `${json}\n`, bodyBytes: Buffer.byteLength(json) + 1 };
}

/** The hash of a hash-only persisted-query request (version 1, nothing else), or undefined. */
function persistedQueryHash(extensions: unknown): string | undefined {
  if (!isRecord(extensions)) return undefined;
  const keys = Object.keys(extensions);
  if (keys.length !== 1 || keys[0] !== 'persistedQuery') return undefined;
  const persisted = extensions.persistedQuery;
  if (!isRecord(persisted) || persisted.version !== 1 || typeof persisted.sha256Hash !== 'string') return undefined;
  return persisted.sha256Hash;
}
