/**
 * The upstream registry as shipped. Tests that quote the list of upstreams (in messages, flag
 * lists, fake clients) derive it from UPSTREAMS so that adding one needs no test edit; this
 * is where the shipped four are held, by name and in the order `failedUpstreams` lists them.
 */
import { describe, expect, it } from 'vitest';
import { UPSTREAM_DEFINITIONS, UPSTREAMS, isUpstreamName, upstreamDefinition } from '../../src/upstreams/registry.ts';

describe('the upstream registry', () => {
  it('ships cart, promotion, settlement and loyalty first, in that order; an upstream added since goes after them', () => {
    expect(UPSTREAMS.slice(0, 4)).toEqual(['cart', 'promotion', 'settlement', 'loyalty']);
    expect(UPSTREAMS).toEqual(UPSTREAM_DEFINITIONS.map((d) => d.name));
  });

  it('names every upstream in lower-case letters and digits, as UPSTREAM_<NAME>_URL and the GraphQL enum need', () => {
    for (const name of UPSTREAMS) expect(name).toMatch(/^[a-z][a-z0-9]*$/);
  });

  it('finds each definition by its name, and nothing else', () => {
    for (const definition of UPSTREAM_DEFINITIONS) expect(upstreamDefinition(definition.name)).toBe(definition);
    expect(isUpstreamName('inventory')).toBe(false);
    expect(isUpstreamName('loyalty')).toBe(true);
  });
});
