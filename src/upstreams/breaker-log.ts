/**
 * What the upstreams' circuit breakers write to the log: one warning when an outage starts and one
 * info line when it ends, whatever happens between. A hung or refusing upstream fails a trial call
 * every breakerHalfOpenAfterMs for as long as it is down, and each failure opens its breaker again;
 * those are debug lines, so an outage of an hour is two lines, not thousands of warnings.
 * (/metrics keeps every change: floorplan_upstream_breaker_state, floorplan_upstream_breaker_opened_total.)
 */
import { UnreachableCaseError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import type { BreakerObserver } from './json-http.ts';
import type { UpstreamName } from './registry.ts';

/** Where the breakers' lines go. */
export type BreakerLogger = Pick<Logger, 'warn' | 'info' | 'debug'>;

/** One upstream's breaker, from the moment it opened after being closed. */
interface Outage {
  /** When it opened, on `now`'s clock. */
  readonly since: number;
  /** Trial calls that failed since, each opening the breaker again. */
  failedTrials: number;
}

/**
 * A breaker observer (`observeBreaker` of the upstream clients) that logs once per outage: at
 * warn when an upstream's breaker opens after being closed, with the failure that opened it
 * (`reason`); at info when it closes again, with how long it was not closed (`openMs`) and how
 * many trial calls failed meanwhile (`failedTrials`). Each half-open trial and each re-opening
 * after a failed one (with its `reason`) is a debug line. `now` reads a monotonic clock in
 * milliseconds; default `performance.now`.
 */
export function logBreakerOutages(logger: BreakerLogger, now: () => number = () => performance.now()): BreakerObserver {
  const outages = new Map<UpstreamName, Outage>();
  return (upstream, state, reason) => {
    const outage = outages.get(upstream);
    switch (state) {
      case 'open':
        if (outage === undefined) {
          outages.set(upstream, { since: now(), failedTrials: 0 });
          logger.warn({ upstream, state, reason }, `${upstream} circuit breaker is open: its calls fail at once until a trial call is answered`);
        } else {
          // Only a failed trial opens a breaker that has not closed since it last opened.
          outage.failedTrials += 1;
          logger.debug({ upstream, state, reason, failedTrials: outage.failedTrials }, `${upstream} circuit breaker is open again: its trial call failed`);
        }
        return;
      case 'half-open':
        logger.debug({ upstream, state }, `${upstream} circuit breaker is half-open: letting one trial call through`);
        return;
      case 'closed':
        // A breaker closes only from half-open, so after an outage this observer has seen.
        if (outage === undefined) return;
        outages.delete(upstream);
        logger.info(
          { upstream, state, openMs: Math.round(now() - outage.since), failedTrials: outage.failedTrials },
          `${upstream} circuit breaker is closed: its calls go through again`,
        );
        return;
      default:
        throw new UnreachableCaseError(state);
    }
  };
}
