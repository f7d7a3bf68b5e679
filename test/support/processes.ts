/** Helpers for tests that run Floorplan (or Redis) as real processes on loopback. */
import { once } from 'node:events';
import { createServer } from 'node:net';

/** A port nothing listens on right now (the OS picks it; it is released before returning). */
export async function freePort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  probe.close();
  await once(probe, 'close');
  return port;
}

/**
 * The environment `npm start` sees, plus `extra`: vitest's NODE_ENV=test (and VITEST) removed,
 * because NODE_ENV changes Apollo's behaviour — a child process must run as it would in production.
 */
export function npmStartEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const { NODE_ENV: _testMode, VITEST: _vitest, ...env } = process.env;
  // No revision store or last-known-good copy in the working directory unless a test names its
  // own: test files run in parallel, and one's published revision must never reach another.
  return { ...env, LAYOUT_STORE: 'none', LAYOUT_LAST_GOOD_FILE: '', ...extra };
}
