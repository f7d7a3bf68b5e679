/**
 * The FloorBuilder strategy: one implementation per builder name, one file each under
 * `builders/`. A floor in floors/<scene>.yaml names its builder; the builder maps upstream
 * facts to one row's amount and template variables. It never prices (the settlement
 * service is the authority), never formats (the renderer does, once, for the locale), and
 * reads data only through the {@link SettledPanelData} it is handed — so it can be tested with
 * plain objects. It is synchronous: the renderer has waited, once per panel, for every upstream
 * the panel's floors list among their needs, and a builder reads those answers as they settled.
 */
import type { SettledPanelData, UpstreamName } from '../loaders/panel-data.ts';
import type { Money } from '../money/money.ts';

// Builders import only this module (and money), so it re-exports the interface they read
// through and the domain types it hands out (never the upstreams' wire contracts).
export type {
  Campaign,
  Cart,
  CartLine,
  Coupon,
  DiscountKind,
  LoyaltyPoints,
  MembershipTier,
  Points,
  Promotion,
  SettledPanelData,
  SettlementQuote,
  UpstreamName,
  UpstreamResult,
} from '../loaders/panel-data.ts';

/**
 * What a floor's amount means for the payable total: GOODS + DEDUCTION (negative) + CHARGE
 * add up to PAYABLE; INFO amounts (paid later, e.g. a rebate) and TEXT floors take no part.
 */
export const FLOOR_KINDS = ['GOODS', 'DEDUCTION', 'CHARGE', 'PAYABLE', 'INFO', 'TEXT'] as const;
export type FloorKind = (typeof FLOOR_KINDS)[number];

/**
 * The sign of a kind's amount, as its row shows it: -1 for DEDUCTION (zero or negative), 1 for
 * GOODS, CHARGE and PAYABLE (zero or positive), 0 for INFO and TEXT (no rule). An amount of
 * the wrong sign is never served: the renderer drops a builder's row as failed, and an
 * expression floor's amount fails. `amount.minor * AMOUNT_SIGN[kind] < 0` is the test.
 */
export const AMOUNT_SIGN: Readonly<Record<FloorKind, -1 | 0 | 1>> = Object.freeze({ GOODS: 1, DEDUCTION: -1, CHARGE: 1, PAYABLE: 1, INFO: 0, TEXT: 0 });

/** A kind's sign rule, as a message states the contract: "a DEDUCTION amount must be zero or negative". */
export function amountSignRule(kind: FloorKind): string {
  const sign = AMOUNT_SIGN[kind];
  return sign === 0 ? `a ${kind} amount may have either sign` : `a ${kind} amount must be zero or ${sign < 0 ? 'negative' : 'positive'}`;
}

/** A value a sub-name template can show; Money is formatted for the panel's locale. */
export type TemplateValue = Money | string | number;

/** Who is looking, as far as a builder may care. */
export interface BuilderViewer {
  readonly segments: readonly string[];
  readonly platform: string;
}

export interface FloorBuildContext {
  /** The panel's answers; a read of a failed upstream throws its failure, which drops the floor (or its decoration). */
  readonly data: SettledPanelData;
  readonly viewer: BuilderViewer;
}

/**
 * A builder's answer: the row's signed amount (null for text-only), of its kind's sign
 * ({@link AMOUNT_SIGN}: a deduction negative), and its template variables.
 */
/**
 * The floor's own settings a builder may read (floors/*.yaml), only to skip a read whose outcome
 * they already decide: with hideWhenZero a zero row is hidden, so whether a zero row would be
 * shown need not be asked of an upstream that may be down (the panel would say it is degraded
 * for a row it never shows).
 */
export interface FloorSettings {
  readonly hideWhenZero: boolean;
}

export interface FloorFacts {
  readonly amount: Money | null;
  readonly vars?: Readonly<Record<string, TemplateValue>>;
}

/**
 * The part of a row that is decoration: template variables only its sub-name shows, read from
 * upstreams the amount does not need (a campaign title, the quota left). When one of those
 * fails, the row keeps its amount and the renderer leaves the decoration out — the sub-name
 * falls back — instead of dropping a row the panel needs to add up.
 */
export interface FloorDecorations {
  /** Upstreams the decoration reads beyond the amount's `needs`. */
  readonly needs: readonly UpstreamName[];
  /** The variables it provides; each is also listed in the builder's `templateVars`. */
  readonly vars: readonly string[];
  /** The decoration variables; a variable left out (a null quota) leaves its sub-name to fall back too. */
  decorate(ctx: FloorBuildContext): Readonly<Record<string, TemplateValue>>;
}

export interface FloorBuilder {
  /** Registry name, used as `builder:` in floors/*.yaml; by convention the floor code it renders. */
  readonly name: string;
  /** One line for operators: what the floor shows and where the number comes from. */
  readonly description: string;
  readonly kind: FloorKind;
  /** Upstreams the row's amount needs, every one it may read; when one fails the floor is dropped. */
  readonly needs: readonly UpstreamName[];
  /** Variables sub-name templates may use, e.g. `amount`; anything else is rejected at load. */
  readonly templateVars: readonly string[];
  /**
   * Maps upstream facts to the row, or null when the floor does not apply (e.g. not a member).
   * A read that fails throws; let it through. Catching it would also catch the renderer's signal
   * that a read beyond `needs` must be settled first, and build the row without that upstream.
   */
  build(ctx: FloorBuildContext, floor?: FloorSettings): FloorFacts | null;
  /** Decoration variables, degraded separately from the amount; absent when every variable comes with it. */
  readonly decorations?: FloorDecorations;
  /** An expression floor's `when` condition as written: build gives null exactly when it is false. Absent for a builder. */
  readonly when?: string;
  /**
   * Money variables that summarise other rows, by the kind of rows: e.g. payable's `savings`
   * is the DEDUCTION rows taken together. Before a panel is served the renderer checks each
   * against the magnitude of the rows of that kind it shows, and leaves a sub-name quoting a
   * figure the rows do not show out (the panel is then degraded).
   */
  readonly summarises?: Readonly<Record<string, FloorKind>>;
}
