/** The SDL in schema/ — the contract with mobile clients — read once at start. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const SCHEMA_DIR = new URL('../../schema/', import.meta.url);

export function loadTypeDefs(): string {
  const dir = SCHEMA_DIR.pathname;
  return readdirSync(dir)
    .filter((name) => name.endsWith('.graphql'))
    .sort()
    .map((name) => readFileSync(join(dir, name), 'utf8'))
    .join('\n');
}
