/**
 * A real OTLP/HTTP trace receiver on loopback for tests: it accepts POST /v1/traces with
 * protobuf bodies (`application/x-protobuf`, what @opentelemetry/exporter-trace-otlp-proto
 * sends) or JSON ones (`application/json`, exporter-trace-otlp-http), answers 200 as a
 * collector does, and decodes every span it received with its resource and events. Protobuf is
 * decoded by protobufjs against the OTLP messages below, copied from opentelemetry-proto
 * (common/v1, resource/v1, trace/v1, collector/trace/v1; only what spans carry), so a wrong
 * field number on either side shows up as a span the tests cannot read.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import protobuf from 'protobufjs';

const OTLP_TRACE_PROTO = `
syntax = "proto3";
package opentelemetry.proto;
message AnyValue {
  oneof value {
    string string_value = 1;
    bool bool_value = 2;
    int64 int_value = 3;
    double double_value = 4;
    ArrayValue array_value = 5;
    KeyValueList kvlist_value = 6;
    bytes bytes_value = 7;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3; uint32 dropped_attributes_count = 4; }
message Resource { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; string schema_url = 3; }
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; string schema_url = 3; }
message Span {
  bytes trace_id = 1;
  bytes span_id = 2;
  string trace_state = 3;
  bytes parent_span_id = 4;
  fixed32 flags = 16;
  string name = 5;
  int32 kind = 6;
  fixed64 start_time_unix_nano = 7;
  fixed64 end_time_unix_nano = 8;
  repeated KeyValue attributes = 9;
  uint32 dropped_attributes_count = 10;
  message Event { fixed64 time_unix_nano = 1; string name = 2; repeated KeyValue attributes = 3; uint32 dropped_attributes_count = 4; }
  repeated Event events = 11;
  uint32 dropped_events_count = 12;
  uint32 dropped_links_count = 14;
  Status status = 15;
}
message Status { string message = 2; int32 code = 3; }
`;

const ExportTraceServiceRequest = protobuf.parse(OTLP_TRACE_PROTO).root.lookupType('opentelemetry.proto.ExportTraceServiceRequest');

/**
 * A protobuf export as the OTLP/JSON mapping spells it (ids in hex, 64-bit numbers as decimal
 * strings, oneof values by their field's JSON name), so both encodings decode alike below.
 */
function protobufAsJson(body: Buffer): unknown {
  const decoded = ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(body), { longs: String, bytes: String }) as {
    resourceSpans?: Array<{ scopeSpans?: Array<{ spans?: Array<Record<string, unknown>> }> }>;
  };
  const hex = (base64: unknown) => (typeof base64 === 'string' ? Buffer.from(base64, 'base64').toString('hex') : undefined);
  for (const span of decoded.resourceSpans?.flatMap((r) => r.scopeSpans ?? []).flatMap((s) => s.spans ?? []) ?? []) {
    for (const id of ['traceId', 'spanId', 'parentSpanId']) span[id] = hex(span[id]);
  }
  return decoded;
}

/** An attribute value as OTLP/JSON encodes it, decoded. */
export type AttributeValue = string | number | boolean | AttributeValue[] | undefined;

export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  /** Empty for a root span. */
  readonly parentSpanId: string;
  readonly name: string;
  /** OTLP's SpanKind: 1 internal, 2 server, 3 client. */
  readonly kind: number;
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly attributes: Record<string, AttributeValue>;
  /** OTLP's status code: 0 unset, 1 ok, 2 error. */
  readonly statusCode: number;
  readonly events: ReadonlyArray<{ name: string; attributes: Record<string, AttributeValue> }>;
  readonly resource: Record<string, AttributeValue>;
  readonly scope: string;
}

export interface OtlpReceiver {
  /** e.g. http://127.0.0.1:4318/v1/traces */
  readonly tracesUrl: string;
  spans(): readonly ReceivedSpan[];
  /** The content types of the export requests received, in order. */
  readonly contentTypes: string[];
  close(): Promise<void>;
}

interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}
interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: OtlpValue[] };
}

function decodeValue(value: OtlpValue): AttributeValue {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.arrayValue !== undefined) return (value.arrayValue.values ?? []).map(decodeValue);
  return undefined;
}

function decodeAttributes(attributes: OtlpAttribute[] | undefined): Record<string, AttributeValue> {
  return Object.fromEntries((attributes ?? []).map((a) => [a.key, decodeValue(a.value)]));
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const received: ReceivedSpan[] = [];
  const contentTypes: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      contentTypes.push(req.headers['content-type'] ?? '');
      const raw = Buffer.concat(chunks);
      const body = (req.headers['content-type'] === 'application/x-protobuf' ? protobufAsJson(raw) : JSON.parse(raw.toString('utf8'))) as {
        resourceSpans?: Array<{
          resource?: { attributes?: OtlpAttribute[] };
          scopeSpans?: Array<{
            scope?: { name?: string };
            spans?: Array<{
              traceId: string;
              spanId: string;
              parentSpanId?: string;
              name: string;
              kind: number;
              startTimeUnixNano: string | number;
              endTimeUnixNano: string | number;
              attributes?: OtlpAttribute[];
              status?: { code?: number };
              events?: Array<{ name: string; attributes?: OtlpAttribute[] }>;
            }>;
          }>;
        }>;
      };
      for (const resourceSpans of body.resourceSpans ?? []) {
        const resource = decodeAttributes(resourceSpans.resource?.attributes);
        for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
          for (const span of scopeSpans.spans ?? []) {
            received.push({
              traceId: span.traceId,
              spanId: span.spanId,
              parentSpanId: span.parentSpanId ?? '',
              name: span.name,
              kind: span.kind,
              startNs: BigInt(span.startTimeUnixNano),
              endNs: BigInt(span.endTimeUnixNano),
              attributes: decodeAttributes(span.attributes),
              statusCode: span.status?.code ?? 0,
              events: (span.events ?? []).map((e) => ({ name: e.name, attributes: decodeAttributes(e.attributes) })),
              resource,
              scope: scopeSpans.scope?.name ?? '',
            });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    tracesUrl: `http://127.0.0.1:${port}/v1/traces`,
    spans: () => received,
    contentTypes,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}
