import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { describeThrown } from '../src/errors.ts';
import { freePort } from './support/processes.ts';
import { TWO_ADDRESS_HOST, twoAddressLookup } from './support/two-address-host.ts';

/** What Node's socket emits when `host` resolves to two addresses and neither accepts. */
function refusedAtBoth(port: number): Promise<unknown> {
  return new Promise((resolve) => {
    const socket = connect({ host: TWO_ADDRESS_HOST, port, lookup: twoAddressLookup, autoSelectFamily: true });
    socket.on('connect', () => {
      socket.destroy();
      resolve(new Error('connected, though nothing should listen there'));
    });
    socket.on('error', resolve);
  });
}

describe('describeThrown', () => {
  it('names each address a two-address host refused (the AggregateError has no message of its own)', async () => {
    const port = await freePort();
    const error = await refusedAtBoth(port);
    // The case itself: Node's error says nothing in its message.
    expect(error).toBeInstanceOf(AggregateError);
    expect((error as AggregateError).message).toBe('');
    expect(describeThrown(error)).toMatch(new RegExp(`^connect E[A-Z]+ ::1:${port}; connect ECONNREFUSED 127\\.0\\.0\\.1:${port}$`));
  });

  it('reads an AggregateError that has a message of its own by that message', () => {
    expect(describeThrown(new AggregateError([new Error('a')], 'both failed'))).toBe('both failed');
  });

  it('says the same reason of an AggregateError once', () => {
    expect(describeThrown(new AggregateError([new Error('timed out'), new Error('timed out'), new Error('refused')]))).toBe('timed out; refused');
  });

  it("names PGlite's file system errors in words: a full disk under its data folder says so", () => {
    // Emscripten's numbers, not Linux's: 51 is ENOSPC there (28 on Linux).
    expect(describeThrown({ name: 'ErrnoError', errno: 51 })).toBe('ErrnoError (errno 51: ENOSPC, no space left on device)');
    expect(describeThrown({ name: 'ErrnoError', errno: 2 })).toBe('ErrnoError (errno 2: EACCES, permission denied)');
    expect(describeThrown({ name: 'ErrnoError', errno: 69 })).toBe('ErrnoError (errno 69: EROFS, read-only file system)');
  });

  it('keeps what it said of the other thrown values', () => {
    expect(describeThrown(new Error('plain'))).toBe('plain');
    expect(describeThrown({ name: 'ErrnoError', errno: 1234 })).toBe('ErrnoError (errno 1234)');
    expect(describeThrown(Object.assign(new Error(''), { code: 'ECONNRESET' }))).toBe('Error (ECONNRESET)');
    expect(describeThrown('a string')).toBe('a string');
    expect(describeThrown(undefined)).toBe('undefined');
  });
});
