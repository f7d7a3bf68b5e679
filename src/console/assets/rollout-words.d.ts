/**
 * Types of ./rollout-words.js, the console's rollout wording (plain browser JavaScript, no build
 * step), for the tests that import it.
 */

/** A candidate's rollout as the admin API answers it (src/layouts/revisions/candidates.ts CandidateRollout); a list left out, or a null version, means any. */
export interface RolloutWords {
  readonly allowList: readonly string[];
  readonly percentage: number;
  readonly segments?: readonly string[];
  readonly platforms?: readonly string[];
  readonly minAppVersion?: string | null;
}

/** Who a rollout selects, in words: "the allow-listed user u1001 and 10 % of other users by a stable hash of the user id (only segments plus)". */
export function whom(rollout: RolloutWords): string;

/** Who starts and who stops getting the candidate when its rollout goes from `before` to `after`, a sentence each; empty when nobody's layout changes. */
export function rolloutChanges(before: RolloutWords, after: RolloutWords): string[];
