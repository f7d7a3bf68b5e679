/**
 * Settling a panel's data: one wait for every upstream the panel's floors need, then
 * synchronous reads (SettledPanelData). Written here, not in the renderer, because it is the
 * loaders' PanelData made synchronous: the renderer names the upstreams, this reads them.
 */
import type { CartLine, PanelData, SettledPanelData, UpstreamName, UpstreamResult } from './panel-data.ts';

/** An answer as it settled: the value, or the failure to throw at every read. */
type Settled = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };

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
 * A read of an upstream not named throws {@link Unsettled}.
 */
export async function settlePanelData(data: PanelData, upstreams: Iterable<UpstreamName>): Promise<SettledPanelData> {
  const names: UpstreamName[] = ['cart'];
  for (const upstream of upstreams) if (!names.includes(upstream)) names.push(upstream);
  const pending: Array<Promise<unknown>> = names.map((upstream) => {
    try {
      return data.get(upstream);
    } catch (error) {
      // Not an upstream the loaders know (a builder's typo): its readers fail, not the panel.
      return Promise.reject(error);
    }
  });
  pending.push(data.selectedLines());
  const results = await Promise.allSettled(pending);
  const answers = new Map<UpstreamName, Settled>();
  const settled = (result: PromiseSettledResult<unknown>): Settled =>
    result.status === 'fulfilled' ? { ok: true, value: result.value } : { ok: false, error: result.reason };
  for (let i = 0; i < names.length; i++) answers.set(names[i]!, settled(results[i]!));
  const lines = settled(results[names.length]!);
  const read = (answer: Settled): unknown => {
    if (!answer.ok) throw answer.error;
    return answer.value;
  };
  const get = <N extends UpstreamName>(upstream: N): UpstreamResult<N> => {
    const answer = answers.get(upstream);
    if (answer === undefined) throw new Unsettled(upstream);
    return read(answer) as UpstreamResult<N>;
  };
  return {
    get,
    selectedLines: () => read(lines) as readonly CartLine[],
    cart: () => get('cart'),
    promotion: () => get('promotion'),
    quote: () => get('settlement'),
  };
}
