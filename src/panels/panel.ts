/** What the renderer hands the GraphQL layer: a panel of formatted floors, in order. */
import type { FloorKind } from '../floors/builder.ts';
import type { Money } from '../money/money.ts';
import type { UpstreamName } from '../upstreams/registry.ts';
import type { AnswerViolation } from '../upstreams/upstream-error.ts';

/**
 * Why a panel is degraded (the schema's DegradedReason): an upstream failed, or its answer was
 * refused ({@link AnswerViolation}); amounts that could not be shown on their own rows are
 * carried by an "other" row (`PARTIAL_BREAKDOWN`); a builder failed (`BUILDER_FAILED`).
 */
export type DegradedReason = 'UPSTREAM_FAILED' | AnswerViolation | 'PARTIAL_BREAKDOWN' | 'BUILDER_FAILED';

/** The order reasons are listed in: the schema's. */
export const DEGRADED_REASONS: readonly DegradedReason[] = ['UPSTREAM_FAILED', 'QUOTE_INCONSISTENT', 'CURRENCY_MISMATCH', 'PARTIAL_BREAKDOWN', 'BUILDER_FAILED'];

export interface RenderedFloor {
  readonly code: string;
  readonly name: string;
  /** Formatted for the panel's locale; null for text-only floors. */
  readonly priceText: string | null;
  /** Signed: deductions are negative. Null for text-only floors. */
  readonly amount: Money | null;
  readonly subName: string | null;
  readonly style: readonly string[];
  readonly sort: number;
  readonly kind: FloorKind;
}

export interface RenderedPanel {
  readonly scene: string;
  readonly layoutVersion: string;
  /** True when some floor, or part of one, could not be shown as configured. */
  readonly degraded: boolean;
  /** Upstreams whose failure left floors or decorations out, in a stable order. */
  readonly failedUpstreams: readonly UpstreamName[];
  /** Why the panel is degraded, each once, in {@link DEGRADED_REASONS} order; empty when it is not. */
  readonly degradedReasons: readonly DegradedReason[];
  readonly locale: string;
  readonly floors: readonly RenderedFloor[];
}
