/**
 * The domain data as CEL values: one class per message type of domain.ts (cel-js finds a
 * value's type by its constructor), ints as BigInt. Each upstream answer is converted at most
 * once per request (cached by the answer object, which the request scope shares between
 * floors), and the conversion notes every list longer than its cost bound.
 */
import type { BuilderViewer, Cart, CartLine, LoyaltyPoints, Promotion, SettlementQuote } from '../builder.ts';
import type { Money } from '../../money/money.ts';
import { LIST_BOUNDS, MESSAGE_TYPES, type MessageTypeName } from './domain.ts';

/** CEL's Money: `minor` units of `currency`; currency "" is the panel's currency (a literal `money(500)`, the sum of nothing). */
export class CelMoney {
  constructor(
    readonly minor: bigint,
    readonly currency: string,
  ) {}
}

type MessageClass = new (fields: Record<string, unknown>) => object;

function messageClass(name: string): MessageClass {
  // A named class per type, so the type shows in cel-js's messages and in a debugger.
  const named = {
    [name]: class {
      constructor(fields: Record<string, unknown>) {
        Object.assign(this, fields);
      }
    },
  };
  return named[name] as MessageClass;
}

/** The constructor of each message type, Money's included. */
export const MESSAGE_CLASSES: Readonly<Record<MessageTypeName, MessageClass>> = Object.fromEntries(
  (Object.keys(MESSAGE_TYPES) as MessageTypeName[]).map((name) => [name, name === 'Money' ? (CelMoney as unknown as MessageClass) : messageClass(name)]),
) as Record<MessageTypeName, MessageClass>;

const C = MESSAGE_CLASSES;

/** A converted root value and the lists in it that are longer than their bound (`Quote.discounts`). */
export interface Converted {
  readonly value: unknown;
  readonly oversized: ReadonlySet<string> | undefined;
}

class Conversion {
  oversized: Set<string> | undefined;

  list<T, R>(items: readonly T[], bound: string, convert: (item: T) => R): R[] {
    if (items.length > (LIST_BOUNDS[bound] ?? 0)) (this.oversized ??= new Set()).add(bound);
    return items.map(convert);
  }

  strings(items: readonly string[], bound: string): readonly string[] {
    if (items.length > (LIST_BOUNDS[bound] ?? 0)) (this.oversized ??= new Set()).add(bound);
    return items;
  }

  done(value: unknown): Converted {
    return { value, oversized: this.oversized };
  }
}

export function celMoney(m: Money): CelMoney {
  return new CelMoney(BigInt(m.minor), m.currency);
}

function cartLine(line: CartLine): object {
  return new C.CartLine({ skuId: line.skuId, title: line.title, quantity: BigInt(line.quantity), unitPrice: celMoney(line.unitPrice), selected: line.selected });
}

const cache = new WeakMap<object, Converted>();

function cached(key: object, convert: (conversion: Conversion) => unknown): Converted {
  let converted = cache.get(key);
  if (converted === undefined) {
    const conversion = new Conversion();
    converted = conversion.done(convert(conversion));
    cache.set(key, converted);
  }
  return converted;
}

export function convertCart(cart: Cart): Converted {
  return cached(cart, (c) => new C.Cart({ userId: cart.userId, currency: cart.currency, lines: c.list(cart.lines, 'Cart.lines', cartLine) }));
}

export function convertLines(lines: readonly CartLine[]): Converted {
  return cached(lines, (c) => c.list(lines, 'lines', cartLine));
}

export function convertPromotion(promotion: Promotion): Converted {
  return cached(promotion, (c) => {
    const quota = promotion.membership.plus95QuotaRemaining;
    return new C.Promotion({
      // A non-member's quota is absent, not null: `has(promotion.membership.plus95QuotaRemaining)` tells.
      membership: new C.Membership(quota === null ? { tier: promotion.membership.tier } : { tier: promotion.membership.tier, plus95QuotaRemaining: celMoney(quota) }),
      campaigns: c.list(promotion.campaigns, 'Promotion.campaigns', (k) => new C.Campaign({ id: k.id, kind: k.kind, title: k.title, skuIds: c.strings(k.skuIds, 'Campaign.skuIds') })),
      coupons: c.list(promotion.coupons, 'Promotion.coupons', (k) => new C.Coupon({ id: k.id, title: k.title, claimed: k.claimed, discount: celMoney(k.discount), threshold: celMoney(k.threshold) })),
    });
  });
}

export function convertQuote(quote: SettlementQuote): Converted {
  return cached(quote, (c) =>
    new C.Quote({
      currency: quote.currency,
      lines: c.list(quote.lines, 'Quote.lines', (l) => new C.QuoteLine({ skuId: l.skuId, quantity: BigInt(l.quantity) })),
      goodsTotal: celMoney(quote.goodsTotal),
      discounts: c.list(quote.discounts, 'Quote.discounts', (d) => new C.Discount({ kind: d.kind, amount: celMoney(d.amount), sourceIds: c.strings(d.sourceIds, 'Discount.sourceIds') })),
      shipping: celMoney(quote.shipping),
      plusRebate: celMoney(quote.plusRebate),
      payable: celMoney(quote.payable),
    }),
  );
}

export function convertLoyalty(points: LoyaltyPoints): Converted {
  return cached(points, () =>
    new C.Loyalty({
      balance: BigInt(points.balance),
      earns: BigInt(points.earns),
      usable: new C.LoyaltyUsable({ points: BigInt(points.usable.points), value: celMoney(points.usable.value) }),
    }),
  );
}

export function convertViewer(viewer: BuilderViewer): Converted {
  return cached(viewer, (c) => new C.Viewer({ segments: c.strings(viewer.segments, 'Viewer.segments'), platform: viewer.platform }));
}
