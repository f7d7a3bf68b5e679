import { describe, expect, it } from 'vitest';
import { plus95 } from '../../../src/floors/builders/plus95.ts';
import { UpstreamError } from '../../../src/upstreams/upstream-error.ts';
import { buildContext, cny, fakePanelData, promotionFixture, quoteFixture } from './fixtures.ts';
import { caughtFrom } from '../../support/thrown.ts';

const decorate = plus95.decorations!.decorate;

describe('plus95 builder (PLUS专享95折)', () => {
  it('shows the PLUS discount as a negative amount from settlement, and the quota left as its decoration', async () => {
    const { data, calls } = fakePanelData();
    expect(await plus95.build(buildContext(data))).toEqual({ amount: cny(-870), vars: { amount: cny(-870) } });
    expect(calls).toEqual(['quote']);
    expect(await decorate(buildContext(data))).toEqual({ quotaRemaining: cny(100_000) });
  });

  it('shows zero of the quote currency, not null, for a member whose discount did not apply', async () => {
    const { data } = fakePanelData({
      promotion: promotionFixture({ membership: { tier: 'plus', plus95QuotaRemaining: { minor: 0, currency: 'JPY' } } }),
      quote: quoteFixture({ currency: 'JPY', goodsTotal: { minor: 3000, currency: 'JPY' }, discounts: [] }),
    });
    expect(await plus95.build(buildContext(data))).toEqual({ amount: { minor: 0, currency: 'JPY' }, vars: { amount: { minor: 0, currency: 'JPY' } } });
    expect(await decorate(buildContext(data))).toEqual({ quotaRemaining: { minor: 0, currency: 'JPY' } });
  });

  it('returns null for a shopper who is not a PLUS member and got no PLUS discount', async () => {
    const quote = quoteFixture();
    const { data } = fakePanelData({
      promotion: promotionFixture({ membership: { tier: 'none', plus95QuotaRemaining: null } }),
      quote: { ...quote, discounts: quote.discounts.filter((d) => d.kind !== 'plus95') },
    });
    expect(plus95.build(buildContext(data))).toBeNull();
  });

  it('keeps a PLUS discount settlement took off even when promotion says not a member, so the panel still adds up', async () => {
    const { data } = fakePanelData({
      promotion: promotionFixture({ membership: { tier: 'none', plus95QuotaRemaining: null } }),
    });
    expect(plus95.build(buildContext(data))).toEqual({ amount: cny(-870), vars: { amount: cny(-870) } });
  });

  it('leaves quotaRemaining out for a PLUS member whose quota is unknown (null)', async () => {
    const { data } = fakePanelData({
      promotion: promotionFixture({ membership: { tier: 'plus', plus95QuotaRemaining: null } }),
    });
    expect(decorate(buildContext(data))).toEqual({});
  });

  it('keeps a discount settlement took off when membership cannot be fetched; only the quota fails', async () => {
    const failure = new UpstreamError('promotion', 'timeout', 'no answer in 300 ms');
    const { data } = fakePanelData({ promotion: failure });
    expect(plus95.build(buildContext(data))).toEqual({ amount: cny(-870), vars: { amount: cny(-870) } });
    expect(caughtFrom(() => decorate(buildContext(data)))).toBe(failure);
  });

  it('rejects with the promotion failure when it must know membership to show a zero row', async () => {
    const failure = new UpstreamError('promotion', 'timeout', 'no answer in 300 ms');
    const quote = quoteFixture();
    const { data } = fakePanelData({ promotion: failure, quote: { ...quote, discounts: quote.discounts.filter((d) => d.kind !== 'plus95') } });
    expect(caughtFrom(() => plus95.build(buildContext(data)))).toBe(failure);
  });
});
