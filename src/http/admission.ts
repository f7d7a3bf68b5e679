/**
 * Admission control at the front door: how many GraphQL requests run at once, and which are
 * refused — early and cheaply — when Floorplan cannot answer them in time.
 *
 * A request that would only be served late is worse than one refused at once: it holds memory
 * and a connection, its upstream calls are cut off by the deadline, and the user gets an empty
 * panel after a long wait. What makes Floorplan late is its own CPU, not its upstreams (the
 * request deadline already bounds waiting for those). So the signal is the event loop's own
 * queueing delay — how late a 10 ms watchdog timer fires, and whether the turn running right
 * now has lasted as long as a flood — the one queue every request waits in:
 *
 * - At most `limit` requests run at once. While the loop keeps up (lag under `targetLagMs`),
 *   a request that finds the limit full raises it by one and runs — one step per request that
 *   has completed since (additive increase per round trip, not per arrival): requests waiting
 *   on a slow upstream cost no CPU, and Little's law says their number grows with the
 *   upstream's latency, but a burst on a fresh process must not raise it before anything has
 *   been seen to finish.
 *   Each watchdog tick that finds the loop lagging, after a tick that did too (one late tick
 *   is a GC pause), cuts the limit to 90 % of what is running (multiplicative decrease, as in
 *   Netflix's concurrency-limits AIMD and TCP).
 * - A loop that interleaves hundreds of requests never lags: each turn is short, but every
 *   request needs many turns, and its latency grows with their number (an open-loop flood
 *   grew the limit to 512 and served panels 8 s late). So each {@link RATE_WINDOW_MS} window
 *   also reads the loop's utilization and the time a request spent admitted (Little's law:
 *   requests running ÷ completions per ms). When the loop was saturated (busy ≥
 *   {@link SATURATED_UTILIZATION}) two windows in a row and that time exceeded the target — {@link LATENCY_TOLERANCE}
 *   × its baseline, the quickest seen with CPU to spare (a cold process has none yet: the lag
 *   alone judges it), and never less than `maxQueueWaitMs` (a request may spend inside as
 *   long as it may wait at the door) or a quarter of the request's deadline — the limit is cut in
 *   proportion, at most by half per window, and does not grow until a window is back within
 *   target (the gradient of Netflix's Gradient2 and of Envoy's adaptive concurrency). Slow
 *   upstreams raise the time admitted without saturating the loop, so they never cut it; a
 *   closed loop of many clients, each resending a refusal at once, keeps its limit as long as
 *   their requests stay quick.
 * - A request that finds the limit full while the loop lags waits in a FIFO queue for a slot,
 *   at most `maxQueueWaitMs`. Whether it would get one in time is estimated on arrival from
 *   the recent completion rate, half the wait kept as a margin ({@link QUEUE_ESTIMATE_SHARE});
 *   if not, it is refused there and then (HTTP 503 OVERLOADED), so a refusal costs
 *   microseconds, not a wait. One that outstays the wait anyway is refused when it is due.
 *
 * Written here rather than taken from a library: npm has no maintained adaptive limiter for
 * Node's http server (toobusy-js and overload-protection shed on event-loop lag alone, with no
 * limit or queue; @fastify/under-pressure is Fastify-only), and the algorithm is ~150 lines.
 */

export interface AdmissionOptions {
  /** false: every request runs at once and none is refused (no limit, no queue). */
  readonly enabled: boolean;
  /** The limit in a fresh process, before the loop's lag has been seen. */
  readonly initialLimit: number;
  /** The limit never falls below this, however busy the loop. */
  readonly minLimit: number;
  /** …nor rises above this (a memory bound: every running request holds its buffers). */
  readonly maxLimit: number;
  /** Event-loop lag above this means Floorplan's CPU is the bottleneck: the limit shrinks, new requests queue. */
  readonly targetLagMs: number;
  /** Longest a request may wait for a slot; one that cannot get one in time is refused at once. */
  readonly maxQueueWaitMs: number;
  /**
   * Each request's whole budget (`limits.requestDeadlineMs`): a saturated loop may hold a
   * request for {@link DEADLINE_SHARE} of it, or maxQueueWaitMs if more, before the limit is cut.
   */
  readonly requestDeadlineMs?: number;
}

