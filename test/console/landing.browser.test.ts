/**
 * The landing page (`/`) under its Content-Security-Policy, in real Chromium: its own inline
 * script and style run (allowed by hash), a script injected into the page does not, and the page
 * refuses to be framed.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.ts';
import { HAS_CHROMIUM, launchChromium, VIEWPORT } from './support.ts';

// The functions handed to page.evaluate run in the page (the project compiles without the DOM library).
declare const document: any;
declare const window: any;

describe.skipIf(!HAS_CHROMIUM)('the landing page in headless Chromium', () => {
  let h: Harness;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    h = await startHarness();
    browser = await launchChromium();
    context = await browser.newContext({ viewport: VIEWPORT, locale: 'en-US' });
    page = await context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
  }, 180_000);
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await h?.close();
  });

  it('runs its own script: a pasted token gets the panel, with no CSP violation', async () => {
    await page.goto(`${h.url}/`);
    await page.fill('#token', await h.token('u1001'));
    await page.click('#run');
    await page.locator('#out').filter({ hasText: '200' }).waitFor();
    expect(await page.textContent('#out')).toContain('"scene": "cart-bottom-sheet"');
    expect(await page.evaluate(() => window.getComputedStyle(document.body).marginTop)).toBe('32px');
    expect(problems).toEqual([]);
  });

  it('does not run a script added to the page, nor show itself in a frame', async () => {
    await page.goto(`${h.url}/`);
    // An injected script is refused twice over: Trusted Types refuse its text, the policy its running.
    const refusal = await page.evaluate(() => {
      const script = document.createElement('script');
      try {
        script.textContent = 'window.injected = true';
      } catch (error) {
        return String(error);
      }
      document.body.appendChild(script);
      return 'assigned';
    });
    expect(refusal).toMatch(/TrustedScript/);
    expect(await page.evaluate(() => window.injected === true)).toBe(false);
    problems.length = 0;
    await page.goto('about:blank');
    await page.setContent(`<iframe src="${h.url}/"></iframe>`);
    await page.waitForTimeout(500);
    const framed = page.frames().find((f) => f.url().startsWith(h.url));
    expect(await framed?.evaluate(() => document.getElementById('token') !== null).catch(() => false) ?? false).toBe(false);
  });
});
