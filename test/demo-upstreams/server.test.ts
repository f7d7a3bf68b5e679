import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDemoUpstreams, type DemoUpstreams } from '../../src/demo-upstreams/server.ts';
import {
  UPSTREAMS,
  cartSchema,
  promotionResultSchema,
  settlementResultSchema,
  type Cart,
  type SettlementQuote,
  type SettlementRequest,
} from '../../src/upstreams/contracts.ts';
import { callCounts } from '../support/upstream-fakes.ts';

const U1001_SELECTED = [
  { skuId: 'sku-nongfu-550ml', quantity: 2 },
  { skuId: 'sku-oreo-116g', quantity: 1 },
  { skuId: 'sku-mengniu-milk-4x250', quantity: 1 },
];

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.json() };
}

async function postJson(url: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

function minor(quote: SettlementQuote, kind: SettlementQuote['discounts'][number]['kind']): number | undefined {
  return quote.discounts.find((d) => d.kind === kind)?.amount.minor;
}

describe('demo upstreams', () => {
  let demo: DemoUpstreams;

  const fetchCart = async (userId: string): Promise<Cart> => {
    const { status, body } = await getJson(`${demo.baseUrls.cart}/carts/${encodeURIComponent(userId)}`);
    expect(status).toBe(200);
    return cartSchema.parse(body);
  };

  const quote = async (request: SettlementRequest): Promise<SettlementQuote[]> => {
    const { status, body } = await postJson(`${demo.baseUrls.settlement}/settlement/quotes`, request);
    expect(status).toBe(200);
    return settlementResultSchema.parse(body).quotes;
  };

  const quoteOne = async (userId: string, lines: SettlementRequest['quotes'][number]['lines']): Promise<SettlementQuote> => {
    const [only] = await quote({ userId, quotes: [{ quoteId: 'q', lines }] });
    if (only === undefined) throw new Error('no quote returned');
    return only;
  };

  beforeAll(async () => {
    demo = await startDemoUpstreams({ port: 0 });
  });

  afterEach(() => {
    demo.setFaults('');
    demo.resetCalls();
  });

  afterAll(async () => {
    await demo.close();
  });

  it('serves every registered upstream under one port with path prefixes', () => {
    expect(demo.port).toBeGreaterThan(0);
    expect(demo.baseUrls).toMatchObject({
      cart: `http://127.0.0.1:${demo.port}/cart`,
      promotion: `http://127.0.0.1:${demo.port}/promotion`,
      settlement: `http://127.0.0.1:${demo.port}/settlement`,
      loyalty: `http://127.0.0.1:${demo.port}/loyalty`,
    });
    expect(demo.baseUrls).toEqual(Object.fromEntries(UPSTREAMS.map((u) => [u, `http://127.0.0.1:${demo.port}/${u}`])));
  });

  it('answers /healthz with 200 and unknown paths with a JSON 404', async () => {
    expect((await getJson(`http://127.0.0.1:${demo.port}/healthz`)).status).toBe(200);
    const missing = await fetch(`http://127.0.0.1:${demo.port}/inventory/items`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await missing.json()).toEqual({ error: 'not found' });
    expect((await getJson(`${demo.baseUrls.cart}/nothing-here`)).status).toBe(404);
  });

  it('prices the u1001 seed panel exactly', async () => {
    const q = await quoteOne('u1001', U1001_SELECTED);
    expect(q.goodsTotal).toEqual({ minor: 2090, currency: 'CNY' });
    expect(q.discounts).toEqual([
      { kind: 'instant', amount: { minor: 500, currency: 'CNY' }, sourceIds: ['camp-u1001-lj'] },
      { kind: 'coupon', amount: { minor: 600, currency: 'CNY' }, sourceIds: ['cpn-u1001-15-6'] },
      { kind: 'plus95', amount: { minor: 104, currency: 'CNY' }, sourceIds: [] },
    ]);
    expect(q.shipping.minor).toBe(0);
    expect(q.payable.minor).toBe(886);
    expect(q.plusRebate.minor).toBe(8);
  });

  it('gives u1001 a PLUS membership with ¥1,000.00 of 95% quota and the seed campaign for its SKUs', async () => {
    const { status, body } = await postJson(`${demo.baseUrls.promotion}/promotions/query`, {
      userId: 'u1001',
      skuIds: U1001_SELECTED.map((l) => l.skuId),
    });
    expect(status).toBe(200);
    const result = promotionResultSchema.parse(body);
    expect(result.membership).toEqual({ tier: 'plus', plus95QuotaRemaining: { minor: 100_000, currency: 'CNY' } });
    expect(result.campaigns.map((c) => [c.kind, c.title])).toEqual([['instant', '限时立减']]);
    expect(result.coupons.find((c) => c.discount.minor === 600)).toMatchObject({ title: '满15减6', claimed: true });
    expect(result.coupons.some((c) => !c.claimed)).toBe(true);
  });

  it('returns only campaigns whose SKUs intersect the queried SKUs', async () => {
    const { body } = await postJson(`${demo.baseUrls.promotion}/promotions/query`, {
      userId: 'u1001',
      skuIds: ['sku-nongfu-550ml'],
    });
    expect(promotionResultSchema.parse(body).campaigns).toEqual([]);
  });

  it('keeps an unselected line in the u1001 cart and ignores it when it is not quoted', async () => {
    const cart = await fetchCart('u1001');
    const unselected = cart.lines.filter((l) => !l.selected);
    expect(unselected).toHaveLength(1);
    const selected = cart.lines.filter((l) => l.selected).map((l) => ({ skuId: l.skuId, quantity: l.quantity }));
    expect(selected).toEqual(U1001_SELECTED);

    const [onlySelected, everything] = await quote({
      userId: 'u1001',
      quotes: [
        { quoteId: 'selected', lines: selected },
        { quoteId: 'all', lines: cart.lines.map((l) => ({ skuId: l.skuId, quantity: l.quantity })) },
      ],
    });
    expect(onlySelected?.quoteId).toBe('selected');
    expect(onlySelected?.goodsTotal.minor).toBe(2090);
    expect(onlySelected?.payable.minor).toBe(886);
    expect(everything?.quoteId).toBe('all');
    expect(everything?.goodsTotal.minor).toBe(2090 + (unselected[0]?.unitPrice.minor ?? 0));
    expect(everything?.payable.minor).not.toBe(886);
  });

  it('answers 422 with a JSON error for a SKU that is not in the user cart', async () => {
    const { status, body } = await postJson(`${demo.baseUrls.settlement}/settlement/quotes`, {
      userId: 'u1001',
      quotes: [{ quoteId: 'q', lines: [{ skuId: 'sku-gold-1kg', quantity: 1 }] }],
    });
    expect(status).toBe(422);
    expect(body).toEqual({ error: 'sku "sku-gold-1kg" is not in the cart of user "u1001"' });
  });

  it('answers 400 with a JSON error for bodies that break the contract', async () => {
    const promotion = await postJson(`${demo.baseUrls.promotion}/promotions/query`, { userId: 'u1001' });
    expect(promotion.status).toBe(400);
    expect(promotion.body).toMatchObject({ error: expect.stringContaining('skuIds') });
    const settlement = await postJson(`${demo.baseUrls.settlement}/settlement/quotes`, { userId: 'u1001', quotes: [] });
    expect(settlement.status).toBe(400);
    const notJson = await fetch(`${demo.baseUrls.promotion}/promotions/query`, { method: 'POST', body: '{nope' });
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toEqual({ error: 'body is not valid JSON' });
  });

  it('gives u-empty an empty cart, no membership, and an all-zero quote', async () => {
    expect(await fetchCart('u-empty')).toEqual({ userId: 'u-empty', currency: 'CNY', lines: [] });
    const q = await quoteOne('u-empty', []);
    expect(q).toEqual({
      quoteId: 'q',
      currency: 'CNY',
      lines: [],
      goodsTotal: { minor: 0, currency: 'CNY' },
      discounts: [],
      shipping: { minor: 0, currency: 'CNY' },
      plusRebate: { minor: 0, currency: 'CNY' },
      payable: { minor: 0, currency: 'CNY' },
    });
  });

  it('prices u-big beyond 2^31 minor units exactly', async () => {
    const cart = await fetchCart('u-big');
    const q = await quoteOne(
      'u-big',
      cart.lines.map((l) => ({ skuId: l.skuId, quantity: l.quantity })),
    );
    expect(q.goodsTotal.minor).toBe(2_999_999_700);
    expect(q.goodsTotal.minor).toBeGreaterThan(2 ** 31);
    expect(minor(q, 'plus95')).toBe(100_000); // capped by the remaining quota
    expect(q.payable.minor).toBe(2_999_899_700);
    expect(q.plusRebate.minor).toBe(29_998_997);
  });

  it('charges u-basic ¥6.00 shipping below ¥99 and applies only its claimed coupon', async () => {
    const cart = await fetchCart('u-basic');
    const promotion = promotionResultSchema.parse(
      (await postJson(`${demo.baseUrls.promotion}/promotions/query`, { userId: 'u-basic', skuIds: [] })).body,
    );
    expect(promotion.membership).toEqual({ tier: 'none', plus95QuotaRemaining: null });
    expect(promotion.coupons.map((c) => c.claimed).sort()).toEqual([false, true]);

    const q = await quoteOne(
      'u-basic',
      cart.lines.map((l) => ({ skuId: l.skuId, quantity: l.quantity })),
    );
    const claimed = promotion.coupons.find((c) => c.claimed);
    expect(q.discounts).toEqual([
      { kind: 'coupon', amount: claimed?.discount, sourceIds: [claimed?.id] },
    ]);
    expect(q.goodsTotal.minor - (claimed?.discount.minor ?? 0)).toBeLessThan(9900);
    expect(q.shipping.minor).toBe(600);
    expect(q.payable.minor).toBe(q.goodsTotal.minor - (claimed?.discount.minor ?? 0) + 600);
    expect(q.plusRebate.minor).toBe(0);
  });

  it('applies the u-mj 满199减20 full reduction once its threshold is met', async () => {
    const cart = await fetchCart('u-mj');
    const q = await quoteOne(
      'u-mj',
      cart.lines.map((l) => ({ skuId: l.skuId, quantity: l.quantity })),
    );
    expect(q.discounts).toEqual([
      { kind: 'full-reduction', amount: { minor: 2000, currency: 'CNY' }, sourceIds: ['camp-mj-199-20'] },
    ]);
    expect(q.payable.minor).toBe(q.goodsTotal.minor - 2000);

    const below = await quoteOne('u-mj', [{ skuId: 'sku-ariel-3kg', quantity: 1 }]);
    expect(below.discounts).toEqual([]);
  });

  it('serves u-bulk as 200 selected lines that price in one quote', async () => {
    const cart = await fetchCart('u-bulk');
    expect(cart.lines).toHaveLength(200);
    expect(cart.lines.every((l) => l.selected)).toBe(true);
    const q = await quoteOne(
      'u-bulk',
      cart.lines.map((l) => ({ skuId: l.skuId, quantity: l.quantity })),
    );
    const expectedGoods = cart.lines.reduce((sum, l) => sum + l.unitPrice.minor * l.quantity, 0);
    expect(q.goodsTotal.minor).toBe(expectedGoods);
    expect(q.discounts.map((d) => d.kind)).toEqual(['instant', 'full-reduction', 'coupon', 'plus95']);
  });

  it('keeps payable = goodsTotal − discounts + shipping for generated users, with contract-valid responses', async () => {
    const ids = Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? `plus-user-${i}` : `user-${i}`));
    for (const userId of ids) {
      const cart = await fetchCart(userId);
      expect(cart.userId).toBe(userId);
      expect(cart.lines.length).toBeGreaterThanOrEqual(1);
      expect(cart.lines.length).toBeLessThanOrEqual(5);

      const promotion = promotionResultSchema.parse(
        (
          await postJson(`${demo.baseUrls.promotion}/promotions/query`, {
            userId,
            skuIds: cart.lines.map((l) => l.skuId),
          })
        ).body,
      );
      const isPlus = userId.startsWith('plus-');
      expect(promotion.membership.tier).toBe(isPlus ? 'plus' : 'none');
      expect(promotion.membership.plus95QuotaRemaining?.minor ?? null).toBe(isPlus ? 100_000 : null);

      const quotes = await quote({
        userId,
        quotes: [
          {
            quoteId: 'selected',
            lines: cart.lines.filter((l) => l.selected).map((l) => ({ skuId: l.skuId, quantity: l.quantity })),
          },
          { quoteId: 'all', lines: cart.lines.map((l) => ({ skuId: l.skuId, quantity: l.quantity })) },
        ],
      });
      expect(quotes.map((q) => q.quoteId)).toEqual(['selected', 'all']);
      for (const q of quotes) {
        const discounted = q.discounts.reduce((sum, d) => sum + d.amount.minor, 0);
        expect(q.payable.minor).toBe(q.goodsTotal.minor - discounted + q.shipping.minor);
        expect(q.plusRebate.minor).toBe(isPlus ? Math.floor(q.payable.minor / 100) : 0);
        expect(q.discounts.every((d) => d.amount.minor > 0)).toBe(true);
      }
    }
  });

  it('generates the same cart for the same user id every time', async () => {
    const first = await fetchCart('plus-张三');
    const again = await fetchCart('plus-张三');
    expect(again).toEqual(first);
    expect(first.userId).toBe('plus-张三');
  });

  it('counts calls and records what each upstream received, until resetCalls', async () => {
    await fetchCart('u1001');
    await fetchCart('u-empty');
    const query = { userId: 'u1001', skuIds: ['sku-oreo-116g'] };
    await postJson(`${demo.baseUrls.promotion}/promotions/query`, query);
    const request = { userId: 'u1001', quotes: [{ quoteId: 'q', lines: U1001_SELECTED }] };
    await postJson(`${demo.baseUrls.settlement}/settlement/quotes`, request);
    await getJson(`http://127.0.0.1:${demo.port}/healthz`);

    expect(demo.calls()).toEqual(callCounts({ cart: 2, promotion: 1, settlement: 1, loyalty: 0 }));
    expect(demo.received('cart')).toEqual(['u1001', 'u-empty']);
    expect(demo.received('promotion')).toEqual([query]);
    expect(demo.received('settlement')).toEqual([request]);

    demo.resetCalls();
    expect(demo.calls()).toEqual(callCounts({ cart: 0, promotion: 0, settlement: 0, loyalty: 0 }));
    expect(demo.received('cart')).toEqual([]);
  });

  it('answers an error fault with that status and a JSON error, and counts the call', async () => {
    demo.setFaults('cart:error:503');
    const { status, body } = await getJson(`${demo.baseUrls.cart}/carts/u1001`);
    expect(status).toBe(503);
    expect(body).toMatchObject({ error: expect.any(String) });
    expect(demo.calls().cart).toBe(1);

    demo.setFaults('');
    expect((await getJson(`${demo.baseUrls.cart}/carts/u1001`)).status).toBe(200);
  });

  it('answers a malformed fault with 200 and a body that fails the contract schema', async () => {
    demo.setFaults('cart:malformed');
    const res = await fetch(`${demo.baseUrls.cart}/carts/u1001`);
    expect(res.status).toBe(200);
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
    expect(cartSchema.safeParse(parsed).success).toBe(false);
  });

  it('drops the connection without a response on a reset fault', async () => {
    demo.setFaults('settlement:reset');
    await expect(
      postJson(`${demo.baseUrls.settlement}/settlement/quotes`, {
        userId: 'u1001',
        quotes: [{ quoteId: 'q', lines: U1001_SELECTED }],
      }),
    ).rejects.toThrow();
    expect(demo.calls().settlement).toBe(1);
  });

  it('delays but otherwise answers normally on a latency fault', async () => {
    demo.setFaults('settlement:latency:60');
    const started = performance.now();
    const q = await quoteOne('u1001', U1001_SELECTED);
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
    expect(q.payable.minor).toBe(886);
  });

  it('rejects a bad fault spec at runtime and keeps the active faults', async () => {
    demo.setFaults('cart:error:500');
    expect(() => demo.setFaults('cart:slow')).toThrow(/DEMO_FAULTS entry "cart:slow"/);
    expect((await getJson(`${demo.baseUrls.cart}/carts/u1001`)).status).toBe(500);
  });
});

