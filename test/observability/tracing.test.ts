/**
 * OpenTelemetry traces, end to end: a real Floorplan (harness) exports over OTLP/HTTP to a real
 * receiver on loopback, and what arrives is decoded and checked — the span tree, the HTTP,
 * GraphQL, upstream and render attributes, the feature-flag events, W3C trace continuation,
 * and ratio sampling.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadServiceConfig } from '../../src/config/service-config.ts';
import { startDemoUpstreams, type DemoUpstreams } from '../../src/demo-upstreams/server.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { UPSTREAMS } from '../../src/upstreams/registry.ts';
import { PANEL_QUERY, startHarness, type Harness, type PanelResult } from '../support/harness.ts';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.ts';
import { until } from '../support/until.ts';
import { loggerInto } from '../support/log-lines.ts';

const SERVER = 2;
const CLIENT = 3;
const INTERNAL = 1;
const ERROR = 2;

/** Every span of the trace whose server span answered `decisionId`'s request… found by trace id. */
function traceOf(receiver: OtlpReceiver, traceId: string): ReceivedSpan[] {
  return receiver.spans().filter((s) => s.traceId === traceId);
}

function serverSpans(receiver: OtlpReceiver): ReceivedSpan[] {
  return receiver.spans().filter((s) => s.kind === SERVER);
}

/** Waits until `count` server spans have arrived, with the children of each (they may come in another batch). */
async function awaitTraces(receiver: OtlpReceiver, count: number, childrenEach: number): Promise<ReceivedSpan[][]> {
  await until(
    () => {
      const servers = serverSpans(receiver);
      return servers.length >= count && servers.every((s) => traceOf(receiver, s.traceId).length >= childrenEach + 1);
    },
    `${count} traces of ${childrenEach + 1} spans at the receiver`,
    10_000,
  );
  return serverSpans(receiver).map((s) => traceOf(receiver, s.traceId));
}

async function tracedHarness(receiver: OtlpReceiver, tracing: Record<string, unknown>, faults?: string, logLines?: Array<Record<string, unknown>>): Promise<Harness> {
  return startHarness({
    ...(faults === undefined ? {} : { faults }),
    ...(logLines === undefined ? {} : { deps: { logger: loggerInto(logLines, 'info') } }),
    config: {
      tracing: { enabled: true, endpoint: receiver.tracesUrl, sampler: 'always_on', scheduleDelayMs: 20, serviceName: 'floorplan-test', resourceAttributes: { 'deployment.environment.name': 'test' }, ...tracing },
    },
  });
}

