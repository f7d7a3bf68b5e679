/**
 * Who sent a request when proxies (a load balancer, an ingress) stand in front of Floorplan:
 * the rule of Express's `proxy-addr`. Walk from the socket's peer leftwards through
 * `X-Forwarded-For` while the address in hand is a trusted proxy; the first one that is not is
 * the client. Entries left of it were written by the client itself and are never believed, so
 * a guesser cannot pass for someone else by sending the header.
 *
 * By hand rather than `proxy-addr`: that package is not a dependency (only fastify's fork,
 * `@fastify/proxy-addr`, is installed, through fastify, a dev dependency). Matching uses Node's
 * own `net.BlockList`, which also matches an IPv4-mapped IPv6 peer (`::ffff:10.0.0.1`, a server
 * listening on `::`) against IPv4 ranges.
 */
import { BlockList, isIP } from 'node:net';

/** The proxies whose `X-Forwarded-For` is believed (`server.trustedProxies`). */
export interface TrustedProxies {
  /** True when none is trusted: the socket's peer is the client. */
  readonly none: boolean;
  has(address: string): boolean;
}

/**
 * `entries`: IP addresses and CIDR ranges (`10.0.0.0/8`, `fd00::/8`); empty trusts none.
 * Throws a TypeError naming an entry that is neither (the service config refuses those first).
 */
export function trustedProxies(entries: readonly string[]): TrustedProxies {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', prefix, ...rest] = entry.trim().split('/');
    const family = isIP(address);
    const bits = prefix === undefined ? undefined : /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
    if (family === 0 || rest.length > 0 || (bits !== undefined && !(bits <= (family === 4 ? 32 : 128)))) {
      throw new TypeError(`a trusted proxy must be an IP address or a CIDR range such as "10.0.0.0/8", but got: ${JSON.stringify(entry)}`);
    }
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(address, type);
    else list.addSubnet(address, bits, type);
  }
  return {
    none: entries.length === 0,
    has(address) {
      const family = isIP(address);
      return family !== 0 && list.check(address, family === 4 ? 'ipv4' : 'ipv6');
    },
  };
}

/**
 * The client's address: the socket's peer, or, when that is a trusted proxy, the right-most
 * `X-Forwarded-For` entry that is not one (the left-most when all are). "unknown" for a socket
 * already closed. Several `X-Forwarded-For` lines count as one list, in order.
 */
export function clientAddress(socketAddress: string | undefined, forwardedFor: string | readonly string[] | undefined, trusted: TrustedProxies): string {
  let address = socketAddress ?? 'unknown';
  if (trusted.none || forwardedFor === undefined) return address;
  const hops = (typeof forwardedFor === 'string' ? forwardedFor : forwardedFor.join(',')).split(',');
  for (let i = hops.length - 1; i >= 0 && trusted.has(address); i--) {
    const hop = (hops[i] as string).trim();
    if (hop !== '') address = hop;
  }
  return address;
}
