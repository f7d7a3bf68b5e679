/**
 * A warning logged while a panel request is served names that request's decision record
 * (README, "Decision record"): its `decisionId` and, when it was traced, its `traceId`, so an
 * operator reading "promotion failed; floors that need it were dropped" can open the record of
 * the request it degraded. Warnings logged once per cause stay once per cause: the one line names
 * the request that logged it.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PANEL_QUERY, startHarness, type Harness } from '../support/harness.ts';
import { loggerInto } from '../support/log-lines.ts';
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver.ts';
import { until } from '../support/until.ts';

type LogLine = Record<string, unknown> & { msg: string; level: number };
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const DECIDED_PANEL = PANEL_QUERY.replace('scene layoutVersion', 'scene layoutVersion decisionId');

/** u1001's cart sheet as a client sending `headers` gets it: its decisionId, failed upstreams, and the decision record its request logged. */
async function decided(h: Harness, lines: readonly LogLine[], headers: Record<string, string> = {}) {
  const res = await h.graphql<{ floorPanel: { decisionId: string; failedUpstreams: string[] } }>('u1001', DECIDED_PANEL, { scene: 'cart-bottom-sheet' }, headers);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  const { decisionId, failedUpstreams } = res.body.data!.floorPanel;
  await until(() => lines.some((l) => l.msg === 'panel decisions' && l.decisionId === decisionId), 'the decision record', 3000);
  return { decisionId, failedUpstreams, record: lines.find((l) => l.msg === 'panel decisions' && l.decisionId === decisionId)! };
}

const warnings = (lines: readonly LogLine[], pattern: RegExp) => lines.filter((l) => l.level === 40 && pattern.test(l.msg));

describe('warnings of a degraded request name its decision record', () => {
  let h: Harness;
  const lines: LogLine[] = [];
  beforeAll(async () => {
    h = await startHarness({ deps: { logger: loggerInto(lines, 'info') } });
  });
  afterAll(() => h.close());
  afterEach(() => {
    h.demo.setFaults('');
    h.demo.tamper('settlement', undefined);
  });

  it('names the request promotion failed for on its warning, and logs it once for the next one', async () => {
    h.demo.setFaults('promotion:error:503');
    const first = await decided(h, lines);
    expect(first.failedUpstreams).toEqual(['PROMOTION']);
    const [warning, ...more] = warnings(lines, /^promotion failed; floors that need it were dropped/);
    expect(more).toEqual([]);
    expect(warning).toMatchObject({ upstream: 'promotion', decisionId: first.decisionId });
    expect(warning).not.toHaveProperty('traceId');
    // The operator follows the id to the record of the request that was degraded.
    expect(first.record).toMatchObject({ userId: 'u1001', panels: [{ scene: 'cart-bottom-sheet', degraded: true, failedUpstreams: ['PROMOTION'] }] });

    const second = await decided(h, lines);
    expect(second.failedUpstreams).toEqual(['PROMOTION']);
    expect(second.decisionId).not.toBe(first.decisionId);
    // Still once per cause: the one line names the request that logged it.
    expect(warnings(lines, /^promotion failed; floors that need it were dropped/)).toEqual([warning]);
  });

  it('names the request whose settlement answer the cross-checks refused', async () => {
    h.demo.tamper('settlement', (answer) => {
      for (const quote of (answer as Json).quotes as Json[]) quote.payable.minor += 1;
      return answer;
    });
    const refused = await decided(h, lines);
    expect(refused.failedUpstreams).toEqual(['SETTLEMENT']);
    const [warning] = warnings(lines, /^settlement answer refused: /);
    expect(warning).toMatchObject({ code: 'FLOORPLAN_ERR_UPSTREAM_INCONSISTENT', upstream: 'settlement', reason: 'QUOTE_INCONSISTENT', decisionId: refused.decisionId });
  });
});

describe('warnings of a traced request name its trace too', () => {
  let receiver: OtlpReceiver;
  let h: Harness;
  const lines: LogLine[] = [];
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    h = await startHarness({
      faults: 'promotion:error:503',
      deps: { logger: loggerInto(lines, 'info') },
      // Only a caller's sampled traceparent makes a request traced.
      config: { tracing: { enabled: true, endpoint: receiver.tracesUrl, sampler: 'parentbased_traceidratio', samplerRatio: 0, scheduleDelayMs: 20 } },
    });
  });
  afterAll(async () => {
    await h.close();
    await receiver.close();
  });

  it('names the traceId of the decision record on the warning', async () => {
    const traceId = 'a7'.repeat(16);
    const traced = await decided(h, lines, { traceparent: `00-${traceId}-${'b'.repeat(16)}-01` });
    expect(traced.record.traceId).toBe(traceId);
    const [warning] = warnings(lines, /^promotion failed; floors that need it were dropped/);
    expect(warning).toMatchObject({ decisionId: traced.decisionId, traceId });
  });
});
