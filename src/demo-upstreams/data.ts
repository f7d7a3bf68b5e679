/**
 * Demo fixtures: what the fake cart, promotion and settlement services know about a user.
 *
 * Named fixtures cover specific cases (the seed panel, empty cart, 200 lines, shipping fee,
 * 满减, amounts beyond 2^31); any other user id gets a deterministic generated cart.
 * All money is integer minor units (fen), currency CNY, unless a caller asks for the same user
 * in another currency ({@link getDemoUser}: the same minor units, so tests can fake some
 * upstreams in any currency and leave the others to the demo services).
 */
import type { CartLine, MembershipTier } from '../upstreams/contracts.ts';

export const DEMO_CURRENCY = 'CNY';

/** 立减: a fixed amount off each unit of any of `skuIds`. */
export interface InstantCampaign {
  readonly id: string;
  readonly title: string;
  readonly skuIds: readonly string[];
  readonly amountPerUnit: number;
}

/** 满减: `amount` off once the subtotal of `skuIds` reaches `threshold` (one step, no stacking). */
export interface FullReductionCampaign {
  readonly id: string;
  readonly title: string;
  readonly skuIds: readonly string[];
  readonly threshold: number;
  readonly amount: number;
}

/** A coupon offered to the user; only claimed ones apply. */
export interface DemoCoupon {
  readonly id: string;
  readonly title: string;
  readonly claimed: boolean;
  readonly discount: number;
  readonly threshold: number;
}

/** Everything the three fake services know about one user. */
export interface DemoUser {
  readonly userId: string;
  /** Of every amount the services answer about this user: DEMO_CURRENCY unless asked for another. */
  readonly currency: string;
  readonly lines: readonly CartLine[];
  readonly membership: {
    readonly tier: MembershipTier;
    /** PLUS 95% quota left; null for non-members. */
    readonly plus95QuotaRemaining: number | null;
  };
  readonly instantCampaigns: readonly InstantCampaign[];
  readonly fullReductionCampaigns: readonly FullReductionCampaign[];
  readonly coupons: readonly DemoCoupon[];
  /** 新人立减: what settlement takes off a new customer's order (after the coupon), in fen; 0 for everyone else. */
  readonly newCustomerDiscount: number;
  /** Loyalty points held (the loyalty service): PLUS members 500 unless a fixture says otherwise, others none. */
  readonly loyaltyBalance: number;
  /** Unit price by SKU for the lines in the cart: the settlement prices from these. */
  readonly unitPrices: ReadonlyMap<string, number>;
}

interface CatalogItem {
  readonly skuId: string;
  readonly title: string;
  readonly price: number;
}

/** The small grocery catalog fixtures and generated carts draw from. */
export const CATALOG: readonly CatalogItem[] = [
  { skuId: 'sku-nongfu-550ml', title: '农夫山泉 饮用天然水 550ml', price: 200 },
  { skuId: 'sku-oreo-116g', title: '奥利奥 原味夹心饼干 116g', price: 790 },
  { skuId: 'sku-mengniu-milk-4x250', title: '蒙牛 纯牛奶 250ml×4盒', price: 900 },
  { skuId: 'sku-orion-pie-12', title: '好丽友 巧克力派 12枚', price: 1680 },
  { skuId: 'sku-lays-70g', title: '乐事 原味薯片 70g', price: 750 },
  { skuId: 'sku-coke-330ml-6', title: '可口可乐 330ml×6罐', price: 1890 },
  { skuId: 'sku-ariel-3kg', title: '碧浪 洗衣液 3kg', price: 5990 },
  { skuId: 'sku-vinda-24', title: '维达 抽纸 24包', price: 8990 },
  { skuId: 'sku-banana-1kg', title: '香蕉 1kg', price: 990 },
  { skuId: 'sku-arawana-oil-5l', title: '金龙鱼 调和油 5L', price: 6990 },
  { skuId: 'sku-wuchang-rice-5kg', title: '五常大米 5kg', price: 5990 },
  { skuId: 'sku-kangshifu-noodle-5', title: '康师傅 红烧牛肉面 5连包', price: 1250 },
];

const catalogBySku = new Map(CATALOG.map((item) => [item.skuId, item]));

function item(skuId: string): CatalogItem {
  const found = catalogBySku.get(skuId);
  if (found === undefined) throw new Error(`demo catalog has no sku ${skuId}`);
  return found;
}

function line(skuId: string, quantity: number, selected = true): CartLine {
  const { title, price } = item(skuId);
  return { skuId, title, quantity, unitPrice: { minor: price, currency: DEMO_CURRENCY }, selected };
}

/** "满15减6" from threshold 1500 and discount 600; keeps fen only when there are any. */
export function reductionTitle(threshold: number, amount: number): string {
  const yuan = (minor: number): string => (minor % 100 === 0 ? String(minor / 100) : (minor / 100).toFixed(2));
  return `满${yuan(threshold)}减${yuan(amount)}`;
}

function coupon(id: string, claimed: boolean, threshold: number, discount: number): DemoCoupon {
  return { id, title: reductionTitle(threshold, discount), claimed, discount, threshold };
}

