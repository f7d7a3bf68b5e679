/**
 * Fault injection for the demo upstreams, parsed from a spec such as
 * `promotion:hang,settlement:latency:30,cart:error:503` (the `DEMO_FAULTS` env var).
 */
import { UPSTREAMS, type UpstreamName } from '../upstreams/registry.ts';

/** How one upstream misbehaves. */
export type FaultMode =
  /** Respond normally, after `ms` milliseconds. */
  | { readonly kind: 'latency'; readonly ms: number }
  /** Respond with `status` and a JSON `{error}` body. */
  | { readonly kind: 'error'; readonly status: number }
  /** Never respond; the socket stays open until the client gives up or the server closes. */
  | { readonly kind: 'hang' }
  /** 200 with a body that is not the contract (truncated JSON). */
  | { readonly kind: 'malformed' }
  /** Destroy the socket without a response. */
  | { readonly kind: 'reset' };

/** The active fault per upstream; an upstream without an entry behaves normally. */
export type Faults = Readonly<Partial<Record<UpstreamName, FaultMode>>>;

const ACCEPTED =
  `must be <upstream>:<mode> with mode latency:<ms>|error:<status>|hang|malformed|reset, upstream ${UPSTREAMS.join('|')}`;

const NON_NEGATIVE_INT = /^\d+$/;

function isUpstream(name: string): name is UpstreamName {
  return (UPSTREAMS as readonly string[]).includes(name);
}

function parseMode(parts: readonly string[]): FaultMode | undefined {
  const [mode, arg, ...extra] = parts;
  if (extra.length > 0) return undefined;
  switch (mode) {
    case 'hang':
    case 'malformed':
    case 'reset':
      return arg === undefined ? { kind: mode } : undefined;
    case 'latency': {
      if (arg === undefined || !NON_NEGATIVE_INT.test(arg)) return undefined;
      const ms = Number(arg);
      return Number.isSafeInteger(ms) ? { kind: 'latency', ms } : undefined;
    }
    case 'error': {
      if (arg === undefined || !NON_NEGATIVE_INT.test(arg)) return undefined;
      const status = Number(arg);
      // An "error" that is not an HTTP error status would not exercise any failure path.
      return status >= 400 && status <= 599 ? { kind: 'error', status } : undefined;
    }
    default:
      return undefined;
  }
}

/**
 * Parses a fault spec. Empty (or whitespace-only) means no faults.
 * @throws Error naming the bad entry and the accepted forms.
 */
export function parseFaults(spec: string | undefined): Faults {
  const faults: Partial<Record<UpstreamName, FaultMode>> = {};
  if (spec === undefined || spec.trim() === '') return faults;
  for (const rawEntry of spec.split(',')) {
    const entry = rawEntry.trim();
    const [upstream = '', ...modeParts] = entry.split(':');
    const mode = isUpstream(upstream) ? parseMode(modeParts) : undefined;
    if (!isUpstream(upstream) || mode === undefined) {
      throw new Error(`DEMO_FAULTS entry "${entry}" ${ACCEPTED}`);
    }
    if (faults[upstream] !== undefined) {
      throw new Error(`DEMO_FAULTS entry "${entry}": upstream ${upstream} already has a fault; one mode per upstream`);
    }
    faults[upstream] = mode;
  }
  return faults;
}

/** Renders faults back to the spec form, or `none`; used in log lines. */
export function formatFaults(faults: Faults): string {
  const entries = UPSTREAMS.flatMap((upstream) => {
    const mode = faults[upstream];
    if (mode === undefined) return [];
    switch (mode.kind) {
      case 'latency':
        return [`${upstream}:latency:${mode.ms}`];
      case 'error':
        return [`${upstream}:error:${mode.status}`];
      default:
        return [`${upstream}:${mode.kind}`];
    }
  });
  return entries.length === 0 ? 'none' : entries.join(',');
}