/** Why a request was refused, as counted in `floorplan_shed_total{reason}`. */
export type ShedReason = 'queue_full' | 'queue_timeout';

/** What the controller reports; tests can pass a plain object. */
export interface AdmissionObserver {
  shed(reason: ShedReason): void;
}

/** What a caller learns on arrival: admitted, or refused and why. */
export type Admission = { readonly admitted: true } | { readonly admitted: false; readonly reason: ShedReason };

const ADMITTED: Admission = Object.freeze({ admitted: true });

interface Waiter {
  readonly since: number;
  readonly done: (admission: Admission) => void;
}

const WATCHDOG_INTERVAL_MS = 10;
/**
 * A turn running this long is a flood being parsed, however on time the last tick was. Fifty
 * arrivals parsed together take ~10–25 ms; a thousand new connections on a cold process, seconds.
 */
const FLOOD_TURN_MS = 50;
const DECREASE_FACTOR = 0.9;
/** Completions are counted, and the loop's utilization read, per window of this length. */
const RATE_WINDOW_MS = 100;
/** A window this busy (share of its wall time the loop ran callbacks) is saturated, as src/upstreams/deadline.ts judges it… */
const SATURATED_UTILIZATION = 0.9;
/** …and one below this has CPU to spare: its time admitted is the baseline (a busier one already queues in the loop). */
const SPARE_UTILIZATION = 0.7;
/** While saturated, a request may spend this many times its baseline time admitted before the limit is cut… */
const LATENCY_TOLERANCE = 3;
/**
 * …and never less than this share of the request's deadline: two hundred clients served in
 * ~230 ms each are not an overload when they have 2 s, and refusing them (a closed-loop client
 * sends again at once) only added refusals to the same load — at an eighth, the bench's
 * saturated rows refused a quarter of their requests.
 */
const DEADLINE_SHARE = 1 / 4;
/**
 * A request joins the queue only if the recent completion rate gets it a slot within this share
 * of `maxQueueWaitMs`; the rest of the wait absorbs a slower window or a GC pause. Estimated
 * against the whole wait, 1,682 of the open loop's 20,172 refusals at 2× (8 %) were queue
 * time-outs, each `maxQueueWaitMs` late (BENCHMARKS.md, session 11).
 */
const QUEUE_ESTIMATE_SHARE = 1 / 2;
/** One window cuts the limit by at most this factor. */
const MAX_LATENCY_CUT = 0.5;
/**
 * The baseline is the least time admitted seen in a window with CPU to spare, rising by this
 * factor per such window when none is as quick (2 %: doubles in ~3.5 s of them). A minimum,
 * not an average: when the upstreams slow down because Floorplan sends them too much, an
 * average would learn their queueing as normal and never cut.
 */
const BASELINE_DRIFT = 1.02;
/** A window with fewer completions than this says too little about the time admitted. */
const MIN_WINDOW_COMPLETIONS = 5;

/** The event loop's utilization (0–1) since the previous call: Node's `performance.eventLoopUtilization`; tests pass their own. */
export interface LoopUtilization {
  sinceLastCall(): number;
}

/** Node's event loop, as {@link AdmissionController} reads it. */
export function nodeLoopUtilization(): LoopUtilization {
  let mark = performance.eventLoopUtilization();
  return {
    sinceLastCall() {
      const utilization = performance.eventLoopUtilization(mark).utilization;
      mark = performance.eventLoopUtilization();
      return utilization;
    },
  };
}

export class AdmissionController {
  private inFlight = 0;
  private limitValue: number;
  private readonly queue: Waiter[] = [];
  /** Index of the queue's head: shifting an array per dequeue is O(n). */
  private head = 0;
  private queueTimer: NodeJS.Timeout | undefined;
  private readonly watchdog: NodeJS.Timeout | undefined;
  private lastTick = performance.now();
  private lastLagMs = 0;
  /** Whether the previous tick was late too. */
  private lagged = false;
  private windowStart = performance.now();
  private windowCompletions = 0;
  /** Completions per millisecond over the last full window. */
  private completionRate = 0;
  /** Requests running integrated over the window's time (request·ms): ÷ its length, Little's L. */
  private runningArea = 0;
  private lastChange = performance.now();
  /** Whether the last window's loop was saturated. */
  private lastWindowSaturated = false;
  /** Whether the last two windows' loop was saturated and the last held requests past the target (see the module comment). */
  private overTarget = false;
  /** The baseline time admitted, ms ({@link BASELINE_DRIFT}); undefined until a window with CPU to spare has been seen. */
  private baselineMs: number | undefined;
  /**
   * Additive increase is earned: each completed request lets the limit grow by one (as AIMD
   * grows by one per round trip), never by arrivals alone. A fresh process hit by a burst
   * otherwise raised its limit with every arrival while its loop, between turns, still "kept
   * up", admitted hundreds at once, and served the last of them past their deadline.
   */
  private growthCredits = 0;

