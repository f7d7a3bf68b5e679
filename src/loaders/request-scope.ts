/**
 * Per-request data access: one DataLoader per upstream, created for each web request and
 * thrown away with it. However many floors, panels or aliases ask, each upstream is called
 * at most once per request: keys asked for in the same tick are batched into one call
 * (several selections of the cart become several quotes in one settlement call).
 *
 * Order: cart first (the selection is resolved against it), then every other upstream in parallel.
 * A failure is remembered for the rest of the request, as an answer is: the floors and panels
 * that need that upstream fail alike, and an upstream in trouble gets no more calls from one
 * request than a healthy one (the client's own retries, within its budget, are the place to try
 * again). It fails only the floors that need it. The loaders die with the request, so nothing
 * is remembered beyond it.
 */
import DataLoader from 'dataloader';
import type { PanelData } from './panel-data.ts';
import { ErrorCode, FloorplanError } from '../errors.ts';
import type { LoggedRequest } from '../observability/logger.ts';
import { NO_TRACE, type RequestTrace } from '../observability/tracing.ts';
import type { CallNotes, UpstreamCall, UpstreamClients } from '../upstreams/clients.ts';
import { MissingAnswer, type AnyUpstreamDefinition, type UpstreamSelection, type Violation } from '../upstreams/definition.ts';
import type { Cart, CartLine } from '../upstreams/defs/cart.ts';
import type { Deadline } from '../upstreams/deadline.ts';
import { UPSTREAM_DEFINITIONS, type UpstreamName, type UpstreamResult } from '../upstreams/registry.ts';
import { isUpstreamError, UpstreamError } from '../upstreams/upstream-error.ts';

/** The lines a panel is about and the key that identifies them for the loaders. */
interface Selection extends UpstreamSelection {
  readonly lines: readonly CartLine[];
  /** The loaders' key: sorted [sku, quantity] pairs, JSON-encoded (ids may hold any character). */
  readonly key: string;
}

function selectionOf(lines: readonly CartLine[], currency: string): Selection {
  const sorted = [...lines].sort((a, b) => (a.skuId < b.skuId ? -1 : a.skuId > b.skuId ? 1 : 0));
  return { lines: sorted, currency, key: JSON.stringify(sorted.map((l) => [l.skuId, l.quantity])) };
}

/**
 * Resolves which cart lines a panel covers. With no `selectedSkuIds`, the lines ticked in
 * the cart; otherwise exactly those SKUs, which must all be in the caller's own cart.
 */
export function resolveSelection(cart: Cart, selectedSkuIds: readonly string[] | null | undefined): readonly CartLine[] {
  if (selectedSkuIds === null || selectedSkuIds === undefined) return cart.lines.filter((l) => l.selected);
  const wanted = new Set(selectedSkuIds);
  // Every line of a SKU asked for: the cart may hold one SKU on two lines (two sellers).
  const lines = cart.lines.filter((l) => wanted.has(l.skuId));
  const found = new Set(lines.map((l) => l.skuId));
  if (found.size !== wanted.size) {
    const foreign = [...wanted].filter((id) => !found.has(id));
    throw new FloorplanError(
      ErrorCode.SELECTION_NOT_IN_CART,
      { foreign: foreign.map((id) => JSON.stringify(id)).join(', ') },
    );
  }
  return lines;
}

/** A panel's selection, as the request's selections are keyed: the ticked lines, or the SKUs asked for. */
function selectionKey(selectedSkuIds: readonly string[] | null | undefined): string {
  return selectedSkuIds === null || selectedSkuIds === undefined ? 'ticked' : JSON.stringify([...selectedSkuIds].sort());
}

/**
 * The data one request may read. Create a new instance per web request: its caches must
 * never outlive the request, or one user's cart could answer another's.
 */
export class RequestScope {
  private readonly clients: UpstreamClients;
  private readonly userId: string;
  private readonly deadline: Deadline | undefined;

  /** One loader per upstream the request asks, keyed by the viewer's id or by a selection's key. */
  private readonly loaders = new Map<UpstreamName, DataLoader<string, unknown>>();
  private readonly selections = new Map<string, Promise<Selection>>();
  /** The selections already resolved, by the same key: read without another promise once the cart is in. */
  private readonly resolvedSelections = new Map<string, Selection>();
  /** The selection behind each loader key, so a batch reads its lines instead of decoding keys. */
  private readonly byKey = new Map<string, Selection>();

