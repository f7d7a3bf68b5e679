/**
 * The console shows what each live app version would get from a set — the compatibility matrix
 * of `floors:check` — before a publish, and why a publish was refused: real Chromium against a
 * real Floorplan whose clients file says Android learnt 免运费 (`zeroText`) only in 12.2.0, so
 * the shipped floors, whose shipping rows send it, are refused for two live Android versions.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeClientsWithLateAndroidZeroText } from '../support/clients-files.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { closeConsoleSuite, forgive, HAS_CHROMIUM, launchChromium, openConsolePage, screenshot, signInWith } from './support.ts';

const ADMIN = 'compatibility-suite-admin-token';
const CART = readFileSync('floors/cart-bottom-sheet.yaml', 'utf8');
const CHECKOUT = readFileSync('floors/checkout-summary.yaml', 'utf8');
const ZERO_TEXT = '    zeroText: { zh-CN: 免运费, en: Free }\n';
// The functions handed to page.evaluate run in the page (the project compiles without the DOM library).
declare const document: any;

describe.skipIf(!HAS_CHROMIUM)('the console shows the compatibility matrix with the live app versions', () => {
  let dir: string;
  let h: Harness;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let problems: string[];

  /** The matrix's rows as the page shows them: status, platform, version, scene. */
  const matrixRows = (within: string) =>
    page.evaluate(
      (selector: string) =>
        [...document.querySelectorAll(`${selector} [data-testid=compatibility] tbody tr`)].map((tr: any) => [...tr.children].slice(0, 4).map((td: any) => td.textContent)),
      within,
    );

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'floorplan-console-compat-'));
    h = await startHarness({
      config: {
        admin: { token: ADMIN },
        floors: { clientsFile: writeClientsWithLateAndroidZeroText(dir) },
        layouts: { store: { kind: 'pglite', dataDir: join(dir, 'revisions') } },
      },
    });
    browser = await launchChromium();
  }, 180_000);

  closeConsoleSuite(() => ({ problems, context, browser, h, dir }));

  it('refuses a set two live Android versions would not understand, shows which versions get what, and publishes the fixed set after showing its matrix', async () => {
    ({ context, page, problems } = await openConsolePage(browser, h.url));
    await signInWith(page, ADMIN);
    await page.click('#tab-releases');
    await page.locator('#publish-files').waitFor({ state: 'attached' });

    await page.setInputFiles('#publish-files', [
      { name: 'cart-bottom-sheet.yaml', mimeType: 'application/yaml', buffer: Buffer.from(CART) },
      { name: 'checkout-summary.yaml', mimeType: 'application/yaml', buffer: Buffer.from(CHECKOUT) },
    ]);
    await page.locator('#draft textarea[data-file="checkout-summary.yaml"]').waitFor();
    await page.fill('#publish-message', 'the shipped floors');
    await page.click('#publish-form button[type=submit]');
    const refused = page.locator('[data-testid=publish-problems]');
    await refused.waitFor();
    expect(await refused.innerText()).toContain('android 11.2.0 must understand every field it is sent, but floor "shipping" of cart-bottom-sheet would send it zeroText (understood from android 12.2.0');
    // The matrix, opened because something is refused: the six refused cells, the rest ok, the unsupported version listed once.
    const matrix = page.locator('#publish-result [data-testid=compatibility]');
    expect(await matrix.getAttribute('open')).not.toBeNull();
    expect(await matrix.locator('summary').innerText()).toMatch(/^What each live app version would get \(.*clients\.yaml\): 6 of \d+ refused$/);
    const rows = await matrixRows('#publish-result');
    expect(rows.filter((r) => r[0] === 'REFUSED')).toEqual([
      ['REFUSED', 'android', '11.2.0', 'cart-bottom-sheet'],
      ['REFUSED', 'android', '11.2.0', 'cart-bottom-sheet (compact)'],
      ['REFUSED', 'android', '11.2.0', 'checkout-summary'],
      ['REFUSED', 'android', '12.1.0', 'cart-bottom-sheet'],
      ['REFUSED', 'android', '12.1.0', 'cart-bottom-sheet (compact)'],
      ['REFUSED', 'android', '12.1.0', 'checkout-summary'],
    ]);
    expect(rows).toContainEqual(['ok', 'android', '12.3.1', 'cart-bottom-sheet']);
    expect(rows).toContainEqual(['ok', 'ios', '11.0.0', 'cart-bottom-sheet (compact)']);
    expect(rows.filter((r) => r[0] === 'unchecked')).toEqual([['unchecked', 'ios', '10.8.2', '(every scene)']]);
    expect(await matrix.locator('tr[data-status=refused]').first().innerText()).toContain('fields subName, zeroText');
    expect(await matrix.locator('tr[data-status=unchecked]').innerText()).toContain("nothing checked: below ios's oldest supported 11.0.0");
    expect((await (await fetch(`${h.url}/admin/layouts/history`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: '{}' })).json()) as { revisions: unknown[] }).toMatchObject({ revisions: [] });
    forgive(problems, 'status of 409'); // the refusal shown above
    await matrix.locator('tr[data-status=refused]').last().scrollIntoViewIfNeeded();
    await screenshot(page, 'publish-incompatible');

    // The fix: no 免运费 until those versions are gone. The confirmation shows the matrix, all ok, closed.
    for (const name of ['cart-bottom-sheet.yaml', 'checkout-summary.yaml']) {
      const area = page.locator(`#draft textarea[data-file="${name}"]`);
      const yaml = await area.inputValue();
      expect(yaml).toContain(ZERO_TEXT);
      // Every shipping row's, the compact variant's too.
      await area.fill(yaml.replace(/^ +zeroText: \{ zh-CN: 免运费, en: Free \}\n/gm, ''));
    }
    await page.click('#publish-form button[type=submit]');
    const dialog = page.locator('#confirm');
    await dialog.waitFor();
    const shown = dialog.locator('[data-testid=compatibility]');
    expect(await shown.getAttribute('open')).toBeNull();
    expect(await shown.locator('summary').innerText()).toMatch(/^What each live app version would get \(.*clients\.yaml\): all \d+ ok$/);
    await shown.locator('summary').click();
    expect((await matrixRows('#confirm')).filter((r) => r[0] === 'REFUSED')).toEqual([]);
    expect(await shown.locator('tr[data-status=ok]').filter({ hasText: '11.2.0' }).first().innerText()).not.toContain('zeroText');
    await page.click('#confirm-ok');
    await page.locator('#history tr[data-revision="1"] th').filter({ hasText: '1 (live)' }).waitFor();
  });
});
