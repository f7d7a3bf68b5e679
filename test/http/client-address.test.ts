/**
 * Who sent a request when proxies stand in front: the rule of Express's proxy-addr, by hand
 * (src/http/client-address.ts says why), checked case by case.
 */
import { describe, expect, it } from 'vitest';
import { clientAddress, trustedProxies } from '../../src/http/client-address.ts';

describe('clientAddress', () => {
  const none = trustedProxies([]);
  const lb = trustedProxies(['127.0.0.1']);
  const chain = trustedProxies(['127.0.0.1', '10.0.0.0/8']);

  it('is the socket address when no proxy is trusted, whatever X-Forwarded-For says', () => {
    expect(clientAddress('127.0.0.1', '10.0.0.1', none)).toBe('127.0.0.1');
    expect(clientAddress('192.0.2.5', undefined, none)).toBe('192.0.2.5');
  });

  it('is the socket address when the peer is not a trusted proxy', () => {
    expect(clientAddress('192.0.2.5', '10.0.0.1', lb)).toBe('192.0.2.5');
  });

  it('is the right-most X-Forwarded-For entry that is not a trusted proxy', () => {
    expect(clientAddress('127.0.0.1', '10.0.0.1', lb)).toBe('10.0.0.1');
    // What the client wrote itself stands to the left of what the proxy appended: ignored.
    expect(clientAddress('127.0.0.1', '203.0.113.7, 10.0.0.1', lb)).toBe('10.0.0.1');
    // Through two trusted hops (the balancer, then an internal proxy in 10/8).
    expect(clientAddress('127.0.0.1', '198.51.100.4,10.1.2.3', chain)).toBe('198.51.100.4');
    expect(clientAddress('127.0.0.1', '203.0.113.7 , 198.51.100.4, 10.1.2.3', chain)).toBe('198.51.100.4');
  });

  it('is the left-most entry when every hop is trusted, and the socket address when the header is absent or empty', () => {
    expect(clientAddress('127.0.0.1', '10.0.0.2, 10.0.0.1', chain)).toBe('10.0.0.2');
    expect(clientAddress('127.0.0.1', undefined, lb)).toBe('127.0.0.1');
    expect(clientAddress('127.0.0.1', ' , ', lb)).toBe('127.0.0.1');
  });

  it('reads several X-Forwarded-For lines as one list, in order', () => {
    expect(clientAddress('127.0.0.1', ['203.0.113.7', '10.0.0.1'], lb)).toBe('10.0.0.1');
  });

  it('stops at an entry that is not an address (it is never a trusted proxy)', () => {
    expect(clientAddress('127.0.0.1', '10.0.0.1, unknown', lb)).toBe('unknown');
  });

  it('matches a peer seen as an IPv4-mapped IPv6 address (a server listening on ::) against IPv4 ranges, and IPv6 ranges', () => {
    expect(clientAddress('::ffff:127.0.0.1', '10.0.0.1', lb)).toBe('10.0.0.1');
    const v6 = trustedProxies(['fd00::/8', '::1']);
    expect(clientAddress('::1', '2001:db8::1, fd12::9', v6)).toBe('2001:db8::1');
  });

  it('names "unknown" when the socket has no address (it was closed)', () => {
    expect(clientAddress(undefined, '10.0.0.1', lb)).toBe('unknown');
  });
});

describe('trustedProxies', () => {
  it('refuses an entry that is neither an address nor a CIDR range, naming it', () => {
    expect(() => trustedProxies(['10.0.0.0/33'])).toThrow(new TypeError('a trusted proxy must be an IP address or a CIDR range such as "10.0.0.0/8", but got: "10.0.0.0/33"'));
    expect(() => trustedProxies(['haproxy'])).toThrow(/but got: "haproxy"/);
  });
});
