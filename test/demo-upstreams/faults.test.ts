import { describe, expect, it } from 'vitest';
import { formatFaults, parseFaults } from '../../src/demo-upstreams/faults.ts';
import { UPSTREAMS } from '../../src/upstreams/registry.ts';

describe('parseFaults', () => {
  it('reads one mode per upstream from a comma-separated spec', () => {
    expect(parseFaults('promotion:hang,settlement:latency:30,cart:error:503')).toEqual({
      promotion: { kind: 'hang' },
      settlement: { kind: 'latency', ms: 30 },
      cart: { kind: 'error', status: 503 },
    });
  });

  it('reads malformed and reset, tolerating spaces around entries', () => {
    expect(parseFaults(' cart:malformed , settlement:reset ')).toEqual({
      cart: { kind: 'malformed' },
      settlement: { kind: 'reset' },
    });
  });

  it('treats an empty, blank or missing spec as no faults', () => {
    expect(parseFaults('')).toEqual({});
    expect(parseFaults('   ')).toEqual({});
    expect(parseFaults(undefined)).toEqual({});
  });

  it('names the bad entry and the accepted forms in its error', () => {
    expect(() => parseFaults('promotion:slow')).toThrow(
      new Error(
        // Every registered upstream, in registry order (cart|promotion|settlement|loyalty first: test/upstreams/registry.test.ts).
        `DEMO_FAULTS entry "promotion:slow" must be <upstream>:<mode> with mode latency:<ms>|error:<status>|hang|malformed|reset, upstream ${UPSTREAMS.join('|')}`,
      ),
    );
  });

  it.each([
    'inventory:hang',
    'cart',
    'cart:latency',
    'cart:latency:-5',
    'cart:latency:1.5',
    'cart:error',
    'cart:error:200',
    'cart:error:abc',
    'cart:hang:10',
    'cart:error:503:extra',
    'cart:hang,',
  ])('rejects %j', (spec) => {
    expect(() => parseFaults(spec)).toThrow(/^DEMO_FAULTS entry ".*" must be <upstream>:<mode>/);
  });

  it('rejects two modes for the same upstream', () => {
    expect(() => parseFaults('cart:hang,cart:reset')).toThrow(/one mode per upstream/);
  });
});

describe('formatFaults', () => {
  it('renders no faults as none', () => {
    expect(formatFaults({})).toBe('none');
  });

  it('renders faults back to the spec form in upstream order', () => {
    expect(formatFaults(parseFaults('settlement:latency:30,promotion:hang,cart:error:503'))).toBe(
      'cart:error:503,promotion:hang,settlement:latency:30',
    );
  });
});
