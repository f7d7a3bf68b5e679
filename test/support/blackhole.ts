/**
 * A blackholed host on loopback: a port where a TCP connect hangs, as it does to a host behind a
 * firewall that drops packets, a dead node whose address still routes, or a server whose accept
 * queue is full. Nothing answers the SYN, so the connect neither succeeds nor is refused: only the
 * client's connect timeout ends it.
 *
 * Made for real, with the kernel's own behaviour: a listener with a backlog of 1 that never
 * accepts (it listens in a worker thread whose event loop is then held still), its accept queue
 * filled by two connections of our own (Linux queues backlog + 1), after which Linux drops every
 * SYN to it (a full accept queue: ListenOverflows).
 */
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { Worker } from 'node:worker_threads';

export interface Blackhole {
  readonly port: number;
  /** Stops listening (the queued connections are reset) and frees the port for another server. */
  close(): Promise<void>;
}

const LISTENER = `
const { parentPort, workerData } = require('node:worker_threads');
const server = require('node:net').createServer();
server.once('error', (error) => parentPort.postMessage({ error: error.message }));
server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
  parentPort.postMessage({ port: server.address().port });
  // Held still, this thread's loop never accepts: the connections stay in the kernel's queue.
  Atomics.wait(workerData.release, 0, 0);
  server.close();
});
`;

/** A blackhole on a free port of 127.0.0.1. */
export async function startBlackhole(): Promise<Blackhole> {
  const release = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(LISTENER, { eval: true, workerData: { release } });
  const [message] = (await once(worker, 'message')) as [{ port?: number; error?: string }];
  if (message.port !== undefined) return filled(message.port, worker, release);
  await once(worker, 'exit');
  throw new Error(`the blackhole could not listen on 127.0.0.1: ${message.error ?? 'no port'}`);
}

async function filled(port: number, worker: Worker, release: Int32Array): Promise<Blackhole> {
  const fillers: Socket[] = [];
  let closed = false;
  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    Atomics.store(release, 0, 1);
    Atomics.notify(release, 0);
    await once(worker, 'exit');
    for (const socket of fillers) socket.destroy();
  }
  try {
    for (let i = 0; i < 2; i++) {
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => undefined);
      fillers.push(socket);
      await once(socket, 'connect');
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { port, close };
}