  private readonly killed: (upstream: UpstreamName) => boolean;
  private readonly notCalled: (upstream: UpstreamName) => void;
  private readonly violated: (upstream: UpstreamName, violation: Violation, request: LoggedRequest | undefined) => void;
  private readonly trace: RequestTrace;
  private readonly decisionId: string | undefined;

  /**
   * @param options.deadline the request's deadline: every upstream call still running when it passes is abandoned.
   * @param options.killed the operator's kill switches: a killed upstream is never called and its floors drop.
   * @param options.notCalled told once per call a kill switch kept from being made, to count it.
   * @param options.violated told once per answer refused by its definition's cross-checks (upstreams/defs), to count and log it,
   *   with the request it was refused for (its decisionId and trace), for the log line to name; undefined without a decisionId.
   * @param options.trace the request's trace: each upstream call is reported to it, timed, with its outcome.
   * @param options.decisionId the request's decisionId (its decision record's); absent: a scope of no user's request (tests, tools).
   */
  constructor(options: {
    userId: string;
    clients: UpstreamClients;
    deadline?: Deadline;
    killed?: (upstream: UpstreamName) => boolean;
    notCalled?: (upstream: UpstreamName) => void;
    violated?: (upstream: UpstreamName, violation: Violation, request: LoggedRequest | undefined) => void;
    trace?: RequestTrace;
    decisionId?: string;
  }) {
    this.clients = options.clients;
    this.userId = options.userId;
    this.deadline = options.deadline;
    this.killed = options.killed ?? (() => false);
    this.notCalled = options.notCalled ?? (() => {});
    this.violated = options.violated ?? (() => {});
    this.trace = options.trace ?? NO_TRACE;
    this.decisionId = options.decisionId;
  }

  /** Data for one panel over `selectedSkuIds` (or the cart's ticked lines). */
  panelData(selectedSkuIds?: readonly string[] | null): PanelData {
    // Each answer is one promise per panel, however many floors ask: a panel of thirty floors
    // would otherwise allocate a promise chain per floor per question. The loaders below still
    // batch and memoise across the request's panels.
    const answers = new Map<UpstreamName, Promise<unknown>>();
    const key = selectionKey(selectedSkuIds);
    let selection: Promise<Selection> | undefined;
    let lines: Promise<readonly CartLine[]> | undefined;
    const selected = () => (selection ??= this.selection(key, selectedSkuIds));
    const get = <N extends UpstreamName>(upstream: N): Promise<UpstreamResult<N>> => {
      let answer = answers.get(upstream);
      if (answer === undefined) {
        const loader = this.loader(upstream);
        if (this.definitionKeyedByViewer(upstream)) {
          answer = loader.load(this.userId);
        } else {
          // The resolver waits for the selection before rendering, so this is the usual case: no hop through it.
          const resolved = this.resolvedSelections.get(key);
          answer = resolved !== undefined ? loader.load(resolved.key) : selected().then((s) => loader.load(s.key));
        }
        answers.set(upstream, answer);
      }
      return answer as Promise<UpstreamResult<N>>;
    };
    return {
      get,
      selectedLines: () => (lines ??= selected().then((s) => s.lines)),
      cart: () => get('cart'),
      promotion: () => get('promotion'),
      quote: () => get('settlement'),
    };
  }

  private definitionKeyedByViewer(upstream: UpstreamName): boolean {
    return UPSTREAM_DEFINITIONS.some((d) => d.name === upstream && d.keyedBy === 'viewer');
  }

  /** The upstream's loader, made when the request first asks it: a panel reads some upstreams, not every one registered. */
  private loader(upstream: UpstreamName): DataLoader<string, unknown> {
    let loader = this.loaders.get(upstream);
    if (loader === undefined) {
      const definition: AnyUpstreamDefinition | undefined = UPSTREAM_DEFINITIONS.find((d) => d.name === upstream);
      if (definition === undefined) throw new Error(`no upstream is registered as ${JSON.stringify(upstream)}`);
      loader = new DataLoader((keys) => this.load(definition, keys), { name: upstream });
      this.loaders.set(upstream, loader);
    }
    return loader;
  }

