/**
 * The fourth upstream, loyalty, end to end through real HTTP and the demo upstreams: its floor
 * shows when `floor.loyalty-points` is on, and when loyalty fails only that floor drops — the
 * sheet still adds up and says LOYALTY failed.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.ts';
import { invariantProblems, type InvariantPanel } from '../support/panel-invariant.ts';
import { metricValue, scrapeMetrics } from '../support/measure.ts';

const QUERY = /* GraphQL */ `
  query Loyalty($scene: String!) {
    floorPanel(scene: $scene) {
      degraded failedUpstreams degradedReasons
      floors { code kind name priceText amount { minor currency } subName }
    }
  }
`;

type Panel = InvariantPanel & { degraded: boolean; failedUpstreams: string[]; degradedReasons: string[]; floors: Array<{ code: string; name: string }> };

const SEED_CODES = ['spze', 'lj', 'coupon', 'plus95', 'shipping', 'plus-rebate', 'payable'];

interface FlagsFile {
  featureEnvironments: Array<{ featureName: string; enabled: boolean }>;
}

describe('the loyalty upstream and its floor (floor.loyalty-points on)', () => {
  let h: Harness;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'floorplan-loyalty-'));
    const flags = JSON.parse(readFileSync('config/flags.json', 'utf8')) as FlagsFile;
    const env = flags.featureEnvironments.find((e) => e.featureName === 'floor.loyalty-points');
    if (env === undefined) throw new Error('config/flags.json must define floor.loyalty-points');
    env.enabled = true;
    const flagsFile = join(dir, 'flags.json');
    writeFileSync(flagsFile, JSON.stringify(flags, null, 2));
    const calm = { breakerMinimumCalls: 10_000 };
    h = await startHarness({
      config: { flags: { bootstrapFile: flagsFile }, upstreams: { cart: calm, promotion: calm, settlement: calm, loyalty: { ...calm, timeoutMs: 150 } } },
    });
  });
  afterAll(async () => {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    h.demo.setFaults('');
    h.demo.resetCalls();
  });

  const panel = async (user = 'u1001') => {
    const res = await h.graphql<{ floorPanel: Panel }>(user, QUERY, { scene: 'cart-bottom-sheet' });
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.floorPanel;
  };

  it('shows the points this order earns as a text row, calling loyalty once, and the sheet still adds up', async () => {
    const p = await panel();
    expect(p.degraded).toBe(false);
    // u1001 is a PLUS member (double points): ¥20.90 of goods earns 40.
    expect(p.floors.find((f) => f.code === 'loyalty-points')).toMatchObject({ kind: 'TEXT', name: '积分', subName: '本单可得 40 积分', priceText: null, amount: null });
    expect(p.floors.map((f) => f.code)).toEqual([...SEED_CODES.slice(0, -1), 'loyalty-points', 'payable']);
    expect(invariantProblems(p, 'zh-CN')).toEqual([]);
    expect(h.demo.calls().loyalty).toBe(1);
    expect(h.demo.received('loyalty')).toEqual([{ userId: 'u1001', orders: [{ orderId: 'o0', lines: expect.any(Array) as unknown }] }]);
  });

  for (const fault of ['loyalty:hang', 'loyalty:error:503', 'loyalty:malformed']) {
    it(`drops only the loyalty row when ${fault}, degraded with LOYALTY in failedUpstreams`, async () => {
      h.demo.setFaults(fault);
      const p = await panel();
      expect(p.degraded).toBe(true);
      expect(p.failedUpstreams).toEqual(['LOYALTY']);
      expect(p.floors.map((f) => f.code)).toEqual(SEED_CODES);
      expect(p.floors.find((f) => f.code === 'payable')).toMatchObject({ priceText: '¥8.86' });
      expect(invariantProblems(p, 'zh-CN')).toEqual([]);
    });
  }

  it('counts a loyalty answer with no order for the orderId asked as one malformed call, not ok, dropping only its row', async () => {
    h.demo.tamper('loyalty', (answer) => ({ ...(answer as object), orders: [] }));
    try {
      const count = (text: string, outcome: string) => metricValue(text, 'floorplan_upstream_requests_total', { upstream: 'loyalty', outcome });
      const before = await scrapeMetrics(h.url);
      const p = await panel();
      expect(p).toMatchObject({ degraded: true, failedUpstreams: ['LOYALTY'], degradedReasons: ['UPSTREAM_FAILED'] });
      expect(p.floors.map((f) => f.code)).toEqual(SEED_CODES);
      const after = await scrapeMetrics(h.url);
      expect({ ok: count(after, 'ok') - count(before, 'ok'), malformed: count(after, 'malformed') - count(before, 'malformed') }).toEqual({ ok: 0, malformed: 1 });
    } finally {
      h.demo.tamper('loyalty', undefined);
    }
  });

  it('refuses a loyalty answer in another currency as CURRENCY_MISMATCH, dropping only its row', async () => {
    h.demo.tamper('loyalty', (answer) => {
      const a = answer as { usable: { value: { currency: string } } };
      return { ...a, usable: { ...a.usable, value: { ...a.usable.value, currency: 'USD' } } };
    });
    try {
      const p = await panel();
      expect(p).toMatchObject({ degraded: true, failedUpstreams: ['LOYALTY'], degradedReasons: ['CURRENCY_MISMATCH'] });
      expect(p.floors.map((f) => f.code)).toEqual(SEED_CODES);
    } finally {
      h.demo.tamper('loyalty', undefined);
    }
  });
});
