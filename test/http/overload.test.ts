/**
 * The front door under overload and hostile clients: OVERLOADED refusals that agree with
 * their Retry-After, health endpoints that are never refused, slow-header sockets closed on
 * time, a cap on open connections, and wrong admin credentials throttled per source address.
 */
import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { PANEL_QUERY, startHarness, type Harness } from '../support/harness.ts';
import { startFloorplanProcess } from '../support/floorplan-process.ts';
import { eventually, metricValue, scrapeMetrics } from '../support/measure.ts';
import { freePort } from '../support/processes.ts';

let harnesses: Harness[] = [];
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.close();
});

async function harness(...args: Parameters<typeof startHarness>): Promise<Harness> {
  const h = await startHarness(...args);
  harnesses.push(h);
  return h;
}

const panel = (h: Harness, user: string) => h.graphql(user, PANEL_QUERY, { scene: 'cart-bottom-sheet' });

/** Resolves when the server closes `socket`, with how long that took. */
function closedAfter(socket: Socket): Promise<number> {
  const started = performance.now();
  return new Promise((resolve) => {
    socket.on('error', () => undefined);
    socket.once('close', () => resolve(performance.now() - started));
  });
}

describe('admission control at the front door', () => {
  it('refuses a request it cannot start in time with 503 OVERLOADED, whose retryAfterMs agrees with Retry-After', async () => {
    // One request at a time, no queue: while a slow panel (cart +300 ms) runs, the next is refused at once.
    const h = await harness({
      faults: 'cart:latency:300',
      config: { server: { admission: { enabled: true, initialLimit: 1, minLimit: 1, maxLimit: 1, targetLagMs: 1000, maxQueueWaitMs: 0, retryAfterSeconds: 2 } } },
    });
    const slow = panel(h, 'u1001');
    // Wait until the slow panel holds the one slot.
    await eventually(
      () => scrapeMetrics(h.url),
      (text) => metricValue(text, 'floorplan_admission_requests', { state: 'running' }) === 1,
    );
    const started = performance.now();
    const refused = await panel(h, 'u-basic');
    const refusedMs = performance.now() - started;
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('2');
    expect(refused.body.data).toBeUndefined();
    expect(refused.body.errors).toHaveLength(1);
    expect(refused.body.errors![0]!.extensions).toEqual({ code: 'OVERLOADED', retryAfterMs: 2000 });
    expect(refused.body.errors![0]!.message).toContain('retry after 2 s');
    expect(refusedMs).toBeLessThan(250);

    // Health, readiness and metrics are never refused, even with the limit full.
    const [health, ready, metrics] = await Promise.all(['/healthz', '/readyz', '/metrics'].map((path) => fetch(`${h.url}${path}`)));
    expect([health!.status, ready!.status, metrics!.status]).toEqual([200, 200, 200]);
    const text = await metrics!.text();
    expect(metricValue(text, 'floorplan_shed_total', { reason: 'queue_full' })).toBe(1);
    expect(metricValue(text, 'floorplan_admission_limit')).toBe(1);
    expect(metricValue(text, 'floorplan_admission_requests', { state: 'running' })).toBe(1);

    const first = await slow;
    expect(first.status).toBe(200);
    // Once the slot is free, the same request is served.
    expect((await panel(h, 'u-basic')).status).toBe(200);
  });

  it('lets a request wait for a slot within maxQueueWaitMs instead of refusing it', async () => {
    const h = await harness({
      faults: 'cart:latency:100',
      config: { server: { admission: { enabled: true, initialLimit: 1, minLimit: 1, maxLimit: 1, targetLagMs: 1000, maxQueueWaitMs: 1000, retryAfterSeconds: 1 } } },
    });
    const answers = await Promise.all([panel(h, 'u1001'), panel(h, 'u-basic')]);
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    expect(metricValue(await scrapeMetrics(h.url), 'floorplan_shed_total', { reason: 'queue_full' })).toBe(0);
  });
});

