/**
 * The bulkhead in front of one upstream's calls: at most `capacity` calls in flight, up to
 * `queueCapacity` more waiting in the order they came, and beyond that refused at once with
 * cockatiel's {@link BulkheadRejectedError} (what cockatiel's `bulkhead()` policy throws, so a
 * refusal reads the same everywhere: outcome `rejected`).
 *
 * Written here instead of using cockatiel's policy for one reason: that policy is an async
 * function wrapped around the call, so every call pays for its promise and one more await, even
 * when a slot is free, which is every call short of overload. Here a free slot is a counter, and
 * only a call that must wait gets a promise. With the closed breaker passed the same way
 * (json-http.ts), a panel makes 77.7 promises instead of 97.8 (BENCHMARKS.md, session 29). The
 * semantics are cockatiel's: a freed slot goes to the longest-waiting call.
 */
import { BulkheadRejectedError } from 'cockatiel';

export class Bulkhead {
  private active = 0;
  /** Calls waiting for a slot, oldest first: each one's resolve, which hands it the slot. */
  private readonly waiting: Array<() => void> = [];

  constructor(
    readonly capacity: number,
    readonly queueCapacity: number,
  ) {}

  /** Takes a free slot: true if there was one. A caller that gets one must {@link leave} once its call is over. */
  tryEnter(): boolean {
    if (this.active >= this.capacity) return false;
    this.active++;
    return true;
  }

  /**
   * Waits for a slot, after the calls already waiting; it is the caller's once this resolves (and
   * must be given back with {@link leave}). Rejects at once with {@link BulkheadRejectedError}
   * when `queueCapacity` calls are already waiting.
   */
  enter(): Promise<void> {
    if (this.waiting.length >= this.queueCapacity) return Promise.reject(new BulkheadRejectedError(this.capacity, this.queueCapacity));
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Gives a slot back: straight to the longest-waiting call, if any. */
  leave(): void {
    const next = this.waiting.shift();
    if (next === undefined) this.active--;
    else next();
  }

  /** Calls in flight now. */
  get inFlight(): number {
    return this.active;
  }

  /** Calls waiting for a slot now. */
  get queued(): number {
    return this.waiting.length;
  }
}
