/**
 * Every panel adds up, or is degraded with a reason — for generated upstream answers a real
 * settlement could send, not only the demo's: any ISO 4217 currency, amounts up to 2^53 − 1,
 * several discounts of one kind, quotes that do not add up or price other lines, answers in
 * another currency, and each single-upstream failure. The answers go through the real
 * RequestScope (its cross-checks), the real renderer and the shipped layouts of both scenes —
 * the expression floor (new-customer) among them, and discounts of a kind no floor knows.
 */
import { data as iso4217 } from 'currency-codes';
import fc from 'fast-check';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { defaultBuilders } from '../../src/floors/builders/index.ts';
import type { RenderedPanel } from '../../src/panels/panel.ts';
import { createBuilderRegistry } from '../../src/floors/registry.ts';
import { PanelRenderer } from '../../src/panels/renderer.ts';
import { loadFloorsDir } from '../../src/layouts/compile.ts';
import { RequestScope } from '../../src/loaders/request-scope.ts';
import { isKnownCurrency } from '../../src/money/currency.ts';
import type { UpstreamClients } from '../../src/upstreams/clients.ts';
import { KNOWN_DISCOUNT_KINDS, type Cart, type CartLine, type PromotionResult, type SettlementQuote, type UpstreamName } from '../../src/upstreams/contracts.ts';
import { UPSTREAMS } from '../../src/upstreams/registry.ts';
import { UpstreamError, type UpstreamOutcome } from '../../src/upstreams/upstream-error.ts';
import { invariantProblems } from '../support/panel-invariant.ts';
import { demoCalls } from '../support/upstream-fakes.ts';

const LOCALES = ['zh-CN', 'en'];
const SCENES = ['cart-bottom-sheet', 'checkout-summary'];
const MAX = Number.MAX_SAFE_INTEGER;
// new-customer is shown by an expression floor (CEL, floors/*.yaml), the others known to this
// release by builders; bank-card stands for a kind settlement added since, which no floor shows.
const KINDS: readonly string[] = [...KNOWN_DISCOUNT_KINDS, 'bank-card'];
const CURRENCIES = [...new Set(iso4217.map((c) => c.code))].filter(isKnownCurrency);

const renderer = new PanelRenderer({
  layouts: (() => {
    const layouts = loadFloorsDir('floors', createBuilderRegistry(defaultBuilders), LOCALES);
    return () => layouts;
  })(),
  logger: pino({ level: 'silent' }),
});

/** How settlement's answer is broken, if at all, and the reason the panel must then give. */
type QuoteFlaw = 'none' | 'payable-off' | 'discount-above-goods' | 'foreign-line' | 'missing-line' | 'quantity-off' | 'empty-priced' | 'other-currency' | 'one-discount-other-currency';
const FLAW_REASON: Record<Exclude<QuoteFlaw, 'none'>, string> = {
  'payable-off': 'QUOTE_INCONSISTENT',
  'discount-above-goods': 'QUOTE_INCONSISTENT',
  'foreign-line': 'QUOTE_INCONSISTENT',
  'missing-line': 'QUOTE_INCONSISTENT',
  'quantity-off': 'QUOTE_INCONSISTENT',
  'empty-priced': 'QUOTE_INCONSISTENT',
  'other-currency': 'CURRENCY_MISMATCH',
  'one-discount-other-currency': 'CURRENCY_MISMATCH',
};
/** The upstreams every panel of every scene reads: the goods and payable rows come from them. */
const EVERY_PANEL_NEEDS: readonly UpstreamName[] = ['cart', 'settlement'];
const FAULT_OUTCOMES: readonly Exclude<UpstreamOutcome, 'ok' | 'inconsistent'>[] = ['timeout', 'deadline', 'http_error', 'malformed', 'network_error', 'circuit_open', 'rejected', 'killed'];

/** Splits `total` into `parts` non-negative amounts that add up to it exactly (BigInt: totals reach 2^53 − 1). */
function split(total: bigint, cuts: readonly bigint[]): number[] {
  const points = [0n, ...cuts.map((c) => (total === 0n ? 0n : c % (total + 1n))).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)), total];
  return points.slice(1).map((p, i) => Number(p - points[i]!));
}

const caseArb = fc
  .record({
    currency: fc.constantFrom(...CURRENCIES),
    otherCurrency: fc.constantFrom(...CURRENCIES),
    lines: fc.uniqueArray(
      fc.record({ skuId: fc.stringMatching(/^sku-[a-z0-9]{1,5}$/), quantity: fc.integer({ min: 1, max: 9 }), unitPrice: fc.maxSafeNat(), selected: fc.boolean() }),
      { selector: (l) => l.skuId, maxLength: 6 },
    ),
    goods: fc.bigInt({ min: 0n, max: BigInt(MAX) }),
    deductionShare: fc.bigInt({ min: 0n, max: 1000n }),
    discounts: fc.array(fc.record({ kind: fc.constantFrom(...KINDS), cut: fc.bigInt({ min: 0n, max: BigInt(MAX) }) }), { maxLength: 6 }),
    shipping: fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: 10_000n }), fc.bigInt({ min: 0n, max: BigInt(MAX) })),
    tier: fc.constantFrom('plus' as const, 'none' as const),
    quota: fc.option(fc.maxSafeNat(), { nil: null }),
    flaw: fc.constantFrom<QuoteFlaw>('none', 'none', 'none', 'payable-off', 'discount-above-goods', 'foreign-line', 'missing-line', 'quantity-off', 'empty-priced', 'other-currency', 'one-discount-other-currency'),
    promotionOtherCurrency: fc.boolean(),
    fault: fc.option(fc.record({ upstream: fc.constantFrom<UpstreamName>(...UPSTREAMS), outcome: fc.constantFrom(...FAULT_OUTCOMES) }), { nil: null, freq: 3 }),
    locale: fc.constantFrom(...LOCALES),
  })
  .filter((c) => c.otherCurrency !== c.currency);

