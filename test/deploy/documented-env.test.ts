/**
 * The environment the docs tell an operator to give the image is enough to start it: the
 * `docker run` example of docs/deploying.md, with FLOORPLAN_ENV=production as the image sets it,
 * passes the production config's checks, and README's "Deploying" names every variable of it
 * without which startup fails. The example once left out LAYOUT_STORE_URL, which
 * production.yaml requires, so following the docs ended in "`layouts.store.url` must be a
 * postgres:// URL when kind is postgres".
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadServiceConfig } from '../../src/config/service-config.ts';

const REPO = join(import.meta.dirname, '..', '..');

/** The `-e NAME=value` settings of the `docker run` example in docs/deploying.md, in order. */
function documentedDockerRunEnv(): Map<string, string> {
  const text = readFileSync(join(REPO, 'docs', 'deploying.md'), 'utf8');
  const block = /```sh\n(docker build[^`]*?docker run[^`]*?)```/.exec(text)?.[1];
  if (block === undefined) throw new Error('docs/deploying.md has no ```sh block with docker build and docker run');
  return new Map([...block.matchAll(/-e ([A-Z][A-Z0-9_]*)=(\S*)/g)].map(([, name, value]) => [name!, value!]));
}

/**
 * A documented value an operator fills in, made one the config accepts: `…` (a placeholder)
 * becomes a word, or a whole URL for a variable that is a URL and documented as `…` alone.
 */
function filledIn(name: string, value: string): string {
  if (value === '…' && name.endsWith('_URL')) return `http://${name.toLowerCase()}.internal/x`;
  return value.replaceAll('…', 'example');
}

function refusalOf(env: Map<string, string>): string | undefined {
  try {
    loadServiceConfig({ env: { FLOORPLAN_ENV: 'production', ...Object.fromEntries([...env].map(([name, value]) => [name, filledIn(name, value)])) } });
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

describe("the docs' docker run example", () => {
  it('starts with the production config: it sets every variable production.yaml leaves for the operator', () => {
    const env = documentedDockerRunEnv();
    expect(env.size).toBeGreaterThan(0);
    expect(refusalOf(env)).toBeUndefined();
  });

  it('has each variable startup cannot do without named in README "Deploying"', () => {
    const env = documentedDockerRunEnv();
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    const deploying = readme.slice(readme.indexOf('\n## Deploying\n'), readme.indexOf('\n## ', readme.indexOf('\n## Deploying\n') + 1));
    const required = [...env.keys()].filter((name) => refusalOf(new Map([...env].filter(([other]) => other !== name))) !== undefined);
    expect(required).toEqual(expect.arrayContaining(['LAYOUT_STORE_URL', 'JWT_JWKS_URL']));
    for (const name of required) {
      // Every upstream's URL is named once, as UPSTREAM_<NAME>_URL.
      expect(deploying, `README "Deploying" should name ${name}`).toContain(/^UPSTREAM_[A-Z]+_URL$/.test(name) ? 'UPSTREAM_<NAME>_URL' : name);
    }
  });
});
