/**
 * Loopback ports for the processes the deploy scripts (and the tests and benchmarks that drive
 * them) start.
 *
 * A port found by binding port 0 is the kernel's to hand out again — to another process's port-0
 * bind, or as the local port of any outgoing connection — in the seconds before the process it
 * was found for binds it. The production topology starts Redis, Sentinels, Unleash and three
 * replicas (each connecting out to all of them) before HAProxy binds its port, and CI saw HAProxy
 * never come up; `npm test` saw the quick bench's Floorplan exit with EADDRINUSE. So ports are
 * picked at random below the ephemeral range (`ip_local_port_range`), where the kernel hands out
 * nothing by itself, each checked by binding it, and never handed out twice by one process.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** How many ports below the ephemeral range are picked from. */
const PICK_SPAN = 12_000;

/** Ports this process has handed out: never again, even once released. */
const handedOut = new Set<number>();

/** The first port the kernel hands out for port 0 and outgoing connections (Linux's `ip_local_port_range`; 32768 when it cannot be read). */
export function ephemeralPortsStart(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

/**
 * The ports `FLOORPLAN_TEST_PORTS` ("47100-47199") confines picks to, or undefined when it is
 * unset: for runs that share a machine with others, each given a range of its own to start its
 * servers in.
 */
function confinedRange(): { start: number; end: number } | undefined {
  const range = process.env.FLOORPLAN_TEST_PORTS;
  if (range === undefined || range === '') return undefined;
  const [, low, high] = /^(\d+)-(\d+)$/.exec(range.trim()) ?? [];
  if (low === undefined || high === undefined || Number(low) < 1024 || Number(high) > 65_535 || Number(low) > Number(high)) {
    throw new Error(`FLOORPLAN_TEST_PORTS must be a range of ports such as "47100-47199", but got: ${JSON.stringify(range)}`);
  }
  return { start: Number(low), end: Number(high) + 1 };
}

/**
 * A loopback port free right now, below the ephemeral range (or within FLOORPLAN_TEST_PORTS when
 * set), not handed out before by this process.
 */
export async function freePort(): Promise<number> {
  const confined = confinedRange();
  if (confined !== undefined) return pickFrom(confined.start, confined.end);
  const end = ephemeralPortsStart();
  const start = Math.max(1024, end - PICK_SPAN);
  // An ephemeral range that starts low leaves nothing below it to pick from: the kernel's port 0 then.
  if (end - start < 1000) return portZero();
  return pickFrom(start, end);
}

/** A free port in [start, end) at random, not handed out before by this process. */
async function pickFrom(start: number, end: number): Promise<number> {
  for (let tries = 0; tries < 1000; tries++) {
    const port = start + Math.floor(Math.random() * (end - start));
    if (handedOut.has(port)) continue;
    // Reserved before the check: another pick in flight could otherwise draw it between the
    // probe's close and this one's return, bind it too, and both hand it out.
    handedOut.add(port);
    if (await canBind(port)) return port;
    handedOut.delete(port);
  }
  throw new Error(`found no free loopback port in ${start}–${end - 1} after 1000 tries`);
}

/** Distinct free loopback ports (see {@link freePort}). */
export async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let i = 0; i < count; i++) ports.push(await freePort());
  return ports;
}

async function canBind(port: number): Promise<boolean> {
  const probe = createServer();
  try {
    probe.listen(port, '127.0.0.1');
    await once(probe, 'listening');
  } catch {
    return false;
  }
  probe.close();
  await once(probe, 'close');
  return true;
}

async function portZero(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  probe.close();
  await once(probe, 'close');
  return port;
}
