/**
 * Per-request data access: one DataLoader per upstream, created for each web request and
 * thrown away with it. However many floors, panels or aliases ask, each upstream is called
 * at most once per request: keys asked for in the same tick are batched into one call
 * (several selections of the cart become several quotes in one settlement call).
 *
 * Order: cart first (the selection is resolved against it), then promotion ∥ settlement.
 * A failed key is cleared from the loader so a failure is never served as a memoised
 * answer, and it fails only the floors that need it.
 */
import DataLoader from 'dataloader';
import { checkCartCurrency, checkPromotion, checkQuote, type Violation } from './answer-checks.ts';
import type { PanelData } from './panel-data.ts';
import { ErrorCode, FloorplanError } from '../errors.ts';
import type { UpstreamClients } from '../upstreams/clients.ts';
import type { Cart, CartLine, PromotionResult, SettlementQuote, UpstreamName } from '../upstreams/contracts.ts';
import type { Deadline } from '../upstreams/deadline.ts';
import { UpstreamError } from '../upstreams/upstream-error.ts';

/** The lines a panel is about and the keys that identify them for the loaders. */
interface Selection {
  readonly lines: readonly CartLine[];
  /** The cart's currency: every amount an upstream sends for this selection must be in it. */
  readonly currency: string;
  /** The promotion loader's key: the sorted SKU ids, JSON-encoded (ids may hold any character). */
  readonly skuKey: string;
  /** The settlement loader's key: sorted [sku, quantity] pairs, JSON-encoded. */
  readonly quoteKey: string;
}

function selectionOf(lines: readonly CartLine[], currency: string): Selection {
  const sorted = [...lines].sort((a, b) => (a.skuId < b.skuId ? -1 : a.skuId > b.skuId ? 1 : 0));
  return {
    lines: sorted,
    currency,
    skuKey: JSON.stringify(sorted.map((l) => l.skuId)),
    quoteKey: JSON.stringify(sorted.map((l) => [l.skuId, l.quantity])),
  };
}

/**
 * Resolves which cart lines a panel covers. With no `selectedSkuIds`, the lines ticked in
 * the cart; otherwise exactly those SKUs, which must all be in the caller's own cart.
 */
export function resolveSelection(cart: Cart, selectedSkuIds: readonly string[] | null | undefined): readonly CartLine[] {
  if (selectedSkuIds === null || selectedSkuIds === undefined) return cart.lines.filter((l) => l.selected);
  const wanted = new Set(selectedSkuIds);
  const lines = cart.lines.filter((l) => wanted.has(l.skuId));
  if (lines.length !== wanted.size) {
    const inCart = new Set(cart.lines.map((l) => l.skuId));
    const foreign = [...wanted].filter((id) => !inCart.has(id));
    throw new FloorplanError(
      ErrorCode.SELECTION_NOT_IN_CART,
      { foreign: foreign.map((id) => JSON.stringify(id)).join(', ') },
    );
  }
  return lines;
}

/**
 * The data one request may read. Create a new instance per web request: its caches must
 * never outlive the request, or one user's cart could answer another's.
 */
export class RequestScope {
  private readonly clients: UpstreamClients;
  private readonly userId: string;
  private readonly deadline: Deadline | undefined;

  private readonly carts: DataLoader<string, Cart>;
  private readonly promotions: DataLoader<string, PromotionResult>;
  private readonly quotes: DataLoader<string, SettlementQuote>;
  private readonly selections = new Map<string, Promise<Selection>>();
  /** The selection behind each loader key, so a batch reads its lines instead of decoding keys. */
  private readonly byKey = new Map<string, Selection>();

  private readonly killed: (upstream: UpstreamName) => boolean;
  private readonly violated: (upstream: UpstreamName, violation: Violation) => void;

  /**
   * @param options.deadline the request's deadline: every upstream call still running when it passes is abandoned.
   * @param options.killed the operator's kill switches: a killed upstream is never called and its floors drop.
   * @param options.violated told once per answer refused by the cross-checks ({@link checkQuote} and friends), to count and log it.
   */
  constructor(options: {
    userId: string;
    clients: UpstreamClients;
    deadline?: Deadline;
    killed?: (upstream: UpstreamName) => boolean;
    violated?: (upstream: UpstreamName, violation: Violation) => void;
  }) {
    this.clients = options.clients;
    this.userId = options.userId;
    this.deadline = options.deadline;
    this.killed = options.killed ?? (() => false);
    this.violated = options.violated ?? (() => {});
    this.carts = new DataLoader((keys) => this.loadCarts(keys), { name: 'cart' });
    this.promotions = new DataLoader((keys) => this.loadPromotions(keys), { name: 'promotion' });
    this.quotes = new DataLoader((keys) => this.loadQuotes(keys), { name: 'settlement' });
  }

  /** Data for one panel over `selectedSkuIds` (or the cart's ticked lines). */
  panelData(selectedSkuIds?: readonly string[] | null): PanelData {
    // Each answer is one promise per panel, however many floors ask: a panel of thirty floors
    // would otherwise allocate a promise chain per floor per question. The loaders below still
    // batch and memoise across the request's panels.
    let cart: Promise<Cart> | undefined;
    let selection: Promise<Selection> | undefined;
    let lines: Promise<readonly CartLine[]> | undefined;
    let promotion: Promise<PromotionResult> | undefined;
    let quote: Promise<SettlementQuote> | undefined;
    const selected = () => (selection ??= this.selection(selectedSkuIds));
    return {
      cart: () => (cart ??= this.carts.load(this.userId)),
      selectedLines: () => (lines ??= selected().then((s) => s.lines)),
      promotion: () => (promotion ??= selected().then((s) => this.promotions.load(s.skuKey))),
      quote: () => (quote ??= selected().then((s) => this.quotes.load(s.quoteKey))),
    };
  }

