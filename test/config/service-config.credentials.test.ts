/**
 * The credentials in the service config: the admin token, the operators' and the JWT secret.
 * A problem with one names the setting and says what is wrong without ever printing the
 * credential, whatever shape the value arrived in; two identities may not share one; and the
 * public demo credentials of config/default.yaml are refused where an overlay asks for real ones.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadServiceConfig, type LoadServiceConfigOptions } from '../../src/config/service-config.ts';
import { ErrorCode } from '../../src/errors.ts';
import { UPSTREAMS } from '../../src/upstreams/registry.ts';
import { thrownBy } from '../support/thrown.ts';

const CONFIG_DIR = join(import.meta.dirname, '..', '..', 'config');
const DEFAULT_YAML = readFileSync(join(CONFIG_DIR, 'default.yaml'), 'utf8');
const SECRET = 'vera-real-secret-credential-1';

/** The problem lines of the FLOORPLAN_ERR_CONFIG_INVALID error loading with `env` throws; none of them may hold `SECRET`. */
function problems(env: NodeJS.ProcessEnv, options: Omit<LoadServiceConfigOptions, 'env'> = {}): string[] {
  const error = thrownBy(() => loadServiceConfig({ dir: CONFIG_DIR, ...options, env }));
  expect(error.code).toBe(ErrorCode.CONFIG_INVALID);
  expect(error.message).not.toContain(SECRET);
  return error.message.split('\n').slice(1).map((line) => line.replace(/^- /, ''));
}

const operators = (value: unknown) => ({ ADMIN_OPERATORS: JSON.stringify(value) });

describe('an operator entry that fails validation', () => {
  it('names a wrong role and shows it (a role is no secret), never the token beside it', () => {
    expect(problems(operators({ vera: { token: SECRET, role: 'Viewer' } }))).toEqual([
      '`admin.operators.vera.role` must be one of "viewer", "publisher", but got: "Viewer" (set by ADMIN_OPERATORS)',
    ]);
  });

  it('names a misspelt key and the keys allowed, without its value', () => {
    expect(problems(operators({ vera: { tokn: SECRET, role: 'viewer' } }))).toEqual([
      '`admin.operators.vera.token` must be a string, but got: nothing (set by ADMIN_OPERATORS)',
      '`admin.operators.vera.tokn` is not a known key (a typo?); the known keys are token, role (set by ADMIN_OPERATORS)',
    ]);
  });

  it('shows a value of the wrong shape by the length of each string in it', () => {
    expect(problems(operators({ vera: [SECRET, 'viewer'] }))).toEqual([
      '`admin.operators.vera` must be a string or a mapping, but got: ["<a secret of 29 character(s)>","<a secret of 6 character(s)>"] (set by ADMIN_OPERATORS)',
    ]);
    expect(problems(operators([SECRET]))).toEqual(['`admin.operators` must be a mapping, but got: ["<a secret of 29 character(s)>"] (set by ADMIN_OPERATORS)']);
    const numeric = problems(operators({ vera: { token: 12345678901234567, role: 'viewer' } }));
    expect(numeric).toEqual(['`admin.operators.vera.token` must be a string, but got: a number, not shown (set by ADMIN_OPERATORS)']);
  });

  it('hides the token of an entry in a YAML overlay too, pointing at its line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'floorplan-config-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'default.yaml'), DEFAULT_YAML);
    writeFileSync(join(dir, 'staging.yaml'), ['admin:', '  token: 12345678901234567', '  operators:', '    vera:', `      token: ${SECRET}`, '      role: reader', ''].join('\n'));
    expect(problems({ FLOORPLAN_ENV: 'staging' }, { dir })).toEqual([
      `\`admin.token\` must be a string, but got: a number, not shown (${dir}/staging.yaml:2)`,
      `\`admin.operators.vera.role\` must be one of "viewer", "publisher", but got: "reader" (${dir}/staging.yaml:6)`,
    ]);
  });
});

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('two identities with one credential', () => {
  const SHARED = 'shared-token-0123456789';

  it('are refused, naming both and never the credential: the server would take the second for the first', () => {
    const found = problems(operators({ paul: { token: SHARED, role: 'publisher' }, vera: { token: SHARED, role: 'viewer' } }));
    expect(found).toEqual([
      "`admin.operators.vera.token` must be vera's own, but it is paul's too (admin.operators.paul): a request with it would act as paul, a publisher, and be audited as paul (set by ADMIN_OPERATORS)",
    ]);
    expect(found.join('\n')).not.toContain(SHARED);
    const plain = problems(operators({ alice: SHARED, bob: SHARED }));
    expect(plain).toEqual([
      "`admin.operators.bob` must be bob's own, but it is alice's too (admin.operators.alice): a request with it would act as alice, a publisher, and be audited as alice (set by ADMIN_OPERATORS)",
    ]);
  });

  it('are refused when an operator has the admin token', () => {
    expect(problems(operators({ vera: { token: 'floorplan-demo-admin-token', role: 'viewer' } }))).toEqual([
      "`admin.operators.vera.token` must be vera's own, but it is admin's too (admin.token): a request with it would act as admin, a publisher, and be audited as admin (set by ADMIN_OPERATORS)",
    ]);
    expect(problems({ ADMIN_TOKEN: SHARED, ...operators({ vera: SHARED }) })).toEqual([
      "`admin.operators.vera` must be vera's own, but it is admin's too (admin.token): a request with it would act as admin, a publisher, and be audited as admin (set by ADMIN_OPERATORS)",
    ]);
  });

  it('need not differ from an admin token that is empty (the admin API off)', () => {
    expect(loadServiceConfig({ dir: CONFIG_DIR, env: { ADMIN_TOKEN: '', ...operators({ vera: { token: SHARED, role: 'viewer' } }) } }).admin.operators.vera).toEqual({ token: SHARED, role: 'viewer' });
  });
});

