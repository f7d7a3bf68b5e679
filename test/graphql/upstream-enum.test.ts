/**
 * The schema's `Upstream` enum is the upstream registry, upper-cased: a client can be told about
 * every upstream a panel may name in `failedUpstreams`, and nothing else. (The other direction
 * — every registered upstream has an enum value — is also a type error in resolvers.ts.)
 */
import { readFileSync } from 'node:fs';
import { buildSchema, GraphQLEnumType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { UPSTREAMS } from '../../src/upstreams/registry.ts';

describe('the GraphQL Upstream enum', () => {
  it('holds exactly the registered upstreams, upper-cased, in registry order', () => {
    const schema = buildSchema(readFileSync('schema/floorplan.graphql', 'utf8'));
    const upstream = schema.getType('Upstream');
    expect(upstream).toBeInstanceOf(GraphQLEnumType);
    expect((upstream as GraphQLEnumType).getValues().map((v) => v.name)).toEqual(UPSTREAMS.map((name) => name.toUpperCase()));
  });
});
