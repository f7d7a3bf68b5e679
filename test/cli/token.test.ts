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

  it('refuses an empty user id with the rule the server would refuse the token by, printing no token', async () => {
    const run = await token(['']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe('the server would refuse this token: its `sub` must be a string of 1 to 255 characters, but it has 0\n');
  }, 30_000);

  it('refuses more segments, or a longer segment name, than the server takes', async () => {
    const many = await token(['u1001', '--segments', Array.from({ length: 40 }, (_, i) => `s${i}`).join(',')]);
    expect(many.code).toBe(2);
    expect(many.stdout).toBe('');
    expect(many.stderr).toBe('the server would refuse this token: its `segments` must be a list of at most 32 names of 1 to 64 characters, but it has 40 names\n');
    const long = await token(['u1001', '--segments', `plus,${'x'.repeat(65)}`]);
    expect(long.code).toBe(2);
    expect(long.stderr).toBe('the server would refuse this token: its `segments` must be a list of at most 32 names of 1 to 64 characters, but segments[1] has 65 characters\n');
  }, 30_000);
});