  private selection(key: string, selectedSkuIds: readonly string[] | null | undefined): Promise<Selection> {
    let pending = this.selections.get(key);
    if (pending === undefined) {
      // The cart comes first: every other upstream is asked about lines resolved against it.
      pending = (this.loader('cart').load(this.userId) as Promise<Cart>).then((cart) => {
        const resolved = selectionOf(resolveSelection(cart, selectedSkuIds), cart.currency);
        this.byKey.set(resolved.key, resolved);
        this.resolvedSelections.set(key, resolved);
        return resolved;
      });
      // A rejected selection (cart down) is remembered for the request, as the cart's failure is;
      // each caller handles the rejection (this only keeps it from counting as unhandled).
      pending.catch(() => undefined);
      this.selections.set(key, pending);
    }
    return pending;
  }

  /** One call to `definition`'s upstream for every key asked in this tick; each key gets its own result or error. */
  private async load(definition: AnyUpstreamDefinition, keys: readonly string[]): Promise<unknown[]> {
    const upstream = definition.name as UpstreamName;
    // Only a recorded trace reads the call's times: an untraced request (most) does not ask the clock.
    const startMs = this.trace.recording ? performance.now() : 0;
    if (this.killed(upstream)) {
      this.notCalled(upstream);
      if (this.trace.recording) this.trace.upstreamCall(upstream, startMs, startMs, 'killed', { keys: keys.length });
      return keys.map(() => this.failed(killedError(upstream)));
    }
    // Keyed by viewer, only the viewer's own id is ever asked for, so this is one call.
    const selections = definition.keyedBy === 'viewer' ? [] : keys.map((key) => this.selectionOf(key));
    // Only a recorded trace wants to know where a cached answer came from, and carries its span to the upstream;
    // a caller's unsampled trace is carried on as it is.
    const span = this.trace.recording ? this.trace.upstreamStarted(upstream, startMs) : undefined;
    const traceHeaders = span === undefined ? this.trace.forwarded : span.headers;
    const notes: CallNotes | undefined = traceHeaders === undefined ? undefined : { traceHeaders };
    let outcome = 'ok';
    try {
      const call = this.clients[upstream] as UpstreamCall<UpstreamName>;
      const answer = await call(definition.toRequest(this.userId, selections) as never, this.deadline, notes);
      const results = definition.toResults(answer, selections);
      // Selections of one answer often share a violation (promotion's coupons): report it once.
      let reported: Set<string> | undefined;
      return keys.map((key, index) => {
        const result: unknown = definition.keyedBy === 'viewer' ? results[0] : results[index];
        if (result instanceof MissingAnswer) {
          // As the client has counted the call already (the definition's answersAll): for the span.
          outcome = 'malformed';
          return this.failed(new UpstreamError(upstream, 'malformed', result.detail));
        }
        const violation = definition.check?.(result, selections[index]);
        if (violation === undefined) return result;
        if (reported?.has(violation.message) !== true) {
          (reported ??= new Set()).add(violation.message);
          // The request is named only now: a refused answer is rare, and a scope per request builds nothing for it.
          this.violated(upstream, violation, this.decisionId === undefined ? undefined : { decisionId: this.decisionId, trace: this.trace });
        }
        outcome = 'inconsistent';
        return this.failed(new UpstreamError(upstream, 'inconsistent', violation.message, { violation: violation.reason }));
      });
    } catch (error) {
      outcome = isUpstreamError(error) ? error.outcome : 'error';
      return keys.map(() => this.failed(error));
    } finally {
      if (span !== undefined) span.end(performance.now(), outcome, { keys: keys.length, cache: notes?.cache });
    }
  }

  private selectionOf(key: string): Selection {
    const selection = this.byKey.get(key);
    if (selection === undefined) throw new Error(`no selection was resolved for loader key ${key}`);
    return selection;
  }

  /** A key's failure, as the error its loader keeps for the rest of the request. */
  private failed(error: unknown): Error {
    return error instanceof Error ? error : new Error(String(error));
  }
}

function killedError(upstream: UpstreamName): UpstreamError {
  return new UpstreamError(upstream, 'killed', 'not called: its kill switch is on');
}
