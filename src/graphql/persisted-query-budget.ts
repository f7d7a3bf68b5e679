/**
 * The per-user budget of new Automatic Persisted Queries. Any signed-in user may register a
 * query, and each stored text stays in the shared Redis for a day; a comment (or whitespace)
 * makes every text unique under the same token limit, and a hash is over the text, so such
 * copies cannot be told apart or shared. An app registers its few queries once per version:
 * each user may store `limits.persistedQueryRegistrationsPerDay` new hashes a day, all replicas
 * together (the rate limiter's token bucket, in Redis, falling back to one bucket per process),
 * so one token can hold at most about twice that many entries of 8 KiB at once.
 *
 * A registration past the budget is run and answered, not stored: Apollo Client sends the text
 * only after PERSISTED_QUERY_NOT_FOUND, and reports any error on that second request to the app
 * (its persisted-query link retries once, and only on the first), so an error there would break
 * an over-budget app's query where skipping the store costs it one round trip per request. The
 * answer says so in its `extensions.persistedQuery`, and the hash alone keeps being answered
 * PERSISTED_QUERY_NOT_FOUND, as for a hash Redis evicted. A hash already stored spends nothing.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import type { Logger } from '../observability/logger.ts';
import type { PersistedQueryRegistrationLabel } from '../observability/metrics.ts';
import type { RateLimiter } from '../security/rate-limit.ts';
import type { GraphQLContext } from './context.ts';
import { MAX_PERSISTED_QUERY_BYTES, persistable } from './query-limits.ts';

export interface PersistedQueryBudgetOptions {
  /** One token per new registration, per user: a bucket of `perDay`, refilled over a day. */
  readonly budget: Pick<RateLimiter, 'take'>;
  /** `limits.persistedQueryRegistrationsPerDay`, named in the answer. */
  readonly perDay: number;
  /** Whether the APQ store already holds the hash (false when it cannot tell: then the registration is new). */
  readonly isStored: (queryHash: string) => Promise<boolean>;
  /** Told what became of each registration (to count it). Default: nobody. */
  readonly registered?: ((outcome: PersistedQueryRegistrationLabel) => void) | undefined;
  readonly logger: Logger;
}

/** How often, at most, refusals are logged: an abuser sends dozens a second. */
const REFUSAL_LOG_INTERVAL_MS = 60_000;

/** What the answer of a registration that was not stored carries in `extensions.persistedQuery`. */
export interface PersistedQueryNotStored {
  readonly stored: false;
  readonly reason: 'REGISTRATION_BUDGET_EXCEEDED' | 'TOO_LARGE';
  readonly message: string;
}

/**
 * The Apollo plugin that decides whether a registration is stored. Apollo stores the text after
 * every `didResolveOperation` hook has run, and only while `metrics.persistedQueryRegister` is
 * still set: clearing it is how a registration is refused (the request goes on).
 */
export function persistedQueryBudgetPlugin(options: PersistedQueryBudgetOptions): ApolloServerPlugin<GraphQLContext> {
  const { budget, perDay, isStored, registered, logger } = options;
  const overBudget: PersistedQueryNotStored = Object.freeze({
    stored: false,
    reason: 'REGISTRATION_BUDGET_EXCEEDED',
    message: `not stored: this user has registered its ${perDay} new persisted queries a day; the query ran, and its hash alone is answered PERSISTED_QUERY_NOT_FOUND: send the text`,
  });
  const tooLarge: PersistedQueryNotStored = Object.freeze({
    stored: false,
    reason: 'TOO_LARGE',
    message: `not stored: the query text is over ${MAX_PERSISTED_QUERY_BYTES} bytes; the query ran, and its hash alone is answered PERSISTED_QUERY_NOT_FOUND: send the text`,
  });
  let loggedAt = Number.NEGATIVE_INFINITY;
  let refusedSinceLog = 0;

  function logRefusal(userId: string): void {
    refusedSinceLog++;
    const now = Date.now();
    if (now - loggedAt < REFUSAL_LOG_INTERVAL_MS) return;
    logger.warn(
      { userId, perDay, refused: refusedSinceLog },
      `persisted query not stored: the user registered its ${perDay} new ones a day (refused: how many, of any user, since the last such line; logged at most every ${REFUSAL_LOG_INTERVAL_MS / 1000} s)`,
    );
    loggedAt = now;
    refusedSinceLog = 0;
  }

  return {
    requestDidStart: async () => {
      let notStored: PersistedQueryNotStored | undefined;
      return {
        didResolveOperation: async ({ metrics, source, queryHash, contextValue }) => {
          if (metrics.persistedQueryRegister !== true || source === undefined) return;
          let outcome: PersistedQueryRegistrationLabel;
          if (!persistable(source)) {
            outcome = 'too_large';
            notStored = tooLarge;
          } else if (await isStored(queryHash)) {
            outcome = 'known';
          } else if ((await budget.take(contextValue.viewer.userId)).allowed) {
            outcome = 'stored';
          } else {
            outcome = 'refused';
            notStored = overBudget;
            logRefusal(contextValue.viewer.userId);
          }
          if (notStored !== undefined) metrics.persistedQueryRegister = false;
          registered?.(outcome);
        },
        willSendResponse: async ({ response }) => {
          if (notStored === undefined || response.body.kind !== 'single') return;
          const result = response.body.singleResult;
          result.extensions = { ...result.extensions, persistedQuery: notStored };
        },
      };
    },
  };
}
