/**
 * A request's upstream budget: the moment by which every upstream call made for it must
 * have answered. A point in time rather than an AbortSignal: each call's own timer is set
 * to whichever comes first, its per-attempt timeout or the deadline, so a call still running
 * when the budget is spent is abandoned just the same — without an AbortController, a timer
 * and an abort listener per call, or a timer per request to cancel once it is answered.
 *
 * A budget does not run out while Floorplan's own event loop is saturated (see
 * {@link saturatedUntil}). When a burst of connections keeps the loop busy for a second, the
 * upstream answers sit unread in their sockets: a timer firing then would turn Floorplan's own
 * overload into an empty panel and, counted against the upstream, into an open breaker. So an
 * expiry that falls while the loop is saturated moves to just after it (one grace period to
 * read what arrived), at most {@link MAX_STRETCH} times the budget. Saturated means busy for
 * {@link SUSTAINED_MS} in a row, or refusing requests as overloaded ({@link noteOverload}). A
 * loop that is merely waiting — on a frozen upstream, say — is not saturated, and its
 * deadlines fire on time.
 * Admission control (src/http/admission.ts) is what keeps saturation short.
 */
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import type { UpstreamName } from './registry.ts';

/** How often the loop's utilization is sampled. */
const SAMPLE_MS = 25;
/** A sample period this busy (share of wall time) counts as busy… */
const BUSY = 0.9;
/** …and busy periods in a row this long as saturated: a flood, not the blip of answering a few dozen requests at once. */
const SUSTAINED_MS = 100;
/** After saturation ends, this long to read the answers that queued up meanwhile. */
const GRACE_MS = 50;
/** However long the loop stays saturated, a budget stretches at most this many times. */
export const MAX_STRETCH = 8;
/** An upstream asked and silent for this many request budgets is not answering ({@link Deadline.cutOff}). */
const SILENT_BUDGETS = 2;
/** Timers watching a deadline are armed in steps of this many ms (see {@link Deadline.timerMs}). */
export const TIMER_STEP_MS = 10;

let lastSample = performance.now();
let lastUtilization: EventLoopUtilization | undefined;
let saturatedAt = -Infinity;
/** The last refusal for overload ({@link noteOverload}). */
let overloadedAt = -Infinity;
/** Start of the current run of busy sample periods; undefined when the last one was not busy. */
let busySince: number | undefined;
let sampler: NodeJS.Timeout | undefined;

function sample(): void {
  const now = performance.now();
  // A sampler that fires late was held up by one long turn: that period was busy too.
  const busy = now - lastSample > 2 * SAMPLE_MS || performance.eventLoopUtilization(lastUtilization).utilization >= BUSY;
  if (!busy) busySince = undefined;
  else if (busySince === undefined) busySince = lastSample;
  if (busySince !== undefined && now - busySince >= SUSTAINED_MS) saturatedAt = now;
  lastUtilization = performance.eventLoopUtilization();
  lastSample = now;
}

/**
 * Tells the deadlines that Floorplan is refusing work because it is overloaded (admission
 * control calls it on every refusal): while it is, the loop is saturated by definition, even
 * in a moment its utilization dips between two waves of arrivals.
 */
export function noteOverload(now: number = performance.now()): void {
  if (now > saturatedAt) saturatedAt = now;
  if (now > overloadedAt) overloadedAt = now;
}

/**
 * What the deadlines know of one upstream: when it last answered, and since when it has been
 * asked without answering. Its client writes it (two field writes per call); a deadline that
 * cuts off a wait for that upstream reads it ({@link Deadline.cutOff}).
 */
export class UpstreamSilence {
  /** performance.now() of its last answer: a success, an error status or a body that breaks its contract (anything but silence). */
  private answeredAt = -Infinity;
  /** When the first call since that answer was made; at or before {@link answeredAt} when none has been. */
  private askedSince = -Infinity;

  /** A call to it is made at `now`. */
  asked(now: number): void {
    if (this.askedSince <= this.answeredAt) this.askedSince = now;
  }

  /** It answered a call at `now`. */
  answered(now: number): void {
    this.answeredAt = now;
  }

  /** How long, at `now`, it has been asked without answering anything: 0 if it answered since. */
  silentFor(now: number): number {
    return this.askedSince > this.answeredAt ? now - this.askedSince : 0;
  }
}

const silences = new Map<UpstreamName, UpstreamSilence>();

/** The one {@link UpstreamSilence} of `upstream` in this process. */
export function silenceOf(upstream: UpstreamName): UpstreamSilence {
  let silence = silences.get(upstream);
  if (silence === undefined) silences.set(upstream, (silence = new UpstreamSilence()));
  return silence;
}

/**
 * Until when an expiry should wait because the event loop is, or just was, saturated: a time
 * at or before `now` when it is not. Started on first use; the sampler is unref'd.
 */
export function saturatedUntil(now: number = performance.now()): number {
  if (sampler === undefined) {
    lastSample = now;
    lastUtilization = performance.eventLoopUtilization();
    sampler = setInterval(sample, SAMPLE_MS).unref();
  }
  // A sampler held up past two periods means the loop has been busy since its last sample (as
  // sample() counts it): saturated right now if that busy run is already long enough to count —
  // one long turn, or a starved machine's loop that was saturated at its last sample.
  if (now - lastSample > 2 * SAMPLE_MS && now - (busySince ?? lastSample) >= SUSTAINED_MS) return now + GRACE_MS;
  return saturatedAt + GRACE_MS;
}

