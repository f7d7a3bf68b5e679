/** Structured logs (pino, JSON to stdout). Tests pass level "silent". */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({
    name: 'floorplan',
    level,
    base: { pid: process.pid },
    // A token or cookie must never reach a log line, whatever a caller passes in.
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization'], remove: true },
  });
}

/**
 * A request as the lines logged while serving it name it, so an operator can open its decision
 * record (README, "Decision record"): its decisionId, and the traceId of its trace when it was
 * traced. A request's context (src/pipeline) is one; the layers below take this shape, not the
 * context, so they need not know the pipeline.
 */
export interface LoggedRequest {
  readonly decisionId: string;
  /** The request's trace; `traceId` undefined when it is not traced. */
  readonly trace: { readonly traceId: string | undefined };
}

/**
 * The fields naming `request` on a log line: `decisionId`, and `traceId` when it is traced (an
 * undefined field is left out of the line, as the decision record leaves it out). None without a
 * request (a render for no user's request: a test, a tool).
 */
export function requestLogFields(request: LoggedRequest | undefined): { readonly decisionId?: string; readonly traceId?: string } {
  return request === undefined ? {} : { decisionId: request.decisionId, traceId: request.trace.traceId };
}