const NON_MEMBER = { tier: 'none', plus95QuotaRemaining: null } as const;
const PLUS_MEMBER = { tier: 'plus', plus95QuotaRemaining: 100_000 } as const;

type UserInit = Omit<DemoUser, 'currency' | 'unitPrices' | 'instantCampaigns' | 'fullReductionCampaigns' | 'coupons' | 'loyaltyBalance' | 'newCustomerDiscount'> &
  Partial<Pick<DemoUser, 'instantCampaigns' | 'fullReductionCampaigns' | 'coupons' | 'loyaltyBalance' | 'newCustomerDiscount'>>;

function defineUser(init: UserInit): DemoUser {
  const unitPrices = new Map<string, number>();
  for (const cartLine of init.lines) {
    if (!Number.isSafeInteger(cartLine.unitPrice.minor)) throw new Error(`unsafe price for ${cartLine.skuId}`);
    unitPrices.set(cartLine.skuId, cartLine.unitPrice.minor);
  }
  return Object.freeze({
    instantCampaigns: [],
    fullReductionCampaigns: [],
    coupons: [],
    loyaltyBalance: init.membership.tier === 'plus' ? 500 : 0,
    newCustomerDiscount: 0,
    ...init,
    currency: DEMO_CURRENCY,
    unitPrices,
  });
}

/**
 * The seed panel: goods ¥20.90, 立减 -¥5.00, 优惠券 -¥6.00, PLUS 95折 -¥1.04, payable ¥8.86.
 * The unselected pie and the unclaimed / out-of-reach coupons let tests prove that
 * selection, claiming and thresholds matter.
 */
const u1001 = defineUser({
  userId: 'u1001',
  loyaltyBalance: 2480,
  lines: [
    line('sku-nongfu-550ml', 2),
    line('sku-oreo-116g', 1),
    line('sku-mengniu-milk-4x250', 1),
    line('sku-orion-pie-12', 1, false),
  ],
  membership: PLUS_MEMBER,
  instantCampaigns: [
    { id: 'camp-u1001-lj', title: '限时立减', skuIds: ['sku-oreo-116g', 'sku-mengniu-milk-4x250'], amountPerUnit: 250 },
  ],
  coupons: [
    coupon('cpn-u1001-15-6', true, 1500, 600),
    coupon('cpn-u1001-30-10', true, 3000, 1000),
    coupon('cpn-u1001-10-8', false, 1000, 800),
  ],
});

const uEmpty = defineUser({ userId: 'u-empty', lines: [], membership: NON_MEMBER });

const uBasic = defineUser({
  userId: 'u-basic',
  lines: [line('sku-lays-70g', 2), line('sku-coke-330ml-6', 1)],
  membership: NON_MEMBER,
  coupons: [coupon('cpn-basic-30-3', true, 3000, 300), coupon('cpn-basic-50-10', false, 5000, 1000)],
});

const uMj = defineUser({
  userId: 'u-mj',
  lines: [line('sku-ariel-3kg', 2), line('sku-vinda-24', 1), line('sku-banana-1kg', 1)],
  membership: NON_MEMBER,
  fullReductionCampaigns: [
    { id: 'camp-mj-199-20', title: '满199减20', skuIds: ['sku-ariel-3kg', 'sku-vinda-24'], threshold: 19_900, amount: 2000 },
  ],
});

const GOLD_BAR_PRICE = 999_999_900; // ¥9,999,999.00

const uBig = defineUser({
  userId: 'u-big',
  lines: [
    {
      skuId: 'sku-gold-1kg',
      title: '足金金条 1000g',
      quantity: 3,
      unitPrice: { minor: GOLD_BAR_PRICE, currency: DEMO_CURRENCY },
      selected: true,
    },
  ],
  membership: PLUS_MEMBER,
});

/** 新人立减 for a generated user whose id starts with `new-` (the `u-new` fixture gets more). */
const NEW_CUSTOMER_DISCOUNT = 500;

/**
 * A new customer (新人): settlement takes ¥10.00 off as `new-customer`, on top of a coupon.
 * Goods ¥15.90, 优惠券 -¥3.00, 新人立减 -¥10.00, shipping ¥6.00, payable ¥8.90.
 */
const uNew = defineUser({
  userId: 'u-new',
  lines: [line('sku-nongfu-550ml', 3), line('sku-banana-1kg', 1)],
  membership: NON_MEMBER,
  coupons: [coupon('cpn-new-10-3', true, 1000, 300)],
  newCustomerDiscount: 1000,
});

