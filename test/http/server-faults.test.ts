import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpServer } from '../../src/http/server.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { createMetrics } from '../../src/observability/metrics.ts';
import { NO_TRACE } from '../../src/observability/tracing.ts';

describe('a fault on the way into /graphql', () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.close();
    server = undefined;
  });

  it('is answered as a masked 500, and the process goes on serving', async () => {
    let broken = true;
    server = createHttpServer({
      // Never reached: the trace is started before anything runs the request.
      apollo: undefined as never,
      context: async () => ({}),
      tracing: {
        enabled: true,
        startRequest: () => {
          if (broken) throw new Error('the tracer broke');
          return NO_TRACE;
        },
        shutdown: async () => {},
      },
      metrics: createMetrics({ defaultMetrics: false }),
      logger: createLogger('silent'),
      bodyLimitBytes: 1024,
      isReady: () => true,
    }).public;
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });

    broken = false;
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/floorplan_http_request_duration_seconds_count\{[^}]*route="\/graphql"[^}]*status="500"[^}]*\} 1/);
  });
});
