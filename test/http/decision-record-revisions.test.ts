/**
 * The decision record (README, "Decision record") names the live revision a panel was rendered
 * from, and the candidate revision when the user was served one: `layoutVersion` alone cannot tell
 * apart two revisions that changed a scene under the same `version:` (a publish accepts that,
 * with a warning), and support reads the record to know which floors a user saw.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.ts';
import { eventually } from '../support/measure.ts';
import { postLayoutAdmin } from '../support/layout-admin.ts';
import { loggerInto } from '../support/log-lines.ts';

const CART = readFileSync(join('floors', 'cart-bottom-sheet.yaml'), 'utf8');
const CHECKOUT = readFileSync(join('floors', 'checkout-summary.yaml'), 'utf8');
/** 优惠券 renamed, the version kept: revision 2 reports what revision 1 did. */
const RENAMED = CART.replace('{ zh-CN: 优惠券, en: Coupons }', '{ zh-CN: 优惠, en: Coupons }');

describe('the decision record of a panel rendered from a published revision', () => {
  let h: Harness;
  let dir: string;
  const logLines: Array<Record<string, unknown>> = [];

  const admin = (operation: string, body: unknown) => postLayoutAdmin(h.url, h.config.admin.token, operation, body);
  /** The panel's layoutVersion and its decision record's panel entry. */
  const recorded = async (userId: string) => {
    const res = await h.graphql<{ floorPanel: { layoutVersion: string; decisionId: string } }>(userId, '{ floorPanel(scene: "cart-bottom-sheet") { layoutVersion decisionId } }');
    const { layoutVersion, decisionId } = res.body.data!.floorPanel;
    const record = await eventually(
      async () => logLines.find((l) => l.decisionId === decisionId && l.msg === 'panel decisions'),
      (l) => l !== undefined,
    );
    return { layoutVersion, panel: (record!.panels as Array<Record<string, unknown>>)[0] };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'floorplan-decision-record-'));
    h = await startHarness({
      config: { layouts: { store: { kind: 'pglite', dataDir: join(dir, 'revisions') } } },
      deps: { logger: loggerInto(logLines, 'info') },
    });
    expect((await admin('publish', { files: { 'cart-bottom-sheet.yaml': CART, 'checkout-summary.yaml': CHECKOUT }, message: 'baseline' })).status).toBe(200);
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('names the live revision, which tells apart two revisions serving the same layoutVersion', async () => {
    const before = await recorded('u-basic');
    expect(before.panel).toMatchObject({ scene: 'cart-bottom-sheet', layoutVersion: '2026-11-21.1', revision: 1 });
    expect((await admin('publish', { files: { 'cart-bottom-sheet.yaml': RENAMED, 'checkout-summary.yaml': CHECKOUT }, message: '优惠' })).status).toBe(200);
    const after = await recorded('u-basic');
    expect(after.layoutVersion).toBe(before.layoutVersion);
    expect(after.panel).toMatchObject({ layoutVersion: '2026-11-21.1', revision: 2 });
    expect(after.panel).not.toHaveProperty('candidateRevision');
  });

  it("names the candidate revision too when the user is served the scene's candidate", async () => {
    expect((await admin('candidate', { scene: 'cart-bottom-sheet', revision: 1, rollout: { allowList: ['u1001'] } })).status).toBe(200);
    try {
      const served = await eventually(() => recorded('u1001'), (r) => r.layoutVersion.includes('+candidate'));
      expect(served.panel).toMatchObject({ layoutVersion: '2026-11-21.1+candidate.r1', revision: 2, candidateRevision: 1 });
      expect((await recorded('u-basic')).panel).not.toHaveProperty('candidateRevision');
    } finally {
      await admin('abort', { scene: 'cart-bottom-sheet' });
    }
  });
});
