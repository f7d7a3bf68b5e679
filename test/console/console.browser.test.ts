/**
 * The operator console at /console, in a real headless Chromium against a real Floorplan (demo
 * upstreams, an embedded PGlite revision store): sign-in, the phone preview, flags, revisions
 * and their diffs, an invalid publish, a rollback, a hostile campaign title, candidates (made,
 * previewed beside the live layout, shadow-compared, canaried, promoted, forced), roles, and the
 * throttling of wrong tokens. The tests run in order: each release step builds on the last.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { PANEL_QUERY, startHarness, type Harness } from '../support/harness.ts';
import { until } from '../support/until.ts';
import { closeConsoleSuite, forgive, HAS_CHROMIUM, launchChromium, openConsolePage, screenshot, signInWith } from './support.ts';

const ADMIN = 'console-suite-admin-token';
const VIEWER = 'vera-may-only-look-at-things';
/** A second publisher: approves what admin published. */
const PAUL = 'paul-reviews-what-others-publish';
const MAX_FAILED = 3;
/** Long enough that three wrong sign-ins on a busy machine fall inside one window; the last test waits it out. */
const WINDOW_SECONDS = 6;
const CART = readFileSync('floors/cart-bottom-sheet.yaml', 'utf8');
const CHECKOUT = readFileSync('floors/checkout-summary.yaml', 'utf8');
// The functions handed to page.evaluate run in the page: these are the page globals they use (the
// project compiles without the DOM library, so that server code cannot use them by mistake).
declare const document: any;
declare const window: any;
declare const sessionStorage: { length: number; getItem(key: string): string | null };
declare const localStorage: { length: number };
declare function getComputedStyle(element: unknown): { fontWeight: string };

/** An upstream title a phone must show as text: markup, and a right-to-left override that would reverse what follows. */
const HOSTILE_TITLE = '<img src=x onerror="window.__pwned=1">\u202Eevil';

