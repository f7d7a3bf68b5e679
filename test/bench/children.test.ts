/**
 * bench/children.ts's port picking: the quick bench runs inside `npm test`, beside files whose
 * servers bind port 0, so its ports must be ones the kernel never hands out for port 0.
 */
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ephemeralPortsStart, freePorts } from '../../bench/children.ts';

describe('bench/children: freePorts', () => {
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
});
