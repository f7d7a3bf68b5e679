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
