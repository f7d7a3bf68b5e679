/**
 * POST /admin/layouts/check and the publishing routes against the live app versions
 * (config/clients.yaml): the check answers the compatibility matrix, and a set some live
 * version cannot render is refused by check, publish and candidate alike, with its problems.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.ts';
import { defaultBuilders } from '../../src/floors/builders/index.ts';
import { createBuilderRegistry } from '../../src/floors/registry.ts';
import { LayoutReleases } from '../../src/layouts/revisions/releases.ts';
import type { RevisionStore } from '../../src/layouts/revisions/revision-store.ts';
import { createLogger } from '../../src/observability/logger.ts';
import type { CompatibilityReport, CompatibilityRow } from '../../src/layouts/compatibility.ts';
import { createPublishCheckHandler } from '../../src/operators/publish-check.ts';
import { writeClientsWithLateAndroidZeroText } from '../support/clients-files.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { postLayoutAdmin } from '../support/layout-admin.ts';
import { freePort } from '../support/processes.ts';

const ADMIN = 'publish-check-suite-token';
/** A read-only operator: the check is one of the routes a viewer may call. */
const VIEWER = 'publish-check-viewer-token';
const SHIPPED = {
  'cart-bottom-sheet.yaml': readFileSync('floors/cart-bottom-sheet.yaml', 'utf8'),
  'checkout-summary.yaml': readFileSync('floors/checkout-summary.yaml', 'utf8'),
};
/** The shipped set without the shipping rows' 免运费 text, which Android understands only from 12.2.0 here. */
const FIXED = Object.fromEntries(Object.entries(SHIPPED).map(([name, source]) => [name, source.replace(/^ +zeroText: \{ zh-CN: 免运费, en: Free \}\n/gm, '')]));

