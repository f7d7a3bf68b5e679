/**
 * Proves the end-to-end infrastructure with unleash-client alone (no Floorplan): a real
 * unleash-server on a fresh database, driven through its admin API, seen by a real SDK.
 * The `it`s run in order and share one server and one client, as a rollout would.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Unleash } from 'unleash-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUnleash, type UnleashHandle } from '../../deploy/unleash/local-server.ts';

const FLAG = 'floorplan-e2e-smoke-plus-rollout';
const LATE_FLAG = 'floorplan-e2e-smoke-after-restart';
const REFRESH_INTERVAL_MS = 1_000;
const USERS = 2_000;

/** Polls `condition` every 10 ms; resolves with the ms it took, rejects after `timeoutMs`. */
async function eventually(what: string, condition: () => boolean, timeoutMs: number): Promise<number> {
  const startedAt = performance.now();
  while (!condition()) {
    if (performance.now() - startedAt > timeoutMs) throw new Error(`${what}: not true within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return performance.now() - startedAt;
}

function contextOf(index: number, segment: 'plus' | 'basic') {
  return { userId: `user-${index}`, properties: { segment } };
}

describe('unleash-server 7.5.1 with unleash-client 6.12.1 (infrastructure smoke, no Floorplan)', () => {
  let unleash: UnleashHandle;
  let client: Unleash | undefined;
  let backupDir: string | undefined;
  const clientErrors: Error[] = [];
  /** A user in segment plus whom the 10 % rollout enables; found by the first test. */
  let enabledUser = -1;

  beforeAll(async () => {
    unleash = await startUnleash();
    await unleash.admin.createFlag(FLAG);
    await unleash.admin.addStrategy(FLAG, {
      name: 'flexibleRollout',
      parameters: { rollout: '10', stickiness: 'userId', groupId: FLAG },
      constraints: [{ contextName: 'segment', operator: 'IN', values: ['plus'] }],
    });
    await unleash.admin.enable(FLAG);

    // Its own backup file: the default one in the OS temp dir could make the client ready
    // with a previous run's flags.
    backupDir = await mkdtemp(join(tmpdir(), 'floorplan-e2e-unleash-client-'));
    client = new Unleash({
      appName: 'floorplan-e2e-smoke',
      url: unleash.apiUrl,
      refreshInterval: REFRESH_INTERVAL_MS,
      disableMetrics: true,
      backupPath: backupDir,
      customHeaders: { Authorization: unleash.backendToken },
      skipInstanceCountWarning: true,
    });
    // Without a listener, the first failed fetch (server stopped) would throw from emit().
    client.on('error', (error: Error) => clientErrors.push(error));
    const synchronized = client;
    await eventually('client synchronized', () => synchronized.isSynchronized(), 15_000);
  });

  afterAll(async () => {
    if (client !== undefined) {
      // destroy() during a fetch to an unreachable server can emit 'error': keep a listener.
      client.on('error', () => {});
      client.destroy();
    }
    await unleash?.dispose();
    if (backupDir !== undefined) await rm(backupDir, { recursive: true, force: true });
  });

  it('serves the 10 % userId rollout to about a tenth of segment plus and to nobody in segment basic', () => {
    const active = client!;
    let plus = 0;
    let basic = 0;
    for (let i = 0; i < USERS; i++) {
      if (active.isEnabled(FLAG, contextOf(i, 'plus'))) {
        plus++;
        if (enabledUser < 0) enabledUser = i;
      }
      if (active.isEnabled(FLAG, contextOf(i, 'basic'))) basic++;
    }
    expect(plus / USERS).toBeGreaterThanOrEqual(0.075);
    expect(plus / USERS).toBeLessThanOrEqual(0.125);
    expect(basic).toBe(0);
    expect(clientErrors).toEqual([]);
  });

  it('sees the flag disabled through the admin API within refreshInterval + 1 s', async () => {
    const active = client!;
    expect(active.isEnabled(FLAG, contextOf(enabledUser, 'plus'))).toBe(true);
    const disabledAt = performance.now();
    await unleash.admin.disable(FLAG);
    await eventually('client sees the flag off', () => !active.isEnabled(FLAG, contextOf(enabledUser, 'plus')), 10_000);
    expect(performance.now() - disabledAt).toBeLessThanOrEqual(REFRESH_INTERVAL_MS + 1_000);
  });

  it('keeps serving the last known flags while Unleash is stopped', async () => {
    const active = client!;
    await unleash.admin.enable(FLAG);
    await eventually('client sees the flag on again', () => active.isEnabled(FLAG, contextOf(enabledUser, 'plus')), 10_000);

    const errorsBefore = clientErrors.length;
    await unleash.stop();
    // A failed refresh proves the client really lost the server before we look at its flags.
    await eventually('client reports a failed refresh', () => clientErrors.length > errorsBefore, 15_000);
    expect(active.isEnabled(FLAG, contextOf(enabledUser, 'plus'))).toBe(true);
    expect(active.isEnabled(FLAG, contextOf(enabledUser, 'basic'))).toBe(false);
  });

  it('picks up a new flag after Unleash restarts on the same database with the same tokens', async () => {
    const active = client!;
    await unleash.restart();
    await unleash.admin.createFlag(LATE_FLAG);
    await unleash.admin.addStrategy(LATE_FLAG, { name: 'default', parameters: {} });
    await unleash.admin.enable(LATE_FLAG);
    // After failures the client backs off (refreshInterval × (failures + 1)), so allow for that.
    await eventually('client sees the flag created after the restart', () => active.isEnabled(LATE_FLAG, { userId: 'anyone' }), 20_000);
    expect(active.isEnabled(FLAG, contextOf(enabledUser, 'plus'))).toBe(true);
  });
});
