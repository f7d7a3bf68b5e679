/**
 * deploy/prometheus/floorplan-rules.yaml: accepted by `promtool check rules` (skipped by name
 * where Debian's prometheus package is not installed; CI installs it), and every expression,
 * parsed with Prometheus' own PromQL grammar, names only metrics a running Floorplan serves on
 * /metrics, with labels those metrics have, and takes rates of counters only.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SyntaxNode } from '@lezer/common';
import { parser } from '@prometheus-io/lezer-promql';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.ts';
import { freePort } from '../support/processes.ts';

const RULES_FILE = join(import.meta.dirname, '..', '..', 'deploy', 'prometheus', 'floorplan-rules.yaml');
const ALERT_CASES = join(import.meta.dirname, 'prometheus-alerts.cases.yaml');
const HAS_PROMTOOL = spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0;
/** Labels Prometheus adds to every series it scrapes. */
const TARGET_LABELS = ['job', 'instance'];

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** What one rule's expression reads. */
interface RuleUse {
  readonly rule: string;
  /** Series names, as written (a histogram's `_bucket` included). */
  readonly metrics: string[];
  /** Label matchers, by the series they select. */
  readonly matchers: Array<{ metric: string; label: string }>;
  /** Labels of `by (…)` / `without (…)` and `on (…)` / `ignoring (…)`. */
  readonly grouping: string[];
  /** rate(), increase() and the like, with the series they read. */
  readonly counterFunctions: Array<{ fn: string; metric: string }>;
}

const COUNTER_FUNCTIONS = new Set(['rate', 'irate', 'increase', 'resets']);

function rules(): Rule[] {
  const file = parse(readFileSync(RULES_FILE, 'utf8')) as { groups: Array<{ rules: Rule[] }> };
  return file.groups.flatMap((g) => g.rules);
}

function text(expr: string, node: SyntaxNode): string {
  return expr.slice(node.from, node.to);
}

function analyse(rule: Rule): RuleUse {
  const { expr } = rule;
  const use: RuleUse = { rule: rule.alert ?? rule.record ?? expr, metrics: [], matchers: [], grouping: [], counterFunctions: [] };
  const tree = parser.parse(expr);
  tree.iterate({
    enter(ref) {
      if (ref.type.isError) throw new Error(`${use.rule}: PromQL syntax error at ${ref.from}: ${expr}`);
      const node = ref.node;
      if (ref.name === 'VectorSelector') {
        const metric = node.getChild('Identifier');
        if (metric === null) throw new Error(`${use.rule}: a selector without a metric name`);
        const name = text(expr, metric);
        use.metrics.push(name);
        for (const matcher of node.getChild('LabelMatchers')?.getChildren('UnquotedLabelMatcher') ?? []) {
          use.matchers.push({ metric: name, label: text(expr, matcher.getChild('LabelName')!) });
        }
      } else if (ref.name === 'GroupingLabels') {
        use.grouping.push(...node.getChildren('LabelName').map((l) => text(expr, l)));
      } else if (ref.name === 'FunctionCall') {
        const fn = text(expr, node.getChild('FunctionIdentifier')!);
        if (!COUNTER_FUNCTIONS.has(fn)) return;
        const selector = node.getChild('FunctionCallBody')?.getChild('MatrixSelector')?.getChild('VectorSelector')?.getChild('Identifier');
        if (selector) use.counterFunctions.push({ fn, metric: text(expr, selector) });
      }
    },
  });
  return use;
}

