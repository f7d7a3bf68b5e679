/**
 * Headless Chromium for the console's tests: Debian's `chromium` package (no browser download),
 * driven by playwright-core. Suites use `describe.skipIf(!HAS_CHROMIUM)`, so a machine without
 * it reports them skipped by name; on CI, .ci/run installs it and fails any skip.
 *
 * With CONSOLE_SCREENSHOTS_DIR set (`npm run console:screenshots`), `screenshot()` writes the
 * pictures the README shows; otherwise it does nothing.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, expect } from 'vitest';
import type { Harness } from '../support/harness.ts';

/** The browser binary: CHROMIUM_PATH, else Debian's. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const HAS_CHROMIUM = existsSync(CHROMIUM_PATH);

/** A laptop screen. */
export const VIEWPORT = { width: 1366, height: 900 } as const;

export function launchChromium(): Promise<Browser> {
  // --no-sandbox: these machines run tests as root in containers, where Chromium's sandbox cannot
  // start; --disable-dev-shm-usage: a container's /dev/shm is often too small for its renderer.
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}

const SCREENSHOTS_DIR = process.env.CONSOLE_SCREENSHOTS_DIR;

/** Saves the page as `<name>.png` under CONSOLE_SCREENSHOTS_DIR, when set. */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (SCREENSHOTS_DIR === undefined || SCREENSHOTS_DIR === '') return;
  mkdirSync(SCREENSHOTS_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS_DIR, `${name}.png`), fullPage: false });
}

/** A fresh browser context on the console, and the console errors and uncaught exceptions its page reports (a CSP or Trusted Types violation shows up there). */
export interface ConsolePage {
  readonly context: BrowserContext;
  readonly page: Page;
  readonly problems: string[];
}

export async function openConsolePage(browser: Browser, url: string): Promise<ConsolePage> {
  const context = await browser.newContext({ viewport: VIEWPORT, locale: 'en-US' });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  await page.goto(`${url}/console`);
  return { context, page, problems };
}

/** Signs in on an open console page with `token`, and waits until it says who is signed in. */
export async function signInWith(page: Page, token: string): Promise<void> {
  await page.fill('#token', token);
  await page.click('#login-form button[type=submit]');
  await page.locator('#who').filter({ hasText: 'Signed in as' }).waitFor();
}

/** Drops from `problems`, in place, those an assertion just provoked on purpose (e.g. the 400 of a refused upload). */
export function forgive(problems: string[], provoked: string | RegExp): void {
  for (let i = problems.length - 1; i >= 0; i--) {
    const problem = problems[i] as string;
    if (typeof provoked === 'string' ? problem.includes(provoked) : provoked.test(problem)) problems.splice(i, 1);
  }
}

/** What a console suite's hooks close; read when each hook runs (the suite assigns it in beforeAll and each test). */
export interface ConsoleSuiteState {
  readonly problems: readonly string[] | undefined;
  readonly context: BrowserContext | undefined;
  readonly browser: Browser | undefined;
  readonly h: Harness | undefined;
  readonly dir: string | undefined;
}

/**
 * The hooks every console suite ends with: after each test, no console error or uncaught
 * exception the test did not forgive, and its browser context closed; after the suite, the
 * browser, the server and the temporary folder.
 */
export function closeConsoleSuite(state: () => ConsoleSuiteState): void {
  afterEach(async () => {
    const { problems, context } = state();
    expect(problems).toEqual([]);
    await context?.close();
  });
  afterAll(async () => {
    const { browser, h, dir } = state();
    await browser?.close();
    await h?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
}
