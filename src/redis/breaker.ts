/**
 * The breaker every Redis user (promotion cache, APQ store, rate limiter) puts in front of its
 * fail-fast client, and the option checks they share. Once Redis has failed a few times in a
 * row it is skipped entirely, so a refused or frozen Redis costs nothing per request; one
 * probe at a time finds out when it is back.
 */
import { BrokenCircuitError, circuitBreaker, CircuitState, ConsecutiveBreaker, handleAll } from 'cockatiel';
import type { RedisClient } from './client.ts';
import { describeThrown, UnreachableCaseError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import type { FloorplanMetrics, RedisBreakerState } from '../observability/metrics.ts';

// ---------------------------------------------------------------------------------------------
// The Redis breaker
// ---------------------------------------------------------------------------------------------

/** The breaker in front of Redis; `cache.redisBreaker` in the service config. */
export interface RedisBreakerSettings {
  /** Consecutive failed Redis calls (errors or command timeouts) that open the breaker. */
  readonly consecutiveFailures: number;
  /**
   * How long an open breaker skips Redis entirely before it probes Redis (half-open): the first
   * call after that long is the probe, or a PING of the breaker's own when no call comes (an idle
   * replica), so an open breaker says no more than this stale once Redis is back. A good probe
   * closes the breaker, a failed one re-opens it for this long again.
   */
  readonly halfOpenAfterMs: number;
}

/** What a breaker reports; tests can pass a plain object. */
export type RedisBreakerMetrics = Pick<FloorplanMetrics, 'redisBreakerState'>;

/** Where a breaker says that it opened and closed. */
export type RedisBreakerLogger = Pick<Logger, 'warn' | 'info' | 'debug'>;

/**
 * The outcome of one guarded Redis call; it never rejects. `skipped` means Redis was not
 * contacted at all (breaker open, or another call is probing it).
 */
export type RedisAttempt<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly skipped: boolean };

/** A Redis client behind a circuit breaker. */
export interface RedisGuard {
  /**
   * Runs `command` against Redis unless the breaker is open or half-open (another call is
   * probing). A rejection or a timeout counts towards opening the breaker and comes back as
   * `{ ok: false }`; so does everything `command` throws, so keep parsing out of it.
   */
  attempt<T>(command: (redis: RedisClient) => Promise<T>): Promise<RedisAttempt<T>>;
  /** The breaker's current state. */
  readonly state: RedisBreakerState;
  /** Stops reporting state changes, and probing Redis of its own. The Redis client is the caller's to close. */
  close(): void;
}

export interface GuardRedisOptions {
  /** Names the breaker in metrics (`floorplan_redis_breaker_open{name}`), e.g. "promotion". */
  readonly name: string;
  readonly breaker: RedisBreakerSettings;
  /** Receives every state change, and `closed` at once. Default: none. */
  readonly metrics?: RedisBreakerMetrics | undefined;
  /**
   * Told once per outage: when the breaker opens, with the failure that opened it, and when it
   * closes again (a failed probe re-opening it is only a debug line). Default: nothing is logged.
   */
  readonly logger?: RedisBreakerLogger | undefined;
}

/** How soon a probe found not quite due yet is tried again. */
const PROBE_RETRY_MS = 10;

const SKIPPED = Object.freeze({ ok: false, skipped: true } as const);
const FAILED = Object.freeze({ ok: false, skipped: false } as const);

/**
 * Puts a cockatiel circuit breaker (ConsecutiveBreaker) in front of a fail-fast Redis client.
 *
 * Unlike cockatiel's own half-open state, where every caller waits for the probe to finish,
 * callers arriving during a probe skip Redis at once: with Redis frozen, only the probe pays
 * the command timeout. And unlike it, an open breaker does not wait for a call to probe: it
 * PINGs Redis itself once `halfOpenAfterMs` has passed, so that its state (and the
 * floorplan_redis_breaker_open alert) follows Redis rather than the traffic.
 */
