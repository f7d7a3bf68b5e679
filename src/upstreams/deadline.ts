/**
 * A request's upstream budget: the moment by which every upstream call made for it must
 * have answered. A point in time rather than an AbortSignal: each call's own timer is set
 * to whichever comes first, its per-attempt timeout or the deadline, so a call still running
 * when the budget is spent is abandoned just the same — without an AbortController, a timer
 * and an abort listener per call, or a timer per request to cancel once it is answered.
 */
export class Deadline {
  private readonly at: number;

  constructor(budgetMs: number) {
    this.at = performance.now() + budgetMs;
  }

  /** Milliseconds left; zero or less once the deadline has passed. */
  remainingMs(): number {
    return this.at - performance.now();
  }

  get passed(): boolean {
    return this.remainingMs() <= 0;
  }
}