/** Production's environment with every upstream, the revision store and the JWKS URL set. */
const PRODUCTION = {
  FLOORPLAN_ENV: 'production',
  ...Object.fromEntries(UPSTREAMS.map((name) => [`UPSTREAM_${name.toUpperCase()}_URL`, `http://${name}.internal/${name}`])),
  LAYOUT_STORE_URL: 'postgres://floorplan@db.internal:5432/floorplan',
  JWT_JWKS_URL: 'https://idp.internal/.well-known/jwks.json',
};

describe('the public demo credentials of config/default.yaml', () => {
  const DEMO_SECRET = 'floorplan-demo-secret-do-not-use-in-production';

  it('are refused in production when set explicitly, as when left unset', () => {
    // Unused in jwks mode, the secret is refused all the same: set, it would sign and verify demo tokens the moment AUTH_MODE=hs256.
    expect(problems({ ...PRODUCTION, AUTH_MODE: 'hs256', JWT_SECRET: DEMO_SECRET })).toEqual([
      expect.stringMatching(
        /^`auth\.hs256Secret` must not be the public demo value of config\/default\.yaml:\d+ \(config\/production\.yaml:\d+ empties it for a value of your own\), but got: that demo value \(set by JWT_SECRET\)$/,
      ),
    ]);
    expect(problems({ ...PRODUCTION, JWT_SECRET: DEMO_SECRET })).toEqual([expect.stringMatching(/^`auth\.hs256Secret` must not be the public demo value .* \(set by JWT_SECRET\)$/)]);
    expect(problems({ ...PRODUCTION, ADMIN_TOKEN: 'floorplan-demo-admin-token' })).toEqual([
      expect.stringMatching(
        /^`admin\.token` must not be the public demo value of config\/default\.yaml:\d+ \(config\/production\.yaml:\d+ empties it for a value of your own\), but got: that demo value \(set by ADMIN_TOKEN\)$/,
      ),
    ]);
  });

  it('stay the quick start\'s everywhere else, and production takes credentials of its own', () => {
    expect(loadServiceConfig({ dir: CONFIG_DIR, env: {} }).auth.hs256Secret).toBe(DEMO_SECRET);
    const config = loadServiceConfig({ dir: CONFIG_DIR, env: { ...PRODUCTION, AUTH_MODE: 'hs256', JWT_SECRET: 'a-production-hs256-secret-of-40-characters', ADMIN_TOKEN: 'a-production-admin-token' } });
    expect(config.admin.token).toBe('a-production-admin-token');
  });
});
