/**
 * OpenTelemetry traces, built from the `tracing` config (the standard OTEL_* variables, read
 * and checked by src/config/service-config.ts). Off by default: {@link createTracing} then
 * returns a tracing whose every request gets the shared {@link NO_TRACE}, and no SDK object
 * exists.
 *
 * On, each sampled GraphQL request is one trace:
 *
 *   POST /graphql                (SERVER; continues a caller's W3C `traceparent`; names the decisionId,
 *                                 and the decision record names the trace)
 *     ├─ upstream cart           (CLIENT; one per upstream call, with its outcome and cache outcome)
 *     ├─ upstream promotion
 *     ├─ render cart-bottom-sheet
 *     └─ events: feature_flag.evaluation, one per flag the request evaluated
 *
 * The SDK itself is in ./otel-tracing.ts, imported only when tracing is on: OpenTelemetry is
 * ~250 modules, whose source and code every mark-compact of a replica that never traces would
 * otherwise walk (BENCHMARKS.md, session 23).
 *
 * Spans are passed explicitly, never through a context manager (no AsyncLocalStorage: it
 * costs every request, sampled or not). The request's {@link RequestTrace} travels in its
 * context to the loaders, the flags and the resolvers, which report what they timed; an
 * unsampled request's is the shared no-op, so at a 10 % ratio nine requests in ten pay one
 * sampler decision and nothing else. Spans leave in batches over OTLP/HTTP, with JSON bodies or,
 * if `protocol` asks, protobuf (0.43× the bytes; its writer encodes every string in JavaScript,
 * which costs more CPU in a loaded Floorplan than JSON.stringify: BENCHMARKS.md);
 * {@link Tracing.shutdown} sends what is left.
 */
import { NO_TRACE, type Tracing, type TracingConfig, type TracingOptions } from './request-trace.ts';

export * from './request-trace.ts';

const TRACING_OFF: Tracing = Object.freeze({
  enabled: false,
  startRequest: () => NO_TRACE,
  shutdown: async () => {},
});

/** The tracing `config` asks for: {@link TRACING_OFF}'s no-ops unless `config.enabled`, without loading OpenTelemetry at all then. */
export async function createTracing(config: TracingConfig, options: TracingOptions = {}): Promise<Tracing> {
  if (!config.enabled) return TRACING_OFF;
  const { createOtelTracing } = await import('./otel-tracing.ts');
  return createOtelTracing(config, options);
}