export function guardRedis(redis: RedisClient, options: GuardRedisOptions): RedisGuard {
  const client = getValidRedis(redis, 'redis');
  const { name, breaker: settings } = options;
  const policy = circuitBreaker(handleAll, {
    halfOpenAfter: settings.halfOpenAfterMs,
    breaker: new ConsecutiveBreaker(settings.consecutiveFailures),
  });
  const { metrics, logger } = options;
  metrics?.redisBreakerState(name, 'closed');
  const commandTimeoutMs = commandTimeoutOf(client);
  const open = `redis ${name} circuit breaker is open: carrying on without Redis until a probe answers`;
  // Whether this outage has been logged: a frozen Redis fails a probe every halfOpenAfterMs.
  let told = false;
  let probeTimer: NodeJS.Timeout | undefined;
  // Due once the breaker lets a call through again; a call arriving first is the probe instead.
  // Its PING runs through the policy, so a failure re-opens the breaker, which schedules the next.
  const probeWhenDue = (delayMs: number): void => {
    clearTimeout(probeTimer);
    probeTimer = setTimeout(() => {
      probeTimer = undefined;
      if (policy.state !== CircuitState.Open) return;
      policy.execute(() => client.ping()).catch((error: unknown) => {
        // Timers and the policy's clock can disagree by a millisecond: not yet due, try again.
        if (error instanceof BrokenCircuitError && policy.state === CircuitState.Open) probeWhenDue(PROBE_RETRY_MS);
      });
    }, delayMs);
    // An open breaker must not hold a process that is otherwise done.
    probeTimer.unref();
  };
  const subscription = policy.onStateChange((state) => {
    metrics?.redisBreakerState(name, breakerStateName(state));
    if (state === CircuitState.Open) probeWhenDue(settings.halfOpenAfterMs);
    if (logger === undefined) return;
    if (state === CircuitState.Open) {
      // Opened by the failure just judged: cockatiel keeps it as the breaker's last.
      const last = policy.lastFailure;
      const line = { breaker: name, reason: last !== undefined && 'error' in last ? describeThrown(last.error) : undefined, commandTimeoutMs };
      if (told) {
        logger.debug(line, `redis ${name} circuit breaker is open again: its probe failed`);
      } else if (client.status === 'ready') {
        // Connected, yet failing (frozen, or too slow for the command timeout): no other line says so.
        logger.warn(line, open);
      } else {
        // Not connected: the client has warned "redis unavailable; …" already, once for every
        // breaker sharing it; this only says which of them goes without Redis.
        logger.info(line, open);
      }
      told = true;
    } else if (state === CircuitState.Closed && told) {
      told = false;
      logger.info({ breaker: name }, `redis ${name} circuit breaker is closed: using Redis again`);
    }
  });

  return {
    async attempt<T>(command: (redis: RedisClient) => Promise<T>): Promise<RedisAttempt<T>> {
      if (policy.state === CircuitState.HalfOpen || policy.state === CircuitState.Isolated) return SKIPPED;
      try {
        return { ok: true, value: await policy.execute(() => command(client)) };
      } catch (error) {
        return error instanceof BrokenCircuitError ? SKIPPED : FAILED;
      }
    },
    get state() {
      return breakerStateName(policy.state);
    },
    close() {
      subscription.dispose();
      clearTimeout(probeTimer);
      probeTimer = undefined;
    },
  };
}

/** The client's command timeout, which getValidRedis has checked is set. */
function commandTimeoutOf(client: RedisClient): number | undefined {
  const options = client.options as { commandTimeout?: number; redisOptions?: { commandTimeout?: number } };
  return options.commandTimeout ?? options.redisOptions?.commandTimeout;
}

function breakerStateName(state: CircuitState): RedisBreakerState {
  switch (state) {
    case CircuitState.Closed:
      return 'closed';
    case CircuitState.HalfOpen:
      return 'half-open';
    case CircuitState.Open:
    case CircuitState.Isolated:
      return 'open';
    default:
      throw new UnreachableCaseError(state);
  }
}

// ---------------------------------------------------------------------------------------------
// The one option check left: a client that would hang a request during an outage (numbers and
// names come from the service config, validated once at start)
// ---------------------------------------------------------------------------------------------

/** @internal */
export function getValidRedis(redis: unknown, option: string): RedisClient {
  const candidate = redis as Partial<RedisClient> | null;
  if (typeof candidate !== 'object' || candidate === null || typeof candidate.sendCommand !== 'function' || candidate.options === undefined) {
    throw new TypeError(`\`${option}\` must be an ioredis client, but got: ${describeOption(redis)}`);
  }
  // ioredis' defaults queue commands while disconnected and wait without bound on a frozen
  // server; a cache or limiter built on such a client would hang requests during an outage.
  // A cluster client keeps the per-connection settings (the command timeout) under redisOptions.
  const options = candidate.options as { enableOfflineQueue?: boolean; commandTimeout?: number; redisOptions?: { commandTimeout?: number } };
  const enableOfflineQueue = options.enableOfflineQueue;
  const commandTimeout = options.commandTimeout ?? options.redisOptions?.commandTimeout;
  if (enableOfflineQueue !== false || typeof commandTimeout !== 'number' || commandTimeout <= 0) {
    throw new TypeError(
      `\`${option}\` must fail fast (open it with openRedis: enableOfflineQueue false and a commandTimeout), ` +
        `but got: enableOfflineQueue ${String(enableOfflineQueue)}, commandTimeout ${String(commandTimeout)}`,
    );
  }
  return redis as RedisClient;
}

/** @internal */
export function describeOption(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'object' && value !== null) return Array.isArray(value) ? 'an array' : 'an object';
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}
