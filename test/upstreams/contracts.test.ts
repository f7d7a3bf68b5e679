import { describe, expect, it } from 'vitest';
import { currencySchema, wireMoneySchema } from '../../src/upstreams/contracts.ts';

describe('currencySchema', () => {
  it.each(['CNY', 'JPY', 'IQD', 'KWD', 'IDR', 'USD'])('accepts %s', (code) => {
    expect(currencySchema.parse(code)).toBe(code);
  });

  it.each(['XYZ', 'HRK', 'XAU', 'cny', 'CN'])('refuses %s, naming it', (code) => {
    const parsed = currencySchema.safeParse(code);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toBe(`must be an ISO 4217 currency code with a minor unit, such as "CNY", but got: "${code}"`);
  });

  it('refuses an amount in an unknown currency', () => {
    expect(wireMoneySchema.safeParse({ minor: 100, currency: 'XYZ' }).success).toBe(false);
  });
});
