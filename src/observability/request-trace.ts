/**
 * What the layers below see of tracing (./tracing.ts): a request's {@link RequestTrace}, the shared
 * no-op {@link NO_TRACE}, Floorplan's span attributes and the config's shape. Kept apart from
 * OpenTelemetry, which ./otel-tracing.ts imports only when tracing is on.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import type { Logger } from './logger.ts';

/** The samplers of the OpenTelemetry specification Floorplan offers (OTEL_TRACES_SAMPLER). */
export type TracingSampler = 'always_on' | 'always_off' | 'traceidratio' | 'parentbased_always_on' | 'parentbased_always_off' | 'parentbased_traceidratio';

/** The service config's `tracing` block (checked there; see config/default.yaml for what each default means). */
export interface TracingConfig {
  readonly enabled: boolean;
  /** The OTLP/HTTP traces URL (…/v1/traces). */
  readonly endpoint: string;
  /** The export bodies' encoding. */
  readonly protocol: 'http/protobuf' | 'http/json';
  readonly serviceName: string;
  readonly resourceAttributes: Readonly<Record<string, string>>;
  readonly sampler: TracingSampler;
  /** The share of new traces the traceidratio samplers keep, 0 to 1. */
  readonly samplerRatio: number;
  readonly scheduleDelayMs: number;
  readonly maxQueueSize: number;
  readonly maxExportBatchSize: number;
}

/** Floorplan's own span attributes (no semantic convention covers them). */
export const TRACE_ATTRIBUTES = Object.freeze({
  /** Which executor answered: `known-operation` (the fast path) or `apollo`. */
  graphqlExecutor: 'floorplan.graphql.executor',
  upstream: 'floorplan.upstream.name',
  /** How the call ended: `ok`, or the UpstreamError outcome (`timeout`, `circuit_open`, `killed`, …). */
  upstreamOutcome: 'floorplan.upstream.outcome',
  /** Keys answered by the one batched call (several selections → several settlement quotes). */
  upstreamKeys: 'floorplan.upstream.keys',
  /** For a cached upstream (promotion): `hit`, `stale`, `miss` or `joined` (another request's call in flight). */
  cacheOutcome: 'floorplan.cache.outcome',
  scene: 'floorplan.panel.scene',
  floors: 'floorplan.panel.floors',
  degraded: 'floorplan.panel.degraded',
  degradedReasons: 'floorplan.panel.degraded_reasons',
  /** On the server span: the decisionId the request's answer and decision record carry (README, "Decision record"). */
  decisionId: 'floorplan.decision_id',
});

/** What a loader knows about one upstream call besides its times and outcome. */
export interface UpstreamCallDetail {
  /** Keys the one call answered. */
  readonly keys?: number;
  /** The cross-request cache's outcome, for a cached upstream. */
  readonly cache?: string;
}

/** An upstream call's span, started before the call so the call can carry it. */
export interface UpstreamSpan {
  /** Headers that carry the span to the upstream (W3C `traceparent`, `tracestate`); empty when not recorded. */
  readonly headers: Readonly<Record<string, string>>;
  /** Ends the span at `endMs` with the call's outcome (`ok`, or the failure's). */
  end(endMs: number, outcome: string, detail?: UpstreamCallDetail): void;
}

/** The span of a call no trace records. */
const NO_UPSTREAM_SPAN: UpstreamSpan = Object.freeze({ headers: Object.freeze({}), end() {} });

/** One flag decision, as the OpenTelemetry feature-flag conventions describe it. */
export interface FlagEvaluation {
  readonly key: string;
  /** The variant's name, when the request asked for a variant. */
  readonly variant?: string;
  /** The on/off answer, when the request asked whether the flag is on. */
  readonly value?: boolean;
  /** `targeting_match`, `disabled`, `stale`, `error`… (feature_flag.result.reason). */
  readonly reason: string;
  /** e.g. `Unleash`. */
  readonly provider: string;
}

/**
 * What the layers of one request report to its trace. Times are `performance.now()`
 * milliseconds. Every method is cheap to call on an unsampled request ({@link NO_TRACE}); check
 * {@link recording} before doing work only a trace needs.
 */
export interface RequestTrace {
  /** False for an unsampled request (or tracing off): everything reported is dropped. */
  readonly recording: boolean;
  /** The trace's id (32 lowercase hex digits, as collectors show it), for the decision record to name; undefined when not recording. */
  readonly traceId: string | undefined;
  /**
   * Not recording, but part of a caller's trace that it did not sample: the W3C headers
   * (`traceparent` with the sampled flag off, `tracestate`) every upstream call carries on, so the
   * upstreams stay in the caller's trace and do not sample a trace of their own. Undefined otherwise.
   */
  readonly forwarded: Readonly<Record<string, string>> | undefined;
  /** The request's decisionId, put on its server span so the trace can be found from a decision record. */
  decided(decisionId: string): void;
  /** One upstream call, from the loader's call to its answer (retries and cache included). */
  upstreamCall(upstream: string, startMs: number, endMs: number, outcome: string, detail?: UpstreamCallDetail): void;
  /** The same, started at `startMs` before the call is made, so the call can carry it to the upstream. */
  upstreamStarted(upstream: string, startMs: number): UpstreamSpan;
  /** A flag evaluated for the first time in this request. */
  flagEvaluated(evaluation: FlagEvaluation): void;
  /** One panel rendered. */
  rendered(scene: string, startMs: number, endMs: number, floors: number, degradedReasons: readonly string[]): void;
  /** The GraphQL operation's name, as the resolvers see it (graphql.operation.name). */
  operationName(name: string): void;
}

/** The HTTP entry's handle on a request's trace: it names the operation and ends the server span. */
export interface ServerTrace extends RequestTrace {
  /** Which executor ran the operation. */
  executedBy(executor: 'known-operation' | 'apollo'): void;
  /** Ends the server span with the answer's HTTP status (5xx marks it failed). */
  end(status: number): void;
}

/** Tracing for a running Floorplan; see the module comment. */
export interface Tracing {
  readonly enabled: boolean;
  /** The trace of one incoming HTTP request: a new server span, or {@link NO_TRACE} when not sampled. */
  startRequest(method: string, path: string, route: string, headers: IncomingHttpHeaders): ServerTrace;
  /** Sends the spans still waiting and stops; later requests are not traced. */
  shutdown(): Promise<void>;
}

/** The shared trace of every request that is not recorded. */
export const NO_TRACE: ServerTrace = Object.freeze({
  recording: false,
  traceId: undefined,
  forwarded: undefined,
  decided() {},
  upstreamCall() {},
  upstreamStarted: () => NO_UPSTREAM_SPAN,
  flagEvaluated() {},
  rendered() {},
  operationName() {},
  executedBy() {},
  end() {},
});

/** A request that records nothing but carries a caller's unsampled trace on to the upstreams ({@link RequestTrace.forwarded}). */
export function forwardedTrace(headers: Readonly<Record<string, string>>): ServerTrace {
  return { ...NO_TRACE, forwarded: headers };
}

/** How long a stop waits for the last spans to be sent (part of a pod's termination grace). */
export const TRACES_FINAL_FLUSH_MS = 2000;

export interface TracingOptions {
  /** Replaces the OTLP/HTTP exporter (tests). */
  readonly exporter?: SpanExporter;
  /** Where failed exports and a slow final flush are reported. */
  readonly logger?: Logger;
}

