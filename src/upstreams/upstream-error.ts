/** The one error type upstream clients raise: which upstream, and what went wrong. */
import { ErrorCode, FloorplanError } from '../errors.ts';
import type { AnswerViolation } from './definition.ts';
import type { UpstreamName } from './registry.ts';

/**
 * How an upstream call ended, as counted in `floorplan_upstream_requests_total{outcome}`:
 * `circuit_open` (not attempted: the breaker is open; a call whose retry the breaker refuses
 * keeps its sent attempt's outcome), `rejected` (not attempted: bulkhead
 * full), `killed` (not attempted: an operator's kill switch is on), `deadline` (cut off, or
 * not attempted, because Floorplan's own request deadline passed — the process was busy or
 * the call waited in Floorplan's queues; not the upstream's failure, so breakers and retries
 * ignore it). `timeout` is the upstream's: no complete answer within its timeout of the
 * request being sent. `malformed`: a 2xx answer that breaks its contract — not exact JSON, refused
 * by its schema, or leaving out something asked (the upstream definition's `answersAll`; the
 * loaders still serve what it did answer). `inconsistent`: the call succeeded and its answer kept
 * its contract, but it disagrees with the other upstreams' answers (see {@link AnswerViolation});
 * counted in `floorplan_upstream_answers_rejected_total`, not as a call outcome (the call counts `ok`).
 */
export type UpstreamOutcome = 'ok' | 'timeout' | 'deadline' | 'http_error' | 'malformed' | 'network_error' | 'circuit_open' | 'rejected' | 'killed' | 'inconsistent';

export type { AnswerViolation } from './definition.ts';

const CODE_OF = {
  timeout: ErrorCode.UPSTREAM_TIMEOUT,
  deadline: ErrorCode.UPSTREAM_DEADLINE,
  http_error: ErrorCode.UPSTREAM_HTTP_STATUS,
  malformed: ErrorCode.UPSTREAM_MALFORMED,
  network_error: ErrorCode.UPSTREAM_NETWORK,
  circuit_open: ErrorCode.UPSTREAM_CIRCUIT_OPEN,
  rejected: ErrorCode.UPSTREAM_REJECTED,
  killed: ErrorCode.UPSTREAM_KILLED,
  inconsistent: ErrorCode.UPSTREAM_INCONSISTENT,
} as const satisfies Record<Exclude<UpstreamOutcome, 'ok'>, ErrorCode>;

export class UpstreamError extends FloorplanError<(typeof CODE_OF)[keyof typeof CODE_OF]> {
  readonly upstream: UpstreamName;
  readonly outcome: Exclude<UpstreamOutcome, 'ok'>;
  /** The HTTP status, for `http_error`. */
  readonly status: number | undefined;
  /** What the answer broke, for `inconsistent`. */
  readonly violation: AnswerViolation | undefined;

  constructor(
    upstream: UpstreamName,
    outcome: Exclude<UpstreamOutcome, 'ok'>,
    message: string,
    options?: { cause?: unknown; status?: number; violation?: AnswerViolation },
  ) {
    super(CODE_OF[outcome], { upstream, detail: message }, options);
    this.name = 'UpstreamError';
    this.upstream = upstream;
    this.outcome = outcome;
    this.status = options?.status;
    this.violation = options?.violation;
  }
}

export function isUpstreamError(error: unknown): error is UpstreamError {
  return error instanceof UpstreamError;
}
