import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { currencySchema, minorUnitsSchema, nonNegativeMoneySchema, settlementResultSchema, wireMoneySchema } from '../../src/upstreams/contracts.ts';
import { answerCheck } from '../../src/upstreams/wire-check.ts';

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

describe('nonNegativeMoneySchema', () => {
  it('refuses a negative amount at its minor units, in zod and in the compiled check, whatever the contract lists before it', () => {
    // Minor units first: their node, shared with the amount's, is declared after the amount's.
    const contract = z.object({ fee: minorUnitsSchema, price: nonNegativeMoneySchema });
    const answer = { fee: 1, price: { minor: -1, currency: 'CNY' } };
    expect(contract.safeParse(answer).error?.issues[0]).toMatchObject({ path: ['price', 'minor'], message: 'must not be negative' });
    expect(answerCheck(contract)(structuredClone(answer))).toBe(false);
    expect(answerCheck(contract)({ fee: -1, price: { minor: 0, currency: 'CNY' } })).toBe(true);
  });
});

describe('settlement’s discount kinds', () => {
  const answer = (kind: string) => ({
    quotes: [
      {
        quoteId: 'q0',
        currency: 'CNY',
        lines: [{ skuId: 'sku-1', quantity: 1 }],
        goodsTotal: { minor: 1000, currency: 'CNY' },
        discounts: [{ kind, amount: { minor: 100, currency: 'CNY' }, sourceIds: [] }],
        shipping: { minor: 0, currency: 'CNY' },
        plusRebate: { minor: 0, currency: 'CNY' },
        payable: { minor: 900, currency: 'CNY' },
      },
    ],
  });

  it('accepts a kind added since this release, in zod and in the compiled check: its amount is still part of payable', () => {
    expect(settlementResultSchema.parse(answer('bank-card')).quotes[0]?.discounts[0]?.kind).toBe('bank-card');
    expect(answerCheck(settlementResultSchema)(answer('bank-card'))).toBe(true);
  });

  it('refuses an empty kind, in zod and in the compiled check', () => {
    expect(settlementResultSchema.safeParse(answer('')).success).toBe(false);
    expect(answerCheck(settlementResultSchema)(answer(''))).toBe(false);
  });
});
