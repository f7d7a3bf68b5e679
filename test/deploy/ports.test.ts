/**
 * deploy/ports.ts: the ports the topology, the tests' processes and the bench start servers on
 * must be ones the kernel never hands out by itself (for a port-0 bind or an outgoing
 * connection) in the seconds before those servers bind them.
 */
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { ephemeralPortsStart, freePort, freePorts } from '../../deploy/ports.ts';

describe('deploy/ports', () => {
  it('picks distinct ports below the ephemeral range, each free to bind, while port 0 binds land in it', async () => {
    const start = ephemeralPortsStart();
    const ports = await freePorts(8);
    expect(new Set(ports).size).toBe(8);
    for (const port of ports) {
      expect(port).toBeLessThan(start);
      expect(port).toBeGreaterThanOrEqual(1024);
      const server = createServer().listen(port, '127.0.0.1');
      await once(server, 'listening');
      server.close();
      await once(server, 'close');
    }
    // What the other test files' servers get: never one of the bench's.
    const others = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const server = createServer().listen(0, '127.0.0.1');
        await once(server, 'listening');
        const { port } = server.address() as AddressInfo;
        server.close();
        return port;
      }),
    );
    for (const port of others) expect(port).toBeGreaterThanOrEqual(start);
  });

  it('never hands out the same port twice in one process, though each is released at once', async () => {
    const ports = await Promise.all(Array.from({ length: 50 }, () => freePort()));
    const more = await freePorts(50);
    expect(new Set([...ports, ...more]).size).toBe(100);
  });

  it('skips a port something else already listens on', async () => {
    const end = ephemeralPortsStart();
    const start = Math.max(1024, end - 12_000);
    // Another listener, on the port the first pick will land on: the highest free one below the range.
    let taken: number | undefined;
    let listener: ReturnType<typeof createServer> | undefined;
    for (let port = end - 1; port >= start && taken === undefined; port--) {
      const candidate = createServer().listen(port, '127.0.0.1');
      try {
        await once(candidate, 'listening');
        taken = port;
        listener = candidate;
      } catch {
        // in use: try the next one down
      }
    }
    const at = (port: number) => (port - start + 0.5) / (end - start);
    const picks = [at(taken!), at(taken! - 1 >= start ? taken! - 1 : taken! + 1)];
    const random = vi.spyOn(Math, 'random').mockImplementation(() => picks.shift() ?? 0.5);
    try {
      const port = await freePort();
      expect(port).not.toBe(taken);
      expect(random).toHaveBeenCalledTimes(2);
    } finally {
      random.mockRestore();
      listener?.close();
    }
  });
});
