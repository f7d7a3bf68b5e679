/**
 * One upstream's host blackholed (its connects hang: nothing answers the SYN — a firewall
 * dropping packets, a dead node whose address still routes, a full accept queue) while users ask
 * for panels. Each call to it waits for a connection until the request's deadline cuts it off
 * (`deadline`, which the breaker ignores: Floorplan's own budget ran out), and the connection
 * fails only later, at its connect timeout, when no call waits for it any more. That failure is
 * the only one the host ever gives, so it counts against the upstream: the breaker opens as it
 * does for refused connections or timeouts, panels stop waiting for the host, and the log and
 * /metrics say why.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PANEL_QUERY, startHarness, type Harness, type PanelResult } from '../support/harness.ts';
import { startBlackhole, type Blackhole } from '../support/blackhole.ts';
import { metricValue, scrapeMetrics } from '../support/measure.ts';
import { loggerInto } from '../support/log-lines.ts';

/** The production default: every call to the blackholed host is cut off long before its connect timeout. */
const DEADLINE_MS = 250;
const CONNECT_TIMEOUT_MS = 200;
/** The breaker's minimum number of calls, lowered from 20 so a few sequential panels reach it. */
const MINIMUM_CALLS = 4;

describe('a panel while settlement’s host is blackholed (deadline 250 ms, real HTTP)', () => {
  let hole: Blackhole;
  let h: Harness;
  const lines: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    hole = await startBlackhole();
    const logger = loggerInto(lines, 'warn');
    h = await startHarness({
      baseUrls: { settlement: `http://127.0.0.1:${hole.port}/settlement` },
      config: {
        limits: { requestDeadlineMs: DEADLINE_MS },
        upstreams: { settlement: { connectTimeoutMs: CONNECT_TIMEOUT_MS, breakerMinimumCalls: MINIMUM_CALLS, breakerHalfOpenAfterMs: 60_000 } },
      },
      deps: { logger },
    });
  });
  afterAll(async () => {
    await h?.close();
    await hole?.close();
  });

  it('opens settlement’s breaker on its failed connections, says why, and then serves panels without waiting for it', async () => {
    const panel = () => h.graphql<PanelResult>('u1001', PANEL_QUERY, { scene: 'cart-bottom-sheet' });
    const breakerState = async () => metricValue(await scrapeMetrics(h.url), 'floorplan_upstream_breaker_state', { upstream: 'settlement' });
    // Panels one after another, as users ask, until the breaker opens (at most 40: 10 s of budgets).
    for (let asked = 0; asked < 40 && (await breakerState()) !== 1; asked++) {
      const { status, body } = await panel();
      expect(status).toBe(200);
      expect(body.data!.floorPanel.degraded).toBe(true);
      expect(body.data!.floorPanel.failedUpstreams).toEqual(['SETTLEMENT']);
    }
    expect(await breakerState()).toBe(1);

    // The log says why it opened: settlement's host takes no connection.
    const opened = lines.find((line) => line.msg === 'settlement circuit breaker is open: its calls fail at once until a trial call is answered');
    expect(opened?.reason).toMatch(new RegExp(`^settlement: could not connect to http://127\\.0\\.0\\.1:${hole.port}: no connection opened within connectTimeoutMs \\(${CONNECT_TIMEOUT_MS} ms\\)$`));

    // Open, the breaker answers settlement's calls at once: the panel is degraded as before, and
    // the calls are counted circuit_open.
    const before = await scrapeMetrics(h.url);
    const { body } = await panel();
    expect(body.data!.floorPanel.failedUpstreams).toEqual(['SETTLEMENT']);
    const metrics = await scrapeMetrics(h.url);
    const count = (name: string, labels: Record<string, string>) => metricValue(metrics, name, labels) - metricValue(before, name, labels);
    expect(count('floorplan_upstream_requests_total', { upstream: 'settlement', outcome: 'circuit_open' })).toBe(1);
    expect(count('floorplan_upstream_requests_total', { upstream: 'settlement', outcome: 'deadline' })).toBe(0);
    // /metrics says why too: settlement's connects time out; the other upstreams connect.
    expect(metricValue(metrics, 'floorplan_upstream_connect_failures_total', { upstream: 'settlement', reason: 'timeout' })).toBeGreaterThanOrEqual(MINIMUM_CALLS);
    for (const upstream of ['cart', 'promotion']) {
      for (const reason of ['timeout', 'refused', 'unresolved', 'other']) {
        expect(metricValue(metrics, 'floorplan_upstream_connect_failures_total', { upstream, reason }), `${upstream} ${reason}`).toBe(0);
      }
    }
  });
});
