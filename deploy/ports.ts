/** Loopback ports for the processes the deploy scripts (and the tests that drive them) start. */
import { once } from 'node:events';
import { createServer } from 'node:net';

/** A loopback port free right now, found by binding port 0. */
export async function freePort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  probe.close();
  await once(probe, 'close');
  return port;
}
