/**
 * The files README.md and docs/*.md send a reader to exist. Defect (a new engineer's pass): README's
 * "Money rules" cited test/floors/reconciliation.property.test.ts, which had moved to test/panels/.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const DOCS = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];
/** A path in backticks under one of the repository's folders, with an extension: `src/app.ts`. */
const CITED = /`((?:src|test|bench|deploy|config|floors|schema|docs|\.ci)\/[\w./-]+\.[a-z]+)`/g;
/** Files the docs name as examples of what a reader will create, not as files to open. */
const EXAMPLES = new Set(['src/upstreams/defs/inventory.ts']);

describe('the files the docs cite', () => {
  it.each(DOCS)('%s names only files that exist', (doc) => {
    const text = readFileSync(join(ROOT, doc), 'utf8');
    const missing = [...text.matchAll(CITED)].map((match) => match[1] as string).filter((path) => !EXAMPLES.has(path) && !existsSync(join(ROOT, path)));
    expect(missing).toEqual([]);
  });
});
