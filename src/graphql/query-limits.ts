/**
 * The query limits (`limits.maxDepth`, `maxAliases`, `maxCost`, `maxTokens`, and graphql-js's
 * own introspection depth), and how their refusals become FLOORPLAN_ERR_QUERY_TOO_COMPLEX
 * (client code QUERY_TOO_COMPLEX). None of the three libraries gives its refusal a code or a
 * type of its own, so each is recognised where it is raised, never by its message text:
 * - graphql-armor's validation rules call our `onReject` with their error: we report a
 *   GraphQLError whose `originalError` is the Floorplan error instead of theirs;
 * - graphql-js's parser stops at token `maxTokens + 1` with a plain syntax error: when parsing
 *   fails, the source is lexed again up to that token, and an error at its very position is
 *   the token limit (only failed parses pay for this);
 * - graphql-js's MaxIntrospectionDepthRule (always run by Apollo) reports on the `__schema` or
 *   `__type` field it refuses: when validation fails, the rule is run again alone, and an
 *   error on a node it refuses is that limit.
 * The last two are registered with {@link recognise}, so `toClientError` answers them by identity.
 */
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import type { ApolloArmor } from '@escape.tech/graphql-armor';
import { GraphQLError, Lexer, MaxIntrospectionDepthRule, Source, TokenKind, validate, type ASTNode, type ValidationContext } from 'graphql';
import type { ServiceConfig } from '../config/service-config.ts';
import { ErrorCode, FloorplanError, recognise } from '../errors.ts';

/**
 * The largest query text stored as a persisted query (APQ), in UTF-8 bytes. The store is shared
 * Redis, and any signed-in user may register: a query padded with a comment counts as few
 * tokens, so without this each request could park up to the body limit (64 KiB) there. The
 * app's queries are a few hundred bytes (the schema itself is under 4 KiB). A larger query
 * still runs; it is just not stored, so its hash alone is answered PERSISTED_QUERY_NOT_FOUND.
 */
export const MAX_PERSISTED_QUERY_BYTES = 8 * 1024;

/** Whether `query` is small enough to be kept as a persisted query ({@link MAX_PERSISTED_QUERY_BYTES}). */
export function persistable(query: string): boolean {
  // Length first: a UTF-8 byte count is at least the UTF-16 length / 1 and at most 3× it.
  return query.length * 3 <= MAX_PERSISTED_QUERY_BYTES || (query.length <= MAX_PERSISTED_QUERY_BYTES && Buffer.byteLength(query) <= MAX_PERSISTED_QUERY_BYTES);
}

export type QueryLimits = Pick<ServiceConfig['limits'], 'maxDepth' | 'maxAliases' | 'maxCost' | 'maxTokens'>;

/** At most this many directives per query (armor's default is 50); not an operator's setting. */
const MAX_DIRECTIVES = 10;

/** graphql-js and armor word every refusal as a syntax error; the client reads only the limit. */
const limitOf = (error: GraphQLError) => error.message.replace(/^Syntax Error: /, '');

const tooComplex = (error: GraphQLError) => new FloorplanError(ErrorCode.QUERY_TOO_COMPLEX, { limit: limitOf(error) });

/** armor's `onReject`: report our error in place of armor's (armor itself then reports nothing, see `propagateOnRejection`). */
function reportTooComplex(context: ValidationContext | null, error: GraphQLError): void {
  context?.reportError(new GraphQLError(limitOf(error), { nodes: error.nodes, originalError: tooComplex(error) }));
}

/** Fresh per protection: armor appends to `onReject` arrays it is given. */
const refusal = () => ({ onReject: [reportTooComplex], propagateOnRejection: false });

export type ArmorOptions = NonNullable<ConstructorParameters<typeof ApolloArmor>[0]>;

/** graphql-armor's options for `limits`: its refusals reported as FLOORPLAN_ERR_QUERY_TOO_COMPLEX. */
export function armorOptions(limits: QueryLimits, introspection: boolean): ArmorOptions {
  return {
    // A fragment is not a level: apps' generated queries (Apollo Kotlin, Apollo iOS) put every
    // selection in one, and armor would count each spread as a level of its own.
    maxDepth: { n: limits.maxDepth, flattenFragments: true, ...refusal() },
    // armor lets aliases of __typename through by default; a few hundred of them are a bomb too.
    maxAliases: { n: limits.maxAliases, allowList: [], ...refusal() },
    costLimit: { maxCost: limits.maxCost, flattenFragments: true, ...refusal() },
    // Tokens are limited by graphql-js's own parser (parseOptions.maxTokens): armor's token
    // plugin reports a plain syntax error as an HTTP 500.
    maxTokens: { enabled: false },
    maxDirectives: { n: MAX_DIRECTIVES, ...refusal() },
    // "Did you mean ...?" hints map the schema for a scraper when introspection is off.
    blockFieldSuggestion: { enabled: !introspection },
  };
}

/** Whether graphql-js's parser stopped `source` at its token limit: its error sits exactly at token `maxTokens + 1`. */
export function stoppedAtTokenLimit(source: string, maxTokens: number, error: Error): boolean {
  const position = (error as Partial<GraphQLError>).positions?.[0];
  if (position === undefined) return false;
  const lexer = new Lexer(new Source(source));
  try {
    for (let count = 1; count <= maxTokens + 1; count++) {
      const token = lexer.advance();
      if (token.kind === TokenKind.EOF) return false;
      if (count === maxTokens + 1) return token.start === position;
    }
  } catch {
    // A lexing error: the parser failed on the same character, before any limit.
  }
  return false;
}

/** The Apollo plugin that recognises graphql-js's own limit errors (see the module comment). */
export function queryLimitsPlugin<TContext extends BaseContext>(limits: Pick<QueryLimits, 'maxTokens'>): ApolloServerPlugin<TContext> {
  return {
    requestDidStart: async () => ({
      parsingDidStart: async ({ source }) =>
        async (error) => {
          if (error !== undefined && source !== undefined && error instanceof GraphQLError && stoppedAtTokenLimit(source, limits.maxTokens, error)) {
            recognise(error, tooComplex(error));
          }
        },
      validationDidStart: async ({ schema, document }) =>
        async (errors) => {
          if (errors === undefined || errors.length === 0) return;
          const refused = new Set<ASTNode>(validate(schema, document, [MaxIntrospectionDepthRule]).flatMap((e) => e.nodes ?? []));
          if (refused.size === 0) return;
          for (const error of errors) {
            if (error instanceof GraphQLError && error.nodes?.some((node) => refused.has(node))) recognise(error, tooComplex(error));
          }
        },
    }),
  };
}
