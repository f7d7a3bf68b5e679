/**
 * Tracing off loads no OpenTelemetry: ~250 modules whose source and code every mark-compact of a
 * replica that never traces would walk (BENCHMARKS.md, session 23). Checked in a process of its
 * own, since this test process may have loaded OpenTelemetry for other tests: every module it
 * resolves is recorded, and the SDK must appear only once tracing is turned on.
 */
import { describe, expect, it } from 'vitest';
import { runNodeScript } from '../support/processes.ts';

const TRACING_MODULE = new URL('../../src/observability/tracing.ts', import.meta.url).href;

const SCRIPT = `
import { registerHooks } from 'node:module';
const resolved = [];
registerHooks({ resolve(specifier, context, next) { const found = next(specifier, context); resolved.push(found.url); return found; } });
const openTelemetry = () => resolved.filter((url) => url.includes('/@opentelemetry/')).length;
const { createTracing } = await import(${JSON.stringify(TRACING_MODULE)});
const config = {
  enabled: false, endpoint: 'http://127.0.0.1:9/v1/traces', protocol: 'http/json', serviceName: 'floorplan', resourceAttributes: {},
  sampler: 'parentbased_traceidratio', samplerRatio: 0.1, scheduleDelayMs: 5000, maxQueueSize: 2048, maxExportBatchSize: 512,
};
const off = await createTracing(config);
const whenOff = openTelemetry();
const on = await createTracing({ ...config, enabled: true });
const whenOn = openTelemetry();
await on.shutdown();
process.stdout.write(JSON.stringify({ offEnabled: off.enabled, whenOff, onEnabled: on.enabled, whenOn }));
`;

describe('tracing: OpenTelemetry only when it is on', () => {
  it('loads no OpenTelemetry module with tracing off, and the SDK once it is on', async () => {
    const result = await runNodeScript<{ offEnabled: boolean; whenOff: number; onEnabled: boolean; whenOn: number }>(SCRIPT);
    expect(result.offEnabled).toBe(false);
    expect(result.whenOff, 'OpenTelemetry modules loaded with tracing off').toBe(0);
    expect(result.onEnabled).toBe(true);
    // The check sees them when they do load: the SDK, its exporters and the API.
    expect(result.whenOn, 'OpenTelemetry modules loaded with tracing on').toBeGreaterThan(50);
  });
});
