/**
 * POST /admin/preview beside a layout candidate (an embedded PGlite revision store): the live
 * layout and the candidate rendered side by side for one user from the same loaders, each panel
 * with the money invariant's verdict.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.ts';

const ADMIN = 'preview-suite-admin-token';
const CART = readFileSync('floors/cart-bottom-sheet.yaml', 'utf8');
const CHECKOUT = readFileSync('floors/checkout-summary.yaml', 'utf8');
const SCENE = 'cart-bottom-sheet';
/** The candidate's one visible change: the instant discount's English name. */
const SAVINGS = CART.replace('version: "2026-11-21.1"', 'version: "2026-12-03.1"').replaceAll('en: Instant discount }', 'en: Instant savings }');
/** Two expression floors beside lj: one for VIP viewers only, one whose sub-name reads an eleventh campaign. */
const EXPRESSIONS = CART.replace('version: "2026-11-21.1"', 'version: "2026-12-03.3"').replace(
  '  - code: lj\n',
  [
    '  - code: vip-note',
    '    kind: TEXT',
    '    when: \'"vip" in viewer.segments\'',
    '    name: { zh-CN: 会员提示, en: VIP note }',
    '    sort: 96',
    '  - code: campaign-note',
    '    kind: INFO',
    "    amount: 'quote.plusRebate'",
    "    vars: { title: 'promotion.campaigns[10].title' }",
    '    name: { zh-CN: 活动, en: Campaign }',
    '    subName: { zh-CN: "{title}", en: "{title}" }',
    '    sort: 97',
    '  - code: lj',
    '',
  ].join('\n'),
);
/** Without its instant-discount row, the candidate's rows no longer add up to u1001's payable total. */
const NO_LJ = CART.replace('version: "2026-11-21.1"', 'version: "2026-12-03.2"').replace(/  - code: lj\n(?:    .*\n)+\n/, '');

interface View {
  layout: 'live' | 'candidate';
  served: boolean;
  layoutVersion: string;
  panel: Array<{ code: string; name: string }>;
  floors: Array<{ code: string; shown: boolean }>;
  invariant: { holds: boolean; goods: string; deductions: string; charges: string; total: string; payable: string | null; currency: string | null; summary: string };
}

describe('POST /admin/preview with a layout candidate (PGlite)', () => {
  let dir: string;
  let h: Harness;

  async function admin(operation: string, body: unknown): Promise<{ status: number; body: Record<string, any> }> {
    const res = await fetch(`${h.url}/admin/${operation}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  }

  async function preview(body: Record<string, unknown>): Promise<Record<string, any> & { panels: View[]; layoutVersion: string; invariant: View['invariant'] }> {
    const res = await admin('preview', { scene: SCENE, locale: 'en', ...body });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as never;
  }

  async function candidate(cart: string, allowList: string[]): Promise<number> {
    const created = await admin('layouts/candidate', { scene: SCENE, files: { 'cart-bottom-sheet.yaml': cart, 'checkout-summary.yaml': CHECKOUT }, rollout: { allowList } });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    return created.body.revision.revision as number;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'floorplan-preview-'));
    h = await startHarness({ config: { admin: { token: ADMIN }, layouts: { store: { kind: 'pglite', dataDir: join(dir, 'revisions') } } } });
    expect((await admin('layouts/publish', { files: { 'cart-bottom-sheet.yaml': CART, 'checkout-summary.yaml': CHECKOUT }, message: 'baseline' })).status).toBe(200);
  }, 60_000);

  beforeEach(async () => {
    if (((await admin('layouts/candidates', {})).body.candidates as unknown[]).length > 0) await admin('layouts/abort', { scene: SCENE });
    h.demo.resetCalls();
  });

  afterAll(async () => {
    await h?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('carries the money invariant’s verdict, with its figures, for the one panel of a scene without a candidate', async () => {
    const body = await preview({ userId: 'u1001', segments: ['plus'], locale: 'zh-CN', layout: 'both' });
    expect(body.candidate).toBeNull();
    expect(body.panels).toHaveLength(1);
    expect(body.panels[0]).toMatchObject({ layout: 'live', served: true, layoutVersion: '2026-11-21.1' });
    expect(body.invariant).toEqual({
      holds: true,
      goods: '2090',
      deductions: '-1204',
      charges: '0',
      total: '886',
      payable: '886',
      currency: 'CNY',
      summary: '2090 + (-1204) + 0 = 886 = 886 (minor units)',
    });
    expect(body.panels[0]!.invariant).toEqual(body.invariant);
  });

  it('renders the live layout and the candidate side by side from the same loaders: no upstream call more than for one panel', async () => {
    const revision = await candidate(SAVINGS, ['u1001']);
    await preview({ userId: 'u1001', segments: ['plus'] });
    const one = h.demo.calls();
    h.demo.resetCalls();
    const body = await preview({ userId: 'u1001', segments: ['plus'], layout: 'both' });
    expect(h.demo.calls()).toEqual(one);
    expect(one.cart).toBe(1);

    expect(body.candidate).toMatchObject({ revision, served: true });
    expect(body.panels.map((p) => [p.layout, p.served, p.layoutVersion])).toEqual([
      ['live', false, '2026-11-21.1'],
      ['candidate', true, `2026-12-03.1+candidate.r${revision}`],
    ]);
    // The top-level fields are still the panel this user gets.
    expect(body.layoutVersion).toBe(`2026-12-03.1+candidate.r${revision}`);
    const name = (view: View) => view.panel.find((f) => f.code === 'lj')?.name;
    expect(body.panels.map(name)).toEqual(['Instant discount', 'Instant savings']);

    // Someone outside the allow-list gets the live layout; "served" alone renders only it.
    const other = await preview({ userId: 'u-basic', layout: 'both' });
    expect(other.panels.map((p) => [p.layout, p.served])).toEqual([['live', true], ['candidate', false]]);
    expect((await preview({ userId: 'u-basic' })).panels.map((p) => p.layout)).toEqual(['live']);
  });

  it('says an expression floor is hidden because its `when` is false, and why its decoration failed', async () => {
    await candidate(EXPRESSIONS, ['u1001']);
    const body = await preview({ userId: 'u1001', segments: ['plus'] });
    const why = (code: string) => body.floors.find((f: { code: string }) => f.code === code)?.why;
    expect(why('vip-note')).toBe('hidden: its `when` is false for this user: "vip" in viewer.segments');
    expect(why('campaign-note')).toMatch(
      /^shown without \{title\} \(its sub-name fell back\) because its decoration failed: FLOORPLAN_ERR_EXPRESSION_FAILED: expression `promotion\.campaigns\[10\]\.title` \(vars\.title\) failed: .*index/i,
    );
    // A builder's floor that gives nothing keeps its wording.
    expect((await preview({ userId: 'u-basic', segments: [] })).floors.find((f: { code: string }) => f.code === 'plus95')?.why).toBe('hidden: the builder returned nothing for this user (e.g. not a PLUS member)');
  });

  it('says the candidate’s money does not add up where the live layout’s does', async () => {
    await candidate(NO_LJ, []);
    const body = await preview({ userId: 'u1001', segments: ['plus'], locale: 'zh-CN', layout: 'both' });
    const [live, next] = body.panels;
    expect(live!.invariant.holds).toBe(true);
    expect(next!.floors.map((f) => f.code)).not.toContain('lj');
    // The renderer shows an "other" row so the panel still adds up: the rows the candidate's floors produced did not.
    expect(next!.invariant).toMatchObject({ holds: false, summary: expect.stringContaining('PARTIAL_BREAKDOWN') });
  });
});
