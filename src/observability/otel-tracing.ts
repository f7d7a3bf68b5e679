/**
 * The OpenTelemetry side of ./tracing.ts: the SDK's tracer provider, sampler and OTLP exporter,
 * and the spans of a sampled request. Imported by ./tracing.ts's `createTracing` only when tracing is on.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { isSpanContextValid, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type TextMapGetter, type Tracer, defaultTextMapSetter } from '@opentelemetry/api';
import { ExportResultCode, W3CTraceContextPropagator, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  SamplingDecision,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type ReadableSpan,
  type Sampler,
  type SamplingResult,
  type SpanExporter,
} from '@opentelemetry/sdk-trace';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_SERVICE_NAME,
  ATTR_URL_PATH,
} from '@opentelemetry/semantic-conventions';
import {
  ATTR_FEATURE_FLAG_KEY,
  ATTR_FEATURE_FLAG_PROVIDER_NAME,
  ATTR_FEATURE_FLAG_RESULT_REASON,
  ATTR_FEATURE_FLAG_RESULT_VALUE,
  ATTR_FEATURE_FLAG_RESULT_VARIANT,
  ATTR_GRAPHQL_OPERATION_NAME,
  EVENT_FEATURE_FLAG_EVALUATION,
} from '@opentelemetry/semantic-conventions/incubating';
import { forwardedTrace, NO_TRACE, TRACE_ATTRIBUTES, TRACES_FINAL_FLUSH_MS, type FlagEvaluation, type ServerTrace, type Tracing, type TracingConfig, type TracingOptions, type UpstreamCallDetail, type UpstreamSpan } from './request-trace.ts';
import { describeThrown, withoutPasswords } from '../errors.ts';
import type { Logger } from './logger.ts';

/** Tracing on, as `config` asks (./tracing.ts's `createTracing`). */
export function createOtelTracing(config: TracingConfig, options: TracingOptions): Tracing {
  // Headers, timeout, compression and certificates: the exporter reads OTEL_EXPORTER_OTLP_* itself.
  const wire = options.exporter ?? (config.protocol === 'http/json' ? new JsonTraceExporter({ url: config.endpoint }) : new ProtobufTraceExporter({ url: config.endpoint }));
  // The endpoint as log lines name it: a collector's URL may hold a password (withoutPasswords).
  const endpoint = withoutPasswords(config.endpoint);
  const exporter = options.logger === undefined ? wire : new ReportingExporter(wire, options.logger, endpoint);
  const provider = new TracerProvider({
    resource: defaultResource().merge(resourceFromAttributes({ ...config.resourceAttributes, [ATTR_SERVICE_NAME]: config.serviceName })),
    sampler: samplerOf(config),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter,
        scheduledDelayMillis: config.scheduleDelayMs,
        maxQueueSize: config.maxQueueSize,
        maxExportBatchSize: Math.min(config.maxExportBatchSize, config.maxQueueSize),
      }),
    ],
  });
  const tracer = provider.getTracer('floorplan');
  const propagator = new W3CTraceContextPropagator();
  const rootRatio = decidesRoots(config) ? config.samplerRatio : undefined;
  let stopped: Promise<void> | undefined;
  return {
    enabled: true,
    startRequest(method, path, route, headers) {
      if (stopped !== undefined) return NO_TRACE;
      // A gateway's traceparent makes this request part of its trace, and its sampled flag decides.
      const parent = headers.traceparent === undefined ? ROOT_CONTEXT : propagator.extract(ROOT_CONTEXT, headers, HEADER_GETTER);
      // A new trace (no traceparent, or one that does not parse) under a ratio sampler: decided here.
      if (rootRatio !== undefined && !hasParent(parent) && !(Math.random() < rootRatio)) return NO_TRACE;
      const span = tracer.startSpan(
        `${method} ${route}`,
        { kind: SpanKind.SERVER, attributes: { [ATTR_HTTP_REQUEST_METHOD]: method, [ATTR_URL_PATH]: path, [ATTR_HTTP_ROUTE]: route } },
        parent,
      );
      if (span.isRecording()) return new RecordedRequest(tracer, span, propagator);
      // A caller's trace not sampled (W3C): carried on to the upstreams with the sampled flag off,
      // under this span's id, so an upstream that traces neither drops out of it nor samples it anew.
      if (!hasParent(parent)) return NO_TRACE;
      const carried: Record<string, string> = {};
      propagator.inject(trace.setSpan(ROOT_CONTEXT, span), carried, defaultTextMapSetter);
      return forwardedTrace(carried);
    },
    // The last spans are sent on stop, but a collector that does not answer must not hold the stop up.
    shutdown: () =>
      (stopped ??= Promise.race([provider.shutdown(), new Promise<'slow'>((done) => setTimeout(done, TRACES_FINAL_FLUSH_MS, 'slow').unref())]).then((result) => {
        if (result === 'slow') options.logger?.warn({ endpoint, waitedMs: TRACES_FINAL_FLUSH_MS }, 'the last traces were not sent: the collector did not answer in time');
      })),
  };
}