describe('traces of a panel request', () => {
  let receiver: OtlpReceiver;
  let h: Harness;
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    h = await tracedHarness(receiver, {});
  });
  afterAll(async () => {
    await h.close();
    await receiver.close();
  });

  it('sends one trace per request: a server span with an upstream span per call, the render and the flag events', async () => {
    const res = await h.graphql<PanelResult>('u1001', PANEL_QUERY, { scene: 'cart-bottom-sheet' });
    expect(res.status).toBe(200);
    const [spans] = await awaitTraces(receiver, 1, 4);
    const server = spans!.find((s) => s.kind === SERVER)!;

    expect(receiver.contentTypes[0]).toBe('application/json');
    expect(server.name).toBe('POST /graphql');
    expect(server.parentSpanId).toBe('');
    expect(server.attributes).toMatchObject({
      'http.request.method': 'POST',
      'url.path': '/graphql',
      'http.route': '/graphql',
      'http.response.status_code': 200,
      'graphql.operation.name': 'Panel',
    });
    expect(server.resource).toMatchObject({ 'service.name': 'floorplan-test', 'deployment.environment.name': 'test' });

    const children = spans!.filter((s) => s !== server);
    for (const child of children) expect(child.parentSpanId).toBe(server.spanId);
    const upstreams = children.filter((s) => s.kind === CLIENT);
    expect(upstreams.map((s) => s.name).sort()).toEqual(['upstream cart', 'upstream promotion', 'upstream settlement']);
    for (const span of upstreams) {
      expect(span.attributes['floorplan.upstream.outcome']).toBe('ok');
      expect(span.statusCode).not.toBe(ERROR);
      expect(span.endNs).toBeGreaterThanOrEqual(span.startNs);
      expect(span.startNs).toBeGreaterThanOrEqual(server.startNs);
    }
    // The harness caches nothing across requests (ttl 0): the promotion answer is this request's own call.
    expect(upstreams.find((s) => s.name === 'upstream promotion')!.attributes['floorplan.cache.outcome']).toBe('miss');
    expect(upstreams.find((s) => s.name === 'upstream cart')!.attributes['floorplan.cache.outcome']).toBeUndefined();

    const render = children.find((s) => s.kind === INTERNAL)!;
    expect(render.name).toBe('render cart-bottom-sheet');
    expect(render.attributes['floorplan.panel.scene']).toBe('cart-bottom-sheet');
    expect(render.attributes['floorplan.panel.floors']).toBe(res.body.data!.floorPanel.floors.length);
    expect(render.attributes['floorplan.panel.degraded']).toBe(false);

    const flagEvents = server.events.filter((e) => e.name === 'feature_flag.evaluation');
    const keys = flagEvents.map((e) => e.attributes['feature_flag.key']);
    // The kill switch of each upstream called, the floor flags and the layout flag the panel consulted.
    expect(keys).toEqual(expect.arrayContaining(['floorplan.kill.cart', 'floorplan.kill.promotion', 'floorplan.kill.settlement', 'floor.plus-rebate', 'layout.cart-bottom-sheet']));
    expect(new Set(keys).size).toBe(keys.length);
    for (const event of flagEvents) {
      expect(event.attributes['feature_flag.provider.name']).toBe('Unleash');
      expect(['targeting_match', 'disabled', 'error']).toContain(event.attributes['feature_flag.result.reason']);
      const hasResult = event.attributes['feature_flag.result.value'] !== undefined || event.attributes['feature_flag.result.variant'] !== undefined;
      expect(hasResult).toBe(true);
    }
    const kill = flagEvents.find((e) => e.attributes['feature_flag.key'] === 'floorplan.kill.cart')!;
    expect(kill.attributes['feature_flag.result.value']).toBe(false);
  });

  it('gives the fast path and Apollo’s path the same spans and attributes', async () => {
    const before = serverSpans(receiver).length;
    const query = PANEL_QUERY.replace('query Panel', 'query SamePanel');
    // The first run of a new text goes through Apollo; the second is a known operation.
    await h.graphql('u1002', query, { scene: 'cart-bottom-sheet' });
    await h.graphql('u1002', query, { scene: 'cart-bottom-sheet' });
    const traces = (await awaitTraces(receiver, before + 2, 4)).slice(before);
    const shape = (spans: ReceivedSpan[]) => {
      const server = spans.find((s) => s.kind === SERVER)!;
      return {
        spans: spans.map((s) => `${s.kind} ${s.name} ${String(s.attributes['floorplan.upstream.outcome'] ?? '')}`).sort(),
        operation: server.attributes['graphql.operation.name'],
        status: server.attributes['http.response.status_code'],
        flags: server.events.map((e) => `${String(e.attributes['feature_flag.key'])}=${String(e.attributes['feature_flag.result.value'] ?? e.attributes['feature_flag.result.variant'])}`).sort(),
      };
    };
    const executors = traces.map((t) => t.find((s) => s.kind === SERVER)!.attributes['floorplan.graphql.executor']);
    expect(executors).toEqual(['apollo', 'known-operation']);
    expect(shape(traces[0]!)).toEqual(shape(traces[1]!));
    expect(shape(traces[0]!).operation).toBe('SamePanel');
  });

  it('continues the trace of a caller that sends a W3C traceparent', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parentId = '00f067aa0ba902b7';
    await h.graphql('u1001', PANEL_QUERY, { scene: 'cart-bottom-sheet' }, { traceparent: `00-${traceId}-${parentId}-01` });
    await until(() => traceOf(receiver, traceId).length >= 5, 'the continued trace at the receiver', 10_000);
    const server = traceOf(receiver, traceId).find((s) => s.kind === SERVER)!;
    expect(server.parentSpanId).toBe(parentId);
    for (const child of traceOf(receiver, traceId).filter((s) => s !== server)) expect(child.parentSpanId).toBe(server.spanId);
  });

  it('records an unauthenticated request as a server span with its 401 and no children', async () => {
    const before = serverSpans(receiver).length;
    const res = await h.graphql(null, PANEL_QUERY, { scene: 'cart-bottom-sheet' });
    expect(res.status).toBe(401);
    await until(() => serverSpans(receiver).length > before, 'the 401 trace at the receiver', 10_000);
    const server = serverSpans(receiver)[before]!;
    expect(server.attributes['http.response.status_code']).toBe(401);
    // A client's mistake is not the server's failure (HTTP semantic conventions).
    expect(server.statusCode).not.toBe(ERROR);
    expect(traceOf(receiver, server.traceId)).toHaveLength(1);
  });
});

