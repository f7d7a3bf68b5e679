/**
 * Runs the demo upstreams alone: `node --import tsx src/demo-upstreams/main.ts`.
 * DEMO_PORT (default 4001) and DEMO_FAULTS (see faults.ts) configure it.
 */
import { formatFaults, parseFaults } from './faults.ts';
import { startDemoUpstreams } from './server.ts';

const DEFAULT_PORT = 4001;

function portFromEnv(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return DEFAULT_PORT;
  const port = Number(value);
  if (!/^\d+$/.test(value.trim()) || port > 65_535) {
    throw new Error(`DEMO_PORT "${value}" must be an integer port from 0 to 65535`);
  }
  return port;
}

async function main(): Promise<void> {
  const port = portFromEnv(process.env['DEMO_PORT']);
  const faultSpec = process.env['DEMO_FAULTS'] ?? '';
  const faults = parseFaults(faultSpec);
  const upstreams = await startDemoUpstreams({ port, faults: faultSpec });
  const origin = upstreams.baseUrls.cart.slice(0, -'/cart'.length);
  console.log(`demo upstreams listening on ${origin} (faults: ${formatFaults(faults)})`);

  const stop = (): void => {
    upstreams.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