/** A collector that refuses every export would otherwise log a line every scheduleDelayMs. */
const EXPORT_FAILURE_LOG_INTERVAL_MS = 30_000;

/**
 * The exporter, with its failures logged: the SDK reports them only to OpenTelemetry's own
 * diagnostics, which nobody reads, so a collector refusing or dropping every span went unseen
 * until the process stopped.
 */
class ReportingExporter implements SpanExporter {
  #loggedAt = Number.NEGATIVE_INFINITY;
  #failed = 0;
  constructor(
    private readonly inner: SpanExporter,
    private readonly logger: Logger,
    private readonly endpoint: string,
  ) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      if (result.code !== ExportResultCode.SUCCESS) this.#report(spans.length, result.error);
      resultCallback(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }

  #report(spans: number, error: Error | undefined): void {
    this.#failed += spans;
    const now = performance.now();
    if (now - this.#loggedAt < EXPORT_FAILURE_LOG_INTERVAL_MS) return;
    this.#loggedAt = now;
    const dropped = this.#failed;
    this.#failed = 0;
    this.logger.warn({ endpoint: this.endpoint, droppedSpans: dropped, err: error === undefined ? undefined : withoutPasswords(describeThrown(error)) }, 'traces could not be exported');
  }
}

/**
 * Whether a new trace's sampling is decided in {@link createOtelTracing}'s `startRequest`, before
 * the SDK: for the ratio samplers, a request with no caller's `traceparent` is kept with
 * probability `samplerRatio` by one `Math.random()`. The SDK would spend two random ids, its
 * attribute checks and a non-recording span on each of the nine requests in ten it then drops
 * (about 4 % of a panel's CPU at ratio 0, BENCHMARKS.md). The trace id is random either way, so
 * the share kept is the same; the SDK's sampler ({@link samplerOf}) then keeps every root that
 * reaches it and applies the configured rule to requests with a parent.
 */
function decidesRoots(config: TracingConfig): boolean {
  return config.sampler === 'traceidratio' || config.sampler === 'parentbased_traceidratio';
}

/** Whether `context` carries a caller's valid span context, as the SDK's tracer and samplers judge it. */
function hasParent(context: Context): boolean {
  const parent = trace.getSpanContext(context);
  return parent !== undefined && isSpanContextValid(parent);
}

/** The SDK's sampler for a root decided already: yes; for a span with a parent: `withParent`. */
class RootsDecidedBefore implements Sampler {
  constructor(private readonly withParent: Sampler) {}

  shouldSample(...args: Parameters<Sampler['shouldSample']>): SamplingResult {
    return hasParent(args[0]) ? this.withParent.shouldSample(...args) : { decision: SamplingDecision.RECORD_AND_SAMPLED };
  }

  toString(): string {
    return `RootsDecidedBefore{${this.withParent.toString()}}`;
  }
}

function samplerOf(config: TracingConfig): Sampler {
  const ratio = new TraceIdRatioBasedSampler(config.samplerRatio);
  if (decidesRoots(config)) return new RootsDecidedBefore(config.sampler === 'traceidratio' ? ratio : new ParentBasedSampler({ root: new AlwaysOnSampler() }));
  switch (config.sampler) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return ratio;
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: ratio });
    default:
      throw new UnreachableSampler(config.sampler);
  }
}

class UnreachableSampler extends Error {
  constructor(sampler: never) {
    super(`unknown sampler ${String(sampler)}`);
  }
}

const HEADER_GETTER: TextMapGetter<IncomingHttpHeaders> = {
  keys: (headers) => Object.keys(headers),
  get: (headers, key) => headers[key],
};