describe('OTLP/HTTP with protobuf bodies (OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/protobuf)', () => {
  /** A trace as the tests read it, without what differs from request to request (ids, the decision's too, and times). */
  const shape = (spans: ReceivedSpan[]) => {
    const server = spans.find((s) => s.kind === SERVER)!;
    return spans
      .map((s) => ({
        kind: s.kind,
        name: s.name,
        child: s.parentSpanId === server.spanId,
        attributes: { ...s.attributes, 'floorplan.decision_id': typeof s.attributes['floorplan.decision_id'] },
        statusCode: s.statusCode,
        events: s.events,
        resource: s.resource,
        scope: s.scope,
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
  };

  it('sends the same trace as JSON does, in protobuf', async () => {
    const traces: ReceivedSpan[][] = [];
    const contentTypes: string[] = [];
    for (const protocol of ['http/json', 'http/protobuf']) {
      const receiver = await startOtlpReceiver();
      const h = await tracedHarness(receiver, { protocol });
      try {
        // The second request of a text is a known operation, whichever the protocol.
        for (let i = 0; i < 2; i++) expect((await h.graphql('u1001', PANEL_QUERY, { scene: 'cart-bottom-sheet' })).status).toBe(200);
        traces.push((await awaitTraces(receiver, 2, 4))[1]!);
        contentTypes.push(...new Set(receiver.contentTypes));
      } finally {
        await h.close();
        await receiver.close();
      }
    }
    expect(contentTypes).toEqual(['application/json', 'application/x-protobuf']);
    expect(traces[0]!.length).toBeGreaterThanOrEqual(5);
    expect(shape(traces[0]!)).toEqual(shape(traces[1]!));
  });
});

describe('a failing upstream in the trace', () => {
  let receiver: OtlpReceiver;
  let h: Harness;
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    h = await tracedHarness(receiver, {}, 'promotion:error:503');
  });
  afterAll(async () => {
    await h.close();
    await receiver.close();
  });

  it('marks the upstream span failed with its outcome, and the render degraded', async () => {
    const res = await h.graphql<PanelResult>('u1001', PANEL_QUERY, { scene: 'cart-bottom-sheet' });
    expect(res.body.data!.floorPanel.degraded).toBe(true);
    const [spans] = await awaitTraces(receiver, 1, 4);
    const promotion = spans!.find((s) => s.name === 'upstream promotion')!;
    expect(promotion.attributes['floorplan.upstream.outcome']).toBe('http_error');
    expect(promotion.attributes['error.type']).toBe('http_error');
    expect(promotion.statusCode).toBe(ERROR);
    const render = spans!.find((s) => s.name === 'render cart-bottom-sheet')!;
    expect(render.attributes['floorplan.panel.degraded']).toBe(true);
    expect(render.attributes['floorplan.panel.degraded_reasons']).toContain('UPSTREAM_FAILED');
  });
});

describe('sampling by ratio', () => {
  let receiver: OtlpReceiver;
  let h: Harness | undefined;
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
  });
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });
  afterAll(() => receiver.close());

  it('traces no new request at ratio 0, but follows a caller that sampled its trace', async () => {
    h = await tracedHarness(receiver, { sampler: 'parentbased_traceidratio', samplerRatio: 0 });
    for (let i = 0; i < 5; i++) expect((await h.graphql('u1001', PANEL_QUERY, { scene: 'cart-bottom-sheet' })).status).toBe(200);
    const sampledTrace = 'a'.repeat(32);
    await h.graphql('u1001', PANEL_QUERY, { scene: 'cart-bottom-sheet' }, { traceparent: `00-${sampledTrace}-${'b'.repeat(16)}-01` });
    await h.graphql('u1001', PANEL_QUERY, { scene: 'cart-bottom-sheet' }, { traceparent: `00-${'c'.repeat(32)}-${'d'.repeat(16)}-00` });
    // A traceparent that does not parse (or names the invalid all-zero trace) starts a new trace, sampled by the ratio like any other.
    await h.graphql('u1001', PANEL_QUERY, { scene: 'cart-bottom-sheet' }, { traceparent: 'not-a-traceparent' });
    await h.graphql('u1001', PANEL_QUERY, { scene: 'cart-bottom-sheet' }, { traceparent: `00-${'0'.repeat(32)}-${'d'.repeat(16)}-01` });
    // Stopping sends every span still waiting: after it, what was sampled has arrived.
    await h.close();
    h = undefined;
    expect(new Set(receiver.spans().map((s) => s.traceId))).toEqual(new Set([sampledTrace]));
  });

  it('under traceidratio, decides a caller’s trace by its id, whatever its sampled flag', async () => {
    const before = new Set(receiver.spans().map((s) => s.traceId));
    const sampledByCaller = 'e'.repeat(32);
    const droppedByCaller = 'f'.repeat(32);
    h = await tracedHarness(receiver, { sampler: 'traceidratio', samplerRatio: 0 });
    await h.graphql('u1001', PANEL_QUERY, { scene: 'cart-bottom-sheet' }, { traceparent: `00-${sampledByCaller}-${'b'.repeat(16)}-01` });
    await h.close();
    h = await tracedHarness(receiver, { sampler: 'traceidratio', samplerRatio: 1 });
    await h.graphql('u1001', PANEL_QUERY, { scene: 'cart-bottom-sheet' }, { traceparent: `00-${droppedByCaller}-${'b'.repeat(16)}-00` });
    await h.graphql('u1001', PANEL_QUERY, { scene: 'cart-bottom-sheet' });
    await h.close();
    h = undefined;
    const arrived = [...new Set(receiver.spans().map((s) => s.traceId))].filter((id) => !before.has(id));
    expect(arrived).toContain(droppedByCaller);
    expect(arrived).not.toContain(sampledByCaller);
    // The request without a traceparent: a new trace of its own.
    expect(arrived).toHaveLength(2);
  });

  it('traces about the configured share of new requests', async () => {
    const before = serverSpans(receiver).length;
    h = await tracedHarness(receiver, { sampler: 'traceidratio', samplerRatio: 0.5 });
    const requests = 60;
    for (let i = 0; i < requests; i++) await h.graphql('u1001', PANEL_QUERY, { scene: 'cart-bottom-sheet' });
    await h.close();
    h = undefined;
    const traced = serverSpans(receiver).length - before;
    // Binomial(60, 0.5): outside 12..48 with probability below 1e-5.
    expect(traced).toBeGreaterThan(12);
    expect(traced).toBeLessThan(48);
  });
});

