/**
 * `npm run token`: the demo bearer token for a user, or, when the config cannot be loaded or the
 * server would refuse the token, a message on stderr and a non-zero exit.
 */
import { describe, expect, it } from 'vitest';
import { runTokenCli, type CliRun } from '../support/processes.ts';

/** `npm run token -- ...args` with `env` over the test run's environment, less what would change the config. */
function token(args: readonly string[], env: Record<string, string> = {}): Promise<CliRun> {
  const { FLOORPLAN_ENV: _e, NODE_ENV: _n, VITEST: _v, ADMIN_OPERATORS: _o, ...inherited } = process.env;
  return runTokenCli(args, { ...inherited, ...env });
}

describe('npm run token', () => {
  it('refuses a config with a bad operator entry without printing its credential', async () => {
    const run = await token(['u1001'], { ADMIN_OPERATORS: JSON.stringify({ vera: { token: 'vera-real-secret-credential-1', role: 'Viewer' } }) });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe('Invalid service config:\n- `admin.operators.vera.role` must be one of "viewer", "publisher", but got: "Viewer" (set by ADMIN_OPERATORS)\n');
  }, 30_000);
});
