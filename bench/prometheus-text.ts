/**
 * Reading Floorplan's `/metrics` text in the benches: counters summed by a label, the
 * garbage collections between two readings, and where its memory is. (A test-side parser would be a dependency for two
 * functions over a format whose sample lines are `name{labels} value`.)
 */
import type { GcFacts, HeapFigures, RuntimeFacts } from './results.ts';

/** Sums a Prometheus counter's samples by one label, for samples whose other labels match `where`. */
export function counterBy(text: string, metric: string, by: string, where: Readonly<Record<string, string>> = {}): Map<string, number> {
  const sums = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`)) continue;
    const close = line.lastIndexOf('}');
    const labels = new Map<string, string>();
    for (const match of line.slice(metric.length + 1, close).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels.set(match[1] as string, match[2] as string);
    if (Object.entries(where).some(([k, v]) => labels.get(k) !== v)) continue;
    const key = labels.get(by) ?? '';
    sums.set(key, (sums.get(key) ?? 0) + Number(line.slice(close + 1).trim()));
  }
  return sums;
}

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

/** The value of a metric without labels, or undefined when the text has none. */
function valueOf(text: string, metric: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${metric} `));
  return line === undefined ? undefined : Number(line.slice(metric.length + 1).trim());
}

/** Where Floorplan's memory is (prom-client's default metrics), in MB to 0.1; a figure the text lacks is left out. */
export function heapFiguresOf(text: string): HeapFigures {
  const figures: Record<string, number> = {};
  const put = (name: keyof HeapFigures, bytes: number | undefined) => {
    if (bytes !== undefined) figures[name] = round(bytes / 1024 / 1024, 1);
  };
  put('oldSpaceUsedMb', counterBy(text, 'floorplan_nodejs_heap_space_size_used_bytes', 'space').get('old'));
  put('heapCommittedMb', valueOf(text, 'floorplan_nodejs_heap_size_total_bytes'));
  put('externalMb', valueOf(text, 'floorplan_nodejs_external_memory_bytes'));
  return figures;
}

/**
 * The garbage collections Floorplan ran between two readings of its `/metrics`, by kind:
 * prom-client's `nodejs_gc_duration_seconds`. `name` says whose readings they are in the error
 * thrown when the metric is missing.
 */
export function gcBetween(before: string, after: string, name: string): RuntimeFacts {
  if (counterBy(after, 'floorplan_nodejs_gc_duration_seconds_count', 'kind').size === 0) {
    throw new Error(`${name}: Floorplan's /metrics has no floorplan_nodejs_gc_duration_seconds (are default metrics off?)`);
  }
  const gc = (kind: string): GcFacts => {
    const delta = (metric: string) => (counterBy(after, metric, 'kind').get(kind) ?? 0) - (counterBy(before, metric, 'kind').get(kind) ?? 0);
    const count = delta('floorplan_nodejs_gc_duration_seconds_count');
    const totalMs = delta('floorplan_nodejs_gc_duration_seconds_sum') * 1000;
    return { count, totalMs: round(totalMs, 1), meanMs: count > 0 ? round(totalMs / count, 2) : 0 };
  };
  return { minorGc: gc('minor'), majorGc: gc('major'), incrementalGc: gc('incremental') };
}

/** What a Prometheus histogram recorded between two readings: cumulative counts by upper bound (s), `+Inf` last. */
export interface HistogramDelta {
  readonly bounds: readonly number[];
  readonly cumulative: readonly number[];
}

/**
 * A histogram's buckets (`metric_bucket{…,le="…"}`) between two readings, summed over the
 * samples whose other labels match `where`; undefined when `after` has none of them.
 */
export function histogramBetween(before: string, after: string, metric: string, where: Readonly<Record<string, string>>): HistogramDelta | undefined {
  const afterCounts = counterBy(after, `${metric}_bucket`, 'le', where);
  if (afterCounts.size === 0) return undefined;
  const beforeCounts = counterBy(before, `${metric}_bucket`, 'le', where);
  const bounds = [...afterCounts.keys()].map((le) => (le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le))).sort((a, b) => a - b);
  const key = (bound: number) => (bound === Number.POSITIVE_INFINITY ? '+Inf' : [...afterCounts.keys()].find((le) => Number(le) === bound) ?? '');
  return { bounds, cumulative: bounds.map((bound) => (afterCounts.get(key(bound)) ?? 0) - (beforeCounts.get(key(bound)) ?? 0)) };
}

/** What a histogram says of a quantile: the upper bound (ms) of the bucket it falls in; null without observations, Infinity past the last bound. */
export function quantileBoundMs(histogram: HistogramDelta, quantile: number): number | null {
  const total = histogram.cumulative.at(-1) ?? 0;
  if (total === 0) return null;
  const rank = quantile * total;
  const at = histogram.cumulative.findIndex((count) => count >= rank);
  const bound = histogram.bounds[at] ?? Number.POSITIVE_INFINITY;
  return bound === Number.POSITIVE_INFINITY ? bound : round(bound * 1000, 3);
}

/** The share (0–1) of observations above `boundSeconds`, which must be one of the histogram's bounds; null without observations. */
export function shareAbove(histogram: HistogramDelta, boundSeconds: number): number | null {
  const total = histogram.cumulative.at(-1) ?? 0;
  if (total === 0) return null;
  const at = histogram.bounds.indexOf(boundSeconds);
  if (at === -1) throw new Error(`the histogram has no bucket bound ${boundSeconds}`);
  return round(1 - (histogram.cumulative[at] as number) / total, 4);
}
