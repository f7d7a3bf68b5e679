/** The one error type upstream clients raise: which upstream, and what went wrong. */
import { ErrorCode, FloorplanError } from '../errors.ts';
import type { UpstreamName } from './contracts.ts';

/** How an upstream call ended, as counted in `floorplan_upstream_requests_total{outcome}`. */
export type UpstreamOutcome = 'ok' | 'timeout' | 'http_error' | 'malformed' | 'network_error';

const CODE_OF: Record<Exclude<UpstreamOutcome, 'ok'>, ErrorCode> = {
  timeout: ErrorCode.UPSTREAM_TIMEOUT,
  http_error: ErrorCode.UPSTREAM_HTTP_STATUS,
  malformed: ErrorCode.UPSTREAM_MALFORMED,
  network_error: ErrorCode.UPSTREAM_NETWORK,
};

export class UpstreamError extends FloorplanError {
  readonly upstream: UpstreamName;
  readonly outcome: Exclude<UpstreamOutcome, 'ok'>;

  constructor(upstream: UpstreamName, outcome: Exclude<UpstreamOutcome, 'ok'>, message: string, options?: { cause?: unknown }) {
    super(CODE_OF[outcome], `${upstream}: ${message}`, options);
    this.name = 'UpstreamError';
    this.upstream = upstream;
    this.outcome = outcome;
  }
}

export function isUpstreamError(error: unknown): error is UpstreamError {
  return error instanceof UpstreamError;
}
