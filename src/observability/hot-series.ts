/**
 * The few series every request updates — its upstream calls' counts and durations, its own
 * duration, its panel — held where an update is a few arithmetic operations, and handed to
 * prom-client only when /metrics is scraped.
 *
 * Why not prom-client's own `labels(...).inc()` and `.observe()`: in prom-client 15 a label
 * child is only curried arguments, so every update still validates the label object and
 * hashes it (sorting the names, joining the values) before it touches the series, about ten
 * times per panel. Counted here instead, a request took ~7 % less CPU (bench/checkouts.ts; the
 * strings and arrays those hashes left for the scavenger count too: BENCHMARKS.md, "Metric
 * series off prom-client's hot path").
 *
 * A counter series counts into a plain number; its Counter (prom-client's, for the exposition)
 * takes the increments since the last scrape in its `collect`. A histogram series counts into
 * its own buckets; {@link HotHistogram} is registered with the registry as a metric of its own
 * and exposes them as prom-client's Histogram does (test/observability/hot-series.test.ts
 * compares the two texts), since prom-client has no way to add counted observations in bulk.
 */
import { Counter, type Metric, type Registry, type RegistryContentType } from 'prom-client';

/** A series' label object, from its values in `labelNames` order; refuses the wrong number of values (`what` names the metric). */
function labelsOf<L extends string>(what: string, labelNames: readonly L[], values: readonly string[]): Readonly<Record<L, string>> {
  if (values.length !== labelNames.length) {
    throw new Error(`${what}: ${labelNames.length} label values expected (${labelNames.join(', ')}), but got: ${values.length}`);
  }
  const labels = {} as Record<L, string>;
  labelNames.forEach((name, index) => (labels[name] = values[index] as string));
  return Object.freeze(labels);
}

/** Hot series have at most this many labels (none is fine): each is a level of {@link SeriesIndex}. */
const MAX_HOT_LABELS = 3;

/**
 * The series of one metric by their label values (in `labelNames` order), a Map per label: the
 * series of values seen before is found by reading Maps with the values themselves, not by
 * joining them into a key, which made a string per update, ten per panel.
 */
class SeriesIndex<L extends string, S> {
  readonly #root = new Map<string, unknown>();
  readonly #all: S[] = [];

  constructor(
    /** What the metric is called in errors, e.g. `counter floorplan_panels_total`. */
    private readonly what: string,
    private readonly labelNames: readonly L[],
    /** Makes the series of values seen for the first time, from its label object. */
    private readonly create: (labels: Readonly<Record<L, string>>) => S,
  ) {
    if (labelNames.length > MAX_HOT_LABELS) {
      throw new Error(`${what}: a hot series has at most ${MAX_HOT_LABELS} labels, but got: ${labelNames.length} (${labelNames.join(', ')})`);
    }
  }

  /** The series of these values, made on first use; refuses a wrong number of them. */
  find(a: string | undefined, b: string | undefined, c: string | undefined): S {
    const given = c !== undefined ? 3 : b !== undefined ? 2 : a !== undefined ? 1 : 0;
    if (given === this.labelNames.length) {
      // A metric without labels keeps its one series under the empty string.
      let found = this.#root.get(a ?? '');
      if (given > 1 && found !== undefined) found = (found as Map<string, unknown>).get(b as string);
      if (given > 2 && found !== undefined) found = (found as Map<string, unknown>).get(c as string);
      if (found !== undefined) return found as S;
    }
    return this.#add(a, b, c);
  }

  /** Every series made so far, in the order they were first used. */
  values(): readonly S[] {
    return this.#all;
  }

  clear(): void {
    this.#root.clear();
    this.#all.length = 0;
  }

  #add(a: string | undefined, b: string | undefined, c: string | undefined): S {
    const values = [a, b, c].filter((value) => value !== undefined);
    const series = this.create(labelsOf(this.what, this.labelNames, values));
    let level = this.#root;
    for (let i = 0; i < values.length - 1; i++) {
      let next = level.get(values[i]!) as Map<string, unknown> | undefined;
      if (next === undefined) level.set(values[i]!, (next = new Map()));
      level = next;
    }
    level.set(values.at(-1) ?? '', series);
    this.#all.push(series);
    return series;
  }
}

/** One labelled counter series: `inc()` on the request path, handed to its Counter at scrape. */
export interface HotCounterSeries {
  inc(): void;
}

/**
 * A prom-client Counter whose series are counted here: the function returned gives the series
 * of some label values (in `labelNames` order, up to three), created on first use and Map reads after
 * that; call `inc()` on it. The increments reach the Counter in its `collect`, which prom-client
 * runs before it reads the values (every scrape, every `metrics()` call).
 *
 * `initial`: the label values (each in `labelNames` order) of series exposed at 0 from the start,
 * before their first increment; a series is otherwise first seen at its first scrape after one.
 * A query that adds this counter to another (or takes its increase()) reads 0 from such a series,
 * where it would read nothing at all from one not there yet.
 */
