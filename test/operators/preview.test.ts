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
/** The default floors plus `floor` (YAML lines), listed last: before the file's variants. */
const withFloor = (version: string, floor: readonly string[]) =>
  CART.replace('version: "2026-11-21.1"', `version: "${version}"`).replace('\nvariants:\n', `\n${floor.map((line) => `  ${line}`).join('\n')}\n\nvariants:\n`);
/** A charge the quote does not have: u-basic's charge rows then show ¥0.50 more than the total leaves for them. */
const INSURANCE = withFloor('2026-12-03.4', [
  '- code: shipping-insurance',
  '  kind: CHARGE',
  "  amount: 'money(50)'",
  '  name: { zh-CN: 运费险, en: Shipping insurance }',
  '  zeroText: { zh-CN: 赠送, en: Included }',
  '  sort: 55',
]);
/** A correctly signed deduction that counts the coupon a second time: the deduction rows then show more than {savings}. */
const COUPON_TWICE = withFloor('2026-12-03.5', [
  '- code: coupon-again',
  '  kind: DEDUCTION',
  '  amount: \'-sum(quote.discounts.filter(d, d.kind == "coupon").map(d, d.amount))\'',
  '  name: { zh-CN: 券后再减, en: Coupon again }',
  '  sort: 32',
]);

interface View {
  layout: 'live' | 'candidate';
  served: boolean;
  layoutVersion: string;
  panel: Array<{ code: string; name: string }>;
  floors: Array<{ code: string; shown: boolean }>;
  invariant: { holds: boolean; goods: string; deductions: string; charges: string; total: string; payable: string | null; currency: string | null; repair: unknown; summary: string };
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
      repair: null,
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

  it('says the candidate’s other row was added, with the rows it was built from', async () => {
    await candidate(NO_LJ, ['u1001']);
    const body = await preview({ userId: 'u1001', segments: ['plus'], locale: 'zh-CN' });
    expect(body.panel.map((f: { code: string }) => f.code)).toContain('other-discounts');
    // The figures are the rows the floors produced (without lj's -500), not the repaired sheet that adds up.
    expect(body.invariant).toMatchObject({ holds: false, goods: '2090', deductions: '-704', charges: '0', total: '1386', payable: '886' });
    expect(body.invariant.repair).toEqual({
      form: 'other-rows',
      cause: null,
      rows: [
        { code: 'spze', kind: 'GOODS', minor: '2090' },
        { code: 'coupon', kind: 'DEDUCTION', minor: '-600' },
        { code: 'plus95', kind: 'DEDUCTION', minor: '-104' },
        { code: 'shipping', kind: 'CHARGE', minor: '0' },
      ],
      added: [{ code: 'other-discounts', kind: 'DEDUCTION', minor: '-500' }],
      overclaimed: [],
    });
    expect(body.invariant.summary).toBe(
      'the rows built did not add up to the payable total: 2090 + (-704) + 0 = 1386 ≠ 886 (minor units); the renderer added other-discounts -500 to make them (PARTIAL_BREAKDOWN)',
    );
  });

  it('says only the total was kept when a candidate’s charge row claims more than the quote has, naming the rows and the kind with its figures', async () => {
    await candidate(INSURANCE, ['u-basic']);
    const body = await preview({ userId: 'u-basic', locale: 'zh-CN' });
    // What the app gets: the total alone.
    expect(body.panel.map((f: { code: string; priceText: string }) => [f.code, f.priceText])).toEqual([['payable', '¥36.90']]);
    expect(body.degradedReasons).toEqual(['PARTIAL_BREAKDOWN']);
    expect(body.invariant).toEqual({
      holds: false,
      // The rows the floors produced, before only the total was kept: the surplus charge shows.
      goods: '3390',
      deductions: '-300',
      charges: '650',
      total: '3740',
      payable: '3690',
      currency: 'CNY',
      repair: {
        form: 'total-only',
        cause: 'overclaimed',
        rows: [
          { code: 'spze', kind: 'GOODS', minor: '3390' },
          { code: 'coupon', kind: 'DEDUCTION', minor: '-300' },
          { code: 'shipping', kind: 'CHARGE', minor: '600' },
          { code: 'shipping-insurance', kind: 'CHARGE', minor: '50' },
        ],
        added: [],
        overclaimed: [{ kind: 'CHARGE', rows: '650', quote: '600', basis: 'payable 3690 − goods 3390 + {savings} 300' }],
      },
      summary:
        'only the total is served (PARTIAL_BREAKDOWN): the CHARGE rows add up to 650 but the quote has 600 (payable 3690 − goods 3390 + {savings} 300); ' +
        'rows built: spze GOODS 3390, coupon DEDUCTION -300, shipping CHARGE 600, shipping-insurance CHARGE 50 (minor units)',
    });
    const why = (code: string) => body.floors.find((f: { code: string }) => f.code === code)?.why;
    expect(why('shipping-insurance')).toBe("hidden: only the total is shown: the CHARGE rows add up to 650 but the quote has 600, and this row's 50 is the difference");
    expect(why('shipping')).toBe('hidden: only the total is shown: the CHARGE rows add up to 650 but the quote has 600; this row (600) is one of them');
    expect(why('spze')).toBe('hidden: only the total is shown: the CHARGE rows add up to 650 but the quote has 600; this GOODS row is not one of them');
  });

  it('says which deduction rows claim more than the total’s savings when a deduction is counted twice', async () => {
    await candidate(COUPON_TWICE, ['u-basic']);
    const body = await preview({ userId: 'u-basic', locale: 'zh-CN' });
    expect(body.panel.map((f: { code: string }) => f.code)).toEqual(['payable']);
    expect(body.invariant).toMatchObject({ holds: false, goods: '3390', deductions: '-600', charges: '600', total: '3390', payable: '3690' });
    expect(body.invariant.repair).toMatchObject({ form: 'total-only', cause: 'overclaimed', overclaimed: [{ kind: 'DEDUCTION', rows: '-600', quote: '-300', basis: '{savings} 300' }] });
    expect(body.invariant.summary).toMatch(/^only the total is served \(PARTIAL_BREAKDOWN\): the DEDUCTION rows add up to -600 but the quote has -300 \(\{savings\} 300\); rows built: .*coupon-again DEDUCTION -300/);
    const why = (code: string) => body.floors.find((f: { code: string }) => f.code === code)?.why;
    // Either coupon row alone is the difference: both say so.
    expect(why('coupon-again')).toBe("hidden: only the total is shown: the DEDUCTION rows add up to -600 but the quote has -300, and this row's -300 is the difference");
    expect(why('coupon')).toBe(why('coupon-again'));
  });
});
