/**
 * One upstream call as (d) and the tuned peer (f) make it, and as the upstream-parse row's bare
 * calls do: the least undici offers. `dispatch` on a pool with a handler that collects the body,
 * then JSON.parse; any status but 200 rejects. No stream, no promise layers, no timeout.
 */
import type { Dispatcher, Pool } from 'undici';

const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json' };

/** `method path` (with `body`) on `pool`, whose origin is `origin`; its answer parsed as JSON. */
export function dispatchJson<T>(pool: Pool, origin: string, method: 'GET' | 'POST', path: string, body?: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let status = 0;
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart: () => undefined,
      // undici 8 refuses a handler without every response callback.
      onResponseStart: (_controller, statusCode) => {
        status = statusCode;
      },
      onResponseData: (_controller, chunk) => void chunks.push(chunk),
      onResponseEnd: () => {
        if (status !== 200) reject(new Error(`${method} ${path}: HTTP ${status}`));
        else resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as T);
      },
      onResponseError: (_controller, error) => reject(error),
    };
    pool.dispatch({ origin, method, path, headers: JSON_HEADERS, body }, handler);
  });
}
