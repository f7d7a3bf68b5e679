/**
 * Operators can explain what a user saw: /admin/preview takes every field of the Unleash context
 * the request path builds (the session included) and agrees with what real requests got; the
 * decision log line is enough to replay a request in the preview; and /metrics shows how old
 * the flags being served are, so flags that stopped updating show on a dashboard.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { panelWithDecision, startHarness, type Harness } from '../support/harness.ts';
import { metricValue, scrapeMetrics } from '../support/measure.ts';
import { exportFile } from '../flags/support.ts';
import { UPSTREAMS } from '../../src/upstreams/registry.ts';

const SHIPPED_FLAGS = (JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'config', 'flags.json'), 'utf8')) as { features: Array<{ name: string }> }).features.map((f) => f.name);

/** floor.plus-rebate for half the sessions, sticky on the session; the kill switches and layout flag off. */
const SESSION_ROLLOUT = exportFile([
  {
    name: 'floor.plus-rebate',
    enabled: true,
    strategies: [{ name: 'flexibleRollout', parameters: { rollout: '50', stickiness: 'sessionId', groupId: 'floor.plus-rebate' } }],
  },
  ...UPSTREAMS.map((u) => ({ name: `floorplan.kill.${u}`, enabled: false, type: 'kill-switch', strategies: [{ name: 'default' }] })),
  // Every flag the shipped floors name must exist (checked at load): those config/flags.json ships
  // (layout.cart-bottom-sheet, floor.free-shipping-notice, floor.loyalty-points, floor.new-customer, …); these stay off.
  ...SHIPPED_FLAGS.filter((name) => name !== 'floor.plus-rebate' && !name.startsWith('floorplan.kill.')).map((name) => ({ name, enabled: false, strategies: [{ name: 'default' }] })),
]);

const SESSIONS = Array.from({ length: 16 }, (_, i) => `c2Vzc2lvbi0${i}:tab/${i}+x==`);

interface Preview {
  viewer: Record<string, unknown>;
  context: Record<string, unknown>;
  floors: Array<{ code: string; shown: boolean; status: string; why: string; flag?: { enabled: boolean; summary: string; strategies: Array<{ misses: Array<{ message: string }> }> } }>;
  flags: Array<{ flag: string; enabled: boolean }>;
}

