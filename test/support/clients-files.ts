/**
 * Clients files for tests of the compatibility check (src/layouts/compatibility.ts), made from
 * the committed config/clients.yaml so they follow it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The committed clients file, except that Android understands 免运费 (`zeroText`) only from
 * 12.2.0 while 11.2.0 and 12.1.0 are live: the shipped floors' shipping rows, which send it,
 * become incompatible with those two versions in both scenes. Written to `dir`/clients.yaml;
 * returns its path.
 */
export function writeClientsWithLateAndroidZeroText(dir: string): string {
  const committed = readFileSync('config/clients.yaml', 'utf8');
  const clients = committed.replace(/zeroText: "10\.2\.0"/, 'zeroText: { ios: "10.2.0", android: "12.2.0" }');
  if (clients === committed) throw new Error('config/clients.yaml no longer says zeroText: "10.2.0"; update this helper');
  const path = join(dir, 'clients.yaml');
  writeFileSync(path, clients);
  return path;
}
