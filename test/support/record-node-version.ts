/**
 * vitest globalSetup: writes the Node version the tests run under to the file named by
 * FLOORPLAN_NODE_VERSION_FILE, so `.ci/run` can print it and refuse any runtime but the one
 * the project is tested on. Without the variable it does nothing.
 */
import { writeFileSync } from 'node:fs';

export default function recordNodeVersion(): void {
  const file = process.env['FLOORPLAN_NODE_VERSION_FILE'];
  if (file !== undefined && file !== '') writeFileSync(file, `${process.version}\n`);
}