/** When something due at `dueAt` (of a `budgetMs` started at `startedAt`) should expire, given saturation. */
export function expiryAt(startedAt: number, budgetMs: number, now: number = performance.now()): number {
  const dueAt = startedAt + budgetMs;
  const until = saturatedUntil(now);
  if (until <= dueAt) return dueAt;
  return Math.min(until, startedAt + MAX_STRETCH * budgetMs);
}

export class Deadline {
  private readonly startedAt: number;
  /**
   * Undefined until something acts on the budget having run out ({@link passed}); from then on it
   * stays spent, and this says whether the loop was still saturated when it ran out.
   */
  private spent: { readonly whileSaturated: boolean } | undefined;
  /** Whether this deadline cut off a wait for an upstream that had long been silent ({@link cutOff}). */
  private cutSilent = false;

  /** `startedAt` (performance.now()) defaults to now. */
  constructor(
    private readonly budgetMs: number,
    startedAt: number = performance.now(),
  ) {
    this.startedAt = startedAt;
  }

  /**
   * Milliseconds left; zero or less once passed. It does not run out while the process is
   * saturated. Reading it is not acting on it: a budget read as spent between two samples can
   * still be stretched when the next sample finds the loop saturated (a cold process on a starved
   * machine reads so between its slow first turns).
   */
  remainingMs(): number {
    if (this.spent !== undefined) return 0;
    const now = performance.now();
    return expiryAt(this.startedAt, this.budgetMs, now) - now;
  }

  /**
   * The delay to arm a timer that watches this deadline: the time left rounded down to a
   * multiple of {@link TIMER_STEP_MS}, or, under one step, rounded up. Node keeps one list per
   * timer duration; at the exact time left, concurrent calls each made a list of their own and
   * dropped it from the timers' queue again (~2 µs per request in the CPU profile, against the
   * peer's ~0.4). A timer armed so fires early at most by a step; its owner checks {@link passed}
   * and arms again.
   */
  timerMs(): number {
    const remaining = this.remainingMs();
    return remaining >= TIMER_STEP_MS ? Math.floor(remaining / TIMER_STEP_MS) * TIMER_STEP_MS : Math.max(1, Math.ceil(remaining));
  }

  /**
   * Whether the budget has run out, for a caller that acts on it (abandons a call, or does not
   * make one). Once it has said so it says so for good: a call abandoned for the deadline must
   * not be followed by a budget that saturation gave back, or the panel that lost that call's
   * floors is not seen as lost to saturation ({@link spentBySaturation}).
   */
  get passed(): boolean {
    if (this.spent === undefined) {
      const now = performance.now();
      if (expiryAt(this.startedAt, this.budgetMs, now) > now) return false;
      // Still saturated (or in the grace after it): the stretch's cap, not an upstream, ended it.
      this.spent = { whileSaturated: saturatedUntil(now) > now };
    }
    return true;
  }

  /**
   * Whether the budget has run out and Floorplan's own saturation is why: it ran out while the
   * loop was still saturated (at {@link MAX_STRETCH}), when answers may be sitting unread; or
   * Floorplan was refusing requests as overloaded at some moment since this one started. A panel
   * that lost floors to such a deadline would blame healthy upstreams for Floorplan's overload.
   * The second case is a request admitted during a burst on a cold process: it runs behind the
   * burst's parsing and refusals and its own cold code, and its upstreams' answers can miss a
   * deadline that falls after the burst is over (the burst test saw 1 to 14 of 1,000 answers, in
   * a quarter of its runs, as panels degraded naming a healthy settlement).
   * A budget that saturation stretched, and that ran out after the saturation and its grace
   * ended, is the upstream's: it had the budget, the stretch and a free loop to answer in. So is
   * one that ran out on time while the loop was idle, however busy the loop is afterwards
   * (rendering the panels a frozen upstream degraded, say). And so is one that cut off an
   * upstream which had been asked and had answered nothing for longer than one request could
   * wait ({@link cutOff}): a hung upstream during bursts on a cold replica is not Floorplan's
   * overload, and refusing every panel of every burst (each client retrying into the next)
   * would turn it into an outage.
   */
  spentBySaturation(): boolean {
    return this.passed && (this.spent?.whileSaturated === true || (overloadedAt + GRACE_MS > this.startedAt && !this.cutSilent));
  }

  /**
   * This deadline ended a wait for `upstream`'s answer (a call abandoned, or its shared load no
   * longer waited for). Noted against the request when that upstream has been asked without
   * answering anything for {@link SILENT_BUDGETS} budgets: longer than any one request waits, so
   * more than one request's calls went unanswered and what this one lost is the upstream's doing,
   * whatever Floorplan's load. One late answer is not enough: on a cold replica in a burst, the
   * last request admitted can be the only one still waiting on a healthy upstream when its
   * deadline runs out (the burst test's pipelined requests on a starved machine).
   */
  cutOff(upstream: UpstreamName): void {
    if (silenceOf(upstream).silentFor(performance.now()) >= SILENT_BUDGETS * this.budgetMs) this.cutSilent = true;
  }
}
