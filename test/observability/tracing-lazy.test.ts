/**
 * Tracing off loads no OpenTelemetry: ~250 modules whose source and code every mark-compact of a
 * replica that never traces would walk (BENCHMARKS.md, session 23). Checked in a process of its
 * own, since this test process may have loaded OpenTelemetry for other tests: every module it
 * resolves is recorded, and the SDK must appear only once tracing is turned on.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const TRACING_MODULE = pathToFileURL(fileURLToPath(new URL('../../src/observability/tracing.ts', import.meta.url))).href;

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

const dir = mkdtempSync(join(tmpdir(), 'tracing-lazy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tracing: OpenTelemetry only when it is on', () => {
  it('loads no OpenTelemetry module with tracing off, and the SDK once it is on', async () => {
    const script = join(dir, 'tracing.mjs');
    writeFileSync(script, SCRIPT);
    const result = await new Promise<{ offEnabled: boolean; whenOff: number; onEnabled: boolean; whenOn: number }>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`exit ${String(code)}: ${err}`))));
    });
    expect(result.offEnabled).toBe(false);
    expect(result.whenOff, 'OpenTelemetry modules loaded with tracing off').toBe(0);
    expect(result.onEnabled).toBe(true);
    // The check sees them when they do load: the SDK, its exporters and the API.
    expect(result.whenOn, 'OpenTelemetry modules loaded with tracing on').toBeGreaterThan(50);
  });
});
