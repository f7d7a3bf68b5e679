import type { GraphQLResolveInfo, GraphQLScalarType, GraphQLScalarTypeConfig } from 'graphql';
import type { RenderedPanel, RenderedFloor } from '../../panels/panel.ts';
import type { GraphQLContext } from '../context.ts';
export type Maybe<T> = T | null;
export type InputMaybe<T> = Maybe<T>;
export type RequireFields<T, K extends keyof T> = Omit<T, K> & { [P in K]-?: NonNullable<T[P]> };
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
  /**
   * Integer minor units (fen for CNY), serialized as a JSON number. Exact up to 2^53 − 1:
   * unlike Int it does not stop at 2^31, and a value it cannot carry exactly is an error,
   * never a rounded amount.
   */
  MinorUnits: { input: number; output: number; }
};

/**
 * Why a panel is degraded. A degraded panel still adds up: its GOODS, DEDUCTION and CHARGE
 * rows sum to its PAYABLE row, or it has no PAYABLE row.
 */
export type DegradedReason =
  /** A floor failed to build for a reason inside Floorplan (a bug): it is left out. */
  | 'BUILDER_FAILED'
  /** Two upstreams answered in different currencies: the one that disagrees with the cart counts as failed. */
  | 'CURRENCY_MISMATCH'
  /**
   * Some amounts of the quote could not be shown on their own rows (a floor failed, is switched
   * off or is not in this layout): an "other discounts" or "other charges" row carries the
   * difference so the rows still add up to the total. When no such row can make them add up (rows
   * of one kind show more than the quote has, there is no goods row, or the rows' currencies
   * differ), only the total is shown, without the rows it sums.
   */
  | 'PARTIAL_BREAKDOWN'
  /** Settlement's quote did not add up, or did not price exactly the selected cart lines: settlement counts as failed. */
  | 'QUOTE_INCONSISTENT'
  /** An upstream failed (timeout, error, contract violation, open breaker, kill switch): floors or decorations that need it are left out. */
  | 'UPSTREAM_FAILED';

export type Floor = {
  __typename?: 'Floor';
  /** The signed amount (deductions negative); null for text-only floors. */
  amount?: Maybe<Money>;
  /** Stable floor code, e.g. spze, coupon, plus95: what the app keys rendering on. */
  code: Scalars['String']['output'];
  kind: FloorKind;
  /** Display name in the panel's locale. */
  name: Scalars['String']['output'];
  /** The amount formatted for the locale, with - for deductions, e.g. -¥5.00. */
  priceText?: Maybe<Scalars['String']['output']>;
  /** Position in the panel, ascending; floors arrive already sorted. */
  sort: Scalars['Int']['output'];
  /** Style tokens the app maps to its own styles, e.g. bold. */
  style: Array<Scalars['String']['output']>;
  /** Secondary line, e.g. 已领券 -¥6.00. */
  subName?: Maybe<Scalars['String']['output']>;
};

/**
 * What a floor's amount means for the payable total. Amounts of GOODS, DEDUCTION (negative)
 * and CHARGE floors add up to the PAYABLE floor's amount; INFO amounts (e.g. a rebate paid
 * later) and TEXT floors take no part.
 */
export type FloorKind =
  | 'CHARGE'
  | 'DEDUCTION'
  | 'GOODS'
  | 'INFO'
  | 'PAYABLE'
  | 'TEXT';

export type FloorPanel = {
  __typename?: 'FloorPanel';
  /**
   * Identifies this request's rendering decisions (layout version, every flag decision) in
   * the server's log: quote it to support to reconstruct exactly what the user saw.
   */
  decisionId: Scalars['ID']['output'];
  /** True when some floor or part of one could not be shown as configured; degradedReasons says why. */
  degraded: Scalars['Boolean']['output'];
  /**
   * Why the panel is degraded, each reason once; empty when not degraded. When a reason is
   * about an upstream (UPSTREAM_FAILED, QUOTE_INCONSISTENT, CURRENCY_MISMATCH), failedUpstreams
   * names it.
   */
  degradedReasons: Array<DegradedReason>;
  /** The upstreams whose failure left floors out of this panel; empty when not degraded. */
  failedUpstreams: Array<Upstream>;
  floors: Array<Floor>;
  /** The version of the floors layout that rendered this panel. */
  layoutVersion: Scalars['String']['output'];
  /** The locale names and prices were rendered for, e.g. zh-CN. */
  locale: Scalars['String']['output'];
  scene: Scalars['String']['output'];
};

/** A machine-readable amount: integer minor units and an ISO 4217 currency. */
export type Money = {
  __typename?: 'Money';
  currency: Scalars['String']['output'];
  minor: Scalars['MinorUnits']['output'];
};

/**
 * Floorplan's contract with mobile clients: a panel is an ordered list of floors (rows)
 * that the app renders by looping over the array. Field names here are a public contract.
 */
export type Query = {
  __typename?: 'Query';
  /**
   * The panel for a scene, for the authenticated user (the token says who; no argument can
   * name another user). `selectedSkuIds` narrows the quote to those lines of the user's own
   * cart; omitted, the lines ticked in the cart are used.
   */
  floorPanel: FloorPanel;
};


/**
 * Floorplan's contract with mobile clients: a panel is an ordered list of floors (rows)
 * that the app renders by looping over the array. Field names here are a public contract.
 */
export type QueryFloorPanelArgs = {
  scene: Scalars['String']['input'];
  selectedSkuIds?: InputMaybe<Array<Scalars['ID']['input']>>;
};

/**
 * The upstream services a panel is built from: each registered upstream's name, upper-cased
 * (src/upstreams/registry.ts; test/graphql/upstream-enum.test.ts keeps the two equal).
 */
