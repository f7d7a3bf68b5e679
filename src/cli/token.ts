/**
 * Prints a demo bearer token for a user, signed with the configured HS256 secret.
 *   npm run -s token -- u1001 [--segments plus,new] [--ttl 3600]
 * The token is the last line of output, so `TOKEN=$(npm run -s token -- u1001 | tail -1)` works.
 */
import { parseArgs } from 'node:util';
import { loadServiceConfig } from '../config/service-config.ts';
import { claimsRefusal } from '../viewer/authenticate.ts';
import { signDemoToken } from '../viewer/demo-token.ts';
import { describeThrown } from '../errors.ts';
import { ignoreClosedReader } from './closed-reader.ts';

const USAGE = 'usage: npm run -s token -- <userId> [--segments plus,new] [--ttl <seconds>]';

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { segments: { type: 'string' }, ttl: { type: 'string' } },
  });
  const userId = positionals[0];
  if (userId === undefined || positionals.length > 1) throw new Error(USAGE);
  const ttlSeconds = values.ttl === undefined ? undefined : Number(values.ttl);
  if (ttlSeconds !== undefined && !Number.isInteger(ttlSeconds)) throw new Error(`--ttl must be whole seconds, but got: ${values.ttl}\n${USAGE}`);
  const segments = values.segments?.split(',').map((s) => s.trim()).filter((s) => s !== '') ?? [];
  const refusal = claimsRefusal({ sub: userId, segments });
  if (refusal !== undefined) throw new Error(`the server would refuse this token: ${refusal}`);
  const config = loadServiceConfig();
  process.stdout.write(`${await signDemoToken(config.auth, { userId, segments, ttlSeconds })}\n`);
}

ignoreClosedReader();
main().catch((error: unknown) => {
  process.stderr.write(`${describeThrown(error)}\n`);
  process.exit(2);
});
