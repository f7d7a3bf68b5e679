/**
 * How one upstream's calls are protected, as the service config and each upstream's definition
 * state it, and the values every shipped upstream starts from. Apart from the client
 * (json-http.ts) so that the definitions (definition.ts), which the client's own imports reach,
 * can extend it without a cycle.
 */
export interface ResilienceOptions {
  /** Extra attempts after a failed idempotent read (network error, 502/503/504); 0 disables retry. */
  readonly retries: number;
  /**
   * Retries may add at most this percentage of calls on top of first attempts, plus a reserve of
   * 5 retries a quiet upstream may spend at once (a retry budget, retry-budget.ts); 0: no retries.
   */
  readonly retryBudgetPercent: number;
  /**
   * Share of calls (0–1, exclusive) that must fail — timeouts, network errors, 5xx — within
   * `breakerWindowMs` to open the circuit: calls then fail at once without touching the upstream.
   */
  readonly breakerFailureRatio: number;
  /** The sliding window the failure ratio is measured over. */
  readonly breakerWindowMs: number;
  /** Calls the window must hold before it can open the circuit at all (a quiet upstream is judged on enough evidence). */
  readonly breakerMinimumCalls: number;
  /** How long an open circuit waits before letting one trial call through. */
  readonly breakerHalfOpenAfterMs: number;
  /** Calls in flight at once; more wait in a queue of maxQueued, beyond that they fail at once. */
  readonly maxConcurrent: number;
  readonly maxQueued: number;
}

/** The policies every shipped upstream starts from (definition.ts's STANDARD_DEFAULTS adds its endpoint). */
export const DEFAULT_RESILIENCE: ResilienceOptions = {
  retries: 1,
  retryBudgetPercent: 10,
  breakerFailureRatio: 0.5,
  breakerWindowMs: 10_000,
  breakerMinimumCalls: 20,
  breakerHalfOpenAfterMs: 5000,
  maxConcurrent: 256,
  maxQueued: 1024,
};
