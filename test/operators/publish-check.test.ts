/**
 * POST /admin/layouts/check and the publishing routes against the live app versions
 * (config/clients.yaml): the check answers the compatibility matrix, and a set some live
 * version cannot render is refused by check, publish and candidate alike, with its problems.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.ts';
import { defaultBuilders } from '../../src/floors/builders/index.ts';
import { createBuilderRegistry } from '../../src/floors/registry.ts';
import { compileFloorsSources, layoutInvalid } from '../../src/layouts/compile.ts';
import type { CompatibilityReport, CompatibilityRow } from '../../src/layouts/compatibility.ts';
import type { LayoutOperations } from '../../src/layouts/revisions/releases.ts';
import { createPublishCheckHandler } from '../../src/operators/publish-check.ts';
import { startHarness, type Harness } from '../support/harness.ts';

const ADMIN = 'publish-check-suite-token';
const SHIPPED = {
  'cart-bottom-sheet.yaml': readFileSync('floors/cart-bottom-sheet.yaml', 'utf8'),
  'checkout-summary.yaml': readFileSync('floors/checkout-summary.yaml', 'utf8'),
};
/** The shipped set, with emphasis sent to Android only from 12.2.0, the version that understands it here. */
const FIXED = Object.fromEntries(
  Object.entries(SHIPPED).map(([name, source]) => [name, source.replace('emphasis: { minAppVersion: "12.0.0", fallback: bold }', 'emphasis: { minAppVersion: { android: "12.2.0", default: "12.0.0" }, fallback: bold }')]),
);

describe('the publish check and the publishing routes against the live app versions (PGlite)', () => {
  let dir: string;
  let h: Harness;

  async function post(operation: string, body: unknown): Promise<{ status: number; body: Record<string, any> }> {
    const res = await fetch(`${h.url}/admin/layouts/${operation}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'floorplan-publish-check-'));
    // The committed clients file, but Android understands emphasis only from 12.2.0 while 12.1.0 is live.
    const clients = readFileSync('config/clients.yaml', 'utf8').replace(/emphasis: "12\.0\.0"/, 'emphasis: { ios: "12.0.0", android: "12.2.0" }');
    writeFileSync(join(dir, 'clients.yaml'), clients);
    h = await startHarness({
      config: {
        admin: { token: ADMIN },
        floors: { clientsFile: join(dir, 'clients.yaml') },
        layouts: { store: { kind: 'pglite', dataDir: join(dir, 'revisions') } },
      },
    });
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a set a live version cannot render — check, publish and candidate alike — with every problem and the matrix', async () => {
    for (const [operation, body] of [
      ['check', { files: SHIPPED }],
      ['publish', { files: SHIPPED, message: 'emphasis for everyone' }],
      ['candidate', { scene: 'checkout-summary', files: SHIPPED }],
    ] as const) {
      const refused = await post(operation, body);
      expect(refused.status, operation).toBe(409);
      expect(refused.body.code, operation).toBe(ErrorCode.LAYOUT_INCOMPATIBLE);
      expect(refused.body.error, operation).toBe('some live app version would be sent what it does not understand; nothing was published');
      expect(refused.body.problems, operation).toEqual([
        expect.stringMatching(/^android 12\.1\.0 must understand every style token it is sent, but floor "payable" of cart-bottom-sheet would send it "emphasis" \(understood from android 12\.2\.0; .*\(cart-bottom-sheet\.yaml:71\)$/),
        expect.stringContaining('floor "payable" of cart-bottom-sheet (variant compact) would send it "emphasis"'),
        expect.stringContaining('floor "payable" of checkout-summary would send it "emphasis"'),
      ]);
      const report = refused.body.compatibility as CompatibilityReport;
      expect(report.problems.map((p) => [p.platform, p.version, p.scene, p.variant, p.floor, p.what, p.name])).toEqual([
        ['android', '12.1.0', 'cart-bottom-sheet', null, 'payable', 'style', 'emphasis'],
        ['android', '12.1.0', 'cart-bottom-sheet', 'compact', 'payable', 'style', 'emphasis'],
        ['android', '12.1.0', 'checkout-summary', null, 'payable', 'style', 'emphasis'],
      ]);
    }
  });

  it('answers the check with what every live version would get, then publishes the set', async () => {
    const check = await post('check', { files: FIXED });
    expect(check.status).toBe(200);
    expect(check.body.live).toBeNull();
    const report = check.body.compatibility as CompatibilityReport;
    expect(report.clientsFile).toBe(join(dir, 'clients.yaml'));
    expect(report.problems).toEqual([]);
    const row = (platform: string, version: string): CompatibilityRow | undefined =>
      report.rows.find((r) => r.platform === platform && r.version === version && r.scene === 'checkout-summary');
    expect(row('android', '12.1.0')).toMatchObject({ checked: true, styles: [{ token: 'muted', sent: 'muted' }, { token: 'bold', sent: 'bold' }, { token: 'emphasis', sent: 'bold' }], problems: [] });
    expect(row('ios', '12.0.0')?.styles).toContainEqual({ token: 'emphasis', sent: 'emphasis' });
    expect(row('ios', '10.8.2')).toMatchObject({ checked: false, oldestSupported: '11.0.0', floors: [] });
    // Nothing was published by the check or the refusals before it.
    expect((await post('history', {})).body).toEqual({ live: null, revisions: [] });

    const published = await post('publish', { files: FIXED, message: 'emphasis from android 12.2.0' });
    expect(published.status).toBe(200);
    expect(published.body.revision).toMatchObject({ revision: 1 });
  }, 120_000);
});

describe('POST /admin/layouts/check without a clients file', () => {
  it('validates and diffs as before, and says the compatibility check was skipped', async () => {
    const registry = createBuilderRegistry(defaultBuilders);
    const none = async () => ({ live: null, revisions: [] });
    const handler = createPublishCheckHandler({
      validate: (sources) => {
        const compiled = compileFloorsSources(sources, registry, ['zh-CN', 'en']);
        if (compiled.layouts === undefined) throw layoutInvalid(compiled.problems);
        return compiled.layouts;
      },
      compatibility: () => undefined,
      as: () => ({ history: none }) as unknown as LayoutOperations,
    });
    const answer = await handler({ files: SHIPPED }, { identity: 'admin', role: 'publisher' } as never);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      live: null,
      scenes: [
        { scene: 'cart-bottom-sheet', version: '2026-11-21.1' },
        { scene: 'checkout-summary', version: '2026-11-21.1' },
      ],
      compatibility: { skipped: 'no clients file (config floors.clientsFile): the set was not checked against the live app versions' },
    });
  });
});