/** FNV-1a, 32 bit: a stable seed from a user id. */
export function hashSeed(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** mulberry32: a tiny deterministic PRNG, so the same id always yields the same cart. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function intBetween(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

function pick<T>(random: () => number, items: readonly T[]): T {
  const chosen = items[Math.floor(random() * items.length)];
  if (chosen === undefined) throw new Error('pick from an empty list');
  return chosen;
}

function buildBulk(): DemoUser {
  const random = prng(hashSeed('u-bulk'));
  const lines: CartLine[] = [];
  for (let i = 0; i < 200; i++) {
    const base = CATALOG[i % CATALOG.length] ?? CATALOG[0];
    if (base === undefined) throw new Error('empty catalog');
    lines.push({
      skuId: `sku-bulk-${String(i + 1).padStart(3, '0')}`,
      title: `${base.title} (批次${i + 1})`,
      quantity: intBetween(random, 1, 3),
      unitPrice: { minor: base.price + (i % 7) * 10, currency: DEMO_CURRENCY },
      selected: true,
    });
  }
  const everyNth = (n: number): string[] => lines.filter((_, i) => i % n === 0).map((l) => l.skuId);
  return defineUser({
    userId: 'u-bulk',
    lines,
    membership: PLUS_MEMBER,
    instantCampaigns: [{ id: 'camp-bulk-lj', title: '限时立减', skuIds: everyNth(10), amountPerUnit: 100 }],
    fullReductionCampaigns: [
      { id: 'camp-bulk-199-20', title: '满199减20', skuIds: everyNth(3), threshold: 19_900, amount: 2000 },
    ],
    coupons: [
      coupon('cpn-bulk-99-10', true, 9900, 1000),
      coupon('cpn-bulk-299-30', true, 29_900, 3000),
      coupon('cpn-bulk-500-60', false, 50_000, 6000),
    ],
  });
}

const FIXTURES: ReadonlyMap<string, DemoUser> = new Map(
  [u1001, uEmpty, buildBulk(), uBasic, uMj, uBig, uNew].map((user) => [user.userId, user]),
);

/** The named fixture user ids. */
export const FIXTURE_USER_IDS: readonly string[] = [...FIXTURES.keys()];

const COUPON_STEPS: readonly (readonly [threshold: number, discount: number])[] = [
  [1000, 300],
  [2000, 500],
  [5000, 1000],
  [9900, 1500],
];

/**
 * A deterministic cart for any other user id: 1–5 catalog lines, PLUS when the id starts
 * with `plus-`, a 新人立减 when it starts with `new-`, sometimes a 立减 campaign and claimed /
 * unclaimed coupons.
 */
export function generateUser(userId: string): DemoUser {
  const seed = hashSeed(userId);
  const random = prng(seed);
  const tag = seed.toString(16).padStart(8, '0');
  const pool = [...CATALOG];
  const lines: CartLine[] = [];
  const count = intBetween(random, 1, 5);
  for (let i = 0; i < count; i++) {
    const [chosen] = pool.splice(Math.floor(random() * pool.length), 1);
    if (chosen === undefined) break;
    // The first line is always ticked so every generated user has something to quote.
    lines.push(line(chosen.skuId, intBetween(random, 1, 3), i === 0 || random() < 0.85));
  }
  const instantCampaigns: InstantCampaign[] = [];
  if (random() < 0.35) {
    const target = pick(random, lines);
    const amountPerUnit = Math.min(pick(random, [100, 200, 300]), Math.floor(target.unitPrice.minor / 2));
    instantCampaigns.push({ id: `camp-${tag}-lj`, title: '限时立减', skuIds: [target.skuId], amountPerUnit });
  }
  const coupons: DemoCoupon[] = [];
  if (random() < 0.4) {
    const [threshold, discount] = pick(random, COUPON_STEPS);
    coupons.push(coupon(`cpn-${tag}-1`, true, threshold, discount));
  }
  if (random() < 0.3) {
    const [threshold, discount] = pick(random, COUPON_STEPS);
    coupons.push(coupon(`cpn-${tag}-2`, false, threshold, discount));
  }
  return defineUser({
    userId,
    lines,
    membership: userId.startsWith('plus-') ? PLUS_MEMBER : NON_MEMBER,
    instantCampaigns,
    coupons,
    newCustomerDiscount: userId.startsWith('new-') ? NEW_CUSTOMER_DISCOUNT : 0,
  });
}

// Bounded so a benchmark sweeping millions of ids cannot grow memory without limit;
// regenerating is deterministic, so dropping the cache only costs time.
const GENERATED_CACHE_LIMIT = 50_000;
const generated = new Map<string, DemoUser>();

/**
 * The fixture for `userId`, or its generated cart (memoised), with every amount in `currency`:
 * by default the demo's own, otherwise the same user and minor units in that currency (a copy).
 */
export function getDemoUser(userId: string, currency: string = DEMO_CURRENCY): DemoUser {
  const user = demoUserInDemoCurrency(userId);
  return currency === user.currency ? user : inCurrency(user, currency);
}

function inCurrency(user: DemoUser, currency: string): DemoUser {
  const lines = user.lines.map((cartLine) => ({ ...cartLine, unitPrice: { ...cartLine.unitPrice, currency } }));
  return Object.freeze({ ...user, currency, lines });
}

function demoUserInDemoCurrency(userId: string): DemoUser {
  const fixture = FIXTURES.get(userId);
  if (fixture !== undefined) return fixture;
  let user = generated.get(userId);
  if (user === undefined) {
    if (generated.size >= GENERATED_CACHE_LIMIT) generated.clear();
    user = generateUser(userId);
    generated.set(userId, user);
  }
  return user;
}