describe('operators explain what users saw', () => {
  let h: Harness;
  let dir: string;
  const logs: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'floorplan-explain-'));
    const flagsFile = join(dir, 'flags.json');
    writeFileSync(flagsFile, JSON.stringify(SESSION_ROLLOUT));
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    h = await startHarness({ config: { flags: { bootstrapFile: flagsFile } }, deps: { logger: pino({ level: 'info' }, sink) } });
  });
  afterAll(async () => {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const preview = async (body: Record<string, unknown>) => {
    const res = await fetch(`${h.url}/admin/preview`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${h.config.admin.token}` },
      body: JSON.stringify({ scene: 'cart-bottom-sheet', ...body }),
    });
    return { status: res.status, body: (await res.json()) as Preview & { error?: string; problems?: string[] } };
  };
  const panel = (headers: Record<string, string>) => panelWithDecision(h, headers);

  it('explains a rollout sticky on the session exactly as requests with that x-session-id get it', async () => {
    const outcomes = new Set<boolean>();
    for (const sessionId of SESSIONS) {
      const seen = (await panel({ 'x-session-id': sessionId })).floors.some((f) => f.code === 'plus-rebate');
      const { status, body } = await preview({ userId: 'u1001', sessionId });
      expect(status).toBe(200);
      const rebate = body.floors.find((f) => f.code === 'plus-rebate')!;
      expect({ sessionId, shown: rebate.shown, flag: rebate.flag!.enabled }).toEqual({ sessionId, shown: seen, flag: seen });
      if (!seen) {
        expect(rebate.status).toBe('flag-off');
        expect(rebate.flag!.strategies[0]!.misses[0]!.message).toMatch(/^rollout: session not in the first 50 % \(bucket \d+ of 100 by sessionId\)$/);
      }
      outcomes.add(seen);
    }
    expect([...outcomes].sort()).toEqual([false, true]);
  });

  it('explains that nobody without a session is in that rollout, as a request without x-session-id gets it', async () => {
    expect((await panel({})).floors.map((f) => f.code)).not.toContain('plus-rebate');
    const rebate = (await preview({ userId: 'u1001' })).body.floors.find((f) => f.code === 'plus-rebate')!;
    expect(rebate).toMatchObject({ shown: false, status: 'flag-off' });
    expect(rebate.flag!.strategies[0]!.misses[0]!.message).toBe('rollout: the context has no sessionId to stick to, so nobody is in the rollout');
  });

  it('replays a request from its decision log line: same context, same flag decisions', async () => {
    const p = await panel({ 'x-session-id': SESSIONS[3]!, 'x-app-version': '12.3.4 (5678)', 'x-app-platform': 'Android', 'accept-language': 'en' });
    const line = logs.find((l) => l.decisionId === p.decisionId) as Record<string, unknown> & { flags: unknown[] };
    const { userId, sessionId, segments, platform, appVersion, locale } = line;
    expect(locale).toBe('en');
    const { status, body } = await preview({ userId, sessionId, segments, platform, appVersion, locale });
    expect(status).toBe(200);
    expect(body.flags).toEqual(line.flags);
    expect(body.viewer).toMatchObject({ userId: 'u1001', sessionId: SESSIONS[3], platform: 'android', appVersion: '12.3.4+5678', locale: 'en' });
    expect(body.context).toMatchObject({ userId: 'u1001', sessionId: SESSIONS[3], properties: { platform: 'android', appVersion: '12.3.4+5678' } });
  });

  it('takes the app version and session id in every format the headers accept, and refuses what they refuse', async () => {
    for (const [appVersion, canonical] of [['12.3.4 (5678)', '12.3.4+5678'], ['12.3', '12.3.0'], ['12.3.4-beta.2+7', '12.3.4-beta.2+7']] as const) {
      const { status, body } = await preview({ userId: 'u1001', appVersion, sessionId: 'a:b/c+d==' });
      expect(status).toBe(200);
      expect(body.viewer).toMatchObject({ appVersion: canonical, sessionId: 'a:b/c+d==' });
    }
    const badVersion = await preview({ userId: 'u1001', appVersion: 'latest' });
    expect(badVersion.status).toBe(400);
    expect(badVersion.body.problems!.join('\n')).toMatch(/`appVersion` must be .*, but got: "latest"/);
    const badSession = await preview({ userId: 'u1001', sessionId: 's'.repeat(129) });
    expect(badSession.status).toBe(400);
    expect(badSession.body.problems!.join('\n')).toMatch(/`sessionId` must be/);
  });
});

describe('flag staleness on /metrics', () => {
  let unleash: Server;
  let answering = true;
  let h: Harness;

  beforeAll(async () => {
    unleash = createServer((req, res) => {
      if (req.url?.startsWith('/api/client/features') && answering) {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ version: 2, features: [] }));
        return;
      }
      res.statusCode = req.url?.startsWith('/api/client/features') ? 503 : 202;
      res.end();
    });
    await new Promise<void>((resolve) => unleash.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(unleash.address() as AddressInfo).port}/api`;
    h = await startHarness({ config: { flags: { unleashUrl: url, refreshIntervalMs: 100 } } });
  });
  afterAll(async () => {
    await h?.close();
    unleash.closeAllConnections();
    await new Promise<void>((resolve) => unleash.close(() => resolve()));
  });

  const age = async () => metricValue(await scrapeMetrics(h.url), 'floorplan_flags_fetch_age_seconds');
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('shows the age of the last successful fetch: small while Unleash answers, growing while it does not', async () => {
    expect(await scrapeMetrics(h.url)).toMatch(/^# TYPE floorplan_flags_fetch_age_seconds gauge$/m);
    expect(await age()).toBeLessThan(1);
    answering = false;
    await sleep(1500);
    const stale = await age();
    expect(stale).toBeGreaterThanOrEqual(1.2);
    await sleep(300);
    expect(await age()).toBeGreaterThan(stale);
    answering = true;
    const deadline = Date.now() + 5000;
    while ((await age()) >= 1 && Date.now() < deadline) await sleep(50);
    expect(await age()).toBeLessThan(1);
  });
});
