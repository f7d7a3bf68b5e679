import { FloorplanError } from '../../src/errors.ts';

/** The FloorplanError `action` throws; fails the test if it throws something else or nothing. */
export function thrownBy(action: () => unknown): FloorplanError {
  try {
    action();
  } catch (error) {
    if (error instanceof FloorplanError) return error;
    throw new Error(`expected a FloorplanError, got ${String(error)}`);
  }
  throw new Error('expected the call to throw');
}

/** Whatever `action` throws, FloorplanError or not (a builder's read of a failed upstream throws the UpstreamError); fails the test if it throws nothing. */
export function caughtFrom(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}

/** What the promise `action` returns rejects with; fails the test if it resolves. */
export async function thrown(action: () => Promise<unknown>): Promise<unknown> {
  try {
    await action();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to reject');
}
