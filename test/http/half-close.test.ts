/**
 * A client that sends its whole request and then half-closes its side of the connection (writes,
 * then shuts down its sending side: `nc`, some proxies and health checkers do this) still gets its
 * answer: a half-close ends the request's bytes, not the client's interest in the answer.
 * The connection is closed once answered, and a half-closed idle connection at once.
 */
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PANEL_QUERY, startHarness, type Harness, type PanelResult } from '../support/harness.ts';

/** Connects to `url`'s port, writes `request`, half-closes, and reads until the server closes the connection. */
async function writeThenHalfClose(url: string, request: string): Promise<string> {
  const socket: Socket = connect(Number(new URL(url).port), '127.0.0.1');
  await once(socket, 'connect');
  let answer = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (answer += chunk));
  const closed = once(socket, 'close');
  socket.end(request);
  await closed;
  return answer;
}

describe('a client that half-closes after its request', () => {
  let h: Harness;
  let token: string;
  beforeAll(async () => {
    h = await startHarness();
    token = await h.token('u1001');
  });
  afterAll(() => h.close());

  it('gets the whole seed panel, through Apollo and again through the fast path, and then the connection is closed', async () => {
    const body = JSON.stringify({ query: PANEL_QUERY, variables: { scene: 'cart-bottom-sheet' } });
    for (const ask of ['first (Apollo)', 'second (known operation)']) {
      // HTTP/1.1 without `Connection: close`: the half-close alone must end the connection once answered.
      const answer = await writeThenHalfClose(
        h.url,
        `POST /graphql HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${token}\r\ncontent-type: application/json\r\naccept-language: zh-CN\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      const [head, payload] = [answer.slice(0, answer.indexOf('\r\n\r\n')), answer.slice(answer.indexOf('\r\n\r\n') + 4)];
      expect(head, ask).toMatch(/^HTTP\/1\.1 200 /);
      const panel = (JSON.parse(payload) as { data: PanelResult }).data.floorPanel;
      expect({ ask, degraded: panel.degraded, codes: panel.floors.map((f) => f.code) }).toEqual({
        ask,
        degraded: false,
        codes: ['spze', 'lj', 'coupon', 'plus95', 'shipping', 'plus-rebate', 'payable'],
      });
      expect(panel.floors.find((f) => f.code === 'payable')?.priceText, ask).toBe('¥8.86');
    }
  });

  it('closes a kept-alive connection the client half-closes once its answer has been read', async () => {
    const socket: Socket = connect(Number(new URL(h.url).port), '127.0.0.1');
    await once(socket, 'connect');
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.write('GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n');
    while (!answer.includes('{"status":"ok"}')) await once(socket, 'data');
    // Idle now, kept alive for keepAliveTimeoutMs; the client's half-close must end it at once.
    const closed = once(socket, 'close');
    socket.end();
    await closed;
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('closes a connection half-closed before any request, rather than holding it open', async () => {
    expect(await writeThenHalfClose(h.url, '')).toBe('');
  });

  it('refuses and closes a connection half-closed before its body was all sent', async () => {
    const answer = await writeThenHalfClose(h.url, `POST /graphql HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${token}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"query":`);
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
  });
});