describe.skipIf(!HAS_PROMTOOL)('the Prometheus rules, checked by promtool', () => {
  it('are accepted by promtool check rules', () => {
    const run = spawnSync('promtool', ['check', 'rules', RULES_FILE], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(`SUCCESS: ${rules().length} rules found`);
  });

  it('fire when, and only when, their cases say (promtool test rules)', () => {
    // The rules without their annotations: the cases then name only the labels each alert fires with.
    const dir = mkdtempSync(join(tmpdir(), 'floorplan-rules-'));
    try {
      const file = parse(readFileSync(RULES_FILE, 'utf8')) as { groups: Array<{ rules: Rule[] }> };
      for (const rule of file.groups.flatMap((g) => g.rules)) delete rule.annotations;
      writeFileSync(join(dir, 'rules.yaml'), stringify(file));
      const cases = parse(readFileSync(ALERT_CASES, 'utf8')) as { rule_files?: string[]; tests: Array<{ alert_rule_test: Array<{ alertname: string }> }> };
      writeFileSync(join(dir, 'cases.yaml'), stringify({ ...cases, rule_files: ['rules.yaml'] }));
      // Every alert has a case.
      expect(new Set(cases.tests.flatMap((t) => t.alert_rule_test.map((a) => a.alertname)))).toEqual(new Set(rules().map((r) => r.alert)));

      const run = spawnSync('promtool', ['test', 'rules', 'cases.yaml'], { cwd: dir, encoding: 'utf8' });
      expect(`${run.stdout}${run.stderr}`).toContain('SUCCESS');
      expect(run.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the Prometheus rules, against a running Floorplan', () => {
  let harness: Harness;
  /** Every family on /metrics, by name, with its type. */
  const families = new Map<string, string>();
  /** Every series name /metrics can carry, with the family it belongs to. */
  const seriesFamily = new Map<string, string>();
  const uses = rules().map(analyse);

  beforeAll(async () => {
    // With a revision store, or floorplan_layout_store_up has no series: one nothing listens for
    // (nothing to start), which its first poll finds down.
    harness = await startHarness({ config: { layouts: { store: { kind: 'postgres', url: `postgres://floorplan@127.0.0.1:${await freePort()}/floorplan`, connectTimeoutMs: 1000, queryTimeoutMs: 1000 } } } });
    const exposition = await (await fetch(`${harness.url}/metrics`)).text();
    for (const [, name, type] of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      families.set(name!, type!);
      seriesFamily.set(name!, name!);
      const suffixes = type === 'histogram' ? ['_bucket', '_sum', '_count'] : type === 'summary' ? ['_sum', '_count'] : [];
      for (const suffix of suffixes) seriesFamily.set(`${name}${suffix}`, name!);
    }
  });

  afterAll(async () => {
    await harness?.close();
  });

  /** The label names a family is declared with (prom-client keeps them on the metric object). */
  function labelsOf(family: string): string[] {
    const metric = harness.server.metrics.registry.getSingleMetric(family) as unknown as { labelNames?: readonly string[] } | undefined;
    const extra = families.get(family) === 'histogram' ? ['le'] : [];
    return [...(metric?.labelNames ?? []), ...extra, ...TARGET_LABELS];
  }

  it('alert on degraded panels, shedding, open breakers, stale flags, layout revision skew and an unusable layout store', () => {
    const read = new Set(uses.flatMap((u) => u.metrics));
    for (const metric of [
      'floorplan_panels_total',
      'floorplan_shed_total',
      'floorplan_upstream_breaker_state',
      'floorplan_flags_fetch_age_seconds',
      'floorplan_layout_revision',
      'floorplan_layout_store_up',
      'floorplan_layout_store_privilege_refusals_total',
    ]) {
      expect(read, metric).toContain(metric);
    }
    for (const rule of rules()) {
      expect(rule.alert, rule.expr).toBeDefined();
      expect(rule.labels?.severity, rule.alert).toMatch(/^(page|warning)$/);
      expect(Object.keys(rule.annotations ?? {}).sort(), rule.alert).toEqual(['description', 'summary']);
    }
  });

  it('name only metrics that a running Floorplan serves on /metrics', () => {
    expect(families.size).toBeGreaterThan(10);
    const unknown = uses.flatMap((u) => u.metrics.filter((m) => !seriesFamily.has(m)).map((m) => `${u.rule}: ${m}`));
    expect(unknown).toEqual([]);
  });

  it('match and group by labels those metrics have', () => {
    const problems: string[] = [];
    for (const use of uses) {
      for (const { metric, label } of use.matchers) {
        const family = seriesFamily.get(metric);
        if (family !== undefined && !labelsOf(family).includes(label)) problems.push(`${use.rule}: ${metric} has no label ${label}`);
      }
      const available = new Set(use.metrics.flatMap((m) => (seriesFamily.has(m) ? labelsOf(seriesFamily.get(m)!) : [])));
      for (const label of use.grouping) if (!available.has(label)) problems.push(`${use.rule}: groups by ${label}, which none of ${[...new Set(use.metrics)].join(', ')} has`);
    }
    expect(problems).toEqual([]);
  });

  it('take rates and increases of counters only', () => {
    const notCounters = uses.flatMap((u) =>
      u.counterFunctions
        .filter(({ metric }) => {
          const family = seriesFamily.get(metric);
          const type = family === undefined ? undefined : families.get(family);
          return !(type === 'counter' || (type === 'histogram' && metric !== family));
        })
        .map(({ fn, metric }) => `${u.rule}: ${fn}(${metric})`),
    );
    expect(notCounters).toEqual([]);
  });
});
