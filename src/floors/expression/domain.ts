/**
 * What an expression floor can read: the panel's domain data as CEL types, one table that
 * the CEL environment is registered from, the load-time checks quote ("known fields"), the
 * cost estimate reads (how long each list may be) and the converter follows at run time.
 *
 * Money is a `Money` message of `minor` (int, minor units: fen for CNY) and `currency`; ints
 * are CEL's 64-bit integers (BigInt in JavaScript), converted from the domain's safe-integer
 * numbers once per upstream answer and request.
 */
import type { UpstreamName } from '../builder.ts';

/** A CEL type name as the environment spells it: `int`, `string`, `Money`, `list<Discount>`. */
export type CelTypeName = string;

/** The message types, by name: their fields and each field's CEL type. */
export const MESSAGE_TYPES = {
  Money: { minor: 'int', currency: 'string' },
  CartLine: { skuId: 'string', title: 'string', quantity: 'int', unitPrice: 'Money', selected: 'bool' },
  Cart: { userId: 'string', currency: 'string', lines: 'list<CartLine>' },
  Campaign: { id: 'string', kind: 'string', title: 'string', skuIds: 'list<string>' },
  Coupon: { id: 'string', title: 'string', claimed: 'bool', discount: 'Money', threshold: 'Money' },
  Membership: { tier: 'string', plus95QuotaRemaining: 'Money' },
  Promotion: { membership: 'Membership', campaigns: 'list<Campaign>', coupons: 'list<Coupon>' },
  QuoteLine: { skuId: 'string', quantity: 'int' },
  Discount: { kind: 'string', amount: 'Money', sourceIds: 'list<string>' },
  Quote: {
    currency: 'string',
    lines: 'list<QuoteLine>',
    goodsTotal: 'Money',
    discounts: 'list<Discount>',
    shipping: 'Money',
    plusRebate: 'Money',
    payable: 'Money',
  },
  LoyaltyUsable: { points: 'int', value: 'Money' },
  Loyalty: { balance: 'int', earns: 'int', usable: 'LoyaltyUsable' },
  Viewer: { segments: 'list<string>', platform: 'string' },
} as const satisfies Record<string, Record<string, CelTypeName>>;

export type MessageTypeName = keyof typeof MESSAGE_TYPES;

/** A variable an expression may name: its type, the upstream it is read from (null: the viewer), and what it is. */
export interface DomainVariable {
  readonly type: CelTypeName;
  readonly upstream: UpstreamName | null;
  readonly description: string;
}

export const VARIABLES = {
  cart: { type: 'Cart', upstream: 'cart', description: "the viewer's cart, every line" },
  lines: { type: 'list<CartLine>', upstream: 'cart', description: 'the cart lines this panel is about (the selection)' },
  promotion: { type: 'Promotion', upstream: 'promotion', description: 'membership, campaigns and coupons for the selection' },
  quote: { type: 'Quote', upstream: 'settlement', description: "settlement's quote for the selection: goods, discounts by kind, shipping, payable" },
  loyalty: { type: 'Loyalty', upstream: 'loyalty', description: 'points: balance, points this order earns, usable points and their value' },
  viewer: { type: 'Viewer', upstream: null, description: "the viewer's segments (from the token) and platform" },
} as const satisfies Record<string, DomainVariable>;

export type VariableName = keyof typeof VARIABLES;

/**
 * How many entries each list may hold for the cost estimate to hold: `Type.field`, or a
 * variable's name. The cost limit is checked at load with these lengths; at run time a list
 * that is longer fails the expressions that read it (FLOORPLAN_ERR_EXPRESSION_FAILED) rather
 * than let them run past their cost.
 */
export const LIST_BOUNDS: Readonly<Record<string, number>> = {
  lines: 500,
  'Cart.lines': 500,
  'Quote.lines': 500,
  'Quote.discounts': 50,
  'Discount.sourceIds': 50,
  'Promotion.campaigns': 200,
  'Promotion.coupons': 200,
  'Campaign.skuIds': 500,
  'Viewer.segments': 32,
};

/** The length the cost estimate assumes for a string read from the data (titles, ids): longer ones cost more, not unboundedly more. */
export const DATA_STRING_LENGTH = 256;

/** `field: type` for each field of a message type, for error messages. */
export function knownFields(type: string): string | undefined {
  const fields = (MESSAGE_TYPES as Record<string, Record<string, string>>)[type];
  return fields === undefined ? undefined : Object.entries(fields).map(([name, t]) => `${name}: ${t}`).join(', ');
}

/** The variables, as `name: type`, for error messages. */
export function knownVariables(): string {
  return Object.entries(VARIABLES).map(([name, v]) => `${name}: ${v.type}`).join(', ');
}
