/**
 * The admin API keeps a scene's candidate coherent with what apps may ask for: a publish or
 * rollback that would take such a scene off the air is refused (409) while the candidate's users
 * keep being served it; a candidate without its scene's file is refused (400) rather than made a
 * copy of live over a colleague's; and the check refuses what publish refuses (an empty set).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { postLayoutAdmin } from '../support/layout-admin.ts';
import { freePort } from '../support/processes.ts';

const ADMIN = 'candidate-scenes-suite-token';
const CART = readFileSync('floors/cart-bottom-sheet.yaml', 'utf8');
const CHECKOUT = readFileSync('floors/checkout-summary.yaml', 'utf8');
const CHECKOUT_CANDIDATE = CHECKOUT.replace('version: "2026-11-21.1"', 'version: "2026-12-09.1"');
const QUERY = 'query Panel($scene: String!) { floorPanel(scene: $scene) { layoutVersion } }';

describe('a scene with a candidate, through the admin API (PGlite)', () => {
  let dir: string;
  let h: Harness;

  const post = (operation: string, body: unknown) => postLayoutAdmin(h.url, ADMIN, operation, body);
  const versionFor = async (userId: string, scene: string) => {
    const answer = await h.graphql<{ floorPanel: { layoutVersion: string } }>(userId, QUERY, { scene });
    return answer.body.data?.floorPanel.layoutVersion ?? answer.body.errors?.[0]?.extensions?.['code'];
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'floorplan-candidate-scenes-'));
    h = await startHarness({ config: { server: { port: await freePort() }, admin: { token: ADMIN }, layouts: { store: { kind: 'pglite', dataDir: join(dir, 'revisions') } } } });
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a publish or rollback that would take a scene with a candidate off the air (409), and its users keep the candidate', async () => {
    expect((await post('publish', { files: { 'cart-bottom-sheet.yaml': CART, 'checkout-summary.yaml': CHECKOUT }, message: 'both' })).status).toBe(200);
    const cartOnly = await post('publish', { files: { 'cart-bottom-sheet.yaml': CART }, message: 'checkout retired' });
    expect(cartOnly.status).toBe(200);
    expect((await post('rollback', { revision: 1 })).status).toBe(200);
    const staged = await post('candidate', { scene: 'checkout-summary', files: { 'checkout-summary.yaml': CHECKOUT_CANDIDATE }, rollout: { allowList: ['u1'] }, replaces: null });
    expect(staged.status, JSON.stringify(staged.body)).toBe(200);
    const candidate = staged.body.revision.revision as number;
    expect(await versionFor('u1', 'checkout-summary')).toBe(`2026-12-09.1+candidate.r${candidate}`);

    const published = await post('publish', { files: { 'cart-bottom-sheet.yaml': CART }, message: 'checkout retired again' });
    expect(published.status).toBe(409);
    expect(published.body).toEqual({
      code: ErrorCode.LAYOUT_SCENE_HAS_CANDIDATE,
      error:
        `this publish must keep on the air every scene that has a candidate, but it would take checkout-summary off the air, whose candidate (revision ${candidate}) is served to allow-list [u1], then 0 % by user id: ` +
        'they would be refused the scene, not kept on its candidate. Abort the candidate first (floors:abort -- checkout-summary, or POST /admin/layouts/abort {"scene":"checkout-summary"}), or keep its file in the set; nothing was changed',
    });
    const rolledBack = await post('rollback', { revision: cartOnly.body.revision.revision });
    expect(rolledBack.status).toBe(409);
    expect(rolledBack.body.code).toBe(ErrorCode.LAYOUT_SCENE_HAS_CANDIDATE);
    expect(rolledBack.body.error).toContain(`rollback to revision ${cartOnly.body.revision.revision} must keep on the air every scene that has a candidate`);

    // Everything still agrees: the scene is live, u1 gets its candidate, others live's floors.
    expect(await versionFor('u1', 'checkout-summary')).toBe(`2026-12-09.1+candidate.r${candidate}`);
    expect(await versionFor('u2', 'checkout-summary')).toBe('2026-11-21.1');
    expect((await post('history', {})).body.live).toBe(3);
    expect((await post('candidates', {})).body.candidates.map((c: { scene: string; revision: number }) => [c.scene, c.revision])).toEqual([['checkout-summary', candidate]]);
  }, 60_000);

  it("refuses a candidate whose files lack its scene's file (400), and keeps a colleague's candidate", async () => {
    const [before] = (await post('candidates', {})).body.candidates as Array<{ scene: string; revision: number }>;
    const empty = await post('candidate', { scene: 'checkout-summary', files: {}, rollout: { allowList: ['u1001'] } });
    expect(empty.status).toBe(400);
    expect(empty.body).toEqual({
      code: ErrorCode.LAYOUT_INVALID,
      error: 'the layouts are invalid; nothing was published',
      problems: ['`scene` must be one the candidate\'s floors define (none: no files were given), but got: "checkout-summary"'],
    });
    const other = await post('candidate', { scene: 'checkout-summary', files: { 'cart-bottom-sheet.yaml': CART } });
    expect(other.status).toBe(400);
    expect(other.body.problems).toEqual(['`scene` must be one the candidate\'s floors define ("cart-bottom-sheet"), but got: "checkout-summary" (the files given: "cart-bottom-sheet.yaml"; live\'s other scenes only complete them)']);
    expect((await post('candidates', {})).body.candidates).toEqual([expect.objectContaining({ scene: 'checkout-summary', revision: before?.revision, rollout: expect.objectContaining({ allowList: ['u1'] }) })]);
    expect((await post('history', {})).body.revisions[0].revision).toBe(before?.revision);
  });

  it('refuses in the check an empty set, as publish refuses it (400)', async () => {
    const problems = ['the published set must hold at least one <scene>.yaml, but got none'];
    const check = await post('check', { files: {} });
    expect(check).toEqual({ status: 400, body: { code: ErrorCode.LAYOUT_INVALID, error: 'the layouts are invalid', problems } });
    const publish = await post('publish', { files: {} });
    expect(publish).toEqual({ status: 400, body: { code: ErrorCode.LAYOUT_INVALID, error: 'the layouts are invalid; nothing was published', problems } });
  });
});
