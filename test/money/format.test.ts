import { describe, expect, it } from 'vitest';
import { formatMoney, minorToDecimalString } from '../../src/money/format.ts';

const cny = (minor: number) => ({ minor, currency: 'CNY' });

describe('formatMoney', () => {
  it.each([
    [2090, '¥20.90'],
    [-500, '-¥5.00'],
    [100_000, '¥1,000.00'],
    [0, '¥0.00'],
    [1, '¥0.01'],
    [-1, '-¥0.01'],
    [-99, '-¥0.99'],
    [123_456_789, '¥1,234,567.89'],
  ])('formats %d fen as %s for zh-CN', (minor, text) => {
    expect(formatMoney(cny(minor), 'zh-CN')).toBe(text);
  });

  it('marks the currency for the en locale', () => {
    expect(formatMoney(cny(-500), 'en')).toBe('-CN¥5.00');
    expect(formatMoney(cny(100_000), 'en')).toBe('CN¥1,000.00');
  });

  it('prints yen without decimals, since JPY has no minor unit', () => {
    expect(formatMoney({ minor: 500, currency: 'JPY' }, 'en')).toBe('¥500');
    expect(formatMoney({ minor: -1_234_567, currency: 'JPY' }, 'en')).toBe('-¥1,234,567');
    expect(formatMoney({ minor: 500, currency: 'JPY' }, 'zh-CN')).toBe('JP¥500');
  });

  it('prints three-decimal currencies with all three digits', () => {
    expect(formatMoney({ minor: 1_234, currency: 'KWD' }, 'en')).toBe('KWD\u00a01.234'); // Intl puts a no-break space after the code
  });

  it('prints amounts above 2^53 / 100 digit for digit, without float rounding', () => {
    // 2^53 - 1 fen: a float division by 100 would print ...409.92.
    expect(formatMoney(cny(Number.MAX_SAFE_INTEGER), 'zh-CN')).toBe('¥90,071,992,547,409.91');
    expect(formatMoney(cny(-Number.MAX_SAFE_INTEGER), 'en')).toBe('-CN¥90,071,992,547,409.91');
    expect(formatMoney(cny(90_071_992_547_409_03), 'zh-CN')).toBe('¥90,071,992,547,409.03');
  });

  it('formats the same amount the same way on repeated calls', () => {
    expect(formatMoney(cny(2090), 'zh-CN')).toBe(formatMoney(cny(2090), 'zh-CN'));
    expect(formatMoney(cny(2090), 'en')).toBe('CN¥20.90');
    expect(formatMoney(cny(2090), 'zh-CN')).toBe('¥20.90');
  });
});

describe('minorToDecimalString', () => {
  it.each([
    [12_345, 2, '123.45'],
    [5, 2, '0.05'],
    [-5, 2, '-0.05'],
    [-50, 2, '-0.50'],
    [-105, 2, '-1.05'],
    [0, 2, '0.00'],
    [-0, 2, '0.00'],
    [100, 2, '1.00'],
    [7, 3, '0.007'],
    [-7, 0, '-7'],
    [0, 0, '0'],
    [1234, 0, '1234'],
    [Number.MAX_SAFE_INTEGER, 2, '90071992547409.91'],
    [-Number.MAX_SAFE_INTEGER, 2, '-90071992547409.91'],
    [Number.MAX_SAFE_INTEGER, 0, '9007199254740991'],
  ])('writes %d with %d fraction digits as %s', (minor, digits, text) => {
    expect(minorToDecimalString(minor, digits)).toBe(text);
  });
});
