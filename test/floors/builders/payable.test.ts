import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/errors.ts';
import { payable } from '../../../src/floors/builders/payable.ts';
import { buildContext, cny, fakePanelData, quoteFixture } from './fixtures.ts';
import { caughtFrom } from '../../support/thrown.ts';

describe('payable builder (实付款)', () => {
  it('shows the payable total settlement quoted, as a positive amount', async () => {
    const { data } = fakePanelData();
    const facts = await payable.build(buildContext(data));
    expect(facts?.amount).toEqual(cny(17_130));
  });

  it('reports the savings as the positive sum of every deduction', async () => {
    const { data } = fakePanelData();
    const facts = await payable.build(buildContext(data));
    // 500 + 2000 + 1000 + 870
    expect(facts?.vars).toEqual({ amount: cny(17_130), savings: cny(4370) });
  });

  it('takes the total from settlement rather than recomputing it', async () => {
    const { data } = fakePanelData({ quote: quoteFixture({ payable: cny(1) }) });
    const facts = await payable.build(buildContext(data));
    expect(facts?.amount).toEqual(cny(1));
  });

  it('reports zero savings of the quote currency when nothing was deducted', async () => {
    const jpy = (minor: number) => ({ minor, currency: 'JPY' });
    const { data } = fakePanelData({
      quote: quoteFixture({
        currency: 'JPY',
        goodsTotal: jpy(3000),
        discounts: [],
        shipping: jpy(0),
        plusRebate: jpy(0),
        payable: jpy(3000),
      }),
    });
    const facts = await payable.build(buildContext(data));
    expect(facts).toEqual({ amount: jpy(3000), vars: { amount: jpy(3000), savings: jpy(0) } });
  });

  it('refuses a deduction in another currency instead of adding it up', async () => {
    const { data } = fakePanelData({
      quote: quoteFixture({ discounts: [{ kind: 'coupon', amount: { minor: 500, currency: 'USD' }, sourceIds: ['cpn'] }] }),
    });
    expect(caughtFrom(() => payable.build(buildContext(data)))).toMatchObject({ code: ErrorCode.MONEY_INVALID });
  });

  it('reads only the quote', async () => {
    const { data, calls } = fakePanelData();
    await payable.build(buildContext(data));
    expect(calls).toEqual(['quote']);
  });
});
