/**
 * The fast path for operations Apollo has already validated. A mobile app sends the same
 * handful of queries millions of times; after Apollo has parsed and validated one (with the
 * query limits, introspection policy and every other rule), a later POST of the same text —
 * or of its persisted-query hash — is executed here with the same compiled function,
 * skipping Apollo's per-request pipeline (header map, content negotiation, SHA-256 of the
 * query, document-cache lookup, plugin hooks): measured, about a third of a panel's CPU.
 *
 * What Apollo would do differently is handed back to Apollo:
 * - anything not a plain known operation (new or invalid text, GET, batches, APQ
 *   registration, unknown extensions, odd `variables`, an Accept nobody can satisfy);
 * - a context that fails (401, 429, 503): Apollo answers it with that same error;
 * - a result with errors: Apollo formats it, through {@link JitCompiler.replay}, from the
 *   result already computed, so no resolver and no upstream is called twice.
 * Only a clean result is written here, byte for byte as Apollo writes it (tests compare
 * both paths), and the same end-of-request hook runs (the decision log).
 */
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import type { DocumentNode, ExecutionResult } from 'graphql';
import { isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import { LRUCache } from 'lru-cache';
import Negotiator from 'negotiator';
import type { JitCompiler } from './jit-gateway.ts';

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
  /** A clean result: write `body` with status 200 and `contentType`. */
  | { readonly kind: 'complete'; readonly body: string; readonly contentType: string; readonly context: TContext }
  /** Apollo must answer, with this context function (which may rethrow the context's failure). */
  | { readonly kind: 'apollo'; readonly context: () => Promise<TContext> };

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);

/** No operation name and an empty one are different requests (Apollo refuses the latter), so their keys differ. */
const operationKey = (text: string, operationName: string | null | undefined) =>
  `${operationName === null || operationName === undefined ? '-' : `+${operationName}`}\u0000${text}`;

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
    /** Runs when a fast-path response is sent, as Apollo's willSendResponse hooks do for the rest. */
    private readonly didSend: (context: TContext) => void,
  ) {}

  /** Remembers each query operation Apollo has parsed, validated and resolved. */
  plugin(): ApolloServerPlugin<TContext> {
    return {
      requestDidStart: async () => ({
        didResolveOperation: async ({ operation, source, queryHash, document, request, metrics }) => {
          if (operation?.operation !== 'query' || source === undefined) return;
          const operationName = request.operationName ?? null;
          const key = operationKey(source, operationName);
          let known = this.byQuery.get(key);
          if (known === undefined) {
            known = { document, queryHash, operationName };
            this.byQuery.set(key, known);
          }
          // A hash is answered here only once Apollo has served it as a persisted query (stored
          // or found it in the APQ store), so a hash-only request never succeeds here where
          // Apollo would answer PERSISTED_QUERY_NOT_FOUND.
          if (metrics.persistedQueryRegister === true || metrics.persistedQueryHit === true) {
            this.byHash.set(operationKey(queryHash, operationName), known);
          }
        },
      }),
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

  /** Runs a matched operation with the context `createContext` builds (see the module comment). */
  async execute(matched: MatchedOperation, createContext: () => Promise<TContext>): Promise<FastOutcome<TContext>> {
    let context: TContext;
    try {
      context = await createContext();
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
    if (result.errors !== undefined || result.data === undefined || result.extensions !== undefined) {
      this.compiler.replay(context, result);
      return { kind: 'apollo', context: async () => context };
    }
    // Apollo's own encoding of a clean single result: {"data":...} and a newline.
    const body = `${JSON.stringify({ data: result.data })}\n`;
    this.didSend(context);
    return { kind: 'complete', body, contentType: matched.contentType, context };
  }

  /** The content type Apollo would answer with for `accept`; undefined when it would refuse (406). */
  private contentType(accept: string | undefined): string | undefined {
    if (accept === undefined || accept === '') return APPLICATION_JSON;
    return this.contentTypes.memo(accept) || undefined;
  }
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