describe('a decision record and its trace', () => {
  let receiver: OtlpReceiver;
  let h: Harness;
  const logLines: Array<Record<string, unknown>> = [];
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    // No new trace is sampled: only a caller's sampled traceparent makes a request traced.
    h = await tracedHarness(receiver, { sampler: 'parentbased_traceidratio', samplerRatio: 0 }, undefined, logLines);
  });
  afterAll(async () => {
    await h.close();
    await receiver.close();
  });

  /** The panel's decisionId and the decision record it names. */
  const decide = async (headers: Record<string, string>) => {
    const res = await h.graphql<{ floorPanel: { decisionId: string } }>('u1001', '{ floorPanel(scene: "cart-bottom-sheet") { decisionId } }', {}, headers);
    const { decisionId } = res.body.data!.floorPanel;
    await until(() => logLines.some((l) => l.decisionId === decisionId), 'the decision record', 3000);
    return { decisionId, record: logLines.find((l) => l.decisionId === decisionId)! };
  };

  it('names the trace in the record and the decisionId on the server span, when the request is traced', async () => {
    const traceId = 'f1'.repeat(16);
    const { decisionId, record } = await decide({ traceparent: `00-${traceId}-${'b'.repeat(16)}-01` });
    expect(record.traceId).toBe(traceId);
    await until(() => traceOf(receiver, traceId).some((s) => s.kind === SERVER), 'the traced request at the receiver', 10_000);
    const server = traceOf(receiver, traceId).find((s) => s.kind === SERVER)!;
    expect(server.attributes['floorplan.decision_id']).toBe(decisionId);
  });

  it('names no trace in the record of a request that is not sampled', async () => {
    const { record } = await decide({ traceparent: `00-${'c'.repeat(32)}-${'d'.repeat(16)}-00` });
    expect(record).not.toHaveProperty('traceId');
    expect((await decide({})).record).not.toHaveProperty('traceId');
  });
});

