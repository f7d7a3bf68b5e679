/**
 * A retry budget: retries may add at most `ratio` of the first attempts on top. Without one,
 * a struggling upstream gets every call twice exactly when it can least take it.
 * Each call deposits `ratio` tokens (capped); each retry spends one.
 */
export class RetryBudget {
  private tokens: number;
  private readonly ratio: number;
  private readonly cap: number;

  /** `ratio` 0.1 allows one retry per ten calls; a small reserve lets a quiet service retry at all. */
  constructor(ratio: number, reserve = 10) {
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
}
