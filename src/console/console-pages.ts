/**
 * The operator console's files (GET /console, /console/console.js, /console/console.css, an icon):
 * one HTML page, its script (console.js, with the rollout wording it imports as a module of its
 * own, tested without a browser) and one style sheet, plain files without a build step, read once at
 * start. The page talks to the admin API (POST /admin/*) with the admin token the operator signs
 * in with; the http server serves these under a strict Content-Security-Policy (STATIC_HEADERS).
 */
import { readFileSync } from 'node:fs';
import type { StaticPage } from '../http/server.ts';

const ASSETS = new URL('./assets/', import.meta.url);

const FILES: ReadonlyArray<readonly [path: string, file: string, contentType: string]> = [
  ['/console', 'index.html', 'text/html; charset=utf-8'],
  ['/console/console.js', 'console.js', 'text/javascript; charset=utf-8'],
  ['/console/rollout-words.js', 'rollout-words.js', 'text/javascript; charset=utf-8'],
  ['/console/console.css', 'console.css', 'text/css; charset=utf-8'],
  ['/console/icon.svg', 'icon.svg', 'image/svg+xml'],
];

/** The console's pages by path, read from src/console/assets (dist/src/console/assets when built). */
export function consolePages(): Record<string, StaticPage> {
  return Object.fromEntries(FILES.map(([path, file, contentType]) => [path, { contentType, body: readFileSync(new URL(file, ASSETS)) }]));
}