describe('the trace carried to the upstreams (W3C traceparent)', () => {
  let receiver: OtlpReceiver;
  let h: Harness;
  let demo: DemoUpstreams;
  let proxy: Server;
  /** Each upstream request the proxy passed on: its path and the trace context it carried. */
  const seen: Array<{ path: string; traceparent: string | undefined; tracestate: string | undefined }> = [];

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    demo = await startDemoUpstreams({ port: 0, faults: '' });
    const target = new URL(demo.baseUrls.cart).origin;
    // A recording proxy in front of the demo upstreams: what an upstream service would receive.
    proxy = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        seen.push({ path: req.url ?? '', traceparent: req.headers.traceparent as string | undefined, tracestate: req.headers.tracestate as string | undefined });
        const body = chunks.length === 0 ? undefined : Buffer.concat(chunks);
        void fetch(`${target}${req.url}`, { method: req.method, headers: { 'content-type': req.headers['content-type'] ?? 'application/json' }, body }).then(async (answer) => {
          res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' }).end(Buffer.from(await answer.arrayBuffer()));
        });
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const port = (proxy.address() as AddressInfo).port;
    const defaults = loadServiceConfig({ env: {} }).upstreams;
    const upstreams = Object.fromEntries(UPSTREAMS.map((name) => [name, { ...defaults[name], baseUrl: demo.baseUrls[name].replace(target, `http://127.0.0.1:${port}`) }])) as typeof defaults;
    h = await startHarness({
      config: { tracing: { enabled: true, endpoint: receiver.tracesUrl, sampler: 'parentbased_always_on', scheduleDelayMs: 20, serviceName: 'floorplan-test' } },
      deps: { upstreams, logger: createLogger('silent') },
    });
  });
  afterAll(async () => {
    await h.close();
    await new Promise((resolve) => proxy.close(resolve));
    await demo.close();
    await receiver.close();
  });

  it('sends each upstream call with a traceparent naming its own upstream span, so the upstreams join the trace', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    seen.length = 0;
    const res = await h.graphql<PanelResult>('u1001', PANEL_QUERY, { scene: 'cart-bottom-sheet' }, { traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
    expect(res.body.data!.floorPanel.degraded).toBe(false);
    await until(() => traceOf(receiver, traceId).filter((s) => s.kind === CLIENT).length >= 3, 'the upstream spans at the receiver', 10_000);
    const clientSpans = new Map(traceOf(receiver, traceId).filter((s) => s.kind === CLIENT).map((s) => [s.name, s.spanId]));
    expect(seen.length).toBeGreaterThanOrEqual(3);
    for (const { path, traceparent } of seen) {
      const upstream = UPSTREAMS.find((name) => path.includes(`/${name}`) || path.startsWith(`/${name}`));
      expect({ path, traceparent }).toEqual({ path, traceparent: `00-${traceId}-${clientSpans.get(`upstream ${upstream}`)}-01` });
    }
  });

  it('carries a caller’s unsampled trace on to the upstreams, unsampled, so their spans do not start traces of their own', async () => {
    const traceId = 'c'.repeat(32);
    seen.length = 0;
    await h.graphql<PanelResult>('u1001', PANEL_QUERY, { scene: 'cart-bottom-sheet' }, { traceparent: `00-${traceId}-${'d'.repeat(16)}-00`, tracestate: 'congo=t61rcWkgMzE' });
    expect(seen.length).toBeGreaterThanOrEqual(3);
    for (const { path, traceparent, tracestate } of seen) {
      // The caller's trace, not sampled (flags 00), with a span id of Floorplan's own: nothing of it is recorded or exported.
      expect({ path, traceparent, tracestate }).toEqual({ path, traceparent: expect.stringMatching(new RegExp(`^00-${traceId}-(?!${'d'.repeat(16)})[0-9a-f]{16}-00$`)), tracestate: 'congo=t61rcWkgMzE' });
    }
    expect(traceOf(receiver, traceId)).toEqual([]);
  });
});

describe('a collector that refuses the traces', () => {
  it('logs the failed exports (at most every 30 s), and a stop does not wait on the collector', async () => {
    const lines: Array<Record<string, unknown>> = [];
    // A port nothing listens on: every export is refused.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const h = await startHarness({
      config: { tracing: { enabled: true, endpoint: `http://127.0.0.1:${port}/v1/traces`, sampler: 'always_on', scheduleDelayMs: 20, serviceName: 'floorplan-test' } },
      deps: { logger: loggerInto(lines, 'info') },
    });
    try {
      for (let i = 0; i < 3; i++) expect((await h.graphql<PanelResult>('u1001', PANEL_QUERY, { scene: 'cart-bottom-sheet' })).status).toBe(200);
      await until(() => lines.some((l) => l.msg === 'traces could not be exported'), 'the failed export logged', 10_000);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const logged = lines.filter((l) => l.msg === 'traces could not be exported');
      expect(logged).toHaveLength(1);
      expect(logged[0]).toMatchObject({ level: 40, endpoint: `http://127.0.0.1:${port}/v1/traces` });
    } finally {
      const started = performance.now();
      await h.close();
      expect(performance.now() - started).toBeLessThan(8000);
    }
  }, 30_000);
});
