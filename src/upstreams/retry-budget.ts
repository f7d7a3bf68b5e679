/**
 * A retry budget: retries may add at most `ratio` of the calls on top, plus a small reserve.
 * Without one, a struggling upstream gets every call twice exactly when it can least take it.
 * Each call deposits `ratio` tokens and each retry spends one; the tokens never exceed the
 * reserve, which is also what a new budget starts with. So over any run of calls, however long,
 * the retries number at most the reserve plus `ratio` of those calls (README,
 * `upstreams.<name>.retries`): an outage's first calls may spend the reserve at once, then
 * `ratio` of the calls are retried (one in ten at the default 10 %).
 *
 * Why a reserve at all: it is also the most tokens a budget saves, so with none not even a
 * quiet upstream (a few calls a minute on one replica) could ever have a reset connection
 * retried. Why 5, down from 10: it still covers a blip — a handful of calls failing at once, as
 * when an upstream restarts and closes its keep-alive connections — while an outage's first 15
 * calls get 6 retries on top (40 %), where 10 gave them 11 (73 %).
 */
const RETRY_RESERVE = 5;

export class RetryBudget {
  private tokens: number;
  private readonly ratio: number;
  private readonly cap: number;

  /** `ratio` 0.1 allows one retry per ten calls, and `reserve` retries more (none when `ratio` is 0). */
  constructor(ratio: number, reserve = RETRY_RESERVE) {
    this.ratio = ratio;
    this.cap = reserve;
    this.tokens = ratio > 0 ? reserve : 0;
  }

  deposit(): void {
    this.tokens = Math.min(this.cap, this.tokens + this.ratio);
  }

  canSpend(): boolean {
    return this.tokens >= 1;
  }

  /** Spends one retry; concurrent callers may overdraw by a retry or two, which is harmless. */
  spend(): void {
    this.tokens -= 1;
  }

  /**
   * Gives back a retry spent on one that never reached the upstream (refused by the breaker, or
   * cut off before it was sent). A retry is spent when it is decided, before its backoff, so that
   * the calls of an outage failing at once cannot all count on the same token; whether it reaches
   * the upstream is known only after the backoff.
   */
  refund(): void {
    this.tokens = Math.min(this.cap, this.tokens + 1);
  }
}
