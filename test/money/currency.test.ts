import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { isKnownCurrency, minorUnitExponent } from '../../src/money/currency.ts';

/** ISO 4217 list one as currency-codes ships it: code → its CcyMnrUnts text ("2", "0", "N.A."). */
function isoListOne(): Map<string, string> {
  const xml = readFileSync(createRequire(import.meta.url).resolve('currency-codes/iso-4217-list-one.xml'), 'utf8');
  const units = new Map<string, string>();
  for (const [, entry = ''] of xml.matchAll(/<CcyNtry>([\s\S]*?)<\/CcyNtry>/g)) {
    const code = /<Ccy>([A-Z]{3})<\/Ccy>/.exec(entry)?.[1];
    const minor = /<CcyMnrUnts>([^<]*)<\/CcyMnrUnts>/.exec(entry)?.[1];
    if (code !== undefined && minor !== undefined) units.set(code, minor);
  }
  return units;
}

describe('minorUnitExponent', () => {
  it.each([
    ['JPY', 0],
    ['KRW', 0],
    ['CNY', 2],
    ['USD', 2],
    ['IDR', 2],
    ['HUF', 2],
    ['PKR', 2],
    ['COP', 2],
    ['LAK', 2],
    ['IQD', 3],
    ['KWD', 3],
    ['BHD', 3],
    ['JOD', 3],
    ['CLF', 4],
  ])('gives %s %d minor-unit digits, as ISO 4217 does', (code, digits) => {
    expect(minorUnitExponent(code)).toBe(digits);
  });

  it('names the code it does not know', () => {
    expect(() => minorUnitExponent('XYZ')).toThrow('must be an ISO 4217 currency code with a minor unit, but got: "XYZ"');
  });
});

describe('isKnownCurrency', () => {
  it('knows current currencies', () => {
    for (const code of ['CNY', 'JPY', 'IQD', 'EUR']) expect(isKnownCurrency(code)).toBe(true);
  });

  it.each([
    ['XYZ', 'never assigned'],
    ['HRK', 'withdrawn in 2023 (Croatia adopted the euro)'],
    ['SLL', 'withdrawn in 2024 (replaced by SLE)'],
    ['cny', 'lower case'],
    ['CNY ', 'padded'],
    ['', 'empty'],
    ['XAU', 'gold: no minor unit'],
    ['XXX', '"no currency": no minor unit'],
    ['XTS', 'reserved for testing: no minor unit'],
    ['toString', 'an Object.prototype name'],
  ])('refuses %j (%s)', (code) => {
    expect(isKnownCurrency(code)).toBe(false);
  });

  it('agrees, code for code, with the ISO 4217 list the package ships: every code with a numeric minor unit, and its digits', () => {
    const iso = isoListOne();
    expect(iso.size).toBeGreaterThan(150);
    for (const [code, minor] of iso) {
      if (/^\d+$/.test(minor)) {
        expect(isKnownCurrency(code), code).toBe(true);
        expect(minorUnitExponent(code), code).toBe(Number(minor));
      } else {
        // "N.A.": precious metals, bond units, XDR, XTS, XXX — not money a cart can be priced in.
        expect(isKnownCurrency(code), code).toBe(false);
      }
    }
  });
});
