import { describe, expect, it } from 'vitest';
import { mj } from '../../../src/floors/builders/mj.ts';
import { UpstreamError } from '../../../src/upstreams/upstream-error.ts';
import { buildContext, cny, fakePanelData, promotionFixture, quoteFixture, upstreamsRead } from './fixtures.ts';

describe('mj builder (满减)', () => {
  it('shows the full-reduction discount as a negative amount', async () => {
    const { data } = fakePanelData();
    const facts = await mj.build(buildContext(data));
    expect(facts?.amount).toEqual(cny(-2000));
  });

  it('titles the row with the campaign settlement named, not other campaigns of the promotion', async () => {
    const { data } = fakePanelData();
    const facts = await mj.build(buildContext(data));
    // The promotion also has 满299减30 and an instant campaign; only the source is shown.
    expect(facts?.vars).toEqual({ amount: cny(-2000), campaignTitle: '满199减20' });
  });

  it('joins the titles of several applied campaigns with a space', async () => {
    const { data } = fakePanelData({
      quote: quoteFixture({
        discounts: [{ kind: 'full-reduction', amount: cny(5000), sourceIds: ['camp-mj-199-20', 'camp-mj-299-30'] }],
      }),
    });
    const facts = await mj.build(buildContext(data));
    expect(facts?.vars?.['campaignTitle']).toBe('满199减20 满299减30');
  });

  it('does not take titles from the sources of other discount kinds', async () => {
    const { data } = fakePanelData({
      quote: quoteFixture({
        discounts: [
          { kind: 'instant', amount: cny(500), sourceIds: ['camp-lj'] },
          { kind: 'full-reduction', amount: cny(3000), sourceIds: ['camp-mj-299-30'] },
        ],
      }),
    });
    const facts = await mj.build(buildContext(data));
    expect(facts?.vars?.['campaignTitle']).toBe('满299减30');
  });

  it('leaves out a source id the promotion does not know, rather than failing', async () => {
    const { data } = fakePanelData({
      quote: quoteFixture({
        discounts: [{ kind: 'full-reduction', amount: cny(2000), sourceIds: ['camp-gone', 'camp-mj-199-20'] }],
      }),
    });
    const facts = await mj.build(buildContext(data));
    expect(facts?.vars?.['campaignTitle']).toBe('满199减20');
  });

  it('shows zero of the quote currency and an empty title when no full reduction applied', async () => {
    const { data } = fakePanelData({
      quote: quoteFixture({
        currency: 'JPY',
        goodsTotal: { minor: 3000, currency: 'JPY' },
        discounts: [{ kind: 'instant', amount: { minor: 100, currency: 'JPY' }, sourceIds: ['camp-lj'] }],
      }),
    });
    const facts = await mj.build(buildContext(data));
    expect(facts).toEqual({ amount: { minor: 0, currency: 'JPY' }, vars: { amount: { minor: 0, currency: 'JPY' }, campaignTitle: '' } });
  });

  it('reads the quote and the promotion, and never the cart', async () => {
    const { data, calls } = fakePanelData();
    await mj.build(buildContext(data));
    expect([...calls].sort()).toEqual(['promotion', 'quote']);
  });

  it('declares every upstream it reads among its needs', async () => {
    const { data, calls } = fakePanelData();
    await mj.build(buildContext(data));
    for (const upstream of upstreamsRead(calls)) expect(mj.needs).toContain(upstream);
  });

  it('rejects with the promotion failure when campaigns cannot be fetched', async () => {
    const failure = new UpstreamError('promotion', 'timeout', 'no answer in 300 ms');
    const { data } = fakePanelData({ promotion: failure });
    await expect(mj.build(buildContext(data))).rejects.toBe(failure);
  });

  it('rejects with the settlement failure when the quote cannot be fetched', async () => {
    const failure = new UpstreamError('settlement', 'network_error', 'ECONNRESET');
    const { data } = fakePanelData({ quote: failure, promotion: promotionFixture() });
    await expect(mj.build(buildContext(data))).rejects.toBe(failure);
  });
});
