/** What the renderer hands the GraphQL layer: a panel of formatted floors, in order. */
import type { Money } from '../money/money.ts';
import type { UpstreamName } from '../upstreams/contracts.ts';
import type { FloorKind } from './builder.ts';

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
  /** True when at least one floor could not be built and was left out. */
  readonly degraded: boolean;
  /** Upstreams whose failure left floors out, in a stable order. */
  readonly failedUpstreams: readonly UpstreamName[];
  readonly locale: string;
  readonly floors: readonly RenderedFloor[];
}