export function hotCounter<L extends string>(config: {
  name: string;
  help: string;
  labelNames: readonly L[];
  registers: Registry[];
  initial?: ReadonlyArray<readonly string[]>;
}): (a?: string, b?: string, c?: string) => HotCounterSeries {
  const { initial = [], ...counterConfig } = config;
  const series = new SeriesIndex(`counter ${config.name}`, config.labelNames, (labels) => new CounterSeries(labels));
  const counter = new Counter<L>({
    ...counterConfig,
    collect() {
      for (const each of series.values()) {
        if (each.pending === 0) continue;
        this.inc(each.labels, each.pending);
        each.pending = 0;
      }
    },
  });
  for (const values of initial) counter.inc(labelsOf(`counter ${config.name}`, config.labelNames, values), 0);
  return (a, b, c) => series.find(a, b, c);
}

class CounterSeries<L extends string> implements HotCounterSeries {
  pending = 0;

  constructor(readonly labels: Readonly<Record<L, string>>) {}

  inc(): void {
    this.pending += 1;
  }
}

/** One labelled histogram series. */
export interface HotHistogramSeries {
  /** Counts one observation; a value that is not a finite number is refused (TypeError), as prom-client refuses it. */
  observe(value: number): void;
}

class HistogramSeries implements HotHistogramSeries {
  /** Observations per bucket, not cumulative; the ones above the last bound are only in `count`. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly bounds: Float64Array,
  ) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${String(value)}`);
    const { bounds } = this;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    if (i < bounds.length) (this.counts[i] as number)++;
    this.sum += value;
    this.count += 1;
  }
}

type MetricValue = {
  labels: Record<string, string | number>;
  sharedLabels?: Readonly<Record<string, string>>;
  value: number;
  metricName: string;
  exemplar?: null;
};
type MetricData = { name: string; help: string; type: string; values: MetricValue[]; aggregator: string };

/**
 * A histogram with prom-client's exposition (the same `_bucket`/`_sum`/`_count` lines, in the
 * same order) and a cheap `observe` on a series looked up once per label combination.
 */
export class HotHistogram<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly labelNames: readonly L[];
  readonly #bounds: Float64Array;
  readonly #series: SeriesIndex<L, HistogramSeries>;

  constructor(config: { name: string; help: string; labelNames: readonly L[]; buckets: readonly number[]; registers: ReadonlyArray<Registry<RegistryContentType>> }) {
    const sorted = [...config.buckets].sort((a, b) => a - b);
    if (sorted.some((bound, i) => !Number.isFinite(bound) || (i > 0 && bound === sorted[i - 1]))) {
      throw new Error(`histogram ${config.name}: buckets must be distinct finite numbers, but got: ${config.buckets.join(', ')}`);
    }
    if (config.labelNames.includes('le' as L)) throw new Error(`histogram ${config.name}: le is a reserved label name`);
    this.name = config.name;
    this.help = config.help;
    this.labelNames = config.labelNames;
    this.#bounds = Float64Array.from(sorted);
    this.#series = new SeriesIndex(`histogram ${config.name}`, config.labelNames, (labels) => new HistogramSeries(labels, this.#bounds));
    for (const registry of config.registers) registry.registerMetric(this as unknown as Metric);
  }

  /** The series of these label values (in `labelNames` order, up to three), created on first use: Map reads after that. */
  labels(a?: string, b?: string, c?: string): HotHistogramSeries {
    return this.#series.find(a, b, c);
  }

  /** The values as prom-client's Histogram gives them to its registry's text format: `le` first, then the series' labels. */
  async getForPromString(): Promise<MetricData> {
    return this.#data(false);
  }

  /** The values as prom-client's Histogram's `get()` gives them (the registry's JSON). */
  async get(): Promise<MetricData> {
    return this.#data(true);
  }

  #data(splay: boolean): MetricData {
    const values: MetricValue[] = [];
    const bucket = `${this.name}_bucket`;
    const value = (metricName: string, amount: number, own: Record<string, string | number>, labels: Readonly<Record<string, string>>, bucketLine: boolean): MetricValue => {
      const line: MetricValue = splay ? { value: amount, metricName, labels: { ...own, ...labels } } : { labels: own, sharedLabels: labels, value: amount, metricName };
      // prom-client's bucket lines carry an (empty) exemplar slot; its sum and count lines do not.
      if (bucketLine) line.exemplar = null;
      return line;
    };
    for (const series of this.#series.values()) {
      let cumulative = 0;
      this.#bounds.forEach((bound, i) => {
        cumulative += series.counts[i] as number;
        values.push(value(bucket, cumulative, { le: bound }, series.labels, true));
      });
      values.push(value(bucket, series.count, { le: '+Inf' }, series.labels, true));
      values.push(value(`${this.name}_sum`, series.sum, {}, series.labels, false));
      values.push(value(`${this.name}_count`, series.count, {}, series.labels, false));
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** Forgets every series, as prom-client's `reset()` does: look a series up again after it (a held one no longer counts). */
  reset(): void {
    this.#series.clear();
  }
}
