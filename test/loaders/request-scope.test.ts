/**
 * The loaders on their own (RequestScope with fake upstream clients): each upstream called at
 * most once per request however many panels and floors ask, several selections in one
 * settlement call, a failure never memoised, answers refused by the cross-checks reported
 * once and failing only that upstream, kill switches honoured.
 */
import { describe, expect, it } from 'vitest';
import type { Violation } from '../../src/upstreams/definition.ts';
import { RequestScope } from '../../src/loaders/request-scope.ts';
import type { UpstreamClients } from '../../src/upstreams/clients.ts';
import type { LoyaltyAnswer, LoyaltyQuery, PromotionQuery, SettlementQuote, SettlementRequest, UpstreamName } from '../../src/upstreams/contracts.ts';
import { UpstreamError } from '../../src/upstreams/upstream-error.ts';
import { cartFixture, cny, promotionFixture, quoteFixture } from '../floors/builders/fixtures.ts';
import { demoCalls } from '../support/upstream-fakes.ts';

/** A consistent quote of `lines` at the fixture cart's prices, nothing off. */
function priced(quoteId: string, lines: SettlementRequest['quotes'][number]['lines']): SettlementQuote {
  const prices = new Map(cartFixture().lines.map((l) => [l.skuId, l.unitPrice.minor]));
  const goods = lines.reduce((n, l) => n + (prices.get(l.skuId) ?? 0) * l.quantity, 0);
  return { ...quoteFixture(), quoteId, lines: lines.map((l) => ({ ...l })), goodsTotal: cny(goods), discounts: [], shipping: cny(0), plusRebate: cny(0), payable: cny(goods) };
}

/** 1 point per unit asked about, a balance of 1,000 points worth ¥10.00 (in `currency`). */
function loyaltyAnswer(query: LoyaltyQuery, currency = 'CNY'): LoyaltyAnswer {
  return {
    userId: query.userId,
    balance: 1000,
    usable: { points: 1000, value: { minor: 1000, currency } },
    orders: query.orders.map((o) => ({ orderId: o.orderId, earns: o.lines.reduce((n, l) => n + l.quantity, 0) })),
  };
}

function fakes(rewrite: (quote: SettlementQuote) => SettlementQuote = (q) => q, cart = cartFixture) {
  const calls: Array<{ upstream: UpstreamName; body?: PromotionQuery | SettlementRequest | LoyaltyQuery }> = [];
  const failing = new Set<UpstreamName>();
  const clients: UpstreamClients = {
    // Upstreams added since these four answer as their demo service does, in the cart's currency.
    ...demoCalls({ currency: cart().currency }),
    async cart() {
      calls.push({ upstream: 'cart' });
      if (failing.has('cart')) throw new UpstreamError('cart', 'http_error', '503', { status: 503 });
      return cart();
    },
    async promotion(query) {
      calls.push({ upstream: 'promotion', body: query });
      if (failing.has('promotion')) throw new UpstreamError('promotion', 'timeout', 'slow');
      return promotionFixture();
    },
    async settlement(request) {
      calls.push({ upstream: 'settlement', body: request });
      if (failing.has('settlement')) throw new UpstreamError('settlement', 'network_error', 'reset');
      return { quotes: request.quotes.map((q) => rewrite(priced(q.quoteId, q.lines))) };
    },
    async loyalty(query) {
      calls.push({ upstream: 'loyalty', body: query });
      if (failing.has('loyalty')) throw new UpstreamError('loyalty', 'http_error', '503', { status: 503 });
      return loyaltyAnswer(query);
    },
    async close() {},
  };
  return { clients, calls, failing };
}

const count = (calls: Array<{ upstream: UpstreamName }>, upstream: UpstreamName) => calls.filter((c) => c.upstream === upstream).length;

