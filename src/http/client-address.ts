/**
 * Who sent a request when proxies (a load balancer, an ingress) stand in front of Floorplan:
 * Express's `proxy-addr`. It walks from the socket's peer leftwards through `X-Forwarded-For`
 * while the address in hand is a trusted proxy; the first one that is not is the client.
 * Entries left of it were written by the client itself and are never believed, so a guesser
 * cannot pass for someone else by sending the header. An IPv4-mapped IPv6 peer
 * (`::ffff:10.0.0.1`, a server listening on `::`) matches IPv4 ranges.
 */
import type { IncomingMessage } from 'node:http';
import proxyaddr from 'proxy-addr';

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
  for (const entry of entries) {
    try {
      proxyaddr.compile(entry.trim());
    } catch {
      throw new TypeError(`a trusted proxy must be an IP address or a CIDR range such as "10.0.0.0/8", but got: ${JSON.stringify(entry)}`);
    }
  }
  const trust = proxyaddr.compile(entries.map((entry) => entry.trim()));
  return { none: entries.length === 0, has: (address) => trust(address, 0) };
}

/**
 * The client's address: the socket's peer, or, when that is a trusted proxy, the right-most
 * `X-Forwarded-For` entry that is not one (the left-most when all are). "unknown" for a socket
 * already closed. Several `X-Forwarded-For` lines count as one list, in order.
 */
export function clientAddress(socketAddress: string | undefined, forwardedFor: string | readonly string[] | undefined, trusted: TrustedProxies): string {
  if (socketAddress === undefined) return 'unknown';
  if (trusted.none || forwardedFor === undefined) return socketAddress;
  const header = typeof forwardedFor === 'string' ? forwardedFor : forwardedFor.join(',');
  // proxy-addr reads only these two fields of a request.
  const request = { socket: { remoteAddress: socketAddress }, connection: { remoteAddress: socketAddress }, headers: { 'x-forwarded-for': header } };
  return proxyaddr(request as unknown as IncomingMessage, (address) => trusted.has(address));
}