/** A sampled request: its server span, and the children its layers report. */
class RecordedRequest implements ServerTrace {
  readonly recording = true;
  readonly forwarded = undefined;
  readonly #tracer: Tracer;
  readonly #propagator: W3CTraceContextPropagator;
  readonly #span: Span;
  readonly #context: Context;

  constructor(tracer: Tracer, span: Span, propagator: W3CTraceContextPropagator) {
    this.#tracer = tracer;
    this.#propagator = propagator;
    this.#span = span;
    this.#context = trace.setSpan(ROOT_CONTEXT, span);
  }

  get traceId(): string {
    return this.#span.spanContext().traceId;
  }

  decided(decisionId: string): void {
    this.#span.setAttribute(TRACE_ATTRIBUTES.decisionId, decisionId);
  }

  upstreamCall(upstream: string, startMs: number, endMs: number, outcome: string, detail?: UpstreamCallDetail): void {
    this.upstreamStarted(upstream, startMs).end(endMs, outcome, detail);
  }

  upstreamStarted(upstream: string, startMs: number): UpstreamSpan {
    const span = this.#tracer.startSpan(`upstream ${upstream}`, { kind: SpanKind.CLIENT, startTime: startMs, attributes: { [TRACE_ATTRIBUTES.upstream]: upstream } }, this.#context);
    const headers: Record<string, string> = {};
    // The call carries its own span as the upstream's parent, so the upstream's spans join this trace.
    this.#propagator.inject(trace.setSpan(this.#context, span), headers, defaultTextMapSetter);
    return {
      headers,
      end(endMs, outcome, detail) {
        const attributes: Attributes = { [TRACE_ATTRIBUTES.upstreamOutcome]: outcome };
        if (detail?.keys !== undefined) attributes[TRACE_ATTRIBUTES.upstreamKeys] = detail.keys;
        if (detail?.cache !== undefined) attributes[TRACE_ATTRIBUTES.cacheOutcome] = detail.cache;
        if (outcome !== 'ok') attributes[ATTR_ERROR_TYPE] = outcome;
        span.setAttributes(attributes);
        if (outcome !== 'ok') span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
        span.end(endMs);
      },
    };
  }

  flagEvaluated(evaluation: FlagEvaluation): void {
    const attributes: Attributes = {
      [ATTR_FEATURE_FLAG_KEY]: evaluation.key,
      [ATTR_FEATURE_FLAG_PROVIDER_NAME]: evaluation.provider,
      [ATTR_FEATURE_FLAG_RESULT_REASON]: evaluation.reason,
    };
    if (evaluation.variant !== undefined) attributes[ATTR_FEATURE_FLAG_RESULT_VARIANT] = evaluation.variant;
    if (evaluation.value !== undefined) attributes[ATTR_FEATURE_FLAG_RESULT_VALUE] = evaluation.value;
    this.#span.addEvent(EVENT_FEATURE_FLAG_EVALUATION, attributes);
  }

  rendered(scene: string, startMs: number, endMs: number, floors: number, degradedReasons: readonly string[]): void {
    const attributes: Attributes = {
      [TRACE_ATTRIBUTES.scene]: scene,
      [TRACE_ATTRIBUTES.floors]: floors,
      [TRACE_ATTRIBUTES.degraded]: degradedReasons.length > 0,
    };
    if (degradedReasons.length > 0) attributes[TRACE_ATTRIBUTES.degradedReasons] = [...degradedReasons];
    this.#tracer.startSpan(`render ${scene}`, { kind: SpanKind.INTERNAL, startTime: startMs, attributes }, this.#context).end(endMs);
  }

  operationName(name: string): void {
    this.#span.setAttribute(ATTR_GRAPHQL_OPERATION_NAME, name);
  }

  executedBy(executor: 'known-operation' | 'apollo'): void {
    this.#span.setAttribute(TRACE_ATTRIBUTES.graphqlExecutor, executor);
  }

  end(status: number): void {
    this.#span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
    // HTTP semantic conventions: a server span fails on 5xx only; a 4xx is the client's.
    if (status >= 500) {
      this.#span.setAttribute(ATTR_ERROR_TYPE, String(status));
      this.#span.setStatus({ code: SpanStatusCode.ERROR });
    }
    this.#span.end();
  }
}
