/**
 * Four eyes on money through the admin API and the command (issue 15 item 6): a Floorplan with
 * layouts.approval.required and three operators. The publisher of a candidate that changes a
 * DEDUCTION floor cannot approve it or promote it; a viewer may not approve; another publisher
 * approves it with `floors:approve --server`, and only then does it go live for users.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { eventually } from '../support/measure.ts';
import { npmStartEnv, runFloorsCli } from '../support/processes.ts';
import { postLayoutAdmin } from '../support/layout-admin.ts';

const ALICE = 'alice-publishes-candidates';
const BOB = 'bob-reviews-what-alice-did';
const VERA = 'vera-may-only-look-at-things';
const SCENE = 'cart-bottom-sheet';
const CART = readFileSync(join('floors', 'cart-bottom-sheet.yaml'), 'utf8');
const CHECKOUT = readFileSync(join('floors', 'checkout-summary.yaml'), 'utf8');
const files = (cart: string) => ({ 'cart-bottom-sheet.yaml': cart, 'checkout-summary.yaml': CHECKOUT });
const RENAMED = CART.replace('name: { zh-CN: 立减, en: Instant discount }', 'name: { zh-CN: 直降, en: Instant discount }').replace('version: "2026-11-21.1"', 'version: "2026-12-01.lj"');

describe('layout approval through the admin API and floors:approve', () => {
  let h: Harness;
  let dir: string;

  const admin = (operation: string, body: unknown, token: string) => postLayoutAdmin(h.url, token, operation, body);

  /** The layout a user gets, and the name of its 立减 row (shown to u1001, whose cart has one). */
  async function served(userId: string): Promise<string> {
    const res = await h.graphql<{ floorPanel: { layoutVersion: string; floors: Array<{ code: string; name: string }> } }>(userId, `{ floorPanel(scene: "${SCENE}") { layoutVersion floors { code name } } }`);
    const panel = res.body.data!.floorPanel;
    return `${panel.layoutVersion} ${panel.floors.find((f) => f.code === 'lj')?.name ?? '-'}`;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'floorplan-approval-'));
    h = await startHarness({
      config: {
        admin: { token: 'approval-suite-admin-token', operators: { alice: { token: ALICE, role: 'publisher' }, bob: { token: BOB, role: 'publisher' }, vera: { token: VERA, role: 'viewer' } } },
        // Every live request is compared with the candidate: promote needs a shadow comparison to read.
        layouts: { store: { kind: 'pglite', dataDir: join(dir, 'revisions') }, approval: { required: true }, shadow: { sampleRatio: 1 } },
      },
    });
    expect((await admin('publish', { files: files(CART), message: 'baseline' }, ALICE)).status).toBe(200);
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('counts the goods row as money by default: an edit of it is not published straight to live', async () => {
    // QA's case: spze turned into an expression with the quantity left out went live at once (changes: []).
    const spze = "  - code: spze\n    builder: spze\n    fallback: spze-cart       # settlement down: the cart's own total, panel marked degraded\n";
    expect(CART).toContain(spze);
    const slipped = CART.replace(spze, "  - code: spze\n    kind: GOODS\n    amount: 'sum(lines.map(l, l.unitPrice))'\n").replace('version: "2026-11-21.1"', 'version: "2026-12-01.spze"');
    const checked = await admin('check', { files: files(slipped) }, ALICE);
    expect(checked.body.approval).toEqual({ required: true, changes: [{ scene: SCENE, code: 'spze', kind: 'GOODS', change: 'changed' }] });
    expect((await admin('publish', { files: files(slipped), message: 'straight to live' }, ALICE)).status).toBe(409);
  });

  it('says in the publish check that a set changing money floors cannot be published straight to live', async () => {
    const checked = await admin('check', { files: files(RENAMED) }, ALICE);
    expect(checked.status).toBe(200);
    expect(checked.body.approval).toEqual({ required: true, changes: [{ scene: SCENE, code: 'lj', kind: 'DEDUCTION', change: 'changed' }] });
    // The publish it foretells is refused, as the check said.
    expect((await admin('publish', { files: files(RENAMED), message: 'straight to live' }, ALICE)).status).toBe(409);
    expect((await admin('check', { files: files(CART) }, ALICE)).body.approval).toEqual({ required: true, changes: [] });
  });

  it('refuses to promote a money candidate until another publisher approved it, then serves it', async () => {
    const candidate = await admin('candidate', { scene: SCENE, files: files(RENAMED), rollout: { allowList: ['u1001'] }, message: 'rename 立减' }, ALICE);
    expect(candidate.status).toBe(200);
    expect(candidate.body.approval).toEqual({ required: true, changes: [{ scene: SCENE, code: 'lj', kind: 'DEDUCTION', change: 'changed' }] });
    const revision = candidate.body.revision.revision as number;

    // Only the allow-listed user sees it meanwhile; the other's live request is compared with it in the shadow.
    expect(await served('u1001')).toBe(`2026-12-01.lj+candidate.r${revision} 直降`);
    expect(await served('u1002')).toMatch(/^2026-11-21\.1 /);
    await eventually(async () => (await admin('shadow', { scene: SCENE }, VERA)).body.compared as number, (compared) => compared >= 1);

    const promote = await admin('promote', { scene: SCENE }, ALICE);
    expect(promote.status).toBe(409);
    expect(promote.body.code).toBe(ErrorCode.LAYOUT_APPROVAL_REQUIRED);
    expect(promote.body.error).toContain('approved by an admin other than alice');

    const self = await admin('approve', { scene: SCENE, revision }, ALICE);
    expect(self).toEqual({
      status: 409,
      body: { code: ErrorCode.LAYOUT_CONFLICT, error: `alice published the candidate of ${SCENE} (revision ${revision}): another admin must approve it; nothing was changed` },
    });
    expect((await admin('approve', { scene: SCENE, revision }, VERA)).status).toBe(403);

    const approved = await runFloorsCli(['approve', SCENE, '--revision', String(revision), '--message', 'checked', '--server', h.url], npmStartEnv({ ADMIN_TOKEN: BOB, LAYOUT_APPROVAL_REQUIRED: 'true' }));
    expect(approved.stderr).toBe('');
    expect(approved.stdout).toContain(`approved the candidate of ${SCENE} (revision ${revision}, published by alice) as bob`);
    expect(approved.stdout).toContain('approval: given, for the money floors it changes: cart-bottom-sheet lj (DEDUCTION, changed); it may be promoted');

    const promoted = await admin('promote', { scene: SCENE }, ALICE);
    expect(promoted.status).toBe(200);
    expect(promoted.body).toMatchObject({ promotes: revision, approvedBy: 'bob' });
    expect(await served('u1001')).toBe('2026-12-01.lj 直降');
    expect(await served('u1002')).toMatch(/^2026-12-01\.lj /);

    const audit = (await admin('audit', { limit: 3 }, VERA)).body.entries as Array<{ actor: string; action: string }>;
    expect(audit.map((e) => `${e.actor} ${e.action}`)).toEqual(['alice promote', 'bob approve', 'alice candidate']);
  });

  it('refuses a self-approval from the command with exit 2 and nothing changed', async () => {
    const candidate = await admin('candidate', { scene: SCENE, files: files(CART) }, ALICE);
    const refused = await runFloorsCli(['approve', SCENE, '--server', h.url], npmStartEnv({ ADMIN_TOKEN: ALICE }));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`alice published the candidate of ${SCENE} (revision ${candidate.body.revision.revision}): another admin must approve it; nothing was changed`);
    expect((await admin('candidates', {}, VERA)).body.candidates[0]).toMatchObject({ approvedBy: null, publishedBy: 'alice' });
  });

  // Live is RENAMED by now: a candidate going back to the shipped 立减 changes a money floor too.
  it('refuses to stage or widen a money candidate beyond its allow-list before another publisher approved it: users outside the list keep live', async () => {
    const until = 'until it is approved it may reach its allow-list only; nothing was changed';
    const wide = await admin('candidate', { scene: SCENE, files: files(CART), rollout: { allowList: ['u1001'], percentage: 100 }, message: '立减 back, for everyone' }, ALICE);
    expect(wide.status).toBe(409);
    expect(wide.body).toEqual({
      code: ErrorCode.LAYOUT_APPROVAL_REQUIRED,
      error: `this candidate of ${SCENE} changes money floors (${SCENE} lj (DEDUCTION, changed)), so it must be approved by an admin other than alice (floors:approve -- ${SCENE}) first, but its rollout reaches beyond its allow-list (allow-list [u1001], then 100 % by user id): ${until}`,
    });

    const staged = await admin('candidate', { scene: SCENE, files: files(CART), rollout: { allowList: ['u1001'] }, message: '立减 back' }, ALICE);
    expect(staged.status).toBe(200);
    const revision = staged.body.revision.revision as number;
    const widened = await runFloorsCli(['rollout', SCENE, '--percentage', '100', '--server', h.url], npmStartEnv({ ADMIN_TOKEN: ALICE }));
    expect(widened.code).toBe(2);
    expect(widened.stdout).toBe('');
    expect(widened.stderr).toContain(
      `the candidate of ${SCENE} (revision ${revision}) changes money floors (${SCENE} lj (DEDUCTION, changed)), so it must be approved by an admin other than alice (floors:approve -- ${SCENE}) first, but this rollout would reach beyond its allow-list (allow-list [u1001], then 100 % by user id): ${until}`,
    );
    // Another publisher may not widen it either: only an approval does.
    expect((await admin('rollout', { scene: SCENE, segments: ['plus'] }, BOB)).body.code).toBe(ErrorCode.LAYOUT_APPROVAL_REQUIRED);
    expect((await admin('candidates', {}, VERA)).body.candidates[0].rollout).toMatchObject({ allowList: ['u1001'], percentage: 0, segments: [] });
    expect(await served('u1002')).toBe('2026-12-01.lj -');
    expect(await served('u1001')).toBe(`2026-11-21.1+candidate.r${revision} 立减`);

    expect((await admin('approve', { scene: SCENE, revision }, BOB)).status).toBe(200);
    const after = await runFloorsCli(['rollout', SCENE, '--percentage', '100', '--server', h.url], npmStartEnv({ ADMIN_TOKEN: ALICE }));
    expect(after.stderr).toBe('');
    expect(after.code).toBe(0);
    expect(await served('u1002')).toBe(`2026-11-21.1+candidate.r${revision} -`);
  });

  it('serves a money candidate whose wide rollout was stored before approval was required to its allow-list only, until another publisher approves it', async () => {
    const staged = await admin('candidate', { scene: SCENE, files: files(CART), rollout: { allowList: ['u1001'] }, message: '立减 back, again' }, ALICE);
    expect(staged.status).toBe(200);
    const revision = staged.body.revision.revision as number;
    // As a store written before layouts.approval.required was switched on held it: straight in the store, past the releases' check.
    const widened = await h.server.revisions!.changeRollout({ scene: SCENE, actor: 'alice', rollout: (current) => ({ ...current, percentage: 100 }) });
    await eventually(async () => h.server.layouts.candidate(SCENE)?.updatedAt, (updatedAt) => updatedAt === widened.updatedAt);
    expect(await served('u1002')).toBe('2026-12-01.lj -');
    expect(await served('u1001')).toBe(`2026-11-21.1+candidate.r${revision} 立减`);

    expect((await admin('approve', { scene: SCENE, revision }, BOB)).status).toBe(200);
    expect(await served('u1002')).toBe(`2026-11-21.1+candidate.r${revision} -`);
  });
});
