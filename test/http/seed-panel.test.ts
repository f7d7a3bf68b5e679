import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PANEL_QUERY, startHarness, type Harness, type PanelResult } from '../support/harness.ts';

describe('the seed panel over real HTTP', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it('renders u1001 cart bottom sheet as the seed shows it, in order, not degraded', async () => {
    const res = await h.graphql<PanelResult>('u1001', PANEL_QUERY, { scene: 'cart-bottom-sheet' }, { 'accept-language': 'zh-CN' });
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    const panel = res.body.data!.floorPanel;
    expect(panel.degraded).toBe(false);
    expect(panel.failedUpstreams).toEqual([]);
    expect(panel.layoutVersion).toBe('2026-11-21.1');
    expect(panel.floors.slice(0, 4).map(({ code, name, priceText, subName, style }) => ({ code, name, priceText, subName, style }))).toEqual([
      { code: 'spze', name: '商品总额', priceText: '¥20.90', subName: null, style: ['bold'] },
      { code: 'lj', name: '立减', priceText: '-¥5.00', subName: null, style: [] },
      { code: 'coupon', name: '优惠券', priceText: '-¥6.00', subName: '已领券 -¥6.00', style: [] },
      { code: 'plus95', name: 'PLUS专享95折', priceText: '-¥1.04', subName: '本月剩余优惠额度 ¥1,000.00', style: [] },
    ]);
    expect(panel.floors.slice(0, 4).map((f) => f.amount)).toEqual([
      { minor: 2090, currency: 'CNY' },
      { minor: -500, currency: 'CNY' },
      { minor: -600, currency: 'CNY' },
      { minor: -104, currency: 'CNY' },
    ]);
  });

  it('follows with shipping, rebate and the payable total, and the signed amounts reconcile', async () => {
    const res = await h.graphql<PanelResult>('u1001', PANEL_QUERY, { scene: 'cart-bottom-sheet' });
    const floors = res.body.data!.floorPanel.floors;
    expect(floors.map((f) => f.code)).toEqual(['spze', 'lj', 'coupon', 'plus95', 'shipping', 'plus-rebate', 'payable']);
    const payable = floors.find((f) => f.code === 'payable')!;
    expect(payable).toMatchObject({ name: '合计', priceText: '¥8.86', subName: '共优惠 ¥12.04', kind: 'PAYABLE' });
    expect(floors.find((f) => f.code === 'shipping')).toMatchObject({ priceText: '免运费', amount: { minor: 0 } });
    const counted = floors.filter((f) => ['GOODS', 'DEDUCTION', 'CHARGE'].includes(f.kind));
    expect(counted.reduce((sum, f) => sum + f.amount!.minor, 0)).toBe(payable.amount!.minor);
  });

  it('speaks English when the client asks for it', async () => {
    const res = await h.graphql<PanelResult>('u1001', PANEL_QUERY, { scene: 'cart-bottom-sheet' }, { 'accept-language': 'en-GB,en;q=0.9' });
    const panel = res.body.data!.floorPanel;
    expect(panel.locale).toBe('en');
    expect(panel.floors[1]).toMatchObject({ code: 'lj', name: 'Instant discount', priceText: '-CN¥5.00' });
    expect(panel.floors[3]).toMatchObject({ code: 'plus95', subName: 'Quota left this month CN¥1,000.00' });
  });

  it('renders the checkout summary from the same upstream facts', async () => {
    const res = await h.graphql<PanelResult>('u1001', PANEL_QUERY, { scene: 'checkout-summary' });
    const panel = res.body.data!.floorPanel;
    expect(panel.floors.map((f) => f.code)).toEqual(['spze', 'shipping', 'lj', 'coupon', 'plus95', 'free-shipping-notice', 'payable']);
    expect(panel.floors[0]).toMatchObject({ name: '商品金额', subName: '共4件', priceText: '¥20.90' });
    expect(panel.floors.find((f) => f.code === 'free-shipping-notice')).toMatchObject({ amount: null, priceText: null, kind: 'TEXT' });
  });

  it('uses only the selected SKUs when the client names them', async () => {
    const res = await h.graphql<PanelResult>('u1001', PANEL_QUERY, {
      scene: 'cart-bottom-sheet',
      selectedSkuIds: ['sku-nongfu-550ml', 'sku-oreo-116g', 'sku-mengniu-milk-4x250', 'sku-orion-pie-12'],
    });
    const floors = res.body.data!.floorPanel.floors;
    expect(floors[0]).toMatchObject({ code: 'spze', priceText: '¥37.70' });
    expect(floors.find((f) => f.code === 'payable')!.amount!.minor).toBe(2082);
  });

  it('shows an empty cart as zero totals with the zero-amount discounts hidden', async () => {
    const res = await h.graphql<PanelResult>('u-empty', PANEL_QUERY, { scene: 'cart-bottom-sheet' });
    const panel = res.body.data!.floorPanel;
    expect(panel.degraded).toBe(false);
    expect(panel.floors.map((f) => [f.code, f.priceText])).toEqual([
      ['spze', '¥0.00'],
      ['shipping', '免运费'],
      ['payable', '¥0.00'],
    ]);
  });

  it('leaves the PLUS floor out for a non-member and charges shipping', async () => {
    const res = await h.graphql<PanelResult>('u-basic', PANEL_QUERY, { scene: 'cart-bottom-sheet' });
    const codes = res.body.data!.floorPanel.floors.map((f) => f.code);
    expect(codes).not.toContain('plus95');
    expect(codes).not.toContain('plus-rebate');
    expect(res.body.data!.floorPanel.floors.find((f) => f.code === 'shipping')).toMatchObject({ priceText: '¥6.00', amount: { minor: 600 } });
  });

  it('shows a full-reduction campaign under its title', async () => {
    const res = await h.graphql<PanelResult>('u-mj', PANEL_QUERY, { scene: 'cart-bottom-sheet' });
    expect(res.body.data!.floorPanel.floors.find((f) => f.code === 'mj')).toMatchObject({
      name: '满减',
      priceText: '-¥20.00',
      subName: '满199减20',
    });
  });

  it('carries amounts beyond 32-bit Int exactly', async () => {
    const res = await h.graphql<PanelResult>('u-big', PANEL_QUERY, { scene: 'cart-bottom-sheet' });
    expect(res.body.errors).toBeUndefined();
    const spze = res.body.data!.floorPanel.floors[0]!;
    expect(spze.amount!.minor).toBeGreaterThan(2 ** 31);
    expect(Number.isSafeInteger(spze.amount!.minor)).toBe(true);
    const digits = spze.priceText!.replace(/[^0-9]/g, '');
    expect(digits).toBe(String(spze.amount!.minor));
  });

  it('renders a 200-line cart', async () => {
    const res = await h.graphql<PanelResult>('u-bulk', PANEL_QUERY, { scene: 'checkout-summary' });
    const panel = res.body.data!.floorPanel;
    expect(panel.degraded).toBe(false);
    const lines = (h.demo.received('settlement').at(-1) as { quotes: Array<{ lines: unknown[] }> }).quotes[0]!.lines;
    expect(lines).toHaveLength(200);
  });
});