describe('the publish check and the publishing routes against the live app versions (PGlite)', () => {
  let dir: string;
  let h: Harness;

  const post = (operation: string, body: unknown) => postLayoutAdmin(h.url, ADMIN, operation, body);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'floorplan-publish-check-'));
    h = await startHarness({
      config: {
        admin: { token: ADMIN, operators: { vera: { token: VIEWER, role: 'viewer' } } },
        floors: { clientsFile: writeClientsWithLateAndroidZeroText(dir) },
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
      ['publish', { files: SHIPPED, message: '免运费 for everyone' }],
      ['candidate', { scene: 'checkout-summary', files: SHIPPED }],
    ] as const) {
      const refused = await post(operation, body);
      expect(refused.status, operation).toBe(409);
      expect(refused.body.code, operation).toBe(ErrorCode.LAYOUT_INCOMPATIBLE);
      // A check publishes nothing whatever it finds, so its answer does not say it refused to.
      expect(refused.body.error, operation).toBe(`some live app version would be sent what it does not understand${operation === 'check' ? '' : '; nothing was published'}`);
      expect(refused.body.problems, operation).toEqual([
        'android 11.2.0 must understand every field it is sent, but floor "shipping" of cart-bottom-sheet would send it zeroText (understood from android 12.2.0; give the floor a minAppVersion, or leave the field out) (cart-bottom-sheet.yaml:48)',
        expect.stringContaining('android 11.2.0 must understand every field it is sent, but floor "shipping" of cart-bottom-sheet (variant compact) would send it zeroText'),
        expect.stringContaining('android 11.2.0 must understand every field it is sent, but floor "shipping" of checkout-summary would send it zeroText'),
        expect.stringContaining('android 12.1.0 must understand every field it is sent, but floor "shipping" of cart-bottom-sheet would send it zeroText'),
        expect.stringContaining('android 12.1.0 must understand every field it is sent, but floor "shipping" of cart-bottom-sheet (variant compact) would send it zeroText'),
        expect.stringContaining('android 12.1.0 must understand every field it is sent, but floor "shipping" of checkout-summary would send it zeroText'),
      ]);
      const report = refused.body.compatibility as CompatibilityReport;
      expect(report.problems.map((p) => [p.platform, p.version, p.scene, p.variant, p.floor, p.what, p.name])).toEqual([
        ['android', '11.2.0', 'cart-bottom-sheet', null, 'shipping', 'field', 'zeroText'],
        ['android', '11.2.0', 'cart-bottom-sheet', 'compact', 'shipping', 'field', 'zeroText'],
        ['android', '11.2.0', 'checkout-summary', null, 'shipping', 'field', 'zeroText'],
        ['android', '12.1.0', 'cart-bottom-sheet', null, 'shipping', 'field', 'zeroText'],
        ['android', '12.1.0', 'cart-bottom-sheet', 'compact', 'shipping', 'field', 'zeroText'],
        ['android', '12.1.0', 'checkout-summary', null, 'shipping', 'field', 'zeroText'],
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
    expect(row('android', '12.1.0')).toMatchObject({ checked: true, styles: [{ token: 'muted', sent: 'muted' }, { token: 'bold', sent: 'bold' }, { token: 'emphasis', sent: 'emphasis' }], fields: ['subName'], problems: [] });
    expect(row('ios', '12.0.0')?.styles).toContainEqual({ token: 'emphasis', sent: 'emphasis' });
    expect(row('ios', '10.8.2')).toMatchObject({ checked: false, oldestSupported: '11.0.0', floors: [] });
    // Nothing was published by the check or the refusals before it.
    expect((await post('history', {})).body).toEqual({ live: null, revisions: [] });

    const published = await post('publish', { files: FIXED, message: 'no 免运费 text until android 12.2.0 is everywhere' });
    expect(published.status).toBe(200);
    expect(published.body.revision).toMatchObject({ revision: 1 });
  }, 120_000);

  it('refuses a name holding a {variable} — check, publish and candidate alike — since apps would show it as written', async () => {
    const named = { ...FIXED, 'cart-bottom-sheet.yaml': FIXED['cart-bottom-sheet.yaml']!.replace('name: { zh-CN: 优惠券, en: Coupons }', 'name: { zh-CN: "优惠券 {couponCount} 张", en: Coupons }') };
    for (const [operation, body] of [
      ['check', { files: named }],
      ['publish', { files: named, message: 'count in the name' }],
      ['candidate', { scene: 'cart-bottom-sheet', files: named }],
    ] as const) {
      const refused = await post(operation, body);
      expect(refused.status, operation).toBe(400);
      expect(refused.body.problems, operation).toEqual([
        '`floors[3].name.zh-CN` is shown to users as written: a {variable} is filled in only in `subName`, so move it there, but got: "{couponCount}" (cart-bottom-sheet.yaml:37)',
      ]);
    }
    expect((await post('history', {})).body.live).toBe(1);
  });

  it('refuses a subNameFallback holding a {variable} — check, publish and candidate alike — since apps would show it as written', async () => {
    const source = FIXED['cart-bottom-sheet.yaml']!.replace(
      '    name: { zh-CN: 新人立减, en: New-customer discount }\n',
      '    name: { zh-CN: 新人立减, en: New-customer discount }\n    subNameFallback: { zh-CN: "已省 {amount}", en: Saved }\n',
    );
    const line = source.split('\n').findIndex((l) => l.includes('subNameFallback: { zh-CN: "已省 {amount}"')) + 1;
    expect(line).toBeGreaterThan(0);
    const files = { ...FIXED, 'cart-bottom-sheet.yaml': source };
    for (const [operation, body] of [
      ['check', { files }],
      ['publish', { files, message: 'savings in the fallback' }],
      ['candidate', { scene: 'cart-bottom-sheet', files }],
    ] as const) {
      const refused = await post(operation, body);
      expect(refused.status, operation).toBe(400);
      expect(refused.body.problems, operation).toEqual([
        `\`floors[9].subNameFallback.zh-CN\` is shown to users as written (when a sub-name variable is missing): a {variable} is filled in only in \`subName\`, so leave it out, but got: "{amount}" (cart-bottom-sheet.yaml:${line})`,
      ]);
    }
    expect((await post('history', {})).body.live).toBe(1);
  });

  it('refuses a mistake in a multi-line expression as one problem — line and column in the expression, file:line — check, publish and candidate alike', async () => {
    // A YAML literal block keeps the expression's line breaks, and its second line starts with "- ".
    const multiLine = {
      ...FIXED,
      'cart-bottom-sheet.yaml': FIXED['cart-bottom-sheet.yaml']!.replace(
        `    amount: '-sum(quote.discounts.filter(d, d.kind == "new-customer").map(d, d.amount))'\n    flag: floor.new-customer`,
        '    amount: |\n      quote.goodsTotal\n      - quote.payabl\n    flag: floor.new-customer',
      ),
    };
    const line = multiLine['cart-bottom-sheet.yaml'].split('\n').findIndex((l) => l === '    amount: |') + 1;
    expect(line).toBeGreaterThan(0);
    const problem =
      "`floors[9].amount` must type-check against the panel's data; No such key: payabl at line 2, column 9: quote.goodsTotal\n- quote.»payabl«\n; " +
      'known fields of Quote: currency: string, lines: list<QuoteLine>, goodsTotal: Money, discounts: list<Discount>, shipping: Money, plusRebate: Money, payable: Money, ' +
      `but got: "quote.goodsTotal\\n- quote.payabl\\n" (cart-bottom-sheet.yaml:${line})`;
    for (const [operation, body] of [
      ['check', { files: multiLine }],
      ['publish', { files: multiLine, message: 'savings over two lines' }],
      ['candidate', { scene: 'cart-bottom-sheet', files: multiLine }],
    ] as const) {
      const refused = await post(operation, body);
      expect(refused.status, operation).toBe(400);
      expect(refused.body.code, operation).toBe(ErrorCode.LAYOUT_INVALID);
      expect(refused.body.problems, operation).toEqual([problem]);
    }
  });

  it('refuses a "billion laughs" set from a viewer at once, as an invalid file with its file:line — check, publish and candidate alike', async () => {
    // 427 bytes that would be 9^10 "lol"s written out: each level repeats the one above nine times.
    const levels = 'abcdefghij';
    const bomb = [
      'scene: cart-bottom-sheet',
      'x:',
      `  a: &a [${Array(9).fill('"lol"').join(',')}]`,
      ...[...levels.slice(1)].map((name, i) => `  ${name}: &${name} [${Array(9).fill(`*${levels[i]}`).join(',')}]`),
      '',
    ].join('\n');
    const files = { ...FIXED, 'cart-bottom-sheet.yaml': bomb };
    const problem = 'the file may repeat at most 1000 values through YAML aliases (*name), but got: 1729 by this alias, *c (cart-bottom-sheet.yaml:6)';

    const checked = await postLayoutAdmin(h.url, VIEWER, 'check', { files });
    expect(checked.status).toBe(400);
    expect(checked.body).toMatchObject({ code: ErrorCode.LAYOUT_INVALID, error: 'the layouts are invalid', problems: [problem] });
    for (const [operation, body] of [
      ['publish', { files, message: 'lol' }],
      ['candidate', { scene: 'cart-bottom-sheet', files }],
    ] as const) {
      const refused = await post(operation, body);
      expect(refused.status, operation).toBe(400);
      expect(refused.body.problems, operation).toEqual([problem]);
    }

    // An alias with no anchor is a mistake in the file too, not a fault of the server.
    const unresolved = await postLayoutAdmin(h.url, VIEWER, 'check', { files: { ...FIXED, 'cart-bottom-sheet.yaml': 'scene: cart-bottom-sheet\nfloors: *floors\n' } });
    expect(unresolved.status).toBe(400);
    expect(unresolved.body.problems).toEqual(['the alias *floors must name an anchor (&floors) set before it, but got: no &floors before it (cart-bottom-sheet.yaml:2)']);
  });
});

