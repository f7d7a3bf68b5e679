import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.ts';
import { isZero, money, negate, sum } from '../../src/money/money.ts';
import { thrownBy } from '../support/thrown.ts';


describe('money', () => {
  it('builds an amount from integer minor units', () => {
    expect(money(2090, 'CNY')).toEqual({ minor: 2090, currency: 'CNY' });
    expect(money(-500, 'CNY')).toEqual({ minor: -500, currency: 'CNY' });
    expect(money(Number.MAX_SAFE_INTEGER, 'CNY').minor).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('refuses a fractional amount instead of rounding it', () => {
    const error = thrownBy(() => money(1.5, 'CNY'));
    expect(error.code).toBe(ErrorCode.MONEY_INVALID);
    expect(error.message).toBe('amount must be a safe integer of minor units, but got: 1.5');
  });

  it('refuses 2^53, which cannot be held exactly', () => {
    const error = thrownBy(() => money(2 ** 53, 'CNY'));
    expect(error.code).toBe(ErrorCode.MONEY_INVALID);
    expect(error.message).toBe('amount must be a safe integer of minor units, but got: 9007199254740992');
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY, -(2 ** 53)])('refuses %d', (value) => {
    expect(thrownBy(() => money(value, 'CNY')).code).toBe(ErrorCode.MONEY_INVALID);
  });
});

describe('negate', () => {
  it('flips the sign of an amount', () => {
    expect(negate({ minor: 500, currency: 'CNY' })).toEqual({ minor: -500, currency: 'CNY' });
    expect(negate({ minor: -500, currency: 'JPY' })).toEqual({ minor: 500, currency: 'JPY' });
  });

  it('keeps zero a plain zero, never -0', () => {
    expect(Object.is(negate({ minor: 0, currency: 'CNY' }).minor, 0)).toBe(true);
  });
});

describe('sum', () => {
  it('adds amounts of one currency exactly', () => {
    const total = sum(
      [
        { minor: 2090, currency: 'CNY' },
        { minor: -500, currency: 'CNY' },
        { minor: -600, currency: 'CNY' },
        { minor: -104, currency: 'CNY' },
      ],
      'CNY',
    );
    expect(total).toEqual({ minor: 886, currency: 'CNY' });
  });

  it('gives zero of the requested currency for no amounts', () => {
    expect(sum([], 'JPY')).toEqual({ minor: 0, currency: 'JPY' });
  });

  it('refuses to add amounts of another currency, naming it', () => {
    const error = thrownBy(() =>
      sum(
        [
          { minor: 100, currency: 'CNY' },
          { minor: 100, currency: 'USD' },
        ],
        'CNY',
      ),
    );
    expect(error.code).toBe(ErrorCode.MONEY_INVALID);
    expect(error.message).toBe('amounts must share currency CNY to be added, but got: USD');
  });

  it('refuses amounts that are all in a currency other than the one asked for', () => {
    expect(thrownBy(() => sum([{ minor: 100, currency: 'USD' }], 'CNY')).code).toBe(ErrorCode.MONEY_INVALID);
  });

  it('refuses a total beyond the safe integer range instead of rounding it', () => {
    const error = thrownBy(() =>
      sum(
        [
          { minor: Number.MAX_SAFE_INTEGER, currency: 'CNY' },
          { minor: 1, currency: 'CNY' },
        ],
        'CNY',
      ),
    );
    expect(error.code).toBe(ErrorCode.MONEY_INVALID);
    expect(error.message).toBe('sum must be a safe integer of minor units, but got: 9007199254740992');
  });

  it('accepts a total at the edge of the safe range', () => {
    const total = sum(
      [
        { minor: Number.MAX_SAFE_INTEGER, currency: 'CNY' },
        { minor: -1, currency: 'CNY' },
        { minor: 1, currency: 'CNY' },
      ],
      'CNY',
    );
    expect(total.minor).toBe(Number.MAX_SAFE_INTEGER);
  });
});

describe('isZero', () => {
  it('is true only for exactly zero', () => {
    expect(isZero({ minor: 0, currency: 'CNY' })).toBe(true);
    expect(isZero({ minor: 1, currency: 'CNY' })).toBe(false);
    expect(isZero({ minor: -1, currency: 'CNY' })).toBe(false);
  });
});
