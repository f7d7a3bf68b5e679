/**
 * Who sent a request when proxies (a load balancer, an ingress) stand in front of Floorplan:
 * Express's `proxy-addr`. It walks from the socket's peer leftwards through `X-Forwarded-For`
 * while the address in hand is a trusted proxy; the first one that is not is the client.
 * Entries left of it were written by the client itself and are never believed, so a guesser
 * cannot pass for someone else by sending the header. An IPv4-mapped IPv6 peer
 * (`::ffff:10.0.0.1`, a server listening on `::`) matches IPv4 ranges.
 */
import type { IncomingMessage } from 'node:http';
import ipaddr from 'ipaddr.js';
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

/**
 * What the wrong-credential throttle counts a client as: an IPv4 address as it is (an
 * IPv4-mapped IPv6 one, `::ffff:10.0.0.1`, as the IPv4 address it stands for), an IPv6 address
 * as its /64 (`2001:db8:1:2::/64`). An IPv6 client is routinely handed a whole /64 and may send
 * from any address in it, so counting addresses would give a guesser a fresh count per guess.
 * Anything else ("unknown") is counted as it is. ipaddr.js (proxy-addr's own parser) reads the
 * address, zone ids and every IPv6 spelling included.
 */
export function throttledAs(address: string): string {
  if (!ipaddr.isValid(address)) return address;
  const parsed = ipaddr.process(address); // an IPv4-mapped IPv6 address comes back as IPv4
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const parts = (parsed as ipaddr.IPv6).parts.slice(0, 4);
  return `${new ipaddr.IPv6([...parts, 0, 0, 0, 0]).toString()}/64`;
}
