/** The `tracing` block and the standard OTEL_* variables that set it. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_ENV_VARS, loadServiceConfig } from '../../src/config/service-config.ts';
import { ErrorCode } from '../../src/errors.ts';
import { thrownBy } from '../support/thrown.ts';

const CONFIG_DIR = join(import.meta.dirname, '..', '..', 'config');
const tracingOf = (env: NodeJS.ProcessEnv) => loadServiceConfig({ dir: CONFIG_DIR, env }).tracing;

function problems(env: NodeJS.ProcessEnv): string[] {
  const error = thrownBy(() => loadServiceConfig({ dir: CONFIG_DIR, env }));
  expect(error.code).toBe(ErrorCode.CONFIG_INVALID);
  return error.message.split('\n').slice(1).map((line) => line.replace(/^- /, ''));
}

describe('tracing config from the OTEL_* variables', () => {
  it('is off when no OTEL variable is set', () => {
    expect(tracingOf({})).toEqual({
      enabled: false,
      endpoint: 'http://localhost:4318/v1/traces',
      protocol: 'http/json',
      serviceName: 'floorplan',
      resourceAttributes: {},
      sampler: 'parentbased_traceidratio',
      samplerRatio: 0.1,
      scheduleDelayMs: 5000,
      maxQueueSize: 2048,
      maxExportBatchSize: 512,
    });
  });

  it('turns on with an OTLP endpoint, appending the traces path to the shared one', () => {
    expect(tracingOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })).toMatchObject({ enabled: true, endpoint: 'http://collector:4318/v1/traces' });
  });

  it('uses the traces endpoint as it is, before the shared one', () => {
    const tracing = tracingOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:4318/custom' });
    expect(tracing).toMatchObject({ enabled: true, endpoint: 'http://b:4318/custom' });
  });

  it('turns on with OTEL_TRACES_EXPORTER=otlp alone (the default endpoint), and off with none whatever the endpoint', () => {
    expect(tracingOf({ OTEL_TRACES_EXPORTER: 'otlp' })).toMatchObject({ enabled: true, endpoint: 'http://localhost:4318/v1/traces' });
    expect(tracingOf({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).enabled).toBe(false);
    // OpenTelemetry's enum values are case-insensitive.
    expect(tracingOf({ OTEL_TRACES_EXPORTER: 'OTLP' }).enabled).toBe(true);
    expect(tracingOf({ OTEL_TRACES_EXPORTER: 'None', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).enabled).toBe(false);
  });

  it('stays off with OTEL_SDK_DISABLED=true, whatever else is set', () => {
    expect(tracingOf({ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).enabled).toBe(false);
  });

  it('reads the sampler, its ratio, the batch settings and the service name', () => {
    const tracing = tracingOf({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_TRACES_SAMPLER: 'traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
      OTEL_BSP_SCHEDULE_DELAY: '200',
      OTEL_BSP_MAX_QUEUE_SIZE: '100',
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '50',
      OTEL_SERVICE_NAME: 'floorplan-eu',
    });
    expect(tracing).toMatchObject({ sampler: 'traceidratio', samplerRatio: 0.25, scheduleDelayMs: 200, maxQueueSize: 100, maxExportBatchSize: 50, serviceName: 'floorplan-eu' });
  });


  it('sends JSON unless told protobuf, the traces variable winning over the shared one', () => {
    expect(tracingOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).protocol).toBe('http/json');
    expect(tracingOf({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' }).protocol).toBe('http/protobuf');
    expect(tracingOf({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' }).protocol).toBe('http/json');
  });

  it('reads resource attributes, percent-decoded, and takes service.name from them unless OTEL_SERVICE_NAME is set', () => {
    const env = { OTEL_RESOURCE_ATTRIBUTES: 'service.name=bff,deployment.environment.name=prod,team=cart%20ui' };
    expect(tracingOf(env)).toMatchObject({ serviceName: 'bff', resourceAttributes: { 'deployment.environment.name': 'prod', team: 'cart ui' } });
    expect(tracingOf({ ...env, OTEL_SERVICE_NAME: 'floorplan-eu' }).serviceName).toBe('floorplan-eu');
  });

  it('refuses what it cannot honour, naming the variable', () => {
    expect(problems({ OTEL_TRACES_EXPORTER: 'zipkin' })).toEqual([
      'OTEL_TRACES_EXPORTER must be otlp or none (Floorplan sends traces over OTLP/HTTP only), but got: "zipkin"',
    ]);
    expect(problems({ OTEL_TRACES_SAMPLER: 'jaeger_remote' })).toEqual([
      '`tracing.sampler` must be always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio, but got: "jaeger_remote" (set by OTEL_TRACES_SAMPLER)',
    ]);
    expect(problems({ OTEL_TRACES_SAMPLER_ARG: '1.5' })).toEqual(['`tracing.samplerRatio` must be at most 1, but got: 1.5 (set by OTEL_TRACES_SAMPLER_ARG)']);
    expect(problems({ OTEL_TRACES_SAMPLER_ARG: 'half' })).toEqual(['`tracing.samplerRatio` must be a number, but got: "half" (set by OTEL_TRACES_SAMPLER_ARG)']);
    expect(problems({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'collector:4318' })).toEqual([
      '`tracing.endpoint` must be an http:// or https:// URL, but got: "collector:4318" (set by OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)',
    ]);
    expect(problems({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toEqual([
      '`tracing.protocol` must be http/protobuf or http/json (Floorplan sends traces over OTLP/HTTP; grpc is not offered), but got: "grpc" (set by OTEL_EXPORTER_OTLP_PROTOCOL)',
    ]);
    expect(problems({ OTEL_RESOURCE_ATTRIBUTES: 'team' })).toEqual([
      'OTEL_RESOURCE_ATTRIBUTES must be key=value pairs separated by commas (values percent-encoded), but got: "team"',
    ]);
  });

  it('lists the OTEL variables among the configuration variables', () => {
    expect(CONFIG_ENV_VARS).toEqual(expect.arrayContaining(['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_TRACES_SAMPLER', 'OTEL_TRACES_SAMPLER_ARG', 'OTEL_SDK_DISABLED']));
  });
});
