import { UPSTREAMS } from '../../src/upstreams/registry.ts';
import { readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, FloorplanError } from '../../src/errors.ts';
import { FlagService } from '../../src/flags/flag-service.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { eventually, flagsConfig, recordingLogger, ROOT, SHIPPED_FLAGS, tempFlagsDir, viewer } from './support.ts';

const silent = createLogger('silent');
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function started(...args: Parameters<typeof FlagService.start>): Promise<FlagService> {
  const service = await FlagService.start(...args);
  cleanups.push(() => service.stop());
  return service;
}

async function tempCopy() {
  const temp = await tempFlagsDir();
  cleanups.push(temp.remove);
  return temp;
}

describe('FlagService in local mode (no Unleash URL)', () => {
  it('evaluates the shipped config/flags.json: kill switches off, the floors on, everyone on the default layout', async () => {
    const service = await started(flagsConfig(), silent, { root: ROOT });
    expect(service.mode).toBe('local');
    expect(service.servingFrom).toBe('file');
    const shipped = [
      'floor.free-shipping-notice',
      'floor.loyalty-points',
      'floor.new-customer',
      'floor.plus-rebate',
      'floorplan.kill.cart',
      'floorplan.kill.loyalty',
      'floorplan.kill.promotion',
      'floorplan.kill.settlement',
      'layout.cart-bottom-sheet',
    ];
    // And the kill switch of every upstream registered since (README, "Adding an upstream", step 3).
    const killSwitches = UPSTREAMS.map((u) => `floorplan.kill.${u}`);
    expect(service.flagNames()).toEqual([...new Set([...shipped, ...killSwitches])].sort());

    for (let i = 0; i < 200; i++) {
      const flags = service.evaluate(viewer({ userId: `user-${i}`, segments: i % 2 ? ['plus'] : [] }));
      expect(flags.isEnabled('floorplan.kill.cart')).toBe(false);
      expect(flags.isEnabled('floorplan.kill.promotion')).toBe(false);
      expect(flags.isEnabled('floorplan.kill.settlement')).toBe(false);
      expect(flags.isEnabled('floor.plus-rebate')).toBe(true);
      expect(flags.isEnabled('floor.free-shipping-notice')).toBe(true);
      expect(flags.isEnabled('floor.new-customer')).toBe(true);
      expect(flags.isEnabled('floorplan.kill.loyalty')).toBe(false);
      expect(flags.isEnabled('floor.loyalty-points')).toBe(false);
      for (const killSwitch of killSwitches) expect(flags.isEnabled(killSwitch), killSwitch).toBe(false);
      expect(flags.variant('layout.cart-bottom-sheet')).toEqual({ name: 'default', enabled: true });
    }
  });

  it('ships the file in Unleash export format, with the kill switches typed kill-switch', async () => {
    const shipped = JSON.parse(await readFile(SHIPPED_FLAGS, 'utf8')) as {
      features: Array<{ name: string; type: string }>;
      featureStrategies: unknown[];
      tagTypes: unknown[];
    };
    expect(Object.keys(shipped).sort()).toEqual(
      ['contextFields', 'dependencies', 'featureEnvironments', 'featureStrategies', 'featureTags', 'features', 'segments', 'tagTypes'].sort(),
    );
    const killSwitches = shipped.features.filter((f) => f.name.startsWith(flagsConfig().killFlagPrefix));
    // One per registered upstream.
    expect(killSwitches.map((f) => [f.name, f.type])).toEqual(UPSTREAMS.map((u) => [`floorplan.kill.${u}`, 'kill-switch']));
  });

  it('applies a rewrite of the file within 2 s, and later requests see the new flags', async () => {
    const temp = await tempCopy();
    const reloads: string[] = [];
    const service = await started(flagsConfig({ bootstrapFile: temp.file }), silent, { onReload: (r) => reloads.push(r) });
    const before = service.evaluate(viewer());
    expect(before.isEnabled('floorplan.kill.promotion')).toBe(false);

    const edited = JSON.parse(await readFile(temp.file, 'utf8'));
    edited.featureEnvironments.find((e: { name: string }) => e.name === 'floorplan.kill.promotion').enabled = true;
    await temp.write(edited);

    await eventually('the kill switch is on', () => service.evaluate(viewer()).isEnabled('floorplan.kill.promotion'), 2_000);
    expect(reloads).toEqual(['applied']);
    // A request that started before the change keeps its decision.
    expect(before.isEnabled('floorplan.kill.promotion')).toBe(false);
  });

  it('rejects an invalid rewrite with a message naming the problem, and the last good flags keep answering', async () => {
    const temp = await tempCopy();
    const reloads: string[] = [];
    const { logger, lines } = recordingLogger();
    const service = await started(flagsConfig({ bootstrapFile: temp.file }), logger, { onReload: (r) => reloads.push(r) });

    const broken = JSON.parse(await readFile(temp.file, 'utf8'));
    broken.featureStrategies[4].parameters.rollout = 'most'; // floor.free-shipping-notice
    broken.featureEnvironments[3].enabled = false; // floor.plus-rebate off, but this file never applies
    await temp.write(broken);

    await eventually('the rewrite was handled', () => reloads.length > 0, 2_000);
    expect(reloads).toEqual(['rejected']);
    const rejection = lines.find((l) => l.level === 50);
    expect(rejection?.msg).toContain('rejected the change to');
    expect(rejection?.msg).toContain('`featureStrategies[4].parameters.rollout` must be a whole percentage from "0" to "100", but got: "most"');
    expect(rejection?.msg).toMatch(/flags\.json:\d+\)/);

    const flags = service.evaluate(viewer());
    expect(flags.isEnabled('floor.plus-rebate')).toBe(true);
    expect(flags.isEnabled('floor.free-shipping-notice')).toBe(true);

    // Fixing the file applies it.
    broken.featureStrategies[4].parameters.rollout = '100';
    await temp.write(broken);
    await eventually('the fixed file applies', () => reloads.length === 2, 2_000);
    expect(reloads).toEqual(['rejected', 'applied']);
    expect(service.evaluate(viewer()).isEnabled('floor.plus-rebate')).toBe(false);
  });

  it('rejects an edit that makes a variant sticky by a field Floorplan never sends (a typo would split each user at random), and the last good flags keep answering', async () => {
    const temp = await tempCopy();
    const reloads: string[] = [];
    const { logger, lines } = recordingLogger();
    const service = await started(flagsConfig({ bootstrapFile: temp.file }), logger, { onReload: (r) => reloads.push(r) });

    // A 50/50 split of the layout, sticky by "userid" (for userId): every request would draw anew.
    const edited = JSON.parse(await readFile(temp.file, 'utf8'));
    edited.featureEnvironments[5].variants = [
      { name: 'default', weight: 500, weightType: 'variable', stickiness: 'userid', overrides: [] },
      { name: 'compact', weight: 500, weightType: 'fix', stickiness: 'userid', overrides: [] },
    ];
    await temp.write(edited);

    await eventually('the edit was handled', () => reloads.length > 0, 2_000);
    expect(reloads).toEqual(['rejected']);
    const rejection = lines.find((l) => l.level === 50)?.msg;
    expect(rejection).toContain('rejected the change to');
    expect(rejection).toMatch(
      /`featureEnvironments\[5\]\.variants\[0\]\.stickiness` must be default, random or a context field Floorplan sends \(userId, sessionId, segment, segments, platform, appVersion\), but got: "userid" \(.*flags\.json:\d+\)/,
    );
    expect(rejection).toContain('`featureEnvironments[5].variants[1].stickiness`');
    // Everyone still sees the layout of the last good file.
    for (let i = 0; i < 50; i++) expect(service.evaluate(viewer({ userId: `user-${i}` })).variant('layout.cart-bottom-sheet')).toEqual({ name: 'default', enabled: true });
  });

  it('rejects an edit of a "variable" variant\'s weight, which Unleash recomputes, so the edit would silently do nothing', async () => {
    const temp = await tempCopy();
    const reloads: string[] = [];
    const { logger, lines } = recordingLogger();
    const service = await started(flagsConfig({ bootstrapFile: temp.file }), logger, { onReload: (r) => reloads.push(r) });

    // "default" 1000 and "compact" 0 (fix) become 800/200, both variable: it would stay 500/500.
    const edited = JSON.parse(await readFile(temp.file, 'utf8'));
    edited.featureEnvironments[5].variants[0].weight = 800;
    Object.assign(edited.featureEnvironments[5].variants[1], { weight: 200, weightType: 'variable' });
    await temp.write(edited);

    await eventually('the edit was handled', () => reloads.length > 0, 2_000);
    expect(reloads).toEqual(['rejected']);
    const rejection = lines.find((l) => l.level === 50)?.msg;
    expect(rejection).toContain('`featureEnvironments[5].variants[0].weight` must be 500 for variant "default": a "variable" variant\'s weight is computed (the 1000 left by "fix" variants, shared equally): give it weightType "fix" to set it, but got: 800');
    expect(rejection).toContain('`featureEnvironments[5].variants[1].weight` must be 500 for variant "compact"');
    expect(service.evaluate(viewer()).variant('layout.cart-bottom-sheet')).toEqual({ name: 'default', enabled: true });

    // Said with weightType fix, the split applies.
    Object.assign(edited.featureEnvironments[5].variants[1], { weight: 200, weightType: 'fix' });
    await temp.write(edited);
    await eventually('the fixed edit was handled', () => reloads.length === 2, 2_000);
    expect(reloads).toEqual(['rejected', 'applied']);
    expect(service.definition('layout.cart-bottom-sheet')?.variants?.map((v) => [v.name, v.weight])).toEqual([['compact', 200], ['default', 800]]);
  });

  it('reports the flags as freshly checked while the file is loaded as it is, and ageing once an edit is rejected', async () => {
    const temp = await tempCopy();
    const reloads: string[] = [];
    const service = await started(flagsConfig({ bootstrapFile: temp.file }), silent, { onReload: (r) => reloads.push(r), pollIntervalMs: 50 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The mtime poll (every 50 ms here) keeps confirming the file.
    expect(service.fetchAgeSeconds()).toBeLessThan(0.25);

    await temp.write('{"features": ');
    await eventually('the broken edit was rejected', () => reloads.length > 0, 2_000);
    const rejectedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 400));
    // Still serving the last good flags, now older than the file: the age counts from their last check.
    expect(service.fetchAgeSeconds()).toBeGreaterThanOrEqual(0.4);
    expect(service.fetchAgeSeconds(rejectedAt + 10_000)).toBeGreaterThanOrEqual(10);

    await temp.write(await readFile(SHIPPED_FLAGS, 'utf8'));
    await eventually('the fixed file applied', () => reloads.length === 2, 2_000);
    expect(service.fetchAgeSeconds()).toBeLessThan(0.25);
  });

  it('rejects a file that is not JSON, and one that was deleted, without dropping the flags', async () => {
    const temp = await tempCopy();
    const reloads: string[] = [];
    const { logger, lines } = recordingLogger();
    const service = await started(flagsConfig({ bootstrapFile: temp.file }), logger, { onReload: (r) => reloads.push(r) });

    await temp.write('{"features": [');
    await eventually('the bad JSON was handled', () => reloads.length === 1, 2_000);
    expect(lines.find((l) => l.level === 50)?.msg).toContain('the file is not valid JSON');
    expect(service.evaluate(viewer()).isEnabled('floor.plus-rebate')).toBe(true);

    await temp.remove();
    await eventually('the deletion was handled', () => reloads.length === 2, 2_000);
    expect(reloads).toEqual(['rejected', 'rejected']);
    expect(lines.filter((l) => l.level === 50)[1]?.msg).toContain('cannot read');
    expect(service.evaluate(viewer()).isEnabled('floor.plus-rebate')).toBe(true);
  });

  it('does nothing when the file is touched without a change', async () => {
    const temp = await tempCopy();
    const reloads: string[] = [];
    const service = await started(flagsConfig({ bootstrapFile: temp.file }), silent, { onReload: (r) => reloads.push(r), pollIntervalMs: 100 });
    await temp.write(await readFile(temp.file, 'utf8'));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(reloads).toEqual([]);
    expect(service.evaluate(viewer()).isEnabled('floor.plus-rebate')).toBe(true);
  });

  it('serves every flag off for a file without flags', async () => {
    const temp = await tempCopy();
    await temp.write({ version: 2, features: [] });
    const service = await started(flagsConfig({ bootstrapFile: temp.file }), silent);
    expect(service.flagNames()).toEqual([]);
    expect(service.servingFrom).toBe('none');
    expect(service.evaluate(viewer()).isEnabled('floor.plus-rebate')).toBe(false);
  });

  it('refuses to start on a missing or invalid file, naming the file', async () => {
    const missing = await FlagService.start(flagsConfig({ bootstrapFile: 'config/no-such-flags.json' }), silent, { root: ROOT }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(FloorplanError);
    expect((missing as FloorplanError).code).toBe(ErrorCode.FLAGS_INVALID);
    expect((missing as FloorplanError).message).toContain('config/no-such-flags.json');

    const temp = await tempCopy();
    await temp.write({ features: [], featureStrategies: [] });
    const invalid = await FlagService.start(flagsConfig({ bootstrapFile: temp.file }), silent).catch((e: unknown) => e);
    expect((invalid as FloorplanError).message).toContain("`tagTypes` must be a list: Unleash's import requires it ([] is fine)");
  });

  it('stops idempotently and no longer reacts to the file', async () => {
    const temp = await tempCopy();
    const reloads: string[] = [];
    const service = await FlagService.start(flagsConfig({ bootstrapFile: temp.file }), silent, { onReload: (r) => reloads.push(r), pollIntervalMs: 100 });
    await Promise.all([service.stop(), service.stop()]);
    await service.stop();
    await temp.write({ version: 2, features: [] });
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(reloads).toEqual([]);
  });
});
