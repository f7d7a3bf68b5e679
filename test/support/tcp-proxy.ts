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

export interface TcpProxyOptions {
  /**
   * How long to hold the n-th connection (0 first) before connecting it through: a slow
   * network or a server slow to accept. None by default.
   */
  readonly connectDelayMs?: (connection: number) => number;
}

export async function startTcpProxy(target: { host: string; port: number }, options: TcpProxyOptions = {}): Promise<TcpProxy> {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let accepted = 0;
  let server: Server | undefined;

  async function listen(): Promise<void> {
    server = createServer((client) => {
      sockets.add(client);
      client.once('close', () => sockets.delete(client));
      client.on('error', () => undefined);
      client.pause();
      const through = () => {
        if (client.destroyed) return;
        const upstream = connect(target.port, target.host);
        sockets.add(upstream);
        upstream.once('close', () => sockets.delete(upstream));
        upstream.on('error', () => undefined);
        client.pipe(upstream).pipe(client);
        client.once('close', () => upstream.destroy());
        upstream.once('close', () => client.destroy());
      };
      const delayMs = options.connectDelayMs?.(accepted++) ?? 0;
      if (delayMs > 0) setTimeout(through, delayMs);
      else through();
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
