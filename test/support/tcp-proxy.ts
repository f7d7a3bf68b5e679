/**
 * A TCP proxy on loopback in front of a real server, which a test can cut (every connection
 * reset, new ones refused) and restore on the same port: the server becomes unreachable, as a
 * database behind a failed network would, without stopping the machine's shared server.
 */
import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { freePort } from './processes.ts';

export interface TcpProxy {
  readonly port: number;
  /** Resets every open connection and refuses new ones. */
  cut(): Promise<void>;
  /** Accepts connections again, on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | undefined;

  async function listen(): Promise<void> {
    server = createServer((client) => {
      const upstream = connect(target.port, target.host);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.once('close', () => sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.once('close', () => upstream.destroy());
      upstream.once('close', () => client.destroy());
    });
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
  }

  async function cut(): Promise<void> {
    const running = server;
    server = undefined;
    for (const s of sockets) s.resetAndDestroy();
    if (running !== undefined) await new Promise<void>((done) => running.close(() => done()));
  }

  await listen();
  return { port, cut, restore: listen, close: cut };
}
