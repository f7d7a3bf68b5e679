import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PANEL_QUERY, startHarness, type Harness, type PanelResult } from '../support/harness.ts';
import { metricValue } from '../support/measure.ts';
import { loggerInto } from '../support/log-lines.ts';

interface FlagsFile {
  featureEnvironments: Array<{ featureName: string; enabled: boolean; variants: Array<{ name: string; weight: number; weightType: string }> }>;
}

const ORIGINAL_FLAGS = readFileSync('config/flags.json', 'utf8');

/** Rewrites the temp flags file; `edit` changes the parsed export in place. */
function writeFlags(file: string, edit: (flags: FlagsFile) => void): void {
  const flags = JSON.parse(ORIGINAL_FLAGS) as FlagsFile;
  edit(flags);
  writeFileSync(file, JSON.stringify(flags, null, 2));
}

function setEnabled(flags: FlagsFile, name: string, enabled: boolean): void {
  const env = flags.featureEnvironments.find((e) => e.featureName === name);
  if (env === undefined) throw new Error(`no flag ${name} in config/flags.json`);
  env.enabled = enabled;
}

async function eventually<T>(probe: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 2000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await probe();
  while (!ok(last) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    last = await probe();
  }
  return last;
}

describe('operators: flags, kill switches, variants, hot reload, preview, decision record', () => {
  let h: Harness;
  let dir: string;
  let flagsFile: string;
  let floorsDir: string;
  const logLines: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'floorplan-operators-'));
    flagsFile = join(dir, 'flags.json');
    floorsDir = join(dir, 'floors');
    cpSync('floors', floorsDir, { recursive: true });
    writeFileSync(flagsFile, ORIGINAL_FLAGS);
    h = await startHarness({
      config: { flags: { bootstrapFile: flagsFile }, floors: { dir: floorsDir } },
      deps: { logger: loggerInto(logLines, 'info') },
    });
  });
  afterAll(async () => {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    writeFileSync(flagsFile, ORIGINAL_FLAGS);
    h.demo.resetCalls();
  });

  const panel = async (user = 'u1001', headers: Record<string, string> = {}, scene = 'cart-bottom-sheet') => {
    const res = await h.graphql<PanelResult & { floorPanel: { decisionId: string } }>(
      user,
      PANEL_QUERY.replace('scene layoutVersion', 'scene layoutVersion decisionId'),
      { scene },
      headers,
    );
    expect(res.status).toBe(200);
    return res.body.data!.floorPanel;
  };
  const codes = (p: { floors: Array<{ code: string }> }) => p.floors.map((f) => f.code);

  it('hides a floor everywhere within 2 s of its flag going off in the flags file, and shows it again', async () => {
    expect(codes(await panel())).toContain('plus-rebate');
    writeFlags(flagsFile, (f) => setEnabled(f, 'floor.plus-rebate', false));
    const off = await eventually(() => panel(), (p) => !codes(p).includes('plus-rebate'));
    expect(codes(off)).toEqual(['spze', 'lj', 'coupon', 'plus95', 'shipping', 'payable']);
    expect(codes(await panel('u-mj'))).not.toContain('plus-rebate');
    writeFileSync(flagsFile, ORIGINAL_FLAGS);
    const on = await eventually(() => panel(), (p) => codes(p).includes('plus-rebate'));
    expect(codes(on)).toContain('plus-rebate');
  });

  it('stops every call to an upstream whose kill switch is on, leaving out what needs it', async () => {
    writeFlags(flagsFile, (f) => setEnabled(f, 'floorplan.kill.promotion', true));
    const killed = await eventually(() => panel(), (p) => p.degraded);
    expect(killed.failedUpstreams).toEqual(['PROMOTION']);
    // The PLUS row's amount is settlement's: it stays, without the quota promotion would have given.
    expect(killed.floors.find((f) => f.code === 'plus95')).toMatchObject({ priceText: '-¥1.04', subName: null });
    h.demo.resetCalls();
    await panel();
    expect(h.demo.calls()).toMatchObject({ promotion: 0, cart: 1, settlement: 1 });
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    expect(metrics).toMatch(/floorplan_panels_degraded_total\{scene="cart-bottom-sheet",reason="UPSTREAM_FAILED"\} [1-9]/);
    // Each call the kill switch kept from being made is counted as the metric's help says.
    expect(metricValue(metrics, 'floorplan_upstream_requests_total', { upstream: 'promotion', outcome: 'killed' })).toBeGreaterThanOrEqual(2);
  });

  it('switches the layout version for users in a variant, and layoutVersion says which', async () => {
    expect((await panel()).layoutVersion).toBe('2026-11-21.1');
    writeFlags(flagsFile, (f) => {
      const env = f.featureEnvironments.find((e) => e.featureName === 'layout.cart-bottom-sheet')!;
      env.variants = [
        { ...env.variants[0]!, weight: 0, weightType: 'fix' },
        { ...env.variants[1]!, weight: 1000, weightType: 'variable' },
      ];
    });
    const compact = await eventually(() => panel(), (p) => p.layoutVersion.endsWith('compact'));
    expect(compact.layoutVersion).toBe('2026-11-21.1-compact');
    expect(codes(compact)).toEqual(['spze', 'lj', 'coupon', 'plus95', 'shipping', 'payable']);
    // A shopper who pays shipping gets a sheet that adds up in the experiment too: a shipping row, not "other charges" and degraded.
    const paying = await panel('u-basic');
    expect(paying.layoutVersion).toBe('2026-11-21.1-compact');
    expect({ degraded: paying.degraded, codes: codes(paying) }).toEqual({ degraded: false, codes: expect.arrayContaining(['shipping', 'payable']) });
    expect(codes(paying)).not.toContain('other-charges');
  });

  it('maps style tokens an older client does not know to their fallback', async () => {
    const payableOf = async (headers: Record<string, string>) => (await panel('u1001', headers)).floors.find((f) => f.code === 'payable')!;
    expect((await payableOf({ 'x-app-version': '12.1.0' })).style).toEqual(['bold', 'emphasis']);
    expect((await payableOf({ 'x-app-version': '11.9.3' })).style).toEqual(['bold']);
    expect((await payableOf({})).style).toEqual(['bold']);
  });

  it('never sends a floor to a client older than its minAppVersion (per platform)', async () => {
    const file = join(floorsDir, 'checkout-summary.yaml');
    const original = readFileSync(file, 'utf8');
    try {
      writeFileSync(
        file,
        original
          .replace('version: "2026-11-21.1"', 'version: "2026-11-21.2"')
          .replace('    flag: floor.free-shipping-notice\n', '    flag: floor.free-shipping-notice\n    minAppVersion: { ios: "12.3.0", android: "12.4.0" }\n'),
      );
      await eventually(() => panel('u1001', {}, 'checkout-summary'), (p) => p.layoutVersion === '2026-11-21.2');
      const notice = async (platform: string, version: string) =>
        codes(await panel('u1001', { 'x-app-platform': platform, 'x-app-version': version }, 'checkout-summary')).includes('free-shipping-notice');
      expect(await notice('ios', '12.3.0')).toBe(true);
      expect(await notice('ios', '12.2.9')).toBe(false);
      expect(await notice('android', '12.3.0')).toBe(false);
      expect(await notice('android', '12.4.1')).toBe(true);
      expect(await notice('web', '1.0.0')).toBe(true);
    } finally {
      writeFileSync(file, original);
      await eventually(() => panel('u1001', {}, 'checkout-summary'), (p) => p.layoutVersion === '2026-11-21.1');
    }
  });

  it('applies a floors edit without restart within 2 s, and keeps the last good layout on an invalid edit', async () => {
    const file = join(floorsDir, 'cart-bottom-sheet.yaml');
    const original = readFileSync(file, 'utf8');
    try {
      writeFileSync(file, original.replace('version: "2026-11-21.1"', 'version: "2026-11-21.9"').replace('zh-CN: 立减,', 'zh-CN: 限时立减,'));
      const edited = await eventually(() => panel(), (p) => p.layoutVersion === '2026-11-21.9');
      expect(edited.floors[1]).toMatchObject({ code: 'lj', name: '限时立减' });

      writeFileSync(file, original.replace('version: "2026-11-21.1"', 'version: "2026-11-21.10"').replace('    sort: 20\n', '    sort: top\n'));
      const metricsText = () => fetch(`${h.url}/metrics`).then((r) => r.text());
      const metrics = await eventually(metricsText, (t) => /floorplan_layout_reloads_total\{source="file",result="rejected"\} [1-9]/.test(t), 3000);
      expect(metrics).toMatch(/floorplan_layout_reloads_total\{source="file",result="rejected"\} [1-9]/);
      const still = await panel();
      expect(still.layoutVersion).toBe('2026-11-21.9');
      const rejected = logLines.find((l) => typeof l.msg === 'string' && JSON.stringify(l).includes('`floors[1].sort` must be an integer'));
      expect(JSON.stringify(rejected)).toMatch(/cart-bottom-sheet\.yaml:\d+/);
    } finally {
      writeFileSync(file, original);
      await eventually(() => panel(), (p) => p.layoutVersion === '2026-11-21.1');
    }
  });

  it('refuses a floors edit whose flag: name is not in the flags file (a typo), with file:line, instead of silently dropping the floor', async () => {
    const file = join(floorsDir, 'cart-bottom-sheet.yaml');
    const original = readFileSync(file, 'utf8');
    const line = original.split('\n').findIndex((l) => l.includes('flag: floor.plus-rebate')) + 1;
    try {
      writeFileSync(file, original.replace('version: "2026-11-21.1"', 'version: "2026-11-21.11"').replace('flag: floor.plus-rebate', 'flag: floor.plus-rebat'));
      const typo = () => logLines.find((l) => JSON.stringify(l).includes('floor.plus-rebat\\"'));
      await eventually(async () => typo(), (l) => l !== undefined, 3000);
      expect(JSON.stringify(typo())).toContain(`must name a flag defined in ${flagsFile}`);
      expect(JSON.stringify(typo())).toContain(`cart-bottom-sheet.yaml:${line})`);
      const still = await panel();
      expect(still.layoutVersion).toBe('2026-11-21.1');
      expect(codes(still)).toContain('plus-rebate');
    } finally {
      writeFileSync(file, original);
    }
  });

  it('refuses a flags-file edit that removes a flag a floor still names, and keeps the last good flags', async () => {
    const flags = JSON.parse(ORIGINAL_FLAGS) as { features: Array<{ name: string }>; featureStrategies: Array<{ featureName: string }>; featureEnvironments: Array<{ name: string }> };
    const without = (list: Array<Record<string, unknown>>, key: string) => list.filter((e) => e[key] !== 'floor.plus-rebate');
    flags.features = without(flags.features, 'name') as typeof flags.features;
    flags.featureStrategies = without(flags.featureStrategies, 'featureName') as typeof flags.featureStrategies;
    flags.featureEnvironments = without(flags.featureEnvironments, 'name') as typeof flags.featureEnvironments;
    writeFileSync(flagsFile, JSON.stringify(flags, null, 2));
    const refused = () => logLines.find((l) => JSON.stringify(l).includes('`floor.plus-rebate` must stay defined while a floors file names it'));
    await eventually(async () => refused(), (l) => l !== undefined, 3000);
    expect(JSON.stringify(refused())).toMatch(/cart-bottom-sheet\.yaml:\d+\)/);
    expect(h.server.flags.flagNames()).toContain('floor.plus-rebate');
    expect(codes(await panel())).toContain('plus-rebate');
  });

  it('logs every flag decision and the layout version once per request under the panel’s decisionId', async () => {
    const p = await panel('u1001', { 'x-app-platform': 'ios' });
    expect(p.decisionId).toMatch(/^[0-9a-f-]{36}$/);
    const records = logLines.filter((l) => l.decisionId === p.decisionId);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      msg: 'panel decisions',
      userId: 'u1001',
      platform: 'ios',
      panels: [{ scene: 'cart-bottom-sheet', layoutVersion: '2026-11-21.1', degraded: false }],
    });
    const flags = (records[0]!.flags as Array<{ flag: string; enabled: boolean }>).map((d) => d.flag).sort();
    expect(flags).toEqual(['floor.loyalty-points', 'floor.new-customer', 'floor.plus-rebate', 'floorplan.kill.cart', 'floorplan.kill.promotion', 'floorplan.kill.settlement', 'layout.cart-bottom-sheet']);
  });

  it('records no decision and counts no panel for an answer whose data the client never got (a second panel refused: data null)', async () => {
    const served = async () => metricValue(await (await fetch(`${h.url}/metrics`)).text(), 'floorplan_panels_total', { scene: 'cart-bottom-sheet', degraded: 'false' });
    const before = await served();
    const from = logLines.length;
    const query = 'query Two { sheet: floorPanel(scene: "cart-bottom-sheet") { layoutVersion decisionId } checkout: floorPanel(scene: "checkout-summary", selectedSkuIds: ["sku-gone"]) { layoutVersion } }';
    // Twice: Apollo runs an operation the first time, the fast path (a known operation) after.
    for (let i = 0; i < 2; i++) {
      const answer = await h.graphql('u1001', query, {});
      expect(answer.body.data).toBeNull();
      expect(answer.body.errors?.[0]?.message).toContain('sku-gone');
    }
    expect(logLines.slice(from).filter((l) => l.msg === 'panel decisions')).toEqual([]);
    expect(await served()).toBe(before);
    // The same panel asked alone is recorded and counted, once.
    await panel('u1001');
    expect(await served()).toBe(before + 1);
    expect(logLines.slice(from).filter((l) => l.msg === 'panel decisions')).toHaveLength(1);
  });

  describe('POST /admin/preview', () => {
    const preview = (body: unknown, token: string | null = h.config.admin.token) =>
      fetch(`${h.url}/admin/preview`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
        body: JSON.stringify(body),
      });

    it('refuses callers without the admin credential, including a valid user token', async () => {
      expect((await preview({ scene: 'cart-bottom-sheet', userId: 'u1001' }, null)).status).toBe(401);
      expect((await preview({ scene: 'cart-bottom-sheet', userId: 'u1001' }, await h.token('u1001'))).status).toBe(401);
    });

    it('explains every configured floor: shown, or hidden and why', async () => {
      writeFlags(flagsFile, (f) => setEnabled(f, 'floor.plus-rebate', false));
      await eventually(() => panel(), (p) => !codes(p).includes('plus-rebate'));
      const res = await preview({ scene: 'cart-bottom-sheet', userId: 'u-basic', segments: ['new'], platform: 'android', appVersion: '12.0.0', locale: 'en' });
      expect(res.status).toBe(200);
      const body = (await res.json()) as {
        layoutVersion: string;
        floors: Array<{ code: string; shown: boolean; status: string; why: string; flag?: { enabled: boolean; reason: string; summary: string } }>;
        panel: Array<{ code: string; name: string }>;
      };
      const byCode = Object.fromEntries(body.floors.map((f) => [f.code, f]));
      expect(body.floors.map((f) => f.code)).toEqual(['spze', 'lj', 'mj', 'coupon', 'new-customer', 'plus95', 'shipping', 'plus-rebate', 'loyalty-points', 'payable']);
      expect(byCode.spze).toMatchObject({ shown: true, status: 'shown' });
      // The expression floor: u-basic is no new customer, so settlement sent no new-customer discount.
      expect(byCode['new-customer']).toMatchObject({ shown: false, status: 'zero' });
      expect(byCode.mj).toMatchObject({ shown: false, status: 'zero' });
      expect(byCode.plus95).toMatchObject({ shown: false, status: 'empty' });
      expect(byCode['plus-rebate']).toMatchObject({ shown: false, status: 'flag-off', flag: { enabled: false, reason: 'disabled-in-environment' } });
      expect(byCode['plus-rebate']!.why).toContain('floor.plus-rebate');
      expect(body.panel[0]).toMatchObject({ code: 'spze', name: 'Goods total' });
    });

    it('says which upstream a killed floor’s decoration waited for', async () => {
      writeFlags(flagsFile, (f) => setEnabled(f, 'floorplan.kill.promotion', true));
      await eventually(() => panel(), (p) => p.degraded);
      const body = (await (await preview({ scene: 'cart-bottom-sheet', userId: 'u1001' })).json()) as { floors: Array<{ code: string; why: string }> };
      expect(body.floors.find((f) => f.code === 'plus95')!.why).toBe(
        'shown without {quotaRemaining} (its sub-name fell back) because promotion is killed by flag "floorplan.kill.promotion"',
      );
    });

    it('counts no panel for a preview: the panel metrics are what users were served', async () => {
      const served = async () => metricValue(await (await fetch(`${h.url}/metrics`)).text(), 'floorplan_panels_total', { scene: 'cart-bottom-sheet', degraded: 'false' });
      const before = await served();
      for (let i = 0; i < 3; i++) expect((await preview({ scene: 'cart-bottom-sheet', userId: 'u-basic', locale: 'en' })).status).toBe(200);
      expect(await served()).toBe(before);
    });

    it('takes any locale a request may send as accept-language, "*" among them, and renders the locale that request gets', async () => {
      for (const locale of ['*', 'fr-FR, *;q=0.5', 'en-GB']) {
        const served = await panel('u1001', { 'accept-language': locale });
        const res = await preview({ scene: 'cart-bottom-sheet', userId: 'u1001', locale });
        expect(res.status, locale).toBe(200);
        const body = (await res.json()) as { viewer: { locale: string }; panel: Array<{ code: string; name: string }> };
        expect(body.viewer.locale, locale).toBe(served.locale);
        expect(body.panel.map((f) => f.name), locale).toEqual(served.floors.map((f) => f.name));
      }
    });

    it('answers a bad request with the problems', async () => {
      const res = await preview({ scene: 'nope', userId: 'u1001' });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: 'scene must be one of "cart-bottom-sheet", "checkout-summary", but got: "nope"' });
      const bad = await preview({ userId: 7 });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { problems: string[] }).problems.length).toBeGreaterThan(0);
    });

    it('refuses a user id that is a dot segment, as the token verifier does: the cart would be asked for another path', async () => {
      const res = await preview({ scene: 'cart-bottom-sheet', userId: '..' });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { problems: string[] }).problems).toEqual([
        '`userId` must not be "." or ".." (a user id is a segment of the cart service\'s URL, where a proxy reads either as another path), but it is ".."',
      ]);
    });
  });
});