describe('slow and hostile clients', () => {
  it('gives no admission slot to a request whose body is still arriving: idle half-sent bodies do not lock other users out', async () => {
    const h = await harness({ config: { server: { admission: { enabled: true, initialLimit: 2, minLimit: 2, maxLimit: 2, targetLagMs: 1000, maxQueueWaitMs: 0, retryAfterSeconds: 2 } } } });
    const { port } = new URL(h.url);
    const stalled: Socket[] = [];
    try {
      // Twice the limit of unauthenticated requests whose declared body never finishes arriving.
      for (let i = 0; i < 4; i++) {
        const socket = connect(Number(port), '127.0.0.1');
        await once(socket, 'connect');
        socket.on('error', () => undefined);
        socket.write('POST /graphql HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"query":');
        stalled.push(socket);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(metricValue(await scrapeMetrics(h.url), 'floorplan_admission_requests', { state: 'running' })).toBe(0);
      const served = await panel(h, 'u1001');
      expect(served.status, JSON.stringify(served.body)).toBe(200);
      expect((served.body.data as { floorPanel: { degraded: boolean } }).floorPanel.degraded).toBe(false);
    } finally {
      for (const socket of stalled) socket.destroy();
    }
  });

  it("starts the request's deadline once its body has arrived: a body 400 ms late on a slow uplink still gets the whole panel", async () => {
    const h = await harness({ config: { limits: { requestDeadlineMs: 250 } } });
    const { port } = new URL(h.url);
    const body = JSON.stringify({ query: PANEL_QUERY, variables: { scene: 'cart-bottom-sheet' } });
    const token = await h.token('u1001');
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: Number(port), path: '/graphql', method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      req.flushHeaders();
      setTimeout(() => req.end(body), 400);
    });
    expect(answer.status).toBe(200);
    const panelAnswer = JSON.parse(answer.body) as { data: { floorPanel: { degraded: boolean; failedUpstreams: string[]; floors: Array<{ code: string }> } } };
    expect(panelAnswer.data.floorPanel).toMatchObject({ degraded: false, failedUpstreams: [] });
    expect(panelAnswer.data.floorPanel.floors.map((f) => f.code)).toContain('payable');
    expect(metricValue(await scrapeMetrics(h.url), 'floorplan_upstream_requests_total', { upstream: "cart", outcome: "deadline" })).toBe(0);
  });

  it("times a GraphQL answer from its body's arrival: a body 2.6 s late on a slow uplink is not a slow answer", async () => {
    const h = await harness({ config: { limits: { requestDeadlineMs: 250 } } });
    const { port } = new URL(h.url);
    const body = JSON.stringify({ query: PANEL_QUERY, variables: { scene: 'cart-bottom-sheet' } });
    const half = Math.floor(body.length / 2);
    const token = await h.token('u1001');
    const socket = connect(Number(port), '127.0.0.1');
    await once(socket, 'connect');
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.write(`POST /graphql HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${token}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body.slice(0, half)}`);
    // Longer than the histogram's largest finite bucket (2.5 s), while the answer itself has a
    // 250 ms deadline: timed from the headers it could only be counted in +Inf.
    await new Promise((resolve) => setTimeout(resolve, 2600));
    socket.write(body.slice(half));
    await once(socket, 'close');
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(answer).toContain('"degraded":false');
    const text = await scrapeMetrics(h.url);
    const answered = { route: '/graphql', method: 'POST', status: '200' };
    expect(metricValue(text, 'floorplan_http_request_duration_seconds_count', answered)).toBe(1);
    expect(metricValue(text, 'floorplan_http_request_duration_seconds_bucket', { ...answered, le: '2.5' })).toBe(1);
  });

  // As a real process: inside vitest's workers Node's own connection checks never run (its
  // http server tracks no connections there), so the timeout cannot be observed in-process.
  it('closes a socket whose request headers do not arrive within server.headersTimeoutMs', async () => {
    const fp = await startFloorplanProcess({ PORT: String(await freePort()), DEMO_PORT: String(await freePort()), HEADERS_TIMEOUT_MS: '1000', LOG_LEVEL: 'warn' });
    try {
      const { port } = new URL(fp.url);
      const socket = connect(Number(port), '127.0.0.1');
      await once(socket, 'connect');
      // A slowloris: one header line, then silence.
      socket.write('POST /graphql HTTP/1.1\r\nhost: 127.0.0.1\r\n');
      const answer = new Promise<string>((resolve) => socket.once('data', (chunk: Buffer) => resolve(chunk.toString())));
      const ms = await closedAfter(socket);
      expect(await answer).toMatch(/^HTTP\/1\.1 408/);
      expect(ms).toBeGreaterThanOrEqual(900);
      // Node checks the timeout every headersTimeoutMs / 2 (here 500 ms): closed by ~1.5 s, not after 84 s.
      expect(ms).toBeLessThan(3000);
    } finally {
      await fp.terminate();
    }
  }, 40_000);

  it('closes a socket whose body is still trickling in at server.requestTimeoutMs, though the client keeps its end open', async () => {
    const fp = await startFloorplanProcess({ PORT: String(await freePort()), DEMO_PORT: String(await freePort()), HEADERS_TIMEOUT_MS: '1000', REQUEST_TIMEOUT_MS: '1000', LOG_LEVEL: 'warn' });
    const { port } = new URL(fp.url);
    // A client that does not close when the server ends its side (allowHalfOpen), and keeps sending a byte every 200 ms.
    const socket = connect({ port: Number(port), host: '127.0.0.1', allowHalfOpen: true });
    const trickle = setInterval(() => socket.writable && socket.write('x'), 200);
    try {
      await once(socket, 'connect');
      socket.write('POST /graphql HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"query":"');
      const answer = new Promise<string>((resolve) => socket.once('data', (chunk: Buffer) => resolve(chunk.toString())));
      const closed = closedAfter(socket);
      const gaveUp = new Promise<'still open 6 s later'>((resolve) => setTimeout(() => resolve('still open 6 s later'), 6000));
      expect(await answer).toMatch(/^HTTP\/1\.1 408/);
      const ms = await Promise.race([closed, gaveUp]);
      expect(typeof ms, 'the server closed the socket').toBe('number');
      expect(ms).toBeGreaterThanOrEqual(900);
    } finally {
      clearInterval(trickle);
      socket.destroy();
      await fp.terminate();
    }
  }, 40_000);

  it('closes connections beyond server.maxConnections as soon as they are accepted', async () => {
    const h = await harness({ config: { server: { maxConnections: 2 } } });
    const { port } = new URL(h.url);
    const open = async () => {
      const socket = connect(Number(port), '127.0.0.1');
      await once(socket, 'connect');
      return socket;
    };
    const kept = [await open(), await open()];
    const third = await open();
    expect(await closedAfter(third)).toBeLessThan(1000);
    // The two within the cap still work.
    const [first] = kept;
    first!.write('GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n');
    const [chunk] = (await once(first!, 'data')) as [Buffer];
    expect(chunk.toString()).toMatch(/^HTTP\/1\.1 200/);
    for (const socket of kept) socket.destroy();
  });

  it('throttles wrong admin credentials per source address, logs each, and refuses that address even the right one until the window ends', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const h = await harness({ config: { admin: { token: 'the-right-admin-token', maxFailedAttempts: 3, failedAttemptsWindowSeconds: 2 } }, deps: { logger } });
    const { port } = new URL(h.url);
    const preview = (token: string, localAddress = '127.0.0.1') =>
      new Promise<{ status: number; retryAfter: string | undefined }>((resolve, reject) => {
        const req = httpRequest(
          { host: '127.0.0.1', port, path: '/admin/preview', method: 'POST', localAddress, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } },
          (res) => {
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] }));
          },
        );
        req.on('error', reject);
        req.end('{}');
      });

    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await preview(`guess-${i}`)).status);
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    const refused = await preview('the-right-admin-token');
    expect(refused.status).toBe(429);
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(refused.retryAfter)).toBeLessThanOrEqual(2);
    // Another source address is not punished for this one's guesses.
    expect((await preview('the-right-admin-token', '127.0.0.2')).status).not.toBe(429);
    const failures = lines.filter((l) => l.msg === 'wrong admin credential');
    expect(failures).toHaveLength(3);
    expect(failures.at(-1)).toMatchObject({ address: '127.0.0.1', failures: 3, throttled: true });
    expect(metricValue(await scrapeMetrics(h.url), 'floorplan_admin_auth_failures_total', { throttled: 'true' })).toBe(1);
    // After the window, the right credential works again.
    await new Promise((r) => setTimeout(r, 2100));
    expect((await preview('the-right-admin-token')).status).not.toBe(429);
  });
});