  private selection(selectedSkuIds: readonly string[] | null | undefined): Promise<Selection> {
    const key = selectedSkuIds === null || selectedSkuIds === undefined ? 'ticked' : JSON.stringify([...selectedSkuIds].sort());
    let pending = this.selections.get(key);
    if (pending === undefined) {
      pending = this.carts.load(this.userId).then((cart) => {
        const resolved = selectionOf(resolveSelection(cart, selectedSkuIds), cart.currency);
        this.byKey.set(resolved.skuKey, resolved);
        this.byKey.set(resolved.quoteKey, resolved);
        return resolved;
      });
      // A rejected selection (cart down) must not be remembered for the next caller.
      pending.catch(() => this.selections.delete(key));
      this.selections.set(key, pending);
    }
    return pending;
  }

  private async loadCarts(userIds: readonly string[]): Promise<Array<Cart | Error>> {
    if (this.killed('cart')) return userIds.map((key) => this.failed(this.carts, key, killedError('cart')));
    // Only the viewer's own id is ever asked for, so this is one call.
    return Promise.all(
      userIds.map((userId) =>
        this.clients.getCart(userId, this.deadline).then(
          (cart) => this.refused(this.carts, userId, 'cart', checkCartCurrency(cart.currency, cart.lines)) ?? cart,
          (error: unknown) => this.failed(this.carts, userId, error),
        ),
      ),
    );
  }

  private async loadPromotions(skuKeys: readonly string[]): Promise<Array<PromotionResult | Error>> {
    if (this.killed('promotion')) return skuKeys.map((key) => this.failed(this.promotions, key, killedError('promotion')));
    const union = new Set<string>();
    for (const key of skuKeys) for (const line of this.linesOf(key)) union.add(line.skuId);
    try {
      const result = await this.clients.queryPromotions({ userId: this.userId, skuIds: [...union].sort() }, this.deadline);
      // Every key is a selection of the one viewer's cart, so one currency check covers them all.
      const first = skuKeys[0];
      const refused = first === undefined ? undefined : this.refused(this.promotions, first, 'promotion', checkPromotion(result, this.selectionOf(first).currency));
      if (refused !== undefined) return skuKeys.map((key) => this.failed(this.promotions, key, refused));
      if (skuKeys.length === 1) return [result];
      return skuKeys.map((key) => {
        const skus = new Set(this.linesOf(key).map((l) => l.skuId));
        return { ...result, campaigns: result.campaigns.filter((c) => c.skuIds.some((s) => skus.has(s))) };
      });
    } catch (error) {
      return skuKeys.map((key) => this.failed(this.promotions, key, error));
    }
  }

  private async loadQuotes(quoteKeys: readonly string[]): Promise<Array<SettlementQuote | Error>> {
    if (this.killed('settlement')) return quoteKeys.map((key) => this.failed(this.quotes, key, killedError('settlement')));
    try {
      const result = await this.clients.quote(
        {
          userId: this.userId,
          quotes: quoteKeys.map((key, index) => ({
            quoteId: `q${index}`,
            lines: this.linesOf(key).map((l) => ({ skuId: l.skuId, quantity: l.quantity })),
          })),
        },
        this.deadline,
      );
      const byId = new Map(result.quotes.map((q) => [q.quoteId, q]));
      return quoteKeys.map((key, index) => {
        const quote = byId.get(`q${index}`);
        if (quote === undefined) {
          return this.failed(this.quotes, key, new UpstreamError('settlement', 'malformed', `answered no quote for quoteId "q${index}"`));
        }
        const selection = this.selectionOf(key);
        return this.refused(this.quotes, key, 'settlement', checkQuote(quote, selection.lines, selection.currency)) ?? quote;
      });
    } catch (error) {
      return quoteKeys.map((key) => this.failed(this.quotes, key, error));
    }
  }

  /** The sorted lines a loader key stands for (every key comes from a resolved selection). */
  private linesOf(key: string): readonly CartLine[] {
    return this.selectionOf(key).lines;
  }

  private selectionOf(key: string): Selection {
    const selection = this.byKey.get(key);
    if (selection === undefined) throw new Error(`no selection was resolved for loader key ${key}`);
    return selection;
  }

  /** A refused answer as its key's error (reported once), or undefined when the answer passed its checks. */
  private refused<V>(loader: DataLoader<string, V>, key: string, upstream: UpstreamName, violation: Violation | undefined): Error | undefined {
    if (violation === undefined) return undefined;
    this.violated(upstream, violation);
    return this.failed(loader, key, new UpstreamError(upstream, 'inconsistent', violation.message, { violation: violation.reason }));
  }

  /** Clears a failed key so the failure is not memoised, and returns it as the key's error. */
  private failed<V>(loader: DataLoader<string, V>, key: string, error: unknown): Error {
    loader.clear(key);
    return error instanceof Error ? error : new Error(String(error));
  }
}

function killedError(upstream: UpstreamName): UpstreamError {
  return new UpstreamError(upstream, 'killed', 'not called: its kill switch is on');
}
