/**
 * A candidate of a scene live does not serve yet (a brand-new panel canaried to an allow-list
 * before it goes live): its users get the candidate's panel through GraphQL, everyone else the
 * refusal an unknown scene gets; the preview shows the same, and the shadow comparison, having
 * no live panel to compare with, compares nothing rather than failing.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.ts';
import { postLayoutAdmin } from '../support/layout-admin.ts';
import { freePort } from '../support/processes.ts';

const ADMIN = 'new-scene-candidate-suite-token';
const CART = readFileSync('floors/cart-bottom-sheet.yaml', 'utf8');
const CHECKOUT = readFileSync('floors/checkout-summary.yaml', 'utf8');
/** The new panel: checkout's floors under another scene. */
const GIFT = CHECKOUT.replace('scene: checkout-summary', 'scene: gift-summary').replace('version: "2026-11-21.1"', 'version: "2026-12-20.1"');
const QUERY = 'query Panel($scene: String!) { floorPanel(scene: $scene) { scene layoutVersion floors { code } } }';

describe('a candidate of a scene live does not serve yet, through GraphQL', () => {
  let dir: string;
  let h: Harness;
  let candidate: number;

  const post = (operation: string, body: unknown) => postLayoutAdmin(h.url, ADMIN, operation, body);
  const preview = async (body: unknown) => {
    const res = await fetch(`${h.url}/admin/preview`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const ask = (userId: string) => h.graphql<{ floorPanel: { scene: string; layoutVersion: string; floors: Array<{ code: string }> } }>(userId, QUERY, { scene: 'gift-summary' });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'floorplan-new-scene-'));
    h = await startHarness({ config: { server: { port: await freePort() }, admin: { token: ADMIN }, layouts: { store: { kind: 'pglite', dataDir: join(dir, 'revisions') }, shadow: { sampleRatio: 1 } } } });
    expect((await post('publish', { files: { 'cart-bottom-sheet.yaml': CART, 'checkout-summary.yaml': CHECKOUT }, message: 'live' })).status).toBe(200);
    const staged = await post('candidate', { scene: 'gift-summary', files: { 'gift-summary.yaml': GIFT }, rollout: { allowList: ['u1001'] }, replaces: null });
    expect(staged.status, JSON.stringify(staged.body)).toBe(200);
    candidate = staged.body.revision.revision as number;
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("serves the candidate's panel to a user in its rollout, and refuses the scene to everyone else as an unknown one", async () => {
    const served = await ask('u1001');
    expect(served.body.errors).toBeUndefined();
    expect(served.body.data?.floorPanel).toMatchObject({ scene: 'gift-summary', layoutVersion: `2026-12-20.1+candidate.r${candidate}` });
    expect(served.body.data?.floorPanel.floors.length).toBeGreaterThan(0);

    const refused = await ask('u2002');
    expect(refused.body.data?.floorPanel ?? null).toBeNull();
    expect(refused.body.errors?.[0]).toMatchObject({
      message: 'scene must be one of "cart-bottom-sheet", "checkout-summary", but got: "gift-summary"',
      extensions: { code: 'BAD_USER_INPUT', argumentName: 'scene' },
    });
    // The scenes live serves are untouched.
    expect((await h.graphql<{ floorPanel: { layoutVersion: string } }>('u1001', QUERY, { scene: 'checkout-summary' })).body.data?.floorPanel.layoutVersion).toBe('2026-11-21.1');
  });

  it('previews the candidate alone for a user in its rollout, even beside live, and refuses the scene for others as real traffic does', async () => {
    const both = await preview({ userId: 'u1001', scene: 'gift-summary', layout: 'both' });
    expect(both.status, JSON.stringify(both.body)).toBe(200);
    expect(both.body).toMatchObject({ scene: 'gift-summary', layoutVersion: `2026-12-20.1+candidate.r${candidate}`, candidate: { revision: candidate, served: true } });
    expect(both.body.panels.map((p: { layout: string; served: boolean }) => [p.layout, p.served])).toEqual([['candidate', true]]);

    const outside = await preview({ userId: 'u2002', scene: 'gift-summary', layout: 'both' });
    expect(outside.status).toBe(400);
    expect(outside.body.error).toBe('scene must be one of "cart-bottom-sheet", "checkout-summary", but got: "gift-summary"');
  });

  it('compares nothing in the shadow (live has no such panel), and says so rather than failing', async () => {
    for (const user of ['u1001', 'u2002', 'u3003']) await ask(user);
    const shadow = await post('shadow', { scene: 'gift-summary' });
    expect(shadow.status, JSON.stringify(shadow.body)).toBe(200);
    expect(shadow.body).toMatchObject({ compared: 0, failed: 0 });
  });

  it('refuses to promote it unforced, saying live has no panel of it to compare with, and once forced serves it to everyone', async () => {
    const refused = await post('promote', { scene: 'gift-summary' });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toContain(
      `the candidate of gift-summary (revision ${candidate}) must have no money-invariant violations in its shadow comparison to be promoted, but it has no comparison: live serves no gift-summary, so no live panel of it can be compared with its candidate. Check what its users get (POST /admin/preview with a user of its rollout)`,
    );
    const forced = await post('promote', { scene: 'gift-summary', force: true });
    expect(forced.status, JSON.stringify(forced.body)).toBe(200);
    expect((await ask('u2002')).body.data?.floorPanel).toMatchObject({ scene: 'gift-summary', layoutVersion: '2026-12-20.1' });
  });
});
