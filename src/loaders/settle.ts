/**
 * Settling a panel's data: one wait for every upstream the panel's floors need, then
 * synchronous reads (SettledPanelData). Written here, not in the renderer, because it is the
 * loaders' PanelData made synchronous: the renderer names the upstreams, this reads them.
 */
import type { Cart, CartLine, PanelData, Promotion, SettledPanelData, SettlementQuote, UpstreamName, UpstreamResult } from './panel-data.ts';

/**
 * Thrown by a read of an upstream that was not settled: the reader (the renderer) settles it
 * too and reads again. A builder may read beyond its needs on a path that must (plus95 asks
 * promotion whether a zero row is a member's); that path pays a second wait, the usual one none.
 */
export class Unsettled extends Error {
  constructor(readonly upstream: UpstreamName) {
    super(`upstream "${upstream}" was read before it was settled`);
    this.name = 'Unsettled';
  }
}

/**
 * Waits once for `upstreams` (the cart and the selected lines always: every panel is about a
 * selection of the cart) and returns the answers to read synchronously. Never rejects: a
 * failed upstream is thrown at whoever reads it, so it fails only the floors that need it.
 * A read of an upstream not named throws {@link Unsettled}. No async frame of its own: the
 * caller's one await is the only one (each costs a suspended frame and its closures).
 */
export function settlePanelData(data: PanelData, upstreams: readonly UpstreamName[]): Promise<SettledPanelData> {
  const names: UpstreamName[] = ['cart'];
  for (let i = 0; i < upstreams.length; i++) if (!names.includes(upstreams[i]!)) names.push(upstreams[i]!);
  const pending: Array<Promise<unknown>> = [];
  for (let i = 0; i < names.length; i++) {
    try {
      pending.push(data.get(names[i]!));
    } catch (error) {
      // Not an upstream the loaders know: the registry checks every `needs`, so only a builder's
      // `get('<typo>')` retried as Unsettled gets here. Its readers fail, not the panel.
      pending.push(Promise.reject(error));
    }
  }
  pending.push(data.selectedLines());
  return Promise.allSettled(pending).then((results) => new SettledAnswers(names, results));
}

/** The answers, by the upstreams' places in `names`; the selected lines last. One object, no closure per method. */
class SettledAnswers implements SettledPanelData {
  constructor(
    private readonly names: readonly UpstreamName[],
    private readonly results: ReadonlyArray<PromiseSettledResult<unknown>>,
  ) {}

  get<N extends UpstreamName>(upstream: N): UpstreamResult<N> {
    const at = this.names.indexOf(upstream);
    if (at === -1) throw new Unsettled(upstream);
    return this.read(at) as UpstreamResult<N>;
  }

  selectedLines(): readonly CartLine[] {
    return this.read(this.names.length) as readonly CartLine[];
  }

  cart(): Cart {
    return this.get('cart');
  }

  promotion(): Promotion {
    return this.get('promotion');
  }

  quote(): SettlementQuote {
    return this.get('settlement');
  }

  private read(at: number): unknown {
    const result = this.results[at]!;
    if (result.status === 'rejected') throw result.reason;
    return result.value;
  }
}
