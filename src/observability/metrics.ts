/**
 * Prometheus metrics on a registry of our own (not prom-client's global), so two servers in
 * one process — as in tests — never share or double-register counters.
 */
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { FloorOutcome } from '../floors/renderer.ts';
import type { RenderedPanel } from '../floors/panel.ts';
import type { UpstreamName } from '../upstreams/contracts.ts';
import type { UpstreamOutcome } from '../upstreams/upstream-error.ts';

export interface FloorplanMetrics {
  readonly registry: Registry;
  /** Counts one upstream call and its duration. */
  upstreamCall(upstream: UpstreamName, outcome: UpstreamOutcome, durationSeconds: number): void;
  /** Records one HTTP request's duration. */
  httpRequest(route: string, method: string, status: number, durationSeconds: number): void;
  /** Counts a rendered panel and the floors it left out. */
  panelRendered(panel: RenderedPanel, outcomes: readonly FloorOutcome[]): void;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): FloorplanMetrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'floorplan_' });

  const upstreamRequests = new Counter({
    name: 'floorplan_upstream_requests_total',
    help: 'Calls to upstream services, by upstream (cart|promotion|settlement) and outcome (ok|timeout|http_error|malformed|network_error).',
    labelNames: ['upstream', 'outcome'] as const,
    registers: [registry],
  });
  const upstreamDuration = new Histogram({
    name: 'floorplan_upstream_request_duration_seconds',
    help: 'Duration of upstream calls, connect to last byte, by upstream.',
    labelNames: ['upstream'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: 'floorplan_http_request_duration_seconds',
    help: 'Duration of HTTP requests served, by route, method and status.',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const panels = new Counter({
    name: 'floorplan_panels_total',
    help: 'Panels rendered, by scene and whether they were degraded.',
    labelNames: ['scene', 'degraded'] as const,
    registers: [registry],
  });
  const droppedFloors = new Counter({
    name: 'floorplan_floors_dropped_total',
    help: 'Floors left out of a panel because building them failed, by scene, floor and reason (upstream name or builder).',
    labelNames: ['scene', 'floor', 'reason'] as const,
    registers: [registry],
  });

  return {
    registry,
    upstreamCall(upstream, outcome, durationSeconds) {
      upstreamRequests.inc({ upstream, outcome });
      upstreamDuration.observe({ upstream }, durationSeconds);
    },
    httpRequest(route, method, status, durationSeconds) {
      httpDuration.observe({ route, method, status: String(status) }, durationSeconds);
    },
    panelRendered(panel, outcomes) {
      panels.inc({ scene: panel.scene, degraded: String(panel.degraded) });
      if (!panel.degraded) return;
      for (const outcome of outcomes) {
        if (outcome.status === 'upstream-failed') droppedFloors.inc({ scene: panel.scene, floor: outcome.code, reason: outcome.upstream });
        else if (outcome.status === 'builder-failed') droppedFloors.inc({ scene: panel.scene, floor: outcome.code, reason: 'builder' });
      }
    },
  };
}
