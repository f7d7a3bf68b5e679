/**
 * One upstream frozen (SIGSTOP: its sockets accept, nothing answers — a hung host) while 50
 * users ask at once: every answer is cut at Floorplan's deadline, well before the frozen
 * upstream's own timeout would have ended the wait, degraded with that upstream named, and the
 * others' floors intact. Floorplan, the frozen upstream and the others run as three processes,
 * as in production; the users are this test.
 *
 * The deadline here (400 ms) is longer than the default so the live upstreams' answers fit in
 * it with room to spare on a shared, busy CI machine (50 users at once, cart then settlement):
 * at 150 ms one CI run saw a settlement call cut too. The frozen upstreams' timeouts are set
 * far above it (UPSTREAM_<NAME>_TIMEOUT_MS), so "cut at the deadline" and "waited for the
 * upstream's timeout" stay apart.
 *
 * How close to the deadline the answers come (the issue's figure: p99 ≤ deadline + 20 ms) is
 * a speed, measured in `npm run bench` (the "frozen upstream" rows), not asserted here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadServiceConfig } from '../../src/config/service-config.ts';
import type { UpstreamName } from '../../src/upstreams/contracts.ts';
import { signDemoToken } from '../../src/viewer/demo-token.ts';
import { startFloorplanProcess, type FloorplanProcess } from '../support/floorplan-process.ts';
import { askPanelLikeTheApp } from '../support/harness.ts';
import { metricValue, scrapeMetrics } from '../support/measure.ts';
import { freePort, npmStartEnv } from '../support/processes.ts';

const DEADLINE_MS = 400;
/** The frozen upstreams' own timeouts: far above the request's upstream budget (deadline − 40 ms reserve). */
const FROZEN_TIMEOUT_MS = 1500;
/** Between the deadline and the frozen upstream's timeout: an answer this late waited for the upstream, not the deadline. */
const CUT_AT_DEADLINE_BOUND_MS = 1000;
const USERS = 50;
/** A user refused as overloaded asks again, as the app does (see `panels`). */
const MAX_ASKS = 3;
const auth = loadServiceConfig({ env: {} }).auth;

/** `npm run demo-upstreams` on its own port, so it can be frozen without freezing anything else. */
async function demoProcess(): Promise<{ child: ChildProcess; origin: string }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/demo-upstreams/main.ts'], { env: npmStartEnv({ DEMO_PORT: String(port) }), stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  if (!line.toString().includes('listening')) throw new Error(`demo upstreams did not start: ${line.toString()}`);
  child.stdout!.resume();
  return { child, origin: `http://127.0.0.1:${port}` };
}

describe.each<UpstreamName>(['promotion', 'settlement'])('%s frozen under 50 concurrent users', (frozen) => {
  let frozenDemo: { child: ChildProcess; origin: string };
  let liveDemo: { child: ChildProcess; origin: string };
  let fp: FloorplanProcess;
  let warmUpTokens: string[];
  let tokens: string[];

  /**
   * Each user asks once, as the app does, and asks again after a 503 OVERLOADED (at most twice,
   * after its Retry-After). On a starved CI machine (other test files' processes holding both
   * cores) Floorplan's loop can read as saturated when the first answers are cut: it cannot then
   * tell the freeze from its own lateness, and refuses rather than blame the upstream (see
   * Deadline.spentBySaturation). By the second ask the frozen upstream has been silent for longer
   * than any request waits, and the panel says so. `ms` is the last ask's.
   */
  const panels = (as: readonly string[] = tokens) =>
    Promise.all(as.map((token) => askPanelLikeTheApp(fp.url, token, { maxAsks: MAX_ASKS, waitMs: (refusal) => 1000 * Number(refusal.headers.get('retry-after') ?? 1) })));

  beforeAll(async () => {
    [frozenDemo, liveDemo] = await Promise.all([demoProcess(), demoProcess()]);
    const url = (upstream: UpstreamName) => `${upstream === frozen ? frozenDemo.origin : liveDemo.origin}/${upstream}`;
    fp = await startFloorplanProcess({
      PORT: String(await freePort()),
      DEMO_UPSTREAMS: 'off',
      UPSTREAM_CART_URL: url('cart'),
      UPSTREAM_PROMOTION_URL: url('promotion'),
      UPSTREAM_SETTLEMENT_URL: url('settlement'),
      REQUEST_DEADLINE_MS: String(DEADLINE_MS),
      UPSTREAM_PROMOTION_TIMEOUT_MS: String(FROZEN_TIMEOUT_MS),
      UPSTREAM_SETTLEMENT_TIMEOUT_MS: String(FROZEN_TIMEOUT_MS),
      LOG_LEVEL: 'warn',
    });
    const sign = (prefix: string) => Promise.all(Array.from({ length: USERS }, (_, i) => signDemoToken(auth, { userId: `${prefix}-${i}` })));
    // Other users for the warm-up: promotion answers are cached per user and would hide the freeze.
    [warmUpTokens, tokens] = await Promise.all([sign('warm-up'), sign('frozen')]);
    // Warm connections and code with the upstream healthy, as a running server would be.
    await panels(warmUpTokens);
    await panels(warmUpTokens);
    await panels(warmUpTokens);
    frozenDemo.child.kill('SIGSTOP');
  }, 60_000);
  afterAll(async () => {
    frozenDemo.child.kill('SIGCONT');
    for (const demo of [frozenDemo, liveDemo]) demo.child.kill('SIGTERM');
    await fp.terminate();
  });

  it(`answers every user at the deadline, before ${frozen}'s own timeout, degraded with ${frozen} named`, async () => {
    const before = await scrapeMetrics(fp.url);
    const timed = await panels();
    for (const { status, body } of timed) {
      expect(status, JSON.stringify(body)).toBe(200);
      expect(body.data!.floorPanel.degraded).toBe(true);
      expect(body.data!.floorPanel.failedUpstreams).toEqual([frozen.toUpperCase()]);
      expect(body.data!.floorPanel.floors.map((f) => f.code)).toContain('spze');
    }
    const sorted = timed.map((t) => t.ms).sort((a, b) => a - b);
    const p99 = sorted[Math.ceil(0.99 * sorted.length) - 1]!;
    expect(p99).toBeLessThan(CUT_AT_DEADLINE_BOUND_MS);
    // Cut off by Floorplan's deadline (its timeout is longer than the request's budget), the
    // frozen upstream is not blamed for it; the live upstreams answered every call.
    const metrics = await scrapeMetrics(fp.url);
    // Counted during the measured requests only (a cold warm-up may have had its own slow calls).
    const outcome = (upstream: string, o: string) =>
      metricValue(metrics, 'floorplan_upstream_requests_total', { upstream, outcome: o }) - metricValue(before, 'floorplan_upstream_requests_total', { upstream, outcome: o });
    // Settlement's calls are the requests' own: cut at the deadline, never its timeout. A
    // promotion call is a shared cache load that outlives the requests waiting on it, so it
    // ends at promotion's own timeout a moment later and rightly counts against a frozen
    // promotion (its breaker may then open); nothing about it is asserted here.
    if (frozen === 'settlement') {
      expect(outcome(frozen, 'timeout')).toBe(0);
      expect(metricValue(metrics, 'floorplan_upstream_breaker_opened_total', { upstream: frozen }) - metricValue(before, 'floorplan_upstream_breaker_opened_total', { upstream: frozen })).toBe(0);
    }
    for (const live of ['cart', 'promotion', 'settlement'].filter((u) => u !== frozen)) {
      expect(outcome(live, 'timeout') + outcome(live, 'deadline'), live).toBe(0);
    }
  });
});
