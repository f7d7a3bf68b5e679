/**
 * Client-side measurements for the fault suites: one GraphQL POST timed around `fetch` (and
 * reading its body) only — tokens are signed before the clock starts — the median of a few
 * runs after a warm-up, and values read from /metrics.
 */
import { expect } from 'vitest';
import type { GraphQLResponse } from './harness.ts';

export interface TimedResponse<T = Record<string, unknown>> extends GraphQLResponse<T> {
  /** Milliseconds from calling fetch to having the whole body. */
  readonly ms: number;
}

/** POSTs `body` (JSON, or a string sent as is) to `${url}${path}` with the given headers, timed client-side. */
export async function timedPost<T = Record<string, unknown>>(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
  path = '/graphql',
): Promise<TimedResponse<T>> {
  const init = {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'accept-language': 'zh-CN', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  };
  const started = performance.now();
  const res = await fetch(`${url}${path}`, init);
  const text = await res.text();
  const ms = performance.now() - started;
  return { status: res.status, headers: res.headers, body: JSON.parse(text) as GraphQLResponse<T>['body'], ms };
}

import { median } from '../../bench/stats.ts';

export { median };

/**
 * Runs `request` once to warm up (connections, JIT, the path through the fault), then `times`
 * times one after another; returns those runs and the median of their latencies.
 */
export async function measure<T extends { ms: number }>(request: () => Promise<T>, times = 5): Promise<{ runs: T[]; medianMs: number }> {
  await request();
  const runs: T[] = [];
  for (let i = 0; i < times; i++) runs.push(await request());
  return { runs, medianMs: median(runs.map((r) => r.ms)) };
}

/**
 * {@link measure}, repeated up to `rounds` times until a round's median is below `boundMs`. On
 * a busy shared machine one round can be starved of CPU; a real regression (a request that
 * waits past its deadline, or on a dead dependency) fails every round. Returns the runs of
 * every round, for the caller to check each answer, and the best round's median.
 */
export async function measureWithin<T extends { ms: number }>(
  request: () => Promise<T>,
  boundMs: number,
  times = 5,
  rounds = 3,
): Promise<{ runs: T[]; medianMs: number; medians: number[] }> {
  const runs: T[] = [];
  const medians: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const measured = await measure(request, times);
    runs.push(...measured.runs);
    medians.push(measured.medianMs);
    if (measured.medianMs < boundMs) break;
  }
  return { runs, medianMs: Math.min(...medians), medians };
}

export async function scrapeMetrics(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`);
  return res.text();
}

/** The value of one sample in Prometheus text, e.g. `metricValue(text, 'floorplan_redis_breaker_open', { name: 'apq' })`; 0 when absent. */
export function metricValue(text: string, name: string, labels: Readonly<Record<string, string>> = {}): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const braces = /^[^{ ]+(?:\{(.*)\})? (\S+)$/.exec(line);
    if (braces === null) continue;
    const found = Object.fromEntries([...(braces[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(braces[2]);
  }
  return 0;
}

/** The server survived: /healthz still answers 200. */
export async function expectAlive(url: string): Promise<void> {
  const res = await fetch(`${url}/healthz`);
  expect(res.status).toBe(200);
}

/** Polls `probe` until `ok` holds or `timeoutMs` passes; returns the last value. */
export async function eventually<T>(probe: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 3000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await probe();
  while (!ok(last) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, intervalMs));
    last = await probe();
  }
  return last;
}