describe('the publish check and the publishing routes with the layout store down (PostgreSQL on a closed port)', () => {
  let dir: string;
  let h: Harness;

  const post = (operation: string, body: unknown) => postLayoutAdmin(h.url, ADMIN, operation, body);
  /** The checkout summary sorting a floor by a word: wrong whatever is live. */
  const BROKEN = { ...FIXED, 'checkout-summary.yaml': FIXED['checkout-summary.yaml']!.replace('sort: 10', 'sort: top') };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'floorplan-publish-check-down-'));
    h = await startHarness({
      config: {
        admin: { token: ADMIN },
        floors: { clientsFile: writeClientsWithLateAndroidZeroText(dir) },
        layouts: { store: { kind: 'postgres', url: `postgres://postgres@127.0.0.1:${await freePort()}/floorplan`, connectTimeoutMs: 1000, queryTimeoutMs: 2000 } },
      },
    });
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('reports a mistake in the files — check, publish and candidate alike — with its file:line, not that the store is down', async () => {
    const line = BROKEN['checkout-summary.yaml'].split('\n').findIndex((l) => l.includes('sort: top')) + 1;
    for (const [operation, body] of [
      ['check', { files: BROKEN }],
      ['publish', { files: BROKEN, message: 'sorted by a word' }],
      ['candidate', { scene: 'checkout-summary', files: BROKEN }],
    ] as const) {
      const refused = await post(operation, body);
      expect(refused.status, operation).toBe(400);
      expect(refused.body.code, operation).toBe(ErrorCode.LAYOUT_INVALID);
      expect(refused.body.problems, operation).toEqual([`\`floors[0].sort\` must be an integer, but got: "top" (checkout-summary.yaml:${line})`]);
    }
  });

  it('refuses a set a live version cannot render, with the matrix, as it does with the store up', async () => {
    const refused = await post('check', { files: SHIPPED });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe(ErrorCode.LAYOUT_INCOMPATIBLE);
    expect((refused.body.compatibility as CompatibilityReport).problems).toHaveLength(6);
  });

  it('answers a set that passes every rule needing no live revision with 503, saying the check is incomplete', async () => {
    const check = await post('check', { files: FIXED });
    expect(check.status).toBe(503);
    expect(check.body.code).toBe(ErrorCode.LAYOUT_STORE_UNAVAILABLE);
    expect(check.body.error).toMatch(
      /^the layout revision store \(PostgreSQL at [^)]+\) must be reachable to check the set against the live revision, but it is not: connect ECONNREFUSED 127\.0\.0\.1:\d+; the check is incomplete: the set passes every rule that needs no live revision, but the rules for files that differ from live, the diff from live and the approval were not checked; every replica keeps serving the live revision$/,
    );
  });
});

describe('POST /admin/layouts/check without a clients file', () => {
  it('validates and diffs as before, and says the compatibility check was skipped', async () => {
    // Publish's own releases, without a clients file, over a store with nothing live.
    const store = { live: async () => undefined } as unknown as RevisionStore;
    const handler = createPublishCheckHandler(new LayoutReleases({ store, registry: createBuilderRegistry(defaultBuilders), locales: ['zh-CN', 'en'], logger: createLogger('silent') }));
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

    // An invalid set: its problems, without claiming that a check refused to publish something.
    const broken = await handler({ files: { ...SHIPPED, 'checkout-summary.yaml': SHIPPED['checkout-summary.yaml'].replace('sort: 10', 'sort: top') } }, { identity: 'admin', role: 'publisher' } as never);
    expect(broken.status).toBe(400);
    expect(broken.body).toMatchObject({ code: 'FLOORPLAN_ERR_LAYOUT_INVALID', error: 'the layouts are invalid' });
    expect((broken.body as { problems: unknown }).problems).toEqual([expect.stringContaining('must be an integer, but got: "top"')]);
  });
});