describe.skipIf(!HAS_CHROMIUM)('the operator console (/console) in headless Chromium', () => {
  let dir: string;
  let h: Harness;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  /** Console errors and uncaught exceptions of the current page: a CSP or Trusted Types violation shows up here. */
  let problems: string[];

  async function admin(operation: string, body: unknown, token = ADMIN): Promise<{ status: number; body: Record<string, any> }> {
    const res = await fetch(`${h.url}/admin/${operation}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  }

  async function openConsole(): Promise<Page> {
    ({ context, page, problems } = await openConsolePage(browser, h.url));
    return page;
  }

  async function signIn(token = ADMIN): Promise<void> {
    await openConsole();
    await signInWith(page, token);
  }

  const rows = () => page.locator('#preview-result ol.floors > li').allInnerTexts();

  /** Live's files, and the revisions of publishing them without checkout-summary (to roll back to), then whole again (live now). */
  async function checkoutOffAndBack(): Promise<{ files: Record<string, string>; cartOnly: number; back: number }> {
    const { live } = (await admin('layouts/history', { limit: 1 })).body;
    const files = (await admin('layouts/show', { revision: live })).body.revision.files as Record<string, string>;
    const cartOnly = await admin('layouts/publish', { files: { 'cart-bottom-sheet.yaml': files['cart-bottom-sheet.yaml'] }, message: 'cart only' });
    expect(cartOnly.status, JSON.stringify(cartOnly.body)).toBe(200);
    const whole = await admin('layouts/publish', { files, message: 'checkout back' });
    expect(whole.status, JSON.stringify(whole.body)).toBe(200);
    return { files, cartOnly: cartOnly.body.revision.revision as number, back: whole.body.revision.revision as number };
  }

  /** Starts the draft from live's files, cart-bottom-sheet.yaml edited by `edit`. */
  async function draftFromLive(edit: (cart: string) => string): Promise<void> {
    await page.click('#publish-from-live');
    const cart = page.locator('#draft textarea[data-file="cart-bottom-sheet.yaml"]');
    await cart.waitFor();
    await cart.fill(edit(await cart.inputValue()));
  }

  async function releases(): Promise<void> {
    await page.click('#tab-releases');
    await page.locator('#history table').waitFor();
  }

  /**
   * The audit's newest row, once it matches `pattern` (or after 10 s, to fail on what it shows):
   * the page renders the history first and fetches the audit after it, so a new history row does
   * not mean the audit has been read again yet.
   */
  async function expectNewestAudit(pattern: RegExp): Promise<void> {
    const row = '#audit tbody tr';
    await page
      .waitForFunction(([selector, source, flags]) => new RegExp(source as string, flags as string).test((document.querySelector(selector as string) as { innerText: string } | null)?.innerText ?? ''), [row, pattern.source, pattern.flags], { timeout: 10_000 })
      .catch(() => undefined);
    expect(await page.locator(row).first().innerText()).toMatch(pattern);
  }

  /** Clicks Roll back on `revision`'s row of the history, and waits for its confirmation. */
  async function rollbackConfirmation(revision: number): Promise<Locator> {
    const dialog = page.locator('#confirm');
    await page.click(`#history tr[data-revision="${revision}"] button[data-action=rollback]`);
    await dialog.waitFor();
    return dialog;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'floorplan-console-'));
    h = await startHarness({
      config: {
        admin: { token: ADMIN, operators: { vera: { token: VIEWER, role: 'viewer' }, paul: PAUL }, maxFailedAttempts: MAX_FAILED, failedAttemptsWindowSeconds: WINDOW_SECONDS },
        // Every live request of a scene with a candidate is compared in the shadow, so a few make a report.
        layouts: { store: { kind: 'pglite', dataDir: join(dir, 'revisions') }, shadow: { sampleRatio: 1 } },
        flags: { unleashUiUrl: 'http://unleash.example:4242/projects/default' },
      },
    });
    // Two revisions to compare: the shipped floors, then the coupon renamed in English and the version bumped.
    expect((await admin('layouts/publish', { files: { 'cart-bottom-sheet.yaml': CART, 'checkout-summary.yaml': CHECKOUT }, message: 'baseline' })).status).toBe(200);
    const next = CART.replace('version: "2026-11-21.1"', 'version: "2026-12-01.1"').replaceAll('en: Coupons }', 'en: Vouchers }');
    expect((await admin('layouts/publish', { files: { 'cart-bottom-sheet.yaml': next, 'checkout-summary.yaml': CHECKOUT }, message: 'vouchers', author: 'alice' })).status).toBe(200);
    browser = await launchChromium();
  }, 180_000);

  closeConsoleSuite(() => ({ problems, context, browser, h, dir }));

  it('serves one page under a strict Content-Security-Policy, with every control labelled', async () => {
    const res = await fetch(`${h.url}/console`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("require-trusted-types-for 'script'");
    expect(csp).not.toContain('unsafe-inline');
    const html = await res.text();
    expect(html).not.toMatch(/<script>|<style|style=|\son[a-z]+=/i);

    await openConsole();
    const unlabelled = await page.evaluate(() =>
      ([...document.querySelectorAll('input, select, textarea')] as any[])
        .filter((el) => el.labels?.length === 0 && !el.getAttribute('aria-label'))
        .map((el) => el.id),
    );
    expect(unlabelled).toEqual([]);
    // Trusted Types: a string can never become HTML on this page.
    expect(await page.evaluate(() => {
      try {
        document.body.innerHTML = '<b>x</b>';
        return 'assigned';
      } catch (error) {
        return (error as Error).name;
      }
    })).toBe('TypeError');
    forgive(problems, 'TrustedHTML'); // the violation just provoked
    await screenshot(page, 'login');
  });

  it('signs in with the keyboard alone, keeps the token in this tab only, never in a URL or a cookie', async () => {
    await openConsole();
    // The token field has the focus: type, Enter.
    await page.keyboard.type(ADMIN);
    await page.keyboard.press('Enter');
    await page.locator('#who').filter({ hasText: 'Signed in as admin (publisher)' }).waitFor();
    expect(page.url()).toBe(`${h.url}/console`);
    expect(await page.evaluate(() => [sessionStorage.getItem('floorplan.console.token'), localStorage.length, document.cookie])).toEqual([ADMIN, 0, '']);
    expect(await context.cookies()).toEqual([]);

    // The tabs answer the arrow keys.
    await page.focus('#tab-preview');
    await page.keyboard.press('ArrowRight');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('tab-releases');
    expect(await page.isVisible('#panel-releases')).toBe(true);

    // Another tab of the same browser starts signed out.
    const other = await context.newPage();
    await other.goto(`${h.url}/console`);
    expect(await other.isVisible('#login-form')).toBe(true);
    expect(await other.evaluate(() => sessionStorage.length)).toBe(0);
  });

  it("previews u1001 in a phone frame: the seed panel's four rows, in order, and why each floor is shown or hidden", async () => {
    await signIn();
    await page.click('#demo-users button[data-user="u1001"]');
    await page.locator('#preview-result h3').filter({ hasText: 'Current: cart-bottom-sheet 2026-12-01.1' }).waitFor();
    const shown = await rows();
    expect(shown.slice(0, 4).map((r) => r.split('\n').filter(Boolean).slice(0, 3))).toEqual([
      ['商品总额', '¥20.90', 'bold'],
      ['立减', '-¥5.00'],
      ['优惠券', '-¥6.00', '已领券 -¥6.00'],
      ['PLUS专享95折', '-¥1.04', '本月剩余优惠额度 ¥1,000.00'],
    ]);
    expect(shown.at(-1)).toContain('¥8.86');
    // Style tokens are shown as styles: the total is bold.
    expect(await page.locator('li[data-code="spze"] .name').evaluate((el) => getComputedStyle(el).fontWeight)).toBe('700');
    expect(await page.locator('[data-testid=invariant]').innerText()).toBe('Money invariant holds: 2090 + (-1204) + 0 = 886 = 886 (minor units)');
    expect(await page.locator('#preview-result tr[data-code="loyalty-points"]').innerText()).toContain('flag "floor.loyalty-points" is off');
    expect(await page.locator('#preview-result tr[data-code="mj"]').innerText()).toContain('hideWhenZero');
    await screenshot(page, 'preview');

    // Another viewer, chosen with the form: an old app gets the fallback style token, and says so.
    await page.selectOption('#pv-locale', 'en');
    await page.fill('#pv-user', 'u-basic');
    await page.fill('#pv-segments', '');
    await page.click('#preview-form button[type=submit]');
    // The previous panel's rows are on the page until the new one arrives: wait for the English one.
    await page.locator('#preview-result li[data-code="spze"] .name').filter({ hasText: 'Goods total' }).waitFor();
    expect(await page.locator('#preview-result li[data-code="spze"] .name').innerText()).toBe('Goods total');

    // Amounts beyond 2^31 minor units add up exactly (BigInt), not approximately.
    await page.click('#demo-users button[data-user="u-big"]');
    await page.locator('#preview-result figcaption').filter({ hasText: 'u-big' }).waitFor();
    expect(await page.locator('[data-testid=invariant]').innerText()).toMatch(/^Money invariant holds: \d{10,} \+ /);
  });

  it("previews a selection of the cart's SKUs as a decision record replays it: another payable than the ticked lines', the API's for that selection, and a SKU not in the cart refused in the API's words", async () => {
    await signIn();
    await page.click('#demo-users button[data-user="u1001"]');
    const selection = page.locator('#preview-result [data-testid=selection]');
    await selection.filter({ hasText: 'Selection previewed: the lines ticked in the cart: sku-mengniu-milk-4x250, sku-nongfu-550ml, sku-oreo-116g.' }).waitFor();
    const payable = () => page.locator('#preview-result li[data-code="payable"] .price').innerText();
    const ticked = await payable();
    expect(ticked).toBe('¥8.86');

    // What /admin/preview answers for the same user, locale and selection: the water and the pie (not ticked), not the rest.
    const picked = ['sku-nongfu-550ml', 'sku-orion-pie-12'];
    const request = { scene: 'cart-bottom-sheet', userId: 'u1001', segments: ['plus'], locale: await page.inputValue('#pv-locale') };
    const answered = await admin('preview', { ...request, selectedSkuIds: picked });
    expect(answered.status, JSON.stringify(answered.body)).toBe(200);
    expect(answered.body).toMatchObject({ selectedSkuIds: picked, previewedSkuIds: picked });
    const expected = (answered.body.panel as Array<{ code: string; priceText: string | null }>).map((f) => `${f.code} ${f.priceText ?? ''}`);
    expect(expected.find((row) => row.startsWith('payable '))).not.toBe(`payable ${ticked}`);

    // Comma- or newline-separated, as an operator types them.
    await page.fill('#pv-skus', 'sku-nongfu-550ml,\nsku-orion-pie-12\n');
    await page.click('#preview-form button[type=submit]');
    await selection.filter({ hasText: 'Selection previewed: sku-nongfu-550ml, sku-orion-pie-12.' }).waitFor();
    const shown = await page.locator('#preview-result ol.floors > li').evaluateAll((items: any[]) => items.map((li) => `${li.dataset.code} ${li.querySelector('.price')?.textContent ?? ''}`));
    expect(shown).toEqual(expected);
    expect(await payable()).not.toBe(ticked);

    // A decision record's selectedSkuIds pasted as it is: the same panel.
    await page.fill('#pv-skus', JSON.stringify(picked));
    await page.click('#preview-form button[type=submit]');
    await page.locator('#preview-result li[data-code="payable"]').waitFor();
    expect(await selection.innerText()).toBe('Selection previewed: sku-nongfu-550ml, sku-orion-pie-12.');
    expect(await payable()).toBe(expected.find((row) => row.startsWith('payable '))!.slice('payable '.length));

    // A SKU of another cart: refused with the API's words, shown on the page, and no panel.
    const refused = await admin('preview', { ...request, selectedSkuIds: ['sku-nongfu-550ml', 'sku-gold-1kg'] });
    expect(refused.status).toBe(400);
    await page.fill('#pv-skus', 'sku-nongfu-550ml, sku-gold-1kg');
    await page.click('#preview-form button[type=submit]');
    await page.locator('#preview-error').filter({ hasText: refused.body.error }).waitFor();
    expect(await page.locator('#preview-error').innerText()).toBe('selectedSkuIds must name SKUs in your cart, but these are not: "sku-gold-1kg"');
    expect(await page.locator('#preview-result').innerText()).toBe('');
    forgive(problems, 'status of 400'); // the refusal shown above
  });

  it('names a failed upstream as the decision record does (SETTLEMENT, not settlement)', async () => {
    h.demo.setFaults('settlement:error:503');
    try {
      await signIn();
      await page.click('#demo-users button[data-user="u1001"]');
      await page.locator('[data-testid=invariant]').filter({ hasText: 'degraded' }).waitFor();
      expect(await page.locator('[data-testid=invariant]').innerText()).toMatch(/ · degraded: [A-Z_, ]*UPSTREAM_FAILED[A-Z_, ]* \(SETTLEMENT\)$/);
    } finally {
      h.demo.setFaults('');
    }
  });

  it('shows flags at a glance: state, strategies, the age of the last sync, a link to Unleash', async () => {
    await signIn();
    await page.click('#tab-flags');
    await page.locator('#flags table').waitFor();
    expect(await page.locator('[data-testid=flags-source]').innerText()).toMatch(/^Flags come from the local file .*flags\.json, environment development; last confirmed current [\d.]+ s ago\.$/);
    const plusRebate = page.locator('tr[data-flag="floor.plus-rebate"]');
    expect(await plusRebate.innerText()).toContain('cart-bottom-sheet: floor plus-rebate');
    expect(await plusRebate.locator('a').getAttribute('href')).toBe('http://unleash.example:4242/projects/default/features/floor.plus-rebate');
    expect(await page.locator('tr[data-flag="floor.loyalty-points"] td.off').innerText()).toBe('off');
    await screenshot(page, 'flags');
  });

  it('shows the semantic diff between two revisions', async () => {
    await signIn();
    await releases();
    expect(await page.locator('#history tr[data-revision="2"] th').innerText()).toBe('2 (live)');
    await page.click('#history tr[data-revision="2"] button:has-text("Diff 1 → 2")');
    const diff = page.locator('[data-testid=diff]');
    await diff.waitFor();
    const lines = await diff.innerText();
    expect(lines).toContain('version: "2026-11-21.1" → "2026-12-01.1"');
    expect(lines).toContain('floor coupon name[en]: "Coupons" → "Vouchers"');
    expect(lines).toContain('cart-bottom-sheet (variant compact)');
    await page.locator('#diff').scrollIntoViewIfNeeded();
    await screenshot(page, 'diff');
  });

  it('shows an invalid upload’s problems with their file and line, and stores nothing', async () => {
    await signIn();
    await releases();
    await page.click('#publish-from-live');
    await page.locator('#draft textarea[data-file="checkout-summary.yaml"]').waitFor();
    const broken = CART.replace('    sort: 20\n', '    sort: top\n');
    const line = broken.slice(0, broken.indexOf('sort: top')).split('\n').length;
    await page.setInputFiles('#publish-files', { name: 'cart-bottom-sheet.yaml', mimeType: 'application/yaml', buffer: Buffer.from(broken) });
    await page.waitForFunction(() => document.querySelector('#draft textarea[data-file="cart-bottom-sheet.yaml"]')?.value.includes('sort: top'));
    await page.fill('#publish-message', 'a typo');
    await page.click('#publish-form button[type=submit]');
    const refused = page.locator('[data-testid=publish-problems]');
    await refused.waitFor();
    const text = await refused.innerText();
    expect(text).toContain('nothing was published');
    expect(text).toContain(`cart-bottom-sheet.yaml:${line}`);
    expect(text).toContain('"top"');
    // The problem's line, one click away: selected in its file.
    await page.click('[data-testid=publish-problems] button.goto');
    expect(await page.evaluate(() => {
      const area = document.activeElement;
      return [area.dataset.file, area.value.slice(area.selectionStart, area.selectionEnd)];
    })).toEqual(['cart-bottom-sheet.yaml', '    sort: top']);
    expect((await admin('layouts/history', { limit: 10 })).body.revisions).toHaveLength(2);
    forgive(problems, 'status of 400'); // the refusal shown above
    await refused.scrollIntoViewIfNeeded();
    await screenshot(page, 'publish-invalid');
  });

  it('rolls back after a confirmation that says what changes for whom; the audit shows who did it', async () => {
    await signIn();
    await releases();
    await page.click('#history tr[data-revision="1"] button[data-action=rollback]');
    const dialog = page.locator('#confirm');
    await dialog.waitFor();
    const said = await dialog.innerText();
    expect(said).toContain('Roll back from revision 2 to revision 1?');
    expect(said).toContain('Every user who opens cart-bottom-sheet gets the floors below');
    expect(said).toContain('floor coupon name[en]: "Vouchers" → "Coupons"');
    await screenshot(page, 'rollback-confirm');

    // Escape cancels: nothing changes.
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect((await admin('layouts/history', { limit: 10 })).body.live).toBe(2);

    await page.click('#history tr[data-revision="1"] button[data-action=rollback]');
    await page.fill('#confirm-message', 'vouchers confuse people');
    await page.click('#confirm-ok');
    await page.locator('#history tr[data-revision="3"] th').filter({ hasText: '3 (live)' }).waitFor();
    expect(await page.locator('#history tr[data-revision="3"]').innerText()).toContain('restores revision 1');
    await expectNewestAudit(/admin\s+rollback\s+3\s+.*"rollbackOf":1/);
    expect((await admin('layouts/history', { limit: 10 })).body).toMatchObject({ live: 3 });

    await page.click('#tab-preview');
    await page.click('#demo-users button[data-user="u1001"]');
    await page.locator('#preview-result h3').filter({ hasText: 'cart-bottom-sheet 2026-11-21.1' }).waitFor();
  });

  it('publishes an edited set only after showing what it changes and for whom', async () => {
    await signIn();
    await releases();
    await page.click('#publish-from-live');
    const cart = page.locator('#draft textarea[data-file="cart-bottom-sheet.yaml"]');
    await cart.waitFor();
    const edited = (await cart.inputValue()).replace('version: "2026-11-21.1"', 'version: "2026-12-02.1"').replace('{ zh-CN: 运费, en: Shipping }', '{ zh-CN: 运费, en: Delivery }');
    await cart.fill(edited);
    await page.fill('#publish-message', 'delivery, not shipping');
    await page.click('#publish-form button[type=submit]');
    const dialog = page.locator('#confirm');
    await dialog.waitFor();
    const said = await dialog.innerText();
    expect(said).toContain('Publish 2 file(s) as the new live revision?');
    expect(said).toContain('Every user who opens cart-bottom-sheet gets the floors below');
    expect(said).toContain('floor shipping name[en]: "Shipping" → "Delivery"');
    expect((await admin('layouts/history', { limit: 10 })).body.live).toBe(3);
    await screenshot(page, 'publish-confirm');
    await page.click('#confirm-ok');
    await page.locator('#history tr[data-revision="4"] th').filter({ hasText: '4 (live)' }).waitFor();
    expect(await page.locator('#history tr[data-revision="4"]').innerText()).toContain('delivery, not shipping');
    await expectNewestAudit(/admin\s+publish\s+4/);
  });

  it('renders a hostile campaign title as inert text: no element, no script, the RTL override made visible', async () => {
    h.demo.tamper('promotion', (answer) => {
      const promotion = answer as { campaigns: Array<Record<string, unknown>> };
      return { ...promotion, campaigns: promotion.campaigns.map((c) => ({ ...c, title: HOSTILE_TITLE })) };
    });
    try {
      await signIn();
      await page.click('#demo-users button[data-user="u-mj"]');
      const sub = page.locator('#preview-result li[data-code="mj"] .sub');
      await sub.waitFor();
      expect(await sub.innerText()).toBe('<img src=x onerror="window.__pwned=1">[U+202E]evil');
      expect(await page.locator('#preview-result img').count()).toBe(0);
      expect(await page.evaluate(() => window.__pwned)).toBeUndefined();
      // The override is shown as a marker instead of being applied: nothing after it is reversed.
      expect(await sub.evaluate((el) => el.textContent)).not.toContain('\u202E');
      await page.locator('#preview-result li[data-code="mj"]').scrollIntoViewIfNeeded();
      await screenshot(page, 'hostile-title');
    } finally {
      h.demo.tamper('promotion', undefined);
    }
  });

  it('makes a candidate from the page, shows it beside the live layout for its allow-listed user only, reports the shadow comparison, changes its rollout and promotes it', async () => {
    await signIn();
    await releases();
    await page.click('#publish-from-live');
    const cart = page.locator('#draft textarea[data-file="cart-bottom-sheet.yaml"]');
    await cart.waitFor();
    const live = await cart.inputValue();
    // The candidate renames the total in English: a row every user with a cart sees.
    const savings = live.replace('version: "2026-12-02.1"', 'version: "2026-12-03.1"').replace('{ zh-CN: 合计, en: Total }', '{ zh-CN: 合计, en: To pay }');

    // A typo is refused with its file and line before anything is stored.
    await cart.fill(savings.replace('    sort: 20\n', '    sort: top\n'));
    await page.selectOption('#candidate-scene', 'cart-bottom-sheet');
    await page.fill('#candidate-allow', 'u1001');
    await page.click('#candidate-form button[type=submit]');
    const refused = page.locator('[data-testid=publish-problems]');
    await refused.waitFor();
    expect(await refused.innerText()).toMatch(/cart-bottom-sheet\.yaml:\d+/);
    expect((await admin('layouts/candidates', {})).body.candidates).toEqual([]);
    forgive(problems, 'status of 400'); // the refusal shown above

    await cart.fill(savings);
    await page.click('#candidate-form button[type=submit]');
    const dialog = page.locator('#confirm');
    await dialog.waitFor();
    const said = await dialog.innerText();
    expect(said).toContain('Make this set the candidate of cart-bottom-sheet?');
    expect(said).toContain("cart-bottom-sheet: revision 4 (live) → this set's cart-bottom-sheet 2026-12-03.1 for the allow-listed user u1001; 1 floor changed. Everyone else keeps the live layout.");
    expect(said).toContain('floor payable name[en]: "Total" → "To pay"');
    // What each live app version would get of this scene only: 7 supported live versions × the scene and its compact variant.
    const matrix = dialog.locator('[data-testid=compatibility]');
    expect(await matrix.locator('summary').innerText()).toBe('What each live app version would get (config/clients.yaml): all 14 ok');
    expect(await matrix.locator('tbody tr').allInnerTexts()).not.toContainEqual(expect.stringContaining('checkout-summary'));
    await page.click('#confirm-ok');
    await page.locator('#candidates-message').filter({ hasText: 'Candidate of cart-bottom-sheet is revision 5: layoutVersion 2026-12-03.1+candidate.r5 for the allow-listed user u1001.' }).waitFor();
    expect(await page.locator('#candidates tr[data-scene="cart-bottom-sheet"]').innerText()).toContain('the allow-listed user u1001');
    await expectNewestAudit(/admin\s+candidate\s+5\s/);
    expect((await admin('layouts/history', { limit: 10 })).body.live).toBe(4);

    // The preview puts both side by side for the same user: u1001 gets the candidate…
    await page.click('#tab-preview');
    await page.selectOption('#pv-locale', 'en');
    await page.click('#demo-users button[data-user="u1001"]');
    const candidate = page.locator('#preview-result section[data-layout=candidate]');
    const current = page.locator('#preview-result section[data-layout=live]');
    await candidate.locator('h3').filter({ hasText: 'Candidate (revision 5): cart-bottom-sheet 2026-12-03.1+candidate.r5' }).waitFor();
    expect(await current.locator('h3').innerText()).toBe('Current: cart-bottom-sheet 2026-12-02.1');
    expect(await candidate.locator('[data-testid=served]').innerText()).toBe('This user gets this layout.');
    expect(await current.locator('[data-testid=served]').innerText()).toBe('Not served to this user.');
    expect(await candidate.locator('li[data-code="payable"] .name').innerText()).toBe('To pay');
    expect(await current.locator('li[data-code="payable"] .name').innerText()).toBe('Total');
    expect(await candidate.locator('[data-testid=invariant]').innerText()).toMatch(/^Money invariant holds: 2090 \+ \(-1204\) \+ 0 = 886 = 886 \(minor units\)/);
    expect(await current.locator('tr[data-code="loyalty-points"]').innerText()).toContain('flag "floor.loyalty-points" is off');
    await screenshot(page, 'preview-candidate');
    // …u-basic does not.
    await page.click('#demo-users button[data-user="u-basic"]');
    await page.locator('[data-testid=candidate-note]').filter({ hasText: 'does not get it and sees the live layout' }).waitFor();
    expect(await current.locator('[data-testid=served]').innerText()).toBe('This user gets this layout.');
    expect(await candidate.locator('[data-testid=served]').innerText()).toBe('Not served to this user.');

    // Live requests of users outside the rollout are compared with the candidate in the shadow.
    for (const user of ['u-basic', 'u-mj', 'u-basic']) {
      expect((await h.graphql(user, PANEL_QUERY, { scene: 'cart-bottom-sheet' }, { 'accept-language': 'en' })).status).toBe(200);
    }
    await until(async () => (await admin('layouts/shadow', { scene: 'cart-bottom-sheet' })).body.compared >= 3, 'the three live requests were compared');
    await releases();
    await page.click('#candidates tr[data-scene="cart-bottom-sheet"] button[data-action=shadow]');
    const summary = page.locator('[data-testid=shadow-summary]');
    await summary.waitFor();
    expect(await summary.locator('tbody td').allInnerTexts()).toEqual(['3', '0', '3', '0', '0', '0', '0']);
    expect(await page.locator('[data-testid=shadow-differences] tbody').innerText()).toBe('payable\tname\t3');
    const example = await page.locator('[data-testid=shadow-examples] tbody tr').first().innerText();
    expect(example).toMatch(/^[0-9a-f]{12}\ten\t\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\tpayable\tname\tTotal\tTo pay$/);
    expect(example).not.toContain('u-basic');
    await page.locator('#shadow').scrollIntoViewIfNeeded();
    await screenshot(page, 'shadow-report');

    // Canary controls: widen the rollout, after a confirmation that says who starts getting it.
    const row = page.locator('#candidates tr[data-scene="cart-bottom-sheet"]');
    await row.locator('input[name=allowList]').fill('u1001, u-basic');
    await row.locator('input[name=percentage]').fill('10');
    await row.locator('button[data-action=rollout]').click();
    await dialog.waitFor();
    const rollout = await dialog.innerText();
    expect(rollout).toContain('Now: the allow-listed user u1001.');
    expect(rollout).toContain('After: the allow-listed users u1001, u-basic and 10 % of other users by a stable hash of the user id.');
    // At 0 % nobody was in the percentage: the 10 % are new, with no one "already in" to keep it.
    expect(rollout).toContain('u-basic starts getting the candidate. 10 % of other users start getting it.\n');
    await page.click('#confirm-ok');
    await page.locator('#candidates-message').filter({ hasText: 'now goes to the allow-listed users u1001, u-basic and 10 %' }).waitFor();
    await expectNewestAudit(/admin\s+rollout\s+5\s/);
    expect((await admin('preview', { scene: 'cart-bottom-sheet', userId: 'u-basic' })).body.candidate.served).toBe(true);

    // The percentage's constraints: only iOS apps from 12.0.0; a version that is not one is refused as the server words it.
    await row.locator('input[name=platforms]').fill('ios');
    await row.locator('input[name=minAppVersion]').fill('twelve');
    await row.locator('button[data-action=rollout]').click();
    await dialog.waitFor();
    await page.click('#confirm-ok');
    await page.locator('[data-testid=candidate-refusal]').filter({ hasText: 'must be a version such as 12.3.0' }).waitFor();
    forgive(problems, 'status of 400'); // the refusal shown above
    await row.locator('input[name=minAppVersion]').fill('12.0.0');
    await row.locator('button[data-action=rollout]').click();
    await dialog.waitFor();
    expect(await dialog.innerText()).toContain('After: the allow-listed users u1001, u-basic and 10 % of other users by a stable hash of the user id (only platforms ios, app ≥ 12.0.0).');
    await page.click('#confirm-ok');
    await page.locator('#candidates-message').filter({ hasText: '(only platforms ios, app ≥ 12.0.0)' }).waitFor();
    expect((await admin('layouts/candidates', {})).body.candidates[0].rollout).toMatchObject({ platforms: ['ios'], minAppVersion: '12.0.0', segments: [] });

    // Promote, after a confirmation that says what changes for whom.
    await page.locator('#candidates tr[data-scene="cart-bottom-sheet"] button[data-action=promote]').click();
    await dialog.waitFor();
    const promote = await dialog.innerText();
    expect(promote).toContain('Promote the candidate of cart-bottom-sheet (revision 5)?');
    expect(promote).toContain('cart-bottom-sheet: revision 4 → candidate r5 for all users; 1 floor changed.');
    expect(promote).toContain('floor payable name[en]: "Total" → "To pay"');
    expect(await page.locator('button[data-action=force-promote]').count()).toBe(0);
    await screenshot(page, 'promote-confirm');
    await page.click('#confirm-ok');
    await page.locator('#candidates').filter({ hasText: 'No scene has a candidate now' }).waitFor();
    expect(await page.locator('#candidates-message').innerText()).toBe('Promoted: the cart-bottom-sheet candidate r5 is live as revision 6.');
    expect(await page.locator('#history tr.live').innerText()).toContain('promote');
    await expectNewestAudit(/admin\s+promote\s+6\s/);
  });

  it('offers to promote with force only after Floorplan refused a candidate whose money does not add up, and only once the operator ticks that they accept it', async () => {
    const { live } = (await admin('layouts/history', { limit: 1 })).body;
    const files = (await admin('layouts/show', { revision: live })).body.revision.files as Record<string, string>;
    // Without its instant-discount row, the candidate's rows no longer add up to u1001's payable total.
    const noLj = files['cart-bottom-sheet.yaml']!.replace(/  - code: lj\n(?:    .*\n)+\n/, '');
    const created = await admin('layouts/candidate', { scene: 'cart-bottom-sheet', files: { ...files, 'cart-bottom-sheet.yaml': noLj }, rollout: { allowList: ['u-basic'] }, message: 'no instant discount' });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const revision = created.body.revision.revision as number;
    try {
      expect((await h.graphql('u1001', PANEL_QUERY, { scene: 'cart-bottom-sheet' })).status).toBe(200);
      await until(async () => (await admin('layouts/shadow', { scene: 'cart-bottom-sheet' })).body.invariantViolations.candidate >= 1, 'u1001\'s live request was compared');
      await signIn();
      await releases();
      const row = page.locator('#candidates tr[data-scene="cart-bottom-sheet"]');
      await row.locator('button[data-action=shadow]').click();
      await page.locator('[data-testid=shadow-summary] td.bad').filter({ hasText: '1' }).waitFor();
      expect(await page.locator('[data-testid=shadow-differences] tbody').innerText()).toContain('lj\tpresence\t1');

      expect(await page.locator('button[data-action=force-promote]').count()).toBe(0);
      await row.locator('button[data-action=promote]').click();
      await page.click('#confirm-ok');
      const message = page.locator('#candidates-message');
      await page.locator('[data-testid=candidate-refusal]').filter({ hasText: 'must have no money-invariant violations in its shadow comparison to be promoted' }).waitFor();
      expect((await admin('layouts/history', { limit: 1 })).body.live).toBe(live);

      await page.click('button[data-action=force-promote]');
      const dialog = page.locator('#confirm');
      await dialog.waitFor();
      const said = await dialog.innerText();
      expect(said).toContain(`Force the promotion of the cart-bottom-sheet candidate (revision ${revision})?`);
      expect(said).toContain('Floorplan refused it: the candidate of cart-bottom-sheet');
      expect(said).toContain(`cart-bottom-sheet: revision ${live} → candidate r${revision} for all users; 1 floor changed.`);
      expect(await page.isDisabled('#confirm-ok')).toBe(true);
      await page.check('#confirm-acknowledge');
      expect(await page.isDisabled('#confirm-ok')).toBe(false);
      await screenshot(page, 'promote-force');
      await page.click('#confirm-ok');
      await message.filter({ hasText: `Promoted with force (audited): the cart-bottom-sheet candidate r${revision} is live as revision ${revision + 1}.` }).waitFor();
      await expectNewestAudit(/admin\s+promote\s+\d+\s+.*"forced":true/);
      forgive(problems, 'status of 409'); // the refusal above
    } finally {
      const candidates = (await admin('layouts/candidates', {})).body.candidates as unknown[];
      if (candidates.length > 0) await admin('layouts/abort', { scene: 'cart-bottom-sheet' });
    }
  });

  it('shows, when only the total is served, the rows as built and the kind that claims more than the quote has, and says which row is the difference', async () => {
    const { live } = (await admin('layouts/history', { limit: 1 })).body;
    const files = (await admin('layouts/show', { revision: live })).body.revision.files as Record<string, string>;
    // A charge the quote does not have: u-basic's charge rows then show ¥0.50 more than the total leaves them.
    const insurance = ['  - code: shipping-insurance', '    kind: CHARGE', "    amount: 'money(50)'", '    name: { zh-CN: 运费险, en: Shipping insurance }', '    zeroText: { zh-CN: 赠送, en: Included }', '    sort: 55', ''];
    const cart = files['cart-bottom-sheet.yaml']!.replace('\nvariants:\n', `\n${insurance.join('\n')}\nvariants:\n`);
    const created = await admin('layouts/candidate', { scene: 'cart-bottom-sheet', files: { ...files, 'cart-bottom-sheet.yaml': cart }, rollout: { allowList: ['u-basic'] }, message: 'shipping insurance' });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    try {
      await signIn();
      await page.click('#demo-users button[data-user="u-basic"]');
      const candidate = page.locator('#preview-result section[data-layout=candidate]');
      await candidate.locator('[data-testid=served]').filter({ hasText: 'This user gets this layout.' }).waitFor();
      // The phone shows what the app gets: the total alone.
      expect(await candidate.locator('ol.floors > li').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-code')))).toEqual(['payable']);
      expect(await candidate.locator('[data-testid=invariant]').innerText()).toBe(
        'Money invariant VIOLATED: only the total is served (PARTIAL_BREAKDOWN): the CHARGE rows add up to 650 but the quote has 600 (payable 3690 − goods 3390 + {savings} 300); ' +
          'rows built: spze GOODS 3390, coupon DEDUCTION -300, shipping CHARGE 600, shipping-insurance CHARGE 50 (minor units) · degraded: PARTIAL_BREAKDOWN',
      );
      // Beside it, the rows the floors built, the charge rows marked.
      const repaired = candidate.locator('[data-testid=repair]');
      expect(await repaired.locator('caption').innerText()).toBe('Rows built, left out: only the total is served');
      expect(await repaired.locator('tbody tr').allInnerTexts()).toEqual(['spze\tGOODS\t3390', 'coupon\tDEDUCTION\t-300', 'shipping\tCHARGE\t600', 'shipping-insurance\tCHARGE\t50']);
      expect(await repaired.locator('tbody tr.over').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-code')))).toEqual(['shipping', 'shipping-insurance']);
      expect(await candidate.locator('table.why tr[data-code="shipping-insurance"]').innerText()).toContain("the CHARGE rows add up to 650 but the quote has 600, and this row's 50 is the difference");
      // The live layout's panel adds up for u-basic: no rows to show beside it.
      expect(await page.locator('#preview-result section[data-layout=live] [data-testid=invariant]').innerText()).toMatch(/^Money invariant holds: /);
      expect(await page.locator('#preview-result section[data-layout=live] [data-testid=repair]').count()).toBe(0);
    } finally {
      const candidates = (await admin('layouts/candidates', {})).body.candidates as unknown[];
      if (candidates.length > 0) await admin('layouts/abort', { scene: 'cart-bottom-sheet' });
    }
  });

  it('offers to promote with force over what live changed since the candidate was cut, listing what it replaces, once the operator ticks that they replace it', async () => {
    // From the shipped floors (a test above forced a sheet that does not add up live): the shadow skips degraded panels.
    expect((await admin('layouts/publish', { files: { 'cart-bottom-sheet.yaml': CART, 'checkout-summary.yaml': CHECKOUT }, message: 'shipped floors' })).status).toBe(200);
    const { live } = (await admin('layouts/history', { limit: 1 })).body;
    const files = (await admin('layouts/show', { revision: live })).body.revision.files as Record<string, string>;
    const cart = files['cart-bottom-sheet.yaml']!;
    const created = await admin('layouts/candidate', { scene: 'cart-bottom-sheet', files: { ...files, 'cart-bottom-sheet.yaml': cart.replace('en: Goods total', 'en: Items total') }, rollout: { allowList: ['u-basic'] }, message: 'goods total wording' });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const revision = created.body.revision.revision as number;
    // Meanwhile a hotfix goes live in the same scene: promoting the candidate as it was cut would undo it.
    const hotfix = await admin('layouts/publish', { files: { ...files, 'cart-bottom-sheet.yaml': cart.replace('en: Instant discount', 'en: Instant saving') }, message: 'hotfix' });
    expect(hotfix.status, JSON.stringify(hotfix.body)).toBe(200);
    const hotfixed = hotfix.body.revision.revision as number;
    try {
      // The shadow has compared the candidate on live traffic, so only live's changes stand in the way.
      expect((await h.graphql('u1001', PANEL_QUERY, { scene: 'cart-bottom-sheet' })).status).toBe(200);
      await until(async () => (await admin('layouts/shadow', { scene: 'cart-bottom-sheet' })).body.compared >= 1, "u1001's live request was compared");
      await signIn();
      await releases();
      const row = page.locator('#candidates tr[data-scene="cart-bottom-sheet"]');
      await row.locator('button[data-action=promote]').click();
      await page.click('#confirm-ok');
      await page.locator('[data-testid=candidate-refusal]').filter({ hasText: 'promoting it would undo that' }).waitFor();
      expect((await admin('layouts/history', { limit: 1 })).body.live).toBe(hotfixed);

      await page.click('button[data-action=force-promote]');
      const dialog = page.locator('#confirm');
      await dialog.waitFor();
      const said = await dialog.innerText();
      expect(said).toContain(`Force the promotion of the cart-bottom-sheet candidate (revision ${revision})?`);
      expect(said).toContain('It replaces what live changed in cart-bottom-sheet since the candidate was cut:');
      expect(said).toContain('"Instant saving"');
      expect(said).not.toContain('do not add up');
      expect(await page.isDisabled('#confirm-ok')).toBe(true);
      await page.check('#confirm-acknowledge');
      await page.click('#confirm-ok');
      await page.locator('#candidates-message').filter({ hasText: `Promoted with force (audited): the cart-bottom-sheet candidate r${revision} is live as revision ${hotfixed + 1}.` }).waitFor();
      await expectNewestAudit(/admin\s+promote\s+\d+\s+.*"overtaken":\[.*Instant saving/);
      forgive(problems, 'status of 409'); // the refusal above
    } finally {
      const candidates = (await admin('layouts/candidates', {})).body.candidates as unknown[];
      if (candidates.length > 0) await admin('layouts/abort', { scene: 'cart-bottom-sheet' });
    }
  });

  it('names both what the money refusal and live’s changes since the cut would override, and sends a forced promote only once the operator accepts each', async () => {
    expect((await admin('layouts/publish', { files: { 'cart-bottom-sheet.yaml': CART, 'checkout-summary.yaml': CHECKOUT }, message: 'shipped floors' })).status).toBe(200);
    // Without its goods row, the candidate's rows no longer add up to the payable total.
    const noGoods = CART.replace(/ {2}- code: spze\n(?: {4}.*\n)+\n/, '');
    const created = await admin('layouts/candidate', { scene: 'cart-bottom-sheet', files: { 'cart-bottom-sheet.yaml': noGoods, 'checkout-summary.yaml': CHECKOUT }, rollout: { allowList: ['u-basic'] }, message: 'no goods row' });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const revision = created.body.revision.revision as number;
    try {
      expect((await h.graphql('u1001', PANEL_QUERY, { scene: 'cart-bottom-sheet' })).status).toBe(200);
      await until(async () => (await admin('layouts/shadow', { scene: 'cart-bottom-sheet' })).body.invariantViolations.candidate >= 1, "u1001's live request was compared");
      // A hotfix of another floor of the scene goes live after the candidate was cut.
      const hotfix = await admin('layouts/publish', { files: { 'cart-bottom-sheet.yaml': CART.replace('zh-CN: PLUS会员返利,', 'zh-CN: PLUS返利,'), 'checkout-summary.yaml': CHECKOUT }, message: 'hotfix' });
      expect(hotfix.status, JSON.stringify(hotfix.body)).toBe(200);
      await signIn();
      await releases();
      await page.locator('#candidates tr[data-scene="cart-bottom-sheet"] button[data-action=promote]').click();
      await page.click('#confirm-ok');
      const refusal = page.locator('[data-testid=candidate-refusal]');
      await refusal.filter({ hasText: 'must have no money-invariant violations' }).waitFor();
      expect(await refusal.innerText()).toContain('which promoting it would undo: cart-bottom-sheet: floor plus-rebate name[zh-CN]: "PLUS会员返利" → "PLUS返利"');

      await page.click('button[data-action=force-promote]');
      const dialog = page.locator('#confirm');
      await dialog.waitFor();
      const said = await dialog.innerText();
      expect(said).toContain('Every user may then get a panel whose rows do not add up to the total they pay.');
      expect(said).toContain('It replaces what live changed in cart-bottom-sheet since the candidate was cut:');
      expect(await page.locator('[data-testid=overtaken] li').allInnerTexts()).toEqual(['cart-bottom-sheet: floor plus-rebate name[zh-CN]: "PLUS会员返利" → "PLUS返利"']);
      // One tick per override: either alone leaves the promote unsendable.
      expect(await page.locator('#confirm label.acknowledge').allInnerTexts()).toEqual([
        'I have read the shadow report and accept panels whose money does not add up.',
        'I have read what live changed since the candidate was cut, and replace it.',
      ]);
      await page.check('#confirm-acknowledge');
      expect(await page.isDisabled('#confirm-ok')).toBe(true);
      await page.check('#confirm-acknowledge-2');
      expect(await page.isDisabled('#confirm-ok')).toBe(false);
      await page.click('#confirm-ok');
      await page.locator('#candidates-message').filter({ hasText: `Promoted with force (audited): the cart-bottom-sheet candidate r${revision} is live` }).waitFor();
      await expectNewestAudit(/admin\s+promote\s+\d+\s+.*"forced":true.*"overtaken":\[.*PLUS返利/);
      forgive(problems, 'status of 409'); // the refusal above
    } finally {
      const candidates = (await admin('layouts/candidates', {})).body.candidates as unknown[];
      if (candidates.length > 0) await admin('layouts/abort', { scene: 'cart-bottom-sheet' });
    }
  });

  it('lets a second admin approve a candidate from the page, after a confirmation; its publisher is not offered the button', async () => {
    const created = await admin('layouts/candidate', { scene: 'cart-bottom-sheet', revision: 1, rollout: { allowList: ['u1001'] }, message: 'back to coupons, for u1001' });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const revision = created.body.revision.revision as number;
    const { live } = (await admin('layouts/history', { limit: 1 })).body;
    try {
      await signIn();
      await releases();
      const published = page.locator('#candidates tr[data-scene="cart-bottom-sheet"]');
      await published.waitFor();
      expect(await published.locator('button[data-action=approve]').count()).toBe(0);
      await context.close();

      await signIn(PAUL);
      await releases();
      const row = page.locator('#candidates tr[data-scene="cart-bottom-sheet"]');
      await row.locator('button[data-action=approve]').click();
      const dialog = page.locator('#confirm');
      await dialog.waitFor();
      const said = await dialog.innerText();
      expect(said).toContain(`Approve the candidate of cart-bottom-sheet (revision ${revision})?`);
      expect(said).toContain(`admin published it. Nobody's layout changes now; once approved, an admin may promote it: cart-bottom-sheet: revision ${live} → candidate r${revision} for all users;`);
      await page.click('#confirm-ok');
      await page.locator('#candidates-message').filter({ hasText: `Approved the cart-bottom-sheet candidate r${revision}.` }).waitFor();
      expect(await row.innerText()).toContain('approved by paul');
      expect(await row.locator('button[data-action=approve]').count()).toBe(0);
      await expectNewestAudit(new RegExp(`paul\\s+approve\\s+${revision}\\s`));
    } finally {
      await admin('layouts/abort', { scene: 'cart-bottom-sheet' });
    }
  });

  it('acts only on what the operator saw: a candidate another admin replaced meanwhile is refused, the page shows the new one, and a rollback states what is live now', async () => {
    const seen = await admin('layouts/candidate', { scene: 'cart-bottom-sheet', revision: 1, rollout: { allowList: ['u1001'] }, message: 'reviewed by admin' });
    expect(seen.status, JSON.stringify(seen.body)).toBe(200);
    const reviewed = seen.body.revision.revision as number;
    try {
      await signIn();
      await releases();
      const row = page.locator('#candidates tr[data-scene="cart-bottom-sheet"]');
      await row.filter({ hasText: `${reviewed}` }).waitFor();

      await row.locator('button[data-action=promote]').click();
      const dialog = page.locator('#confirm');
      await dialog.waitFor();
      expect(await dialog.innerText()).toContain(`Promote the candidate of cart-bottom-sheet (revision ${reviewed})?`);

      // Another admin replaces it with their own revision, for everyone, while the confirmation is open.
      const next = CART.replace('version: "2026-11-21.1"', 'version: "2026-12-06.paul"').replace('en: Coupons }', 'en: "Paul’s coupons" }');
      const replaced = await admin('layouts/candidate', { scene: 'cart-bottom-sheet', files: { 'cart-bottom-sheet.yaml': next, 'checkout-summary.yaml': CHECKOUT }, rollout: { allowList: ['u-vip'], percentage: 100 }, message: 'not reviewed' }, PAUL);
      expect(replaced.status).toBe(200);
      const now = replaced.body.revision.revision as number;
      const { live } = (await admin('layouts/history', { limit: 1 })).body;
      await page.click('#confirm-ok');
      await page.locator('[data-testid=candidate-refusal]').filter({ hasText: `is revision ${now} now, not ${reviewed}: review that one and promote again` }).waitFor();
      forgive(problems, 'status of 409'); // the refusal shown above
      expect((await admin('layouts/history', { limit: 1 })).body.live).toBe(live);
      // The page now shows the candidate that is there, with its rollout untouched.
      await row.locator('button[data-action=promote]').waitFor();
      expect(await row.locator('input[name=allowList]').inputValue()).toBe('u-vip');
      expect((await admin('layouts/candidates', {})).body.candidates[0]).toMatchObject({ revision: now, rollout: { allowList: ['u-vip'], percentage: 100 } });

      // Narrowing the percentage to iOS takes the candidate from users on other platforms: the confirmation says so.
      await row.locator('input[name=platforms]').fill('ios');
      await row.locator('button[data-action=rollout]').click();
      await dialog.waitFor();
      const rollout = await dialog.innerText();
      expect(rollout).toContain('Other users who are on a platform outside ios go back to the live layout.');
      expect(rollout).not.toContain('Nobody’s layout changes.');
      await page.click('#confirm-cancel');
      await dialog.waitFor({ state: 'hidden' });

      // Live moves on elsewhere; a rollback from this page says what changes from what is live now.
      const target = (await admin('layouts/history', { limit: 50 })).body.revisions.find((r: { revision: number }) => r.revision !== live && r.revision !== 1).revision as number;
      const rolled = await admin('layouts/rollback', { revision: 1, message: 'meanwhile' }, PAUL);
      expect(rolled.status).toBe(200);
      await page.click(`#history tr[data-revision="${target}"] button[data-action=rollback]`);
      await dialog.waitFor();
      expect(await dialog.innerText()).toContain(`Roll back from revision ${rolled.body.revision.revision} to revision ${target}?`);
      await page.click('#confirm-cancel');
      await dialog.waitFor({ state: 'hidden' });
    } finally {
      await admin('layouts/abort', { scene: 'cart-bottom-sheet' });
    }
  });

  it("never undoes a rollout change it did not show: a row another admin changed since is refused before its confirmation, one changed while it is open is refused by the server, and only the fields edited are sent, with the confirmation's message", async () => {
    const made = await admin('layouts/candidate', { scene: 'cart-bottom-sheet', revision: 1, rollout: { allowList: ['u1001'] }, message: 'canary' });
    expect(made.status, JSON.stringify(made.body)).toBe(200);
    const revision = made.body.revision.revision as number;
    const lastAudit = async () => (await admin('layouts/audit', { limit: 1 })).body.entries[0];
    try {
      await signIn();
      await releases();
      const row = page.locator('#candidates tr[data-scene="cart-bottom-sheet"]');
      const allow = row.locator('input[name=allowList]');
      await allow.waitFor();

      // Paul widens it while this page still shows "u1001, 0 %".
      expect((await admin('layouts/rollout', { scene: 'cart-bottom-sheet', revision, percentage: 50, segments: ['plus'] }, PAUL)).status).toBe(200);
      const widened = await lastAudit();
      // Adding a user to the allow-list of the row as it was is refused before any confirmation, saying what changed.
      await allow.fill('u1001, u2002');
      await row.locator('button[data-action=rollout]').click();
      const refusal = page.locator('[data-testid=candidate-refusal]');
      await refusal.filter({ hasText: 'changed since this page showed it' }).waitFor();
      expect(await refusal.innerText()).toBe(
        'The rollout of the cart-bottom-sheet candidate changed since this page showed it: percentage 0 % → 50 %; segments any → plus. Nothing was sent; the row now shows it as it is, with your edits kept in it: review them, then change it again.',
      );
      expect(await page.isVisible('#confirm')).toBe(false);
      expect(await lastAudit()).toEqual(widened);
      // The allow-list the operator typed is kept, beside Paul's percentage and segments, and said against what is there now.
      expect([await allow.inputValue(), await row.locator('input[name=percentage]').inputValue(), await row.locator('input[name=segments]').inputValue()]).toEqual(['u1001, u2002', '50', 'plus']);
      const unsent = row.locator('[data-testid=unsent-rollout]');
      expect(await unsent.innerText()).toBe('Not sent, kept as you typed it: allow-list u1001, u2002 (now u1001).');

      // Again from the row as it is: the confirmation says so. Paul changes it once more while it is open: the server refuses it.
      await row.locator('button[data-action=rollout]').click();
      const dialog = page.locator('#confirm');
      await dialog.waitFor();
      expect(await dialog.innerText()).toContain('Now: the allow-listed user u1001 and 50 % of other users by a stable hash of the user id (only segments plus).');
      await page.fill('#confirm-message', 'support accounts first');
      expect((await admin('layouts/rollout', { scene: 'cart-bottom-sheet', revision, percentage: 60 }, PAUL)).status).toBe(200);
      await page.click('#confirm-ok');
      await refusal.filter({ hasText: 'the rollout of the candidate of cart-bottom-sheet changed since it was read (percentage 50 → 60): review it, then change it again; nothing was changed' }).waitFor();
      forgive(problems, 'status of 409'); // the refusal just shown
      expect(await row.locator('input[name=percentage]').inputValue()).toBe('60');
      expect(await allow.inputValue()).toBe('u1001, u2002');
      expect(await unsent.innerText()).toBe('Not sent, kept as you typed it: allow-list u1001, u2002 (now u1001).');
      expect((await admin('layouts/candidates', {})).body.candidates[0].rollout).toEqual({ allowList: ['u1001'], percentage: 60, segments: ['plus'], platforms: [], minAppVersion: null });

      // Typed with a Chinese IME's commas, the allow-list is three user ids; it alone is sent, with the rollout it changes and the message.
      await allow.fill('u1001，u2002、u3003');
      await row.locator('button[data-action=rollout]').click();
      await dialog.waitFor();
      expect(await dialog.innerText()).toContain('u2002, u3003 start getting the candidate.');
      // The refused confirmation's message is where this one starts.
      expect(await page.inputValue('#confirm-message')).toBe('support accounts first');
      await page.fill('#confirm-message', 'the support accounts');
      const sent = page.waitForRequest((request) => request.url().endsWith('/admin/layouts/rollout'));
      await page.click('#confirm-ok');
      expect(Object.keys((await sent).postDataJSON()).sort()).toEqual(['allowList', 'from', 'message', 'revision', 'scene']);
      await page.locator('#candidates-message').filter({ hasText: 'The cart-bottom-sheet candidate now goes to the allow-listed users u1001, u2002, u3003 and 60 %' }).waitFor();
      // Sent and done: the row shows the rollout as it is, nothing left unsent.
      expect(await allow.inputValue()).toBe('u1001, u2002, u3003');
      expect(await unsent.count()).toBe(0);
      expect(await lastAudit()).toMatchObject({
        actor: 'admin',
        action: 'rollout',
        revision,
        detail: { message: 'the support accounts', from: { allowList: ['u1001'], percentage: 60, segments: ['plus'] }, to: { allowList: ['u1001', 'u2002', 'u3003'], percentage: 60, segments: ['plus'] } },
      });
    } finally {
      await admin('layouts/abort', { scene: 'cart-bottom-sheet' });
    }
  });

  it('describes the rollout as it is now in the abort confirmation, and says a candidate another admin promoted meanwhile is gone rather than naming the scene as a mistake', async () => {
    const made = await admin('layouts/candidate', { scene: 'cart-bottom-sheet', revision: 1, rollout: { allowList: ['u1001'] }, message: 'canary' });
    expect(made.status, JSON.stringify(made.body)).toBe(200);
    const revision = made.body.revision.revision as number;
    const { live } = (await admin('layouts/history', { limit: 1 })).body;
    try {
      await signIn();
      await releases();
      const row = page.locator('#candidates tr[data-scene="cart-bottom-sheet"]');
      await row.waitFor();
      // Paul widens it after this page loaded: the confirmation says who gets it now, not who the row said.
      expect((await admin('layouts/rollout', { scene: 'cart-bottom-sheet', revision, percentage: 50, segments: ['plus'] }, PAUL)).status).toBe(200);
      await row.locator('button[data-action=abort]').click();
      const dialog = page.locator('#confirm');
      await dialog.waitFor();
      expect(await dialog.innerText()).toContain(
        `cart-bottom-sheet: candidate r${revision} → revision ${live} (live) for the allow-listed user u1001 and 50 % of other users by a stable hash of the user id (only segments plus); nobody else sees a change.`,
      );
      // Paul promotes it while the confirmation is open.
      const promoted = await admin('layouts/promote', { scene: 'cart-bottom-sheet', revision, force: true, message: 'ship it' }, PAUL);
      expect(promoted.status, JSON.stringify(promoted.body)).toBe(200);
      await page.click('#confirm-ok');
      const refusal = page.locator('[data-testid=candidate-refusal]');
      await refusal
        .filter({ hasText: `the candidate of cart-bottom-sheet (revision ${revision}) is gone: promoted by paul (live revision ${promoted.body.revision.revision}) since it was read, so there is nothing to abort; nothing was changed` })
        .waitFor();
      forgive(problems, 'status of 409'); // the refusal just shown
      await page.locator('#candidates').filter({ hasText: 'No scene has a candidate now' }).waitFor();

      // A row still shown after its candidate went is told so before any confirmation.
      const again = await admin('layouts/candidate', { scene: 'cart-bottom-sheet', revision: 1, rollout: { allowList: ['u1001'] } });
      await page.click('#tab-releases');
      await row.waitFor();
      expect((await admin('layouts/abort', { scene: 'cart-bottom-sheet' }, PAUL)).status).toBe(200);
      await row.locator('button[data-action=promote]').click();
      await refusal.filter({ hasText: 'is gone' }).waitFor();
      expect(await refusal.innerText()).toBe(
        `The candidate of cart-bottom-sheet (revision ${again.body.revision.revision as number}) is gone: another operator promoted or aborted it since this page showed it. Nothing was sent; the page now shows what is there.`,
      );
      expect(await page.isVisible('#confirm')).toBe(false);
    } finally {
      if ((await admin('layouts/candidates', {})).body.candidates.length > 0) await admin('layouts/abort', { scene: 'cart-bottom-sheet' });
    }
  });

  it('refuses a publish or a candidate over what another admin published or made while its confirmation was open, and keeps the draft and what the operator typed, unsent', async () => {
    await signIn();
    await releases();
    await page.click('#publish-from-live');
    const cart = page.locator('#draft textarea[data-file="cart-bottom-sheet.yaml"]');
    await cart.waitFor();
    const { live } = (await admin('layouts/history', { limit: 1 })).body;
    await page.fill('#publish-message', 'nothing new');
    await page.click('#publish-form button[type=submit]');
    const dialog = page.locator('#confirm');
    await dialog.waitFor();
    expect(await dialog.innerText()).toContain('Nobody sees a difference: the floors are the same as the live revision’s.');
    // Paul publishes a hotfix while the confirmation is open: confirming would silently revert it.
    const files = (await admin('layouts/show', { revision: live })).body.revision.files as Record<string, string>;
    const hotfix = await admin('layouts/publish', { files: { ...files, 'cart-bottom-sheet.yaml': files['cart-bottom-sheet.yaml']!.replace('en: Shipping }', 'en: Delivery }') }, message: 'hotfix' }, PAUL);
    expect(hotfix.status, JSON.stringify(hotfix.body)).toBe(200);
    const hot = hotfix.body.revision.revision as number;
    await page.click('#confirm-ok');
    const refused = page.locator('[data-testid=publish-problems]');
    await refused.filter({ hasText: `live is revision ${hot} now, not ${live}: look at what changed since, then publish again; nothing was changed` }).waitFor();
    expect((await admin('layouts/history', { limit: 1 })).body.live).toBe(hot);
    await page.locator(`#history tr[data-revision="${hot}"] th`).filter({ hasText: `${hot} (live)` }).waitFor();
    expect(await cart.count()).toBe(1);
    expect(await page.inputValue('#publish-message')).toBe('nothing new');

    // A candidate the same way: its confirmation saw no candidate of the scene; Paul makes one meanwhile.
    await page.selectOption('#candidate-scene', 'cart-bottom-sheet');
    await page.fill('#candidate-allow', 'u1001, u2002');
    await page.fill('#candidate-percentage', '5');
    await page.click('#candidate-form button[type=submit]');
    await dialog.waitFor();
    expect(await dialog.innerText()).not.toContain('It replaces');
    await page.fill('#confirm-message', 'the coupon wording, for support first');
    const paul = await admin('layouts/candidate', { scene: 'cart-bottom-sheet', revision: 1, rollout: { allowList: ['u-vip'] }, message: 'made by paul' }, PAUL);
    expect(paul.status, JSON.stringify(paul.body)).toBe(200);
    const sent: string[] = [];
    page.on('request', (request) => {
      if (request.url().endsWith('/admin/layouts/candidate')) sent.push(request.postData() ?? '');
    });
    try {
      await page.click('#confirm-ok');
      await refused.filter({ hasText: 'scene cart-bottom-sheet has a candidate now (revision 1), which this one would replace: review it, then make the candidate again; nothing was changed' }).waitFor();
      expect((await admin('layouts/candidates', {})).body.candidates).toMatchObject([{ revision: 1, rollout: { allowList: ['u-vip'] }, message: 'made by paul' }]);
      await page.locator('#candidates tr[data-scene="cart-bottom-sheet"]').filter({ hasText: 'u-vip' }).waitFor();
      expect(await cart.count()).toBe(1);
      // What the operator typed is still in the form, below Paul's candidate, to decide on: not cleared, and not sent again.
      expect(await refused.innerText()).toContain('Your set, the scene, allow-list, percentage and message are kept below, not sent');
      expect([
        await page.inputValue('#candidate-scene'),
        await page.inputValue('#candidate-allow'),
        await page.inputValue('#candidate-percentage'),
        await page.inputValue('#publish-message'),
      ]).toEqual(['cart-bottom-sheet', 'u1001, u2002', '5', 'the coupon wording, for support first']);
      expect(sent).toHaveLength(1);
      // The next confirmation starts from it, and says whose candidate it would replace.
      await page.click('#candidate-form button[type=submit]');
      await dialog.waitFor();
      expect(await page.inputValue('#confirm-message')).toBe('the coupon wording, for support first');
      expect(await dialog.innerText()).toContain('It replaces the scene\'s candidate (revision 1, for the allow-listed user u-vip).');
      expect(await dialog.innerText()).toContain('for the allow-listed users u1001, u2002 and 5 % of other users');
      await page.click('#confirm-cancel');
      await dialog.waitFor({ state: 'hidden' });
      expect(sent).toHaveLength(1);
      forgive(problems, 'status of 409'); // the two refusals shown above
    } finally {
      await admin('layouts/abort', { scene: 'cart-bottom-sheet' });
    }
  });

  it('forgets the draft and what the page showed when its operator signs out: the next one to sign in on the tab starts from nothing', async () => {
    await signIn();
    await page.fill('#pv-user', 'u-mj');
    await page.click('#preview-form button[type=submit]');
    await page.locator('#preview-result figcaption').filter({ hasText: 'u-mj' }).first().waitFor();
    await releases();
    await page.click('#publish-from-live');
    const cart = page.locator('#draft textarea[data-file="cart-bottom-sheet.yaml"]');
    await cart.waitFor();
    await cart.fill('scene: cart-bottom-sheet\n# admin’s unfinished edit\n');
    await page.fill('#publish-message', 'half done');
    await page.click('#sign-out');
    await page.locator('#login-form').waitFor();

    await signInWith(page, PAUL);
    expect(await page.locator('#who').innerText()).toBe('Signed in as paul (publisher)');
    expect(await page.locator('#pv-user').inputValue()).toBe('u1001');
    await page.locator('#preview-result figcaption').filter({ hasText: 'u1001' }).first().waitFor();
    await releases();
    expect(await page.locator('#draft').innerText()).toBe('No files in the set yet.');
    expect(await page.locator('#publish-message').inputValue()).toBe('');
  });

  it('says when Floorplan cannot be reached: a read changed nothing, and whether a change was made is not known', async () => {
    expect((await admin('layouts/candidate', { scene: 'cart-bottom-sheet', revision: 1, rollout: { allowList: ['u1001'] } })).status).toBe(200);
    try {
      await signIn();
      await releases();
      const row = page.locator('#candidates tr[data-scene="cart-bottom-sheet"]');
      await row.locator('button[data-action=abort]').click();
      await page.locator('#confirm').waitFor();
      await context.setOffline(true);
      await page.click('#confirm-ok');
      const refusal = page.locator('[data-testid=candidate-refusal]');
      await refusal.filter({ hasText: 'could not be reached' }).waitFor();
      expect(await refusal.innerText()).toBe(
        'Floorplan could not be reached, or its answer was lost on the way (the server or the network is down): whether this change was made is not known. Once it answers again, reload the page (the history and the audit show what was done) before trying again.',
      );
      await row.locator('button[data-action=shadow]').click();
      await page.locator('#shadow').filter({ hasText: 'could not be reached' }).waitFor();
      expect(await page.locator('#shadow').innerText()).toBe('Floorplan could not be reached (the server or the network is down): nothing was changed. Try again once it answers.');
      forgive(problems, 'ERR_INTERNET_DISCONNECTED'); // the requests the browser could not send
    } finally {
      await context.setOffline(false);
      await admin('layouts/abort', { scene: 'cart-bottom-sheet' });
    }
  });

  it("states what a rollback to a one-scene revision an earlier release staged makes live: live's other scenes stay, none is said removed", async () => {
    // As a release before whole-set candidates stored a folder holding only the candidate's scene.
    const { revision } = await h.server.revisions!.publishCandidate({
      scene: 'cart-bottom-sheet',
      source: { files: { 'cart-bottom-sheet.yaml': CART.replace('en: Coupons }', 'en: "Old coupons" }') } },
      rollout: { allowList: [], percentage: 0, segments: [], platforms: [], minAppVersion: null },
      author: 'admin',
      actor: 'admin',
      message: 'staged by the release before',
    });
    try {
      await signIn();
      await releases();
      await page.click(`#history tr[data-revision="${revision.revision}"] button[data-action=rollback]`);
      const dialog = page.locator('#confirm');
      await dialog.waitFor();
      const said = await dialog.innerText();
      expect(said).toContain(`Revision ${revision.revision} was never live and holds no checkout-summary: live's stay as they are.`);
      expect(said).toContain('floor coupon name[en]: "Coupons" → "Old coupons"');
      expect(said).not.toContain('scene removed');
      await page.click('#confirm-cancel');
      await dialog.waitFor({ state: 'hidden' });
    } finally {
      await admin('layouts/abort', { scene: 'cart-bottom-sheet' });
    }
  });

  it('says in the rollback and publish confirmations that a candidate still serves its users, who they are, and that aborting it gives them these floors', async () => {
    // The vouchers revision as the candidate, to u1001 and 10 % of the others: a rollback to the baseline does not reach them.
    const made = await admin('layouts/candidate', { scene: 'cart-bottom-sheet', revision: 2, rollout: { allowList: ['u1001'], percentage: 10 }, message: 'vouchers canary' });
    expect(made.status, JSON.stringify(made.body)).toBe(200);
    const kept = `cart-bottom-sheet: its candidate (revision 2) is still served to the allow-listed user u1001 and 10 % of other users by a stable hash of the user id, who keep getting it, not these floors. Abort it under Candidates to give them these.`;
    try {
      await signIn();
      await releases();
      await page.click('#history tr[data-revision="1"] button[data-action=rollback]');
      const dialog = page.locator('#confirm');
      await dialog.waitFor();
      let said = await dialog.innerText();
      expect(said).toContain('Every user who opens cart-bottom-sheet gets the floors below, on every replica within about 2 s, except the users a candidate still serves.');
      expect(await page.locator('#confirm [data-testid=candidates-served]').innerText()).toBe(kept);
      await page.click('#confirm-cancel');
      await dialog.waitFor({ state: 'hidden' });

      await draftFromLive((cart) => cart.replace(/en: (Coupons|Vouchers) \}/, 'en: Coupon savings }'));
      await page.fill('#publish-message', 'coupon savings');
      await page.click('#publish-form button[type=submit]');
      await dialog.waitFor();
      said = await dialog.innerText();
      expect(said).toContain('Every user who opens cart-bottom-sheet gets the floors below, on every replica within about 2 s, except the users a candidate still serves.');
      expect(await page.locator('#confirm [data-testid=candidates-served]').innerText()).toBe(kept);
      // The edit kept the version: accepted, but said.
      expect(await page.locator('#confirm [data-testid=version-kept]').innerText()).toMatch(
        /^The floors of cart-bottom-sheet change, but its version does not \(still "[^"]+"\): layoutVersion will not tell them from the live ones\. Give it a new version to tell them apart\.$/,
      );
      await page.click('#confirm-cancel');
      await dialog.waitFor({ state: 'hidden' });
    } finally {
      await admin('layouts/abort', { scene: 'cart-bottom-sheet' });
    }
  });

  it('says before sending that a publish or rollback taking off the air a scene with a candidate will be refused, names the candidate and whom it serves, and shows the refusal of one sent as a candidate is made', async () => {
    const { cartOnly, back } = await checkoutOffAndBack();
    const made = await admin('layouts/candidate', { scene: 'checkout-summary', revision: back, rollout: { allowList: ['u1001'] }, message: 'checkout canary' });
    expect(made.status, JSON.stringify(made.body)).toBe(200);
    const refused = (what: string, keep: string) =>
      `checkout-summary has a candidate (revision ${back}), served to the allow-listed user u1001: Floorplan will refuse this ${what}, which would take checkout-summary off the air and refuse the scene to the candidate's users. Abort the candidate under Candidates first${keep}.`;
    /** The confirmation says the change will be refused, promises nothing, keeps Confirm disabled; then it is cancelled. */
    const refusedThenCancelled = async (dialog: Locator, refusal: string) => {
      expect(await page.locator('#confirm [data-testid=scene-has-candidate]').innerText()).toBe(refusal);
      expect(await dialog.innerText()).not.toContain('still served');
      // Refused, so it takes nothing off the air, and nobody is promised checkout-summary's floors.
      expect(await page.locator('#confirm [data-testid=scenes-off-air]').count()).toBe(0);
      expect(await dialog.innerText()).not.toMatch(/Every user who opens [^.]*checkout-summary/);
      // Nor is the file it leaves out removed: the refusal says to keep it.
      expect(await dialog.innerText()).not.toContain('so removed');
      expect(await page.locator('#confirm-ok').isDisabled()).toBe(true);
      await page.click('#confirm-cancel');
      await dialog.waitFor({ state: 'hidden' });
    };
    try {
      await signIn();
      await releases();
      const dialog = await rollbackConfirmation(cartOnly);
      await refusedThenCancelled(dialog, refused('rollback', ', then roll back'));

      await page.click('#publish-from-live');
      await page.locator('#draft textarea[data-file="checkout-summary.yaml"]').waitFor();
      await page.click('#draft button:has-text("Remove checkout-summary.yaml")');
      await page.fill('#publish-message', 'retire checkout');
      await page.click('#publish-form button[type=submit]');
      await dialog.waitFor();
      await refusedThenCancelled(dialog, refused('publish', ', or keep checkout-summary.yaml in the set'));

      // Without the candidate the publish is offered; Paul stages one while the confirmation is open.
      expect((await admin('layouts/abort', { scene: 'checkout-summary' })).status).toBe(200);
      await page.click('#publish-form button[type=submit]');
      await dialog.waitFor();
      expect(await page.locator('#confirm [data-testid=scene-has-candidate]').count()).toBe(0);
      expect(await page.locator('#confirm [data-testid=scenes-off-air]').innerText()).toBe(
        'This takes checkout-summary off the air (checkout-summary.yaml is not in this set): every user who opens it is refused the scene, on every replica within about 2 s.',
      );
      expect(await page.locator('#confirm-ok').isDisabled()).toBe(false);
      const paul = await admin('layouts/candidate', { scene: 'checkout-summary', revision: back, rollout: { allowList: ['u2002'] }, message: 'made by paul' }, PAUL);
      expect(paul.status, JSON.stringify(paul.body)).toBe(200);
      await page.click('#confirm-ok');
      await page
        .locator('[data-testid=publish-problems]')
        .filter({ hasText: `this publish must keep on the air every scene that has a candidate, but it would take checkout-summary off the air, whose candidate (revision ${back}) is served to allow-list [u2002]` })
        .waitFor();
      expect((await admin('layouts/history', { limit: 1 })).body.live).toBe(back);
      expect(await page.locator('#draft textarea[data-file="cart-bottom-sheet.yaml"]').count()).toBe(1);
      forgive(problems, 'status of 409');
    } finally {
      await admin('layouts/abort', { scene: 'checkout-summary' });
    }
  });

  it('says which scenes a publish or rollback takes off the air, and promises their users no floors: once published, the scene is refused', async () => {
    const { files, cartOnly } = await checkoutOffAndBack();
    const offAir = 'This takes checkout-summary off the air: every user who opens it is refused the scene, on every replica within about 2 s.';
    try {
      await signIn();
      await releases();
      // The rollback drops checkout-summary and changes nothing else.
      const dialog = await rollbackConfirmation(cartOnly);
      let said = await dialog.innerText();
      expect(said).not.toContain('Every user who opens');
      expect(said).not.toContain('Nobody sees a difference');
      expect(await page.locator('#confirm [data-testid=scenes-off-air]').innerText()).toBe(offAir);
      await page.click('#confirm-cancel');
      await dialog.waitFor({ state: 'hidden' });

      // The publish drops checkout-summary and renames a floor of cart-bottom-sheet.
      await draftFromLive((cart) => cart.replace(/en: (Coupons|Vouchers|Coupon savings) \}/, 'en: Coupon deals }').replace(/version: "[^"]+"/, 'version: "2027-01-01.1"'));
      await page.click('#draft button:has-text("Remove checkout-summary.yaml")');
      await page.fill('#publish-message', 'retire checkout');
      await page.click('#publish-form button[type=submit]');
      await dialog.waitFor();
      said = await dialog.innerText();
      expect(said).toContain('Every user who opens cart-bottom-sheet gets the floors below, on every replica within about 2 s.');
      expect(said).not.toMatch(/Every user who opens [^.]*checkout-summary/);
      // Said once, naming the file the set leaves out: not again as a file "removed".
      expect(await page.locator('#confirm [data-testid=scenes-off-air]').innerText()).toBe(
        'This takes checkout-summary off the air (checkout-summary.yaml is not in this set): every user who opens it is refused the scene, on every replica within about 2 s.',
      );
      expect(said).not.toContain('so removed');
      expect(await page.locator('#confirm-ok').isDisabled()).toBe(false);
      await page.click('#confirm-ok');
      await page.locator('#releases-error').filter({ hasText: 'Published revision' }).waitFor();
      // What the confirmation said: the app opening checkout-summary gets no floors, only a refusal.
      const refused = await h.graphql<{ floorPanel: unknown }>('u1001', PANEL_QUERY, { scene: 'checkout-summary' });
      expect(refused.body.data?.floorPanel ?? null).toBeNull();
      expect(refused.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect((await h.graphql('u1001', PANEL_QUERY, { scene: 'cart-bottom-sheet' })).status).toBe(200);
    } finally {
      const restored = await admin('layouts/publish', { files, message: 'checkout restored' });
      expect(restored.status, JSON.stringify(restored.body)).toBe(200);
    }
  });

  it('lets a viewer preview and read history, candidates and their shadow report, but not publish, roll back or act on a candidate — refused by the server too', async () => {
    expect((await admin('layouts/candidate', { scene: 'cart-bottom-sheet', revision: 1, rollout: { allowList: ['u1001'] } })).status).toBe(200);
    try {
      await signIn(VIEWER);
      expect(await page.locator('#who').innerText()).toBe('Signed in as vera (viewer)');
      await page.locator('#preview-result section[data-layout=candidate] ol.floors').waitFor();
      await releases();
      expect(await page.locator('#history button[data-action=rollback]').count()).toBe(0);
      expect(await page.locator('#publish').innerText()).toContain('Publishing needs the publisher role');
      expect(await page.locator('#candidate-form').count()).toBe(0);
      const row = page.locator('#candidates tr[data-scene="cart-bottom-sheet"]');
      await row.waitFor();
      expect(await row.locator('button[data-action=shadow]').count()).toBe(1);
      expect(await row.locator('button[data-action=promote], button[data-action=abort], button[data-action=rollout], input').count()).toBe(0);
      await row.locator('button[data-action=shadow]').click();
      await page.locator('[data-testid=shadow-summary]').waitFor();
      const refused = await page.evaluate(async (token) => {
        const answers = [];
        for (const [path, body] of [['/admin/layouts/rollback', { revision: 1 }], ['/admin/layouts/rollout', { scene: 'cart-bottom-sheet', percentage: 50 }], ['/admin/layouts/promote', { scene: 'cart-bottom-sheet', force: true }]] as const) {
          const res = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
          answers.push([res.status, ((await res.json()) as { error: string }).error]);
        }
        return answers;
      }, VIEWER);
      expect(refused).toEqual([
        [403, '/admin/layouts/rollback needs the publisher role; vera is a viewer'],
        [403, '/admin/layouts/rollout needs the publisher role; vera is a viewer'],
        [403, '/admin/layouts/promote needs the publisher role; vera is a viewer'],
      ]);
      forgive(problems, 'status of 403'); // the refusals just provoked
    } finally {
      await admin('layouts/abort', { scene: 'cart-bottom-sheet' });
    }
  });

  it('throttles wrong tokens at the login: after the limit, even the right token waits out the window', async () => {
    await openConsole();
    for (let attempt = 1; attempt <= MAX_FAILED; attempt++) {
      await page.fill('#token', `wrong-token-${attempt}`);
      await page.click('#login-form button[type=submit]');
      await page.locator('#login-error').filter({ hasText: 'That token is not accepted.' }).waitFor();
      await page.evaluate(() => (document.getElementById('login-error')!.textContent = ''));
    }
    await page.fill('#token', ADMIN);
    await page.click('#login-form button[type=submit]');
    await page.locator('#login-error').filter({ hasText: /^Too many wrong tokens from this address: retry after \d+ s\.$/ }).waitFor();
    expect(await page.isVisible('#app')).toBe(false);
    // The browser logs each refused request as a console error; those are the point of this test.
    forgive(problems, /status of (401|429)/);

    await new Promise((done) => setTimeout(done, WINDOW_SECONDS * 1000 + 200));
    await page.click('#login-form button[type=submit]');
    await page.locator('#who').filter({ hasText: 'Signed in as admin' }).waitFor();
  });
});
