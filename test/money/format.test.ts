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

  // Intl's own digits come from CLDR, which disagrees with ISO 4217 for these: it printed
  // 123456 IDR minor units as "IDR 123,456" (100× too much) and 1234 fils as "IQD 1,234".
  it.each([
    ['IDR', 123_456, 'IDR\u00a01,234.56'],
    ['HUF', 1_234, 'HUF\u00a012.34'],
    ['PKR', 1_234, 'PKR\u00a012.34'],
    ['COP', 1_234, 'COP\u00a012.34'],
    ['LAK', 1_234, 'LAK\u00a012.34'],
    ['IQD', 1_234, 'IQD\u00a01.234'],
    ['IQD', 1, 'IQD\u00a00.001'],
    ['IQD', -1, '-IQD\u00a00.001'],
    ['KWD', 1_234, 'KWD\u00a01.234'],
    ['BHD', 500, 'BHD\u00a00.500'],
    ['JOD', 1_000_000, 'JOD\u00a01,000.000'],
    ['KRW', 500, '₩500'],
    ['USD', 2_090, 'US$20.90'],
  ])('prints %s with its ISO 4217 minor-unit digits in zh-CN: %d → %s', (currency, minor, text) => {
    expect(formatMoney({ minor, currency }, 'zh-CN')).toBe(text);
  });

  it.each([
    ['IDR', 123_456, 'IDR\u00a01,234.56'],
    ['IQD', 1_234, 'IQD\u00a01.234'],
    ['KWD', -1_234, '-KWD\u00a01.234'],
    ['JPY', 500, '¥500'],
    ['KRW', 500, '₩500'],
    ['USD', 2_090, '$20.90'],
    ['CNY', 2_090, 'CN¥20.90'],
  ])('prints %s with its ISO 4217 minor-unit digits in en: %d → %s', (currency, minor, text) => {
    expect(formatMoney({ minor, currency }, 'en')).toBe(text);
  });

  it.each([
    ['CNY', 'zh-CN', '¥0.00'],
    ['CNY', 'en', 'CN¥0.00'],
    ['JPY', 'en', '¥0'],
    ['IQD', 'zh-CN', 'IQD\u00a00.000'],
  ])('never prints a negative zero: -0 %s in %s is %s', (currency, locale, text) => {
    expect(formatMoney({ minor: -0, currency }, locale)).toBe(text);
    expect(formatMoney({ minor: 0, currency }, locale)).toBe(text);
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY, 0.5, -0.5, Number.MAX_SAFE_INTEGER + 1])(
    'refuses to format %d minor units rather than print NaN, a fraction or a rounded amount',
    (minor) => {
      expect(() => formatMoney({ minor, currency: 'CNY' }, 'zh-CN')).toThrow(/must be a safe integer of minor units/);
    },
  );

  it('refuses a currency ISO 4217 does not list instead of guessing its digits', () => {
    expect(() => formatMoney({ minor: 1_234, currency: 'XYZ' }, 'en')).toThrow(/ISO 4217.*"XYZ"/);
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
