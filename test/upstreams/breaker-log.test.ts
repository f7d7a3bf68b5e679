/**
 * What an upstream's breaker tells the on-call while the upstream is down: a hung upstream fails
 * a trial call every breakerHalfOpenAfterMs for as long as the outage lasts, and each failure
 * re-opens the breaker. The log says once that the outage started (a warning, with the failure
 * that opened it) and once that it ended (info); the trials between are debug lines only, while
 * /metrics still counts every time the breaker opened.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PANEL_QUERY, startHarness, type Harness, type PanelResult } from '../support/harness.ts';
import { loggerInto } from '../support/log-lines.ts';
import { metricValue, scrapeMetrics } from '../support/measure.ts';

const WARN = 40;
const INFO = 30;
const DEBUG = 20;
const TIMEOUT_MS = 150;
const HALF_OPEN_AFTER_MS = 100;
const FAILED_TRIALS = 3;

describe('the log of an upstream breaker through an outage (settlement hangs, real HTTP)', () => {
  let h: Harness;
  const lines: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    h = await startHarness({
      config: {
        upstreams: {
          settlement: { timeoutMs: TIMEOUT_MS, retries: 0, breakerMinimumCalls: 4, breakerHalfOpenAfterMs: HALF_OPEN_AFTER_MS },
        },
      },
      deps: { logger: loggerInto(lines, 'debug') },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  const panel = async () => {
    const { status, body } = await h.graphql<PanelResult>('u1001', PANEL_QUERY, { scene: 'cart-bottom-sheet' });
    expect(status).toBe(200);
    return body.data!.floorPanel;
  };
  const metric = async (name: string) => metricValue(await scrapeMetrics(h.url), name, { upstream: 'settlement' });
  const breakerState = () => metric('floorplan_upstream_breaker_state');
  /** Settlement's breaker's lines at `level` (the floors dropped meanwhile have their own, throttled warning). */
  const settlementLines = (level: number) => lines.filter((line) => line.level === level && String(line.msg).startsWith('settlement circuit breaker'));

  /** Settlement hangs until its breaker opens, fails `trials` trial calls, then answers again until it closes. */
  async function outage(trials: number): Promise<void> {
    h.demo.setFaults('settlement:hang');
    for (let asked = 0; asked < 40 && (await breakerState()) !== 1; asked++) await panel();
    expect(await breakerState()).toBe(1);
    // A panel asked after breakerHalfOpenAfterMs carries the trial call, which times out: open again.
    for (let failed = 0; failed < trials; ) {
      await sleep(HALF_OPEN_AFTER_MS + 30);
      const before = h.demo.calls().settlement;
      expect((await panel()).failedUpstreams).toEqual(['SETTLEMENT']);
      if (h.demo.calls().settlement > before) failed++;
    }
    expect(await breakerState()).toBe(1);
    h.demo.setFaults('');
    await sleep(HALF_OPEN_AFTER_MS + 30);
    for (let asked = 0; asked < 10 && (await breakerState()) !== 0; asked++) await panel();
    expect(await breakerState()).toBe(0);
    expect((await panel()).failedUpstreams).toEqual([]);
  }

  it('warns once when the breaker opens, keeps failed trial calls at debug, and says at info when it closes', async () => {
    const openedBefore = await metric('floorplan_upstream_breaker_opened_total');
    await outage(FAILED_TRIALS);

    expect(settlementLines(WARN)).toEqual([
      expect.objectContaining({
        msg: 'settlement circuit breaker is open: its calls fail at once until a trial call is answered',
        reason: expect.stringMatching(/^settlement: POST \/settlement\/quotes timed out: .* \(150 ms\)$/),
      }),
    ]);
    expect(settlementLines(INFO)).toEqual([
      expect.objectContaining({ msg: 'settlement circuit breaker is closed: its calls go through again', failedTrials: FAILED_TRIALS, openMs: expect.any(Number) }),
    ]);
    // Open from the first timeout to the answered trial: at least one wait before each trial.
    expect(settlementLines(INFO)[0]!.openMs).toBeGreaterThanOrEqual((FAILED_TRIALS + 1) * HALF_OPEN_AFTER_MS);
    // Whoever turns debug on sees every trial and why it failed.
    expect(settlementLines(DEBUG).map((line) => line.msg)).toEqual([
      ...Array.from({ length: FAILED_TRIALS }, () => [
        'settlement circuit breaker is half-open: letting one trial call through',
        'settlement circuit breaker is open again: its trial call failed',
      ]).flat(),
      'settlement circuit breaker is half-open: letting one trial call through',
    ]);
    // /metrics still counts every opening, the re-openings after failed trials too.
    expect((await metric('floorplan_upstream_breaker_opened_total')) - openedBefore).toBe(1 + FAILED_TRIALS);
  }, 20_000);

  it('warns again, once, when the next outage starts', async () => {
    lines.length = 0;
    await outage(1);
    expect(settlementLines(WARN).map((line) => line.msg)).toEqual(['settlement circuit breaker is open: its calls fail at once until a trial call is answered']);
    expect(settlementLines(INFO)).toEqual([expect.objectContaining({ msg: 'settlement circuit breaker is closed: its calls go through again', failedTrials: 1 })]);
  }, 20_000);
});
