/**
 * The cart bottom sheet must add up: whatever the cart, the rows a shopper sees
 * (goods, deductions, charges) sum to the payable row, which is what settlement charges.
 * Carts are priced by the demo settlement and rendered by the real renderer and layout.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { DemoUser } from '../../src/demo-upstreams/data.ts';
import { priceQuote } from '../../src/demo-upstreams/pricing.ts';
import { defaultBuilders } from '../../src/floors/builders/index.ts';
import type { RenderedPanel } from '../../src/floors/panel.ts';
import { createBuilderRegistry } from '../../src/floors/registry.ts';
import { PanelRenderer } from '../../src/floors/renderer.ts';
import { compileFloorsFile } from '../../src/layouts/floors-config.ts';
import type { Cart, CartLine, PromotionResult } from '../../src/upstreams/contracts.ts';
import { cny, fakePanelData } from './builders/fixtures.ts';

const LOCALES = ['zh-CN', 'en'];
const FILE = 'floors/cart-bottom-sheet.yaml';
const SUMMED_KINDS = new Set(['GOODS', 'DEDUCTION', 'CHARGE']);

function realRenderer(): PanelRenderer {
  const source = readFileSync(new URL(`../../${FILE}`, import.meta.url), 'utf8');
  const result = compileFloorsFile(FILE, source, createBuilderRegistry(defaultBuilders), LOCALES);
  if (result.layout === undefined) throw new Error(result.problems.map((p) => p.message).join('\n'));
  const layout = result.layout;
  return new PanelRenderer({ layouts: () => new Map([[layout.scene, layout]]), logger: pino({ level: 'silent' }) });
}

/** "-CN¥1,234.05" / "¥0.99" → signed minor units; throws on anything else. */
function parsePriceText(text: string): number {
  const negative = text.startsWith('-');
  const body = text.replace(/^-/, '').replace(/^(CN)?¥/, '').replaceAll(',', '');
  const match = /^(\d+)\.(\d{2})$/.exec(body);
  if (match === null) throw new Error(`price text ${JSON.stringify(text)} is not a CNY amount`);
  const minor = Number(match[1]) * 100 + Number(match[2]);
  return negative ? -minor : minor;
}

const lineArb = fc.record({
  skuId: fc.stringMatching(/^sku-[a-z0-9]{1,6}$/),
  quantity: fc.integer({ min: 1, max: 20 }),
  unitPrice: fc.integer({ min: 0, max: 2_000_000 }),
  selected: fc.boolean(),
});

const membershipArb = fc.oneof(
  fc.constant({ tier: 'none' as const, plus95QuotaRemaining: null }),
  fc.record({ tier: fc.constant('plus' as const), plus95QuotaRemaining: fc.integer({ min: 0, max: 100_000 }) }),
);

const userArb: fc.Arbitrary<DemoUser> = fc
  .uniqueArray(lineArb, { selector: (l) => l.skuId, maxLength: 8 })
  .chain((lines) => {
    const skuIds = lines.map((l) => l.skuId);
    const someSkus = fc.subarray(skuIds);
    return fc.record({
      lines: fc.constant(lines),
      membership: membershipArb,
      instant: fc.array(fc.record({ skuIds: someSkus, amountPerUnit: fc.integer({ min: 1, max: 300_000 }) }), { maxLength: 3 }),
      fullReduction: fc.array(
        fc.record({
          skuIds: someSkus,
          threshold: fc.integer({ min: 0, max: 5_000_000 }),
          amount: fc.integer({ min: 1, max: 500_000 }),
        }),
        { maxLength: 2 },
      ),
      coupons: fc.array(
        fc.record({
          claimed: fc.boolean(),
          threshold: fc.integer({ min: 0, max: 5_000_000 }),
          discount: fc.integer({ min: 0, max: 200_000 }),
        }),
        { maxLength: 3 },
      ),
    });
  })
  .map(({ lines, membership, instant, fullReduction, coupons }): DemoUser => {
    const cartLines: CartLine[] = lines.map((l) => ({
      skuId: l.skuId,
      title: l.skuId,
      quantity: l.quantity,
      unitPrice: cny(l.unitPrice),
      selected: l.selected,
    }));
    return {
      userId: 'u-prop',
      currency: 'CNY',
      lines: cartLines,
      membership,
      instantCampaigns: instant.map((c, i) => ({ id: `camp-lj-${i}`, title: `立减${i}`, ...c })),
      fullReductionCampaigns: fullReduction.map((c, i) => ({ id: `camp-mj-${i}`, title: `满减${i}`, ...c })),
      coupons: coupons.map((c, i) => ({ id: `cpn-${i}`, title: `券${i}`, ...c })),
      unitPrices: new Map(cartLines.map((l) => [l.skuId, l.unitPrice.minor])),
    };
  });

