/**
 * Money integrity through real HTTP against contract-valid but adversarial upstreams (the
 * demo upstreams with their answers rewritten) and faults: every panel adds up, or is
 * degraded with a machine-readable reason — never a sheet that silently stops adding up.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { invariantProblems, type InvariantPanel } from '../support/panel-invariant.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { metricValue, scrapeMetrics } from '../support/measure.ts';

const MONEY_QUERY = /* GraphQL */ `
  query Money($scene: String!) {
    floorPanel(scene: $scene) {
      degraded failedUpstreams degradedReasons
      floors { code kind priceText amount { minor currency } subName }
    }
  }
`;

interface MoneyPanel extends InvariantPanel {
  readonly floors: Array<InvariantPanel['floors'][number]>;
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('money integrity under bad upstreams (real HTTP)', () => {
  let h: Harness;
  beforeAll(async () => {
    const calm = { breakerMinimumCalls: 10_000 };
    h = await startHarness({ config: { upstreams: { cart: calm, promotion: { ...calm, timeoutMs: 150 }, settlement: calm } } });
  });
  afterAll(() => h.close());
  afterEach(() => {
    h.demo.setFaults('');
    for (const upstream of ['cart', 'promotion', 'settlement'] as const) h.demo.tamper(upstream, undefined);
  });

  const panel = async (user: string, scene = 'cart-bottom-sheet'): Promise<MoneyPanel> => {
    const res = await h.graphql<{ floorPanel: MoneyPanel }>(user, MONEY_QUERY, { scene });
    expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
    const p = res.body.data!.floorPanel;
    expect(invariantProblems(p), JSON.stringify(p, null, 1)).toEqual([]);
    return p;
  };
  const row = (p: MoneyPanel, code: string) => p.floors.find((f) => f.code === code);
  /** Rewrites every quote settlement answers. */
  const quotes = (rewrite: (quote: Json) => void) =>
    h.demo.tamper('settlement', (answer) => {
      for (const quote of (answer as Json).quotes as Json[]) rewrite(quote);
      return answer;
    });

  describe('promotion down: rows whose amounts come from settlement stay, without their decorations', () => {
    it('keeps the PLUS 95折 row of u1001 (its amount is settlement’s), without the quota sub-name', async () => {
      h.demo.setFaults('promotion:hang');
      const p = await panel('u1001');
      expect(p.degraded).toBe(true);
      expect(p.failedUpstreams).toEqual(['PROMOTION']);
      expect(p.degradedReasons).toEqual(['UPSTREAM_FAILED']);
      expect(row(p, 'plus95')).toMatchObject({ priceText: '-¥1.04', subName: null });
      expect(row(p, 'payable')).toMatchObject({ priceText: '¥8.86', subName: '共优惠 ¥12.04' });
    });

    it('keeps the 满减 row of u-mj, without the campaign title', async () => {
      h.demo.setFaults('promotion:error:503');
      const p = await panel('u-mj');
      expect(row(p, 'mj')).toMatchObject({ priceText: '-¥20.00', subName: null });
      expect(row(p, 'payable')).toMatchObject({ priceText: '¥199.60', subName: '共优惠 ¥20.00' });
    });
  });

  it('shows a discount of a kind settlement added since this release on the other-discounts row, instead of failing the quote', async () => {
    quotes((quote) => {
      // u1001's ¥8.86 with ¥1.00 more off for paying by bank card: a kind no floor knows.
      quote.discounts.push({ kind: 'bank-card', amount: { minor: 100, currency: 'CNY' }, sourceIds: ['bank-icbc'] });
      quote.payable = { minor: quote.payable.minor - 100, currency: 'CNY' };
    });
    const p = await panel('u1001');
    expect(p).toMatchObject({ degraded: true, failedUpstreams: [], degradedReasons: ['PARTIAL_BREAKDOWN'] });
    expect(p.floors.map((f) => [f.code, f.priceText])).toEqual([
      ['spze', '¥20.90'],
      ['lj', '-¥5.00'],
      ['coupon', '-¥6.00'],
      ['plus95', '-¥1.04'],
      ['shipping', '免运费'],
      ['plus-rebate', '¥0.08'],
      ['other-discounts', '-¥1.00'],
      ['payable', '¥7.86'],
    ]);
    expect(row(p, 'other-discounts')).toMatchObject({ kind: 'DEDUCTION', amount: { minor: -100, currency: 'CNY' } });
    expect(row(p, 'payable')?.subName).toBe('共优惠 ¥13.04');
  });

  it('sums two discounts of one kind into the row, as payable and savings do', async () => {
    quotes((quote) => {
      const coupon = (quote.discounts as Json[]).find((d) => d.kind === 'coupon')!;
      // u1001's ¥6.00 of coupons as two coupons of ¥4.00 and ¥2.00.
      quote.discounts.push({ kind: 'coupon', amount: { minor: 200, currency: 'CNY' }, sourceIds: ['cpn-extra'] });
      coupon.amount = { minor: 400, currency: 'CNY' };
    });
    const p = await panel('u1001');
    expect(p.degraded).toBe(false);
    expect(row(p, 'coupon')).toMatchObject({ priceText: '-¥6.00', amount: { minor: -600, currency: 'CNY' } });
  });

  it('says one coupon used next to a coupon deduction settlement sends without its coupon id', async () => {
    quotes((quote) => {
      (quote.discounts as Json[]).find((d) => d.kind === 'coupon')!.sourceIds = [];
    });
    const p = await panel('u1001', 'checkout-summary');
    expect(row(p, 'coupon')).toMatchObject({ priceText: '-¥6.00', subName: '已使用1张' });
  });

  it('says one coupon used when two coupon deductions name the same coupon', async () => {
    quotes((quote) => {
      const coupon = (quote.discounts as Json[]).find((d) => d.kind === 'coupon')!;
      // u1001's ¥6.00 coupon sent as two entries of ¥4.00 and ¥2.00, both naming it.
      quote.discounts.push({ ...coupon, amount: { minor: 200, currency: 'CNY' } });
      coupon.amount = { minor: 400, currency: 'CNY' };
    });
    const p = await panel('u1001', 'checkout-summary');
    expect(row(p, 'coupon')).toMatchObject({ priceText: '-¥6.00', subName: '已使用1张' });
  });

  it('omits a PLUS member’s quota sub-name when promotion gives no quota, instead of a label with no value', async () => {
    h.demo.tamper('promotion', (answer) => {
      (answer as Json).membership.plus95QuotaRemaining = null;
      return answer;
    });
    const p = await panel('u1001');
    expect(row(p, 'plus95')).toMatchObject({ priceText: '-¥1.04', subName: null });
  });

  describe('a quote that does not add up counts as a settlement failure, with a reason', () => {
    const cases: Array<[string, string, string, (quote: Json) => void]> = [
      ['a discount larger than the goods, payable held at 0', 'u1001', 'QUOTE_INCONSISTENT', (q) => {
        q.discounts[0].amount.minor = q.goodsTotal.minor + 1000;
        q.payable.minor = 0;
      }],
      ['payable not the sum of its parts', 'u1001', 'QUOTE_INCONSISTENT', (q) => {
        q.payable.minor += 1;
      }],
      ['an empty cart priced at ¥51', 'u-empty', 'QUOTE_INCONSISTENT', (q) => {
        q.goodsTotal.minor = 5100;
        q.payable.minor = 5100;
      }],
      ['a quote for a SKU that is not in the cart', 'u1001', 'QUOTE_INCONSISTENT', (q) => {
        q.lines.push({ skuId: 'sku-not-in-cart', quantity: 1 });
      }],
      ['a quote without a line the shopper selected', 'u1001', 'QUOTE_INCONSISTENT', (q) => {
        q.lines.pop();
      }],
      ['cart and settlement in different currencies', 'u1001', 'CURRENCY_MISMATCH', (q) => {
        q.currency = 'USD';
        for (const m of [q.goodsTotal, q.shipping, q.plusRebate, q.payable, ...q.discounts.map((d: Json) => d.amount)]) m.currency = 'USD';
      }],
      ['a USD coupon inside a CNY quote', 'u1001', 'CURRENCY_MISMATCH', (q) => {
        (q.discounts as Json[]).find((d) => d.kind === 'coupon')!.amount.currency = 'USD';
      }],
    ];
    for (const [what, user, reason, rewrite] of cases) {
      it(`${what}: ${reason}`, async () => {
        const before = await scrapeMetrics(h.url);
        quotes(rewrite);
        const p = await panel(user);
        expect(p.degraded).toBe(true);
        expect(p.failedUpstreams).toEqual(['SETTLEMENT']);
        expect(p.degradedReasons).toEqual([reason]);
        expect(p.floors.map((f) => f.code)).not.toContain('payable');
        const after = await scrapeMetrics(h.url);
        const counted = (m: string) => metricValue(m, 'floorplan_upstream_answers_rejected_total', { upstream: 'settlement', reason });
        expect(counted(after) - counted(before)).toBe(1);
        // The call itself kept its contract: one ok call, as README says, whatever the cross-checks then made of it.
        const calls = (m: string) => metricValue(m, 'floorplan_upstream_requests_total', { upstream: 'settlement', outcome: 'ok' });
        expect(calls(after) - calls(before)).toBe(1);
      });
    }
  });

  describe('one SKU on two lines of the cart (two sellers)', () => {
    // u-basic's 乐事 ×2 and 可口可乐 ×1, plus 乐事 ×1 from a second seller, all ticked: settlement
    // is asked for [coke ×1, lays ×2, lays ×1] and prices ¥41.40 of goods − ¥3.00 coupon + ¥6.00 shipping = ¥44.40.
    const secondSeller = () =>
      h.demo.tamper('cart', (answer) => {
        const lays = ((answer as Json).lines as Json[]).find((l) => l.skuId === 'sku-lays-70g')!;
        (answer as Json).lines.push({ ...lays, quantity: 1 });
        return answer;
      });

    it('refuses a quote that leaves out one of the lines, instead of a total without it', async () => {
      secondSeller();
      quotes((quote) => {
        // Settlement prices lays ×1 but not lays ×2: ¥26.40 of goods for the four units the panel counts.
        const index = (quote.lines as Json[]).findIndex((l) => l.skuId === 'sku-lays-70g' && l.quantity === 2);
        quote.lines.splice(index, 1);
        quote.goodsTotal.minor -= 1500;
        quote.payable.minor -= 1500;
      });
      const p = await panel('u-basic', 'checkout-summary');
      expect(p).toMatchObject({ degraded: true, failedUpstreams: ['SETTLEMENT'], degradedReasons: ['QUOTE_INCONSISTENT'] });
      // The cart's own total of the four units, marked degraded; no payable row to pay by.
      expect(row(p, 'spze')).toMatchObject({ priceText: '¥41.40', subName: '共4件' });
      expect(row(p, 'payable')).toBeUndefined();
    });

    it('accepts a quote of both lines in its own order', async () => {
      secondSeller();
      quotes((quote) => quote.lines.reverse());
      const p = await panel('u-basic', 'checkout-summary');
      expect(p).toMatchObject({ degraded: false, failedUpstreams: [], degradedReasons: [] });
      expect(row(p, 'spze')).toMatchObject({ priceText: '¥41.40', subName: '共4件' });
      expect(row(p, 'payable')).toMatchObject({ priceText: '¥44.40' });
    });
  });

  it('counts a promotion in another currency as a promotion failure, and keeps every amount from settlement', async () => {
    h.demo.tamper('promotion', (answer) => {
      (answer as Json).membership.plus95QuotaRemaining.currency = 'USD';
      return answer;
    });
    const p = await panel('u1001');
    expect(p.degraded).toBe(true);
    expect(p.failedUpstreams).toEqual(['PROMOTION']);
    expect(p.degradedReasons).toEqual(['CURRENCY_MISMATCH']);
    expect(row(p, 'plus95')).toMatchObject({ priceText: '-¥1.04', subName: null });
  });
});

describe('a layout whose goods row or total is not the quote’s (real HTTP, demo upstreams)', () => {
  // QA's case: an operator's expression floors with a slip each — the goods row without the
  // quantity (cart sheet), a total one fen above settlement's payable (checkout summary).
  let h: Harness;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'floorplan-disagreeing-rows-'));
    cpSync('floors', dir, { recursive: true });
    const sheet = join(dir, 'cart-bottom-sheet.yaml');
    const shipped = readFileSync(sheet, 'utf8');
    const spze = '  - code: spze\n    builder: spze\n    fallback: spze-cart       # settlement down: the cart\'s own total, panel marked degraded\n';
    expect(shipped).toContain(spze);
    writeFileSync(sheet, shipped.replace(spze, "  - code: spze\n    kind: GOODS\n    amount: 'sum(lines.map(l, l.unitPrice))'\n"));
    const summary = join(dir, 'checkout-summary.yaml');
    const checkout = readFileSync(summary, 'utf8');
    const payable = '  - code: payable\n    builder: payable\n';
    expect(checkout).toContain(payable);
    writeFileSync(summary, checkout.replace(payable, "  - code: payable\n    kind: PAYABLE\n    amount: 'quote.payable + money(1)'\n"));
    h = await startHarness({ config: { floors: { dir } } });
  });
  afterAll(async () => {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const panel = async (user: string, scene: string): Promise<MoneyPanel> => {
    const res = await h.graphql<{ floorPanel: MoneyPanel }>(user, MONEY_QUERY, { scene });
    expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
    const p = res.body.data!.floorPanel;
    // Never a row the quote does not have, whatever else the panel keeps.
    expect(p.floors.filter((f) => f.code.startsWith('other-')), JSON.stringify(p, null, 1)).toEqual([]);
    return p;
  };
  const money = (p: MoneyPanel) => p.floors.filter((f) => f.kind !== 'INFO' && f.kind !== 'TEXT').map((f) => [f.code, f.priceText]);

  it('keeps only settlement’s total when the goods row is not the quote’s goods total, with no invented fee', async () => {
    const mj = await panel('u-mj', 'cart-bottom-sheet');
    // Before: spze ¥159.70 | mj -¥20.00 | shipping 免运费 | other-charges ¥59.90 | payable ¥199.60.
    expect(money(mj)).toEqual([['payable', '¥199.60']]);
    expect(mj).toMatchObject({ degraded: true, failedUpstreams: [], degradedReasons: ['PARTIAL_BREAKDOWN'] });
    const basic = await panel('u-basic', 'cart-bottom-sheet');
    // Before: other-charges ¥7.50 beside a ¥6.00 shipping row, the only charge the quote has.
    expect(money(basic)).toEqual([['payable', '¥36.90']]);
    expect(basic.degradedReasons).toEqual(['PARTIAL_BREAKDOWN']);
  });

  it('never serves a total other than settlement’s payable', async () => {
    const p = await panel('u1001', 'checkout-summary');
    // Before: other-charges ¥0.01 and a total of ¥8.87 where settlement's payable is ¥8.86.
    expect(p.floors.map((f) => f.code)).not.toContain('other-charges');
    expect(p.floors.map((f) => f.code)).not.toContain('payable');
    expect(money(p)).toEqual([
      ['spze', '¥20.90'],
      ['shipping', '免运费'],
      ['lj', '-¥5.00'],
      ['coupon', '-¥6.00'],
      ['plus95', '-¥1.04'],
    ]);
    expect(p).toMatchObject({ degraded: true, failedUpstreams: [], degradedReasons: ['PARTIAL_BREAKDOWN'] });
    expect(invariantProblems(p)).toEqual([]);
  });
});
