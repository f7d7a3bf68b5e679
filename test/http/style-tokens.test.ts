import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gte } from 'semver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PANEL_QUERY, startHarness, type Harness, type PanelResult } from '../support/harness.ts';

const ROOT = join(import.meta.dirname, '..', '..');

/** Issue 11, item 10: what apps of each version get, over real HTTP, once style fallbacks are checked at load. */
describe('style tokens over GraphQL, by app version', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  async function panel(scene: string, headers: Record<string, string>) {
    const res = await h.graphql<PanelResult>('u1001', PANEL_QUERY, { scene }, headers);
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.floorPanel;
  }
  const payableStyle = async (headers: Record<string, string>) => (await panel('checkout-summary', headers)).floors.find((f) => f.code === 'payable')!.style;

  it('sends the checkout total bold, not emphasis, to apps that send no version', async () => {
    expect(await payableStyle({})).toEqual(['bold']);
    expect(await payableStyle({ 'x-app-platform': 'ios' })).toEqual(['bold']);
  });

  it('sends it bold to the oldest supported apps and to any app older than 12.0.0', async () => {
    expect(await payableStyle({ 'x-app-platform': 'ios', 'x-app-version': '11.0.0' })).toEqual(['bold']);
    expect(await payableStyle({ 'x-app-platform': 'android', 'x-app-version': '11.9.3' })).toEqual(['bold']);
  });

  it('sends emphasis from 12.0.0 on, where apps know it', async () => {
    expect(await payableStyle({ 'x-app-platform': 'android', 'x-app-version': '12.0.0' })).toEqual(['bold', 'emphasis']);
    expect(await payableStyle({ 'x-app-platform': 'web', 'x-app-version': '12.3.0' })).toEqual(['bold', 'emphasis']);
  });

  it('never sends any app a token its version does not know, on either shipped scene', async () => {
    const { baseStyles, newerStyles } = h.config.apps;
    const clients: Array<Record<string, string>> = [{}, { 'x-app-version': '11.0.0' }, { 'x-app-version': '11.9.3' }, { 'x-app-version': '12.0.0' }];
    for (const scene of ['cart-bottom-sheet', 'checkout-summary']) {
      for (const headers of clients) {
        const version = headers['x-app-version'];
        const newer = Object.entries(newerStyles).filter(([, since]) => version !== undefined && gte(version, typeof since === 'string' ? since : since.default!));
        const known = [...baseStyles, ...newer.map(([token]) => token)];
        const sent = (await panel(scene, headers)).floors.flatMap((f) => f.style);
        expect({ scene, version, unknown: sent.filter((t) => !known.includes(t)) }).toEqual({ scene, version, unknown: [] });
      }
    }
  });
});

describe('a per-platform minimum, over GraphQL, for an app that names a platform no layout lists', () => {
  let h: Harness;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'floorplan-platforms-'));
    for (const name of readdirSync(join(ROOT, 'floors')).filter((n) => n.endsWith('.yaml'))) {
      const source = readFileSync(join(ROOT, 'floors', name), 'utf8');
      writeFileSync(join(dir, name), source.replace('emphasis: { minAppVersion: "12.0.0", fallback: bold }', 'emphasis: { minAppVersion: { ios: "12.0.0", android: "12.1.0", default: "12.0.0" }, fallback: bold }'));
    }
    h = await startHarness({ config: { floors: { dir } } });
  });
  afterAll(async () => {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives a platform named like an object property (constructor, __proto__, toString) the default minimum, not a server error', async () => {
    for (const platform of ['constructor', '__proto__', 'tostring', 'hasownproperty']) {
      for (const [version, style] of [['12.0.5', ['bold', 'emphasis']], ['11.0.0', ['bold']]] as const) {
        const res = await h.graphql<PanelResult>('u1001', PANEL_QUERY, { scene: 'checkout-summary' }, { 'x-app-platform': platform, 'x-app-version': version });
        expect({ platform, version, errors: res.body.errors }).toEqual({ platform, version, errors: undefined });
        expect({ platform, version, style: res.body.data!.floorPanel.floors.find((f) => f.code === 'payable')!.style }).toEqual({ platform, version, style });
      }
    }
    // The platforms the layout lists keep their own minimums.
    const android = await h.graphql<PanelResult>('u1001', PANEL_QUERY, { scene: 'checkout-summary' }, { 'x-app-platform': 'android', 'x-app-version': '12.0.5' });
    expect(android.body.data!.floorPanel.floors.find((f) => f.code === 'payable')!.style).toEqual(['bold']);
  });
});