/** What the demo promotion service answers for the selected SKUs of `user`. */
function promotionFor(user: DemoUser, selectedSkus: ReadonlySet<string>): PromotionResult {
  return {
    userId: user.userId,
    membership: {
      tier: user.membership.tier,
      plus95QuotaRemaining: user.membership.plus95QuotaRemaining === null ? null : cny(user.membership.plus95QuotaRemaining),
    },
    campaigns: [
      ...user.instantCampaigns.map((c) => ({ id: c.id, kind: 'instant' as const, title: c.title, skuIds: [...c.skuIds] })),
      ...user.fullReductionCampaigns.map((c) => ({ id: c.id, kind: 'full-reduction' as const, title: c.title, skuIds: [...c.skuIds] })),
    ].filter((c) => c.skuIds.some((s) => selectedSkus.has(s))),
    coupons: user.coupons.map((c) => ({ id: c.id, title: c.title, claimed: c.claimed, discount: cny(c.discount), threshold: cny(c.threshold) })),
  };
}

function checkPanel(panel: RenderedPanel, payableMinor: number): void {
  expect(panel.degraded).toBe(false);

  const payableFloors = panel.floors.filter((f) => f.kind === 'PAYABLE');
  expect(payableFloors).toHaveLength(1);
  expect(payableFloors[0]?.amount?.minor).toBe(payableMinor);

  const summed = panel.floors.filter((f) => SUMMED_KINDS.has(f.kind)).reduce((total, f) => total + (f.amount?.minor ?? 0), 0);
  expect(summed).toBe(payableMinor);

  for (const f of panel.floors) {
    if (f.kind === 'DEDUCTION') expect(f.amount?.minor, `${f.code} is a deduction`).toBeLessThanOrEqual(0);
    if (f.amount !== null && f.amount.minor !== 0) {
      expect(f.priceText, `${f.code} has a price text`).not.toBeNull();
      expect(parsePriceText(f.priceText ?? ''), `${f.code}: ${String(f.priceText)}`).toBe(f.amount.minor);
    }
  }

  const sorts = panel.floors.map((f) => f.sort);
  expect(sorts).toEqual([...sorts].sort((a, b) => a - b));
}

describe('cart bottom sheet reconciliation', () => {
  const renderer = realRenderer();

  it('adds goods, deductions and charges up to the payable settlement quoted, in every locale', async () => {
    await fc.assert(
      fc.asyncProperty(userArb, async (user) => {
        const selected = user.lines.filter((l) => l.selected);
        const quote = priceQuote(
          user,
          'q-prop',
          selected.map((l) => ({ skuId: l.skuId, quantity: l.quantity })),
        );
        const cart: Cart = { userId: user.userId, currency: user.currency, lines: [...user.lines] };
        const promotion = promotionFor(user, new Set(selected.map((l) => l.skuId)));
        for (const locale of LOCALES) {
          const { data } = fakePanelData({ cart, selectedLines: selected, promotion, quote });
          const panel = await renderer.render({ scene: 'cart-bottom-sheet', data, viewer: { segments: [], platform: 'ios', locale, appVersion: '99.0.0' } });
          checkPanel(panel, quote.payable.minor);
        }
      }),
      { numRuns: 300 },
    );
  });
});
