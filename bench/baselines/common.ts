/**
 * What the three baseline servers share: the port they are told to use, the schema they
 * serve, and leaving when the orchestrator does.
 */
import { loadTypeDefs } from '../../src/graphql/schema.ts';

/** BENCH_PORT, required: the orchestrator picks a free port for each server. */
export function portFromEnv(): number {
  const raw = process.env['BENCH_PORT'] ?? '';
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port < 1 || port > 65_535) {
    throw new Error(`BENCH_PORT must be a port from 1 to 65535, but got: ${JSON.stringify(raw)}`);
  }
  return port;
}

/** Floorplan's SDL, so every baseline validates and executes against the same contract. */
export function floorplanSdl(): string {
  return loadTypeDefs();
}

/**
 * Exits when stdin closes: the orchestrator holds the other end of the pipe, so a baseline
 * never outlives it, even when it is killed without the chance to clean up.
 */
export function exitWithParent(): void {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
  process.once('SIGTERM', () => process.exit(0));
  process.once('SIGINT', () => process.exit(0));
}
