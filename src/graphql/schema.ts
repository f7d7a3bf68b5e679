/** The SDL in schema/ — the contract with mobile clients — read once at start. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** schema/ of the project: the nearest one above this module, whether it runs from src/ or dist/src/. */
function schemaDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'schema');
    if (existsSync(join(candidate, 'floorplan.graphql'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`schema/floorplan.graphql not found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

export function loadTypeDefs(): string {
  const dir = schemaDir();
  return readdirSync(dir)
    .filter((name) => name.endsWith('.graphql'))
    .sort()
    .map((name) => readFileSync(join(dir, name), 'utf8'))
    .join('\n');
}
