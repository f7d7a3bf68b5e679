/** The one error type upstream clients raise: which upstream, and what went wrong. */
import { ErrorCode, FloorplanError } from '../errors.ts';
import type { UpstreamName } from './contracts.ts';

/**
 * How an upstream call ended, as counted in `floorplan_upstream_requests_total{outcome}`:
 * `circuit_open` (not attempted: the breaker is open), `rejected` (not attempted: bulkhead
 * full), `killed` (not attempted: an operator's kill switch is on), `deadline` (cut off, or
 * not attempted, because Floorplan's own request deadline passed — the process was busy or
 * the call waited in Floorplan's queues; not the upstream's failure, so breakers and retries
 * ignore it). `timeout` is the upstream's: no complete answer within its timeout of the
 * request being sent.
 */
export type UpstreamOutcome = 'ok' | 'timeout' | 'deadline' | 'http_error' | 'malformed' | 'network_error' | 'circuit_open' | 'rejected' | 'killed';

const CODE_OF: Record<Exclude<UpstreamOutcome, 'ok'>, ErrorCode> = {
  timeout: ErrorCode.UPSTREAM_TIMEOUT,
  deadline: ErrorCode.UPSTREAM_DEADLINE,
  http_error: ErrorCode.UPSTREAM_HTTP_STATUS,
  malformed: ErrorCode.UPSTREAM_MALFORMED,
  network_error: ErrorCode.UPSTREAM_NETWORK,
  circuit_open: ErrorCode.UPSTREAM_CIRCUIT_OPEN,
  rejected: ErrorCode.UPSTREAM_REJECTED,
  killed: ErrorCode.UPSTREAM_KILLED,
};

export class UpstreamError extends FloorplanError {
  readonly upstream: UpstreamName;
  readonly outcome: Exclude<UpstreamOutcome, 'ok'>;
  /** The HTTP status, for `http_error`. */
  readonly status: number | undefined;

  constructor(
    upstream: UpstreamName,
    outcome: Exclude<UpstreamOutcome, 'ok'>,
    message: string,
    options?: { cause?: unknown; status?: number },
  ) {
    super(CODE_OF[outcome], `${upstream}: ${message}`, options);
    this.name = 'UpstreamError';
    this.upstream = upstream;
    this.outcome = outcome;
    this.status = options?.status;
  }
}

export function isUpstreamError(error: unknown): error is UpstreamError {
  return error instanceof UpstreamError;
}