describe('RequestScope (the per-request loaders)', () => {
  it('calls each upstream once for a request, however many floors and panels ask', async () => {
    const { clients, calls } = fakes();
    const scope = new RequestScope({ userId: 'u-test', clients });
    const panels = [scope.panelData(), scope.panelData()];
    await Promise.all(panels.flatMap((d) => [d.cart(), d.selectedLines(), d.promotion(), d.quote(), d.quote(), d.promotion()]));
    expect([count(calls, 'cart'), count(calls, 'promotion'), count(calls, 'settlement')]).toEqual([1, 1, 1]);
    // The ticked lines only (sku-d is not ticked), in the promotion query and the quote.
    expect(calls.find((c) => c.upstream === 'promotion')?.body).toEqual({ userId: 'u-test', skuIds: ['sku-a', 'sku-b', 'sku-c'] });
  });

  it('asks promotion once about every SKU of every selection, each once and in order, however the client listed them', async () => {
    const { clients, calls } = fakes();
    const scope = new RequestScope({ userId: 'u-test', clients });
    await Promise.all([scope.panelData(['sku-c', 'sku-a']).promotion(), scope.panelData(['sku-b', 'sku-a']).promotion()]);
    expect(calls.filter((c) => c.upstream === 'promotion').map((c) => c.body)).toEqual([{ userId: 'u-test', skuIds: ['sku-a', 'sku-b', 'sku-c'] }]);
    const single = fakes();
    await new RequestScope({ userId: 'u-test', clients: single.clients }).panelData(['sku-d', 'sku-b']).promotion();
    expect(single.calls.find((c) => c.upstream === 'promotion')?.body).toEqual({ userId: 'u-test', skuIds: ['sku-b', 'sku-d'] });
  });

  it('prices two selections of the cart in one settlement call with two quotes', async () => {
    const { clients, calls } = fakes();
    const scope = new RequestScope({ userId: 'u-test', clients });
    const [all, one] = await Promise.all([scope.panelData().quote(), scope.panelData(['sku-b']).quote()]);
    expect(count(calls, 'settlement')).toBe(1);
    expect((calls.find((c) => c.upstream === 'settlement')?.body as SettlementRequest).quotes.map((q) => q.lines.map((l) => l.skuId))).toEqual([['sku-a', 'sku-b', 'sku-c'], ['sku-b']]);
    expect([all.goodsTotal.minor, one.goodsTotal.minor]).toEqual([5990 * 2 + 8990 + 930, 8990]);
  });

  it('refuses a selection outside the cart without calling promotion or settlement', async () => {
    const { clients, calls } = fakes();
    const scope = new RequestScope({ userId: 'u-test', clients });
    await expect(scope.panelData(['sku-x']).quote()).rejects.toMatchObject({ code: 'FLOORPLAN_ERR_SELECTION_NOT_IN_CART' });
    expect(calls.map((c) => c.upstream)).toEqual(['cart']);
  });

  it('narrows to a SKU the cart holds on two lines, pricing both', async () => {
    // The cart contract allows a SKU on two lines (two sellers, say); asking for it asks for both.
    const twice = () => {
      const cart = cartFixture();
      const line = cart.lines.find((l) => l.skuId === 'sku-b')!;
      return { ...cart, lines: [...cart.lines, { ...line, quantity: 3 }] };
    };
    const { clients, calls } = fakes((q) => q, twice);
    const quote = await new RequestScope({ userId: 'u-test', clients }).panelData(['sku-b']).quote();
    expect((calls.find((c) => c.upstream === 'settlement')?.body as SettlementRequest).quotes[0]!.lines.map((l) => [l.skuId, l.quantity])).toEqual([
      ['sku-b', 1],
      ['sku-b', 3],
    ]);
    expect(quote.goodsTotal.minor).toBe(8990 * 4);
  });

  it('remembers a failure for the rest of the request: a second panel gets it without calling again', async () => {
    const { clients, calls, failing } = fakes();
    const scope = new RequestScope({ userId: 'u-test', clients });
    failing.add('promotion');
    await expect(scope.panelData().promotion()).rejects.toMatchObject({ upstream: 'promotion', outcome: 'timeout' });
    failing.delete('promotion');
    await expect(scope.panelData().promotion()).rejects.toMatchObject({ upstream: 'promotion', outcome: 'timeout' });
    expect(count(calls, 'promotion')).toBe(1);
    // The next request asks again.
    await expect(new RequestScope({ userId: 'u-test', clients }).panelData().promotion()).resolves.toMatchObject({ userId: 'u-test' });
  });

  it('calls a failing cart once for the selection and every read after it', async () => {
    const { clients, calls, failing } = fakes();
    failing.add('cart');
    const data = new RequestScope({ userId: 'u-test', clients }).panelData();
    await expect(data.selectedLines()).rejects.toMatchObject({ upstream: 'cart' });
    await expect(data.cart()).rejects.toMatchObject({ upstream: 'cart' });
    await expect(data.quote()).rejects.toMatchObject({ upstream: 'cart' });
    expect(count(calls, 'cart')).toBe(1);
  });

  it('fails only settlement, once reported, when its quote does not add up', async () => {
    const { clients } = fakes((q) => ({ ...q, payable: cny(q.payable.minor + 1) }));
    const violations: Array<[UpstreamName, Violation]> = [];
    const scope = new RequestScope({ userId: 'u-test', clients, violated: (u, v) => violations.push([u, v]) });
    const data = scope.panelData();
    await expect(data.quote()).rejects.toMatchObject({ upstream: 'settlement', outcome: 'inconsistent', violation: 'QUOTE_INCONSISTENT' });
    await expect(data.promotion()).resolves.toBeDefined();
    expect(violations.map(([u, v]) => [u, v.reason])).toEqual([['settlement', 'QUOTE_INCONSISTENT']]);
    expect(violations[0]![1].values).toMatchObject({ payable: 5990 * 2 + 8990 + 930 + 1 });
  });

  it('never calls a killed upstream', async () => {
    const { clients, calls } = fakes();
    const scope = new RequestScope({ userId: 'u-test', clients, killed: (u) => u === 'settlement' });
    await expect(scope.panelData().quote()).rejects.toMatchObject({ upstream: 'settlement', outcome: 'killed' });
    expect(count(calls, 'settlement')).toBe(0);
  });

  it('reads any registered upstream through get(), loyalty included, in one call for two selections', async () => {
    const { clients, calls } = fakes();
    const scope = new RequestScope({ userId: 'u-test', clients });
    const [all, one] = await Promise.all([scope.panelData().get('loyalty'), scope.panelData(['sku-b']).get('loyalty')]);
    expect(count(calls, 'loyalty')).toBe(1);
    expect([all.earns, one.earns]).toEqual([4, 1]);
    expect(all).toMatchObject({ balance: 1000, usable: { points: 1000, value: { minor: 1000, currency: 'CNY' } } });
    expect(count(calls, 'settlement') + count(calls, 'promotion')).toBe(0);
  });

  it('refuses a loyalty answer in another currency than the cart as CURRENCY_MISMATCH, failing only loyalty', async () => {
    const { clients } = fakes();
    const foreign: typeof clients = { ...clients, loyalty: async (query) => loyaltyAnswer(query, 'USD') };
    const violations: Array<[UpstreamName, Violation]> = [];
    const scope = new RequestScope({ userId: 'u-test', clients: foreign, violated: (u, v) => violations.push([u, v]) });
    const data = scope.panelData();
    await expect(data.get('loyalty')).rejects.toMatchObject({ upstream: 'loyalty', outcome: 'inconsistent', violation: 'CURRENCY_MISMATCH' });
    await expect(data.quote()).resolves.toBeDefined();
    expect(violations.map(([u, v]) => [u, v.reason])).toEqual([['loyalty', 'CURRENCY_MISMATCH']]);
  });

  it('never calls loyalty when its kill switch is on', async () => {
    const { clients, calls } = fakes();
    const scope = new RequestScope({ userId: 'u-test', clients, killed: (u) => u === 'loyalty' });
    await expect(scope.panelData().get('loyalty')).rejects.toMatchObject({ upstream: 'loyalty', outcome: 'killed' });
    expect(count(calls, 'loyalty')).toBe(0);
  });
});