type Case = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

/** Upstream clients answering from a generated case: a consistent quote, then broken as `flaw` says. */
function clientsFor(c: Case): { clients: UpstreamClients; cart: Cart } {
  const lines: CartLine[] = c.lines.map((l) => ({ skuId: l.skuId, title: l.skuId, quantity: l.quantity, unitPrice: { minor: l.unitPrice, currency: c.currency }, selected: l.selected }));
  const cart: Cart = { userId: 'u-prop', currency: c.currency, lines };
  const money = (minor: number, currency = c.currency) => ({ minor, currency });
  const fail = (upstream: UpstreamName) => {
    if (c.fault?.upstream === upstream) throw new UpstreamError(upstream, c.fault.outcome, 'injected');
  };
  const clients: UpstreamClients = {
    // Upstreams added since these four answer as their demo service does, in the case's currency,
    // failing as the case says.
    ...demoCalls({ currency: c.currency, beforeCall: fail }),
    async loyalty(query) {
      fail('loyalty');
      return { userId: query.userId, balance: 500, usable: { points: 500, value: money(500) }, orders: query.orders.map((o) => ({ orderId: o.orderId, earns: 7 })) };
    },
    async cart() {
      fail('cart');
      return cart;
    },
    async promotion(query) {
      fail('promotion');
      const currency = c.promotionOtherCurrency ? c.otherCurrency : c.currency;
      const result: PromotionResult = {
        userId: query.userId,
        membership: { tier: c.tier, plus95QuotaRemaining: c.quota === null ? null : money(c.quota, currency) },
        campaigns: c.discounts.map((d, i) => ({ id: `src-${i}`, kind: d.kind === 'instant' ? 'instant' : 'full-reduction', title: `活动${i}`, skuIds: query.skuIds })),
        coupons: [{ id: 'cpn-0', title: '券', claimed: true, discount: money(100, currency), threshold: money(0, currency) }],
      };
      return result;
    },
    async settlement(request) {
      fail('settlement');
      return {
        quotes: request.quotes.map((q): SettlementQuote => {
          const empty = q.lines.length === 0;
          const goods = empty ? 0n : c.goods;
          const deductions = (goods * c.deductionShare) / 1000n;
          const amounts = c.discounts.length === 0 ? [] : split(deductions, c.discounts.slice(1).map((d) => d.cut));
          const discounts = (c.discounts.length === 0 ? [] : c.discounts).map((d, i) => ({ kind: d.kind, amount: money(amounts[i] ?? 0), sourceIds: [`src-${i}`] }));
          const remaining = goods - (c.discounts.length === 0 ? 0n : deductions);
          const shipping = empty ? 0n : c.shipping <= BigInt(MAX) - remaining ? c.shipping : 0n;
          const quote: SettlementQuote = {
            quoteId: q.quoteId,
            currency: c.currency,
            lines: q.lines.map((l) => ({ ...l })),
            goodsTotal: money(Number(goods)),
            discounts,
            shipping: money(Number(shipping)),
            plusRebate: money(0),
            payable: money(Number(remaining + shipping)),
          };
          return breakQuote(quote, c);
        }),
      };
    },
    async close() {},
  };
  return { clients, cart };
}