describe('demo upstreams recording what they received', () => {
  it('keeps only the most recent recordLimit bodies per upstream, while still counting every call', async () => {
    const demo = await startDemoUpstreams({ port: 0, recordLimit: 3 });
    try {
      const users = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7', 'u8'];
      for (const userId of users) await getJson(`${demo.baseUrls.cart}/carts/${userId}`);
      expect(demo.calls().cart).toBe(8);
      expect(demo.received('cart')).toEqual(['u6', 'u7', 'u8']);
      expect(demo.received('promotion')).toEqual([]);
    } finally {
      await demo.close();
    }
  });

  it('rejects a recordLimit that is not a whole number', async () => {
    await expect(startDemoUpstreams({ port: 0, recordLimit: -1 })).rejects.toThrow('recordLimit must be a whole number ≥ 0, but got -1');
  });
});

describe('demo upstreams with a hang fault', () => {
  it('never answers, so the client times out, and close() still resolves quickly', async () => {
    const demo = await startDemoUpstreams({ port: 0, faults: 'promotion:hang' });
    const url = `${demo.baseUrls.promotion}/promotions/query`;
    const init = (signal: AbortSignal): RequestInit => ({
      method: 'POST',
      body: JSON.stringify({ userId: 'u1001', skuIds: [] }),
      signal,
    });

    await expect(fetch(url, init(AbortSignal.timeout(200)))).rejects.toMatchObject({ name: 'TimeoutError' });

    const stillHanging = fetch(url, init(AbortSignal.timeout(30_000)));
    stillHanging.catch(() => undefined);
    await expect.poll(() => demo.calls().promotion).toBe(2);

    const started = performance.now();
    await demo.close();
    expect(performance.now() - started).toBeLessThan(1000);
    await expect(stillHanging).rejects.toThrow();
    expect(demo.received('promotion')).toHaveLength(2);
  });

  it('applies faults from the start option and leaves other upstreams healthy', async () => {
    const demo = await startDemoUpstreams({ port: 0, faults: 'promotion:hang' });
    try {
      const res = await fetch(`${demo.baseUrls.cart}/carts/u1001`);
      expect(res.status).toBe(200);
      cartSchema.parse(await res.json());
    } finally {
      await demo.close();
    }
  });

  it('refuses to start with a bad fault spec', async () => {
    await expect(startDemoUpstreams({ port: 0, faults: 'promotion:slow' })).rejects.toThrow(
      /DEMO_FAULTS entry "promotion:slow"/,
    );
  });
});