export type Upstream =
  | 'CART'
  | 'LOYALTY'
  | 'PROMOTION'
  | 'SETTLEMENT';



export type ResolverTypeWrapper<T> = Promise<T> | T;


export type ResolverWithResolve<TResult, TParent, TContext, TArgs> = {
  resolve: ResolverFn<TResult, TParent, TContext, TArgs>;
};
export type Resolver<TResult, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> = ResolverFn<TResult, TParent, TContext, TArgs> | ResolverWithResolve<TResult, TParent, TContext, TArgs>;

export type ResolverFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => Promise<TResult> | TResult;

export type SubscriptionSubscribeFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => AsyncIterable<TResult> | Promise<AsyncIterable<TResult>>;

export type SubscriptionResolveFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => TResult | Promise<TResult>;

export interface SubscriptionSubscriberObject<TResult, TKey extends string, TParent, TContext, TArgs> {
  subscribe: SubscriptionSubscribeFn<{ [key in TKey]: TResult }, TParent, TContext, TArgs>;
  resolve?: SubscriptionResolveFn<TResult, { [key in TKey]: TResult }, TContext, TArgs>;
}

export interface SubscriptionResolverObject<TResult, TParent, TContext, TArgs> {
  subscribe: SubscriptionSubscribeFn<any, TParent, TContext, TArgs>;
  resolve: SubscriptionResolveFn<TResult, any, TContext, TArgs>;
}

export type SubscriptionObject<TResult, TKey extends string, TParent, TContext, TArgs> =
  | SubscriptionSubscriberObject<TResult, TKey, TParent, TContext, TArgs>
  | SubscriptionResolverObject<TResult, TParent, TContext, TArgs>;

export type SubscriptionResolver<TResult, TKey extends string, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> =
  | ((...args: any[]) => SubscriptionObject<TResult, TKey, TParent, TContext, TArgs>)
  | SubscriptionObject<TResult, TKey, TParent, TContext, TArgs>;

export type TypeResolveFn<TTypes, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>> = (
  parent: TParent,
  context: TContext,
  info: GraphQLResolveInfo
) => Maybe<TTypes> | Promise<Maybe<TTypes>>;

export type IsTypeOfResolverFn<T = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>> = (obj: T, context: TContext, info: GraphQLResolveInfo) => boolean | Promise<boolean>;

export type NextResolverFn<T> = () => Promise<T>;

export type DirectiveResolverFn<TResult = Record<PropertyKey, never>, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> = (
  next: NextResolverFn<TResult>,
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => TResult | Promise<TResult>;





/** Mapping between all available schema types and the resolvers types */
export type ResolversTypes = {
  Boolean: ResolverTypeWrapper<Scalars['Boolean']['output']>;
  DegradedReason: DegradedReason;
  Floor: ResolverTypeWrapper<RenderedFloor>;
  FloorKind: FloorKind;
  FloorPanel: ResolverTypeWrapper<RenderedPanel>;
  ID: ResolverTypeWrapper<Scalars['ID']['output']>;
  Int: ResolverTypeWrapper<Scalars['Int']['output']>;
  MinorUnits: ResolverTypeWrapper<Scalars['MinorUnits']['output']>;
  Money: ResolverTypeWrapper<Money>;
  Query: ResolverTypeWrapper<Record<PropertyKey, never>>;
  String: ResolverTypeWrapper<Scalars['String']['output']>;
  Upstream: Upstream;
};

/** Mapping between all available schema types and the resolvers parents */
export type ResolversParentTypes = {
  Boolean: Scalars['Boolean']['output'];
  Floor: RenderedFloor;
  FloorPanel: RenderedPanel;
  ID: Scalars['ID']['output'];
  Int: Scalars['Int']['output'];
  MinorUnits: Scalars['MinorUnits']['output'];
  Money: Money;
  Query: Record<PropertyKey, never>;
  String: Scalars['String']['output'];
};

export type FloorResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Floor'] = ResolversParentTypes['Floor']> = {
  amount?: Resolver<Maybe<ResolversTypes['Money']>, ParentType, ContextType>;
  code?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  kind?: Resolver<ResolversTypes['FloorKind'], ParentType, ContextType>;
  name?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  priceText?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  sort?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  style?: Resolver<Array<ResolversTypes['String']>, ParentType, ContextType>;
  subName?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
};

export type FloorPanelResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['FloorPanel'] = ResolversParentTypes['FloorPanel']> = {
  decisionId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  degraded?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  degradedReasons?: Resolver<Array<ResolversTypes['DegradedReason']>, ParentType, ContextType>;
  failedUpstreams?: Resolver<Array<ResolversTypes['Upstream']>, ParentType, ContextType>;
  floors?: Resolver<Array<ResolversTypes['Floor']>, ParentType, ContextType>;
  layoutVersion?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  locale?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  scene?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export interface MinorUnitsScalarConfig extends GraphQLScalarTypeConfig<ResolversTypes['MinorUnits'], any> {
  name: 'MinorUnits';
}

export type MoneyResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Money'] = ResolversParentTypes['Money']> = {
  currency?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  minor?: Resolver<ResolversTypes['MinorUnits'], ParentType, ContextType>;
};

export type QueryResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Query'] = ResolversParentTypes['Query']> = {
  floorPanel?: Resolver<ResolversTypes['FloorPanel'], ParentType, ContextType, RequireFields<QueryFloorPanelArgs, 'scene'>>;
};

export type Resolvers<ContextType = GraphQLContext> = {
  Floor?: FloorResolvers<ContextType>;
  FloorPanel?: FloorPanelResolvers<ContextType>;
  MinorUnits?: GraphQLScalarType;
  Money?: MoneyResolvers<ContextType>;
  Query?: QueryResolvers<ContextType>;
};