function breakQuote(quote: SettlementQuote, c: Case): SettlementQuote {
  const q = structuredClone(quote) as { -readonly [K in keyof SettlementQuote]: SettlementQuote[K] } & { lines: Array<{ skuId: string; quantity: number }> };
  switch (c.flaw) {
    case 'none':
      return quote;
    case 'payable-off':
      q.payable = { ...q.payable, minor: q.payable.minor === MAX ? MAX - 1 : q.payable.minor + 1 };
      return q;
    case 'discount-above-goods':
      q.discounts = [...q.discounts, { kind: 'coupon', amount: { minor: Math.min(MAX, q.goodsTotal.minor + 1), currency: q.currency }, sourceIds: [] }];
      // Payable held at 0, as the sheet that was seen; with goods at 2^53 − 1 (no room above) it is off by one instead.
      q.payable = { ...q.payable, minor: q.goodsTotal.minor === MAX ? 1 : 0 };
      return q;
    case 'foreign-line':
      q.lines.push({ skuId: 'sku-not-in-cart', quantity: 1 });
      return q;
    case 'missing-line':
      if (q.lines.length === 0) q.lines.push({ skuId: 'sku-not-in-cart', quantity: 1 });
      else q.lines.pop();
      return q;
    case 'quantity-off':
      if (q.lines.length === 0) q.lines.push({ skuId: 'sku-not-in-cart', quantity: 1 });
      else q.lines[0] = { ...q.lines[0]!, quantity: q.lines[0]!.quantity + 1 };
      return q;
    case 'empty-priced':
      // An empty selection priced above zero; a selection with lines is priced as if it had none.
      if (q.lines.length > 0) q.lines = [];
      else {
        q.goodsTotal = { ...q.goodsTotal, minor: 5100 };
        q.payable = { ...q.payable, minor: 5100 + q.shipping.minor };
      }
      return q;
    case 'other-currency': {
      const other = c.otherCurrency;
      return {
        ...q,
        currency: other,
        goodsTotal: { ...q.goodsTotal, currency: other },
        shipping: { ...q.shipping, currency: other },
        plusRebate: { ...q.plusRebate, currency: other },
        payable: { ...q.payable, currency: other },
        discounts: q.discounts.map((d) => ({ ...d, amount: { ...d.amount, currency: other } })),
      };
    }
    case 'one-discount-other-currency':
      q.discounts = [...q.discounts, { kind: 'coupon', amount: { minor: 0, currency: c.otherCurrency }, sourceIds: [] }];
      return q;
  }
}

/** The panel as a client sees it, in the shape the invariant checks. */
function asClientSees(panel: RenderedPanel) {
  return { ...panel, failedUpstreams: panel.failedUpstreams.map((u) => u.toUpperCase()), floors: panel.floors.map((f) => ({ ...f })) };
}

describe('every generated panel adds up, or is degraded with a reason', () => {
  it('holds for 1,000 generated carts, quotes, promotions and faults, in both scenes', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const { clients } = clientsFor(c);
        const scope = new RequestScope({ userId: 'u-prop', clients });
        for (const scene of SCENES) {
          const data = scope.panelData();
          const panel = await renderer.render({ scene, data, viewer: { segments: [], platform: 'ios', locale: c.locale, appVersion: '99.0.0' } });
          const seen = asClientSees(panel);
          expect(invariantProblems(seen, c.locale), JSON.stringify(seen)).toEqual([]);
          for (const floor of panel.floors) if (floor.kind === 'DEDUCTION') expect(floor.amount!.minor).toBeLessThanOrEqual(0);
          expect(panel.floors.map((f) => f.sort)).toEqual(panel.floors.map((f) => f.sort).sort((a, b) => a - b));

          // The reason matches what was broken; a sound case with no fault is a full panel.
          if (c.fault !== null) {
            // Every panel needs the cart and settlement. Any other upstream (promotion only decorates;
            // loyalty, and any added since, show rows of their own, not in every scene) is named only
            // by a panel that needed it (settlement refused too).
            if (EVERY_PANEL_NEEDS.includes(c.fault.upstream) || panel.failedUpstreams.includes(c.fault.upstream)) {
              expect(panel.degraded).toBe(true);
              expect(panel.failedUpstreams).toContain(c.fault.upstream);
              expect(panel.degradedReasons).toContain('UPSTREAM_FAILED');
            }
          } else if (c.flaw !== 'none') {
            expect(panel.failedUpstreams).toContain('settlement');
            expect(panel.degradedReasons).toContain(FLAW_REASON[c.flaw]);
            expect(panel.floors.some((f) => f.kind === 'PAYABLE')).toBe(false);
          } else if (c.flaw === 'none' && !c.promotionOtherCurrency) {
            // A kind no floor shows is on the other-discounts row, in full, and nothing else is missing.
            const quote = await data.quote();
            const unknown = quote.discounts.filter((d) => !(KNOWN_DISCOUNT_KINDS as readonly string[]).includes(d.kind)).reduce((total, d) => total + d.amount.minor, 0);
            if (unknown === 0) expect(panel.degraded, JSON.stringify(panel)).toBe(false);
            else {
              expect(panel).toMatchObject({ degraded: true, failedUpstreams: [], degradedReasons: ['PARTIAL_BREAKDOWN'] });
              expect(panel.floors.filter((f) => f.code.startsWith('other-')).map((f) => [f.code, f.amount]), JSON.stringify(panel)).toEqual([['other-discounts', { minor: -unknown, currency: c.currency }]]);
            }
          }
          // The expression floor shows settlement's new-customer deductions exactly, whenever settlement answered soundly.
          if (c.flaw === 'none' && c.fault?.upstream !== 'settlement' && c.fault?.upstream !== 'cart') {
            const quote = await data.quote();
            const expected = -quote.discounts.filter((d) => d.kind === 'new-customer').reduce((total, d) => total + d.amount.minor, 0);
            const row = panel.floors.find((f) => f.code === 'new-customer');
            if (expected === 0) expect(row).toBeUndefined();
            else expect(row?.amount, JSON.stringify(panel)).toEqual({ minor: expected, currency: c.currency });
          }
        }
      }),
      { numRuns: 1000 },
    );
  });
});