  constructor(
    private readonly options: AdmissionOptions,
    private readonly observer?: AdmissionObserver,
    private readonly loop: LoopUtilization = nodeLoopUtilization(),
  ) {
    this.limitValue = options.initialLimit;
    if (options.enabled) this.watchdog = setInterval(watchdogTick, WATCHDOG_INTERVAL_MS, this).unref();
  }

  /** The current limit on requests running at once (a gauge). */
  get limit(): number {
    return Math.floor(this.limitValue);
  }

  get running(): number {
    return this.inFlight;
  }

  get queued(): number {
    return this.queue.length - this.head;
  }

  /**
   * Whether the loop is keeping up: the last watchdog tick was on time, and the turn running now
   * (a flood of arrivals parsed in one go) has not outlasted a flood's worth of time. A few
   * dozen requests arriving together make one busy turn, not a lag.
   */
  keepingUp(now: number = performance.now()): boolean {
    return !this.overTarget && this.lastLagMs < this.options.targetLagMs && now - this.lastTick < FLOOD_TURN_MS;
  }

  /** The baseline time admitted (ms): the quickest seen while the loop had CPU to spare, drifting up; undefined before any. */
  get baselineLatencyMs(): number | undefined {
    return this.baselineMs;
  }

  /**
   * Asks for a slot. Synchronous when the request runs now or is refused at once; a promise
   * while it waits in the queue. Every admitted request must call {@link leave} exactly once.
   */
  enter(): Admission | Promise<Admission> {
    const now = performance.now();
    if (!this.options.enabled || this.inFlight < this.limit) return this.admit(now);
    if (this.queued === 0 && this.keepingUp(now) && this.limitValue < this.options.maxLimit && this.growthCredits > 0) {
      this.growthCredits -= 1;
      this.limitValue += 1;
      return this.admit(now);
    }
    // Over its target the loop is already behind: a queue would only add its wait to the refusal.
    if (this.options.maxQueueWaitMs === 0 || this.overTarget || !this.wouldGetASlotInTime()) return this.refuse('queue_full');
    return new Promise<Admission>((done) => {
      this.queue.push({ since: now, done });
      this.queueTimer ??= setTimeout(expireQueue, this.options.maxQueueWaitMs, this);
    });
  }

  /** An admitted request has finished (answered, failed or abandoned). */
  leave(): void {
    this.account(performance.now());
    this.inFlight--;
    this.windowCompletions++;
    if (this.growthCredits < this.limitValue) this.growthCredits++;
    if (this.queued > 0) this.admitWaiting(performance.now());
  }

  /** Refuses everything still queued, stops the watchdog (shutdown). */
  close(): void {
    clearInterval(this.watchdog);
    clearTimeout(this.queueTimer);
    this.queueTimer = undefined;
    while (this.queued > 0) this.take().done({ admitted: false, reason: 'queue_timeout' });
  }

  /** Once per watchdog tick: the loop's lag, the window's figures, and the limit's decrease. */
  tick(now: number): void {
    this.lastLagMs = Math.max(0, now - this.lastTick - WATCHDOG_INTERVAL_MS);
    this.lastTick = now;
    if (now - this.windowStart >= RATE_WINDOW_MS) this.endWindow(now);
    // Two late ticks in a row: one alone is a GC pause (Node 24's scavenges take ~10–30 ms), not a queue.
    const lagging = this.lastLagMs > this.options.targetLagMs;
    if (lagging && this.lagged) {
      this.limitValue = Math.max(this.options.minLimit, Math.min(this.limitValue, this.inFlight) * DECREASE_FACTOR);
    }
    this.lagged = lagging;
    if (this.queued > 0) this.admitWaiting(now);
  }

