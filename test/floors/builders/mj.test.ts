import { describe, expect, it } from 'vitest';
import { mj } from '../../../src/floors/builders/mj.ts';
import { UpstreamError } from '../../../src/upstreams/upstream-error.ts';
import { buildContext, cny, fakePanelData, quoteFixture } from './fixtures.ts';
import { caughtFrom } from '../../support/thrown.ts';

const decorate = mj.decorations!.decorate;

describe('mj builder (满减)', () => {
  it('shows the full-reduction discount as a negative amount, from settlement alone', async () => {
    const { data, calls } = fakePanelData();
    const facts = await mj.build(buildContext(data));
    expect(facts).toEqual({ amount: cny(-2000), vars: { amount: cny(-2000) } });
    expect(calls).toEqual(['quote']);
  });

  it('sums two full-reduction entries of one quote', async () => {
    const { data } = fakePanelData({
      quote: quoteFixture({
        discounts: [
          { kind: 'full-reduction', amount: cny(2000), sourceIds: ['camp-mj-199-20'] },
          { kind: 'full-reduction', amount: cny(3000), sourceIds: ['camp-mj-299-30'] },
        ],
      }),
    });
    expect((await mj.build(buildContext(data)))?.amount).toEqual(cny(-5000));
    expect(await decorate(buildContext(data))).toEqual({ campaignTitle: '满199减20 满299减30' });
  });

  it('titles the row with the campaign settlement named, not other campaigns of the promotion', async () => {
    const { data } = fakePanelData();
    // The promotion also has 满299减30 and an instant campaign; only the source is shown.
    expect(await decorate(buildContext(data))).toEqual({ campaignTitle: '满199减20' });
  });

  it('joins the titles of several applied campaigns with a space', async () => {
    const { data } = fakePanelData({
      quote: quoteFixture({
        discounts: [{ kind: 'full-reduction', amount: cny(5000), sourceIds: ['camp-mj-199-20', 'camp-mj-299-30'] }],
      }),
    });
    expect(await decorate(buildContext(data))).toEqual({ campaignTitle: '满199减20 满299减30' });
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
    expect(await decorate(buildContext(data))).toEqual({ campaignTitle: '满299减30' });
  });

  it('leaves out a source id the promotion does not know, rather than failing', async () => {
    const { data } = fakePanelData({
      quote: quoteFixture({
        discounts: [{ kind: 'full-reduction', amount: cny(2000), sourceIds: ['camp-gone', 'camp-mj-199-20'] }],
      }),
    });
    expect(await decorate(buildContext(data))).toEqual({ campaignTitle: '满199减20' });
  });

  it('shows zero of the quote currency and no title when no full reduction applied', async () => {
    const { data } = fakePanelData({
      quote: quoteFixture({
        currency: 'JPY',
        goodsTotal: { minor: 3000, currency: 'JPY' },
        discounts: [{ kind: 'instant', amount: { minor: 100, currency: 'JPY' }, sourceIds: ['camp-lj'] }],
      }),
    });
    expect(await mj.build(buildContext(data))).toEqual({ amount: { minor: 0, currency: 'JPY' }, vars: { amount: { minor: 0, currency: 'JPY' } } });
    expect(await decorate(buildContext(data))).toEqual({});
  });

  it('keeps the amount when campaigns cannot be fetched: only the title fails', async () => {
    const failure = new UpstreamError('promotion', 'timeout', 'no answer in 300 ms');
    const { data } = fakePanelData({ promotion: failure });
    expect((await mj.build(buildContext(data)))?.amount).toEqual(cny(-2000));
    expect(caughtFrom(() => decorate(buildContext(data)))).toBe(failure);
  });
});
