/**
 * The HTTP surface answers a method or a body it does not take with the status that says so and
 * a JSON error, as every other failure is answered: 405 with `Allow` for a method a route does not
 * serve, 415 for a body in a content coding Floorplan does not decode, and a JSON 431 for headers
 * too large, rather than a landing page for DELETE, Apollo's CSRF advice for a DELETE to /graphql,
 * "not valid JSON" for a gzipped body, or Node's bare status line.
 */
import { once } from 'node:events';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.ts';

describe('methods and bodies a route does not take', () => {
  let h: Harness;
  let token: string;
  beforeAll(async () => {
    h = await startHarness();
    token = await h.token('u1001');
  });
  afterAll(() => h.close());

  it.each(['/', '/healthz', '/readyz', '/metrics'])('answers a POST or DELETE to %s with 405, Allow: GET, HEAD', async (path) => {
    for (const method of ['POST', 'DELETE']) {
      const res = await fetch(`${h.url}${path}`, { method });
      expect({ method, status: res.status, allow: res.headers.get('allow'), type: res.headers.get('content-type') }).toEqual({
        method,
        status: 405,
        allow: 'GET, HEAD',
        type: 'application/json; charset=utf-8',
      });
      expect(await res.json()).toEqual({ error: `${path} answers GET and HEAD, not ${method}` });
    }
    const head = await fetch(`${h.url}${path}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
  });

  it.each(['DELETE', 'PATCH', 'PUT', 'OPTIONS'])('answers %s /graphql with 405, Allow: GET, POST, whatever the content type', async (method) => {
    for (const headers of [{}, { 'content-type': 'application/json' }]) {
      const res = await fetch(`${h.url}/graphql`, { method, headers: { authorization: `Bearer ${token}`, ...headers } });
      expect({ status: res.status, allow: res.headers.get('allow') }).toEqual({ status: 405, allow: 'GET, POST' });
      const body = (await res.json()) as { errors: Array<{ message: string; extensions: { code: string } }> };
      expect(body.errors[0]).toEqual({ message: `/graphql answers GET and POST, not ${method}`, extensions: { code: 'BAD_REQUEST', reason: 'FLOORPLAN_ERR_HTTP_METHOD_NOT_ALLOWED' } });
    }
  });

  it('answers a gzipped body with 415, naming the coding, rather than calling it bad JSON', async () => {
    const body = gzipSync(JSON.stringify({ query: '{ floorPanel(scene: "cart-bottom-sheet") { degraded } }' }));
    const gzipped = await fetch(`${h.url}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body,
    });
    expect(gzipped.status).toBe(415);
    expect(((await gzipped.json()) as { errors: Array<{ message: string }> }).errors[0]?.message).toBe(
      'request body must not be content-encoded (send it as plain JSON, Content-Encoding: identity), but got: gzip',
    );
  });

  it('answers headers too large with 431 and a JSON error, as every other failure', async () => {
    const socket = connect(Number(new URL(h.url).port), '127.0.0.1');
    await once(socket, 'connect');
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('utf8')));
    socket.write(`POST /graphql HTTP/1.1\r\nHost: x\r\nAccept-Language: ${'zh-CN,'.repeat(20_000)}\r\nContent-Length: 2\r\n\r\n{}`);
    await once(socket, 'close');
    const [head, body] = answer.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 431 /);
    expect(head).toMatch(/content-type: application\/json; charset=utf-8/i);
    expect(JSON.parse(body!)).toEqual({ errors: [{ message: 'request headers must be at most 16384 bytes in all', extensions: { code: 'BAD_REQUEST', reason: 'FLOORPLAN_ERR_HTTP_HEADERS_TOO_LARGE' } }] });
  });
});