  /** The window's completion rate and time admitted; a cut when a saturated loop holds requests past the target. */
  private endWindow(now: number): void {
    const completions = this.windowCompletions;
    this.account(now);
    const windowMs = now - this.windowStart;
    const running = this.runningArea / windowMs;
    const utilization = this.loop.sinceLastCall();
    const saturated = utilization >= SATURATED_UTILIZATION;
    const saturatedTwice = saturated && this.lastWindowSaturated;
    this.lastWindowSaturated = saturated;
    this.completionRate = completions / windowMs;
    this.windowStart = now;
    this.windowCompletions = 0;
    this.runningArea = 0;
    if (completions < MIN_WINDOW_COMPLETIONS) {
      this.overTarget = false;
      return;
    }
    const latencyMs = running / this.completionRate;
    if (utilization < SPARE_UTILIZATION) {
      this.baselineMs = this.baselineMs === undefined ? latencyMs : Math.min(latencyMs, this.baselineMs * BASELINE_DRIFT);
    }
    // No baseline yet (a cold process, busy from its first request): the lag alone judges it.
    if (this.baselineMs === undefined) return;
    const targetMs = Math.max(LATENCY_TOLERANCE * this.baselineMs, this.options.maxQueueWaitMs, DEADLINE_SHARE * (this.options.requestDeadlineMs ?? 0));
    // Saturated two windows in a row: one busy window is a round of arrivals parsed at once, or a
    // noisy neighbour's steal, not an overload (50 users on a frozen upstream had their next
    // round refused).
    this.overTarget = saturatedTwice && latencyMs > targetMs;
    if (this.overTarget) {
      this.limitValue = Math.max(this.options.minLimit, Math.min(this.limitValue, running) * Math.max(MAX_LATENCY_CUT, targetMs / latencyMs));
    }
  }

  /** Hands free slots to the queue's head, refusing those that waited too long. */
  admitWaiting(now: number): void {
    while (this.queued > 0) {
      const first = this.queue[this.head] as Waiter;
      if (now - first.since >= this.options.maxQueueWaitMs) {
        this.take();
        this.observer?.shed('queue_timeout');
        first.done({ admitted: false, reason: 'queue_timeout' });
      } else if (this.inFlight < this.limit) {
        this.take();
        first.done(this.admit(now));
      } else {
        break;
      }
    }
    clearTimeout(this.queueTimer);
    this.queueTimer = this.queued > 0 ? setTimeout(expireQueue, this.options.maxQueueWaitMs - (now - (this.queue[this.head] as Waiter).since), this) : undefined;
  }

  /** Whether one more waiter would reach a slot within {@link QUEUE_ESTIMATE_SHARE} of maxQueueWaitMs at the recent completion rate. */
  private wouldGetASlotInTime(): boolean {
    // No completions measured yet (a fresh process, cold code): no basis for a wait, so only a short queue.
    if (this.completionRate === 0) return this.queued < this.options.minLimit;
    // After a cut, more run than the limit allows: that many must finish before the queue moves.
    const ahead = this.queued + 1 + Math.max(0, this.inFlight - this.limit);
    return ahead / this.completionRate <= QUEUE_ESTIMATE_SHARE * this.options.maxQueueWaitMs;
  }

  private admit(now: number): Admission {
    this.account(now);
    this.inFlight++;
    return ADMITTED;
  }

  /** Adds the time since the last change at the current number running to the window's area. */
  private account(now: number): void {
    this.runningArea += this.inFlight * (now - this.lastChange);
    this.lastChange = now;
  }

  private take(): Waiter {
    const first = this.queue[this.head] as Waiter;
    this.queue[this.head++] = undefined as unknown as Waiter;
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    return first;
  }

  private refuse(reason: ShedReason): Admission {
    this.observer?.shed(reason);
    return { admitted: false, reason };
  }
}

function watchdogTick(controller: AdmissionController): void {
  controller.tick(performance.now());
}

function expireQueue(controller: AdmissionController): void {
  controller.admitWaiting(performance.now());
}
